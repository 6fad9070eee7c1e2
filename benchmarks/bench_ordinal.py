"""Ordinal (WLSMV) speed against lavaan 0.6-14, side by side in one run.

    python benchmarks/bench_ordinal.py [--data PATH] [--reps 5]

Times (median of --reps runs) on the ICAF wave-1 first-order CFA with 34 ordered 7-point items
(complete cases, N = 204):

* icaf_sem: ``fit(model, data, ordered=True)`` (WLSMV, robust SEs, scaled-shifted test, baseline)
  plus ``fit_measures`` and ``parameters`` (lavaan computes the equivalent inside ``cfa()`` and
  ``fitMeasures()``), and ``polychoric_matrix`` alone;
* lavaan (via Rscript bench_ordinal.R, skipped when R is absent): ``cfa(..., ordered = TRUE)``,
  ``fitMeasures(fit)`` and ``lavCor(..., ordered = TRUE)``.

The machine is shared: numbers are noisy; the ratios come from the same run.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import icaf_sem  # noqa: E402
from icaf_sem.estimation.categorical import polychoric_matrix  # noqa: E402
sys.path.insert(0, str(HERE))
import _common as C  # noqa: E402

MODEL = C.ICAF_MEASUREMENT


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(HERE.parent / "tests" / "fixtures" / "ordinal" / "data" /
                                          "icaf_wave1_clean.csv"))
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    d = pd.read_csv(a.data)
    items = [c for c in d.columns if c[:2] in ("bc", "ce", "cs", "dq", "pm", "as", "eb", "pr", "pc", "pw")]
    d = d.dropna(subset=items)[items].reset_index(drop=True)
    warnings.simplefilter("ignore")
    fit_t, cor_t, fit_c, cor_c = [], [], [], []
    res = icaf_sem.fit(MODEL, d, ordered=True)          # warm-up (imports)
    for _ in range(a.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        res = icaf_sem.fit(MODEL, d, ordered=True)
        res.fit_measures
        res.parameters
        fit_t.append(time.perf_counter() - t0)
        fit_c.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        polychoric_matrix(d)
        cor_t.append(time.perf_counter() - t0)
        cor_c.append(time.process_time() - c0)
    ours_fit, ours_cor = statistics.median(fit_t), statistics.median(cor_t)
    ours_fit_c, ours_cor_c = statistics.median(fit_c), statistics.median(cor_c)
    print(f"N = {len(d)}, {len(items)} ordered items, reps = {a.reps}")
    print(f"icaf_sem fit+fit_measures+parameters: {ours_fit:.4f} s   polychoric matrix: {ours_cor:.4f} s"
          f"   cfi.robust = {res.fit_measures['cfi.robust']:.6f}")
    print(f"icaf_sem CPU time: fit {ours_fit_c:.4f} s, polychoric matrix {ours_cor_c:.4f} s")
    if shutil.which("Rscript") is None:
        print("Rscript not found: lavaan side skipped")
        return 0
    out = subprocess.run(["Rscript", str(HERE / "bench_ordinal.R"), a.data, str(a.reps)], capture_output=True,
                         text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    vals = dict(line.split() for line in out.stdout.strip().splitlines() if len(line.split()) == 2)
    lf, lm, lc = (float(vals[k]) for k in ("lavaan_fit", "lavaan_fitmeasures", "lavaan_lavcor"))
    print(f"lavaan cfa(ordered=TRUE): {lf:.4f} s   fitMeasures: {lm:.4f} s   lavCor(ordered): {lc:.4f} s"
          f"   cfi.robust = {float(vals['lavaan_cfi_robust']):.6f}")
    print(f"speed-up, fit (lavaan cfa + fitMeasures vs icaf_sem fit + fit_measures + parameters): "
          f"{(lf + lm) / ours_fit:.1f}x  (cfa alone vs ours: {lf / ours_fit:.1f}x)")
    print(f"speed-up, polychoric matrix (lavCor vs polychoric_matrix): {lc / ours_cor:.1f}x")
    lfc, lmc, lcc = (float(vals[k]) for k in ("lavaan_fit_cpu", "lavaan_fitmeasures_cpu", "lavaan_lavcor_cpu"))
    print(f"CPU-time ratios (less sensitive to a busy machine): fit {(lfc + lmc) / ours_fit_c:.1f}x "
          f"(cfa alone {lfc / ours_fit_c:.1f}x), polychoric matrix {lcc / ours_cor_c:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
