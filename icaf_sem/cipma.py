"""Combined importance-performance map analysis (cIPMA; Hauff, Richter, Sarstedt & Ringle 2024).

The cIPMA puts three numbers side by side for every predecessor of a target construct in a
PLS-SEM model (Hauff et al. 2024; SmartPLS 4 tutorial: Sarstedt, Richter, Hauff & Ringle 2024):

* **importance**: the unstandardized total effect on the target, from the IPMA
  (:func:`icaf_sem.pls.ipma.ipma`: paths rescaled to the 0-100 construct scores);
* **performance**: the mean of the construct's 0-100 rescaled scores (IPMA);
* **necessity**: NCA (:func:`icaf_sem.nca.nca`) of each predecessor for the target on the same
  0-100 rescaled scores.  A predecessor is a *necessary condition* when its effect size
  d >= ``d_min`` (.1) and its permutation p < ``alpha`` (.05).  The bottleneck at the desired
  target level (an actual value on the 0-100 scale, e.g. 85) gives the *required level* of the
  predecessor (0-100) and the **share of cases that do not reach it** (NCA's bottleneck in
  percentiles: cases below the required level / all cases).  On the cIPMA map (importance on x,
  performance on y) a necessary condition is a coloured bubble whose size is that share;
  a predecessor that is not necessary is a plain grey point.

NCA's effect sizes, p-values and the percentile bottleneck do not change under a positive affine
rescaling of the scores, so they equal NCA on the standardized PLS scores; only the required
level is expressed on the 0-100 scale.

Examples
--------
>>> res = icaf_sem.pls(model, data)                                          # doctest: +SKIP
>>> cp = cipma(res, "PW", target_level=85, scale_min=1, scale_max=7, seed=1)  # doctest: +SKIP
>>> cp.table                                                                  # doctest: +SKIP

In R, the same numbers: ``NCA::nca_analysis(scores0100, predecessors, "PW", ceilings = "ce_fdh",
test.rep = 10000, bottleneck.y = "actual", bottleneck.x = "percentile", steps = c(85, NA))`` on the
IPMA's rescaled scores, next to SmartPLS's IPMA importance and performance.
"""
from __future__ import annotations

import math
import warnings
from typing import Optional

import numpy as np
import pandas as pd

from .errors import DataError, DataWarning, ModelSpecificationError

__all__ = ["cipma", "combine_ipma_nca", "CIPMAResult", "cipma_table", "cipma_figure", "TEXT"]

TEXT = {
    "en": {
        "title": "Combined importance-performance map analysis (cIPMA)",
        "note": ("Importance: unstandardized total effect on the target (PLS-SEM IPMA); performance: mean of the "
                 "0-100 rescaled construct scores. Necessity: NCA ({ceiling}) of each construct for the target on "
                 "the rescaled scores, {reps} permutations; a necessary condition has d \u2265 {d_min:g} and "
                 "p < {alpha:g}. Required level: the minimum construct score (0-100) for the target at the level "
                 "shown (NN = not necessary); cases below: share of the n cases that do not reach it (NCA "
                 "bottleneck in percentiles). Hauff, Richter, Sarstedt & Ringle (2024)."),
        "labels": {"target": "Target", "level": "Target level", "construct": "Construct",
                   "importance": "Importance", "performance": "Performance", "effect_size": "*d*",
                   "p_value": "*p*", "necessary": "Necessary", "required_text": "Required level",
                   "cases_below_pct": "Cases below (%)", "n": "*N*"},
        "xlabel": "Importance (total effect on {target})", "ylabel": "Performance (0-100)",
        "necessary": "necessary condition (bubble: % of cases below the required level)",
        "not_necessary": "not a necessary condition",
        "map_title": "cIPMA for {target} at {level:g}",
    },
    "zh": {
        "title": "组合重要性-绩效图分析（cIPMA）",
        "note": ("重要性：对目标构念的非标准化总效应（PLS-SEM 重要性-绩效图分析）；绩效：0-100 重标度构念得分的均值。"
                 "必要性：在重标度得分上以 NCA（{ceiling}）检验各构念对目标构念的必要性，置换 {reps} 次；"
                 "d \u2265 {d_min:g} 且 p < {alpha:g} 者为必要条件。所需水平：目标构念达到所示水平时该构念得分（0-100）"
                 "的最低要求（NN = 非必要）；未达比例：n 个个案中未达到所需水平者所占比例（NCA 百分位瓶颈表）。"
                 "Hauff, Richter, Sarstedt & Ringle (2024)。"),
        "labels": {"target": "目标构念", "level": "目标水平", "construct": "构念", "importance": "重要性",
                   "performance": "绩效", "effect_size": "*d*", "p_value": "*p*", "necessary": "必要条件",
                   "required_text": "所需水平", "cases_below_pct": "未达个案（%）", "n": "*N*"},
        "xlabel": "重要性（对 {target} 的总效应）", "ylabel": "绩效（0-100）",
        "necessary": "必要条件（气泡大小：未达所需水平的个案比例）",
        "not_necessary": "非必要条件",
        "map_title": "{target} 的 cIPMA（目标水平 {level:g}）",
    },
}

