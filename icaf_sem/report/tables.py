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
:func:`hypothesis_tests`           one row per hypothesis
:func:`indirect_effects`           indirect and total effects, bootstrap CIs, mediation type
:func:`necessity_tests`            necessity hypotheses (NCA): d, p, required level, verdict
:func:`necessity_bottlenecks`      NCA bottleneck rows at the declared outcome levels
=================================  ===============================================
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pandas as pd

__all__ = [
    "sample_flow", "sample_profile", "item_descriptives", "multivariate_normality", "measurement_model",
    "discriminant_validity", "model_fit", "hypothesis_tests", "indirect_effects", "display_frame",
    "necessity_tests", "necessity_bottlenecks",
    "format_value", "FIT_CUTOFFS",
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
          group_columns: Optional[list] = None) -> pd.DataFrame:
    df.attrs = {"title": title, "note": note, "labels": dict(labels or {}), "formats": dict(formats or {}),
                "ci_pairs": list(ci_pairs or []), "key": key, "group_columns": list(group_columns or [])}
    return df


# --------------------------------------------------------------------------- formatting (export only)
def format_value(v, fmt: str = "f3") -> str:
    """Format one cell for display: ``f2``/``f3`` fixed, ``r2``/``r3`` without the leading zero (APA,
    for values bounded by 1), ``p`` APA p-value, ``int``, ``bool`` (Yes/No), ``str``."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or (v is pd.NA):
        return ""
    if fmt == "str":
        return str(v)
    if fmt == "bool":
        return "Yes" if bool(v) else "No"
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
        return f"{x:.3f}".lstrip("0") if x < 1 else "1.000"
    digits = int(fmt[1:]) if len(fmt) > 1 and fmt[1:].isdigit() else 3
    s = f"{x:.{digits}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    if fmt.startswith("r"):
        s = s.replace("0.", ".", 1) if s.startswith(("0.", "-0.")) else s
    return s


def display_frame(df: pd.DataFrame, minus: str = "\u2212") -> pd.DataFrame:
    """The table as strings for display: formats applied, CI columns merged to ``[lo, hi]``, headers relabelled.

    Parameters
    ----------
    minus : str
        Character used for negative numbers (the typographic minus by default; ``"-"`` for LaTeX).
    """
    attrs = df.attrs or {}
    formats = attrs.get("formats", {})
    labels = attrs.get("labels", {})
    merged = {lo: (hi, head) for lo, hi, head in attrs.get("ci_pairs", [])}
    skip = {hi for hi, _ in merged.values()}
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
                a, b = format_value(v_lo, f), format_value(v_hi, f)
                vals.append(f"[{a}, {b}]" if a or b else "")
            cols[head] = vals
        else:
            cols[labels.get(c, c)] = [format_value(v, f) for v, f in zip(series.tolist(), fmts)]
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
    t = s.strip("[]").replace(",", " ").split()
    try:
        [float(x) for x in t]
        return True
    except ValueError:
        return False


# --------------------------------------------------------------------------- sample
def sample_flow(clean_result) -> pd.DataFrame:
    """The cleaning flow: the sample after each rule (``step, n_remaining, n_removed, n_flagged``).

    Parameters
    ----------
    clean_result : CleanResult
    """
    df = clean_result.flow[["step", "n_remaining", "n_removed", "n_flagged"]].copy().reset_index(drop=True)
    for c in ("n_remaining", "n_removed", "n_flagged"):
        df[c] = df[c].astype(float)
    reasons = clean_result.exclusions["reason"].value_counts() if len(clean_result.exclusions) else {}
    note = (f"{clean_result.n_raw} rows were read and {clean_result.n_clean} respondents analysed. "
            "A respondent failing several rules is removed at the first.")
    if len(reasons):
        note += " Exclusions by reason (a respondent may have several): " + \
            "; ".join(f"{k}: {v}" for k, v in reasons.items()) + "."
    return _meta(df, "Sample flow", note, key="sample_flow",
                 labels={"step": "Step", "n_remaining": "n remaining", "n_removed": "Removed", "n_flagged": "Flagged"},
                 formats={"step": "str", "n_remaining": "int", "n_removed": "int", "n_flagged": "int"})


def sample_profile(data: pd.DataFrame, questionnaire, language: str = "en") -> pd.DataFrame:
    """Respondents by every category metadata column (``variable, category, n, percent``).

    Categories declared in the questionnaire come first, in its order; answers it
    does not declare follow; missing answers are counted as "(missing)".
    """
    q = questionnaire
    rows = []
    notes = []
    for col, spec in q.metadata.items():
        label = spec.get("label", {}).get(language) or col
        if spec.get("kind") == "category" and col in data.columns:
            vals = data[col].astype("object")
            counts = vals.value_counts(dropna=True)
            order = [v for v in (spec.get("values") or []) if v in counts.index or True]
            order += [v for v in counts.index if v not in order]
            total = len(vals)
            for v in order:
                n = int(counts.get(v, 0))
                rows.append({"variable": label, "category": str(v), "n": float(n),
                             "percent": 100.0 * n / total if total else math.nan})
            miss = int(vals.isna().sum())
            if miss:
                rows.append({"variable": label, "category": "(missing)", "n": float(miss),
                             "percent": 100.0 * miss / total})
        elif spec.get("kind") == "duration" and col in data.columns:
            d = pd.to_numeric(data[col], errors="coerce").dropna()
            if len(d):
                unit = spec.get("unit") or ""
                notes.append(f"{label}: median {d.median():.0f} {unit} (IQR {d.quantile(.25):.0f}-"
                             f"{d.quantile(.75):.0f}).".replace("  ", " "))
    df = pd.DataFrame(rows, columns=["variable", "category", "n", "percent"])
    note = f"N = {len(data)} respondents after cleaning." + (" " + " ".join(notes) if notes else "")
    return _meta(df, "Sample profile", note, key="sample_profile", group_columns=["variable"],
                 labels={"variable": "Variable", "category": "Category", "n": "n", "percent": "%"},
                 formats={"n": "int", "percent": "f1"})


# --------------------------------------------------------------------------- items
def item_descriptives(data: pd.DataFrame, questionnaire, *, skew_max: float = 2.0,
                      kurtosis_max: float = 7.0) -> pd.DataFrame:
    """Per item: construct, n, % missing, M, SD, skewness, excess kurtosis and a normality verdict.

    ``normal_ok`` is |skewness| < ``skew_max`` and |kurtosis| < ``kurtosis_max``
    (Curran, West & Finch 1996; Kline 2016).  Skewness and kurtosis are psych's
    ``type = 3`` estimators (``psych::describe``).
    """
    from ..measurement.diagnostics import item_descriptives as _desc

    q = questionnaire
    d = _desc(data, q.items)
    d.insert(0, "construct", [q.item_construct[i] for i in d["item"]])
    d["normal_ok"] = (d["skew"].abs() < skew_max) & (d["kurtosis"].abs() < kurtosis_max)
    d = d[["construct", "item", "n", "pct_missing", "mean", "sd", "median", "min", "max", "skew", "kurtosis",
           "normal_ok"]]
    d["n"] = d["n"].astype(float)
    bad = d.loc[~d["normal_ok"], "item"].tolist()
    note = (f"Skewness and excess kurtosis as psych::describe (type 3). Univariate normality is judged as "
            f"|skewness| < {skew_max:g} and |kurtosis| < {kurtosis_max:g} (Curran, West & Finch, 1996; Kline, 2016)"
            + (f"; outside these bounds: {', '.join(bad)}." if bad else "; every item is within them."))
    return _meta(d, "Item descriptives and univariate normality", note, key="item_descriptives",
                 group_columns=["construct"],
                 labels={"construct": "Construct", "item": "Item", "n": "n", "pct_missing": "% missing", "mean": "M",
                         "sd": "SD", "median": "Mdn", "min": "Min", "max": "Max", "skew": "Skewness",
                         "kurtosis": "Kurtosis", "normal_ok": "Normal"},
                 formats={"n": "int", "pct_missing": "f1", "mean": "f2", "sd": "f2", "median": "f1", "min": "int",
                          "max": "int", "skew": "f2", "kurtosis": "f2", "normal_ok": "bool"})


def multivariate_normality(data: pd.DataFrame, questionnaire) -> pd.DataFrame:
    """Mardia's multivariate skewness and kurtosis (complete cases), as ``psych::mardia``."""
    from ..measurement.diagnostics import mardia

    m = mardia(data, questionnaire.items)
    r = m.iloc[0]
    df = pd.DataFrame([
        {"statistic": "Mardia skewness (b1p)", "coefficient": r["b1p"], "test": r["skew"], "df": r["df"],
         "pvalue": r["p_skew"]},
        {"statistic": "Mardia kurtosis (b2p)", "coefficient": r["b2p"], "test": r["kurtosis"], "df": math.nan,
         "pvalue": r["p_kurt"]},
    ])
    note = (f"Complete cases, n = {int(r['n'])}, p = {int(r['p'])} items. Skewness is tested against chi-square, "
            "kurtosis against the standard normal (Mardia, 1970). Significant values argue for robust (MLR) "
            "standard errors or a bootstrap.")
    return _meta(df, "Multivariate normality", note, key="multivariate_normality",
                 labels={"statistic": "Statistic", "coefficient": "Coefficient", "test": "Test statistic", "df": "df",
                         "pvalue": "p"},
                 formats={"coefficient": "f2", "test": "f2", "df": "int", "pvalue": "p"})


