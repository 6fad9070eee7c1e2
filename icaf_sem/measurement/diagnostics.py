"""Item and sample diagnostics before a CFA: descriptives, normality, factorability, dimensionality.

=============================  =====================================================
:func:`item_descriptives`      ``psych::describe`` (skew and kurtosis of type 3)
:func:`response_distribution`  counts and percentages of each answer
:func:`mardia`                 ``psych::mardia``
:func:`kmo`                    ``psych::KMO``
:func:`bartlett`               ``psych::cortest.bartlett``
:func:`efa_eigenvalues`        ``eigen(cor(x))`` and ``psych::fa(cor(x), 1, fm = "minres")$values``
:func:`parallel_analysis`      ``psych::fa.parallel`` (random: the suggestion can vary with the seed)
=============================  =====================================================
"""
from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..errors import DataError, NotPositiveDefiniteWarning

__all__ = ["item_descriptives", "response_distribution", "mardia", "kmo", "bartlett", "efa_eigenvalues",
           "parallel_analysis"]


def _items_frame(data: pd.DataFrame, items: Sequence[str] | None, *, min_rows: int = 3) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if items is None:
        items = [c for c in data.columns if pd.api.types.is_numeric_dtype(data[c])]
        if not items:
            raise DataError("data has no numeric column; pass items=[...] naming the item columns")
    items = list(items)
    absent = [i for i in items if i not in data.columns]
    if absent:
        raise DataError(f"item column(s) {', '.join(map(repr, absent))} not found in the data; check the item names")
    frame = data.loc[:, items]
    for c in items:
        if not pd.api.types.is_numeric_dtype(frame[c]):
            raise DataError(f"item column {c!r} is not numeric (dtype {frame[c].dtype}); recode the answers as "
                            "numbers or run `icaf-sem clean` first")
    if len(frame) < min_rows:
        raise DataError(f"only {len(frame)} rows; at least {min_rows} are needed")
    return frame.astype(float)


def _complete(frame: pd.DataFrame, what: str, min_rows: int) -> pd.DataFrame:
    comp = frame.dropna(axis=0, how="any")
    if len(comp) < min_rows:
        raise DataError(f"{what} needs at least {min_rows} respondents with every item answered; "
                        f"only {len(comp)} have complete answers")
    const = [c for c in comp.columns if comp[c].nunique() <= 1]
    if const:
        raise DataError(f"item(s) {', '.join(map(repr, const))} are constant in the complete cases; drop them before {what}")
    return comp


def _corr(frame: pd.DataFrame, what: str) -> np.ndarray:
    const = [c for c in frame.columns if frame[c].nunique(dropna=True) <= 1]
    if const:
        raise DataError(f"item(s) {', '.join(map(repr, const))} are constant; their correlations are undefined: "
                        f"drop them before {what}")
    r = frame.corr().to_numpy()  # pairwise complete, as cor(x, use = "pairwise")
    if np.isnan(r).any():
        raise DataError(f"some item pairs have no respondent in common, so {what} cannot use their correlation")
    return r


# --------------------------------------------------------------------------- descriptives
def item_descriptives(data: pd.DataFrame, items: Sequence[str] | None = None) -> pd.DataFrame:
    """Per item: n, % missing, mean, SD, median, min, max, skewness, excess kurtosis, SE of the mean.

    Skewness and kurtosis are psych's default ``type = 3`` estimators
    (b1 = m3 / s^3 and b2 - 3 = m4 / s^4 - 3 with s the n - 1 standard
    deviation), computed on each item's non-missing answers; kurtosis is
    *excess* kurtosis (0 for a normal distribution).  ``pct_missing`` is the
    share of rows without an answer, in percent.

    Returns
    -------
    DataFrame
        ``item, n, pct_missing, mean, sd, median, min, max, skew, kurtosis, se``.

    Examples
    --------
    R: ``psych::describe(df[, items])`` (``type = 3``).
    """
    frame = _items_frame(data, items, min_rows=1)
    rows = []
    total = len(frame)
    for c in frame.columns:
        x = frame[c].dropna().to_numpy()
        n = x.size
        row = {"item": c, "n": n, "pct_missing": 100.0 * (total - n) / total if total else math.nan}
        if n == 0:
            row.update(mean=math.nan, sd=math.nan, median=math.nan, min=math.nan, max=math.nan,
                       skew=math.nan, kurtosis=math.nan, se=math.nan)
        else:
            d = x - x.mean()
            m2 = (d ** 2).sum()
            sd = math.sqrt(m2 / (n - 1)) if n > 1 else math.nan
            if m2 > 0:
                skew = math.sqrt(n) * (d ** 3).sum() / m2 ** 1.5 * (1 - 1 / n) ** 1.5
                kurt = n * (d ** 4).sum() / m2 ** 2 * (1 - 1 / n) ** 2 - 3
            else:
                skew = kurt = math.nan
            row.update(mean=float(x.mean()), sd=sd, median=float(np.median(x)), min=float(x.min()),
                       max=float(x.max()), skew=float(skew), kurtosis=float(kurt),
                       se=sd / math.sqrt(n) if n > 1 else math.nan)
        rows.append(row)
    return pd.DataFrame(rows, columns=["item", "n", "pct_missing", "mean", "sd", "median", "min", "max",
                                       "skew", "kurtosis", "se"])


