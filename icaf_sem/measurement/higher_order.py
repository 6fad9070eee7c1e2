"""Reliability and convergent validity of second-order constructs.

One function, :func:`second_order_reliability`, computes from a fitted
second-order measurement model (first-order constructs on their items,
second-order constructs on first-order constructs):

* ``omega``: ``semTools::compRelSEM(fit, higher = ...)`` -- the share of the
  variance of the sum of all the construct's items that the second-order
  construct explains, over the *observed* variance of that sum (compRelSEM's
  default ``obs.var = TRUE``; under FIML the saturated EM covariance matrix).
* ``omega_l1, omega_l2, partial_omega_l1``: ``semTools::reliabilityL2(fit, h)``
  (model-implied variances):

  - common = (sum_i sum_f lambda_if gamma_f)^2 Var(H)  (items i of components f)
  - omega_l1 = common / (common + sum_f (sum_i lambda_if)^2 psi_ff + 1' Theta 1)
  - omega_l2 = (sum_f gamma_f)^2 Var(H) / ((sum_f gamma_f)^2 Var(H) + 1' Psi 1)
    (the components' disturbances Psi)
  - partial_omega_l1 = common / (common + 1' Theta 1)

* ``composite_reliability`` and ``ave`` from the standardized second-order
  loadings l of the components: CR = (sum l)^2 / ((sum l)^2 + sum(1 - l^2)),
  AVE = mean(l^2) (Fornell & Larcker 1981 on the components as indicators).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import ModelSpecificationError

__all__ = ["second_order_reliability"]


def _single_group(t: pd.DataFrame) -> pd.DataFrame:
    if "group" in t.columns and t["group"].nunique() > 1:
        raise ModelSpecificationError("second_order_reliability() takes a single-group model; fix: fit the "
                                      "second-order model without group=, or pass one group's fit")
    return t


def second_order_reliability(fitted) -> pd.DataFrame:
    """Omega, CR and AVE of every second-order construct of a fitted measurement model.

    Parameters
    ----------
    fitted : SEMResult
        A second-order measurement model (e.g. ``questionnaire.measurement_syntax()``
        fitted with :func:`icaf_sem.fit`).  Its ``sample_cov`` (the EM matrix under
        FIML) is the observed covariance of compRelSEM's ``obs.var = TRUE``.

    Returns
    -------
    DataFrame
        One row per second-order construct: ``construct, components, n_items, omega,
        omega_l1, omega_l2, partial_omega_l1, composite_reliability, ave``.

    Examples
    --------
    >>> from icaf_sem import fit, load_questionnaire
    >>> q = load_questionnaire("questionnaires/icaf.yaml")
    >>> res = fit(q.measurement_syntax(), data, missing="ml")                     # doctest: +SKIP
    >>> second_order_reliability(res)                                              # doctest: +SKIP

    The same numbers in R::

        fit <- cfa(model, data = d, missing = "ml")
        semTools::compRelSEM(fit, higher = c("CR", "DC"))
        semTools::reliabilityL2(fit, "CR")
    """
    t = _single_group(fitted.parameters)
    load = t[t["op"] == "=~"]
    lvs = list(dict.fromkeys(load["lhs"]))
    higher = [h for h in lvs if load.loc[load["lhs"] == h, "rhs"].isin(lvs).any()]
    cov = getattr(fitted, "sample_cov", None)

    def var(a, b=None):
        b = a if b is None else b
        r = t[(t["op"] == "~~") & (((t["lhs"] == a) & (t["rhs"] == b)) | ((t["lhs"] == b) & (t["rhs"] == a)))]
        return float(r["est"].iloc[0]) if len(r) else 0.0

    rows = []
    for h in higher:
        hl = load[load["lhs"] == h]
        if not hl["rhs"].isin(lvs).all():
            raise ModelSpecificationError(f"second-order construct {h!r} loads on items and constructs at once; "
                                          "fix: let it load on first-order constructs only")
        comps = list(hl["rhs"])
        gamma = hl["est"].to_numpy(float)
        vh = var(h)
        items, l1, unique = [], 0.0, 0.0
        for f, g in zip(comps, gamma):
            fl = load[load["lhs"] == f]
            lam = fl["est"].to_numpy(float)
            items += list(fl["rhs"])
            l1 += g * lam.sum()
            unique += lam.sum() ** 2 * var(f)         # diagonal of Psi only, as reliabilityL2
        common_l1 = l1 ** 2 * vh
        # the off-diagonal residual covariances count twice in 1' Theta 1
        theta = sum(var(a) for a in items) + 2 * sum(var(a, b) for i, a in enumerate(items) for b in items[i + 1:])
        psi_sum = sum(var(a) for a in comps) + 2 * sum(var(a, b) for i, a in enumerate(comps) for b in comps[i + 1:])
        common_l2 = gamma.sum() ** 2 * vh
        omega = math.nan
        if cov is not None and all(i in cov.index for i in items):
            omega = common_l1 / float(cov.loc[items, items].to_numpy(float).sum())
        std = hl["std_all"].to_numpy(float)
        s = std.sum()
        rows.append({"construct": h, "components": ", ".join(comps), "n_items": len(items), "omega": omega,
                     "omega_l1": common_l1 / (common_l1 + unique + theta),
                     "omega_l2": common_l2 / (common_l2 + psi_sum),
                     "partial_omega_l1": common_l1 / (common_l1 + theta),
                     "composite_reliability": s ** 2 / (s ** 2 + (1 - std ** 2).sum()),
                     "ave": float((std ** 2).mean())})
    return pd.DataFrame(rows, columns=["construct", "components", "n_items", "omega", "omega_l1", "omega_l2",
                                       "partial_omega_l1", "composite_reliability", "ave"])
