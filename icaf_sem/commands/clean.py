"""``icaf-sem clean``: clean a raw survey wave and write the audit trail.

Writes ``DIR/clean.csv`` (respondent_id, metadata, items reverse-keyed),
``DIR/exclusions.csv``, ``DIR/cell_fixes.csv``, ``DIR/flow.csv`` and
``DIR/flags.csv``, whole or not at all.
"""
from __future__ import annotations

import argparse
import sys


OUTPUTS = ("clean.csv", "exclusions.csv", "cell_fixes.csv", "flow.csv", "flags.csv")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "clean", help="clean a raw survey wave (duplicates, speeders, straight-lining, attention, bad cells)",
        description="Clean a raw survey export by the questionnaire's rules and write clean.csv, exclusions.csv, "
                    "cell_fixes.csv, flow.csv and flags.csv into DIR.")
    p.add_argument("--questionnaire", "-q", required=True, metavar="YAML",
                   help="the instrument, e.g. questionnaires/icaf.yaml ('icaf' for the bundled one)")
    p.add_argument("--data", "-d", required=True, metavar="RAW",
                   help="the raw wave: .csv (UTF-8/GBK, comma or semicolon), .xlsx, .sav or .dta")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder (created if needed)")
    p.add_argument("--encoding", default=None, help="CSV encoding when it is not UTF-8 or GBK/GB18030")
    p.add_argument("--sep", default=None, help="CSV separator when sniffing it from the header fails")
    p.add_argument("--sheet", default=0, help="Excel sheet name or 0-based index (default the first)")
    p.add_argument("--quiet", action="store_true", help="do not print the cleaning summary")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..questionnaire import load_questionnaire
    from ..survey.cleaning import clean
    from ..survey.io import load_survey

    from ._checks import check_input, check_output_dir, check_questionnaire, data_suffixes
    check_questionnaire(args.questionnaire)
    check_input(args.data, "--data", data_suffixes(), "raw survey export")
    check_output_dir(args.out, "--out", produced=OUTPUTS)
    q = load_questionnaire(args.questionnaire)
    sheet = int(args.sheet) if str(args.sheet).isdigit() else args.sheet
    raw = load_survey(args.data, q, encoding=args.encoding, sep=args.sep, sheet=sheet)
    result = clean(raw, q)
    result.to_dir(args.out)
    if not args.quiet:
        sys.stdout.write(result.summary() + f"\nWritten to {args.out}: clean.csv, exclusions.csv, "
                         "cell_fixes.csv, flow.csv, flags.csv\n")
    return 0
