"""``icaf-sem reliability``: JSON layout, numbers and error messages."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from icaf_sem.cli import main

FIX = Path(__file__).parent / "fixtures" / "reliability"
SMALL_MODEL = "BC =~ bc1 + bc2 + bc3\nCE =~ ce1 + ce2 + ce3\nCS =~ cs1 + cs2 + cs3\nDQ =~ dq1 + dq2 + dq3 + dq4\n"


def _engine_available() -> bool:
    try:
        import icaf_sem
        icaf_sem.fit  # noqa: B018
    except (ImportError, AttributeError):
        return False
    return True


needs_engine = pytest.mark.skipif(not _engine_available(), reason="the estimation engine icaf_sem.fit is not installed")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The ICAF clean wave as the reference saw it: complete cases on the 34 model items."""
    ref = json.loads((FIX / "icaf_wave1_cfa_reliability.json").read_text(encoding="utf-8"))
    items = [i for s in ref["reliability"].values() for i in s["items"]]
    df = pd.read_csv(FIX / "icaf_wave1_clean.csv")
    df = df[df[items].notna().all(axis=1)]
    d = tmp_path_factory.mktemp("cli")
    data = d / "data.csv"
    df.to_csv(data, index=False)
    model = d / "model.lav"
    model.write_text(SMALL_MODEL, encoding="utf-8")
    return ref, d, data, model, len(df)


@needs_engine
def test_cli_writes_reference_numbers(prepared, capsys):
    ref, d, data, model, n = prepared
    out = d / "rel.json"
    rc = main(["reliability", "--model", str(model), "--data", str(data), "--json", str(out), "--close", "BC,CE"])
    assert rc == 0
    assert "construct" in capsys.readouterr().out
    got = json.loads(out.read_text(encoding="utf-8"))
    assert sorted(p.name for p in d.iterdir() if p.name.startswith(".")) == []  # no temporary file left
    for name in ("BC", "CE", "CS", "DQ"):
        c = got["constructs"][name]
        want = ref["reliability"][name]
        assert set(c) >= {"alpha", "alpha_ci_lower", "alpha_ci_upper", "std_alpha", "omega",
                          "composite_reliability", "ave", "n_items", "n"}
        assert c["n"] == n and c["n_items"] == len(want["items"])
        assert c["alpha"] == pytest.approx(want["alpha"], abs=1e-10)
        assert c["std_alpha"] == pytest.approx(want["std_alpha"], abs=1e-10)
        assert c["alpha_ci_lower"] < c["alpha"] < c["alpha_ci_upper"]
    htmt = {row["_row"]: row for row in ref["htmt"]}
    assert got["htmt"]["BC"]["DQ"] == pytest.approx(htmt["BC"]["DQ"], abs=1e-10)
    assert got["htmt"]["CS"]["CE"] == pytest.approx(htmt["CS"]["CE"], abs=1e-10)
    # CR from lavaan's standardized loadings of the same four-factor CFA
    lav = json.loads((FIX / "lavaan_method_factor_icaf.json").read_text(encoding="utf-8"))
    for name in ("BC", "DQ"):
        lam = [r["est.std"] for r in lav["trait_loadings"] if r["lhs"] == name]
        cr = sum(lam) ** 2 / (sum(lam) ** 2 + sum(1 - x * x for x in lam))
        assert got["constructs"][name]["composite_reliability"] == pytest.approx(cr, abs=1e-3)
    assert got["fornell_larcker"]["BC"]["BC"] == pytest.approx(got["constructs"]["BC"]["ave"] ** 0.5)
    pair = [p for p in got["discriminant_validity"] if {p["construct_a"], p["construct_b"]} == {"BC", "CE"}][0]
    assert pair["htmt_threshold"] == 0.90
    assert got["cfa_fit"]["df"] == lav["trait_fit"]["df"]


def test_cli_missing_data_file(tmp_path, capsys):
    model = tmp_path / "m.lav"
    model.write_text(SMALL_MODEL, encoding="utf-8")
    rc = main(["reliability", "--model", str(model), "--data", str(tmp_path / "nope.csv"), "--json", str(tmp_path / "o.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "nope.csv" in err and "not found" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.json").exists()


def test_cli_unknown_item_names_it(prepared, tmp_path, capsys):
    _, _, data, _, _ = prepared
    model = tmp_path / "m.lav"
    model.write_text("BC =~ bc1 + bc2 + bcX\n", encoding="utf-8")
    rc = main(["reliability", "--model", str(model), "--data", str(data), "--json", str(tmp_path / "o.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "'bcX'" in err and "not found" in err
    assert not (tmp_path / "o.json").exists()


def test_cli_constant_item(prepared, tmp_path, capsys):
    _, _, data, model, _ = prepared
    df = pd.read_csv(data)
    df["bc2"] = 4
    bad = tmp_path / "const.csv"
    df.to_csv(bad, index=False)
    rc = main(["reliability", "--model", str(model), "--data", str(bad), "--json", str(tmp_path / "o.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "'bc2'" in err and "constant" in err


def test_cli_model_and_questionnaire_are_exclusive(prepared, capsys):
    _, _, data, model, _ = prepared
    with pytest.raises(SystemExit) as exc:
        main(["reliability", "--model", str(model), "--questionnaire", "icaf", "--data", str(data)])
    assert exc.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_cli_bad_close_pair(prepared, capsys):
    _, _, data, model, _ = prepared
    rc = main(["reliability", "--model", str(model), "--data", str(data), "--close", "BC"])
    assert rc == 2 and "--close" in capsys.readouterr().err
