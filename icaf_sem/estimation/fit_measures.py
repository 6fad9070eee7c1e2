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
from .._lazy import lazy

optimize, special, stats = lazy("scipy.optimize"), lazy("scipy.special"), lazy("scipy.stats")


def _finite(*v):
    return all(x is not None and np.isfinite(x) for x in v)


def _use_chat(df, c, cn):
    """lavaan uses the c-hat corrected form only when df > 0 and both c-hats differ from 1."""
    return df > 0 and c != 1 and cn != 1


def cfi(x2, df, x2n, dfn, c=1.0, cn=1.0):
    """Comparative fit index (lavaan's ``lav_fit_cfi``); with c-hats the robust CFI."""
    if any(v is None or np.isnan(v) for v in (x2, df, x2n, dfn, c, cn)):
        return np.nan
    if not _use_chat(df, c, cn):
        c = cn = 1.0
    t1 = max(x2 - c * df, 0.0)
    t2 = max(x2 - c * df, x2n - cn * dfn, 0.0)
    if abs(t1) < 1.5e-8 and abs(t2) < 1.5e-8:
        return 1.0
    return 1.0 - t1 / t2


def tli(x2, df, x2n, dfn, c=1.0, cn=1.0):
    """Tucker-Lewis index = non-normed fit index (lavaan's ``lav_fit_tli``/``lav_fit_nnfi``)."""
    if any(v is None or np.isnan(v) for v in (x2, df, x2n, dfn, c, cn)):
        return np.nan
    if not _use_chat(df, c, cn):
        c = cn = 1.0
    t1 = (x2 - c * df) * dfn
    t2 = (x2n - cn * dfn) * df
    if df > 0 and abs(t2) > 0:
        return 1.0 - t1 / t2
    if not (np.isfinite(t1) and np.isfinite(t2)):
        return np.nan
    return 1.0


nnfi = tli


def rni(x2, df, x2n, dfn, c=1.0, cn=1.0):
    """Relative noncentrality index (lavaan's ``lav_fit_rni``)."""
    if any(v is None or np.isnan(v) for v in (x2, df, x2n, dfn, c, cn)):
        return np.nan
    if not _use_chat(df, c, cn):
        c = cn = 1.0
    t1, t2 = x2 - c * df, x2n - cn * dfn
    if abs(t2) < 1.5e-8 or not (np.isfinite(t1) and np.isfinite(t2)):
        return np.nan
    return 1.0 - t1 / t2


def nfi(x2, x2n, df=1, dfn=1):
    """Normed fit index (lavaan's ``lav_fit_nfi``)."""
    if not _finite(x2, x2n, df, dfn) or df > dfn or abs(x2n) < 1.5e-8:
        return np.nan
    return (x2n - x2) / x2n if df > 0 else 1.0


def rfi(x2, df, x2n, dfn):
    """Relative fit index (Bollen's rho1; lavaan's ``lav_fit_rfi``)."""
    if not _finite(x2, df, x2n, dfn) or df > dfn:
        return np.nan
    if df > 0 and dfn > 0:
        t1, t2 = x2n / dfn - x2 / df, x2n / dfn
        if not (np.isfinite(t1) and np.isfinite(t2)):
            return np.nan
        return 1.0 if (t1 < 0 or t2 < 0) else t1 / t2
    return 1.0


def pnfi(x2, df, x2n, dfn):
    """Parsimony normed fit index (lavaan's ``lav_fit_pnfi``)."""
    if not _finite(x2, df, x2n, dfn) or not (dfn > 0 and x2n > 0):
        return np.nan
    return (df / dfn) * (x2n - x2) / x2n


def ifi(x2, df, x2n, dfn):
    """Incremental fit index (Bollen's delta2; lavaan's ``lav_fit_ifi``)."""
    if not _finite(x2, df, x2n, dfn):
        return np.nan
    t1, t2 = x2n - x2, x2n - df
    if t2 < 0:
        return 1.0
    if abs(t2) < 1.5e-8:
        return np.nan
    return t1 / t2


def rmsea(x2, df, n, g=1, c=1.0):
    """RMSEA (lavaan's ``lav_fit_rmsea``): 0 when df = 0, NaN when df is not finite."""
    if df is None or not np.isfinite(df):
        return np.nan
    if df <= 0:
        return 0.0
    if not (np.isfinite(x2) and np.isfinite(c)):
        return np.nan
    return float(np.sqrt(max((x2 / n) / df - c / n, 0.0)) * np.sqrt(g))


def rmsea_ci(x2, df, n, g=1, c=1.0, level=0.90):
    """RMSEA confidence interval (lavaan's ``lav_fit_rmsea_ci``); ``df`` may be fractional."""
    if not _finite(x2, df, n):
        return np.nan, np.nan
    up, lo = 1 - (1 - level) / 2, (1 - level) / 2

    def cdf_minus(lam, p):
        """P(chi2(df, ncp = lam) <= x2) - p: its root in lam is the bound (lavaan's uniroot)."""
        # the special functions behind scipy.stats.ncx2.cdf / chi2.cdf, without their per-call overhead
        return (special.chndtr(x2, df, lam) if lam > 0 else special.chdtr(df, x2)) - p

    def bound(p, upper_lam, check_upper):
        """RMSEA for the ncp solving cdf_minus(ncp, p) = 0 on [0, upper_lam] (0 as lavaan says when none)."""
        if df < 1 or cdf_minus(0.0, p) < 0 or (check_upper and cdf_minus(upper_lam, p) > 0):
            return 0.0
        try:
            lam = optimize.brentq(cdf_minus, 0.0, upper_lam, args=(p,), xtol=1e-12)
        except ValueError:
            return np.nan
        return np.sqrt(c * lam / (n * df)) * np.sqrt(g)
    ci_lo = bound(up, x2, check_upper=False)
    ci_up = bound(lo, max(n, x2 * 4), check_upper=True)
    return float(ci_lo), float(ci_up)