_COLUMNS = ["construct", "importance", "performance", "n", "effect_size", "effect_class", "p_value",
            "p_value_mc_se", "necessary", "required", "required_status", "cases_below", "cases_below_pct"]


class CIPMAResult:
    """A cIPMA of one target construct (:func:`cipma`, :func:`combine_ipma_nca`).

    Attributes
    ----------
    target : str
    target_level : float
        The desired level of the target on the 0-100 scale.
    table : DataFrame
        One row per predecessor: ``construct, importance, performance, n, effect_size, effect_class,
        p_value, p_value_mc_se, necessary, required, required_status, cases_below, cases_below_pct``
        (``required``: the minimum 0-100 score at ``target_level``, 0 when ``required_status`` is
        'NN', NaN when 'NA'; ``cases_below``: cases that do not reach it).
    nca : NCAResult
        The NCA of all predecessors for the target on the 0-100 scores.
    scores : DataFrame
        The 0-100 scores analysed.
    ipma : IPMAResult or None
    options : dict
    """

    def __init__(self, target, target_level, table, nca_result, scores, options, ipma=None, warnings_=None):
        self.target, self.target_level, self.table = target, float(target_level), table
        self.nca, self.scores, self.options, self.ipma = nca_result, scores, options, ipma
        self.warnings = list(warnings_ or [])

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict:
        from ._json import json_ready
        return json_ready({"target": self.target, "target_level": self.target_level, "options": self.options,
                           "table": self.table.to_dict(orient="records"), "warnings": self.warnings})

    def summary(self) -> str:
        o = self.options
        lines = [f"cIPMA for {self.target} at {self.target_level:g} (0-100; NCA {o['ceiling']}, d >= {o['d_min']:g}, "
                 f"p < {o['alpha']:g}, {o['permutations']} permutations)"]
        for _, r in self.table.iterrows():
            req = r["required_status"] or f"{r['required']:.1f}"
            lines.append(f"  {r['construct']:<6} importance {r['importance']:+.3f}  performance {r['performance']:6.2f}  "
                         f"d = {r['effect_size']:.3f}  p = {r['p_value']:.4f}  "
                         f"{'necessary' if r['necessary'] else 'not necessary':<13}  required {req:>6}  "
                         f"cases below {r['cases_below_pct']:.1f}%")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"CIPMAResult(target={self.target!r}, level={self.target_level:g}, "
                f"{int(self.table['necessary'].sum())} of {len(self.table)} predecessors necessary)")

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="")

    def plot(self, ax=None, *, language: str = "en"):
        """The cIPMA map (matplotlib Figure): importance on x, performance on y, bubbles for necessity."""
        return cipma_figure(self, ax=ax, language=language)


def _check_level(target_level) -> float:
    try:
        lev = float(target_level)
    except (TypeError, ValueError):
        raise ModelSpecificationError(f"target_level={target_level!r}: give the desired level of the target on "
                                      "the 0-100 scale, e.g. 85") from None
    if not (0 <= lev <= 100) or math.isnan(lev):
        raise ModelSpecificationError(f"target_level={target_level!r} is outside 0..100; the cIPMA's target level is "
                                      "a value of the 0-100 rescaled target scores (e.g. 85)")
    return lev


