"""Discrepancy functions with analytic gradients.

The objective is minus the normal log-likelihood divided by the total sample
size, summed over groups (complete data: from the sample moments; missing
data: full-information ML from the missing-data patterns).  Gradients are
computed first w.r.t. the implied moments (Sigma, mu) and then chained to the
parameters through the RAM matrices (:meth:`GroupRAM.gradient_chain`).
"""
from __future__ import annotations

import functools

import numpy as np
from scipy.linalg.lapack import dpotrf as _dpotrf, dpotri as _dpotri

from .._linalg import spd_inverse

LOG2PI = np.log(2 * np.pi)


def complete_moments_loss(sigma, mu, N, S, ybar, meanstructure, grad=True):
    """-logL and its derivatives w.r.t. (Sigma, mu) for complete data (sufficient statistics).

    ``sigma``/``mu`` may carry leading batch dimensions.
    """
    p = S.shape[-1]
    batch = sigma.shape[:-2]
    if not batch:
        return _complete_moments_loss_one(sigma, mu, N, S, ybar, meanstructure, grad)
    P, logdet = batched_spd_inverse(sigma)        # NaN where a matrix is not positive definite
    T = S
    if meanstructure:
        d = ybar - mu
        T = S + d[..., :, None] * d[..., None, :]
    f = 0.5 * N * (p * LOG2PI + logdet + np.sum(P * T, axis=(-1, -2)))
    f = np.where(np.isnan(logdet), np.inf, f)
    if not grad:
        return f, None, None
    PTP = P @ T @ P
    g_sigma = 0.5 * N * (P - PTP)
    g_mu = -N * np.einsum("...ij,...j->...i", P, d) if meanstructure else None
    return f, g_sigma, g_mu


def batched_spd_inverse(A):
    """Inverses and log-determinants of many symmetric positive definite matrices (..., p, p).

    One LAPACK Cholesky factorisation and inversion per matrix (``dpotrf``/``dpotri``) costs about
    half of NumPy's batched LU inverse plus a batched Cholesky.  A matrix that is not positive
    definite gets NaN (inverse and log-determinant).
    """
    shape = A.shape
    p = shape[-1]
    A2 = A.reshape(-1, p, p)
    P = np.empty(A2.shape)
    logdet = np.empty(len(A2))
    for b in range(len(A2)):
        c, info = _dpotrf(A2[b], lower=True, clean=False)
        if info == 0:
            logdet[b] = 2.0 * np.log(np.diagonal(c)).sum()
            c, info = _dpotri(c, lower=True)
        if info != 0:
            P[b], logdet[b] = np.nan, np.nan
        else:
            P[b] = c                                    # the lower triangle holds the inverse
    iu = _triu_pairs(p)
    P[:, iu[0], iu[1]] = P[:, iu[1], iu[0]]
    return P.reshape(shape), logdet.reshape(shape[:-2])


@functools.lru_cache(maxsize=8)
def _triu_pairs(p):
    """Row and column indices of the strict upper triangle of a p x p matrix."""
    return np.triu_indices(p, 1)


def _complete_moments_loss_one(sigma, mu, N, S, ybar, meanstructure, grad):
    """:func:`complete_moments_loss` for one (Sigma, mu)."""
    p = S.shape[-1]
    P, logdet = spd_inverse(sigma)
    if P is None:
        return np.inf, None, None
    T = S
    if meanstructure:
        d = ybar - mu
        T = S + np.outer(d, d)
    f = float(0.5 * N * (p * LOG2PI + logdet + np.vdot(P, T)))
    if not grad:
        return f, None, None
    PTP = P @ T @ P
    g_sigma = 0.5 * N * (P - PTP)
    g_mu = -N * (P @ d) if meanstructure else None
    return f, g_sigma, g_mu


