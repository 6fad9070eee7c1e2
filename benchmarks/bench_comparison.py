"""Cost of the competing-models stage of ``analyze`` on the bundled example wave.

Runs ``analyze`` (no bootstrap, no figures, no report files) with and without ``competing``
and times the comparison alone (``compare_competing`` reusing the main CFA and SEM, as analyze
does), under ML and MLR.  The machine is shared: run it twice and read the ratios.

    python benchmarks/bench_comparison.py
"""
from __future__ import annotations

import time
import warnings

import icaf_sem
from icaf_sem.comparison import compare_competing
from icaf_sem.questionnaire import builtin_questionnaire_path, load_questionnaire

warnings.simplefilter("ignore")
WAVE = builtin_questionnaire_path("icaf").with_name("example_wave.csv")


def main():
    q = load_questionnaire("icaf")
    icaf_sem.analyze(WAVE, q, bootstrap=0, figures=False, competing=False, invariance=False,
                     method_bias=False)            # warm-up: imports and caches, not timed
    for est in ("ML", "MLR"):
        times = {}
        for competing in (False, True):
            t = time.perf_counter()
            res = icaf_sem.analyze(WAVE, q, bootstrap=0, figures=False, estimator=est, competing=competing,
                                   invariance=False, method_bias=False)
            times[competing] = time.perf_counter() - t
        t = time.perf_counter()
        cmp = compare_competing(q, res.data, estimator=est, missing="ml",
                                fitted={"hypothesised": res.sem, "measurement": res.cfa})
        stage = time.perf_counter() - t
        print(f"{est:>3}: analyze without {times[False]:6.2f} s, with {times[True]:6.2f} s "
              f"(ratio {times[True] / times[False]:.2f}); the stage alone {stage:5.2f} s for "
              f"{len(cmp.table)} models, {len(cmp.pairs)} pairs")


if __name__ == "__main__":
    main()
