"""Necessary Condition Analysis against the R package NCA 5.0.1.

Reference numbers (tests/fixtures/nca/), all from NCA 5.0.1:
* icaf_wave1_nca_pw.json, icaf_wave1_nca_eb.json: copies of the shared references
  (../shared/reference/nca), NCA 5.0.1 with 10,000 permutations, on icaf_wave1_scores.csv
  (construct mean scores of the complete cases of the cleaned ICAF wave 1).
* nca_extra.json (+ sim_continuous.csv): made by tests/fixtures/nca/make_fixtures.R with NCA 5.0.1
  installed from its CRAN sources: all four ceilings, the other bottleneck units, outcome levels
  given as a list, continuous scores with missing values, a single-peer condition, and 2,000
  permutations on the continuous case.
* fuzz.csv/fuzz.json and clp_small.json: made by tests/fixtures/nca/make_fuzz.R: 16 random data sets
  (ties, negative values, missing values) and C-LP on 300 small data sets.  Where several C-LP lines
  are equally optimal, NCA's solver picks one by its pivoting path; the tests then check that NCA's
  line is an optimal solution of the same programme (icaf_sem returns the steepest one).
* clp_pvalues.json: made by tests/fixtures/nca/make_clp_pvalues.R: NCA's C-LP permutation test.
"""
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.errors import DataError, DataWarning, ModelSpecificationError
from icaf_sem.nca import (NCAResult, _nca_string, _perm_effects, construct_scores, nca, rescale_scores,
                          test_necessity as run_necessity)

FIX = Path(__file__).parent / "fixtures" / "nca"
SCORES = FIX / "icaf_wave1_scores.csv"
EXTRA = FIX / "nca_extra.json"


def _ref(name):
    return json.loads((FIX / f"{name}.json").read_text(encoding="utf-8"))


def _close(a, b, tol=1e-9):
    if b is None:
        return a is None or (isinstance(a, float) and math.isnan(a))
    return a is not None and np.isfinite(a) and abs(a - b) <= tol * max(1.0, abs(b))


def _clp_equally_optimal(res, condition, slope, intercept):
    """NCA's C-LP line solves the same linear programme as ours (a tie among optimal lines)."""
    from icaf_sem.nca import _peer_points
    px, py = _peer_points(res._conds[condition])
    e = res.effects.set_index(["condition", "ceiling"]).loc[(condition, "c_lp")]
    feasible = np.all(intercept + slope * px >= py - 1e-7) and slope >= 0
    same = abs(np.sum(intercept + slope * px) - np.sum(e["intercept"] + e["slope"] * px)) <= 1e-7 * len(px)
    return bool(feasible and same)


def _assert_c_lp_optimal(res, condition):
    from scipy.optimize import linprog

    from icaf_sem.nca import _peer_points
    px, py = _peer_points(res._conds[condition])
    e = res.effects.set_index(["condition", "ceiling"]).loc[(condition, "c_lp")]
    if len(np.unique(px)) < 2:
        assert np.isnan(e["slope"])
        return
    k = len(px)
    sol = linprog(c=[k, px.sum()], A_ub=-np.column_stack([np.ones(k), px]), b_ub=-py,
                  bounds=[(None, None), (0, None)], method="highs")
    assert e["slope"] >= 0 and np.all(e["intercept"] + e["slope"] * px >= py - 1e-9)
    assert np.sum(e["intercept"] + e["slope"] * px) == pytest.approx(sol.fun, rel=1e-9, abs=1e-9)


def _p_ok(p, p_ref, r, r_ref):
    pr, pg = max(p_ref, 1 / r_ref), max(p, 1 / r)
    return abs(p - p_ref) <= 4 * math.sqrt(pr * (1 - pr) / r_ref + pg * (1 - pg) / r) + 1e-12


@pytest.fixture(scope="module")
def scores():
    return pd.read_csv(SCORES)


