"""Necessary Condition Analysis (NCA; Dul 2016), equal to the R package NCA 5.0.1.

A condition X is *necessary* for an outcome Y when a high Y needs at least some
level of X: the upper-left corner of the X-Y scatter plot is empty.  NCA draws a
ceiling line on the edge of that empty zone and reports

* the **effect size** d = ceiling zone / scope (the empty zone as a share of the
  observed range of X times the range of Y), with Dul's (2016) benchmarks
  0 < d < .1 small, .1 <= d < .3 medium, .3 <= d < .5 large, d >= .5 very large;
* the **bottleneck table**: the minimum level of X needed for each level of Y;
* the **permutation test** of Dul, van der Laan & Kuik (2020): the p-value of d
  against the d's of data sets in which Y is randomly re-assigned to the cases.

Ceilings (NCA's names):

``ce_fdh``  ceiling envelopment, free disposal hull: the step function through
            the upper-left *peers* (a case is a peer when no case with a lower or
            equal X has a higher Y);
``cr_fdh``  ceiling regression: the OLS line through the CE-FDH peers; a peer
            that occurs k times in the data enters the regression k times;
``c_lp``    the straight line above all peers that minimises the summed
            vertical distance to them (linear programme);
``ols``     the ordinary regression line through all cases (for comparison; it
            is not a ceiling, so it has no bottleneck and no test).

Inputs are any numeric scores: construct mean scores
(:func:`construct_scores`), CB-SEM factor scores (``SEMResult.predict()``), PLS
construct scores, or IPMA's 0-100 rescaled scores (:func:`rescale_scores`) for a
combined importance-performance map.  Any DataFrame with one numeric column per
construct works.

>>> import icaf_sem
>>> res = icaf_sem.nca(scores, x=["DQ", "PM"], y="PW", permutations=10000, seed=1)  # doctest: +SKIP
>>> res.effects                     # d, ceiling zone, scope, accuracy, fit, p per condition and ceiling
>>> res.bottleneck_table("cr_fdh")  # NCA's bottleneck table (NN = 0, NA = NaN)
>>> res.plot("DQ")                  # scatter plot with the ceiling lines

The R equivalent is ``NCA::nca_analysis(scores, c("DQ", "PM"), "PW",
ceilings = c("ce_fdh", "cr_fdh"), test.rep = 10000)``.

Differences from NCA, on purpose: NCA compares values within 1e-6 (relative)
as equal when it finds peers; icaf_sem compares them exactly (identical for
scores read from a file or computed here; it matters only for scores that
differ in their last digits).  The p-value counts a permuted d within 1e-9 of
the observed d as "at least as large" (NCA's bitwise comparison splits such
ties by floating-point rounding, which matters with discrete scores).  When several C-LP lines
are equally optimal, icaf_sem returns the steepest; NCA's LP solver returns one by its pivoting
path (the same one in 5 of 8 such cases checked).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Optional, Sequence, Union

import numpy as np
import pandas as pd

from .errors import DataError, DataWarning, IcafError, ModelSpecificationError

__all__ = ["nca", "NCAResult", "construct_scores", "rescale_scores", "nca_plot", "effect_size_class",
           "test_necessity", "NecessityResult", "CEILINGS", "BOTTLENECK_UNITS", "TEXT"]

#: ceilings icaf_sem computes (NCA's names)
CEILINGS = ("ce_fdh", "cr_fdh", "c_lp", "ols")
_NCA_OTHER = ("ce_vrs", "cr_vrs", "qr", "cols", "custom")
#: NCA's ``bottleneck.x`` / ``bottleneck.y`` options
BOTTLENECK_UNITS = ("percentage.range", "percentage.max", "actual", "percentile")
_EPS = 1e-10            # NCA's epsilon (bottleneck comparisons)
_ABOVE_TOL = 1e-7       # NCA's tolerance for a case above a ceiling line
_PRETTY = {"ce_fdh": "CE-FDH", "cr_fdh": "CR-FDH", "c_lp": "C-LP", "ols": "OLS"}
_COLORS = {"ce_fdh": "red", "cr_fdh": "orange", "c_lp": "blue", "ols": "green"}   # NCA's line colours
_STYLES = {"ce_fdh": "--", "cr_fdh": "-", "c_lp": "-.", "ols": ":"}

#: Dul's (2016) benchmarks of the effect size d
D_BENCHMARKS = ((0.1, "small"), (0.3, "medium"), (0.5, "large"), (math.inf, "very large"))

#: Report text in English and Chinese (for the report's i18n catalogue).
TEXT = {
    "en": {
        "title": "Necessary Condition Analysis",
        "bottleneck_title": "Bottleneck table (NCA)",
        "figure": "Necessary Condition Analysis: scatter plots with ceiling lines",
        "note": ("NCA (Dul, 2016) on construct scores; d = ceiling zone / scope. Benchmarks for d (Dul, 2016): "
                 "0 < d < .1 small, .1 \u2264 d < .3 medium, .3 \u2264 d < .5 large, d \u2265 .5 very large. "
                 "p: permutation test (Dul, van der Laan & Kuik, 2020) with {reps} permutations. "
                 "A necessity hypothesis is supported when d \u2265 {d_min:g}, p < {alpha:g} and the condition is "
                 "required (not NN) at the declared outcome level. Required level: the minimum condition level "
                 "needed, in % of its observed range (NN = not necessary, NA = the level is not reached within "
                 "the observed range)."),
        "bottleneck_note": ("Minimum level of each condition (% of its observed range) needed for the given "
                            "level of the outcome (% of its observed range). NN = not necessary; NA = not "
                            "reached within the observed range."),
        "labels": {"id": "Hypothesis", "condition": "Condition", "outcome": "Outcome", "ceiling": "Ceiling",
                   "level": "Outcome level (%)", "effect_size": "*d*", "effect_class": "Size", "p_value": "*p*",
                   "required": "Required level (%)", "supported": "Supported", "reason": "Verdict",
                   "n": "*N*", "accuracy": "Accuracy (%)"},
        "supported": "supported", "not_supported": "not supported",
        "reasons": {"small": "d below {d_min:g}", "p": "p \u2265 {alpha:g}", "nn": "not necessary at this level",
                    "ok": "necessary in degree"},
        "classes": {"none": "none", "small": "small", "medium": "medium", "large": "large",
                    "very large": "very large"},
        "source_note": "Ceiling: {ceiling}; scores: {scores}.",
        "sources": {"mean": "construct mean scores (complete cases)",
                    "factor": ("CB-SEM factor scores (lavPredict, regression method) of the first-order CFA; "
                               "higher-order constructs from the second-order measurement model"),
                    "pls": "PLS-SEM construct scores (path weighting, two-stage higher-order constructs, listwise)",
                    "user": "user scores"},
    },
    "zh": {
        "title": "必要条件分析（NCA）",
        "bottleneck_title": "瓶颈表（NCA）",
        "figure": "必要条件分析：散点图与上限线",
        "note": ("基于构念得分的必要条件分析（Dul, 2016）；d = 上限区域 / 范围。d 的判断标准（Dul, 2016）："
                 "0 < d < .1 为小效应，.1 \u2264 d < .3 为中等效应，.3 \u2264 d < .5 为大效应，d \u2265 .5 为非常大效应。"
                 "p：置换检验（Dul, van der Laan & Kuik, 2020），置换 {reps} 次。当 d \u2265 {d_min:g}、p < {alpha:g} "
                 "且在所声明的结果水平上该条件为必需（非 NN）时，必要性假设得到支持。所需水平：条件所需的最低水平，"
                 "以其观测范围的百分比表示（NN = 非必要，NA = 在观测范围内无法达到该水平）。"),
        "bottleneck_note": ("在结果变量的给定水平（占其观测范围的百分比）下，各条件所需的最低水平（占其观测范围的百分比）。"
                            "NN = 非必要；NA = 在观测范围内无法达到。"),
        "labels": {"id": "假设", "condition": "条件", "outcome": "结果", "ceiling": "上限线",
                   "level": "结果水平（%）", "effect_size": "*d*", "effect_class": "效应大小", "p_value": "*p*",
                   "required": "所需水平（%）", "supported": "是否支持", "reason": "结论",
                   "n": "*N*", "accuracy": "准确度（%）"},
        "supported": "支持", "not_supported": "不支持",
        "reasons": {"small": "d 低于 {d_min:g}", "p": "p \u2265 {alpha:g}", "nn": "在该水平上非必要",
                    "ok": "程度上的必要条件"},
        "classes": {"none": "无", "small": "小", "medium": "中", "large": "大", "very large": "非常大"},
        "source_note": "上限线：{ceiling}；得分：{scores}。",
        "sources": {"mean": "构念均值得分（完整个案）",
                    "factor": "一阶验证性因子分析的 CB-SEM 因子得分（lavPredict 回归法）；高阶构念取自二阶测量模型",
                    "pls": "PLS-SEM 构念得分（路径加权，高阶构念两阶段法，成列删除）",
                    "user": "用户提供的得分"},
    },
}


def effect_size_class(d: float) -> str:
    """Dul's (2016) label of an effect size: ``none`` (d = 0), ``small``, ``medium``, ``large``, ``very large``."""
    if d is None or not np.isfinite(d):
        return ""
    if d <= 0:
        return "none"
    for cut, name in D_BENCHMARKS:
        if d < cut:
            return name
    return "very large"   # pragma: no cover


# =========================================================================== input
def _as_frame(data) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, dict):
        return pd.DataFrame(data)
    raise DataError(f"data must be a pandas DataFrame of scores (one column per condition and the outcome), got "
                    f"{type(data).__name__}; fix: pass e.g. icaf_sem.nca.construct_scores(clean, questionnaire)")


