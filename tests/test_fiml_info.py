"""The parameter-space FIML information (estimation/fiml_info.py) against the vech-space
formulas it replaces (Delta' H Delta with the p* x p* moment Hessian), and the import structure
of a fresh process's first fit (no scipy.stats / optimize / linalg / sparse)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.estimation import fiml_info, inference
from icaf_sem.estimation.fit_measures import gfi_weighted
from icaf_sem.estimation.robust import gfi_missing
from icaf_sem._linalg import sym_inv

ROOT = Path(__file__).resolve().parent.parent


def _data(seed=3, n=150, heavy=True):
    rng = np.random.default_rng(seed)
    L = np.zeros((8, 2))
    L[:4, 0] = [0.8, 0.7, 0.6, 0.75]
    L[4:, 1] = [0.7, 0.65, 0.8, 0.6]
    S = L @ np.array([[1, 0.4], [0.4, 1]]) @ L.T + np.diag(np.full(8, 0.5))
    X = rng.multivariate_normal(np.arange(8) * 0.1, S, size=n)
    X[rng.random(X.shape) < 0.12] = np.nan
    if heavy:       # rows with most items missing: patterns in the direct form
        for i in range(0, n, 9):
            keep = rng.choice(8, 2, replace=False)
            X[i, [j for j in range(8) if j not in keep]] = np.nan
    cols = [f"x{i + 1}" for i in range(8)]
    model = "f1 =~ x1 + x2 + x3 + x4\nf2 =~ x5 + x6 + x7 + x8\nx1 ~~ x5\n"
    return model, pd.DataFrame(X, columns=cols)


@pytest.mark.parametrize("heavy", [False, True])
def test_information_matches_vech_space(heavy):
    model, df = _data(heavy=heavy)
    r = icaf_sem.fit(model, df, missing="ml", modindices=False, se="none")
    core = r._core
    ram, data, th = core.rams[0], core.datas[0], core.theta
    sides = fiml_info.PatternSides(ram.implied(th)[0], data.patterns)
    assert sides.comp and (sides.direct or not heavy)
    sigma, mu = ram.implied(th)
    Dv = inference.delta_vech(ram, th)
    old = Dv.T @ inference.moment_hessian(data, sigma, mu, True) @ Dv
    new = fiml_info.information_theta(ram, data, th)
    np.testing.assert_allclose(new, old, rtol=0, atol=1e-10 * np.abs(old).max())
    # expected information: dmu' (sum_g n_g Q_g) dmu + 1/2 vech-space D'(sum_g n_g Q_g kron Q_g)D
    Q = inference.pattern_q(sym_inv(sigma), data.patterns)
    w = data.pattern_counts
    d_sigma, d_mu = ram.delta(th)
    ci, ri = inference._vech_pairs(ram.p)
    Ds = d_sigma[:, ri, ci]
    old_e = 0.5 * Ds @ inference.vech_kron(Q, Q, w) @ Ds.T + d_mu @ np.einsum("g,gij->ij", w, Q) @ d_mu.T
    new_e = fiml_info.information_theta(ram, data, th, observed=False)
    np.testing.assert_allclose(new_e, old_e, rtol=0, atol=1e-10 * np.abs(old_e).max())


def test_complete_data_information_and_weights():
    model, df = _data(heavy=False)
    full = df.dropna()
    r = icaf_sem.fit(model, full, modindices=False, se="none")
    core = r._core
    ram, data, th = core.rams[0], core.datas[0], core.theta
    sigma, mu = ram.implied(th)
    Dv = inference.delta_vech(ram, th)
    old = Dv.T @ inference.moment_hessian(data, sigma, mu, ram.meanstructure) @ Dv
    np.testing.assert_allclose(fiml_info.information_theta(ram, data, th), old, atol=1e-10 * np.abs(old).max())
    # FIML with case weights (a bootstrap resample): the same identity
    r = icaf_sem.fit(model, df, missing="ml", modindices=False, se="none")
    core = r._core
    ram, data, th = core.rams[0], core.datas[0], core.theta
    w = np.random.default_rng(1).integers(0, 3, data.n).astype(float)
    data.compute(w)
    sigma, mu = ram.implied(th)
    Dv = inference.delta_vech(ram, th)
    old = Dv.T @ inference.moment_hessian(data, sigma, mu, True) @ Dv
    np.testing.assert_allclose(fiml_info.information_theta(ram, data, th), old, atol=1e-10 * np.abs(old).max())


def test_gfi_missing_matches_stacked_inverses():
    model, df = _data()
    r = icaf_sem.fit(model, df, missing="ml", modindices=False, se="none")
    core = r._core
    ram, d = core.rams[0], core.datas[0]
    M, mu = ram.implied(core.theta)
    Q = inference.pattern_q(sym_inv(M), d.patterns)
    Xg = pd.DataFrame(d.X)
    S_pw = Xg.cov().to_numpy() * (d.N - 1) / d.N
    old = gfi_weighted(S_pw, M, Xg.mean().to_numpy(), mu, Q, d.pattern_counts / d.N)
    assert gfi_missing(d, M, mu) == pytest.approx(old, abs=1e-13)


def test_first_fit_imports_no_heavy_scipy():
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import numpy as np, pandas as pd
        rng = np.random.default_rng(0)
        X = rng.normal(size=(60, 4)) + rng.normal(size=(60, 1))
        X[::7, 1] = np.nan
        df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
        import icaf_sem
        r = icaf_sem.fit("f =~ a + b + c + d", df, missing="ml", modindices=False)
        heavy = sorted(m for m in ("scipy.stats", "scipy.optimize", "scipy.linalg", "scipy.sparse",
                                   "scipy.special", "matplotlib", "docx", "openpyxl", "sympy", "pydantic")
                       if m in sys.modules)
        print(",".join(heavy))
        r.fit_measures["cfi"], r.parameters["pvalue"].iloc[0], r.tests
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_compressed_cases_keep_every_pattern_sum():
    """Patterns with more than p + 1 cases are replaced by p + 1 rows with the same weighted
    second moments of (1, z_i); the small ones keep their cases (scaled by sqrt(w_i))."""
    rng = np.random.default_rng(3)
    n, p, G = 500, 4, 7
    Z = rng.standard_normal((n, p))
    w = rng.uniform(0.5, 2.0, n)
    pat = rng.choice(G, size=n, p=[0.5, 0.3, 0.15, 0.02, 0.01, 0.01, 0.01])
    c, Zc, g = fiml_info.compress_cases(Z, w, pat, G)
    for k in range(G):
        A = np.column_stack([np.ones((pat == k).sum()), Z[pat == k]])
        want = (A * w[pat == k, None]).T @ A
        B = np.column_stack([c[g == k], Zc[g == k]])
        np.testing.assert_allclose(B.T @ B, want, rtol=1e-12, atol=1e-12)
        nk = int((pat == k).sum())
        assert (g == k).sum() == min(nk, p + 1)
