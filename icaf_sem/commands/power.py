"""``icaf-sem power``: analytic (``rmsea``) and Monte Carlo (``simulate``) power and sample size."""
from __future__ import annotations

import json
import sys

from ..errors import DataError


def add_parser(sub):
    p = sub.add_parser("power", help="power and sample size: RMSEA-based (rmsea) or Monte Carlo (simulate)",
                       description="Power and sample size for planning a survey wave.")
    ps = p.add_subparsers(dest="power_command", metavar="{rmsea,simulate}")
    ps.required = True
    r = ps.add_parser("rmsea", help="a-priori / post-hoc / compromise power of the model test (semPower; "
                      "MacCallum, Browne & Sugawara 1996)",
                      description="Power of the chi-square model test with RMSEA effect sizes. Give --power for "
                      "the N needed (a-priori), --n for the power reached (post-hoc), or --n and --abratio for "
                      "a compromise analysis.")
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--df", type=int, help="degrees of freedom of the model test")
    src.add_argument("--questionnaire", help="take df from this questionnaire's model (YAML)")
    src.add_argument("--model", help="take df from this lavaan syntax file")
    r.add_argument("--rmsea", type=float, required=True, help="RMSEA under the alternative (H1)")
    r.add_argument("--rmsea0", type=float, default=0.0, help="RMSEA under H0 (0: exact fit; .05: close fit)")
    r.add_argument("--test", default="exact", choices=["exact", "close", "not-close"])
    r.add_argument("--alpha", type=float, default=0.05)
    r.add_argument("--power", type=float, default=None, help="target power (a-priori analysis)")
    r.add_argument("--n", type=int, default=None, help="number of respondents (post-hoc or compromise)")
    r.add_argument("--abratio", type=float, default=None, help="alpha/beta ratio (compromise analysis)")
    r.add_argument("--json", default=None, help="output JSON file (written whole or not at all)")
    r.set_defaults(func=run_rmsea)

    s = ps.add_parser("simulate", help="Monte Carlo power per hypothesis over a grid of sample sizes",
                      description="Simulate data from a population model, refit the questionnaire's model and "
                      "report power, bias, SE bias, coverage and convergence per hypothesis and sample size.")
    s.add_argument("--questionnaire", required=True, help="questionnaire YAML (its model and hypotheses)")
    s.add_argument("--n", required=True, help="comma-separated sample sizes, e.g. 150,300,450")
    s.add_argument("--reps", type=int, default=1000, help="replications per sample size")
    s.add_argument("--seed", type=int, required=True, help="seed (same seed, same results on any backend)")
    s.add_argument("--population", default="questionnaire",
                   help="'questionnaire' (declared values), a previous wave's data file (the model fitted to it "
                        "is the population) or a JSON file {hypothesis id: standardized effect}")
    s.add_argument("--effect", type=float, default=None, help="standardized effect of every hypothesised path "
                   "(with --population questionnaire)")
    s.add_argument("--data-kind", default="normal", choices=["normal", "ordinal"],
                   help="'ordinal' cuts the items at a previous wave's cut points (needs --cuts-from)")
    s.add_argument("--cuts-from", default=None, help="data file of a previous wave (item cut points)")
    s.add_argument("--missing-rate", type=float, default=0.0, help="share of item cells missing completely at random")
    s.add_argument("--estimator", default="ML", choices=["ML", "MLR", "ml", "mlr"])
    s.add_argument("--missing", default=None, choices=["listwise", "ml", "fiml"],
                   help="missing-data handling of the analysis (default: ml when cells are missing)")
    s.add_argument("--alpha", type=float, default=0.05)
    s.add_argument("--target-power", type=float, default=0.8)
    s.add_argument("--workers", type=int, default=None, help="local processes (default: all cores)")
    s.add_argument("--scheduler", default=None, help="'dask' (a local Dask cluster) or a Dask scheduler address")
    s.add_argument("--results-file", default=None, help="CSV that completed chunks are appended to (resumable)")
    s.add_argument("--json", required=True, help="output JSON file (written whole or not at all)")
    s.add_argument("--out", default=None, help="folder for the report section (tables, power curves; English and Chinese)")
    s.set_defaults(func=run_simulate)
    return p


def run_rmsea(args) -> int:
    from .._atomic import atomic_write_text
    from ..power import rmsea
    model = None
    if args.questionnaire:
        model = args.questionnaire
    elif args.model:
        from .fit import read_model
        model = read_model(args.model)
    res = rmsea(df=args.df, rmsea=args.rmsea, rmsea0=args.rmsea0, test=args.test, alpha=args.alpha,
                power=args.power, n=args.n, abratio=args.abratio, model=model)
    if args.json:
        atomic_write_text(args.json, json.dumps(res.to_dict(), indent=1, allow_nan=False))
    sys.stdout.write(res.summary() + "\n")
    return 0


def run_simulate(args) -> int:
    from .._atomic import atomic_write_text
    from ..power import montecarlo
    try:
        ns = [int(x) for x in str(args.n).split(",") if x.strip()]
    except ValueError:
        raise DataError(f"--n {args.n!r} must be comma-separated whole numbers, e.g. --n 150,300,450") from None
    study = montecarlo.simulate_from_cli(args, ns)
    atomic_write_text(args.json, json.dumps(study.to_dict(), indent=1, allow_nan=False))
    if args.out:
        from ..power.report import write_report
        paths = write_report(study, args.out)
        sys.stdout.write(f"wrote the report section (en, zh) to {args.out}\n")
    sys.stdout.write(study.summary() + "\n")
    return 0
