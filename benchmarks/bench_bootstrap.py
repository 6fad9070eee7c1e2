#!/usr/bin/env python3
"""Bootstrap benchmark (issue 5): 1,000 bootstrap draws of the ICAF SEM, side by side.

* complete cases (204 rows), ML: ``icaf_sem.fit(model, data, estimator="ML",
  missing="listwise", bootstrap=1000, seed=1)``
* FIML (all 396 rows): ``icaf_sem.fit(model, data, estimator="ML", missing="ml",
  bootstrap=1000, seed=1)``

icaf_sem is timed for the full 1,000 draws (``time.perf_counter``; one plain fit first as
a warm-up; median of ``--repeats`` runs).

lavaan is NOT run for 1,000 draws (about 40 s complete-case and over half an hour with
FIML). Instead ``bootstrapLavaan(fit, R = k, FUN = "coef")`` is timed inside R for a small
number k of draws (``--lavaan-draws``), and the seconds per draw are multiplied by 1,000.
The table marks those figures "extrapolated".

semopy has no bootstrap and no FIML; for complete cases a plain Python loop (resample
rows with numpy, refit a new ``semopy.Model``) is timed for ``--semopy-draws`` draws and
extrapolated the same way.

Run from the repository root::

    python benchmarks/bench_bootstrap.py
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

DRAWS = 1000
MEASURES = [
    # key, label, dataset, missing, target
    ("complete", "1,000 draws on complete cases", "complete", "listwise", "≤ 2 s (≥ 20× lavaan)"),
    ("fiml", "1,000 draws with FIML", "all", "ml", "≤ 60 s"),
]


def datasets_and_model():
    model = C.model_text()
    items = C.model_items(model)
    wave = C.load_wave()
    return model, items, {"all": wave[items].reset_index(drop=True),
                          "complete": C.complete_cases(wave, items)[items]}


def child(key: str, repeats: int) -> int:
    """Time icaf_sem's 1,000 draws for one measure; prints `CHILD {json}`."""
    model, _, datasets = datasets_and_model()
    _, _, dsname, miss, _ = next(m for m in MEASURES if m[0] == key)
    data = datasets[dsname]
    fit = C.icaf_fit_function()
    extra = C.icaf_extra_kwargs(fit)
    fit(model, data, estimator="ML", missing=miss, **extra)  # warm-up (plain fit)
    r = C.time_repeated(
        lambda: fit(model, data, estimator="ML", missing=miss, bootstrap=DRAWS, seed=1, **extra),
        repeats, warmup=0)
    print("CHILD " + json.dumps(r), flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lavaan-draws-complete", type=int, default=50,
                    help="draws lavaan actually runs on complete cases (default 50)")
    ap.add_argument("--lavaan-draws-fiml", type=int, default=5,
                    help="draws lavaan actually runs with FIML (default 5)")
    ap.add_argument("--semopy-draws", type=int, default=20, help="draws semopy actually runs (default 20)")
    ap.add_argument("--repeats", type=int, default=1, help="timed icaf_sem runs of 1,000 draws (median)")
    ap.add_argument("--only", action="append", choices=[m[0] for m in MEASURES])
    ap.add_argument("--no-lavaan", action="store_true")
    ap.add_argument("--no-semopy", action="store_true")
    ap.add_argument("--icaf-timeout", type=int, default=900,
                    help="seconds allowed for the icaf_sem runs of one measure (default 900)")
    ap.add_argument("--child", choices=[m[0] for m in MEASURES], help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        return child(a.child, a.repeats)

    model, items, datasets = datasets_and_model()
    measures = [m for m in MEASURES if not a.only or m[0] in a.only]

    icaf_fit = C.icaf_fit_function()
    lav_reason, semopy_reason = C.tool_reasons(a.no_lavaan, a.no_semopy)
    if semopy_reason is None:
        import semopy

    print("# bench_bootstrap")
    print(C.machine_line())
    print(f"model: {C.MODEL_FILE.name}; rows: {len(datasets['all'])} "
          f"(complete cases {len(datasets['complete'])}); draws: {DRAWS}")
    if lav_reason is None:
        print(f"lavaan {C.lavaan_version()}: bootstrapLavaan(fit, R = k, FUN = 'coef') timed inside R, "
              f"seconds per draw x {DRAWS} (extrapolated)")
    print()

    work = C.tempdir()
    rows = []
    for key, label, dsname, miss, target in measures:
        data = datasets[dsname]
        row = {"measure": label, "target": target}

        # lavaan: k draws, extrapolated
        if lav_reason is not None:
            row["lavaan"] = lav_reason
        else:
            k = a.lavaan_draws_complete if key == "complete" else a.lavaan_draws_fiml
            try:
                r = C.run_lavaan(data, work, mode="boot", estimator="ML", missing=miss, draws=k)
                per = r["per_draw"]
                row["lavaan"] = (f"{C.fmt_seconds(per)}/draw → ≈ {C.fmt_seconds(per * DRAWS)} "
                                 f"(extrapolated from {k} draws)")
                print(f"[{key}] lavaan: {r['total']:.3f} s for {k} draws = {per:.4f} s/draw "
                      f"(N={r['ntotal']}, failed draws {r['failed']})", flush=True)
            except Exception as exc:
                row["lavaan"] = f"error ({exc})"

        # semopy: complete cases only, plain resampling loop, extrapolated
        if key != "complete":
            row["semopy"] = "not supported"
        elif semopy_reason is not None:
            row["semopy"] = semopy_reason
        else:
            desc = C.semopy_model_text(model)
            rng = np.random.default_rng(1)
            n = len(data)
            arr = data.to_numpy()
            semopy.Model(desc).fit(data)  # warm-up
            t0 = time.perf_counter()
            for _ in range(a.semopy_draws):
                idx = rng.integers(0, n, size=n)
                d = data.__class__(arr[idx], columns=data.columns)
                semopy.Model(desc).fit(d)
            per = (time.perf_counter() - t0) / a.semopy_draws
            row["semopy"] = (f"{C.fmt_seconds(per)}/draw → ≈ {C.fmt_seconds(per * DRAWS)} "
                             f"(extrapolated from {a.semopy_draws} draws)")
            print(f"[{key}] semopy: {per:.4f} s/draw", flush=True)

        # icaf_sem: the real 1,000 draws, in a child process so that --icaf-timeout can stop it
        if isinstance(icaf_fit, str):
            row["icaf_sem"] = icaf_fit
        else:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", key, "--repeats", str(a.repeats)]
            try:
                res = subprocess.run(cmd, capture_output=True, text=True, timeout=a.icaf_timeout)
                lines = [l for l in res.stdout.splitlines() if l.startswith("CHILD ")]
                if res.returncode != 0 or not lines:
                    why = (res.stderr or res.stdout).strip().splitlines()[-1:] or [f"exit {res.returncode}"]
                    row["icaf_sem"] = f"error ({why[0]})"
                else:
                    med = json.loads(lines[-1][6:])["median"]
                    row["icaf_sem"] = f"{C.fmt_seconds(med)} ({C.fmt_seconds(med / DRAWS)}/draw)"
                    print(f"[{key}] icaf_sem: {med:.3f} s for {DRAWS} draws", flush=True)
            except subprocess.TimeoutExpired:
                row["icaf_sem"] = f"> {a.icaf_timeout} s (stopped by --icaf-timeout)"
        rows.append(row)

    print()
    print(C.markdown_table(rows, ["measure", "lavaan", "semopy", "icaf_sem", "target"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
