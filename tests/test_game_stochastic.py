"""icaf_sem.game.stochastic: schemes against known answers, boundaries, seeding, stability under noise."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from icaf_sem.errors import ModelSpecificationError
from icaf_sem.game import load_game
from icaf_sem.game.stochastic import _replicator_paths, sde_paths, simulate, stochastic_stability
from icaf_sem.game.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def game():
    return load_game(ROOT / "questionnaires" / "tripartite_game.yaml")


# --------------------------------------------------------------------------- geometric Brownian motion
def _gbm_strong_errors(scheme, a=1.5, b=1.0, x0=1.0, T=1.0, paths=4000, fine=2 ** 10, levels=(3, 4, 5, 6, 7)):
    """E|X_T^h − X_T| against the closed form X_T = x0 exp((a − b²/2) T + b W_T) on the same Brownian path."""
    rng = np.random.default_rng(12345)
    dW = rng.standard_normal((fine, paths, 1)) * math.sqrt(T / fine)
    exact = x0 * np.exp((a - b * b / 2) * T + b * dW.sum(axis=0)[:, 0])
    hs, errs = [], []
    for lev in levels:
        n = 2 ** lev
        coarse = dW.reshape(n, fine // n, paths, 1).sum(axis=1)
        res = sde_paths(lambda X: a * X, lambda X: b * X, [x0], T=T, steps=n, paths=paths, scheme=scheme,
                        diffusion_dx=lambda X: np.full_like(X, b), dW=coarse)
        hs.append(T / n)
        errs.append(np.mean(np.abs(res["final"][:, 0] - exact)))
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    return np.array(errs), slope


def test_euler_maruyama_strong_order_one_half():
    errs, slope = _gbm_strong_errors("euler")
    assert np.all(np.diff(errs) < 0)                # error falls with the step
    assert 0.4 < slope < 0.65, slope                 # strong order 0.5 (Kloeden & Platen 1992, Thm 10.2.2)


def test_milstein_strong_order_one():
    errs, slope = _gbm_strong_errors("milstein")
    assert np.all(np.diff(errs) < 0)
    assert 0.85 < slope < 1.15, slope                # strong order 1 (Thm 10.3.5)
    em, _ = _gbm_strong_errors("euler")
    assert errs[-1] < em[-1] / 3                     # and far more accurate at the finest step


def test_fused_game_kernel_equals_generic_integrator(game):
    """The game's written-out scheme and the generic integrator give the same paths on the same increments."""
    rng = np.random.default_rng(7)
    steps, paths, sigma, T = 200, 300, 0.8, 4.0
    dW = rng.standard_normal((steps, paths, 3)) * math.sqrt(T / steps)
    du = game.delta_u_rows()
    x0 = np.array([0.3, 0.6, 0.4])
    for noise, g, dg in (("x(1-x)", lambda X: sigma * X * (1 - X), lambda X: sigma * (1 - 2 * X)),
                         ("x", lambda X: sigma * X, lambda X: np.full_like(X, sigma))):
        for scheme in ("euler", "milstein"):
            a = _replicator_paths(du, x0, sigma=sigma, noise=noise, scheme=scheme, T=T, steps=steps, paths=paths,
                                  dW=dW)
            b = sde_paths(lambda X: X * (1 - X) * du(X), g, x0, T=T, steps=steps, paths=paths, scheme=scheme,
                          diffusion_dx=dg, dW=dW, domain=(0.0, 1.0))
            np.testing.assert_allclose(a["final"], b["final"], rtol=1e-12, atol=1e-12)
            np.testing.assert_array_equal(a["exit_step"], b["exit_step"])


# --------------------------------------------------------------------------- sigma = 0 against solve_ivp
@pytest.mark.parametrize("scheme", ["euler", "milstein", "logit"])
def test_sigma_zero_paths_match_solve_ivp(game, scheme):
    x0 = np.array([0.3, 0.6, 0.4])
    T = 5.0
    f = game.vector_field()
    ref = solve_ivp(lambda t, x: f(x), (0, T), x0, method="DOP853", rtol=1e-11, atol=1e-13).y[:, -1]
    errs = []
    for steps in (1000, 2000, 4000):
        r = simulate(game, sigma=0.0, T=T, steps=steps, paths=2, x0=x0, scheme=scheme, seed=1)
        assert not r.left.any()
        assert np.ptp(r.final, axis=0).max() == 0           # no noise: every path identical
        errs.append(np.max(np.abs(r.final[0] - ref)))
    assert errs[0] < 5e-3
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all((ratios > 1.8) & (ratios < 2.2)), ratios  # first order in dt


def test_sigma_zero_trajectory_recorded_against_solve_ivp(game):
    x0 = np.array([0.7, 0.2, 0.5])
    r = simulate(game, sigma=0.0, T=4.0, steps=8000, paths=1, x0=x0, record_every=800, seed=0)
    f = game.vector_field()
    ref = solve_ivp(lambda t, x: f(x), (0, 4.0), x0, t_eval=r.times, rtol=1e-11, atol=1e-13).y.T
    np.testing.assert_allclose(r.recorded[:, 0, :], ref, atol=2e-3)


