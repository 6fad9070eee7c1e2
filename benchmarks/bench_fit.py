#!/usr/bin/env python3
"""Fit-time benchmark: icaf_sem vs semopy vs lavaan, side by side in one run.

Model: the ICAF second-order SEM (``data/icaf_sem.lav``, 34 items, 121 parameters with
FIML) on the reference wave (``data/icaf_wave1_clean.csv``, 396 respondents, 204
complete cases). Measures (issue 3):

* complete-data ML fit: complete cases, ``estimator="ML"``, ``missing="listwise"``
* FIML fit: all 396 rows, ``estimator="ML"``, ``missing="ml"``
* MLR + FIML fit: all 396 rows, ``estimator="MLR"``, ``missing="ml"``
* complete-data ML fit at N = 100,000: rows drawn (numpy, seed 20240603) from the
  model-implied moments of lavaan's FIML fit (``data/icaf_implied_moments.json``)

Timing: ``time.perf_counter`` around one call of the fitting function, one warm-up call,
then the median of several repeats.  "fit" is what lavaan's ``sem()`` computes (estimates,
standard errors, the model and baseline tests, with their Yuan-Bentler scaling for MLR);
"+ tables" adds what lavaan computes on request and icaf_sem on first access: the parameter
table with the standardized solution, all fit measures and R². lavaan is timed inside R (``lavaan_bench.R``) the same
way, so R start-up, package loading and reading the CSV are excluded. semopy is timed
for complete-data ML only (it has no FIML and no MLR); its default objective is used.

Run from the repository root::

    python benchmarks/bench_fit.py            # full run (lavaan FIML/MLR fits take ~10-25 s each)
    python benchmarks/bench_fit.py --quick    # fewer repeats
"""
from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

