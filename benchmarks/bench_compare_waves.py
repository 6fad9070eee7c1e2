"""Time ``compare_waves`` on the two reference waves: the bundled example wave (404 rows) and a
simulated second wave of 400 respondents (``simulate_wave(q, n=400, seed=7)``), FIML, ML.

Run from the repository root: ``python benchmarks/bench_compare_waves.py``.  Prints the median of
three runs and the share spent in the robust (FIML-corrected) fit measures, which an ML fit no
longer computes unless they are read.  The machine is shared: treat the seconds as indicative.
"""
from __future__ import annotations

import statistics
import time
import warnings
from pathlib import Path

import icaf_sem
from icaf_sem import load_questionnaire
from icaf_sem.waves import compare_waves

ROOT = Path(__file__).resolve().parents[1]


def main(repeats: int = 3) -> None:
    q = load_questionnaire(ROOT / "questionnaires" / "icaf.yaml")
    wave1 = ROOT / "icaf_sem" / "data" / "example_wave.csv"
    wave2 = icaf_sem.simulate_wave(q, n=400, seed=7, wave="wave2")
    times, cpu = [], []
    for _ in range(repeats):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, c = time.perf_counter(), time.process_time()
            compare_waves(q, {"wave1": wave1, "wave2": wave2})
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    print(f"compare_waves, 2 waves x ~400 respondents, FIML/ML: median {statistics.median(times):.2f} s "
          f"(runs: {', '.join(f'{x:.2f}' for x in times)}); CPU time median {statistics.median(cpu):.2f} s")


if __name__ == "__main__":
    main()
