"""Report section of a Monte Carlo power study: tables and power curves, in English and Chinese.

The report i18n catalogue does not exist yet, so the few strings this section needs are kept in
:data:`STRINGS` (one dict per language); move them into the catalogue when it lands.
"""
from __future__ import annotations

import html
import math
import warnings
from pathlib import Path

import numpy as np

__all__ = ["STRINGS", "power_curves", "tables", "html_section", "write_report"]

STRINGS = {
    "en": {
        "section": "Sample size planning: Monte Carlo power",
        "power_table": "Power by hypothesis and sample size",
        "detail_table": "Bias, standard-error bias, coverage and convergence at each sample size",
        "curves": "Power curves",
        "n": "Sample size (N)",
        "power": "Power",
        "target": "target",
        "required": "Smallest N on the grid at which every hypothesis reaches power {target}: {n}",
        "required_selected": "Smallest N on the grid at which the selected hypotheses ({ids}) reach power {target}: {n}",
        "not_reached": "not reached on this grid",
        "setup": ("{reps} replications per sample size; estimator {estimator} (missing: {missing}); data {data}; "
                  "population: {population}; alpha = {alpha}; seed {seed}."),
        "note": ("Power: share of converged replications with p < alpha and the expected sign (indirect and other "
                 "defined effects: the {level}% Monte Carlo confidence interval excludes 0). Relative bias = (mean "
                 "estimate - true) / true; relative SE bias = (mean SE - SD of the estimates) / SD; coverage of the "
                 "{level}% interval; as simsem reports them. Improper solutions (a negative variance estimate) "
                 "are kept."),
        "columns": {"id": "Hypothesis", "path": "Path", "n": "N", "true": "True value", "est_mean": "Mean estimate",
                    "relative_bias": "Relative bias", "relative_se_bias": "Relative SE bias",
                    "coverage": "Coverage", "power": "Power", "convergence_rate": "Converged",
                    "improper_rate": "Improper solutions"},
    },
    "zh": {
        "section": "样本量规划：蒙特卡洛统计功效分析",
        "power_table": "各假设在不同样本量下的统计功效",
        "detail_table": "各样本量下的估计偏差、标准误偏差、置信区间覆盖率与收敛率",
        "curves": "统计功效曲线",
        "n": "样本量（N）",
        "power": "统计功效",
        "target": "目标",
        "required": "网格中使所有假设的统计功效均达到 {target} 的最小样本量：{n}",
        "required_selected": "网格中使所选假设（{ids}）的统计功效均达到 {target} 的最小样本量：{n}",
        "not_reached": "在此网格内未达到",
        "setup": ("每个样本量重复 {reps} 次；估计方法 {estimator}（缺失值处理：{missing}）；数据 {data}；"
                  "总体：{population}；显著性水平 alpha = {alpha}；随机种子 {seed}。"),
        "note": ("统计功效：在收敛的重复中 p < alpha 且方向符合预期的比例（间接效应及其他定义参数：{level}% 蒙特卡洛置信区间"
                 "不包含 0）。相对偏差 =（估计均值 − 真值）/ 真值；标准误相对偏差 =（标准误均值 − 估计值标准差）/ 估计值标准差；"
                 "覆盖率为 {level}% 置信区间包含真值的比例；与 simsem 的报告方式一致。不当解（方差估计为负）保留在统计中。"),
        "columns": {"id": "假设", "path": "路径", "n": "N", "true": "真值", "est_mean": "估计均值",
                    "relative_bias": "相对偏差", "relative_se_bias": "标准误相对偏差", "coverage": "覆盖率",
                    "power": "统计功效", "convergence_rate": "收敛率", "improper_rate": "不当解比例"},
    },
}

_CJK_FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "Droid Sans Fallback", "WenQuanYi Zen Hei", "SimHei",
              "Microsoft YaHei", "PingFang SC"]


def _cjk_font():
    """Name of an installed font with Chinese glyphs (registered with matplotlib), or None."""
    from matplotlib import font_manager
    names = {f.name for f in font_manager.fontManager.ttflist}
    for nm in _CJK_FONTS:
        if nm in names:
            return nm
    for path in font_manager.findSystemFonts():
        low = Path(path).name.lower()
        if any(k in low for k in ("cjk", "fallback", "wqy", "hei", "sourcehan", "yahei", "pingfang")):
            try:
                font_manager.fontManager.addfont(path)
                return font_manager.FontProperties(fname=path).get_name()
            except (OSError, RuntimeError, ValueError):
                continue
    return None


def _strings(lang):
    if lang not in STRINGS:
        from ..errors import DataError
        raise DataError(f"lang={lang!r} is not available; use one of {', '.join(STRINGS)}")
    return STRINGS[lang]


