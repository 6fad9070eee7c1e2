"""Time ``compare_waves`` on the two reference waves, side by side with the same fits in lavaan.

The two reference waves: the bundled example wave (404 rows) and a simulated second wave of 400
respondents (``simulate_wave(q, n=400, seed=7)``), FIML, ML.  Target (issue 12): at most 5 s wall.

Run from the repository root: ``python benchmarks/bench_compare_waves.py [--repeats 3] [--no-lavaan]
[--estimator MLR] [--missing listwise]``.

Printed, each the median of ``--repeats`` runs after one warm-up, wall and CPU seconds:

* ``compare_waves`` end to end (read and clean both waves, the invariance sequence, latent means,
  the 12 structural fits of the path tests), and its report folder (``WaveComparison.write``);
* the fits alone (``invariance()`` + ``path_equality()`` on the stacked clean waves), and the same
  models in lavaan (``compare_waves_lavaan.R``: cfa() per step + semTools::compareFit(), the free
  structural model + parameterEstimates(), one sem() + lavTestLRT() per path), R start-up and
  reading the CSV excluded.  Both sides fit the same data; the chi-squares are printed side by side.

The machine is shared (8 engineers on 2 cores): the load average is printed before and after; CPU
seconds are the steadier figure, the ratio of one run is the comparison to quote.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import icaf_sem  # noqa: E402
from icaf_sem import load_questionnaire  # noqa: E402
from icaf_sem.waves import WAVE_COLUMN, _structural, compare_waves, path_equality  # noqa: E402


def _timed(fn, repeats):
    fn()                                  # warm-up (imports, caches)
    wall, cpu = [], []
    out = None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu), wall, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-lavaan", action="store_true")
    ap.add_argument("--estimator", default="ML", choices=["ML", "MLR"])
    ap.add_argument("--missing", default="ml", choices=["ml", "listwise"])
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    load0 = os.getloadavg()
    q = load_questionnaire(ROOT / "questionnaires" / "icaf.yaml")
    wave1 = ROOT / "icaf_sem" / "data" / "example_wave.csv"
    wave2 = icaf_sem.simulate_wave(q, n=400, seed=7, wave="wave2")
    kw = dict(estimator=a.estimator, missing=a.missing)

    def run_all():
        return compare_waves(q, {"wave1": wave1, "wave2": wave2}, **kw)
    w_all, c_all, runs, cmp = _timed(run_all, a.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        w_write, c_write, _, _ = _timed(lambda: cmp.write(Path(tmp) / "out"), 1)

    data = cmp.data
    model = _structural(q)
    paths = [(h.id, h.lhs, h.rhs) for h in q.hypotheses if h.kind == "path"]

    def run_fits():
        inv = icaf_sem.invariance(q.cfa_syntax(), data, group=WAVE_COLUMN, **kw)
        path_equality(model, data, paths, group=WAVE_COLUMN, **kw)
        return inv
    w_fit, c_fit, _, inv = _timed(run_fits, a.repeats)

    lav = None
    if not a.no_lavaan and shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp)
            data.to_csv(t / "stacked.csv", index=False, float_format="%.17g")
            (t / "cfa.lav").write_text(q.cfa_syntax() + "\n", encoding="utf-8")
            (t / "sem.lav").write_text(model + "\n", encoding="utf-8")
            (t / "paths.txt").write_text("\n".join(f"{l}~{r}" for _, l, r in paths) + "\n", encoding="utf-8")
            cmd = ["Rscript", str(ROOT / "benchmarks" / "compare_waves_lavaan.R"), f"data={t / 'stacked.csv'}",
                   f"cfa={t / 'cfa.lav'}", f"sem={t / 'sem.lav'}", f"paths={t / 'paths.txt'}",
                   f"missing={a.missing}", f"estimator={a.estimator}", "reps=1",
                   f"score={int(bool(inv.score_tests))}", f"out={t / 'out.json'}"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode == 0:
                lav = json.loads((t / "out.json").read_text())
            else:
                lav = {"error": r.stderr.strip().splitlines()[-1:] or ["Rscript failed"]}
    load1 = os.getloadavg()

    print(f"compare-waves, 2 waves x ~400 respondents, {a.estimator}, missing={a.missing}; "
          f"load average before {load0[0]:.1f}, after {load1[0]:.1f} (2 cores, shared)")
    print(f"| what | wall s | CPU s |\n|---|---|---|")
    print(f"| icaf_sem compare_waves (read, clean, fit, tables), median of {a.repeats} "
          f"(runs {', '.join(f'{x:.2f}' for x in runs)}) | {w_all:.2f} | {c_all:.2f} |")
    print(f"| icaf_sem report folder (html, docx, xlsx, tex, figure) | {w_write:.2f} | {c_write:.2f} |")
    print(f"| icaf_sem fits only (invariance + path tests) | {w_fit:.2f} | {c_fit:.2f} |")
    if lav is None:
        print("| lavaan: not run (--no-lavaan or no Rscript) | | |")
    elif "error" in lav:
        print(f"| lavaan: error ({lav['error']}) | | |")
    else:
        print(f"| lavaan {lav['lavaan_version']} + semTools {lav['semtools_version']}, the same fits | "
              f"{lav['median_wall']:.2f} | {lav['median_cpu']:.2f} |")
        print(f"\nratio lavaan / icaf_sem fits: wall {lav['median_wall'] / w_fit:.1f}x, "
              f"CPU {lav['median_cpu'] / c_fit:.1f}x")
        ours = [float(x) for x in inv.table["chisq"]]
        print("chi-square by step, icaf_sem vs lavaan: " + "; ".join(
            f"{s} {x:.3f} / {y:.3f}" for s, x, y in zip(inv.table["step"], ours, lav["chisq"])))


if __name__ == "__main__":
    main()
