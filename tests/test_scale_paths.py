"""The scale paths of issue 16 give the numbers of the direct computations they replace.

* FIML from sufficient statistics (``FimlResampleStats``) equals the case-wise loss and gradient;
* the bootstrap's weights, drawn chunk by chunk, are the stream of one draw of all resamples;
* fits of the same rows share one ``Patterns`` object.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.estimation.objectives import FimlResampleStats, fiml_loss_cases

FIX = Path(__file__).parent / "fixtures"
MODEL = (FIX / "survey" / "icaf_wave1_ml_fiml.lav").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def wave():
    return pd.read_csv(FIX / "survey" / "icaf_wave1_clean.csv")


@pytest.fixture(scope="module")
def fiml_fit(wave):
    return icaf_sem.fit(MODEL, wave, missing="ml", modindices=False)


def test_sufficient_statistics_fiml_equals_casewise(fiml_fit):
    core = fiml_fit._core
    d, ram = core.datas[0], core.rams[0]
    assert d.has_missing and d.patterns.G > 5
    rng = np.random.default_rng(5)
    W = rng.multinomial(d.n, np.full(d.n, 1.0 / d.n), size=5).astype(float)
    theta = core.theta + rng.normal(0, 0.02, (5, len(core.theta)))
    sigma, mu = ram.implied(theta, keep=True)
    f0, gs0, gm0 = fiml_loss_cases(sigma, mu, d.patterns, W, True)
    _assert_equals_casewise(FimlResampleStats(d.patterns, W), sigma, mu, (f0, gs0, gm0), np.array([3, 0]))


def _assert_equals_casewise(st, sigma, mu, casewise, sel, atol=1e-9):
    """``st.loss`` (with and without the gradient, and of the subset ``sel``) equals the case-wise loss."""
    f0, gs0, gm0 = casewise
    f1, gs1, gm1 = st.loss(sigma, mu, True)
    np.testing.assert_allclose(f1, f0, rtol=1e-11)
    np.testing.assert_allclose(gs1, gs0, rtol=1e-9, atol=atol * np.abs(gs0).max())
    np.testing.assert_allclose(gm1, gm0, rtol=1e-9, atol=atol * np.abs(gm0).max())
    f2, gs2, gm2 = st.subset(sel).loss(sigma[sel], mu[sel], True)
    np.testing.assert_allclose(f2, f0[sel], rtol=1e-11)
    np.testing.assert_allclose(gs2, gs0[sel], rtol=1e-9, atol=atol * np.abs(gs0).max())
    np.testing.assert_allclose(gm2, gm0[sel], rtol=1e-9, atol=atol * np.abs(gm0).max())
    np.testing.assert_allclose(st.loss(sigma, mu, False)[0], f0, rtol=1e-11)


@pytest.mark.parametrize("group", [None, "role"])
def test_chunked_bootstrap_weights_are_one_stream(wave, group):
    from icaf_sem.estimation import bootstrap as B
    res = icaf_sem.fit(MODEL, wave, missing="listwise", group=group, modindices=False)
    R = B.CHUNK + 7                                   # two chunks, the second partial
    boot = B.run_bootstrap(res._core, R, seed=3, n_jobs=1, keep_weights=True)
    rng = np.random.default_rng(3)
    for d, W in zip(res._core.datas, boot.weights):
        np.testing.assert_array_equal(W, B.resample_counts(rng, d.n, R))
        # every resample holds n rows, drawn with replacement: row b tallies n uniform indices
        assert (W.sum(1) == d.n).all()
    rng = np.random.default_rng(3)
    idx = rng.integers(0, res._core.datas[0].n, size=(R, res._core.datas[0].n))
    np.testing.assert_array_equal(boot.weights[0][5], np.bincount(idx[5], minlength=res._core.datas[0].n))
    assert B.run_bootstrap(res._core, 4, seed=3, n_jobs=1).weights is None     # not kept unless asked


def test_fits_of_the_same_rows_share_patterns(wave):
    a = icaf_sem.fit(MODEL, wave, missing="ml", modindices=False)
    b = icaf_sem.fit(MODEL, wave, missing="ml", modindices=False, estimator="MLR")
    assert a._core.datas[0].patterns is b._core.datas[0].patterns
    assert a.fit_measures["chisq"] == pytest.approx(b.fit_measures["chisq"], rel=1e-12)
    n_g = a._core.datas[0].pat[0]
    with pytest.raises(ValueError):
        n_g[0] = 1.0                                   # shared statistics are read-only


def test_patterns_with_many_cases_enter_through_their_moments(monkeypatch):
    """Incomplete patterns with many cases use their own weighted moments instead of their missing
    entries: the loss, its gradient and subsets equal the case-wise ones and the entry-wise path."""
    from icaf_sem.estimation.samplestats import GroupData
    rng = np.random.default_rng(11)
    n, p = 3000, 6
    A = rng.normal(size=(p, p))
    X = rng.multivariate_normal(np.arange(p, dtype=float), A @ A.T + p * np.eye(p), size=n)
    # five big patterns (one, two or three missing) and a tail of small ones
    for pat, share in (([0], .15), ([2, 3], .1), ([5], .08), ([1, 4, 5], .05), ([3], .04)):
        rows = rng.random(n) < share
        X[np.ix_(rows, pat)] = np.nan
    tail = rng.random((n, p)) < 0.01
    X[tail] = np.nan
    X = X[~np.isnan(X).all(1)]
    d = GroupData(X, [f"v{j}" for j in range(p)], missing="ml")
    B = 4
    W = rng.multinomial(d.n, np.full(d.n, 1.0 / d.n), size=B).astype(np.uint8)
    S0 = np.cov(X[~np.isnan(X).any(1)].T)
    sigma = np.stack([S0 * (1 + 0.05 * b) + 0.1 * b * np.eye(p) for b in range(B)])
    mu = np.stack([np.nanmean(X, 0) + 0.05 * b for b in range(B)])
    f0, gs0, gm0 = fiml_loss_cases(sigma, mu, d.patterns, W.astype(float), True)
    st = FimlResampleStats(d.patterns, W)
    assert st.big.sum() >= 5                    # the five big patterns (and maybe tail ones)
    monkeypatch.setattr(FimlResampleStats, "_BIG_BUDGET", 0)
    st_e = FimlResampleStats(d.patterns, W)
    assert not st_e.big.any()
    for s in (st, st_e):
        _assert_equals_casewise(s, sigma, mu, (f0, gs0, gm0), np.array([2, 0]), atol=1e-10)


@pytest.mark.parametrize("missing", [False, True])
def test_h1_crossproducts_are_built_block_by_block(monkeypatch, missing):
    """sum_i s_i s_i' of the casewise h1 scores, accumulated over blocks of cases, equals the
    product of the whole (n, p + p*) score matrix, plain and as lavaan's first-order information
    uses it (sampling weights, sums per cluster with sqrt(C / (C - 1)))."""
    from icaf_sem.estimation import inference
    from icaf_sem.estimation.samplestats import GroupData
    rng = np.random.default_rng(4)
    n, p = 203, 5
    X = rng.multivariate_normal(np.zeros(p), np.eye(p) + 0.4, size=n)
    if missing:
        X[rng.random((n, p)) < 0.08] = np.nan
        X = X[~np.isnan(X).all(1)]
    d = GroupData(X, [f"v{j}" for j in range(p)], missing="ml" if missing else "listwise")
    sigma = np.eye(p) + 0.35
    mu = np.full(p, 0.05)
    S = inference.h1_scores(d, sigma, mu, True)                      # the whole matrix, at once
    monkeypatch.setattr(inference, "SCORE_ROWS", 17)                  # many blocks, the last partial
    plain = inference.h1_crossproducts(d, sigma, mu, True, clustered=False)
    np.testing.assert_allclose(plain, S.T @ S, rtol=1e-12, atol=1e-12 * np.abs(plain).max())
    d.weights_sampling = rng.uniform(0.5, 1.5, len(S))
    d.cluster = rng.integers(0, 23, len(S))
    d.__dict__.pop("_h1_cache", None)
    Sc = inference._clustered(S, d)
    got = inference.h1_crossproducts(d, sigma, mu, True)
    np.testing.assert_allclose(got, Sc.T @ Sc, rtol=1e-12, atol=1e-12 * np.abs(got).max())
    np.testing.assert_allclose(inference.h1_firstorder(d, sigma, mu, True), Sc.T @ Sc / d.N, rtol=1e-12,
                               atol=1e-12 * np.abs(got).max())
