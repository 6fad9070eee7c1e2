"""APA tables of an analysis, one function per table, each returning a DataFrame.

Every function returns unrounded numbers (NaN where a cell is empty); the
table's title, note, display headers and number formats travel in
``DataFrame.attrs`` (``title``, ``note``, ``labels``, ``formats``,
``ci_pairs``) and are applied only by :func:`display_frame` when a table is
exported (HTML, Word, LaTeX).  Excel gets the numbers themselves.

=================================  ===============================================
:func:`sample_flow`                cleaning flow (CONSORT-style)
:func:`sample_profile`             respondents by metadata category
:func:`item_descriptives`          per item: n, % missing, M, SD, skewness, kurtosis
:func:`multivariate_normality`     Mardia's skewness and kurtosis
:func:`measurement_model`          standardized loadings, alpha, CR, AVE
:func:`discriminant_validity`      sqrt(AVE), latent correlations, HTMT
:func:`model_fit`                  CFA and SEM fit against cut-offs (Hu & Bentler 1999)
:func:`model_comparison`           hypothesised vs competing models: fit, LRT (scaled under MLR), Vuong
:func:`hypothesis_tests`           one row per hypothesis
:func:`indirect_effects`           indirect and total effects, bootstrap CIs, mediation type
:func:`necessity_tests`            necessity hypotheses (NCA): d, p, required level, verdict
:func:`necessity_bottlenecks`      NCA bottleneck rows at the declared outcome levels
=================================  ===============================================
"""
from __future__ import annotations

import math
import re
from typing import Optional

import numpy as np
import pandas as pd

from .i18n import catalogue

__all__ = [
    "sample_flow", "sample_profile", "item_descriptives", "multivariate_normality", "measurement_model",
    "discriminant_validity", "model_fit", "hypothesis_tests", "indirect_effects", "display_frame",
    "necessity_tests", "necessity_bottlenecks", "model_comparison",
    "format_value", "FIT_CUTOFFS", "r_squared", "instrument", "construct_names", "strip_markup", "markup_runs",
]

HU_BENTLER = "Hu & Bentler (1999)"
KLINE = "Kline (2016)"

# measure, lavaan key (ML), lavaan key (MLR), direction, cut-off, source
FIT_CUTOFFS = [
    ("CFI", "cfi", "cfi.robust", ">=", 0.95, HU_BENTLER),
    ("TLI", "tli", "tli.robust", ">=", 0.95, HU_BENTLER),
    ("RMSEA", "rmsea", "rmsea.robust", "<=", 0.06, HU_BENTLER),
    ("SRMR", "srmr", "srmr", "<=", 0.08, HU_BENTLER),
]


def _meta(df: pd.DataFrame, title: str, note: str = "", labels: Optional[dict] = None,
          formats: Optional[dict] = None, ci_pairs: Optional[list] = None, key: str = "",
          group_columns: Optional[list] = None, language: str = "en") -> pd.DataFrame:
    cat = catalogue(language)
    df.attrs = {"title": title, "note": note, "labels": dict(labels or {}), "formats": dict(formats or {}),
                "ci_pairs": list(ci_pairs or []), "key": key, "group_columns": list(group_columns or []),
                "language": cat.language, "yes_no": (cat["yes"], cat["no"])}
    return df


def _abbrev(questionnaire, language: str, codes) -> str:
    """``"Abbreviations: BC = business collaboration; ..."`` for the construct codes shown in a table."""
    if questionnaire is None:
        return ""
    cat = catalogue(language)
    names = construct_names(questionnaire)
    pairs = [f"{c} = {cat.name(names[c], c, with_code=False)}" for c in dict.fromkeys(codes) if c in names]
    sep = "；" if cat.language == "zh" else "; "
    return (" " + cat.f("abbrev", pairs=sep.join(pairs))) if pairs else ""


def construct_names(questionnaire) -> dict:
    """Construct code -> ``{language: name}`` for the first- and higher-order constructs."""
    spec = getattr(questionnaire, "spec", None)
    if spec is None:
        return {}
    out = {c: dict(v.name) for c, v in spec.constructs.items()}
    out.update({c: dict(v.name) for c, v in spec.higher_order.items()})
    return out


def strip_markup(text: str) -> str:
    """Drop the ``*italic*`` marks of a header or note (plain-text outputs)."""
    return re.sub(r"\*([^*\s][^*]*?)\*", r"\1", str(text))


def markup_runs(text: str) -> list:
    """Split ``"*M* (SD)"`` into ``[("M", True), (" (SD)", False)]``: (text, italic) runs."""
    out, pos = [], 0
    for m in re.finditer(r"\*([^*\s][^*]*?)\*", str(text)):
        if m.start() > pos:
            out.append((text[pos:m.start()], False))
        out.append((m.group(1), True))
        pos = m.end()
    if pos < len(str(text)):
        out.append((str(text)[pos:], False))
    return out


