#!/usr/bin/env python3
"""Issue 10 part B benchmark: the ML-family estimators, se= and test= options, compare() and
factor scores on the ICAF model, side by side with lavaan in one run.

Model: the ICAF second-order SEM (``data/icaf_sem.lav``) on the 204 complete cases of the
reference wave (MLM/MLMV/MLMVS need complete data).  Each icaf_sem timing is fit() plus the
first access of ``fit_measures`` and ``parameters``; lavaan is timed inside R
(``lavaan_bench_parity2.R``) as sem() + fitMeasures() + parameterEstimates(), so R start-up
and reading the CSV are excluded.  Medians of a few repeats after a warm-up; the 100-draw
resampling rows are timed once.  The machine is shared: treat the ratios as rough.

    python benchmarks/bench_parity2.py [--reps 3] [--no-lavaan]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _common as C  # noqa: E402
import numpy as np  # noqa: E402

CONFIGS = {
    "MLM": dict(estimator="MLM"), "MLMV": dict(estimator="MLMV"), "MLMVS": dict(estimator="MLMVS"),
    "MLF": dict(estimator="MLF"),
    "se_robust_huber_white": dict(se="robust.huber.white"), "se_first_order": dict(se="first.order"),
    "test_yuan_bentler": dict(test="yuan.bentler"), "test_yuan_bentler_mplus": dict(test="yuan.bentler.mplus"),
    "test_mean_var_adjusted": dict(test="mean.var.adjusted"), "test_scaled_shifted": dict(test="scaled.shifted"),
    "test_bollen_stine_100": dict(test="bollen.stine", bootstrap=100, seed=1),
    "se_bootstrap_100": dict(se="bootstrap", bootstrap=100, seed=1),
    "cluster_ML": dict(cluster="clus"), "sampling_weights_ML": dict(sampling_weights="wt"),
}
CONSTRAINT = "c_cr == b_eb_cr*b_pw_eb\n"       # direct effect equal to one indirect effect


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-lavaan", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated option configurations (e.g. "
                    "se_bootstrap_100,sampling_weights_ML); the other rows are skipped on both sides")
    a = ap.parse_args(argv)
    only = [x for x in a.only.split(",") if x]
    import icaf_sem
    model = C.model_text()
    # nested: the direct effect of CR on PW fixed to 0 (and the total effect that uses it dropped)
    model2 = "\n".join(ln for ln in model.replace("PW ~ c_cr*CR", "PW ~ 0*CR").splitlines()
                        if "c_cr" not in ln) + "\n"
    data = C.complete_cases(C.load_wave(), C.model_items(model))
    # synthetic survey design columns (both sides read them from the same CSV): departments of
    # 5 consecutive respondents, and weights 1, 2, 3
    data["clus"] = np.arange(len(data)) // 5
    data["wt"] = 1.0 + np.arange(len(data)) % 3
    mine = {}
    warnings.simplefilter("ignore")

    def run(kw, m=model):
        r = icaf_sem.fit(m, data, modindices=False, **kw)
        r.fit_measures, r.parameters
        return r
    for name, kw in CONFIGS.items():
        if only and name not in only:
            continue
        reps = 1 if ("100" in name and not only) else a.reps
        mine[name] = C.time_repeated(lambda: run(kw), reps)["median"]
    if only:
        return _report(a, model, model2, data, mine, only)
    mine["constraint_nonlinear"] = C.time_repeated(lambda: run({}, model + CONSTRAINT), a.reps)["median"]
    mine["compare_lavTestLRT_MLM"] = C.time_repeated(
        lambda: icaf_sem.compare(run(dict(estimator="MLM")), run(dict(estimator="MLM"), model2)), a.reps)["median"]
    mine["compare_lavTestLRT_MLMV"] = C.time_repeated(
        lambda: icaf_sem.compare(run(dict(estimator="MLMV")), run(dict(estimator="MLMV"), model2)), a.reps)["median"]

    def predict():
        r = icaf_sem.fit(model, data, modindices=False)
        r.predict(), r.predict("Bartlett")
    mine["fit_and_lavPredict"] = C.time_repeated(predict, a.reps)["median"]
    fitted = icaf_sem.fit(model, data, modindices=False)
    mine["lavPredict_only"] = C.time_repeated(lambda: (fitted.predict(), fitted.predict("Bartlett")),
                                              max(a.reps, 5))["median"]
    f1, f2 = run(dict(estimator="MLMV")), run(dict(estimator="MLMV"), model2)
    mine["lavTestLRT_only_MLMV"] = C.time_repeated(lambda: icaf_sem.compare(f1, f2), max(a.reps, 5))["median"]
    return _report(a, model, model2, data, mine, None)


def _report(a, model, model2, data, mine, only):
    lav = {}
    if not a.no_lavaan:
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp)
            (t / "m.lav").write_text(model)
            (t / "m2.lav").write_text(model2)
            data.to_csv(t / "d.csv", index=False)
            proc = subprocess.run(["Rscript", str(C.HERE / "lavaan_bench_parity2.R"), f"data={t / 'd.csv'}",
                            f"model={t / 'm.lav'}", f"model2={t / 'm2.lav'}", f"reps={a.reps}",
                            f"out={t / 'out.json'}", f"only={','.join(only or [])}"], check=False, capture_output=True, text=True)
            if not (t / "out.json").exists():
                print("lavaan run failed:", proc.stderr[-2000:])
                return 1
            lav = json.loads((t / "out.json").read_text())
    print(f"ICAF model, {len(data)} complete cases; medians in seconds (shared 2-core machine: noisy)")
    print(f"{'measure':28s} {'icaf_sem':>9s} {'lavaan':>9s} {'ratio':>7s}")
    for k, v in mine.items():
        lv = lav.get(k)
        ratio = f"{lv / v:6.0f}x" if lv else "   n/a"
        print(f"{k:28s} {v:9.3f} {lv if lv else float('nan'):9.3f} {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