def combine_ipma_nca(ipma_table: pd.DataFrame, scores: pd.DataFrame, target: str, *, target_level: float = 85.0,
                     ceiling: str = "ce_fdh", permutations: int = 10000, seed: Optional[int] = None,
                     d_min: float = 0.1, alpha: float = 0.05, ipma=None) -> CIPMAResult:
    """Combine an IPMA (importance, performance) with NCA on the 0-100 scores: the cIPMA table.

    Parameters
    ----------
    ipma_table : DataFrame
        Indexed by construct, with ``importance`` and ``performance`` columns
        (``IPMAResult.constructs``).
    scores : DataFrame
        0-100 rescaled scores with a column for every construct of ``ipma_table`` and the target
        (``IPMAResult.scores``).
    target : str
    target_level : float, default 85
        The desired target level on the 0-100 scale (NCA's ``bottleneck.y = "actual"``).
    ceiling : {"ce_fdh", "cr_fdh"}, default "ce_fdh"
        The ceiling whose d, p and bottleneck decide necessity (both are computed).
    permutations, seed : int
        NCA's permutation test (at least 1 permutation: the verdict needs p).
    d_min, alpha : float
        A necessary condition has d >= d_min and p < alpha (Hauff et al. 2024: .1 and .05).

    Returns
    -------
    CIPMAResult
    """
    from .nca import _bottleneck_x, nca
    if ceiling not in ("ce_fdh", "cr_fdh"):
        raise ModelSpecificationError(f"ceiling={ceiling!r} is not supported for the cIPMA; use 'ce_fdh' or 'cr_fdh'")
    if not isinstance(permutations, (int, np.integer)) or isinstance(permutations, bool) or permutations < 1:
        raise ModelSpecificationError(f"permutations={permutations!r}: the cIPMA judges necessity by d and the "
                                      "permutation test's p; give a number of permutations (e.g. 10000)")
    if not (0 < d_min < 1) or not (0 < alpha < 1):
        raise ModelSpecificationError(f"d_min={d_min!r}, alpha={alpha!r}: both must lie between 0 and 1 "
                                      "(Hauff et al. 2024: d_min=0.1, alpha=0.05)")
    lev = _check_level(target_level)
    if not {"importance", "performance"} <= set(ipma_table.columns):
        raise ModelSpecificationError("ipma_table needs 'importance' and 'performance' columns indexed by construct "
                                      "(IPMAResult.constructs)")
    cons = [str(c) for c in ipma_table.index]
    if not cons:
        raise ModelSpecificationError(f"the IPMA of {target!r} has no predecessors; a cIPMA needs at least one")
    missing = [c for c in cons + [target] if c not in scores.columns]
    if missing:
        raise DataError(f"scores: column {missing[0]!r} is missing; pass the 0-100 scores of every predecessor and "
                        "of the target (IPMAResult.scores)")
    y = pd.to_numeric(scores[target], errors="coerce")
    ymin, ymax = float(np.nanmin(y)), float(np.nanmax(y))
    if not (ymin - 1e-9 <= lev <= ymax + 1e-9):
        raise ModelSpecificationError(f"target_level={lev:g} is outside the observed 0-100 scores of {target!r} "
                                      f"({ymin:.1f}..{ymax:.1f}); fix: choose a level within that range")
    lev = min(max(lev, ymin), ymax)
    res = nca(scores[cons + [target]], cons, target, ceilings=("ce_fdh", "cr_fdh"), permutations=int(permutations),
              seed=seed, bottleneck_x="actual", bottleneck_y="actual", steps=[lev])
    eff = res.effects.set_index(["condition", "ceiling"])
    bn = res.bottleneck.set_index(["ceiling", "condition"])
    rows = []
    for c in cons:
        e = eff.loc[(c, ceiling)]
        b = bn.loc[(ceiling, c)]
        cond = res._conds[c]
        pct, pst = _bottleneck_x(cond, ceiling, cond.results[ceiling], np.array([lev]), "percentile")
        pct = float(pct[0]) if pst[0] != "NA" else math.nan
        d, p = float(e["effect_size"]), float(e["p_value"])
        rows.append({"construct": c, "importance": float(ipma_table.loc[c, "importance"]),
                     "performance": float(ipma_table.loc[c, "performance"]), "n": int(e["n"]),
                     "effect_size": d, "effect_class": e["effect_class"], "p_value": p,
                     "p_value_mc_se": float(e["p_value_mc_se"]), "necessary": bool(d >= d_min and p < alpha),
                     "required": float(b["value"]), "required_status": str(b["status"]),
                     "cases_below": int(round(pct * cond.n / 100)) if np.isfinite(pct) else -1,
                     "cases_below_pct": pct})
    table = pd.DataFrame(rows, columns=_COLUMNS)
    if (table["cases_below"] < 0).any():
        table["cases_below"] = table["cases_below"].astype(float).where(table["cases_below"] >= 0)
    warn = list(res.warnings)
    neg = table.loc[table["importance"] < 0, "construct"].tolist()
    if neg:
        msg = (f"cIPMA for {target!r}: negative importance of {', '.join(neg)}; the IPMA assumes that higher scores "
               "are better for the target (Ringle & Sarstedt 2016): read their performance and necessity with care")
        warn.append(msg)
        warnings.warn(msg, DataWarning, stacklevel=3)
    options = {"ceiling": ceiling, "d_min": float(d_min), "alpha": float(alpha), "permutations": int(permutations),
               "seed": None if seed is None else int(seed), "scores": "IPMA 0-100 rescaled PLS construct scores",
               "bottleneck": "required level: actual 0-100 value; cases below: NCA percentile"}
    return CIPMAResult(target, lev, table, res, scores, options, ipma=ipma, warnings_=warn)