# --------------------------------------------------------------------------- formatting (export only)
def format_value(v, fmt: str = "f3", yes_no=("Yes", "No")) -> str:
    """Format one cell for display: ``f2``/``f3`` fixed, ``r2``/``r3`` without the leading zero (APA,
    for values bounded by 1), ``p`` APA p-value, ``int``, ``bool`` (Yes/No), ``str``."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or (v is pd.NA):
        return ""
    if fmt == "str":
        return str(v)
    if fmt == "bool":
        return yes_no[0] if bool(v) else yes_no[1]
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not np.isfinite(x):
        return ""
    if fmt == "int":
        return f"{int(round(x))}"
    if fmt == "p":
        if x < 0.001:
            return "< .001"
        t = f"{x:.3f}"
        return t[1:] if t.startswith("0.") else t
    digits = int(fmt[1:]) if len(fmt) > 1 and fmt[1:].isdigit() else 3
    s = f"{x:.{digits}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    if fmt.startswith("r"):
        s = s.replace("0.", ".", 1) if s.startswith(("0.", "-0.")) else s
    return s


def display_frame(df: pd.DataFrame, minus: str = "\u2212") -> pd.DataFrame:
    """The table as strings for display: formats applied, CI columns merged to ``[lo, hi]``, headers relabelled.

    Headers may carry ``*italic*`` marks (see :func:`markup_runs`); the writers render them.

    Parameters
    ----------
    minus : str
        Character used for negative numbers (the typographic minus by default; ``"-"`` for LaTeX).
    """
    attrs = df.attrs or {}
    formats = attrs.get("formats", {})
    labels = attrs.get("labels", {})
    yes_no = attrs.get("yes_no", ("Yes", "No"))
    merged = {lo: (hi, head) for lo, hi, head in attrs.get("ci_pairs", [])}
    inline = {v: (lo, hi) for v, lo, hi in attrs.get("inline_ci", [])}
    skip = {hi for hi, _ in merged.values()} | {c for lo_hi in inline.values() for c in lo_hi}
    cols: dict = {}
    n = len(df)
    hidden = set(attrs.get("hidden", []))
    for c in df.columns:
        if c in skip or c in hidden:
            continue
        series = df[c]
        is_bool = pd.api.types.is_bool_dtype(series)
        default = "bool" if is_bool else ("f3" if pd.api.types.is_numeric_dtype(series) else "str")
        fmt = formats.get(c, default)
        fmts = fmt if isinstance(fmt, list) else [fmt] * n
        if c in merged:
            hi, head = merged[c]
            vals = []
            for v_lo, v_hi, f in zip(series.tolist(), df[hi].tolist(), fmts):
                a, b = format_value(v_lo, f, yes_no), format_value(v_hi, f, yes_no)
                vals.append(f"[{a}, {b}]" if a or b else "")
            cols[head] = vals
        else:
            vmap = attrs.get("value_map", {}).get(c, {})
            vals = [vmap.get(v, format_value(v, f, yes_no)) if isinstance(v, str) else format_value(v, f, yes_no)
                    for v, f in zip(series.tolist(), fmts)]
            if c in inline:     # RMSEA .019 [.008, .026]: the interval in the value's cell
                lo, hi = inline[c]
                for i, (a, b, f) in enumerate(zip(df[lo].tolist(), df[hi].tolist(), fmts)):
                    ta, tb = format_value(a, f, yes_no), format_value(b, f, yes_no)
                    if vals[i] and ta and tb:
                        vals[i] = f"{vals[i]} [{ta}, {tb}]"
            cols[labels.get(c, c)] = vals
    for c in attrs.get("group_columns", []):
        head = labels.get(c, c)
        if head in cols:
            vals, prev = [], None
            for v in cols[head]:
                vals.append("" if v == prev else v)
                prev = v
            cols[head] = vals
    if minus != "-":
        cols = {k: [s.replace("-", minus) if _numeric_text(s) else s for s in v] for k, v in cols.items()}
    out = pd.DataFrame(cols, index=df.index)
    out.attrs = dict(attrs)
    return out


def _numeric_text(s: str) -> bool:
    if not isinstance(s, str) or "-" not in s:
        return False
    t = s.strip("[]").replace(",", " ").replace("[", " ").replace("]", " ").split()
    try:
        [float(x) for x in t]
        return True
    except ValueError:
        return False


def excel_headers(df: pd.DataFrame, markup: bool = False) -> list:
    """The readable header of every column of ``df`` for a spreadsheet (the report's headers, plain text).

    Columns merged into one display cell (CI bounds) get the display header with "lower"/"upper".
    ``markup=True`` keeps the ``*italic*`` marks (for rich-text cells).
    """
    if markup:
        plain = excel_headers(df)
        attrs = df.attrs or {}
        labels = attrs.get("labels", {})
        return [labels[c] if (c in labels and strip_markup(labels[c]) == h) else h
                for c, h in zip(df.columns, plain)]
    attrs = df.attrs or {}
    labels = attrs.get("labels", {})
    lower, upper = ("下限", "上限") if attrs.get("language") == "zh" else ("lower", "upper")
    pairs = {}
    for lo, hi, head in attrs.get("ci_pairs", []):
        pairs[lo], pairs[hi] = f"{strip_markup(head)} {lower}", f"{strip_markup(head)} {upper}"
    for v, lo, hi in attrs.get("inline_ci", []):
        head = strip_markup(labels.get(v, v))
        head = head.split(" [")[0] if head.upper().startswith("RMSEA") else f"{head} RMSEA"   # "RMSEA [90% CI]"
        pairs[lo], pairs[hi] = f"{head} 90% CI {lower}", f"{head} 90% CI {upper}"
    out, seen = [], set()
    for c in df.columns:
        h = pairs.get(c) or strip_markup(labels.get(c, c))
        if h in seen:
            h = f"{h} ({c})"
        seen.add(h)
        out.append(h)
    return out


# --------------------------------------------------------------------------- sample
def sample_flow(clean_result, language: str = "en") -> pd.DataFrame:
    """The cleaning flow: the sample after each rule (``step, n_remaining, n_removed, n_flagged``).

    Parameters
    ----------
    clean_result : CleanResult
    language : {"en", "zh", "both"}
    """
    from .i18n.messages import translate
    cat = catalogue(language)
    lang = cat.text_language
    df = clean_result.flow[["step", "n_remaining", "n_removed", "n_flagged"]].copy().reset_index(drop=True)
    df["step"] = [translate(s_, lang) for s_ in df["step"]]
    for c in ("n_remaining", "n_removed", "n_flagged"):
        df[c] = df[c].astype(float)
    reasons = clean_result.exclusions["reason"].value_counts() if len(clean_result.exclusions) else {}
    note = cat.f("note.sample_flow", n_raw=clean_result.n_raw, n=clean_result.n_clean)
    if len(reasons):
        sep = "；" if lang == "zh" else "; "
        colon = "：" if lang == "zh" else ": "
        note += cat.f("note.sample_flow.reasons",
                      reasons=sep.join(f"{translate(k, lang)}{colon}{v}" for k, v in reasons.items()))
    return _meta(df, cat["title.sample_flow"], note, key="sample_flow", language=language,
                 labels={"step": cat["h.step"], "n_remaining": cat["h.n_remaining"], "n_removed": cat["h.n_removed"],
                         "n_flagged": cat["h.n_flagged"]},
                 formats={"step": "str", "n_remaining": "int", "n_removed": "int", "n_flagged": "int"})


def _text(texts: dict, language: str, fallback: str) -> str:
    cat_lang = "zh" if language == "zh" else "en"
    if language == "both" and texts.get("en") and texts.get("zh"):
        return f"{texts['en']} ({texts['zh']})"
    return texts.get(cat_lang) or texts.get("en") or fallback


def sample_profile(data: pd.DataFrame, questionnaire, language: str = "en") -> pd.DataFrame:
    """Respondents by every category metadata column (``variable, category, n, percent``).

    Categories declared in the questionnaire come first, in its order, named in the
    report's language (the questionnaire's ``value_labels``); answers it does not
    declare follow; missing answers are counted as "(missing)".
    """
    cat = catalogue(language)
    q = questionnaire
    rows = []
    notes = []
    for col, spec in q.metadata.items():
        label = _text(spec.get("label", {}) or {}, language, col)
        vlabels = spec.get("value_labels") or {}
        if spec.get("kind") == "category" and col in data.columns:
            vals = data[col].astype("object")
            counts = vals.value_counts(dropna=True)
            order = list(spec.get("values") or [])
            order += [v for v in counts.index if v not in order]
            total = len(vals)
            for v in order:
                n = int(counts.get(v, 0))
                rows.append({"variable": label, "category": _text(vlabels.get(str(v), {}), language, str(v)),
                             "n": float(n), "percent": 100.0 * n / total if total else math.nan})
            miss = int(vals.isna().sum())
            if miss:
                rows.append({"variable": label, "category": cat["missing"], "n": float(miss),
                             "percent": 100.0 * miss / total})
        elif spec.get("kind") == "duration" and col in data.columns:
            d = pd.to_numeric(data[col], errors="coerce").dropna()
            if len(d):
                unit = spec.get("unit") or ""
                if cat.text_language == "zh" and unit == "seconds":
                    unit = "秒"
                notes.append(cat.f("note.duration", label=label, median=d.median(), unit=unit,
                                   q1=d.quantile(.25), q3=d.quantile(.75)).replace("  ", " "))
    df = pd.DataFrame(rows, columns=["variable", "category", "n", "percent"])
    note = cat.f("note.sample_profile", n=len(data)) + (" " + " ".join(notes) if notes else "")
    return _meta(df, cat["title.sample_profile"], note, key="sample_profile", group_columns=["variable"],
                 language=language,
                 labels={"variable": cat["h.variable"], "category": cat["h.category"], "n": cat["h.n"],
                         "percent": cat["h.percent"]},
                 formats={"n": "int", "percent": "f1"})


# --------------------------------------------------------------------------- items
def item_descriptives(data: pd.DataFrame, questionnaire, *, skew_max: float = 2.0,
                      kurtosis_max: float = 7.0, language: str = "en") -> pd.DataFrame:
    """Per item: construct, n, % missing, M, SD, skewness, excess kurtosis and a normality verdict.

    ``normal_ok`` is |skewness| < ``skew_max`` and |kurtosis| < ``kurtosis_max``
    (Curran, West & Finch 1996).  Skewness and kurtosis are psych's
    ``type = 3`` estimators (``psych::describe``).
    """
    from ..measurement.diagnostics import item_descriptives as _desc

    cat = catalogue(language)
    q = questionnaire
    d = _desc(data, q.items)
    d.insert(0, "construct", [q.item_construct[i] for i in d["item"]])
    d["normal_ok"] = (d["skew"].abs() < skew_max) & (d["kurtosis"].abs() < kurtosis_max)
    d = d[["construct", "item", "n", "pct_missing", "mean", "sd", "median", "min", "max", "skew", "kurtosis",
           "normal_ok"]]
    d["n"] = d["n"].astype(float)
    bad = d.loc[~d["normal_ok"], "item"].tolist()
    note = (cat.f("note.item_descriptives", n=len(data), skew=f"{skew_max:g}", kurt=f"{kurtosis_max:g}")
            + (cat.f("note.item_descriptives.bad", items=", ".join(bad)) if bad else cat["note.item_descriptives.ok"])
            + _abbrev(q, language, d["construct"]))
    return _meta(d, cat["title.item_descriptives"], note, key="item_descriptives",
                 group_columns=["construct"], language=language,
                 labels={"construct": cat["h.construct"], "item": cat["h.item"], "n": cat["h.n"],
                         "pct_missing": cat["h.pct_missing"], "mean": cat["h.mean"], "sd": cat["h.sd"],
                         "median": cat["h.median"], "min": cat["h.min"], "max": cat["h.max"], "skew": cat["h.skew"],
                         "kurtosis": cat["h.kurtosis"], "normal_ok": cat["h.normal_ok"]},
                 formats={"n": "int", "pct_missing": "f1", "mean": "f2", "sd": "f2", "median": "f1", "min": "int",
                          "max": "int", "skew": "f2", "kurtosis": "f2", "normal_ok": "bool"})


def multivariate_normality(data: pd.DataFrame, questionnaire, language: str = "en") -> pd.DataFrame:
    """Mardia's multivariate skewness and kurtosis (complete cases), as ``psych::mardia``."""
    from ..measurement.diagnostics import mardia

    cat = catalogue(language)
    m = mardia(data, questionnaire.items)
    r = m.iloc[0]
    df = pd.DataFrame([
        {"statistic": "Mardia b1p", "coefficient": r["b1p"], "test": r["skew"], "df": r["df"],
         "pvalue": r["p_skew"]},
        {"statistic": "Mardia b2p", "coefficient": r["b2p"], "test": r["kurtosis"], "df": math.nan,
         "pvalue": r["p_kurt"]},
    ])
    df["statistic"] = [f"{cat['h.skew']} (b1p)", f"{cat['h.kurtosis']} (b2p)"]
    note = cat.f("note.mardia", n=int(r["n"]), p=int(r["p"]))
    return _meta(df, cat["title.multivariate_normality"], note, key="multivariate_normality", language=language,
                 labels={"statistic": cat["h.statistic"], "coefficient": cat["h.coefficient"], "test": cat["h.test"],
                         "df": cat["h.df"], "pvalue": cat["h.p"]},
                 formats={"coefficient": "f2", "test": "f2", "df": "int", "pvalue": "p"})


