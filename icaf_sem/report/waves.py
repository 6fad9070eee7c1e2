"""The comparison of survey waves as report tables, and the ``compare-waves`` report folder.

The tables follow :mod:`icaf_sem.report.tables`: unrounded numbers in a DataFrame, the title,
APA note, display headers (``*italic*`` symbols) and number formats in ``DataFrame.attrs``, so
that the report writers (HTML, Word, Excel, LaTeX) number and format them like every other table.

=================================  ===============================================
:func:`wave_samples`               rows read, excluded and analysed per wave
:func:`wave_invariance`            configural -> metric -> scalar -> strict across waves
:func:`wave_latent_means`          latent mean differences against the first wave
:func:`wave_path_equality`         each hypothesised path by wave, and its equality test
:func:`wave_tables`                all four, in report order
:func:`write_wave_report`          the ``compare-waves`` folder (report.html/.docx, tables.xlsx/.tex ...)
=================================  ===============================================

``analyze(..., compare_with=...)`` puts the same tables (and the figure of the paths by wave)
into the main report, in a section of their own.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .i18n import catalogue
from .tables import _abbrev, _arrow, _codes_in, _meta, construct_names

__all__ = ["wave_samples", "wave_invariance", "wave_latent_means", "wave_path_equality", "wave_tables",
           "write_wave_report", "WAVE_TABLES", "WAVE_REPORT_FILES"]

WAVE_TABLES = ["wave_samples", "wave_invariance", "wave_latent_means", "wave_path_equality"]
WAVE_REPORT_FILES = ["report.html", "report.docx", "tables.xlsx", "tables.tex", "compare_waves.json", "figures"]


def _missing_text(cat, missing: str) -> str:
    return cat["fiml"] if missing == "ml" else cat["listwise"]


def _n(v) -> str:
    return f"{int(v):,}".replace(",", "\u2009") if v == v else ""


def _abbrev_note(questionnaire, language, codes) -> str:
    text = _abbrev(questionnaire, language, codes)
    return text.lstrip() if catalogue(language).language == "zh" else text     # no space after 。


# --------------------------------------------------------------------------- tables
def wave_samples(cmp, language: str = "en") -> pd.DataFrame:
    """Rows read, excluded and analysed per wave (each wave cleaned with the same rules)."""
    cat = catalogue(language)
    s = cmp.samples
    df = pd.DataFrame({"wave": s["wave"].astype(str), "n_raw": s["n_raw"].astype(int),
                       "n_excluded": s["n_excluded"].astype(int), "n_clean": s["n_clean"].astype(int),
                       "blank_item_cells": s["blank_item_cells"].astype(int)})
    note = cat.f("note.wave_samples", missing=_missing_text(cat, cmp.missing))
    return _meta(df, cat["title.wave_samples"], note, key="wave_samples", language=language,
                 labels={"wave": cat["h.wave"], "n_raw": cat["h.n_raw"], "n_excluded": cat["h.n_excluded"],
                         "n_clean": cat["h.n_clean"], "blank_item_cells": cat["h.blank_cells"]},
                 formats={"wave": "str", "n_raw": "int", "n_excluded": "int", "n_clean": "int",
                          "blank_item_cells": "int"})


def wave_invariance(cmp, language: str = "en") -> pd.DataFrame:
    """The invariance sequence across waves: fit of each step and its test against the previous step.

    Under MLR the scaled statistic, the Satorra-Bentler (2001) difference and the robust CFI and
    RMSEA (with the robust 90 % CI) are shown, as the decisions use them.  TLI is in
    ``compare_waves.json`` and ``invariance.csv`` (a table of 15 columns no longer fits a page).
    """
    cat = catalogue(language)
    inv = cmp.invariance
    t = inv.table
    mlr = inv.estimator == "MLR"
    rows = []
    for i, r in t.iterrows():
        step = str(r["step"])
        fm = inv.fits[step].fit_measures if step in inv.fits else {}
        sfx = ".robust" if mlr else ""
        first = i == 0
        rows.append({
            "step": cat.get(f"wstep.{step}", step),
            "chisq": r["chisq_scaled"] if mlr else r["chisq"], "df": int(r["df"]),
            "pvalue": fm.get("pvalue.scaled" if mlr else "pvalue", np.nan),
            "cfi": r["cfi_robust"] if mlr else r["cfi"],
            "rmsea": r["rmsea_robust"] if mlr else r["rmsea"],
            "rmsea_ci_lower": fm.get("rmsea.ci.lower" + sfx, np.nan),
            "rmsea_ci_upper": fm.get("rmsea.ci.upper" + sfx, np.nan), "srmr": r["srmr"],
            "delta_chisq": np.nan if first else (r["delta_chisq_scaled"] if mlr else r["delta_chisq"]),
            "delta_df": np.nan if first else float(r["delta_df"]),
            "delta_pvalue": np.nan if first else (r["delta_pvalue_scaled"] if mlr else r["delta_pvalue"]),
            "delta_cfi": r["delta_cfi"], "delta_rmsea": r["delta_rmsea"],
            "invariant": None if first or pd.isna(r["invariant"]) else bool(r["invariant"])})
    cols = ["step", "chisq", "df", "pvalue", "cfi", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper", "srmr",
            "delta_chisq", "delta_df", "delta_pvalue", "delta_cfi", "delta_rmsea", "invariant"]
    df = pd.DataFrame(rows, columns=cols)
    df["df"] = df["df"].astype(int)
    df["invariant"] = df["invariant"].astype(object)
    sizes = ", ".join(f"{k}: {_n(v)}" for k, v in inv.group_sizes.items())
    highest = inv.highest_level
    rule = cat.f(f"note.wave_rule.{inv.criterion}", alpha=f"{inv.cutoffs['alpha']:.2f}".lstrip("0"))
    note = cat.f("note.wave_invariance", estimator=inv.estimator, missing=_missing_text(cat, inv.missing),
                 sizes=sizes, test=cat[f"note.wave_invariance.test.{'MLR' if mlr else 'ML'}"], rule=rule,
                 highest=cat.get(f"wstep.{highest}", str(highest)).lower() if cat.language != "zh"
                 else cat.get(f"wstep.{highest}", str(highest)))
    if cat.language == "zh":
        note = note.replace("。 ", "。")
    return _meta(df, cat["title.wave_invariance"], note, key="wave_invariance", language=language,
                 labels={"step": cat["h.step"], "chisq": cat["h.chisq_scaled"] if mlr else cat["h.chisq"],
                         "df": cat["h.df"], "pvalue": cat["h.p"], "cfi": "CFI",
                         "rmsea": "RMSEA [90% CI]", "srmr": "SRMR", "delta_chisq": cat["h.delta_chisq"],
                         "delta_df": cat["h.delta_df"], "delta_pvalue": cat["h.delta_p"],
                         "delta_cfi": cat["h.delta_cfi"], "delta_rmsea": cat["h.delta_rmsea"],
                         "invariant": cat["h.invariant"]},
                 formats={"step": "str", "chisq": "f2", "df": "int", "pvalue": "p", "cfi": "r3",
                          "rmsea": "r3", "rmsea_ci_lower": "r3", "rmsea_ci_upper": "r3", "srmr": "r3",
                          "delta_chisq": "f2", "delta_df": "int", "delta_pvalue": "p", "delta_cfi": "r3",
                          "delta_rmsea": "r3", "invariant": "bool"}) \
        .pipe(_inline_rmsea)


def _inline_rmsea(df):
    df.attrs["inline_ci"] = [("rmsea", "rmsea_ci_lower", "rmsea_ci_upper")]
    return df


def wave_latent_means(cmp, language: str = "en") -> pd.DataFrame:
    """Latent mean differences of each later wave against the first (the first wave's means fixed to 0)."""
    cat = catalogue(language)
    lm = cmp.latent_means
    names = construct_names(cmp.questionnaire)
    df = pd.DataFrame({
        "construct": [cat.name(names.get(c, {}), c) if c in names else c for c in lm["construct"]],
        "wave": lm["wave"].astype(str), "est": lm["est"].astype(float), "se": lm["se"].astype(float),
        "z": lm["z"].astype(float), "pvalue": lm["pvalue"].astype(float),
        "ci_lower": lm["ci_lower"].astype(float), "ci_upper": lm["ci_upper"].astype(float),
        "d": lm["d"].astype(float)})
    ref = str(cmp.wave_labels[0])
    interpretable = bool(lm["interpretable"].all()) if len(lm) else False
    if not interpretable:
        basis = cat["note.wave_basis.none"]
    elif cmp.partial_released:
        basis = cat.f("note.wave_basis.partial", released=", ".join(cmp.partial_released))
    else:
        basis = cat["note.wave_basis.full"]
    note = cat.f("note.wave_latent_means", ref=ref, estimator=cmp.estimator,
                 missing=_missing_text(cat, cmp.missing), basis=basis)
    if cat.language == "zh":
        note = note.replace("。 ", "。")
    note += _abbrev_note(cmp.questionnaire, language, list(lm["construct"]))
    return _meta(df, cat["title.wave_latent_means"], note, key="wave_latent_means", language=language,
                 group_columns=["construct"],
                 labels={"construct": cat["h.construct"], "wave": cat["h.wave"], "est": cat["h.mean_diff"],
                         "se": cat["h.se"], "z": cat["h.z"], "pvalue": cat["h.p"], "d": cat["h.d"]},
                 formats={"construct": "str", "wave": "str", "est": "f3", "se": "f3", "z": "f2", "pvalue": "p",
                          "ci_lower": "f3", "ci_upper": "f3", "d": "f2"},
                 ci_pairs=[("ci_lower", "ci_upper", cat.f("h.ci", level=95))])


def wave_path_equality(cmp, language: str = "en", alpha: float | None = None) -> pd.DataFrame:
    """Each hypothesised path by wave (*b*, β) and the test of its equality across waves."""
    cat = catalogue(language)
    p = cmp.paths
    mlr = cmp.estimator == "MLR"
    data = {"id": p["hypothesis"].astype(str), "path": [_arrow(x) for x in p["path"]]}
    labels = {"id": cat["h.hypothesis"], "path": cat["h.path"]}
    formats = {"id": "str", "path": "str"}
    for w in cmp.wave_labels:
        data[f"est_{w}"] = p[f"est_{w}"].astype(float)
        labels[f"est_{w}"] = cat.f("h.b_wave", wave=w)
        formats[f"est_{w}"] = "f3"
    for w in cmp.wave_labels:
        data[f"std_all_{w}"] = p[f"std_all_{w}"].astype(float)
        labels[f"std_all_{w}"] = cat.f("h.beta_wave", wave=w)
        formats[f"std_all_{w}"] = "r3"
    data["delta_chisq"] = (p["delta_chisq_scaled"] if mlr else p["delta_chisq"]).astype(float)
    data["delta_df"] = p["delta_df"].astype(int)
    data["pvalue"] = (p["pvalue_scaled"] if mlr else p["pvalue"]).astype(float)
    data["pvalue_holm"] = p["pvalue_holm"].astype(float)
    data["differs"] = p["differs"].astype(bool)
    labels.update({"delta_chisq": cat["h.delta_chisq"], "delta_df": cat["h.delta_df"], "pvalue": cat["h.p"],
                   "pvalue_holm": cat["h.p_holm"], "differs": cat["h.differs"]})
    formats.update({"delta_chisq": "f2", "delta_df": "int", "pvalue": "p", "pvalue_holm": "p", "differs": "bool"})
    df = pd.DataFrame(data)
    a = cmp.alpha if alpha is None else alpha
    note = cat.f("note.wave_paths", test=cat[f"note.wave_paths.test.{'MLR' if mlr else 'ML'}"], k=len(df),
                 alpha=f"{a:.2f}".lstrip("0"))
    inv_tab = cmp.invariance.table.set_index("step")
    if "metric" in inv_tab.index and not bool(inv_tab.loc["metric", "invariant"]):
        note += cat["note.wave_paths.metric_fails"]
    note += _abbrev_note(cmp.questionnaire, language, _codes_in(p["path"]))
    return _meta(df, cat["title.wave_path_equality"], note, key="wave_path_equality", language=language,
                 labels=labels, formats=formats)


def wave_tables(cmp, language: str = "en") -> dict:
    """The four tables of the comparison, keyed as in the report (:data:`WAVE_TABLES`)."""
    out = {"wave_samples": wave_samples(cmp, language), "wave_invariance": wave_invariance(cmp, language)}
    if cmp.latent_means is not None and len(cmp.latent_means):
        out["wave_latent_means"] = wave_latent_means(cmp, language)
    if len(cmp.paths):
        out["wave_path_equality"] = wave_path_equality(cmp, language)
    return out


# --------------------------------------------------------------------------- the compare-waves folder
class _WaveReport:
    """What the report writers read: ``tables``, ``options`` (language), ``questionnaire``, ``warnings``."""

    def __init__(self, cmp, language):
        self.cmp = cmp
        self.questionnaire = cmp.questionnaire
        self.options = {"language": language}
        self.tables = wave_tables(cmp, language)
        self.warnings = list(getattr(cmp, "warnings", []) or [])


def _meta_text(cmp, cat) -> str:
    inv = cmp.invariance
    highest = cat.get(f"wstep.{inv.highest_level}", str(inv.highest_level))
    return cat.f("wave_meta", waves=", ".join(map(str, cmp.wave_labels)), n=int(cmp.samples["n_clean"].sum()),
                 estimator=cmp.estimator, missing=_missing_text(cat, cmp.missing),
                 highest=highest.lower() if cat.language != "zh" else highest,
                 k=int(cmp.paths["differs"].sum()) if len(cmp.paths) else 0, p=len(cmp.paths))


def _html(rep, figures: dict) -> str:
    from .export import _CSS, _html_table, _warnings_html
    from .fonts import html_font_face
    cat = catalogue(rep.options["language"])
    cmp = rep.cmp
    title = html.escape(cat.f("wave_report_title", name=cmp.questionnaire.name))
    parts = [f"<h1>{title}</h1>", f'<p class="meta">{html.escape(_meta_text(cmp, cat))}</p>', _warnings_html(rep),
             f"<h2>{html.escape(cat['section.waves'])}</h2>"]
    for k, (name, t) in enumerate(rep.tables.items(), start=1):
        parts.append(_html_table(t, k, cat))
    for i, (f, png) in enumerate(figures.items(), start=1):
        b64 = base64.b64encode(Path(png).read_bytes()).decode("ascii")
        cap = html.escape(cat[f"fig.{f}"])
        parts.append(f'<figure id="fig-{f}"><figcaption><span class="num">{cat["figure"]} {i}</span>'
                     f'<span class="ttl">{cap}</span></figcaption>'
                     f'<img alt="{cap}" src="data:image/png;base64,{b64}"></figure>')
    body = "\n".join(parts)
    face = html_font_face(body) if any("\u3000" <= ch <= "\u9fff" for ch in body) else ""
    lang = "zh-Hans" if cat.language == "zh" else "en"
    return (f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{face}{_CSS}#fig-paths_by_wave img{{max-width:720px}}</style></head><body>\n{body}\n"
            "</body></html>")


def _docx(rep, path, figures: dict, page_size: str = "a4") -> None:
    from docx.shared import Inches

    from .export import docx_portrait, docx_table_on_page, new_document
    cat = catalogue(rep.options["language"])
    doc, text_w = new_document(page_size)
    doc.add_heading(cat.f("wave_report_title", name=rep.cmp.questionnaire.name), level=1)
    doc.add_paragraph(_meta_text(rep.cmp, cat))
    doc.add_heading(cat["warnings_heading"], level=2)
    if rep.warnings:
        for w in rep.warnings:
            doc.add_paragraph(f"[{w['stage']}] {w['message']}", style="List Bullet")
    else:
        doc.add_paragraph(cat["no_warnings"])
    for k, (name, t) in enumerate(rep.tables.items(), start=1):
        docx_table_on_page(doc, t, k, cat, page_size)
    if figures:
        docx_portrait(doc, page_size)
    for i, (f, png) in enumerate(figures.items(), start=1):
        p = doc.add_paragraph()
        p.add_run(f"{cat['figure']} {i}").bold = True
        p.paragraph_format.keep_with_next = True
        p = doc.add_paragraph()
        p.add_run(cat[f"fig.{f}"]).italic = True
        p.paragraph_format.keep_with_next = True
        doc.add_picture(str(png), width=Inches(min(6.0, text_w)))
    doc.save(str(path))


def write_wave_report(cmp, out, *, language: str = "en", page_size: str = "a4", figures: bool = True) -> list:
    """Write the ``compare-waves`` folder, whole or not at all; returns the paths written.

    Files: ``report.html`` (self-contained), ``report.docx``, ``tables.xlsx`` (one titled, noted sheet
    per table, full-precision numbers with a number format), ``tables.tex`` (booktabs),
    ``figures/paths_by_wave.png``/``.svg``, ``compare_waves.json`` (every number) and the raw tables
    as CSV (``samples.csv``, ``invariance.csv``, ``latent_means.csv``, ``path_equality.csv``,
    ``paths_by_wave.csv``; unrounded, machine-readable).
    """
    from .._atomic import atomic_dir
    from ..errors import ModelSpecificationError
    from ..report.i18n import check_language
    from .export import latex_tables, write_xlsx
    from .figures import save_figure

    language = check_language(language)
    if str(page_size).lower() not in ("a4", "letter"):
        raise ModelSpecificationError(f"page_size={page_size!r} is not known; use 'a4' (default) or 'letter'")
    rep = _WaveReport(cmp, language)
    payload = json.dumps(cmp.to_dict(), indent=1, allow_nan=False, ensure_ascii=False)
    out = Path(out)
    with atomic_dir(out) as stage:
        figs = {}
        if figures and len(cmp.paths_by_wave):
            (stage / "figures").mkdir()
            figs["paths_by_wave"] = save_figure(cmp.figure(language=language), stage / "figures",
                                                "paths_by_wave")[0]
        (stage / "report.html").write_text(_html(rep, figs), encoding="utf-8")
        _docx(rep, stage / "report.docx", figs, page_size=str(page_size).lower())
        write_xlsx(rep, stage / "tables.xlsx")
        (stage / "tables.tex").write_text(latex_tables(rep), encoding="utf-8")
        for name, df in cmp.tables().items():
            df.to_csv(stage / f"{name}.csv", index=False)
        (stage / "compare_waves.json").write_text(payload, encoding="utf-8")
        written = sorted(p.relative_to(stage) for p in stage.rglob("*") if p.is_file())
    return [out / p for p in written]
