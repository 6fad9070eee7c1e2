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
    st = FimlResampleStats(d.patterns, W)
    f1, gs1, gm1 = st.loss(sigma, mu, True)
    np.testing.assert_allclose(f1, f0, rtol=1e-11)
    np.testing.assert_allclose(gs1, gs0, rtol=1e-9, atol=1e-9 * np.abs(gs0).max())
    np.testing.assert_allclose(gm1, gm0, rtol=1e-9, atol=1e-9 * np.abs(gm0).max())
    sel = np.array([3, 0])
    f2, gs2, _ = st.subset(sel).loss(sigma[sel], mu[sel], True)
    np.testing.assert_allclose(f2, f0[sel], rtol=1e-11)
    np.testing.assert_allclose(gs2, gs0[sel], rtol=1e-9, atol=1e-9 * np.abs(gs0).max())


@pytest.mark.parametrize("group", [None, "role"])
def test_chunked_bootstrap_weights_are_one_stream(wave, group):
    from icaf_sem.estimation import bootstrap as B
    res = icaf_sem.fit(MODEL, wave, missing="listwise", group=group, modindices=False)
    R = B.CHUNK + 7                                   # two chunks, the second partial
    boot = B.run_bootstrap(res._core, R, seed=3, n_jobs=1, keep_weights=True)
    rng = np.random.default_rng(3)
    for d, W in zip(res._core.datas, boot.weights):
        np.testing.assert_array_equal(W, rng.multinomial(d.n, np.full(d.n, 1.0 / d.n), size=R))
    assert B.run_bootstrap(res._core, 4, seed=3, n_jobs=1).weights is None     # not kept unless asked


def test_fits_of_the_same_rows_share_patterns(wave):
    a = icaf_sem.fit(MODEL, wave, missing="ml", modindices=False)
    b = icaf_sem.fit(MODEL, wave, missing="ml", modindices=False, estimator="MLR")
    assert a._core.datas[0].patterns is b._core.datas[0].patterns
    assert a.fit_measures["chisq"] == pytest.approx(b.fit_measures["chisq"], rel=1e-12)
    n_g = a._core.datas[0].pat[0]
    with pytest.raises(ValueError):
        n_g[0] = 1.0                                   # shared statistics are read-only