# --------------------------------------------------------------------------- measurement model
def measurement_model(cfa, reliability, sem=None, questionnaire=None, language: str = "en", cfa2=None
                      ) -> pd.DataFrame:
    """Standardized loadings with alpha, CR and AVE per construct.

    Parameters
    ----------
    cfa : SEMResult
        The first-order CFA (``questionnaire.cfa_syntax()``).
    reliability : ReliabilityReport
        Alpha, CR and AVE per construct.
    sem : SEMResult, optional
        When given, the second-order loadings of the structural model are added
        (their construct-level cells stay empty).
    questionnaire : Questionnaire, optional
        Spells out the construct codes in the note.
    language : {"en", "zh", "both"}
    cfa2 : SEMResult, optional
        The second-order measurement model: the second-order rows then carry its CR,
        AVE and omega (:func:`icaf_sem.measurement.higher_order.second_order_reliability`).

    Returns
    -------
    DataFrame
        ``construct, item, est, se, z, pvalue, loading, alpha, omega, composite_reliability, ave``;
        the construct statistics fill the first row of each construct, NaN below.
    """
    cat = catalogue(language)
    t = cfa.parameters
    load = t[(t["op"] == "=~")]
    rel = reliability.constructs.set_index("construct")
    rows = []
    for c in dict.fromkeys(load["lhs"]):
        block = load[load["lhs"] == c]
        for k, (_, r) in enumerate(block.iterrows()):
            row = {"construct": c, "item": r["rhs"], "est": r["est"], "se": r["se"] if r["free"] else math.nan,
                   "z": r["z"] if r["free"] else math.nan, "pvalue": r["pvalue"] if r["free"] else math.nan,
                   "loading": r["std_all"], "alpha": math.nan, "omega": math.nan, "composite_reliability": math.nan,
                   "ave": math.nan}
            if k == 0 and c in rel.index:
                row.update(alpha=rel.at[c, "alpha"], composite_reliability=rel.at[c, "composite_reliability"],
                           ave=rel.at[c, "ave"], omega=rel.at[c, "omega"] if "omega" in rel.columns else math.nan)
            rows.append(row)
    if sem is not None:
        s = sem.parameters
        lvs = set(s.loc[s["op"] == "=~", "lhs"])
        higher = s[(s["op"] == "=~") & (s["rhs"].isin(lvs))]
        rel2 = None
        if cfa2 is not None:
            from ..measurement.higher_order import second_order_reliability
            rel2 = second_order_reliability(cfa2).set_index("construct")
        seen: set = set()
        for _, r in higher.iterrows():
            row = {"construct": r["lhs"], "item": r["rhs"], "est": r["est"],
                   "se": r["se"] if r["free"] else math.nan, "z": r["z"] if r["free"] else math.nan,
                   "pvalue": r["pvalue"] if r["free"] else math.nan,
                   "loading": r["std_all"], "alpha": math.nan, "omega": math.nan, "composite_reliability": math.nan,
                   "ave": math.nan}
            if rel2 is not None and r["lhs"] in rel2.index and r["lhs"] not in seen:
                row.update(omega=rel2.at[r["lhs"], "omega"], ave=rel2.at[r["lhs"], "ave"],
                           composite_reliability=rel2.at[r["lhs"], "composite_reliability"])
            seen.add(r["lhs"])
            rows.append(row)
    df = pd.DataFrame(rows, columns=["construct", "item", "est", "se", "z", "pvalue", "loading", "alpha", "omega",
                                     "composite_reliability", "ave"])
    th = reliability.thresholds
    n_cfa = getattr(cfa, "nobs", None)
    basis = getattr(reliability, "basis", "complete_cases")
    alpha_basis = cat.f("note.alpha_em", n=n_cfa) if basis == "em" else cat.f("note.alpha_cc", n=reliability.n)
    note = cat.f("note.measurement_model", n=n_cfa,
                 missing=cat["fiml"] if getattr(cfa, "missing", "") == "ml" else cat["listwise"],
                 alpha_basis=alpha_basis, t_alpha=_cut(th.alpha), t_ave=_cut(th.ave))
    if sem is not None and len(df) and df["construct"].isin(set(sem.parameters.loc[sem.parameters["op"] == "=~", "lhs"])
                                                            - set(load["lhs"])).any():
        note += cat["note.second_order_cr" if cfa2 is not None else "note.second_order"]
    note += _abbrev(questionnaire, language, df["construct"])
    return _meta(df, cat["title.measurement_model"], note,
                 key="measurement_model", group_columns=["construct"], language=language,
                 labels={"construct": cat["h.construct"], "item": cat["h.indicator"], "est": cat["h.b"],
                         "se": cat["h.se"], "z": cat["h.z"], "pvalue": cat["h.p"], "loading": cat["h.lambda"],
                         "alpha": cat["h.alpha"], "omega": cat["h.omega"], "composite_reliability": cat["h.cr"],
                         "ave": cat["h.ave"]},
                 formats={"est": "f3", "se": "f3", "z": "f2", "pvalue": "p", "loading": "r3", "alpha": "r3",
                          "omega": "r3", "composite_reliability": "r3", "ave": "r3"})


def discriminant_validity(reliability, questionnaire=None, language: str = "en", n: Optional[int] = None
                          ) -> pd.DataFrame:
    """One matrix: sqrt(AVE) on the diagonal, latent correlations below it, HTMT above it.

    The index and the columns are the constructs.  ``attrs["failures"]`` lists
    the pairs failing Fornell-Larcker or HTMT.
    """
    cat = catalogue(language)
    fl = reliability.fornell_larcker
    h = reliability.htmt
    names = list(fl.index) if fl is not None else list(h.index)
    m = pd.DataFrame(np.nan, index=names, columns=names)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i == j:
                m.iat[i, j] = fl.loc[a, a] if fl is not None else math.nan
            elif i > j:
                m.iat[i, j] = fl.loc[a, b] if fl is not None else math.nan
            else:
                m.iat[i, j] = h.loc[a, b] if (a in h.index and b in h.columns) else math.nan
    disc = reliability.discriminant
    fails = []
    for _, d in disc.iterrows():
        why = []
        if d.get("htmt_ok") is False or d.get("htmt_ok") == False:  # noqa: E712
            why.append(f"HTMT = {format_value(d['htmt'], 'r3')}")
        if d.get("fornell_larcker_ok") is False or d.get("fornell_larcker_ok") == False:  # noqa: E712
            why.append("r > \u221aAVE")
        if why:
            fails.append(f"{d['construct_a']}\u2013{d['construct_b']} ({', '.join(why)})")
    th = reliability.thresholds
    basis = getattr(reliability, "basis", "complete_cases")
    htmt_basis = cat["note.htmt_em"] if basis == "em" else cat.f("note.htmt_cc", n=reliability.n)
    note = (cat.f("note.discriminant", n=n if n is not None else reliability.n, htmt_basis=htmt_basis,
                  t_htmt=_cut(th.htmt))
            + (cat.f("note.discriminant.fail", pairs="; ".join(fails)) if fails else cat["note.discriminant.ok"])
            + _abbrev(questionnaire, language, names))
    m.index.name = "construct"
    m = m.reset_index()
    out = _meta(m, cat["title.discriminant_validity"], note, key="discriminant_validity", language=language,
                labels={"construct": cat["h.construct"]}, formats={c: "r3" for c in names})
    out.attrs["failures"] = fails
    out.attrs["diagonal"] = True
    return out


