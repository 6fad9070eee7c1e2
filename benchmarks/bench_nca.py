#!/usr/bin/env python3
"""NCA permutation-test benchmark: icaf_sem vs the R package NCA, side by side in one run.

Measure (issue 14): 10,000 permutations for 5 conditions at N = 400, CE-FDH and CR-FDH
(both tested, as NCA tests every ceiling it is given), plus the effect sizes and bottleneck
tables.  Target: under 2 s, and at least 20x faster than NCA.

Data: 5 conditions and an outcome at N = 400, each a mean of 4 seven-point items (so with
many ties, like construct mean scores), drawn with numpy (seed 20261206) so that every
condition has a ceiling; written to a temporary CSV that R reads too.

Timing: ``time.perf_counter`` around one ``icaf_sem.nca(...)`` call, one warm-up call, then the
median of 5 repeats.  NCA 5.0.1 is timed inside R (``nca_bench.R``, ``system.time`` around
``nca_analysis``, sequential: ``max.cores = 1``), once without the test and once with
``test.rep = R_REPS`` (default 100, because NCA needs minutes per thousand permutations); its
per-permutation cost is (with test - without test) / test.rep / conditions, and its time for
10,000 permutations is extrapolated from that (the cost is linear in test.rep: each
permutation is an independent loop iteration in NCA).  R start-up and package loading are
excluded.  NCA is looked up in ``NCA_LIB`` (e.g. ``/tmp/nca_r/lib``) and R's libraries; it is not
in Debian (see tests/fixtures/nca/make_fixtures.R for how it was installed from source).

The machine is shared (2 cores, several users): figures are noisy; compare ratios from one run.

Run from the repository root::

    NCA_LIB=/tmp/nca_r/lib python benchmarks/bench_nca.py [--r-reps 100] [--no-r]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import icaf_sem  # noqa: E402
from icaf_sem.nca import nca  # noqa: E402

N, K, REPS, SEED = 400, 5, 10_000, 20261206


def make_data(n=N, k=K, seed=SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(0, 1, size=(n, k))
    cap = lat.min(axis=1) * 0.5 + lat.mean(axis=1) * 0.5          # outcome ceiling set by the conditions
    out = {}
    for j in range(k):
        items = np.clip(np.rint(1 + 6 * lat[:, [j]] + rng.normal(0, 0.6, size=(n, 4))), 1, 7)
        out[f"X{j + 1}"] = items.mean(axis=1)
    yl = cap * rng.uniform(0.4, 1.0, size=n)
    items = np.clip(np.rint(1 + 6 * yl[:, None] + rng.normal(0, 0.5, size=(n, 4))), 1, 7)
    out["Y"] = items.mean(axis=1)
    return pd.DataFrame(out)


def time_ours(df, repeats=5):
    x = [c for c in df.columns if c != "Y"]
    nca(df, x, "Y", permutations=REPS, seed=1)          # warm-up
    ts = []
    for r in range(repeats):
        t = time.perf_counter()
        res = nca(df, x, "Y", permutations=REPS, seed=r + 2)
        ts.append(time.perf_counter() - t)
    t0 = []
    for _ in range(repeats):
        t = time.perf_counter()
        nca(df, x, "Y", permutations=0)
        t0.append(time.perf_counter() - t)
    return statistics.median(ts), statistics.median(t0), res


def time_r(csv, x, reps):
    if shutil.which("Rscript") is None:
        return None
    cmd = ["Rscript", str(ROOT / "benchmarks" / "nca_bench.R"), str(csv), "Y", ",".join(x), str(reps)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except subprocess.TimeoutExpired:
        return None
    for line in out.stdout.splitlines()[::-1]:
        if line.startswith("{"):
            d = json.loads(line)
            return d if d.get("available") else None
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--r-reps", type=int, default=100, help="test.rep for the R timing (extrapolated)")
    ap.add_argument("--r-conditions", type=int, default=1, help="conditions in the R timing")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--n", type=int, default=N, help="cases (default 400; beyond 5 k L cases the test draws "
                    "group compositions instead of shuffling the cases)")
    a = ap.parse_args()
    df = make_data(n=a.n)
    x = [c for c in df.columns if c != "Y"]
    t_ours, t_ours0, res = time_ours(df)
    per_perm_ours = (t_ours - t_ours0) / REPS / K
    print(f"data: N = {a.n}, {K} conditions (means of 4 seven-point items), ceilings ce_fdh + cr_fdh, seed {SEED}")
    print(f"icaf_sem {icaf_sem.__version__}: {REPS} permutations x {K} conditions: {t_ours:.3f} s "
          f"(median of 5; without the test {t_ours0 * 1000:.1f} ms); "
          f"{per_perm_ours * 1e6:.2f} us per permutation and condition (both ceilings)")
    if a.n == N:
        print("  target < 2 s (issue 14, N = 400):", "met" if t_ours < 2 else "NOT met")
    print(res.effects[["condition", "ceiling", "effect_size", "p_value"]].to_string(index=False))
    if a.no_r:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bench.csv"
        df.to_csv(csv, index=False)
        r = time_r(csv, x[: a.r_conditions], a.r_reps)
    if r is None:
        print("R package NCA: not available (set NCA_LIB to a library holding NCA 5.x)")
        return 0
    per_perm_r = (r["seconds_with_test"] - r["seconds_without_test"]) / r["test_rep"] / r["conditions"]
    t_r = r["seconds_without_test"] * K / r["conditions"] + per_perm_r * REPS * K
    print(f"NCA {r['version']} (R, sequential): test.rep = {r['test_rep']} for {r['conditions']} condition(s): "
          f"{r['seconds_with_test']:.2f} s with, {r['seconds_without_test']:.2f} s without the test; "
          f"{per_perm_r * 1000:.1f} ms per permutation and condition (both ceilings)")
    print(f"  extrapolated to {REPS} permutations x {K} conditions: {t_r:.0f} s ({t_r / 60:.1f} min)")
    print(f"ratio NCA / icaf_sem: {t_r / t_ours:.0f}x (per permutation: {per_perm_r / per_perm_ours:.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