# --------------------------------------------------------------------------- the shared reference cases
@pytest.mark.parametrize("case", ["icaf_wave1_nca_pw", "icaf_wave1_nca_eb"])
def test_reference_cases(case, scores):
    ref = _ref(case)
    res = nca(scores, ref["x"], ref["y"], ceilings=ref["options"]["ceilings"],
              permutations=ref["options"]["permutations"], seed=7)
    out = res.to_dict()
    for x, per in ref["conditions"].items():
        for ce, want in per.items():
            if ce not in ("ce_fdh", "cr_fdh"):
                continue
            have = out["conditions"][x][ce]
            for key in ("effect_size", "ceiling_zone", "scope", "accuracy", "slope", "intercept", "fit", "n_above"):
                assert _close(have[key], want[key]), (x, ce, key, have[key], want[key])
            assert _p_ok(have["p_value"], want["p_value"], 10000, ref["options"]["permutations"]), \
                (x, ce, have["p_value"], want["p_value"])
            assert have["p_value_mc_se"] == pytest.approx(math.sqrt(have["p_value"] * (1 - have["p_value"]) / 10000))
    for ce, rows in ref["bottleneck"].items():
        mine = {r["y"]: r for r in out["bottleneck"][ce]}
        for r in rows:
            for x in ref["x"]:
                assert (mine[r["y"]][x] is None) == (r[x] is None), (ce, r["y"], x)
                if r[x] is not None:
                    assert abs(mine[r["y"]][x] - r[x]) <= 0.05 + 1e-6
        # NCA's printed strings, exactly
        mine_s = {r["y"]: r for r in out["bottleneck_nca"][ce]}
        for r in ref["bottleneck_nca"][ce]:
            for x in ref["x"]:
                assert mine_s[r["y"]][x] == r[x], (ce, r["y"], x)


# --------------------------------------------------------------------------- more NCA cases (make_fixtures.R)
def _extra_cases():
    return json.loads(EXTRA.read_text(encoding="utf-8")) if EXTRA.exists() else []


