"""cIPMA (icaf_sem.cipma) and the NCA score sources of analyze (icaf_sem.nca.necessity_scores).

Reference numbers:
* the hand example below: every number is worked out in the comments (CE-FDH by hand);
* tests/fixtures/nca/factor_scores.csv and score_sources.json: made by
  tests/fixtures/nca/make_score_sources.R with lavaan 0.6-14 (cfa(..., missing = "ml"), lavPredict)
  and NCA 5.0.1 (nca_analysis on those factor scores) on the cleaned ICAF wave 1;
* tests/fixtures/nca/cipma_nca.json: made by make_cipma.R with NCA 5.0.1 on cipma_scores.csv (the IPMA's
  0-100 scores, written by make_cipma_scores.py): d, the required level (bottleneck.x = "actual") and the
  share of cases below it (bottleneck.x = "percentile") at the target level;
* PLS importance, performance and 0-100 scores come from icaf_sem.pls.ipma (tested against SmartPLS
  definitions in the PLS tests); here the cIPMA is checked to combine them with NCA consistently.
"""
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.cipma import CIPMAResult, cipma, cipma_figure, cipma_table, combine_ipma_nca
from icaf_sem.errors import DataError, DataWarning, ModelSpecificationError
from icaf_sem.nca import necessity_scores, nca, run_necessity_stage, test_necessity as run_necessity

FIX = Path(__file__).parent / "fixtures" / "nca"
CLEAN = Path(__file__).parent / "fixtures" / "data" / "icaf_wave1_clean.csv"

# --------------------------------------------------------------------------- hand example
# Ten cases, each entered twice (n = 20), on 0-100 scores.
#   X1: 0 10 20 30 40 50 60 70 80 100,   Y: 0 20 10 40 30 60 50 90 70 100
# CE-FDH peers of X1 (upper-left): (0,0) (10,20) (30,40) (50,60) (70,90) (100,100); the step ceiling
# is 0 on [0,10), 20 on [10,30), 40 on [30,50), 60 on [50,70), 90 on [70,100), so the empty zone above
# it is 10*100 + 20*80 + 20*60 + 20*40 + 30*10 = 4900 of the 100 x 100 scope: d = .49.
# Y = 85 needs the first peer with y >= 85: X1 >= 70; the cases below 70 are X1 = 0..60, 7 of 10
# (14 of 20): 70 %.  Y = 100 needs X1 = 100: 9 of 10 below (90 %); Y = 15 needs X1 = 10: 1 of 10 (10 %).
# X2 takes its lowest value (0) at the case with Y = 100: the ceiling is flat at 100, d = 0, NN
# (not necessary at any level, nobody below).
X1 = [0, 10, 20, 30, 40, 50, 60, 70, 80, 100]
Y = [0, 20, 10, 40, 30, 60, 50, 90, 70, 100]
X2 = [50, 40, 90, 10, 60, 30, 80, 20, 70, 0]


@pytest.fixture(scope="module")
def hand():
    sc = pd.DataFrame({"X1": X1 * 2, "X2": X2 * 2, "Y": Y * 2})
    ip = pd.DataFrame({"importance": [0.4, 0.2], "performance": [55.0, 45.0]}, index=["X1", "X2"])
    return sc, ip


@pytest.mark.parametrize("level, required, below", [(85, 70.0, 14), (100, 100.0, 18), (15, 10.0, 2)])
def test_hand_example(hand, level, required, below):
    sc, ip = hand
    r = combine_ipma_nca(ip, sc, "Y", target_level=level, permutations=1000, seed=5)
    t = r.table.set_index("construct")
    assert t.loc["X1", "effect_size"] == pytest.approx(0.49, abs=1e-12)
    assert t.loc["X1", "required"] == pytest.approx(required, abs=1e-12) and t.loc["X1", "required_status"] == ""
    assert t.loc["X1", "cases_below"] == below and t.loc["X1", "cases_below_pct"] == pytest.approx(100 * below / 20)
    assert t.loc["X2", "effect_size"] == 0 and t.loc["X2", "required_status"] == "NN"
    assert t.loc["X2", "required"] == 0 and t.loc["X2", "cases_below"] == 0 and t.loc["X2", "cases_below_pct"] == 0
    # importance and performance are the IPMA's, passed through
    assert t.loc["X1", "importance"] == 0.4 and t.loc["X2", "performance"] == 45.0
    # p is NCA's permutation test with the same seed; necessary = d >= .1 and p < .05
    ref = nca(sc, ["X1", "X2"], "Y", ceilings=("ce_fdh", "cr_fdh"), permutations=1000, seed=5).effects
    ref = ref.set_index(["condition", "ceiling"])["p_value"]
    assert t.loc["X1", "p_value"] == ref[("X1", "ce_fdh")] and t.loc["X1", "p_value"] < 0.05
    assert bool(t.loc["X1", "necessary"]) and not bool(t.loc["X2", "necessary"])
    assert r.target_level == level and isinstance(r, CIPMAResult)
    json.dumps(r.to_dict(), allow_nan=False)
    assert "necessary" in r.summary() and "CIPMAResult" in repr(r)


