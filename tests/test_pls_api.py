"""icaf_sem.pls: bad input, options, bootstrap, PLSpredict, result object and CLI."""
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.errors import (CollinearityWarning, ConvergenceWarning, DataError, ModelSpecificationError,
                             ModelSyntaxError)

FIX = Path(__file__).parent / "fixtures" / "pls"
PD_MODEL = json.loads((FIX / "pd_pls.json").read_text())["model"]
ICAF = json.loads((FIX / "icaf_wave1_pls.json").read_text())
HOC = json.loads((FIX / "icaf_wave1_pls_hoc.json").read_text())


@pytest.fixture(scope="module")
def pd_data():
    return pd.read_csv(FIX / "political_democracy.csv")


@pytest.fixture(scope="module")
def icaf_data():
    return pd.read_csv(FIX / "icaf_wave1_clean.csv")


def quiet(*a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return icaf_sem.pls(*a, **k)


# ----------------------------------------------------------------------------------------------- bad input
def test_constant_indicator(pd_data):
    d = pd_data.copy()
    d["x2"] = 3.0
    with pytest.raises(DataError, match="x2.*constant"):
        icaf_sem.pls(PD_MODEL, d)


def test_construct_without_indicators(pd_data):
    with pytest.raises(ModelSpecificationError, match="'dem70'.*no indicators"):
        icaf_sem.pls(PD_MODEL + "\ndem70 ~ dem65", pd_data)


def test_disconnected_construct(pd_data):
    with pytest.raises(ModelSpecificationError, match="'extra'.*no structural path"):
        icaf_sem.pls(PD_MODEL + "\nextra =~ y1b", pd_data.assign(y1b=pd_data["y1"]))


def test_cycle(pd_data):
    with pytest.raises(ModelSpecificationError, match="cycle"):
        icaf_sem.pls(PD_MODEL + "\nind60 ~ dem65", pd_data)


def test_formative_collinear_warns(pd_data):
    rng = np.random.default_rng(1)
    d = pd_data.assign(x4=pd_data["x1"] + pd_data["x2"] + rng.normal(0, 0.05, len(pd_data)))
    model = PD_MODEL.replace("ind60 =~ x1 + x2 + x3", "ind60 <~ x1 + x2 + x3 + x4")
    with pytest.warns(CollinearityWarning, match="ind60.*VIF above 10"):
        res = icaf_sem.pls(model, d)
    assert any("VIF above 10" in w for w in res.warnings)


def test_formative_perfectly_collinear_refused(pd_data):
    d = pd_data.assign(x4=pd_data["x1"] + pd_data["x2"])
    model = PD_MODEL.replace("ind60 =~ x1 + x2 + x3", "ind60 <~ x1 + x2 + x3 + x4")
    with pytest.raises(ModelSpecificationError, match="perfectly collinear"):
        icaf_sem.pls(model, d)


def test_nonconvergence_warns(icaf_data):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = icaf_sem.pls(ICAF["model"], icaf_data, max_iter=2)
    assert not res.converged and res.to_dict()["converged"] is False


@pytest.mark.parametrize("model,err,msg", [
    ("ind60 =~ x1 + x2\ndem60 =~ y1\ndem60 ~~ ind60", ModelSyntaxError, "not part of PLS-SEM"),
    ("ind60 =~ 0.5*x1 + x2\ndem60 =~ y1\ndem60 ~ ind60", ModelSyntaxError, "labels, fixed values"),
    ("ind60 =~ x1 + x2\ndem60 =~ x2 + y1\ndem60 ~ ind60", ModelSpecificationError, "belongs to both"),
    ("", ModelSyntaxError, "empty"),
])
def test_syntax_errors(pd_data, model, err, msg):
    with pytest.raises(err, match=msg):
        icaf_sem.pls(model, pd_data)


def test_missing_column_and_text(pd_data):
    with pytest.raises(DataError, match="x9"):
        icaf_sem.pls(PD_MODEL.replace("x3", "x9"), pd_data)
    d = pd_data.astype({"x1": object})
    d.loc[3, "x1"] = "n/a?"
    with pytest.raises(DataError, match="x1.*text"):
        icaf_sem.pls(PD_MODEL, d)


@pytest.mark.parametrize("kw", [{"scheme": "pathway"}, {"missing": "fiml"}, {"bootstrap": -5}, {"alpha": "5%"}, {"tol": 0},
                                {"sign_change": "flip"}, {"ci": "normal"}, {"predict": "holdout"},
                                {"hoc": "embedded"}])
def test_bad_options(pd_data, kw):
    with pytest.raises(ModelSpecificationError, match=list(kw)[0]):
        icaf_sem.pls(PD_MODEL, pd_data, **kw)


# ----------------------------------------------------------------------------------------------- estimation
def _naive_pls(Z, blocks, modes, paths, scheme, tol=1e-7, max_iter=300):
    """A direct data-matrix implementation of Lohmoeller's algorithm (scores, proxies, weights), used
    to check the batched correlation-matrix implementation (centroid scheme has no seminr reference)."""
    K = len(blocks)
    n = Z.shape[0]
    W = [np.ones(len(b)) for b in blocks]

    def scores(W):
        Y = np.column_stack([Z[:, b] @ w for b, w in zip(blocks, W)])
        return Y / Y.std(axis=0, ddof=1)

    adj = np.zeros((K, K))
    for dv, iv in paths:
        adj[iv, dv] = adj[dv, iv] = 1
    for _ in range(max_iter):
        Y = scores(W)
        R = np.corrcoef(Y, rowvar=False)
        E = {"factor": R * adj, "centroid": np.sign(R) * adj}.get(scheme)
        if E is None:
            E = R * adj
            for j in range(K):
                pr = [iv for dv, iv in paths if dv == j]
                if pr:
                    E[pr, j] = np.linalg.solve(R[np.ix_(pr, pr)], R[pr, j])
        P = Y @ E
        new = []
        for k, b in enumerate(blocks):
            c = Z[:, b].T @ P[:, k] / (n - 1)
            w = c if modes[k] == "A" else np.linalg.solve(np.corrcoef(Z[:, b], rowvar=False), c)
            new.append(w / (Z[:, b] @ w).std(ddof=1))
        diff = max(np.abs(a - b).max() for a, b in zip(new, W))
        W = new
        if diff < tol:
            break
    return W


@pytest.mark.parametrize("scheme", ["centroid", "factor", "path"])
def test_schemes_match_direct_implementation(pd_data, scheme):
    model = PD_MODEL.replace("dem60 =~", "dem60 <~")
    res = icaf_sem.pls(model, pd_data, scheme=scheme)
    items = ["x1", "x2", "x3", "y1", "y2", "y3", "y4", "y5", "y6", "y7", "y8"]
    X = pd_data[items].to_numpy(float)
    Z = (X - X.mean(0)) / X.std(0, ddof=1)
    blocks = [[0, 1, 2], [3, 4, 5, 6], [7, 8, 9, 10]]
    W = _naive_pls(Z, blocks, ["A", "B", "A"], [(1, 0), (2, 0), (2, 1)], scheme)
    np.testing.assert_allclose(res.weights["est"].to_numpy(), np.concatenate(W), atol=1e-6)


def test_mean_replacement(pd_data):
    d = pd_data.copy()
    d.loc[[2, 7], "y3"] = np.nan
    d.loc[5, "x1"] = np.nan
    res = icaf_sem.pls(PD_MODEL, d, missing="mean")
    filled = d.fillna(d.mean(numeric_only=True))
    ref = icaf_sem.pls(PD_MODEL, filled)
    assert res.nobs == 75 and ref.nobs == 75
    np.testing.assert_allclose(res.paths["est"], ref.paths["est"], atol=1e-12)
    with pytest.warns(Warning, match="3 row"):
        lw = icaf_sem.pls(PD_MODEL, d)
    assert lw.nobs == 72 and lw.n_dropped == 3


def test_effects_match_reference_total_effects(icaf_data):
    res = icaf_sem.pls(ICAF["model"], icaf_data.dropna(subset=[c for c in icaf_data if c[-1].isdigit()]))
    eff = res.effects.set_index(["lhs", "rhs"])
    for row in ICAF["total_effects"]:
        assert eff.loc[(row["lhs"], row["rhs"]), "total"] == pytest.approx(row["est"], abs=1e-10)
    # indirect effects: the sum of the specific routes
    sp = res.specific_indirect
    for (dv, iv), r in eff.iterrows():
        s = sp[(sp["from"] == iv) & (sp["to"] == dv)]["est"].sum()
        assert r["indirect"] == pytest.approx(s, abs=1e-12)
    assert len(sp) == 18  # 6 antecedents x 3 mediators


def test_repeated_indicators_equals_explicit_model(icaf_data):
    d = icaf_data.dropna()
    res = icaf_sem.pls(HOC["model"], d, hoc="repeated_indicators")
    # the same model written out with duplicated columns
    cr = ["bc1", "bc2", "bc3", "ce1", "ce2", "ce3", "cs1", "cs2", "cs3"]
    dc = ["dq1", "dq2", "dq3", "dq4", "pm1", "pm2", "pm3", "as1", "as2", "as3"]
    d2 = d.assign(**{f"{c}_r": d[c] for c in cr + dc})
    lines = [l for l in HOC["model"].splitlines() if not l.startswith(("CR =~", "DC =~"))]
    lines += ["CR =~ " + " + ".join(f"{c}_r" for c in cr), "DC =~ " + " + ".join(f"{c}_r" for c in dc)]
    lines += [f"{x} ~ CR" for x in ("BC", "CE", "CS")] + [f"{x} ~ DC" for x in ("DQ", "PM", "AS")]
    ref = icaf_sem.pls("\n".join(lines), d2)
    a = res.paths.set_index(["lhs", "rhs"])["est"]
    b = ref.paths.set_index(["lhs", "rhs"])["est"]
    for k in b.index:
        assert a[k] == pytest.approx(b[k], abs=1e-10)


# ----------------------------------------------------------------------------------------------- bootstrap
def test_bootstrap_reproducible_and_worker_independent(pd_data):
    a = quiet(PD_MODEL, pd_data, bootstrap=600, seed=7)
    b = quiet(PD_MODEL, pd_data, bootstrap=600, seed=7, n_jobs=2)
    c = quiet(PD_MODEL, pd_data, bootstrap=600, seed=8)
    pd.testing.assert_frame_equal(a.bootstrap, b.bootstrap)
    assert not np.allclose(a.bootstrap["se"], c.bootstrap["se"])
    kinds = set(a.bootstrap["kind"])
    assert {"path", "loading", "weight", "total", "indirect", "r2", "htmt"} <= kinds
    t = a.bootstrap
    assert np.all(t["perc_lower"] <= t["perc_upper"]) and np.all(t["bca_lower"] <= t["bca_upper"])
    row = t[(t["kind"] == "path") & (t["lhs"] == "dem65") & (t["rhs"] == "ind60")].iloc[0]
    assert row["t"] == pytest.approx(row["est"] / row["se"])
    # studentized: est -/+ t(0.975, B - 1) se
    from scipy import stats
    q = stats.t.ppf(0.975, 599)
    assert row["stud_lower"] == pytest.approx(row["est"] - q * row["se"])
    assert row["pvalue"] == pytest.approx(2 * stats.t.sf(abs(row["t"]), 599))


def test_bootstrap_percentile_is_type7_quantile(pd_data):
    from icaf_sem.pls.bootstrap import summarize
    draws = np.random.default_rng(3).normal(size=(101, 2))
    tab = summarize([("path", "a", "~", "b"), ("path", "c", "~", "d")], np.zeros(2), draws)
    srt = np.sort(draws[:, 0])
    assert tab["perc_lower"][0] == pytest.approx(srt[2] + 0.5 * (srt[3] - srt[2]))  # h = 100 * 0.025 = 2.5


def test_bootstrap_sign_change(pd_data):
    model = PD_MODEL.replace("ind60 =~ x1 + x2 + x3", "ind60 =~ x1 + x2 + x3b")
    d = pd_data.assign(x3b=-pd_data["x3"])
    none = quiet(model, d, bootstrap=300, seed=1)
    ind = quiet(model, d, bootstrap=300, seed=1, sign_change="individual")
    con = quiet(model, d, bootstrap=300, seed=1, sign_change="construct")
    for r in (none, ind, con):
        assert r.bootstrap_info["used"] == 300
    w = ind.bootstrap[ind.bootstrap["kind"] == "loading"]
    # individual sign change: every draw has the sign of the original, so the mean keeps it
    assert np.all(np.sign(w["boot_mean"]) == np.sign(w["est"]))


def test_bootstrap_failed_draws_counted():
    rng = np.random.default_rng(5)
    n = 25
    d = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a1", "a2", "b1", "b2"])
    d["a2"] = 0.0
    d.loc[0, "a2"] = 1.0            # one non-zero value: constant in about 37 % of the resamples
    with pytest.warns(ConvergenceWarning, match="draws failed"):
        res = icaf_sem.pls("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A", d, bootstrap=200, seed=2)
    info = res.bootstrap_info
    assert 40 < info["failed"] < 120 and info["used"] == 200 - info["failed"]


# ----------------------------------------------------------------------------------------------- predict
def test_kfold_predict_seeded_and_loo_equivalence(pd_data):
    a = icaf_sem.pls(PD_MODEL, pd_data, predict=5, predict_repetitions=3, seed=4).predict
    b = icaf_sem.pls(PD_MODEL, pd_data, predict=5, predict_repetitions=3, seed=4).predict
    pd.testing.assert_frame_equal(a, b)
    loo = icaf_sem.pls(PD_MODEL, pd_data, predict="loo").predict
    k_n = icaf_sem.pls(PD_MODEL, pd_data, predict=75, predict_repetitions=1, seed=1).predict
    np.testing.assert_allclose(loo["rmse"], k_n["rmse"], rtol=1e-10)
    np.testing.assert_allclose(loo["lm_rmse"], k_n["lm_rmse"], rtol=1e-10)


def test_loo_prediction_equals_separate_fit(pd_data):
    from icaf_sem.pls.predict import pls_predict
    from icaf_sem.pls.spec import parse_pls_model
    spec = parse_pls_model(PD_MODEL)
    items = spec.items
    X = pd_data[items].to_numpy(float)
    _, pred = pls_predict(X, spec, items)
    i = 10
    train = pd_data.drop(index=i)
    fit = icaf_sem.pls(PD_MODEL, train)
    mu, sd = train[items].mean(), train[items].std(ddof=1)
    z = (pd_data.loc[i, items] - mu) / sd
    w = fit.weights.set_index("rhs")["est"]
    sc = {c: sum(z[x] * w[x] for x in spec.blocks[c]) for c in spec.constructs}
    b = fit.paths.set_index(["lhs", "rhs"])["est"]
    eta = sc["ind60"] * b[("dem65", "ind60")] + sc["dem60"] * b[("dem65", "dem60")]
    lam = fit.loadings.set_index("rhs")["est"]
    y5 = eta * lam["y5"] * sd["y5"] + mu["y5"]
    assert pred["pls"][i, pred["items"].index("y5")] == pytest.approx(y5, abs=1e-10)


# ----------------------------------------------------------------------------------------------- result
def test_result_tables(icaf_data):
    res = icaf_sem.pls(HOC["model"], icaf_data.dropna(), predict=None)
    cl = res.cross_loadings
    out = res.outer.set_index(["lhs", "rhs"])["loading"]
    assert cl.loc["eb1", "EB"] == pytest.approx(out[("EB", "eb1")])
    assert cl.loc["bc1", "BC"] == pytest.approx(out[("BC", "bc1")])
    fl = res.fornell_larcker
    assert fl.loc["EB", "EB"] == pytest.approx(np.sqrt(res.reliability.loc["EB", "ave"]))
    assert fl.loc["PW", "EB"] == pytest.approx(res.construct_correlations.loc["PW", "EB"])
    h2 = res.htmt2
    assert np.isfinite(h2.loc["PW", "EB"]) and abs(h2.loc["PW", "EB"] - res.htmt.loc["PW", "EB"]) < 0.1
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert "Structural paths" in res.summary() and "<table" in res._repr_html_()
    assert res.scores.shape == (204, 12)
    np.testing.assert_allclose(res.scores.std(ddof=1), 1.0)


def test_cli_pls(tmp_path, pd_data):
    model = tmp_path / "m.lav"
    model.write_text(PD_MODEL)
    data = tmp_path / "d.csv"
    pd_data.to_csv(data, index=False)
    out = tmp_path / "o.json"
    r = subprocess.run([sys.executable, "-m", "icaf_sem", "pls", "--model", str(model), "--data", str(data),
                        "--bootstrap", "100", "--seed", "3", "--predict", "loo", "--json", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(out.read_text())
    assert got["paths"][0]["se"] > 0 and "y5" in got["predict"]



def test_cli_pls_bad_model(tmp_path, pd_data, capsys):
    from icaf_sem.cli import main
    model = tmp_path / "m.lav"
    model.write_text(PD_MODEL + "\nind60 ~ dem65")
    data = tmp_path / "d.csv"
    pd_data.to_csv(data, index=False)
    rc = main(["pls", "--model", str(model), "--data", str(data), "--json", str(tmp_path / "x.json")])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "cycle" in err
    assert not (tmp_path / "x.json").exists()


def test_questionnaire_pls_syntax(icaf_data):
    q = icaf_sem.load_questionnaire("icaf")
    text = q.pls_syntax()
    assert sorted(text.splitlines()) == sorted(HOC["model"].splitlines())
    assert "CR <~ BC + CE + CS" in q.pls_syntax(formative=("CR",))
    from icaf_sem.errors import QuestionnaireError
    with pytest.raises(QuestionnaireError, match="XX"):
        q.pls_syntax(formative=("XX",))
    res = icaf_sem.pls(text, icaf_data.dropna())
    ref = {(p["lhs"], p["rhs"]): p["est"] for p in HOC["paths"]}
    for r in res.paths.itertuples():
        assert r.est == pytest.approx(ref[(r.lhs, r.rhs)], abs=1e-6)


# ----------------------------------------------------------------------------------------------- IPMA
def _ols_total_effects(scores, names, paths):
    """Unstandardized total effects from OLS (with intercept) on the 0-100 construct scores."""
    K = len(names)
    B = np.zeros((K, K))
    for dv in {d for d, _ in paths}:
        ivs = [iv for d, iv in paths if d == dv]
        A = np.column_stack([np.ones(len(scores[dv]))] + [scores[i] for i in ivs])
        coef = np.linalg.lstsq(A, scores[dv], rcond=None)[0][1:]
        for iv, c in zip(ivs, coef):
            B[names.index(iv), names.index(dv)] = c
    return np.linalg.inv(np.eye(K) - B) - np.eye(K)


@pytest.mark.parametrize("case", ["icaf_wave1_pls", "icaf_wave1_pls_hoc"])
def test_ipma_matches_direct_computation(icaf_data, case):
    ref = ICAF if case == "icaf_wave1_pls" else HOC
    d = icaf_data.dropna()
    res = icaf_sem.pls(ref["model"], d)
    ip = res.ipma("PW", scale_min=1, scale_max=7)
    spec = res.spec
    w = res.outer.set_index(["lhs", "rhs"])["weight"]
    scores = {}

    def rescaled(c):                      # 0-100 score: weights w / sd(x~) normalized to sum 1
        if c in scores:
            return scores[c]
        cols = [rescaled(i) if i in spec.blocks else (d[i].to_numpy(float) - 1) / 6 * 100 for i in spec.blocks[c]]
        raw = np.array([w[(c, i)] / x.std(ddof=1) for i, x in zip(spec.blocks[c], cols)])
        scores[c] = np.column_stack(cols) @ (raw / raw.sum())
        return scores[c]

    names = [c for c in spec.constructs if not any(c in spec.blocks[h] for h in spec.hoc)]
    for c in names:
        rescaled(c)
    T = _ols_total_effects(scores, names, spec.paths)
    for c, row in ip.constructs.iterrows():
        assert row["importance"] == pytest.approx(T[names.index(c), names.index("PW")], abs=1e-9)
        assert row["performance"] == pytest.approx(scores[c].mean(), abs=1e-9)
    assert "pw1" not in ip.indicators.index
    assert ip.indicators.loc["eb1", "performance"] == pytest.approx(((d["eb1"] - 1) / 6 * 100).mean())
    for c, g in ip.indicators.groupby("construct"):
        if c in ip.constructs.index:
            assert g["weight"].sum() == pytest.approx(1.0)
            assert g["importance"].sum() == pytest.approx(ip.constructs.loc[c, "importance"])
    with pytest.raises(ModelSpecificationError, match="exogenous"):
        res.ipma(spec.paths[0][1])


# ----------------------------------------------------------------------------------------------- CVPAT
@pytest.mark.parametrize("case", ["pd", "icaf_wave1"])
def test_cvpat_matches_seminrextras(case):
    ref = json.loads((FIX / "cvpat" / f"{case}.json").read_text())
    data = pd.read_csv(FIX / ref["data"])
    res = icaf_sem.pls(ref["model"], data.dropna(subset=[c for c in data if c[-1].isdigit()]))
    tab = res.cvpat(nboot=ref["nboot"], seed=ref["seed"]).set_index(["benchmark", "construct"])
    assert len(tab) == len(ref["rows"])
    for r in ref["rows"]:
        got = tab.loc[(r["benchmark"], r["construct"])]
        for k in ("pls_loss", "benchmark_loss", "diff"):
            assert got[k] == pytest.approx(r[k], rel=1e-6)   # LOO refits converge to 1e-7
        # the same bootstrap index matrix was injected into seminrExtras (numpy default_rng stream)
        assert got["t"] == pytest.approx(r["t"], rel=1e-6)
        assert got["pvalue"] == pytest.approx(r["pvalue"], rel=1e-5, abs=1e-12)


# ----------------------------------------------------------------------------------------------- MGA
@pytest.mark.parametrize("case", ["pd_evenodd", "icaf_wave1_role"])
def test_mga_matches_seminr_henseler(case):
    ref = json.loads((FIX / "mga" / f"{case}.json").read_text())
    data = pd.read_csv(FIX / ref["data"])
    col, a, b = ref["grouping"]
    if col == "grp":
        data = data.dropna().reset_index(drop=True)
        data["grp"] = np.where(np.arange(len(data)) % 2 == 0, "even", "odd")
    res = icaf_sem.pls_mga(ref["model"], data, col, groups=(a, b), permutations=0, bootstrap=ref["nboot"],
                           seed=ref["seed"])
    assert list(res.n.values()) == ref["n"]
    got = res.paths.set_index(["lhs", "rhs"])
    assert res.info["failed_bootstrap"] == 0
    for r in ref["paths"]:
        g = got.loc[(r["lhs"], r["rhs"])]
        for k in ("est", "est_group1", "est_group2", "diff"):
            assert g[k] == pytest.approx(r[k], abs=1e-6)
        # the same resamples; a few draws that stop at the iteration limit differ slightly between the tools
        assert g["boot_mean_group1"] == pytest.approx(r["boot_mean_group1"], abs=1e-4)
        assert g["boot_mean_group2"] == pytest.approx(r["boot_mean_group2"], abs=1e-4)
        assert g["henseler_pvalue"] == pytest.approx(r["henseler_pvalue"], abs=2e-3)


def test_micom_originals_direct(icaf_data):
    d = icaf_data.dropna()
    d = d[d["role"].isin(["user", "provider"])]
    res = icaf_sem.pls_mga(ICAF["model"], d, "role", groups=("user", "provider"), permutations=200, bootstrap=0,
                           seed=1)
    items = [c for c in d.columns if c[-1].isdigit()]
    Z = (d[items] - d[items].mean()) / d[items].std(ddof=1)
    w = {g: icaf_sem.pls(ICAF["model"], d[d["role"] == g]).weights.set_index("rhs")["est"] for g in ("user", "provider")}
    pooled = icaf_sem.pls(ICAF["model"], d)
    spec = pooled.spec
    y = pooled.scores
    for c in spec.constructs:
        s1 = Z[spec.blocks[c]] @ w["user"][spec.blocks[c]]
        s2 = Z[spec.blocks[c]] @ w["provider"][spec.blocks[c]]
        assert res.micom_step2.loc[c, "c"] == pytest.approx(np.corrcoef(s1, s2)[0, 1], abs=1e-9)
        u = (d["role"] == "user").to_numpy()
        assert res.micom_step3.loc[c, "mean_diff"] == pytest.approx(y[c][u].mean() - y[c][~u].mean(), abs=1e-9)
        assert res.micom_step3.loc[c, "logvar_diff"] == pytest.approx(
            np.log(y[c][u].var(ddof=1)) - np.log(y[c][~u].var(ddof=1)), abs=1e-9)
    t2, t3 = res.micom_step2, res.micom_step3
    assert ((t2["pvalue"] >= 0) & (t2["pvalue"] <= 1)).all() and (t3["mean_lower"] < t3["mean_upper"]).all()
    assert "permutation_pvalue" in res.paths and res.to_dict()["info"]["permutations"] == 200


def test_mga_bad_groups(icaf_data):
    with pytest.raises(DataError, match="3 groups"):
        icaf_sem.pls_mga(ICAF["model"], icaf_data, "role")
    with pytest.raises(DataError, match="no such column"):
        icaf_sem.pls_mga(ICAF["model"], icaf_data, "sector")


def test_predict_refused_with_repeated_indicators(icaf_data):
    with pytest.raises(ModelSpecificationError, match="repeated_indicators"):
        icaf_sem.pls(HOC["model"], icaf_data.dropna(), hoc="repeated_indicators", predict="loo")


def test_plsc_negative_rho_a_refused():
    rng = np.random.default_rng(11)
    n = 300
    xy = rng.multivariate_normal([0, 0], [[1, -0.4], [-0.4, 1]], size=n)
    t = xy.sum(axis=1)
    d = pd.DataFrame({"a1": xy[:, 0] + rng.normal(0, .3, n), "a2": xy[:, 1] + rng.normal(0, .3, n),
                      "b1": t + rng.normal(0, .5, n), "b2": t + rng.normal(0, .5, n)})
    model = "A =~ a1 + a2\nB =~ b1 + b2\nB ~ A"
    icaf_sem.pls(model, d)                                  # fine as a composite model
    from icaf_sem.errors import EstimationError
    with pytest.raises(EstimationError, match="rho_A of 'A' is not positive"):
        icaf_sem.pls(model, d, consistent=True)


def test_cli_pls_ipma_cvpat_mga(tmp_path, icaf_data):
    from icaf_sem.cli import main
    model = tmp_path / "m.lav"
    model.write_text(ICAF["model"])
    data = tmp_path / "d.csv"
    icaf_data.to_csv(data, index=False)
    out = tmp_path / "o.json"
    rc = main(["pls", "--model", str(model), "--data", str(data), "--ipma", "PW", "--scale-min", "1",
               "--scale-max", "7", "--cvpat", "100", "--group", "role", "--groups", "user,provider",
               "--permutations", "50", "--bootstrap", "50", "--seed", "1", "--json", str(out)])
    assert rc == 0
    got = json.loads(out.read_text())
    assert {r["construct"] for r in got["ipma"]["constructs"]} == {"BC", "CE", "CS", "DQ", "PM", "AS", "EB", "PR", "PC"}
    assert {r["benchmark"] for r in got["cvpat"]} == {"LM", "IA"}
    assert len(got["mga"]["paths"]) == 27 and "index" not in got["mga"]["paths"][0]


@pytest.mark.parametrize("case", ["pd_plsc", "icaf_wave1_hoc"])
def test_bootstrap_same_resamples_as_seminr(case):
    """seminr bootstrapped the resamples icaf_sem draws (make_seminr_fixtures.py injects them)."""
    ref = json.loads((FIX / "boot" / f"{case}.json").read_text())
    o = ref["options"]
    data = pd.read_csv(FIX / ref["data"])
    res = quiet(ref["model"], data.dropna(subset=[c for c in data if c[-1].isdigit()]), scheme=o["scheme"],
                consistent=o["consistent"], bootstrap=o["bootstrap"], seed=o["seed"])
    assert res.bootstrap_info["used"] == ref["boots"]
    got = res.paths.set_index(["lhs", "rhs"])
    for r in ref["paths"]:
        g = got.loc[(r["lhs"], r["rhs"])]
        for k in ("boot_mean", "se", "ci_lower", "ci_upper"):
            assert g[k] == pytest.approx(r[k], abs=1e-5), (r["lhs"], r["rhs"], k)


def test_syntax_multiline_and_multiple_lhs(pd_data):
    text = ("# political democracy\nind60 =~ x1 + x2 +\n   x3\ndem60 =~ y1 + y2 + y3 + y4; dem65 =~ y5 + y6 + y7 + y8\n"
            "dem60 + dem65 ~ ind60 ! two outcomes\ndem65 ~ dem60")
    a = icaf_sem.pls(text, pd_data).paths.set_index(["lhs", "rhs"])["est"]
    b = icaf_sem.pls(PD_MODEL, pd_data).paths.set_index(["lhs", "rhs"])["est"]
    assert a.sort_index().index.equals(b.sort_index().index)
    np.testing.assert_allclose(a.sort_index(), b.sort_index(), atol=1e-12)


def test_ipma_plot(icaf_data):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    ip = icaf_sem.pls(ICAF["model"], icaf_data.dropna()).ipma("PW", scale_min=1, scale_max=7)
    ax = ip.plot()
    assert len(ax.collections[0].get_offsets()) == len(ip.constructs)
    json.dumps(ip.to_dict())
