"""Issue 10, part B: ML-family estimators, se= and test= options, lavTestLRT, the Vuong test and
lavPredict, each refitted in process against lavaan 0.6-14 fixtures made by
``tests/fixtures/lavaan_parity2/make_parity2.R`` (no R needed here)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.errors import ModelSpecificationError
from lavaan_compare import FIX, deviations

P2 = FIX / "lavaan_parity2"
CASES = sorted(P2.glob("*.json"))
RESAMPLING = {"pd_sem_ml_bollen_stine", "pd_sem_ml_se_boot"}
TEST_FIELDS = [("stat", "stat"), ("df", "df"), ("pvalue", "pvalue"), ("scaling.factor", "scaling_factor"),
               ("shift.parameter", "shift_parameter"), ("trace.UGamma", "trace_ugamma"),
               ("trace.UGamma2", "trace_ugamma2")]


def _data(name):
    return pd.read_csv(FIX / "data" / name)


def _fit(ref, **extra):
    o = ref["options"] or {}
    kw = {k: o[k] for k in ("estimator", "se", "test", "group", "seed", "missing", "cluster") if k in o}
    data = _data(ref["data"])
    if "sampling_weights" in o:
        # the weight column of make_parity2.R
        data["wt"] = (1 + (data["id"] % 4) / 2 if o["weight_kind"] == "hs"
                      else 1 + (np.arange(1, len(data) + 1) % 3))
        kw["sampling_weights"] = "wt"
    if "cluster" in o:
        # the cluster column of make_parity2.R: consecutive ids (or rows) in clusters of `cluster_size`
        ids = np.arange(1, len(data) + 1) if o["cluster_id"] == "row" else data[o["cluster_id"]].to_numpy()
        data["clus"] = (ids - 1) // o["cluster_size"]
    if "bootstrap" in o:
        kw["bootstrap"] = o["bootstrap"]
    kw.update(extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return icaf_sem.fit(ref["model"], data, modindices=False, **kw)


def test_fixture_cases_present():
    names = {p.stem for p in CASES}
    assert {"clu_hs_ml", "clu_hs_mlm", "clu_hs_fiml_mlr", "con_pd_nonlinear", "con_hs_ineq_active",
            "wt_hs_ml", "wt_hs_fiml", "wt_hs_group"} <= names
    for must in ("hs_mlm", "hs_mlmv", "hs_mlmvs", "hs_mlf", "hs_ml_se_hw", "hs_ml_se_first_order",
                 "hs_ml_test_yb", "hs_ml_test_ybmplus", "hs_ml_test_mva", "hs_ml_test_ss", "pd_cov_mlm",
                 "hs_group_mlmv", "pd_sem_ml_bollen_stine", "pd_sem_ml_se_boot"):
        assert must in names


@pytest.mark.parametrize("path", [p for p in CASES if p.stem not in RESAMPLING], ids=lambda p: p.stem)
def test_estimator_se_test_against_lavaan(path):
    ref = json.loads(path.read_text())
    res = _fit(ref)
    dev = deviations(ref, res, check_mi=False)
    # every fit measure lavaan reports in the fixture must be there (same name), and close
    for k, want in ref["fit"].items():
        if want is None:
            continue
        have = res.fit_measures.get(k)
        if have is None:
            dev.append(f"fit {k} absent")
        elif not np.isclose(have, want, rtol=1e-4, atol=1e-5):
            dev.append(f"fit {k}: {have} vs {want}")
    mine = {t.test: t for t in res.test_results.values()}
    assert [t["test"] for t in ref["tests"]] == list(mine), "tests and their order as lavaan"
    # constrained optima (SLSQP here, nlminb.constr in lavaan) agree to about 1e-6
    rtol = 1e-4 if path.stem.startswith("con_") else 1e-5
    for t in ref["tests"]:
        m = mine[t["test"]]
        for rk, mk in TEST_FIELDS:
            want = t.get(rk)
            if want is None or (rk == "shift.parameter" and t["test"] != "scaled.shifted"):
                continue
            assert np.isclose(getattr(m, mk), want, rtol=rtol, atol=1e-7), (t["test"], rk, getattr(m, mk), want)
    se_none = (ref["options"] or {}).get("se") == "none"
    if se_none:
        assert res.parameters["se"][res.parameters["free"] > 0].isna().all()
    assert not dev, dev


def test_bollen_stine_within_monte_carlo_error():
    ref = json.loads((P2 / "pd_sem_ml_bollen_stine.json").read_text())
    res = _fit(ref)
    bs = res.test_results["bollen.stine"]
    want = next(t for t in ref["tests"] if t["test"] == "bollen.stine")
    assert bs.boot_length == want["boot.length"] == 1000
    # two independent sets of 1000 draws: sd of the difference <= sqrt(2 * .25 / 1000) = 0.022
    assert abs(bs.pvalue - want["pvalue"]) < 0.08
    assert bs.stat == pytest.approx(want["stat"], rel=1e-6)
    # the SEs stay the standard ones (bootstrap= only counts the Bollen-Stine draws)
    assert not deviations(ref, res, check_mi=False)
    # transformed data fit the model exactly: the bootstrap statistics centre near df
    assert abs(np.mean(bs.extra["boot_T"]) - ref["fit"]["df"]) < 0.25 * ref["fit"]["df"]


def test_bootstrap_se_within_monte_carlo_error():
    ref = json.loads((P2 / "pd_sem_ml_se_boot.json").read_text())
    res = _fit(ref)
    P = res.parameters
    got = {(r.lhs, r.op, r.rhs): r.se for r in P.itertuples()}
    n = 0
    for p in ref["parameters"]:
        if p["op"] in ("=~", "~") and p["se"]:
            # relative sd of a bootstrap SE with 1000 draws ~ 1/sqrt(2000) = 2.2 %; two of them
            assert got[(p["lhs"], p["op"], p["rhs"])] == pytest.approx(p["se"], rel=0.15)
            n += 1
    assert n >= 10


@pytest.mark.parametrize("path", sorted((P2 / "lrt").glob("*.json")), ids=lambda p: p.stem)
def test_compare_against_lavTestLRT(path):
    ref = json.loads(path.read_text())
    o = ref["options"]
    kw = {k: o[k] for k in ("estimator", "group") if k in o}
    data = _data(ref["data"])
    fits = [icaf_sem.fit(m, data, modindices=False, **kw) for m in ref["models"].values()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = icaf_sem.compare(*fits[::-1], names=list(ref["models"])[::-1])   # any order: sorted by df
    assert list(tab.index) == [r["model"] for r in ref["table"]]
    for row in ref["table"]:
        r = tab.loc[row["model"]]
        for k, c in [("Df", "df"), ("AIC", "aic"), ("BIC", "bic"), ("Chisq", "chisq"), ("chisq_diff", "chisq_diff"),
                     ("df_diff", "df_diff"), ("pvalue", "pvalue"), ("RMSEA", "rmsea")]:
            want = row.get(k)
            if want is None:
                assert c not in tab or np.isnan(r[c]), (row["model"], k)
                continue
            assert np.isclose(r[c], want, rtol=1e-5, atol=1e-6), (row["model"], k, r[c], want)


@pytest.mark.parametrize("path", sorted((P2 / "vuong").glob("*.json")), ids=lambda p: p.stem)
def test_vuong_against_worked_example(path):
    ref = json.loads(path.read_text())
    data = _data(ref["data"])
    a = icaf_sem.fit(ref["model_a"], data, modindices=False)
    b = icaf_sem.fit(ref["model_b"], data, modindices=False)
    from icaf_sem.compare import casewise_loglik, casewise_scores
    assert casewise_loglik(a)[:5] == pytest.approx(ref["loglik_casewise_a_head"], abs=1e-5)
    assert casewise_loglik(a).sum() == pytest.approx(a.fit_measures["logl"], rel=1e-9)
    # lavScores orders the columns as lavaan's parameter table: compare each row as a set
    assert np.sort(casewise_scores(a)[:3], 1) == pytest.approx(np.sort(np.array(ref["scores_a_head"]), 1), rel=1e-5, abs=1e-5)
    v = icaf_sem.vuong_test(a, b)
    assert v.attrs["omega2"] == pytest.approx(ref["omega2"], rel=1e-5)
    assert v.attrs["lambda"] == pytest.approx(np.array(ref["lambda"]), abs=1e-5)
    assert v.loc["variance", "statistic"] == pytest.approx(ref["variance_stat"], rel=1e-5)
    assert v.loc["variance", "pvalue"] == pytest.approx(max(ref["variance_pvalue"], 0.0), abs=1e-8)
    assert v.loc["lrt", "statistic"] == pytest.approx(ref["z"], rel=1e-5)
    assert v.loc["lrt", "pvalue_a"] == pytest.approx(ref["pvalue_a_better"], abs=1e-6)
    assert v.loc["lrt", "pvalue_b"] == pytest.approx(ref["pvalue_b_better"], abs=1e-6)


@pytest.mark.parametrize("path", sorted((P2 / "predict").glob("*.json")), ids=lambda p: p.stem)
def test_factor_scores_against_lavPredict(path):
    ref = json.loads(path.read_text())
    kw = {k: ref["options"][k] for k in ("missing",) if k in ref["options"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = icaf_sem.fit(ref["model"], _data(ref["data"]), modindices=False, **kw)
    for method in ("regression", "Bartlett"):
        fs = res.predict(method) if method == "regression" else icaf_sem.factor_scores(res, method)
        want = np.array(ref[method]["values"], dtype=float)
        got = fs[ref[method]["columns"]].to_numpy()
        assert got.shape == want.shape
        assert np.array_equal(np.isnan(got), np.isnan(want))
        assert np.nanmax(np.abs(got - want)) < 1e-4


HS3 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


@pytest.mark.parametrize("kw, words", [
    (dict(estimator="WLSMV"), "estimator"),
    (dict(se="sandwich"), "se="),
    (dict(test="browne.residual.adf"), "test="),
    (dict(estimator="MLM", se="bootstrap"), "bootstrap"),
    (dict(estimator="MLF", test="satorra.bentler"), "first-order"),
    (dict(cluster="school", estimator="MLMV"), "cluster"),
    (dict(cluster="school", test="scaled.shifted"), "cluster"),
    (dict(cluster="school", bootstrap=10), "bootstrap"),
    (dict(sampling_weights="ageyr", estimator="MLM"), "sampling_weights"),
    (dict(sampling_weights="nonexistent"), "sampling_weights"),
    (dict(sampling_weights="grade"), "missing"),
    (dict(missing="ml", test="yuan.bentler"), "missing"),
])
def test_refusals_name_the_option(kw, words):
    with pytest.raises(icaf_sem.errors.IcafError, match=words):
        icaf_sem.fit(HS3, _data("holzinger_swineford_1939.csv"), **kw)


CON = "visual =~ x1 + a*x2 + b*x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\nb < a"


@pytest.mark.parametrize("kw, words", [
    (dict(bootstrap=20), "bootstrap"),
    (dict(estimator="MLM"), "constraints"),
    (dict(test="bollen.stine"), "bootstrap"),
])
def test_constraints_refuse_unsupported_options(kw, words):
    with pytest.raises(ModelSpecificationError, match=words):
        icaf_sem.fit(CON, _data("holzinger_swineford_1939.csv"), **kw)


def test_constraint_fit_active_set_and_json():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = icaf_sem.fit(CON, _data("holzinger_swineford_1939.csv"))
    P = res.parameters.set_index(["lhs", "op", "rhs"])
    assert P.loc[("visual", "=~", "x2"), "est"] == pytest.approx(P.loc[("visual", "=~", "x3"), "est"], abs=1e-6)
    js = res.to_dict()                       # modification indices are refused, the fit is kept
    assert js["modindices"] == [] and any("modification indices" in w for w in js["warnings"])


def test_mlm_with_fiml_switches_to_listwise_with_warning():
    d = _data("hs_mcar10.csv")
    with pytest.warns(icaf_sem.errors.DataWarning, match="listwise"):
        res = icaf_sem.fit(HS3, d, estimator="MLM", missing="ml", modindices=False)
    assert res.missing == "listwise" and res.nobs == int(d[[f"x{i}" for i in range(1, 10)]].notna().all(1).sum())


def test_compare_refuses_mismatched_models():
    d = _data("holzinger_swineford_1939.csv")
    a = icaf_sem.fit(HS3, d, modindices=False)
    b = icaf_sem.fit(HS3, d, estimator="MLM", modindices=False)
    with pytest.raises(ModelSpecificationError, match="estimators"):
        icaf_sem.compare(a, b)
    with pytest.raises(ModelSpecificationError, match="two"):
        icaf_sem.compare(a)


# ----------------------------------------------------------------------------- CLI
class _Run:
    def __init__(self, returncode, stderr):
        self.returncode, self.stderr = returncode, stderr


def _cli(*args):
    """Run the CLI in process (its start-up is tested in test_cli_fit.py); capture stderr."""
    import contextlib
    import io
    from icaf_sem import cli
    err = io.StringIO()
    saved = warnings.showwarning
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                rc = cli.main(list(args))
            except SystemExit as exc:
                rc = exc.code
    finally:
        warnings.showwarning = saved
    return _Run(rc, err.getvalue())


def test_cli_fit_estimator_test_and_scores(tmp_path):
    ref = json.loads((P2 / "hs_mlmv.json").read_text())
    m = tmp_path / "m.lav"
    m.write_text(ref["model"])
    out, fs = tmp_path / "fit.json", tmp_path / "fs.csv"
    r = _cli("fit", "--model", str(m), "--data", str(FIX / "data" / ref["data"]), "--estimator", "mlmv",
             "--test", "satorra.bentler", "--factor-scores", str(fs), "--no-modindices", "--json", str(out))
    assert r.returncode == 0, r.stderr
    js = json.loads(out.read_text())
    assert js["estimator"] == "MLMV" and js["se"] == "robust.sem"
    assert [t["test"] for t in js["tests"]] == ["standard", "scaled.shifted", "satorra.bentler"]
    assert js["fit"]["chisq.scaled"] == pytest.approx(ref["fit"]["chisq.scaled"], rel=1e-5)
    scores = pd.read_csv(fs)
    assert list(scores.columns) == ["visual", "textual", "speed"] and len(scores) == 301


def test_cli_compare_and_refusal(tmp_path):
    ref = json.loads((P2 / "lrt" / "hs_mlm.json").read_text())
    args = []
    for name, model in ref["models"].items():
        p = tmp_path / f"{name}.lav"
        p.write_text(model)
        args += ["--model", str(p), "--name", name]
    out = tmp_path / "cmp.json"
    r = _cli("compare", *args, "--data", str(FIX / "data" / ref["data"]), "--estimator", "MLM", "--json", str(out))
    assert r.returncode == 0, r.stderr
    js = json.loads(out.read_text())
    assert js["method"] == "satorra.bentler.2001"
    assert js["table"][1]["chisq_diff"] == pytest.approx(ref["table"][1]["chisq_diff"], rel=1e-5)
    r = _cli("compare", *args[:4], "--data", str(FIX / "data" / ref["data"]), "--vuong", "--cluster", "x",
             "--json", str(out))        # no such cluster column
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    r = _cli("fit", "--model", args[1], "--data", str(FIX / "data" / ref["data"]), "--cluster", "schoool",
             "--json", str(tmp_path / "x.json"))
    assert r.returncode == 2 and "cluster" in r.stderr and not (tmp_path / "x.json").exists()
    r = _cli("fit", "--model", args[1], "--data", str(FIX / "data" / ref["data"]), "--cluster", "school",
             "--json", str(tmp_path / "x.json"))
    assert r.returncode == 0 and json.loads((tmp_path / "x.json").read_text())["se"] == "robust.cluster"
