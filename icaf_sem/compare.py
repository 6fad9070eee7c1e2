"""Model comparison: lavaan's ``lavTestLRT`` for nested models and the Vuong test for
non-nested ones.

* :func:`compare` -- the chi-square difference test of nested models, as ``lavTestLRT``:
  the standard difference for ML; Satorra-Bentler (2001) for the Satorra-Bentler and
  Yuan-Bentler scaled tests (MLM, MLR); Satorra (2000) with the scaled-and-shifted
  correction for the mean-and-variance adjusted tests (MLMV, MLMVS), lavaan's defaults.
* :func:`vuong_test` -- Vuong's (1989) tests for non-nested models as implemented by
  Merkle, You & Preacher (2016) in R's ``nonnest2::vuongtest``: the variance
  (distinguishability) test and the non-nested likelihood-ratio test, from the casewise
  log-likelihoods and scores of the two fits.

Examples
--------
>>> res0 = icaf_sem.fit(model_equal, hs, estimator="MLM")            # doctest: +SKIP
>>> res1 = icaf_sem.fit(model_free, hs, estimator="MLM")             # doctest: +SKIP
>>> icaf_sem.compare(res1, res0, names=["free", "equal"])            # doctest: +SKIP

In lavaan: ``lavTestLRT(fit1, fit0, model.names = c("free", "equal"))``; the Vuong test is
``nonnest2::vuongtest(fitA, fitB)``.
"""
from __future__ import annotations

import sys
import types
import warnings

import numpy as np
import pandas as pd
from scipy import integrate, linalg, special, stats

from .errors import IcafWarning, ModelSpecificationError
from .estimation import inference
from .estimation import tests as T
from .estimation.fit_measures import rmsea as _rmsea

COLUMNS = ["df", "aic", "bic", "chisq", "chisq_diff", "df_diff", "pvalue"]


class ComparisonWarning(IcafWarning):
    """A model comparison whose result needs care (same df, a restricted model fitting better)."""


def _check_results(results):
    from .results import SEMResult
    for i, r in enumerate(results):
        if not isinstance(r, SEMResult):
            raise ModelSpecificationError(f"argument {i + 1} of compare() is a {type(r).__name__}, not a fitted "
                                          "model; pass results of icaf_sem.fit()")
    ref = results[0]
    for r in results[1:]:
        if sorted(r._core.pt.names.ov) != sorted(ref._core.pt.names.ov):
            raise ModelSpecificationError("the models use different observed variables; nested models must be "
                                          "fitted to the same variables (use vuong_test for non-nested models "
                                          "of the same items)")
        if r.nobs != ref.nobs or len(r._core.datas) != len(ref._core.datas):
            raise ModelSpecificationError(f"the models were fitted to different data (N = {ref.nobs} and "
                                          f"{r.nobs}); fit them to the same rows")
        if r._core.pt.meanstructure != ref._core.pt.meanstructure:
            raise ModelSpecificationError("some models have a mean structure and others not; give them the same "
                                          "(e.g. add intercepts to both, or missing='ml' for both)")
        if r._core.options.tests != ref._core.options.tests:
            raise ModelSpecificationError("the models were fitted with different estimators/tests "
                                          f"({ref._core.options.estimator} and {r._core.options.estimator}); "
                                          "fit them the same way")


