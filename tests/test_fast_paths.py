"""The engine's shortcuts must give what the general computation gives.

Each fast path (block/LISREL form of the RAM model, nilpotent (I - A)^-1, closed-form
baseline test, Cholesky inverses, the two-loop BFGS of the bootstrap) is compared with the
plain computation it replaces, on models of every shape in the fixtures.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.estimation.core import _checked_inverse
from icaf_sem._linalg import spd_inverse
from icaf_sem.model.matrices import GroupRAM
from icaf_sem.model.partable import build_partable, variable_names
from icaf_sem.model.syntax import parse_model

FIX = Path(__file__).parent / "fixtures"
MODELS = {
    "cfa": "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9",
    "sem_residual_cov": ("ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem65 =~ y5 + y6 + y7 + y8\n"
                         "dem60 ~ ind60\ndem65 ~ ind60 + dem60\ny1 ~~ y5\ny2 ~~ y4 + y6"),
    "second_order": ("f1 =~ x1 + x2 + x3\nf2 =~ x4 + x5 + x6\nf3 =~ x7 + x8 + x9\ng =~ f1 + f2 + f3"),
    "latent_means": "f1 =~ x1 + x2 + x3\nf2 =~ x4 + x5 + x6\nf1 ~ 1\nx1 ~ 0*1\nx4 ~ 0*1\nf2 ~ 1",
    "cyclic": "f1 =~ x1 + x2 + x3\nf2 =~ x4 + x5 + x6\nf1 ~ f2\nf2 ~ f1",
    "observed_path": "x1 ~ x2 + x3\nx4 ~ x1 + x2",
    "obs_latent_cov": "f1 =~ x1 + x2 + x3\nf1 ~~ x4",
}


def _ram(model, meanstructure=True):
    stmts = parse_model(model)
    ov = variable_names([s for s in stmts if s.op in ("=~", "~", "~~", "~1")]).ov
    pt = build_partable(stmts, meanstructure=meanstructure)
    return GroupRAM(pt, 1, ov), pt


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("batch", [(), (4,)])
def test_block_form_equals_ram_form(name, batch):
    ram, pt = _ram(MODELS[name])
    rng = np.random.default_rng(7)
    theta = rng.normal(size=batch + (pt.npar,)) * 0.3
    G = rng.normal(size=batch + (ram.p, ram.p))
    G = G + np.swapaxes(G, -1, -2)
    gm = rng.normal(size=batch + (ram.p,))
    fast = (ram.implied(theta), ram.gradient_chain(theta, G, gm))
    fast_delta = ram.delta_factors(theta) if not batch else None
    lisrel, depth = ram._lisrel, getattr(ram, "_al_depth", None)
    ram._lisrel = False
    try:
        slow = (ram.implied(theta), ram.gradient_chain(theta, G, gm))
        slow_delta = ram.delta_factors(theta) if not batch else None
    finally:
        ram._lisrel = lisrel
    np.testing.assert_allclose(fast[0][0], slow[0][0], atol=1e-12)
    np.testing.assert_allclose(fast[0][1], slow[0][1], atol=1e-12)
    np.testing.assert_allclose(fast[1], slow[1], atol=1e-10 * max(1.0, np.abs(slow[1]).max()))
    if fast_delta is not None:
        for a, b in zip(fast_delta, slow_delta):
            np.testing.assert_allclose(a, b, atol=1e-12)
    # which models take the block path: observed predictors or observed-latent covariances do not
    assert lisrel == (name not in ("observed_path", "obs_latent_cov"))
    if name == "cyclic":
        assert depth is None           # a cycle among latents: (I - A)^-1 by inversion
    if name == "second_order":
        assert depth == 2


def test_spd_inverse_and_checked_inverse():
    rng = np.random.default_rng(3)
    for k in (1, 3, 34):
        A = rng.normal(size=(k, k))
        A = A @ A.T + k * np.eye(k)
        P, logdet = spd_inverse(A)
        np.testing.assert_allclose(P, np.linalg.inv(A), atol=1e-12)
        assert logdet == pytest.approx(np.linalg.slogdet(A)[1], abs=1e-10)
        np.testing.assert_allclose(_checked_inverse(A), np.linalg.inv(A), atol=1e-12)
    assert spd_inverse(-np.eye(2))[0] is None
    singular = np.ones((3, 3))
    with pytest.raises(np.linalg.LinAlgError):
        _checked_inverse(singular)
    near = np.diag([1.0, 1.0, 1e-12])                  # positive definite but beyond the 1e-10 ratio
    with pytest.raises(np.linalg.LinAlgError):
        _checked_inverse(near)


@pytest.mark.parametrize("model, data, group", [
    (MODELS["cfa"], "holzinger_swineford_1939.csv", None),
    (MODELS["cfa"], "holzinger_swineford_1939.csv", "school"),
    (MODELS["sem_residual_cov"], "political_democracy.csv", None),
    ("ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem60 ~ ind60 + y5", "political_democracy.csv", None),
])
def test_closed_form_baseline_equals_fitted_baseline(model, data, group):
    df = pd.read_csv(FIX / "data" / data)
    res = icaf_sem.fit(model, df, group=group, modindices=False)
    closed, fitted = res._base, res._baseline_fit()
    assert type(closed).__name__ == "BaselineTest"
    assert closed.df == fitted.df
    assert closed.chisq == pytest.approx(fitted.chisq, rel=1e-10)


def test_bootstrap_two_loop_bfgs_matches_single_fits():
    """Each draw of the batched optimiser is the optimum of that resample's own fit."""
    from icaf_sem.estimation.bootstrap import _run_chunk
    from icaf_sem.estimation.core import estimate
    from icaf_sem.estimation.samplestats import GroupData
    df = pd.read_csv(FIX / "data" / "political_democracy.csv")
    res = icaf_sem.fit(MODELS["sem_residual_cov"], df, modindices=False)
    core = res._core
    d = core.datas[0]
    rng = np.random.default_rng(11)
    W = rng.multinomial(d.n, np.full(d.n, 1.0 / d.n), size=6).astype(float)
    theta, conv = _run_chunk((core.rams, [(d.X, None)], [W], core.theta, np.linalg.inv(core.info)))
    assert conv.all()
    for b in range(len(W)):
        X = np.repeat(d.X, W[b].astype(int), axis=0)
        single = estimate(core.pt, [GroupData(X, d.ov)], compute_se=False)
        np.testing.assert_allclose(theta[b], single.theta, atol=2e-5)


