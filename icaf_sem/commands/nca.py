"""``icaf-sem nca``: Necessary Condition Analysis of score columns, written as JSON.

    icaf-sem nca --data FILE.csv --x X1,X2 --y Y [--ceilings ce_fdh,cr_fdh]
                 [--permutations N --seed S] --json OUT.json
                 [--bottleneck-x percentage.range] [--bottleneck-y percentage.range] [--steps 10]
                 [--plots DIR] [--questionnaire Q --cipma 85]

The data are scores (construct means, factor scores, PLS scores, any numeric
columns).  With ``--questionnaire`` the data are a cleaned item file and the
construct mean scores are computed first (complete cases); ``--cipma LEVEL`` then adds the
combined importance-performance map analysis of ``--y`` (``icaf_sem.cipma``) as ``cipma`` in the JSON.
"""
from __future__ import annotations

import json
import sys


def add_parser(subparsers):
    p = subparsers.add_parser(
        "nca", help="Necessary Condition Analysis (effect sizes, bottleneck tables, permutation test) as JSON",
        description="Necessary Condition Analysis (Dul 2016), equal to the R package NCA: CE-FDH/CR-FDH "
                    "(and C-LP, OLS) ceilings, effect sizes, bottleneck tables and the permutation test.")
    p.add_argument("--data", required=True, help="CSV/xlsx/sav/dta of scores (or cleaned items with --questionnaire)")
    p.add_argument("--x", required=True, help="comma-separated condition columns, e.g. DQ,PM,AS")
    p.add_argument("--y", required=True, help="the outcome column, e.g. PW")
    p.add_argument("--ceilings", default="ce_fdh,cr_fdh", help="comma-separated: ce_fdh, cr_fdh, c_lp, ols")
    p.add_argument("--permutations", type=int, default=10000, help="permutations of the test (0 = none)")
    p.add_argument("--seed", type=int, default=None, help="seed of the permutations")
    p.add_argument("--bottleneck-x", default="percentage.range",
                   choices=["percentage.range", "percentage.max", "actual", "percentile"])
    p.add_argument("--bottleneck-y", default="percentage.range",
                   choices=["percentage.range", "percentage.max", "actual", "percentile"])
    p.add_argument("--steps", default="10", help="number of outcome steps, or comma-separated levels (50,80,100)")
    p.add_argument("--questionnaire", default=None,
                   help="treat --data as cleaned items and compute construct mean scores from this instrument")
    p.add_argument("--plots", default=None, metavar="DIR", help="also write one scatter plot per condition (PNG)")
    p.add_argument("--cipma", type=float, default=None, metavar="LEVEL",
                   help="also run the combined importance-performance map analysis (cIPMA) of --y at this target "
                        "level (0-100, e.g. 85): PLS-SEM of the questionnaire's model on the items (needs "
                        "--questionnaire), IPMA importance and performance, NCA necessity on the 0-100 scores")
    p.add_argument("--json", required=True, help="output JSON file (written whole or not at all)")
    p.set_defaults(func=run)
    return p


def _steps(text: str):
    from ..errors import DataError
    parts = [s.strip() for s in str(text).split(",") if s.strip()]
    try:
        if len(parts) == 1 and float(parts[0]).is_integer() and "." not in parts[0]:
            return int(parts[0])
        return [float(s) for s in parts]
    except ValueError:
        raise DataError(f"--steps {text!r}: give a whole number of steps (10) or levels such as 50,80,100") from None


def run(args) -> int:
    from .._atomic import atomic_write_text
    from ..nca import construct_scores, nca
    from ..survey.io import load_survey

    data = load_survey(args.data)
    items = data
    if args.cipma is not None and not args.questionnaire:
        from ..errors import ModelSpecificationError
        raise ModelSpecificationError("--cipma needs --questionnaire (the PLS-SEM model and the items' scale); "
                                      "give the cleaned item file as --data")
    if args.cipma is not None and args.permutations < 1:
        from ..errors import ModelSpecificationError
        raise ModelSpecificationError(f"--cipma with --permutations {args.permutations}: the cIPMA judges necessity "
                                      "by the permutation test's p; give --permutations 10000 (or drop --cipma)")
    if args.questionnaire:
        data = construct_scores(data, args.questionnaire)
    x = [s.strip() for s in args.x.split(",") if s.strip()]
    res = nca(data, x, args.y.strip(), ceilings=args.ceilings, permutations=args.permutations, seed=args.seed,
              bottleneck_x=args.bottleneck_x, bottleneck_y=args.bottleneck_y, steps=_steps(args.steps))
    out = res.to_dict()
    cp = None
    if args.cipma is not None:
        from ..cipma import cipma
        from ..pls import pls
        from ..questionnaire import load_questionnaire
        q = load_questionnaire(args.questionnaire)
        cp = cipma(pls(q.pls_syntax(), items, missing="listwise"), res.y, target_level=args.cipma,
                   scale_min=q.spec.scale.min, scale_max=q.spec.scale.max,
                   permutations=int(args.permutations), seed=args.seed)
        out["cipma"] = cp.to_dict()
    if args.plots:
        from ..report.figures import save_figure
        out["plots"] = [str(save_figure(res.plot(c), args.plots, f"nca_{c}_{res.y}", formats=("png",))[0])
                        for c in res.x]
        if cp is not None:
            out["plots"].append(str(save_figure(cp.plot(), args.plots, f"cipma_{res.y}", formats=("png",))[0]))
    atomic_write_text(args.json, json.dumps(out, indent=1, allow_nan=False, ensure_ascii=False))
    e = res.effects
    best = ", ".join(f"{r['condition']} d = {r['effect_size']:.3f}" for _, r in e[e["ceiling"] == res.ceilings[0]]
                     .iterrows())
    sys.stdout.write(f"NCA for {res.y} ({res.ceilings[0]}): {best}; wrote {args.json}\n")
    return 0
