"""The PLS-SEM algorithm (Lohmoeller's iterative scheme), batched over samples.

Everything the PLS algorithm computes from standardized indicators depends on the data only through
their correlation matrix S: construct scores Y = X W have correlations W'SW, the covariance of the
indicators with the inner proxies is S W E, and the mode-B weights solve S_jj w_j = (S W E)_j.
:func:`pls_core` therefore takes a stack of correlation matrices, one per sample (the full sample,
bootstrap resamples, cross-validation training sets), and iterates all of them together as array
computations.  A sample whose weights have converged is frozen, so each sample gets exactly the
estimate a separate fit would give.

Conventions (those of SmartPLS 4 and seminr 2.3):

* indicators standardized with SD (n - 1); initial outer weights 1; weights rescaled after every
  update so that each construct score has unit variance;
* mode A: correlation weights w_j = cov(x_j, z_j); mode B: regression weights S_jj^{-1} cov(x_j, z_j);
* inner weights: ``path`` (regression on the predecessors, correlation with the successors),
  ``factor`` (correlation with every adjacent construct), ``centroid`` (sign of that correlation);
* stop when max |w_new - w_old| < ``tol`` (1e-7), at most ``max_iter`` (300) iterations;
* PLSc (Dijkstra & Henseler 2015): construct correlations of reflective constructs divided by
  sqrt(rho_A,i rho_A,j), loadings w_j sqrt(rho_A,j) / (w_j'w_j).  A higher-order composite (stage 2)
  is disattenuated with its rho_A too, but keeps its composite loadings on the dimensions (seminr).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

SCHEMES = ("path", "factor", "centroid")


@dataclass
class Layout:
    """The fixed structure of one estimation stage (index form of a :class:`~.spec.PLSSpec`)."""
    constructs: list
    columns: list           # indicator names of this stage (stage-1 dimension scores included)
    blocks: list            # per construct: array of column indices
    modes: list             # "A" / "B"
    pred: list              # per construct: array of predecessor construct indices
    reflective: np.ndarray  # bool per construct: correlations corrected by PLSc
    hoc: np.ndarray = None  # bool per construct: higher-order composite (PLSc leaves its loadings, as seminr)

    @classmethod
    def from_spec(cls, spec, columns, consistent=False):
        key = ("layout", tuple(columns), bool(consistent))
        if key not in spec.cache:
            spec.cache[key] = cls._build(spec, columns, consistent)
        return spec.cache[key]

    @classmethod
    def _build(cls, spec, columns, consistent):
        pos = {c: i for i, c in enumerate(columns)}
        cidx = {c: k for k, c in enumerate(spec.constructs)}
        blocks = [np.array([pos[i] for i in spec.blocks[c]], dtype=int) for c in spec.constructs]
        pred = [np.array([cidx[iv] for iv in spec.predecessors(c)], dtype=int) for c in spec.constructs]
        modes = [spec.modes[c] for c in spec.constructs]
        refl = np.array([consistent and m == "A" for m in modes], dtype=bool)
        hoc = np.array([c in spec.hoc for c in spec.constructs], dtype=bool)
        return cls(list(spec.constructs), list(columns), blocks, modes, pred, refl, hoc)

    @property
    def K(self):
        return len(self.constructs)

    @property
    def p(self):
        return len(self.columns)

    @cached_property
    def mask(self):
        m = np.zeros((self.p, self.K))
        for k, b in enumerate(self.blocks):
            m[b, k] = 1.0
        return m

    @cached_property
    def padded_pred(self):
        """(endogenous indices, predecessor index matrix padded with K, mask of padded block cells)."""
        endo = np.array([j for j, pr in enumerate(self.pred) if len(pr)], dtype=int)
        m = max((len(self.pred[j]) for j in endo), default=0)
        P = np.full((len(endo), m), self.K, dtype=int)
        for e, j in enumerate(endo):
            P[e, :len(self.pred[j])] = self.pred[j]
        padrow = P == self.K
        pad = padrow[:, :, None] | padrow[:, None, :]
        eye_pad = np.where(pad, np.eye(m)[None], 0.0)
        keep = (~pad).astype(float)
        return endo, P, keep, eye_pad, np.minimum(P, max(self.K - 1, 0)), (~padrow).astype(float)

    @cached_property
    def flat_gather(self):
        """Flat indices into a (K, K) matrix of the padded regression blocks and right-hand sides."""
        endo, P, keep, eye_pad, Pc, keep_rhs = self.padded_pred
        K = self.K
        return Pc[:, :, None] * K + Pc[:, None, :], Pc * K + endo[:, None]

    @cached_property
    def flat_scatter(self):
        """(flat destination in (K, K), flat source in the (n_endo, m) solutions)."""
        rows, cols, e_idx, pos = self.scatter
        m = self.padded_pred[1].shape[1]
        return rows * self.K + cols, e_idx * m + pos

    @cached_property
    def scatter(self):
        """Index arrays putting the padded regression solutions into a (K, K) matrix [iv, dv]."""
        rows, cols, e_idx, pos = [], [], [], []
        for e, j in enumerate(self.padded_pred[0]):
            for q, i in enumerate(self.pred[j]):
                rows.append(i), cols.append(j), e_idx.append(e), pos.append(q)
        return tuple(np.array(v, dtype=int) for v in (rows, cols, e_idx, pos))

    @cached_property
    def rho_applies(self):
        return np.array([m == "A" and len(b) > 1 for m, b in zip(self.modes, self.blocks)], dtype=bool)

    @cached_property
    def plsc_mask(self):
        """(p, K): own-block cells of reflective multi-item constructs (PLSc-corrected loadings)."""
        hoc = self.hoc if self.hoc is not None else np.zeros(self.K, dtype=bool)
        return self.mask.astype(bool) & (self.reflective & self.rho_applies & ~hoc)[None, :]

    @cached_property
    def adjacency(self):
        a = np.zeros((self.K, self.K))
        for j, pr in enumerate(self.pred):
            a[pr, j] = 1.0
            a[j, pr] = 1.0
        return a


@dataclass
class CoreOut:
    W: np.ndarray            # (B, p, K) outer weights (scores have unit variance)
    R: np.ndarray            # (B, K, K) construct correlations (PLS, not corrected)
    iterations: np.ndarray   # (B,)
    converged: np.ndarray    # (B,)
    ok: np.ndarray           # (B,) False where the sample could not be estimated (singular block ...)


def _normalize(Wn, S):
    var = ((S @ Wn) * Wn).sum(axis=1)
    bad = ~(var > 0)
    if bad.any():
        var[bad] = 1.0
    return Wn / np.sqrt(var)[:, None, :], bad.any(axis=1)


def _regressions(R, layout: Layout):
    """Coefficients (B, n_endo, m) of every endogenous construct on its predecessors, in one batched solve:
    the blocks are padded to the largest number of predecessors with an identity block and a zero
    right-hand side."""
    endo, P, keep, eye_pad, Pc, keep_rhs = layout.padded_pred
    flat_blk, flat_rhs = layout.flat_gather
    Rf = R.reshape(R.shape[0], -1)
    blk = Rf[:, flat_blk]                 # one flat gather is much cheaper than 3-D fancy indexing
    blk *= keep
    blk += eye_pad
    rhs = Rf[:, flat_rhs]
    rhs *= keep_rhs
    return _solve(blk, rhs), rhs


def inner_weights(R, layout: Layout, scheme: str):
    """(B, K, K) inner weights E; the inner proxy of construct j is sum_i E[i, j] Y_i."""
    A = layout.adjacency
    if scheme == "factor":
        return R * A
    if scheme == "centroid":
        return np.sign(R) * A
    E = R * A
    if layout.padded_pred[0].size:
        sol, _ = _regressions(R, layout)
        dst, src = layout.flat_scatter
        B = R.shape[0]
        E.reshape(B, -1)[:, dst] = sol.reshape(B, -1)[:, src]
    return E


try:            # numpy's batched LAPACK solve without the per-call error-state wrapper of np.linalg.solve
    _gsolve = np.linalg._umath_linalg.solve
except AttributeError:  # pragma: no cover - other numpy versions
    _gsolve = None


def _solve(A, b):
    """Batched solve of A x = b (b: (..., m)); systems with a singular A give NaN."""
    if _gsolve is not None:
        with np.errstate(all="ignore"):
            return _gsolve(A, b[..., None])[..., 0]
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        A2 = A.reshape((-1,) + A.shape[-2:])
        b2 = b.reshape(-1, b.shape[-1])
        out = np.full(b2.shape, np.nan)
        for i in range(A2.shape[0]):
            try:
                out[i] = np.linalg.solve(A2[i], b2[i])
            except np.linalg.LinAlgError:
                pass
        return out.reshape(b.shape)


def pls_core(S, layout: Layout, scheme="path", max_iter=300, tol=1e-7) -> CoreOut:
    """Run the PLS algorithm on a stack of correlation matrices ``S`` (B, p, p)."""
    with np.errstate(all="ignore"):
        return _pls_core(S, layout, scheme, max_iter, tol)


def _pls_core(S, layout, scheme, max_iter, tol):
    B = S.shape[0]
    M = layout.mask
    ok = np.isfinite(S).all(axis=(1, 2))
    if not ok.all():
        S = np.where(ok[:, None, None], S, np.eye(layout.p))
    modeB = [k for k, m in enumerate(layout.modes) if m == "B" and len(layout.blocks[k]) > 1]
    Sinv = {}
    for k in modeB:
        b = layout.blocks[k]
        Sbb = S[:, b[:, None], b[None, :]]
        cond = np.linalg.cond(Sbb)
        good = np.isfinite(cond) & (cond < 1e12)
        ok &= good
        Sinv[k] = np.linalg.inv(np.where(good[:, None, None], Sbb, np.eye(len(b))))
    W, bad = _normalize(np.broadcast_to(M, (B,) + M.shape).copy(), S)
    ok &= ~bad
    iters = np.zeros(B, dtype=int)
    active = ok.copy()
    idx = np.nonzero(active)[0]
    SW = S @ W if idx.size == B else S[idx] @ W[idx]      # S W of the active samples
    keep = slice(None)
    for it in range(1, max_iter + 1):
        if idx.size == 0:
            break
        full = idx.size == B
        Sa, Wa = (S, W) if full else (S[idx], W[idx])
        if not full:
            SW = SW[keep]
        R = Wa.transpose(0, 2, 1) @ SW
        E = inner_weights(R, layout, scheme)
        C = SW @ E                            # cov(indicator, inner proxy of each construct)
        Wn = C * M
        for k in modeB:
            b = layout.blocks[k]
            Sk = Sinv[k] if full else Sinv[k][idx]
            Wn[:, b, k] = (Sk @ C[:, b, k][..., None])[..., 0]
        SWn = Sa @ Wn
        sdev = np.sqrt(np.einsum("bpk,bpk->bk", SWn, Wn))[:, None, :]   # unit-variance scores (NaN if var <= 0)
        Wn /= sdev
        SWn /= sdev
        diff = np.abs((Wn - Wa).reshape(len(Wn), -1)).max(axis=1)
        dmin = diff.min()
        if dmin >= tol:                       # the common case: no sample converged or failed
            if full:
                W = Wn
            else:
                W[idx] = Wn
            SW = SWn
            keep = slice(None)
            continue
        done = ~(diff >= tol)                 # converged, or NaN (failed)
        failed = np.isnan(diff)
        if failed.any():
            Wn[failed] = Wa[failed]
            ok[idx[failed]] = False
        if full:
            W = Wn
        else:
            W[idx] = Wn
        SW = SWn
        iters[idx[done]] = it
        active[idx[done]] = False
        keep = ~done
        idx = idx[keep]
    iters[active] = max_iter
    converged = ok & ~active
    R = np.swapaxes(W, 1, 2) @ (S @ W)
    return CoreOut(W, R, iters, converged, ok)


def rho_a(W, S, layout: Layout):
    """Dijkstra-Henseler rho_A per construct (B, K); 1 for single-item and mode-B constructs.

    rho_A = (w'w)^2 w'(S - diag S)w / w'(ww' - diag ww')w, with each construct's weights w (the other
    blocks' weights are zero in column k, so the matrix products stay within the block)."""
    ww = (W * W).sum(axis=1)
    SW = S @ W
    num = (SW * W).sum(axis=1) - (W * W * np.diagonal(S, axis1=1, axis2=2)[:, :, None]).sum(axis=1)
    den = ww ** 2 - (W ** 4).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = ww ** 2 * num / den
    rho[:, ~layout.rho_applies] = 1.0
    return rho


def corrected(R, W, S, layout: Layout):
    """PLSc: (corrected construct correlations, rho_A) for the reflective constructs of ``layout``."""
    rho = rho_a(W, S, layout)
    rho_c = np.where(layout.reflective[None, :], rho, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        adj = np.sqrt(rho_c[:, :, None] * rho_c[:, None, :])
        Rc = R / adj
    K = layout.K
    Rc[:, np.arange(K), np.arange(K)] = 1.0
    return Rc, rho


def loadings(W, S, layout: Layout, rho=None):
    """(B, p, K) correlations of every indicator with every construct (cross-loadings); under PLSc the
    own-construct loadings of reflective constructs are w sqrt(rho_A)/(w'w)."""
    L = S @ W
    if rho is not None and layout.reflective.any():
        ww = (W * W).sum(axis=1)
        with np.errstate(invalid="ignore"):
            own = W * (np.sqrt(rho) / ww)[:, None, :]
        L = np.where(layout.plsc_mask[None], own, L)
    return L


def structural(R, layout: Layout):
    """Path coefficients (B, K, K) with beta[b, iv, dv], and R^2 (B, K) (NaN for exogenous constructs)."""
    B, K = R.shape[0], layout.K
    beta = np.zeros((B, K, K))
    r2 = np.full((B, K), np.nan)
    endo = layout.padded_pred[0]
    if endo.size:
        sol, rhs = _regressions(R, layout)
        dst, src = layout.flat_scatter
        beta.reshape(B, -1)[:, dst] = sol.reshape(B, -1)[:, src]
        r2[:, endo] = (sol * rhs).sum(axis=2)
    return beta, r2


def total_effects(beta):
    """(B, K, K) total effects T = B + B^2 + ... = (I - B)^{-1} - I for the recursive model."""
    K = beta.shape[-1]
    T = np.zeros_like(beta)
    P = beta.copy()
    for _ in range(K):
        T += P
        P = P @ beta
        if not np.any(P):
            break
    return T


def moments(X):
    """Means, SD (n - 1) and the correlation matrix (1, p, p) of the full sample."""
    mean = X.mean(axis=0)
    Xc = X - mean
    cov = (Xc.T @ Xc) / (X.shape[0] - 1)
    sd = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        S = cov / np.outer(sd, sd)
    np.fill_diagonal(S, 1.0)
    return mean[None], sd[None], S[None]


def batched_moments(X, C):
    """Means, SD (n - 1) and correlation matrices of X under row weights C (B, n) (counts of resampled rows
    or 0/1 training masks).  Returns (mean (B, p), sd (B, p), S (B, p, p))."""
    n, p = X.shape
    m = C.sum(axis=1)
    Xc = X - X.mean(axis=0)
    mean_c = (C @ Xc) / m[:, None]
    return _finish_moments(X, m, mean_c, _weighted_cross(Xc, C) / m[:, None, None])


def _weighted_cross(Xc, C):
    """(B, p, p) sum_i C[b, i] x_i x_i', in row blocks so that memory stays bounded."""
    n, p = Xc.shape
    cross = np.zeros((C.shape[0], p * p))
    step = max(1, int(4_000_000 // (p * p)))
    for s in range(0, n, step):
        Xb = Xc[s:s + step]
        cross += C[:, s:s + step] @ (Xb[:, :, None] * Xb[:, None, :]).reshape(len(Xb), p * p)
    return cross.reshape(-1, p, p)


def moments_without(X, tests):
    """Means, SD (n - 1) and correlation matrices of X without the rows of each index array in ``tests``
    (cross-validation training sets), by downdating the full-sample sums."""
    n, p = X.shape
    Xc = X - X.mean(axis=0)
    total, cross_all = Xc.sum(axis=0), Xc.T @ Xc
    m = np.array([n - len(t) for t in tests], dtype=float)
    sums = np.array([total - Xc[t].sum(axis=0) for t in tests])
    cross = np.array([cross_all - Xc[t].T @ Xc[t] for t in tests])
    mean_c = sums / m[:, None]
    return _finish_moments(X, m, mean_c, cross / m[:, None, None])


def _finish_moments(X, m, mean_c, cross):
    p = X.shape[1]
    cov = cross - mean_c[:, :, None] * mean_c[:, None, :]
    var = np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None)
    sd_pop = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        S = cov / (sd_pop[:, :, None] * sd_pop[:, None, :])
        tiny = sd_pop < 1e-12 * np.maximum(1.0, np.abs(X).max(axis=0))
        S[tiny.any(axis=1)] = np.nan
    idx = np.arange(p)
    S[:, idx, idx] = np.where(np.isnan(S[:, idx, idx]), np.nan, 1.0)
    sd = sd_pop * np.sqrt(m / (m - 1))[:, None]
    return mean_c + X.mean(axis=0), sd, S