def test_hand_example_bad_input(hand):
    sc, ip = hand
    with pytest.raises(ModelSpecificationError, match="target_level=120"):
        combine_ipma_nca(ip, sc, "Y", target_level=120)
    with pytest.raises(ModelSpecificationError, match="permutations=0"):
        combine_ipma_nca(ip, sc, "Y", permutations=0)
    with pytest.raises(ModelSpecificationError, match="ceiling='c_lp'"):
        combine_ipma_nca(ip, sc, "Y", ceiling="c_lp")
    with pytest.raises(DataError, match="column 'X1' is missing"):
        combine_ipma_nca(ip, sc.drop(columns="X1"), "Y")
    low = sc.assign(Y=sc["Y"] * 0.5)          # the target's 0-100 scores only reach 50
    with pytest.raises(ModelSpecificationError, match=r"outside the observed 0-100 scores of 'Y' \(0.0..50.0\)"):
        combine_ipma_nca(ip, low, "Y", target_level=85)
    with pytest.raises(ModelSpecificationError, match="icaf_sem.pls"):
        cipma(object(), "Y")


def test_report_table_and_figure(hand):
    import matplotlib.pyplot as plt
    sc, ip = hand
    r = combine_ipma_nca(ip, sc, "Y", target_level=85, permutations=200, seed=1)
    en, zh = cipma_table(r), cipma_table({"Y": r}, language="zh")
    assert en.attrs["title"].startswith("Combined importance-performance") and zh.attrs["title"].startswith("组合")
    assert en["required_text"].tolist() == ["70.0", "NN"] and en["necessary"].tolist() == [True, False]
    assert "Hauff" in en.attrs["note"] and "200 permutations" in en.attrs["note"]
    fig = cipma_figure(r, language="zh")
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("重要性") and any("X1 (70%)" == t.get_text() for t in ax.texts)
    plt.close(fig)


# --------------------------------------------------------------------------- cIPMA on a PLS model
@pytest.fixture(scope="module")
def icaf():
    q = icaf_sem.load_questionnaire("questionnaires/icaf.yaml")
    clean = pd.read_csv(CLEAN)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)       # rows with missing items dropped (listwise)
        res = icaf_sem.pls(q.pls_syntax(), clean)
    return q, clean, res


def test_cipma_on_pls(icaf):
    q, clean, res = icaf
    with pytest.warns(DataWarning, match="negative importance of PR, PC"):
        cp = cipma(res, "PW", target_level=85, scale_min=1, scale_max=7, permutations=300, seed=3)
    ip = res.ipma("PW", scale_min=1, scale_max=7)
    t = cp.table.set_index("construct")
    assert list(t.index) == list(ip.constructs.index) == ["EB", "PR", "PC", "CR", "DC"]
    assert np.allclose(t["importance"], ip.constructs["importance"], rtol=0, atol=1e-12)
    assert np.allclose(t["performance"], ip.constructs["performance"], rtol=0, atol=1e-12)
    # the 0-100 scores: their means are the performances; each is an affine map of the PLS score
    assert np.allclose(ip.scores[list(t.index)].mean(), t["performance"], atol=1e-10)
    pls_scores = necessity_scores(clean, q, "pls", pls_result=res)
    for c in list(t.index) + ["PW"]:
        assert np.corrcoef(ip.scores[c], pls_scores[c])[0, 1] == pytest.approx(1, abs=1e-12)
    # NCA is invariant to that affine map: d and p equal NCA on the standardized PLS scores (same seed)
    ref = nca(pls_scores, list(t.index), "PW", ceilings=("ce_fdh", "cr_fdh"), permutations=300, seed=3).effects
    ref = ref[ref["ceiling"] == "ce_fdh"].set_index("condition")
    assert np.allclose(t["effect_size"], ref["effect_size"], rtol=0, atol=1e-12)
    assert (t["p_value"] == ref["p_value"]).all()
    # cases below: counted directly on the 0-100 scores
    for c, r in t.iterrows():
        below = int((ip.scores[c] < r["required"] - 1e-9).sum()) if r["required_status"] == "" else 0
        assert r["cases_below"] == below and r["cases_below_pct"] == pytest.approx(100 * below / len(ip.scores))
    assert bool(t.loc["DC", "necessary"]) == (t.loc["DC", "effect_size"] >= 0.1 and t.loc["DC", "p_value"] < 0.05)


