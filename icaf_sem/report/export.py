"""Write an analysis to a report folder, whole or not at all.

:func:`write_report` stages every file in a temporary folder
(:func:`icaf_sem._atomic.atomic_dir`) and moves them into place only when all
of them were written:

=======================  ======================================================
``report.html``          self-contained (figures embedded as base64), warnings first
``report.docx``          APA-style tables and figures, editable in Word
``tables.xlsx``          one sheet per table (numbers rounded to 3 decimals) and a contents sheet
``tables.tex``           booktabs tables (``\\usepackage{booktabs}``)
``results.json``         every number: parameters, fit, reliability, hypotheses, cleaning flow ...
``reproducibility.json`` package versions, SHA-256 of the input, every option, the seed
``figures/``             path diagram, correlation heatmaps, Likert bars (PNG and SVG)
=======================  ======================================================

Numbers are rounded only here, when they are written for reading.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import math
import platform
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .i18n import catalogue
from .tables import display_frame, excel_headers, markup_runs, strip_markup

__all__ = ["write_report", "results_dict", "reproducibility_record", "html_report", "html_fragment",
           "write_docx", "write_xlsx", "latex_tables", "REPORT_FILES"]

REPORT_FILES = ["report.html", "report.docx", "tables.xlsx", "tables.tex", "results.json", "reproducibility.json"]
FIGURES = ["path_diagram", "measurement_model", "latent_correlations", "correlation_heatmap", "likert", "nca",
           "cipma", "ipma", "paths_by_wave"]


def _cat(res):
    return catalogue(res.options.get("language", "en"))


def report_title(res) -> str:
    """The report's title: the questionnaire's ``title`` in the report's language (else its name)."""
    cat = _cat(res)
    q = res.questionnaire
    titles = dict(getattr(getattr(q, "spec", None), "title", None) or {})
    name = titles.get(cat.text_language) or titles.get("en") or q.name
    if cat.language == "both" and titles.get("zh") and titles.get("zh") != name:
        name = f"{name} / {titles['zh']}"
    return cat.f("report_title", name=name)


def warning_lines(res) -> list:
    """``(stage, category, message)`` of every warning, in the report's language."""
    from .i18n.messages import translate, translate_category, translate_stage
    lang = _cat(res).text_language
    return [(translate_stage(w["stage"], lang), translate_category(w["category"], lang),
             translate(w["message"], lang)) for w in res.warnings]


def figure_caption(res, key: str) -> str:
    """The caption of figure ``key`` in the report's language, construct codes spelled out."""
    from .tables import _abbrev, construct_names
    cat = _cat(res)
    if key == "ipma":           # PLS-SEM importance-performance map (report/pls_tables.py)
        targets = list(res.pls.ipma)
        return cat.f("fig.ipma", target=", ".join(targets)) + "." + strip_markup(
            _abbrev(res.questionnaire, cat.language, targets + [c for t in res.pls.ipma.values()
                                                                for c in t.constructs.index]))
    text = cat.get(f"fig.{key}", key)
    if key in ("path_diagram", "latent_correlations", "measurement_model"):
        codes = list(construct_names(res.questionnaire)) if key == "measurement_model" else \
            list(res.reliability.latent_correlations.index) if key == "latent_correlations" and \
            res.reliability.latent_correlations is not None else \
            list(dict.fromkeys(res.sem.parameters.loc[res.sem.parameters["op"] == "~", "lhs"].tolist()
                               + res.sem.parameters.loc[res.sem.parameters["op"] == "~", "rhs"].tolist()))
        text += ("。" if cat.language == "zh" else ".") + strip_markup(_abbrev(res.questionnaire, cat.language, codes))
    return text


# --------------------------------------------------------------------------- JSON
def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    if isinstance(x, (str, int)):
        return x
    if isinstance(x, Path):
        return str(x)
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    return str(x)


def _records(df: pd.DataFrame) -> list:
    return _jsonable(df.to_dict(orient="records"))


