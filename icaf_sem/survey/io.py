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
_CHUNK_ROWS = 25_000
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _gb_plausible(text: str) -> bool:
    """Does text decoded as GB18030 look like Chinese (not Latin-1 bytes read as GBK)?

    Chinese text encoded in GBK uses the GB2312 area almost exclusively (both bytes >= 0xA1),
    while Latin-1 accented letters followed by ASCII decode to rare GBK-extension characters.
    """
    import itertools
    sample = [m.group(0) for m in itertools.islice(_NON_ASCII.finditer(text), 20000)]
    if not sample:
        return True
    good = 0
    for ch in sample:
        try:
            b = ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        good += 1
        del b
    return good >= 0.9 * len(sample)


def _utf16_without_bom(raw: bytes) -> Optional[str]:
    """'utf-16-le'/'utf-16-be' when the bytes look like UTF-16 text without a byte-order mark."""
    head = raw[:4096]
    if len(head) < 4 or len(head) % 2:
        head = head[: len(head) - len(head) % 2]
    if len(head) < 4:
        return None
    odd_zero = head[1::2].count(0) / (len(head) / 2)
    even_zero = head[0::2].count(0) / (len(head) / 2)
    if odd_zero > 0.3 and even_zero < 0.05:
        return "utf-16-le"
    if even_zero > 0.3 and odd_zero < 0.05:
        return "utf-16-be"
    return None


def _decode(raw: bytes, path: Path, encoding: Optional[str]) -> tuple[str, str]:
    """Decode the file strictly: BOM, UTF-16 without BOM, UTF-8, GB18030 (if it looks Chinese), cp1252/Latin-1.

    Returns ``(text, encoding)``; the encoding is recorded in ``df.attrs["encoding"]``.
    """
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise DataError(f"{path}: cannot read the file as {encoding!r} ({exc}); "
                            "fix: pass the encoding the file was saved in (e.g. utf-8 or gb18030)") from None
    boms = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
            (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
    for bom, enc in boms:
        if raw.startswith(bom):
            try:
                return raw.decode(enc), enc
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}: the file starts with a {enc} byte-order mark but is not valid {enc} "
                                f"(byte {exc.start}); fix: save it again as UTF-8 CSV") from None
    u16 = _utf16_without_bom(raw)
    if u16:
        try:
            return raw.decode(u16), u16
        except UnicodeDecodeError:
            raise DataError(f"{path}: the file looks like UTF-16 text without a byte-order mark but cannot be "
                            f"decoded as {u16}; fix: save it as UTF-8 CSV or pass encoding=...") from None
    if b"\x00" in raw[:65536]:
        raise DataError(f"{path}: the file holds NUL bytes: it is not a text (CSV) file; fix: export the wave "
                        "as CSV, .xlsx, .sav or .dta with the matching file extension")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("gb18030")
        if _gb_plausible(text):
            return text, "gb18030"
    except UnicodeDecodeError:
        pass
    for enc in ("cp1252", "latin-1"):
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise DataError(f"{path}: the text is neither UTF-8, GBK/GB18030 nor Latin-1; "  # pragma: no cover
                    "fix: save the file as UTF-8 CSV or pass encoding=...")


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


