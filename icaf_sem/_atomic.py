"""Write outputs whole or not at all.

Every file icaf_sem writes goes through these helpers.

* :func:`atomic_write` writes a file to a temporary name in the destination
  folder and moves it into place with ``os.replace`` only when it is complete.
* :func:`atomic_dir` stages a complete output *folder* beside the target and
  swaps it in with one rename.  An existing target is first renamed aside and
  only deleted once the new folder is in place; if the swap fails it is put
  back.  So a failed run leaves the target exactly as it was, and a successful
  run leaves no stale file of an earlier run (e.g. figures after
  ``--no-figures``).

Whose folder is it?  An output folder is replaced only when it is empty or
when every entry in it is a name icaf_sem writes into its output folders
(``clean.csv``, ``report.html``, ``figures`` ... see ``KNOWN_OUTPUTS``).  Any other existing folder holds files of the user's and is *refused*
with an :class:`~icaf_sem.errors.OutputError` naming the folder and one of its
files: icaf_sem never deletes a user's unrelated files.

``SIGTERM`` is handled like ``SIGINT`` while a folder is staged, so a killed
run leaves no ``.part`` folder behind.  An ``OSError`` while writing (a full
disk, a permission problem) becomes an ``OutputError`` naming the path.
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from .errors import OutputError

MARKER = ".icaf-sem-output"
# every name an icaf-sem command writes into an output folder (clean, analyze, compare-waves)
KNOWN_OUTPUTS = frozenset({
    "clean.csv", "exclusions.csv", "cell_fixes.csv", "flow.csv", "flags.csv",
    "report.html", "report.docx", "tables.xlsx", "tables.tex", "results.json", "reproducibility.json", "figures",
    "invariance.csv", "latent_means.csv", "path_equality.csv", "paths_by_wave.csv", "samples.csv",
    "compare_waves.xlsx", "compare_waves.html", "paths_by_wave.png", "paths_by_wave.svg", "compare_waves.json",
    MARKER})


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _reason(exc: OSError) -> str:
    """What an OSError means for the user, and what to do (one phrase; used by the CLI too)."""
    known = {errno.ENOSPC: "the disk is full (no space left on device); free some space or choose another disk",
             errno.EDQUOT: "the disk quota is exceeded; free some space or choose another disk",
             errno.EACCES: "permission denied; choose a path you can read and write",
             errno.EPERM: "permission denied; choose a path you can read and write",
             errno.EROFS: "the file system is read-only; choose a writable folder",
             errno.ENOENT: "no such file or folder; check the path",
             errno.EISDIR: "it is a folder where a file is expected; give a file path",
             errno.ENOTDIR: "a part of the path is a file, not a folder; check the path"}
    return known.get(exc.errno, f"{exc.strerror or type(exc).__name__}")


def _first_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_output_file(path, what: str = "output file") -> Path:
    """Check up front that ``path`` can be written as a file; raise :class:`OutputError` if not.

    Nothing is created.  ``what`` names the option in the message (e.g. ``"--json"``).
    """
    path = Path(path)
    if str(path) == "" or path.name in ("", ".", ".."):
        raise OutputError(f"{what} {str(path)!r} is not a file name; give a path such as results.json")
    if path.is_dir():
        raise OutputError(f"{what} {str(path)!r} is a folder; give a file name such as {path / 'results.json'}")
    _check_writable_parent(path, what)
    return path


def _check_writable_parent(path: Path, what: str) -> None:
    anc = _first_existing(path.parent if str(path.parent) else Path("."))
    if not anc.is_dir():
        raise OutputError(f"{what} {str(path)!r}: {str(anc)!r} is a file, not a folder; choose another path")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {str(path)!r}: cannot write in {str(anc)!r} (permission denied); "
                          "choose a folder you can write to")


def _foreign_entry(path: Path, produced: Optional[Iterable[str]] = None) -> Optional[str]:
    """The name of an entry of ``path`` that is not ours, or None when the folder may be replaced."""
    try:
        entries = sorted(os.listdir(path))
    except OSError as exc:
        raise OutputError(f"cannot read the output folder {str(path)!r}: {_reason(exc)}") from None
    if not entries:
        return None
    produced = set(produced or ()) | KNOWN_OUTPUTS
    for e in entries:
        if e not in produced:
            return e
    return None


def check_output_dir(path, what: str = "output folder", produced: Optional[Iterable[str]] = None) -> Path:
    """Check up front that ``path`` can become an icaf_sem output folder; raise :class:`OutputError` if not.

    Refused: a path that is a file; a folder (or the nearest existing parent) that cannot be
    written; an existing folder holding files that icaf_sem did not write.  Nothing is created.
    """
    path = Path(path)
    if path.name in ("", ".", "..") or path.resolve() == Path(path.resolve().anchor):
        raise OutputError(f"{what} {str(path)!r} cannot be replaced as a whole; give a new folder name "
                          "such as results/wave1")
    if path.exists() and not path.is_dir():
        raise OutputError(f"{what} {str(path)!r} is a file, not a folder; give a folder name (it is created)")
    _check_writable_parent(path, what)
    if path.is_dir():
        foreign = _foreign_entry(path, produced)
        if foreign is not None:
            raise OutputError(
                f"{what} {str(path)!r} already holds files that icaf-sem did not write (e.g. {foreign!r}); "
                "they are never deleted: choose a new or empty folder")
    return path


def _make_parent(path: Path) -> list:
    """Create the missing parents of ``path``; return the folders created (deepest last)."""
    created, p = [], path.parent
    missing = []
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            _remove_empty(created)
            raise OutputError(f"cannot create the folder {str(d)!r}: {_reason(exc)}") from None
        created.append(d)
    return created


def _remove_empty(dirs: list) -> None:
    for d in reversed(dirs):
        with contextlib.suppress(OSError):
            d.rmdir()


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While staging, turn SIGTERM into KeyboardInterrupt so that the clean-up below runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        old = signal.getsignal(signal.SIGTERM)
    except (ValueError, AttributeError):  # pragma: no cover
        yield
        return
    if old not in (signal.SIG_DFL, None):
        yield                       # someone (e.g. the CLI) already handles it
        return

    def _handler(signum, frame):
        raise KeyboardInterrupt("terminated (SIGTERM)")
    signal.signal(signal.SIGTERM, _handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def atomic_write(path: str | os.PathLike, writer: Callable[[str], None]) -> Path:
    """Call ``writer(tmp_path)`` and move the temporary file to ``path`` when it succeeds."""
    path = Path(path)
    check_output_file(path)
    created = _make_parent(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(fd)
        with _sigterm_as_interrupt():
            writer(tmp)
            os.chmod(tmp, 0o666 & ~_umask())   # mkstemp creates 0600; give the usual permissions
            os.replace(tmp, path)
    except OSError as exc:
        _cleanup_file(tmp)
        _remove_empty(created)
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"cannot write {str(path)!r}: {_reason(exc)}") from None
    except BaseException:
        _cleanup_file(tmp)
        _remove_empty(created)
        raise
    return path


def _cleanup_file(tmp) -> None:
    if tmp:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` whole or not at all."""
    def _w(tmp: str) -> None:
        with open(tmp, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
    return atomic_write(path, _w)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``path`` as a whole.

    The staging folder is a sibling of ``path`` (same file system), so the swap is a
    rename.  An existing ``path`` is renamed aside first and deleted only after the new
    folder is in place (put back if the swap fails).  On any error, or SIGINT/SIGTERM,
    the staging folder is removed and ``path`` is left exactly as it was.

    Raises
    ------
    OutputError
        ``path`` is a file, cannot be written, or is an existing folder holding files
        icaf_sem did not write (see the module docstring), or a write failed (full disk).
    """
    path = Path(path)
    check_output_dir(path)
    created = _make_parent(path)
    stage = None
    ok = False
    try:
        with _sigterm_as_interrupt():
            try:
                stage = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
                yield stage
                produced = set(os.listdir(stage))
                if path.is_dir():
                    foreign = _foreign_entry(path, produced)   # re-check: the folder may have changed meanwhile
                    if foreign is not None:
                        raise OutputError(
                            f"output folder {str(path)!r} already holds files that icaf-sem did not write "
                            f"(e.g. {foreign!r}); they are never deleted: choose a new or empty folder")
                mode = 0o777 & ~_umask()
                os.chmod(stage, mode)
                for root, dirs, files in os.walk(stage):
                    for d in dirs:
                        os.chmod(os.path.join(root, d), mode)
                    for f in files:
                        os.chmod(os.path.join(root, f), 0o666 & ~_umask())
                _swap(stage, path)
                ok = True
            except OutputError:
                raise
            except OSError as exc:
                where = exc.filename if exc.filename else str(path)
                raise OutputError(f"cannot write the output folder {str(path)!r} ({where}): {_reason(exc)}; "
                                  "nothing was changed") from None
    finally:
        if stage is not None and not ok:
            shutil.rmtree(stage, ignore_errors=True)
        if not ok:
            _remove_empty(created)


def _swap(stage: Path, path: Path) -> None:
    """Move ``stage`` to ``path``; an existing ``path`` is kept aside until the move succeeded."""
    if not path.exists():
        os.rename(stage, path)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
    os.rmdir(old)
    os.rename(path, old)
    try:
        os.rename(stage, path)
    except BaseException:
        os.rename(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)
