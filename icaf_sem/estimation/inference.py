"""Standard errors, robust (sandwich) inference, the Yuan-Bentler scaled test,
delta-method SEs for defined parameters, standardized solutions and
modification indices, following lavaan's definitions.
"""
from __future__ import annotations

import numpy as np

from .optimize import expected_information


# ----------------------------------------------------------------- duplication helpers
def vech_indices(p):
    r, c = np.tril_indices(p)
    return c, r   # lavaan's vech: column-major lower triangle == (row>=col) ordered by column


def duplication(p):
    """Duplication matrix D (p^2 x p*) with vec(S) = D vech(S) (column-major vech)."""
    ci, ri = _vech_pairs(p)
    D = np.zeros((p * p, len(ci)))
    for k, (i, j) in enumerate(zip(ri, ci)):
        D[i + j * p, k] = 1.0
        D[j + i * p, k] = 1.0
    return D


def vech_kron(A, Bm=None):
    """D' (A kron B) D for symmetric A, B without forming the Kronecker product.

    Entry (u, v) with u = (i, j), v = (k, l) (i >= j, k >= l) sums the duplicated
    positions: A_ik B_jl + A_il B_jk (+ the transposed pair when off-diagonal).
    """
    Bm = A if Bm is None else Bm
    p = A.shape[0]
    cu, ru = _vech_pairs(p)
    i, j = ru[:, None], cu[:, None]
    k, l = ru[None, :], cu[None, :]
    core = A[i, k] * Bm[j, l] + A[i, l] * Bm[j, k]
    core2 = A[j, k] * Bm[i, l] + A[j, l] * Bm[i, k]
    offu = (i != j)
    offv = (k != l)
    # sum over the (1 or 2) x (1 or 2) duplicated index pairs
    out = np.where(offu, core + core2, core) 
    out = np.where(offv, out, 0.5 * out)
    return out


def vech_sum4(H4):
    """D' H D for a p^4 tensor H[a, b, c, d] indexed as vec(Sigma) x vec(Sigma)."""
    p = H4.shape[0]
    cu, ru = _vech_pairs(p)
    i, j = ru[:, None], cu[:, None]
    k, l = ru[None, :], cu[None, :]
    out = H4[i, j, k, l]
    offu, offv = (i != j), (k != l)
    out = out + np.where(offu, H4[j, i, k, l], 0.0)
    out = out + np.where(offv, H4[i, j, l, k], 0.0)
    out = out + np.where(offu & offv, H4[j, i, l, k], 0.0)
    return out