MEASURES = [
    # key, label, dataset, estimator, missing, target, semopy supported
    ("ml", "complete-data ML fit", "complete", "ML", "listwise", "≤ 0.02 s", True),
    ("fiml", "FIML fit", "all", "ML", "ml", "≤ 0.25 s (≥ 30× lavaan)", False),
    ("mlr_fiml", "MLR + FIML fit", "all", "MLR", "ml", "≤ 0.5 s", False),
    ("ml_100k", "complete-data ML fit at N = 100,000", "large", "ML", "listwise", "≤ 0.1 s", True),
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats (noisier medians)")
    ap.add_argument("--only", action="append", choices=[m[0] for m in MEASURES],
                    help="run only this measure (repeatable)")
    ap.add_argument("--no-lavaan", action="store_true", help="skip lavaan even if Rscript is present")
    ap.add_argument("--no-semopy", action="store_true", help="skip semopy")
    a = ap.parse_args(argv)

    reps = {"ml": 9, "fiml": 3, "mlr_fiml": 3, "ml_100k": 5}
    lav_reps = {"ml": 9, "fiml": 2, "mlr_fiml": 2, "ml_100k": 5}
    if a.quick:
        reps = {"ml": 5, "fiml": 2, "mlr_fiml": 2, "ml_100k": 3}
        lav_reps = {"ml": 3, "fiml": 1, "mlr_fiml": 1, "ml_100k": 2}

    model = C.model_text()
    items = C.model_items(model)
    wave = C.load_wave()
    datasets = {"all": wave[items].reset_index(drop=True),
                "complete": C.complete_cases(wave, items)[items]}
    measures = [m for m in MEASURES if not a.only or m[0] in a.only]
    if any(m[2] == "large" for m in measures):
        datasets["large"] = C.simulate_large()

    icaf_fit = C.icaf_fit_function()
    if not isinstance(icaf_fit, str):
        print(f"icaf_sem.fit extra options: {C.icaf_extra_kwargs(icaf_fit)}")
    lav_reason, semopy_reason = C.tool_reasons(a.no_lavaan, a.no_semopy)
    if semopy_reason is None:
        import semopy

    print("# bench_fit")
    print(C.machine_line())
    print(f"model: {C.MODEL_FILE.name}; items: {len(items)}; "
          f"rows: {len(datasets['all'])} (complete cases {len(datasets['complete'])})")
    if lav_reason is None:
        print(f"lavaan {C.lavaan_version()} via Rscript (timed inside R, start-up excluded)")
    if semopy_reason is None:
        print(f"semopy {semopy.__version__}: Model(desc).fit(data) with its defaults (objective MLW, "
              f"SLSQP); `:=` lines dropped")
    print()

    work = C.tempdir()
    rows = []
    for key, label, dsname, est, miss, target, semopy_ok in measures:
        data = datasets[dsname]
        row = {"measure": label, "target": target}

        # lavaan
        if lav_reason is not None:
            row["lavaan"] = row["lavaan + tables"] = lav_reason
        else:
            try:
                r = C.run_lavaan(data, work, mode="fit", estimator=est, missing=miss, reps=lav_reps[key])
                row["lavaan"] = C.fmt_seconds(r["median"])
                row["lavaan + tables"] = C.fmt_seconds(r["median_full"]) if "median_full" in r else "n/a"
                print(f"[{key}] lavaan: median {r['median']:.4f} s over {len(r['times'])} fit(s) "
                      f"{[round(t, 4) for t in r['times']]}; with tables: median "
                      f"{r.get('median_full', float('nan')):.4f} s; N={r['ntotal']} npar={r['npar']} "
                      f"chisq={r['chisq']:.4f} converged={r['converged']}", flush=True)
            except Exception as exc:
                row["lavaan"] = row["lavaan + tables"] = f"error ({exc})"

        # semopy
        if not semopy_ok:
            row["semopy"] = "not supported"
        elif semopy_reason is not None:
            row["semopy"] = semopy_reason
        else:
            desc = C.semopy_model_text(model)

            def run_semopy(d=data, desc=desc):
                m = semopy.Model(desc)
                m.fit(d)
                return m

            try:
                r = C.time_repeated(run_semopy, reps[key])
                row["semopy"] = C.fmt_seconds(r["median"])
                print(f"[{key}] semopy: median {r['median']:.4f} s over {len(r['times'])} fit(s)", flush=True)
            except Exception as exc:
                row["semopy"] = f"error ({exc.__class__.__name__}: {exc})"

        # icaf_sem
        if isinstance(icaf_fit, str):
            row["icaf_sem"] = icaf_fit
        else:
            extra = C.icaf_extra_kwargs(icaf_fit)

            def run_icaf(d=data, est=est, miss=miss, extra=extra):
                return icaf_fit(model, d, estimator=est, missing=miss, **extra)

            def run_icaf_full(d=data, est=est, miss=miss, extra=extra):
                res = icaf_fit(model, d, estimator=est, missing=miss, **extra)
                # what lavaan computes on request: parameterEstimates(standardized = TRUE),
                # fitMeasures() and R-squared (icaf_sem computes them on first access)
                res.parameters, res.fit_measures, res.r2
                return res

            try:
                r = C.time_repeated(run_icaf, reps[key])
                row["icaf_sem"] = C.fmt_seconds(r["median"])
                rf = C.time_repeated(run_icaf_full, reps[key])
                row["icaf_sem + tables"] = C.fmt_seconds(rf["median"])
                print(f"[{key}] icaf_sem: median {r['median']:.4f} s over {len(r['times'])} fit(s); "
                      f"with tables: median {rf['median']:.4f} s", flush=True)
            except Exception as exc:
                row["icaf_sem"] = row["icaf_sem + tables"] = f"error ({exc.__class__.__name__}: {exc})"
                traceback.print_exc(limit=3)
        rows.append(row)

    print()
    print(C.markdown_table(rows, ["measure", "lavaan", "semopy", "icaf_sem", "target"]))
    print()
    print("Fit followed by the tables (lavaan: sem() + parameterEstimates(standardized = TRUE) + "
          "fitMeasures() + lavInspect(fit, 'r2'); icaf_sem: fit() + .parameters + .fit_measures + .r2):")
    print()
    print(C.markdown_table(rows, ["measure", "lavaan + tables", "icaf_sem + tables"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
