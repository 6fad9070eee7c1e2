"""Information matrices of the normal likelihood (complete data or FIML) directly in parameter space.

The Hessian of -logL w.r.t. the implied moments, chained by the model Jacobian Delta, is

    H_kl = sum_i w_i U_ik' Q_i U_il  -  1/2 sum_g n_g tr(Q_g dSigma_k Q_g dSigma_l)

(the observed information; the expected one has z_i = 0 below), where case i has pattern g with
embedded inverse Q_g of Sigma_OO, z_i = Q_g (x_i - mu) (observed part), and
U_ik = dmu_k + dSigma_k z_i.  lavaan (and this package before) formed the p* x p* moment Hessian
D'[sum_g n_g Q_g kron (R_g - Q_g / 2)]D and multiplied it by Delta on both sides: p*^2 memory and
O(G p*^2) time, 2 GB and half a minute for p = 100 items.  Here nothing larger than
npar x p x p is formed and the work is a few BLAS products.

Every Q_g is written from its smaller side.  When a pattern misses k <= p/2 variables,
Q_g = P - P[:,M] P_MM^-1 P[M,:] with P = Sigma^-1 (the "complement" form): the P part of all such
patterns adds up to a few p x p matrices (sums of z_i, z_i z_i' and of the low-rank corrections),
and what remains per pattern lives on the k x k block: with J_g = chol(P_MM)^-1,

    tr(Q dS_k Q dS_l) = tr(P dS_k P dS_l) - 2 tr(dS_k P dS_l P[:,M] P_MM^-1 P[M,:]) + <C_gk, C_gl>,
    C_gk = J_g (P dS_k P)[M,M] J_g',
    U_k' Q U_l = U_k' P U_l - (J_g P[M,:] U_k)' (J_g P[M,:] U_l).

Otherwise (the "direct" form), with J_g = chol(Sigma_OO)^-1, C_gk = J_g dS_k[O,O] J_g' and
U_k' Q U_l = (J_g U_k[O])' (J_g U_l[O]).  The per-pattern inner products are stacked into tall
matrices X (one row per entry of a small block) so that each sum is one X'X product, in chunks
that keep the memory bounded.
"""
from __future__ import annotations

import numpy as np

_CHUNK = 1 << 21          # entries of a work array per chunk (16 MB of float64)


def _tri(s):
    a, d = np.tril_indices(s)
    coef = np.where(a == d, 1.0, np.sqrt(2.0))
    return a, d, coef


