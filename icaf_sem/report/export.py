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

from .tables import display_frame

__all__ = ["write_report", "results_dict", "reproducibility_record", "html_report", "html_fragment",
           "write_docx", "write_xlsx", "latex_tables", "REPORT_FILES"]

REPORT_FILES = ["report.html", "report.docx", "tables.xlsx", "tables.tex", "results.json", "reproducibility.json"]
FIGURES = {
    "path_diagram": "Structural model with standardized coefficients",
    "latent_correlations": "Latent correlations (CFA)",
    "correlation_heatmap": "Item correlations",
    "likert": "Distribution of answers by construct",
    "nca": "Necessary Condition Analysis: scatter plots with ceiling lines",
}


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
    r2 = {k if isinstance(k, str) else f"{k[0]}.{k[1]}": v for k, v in sem.r2.items()}
    cl = res.cleaning
    out = {
        "questionnaire": res.questionnaire.name,
        "options": res.options,
        "input": res.input,
        "n": {"raw_rows": cl.n_raw, "analysed": cl.n_clean, "sem": sem.nobs, "cfa": res.cfa.nobs,
              "reliability_complete_cases": res.reliability.n},
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
        "models": {"cfa": res.cfa.model, "sem": res.sem.model},
        "command": command,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "reproduce": ("icaf-sem analyze --questionnaire {q} --data {d} --out DIR --missing {m} --estimator {e}"
                      .format(q=res.input.get("questionnaire", "QUESTIONNAIRE.yaml"), d=res.input.get("source"),
                              m=res.options["missing"], e=res.options["estimator"])
                      + (f" --bootstrap {res.options['bootstrap']}" if res.options["bootstrap"] else "")
                      + (f" --seed {res.options['seed']}" if res.options["seed"] is not None else "")),
    })


# --------------------------------------------------------------------------- figures
def draw_figures(res, folder: Path) -> dict:
    """Draw every figure into ``folder`` (PNG and SVG); returns ``{name: png path}``."""
    from . import figures as F

    q = res.questionnaire
    out = {}   # in the order the report shows them
    fig = F.likert_bars(res.data, q)
    out["likert"] = F.save_figure(fig, folder, "likert")[0]
    fig = F.correlation_heatmap(res.data, q, title="Item correlations (pairwise)")
    out["correlation_heatmap"] = F.save_figure(fig, folder, "correlation_heatmap")[0]
    lc = res.reliability.latent_correlations
    if lc is not None:
        fig = F.correlation_heatmap(lc, title="Latent correlations (CFA)", annot=True)
        out["latent_correlations"] = F.save_figure(fig, folder, "latent_correlations")[0]
    fig = F.path_diagram(res.sem, alpha=res.options["alpha"])
    out["path_diagram"] = F.save_figure(fig, folder, "path_diagram")[0]
    if getattr(res, "necessity", None) is not None:
        out["nca"] = F.save_figure(F.nca_scatter_grid(res.necessity), folder, "nca")[0]
    return out