def compare(*results, method: str = "default", names=None) -> pd.DataFrame:
    """Chi-square difference tests of nested models (lavaan's ``lavTestLRT``).

    Parameters
    ----------
    *results : SEMResult
        Two or more fits of nested models to the same data, with the same estimator.  They are
        ordered by their degrees of freedom (the least restricted first), as lavaan does.
    method : {"default", "satorra.bentler.2001", "satorra.2000", "standard"}
        The scaled difference test; ``"default"`` is lavaan's choice: Satorra-Bentler 2001 for
        the Satorra-Bentler and Yuan-Bentler tests (MLM, MLR), Satorra 2000 (scaled and shifted)
        for the mean-and-variance adjusted tests (MLMV, MLMVS), the plain difference for ML.
    names : list of str, optional
        Model names (index of the table); ``model1``, ``model2``, ... by default.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``df, aic, bic, chisq`` (the standard statistic of each model, as
        lavaan shows), ``chisq_diff, df_diff, pvalue`` (the difference to the model above), and
        ``rmsea`` (of the difference) for unscaled tests.  ``attrs["method"]`` names the test.

    Examples
    --------
    >>> compare(fit_free, fit_equal, names=["free", "equal"])   # doctest: +SKIP

    lavaan: ``lavTestLRT(fit_free, fit_equal, model.names = c("free", "equal"))``.
    """
    if len(results) == 1 and isinstance(results[0], (list, tuple)):
        results = tuple(results[0])
    if len(results) < 2:
        raise ModelSpecificationError("compare() needs at least two fitted models; for one model its chi-square "
                                      "test is in result.tests")
    _check_results(results)
    if names is None:
        names = [f"model{i + 1}" for i in range(len(results))]
    names = [str(n) for n in names]
    if len(names) != len(results):
        raise ModelSpecificationError(f"names has {len(names)} entries for {len(results)} models")
    dfs = np.array([r._core.df for r in results])
    order = np.argsort(dfs, kind="stable")
    mods = [results[i] for i in order]
    names = [names[i] for i in order]
    scaled_test = mods[0]._core.options.scaled_test
    scaled = scaled_test is not None
    meth = str(method).lower().replace("-", ".").replace("_", ".")
    if meth in ("default",):
        if not scaled:
            meth = "standard"
        elif scaled_test in ("satorra.bentler", "yuan.bentler", "yuan.bentler.mplus"):
            meth = "satorra.bentler.2001"
        else:
            meth = "satorra.2000"
    if meth not in ("standard", "satorra.bentler.2001", "satorra.2000"):
        raise ModelSpecificationError(f"method={method!r} is not supported; use 'default', 'satorra.bentler.2001', "
                                      "'satorra.2000' or 'standard'")
    if meth != "standard" and not scaled:
        warnings.warn(ComparisonWarning(f"method={method!r} but the models have no robust test; the standard "
                                        "chi-square difference test is used (as lavaan does)"))
        meth = "standard"
    if meth == "satorra.2000" and any(r.missing == "ml" for r in mods):
        raise ModelSpecificationError("the Satorra (2000) difference test needs complete data (missing='listwise')")
    stat = np.array([r._core.chisq for r in mods])
    df = np.array([r._core.df for r in mods], float)
    d_stat = np.concatenate([[np.nan], np.diff(stat)])
    d_df = np.concatenate([[np.nan], np.diff(df)])
    if np.any(d_stat[1:] < -np.finfo(float).eps ** (1 / 3)):
        warnings.warn(ComparisonWarning(
            "some restricted models fit better than less restricted models; either these models are not nested, "
            f"or the less restricted model failed to reach a global optimum (smallest difference "
            f"{np.nanmin(d_stat[1:]):.4g})"))
    scale = np.full(len(mods), np.nan)
    shift = np.full(len(mods), np.nan)
    N = mods[0]._core.ntotal
    G = len(mods[0]._core.datas)
    if meth == "standard":
        rm = [np.nan] + [_rmsea(d_stat[i], d_df[i], N, G) if d_df[i] > 0 else np.nan
                         for i in range(1, len(mods))]
    from ._linalg import one_blas_thread
    with one_blas_thread():                   # small matrices: one BLAS thread is fastest
        for m in range(len(mods) - 1):
            m1, m0 = mods[m], mods[m + 1]
            if meth == "satorra.bentler.2001":
                d_stat[m + 1], d_df[m + 1], scale[m + 1] = _sb2001(m1, m0)
            elif meth == "satorra.2000":
                d_stat[m + 1], d_df[m + 1], scale[m + 1], shift[m + 1] = _satorra2000(m1, m0)
    with np.errstate(invalid="ignore"):
        pval = np.where(np.isfinite(d_stat) & (d_df > 0), stats.chi2.sf(d_stat, np.where(d_df > 0, d_df, 1)), np.nan)
    same = np.flatnonzero(d_df[1:] == 0) + 1
    if len(same):
        pval[same] = np.nan
        warnings.warn(ComparisonWarning("some models have the same degrees of freedom: they are not nested and "
                                        "their difference has no test (use vuong_test for non-nested models)"))
    out = pd.DataFrame({"df": df.astype(int), "aic": [r.fit_measures["aic"] for r in mods],
                        "bic": [r.fit_measures["bic"] for r in mods], "chisq": stat,
                        "chisq_diff": d_stat, "df_diff": d_df, "pvalue": pval}, index=pd.Index(names, name="model"))
    if meth == "standard":
        out.insert(5, "rmsea", rm)
    if meth == "satorra.2000":
        out["scale"], out["shift"] = scale, shift
    elif meth == "satorra.bentler.2001":
        out["scaling_factor"] = scale
    out.attrs["method"] = meth
    return out