@pytest.mark.parametrize("case", _extra_cases(), ids=lambda c: c["case"])
def test_extra_cases(case):
    data = pd.read_csv(FIX / case["data"])
    o = case["options"]
    steps = o["steps"] if isinstance(o["steps"], list) and len(o["steps"]) > 1 else \
        int(o["steps"][0] if isinstance(o["steps"], list) else o["steps"])
    reps = int(o["permutations"])
    scope = None if o.get("scope", "observed") == "observed" else o["scope"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        res = nca(data, case["x"], case["y"], ceilings=o["ceilings"], permutations=4 * reps, seed=3,
                  bottleneck_x=o["bottleneck_x"], bottleneck_y=o["bottleneck_y"], steps=steps, scope=scope)
    e = res.effects.set_index(["condition", "ceiling"])
    ties = set()
    for x, per in case["conditions"].items():
        for ce, want in per.items():
            have = e.loc[(x, ce)]
            if ce == "c_lp" and want["slope"] is not None and not _close(float(have["slope"]), want["slope"], 1e-7):
                assert _clp_equally_optimal(res, x, want["slope"], want["intercept"]), (x, "C-LP")
                ties.add(x)
                continue
            for key in ("ceiling_zone", "effect_size", "n_above", "slope", "intercept", "fit", "accuracy", "scope"):
                if key in want:
                    assert _close(float(have[key]), want[key], 1e-7), (x, ce, key, have[key], want[key])
            if "n" in want:
                assert int(have["n"]) == want["n"]
            if reps and ce in ("ce_fdh", "cr_fdh") and want.get("p_value") is not None:
                assert _p_ok(float(have["p_value"]), want["p_value"], 4 * reps, reps), (x, ce, have["p_value"],
                                                                                         want["p_value"])
    assert len(ties) <= 1
    for ce, rows in case["bottleneck_nca"].items():
        tab = res.bottleneck[res.bottleneck["ceiling"] == ce]
        levels = sorted(tab["level"].unique())
        assert len(levels) == len(rows)
        for lev, r in zip(levels, rows):
            assert abs(lev - r["y"]) <= 1e-9 * max(1, abs(r["y"]))
            for x in case["x"]:
                if ce == "c_lp" and x in ties:
                    continue
                row = tab[(tab["level"] == lev) & (tab["condition"] == x)].iloc[0]
                mine = _nca_string(row["value"], row["status"], o["bottleneck_x"])
                if mine != r[x]:   # a last-digit rounding flip is the only difference allowed
                    assert r[x] not in ("NN", "NA") and mine not in ("NN", "NA"), (ce, lev, x, mine, r[x])
                    assert abs(float(mine) - float(r[x])) <= 10 ** -(3 if o["bottleneck_x"] == "actual" else 1) + 1e-9


def test_extra_fixture_present():
    assert EXTRA.exists(), "run tests/fixtures/nca/make_fixtures.R"
    names = {c["case"] for c in _extra_cases()}
    assert {"icaf_pw_all_ceilings", "sim_continuous", "sim_continuous_test", "icaf_pw_scope_1_7"} <= names


# --------------------------------------------------------------------------- the vectorised test
@pytest.mark.parametrize("xcol", ["BC", "CS", "DQ", "EB", "x1", "x4"])
def test_vectorised_permutations_equal_one_by_one(scores, xcol):
    """The batched CE-FDH/CR-FDH/C-LP effect sizes equal the one-by-one computation on each permuted data set,
    and the C-LP line is an optimum of NCA's linear programme."""
    data = scores if xcol.isupper() else pd.read_csv(FIX / "sim_continuous.csv")
    y = "PW" if xcol.isupper() else "y"
    three = ["ce_fdh", "cr_fdh", "c_lp"]
    res = nca(data, [xcol], y, permutations=0, ceilings=three)
    cond = res._conds[xcol]
    rng = np.random.default_rng(11)
    perms = np.array([rng.permutation(cond.n) for _ in range(25)])
    Yp = cond.y[perms]
    batched = _perm_effects(cond, Yp[:, cond.order], three)
    for k in range(len(perms)):
        one = nca(pd.DataFrame({"x": cond.x, "y": Yp[k]}), ["x"], "y", permutations=0, ceilings=three).effects
        d = one.set_index("ceiling")["effect_size"]
        assert batched["ce_fdh"][k] == pytest.approx(d["ce_fdh"], abs=1e-12)
        assert batched["cr_fdh"][k] == pytest.approx(d["cr_fdh"], abs=1e-10)
        assert batched["c_lp"][k] == pytest.approx(d["c_lp"], abs=1e-10)
        if k < 8:   # the C-LP line solves NCA's linear programme (checked with scipy's HiGHS)
            one_res = nca(pd.DataFrame({"x": cond.x, "y": Yp[k]}), ["x"], "y", permutations=0, ceilings=three)
            _assert_c_lp_optimal(one_res, "x")


def test_seed_reproducible_and_p_bounds(scores):
    a = nca(scores, ["DQ", "CS"], "PW", permutations=500, seed=5).effects
    b = nca(scores, ["DQ", "CS"], "PW", permutations=500, seed=5).effects
    assert a["p_value"].tolist() == b["p_value"].tolist()
    assert (a["p_value"] >= 1 / 500).all() and (a["p_value"] <= 1).all()
    assert (a["permutations"] == 500).all()
    no = nca(scores, ["DQ"], "PW", permutations=0).effects
    assert no["p_value"].isna().all()


# --------------------------------------------------------------------------- API surface
def test_result_object(scores):
    res = icaf_sem.nca(scores, x=["DQ", "PM"], y="PW", ceilings=("ce_fdh", "cr_fdh", "c_lp", "ols"),
                       permutations=200, seed=1)
    assert isinstance(res, NCAResult)
    assert list(res.effects.columns[:4]) == ["condition", "outcome", "ceiling", "n"]
    assert set(res.effects["ceiling"]) == {"ce_fdh", "cr_fdh", "c_lp", "ols"}
    assert res.effects.loc[res.effects["ceiling"] == "ols", "p_value"].isna().all()
    assert res.effects.loc[res.effects["ceiling"] != "ols", "p_value"].between(1 / 200, 1).all()
    t = res.bottleneck_table("ce_fdh")
    assert list(t.columns) == ["DQ", "PM"] and len(t) == 11
    assert res.bottleneck_table("cr_fdh", nca_strings=True).iloc[0, 0] == "NN"
    with pytest.raises(ModelSpecificationError):
        res.bottleneck_table("ols")
    assert set(res.peers.columns) == {"condition", "x", "y", "count"}
    assert "DQ" in res.summary() and "<h4>" in res._repr_html_()
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["bottleneck"]["ce_fdh"][0]["DQ"] == 0.0          # NN is written as 0
    assert len(res.permutation_draws("DQ", "cr_fdh")) == 200
    fig = res.plot("PM")
    assert len(fig.axes) == 1
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_units_and_levels(scores):
    res = nca(scores, ["DQ"], "PW", permutations=0, bottleneck_x="actual", bottleneck_y="actual", steps=[4, 7])
    t = res.bottleneck_table("ce_fdh")
    assert list(t.index) == [4.0, 7.0]
    assert t.loc[7.0, "DQ"] == 4.0      # the lowest DQ among the cases with the highest PW
    with pytest.raises(ModelSpecificationError, match="outside"):
        nca(scores, ["DQ"], "PW", permutations=0, steps=[50, 120])


def test_rescale_and_construct_scores(scores):
    q = icaf_sem.load_questionnaire("questionnaires/icaf.yaml")
    clean = pd.read_csv(Path(__file__).parent / "fixtures" / "data" / "icaf_wave1_clean.csv")
    mine = construct_scores(clean, q).set_index("respondent_id")
    ref = scores.set_index("respondent_id")
    assert list(mine.index) == list(ref.index)
    assert np.abs(mine[ref.columns].to_numpy() - ref.to_numpy()).max() < 1e-12
    assert {"CR", "DC"} <= set(mine.columns)
    r = rescale_scores(ref, 1, 7)
    assert r["PW"].min() >= 0 and r["PW"].max() <= 100
    assert r.loc[ref["PW"] == 7, "PW"].eq(100).all()


# --------------------------------------------------------------------------- bad input
def test_constant_condition_is_refused(scores):
    df = scores.assign(K=4.0)
    with pytest.raises(DataError, match="'K' is constant"):
        nca(df, ["DQ", "K"], "PW", permutations=0)
    with pytest.raises(DataError, match="same value"):
        nca(scores.assign(PW=3.0), ["DQ"], "PW", permutations=0)


def test_fewer_than_ten_cases_is_refused(scores):
    with pytest.raises(DataError, match="only 9 complete"):
        nca(scores.head(9), ["DQ"], "PW", permutations=0)


def test_missing_values_deleted_with_warning(scores):
    df = scores.copy()
    df.loc[[0, 5, 9], "DQ"] = np.nan
    with pytest.warns(DataWarning, match="'DQ' is missing for 3 case"):
        res = nca(df, ["DQ", "PM"], "PW", permutations=0)
    e = res.effects.set_index(["condition", "ceiling"])
    assert e.loc[("DQ", "ce_fdh"), "n"] == 201 and e.loc[("PM", "ce_fdh"), "n"] == 204
    same = nca(df.dropna(subset=["DQ"]), ["DQ"], "PW", permutations=0).effects
    assert e.loc[("DQ", "cr_fdh"), "effect_size"] == same.set_index("ceiling").loc["cr_fdh", "effect_size"]
    df.loc[1, "PW"] = np.nan
    with pytest.warns(DataWarning, match="outcome 'PW' is missing"):
        nca(df, ["PM"], "PW", permutations=0)


def test_non_numeric_column_is_refused(scores):
    df = scores.assign(DQ=scores["DQ"].astype(object))
    df.loc[3, "DQ"] = "high"
    with pytest.raises(DataError, match="'DQ' is not numeric.*'high'"):
        nca(df, ["DQ"], "PW", permutations=0)
    txt = scores.assign(DQ=scores["DQ"].astype(str))      # numbers stored as text are fine
    assert nca(txt, ["DQ"], "PW", permutations=0).effects["effect_size"].iloc[0] == pytest.approx(0.163101604278075)


@pytest.mark.parametrize("kwargs, match", [
    ({"ceilings": ["ce_vrs"]}, "does not compute"),
    ({"ceilings": ["banana"]}, "unknown"),
    ({"bottleneck_x": "percent"}, "bottleneck option"),
    ({"permutations": -1}, "permutations"),
    ({"seed": "a"}, "seed"),
    ({"steps": 0}, "steps"),
    ({"scope": (1, 7, 7, 1)}, "scope must be"),
    ({"scope": (1, 7)}, "scope must be"),
])
def test_bad_options(scores, kwargs, match):
    with pytest.raises(ModelSpecificationError, match=match):
        nca(scores, ["DQ"], "PW", **kwargs)


def test_scope_is_widened_with_a_warning(scores):
    with pytest.warns(DataWarning, match="widened"):
        res = nca(scores, ["DQ"], "PW", permutations=0, scope=(2, 7, 1, 7))     # DQ starts at 1.5
    assert res.effects["x_min"].iloc[0] == 1.5
    full = nca(scores, ["DQ"], "PW", permutations=0, scope=(1, 7, 1, 7)).effects.set_index("ceiling")
    obs = nca(scores, ["DQ"], "PW", permutations=0).effects.set_index("ceiling")
    assert full.loc["ce_fdh", "scope"] == 36.0 and full.loc["ce_fdh", "ceiling_zone"] > obs.loc["ce_fdh", "ceiling_zone"]


def test_bad_names(scores):
    with pytest.raises(DataError, match="'XX' is not in the data"):
        nca(scores, ["XX"], "PW")
    with pytest.raises(ModelSpecificationError, match="also listed"):
        nca(scores, ["PW"], "PW")
    with pytest.raises(DataError, match="DataFrame"):
        nca([1, 2, 3], ["a"], "b")


# --------------------------------------------------------------------------- CLI
def test_cli_contract(tmp_path):
    from icaf_sem.cli import main
    out = tmp_path / "nca.json"
    rc = main(["nca", "--data", str(SCORES), "--x", "DQ,PM", "--y", "PW", "--ceilings", "ce_fdh,cr_fdh",
               "--permutations", "300", "--seed", "1", "--json", str(out)])
    assert rc == 0
    d = json.loads(out.read_text(encoding="utf-8"))
    for key in ("effect_size", "ceiling_zone", "scope", "accuracy", "slope", "intercept", "p_value"):
        assert key in d["conditions"]["DQ"]["cr_fdh"]
    assert d["conditions"]["DQ"]["ce_fdh"]["effect_size"] == pytest.approx(0.163101604278075, abs=1e-12)
    assert [r["y"] for r in d["bottleneck"]["ce_fdh"]] == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]


