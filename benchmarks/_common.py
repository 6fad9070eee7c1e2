"""Shared helpers for the benchmark scripts (not part of the package, not a test)."""
from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
WAVE_CSV = DATA / "icaf_wave1_clean.csv"
MODEL_FILE = DATA / "icaf_sem.lav"
MOMENTS_FILE = DATA / "icaf_implied_moments.json"
LAVAAN_SCRIPT = HERE / "lavaan_bench.R"

NA = "not available"

# The ICAF instrument's measurement model (questionnaires/icaf.yaml), first-order constructs only:
# the model the ordinal and PLS benchmarks time side by side with lavaan and seminr.
ICAF_MEASUREMENT = """BC =~ bc1 + bc2 + bc3
CE =~ ce1 + ce2 + ce3
CS =~ cs1 + cs2 + cs3
DQ =~ dq1 + dq2 + dq3 + dq4
PM =~ pm1 + pm2 + pm3
AS =~ as1 + as2 + as3
EB =~ eb1 + eb2 + eb3 + eb4
PR =~ pr1 + pr2 + pr3 + pr4
PC =~ pc1 + pc2 + pc3 + pc4
PW =~ pw1 + pw2 + pw3"""


def model_text() -> str:
    return MODEL_FILE.read_text(encoding="utf-8").strip() + "\n"


def model_items(model: str) -> list[str]:
    """Observed indicators of the measurement part (lower-case item names)."""
    items: list[str] = []
    for line in model.splitlines():
        if "=~" in line:
            for tok in line.split("=~", 1)[1].split("+"):
                name = tok.strip().split("*")[-1].strip()
                if name and name.islower() and name not in items:
                    items.append(name)
    return items


def load_wave() -> pd.DataFrame:
    return pd.read_csv(WAVE_CSV)


def complete_cases(df: pd.DataFrame, items: list[str]) -> pd.DataFrame:
    return df.dropna(subset=items).reset_index(drop=True)


def simulate_large(n: int = 100_000, seed: int = 20240603) -> pd.DataFrame:
    """Draw n rows from lavaan's FIML-implied moments of the ICAF model (seeded)."""
    mom = json.loads(MOMENTS_FILE.read_text(encoding="utf-8"))
    mean = np.asarray(mom["mean"], dtype=float)
    cov = np.asarray(mom["cov"], dtype=float)
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal(mean, cov, size=n, method="cholesky")
    return pd.DataFrame(x, columns=mom["variables"])


def time_repeated(fn, repeats: int, warmup: int = 1) -> dict:
    """Median wall time (time.perf_counter) of fn() over `repeats` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median": statistics.median(times), "times": times}


# ----------------------------------------------------------------------------- icaf_sem
def icaf_fit_function():
    """Return icaf_sem.fit, or a string saying why it is not available."""
    try:
        import icaf_sem  # noqa: F401
    except Exception as exc:  # pragma: no cover - depends on the checkout
        return f"{NA} (import failed: {exc.__class__.__name__}: {exc})"
    fit = getattr(icaf_sem, "fit", None)
    if fit is None:
        return f"{NA} (icaf_sem.fit does not exist yet)"
    return fit


def icaf_extra_kwargs(fit) -> dict:
    """Options that make icaf_sem.fit do what lavaan's sem() does and no more.

    lavaan's sem() does not compute modification indices (that is a separate
    modindices() call), so they are switched off where icaf_sem.fit has the switch.
    """
    import inspect
    try:
        params = inspect.signature(fit).parameters
    except (TypeError, ValueError):
        return {}
    extra = {}
    if "modindices" in params:
        extra["modindices"] = False
    if "progress" in params:
        extra["progress"] = False
    return extra


# ----------------------------------------------------------------------------- semopy
def semopy_model_text(model: str) -> str:
    """semopy has no `:=` definitions: drop them (labels are kept as parameter names)."""
    return "\n".join(l for l in model.splitlines() if ":=" not in l and l.strip()) + "\n"


# ----------------------------------------------------------------------------- lavaan
def lavaan_available() -> str | None:
    """None when Rscript with lavaan and jsonlite is usable, else the reason."""
    if shutil.which("Rscript") is None:
        return f"{NA} (Rscript not on PATH)"
    try:
        res = subprocess.run(
            ["Rscript", "-e", 'cat(as.character(packageVersion("lavaan")));'
             'invisible(packageVersion("jsonlite"))'],
            capture_output=True, text=True, timeout=120)
    except Exception as exc:
        return f"{NA} ({exc})"
    if res.returncode != 0:
        return f"{NA} (R packages lavaan/jsonlite missing)"
    return None


def tool_reasons(no_lavaan: bool, no_semopy: bool) -> tuple[str | None, str | None]:
    """Why lavaan / semopy cannot run in this benchmark (None when they can)."""
    lav_reason = "skipped (--no-lavaan)" if no_lavaan else lavaan_available()
    semopy_reason = "skipped (--no-semopy)" if no_semopy else None
    if semopy_reason is None:
        try:
            import semopy  # noqa: F401
        except Exception as exc:
            semopy_reason = f"{NA} (import failed: {exc})"
    return lav_reason, semopy_reason


def lavaan_version() -> str:
    res = subprocess.run(["Rscript", "-e", 'cat(as.character(packageVersion("lavaan")))'],
                         capture_output=True, text=True, timeout=120)
    return res.stdout.strip()


def run_lavaan(data: pd.DataFrame | Path, workdir: Path, timeout: int = 3600, **kw) -> dict:
    """Run lavaan_bench.R on `data` (a DataFrame is written to CSV first, untimed)."""
    if isinstance(data, pd.DataFrame):
        path = workdir / f"data_{len(data)}_{abs(hash(tuple(data.columns))) % 10**6}.csv"
        if not path.exists():
            data.to_csv(path, index=False, float_format="%.17g")
    else:
        path = Path(data)
    out = workdir / "lavaan_out.json"
    if out.exists():
        out.unlink()
    cmd = ["Rscript", str(LAVAAN_SCRIPT), f"data={path}", f"model={MODEL_FILE}",
           f"out={out}"] + [f"{k}={v}" for k, v in kw.items()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0 or not out.exists():
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or [f"exit {res.returncode}"]
        raise RuntimeError("lavaan run failed: " + tail[0])
    return json.loads(out.read_text(encoding="utf-8"))


def tempdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="icaf-bench-"))


# ----------------------------------------------------------------------------- output
def fmt_seconds(x) -> str:
    if isinstance(x, str):
        return x
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    if x < 0.1:
        return f"{x * 1000:.1f} ms"
    if x >= 120:
        return f"{x / 60:.1f} min"
    return f"{x:.2f} s"


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        out.append("| " + " | ".join(str(r.get(c, "")) for c in columns) + " |")
    return "\n".join(out)


def machine_line() -> str:
    return (f"{platform.platform()}; {os.cpu_count()} CPU(s); Python {platform.python_version()}; "
            f"numpy {np.__version__}; pandas {pd.__version__}")
