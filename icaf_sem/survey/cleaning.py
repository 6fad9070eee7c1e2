"""Turn a raw survey wave into an analysis-ready one, accounting for every change.

:func:`clean` applies the questionnaire's cleaning rules in a fixed order and
returns a :class:`CleanResult` that carries the cleaned data and the audit
trail: one row per excluded respondent and reason, one row per changed cell,
a CONSORT-style flow of the sample size after each step, and flags for cases
that are reported but kept.

Order of the rules
------------------
1. exact duplicate submissions (every column equal): keep the first;
2. conflicting duplicate ids (same id, different answers): flagged by default;
3. cell rules, on every remaining row: missing codes -> empty, scale-label
   text -> its value, other text -> empty, out-of-range or non-integer
   values -> empty (each logged per cell);
4. respondent rules, each judged on every remaining row so that a respondent
   with several flaws gets one exclusion row per reason: failed attention
   check, speeders, straight-lining;
5. multivariate outliers (Mahalanobis, p < .001) among the kept respondents:
   flagged, not dropped, by default;
6. reverse-keying (``min + max - x``) of the kept data.

The raw data (file or DataFrame) are never modified.
"""
from __future__ import annotations

import math
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import pandas as pd
from pydantic import ValidationError
from scipy import stats

from ..errors import DataError, DataWarning, QuestionnaireError
from ..questionnaire import CleaningRules, Questionnaire, load_questionnaire, _pydantic_problems
from .io import conform_columns, load_survey, to_number

__all__ = ["clean", "CleanResult", "resolve_rules", "mahalanobis_outliers"]

EXCLUSION_COLUMNS = ["respondent_id", "reason", "detail", "row"]
CELL_FIX_COLUMNS = ["respondent_id", "item", "raw_value", "action", "new_value", "row"]
FLOW_COLUMNS = ["step", "n_remaining", "n_removed", "n_flagged"]
FLAG_COLUMNS = ["respondent_id", "flag", "detail", "row"]

REASON_DUPLICATE = "duplicate submission"
REASON_CONFLICT = "conflicting duplicate id"
REASON_ATTENTION = "failed attention check"
REASON_SPEEDER = "speeder"
REASON_STRAIGHT = "straight-lining"
REASON_OUTLIER = "multivariate outlier"