def spd_inv_logdet(A):
    """Inverse and log-determinant of many small symmetric positive definite matrices (..., k, k).

    Gauss-Jordan elimination without pivoting, vectorised over the leading dimensions (a LAPACK
    call per tiny matrix costs far more than the arithmetic).  Raises ``np.linalg.LinAlgError``
    when a matrix is not positive definite, as a Cholesky factorisation would.
    """
    k = A.shape[-1]
    if k > 6:
        L = np.linalg.cholesky(A)
        return np.linalg.inv(A), 2 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1)
    M = np.array(A, dtype=float, copy=True)
    logdet = np.zeros(A.shape[:-2])
    for j in range(k):
        piv = M[..., j, j].copy()
        if not np.all(piv > 0):
            raise np.linalg.LinAlgError("matrix is not positive definite")
        logdet += np.log(piv)
        # Gauss-Jordan step in place: row j scaled, the others eliminated (inverse built in M)
        rowj = M[..., j, :] / piv[..., None]
        rowj[..., j] = 1.0 / piv
        colj = M[..., :, j].copy()
        colj[..., j] = 0.0
        M -= colj[..., :, None] * rowj[..., None, :]
        M[..., :, j] = -colj / piv[..., None]
        M[..., j, :] = rowj
    if not np.all(np.isfinite(logdet)):
        raise np.linalg.LinAlgError("matrix is not positive definite")
    return M, logdet


def pattern_inverses(P, patterns):
    """Embedded inverses of Sigma_OO for every pattern, from P = Sigma^-1 (leading batch dims allowed).

    Returns ``{k: (idx, Q, logdet_Pmm)}`` where ``Q`` has shape (..., G_k, p, p) with zero
    rows/columns at the missing variables and ``log|Sigma_OO| = log|Sigma| + logdet_Pmm``.
    Raises ``np.linalg.LinAlgError`` when a P_MM block is not positive definite.
    """
    out = {}
    batch = P.shape[:-2]
    for k, (idx, miss) in patterns.by_k.items():
        if k == 0:
            Q = np.broadcast_to(P[..., None, :, :], batch + (len(idx),) + P.shape[-2:])
            out[k] = (idx, Q, np.zeros(batch + (len(idx),)))
            continue
        Pmm = P[..., miss[:, :, None], miss[:, None, :]]                 # (..., G, k, k)
        Pinv, ld = spd_inv_logdet(Pmm)
        Pm = np.swapaxes(P[..., :, miss], -3, -2)                        # (..., G, p, k)
        Q = P[..., None, :, :] - Pm @ (Pinv @ np.swapaxes(Pm, -1, -2))
        out[k] = (idx, Q, ld)
    return out


def fiml_loss(sigma, mu, pat_stats, patterns, grad=True):
    """-logL and derivatives under FIML, from missing-data pattern statistics.

    For each pattern with missing set M the inverse of Sigma_OO, embedded in a
    p x p matrix with zero rows/columns for M, is P - P[:,M] P_MM^-1 P[M,:]
    (P = Sigma^-1), and log|Sigma_OO| = log|Sigma| + log|P_MM|; patterns with
    the same number of missing variables are handled as one batch.  ``sigma``
    and ``mu`` may carry leading batch dimensions (many parameter vectors at once).
    """
    n_g, means, covs = pat_stats
    p = sigma.shape[-1]
    batch = sigma.shape[:-2]
    try:
        L = np.linalg.cholesky(sigma)
        logdet = 2 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1)
        P = np.linalg.inv(sigma)
        P = 0.5 * (P + np.swapaxes(P, -1, -2))
        inv = pattern_inverses(P, patterns)
    except np.linalg.LinAlgError:
        if batch:
            return _fiml_loss_each(sigma, mu, pat_stats, patterns, grad)
        return np.inf, None, None
    f = np.zeros(batch)
    g_sigma = np.zeros(batch + (p, p)) if grad else None
    g_mu = np.zeros(batch + (p,)) if grad else None
    masks = patterns.masks
    for k, (idx, Q, ldm) in inv.items():
        # pattern statistics may carry the same leading batch dims (bootstrap draws)
        w = n_g[..., idx]
        nobs = p - k
        d = (means[..., idx, :] - mu[..., None, :]) * masks[idx]          # (..., G, p)
        Qd = np.einsum("...gij,...gj->...gi", Q, d)
        S = covs[..., idx, :, :]
        ld = logdet[..., None] + ldm
        quad = np.einsum("...gij,...gij->...g", Q, S) + np.einsum("...gi,...gi->...g", d, Qd)
        f += 0.5 * np.sum(w * (nobs * LOG2PI + ld + quad), axis=-1)
        if grad:
            QSQ = Q @ S @ Q
            g_sigma += 0.5 * np.einsum("...g,...gij->...ij", w, Q - QSQ - Qd[..., :, None] * Qd[..., None, :])
            g_mu += -np.einsum("...g,...gi->...i", w, Qd)
    if not batch:
        f = float(f)
    return f, g_sigma, g_mu