def _sb2001(m1, m0):
    """Satorra & Bentler (2001): cd = (r0 c0 - r1 c1) / (r0 - r1), T = (T0 - T1) / cd."""
    sc = m1._core.options.scaled_test
    T1, r1, c1 = m1._core.chisq, m1._core.df, m1.test_results[sc].scaling_factor
    T0, r0, c0 = m0._core.chisq, m0._core.df, m0.test_results[sc].scaling_factor
    if r1 == 0:
        c1 = 1.0
    m = r0 - r1
    if m == 0:
        return T0 - T1, 0, np.nan
    cd = (r0 * c0 - r1 * c1) / m
    if cd < 0:
        warnings.warn(ComparisonWarning("the Satorra-Bentler difference scaling factor is negative; the scaled "
                                        "difference test is not available (try method='satorra.2000')"))
        cd = np.nan
    return (T0 - T1) / cd, m, cd


def _delta_stacked(core, order):
    """Delta of all groups stacked, rows (mu, vech Sigma) per group in the variable order ``order``."""
    blocks = []
    for ram in core.rams:
        perm = np.array([ram.ov.index(v) for v in order])
        d_sigma, d_mu = ram.delta(core.theta)
        d_sigma = d_sigma[:, perm][:, :, perm]
        ci, ri = inference._vech_pairs(len(perm))
        vs = d_sigma[:, ri, ci]
        blocks.append((np.hstack([d_mu[:, perm], vs]) if ram.meanstructure else vs).T)
    return np.vstack(blocks)


def _satorra2000(m1, m0):
    """Satorra (2000) difference test, scaled and shifted (lavaan's lav_test_diff_Satorra2000, A.method = 'delta')."""
    c1, c0 = m1._core, m0._core
    T1, r1, T0, r0 = c1.chisq, c1.df, c0.chisq, c0.df
    m = r0 - r1
    if m == 0:
        return T0 - T1, 0, np.nan, np.nan
    order = list(c1.rams[0].ov)
    D1 = _delta_stacked(c1, order)
    D0 = _delta_stacked(c0, order)
    H = np.linalg.lstsq(D1, D0, rcond=None)[0]          # pinv(D1) D0 (D1 has full column rank)
    A = linalg.null_space(H.T).T                         # rows: orthogonal complement of col(H)
    P_inv = c1.info_inv if c1.info_inv is not None else np.linalg.inv(c1.info)
    APA = A @ P_inv @ A.T
    tiny = np.sqrt(np.finfo(float).eps)
    keep = ~((np.abs(APA.sum(0)) < tiny) & (np.abs(APA.sum(1)) < tiny))
    A = A[keep]
    X = P_inv @ A.T @ np.linalg.pinv(A @ P_inv @ A.T) @ A @ P_inv
    M = T.robust_sem_meat(c1, T._groups(c1, "expected"))
    XM = X @ M
    tr1 = np.trace(XM)
    tr2 = np.sum(XM * XM.T)
    a = np.sqrt(m / tr2)
    b = m - a * tr1
    return (T0 - T1) * a + b, m, a, b


