"""Analytic power and sample size for the model test, with RMSEA effect sizes.

The test statistic of an ML model test is taken as (noncentral) chi-square
with ``df`` degrees of freedom and non-centrality ``ncp = (N - 1) * F0``,
``F0 = df * RMSEA**2`` (single group).

* ``test="exact"`` (default): H0 RMSEA = 0 against H1 RMSEA = ``rmsea``, as
  semPower 2.2.0 computes it with ``effect.measure = "RMSEA"``: the critical
  value is the central chi-square quantile, the power the noncentral tail.
* ``test="close"``: MacCallum, Browne & Sugawara (1996) test of close fit,
  H0 RMSEA <= ``rmsea0`` (e.g. .05) against RMSEA = ``rmsea`` > ``rmsea0``
  (e.g. .08); the critical value is the upper ``alpha`` quantile of the
  noncentral chi-square under ``rmsea0``.
* ``test="not-close"``: H0 RMSEA >= ``rmsea0`` against RMSEA = ``rmsea`` <
  ``rmsea0`` (e.g. .01); the test rejects below the ``alpha`` quantile.

Three analyses, as G*Power and semPower name them:

* a-priori (``power=``): the smallest whole N whose power reaches the target (for the test of
  exact fit at least 10, as semPower reports it);
* post-hoc (``n=``): the power reached with N respondents;
* compromise (``n=`` and ``abratio=``): the critical value for which
  alpha / beta equals ``abratio``, and the alpha and beta it implies.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..errors import DataError, ModelSpecificationError

__all__ = ["rmsea", "RmseaPowerResult", "model_df"]

TESTS = ("exact", "close", "not-close")
SEMPOWER_MIN_N = 10
_MAX_N = 10_000_000


# --------------------------------------------------------------------------- distributions
def _sf(x, df, ncp):
    return float(stats.chi2.sf(x, df)) if ncp == 0 else float(stats.ncx2.sf(x, df, ncp))


def _cdf(x, df, ncp):
    return float(stats.chi2.cdf(x, df)) if ncp == 0 else float(stats.ncx2.cdf(x, df, ncp))


def _isf(q, df, ncp):
    return float(stats.chi2.isf(q, df)) if ncp == 0 else float(stats.ncx2.isf(q, df, ncp))


def _ppf(q, df, ncp):
    return float(stats.chi2.ppf(q, df)) if ncp == 0 else float(stats.ncx2.ppf(q, df, ncp))


def _at_n(n, df, eps, eps0, test, alpha):
    """Critical value, power, ncp under H1 and H0 for N respondents."""
    f0, f00 = df * eps ** 2, df * eps0 ** 2
    ncp, ncp0 = (n - 1) * f0, (n - 1) * f00
    if test == "not-close":
        crit = _ppf(alpha, df, ncp0)
        power = _cdf(crit, df, ncp)
    else:
        crit = _isf(alpha, df, ncp0)
        power = _sf(crit, df, ncp)
    return crit, power, ncp, ncp0


# --------------------------------------------------------------------------- model df
def model_df(model) -> int:
    """Degrees of freedom of a model's covariance-structure test (single group, no mean structure).

    Parameters
    ----------
    model : str, Questionnaire or path to a questionnaire YAML
        lavaan syntax, or a questionnaire whose ``model_syntax()`` is used.

    Returns
    -------
    int
        ``p (p + 1) / 2 - npar`` with ``p`` observed variables and ``npar`` free parameters,
        as lavaan's ``fitMeasures(fit, "df")`` for the model fitted to complete data.
    """
    from types import SimpleNamespace
    from ..estimation.core import n_moments
    from ..model.partable import build_partable, variable_names
    from ..model.syntax import parse_model
    syntax = _syntax_of(model)
    stmts = parse_model(syntax)
    names = variable_names([s for s in stmts if s.op in ("=~", "~", "~~", "~1")])
    meanstructure = any(s.op == "~1" for s in stmts)
    pt = build_partable(stmts, meanstructure=meanstructure)
    df = n_moments(pt, [SimpleNamespace(p=len(names.ov))]) - pt.npar
    if df <= 0:
        raise ModelSpecificationError(f"the model has df = {df}; an RMSEA-based power analysis needs a model with "
                                      "positive degrees of freedom (an over-identified model)")
    return int(df)


def _syntax_of(model) -> str:
    from pathlib import Path
    if hasattr(model, "model_syntax"):
        return model.model_syntax()
    if isinstance(model, (str, Path)):
        s = str(model)
        if s.endswith((".yaml", ".yml")) or (isinstance(model, Path)) or ("=~" not in s and "~" not in s):
            from ..questionnaire import load_questionnaire
            return load_questionnaire(model).model_syntax()
        return s
    raise DataError(f"model={type(model).__name__} is not a model; give lavaan syntax, a Questionnaire or the path "
                    "of a questionnaire YAML")


# --------------------------------------------------------------------------- result
@dataclass
class RmseaPowerResult:
    """Result of :func:`rmsea`.  ``to_dict()`` is what ``icaf-sem power rmsea --json`` writes."""
    analysis: str
    test: str
    df: int
    rmsea: float
    rmsea0: float
    alpha: float
    beta: float
    power: float
    n: int
    required_n: int | None
    critical_chisq: float
    ncp: float
    ncp0: float
    f0: float
    target_power: float | None = None
    abratio: float | None = None
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {"analysis": self.analysis, "test": self.test, "df": int(self.df), "rmsea": self.rmsea,
             "rmsea0": self.rmsea0, "alpha": self.alpha, "beta": self.beta, "power": self.power, "n": int(self.n),
             "required_n": None if self.required_n is None else int(self.required_n),
             "critical_chisq": self.critical_chisq, "ncp": self.ncp, "ncp0": self.ncp0, "f0": self.f0,
             "target_power": self.target_power, "abratio": self.abratio, "notes": list(self.notes)}
        return d

    def to_frame(self) -> pd.DataFrame:
        d = self.to_dict()
        d.pop("notes")
        return pd.DataFrame([d])

    def summary(self) -> str:
        h0 = {"exact": "RMSEA = 0", "close": f"RMSEA <= {self.rmsea0:g}", "not-close": f"RMSEA >= {self.rmsea0:g}"}
        lines = [f"Power analysis ({self.analysis}) for the test of {self.test} fit",
                 f"  H0: {h0[self.test]}   H1: RMSEA = {self.rmsea:g}   df = {self.df}",
                 f"  N = {self.n}" + (f" (required for power {self.target_power:g})" if self.required_n else ""),
                 f"  alpha = {self.alpha:.6g}   beta = {self.beta:.6g}   power = {self.power:.6g}",
                 f"  critical chi-square = {self.critical_chisq:.6g}   ncp = {self.ncp:.6g}"]
        return "\n".join(lines)

    __str__ = summary

    def _repr_html_(self):
        return self.to_frame().to_html(index=False)


# --------------------------------------------------------------------------- the analysis
def _check_prob(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(value) or not 0 < value < 1:
        raise DataError(f"{name}={value!r} must be a probability strictly between 0 and 1; e.g. {name}=0.05"
                        if name == "alpha" else
                        f"{name}={value!r} must be a probability strictly between 0 and 1; e.g. {name}=0.8")
    return float(value)


def rmsea(df=None, rmsea=None, *, rmsea0=0.0, test="exact", alpha=0.05, power=None, n=None, abratio=None,
          model=None) -> RmseaPowerResult:
    """Power and sample size for the model test with an RMSEA effect size.

    Parameters
    ----------
    df : int, optional
        Degrees of freedom of the model test; give ``model=`` instead to take them from a model.
    rmsea : float
        RMSEA under H1 (the alternative), > 0.
    rmsea0 : float, default 0
        RMSEA under H0: 0 for the test of exact fit; e.g. .05 for the tests of close and not-close fit.
    test : {"exact", "close", "not-close"}
    alpha : float, default 0.05
        Type I error (a-priori and post-hoc analyses).
    power : float, optional
        Target power: an a-priori analysis (the N needed).
    n : int, optional
        Number of respondents: a post-hoc analysis, or with ``abratio`` a compromise analysis.
    abratio : float, optional
        alpha / beta for a compromise analysis (needs ``n``; ``alpha`` is then an output).
    model : str or Questionnaire, optional
        lavaan syntax or a questionnaire; its df (``p(p+1)/2 - npar``) is used when ``df`` is not given.

    Returns
    -------
    RmseaPowerResult

    Examples
    --------
    >>> from icaf_sem import power
    >>> power.rmsea(df=100, rmsea=0.05, alpha=0.05, power=0.8).required_n
    164

    In R (semPower 2.2.0):
    ``semPower.aPriori(effect = .05, effect.measure = "RMSEA", alpha = .05, power = .8, df = 100)``.
    """
    test = str(test).lower().replace("_", "-")
    if test == "notclose":
        test = "not-close"
    if test not in TESTS:
        raise DataError(f"test={test!r} is not known; use 'exact', 'close' or 'not-close'")
    if df is None:
        if model is None:
            raise DataError("give df= (the model's degrees of freedom) or model= (lavaan syntax or a questionnaire)")
        df = model_df(model)
    if isinstance(df, bool) or not isinstance(df, (int, np.integer, float)) or df != int(df) or df < 1:
        raise DataError(f"df={df!r} must be a positive whole number of degrees of freedom; e.g. df=100")
    df = int(df)
    for name, v in (("rmsea", rmsea),):
        if v is None or isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not math.isfinite(v) \
                or v <= 0:
            raise DataError(f"{name}={v!r} must be a positive RMSEA (> 0); e.g. rmsea=0.05 for the alternative")
    rmsea = float(rmsea)
    if rmsea0 is None:
        rmsea0 = 0.0
    if isinstance(rmsea0, bool) or not isinstance(rmsea0, (int, float, np.floating)) or not math.isfinite(rmsea0) \
            or rmsea0 < 0:
        raise DataError(f"rmsea0={rmsea0!r} must be an RMSEA >= 0 (0 for the test of exact fit)")
    rmsea0 = float(rmsea0)
    if test == "exact":
        if rmsea0 != 0:
            raise DataError(f"test='exact' has H0 RMSEA = 0 but rmsea0={rmsea0!r} was given; use test='close' or "
                            "'not-close' for a nonzero rmsea0")
    elif rmsea0 <= 0:
        raise DataError(f"test={test!r} needs rmsea0 > 0 (e.g. rmsea0=0.05), got {rmsea0!r}")
    elif test == "close" and not rmsea > rmsea0:
        raise DataError(f"test='close' needs rmsea > rmsea0 (e.g. rmsea=0.08, rmsea0=0.05); got rmsea={rmsea}, "
                        f"rmsea0={rmsea0}")
    elif test == "not-close" and not rmsea < rmsea0:
        raise DataError(f"test='not-close' needs rmsea < rmsea0 (e.g. rmsea=0.01, rmsea0=0.05); got rmsea={rmsea}, "
                        f"rmsea0={rmsea0}")
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer, float)) or n != int(n) or n < 2:
            raise DataError(f"n={n!r} must be a whole number of respondents of at least 2; e.g. n=200")
        n = int(n)
    given = [k for k, v in (("power", power), ("n", n), ("abratio", abratio)) if v is not None]
    if abratio is not None:
        if n is None or power is not None:
            raise DataError("a compromise analysis takes n= and abratio= (and no power=); e.g. n=150, abratio=1")
        if isinstance(abratio, bool) or not isinstance(abratio, (int, float, np.floating)) \
                or not math.isfinite(abratio) or abratio <= 0:
            raise DataError(f"abratio={abratio!r} must be a positive ratio alpha/beta; e.g. abratio=1")
        return _compromise(df, rmsea, rmsea0, test, n, float(abratio))
    alpha = _check_prob("alpha", alpha)
    if power is not None and n is not None:
        raise DataError(f"give either power= (a-priori: the N needed) or n= (post-hoc: the power reached), not both "
                        f"(got {', '.join(given)})")
    if power is not None:
        power = _check_prob("power", power)
        if power <= alpha:
            raise DataError(f"power={power} must exceed alpha={alpha}: any N reaches a power of alpha")
        return _apriori(df, rmsea, rmsea0, test, alpha, power)
    if n is not None:
        crit, pw, ncp, ncp0 = _at_n(n, df, rmsea, rmsea0, test, alpha)
        return RmseaPowerResult("post-hoc", test, df, rmsea, rmsea0, alpha, 1 - pw, pw, n, None, crit, ncp, ncp0,
                                df * rmsea ** 2)
    raise DataError("say what to compute: power= (a-priori), n= (post-hoc) or n= with abratio= (compromise)")


def _apriori(df, eps, eps0, test, alpha, target):
    def pw(n):
        return _at_n(n, df, eps, eps0, test, alpha)[1]
    # semPower (exact fit) never reports an N below 10 ("power is higher than requested even for N < 10")
    lo = SEMPOWER_MIN_N if test == "exact" else 2
    if pw(lo) >= target:
        hi = lo
    else:
        hi = 4
        while pw(hi) < target:
            lo = hi
            hi *= 2
            if hi > _MAX_N:
                raise DataError(f"no N up to {_MAX_N:,} reaches power {target} (df = {df}, rmsea = {eps}, "
                                f"rmsea0 = {eps0}); the effect is too small to detect")
        # pw(lo) < target <= pw(hi): bisection on whole numbers (power increases with N)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if pw(mid) >= target:
                hi = mid
            else:
                lo = mid
    crit, p, ncp, ncp0 = _at_n(hi, df, eps, eps0, test, alpha)
    notes = []
    if test == "exact" and hi == SEMPOWER_MIN_N and pw(SEMPOWER_MIN_N - 1) >= target:
        notes.append(f"power is higher than requested even for N < {SEMPOWER_MIN_N}; N = {SEMPOWER_MIN_N} is reported, "
                     "as semPower does")
    return RmseaPowerResult("a-priori", test, df, eps, eps0, alpha, 1 - p, p, hi, hi, crit, ncp, ncp0,
                            df * eps ** 2, target_power=target, notes=notes)


def _compromise(df, eps, eps0, test, n, q):
    f0 = df * eps ** 2
    ncp, ncp0 = (n - 1) * f0, (n - 1) * df * eps0 ** 2
    upper = test != "not-close"     # reject above the critical value

    def log_alpha(c):
        return (stats.ncx2.logsf(c, df, ncp0) if ncp0 else stats.chi2.logsf(c, df)) if upper else \
            (stats.ncx2.logcdf(c, df, ncp0))

    def log_beta(c):
        return stats.ncx2.logcdf(c, df, ncp) if upper else stats.ncx2.logsf(c, df, ncp)

    def g(c):
        return float(log_alpha(c) - log_beta(c) - math.log(q))
    # alpha/beta is monotone in c: bracket the root
    centre = df + 0.5 * (ncp + ncp0)
    lo, hi = centre, centre
    sign = 1.0 if upper else -1.0      # g decreases in c for an upper-tail test
    for _ in range(200):
        if sign * g(lo) > 0:
            break
        lo = lo * 0.5
    for _ in range(200):
        if sign * g(hi) < 0:
            break
        hi = hi * 2 + 1
    if not (sign * g(lo) > 0 and sign * g(hi) < 0):
        raise DataError(f"no critical value gives alpha/beta = {q} (df = {df}, n = {n}); choose another abratio")
    crit = optimize.brentq(g, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps, maxiter=500)
    alpha = math.exp(log_alpha(crit))
    beta = math.exp(log_beta(crit))
    return RmseaPowerResult("compromise", test, df, eps, eps0, alpha, beta, 1 - beta, n, None, crit, ncp, ncp0, f0,
                            abratio=q)