# --------------------------------------------------------------------------- fit
def _fit_value(fm: dict, key: str) -> float:
    v = fm.get(key, math.nan)
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _cut(v: float) -> str:
    s = f"{v:g}"
    return s[1:] if s.startswith("0.") else s


def _meets(value: float, direction: str, cutoff: float):
    if not np.isfinite(value):
        return None
    return bool(value >= cutoff) if direction == ">=" else bool(value <= cutoff)


def model_fit(cfa=None, sem=None, *, robust: Optional[bool] = None, language: str = "en", cfa2=None) -> pd.DataFrame:
    """Fit of the CFA and the structural model against the usual cut-offs.

    Parameters
    ----------
    cfa, sem : SEMResult, optional
    robust : bool, optional
        Report the scaled/robust measures (``chisq.scaled``, ``cfi.robust`` ...);
        by default when the models were fitted with MLR or a scaled WLS estimator (WLSMV ...).
    language : {"en", "zh", "both"}

    Returns
    -------
    DataFrame
        ``measure, cfa, sem, cutoff, cfa_ok, sem_ok, source`` and, on the RMSEA row,
        ``cfa_ci_lower, cfa_ci_upper, sem_ci_lower, sem_ci_upper`` (its 90% interval,
        shown in the RMSEA cell): chi-square, df, p, chi-square/df (<= 3, Carmines &
        McIver 1981), CFI and TLI (>= .95), RMSEA (<= .06), SRMR (<= .08), the
        cut-offs of Hu & Bentler (1999).
    """
    cat = catalogue(language)
    models = {"cfa": cfa, "cfa2": cfa2, "sem": sem}
    fms = {k: (m.fit_measures if m is not None else {}) for k, m in models.items()}
    if robust is None:
        robust = any(getattr(m, "estimator", "ML") in ("MLR", "WLSMV", "WLSM", "WLSMVS", "ULSMV", "ULSM")
                     for m in models.values() if m is not None)
    chi, pv = ("chisq.scaled", "pvalue.scaled") if robust else ("chisq", "pvalue")
    rows = []

    def add(measure, key_of, direction=None, cutoff=None, source="", fmt="f3", cut_text=None, ci=None):
        row = {"measure": measure, "cutoff": cut_text if cut_text is not None else
               (f"{'≥' if direction == '>=' else '≤'} {_cut(cutoff)}" if cutoff is not None else ""),
               "source": source, "_fmt": fmt}
        for k in models:
            v = key_of(fms[k])
            row[k] = v
            row[f"{k}_ok"] = _meets(v, direction, cutoff) if cutoff is not None else None
            row[f"{k}_ci_lower"] = _fit_value(fms[k], ci[0]) if ci else math.nan
            row[f"{k}_ci_upper"] = _fit_value(fms[k], ci[1]) if ci else math.nan
        rows.append(row)

    add(cat["m.chisq_scaled"] if robust else cat["m.chisq"], lambda f: _fit_value(f, chi), fmt="f2")
    add("*df*", lambda f: _fit_value(f, "df"), fmt="int")
    add("*p*", lambda f: _fit_value(f, pv), fmt="p", cut_text=cat["m.p_cut"])
    add(cat["m.chisq_df"], lambda f: _fit_value(f, chi) / _fit_value(f, "df") if _fit_value(f, "df") > 0 else math.nan,
        "<=", 3.0, "Carmines & McIver (1981)", fmt="f2")
    for name, k_ml, k_r, direction, cut, src in FIT_CUTOFFS:
        key = k_r if robust else k_ml
        ci = None
        label = name + (cat["m.robust"] if robust and k_r != k_ml else "")
        if name == "RMSEA":
            ci = ("rmsea.ci.lower.robust", "rmsea.ci.upper.robust") if robust else ("rmsea.ci.lower", "rmsea.ci.upper")
            label = label + " [90% CI]"
        add(label, lambda f, key=key: _fit_value(f, key), direction, cut, src, fmt="r3", ci=ci)
    cols = ["measure"] + list(models) + ["cutoff"] + [f"{k}_ok" for k in models] + ["source"] + \
        [f"{k}_ci_{s}" for k in models for s in ("lower", "upper")] + ["_fmt"]
    df = pd.DataFrame(rows, columns=cols)
    fmts = df.pop("_fmt").tolist()
    for k in models:
        for c in (k, f"{k}_ci_lower", f"{k}_ci_upper"):
            df[c] = df[c].astype(float)
        df[f"{k}_ok"] = df[f"{k}_ok"].astype(object)
    present = [k for k in models if models[k] is not None]
    df = df[["measure"] + present + ["cutoff"] + [f"{k}_ok" for k in present] + ["source"]
            + [f"{k}_ci_{s}" for k in present for s in ("lower", "upper")]]
    est = next((m for m in models.values() if m is not None), None)
    how = ""
    if est is not None:
        how = cat.f("note.fit_how", estimator=getattr(est, "estimator", "ML"),
                    missing=cat["fiml_long"] if getattr(est, "missing", "") == "ml" else cat["listwise"],
                    n=getattr(est, "nobs", ""))
    note = how + cat["note.model_fit"]
    labels = {"measure": cat["h.measure"], "cfa": cat["h.cfa"], "sem": cat["h.sem"], "cutoff": cat["h.cutoff"],
              "cfa_ok": cat["h.cfa_ok"], "sem_ok": cat["h.sem_ok"], "source": cat["h.source"],
              "cfa2": cat["h.cfa2"], "cfa2_ok": cat["h.cfa2"] + (" \u2713" if cat.text_language == "zh" else " meets")}
    formats = {k: fmts for k in present}
    formats.update({f"{k}_ci_{s}": fmts for k in present for s in ("lower", "upper")})
    formats.update({f"{k}_ok": "bool" for k in present})
    out = _meta(df, cat["title.model_fit"], note, key="model_fit", language=language, labels=labels, formats=formats)
    out.attrs["inline_ci"] = [(k, f"{k}_ci_lower", f"{k}_ci_upper") for k in present]
    return out