# --------------------------------------------------------------------------- measurement model
def measurement_model(cfa, reliability, sem=None, questionnaire=None) -> pd.DataFrame:
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

    Returns
    -------
    DataFrame
        ``construct, item, est, se, z, pvalue, loading, alpha, composite_reliability, ave``;
        the construct statistics fill the first row of each construct, NaN below.
    """
    t = cfa.parameters
    load = t[(t["op"] == "=~")]
    rel = reliability.constructs.set_index("construct")
    rows = []
    for c in dict.fromkeys(load["lhs"]):
        block = load[load["lhs"] == c]
        for k, (_, r) in enumerate(block.iterrows()):
            row = {"construct": c, "item": r["rhs"], "est": r["est"], "se": r["se"] if r["free"] else math.nan,
                   "z": r["z"], "pvalue": r["pvalue"], "loading": r["std_all"],
                   "alpha": math.nan, "composite_reliability": math.nan, "ave": math.nan}
            if k == 0 and c in rel.index:
                row.update(alpha=rel.at[c, "alpha"], composite_reliability=rel.at[c, "composite_reliability"],
                           ave=rel.at[c, "ave"])
            rows.append(row)
    if sem is not None:
        s = sem.parameters
        lvs = set(s.loc[s["op"] == "=~", "lhs"])
        higher = s[(s["op"] == "=~") & (s["rhs"].isin(lvs))]
        for _, r in higher.iterrows():
            rows.append({"construct": r["lhs"], "item": r["rhs"], "est": r["est"],
                         "se": r["se"] if r["free"] else math.nan, "z": r["z"], "pvalue": r["pvalue"],
                         "loading": r["std_all"], "alpha": math.nan, "composite_reliability": math.nan,
                         "ave": math.nan})
    df = pd.DataFrame(rows, columns=["construct", "item", "est", "se", "z", "pvalue", "loading", "alpha",
                                     "composite_reliability", "ave"])
    th = reliability.thresholds
    n_cfa = getattr(cfa, "nobs", None)
    note = (f"CFA of the first-order constructs (N = {n_cfa}, {'FIML' if getattr(cfa, 'missing', '') == 'ml' else 'listwise'}). "
            "lambda = standardized loading (std.all); b = unstandardized loading, the first item of each construct "
            "fixed to 1. alpha = Cronbach's alpha (complete cases, n = "
            f"{reliability.n}); CR = composite reliability; AVE = average variance extracted. "
            f"Thresholds: alpha and CR \u2265 {_cut(th.alpha)} (Nunnally & Bernstein, 1994; Hair et al., 2019), "
            f"AVE \u2265 {_cut(th.ave)} (Fornell & Larcker, 1981).")
    if sem is not None and len(df) and df["construct"].isin(set(sem.parameters.loc[sem.parameters["op"] == "=~", "lhs"])
                                                            - set(load["lhs"])).any():
        note += " Rows for second-order constructs come from the structural model."
    return _meta(df, "Measurement model: standardized loadings, reliability and convergent validity", note,
                 key="measurement_model", group_columns=["construct"],
                 labels={"construct": "Construct", "item": "Indicator", "est": "b", "se": "SE", "z": "z",
                         "pvalue": "p", "loading": "\u03bb", "alpha": "\u03b1", "composite_reliability": "CR",
                         "ave": "AVE"},
                 formats={"est": "f3", "se": "f3", "z": "f2", "pvalue": "p", "loading": "r3", "alpha": "r3",
                          "composite_reliability": "r3", "ave": "r3"})


def discriminant_validity(reliability) -> pd.DataFrame:
    """One matrix: sqrt(AVE) on the diagonal, latent correlations below it, HTMT above it.

    The index and the columns are the constructs.  ``attrs["failures"]`` lists
    the pairs failing Fornell-Larcker or HTMT.
    """
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
            why.append(f"HTMT = {d['htmt']:.3f}")
        if d.get("fornell_larcker_ok") is False or d.get("fornell_larcker_ok") == False:  # noqa: E712
            why.append("r exceeds sqrt(AVE)")
        if why:
            fails.append(f"{d['construct_a']}-{d['construct_b']} ({', '.join(why)})")
    th = reliability.thresholds
    note = ("Diagonal (bold): square root of the AVE (\u221aAVE). Below the diagonal: latent correlations from the CFA. "
            f"Above the diagonal: heterotrait-monotrait ratios (HTMT). Discriminant validity holds when \u221aAVE "
            f"exceeds the construct's correlations (Fornell & Larcker, 1981) and HTMT < {_cut(th.htmt)} "
            f"(Henseler, Ringle & Sarstedt, 2015). "
            + (f"Failing pairs: {'; '.join(fails)}." if fails else "Every pair passes both criteria."))
    m.index.name = "construct"
    m = m.reset_index()
    out = _meta(m, "Discriminant validity: Fornell-Larcker criterion and HTMT", note, key="discriminant_validity",
                labels={"construct": "Construct"}, formats={c: "r3" for c in names})
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


def model_fit(cfa=None, sem=None, *, robust: Optional[bool] = None) -> pd.DataFrame:
    """Fit of the CFA and the structural model against the usual cut-offs.

    Parameters
    ----------
    cfa, sem : SEMResult, optional
    robust : bool, optional
        Report the scaled/robust measures (``chisq.scaled``, ``cfi.robust`` ...);
        by default when the models were fitted with MLR.

    Returns
    -------
    DataFrame
        ``measure, cfa, sem, cutoff, cfa_ok, sem_ok, source``: chi-square, df, p,
        chi-square/df (<= 3, Kline 2016), CFI and TLI (>= .95), RMSEA (<= .06) with
        its 90% interval, SRMR (<= .08), all cut-offs Hu & Bentler (1999).
    """
    models = {"cfa": cfa, "sem": sem}
    fms = {k: (m.fit_measures if m is not None else {}) for k, m in models.items()}
    if robust is None:
        robust = any(getattr(m, "estimator", "ML") == "MLR" for m in models.values() if m is not None)
    chi, pv = ("chisq.scaled", "pvalue.scaled") if robust else ("chisq", "pvalue")
    rows = []

    def add(measure, key_of, direction=None, cutoff=None, source="", fmt="f3", cut_text=None):
        row = {"measure": measure, "cutoff": cut_text if cut_text is not None else
               (f"{'≥' if direction == '>=' else '≤'} {_cut(cutoff)}" if cutoff is not None else ""),
               "source": source, "_fmt": fmt}
        for k in models:
            v = key_of(fms[k])
            row[k] = v
            row[f"{k}_ok"] = _meets(v, direction, cutoff) if cutoff is not None else None
        rows.append(row)

    add("\u03c7\u00b2" + (" (scaled)" if robust else ""), lambda f: _fit_value(f, chi), fmt="f2")
    add("df", lambda f: _fit_value(f, "df"), fmt="int")
    add("p", lambda f: _fit_value(f, pv), fmt="p", cut_text="> .05 (sensitive to N)", source=KLINE)
    add("\u03c7\u00b2/df", lambda f: _fit_value(f, chi) / _fit_value(f, "df") if _fit_value(f, "df") > 0 else math.nan,
        "<=", 3.0, KLINE, fmt="f2")
    for name, k_ml, k_r, direction, cut, src in FIT_CUTOFFS:
        key = k_r if robust else k_ml
        add(name + (" (robust)" if robust and k_r != k_ml else ""), lambda f, key=key: _fit_value(f, key),
            direction, cut, src, fmt="r3")
        if name == "RMSEA":
            lo_k, hi_k = ("rmsea.ci.lower.robust", "rmsea.ci.upper.robust") if robust else \
                ("rmsea.ci.lower", "rmsea.ci.upper")
            add("RMSEA 90% CI lower", lambda f, k=lo_k: _fit_value(f, k), fmt="r3")
            add("RMSEA 90% CI upper", lambda f, k=hi_k: _fit_value(f, k), fmt="r3")
    df = pd.DataFrame(rows, columns=["measure", "cfa", "sem", "cutoff", "cfa_ok", "sem_ok", "source", "_fmt"])
    fmts = df.pop("_fmt").tolist()
    for k in models:
        df[k] = df[k].astype(float)
        df[f"{k}_ok"] = df[f"{k}_ok"].astype(object)
    present = [k for k in models if models[k] is not None]
    df = df[["measure"] + present + ["cutoff"] + [f"{k}_ok" for k in present] + ["source"]]
    est = next((m for m in models.values() if m is not None), None)
    how = ""
    if est is not None:
        how = (f"{getattr(est, 'estimator', 'ML')} estimation, "
               f"{'full-information maximum likelihood (FIML) for missing answers' if getattr(est, 'missing', '') == 'ml' else 'listwise deletion'}, "
               f"N = {getattr(est, 'nobs', '')}. ")
    note = (how + "Cut-offs: CFI and TLI \u2265 .95, RMSEA \u2264 .06, SRMR \u2264 .08 (Hu & Bentler, 1999); "
            "\u03c7\u00b2/df \u2264 3 (Kline, 2016). CFA = first-order measurement model; SEM = structural model.")
    labels = {"measure": "Measure", "cfa": "CFA", "sem": "SEM", "cutoff": "Cut-off", "cfa_ok": "CFA meets",
              "sem_ok": "SEM meets", "source": "Source"}
    formats = {k: fmts for k in present}
    formats.update({f"{k}_ok": "bool" for k in present})
    return _meta(df, "Model fit of the measurement (CFA) and structural (SEM) models", note, key="model_fit",
                 labels=labels, formats=formats)


# --------------------------------------------------------------------------- hypotheses
def _arrow(path: str) -> str:
    p = str(path)
    if "->" in p:
        return p.replace("->", "\u2192")
    if "~~" in p:
        a, b = [s.strip() for s in p.split("~~")]
        return f"{a} \u2194 {b}"
    if "~" in p:
        y, x = [s.strip() for s in p.split("~")]
        return f"{x} \u2192 {y}"
    return p


def hypothesis_tests(hypotheses: pd.DataFrame) -> pd.DataFrame:
    """The hypothesis table: ``id, path, expected_sign, est, se, std_all, z, pvalue, ci_lower, ci_upper, supported``.

    Parameters
    ----------
    hypotheses : DataFrame
        From :func:`icaf_sem.hypotheses.test_hypotheses`.
    """
    h = hypotheses
    df = pd.DataFrame({
        "id": h["id"], "path": [_arrow(p) for p in h["path"]], "expected_sign": h["expected_sign"],
        "est": h["est"], "se": h["se"], "std_all": h["std_all"], "z": h["z"], "pvalue": h["pvalue"],
        "ci_lower": h["ci_lower"], "ci_upper": h["ci_upper"], "supported": h["supported"].astype(bool)})
    alpha = h.attrs.get("alpha", 0.05)
    boot = "ci_method" in h.columns and h["ci_method"].astype(str).str.startswith("bootstrap").any()
    note = (f"b = unstandardized estimate; \u03b2 = standardized estimate (std.all). A hypothesis is supported when "
            f"p < {alpha:g} and the estimate has the expected sign. CI: {int(round(100 * (1 - alpha)))}% "
            "normal-theory (delta method for indirect effects)"
            + ("; indirect effects use the 95% bias-corrected bootstrap interval, and their support rests on it "
               "(Zhao, Lynch & Chen, 2010)." if boot else "."))
    return _meta(df, "Hypothesis tests", note, key="hypothesis_tests",
                 labels={"id": "Hypothesis", "path": "Path", "expected_sign": "Expected", "est": "b", "se": "SE",
                         "std_all": "\u03b2", "z": "z", "pvalue": "p", "supported": "Supported"},
                 formats={"est": "f3", "se": "f3", "std_all": "f3", "z": "f2", "pvalue": "p", "ci_lower": "f3",
                          "ci_upper": "f3", "supported": "bool"},
                 ci_pairs=[("ci_lower", "ci_upper", "CI")])


def indirect_effects(hypotheses: pd.DataFrame, effects: Optional[pd.DataFrame] = None) -> pd.DataFrame:
    """Indirect (and total) effects with their intervals and the mediation type.

    Parameters
    ----------
    hypotheses : DataFrame
        From :func:`icaf_sem.hypotheses.test_hypotheses` (its mediation rows are used).
    effects : DataFrame, optional
        From :func:`icaf_sem.hypotheses.defined_effects`; its total effects are appended.

    Returns
    -------
    DataFrame
        ``id, path, est, std_all, se, pvalue, ci_lower, ci_upper`` (delta method),
        ``boot_pct_lower, boot_pct_upper, boot_bc_lower, boot_bc_upper`` and
        ``std_boot_bc_lower, std_boot_bc_upper`` (NaN without a bootstrap),
        ``direct_std_all, direct_pvalue, mediation_type, mediation_class``.
    """
    h = hypotheses[hypotheses["kind"] == "mediation"]
    cols = ["id", "path", "est", "std_all", "se", "pvalue", "ci_lower", "ci_upper", "boot_pct_lower",
            "boot_pct_upper", "boot_bc_lower", "boot_bc_upper", "std_boot_bc_lower", "std_boot_bc_upper",
            "direct_std_all", "direct_pvalue", "mediation_type", "mediation_class"]
    rows = []
    from scipy import stats
    for _, r in h.iterrows():
        row = {c: r[c] for c in cols if c in r.index}
        row["path"] = _arrow(r["path"])
        # the delta-method interval, whatever decided the hypothesis
        z = stats.norm.ppf(0.975)
        row["ci_lower"], row["ci_upper"] = r["est"] - z * r["se"], r["est"] + z * r["se"]
        rows.append(row)
    if effects is not None:
        for _, r in effects[effects["kind"] == "total"].iterrows():
            row = {c: r[c] for c in cols if c in r.index}
            row["id"] = "total"
            row["path"] = r["name"]
            for _, m in h.iterrows():     # X -> Y of the mediations this total adds up
                if str(m["rhs"]) and str(m["rhs"]) in str(r["expression"]):
                    chain = [s_.strip() for s_ in str(m["path"]).split("->")]
                    row["path"] = f"{chain[0]} \u2192 {chain[-1]} (total)"
                    break
            row["mediation_type"] = None
            row["mediation_class"] = None
            rows.append(row)
    df = pd.DataFrame(rows, columns=cols)
    for c in cols:
        if c not in ("id", "path", "mediation_type", "mediation_class"):
            df[c] = df[c].astype(float)
    boot = df[["boot_pct_lower", "boot_bc_lower"]].notna().any().any()
    if not boot:
        df = df.drop(columns=["boot_pct_lower", "boot_pct_upper", "boot_bc_lower", "boot_bc_upper"])
    if not df[["std_boot_bc_lower"]].notna().any().any() if "std_boot_bc_lower" in df else True:
        df = df.drop(columns=["std_boot_bc_lower", "std_boot_bc_upper"])
    note = ("Indirect effect = product of the paths along X \u2192 M \u2192 Y; b = unstandardized, \u03b2 = standardized. "
            + ("Percentile and bias-corrected (lavaan's bca.simple) 95% bootstrap CIs, of b and of \u03b2 "
               "(the delta-method CIs are in tables.xlsx and results.json)" if boot else
               "Delta-method 95% CI; no bootstrap was run (use --bootstrap 2000 for bootstrap CIs)")
            + ". Direct \u03b2 = the X \u2192 Y path. Mediation type after Zhao, Lynch & Chen (2010): "
            "indirect-only (full), complementary or competitive (partial), direct-only or no-effect (none). "
            "Rows 'total' are total effects (direct plus all indirect paths).")
    ci_pairs = [] if boot else [("ci_lower", "ci_upper", "Delta 95% CI")]
    if boot:
        ci_pairs += [("boot_pct_lower", "boot_pct_upper", "Percentile 95% CI"),
                     ("boot_bc_lower", "boot_bc_upper", "BC 95% CI")]
    if "std_boot_bc_lower" in df.columns:
        ci_pairs.append(("std_boot_bc_lower", "std_boot_bc_upper", "\u03b2 BC 95% CI"))
    out = _meta(df, "Indirect and total effects", note, key="indirect_effects",
                 labels={"id": "Hypothesis", "path": "Path", "est": "b", "std_all": "\u03b2", "se": "SE",
                         "pvalue": "p", "direct_std_all": "Direct \u03b2", "direct_pvalue": "Direct p",
                         "mediation_type": "Type", "mediation_class": "Mediation"},
                 formats={"pvalue": "p", "direct_pvalue": "p", "mediation_type": "str", "mediation_class": "str"},
                 ci_pairs=ci_pairs)
    # shown in exports: the bootstrap intervals replace the delta-method one; the type names the class
    out.attrs["hidden"] = (["ci_lower", "ci_upper"] if boot else []) + ["mediation_class"]
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
    note = tx["note"].format(reps=o["permutations"], d_min=o["d_min"], alpha=o["alpha"]) + \
        f" Ceiling: {o['ceiling'].upper().replace('_', '-')}; scores: {o['scores']}."
    out = _meta(df, tx["title"], note, key="necessity_tests",
                labels={"id": lab["id"], "path": f"{lab['condition']} \u2192 {lab['outcome']}", "level": lab["level"],
                        "n": lab["n"], "effect_size": lab["effect_size"], "effect_class": lab["effect_class"],
                        "p_value": lab["p_value"], "required_text": lab["required"], "supported": lab["supported"],
                        "reason": lab["reason"]},
                formats={"level": "f0", "n": "int", "effect_size": "r3", "p_value": "p", "supported": "bool",
                         "effect_class": "str", "required_text": "str", "reason": "str"})
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
                group_columns=["outcome"])
    out.attrs["hidden"] = ["ce_fdh", "cr_fdh"]
    return out
