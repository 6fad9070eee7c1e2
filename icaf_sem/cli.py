"""The ``icaf-sem`` command line.

Each sub-command lives in :mod:`icaf_sem.commands` as a module with
``add_parser(subparsers)`` and ``run(args) -> int``.  This module only wires
them together and turns every error into one clear line on stderr:
exit code 2 for bad input (an :class:`~icaf_sem.errors.IcafError` or a usage
error), 1 for an unexpected failure, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from .errors import IcafError, IcafWarning

COMMANDS = ["clean", "fit", "compare", "reliability", "analyze", "invariance", "compare_waves", "pls", "nca", "power", "game"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        sys.stderr.write(f"icaf-sem: error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="icaf-sem", description="Structural equation modelling of survey waves, matching lavaan.")
    from . import __version__
    parser.add_argument("--version", action="version", version=f"icaf-sem {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as exc:  # a command not built yet is simply absent
            if exc.name and exc.name.endswith(f"commands.{name}"):
                continue
            raise
        mod.add_parser(sub)
    return parser


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _os_message(exc: OSError) -> str:
    """One line for an OSError that escaped the commands' own checks, naming the path."""
    from ._atomic import _reason
    return f"{exc.filename!r}: {_reason(exc)}" if exc.filename is not None else _reason(exc)


def _terminate(signum, frame):
    raise KeyboardInterrupt("terminated")


def main(argv: list[str] | None = None) -> int:
    import signal
    parser = build_parser()
    args = parser.parse_args(argv)
    # SIGTERM is handled like Ctrl-C: the staging folders are removed on the way out
    try:
        signal.signal(signal.SIGTERM, _terminate)
    except (ValueError, OSError):  # pragma: no cover - not the main thread
        pass
    # warnings are shown after the command: a failing command prints one line only
    pending: list = []

    def _show_warning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, IcafWarning):
            text = f"icaf-sem: warning: {_one_line(message)}\n"
            if text not in pending:
                pending.append(text)
        # other libraries' warnings are noise for a CLI user

    warnings.showwarning = _show_warning
    try:
        code = int(args.func(args) or 0)
    except IcafError as exc:
        sys.stderr.write(f"icaf-sem: error: {_one_line(exc)}\n")
        return 2
    except KeyboardInterrupt as exc:
        sys.stderr.write("icaf-sem: interrupted; no output was written\n")
        return 143 if exc.args and str(exc.args[0]).startswith("terminated") else 130
    except MemoryError:
        sys.stderr.write("icaf-sem: error: not enough memory for this request; use fewer bootstrap draws, "
                         "fewer rows or a machine with more memory\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"icaf-sem: error: {_os_message(exc)}\n")
        return 2
    except Exception as exc:  # pragma: no cover - a bug, still no traceback for the user
        import numpy as np
        if isinstance(exc, (np.linalg.LinAlgError, FloatingPointError)):
            sys.stderr.write(f"icaf-sem: error: a numerical computation failed ({_one_line(exc)}): the data may "
                             "hold collinear or constant items or too few respondents; check the items\n")
            return 2
        sys.stderr.write(f"icaf-sem: internal error ({type(exc).__name__}: {_one_line(exc)}); please report it "
                         "with the command you ran\n")
        return 1
    for text in pending:
        sys.stderr.write(text)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
