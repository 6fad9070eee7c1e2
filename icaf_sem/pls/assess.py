"""Assessment statistics of a PLS-SEM estimate, each a tidy DataFrame (SmartPLS 4 / seminr conventions).

All functions take an :class:`~.estimate.Estimate` (sample index ``b``, 0 for the full-sample fit) and
work on the construct correlations of its final stage (disattenuated under PLSc) and the indicator
correlations of each stage.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .algorithm import total_effects


def _final(est):
    return est.final, est.final.layout


def path_table(est, b=0) -> pd.DataFrame:
    st, lay = _final(est)
    rows = []
    for dv, iv in est.spec.paths:
        j, i = lay.constructs.index(dv), lay.constructs.index(iv)
        rows.append({"lhs": dv, "op": "~", "rhs": iv, "est": est.beta[b, i, j]})
    return pd.DataFrame(rows, columns=["lhs", "op", "rhs", "est"])


def outer_table(est, b=0) -> pd.DataFrame:
    """Outer loadings and weights, one row per construct-indicator pair."""
    rows = [{"lhs": r[0], "op": "=~" if est.spec.modes[r[0]] == "A" else "<~", "rhs": r[1],
             "loading": est.loading(r)[b], "weight": est.weight(r)[b]} for r in est.rows]
    return pd.DataFrame(rows, columns=["lhs", "op", "rhs", "loading", "weight"])


def _construct_stage(est):
    """construct -> (stage index, construct index in that stage); dimensions of a HOC live in stage 1."""
    out = {}
    for c in est.spec.constructs:
        for s in range(len(est.stages) - 1, -1, -1):
            lay = est.stages[s].layout
            if c in lay.constructs:
                out[c] = (s, lay.constructs.index(c))
                break
    return out


def cross_loadings(est, b=0) -> pd.DataFrame:
    """Correlation of every indicator with every construct score (final stage; items of HOC dimensions
    against the stage-1 scores)."""
    frames = []
    for s, st in enumerate(est.stages):
        cols = [c for c in st.layout.columns]
        frames.append(pd.DataFrame(st.S[b] @ st.W[b], index=cols, columns=st.layout.constructs))
    if len(frames) == 1:
        return frames[0]
    f1, f2 = frames
    dims = [d for h in est.spec.hoc for d in est.spec.blocks[h]]
    out = f2.copy()
    for d in dims:
        out[d] = f1[d].reindex(out.index)
    return out


def reliability(est, b=0) -> pd.DataFrame:
    """Cronbach's alpha (z-scored items), rho_A, rho_C and AVE of every mode-A construct."""
    cs = _construct_stage(est)
    rows = []
    for c in est.spec.constructs:
        if est.spec.modes[c] != "A":
            continue
        s, k = cs[c]
        st = est.stages[s]
        idx = st.layout.blocks[k]
        m = len(idx)
        l = st.L[b, idx, k]
        Sb = st.S[b][np.ix_(idx, idx)]
        if m > 1:
            rbar = (Sb.sum() - m) / (m * (m - 1))
            alpha = m * rbar / (1 + (m - 1) * rbar)
        else:                 # a single indicator: 1, as seminr reports it
            alpha = 1.0
        sl = l.sum()
        rows.append({"construct": c, "alpha": alpha, "rho_a": st.rho[b, k] if m > 1 else 1.0,
                     "rho_c": sl ** 2 / (sl ** 2 + np.sum(1 - l ** 2)), "ave": np.mean(l ** 2)})
    return pd.DataFrame(rows, columns=["construct", "alpha", "rho_a", "rho_c", "ave"]).set_index("construct")


def htmt_pairs(est):
    """The construct pairs HTMT is reported for: every pair of final-stage constructs (a single-item
    construct has a monotrait mean of 1, as in seminr)."""
    lay = est.final.layout
    ks = list(range(lay.K))
    return [(lay.constructs[a], lay.constructs[c], a, c) for i, a in enumerate(ks) for c in ks[i + 1:]]


def htmt_batched(est, kind="htmt"):
    """(B, npairs) HTMT (arithmetic means) or HTMT2 (geometric means) of absolute item correlations."""
    with np.errstate(all="ignore"):      # failed bootstrap samples give NaN, counted by the caller
        return _htmt_batched(est, kind)


def _htmt_batched(est, kind):
    st = est.final
    lay = st.layout
    A = np.abs(st.S)
    mono = {}
    out = []
    for a_name, c_name, a, c in htmt_pairs(est):
        for k in (a, c):
            if k not in mono:
                bl = lay.blocks[k]
                if len(bl) == 1:
                    mono[k] = np.ones(A.shape[0])
                    continue
                iu = np.triu_indices(len(bl), 1)
                vals = A[:, bl[:, None], bl[None, :]][:, iu[0], iu[1]]
                mono[k] = vals.mean(axis=1) if kind == "htmt" else np.exp(np.log(vals).mean(axis=1))
        het = A[:, lay.blocks[a][:, None], lay.blocks[c][None, :]].reshape(A.shape[0], -1)
        h = het.mean(axis=1) if kind == "htmt" else np.exp(np.log(het).mean(axis=1))
        out.append(h / np.sqrt(mono[a] * mono[c]))
    return np.array(out).T if out else np.zeros((A.shape[0], 0))


def htmt(est, b=0, kind="htmt") -> pd.DataFrame:
    """HTMT (``kind='htmt'``) or HTMT2 (``kind='htmt2'``) as a lower-triangular construct table."""
    pairs = htmt_pairs(est)
    names = []
    for a, c, _, _ in pairs:
        for x in (a, c):
            if x not in names:
                names.append(x)
    tab = pd.DataFrame(np.nan, index=names, columns=names)
    vals = htmt_batched(est, kind)[b]
    for (a, c, _, _), v in zip(pairs, vals):
        tab.loc[c, a] = v
    return tab


