"""Read a survey export (CSV, Excel, SPSS, Stata) into a validated DataFrame.

Survey platforms export in many shapes.  :func:`load_survey` accepts

* CSV in UTF-8, UTF-8 with a byte-order mark, UTF-16 with a BOM and GBK/GB18030
  (Chinese platforms), separated by commas, semicolons, tabs or bars (sniffed
  from the header line);
* Excel ``.xlsx``/``.xlsm`` (first sheet unless ``sheet=`` says otherwise);
* SPSS ``.sav``/``.zsav`` and Stata ``.dta`` (numeric codes, not value labels).

The raw file is only read, never written.  Values are kept as the respondent
gave them: numbers become floats, empty cells NaN, and text in an item column
stays text so that :func:`icaf_sem.clean` can map it through the scale labels
(or log it as an invalid cell).  ``respondent_id`` and category columns stay
text (an id ``0012`` keeps its zeros).
"""
from __future__ import annotations

import csv
import difflib
import io
import math
import os
import re
import unicodedata
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import pandas as pd

from ..errors import DataError

__all__ = ["load_survey", "conform_columns", "to_number", "NA_TOKENS", "SUPPORTED_FORMATS"]

NA_TOKENS = {"", "na", "n/a", "nan", "null", "none", "."}
SUPPORTED_FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "excel", ".xlsm": "excel",
                     ".sav": "spss", ".zsav": "spss", ".dta": "stata"}
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


def to_number(value: Any) -> float | None:
    """A cell as a float, NaN for an empty cell, or ``None`` when it is text.

    Accepts numbers, numeric strings with surrounding space, full-width digits
    and a decimal comma (``"3,0"``).
    """
    if value is None:
        return math.nan
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, (pd.Timestamp,)) or value is pd.NaT:
        return None
    try:
        if pd.isna(value):
            return math.nan
    except (TypeError, ValueError):
        pass
    s = unicodedata.normalize("NFKC", str(value)).strip()
    if s.casefold() in NA_TOKENS:
        return math.nan
    try:
        f = float(s)
    except ValueError:
        if _DECIMAL_COMMA.match(s):
            return float(s.replace(",", "."))
        return None
    return f if math.isfinite(f) else None


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return unicodedata.normalize("NFKC", value).strip().casefold() in NA_TOKENS
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- readers
def _decode(raw: bytes, path: Path, encoding: Optional[str]) -> tuple[str, str]:
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise DataError(f"{path}: cannot read the file as {encoding!r} ({exc}); "
                            "fix: pass the encoding the file was saved in (e.g. utf-8 or gb18030)") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise DataError(f"{path}: the text is neither UTF-8 nor GBK/GB18030; "
                    "fix: save the file as UTF-8 CSV or pass encoding=... (CLI: re-export as UTF-8)")


def _sniff_separator(text: str) -> str:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    counts = {}
    in_quote = False
    for ch in first:
        if ch == '"':
            in_quote = not in_quote
        elif not in_quote and ch in ",;\t|":
            counts[ch] = counts.get(ch, 0) + 1
    return max(counts, key=counts.get) if counts else ","


def _read_csv(path: Path, encoding: Optional[str], sep: Optional[str]) -> tuple[list, pd.DataFrame, dict]:
    raw = path.read_bytes()
    text, enc = _decode(raw, path, encoding)
    if not text.strip().strip("\ufeff"):
        raise DataError(f"{path}: the file is empty; fix: export the survey wave again (with a header row and data)")
    sep = sep or _sniff_separator(text)
    try:
        table = pd.read_csv(io.StringIO(text.lstrip("\ufeff")), sep=sep, header=None, dtype=str,
                            keep_default_na=False, na_filter=False, skip_blank_lines=True, engine="python")
    except (pd.errors.ParserError, csv.Error) as exc:
        raise DataError(f"{path}: the rows do not split into the same columns as the header ({exc}); "
                        f"fix: check the separator (read as {sep!r}) and quoting, or pass sep=...") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; fix: export the survey wave again") from None
    header = [str(h) for h in table.iloc[0].tolist()]
    body = table.iloc[1:].reset_index(drop=True)
    body = body.astype(object)
    return header, body, {"format": "csv", "encoding": enc, "separator": sep}


def _read_excel(path: Path, sheet) -> tuple[list, pd.DataFrame, dict]:
    try:
        table = pd.read_excel(path, sheet_name=sheet, header=None, dtype=object, engine="openpyxl")
    except ValueError as exc:
        raise DataError(f"{path}: cannot read sheet {sheet!r} ({exc}); fix: pass sheet= with an existing sheet") from None
    except Exception as exc:  # openpyxl raises many kinds for a corrupt file
        raise DataError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc}); "
                        "fix: open it in Excel and save it again as .xlsx") from None
    table = table.dropna(how="all", axis=0).dropna(how="all", axis=1).reset_index(drop=True)
    if table.empty:
        raise DataError(f"{path}: the sheet is empty; fix: export the survey wave again (with a header row and data)")
    header = ["" if _is_missing(h) else str(h) for h in table.iloc[0].tolist()]
    body = table.iloc[1:].reset_index(drop=True)
    body.columns = range(body.shape[1])
    return header, body.astype(object), {"format": "excel", "sheet": sheet}