def test_cli_bad_input_one_line(tmp_path, capsys):
    from icaf_sem.cli import main
    rc = main(["nca", "--data", str(SCORES), "--x", "DQ,NOPE", "--y", "PW", "--json", str(tmp_path / "o.json")])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "NOPE" in err[0]
    assert not (tmp_path / "o.json").exists()


# --------------------------------------------------------------------------- necessity hypotheses
def test_necessity_block_and_report_tables(tmp_path):
    from icaf_sem.report import figures as F
    from icaf_sem.report import tables as T
    q = icaf_sem.load_questionnaire("questionnaires/icaf.yaml")
    assert [h.id for h in q.necessity.hypotheses] == ["N1", "N2", "N3", "N4", "N5"]
    clean = pd.read_csv(Path(__file__).parent / "fixtures" / "data" / "icaf_wave1_clean.csv")
    nres = run_necessity(clean, q, permutations=2000, seed=2)
    t = nres.table.set_index("id")
    # d and the required level equal the NCA reference (CE-FDH, PW at 80 % of its range)
    ref = _ref("icaf_wave1_nca_pw")
    assert t.loc["N1", "effect_size"] == pytest.approx(ref["conditions"]["DQ"]["ce_fdh"]["effect_size"], abs=1e-12)
    row80 = next(r for r in ref["bottleneck"]["ce_fdh"] if r["y"] == 80)
    assert t.loc["N1", "required"] == pytest.approx(row80["DQ"], abs=0.05)
    assert bool(t.loc["N1", "supported"]) and not bool(t.loc["N4", "supported"])   # BC: d = .092 < .1
    assert "d below" in t.loc["N4", "reason"]
    tab = T.necessity_tests(nres)
    assert tab.attrs["title"] == "Necessary Condition Analysis"
    zh = T.necessity_tests(nres, language="zh")
    assert zh.attrs["title"].startswith("必要条件") and "支持" not in zh.attrs["title"]
    shown = T.display_frame(tab)
    assert "Required level (%)" in shown.columns and shown["Supported"].tolist()[0] == "Yes"
    bn = T.necessity_bottlenecks(nres)
    assert set(bn["level"]) == {80.0} and len(bn) == 5
    fig = F.nca_scatter_grid(nres)
    assert len([a for a in fig.axes if a.has_data()]) == 5
    import matplotlib.pyplot as plt
    plt.close(fig)
    json.dumps(nres.to_dict(), allow_nan=False)