def r2_table(est, b=0) -> pd.DataFrame:
    st, lay = _final(est)
    n = est.n
    rows = []
    for c in est.spec.constructs:
        if c in lay.constructs:
            j = lay.constructs.index(c)
            k = len(lay.pred[j])
            if k:
                r2 = est.r2[b, j]
                rows.append({"construct": c, "r2": r2, "r2_adj": 1 - (1 - r2) * (n - 1) / (n - k - 1)})
    return pd.DataFrame(rows, columns=["construct", "r2", "r2_adj"]).set_index("construct")


def _r2_of(R, y, xs):
    if not len(xs):
        return 0.0
    xs = np.asarray(xs)
    bet = np.linalg.solve(R[np.ix_(xs, xs)], R[xs, y])
    return float(bet @ R[xs, y])


def f2(est, b=0) -> pd.DataFrame:
    """Cohen's f2 = (R2_incl - R2_excl)/(1 - R2_incl), both from the same construct correlations."""
    st, lay = _final(est)
    R = st.Rc[b]
    rows = []
    for dv, iv in est.spec.paths:
        j, i = lay.constructs.index(dv), lay.constructs.index(iv)
        pr = list(lay.pred[j])
        incl = est.r2[b, j]
        excl = _r2_of(R, j, [x for x in pr if x != i])
        rows.append({"lhs": dv, "rhs": iv, "f2": (incl - excl) / (1 - incl)})
    return pd.DataFrame(rows, columns=["lhs", "rhs", "f2"])


def inner_vif(est, b=0) -> pd.DataFrame:
    """VIF of each predictor of an endogenous construct, from the construct correlations (1 if alone)."""
    st, lay = _final(est)
    R = st.Rc[b]
    rows = []
    for j, pr in enumerate(lay.pred):
        if not len(pr):
            continue
        d = np.diag(np.linalg.inv(R[np.ix_(pr, pr)])) if len(pr) > 1 else np.ones(1)
        for i, v in zip(pr, d):
            rows.append({"lhs": lay.constructs[j], "rhs": lay.constructs[i], "vif": float(v)})
    return pd.DataFrame(rows, columns=["lhs", "rhs", "vif"])


def outer_vif(est, b=0) -> pd.DataFrame:
    """VIF of each indicator on the other indicators of its construct (1 for a single indicator)."""
    cs = _construct_stage(est)
    rows = []
    for c in est.spec.constructs:
        s, k = cs[c]
        st = est.stages[s]
        idx = st.layout.blocks[k]
        Sb = st.S[b][np.ix_(idx, idx)]
        with np.errstate(all="ignore"):
            try:
                d = np.diag(np.linalg.inv(Sb)) if len(idx) > 1 else np.ones(1)
            except np.linalg.LinAlgError:
                d = np.full(len(idx), np.inf)
        for i, v in zip(idx, d):
            rows.append({"construct": c, "indicator": st.layout.columns[i], "vif": float(v)})
    return pd.DataFrame(rows, columns=["construct", "indicator", "vif"])


def construct_correlations(est, b=0) -> pd.DataFrame:
    st, lay = _final(est)
    return pd.DataFrame(st.Rc[b], index=lay.constructs, columns=lay.constructs)


def fornell_larcker(est, b=0) -> pd.DataFrame:
    """Construct correlations with sqrt(AVE) on the diagonal (mode-A constructs of the final stage)."""
    R = construct_correlations(est, b)
    rel = reliability(est, b)
    names = [c for c in R.index if c in rel.index]
    out = R.loc[names, names].copy()
    for c in names:
        out.loc[c, c] = np.sqrt(rel.loc[c, "ave"])
    return out


def total_effects_batched(est):
    return total_effects(est.beta)


def effects_table(est, b=0) -> pd.DataFrame:
    """Direct, total indirect and total effect of every construct on every construct it reaches."""
    lay = est.final.layout
    T = total_effects(est.beta[b:b + 1])[0]
    rows = []
    for j, dv in enumerate(lay.constructs):
        for i, iv in enumerate(lay.constructs):
            if abs(T[i, j]) > 0 or est.beta[b, i, j] != 0:
                rows.append({"lhs": dv, "rhs": iv, "direct": est.beta[b, i, j],
                             "indirect": T[i, j] - est.beta[b, i, j], "total": T[i, j]})
    return pd.DataFrame(rows, columns=["lhs", "rhs", "direct", "indirect", "total"])


def indirect_routes(est):
    """Every route of two or more paths between constructs of the final stage: list of index tuples."""
    lay = est.final.layout
    succ = {i: [] for i in range(lay.K)}
    for j, pr in enumerate(lay.pred):
        for i in pr:
            succ[int(i)].append(j)
    routes = []

    def walk(route):
        for nxt in succ[route[-1]]:
            r = route + [nxt]
            if len(r) >= 3:
                routes.append(tuple(r))
            walk(r)

    for i in range(lay.K):
        walk([i])
    return routes


def specific_indirect_batched(est, routes):
    out = np.ones((est.beta.shape[0], len(routes)))
    for n, r in enumerate(routes):
        for a, c in zip(r[:-1], r[1:]):
            out[:, n] *= est.beta[:, a, c]
    return out


def specific_indirect(est, b=0) -> pd.DataFrame:
    lay = est.final.layout
    routes = indirect_routes(est)
    vals = specific_indirect_batched(est, routes)[b] if routes else []
    rows = [{"route": " -> ".join(lay.constructs[i] for i in r), "from": lay.constructs[r[0]],
             "to": lay.constructs[r[-1]], "est": v} for r, v in zip(routes, vals)]
    return pd.DataFrame(rows, columns=["route", "from", "to", "est"])