@dataclass
class CleanResult:
    """The cleaned wave and its audit trail.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per kept respondent: the id column, the metadata columns and the
        items, reverse-keyed items scored ``min + max - x``; bad cells are NaN.
    exclusions : pandas.DataFrame
        ``respondent_id, reason, detail, row``: one row per excluded respondent
        and reason (a respondent failing two rules has two rows); ``row`` is the
        data row of the raw file (1 = first row under the header).
    cell_fixes : pandas.DataFrame
        ``respondent_id, item, raw_value, action, new_value, row``: one row per
        changed cell.
    flow : pandas.DataFrame
        ``step, n_remaining, n_removed, n_flagged``: the sample after each step.
    flags : pandas.DataFrame
        ``respondent_id, flag, detail, row``: cases reported but kept
        (multivariate outliers, conflicting ids by default).
    warnings : list of str
        Everything that deserves attention (also issued as ``DataWarning``).
    rules : CleaningRules
        The rules applied (questionnaire settings with overrides).
    reversed_items : list of str
    source : str
    """

    data: pd.DataFrame
    exclusions: pd.DataFrame
    cell_fixes: pd.DataFrame
    flow: pd.DataFrame
    flags: pd.DataFrame
    warnings: list = field(default_factory=list)
    rules: Optional[CleaningRules] = None
    reversed_items: list = field(default_factory=list)
    source: str = "<DataFrame>"
    input_info: dict = field(default_factory=dict)   # format, encoding, separator, line endings as read

    @property
    def n_raw(self) -> int:
        return int(self.flow["n_remaining"].iloc[0])

    @property
    def n_clean(self) -> int:
        return int(len(self.data))

    @property
    def excluded_ids(self) -> list:
        """Ids of respondents excluded for a reason other than being a duplicate copy."""
        ex = self.exclusions[self.exclusions["reason"] != REASON_DUPLICATE]
        return list(dict.fromkeys(ex["respondent_id"]))

    def summary(self) -> str:
        """A short text account of the cleaning (flow, reasons, cell fixes, warnings)."""
        lines = [f"Cleaning of {self.source}: {self.n_raw} rows -> {self.n_clean} respondents"]
        if self.input_info:
            lines.append("  read as " + ", ".join(f"{k} {v!r}" for k, v in self.input_info.items()))
        for _, r in self.flow.iterrows():
            extra = f", {int(r.n_flagged)} flagged" if r.n_flagged else ""
            lines.append(f"  {r.step:<45} n = {int(r.n_remaining):>5}  (-{int(r.n_removed)}{extra})")
        if len(self.cell_fixes):
            counts = self.cell_fixes["action"].value_counts()
            lines.append("Cell fixes: " + "; ".join(f"{a}: {n}" for a, n in counts.items()))
        for w in self.warnings:
            lines.append(f"Warning: {w}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"CleanResult({self.n_raw} rows -> {self.n_clean} respondents, {len(self.exclusions)} exclusions, "
                f"{len(self.cell_fixes)} cell fixes, {len(self.flags)} flags)")

    def _repr_html_(self) -> str:
        return "<pre>" + self.summary().replace("&", "&amp;").replace("<", "&lt;") + "</pre>" + self.flow.to_html(index=False)

    def export_frames(self) -> dict:
        """The tables as written by :meth:`to_dir`: ``{file name: DataFrame}``, integers shown as integers."""
        data = self.data.copy()
        for c in data.columns:
            if pd.api.types.is_float_dtype(data[c]):
                vals = data[c].dropna()
                if len(vals) == 0 or np.all(np.equal(np.mod(vals, 1), 0)):
                    data[c] = data[c].astype("Int64")
        return {"clean.csv": data, "exclusions.csv": self.exclusions, "cell_fixes.csv": self.cell_fixes,
                "flow.csv": self.flow, "flags.csv": self.flags}

    def to_dir(self, path: Union[str, Path]) -> Path:
        """Write clean.csv, exclusions.csv, cell_fixes.csv, flow.csv and flags.csv, whole or not at all."""
        from .._atomic import atomic_dir
        with atomic_dir(path) as stage:
            for name, frame in self.export_frames().items():
                frame.to_csv(stage / name, index=False, encoding="utf-8")
        return Path(path)


# --------------------------------------------------------------------------- rules
def resolve_rules(questionnaire: Questionnaire, overrides: Optional[dict] = None) -> CleaningRules:
    """The questionnaire's cleaning rules with ``overrides`` applied (validated)."""
    base = questionnaire.cleaning.model_dump()
    overrides = dict(overrides or {})
    unknown = [k for k in overrides if k not in base]
    if unknown:
        raise QuestionnaireError(
            f"clean(): unknown cleaning rule(s) {', '.join(map(repr, unknown))}; fix: use one of {', '.join(base)}")
    try:
        return CleaningRules.model_validate({**base, **overrides})
    except ValidationError as exc:
        raise QuestionnaireError("clean(): invalid rule setting: " + "; ".join(_pydantic_problems(exc))) from None


# --------------------------------------------------------------------------- helpers
def _raw_repr(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}" if math.isfinite(v) else str(v)
    return str(v)


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", str(text)).split()).casefold()


_NUM_LABEL = re.compile(r"^\s*([+-]?\d+)\s*(?:[-:=.、()（]\s*)?(.*?)\s*[)）]?\s*$")


def _label_lookup(q: Questionnaire):
    table = q.label_values()
    by_value = {}
    for text, value in table.items():
        by_value.setdefault(value, set()).add(text)

    def lookup(text: str) -> Optional[float]:
        key = _norm(text)
        if key in table:
            return table[key]
        m = _NUM_LABEL.match(key)
        if m and m.group(2):  # "6 agree", "6 - 同意", "6（同意）"
            value = float(m.group(1))
            if m.group(2).strip(" -:=.、()（）") in by_value.get(value, ()):
                return value
        return None

    return lookup


def _longest_run(values: np.ndarray) -> int:
    best = run = 1
    for a, b in zip(values[:-1], values[1:]):
        run = run + 1 if a == b else 1
        best = max(best, run)
    return best


def mahalanobis_outliers(items: pd.DataFrame, alpha: float = 0.001) -> pd.DataFrame:
    """Squared Mahalanobis distances with a chi-square test, allowing missing answers.

    The mean vector and the covariance matrix are the pairwise-available
    estimates; each respondent is measured on the items they answered
    (``df`` = number answered).

    Parameters
    ----------
    items : DataFrame
        Numeric item responses (NaN for missing).
    alpha : float, default 0.001

    Returns
    -------
    DataFrame
        ``d2, df, pvalue, outlier`` indexed like ``items``.

    Examples
    --------
    The complete-data R equivalent is
    ``d2 <- mahalanobis(x, colMeans(x), cov(x)); p <- pchisq(d2, ncol(x), lower.tail = FALSE)``.
    """
    x = items.to_numpy(dtype=float)
    n, k = x.shape
    mu = np.nanmean(x, axis=0) if n else np.zeros(k)
    cov = items.cov().to_numpy()
    out = pd.DataFrame({"d2": np.nan, "df": 0, "pvalue": np.nan, "outlier": False}, index=items.index)
    obs = ~np.isnan(x)
    d2 = np.full(n, np.nan)
    dfs = np.zeros(n, dtype=int)
    if n:
        if k <= 62:      # a pattern as the bits of one integer: a 1-D unique, not a row sort
            key = obs.astype(np.int64) @ (np.int64(1) << np.arange(k, dtype=np.int64))
            _, first_idx, inv = np.unique(key, return_index=True, return_inverse=True)
            pats = obs[first_idx]
        else:
            pats, inv = np.unique(obs, axis=0, return_inverse=True)
        inv = np.asarray(inv).reshape(-1)
        order = np.argsort(inv, kind="stable")
        bounds = np.searchsorted(inv[order], np.arange(len(pats) + 1))
        groups = [(pats[g], order[bounds[g]:bounds[g + 1]]) for g in range(len(pats))]
    else:
        groups = []
    for m, rows in groups:
        if m.sum() < 2:
            continue
        s = cov[np.ix_(m, m)]
        if not np.all(np.isfinite(s)):
            continue
        try:
            inv = np.linalg.pinv(s)
        except (np.linalg.LinAlgError, ValueError):
            continue                       # a degenerate pattern: no distance rather than a crash
        dev = x[np.ix_(rows, np.flatnonzero(m))] - mu[m]
        d2[rows] = np.einsum("ij,jk,ik->i", dev, inv, dev)
        dfs[rows] = int(m.sum())
    out["d2"] = d2
    out["df"] = dfs
    with np.errstate(invalid="ignore"):
        p = np.where(dfs > 0, stats.chi2.sf(d2, np.maximum(dfs, 1)), np.nan)
    out["pvalue"] = p
    out["outlier"] = np.nan_to_num(p, nan=1.0) < alpha
    return out


# --------------------------------------------------------------------------- clean
def clean(data: Union[pd.DataFrame, str, Path], questionnaire: Union[Questionnaire, str, Path],
          **rule_overrides) -> CleanResult:
    """Clean a survey wave by the questionnaire's rules.

    Parameters
    ----------
    data : DataFrame or path
        The raw wave: a DataFrame (from :func:`load_survey` or
        :func:`simulate_wave`) or a file that :func:`load_survey` reads.
        It is not modified.
    questionnaire : Questionnaire or path
        The instrument; its ``cleaning:`` block gives the rules.
    **rule_overrides
        Any :class:`~icaf_sem.questionnaire.CleaningRules` field, e.g.
        ``speeder_fraction=0.3``, ``straightline_run=10``, ``outliers="drop"``.

    Returns
    -------
    CleanResult

    Raises
    ------
    DataError
        Missing or duplicated item columns, an empty wave, or (with
        ``empty_items="error"``) an item nobody answered.
    QuestionnaireError
        An unknown or invalid rule override.

    Examples
    --------
    >>> from icaf_sem import clean, load_questionnaire
    >>> res = clean("wave1.csv", "questionnaires/icaf.yaml")        # doctest: +SKIP
    >>> res.flow                                                    # doctest: +SKIP
    >>> res.exclusions.reason.value_counts()                        # doctest: +SKIP
    """
    if questionnaire is None or not isinstance(questionnaire, (Questionnaire, str, Path)):
        raise QuestionnaireError(f"clean(): questionnaire={questionnaire!r} is not a questionnaire; pass its YAML "
                                 "path (e.g. 'questionnaires/icaf.yaml'), 'icaf' or a Questionnaire")
    if not isinstance(data, (pd.DataFrame, str, Path)):
        raise DataError(f"clean(): data must be a DataFrame or a file path, got {type(data).__name__}; "
                        "pass load_survey(path) or the path itself")
    q = load_questionnaire(questionnaire)
    rules = resolve_rules(q, rule_overrides)
    if isinstance(data, (str, Path)):
        df = load_survey(data, q)
    else:
        df = conform_columns(data, q)
    source = str(df.attrs.get("source", "<DataFrame>"))
    rows = df.attrs.get("row_numbers")
    if rows is None or len(rows) != len(df):
        rows = list(range(1, len(df) + 1))
    blank = int(df.attrs.get("blank_rows_dropped", 0) or 0)
    input_info = {k: df.attrs[k] for k in ("format", "encoding", "separator", "line_endings") if k in df.attrs}
    df = df.reset_index(drop=True)
    df.attrs = {}          # pandas deep-copies attrs on every operation: keep them out of the way
    df["__row"] = rows
    notes: list[str] = []

    def warn(msg: str) -> None:
        notes.append(msg)
        warnings.warn(msg, DataWarning, stacklevel=3)

    if blank:
        warn(f"{source}: {blank} completely empty row(s) were skipped")

    # ---- ids
    idc = q.id_column or "respondent_id"
    if idc not in df.columns:
        warn(f"{source}: no id column {idc!r}; respondents are identified by their row number (row-1, row-2 ...)")
        df[idc] = [f"row-{r}" for r in rows]
    else:
        codes_, uniq = pd.factorize(df[idc].to_numpy(dtype=object), use_na_sentinel=True)
        canon_id = np.array([np.nan if _is_blank(v) else (str(int(v)) if isinstance(v, float) and v.is_integer()
                                                           else str(v).strip()) for v in uniq] + [np.nan], dtype=object)
        ids = pd.Series(canon_id[codes_], index=df.index, dtype=object)
        n_noid = int(ids.isna().sum())
        if n_noid:
            warn(f"{source}: {n_noid} row(s) have an empty {idc!r}; they are identified as row-<row number>")
            ids = ids.where(ids.notna(), pd.Series([f"row-{r}" for r in rows], index=ids.index))
        df[idc] = ids.astype(object)

    ID = df[idc].to_numpy(dtype=object)          # by row label (the index is 0..n-1 here)
    ROW = df["__row"].to_numpy()
    exclusions: list[dict] = []
    flags: list[dict] = []
    fixes: list = []                              # DataFrames with CELL_FIX_COLUMNS
    flow: list[dict] = [{"step": "rows in the raw data", "n_remaining": len(df), "n_removed": 0, "n_flagged": 0}]
    keep = pd.Series(True, index=df.index)

    # ---- 1. exact duplicates
    content = [c for c in df.columns if c != "__row"]
    n_dup = 0
    if rules.drop_exact_duplicates:
        code_cols = {}
        for k, c in enumerate(content):        # each distinct cell is canonicalised once
            codes_, uniq = pd.factorize(df[c].to_numpy(dtype=object), use_na_sentinel=True)
            canon = np.empty(len(uniq) + 1, dtype=object)
            canon[:] = [_canon(u) for u in uniq] + [None]
            ccodes, _ = pd.factorize(canon[codes_], use_na_sentinel=True)
            code_cols[k] = ccodes.astype(np.int32)
        n_all = len(df)
        if code_cols and n_all:
            # rows hashed column by column (bounded memory); equal hashes are then checked exactly
            h = np.zeros(n_all, dtype=np.uint64)
            for k in code_cols:
                h = h * np.uint64(1000003) ^ pd.util.hash_array(code_cols[k].astype(np.int64))
            _, inv = np.unique(h, return_inverse=True)
            inv = np.asarray(inv).reshape(-1)
            del h
            first = np.full(inv.max() + 1, n_all, dtype=np.int64)
            np.minimum.at(first, inv, np.arange(n_all))
            first_pos = first[inv]
            cand = np.flatnonzero(first_pos != np.arange(n_all))
            same = np.ones(len(cand), dtype=bool)
            for k in code_cols:
                same &= code_cols[k][cand] == code_cols[k][first_pos[cand]]
            if not same.all():                  # a hash collision: exact grouping instead
                keys_df = pd.DataFrame(code_cols)
                inv = keys_df.groupby(list(keys_df.columns), sort=False).ngroup().to_numpy()
                del keys_df
                first = np.full(inv.max() + 1, n_all, dtype=np.int64)
                np.minimum.at(first, inv, np.arange(n_all))
                first_pos = first[inv]
            del code_cols
        else:
            first_pos = np.arange(n_all)
        is_dup = first_pos != np.arange(n_all)
        dup = pd.Series(is_dup, index=df.index)
        labels_ = df.index.to_numpy()
        for p in np.flatnonzero(is_dup):
            i, f = labels_[p], labels_[first_pos[p]]
            exclusions.append({"respondent_id": ID[i], "reason": f"{REASON_DUPLICATE} (exact copy)",
                               "detail": f"row {ROW[i]} repeats row {ROW[f]} exactly; first kept", "row": ROW[i]})
        n_dup = int(dup.sum())
        keep &= ~dup
        flow.append({"step": "exact duplicate submissions removed", "n_remaining": int(keep.sum()),
                     "n_removed": n_dup, "n_flagged": 0})
    if not keep.all():
        df = df.loc[keep]
    keep = keep.loc[keep]

    # ---- 2. conflicting duplicate ids
    dup_id = df[idc].duplicated(keep=False)
    if dup_id.any():
        sub = df.loc[dup_id]
        pos = sub.groupby(idc, sort=False).indices
        order = pd.unique(sub[idc])
        groups = pd.Series({rid: [ROW[i] for i in sub.index[pos[rid]]] for rid in order}, dtype=object)
        removed = pd.Series(False, index=df.index)
        n_flag = 0
        for rid, rws in groups.items():
            detail = f"id {rid} is used by rows {', '.join(map(str, rws))} with different answers"
            idx = sub.index[pos[rid]]
            if rules.conflicting_ids == "flag":
                for i in idx:
                    flags.append({"respondent_id": rid, "flag": REASON_CONFLICT, "detail": detail + "; all kept",
                                  "row": ROW[i]})
                    n_flag += 1
            else:
                drop_idx = idx if rules.conflicting_ids == "drop" else idx[1:]
                for i in drop_idx:
                    exclusions.append({"respondent_id": rid, "reason": REASON_CONFLICT,
                                       "detail": detail + ("; all dropped" if rules.conflicting_ids == "drop" else "; first kept"),
                                       "row": ROW[i]})
                    removed.loc[i] = True
        warn(f"{source}: {len(groups)} respondent id(s) appear on rows with different answers "
             f"({', '.join(map(str, list(groups.index)[:5]))}{' ...' if len(groups) > 5 else ''}); "
             f"rule conflicting_ids={rules.conflicting_ids!r}")
        keep &= ~removed
        flow.append({"step": "conflicting duplicate ids " + ("flagged" if rules.conflicting_ids == "flag" else "removed"),
                     "n_remaining": int(keep.sum()), "n_removed": int(removed.sum()), "n_flagged": n_flag})

    # ---- 3. cell rules
    lookup = _label_lookup(q)
    lo, hi = q.scale_min, q.scale_max
    codes = set(q.missing_codes)
    scored = list(q.items) + [a for a in q.attention_items if a in df.columns and a not in q.items]
    for col in scored:
        df[col] = _recode_column(df, col, ID, ROW, lo, hi, codes, lookup, fixes)
    dcol = q.duration_column
    if dcol and dcol in df.columns:
        codes_, uniq = pd.factorize(df[dcol].to_numpy(dtype=object), use_na_sentinel=True)
        num_u, act_u = [], []
        for v in uniq:
            n = to_number(v)
            if n is None:
                num_u.append(np.nan), act_u.append("invalid text -> empty")
            elif n != n and isinstance(v, str) and v.strip():
                num_u.append(np.nan), act_u.append("missing-value text -> empty")
            elif n < 0:
                num_u.append(np.nan), act_u.append("negative duration -> empty")
            else:
                num_u.append(n), act_u.append(None)
        vals = np.array(num_u + [np.nan], dtype=float)[codes_]
        acts = np.array(act_u + [None], dtype=object)[codes_]
        sel = np.flatnonzero(pd.notna(acts))
        if len(sel):
            lab = df.index.to_numpy()[sel]
            raw_vals = df[dcol].to_numpy(dtype=object)[sel]
            fixes.append(pd.DataFrame({"respondent_id": ID[lab], "item": dcol,
                                       "raw_value": [_raw_repr(v) for v in raw_vals], "action": acts[sel],
                                       "new_value": np.nan, "row": ROW[lab]}, columns=CELL_FIX_COLUMNS))
        df[dcol] = pd.Series(vals, index=df.index, dtype=float)
    for c, spec in q.metadata.items():
        if spec["kind"] == "category" and c in df.columns and spec.get("values"):
            # a category written in any language of the questionnaire (省级, "Province ") is its declared value
            known = {}
            for v in spec["values"]:
                known[str(v).strip().casefold()] = v
                for text in (spec.get("value_labels") or {}).get(str(v), {}).values():
                    known[str(text).strip().casefold()] = v
            mapped, changed = [], []
            for i, v in df[c].items():
                key = str(v).strip().casefold() if isinstance(v, str) else None
                if key is not None and key in known and known[key] != v:
                    changed.append((i, v))
                    mapped.append(known[key])
                else:
                    mapped.append(v)
            if changed:
                lab = np.array([i for i, _ in changed], dtype=object)
                fixes.append(pd.DataFrame({"respondent_id": df.loc[lab, idc].to_numpy(), "item": c,
                                           "raw_value": [_raw_repr(v) for _, v in changed],
                                           "action": "category label -> declared value", "new_value": np.nan,
                                           "row": df.loc[lab, "__row"].to_numpy()}, columns=CELL_FIX_COLUMNS))
            df[c] = pd.Series(mapped, index=df.index, dtype=object)
            allowed = {str(v) for v in spec["values"]}
            odd = sorted({str(v) for v in df[c].dropna() if str(v) not in allowed})
            if odd:
                warn(f"{source}: column {c!r} has values not in the questionnaire ({', '.join(map(repr, odd[:5]))}); "
                     f"expected {', '.join(spec['values'])}; they are kept as given")

    empty = [it for it in q.items if df.loc[keep.index, it].notna().sum() == 0]
    if empty:
        msg = (f"{source}: item(s) {', '.join(map(repr, empty))} have no valid answers at all; "
               "fix: check the export (was the question shown?) or drop the item from the questionnaire")
        if rules.empty_items == "error":
            raise DataError(msg)
        warn(msg)
    fix_actions = pd.concat([f["action"] for f in fixes], ignore_index=True) if fixes else pd.Series(dtype=object)
    fix_counts = fix_actions.value_counts(sort=True) if len(fix_actions) else pd.Series(dtype=int)
    flow.append({"step": "cells recoded (" + (", ".join(f"{a}: {n}" for a, n in fix_counts.items()) or "none") + ")",
                 "n_remaining": int(keep.sum()), "n_removed": 0, "n_flagged": 0})

    # ---- 4. respondent rules, each judged on all remaining rows
    cur = df.loc[keep.index[keep]]
    findings: list[tuple[str, pd.Series, dict]] = []
    if rules.attention:
        if not q.attention_checks:
            pass
        else:
            failed = pd.Series(False, index=cur.index)
            detail: dict = {}
            present = [(a, ok) for a, ok in q.attention_checks if a in cur.columns and cur[a].notna().any()]
            for a, ok in q.attention_checks:
                if a not in cur.columns:
                    warn(f"{source}: attention item {a!r} is not in the data; that check is skipped")
                elif (a, ok) not in present:
                    warn(f"{source}: attention item {a!r} has no answers at all (was it exported?); "
                         "that check is skipped")
            for a, ok in present:
                v = cur[a]
                bad = ~v.isin(ok)
                if rules.attention_missing == "pass":
                    bad &= v.notna()
                want = " or ".join(f"{x:g}" for x in ok)
                for i in cur.index[bad]:
                    got = "no answer" if pd.isna(v.loc[i]) else f"{v.loc[i]:g}"
                    detail[i] = (detail.get(i, "") + "; " if i in detail else "") + f"{a} = {got} (expected {want})"
                failed |= bad
            if present:
                findings.append((REASON_ATTENTION, failed, detail))
    if rules.speeders:
        if dcol and dcol in cur.columns and cur[dcol].notna().any():
            med = float(cur[dcol].median())
            limit = rules.speeder_fraction * med
            fast = cur[dcol] < limit
            detail = {i: f"{dcol} = {cur.at[i, dcol]:g} < {limit:g} ({rules.speeder_fraction:g} x median {med:g})"
                      for i in cur.index[fast]}
            findings.append((REASON_SPEEDER, fast, detail))
        else:
            warn(f"{source}: no {'duration column' if not dcol else repr(dcol) + ' values'} in the data; "
                 "the speeder rule is skipped")
    if rules.straightline:
        raw_items = cur[q.items].to_numpy(dtype=float)
        need = max(2, math.ceil(rules.straightline_min_answered * len(q.items)))
        n_ans, run, first_val = _straight_runs(raw_items, rules.straightline_run is None)
        if rules.straightline_run is None:
            is_flat = (n_ans >= need) & (run == n_ans)
        else:
            is_flat = (n_ans >= need) & (run >= rules.straightline_run)
        flat = pd.Series(is_flat, index=cur.index)
        detail = {}
        for p in np.flatnonzero(is_flat):
            i = cur.index[p]
            if rules.straightline_run is None:
                detail[i] = f"all {int(n_ans[p])} answered items = {first_val[p]:g}"
            else:
                detail[i] = f"{int(run[p])} identical answers in a row (limit {rules.straightline_run})"
        findings.append((REASON_STRAIGHT, flat, detail))

    step_names = {REASON_ATTENTION: "failed attention check removed", REASON_SPEEDER: "speeders removed",
                  REASON_STRAIGHT: "straight-liners removed"}
    remaining = keep.copy()
    for reason, mask, detail in findings:
        for i in mask.index[mask]:
            exclusions.append({"respondent_id": ID[i], "reason": reason, "detail": detail.get(i, ""),
                               "row": ROW[i]})
        newly = mask & remaining.loc[mask.index]
        remaining.loc[mask.index[mask]] = False
        flow.append({"step": step_names[reason], "n_remaining": int(remaining.sum()),
                     "n_removed": int(newly.sum()), "n_flagged": 0})
    keep = remaining
    del cur, findings

    # ---- 5. multivariate outliers
    if rules.outliers != "off":
        kept = df.loc[keep.index[keep], list(q.items)]
        usable = [it for it in q.items if kept[it].notna().sum() > 1 and kept[it].nunique() > 1]
        if len(kept) > len(usable) + 1 and usable:
            res = mahalanobis_outliers(kept[usable], rules.outlier_alpha)
            out_idx = res.index[res["outlier"]]
            n_removed = 0
            for i in out_idx:
                r = res.loc[i]
                det = f"Mahalanobis D2 = {r.d2:.2f}, df = {int(r.df)}, p = {r.pvalue:.2g} < {rules.outlier_alpha:g}"
                rec = {"respondent_id": ID[i], "row": ROW[i], "detail": det}
                if rules.outliers == "drop":
                    exclusions.append({**rec, "reason": REASON_OUTLIER})
                    keep.loc[i] = False
                    n_removed += 1
                else:
                    flags.append({**rec, "flag": REASON_OUTLIER})
            flow.append({"step": "multivariate outliers " + ("removed" if rules.outliers == "drop" else "flagged (kept)"),
                         "n_remaining": int(keep.sum()), "n_removed": n_removed,
                         "n_flagged": 0 if rules.outliers == "drop" else len(out_idx)})
        else:
            warn(f"{source}: too few complete respondents ({len(kept)}) for {len(usable)} items; "
                 "the multivariate outlier check is skipped")
        del kept

    # ---- 6. reverse keying and the clean frame
    meta = [c for c in q.metadata_columns if c in df.columns and c != idc]
    cols = [idc] + meta + list(q.items)
    clean_df = df.loc[keep.index[keep], cols].reset_index(drop=True)
    del df
    for it in q.reverse_keyed:
        clean_df[it] = (lo + hi) - clean_df[it]
    for it in q.items:
        clean_df[it] = clean_df[it].astype(float)
    clean_df.attrs = {"source": source}
    flow.append({"step": "analysed sample", "n_remaining": len(clean_df), "n_removed": 0, "n_flagged": 0})

    ex = pd.DataFrame(exclusions, columns=EXCLUSION_COLUMNS)
    ex["row"] = ex["row"].astype(int)
    ex = ex.sort_values("row", kind="stable").reset_index(drop=True)
    cf = (pd.concat(fixes, ignore_index=True) if fixes else pd.DataFrame(columns=CELL_FIX_COLUMNS))[CELL_FIX_COLUMNS]
    cf["new_value"] = cf["new_value"].astype(float)
    cf["row"] = cf["row"].astype(int)
    fl = pd.DataFrame(flags, columns=FLAG_COLUMNS)
    fl["row"] = fl["row"].astype(int)
    return CleanResult(data=clean_df, exclusions=ex, cell_fixes=cf,
                       flow=pd.DataFrame(flow, columns=FLOW_COLUMNS), flags=fl, warnings=notes, rules=rules,
                       reversed_items=list(q.reverse_keyed), source=source, input_info=input_info)


def _is_blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() == ""
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _canon(v: Any):
    """A hashable, type-insensitive form of a cell for duplicate detection."""
    if _is_blank(v):
        return None
    n = to_number(v)
    if n is not None and not (isinstance(n, float) and math.isnan(n)):
        return n
    return str(v).strip()


def _straight_runs(x: np.ndarray, all_equal_only: bool = False, block: int = 8192):
    """Per row: number answered, longest run of identical consecutive answers (missing answers
    skipped, as if the answered items were written one after the other) and the first answer.
    Rows are processed in blocks, so the workspace stays small for any number of respondents."""
    if len(x) > block:
        parts = [_straight_runs(x[a:a + block], all_equal_only, block) for a in range(0, len(x), block)]
        return tuple(np.concatenate([p[j] for p in parts]) for j in range(3))
    n, k = x.shape
    ans = ~np.isnan(x)
    n_ans = ans.sum(1)
    if n == 0 or k == 0:
        return n_ans, np.zeros(n, dtype=int), np.full(n, np.nan)
    comp = np.full((n, k), np.nan)                        # answered items first, in item order
    r, c = np.nonzero(ans)
    comp[r, (np.cumsum(ans, axis=1) - 1)[r, c]] = x[r, c]
    first_val = comp[:, 0]
    if all_equal_only:
        with np.errstate(invalid="ignore"):
            same = np.where(ans, x == first_val[:, None], True).all(1)
        return n_ans, np.where(same, n_ans, 0), first_val
    best = np.minimum(n_ans, 1)
    cur = best.copy()
    for j in range(1, k):
        with np.errstate(invalid="ignore"):
            eq = (comp[:, j] == comp[:, j - 1]) & (j < n_ans)
        cur = np.where(eq, cur + 1, 1)
        best = np.maximum(best, np.where(j < n_ans, cur, 0))
    return n_ans, best, first_val


def _recode_column(df: pd.DataFrame, col: str, ID, ROW, lo: int, hi: int, codes: set, lookup,
                   fixes: list) -> pd.Series:
    """Cell rules for one item column; each distinct raw value is judged once; the changed cells
    are appended to ``fixes`` as a DataFrame (one row per cell)."""
    labels = df.index.to_numpy()
    if pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col]):
        v = df[col].to_numpy(dtype=float)
        nn = ~np.isnan(v)
        is_code = np.isin(v, list(codes))
        off = nn & ~is_code & ((v < lo) | (v > hi))
        frac = nn & ~is_code & ~off & (v != np.floor(v))
        for mask, action in ((is_code, "missing code -> empty"), (off, "out of range -> empty"),
                             (frac, "not a scale point -> empty")):
            sel = np.flatnonzero(mask)
            if len(sel):
                lab = labels[sel]
                fixes.append(pd.DataFrame({"respondent_id": ID[lab], "item": col,
                                           "raw_value": [_raw_repr(float(x)) for x in v[sel]], "action": action,
                                           "new_value": np.nan, "row": ROW[lab]}, columns=CELL_FIX_COLUMNS))
        out = v.copy()
        out[is_code | off | frac] = np.nan
        return pd.Series(out, index=df.index, dtype=float)
    raw = df[col].to_numpy(dtype=object)
    codes_, uniq = pd.factorize(raw, use_na_sentinel=True)
    new_u, act_u = [], []
    for v in uniq:
        new, action = _judge_cell(v, lo, hi, codes, lookup)
        new_u.append(new)
        act_u.append(action)
    new_vals = np.array(new_u + [np.nan], dtype=float)[codes_]
    acts = np.array(act_u + [None], dtype=object)[codes_]
    sel = np.flatnonzero(pd.notna(acts))
    if len(sel):
        lab = labels[sel]
        fixes.append(pd.DataFrame({"respondent_id": ID[lab], "item": col,
                                   "raw_value": [_raw_repr(x) for x in raw[sel]], "action": acts[sel],
                                   "new_value": new_vals[sel], "row": ROW[lab]}, columns=CELL_FIX_COLUMNS))
    return pd.Series(new_vals, index=df.index, dtype=float)


def _judge_cell(v, lo, hi, codes, lookup) -> tuple[float, Optional[str]]:
    """(new value, action or None) for one raw cell of an item column."""
    if _is_blank(v):
        return np.nan, None
    action = None
    n = to_number(v)
    if n is None:
        mapped = lookup(str(v))
        if mapped is None:
            return np.nan, "invalid text -> empty"
        new, action = mapped, "scale label -> value"
    elif isinstance(n, float) and math.isnan(n):
        if isinstance(v, str) and v.strip():
            return np.nan, "missing-value text -> empty"      # 'n/a', 'NA', 'null', '.' ...
        return np.nan, None
    else:
        new = n
    if new in codes:
        return np.nan, "missing code -> empty"
    if not (lo <= new <= hi):
        return np.nan, "out of range -> empty"
    if float(new) != math.floor(new):
        return np.nan, "not a scale point -> empty"
    return float(new), action
