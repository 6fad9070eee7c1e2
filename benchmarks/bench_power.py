"""Monte Carlo power: icaf_sem.power.simulate against a lavaan simulation loop, in one run.

    python benchmarks/bench_power.py                 # 10 sample sizes x 1,000 replications (a few minutes)
    python benchmarks/bench_power.py --reps 200      # quicker
    python benchmarks/bench_power.py --no-lavaan

Population: the ICAF model (questionnaire syntax, 87 free parameters, df 508) fitted with ML to the 204
complete cases of the reference wave (``data/icaf_wave1_clean.csv``), i.e. a previous wave.
Grid: N = 150, 200, ..., 600.  Estimation: ML, complete data.

Measured, each in this run:
* icaf_sem on 1 local process and on 2 local processes (full grid x reps);
* icaf_sem on a Dask LocalCluster with 1 and with 2 single-threaded workers (cluster started and
  warmed up before timing; ``--dask-reps`` replications per N);
* lavaan 0.6-14 in R: ``--lavaan-reps`` replications per N of rnorm + sem() + parameterEstimates()
  (what simsem does per replication), timed inside R; its time for the full grid is seconds per
  replication x 10 x reps.
The machine is shared: load averages are printed before and after.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--dask-reps", type=int, default=300)
    ap.add_argument("--lavaan-reps", type=int, default=10)
    ap.add_argument("--no-lavaan", action="store_true")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--no-local", action="store_true", help="skip the local-process runs (and the lavaan ratio)")
    ap.add_argument("--seed", type=int, default=2024)
    a = ap.parse_args()
    import icaf_sem
    from icaf_sem.power import simulate
    ns = list(range(150, 601, 50))
    q = icaf_sem.load_questionnaire(HERE.parent / "questionnaires" / "icaf.yaml")
    wave = pd.read_csv(HERE / "data" / "icaf_wave1_clean.csv")
    fitted = icaf_sem.fit(q.model_syntax(), wave, modindices=False)
    print(f"# load average before: {os.getloadavg()}, cores: {os.cpu_count()}")
    rows = []

    def run(label, **kw):
        t = time.perf_counter()
        st = simulate(q, fitted, n=ns, reps=kw.pop("reps", a.reps), seed=a.seed, **kw)
        sec = time.perf_counter() - t
        total = len(ns) * st.config["reps"]
        rows.append({"run": label, "replications": total, "seconds": sec, "ms_per_rep": 1000 * sec / total,
                     "compute_seconds": st.timing["compute_seconds"]})
        print(f"{label}: {total} replications in {sec:.1f} s ({1000 * sec / total:.2f} ms each; "
              f"convergence {st.table['convergence_rate'].min():.3f}..{st.table['convergence_rate'].max():.3f})",
              flush=True)
        return st, sec

    st1 = t1 = t2 = None
    if not a.no_local:
        st1, t1 = run("icaf_sem, 1 process", workers=1)
        st2, t2 = run("icaf_sem, 2 processes", workers=2)
        d1, d2 = st1.to_dict(), st2.to_dict()
        d1.pop("timing"), d2.pop("timing")
        print(f"identical results with 1 and 2 processes: {d1 == d2}")
    dask_ratio = None
    if not a.no_dask:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            print("dask: not available (pip install 'icaf_sem[dask]')")
        else:
            import logging
            import dask
            dask.config.set({"distributed.worker.profile.enabled": False})    # as scheduler="dask" does
            times, studies = {}, {}
            for w in (1, 2):
                with LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as cl, Client(cl) as client:
                    # warm-up on every worker: imports and the compiled model (a one-time cost per worker)
                    client.run(lambda: __import__("icaf_sem.power.montecarlo"))
                    simulate(q, fitted, n=[150], reps=50 * w, seed=1, scheduler=client)
                    cpu0 = client.run(time.process_time)
                    studies[w], times[w] = run(f"icaf_sem, Dask {w} worker{'s' if w > 1 else ''}",
                                               scheduler=client, reps=a.dask_reps)
                    cpu1 = client.run(time.process_time)
                    print("  CPU seconds per worker: " + ", ".join(f"{cpu1[k] - cpu0[k]:.1f}" for k in cpu0) +
                          f"; load average {os.getloadavg()[0]:.1f}")
            e1, e2 = studies[1].to_dict(), studies[2].to_dict()
            e1.pop("timing"), e2.pop("timing")
            print(f"identical results with 1 and 2 Dask workers: {e1 == e2}")
            dask_ratio = times[1] / times[2]
            print(f"Dask speed-up, 2 workers vs 1: {dask_ratio:.2f}x")
    lav_total = None
    if not a.no_lavaan and not a.no_local and shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as tmp:
            pop_sigma = st1.population.covariance()
            sig_file, mod_file, out = Path(tmp) / "sigma.csv", Path(tmp) / "model.lav", Path(tmp) / "out.json"
            pop_sigma.to_csv(sig_file, index=False)
            mod_file.write_text(q.model_syntax() + "\n", encoding="utf-8")
            t = time.perf_counter()
            subprocess.run(["Rscript", str(HERE / "bench_power_lavaan.R"), f"sigma={sig_file}", f"model={mod_file}",
                            f"n={','.join(map(str, ns))}", f"reps={a.lavaan_reps}", f"seed={a.seed}", f"out={out}"],
                           check=True)
            res = json.loads(out.read_text())
            per = res["mean_per_rep_s"]
            lav_total = per * len(ns) * a.reps
            print(f"lavaan {res['lavaan']}: {a.lavaan_reps} replications per N, {1000 * per:.0f} ms per replication "
                  f"(simulate {1000 * np.mean([r['sim_s'] for r in res['by_n']]):.0f} ms + fit "
                  f"{1000 * np.mean([r['fit_s'] for r in res['by_n']]):.0f} ms); projected for "
                  f"{len(ns)} x {a.reps}: {lav_total:.0f} s (1 core); R wall time {time.perf_counter() - t:.0f} s")
    print(f"# load average after: {os.getloadavg()}")
    print("\n| run | replications | seconds | ms per replication |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['run']} | {r['replications']} | {r['seconds']:.1f} | {r['ms_per_rep']:.2f} |")
    if lav_total:
        print(f"| lavaan loop (projected, 1 core) | {len(ns) * a.reps} | {lav_total:.0f} | "
              f"{1000 * lav_total / (len(ns) * a.reps):.0f} |")
        print(f"\nicaf_sem / lavaan, 1 core each: 1/{lav_total / t1:.0f}; icaf_sem on 2 processes vs lavaan on "
              f"2 cores (lavaan time / 2): 1/{lav_total / 2 / t2:.0f}")
    if dask_ratio:
        print(f"Dask 2 workers vs 1: {dask_ratio:.2f}x")


if __name__ == "__main__":
    main()