def _read_stat(path: Path, kind: str) -> tuple[list, pd.DataFrame, dict]:
    import pyreadstat
    reader = pyreadstat.read_sav if kind == "spss" else pyreadstat.read_dta
    try:
        df, meta = reader(str(path), apply_value_formats=False)
    except Exception as exc:
        raise DataError(f"{path}: not a readable {'SPSS' if kind == 'spss' else 'Stata'} file "
                        f"({type(exc).__name__}: {exc}); fix: export it again or save it as CSV") from None
    if df.shape[1] == 0:
        raise DataError(f"{path}: the file is empty (no variables); fix: export the survey wave again")
    header = [str(c) for c in df.columns]
    body = df.astype(object)
    body.columns = range(body.shape[1])
    return header, body, {"format": kind}


# --------------------------------------------------------------------------- main entry
def load_survey(path: Union[str, os.PathLike], questionnaire=None, *, encoding: Optional[str] = None,
                sep: Optional[str] = None, sheet: Union[int, str] = 0,
                rename: Optional[dict] = None, require_items: bool = True) -> pd.DataFrame:
    """Read a survey export and check it against a questionnaire.

    Parameters
    ----------
    path : str or path-like
        ``.csv`` (also ``.txt``/``.tsv``), ``.xlsx``, ``.sav`` or ``.dta``.
    questionnaire : Questionnaire or str, optional
        The instrument (or its YAML path).  Gives the rename map, the item columns
        that must be present and the column types.
    encoding : str, optional
        CSV text encoding; by default UTF-8 (with or without BOM), UTF-16 with a
        BOM and GB18030/GBK are recognised.
    sep : str, optional
        CSV separator; sniffed from the header line by default.
    sheet : int or str, default 0
        Excel sheet.
    rename : dict, optional
        Extra ``{export name: questionnaire name}`` pairs, applied with the
        questionnaire's ``rename`` map.  Names are also matched ignoring case.
    require_items : bool, default True
        Raise when an item column of the questionnaire is missing.

    Returns
    -------
    pandas.DataFrame
        One row per data row of the file (rows with every cell empty are
        dropped).  Item and numeric columns are float where every value is a
        number, object (numbers and the original text) where some are text.
        ``df.attrs`` holds ``source``, ``format``, ``encoding``, ``separator``,
        ``blank_rows_dropped`` and ``renamed``.

    Raises
    ------
    DataError
        The file is missing, empty, has a header but no rows, has duplicated or
        unnamed columns, or lacks an item column; the message names the column
        and the fix.

    Examples
    --------
    >>> df = load_survey("wave1.csv", "questionnaires/icaf.yaml")   # doctest: +SKIP
    """
    from ..questionnaire import load_questionnaire
    q = load_questionnaire(questionnaire) if questionnaire is not None else None
    path = Path(path)
    if not path.exists():
        raise DataError(f"survey file {str(path)!r} not found; fix: check the path")
    if path.is_dir():
        raise DataError(f"survey path {str(path)!r} is a folder; fix: pass the data file itself")
    kind = SUPPORTED_FORMATS.get(path.suffix.lower())
    if kind is None:
        hint = " (save .xls workbooks as .xlsx)" if path.suffix.lower() == ".xls" else ""
        raise DataError(f"{path}: unsupported file type {path.suffix or '(none)'!r}{hint}; "
                        f"fix: use one of {', '.join(sorted(SUPPORTED_FORMATS))}")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes); fix: export the survey wave again")

    if kind == "csv":
        header, body, info = _read_csv(path, encoding, sep)
    elif kind == "excel":
        header, body, info = _read_excel(path, sheet)
    else:
        header, body, info = _read_stat(path, kind)

    # ---- header checks
    header = [unicodedata.normalize("NFC", str(h)).strip().lstrip("\ufeff").strip() for h in header]
    keep = []
    for k, name in enumerate(header):
        if name == "" or name.casefold() in ("nan", "none"):
            col = body.iloc[:, k] if k < body.shape[1] else pd.Series([], dtype=object)
            if col.map(_is_missing).all():
                continue  # an unnamed empty column (trailing separator): nothing to lose
            raise DataError(f"{path}: column {k + 1} has data but no name in the header; "
                            "fix: give it a name in the header row or delete it")
        keep.append(k)
    body = body.iloc[:, keep]
    header = [header[k] for k in keep]
    _check_duplicates(path, header, "")

    # ---- rename: explicit map, then case-insensitive match to the questionnaire's names
    header, renamed = _renamed_header(path, header, q, rename)
    body.columns = header

    # ---- rows
    if body.shape[0] == 0:
        raise DataError(f"{path}: the header has {len(header)} columns but there are no data rows; "
                        "fix: export the wave again with its responses")
    empty_row = body.apply(lambda r: all(_is_missing(v) for v in r), axis=1) if body.shape[1] else pd.Series([], dtype=bool)
    n_blank = int(empty_row.sum())
    body = body.loc[~empty_row].reset_index(drop=True)
    if body.shape[0] == 0:
        raise DataError(f"{path}: the header has {len(header)} columns but every data row is empty; "
                        "fix: export the wave again with its responses")

    # ---- item columns present?
    if q is not None and require_items:
        _check_items(path, header, q)

    # ---- values
    text_cols = set()
    if q is not None:
        text_cols = {c for c, spec in q.metadata.items() if spec["kind"] in ("id", "category", "text")}
    out = {}
    for name in header:
        col = body[name]
        if name in text_cols:
            out[name] = col.map(_text_or_nan).astype(object)
            continue
        nums = [to_number(v) for v in col]
        if any(n is None for n in nums):
            # some text: keep the original values so cleaning can map or log them
            out[name] = pd.Series([_text_or_nan(v) if n is None else n for v, n in zip(col, nums)],
                                  dtype=object, index=col.index)
        else:
            out[name] = pd.Series(nums, dtype=float, index=col.index)
    df = pd.DataFrame(out, index=body.index)
    row_numbers = [int(k) + 1 for k in df.index]
    df = df.reset_index(drop=True)
    df.attrs.update({"source": str(path), **info, "blank_rows_dropped": n_blank, "renamed": renamed,
                     "row_numbers": row_numbers})
    return df


