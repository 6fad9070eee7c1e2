"""Model fit of a PLS-SEM estimate: SRMR, d_ULS and d_G of the saturated and the estimated model.

The measures compare the empirical indicator correlation matrix S with the model-implied one,
Sigma (Henseler et al. 2014; Dijkstra & Henseler 2015), as SmartPLS 4 reports them:

* **Construct correlations V.**  *Saturated* model: every construct correlates freely, V is the
  construct correlation matrix of the estimate (disattenuated under PLSc).  *Estimated* model: V is
  implied by the structural model,  V = (I - A)^{-1} Omega (I - A)^{-T},  where ``A[dv, iv]`` holds
  the path coefficients, Omega holds the exogenous constructs' correlations and, for each
  endogenous construct, its residual variance 1 - R^2; the diagonal of V is set to 1.
* **Indicators.**  Sigma = Lambda V Lambda' with Lambda the outer loadings (each indicator on its own
  construct; PLSc-corrected for common factors); within the block of a ``=~`` construct the
  common-factor structure lambda_i lambda_j is kept, within the block of a ``<~`` (composite) construct
  the empirical correlations are kept (the composite model leaves them free); the diagonal is 1.
* **Higher-order constructs (two-stage).**  The stage-2 implied matrix (other constructs' items and
  the dimension scores) is carried to the dimensions' items through their stage-1 loadings:
  Sigma = T Sigma_2 T' with T mapping a dimension score to its items by their loadings.

Then, over the p indicators,

* SRMR  = sqrt( sum_{i <= j} (s_ij - sigma_ij)^2 / (p (p + 1) / 2) );
* d_ULS = 1/2 sum_{i, j} (s_ij - sigma_ij)^2  (half the squared Euclidean distance);
* d_G   = 1/2 sum_k (log10 phi_k)^2, phi_k the eigenvalues of S^{-1} Sigma (geodesic distance;
  NaN when Sigma is not positive definite).  The base-10 logarithm is the one ADANCO 2.2.1 and
  cSEM use: with it the values equal ADANCO's output to 6 decimals; Dijkstra & Henseler (2015) write
  the natural logarithm, which gives ln(10)^2 = 5.30 times larger values.

Reference: ADANCO 2.2.1's output for the ECSI satisfaction model (PLSc common factors and mode-B
composites, centroid scheme), kept in ``tests/fixtures/pls/fit/`` with the script that extracted it;
SRMR, d_ULS and d_G of both models agree to 6 decimals.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ModelSpecificationError

MEASURES = ("SRMR", "d_ULS", "d_G")


def implied_construct_correlations(R, beta, r2, layout, saturated):
    """Construct correlation matrices (B, K, K) of the saturated or the estimated (structural) model, from
    construct correlations R (B, K, K), paths beta (B, K, K) with beta[b, iv, dv] and R^2 (B, K)."""
    R = np.asarray(R, dtype=float)
    endo = np.array([len(p) > 0 for p in layout.pred])
    if saturated or not endo.any():
        return R.copy()
    K = layout.K
    A = np.swapaxes(np.asarray(beta, dtype=float), 1, 2)          # A[b, dv, iv] = beta[b, iv, dv]
    omega = np.where(np.outer(~endo, ~endo)[None], R, 0.0)
    e = np.flatnonzero(endo)
    omega[:, e, e] = 1.0 - np.asarray(r2, dtype=float)[:, e]
    with np.errstate(all="ignore"):
        inv = np.linalg.inv(np.eye(K)[None] - A)
        V = inv @ omega @ np.swapaxes(inv, 1, 2)
    V = (V + np.swapaxes(V, 1, 2)) / 2
    V[:, np.arange(K), np.arange(K)] = 1.0
    return V


def implied_indicator_correlations(S, V, loadings, layout):
    """Indicator correlation matrices (B, p, p) implied by construct correlations V (B, K, K) and the
    loadings (B, p, K; only each indicator's own loading is used)."""
    S = np.asarray(S, dtype=float)
    Lam = np.asarray(loadings, dtype=float) * layout.mask[None]
    Sig = Lam @ V @ np.swapaxes(Lam, 1, 2)
    for k, b in enumerate(layout.blocks):
        if layout.modes[k] == "B":
            Sig[:, b[:, None], b[None, :]] = S[:, b[:, None], b[None, :]]
    p = Sig.shape[1]
    Sig[:, np.arange(p), np.arange(p)] = 1.0
    return Sig


def distances(S, Sigma):
    """SRMR, d_ULS and d_G between empirical and implied correlation matrices: a tuple of three floats for
    (p, p) inputs, a (B, 3) array for (B, p, p) stacks."""
    S = np.asarray(S, dtype=float)
    Sigma = np.asarray(Sigma, dtype=float)
    single = S.ndim == 2
    if single:
        S, Sigma = S[None], Sigma[None]
    D = S - Sigma
    iu = np.triu_indices(S.shape[1])
    srmr = np.sqrt(np.mean(D[:, iu[0], iu[1]] ** 2, axis=1))
    duls = 0.5 * np.sum(D ** 2, axis=(1, 2))
    dg = np.full(S.shape[0], np.nan)
    def geodesic(Sk, Gk):      # eigenvalues of S^{-1} Sigma = those of L^{-1} Sigma L^{-T} (S = L L')
        Lc = np.linalg.cholesky(Sk)
        M = np.linalg.solve(Lc, np.swapaxes(np.linalg.solve(Lc, Gk), -1, -2))
        phi = np.linalg.eigvalsh((M + np.swapaxes(M, -1, -2)) / 2)
        return np.where(phi.min(axis=-1) > 0, 0.5 * np.sum(np.log10(np.abs(phi)) ** 2, axis=-1), np.nan)

    with np.errstate(all="ignore"):
        fin = np.flatnonzero(np.isfinite(S).all(axis=(1, 2)) & np.isfinite(Sigma).all(axis=(1, 2)))
        try:
            dg[fin] = geodesic(S[fin], Sigma[fin])
        except np.linalg.LinAlgError:          # a singular S among them: one at a time
            for k in fin:
                try:
                    dg[k] = geodesic(S[k][None], Sigma[k][None])[0]
                except np.linalg.LinAlgError:
                    pass
    out = np.column_stack([srmr, duls, dg])
    return tuple(float(v) for v in out[0]) if single else out


def _own_loadings(stage):
    return stage.L * stage.layout.mask[None]


def implied(est, saturated, b=0):
    """(items, S, Sigma) of the full indicator set of an :class:`~.estimate.Estimate`: sample ``b``
    ((p, p) matrices), or every sample with ``b=None`` ((B, p, p) stacks)."""
    last = est.stages[-1]
    lay2 = last.layout
    sel = slice(None) if b is None else slice(b, b + 1)
    V = implied_construct_correlations(last.Rc[sel], est.beta[sel], est.r2[sel], lay2, saturated)
    Sig = implied_indicator_correlations(last.S[sel], V, _own_loadings(last)[sel], lay2)
    S = last.S[sel]
    items = list(lay2.columns)
    if len(est.stages) == 2:
        st1 = est.stages[0]
        lay1 = st1.layout
        items = list(lay1.columns)
        p = len(items)
        dims = [c for c in lay2.columns[p:]]
        T = np.zeros((Sig.shape[0], p, len(lay2.columns)))
        in_dim = np.zeros(p, dtype=bool)
        L1 = _own_loadings(st1)[sel]
        for d in dims:
            k = lay1.constructs.index(d)
            blk = lay1.blocks[k]
            T[:, blk, lay2.columns.index(d)] = L1[:, blk, k]
            in_dim[blk] = True
        rest = np.flatnonzero(~in_dim)
        T[:, rest, rest] = 1.0
        Sig = T @ Sig @ np.swapaxes(T, 1, 2)
        S = st1.S[sel]
        for d in dims:
            k = lay1.constructs.index(d)
            blk = lay1.blocks[k]
            if lay1.modes[k] == "B":
                Sig[:, blk[:, None], blk[None, :]] = S[:, blk[:, None], blk[None, :]]
        Sig[:, np.arange(p), np.arange(p)] = 1.0
        used = np.zeros(p, dtype=bool)        # the model's indicators only
        for blk in lay1.blocks:
            used[blk] = True
        for blk in lay2.blocks:
            used[blk[blk < p]] = True
        idx = np.flatnonzero(used)
        items = [items[i] for i in idx]
        S, Sig = S[:, idx[:, None], idx[None, :]], Sig[:, idx[:, None], idx[None, :]]
    if b is not None:
        return items, S[0], Sig[0]
    return items, S, Sig


def model_fit(est, *, repeated_indicators=False) -> pd.DataFrame:
    """SRMR, d_ULS and d_G of the saturated and the estimated model (one row per measure)."""
    if repeated_indicators:
        raise ModelSpecificationError(
            "model fit with hoc='repeated_indicators' is not supported (the repeated columns would enter the "
            "indicator correlation matrix twice); estimate with hoc='two_stage' for SRMR, d_ULS and d_G")
    out = {}
    for name, sat in (("saturated", True), ("estimated", False)):
        _, S, Sig = implied(est, sat)
        out[name] = distances(S, Sig)
    return pd.DataFrame({"measure": list(MEASURES), "saturated": list(out["saturated"]),
                         "estimated": list(out["estimated"])})


def _sym_power(A, power):
    vals, vecs = np.linalg.eigh((A + A.T) / 2)
    if vals.min() <= 0:
        return None
    return (vecs * vals ** power) @ vecs.T


def fit_test(X, spec, items, est, *, draws=1000, seed=None, scheme="path", consistent=False, max_iter=300,
             tol=1e-7, repeated_indicators=False) -> pd.DataFrame:
    """Bootstrap-based test of exact model fit (Dijkstra & Henseler 2015), as SmartPLS's "complete
    bootstrap" reports it: for the saturated and for the estimated model, the standardized data are
    rotated so that their correlation matrix equals the model-implied one (Bollen & Stine 1992:
    Z S^{-1/2} Sigma^{1/2}), ``draws`` resamples of the rotated data are estimated, and the 95 % and
    99 % quantiles of each discrepancy (HI95, HI99) are compared with the original value.  Resamples
    that cannot be estimated, or whose implied correlation matrix is not positive definite, are left
    out (``draws`` counts those used).  With this rule the quantiles agree with ADANCO 2.2.1's HI95/HI99
    within Monte Carlo error (tests/test_pls_fit.py).

    Returns
    -------
    DataFrame
        ``model, measure, value, hi95, hi99, pvalue`` (share of draws at or above the value) and
        ``draws`` used; a model whose implied matrix is not positive definite cannot be rotated and
        raises :class:`~icaf_sem.errors.EstimationError`.
    """
    from ..errors import EstimationError
    from .algorithm import batched_moments
    from .bootstrap import _resample_counts
    from .estimate import estimate
    if repeated_indicators:
        raise ModelSpecificationError("the fit test with hoc='repeated_indicators' is not supported; use "
                                      "hoc='two_stage'")
    if not isinstance(draws, (int, np.integer)) or isinstance(draws, bool) or draws < 20:
        raise ModelSpecificationError(f"draws={draws!r}: give at least 20 bootstrap draws (e.g. 1000)")
    X = np.asarray(X, dtype=float)
    Z = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    rows = []
    for model, sat in (("saturated", True), ("estimated", False)):
        names, S, Sig = implied(est, sat)
        if names != list(items):
            raise ModelSpecificationError("the fit test needs every data column to be an indicator of the model")
        orig = distances(S, Sig)
        a, b = _sym_power(S, -0.5), _sym_power(Sig, 0.5)
        if a is None or b is None:
            raise EstimationError(f"fit test: the {model} model's implied indicator correlation matrix is not "
                                  "positive definite, so the data cannot be rotated to it (Bollen-Stine)")
        Zr = Z @ a @ b
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0 if sat else 1])
        vals = []
        done = 0
        while done < draws:
            size = min(500, draws - done)
            C = _resample_counts(rng, size, Z.shape[0])
            _, _, Sb = batched_moments(Zr, C)
            eb = estimate(Sb, spec, items, scheme=scheme, consistent=consistent, max_iter=max_iter, tol=tol)
            _, Sb_, Sigb = implied(eb, sat, b=None)
            with np.errstate(all="ignore"):
                keep = eb.ok & np.isfinite(Sigb).all(axis=(1, 2))
                keep[keep] = np.linalg.eigvalsh(Sigb[keep]).min(axis=1) > 0   # else no implied matrix: left out
            vals.append(distances(Sb_[keep], Sigb[keep]))
            done += size
        vals = np.concatenate(vals)
        for j, m in enumerate(MEASURES):
            v = vals[:, j][np.isfinite(vals[:, j])]
            rows.append({"model": model, "measure": m, "value": orig[j],
                         "hi95": float(np.quantile(v, 0.95)) if len(v) else np.nan,
                         "hi99": float(np.quantile(v, 0.99)) if len(v) else np.nan,
                         "pvalue": float(np.mean(v >= orig[j])) if len(v) else np.nan, "draws": int(len(v))})
    return pd.DataFrame(rows, columns=["model", "measure", "value", "hi95", "hi99", "pvalue", "draws"])
