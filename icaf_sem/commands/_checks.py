"""Path checks the commands run before any work: inputs readable, outputs writable.

Every failure is a :class:`~icaf_sem.errors.DataError` / :class:`~icaf_sem.errors.OutputError`
naming the option and the path, so the CLI prints one line and exits 2 before a long analysis
starts rather than after it.
"""
from __future__ import annotations

import os
from pathlib import Path

from .._atomic import check_output_dir, check_output_file
from ..errors import DataError

__all__ = ["check_input", "check_questionnaire", "check_output_dir", "check_output_file"]


def check_input(path, option: str, suffixes=None, kind: str = "file") -> Path:
    """``path`` must be an existing, readable regular file (with one of ``suffixes``)."""
    p = Path(str(path))
    if not p.exists():
        raise DataError(f"{option} {str(p)!r}: file not found; check the path")
    if p.is_dir():
        raise DataError(f"{option} {str(p)!r} is a folder; give the {kind} itself")
    if not p.is_file():
        raise DataError(f"{option} {str(p)!r} is not a regular file; give the {kind} itself")
    if suffixes is not None and p.suffix.lower() not in suffixes:
        hint = " (save .xls workbooks as .xlsx)" if p.suffix.lower() == ".xls" else ""
        raise DataError(f"{option} {str(p)!r}: unsupported file type {p.suffix or '(none)'!r}{hint}; "
                        f"use one of {', '.join(sorted(suffixes))}")
    try:
        with open(p, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise DataError(f"{option} {str(p)!r}: cannot read it ({exc.strerror}); check its permissions") from None
    return p


def check_questionnaire(path, option: str = "--questionnaire") -> None:
    """A questionnaire path, or the short name of a bundled instrument ('icaf', ...)."""
    from ..questionnaire import BUILTIN_QUESTIONNAIRES
    if not os.path.exists(str(path)) and str(path) in BUILTIN_QUESTIONNAIRES:
        return
    check_input(path, option, {".yaml", ".yml"}, "questionnaire YAML file")


def data_suffixes() -> set:
    from ..survey.io import SUPPORTED_FORMATS
    return set(SUPPORTED_FORMATS)