def model_comparison(comparison, questionnaire=None, language: str = "en") -> pd.DataFrame:
    """The hypothesised model against the competing models (:func:`icaf_sem.comparison.compare_competing`).

    Returns
    -------
    DataFrame
        One row per model: ``model`` (its name in ``language``), ``relation`` (to the hypothesised
        model), ``chisq, df, cfi, tli, rmsea`` (with ``rmsea_ci_lower/upper`` shown in its cell),
        ``srmr, aic, bic``, ``chisq_diff, df_diff, pvalue_diff`` (lavTestLRT against the hypothesised
        model, Satorra-Bentler 2001 scaled under MLR), ``delta_cfi``, ``vuong_z, vuong_p`` (non-nested
        models: z > 0 favours the row's model, p one-sided toward the better one); further columns
        (npar, the ML chi-square, scaling factor, the Vuong variance test) are kept for the
        spreadsheet and results.json but not displayed.
    """
    cat = catalogue(language)
    t = comparison.table
    titles = {m.name: m.title(cat.language) for m in comparison.models}
    df = pd.DataFrame({"model": [titles.get(k, k) for k in t.index], "relation": t["relation"].tolist()})
    for c in ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper", "srmr", "aic",
              "bic", "chisq_diff", "df_diff", "pvalue_diff", "delta_cfi", "vuong_z"):
        df[c] = t[c].to_numpy(float)
    pz = np.where(t["vuong_z"].to_numpy(float) >= 0, t["vuong_p_row"].to_numpy(float),
                  t["vuong_p_reference"].to_numpy(float))
    df["vuong_p"] = np.where(np.isfinite(t["vuong_z"].to_numpy(float)), pz, np.nan)
    for c in ("npar", "chisq_ml", "scaling_factor", "vuong_variance", "vuong_variance_p"):
        df[c] = t[c].to_numpy(float)
    df["key"] = list(t.index)
    robust = bool(comparison.robust)
    labels = {"model": cat["h.model"], "relation": cat["h.relation"],
              "chisq": cat["m.chisq_scaled"] if robust else cat["m.chisq"], "df": cat["h.df"], "pvalue": cat["h.p"],
              "cfi": "CFI" + (cat["m.robust"] if robust else ""), "tli": "TLI" + (cat["m.robust"] if robust else ""),
              "rmsea": "RMSEA" + (cat["m.robust"] if robust else "") + " [90% CI]", "srmr": "SRMR",
              "aic": cat["h.aic"], "bic": cat["h.bic"],
              "chisq_diff": cat["h.delta_chisq_scaled"] if robust else cat["h.delta_chisq"],
              "df_diff": cat["h.delta_df"], "pvalue_diff": cat["h.delta_p"], "delta_cfi": cat["h.delta_cfi"],
              "vuong_z": cat["h.vuong_z"], "vuong_p": cat["h.vuong_p"], "npar": cat["h.npar"],
              "chisq_ml": cat["m.chisq"] + " (ML)", "scaling_factor": "scaling factor",
              "vuong_variance": "Vuong variance test", "vuong_variance_p": "Vuong variance test p", "key": "key"}
    formats = {"chisq": "f2", "df": "int", "pvalue": "p", "cfi": "r3", "tli": "r3", "rmsea": "r3",
               "rmsea_ci_lower": "r3", "rmsea_ci_upper": "r3", "srmr": "r3", "aic": "f1", "bic": "f1",
               "chisq_diff": "f2", "df_diff": "int", "pvalue_diff": "p", "delta_cfi": "r3", "vuong_z": "f2",
               "vuong_p": "p", "npar": "int", "chisq_ml": "f2", "scaling_factor": "f3", "vuong_variance": "f2",
               "vuong_variance_p": "p"}
    how = cat.f("note.fit_how", estimator=comparison.estimator,
                missing=cat["fiml_long"] if comparison.missing == "ml" else cat["listwise"], n=comparison.n)
    note = cat.f("note.model_comparison", how=how, scaled=cat["note.cmp_scaled"] if robust else "",
                 robust=cat["note.cmp_robust"] if robust else "")
    codes = []
    for m in comparison.models:
        if m.kind == "declared" and m.description:
            desc = m.description.get(cat.text_language) or m.description.get("en", "")
            if desc:
                sep = "：" if cat.text_language == "zh" else ": "
                codes.append(f"{titles[m.name]}{sep}{desc.strip().rstrip('。.')}")
    if codes:
        note += cat.f("note.cmp_models", models=("；" if cat.text_language == "zh" else "; ").join(codes))
    abbrev = _abbrev(questionnaire, language, _codes_in(codes)) if codes else ""
    out = _meta(df, cat["title.model_comparison"], note + abbrev, labels=labels, formats=formats,
                key="model_comparison", language=language)
    out.attrs["inline_ci"] = [("rmsea", "rmsea_ci_lower", "rmsea_ci_upper")]
    out.attrs["hidden"] = ["pvalue", "npar", "chisq_ml", "scaling_factor", "vuong_variance", "vuong_variance_p", "key"]
    out.attrs["value_map"] = {"relation": {r: cat[f"rel.{r}"] for r in ("reference", "nested", "nests", "equivalent",
                                                                          "non-nested", "not fitted", "not converged")}}
    return out


# --------------------------------------------------------------------------- hypotheses
def _arrow(path: str) -> str:
    p = str(path)
    if "->" in p:
        return p.replace("->", "\u2192").replace("  ", " ")
    if "~~" in p:
        a, b = [s.strip() for s in p.split("~~")]
        return f"{a} \u2194 {b}"
    if "~" in p:
        y, x = [s.strip() for s in p.split("~")]
        return f"{x} \u2192 {y}"
    return p


def _codes_in(paths) -> list:
    out = []
    for p in paths:
        out += re.findall(r"[A-Za-z][A-Za-z0-9_]*", str(p))
    return out


def _ci_method(text: str) -> str:
    t = str(text)
    return "bc" if "bias" in t else "percentile" if "percentile" in t else "normal"


def hypothesis_tests(hypotheses: pd.DataFrame, questionnaire=None, language: str = "en", n: Optional[int] = None,
                     bootstrap: int = 0, se_bootstrap: bool = False, estimator: str = "ML") -> pd.DataFrame:
    """The hypothesis table: ``id, path, expected_sign, est, se, std_all, z, pvalue, ci_lower, ci_upper, supported``.

    Parameters
    ----------
    hypotheses : DataFrame
        From :func:`icaf_sem.hypotheses.test_hypotheses`.
    questionnaire : Questionnaire, optional
        Spells out the construct codes in the note.
    language : {"en", "zh", "both"}
    n : int, optional
        The number of respondents, stated in the note.
    bootstrap, se_bootstrap, estimator
        How the standard errors and intervals were obtained, stated in the note.
    """
    cat = catalogue(language)
    h = hypotheses
    methods = [_ci_method(m) for m in h.get("ci_method", pd.Series(["normal"] * len(h)))]
    df = pd.DataFrame({
        "id": h["id"], "path": [_arrow(p) for p in h["path"]],
        "expected_sign": [cat.get(f"sign.{s}", s) if isinstance(s, str) else s for s in h["expected_sign"]],
        "est": h["est"], "se": h["se"], "std_all": h["std_all"], "z": h["z"], "pvalue": h["pvalue"],
        "ci_lower": h["ci_lower"], "ci_upper": h["ci_upper"],
        "ci_method": [cat[f"ci.{m}"] for m in methods], "supported": h["supported"].astype(bool)})
    alpha = h.attrs.get("alpha", 0.05)
    level = int(round(100 * (1 - alpha)))
    boot_used = [m for m in methods if m != "normal"]
    se_basis = cat.f("note.se_boot", draws=bootstrap) if se_bootstrap else cat.f("note.se_ml", estimator=estimator)
    ci_basis = (cat.f("note.ci_boot_ind", method=cat[f"ci.{boot_used[0]}"], draws=bootstrap) if boot_used
                else cat["note.ci_normal"])
    note = (cat.f("note.hypothesis_tests", n=n if n is not None else "", alpha=_cut(alpha), se_basis=se_basis,
                  level=level, ci_basis=ci_basis) + _abbrev(questionnaire, language, _codes_in(h["path"])))
    if n is None:
        note = note.replace("*N* = . ", "").replace("*N* = 。", "")
    return _meta(df, cat["title.hypothesis_tests"], note, key="hypothesis_tests", language=language,
                 labels={"id": cat["h.hypothesis"], "path": cat["h.path"], "expected_sign": cat["h.expected"],
                         "est": cat["h.b"], "se": cat["h.se"], "std_all": cat["h.beta"], "z": cat["h.z"],
                         "pvalue": cat["h.p"], "ci_method": cat["h.ci_type"],
                         "supported": cat["h.supported"]},
                 formats={"est": "f3", "se": "f3", "std_all": "r3", "z": "f2", "pvalue": "p", "ci_lower": "f3",
                          "ci_upper": "f3", "supported": "bool", "ci_method": "str"},
                 ci_pairs=[("ci_lower", "ci_upper", cat.f("h.ci", level=level))])


