"""Fit measures under lavaan's names (``lavaan::fitMeasures``).

Each measure follows lavaan 0.6: ``likelihood = "normal"`` (N, not N - 1),
RMSEA with the Dudgeon (2004) multi-group correction, SRMR as Bentler's
SRMR (with mean residuals under a mean structure), LISREL's GFI/AGFI with
the normal-theory weight matrix, and the robust CFI/TLI/RMSEA of
Brosseau-Liard & Savalei (2014) for complete data and of Zhang & Savalei
(2023, FIML-corrected) for missing data.
"""
from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats


def cfi(x2, df, x2n, dfn, c=1.0, cn=1.0):
    if any(not np.isfinite(v) for v in (x2, df, x2n, dfn, c, cn)):
        return np.nan
    t1 = max(x2 - c * df, 0.0)
    t2 = max(x2 - c * df, x2n - cn * dfn, 0.0)
    if np.isclose(t1, 0) and np.isclose(t2, 0):
        return 1.0
    return 1.0 - t1 / t2


def tli(x2, df, x2n, dfn, c=1.0, cn=1.0):
    if any(not np.isfinite(v) for v in (x2, df, x2n, dfn, c, cn)):
        return np.nan
    t1 = (x2 - c * df) * dfn
    t2 = (x2n - cn * dfn) * df
    if df > 0 and abs(t2) > 0:
        return 1.0 - t1 / t2
    return 1.0


def rni(x2, df, x2n, dfn):
    t2 = x2n - dfn
    return np.nan if np.isclose(t2, 0) else 1.0 - (x2 - df) / t2


def nfi(x2, x2n):
    return (x2n - x2) / x2n if x2n > 0 else np.nan


def rmsea(x2, df, n, g=1, c=1.0):
    if not (np.isfinite(x2) and np.isfinite(c)) or df <= 0:
        return 0.0 if df == 0 else np.nan
    return float(np.sqrt(max((x2 / n) / df - c / n, 0.0)) * np.sqrt(g))


def rmsea_ci(x2, df, n, g=1, c=1.0, level=0.90):
    if not np.isfinite(x2) or df < 1:
        return 0.0, 0.0
    up, lo = 1 - (1 - level) / 2, (1 - level) / 2

    def cdf_minus(lam, p):
        """P(chi2(df, ncp = lam) <= x2) - p: its root in lam is the bound (lavaan's uniroot)."""
        # the special functions behind scipy.stats.ncx2.cdf / chi2.cdf, without their per-call overhead
        return (special.chndtr(x2, df, lam) if lam > 0 else special.chdtr(df, x2)) - p

    def bound(p, upper_lam, check_upper):
        """RMSEA for the ncp solving cdf_minus(ncp, p) = 0 on [0, upper_lam] (0 as lavaan says when none)."""
        if cdf_minus(0.0, p) < 0 or (check_upper and cdf_minus(upper_lam, p) > 0):
            return 0.0
        try:
            lam = optimize.brentq(cdf_minus, 0.0, upper_lam, args=(p,), xtol=1e-12)
        except ValueError:
            return np.nan
        return np.sqrt(c * lam / (n * df)) * np.sqrt(g)
    ci_lo = bound(up, x2, check_upper=False)
    ci_up = bound(lo, max(n, x2 * 4), check_upper=True)
    return float(ci_lo), float(ci_up)


def rmsea_pvalue(x2, df, n, g=1, c=1.0, h0=0.05):
    if not np.isfinite(x2) or df <= 0:
        return np.nan
    ncp = (n * df / c * h0 ** 2) / g
    return float(stats.ncx2.sf(x2, df, ncp))


def srmr_bentler(S, M, ybar=None, mu=None):
    """Bentler's SRMR for one group (lavaan's ``srmr``); with means when given."""
    p = S.shape[0]
    sd = np.sqrt(np.diag(S))
    R = (S - M) / np.outer(sd, sd)
    idx = np.tril_indices(p)
    res = R[idx]
    if ybar is not None:
        res = np.concatenate([res, (ybar - mu) / sd])
    return float(np.sqrt(np.mean(res ** 2)))


def gfi_lisrel(S, M, ybar=None, mu=None, x_block=None, x_idx=None):
    """LISREL GFI with the normal-theory weight matrix evaluated at the implied moments.

    Moments among fixed exogenous covariates get zero weight, as in lavaan.
    """
    W = np.linalg.inv(M)
    E, Sx = S - M, S.copy()
    if x_block is not None and x_block.any():
        E = np.where(x_block, 0.0, E)
        Sx = np.where(x_block, 0.0, Sx)
    K_e = W @ E
    t1 = 0.5 * np.sum(K_e * K_e.T)
    K_s = W @ Sx
    t2 = 0.5 * np.sum(K_s * K_s.T)
    if ybar is not None:
        d, yb = ybar - mu, ybar.copy()
        if x_idx is not None and len(x_idx):
            d = d.copy()
            d[x_idx] = 0.0
            yb[x_idx] = 0.0
        t1 += d @ W @ d
        t2 += yb @ W @ yb
    return 1.0 - t1 / t2


def gfi_weighted(S, M, ybar, mu, Q, w):
    """LISREL GFI with the h1 weight of missing-data patterns: Q (G, p, p) the patterns' embedded
    inverses of Sigma_OO, w (G,) their case fractions.

    The weight is sum_g w_g Q_g for the means and 1/2 sum_g w_g (Q_g kron Q_g) on vec(Sigma), so
    a residual E contributes 1/2 sum_g w_g tr(Q_g E Q_g E) (E symmetric).
    """
    Wmu = np.einsum("g,gij->ij", w, Q)

    def quad(E, d):
        QE = Q @ E
        return 0.5 * np.einsum("g,gij,gji->", w, QE, QE) + d @ Wmu @ d
    return 1.0 - quad(S - M, ybar - mu) / quad(S, ybar)