def _numeric_column(df: pd.DataFrame, col: str, role: str) -> np.ndarray:
    s = df[col]
    if isinstance(s, pd.DataFrame):
        raise DataError(f"{role} {col!r}: the data has {s.shape[1]} columns of that name; fix: rename the duplicates")
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float).to_numpy()
    if pd.api.types.is_numeric_dtype(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
    else:
        conv = pd.to_numeric(s.astype(object), errors="coerce")
        bad = s.notna() & conv.isna()
        if bad.any():
            examples = ", ".join(repr(v) for v in pd.unique(s[bad])[:3])
            raise DataError(f"{role} {col!r} is not numeric: {int(bad.sum())} value(s) such as {examples} are not "
                            "numbers; NCA needs numeric scores; fix: recode the column to numbers or compute "
                            "construct scores first (icaf_sem.nca.construct_scores)")
        v = conv.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(v).any():
        raise DataError(f"{role} {col!r} holds infinite values ({int(np.isinf(v).sum())}); fix: replace them by "
                        "valid scores or leave the cells empty")
    return v


def _validate_names(df: pd.DataFrame, x, y) -> tuple[list, str]:
    if isinstance(x, str):
        x = [x]
    if x is None or not isinstance(x, (list, tuple, pd.Index, np.ndarray)) or len(x) == 0:
        raise ModelSpecificationError(f"x={x!r}: give the condition columns as a list of names, e.g. x=['DQ', 'PM']")
    x = [str(c) for c in x]
    if not isinstance(y, str) or not y:
        raise ModelSpecificationError(f"y={y!r}: give the outcome as one column name, e.g. y='PW'")
    dup = sorted({c for c in x if x.count(c) > 1})
    if dup:
        raise ModelSpecificationError(f"x lists {dup[0]!r} more than once; fix: name each condition once")
    if y in x:
        raise ModelSpecificationError(f"the outcome {y!r} is also listed as a condition in x; fix: remove it from x")
    missing = [c for c in x + [y] if c not in df.columns]
    if missing:
        avail = ", ".join(map(str, list(df.columns)[:12])) + (" ..." if df.shape[1] > 12 else "")
        raise DataError(f"column {missing[0]!r} is not in the data (columns: {avail}); fix: check the spelling")
    return x, y


def _validate_ceilings(ceilings) -> list:
    if isinstance(ceilings, str):
        ceilings = [c.strip() for c in ceilings.split(",") if c.strip()]
    try:
        cl = [str(c).lower() for c in ceilings]
    except TypeError:
        raise ModelSpecificationError(f"ceilings={ceilings!r}: give a list such as ('ce_fdh', 'cr_fdh')") from None
    if not cl:
        raise ModelSpecificationError("ceilings is empty; fix: e.g. ceilings=('ce_fdh', 'cr_fdh')")
    for c in cl:
        if c in _NCA_OTHER:
            raise ModelSpecificationError(f"ceiling {c!r} is an NCA ceiling icaf_sem does not compute; use one of "
                                          f"{', '.join(CEILINGS)}")
        if c not in CEILINGS:
            raise ModelSpecificationError(f"ceiling {c!r} is unknown; use one of {', '.join(CEILINGS)}")
    out = []
    for c in cl:
        if c not in out:
            out.append(c)
    return out


# =========================================================================== geometry (vectorised)
def _line_zone(slope, intercept, x0, x1, y0, y1):
    """Area of the scope above a ceiling line y = intercept + slope * x (NCA's p_ceiling, upper-left corner).

    Vectorised over arrays of slopes/intercepts.  NaN when the slope is missing or
    negative, or when the line lies above the scope everywhere (as NCA).
    """
    s = np.asarray(slope, dtype=float)
    b = np.asarray(intercept, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        yl = s * x0 + b
        yr = s * x1 + b
        # slope > 0: where the line enters (left or bottom edge) and leaves (right or top edge)
        plx = np.where(yl < y0, (y0 - b) / s, x0)
        ply = np.where(yl < y0, y0, yl)
        prx = np.where(yr > y1, (y1 - b) / s, x1)
        pry = np.where(yr > y1, y1, yr)
        area = (0.5 * (prx - plx) * (pry - ply) + (x1 - x0) * (y1 - pry) + (plx - x0) * (y1 - y0)
                - (plx - x0) * (y1 - pry))
        flat = (x1 - x0) * (y1 - b)
    area = np.where(s == 0, flat, area)
    area = np.where((yl < y0) & (yr < y0), (x1 - x0) * (y1 - y0), area)
    area = np.where((yl > y1) & (yr > y1), np.nan, area)
    area = np.where(np.isnan(s) | np.isnan(b) | (s < 0), np.nan, area)
    return area if area.ndim else float(area)


def _n_above(x, y, slope, intercept) -> float:
    if not np.isfinite(slope) or slope < 0:
        return float("nan")
    return float(np.sum((y - (slope * x + intercept)) > _ABOVE_TOL))


def _fit(zone: float, ce_zone: float) -> float:
    """NCA's ceiling fit: 100 - 100 |zone - CE-FDH zone| / CE-FDH zone; NA when the zone exceeds CE-FDH's."""
    if not np.isfinite(zone) or not np.isfinite(ce_zone) or zone > ce_zone:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(100 - 100 * abs(zone - ce_zone) / ce_zone) if ce_zone != 0 else float("nan")


# =========================================================================== one condition
@dataclass
class _Condition:
    """One condition's complete cases, sorted by x (then y), and its CE-FDH peers."""
    name: str
    rows: np.ndarray          # positions (in the input) of the complete cases, original order
    x: np.ndarray             # x of the complete cases, original order
    y: np.ndarray
    order: np.ndarray         # argsort by (x, y)
    starts: np.ndarray        # first sorted position of each distinct x
    xg: np.ndarray            # distinct x values, ascending
    scope_xy: tuple           # (x_min, x_max, y_min, y_max) of the scope used (NCA's scope.theo)
    emp: tuple = None         # the observed (empirical) scope
    extra: float = 0.0        # CE-FDH zone between a theoretical and the observed scope (NCA's p_scope_ceiling)
    peers: pd.DataFrame = None
    results: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.x)

    @property
    def scope(self) -> float:
        x0, x1, y0, y1 = self.scope_xy
        return (x1 - x0) * (y1 - y0)


def _prepare(name, rows, x, y, scope=None) -> _Condition:
    order = np.lexsort((y, x))
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    emp = (float(x.min()), float(x.max()), float(y.min()), float(y.max()))
    theo, extra = emp, 0.0
    if scope is not None:
        theo = (min(emp[0], scope[0]), max(emp[1], scope[1]), min(emp[2], scope[2]), max(emp[3], scope[3]))
        left, upper = emp[0] - theo[0], theo[3] - emp[3]
        extra = left * (theo[3] - theo[2]) + (theo[1] - theo[0]) * upper - left * upper
    cond = _Condition(name=name, rows=rows, x=x, y=y, order=order, starts=starts, xg=xs[starts],
                      scope_xy=theo, emp=emp, extra=float(extra))
    ys = y[order]
    gmax = np.maximum.reduceat(ys, starts)
    cm = np.maximum.accumulate(gmax)
    rec = np.r_[True, gmax[1:] > cm[:-1]]
    sizes = np.diff(np.r_[starts, len(xs)])
    mult = np.add.reduceat((ys == np.repeat(gmax, sizes)).astype(np.int64), starts)
    cond.peers = pd.DataFrame({"x": cond.xg[rec], "y": gmax[rec], "count": mult[rec]})
    return cond


def _ce_fdh(cond: _Condition) -> dict:
    x0 = cond.emp[0]
    p = cond.peers
    zone = cond.extra + float(np.sum((p["x"].to_numpy()[1:] - x0) * np.diff(p["y"].to_numpy())))
    return {"ceiling_zone": zone, "effect_size": zone / cond.scope, "slope": np.nan, "intercept": np.nan,
            "n_above": 0.0, "accuracy": 100.0, "fit": 100.0}


def _peer_points(cond: _Condition):
    p = cond.peers
    return np.repeat(p["x"].to_numpy(), p["count"].to_numpy()), np.repeat(p["y"].to_numpy(), p["count"].to_numpy())


def _line_result(cond: _Condition, slope: float, intercept: float, ce_zone: float, above=None) -> dict:
    x0, x1, y0, y1 = cond.scope_xy
    zone = float(_line_zone(slope, intercept, x0, x1, y0, y1))
    if above is None:
        above = _n_above(cond.x, cond.y, slope, intercept)
    acc = 100 * (cond.n - above) / cond.n if np.isfinite(above) else np.nan
    return {"ceiling_zone": zone, "effect_size": zone / cond.scope, "slope": float(slope),
            "intercept": float(intercept), "n_above": float(above), "accuracy": float(acc),
            "fit": _fit(zone, ce_zone)}


def _cr_fdh(cond: _Condition, ce_zone: float) -> dict:
    if len(cond.peers) <= 1:     # a single peer: NCA reports no line and a zero ceiling zone
        return {"ceiling_zone": 0.0, "effect_size": 0.0, "slope": np.nan, "intercept": np.nan, "n_above": 0.0,
                "accuracy": 100.0, "fit": _fit(0.0, ce_zone)}
    px, py = _peer_points(cond)
    A = np.column_stack([np.ones_like(px), px])
    (b, s), *_ = np.linalg.lstsq(A, py, rcond=None)
    return _line_result(cond, s, b, ce_zone)


def _c_lp(cond: _Condition, ce_zone: float) -> dict:
    """C-LP: the line above every peer with the least summed height over the peers (NCA's linear
    programme: minimise sum_k (a + b x_k) subject to a + b x_k >= y_k, b >= 0, each peer counted as
    often as it occurs), found as the upper-hull chord above the peers' mean x (:func:`_c_lp_lines`)."""
    if len(cond.peers) <= 1:
        return {"ceiling_zone": 0.0, "effect_size": 0.0, "slope": np.nan, "intercept": np.nan, "n_above": np.nan,
                "accuracy": np.nan, "fit": _fit(0.0, ce_zone)}
    p = cond.peers
    slope, icpt = _c_lp_lines(p["x"].to_numpy()[None, :], p["y"].to_numpy()[None, :],
                              p["count"].to_numpy(dtype=float)[None, :])
    return _line_result(cond, float(slope[0]), float(icpt[0]), ce_zone, above=0.0)


def _c_lp_lines(X: np.ndarray, Y: np.ndarray, Wt: np.ndarray):
    """Slopes and intercepts of the C-LP lines of many peer sets at once.

    ``X, Y, Wt``: (B, R) peers in x order (padding: NaN with weight 0), at least two per row.  The
    summed height over the peers is the height at their weighted mean x, so the optimum is the chord
    of the upper hull above that mean: the chord between two peers that is highest there.

    When the mean falls on a hull vertex, every line through the vertex with a slope between its two
    hull edges is optimal.  NCA's solver (lpSolve) then returns one of them by its pivoting path; in 8
    such cases checked against NCA 5.0.1 it returned the steepest (through the vertex and its left hull
    neighbour) 5 times, the flattest twice and the line through the origin once.  icaf_sem returns the
    steepest, so C-LP can differ from NCA in these cases while being equally optimal.
    """
    B = X.shape[0]
    xbar = np.nansum(Wt * X, axis=1) / Wt.sum(axis=1)
    xb = xbar[:, None, None]
    Xi, Xj, Yi, Yj = X[:, :, None], X[:, None, :], Y[:, :, None], Y[:, None, :]
    idx = np.arange(B)
    with np.errstate(divide="ignore", invalid="ignore"):
        span = (Xi <= xb) & (Xj >= xb) & (Xj > Xi)
        slope_ij = (Yj - Yi) / (Xj - Xi)
        val = np.where(span, Yi + slope_ij * (xb - Xi), -np.inf).reshape(B, -1)
        best = np.argmax(val, axis=1)
        hv = val[idx, best]
        slope = slope_ij.reshape(B, -1)[idx, best]
        icpt = hv - slope * xbar
        onv = np.isclose(X, xbar[:, None], rtol=1e-12, atol=0) & np.isclose(Y, hv[:, None], rtol=1e-9, atol=1e-12)
        has = onv.any(axis=1)
        if has.any():
            v = np.argmax(onv, axis=1)
            xv, yv = X[idx, v], Y[idx, v]
            left = X < xv[:, None]
            right = X > xv[:, None]
            hi = np.min(np.where(left, (yv[:, None] - Y) / (xv[:, None] - X), np.inf), axis=1)
            lo = np.maximum(0.0, np.max(np.where(right, (Y - yv[:, None]) / (X - xv[:, None]), -np.inf), axis=1))
            use = has & np.isfinite(hi) & (hi > lo + 1e-12)
            slope = np.where(use, hi, slope)
            icpt = np.where(use, yv - hi * xv, icpt)
    return slope, icpt


def _ols(cond: _Condition, ce_zone: float) -> dict:
    A = np.column_stack([np.ones(cond.n), cond.x])
    (b, s), *_ = np.linalg.lstsq(A, cond.y, rcond=None)
    out = _line_result(cond, s, b, ce_zone)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["fit"] = float(100 * out["ceiling_zone"] / ce_zone) if ce_zone else np.nan   # NCA's OLS 'fit'
    return out


_CEILING_FUNCS = {"cr_fdh": _cr_fdh, "c_lp": _c_lp, "ols": _ols}


# =========================================================================== bottlenecks
def _outcome_levels(yall: np.ndarray, unit: str, steps, scope=None) -> tuple[np.ndarray, np.ndarray]:
    """NCA's bottleneck rows: (labels shown in the y column, outcome values mpy)."""
    lo, hi = float(np.min(yall)), float(np.max(yall))
    if scope is not None:
        lo, hi = min(lo, scope[2]), max(hi, scope[3])
    if unit == "percentage.max":
        lo = 0.0
    if unit == "actual":
        if np.ndim(steps) == 0:
            step = (hi - lo) / int(steps)
            vals = lo + np.arange(int(steps) + 1) * step      # R: seq(lo, hi, by = step)
        else:
            vals = np.sort(np.asarray(steps, dtype=float))
            bad = vals[(vals < lo) | (vals > hi)]
            if len(bad):
                raise ModelSpecificationError(f"bottleneck level {bad[0]:g} is outside the outcome's observed range "
                                              f"{lo:g}..{hi:g}; fix: give levels within the range")
        return vals, vals
    if np.ndim(steps) == 0:
        n = int(steps)
        probs = np.r_[0.0, np.arange(1, n) * (1.0 / n), 1.0] if n > 1 else np.array([0.0, 1.0])
    else:
        lev = np.sort(np.asarray(steps, dtype=float))
        bad = lev[(lev < 0) | (lev > 100)]
        if len(bad):
            raise ModelSpecificationError(f"bottleneck level {bad[0]:g} is outside 0..100 (percent); fix: give "
                                          "levels between 0 and 100")
        probs = lev / 100
    if unit == "percentile":
        vals = np.quantile(yall, probs)          # R's quantile type 7
    else:
        vals = lo + probs * (hi - lo)
    return 100 * probs, vals


def _bottleneck_x(cond: _Condition, ceiling: str, res: dict, mpy: np.ndarray, unit: str):
    """Minimum x per outcome level; returns (values, status) with status 'NN', 'NA' or ''."""
    x0, x1 = cond.scope_xy[0], cond.scope_xy[1]
    if ceiling == "ce_fdh":
        px, py = cond.peers["x"].to_numpy(), cond.peers["y"].to_numpy()
        ok = py[None, :] > (mpy[:, None] - _EPS)
        has = ok.any(axis=1)
        mpx = np.where(has, px[np.argmax(ok, axis=1)], np.nan)
    else:
        s, b = res["slope"], res["intercept"]
        if not np.isfinite(s) or not np.isfinite(b):
            mpx = None                            # a single peer: nothing is necessary (NCA: all NN)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                mpx = (mpy - b) / s
    if mpx is None:
        mpx = np.full(len(mpy), np.inf)
    else:
        mpx = np.where(mpx < x0 + _EPS, -np.inf, mpx)
        mpx = np.where(mpx > x1, np.nan, mpx)
    with np.errstate(invalid="ignore"):
        if unit == "percentage.range":
            val = 100 * (mpx - x0) / (x1 - x0)
        elif unit == "percentage.max":
            val = 100 * mpx / x1
        elif unit == "actual":
            val = mpx
        else:   # percentile: share of cases below the required level
            xs = np.sort(cond.x)
            val = np.where(np.isfinite(mpx), 100 * np.searchsorted(xs, mpx - _EPS, side="right") / cond.n, mpx)
            val = np.where(val == 0, np.inf, val)
    status = np.where(np.isnan(val), "NA", np.where(np.isinf(val), "NN", ""))
    val = np.where(np.isinf(val), 0.0, val)
    return val, status


def _nca_string(v: float, status: str, unit: str) -> str:
    """NCA's printed bottleneck value (``p_pretty_number``): 'NN', 'NA' or the number to 0.1 (0.001 for actual)."""
    if status:
        return status
    prec = 3 if unit == "actual" else 1
    if abs(v) < 0.1 ** prec:
        v = 0.0
    return f"{v:.{prec}f}"


# =========================================================================== permutation test
def _perm_effects(cond: _Condition, Ys: np.ndarray, ceilings: list, levels: Optional[np.ndarray] = None) -> dict:
    """Effect sizes of B permuted outcome vectors at once.

    ``Ys`` is (B, n): permuted outcomes placed on the cases in x-sorted order, or, with
    ``levels``, their codes (positions in the sorted distinct outcome values ``levels``;
    a small integer type moves an eighth of the memory of the values).  The CE-FDH peers
    of every row come from the cumulative maximum of the per-x group maxima; CR-FDH is a
    weighted least-squares line through them.
    """
    starts = cond.starts
    gcode = np.maximum.reduceat(Ys, starts, axis=1)
    gmax = gcode if levels is None else levels[gcode]     # codes ascend with the values: same maxima
    mult = None
    if ("cr_fdh" in ceilings or "c_lp" in ceilings) and len(cond.xg) != Ys.shape[1]:
        sizes = np.diff(np.r_[starts, Ys.shape[1]])
        eq = Ys == np.repeat(gcode, sizes, axis=1)
        mult = np.add.reduceat(eq, starts, axis=1, dtype=np.int64)
    return _group_effects(cond, gmax, mult, ceilings)


def _group_effects(cond: _Condition, gmax: np.ndarray, mult: Optional[np.ndarray], ceilings: list) -> dict:
    """Effect sizes from the outcome's maximum in every x group of B data sets, (B, k), and
    (for CR-FDH and C-LP) how many cases of the group reach it (``None``: one case a group)."""
    x0, x1, y0, y1 = cond.scope_xy
    scope = cond.scope
    xg = cond.xg
    cm = np.maximum.accumulate(gmax, axis=1)
    out = {}
    if "ce_fdh" in ceilings:
        out["ce_fdh"] = (cond.extra + np.diff(cm, axis=1) @ (xg[1:] - cond.emp[0])) / scope
    if "cr_fdh" in ceilings or "c_lp" in ceilings:
        rec = np.empty(gmax.shape, dtype=bool)
        rec[:, 0] = True
        np.greater(gmax[:, 1:], cm[:, :-1], out=rec[:, 1:])
        w = rec.astype(float) if mult is None else rec * mult.astype(float)
    if "c_lp" in ceilings:
        out["c_lp"] = _perm_c_lp(cond, rec, w, gmax)
    if "cr_fdh" in ceilings:
        W = w.sum(axis=1)
        xbar = (w @ xg) / W
        ybar = np.einsum("ij,ij->i", w, gmax) / W
        dx = xg[None, :] - xbar[:, None]
        wdx = w * dx
        sxx = np.einsum("ij,ij->i", wdx, dx)
        sxy = np.einsum("ij,ij->i", wdx, gmax - ybar[:, None])
        single = rec.sum(axis=1) <= 1
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = sxy / sxx
            icpt = ybar - slope * xbar
            d = _line_zone(slope, icpt, x0, x1, y0, y1) / scope
        out["cr_fdh"] = np.where(single, 0.0, d)
    return out


def _group_draws(sizes: np.ndarray, counts: np.ndarray, B: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """The outcome's maximum (as a level code) in every x group, and how many cases reach it,
    for B uniformly random permutations of the outcome, without permuting n cases.

    A random permutation of the outcome fills the x groups (sizes ``sizes``, in x order) with a
    sequence of multivariate hypergeometric draws from the multiset of outcome levels
    (``counts[l]`` cases at level l): every group takes its share of what the earlier ones left,
    level by level from the top (a hypergeometric draw of the group's remaining places among the
    remaining cases at that level and below).  The CE-FDH, CR-FDH and C-LP effect sizes depend on
    the permutation only through these group compositions, so their permutation distribution is
    exactly that of the case shuffle, at the cost of k x L draws per permutation instead of n.
    """
    k, L = len(sizes), len(counts)
    R = np.tile(np.asarray(counts, np.int64), (B, 1))            # cases left at every level
    left_total = np.full(B, int(np.sum(counts)), np.int64)
    top = np.zeros((B, k), np.intp)
    mult = np.zeros((B, k), np.int64)
    for j, size in enumerate(sizes):
        left = np.full(B, int(size), np.int64)                   # places still open in group j
        below = left_total.copy()                                 # cases left at levels <= l
        found = np.zeros(B, bool)
        for lev in range(L - 1, -1, -1):
            if not left.any():
                break
            below -= R[:, lev]
            x = rng.hypergeometric(R[:, lev], below, left)
            R[:, lev] -= x
            left -= x
            new = ~found & (x > 0)
            top[new, j] = lev
            mult[new, j] = x[new]
            found |= new
        left_total -= int(size)
    return top, mult


def _perm_c_lp(cond: _Condition, rec: np.ndarray, w: np.ndarray, gmax: np.ndarray) -> np.ndarray:
    """C-LP effect sizes of many permuted data sets at once: each row's peers are packed into a
    (B, R) array (R = the most peers of any row) and :func:`_c_lp_lines` finds every line at once."""
    nrec = rec.sum(axis=1)
    R = int(nrec.max())
    step = max(1, 1_000_000 // (R * R))     # keep the (rows, R, R) pair arrays near 8 MB each
    if rec.shape[0] > step:
        return np.concatenate([_perm_c_lp(cond, rec[i:i + step], w[i:i + step], gmax[i:i + step])
                               for i in range(0, rec.shape[0], step)])
    x0, x1, y0, y1 = cond.scope_xy
    B = rec.shape[0]
    pos = np.cumsum(rec, axis=1) - 1
    rows = np.broadcast_to(np.arange(B)[:, None], rec.shape)[rec]
    cols = pos[rec]
    X = np.full((B, R), np.nan)
    Y = np.full((B, R), np.nan)
    Wt = np.zeros((B, R))
    X[rows, cols] = np.broadcast_to(cond.xg, rec.shape)[rec]
    Y[rows, cols] = gmax[rec]
    Wt[rows, cols] = w[rec]
    slope, icpt = _c_lp_lines(X, Y, Wt)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = _line_zone(slope, icpt, x0, x1, y0, y1) / cond.scope
    return np.where(nrec <= 1, 0.0, d)


def _permutation_test(conds: list, y_in: np.ndarray, ceilings: list, reps: int, rng, observed: dict,
                      tie_tolerance: float, max_elements: int = 4_000_000) -> dict:
    """p-values for every condition x ceiling; conditions with the same complete cases share permutations."""
    tested = [c for c in ceilings if c in ("ce_fdh", "cr_fdh", "c_lp")]
    draws = {(c.name, ce): [] for c in conds for ce in tested}
    groups: dict = {}
    for c in conds:
        groups.setdefault(c.rows.tobytes(), []).append(c)
    for members in groups.values():
        n = members[0].n
        ybase = members[0].y
        # The outcome's codes are shuffled instead of the case positions: Generator.permuted
        # draws the same swaps whatever the item size, so row b is ybase[perm_b] in codes
        # (a uint8 array moves an eighth of the memory of the float outcomes and needs no gather).
        levels, codes, counts = np.unique(ybase, return_inverse=True, return_counts=True)
        values = levels                    # the distinct outcomes (levels is None beyond 65,536 of them)
        # With few distinct x and y values (scale scores of many cases) the group compositions
        # are drawn directly (_group_draws: k x L hypergeometric draws per permutation, about
        # 120 ns each, instead of shuffling n codes, about 25 ns a case); the same distribution.
        by_groups = [c for c in members if c.n > 5 * len(c.xg) * len(levels)]
        shuffled = [c for c in members if c not in by_groups]
        if len(levels) <= 256:
            codes = codes.astype(np.uint8)
        elif len(levels) <= 65536:
            codes = codes.astype(np.uint16)
        else:
            levels, codes = None, ybase
        batch = max(1, min(reps, max_elements // max(n, 1)))
        base = np.broadcast_to(codes, (batch, n))
        done = 0
        while shuffled and done < reps:
            b = min(batch, reps - done)
            Yp = rng.permuted(base[:b], axis=1)
            for c in shuffled:
                eff = _perm_effects(c, Yp[:, c.order], tested, levels)
                for ce, d in eff.items():
                    draws[(c.name, ce)].append(d)
            done += b
        for c in by_groups:                # the members share their cases: ybase's values and counts
            sizes = np.diff(np.r_[c.starts, c.n])
            multi = len(c.xg) != c.n
            gbatch = max(1, min(reps, max_elements // max(len(values) + len(sizes), 1)))
            done = 0
            while done < reps:
                b = min(gbatch, reps - done)
                top, mult = _group_draws(sizes, counts, b, rng)
                eff = _group_effects(c, values[top], mult if multi else None, tested)
                for ce, d in eff.items():
                    draws[(c.name, ce)].append(d)
                done += b
    out = {}
    for (name, ce), parts in draws.items():
        d = np.concatenate(parts)
        d = d[np.isfinite(d)]
        obs = observed[(name, ce)]
        r = len(d)
        if r == 0 or not np.isfinite(obs):
            out[(name, ce)] = {"p_value": np.nan, "p_value_mc_se": np.nan, "p_accuracy": np.nan,
                               "d_threshold": np.nan, "permutations": r, "draws": d}
            continue
        k = int(np.sum(d >= obs - tie_tolerance))
        p = max((k + 1) / (r + 1), 1 / reps)
        se = math.sqrt(p * (1 - p) / reps)
        out[(name, ce)] = {"p_value": p, "p_value_mc_se": se, "p_accuracy": 1.959963984540054 * se,
                           "d_threshold": float(np.quantile(d, 0.95)), "permutations": r, "draws": d}
    return out


# =========================================================================== result
class NCAResult:
    """The result of :func:`nca`.

    Attributes
    ----------
    x : list of str
        The conditions.
    y : str
        The outcome.
    ceilings : list of str
    options : dict
        ``permutations, seed, bottleneck_x, bottleneck_y, steps, tie_tolerance``.
    effects : DataFrame
        One row per condition and ceiling: ``condition, outcome, ceiling, n, x_min, x_max, y_min, y_max,
        scope, ceiling_zone, effect_size, effect_class, slope, intercept, n_above, accuracy, fit,
        p_value, p_value_mc_se, p_accuracy, d_threshold, permutations``.
    bottleneck : DataFrame
        Long form: ``ceiling, level, outcome_value, condition, value, status`` (``status`` 'NN' with
        value 0, 'NA' with value NaN).
    peers : DataFrame
        CE-FDH peers: ``condition, x, y, count``.
    lines : DataFrame
        ``condition, ceiling, intercept, slope`` of every straight line.
    warnings : list of str
    """

    def __init__(self, conds, x, y, ceilings, options, perm, bottleneck_rows, warnings_):
        self._conds = {c.name: c for c in conds}
        self.x = list(x)
        self.y = y
        self.ceilings = list(ceilings)
        self.options = dict(options)
        self._perm = perm
        self._bn_rows = bottleneck_rows
        self.warnings = list(warnings_)

    # ------------------------------------------------------------------ tables
    @cached_property
    def effects(self) -> pd.DataFrame:
        rows = []
        for name in self.x:
            c = self._conds[name]
            for ce in self.ceilings:
                r = c.results[ce]
                t = self._perm.get((name, ce), {})
                rows.append({"condition": name, "outcome": self.y, "ceiling": ce, "n": c.n,
                             "x_min": c.scope_xy[0], "x_max": c.scope_xy[1], "y_min": c.scope_xy[2],
                             "y_max": c.scope_xy[3], "scope": c.scope, "ceiling_zone": r["ceiling_zone"],
                             "effect_size": r["effect_size"], "effect_class": effect_size_class(r["effect_size"]),
                             "slope": r["slope"], "intercept": r["intercept"], "n_above": r["n_above"],
                             "accuracy": r["accuracy"], "fit": r["fit"],
                             "p_value": t.get("p_value", np.nan), "p_value_mc_se": t.get("p_value_mc_se", np.nan),
                             "p_accuracy": t.get("p_accuracy", np.nan), "d_threshold": t.get("d_threshold", np.nan),
                             "permutations": t.get("permutations", 0)})
        df = pd.DataFrame(rows)
        df.attrs["title"] = "Necessary Condition Analysis"
        return df

    @cached_property
    def bottleneck(self) -> pd.DataFrame:
        return pd.DataFrame(self._bn_rows, columns=["ceiling", "level", "outcome_value", "condition", "value",
                                                    "status"])

    @cached_property
    def peers(self) -> pd.DataFrame:
        return pd.concat([self._conds[n].peers.assign(condition=n)[["condition", "x", "y", "count"]]
                          for n in self.x], ignore_index=True)

    @cached_property
    def lines(self) -> pd.DataFrame:
        e = self.effects
        e = e[e["ceiling"] != "ce_fdh"]
        return e[["condition", "ceiling", "intercept", "slope"]].reset_index(drop=True)

    def bottleneck_table(self, ceiling: Optional[str] = None, *, nca_strings: bool = False) -> pd.DataFrame:
        """NCA's bottleneck table for one ceiling: one row per outcome level, one column per condition.

        ``nca_strings=True`` gives NCA's printed strings ('NN', 'NA', values to 0.1);
        otherwise numbers (NN = 0, NA = NaN).
        """
        ceiling = ceiling or next((c for c in self.ceilings if c != "ols"), None)
        if ceiling not in self.ceilings or ceiling == "ols":
            raise ModelSpecificationError(f"ceiling={ceiling!r} has no bottleneck table here; use one of "
                                          f"{', '.join(c for c in self.ceilings if c != 'ols')}")
        b = self.bottleneck[self.bottleneck["ceiling"] == ceiling]
        unit = self.options["bottleneck_x"]
        if nca_strings:
            b = b.assign(value=[_nca_string(v, s, unit) for v, s in zip(b["value"], b["status"])])
        t = b.pivot(index="level", columns="condition", values="value")[self.x]
        t.columns.name = None
        t.index.name = self.y
        return t

    def p_values(self) -> pd.DataFrame:
        """Condition x ceiling table of permutation p-values."""
        return self.effects.pivot(index="condition", columns="ceiling", values="p_value").loc[self.x]

    def permutation_draws(self, condition: str, ceiling: str = "ce_fdh") -> np.ndarray:
        """The permuted effect sizes behind a p-value (NCA's ``test`` data)."""
        try:
            return self._perm[(condition, ceiling)]["draws"]
        except KeyError:
            raise ModelSpecificationError(f"no permutation test for {condition!r} with {ceiling!r}; run with "
                                          "permutations > 0 and a ce_fdh or cr_fdh ceiling") from None

    def to_frame(self) -> pd.DataFrame:
        return self.effects

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        """JSON-ready dict in the layout of the ``icaf-sem nca`` contract (NaN -> None, NN -> 0, NA -> None)."""
        def num(v):
            if v is None:
                return None
            v = float(v)
            return v if math.isfinite(v) else None

        conds = {}
        for _, r in self.effects.iterrows():
            d = conds.setdefault(r["condition"], {})
            d[r["ceiling"]] = {k: (r[k] if k == "effect_class" else num(r[k])) for k in (
                "effect_size", "effect_class", "ceiling_zone", "scope", "accuracy", "slope", "intercept", "fit",
                "n_above", "p_value", "p_value_mc_se", "p_accuracy", "d_threshold")}
            d[r["ceiling"]]["n"] = int(r["n"])
            d[r["ceiling"]]["permutations"] = int(r["permutations"])
        scope = {n: {"n": self._conds[n].n, "x_min": self._conds[n].scope_xy[0], "x_max": self._conds[n].scope_xy[1],
                     "y_min": self._conds[n].scope_xy[2], "y_max": self._conds[n].scope_xy[3]} for n in self.x}
        bn, bn_str = {}, {}
        unit = self.options["bottleneck_x"]
        for ce in self.ceilings:
            if ce == "ols":
                continue
            b = self.bottleneck[self.bottleneck["ceiling"] == ce]
            rows, srows = [], []
            for lev, g in b.groupby("level", sort=True):
                row = {"y": round(float(lev), 10)}
                srow = {"y": f"{lev:g}"}
                for _, r in g.iterrows():
                    row[r["condition"]] = None if r["status"] == "NA" else (0.0 if r["status"] == "NN"
                                                                             else float(r["value"]))
                    srow[r["condition"]] = _nca_string(r["value"], r["status"], unit)
                rows.append(row)
                srows.append(srow)
            bn[ce], bn_str[ce] = rows, srows
        return {"x": self.x, "y": self.y, "ceilings": self.ceilings, "options": self.options, "scope": scope,
                "conditions": conds, "bottleneck": bn, "bottleneck_nca": bn_str,
                "peers": {n: self._conds[n].peers.to_dict(orient="list") for n in self.x},
                "warnings": list(self.warnings)}

    # ------------------------------------------------------------------ display
    def summary(self) -> str:
        e = self.effects
        reps = self.options["permutations"]
        lines = [f"Necessary Condition Analysis: {len(self.x)} condition(s) for {self.y}"
                 + (f", {reps} permutations (seed {self.options['seed']})" if reps else ", no permutation test")]
        head = (f"  {'condition':<12}{'ceiling':<8}{'N':>5}{'d':>8}  {'size':<11}{'zone':>9}{'accuracy':>10}"
                f"{'fit':>8}{'p':>9}")
        lines.append(head)
        for _, r in e.iterrows():
            p = "" if not np.isfinite(r["p_value"]) else f"{r['p_value']:.4f}"
            fit = "" if not np.isfinite(r["fit"]) else f"{r['fit']:.1f}"
            acc = "" if not np.isfinite(r["accuracy"]) else f"{r['accuracy']:.1f}"
            lines.append(f"  {r['condition']:<12}{_PRETTY[r['ceiling']]:<8}{int(r['n']):>5}{r['effect_size']:>8.3f}  "
                         f"{r['effect_class']:<11}{r['ceiling_zone']:>9.3f}{acc:>10}{fit:>8}{p:>9}")
        for ce in self.ceilings:
            if ce == "ols":
                continue
            lines.append(f"Bottleneck table {_PRETTY[ce]} ({self.y}: {self.options['bottleneck_y']}, "
                         f"conditions: {self.options['bottleneck_x']}; NN = not necessary, NA = not reached)")
            lines.append(self.bottleneck_table(ce, nca_strings=True).to_string())
        if self.warnings:
            lines.append("Warnings:")
            lines += [f"  ! {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"NCAResult({len(self.x)} conditions for {self.y}, ceilings {', '.join(self.ceilings)})"

    def _repr_html_(self) -> str:
        import html as _html
        e = self.effects.copy()
        cols = ["condition", "ceiling", "n", "effect_size", "effect_class", "ceiling_zone", "scope", "accuracy",
                "fit", "slope", "intercept", "p_value", "p_value_mc_se"]
        parts = [f"<h4>Necessary Condition Analysis: conditions for {_html.escape(self.y)}</h4>",
                 e[cols].to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="")]
        for ce in self.ceilings:
            if ce != "ols":
                parts.append(f"<h5>Bottleneck table {_PRETTY[ce]}</h5>")
                parts.append(self.bottleneck_table(ce, nca_strings=True).to_html())
        if self.warnings:
            parts.append("<ul>" + "".join(f"<li>{_html.escape(w)}</li>" for w in self.warnings) + "</ul>")
        return "\n".join(parts)

    def plot(self, condition: Optional[str] = None, ax=None, **kwargs):
        """Scatter plot of one condition against the outcome with the ceiling lines (a matplotlib Figure)."""
        return nca_plot(self, condition, ax=ax, **kwargs)


# =========================================================================== the entry point
def nca(data, x, y, *, ceilings=("ce_fdh", "cr_fdh"), permutations: int = 10000, seed: Optional[int] = None,
        bottleneck_x: str = "percentage.range", bottleneck_y: str = "percentage.range",
        steps: Union[int, Sequence[float]] = 10, scope: Optional[Sequence[float]] = None,
        tie_tolerance: float = 1e-9, min_n: int = 10) -> NCAResult:
    """Necessary Condition Analysis of conditions ``x`` for the outcome ``y``.

    Parameters
    ----------
    data : DataFrame
        Numeric scores, one column per condition and one for the outcome: construct mean
        scores (:func:`construct_scores`), CB-SEM factor scores (``SEMResult.predict()``),
        PLS construct scores, IPMA-rescaled scores (:func:`rescale_scores`) or any numeric
        columns.  It is not modified.
    x : str or list of str
        The conditions.
    y : str
        The outcome.
    ceilings : sequence of str, default ("ce_fdh", "cr_fdh")
        Any of ``"ce_fdh", "cr_fdh", "c_lp", "ols"`` (NCA's names).
    permutations : int, default 10000
        Permutations of the test of Dul, van der Laan & Kuik (2020) (NCA's ``test.rep``);
        0 skips the test.  CE-FDH, CR-FDH and C-LP are tested; OLS is not (as in NCA).
    seed : int, optional
        Seed of the permutations; the same seed gives the same p-values.
    bottleneck_x, bottleneck_y : {"percentage.range", "percentage.max", "actual", "percentile"}
        Units of the bottleneck table (NCA's ``bottleneck.x`` / ``bottleneck.y``).
    steps : int or sequence of float, default 10
        Number of equal outcome steps, or the outcome levels themselves (percent for the
        percentage and percentile units, values for ``"actual"``).
    scope : (x_min, x_max, y_min, y_max), optional
        A theoretical scope for every condition, e.g. ``(1, 7, 1, 7)`` for seven-point scale
        means (NCA's ``scope``); default: the observed scope.  It is widened (with a
        warning) where observations fall outside it, as NCA does.
    tie_tolerance : float, default 1e-9
        A permuted d within this distance of the observed d counts as at least as large.
    min_n : int, default 10
        Fewest complete cases accepted per condition.

    Returns
    -------
    NCAResult

    Raises
    ------
    DataError
        A column is missing or not numeric, a condition or the outcome is constant, or fewer
        than ``min_n`` complete cases remain.
    ModelSpecificationError
        An unknown ceiling or option.

    Warns
    -----
    DataWarning
        Cases with a missing condition or outcome are left out of that condition's
        analysis (NCA deletes incomplete cases per condition); the warning names the
        column and the count.

    Notes
    -----
    The permutation p-value is ``(#{d_perm >= d - tie_tolerance} + 1) / (R + 1)``, at least
    ``1/R``, with Monte Carlo standard error ``sqrt(p (1 - p) / R)``; ``p_accuracy`` is NCA's
    95 % margin (1.96 SE) and ``d_threshold`` the 95th percentile of the permuted d's.  All
    permutations are one array computation: the CE-FDH ceiling of many permuted outcome
    vectors comes from a cumulative maximum over the cases sorted by x.  When there are more
    than 5 k L cases (k distinct x values, L distinct outcome values: scale scores of a large
    survey) the permutations are drawn as the outcome's composition of every x group
    (hypergeometric draws, k L a permutation instead of n), which has exactly the distribution
    of the case shuffle; the p-values then differ from the shuffle's only by Monte Carlo error.

    Examples
    --------
    >>> res = nca(scores, x=["BC", "DQ"], y="PW", permutations=10000, seed=1)   # doctest: +SKIP

    In R: ``NCA::nca_analysis(scores, c("BC", "DQ"), "PW", ceilings = c("ce_fdh", "cr_fdh"),
    test.rep = 10000)``.
    """
    df = _as_frame(data)
    x, y = _validate_names(df, x, y)
    ceilings = _validate_ceilings(ceilings)
    for name, val in (("bottleneck_x", bottleneck_x), ("bottleneck_y", bottleneck_y)):
        if val not in BOTTLENECK_UNITS:
            raise ModelSpecificationError(f"{name}={val!r} is not an NCA bottleneck option; use one of "
                                          f"{', '.join(BOTTLENECK_UNITS)}")
    if isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)) or permutations < 0:
        raise ModelSpecificationError(f"permutations={permutations!r} must be a whole number >= 0 (e.g. 10000; "
                                      "0 skips the test)")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ModelSpecificationError(f"seed={seed!r} must be a whole number (or None)")
    if np.ndim(steps) == 0:
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ModelSpecificationError(f"steps={steps!r} must be a whole number >= 1 or a list of levels")
    elif len(steps) == 0:
        raise ModelSpecificationError("steps is an empty list; fix: give outcome levels, e.g. [50, 80, 100]")
    if not isinstance(min_n, (int, np.integer)) or min_n < 2:
        raise ModelSpecificationError(f"min_n={min_n!r} must be a whole number >= 2")
    if scope is not None:
        try:
            scope = tuple(float(v) for v in scope)
        except (TypeError, ValueError):
            scope = ()
        if len(scope) != 4 or not all(np.isfinite(scope)) or scope[0] >= scope[1] or scope[2] >= scope[3]:
            raise ModelSpecificationError("scope must be four numbers (x_min, x_max, y_min, y_max) with min < max, "
                                          "e.g. scope=(1, 7, 1, 7) for seven-point scale means")
    if not (isinstance(tie_tolerance, (int, float)) and 0 <= tie_tolerance < 1e-3):
        raise ModelSpecificationError(f"tie_tolerance={tie_tolerance!r} must be a small number >= 0 (default 1e-9)")

    yv = _numeric_column(df, y, "outcome")
    notes = []

    def warn(msg):
        notes.append(msg)
        warnings.warn(msg, DataWarning, stacklevel=3)

    n_total = len(df)
    y_ok = ~np.isnan(yv)
    if (~y_ok).any():
        warn(f"outcome {y!r} is missing for {int((~y_ok).sum())} of {n_total} cases; they are left out")
    if y_ok.sum() and np.nanmax(yv) == np.nanmin(yv):
        raise DataError(f"outcome {y!r} has the same value ({np.nanmax(yv):g}) for every case; NCA needs variation "
                        "in the outcome; fix: choose another outcome")
    conds = []
    for name in x:
        xv = _numeric_column(df, name, "condition")
        ok = y_ok & ~np.isnan(xv)
        miss = int((y_ok & np.isnan(xv)).sum())
        if miss:
            warn(f"condition {name!r} is missing for {miss} case(s) with an outcome; they are left out of {name}'s "
                 f"analysis ({int(ok.sum())} complete cases remain; NCA deletes incomplete cases per condition)")
        n = int(ok.sum())
        if n < min_n:
            raise DataError(f"condition {name!r} has only {n} complete case(s) with {y!r}; NCA needs at least "
                            f"{min_n} (min_n) for a ceiling and a permutation test; fix: collect more cases or "
                            "drop the condition")
        xs, ys = xv[ok], yv[ok]
        if xs.max() == xs.min():
            raise DataError(f"condition {name!r} is constant ({xs[0]:g} for all {n} cases); a constant cannot be "
                            "a necessary condition and its effect size is undefined; fix: drop it from x")
        if ys.max() == ys.min():
            raise DataError(f"outcome {y!r} is constant ({ys[0]:g}) on the {n} complete cases of {name!r}; "
                            "fix: drop the condition or choose another outcome")
        if scope is not None and (xs.min() < scope[0] or xs.max() > scope[1] or ys.min() < scope[2]
                                  or ys.max() > scope[3]):
            warn(f"scope {tuple(scope)} does not hold every observation of {name!r} and {y!r}; it is widened to "
                 "include them (as NCA does)")
        conds.append(_prepare(name, np.flatnonzero(ok), xs, ys, scope))

    observed = {}
    for c in conds:
        ce = _ce_fdh(c)
        c.results["ce_fdh"] = ce
        for name in ceilings:
            if name != "ce_fdh":
                c.results[name] = _CEILING_FUNCS[name](c, ce["ceiling_zone"])
            observed[(c.name, name)] = c.results[name]["effect_size"]
        c.results = {k: c.results[k] for k in ceilings}

    # bottleneck table: outcome levels from every observed outcome value (as NCA)
    labels, mpy = _outcome_levels(yv[y_ok], bottleneck_y, steps, scope)
    bn_rows = []
    for ce in ceilings:
        if ce == "ols":
            continue
        for c in conds:
            val, status = _bottleneck_x(c, ce, c.results[ce], mpy, bottleneck_x)
            for lab, m, v, s in zip(labels, mpy, val, status):
                bn_rows.append((ce, float(lab), float(m), c.name, float(v), str(s)))

    perm = {}
    if permutations > 0:
        rng = np.random.default_rng(seed)
        perm = _permutation_test(conds, yv, ceilings, int(permutations), rng, observed, float(tie_tolerance))
    options = {"permutations": int(permutations), "seed": None if seed is None else int(seed),
               "bottleneck_x": bottleneck_x,
               "bottleneck_y": bottleneck_y, "steps": steps if np.ndim(steps) == 0 else [float(s) for s in steps],
               "tie_tolerance": tie_tolerance, "scope": "observed" if scope is None else list(scope),
               "corner": "upper-left"}
    return NCAResult(conds, x, y, ceilings, options, perm, bn_rows, notes)


# =========================================================================== inputs
def construct_scores(data: pd.DataFrame, questionnaire, *, missing: str = "complete",
                     higher_order: bool = True) -> pd.DataFrame:
    """Construct mean scores from item data (cleaned, reverse-keyed items already scored).

    Parameters
    ----------
    data : DataFrame
        Clean item data (``icaf_sem.clean(...).data``).
    questionnaire : Questionnaire or path
    missing : {"complete", "available"}, default "complete"
        ``"complete"``: respondents who skipped any item of the questionnaire's constructs
        are left out (the reference scores of the NCA cases were made this way);
        ``"available"``: the mean of the answered items of each construct.
    higher_order : bool, default True
        Add higher-order constructs as the mean of their components' scores.

    Returns
    -------
    DataFrame
        The id column (when the questionnaire has one) and one column per construct.
        In R: ``rowMeans(clean[items])`` per construct on ``clean[complete.cases(clean[all_items]), ]``.
    """
    from .questionnaire import load_questionnaire
    q = load_questionnaire(questionnaire)
    if missing not in ("complete", "available"):
        raise ModelSpecificationError(f"missing={missing!r} is not supported; use 'complete' or 'available'")
    absent = [i for i in q.items if i not in data.columns]
    if absent:
        raise DataError(f"item {absent[0]!r} of the questionnaire is not in the data ({len(absent)} missing); "
                        "fix: pass the cleaned wave (icaf_sem.clean(raw, q).data)")
    items = data[q.items].apply(pd.to_numeric, errors="coerce")
    bad = data[q.items].notna() & items.isna()
    if bad.any().any():
        col = bad.any().idxmax()
        raise DataError(f"item {col!r} holds text ({int(bad[col].sum())} cells); fix: clean the wave first")
    keep = items.notna().all(axis=1) if missing == "complete" else pd.Series(True, index=items.index)
    items = items[keep]
    out = pd.DataFrame(index=items.index)
    if q.id_column and q.id_column in data.columns:
        out[q.id_column] = data.loc[keep, q.id_column]
    for c, its in q.constructs.items():
        out[c] = items[its].sum(axis=1, min_count=1) / items[its].notna().sum(axis=1)
    if higher_order:
        for h, comps in q.higher_order.items():
            out[h] = out[comps].mean(axis=1)
    return out.reset_index(drop=True)


def rescale_scores(scores: pd.DataFrame, scale_min: float, scale_max: float,
                   columns: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """IPMA's 0-100 rescaling, 100 (score - min) / (max - min), for combined IPMA-NCA maps (cIPMA).

    Parameters
    ----------
    scores : DataFrame
    scale_min, scale_max : float
        The answer scale's end points (1 and 7 for a seven-point scale).
    columns : list of str, optional
        Columns to rescale (default: every numeric column).
    """
    if not scale_max > scale_min:
        raise ModelSpecificationError(f"scale_max ({scale_max}) must exceed scale_min ({scale_min})")
    out = scores.copy()
    cols = list(columns) if columns is not None else [c for c in out.columns
                                                      if pd.api.types.is_numeric_dtype(out[c])]
    for c in cols:
        out[c] = 100 * (out[c] - scale_min) / (scale_max - scale_min)
    return out


# =========================================================================== necessity hypotheses
class NecessityResult:
    """Necessity hypotheses of a questionnaire tested with NCA (:func:`test_necessity`).

    Attributes
    ----------
    table : DataFrame
        One row per hypothesis: ``id, condition, outcome, level, ceiling, n, effect_size, effect_class,
        p_value, p_value_mc_se, required, required_status, supported, reason`` (``required``: the
        minimum condition level at the declared outcome level, % of the condition's range;
        ``required_status`` 'NN' (not necessary, required = 0) or 'NA' (not reached, NaN)).
    results : dict of str to NCAResult
        One NCA per outcome (all its conditions at once).
    scores : DataFrame
        The scores analysed.
    options : dict
        ``ceiling, d_min, alpha, permutations, seed, scores`` as used.
    """

    def __init__(self, table, results, scores, options, hypotheses, cipma=None):
        self.table = table
        self.results = results
        self.scores = scores
        self.options = options
        self.hypotheses = hypotheses
        self.cipma = cipma or {}     # outcome -> CIPMAResult (icaf_sem.cipma), filled by run_necessity_stage

    @property
    def warnings(self) -> list:
        return [w for r in self.results.values() for w in r.warnings]

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict:
        from .report.export import _jsonable
        out = {"options": self.options, "hypotheses": self.table.to_dict(orient="records"),
               "analyses": {y: r.to_dict() for y, r in self.results.items()}}
        if self.cipma:
            out["cipma"] = {y: r.to_dict() for y, r in self.cipma.items()}
        return _jsonable(out)

    def summary(self) -> str:
        t = self.table
        lines = [f"Necessity hypotheses (NCA, {self.options['ceiling']}, d >= {self.options['d_min']:g}, "
                 f"p < {self.options['alpha']:g}, {self.options['permutations']} permutations): "
                 f"{int(t['supported'].sum())} of {len(t)} supported"]
        for _, r in t.iterrows():
            req = r["required_status"] or f"{r['required']:.1f}%"
            lines.append(f"  {r['id']:<5} {r['condition']} -> {r['outcome']} at {r['level']:g}%: d = "
                         f"{r['effect_size']:.3f} ({r['effect_class']}), p = {r['p_value']:.4f}, required {req}: "
                         f"{'supported' if r['supported'] else 'not supported'} ({r['reason']})")
        lines.append(f"  scores: {self.options['scores']}")
        lines += [c.summary() for c in self.cipma.values()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"NecessityResult({len(self.table)} hypotheses, {int(self.table['supported'].sum())} supported)"

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="")

    def plot(self, hypothesis: str, ax=None):
        """Scatter plot with ceiling lines for one hypothesis id."""
        row = self.table[self.table["id"] == hypothesis]
        if row.empty:
            raise ModelSpecificationError(f"no necessity hypothesis {hypothesis!r}; ids: {', '.join(self.table['id'])}")
        r = row.iloc[0]
        return nca_plot(self.results[r["outcome"]], r["condition"], ax=ax,
                        title=f"{r['id']}: {r['condition']} \u2192 {r['outcome']}")


def test_necessity(data: pd.DataFrame, questionnaire, *, scores: Optional[pd.DataFrame] = None,
                   alpha: float = 0.05, seed: Optional[int] = None,
                   permutations: Optional[int] = None, source: Optional[str] = None) -> NecessityResult:
    """Test the questionnaire's necessity hypotheses (its ``necessity:`` block) with NCA.

    Parameters
    ----------
    data : DataFrame
        The cleaned wave (items scored); used for construct mean scores when ``scores`` is not given.
    questionnaire : Questionnaire or path
    scores : DataFrame, optional
        Construct scores to use instead of the mean scores: CB-SEM factor scores
        (``SEMResult.predict()``), PLS construct scores, or any DataFrame with one numeric column per
        construct named in the hypotheses.
    alpha : float, default 0.05
        Level of the permutation test, unless the block sets ``alpha``.
    seed, permutations : int, optional
        Override the block's ``seed`` and ``permutations``.
    source : str, optional
        How ``scores`` were made, for the report's note (default "user scores"); see
        :func:`necessity_scores` and :func:`run_necessity_stage`.

    Returns
    -------
    NecessityResult

    Examples
    --------
    >>> nres = test_necessity(clean.data, q, seed=1)     # doctest: +SKIP

    In R, per outcome: ``NCA::nca_analysis(scores, conditions, outcome, ceilings = c("ce_fdh", "cr_fdh"),
    steps = levels, test.rep = 10000)``.
    """
    from .questionnaire import load_questionnaire
    q = load_questionnaire(questionnaire)
    spec = q.necessity
    hyps = list(spec.hypotheses)
    if not hyps:
        raise ModelSpecificationError(f"the questionnaire {q.name!r} declares no necessity hypotheses; fix: add a "
                                      "'necessity:' block with hypotheses (see questionnaires/icaf.yaml)")
    source = source or "user scores"
    if scores is None:
        scores = construct_scores(data, q, missing="complete")
        source = "construct mean scores (complete cases)"
    a = float(spec.alpha if spec.alpha is not None else alpha)
    reps = int(spec.permutations if permutations is None else permutations)
    sd = spec.seed if seed is None else seed
    ceiling = spec.ceiling
    results, rows = {}, []
    outcomes = []
    for h in hyps:
        if h.outcome not in outcomes:
            outcomes.append(h.outcome)
    for y in outcomes:
        hs = [h for h in hyps if h.outcome == y]
        xs = list(dict.fromkeys(h.condition for h in hs))
        levels = sorted({float(h.level) for h in hs})
        res = nca(scores, xs, y, ceilings=("ce_fdh", "cr_fdh"), permutations=reps, seed=sd, steps=levels)
        results[y] = res
        eff = res.effects.set_index(["condition", "ceiling"])
        bn = res.bottleneck.set_index(["ceiling", "level", "condition"])
        for h in hs:
            e = eff.loc[(h.condition, ceiling)]
            b = bn.loc[(ceiling, float(h.level), h.condition)]
            d, p = float(e["effect_size"]), float(e["p_value"])
            why = []
            if not d >= spec.d_min:
                why.append("small")
            if reps and not p < a:
                why.append("p")
            if b["status"] == "NN":
                why.append("nn")
            rows.append({"id": h.id, "condition": h.condition, "outcome": y, "level": float(h.level),
                         "ceiling": ceiling, "n": int(e["n"]), "effect_size": d, "effect_class": e["effect_class"],
                         "p_value": p, "p_value_mc_se": float(e["p_value_mc_se"]),
                         "effect_size_cr_fdh": float(eff.loc[(h.condition, "cr_fdh"), "effect_size"]),
                         "p_value_cr_fdh": float(eff.loc[(h.condition, "cr_fdh"), "p_value"]),
                         "required": float(b["value"]), "required_status": b["status"],
                         "supported": not why and reps > 0,
                         "reason": "; ".join(TEXT["en"]["reasons"][w].format(d_min=spec.d_min, alpha=a)
                                             for w in why) if why else
                         (TEXT["en"]["reasons"]["ok"] if reps else "no permutation test"),
                         "reason_codes": ",".join(why),
                         "description_en": h.description.get("en", ""), "description_zh": h.description.get("zh", "")})
    table = pd.DataFrame(rows)
    options = {"ceiling": ceiling, "d_min": spec.d_min, "alpha": a, "permutations": reps, "seed": sd,
               "scores": source}
    return NecessityResult(table, results, scores, options, hyps)


# =========================================================================== score sources (analyze)
SCORE_SOURCES = ("mean", "factor", "pls")


def necessity_scores(data: pd.DataFrame, questionnaire, source: str = "mean", *, cfa=None, cfa2=None,
                     pls_result=None, missing: str = "ml", estimator: str = "ML") -> pd.DataFrame:
    """The construct scores the necessity hypotheses are tested on.

    Parameters
    ----------
    data : DataFrame
        The cleaned wave (items scored).
    questionnaire : Questionnaire or path
    source : {"mean", "factor", "pls"}
        * ``"mean"``: construct means of the complete cases (:func:`construct_scores`);
        * ``"factor"``: CB-SEM factor scores, lavaan's ``lavPredict(fit)`` (regression method), of the
          first-order CFA (``questionnaire.cfa_syntax()``: every first-order construct, freely
          correlated, so the scores do not rest on the structural hypotheses); a higher-order
          construct named in a hypothesis takes its score from the second-order measurement model
          (``questionnaire.measurement_syntax()``);
        * ``"pls"``: PLS-SEM construct scores (:attr:`PLSResult.scores`) of
          ``questionnaire.pls_syntax()`` (path weighting, two-stage higher-order constructs,
          listwise deletion): the dimensions' scores from stage 1, every other construct's from
          the stage-2 model whose paths are reported (as SmartPLS and the IPMA score them).
    cfa, cfa2 : SEMResult, optional
        Already fitted first- and second-order measurement models (fitted here when needed).
    pls_result : PLSResult, optional
        An already estimated PLS model of ``questionnaire.pls_syntax()``.
    missing, estimator : str
        Used when ``cfa``/``cfa2`` are fitted here (lavaan's ``missing``/``estimator``).

    Returns
    -------
    DataFrame
        One column per construct (``attrs["source"]`` names the source).

    Examples
    --------
    >>> necessity_scores(clean, q, "factor")              # doctest: +SKIP

    lavaan: ``lavPredict(cfa(q_cfa_syntax, data = clean, missing = "ml"))``.
    """
    from .questionnaire import load_questionnaire
    q = load_questionnaire(questionnaire)
    if source not in SCORE_SOURCES:
        raise ModelSpecificationError(f"nca_scores={source!r} is not supported; use 'mean' (construct means), "
                                      "'factor' (CB-SEM factor scores) or 'pls' (PLS-SEM construct scores)")
    if source == "mean":
        out = construct_scores(data, q, missing="complete")
    elif source == "factor":
        from .scores import factor_scores
        from .sem import fit
        needed = {c for h in q.necessity.hypotheses for c in (h.condition, h.outcome)}
        if cfa is None:
            cfa = fit(q.cfa_syntax(), data, missing=missing, estimator=estimator)
        out = factor_scores(cfa)
        higher = [c for c in q.higher_order if c in needed]
        if higher:
            if cfa2 is None:
                cfa2 = fit(q.measurement_syntax(), data, missing=missing, estimator=estimator)
            f2 = factor_scores(cfa2)
            if len(f2) != len(out):
                raise DataError(f"the first-order CFA scores {len(out)} and the second-order model {len(f2)} "
                                "respondents; fix: fit both on the same data with the same missing-data option")
            for c in higher:
                out[c] = f2[c].to_numpy()
    else:
        if pls_result is None:
            from .pls import pls
            pls_result = pls(q.pls_syntax(), data, missing="listwise")
        out = _pls_final_scores(pls_result)
    out.attrs["source"] = source
    return out


def _pls_final_scores(result) -> pd.DataFrame:
    """PLS construct scores of the model whose paths are reported: with two-stage higher-order constructs,
    the dimensions from stage 1 and every construct of the stage-2 model (the HOCs and the other
    constructs) from stage 2, as SmartPLS's stage-2 model and the IPMA (icaf_sem.pls.ipma) score them.
    (``PLSResult.scores`` keeps the stage-1 scores of the constructs that are not HOCs.)"""
    out = result.scores.copy()
    est = result._est
    if len(est.stages) == 2:
        X = result._data
        Z = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
        st2 = est.stages[1]
        Z2 = np.concatenate([Z, out[st2.layout.columns[Z.shape[1]:]].to_numpy()], axis=1)
        s2 = Z2 @ st2.W[0]
        for k, c in enumerate(st2.layout.constructs):
            out[c] = s2[:, k]
    return out


def run_necessity_stage(data: pd.DataFrame, questionnaire, *, scores: str = "mean", cfa=None, cfa2=None,
                        alpha: float = 0.05, missing: str = "ml", estimator: str = "ML",
                        cipma: bool = True) -> NecessityResult:
    """``analyze``'s NCA stage: the necessity hypotheses on the chosen scores, and the cIPMA.

    Parameters
    ----------
    data : DataFrame
        The cleaned wave.
    questionnaire : Questionnaire or path
    scores : {"mean", "factor", "pls"}
        The score source (:func:`necessity_scores`); the report's note names it.
    cfa, cfa2 : SEMResult, optional
        ``analyze``'s first- and second-order measurement models (reused for ``"factor"``).
    alpha : float
    missing, estimator : str
        For measurement models fitted here.
    cipma : bool, default True
        Also run the combined importance-performance map analysis (:mod:`icaf_sem.cipma`) for each
        outcome of the hypotheses that is endogenous in the PLS model, at the block's
        ``cipma_level`` (0-100; none when the block sets it to null).  A cIPMA that cannot be
        computed becomes a :class:`~icaf_sem.errors.DataWarning`, not an error.

    Returns
    -------
    NecessityResult
        With ``options["scores_source"]`` and ``cipma`` (outcome -> CIPMAResult).
    """
    from .questionnaire import load_questionnaire
    q = load_questionnaire(questionnaire)
    pls_result = None
    want_cipma = cipma and q.necessity.cipma_level is not None
    if want_cipma and q.necessity.permutations < 1:
        warnings.warn("cIPMA not computed: it judges necessity by the permutation test's p, and the necessity "
                      "block sets permutations: 0 (fix: permutations: 10000, or cipma_level: null)", DataWarning,
                      stacklevel=2)
        want_cipma = False
    need_pls = scores == "pls" or want_cipma
    if need_pls:
        from .pls import pls
        what = "the PLS scores" if scores == "pls" else "the cIPMA"
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                pls_result = pls(q.pls_syntax(), data, missing="listwise")
            for w in caught:      # said again with the reason the PLS model was estimated
                warnings.warn(f"PLS-SEM for {what}: {w.message}", w.category, stacklevel=2)
        except IcafError as exc:
            if scores == "pls":
                raise
            warnings.warn(f"cIPMA not computed: the PLS-SEM model could not be estimated ({exc})", DataWarning,
                          stacklevel=2)
    sc = necessity_scores(data, q, scores, cfa=cfa, cfa2=cfa2, pls_result=pls_result, missing=missing,
                          estimator=estimator)
    nres = test_necessity(data, q, scores=sc, alpha=alpha, source=TEXT["en"]["sources"][scores])
    nres.options["scores_source"] = scores
    if want_cipma and pls_result is not None:
        from .cipma import cipma as run_cipma
        spec = q.necessity
        a = float(spec.alpha if spec.alpha is not None else alpha)
        for y in dict.fromkeys(h.outcome for h in q.necessity.hypotheses):
            try:
                nres.cipma[y] = run_cipma(pls_result, y, target_level=spec.cipma_level, scale_min=q.spec.scale.min,
                                          scale_max=q.spec.scale.max, ceiling=spec.ceiling,
                                          permutations=int(spec.permutations), seed=spec.seed,
                                          d_min=spec.d_min, alpha=a)
            except IcafError as exc:
                warnings.warn(f"cIPMA for {y!r} not computed: {' '.join(str(exc).split())}", DataWarning,
                              stacklevel=2)
    return nres


def necessity_report_tables(necessity: NecessityResult, language: str = "en") -> dict:
    """The report's NCA tables in ``language``: ``necessity_tests``, ``necessity_bottlenecks`` and, when a
    cIPMA was run, ``cipma`` (:func:`icaf_sem.cipma.cipma_table`)."""
    from .report import tables as T
    out = {"necessity_tests": T.necessity_tests(necessity, language=language),
           "necessity_bottlenecks": T.necessity_bottlenecks(necessity, language=language)}
    if necessity.cipma:
        from .cipma import cipma_table
        out["cipma"] = cipma_table(necessity.cipma, language=language)
    return out


# =========================================================================== figure
def nca_plot(result: NCAResult, condition: Optional[str] = None, ax=None, *, title: Optional[str] = None,
             point_color: str = "#1f4e9a"):
    """Scatter plot of a condition against the outcome with the ceiling lines and the scope.

    Returns the :class:`matplotlib.figure.Figure` (NCA's ``nca_output(model, plots = TRUE)``).
    """
    from .report.figures import _plt
    plt = _plt()
    condition = condition or result.x[0]
    if condition not in result._conds:
        raise ModelSpecificationError(f"condition {condition!r} is not in this analysis ({', '.join(result.x)})")
    c = result._conds[condition]
    x0, x1, y0, y1 = c.scope_xy
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 4.6))
    else:
        fig = ax.figure
    ax.scatter(c.x, c.y, s=16, facecolors="none", edgecolors=point_color, linewidths=0.8, alpha=0.7, zorder=3)
    ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ls=":", lw=0.8, ec="grey"))
    for ce in result.ceilings:
        r = c.results[ce]
        lab = f"{_PRETTY[ce]} (d = {r['effect_size']:.2f})"
        if ce == "ce_fdh":
            px, py = c.peers["x"].to_numpy(), c.peers["y"].to_numpy()
            xs, ys = [], []
            yold = y0
            for a, b in zip(px, py):
                xs += [a, a]
                ys += [yold, b]
                yold = b
            xs.append(x1)
            ys.append(yold)
            ax.plot(xs, ys, color=_COLORS[ce], ls=_STYLES[ce], lw=1.3, label=lab, zorder=4)
        elif np.isfinite(r["slope"]):
            s, b = r["slope"], r["intercept"]
            xx = np.array([x0, x1])
            yy = s * xx + b
            if s > 0:       # clip to the scope
                xx = np.clip((np.clip(yy, y0, y1) - b) / s, x0, x1)
                yy = s * xx + b
            ax.plot(xx, yy, color=_COLORS[ce], ls=_STYLES[ce], lw=1.3, label=lab, zorder=4)
    ax.set_xlabel(condition)
    ax.set_ylabel(result.y)
    ax.set_title(title or f"{condition} \u2192 {result.y}", fontsize=10)
    ax.legend(fontsize=7.5, loc="lower right", frameon=False)
    pad_x, pad_y = 0.03 * (x1 - x0), 0.03 * (y1 - y0)
    ax.set_xlim(x0 - pad_x, x1 + pad_x)
    ax.set_ylim(y0 - pad_y, y1 + pad_y)
    return fig


class _CallableModule(__import__("types").ModuleType):
    """``icaf_sem.nca(...)`` works even after ``import icaf_sem.nca`` made the name the module."""

    def __call__(self, *args, **kwargs):
        return nca(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule
