"""PLS-SEM timings: icaf_sem.pls side by side with seminr (the Python port on PyPI, GPL-3) in one run.

seminr runs in its own virtual environment (the package never imports it):

    python -m venv /tmp/seminr_venv && /tmp/seminr_venv/bin/pip install seminr==0.2.1 pandas
    python benchmarks/bench_pls.py [--seminr-python /tmp/seminr_venv/bin/python] [--seminr-draws 1000]

Measures, for the ICAF first-order model (10 composites, 34 indicators, 4 endogenous) on the reference wave
(204 complete cases):

* one PLS fit: ``icaf_sem.pls(model, data)`` vs ``seminr.estimate_pls(...)`` (best of several repeats of
  the mean over a batch of calls; both include the model and data handling of one call);
* 10,000 bootstrap draws: ``icaf_sem.pls(..., bootstrap=10000)`` vs ``seminr.bootstrap_model(m, 10000)``.
  seminr's bootstrap loops over the draws, so ``--seminr-draws N`` (< 10,000) times N draws and scales the
  time linearly to 10,000 (stated in the output); ``--seminr-draws 10000`` times all of them.

The machine is shared: timings are noisy, so each tool's best repeat is reported and ratios come from the
same run.  Nothing here is a test.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
import _common as C  # noqa: E402

MODEL = C.ICAF_MEASUREMENT + """
EB ~ BC + CE + CS + DQ + PM + AS
PR ~ BC + CE + CS + DQ + PM + AS
PC ~ BC + CE + CS + DQ + PM + AS
PW ~ BC + CE + CS + DQ + PM + AS + EB + PR + PC"""

SEMINR_SCRIPT = r'''
import json, sys, time
import pandas as pd
import seminr as s
model, csv, what, n, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
mm_, sm_ = [], []
for line in open(model).read().splitlines():
    if "=~" in line:
        lhs, rhs = line.split("=~")
        mm_.append(s.composite(lhs.strip(), [t.strip() for t in rhs.split("+")], weights=s.mode_A))
    elif "~" in line:
        lhs, rhs = line.split("~")
        sm_.append(s.paths([t.strip() for t in rhs.split("+")], lhs.strip()))
mm, sm = s.constructs(*mm_), s.relationships(*sm_)
df = pd.read_csv(csv)
m = s.estimate_pls(df, mm, sm, missing=s.na_omit)
out = []
for _ in range(repeats):
    t0 = time.perf_counter()
    if what == "fit":
        for _ in range(n):
            s.estimate_pls(df, mm, sm, missing=s.na_omit)
        out.append((time.perf_counter() - t0) / n)
    else:
        s.bootstrap_model(m, nboot=n, seed=1)
        out.append(time.perf_counter() - t0)
print(json.dumps(out))
'''


def seminr_times(py, model_file, csv, what, n, repeats):
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(SEMINR_SCRIPT)
        script = fh.name
    try:
        res = subprocess.run([py, script, model_file, csv, what, str(n), str(repeats)], capture_output=True,
                             text=True, timeout=7200)
    finally:
        os.unlink(script)
    if res.returncode != 0:
        raise RuntimeError(res.stderr.strip().splitlines()[-1] if res.stderr else "seminr failed")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seminr-python", default="/tmp/seminr_venv/bin/python")
    ap.add_argument("--seminr-draws", type=int, default=1000, help="bootstrap draws timed in seminr")
    ap.add_argument("--draws", type=int, default=10000, help="bootstrap draws (icaf_sem and the target)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--fit-draws", type=int, default=1000, help="draws of the exact fit test")
    a = ap.parse_args()

    import pandas as pd
    import icaf_sem

    data = pd.read_csv(HERE / "data" / "icaf_wave1_clean.csv")
    items = C.model_items(MODEL)
    data = data[items].dropna().reset_index(drop=True)
    tmp = tempfile.mkdtemp(prefix="bench-pls-")
    model_file, csv = os.path.join(tmp, "model.lav"), os.path.join(tmp, "data.csv")
    Path(model_file).write_text(MODEL, encoding="utf-8")
    data.to_csv(csv, index=False)
    have_seminr = os.path.exists(a.seminr_python)
    warnings.simplefilter("ignore")
    icaf_sem.pls(MODEL, data)

    def ours_fit(n=50):
        t0 = time.perf_counter()
        for _ in range(n):
            icaf_sem.pls(MODEL, data)
        return (time.perf_counter() - t0) / n

    # fit: alternate the tools so that both see the same machine load
    ours, theirs = [], []
    for _ in range(a.repeats):
        ours.append(ours_fit())
        if have_seminr:
            theirs += seminr_times(a.seminr_python, model_file, csv, "fit", 10, 1)
    print(f"N = {len(data)}, {len(items)} indicators, 10 composites")
    print(f"one fit      icaf_sem {min(ours) * 1e3:8.2f} ms", end="")
    if theirs:
        print(f"   seminr {min(theirs) * 1e3:8.2f} ms   ratio {min(theirs) / min(ours):6.1f}x")
    else:
        print("   seminr not installed")

    # bootstrap
    t_ours = []
    for _ in range(2):
        t0 = time.perf_counter()
        res = icaf_sem.pls(MODEL, data, bootstrap=a.draws, seed=1)
        t_ours.append(time.perf_counter() - t0)
    info = res.bootstrap_info
    print(f"bootstrap    icaf_sem {min(t_ours):8.2f} s for {a.draws} draws ({info['failed']} failed, "
          f"incl. jackknife for BCa)", end="")
    if have_seminr:
        t = min(seminr_times(a.seminr_python, model_file, csv, "boot", a.seminr_draws, 1))
        scaled = t * a.draws / a.seminr_draws
        how = "timed" if a.seminr_draws == a.draws else f"{t:.1f} s for {a.seminr_draws} draws, scaled"
        print(f"   seminr {scaled:8.1f} s ({how})   ratio {scaled / min(t_ours):6.1f}x")
    else:
        print("   seminr not installed")

    # model fit and the exact fit test (seminr has neither; SmartPLS and ADANCO are GUIs: no side-by-side)
    from icaf_sem.pls.fit import model_fit
    res = icaf_sem.pls(MODEL, data)
    t0 = time.perf_counter()
    for _ in range(20):
        model_fit(res._est)
    t_fit = (time.perf_counter() - t0) / 20
    t0 = time.perf_counter()
    ft = res.fit_test(draws=a.fit_draws, seed=1)
    t_test = time.perf_counter() - t0
    print(f"model fit    icaf_sem {t_fit * 1e3:8.2f} ms (SRMR, d_ULS, d_G, saturated and estimated); "
          f"exact fit test {t_test:6.2f} s for {a.fit_draws} Bollen-Stine draws per model "
          f"({int(ft['draws'].min())} usable)   no reference tool to time")


if __name__ == "__main__":
    main()