# --------------------------------------------------------------------------- boundaries, seeding, shapes
def test_logit_scheme_never_leaves_and_x_noise_is_flagged_not_clipped(game):
    r = simulate(game, sigma=2.0, T=5, steps=500, paths=500, noise="x(1-x)", scheme="logit", seed=3)
    assert not r.left.any()
    assert ((r.final > 0) & (r.final < 1)).all()
    r = simulate(game, sigma=1.0, T=5, steps=500, paths=500, noise="x", scheme="milstein", seed=3)
    assert r.left.any()
    out = r.final[r.left]
    assert ((out < 0) | (out > 1)).any(axis=1).all()        # kept where they left: outside, never clipped
    assert np.isfinite(r.exit_time[r.left]).all() and np.isnan(r.exit_time[~r.left]).all()
    s = r.summary()
    assert s["left_unit_interval"] == int(r.left.sum())
    assert math.isclose(s["share_left"] + sum(s["share_near_vertex"].values()) + s["share_not_near_a_vertex"], 1.0)


def test_seeded_and_shaped(game):
    a = simulate(game, sigma=0.7, T=2, steps=100, paths=64, seed=11, record_every=10)
    b = simulate(game, sigma=0.7, T=2, steps=100, paths=64, seed=11, record_every=10)
    c = simulate(game, sigma=0.7, T=2, steps=100, paths=64, seed=12)
    np.testing.assert_array_equal(a.final, b.final)
    assert not np.array_equal(a.final, c.final)
    assert a.final.shape == (64, 3) and a.recorded.shape == (11, 64, 3) and len(a.times) == 11
    np.testing.assert_allclose(a.recorded[0], 0.5)
    np.testing.assert_array_equal(a.recorded[-1], a.final)


def test_bad_simulation_settings(game):
    with pytest.raises(ModelSpecificationError, match="noise"):
        simulate(game, noise="x^2")
    with pytest.raises(ModelSpecificationError, match="logit"):
        simulate(game, noise="x", scheme="logit")
    with pytest.raises(ModelSpecificationError, match="strictly between"):
        simulate(game, x0=[0, 0.5, 0.5])
    with pytest.raises(ModelSpecificationError, match="unknown player"):
        simulate(game, x0={"Q": 0.5})
    with pytest.raises(ModelSpecificationError, match="sigma"):
        simulate(game, sigma=-1)
    with pytest.raises(ModelSpecificationError, match="steps"):
        simulate(game, steps=0)


# --------------------------------------------------------------------------- stability under noise
def test_almost_sure_versus_mean_square(game):
    t = stochastic_stability(game, [0.0, 1.0, 3.0])
    lam = t[[f"lambda_{p}" for p in "PUG"]].to_numpy()
    s = t["sigma"].to_numpy()[:, None]
    np.testing.assert_array_equal(t["as_stable"], (lam - s ** 2 / 2 < 0).all(axis=1))
    np.testing.assert_array_equal(t["ms_stable"], (lam + s ** 2 / 2 < 0).all(axis=1))
    # noise stabilises almost surely what is unstable in mean square (and deterministically)
    row = t[(t.sigma == 3.0) & (t.profile == "(0, 0, 0)")].iloc[0]
    assert row["as_stable"] and not row["ms_stable"] and not row["deterministic_stable"]
    # sigma = 0: both reduce to the ESS condition
    z = t[t.sigma == 0.0]
    np.testing.assert_array_equal(z["as_stable"], z["deterministic_stable"])
    np.testing.assert_array_equal(z["ms_stable"], z["deterministic_stable"])


def test_x_noise_profiles_with_a_one_are_not_rest_points(game):
    t = stochastic_stability(game, [0.5], noise="x")
    for _, r in t.iterrows():
        has_one = "1" in r["profile"]
        assert r["stationary"] == (not has_one)
        if has_one:
            assert not r["as_stable"] and not r["ms_stable"]


def test_gbm_linearisation_matches_simulated_decay():
    """Near an almost-surely stable but mean-square unstable vertex, paths decay although the mean square grows."""
    a, b = 0.5, 1.5                     # a − b²/2 = −0.625 < 0 < a + b²/2
    res = sde_paths(lambda X: a * X, lambda X: b * X, [1e-3], T=8.0, steps=800, paths=4000, scheme="milstein",
                    diffusion_dx=lambda X: np.full_like(X, b), seed=5)
    xT = res["final"][:, 0]
    assert np.median(xT) < 1e-3 * math.exp(-0.625 * 8.0) * 3     # typical path decays like exp((a − b²/2)T)
    assert np.median(np.log(xT / 1e-3)) == pytest.approx(-0.625 * 8.0, abs=0.3)


def test_sweeps(game):
    sw = sweep(game, "S", np.linspace(0, 6, 13), "F", np.linspace(0, 6, 13))
    # the conditions by hand: (1,1,0) ESS iff B > C for both (S and F do not matter), (0,0,1) iff S + F < 4 and Cg < 2(F + L)
    for i, F in enumerate(sw.y_values):
        for j, S in enumerate(sw.x_values):
            expected = {"(1, 1, 0)"}
            if S + F < 4 and 3 < 2 * (F + 1):
                expected.add("(0, 0, 1)")
            if 3 > 2 * (F + 1):
                expected.add("(0, 0, 0)")
            got = {p for p, b in zip(sw.profiles, sw.stable[i, j]) if b}
            assert got == expected, (S, F, got)
    sig = sweep(game, "B_P", np.linspace(0, 10, 6), "sigma", np.linspace(0, 3, 4))
    assert sig.criterion == "almost_sure"
    lam = game.vertex_eigenvalue_function()(B_P=np.linspace(0, 10, 6))
    for i, s in enumerate(sig.y_values):
        np.testing.assert_array_equal(sig.stable[i], (lam - s * s / 2 < 0).all(axis=-1))
    assert set(sig.to_frame().columns) == {"B_P", "sigma", "stable_profiles", "n_stable"}
    with pytest.raises(ModelSpecificationError, match="unknown parameter"):
        sweep(game, "nope", [0, 1], "F", [0, 1])
