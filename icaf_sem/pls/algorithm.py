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
  sqrt(rho_A,i rho_A,j), loadings w_j sqrt(rho_A,j) / (w_j'w_j).
"""
from __future__ import annotations

from dataclasses import dataclass

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
    reflective: np.ndarray  # bool per construct: corrected by PLSc

    @classmethod
    def from_spec(cls, spec, columns, consistent=False):
        pos = {c: i for i, c in enumerate(columns)}
        cidx = {c: k for k, c in enumerate(spec.constructs)}
        blocks = [np.array([pos[i] for i in spec.blocks[c]], dtype=int) for c in spec.constructs]
        pred = [np.array([cidx[iv] for iv in spec.predecessors(c)], dtype=int) for c in spec.constructs]
        modes = [spec.modes[c] for c in spec.constructs]
        refl = np.array([consistent and m == "A" for m in modes], dtype=bool)
        return cls(list(spec.constructs), list(columns), blocks, modes, pred, refl)

    @property
    def K(self):
        return len(self.constructs)

    @property
    def p(self):
        return len(self.columns)

    @property
    def mask(self):
        m = np.zeros((self.p, self.K))
        for k, b in enumerate(self.blocks):
            m[b, k] = 1.0
        return m

    @property
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
    var = np.einsum("bpk,bpq,bqk->bk", Wn, S, Wn)
    bad = ~(var > 0)
    var = np.where(bad, 1.0, var)
    return Wn / np.sqrt(var)[:, None, :], bad.any(axis=1)


def inner_weights(R, layout: Layout, scheme: str):
    """(B, K, K) inner weights E; the inner proxy of construct j is sum_i E[i, j] Y_i."""
    A = layout.adjacency
    if scheme == "factor":
        return R * A
    if scheme == "centroid":
        return np.sign(R) * A
    E = R * A
    for j, pr in enumerate(layout.pred):
        if len(pr):
            Rpp = R[:, pr[:, None], pr[None, :]]
            Rpj = R[:, pr, j]
            E[:, pr, j] = _solve(Rpp, Rpj)
    return E


def _solve(A, b):
    """Batched solve of A x = b (b: (B, m)); rows with a singular A give NaN."""
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        for i in range(A.shape[0]):
            try:
                out[i] = np.linalg.solve(A[i], b[i])
            except np.linalg.LinAlgError:
                pass
        return out


def pls_core(S, layout: Layout, scheme="path", max_iter=300, tol=1e-7) -> CoreOut:
    """Run the PLS algorithm on a stack of correlation matrices ``S`` (B, p, p)."""
    B = S.shape[0]
    M = layout.mask
    ok = np.isfinite(S).all(axis=(1, 2))
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
    for it in range(1, max_iter + 1):
        idx = np.nonzero(active)[0]
        if idx.size == 0:
            break
        Sa, Wa = S[idx], W[idx]
        R = np.einsum("bpk,bpq,bql->bkl", Wa, Sa, Wa)
        E = inner_weights(R, layout, scheme)
        C = Sa @ (Wa @ E)                     # cov(indicator, inner proxy of each construct)
        Wn = C * M
        for k in modeB:
            b = layout.blocks[k]
            Wn[:, b, k] = np.einsum("bij,bj->bi", Sinv[k][idx], C[:, b, k])
        Wn, badn = _normalize(Wn, Sa)
        diff = np.abs(Wn - Wa).max(axis=(1, 2))
        finite = np.isfinite(diff) & ~badn
        W[idx] = np.where(finite[:, None, None], Wn, Wa)
        iters[idx] = it
        ok[idx[~finite]] = False
        active[idx[(diff < tol) | ~finite]] = False
    converged = ok & ~active
    R = np.einsum("bpk,bpq,bql->bkl", W, S, W)
    return CoreOut(W, R, iters, converged, ok)


def rho_a(W, S, layout: Layout):
    """Dijkstra-Henseler rho_A per construct (B, K); 1 for single-item and mode-B constructs."""
    B = W.shape[0]
    out = np.ones((B, layout.K))
    for k, b in enumerate(layout.blocks):
        if len(b) < 2 or layout.modes[k] != "A":
            continue
        w = W[:, b, k]
        Sb = S[:, b[:, None], b[None, :]]
        ww = np.einsum("bi,bi->b", w, w)
        num = np.einsum("bi,bij,bj->b", w, Sb, w) - np.einsum("bi,bi,bii->b", w, w, Sb)
        den = ww ** 2 - np.einsum("bi,bi->b", w ** 2, w ** 2)
        out[:, k] = ww ** 2 * num / den
    return out


def corrected(R, W, S, layout: Layout):
    """PLSc: (corrected construct correlations, rho_A) for the reflective constructs of ``layout``."""
    rho = rho_a(W, S, layout)
    rho_c = np.where(layout.reflective[None, :], rho, 1.0)
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
        for k, b in enumerate(layout.blocks):
            if layout.reflective[k] and len(b) > 1:
                w = W[:, b, k]
                L[:, b, k] = w * (np.sqrt(rho[:, k]) / np.einsum("bi,bi->b", w, w))[:, None]
    return L


def structural(R, layout: Layout):
    """Path coefficients (B, K, K) with beta[b, iv, dv], and R^2 (B, K) (NaN for exogenous constructs)."""
    B, K = R.shape[0], layout.K
    beta = np.zeros((B, K, K))
    r2 = np.full((B, K), np.nan)
    for j, pr in enumerate(layout.pred):
        if len(pr):
            b = _solve(R[:, pr[:, None], pr[None, :]], R[:, pr, j])
            beta[:, pr, j] = b
            r2[:, j] = np.einsum("bi,bi->b", b, R[:, pr, j])
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


def batched_moments(X, C):
    """Means, SD (n - 1) and correlation matrices of X under row weights C (B, n) (counts of resampled rows
    or 0/1 training masks).  Returns (mean (B, p), sd (B, p), S (B, p, p))."""
    n, p = X.shape
    m = C.sum(axis=1)
    Xc = X - X.mean(axis=0)
    mean_c = (C @ Xc) / m[:, None]
    outer = (Xc[:, :, None] * Xc[:, None, :]).reshape(n, p * p)
    cross = (C @ outer).reshape(-1, p, p) / m[:, None, None]
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