def indirect_effects(hypotheses: pd.DataFrame, effects: Optional[pd.DataFrame] = None, questionnaire=None,
                     language: str = "en", n: Optional[int] = None, bootstrap: int = 0,
                     seed: Optional[int] = None) -> pd.DataFrame:
    """Indirect (and total) effects with their intervals and the mediation type.

    Parameters
    ----------
    hypotheses : DataFrame
        From :func:`icaf_sem.hypotheses.test_hypotheses` (its mediation rows are used).
    effects : DataFrame, optional
        From :func:`icaf_sem.hypotheses.defined_effects`; its total effects are appended.
    questionnaire, language, n, bootstrap, seed
        Construct names, the report's language, and what the note states.

    Returns
    -------
    DataFrame
        ``id, path, est, std_all, se, pvalue, ci_lower, ci_upper`` (delta method),
        ``boot_pct_lower, boot_pct_upper, boot_bc_lower, boot_bc_upper`` and
        ``std_boot_bc_lower, std_boot_bc_upper`` (NaN without a bootstrap),
        ``direct_std_all, direct_pvalue, mediation_type, mediation_class``.
    """
    cat = catalogue(language)
    h = hypotheses[hypotheses["kind"] == "mediation"]
    cols = ["id", "path", "est", "std_all", "se", "pvalue", "ci_lower", "ci_upper", "boot_pct_lower",
            "boot_pct_upper", "boot_bc_lower", "boot_bc_upper", "std_boot_bc_lower", "std_boot_bc_upper",
            "direct_std_all", "direct_pvalue", "mediation_type", "mediation_class"]
    rows = []
    from scipy import stats
    z = stats.norm.ppf(0.975)
    for _, r in h.iterrows():
        row = {c: r[c] for c in cols if c in r.index}
        row["path"] = _arrow(r["path"])
        # the delta-method interval, whatever decided the hypothesis
        row["ci_lower"], row["ci_upper"] = r["est"] - z * r["se"], r["est"] + z * r["se"]
        rows.append(row)
    total_word = "total" if cat.text_language == "en" else "总效应"
    if effects is not None:
        for _, r in effects[effects["kind"] == "total"].iterrows():
            row = {c: r[c] for c in cols if c in r.index}
            row["id"] = total_word
            row["path"] = r["name"]
            for _, m in h.iterrows():     # X -> Y of the mediations this total adds up
                if str(m["rhs"]) and str(m["rhs"]) in str(r["expression"]):
                    chain = [s_.strip() for s_ in str(m["path"]).split("->")]
                    row["path"] = f"{chain[0]} \u2192 {chain[-1]}"
                    break
            row["mediation_type"] = None
            row["mediation_class"] = None
            rows.append(row)
    df = pd.DataFrame(rows, columns=cols)
    for c in cols:
        if c not in ("id", "path", "mediation_type", "mediation_class"):
            df[c] = df[c].astype(float)
    boot = bool(df[["boot_pct_lower", "boot_bc_lower"]].notna().any().any())
    if not boot:
        df = df.drop(columns=["boot_pct_lower", "boot_pct_upper", "boot_bc_lower", "boot_bc_upper"])
    if "std_boot_bc_lower" in df and not df["std_boot_bc_lower"].notna().any():
        df = df.drop(columns=["std_boot_bc_lower", "std_boot_bc_upper"])
    note = (cat.f("note.indirect", n=n if n is not None else "")
            + (cat.f("note.indirect.boot", draws=bootstrap, seed=seed) if boot else cat["note.indirect.noboot"])
            + cat["note.indirect.tail"] + _abbrev(questionnaire, language, _codes_in(h["path"])))
    ci_pairs = [] if boot else [("ci_lower", "ci_upper", cat["h.ci_delta"])]
    if boot:
        ci_pairs += [("boot_pct_lower", "boot_pct_upper", cat["h.ci_pct"]),
                     ("boot_bc_lower", "boot_bc_upper", cat["h.ci_bc"])]
    if "std_boot_bc_lower" in df.columns:
        ci_pairs.append(("std_boot_bc_lower", "std_boot_bc_upper", cat["h.beta_ci_bc"]))
    formats = {"pvalue": "p", "direct_pvalue": "p", "mediation_type": "str", "mediation_class": "str",
               "std_all": "r3", "direct_std_all": "r3", "std_boot_bc_lower": "r3", "std_boot_bc_upper": "r3"}
    out = _meta(df, cat["title.indirect_effects"], note, key="indirect_effects", language=language,
                labels={"id": cat["h.hypothesis"], "path": cat["h.path"], "est": cat["h.b"], "std_all": cat["h.beta"],
                        "se": cat["h.se"], "pvalue": cat["h.p"], "direct_std_all": cat["h.direct_beta"],
                        "direct_pvalue": cat["h.direct_p"], "mediation_type": cat["h.type"],
                        "mediation_class": cat["h.mediation"]},
                formats=formats, ci_pairs=ci_pairs)
    # shown in exports: the bootstrap intervals replace the delta-method one; the type names the class
    out.attrs["hidden"] = (["ci_lower", "ci_upper"] if boot else []) + ["mediation_class"]
    # the type codes stay in the frame (tidy); exports show them in the report's language with their class
    klass = {"indirect-only": "full", "complementary": "partial", "competitive": "partial", "direct-only": "none",
             "no-effect": "none"}
    fmt = "{} ({})" if cat.text_language == "en" else "{}（{}）"
    out.attrs["value_map"] = {"mediation_type": {t: fmt.format(cat[f"med.{t}"], cat[f"medc.{c}"])
                                                 for t, c in klass.items()}}
    return out


# --------------------------------------------------------------------------- necessary conditions (NCA)
def _nca_text(language: str) -> dict:
    from ..nca import TEXT
    return TEXT.get(language, TEXT["en"])


def necessity_tests(necessity, language: str = "en") -> pd.DataFrame:
    """The necessity hypotheses (NCA): ``id, path, level, n, effect_size, effect_class, p_value, required,
    required_text, supported, reason``.

    Parameters
    ----------
    necessity : NecessityResult
        From :func:`icaf_sem.nca.test_necessity`.
    language : {"en", "zh"}
        Language of the title, note, headers and verdicts (text from :data:`icaf_sem.nca.TEXT`).
    """
    tx = _nca_text(language)
    t = necessity.table
    o = necessity.options
    df = pd.DataFrame({
        "id": t["id"], "path": [f"{c} \u2192 {y}" for c, y in zip(t["condition"], t["outcome"])],
        "level": t["level"].astype(float), "n": t["n"].astype(int), "effect_size": t["effect_size"].astype(float),
        "effect_class": [tx["classes"].get(c, c) for c in t["effect_class"]], "p_value": t["p_value"].astype(float),
        "required": t["required"].astype(float),
        "required_text": [s if s else f"{v:.1f}" for v, s in zip(t["required"], t["required_status"])],
        "supported": t["supported"].astype(bool),
        "reason": ["; ".join(tx["reasons"][c].format(d_min=o["d_min"], alpha=o["alpha"]) for c in codes.split(","))
                   if codes else tx["reasons"]["ok"] for codes in t["reason_codes"]]})
    lab = tx["labels"]
    src = tx["sources"].get(o.get("scores_source", ""), o["scores"])    # which scores: named in the note
    note = tx["note"].format(reps=o["permutations"], d_min=o["d_min"], alpha=o["alpha"]) + " " + \
        tx["source_note"].format(ceiling=o["ceiling"].upper().replace("_", "-"), scores=src)
    out = _meta(df, tx["title"], note, key="necessity_tests",
                labels={"id": lab["id"], "path": f"{lab['condition']} \u2192 {lab['outcome']}", "level": lab["level"],
                        "n": lab["n"], "effect_size": lab["effect_size"], "effect_class": lab["effect_class"],
                        "p_value": lab["p_value"], "required_text": lab["required"], "supported": lab["supported"],
                        "reason": lab["reason"]},
                formats={"level": "f0", "n": "int", "effect_size": "r3", "p_value": "p", "supported": "bool",
                         "effect_class": "str", "required_text": "str", "reason": "str"}, language=language)
    out.attrs["hidden"] = ["required"]
    return out


def necessity_bottlenecks(necessity, language: str = "en") -> pd.DataFrame:
    """Bottleneck rows (NCA) at the declared outcome levels: ``outcome, level, condition, ce_fdh, cr_fdh``
    (minimum condition level, % of its range; NN = 0, NA = NaN) and their display texts."""
    from ..nca import _nca_string
    tx = _nca_text(language)
    rows = []
    for y, res in necessity.results.items():
        b = res.bottleneck
        for (lev, cond), g in b.groupby(["level", "condition"], sort=False):
            row = {"outcome": y, "level": float(lev), "condition": cond}
            for ce in ("ce_fdh", "cr_fdh"):
                r = g[g["ceiling"] == ce]
                if len(r):
                    row[ce] = float(r["value"].iloc[0])
                    row[f"{ce}_text"] = _nca_string(r["value"].iloc[0], r["status"].iloc[0], "percentage.range")
            rows.append(row)
    df = pd.DataFrame(rows, columns=["outcome", "level", "condition", "ce_fdh", "ce_fdh_text", "cr_fdh",
                                     "cr_fdh_text"])
    lab = tx["labels"]
    out = _meta(df, tx["bottleneck_title"], tx["bottleneck_note"], key="necessity_bottlenecks",
                labels={"outcome": lab["outcome"], "level": lab["level"], "condition": lab["condition"],
                        "ce_fdh_text": "CE-FDH", "cr_fdh_text": "CR-FDH"},
                formats={"level": "f0", "ce_fdh_text": "str", "cr_fdh_text": "str"},
                group_columns=["outcome"], language=language)
    out.attrs["hidden"] = ["ce_fdh", "cr_fdh"]
    return out


