"""Hypothesis tests against lavaan's numbers (tests/fixtures/pipeline/make_pipeline_fixtures.R).

The parameter tables of lavaan itself are fed to ``test_hypotheses``, so the
hypothesis layer is checked without running the engine.
"""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icaf_sem import load_questionnaire
from icaf_sem.errors import DataError, ModelSpecificationError
from icaf_sem.hypotheses import defined_effects, mediation_type, test_hypotheses

FIX = Path(__file__).parent / "fixtures" / "pipeline"


@pytest.fixture(scope="module")
def q():
    return load_questionnaire("questionnaires/icaf.yaml")


def _lavaan_table(rows):
    df = pd.DataFrame(rows)
    for c in ["est", "se", "z", "pvalue", "ci.lower", "ci.upper", "std.lv", "std.all"]:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df = df.rename(columns={"ci.lower": "ci_lower", "ci.upper": "ci_upper", "std.lv": "std_lv", "std.all": "std_all"})
    df["label"] = df["label"].fillna("")
    df["group"] = 1
    df["free"] = 1
    return df


@pytest.fixture(scope="module")
def fiml():
    return json.loads((FIX / "sim_wave_seed2024_fiml.json").read_text())


@pytest.fixture(scope="module")
def boot():
    return json.loads((FIX / "example_wave_boot_listwise.json").read_text())


def _r_row(table, lhs, op, rhs):
    t = table
    hit = t[(t.lhs == lhs) & (t.op == op) & (t.rhs == rhs)]
    if not len(hit) and op == "~~":
        hit = t[(t.lhs == rhs) & (t.op == op) & (t.rhs == lhs)]
    return hit.iloc[0]


def test_every_hypothesis_matches_lavaan(q, fiml):
    pt = _lavaan_table(fiml["parameters"])
    h = test_hypotheses(pt, q)
    assert list(h["id"]) == [x.id for x in q.hypotheses]
    for _, r in h.iterrows():
        ref = _r_row(pt, r["lhs"], r["op"], r["rhs"])
        assert r["est"] == pytest.approx(ref["est"], abs=1e-12)
        assert r["std_all"] == pytest.approx(ref["std_all"], abs=1e-12)
        assert r["se"] == pytest.approx(ref["se"], abs=1e-12)
        assert r["z"] == pytest.approx(ref["z"], rel=1e-4)
        assert r["pvalue"] == pytest.approx(ref["pvalue"], rel=1e-3, abs=1e-10)
        # normal-theory 95% interval as lavaan's ci.lower / ci.upper
        assert r["ci_lower"] == pytest.approx(ref["ci_lower"], abs=1e-6)
        assert r["ci_upper"] == pytest.approx(ref["ci_upper"], abs=1e-6)
        expected = (ref["pvalue"] < 0.05) and (r["expected_sign"] == "0" or np.sign(ref["est"]) == r_sign(r))
        assert bool(r["supported"]) == bool(expected)
        assert r["ci_method"] == "normal"
    # covariance hypotheses are found whatever the order of lhs/rhs
    assert set(h.loc[h["kind"] == "covariance", "path"]) == {"CR ~~ DC", "PR ~~ PC"}


def r_sign(r):
    return {"+": 1, "-": -1}[r["expected_sign"]]


def test_mediation_rows_use_defined_effects_and_direct_paths(q, fiml):
    pt = _lavaan_table(fiml["parameters"])
    h = test_hypotheses(pt, q).set_index("id")
    med = h[h["kind"] == "mediation"]
    assert len(med) == 6
    for hid, r in med.iterrows():
        hyp = q.hypothesis(hid)
        ref = pt[(pt.op == ":=") & (pt.lhs == hyp.lhs)].iloc[0]
        assert r["est"] == pytest.approx(ref["est"])
        direct = _r_row(pt, hyp.chain[-1], "~", hyp.chain[0])
        assert r["direct_est"] == pytest.approx(direct["est"])
        assert r["direct_std_all"] == pytest.approx(direct["std_all"])
        ind_sig = ref["pvalue"] < 0.05
        dir_sig = direct["pvalue"] < 0.05
        assert (r["mediation_type"], r["mediation_class"]) == mediation_type(ind_sig, dir_sig, ref["est"], direct["est"])
        assert np.isnan(r["boot_pct_lower"])