def test_lazy_tables_match_lavaan():
    """parameters / fit_measures / r2 are computed on first access (lavaan's parameterEstimates()
    and fitMeasures() are separate calls too), with the numbers of the eager computation."""
    ref = json.loads((FIX / "lavaan" / "hs_cfa3_ml.json").read_text())
    df = pd.read_csv(FIX / "data" / "holzinger_swineford_1939.csv")
    res = icaf_sem.fit(ref["model"], df, modindices=False)
    assert "parameters" not in res.__dict__ and "fit_measures" not in res.__dict__
    for k in ("chisq", "baseline.chisq", "cfi", "rmsea", "srmr"):
        assert res.fit_measures[k] == pytest.approx(ref["fit"][k], rel=1e-6)
    assert len(res.parameters) == len(res.to_frame()) > 0
    assert set(res.r2) == set(ref["r2"])


def test_standardized_covariance_beyond_one_warns_as_the_table_shows():
    from icaf_sem.errors import HeywoodWarning
    df = pd.read_csv(FIX / "data" / "holzinger_swineford_1939.csv")
    model = ("visual =~ NA*x1 + x2 + x3\ntextual =~ NA*x4 + x5 + x6\n"
             "visual ~~ 1*visual\ntextual ~~ 1*textual\nvisual ~~ 1.5*textual")
    with pytest.warns(HeywoodWarning, match="visual ~~ textual is 1.500"):
        res = icaf_sem.fit(model, df, modindices=False)
    row = res.parameters.query("lhs == 'visual' and op == '~~' and rhs == 'textual'").iloc[0]
    assert row["std_all"] == pytest.approx(1.5)