def _vech_pairs(p):
    rows, cols = [], []
    for j in range(p):
        for i in range(j, p):
            rows.append(i)
            cols.append(j)
    return np.array(cols), np.array(rows)


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
    Hessian and gradient of the group's -logL w.r.t. its implied moments.  The first part is exact:
    with the rank-2 Delta factors (:meth:`GroupRAM.delta_factors`) every term is a product of small
    Gram matrices per missing-data pattern.  Only the second part (the curvature of the model
    itself, with g_m held fixed) is a central difference, of the cheap chain rule alone.
    """
    from .objectives import pattern_inverses
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
        # Delta' H_m Delta from the patterns (one 'pattern' for complete data)
        U, V, d_mu, sigma = ram.delta_factors(theta)
        mu = ram.implied(theta)[1]
        P = np.linalg.inv(sigma)
        P = 0.5 * (P + P.T)
        if data.has_missing:
            n_g, means, covs = data.pat
            inv = pattern_inverses(P, data.patterns)
            order = np.concatenate([idx for idx, _, _ in inv.values()])
            Q = np.concatenate([np.broadcast_to(Qk, (len(idx),) + P.shape) for idx, Qk, _ in inv.values()])
            w, C = n_g[order], covs[order]
            d = (means[order] - mu) * data.patterns.masks[order]
            meanterms = True
        else:
            Q, w, C = P[None], np.array([data.N]), data.cov[None]
            meanterms = ram.meanstructure
            d = (data.mean - mu)[None] if meanterms else np.zeros((1, ram.p))
        T = C + d[:, :, None] * d[:, None, :]
        R = Q @ T @ Q
        Y = R - 0.5 * Q
        UQ, VQ, UY, VY = U @ Q, V @ Q, U @ Y, V @ Y                    # (G, ne, p)
        Ut, Vt = U.T, V.T
        Xuu, Xuv, Xvv = UQ @ Ut, UQ @ Vt, VQ @ Vt
        Yuu, Yuv, Yvv = UY @ Ut, UY @ Vt, VY @ Vt
        # sum_g w_g tr(Q D_k Y D_l) with D_k = u_k v_k' + v_k u_k'
        A = np.einsum("g,glk,gkl->kl", w, Yuv, Xuv)
        He = A + A.T + np.einsum("g,gkl,gkl->kl", w, Yvv, Xuu) + np.einsum("g,gkl,gkl->kl", w, Yuu, Xvv)
        Hg = np.zeros((npar, npar))
        if ram._dunique:
            Hg[np.ix_(ram._dk, ram._dk)] = He
        else:
            Hg = ram._dinc @ He @ ram._dinc.T
        if meanterms and ram.meanstructure:
            z = np.einsum("gij,gj->gi", Q, d)                          # Q d
            Hg += d_mu @ np.einsum("g,gij->ij", w, Q) @ d_mu.T
            a, b = z @ Ut, z @ Vt                                      # (G, ne)
            c = (np.einsum("g,gk,gkp->kp", w, a, VQ) + np.einsum("g,gk,gkp->kp", w, b, UQ)) @ d_mu.T
            if ram._dunique:
                Cp = np.zeros((npar, npar))
                Cp[ram._dk] = c
            else:
                Cp = ram._dinc @ c
            Hg += Cp + Cp.T
        H += Hg
    H /= objective.ntotal
    return 0.5 * (H + H.T)


def casewise_h1_scores(data, sigma, mu, meanstructure):
    """Casewise derivatives of logL_i w.r.t. (mu, Sigma as full symmetric matrix) at (sigma, mu).

    Returns (g_mu (n,p) or None, g_sigma (n,p,p)).
    """
    X = data.X
    n, p = X.shape
    if data.has_missing:
        pats = data.patterns
        P = np.linalg.inv(sigma)
        Qs = np.zeros((pats.G, p, p))
        for k, (idx, miss) in pats.by_k.items():
            if k == 0:
                Qs[idx] = P
            else:
                Pmm = P[miss[:, :, None], miss[:, None, :]]
                Pm = P[:, miss].transpose(1, 0, 2)
                Qs[idx] = P - Pm @ np.linalg.solve(Pmm, np.swapaxes(Pm, 1, 2))
        Q = Qs[pats.case_pattern]
        d = (pats.Xz - mu) * pats.masks[pats.case_pattern]
    else:
        P = np.linalg.inv(sigma)
        Q = np.broadcast_to(P, (n, p, p))
        d = X - (mu if meanstructure else data.mean)
    Qd = np.einsum("nij,nj->ni", Q, d)
    g_sigma = 0.5 * (Qd[:, :, None] * Qd[:, None, :] - Q)
    g_mu = Qd
    return g_mu, g_sigma


def casewise_scores(ram, data, theta):
    """Casewise gradient of logL_i w.r.t. theta: (n, npar)."""
    sigma, mu = ram.implied(theta)
    g_mu, g_sigma = casewise_h1_scores(data, sigma, mu, ram.meanstructure)
    d_sigma, d_mu = ram.delta(theta)
    n, p = g_sigma.shape[0], g_sigma.shape[-1]
    s = g_sigma.reshape(n, p * p) @ d_sigma.reshape(len(d_sigma), p * p).T
    if ram.meanstructure:
        s += g_mu @ d_mu.T
    return s


def h1_information_and_firstorder(data, sigma, mu, meanstructure, x_idx=None):
    """Observed (unstructured) h1 information per case and the h1 first-order information.

    Both in the (mu, vech Sigma) parameterisation, evaluated at the saturated
    estimates (sigma, mu).  Used for the Yuan-Bentler (Mplus) scaled test.
    """
    cache = data.__dict__.setdefault("_h1_info_cache", [])
    for key, val in cache:
        if key[0] is sigma and key[1] is mu and key[2] == meanstructure and key[3] is data.weights:
            A1, B1 = val
            break
    else:
        A1, B1 = _h1_information_and_firstorder(data, sigma, mu, meanstructure)
        cache[:] = [((sigma, mu, meanstructure, data.weights), (A1, B1))] + cache[:3]
    A1, B1 = A1.copy(), B1.copy()
    if x_idx is not None and len(x_idx):
        # lavaan zeroes the exogenous-covariate moments (fixed.x) in the h1 information
        keep = _not_x(sigma.shape[0], x_idx, meanstructure)
        A1[~keep, :] = 0.0
        A1[:, ~keep] = 0.0
        B1[~keep, :] = 0.0
        B1[:, ~keep] = 0.0
    return A1, B1


def _h1_information_and_firstorder(data, sigma, mu, meanstructure):
    p = sigma.shape[0]
    N = data.N
    ci, ri = _vech_pairs(p)
    off = ri != ci

    def dup(X):
        # X (..., p, p) times the duplication matrix: X[i, j] + X[j, i] (once on the diagonal)
        return X[..., ri, ci] + np.where(off, X[..., ci, ri], 0.0)
    g_mu, g_sigma = casewise_h1_scores(data, sigma, mu, meanstructure)
    s_sig = dup(g_sigma)                                # (n, p*) = vec(g_sigma) D
    S = np.hstack([g_mu, s_sig]) if meanstructure else s_sig
    B1 = S.T @ S / N
    # observed information at h1
    if data.has_missing:
        n_g, means, covs = data.pat
        pats = data.patterns
        P = np.linalg.inv(sigma)
        M4 = np.zeros((p * p, p * p))
        Hms = np.zeros((p, p, p))
        Hmm = np.zeros((p, p))
        from .objectives import pattern_inverses
        for k, (idx, Q, _) in pattern_inverses(P, pats).items():
            w = n_g[idx]
            d = (means[idx] - mu) * pats.masks[idx]
            T = covs[idx] + d[:, :, None] * d[:, None, :]
            R = Q @ T @ Q
            Qd = np.einsum("gij,gj->gi", Q, d)
            # d2 f / dS_ab dS_cd = 0.5 n [-Q_bc Q_da + Q_bc R_da + Q_da R_bc]: as sums over patterns
            # of outer products vec(Q_g) vec(X_g)', i.e. GEMMs M4[(b,c),(d,a)]
            G = len(idx)
            Qv = np.ascontiguousarray(np.broadcast_to(Q, (G, p, p))).reshape(G, p * p)
            Rv = R.reshape(G, p * p)
            QW = Qv.T * w
            M4 += QW @ (Rv - Qv) + (Rv.T * w) @ Qv
            Hms += np.einsum("g,gia,gb->iab", w, Q, Qd, optimize=True)
            Hmm += np.einsum("g,gij->ij", w, Q)
        Hss = vech_sum4(0.5 * M4.reshape(p, p, p, p).transpose(3, 0, 1, 2))
        Hms = dup(Hms)
        A1 = np.block([[Hmm, Hms], [Hms.T, Hss]]) / N if meanstructure else Hss / N
    else:
        P = np.linalg.inv(sigma)
        A1s = 0.5 * vech_kron(P)
        A1 = np.block([[P, np.zeros((p, A1s.shape[0]))], [np.zeros((A1s.shape[0], p)), A1s]]) if meanstructure else A1s
    A1 = 0.5 * (A1 + A1.T)
    return A1, B1


def _not_x(p, x_idx, meanstructure):
    x = np.zeros(p, bool)
    x[x_idx] = True
    ci, ri = _vech_pairs(p)
    cov_keep = ~(x[ci] & x[ri])
    return np.concatenate([~x, cov_keep]) if meanstructure else cov_keep


def yuan_bentler_mplus(rams, datas, theta, info_inv, h1_moments, ntotal):
    """trace(U Gamma) of lavaan's 'yuan.bentler.mplus' test, and its parts.

    ``info_inv`` is the inverse of the (observed) information per case,
    averaged over groups.
    """
    trace_h1, trace_h0 = 0.0, 0.0
    for g, (ram, data) in enumerate(zip(rams, datas)):
        fg = data.N / ntotal
        sig1, mu1 = h1_moments[g]
        cache = data.__dict__.setdefault("_yb_h1_cache", [])
        key = (sig1, mu1, ram.meanstructure, tuple(ram.x_idx), data.weights)
        hit = [v for k, v in cache if all(a is b for a, b in zip(k[:2], key[:2])) and k[2:4] == key[2:4]
               and k[4] is key[4]]
        if hit:
            t1 = hit[0]
        else:
            A1, B1 = h1_information_and_firstorder(data, sig1, mu1, ram.meanstructure, ram.x_idx)
            zero = np.diag(A1) == 0
            A1inv = np.zeros_like(A1)
            keep = ~zero
            A1inv[np.ix_(keep, keep)] = np.linalg.inv(A1[np.ix_(keep, keep)])
            t1 = np.sum(B1 * A1inv.T)
            cache[:] = [(key, t1)] + cache[:3]
        trace_h1 += t1
        s = casewise_scores(ram, data, theta)
        B0 = s.T @ s / data.N
        trace_h0 += fg * np.sum(B0 * info_inv.T)
    return trace_h1 - trace_h0, trace_h1, trace_h0


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
