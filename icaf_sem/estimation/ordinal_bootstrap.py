"""Nonparametric bootstrap of the whole three-stage ordinal estimator (lavaan's ``se = "bootstrap"``
with ordered items and WLSMV).

Each draw resamples the respondents of every group with replacement (group sizes fixed, as
lavaan's ``lav_bootstrap_internal``) and repeats all three stages on the draw: thresholds from
the margins, polychoric correlations (one vectorised pass over the bivariate tables), the weight
matrix (the diagonal of the draw's Gamma for DWLS, its inverse for WLS, the identity for ULS),
then the WLS fit, started from the full-sample estimates.  A draw in which a category of an item
is empty (its thresholds are not defined), or whose fit does not converge, is counted as failed
and left out, as lavaan leaves out draws whose sample statistics or fit fail.

The draws are taken from one ``numpy.random.default_rng(seed)`` stream, in chunks, so memory is
bounded by ``R x npar``; the same seed gives the same draws.  Within a draw every step is an
array computation over items, pairs and cases; the draws themselves run one after the other.

The percentile intervals cannot equal lavaan's (R's random numbers differ); the bootstrap
standard errors agree with lavaan's within Monte Carlo error (tests/test_ordinal_bootstrap.py).
"""
from __future__ import annotations

import copy

import numpy as np

from ..errors import DataError, ModelSpecificationError
from .bootstrap import BootstrapResult, check_bootstrap_memory
from .categorical import (OrdinalData, OrdinalStats, gamma_chunked, influence_parts, influence_rows, polychoric,
                          thresholds)


def _draw_stats(st, idx):
    """Thresholds, polychorics and the weight ingredients of one group on the rows ``idx``."""
    od0 = st.od
    codes = od0.codes[idx]
    for j in range(codes.shape[1]):
        c = codes[:, j]
        cnt = np.bincount(c[c >= 0], minlength=int(od0.ncat[j]))
        if (cnt == 0).any():
            return None                           # an empty category: thresholds not defined
    od = OrdinalData(codes, od0.names, od0.levels, od0.ncat)
    th = thresholds(od)
    R, info = polychoric(od, th)
    return OrdinalStats(list(st.names), od, th, R, info["I"], info["J"], len(idx), info["zero_cell_tables"]), info


def _weights_of(st, info, kind):
    if kind == "ULS":
        return np.ones(len(st.wls_obs)), None
    parts = influence_parts(st.od, st.th, info["rho"], st.I, st.J, tables=info["tables"])
    if kind == "DWLS":
        IF = influence_rows(parts, st.od.codes)
        dg = st.N * np.einsum("ij,ij->j", IF, IF)
        if np.any(dg <= 0) or not np.all(np.isfinite(dg)):
            return None
        return 1.0 / dg, None
    G, _ = gamma_chunked(parts, st.od.codes, st.N)
    try:
        Wf = np.linalg.inv(G)
    except np.linalg.LinAlgError:
        return None
    return None, 0.5 * (Wf + Wf.T)


def bootstrap_ordinal(res, R: int, seed=None, progress=False) -> BootstrapResult:
    """``R`` bootstrap draws of a fitted ordinal model (:class:`~icaf_sem.estimation.wls.OrdinalResult`).

    Returns a :class:`~icaf_sem.estimation.bootstrap.BootstrapResult` (draws of the free
    parameters and of the ``:=`` parameters), as the ML bootstrap.

    R: ``sem(model, data, ordered = TRUE, se = "bootstrap", bootstrap = R)``.
    """
    from .wls import gauss_newton
    m = res._m
    if getattr(m, "mixed", False):
        raise ModelSpecificationError("bootstrap with continuous indicators among ordered ones is not supported "
                                      "yet; declare every indicator ordered, or use the robust standard errors")
    R = int(R)
    if R < 1:
        raise ModelSpecificationError(f"bootstrap={R!r} must be a whole number of draws >= 1 (e.g. 1000)")
    ndef = len(m.pt.defined)
    check_bootstrap_memory(R, [st.N for st in m.stats], m.npar, len(m.ov), [0 for _ in m.stats], ndef)
    rng = np.random.default_rng(seed)
    kind = res.weight
    theta0 = res.theta
    draws = np.full((R, m.npar), np.nan)
    ok = np.zeros(R, bool)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=R, desc="bootstrap (ordinal)", unit="draw")
    mb = copy.copy(m)
    for b in range(R):
        idxs = [rng.integers(0, st.N, size=st.N) for st in m.stats]    # drawn first: the stream never depends
        stats_b, Ws, Wfs = [], [], []                                  # on which draws fail
        failed = False
        for st, idx in zip(m.stats, idxs):
            try:
                out = _draw_stats(st, idx)
            except (DataError, np.linalg.LinAlgError, FloatingPointError, ValueError):
                out = None
            if out is None:
                failed = True
                break
            stb, info = out
            w = _weights_of(stb, info, kind)
            if w is None:
                failed = True
                break
            stats_b.append(stb)
            Ws.append(w[0])
            Wfs.append(w[1])
        if not failed:
            mb.stats = stats_b
            try:
                with np.errstate(all="ignore"):
                    th, _, conv, _ = gauss_newton(mb, theta0, Ws, Wfs)
            except (np.linalg.LinAlgError, FloatingPointError, ValueError):
                conv = False
            if conv and np.all(np.isfinite(th)):
                draws[b] = th
                ok[b] = True
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    good = draws[ok]
    if ndef:
        defined = np.array([res._defined(res._row_values(t)) for t in good]).reshape(len(good), ndef)
    else:
        defined = np.zeros((len(good), 0))
    out = BootstrapResult(draws=good, defined=defined, n_requested=R, n_failed=int((~ok).sum()), seed=seed)
    out.def_names = [d[0] for d in m.pt.defined]
    out.converged = ok
    if out.n_failed:
        out.messages.append(f"{out.n_failed} of {R} bootstrap draws failed (an empty category in the draw, or no "
                            "convergence) and were left out")
        if out.n_failed > R / 2:
            out.messages.append("most bootstrap draws miss a category of some item (sparse extreme categories; "
                                "lavaan fails the same draws): merge the rarely chosen categories before fitting, "
                                "or use the robust standard errors")
    return out
