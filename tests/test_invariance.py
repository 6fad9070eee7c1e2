"""The invariance sequence pinned to lavaan 0.6-14: per-step fit, lavTestLRT (plain and
Satorra-Bentler 2001), lavTestScore univariate tests of the equality constraints.
References: tests/fixtures/multigroup/invariance/*.json (make_multigroup.R).
"""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.errors import DataError, ModelSpecificationError
from icaf_sem.invariance import equality_score_tests, satorra_bentler_2001

HERE = Path(__file__).parent / "fixtures" / "multigroup"
HS3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


def ref(name):
    return json.loads((HERE / "invariance" / f"{name}.json").read_text())


def run(name, **kw):
    r = ref(name)
    o = r["options"]
    data = pd.read_csv((HERE / r["data"]).resolve())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = icaf_sem.invariance(r["model"], data, group=o["group"], estimator=o["estimator"],
                                  missing=o.get("missing", "listwise"), **kw)
    return r, res


@pytest.fixture(scope="module")
def hs_ml():
    return run("hs_school_ml")


@pytest.fixture(scope="module")
def hs_mlr():
    return run("hs_school_mlr")


def _check_steps(r, res):
    t = res.table.set_index("step")
    for s in r["steps"]:
        fm, row = s["fit"], t.loc[s["step"]]
        assert row["df"] == fm["df"] and row["npar"] == fm["npar"]
        assert row["chisq"] == pytest.approx(fm["chisq"], rel=2e-3)
        for mine, theirs in (("cfi", "cfi"), ("tli", "tli"), ("rmsea", "rmsea"), ("srmr", "srmr")):
            assert row[mine] == pytest.approx(fm[theirs], abs=1e-3), (s["step"], mine)
        if "chisq.scaled" in fm:
            assert row["chisq_scaled"] == pytest.approx(fm["chisq.scaled"], rel=5e-3)
            assert row["cfi_robust"] == pytest.approx(fm["cfi.robust"], abs=2e-3)
            assert row["rmsea_robust"] == pytest.approx(fm["rmsea.robust"], abs=2e-3)
        by = res.fits[s["step"]].fit_by_group.set_index("label")["chisq"]
        for lab, want in s["chisq_by_group"].items():
            assert by[lab] == pytest.approx(want, rel=2e-3)


def _check_lrt(rows, res, col, pcol):
    t = res.table.set_index("step")
    for row in rows[1:]:
        got = t.loc[row["step"]]
        assert got["delta_df"] == row["df_diff"]
        assert got[col] == pytest.approx(row["chisq_diff"], rel=2e-3, abs=1e-3), row["step"]
        assert got[pcol] == pytest.approx(row["p"], abs=2e-3, rel=1e-2), row["step"]


def _check_score(r, res, steps=("metric", "scalar", "strict")):
    for step in steps:
        want = r["score"][step]
        got = equality_score_tests(res.fits[step])
        assert got.attrs["total"][0] == pytest.approx(want["total"]["X2"], rel=1e-2, abs=1e-3)
        assert got.attrs["total"][1] == want["total"]["df"]
        assert len(got) == len(want["uni"])
        idx = {(g.lhs, g.op, g.rhs, g.group): g.X2 for g in got.itertuples()}
        for u in want["uni"]:
            assert idx[(u["lhs"], u["op"], u["rhs"], u["group_b"])] == pytest.approx(u["X2"], rel=1e-2, abs=2e-3), u


def test_ml_steps_match_lavaan(hs_ml):
    _check_steps(*hs_ml)


def test_ml_lrt_matches_lavTestLRT(hs_ml):
    r, res = hs_ml
    _check_lrt(r["lrt"], res, "delta_chisq", "delta_pvalue")


def test_ml_score_tests_match_lavTestScore(hs_ml):
    _check_score(*hs_ml)


def test_mlr_steps_and_satorra_bentler_2001(hs_mlr):
    r, res = hs_mlr
    _check_steps(r, res)
    _check_lrt(r["lrt_sb2001"], res, "delta_chisq_scaled", "delta_pvalue_scaled")
    # lavaan's default for a scaled test is the SB2001 difference as well
    _check_lrt(r["lrt"], res, "delta_chisq_scaled", "delta_pvalue_scaled")


def test_mlr_score_tests_are_the_ordinary_ones(hs_mlr):
    # lavTestScore falls back to the ordinary score test for robust SEs
    _check_score(*hs_mlr)


def test_decisions_and_suggestions(hs_ml):
    r, res = hs_ml
    t = res.table.set_index("step")
    # metric holds; scalar fails (delta CFI about -.04): the textbook result for HS by school
    assert bool(t.loc["metric", "invariant"]) and not bool(t.loc["scalar", "invariant"])
    assert t.loc["scalar", "delta_cfi"] < -0.01
    assert bool(t.loc["scalar", "cheung_rensvold2002"])
    assert res.highest_level == "metric"
    st = res.score_tests["scalar"]
    assert set(st["kind"]) == {"intercepts"}            # only the constraints that step added
    assert list(st["parameter"][:2]) == ["x3~1", "x7~1"]
    assert t.loc["scalar", "suggest_free"].startswith("x3~1 in group Grant-White")
    assert "Cheung & Rensvold" in res.cutoff_note() and "Chen" in res.cutoff_note()
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["highest_level"] == "metric" and d["steps"][2]["invariant"] is False