def cipma(result, target: str, *, target_level: float = 85.0, scale_min=None, scale_max=None,
          ceiling: str = "ce_fdh", permutations: int = 10000, seed: Optional[int] = None, d_min: float = 0.1,
          alpha: float = 0.05) -> CIPMAResult:
    """Combined importance-performance map analysis of ``target`` for a PLS-SEM result.

    Parameters
    ----------
    result : PLSResult
        From :func:`icaf_sem.pls`.
    target : str
        An endogenous construct.
    target_level : float, default 85
        Desired level of the target on the 0-100 scale.
    scale_min, scale_max : float or dict, optional
        The indicators' scale end points for the IPMA rescaling (default: observed min and max).
    ceiling, permutations, seed, d_min, alpha
        See :func:`combine_ipma_nca`.

    Returns
    -------
    CIPMAResult

    Examples
    --------
    >>> cipma(icaf_sem.pls(model, data), "PW", target_level=85, scale_min=1, scale_max=7)  # doctest: +SKIP

    SmartPLS 4: IPMA with target PW and NCA on the IPMA latent variable scores (cIPMA).
    """
    from .pls import PLSResult
    if not isinstance(result, PLSResult):
        raise ModelSpecificationError(f"cipma() needs a result of icaf_sem.pls(), got {type(result).__name__}")
    ip = result.ipma(target, scale_min=scale_min, scale_max=scale_max)
    out = combine_ipma_nca(ip.constructs, ip.scores, target, target_level=target_level, ceiling=ceiling,
                           permutations=permutations, seed=seed, d_min=d_min, alpha=alpha, ipma=ip)
    out.warnings = list(ip.warnings) + out.warnings
    return out


# =========================================================================== report table and figure
def _text(language: str) -> dict:
    return TEXT.get(language, TEXT["en"])