# --------------------------------------------------------------------------- score sources
def test_factor_score_source_equals_lavaan(icaf):
    q, clean, _ = icaf
    ref_scores = pd.read_csv(FIX / "factor_scores.csv")
    ref = json.loads((FIX / "score_sources.json").read_text(encoding="utf-8"))
    import yaml
    from icaf_sem.questionnaire import Questionnaire
    raw = yaml.safe_load(Path("questionnaires/icaf.yaml").read_text(encoding="utf-8"))
    raw["necessity"]["hypotheses"].append({"id": "N6", "condition": "CR", "outcome": "EB", "level": 80})
    q = Questionnaire.from_dict(raw)            # a higher-order condition: its score from the second-order model
    ours = necessity_scores(clean, q, "factor")               # fits the CFA and the second-order model
    assert ours.attrs["source"] == "factor"
    cols = ["BC", "CE", "CS", "DQ", "PM", "AS", "EB", "PR", "PC", "PW", "CR"]
    assert len(ours) == len(ref_scores) == ref["PW"]["n"]
    # ours equal lavPredict up to the fit's convergence (the CR column comes from the second-order model)
    assert np.abs(ours[cols].to_numpy() - ref_scores[cols].to_numpy()).max() < 2e-4
    # NCA is score-agnostic: on lavaan's scores icaf_sem's NCA equals R's NCA exactly
    for y in ("PW", "EB"):
        case = ref[y]
        res = nca(ref_scores, case["x"], y, ceilings=("ce_fdh", "cr_fdh"), permutations=0)
        eff = res.effects.set_index(["condition", "ceiling"])
        for x, per in case["conditions"].items():
            for ce, e in per.items():
                assert eff.loc[(x, ce), "effect_size"] == pytest.approx(e["effect_size"], rel=1e-9, abs=1e-12)
        bn = res.bottleneck_table("ce_fdh", nca_strings=True)
        for row in case["bottleneck_nca"]["ce_fdh"]:
            got = bn[np.isclose(bn.index.astype(float), row["y"])].iloc[0]
            assert all(got[x] == row[x] for x in case["x"])
    # and on our factor scores the hypotheses' d equal R's within the scores' tolerance
    nres = run_necessity(clean, q, scores=ours, permutations=0)
    t = nres.table.set_index("id")
    for hid, x, y in (("N1", "DQ", "PW"), ("N2", "PM", "PW"), ("N3", "EB", "PW"), ("N4", "BC", "PW"),
                      ("N5", "DQ", "EB"), ("N6", "CR", "EB")):
        assert t.loc[hid, "effect_size"] == pytest.approx(ref[y]["conditions"][x]["ce_fdh"]["effect_size"], abs=1e-3)


def test_pls_and_mean_score_sources(icaf):
    q, clean, res = icaf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        sc = necessity_scores(clean, q, "pls")
    assert sc.attrs["source"] == "pls" and list(sc.columns) == list(res.scores.columns)
    # dimensions of the HOCs as PLSResult.scores (stage 1); the stage-2 constructs are affine maps of the
    # IPMA's 0-100 scores, which use the stage-2 weights of the reported model
    dims = ["BC", "CE", "CS", "DQ", "PM", "AS"]
    assert np.allclose(sc[dims], res.scores[dims], atol=1e-12)
    ip = res.ipma("PW", scale_min=1, scale_max=7)
    for c in sc.columns:
        assert np.corrcoef(ip.scores[c], sc[c])[0, 1] == pytest.approx(1, abs=1e-12)
        assert sc[c].std() == pytest.approx(1, abs=1e-9)
    mean = necessity_scores(clean, q, "mean")
    assert np.allclose(mean["PW"], pd.read_csv(FIX / "icaf_wave1_scores.csv")["PW"])
    with pytest.raises(ModelSpecificationError, match="nca_scores='lavaan'"):
        necessity_scores(clean, q, "lavaan")