# ----------------------------------------------------------------------------- Vuong test
def casewise_loglik(result) -> np.ndarray:
    """Casewise log-likelihoods of a fit (lavaan's ``lavInspect(fit, "loglik.casewise")``), groups stacked.

    Without a mean structure the implied means are the sample means; with fixed exogenous
    covariates the likelihood is conditional on them, as lavaan reports it.
    """
    core = result._core
    out = []
    for g, (ram, d) in enumerate(zip(core.rams, core.datas)):
        sigma, mu = ram.implied(core.theta)
        if not ram.meanstructure:
            mu = core.h1[g][1]
        ll = _mvn_casewise(d.X, sigma, mu)
        if len(ram.x_idx):
            x = ram.x_idx
            sig1, mu1 = core.h1[g]
            ll = ll - _mvn_casewise(d.X[:, x], sig1[np.ix_(x, x)], mu1[x])
        out.append(ll)
    return np.concatenate(out)


def _mvn_casewise(X, sigma, mu):
    n, p = X.shape
    obs = ~np.isnan(X)
    ll = np.empty(n)
    pats, inv = np.unique(obs, axis=0, return_inverse=True)
    for k, pat in enumerate(pats):
        rows = np.flatnonzero(inv.ravel() == k)
        if not pat.any():
            ll[rows] = 0.0
            continue
        s = sigma[np.ix_(pat, pat)]
        L = np.linalg.cholesky(s)
        r = X[np.ix_(rows, np.flatnonzero(pat))] - mu[pat]
        z = linalg.solve_triangular(L, r.T, lower=True)
        ll[rows] = -0.5 * (pat.sum() * np.log(2 * np.pi) + 2 * np.log(np.diag(L)).sum() + np.sum(z * z, 0))
    return ll


def casewise_scores(result) -> np.ndarray:
    """Casewise derivatives of the log-likelihood w.r.t. the free parameters (lavaan's ``lavScores``)."""
    core = result._core
    return np.vstack([inference.casewise_scores(ram, d, core.theta) for ram, d in zip(core.rams, core.datas)])


def imhof_sf(x: float, lambdas) -> float:
    """P(sum_j lambda_j chi2_1 > x) by Imhof's (1961) integral (``CompQuadForm::imhof``'s Qq)."""
    lam = np.asarray(lambdas, float)

    def f(u):
        if u == 0.0:
            return 0.5 * (lam.sum() - x)
        theta = 0.5 * np.sum(np.arctan(lam * u)) - 0.5 * x * u
        rho = np.exp(np.sum(np.log1p((lam * u) ** 2)) / 4)
        return np.sin(theta) / (u * rho)
    val, _ = integrate.quad(f, 0, np.inf, limit=5000, epsabs=1e-12, epsrel=1e-9)
    # the integral's rounding error can leave a p-value of order -1e-12: report it as 0
    return float(min(max(0.5 + val / np.pi, 0.0), 1.0))


