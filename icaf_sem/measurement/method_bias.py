"""Common-method bias: Harman's single-factor test and an unmeasured latent method factor (ULMC/CLF).

Both are screens, not proofs.  Harman's test is known to be insensitive
(Podsakoff, MacKenzie, Lee & Podsakoff 2003): a single factor rarely explains
the majority of the variance even when method variance is substantial, so
"passing" it does not rule common-method bias out.  The unmeasured latent
method construct (Podsakoff et al. 2003; Liang, Saraf, Hu & Xue 2007) adds a
factor loading on every item, orthogonal to the traits, and compares fit and
trait loadings with and without it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError, ModelSpecificationError
from .diagnostics import _corr, _items_frame, _minres
from .reliability import constructs_from_model

__all__ = ["harman_single_factor", "unmeasured_method_factor", "MethodFactorResult", "HARMAN_WEAKNESS"]

HARMAN_WEAKNESS = ("Harman's single-factor test is insensitive: one factor rarely explains the majority of the "
                   "variance even when common-method variance is substantial, so a share below 50% does not rule "
                   "common-method bias out (Podsakoff, MacKenzie, Lee & Podsakoff 2003). Use it only as a first "
                   "screen, together with a method-factor model.")


def harman_single_factor(data: pd.DataFrame, items: Sequence[str] | None = None, *, method: str = "pca",
                         threshold: float = 0.50) -> pd.DataFrame:
    """Harman's single-factor test: the share of item variance one unrotated factor explains.

    Parameters
    ----------
    data : DataFrame
        Item answers (pairwise correlations are used).
    items : list of str, optional
        All the model's items (default: every numeric column).
    method : {"pca", "fa"}
        ``"pca"`` (the classic): the first eigenvalue of the correlation matrix
        divided by the number of items; ``"fa"``: the sum of squared loadings of
        a one-factor minres EFA divided by the number of items.
    threshold : float
        Share at or above which a dominant method factor is flagged (.50).

    Returns
    -------
    DataFrame
        One row: ``method, n, n_items, variance_explained, threshold, flagged, note``;
        ``note`` states the test's known weakness (:data:`HARMAN_WEAKNESS`).

    Examples
    --------
    R: ``psych::principal(x, nfactors = 1, rotate = "none")$Vaccounted[2, 1]``.
    """
    if method not in ("pca", "fa"):
        raise DataError(f"method={method!r} is not known; use 'pca' (classic Harman test) or 'fa'")
    frame = _items_frame(data, items)
    r = _corr(frame, "Harman's test")
    p = r.shape[0]
    if method == "pca":
        share = float(np.linalg.eigvalsh(r)[-1] / p)
    else:
        load, _ = _minres(r, 1)
        share = float((load ** 2).sum() / p)
    return pd.DataFrame([{"method": method, "n": len(frame), "n_items": p, "variance_explained": share,
                          "threshold": threshold, "flagged": share >= threshold, "note": HARMAN_WEAKNESS}])


@dataclass
class MethodFactorResult:
    """Trait model against trait + unmeasured method factor.

    Attributes
    ----------
    fit : DataFrame
        One row per model (``trait``, ``trait+method``): ``model, chisq, df,
        pvalue, cfi, tli, rmsea, srmr, aic, bic``, and for the method model
        ``delta_chisq, delta_df, p_delta`` (likelihood-ratio test) and ``delta_cfi``.
    loadings : DataFrame
        Per item: ``construct, item, std_trait, std_trait_with_method, delta,
        std_method, method_variance`` (squared standardized method loading) and
        ``flagged`` (|delta| > ``delta_threshold``).
    method_variance : float
        Mean squared standardized method loading: the share of item variance due to the method factor.
    syntax : str
        The lavaan syntax of the method model.
    warnings : list of str
    """

    fit: pd.DataFrame
    loadings: pd.DataFrame
    method_variance: float
    syntax: str
    warnings: list[str] = field(default_factory=list)
    results: Any = None

    def to_dict(self) -> dict:
        from .reliability import _nan_to_none
        return _nan_to_none({"fit": self.fit.to_dict(orient="records"),
                             "loadings": self.loadings.to_dict(orient="records"),
                             "method_variance": self.method_variance, "syntax": self.syntax,
                             "warnings": list(self.warnings)})


def method_factor_syntax(model: str, *, name: str = "CMV", equal_loadings: bool = True) -> str:
    """lavaan syntax of ``model`` plus a method factor on every item, orthogonal to the traits."""
    cons = constructs_from_model(model)
    if name in cons:
        raise ModelSpecificationError(f"the method factor name {name!r} is already a construct; pass another name=")
    items = list(dict.fromkeys(i for its in cons.values() for i in its))
    # equal loadings: every loading fixed at 1 and the method variance free (one parameter), which is
    # the equal-loading CLF without relying on how a labelled first loading is treated
    terms = [f"1*{i}" if equal_loadings else i for i in items]
    lines = [model.rstrip(), f"{name} =~ " + " + ".join(terms)]
    lines += [f"{name} ~~ 0*{f}" for f in cons]
    return "\n".join(lines) + "\n"


_FIT_COLS = ["chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "aic", "bic"]


def unmeasured_method_factor(data: pd.DataFrame, model: str, *, name: str = "CMV", equal_loadings: bool = True,
                             estimator: str = "ML", missing: str = "listwise",
                             delta_threshold: float = 0.20) -> MethodFactorResult:
    """Fit the trait CFA with and without an unmeasured latent method factor (ULMC / CLF).

    The method factor loads on every item of the model and is uncorrelated
    with the trait factors.  With ``equal_loadings=True`` (the common "common
    latent factor" set-up) its loadings are constrained equal (all fixed at 1, the
    method-factor variance free: one extra parameter), which keeps the model
    identified and stable; ``False`` frees them (first loading fixed at 1;
    Podsakoff et al. 2003).

    Parameters
    ----------
    data : DataFrame
        Scored item answers.
    model : str
        lavaan syntax of the trait CFA.
    name : str
        Name of the method factor.
    equal_loadings : bool
    estimator, missing : str
        Passed to :func:`icaf_sem.fit`.
    delta_threshold : float
        Change of standardized trait loadings above which an item is flagged (.20).

    Returns
    -------
    MethodFactorResult

    Examples
    --------
    R::

        fit0 <- cfa(model, data)
        fit1 <- cfa(paste(model, "CMV =~ 1*x1 + 1*x2 + ...", "CMV ~~ 0*F1 + 0*F2", sep = "\\n"), data)
        anova(fit0, fit1)
    """
    from .reliability import _engine_fit
    _fit = _engine_fit()

    syntax = method_factor_syntax(model, name=name, equal_loadings=equal_loadings)
    cons = constructs_from_model(model)
    trait = _fit(model, data, estimator=estimator, missing=missing)
    method = _fit(syntax, data, estimator=estimator, missing=missing)
    rows = []
    for label, res in (("trait", trait), ("trait+method", method)):
        fm = res.fit_measures
        rows.append({"model": label, **{k: _num(fm.get(k)) for k in _FIT_COLS}})
    fit_t = pd.DataFrame(rows)
    dchi = fit_t.loc[0, "chisq"] - fit_t.loc[1, "chisq"]
    ddf = fit_t.loc[0, "df"] - fit_t.loc[1, "df"]
    fit_t["delta_chisq"] = [math.nan, dchi]
    fit_t["delta_df"] = [math.nan, ddf]
    fit_t["p_delta"] = [math.nan, float(stats.chi2.sf(dchi, ddf)) if ddf > 0 else math.nan]
    fit_t["delta_cfi"] = [math.nan, fit_t.loc[1, "cfi"] - fit_t.loc[0, "cfi"]]

    def std_loadings(pt: pd.DataFrame, factor: str) -> dict:
        rows = pt[(pt["op"] == "=~") & (pt["lhs"] == factor)]
        return dict(zip(rows["rhs"], rows["std_all"].astype(float)))

    lrows = []
    m_load = std_loadings(method.parameters, name)
    for f, its in cons.items():
        t0, t1 = std_loadings(trait.parameters, f), std_loadings(method.parameters, f)
        for i in its:
            a, b, m = t0.get(i, math.nan), t1.get(i, math.nan), m_load.get(i, math.nan)
            lrows.append({"construct": f, "item": i, "std_trait": a, "std_trait_with_method": b,
                          "delta": b - a, "std_method": m, "method_variance": m * m,
                          "flagged": bool(abs(b - a) > delta_threshold)})
    loads = pd.DataFrame(lrows)
    warns = [f"trait model: {w}" for w in (trait.warnings or [])] + \
            [f"method model: {w}" for w in (method.warnings or [])]
    return MethodFactorResult(fit=fit_t, loadings=loads, method_variance=float(loads["method_variance"].mean()),
                              syntax=syntax, warnings=warns, results={"trait": trait, "method": method})


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan
