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
    from scipy.linalg.lapack import dpotrf as _dpotrf, dpotri as _dpotri
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


def _bincount_rows(idx, vals, m):
    """Row b of the result is ``np.bincount(idx, weights=vals[b], minlength=m)``: one call for all rows."""
    B = vals.shape[0]
    flat = (np.arange(B)[:, None] * m + idx[None, :]).ravel()
    return np.bincount(flat, weights=vals.ravel(), minlength=B * m).reshape(B, m)


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
                if W is None:           # unweighted: the data's sufficient statistics, built once per data set
                    st = unit_stats(data.patterns)
                    if len(sg) > 1:
                        st = st.subset(np.zeros(len(sg), dtype=np.intp))
                    f, gs, gm = st.loss(sg, m, grad)
                else:
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


class FimlResampleStats:
    """Sufficient statistics of B case-weight vectors (bootstrap resamples) for the FIML loss.

    :func:`fiml_loss_cases` passes over the (B, n, p) residuals at every evaluation.  Here the
    data enter once per resample, through moments of the rows with their missing values set
    to zero (x~_i, centred at the full-sample means) and of their observed masks m_i::

        Cx = sum_i w_i x~_i x~_i',  sx = sum_i w_i x~_i,  Cxm = sum_i w_i x~_i m_i',
        Cmm = sum_i w_i m_i m_i',   n_g = sum_{i in pattern g} w_i,

    so that the residual scatter about mu is T = Cx - Cxm D_mu - D_mu Cxm' + D_mu Cmm D_mu
    (D_mu = diag(mu)), and through the rows' values at their missing entries only.  With
    P = Sigma^-1, u_iM = (P r_i)_M and a_i = P_MM^-1 u_iM (the regression of the missing
    variables on the observed ones), r_i' Sigma_OO^-1 r_i = r_i' P r_i - u_iM' a_i, and the
    residual with its missing entries filled in, z_i = r_i - E_M a_i, gives
    sum_i w_i Sigma_OO^-1 r_i r_i' Sigma_OO^-1 (embedded) = P (T - Y - Y' + A2) P with
    Y = sum_i w_i E_M a_i r_i' and A2 = sum_i w_i E_M a_i a_i' E_M'.  An evaluation then costs
    O(B (e p + p^3 + G k^2)) for e missing entries and G patterns instead of O(B n p^2); the
    loss and gradient are those of :func:`fiml_loss_cases` (the same sums, regrouped).

    An incomplete pattern with many cases (at least max(2p, 16), the largest first, within
    ``_BIG_BUDGET`` numbers) keeps its own moments S_g = sum w x~ x~' and s_g = sum w x~ instead
    of its missing entries: with F = P_MM^-1 P[M, :] and R = sum_i w_i r_i r_i' (from S_g, s_g
    and n_g), its sums are sum a_i' u_i = tr(F R P[:, M]), sum a_i r_i' = F R and
    sum a_i a_i' = F R F', at O(B k p^2) a pattern whatever its number of cases.
    """

    _BIG_BUDGET = 8_000_000      # at most this many numbers (64 MB) of per-pattern moments

    def __init__(self, patterns, W, center=None):
        W_in = np.asarray(W)                 # bootstrap counts may come in a small integer type:
        W = np.asarray(W_in, float)          # gathers from it move less memory
        self.W = W
        self.patterns = patterns
        B = W.shape[0]
        Xz = patterns.Xz
        n, p = Xz.shape
        # the centred rows do not depend on the weights: kept on the patterns for the next chunk
        base = getattr(patterns, "_resample_base", None) if center is None else None
        if base is None:
            mask = patterns.masks[patterns.case_pattern]               # (n, p) bool
            own = center is None
            if own:
                cnt = np.maximum(mask.sum(0), 1)
                center = Xz.sum(0) / cnt
            center = np.asarray(center, float)
            Xc = np.where(mask, Xz - center, 0.0)
            if own:
                patterns._resample_base = (center, mask, Xc)
        else:
            center, mask, Xc = base
        self.center = center
        self.N = W.sum(1)
        self.nobs_term = W @ patterns.nobs_case.astype(float)
        iu = np.triu_indices(p)
        ntri = len(iu[0])
        # Incomplete patterns with many cases enter the loss through their own weighted moments
        # (S_g = sum w x~ x~', s_g = sum w x~: B p^2 numbers a pattern, whatever its size); the
        # cases of the other patterns through their missing entries (below).
        G = patterns.G
        size_g = np.bincount(patterns.case_pattern, minlength=G)
        cand = np.flatnonzero((size_g >= max(2 * p, 16)) & (~patterns.masks).any(1))
        cand = cand[np.argsort(-size_g[cand], kind="stable")]
        cand = cand[:max(0, self._BIG_BUDGET // max(1, B * p * p))]
        # by number missing, then pattern: each k's patterns are one slice of the moments
        cand = cand[np.lexsort((cand, (~patterns.masks[cand]).sum(1)))]
        self.big = np.zeros(G, bool)
        self.big[cand] = True
        big_pos = np.full(G, -1)
        big_pos[cand] = np.arange(len(cand))
        # Cx and sx: one matrix product per block of rows with the upper triangle of x~ x~'; then
        # S_g and s_g the same way over the rows of each pattern with moments
        Cx_t = np.zeros((B, ntri))
        sx = np.zeros((B, p))
        S_tri = np.zeros((B, len(cand), ntri))
        s_big = np.zeros((B, len(cand), p))
        step = max(1, 4_000_000 // ntri)
        XXt = np.empty((ntri, min(step, n)))                          # the products, one row per (j, l)
        offs = np.r_[0, np.cumsum(np.arange(p, 0, -1))]               # rows of j: l = j..p-1

        def block(Xb, Wb):
            Xbt = np.ascontiguousarray(Xb.T)                          # (p, rows)
            Pt = XXt[:, :Xbt.shape[1]]
            for j in range(p):                                        # x_j x_l (l >= j), row block by row block
                np.multiply(Xbt[j], Xbt[j:], out=Pt[offs[j]:offs[j + 1]])
            return Wb @ Pt.T, Wb @ Xbt.T

        for a in range(0, n, step):
            Gb, sb = block(Xc[a:a + step], W[:, a:a + step])
            Cx_t += Gb
            sx += sb
        if len(cand):
            rows_sorted = np.argsort(patterns.case_pattern, kind="stable")
            ends = np.cumsum(size_g)
            for gi, g in enumerate(cand):
                rows = rows_sorted[ends[g] - size_g[g]:ends[g]]
                for a in range(0, len(rows), step):
                    r = rows[a:a + step]
                    # np.take from the counts' own (small) type: a third of the time of W[:, r]
                    Gb, sb = block(Xc[r], np.take(W_in, r, axis=1).astype(float))
                    S_tri[:, gi] += Gb
                    s_big[:, gi] += sb
        up, lo_ = iu[0] * p + iu[1], iu[1] * p + iu[0]                # the triangle in flat p x p positions
        Cx = np.empty((B, p * p))
        Cx[:, lo_] = Cx_t
        Cx[:, up] = Cx_t
        Cx = Cx.reshape(B, p, p)
        S_big = np.empty((B, len(cand), p * p))
        S_big[..., lo_] = S_tri
        S_big[..., up] = S_tri
        S_big = S_big.reshape(B, len(cand), p, p)
        self.S_big, self.s_big = S_big, s_big
        self.Cx, self.sx = Cx, sx
        # the missing entries of the cases without pattern moments, grouped by variable: case,
        # variable and where each sits in its case's (k-slot) layout
        small_case = ~self.big[patterns.case_pattern]
        miss_case, miss_var = np.nonzero(~mask & small_case[:, None])  # row-major: by case, then variable
        order = np.argsort(miss_var, kind="stable")
        self.e_case, self.e_var = miss_case[order], miss_var[order]
        self.e_bounds = np.searchsorted(self.e_var, np.arange(p + 1))
        E = len(self.e_case)
        self.XE = Xc[self.e_case]                                     # (E, p)
        self.ME = mask[self.e_case].astype(float)                     # (E, p)
        self.wE = np.take(W_in, self.e_case, axis=1).astype(float)   # (B, E)
        ng = _bincount_rows(patterns.case_pattern, W, patterns.G)
        self.n_g = ng
        # Cxm = sx 1' - (sum over the rows missing l of w x~) in column l; Cmm from the counts
        # (c: the weight of the rows missing l); the patterns with moments add s_g and n_g
        Cxm = np.repeat(sx[:, :, None], p, axis=2)
        c = np.zeros((B, p))
        for j in range(p):
            s, e = self.e_bounds[j], self.e_bounds[j + 1]
            if e > s:
                Cxm[:, :, j] -= self.wE[:, s:e] @ self.XE[s:e]
                c[:, j] = self.wE[:, s:e].sum(1)
        if len(cand):
            qbig = (~patterns.masks[cand]).astype(float)              # (Gb, p)
            Cxm -= np.einsum("bgj,gl->bjl", s_big, qbig)
            c += ng[:, cand] @ qbig
        self.Cxm = Cxm
        # sum_g n_g q_g q_g' over the few (pattern, missing j, missing l) triples
        qb = ~patterns.masks
        gq, jq, lq = np.nonzero(qb[:, :, None] & qb[:, None, :])
        flat = jq * p + lq
        srt = np.argsort(flat, kind="stable")
        uflat, first = np.unique(flat[srt], return_index=True)
        Qq = np.zeros((B, p * p))
        if len(srt):
            Qq[:, uflat] = np.add.reduceat(ng[:, gq[srt]], first, axis=1)
        Qq = Qq.reshape(B, p, p)
        self.Cmm = self.N[:, None, None] - c[:, :, None] - c[:, None, :] + Qq
        self._cnt = c
        # per k: the entries of each case in slot order, and the case's pattern among those with k
        pos_in_E = np.empty(E, dtype=np.intp)
        pos_in_E[order] = np.arange(E)                                # entry (case-major) -> grouped position
        self.by_k = []
        counts = np.bincount(miss_case, minlength=n)
        for k, (rows, miss) in patterns.cases_by_k.items():
            if k == 0:
                continue
            rows = rows[small_case[rows]]
            pidx, pmiss = patterns.by_k[k]
            pos = np.searchsorted(pidx, patterns.case_pattern[rows])
            srt = np.argsort(pos, kind="stable")                      # the cases pattern by pattern
            rows, pos = rows[srt], pos[srt]
            ustarts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]]) if len(pos) else np.zeros(0, np.intp)
            # entries of these rows in case-major order: their entries are contiguous blocks of
            # the case-major list at offsets cumsum(counts)
            offs = np.concatenate([[0], np.cumsum(counts)])[rows]
            slots = offs[:, None] + np.arange(k)[None, :]             # (n_k, k) case-major entry ids
            bsel = np.flatnonzero(self.big[pidx])                     # this k's patterns with moments
            # this k's pattern moments are consecutive (cand is ordered by k): one slice of them
            bpos = big_pos[pidx[bsel]]
            bslice = slice(bpos[0], bpos[-1] + 1) if len(bpos) else slice(0, 0)
            self.by_k.append((k, pos_in_E[slots], pidx, pmiss, pos, bsel, bslice,
                              patterns.masks[pidx[bsel]].astype(float), ustarts))

    def loss(self, sigma, mu, grad=True):
        """-logL (B,) and its derivatives w.r.t. Sigma (B,p,p) and mu (B,p), as :func:`fiml_loss_cases`."""
        B, p = sigma.shape[0], sigma.shape[-1]
        L = np.linalg.cholesky(sigma)                                 # raises LinAlgError if not PD
        logdet = 2 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1)
        P = np.linalg.inv(sigma)
        P = 0.5 * (P + np.swapaxes(P, -1, -2))
        m = mu - self.center                                          # (B, p) in centred units
        Cxm_D = self.Cxm * m[:, None, :]
        T = self.Cx - Cxm_D - np.swapaxes(Cxm_D, 1, 2) + self.Cmm * m[:, :, None] * m[:, None, :]
        f = 0.5 * (self.nobs_term * LOG2PI + self.N * logdet + np.einsum("bij,bij->b", P, T))
        # u_e = P[var_e, :] r_case(e) for every missing entry, variable by variable
        E = len(self.e_case)
        uE = np.empty((B, E))
        for j in range(p):
            s, e = self.e_bounds[j], self.e_bounds[j + 1]
            if e > s:
                Pj = P[:, j, :]                                       # (B, p)
                uE[:, s:e] = (self.XE[s:e] @ Pj.T).T - (self.ME[s:e] @ (Pj * m).T).T
        aE = np.empty((B, E))
        Abar = np.zeros((B, p * p)) if grad else None
        big_parts = []
        for k, slots, pidx, pmiss, pos, bsel, sl, bmask, ustarts in self.by_k:
            Pmm = P[:, pmiss[:, :, None], pmiss[:, None, :]]          # (B, G_k, k, k)
            Pinv, ldm = spd_inv_logdet(Pmm)
            ng = self.n_g[:, pidx]                                    # (B, G_k)
            f += 0.5 * np.einsum("bg,bg->b", ng, ldm)
            if grad:                                                  # sum_g n_g E_M P_MM^-1 E_M'
                flat = (pmiss[:, :, None] * p + pmiss[:, None, :]).reshape(-1)
                Abar += _bincount_rows(flat, (ng[:, :, None, None] * Pinv).reshape(B, -1), p * p)
            if len(bsel):
                # patterns with moments: a_i = F r_i with F = P_MM^-1 P[M, :], and the sums over
                # their cases of r r' (R) and r (rho) from S_g, s_g and n_g
                pm = pmiss[bsel]                                      # (Gb, k)
                PM = P[:, pm, :]                                      # (B, Gb, k, p): P[M, :]
                F = Pinv[:, bsel] @ PM
                mm = m[:, None, :] * bmask[None]                      # (B, Gb, p): m on the observed entries
                sb = self.s_big[:, sl]
                nb = self.n_g[:, pidx[bsel]]
                # F R with R = sum_i w_i r_i r_i' = S - s mm' - mm s' + n mm mm'
                Fs = np.einsum("bgap,bgp->bga", F, sb)[..., None]
                Fm = np.einsum("bgap,bgp->bga", F, mm)[..., None]
                FR = (F @ self.S_big[:, sl] - Fs * mm[:, :, None, :] - Fm * sb[:, :, None, :]
                      + (nb[..., None, None] * Fm) * mm[:, :, None, :])   # (B, Gb, k, p) = sum_i w_i a_i r_i'
                f -= 0.5 * np.einsum("bgap,bgap->b", FR, PM)
                if grad:
                    rho = sb - nb[..., None] * mm
                    big_parts.append((pm, FR, np.einsum("bgap,bgp->bga", F, rho), FR @ np.swapaxes(F, -1, -2)))
            if not len(slots):
                continue
            u = uE[:, slots]                                          # (B, n_k, k)
            a = np.einsum("bnij,bnj->bni", Pinv[:, pos], u)
            aE[:, slots] = a
        wa = self.wE * aE
        f -= 0.5 * np.einsum("be,be->b", wa, uE)
        if not grad:
            return f, None, None
        # Y (rows: missing variables), A2 = sum_i w_i E_M a_i a_i' E_M', sum_i w_i z_i
        Y = np.zeros((B, p, p))
        wa_sum = np.zeros((B, p))
        for j in range(p):
            s, e = self.e_bounds[j], self.e_bounds[j + 1]
            if e > s:
                Y[:, j, :] = wa[:, s:e] @ self.XE[s:e] - (wa[:, s:e] @ self.ME[s:e]) * m
                wa_sum[:, j] = wa[:, s:e].sum(1)
        A2 = np.zeros((B, p * p))
        for pm, FR, Fr, FRF in big_parts:                             # the patterns with moments
            k = pm.shape[1]
            Yt, wat, A2t = np.swapaxes(Y, 0, 1), wa_sum.T, A2.T       # views: variable-first
            for a_ in range(k):
                np.add.at(Yt, pm[:, a_], np.swapaxes(FR[:, :, a_, :], 0, 1))
                np.add.at(wat, pm[:, a_], Fr[:, :, a_].T)
            flat = (pm[:, :, None] * p + pm[:, None, :]).reshape(-1)
            np.add.at(A2t, flat, FRF.reshape(B, -1).T)
        for k, slots, pidx, pmiss, pos, bsel, sl, bmask, ustarts in self.by_k:
            if not len(slots):
                continue
            vj = self.e_var[slots[ustarts]]                           # (U, k) variables of each pattern
            flat = (vj[:, :, None] * p + vj[:, None, :]).reshape(-1)
            a = aE[:, slots]
            w = self.wE[:, slots[:, 0]]                               # (B, n_k)
            # sum_i w_i a_i a_i' pattern by pattern (the cases are sorted by pattern), then placed
            outer = np.einsum("bni,bnj->bnij", w[:, :, None] * a, a)
            A2 += _bincount_rows(flat, np.add.reduceat(outer, ustarts, axis=1).reshape(B, -1), p * p)
        Sz = T - Y - np.swapaxes(Y, 1, 2) + A2.reshape(B, p, p)
        inner = self.N[:, None, None] * sigma - Abar.reshape(B, p, p) - Sz
        g_sigma = 0.5 * (P @ inner @ P)
        sum_z = self.sx - (self.N[:, None] - self._cnt) * m - wa_sum
        g_mu = -np.einsum("bij,bj->bi", P, sum_z)
        return f, g_sigma, g_mu

    def subset(self, sel):
        """The statistics of the resamples ``sel`` (the optimiser evaluates the active ones only)."""
        out = object.__new__(FimlResampleStats)
        out.__dict__.update(self.__dict__)
        for name in ("W", "N", "nobs_term", "Cx", "sx", "wE", "Cxm", "n_g", "Cmm", "S_big", "s_big"):
            setattr(out, name, getattr(self, name)[sel])
        out._cnt = self._cnt[sel]
        return out


def unit_stats(patterns) -> "FimlResampleStats":
    """:class:`FimlResampleStats` of the data themselves (every row weight 1), kept on ``patterns``."""
    st = getattr(patterns, "_unit_stats", None)
    if st is None:
        st = FimlResampleStats(patterns, np.ones((1, patterns.Xz.shape[0])))
        patterns._unit_stats = st
    return st