def response_distribution(data: pd.DataFrame, items: Sequence[str] | None = None,
                          values: Sequence[float] | None = None) -> pd.DataFrame:
    """How often each answer was given, per item.

    Parameters
    ----------
    values : sequence, optional
        The scale points (e.g. ``range(1, 8)``), so unused answers show with a
        count of 0; by default the answers seen in the data.

    Returns
    -------
    DataFrame
        Long format: ``item, value, count, percent``; ``percent`` is relative to
        the item's non-missing answers.  A last row per item with ``value`` NaN
        counts the missing answers (its percent is relative to all rows).

    Examples
    --------
    R: ``psych::response.frequencies(df[, items])``.
    """
    frame = _items_frame(data, items, min_rows=1)
    if values is None:
        values = sorted(pd.unique(frame.stack().dropna()))
    values = [float(v) for v in values]
    rows = []
    for c in frame.columns:
        col = frame[c]
        answered = int(col.notna().sum())
        counts = col.value_counts()
        for v in values:
            k = int(counts.get(v, 0))
            rows.append({"item": c, "value": v, "count": k, "percent": 100.0 * k / answered if answered else math.nan})
        other = answered - sum(int(counts.get(v, 0)) for v in values)
        if other:
            raise DataError(f"item {c!r} has {other} answer(s) outside the scale points {values}; "
                            "clean the data or pass the right values=")
        miss = len(col) - answered
        rows.append({"item": c, "value": math.nan, "count": miss, "percent": 100.0 * miss / len(col)})
    return pd.DataFrame(rows, columns=["item", "value", "count", "percent"])


