"""``icaf-sem compare-waves``: clean waves alike, test invariance across waves, compare means and paths."""
from __future__ import annotations

import os
import sys


OUTPUTS = ("report.html", "report.docx", "tables.xlsx", "tables.tex", "figures", "compare_waves.json",
           "invariance.csv", "latent_means.csv", "path_equality.csv", "paths_by_wave.csv", "samples.csv")


def add_parser(sub):
    p = sub.add_parser("compare-waves", help="compare survey waves: invariance, latent means, paths by wave",
                       description="Clean each wave with the questionnaire's rules, stack them with a `wave` "
                                   "column, test measurement invariance across waves, compare latent means "
                                   "(given scalar invariance) and test each hypothesised path for equality "
                                   "across waves. Writes the report (report.html, report.docx, tables.xlsx, "
                                   "tables.tex with numbered APA tables, figures/paths_by_wave.png/.svg) and "
                                   "every number (compare_waves.json, CSV) into --out, whole or not at all. "
                                   "The same section goes into the main report with "
                                   "`icaf-sem analyze --compare-with EARLIER_WAVE`.")
    p.add_argument("--questionnaire", required=True, help="questionnaire YAML (or the name of a bundled one)")
    p.add_argument("--data", required=True, nargs="+", metavar="WAVE",
                   help="raw wave files in chronological order (two or more)")
    p.add_argument("--labels", default=None,
                   help="comma-separated wave labels (default: wave1, wave2, ...)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--estimator", default="ML", choices=["ML", "MLR", "ml", "mlr"])
    p.add_argument("--missing", default="ml", choices=["ml", "fiml", "listwise"],
                   help="ml (FIML, default) or listwise")
    p.add_argument("--criterion", default="cheung_rensvold2002", choices=["cheung_rensvold2002", "chen2007", "chisq"])
    p.add_argument("--min-group-size", type=int, default=30, help="smallest clean wave accepted (default 30)")
    p.add_argument("--match-on", default=None,
                   help="category column (e.g. level) whose categories must occur in every wave")
    p.add_argument("--lang", default="en", choices=["en", "zh", "both"],
                   help="language of the report: en (default), zh (Chinese) or both")
    p.add_argument("--page-size", default="a4", choices=["a4", "letter"], help="page size of report.docx (default a4)")
    p.add_argument("--no-figures", action="store_true", help="skip the figure of the paths by wave")
    p.add_argument("--progress", action="store_true",
                   help="a line per wave and step on stderr with the time left (default: only on a terminal)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors and warnings")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..errors import DataError
    from ..waves import compare_waves
    files = list(args.data)
    if len(files) < 2:
        raise DataError(f"--data got {len(files)} file; compare-waves needs two or more waves")
    if args.labels:
        labels = [x.strip() for x in args.labels.split(",") if x.strip()]
        if len(labels) != len(files) or len(set(labels)) != len(labels):
            raise DataError(f"--labels {args.labels!r}: give {len(files)} distinct labels, one per --data file")
    else:
        labels = [f"wave{i + 1}" for i in range(len(files))]
    from ._checks import check_input, check_output_dir, check_questionnaire, data_suffixes
    check_questionnaire(args.questionnaire)
    for f in files:
        check_input(f, "--data", data_suffixes(), "raw wave export")
    check_output_dir(args.out, "--out", produced=OUTPUTS)
    quiet = getattr(args, "quiet", False)
    show = (getattr(args, "progress", False) or sys.stderr.isatty()) and not quiet
    res = compare_waves(args.questionnaire, dict(zip(labels, files)), estimator=args.estimator.upper(),
                        missing=args.missing, criterion=args.criterion, min_group_size=args.min_group_size,
                        match_on=args.match_on, progress=show)
    res.write(args.out, language=getattr(args, "lang", "en"), page_size=getattr(args, "page_size", "a4"),
              figures=not getattr(args, "no_figures", False))
    if not quiet:
        inv = res.invariance
        n_diff = int(res.paths["differs"].sum()) if len(res.paths) else 0
        sys.stdout.write(f"waves {', '.join(labels)}: invariance up to {inv.highest_level}; "
                         f"{n_diff} of {len(res.paths)} paths differ across waves; wrote "
                         f"{os.path.join(args.out, 'report.html')}\n")
    return 0
