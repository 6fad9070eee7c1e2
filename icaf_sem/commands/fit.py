"""``icaf-sem fit``: fit a lavaan-syntax model to a data file and write JSON."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import DataError


def add_parser(sub):
    p = sub.add_parser("fit", help="fit a CFA/SEM (lavaan syntax) and write the results as JSON",
                       description="Fit a CFA/SEM written in lavaan syntax, as lavaan's sem() would.")
    p.add_argument("--model", required=True, help="file with lavaan model syntax")
    p.add_argument("--data", required=True, help="data file (CSV, xlsx, sav, dta)")
    p.add_argument("--estimator", default=None, type=str.upper,
                   choices=["ML", "MLR", "MLM", "MLMV", "MLMVS", "MLF", "GLS", "ULS", "WLS",
                            "WLSMV", "WLSM", "WLSMVS", "ULSMV", "ULSM", "DWLS"],
                   help="lavaan's estimator=: ML (default), MLR, MLM, MLMV, MLMVS, MLF, GLS, ULS or WLS (ADF); with "
                        "--ordered WLSMV (default), WLSM, WLSMVS, ULSMV, ULSM, ULS, DWLS or WLS")
    p.add_argument("--missing", default="listwise", choices=["listwise", "ml", "fiml", "ml.x", "pairwise"],
                   help="lavaan's missing= (ml = FIML; ml.x also keeps cases with a missing covariate; pairwise: "
                        "ML, or ordered items)")
    p.add_argument("--se", default=None,
                   help="lavaan's se=: standard, robust.huber.white, robust.sem, first.order, bootstrap, none")
    p.add_argument("--test", default=None,
                   help="lavaan's test= (comma-separated): standard, satorra.bentler, yuan.bentler, "
                        "yuan.bentler.mplus, mean.var.adjusted, scaled.shifted, bollen.stine, none")
    p.add_argument("--cluster", default=None,
                   help="cluster column: cluster-robust SEs and test (lavaan's single-level cluster=)")
    p.add_argument("--sampling-weights", default=None,
                   help="sampling-weight column (lavaan's sampling.weights=; ML becomes MLR as in lavaan)")
    p.add_argument("--factor-scores", default=None, metavar="CSV",
                   help="also write factor scores (lavPredict) to this CSV file")
    p.add_argument("--factor-score-method", default="regression", choices=["regression", "Bartlett"],
                   help="method of --factor-scores (lavPredict's method=)")
    p.add_argument("--std-lv", action="store_true", help="fix latent variances to 1 instead of the first loading "
                   "(lavaan std.lv = TRUE)")
    p.add_argument("--meanstructure", action=argparse.BooleanOptionalAction, default=None,
                   help="lavaan meanstructure = TRUE/FALSE (default: lavaan's rule)")
    p.add_argument("--orthogonal", action="store_true", help="latent covariances fixed to 0 (lavaan orthogonal = TRUE)")
    p.add_argument("--auto-fix-first", action=argparse.BooleanOptionalAction, default=None,
                   help="fix the first loading of each factor to 1 (lavaan auto.fix.first; default: not --std-lv)")
    p.add_argument("--fixed-x", action=argparse.BooleanOptionalAction, default=True,
                   help="exogenous covariates fixed at their sample moments (lavaan fixed.x; default on)")
    p.add_argument("--likelihood", default="normal", choices=["normal", "wishart"],
                   help="lavaan likelihood= (wishart: N - 1; ML on complete data)")
    p.add_argument("--model-type", default="sem", choices=["sem", "cfa", "growth"],
                   help="defaults of lavaan's sem()/cfa() (the same) or growth()")
    p.add_argument("--group", default=None, help="column defining groups (multi-group model)")
    p.add_argument("--group-equal", default="", help="comma-separated: loadings,intercepts,residuals,means,...")
    p.add_argument("--group-partial", default="", help="comma-separated parameters exempt from --group-equal")
    p.add_argument("--ordered", nargs="?", const=True, default=False, metavar="COL,COL,...",
                   help="treat items as ordinal (all model indicators, or the listed columns): thresholds, "
                        "polychoric correlations and WLSMV")
    p.add_argument("--parameterization", default="delta", choices=["delta", "theta"],
                   help="with --ordered: delta (lavaan's default) or theta")
    p.add_argument("--bootstrap", type=int, default=0, help="number of bootstrap draws")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--json", required=True, help="output JSON file (written whole or not at all)")
    p.add_argument("--no-modindices", action="store_true", help="skip modification indices")
    p.set_defaults(func=run)
    return p


def read_model(path) -> str:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"--model {str(path)!r}: no such file; give the path of a lavaan syntax file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"--model {str(path)!r} is not UTF-8 text; save the model syntax as UTF-8") from None


def read_data(path):
    from ..survey.io import load_survey
    return load_survey(path)


def run(args) -> int:
    import icaf_sem
    from .._atomic import atomic_write_text, check_output_file
    check_output_file(args.json, "--json")            # before any work, not after a long fit
    if args.factor_scores:
        check_output_file(args.factor_scores, "--factor-scores")
    model = read_model(args.model)
    data = read_data(args.data)
    ge = [x.strip() for x in args.group_equal.split(",") if x.strip()]
    gp = [x.strip() for x in args.group_partial.split(",") if x.strip()]
    ordered = args.ordered
    if isinstance(ordered, str):
        ordered = [x.strip() for x in ordered.split(",") if x.strip()]
    extra = {"parameterization": args.parameterization} if ordered else {}
    test = [x.strip() for x in args.test.split(",") if x.strip()] if args.test else None
    ml_only = {"se": args.se, "test": test, "cluster": args.cluster, "sampling_weights": args.sampling_weights}
    extra.update({k: v for k, v in ml_only.items() if v is not None})
    res = icaf_sem.fit(model, data, estimator=args.estimator, missing=args.missing, std_lv=args.std_lv,
                       group=args.group, group_equal=ge, group_partial=gp, ordered=ordered,
                       bootstrap=args.bootstrap, seed=args.seed, progress=sys.stderr.isatty(),
                       modindices=not args.no_modindices, meanstructure=args.meanstructure,
                       orthogonal=args.orthogonal, auto_fix_first=args.auto_fix_first, fixed_x=args.fixed_x,
                       likelihood=args.likelihood,
                       model_type="growth" if args.model_type == "growth" else "sem", **extra)
    out = res.to_dict()
    scores_csv = None
    if args.factor_scores:
        scores_csv = res.predict(args.factor_score_method).to_csv(index=False)
        out["factor_scores"] = {"file": str(args.factor_scores), "method": args.factor_score_method}
    if scores_csv is not None:
        atomic_write_text(args.factor_scores, scores_csv)
    atomic_write_text(args.json, json.dumps(out, indent=1, allow_nan=False))
    fmv = res.fit_measures
    sys.stdout.write(f"fitted: N = {res.nobs}, chisq = {fmv['chisq']:.3f}, df = {fmv['df']}, "
                     f"CFI = {fmv['cfi']:.3f}, RMSEA = {fmv['rmsea']:.3f}; wrote {args.json}\n")
    return 0