# --------------------------------------------------------------------------- normality
def _mardia_coefficients(x: np.ndarray, names: list, chunk: int = 4096) -> tuple[float, float]:
    """Mardia's b1p and b2p in O(n p^3) time and O(p^3) memory (no n x n matrix).

    With whitened rows z_i = C^-1 (x_i - mean), S = C C' (n - 1 divisor, as psych),
    b1p = (1/n^2) sum_ij (z_i . z_j)^3 = (1/n^2) sum_abc T_abc^2 with the third-moment
    tensor T_abc = sum_i z_ia z_ib z_ic, and b2p = (1/n) sum_i |z_i|^4.  Both are affine
    invariant, so the items are first scaled by their SDs (values on a 1e-150 scale are fine).
    """
    from scipy.linalg import solve_triangular
    n, p = x.shape
    xc = x - x.mean(axis=0)
    sd = np.sqrt((xc ** 2).sum(0) / (n - 1))
    bad = [names[j] for j in range(p) if not (np.isfinite(sd[j]) and sd[j] > 0)]
    if bad:
        raise DataError(f"item(s) {', '.join(map(repr, bad))} do not vary (or their values are not finite); "
                        "drop them before Mardia's test")
    xc = xc / sd
    s = (xc.T @ xc) / (n - 1)
    ev = np.linalg.eigvalsh(s)
    if not np.isfinite(ev).all() or ev.min() <= 1e-10 * max(ev.max(), 1e-300):
        from ..sem import _singular_items
        involved = _singular_items(s, names) if np.isfinite(s).all() else names
        raise DataError("the item covariance matrix is singular: an item is (almost) a linear combination of "
                        f"others (involved: {', '.join(map(repr, involved))}); drop the redundant item before "
                        "Mardia's test")
    c = np.linalg.cholesky(s)
    z = solve_triangular(c, xc.T, lower=True, check_finite=False).T
    ib, ic = np.triu_indices(p)                 # T is symmetric: keep b <= c only
    w = np.where(ib == ic, 1.0, 2.0)
    t = np.zeros((p, len(ib)))
    chunk = max(1, min(chunk, 2_000_000 // len(ib)))          # about 16 MB of workspace per block
    for a in range(0, n, chunk):
        zc = z[a:a + chunk]
        t += zc.T @ (zc[:, ib] * zc[:, ic])
    b1p = float(((t ** 2) * w).sum() / n ** 2)
    b2p = float(((z ** 2).sum(1) ** 2).sum() / n)
    return b1p, b2p


def mardia(data: pd.DataFrame, items: Sequence[str] | None = None) -> pd.DataFrame:
    """Mardia's multivariate skewness and kurtosis with their tests, as ``psych::mardia``.

    Complete cases are used.  ``b1p``/``b2p`` are Mardia's coefficients (with
    the n - 1 covariance, as psych); ``skew`` = n b1p / 6 is chi-square with
    p(p+1)(p+2)/6 df, ``small_skew`` its small-sample correction, and
    ``kurtosis`` = (b2p - p(p+2)) / sqrt(8 p (p+2) / n) is standard normal.

    Returns
    -------
    DataFrame
        One row: ``n, p, b1p, b2p, skew, small_skew, df, p_skew, p_small, kurtosis, p_kurt``.

    Examples
    --------
    R: ``psych::mardia(df[, items], plot = FALSE)``.
    """
    frame = _complete(_items_frame(data, items), "Mardia's test", 3)
    x = frame.to_numpy()
    n, p = x.shape
    if n <= p:
        raise DataError(f"Mardia's test needs more complete respondents ({n}) than items ({p})")
    b1p, b2p = _mardia_coefficients(x, list(frame.columns))
    df = p * (p + 1) * (p + 2) / 6
    k = (p + 1) * (n + 1) * (n + 3) / (n * ((n + 1) * (p + 1) - 6))
    skew = n * b1p / 6
    small = n * k * b1p / 6
    kurt = (b2p - p * (p + 2)) * math.sqrt(n / (8 * p * (p + 2)))
    return pd.DataFrame([{"n": n, "p": p, "b1p": b1p, "b2p": b2p, "skew": skew, "small_skew": small, "df": df,
                          "p_skew": float(stats.chi2.sf(skew, df)), "p_small": float(stats.chi2.sf(small, df)),
                          "kurtosis": kurt, "p_kurt": float(2 * stats.norm.sf(abs(kurt)))}])


# --------------------------------------------------------------------------- factorability
_KAISER = [(0.9, "marvelous"), (0.8, "meritorious"), (0.7, "middling"), (0.6, "mediocre"), (0.5, "miserable")]


def _kaiser_label(v: float) -> str:
    for cut, label in _KAISER:
        if v >= cut:
            return label
    return "unacceptable"


def kmo(data: pd.DataFrame, items: Sequence[str] | None = None) -> pd.DataFrame:
    """Kaiser-Meyer-Olkin measure of sampling adequacy, as ``psych::KMO``.

    Correlations are pairwise (psych's ``cor(x, use = "pairwise")``).  Labels
    follow Kaiser (1974): >= .90 marvelous, .80 meritorious, .70 middling,
    .60 mediocre, .50 miserable, below unacceptable.

    Returns
    -------
    DataFrame
        One row per item (its MSA) and a last row ``variable = "overall"``:
        ``variable, msa, label``.

    Examples
    --------
    R: ``psych::KMO(df[, items])``.
    """
    frame = _items_frame(data, items)
    r = _corr(frame, "KMO")
    try:
        q = np.linalg.inv(r)
    except np.linalg.LinAlgError:
        warnings.warn("the correlation matrix is singular; KMO uses its pseudo-inverse", NotPositiveDefiniteWarning)
        q = np.linalg.pinv(r)
    dq = 1 / np.sqrt(np.diag(q))
    partial = q * np.outer(dq, dq)
    np.fill_diagonal(partial, 0)
    r0 = r.copy()
    np.fill_diagonal(r0, 0)
    r2, q2 = (r0 ** 2), (partial ** 2)
    msai = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
    msa = r2.sum() / (r2.sum() + q2.sum())
    names = list(frame.columns) + ["overall"]
    vals = list(map(float, msai)) + [float(msa)]
    return pd.DataFrame({"variable": names, "msa": vals, "label": [_kaiser_label(v) for v in vals]})


def bartlett(data: pd.DataFrame, items: Sequence[str] | None = None, *, n: int | None = None) -> pd.DataFrame:
    """Bartlett's test of sphericity, as ``psych::cortest.bartlett``.

    chi-square = -ln|R| (n - 1 - (2p + 5) / 6) with p(p - 1)/2 df, R the
    pairwise correlation matrix and n the number of rows (or ``n=``).  A small
    p-value says the correlations are not all zero, so factoring makes sense.

    Returns
    -------
    DataFrame
        One row: ``chisq, df, p_value, n, p``.

    Examples
    --------
    R: ``psych::cortest.bartlett(cor(df[, items]), n = nrow(df))``.
    """
    frame = _items_frame(data, items)
    r = _corr(frame, "Bartlett's test")
    p = r.shape[0]
    n = len(frame) if n is None else int(n)
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0:
        raise DataError("the correlation matrix is singular (an item is a linear combination of others); "
                        "drop the redundant item before Bartlett's test")
    chisq = -logdet * (n - 1 - (2 * p + 5) / 6)
    df = p * (p - 1) / 2
    return pd.DataFrame([{"chisq": float(chisq), "df": df, "p_value": float(stats.chi2.sf(chisq, df)),
                          "n": n, "p": p}])


# --------------------------------------------------------------------------- EFA
def _single_thread():
    """Small dense algebra runs fastest on one BLAS thread (threaded BLAS oversubscribes busy machines)."""
    from .._linalg import one_blas_thread
    return one_blas_thread()


def _smc(r: np.ndarray) -> np.ndarray:
    try:
        return 1 - 1 / np.diag(np.linalg.inv(r))
    except np.linalg.LinAlgError:
        return 1 - 1 / np.diag(np.linalg.pinv(r))


def _minres(r: np.ndarray, nf: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Unrotated minres factor loadings of a correlation matrix, as ``psych::fa(r, nf, fm = "minres")``.

    Returns the loadings and the eigenvalues of the correlation matrix with
    the communalities on its diagonal (psych's ``$values``).
    """
    p = r.shape[0]
    smc = _smc(r)
    upper = max(float(np.max(smc)), 1.0)
    low = np.tril_indices(p, -1)
    eps = np.finfo(float).eps

    def top(s):
        w, v = np.linalg.eigh(s)
        order = np.argsort(w)[::-1][:nf]
        return w[order], v[:, order]

    def objective(psi):
        s = r.copy()
        np.fill_diagonal(s, 1 - psi)
        w, v = top(s)
        w = np.where(w < eps, 100 * eps, w)
        load = v * np.sqrt(w)
        resid = (s - load @ load.T)[low]
        return float((resid ** 2).sum())

    def gradient(psi):
        s = r - np.diag(psi)
        w, v = top(s)
        load = v * np.sqrt(np.maximum(w, 0))
        return np.diag(load @ load.T) + psi - np.diag(r)

    # The minres solution is the fixed point of iterated principal axes (communalities equal to
    # the diagonal of L L'), which psych reaches with L-BFGS-B on the residuals; iterating is
    # faster and as exact.  psych's bounds psi in [.005, upper] are kept; L-BFGS-B is the fallback.
    psi = np.clip(1 - smc, 0.005, upper)
    for _ in range(2000):
        s = r - np.diag(psi)
        w, v = top(s)
        new = np.clip(np.diag(r) - ((v * np.sqrt(np.maximum(w, 0))) ** 2).sum(axis=1), 0.005, upper)
        if np.max(np.abs(new - psi)) < 1e-12:
            psi = new
            break
        psi = new
    else:
        res = optimize.minimize(objective, np.clip(1 - smc, 0.005, upper), jac=gradient, method="L-BFGS-B",
                                bounds=[(0.005, upper)] * p, options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000})
        psi = res.x
    s = r - np.diag(psi)
    w, v = top(s)
    load = v * np.sqrt(np.maximum(w, 0))
    reduced = r.copy()
    np.fill_diagonal(reduced, np.diag(load @ load.T))
    values = np.sort(np.linalg.eigvalsh(reduced))[::-1]
    return load, values


def efa_eigenvalues(data: pd.DataFrame, items: Sequence[str] | None = None) -> pd.DataFrame:
    """Eigenvalues of the item correlation matrix, for components and for a one-factor minres EFA.

    ``eigen_pc`` are the eigenvalues of the (pairwise) correlation matrix;
    ``eigen_fa`` those of the reduced matrix (communalities of a one-factor
    minres solution on the diagonal), as psych's ``fa.parallel`` plots them.

    Returns
    -------
    DataFrame
        ``factor, eigen_pc, eigen_fa``.

    Examples
    --------
    R: ``eigen(cor(x))$values``; ``psych::fa(cor(x), 1, rotate = "none", fm = "minres")$values``.
    """
    frame = _items_frame(data, items)
    r = _corr(frame, "the EFA")
    with _single_thread():
        pc = np.sort(np.linalg.eigvalsh(r))[::-1]
        _, fa = _minres(r, 1)
    return pd.DataFrame({"factor": np.arange(1, len(pc) + 1), "eigen_pc": pc, "eigen_fa": fa})


def parallel_analysis(data: pd.DataFrame, items: Sequence[str] | None = None, *, n_iter: int = 20,
                      quantile: float = 0.95, seed: int | None = None) -> pd.DataFrame:
    """Horn's parallel analysis for the number of factors and components, like ``psych::fa.parallel``.

    The observed eigenvalues (:func:`efa_eigenvalues`) are compared with the
    ``quantile`` (default .95, psych's ``quant``) of eigenvalues from
    ``n_iter`` data sets of independent normal variables of the same size;
    the suggested number of factors (components) is the number of leading
    observed eigenvalues above that reference.  Eigenvalues of column-wise
    resampled data are reported too.

    This is random: the suggestion can differ between seeds (and from R's),
    especially when an eigenvalue is close to its reference.  Pass ``seed`` for
    a reproducible result.

    Returns
    -------
    DataFrame
        ``factor, eigen_pc, eigen_fa, sim_pc_mean, sim_pc_quantile, sim_fa_mean,
        sim_fa_quantile, resample_pc_mean, resample_fa_mean``; ``.attrs`` holds
        ``n_factors``, ``n_components``, ``n_iter``, ``quantile`` and ``seed``.

    Examples
    --------
    R: ``psych::fa.parallel(x)`` (``$nfact``, ``$ncomp``).
    """
    if not (isinstance(n_iter, int) and n_iter >= 1):
        raise DataError(f"n_iter={n_iter!r} must be a positive integer (psych's default is 20)")
    if not (0 < quantile < 1):
        raise DataError(f"quantile={quantile!r} must lie between 0 and 1 (e.g. 0.95)")
    frame = _items_frame(data, items)
    obs = efa_eigenvalues(frame)
    n, p = frame.shape
    rng = np.random.default_rng(seed)
    x = frame.to_numpy()
    sim_pc, sim_fa, res_pc, res_fa = [], [], [], []
    with _single_thread():
        _simulate(x, n, p, n_iter, rng, sim_pc, sim_fa, res_pc, res_fa)
    sim_pc, sim_fa, res_pc, res_fa = map(np.array, (sim_pc, sim_fa, res_pc, res_fa))
    out = obs.copy()
    out["sim_pc_mean"] = sim_pc.mean(axis=0)
    out["sim_pc_quantile"] = np.quantile(sim_pc, quantile, axis=0)
    out["sim_fa_mean"] = sim_fa.mean(axis=0)
    out["sim_fa_quantile"] = np.quantile(sim_fa, quantile, axis=0)
    out["resample_pc_mean"] = res_pc.mean(axis=0)
    out["resample_fa_mean"] = res_fa.mean(axis=0)

    def count(observed, ref):
        above = observed > ref
        return int(np.argmin(above)) if not above.all() else len(above)

    out.attrs.update(n_factors=count(out["eigen_fa"].to_numpy(), out["sim_fa_quantile"].to_numpy()),
                     n_components=count(out["eigen_pc"].to_numpy(), out["sim_pc_quantile"].to_numpy()),
                     n_iter=n_iter, quantile=quantile, seed=seed)
    return out


def _simulate(x, n, p, n_iter, rng, sim_pc, sim_fa, res_pc, res_fa) -> None:
    """Eigenvalues of n_iter normal data sets and of n_iter column-wise resamples of x."""
    for _ in range(n_iter):
        z = rng.standard_normal((n, p))
        rz = np.corrcoef(z, rowvar=False)
        sim_pc.append(np.sort(np.linalg.eigvalsh(rz))[::-1])
        sim_fa.append(_minres(rz, 1)[1])
        for _attempt in range(20):
            boot = np.column_stack([rng.choice(col[~np.isnan(col)], size=n, replace=True) for col in x.T])
            if np.all(boot.std(axis=0) > 0):
                break
        rb = np.corrcoef(boot, rowvar=False)
        res_pc.append(np.sort(np.linalg.eigvalsh(rb))[::-1])
        res_fa.append(_minres(rb, 1)[1])