def _read_csv(path: Path, encoding: Optional[str], sep: Optional[str]) -> tuple[list, Any, dict]:
    """Header and an iterator of string chunks of the body (bounded memory: no giant string frame)."""
    raw = path.read_bytes()
    text, enc = _decode(raw, path, encoding)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise DataError(f"{path}: the file is empty; fix: export the survey wave again (with a header row and data)")
    line_ending = "LF"
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")           # classic Mac (CR-only) line endings
        line_ending = "CR"
    elif "\r\n" in text:
        line_ending = "CRLF"
    sep = sep or _sniff_separator(text[:65536])
    if enc in ("utf-8",) and line_ending != "CR" and not raw.startswith(b"\xef\xbb\xbf"):
        data = raw
    else:
        data = text.encode("utf-8")
    del text, raw
    try:
        reader = pd.read_csv(io.BytesIO(data), sep=sep, header=None, dtype=str, keep_default_na=False,
                             na_filter=False, skip_blank_lines=True, engine="c", encoding="utf-8",
                             chunksize=_CHUNK_ROWS, quotechar='"')
        first = next(reader)
    except StopIteration:
        raise DataError(f"{path}: the file is empty; fix: export the survey wave again") from None
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise DataError(f"{path}: the rows do not split into the same columns as the header "
                        f"({' '.join(str(exc).split())}); fix: check the separator (read as {sep!r}) and "
                        "quoting, or pass sep=...") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; fix: export the survey wave again") from None
    header = ["" if (isinstance(h, float) and h != h) else str(h) for h in first.iloc[0].tolist()]

    def chunks():
        yield first.iloc[1:]
        try:
            for ch in reader:
                yield ch
        except (pd.errors.ParserError, csv.Error, ValueError) as exc:
            raise DataError(f"{path}: the rows do not split into the same columns as the header "
                            f"({' '.join(str(exc).split())}); fix: check the separator (read as {sep!r}) and "
                            "quoting, or pass sep=...") from None
    return header, chunks(), {"format": "csv", "encoding": enc, "separator": sep, "line_endings": line_ending}


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
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise DataError(f"load_survey(): path={path!r} is not a file path; pass the export's path as a string")
    if not isinstance(sheet, (int, str)) or isinstance(sheet, bool):
        raise DataError(f"load_survey(): sheet={sheet!r} must be a sheet name or a 0-based index")
    if questionnaire is not None:
        from ..questionnaire import load_questionnaire     # pydantic: only when a questionnaire is given
        q = load_questionnaire(questionnaire)
    else:
        q = None
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
        header, chunks, info = _read_csv(path, encoding, sep)
    else:
        if kind == "excel":
            header, body, info = _read_excel(path, sheet)
        else:
            header, body, info = _read_stat(path, kind)
        chunks = iter([body])

    # ---- header checks
    header = [unicodedata.normalize("NFC", str(h)).strip().lstrip("\ufeff").strip() for h in header]
    unnamed = [k for k, name in enumerate(header) if name == "" or name.casefold() in ("nan", "none")]
    keep = [k for k in range(len(header)) if k not in set(unnamed)]
    header = [header[k] for k in keep]
    _check_duplicates(path, header, "")

    # ---- rename: explicit map, then case-insensitive match to the questionnaire's names
    header, renamed = _renamed_header(path, header, q, rename)

    # ---- item columns present?
    if q is not None and require_items:
        _check_items(path, header, q)

    # ---- values, chunk by chunk: each distinct cell text is converted once
    text_cols, item_cols = set(), set()
    if q is not None:
        text_cols = {c for c, spec in q.metadata.items() if spec["kind"] in ("id", "category", "text")}
        item_cols = set(q.items) | set(getattr(q, "attention_items", []) or [])
    parts: list = []
    row_numbers: list = []
    n_blank = 0
    n_rows = 0
    offset = 0
    for body in chunks:
        body = body.reset_index(drop=True)
        m = len(body)
        for k in unnamed:                # an unnamed empty column (trailing separator): nothing to lose
            if k < body.shape[1]:
                miss, _ = _converted(body.iloc[:, k], "text")
                if not miss.all():
                    raise DataError(f"{path}: column {k + 1} has data but no name in the header; "
                                    "fix: give it a name in the header row or delete it")
        out, empty = {}, np.ones(m, dtype=bool)
        for j, (k, name) in enumerate(zip(keep, header)):
            col = body.iloc[:, k] if k < body.shape[1] else pd.Series([np.nan] * m, dtype=object)
            how = "text" if name in text_cols else ("item" if name in item_cols else "number")
            miss, values = _converted(col, how)
            empty &= miss
            out[name] = values
        n_blank += int(empty.sum())
        keep_rows = ~empty
        frame = pd.DataFrame({name: v[keep_rows] for name, v in out.items()}, columns=header)
        parts.append(frame)
        row_numbers.extend((offset + np.flatnonzero(keep_rows) + 1).tolist())
        n_rows += m
        offset += m
    if n_rows == 0:
        raise DataError(f"{path}: the header has {len(header)} columns but there are no data rows; "
                        "fix: export the wave again with its responses")
    if len(row_numbers) == 0:
        raise DataError(f"{path}: the header has {len(header)} columns but every data row is empty; "
                        "fix: export the wave again with its responses")
    df = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    del parts
    df = df.reset_index(drop=True)
    for name in header:             # a column numeric in every chunk stays float
        if df[name].dtype == object and name not in text_cols:
            vals = df[name].to_numpy()
            if all(isinstance(v, float) for v in pd.unique(vals)):
                df[name] = vals.astype(float)
    df.attrs.update({"source": str(path), **info, "blank_rows_dropped": n_blank, "renamed": renamed,
                     "row_numbers": _RowNumbers(row_numbers)})
    return df


class _RowNumbers(list):
    """The raw file's data-row numbers; shared, not deep-copied, by pandas' attrs propagation
    (pandas deep-copies ``attrs`` on every operation: a 500,000-element list would cost seconds)."""

    def __deepcopy__(self, memo):
        return self


def _converted(col: pd.Series, how: str) -> tuple[np.ndarray, np.ndarray]:
    """(missing mask, converted values) of one column; each distinct cell is converted once.

    ``how``: "text" (kept as stripped text, NaN when empty), "number" (float where every value is a
    number, else object holding numbers and text; NA strings such as 'n/a' become NaN) or "item"
    (as "number", but NA strings other than an empty cell stay text, so that cleaning logs them).
    """
    codes, uniques = pd.factorize(col.to_numpy(dtype=object), use_na_sentinel=True)
    uniques = list(uniques)
    miss_u = np.array([_is_missing(u) for u in uniques] + [True], dtype=bool)
    missing = miss_u[codes]                   # code -1 (NaN) picks the trailing True
    if how == "text":
        vals = np.array([_text_or_nan(u) for u in uniques] + [np.nan], dtype=object)
        return missing, vals[codes]
    nums = [to_number(u) for u in uniques]
    if how == "item":
        nums = [None if (n is not None and n != n and isinstance(u, str) and u.strip() != "") else n
                for u, n in zip(uniques, nums)]
    if not any(n is None for n in nums):
        arr = np.array(nums + [np.nan], dtype=float)
        return missing, arr[codes]
    def _keep(u):
        if how == "item" and isinstance(u, str) and _is_missing(u) and u.strip():
            return unicodedata.normalize("NFC", u).strip()       # 'n/a' stays visible to cleaning
        return _text_or_nan(u)
    vals = np.array([_keep(u) if n is None else n for u, n in zip(uniques, nums)] + [np.nan], dtype=object)
    return missing, vals[codes]


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
