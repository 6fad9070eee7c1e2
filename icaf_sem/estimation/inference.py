"""Standard errors, robust (sandwich) inference, the Yuan-Bentler scaled test,
delta-method SEs for defined parameters, standardized solutions and
modification indices, following lavaan's definitions.
"""
from __future__ import annotations

import functools

import numpy as np

from .._linalg import spd_inverse, sym_inv
from .objectives import pattern_inverses
from .fiml_info import information_theta


# ----------------------------------------------------------------- duplication helpers
def vech_kron(A, B, w=None, out=None):
    """D' [sum_g w_g (A_g kron B_g)] D for symmetric A_g, B_g without forming p^2 x p^2 matrices.

    ``A`` and ``B`` are (p, p) or stacked (G, p, p) (then ``w`` (G,) weights them; ones when
    None).  With vec indexed column-major, (A kron B)[a + b p, c + d p] = A_bd B_ac, so the
    entry for u = (i, j), v = (k, l) (i >= j, k >= l) sums over the duplicated positions

        A_jl B_ik + [k != l] A_jk B_il + [i != j] A_il B_jk + [i != j, k != l] A_ik B_jl.

    Each term is an entry of the p* x p* matrix Z = sum_g w_g vech(A_g) vech(B_g)' (one GEMM
    over the patterns).  With Zs = Z + Z' the four terms pair up: the entry is
    Zs[(j,l), (i,k)] + [i != j, k != l] Zs[(j,k), (i,l)], halved when u and v are both diagonal
    (there the first term is counted once, Zs[(i,i), (k,k)] = 2 Z[(i,i), (k,k)]).  For large p
    the result is gathered in blocks of rows straight from Z (no Zs, no p*^2 index arrays), into
    ``out`` when given (a (p*, p*) view, e.g. a block of a larger matrix).
    """
    p = A.shape[-1]
    ci, ri = _vech_pairs(p)
    q = len(ci)
    Ah = np.reshape(A[..., ri, ci], (-1, q))
    Bh = np.reshape(B[..., ri, ci], (-1, q))
    if w is not None:
        Ah = Ah * np.asarray(w)[:, None]
    Z = Ah.T @ Bh
    del Ah, Bh
    if out is None:
        out = np.empty((q, q))
    if p <= 60:
        Zs = np.empty(q * q + 1)                         # flattened Zs, a trailing 0 for absent terms
        np.add(Z, Z.T, out=Zs[:-1].reshape(q, q))
        Zs[-1] = 0.0
        first, second, both_diag = _vech_kron_index(p)
        res = np.take(Zs, first)
        res += np.take(Zs, second)
        res.flat[both_diag] *= 0.5
        out[...] = res
        return out
    pos = np.empty((p, p), dtype=np.intp)
    pos[ri, ci] = pos[ci, ri] = np.arange(q)
    Zf = Z.ravel()
    k, l = ri[None, :], ci[None, :]
    dcol = ri == ci
    step = max(1, (1 << 20) // q)
    for a in range(0, q, step):
        b = min(q, a + step)
        i, j = ri[a:b, None], ci[a:b, None]
        r1, c1 = pos[j, l], pos[i, k]                   # first term: Zs[(j,l), (i,k)]
        blk = Zf[r1 * q + c1] + Zf[c1 * q + r1]
        both = (i != j) & (k != l)
        r2, c2 = pos[j, k], pos[i, l]                   # second term where both are off-diagonal
        blk += np.where(both, Zf[r2 * q + c2] + Zf[c2 * q + r2], 0.0)
        drow = dcol[a:b]
        if drow.any():
            blk[np.ix_(drow, dcol)] *= 0.5
        out[a:b] = blk
    return out


@functools.lru_cache(maxsize=2)
def _vech_kron_index(p):
    """Gather indices of :func:`vech_kron`: flat positions in Zs of its two terms, and the both-diagonal entries."""
    ci, ri = _vech_pairs(p)
    q = len(ci)
    pos = np.empty((p, p), dtype=np.intp)
    pos[ri, ci] = pos[ci, ri] = np.arange(q)
    i, j = ri[:, None], ci[:, None]
    k, l = ri[None, :], ci[None, :]
    first = pos[j, l] * q + pos[i, k]
    second = np.where((i != j) & (k != l), pos[j, k] * q + pos[i, l], q * q)
    diag = np.flatnonzero(ri == ci)
    both_diag = (diag[:, None] * q + diag[None, :]).ravel()
    return first, second, both_diag


@functools.lru_cache(maxsize=8)
def _vech_pairs(p):
    """(columns, rows) of lavaan's vech order: the lower triangle (row >= column), column by column."""
    cols, rows = np.triu_indices(p)
    cols.setflags(write=False)
    rows.setflags(write=False)
    return cols, rows


# ----------------------------------------------------------------- information matrices
def observed_information(objective, theta, h=1e-5, chunk=32):
    """Hessian of the objective (-logL/N): central differences of the analytic gradient.

    All 2 * npar perturbed parameter vectors are evaluated in vectorised batches.
    """
    npar = len(theta)
    steps = h * np.maximum(1.0, np.abs(theta))
    E = np.diag(steps)
    pts = np.vstack([theta + E, theta - E])
    grads = np.empty_like(pts)
    for a in range(0, len(pts), chunk):
        _, grads[a:a + chunk] = objective.value_and_grad(pts[a:a + chunk])
    H = ((grads[:npar] - grads[npar:]) / (2 * steps[:, None])).T
    return 0.5 * (H + H.T)


def analytic_hessian(objective, theta, h=1e-5):
    """Hessian of the objective (-logL/N, complete data or FIML) without differencing the likelihood.

    H = sum_groups [Delta' H_m Delta + d/dtheta (Delta(theta)' g_m)] / N, where H_m and g_m are the
    Hessian and gradient of the group's -logL w.r.t. its implied moments (mu, vech Sigma).  The
    first part is exact (:func:`fiml_info.information_theta`, the parameter-space form of
    Delta' :func:`moment_hessian` Delta).  Only the second part (the curvature of the
    model itself, with g_m held fixed) is a central difference, of the cheap chain rule alone.
    """
    npar = len(theta)
    H = np.zeros((npar, npar))
    steps = h * np.maximum(1.0, np.abs(theta))
    E = np.diag(steps)
    pts = np.vstack([theta + E, theta - E])
    for g, (ram, data) in enumerate(zip(objective.rams, objective.datas)):
        f, gs, gm = objective.group_loss(g, theta, grad=True)
        if not np.isfinite(f):
            raise np.linalg.LinAlgError("the objective is not finite at the estimates")
        # curvature of the moments: numerical derivative of Delta(theta)' g_m at fixed g_m
        gsb = np.broadcast_to(gs, (2 * npar,) + gs.shape)
        gmb = np.broadcast_to(gm, (2 * npar,) + gm.shape) if gm is not None else None
        ch = ram.gradient_chain(pts, gsb, gmb)
        H += ((ch[:npar] - ch[npar:]) / (2 * steps[:, None])).T
        H += information_theta(ram, data, theta)
    H /= objective.ntotal
    return 0.5 * (H + H.T)


def delta_vech(ram, theta):
    """Jacobian of (mu, vech Sigma) (vech Sigma alone without a mean structure) w.r.t. theta: (m, npar)."""
    d_sigma, d_mu = ram.delta(theta)
    ci, ri = _vech_pairs(ram.p)
    vs = d_sigma[:, ri, ci]
    return np.hstack([d_mu, vs]).T if ram.meanstructure else vs.T


def pattern_q(P, patterns):
    """Embedded inverses Q_g of Sigma_OO of every missing-data pattern, (G, p, p) in pattern order."""
    Q = np.empty((patterns.G,) + P.shape)
    for idx, Qk, _ in pattern_inverses(P, patterns).values():
        Q[idx] = Qk
    return Q


def moment_hessian(data, sigma, mu, meanstructure):
    """Hessian of the group's -logL (total, not per case) w.r.t. (mu, vech Sigma) at (sigma, mu).

    Per missing-data pattern g (complete data: one pattern, Q = Sigma^-1) with n_g cases,
    Q_g the embedded inverse of Sigma_OO, d_g = ybar_g - mu (observed part), z_g = Q_g d_g and
    R_g = Q_g (S_g + d_g d_g') Q_g = Q_g S_g Q_g + z_g z_g':

        d2/dmu dmu'         = sum_g n_g Q_g
        d2/dmu_i dSigma_ab  = sum_g n_g Q_g,ia z_g,b          (then times D, Sigma symmetric)
        d2/dvech(Sigma)^2   = D' [sum_g n_g Q_g kron (R_g - Q_g / 2)] D

    (the last is 1/2 D'[Q kron R + R kron Q - Q kron Q]D, as D'(A kron B)D = D'(B kron A)D).
    Rows/columns are (mu, vech Sigma), or vech Sigma alone without a mean structure.
    """
    p = sigma.shape[0]
    P = sym_inv(sigma)
    if data.has_missing:
        n_g, means, covs = data.pat
        Q = pattern_q(P, data.patterns)
        d = (means - mu) * data.patterns.masks
        meanstructure = True
    else:
        Q, n_g, covs = P[None], np.array([data.N]), data.cov[None]
        d = (data.mean - mu)[None] if meanstructure else np.zeros((1, p))
    z = np.einsum("gij,gj->gi", Q, d)
    Y = Q @ covs @ Q + z[:, :, None] * z[:, None, :] - 0.5 * Q
    if not meanstructure:
        return vech_kron(Q, Y, n_g)
    ci, ri = _vech_pairs(p)
    q = len(ci)
    H = np.empty((p + q, p + q))                   # (mu, vech Sigma) blocks filled in place
    vech_kron(Q, Y, n_g, out=H[p:, p:])
    del Y
    H[:p, :p] = np.einsum("g,gij->ij", n_g, Q)
    Hms = ((Q.reshape(len(Q), p * p).T * n_g) @ z).reshape(p, p, p)      # [i, a, b] = sum_g n_g Q_ia z_b
    Hms = Hms[:, ri, ci] + np.where(ri != ci, Hms[:, ci, ri], 0.0)
    H[:p, p:] = Hms
    H[p:, :p] = Hms.T
    return H


def h1_scores(data, sigma, mu, meanstructure, rows=None, _q=None):
    """Casewise derivatives of logL_i w.r.t. (mu, vech Sigma) at (sigma, mu): (n, p + p*) or (n, p*).

    With z_i = Q_i (x_i - mu) (observed part; Q_i the embedded inverse of Sigma_OO of the case's
    pattern): dlogL_i/dmu = z_i and dlogL_i/dSigma = (z_i z_i' - Q_i) / 2, whose vech entries are
    doubled off the diagonal (Sigma symmetric).  Complete data without a mean structure are
    centred at the sample mean.  ``rows`` (a slice) restricts the result to those cases; ``_q``
    passes the pattern inverses (``pattern_q``) already computed for these moments.
    """
    P = sym_inv(sigma)
    ci, ri = _vech_pairs(P.shape[0])
    rows = slice(None) if rows is None else rows
    if data.has_missing:
        pats = data.patterns
        Q = pattern_q(P, pats) if _q is None else _q
        cp = pats.case_pattern[rows]
        r = (pats.Xz[rows] - mu) * pats.masks[cp]
        z = np.einsum("nij,nj->ni", Q[cp], r)
        Qh = Q[:, ri, ci][cp]
    else:
        z = (data.X[rows] - (mu if meanstructure else data.mean)) @ P
        Qh = P[ri, ci]
    s_sig = 0.5 * (z[:, ri] * z[:, ci] - Qh) * np.where(ri != ci, 2.0, 1.0)
    return np.hstack([z, s_sig]) if meanstructure else s_sig


SCORE_ROWS = 4096      # cases per block of casewise scores: the (rows, p*) and (rows, p, p) blocks stay small


def casewise_scores(ram, data, theta):
    """Casewise gradient of logL_i w.r.t. theta: (n, npar), built block by block of cases so that the
    (n, p + p*) saturated scores are never held at once."""
    sigma, mu = ram.implied(theta)
    D = delta_vech(ram, theta)
    n = len(data.patterns.case_pattern) if data.has_missing else len(data.X)
    q = pattern_q(sym_inv(sigma), data.patterns) if data.has_missing else None
    out = np.empty((n, D.shape[1]))
    for a in range(0, n, SCORE_ROWS):
        b = min(a + SCORE_ROWS, n)
        out[a:b] = h1_scores(data, sigma, mu, ram.meanstructure, rows=slice(a, b), _q=q) @ D
    return out


def _h1_store(data, sigma, mu, meanstructure):
    """Per-data cache of h1 quantities at the saturated moments (sigma, mu), matched by identity."""
    cache = data.__dict__.setdefault("_h1_cache", [])
    for key, store in cache:
        if key[0] is sigma and key[1] is mu and key[2] == meanstructure and key[3] is data.weights:
            return store
    store = {}
    cache[:] = [((sigma, mu, meanstructure, data.weights), store)] + cache[:3]
    return store


def _cached(store, name, compute):
    if name not in store:
        value = compute()
        value.setflags(write=False)
        store[name] = value
    return store[name]


def h1_information(data, sigma, mu, meanstructure):
    """Observed (unstructured) h1 information per case in (mu, vech Sigma) at the saturated (sigma, mu).

    Cached on ``data``; the array returned is read-only.
    """
    def compute():
        A1 = moment_hessian(data, sigma, mu, meanstructure)
        A1 /= data.N
        A1 += A1.T
        A1 *= 0.5
        return A1
    return _cached(_h1_store(data, sigma, mu, meanstructure), "A1", compute)


def h1_information_inverse(data, sigma, mu, meanstructure, keep):
    """Inverse of ``h1_information(...)[keep][:, keep]`` (cached on ``data``; read-only)."""
    def compute():
        A1 = h1_information(data, sigma, mu, meanstructure)
        return _spd_inverse(A1[np.ix_(keep, keep)])
    return _cached(_h1_store(data, sigma, mu, meanstructure), ("inverse", keep.tobytes()), compute)


def _spd_inverse(A):
    """Inverse of a symmetric positive definite matrix from its Cholesky factor (LU if not positive definite)."""
    inv, _ = spd_inverse(A)
    return inv if inv is not None else np.linalg.inv(A)


def h1_crossproducts(data, sigma, mu, meanstructure, clustered=True):
    """sum_i s_i s_i' of the casewise h1 scores at the saturated moments (cached; read-only).

    ``clustered``: the scores as :func:`_clustered` makes them (times the sampling weights, summed
    per cluster with the factor sqrt(C / (C - 1))); otherwise the plain scores.  Built block by
    block of :data:`SCORE_ROWS` cases, so the (n, p + p*) score matrix is never held (4 GB at
    100 items and 100,000 cases); per cluster only the (clusters, p + p*) sums are.
    """
    def compute():
        n = len(data.patterns.case_pattern) if data.has_missing else len(data.X)
        q = pattern_q(sym_inv(sigma), data.patterns) if data.has_missing else None
        w = getattr(data, "weights_sampling", None) if clustered else None
        cl = getattr(data, "cluster", None) if clustered else None
        inv = np.unique(cl, return_inverse=True)[1].ravel() if cl is not None else None
        out, sums = None, None
        for a in range(0, n, SCORE_ROWS):
            b = min(a + SCORE_ROWS, n)
            S = h1_scores(data, sigma, mu, meanstructure, rows=slice(a, b), _q=q)
            if w is not None:
                S = S * w[a:b, None]
            if inv is not None:
                if sums is None:
                    sums = np.zeros((inv.max() + 1, S.shape[1]))
                np.add.at(sums, inv[a:b], S)
            else:
                out = S.T @ S if out is None else out + S.T @ S
        if inv is not None:
            C = sums.shape[0]
            out = (sums.T @ sums) * (C / (C - 1.0))
        return out
    return _cached(_h1_store(data, sigma, mu, meanstructure), ("crossproducts", clustered), compute)


def h1_firstorder(data, sigma, mu, meanstructure):
    """First-order h1 information per case: the mean outer product of the casewise h1 scores (cached; read-only)."""
    def compute():
        return h1_crossproducts(data, sigma, mu, meanstructure) / data.N
    return _cached(_h1_store(data, sigma, mu, meanstructure), "B1", compute)


def not_x(p, x_idx, meanstructure):
    """Mask of the (mu, vech Sigma) entries that are not moments of fixed exogenous covariates.

    lavaan zeroes those (fixed.x) in the h1 information; they are left out here instead.
    """
    x = np.zeros(p, bool)
    x[x_idx] = True
    ci, ri = _vech_pairs(p)
    cov_keep = ~(x[ci] & x[ri])
    return np.concatenate([~x, cov_keep]) if meanstructure else cov_keep


def yuan_bentler_mplus(rams, datas, theta, info_inv, h1_moments, ntotal):
    """trace(U Gamma) of lavaan's 'yuan.bentler.mplus' test, and its parts.

    ``info_inv`` is the inverse of the (observed) information per case, averaged over groups.
    The h1 part is tr(B1 A1^-1) over the moments other than those of fixed exogenous covariates.
    """
    trace_h1, trace_h0 = 0.0, 0.0
    for g, (ram, data) in enumerate(zip(rams, datas)):
        fg = data.N / ntotal
        sig1, mu1 = h1_moments[g]
        keep = not_x(ram.p, ram.x_idx, ram.meanstructure)
        A1inv = h1_information_inverse(data, sig1, mu1, ram.meanstructure, keep)
        B1 = h1_firstorder(data, sig1, mu1, ram.meanstructure)
        trace_h1 += np.sum(B1[np.ix_(keep, keep)] * A1inv.T)
        s = _clustered(casewise_scores(ram, data, theta), data)
        B0 = s.T @ s / data.N
        trace_h0 += fg * np.sum(B0 * info_inv.T)
    return trace_h1 - trace_h0, trace_h1, trace_h0


def _clustered(S, data):
    """Casewise scores as lavaan's first-order information uses them: times the sampling weights
    (``sampling_weights=``), then summed per cluster with the factor sqrt(C / (C - 1)) (``cluster=``)."""
    w = getattr(data, "weights_sampling", None)
    if w is not None:
        S = S * w[:, None]
    cl = getattr(data, "cluster", None)
    if cl is None:
        return S
    _, inv = np.unique(cl, return_inverse=True)
    out = np.zeros((inv.max() + 1, S.shape[1]))
    np.add.at(out, inv.ravel(), S)
    C = out.shape[0]
    return out * np.sqrt(C / (C - 1.0))


def first_order_total(rams, datas, theta):
    """Sum over cases of s_i s_i' (the 'meat' of the sandwich), total not averaged."""
    npar = len(theta)
    B = np.zeros((npar, npar))
    for ram, data in zip(rams, datas):
        s = casewise_scores(ram, data, theta)
        B += s.T @ s
    return B


# ----------------------------------------------------------------- delta method
def jacobian(func, x, h=1e-6):
    """Numerical Jacobian (central differences) of a vector function."""
    f0 = np.atleast_1d(func(x))
    J = np.zeros((len(f0), len(x)))
    for j in range(len(x)):
        hj = h * max(1.0, abs(x[j]))
        xp, xm = x.copy(), x.copy()
        xp[j] += hj
        xm[j] -= hj
        J[:, j] = (np.atleast_1d(func(xp)) - np.atleast_1d(func(xm))) / (2 * hj)
    return J
