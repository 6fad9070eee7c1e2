"""``icaf-sem pls``: estimate a PLS-SEM model (SmartPLS 4 / seminr conventions) and write JSON."""
from __future__ import annotations

import json
import sys

from .fit import read_data, read_model
from .._json import json_ready as _clean


def add_parser(sub):
    p = sub.add_parser("pls", help="estimate a PLS-SEM model (=~ mode A, <~ mode B, ~ paths) and write JSON",
                       description="Estimate a PLS-SEM model as SmartPLS 4 and seminr do.")
    p.add_argument("--model", required=True, help="file with lavaan-style PLS syntax")
    p.add_argument("--data", required=True, help="data file (CSV, xlsx, sav, dta)")
    p.add_argument("--scheme", default="path", choices=["path", "factor", "centroid"], help="inner weighting")
    p.add_argument("--consistent", action="store_true", help="PLSc: =~ constructs are common factors")
    p.add_argument("--missing", default="listwise", choices=["listwise", "mean"])
    p.add_argument("--hoc", default="two_stage", choices=["two_stage", "repeated_indicators"],
                   help="higher-order constructs: disjoint two-stage or repeated indicators")
    p.add_argument("--bootstrap", type=int, default=0, help="number of bootstrap draws (0 = none)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--sign-change", default="none", choices=["none", "individual", "construct"])
    p.add_argument("--ci", default="percentile", choices=["percentile", "bca", "studentized"])
    p.add_argument("--jobs", type=int, default=1, help="bootstrap worker threads (results do not depend on it)")
    p.add_argument("--predict", default=None,
                   help="PLSpredict: 'loo' (leave-one-out) or the number of folds, e.g. 10")
    p.add_argument("--repetitions", type=int, default=10, help="repetitions of k-fold PLSpredict")
    p.add_argument("--ipma", default=None, metavar="TARGET", help="importance-performance map for this construct")
    p.add_argument("--scale-min", type=float, default=None, help="IPMA: lowest scale point (default: observed)")
    p.add_argument("--scale-max", type=float, default=None, help="IPMA: highest scale point (default: observed)")
    p.add_argument("--cvpat", type=int, default=0, metavar="NBOOT",
                   help="CVPAT against LM and indicator averages with NBOOT bootstrap draws (LOO or --predict folds)")
    p.add_argument("--group", default=None, help="multi-group analysis (MICOM, PLS-MGA) across this column")
    p.add_argument("--groups", default=None, help="the two groups to compare, comma-separated")
    p.add_argument("--permutations", type=int, default=1000, help="MICOM/permutation draws for --group")
    p.add_argument("--fit-test", type=int, default=0, metavar="N",
                   help="bootstrap-based exact fit test with N Bollen-Stine draws (HI95/HI99 of SRMR, d_ULS, d_G)")
    p.add_argument("--max-iter", type=int, default=300)
    p.add_argument("--json", required=True, help="output JSON file (written whole or not at all)")
    p.set_defaults(func=run)
    return p


def _predict_arg(v):
    from ..errors import ModelSpecificationError
    if v is None or v == "loo":
        return v
    try:
        return int(v)
    except ValueError:
        raise ModelSpecificationError(f"--predict {v!r}: use 'loo' or a number of folds such as 10") from None


def run(args) -> int:
    import warnings

    import icaf_sem
    from .._atomic import atomic_write_text
    model = read_model(args.model)
    data = read_data(args.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # recorded in the result and the JSON
        res = icaf_sem.pls(model, data, scheme=args.scheme, consistent=args.consistent, missing=args.missing,
                           hoc=args.hoc, bootstrap=args.bootstrap, seed=args.seed, sign_change=args.sign_change,
                           ci=args.ci, n_jobs=args.jobs, predict=_predict_arg(args.predict),
                           predict_repetitions=args.repetitions, max_iter=args.max_iter)
    out = res.to_dict()
    if args.ipma:
        out["ipma"] = res.ipma(args.ipma, scale_min=args.scale_min, scale_max=args.scale_max).to_dict()
    if args.fit_test:
        out["fit_test"] = res.fit_test(draws=args.fit_test, seed=args.seed).to_dict("records")
    if args.cvpat:
        folds = _predict_arg(args.predict)
        tab = res.cvpat(folds=None if folds in (None, "loo") else folds, repetitions=args.repetitions,
                        seed=args.seed, nboot=args.cvpat)
        out["cvpat"] = tab.to_dict("records")
    if args.group:
        from ..pls.mga import mga
        groups = [g.strip() for g in args.groups.split(",")] if args.groups else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out["mga"] = mga(model, data, args.group, groups=groups, scheme=args.scheme, consistent=args.consistent,
                             missing=args.missing, permutations=args.permutations,
                             bootstrap=args.bootstrap or 1000, seed=args.seed).to_dict()
    atomic_write_text(args.json, json.dumps(_clean(out), indent=1, allow_nan=False))
    for w in res.warnings:
        sys.stderr.write(f"warning: {w}\n")
    r2 = ", ".join(f"{c} {v:.3f}" for c, v in res.r2["r2"].items())
    sys.stdout.write(f"PLS-SEM: N = {res.nobs}, {'converged' if res.converged else 'NOT converged'}, "
                     f"R2 {r2}; wrote {args.json}\n")
    return 0
