"""Sample statistics for ordinal (and mixed ordinal/continuous) data: the first two stages of
Muthén's (1984) three-stage estimator, as lavaan 0.6-14 computes them.

1. thresholds from each item's univariate margin (probit ML, i.e. ``qnorm`` of the cumulative
   proportions);
2. polychoric correlations of ordinal pairs (two-step ML given the thresholds), every pair in one
   batched Newton iteration over the bivariate tables;
3. the asymptotic covariance matrix of (thresholds, correlations), ``NACOV`` or Gamma, from the
   casewise scores (lavaan's ``muthen1984``), and from it the weight matrices of WLS/DWLS.

Everything is an array computation over all pairs at once; the casewise building blocks
(:func:`univariate_scores`, :func:`bivariate_pieces`, :func:`influence`) take code matrices and
can be reused on resamples.

lavaan's rules kept here (``lav_bvord.R``, ``lav_samplestats_step1.R``):

* an ordered variable's categories are its observed values, sorted;
* a 2 x 2 table with one empty cell gets 0.5 added to that cell and the opposite diagonal,
  and 0.5 taken from the other two (margins kept); larger tables get nothing added;
* a 2 x 2 table with a*d == b*c gives rho = 0; equal margins at 0 give -cos(2 pi p11);
  two empty cells give rho = +-1 with a warning;
* cell probabilities are floored at sqrt(machine epsilon); rho is bounded to [-0.999, 0.999].
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from ..errors import DataError, OrdinalWarning

SQRT_EPS = np.sqrt(np.finfo(float).eps)
BIG = 50.0                        # stands for +-infinity in the threshold grids (pdf(50) == 0 in doubles)
MAX_CATEGORIES = 20
_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)
_GL = {n: np.polynomial.legendre.leggauss(n) for n in (6, 12, 20)}


def _phi(x):
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


def _Phi(x):
    return special.ndtr(x)


# ------------------------------------------------------------------------------------------------
# bivariate normal
def bvn_cdf(h, k, r):
    """P(X <= h, Y <= k) for a standard bivariate normal with correlation r, elementwise.

    Genz's (2004) method (Drezner-Wesolowsky for |r| < 0.925 with Gauss-Legendre quadrature,
    Drezner's transformation above), vectorised; accurate to about 1e-15.
    """
    h, k, r = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float), np.asarray(r, float))
    return _bvnu(-h, -k, r)


def _bvnu(h, k, r):
    """P(X > h, Y > k)."""
    out = np.empty(h.shape)
    low = np.abs(r) < 0.925
    ar = np.abs(r)
    # Genz: 6 Gauss-Legendre points for |r| < 0.3, 12 below 0.75, 20 above
    for sel, n in ((ar < 0.3, 6), ((ar >= 0.3) & (ar < 0.75), 12), ((ar >= 0.75) & low, 20)):
        if not sel.any():
            continue
        X, Wt = _GL[n]
        hl, kl, rl = h[sel], k[sel], r[sel]
        hk = hl * kl
        hs = 0.5 * (hl * hl + kl * kl)
        asr = np.arcsin(rl)
        sn = np.sin(asr[:, None] * (1.0 + X) / 2.0)
        sm = np.exp((sn * hk[:, None] - hs[:, None]) / (1.0 - sn * sn)) @ Wt
        out[sel] = sm * asr / (4.0 * np.pi) + _Phi(-hl) * _Phi(-kl)
    high = ~low
    if high.any():
        hh, kh, rh = h[high], k[high].copy(), r[high]
        neg = rh < 0
        kh[neg] = -kh[neg]
        hk = hh * kh
        bvn = np.zeros(hh.shape)
        inner = np.abs(rh) < 1
        if inner.any():
            h_, k_, r_, hk_ = hh[inner], kh[inner], rh[inner], hk[inner]
            as_ = (1 - r_) * (1 + r_)
            a = np.sqrt(as_)
            bs = (h_ - k_) ** 2
            c = (4 - hk_) / 8
            d = (12 - hk_) / 16
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                v = a * np.exp(-(bs / as_ + hk_) / 2) * (1 - c * (bs - as_) * (1 - d * bs / 5) / 3 + c * d * as_ * as_ / 5)
                b = np.sqrt(bs)
                corr = np.exp(-hk_ / 2) * np.sqrt(2 * np.pi) * _Phi(-b / a) * b * (1 - c * bs * (1 - d * bs / 5) / 3)
                v = v - np.where(hk_ > -160, corr, 0.0)
                a2 = a / 2
                xs = (a2[..., None] * (_GL_X + 1)) ** 2
                rs = np.sqrt(1 - xs)
                t = (np.exp(-bs[..., None] / (2 * xs) - hk_[..., None] / (1 + rs)) / rs
                     - np.exp(-(bs[..., None] / xs + hk_[..., None]) / 2) * (1 + c[..., None] * xs * (1 + d[..., None] * xs)))
                t = np.where(np.isfinite(t), t, 0.0)
                v = v + a2 * np.sum(_GL_W * t, axis=-1)
            bvn[inner] = -v / (2 * np.pi)
        pos = ~neg
        bvn[pos] += _Phi(-np.maximum(hh[pos], kh[pos]))
        bvn[neg] = -bvn[neg]
        m = neg & (kh > hh)
        bvn[m] += _Phi(kh[m]) - _Phi(hh[m])
        out[high] = bvn
    return out


def bvn_grid(h, k, r):
    """Phi2(h[q, a], k[q, b]; r[q]) for many pairs q at once, (P, A, B): the quadrature nodes are
    computed once per pair (the same Genz rule as :func:`bvn_cdf`)."""
    P, A = h.shape
    B = k.shape[1]
    out = np.empty((P, A, B))
    ar = np.abs(r)
    Ph, Pk = _Phi(h), _Phi(k)
    for sel, n in ((ar < 0.3, 6), ((ar >= 0.3) & (ar < 0.75), 12), ((ar >= 0.75) & (ar < 0.925), 20)):
        if not sel.any():
            continue
        X, Wt = _GL[n]
        H, K = h[sel][:, :, None], k[sel][:, None, :]
        asr = np.arcsin(r[sel])
        sn = np.sin(asr[:, None] * (1.0 + X) / 2.0)                 # (Ps, n)
        dn = 1.0 / (1.0 - sn * sn)
        hk = H * K
        hs = 0.5 * (H * H + K * K)
        ex = np.exp((sn[:, None, None, :] * hk[..., None] - hs[..., None]) * dn[:, None, None, :])
        out[sel] = (ex @ Wt) * (asr / (4.0 * np.pi))[:, None, None] + Ph[sel][:, :, None] * Pk[sel][:, None, :]
    high = ar >= 0.925
    if high.any():
        hh = np.broadcast_to(h[high][:, :, None], (high.sum(), A, B))
        kk = np.broadcast_to(k[high][:, None, :], (high.sum(), A, B))
        rr = np.broadcast_to(r[high][:, None, None], (high.sum(), A, B))
        out[high] = bvn_cdf(hh, kk, rr)
    return out


def bvn_pdf(h, k, r):
    R = 1.0 - r * r
    return np.exp(-(h * h - 2 * r * h * k + k * k) / (2 * R)) / (2 * np.pi * np.sqrt(R))


# ------------------------------------------------------------------------------------------------
# data preparation
@dataclass
class OrdinalData:
    """Items coded 0..K-1 (-1 = missing) with their category labels."""
    codes: np.ndarray                  # (N, p) int
    names: list
    levels: list                       # observed values per item (sorted)
    ncat: np.ndarray                   # (p,)

    @property
    def nth(self):
        return self.ncat - 1


def recode(X: np.ndarray, names, *, levels=None, group=None) -> OrdinalData:
    """Code ordered items as 0..K-1 from their sorted observed values (as R's ``ordered()``).

    ``levels`` (optional) fixes the categories (e.g. those of the whole sample in a multi-group
    model, where an empty category in one group is an error as in lavaan).
    """
    X = np.asarray(X, float)
    N, p = X.shape
    codes = np.full((N, p), -1, dtype=np.int64)
    lev_out, ncat = [], np.zeros(p, int)
    where = f" in group {group!r}" if group is not None else ""
    for j, v in enumerate(names):
        col = X[:, j]
        ok = ~np.isnan(col)
        obs = col[ok]
        lev = np.unique(obs) if levels is None else np.asarray(levels[j], float)
        if levels is None:
            if len(lev) < 2:
                raise DataError(f"ordered item {v!r} has {len(lev)} observed categor{'y' if len(lev) == 1 else 'ies'}"
                                f"{where}; an ordinal item needs at least 2: drop it from the model or from ordered=")
            if len(lev) > MAX_CATEGORIES:
                raise DataError(f"ordered item {v!r} has {len(lev)} distinct values{where}; more than "
                                f"{MAX_CATEGORIES} categories is not an ordinal item: treat it as continuous "
                                "(leave it out of ordered=)")
            intlike = np.all(lev == np.round(lev))
            if intlike and len(lev) >= 2:
                full = np.arange(lev.min(), lev.max() + 1)
                gaps = np.setdiff1d(full, lev)
                if len(gaps):
                    raise DataError(
                        f"ordered item {v!r}: category {gaps[0]:g} between {lev.min():g} and {lev.max():g} is empty"
                        f"{where} (no respondent chose it), so its threshold is not identified; recode the item "
                        "(merge the empty category with a neighbour) before fitting")
        idx = np.searchsorted(lev, obs)
        if levels is not None:
            bad = (idx >= len(lev)) | (lev[np.minimum(idx, len(lev) - 1)] != obs)
            if bad.any():
                raise DataError(f"ordered item {v!r}{where} has the value {obs[bad][0]:g}, not among its categories")
        codes[ok, j] = idx
        cnt = np.bincount(idx, minlength=len(lev))
        if levels is not None and (cnt == 0).any():
            raise DataError(f"ordered item {v!r}: category {lev[np.flatnonzero(cnt == 0)[0]]:g} is empty{where} "
                            f"(frequencies {cnt.tolist()}); lavaan refuses this too: merge categories or drop the group")
        lev_out.append(lev)
        ncat[j] = len(lev)
    return OrdinalData(codes, list(names), lev_out, ncat)


# ------------------------------------------------------------------------------------------------
# stage 1: thresholds
def thresholds(od: OrdinalData):
    """Thresholds per item (list of arrays): qnorm of the cumulative proportions of the
    available cases."""
    out = []
    for j in range(len(od.names)):
        c = od.codes[:, j]
        c = c[c >= 0]
        cnt = np.bincount(c, minlength=od.ncat[j]).astype(float)
        cum = np.cumsum(cnt)[:-1] / cnt.sum()
        out.append(special.ndtri(cum))
    return out


def _grid(od: OrdinalData, th):
    """Extended thresholds (p, K+1): -BIG, t_1..t_{K_j-1}, +BIG padded with +BIG."""
    p = len(od.names)
    K = int(od.ncat.max())
    E = np.full((p, K + 1), BIG)
    E[:, 0] = -BIG
    for j in range(p):
        E[j, 1:od.ncat[j]] = th[j]
    return E


def univariate_scores(od: OrdinalData, th):
    """Casewise scores of the univariate log-likelihoods w.r.t. the thresholds (N, nth);
    missing cases score 0."""
    N = od.codes.shape[0]
    nth = od.nth
    start = np.concatenate([[0], np.cumsum(nth)])
    SC = np.zeros((N, int(nth.sum())))
    for j in range(len(od.names)):
        c = od.codes[:, j]
        ok = c >= 0
        t = np.concatenate([[-np.inf], th[j], [np.inf]])
        P = _Phi(t[1:]) - _Phi(t[:-1])
        dens = np.concatenate([[0.0], _phi(th[j]), [0.0]])
        rows = np.flatnonzero(ok)
        cc = c[ok]
        # d log P(y = a) / d t_m = [a == m - 1] phi(t_m) / P_a - [a == m] phi(t_m) / P_a  (m = 1..K-1)
        up = cc + 1                               # index (in t) of the upper threshold
        lo = cc
        m_up = up - 1                             # threshold number 0..nth-1
        m_lo = lo - 1
        s = start[j]
        sel = m_up < nth[j]
        SC[rows[sel], s + m_up[sel]] += dens[up[sel]] / P[cc[sel]]
        sel = m_lo >= 0
        SC[rows[sel], s + m_lo[sel]] -= dens[lo[sel]] / P[cc[sel]]
    return SC


# ------------------------------------------------------------------------------------------------
# stage 2: polychoric correlations
def pair_index(p):
    """lavaan's order of the correlations: vech below the diagonal, column by column."""
    I, J = [], []
    for j in range(p):
        for i in range(j + 1, p):
            I.append(i)
            J.append(j)
    return np.array(I, int), np.array(J, int)


def bivariate_tables(od: OrdinalData, I, J):
    """Frequency tables of all pairs (P, K, K), pairwise complete cases."""
    N, p = od.codes.shape
    K = int(od.ncat.max())
    P = len(I)
    codes = od.codes.astype(np.int32)
    if (codes < 0).any():
        ci, cj = codes[:, I], codes[:, J]
        ok = (ci >= 0) & (cj >= 0)
        cell = np.where(ok, np.arange(P, dtype=np.int32)[None, :] * (K * K) + ci * K + cj, P * K * K)
    else:
        cell = codes[:, I] * K + codes[:, J]
        cell += np.arange(P, dtype=np.int32)[None, :] * (K * K)
    f = np.bincount(cell.ravel(), minlength=P * K * K + 1)[:P * K * K]
    return f.reshape(P, K, K).astype(float)


def _cell_probs(Ei, Ej, rho):
    """Cell probabilities (P, K, K) and the bivariate cdf grid (P, K+1, K+1)."""
    P, K1 = Ei.shape
    h = np.broadcast_to(Ei[:, :, None], (P, K1, K1))
    k = np.broadcast_to(Ej[:, None, :], (P, K1, K1))
    r = np.broadcast_to(rho[:, None, None], (P, K1, K1))
    BI = np.zeros((P, K1, K1))
    # the last row/column (+BIG) holds the margins; padded thresholds (+BIG) give margins too
    BI[:, 1:-1, 1:-1] = bvn_grid(Ei[:, 1:-1], Ej[:, 1:-1], rho)
    BI[:, -1, 1:] = _Phi(Ej[:, 1:])
    BI[:, 1:, -1] = _Phi(Ei[:, 1:])
    PI = BI[:, 1:, 1:] - BI[:, :-1, 1:] - BI[:, 1:, :-1] + BI[:, :-1, :-1]
    return PI


def _dens_grid(Ei, Ej, rho):
    """phi2 at every threshold pair, (P, K+1, K+1) (zero at +-BIG)."""
    h = Ei[:, :, None]
    k = Ej[:, None, :]
    r = rho[:, None, None]
    return bvn_pdf(h, k, r)


def _corner_diff(G):
    """G[a+1, b+1] - G[a, b+1] - G[a+1, b] + G[a, b] for each cell."""
    return G[:, 1:, 1:] - G[:, :-1, 1:] - G[:, 1:, :-1] + G[:, :-1, :-1]


def polychoric(od: OrdinalData, th=None, *, I=None, J=None, max_iter=100, tol=1e-10):
    """Polychoric correlations of all ordinal pairs by two-step ML, in one batched Newton pass.

    Returns ``(R, info)`` with ``R`` the (p, p) matrix and ``info`` a dict holding the pairs,
    tables, thresholds and the count of tables with an empty cell.
    """
    p = len(od.names)
    th = thresholds(od) if th is None else th
    if I is None:
        I, J = pair_index(p)
    f = bivariate_tables(od, I, J)
    E = _grid(od, th)
    Ei, Ej = E[I], E[J]
    K = f.shape[1]
    real = (np.arange(K)[None, :, None] < od.ncat[I][:, None, None]) & \
           (np.arange(K)[None, None, :] < od.ncat[J][:, None, None])
    zero_cells = ((f == 0) & real).any(axis=(1, 2))
    fe = f.copy()
    fixed = np.full(len(I), np.nan)
    two = (od.ncat[I] == 2) & (od.ncat[J] == 2)
    for q in np.flatnonzero(two):
        t = fe[q, :2, :2]
        nz = np.flatnonzero(t.ravel() == 0)
        if len(nz) == 2:
            warnings.warn(OrdinalWarning(f"two empty cells in the 2 x 2 table of {od.names[I[q]]!r} and "
                                         f"{od.names[J[q]]!r}: their tetrachoric correlation is set to "
                                         f"{'+1' if t[0, 0] > 0 else '-1'} (as lavaan)"))
            fixed[q] = 1.0 if t[0, 0] > 0 else -1.0
            continue
        if len(nz) == 1:
            s = 0.5 if nz[0] in (0, 3) else -0.5
            t[0, 0] += s
            t[1, 1] += s
            t[0, 1] -= s
            t[1, 0] -= s
        if t[0, 0] * t[1, 1] == t[0, 1] * t[1, 0]:
            fixed[q] = 0.0
        elif th[I[q]][0] == 0 and th[J[q]][0] == 0:
            fixed[q] = -np.cos(2 * np.pi * t[0, 0] / t.sum())
    # start: Pearson correlation of the normal scores E[z | category] on the pairwise complete cases,
    # disattenuated by each item's corr(score, z) = sd(score) (exact when the regression is linear);
    # far closer to the polychoric than the correlation of the codes, so Newton needs fewer passes
    Pc = np.diff(_Phi(E), axis=1)                                    # (p, K) category probabilities
    dens = np.where(np.abs(E) >= BIG, 0.0, _phi(np.clip(E, -BIG, BIG)))
    with np.errstate(invalid="ignore", divide="ignore"):
        sc = np.where(Pc > 0, (dens[:, :-1] - dens[:, 1:]) / Pc, 0.0)  # (p, K)
    sd = np.sqrt(np.sum(Pc * sc * sc, axis=1))
    cod = od.codes
    sco = np.where(cod >= 0, sc[np.arange(p)[None, :], np.maximum(cod, 0)], -1.0)
    ci = np.where(cod[:, I] >= 0, sco[:, I], -1.0)
    cj = np.where(cod[:, J] >= 0, sco[:, J], -1.0)
    ok = (od.codes[:, I] >= 0) & (od.codes[:, J] >= 0)
    n = ok.sum(0)
    mi = np.where(ok, ci, 0).sum(0) / n
    mj = np.where(ok, cj, 0).sum(0) / n
    di, dj = np.where(ok, ci - mi, 0), np.where(ok, cj - mj, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (di * dj).sum(0) / np.sqrt((di * di).sum(0) * (dj * dj).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = rho / (sd[I] * sd[J])
    rho = np.where(np.isfinite(rho), rho, 0.0)
    rho = np.clip(rho, -0.99, 0.99)
    act = np.isnan(fixed)
    N_pair = fe.sum(axis=(1, 2))

    def logl(r, idx):
        PI = np.maximum(_cell_probs(Ei[idx], Ej[idx], r), SQRT_EPS)
        return np.sum(fe[idx] * np.log(PI), axis=(1, 2)), PI

    converged = np.zeros(len(I), bool)
    converged[~act] = True
    idx = np.flatnonzero(act)
    r = rho[idx]
    ll, PI = logl(r, idx)
    for _ in range(max_iter):
        if not len(idx):
            break
        D = _dens_grid(Ei[idx], Ej[idx], r)
        phi = _corner_diff(D)
        h, k = Ei[idx][:, :, None], Ej[idx][:, None, :]
        rr = r[:, None, None]
        R2 = 1 - rr * rr
        guv = (h * k * R2 - rr * (h * h - 2 * rr * h * k + k * k) + rr * R2) / (R2 * R2)
        gn = _corner_diff(D * guv)
        PIs = np.where(PI <= SQRT_EPS, np.inf, PI)
        F = fe[idx]
        g = np.sum(F * phi / PIs, axis=(1, 2))
        H = np.sum(F * gn / PIs, axis=(1, 2)) - np.sum(F * phi * phi / (PIs * PIs), axis=(1, 2))
        # converged: zero score, or at the bound with the score pointing outwards (as nlminb's box)
        done = (np.abs(g) / N_pair[idx] < tol) | ((r >= 0.999) & (g > 0)) | ((r <= -0.999) & (g < 0))
        converged[idx[done]] = True
        rho[idx] = r
        left = ~done                          # converged pairs leave before their step is evaluated
        idx, r, ll, PI, g, H = idx[left], r[left], ll[left], PI[left], g[left], H[left]
        if not len(idx):
            break
        step = np.where(H < 0, -g / np.where(H < 0, H, -1), g / N_pair[idx])
        # damped Newton with backtracking on the log-likelihood
        lam = np.ones(len(idx))
        new_r = np.clip(r + step, -0.999, 0.999)
        new_ll, new_PI = logl(new_r, idx)
        for _ in range(30):
            bad = new_ll < ll - 1e-12 * np.abs(ll)
            if not bad.any():
                break
            lam[bad] *= 0.5
            new_r = np.where(bad, np.clip(r + lam * step, -0.999, 0.999), new_r)
            b = np.flatnonzero(bad)
            ll_b, PI_b = logl(new_r[b], idx[b])
            new_ll[b] = ll_b
            new_PI[b] = PI_b
        r, ll, PI = new_r, new_ll, new_PI
        rho[idx] = r
    if len(idx):
        names = ", ".join(f"{od.names[I[q]]}-{od.names[J[q]]}" for q in idx[:5])
        warnings.warn(OrdinalWarning(f"the polychoric correlation did not converge for {len(idx)} pair(s) "
                                     f"({names}); results involving them are unreliable"))
    rho = np.where(np.isnan(fixed), rho, fixed)
    R = np.eye(p)
    R[I, J] = R[J, I] = rho
    info = {"I": I, "J": J, "tables": f, "zero_cell_tables": int(zero_cells.sum()), "thresholds": th,
            "rho": rho, "converged": converged}
    return R, info


# ------------------------------------------------------------------------------------------------
# stage 3: casewise scores and Gamma
def bivariate_pieces(od: OrdinalData, th, rho, I, J):
    """Cell-level score pieces for every pair (arrays (P, K, K)):

    ``s_rho`` = d log pi / d rho and the threshold derivatives as
    ``G1`` (P, K+1, K) / ``G2`` (P, K, K+1): d pi_ab / d t1_m = (1[a == m-1] - 1[a == m]) G1[m, b].
    """
    E = _grid(od, th)
    Ei, Ej = E[I], E[J]
    PI = _cell_probs(Ei, Ej, rho)
    PIs = np.where(PI <= SQRT_EPS, np.nan, PI)
    D = _dens_grid(Ei, Ej, rho)
    s_rho = _corner_diff(D) / PIs
    R = np.sqrt(1 - rho * rho)[:, None, None]
    r = rho[:, None, None]
    # G1[m, b] = phi(t1_m) [Phi((t2_{b+1} - r t1_m)/R) - Phi((t2_b - r t1_m)/R)]
    c1 = _Phi((Ej[:, None, :] - r * Ei[:, :, None]) / R)          # (P, K+1, K+1)
    G1 = _phi(Ei)[:, :, None] * (c1[:, :, 1:] - c1[:, :, :-1])      # (P, K+1, K)
    c2 = _Phi((Ei[:, :, None] - r * Ej[:, None, :]) / R)          # (P, K+1(a), K+1(m))
    G2 = _phi(Ej)[:, None, :] * (c2[:, 1:, :] - c2[:, :-1, :])      # (P, K, K+1)
    return PIs, s_rho, G1, G2


@dataclass
class OrdinalStats:
    """Thresholds, polychoric correlations and their asymptotic covariance for one group."""
    names: list
    od: OrdinalData
    th: list
    R: np.ndarray
    I: np.ndarray
    J: np.ndarray
    N: int
    zero_cell_tables: int
    gamma: np.ndarray | None = None            # NACOV (N x acov), order: thresholds then correlations
    influence: np.ndarray | None = None        # (N, nth + P) casewise influence
    extra: dict = field(default_factory=dict)

    @property
    def th_vec(self):
        return np.concatenate(self.th) if self.th else np.zeros(0)

    @property
    def wls_obs(self):
        return np.concatenate([self.th_vec, self.R[self.I, self.J]])

    @property
    def nth(self):
        return int(sum(len(t) for t in self.th))

    nvar = 0                       # continuous variances among the statistics (none here)

    @property
    def ncor0(self):
        """Index of the first correlation in ``wls_obs``."""
        return self.nth


@dataclass
class MixedStats:
    """:func:`mixed_stats` for one group, with the attributes the WLS stage reads."""
    names: list
    ordered: list
    th: list                  # per variable: thresholds (ordered) or [mean] (continuous)
    R: np.ndarray             # correlations (polychoric, polyserial, Pearson)
    C: np.ndarray             # covariances
    I: np.ndarray
    J: np.ndarray
    N: int
    wls_obs: np.ndarray
    gamma: np.ndarray
    influence: np.ndarray
    zero_cell_tables: int = 0

    @property
    def nth(self):
        return int(sum(len(t) for t in self.th))

    @property
    def nvar(self):
        return len(self.names) - len(self.ordered)

    @property
    def ncor0(self):
        return self.nth + self.nvar


def mixed_group_stats(X, names, ordered) -> MixedStats:
    out = mixed_stats(X, names, ordered)
    st = MixedStats(list(names), [v for v in names if v in ordered], out["th"], out["cor"], out["cov"], out["I"],
                    out["J"], out["N"], out["wls_obs"], out["gamma"], out["influence"])
    if st.N < len(st.wls_obs):
        warnings.warn(OrdinalWarning(f"only {st.N} rows for {len(st.wls_obs)} sample statistics: their asymptotic "
                                     "covariance matrix (Gamma) is singular; collect more responses"))
    return st


def influence_parts(od: OrdinalData, th, rho, I, J, tables=None):
    """Everything lavaan's ``muthen1984`` needs besides the cases, from the tables alone:
    per-category threshold influence ``T_j`` (A11^-1 applied), the cell scores of rho, A21 and
    the diagonal A22 (sums over cases are sums over cells/categories weighted by their counts)."""
    nth = od.nth
    start = np.concatenate([[0], np.cumsum(nth)])
    # univariate: the score of a case depends only on its category
    T = []
    for j in range(len(od.names)):
        t = np.concatenate([[-np.inf], th[j], [np.inf]])
        Pc = _Phi(t[1:]) - _Phi(t[:-1])
        dens = _phi(np.asarray(th[j]))
        K = len(Pc)
        U = np.zeros((K, nth[j]))
        U[np.arange(K - 1), np.arange(K - 1)] = dens / Pc[:-1]          # upper threshold of category c
        U[np.arange(1, K), np.arange(K - 1)] -= dens / Pc[1:]           # lower threshold of category c
        c = od.codes[:, j]
        n_c = np.bincount(c[c >= 0], minlength=K).astype(float)
        A11 = (U * n_c[:, None]).T @ U
        T.append(np.linalg.solve(A11, U.T).T)                           # (K, nth_j): U A11^-1
    PIs, s_rho, G1, G2 = bivariate_pieces(od, th, rho, I, J)
    P = len(I)
    K = s_rho.shape[1]
    f = bivariate_tables(od, I, J) if tables is None else tables
    M = np.nan_to_num(f * s_rho / PIs)                               # (P, K, K)
    # A21 at the cell level: sum_n s_rho * d log pi / d t   (rows m = 1..K-1 of G1/G2)
    Mpad = np.concatenate([np.zeros((P, 1, K)), M, np.zeros((P, 1, K))], axis=1)
    A21_1 = np.sum(G1 * (Mpad[:, :-1, :] - Mpad[:, 1:, :]), axis=2)   # (P, K+1)
    Mpad2 = np.concatenate([np.zeros((P, K, 1)), M, np.zeros((P, K, 1))], axis=2)
    A21_2 = np.sum(G2 * (Mpad2[:, :, :-1] - Mpad2[:, :, 1:]), axis=1)  # (P, K+1)
    A21 = np.zeros((P, int(nth.sum())))
    for q in range(P):
        i, j = I[q], J[q]
        A21[q, start[i]:start[i + 1]] += A21_1[q, 1:nth[i] + 1]
        A21[q, start[j]:start[j + 1]] += A21_2[q, 1:nth[j] + 1]
    sr = np.nan_to_num(s_rho)
    a22 = np.sum(f * sr * sr, axis=(1, 2))
    if np.any(a22 == 0):
        raise DataError("a polychoric correlation has no information (a bivariate table with all cases in one "
                        "cell?); its asymptotic variance cannot be computed: drop or recode the item")
    return {"T": T, "start": start, "s_rho": sr.reshape(-1), "K": K, "A21": A21, "a22": a22, "I": I, "J": J}


def influence_rows(parts, codes):
    """Casewise influence (rows of ``codes``) of (thresholds, polychorics): lavaan's B^-1 applied
    to the casewise scores, so that Gamma = N IF' IF."""
    n = codes.shape[0]
    start, T = parts["start"], parts["T"]
    IF_th = np.zeros((n, int(start[-1])))
    for j, Tj in enumerate(T):
        c = codes[:, j]
        ok = c >= 0
        IF_th[ok, start[j]:start[j + 1]] = Tj[c[ok]]
    I, J, K = parts["I"], parts["J"], parts["K"]
    ci, cj = codes[:, I], codes[:, J]
    ok = (ci >= 0) & (cj >= 0)
    flat = np.arange(len(I))[None, :] * K * K + np.where(ok, ci, 0) * K + np.where(ok, cj, 0)
    SC = np.where(ok, parts["s_rho"][flat], 0.0)
    IF_cor = (SC - IF_th @ parts["A21"].T) / parts["a22"]
    return np.hstack([IF_th, IF_cor])


def influence(od: OrdinalData, th, rho, I, J, tables=None):
    """Casewise influence of (thresholds, polychorics) (N, nth + P); Gamma = N IF' IF."""
    return influence_rows(influence_parts(od, th, rho, I, J, tables), od.codes)


MAX_INFLUENCE_CELLS = 20_000_000     # above this many N x statistics, Gamma is accumulated in chunks


def gamma_chunked(parts, codes, N):
    """Gamma = N sum_chunks IF_c' IF_c with bounded memory; returns (Gamma, IF or None)."""
    nel = int(parts["start"][-1]) + len(parts["I"])
    if codes.shape[0] * nel <= MAX_INFLUENCE_CELLS:
        IF = influence_rows(parts, codes)
        return N * (IF.T @ IF), IF
    step = max(1, MAX_INFLUENCE_CELLS // (4 * nel))
    G = np.zeros((nel, nel))
    for a in range(0, codes.shape[0], step):
        IFc = influence_rows(parts, codes[a:a + step])
        G += IFc.T @ IFc
    return N * G, None


def ordinal_stats(X, names, *, levels=None, group=None, gamma=True) -> OrdinalStats:
    """Stages 1-3 for one group of ordinal items (X: raw values, NaN = missing)."""
    od = recode(X, names, levels=levels, group=group)
    th = thresholds(od)
    R, info = polychoric(od, th)
    N = od.codes.shape[0]
    st = OrdinalStats(list(names), od, th, R, info["I"], info["J"], N, info["zero_cell_tables"])
    if gamma:
        nel = st.nth + len(st.I)
        if N <= 1:
            raise DataError(f"only {N} rows{'' if group is None else f' in group {group!r}'}: too few to "
                            "estimate thresholds, polychoric correlations and their asymptotic covariance")
        parts = influence_parts(od, th, info["rho"], st.I, st.J, tables=info["tables"])
        st.gamma, st.influence = gamma_chunked(parts, od.codes, N)
        if N < nel:
            warnings.warn(OrdinalWarning(
                f"only {N} rows{'' if group is None else f' in group {group!r}'} for {nel} sample statistics "
                "(thresholds and polychoric correlations): their asymptotic covariance matrix (Gamma) is "
                "singular, so robust standard errors and tests are unreliable; collect more responses"))
    ev = np.linalg.eigvalsh(R)
    if ev.min() < SQRT_EPS:
        warnings.warn(OrdinalWarning(
            f"the polychoric correlation matrix{'' if group is None else f' of group {group!r}'} is not positive "
            f"definite (smallest eigenvalue {ev.min():.3g}); DWLS estimates are still defined, but the robust "
            "CFI/RMSEA are not computed (as lavaan), and the reliability based on it is questionable"))
    return st


def polychoric_matrix(data, columns=None):
    """Polychoric correlation matrix of ordinal columns (lavaan's ``lavCor(data, ordered = TRUE)``).

    Parameters
    ----------
    data : pandas.DataFrame
        Item responses (integer codes); missing values use pairwise complete cases.
    columns : list of str, optional
        Columns to use (default: all).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> polychoric_matrix(df[["a1", "a2", "a3"]])   # doctest: +SKIP

    The same in R: ``lavaan::lavCor(df[, c("a1", "a2", "a3")], ordered = TRUE)``.
    """
    import pandas as pd
    cols = list(data.columns) if columns is None else list(columns)
    X = _numeric_block(data, cols)
    od = recode(X, cols)
    R, _ = polychoric(od)
    return pd.DataFrame(R, index=cols, columns=cols)


def _numeric_block(data, cols):
    from .._columns import numeric_block
    return numeric_block(data, cols, what="ordered column",
                         fix="ordinal items must be numeric codes: recode the labels to 1, 2, 3, ...")


# ------------------------------------------------------------------------------------------------
# mixed ordinal / continuous variables: polyserial correlations and lavaan's NACOV
def _polyserial(z, codes, th, max_iter=100, tol=1e-10):
    """Two-step ML polyserial correlations for many (continuous, ordinal) pairs at once.

    ``z``: (N, P) standardized continuous scores, ``codes``: (N, P) categories 0..K-1 (-1 missing,
    NaN z = missing), ``th``: list of threshold arrays per pair.  Returns rho (P,)."""
    N, P = z.shape
    K = max(len(t) for t in th) + 1
    E = np.full((P, K + 1), BIG)
    E[:, 0] = -BIG
    for q, t in enumerate(th):
        E[q, 1:len(t) + 1] = t
    ok = (codes >= 0) & np.isfinite(z)
    zz = np.where(ok, z, 0.0)
    cc = np.where(ok, codes, 0)
    up = np.take_along_axis(E, cc.T + 1, axis=1).T          # (N, P) upper threshold of the case's category
    lo = np.take_along_axis(E, cc.T, axis=1).T

    def score(r):
        R = np.sqrt(1 - r * r)
        a, b = (up - r * zz) / R, (lo - r * zz) / R
        p = np.maximum(_Phi(a) - _Phi(b), np.finfo(float).eps)
        ta = _phi(a) * (up * r - zz)
        tb = _phi(b) * (lo * r - zz)
        s = (ta - tb) / (p * R ** 3)
        return np.where(ok, s, 0.0), np.where(ok, np.log(p), 0.0)

    n = ok.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.nan_to_num(np.sum(zz * np.where(ok, cc - cc.mean(0), 0), 0) /
                          np.sqrt(n * np.sum(np.where(ok, (cc - cc.mean(0)) ** 2, 0), 0)))
    r = np.clip(r, -0.9, 0.9)
    for _ in range(max_iter):
        s, ll = score(r)
        g = s.sum(0)
        h = 1e-6
        s2, _ = score(np.clip(r + h, -0.995, 0.995))
        s1, _ = score(np.clip(r - h, -0.995, 0.995))
        H = (s2.sum(0) - s1.sum(0)) / (2 * h)
        done = (np.abs(g) / n < tol) | ((r >= 0.995) & (g > 0)) | ((r <= -0.995) & (g < 0))
        if done.all():
            break
        step = np.where(H < 0, -g / np.where(H < 0, H, -1), 0.1 * np.sign(g))
        new = np.clip(r + step, -0.995, 0.995)
        lam = np.ones(P)
        base = ll.sum(0)
        for _ in range(30):
            _, lln = score(new)
            bad = (lln.sum(0) < base - 1e-12 * np.abs(base)) & ~done
            if not bad.any():
                break
            lam[bad] *= 0.5
            new = np.where(bad, np.clip(r + lam * step, -0.995, 0.995), new)
        r = np.where(done, r, new)
    return r


def mixed_stats(X, names, ordered, *, gamma=True):
    """Thresholds/means, variances, correlations (polychoric, polyserial, Pearson) and NACOV for
    ordered and continuous variables together, as lavaan's ``muthen1984``.

    Returns a dict with ``wls_obs`` (lavaan's order: thresholds with -mean for a continuous
    variable, the continuous variances, then the covariances below the diagonal by column),
    ``cor`` (correlation matrix), ``cov`` (covariances), ``th``, ``var``, ``mean`` and ``gamma``.
    Continuous variables use the ML (divisor N) mean and variance.

    Examples
    --------
    R: ``lavCor(df, ordered = c("a1", "a2"))`` and ``lavInspect(fit, "gamma")``.
    """
    X = np.asarray(X, float)
    N, p = X.shape
    ordered = list(ordered)
    is_ord = np.array([v in ordered for v in names])
    oi = np.flatnonzero(is_ord)
    ni = np.flatnonzero(~is_ord)
    od = recode(X[:, oi], [names[j] for j in oi]) if len(oi) else None
    th_o = thresholds(od) if len(oi) else []
    codes = np.full((N, p), -1)
    if len(oi):
        codes[:, oi] = od.codes
    mean = np.full(p, np.nan)
    var = np.full(p, np.nan)
    for j in ni:
        x = X[:, j]
        x = x[np.isfinite(x)]
        mean[j], var[j] = x.mean(), x.var()
    sd = np.sqrt(var)
    Z = (X - mean) / sd
    th = []
    k = 0
    for j in range(p):
        if is_ord[j]:
            th.append(th_o[k])
            k += 1
        else:
            th.append(np.array([mean[j]]))
    I, J = pair_index(p)
    Pn = len(I)
    rho = np.zeros(Pn)
    kind = np.where(is_ord[I] & is_ord[J], 0, np.where(~is_ord[I] & ~is_ord[J], 2, 1))
    # ordinal-ordinal
    q0 = np.flatnonzero(kind == 0)
    if len(q0):
        pos = {j: a for a, j in enumerate(oi)}
        Io = np.array([pos[i] for i in I[q0]])
        Jo = np.array([pos[j] for j in J[q0]])
        _, info = polychoric(od, th_o, I=Io, J=Jo)
        rho[q0] = info["rho"]
    # continuous-continuous: the ML correlation given the ML margins is Pearson's r
    q2 = np.flatnonzero(kind == 2)
    for q in q2:
        a, b = Z[:, I[q]], Z[:, J[q]]
        m = np.isfinite(a) & np.isfinite(b)
        rho[q] = np.mean(a[m] * b[m])
    # continuous-ordinal: polyserial (the continuous one is 'y1')
    q1 = np.flatnonzero(kind == 1)
    cont = np.where(is_ord[I[q1]], J[q1], I[q1])
    ordv = np.where(is_ord[I[q1]], I[q1], J[q1])
    if len(q1):
        rho[q1] = _polyserial(Z[:, cont], codes[:, ordv], [th[o] for o in ordv])
    R = np.eye(p)
    R[I, J] = R[J, I] = rho
    scale = np.where(is_ord, 1.0, sd)
    C = R * np.outer(scale, scale)
    th_vec = np.concatenate([(-t if not is_ord[j] else t) for j, t in enumerate(th)])
    obs = np.concatenate([th_vec, var[ni], C[I, J]])
    out = {"names": list(names), "ordered": ordered, "th": th, "mean": mean, "var": var, "cor": R, "cov": C,
           "wls_obs": obs, "N": N, "I": I, "J": J}
    if not gamma:
        return out
    # ---------------- casewise scores
    nth = np.array([len(t) for t in th])
    tstart = np.concatenate([[0], np.cumsum(nth)])
    ntot = int(nth.sum())
    nnum = len(ni)
    vpos = {j: ntot + a for a, j in enumerate(ni)}
    A11n = ntot + nnum
    SC1 = np.zeros((N, A11n))
    if len(oi):
        SCo = univariate_scores(od, th_o)
        so = np.concatenate([[0], np.cumsum(od.nth)])
        for a, j in enumerate(oi):
            SC1[:, tstart[j]:tstart[j + 1]] = SCo[:, so[a]:so[a + 1]]
    for j in ni:
        x = X[:, j]
        m = np.isfinite(x)
        d = np.where(m, x - mean[j], 0.0)
        SC1[:, tstart[j]] = np.where(m, d / var[j], 0.0)
        SC1[:, vpos[j]] = np.where(m, -0.5 / var[j] + d * d / (2 * var[j] ** 2), 0.0)
    SCC = np.zeros((N, Pn))
    A21 = np.zeros((Pn, A11n))
    H21 = np.zeros((Pn, A11n))
    h22 = np.ones(Pn)
    if len(q0):
        IFo = _ordinal_pair_scores(od, th_o, rho[q0], Io, Jo)
        SCC[:, q0] = IFo["sc"]
        so = np.concatenate([[0], np.cumsum(od.nth)])
        for a, q in enumerate(q0):
            i, j = I[q], J[q]
            A21[q, tstart[i]:tstart[i + 1]] = IFo["a21"][a, so[Io[a]]:so[Io[a] + 1]]
            A21[q, tstart[j]:tstart[j + 1]] = IFo["a21"][a, so[Jo[a]]:so[Jo[a] + 1]]
    for q in q2:
        i, j = I[q], J[q]
        r = rho[q]
        z1, z2 = Z[:, i], Z[:, j]
        m = np.isfinite(z1) & np.isfinite(z2)
        z1, z2 = np.where(m, z1, 0), np.where(m, z2, 0)
        R2 = 1 - r * r
        s = np.where(m, (r * R2 + (1 + r * r) * z1 * z2 - r * (z1 * z1 + z2 * z2)) / (R2 * R2), 0.0)
        SCC[:, q] = s
        for (u, zu, zv) in ((i, z1, z2), (j, z2, z1)):
            dmu = np.where(m, (zu - r * zv) / (sd[u] * R2), 0.0)
            dvar = np.where(m, (-1 + zu * (zu - r * zv) / R2) / (2 * var[u]), 0.0)
            A21[q, tstart[u]] = s @ dmu
            A21[q, vpos[u]] = s @ dvar
        H21[q, vpos[i]] = sd[j] * r / (2 * sd[i])
        H21[q, vpos[j]] = sd[i] * r / (2 * sd[j])
        h22[q] = sd[i] * sd[j]
    for a, q in enumerate(q1):
        c, o = cont[a], ordv[a]
        r = rho[q]
        Rr = math.sqrt(1 - r * r)
        z = Z[:, c]
        cc = codes[:, o]
        m = np.isfinite(z) & (cc >= 0)
        t = np.concatenate([[-BIG], th[o], [BIG]])
        z = np.where(m, z, 0.0)
        cc = np.where(m, cc, 0)
        up, lo = t[cc + 1], t[cc]
        ta, tb = (up - r * z) / Rr, (lo - r * z) / Rr
        pa, pb = _phi(ta), _phi(tb)
        pr = np.maximum(_Phi(ta) - _Phi(tb), np.finfo(float).eps)
        s = np.where(m, (pa * (up * r - z) - pb * (lo * r - z)) / (pr * Rr ** 3), 0.0)
        SCC[:, q] = s
        dmu = np.where(m, (z + (r / Rr) * (pa - pb) / pr) / sd[c], 0.0)
        dvar = np.where(m, ((z * z - 1) + (r * z / Rr) * (pa - pb) / pr) / (2 * var[c]), 0.0)
        A21[q, tstart[c]] = s @ dmu
        A21[q, vpos[c]] = s @ dvar
        nt = len(th[o])
        Y1 = (cc[:, None] == np.arange(nt)[None, :]) & m[:, None]        # upper threshold m = category
        Y2 = (cc[:, None] == np.arange(1, nt + 1)[None, :]) & m[:, None]  # lower threshold
        dth = (Y1 * pa[:, None] - Y2 * pb[:, None]) / (Rr * pr[:, None])
        A21[q, tstart[o]:tstart[o + 1]] = s @ dth
        H21[q, vpos[c]] = r / (2 * sd[c])
        h22[q] = sd[c]
    # ---------------- B^-1 and NACOV
    IF1 = np.zeros_like(SC1)
    for j in range(p):
        idx = list(range(tstart[j], tstart[j + 1])) + ([vpos[j]] if j in vpos else [])
        blk = SC1[:, idx]
        IF1[:, idx] = np.linalg.solve(blk.T @ blk, blk.T).T
    a22 = np.sum(SCC * SCC, axis=0)
    IFc = (SCC - IF1 @ A21.T) / a22
    IF = np.hstack([IF1, IFc])
    # delta rule from correlations to covariances: H = [[I, 0], [H21, diag(h22)]]
    IFh = np.hstack([IF1, IF1 @ H21.T + IFc * h22])
    flip = np.concatenate([np.concatenate([(-np.ones(1) if not is_ord[j] else np.ones(len(t))) for j, t in
                                           enumerate(th)]), np.ones(nnum + Pn)])
    IFh = IFh * flip
    out["influence"] = IFh
    out["gamma"] = N * (IFh.T @ IFh)
    return out


def _ordinal_pair_scores(od, th, rho, I, J):
    """Casewise d log-lik / d rho (N, P) and the threshold cross-products A21 (P, nth) for
    ordinal pairs (the blocks of :func:`influence`)."""
    PIs, s_rho, G1, G2 = bivariate_pieces(od, th, rho, I, J)
    P = len(I)
    K = s_rho.shape[1]
    nth = od.nth
    start = np.concatenate([[0], np.cumsum(nth)])
    ci, cj = od.codes[:, I], od.codes[:, J]
    ok = (ci >= 0) & (cj >= 0)
    flat = np.arange(P)[None, :] * K * K + np.where(ok, ci, 0) * K + np.where(ok, cj, 0)
    SC = np.nan_to_num(np.where(ok, s_rho.reshape(-1)[flat], 0.0))
    f = bivariate_tables(od, I, J)
    M = np.nan_to_num(f * s_rho / PIs)
    Mpad = np.concatenate([np.zeros((P, 1, K)), M, np.zeros((P, 1, K))], axis=1)
    A1 = np.sum(G1 * (Mpad[:, :-1, :] - Mpad[:, 1:, :]), axis=2)
    Mpad2 = np.concatenate([np.zeros((P, K, 1)), M, np.zeros((P, K, 1))], axis=2)
    A2 = np.sum(G2 * (Mpad2[:, :, :-1] - Mpad2[:, :, 1:]), axis=1)
    A21 = np.zeros((P, int(nth.sum())))
    for q in range(P):
        i, j = I[q], J[q]
        A21[q, start[i]:start[i + 1]] += A1[q, 1:nth[i] + 1]
        A21[q, start[j]:start[j + 1]] += A2[q, 1:nth[j] + 1]
    return {"sc": SC, "a21": A21}
