"""Comparing waves: path equality and invariance pinned to lavaan, the compare-waves report, clear errors.

lavaan references: tests/fixtures/multigroup/invariance/waves_*.json, computed by make_multigroup.R on
tests/fixtures/multigroup/waves_stacked.csv (the bundled example wave and a simulated second wave,
each cleaned with the ICAF rules, stacked with a `wave` column).
"""
import json

import numpy as np
import warnings
from pathlib import Path

import pandas as pd
import pytest

import icaf_sem
from icaf_sem.errors import DataError, DataWarning
from icaf_sem.invariance import equality_score_tests
from icaf_sem.waves import check_item_sets, check_levels, compare_waves, path_equality

HERE = Path(__file__).parent / "fixtures" / "multigroup"
EXAMPLE = Path(icaf_sem.__file__).parent / "data" / "example_wave.csv"


def ref(name):
    return json.loads((HERE / "invariance" / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def stacked():
    return pd.read_csv(HERE / "waves_stacked.csv")


@pytest.fixture(scope="module")
def q():
    return icaf_sem.load_questionnaire("icaf")


@pytest.mark.parametrize("case", ["waves_paths_ml", "waves_paths_mlr"])
def test_path_equality_matches_lavTestLRT(stacked, case):
    r = ref(case)
    est = r["options"]["estimator"]
    paths = [(p["path"], p["lhs"], p["rhs"]) for p in r["paths"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab, long, free = path_equality(r["model"], stacked, paths, group="wave", estimator=est, missing="listwise")
    assert free.fit_measures["chisq"] == pytest.approx(r["free_fit"]["chisq"], rel=2e-3)
    assert free.fit_measures["df"] == r["free_fit"]["df"]
    for want, got in zip(r["paths"], tab.itertuples()):
        assert got.delta_df == want["df_diff"] == 1
        diff = got.delta_chisq_scaled if est == "MLR" else got.delta_chisq
        p = got.pvalue_scaled if est == "MLR" else got.pvalue
        assert diff == pytest.approx(want["chisq_diff"], rel=5e-3, abs=2e-3), want["path"]
        assert p == pytest.approx(want["p"], abs=2e-3)
        assert [getattr(got, "est_wave1"), getattr(got, "est_wave2")] == pytest.approx(want["est"], abs=1e-3)
        assert got.equal_est == pytest.approx(want["equal_est"], abs=1e-3)
        sub = long[long["hypothesis"] == want["path"]]
        assert list(sub["se"]) == pytest.approx(want["se"], rel=1e-2)
        assert list(sub["std_all"]) == pytest.approx(want["std_all"], abs=1e-3)
    # Holm adjustment across the paths (R: p.adjust(p, "holm"))
    praw = tab["pvalue_scaled" if est == "MLR" else "pvalue"].to_numpy()
    order = np.argsort(praw)
    m = len(praw)
    holm = np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * praw[order]))
    expect = np.empty(m)
    expect[order] = holm
    assert tab["pvalue_holm"].to_numpy() == pytest.approx(expect)


def test_invariance_across_waves_matches_lavaan(stacked):
    r = ref("waves_cfa_ml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = icaf_sem.invariance(r["model"], stacked, group="wave", levels=("configural", "metric", "scalar"))
    t = res.table.set_index("step")
    for s in r["steps"][:3]:
        assert t.loc[s["step"], "chisq"] == pytest.approx(s["fit"]["chisq"], rel=2e-3)
        assert t.loc[s["step"], "df"] == s["fit"]["df"]
        assert t.loc[s["step"], "cfi"] == pytest.approx(s["fit"]["cfi"], abs=1e-3)
        assert t.loc[s["step"], "rmsea"] == pytest.approx(s["fit"]["rmsea"], abs=1e-3)
    for row in r["lrt"][1:3]:
        assert t.loc[row["step"], "delta_chisq"] == pytest.approx(row["chisq_diff"], rel=2e-3)
    st = equality_score_tests(res.fits["scalar"])
    want = {(u["lhs"], u["op"], u["rhs"]): u["X2"] for u in r["score"]["scalar"]["uni"]}
    got = {(g.lhs, g.op, g.rhs): g.X2 for g in st.itertuples()}
    assert got.keys() == want.keys()
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-2, abs=2e-3), k


@pytest.fixture(scope="module")
def report(tmp_path_factory, q):
    d = tmp_path_factory.mktemp("waves")
    wave2 = icaf_sem.simulate_wave(q, n=300, seed=7, wave="wave2")
    w2 = d / "wave2.csv"
    wave2.to_csv(w2, index=False)
    out = d / "report"
    from icaf_sem.cli import main
    rc = main(["compare-waves", "--questionnaire", "icaf", "--data", str(EXAMPLE), str(w2),
               "--labels", "2023,2024", "--missing", "listwise", "--out", str(out), "--quiet"])
    return rc, out, d


def test_compare_waves_report(report, stacked):
    rc, out, _ = report
    assert rc == 0
    for f in ["invariance.csv", "latent_means.csv", "path_equality.csv", "paths_by_wave.csv", "samples.csv",
              "report.html", "report.docx", "tables.xlsx", "tables.tex", "figures/paths_by_wave.png",
              "figures/paths_by_wave.svg", "compare_waves.json"]:
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    inv = pd.read_csv(out / "invariance.csv")
    assert list(inv["step"]) == ["configural", "metric", "scalar", "strict"]
    # the same cleaned data as the lavaan reference: the configural and metric steps agree with lavaan
    r = ref("waves_cfa_ml")
    assert inv["chisq"][1] == pytest.approx(r["steps"][1]["fit"]["chisq"], rel=2e-3)
    paths = pd.read_csv(out / "path_equality.csv")
    assert len(paths) == 11 and {"est_2023", "est_2024", "delta_chisq", "pvalue", "differs"} <= set(paths.columns)
    lrt = {p["path"]: p for p in ref("waves_paths_ml")["paths"]}
    row = paths.set_index("hypothesis").loc["H1a"]
    assert row["delta_chisq"] == pytest.approx(lrt["EB~CR"]["chisq_diff"], rel=5e-3, abs=2e-3)
    lm = pd.read_csv(out / "latent_means.csv")
    assert len(lm) == 10 and set(lm["wave"]) == {2024}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Measurement invariance across survey waves" in html and 'id="fig-paths_by_wave"' in html
    assert (out / "figures" / "paths_by_wave.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    d = json.loads((out / "compare_waves.json").read_text())
    assert d["waves"] == ["2023", "2024"] and len(d["paths"]) == 11
    assert set(pd.ExcelFile(out / "tables.xlsx").sheet_names) >= {"wave_invariance", "wave_path_equality"}


def test_mismatched_items_named(report, q, capsys):
    _, _, d = report
    w2 = pd.read_csv(d / "wave2.csv").drop(columns=["dq4", "pw3"])
    bad = d / "wave2_short.csv"
    w2.to_csv(bad, index=False)
    with pytest.raises(DataError, match=r"wave 'wave2' lacks item column\(s\) dq4, pw3.*mismatched item sets"):
        compare_waves(q, [EXAMPLE, bad])
    from icaf_sem.cli import main
    rc = main(["compare-waves", "--questionnaire", "icaf", "--data", str(EXAMPLE), str(bad), "--out", str(d / "x")])
    assert rc == 2 and not (d / "x").exists()
    assert "dq4" in capsys.readouterr().err


def test_too_few_respondents_named(q):
    small = icaf_sem.simulate_wave(q, n=20, seed=3, flaws=None, wave="w2")
    with pytest.raises(DataError, match=r"too few respondents after cleaning: 'wave2' has 20"):
        compare_waves(q, [EXAMPLE, small])


def test_level_missing_in_a_wave(q):
    w1 = icaf_sem.clean(pd.read_csv(EXAMPLE), q).data
    w2 = w1[w1["level"] != "county"]
    with pytest.warns(DataWarning, match=r"level 'county' is missing in wave\(s\) 'b'"):
        counts = check_levels({"a": w1, "b": w2}, "level")
    assert counts["county"] == {"a": int((w1["level"] == "county").sum())}
    with pytest.raises(DataError, match="level 'county' is missing"):
        check_levels({"a": w1, "b": w2}, "level", strict=True)
    raw2 = icaf_sem.simulate_wave(q, n=200, seed=5, wave="w2")
    raw2 = raw2[raw2["level"] != "county"]
    with pytest.raises(DataError, match="level 'county' is missing in wave\\(s\\) 'wave2'"):
        compare_waves(q, [EXAMPLE, raw2], match_on="level")


def test_item_sets_extra_columns_warn(q):
    w1 = pd.read_csv(EXAMPLE)
    w2 = w1.assign(dq5=1)
    with pytest.warns(DataWarning, match="dq5"):
        check_item_sets({"a": w1, "b": w2}, q.items)


def test_wave_files_keep_missing_text_for_the_cleaning_log(tmp_path):
    """'n/a' in a wave file reaches cleaning as text (logged in cell_fixes), not as a silent NaN."""
    from icaf_sem.survey.cleaning import clean
    from icaf_sem.waves import _read
    q = icaf_sem.load_questionnaire("icaf")
    src = Path(icaf_sem.__file__).parent / "data" / "example_wave.csv"
    raw = pd.read_csv(src, dtype=str, keep_default_na=False)
    raw.loc[0, "bc1"] = "n/a"
    f = tmp_path / "wave.csv"
    raw.to_csv(f, index=False)
    got = _read(f, q)
    assert got.loc[0, "bc1"] == "n/a"
    fixes = clean(got, q).cell_fixes
    row = fixes[(fixes["item"] == "bc1") & (fixes["raw_value"].astype(str) == "n/a")]
    assert len(row) == 1
