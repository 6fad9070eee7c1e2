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


def _show_warning(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, IcafWarning):
        sys.stderr.write(f"icaf-sem: warning: {message}\n")
    # other libraries' warnings are noise for a CLI user


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        return int(args.func(args) or 0)
    except IcafError as exc:
        sys.stderr.write(f"icaf-sem: error: {' '.join(str(exc).split())}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("icaf-sem: interrupted; no output was written\n")
        return 130
    except Exception as exc:  # pragma: no cover - a bug, still no traceback for the user
        msg = " ".join(str(exc).split())
        sys.stderr.write(f"icaf-sem: internal error ({type(exc).__name__}: {msg}); please report it with the command you ran\n")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