class PatternSides:
    """The small side of every missing-data pattern of a group at ``sigma`` (see the module notes).

    Attributes
    ----------
    P : ndarray (p, p)
        Sigma^-1.
    comp : list of (idx, miss, J)
        Patterns in complement form, batched by their number k >= 1 of missing variables:
        pattern indices (G_k,), missing variables (G_k, k) and J = chol(P_MM)^-1 (G_k, k, k).
    direct : list of (idx, obs, J)
        Patterns in direct form: observed variables (G_o, o) and J = chol(Sigma_OO)^-1.
    is_comp : ndarray (G,) bool
        Which patterns (complete ones included) are in complement form.
    """

    def __init__(self, sigma, patterns):
        p = sigma.shape[0]
        P = np.linalg.inv(sigma)
        self.P = P = 0.5 * (P + P.T)
        self.p = p
        self.comp, self.direct = [], []
        G = 1 if patterns is None else patterns.G
        self.is_comp = np.ones(G, bool)
        if patterns is None:
            return
        for k, (idx, miss) in patterns.by_k.items():
            if k == 0:
                continue
            if k <= p - k:
                Pmm = P[miss[:, :, None], miss[:, None, :]]
                J = _inv_lower(np.linalg.cholesky(Pmm))
                self.comp.append((idx, miss, J))
            else:
                obs = patterns.masks[idx].nonzero()[1].reshape(len(idx), p - k)
                Soo = sigma[obs[:, :, None], obs[:, None, :]]
                J = _inv_lower(np.linalg.cholesky(Soo))
                self.direct.append((idx, obs, J))
                self.is_comp[idx] = False

    def z(self, R, case_pattern, patterns):
        """z_i = Q_i r_i for the (n, p) residuals R (zero at the missing entries)."""
        Z = R @ self.P
        if patterns is None:
            return Z
        pos = np.full(patterns.G, -1)
        for idx, miss, J in self.comp:
            pos[idx] = np.arange(len(idx))
            rows = np.flatnonzero(np.isin(case_pattern, idx))
            gp = pos[case_pattern[rows]]
            m = miss[gp]                                            # (n_b, k)
            u = np.take_along_axis(Z[rows], m, axis=1)              # (P r)_M
            Jg = J[gp]
            v = np.einsum("nba,nb->na", Jg, np.einsum("nab,nb->na", Jg, u))   # P_MM^-1 (P r)_M
            # z -= P[:, M] P_MM^-1 (P r)_M
            Z[rows] -= np.einsum("nk,nkp->np", v, self.P[m])
        for idx, obs, J in self.direct:
            pos[idx] = np.arange(len(idx))
            rows = np.flatnonzero(np.isin(case_pattern, idx))
            gp = pos[case_pattern[rows]]
            o = obs[gp]
            r = np.take_along_axis(R[rows], o, axis=1)
            Jg = J[gp]
            v = np.einsum("nba,nb->na", Jg, np.einsum("nab,nb->na", Jg, r))
            Zr = np.zeros((len(rows), self.p))
            np.put_along_axis(Zr, o, v, axis=1)
            Z[rows] = Zr
        return Z

    def sum_q(self, n_g):
        """sum_g n_g Q_g, and K = sum over complement patterns of n_g P[:,M] P_MM^-1 P[M,:]."""
        P, p = self.P, self.p
        Nc = float(n_g[self.is_comp].sum())
        K = np.zeros((p, p))
        for idx, miss, J in self.comp:
            Y = J @ self.P[miss]                                    # (G, k, p) = J P[M,:]
            Yw = Y * np.sqrt(n_g[idx])[:, None, None]
            Yw = Yw.reshape(-1, p)
            K += Yw.T @ Yw
        Sd = np.zeros((p, p))
        for idx, obs, J in self.direct:
            for c in _chunks(len(idx), obs.shape[1] * p):
                Jc, oc = J[c], obs[c]
                E = np.zeros((len(oc), oc.shape[1], p))           # J E_O'
                np.put_along_axis(E, np.broadcast_to(oc[:, None, :], Jc.shape), Jc, axis=2)
                Ew = (E * np.sqrt(n_g[idx[c]])[:, None, None]).reshape(-1, p)
                Sd += Ew.T @ Ew
        return Nc * P - K + Sd, K, Nc


def _inv_lower(L):
    """Inverses of lower-triangular matrices (..., k, k)."""
    k = L.shape[-1]
    eye = np.broadcast_to(np.eye(k), L.shape)
    return np.linalg.solve(L, eye)