def test_bootstrap_intervals_decide_mediation(q, boot):
    """lavaan's percentile and bca.simple intervals flow into the table; the BC one decides."""
    perc = _lavaan_table(boot["percentile"])
    bc = _lavaan_table(boot["bias_corrected"])
    pt = perc.copy()
    pt["boot_se"] = perc["se"]
    pt["boot_pct_lower"], pt["boot_pct_upper"] = perc["ci_lower"], perc["ci_upper"]
    pt["boot_bc_lower"], pt["boot_bc_upper"] = bc["ci_lower"].to_numpy(), bc["ci_upper"].to_numpy()
    h = test_hypotheses(pt, q)
    assert h.attrs["bootstrap"] is True
    med = h[h["kind"] == "mediation"]
    for _, r in med.iterrows():
        ref_p = perc[(perc.op == ":=") & (perc.lhs == r["lhs"])].iloc[0]
        ref_b = bc[(bc.op == ":=") & (bc.lhs == r["lhs"])].iloc[0]
        assert r["boot_pct_lower"] == pytest.approx(ref_p["ci_lower"])
        assert r["boot_pct_upper"] == pytest.approx(ref_p["ci_upper"])
        assert r["boot_bc_lower"] == pytest.approx(ref_b["ci_lower"])
        assert r["boot_bc_upper"] == pytest.approx(ref_b["ci_upper"])
        assert r["ci_method"] == "bootstrap bias-corrected"
        assert (r["ci_lower"], r["ci_upper"]) == (r["boot_bc_lower"], r["boot_bc_upper"])
        assert r["significant"] == bool(ref_b["ci_lower"] > 0 or ref_b["ci_upper"] < 0)
        # the bias-corrected interval is not the percentile one
        assert r["boot_bc_lower"] != r["boot_pct_lower"]
    # paths keep the p-value decision and the normal-theory interval
    assert set(h.loc[h["kind"] == "path", "ci_method"]) == {"normal"}
    hp = test_hypotheses(pt, q, boot_ci="percentile")
    assert set(hp.loc[hp["kind"] == "mediation", "ci_method"]) == {"bootstrap percentile"}
    # another alpha: the 95% columns cannot decide at 99%, and there are no draws in a bare table
    # to compute the 99% interval from: refused rather than judged by a normal-theory interval
    from icaf_sem.errors import ModelSpecificationError
    with pytest.raises(ModelSpecificationError, match="99%"):
        test_hypotheses(pt, q, alpha=0.01)


def test_mediation_type_zhao_lynch_chen():
    assert mediation_type(True, False, 0.2, 0.01) == ("indirect-only", "full")
    assert mediation_type(True, True, 0.2, 0.3) == ("complementary", "partial")
    assert mediation_type(True, True, -0.2, 0.3) == ("competitive", "partial")
    assert mediation_type(False, True, 0.01, 0.3) == ("direct-only", "none")
    assert mediation_type(False, False, 0.01, 0.03) == ("no-effect", "none")
    assert mediation_type(True, None, 0.2, math.nan) == ("indirect-only", "full")


def _toy(q, est=0.3, se=0.1):
    """A parameter table holding every parameter the ICAF hypotheses name, all equal."""
    rows = []
    for h in q.hypotheses:
        rows.append({"lhs": h.lhs, "op": h.op, "rhs": h.rhs, "label": h.label or "", "est": est, "se": se,
                     "std_all": est / 2, "group": 0 if h.op == ":=" else 1})
    return pd.DataFrame(rows)


def test_sign_and_alpha_decide_support(q):
    t = _toy(q, est=0.3, se=0.1)          # z = 3, p = .0027
    h = test_hypotheses(t, q)
    neg = h["expected_sign"] == "-"
    assert (~h.loc[neg, "supported"]).all()        # significant but the wrong sign
    assert h.loc[neg, "significant"].all()
    assert h.loc[~neg, "supported"].all()
    h2 = test_hypotheses(t, q, alpha=0.001)
    assert not h2["supported"].any()
    t0 = _toy(q, est=0.0, se=0.1)
    assert not test_hypotheses(t0, q)["supported"].any()


def test_missing_parameter_and_bad_options(q):
    t = _toy(q)
    with pytest.raises(ModelSpecificationError, match="H1a"):
        test_hypotheses(t.iloc[1:], q)
    with pytest.raises(DataError, match="alpha"):
        test_hypotheses(t, q, alpha=5)
    with pytest.raises(DataError, match="boot_ci"):
        test_hypotheses(t, q, boot_ci="bca")
    with pytest.raises(DataError, match="SEMResult"):
        test_hypotheses(object(), q)


def test_defined_effects_lists_indirect_and_total(q, fiml):
    pt = _lavaan_table(fiml["parameters"])
    e = defined_effects(pt, q)
    assert set(e["kind"]) == {"indirect", "total"}
    assert list(e.loc[e["kind"] == "total", "name"]) == ["total_cr", "total_dc"]
    tot = e.set_index("name").loc["total_cr"]
    ref = pt[(pt.op == ":=") & (pt.lhs == "total_cr")].iloc[0]
    assert tot["est"] == pytest.approx(ref["est"])
    assert tot["std_all"] == pytest.approx(ref["std_all"])