def results_dict(res) -> dict:
    """Every number of an :class:`~icaf_sem.pipeline.AnalysisResult`, JSON-ready (NaN -> null)."""
    sem = res.sem
    pls = getattr(res, "pls", None)
    if sem is None:       # method="pls"
        cl = res.cleaning
        return _jsonable({
            "questionnaire": res.questionnaire.name, "options": res.options, "input": res.input,
            "n": {"raw_rows": cl.n_raw, "analysed": cl.n_clean, "pls": pls.result.nobs if pls else None},
            "cleaning": {"flow": _records(cl.flow), "n_cell_fixes": int(len(cl.cell_fixes)),
                         "n_flags": int(len(cl.flags)), "warnings": list(cl.warnings)},
            "descriptives": _records(res.descriptives), "pls": pls.to_dict() if pls else None,
            "necessity": res.necessity.to_dict() if getattr(res, "necessity", None) is not None else None,
            "warnings": res.warnings,
            "tables": {k: {"title": t.attrs.get("title", k), "note": t.attrs.get("note", ""), "rows": _records(t)}
                       for k, t in res.tables.items()}})
    r2 = {k if isinstance(k, str) else f"{k[0]}.{k[1]}": v for k, v in sem.r2.items()}
    cl = res.cleaning
    out = {
        "questionnaire": res.questionnaire.name,
        "options": res.options,
        "input": res.input,
        "n": {"raw_rows": cl.n_raw, "analysed": cl.n_clean, "sem": sem.nobs, "cfa": res.cfa.nobs,
              "reliability": res.reliability.n,
              "reliability_basis": getattr(res.reliability, "basis", "complete_cases")},
        "cleaning": {"flow": _records(cl.flow), "exclusions_by_reason": cl.exclusions["reason"].value_counts().to_dict()
                     if len(cl.exclusions) else {}, "n_cell_fixes": int(len(cl.cell_fixes)),
                     "n_flags": int(len(cl.flags)), "warnings": list(cl.warnings)},
        "descriptives": _records(res.descriptives),
        "reliability": res.reliability.to_dict(),
        "cfa": {"model": res.cfa.model, "parameters": _records(res.cfa.parameters), "fit": res.cfa.fit_measures,
                "converged": bool(res.cfa.converged), "warnings": list(res.cfa.warnings)},
        "model": sem.model,
        "parameters": _records(sem.parameters),
        "fit": sem.fit_measures,
        "r2": r2,
        "converged": bool(sem.converged),
        "hypotheses": _records(res.hypotheses),
        "effects": _records(res.effects),
        "warnings": res.warnings,
        "tables": {k: {"title": t.attrs.get("title", k), "note": t.attrs.get("note", ""), "rows": _records(t)}
                   for k, t in res.tables.items()},
    }
    try:
        out["modindices"] = _records(sem.modindices)
    except Exception as exc:  # an MI failure must not lose the report
        out["modindices"] = []
        out["warnings"] = list(out["warnings"]) + [{"stage": "sem", "category": "EstimationError",
                                                    "message": f"modification indices could not be computed: {exc}"}]
    if getattr(res, "necessity", None) is not None:
        out["necessity"] = res.necessity.to_dict()
    if pls is not None:
        out["pls"] = pls.to_dict()
    if getattr(res, "extras", {}).get("waves") is not None:
        out["waves"] = res.extras["waves"].to_dict()
    if (getattr(res, "extras", None) or {}).get("comparison") is not None:
        out["model_comparison"] = res.extras["comparison"].to_dict()
    boot = getattr(sem, "boot", None)
    if boot is not None:
        summ = getattr(boot, "summary_dict", None)
        out["bootstrap"] = summ() if callable(summ) else {"n_ok": getattr(boot, "n_ok", None),
                                                          "n_failed": getattr(boot, "n_failed", None)}
    return _jsonable(out)


def _version(mod: str):
    try:
        from importlib.metadata import version
        return version(mod)
    except Exception:
        return None


def reproducibility_record(res, command=None) -> dict:
    """Package versions, SHA-256 of the input (and questionnaire), every option, the seed."""
    from .. import __version__
    pkgs = ["numpy", "scipy", "pandas", "matplotlib", "seaborn", "statsmodels", "pydantic", "PyYAML", "openpyxl",
            "python-docx", "tqdm", "jinja2", "pyreadstat"]
    return _jsonable({
        "icaf_sem": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in pkgs},
        "input": res.input,
        "options": res.options,
        "seed": res.options.get("seed"),
        "cleaning_rules": res.cleaning.rules.model_dump() if getattr(res.cleaning, "rules", None) is not None else None,
        "models": ({"cfa": res.cfa.model, "sem": res.sem.model} if res.sem is not None else {})
        | ({"pls": res.pls.syntax, "pls_options": res.pls.options} if getattr(res, "pls", None) is not None else {}),
        "command": command,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "reproduce": ("icaf-sem analyze --questionnaire {q} --data {d} --out DIR --missing {m} --estimator {e}"
                      .format(q=res.input.get("questionnaire", "QUESTIONNAIRE.yaml"), d=res.input.get("source"),
                              m=res.options["missing"], e=res.options["estimator"])
                      + (f" --method {res.options['method']}" if res.options.get("method", "cb") != "cb" else "")
                      + (_pls_flags(res.pls.options) if getattr(res, "pls", None) is not None else "")
                      + f" --bootstrap {res.options['bootstrap']}"
                      + (" --reliability complete" if res.options.get("reliability") == "complete"
                         and res.options["missing"] == "ml" else "")
                      + (" --se bootstrap" if res.options.get("se") == "bootstrap" else "")
                      + ((" --ordered" if res.options["ordered"] is True else f" --ordered {','.join(res.options['ordered'])}")
                         if res.options.get("ordered") else "")
                      + (f" --seed {res.options['seed']}" if res.options["seed"] is not None else "")
                      + (f" --lang {res.options.get('language')}" if res.options.get("language", "en") != "en" else "")
                      + (" --compare-with " + " ".join(res.options["compare_with"])
                         + " --wave-labels " + ",".join(res.options["wave_labels"])
                         if res.options.get("compare_with") else "")),
    })


def _pls_flags(o: dict) -> str:
    """The ``--pls-*`` flags that reproduce the PLS stage's options."""
    return (f" --pls-scheme {o['scheme']} --pls-missing {o['missing']} --pls-hoc {o['hoc']}"
            + (" --pls-consistent" if o.get("consistent") else ""))


