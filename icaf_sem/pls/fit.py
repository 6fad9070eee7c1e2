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
    """Construct correlation matrix (K, K) of the saturated or the estimated (structural) model."""
    R = np.asarray(R, dtype=float)
    if saturated:
        return R.copy()
    K = layout.K
    A = np.asarray(beta, dtype=float).T            # A[dv, iv] = beta[iv, dv]
    endo = np.array([len(p) > 0 for p in layout.pred])
    if not endo.any():
        return R.copy()
    omega = np.where(np.outer(~endo, ~endo), R, 0.0)
    omega[endo, endo] = 1.0 - np.asarray(r2, dtype=float)[endo]
    inv = np.linalg.inv(np.eye(K) - A)
    V = inv @ omega @ inv.T
    V = (V + V.T) / 2
    np.fill_diagonal(V, 1.0)
    return V


def implied_indicator_correlations(S, V, loadings, layout):
    """Indicator correlation matrix (p, p) implied by construct correlations V and own loadings."""
    S = np.asarray(S, dtype=float)
    Lam = np.asarray(loadings, dtype=float) * layout.mask
    Sig = Lam @ V @ Lam.T
    for k, b in enumerate(layout.blocks):
        if layout.modes[k] == "B":
            Sig[np.ix_(b, b)] = S[np.ix_(b, b)]
    np.fill_diagonal(Sig, 1.0)
    return Sig


def distances(S, Sigma):
    """(SRMR, d_ULS, d_G) between an empirical and an implied correlation matrix."""
    S = np.asarray(S, dtype=float)
    Sigma = np.asarray(Sigma, dtype=float)
    D = S - Sigma
    iu = np.triu_indices(S.shape[0])
    srmr = float(np.sqrt(np.mean(D[iu] ** 2)))
    duls = float(0.5 * np.sum(D ** 2))
    try:
        phi = np.linalg.eigvals(np.linalg.solve(S, Sigma))
    except np.linalg.LinAlgError:
        return srmr, duls, float("nan")
    if np.any(np.abs(phi.imag) > 1e-8 * np.maximum(1.0, np.abs(phi.real))) or np.any(phi.real <= 0):
        dg = float("nan")
    else:
        dg = float(0.5 * np.sum(np.log10(phi.real) ** 2))
    return srmr, duls, dg


def _stage_own_loadings(stage, b=0):
    return stage.L[b] * stage.layout.mask


def implied(est, saturated, b=0):
    """(items, S, Sigma) of the full indicator set of an :class:`~.estimate.Estimate`."""
    last = est.stages[-1]
    lay2 = last.layout
    V = implied_construct_correlations(last.Rc[b], est.beta[b], est.r2[b], lay2, saturated)
    Sig2 = implied_indicator_correlations(last.S[b], V, _stage_own_loadings(last, b), lay2)
    if len(est.stages) == 1:
        return list(lay2.columns), last.S[b], Sig2
    st1 = est.stages[0]
    lay1 = st1.layout
    items = list(lay1.columns)
    p = len(items)
    dims = [c for c in lay2.columns[p:]]
    T = np.zeros((p, len(lay2.columns)))
    in_dim = np.zeros(p, dtype=bool)
    L1 = _stage_own_loadings(st1, b)
    for d in dims:
        k = lay1.constructs.index(d)
        blk = lay1.blocks[k]
        T[blk, lay2.columns.index(d)] = L1[blk, k]
        in_dim[blk] = True
    T[np.flatnonzero(~in_dim), np.flatnonzero(~in_dim)] = 1.0
    Sig = T @ Sig2 @ T.T
    S = st1.S[b]
    for d in dims:
        k = lay1.constructs.index(d)
        blk = lay1.blocks[k]
        if lay1.modes[k] == "B":
            Sig[np.ix_(blk, blk)] = S[np.ix_(blk, blk)]
    np.fill_diagonal(Sig, 1.0)
    # only the model's indicators (stage-1 columns not in any block do not occur)
    used = np.zeros(p, dtype=bool)
    for blk in lay1.blocks:
        used[blk] = True
    for k, blk in enumerate(lay2.blocks):
        used[blk[blk < p]] = True
    idx = np.flatnonzero(used)
    return [items[i] for i in idx], S[np.ix_(idx, idx)], Sig[np.ix_(idx, idx)]


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