# --------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:"Segoe UI",Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.2em}
.meta{color:#555;font-size:.92em}
.warnings{background:#fff6e5;border:1px solid #f0b44c;border-left:6px solid #e69500;padding:.6em 1em;margin:1em 0}
.warnings h2{margin-top:.2em;border:none;font-size:1.05em}
.warnings li{margin:.2em 0;font-size:.92em} .stage{font-weight:600;color:#8a5300}
.ok{background:#eef8ee;border:1px solid #8cc48c;padding:.5em 1em}
table.apa{border-collapse:collapse;margin:.4em 0 .3em 0;font-size:.86em}
table.apa caption{caption-side:top;text-align:left;padding-bottom:.4em}
table.apa caption .num{font-weight:bold;display:block} table.apa caption .ttl{font-style:italic}
table.apa thead th{border-top:2px solid #000;border-bottom:1px solid #000;padding:.3em .6em;text-align:center;font-weight:600}
table.apa td{padding:.22em .6em;text-align:right;white-space:nowrap}
table.apa td.txt{text-align:left}
table.apa tbody tr:last-child td{border-bottom:2px solid #000}
table.apa td.diag{font-weight:bold}
p.note{font-size:.82em;color:#333;max-width:1000px;margin-top:.2em} p.note em{font-style:italic}
figure{margin:1em 0} figure img{max-width:100%;border:1px solid #eee} #fig-likert img{max-width:760px} #fig-latent_correlations img{max-width:640px} figcaption{font-size:.9em}
figcaption .num{font-weight:bold} nav ol{columns:2;font-size:.92em}
"""


def _html_table(t: pd.DataFrame, number: int) -> str:
    d = display_frame(t)
    diag = t.attrs.get("diagonal", False)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in d.columns)
    text_cols = {i for i, c in enumerate(t.columns[:len(d.columns)])
                 if not pd.api.types.is_numeric_dtype(t[c]) or pd.api.types.is_bool_dtype(t[c])}
    # map display columns back to text alignment: text when every value is non-numeric-looking
    body = []
    for i, (_, row) in enumerate(d.iterrows()):
        cells = []
        for j, v in enumerate(row):
            raw = str(v)
            is_txt = j in text_cols and not raw.strip("[]").replace(".", "").replace(",", "").replace(" ", "") \
                .replace("\u2212", "").replace("<", "").isdigit()
            cls = []
            if is_txt:
                cls.append("txt")
            if diag and j == i + 1:
                cls.append("diag")
            c = f' class="{" ".join(cls)}"' if cls else ""
            cells.append(f"<td{c}>{html.escape(raw)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    title = html.escape(t.attrs.get("title", ""))
    note = t.attrs.get("note", "")
    key = t.attrs.get("key", f"t{number}")
    return (f'<section id="{key}"><table class="apa"><caption><span class="num">Table {number}</span>'
            f'<span class="ttl">{title}</span></caption><thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
            f'</tbody></table>' + (f'<p class="note"><em>Note.</em> {html.escape(note)}</p>' if note else "")
            + "</section>")


def _warnings_html(res) -> str:
    if not res.warnings:
        return '<div class="ok">No warnings: every stage ran without statistical trouble.</div>'
    items = "".join(f'<li><span class="stage">{html.escape(w["stage"])}</span> '
                    f'({html.escape(w["category"])}): {html.escape(w["message"])}</li>' for w in res.warnings)
    return f'<div class="warnings" id="warnings"><h2>Warnings ({len(res.warnings)})</h2><ul>{items}</ul></div>'


def _meta_line(res) -> str:
    o = res.options
    fm = res.sem.fit_measures
    h = res.hypotheses
    return (f'{html.escape(str(res.input.get("source")))}: {res.cleaning.n_raw} rows, {res.cleaning.n_clean} respondents '
            f'analysed. {o["estimator"]}, {"FIML" if o["missing"] == "ml" else "listwise deletion"}'
            + (f', {o["bootstrap"]} bootstrap draws (seed {o["seed"]})' if o["bootstrap"] else "")
            + f'. SEM: CFI = {fm["cfi"]:.3f}, RMSEA = {fm["rmsea"]:.3f}, SRMR = {fm["srmr"]:.3f}. '
            f'Hypotheses supported: {int(h["supported"].sum())} of {len(h)}.')


def html_fragment(res) -> str:
    """The warnings, the summary and the tables as HTML (for Jupyter's rich display)."""
    parts = [f'<p class="meta">{_meta_line(res)}</p>', _warnings_html(res)]
    for k, (name, t) in enumerate(res.tables.items(), start=1):
        parts.append(_html_table(t, k))
    return "<div>" + "".join(parts) + "</div>"


def html_report(res, figures: dict) -> str:
    """The self-contained report.html text (figures embedded as base64 PNG)."""
    from .. import __version__
    q = res.questionnaire
    toc = "".join(f'<li><a href="#{t.attrs.get("key", k)}">Table {i}. {html.escape(t.attrs.get("title", k))}</a></li>'
                  for i, (k, t) in enumerate(res.tables.items(), start=1))
    toc += "".join(f'<li><a href="#fig-{k}">Figure {i}. {html.escape(FIGURES.get(k, k))}</a></li>'
                   for i, k in enumerate(figures, start=1))
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(q.name)}: analysis report"
             f"</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(q.name)}: analysis report</h1>",
             f'<p class="meta">{_meta_line(res)}<br>Generated by icaf_sem {__version__}. Input SHA-256 '
             f'<code>{html.escape(str(res.input.get("sha256")))}</code>.</p>',
             _warnings_html(res), f"<nav><h2>Contents</h2><ol>{toc}</ol></nav>"]
    sections = [("Sample", ["sample_flow", "sample_profile"]),
                ("Items and normality", ["item_descriptives", "multivariate_normality"]),
                ("Measurement model, reliability and validity", ["measurement_model", "discriminant_validity"]),
                ("Model fit", ["model_fit"]),
                ("Hypotheses", ["hypothesis_tests", "indirect_effects"])]
    if "necessity_tests" in res.tables:
        sections.append(("Necessary conditions", ["necessity_tests", "necessity_bottlenecks"]))
    numbers = {k: i for i, k in enumerate(res.tables, start=1)}
    fig_numbers = {k: i for i, k in enumerate(figures, start=1)}
    fig_in = {"Items and normality": ["likert", "correlation_heatmap"],
              "Measurement model, reliability and validity": ["latent_correlations"],
              "Hypotheses": ["path_diagram"], "Necessary conditions": ["nca"]}
    done = set()
    for head, keys in sections:
        parts.append(f"<h2>{html.escape(head)}</h2>")
        for k in keys:
            if k in res.tables:
                parts.append(_html_table(res.tables[k], numbers[k]))
                done.add(k)
        for f in fig_in.get(head, []):
            if f in figures:
                b64 = base64.b64encode(Path(figures[f]).read_bytes()).decode("ascii")
                parts.append(f'<figure id="fig-{f}"><figcaption><span class="num">Figure {fig_numbers[f]}.</span> '
                             f'{html.escape(FIGURES.get(f, f))}</figcaption>'
                             f'<img alt="{html.escape(FIGURES.get(f, f))}" src="data:image/png;base64,{b64}"></figure>')
    rest = [k for k in res.tables if k not in done]
    for k in rest:
        parts.append(_html_table(res.tables[k], numbers[k]))
    parts.append("</body></html>")
    return "\n".join(parts)


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


def _docx_table(doc, t: pd.DataFrame, number: int, width_in: float):
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Inches, Pt

    d = display_frame(t)
    p = doc.add_paragraph()
    p.add_run(f"Table {number}").bold = True
    p.paragraph_format.space_after = Pt(0)
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
    head_cells = rows[0].cells
    for j, c in enumerate(d.columns):
        cell = head_cells[j]
        cell.text = ""
        run = cell.paragraphs[0].add_run(str(c))
        run.font.size = size
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        cell.paragraphs[0].paragraph_format.space_after = Pt(0)
        cell.paragraphs[0].paragraph_format.keep_with_next = True
        cell.width = Inches(widths[j])
        _set_cell_border(cell, top=12, bottom=6)
    for i, (_, row) in enumerate(d.iterrows(), start=1):
        cells = rows[i].cells
        for j, v in enumerate(row):
            cell = cells[j]
            cell.width = Inches(widths[j])
            cell.text = ""
            para = cell.paragraphs[0]
            run = para.add_run(str(v))
            run.font.size = size
            if diag and j == i:
                run.bold = True
            txt = j == 0 or not any(ch.isdigit() for ch in str(v))
            para.alignment = WD_ALIGN_PARAGRAPH.LEFT if (txt and j < 3) else WD_ALIGN_PARAGRAPH.CENTER
            para.paragraph_format.space_after = Pt(0)
            if len(d) <= 30:
                para.paragraph_format.keep_with_next = True     # a short table stays on one page
            if i == len(d):
                _set_cell_border(cell, bottom=12)
    note = t.attrs.get("note", "")
    if note:
        p = doc.add_paragraph()
        p.add_run("Note. ").italic = True
        p.add_run(note)
        p.paragraph_format.space_before = Pt(3)
        p.paragraph_format.space_after = Pt(18)
        for run in p.runs:
            run.font.size = Pt(9)
    return table


def _natural_widths(d: pd.DataFrame) -> list:
    """Width in inches each column needs at 8-9 pt (longest cell, header words may wrap)."""
    out = []
    for c in d.columns:
        longest = max([len(str(v)) + str(v).count("\u2192") for v in d[c]]
                      + [max(len(w) for w in str(c).split()) if str(c).split() else 1])
        out.append(max(0.5, 0.2 + 0.062 * min(longest, 40)))
    return out


def _column_widths(d: pd.DataFrame, total: float) -> list:
    nat = _natural_widths(d)
    scale = total / sum(nat) if sum(nat) > total else 1.0
    return [w * scale for w in nat]


def write_docx(res, path, figures: dict) -> None:
    """report.docx: APA tables (horizontal rules only, numbered, italic titles, notes) and figures."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Inches, Pt

    doc = Document()
    st = doc.styles["Normal"]
    st.font.name = "Times New Roman"
    st.font.size = Pt(11)
    sec = doc.sections[0]
    sec.left_margin = sec.right_margin = Inches(0.9)
    doc.add_heading(f"{res.questionnaire.name}: analysis report", level=1)
    doc.add_paragraph(_plain(_meta_line(res)))
    doc.add_heading("Warnings", level=2)
    if res.warnings:
        for w in res.warnings:
            doc.add_paragraph(f"[{w['stage']}] {w['message']}", style="List Bullet")
    else:
        doc.add_paragraph("No warnings: every stage ran without statistical trouble.")
    for k, (name, t) in enumerate(res.tables.items(), start=1):
        wide = sum(_natural_widths(display_frame(t))) > 6.9
        cur = doc.sections[-1]
        want_land = wide
        is_land = cur.orientation == WD_ORIENT.LANDSCAPE
        if want_land != is_land:
            new = doc.add_section()
            new.orientation = WD_ORIENT.LANDSCAPE if want_land else WD_ORIENT.PORTRAIT
            w_, h_ = new.page_width, new.page_height
            if (want_land and w_ < h_) or (not want_land and w_ > h_):
                new.page_width, new.page_height = h_, w_
            new.left_margin = new.right_margin = Inches(0.9)
        _docx_table(doc, t, k, 9.0 if want_land else 6.5)
    if figures and doc.sections[-1].orientation == WD_ORIENT.LANDSCAPE:
        new = doc.add_section()
        new.orientation = WD_ORIENT.PORTRAIT
        new.page_width, new.page_height = new.page_height, new.page_width
    for i, (f, png) in enumerate(figures.items(), start=1):
        p = doc.add_paragraph()
        p.add_run(f"Figure {i}").bold = True
        p.paragraph_format.keep_with_next = True
        p = doc.add_paragraph()
        p.add_run(FIGURES.get(f, f)).italic = True
        p.paragraph_format.keep_with_next = True
        height = Inches(8.0) if f == "likert" else None
        if height is not None:
            doc.add_picture(str(png), height=height)
        else:
            doc.add_picture(str(png), width=Inches(6.3 if f != "latent_correlations" else 5.0))
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


def write_xlsx(res, path) -> None:
    """tables.xlsx: a contents sheet, then one sheet per table (numbers rounded to 3 decimals)."""
    used: set = {"contents"}
    contents = pd.DataFrame([{"sheet": "", "table": i, "title": t.attrs.get("title", k), "note": t.attrs.get("note", "")}
                             for i, (k, t) in enumerate(res.tables.items(), start=1)])
    names = [_sheet_name(k, used) for k in res.tables]
    contents["sheet"] = names
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        contents.to_excel(xw, sheet_name="contents", index=False)
        for name, (k, t) in zip(names, res.tables.items()):
            frame = t.copy()
            for c in frame.columns:
                if pd.api.types.is_float_dtype(frame[c]):
                    frame[c] = frame[c].round(3)
                elif frame[c].dtype == object:
                    frame[c] = frame[c].map(lambda v: v if not isinstance(v, (list, dict)) else str(v))
            frame.to_excel(xw, sheet_name=name, index=False)
            ws = xw.sheets[name]
            for col_cells in ws.columns:
                width = max(len(str(c.value)) if c.value is not None else 0 for c in col_cells)
                ws.column_dimensions[col_cells[0].column_letter].width = min(60, max(8, width + 2))
        ws = xw.sheets["contents"]
        for letter, w in zip("ABCD", (24, 7, 60, 100)):
            ws.column_dimensions[letter].width = w


# --------------------------------------------------------------------------- LaTeX
_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_TEX_UNICODE = {"\u03b2": r"$\beta$", "\u03bb": r"$\lambda$", "\u03b1": r"$\alpha$", "\u03c7\u00b2": r"$\chi^2$",
                "\u03c7": r"$\chi$", "\u2265": r"$\geq$", "\u2264": r"$\leq$", "\u2192": r"$\rightarrow$",
                "\u2194": r"$\leftrightarrow$", "\u2212": "$-$", "\u00b2": r"$^2$", "\u2013": "--",
                "\u2014": "---", "\u221a": r"$\surd$", "<": r"$<$", ">": r"$>$"}


def _tex(s) -> str:
    s = str(s)
    out = "".join(_TEX_SPECIAL.get(ch, ch) for ch in s)
    for k, v in _TEX_UNICODE.items():
        out = out.replace(k, v)
    return out


def latex_tables(res) -> str:
    """Every table as a booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
    lines = ["% Tables of the analysis; generated by icaf_sem. Requires \\usepackage{booktabs}.", ""]
    for k, (name, t) in enumerate(res.tables.items(), start=1):
        d = display_frame(t, minus="\u2212")
        diag = t.attrs.get("diagonal", False)
        align = "".join("l" if (j == 0 or (d[c].map(lambda v: not any(ch.isdigit() for ch in str(v))).all()
                                           and j < 3)) else "r" for j, c in enumerate(d.columns))
        lines += [r"\begin{table}[htbp]", r"\centering", rf"\caption{{{_tex(t.attrs.get('title', name))}}}",
                  rf"\label{{tab:{name}}}", r"\small" if len(d.columns) <= 8 else r"\scriptsize",
                  rf"\begin{{tabular}}{{{align}}}", r"\toprule",
                  " & ".join(_tex(c) for c in d.columns) + r" \\", r"\midrule"]
        for i, (_, row) in enumerate(d.iterrows(), start=1):
            cells = [_tex(v) for v in row]
            if diag and i < len(cells):
                cells[i] = rf"\textbf{{{cells[i]}}}"
            lines.append(" & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        note = t.attrs.get("note", "")
        if note:
            lines += [r"\par\smallskip", rf"\parbox{{\linewidth}}{{\footnotesize\emph{{Note.}} {_tex(note)}}}"]
        lines += [r"\end{table}", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the folder
def write_report(res, out, *, command=None) -> list:
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
        write_docx(res, stage / "report.docx", figs)
        write_xlsx(res, stage / "tables.xlsx")
        (stage / "tables.tex").write_text(latex_tables(res), encoding="utf-8")
        (stage / "results.json").write_text(json.dumps(results_dict(res), indent=2, allow_nan=False,
                                                       ensure_ascii=False) + "\n", encoding="utf-8")
        (stage / "reproducibility.json").write_text(
            json.dumps(reproducibility_record(res, command=command), indent=2, allow_nan=False) + "\n",
            encoding="utf-8")
        written = sorted(p.relative_to(stage) for p in stage.rglob("*") if p.is_file())
    return [out / p for p in written]