def rmsea_pvalue(x2, df, n, g=1, c=1.0, h0=0.05, close=True):
    """p-value of the test of close fit (RMSEA <= h0; ``close=True``, lavaan's
    ``lav_fit_rmsea_closefit``) or of not-close fit (RMSEA >= h0, lavaan's
    ``lav_fit_rmsea_notclosefit``)."""
    if not _finite(x2, df, n) or df <= 0 or c is None or np.isnan(c):
        return np.nan
    ncp = (n * df / c * h0 ** 2) / g
    cdf = float(special.chndtr(x2, df, ncp)) if ncp > 0 else float(special.chdtr(df, x2))
    return 1.0 - cdf if close else cdf


def cn(x2, df, n, alpha=0.05):
    """Hoelter's critical N (lavaan's ``lav_fit_cn``)."""
    if df == 0 and x2 < np.finfo(float).eps:
        return np.nan
    q = float(2 * special.gammaincinv(df / 2, 1 - alpha)) if df > 0 else 0.0    # stats.chi2.ppf(1 - alpha, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        return q / (x2 / n) + 1.0


def mfi(x2, df, n):
    """McDonald's fit index."""
    return float(np.exp(-0.5 * (x2 - df) / n))


def ecvi(x2, npar, n):
    """Expected cross-validation index."""
    return x2 / n + 2.0 * npar / n


def agfi(gfi, nel, df):
    if not _finite(gfi, nel, df):
        return np.nan
    return 1.0 - (nel / df) * (1.0 - gfi) if df > 0 else 1.0


def pgfi(gfi, nel, df):
    if not _finite(gfi, nel, df) or nel == 0:
        return np.nan
    return (df / nel) * gfi


def _rescale(x, diag, near=1e-5):
    """lavaan's ``lav_residuals_rescale``: entries with |x| < 1e-5 are left as they are."""
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(np.isfinite(diag) & (diag >= np.finfo(float).eps), diag, np.nan)
        if x.ndim == 2:
            scale = 1.0 / np.sqrt(np.outer(d, d))
        else:
            scale = 1.0 / np.sqrt(d)
    return np.where(np.abs(x) < near, x, x * scale)


def residual_summaries(S, M, ybar=None, mu=None):
    """RMR, SRMR (Bentler), CRMR (Bollen) and Mplus' SRMR of one group, with and without means
    (lavaan's ``lav_residuals_summary`` and ``lav_fit_srmr_mplus``).

    ``ybar``/``mu`` (sample and implied means) are given under a mean structure; the ``*_nomean``
    versions use the covariances alone.  Returns a dict under lavaan's names.
    """
    p = S.shape[0]
    idx = np.tril_indices(p)
    vs, vm = np.diag(S), np.diag(M)
    raw = (S - M)[idx]
    ben = (_rescale(S, vs) - _rescale(M, vs))[idx]
    bol = (_rescale(S, vs) - _rescale(M, vm))[idx]
    pstar = len(raw)
    out = {"rmr_nomean": np.sqrt(np.sum(raw ** 2) / pstar),
           "srmr_bentler_nomean": np.sqrt(np.sum(ben ** 2) / pstar),
           "crmr_nomean": np.sqrt(np.sum(bol ** 2) / (pstar - p)) if pstar > p else np.nan}
    with np.errstate(invalid="ignore", divide="ignore"):
        Sc = S / np.sqrt(np.outer(vs, vs))
        Mc = M / np.sqrt(np.outer(vm, vm))
        off = (Sc - Mc)[np.tril_indices(p, -1)]
        dvar = (vs - vm) / vs
    cov_part = np.sum(off ** 2) + np.sum(dvar ** 2)
    out["srmr_mplus_nomean"] = np.sqrt(cov_part / pstar)
    if ybar is None:
        out.update(rmr=out["rmr_nomean"], srmr_bentler=out["srmr_bentler_nomean"], crmr=out["crmr_nomean"],
                   srmr_mplus=out["srmr_mplus_nomean"])
        return out
    dm = ybar - mu
    dm_s = _rescale(ybar, vs) - _rescale(mu, vs)
    out["rmr"] = np.sqrt((np.sum(dm ** 2) + np.sum(raw ** 2)) / (pstar + p))
    out["srmr_bentler"] = np.sqrt((np.sum(dm_s ** 2) + np.sum(ben ** 2)) / (pstar + p))
    out["crmr"] = np.sqrt((np.sum(dm_s ** 2) + np.sum(bol ** 2)) / pstar)
    with np.errstate(invalid="ignore", divide="ignore"):
        rm = ybar / np.sqrt(vs) - mu / np.sqrt(vm)
    out["srmr_mplus"] = np.sqrt((cov_part + np.sum(rm ** 2)) / (pstar + p))
    return out


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
