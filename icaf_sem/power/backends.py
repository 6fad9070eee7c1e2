"""Where the chunks of a Monte Carlo study run: this process, local processes, or Dask.

Every chunk carries its own seed (``SeedSequence(seed, spawn_key=(n, chunk))``, i.e. the child
``chunk`` of the child ``n`` of ``SeedSequence(seed)`` as ``spawn`` numbers them) and is computed
with BLAS pinned to one thread, so its numbers are the same on any worker: the study does not
depend on the number of workers or on the backend.

* ``scheduler=None`` / ``"processes"``: a pool of ``workers`` local processes (default: all cores;
  ``workers=1`` runs in this process);
* ``scheduler="dask"``: a ``dask.distributed.LocalCluster`` with ``workers`` single-threaded
  worker processes;
* a ``dask.distributed.Client`` or a scheduler address (``"tcp://host:8786"``): that cluster
  (its workers need icaf_sem installed).  BLAS thread counts are process-wide, so on workers
  that are threads of one process (``LocalCluster(processes=False)``) the BLAS limit cannot be
  set per chunk and the numbers agree with the other backends to rounding (about 1e-15), not
  to the bit; worker processes give the same bits.

With ``results_file`` each completed chunk is appended to a CSV (one write per chunk, flushed);
a rerun of the same study skips the chunks already there, so an interrupted study resumes.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, ModelSpecificationError, OutputError

__all__ = ["run_chunks"]

_SPEC = None


def _init_worker(spec):
    global _SPEC
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    _SPEC = spec


def _local_chunk(task):
    from .montecarlo import run_chunk
    return run_chunk(_SPEC, task)


def _dask_chunk(spec, task):
    from .montecarlo import run_chunk
    return run_chunk(spec, task)


# --------------------------------------------------------------------------- results file
def _columns(names):
    cols = ["study", "chunk", "n", "rep", "converged", "improper"]
    for k in ("est", "se", "ci_lower", "ci_upper"):
        cols += [f"{k}:{nm}" for nm in names]
    return cols


def _chunk_frame(res, study, names):
    B = len(res["rep"])
    d = {"study": [study] * B, "chunk": [res["chunk"]] * B, "n": np.asarray(res["n"], int),
         "rep": np.asarray(res["rep"], int), "converged": np.asarray(res["converged"], bool).astype(int),
         "improper": np.asarray(res["improper"], bool).astype(int)}
    for k in ("est", "se", "ci_lower", "ci_upper"):
        a = np.asarray(res[k], float)
        for j, nm in enumerate(names):
            d[f"{k}:{nm}"] = a[:, j]
    return pd.DataFrame(d, columns=_columns(names))


def _frame_to_result(df, names):
    out = {"chunk": str(df["chunk"].iloc[0]), "n": df["n"].to_numpy(int), "rep": df["rep"].to_numpy(int),
           "converged": df["converged"].to_numpy(int).astype(bool),
           "improper": df["improper"].to_numpy(int).astype(bool)}
    for k in ("est", "se", "ci_lower", "ci_upper"):
        out[k] = np.column_stack([df[f"{k}:{nm}"].to_numpy(float) for nm in names])
    return out


def _load_done(path: Path, study, names, tasks):
    """Completed chunks of this study in the results file (a torn last chunk is dropped)."""
    if not path.exists() or path.stat().st_size == 0:
        return {}
    import io
    try:
        text = path.read_text(encoding="utf-8")
        torn = not text.endswith("\n")
        if torn:                        # the last line was being written when the study stopped
            text = text[: text.rfind("\n") + 1]
        df = pd.read_csv(io.StringIO(text), float_precision="round_trip", dtype={"study": str, "chunk": str},
                         on_bad_lines="skip")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        raise DataError(f"results_file {str(path)!r} cannot be read ({exc}); delete it or choose another file") \
            from None
    if list(df.columns) != _columns(names):
        raise DataError(f"results_file {str(path)!r} holds another study (different columns); delete it or choose "
                        "another file")
    other = set(df["study"].dropna().unique()) - {study}
    if other:
        raise DataError(f"results_file {str(path)!r} holds results of another study ({sorted(other)[0]}, this one is "
                        f"{study}: model, population, seed or settings differ); delete it or choose another file")
    size = {t["chunk"]: t["rep_hi"] - t["rep_lo"] for t in tasks}
    done = {}
    for ch, g in df.groupby("chunk", sort=False):
        if ch in size and len(g) == size[ch] and g.drop(columns=["study", "chunk"]).notna()[["n", "rep",
                                                                                            "converged", "improper"]].all().all():
            done[ch] = _frame_to_result(g.sort_values("rep"), names)
    if torn or sum(len(v["rep"]) for v in done.values()) != len(df):
        # rewrite without torn or foreign rows, whole or not at all
        from .._atomic import atomic_write
        keep = pd.concat([_chunk_frame(v, study, names) for v in done.values()], ignore_index=True) if done else \
            pd.DataFrame(columns=_columns(names))
        atomic_write(path, lambda tmp: keep.to_csv(tmp, index=False))
    return done


class _Appender:
    def __init__(self, path, study, names):
        self.path, self.study, self.names = Path(path), study, names
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(self.path, "a", encoding="utf-8", newline="")
        except OSError as exc:
            raise OutputError(f"cannot write results_file {str(path)!r}: {exc.strerror}; choose a writable path") \
                from None
        self.header = self.path.stat().st_size == 0

    def write(self, res):
        text = _chunk_frame(res, self.study, self.names).to_csv(index=False, header=self.header)
        self.header = False
        self.fh.write(text)
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self):
        self.fh.close()


# --------------------------------------------------------------------------- running
def _dask_client(scheduler, workers):
    try:
        import dask.distributed as dd
    except ImportError:
        raise ModelSpecificationError("scheduler='dask' needs Dask: pip install 'icaf_sem[dask]'") from None
    if isinstance(scheduler, dd.Client):
        return scheduler, None
    if scheduler == "dask":
        import logging
        import dask
        with dask.config.set({"distributed.worker.profile.enabled": False}):   # the sampling profiler costs CPU
            cluster = dd.LocalCluster(n_workers=int(workers or os.cpu_count() or 1), threads_per_worker=1,
                                      processes=True, dashboard_address=":0", silence_logs=logging.ERROR,
                                      env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                                           "MKL_NUM_THREADS": "1"})
        return dd.Client(cluster), cluster
    try:
        return dd.Client(str(scheduler), timeout="20s"), None
    except (OSError, TimeoutError) as exc:
        raise DataError(f"scheduler={scheduler!r}: cannot reach the Dask scheduler ({exc}); check the address "
                        "(e.g. tcp://host:8786) or use scheduler='dask' for a local cluster") from None


def run_chunks(spec, tasks, *, workers=None, scheduler=None, results_file=None, progress=False, target_names=()):
    """Run every task (a chunk of replications) and return the list of chunk results and run facts."""
    names = list(target_names)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer))
                                or workers < 1):
        raise DataError(f"workers={workers!r} must be a positive whole number of processes")
    done = {}
    app = None
    if results_file is not None:
        done = _load_done(Path(results_file), spec["key"], names, tasks)
        app = _Appender(results_file, spec["key"], names)
    todo = [t for t in tasks if t["chunk"] not in done]
    results = list(done.values())
    total = sum(t["rep_hi"] - t["rep_lo"] for t in tasks)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=total, initial=total - sum(t["rep_hi"] - t["rep_lo"] for t in todo), unit="rep",
                   desc="power simulation")

    def finish(res):
        results.append(res)
        if app is not None:
            app.write(res)
        if bar is not None:
            bar.update(len(res["rep"]))

    backend = "processes"
    nworkers = int(workers or os.cpu_count() or 1)
    t0 = time.perf_counter()
    try:
        if scheduler not in (None, "processes"):
            backend = "dask"
            client, cluster = _dask_client(scheduler, workers)
            try:
                nworkers = len(client.scheduler_info().get("workers", {})) or nworkers
                from dask.distributed import as_completed
                spec_f = client.scatter(spec, broadcast=True)
                futs = [client.submit(_dask_chunk, spec_f, t, pure=False) for t in todo]
                for fut in as_completed(futs):
                    finish(fut.result())
            finally:
                if cluster is not None:
                    client.close()
                    cluster.close()
        elif nworkers == 1 or len(todo) <= 1:
            backend = "this process"
            from .montecarlo import run_chunk
            for t in todo:
                finish(run_chunk(spec, t))
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed
            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
            with ProcessPoolExecutor(max_workers=nworkers, mp_context=ctx, initializer=_init_worker,
                                     initargs=(spec,)) as ex:
                futs = [ex.submit(_local_chunk, t) for t in todo]
                for fut in as_completed(futs):
                    finish(fut.result())
    finally:
        if bar is not None:
            bar.close()
        if app is not None:
            app.close()
    return results, {"backend": backend, "workers": nworkers, "chunks": len(tasks), "chunks_resumed": len(done),
                     "compute_seconds": time.perf_counter() - t0}