def vuong_test(result_a, result_b) -> pd.DataFrame:
    """Vuong's tests for two non-nested models of the same data (``nonnest2::vuongtest``).

    Parameters
    ----------
    result_a, result_b : SEMResult
        ML fits (complete data or FIML) of two models of the same observed variables and rows.

    Returns
    -------
    pandas.DataFrame
        Two rows: ``variance`` -- the distinguishability test (H0: the models fit equally well
        for every case; statistic n * omega^2, p-value from the weighted chi-square of the
        eigenvalues of Vuong's W matrix, Imhof's method); ``lrt`` -- the non-nested likelihood
        ratio test, statistic z = LR / (sqrt(n) omega) with ``pvalue_a`` (H1: model A fits
        better) and ``pvalue_b`` (H1: model B fits better).  ``attrs`` carry ``omega2``,
        ``lambda`` and the AIC/BIC of both models.

    Notes
    -----
    Following Merkle, You & Preacher (2016): omega^2 = (n - 1)/n var(l_A,i - l_B,i); A_k is the
    inverse of n vcov of model k, B_k = S_k'S_k / n and B_AB = S_A'S_B / n with S_k the casewise
    scores; W = [[-B_A A_A^-1, -B_AB A_B^-1], [B_AB' A_A^-1, B_B A_B^-1]] and the variance test
    refers n omega^2 to sum_j lambda_j^2 chi2_1, lambda the eigenvalues of W.

    Examples
    --------
    >>> vuong_test(fit_a, fit_b)     # doctest: +SKIP

    In R: ``nonnest2::vuongtest(fit_a, fit_b)``.
    """
    from .results import SEMResult
    for r in (result_a, result_b):
        if not isinstance(r, SEMResult):
            raise ModelSpecificationError(f"vuong_test() needs two results of icaf_sem.fit(), got {type(r).__name__}")
    if result_a.nobs != result_b.nobs or sorted(result_a._core.pt.names.ov) != sorted(result_b._core.pt.names.ov):
        raise ModelSpecificationError("the two models must be fitted to the same observed variables and rows")
    if any(getattr(d, "weights_sampling", None) is not None for r in (result_a, result_b) for d in r._core.datas):
        raise ModelSpecificationError("vuong_test() with sampling_weights= is not supported (the casewise "
                                      "likelihoods would need the weights); fit unweighted models to compare")
    if any(np.isnan(r._core.vcov).any() for r in (result_a, result_b)):
        raise ModelSpecificationError("vuong_test() needs the standard errors of both models (se='none' or a "
                                      "singular information matrix gives none)")
    from ._linalg import one_blas_thread
    with one_blas_thread():
        return _vuong(result_a, result_b)


def _vuong(result_a, result_b):
    llA, llB = casewise_loglik(result_a), casewise_loglik(result_b)
    n = len(llA)
    diff = llA - llB
    omega2 = (n - 1) / n * np.var(diff, ddof=1)
    sA, sB = casewise_scores(result_a), casewise_scores(result_b)
    AA = np.linalg.inv(n * result_a._core.vcov)
    AB = np.linalg.inv(n * result_b._core.vcov)
    AAi, ABi = np.linalg.inv(AA), np.linalg.inv(AB)
    BA, BB, Bc = sA.T @ sA / n, sB.T @ sB / n, sA.T @ sB / n
    W = np.block([[-BA @ AAi, -Bc @ ABi], [Bc.T @ AAi, BB @ ABi]])
    lam = np.sort(np.real(np.linalg.eigvals(W)))[::-1]
    p_var = imhof_sf(n * omega2, lam ** 2)
    lr = float(diff.sum())
    z = lr / (np.sqrt(n) * np.sqrt(omega2)) if omega2 > 0 else np.nan
    out = pd.DataFrame({"statistic": [n * omega2, z],
                        "pvalue": [p_var, np.nan],
                        "pvalue_a": [np.nan, float(special.ndtr(-z))],
                        "pvalue_b": [np.nan, float(special.ndtr(z))]},
                       index=pd.Index(["variance", "lrt"], name="test"))
    out.attrs.update({"omega2": float(omega2), "lambda": lam, "lr": lr, "n": n,
                      "aic": (result_a.fit_measures["aic"], result_b.fit_measures["aic"]),
                      "bic": (result_a.fit_measures["bic"], result_b.fit_measures["bic"])})
    return out


class _CallableModule(types.ModuleType):
    """``icaf_sem.compare`` is both this module and the function: once the module is imported the
    package attribute is the module, so calling it calls :func:`compare`."""

    def __call__(self, *results, **kwargs):
        return compare(*results, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
