"""Reliability, convergent and discriminant validity of multi-item constructs.

One function per statistic, each returning a tidy :class:`pandas.DataFrame`
whose numbers equal the R functions reviewers know:

=========================  ==========================================================
:func:`cronbach_alpha`     ``psych::alpha`` (raw and standardized alpha, Feldt 95% CI)
:func:`item_total`         ``psych::alpha`` item statistics (``r.drop``, alpha if deleted)
:func:`omega`              ``semTools::compRelSEM(fit)`` (defaults: ``obs.var = TRUE``)
:func:`composite_reliability`  (sum l)^2 / ((sum l)^2 + sum(1 - l^2)) from standardized loadings
:func:`ave`                ``semTools::AVE(fit)``
:func:`htmt`               ``semTools::htmt(model, data)`` (absolute correlations)
:func:`latent_correlations`  ``lavInspect(fit, "cor.lv")``
:func:`fornell_larcker`    sqrt(AVE) on the diagonal against the latent correlations
=========================  ==========================================================

The CFA-based statistics take a parameter table in lavaan's
``parameterEstimates(fit, standardized = TRUE)`` layout (columns ``lhs, op,
rhs, est, std_all`` ...) and the observed covariance matrix (ML divisor N),
so they work with any fitted result, not only with :func:`icaf_sem.fit`.
:func:`reliability_report` gathers everything for a questionnaire or a CFA model.

Thresholds (configurable through :class:`Thresholds`):

* alpha, omega and CR >= .70 -- Nunnally & Bernstein (1994), *Psychometric
  theory* (3rd ed.); Hair, Black, Babin & Anderson (2019), *Multivariate data
  analysis* (8th ed.).
* AVE >= .50 -- Fornell & Larcker (1981), *Journal of Marketing Research*, 18(1), 39-50.
* sqrt(AVE) greater than every latent correlation of the construct -- Fornell & Larcker (1981).
* HTMT < .85, or < .90 for conceptually close constructs -- Henseler, Ringle &
  Sarstedt (2015), *Journal of the Academy of Marketing Science*, 43(1), 115-135.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError, ModelSpecificationError, ModelSyntaxError, ReliabilityWarning

__all__ = [
    "Thresholds", "DEFAULT_THRESHOLDS", "ReliabilityReport", "constructs_from_model",
    "cronbach_alpha", "item_total", "omega", "composite_reliability", "ave", "htmt",
    "latent_correlations", "fornell_larcker", "discriminant_validity", "reliability_verdicts",
    "reliability_report",
]


# --------------------------------------------------------------------------- thresholds
@dataclass(frozen=True)
class Thresholds:
    """Cut-offs behind the verdicts, with their sources.

    Parameters
    ----------
    alpha, omega, composite_reliability : float
        Minimum acceptable reliability (default .70; Nunnally & Bernstein 1994;
        Hair et al. 2019).
    ave : float
        Minimum average variance extracted (default .50; Fornell & Larcker 1981).
    htmt : float
        Maximum HTMT for distinct constructs (default .85; Henseler et al. 2015).
    htmt_close : float
        Maximum HTMT for conceptually close constructs (default .90; Henseler et al. 2015).
    """

    alpha: float = 0.70
    omega: float = 0.70
    composite_reliability: float = 0.70
    ave: float = 0.50
    htmt: float = 0.85
    htmt_close: float = 0.90

    SOURCES = {
        "alpha": "Nunnally & Bernstein (1994); Hair et al. (2019)",
        "omega": "Nunnally & Bernstein (1994); Hair et al. (2019)",
        "composite_reliability": "Nunnally & Bernstein (1994); Hair et al. (2019)",
        "ave": "Fornell & Larcker (1981)",
        "fornell_larcker": "Fornell & Larcker (1981)",
        "htmt": "Henseler, Ringle & Sarstedt (2015)",
        "htmt_close": "Henseler, Ringle & Sarstedt (2015)",
    }

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (isinstance(value, (int, float)) and 0 < value <= 1):
                raise DataError(f"threshold {name}={value!r} must be a number in (0, 1]; e.g. {name}=0.7")

    def to_dict(self) -> dict:
        out = {k: {"value": v, "source": self.SOURCES[k]} for k, v in asdict(self).items()}
        out["fornell_larcker"] = {"value": "sqrt(AVE) > |latent correlation|", "source": self.SOURCES["fornell_larcker"]}
        return out


DEFAULT_THRESHOLDS = Thresholds()


# --------------------------------------------------------------------------- input helpers
_COMMENT = re.compile(r"[#!].*$")
_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


def constructs_from_model(model: str) -> dict[str, list[str]]:
    """Constructs and their indicators from the ``=~`` lines of lavaan syntax.

    Only the measurement part is read: ``F =~ a + 1*b + NA*c + lab*d`` gives
    ``{"F": ["a", "b", "c", "d"]}`` (modifiers dropped, order kept).  A factor
    measured by other factors (second order) is left out of the result, so the
    returned constructs are the first-order ones.

    Examples
    --------
    >>> constructs_from_model("A =~ a1 + a2 + a3\\nB =~ b1 + b2")
    {'A': ['a1', 'a2', 'a3'], 'B': ['b1', 'b2']}
    """
    if not isinstance(model, str) or not model.strip():
        raise ModelSyntaxError("model syntax is empty; give lavaan syntax such as 'F =~ x1 + x2 + x3'")
    lines: list[str] = []
    for raw in model.splitlines():
        lines.extend(part for part in _COMMENT.sub("", raw).split(";"))
    # join continuation lines (a line ending in '+' or starting with '+')
    joined: list[str] = []
    for line in (ln.strip() for ln in lines):
        if not line:
            continue
        if joined and (joined[-1].endswith("+") or line.startswith("+")):
            joined[-1] += " " + line
        else:
            joined.append(line)
    out: dict[str, list[str]] = {}
    for line in joined:
        if "=~" not in line:
            continue
        lhs, rhs = (s.strip() for s in line.split("=~", 1))
        if not _NAME.match(lhs):
            raise ModelSyntaxError(f"cannot read the factor name {lhs!r} in the model line {line!r}; "
                                   "write it as 'Factor =~ item1 + item2'")
        for term in rhs.split("+"):
            term = term.strip()
            if not term:
                raise ModelSyntaxError(f"empty indicator in the model line {line!r}; remove the extra '+'")
            name = term.rsplit("*", 1)[-1].strip()
            if not _NAME.match(name):
                raise ModelSyntaxError(f"cannot read the indicator {term!r} in the model line {line!r}")
            items = out.setdefault(lhs, [])
            if name not in items:
                items.append(name)
    if not out:
        raise ModelSyntaxError("the model has no measurement line ('F =~ x1 + x2 + x3'); "
                               "reliability needs constructs measured by items")
    latents = set(out)
    return {f: items for f, items in out.items() if not any(i in latents for i in items)}


def _as_constructs(constructs, data: pd.DataFrame | None = None) -> dict[str, list[str]]:
    if constructs is None:
        if data is None:
            raise DataError("no items given; pass constructs={'Name': ['item1', 'item2', ...]}")
        return {"scale": [str(c) for c in data.columns]}
    if isinstance(constructs, str):
        if "=~" in constructs:
            return constructs_from_model(constructs)
        raise DataError(f"constructs={constructs!r} is a single name; pass a list of items or a dict "
                        "{'Name': ['item1', 'item2']}")
    if isinstance(constructs, Mapping):
        out = {}
        for name, items in constructs.items():
            if isinstance(items, str) or not isinstance(items, Iterable):
                raise DataError(f"construct {name!r}: items must be a list of column names, got {items!r}")
            out[str(name)] = [str(i) for i in items]
        return out
    if isinstance(constructs, Iterable):
        return {"scale": [str(i) for i in constructs]}
    raise DataError(f"constructs must be a dict of item lists, a list of items or lavaan syntax; got {type(constructs).__name__}")


def _numeric_items(data: pd.DataFrame, items: Sequence[str]) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [i for i in items if i not in data.columns]
    if missing:
        raise DataError(f"item column(s) {', '.join(map(repr, missing))} not found in the data "
                        f"(columns: {', '.join(map(str, list(data.columns)[:12]))}"
                        f"{' ...' if data.shape[1] > 12 else ''}); check the model or questionnaire item names")
    frame = data.loc[:, list(items)]
    for c in frame.columns:
        if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])):
            bad = frame[c][pd.to_numeric(frame[c], errors="coerce").isna() & frame[c].notna()]
            example = bad.iloc[0] if len(bad) else frame[c].dropna().iloc[0]
            raise DataError(f"item column {c!r} is not numeric (e.g. value {example!r}); "
                            "recode the answers as numbers or run `icaf-sem clean` first")
    return frame.astype(float)


def _check_constant(frame: pd.DataFrame, construct: str | None = None) -> None:
    for c in frame.columns:
        vals = frame[c].dropna()
        if len(vals) and vals.nunique() <= 1:
            where = f" of construct {construct!r}" if construct else ""
            raise DataError(f"item {c!r}{where} is constant (every answer is {vals.iloc[0]:g} in "
                            f"{len(vals)} rows); its correlations are undefined: drop it from the construct")
        if not len(vals):
            raise DataError(f"item {c!r} has no answers at all; drop it from the construct")


def _check_missing(missing: str) -> str:
    if missing not in ("listwise", "pairwise"):
        raise DataError(f"missing={missing!r} is not supported; use 'listwise' (complete cases, as lavaan) "
                        "or 'pairwise' (psych::alpha's default)")
    return missing


def _prepare(data: pd.DataFrame, items: Sequence[str], missing: str, construct: str | None = None) -> pd.DataFrame:
    frame = _numeric_items(data, items)
    if missing == "listwise":
        frame = frame.dropna(axis=0, how="any")
    if len(frame) < 3:
        where = f" for construct {construct!r}" if construct else ""
        raise DataError(f"only {len(frame)} complete row(s){where}; at least 3 respondents with answers "
                        f"to every item ({', '.join(items)}) are needed")
    _check_constant(frame, construct)
    return frame


def _cov(frame: pd.DataFrame) -> np.ndarray:
    """Sample covariance (divisor n - 1), pairwise when there are missing values (psych's default)."""
    if frame.isna().any().any():
        return frame.cov().to_numpy()
    return np.cov(frame.to_numpy(), rowvar=False, ddof=1)


def _cov2cor(c: np.ndarray) -> np.ndarray:
    d = 1.0 / np.sqrt(np.diag(c))
    return c * np.outer(d, d)


def _raw_alpha(c: np.ndarray) -> float:
    k = c.shape[0]
    if k < 2:
        return math.nan
    return k / (k - 1) * (1.0 - np.trace(c) / c.sum())


def _std_alpha(r: np.ndarray) -> float:
    k = r.shape[0]
    if k < 2:
        return math.nan
    return k / (k - 1) * (1.0 - k / r.sum())


def _feldt_ci(alpha: float, n: int, k: int, level: float) -> tuple[float, float]:
    """Feldt (1965) interval, as ``psych::alpha.ci`` and ``pingouin.cronbach_alpha``."""
    df1 = n - 1
    df2 = df1 * (k - 1)
    tail = (1.0 - level) / 2.0
    lower = 1.0 - (1.0 - alpha) * stats.f.isf(tail, df1, df2)
    upper = 1.0 - (1.0 - alpha) * stats.f.isf(1.0 - tail, df1, df2)
    return float(lower), float(upper)


# --------------------------------------------------------------------------- alpha
def cronbach_alpha(data: pd.DataFrame, constructs=None, *, ci: float = 0.95,
                   missing: str = "listwise") -> pd.DataFrame:
    """Cronbach's alpha per construct, with a Feldt confidence interval.

    Parameters
    ----------
    data : DataFrame
        Item answers, already scored (reverse-keyed items reversed).
    constructs : dict, list or str, optional
        ``{"Name": [items]}``, a list of items (one scale called ``"scale"``),
        lavaan syntax (its ``=~`` lines), or None for every column of ``data``.
    ci : float
        Confidence level of the Feldt interval (default .95).
    missing : {"listwise", "pairwise"}
        ``"listwise"`` (default) uses the respondents who answered every item
        of the construct; ``"pairwise"`` uses pairwise covariances over all
        rows, as ``psych::alpha``'s default ``use = "pairwise"``.

    Returns
    -------
    DataFrame
        One row per construct: ``construct, n_items, n, alpha, alpha_ci_lower,
        alpha_ci_upper, std_alpha, average_r``.  ``alpha`` is the raw
        (covariance) alpha, ``std_alpha`` the alpha of the correlation matrix,
        ``average_r`` the mean inter-item correlation.

    Notes
    -----
    The point estimate is computed with :func:`pingouin.cronbach_alpha`; the
    interval is Feldt's, which is the method of both pingouin and psych, but
    is computed here without pingouin's rounding to three decimals.
    A construct with fewer than two items raises :class:`~icaf_sem.errors.DataError`
    (alpha is undefined); a negative alpha warns with
    :class:`~icaf_sem.errors.ReliabilityWarning` (a reverse-keyed item was probably not reversed).

    Examples
    --------
    >>> cronbach_alpha(df, {"A": ["A1", "A2", "A3", "A4", "A5"]})  # doctest: +SKIP

    R: ``psych::alpha(df[, c("A1","A2","A3","A4","A5")])$total`` and ``$feldt``.
    """
    import pingouin as pg

    missing = _check_missing(missing)
    if not (0 < ci < 1):
        raise DataError(f"ci={ci!r} must be a confidence level between 0 and 1, e.g. 0.95")
    cons = _as_constructs(constructs, data)
    rows = []
    for name, items in cons.items():
        if len(items) < 2:
            raise DataError(f"construct {name!r} has {len(items)} item(s) ({', '.join(items) or 'none'}); "
                            "Cronbach's alpha needs at least two items: add items or leave the construct out")
        frame = _prepare(data, items, missing, name)
        c = _cov(frame)
        alpha = float(pg.cronbach_alpha(frame, nan_policy="pairwise")[0])
        r = _cov2cor(c)
        k = len(items)
        n = len(frame)
        lo, hi = _feldt_ci(alpha, n, k, ci)
        avg_r = float(r[np.triu_indices(k, 1)].mean())
        if alpha < 0:
            warnings.warn(f"construct {name!r}: Cronbach's alpha is negative ({alpha:.3f}); the items correlate "
                          "negatively on average, which suggests a reverse-keyed item was not reversed "
                          "(see the item-total correlations)", ReliabilityWarning, stacklevel=2)
        rows.append({"construct": name, "n_items": k, "n": n, "alpha": alpha, "alpha_ci_lower": lo,
                     "alpha_ci_upper": hi, "std_alpha": _std_alpha(r), "average_r": avg_r})
    return pd.DataFrame(rows, columns=["construct", "n_items", "n", "alpha", "alpha_ci_lower",
                                       "alpha_ci_upper", "std_alpha", "average_r"])


def item_total(data: pd.DataFrame, constructs=None, *, missing: str = "listwise") -> pd.DataFrame:
    """Item statistics of each construct: corrected item-total correlation and alpha if deleted.

    Parameters
    ----------
    data, constructs, missing
        As in :func:`cronbach_alpha`.

    Returns
    -------
    DataFrame
        One row per item: ``construct, item, n, mean, sd, raw_r, std_r, r_drop,
        alpha_if_deleted, std_alpha_if_deleted``.  ``r_drop`` is the corrected
        item-total correlation (the item against the sum of the other items),
        ``alpha_if_deleted`` the raw alpha of the remaining items.

    Notes
    -----
    A negative ``r_drop`` warns with :class:`~icaf_sem.errors.ReliabilityWarning`
    naming the item: it usually means the item is reverse-worded and was not reversed.

    Examples
    --------
    R: ``a <- psych::alpha(df[, items]); a$item.stats[, c("raw.r", "std.r", "r.drop")]; a$alpha.drop``.
    """
    missing = _check_missing(missing)
    cons = _as_constructs(constructs, data)
    rows = []
    for name, items in cons.items():
        if len(items) < 2:
            raise DataError(f"construct {name!r} has {len(items)} item(s); item-total correlations need "
                            "at least two items")
        frame = _prepare(data, items, missing, name)
        c = _cov(frame)
        r = _cov2cor(c)
        k = len(items)
        vt, rt = c.sum(), r.sum()
        for i, item in enumerate(items):
            keep = [j for j in range(k) if j != i]
            c_drop = c[i].sum() - c[i, i]
            v_drop = c[np.ix_(keep, keep)].sum()
            r_drop = c_drop / math.sqrt(c[i, i] * v_drop)
            col = frame[item].dropna()
            rows.append({
                "construct": name, "item": item, "n": int(col.size), "mean": float(col.mean()),
                "sd": float(col.std(ddof=1)),
                "raw_r": float(c[i].sum() / math.sqrt(vt * c[i, i])),
                "std_r": float(r[i].sum() / math.sqrt(rt)),
                "r_drop": float(r_drop),
                "alpha_if_deleted": _raw_alpha(c[np.ix_(keep, keep)]) if k > 2 else math.nan,
                "std_alpha_if_deleted": _std_alpha(r[np.ix_(keep, keep)]) if k > 2 else math.nan,
            })
            if r_drop < 0:
                warnings.warn(f"item {item!r} of construct {name!r} correlates negatively with the rest of the "
                              f"scale (corrected item-total r = {r_drop:.3f}); it is probably reverse-worded: "
                              f"score it as (max + min) - x before the analysis", ReliabilityWarning, stacklevel=2)
    return pd.DataFrame(rows, columns=["construct", "item", "n", "mean", "sd", "raw_r", "std_r", "r_drop",
                                       "alpha_if_deleted", "std_alpha_if_deleted"])


# --------------------------------------------------------------------------- parameter-table helpers
class _Measurement:
    """Loadings, latent covariance and standardized loadings read from a lavaan-style parameter table."""

    def __init__(self, parameters: pd.DataFrame, group=None):
        if not isinstance(parameters, pd.DataFrame):
            parameters = getattr(parameters, "parameters", parameters)
        if not isinstance(parameters, pd.DataFrame):
            raise DataError("parameters must be a parameter table DataFrame (lhs, op, rhs, est, std_all) "
                            "or a fitted result with a .parameters table")
        pt = parameters.rename(columns={"std.all": "std_all", "std.lv": "std_lv"})
        need = [c for c in ("lhs", "op", "rhs", "est") if c not in pt.columns]
        if need:
            raise DataError(f"the parameter table lacks column(s) {', '.join(need)}; "
                            "pass lavaan's parameterEstimates(fit, standardized = TRUE) layout")
        if "group" in pt.columns:
            groups = [g for g in pd.unique(pt["group"].dropna()) if g not in (0, "")]
            if group is None and len(groups) > 1:
                raise DataError(f"the parameter table has {len(groups)} groups; pass group= to choose one")
            if group is None and groups:
                group = groups[0]
            if group is not None:
                pt = pt[(pt["group"] == group) | pt["group"].isna()]
        self.pt = pt.reset_index(drop=True)
        load = pt[pt["op"] == "=~"]
        if load.empty:
            raise ModelSpecificationError("the parameter table has no loadings ('=~' rows); reliability "
                                          "from a CFA needs a measurement model")
        self.latents = list(pd.unique(load["lhs"]))
        lat = set(self.latents)
        self.indicators = {f: [r for r in load.loc[load["lhs"] == f, "rhs"] if r not in lat] for f in self.latents}
        self.first_order = [f for f in self.latents if self.indicators[f]]
        ov = list(pd.unique(load.loc[~load["rhs"].isin(lat), "rhs"]))
        self.observed = ov
        self.lam = pd.DataFrame(0.0, index=ov, columns=self.latents)
        self.lam_std = pd.DataFrame(np.nan, index=ov, columns=self.latents)
        for _, row in load.iterrows():
            if row["rhs"] in lat:
                continue
            self.lam.loc[row["rhs"], row["lhs"]] = float(row["est"])
            if "std_all" in pt.columns:
                self.lam_std.loc[row["rhs"], row["lhs"]] = float(row["std_all"]) if pd.notna(row["std_all"]) else np.nan
        m = len(self.latents)
        idx = {f: i for i, f in enumerate(self.latents)}
        psi = np.zeros((m, m))
        beta = np.zeros((m, m))
        for _, row in pt.iterrows():
            lhs, op, rhs = row["lhs"], row["op"], row["rhs"]
            if op == "~~" and lhs in idx and rhs in idx:
                psi[idx[lhs], idx[rhs]] = psi[idx[rhs], idx[lhs]] = float(row["est"])
            elif op == "~" and lhs in idx and rhs in idx:
                beta[idx[lhs], idx[rhs]] = float(row["est"])
            elif op == "=~" and lhs in idx and rhs in idx:  # higher-order loading: rhs = l * lhs
                beta[idx[rhs], idx[lhs]] = float(row["est"])
        try:
            ib = np.linalg.inv(np.eye(m) - beta)
        except np.linalg.LinAlgError as exc:
            raise ModelSpecificationError("the latent regressions are not recursive-solvable (I - B is singular)") from exc
        self.cov_lv = pd.DataFrame(ib @ psi @ ib.T, index=self.latents, columns=self.latents)

    def cross_loaders(self) -> set[str]:
        nz = (self.lam[self.first_order].round(5) != 0).sum(axis=1)
        return set(nz[nz > 1].index)


def _sample_cov(sample_cov, items: Sequence[str]) -> pd.DataFrame:
    if isinstance(sample_cov, pd.DataFrame):
        miss = [i for i in items if i not in sample_cov.columns or i not in sample_cov.index]
        if miss:
            raise DataError(f"the sample covariance matrix lacks item(s) {', '.join(miss)}; "
                            "pass the covariance of every indicator in the model")
        return sample_cov.loc[list(items), list(items)].astype(float)
    raise DataError("sample_cov must be a DataFrame with item names as index and columns "
                    "(the observed covariance, divisor N, as lavInspect(fit, 'sampstat')$cov)")


def _ml_cov(frame: pd.DataFrame) -> pd.DataFrame:
    x = frame.to_numpy(dtype=float)
    c = np.cov(x, rowvar=False, ddof=0)
    return pd.DataFrame(np.atleast_2d(c), index=frame.columns, columns=frame.columns)


def omega(parameters: pd.DataFrame, sample_cov: pd.DataFrame, *, constructs: Sequence[str] | None = None,
          group=None) -> pd.DataFrame:
    """McDonald's omega per construct, as ``semTools::compRelSEM`` with its defaults.

    omega = (sum of loadings)^2 * Var(factor) / (1' S 1), where S is the
    *observed* covariance matrix of the construct's items (``obs.var = TRUE``),
    the loadings are unstandardized and Var(factor) is the total factor
    variance (``lavInspect(fit, "cov.lv")``).  Constructs with a single
    indicator get NaN (``dropSingle = TRUE``).

    Parameters
    ----------
    parameters : DataFrame or fitted result
        lavaan-style parameter table (``lhs, op, rhs, est``), or an object with ``.parameters``.
    sample_cov : DataFrame
        Observed covariance matrix of the indicators (divisor N), labelled by item.
    constructs : list of str, optional
        Limit to these factors (default: every first-order factor).
    group : optional
        Which group of a multi-group table.

    Returns
    -------
    DataFrame
        ``construct, n_items, omega``.

    Examples
    --------
    R: ``semTools::compRelSEM(fit)``.
    """
    meas = _Measurement(parameters, group)
    rows = []
    for f in _select(meas, constructs):
        items = meas.indicators[f]
        value = math.nan
        if len(items) > 1:
            s = _sample_cov(sample_cov, items)
            lam = meas.lam.loc[items, f].to_numpy()
            value = float(lam.sum() ** 2 * meas.cov_lv.loc[f, f] / s.to_numpy().sum())
        rows.append({"construct": f, "n_items": len(items), "omega": value})
    return pd.DataFrame(rows, columns=["construct", "n_items", "omega"])


def _select(meas: _Measurement, constructs) -> list[str]:
    if constructs is None:
        return list(meas.first_order)
    bad = [c for c in constructs if c not in meas.first_order]
    if bad:
        raise DataError(f"construct(s) {', '.join(map(repr, bad))} not among the model's first-order factors "
                        f"({', '.join(meas.first_order)})")
    return list(constructs)


def composite_reliability(parameters: pd.DataFrame, *, constructs: Sequence[str] | None = None,
                          group=None) -> pd.DataFrame:
    """Composite reliability (CR) from the standardized loadings.

    CR = (sum l)^2 / ((sum l)^2 + sum(1 - l^2)), with l the completely
    standardized loadings (``std_all``) of the construct's items.  Single-item
    constructs get NaN.  A negative standardized loading warns with
    :class:`~icaf_sem.errors.ReliabilityWarning` naming the item.

    Returns
    -------
    DataFrame
        ``construct, n_items, composite_reliability``.

    Examples
    --------
    R: ``l <- standardizedSolution(fit); l <- l$est.std[l$op == "=~" & l$lhs == "F"];
    sum(l)^2 / (sum(l)^2 + sum(1 - l^2))``.
    """
    meas = _Measurement(parameters, group)
    if "std_all" not in meas.pt.columns:
        raise DataError("the parameter table has no std_all column; pass parameterEstimates(fit, standardized = TRUE)")
    rows = []
    for f in _select(meas, constructs):
        items = meas.indicators[f]
        lam = meas.lam_std.loc[items, f].to_numpy(dtype=float)
        value = math.nan
        if len(items) > 1 and np.all(np.isfinite(lam)):
            for item, l in zip(items, lam):
                if l < 0:
                    warnings.warn(f"item {item!r} loads negatively on {f!r} (standardized loading {l:.3f}); "
                                  "it is probably reverse-worded and was not reversed", ReliabilityWarning, stacklevel=2)
            num = lam.sum() ** 2
            value = float(num / (num + (1.0 - lam ** 2).sum()))
        rows.append({"construct": f, "n_items": len(items), "composite_reliability": value})
    return pd.DataFrame(rows, columns=["construct", "n_items", "composite_reliability"])


def ave(parameters: pd.DataFrame, sample_cov: pd.DataFrame, *, constructs: Sequence[str] | None = None,
        group=None) -> pd.DataFrame:
    """Average variance extracted, as ``semTools::AVE`` with its defaults.

    AVE = sum(loading^2) * Var(factor) / sum(observed item variances)
    (``obs.var = TRUE``: the denominator uses the observed variances).
    A construct whose items cross-load on another factor gets NaN, as in
    semTools, and so does a single-item construct.

    Returns
    -------
    DataFrame
        ``construct, n_items, ave``.

    Examples
    --------
    R: ``semTools::AVE(fit)``.
    """
    meas = _Measurement(parameters, group)
    cross = meas.cross_loaders()
    rows = []
    for f in _select(meas, constructs):
        items = meas.indicators[f]
        value = math.nan
        if len(items) > 1 and not (set(items) & cross):
            s = _sample_cov(sample_cov, items)
            lam = meas.lam.loc[items, f].to_numpy()
            value = float((lam ** 2).sum() * meas.cov_lv.loc[f, f] / np.trace(s.to_numpy()))
        elif set(items) & cross:
            warnings.warn(f"AVE of {f!r} is not defined because item(s) {', '.join(sorted(set(items) & cross))} "
                          "load on more than one factor", ReliabilityWarning, stacklevel=2)
        rows.append({"construct": f, "n_items": len(items), "ave": value})
    return pd.DataFrame(rows, columns=["construct", "n_items", "ave"])


def latent_correlations(parameters: pd.DataFrame, *, group=None) -> pd.DataFrame:
    """Model-implied correlations among the latent variables (``lavInspect(fit, "cor.lv")``).

    Returns
    -------
    DataFrame
        Square matrix labelled by latent variable.
    """
    meas = _Measurement(parameters, group)
    c = meas.cov_lv.to_numpy()
    d = np.sqrt(np.diag(c))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = c / np.outer(d, d)
    return pd.DataFrame(r, index=meas.latents, columns=meas.latents)


# --------------------------------------------------------------------------- discriminant validity
def htmt(data: pd.DataFrame | None = None, constructs=None, *, sample_cov: pd.DataFrame | None = None,
         absolute: bool = True, htmt2: bool = True, missing: str = "listwise") -> pd.DataFrame:
    """Heterotrait-monotrait ratio of correlations, as ``semTools::htmt`` (0.5-6 defaults).

    HTMT(A, B) = average |r| between the items of A and the items of B, divided
    by the geometric mean of the average |r| among A's items and among B's
    items (Henseler, Ringle & Sarstedt 2015).  With ``htmt2=True`` (semTools'
    default since 0.5-6) the averages are geometric means, the HTMT2 of Roemer,
    Schuberth & Henseler (2021), which stays consistent for congeneric items;
    ``htmt2=False`` gives the original arithmetic-mean HTMT.

    Parameters
    ----------
    data : DataFrame, optional
        Item answers.  With ``missing="listwise"`` (semTools' default) the
        respondents who answered every item of every construct are used.
    constructs : dict or str
        ``{"A": [items], ...}`` or lavaan syntax.
    sample_cov : DataFrame, optional
        A covariance or correlation matrix instead of ``data``.
    absolute : bool
        Use absolute correlations (semTools' default, recommended; HTMT2 always does).
    htmt2 : bool
        Geometric (True, semTools' default) or arithmetic (False) means.
    missing : {"listwise", "pairwise"}

    Returns
    -------
    DataFrame
        Square matrix labelled by construct (1 on the diagonal; NaN for a
        single-item construct, whose monotrait correlation is undefined).

    Examples
    --------
    R: ``semTools::htmt(model, data)`` (``htmt2 = TRUE``, ``absolute = TRUE``).
    """
    cons = _as_constructs(constructs, data)
    names = list(cons)
    items = [i for its in cons.values() for i in its]
    if sample_cov is not None:
        s = _sample_cov(sample_cov, items).to_numpy()
        r = _cov2cor(s)
    else:
        missing = _check_missing(missing)
        frame = _prepare(data, list(dict.fromkeys(items)), missing)
        r = frame.corr().to_numpy()
    uniq = list(dict.fromkeys(items))
    pos = {i: k for k, i in enumerate(uniq)}
    if r.shape[0] != len(uniq):  # sample_cov path keeps duplicates out
        r = r[np.ix_([items.index(i) for i in uniq], [items.index(i) for i in uniq])]
    if absolute or htmt2:
        r = np.abs(r)
    r = r.copy()
    np.fill_diagonal(r, np.nan)
    idx = {n: [pos[i] for i in cons[n]] for n in names}

    def block_mean(a, b):
        vals = r[np.ix_(idx[a], idx[b])]
        vals = vals[~np.isnan(vals)]
        if not vals.size:
            return math.nan
        if htmt2:
            with np.errstate(divide="ignore"):
                return float(np.exp(np.log(vals).mean()))
        return float(vals.mean())

    mono = {n: block_mean(n, n) for n in names}
    out = pd.DataFrame(np.nan, index=names, columns=names)
    for a in names:
        for b in names:
            g = math.sqrt(mono[a] * mono[b]) if mono[a] > 0 and mono[b] > 0 else math.nan
            out.loc[a, b] = block_mean(a, b) / g if g == g and g > 0 else math.nan
    return out


def fornell_larcker(parameters: pd.DataFrame, sample_cov: pd.DataFrame, *, group=None) -> pd.DataFrame:
    """The Fornell-Larcker table: sqrt(AVE) on the diagonal, latent correlations off it.

    Discriminant validity holds for a construct when its sqrt(AVE) exceeds the
    absolute value of each of its latent correlations (Fornell & Larcker 1981);
    :func:`discriminant_validity` gives the verdict per pair.

    Returns
    -------
    DataFrame
        Square matrix labelled by first-order construct.

    Examples
    --------
    R: ``cor <- lavInspect(fit, "cor.lv"); diag(cor) <- sqrt(semTools::AVE(fit)); cor``.
    """
    meas = _Measurement(parameters, group)
    cor = latent_correlations(parameters, group=group).loc[meas.first_order, meas.first_order]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReliabilityWarning)
        a = ave(parameters, sample_cov, group=group).set_index("construct")["ave"]
    out = cor.copy()
    for f in meas.first_order:
        out.loc[f, f] = math.sqrt(a[f]) if a[f] == a[f] and a[f] >= 0 else math.nan
    return out