# --------------------------------------------------------------------------- R squared
def r_squared(sem, questionnaire=None, language: str = "en") -> pd.DataFrame:
    """R² and adjusted R² of every endogenous construct of the structural model.

    ``construct, predictors, k, r2, adj_r2`` where ``adj_r2 = 1 - (1 - R²)(N - 1)/(N - k - 1)``
    with ``k`` the construct's predictors (lavaan's ``inspect(fit, "r2")`` for R²).
    """
    cat = catalogue(language)
    t = sem.parameters
    lvs = list(dict.fromkeys(t.loc[t["op"] == "=~", "lhs"]))
    reg = t[(t["op"] == "~") & t["lhs"].isin(lvs)]
    r2 = getattr(sem, "r2", {}) or {}
    n = getattr(sem, "nobs", None)
    rows = []
    for y in dict.fromkeys(reg["lhs"]):
        preds = list(dict.fromkeys(reg.loc[reg["lhs"] == y, "rhs"]))
        k = len(preds)
        v = float(r2.get(y, math.nan))
        adj = 1 - (1 - v) * (n - 1) / (n - k - 1) if (n and n - k - 1 > 0 and np.isfinite(v)) else math.nan
        rows.append({"construct": y, "predictors": ", ".join(preds), "k": float(k), "r2": v, "adj_r2": adj})
    df = pd.DataFrame(rows, columns=["construct", "predictors", "k", "r2", "adj_r2"])
    note = cat.f("note.r_squared", n=n) + _abbrev(questionnaire, language, list(df["construct"])
                                                  + _codes_in(df["predictors"]))
    return _meta(df, cat["title.r_squared"], note, key="r_squared", language=language,
                 labels={"construct": cat["h.construct"], "predictors": cat["h.predictors"], "k": "*k*",
                         "r2": cat["h.r2"], "adj_r2": cat["h.adj_r2"]},
                 formats={"k": "int", "r2": "r3", "adj_r2": "r3", "predictors": "str"})


# --------------------------------------------------------------------------- instrument
def instrument(questionnaire, language: str = "en") -> pd.DataFrame:
    """The instrument: construct, item code, wording in the report's language, source, reverse-keyed mark.

    ``"both"`` adds the Chinese wording beside the English.  The source is the
    construct's ``source`` when the questionnaire declares one.
    """
    cat = catalogue(language)
    q = questionnaire
    spec = q.spec
    names = construct_names(q)
    rev = set(getattr(spec, "reverse_keyed", []) or [])
    rows = []
    wl = "zh" if language == "zh" else "en"
    for c, cs in spec.constructs.items():
        src = getattr(cs, "source", None) or ""
        for item, texts in cs.items.items():
            row = {"construct": cat.name(names.get(c, {}), c), "item": item,
                   "wording": texts.get(wl) or texts.get("en") or "", "source": src,
                   "reverse": "R" if item in rev else ""}
            if language == "both":
                row["wording_zh"] = texts.get("zh", "")
            rows.append(row)
    cols = ["construct", "item", "wording"] + (["wording_zh"] if language == "both" else []) + ["source", "reverse"]
    df = pd.DataFrame(rows, columns=cols)
    if not df["source"].astype(bool).any():
        df = df.drop(columns=["source"])
    lo, hi = q.scale_labels.get(int(q.scale_min), {}), q.scale_labels.get(int(q.scale_max), {})
    note = cat.f("note.instrument", low=_text(lo, language, str(q.scale_min)), high=_text(hi, language, str(q.scale_max)),
                 rev=f"{int(q.scale_min) + int(q.scale_max)} \u2212 x")
    if int(q.scale_max) - int(q.scale_min) + 1 != 7:
        note = note.replace("Seven-point", f"{int(q.scale_max) - int(q.scale_min) + 1}-point").replace(
            "七点", f"{int(q.scale_max) - int(q.scale_min) + 1} 点")
    return _meta(df, cat["title.instrument"], note, key="instrument", language=language, group_columns=["construct"],
                 labels={"construct": cat["h.construct"], "item": cat["h.code"], "wording": cat["h.wording"],
                         "wording_zh": cat["h.wording_zh"], "source": cat["h.source"], "reverse": cat["h.reverse"]},
                 formats={c: "str" for c in cols})


# --------------------------------------------------------------------------- second-order constructs
def _fit_short(m, cat) -> str:
    """``χ²(506) = 575.12, CFI = .986, RMSEA = .019, SRMR = .038`` of a fitted model."""
    fm = m.fit_measures
    return cat.f("fit.short", df=format_value(_fit_value(fm, "df"), "int"),
                 chisq=format_value(_fit_value(fm, "chisq"), "f2"), cfi=format_value(_fit_value(fm, "cfi"), "r3"),
                 rmsea=format_value(_fit_value(fm, "rmsea"), "r3"), srmr=format_value(_fit_value(fm, "srmr"), "r3"))


def second_order(cfa2, questionnaire=None, language: str = "en", cfa=None) -> pd.DataFrame:
    """Loadings, CR, AVE and omega of every second-order construct from the second-order measurement model.

    ``construct, component, loading`` (standardized loading of the first-order construct), ``pvalue``
    and, on the construct's first row, ``composite_reliability = (sum l)^2 / ((sum l)^2 + sum(1 - l^2))``,
    ``ave = mean(l^2)`` (Fornell & Larcker 1981 on the second-order loadings), ``omega``
    (``semTools::compRelSEM(fit, higher = ...)``) and ``omega_l2``, ``partial_omega_l1``
    (``semTools::reliabilityL2``); see :func:`icaf_sem.measurement.higher_order.second_order_reliability`.
    The note gives the fit of the second-order model beside that of the first-order CFA ``cfa``.
    """
    from ..measurement.higher_order import second_order_reliability
    cat = catalogue(language)
    t = cfa2.parameters
    lvs = set(t.loc[t["op"] == "=~", "lhs"])
    hi = t[(t["op"] == "=~") & t["rhs"].isin(lvs)]
    rel = second_order_reliability(cfa2).set_index("construct")
    rows = []
    for c in dict.fromkeys(hi["lhs"]):
        for k, (_, r) in enumerate(hi[hi["lhs"] == c].iterrows()):
            first = k == 0 and c in rel.index
            rows.append({"construct": c, "component": r["rhs"], "loading": r["std_all"],
                         "pvalue": r["pvalue"] if r["free"] else math.nan,
                         **{s: (float(rel.at[c, s]) if first else math.nan)
                            for s in ("composite_reliability", "ave", "omega", "omega_l2", "partial_omega_l1")}})
    cols = ["construct", "component", "loading", "pvalue", "composite_reliability", "ave", "omega", "omega_l2",
            "partial_omega_l1"]
    df = pd.DataFrame(rows, columns=cols)
    note = cat.f("note.second_order_table", n=getattr(cfa2, "nobs", ""), fit2=_fit_short(cfa2, cat),
                 fit1=_fit_short(cfa, cat) if cfa is not None else "\u2014") + _abbrev(
        questionnaire, language, list(df["construct"]) + list(df["component"]))
    return _meta(df, cat["title.second_order"], note, key="second_order", language=language,
                 group_columns=["construct"],
                 labels={"construct": cat["h.construct"], "component": cat["h.component"], "loading": cat["h.lambda"],
                         "pvalue": cat["h.p"], "composite_reliability": cat["h.cr"], "ave": cat["h.ave"],
                         "omega": cat["h.omega"], "omega_l2": cat["h.omega_l2"],
                         "partial_omega_l1": cat["h.partial_omega_l1"]},
                 formats={"loading": "r3", "pvalue": "p", "composite_reliability": "r3", "ave": "r3", "omega": "r3",
                          "omega_l2": "r3", "partial_omega_l1": "r3"})