def test_releasing_suggestions_gives_partial_invariance():
    r, res = run("hs_school_ml", group_partial=("x3~1", "x7~1"), levels=("metric", "scalar"))
    t = res.table.set_index("step")
    part = json.loads((HERE / "api_only" / "hs_school_partial_scalar_ml.json").read_text())
    assert t.loc["scalar", "chisq"] == pytest.approx(part["fit"]["chisq"], rel=1e-3)
    assert t.loc["scalar", "df"] == part["fit"]["df"]
    assert bool(t.loc["scalar", "invariant"])


def test_fiml_mlr_sequence_matches_lavaan():
    r, res = run("hs_mcar_school_fiml_mlr", levels=("configural", "metric", "scalar", "strict"))
    _check_steps(r, res)
    _check_lrt(r["lrt_sb2001"], res, "delta_chisq_scaled", "delta_pvalue_scaled")


def test_icaf_sequence_matches_lavaan():
    r, res = run("icaf3_level_ml")
    _check_steps(r, res)
    _check_lrt(r["lrt"], res, "delta_chisq", "delta_pvalue")
    _check_score(r, res, steps=("metric", "scalar"))
    assert res.group_labels == r["group_labels"]


def test_satorra_bentler_2001_formula():
    t, m, p, cd = satorra_bentler_2001(130.0, 60, 1.10, 110.0, 54, 1.12)
    assert m == 6 and cd == pytest.approx((60 * 1.10 - 54 * 1.12) / 6)
    assert t == pytest.approx(20.0 / cd)
    t, m, p, cd = satorra_bentler_2001(130.0, 60, 0.5, 110.0, 54, 1.5)   # negative cd
    assert np.isnan(t) and np.isnan(cd)


def test_too_small_group_is_named():
    hs = pd.read_csv(HERE / "../data/holzinger_swineford_1939.csv")
    hs = pd.concat([hs[hs.school == "Pasteur"], hs[hs.school == "Grant-White"].head(12)])
    with pytest.raises(DataError, match="'Grant-White' has 12"):
        icaf_sem.invariance(HS3, hs, group="school")


def test_bad_levels_and_group():
    hs = pd.read_csv(HERE / "../data/holzinger_swineford_1939.csv")
    with pytest.raises(ModelSpecificationError, match="unknown step"):
        icaf_sem.invariance(HS3, hs, group="school", levels=("configural", "weak"))
    with pytest.raises(ModelSpecificationError, match="nested and in order"):
        icaf_sem.invariance(HS3, hs, group="school", levels=("scalar", "metric"))
    with pytest.raises(DataError, match="not a column"):
        icaf_sem.invariance(HS3, hs, group="schol")
    with pytest.raises(DataError, match="at least two groups"):
        icaf_sem.invariance(HS3, hs[hs.school == "Pasteur"], group="school")


def test_cli_invariance(tmp_path, capsys):
    from icaf_sem.cli import main
    model = tmp_path / "hs.lav"
    model.write_text(HS3)
    out = tmp_path / "inv.json"
    rc = main(["invariance", "--model", str(model), "--data", str((HERE / "../data/holzinger_swineford_1939.csv").resolve()),
               "--group", "school", "--levels", "configural,metric,scalar", "--json", str(out),
               "--csv", str(tmp_path / "inv.csv")])
    assert rc == 0
    d = json.loads(out.read_text())
    r = ref("hs_school_ml")
    assert [s["step"] for s in d["steps"]] == ["configural", "metric", "scalar"]
    assert d["steps"][2]["delta_chisq"] == pytest.approx(r["lrt"][2]["chisq_diff"], rel=2e-3)
    assert d["score_tests"]["scalar"][0]["parameter"] == "x3~1"
    assert pd.read_csv(tmp_path / "inv.csv").shape[0] == 3
    assert "highest level supported: metric" in capsys.readouterr().out
    rc = main(["invariance", "--model", str(model), "--data", str((HERE / "../data/holzinger_swineford_1939.csv").resolve()),
               "--group", "nope", "--json", str(tmp_path / "x.json")])
    assert rc == 2 and not (tmp_path / "x.json").exists()


def test_group_too_small_after_listwise_deletion():
    hs = pd.read_csv(HERE / "../data/hs_mcar10.csv")
    gw = hs[hs.school == "Grant-White"].head(40)
    data = pd.concat([hs[hs.school == "Pasteur"], gw])
    kept = int(gw[[f"x{i}" for i in range(1, 10)]].notna().all(axis=1).sum())
    assert kept < 30
    with pytest.raises(DataError, match=f"'Grant-White' keeps {kept} complete"):
        icaf_sem.invariance(HS3, data, group="school")