def test_necessity_block_validation():
    import yaml
    from icaf_sem.errors import QuestionnaireError
    from icaf_sem.questionnaire import Questionnaire
    raw = yaml.safe_load(Path("questionnaires/icaf.yaml").read_text(encoding="utf-8"))
    raw["necessity"]["hypotheses"][0]["condition"] = "XX"
    with pytest.raises(QuestionnaireError, match=r"necessity.hypotheses\[0\].condition: unknown construct 'XX'"):
        Questionnaire.from_dict(raw)
    raw["necessity"]["hypotheses"][0].update(condition="DQ", id="H1a")
    with pytest.raises(QuestionnaireError, match="already used"):
        Questionnaire.from_dict(raw)
    raw["necessity"]["hypotheses"][0].update(id="N1", level=150)
    with pytest.raises(QuestionnaireError, match="level"):
        Questionnaire.from_dict(raw)


def test_analyze_runs_the_nca_stage():
    from icaf_sem import analyze
    from icaf_sem.scores import factor_scores
    res = analyze(Path("icaf_sem/data/example_wave.csv"), "questionnaires/icaf.yaml", missing="listwise",
                  figures=False, bootstrap=0, nca_scores="factor", invariance=False, method_bias=False)
    assert res.necessity is not None and len(res.necessity.table) == 5
    assert {"necessity_tests", "necessity_bottlenecks"} <= set(res.tables)
    assert "cipma" not in res.tables and not res.necessity.cipma     # a PLS-SEM analysis: method pls or both
    assert "necessity" in res.to_dict() and res.options["nca_scores"] == "factor"
    # the hypotheses were tested on the factor scores of analyze's own first-order CFA (lavPredict)
    assert np.allclose(res.necessity.scores[["DQ", "PW"]], factor_scores(res.cfa)[["DQ", "PW"]])
    assert "CB-SEM factor scores" in res.tables["necessity_tests"].attrs["note"]
    zh = res.in_language("zh")
    assert "因子得分" in zh.tables["necessity_tests"].attrs["note"]


