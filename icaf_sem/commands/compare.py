"""``icaf-sem compare``: chi-square difference tests of nested models (lavaan's ``lavTestLRT``)
or, with ``--vuong``, Vuong's tests of two non-nested models (``nonnest2::vuongtest``)."""
from __future__ import annotations

import json
import sys

from ..errors import ModelSpecificationError
from .fit import read_data, read_model
from .._json import json_value as _clean


def add_parser(sub):
    p = sub.add_parser("compare", help="compare fitted models: nested chi-square difference tests or Vuong's test",
                       description="Fit two or more models to the same data and compare them as lavaan's "
                                   "lavTestLRT() does (Satorra-Bentler 2001 / Satorra 2000 for robust tests); "
                                   "with --vuong, Vuong's tests for two non-nested models.")
    p.add_argument("--model", action="append", required=True,
                   help="file with lavaan model syntax (repeat for each model)")
    p.add_argument("--name", action="append", default=None, help="model name (repeat, same order as --model)")
    p.add_argument("--data", required=True, help="data file (CSV, xlsx, sav, dta)")
    p.add_argument("--estimator", default="ML", type=str.upper,
                   choices=["ML", "MLR", "MLM", "MLMV", "MLMVS", "MLF"])
    p.add_argument("--missing", default="listwise", choices=["listwise", "ml", "fiml"])
    p.add_argument("--test", default=None, help="lavaan's test= (comma-separated)")
    p.add_argument("--group", default=None, help="column defining groups (multi-group models)")
    p.add_argument("--cluster", default=None, help="cluster column (lavaan's cluster=)")
    p.add_argument("--sampling-weights", default=None, help="sampling-weight column (lavaan's sampling.weights=)")
    p.add_argument("--std-lv", action="store_true")
    p.add_argument("--method", default="default",
                   help="difference test: default, satorra.bentler.2001, satorra.2000, standard")
    p.add_argument("--vuong", action="store_true", help="Vuong's tests for two non-nested models")
    p.add_argument("--json", required=True, help="output JSON file (written whole or not at all)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    import icaf_sem
    from .._atomic import atomic_write_text
    models = [read_model(m) for m in args.model]
    names = args.name or [f"model{i + 1}" for i in range(len(models))]
    if len(names) != len(models):
        raise ModelSpecificationError(f"--name was given {len(names)} times for {len(models)} --model files; "
                                      "give one name per model or none")
    data = read_data(args.data)
    test = [x.strip() for x in args.test.split(",") if x.strip()] if args.test else None
    fits = [icaf_sem.fit(m, data, estimator=args.estimator, missing=args.missing, test=test, group=args.group,
                         std_lv=args.std_lv, cluster=args.cluster, sampling_weights=args.sampling_weights,
                         modindices=False) for m in models]
    if args.vuong:
        if len(fits) != 2:
            raise ModelSpecificationError(f"--vuong compares exactly two models; got {len(fits)} --model files")
        v = icaf_sem.vuong_test(*fits)
        out = {"vuong": {"models": names, "n": v.attrs["n"], "omega2": v.attrs["omega2"],
                         "variance_statistic": _clean(v.loc["variance", "statistic"]),
                         "variance_pvalue": _clean(v.loc["variance", "pvalue"]),
                         "lrt_z": _clean(v.loc["lrt", "statistic"]),
                         "pvalue_first_better": _clean(v.loc["lrt", "pvalue_a"]),
                         "pvalue_second_better": _clean(v.loc["lrt", "pvalue_b"]),
                         "aic": list(v.attrs["aic"]), "bic": list(v.attrs["bic"])}}
        msg = (f"Vuong: variance test p = {v.loc['variance', 'pvalue']:.4g}; z = {v.loc['lrt', 'statistic']:.3f}")
    else:
        tab = icaf_sem.compare(*fits, method=args.method, names=names)
        rows = [{"model": str(idx), **{k: _clean(val) for k, val in r.items()}}
                for idx, r in zip(tab.index, tab.to_dict("records"))]
        out = {"method": tab.attrs["method"], "table": rows}
        msg = f"{len(rows)} models compared ({tab.attrs['method']})"
    out["estimator"] = args.estimator
    out["warnings"] = [w for f in fits for w in f.warnings]
    atomic_write_text(args.json, json.dumps(out, indent=1, allow_nan=False))
    sys.stdout.write(f"{msg}; wrote {args.json}\n")
    return 0
