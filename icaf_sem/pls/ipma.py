"""Importance-performance map analysis (IPMA; Ringle & Sarstedt 2016), as SmartPLS computes it.

* Each indicator is rescaled to 0-100: x~ = (x - min) / (max - min) * 100, with the scale's minimum and
  maximum (``scale_min``/``scale_max``; by default the observed minimum and maximum of each indicator).
* Unstandardized weights: w~_i = (w_i / sd(x~_i)) / sum_j (w_j / sd(x~_j)) over the construct's
  indicators (w = the PLS outer weights of the standardized indicators), so they sum to 1 and the
  0-100 construct score Y~ = sum_i w~_i x~_i is an affine transform of the PLS construct score.
  A higher-order construct (two-stage) takes its dimensions' Y~ as indicators in the same way.
* Performance of a construct: mean of Y~; of an indicator: mean of x~.
* Importance of a construct: its unstandardized total effect on the target, from the unstandardized
  paths b_ij = beta_ij * sd(Y~_j) / sd(Y~_i) (equal to OLS on the 0-100 scores); of an indicator:
  w~_i times its construct's importance (through the dimension for a HOC's items).

seminrExtras' ``assess_ipma`` normalizes the standardized weights instead of w/sd; the two agree only
when the indicators of a construct have equal SDs.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import IcafWarning, ModelSpecificationError
from .algorithm import total_effects


class IPMAWarning(IcafWarning):
    """An IPMA assumption is violated (negative outer weights)."""


class IPMAResult:
    """``constructs`` and ``indicators`` tables (importance, performance), :meth:`plot`, and ``scores``:
    the 0-100 rescaled construct scores of every case (their column means are the performances)."""

    def __init__(self, target, constructs, indicators, warnings_, scores=None):
        self.target, self.constructs, self.indicators, self.warnings = target, constructs, indicators, warnings_
        self.scores = scores

    def to_dict(self):
        return {"target": self.target, "constructs": self.constructs.reset_index().to_dict("records"),
                "indicators": self.indicators.reset_index().to_dict("records"), "warnings": self.warnings}

    def plot(self, ax=None, level="constructs"):
        """The importance-performance map (matplotlib): importance on x, performance on y."""
        import matplotlib.pyplot as plt
        tab = self.constructs if level == "constructs" else self.indicators
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4.5))
        ax.scatter(tab["importance"], tab["performance"])
        for name, r in tab.iterrows():
            ax.annotate(str(name), (r["importance"], r["performance"]), xytext=(4, 2), textcoords="offset points")
        ax.axvline(tab["importance"].mean(), ls=":", c="grey")
        ax.axhline(tab["performance"].mean(), ls=":", c="grey")
        ax.set_xlabel(f"Importance (total effect on {self.target})")
        ax.set_ylabel("Performance (0-100)")
        return ax

    def __repr__(self):
        return f"<IPMAResult target={self.target!r} constructs={len(self.constructs)}>"


def _bounds(value, items, observed, name):
    if value is None:
        return observed
    if isinstance(value, dict):
        missing = [i for i in items if i not in value]
        if missing:
            raise ModelSpecificationError(f"{name}: no value for indicator(s) {', '.join(missing)}; give a number "
                                          "for all indicators or a dict naming each")
        return np.array([float(value[i]) for i in items])
    return np.full(len(items), float(value))


def ipma(result, target, *, scale_min=None, scale_max=None) -> IPMAResult:
    """IPMA of ``target`` for a fitted :class:`~icaf_sem.pls.PLSResult` (see the module docstring).

    Examples
    --------
    >>> icaf_sem.pls(model, data).ipma("PW", scale_min=1, scale_max=7)   # doctest: +SKIP

    SmartPLS 4: Calculate > IPMA, target construct PW, indicator scales 1-7.
    """
    est = result._est
    spec = est.spec
    lay = est.final.layout
    if target not in lay.constructs:
        raise ModelSpecificationError(f"ipma(target={target!r}): not a construct of the structural model; use one "
                                      f"of {', '.join(lay.constructs)}")
    if not len(lay.pred[lay.constructs.index(target)]):
        raise ModelSpecificationError(f"ipma(target={target!r}) is exogenous; IPMA needs an endogenous target")
    X = result._data
    items = result.items
    lo = _bounds(scale_min, items, X.min(axis=0), "scale_min")
    hi = _bounds(scale_max, items, X.max(axis=0), "scale_max")
    if np.any(hi <= lo) or np.any(X < lo - 1e-9) or np.any(X > hi + 1e-9):
        raise ModelSpecificationError("ipma: every indicator needs scale_min < scale_max with all its values "
                                      "inside [scale_min, scale_max]; check the scale bounds")
    Xr = (X - lo) / (hi - lo) * 100.0
    warn = []
    scores, wt = {}, {}            # construct -> 0-100 scores; (construct, indicator) -> rescaled weight
    # first-order constructs: the weights of the stage that reports them (dimensions: stage 1)
    dims = {d for h in spec.hoc for d in spec.blocks[h]}
    first = []
    for s_, st in enumerate(est.stages):
        for k, c in enumerate(st.layout.constructs):
            if c not in spec.hoc and (c in dims) == (s_ == 0 and len(est.stages) == 2):
                first.append((c, st, k))
    for c, st, k in first:
        b = st.layout.blocks[k]
        w = st.W[0, b, k]
        raw = w / Xr[:, b].std(axis=0, ddof=1)
        wn = raw / raw.sum()
        scores[c] = Xr[:, b] @ wn
        for i, v in zip(b, wn):
            wt[(c, items[i])] = v
        if np.any(w < 0):
            warn.append(f"construct {c!r} has negative outer weights; IPMA assumes positive weights")
    if len(est.stages) == 2:
        st2 = est.final
        for k, c in enumerate(lay.constructs):
            if c not in spec.hoc:
                continue
            b = lay.blocks[k]
            dims = [lay.columns[i] for i in b]
            w = st2.W[0, b, k]
            D = np.column_stack([scores[d] for d in dims])
            raw = w / D.std(axis=0, ddof=1)
            wn = raw / raw.sum()
            scores[c] = D @ wn
            for d, v in zip(dims, wn):
                wt[(c, d)] = v
            if np.any(w < 0):
                warn.append(f"higher-order construct {c!r} has negative weights; IPMA assumes positive weights")
    from . import _user_stacklevel
    for m in warn:
        warnings.warn(m, IPMAWarning, stacklevel=_user_stacklevel())
    sd = np.array([scores[c].std(ddof=1) for c in lay.constructs])
    B = est.beta[0] * sd[None, :] / sd[:, None]
    T = total_effects(B[None])[0]
    j = lay.constructs.index(target)
    crow, irow = [], []
    for i, c in enumerate(lay.constructs):
        if i == j or T[i, j] == 0:
            continue
        crow.append({"construct": c, "importance": T[i, j], "performance": scores[c].mean()})
        for ind in spec.blocks[c]:
            if c in spec.hoc:
                for it in spec.blocks[ind]:
                    col = items.index(it)
                    irow.append({"indicator": it, "construct": ind, "weight": wt[(ind, it)],
                                 "importance": wt[(ind, it)] * wt[(c, ind)] * T[i, j], "performance": Xr[:, col].mean()})
            else:
                col = items.index(ind)
                irow.append({"indicator": ind, "construct": c, "weight": wt[(c, ind)],
                             "importance": wt[(c, ind)] * T[i, j], "performance": Xr[:, col].mean()})
    cons = pd.DataFrame(crow, columns=["construct", "importance", "performance"]).set_index("construct")
    inds = pd.DataFrame(irow, columns=["indicator", "construct", "weight", "importance", "performance"])
    rescaled = pd.DataFrame(scores)          # every construct, dimensions of a HOC included
    return IPMAResult(target, cons, inds.set_index("indicator"), warn, scores=rescaled)
