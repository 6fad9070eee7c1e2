"""Scale targets of issue 16: wall time and peak memory of the CLI on large inputs.

* ``icaf-sem clean`` on a ~100 MB raw export: target < 30 s and < 2 GB peak RSS;
* ``icaf-sem analyze`` on 100,000 simulated respondents: target < 60 s and < 2 GB.

Each command runs in its own process (``python -m icaf_sem ...`` from the repository root, so
this checkout is measured); wall time comes from ``time.perf_counter``, CPU time (user +
system) and the peak resident
set size of the child from ``os.wait4`` (``ru_maxrss``, the number ``/usr/bin/time -v`` prints
as "Maximum resident set size").  The inputs are simulated with ``simulate_wave`` (the flaws of
the reference wave: duplicates, speeders, straight-liners, missing codes ...) and written to a
temporary folder; nothing is kept.  There is no reference tool for these end-to-end commands,
so the figures are absolute; the machine is shared, so expect noise of 20 % or more.

Run from the repository root::

    python benchmarks/bench_scale.py                 # both targets
    python benchmarks/bench_scale.py --only clean --mb 100
    python benchmarks/bench_scale.py --only analyze --n 100000
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_measured(cmd: list) -> tuple[float, float, float, int, str]:
    """(wall seconds, CPU seconds (user + system), peak RSS in MB, exit code, stderr tail) of one child."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        except BaseException:        # interrupted or killed by a time limit: never leave the command running
            proc.kill()
            proc.wait()
            raise
        secs = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode("utf-8", "replace").strip().splitlines()[-3:]
    return secs, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, proc.returncode, " | ".join(tail)


def make_clean_input(folder: Path, mb: float, seed: int = 1) -> Path:
    """A raw export of about ``mb`` megabytes: one simulated wave repeated with fresh ids."""
    import numpy as np
    import pandas as pd
    from icaf_sem import load_questionnaire, simulate_wave
    q = load_questionnaire(ROOT / "questionnaires" / "icaf.yaml")
    base = simulate_wave(q, n=20000, seed=seed)
    path = folder / "raw_big.csv"
    block = base.to_csv(index=False).encode("utf-8")
    per_row = len(block) / (len(base) + 1)
    reps = max(1, int(np.ceil(mb * 1e6 / per_row / len(base))))
    idc = q.id_column or "respondent_id"
    with open(path, "wb") as fh:
        for r in range(reps):
            part = base.copy()
            part[idc] = [f"r{r}-{v}" for v in part[idc]]
            fh.write(part.to_csv(index=False, header=(r == 0)).encode("utf-8"))
            if fh.tell() >= mb * 1e6:
                break
    del pd
    return path


def make_analyze_input(folder: Path, n: int, seed: int = 2) -> Path:
    from icaf_sem import load_questionnaire, simulate_wave
    q = load_questionnaire(ROOT / "questionnaires" / "icaf.yaml")
    df = simulate_wave(q, n=n, seed=seed)
    path = folder / "raw_n.csv"
    df.to_csv(path, index=False)
    return path


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    import signal
    signal.signal(signal.SIGTERM, _interrupt)   # `timeout` sends SIGTERM: run_measured then stops its child
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=["clean", "analyze"], default=None)
    ap.add_argument("--mb", type=float, default=100.0, help="size of the raw export for clean (MB)")
    ap.add_argument("--n", type=int, default=100_000, help="respondents for analyze")
    ap.add_argument("--figures", action="store_true", help="analyze with figures (default --no-figures)")
    ap.add_argument("--bootstrap", type=int, default=None,
                    help="analyze's --bootstrap (default: the CLI's default of 5,000 draws)")
    a = ap.parse_args()
    exe = [sys.executable, "-m", "icaf_sem"]
    load0 = f"{os.getloadavg()[0]:.1f}"
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        tmp = Path(tmp)
        if a.only in (None, "clean"):
            raw = make_clean_input(tmp, a.mb)
            size = raw.stat().st_size / 1e6
            secs, cpu, rss, code, tail = run_measured(exe + ["clean", "-q", "questionnaires/icaf.yaml", "-d",
                                                             str(raw), "-o", str(tmp / "clean_out"), "--quiet"])
            rows.append((f"clean, {size:.0f} MB export", secs, cpu, rss, code, 30, 2048, tail))
        if a.only in (None, "analyze"):
            raw = make_analyze_input(tmp, a.n)
            cmd = exe + ["analyze", "-q", "questionnaires/icaf.yaml", "-d", str(raw), "-o", str(tmp / "report"),
                         "--quiet"] + ([] if a.figures else ["--no-figures"]) + \
                ([] if a.bootstrap is None else ["--bootstrap", str(a.bootstrap)])
            secs, cpu, rss, code, tail = run_measured(cmd)
            rows.append((f"analyze, {a.n:,} respondents" + (" (+figures)" if a.figures else "")
                         + ("" if a.bootstrap is None else f", --bootstrap {a.bootstrap}"),
                         secs, cpu, rss, code, 60, 2048, tail))
    print(f"load average before/after: {load0} / {os.getloadavg()[0]:.1f} (on a busy machine, wall time >> CPU time)")
    print("| command | wall s | CPU s (user+sys) | peak RSS MB | exit | target | verdict (wall) |")
    print("|---|---:|---:|---:|---:|---|---|")
    for name, secs, cpu, rss, code, t_lim, m_lim, tail in rows:
        ok = code == 0 and secs < t_lim and rss < m_lim
        print(f"| {name} | {secs:.1f} | {cpu:.1f} | {rss:.0f} | {code} | < {t_lim} s, < {m_lim / 1024:.0f} GB | "
              f"{'meets' if ok else 'MISSES'} |")
        if code:
            print(f"    stderr: {tail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