# --------------------------------------------------------------------------- figures
def draw_figures(res, folder: Path) -> dict:
    """Draw every figure into ``folder`` (PNG and SVG); returns ``{name: png path}``."""
    from . import figures as F

    q = res.questionnaire
    lang = res.options.get("language", "en")
    out = {}   # in the order the report shows them; no titles inside: the report's captions name them
    fig = F.likert_bars(res.data, q, language=lang, title=None)
    out["likert"] = F.save_figure(fig, folder, "likert")[0]
    fig = F.correlation_heatmap(res.data, q, title=None)
    out["correlation_heatmap"] = F.save_figure(fig, folder, "correlation_heatmap")[0]
    lc = res.reliability.latent_correlations if res.reliability is not None else None
    if lc is not None:
        fig = F.correlation_heatmap(lc, title=None, annot=True)
        out["latent_correlations"] = F.save_figure(fig, folder, "latent_correlations")[0]
    if res.cfa is not None:
        mm = res.extras.get("cfa2") if getattr(res, "extras", None) else None
        fig = F.measurement_diagram(mm if mm is not None else res.cfa, alpha=res.options["alpha"], language=lang)
        out["measurement_model"] = F.save_figure(fig, folder, "measurement_model")[0]
    if res.sem is not None:
        fig = F.path_diagram(res.sem, alpha=res.options["alpha"], language=lang)
        out["path_diagram"] = F.save_figure(fig, folder, "path_diagram")[0]
    if getattr(res, "pls", None) is not None and res.pls.ipma:
        from .pls_tables import ipma_figure
        out["ipma"] = F.save_figure(ipma_figure(res.pls.ipma, language=lang), folder, "ipma")[0]
    if getattr(res, "necessity", None) is not None:
        out["nca"] = F.save_figure(F.nca_scatter_grid(res.necessity), folder, "nca")[0]
        if getattr(res.necessity, "cipma", None):
            from ..cipma import cipma_figure
            out["cipma"] = F.save_figure(cipma_figure(res.necessity.cipma, language=lang), folder, "cipma")[0]
    waves = getattr(res, "extras", {}).get("waves")
    if waves is not None and len(waves.paths_by_wave):     # analyze(compare_with=...)
        out["paths_by_wave"] = F.save_figure(waves.figure(language=lang), folder, "paths_by_wave")[0]
    return out


