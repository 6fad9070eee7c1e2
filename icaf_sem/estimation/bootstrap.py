"""Nonparametric bootstrap, batched over resamples.

A resample is a vector of case weights (how often each row was drawn, n draws
with replacement: multinomial counts) over the rows of each group, so its sufficient statistics are computed with one matrix product
for many draws at once: moments for complete data, and the per-pattern counts,
means and covariances for FIML (the patterns themselves never change).  All
draws of a chunk are then optimised together by a vectorised quasi-Newton
method (BFGS), warm-started at the full-sample estimates with the inverse of
the full-sample information as the initial inverse Hessian.  Chunks are spread
over the available cores.  Draws that do not converge are counted and
dropped; non-admissible solutions are kept, as lavaan keeps them.

Confidence intervals follow lavaan's ``parameterEstimates(boot.ci.type = ...)``:
``"perc"`` and ``"bca.simple"``, with the interpolation of the boot package.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from .._lazy import lazy

special = lazy("scipy.special")

from .objectives import FimlResampleStats, complete_moments_loss, fiml_loss_cases

PARALLEL_MIN_DRAWS = 500         # fewer draws run in this process
CHUNK = 64
MIN_DRAWS = 100          # fewer successful draws: no bootstrap interval is reported


def enough_draws(n_ok: int, level: float = 0.95) -> bool:
    """At least ``MIN_DRAWS`` draws and enough for the tails of a ``level`` interval
    (``(n_ok + 1) * (1 - level) / 2 >= 1``: the outermost order statistic must exist)."""
    return n_ok >= MIN_DRAWS and (n_ok + 1) * (1 - level) / 2 >= 1


# ----------------------------------------------------------------------------- resample statistics
def complete_stats(X, W):
    """Weighted means (B,p) and biased covariances (B,p,p) for weights W (B,n)."""
    n_b = W.sum(1)
    mean = (W @ X) / n_b[:, None]
    p = X.shape[1]
    XX = (X[:, :, None] * X[:, None, :]).reshape(len(X), p * p)
    cov = (W @ XX).reshape(-1, p, p) / n_b[:, None, None] - mean[:, :, None] * mean[:, None, :]
    return n_b, mean, cov


def pattern_stats(patterns, W):
    """Per-pattern counts (B,G), means (B,G,p) and covariances (B,G,p,p) for weights W (B,n)."""
    B = W.shape[0]
    G, p = patterns.G, patterns.p
    n_g = np.zeros((B, G))
    means = np.zeros((B, G, p))
    covs = np.zeros((B, G, p, p))
    Xz = patterns.Xz
    for g in range(G):
        rows = np.where(patterns.case_pattern == g)[0]
        Wg = W[:, rows]
        ng = Wg.sum(1)
        n_g[:, g] = ng
        safe = np.where(ng > 0, ng, 1.0)
        Xg = Xz[rows]
        m = (Wg @ Xg) / safe[:, None]
        XX = (Xg[:, :, None] * Xg[:, None, :]).reshape(len(rows), p * p)
        c = (Wg @ XX).reshape(B, p, p) / safe[:, None, None] - m[:, :, None] * m[:, None, :]
        c *= patterns.masks[g][:, None] * patterns.masks[g][None, :]
        means[:, g] = m * patterns.masks[g]
        covs[:, g] = np.where(ng[:, None, None] > 0, c, 0.0)
    return n_g, means, covs


def _cases_each(sigma, mu, patterns, W):
    B, p = sigma.shape[0], sigma.shape[-1]
    f = np.full(B, np.inf)
    gs = np.zeros((B, p, p))
    gm = np.zeros((B, p))
    for b in range(B):
        try:
            fb, gsb, gmb = fiml_loss_cases(sigma[b:b + 1], mu[b:b + 1], patterns, W[b:b + 1], True)
        except np.linalg.LinAlgError:
            continue
        f[b], gs[b], gm[b] = fb[0], gsb[0], gmb[0]
    return f, gs, gm


class _BatchObjective:
    """-logL/N of each draw at its own parameter vector: theta (B, npar)."""

    def __init__(self, rams, group_stats, missing_flags, patterns):
        self.rams = rams
        self.stats = group_stats          # per group: ("complete", N(B,), mean, cov) or ("fiml", (n_g, means, covs))
        self.missing = missing_flags
        self.patterns = patterns

    def value_and_grad(self, theta, sel):
        B = theta.shape[0]
        f = np.zeros(B)
        grad = np.zeros_like(theta)
        ntot = np.zeros(B)
        for g, ram in enumerate(self.rams):
            sigma, mu = ram.implied(theta, keep=True)
            st = self.stats[g]
            if self.missing[g]:
                sub = st if len(sel) == len(st.N) and np.array_equal(sel, np.arange(len(st.N))) else st.subset(sel)
                try:
                    fg, gs, gm = sub.loss(sigma, mu, True)
                except np.linalg.LinAlgError:   # some draw left the admissible region: evaluate one by one
                    fg, gs, gm = _cases_each(sigma, mu, self.patterns[g], sub.W)
                ntot += sub.N
            else:
                N, mean, cov = st
                Nb = N[sel]
                fg, gs, gm = complete_moments_loss(sigma, mu, 1.0, cov[sel], mean[sel], ram.meanstructure, True)
                fg = np.asarray(fg).reshape(B) * Nb            # the loss is per case: scale by each draw's N
                gs = gs * Nb[:, None, None] if gs is not None else None
                gm = gm * Nb[:, None] if gm is not None else None
                ntot += Nb
            fg = np.asarray(fg, float).reshape(B)
            bad = ~np.isfinite(fg)
            if gs is not None:
                gs = np.where(bad[:, None, None], 0.0, np.nan_to_num(gs))
                if gm is not None:
                    gm = np.where(bad[:, None], 0.0, np.nan_to_num(gm))
                grad += ram.gradient_chain(theta, gs, gm)
            f += fg
        f = f / ntot
        grad = grad / ntot[:, None]
        grad[~np.isfinite(f)] = np.nan
        return f, grad


def batched_bfgs(obj, theta0, Hinv0, B, max_iter=200, gtol=1e-6):
    """Vectorised BFGS over B independent problems that share a start point and initial inverse Hessian.

    Each problem's inverse Hessian is never formed: BFGS from ``Hinv0`` after the updates
    (s_j, y_j) is applied to the gradient by the two-loop recursion over all stored pairs, which
    gives exactly the BFGS step (it is L-BFGS with unlimited memory), at O(npar x iterations)
    per problem instead of O(npar^2) (the dense B x npar x npar update made the iterations
    memory bound).  A pair whose curvature s'y is not positive is stored with rho = 0, which
    leaves the matrix unchanged, as skipping that BFGS update does.

    Parameters
    ----------
    obj : object with ``value_and_grad(theta (b, npar), sel) -> (f (b,), grad (b, npar))``
        ``sel`` are the problems' indices in 0..B-1.
    theta0 : ndarray (npar,)
    Hinv0 : ndarray (npar, npar)
        Initial inverse Hessian (symmetric), e.g. the inverse information at the estimates.
    B : int
    """
    npar = theta0.shape[-1]
    theta = np.array(np.broadcast_to(theta0, (B, npar)), dtype=float)
    allidx = np.arange(B)
    f, g = obj.value_and_grad(theta, allidx)
    ok = np.isfinite(f)
    active = ok & (np.max(np.abs(np.nan_to_num(g, nan=1.0)), axis=1) >= gtol)
    converged = ok & ~active
    S_hist = np.zeros((max_iter, B, npar))          # s_j of every problem (zero where not updated)
    Y_hist = np.zeros((max_iter, B, npar))
    rho_hist = np.zeros((max_iter, B))
    n_hist = 0
    for it in range(max_iter):
        idx = np.where(active)[0]
        if len(idx) == 0:
            break
        # two-loop recursion: step = -H_k g
        q = g[idx].copy()
        Sh, Yh, rh = S_hist[:n_hist, idx], Y_hist[:n_hist, idx], rho_hist[:n_hist, idx]
        a = np.zeros((n_hist, len(idx)))
        for j in range(n_hist - 1, -1, -1):
            a[j] = rh[j] * np.einsum("bi,bi->b", Sh[j], q)
            q -= a[j][:, None] * Yh[j]
        r = q @ Hinv0
        for j in range(n_hist):
            beta = rh[j] * np.einsum("bi,bi->b", Yh[j], r)
            r += (a[j] - beta)[:, None] * Sh[j]
        step = -r
        alpha = np.ones(len(idx))
        f_new = np.full(len(idx), np.inf)
        g_new = np.zeros((len(idx), npar))
        todo = np.arange(len(idx))
        for _ in range(40):
            cand = theta[idx[todo]] + alpha[todo, None] * step[todo]
            fc, gc = obj.value_and_grad(cand, idx[todo])
            acc = np.isfinite(fc) & (fc <= f[idx[todo]] + 1e-12 * np.abs(f[idx[todo]]))
            f_new[todo[acc]] = fc[acc]
            g_new[todo[acc]] = gc[acc]
            todo = todo[~acc]
            if len(todo) == 0:
                break
            alpha[todo] *= 0.5
        stuck = np.isinf(f_new)
        upd = ~stuck
        ii = idx[upd]
        s = alpha[upd, None] * step[upd]
        y = g_new[upd] - g[ii]
        theta[ii] = theta[ii] + s
        f[ii], g[ii] = f_new[upd], g_new[upd]
        # store the BFGS pair (rho = 0: no update where the curvature condition fails)
        sy = np.einsum("bi,bi->b", s, y)
        good = sy > 1e-14
        S_hist[n_hist, ii] = s
        Y_hist[n_hist, ii] = y
        rho_hist[n_hist, ii] = np.where(good, 1.0 / np.where(good, sy, 1.0), 0.0)
        n_hist += 1
        gmax = np.max(np.abs(g[idx]), axis=1)
        done = gmax < gtol
        converged[idx[done]] = True
        active[idx[done]] = False
        active[idx[stuck]] = False   # cannot descend further: converged if the gradient is small
        converged[idx[stuck]] = gmax[stuck] < 1e-5
    return theta, converged


def _run_chunk(args):
    rams, datas_info, W_groups, theta0, Hinv0 = args
    from .._linalg import one_blas_thread
    import scipy.linalg.lapack  # noqa: F401  (batched inverses; loaded before the BLAS thread limit)
    with one_blas_thread():
        stats_g, flags, pats = [], [], []
        for (X, patterns), W in zip(datas_info, W_groups):
            if patterns is not None:          # FIML: the resamples' sufficient statistics, once per chunk
                stats_g.append(FimlResampleStats(patterns, W))
                flags.append(True)
            else:
                stats_g.append(complete_stats(X, np.asarray(W, float)))
                flags.append(False)
            pats.append(patterns)
        obj = _BatchObjective(rams, stats_g, flags, pats)
        B = W_groups[0].shape[0]
        theta, conv = batched_bfgs(obj, theta0, Hinv0, B)
    return theta, conv


_FORKED: dict = {}     # run_bootstrap's model and data, inherited by forked workers (not pickled per chunk)


def _run_chunk_forked(args):
    token, W = args
    rams, datas_info, theta0, Hinv0 = _FORKED[token]
    return _run_chunk((rams, datas_info, W, theta0, Hinv0))      # counts in their compact type


def _compact(w):
    """Bootstrap counts in the smallest unsigned type that holds them (sent to a worker, not copied as floats)."""
    top = int(w.max()) if w.size else 0
    return w.astype(np.uint8 if top < 256 else np.uint16 if top < 65536 else np.float64)


@dataclass
class BootstrapResult:
    """Bootstrap draws of the free parameters (and defined parameters) with CIs."""
    draws: np.ndarray                 # (R_ok, npar)
    defined: np.ndarray               # (R_ok, ndef)
    n_requested: int
    n_failed: int
    seed: int | None
    ci: pd.DataFrame | None = None
    messages: list = field(default_factory=list)

    @property
    def n_ok(self):
        return len(self.draws)

    def annotate(self, params: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
        """Bootstrap SEs and intervals on the parameter table (lavaan's se = "bootstrap").

        With too few successful draws (:func:`enough_draws`) the intervals are NaN
        (unavailable) and a :class:`~icaf_sem.errors.BootstrapWarning` says so: they are not
        replaced by normal-theory intervals.
        """
        import warnings
        from ..errors import BootstrapWarning
        out = params.copy()
        ok = enough_draws(self.n_ok, level)
        if not ok:
            msg = (f"only {self.n_ok} successful bootstrap draws (of {self.n_requested} requested): too few for "
                   f"{level:.0%} intervals (at least {MIN_DRAWS} are needed, 2,000 recommended); the bootstrap "
                   "intervals are reported as unavailable")
            if msg not in self.messages:
                self.messages.append(msg)
            warnings.warn(msg, BootstrapWarning)
        n = len(out)
        cols = {c: np.full(n, np.nan) for c in ["boot_se", "boot_pct_lower", "boot_pct_upper",
                                                  "boot_bc_lower", "boot_bc_upper"]}
        free = out["free"].to_numpy()
        est = out["est"].to_numpy(float)
        op, lhs = out["op"].to_numpy(), out["lhs"].to_numpy()
        def_pos = {name: j for j, name in enumerate(self.def_names)}
        for i in range(n):
            if op[i] == ":=":
                t = self.defined[:, def_pos[lhs[i]]]
            elif free[i] > 0:
                t = self.draws[:, free[i] - 1]
            else:
                continue
            t = t[np.isfinite(t)]
            if len(t) < 2:
                continue
            cols["boot_se"][i] = np.std(t, ddof=1)
            if not ok:
                continue
            cols["boot_pct_lower"][i], cols["boot_pct_upper"][i] = percentile_ci(t, level)
            cols["boot_bc_lower"][i], cols["boot_bc_upper"][i] = bca_simple_ci(t, est[i], level)
        for c, v in cols.items():
            out[c] = v
        # lavaan's se = "bootstrap": SE is the SD of the draws and the CI is the percentile interval
        has = ~np.isnan(cols["boot_se"])
        se = np.where(has, cols["boot_se"], out["se"].to_numpy(float))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(has, est / se, out["z"].to_numpy(float))
        out["se"] = se
        out["z"] = z
        out["pvalue"] = np.where(has, 2 * special.ndtr(-np.abs(z)), out["pvalue"].to_numpy(float))
        out["ci_lower"] = np.where(has, cols["boot_pct_lower"], out["ci_lower"].to_numpy(float))
        out["ci_upper"] = np.where(has, cols["boot_pct_upper"], out["ci_upper"].to_numpy(float))
        return out

    def summary_dict(self):
        return {"requested": self.n_requested, "ok": self.n_ok, "failed": self.n_failed, "seed": self.seed,
                "ci_types": ["percentile", "bias_corrected (bca.simple)"]}


def _norm_inter(t, alpha):
    """The boot package's interpolation on the normal quantile scale (used by lavaan)."""
    t = np.sort(t[np.isfinite(t)])
    R = len(t)
    alpha = np.atleast_1d(alpha)
    rk = (R + 1) * alpha
    k = np.trunc(rk).astype(int)
    out = np.empty(len(alpha))
    for j in range(len(alpha)):
        if k[j] == rk[j] and 0 < k[j] <= R:
            out[j] = t[k[j] - 1]
        elif k[j] <= 0:
            out[j] = t[0]
        elif k[j] >= R:
            out[j] = t[R - 1]
        else:
            # scipy.special.ndtri is the function behind scipy.stats.norm.ppf
            t1 = special.ndtri(alpha[j])
            t2 = special.ndtri(k[j] / (R + 1))
            t3 = special.ndtri((k[j] + 1) / (R + 1))
            tk, tk1 = t[k[j] - 1], t[k[j]]
            out[j] = tk + (t1 - t2) / (t3 - t2) * (tk1 - tk)
    return out


def percentile_ci(t, level=0.95):
    a = (1 - level) / 2
    lo, up = _norm_inter(np.asarray(t, float), np.array([a, 1 - a]))
    return float(lo), float(up)


def bca_simple_ci(t, t0, level=0.95):
    """lavaan's ``bca.simple``: bias-corrected percentile interval (no acceleration)."""
    t = np.asarray(t, float)
    t = t[np.isfinite(t)]
    if np.var(t) == 0:
        return float(t0), float(t0)
    alpha = np.array([(1 - level) / 2, (1 + level) / 2])
    w = special.ndtri(np.sum(t < t0) / len(t))
    adj = special.ndtr(w + (w + special.ndtri(alpha)))
    lo, up = _norm_inter(t, adj)
    return float(lo), float(up)


def available_memory() -> int:
    """Bytes this process may still allocate: MemAvailable (Linux), capped by RLIMIT_AS."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = 8 << 30
    try:
        import resource
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
            avail = min(avail, soft)
    except (ImportError, ValueError, OSError):
        pass
    return int(avail)


def _gib(b: float) -> str:
    return f"{b / 2**30:.1f} GiB" if b >= 2**30 else f"{b / 2**20:.0f} MiB"


def bootstrap_memory(R: int, n_rows: list, npar: int, p: int, n_patterns: list, ndef: int = 0,
                     chunk: int = CHUNK, keep_weights: bool = False) -> int:
    """Bytes a bootstrap of ``R`` draws needs at its peak (weights, draws, one chunk's statistics).

    The resampling weights of one group are drawn chunk by chunk as the chunks are fitted (a
    few chunks in flight); with several groups, or ``keep_weights`` (Bollen-Stine), all of
    them are held (4 bytes per count; 8 when kept as floats).
    """
    R, chunk = int(R), int(min(chunk, max(int(R), 1)))
    if keep_weights:
        weights = 8 * R * sum(n_rows)
    elif len(n_rows) > 1:
        weights = 4 * R * sum(n_rows)
    else:
        weights = 8 * 4 * chunk * sum(n_rows)            # the chunks in flight
    draws = 8 * R * (2 * npar + ndef)                      # parameter draws (+ their stacked copy)
    per_chunk = 0
    for n, G in zip(n_rows, n_patterns):
        if G:                                              # FIML: per-pattern moments of a chunk
            per_chunk += 8 * chunk * G * (p * p + p + 1) + 8 * chunk * n * p
        else:                                              # complete data: cross-products n x p^2
            per_chunk += 8 * n * p * p + 8 * chunk * p * p
    per_chunk += 8 * 500 * chunk * npar * 2                # optimiser history
    return int(weights + draws + 2 * per_chunk)


def check_bootstrap_memory(R: int, n_rows: list, npar: int, p: int, n_patterns: list, ndef: int = 0,
                           keep_weights: bool = False) -> None:
    """Raise :class:`~icaf_sem.errors.ResourceError` before allocating when ``R`` draws do not fit."""
    from ..errors import ResourceError
    kw = dict(keep_weights=keep_weights)
    need = bootstrap_memory(R, n_rows, npar, p, n_patterns, ndef, **kw)
    have = available_memory()
    if need > 0.8 * have:
        per_draw = max(bootstrap_memory(2 * CHUNK, n_rows, npar, p, n_patterns, ndef, **kw)
                       - bootstrap_memory(CHUNK, n_rows, npar, p, n_patterns, ndef, **kw), CHUNK) / CHUNK
        fit = max(int((0.8 * have - bootstrap_memory(CHUNK, n_rows, npar, p, n_patterns, ndef, **kw)) // per_draw)
                  + CHUNK, 0)
        raise ResourceError(
            f"bootstrap={R}: {R} draws for {sum(n_rows)} rows and {npar} parameters need about {_gib(need)} of "
            f"memory but about {_gib(have)} is available; use at most about {fit} draws (2,000 are usually "
            "enough for percentile intervals)")


def resample_counts(rng, n: int, size: int) -> np.ndarray:
    """``size`` resamples of ``n`` rows drawn with replacement, as counts per row (size, n).

    Each resample is ``n`` uniform row indices (``rng.integers(0, n, n)``, lavaan's
    ``sample.int(n, replace = TRUE)``) tallied per row: the same multinomial distribution as
    ``rng.multinomial(n, [1/n] * n)``, an order of magnitude faster for large n (one random
    integer a row instead of one binomial draw a row).  Consecutive calls continue one stream:
    two chunks give the rows of one call for both.
    """
    out = np.empty((size, n), dtype=np.int32 if n < 2 ** 31 else np.int64)
    for b in range(size):      # draw by draw: the same numbers as one (size, n) call, no (size, n) int64 work array
        out[b] = np.bincount(rng.integers(0, n, n), minlength=n)
    return out


def run_bootstrap(core, R: int, seed=None, progress=False, n_jobs=None, defined_fn=None, def_names=(),
                  keep_weights=False):
    """Draw ``R`` nonparametric bootstrap resamples and refit the model to each.

    The resamples are case counts (:func:`resample_counts`) from ``numpy.random.default_rng(seed)``,
    group after group.  With one group they are drawn chunk by chunk while the chunks are fitted (the
    same stream as drawing all at once, so the same draws), with a few chunks in flight, so
    memory does not grow with ``R`` x n.  ``keep_weights`` keeps every resample on the result
    (``weights``; Bollen-Stine recomputes its statistic from them).
    """
    p = int(core.datas[0].X.shape[1]) if core.datas else 0
    check_bootstrap_memory(R, [d.n for d in core.datas], len(core.theta), p,
                           [d.patterns.G if d.has_missing else 0 for d in core.datas], len(def_names),
                           keep_weights=keep_weights)
    rng = np.random.default_rng(seed)
    ns = [d.n for d in core.datas]
    chunks = [(a, min(a + CHUNK, R)) for a in range(0, R, CHUNK)]
    if len(ns) == 1:
        n0 = ns[0]

        def weights_of(a, b):         # called once per chunk, in order: the stream of one R-row draw
            return [resample_counts(rng, n0, b - a)]
    else:
        held = []
        for n in ns:                   # group after group, as one R-row draw per group
            Wg = np.empty((R, n), dtype=np.int32 if n < 2 ** 31 else np.int64)
            for a, b in chunks:
                Wg[a:b] = resample_counts(rng, n, b - a)
            held.append(Wg)

        def weights_of(a, b):
            return [Wg[a:b] for Wg in held]
    H = core.info if core.info is not None else None
    if H is None:
        from .optimize import expected_information
        H = expected_information(core.rams, [d.N / core.ntotal for d in core.datas], core.theta)
    try:
        Hinv0 = np.linalg.inv(H)
        Hinv0 = 0.5 * (Hinv0 + Hinv0.T)
    except np.linalg.LinAlgError:
        Hinv0 = np.eye(len(core.theta)) * 1e-2
    datas_info = [(d.X if not d.has_missing else None, d.patterns if d.has_missing else None) for d in core.datas]
    # a second process pays off only when there is enough work to outweigh starting it (a few
    # hundred draws of a model like ICAF take about 0.1 s of CPU per hundred)
    n_jobs = n_jobs or min(os.cpu_count() or 1, 2 if (len(chunks) > 1 and R >= PARALLEL_MIN_DRAWS) else 1)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=R, desc="bootstrap", unit="draw")
    results = [None] * len(chunks)
    kept = [] if keep_weights else None

    def job(i):
        a, b = chunks[i]
        W = [w.astype(float) for w in weights_of(a, b)]
        if kept is not None:
            kept.append(W)
        return (core.rams, datas_info, W, core.theta, Hinv0)

    if n_jobs > 1:
        import multiprocessing as mp
        from collections import deque
        from concurrent.futures import ProcessPoolExecutor
        fork = "fork" in mp.get_all_start_methods()
        ctx = mp.get_context("fork") if fork else None
        token = object.__repr__(core)
        if fork:       # the workers inherit the model and data; each chunk sends only its weights
            _FORKED[token] = (core.rams, datas_info, core.theta, Hinv0)

        def submit(ex, i):
            if fork:
                a, b = chunks[i]
                W = weights_of(a, b)
                if kept is not None:
                    kept.append([w.astype(float) for w in W])
                return ex.submit(_run_chunk_forked, (token, [_compact(w) for w in W]))
            return ex.submit(_run_chunk, job(i))
        try:
            with ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as ex:
                pending, nxt = deque(), 0
                while nxt < len(chunks) and len(pending) < 2 * n_jobs:    # bounded: weights made as needed
                    pending.append((nxt, submit(ex, nxt)))
                    nxt += 1
                while pending:
                    i, fut = pending.popleft()
                    results[i] = fut.result()
                    if nxt < len(chunks):
                        pending.append((nxt, submit(ex, nxt)))
                        nxt += 1
                    if bar is not None:
                        bar.update(chunks[i][1] - chunks[i][0])
        finally:
            _FORKED.pop(token, None)
    else:
        for i in range(len(chunks)):
            results[i] = _run_chunk(job(i))
            if bar is not None:
                bar.update(chunks[i][1] - chunks[i][0])
    if bar is not None:
        bar.close()
    theta = np.vstack([r[0] for r in results])
    conv = np.concatenate([r[1] for r in results])
    draws = theta[conv]
    defined = defined_fn(draws) if (defined_fn is not None and len(def_names)) else np.zeros((len(draws), 0))
    out = BootstrapResult(draws=draws, defined=defined, n_requested=R, n_failed=int((~conv).sum()), seed=seed)
    out.def_names = list(def_names)
    out.converged = conv
    out.weights = ([np.concatenate([w[g] for w in kept]) for g in range(len(ns))] if kept is not None else None)
    if out.n_failed:
        out.messages.append(f"{out.n_failed} of {R} bootstrap draws did not converge and were left out")
    return out