# --------------------------------------------------------------------------- common-method bias
def common_method_bias(cov: pd.DataFrame, questionnaire, n: int, ulmc=None, language: str = "en") -> pd.DataFrame:
    """Harman's single factor, the unmeasured latent method construct and full-collinearity VIFs.

    Parameters
    ----------
    cov : DataFrame
        Covariance matrix of the items (under FIML the EM saturated matrix of all n respondents).
    questionnaire : Questionnaire
    n : int
        Respondents behind ``cov``.
    ulmc : MethodFactorResult, optional
        :func:`icaf_sem.measurement.method_bias.unmeasured_method_factor`.

    Returns
    -------
    DataFrame
        ``test, statistic, value, cutoff, flagged``: the first principal component's share
        of the item variance (Harman; psych::principal's ``Vaccounted``), ULMC's Δχ², Δdf,
        p, ΔCFI and mean method variance, and one VIF per construct: the diagonal of the
        inverse correlation matrix of the unit-weighted construct composites (Kock 2015,
        cut-off 3.3).
    """
    cat = catalogue(language)
    q = questionnaire
    items = [i for i in q.items if i in cov.index]
    S = cov.loc[items, items].to_numpy(float)
    d = np.sqrt(np.diag(S))
    R = S / np.outer(d, d)
    share = float(np.linalg.eigvalsh(R)[-1] / len(items))
    rows = [{"test": cat["cmb.harman"], "statistic": cat["cmb.harman_stat"], "value": 100 * share,
             "cutoff": "< 50%", "flagged": share >= 0.5, "_fmt": "f1"}]
    if ulmc is not None:
        fm = ulmc.fit.set_index("model")
        m = fm.iloc[-1]
        rows += [{"test": cat["cmb.ulmc"], "statistic": "\u0394\u03c7\u00b2", "value": m["delta_chisq"], "cutoff": "",
                  "flagged": None, "_fmt": "f2"},
                 {"test": cat["cmb.ulmc"], "statistic": "\u0394*df*", "value": m["delta_df"], "cutoff": "",
                  "flagged": None, "_fmt": "int"},
                 {"test": cat["cmb.ulmc"], "statistic": "*p*", "value": m["p_delta"], "cutoff": "", "flagged": None,
                  "_fmt": "p"},
                 {"test": cat["cmb.ulmc"], "statistic": "\u0394CFI", "value": m["delta_cfi"], "cutoff": "< .01",
                  "flagged": bool(abs(m["delta_cfi"]) >= 0.01) if np.isfinite(m["delta_cfi"]) else None, "_fmt": "r3"},
                 ] + ([{"test": cat["cmb.ulmc"], "statistic": cat["cmb.method_var"],
                        "value": 100 * ulmc.method_variance, "cutoff": "< 25%",
                        "flagged": bool(ulmc.method_variance >= 0.25), "_fmt": "f1"}]
                      if np.isfinite(ulmc.method_variance) else [])
    cons = {c: [i for i in its if i in items] for c, its in q.constructs.items()}
    W = np.zeros((len(items), len(cons)))
    for j, its in enumerate(cons.values()):
        for i in its:
            W[items.index(i), j] = 1.0
    C = W.T @ S @ W
    dc = np.sqrt(np.diag(C))
    vif = np.diag(np.linalg.inv(C / np.outer(dc, dc)))
    for c, v in zip(cons, vif):
        rows.append({"test": cat["cmb.vif"], "statistic": c, "value": float(v), "cutoff": "\u2264 3.3",
                     "flagged": bool(v > 3.3), "_fmt": "f2"})
    df = pd.DataFrame(rows)
    fmts = df.pop("_fmt").tolist()
    df["value"] = df["value"].astype(float)
    df["flagged"] = df["flagged"].astype(object)
    note = cat.f("note.cmb", n=n)
    if ulmc is not None and ulmc.warnings:
        note += " " + cat.f("note.cmb.trouble", k=len(ulmc.warnings))
    note += _abbrev(q, language, list(cons))
    return _meta(df, cat["title.common_method_bias"], note, key="common_method_bias", language=language,
                 group_columns=["test"],
                 labels={"test": cat["h.test_name"], "statistic": cat["h.statistic"], "value": cat["h.value"],
                         "cutoff": cat["h.cutoff"], "flagged": cat["h.flagged"]},
                 formats={"value": fmts, "flagged": "bool", "cutoff": "str", "statistic": "str"})


# --------------------------------------------------------------------------- modification indices
def modification_indices(sem, top: int = 10, language: str = "en", questionnaire=None) -> pd.DataFrame:
    """The ``top`` largest modification indices of the structural model with their expected parameter changes."""
    cat = catalogue(language)
    mi = sem.modindices
    mi = mi[np.isfinite(mi["mi"])].sort_values("mi", ascending=False).head(top)
    df = pd.DataFrame({"parameter": [f"{a} {o} {b}" for a, o, b in zip(mi["lhs"], mi["op"], mi["rhs"])],
                       "mi": mi["mi"].astype(float).to_numpy(), "epc": mi["epc"].astype(float).to_numpy(),
                       "sepc_all": mi["sepc_all"].astype(float).to_numpy()})
    note = cat.f("note.mi", n=getattr(sem, "nobs", ""), top=top) + _abbrev(
        questionnaire, language, _codes_in(df["parameter"]))
    return _meta(df, cat["title.modification_indices"], note, key="modification_indices", language=language,
                 labels={"parameter": cat["h.parameter"], "mi": "MI", "epc": "EPC", "sepc_all": cat["h.sepc"]},
                 formats={"mi": "f2", "epc": "f3", "sepc_all": "f3", "parameter": "str"})


# --------------------------------------------------------------------------- invariance
def measurement_invariance(results: dict, skipped: dict, language: str = "en", questionnaire=None) -> pd.DataFrame:
    """The invariance sequence per grouping column (``results``: column -> InvarianceResult).

    ``skipped`` maps a column to the reason it was not tested (a group too small, one group only).
    """
    cat = catalogue(language)
    rows = []
    for col, res in results.items():
        t = res.table
        for _, r in t.iterrows():
            label = _text((questionnaire.metadata.get(col, {}).get("label") or {}) if questionnaire else {},
                          language, col)
            step = str(r.get("step", r.name))
            rows.append({"grouping": label, "step": cat.get(f"inv.{step}", step), "chisq": r.get("chisq"),
                         "df": r.get("df"), "cfi": r.get("cfi"), "rmsea": r.get("rmsea"), "srmr": r.get("srmr"),
                         "delta_cfi": r.get("delta_cfi"), "delta_rmsea": r.get("delta_rmsea"),
                         "invariant": bool(r["invariant"]) if r.get("invariant") is not None and
                         not (isinstance(r.get("invariant"), float) and math.isnan(r.get("invariant"))) else None})
    df = pd.DataFrame(rows, columns=["grouping", "step", "chisq", "df", "cfi", "rmsea", "srmr", "delta_cfi",
                                     "delta_rmsea", "invariant"])
    for c in ("chisq", "df", "cfi", "rmsea", "srmr", "delta_cfi", "delta_rmsea"):
        df[c] = df[c].astype(float)
    df["invariant"] = df["invariant"].astype(object)
    def _names(col):
        spec = questionnaire.metadata.get(col, {}) if questionnaire is not None else {}
        vl = spec.get("value_labels") or {}
        return (_text(spec.get("label") or {}, language, col),
                lambda k: _text(vl.get(str(k), {}), language, str(k)))

    zh = cat.text_language == "zh"
    sizes = ("；" if zh else "; ").join(
        f"{_names(col)[0]}{'：' if zh else ': '}" + ("，" if zh else ", ").join(
            f"{_names(col)[1](k)} {v}" for k, v in r.group_sizes.items()) for col, r in results.items()) \
        if results else ""
    note = cat.f("note.invariance", sizes=sizes or "\u2014")
    if skipped:
        from .i18n.messages import translate
        why = ("；" if zh else "; ").join(f"{_names(k)[0]}{'：' if zh else ': '}{translate(v, cat.text_language)}"
                                         for k, v in skipped.items())
        note += " " + cat.f("note.invariance.skipped", why=why)
    return _meta(df, cat["title.invariance"], note, key="measurement_invariance", language=language,
                 group_columns=["grouping"],
                 labels={"grouping": cat["h.grouping"], "step": cat["h.step"], "chisq": "\u03c7\u00b2",
                         "df": "*df*", "cfi": "CFI", "rmsea": "RMSEA", "srmr": "SRMR", "delta_cfi": "\u0394CFI",
                         "delta_rmsea": "\u0394RMSEA", "invariant": cat["h.invariant"]},
                 formats={"chisq": "f2", "df": "int", "cfi": "r3", "rmsea": "r3", "srmr": "r3", "delta_cfi": "r3",
                          "delta_rmsea": "r3", "invariant": "bool"})