# --------------------------------------------------------------------------- random data sets (make_fuzz.R)
def test_random_data_sets_equal_nca():
    """16 random data sets (ties, negative values, missing values, N = 12..120) against NCA 5.0.1."""
    data = pd.read_csv(FIX / "fuzz.csv")
    ref = json.loads((FIX / "fuzz.json").read_text(encoding="utf-8"))
    flips = n_ties = 0
    for case in ref:
        d = data[data["set"] == case["set"]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            res = nca(d, ["a", "b", "c"], "y", ceilings=("ce_fdh", "cr_fdh", "c_lp"), permutations=0)
        e = res.effects.set_index(["condition", "ceiling"])
        ties = set()
        for x, per in case["conditions"].items():
            for ce, want in per.items():
                if ce == "c_lp" and want["slope"] is not None and not _close(float(e.loc[(x, ce), "slope"]),
                                                                             want["slope"], 1e-7):
                    assert _clp_equally_optimal(res, x, want["slope"], want["intercept"]), (case["set"], x)
                    ties.add(x)
                    continue
                for key in ("effect_size", "ceiling_zone", "slope", "intercept"):
                    assert _close(float(e.loc[(x, ce), key]), want[key], 1e-7), (case["set"], x, ce, key)
        n_ties += len(ties)
        for ce, cols in case["bottleneck_nca"].items():
            b = res.bottleneck[res.bottleneck["ceiling"] == ce]
            for x, col in cols.items():
                if ce == "c_lp" and x in ties:
                    continue
                bx = b[b["condition"] == x]
                mine = [_nca_string(v, s, "percentage.range") for v, s in zip(bx["value"], bx["status"])]
                for m_, r_ in zip(mine, col):
                    if m_ != r_:   # only a last-digit rounding flip of a value on a .x5 boundary
                        assert "N" not in m_ + r_ and abs(float(m_) - float(r_)) <= 0.1 + 1e-9, (case["set"], x)
                        flips += 1
    assert flips <= 2 and n_ties <= 2


def test_c_lp_small_data_sets():
    """C-LP on 300 small data sets: equal to NCA where the optimum is unique, equally optimal where it is not."""
    ref = json.loads((FIX / "clp_small.json").read_text(encoding="utf-8"))
    exact = ties = steepest_agree = 0
    for case in ref:
        if case["slope"] is None:
            continue
        res = nca(pd.DataFrame({"x": case["x"], "y": case["y"]}, dtype=float), ["x"], "y", ceilings=("ce_fdh", "c_lp"),
                  permutations=0, min_n=2)
        e = res.effects.set_index("ceiling").loc["c_lp"]
        if _close(float(e["slope"]), case["slope"], 1e-7):
            assert _close(float(e["effect_size"]), case["effect_size"], 1e-7)
            exact += 1
        else:
            assert _clp_equally_optimal(res, "x", case["slope"], case["intercept"]), case["k"]
            ties += 1
    assert exact >= 225 and ties <= 2


def test_c_lp_permutation_p_values():
    """C-LP p-values against NCA 5.0.1's own test (1,000 permutations; make_clp_pvalues.R)."""
    path = FIX / "clp_pvalues.json"
    assert path.exists(), "run tests/fixtures/nca/make_clp_pvalues.R"
    for case in json.loads(path.read_text(encoding="utf-8")):
        data = pd.read_csv(FIX / case["data"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            res = nca(data, case["x"], case["y"], ceilings=("ce_fdh", "c_lp"), permutations=4000, seed=9)
        e = res.effects.set_index(["condition", "ceiling"])
        for x in case["x"]:
            have = e.loc[(x, "c_lp")]
            if not _close(float(have["effect_size"]), case["effect_size"][x], 1e-7):   # a tie among C-LP lines
                continue
            assert _p_ok(float(have["p_value"]), case["p_value"][x], 4000, case["permutations"]), (x, have["p_value"])


def test_group_draws_follow_the_permutation_distribution_exactly():
    """_group_draws (the large-sample path of the permutation test) draws each x group's
    outcome maximum and its multiplicity with the probabilities of a uniformly random
    permutation: checked against the full enumeration of a small case."""
    import itertools
    from collections import Counter

    from icaf_sem.nca import _group_draws
    y = [0, 0, 0, 1, 1, 2]                         # level codes: counts 3, 2, 1
    sizes = [2, 1, 3]                              # three x groups, in x order
    exact = Counter()
    perms = list(itertools.permutations(range(6)))
    for perm in perms:
        yy = [y[i] for i in perm]
        key, pos = [], 0
        for s in sizes:
            grp = yy[pos:pos + s]
            key += [max(grp), grp.count(max(grp))]
            pos += s
        exact[tuple(key)] += 1
    B = 200_000
    top, mult = _group_draws(np.array(sizes), np.array([3, 2, 1]), B, np.random.default_rng(0))
    seen = Counter(map(tuple, np.column_stack([top[:, 0], mult[:, 0], top[:, 1], mult[:, 1],
                                                top[:, 2], mult[:, 2]]).tolist()))
    assert set(seen) == set(exact)
    for key, cnt in exact.items():
        prob = cnt / len(perms)
        se = math.sqrt(prob * (1 - prob) / B)
        assert abs(seen[key] / B - prob) < 4.5 * se, (key, seen[key] / B, prob)


def test_large_samples_test_by_group_compositions_with_the_same_distribution():
    """Beyond 5 k L cases (k distinct x, L distinct y) the permutation test draws group
    compositions instead of shuffling the cases: its permuted effect sizes have the same
    distribution as the shuffle's (two-sample Kolmogorov-Smirnov) and the p-values agree
    within Monte Carlo error."""
    from scipy import stats

    from icaf_sem.nca import _group_effects, _prepare
    rng = np.random.default_rng(5)
    n = 3000
    x = (rng.integers(1, 8, n) + rng.integers(0, 3, n) / 3).astype(float)
    y = np.clip(np.round(3 + 0.1 * x + rng.normal(0, 0.8, n)), 1, 7)   # a few cases at the top: p near 0.4
    c = _prepare("x", np.arange(n), x, y)
    assert c.n > 5 * len(c.xg) * len(np.unique(y))
    tested = ["ce_fdh", "cr_fdh", "c_lp"]
    lv, codes = np.unique(y, return_inverse=True)
    B = 6000
    Yp = np.random.default_rng(1).permuted(np.broadcast_to(codes.astype(np.uint8), (B, n)), axis=1)
    a = _perm_effects(c, Yp[:, c.order], tested, lv)
    from icaf_sem.nca import _group_draws
    lv2, counts = np.unique(y, return_counts=True)
    top, mult = _group_draws(np.diff(np.r_[c.starts, c.n]), counts, B, np.random.default_rng(2))
    b = _group_effects(c, lv2[top], mult, tested)
    for ce in tested:
        assert stats.ks_2samp(a[ce], b[ce]).pvalue > 0.01, ce
    # through the public function: the p-value of a small effect agrees with the shuffle's
    df = pd.DataFrame({"x": x, "y": y})
    res = nca(df, x=["x"], y="y", permutations=2000, seed=4).effects.set_index("ceiling")
    for ce in ("ce_fdh", "cr_fdh"):
        obs = res.loc[ce, "effect_size"]
        p_shuffle = (np.sum(a[ce] >= obs - 1e-9) + 1) / (B + 1)
        assert 0.2 < p_shuffle < 0.6
        assert abs(res.loc[ce, "p_value"] - p_shuffle) < 4 * math.sqrt(p_shuffle * (1 - p_shuffle) / 2000)
