"""Benchmark: stochastic replicator paths of the tripartite game (issue 17).

Target: 10,000 paths x 1,000 steps of the three-player game in under 2 s.

Side by side in one run:
* icaf_sem.game.simulate (the written-out scheme, all paths as one array) for every noise/scheme;
* the generic vectorised integrator icaf_sem.game.sde_paths on the same problem;
* the per-path loop most papers' scripts use (timed on 50 paths and scaled to 10,000).
No R package for stochastic evolutionary games is installed here (r-cran-sde is not in Debian), so
there is no R column.  Timings are the best of --repeats runs; the machine is shared, expect noise.

    python benchmarks/bench_game.py [--paths 10000] [--steps 1000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from icaf_sem.game import load_game, sde_paths, simulate  # noqa: E402


def best(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def loop_paths(game, paths, steps, sigma, T, seed):
    """One path at a time, one step at a time (how a paper's script usually does it)."""
    du = game.delta_u_function()
    rng = np.random.default_rng(seed)
    dt = T / steps
    sq = math.sqrt(dt)
    out = np.empty((paths, 3))
    for p in range(paths):
        x = np.array([0.5, 0.5, 0.5])
        for _ in range(steps):
            w = rng.standard_normal(3) * sq
            g = sigma * x * (1 - x)
            x = x + x * (1 - x) * du(x) * dt + g * w + 0.5 * g * sigma * (1 - 2 * x) * (w * w - dt)
        out[p] = x
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=1_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--loop-paths", type=int, default=50)
    a = ap.parse_args()
    game = load_game("tripartite_game")
    T, sigma = 10.0, 1.0
    rows = []
    for noise, scheme in (("x(1-x)", "milstein"), ("x(1-x)", "euler"), ("x(1-x)", "logit"), ("x", "milstein")):
        simulate(game, sigma=sigma, T=T, steps=10, paths=10, noise=noise, scheme=scheme, seed=1)  # warm up
        t = best(lambda: simulate(game, sigma=sigma, T=T, steps=a.steps, paths=a.paths, noise=noise,
                                  scheme=scheme, seed=1), a.repeats)
        rows.append((f"simulate noise={noise} scheme={scheme}", t))
    du = game.delta_u_rows()
    t = best(lambda: sde_paths(lambda X: X * (1 - X) * du(X), lambda X: sigma * X * (1 - X), [0.5, 0.5, 0.5],
                               T=T, steps=a.steps, paths=a.paths, scheme="milstein",
                               diffusion_dx=lambda X: sigma * (1 - 2 * X), seed=1, domain=(0.0, 1.0)), a.repeats)
    rows.append(("generic sde_paths, milstein, g = x(1-x)", t))
    t = best(lambda: loop_paths(game, a.loop_paths, a.steps, sigma, T, 1), 1) * a.paths / a.loop_paths
    rows.append((f"per-path Python loop, milstein (timed on {a.loop_paths} paths, scaled)", t))
    print(f"\n{a.paths:,} paths x {a.steps:,} steps x 3 players, sigma = {sigma}, T = {T}; best of {a.repeats}\n")
    print("| implementation | seconds | vs simulate milstein |")
    print("|---|---|---|")
    ref = rows[0][1]
    for name, t in rows:
        print(f"| {name} | {t:.2f} | {t / ref:.1f}x |")
    print(f"\ntarget < 2 s: {'met' if ref < 2 else 'NOT met'} ({ref:.2f} s)")


if __name__ == "__main__":
    main()
