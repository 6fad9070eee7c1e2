"""One PLS estimation (one or two stages) applied to a stack of correlation matrices."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .algorithm import Layout, corrected, loadings, pls_core, structural
from .spec import PLSSpec, stage_one, stage_two


@dataclass
class Stage:
    layout: Layout
    S: np.ndarray
    W: np.ndarray
    R: np.ndarray          # PLS construct correlations
    Rc: np.ndarray         # corrected under PLSc (else R)
    rho_: np.ndarray       # rho_A (None until needed when PLSc is off)
    L: np.ndarray          # (cross-)loadings, own loadings corrected under PLSc
    iterations: np.ndarray
    converged: np.ndarray
    ok: np.ndarray

    @property
    def rho(self):
        """rho_A per sample and construct (computed on first use when PLSc is off)."""
        if self.rho_ is None:
            from .algorithm import rho_a
            self.rho_ = rho_a(self.W, self.S, self.layout)
        return self.rho_


@dataclass
class Estimate:
    spec: PLSSpec
    stages: list
    beta: np.ndarray       # (B, K, K) of the final stage, beta[b, iv, dv]
    r2: np.ndarray         # (B, K)
    rows: list = field(default_factory=list)   # (lhs, rhs, stage, column, construct index)
    n: int = 0                                 # rows of the (full) sample

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    @property
    def ok(self):
        out = np.ones(self.beta.shape[0], dtype=bool)
        for s in self.stages:
            out &= s.ok
        return out & np.isfinite(self.beta).all(axis=(1, 2))

    @property
    def converged(self):
        out = np.ones(self.beta.shape[0], dtype=bool)
        for s in self.stages:
            out &= s.converged
        return out

    def weight(self, r):
        _, _, st, col, k = r
        return self.stages[st].W[:, col, k]

    def loading(self, r):
        _, _, st, col, k = r
        return self.stages[st].L[:, col, k]


def _run_stage(S, spec, columns, scheme, consistent, max_iter, tol):
    lay = Layout.from_spec(spec, columns, consistent)
    core = pls_core(S, lay, scheme, max_iter, tol)
    if not core.ok.all():
        S = np.where(core.ok[:, None, None], S, np.eye(S.shape[1]))
    if consistent:
        Rc, rho = corrected(core.R, core.W, S, lay)
        L = loadings(core.W, S, lay, rho)
    else:
        rho = None
        Rc = core.R
        L = loadings(core.W, S, lay)
    return Stage(lay, S, core.W, core.R, Rc, rho, L, core.iterations, core.converged, core.ok)


def estimate(S, spec: PLSSpec, items: list, *, scheme="path", consistent=False, max_iter=300,
             tol=1e-7) -> Estimate:
    """Estimate ``spec`` on correlation matrices ``S`` (B, p, p) of the columns ``items``."""
    if not spec.hoc:
        st = _run_stage(S, spec, items, scheme, consistent, max_iter, tol)
        beta, r2 = structural(st.Rc, st.layout)
        key = ("rows", tuple(items))
        if key not in spec.cache:
            pos = {c: k for k, c in enumerate(items)}
            spec.cache[key] = [(c, i, 0, pos[i], k) for k, c in enumerate(spec.constructs) for i in spec.blocks[c]]
        return Estimate(spec, [st], beta, r2, spec.cache[key])
    s1 = stage_one(spec)
    st1 = _run_stage(S, s1, items, scheme, consistent, max_iter, tol)
    dims = [d for h in spec.hoc for d in spec.blocks[h]]
    k1 = [s1.constructs.index(d) for d in dims]
    SW = st1.S @ st1.W[:, :, k1]                                   # cov(items, dimension scores)
    Rdd = st1.R[:, np.array(k1)[:, None], np.array(k1)[None, :]]
    S2 = np.concatenate([np.concatenate([st1.S, SW], axis=2),
                         np.concatenate([np.swapaxes(SW, 1, 2), Rdd], axis=2)], axis=1)
    cols2 = list(items) + dims
    s2 = stage_two(spec)
    st2 = _run_stage(S2, s2, cols2, scheme, consistent, max_iter, tol)
    beta, r2 = structural(st2.Rc, st2.layout)
    rows = []
    for c in spec.constructs:     # dimensions from stage 1, every other construct from stage 2
        if c in dims:
            rows += [(c, i, 0, items.index(i), s1.constructs.index(c)) for i in spec.blocks[c]]
        else:
            rows += [(c, i, 1, cols2.index(i), s2.constructs.index(c)) for i in spec.blocks[c]]
    return Estimate(spec, [st1, st2], beta, r2, rows)
