"""``icaf-sem reliability``: reliability and validity of every construct, as JSON.

    icaf-sem reliability --model FILE.lav --data FILE.csv --json OUT.json
    icaf-sem reliability --questionnaire FILE.yaml --data FILE.csv --json OUT.json

The data must be scored already (reverse-keyed items reversed, e.g. by
``icaf-sem clean``).  Respondents with a missing answer to any model item are
left out (complete cases).  The JSON holds ``constructs.{name}`` (alpha,
alpha_ci_lower, alpha_ci_upper, std_alpha, omega, composite_reliability, ave,
n_items, n ...), ``htmt.{A}.{B}``, ``fornell_larcker.{A}.{B}`` (sqrt(AVE) on the
diagonal), item statistics, verdicts with their thresholds and sources, and warnings.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from .._atomic import atomic_write_text
from ..errors import DataError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("reliability", help="alpha, omega, CR, AVE, HTMT and Fornell-Larcker per construct",
                              description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", metavar="FILE.lav", help="lavaan syntax of the CFA (its =~ lines are the constructs)")
    src.add_argument("--questionnaire", metavar="FILE.yaml", help="questionnaire whose first-order constructs are used")
    p.add_argument("--data", required=True, metavar="FILE.csv", help="scored item answers (CSV)")
    p.add_argument("--json", metavar="OUT.json", help="write the results here (written whole or not at all)")
    p.add_argument("--estimator", default="ML", help="estimator of the CFA (default ML; WLSMV with --ordered)")
    p.add_argument("--ordered", action="store_true",
                   help="items are ordinal: WLSMV CFA on polychorics, ordinal alpha and categorical omega")
    p.add_argument("--ci", type=float, default=0.95, help="level of alpha's Feldt interval (default 0.95)")
    p.add_argument("--close", action="append", default=[], metavar="A,B",
                   help="a pair of conceptually close constructs, judged against HTMT < .90 (repeatable)")
    p.add_argument("--alpha-min", type=float, default=0.70, help="minimum alpha/omega/CR (default .70)")
    p.add_argument("--ave-min", type=float, default=0.50, help="minimum AVE (default .50)")
    p.add_argument("--htmt-max", type=float, default=0.85, help="maximum HTMT (default .85)")
    p.add_argument("--htmt-close-max", type=float, default=0.90, help="maximum HTMT for close pairs (default .90)")
    p.add_argument("--diagnostics", action="store_true",
                   help="also item descriptives, Mardia, KMO, Bartlett and Harman's test")
    p.add_argument("--parallel", action="store_true", help="with --diagnostics: also parallel analysis (random)")
    p.add_argument("--seed", type=int, default=None, help="seed of the parallel analysis")
    p.set_defaults(func=run)


def _read_text(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{what} file {path!r} not found; check the path") from None
    except UnicodeDecodeError:
        raise DataError(f"{what} file {path!r} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise DataError(f"cannot read {what} file {path!r}: {exc.strerror}") from None


def _read_csv(path: str) -> pd.DataFrame:
    if not Path(path).is_file():
        raise DataError(f"data file {path!r} not found; check the path")
    last = None
    for enc in ("utf-8-sig", "gbk"):
        try:
            return pd.read_csv(path, encoding=enc)
        except UnicodeDecodeError as exc:
            last = exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DataError(f"cannot read data file {path!r} as CSV: {' '.join(str(exc).split())}") from None
    raise DataError(f"data file {path!r} is neither UTF-8 nor GBK text ({last}); save it as UTF-8 CSV")


def run(args) -> int:
    from ..measurement.reliability import Thresholds, reliability_report

    from ._checks import check_input, check_output_file, check_questionnaire
    check_input(args.data, "--data", None, "CSV data file")
    if args.model:
        check_input(args.model, "--model", None, "lavaan syntax file")
    else:
        check_questionnaire(args.questionnaire)
    if args.json:
        check_output_file(args.json, "--json")
    if args.seed is not None and args.seed < 0:
        raise DataError(f"--seed {args.seed} must be a whole number >= 0 (e.g. --seed 1)")
    if not 0 < args.ci < 1:
        raise DataError(f"--ci {args.ci} must be between 0 and 1 (e.g. --ci 0.95)")
    data = _read_csv(args.data)
    close = []
    for pair in args.close:
        parts = [s.strip() for s in pair.split(",")]
        if len(parts) != 2 or not all(parts):
            raise DataError(f"--close {pair!r} must name two constructs as A,B")
        close.append(tuple(parts))
    th = Thresholds(alpha=args.alpha_min, omega=args.alpha_min, composite_reliability=args.alpha_min,
                    ave=args.ave_min, htmt=args.htmt_max, htmt_close=args.htmt_close_max)
    opts = dict(thresholds=th, close_pairs=close, ci=args.ci, estimator=args.estimator,
                diagnostics=args.diagnostics, parallel=args.parallel, seed=args.seed)
    if args.ordered:
        opts["ordered"] = True
    if args.model:
        rep = reliability_report(data, model=_read_text(args.model, "model"), **opts)
    else:
        rep = reliability_report(data, questionnaire=args.questionnaire, **opts)
    out = rep.to_dict()
    if rep.fit is not None:
        fm = getattr(rep.fit, "fit_measures", None) or {}
        out["cfa_fit"] = {k: fm.get(k) for k in ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr") if k in fm}
        from ..measurement.reliability import _nan_to_none
        out["cfa_fit"] = _nan_to_none(out["cfa_fit"])
    if args.json:
        atomic_write_text(args.json, json.dumps(out, indent=2, allow_nan=False) + "\n")
    sys.stdout.write(rep.summary() + "\n")
    return 0