def test_necessity_stage_names_its_source_and_adds_the_cipma(icaf):
    from icaf_sem.nca import necessity_report_tables
    q, clean, _ = icaf
    q.necessity.permutations = 200          # a small test (the block's 10,000 is the default)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            nres = run_necessity_stage(clean, q, scores="pls")
    finally:
        q.necessity.permutations = 10000
    assert nres.options["scores_source"] == "pls" and set(nres.cipma) == {"PW", "EB"}
    q.necessity.permutations = 0            # no permutation test: no cIPMA (its verdict needs p), said so
    try:
        with pytest.warns(DataWarning, match="cIPMA not computed"):
            n0 = run_necessity_stage(clean, q, scores="mean")
    finally:
        q.necessity.permutations = 10000
    assert n0.cipma == {} and "cipma" not in necessity_report_tables(n0)
    tabs = necessity_report_tables(nres, language="zh")
    assert "PLS-SEM 构念得分" in tabs["necessity_tests"].attrs["note"]
    assert list(tabs) == ["necessity_tests", "necessity_bottlenecks", "cipma"]
    en = necessity_report_tables(nres)
    assert "scores: PLS-SEM construct scores" in en["necessity_tests"].attrs["note"]
    assert set(en["cipma"]["target"]) == {"PW", "EB"} and "cipma" in nres.to_dict()
    json.dumps(nres.to_dict(), allow_nan=False)


def test_analyze_rejects_an_unknown_score_source():
    from icaf_sem import analyze
    with pytest.raises(ModelSpecificationError, match="nca_scores='fs'"):
        analyze("icaf_sem/data/example_wave.csv", "questionnaires/icaf.yaml", nca_scores="fs")


def test_cli_cipma(tmp_path):
    from icaf_sem.cli import main
    out = tmp_path / "o.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        rc = main(["nca", "--data", str(CLEAN), "--questionnaire", "questionnaires/icaf.yaml", "--x", "DQ",
                   "--y", "EB", "--permutations", "100", "--seed", "1", "--cipma", "80", "--json", str(out)])
    assert rc == 0
    d = json.loads(out.read_text(encoding="utf-8"))
    assert d["cipma"]["target"] == "EB" and d["cipma"]["target_level"] == 80
    assert [r["construct"] for r in d["cipma"]["table"]] == ["CR", "DC"]
    assert not math.isnan(d["cipma"]["table"][0]["cases_below_pct"])
    rc = main(["nca", "--data", str(CLEAN), "--questionnaire", "questionnaires/icaf.yaml", "--x", "DQ", "--y", "EB",
               "--permutations", "0", "--cipma", "80", "--json", str(tmp_path / "p0.json")])
    assert rc == 2 and not (tmp_path / "p0.json").exists()


@pytest.mark.parametrize("case", ["PW", "EB", "PW60"])
@pytest.mark.parametrize("ceiling", ["ce_fdh", "cr_fdh"])
def test_cipma_nca_side_equals_nca(case, ceiling):
    """d, the required level (NCA bottleneck.x = "actual") and the share of cases below it (bottleneck.x =
    "percentile") at the target level equal NCA 5.0.1 on the same 0-100 scores (make_cipma.R)."""
    from icaf_sem.nca import _nca_string
    ref = json.loads((FIX / "cipma_nca.json").read_text(encoding="utf-8"))[case]
    sc = pd.read_csv(FIX / "cipma_scores.csv")
    ip = pd.DataFrame({"importance": 0.1, "performance": sc[ref["x"]].mean()}, index=ref["x"])
    r = combine_ipma_nca(ip, sc, ref["y"], target_level=ref["level"], ceiling=ceiling, permutations=1, seed=1)
    for _, row in r.table.iterrows():
        x = row["construct"]
        assert row["effect_size"] == pytest.approx(ref["effect_size"][x][ceiling], rel=1e-9, abs=1e-12)
        assert _nca_string(row["required"], row["required_status"], "actual") == ref["actual"][ceiling][x]
        pct_status = "NN" if row["cases_below"] == 0 else ""
        assert _nca_string(row["cases_below_pct"], pct_status, "percentile") == ref["percentile"][ceiling][x]


def test_analyze_cli_passes_the_score_source(monkeypatch, tmp_path, capsys):
    """``icaf-sem analyze --nca-scores pls`` reaches analyze(nca_scores="pls"); a bad value is one error line."""
    from icaf_sem import cli, pipeline
    seen = {}

    def fake_analyze(*args, **kwargs):
        seen.update(kwargs)
        raise ModelSpecificationError("stop here")

    monkeypatch.setattr(pipeline, "analyze", fake_analyze)
    argv = ["analyze", "-q", "questionnaires/icaf.yaml", "-d", "icaf_sem/data/example_wave.csv",
            "-o", str(tmp_path / "out"), "--nca-scores", "pls"]
    assert cli.main(argv) == 2 and seen["nca_scores"] == "pls"
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        cli.main(argv[:-1] + ["fs"])
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(err) == 1 and "--nca-scores" in err[0]
    assert not (tmp_path / "out").exists()
