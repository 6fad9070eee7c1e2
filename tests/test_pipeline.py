"""analyze(): raw simulated wave -> report folder; structural estimates against lavaan's FIML fit.

The reference (tests/fixtures/pipeline/make_pipeline_fixtures.R) is lavaan's
``sem(model, data = cleaned, missing = "ml")`` on the wave that
``icaf_sem.clean`` makes of ``sim_wave_seed2024_raw.csv``.
"""
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icaf_sem import analyze
from icaf_sem.cli import main
from icaf_sem.errors import DataError, ModelSpecificationError
from icaf_sem.report import export

FIX = Path(__file__).parent / "fixtures" / "pipeline"
RAW = FIX / "sim_wave_seed2024_raw.csv"
FILES = ["report.html", "report.docx", "tables.xlsx", "tables.tex", "results.json", "reproducibility.json"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("analyze") / "results"
    raw = tmp_path_factory.mktemp("raw") / RAW.name
    shutil.copy(RAW, raw)
    before = raw.read_bytes()
    res = analyze(raw, "questionnaires/icaf.yaml", out=out, bootstrap=0)
    return res, out, raw, before


@pytest.fixture(scope="module")
def lavaan():
    ref = json.loads((FIX / "sim_wave_seed2024_fiml.json").read_text())
    t = pd.DataFrame(ref["parameters"])
    t["std_all"] = pd.to_numeric(t["std.all"])
    return ref, t


def test_every_file_is_written_and_raw_untouched(run):
    res, out, raw, before = run
    for f in FILES:
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    for name in ("path_diagram", "measurement_model", "correlation_heatmap", "likert", "latent_correlations"):
        assert (out / "figures" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in (out / "figures" / f"{name}.svg").read_bytes()[:2000]
    assert raw.read_bytes() == before
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".part")]      # no staging left behind


def test_cleaned_data_is_the_reference_cleaned_wave(run):
    res, *_ = run
    ref = pd.read_csv(FIX / "sim_wave_seed2024_clean.csv")
    q = res.questionnaire
    assert list(res.data["respondent_id"]) == list(ref["respondent_id"])
    np.testing.assert_allclose(res.data[q.items].to_numpy(float), ref[q.items].to_numpy(float), equal_nan=True)


def test_structural_estimates_equal_lavaan_fiml(run, lavaan):
    res, *_ = run
    ref, t = lavaan
    p = res.parameters
    struct = p[(p["op"] == "~") | ((p["op"] == "~~") & (p["lhs"] != p["rhs"]) & p["lhs"].isin(["CR", "PR"]))
               | (p["op"] == ":=")]
    assert len(struct) == 11 + 2 + 8
    for _, r in struct.iterrows():
        hit = t[(t["lhs"] == r["lhs"]) & (t["op"] == r["op"]) & ((t["rhs"] == r["rhs"]) | (r["op"] == ":="))]
        assert len(hit) == 1, (r["lhs"], r["op"], r["rhs"])
        assert r["std_all"] == pytest.approx(hit["std_all"].iloc[0], abs=0.01)   # the tolerance
        assert r["std_all"] == pytest.approx(hit["std_all"].iloc[0], abs=2e-3)   # and in fact much closer
    fm = res.sem.fit_measures
    assert fm["chisq"] == pytest.approx(ref["fit"]["chisq"], rel=2e-3)
    assert fm["cfi"] == pytest.approx(ref["fit"]["cfi"], abs=1e-3)
    assert fm["rmsea"] == pytest.approx(ref["fit"]["rmsea"], abs=1e-3)
    assert res.sem.missing == "ml" and res.cfa.missing == "ml"
    assert res.sem.nobs == len(res.data)


def test_hypotheses_table_follows_the_parameters(run):
    res, *_ = run
    h = res.hypotheses
    assert len(h) == len(res.questionnaire.hypotheses)
    p = res.parameters.set_index(["lhs", "op", "rhs"])
    for _, r in h[h["kind"] == "path"].iterrows():
        assert r["std_all"] == p.loc[(r["lhs"], "~", r["rhs"]), "std_all"]
    assert h["supported"].dtype == bool
    assert set(res.tables) >= {"sample_flow", "sample_profile", "item_descriptives", "measurement_model",
                               "discriminant_validity", "model_fit", "hypothesis_tests", "indirect_effects"}