def discriminant_validity(htmt_matrix: pd.DataFrame | None = None, fornell_larcker_matrix: pd.DataFrame | None = None,
                          *, thresholds: Thresholds = DEFAULT_THRESHOLDS,
                          close_pairs: Iterable[Sequence[str]] = ()) -> pd.DataFrame:
    """Pairwise discriminant-validity verdicts from HTMT and the Fornell-Larcker table.

    Parameters
    ----------
    htmt_matrix : DataFrame, optional
        Output of :func:`htmt`.
    fornell_larcker_matrix : DataFrame, optional
        Output of :func:`fornell_larcker`.
    thresholds : Thresholds
        ``htmt`` (.85) applies to distinct constructs, ``htmt_close`` (.90) to the
        pairs in ``close_pairs`` (Henseler, Ringle & Sarstedt 2015).
    close_pairs : iterable of (A, B)
        Conceptually close construct pairs.

    Returns
    -------
    DataFrame
        One row per pair: ``construct_a, construct_b, htmt, htmt_threshold,
        htmt_ok, latent_cor, sqrt_ave_a, sqrt_ave_b, fornell_larcker_ok``.
    """
    close = {frozenset(p) for p in close_pairs}
    names: list[str] = []
    for m in (htmt_matrix, fornell_larcker_matrix):
        if m is not None:
            names.extend(n for n in m.index if n not in names)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            h = _get(htmt_matrix, a, b)
            limit = thresholds.htmt_close if frozenset((a, b)) in close else thresholds.htmt
            r = _get(fornell_larcker_matrix, a, b)
            sa, sb = _get(fornell_larcker_matrix, a, a), _get(fornell_larcker_matrix, b, b)
            fl_ok = bool(abs(r) < sa and abs(r) < sb) if all(v == v for v in (r, sa, sb)) else None
            rows.append({"construct_a": a, "construct_b": b, "htmt": h, "htmt_threshold": limit,
                         "htmt_ok": bool(h < limit) if h == h else None, "latent_cor": r,
                         "sqrt_ave_a": sa, "sqrt_ave_b": sb, "fornell_larcker_ok": fl_ok})
    return pd.DataFrame(rows, columns=["construct_a", "construct_b", "htmt", "htmt_threshold", "htmt_ok",
                                       "latent_cor", "sqrt_ave_a", "sqrt_ave_b", "fornell_larcker_ok"])