# --------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:"Segoe UI",Helvetica,Arial,"Noto Sans SC","Noto Sans SC Embedded","PingFang SC","Microsoft YaHei",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.2em}
.meta{color:#555;font-size:.92em}
.warnings{background:#fff6e5;border:1px solid #f0b44c;border-left:6px solid #e69500;padding:.6em 1em;margin:1em 0}
.warnings h2{margin-top:.2em;border:none;font-size:1.05em}
.warnings li{margin:.2em 0;font-size:.92em} .stage{font-weight:600;color:#8a5300}
.ok{background:#eef8ee;border:1px solid #8cc48c;padding:.5em 1em}
table.apa{border-collapse:collapse;margin:.4em 0 .3em 0;font-size:.86em}
table.apa caption{caption-side:top;text-align:left;padding-bottom:.4em}
table.apa caption .num{font-weight:bold;display:block;margin-bottom:.5em} table.apa caption .ttl{font-style:italic;display:block}
table.apa th em{font-style:italic;font-weight:600}
table.apa thead th{border-top:2px solid #000;border-bottom:1px solid #000;padding:.3em .6em;text-align:center;font-weight:600}
table.apa td{padding:.22em .6em;text-align:right;white-space:nowrap}
table.apa td.txt{text-align:left}
table.apa tbody tr:last-child td{border-bottom:2px solid #000}
table.apa td.diag{font-weight:bold}
p.note{font-size:.82em;color:#333;max-width:1000px;margin-top:.2em} p.note em{font-style:italic}
figure{margin:1em 0;break-inside:avoid;page-break-inside:avoid} table.apa caption{break-after:avoid}
p.note{break-before:avoid} h2{break-after:avoid} table.apa thead th{word-break:keep-all}
@media print{figure img{max-height:24cm;width:auto;max-width:100%;object-fit:contain}} figure img{max-width:100%;border:1px solid #eee} #fig-likert img{max-width:760px} #fig-latent_correlations img{max-width:640px} #fig-measurement_model img{max-width:560px} figcaption{font-size:.9em}
figcaption .num{font-weight:bold;display:block;margin-bottom:.4em} figcaption .ttl{font-style:italic;display:block} nav ol{columns:2;font-size:.92em}
"""


def _html_markup(text: str) -> str:
    """Escape ``text`` and render its ``*italic*`` marks as ``<em>``."""
    return "".join(f"<em>{html.escape(t)}</em>" if it else html.escape(t) for t, it in markup_runs(str(text)))


def _is_text_cell(raw: str) -> bool:
    t = raw.strip("[]").replace(".", "").replace(",", "").replace(" ", "").replace("\u2212", "").replace("<", "") \
        .replace("[", "").replace("]", "")
    return not t.isdigit()


def _html_table(t: pd.DataFrame, number: int, cat=None) -> str:
    cat = cat or catalogue(t.attrs.get("language", "en"))
    d = display_frame(t)
    diag = t.attrs.get("diagonal", False)
    head = "".join(f"<th>{_html_markup(c)}</th>" for c in d.columns)
    body = []
    for i, (_, row) in enumerate(d.iterrows()):
        cells = []
        for j, v in enumerate(row):
            raw = str(v)
            cls = []
            if raw and _is_text_cell(raw):
                cls.append("txt")
            if diag and j == i + 1:
                cls.append("diag")
            c = f' class="{" ".join(cls)}"' if cls else ""
            cells.append(f"<td{c}>{_html_markup(raw)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    title = html.escape(t.attrs.get("title", ""))
    note = t.attrs.get("note", "")
    key = t.attrs.get("key", f"t{number}")
    return (f'<section id="{key}"><table class="apa"><caption><span class="num">{cat["table"]} {number}</span>'
            f'<span class="ttl">{title}</span></caption><thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
            f'</tbody></table>' + (f'<p class="note"><em>{cat["note"]}</em> {_html_markup(note)}</p>' if note else "")
            + "</section>")


def _warnings_html(res) -> str:
    cat = _cat(res)
    if not res.warnings:
        return f'<div class="ok">{html.escape(cat["no_warnings"])}</div>'
    lp, rp, colon = ("（", "）", "：") if cat.text_language == "zh" else (" (", ")", ": ")
    items = "".join(f'<li><span class="stage">{html.escape(st)}</span>{lp}{html.escape(ca)}{rp}{colon}'
                    f'{html.escape(msg)}</li>' for st, ca, msg in warning_lines(res))
    return (f'<div class="warnings" id="warnings"><h2>{html.escape(cat.f("warnings", n=len(res.warnings)))}</h2>'
            f'<ul>{items}</ul></div>')


def _meta_line(res) -> str:
    from .tables import format_value
    cat = _cat(res)
    o = res.options
    if res.sem is None:           # method="pls"
        from ..pls.report import meta_text
        return html.escape(meta_text(res, cat))
    fm = res.sem.fit_measures
    h = res.hypotheses
    return html.escape(cat.f(
        "meta", source=res.input.get("source"), n_raw=res.cleaning.n_raw, n=res.cleaning.n_clean,
        estimator=o["estimator"], missing=cat["fiml"] if o["missing"] == "ml" else
        (cat["listwise"] if o["missing"] == "listwise" else o["missing"]),
        boot=cat.f("meta.boot", draws=o["bootstrap"], seed=o["seed"]) if o["bootstrap"] else "",
        cfi=format_value(fm["cfi"], "r3"), rmsea=format_value(fm["rmsea"], "r3"), srmr=format_value(fm["srmr"], "r3"),
        k=int(h["supported"].sum()), h=len(h)))


_FRAGMENT_CSS = """<style>
.icaf-report{font-family:"Segoe UI",Helvetica,Arial,"Noto Sans SC","PingFang SC","Microsoft YaHei",sans-serif;color:inherit;text-align:left}
.icaf-report table.apa{border-collapse:collapse;margin:.4em 0 .3em 0;font-size:.86em}
.icaf-report table.apa caption{caption-side:top;text-align:left;padding-bottom:.4em}
.icaf-report table.apa caption .num{font-weight:bold;display:block;margin-bottom:.4em}
.icaf-report table.apa caption .ttl{font-style:italic;display:block}
.icaf-report table.apa thead th{border-top:2px solid currentColor;border-bottom:1px solid currentColor;padding:.3em .6em;text-align:center;background:none}
.icaf-report table.apa td{padding:.22em .6em;text-align:right;white-space:nowrap;background:none}
.icaf-report table.apa td.txt{text-align:left} .icaf-report table.apa td.diag{font-weight:bold}
.icaf-report table.apa tbody tr:last-child td{border-bottom:2px solid currentColor}
.icaf-report table.apa tbody tr:nth-child(odd){background:none}
.icaf-report p.note{font-size:.82em;max-width:1000px;margin-top:.2em;text-align:left}
.icaf-report .warnings{background:#fff6e5;color:#222;border:1px solid #f0b44c;border-left:6px solid #e69500;padding:.6em 1em;margin:1em 0}
.icaf-report .warnings h2{margin:.2em 0;font-size:1.05em} .icaf-report .stage{font-weight:600;color:#8a5300}
.icaf-report .ok{background:#eef8ee;color:#222;border:1px solid #8cc48c;padding:.5em 1em}
</style>"""


def html_fragment(res) -> str:
    """The warnings, the summary and the tables as HTML with its own CSS (for Jupyter's rich display)."""
    cat = _cat(res)
    parts = [_FRAGMENT_CSS, f'<p class="meta">{_meta_line(res)}</p>', _warnings_html(res)]
    for k, (name, t) in enumerate(res.tables.items(), start=1):
        parts.append(_html_table(t, k, cat))
    return '<div class="icaf-report">' + "".join(parts) + "</div>"


SECTIONS = [("section.sample", ["sample_flow", "sample_profile", "instrument"]),
            ("section.items", ["item_descriptives", "multivariate_normality"]),
            ("section.measurement", ["measurement_model", "discriminant_validity", "second_order",
                                     "common_method_bias", "measurement_invariance"]),
            ("section.fit", ["model_fit", "model_comparison", "modification_indices"]),
            ("section.hypotheses", ["r_squared", "hypothesis_tests", "indirect_effects"]),
            ("section.pls", ["pls_measurement", "pls_discriminant", "pls_htmt", "pls_cross_loadings",
                             "pls_collinearity", "pls_structural", "pls_r2", "pls_model_fit", "pls_predict",
                             "pls_ipma", "pls_hypotheses", "method_comparison"]),
            ("section.necessity", ["necessity_tests", "necessity_bottlenecks", "cipma"]),
            ("section.waves", ["wave_samples", "wave_invariance", "wave_latent_means", "wave_path_equality"])]
FIGURES_IN = {"section.items": ["likert", "correlation_heatmap"],
              "section.measurement": ["measurement_model", "latent_correlations"],
              "section.hypotheses": ["path_diagram"], "section.pls": ["ipma"], "section.necessity": ["nca", "cipma"],
              "section.waves": ["paths_by_wave"]}


def table_order(res) -> list:
    """Table keys in the order the report shows (and numbers) them."""
    order = [k for _, keys in SECTIONS for k in keys if k in res.tables]
    return order + [k for k in res.tables if k not in order]


def figure_order(figures: dict) -> list:
    order = [f for _, fs in FIGURES_IN.items() for f in fs if f in figures]
    return order + [f for f in figures if f not in order]


def html_report(res, figures: dict) -> str:
    """The self-contained report.html text (figures embedded as base64 PNG, CJK font subset embedded)."""
    from .. import __version__
    from .fonts import html_font_face
    cat = _cat(res)
    q = res.questionnaire
    numbers = {k: i for i, k in enumerate(table_order(res), start=1)}
    fig_numbers = {k: i for i, k in enumerate(figure_order(figures), start=1)}
    toc = "".join(f'<li><a href="#{res.tables[k].attrs.get("key", k)}">{cat["table"]} {i}. '
                  f'{html.escape(res.tables[k].attrs.get("title", k))}</a></li>' for k, i in numbers.items())
    toc += "".join(f'<li><a href="#fig-{k}">{cat["figure"]} {i}. {html.escape(cat.get("fig." + k, k))}</a></li>'
                   for k, i in fig_numbers.items())
    title = html.escape(report_title(res))
    parts = [f'<h1>{title}</h1>',
             f'<p class="meta">{_meta_line(res)}<br>{html.escape(cat.f("generated", version=__version__))} '
             f'<code>{html.escape(str(res.input.get("sha256")))}</code>.</p>',
             _warnings_html(res), f"<nav><h2>{cat['contents']}</h2><ol>{toc}</ol></nav>"]
    done = set()
    for head, keys in SECTIONS + [("section.other", [k for k in res.tables if k not in
                                                      {x for _, ks in SECTIONS for x in ks}])]:
        present = [k for k in keys if k in res.tables]
        figs = [f for f in FIGURES_IN.get(head, []) if f in figures]
        if not present and not figs:
            continue
        parts.append(f"<h2>{html.escape(cat[head])}</h2>")
        for k in present:
            parts.append(_html_table(res.tables[k], numbers[k], cat))
            done.add(k)
        for f in figs:
            b64 = base64.b64encode(Path(figures[f]).read_bytes()).decode("ascii")
            cap = figure_caption(res, f)
            parts.append(f'<figure id="fig-{f}"><figcaption><span class="num">{cat["figure"]} {fig_numbers[f]}</span>'
                         f'<span class="ttl">{html.escape(cap)}</span></figcaption>'
                         f'<img alt="{html.escape(cap)}" src="data:image/png;base64,{b64}"></figure>')
    body = "\n".join(parts)
    face = html_font_face(body) if cat.language != "en" or any("\u3000" <= ch <= "\u9fff" for ch in body) else ""
    lang = "zh-Hans" if cat.language == "zh" else "en"
    return (f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{face}{_CSS}</style></head><body>\n{body}\n</body></html>")


# --------------------------------------------------------------------------- Word
def _set_cell_border(cell, **edges):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    tcPr = cell._tc.get_or_add_tcPr()
    borders = tcPr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tcPr.append(borders)
    for edge, size in edges.items():
        el = borders.find(qn(f"w:{edge}"))
        if el is None:
            el = OxmlElement(f"w:{edge}")
            borders.append(el)
        if size:
            el.set(qn("w:val"), "single")
            el.set(qn("w:sz"), str(size))
            el.set(qn("w:color"), "000000")
        else:
            el.set(qn("w:val"), "nil")


def _east_asian(run, font: str = "SimSun") -> None:
    """Name the East Asian font of a Word run (Chinese text)."""
    from docx.oxml.ns import qn
    rpr = run._element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        from docx.oxml import OxmlElement
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    rfonts.set(qn("w:eastAsia"), font)


def _add_markup(para, text: str, size=None, bold=False):
    """Add ``text`` to a paragraph as runs, ``*x*`` in italics."""
    runs = []
    for piece, italic in markup_runs(str(text)):
        r = para.add_run(piece)
        r.italic = italic or None
        if bold:
            r.bold = True
        if size is not None:
            r.font.size = size
        runs.append(r)
    return runs


def _repeat_header(row) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    trPr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trPr.append(el)


def _mark_size(para, size) -> None:
    """Give the paragraph mark the cell's font size: an empty cell then is no taller than its neighbours."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    ppr = para._p.get_or_add_pPr()
    rpr = ppr.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        ppr.append(rpr)
    for tag in ("w:sz", "w:szCs"):
        el = OxmlElement(tag)
        el.set(qn("w:val"), str(int(size.pt * 2)))
        rpr.append(el)


def _decimal_tab(para, pos_in: float) -> None:
    from docx.enum.text import WD_TAB_ALIGNMENT
    from docx.shared import Inches
    para.paragraph_format.tab_stops.add_tab_stop(Inches(pos_in), WD_TAB_ALIGNMENT.DECIMAL)


def _docx_table(doc, t: pd.DataFrame, number: int, width_in: float, cat=None):
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Inches, Pt

    cat = cat or catalogue(t.attrs.get("language", "en"))
    d = display_frame(t)
    p = doc.add_paragraph()
    p.add_run(f"{cat['table']} {number}").bold = True
    p.paragraph_format.space_after = Pt(6)
    p.paragraph_format.keep_with_next = True
    p = doc.add_paragraph()
    p.add_run(t.attrs.get("title", "")).italic = True
    p.paragraph_format.keep_with_next = True
    ncol = len(d.columns)
    table = doc.add_table(rows=len(d) + 1, cols=ncol)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    size = Pt(9 if ncol <= 8 else 8)
    widths = _column_widths(d, width_in)
    for j, col in enumerate(table.columns):
        col.width = Inches(widths[j])      # the grid LibreOffice lays out by
    diag = t.attrs.get("diagonal", False)
    rows = list(table.rows)
    _repeat_header(rows[0])                # repeated on every page the table runs to
    head_cells = rows[0].cells
    for j, c in enumerate(d.columns):
        cell = head_cells[j]
        cell.text = ""
        _add_markup(cell.paragraphs[0], str(c), size=size)
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        cell.paragraphs[0].paragraph_format.space_after = Pt(0)
        cell.paragraphs[0].paragraph_format.keep_with_next = True
        cell.width = Inches(widths[j])
        _set_cell_border(cell, top=12, bottom=6)
    numeric_col = [j > 0 and d.iloc[:, j].map(lambda v: not v or not _is_text_cell(str(v))).all()
                   and d.iloc[:, j].astype(bool).any() for j in range(ncol)]
    # decimal tab stop per numeric column: the block of numbers is centred in the cell and the
    # decimal points (or the ends of whole numbers) line up at the stop
    tab_at = {}
    for j in range(ncol):
        if numeric_col[j]:
            vals = [str(v) for v in d.iloc[:, j] if str(v)]
            left = max(_text_len(_int_part(v)) for v in vals)
            right = max(_text_len(v) - _text_len(_int_part(v)) for v in vals)
            cw = 0.062 * (left + right)
            # room for the widest integer part left of the stop and the widest tail right of it
            centred = (widths[j] - 0.16 - cw) / 2 + 0.062 * left
            tab_at[j] = max(0.02 + 0.066 * left, min(centred, widths[j] - 0.12 - 0.062 * right))
    for i, (_, row) in enumerate(d.iterrows(), start=1):
        cells = rows[i].cells
        for j, v in enumerate(row):
            cell = cells[j]
            cell.width = Inches(widths[j])
            cell.text = ""
            para = cell.paragraphs[0]
            text = str(v)
            if numeric_col[j]:
                para.alignment = WD_ALIGN_PARAGRAPH.LEFT
                # Word (and LibreOffice) align a cell's text on its first decimal tab stop without a tab
                # character; a tab character would move the text on to the next stop
                _decimal_tab(para, tab_at[j])
            else:
                para.alignment = WD_ALIGN_PARAGRAPH.LEFT
            for run in _add_markup(para, text, size=size) or [para.add_run("")]:   # *df*, *p* in italics
                run.font.size = size
                if diag and j == i:
                    run.bold = True
            _mark_size(para, size)
            para.paragraph_format.space_after = Pt(0)
            if len(d) <= 20:
                para.paragraph_format.keep_with_next = True     # a short table stays on one page
            if i == len(d):
                _set_cell_border(cell, bottom=12)
    note = t.attrs.get("note", "")
    if note:
        p = doc.add_paragraph()
        p.add_run(cat["note"] + " ").italic = True
        _add_markup(p, note)
        p.paragraph_format.space_before = Pt(3)
        p.paragraph_format.space_after = Pt(18)
        for run in p.runs:
            run.font.size = Pt(9)
    return table


def _int_part(s: str) -> str:
    """The text before the decimal point (the whole text of an integer): what a decimal tab aligns on."""
    k = s.find(".")
    return s if k < 0 else s[:k]


def _text_len(s: str) -> int:
    """Printed width in Latin characters: a CJK character (or full-width sign) counts as two."""
    return sum(2 if ("\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef") else 1 for ch in s) + s.count("\u2192")


def _natural_widths(d: pd.DataFrame) -> list:
    """Width in inches each column needs at 8-9 pt (longest cell, header words may wrap)."""
    out = []
    for c in d.columns:
        head = strip_markup(str(c))
        vals = [str(v) for v in d[c] if str(v)]
        if vals and not any(_is_text_cell(v) for v in vals):
            # decimal-aligned: the widest integer part plus the widest tail
            cells = max(_text_len(_int_part(v)) for v in vals) + max(_text_len(v) - _text_len(_int_part(v))
                                                                      for v in vals)
        else:
            cells = max([_text_len(v) for v in vals] + [1])
        longest = max([cells] + [max(_text_len(w) for w in head.split()) if head.split() else 1])
        out.append(max(0.5, 0.2 + 0.062 * min(longest, 40)))
    return out


def _column_widths(d: pd.DataFrame, total: float) -> list:
    nat = _natural_widths(d)
    scale = total / sum(nat) if sum(nat) > total else 1.0
    return [w * scale for w in nat]


PAGE_SIZES = {"a4": (8.27, 11.69), "letter": (8.5, 11.0)}


def new_document(page_size: str = "a4"):
    """A Word document with the report's styles (Times New Roman 11 pt, SimSun for Chinese text, en-US
    and zh-CN proofing), the page size and 0.9-inch side margins; returns ``(document, text width in
    inches)``.  Used by ``report.docx`` and by the compare-waves report."""
    from docx import Document
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Inches, Pt

    from ..errors import ModelSpecificationError
    if str(page_size).lower() not in PAGE_SIZES:
        raise ModelSpecificationError(f"page_size={page_size!r} is not known; use 'a4' (default) or 'letter'")
    pw, ph = PAGE_SIZES[str(page_size).lower()]
    doc = Document()
    for name in ("Normal", "Heading 1", "Heading 2", "List Bullet"):
        st = doc.styles[name]
        if name == "Normal":
            st.font.name = "Times New Roman"
            st.font.size = Pt(11)
        rpr = st.element.get_or_add_rPr()
        rfonts = rpr.find(qn("w:rFonts"))
        if rfonts is None:
            rfonts = OxmlElement("w:rFonts")
            rpr.insert(0, rfonts)
        rfonts.set(qn("w:eastAsia"), "SimSun")      # Chinese text: SimSun (宋体), the usual face of Chinese papers
    le = OxmlElement("w:lang")
    le.set(qn("w:val"), "en-US")
    le.set(qn("w:eastAsia"), "zh-CN")
    doc.styles["Normal"].element.get_or_add_rPr().append(le)
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Inches(pw), Inches(ph)
    sec.left_margin = sec.right_margin = Inches(0.9)
    return doc, pw - 1.8


def _docx_section(doc, landscape: bool, page_size: str, margins: bool = True) -> None:
    """Start a new section in landscape or portrait (with ``margins``, 0.9-inch side margins) unless the
    last one is."""
    from docx.enum.section import WD_ORIENT
    from docx.shared import Inches
    if (doc.sections[-1].orientation == WD_ORIENT.LANDSCAPE) == landscape:
        return
    pw, ph = PAGE_SIZES[str(page_size).lower()]
    new = doc.add_section()
    new.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    new.page_width, new.page_height = (Inches(ph), Inches(pw)) if landscape else (Inches(pw), Inches(ph))
    if margins:
        new.left_margin = new.right_margin = Inches(0.9)


def docx_table_on_page(doc, table, number: int, cat, page_size: str) -> None:
    """Table ``number`` (APA, :func:`_docx_table`) in portrait, or in a landscape section when it is
    wider than the portrait text width."""
    pw, ph = PAGE_SIZES[str(page_size).lower()]
    text_w = pw - 1.8
    wide = sum(_natural_widths(display_frame(table))) > text_w + 0.4
    _docx_section(doc, wide, page_size)
    _docx_table(doc, table, number, (ph - 1.8) if wide else text_w, cat)


def docx_portrait(doc, page_size: str) -> None:
    """Back to portrait (for the figures) after landscape tables."""
    _docx_section(doc, False, page_size, margins=False)


def write_docx(res, path, figures: dict, *, page_size: str = "a4") -> None:
    """report.docx: APA tables (horizontal rules only, numbered, italic titles and symbols, notes) and figures.

    Parameters
    ----------
    page_size : {"a4", "letter"}, default "a4"
    """
    from docx.shared import Inches

    cat = _cat(res)
    doc, text_w = new_document(page_size)
    ph = PAGE_SIZES[str(page_size).lower()][1]
    doc.add_heading(report_title(res), level=1)
    doc.add_paragraph(_plain(_meta_line(res)))
    doc.add_heading(cat["warnings_heading"], level=2)
    if res.warnings:
        for st, ca, msg in warning_lines(res):
            doc.add_paragraph(f"[{st}] {msg}", style="List Bullet")
    else:
        doc.add_paragraph(cat["no_warnings"])
    for k, name in enumerate(table_order(res), start=1):
        docx_table_on_page(doc, res.tables[name], k, cat, page_size)
    if figures:
        docx_portrait(doc, page_size)
    for i, f in enumerate(figure_order(figures), start=1):
        png = figures[f]
        p = doc.add_paragraph()
        p.add_run(f"{cat['figure']} {i}").bold = True
        p.paragraph_format.keep_with_next = True
        p = doc.add_paragraph()
        p.add_run(figure_caption(res, f)).italic = True
        p.paragraph_format.keep_with_next = True
        height = Inches(min(8.0, ph - 3.2)) if f in ("likert", "measurement_model") else None
        if height is not None:
            doc.add_picture(str(png), height=height)
        else:
            doc.add_picture(str(png), width=Inches(min(6.3, text_w) if f != "latent_correlations" else 5.0))
    doc.save(str(path))


def _plain(text: str) -> str:
    return html.unescape(text)


# --------------------------------------------------------------------------- Excel
def _sheet_name(key: str, used: set) -> str:
    name = key[:31]
    k = 2
    while name in used:
        name = f"{key[:28]}_{k}"
        k += 1
    used.add(name)
    return name


# APA in Excel too: no leading zero for values bounded by 1, p < .001 shown as such (the cell keeps the number)
_XLSX_FORMATS = {"f1": "0.0", "f2": "0.00", "f3": "0.000", "r2": ".00", "r3": ".000", "int": "0",
                 "p": '[<0.001]"< .001";.000'}


def write_xlsx(res, path) -> None:
    """tables.xlsx: a contents sheet, then one sheet per table.

    Each sheet starts with "Table k" and the title, then the header row (the
    report's headers, frozen), the rows, and the note.  Numbers are stored at full
    precision with a number format (never rounded values): values bounded by 1
    without the leading zero, p < .001 shown as "< .001" while the cell holds the
    exact p value.
    """
    from openpyxl import Workbook
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    cat = _cat(res)
    order = table_order(res)
    used: set = {"contents"}
    names = [_sheet_name(k, used) for k in order]
    wb = Workbook()
    ws = wb.active
    ws.title = "contents"
    ws.append([cat["xlsx.sheet"], cat["table"], cat["xlsx.title"], cat["note"].rstrip(".：:")])
    for c in ws[1]:
        c.font = Font(bold=True)
    for i, (name, k) in enumerate(zip(names, order), start=1):
        t = res.tables[k]
        ws.append([name, i, t.attrs.get("title", k), strip_markup(t.attrs.get("note", ""))])
    ws.freeze_panes = "A2"
    for letter, w in zip("ABCD", (24, 7, 60, 100)):
        ws.column_dimensions[letter].width = w
    for i, (name, k) in enumerate(zip(names, order), start=1):
        t = res.tables[k]
        sh = wb.create_sheet(name)
        sh.cell(row=1, column=1, value=f"{cat['table']} {i}").font = Font(bold=True)
        sh.cell(row=2, column=1, value=t.attrs.get("title", k)).font = Font(italic=True)
        heads = excel_headers(t)
        for j, (h, hm) in enumerate(zip(heads, excel_headers(t, markup=True)), start=1):
            runs = markup_runs(hm)
            value = h
            if any(it for _, it in runs):     # *p*, *SD*: italic inside the bold header (rich text)
                value = CellRichText([TextBlock(InlineFont(b=True, i=it or None), txt) for txt, it in runs])
            c = sh.cell(row=4, column=j, value=value)
            c.font = Font(bold=True)
            c.alignment = Alignment(horizontal="center", vertical="bottom", wrap_text=True)
        formats = t.attrs.get("formats", {})
        yes_no = t.attrs.get("yes_no", ("Yes", "No"))
        for r_i, (_, row) in enumerate(t.iterrows()):
            for j, col in enumerate(t.columns, start=1):
                v = row[col]
                fmt = formats.get(col)
                f_row = fmt[r_i] if isinstance(fmt, list) else fmt
                if isinstance(v, (bool, np.bool_)):
                    v = yes_no[0] if v else yes_no[1]
                elif isinstance(v, (float, np.floating)):
                    v = None if not np.isfinite(v) else float(v)
                elif isinstance(v, (np.integer,)):
                    v = int(v)
                elif v is None or (not isinstance(v, str) and pd.isna(v)):
                    v = None
                elif not isinstance(v, (str, int)):
                    v = str(v)
                if isinstance(v, str):
                    v = strip_markup(v)
                c = sh.cell(row=5 + r_i, column=j, value=v)
                if isinstance(v, float):
                    c.number_format = _XLSX_FORMATS.get(f_row or "f3", "0.000")
        note = strip_markup(t.attrs.get("note", ""))
        if note:
            c = sh.cell(row=5 + len(t) + 1, column=1, value=f"{cat['note']} {note}")
            c.alignment = Alignment(wrap_text=False)
        sh.freeze_panes = "A5"
        for j, h in enumerate(heads, start=1):
            vals = [len(str(x)) for x in t.iloc[:, j - 1].tolist() if x is not None]
            sh.column_dimensions[get_column_letter(j)].width = min(60, max(8, len(h) + 2, *(v + 2 for v in vals[:200])))
    wb.save(str(path))


# --------------------------------------------------------------------------- LaTeX
_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_TEX_UNICODE = {"\u03b2": r"$\beta$", "\u03bb": r"$\lambda$", "\u03b1": r"$\alpha$", "\u03c1": r"$\rho$", "\u03c7\u00b2": r"$\chi^2$",
                "\u03c7": r"$\chi$", "\u2265": r"$\geq$", "\u2264": r"$\leq$", "\u2192": r"$\rightarrow$",
                "\u2194": r"$\leftrightarrow$", "\u2212": "$-$", "\u00b2": r"$^2$", "\u2013": "--",
                "\u2014": "---", "\u221a": r"$\surd$", "<": r"$<$", ">": r"$>$"}


def _tex(s) -> str:
    s = str(s)
    out = "".join(_TEX_SPECIAL.get(ch, ch) for ch in s)
    for k, v in _TEX_UNICODE.items():
        out = out.replace(k, v)
    return out


def _tex_markup(text) -> str:
    return "".join(rf"\emph{{{_tex(t)}}}" if it else _tex(t) for t, it in markup_runs(str(text)))


def latex_tables(res) -> str:
    """Every table as a booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
    lines = ["% Tables of the analysis; generated by icaf_sem. Requires \\usepackage{booktabs}.", ""]
    cat = _cat(res)
    if cat.language in ("zh", "both"):
        lines.insert(1, "% Chinese text: compile with XeLaTeX and \\usepackage{ctex} (or xeCJK).")
    for k, name in enumerate(table_order(res), start=1):
        t = res.tables[name]
        d = display_frame(t, minus="\u2212")
        diag = t.attrs.get("diagonal", False)
        align = "".join("l" if (j == 0 or (d[c].map(lambda v: not any(ch.isdigit() for ch in str(v))).all()
                                           and j < 3)) else "r" for j, c in enumerate(d.columns))
        lines += [r"\begin{table}[htbp]", r"\centering", rf"\caption{{{_tex(t.attrs.get('title', name))}}}",
                  rf"\label{{tab:{name}}}", r"\small" if len(d.columns) <= 8 else r"\scriptsize",
                  rf"\begin{{tabular}}{{{align}}}", r"\toprule",
                  " & ".join(_tex_markup(c) for c in d.columns) + r" \\", r"\midrule"]
        for i, (_, row) in enumerate(d.iterrows(), start=1):
            cells = [_tex_markup(v) for v in row]
            if diag and i < len(cells):
                cells[i] = rf"\textbf{{{cells[i]}}}"
            lines.append(" & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        note = t.attrs.get("note", "")
        if note:
            lines += [r"\par\smallskip", rf"\parbox{{\linewidth}}{{\footnotesize\emph{{{_tex(cat['note'])}}} {_tex_markup(note)}}}"]
        lines += [r"\end{table}", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the folder
def write_report(res, out, *, command=None, page_size: str = "a4") -> list:
    """Write the whole report folder, whole or not at all; returns the paths written.

    Parameters
    ----------
    res : AnalysisResult
    out : path
        The folder (created if needed); files already there with the same names are replaced.
    """
    from .._atomic import atomic_dir
    from ..errors import OutputError

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {str(out)!r} is a file, not a folder; fix: give a folder path")
    written = []
    with atomic_dir(out) as stage:
        figdir = stage / "figures"
        figdir.mkdir()
        figs = draw_figures(res, figdir) if res.options.get("figures", True) else {}
        (stage / "report.html").write_text(html_report(res, figs), encoding="utf-8")
        write_docx(res, stage / "report.docx", figs, page_size=page_size)
        write_xlsx(res, stage / "tables.xlsx")
        (stage / "tables.tex").write_text(latex_tables(res), encoding="utf-8")
        (stage / "results.json").write_text(json.dumps(results_dict(res), indent=2, allow_nan=False,
                                                       ensure_ascii=False) + "\n", encoding="utf-8")
        (stage / "reproducibility.json").write_text(
            json.dumps(reproducibility_record(res, command=command), indent=2, allow_nan=False) + "\n",
            encoding="utf-8")
        written = sorted(p.relative_to(stage) for p in stage.rglob("*") if p.is_file())
    return [out / p for p in written]
