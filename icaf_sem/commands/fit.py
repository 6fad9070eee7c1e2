"""``icaf-sem fit``: fit a lavaan-syntax model to a data file and write JSON."""
from __future__ import annotations

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
                   choices=["ML", "MLR", "GLS", "WLSMV", "WLSM", "WLSMVS", "ULSMV", "ULSM", "ULS", "DWLS", "WLS"],
                   help="ML (default), MLR, GLS, ULS or WLS (ADF); with --ordered WLSMV (default), WLSM, WLSMVS, "
                        "ULSMV, ULSM, ULS, DWLS or WLS")
    p.add_argument("--missing", default="listwise", choices=["listwise", "ml", "fiml", "pairwise"])
    p.add_argument("--std-lv", action="store_true", help="fix latent variances to 1 instead of the first loading")
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
    from .._atomic import atomic_write_text
    model = read_model(args.model)
    data = read_data(args.data)
    ge = [x.strip() for x in args.group_equal.split(",") if x.strip()]
    gp = [x.strip() for x in args.group_partial.split(",") if x.strip()]
    ordered = args.ordered
    if isinstance(ordered, str):
        ordered = [x.strip() for x in ordered.split(",") if x.strip()]
    extra = {"parameterization": args.parameterization} if ordered else {}
    res = icaf_sem.fit(model, data, estimator=args.estimator, missing=args.missing, std_lv=args.std_lv,
                       group=args.group, group_equal=ge, group_partial=gp, ordered=ordered,
                       bootstrap=args.bootstrap, seed=args.seed, progress=sys.stderr.isatty(),
                       modindices=not args.no_modindices, **extra)
    out = res.to_dict()
    atomic_write_text(args.json, json.dumps(out, indent=1, allow_nan=False))
    fmv = res.fit_measures
    sys.stdout.write(f"fitted: N = {res.nobs}, chisq = {fmv['chisq']:.3f}, df = {fmv['df']}, "
                     f"CFI = {fmv['cfi']:.3f}, RMSEA = {fmv['rmsea']:.3f}; wrote {args.json}\n")
    return 0
