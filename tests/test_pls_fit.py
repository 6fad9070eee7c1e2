"""PLS model fit (SRMR, d_ULS, d_G of the saturated and the estimated model).

* against ADANCO 2.2.1's output (tests/fixtures/pls/fit/, extracted by make_adanco_fixture.py): the ECSI
  satisfaction model with PLSc common factors and with mode-B composites;
* step by step: the model-implied indicator correlations rebuilt here with explicit loops from the
  result's public tables (loadings, construct correlations, paths, R²) -- a second, independent route --
  for a first-order mode-A model and for the ICAF model with two higher-order constructs (two-stage).
"""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.errors import ModelSpecificationError

FIX = Path(__file__).parent / "fixtures" / "pls"


def _pls(model, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return icaf_sem.pls(model, data, **kw)


@pytest.mark.parametrize("case", ["common_factor_plsc", "composite_mode_b"])
def test_fit_equals_adanco(case):
    ref = json.loads((FIX / "fit" / "adanco_fit.json").read_text())["cases"][case]
    data = pd.read_csv(FIX / "fit" / "satisfaction.csv")
    res = _pls(ref["model"], data, scheme=ref["scheme"], consistent=ref["consistent"], tol=ref["tol"])
    paths = res.paths.set_index(["lhs", "rhs"])["est"]
    for p in ref["paths"]:                      # the same estimate first
        assert paths[(p["lhs"], p["rhs"])] == pytest.approx(p["est"], abs=1e-5)
    fit = res.model_fit.set_index("measure")
    for m, v in ref["fit"].items():
        for which in ("saturated", "estimated"):
            assert fit.loc[m, which] == pytest.approx(v[which], rel=1e-5), (m, which)
    for m, v in ref["fit"].items():
        for which in ("saturated", "estimated"):
            assert set(v) >= {which, which + "_hi95", which + "_hi99"}
    d = res.to_dict()["model_fit"]
    assert d["SRMR"]["estimated"] == pytest.approx(ref["fit"]["SRMR"]["estimated"], rel=1e-5)


@pytest.mark.parametrize("case", ["common_factor_plsc", "composite_mode_b"])
def test_fit_test_quantiles_agree_with_adanco(case):
    """HI95/HI99 of the Bollen-Stine bootstrap: Monte Carlo quantiles on both sides (ADANCO's draws are
    unknown), so within 5 % (HI95) and 15 % (HI99) of ADANCO's."""
    ref = json.loads((FIX / "fit" / "adanco_fit.json").read_text())["cases"][case]
    data = pd.read_csv(FIX / "fit" / "satisfaction.csv")
    res = _pls(ref["model"], data, scheme=ref["scheme"], consistent=ref["consistent"], tol=ref["tol"])
    ft = res.fit_test(draws=1000, seed=1).set_index(["model", "measure"])
    assert (ft["draws"] > 900).all()
    for m, v in ref["fit"].items():
        for which in ("saturated", "estimated"):
            r = ft.loc[(which, m)]
            assert r["value"] == pytest.approx(v[which], rel=1e-5)
            assert r["hi95"] == pytest.approx(v[which + "_hi95"], rel=0.05), (m, which)
            assert r["hi99"] == pytest.approx(v[which + "_hi99"], rel=0.15), (m, which)
            assert r["pvalue"] < 0.01          # ADANCO: every value is above its HI99 (the model does not fit)
    assert res.fit_test(draws=50, seed=3).equals(res.fit_test(draws=50, seed=3))


# --------------------------------------------------------------------------- the hand-built route
def _implied_by_hand(res, data, saturated):
    """Sigma rebuilt entry by entry from the result's tables."""
    outer = res.outer
    spec = res.spec
    hoc_of = {d: h for h in spec.hoc for d in spec.blocks[h]}
    first = [c for c in spec.constructs if c not in spec.hoc]
    lam, con = {}, {}
    for r in outer.itertuples(index=False):
        if r.lhs in first:
            lam[r.rhs], con[r.rhs] = r.loading, r.lhs
    mu = {r.rhs: r.loading for r in outer.itertuples(index=False) if r.lhs in spec.hoc}   # dimension on HOC
    items = [i for c in first for i in spec.blocks[c]]
    R = res.construct_correlations
    names = list(R.index)
    # construct correlations of the estimated model: covariance algebra in causal order
    V = {(a, b): R.loc[a, b] for a in names for b in names}
    if not saturated:
        preds = {c: [iv for dv, iv in spec.paths if dv == c] for c in names}
        beta = {(dv, iv): e for dv, iv, e in zip(res.paths["lhs"], res.paths["rhs"], res.paths["est"])}
        r2 = res.r2["r2"]
        order, done = [], set()
        while len(order) < len(names):
            for c in names:
                if c not in done and all(p in done for p in preds[c]):
                    order.append(c)
                    done.add(c)
        cov = {}
        for k, y in enumerate(order):
            for x in order[:k + 1]:
                if not preds[y]:
                    v = R.loc[y, x] if preds[x] == [] else cov[(x, y)]
                elif x == y:
                    v = sum(beta[(y, p)] * beta[(y, q)] * cov[(p, q)] for p in preds[y] for q in preds[y]) \
                        + 1 - r2[y]
                else:
                    v = sum(beta[(y, p)] * cov[(p, x)] for p in preds[y])
                cov[(y, x)] = cov[(x, y)] = v
        V = {(a, b): (1.0 if a == b else cov[(a, b)]) for a in names for b in names}
    S = data[items].corr().to_numpy()
    p = len(items)
    Sig = np.eye(p)
    for i in range(p):
        for j in range(p):
            a, b = items[i], items[j]
            if i == j:
                continue
            ca, cb = con[a], con[b]
            if ca == cb:
                Sig[i, j] = lam[a] * lam[b] if spec.modes[ca] == "A" else S[i, j]
                continue
            ua, ub = hoc_of.get(ca, ca), hoc_of.get(cb, cb)
            ma, mb = (mu[ca] if ca in hoc_of else 1.0), (mu[cb] if cb in hoc_of else 1.0)
            between = ma * mb if ua == ub else ma * mb * V[(ua, ub)]
            Sig[i, j] = lam[a] * lam[b] * between
    return S, Sig


def _distances_by_hand(S, Sig):
    p = S.shape[0]
    sq = [(S[i, j] - Sig[i, j]) ** 2 for i in range(p) for j in range(i + 1)]
    srmr = (sum(sq) / (p * (p + 1) / 2)) ** 0.5
    duls = 0.5 * sum((S[i, j] - Sig[i, j]) ** 2 for i in range(p) for j in range(p))
    phi = np.linalg.eigvals(np.linalg.inv(S) @ Sig).real
    dg = 0.5 * sum(np.log10(f) ** 2 for f in phi)
    return srmr, duls, dg


def _check(res, data):
    fit = res.model_fit.set_index("measure")
    for which, sat in (("saturated", True), ("estimated", False)):
        S, Sig = _implied_by_hand(res, data, sat)
        got = fit[which].to_numpy()
        np.testing.assert_allclose(got, _distances_by_hand(S, Sig), rtol=1e-9, atol=1e-12)
    return fit


def test_fit_by_hand_first_order_mode_a():
    data = pd.read_csv(FIX / "political_democracy.csv")
    model = "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem65 =~ y5 + y6 + y7 + y8\n" \
            "dem60 ~ ind60\ndem65 ~ dem60"          # ind60 -> dem65 left out: the estimated model is restricted
    fit = _check(_pls(model, data), data)
    assert fit.loc["SRMR", "estimated"] > fit.loc["SRMR", "saturated"]


def test_fit_by_hand_higher_order_two_stage():
    ref = json.loads((FIX / "icaf_wave1_pls_hoc.json").read_text())
    data = pd.read_csv(FIX / ref["data"])
    res = _pls(ref["model"], data)
    data = data.dropna(subset=[i for c in res.spec.constructs if c not in res.spec.hoc for i in res.spec.blocks[c]])
    _check(res, data)


def test_saturated_structure_gives_equal_fit():
    data = pd.read_csv(FIX / "political_democracy.csv")
    model = "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem65 =~ y5 + y6 + y7 + y8\n" \
            "dem60 ~ ind60\ndem65 ~ ind60 + dem60"
    fit = _pls(model, data).model_fit
    np.testing.assert_allclose(fit["saturated"], fit["estimated"], rtol=1e-10)


def test_repeated_indicators_refused():
    ref = json.loads((FIX / "icaf_wave1_pls_hoc.json").read_text())
    data = pd.read_csv(FIX / ref["data"])
    res = _pls(ref["model"], data, hoc="repeated_indicators")
    with pytest.raises(ModelSpecificationError, match="two_stage"):
        res.model_fit
    assert res.to_dict()["model_fit"] is None