def cipma_table(results, language: str = "en") -> pd.DataFrame:
    """The cIPMA table of the report (one block per target): ``target, level, construct, importance,
    performance, n, effect_size, p_value, necessary, required_text, cases_below_pct``.

    Parameters
    ----------
    results : CIPMAResult or dict of str to CIPMAResult
    language : {"en", "zh"}
    """
    from .nca import _nca_string
    from .report.tables import _meta
    if isinstance(results, CIPMAResult):
        results = {results.target: results}
    tx = _text(language)
    frames = []
    for tgt, r in results.items():
        t = r.table
        frames.append(pd.DataFrame({
            "target": tgt, "level": r.target_level, "construct": t["construct"], "importance": t["importance"],
            "performance": t["performance"], "n": t["n"].astype(int), "effect_size": t["effect_size"],
            "p_value": t["p_value"], "necessary": t["necessary"].astype(bool),
            "required_text": [_nca_string(v, s, "percentage.range") for v, s in zip(t["required"], t["required_status"])],
            "cases_below_pct": t["cases_below_pct"]}))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["target", "level", "construct", "importance", "performance", "n", "effect_size", "p_value",
                 "necessary", "required_text", "cases_below_pct"])
    o = next(iter(results.values())).options if results else {"ceiling": "ce_fdh", "permutations": 0, "d_min": 0.1,
                                                               "alpha": 0.05}
    note = tx["note"].format(ceiling=o["ceiling"].upper().replace("_", "-"), reps=o["permutations"],
                             d_min=o["d_min"], alpha=o["alpha"])
    lab = tx["labels"]
    return _meta(df, tx["title"], note, key="cipma", labels=dict(lab),
                 formats={"level": "f0", "importance": "r3", "performance": "f2", "n": "int", "effect_size": "r3",
                          "p_value": "p", "necessary": "bool", "required_text": "str", "cases_below_pct": "f1"},
                 group_columns=["target"], language=language)


def cipma_figure(results, ax=None, *, language: str = "en"):
    """The cIPMA map(s): one panel per target; importance on x, performance (0-100) on y; a necessary
    condition is a red bubble sized by the share of cases below its required level, the others grey points;
    dotted lines at the mean importance and mean performance (the IPMA's quadrants)."""
    from .report.figures import _plt
    plt = _plt()
    if isinstance(results, CIPMAResult):
        results = {results.target: results}
    tx = _text(language)
    k = len(results)
    if ax is None:
        fig, axes = plt.subplots(1, k, figsize=(5.4 * k, 4.6), squeeze=False)
        axes = list(axes[0])
    else:
        fig, axes = ax.figure, [ax]
        if k != 1:
            raise ModelSpecificationError("cipma_figure(ax=...) draws one target; pass a single CIPMAResult")
    for a, (tgt, r) in zip(axes, results.items()):
        t = r.table
        nec = t["necessary"].to_numpy(bool)
        pct = t["cases_below_pct"].fillna(0).to_numpy(float)
        a.scatter(t.loc[~nec, "importance"], t.loc[~nec, "performance"], s=28, c="#9a9a9a", marker="o",
                  label=tx["not_necessary"], zorder=3)
        if nec.any():
            a.scatter(t.loc[nec, "importance"], t.loc[nec, "performance"], s=40 + 18 * pct[nec], c="#c0392b",
                      alpha=0.55, edgecolors="#7b241c", linewidths=0.8, label=tx["necessary"], zorder=4)
        for (_, row), n_, p_ in zip(t.iterrows(), nec, pct):
            lab = f"{row['construct']} ({p_:.0f}%)" if n_ else str(row["construct"])
            a.annotate(lab, (row["importance"], row["performance"]), xytext=(6, 4), textcoords="offset points",
                       fontsize=8.5, zorder=5)
        a.axvline(t["importance"].mean(), ls=":", c="grey", lw=0.8)
        a.axhline(t["performance"].mean(), ls=":", c="grey", lw=0.8)
        a.set_xlabel(tx["xlabel"].format(target=tgt))
        a.set_ylabel(tx["ylabel"])
        a.set_title(tx["map_title"].format(target=tgt, level=r.target_level), fontsize=10)
        lo, hi = float(t["performance"].min()), float(t["performance"].max())
        pad = max(5.0, 0.25 * (hi - lo))
        a.set_ylim(max(0.0, lo - pad), min(100.0, hi + pad))
        xlo, xhi = float(t["importance"].min()), float(t["importance"].max())
        xpad = max(0.05, 0.2 * (xhi - xlo))
        a.set_xlim(min(0.0, xlo) - xpad, xhi + xpad)
        leg = a.legend(fontsize=7, loc="lower right", frameon=False)
        for h in getattr(leg, "legend_handles", None) or getattr(leg, "legendHandles", []):
            if hasattr(h, "set_sizes"):
                h.set_sizes([30])
    fig.tight_layout()
    return fig