def _is_false(v) -> bool:
    """A verdict that is known and negative (None/NaN means "not computed")."""
    return v is not None and v == v and not bool(v)


def _get(m: pd.DataFrame | None, a: str, b: str) -> float:
    if m is None or a not in m.index or b not in m.columns:
        return math.nan
    return float(m.loc[a, b])


def reliability_verdicts(table: pd.DataFrame, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """Verdicts of each construct against the reliability and convergent-validity thresholds.

    Parameters
    ----------
    table : DataFrame
        One row per construct with any of the columns ``alpha, omega,
        composite_reliability, ave`` (e.g. :attr:`ReliabilityReport.constructs`).
    thresholds : Thresholds

    Returns
    -------
    DataFrame
        ``construct, criterion, value, threshold, ok, source`` (``ok`` is None when
        the value is missing).
    """
    tab = table.reset_index() if "construct" not in table.columns else table
    rows = []
    for _, row in tab.iterrows():
        for crit in ("alpha", "omega", "composite_reliability", "ave"):
            if crit not in tab.columns:
                continue
            v = float(row[crit]) if row[crit] is not None else math.nan
            t = getattr(thresholds, crit)
            rows.append({"construct": row["construct"], "criterion": crit, "value": v, "threshold": t,
                         "ok": bool(v >= t) if v == v else None, "source": Thresholds.SOURCES[crit]})
    return pd.DataFrame(rows, columns=["construct", "criterion", "value", "threshold", "ok", "source"])


# --------------------------------------------------------------------------- report
def _nan_to_none(x):
    if isinstance(x, dict):
        return {k: _nan_to_none(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_nan_to_none(v) for v in x]
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(float(x)) else float(x)
    return x


def _matrix_dict(m: pd.DataFrame | None) -> dict:
    if m is None:
        return {}
    return {str(a): {str(b): m.loc[a, b] for b in m.columns} for a in m.index}


@dataclass
class ReliabilityReport:
    """Everything :func:`reliability_report` computed.

    Attributes
    ----------
    constructs : DataFrame
        One row per construct: ``construct, n_items, n, alpha, alpha_ci_lower,
        alpha_ci_upper, std_alpha, average_r, omega, composite_reliability, ave``.
    items : DataFrame
        Item-total statistics (:func:`item_total`).
    htmt : DataFrame
        HTMT matrix.
    fornell_larcker : DataFrame or None
        sqrt(AVE) on the diagonal, latent correlations off it (None without a CFA).
    latent_correlations : DataFrame or None
    discriminant : DataFrame
        Pairwise verdicts (:func:`discriminant_validity`).
    verdicts : DataFrame
        Per construct verdicts (:func:`reliability_verdicts`).
    thresholds : Thresholds
    n : int
        Respondents used (complete cases on every item).
    warnings : list of str
    fit : object or None
        The fitted CFA result, when the report fitted one.
    model : str or None
        The lavaan syntax behind the constructs.
    diagnostics : dict of DataFrame
        With ``diagnostics=True``: ``descriptives`` (all rows, so % missing shows),
        ``mardia``, ``kmo``, ``bartlett`` and ``harman`` (complete cases), and
        ``parallel`` when ``parallel_analysis=True``.
    """

    constructs: pd.DataFrame
    items: pd.DataFrame
    htmt: pd.DataFrame
    fornell_larcker: pd.DataFrame | None
    latent_correlations: pd.DataFrame | None
    discriminant: pd.DataFrame
    verdicts: pd.DataFrame
    thresholds: Thresholds
    n: int
    warnings: list[str] = field(default_factory=list)
    fit: Any = None
    model: str | None = None
    diagnostics: dict[str, pd.DataFrame] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict in the layout of ``icaf-sem reliability --json`` (NaN -> None)."""
        cols = ["alpha", "alpha_ci_lower", "alpha_ci_upper", "std_alpha", "average_r", "omega",
                "composite_reliability", "ave", "n_items", "n", "alpha_ordinal", "omega_ordinal"]
        cons = {}
        for _, row in self.constructs.iterrows():
            d = {c: row[c] for c in cols if c in row.index}
            d["items"] = self.items.loc[self.items["construct"] == row["construct"], "item"].tolist()
            d["item_total_r_drop"] = dict(zip(d["items"], self.items.loc[self.items["construct"] == row["construct"], "r_drop"]))
            d["alpha_if_deleted"] = dict(zip(d["items"], self.items.loc[self.items["construct"] == row["construct"], "alpha_if_deleted"]))
            cons[row["construct"]] = d
        out = {
            "n": self.n,
            "constructs": cons,
            "items": self.items.to_dict(orient="records"),
            "htmt": _matrix_dict(self.htmt),
            "fornell_larcker": _matrix_dict(self.fornell_larcker),
            "latent_correlations": _matrix_dict(self.latent_correlations),
            "discriminant_validity": self.discriminant.to_dict(orient="records"),
            "verdicts": self.verdicts.to_dict(orient="records"),
            "thresholds": self.thresholds.to_dict(),
            "warnings": list(self.warnings),
        }
        if self.diagnostics:
            out["diagnostics"] = {k: v.to_dict(orient="records") for k, v in self.diagnostics.items()}
            if "parallel" in self.diagnostics:
                out["diagnostics"]["parallel_suggestion"] = {
                    k: self.diagnostics["parallel"].attrs.get(k) for k in ("n_factors", "n_components", "n_iter", "seed")}
        return _nan_to_none(out)

    def summary(self) -> str:
        """A plain-text table of the per-construct statistics."""
        cols = [c for c in ("n_items", "n", "alpha", "alpha_ci_lower", "alpha_ci_upper", "std_alpha", "omega",
                            "composite_reliability", "ave") if c in self.constructs.columns]
        text = self.constructs.set_index("construct")[cols].to_string(float_format=lambda v: f"{v:.3f}")
        if self.warnings:
            text += "\n\nWarnings:\n" + "\n".join(f"- {w}" for w in self.warnings)
        return text

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"ReliabilityReport(n={self.n}, constructs={list(self.constructs['construct'])})"

    def _repr_html_(self) -> str:
        from ..report.display import html_table
        basis = getattr(self, "basis", "complete_cases")
        note = (f"n = {self.n} ({'EM covariance of every respondent, Enders 2003' if basis == 'em' else 'complete cases'}"
                "). CR = composite reliability; AVE = average variance extracted.")
        return (html_table(self.constructs, title="Reliability and convergent validity", note=note,
                           warnings=self.warnings)
                + html_table(self.discriminant, title="Discriminant validity (HTMT, Fornell-Larcker)"))


def _check_close_pairs(close_pairs, cons) -> list:
    """Each close pair names two different constructs of the model (an unknown name is an error)."""
    if close_pairs is None:
        return []
    if isinstance(close_pairs, str):
        raise DataError(f"close_pairs={close_pairs!r} must be a list of pairs, e.g. [('BC', 'CE')]")
    out = []
    for pair in close_pairs:
        if isinstance(pair, str) or not isinstance(pair, Iterable):
            raise DataError(f"close_pairs: {pair!r} is not a pair of construct names; give e.g. ('BC', 'CE')")
        pair = tuple(str(p).strip() for p in pair)
        if len(pair) != 2 or pair[0] == pair[1]:
            raise DataError(f"close_pairs: {pair!r} must name two different constructs, e.g. ('BC', 'CE')")
        unknown = [p for p in pair if p not in cons]
        if unknown:
            raise DataError(f"close_pairs: {', '.join(map(repr, unknown))} in {pair!r} is not a construct of the "
                            f"model; known constructs: {', '.join(cons)}")
        out.append(pair)
    return out


def alpha_ordinal(polychoric: pd.DataFrame, constructs) -> pd.DataFrame:
    """Ordinal alpha (Zumbo, Gadermann & Zeisser 2007): alpha on the polychoric correlation matrix.

    alpha = k / (k - 1) * (1 - k / 1'R1) for the construct's k items, as ``psych::alpha`` computes
    it from a correlation matrix.

    Examples
    --------
    R: ``psych::alpha(psych::polychoric(items)$rho)$total$raw_alpha``.
    """
    rows = []
    for f, its in _as_constructs(constructs).items():
        value = math.nan
        if len(its) > 1:
            R = _sample_cov(polychoric, its).to_numpy()
            k = len(its)
            value = float(k / (k - 1) * (1 - np.trace(R) / R.sum()))
        rows.append({"construct": f, "alpha_ordinal": value})
    return pd.DataFrame(rows, columns=["construct", "alpha_ordinal"])


def omega_ordinal(parameters: pd.DataFrame, polychoric: pd.DataFrame, *, constructs: Sequence[str] | None = None,
                  group=None) -> pd.DataFrame:
    """Categorical omega (Green & Yang 2009): the reliability of the sum of the observed ordinal
    scores, as ``semTools::compRelSEM(fit, ord.scale = TRUE)`` computes it.

    With lambda, psi the construct's loadings and factor variance of a WLSMV fit (delta
    parameterization), tau_j the thresholds and R the polychoric matrix::

        omega = sum_jj' sum_cc' [Phi2(tau_jc, tau_j'c', l_j l_j' psi) - Phi(tau_jc) Phi(tau_j'c')]
                / sum_jj' sum_cc' [Phi2(tau_jc, tau_j'c', R_jj') - Phi(tau_jc) Phi(tau_j'c')]

    (all pairs j, j' including j = j'), evaluated for all pairs and thresholds in one array call.

    Examples
    --------
    R: ``semTools::compRelSEM(cfa(model, data, ordered = TRUE))`` (``ord.scale = TRUE`` is the default).
    """
    from ..estimation.categorical import bvn_cdf
    from scipy.special import ndtr
    meas = _Measurement(parameters, group)
    pt = meas.pt
    th = pt[pt["op"] == "|"]
    if group is not None and "group" in th.columns:
        th = th[th["group"] == group]
    elif "group" in th.columns and len(th):
        th = th[th["group"] == th["group"].iloc[0]]
    taus = {v: g["est"].to_numpy(float) for v, g in th.groupby("lhs", sort=False)}
    rows = []
    for f in _select(meas, constructs):
        items = meas.indicators[f]
        value = math.nan
        if len(items) > 1 and all(i in taus for i in items):
            lam = meas.lam.loc[items, f].to_numpy()
            true = np.outer(lam, lam) * meas.cov_lv.loc[f, f]
            R = _sample_cov(polychoric, items).to_numpy()
            K = max(len(taus[i]) for i in items)
            T = np.full((len(items), K), np.inf)
            for j, i in enumerate(items):
                T[j, :len(taus[i])] = taus[i]
            h = np.broadcast_to(T[:, None, :, None], (len(items), len(items), K, K))
            kk = np.broadcast_to(T[None, :, None, :], h.shape)
            ok = np.isfinite(h) & np.isfinite(kk)
            marg = np.where(ok, ndtr(np.where(ok, h, 0)) * ndtr(np.where(ok, kk, 0)), 0.0)
            def total(C):
                r = np.broadcast_to(np.clip(C, -1, 1)[:, :, None, None], h.shape)
                p2 = np.zeros(h.shape)
                p2[ok] = bvn_cdf(h[ok], kk[ok], r[ok])
                return float(np.sum(p2 - marg))
            value = total(true) / total(R)
        rows.append({"construct": f, "omega_ordinal": value})
    return pd.DataFrame(rows, columns=["construct", "omega_ordinal"])


def _engine_fit():
    """:func:`icaf_sem.fit`, imported on demand (the estimation layer sits below this one)."""
    try:
        from ..sem import fit
    except ImportError as exc:  # pragma: no cover - only while the engine is missing
        from ..errors import EstimationError
        raise EstimationError(f"the CFA engine icaf_sem.fit is not available ({exc}); pass fitted= "
                              "(a fitted result or lavaan parameter table) or constructs= instead") from exc
    return fit


def _questionnaire_syntax(questionnaire) -> str:
    q = questionnaire
    if isinstance(q, (str,)) or hasattr(q, "__fspath__"):
        from ..questionnaire import load_questionnaire  # the questionnaire stage, imported on demand
        q = load_questionnaire(q)
    if not hasattr(q, "cfa_syntax"):
        raise DataError(f"questionnaire must be a Questionnaire or a path to its YAML file, got {type(q).__name__}")
    return q.cfa_syntax()


def reliability_report(data: pd.DataFrame, model: str | None = None, questionnaire=None, fitted=None, *,
                       constructs: Mapping[str, Sequence[str]] | None = None,
                       thresholds: Thresholds | None = None, close_pairs: Iterable[Sequence[str]] = (),
                       ci: float = 0.95, estimator: str = "ML", diagnostics: bool = False,
                       parallel: bool = False, seed: int | None = None, ordered: bool = False) -> ReliabilityReport:
    """Reliability and validity of every construct, for a questionnaire or a CFA model.

    Parameters
    ----------
    data : DataFrame
        Scored item answers (reverse-keyed items already reversed, e.g. by
        ``icaf-sem clean``).  Respondents with a missing answer to any item of
        the model are left out (complete cases, as the reference lavaan/semTools
        analyses), so every statistic uses the same N.
    model : str, optional
        lavaan syntax of the CFA; its ``=~`` lines define the constructs.
    questionnaire : Questionnaire or path, optional
        Used instead of ``model``: its ``cfa_syntax()`` (first-order constructs).
    fitted : fitted result or DataFrame, optional
        A CFA already fitted to these data (an object with ``.parameters`` and
        optionally ``.sample_cov``), or its lavaan-style parameter table.  When
        omitted and a model is known, the CFA is fitted with :func:`icaf_sem.fit`
        (ML, listwise).
    constructs : dict, optional
        ``{"A": [items]}`` when there is no model; alpha, item-total and HTMT
        are then computed, the CFA-based statistics are not.
    thresholds : Thresholds, optional
    close_pairs : iterable of (A, B)
        Conceptually close constructs, judged against HTMT < ``htmt_close`` (.90).
    ci : float
        Level of alpha's Feldt interval.
    estimator : str
        Estimator for the CFA when it is fitted here.
    diagnostics : bool
        Also compute item descriptives, Mardia's test, KMO, Bartlett's test and
        Harman's single-factor test (:mod:`icaf_sem.measurement.diagnostics`).
    parallel : bool
        With ``diagnostics``, also run the (random) parallel analysis, seeded by ``seed``.
    seed : int, optional
    ordered : bool
        Treat the items as ordinal: the CFA is fitted by WLSMV on polychoric correlations, and the
        table adds ``alpha_ordinal`` (alpha on the polychoric matrix, as ``psych``) and
        ``omega_ordinal`` (``semTools::compRelSEM(fit, ord.scale = TRUE)``, Green & Yang 2009);
        ``omega`` is then the omega of the latent responses (``ord.scale = FALSE``), ``ave`` and
        ``composite_reliability`` use the standardized loadings of the latent responses, and HTMT
        and Fornell-Larcker use the polychoric matrix (``semTools::htmt(..., ordered = TRUE)``).

    Returns
    -------
    ReliabilityReport

    Examples
    --------
    >>> rep = reliability_report(df, model="A =~ a1 + a2 + a3\\nB =~ b1 + b2 + b3")  # doctest: +SKIP
    >>> rep.constructs[["construct", "alpha", "omega", "ave"]]                         # doctest: +SKIP

    R equivalents: ``psych::alpha``, ``semTools::compRelSEM(fit)``,
    ``semTools::AVE(fit)``, ``semTools::htmt(model, data)``.
    """
    thresholds = thresholds or DEFAULT_THRESHOLDS
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}; read the file with "
                        "icaf_sem.load_survey() or pandas.read_csv()")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise DataError(f"seed={seed!r} must be a whole number >= 0 (e.g. seed=1) or None")
    if isinstance(ci, bool) or not isinstance(ci, (int, float, np.floating)) or not 0 < ci < 1:
        raise DataError(f"ci={ci!r} must be a level between 0 and 1 (e.g. ci=0.95)")
    if not isinstance(thresholds, Thresholds):
        raise DataError("thresholds must be an icaf_sem.measurement.Thresholds(...)")
    if model is not None and questionnaire is not None:
        raise DataError("give either model= or questionnaire=, not both")
    if questionnaire is not None:
        model = _questionnaire_syntax(questionnaire)
    if model is not None:
        cons = constructs_from_model(model)
        if constructs is not None:
            raise DataError("give either constructs= or a model/questionnaire, not both")
    elif constructs is not None:
        cons = _as_constructs(constructs, data)
    elif fitted is not None:
        meas = _Measurement(fitted)
        cons = {f: meas.indicators[f] for f in meas.first_order}
    else:
        raise DataError("reliability_report needs model= (lavaan syntax), questionnaire= or constructs=")

    close_pairs = _check_close_pairs(close_pairs, cons)
    items = list(dict.fromkeys(i for its in cons.values() for i in its))
    frame = _numeric_items(data, items)
    complete = frame.dropna(axis=0, how="any")
    dropped = len(frame) - len(complete)
    caught: list[warnings.WarningMessage] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if dropped:
            from ..errors import DataWarning
            warnings.warn(f"{dropped} of {len(frame)} respondents have a missing answer to a model item and are "
                          f"left out; reliability uses the {len(complete)} complete cases", DataWarning)
        if len(complete) < 3:
            cnt = frame.notna().sum()
            raise DataError(f"only {len(complete)} respondents answered every item; reliability needs at least 3 "
                            f"(the item with fewest answers is {cnt.idxmin()!r}: {int(cnt.min())})")
        _check_constant(complete)
        from ..sem import _check_values        # degenerate scales and duplicated columns, before LAPACK
        _check_values(complete.to_numpy(dtype=float), items, per_item=False)
        multi = {n: its for n, its in cons.items() if len(its) >= 2}
        for n, its in cons.items():
            if len(its) < 2:
                warnings.warn(f"construct {n!r} has a single item ({its[0]}); alpha, omega, CR and AVE are "
                              "undefined for it and are reported as missing", ReliabilityWarning)
        alpha_t = cronbach_alpha(complete, multi, ci=ci) if multi else pd.DataFrame(columns=["construct"])
        items_t = item_total(complete, multi) if multi else pd.DataFrame(columns=["construct", "item", "r_drop", "alpha_if_deleted"])
        base = pd.DataFrame({"construct": list(cons), "n_items": [len(v) for v in cons.values()],
                             "n": len(complete)})
        table = base.merge(alpha_t.drop(columns=["n_items", "n"], errors="ignore"), on="construct", how="left")
        poly = None
        if ordered:
            from ..estimation.categorical import polychoric_matrix
            poly = polychoric_matrix(complete, items)
            h = htmt(constructs=cons, sample_cov=poly)
        else:
            h = htmt(complete, cons)

        fit_res = None
        params = None
        scov = None
        if fitted is not None:
            params = fitted if isinstance(fitted, pd.DataFrame) else getattr(fitted, "parameters", None)
            if params is None:
                raise DataError("fitted must be a fitted result with .parameters or a parameter table DataFrame")
            scov = None if isinstance(fitted, pd.DataFrame) else getattr(fitted, "sample_cov", None)
            fit_res = None if isinstance(fitted, pd.DataFrame) else fitted
        elif model is not None:
            if ordered:
                est_o = None if str(estimator).upper() in ("ML", "MLR") else estimator
                fit_res = _engine_fit()(model, complete, estimator=est_o, missing="listwise", ordered=True)
            else:
                fit_res = _engine_fit()(model, complete, estimator=estimator, missing="listwise")
            params = fit_res.parameters
            scov = getattr(fit_res, "sample_cov", None)
            for w in getattr(fit_res, "warnings", []) or []:
                warnings.warn(f"CFA: {w}", ReliabilityWarning)
        fl = lcor = None
        if params is not None:
            if ordered:
                scov = poly
            elif scov is None or not all(i in getattr(scov, "columns", []) for i in items):
                scov = _ml_cov(complete)
            meas = _Measurement(params)
            missing_f = [n for n in cons if n not in meas.first_order]
            if missing_f:
                raise DataError(f"construct(s) {', '.join(missing_f)} are not factors of the fitted model "
                                f"({', '.join(meas.first_order)})")
            names = list(cons)
            om = omega(params, scov, constructs=names)
            cr = composite_reliability(params, constructs=names) if "std_all" in meas.pt.columns else None
            av = ave(params, scov, constructs=names)
            table = table.merge(om[["construct", "omega"]], on="construct", how="left")
            if cr is not None:
                table = table.merge(cr[["construct", "composite_reliability"]], on="construct", how="left")
            else:
                table["composite_reliability"] = np.nan
            table = table.merge(av[["construct", "ave"]], on="construct", how="left")
            fl = fornell_larcker(params, scov).loc[names, names]
            lcor = latent_correlations(params)
            if ordered:
                table = table.merge(omega_ordinal(params, poly, constructs=names), on="construct", how="left")
        else:
            for c in ("omega", "composite_reliability", "ave"):
                table[c] = np.nan
        for c in ("alpha", "alpha_ci_lower", "alpha_ci_upper", "std_alpha", "average_r"):
            if c not in table.columns:
                table[c] = np.nan
        keep = ["construct", "n_items", "n", "alpha", "alpha_ci_lower", "alpha_ci_upper", "std_alpha",
                "average_r", "omega", "composite_reliability", "ave"]
        if ordered:
            table = table.merge(alpha_ordinal(poly, {n: cons[n] for n in cons}), on="construct", how="left")
            if "omega_ordinal" not in table.columns:
                table["omega_ordinal"] = np.nan
            keep += ["alpha_ordinal", "omega_ordinal"]
            warnings.warn("ordered items: alpha_ordinal is alpha on the polychoric matrix (psych), omega_ordinal is "
                          "semTools' compRelSEM(ord.scale = TRUE) for the observed sum score; omega, "
                          "composite_reliability and ave refer to the latent responses of the WLSMV CFA, HTMT to "
                          "the polychoric correlations; alpha and std_alpha treat the items as continuous",
                          ReliabilityWarning)
        table = table[keep]
        verdicts = reliability_verdicts(table, thresholds)
        disc = discriminant_validity(h, fl, thresholds=thresholds, close_pairs=close_pairs)
        for _, v in verdicts.iterrows():
            if _is_false(v["ok"]):
                warnings.warn(f"construct {v['construct']!r}: {v['criterion']} = {v['value']:.3f} is below "
                              f"{v['threshold']:.2f} ({v['source']})", ReliabilityWarning)
        for _, d in disc.iterrows():
            if _is_false(d["htmt_ok"]):
                warnings.warn(f"constructs {d['construct_a']!r} and {d['construct_b']!r}: HTMT = {d['htmt']:.3f} is "
                              f"not below {d['htmt_threshold']:.2f} (Henseler, Ringle & Sarstedt 2015)", ReliabilityWarning)
            if _is_false(d["fornell_larcker_ok"]):
                warnings.warn(f"constructs {d['construct_a']!r} and {d['construct_b']!r}: latent correlation "
                              f"{d['latent_cor']:.3f} is not below both sqrt(AVE) ({d['sqrt_ave_a']:.3f}, "
                              f"{d['sqrt_ave_b']:.3f}) (Fornell & Larcker 1981)", ReliabilityWarning)
        diag: dict[str, pd.DataFrame] = {}
        if diagnostics:
            from . import diagnostics as dg
            from .method_bias import harman_single_factor
            diag["descriptives"] = dg.item_descriptives(frame)
            diag["mardia"] = dg.mardia(complete)
            diag["kmo"] = dg.kmo(complete)
            diag["bartlett"] = dg.bartlett(complete)
            diag["harman"] = harman_single_factor(complete)
            if parallel:
                diag["parallel"] = dg.parallel_analysis(complete, seed=seed)
    messages = []
    for w in caught:
        messages.append(str(w.message))
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return ReliabilityReport(constructs=table, items=items_t.reset_index(drop=True), htmt=h, fornell_larcker=fl,
                             latent_correlations=lcor, discriminant=disc, verdicts=verdicts, thresholds=thresholds,
                             n=len(complete), warnings=messages, fit=fit_res, model=model, diagnostics=diag)
