"""Write outputs whole or not at all.

Every file icaf_sem writes goes through these helpers: content is written to a
temporary file in the destination folder and moved into place with
``os.replace`` only when it is complete.  ``atomic_dir`` does the same for a
whole folder of outputs.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from .errors import OutputError


def _check_parent(path: Path) -> None:
    parent = path.parent
    if not parent.exists():
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create output folder {parent}: {exc.strerror}; choose a writable path") from exc


def atomic_write(path: str | os.PathLike, writer: Callable[[str], None]) -> Path:
    """Call ``writer(tmp_path)`` and move the temporary file to ``path`` when it succeeds."""
    path = Path(path)
    _check_parent(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, 0o666 & ~_umask())   # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` whole or not at all."""
    def _w(tmp: str) -> None:
        with open(tmp, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
    return atomic_write(path, _w)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder; on success its files are moved into ``path``.

    Files are first staged in a sibling temporary folder.  Only when the
    ``with`` block completes are they moved into ``path`` (created if needed),
    so an error part-way leaves ``path`` as it was.
    """
    path = Path(path)
    _check_parent(path)
    stage = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        yield stage
        for src in sorted(stage.rglob("*")):
            dest = path / src.relative_to(stage)
            if src.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(src, 0o666 & ~_umask())
                os.replace(src, dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