def fiml_loss_cases(sigma, mu, patterns, W=None, grad=True):
    """FIML -logL and derivatives computed case by case, for many (Sigma, mu) and case weights at once.

    ``sigma`` (B,p,p) and ``mu`` (B,p) are the implied moments of B parameter
    vectors, ``W`` (B,n) case weights (bootstrap counts; ones when None).
    For case i with missing set M, z_i = Sigma_OO^-1 (x_i - mu)_O (embedded) is
    P r_i - P[:,M] P_MM^-1 (P r_i)_M with P = Sigma^-1, so the work is a few
    products with the (n x p) data instead of one p x p product per pattern:
    -logL = 1/2 sum_i w_i [n_i log 2pi + log|Sigma| + log|P_MM| + r_i' z_i],
    d/dSigma = 1/2 sum_i w_i (Q_i - z_i z_i'),  d/dmu = -sum_i w_i z_i,
    with sum_i w_i Q_i = N P - sum_i w_i P[:,M] P_MM^-1 P[M,:].
    """
    B, p = sigma.shape[0], sigma.shape[-1]
    Xz = patterns.Xz
    n = Xz.shape[0]
    if W is None:
        W = np.ones((B, n))
    L = np.linalg.cholesky(sigma)                                   # raises LinAlgError if not PD
    logdet = 2 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1)  # (B,)
    P = np.linalg.inv(sigma)
    P = 0.5 * (P + np.swapaxes(P, -1, -2))
    mask = patterns.masks[patterns.case_pattern]                     # (n,p)
    R = (Xz[None, :, :] - mu[:, None, :]) * mask                     # (B,n,p)
    Z = R @ P                                                        # P symmetric: rows are P r_i
    Nw = W.sum(1)
    f = 0.5 * (W @ patterns.nobs_case * LOG2PI + Nw * logdet)
    sumQ = Nw[:, None, None] * P if grad else None
    for k, (rows, miss) in patterns.cases_by_k.items():
        if k == 0:
            continue
        # everything that depends only on the pattern is computed once per pattern
        pidx, pmiss = patterns.by_k[k][0], patterns.by_k[k][1]
        pos = patterns.case_pattern_pos(k)                              # case -> pattern (within k)
        Pmm = P[:, pmiss[:, :, None], pmiss[:, None, :]]                # (B,G,k,k)
        Pinv, ldm = spd_inv_logdet(Pmm)                                 # (B,G,k,k), (B,G)
        Wp = patterns.pattern_weights(k, W)                             # (B,G) weight per pattern
        f += 0.5 * np.einsum("bg,bg->b", Wp, ldm)
        PmT = P[:, pmiss, :]                                            # (B,G,k,p) = P[M,:]
        Y = np.einsum("bgij,bgjp->bgip", Pinv, PmT)                     # (B,G,k,p) = P_MM^-1 P[M,:]
        um = np.take_along_axis(Z[:, rows, :], np.broadcast_to(miss, (B,) + miss.shape), axis=2)  # (B,nk,k)
        # z_i -= P[:,M] P_MM^-1 (P r_i)_M  ==  (P_MM^-1 P[M,:])' (P r_i)_M
        Z[:, rows, :] -= np.einsum("bnk,bnkp->bnp", um, Y[:, pos])
        if grad:
            # sum_i w_i P[:,M] P_MM^-1 P[M,:] = sum_patterns W_g Pm_g Y_g
            G = len(pidx)
            PmW = (PmT * Wp[:, :, None, None]).transpose(0, 3, 1, 2).reshape(B, p, G * k)
            sumQ -= PmW @ Y.reshape(B, G * k, p)
    f += 0.5 * np.einsum("bn,bnp,bnp->b", W, R, Z)
    if not grad:
        return f, None, None
    WZ = Z * W[:, :, None]
    g_sigma = 0.5 * (sumQ - np.swapaxes(WZ, 1, 2) @ Z)
    g_mu = -WZ.sum(1)
    return f, g_sigma, g_mu


