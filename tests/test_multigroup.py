"""Multi-group estimation pinned to lavaan 0.6-14 (tests/fixtures/multigroup, made by make_multigroup.R).

Each case: parameterEstimates (est, se, std.all per group), fitMeasures, the per-group
chi-square (lavInspect(fit, "test")$standard$stat.group) and R² per group.
"""
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import icaf_sem

HERE = Path(__file__).parent / "fixtures" / "multigroup"
FAST = ["hs_school_configural_ml", "hs_school_metric_ml", "hs_school_scalar_ml", "hs_school_strict_ml",
        "hs_school_configural_mlr", "hs_school_metric_mlr", "hs_school_scalar_mlr", "hs_school_strict_mlr",
        "hs_school_means_ml", "hs_school_lvvar_lvcov_ml", "hs_school_regressions_ml",
        "hs_school_resid_resid_cov_mlr", "hs_mcar_school_metric_fiml_ml", "hs_mcar_school_scalar_fiml_mlr",
        "api_only/hs_school_partial_scalar_ml", "api_only/hs_school_partial_metric_mlr",
        "api_only/icaf3_role_scalar_ml"]
FIT_ABS = {"cfi": 1e-3, "tli": 1e-3, "rmsea": 1e-3, "srmr": 1e-3, "cfi.robust": 2e-3, "tli.robust": 2e-3,
           "rmsea.robust": 2e-3, "cfi.scaled": 2e-3, "rmsea.scaled": 2e-3, "chisq.scaling.factor": 5e-3,
           "rmsea.ci.lower": 2e-3, "rmsea.ci.upper": 2e-3}
FIT_REL = {"chisq": 2e-3, "baseline.chisq": 2e-3, "chisq.scaled": 5e-3, "logl": 1e-5, "aic": 1e-5, "bic": 1e-5}
DATA = {}


def load(case):
    ref = json.loads((HERE / f"{case}.json").read_text())
    path = (HERE / ref["data"]).resolve()
    if path not in DATA:
        DATA[path] = pd.read_csv(path)
    return ref, DATA[path]


def fit_case(case):
    ref, data = load(case)
    o = ref["options"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = icaf_sem.fit(ref["model"], data, estimator=o["estimator"], missing=o.get("missing", "listwise"),
                           group=o["group"], group_equal=tuple(o.get("group_equal") or ()),
                           group_partial=tuple(o.get("group_partial") or ()), modindices=False)
    return ref, res


@pytest.fixture(scope="module", params=FAST)
def case(request):
    return fit_case(request.param)


def test_parameters_match_lavaan(case):
    ref, res = case
    got = {(r.lhs, r.op, r.rhs, int(r.group)): r for r in res.parameters.itertuples()}
    bad = []
    for p in ref["parameters"]:
        if p["op"] == "~1" and p["est"] == 0 and p["se"] == 0:
            continue
        g = got.get((p["lhs"], p["op"], p["rhs"], int(p["group"])))
        assert g is not None, f"missing {p['lhs']} {p['op']} {p['rhs']} group {p['group']}"
        if abs(g.est - p["est"]) > 1e-3 * max(1, abs(p["est"])):
            bad.append((p["lhs"], p["op"], p["rhs"], p["group"], "est", g.est, p["est"]))
        if p["se"] and abs(g.se - p["se"]) > max(1e-4, 1e-2 * p["se"]):
            bad.append((p["lhs"], p["op"], p["rhs"], p["group"], "se", g.se, p["se"]))
        if p["std.all"] is not None and abs(g.std_all - p["std.all"]) > 1e-3:
            bad.append((p["lhs"], p["op"], p["rhs"], p["group"], "std_all", g.std_all, p["std.all"]))
    assert not bad, bad[:5]


def test_fit_measures_match_lavaan(case):
    ref, res = case
    fm = res.fit_measures
    for k in ("npar", "df", "ntotal", "baseline.df"):
        assert round(fm[k]) == round(ref["fit"][k]), k
    for k, tol in FIT_ABS.items():
        want = ref["fit"].get(k)
        if want is not None:
            assert fm[k] == pytest.approx(want, abs=tol), k
    for k, tol in FIT_REL.items():
        want = ref["fit"].get(k)
        if want is not None:
            assert fm[k] == pytest.approx(want, rel=tol, abs=1e-3), k


def test_per_group_chisq_and_r2(case):
    ref, res = case
    assert [str(x) for x in res.group_labels] == [str(x) for x in ref["group_labels"]]
    by = res.fit_by_group.set_index("label")["chisq"]
    for lab, want in ref["chisq_by_group"].items():
        assert by[lab] == pytest.approx(want, rel=2e-3, abs=1e-3)
    assert by.sum() == pytest.approx(res.fit_measures["chisq"], rel=1e-8)
    for lab, r2 in ref["r2_by_group"].items():
        for var, want in r2.items():
            assert res.r2[(var, lab)] == pytest.approx(want, abs=1e-3), (var, lab)


def test_pooled_srmr_is_n_weighted():
    ref, res = fit_case("hs_school_scalar_ml")
    fg = res.fit_by_group
    pooled = (fg["srmr"] * fg["nobs"]).sum() / fg["nobs"].sum()
    assert pooled == pytest.approx(ref["fit"]["srmr"], abs=1e-4)


def test_group_order_is_first_appearance():
    ref, data = load("hs_school_configural_ml")
    flipped = pd.concat([data[data.school == "Grant-White"], data[data.school == "Pasteur"]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = icaf_sem.fit(ref["model"], flipped, group="school", modindices=False)
    assert res.group_labels == ["Grant-White", "Pasteur"]
    assert res.fit_measures["chisq"] == pytest.approx(ref["fit"]["chisq"], rel=1e-6)
