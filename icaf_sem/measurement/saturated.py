"""Reliability on the saturated (EM) covariance matrix: every respondent, one N (Enders 2003).

Under FIML the CFA and SEM use all N respondents, while the classical
alpha, item-total statistics and HTMT need complete cases.  Enders (2003)
computes alpha from the EM estimate of the covariance matrix of all N
respondents instead, so that a table putting alpha beside loadings, CR and
AVE rests on one sample.  :func:`reliability_on_cov` recomputes those
statistics from a covariance matrix (the CFA's ``sample_cov``, which under
FIML is the EM saturated-model covariance) and returns a
:class:`~icaf_sem.measurement.reliability.ReliabilityReport` whose ``basis`` is
``"em"``; omega, CR and AVE come from the FIML CFA as before.

The same formulas on the complete-case covariance (ML, divisor n) give
``psych::alpha``'s raw alpha: alpha = k / (k - 1) * (1 - tr(S) / 1'S1).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

__all__ = ["alpha_from_cov", "item_total_from_cov", "reliability_on_cov"]


def alpha_from_cov(cov: pd.DataFrame, items) -> dict:
    """Raw and standardized alpha and the average inter-item correlation of ``items`` from a covariance matrix."""
    S = cov.loc[list(items), list(items)].to_numpy(float)
    k = len(items)
    if k < 2:
        return {"alpha": math.nan, "std_alpha": math.nan, "average_r": math.nan}
    d = np.sqrt(np.diag(S))
    R = S / np.outer(d, d)
    rbar = (R.sum() - k) / (k * (k - 1))
    return {"alpha": k / (k - 1) * (1 - np.trace(S) / S.sum()),
            "std_alpha": k * rbar / (1 + (k - 1) * rbar), "average_r": rbar}


def item_total_from_cov(cov: pd.DataFrame, constructs: dict, n: int) -> pd.DataFrame:
    """Corrected item-total correlation (``r_drop``) and alpha if deleted from a covariance matrix."""
    rows = []
    for c, its in constructs.items():
        its = list(its)
        if len(its) < 2:
            continue
        S = cov.loc[its, its].to_numpy(float)
        for i, it in enumerate(its):
            rest = [j for j in range(len(its)) if j != i]
            var_rest = S[np.ix_(rest, rest)].sum()
            r_drop = S[i, rest].sum() / math.sqrt(S[i, i] * var_rest)
            total = S.sum()
            raw_r = S[i, :].sum() / math.sqrt(S[i, i] * total)
            a_del = alpha_from_cov(cov, [its[j] for j in rest])
            rows.append({"construct": c, "item": it, "n": n, "sd": math.sqrt(S[i, i]), "raw_r": raw_r,
                         "r_drop": r_drop, "alpha_if_deleted": a_del["alpha"],
                         "std_alpha_if_deleted": a_del["std_alpha"]})
    return pd.DataFrame(rows)


def reliability_on_cov(report, cov: pd.DataFrame, n: int):
    """The report with alpha, item-total statistics and HTMT recomputed from ``cov`` (the EM matrix of n respondents).

    Parameters
    ----------
    report : ReliabilityReport
        From :func:`~icaf_sem.measurement.reliability.reliability_report` (its omega, CR,
        AVE and Fornell-Larcker table, from the FIML CFA, are kept).
    cov : DataFrame
        The saturated covariance matrix of the items (``SEMResult.sample_cov`` of a FIML fit).
    n : int
        Respondents behind ``cov``.

    Returns
    -------
    ReliabilityReport
        With ``n = n`` and ``basis = "em"``; alpha's Feldt interval is left empty (it
        assumes complete data).
    """
    from .reliability import constructs_from_model, discriminant_validity, htmt, reliability_verdicts

    cons = constructs_from_model(report.model) if report.model else \
        {c: list(g["item"]) for c, g in report.items.groupby("construct", sort=False)}
    table = report.constructs.copy()
    for idx, r in table.iterrows():
        its = cons.get(r["construct"], [])
        a = alpha_from_cov(cov, its)
        table.loc[idx, ["alpha", "std_alpha", "average_r"]] = [a["alpha"], a["std_alpha"], a["average_r"]]
        table.loc[idx, ["alpha_ci_lower", "alpha_ci_upper"]] = [math.nan, math.nan]
    table["n"] = n
    h = htmt(constructs=cons, sample_cov=cov.loc[[i for its in cons.values() for i in its],
                                                 [i for its in cons.values() for i in its]])
    th = report.thresholds
    out = dataclasses.replace(report, constructs=table, items=item_total_from_cov(cov, cons, n), htmt=h,
                              discriminant=discriminant_validity(h, report.fornell_larcker, thresholds=th),
                              verdicts=reliability_verdicts(table, th), n=n)
    out.basis = "em"
    return out