def conform_columns(df: pd.DataFrame, questionnaire, *, rename: Optional[dict] = None,
                    require_items: bool = True, source: str = "<DataFrame>") -> pd.DataFrame:
    """Check and rename the columns of an in-memory survey DataFrame as :func:`load_survey` does for a file.

    Returns a renamed copy; ``df`` is not changed.
    """
    from ..questionnaire import load_questionnaire
    q = load_questionnaire(questionnaire)
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"survey data must be a pandas DataFrame or a file path, got {type(df).__name__}; "
                        "fix: pass load_survey(path) or the path itself")
    header = [str(c).strip() for c in df.columns]
    _check_duplicates(source, header, "")
    header, renamed = _renamed_header(source, header, q, rename)
    if df.shape[0] == 0:
        raise DataError(f"{source}: the data has {df.shape[1]} columns but no rows; fix: pass a survey wave with responses")
    if require_items:
        _check_items(source, header, q)
    out = df.copy()
    out.columns = header
    out.attrs = dict(df.attrs)
    out.attrs.setdefault("source", source)
    return out


def _renamed_header(path, header: list, q, rename: Optional[dict]) -> tuple[list, dict]:
    mapping = {}
    if q is not None:
        mapping.update(q.rename)
    if rename:
        mapping.update(rename)
    folded_map = {_fold(k): v for k, v in mapping.items()}
    known = {_fold(c): c for c in (q.known_columns if q is not None else [])}
    new, renamed = [], {}
    for name in header:
        if q is not None and name in q.known_columns:
            target = name
        else:
            target = mapping.get(name) or folded_map.get(_fold(name)) or known.get(_fold(name)) or name
        if target != name:
            renamed[name] = target
        new.append(target)
    _check_duplicates(path, new, " after renaming", original=header)
    return new, renamed


def _check_items(path, header: list, q) -> None:
    missing = [i for i in q.items if i not in header]
    if not missing:
        return
    found = ", ".join(header[:12]) + (" ..." if len(header) > 12 else "")
    hints = []
    for m in missing[:3]:
        close = difflib.get_close_matches(m, header, n=1)
        if close:
            hints.append(f"{close[0]!r} -> {m!r}")
    hint = f" (perhaps map {', '.join(hints)} in the questionnaire's rename map)" if hints else ""
    raise DataError(f"{path}: item column(s) {', '.join(repr(m) for m in missing)} missing{hint}; "
                    f"fix: add the column(s) or map the export's names with `rename:` in the questionnaire; "
                    f"columns found: {found}")


def _text_or_nan(v: Any):
    if _is_missing(v):
        return np.nan
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return unicodedata.normalize("NFC", str(v)).strip()


def _fold(name: str) -> str:
    return unicodedata.normalize("NFKC", str(name)).strip().casefold()


def _check_duplicates(path: Path, names: list, when: str, original: Optional[list] = None) -> None:
    seen = {}
    for k, n in enumerate(names):
        if n in seen:
            j = seen[n]
            if original is not None and original[j] != original[k]:
                raise DataError(f"{path}: columns {original[j]!r} (column {j + 1}) and {original[k]!r} (column {k + 1}) "
                                f"both become {n!r}{when}; fix: keep one of them or change the rename map")
            raise DataError(f"{path}: column name {n!r} appears twice (columns {j + 1} and {k + 1}); "
                            "fix: rename or delete one of them so every column name is unique")
        seen[n] = k