def test_results_json_holds_every_number(run):
    res, out, raw, _ = run
    js = json.loads((out / "results.json").read_text())
    for key in ("parameters", "fit", "reliability", "hypotheses", "cleaning", "r2", "effects", "cfa",
                "descriptives", "warnings", "options", "input", "modindices"):
        assert key in js, key
    assert len(js["parameters"]) == len(res.parameters)
    # unrounded: the JSON numbers are the in-memory numbers
    for row, (_, r) in zip(js["parameters"], res.parameters.iterrows()):
        if np.isfinite(r["est"]):
            assert row["est"] == r["est"]
    assert js["fit"]["chisq"] == res.sem.fit_measures["chisq"]
    assert js["cleaning"]["flow"][-1]["n_remaining"] == len(res.data)
    assert js["reliability"]["constructs"]["PW"]["alpha"] == pytest.approx(
        res.reliability.constructs.set_index("construct").loc["PW", "alpha"])
    assert "NaN" not in (out / "results.json").read_text()


def test_reproducibility_record(run):
    res, out, raw, _ = run
    rec = json.loads((out / "reproducibility.json").read_text())
    assert rec["input"]["sha256"] == hashlib.sha256(raw.read_bytes()).hexdigest()
    assert rec["input"]["questionnaire_sha256"] == hashlib.sha256(
        Path("questionnaires/icaf.yaml").read_bytes()).hexdigest()
    assert rec["options"]["missing"] == "ml" and rec["options"]["bootstrap"] == 0
    assert "seed" in rec and rec["seed"] is None
    assert rec["packages"]["numpy"] == np.__version__
    assert rec["packages"]["pandas"] == pd.__version__
    assert "icaf-sem analyze" in rec["reproduce"]


def test_warnings_are_at_the_top_of_the_report(run):
    res, out, *_ = run
    assert res.warnings, "the wave has incomplete cases, so at least the reliability stage warns"
    for w in res.warnings:
        assert set(w) == {"stage", "category", "message"}
    html = (out / "report.html").read_text()
    assert html.index("Warnings (") < html.index("Table 1")
    assert res.warnings[0]["message"][:40] in html.replace("&#x27;", "'")


def test_report_is_written_whole_or_not_at_all(run, tmp_path, monkeypatch):
    res, *_ = run
    target = tmp_path / "report"
    res_nofig = type(res)(**{**res.__dict__, "options": {**res.options, "figures": False}})

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(export, "write_xlsx", boom)
    with pytest.raises(OSError):
        export.write_report(res_nofig, target)
    assert not target.exists() or not any(target.iterdir())
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_bad_options_raise_our_errors(tmp_path):
    with pytest.raises(ModelSpecificationError, match="missing"):
        analyze(RAW, "questionnaires/icaf.yaml", missing="pairwise")
    with pytest.raises(ModelSpecificationError, match="bootstrap"):
        analyze(RAW, "questionnaires/icaf.yaml", bootstrap=-5)
    with pytest.raises(DataError, match="not found"):
        analyze(tmp_path / "nope.csv", "questionnaires/icaf.yaml")
    with pytest.raises(DataError, match="DataFrame"):
        analyze(42, "questionnaires/icaf.yaml")


def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys):
    rc = main(["analyze", "--questionnaire", "questionnaires/icaf.yaml", "--data", str(tmp_path / "missing.csv"),
               "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "missing.csv" in err
    rc = main(["analyze", "--questionnaire", str(tmp_path / "nope.yaml"), "--data", str(RAW),
               "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "nope.yaml" in err
    with pytest.raises(SystemExit) as exc:
        main(["analyze", "--questionnaire", "questionnaires/icaf.yaml", "--data", str(RAW), "--out",
              str(tmp_path / "o"), "--missing", "bogus"])
    assert exc.value.code == 2
    assert not (tmp_path / "o").exists()
    capsys.readouterr()
    # pairwise deletion exists for ordered items only: refused with one line, nothing written
    rc = main(["analyze", "--questionnaire", "questionnaires/icaf.yaml", "--data", str(RAW), "--out",
               str(tmp_path / "o"), "--missing", "pairwise"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "pairwise" in err
    assert not (tmp_path / "o").exists()