def power_curves(study, hypotheses=None, lang="en"):
    """One panel per hypothesis: power against N with its Monte Carlo 95% band and the target line."""
    from ..report.figures import _plt
    plt = _plt()
    s = _strings(lang)
    ids = list(study.targets["id"]) if hypotheses is None else list(hypotheses)
    known = set(study.targets["id"])
    bad = [h for h in ids if h not in known]
    if bad:
        from ..errors import ModelSpecificationError
        raise ModelSpecificationError(f"hypothesis {bad[0]!r} is not in the study; choose from {', '.join(known)}")
    k = len(ids)
    cols = min(4, k)
    rows = math.ceil(k / cols)
    import matplotlib
    rc = {}
    if lang == "zh":
        font = _cjk_font()
        if font is None:      # no font with Chinese glyphs: the figure keeps English labels
            s = _strings("en")
        else:
            rc = {"font.sans-serif": [font] + list(matplotlib.rcParams["font.sans-serif"])}
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, 2.5 * rows), squeeze=False, sharey=True)
        target = study.config["target_power"]
        for ax, h in zip(axes.flat, ids):
            d = study.table[study.table["id"] == h].sort_values("n")
            x, y, se = d["n"].to_numpy(), d["power"].to_numpy(float), d["power_mc_se"].to_numpy(float)
            ax.fill_between(x, np.clip(y - 1.96 * se, 0, 1), np.clip(y + 1.96 * se, 0, 1), color="#9ecae1",
                            alpha=0.5, lw=0)
            ax.plot(x, y, "o-", color="#08519c", ms=3.5, lw=1.4)
            ax.axhline(target, ls="--", color="#a50f15", lw=0.9)
            path = d["path"].iloc[0] if len(d) else ""
            short = d["kind"].iloc[0] != "defined" and len(path) <= 28 and path != h
            ax.set_title(f"{h}: {path}" if short else h, fontsize=8.5)
            ax.set_ylim(0, 1.02)
            ax.grid(alpha=0.3, lw=0.5)
            ax.tick_params(labelsize=7.5)
        for ax in list(axes.flat)[k:]:
            ax.set_visible(False)
        for ax in axes[-1]:
            ax.set_xlabel(s["n"], fontsize=8)
        for ax in axes[:, 0]:
            ax.set_ylabel(s["power"], fontsize=8)
        fig.suptitle(s["curves"], fontsize=11)
        if rc:   # fix the family on every text now: the figure may be drawn after the rc context ends
            from matplotlib.text import Text
            for t in fig.findobj(Text):
                t.set_fontfamily(rc["font.sans-serif"][:1] + ["DejaVu Sans"])
        fig.tight_layout()
    return fig


def tables(study, lang="en"):
    """(power table: hypotheses x N, detail table) with the language's column names."""
    s = _strings(lang)
    pw = study.power_table()
    paths = study.targets.set_index("id")["path"]
    pw.insert(0, s["columns"]["path"], paths.loc[pw.index].to_numpy())
    pw.index.name = s["columns"]["id"]
    pw.columns = [c if isinstance(c, str) else f"N = {c}" for c in pw.columns]
    keep = ["id", "n", "true", "est_mean", "relative_bias", "relative_se_bias", "coverage", "power",
            "convergence_rate", "improper_rate"]
    det = study.table[keep].rename(columns=s["columns"])
    return pw, det


def _required_text(study, s):
    n = study.required_n
    val = str(n) if n is not None else s["not_reached"]
    if study.config.get("hypotheses"):
        return s["required_selected"].format(ids=", ".join(study.config["hypotheses"]),
                                             target=study.config["target_power"], n=val)
    return s["required"].format(target=study.config["target_power"], n=val)


def html_section(study, lang="en", figure_file="power_curves.png"):
    """The report section as an HTML fragment (titles in the chosen language)."""
    s = _strings(lang)
    pw, det = tables(study, lang)
    c = study.config
    fmt = {"float_format": lambda v: f"{v:.3f}", "na_rep": "", "border": 0, "classes": "apa"}
    level = round(100 * (1 - c["alpha"]))
    parts = [f'<section class="power" lang="{lang}">', f"<h2>{html.escape(s['section'])}</h2>",
             f"<p>{html.escape(s['setup'].format(reps=c['reps'], estimator=c['estimator'], missing=c['missing'], data=c['data'], population=c['population'], alpha=c['alpha'], seed=c['seed']))}</p>",
             f"<p><strong>{html.escape(_required_text(study, s))}</strong></p>",
             f"<h3>{html.escape(s['power_table'])}</h3>", pw.reset_index().to_html(index=False, **fmt),
             f"<figure><img src=\"{html.escape(figure_file)}\" alt=\"{html.escape(s['curves'])}\">"
             f"<figcaption>{html.escape(s['curves'])}</figcaption></figure>",
             f"<h3>{html.escape(s['detail_table'])}</h3>", det.to_html(index=False, **fmt),
             f"<p class=\"note\">{html.escape(s['note'].format(level=level))}</p>", "</section>"]
    return "\n".join(parts)


def write_report(study, out, lang=None):
    """Write the section to folder ``out``: ``power_section_en.html``, ``power_section_zh.html``, their power
    curves (PNG), ``power_table.csv`` and ``power_results.csv``; each file whole or not at all."""
    from .._atomic import atomic_write, atomic_write_text
    out = Path(out)
    langs = list(STRINGS) if lang is None else [lang]
    paths = {}
    for lg in langs:
        fig = power_curves(study, lang=lg)
        name = f"power_curves_{lg}.png"
        atomic_write(out / name, lambda tmp, f=fig: f.savefig(tmp, format="png", dpi=150))
        from ..report.figures import _plt
        _plt().close(fig)
        doc = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html.escape(STRINGS[lg]["section"]) +
               "</title></head><body>\n" + html_section(study, lg, name) + "\n</body></html>\n")
        paths[f"html_{lg}"] = atomic_write_text(out / f"power_section_{lg}.html", doc)
        paths[f"png_{lg}"] = out / name
    atomic_write(out / "power_table.csv", lambda tmp: study.power_table().to_csv(tmp, encoding="utf-8"))
    atomic_write(out / "power_results.csv", lambda tmp: study.table.to_csv(tmp, index=False, encoding="utf-8"))
    paths["html"] = paths[f"html_{langs[0]}"]
    return paths
