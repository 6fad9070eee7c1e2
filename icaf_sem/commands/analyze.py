"""``icaf-sem analyze``: raw survey wave -> cleaned data -> CFA -> SEM -> hypotheses -> report folder.

    icaf-sem analyze --questionnaire questionnaires/icaf.yaml --data RAW --out DIR
                     [--bootstrap 2000] [--seed S] [--missing ml|listwise] [--estimator ML|MLR] [--alpha 0.05]
                     [--method cb|pls|both [--pls-scheme S] [--pls-consistent] [--pls-missing M] [--pls-hoc H]]
                     [--ordered [COL,...]] [--compare-continuous]

DIR gets report.html, report.docx, tables.xlsx, tables.tex, results.json,
reproducibility.json and figures/ (PNG and SVG), written whole or not at all.
"""
from __future__ import annotations

import sys


OUTPUTS = ("report.html", "report.docx", "tables.xlsx", "tables.tex", "results.json", "reproducibility.json",
           "figures")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "analyze", help="the whole pipeline: clean, reliability and validity, CFA, SEM, hypotheses, report",
        description="Run the whole pipeline on a raw survey wave and write the report folder "
                    "(report.html, report.docx, tables.xlsx, tables.tex, results.json, reproducibility.json, figures/).")
    p.add_argument("--questionnaire", "-q", required=True, metavar="YAML",
                   help="the instrument, e.g. questionnaires/icaf.yaml ('icaf' for the bundled one)")
    p.add_argument("--data", "-d", required=True, metavar="RAW",
                   help="the raw wave: .csv (UTF-8/GBK), .xlsx, .sav or .dta")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="report folder (created if needed)")
    p.add_argument("--missing", default=None, choices=["ml", "listwise", "pairwise"],
                   help="missing answers: ml = FIML (default) or listwise deletion; with --ordered listwise "
                        "(default) or pairwise")
    p.add_argument("--estimator", default=None, type=str.upper,
                   choices=["ML", "MLR", "WLSMV", "WLSM", "WLSMVS", "ULSMV", "ULSM", "DWLS"],
                   help="default ML; WLSMV (default) or its family with --ordered")
    p.add_argument("--ordered", nargs="?", const=True, default=False, metavar="COL,COL,...",
                   help="treat the items (all, or the listed columns) as ordinal: WLSMV on polychoric correlations, "
                        "ordinal alpha and categorical omega, the ordinal invariance sequence; the report states "
                        "the choice")
    p.add_argument("--compare-continuous", action="store_true", default=None,
                   help="with --ordered: also show the continuous (ML, FIML) fit side by side (the default for "
                        "items with 6 or more categories)")
    p.add_argument("--bootstrap", type=int, default=5000, metavar="N",
                   help="bootstrap draws of the structural model (default 5000). They give the percentile and "
                        "bias-corrected (BC) 95%% intervals of the indirect effects, and the mediation hypotheses "
                        "are judged on the BC interval. Direct paths keep their ML/MLR standard errors, z, p and "
                        "normal-theory CIs (unless --se bootstrap). 0 = no bootstrap: indirect effects get "
                        "delta-method CIs and p values")
    p.add_argument("--se", default="standard", choices=["standard", "bootstrap"],
                   help="standard (default): ML/MLR standard errors for every parameter; bootstrap: lavaan's "
                        "se = \"bootstrap\", every SE, z, p and CI from the bootstrap draws")
    p.add_argument("--reliability", default=None, choices=["em", "complete"],
                   help="sample of alpha, item-total statistics and HTMT: em = the saturated EM covariance of every "
                        "respondent, the same N as the CFA and SEM (default under --missing ml; Enders 2003); "
                        "complete = complete cases only (default under --missing listwise)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the bootstrap; when left out one is drawn and recorded in reproducibility.json, "
                        "whose rerun command reproduces the intervals exactly")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level of the hypotheses (default .05)")
    p.add_argument("--lang", default="en", choices=["en", "zh", "both"],
                   help="language of the report: en (default), zh (Chinese: titles, headers, notes, verdicts, "
                        "figure labels, the questionnaire's Chinese wording) or both (English with the Chinese "
                        "wording beside it)")
    p.add_argument("--method", default="cb", choices=["cb", "pls", "both"],
                   help="cb (default): covariance-based SEM; pls: PLS-SEM as SmartPLS reports it (same bootstrap "
                        "draws and seed); both: both, with a table of every hypothesis under each method")
    p.add_argument("--pls-scheme", default=None, choices=["path", "factor", "centroid"],
                   help="PLS inner weighting (default path)")
    p.add_argument("--pls-consistent", action="store_true", help="PLSc: =~ constructs as common factors")
    p.add_argument("--pls-missing", default=None, choices=["listwise", "mean"],
                   help="PLS missing values: listwise (casewise deletion, default) or mean replacement")
    p.add_argument("--pls-hoc", default=None, choices=["two_stage", "repeated_indicators"],
                   help="PLS higher-order constructs: disjoint two-stage (default) or repeated indicators")
    p.add_argument("--nca-scores", default="mean", choices=["mean", "factor", "pls"],
                   help="scores of the necessity hypotheses (NCA): construct means (default), CB-SEM factor scores "
                        "(lavPredict regression method) or PLS-SEM construct scores")
    p.add_argument("--page-size", default="a4", choices=["a4", "letter"], help="page size of report.docx (default a4)")
    p.add_argument("--no-figures", action="store_true", help="skip the figures (faster)")
    p.add_argument("--no-competing-models", action="store_true",
                   help="skip the comparison with the competing models (measurement model, full/partial mediation, "
                        "direct-only and the questionnaire's competing_models:)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors and warnings")
    p.add_argument("--compare-with", nargs="+", default=None, metavar="EARLIER_WAVE",
                   help="earlier raw wave(s) of the same questionnaire, oldest first: adds the section "
                        "'Comparison of survey waves' (invariance across waves, latent means, paths by wave)")
    p.add_argument("--wave-labels", default=None, metavar="LABELS",
                   help="with --compare-with: comma-separated labels, the earlier wave(s) first and this wave "
                        "last (default wave1,wave2,...)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..errors import DataError
    from ..pipeline import analyze
    from ..report.export import write_report

    from ._checks import check_input, check_output_dir, check_questionnaire, data_suffixes
    check_questionnaire(args.questionnaire)
    check_input(args.data, "--data", data_suffixes(), "raw survey export")
    check_output_dir(args.out, "--out", produced=OUTPUTS)
    if args.seed is not None and args.seed < 0:
        raise DataError(f"--seed {args.seed} must be a whole number >= 0 (e.g. --seed 1)")
    if args.bootstrap < 0:
        raise DataError(f"--bootstrap {args.bootstrap} must be 0 or more draws (e.g. --bootstrap 2000)")
    if not 0 < args.alpha < 1:  # also NaN
        raise DataError(f"--alpha {args.alpha} must be between 0 and 1 (e.g. --alpha 0.05)")
    compare_with = getattr(args, "compare_with", None)
    for f in compare_with or ():
        check_input(f, "--compare-with", data_suffixes(), "raw survey export of an earlier wave")
    if getattr(args, "wave_labels", None) and not compare_with:
        raise DataError("--wave-labels names the waves of --compare-with; give --compare-with EARLIER_WAVE too")
    pls_options = {k: v for k, v in (("scheme", args.pls_scheme), ("missing", args.pls_missing),
                                     ("hoc", args.pls_hoc)) if v is not None}
    if args.pls_consistent:
        pls_options["consistent"] = True
    if pls_options and args.method == "cb":
        raise DataError("--pls-* options need --method pls or --method both")
    res = analyze(args.data, args.questionnaire, missing=args.missing, estimator=args.estimator,
                  bootstrap=args.bootstrap, seed=args.seed, alpha=args.alpha, out=None,
                  progress=sys.stderr.isatty() and not args.quiet, figures=not args.no_figures,
                  language=args.lang, se=args.se, reliability=args.reliability, method=args.method,
                  pls_options=pls_options if args.method != "cb" else None, nca_scores=args.nca_scores,
                  ordered=args.ordered, compare_continuous=args.compare_continuous,
                  **({"compare_with": compare_with, "wave_labels": args.wave_labels} if compare_with else {}),
                  competing=not args.no_competing_models)
    command = "icaf-sem " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("icaf-sem") else None
    if sys.stderr.isatty() and not args.quiet:
        sys.stderr.write("icaf-sem analyze: writing the report (html, docx, xlsx, tex, json, figures) ...\n")
    res.files = write_report(res, args.out, command=command, page_size=args.page_size)
    from pathlib import Path
    res.out = Path(args.out)
    if not args.quiet:
        sys.stdout.write(res.summary() + "\n")
    return 0