def _fiml_loss_each(sigma, mu, pat_stats, patterns, grad):
    """Batch fallback when some parameter vectors give a non-positive-definite matrix."""
    batch = sigma.shape[:-2]
    p = sigma.shape[-1]
    sig2 = sigma.reshape((-1, p, p))
    mu2 = mu.reshape((-1, p))
    fs, gs, gm = [], [], []
    for b in range(len(sig2)):
        f, a, c = fiml_loss(sig2[b], mu2[b], pat_stats, patterns, grad)
        fs.append(f)
        gs.append(a if a is not None else np.full((p, p), np.nan))
        gm.append(c if c is not None else np.full(p, np.nan))
    return (np.array(fs).reshape(batch), np.array(gs).reshape(batch + (p, p)) if grad else None,
            np.array(gm).reshape(batch + (p,)) if grad else None)


class Objective:
    """Minus the log-likelihood / N (summed over groups), with its analytic gradient."""

    def __init__(self, rams, datas):
        self.rams = rams
        self.datas = datas
        self.ntotal = sum(d.N for d in datas)

    def group_loss(self, g, theta, grad=True):
        ram, data = self.rams[g], self.datas[g]
        sigma, mu = ram.implied(theta, keep=grad)
        if data.has_missing:
            single = sigma.ndim == 2
            sg, m = (sigma[None], mu[None]) if single else (sigma.reshape(-1, *sigma.shape[-2:]), mu.reshape(-1, mu.shape[-1]))
            W = None if data.weights is None else np.broadcast_to(data.weights, (len(sg), len(data.weights)))
            try:
                f, gs, gm = fiml_loss_cases(sg, m, data.patterns, W, grad)
            except np.linalg.LinAlgError:
                return fiml_loss(sigma, mu, data.pat, data.patterns, grad)
            if single:
                return float(f[0]), (gs[0] if grad else None), (gm[0] if grad else None)
            batch = sigma.shape[:-2]
            return (f.reshape(batch), gs.reshape(sigma.shape) if grad else None,
                    gm.reshape(mu.shape) if grad else None)
        return complete_moments_loss(sigma, mu, data.N, data.cov, data.mean, ram.meanstructure, grad)

    def __call__(self, theta):
        f = 0.0
        for g in range(len(self.rams)):
            fg, _, _ = self.group_loss(g, theta, grad=False)
            f += fg
        return f / self.ntotal

    def value_and_grad(self, theta):
        """Objective and gradient; ``theta`` may be (npar,) or (B, npar) for many vectors at once."""
        theta = np.asarray(theta, float)
        batch = theta.shape[:-1]
        f = np.zeros(batch)
        grad = np.zeros(theta.shape)
        for g, ram in enumerate(self.rams):
            fg, gs, gm = self.group_loss(g, theta, grad=True)
            f = f + fg
            if batch:
                bad = ~np.isfinite(np.asarray(fg))
                if bad.any():
                    gs = np.where(bad[..., None, None], 0.0, gs)
                    if gm is not None:
                        gm = np.where(bad[..., None], 0.0, gm)
            elif not np.isfinite(fg):
                return np.inf, np.full(theta.shape, np.nan)
            grad += ram.gradient_chain(theta, gs, gm)
        if batch:
            bad = ~np.isfinite(f)
            grad[bad] = np.nan
            return f / self.ntotal, grad / self.ntotal
        return float(f) / self.ntotal, grad / self.ntotal

    def logl(self, theta):
        return -self(theta) * self.ntotal
