"""``icaf-sem invariance``: configural -> metric -> scalar -> strict across groups, as JSON (and CSV)."""
from __future__ import annotations

import json
import sys


def add_parser(sub):
    p = sub.add_parser("invariance", help="test measurement invariance across groups (configural/metric/scalar/strict)",
                       description="Fit the invariance sequence across the groups of a column and compare the steps "
                                   "(chi-square difference, Satorra-Bentler 2001 for MLR, ΔCFI/ΔRMSEA against "
                                   "Cheung & Rensvold 2002 and Chen 2007), with score tests suggesting which "
                                   "constraints to release when a step fails.")
    p.add_argument("--model", required=True, help="file with lavaan model syntax")
    p.add_argument("--data", required=True, help="data file (CSV, xlsx, sav, dta)")
    p.add_argument("--group", required=True, help="column defining the groups")
    p.add_argument("--estimator", default=None, choices=["ML", "MLR", "WLSMV", "ml", "mlr", "wlsmv"],
                   help="ML (default), MLR, or WLSMV (the default with --ordered)")
    p.add_argument("--missing", default="listwise", choices=["listwise", "ml", "fiml", "pairwise"])
    p.add_argument("--ordered", nargs="?", const=True, default=False, metavar="COL,COL,...",
                   help="treat the items as ordinal (all indicators, or the listed columns): the sequence "
                        "configural, thresholds, metric, scalar with the Wu & Estabrook (2016) identification, "
                        "WLSMV fits and lavaan's scaled-and-shifted difference test")
    p.add_argument("--levels", default=None,
                   help="comma-separated steps in order (configural,metric,scalar,strict,lv.variances,means; "
                        "with --ordered: configural,thresholds,metric,scalar)")
    p.add_argument("--group-partial", default="", help="comma-separated parameters released in every step, e.g. x3~1")
    p.add_argument("--criterion", default="cheung_rensvold2002", choices=["cheung_rensvold2002", "chen2007", "chisq"],
                   help="rule deciding whether a step holds (all are reported)")
    p.add_argument("--min-group-size", type=int, default=30, help="smallest group accepted (default 30)")
    p.add_argument("--json", required=True, help="output JSON file (written whole or not at all)")
    p.add_argument("--csv", default=None, help="also write the step table as CSV")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from .._atomic import atomic_write_text
    from ..invariance import invariance
    from .fit import read_data, read_model
    from ._checks import check_input, check_output_file, data_suffixes
    check_input(args.model, "--model", None, "lavaan syntax file")
    check_input(args.data, "--data", data_suffixes(), "data file")
    check_output_file(args.json, "--json")
    if args.csv:
        check_output_file(args.csv, "--csv")
    model = read_model(args.model)
    data = read_data(args.data)
    ordered = args.ordered
    if isinstance(ordered, str):
        ordered = [x.strip() for x in ordered.split(",") if x.strip()]
    default_levels = "configural,thresholds,metric,scalar" if ordered else "configural,metric,scalar,strict"
    estimator = args.estimator.upper() if args.estimator else ("WLSMV" if ordered else "ML")
    res = invariance(model, data, group=args.group, estimator=estimator, missing=args.missing,
                     levels=[x.strip() for x in (args.levels or default_levels).split(",") if x.strip()],
                     ordered=ordered,
                     group_partial=[x.strip() for x in args.group_partial.split(",") if x.strip()],
                     criterion=args.criterion, min_group_size=args.min_group_size)
    text = json.dumps(res.to_dict(), indent=1, allow_nan=False, ensure_ascii=False)
    csv_text = res.table.to_csv(index=False) if args.csv else None
    atomic_write_text(args.json, text)
    if csv_text is not None:
        atomic_write_text(args.csv, csv_text)
    t = res.table
    for r in t.itertuples():
        if res.ordered:
            sys.stdout.write(f"{r.step:<11} chisq.scaled = {r.chisq_scaled:9.3f}  df = {r.df:4d}  "
                             f"CFI.scaled = {r.cfi_scaled:.3f}  RMSEA.scaled = {r.rmsea_scaled:.3f}"
                             + ("" if r.Index == 0 else f"  dchisq = {r.delta_chisq:.3f} (df {int(r.delta_df)}, "
                                f"p = {r.delta_pvalue:.3g})  dCFI = {r.delta_cfi:+.3f}  "
                                f"{'holds' if r.invariant else 'FAILS'}") + "\n")
            continue
        sys.stdout.write(f"{r.step:<11} chisq = {r.chisq:9.3f}  df = {r.df:4d}  CFI = {r.cfi:.3f}  "
                         f"RMSEA = {r.rmsea:.3f}  SRMR = {r.srmr:.3f}"
                         + ("" if r.Index == 0 else f"  dCFI = {r.delta_cfi:+.3f}  "
                            f"{'holds' if r.invariant else 'FAILS'}") + "\n")
    sys.stdout.write(f"highest level supported: {res.highest_level}; wrote {args.json}\n")
    return 0