def _chunks(n, per_item, budget=_CHUNK):
    step = max(1, budget // max(1, per_item))
    return [slice(a, min(n, a + step)) for a in range(0, n, step)]


def _block_gram(src_t, index, J, w, npar):
    """sum_g w_g <C_g, C_g'> with C_g = J_g src[index_g, index_g] J_g' (src_t: (p, p, npar))."""
    out = np.zeros((npar, npar))
    s = index.shape[1]
    a, d, coef = _tri(s)
    for c in _chunks(len(index), s * s * npar * 2):
        ix = index[c]
        Jc = J[c]
        G = len(ix)
        S = src_t[ix[:, :, None], ix[:, None, :]]                   # (G, s, s, npar)
        T = (Jc @ S.reshape(G, s, s * npar)).reshape(G, s, s, npar)  # [a, c, n] = (J S)[a, c]
        C = Jc[:, None] @ T                                          # [a, d, n] = sum_c J[d, c] T[a, c, n]
        X = C[:, a, d, :]                                            # (G, ntri, npar)
        X *= coef[None, :, None] * np.sqrt(w[c])[:, None, None]
        X = X.reshape(-1, npar)
        out += X.T @ X
    return out


def _case_gram(src, base, Z, rows, case_pos, index, J, w, npar, const=None):
    """sum_i w_i V_i' V_i with V_i = J_g U_i[index_g] (s x npar) for the cases ``rows``, where
    U_i = c_i base' + dS z_i (p x npar), c_i = ``const[i]`` (default 1).

    ``src`` is dS as a (p npar, p) matrix, row a npar + k holding dSigma_k[a, :] (sparse when
    Delta is: then U costs the nonzeros of Delta per case); ``base`` (npar, p) is dmu.  ``J`` is
    (G, s, s) (then ``index`` selects the rows first) or, for the complement form, J P[M, :]
    (G, s, p), applied to all of U_i.
    """
    p = Z.shape[1]
    out = np.zeros((npar, npar))
    full = J.shape[2] == p and index is None
    for c in _chunks(len(rows), npar * p * 3):
        r = rows[c]
        U = np.asarray(src @ Z[r].T).reshape(p, npar, len(r))
        U = np.ascontiguousarray(np.transpose(U, (2, 0, 1)))      # (n_c, p, npar)
        if const is None:
            U += base.T
        else:
            U += const[r][:, None, None] * base.T
        gp = case_pos[c]
        if not full:
            U = np.take_along_axis(U, index[gp][:, :, None], axis=1)   # (n_c, s, npar)
        X = J[gp] @ U
        X *= np.sqrt(w[c])[:, None, None]
        X = X.reshape(-1, npar)
        out += X.T @ X
    return out


def compress_cases(Z, w, case_pattern, G):
    """Rows whose sums of squares equal each pattern's case sums: the per-case terms of the
    observed information from at most p + 1 rows per pattern.

    The per-case term sum_i w_i U_i' Q_g U_i is a quadratic form in (1, z_i') summed over the
    pattern's cases, so it only needs M_g = sum_i w_i (1, z_i')'(1, z_i').  A pattern with more
    than p + 1 cases is replaced by the p + 1 columns l_j of V diag(lambda)^1/2 (M_g = V diag(lambda) V',
    sum_j l_j l_j' = M_g); a smaller one keeps its cases, scaled by sqrt(w_i).  Returns the
    constant parts c (m,), the z parts (m, p) and the pattern of every row (m,), all with weight 1.
    """
    n, p = Z.shape
    counts = np.bincount(case_pattern, minlength=G)
    big = counts > p + 1
    sw = np.sqrt(np.asarray(w, float))
    keep = np.flatnonzero(~big[case_pattern])
    cs, Zs, gs = [sw[keep]], [Z[keep] * sw[keep, None]], [case_pattern[keep]]
    gbig = np.flatnonzero(big)
    if len(gbig):
        order = np.argsort(case_pattern, kind="stable")
        ends = np.cumsum(counts)
        M = np.empty((len(gbig), p + 1, p + 1))
        for j, g in enumerate(gbig):
            rows = order[ends[g] - counts[g]:ends[g]]
            A = np.empty((len(rows), p + 1))
            A[:, 0] = sw[rows]
            np.multiply(Z[rows], sw[rows, None], out=A[:, 1:])
            M[j] = A.T @ A
        lam, V = np.linalg.eigh(M)                                   # (Gb, p+1), (Gb, p+1, p+1)
        L = V * np.sqrt(np.clip(lam, 0.0, None))[:, None, :]        # columns l_j
        L = np.swapaxes(L, 1, 2).reshape(-1, p + 1)                  # one row per l_j
        cs.append(L[:, 0])
        Zs.append(L[:, 1:])
        gs.append(np.repeat(gbig, p + 1))
    return np.concatenate(cs), np.concatenate(Zs), np.concatenate(gs)


class _SparseRows:
    """A matrix with few nonzeros for ``M @ X`` products (NumPy only: scipy.sparse costs 0.1 s to
    import).  The nonzeros are sorted by row; a product sums their scaled rows of X per row."""

    def __init__(self, D):
        r, c = np.nonzero(D)
        self.shape = D.shape
        self.r, self.c, self.v = r, c, D[r, c]
        self.rows, self.starts = np.unique(r, return_index=True)

    def __matmul__(self, X):
        out = np.zeros((self.shape[0],) + X.shape[1:])
        if len(self.v):
            out[self.rows] = np.add.reduceat(X[self.c] * self.v[:, None], self.starts, axis=0)
        return out


def _delta_rows(dS):
    """dS (npar, p, p) as the (p npar, p) matrix of :func:`_case_gram`, sparse when it pays."""
    npar, p, _ = dS.shape
    D = np.transpose(dS, (1, 0, 2)).reshape(p * npar, p)
    nnz = np.count_nonzero(D)
    if nnz < 0.02 * D.size:                 # a gathered nonzero costs about 50 dense BLAS entries
        return _SparseRows(D)
    return np.ascontiguousarray(D)


def trace_quadratic(sides, n_g, E):
    """sum_g n_g tr(Q_g E_a Q_g E_b) for symmetric E (m, p, p): the (m, m) matrix.

    The trace term of :func:`information_theta` for m given matrices instead of dSigma_k.
    """
    E = np.asarray(E, float)
    m, p = E.shape[0], E.shape[1]
    P = sides.P
    Nc = float(n_g[sides.is_comp].sum())
    _, K, _ = sides.sum_q(n_g)
    PE = np.swapaxes(E @ P, 1, 2)                                  # P E_a
    out = Nc * (PE.reshape(m, p * p) @ (E @ P).reshape(m, p * p).T)
    out -= 2.0 * (PE.reshape(m, p * p) @ (E @ K).reshape(m, p * p).T)
    if sides.comp:
        Ht = np.ascontiguousarray(np.transpose(PE @ P, (1, 2, 0)))
        for idx, miss, J in sides.comp:
            out += _block_gram(Ht, miss, J, n_g[idx], m)
    if sides.direct:
        Et = np.ascontiguousarray(np.transpose(E, (1, 2, 0)))
        for idx, obs, J in sides.direct:
            out += _block_gram(Et, obs, J, n_g[idx], m)
    return 0.5 * (out + out.T)


def _derivs(ram, theta, drop_x=False):
    d_sigma, d_mu = ram.delta(theta)
    if drop_x and len(ram.x_idx):
        # lavaan zeroes the rows of Delta for the exogenous covariates' moments in the h1 weight
        d_sigma = np.where(ram.x_block[None], 0.0, d_sigma)
        d_mu = d_mu.copy()
        d_mu[:, ram.x_idx] = 0.0
    return np.ascontiguousarray(d_sigma), d_mu


def information_theta(ram, data, theta, observed=True, sides=None, drop_x=False):
    """Delta' H Delta for one group: the Hessian of the group's -logL (total over its cases) in
    the moments, chained to the free parameters (``observed``), or its expectation.

    Equals ``delta_vech' moment_hessian delta_vech`` (observed) and ``N delta_vech' W delta_vech``
    with lavaan's FIML h1 expected information W (expected), without p* x p* arrays.
    ``drop_x`` zeroes Delta's rows for the moments of fixed exogenous covariates first.
    """
    sigma, mu = ram.implied(theta)
    dS, dm = _derivs(ram, theta, drop_x)
    npar, p = dm.shape
    pats = data.patterns if data.has_missing else None
    if sides is None:
        sides = PatternSides(sigma, pats)
    P = sides.P
    A = dS @ P                                   # (npar, p, p); A_k' = P dS_k
    At = np.swapaxes(A, 1, 2)                    # P dS_k
    if pats is None:
        N = float(data.N)
        n_g = np.array([N])
        Nc, K = N, np.zeros((p, p))
        if observed and ram.meanstructure:
            zs = N * (P @ (data.mean - mu))
            Zc = N * (P @ data.cov @ P) + np.outer(zs, zs) / N
        elif observed:
            zs, Zc = np.zeros(p), N * (P @ data.cov @ P)
        else:
            zs, Zc = np.zeros(p), np.zeros((p, p))
        sumQ = N * P
    else:
        w = np.ones(data.n) if data.weights is None else np.asarray(data.weights, float)
        n_g = np.bincount(pats.case_pattern, weights=w, minlength=pats.G)
        sumQ, K, Nc = sides.sum_q(n_g)
        if observed:
            R = (pats.Xz - mu) * pats.masks[pats.case_pattern]
            Z = sides.z(R, pats.case_pattern, pats)
            comp_case = sides.is_comp[pats.case_pattern]
            wc = w * comp_case
            zs = wc @ Z
            Zc = (Z * wc[:, None]).T @ Z
        else:
            zs, Zc = np.zeros(p), np.zeros((p, p))
    # the trace term enters the observed information with -1/2, the expected one with +1/2
    cT = -0.5 if observed else 0.5
    # P parts of the complement patterns: dm sumQ dm' + dm (P dS zs)' + (P dS zs) dm' + tr(dS_k P dS_l M0)
    M0 = Zc + cT * (Nc * P - 2.0 * K)
    H = np.zeros((npar, npar))
    ks = np.flatnonzero(dS.reshape(npar, -1).any(1))      # parameters that move Sigma
    dSs = dS[ks]
    ns = len(ks)
    PdS = np.swapaxes(dSs @ P, 1, 2)                      # (ns, p, p): P dS_k
    Hs = PdS.reshape(ns, p * p) @ (dSs @ M0).reshape(ns, p * p).T
    if ram.meanstructure or pats is not None:
        # observed: the complement cases' mean part here is their P part (the per-case grams
        # below hold the rest); expected: sum_g n_g Q_g
        H += dm @ ((Nc * P) if (observed and pats is not None) else sumQ) @ dm.T
        if observed:
            X = dm @ (PdS @ zs).T                         # dm_k' P dS_l zs
            H[:, ks] += X
            H[ks, :] += X.T
    if pats is not None:
        if sides.comp:
            Ht = np.ascontiguousarray(np.transpose(PdS @ P, (1, 2, 0)))   # (p, p, ns): P dS P
            for idx, miss, J in sides.comp:
                Hs += cT * _block_gram(Ht, miss, J, n_g[idx], ns)
            del Ht
        if sides.direct:
            dSt = np.ascontiguousarray(np.transpose(dSs, (1, 2, 0)))
            for idx, obs, J in sides.direct:
                Hs += cT * _block_gram(dSt, obs, J, n_g[idx], ns)
    H[np.ix_(ks, ks)] += Hs
    if pats is not None:
        if observed:
            # the per-case terms, from at most p + 1 rows per pattern (compress_cases)
            cc, Zc_rows, cp = compress_cases(Z, w, pats.case_pattern, pats.G)
            ones = np.ones(len(cp))
            pos = np.full(pats.G, -1)
            src = _delta_rows(dS)
            for idx, miss, J in sides.comp:
                pos[idx] = np.arange(len(idx))
                rows = np.flatnonzero(np.isin(cp, idx))
                JP = J @ P[miss]                                    # (G, k, p): J P[M, :]
                H -= _case_gram(src, dm, Zc_rows, rows, pos[cp[rows]], None, JP, ones[rows], npar, cc)
            for idx, obs, J in sides.direct:
                pos[idx] = np.arange(len(idx))
                rows = np.flatnonzero(np.isin(cp, idx))
                H += _case_gram(src, dm, Zc_rows, rows, pos[cp[rows]], obs, J, ones[rows], npar, cc)
    return 0.5 * (H + H.T)
