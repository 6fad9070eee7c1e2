"""Bootstrap of a PLS-SEM model: every draw of a chunk is estimated together by the batched algorithm.

Draws are made in fixed chunks of ``chunk_size(n)`` resamples (500 up to n = 20,000 rows, fewer for
larger samples so that memory stays bounded); chunk c uses the c-th child of
``numpy.random.SeedSequence(seed)``, so the draws (and every result) are the same whatever the number
of worker threads.  A draw whose correlation matrix cannot be formed (a constant indicator in the
resample) or whose mode-B block is singular is a failed draw: it is counted, reported and left out.
A draw whose algorithm stops at the iteration limit is kept (as seminr and SmartPLS keep it) and
counted as non-converged.

Statistics per parameter (SmartPLS 4 / seminr conventions): the original estimate, the mean of the
draws, se = SD of the draws (n - 1), t = est / se, p = two-sided Student t with (draws - 1) df,
and confidence intervals:

* ``percentile``: quantiles alpha/2 and 1 - alpha/2 of the draws (R's type 7);
* ``bca``: bias-corrected and accelerated (Efron 1987), z0 from the share of draws below the estimate
  and the acceleration from the leave-one-out jackknife of the same statistic;
* ``studentized``: est -/+ t(1 - alpha/2, draws - 1) x se (the t-based interval SmartPLS calls
  studentized).

Sign-change options (Tenenhaus et al. 2005): ``none``; ``individual`` (each draw's outer weight,
loading or path takes the sign of the original estimate); ``construct`` (a construct's weights are
reversed in a draw when that brings its loadings closer to the original loadings; its loadings,
weights and paths change sign with it).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from scipy import special

from .algorithm import batched_moments, moments_without
from .assess import htmt_batched, htmt_pairs, indirect_routes, specific_indirect_batched
from .algorithm import total_effects
from .estimate import estimate

CHUNK = 500


def chunk_size(n):
    """Resamples per chunk: depends on the sample size only (never on the number of workers)."""
    return CHUNK if n <= 20_000 else max(10, int(10_000_000 // n))
SIGN_CHANGES = ("none", "individual", "construct")
CI_METHODS = ("percentile", "bca", "studentized")


def statistic_names(est):
    """(kind, lhs, op, rhs) of every bootstrapped statistic, in the order :func:`statistics` returns them."""
    lay = est.final.layout
    names = [("path", dv, "~", iv) for dv, iv in est.spec.paths]
    names += [("loading", r[0], "=~", r[1]) for r in est.rows]
    names += [("weight", r[0], "<-", r[1]) for r in est.rows]
    for j, dv in enumerate(lay.constructs):
        for i, iv in enumerate(lay.constructs):
            if i != j and _reaches(lay, i, j):
                names.append(("total", dv, "~total", iv))
    names += [("indirect", lay.constructs[r[-1]], "~ind", " -> ".join(lay.constructs[x] for x in r))
              for r in indirect_routes(est)]
    names += [("r2", c, "r2", "") for k, c in enumerate(lay.constructs) if len(lay.pred[k])]
    names += [("htmt", a, "htmt", c) for a, c, _, _ in htmt_pairs(est)]
    return names


def _reaches(lay, i, j):
    seen, stack = set(), [j]
    while stack:
        x = stack.pop()
        for p in lay.pred[x]:
            p = int(p)
            if p == i:
                return True
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return False


def statistics(est, ref=None, sign_change="none"):
    """(B, m) matrix of the statistics of :func:`statistic_names` for every sample of ``est``.
    ``ref`` (the full-sample Estimate) is needed for the sign-change options."""
    lay = est.final.layout
    cidx = {c: k for k, c in enumerate(lay.constructs)}
    beta = est.beta.copy()
    W = [st.W.copy() for st in est.stages]
    L = [st.L.copy() for st in est.stages]
    if sign_change == "construct" and ref is not None:
        for s, st in enumerate(est.stages):
            for k, bl in enumerate(st.layout.blocks):
                l0 = ref.stages[s].L[0, bl, k]
                lb = L[s][:, bl, k]
                flip = np.abs(-lb - l0).sum(axis=1) < np.abs(lb - l0).sum(axis=1)
                sgn = np.where(flip, -1.0, 1.0)
                W[s][:, bl, k] *= sgn[:, None]
                L[s][:, bl, k] *= sgn[:, None]
                if s == len(est.stages) - 1:
                    beta[:, k, :] *= sgn[:, None]
                    beta[:, :, k] *= sgn[:, None]
                else:                 # a reversed dimension score is a reversed indicator of its HOC
                    name = st.layout.constructs[k]
                    cols2 = est.stages[-1].layout.columns
                    if name in cols2:
                        col = cols2.index(name)
                        W[-1][:, col, :] *= sgn[:, None]
                        L[-1][:, col, :] *= sgn[:, None]
    cols = [beta[:, cidx[iv], cidx[dv]] for dv, iv in est.spec.paths]
    cols += [L[r[2]][:, r[3], r[4]] for r in est.rows]
    cols += [W[r[2]][:, r[3], r[4]] for r in est.rows]
    if sign_change == "individual" and ref is not None:
        ref_cols = [ref.beta[0, cidx[iv], cidx[dv]] for dv, iv in est.spec.paths]
        ref_cols += [ref.stages[r[2]].L[0, r[3], r[4]] for r in est.rows]
        ref_cols += [ref.stages[r[2]].W[0, r[3], r[4]] for r in est.rows]
        cols = [np.where(rc < 0, -1.0, 1.0) * np.abs(c) for c, rc in zip(cols, ref_cols)]
        # effects follow the sign-adjusted paths
        beta = np.zeros_like(beta)
        for (dv, iv), c in zip(est.spec.paths, cols):
            beta[:, cidx[iv], cidx[dv]] = c
    T = total_effects(beta)
    for j in range(lay.K):
        for i in range(lay.K):
            if i != j and _reaches(lay, i, j):
                cols.append(T[:, i, j])
    routes = indirect_routes(est)
    if routes:
        tmp = est.beta
        est.beta = beta
        sp = specific_indirect_batched(est, routes)
        est.beta = tmp
        cols += list(sp.T)
    cols += [est.r2[:, k] for k in range(lay.K) if len(lay.pred[k])]
    h = htmt_batched(est)
    cols += list(h.T)
    return np.column_stack(cols)


def _resample_counts(rng, size, n):
    idx = rng.integers(0, n, size=(size, n))
    flat = (np.arange(size)[:, None] * n + idx).ravel()
    return np.bincount(flat, minlength=size * n).reshape(size, n).astype(float)


def run_bootstrap(X, spec, items, ref, *, draws=10000, seed=None, scheme="path", consistent=False,
                  sign_change="none", n_jobs=1, max_iter=300, tol=1e-7, alpha=0.05, progress=None):
    """Bootstrap ``draws`` resamples; returns a dict with the draw matrix, counts and the summary table."""
    n = X.shape[0]
    chunk = chunk_size(n)
    nchunks = -(-draws // chunk)
    seqs = np.random.SeedSequence(seed).spawn(nchunks)

    def one(c):
        size = min(chunk, draws - c * chunk)
        C = _resample_counts(np.random.default_rng(seqs[c]), size, n)
        _, _, S = batched_moments(X, C)
        est = estimate(S, spec, items, scheme=scheme, consistent=consistent, max_iter=max_iter, tol=tol)
        vals = statistics(est, ref, sign_change)
        good = est.ok & np.isfinite(vals).all(axis=1)
        return vals, good, (~est.converged & good).sum()

    if n_jobs and n_jobs > 1:
        with ThreadPoolExecutor(max_workers=n_jobs) as ex:
            parts = list(ex.map(one, range(nchunks)))
    else:
        parts = [one(c) for c in range(nchunks)]
    vals = np.concatenate([p[0] for p in parts])
    good = np.concatenate([p[1] for p in parts])
    nonconv = int(sum(p[2] for p in parts))
    return {"draws": vals[good], "failed": int((~good).sum()), "nonconverged": nonconv, "requested": draws}


def jackknife(X, spec, items, ref, *, scheme="path", consistent=False, max_iter=300, tol=1e-7):
    n = X.shape[0]
    out = []
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        _, _, S = moments_without(X, [np.array([i]) for i in range(start, stop)])
        est = estimate(S, spec, items, scheme=scheme, consistent=consistent, max_iter=max_iter, tol=tol)
        out.append(statistics(est, ref, "none"))
    return np.concatenate(out)


def summarize(names, original, draws, jack=None, alpha=0.05, ci="percentile"):
    """Tidy table: one row per statistic with est, boot_mean, se, t, pvalue and the CI bounds."""
    B = draws.shape[0]
    se = draws.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = original / se
    p = 2 * special.stdtr(B - 1, -np.abs(t))
    lo, hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2], axis=0)
    tq = special.stdtrit(B - 1, 1 - alpha / 2)
    df = pd.DataFrame(names, columns=["kind", "lhs", "op", "rhs"])
    df["est"], df["boot_mean"], df["se"], df["t"], df["pvalue"] = original, draws.mean(axis=0), se, t, p
    df["perc_lower"], df["perc_upper"] = lo, hi
    df["stud_lower"], df["stud_upper"] = original - tq * se, original + tq * se
    if jack is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            prop = (draws < original).mean(axis=0) + 0.5 * (draws == original).mean(axis=0)
            z0 = special.ndtri(prop)
            d = jack.mean(axis=0) - jack
            a = (d ** 3).sum(axis=0) / (6 * ((d ** 2).sum(axis=0)) ** 1.5)
            za = special.ndtri([alpha / 2, 1 - alpha / 2])
            bl, bh = [], []
            for q, out in ((za[0], bl), (za[1], bh)):
                adj = special.ndtr(z0 + (z0 + q) / (1 - a * (z0 + q)))
                out.append(adj)
            bl, bh = bl[0], bh[0]
            df["bca_lower"] = [np.quantile(draws[:, k], bl[k]) if np.isfinite(bl[k]) else np.nan
                               for k in range(draws.shape[1])]
            df["bca_upper"] = [np.quantile(draws[:, k], bh[k]) if np.isfinite(bh[k]) else np.nan
                               for k in range(draws.shape[1])]
    lower = {"percentile": "perc_lower", "studentized": "stud_lower", "bca": "bca_lower"}[ci]
    df["ci_lower"] = df[lower]
    df["ci_upper"] = df[lower.replace("lower", "upper")]
    return df
