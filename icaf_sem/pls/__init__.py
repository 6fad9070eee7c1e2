"""PLS-SEM as SmartPLS 4 and seminr estimate it: :func:`pls` returns a :class:`PLSResult`."""
from __future__ import annotations

import warnings as _warnings

import numpy as np
import pandas as pd

from ..errors import (CollinearityWarning, EstimationError, ConvergenceWarning, DataError, ModelSpecificationError,
                      DataWarning)
from .algorithm import SCHEMES, moments
from .estimate import estimate
from .result import PLSResult
from .spec import PLSSpec, parse_pls_model, repeated_indicators

__all__ = ["pls", "PLSResult", "parse_pls_model", "PLSSpec"]

MISSING = ("listwise", "mean")
HOC_METHODS = ("two_stage", "repeated_indicators")


def _choice(name, value, allowed):
    if value not in allowed:
        raise ModelSpecificationError(f"{name}={value!r} is not supported; use one of {', '.join(map(repr, allowed))}")


def _prepare(data, items, missing):
    """(complete or mean-replaced indicator matrix, rows dropped); raises DataError on unusable data."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data: expected a pandas DataFrame, got {type(data).__name__}; read the file with "
                        "icaf_sem.load_survey() or pandas.read_csv()")
    columns = data.columns
    if not columns.is_unique:
        dup = sorted({i for i in items if isinstance(columns.get_loc(i), (slice, np.ndarray))}
                     if set(items) <= set(columns) else set())
        if dup:
            raise DataError(f"data: column name(s) {', '.join(dup)} occur more than once; rename them so each "
                            "indicator appears once")
    if columns.is_unique:
        where = {c: k for k, c in enumerate(columns.tolist())}    # (iterating an Index boxes each label)
        locs = [where.get(i, -1) for i in items]
    else:
        locs = [-1]
    if min(locs) < 0:
        absent = [i for i in items if i not in columns]
        if absent:
            raise DataError(f"data: indicator column(s) {', '.join(absent)} of the model are not in the data; "
                            "check the spelling in the model syntax or rename the columns")
        locs = [columns.get_loc(i) for i in items]
    try:        # fast column access (pandas internals); the public route below gives the same values
        cols = [data._get_column_array(k) for k in locs]
    except AttributeError:  # pragma: no cover - other pandas versions
        cols = [data[i].to_numpy() for i in items]
    if all(c.dtype.kind in "fiu" for c in cols):
        Xa = np.column_stack(cols).astype(float)
    else:
        sub = data[items]
        X = sub.apply(pd.to_numeric, errors="coerce")
        text = [i for i in items if (X[i].isna() & sub[i].notna()).any()]
        if text:
            raise DataError(f"data: column(s) {', '.join(text)} hold text that is not a number; clean the data "
                            "first (icaf_sem.clean) or recode the text")
        Xa = X.to_numpy(dtype=float)
    n0 = Xa.shape[0]
    miss = np.isnan(Xa)
    if np.isinf(Xa).any():
        raise DataError("data: the indicators hold infinite values; replace them with missing values")
    if miss.any():
        if missing == "listwise":
            Xa = Xa[~miss.any(axis=1)]
        else:
            allna = [i for i, a in zip(items, miss.all(axis=0)) if a]
            if allna:
                raise DataError(f"data: column(s) {', '.join(allna)} are empty; mean replacement needs observed "
                                "values")
            Xa = np.where(miss, np.nanmean(Xa, axis=0), Xa)
    if Xa.shape[0] < 3:
        raise DataError(f"data: only {Xa.shape[0]} complete row(s) on the model's indicators; PLS needs more "
                        "(use missing='mean' or check the data)")
    return Xa, n0 - Xa.shape[0]


def _check_constant(items, X, sd):
    scale = np.maximum(1.0, np.abs(X).max(axis=0))
    bad = ~(sd > 1e-12 * scale)
    if bad.any():
        const = [i for i, b in zip(items, bad) if b]
        raise DataError(f"data: indicator(s) {', '.join(const)} are constant in the {X.shape[0]} rows used; a "
                        "constant indicator has no variance and cannot be standardized; drop it from the model")


def _user_stacklevel():
    """stacklevel that points a warning at the first frame outside icaf_sem/pls (the user's call)."""
    import os
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    f, level = sys._getframe(1), 1
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(here):
        f, level = f.f_back, level + 1
    return level


def pls(model, data, *, scheme="path", consistent=False, missing="listwise", hoc="two_stage", bootstrap=0,
        seed=None, sign_change="none", ci="percentile", alpha=0.05, predict=None, predict_repetitions=10,
        n_jobs=1, max_iter=300, tol=1e-7):
    """Estimate a PLS-SEM model as SmartPLS 4 and seminr do.

    Parameters
    ----------
    model : str
        lavaan-style syntax: ``X =~ x1 + x2`` (mode A), ``X <~ x1 + x2`` (mode B), ``Y ~ X`` (path).
        A construct measured by constructs is a higher-order construct.
    data : pandas.DataFrame
        Raw indicator values; they are z-scored with SD (n - 1).
    scheme : {"path", "factor", "centroid"}
        Inner weighting scheme.
    consistent : bool
        PLSc (Dijkstra & Henseler 2015): every ``=~`` construct is a common factor, corrected with rho_A.
    missing : {"listwise", "mean"}
        Casewise deletion on the model's indicators, or mean replacement.
    hoc : {"two_stage", "repeated_indicators"}
        Higher-order constructs by the disjoint two-stage approach, or by repeated indicators.
    bootstrap : int
        Number of bootstrap draws (0 = none; SmartPLS's default is 10,000).
    seed : int, optional
        Seed of the bootstrap and of the k-fold PLSpredict folds.
    sign_change : {"none", "individual", "construct"}
        Bootstrap sign-change option.
    ci : {"percentile", "bca", "studentized"}
        The interval reported as ``ci_lower``/``ci_upper`` (all three are in ``result.bootstrap``).
    alpha : float
        1 - confidence level.
    predict : None, "loo" or int
        PLSpredict: leave-one-out or k-fold (with ``predict_repetitions`` repetitions).
    n_jobs : int
        Worker threads of the bootstrap; results do not depend on it.
    max_iter, tol : int, float
        Iteration limit (300) and stop criterion (max |w_new - w_old| < 1e-7).

    Returns
    -------
    PLSResult

    Examples
    --------
    >>> res = icaf_sem.pls(model, data, bootstrap=10000, seed=1)   # doctest: +SKIP

    The same model in R's seminr::

        estimate_pls(data, measurement_model = constructs(composite("X", c("x1", "x2")), ...),
                     structural_model = relationships(paths(from = "X", to = "Y")))
    """
    _choice("scheme", scheme, SCHEMES)
    _choice("missing", missing, MISSING)
    _choice("hoc", hoc, HOC_METHODS)
    from .bootstrap import CI_METHODS, SIGN_CHANGES
    _choice("sign_change", sign_change, SIGN_CHANGES)
    _choice("ci", ci, CI_METHODS)
    if not isinstance(bootstrap, (int, np.integer)) or isinstance(bootstrap, bool) or bootstrap < 0 or bootstrap == 1:
        raise ModelSpecificationError(f"bootstrap={bootstrap!r}: give the number of draws (0 for none, at least 2)")
    if not isinstance(tol, (int, float, np.floating)) or not (0 < tol < 1):
        raise ModelSpecificationError(f"tol={tol!r}: give the stop criterion as a small positive number (1e-7)")
    if not isinstance(alpha, (int, float, np.floating)) or not (0 < alpha < 1):
        raise ModelSpecificationError(f"alpha={alpha!r}: give a number between 0 and 1, e.g. 0.05")
    if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ModelSpecificationError(f"max_iter={max_iter!r}: give a positive integer (SmartPLS uses 300)")
    if predict not in (None, "loo") and not (isinstance(predict, (int, np.integer)) and predict >= 2):
        raise ModelSpecificationError(f"predict={predict!r}: use None, 'loo' (leave-one-out) or the number of folds (e.g. 10)")
    if predict is not None and predict != "loo" and (not isinstance(predict_repetitions, (int, np.integer))
                                                     or predict_repetitions < 1):
        raise ModelSpecificationError(f"predict_repetitions={predict_repetitions!r}: give a positive integer")
    spec = parse_pls_model(model)
    warn = []

    def _w(cls, msg):
        warn.append(msg)
        _warnings.warn(msg, cls, stacklevel=_user_stacklevel())

    raw_items = spec.items
    fit_spec, alias = spec, {}
    if spec.hoc and hoc == "repeated_indicators":
        fit_spec, alias = repeated_indicators(spec)
    items = fit_spec.items
    Xraw, dropped = _prepare(data, raw_items, missing)
    X = Xraw[:, [raw_items.index(alias.get(i, i)) for i in items]] if alias else Xraw
    n = X.shape[0]
    mean, sd, S = moments(X)
    _check_constant(items, X, sd[0])
    # formative blocks: collinearity
    for c in fit_spec.constructs:
        if fit_spec.modes[c] == "B" and len(fit_spec.blocks[c]) > 1 and c not in fit_spec.hoc:
            idx = [items.index(i) for i in fit_spec.blocks[c]]
            Sb = S[0][np.ix_(idx, idx)]
            if np.linalg.cond(Sb) > 1e12:
                raise ModelSpecificationError(
                    f"the indicators of the mode-B construct {c!r} ({', '.join(fit_spec.blocks[c])}) are perfectly "
                    "collinear; their regression weights do not exist; drop a redundant indicator or use mode A (=~)")
            vif = np.diag(np.linalg.inv(Sb))
            high = [f"{i} ({v:.1f})" for i, v in zip(fit_spec.blocks[c], vif) if v > 10]
            if high:
                _w(CollinearityWarning, f"mode-B construct {c!r}: indicator VIF above 10: {', '.join(high)}; "
                                        "its weights are unstable (consider dropping or merging indicators)")
    est = estimate(S, fit_spec, items, scheme=scheme, consistent=consistent, max_iter=max_iter, tol=tol)
    est.n = n
    if consistent:
        for st in est.stages:
            bad = [c for k, c in enumerate(st.layout.constructs) if st.layout.reflective[k] and not st.rho[0, k] > 0]
            if bad:
                raise EstimationError(f"PLSc: rho_A of {', '.join(map(repr, bad))} is not positive (its indicators "
                                      "correlate negatively with its weights); the consistent correction is "
                                      "undefined: check reversed items or use consistent=False")
    if not est.ok[0]:
        raise ModelSpecificationError("the PLS algorithm failed on this model and data (a singular construct "
                                      "correlation matrix: two constructs with identical scores?)")
    if not est.converged[0]:
        _w(ConvergenceWarning, f"the PLS algorithm did not converge in max_iter={max_iter} iterations "
                               f"(stop criterion {tol:g}); the estimates are not reliable: raise max_iter or "
                               "check the model")
    if dropped and missing == "listwise":
        _w(DataWarning, f"{dropped} row(s) with missing indicator values dropped (listwise deletion)")
    if consistent:
        for st in est.stages:
            for k, c in enumerate(st.layout.constructs):
                if st.layout.reflective[k] and not (0 < st.rho[0, k] <= 1):
                    _w(ConvergenceWarning, f"PLSc: rho_A of {c!r} is {st.rho[0, k]:.3f} (outside (0, 1]); the "
                                           "consistent estimates of this construct are not admissible")
    options = {"scheme": scheme, "consistent": bool(consistent), "missing": missing, "hoc": hoc,
               "bootstrap": int(bootstrap), "seed": seed, "sign_change": sign_change, "ci": ci, "alpha": alpha,
               "predict": predict if predict in (None, "loo") else int(predict), "max_iter": int(max_iter),
               "tol": float(tol)}
    pred = None
    if predict is not None and alias:
        raise ModelSpecificationError(
            "predict: PLSpredict with hoc='repeated_indicators' is not supported (the dimensions become "
            "endogenous and share their indicators with the higher-order construct); use hoc='two_stage'")
    if predict is not None:
        from .predict import pls_predict
        pred, _ = pls_predict(X, fit_spec, items, scheme=scheme, consistent=consistent,
                              folds=None if predict == "loo" else int(predict),
                              repetitions=1 if predict == "loo" else int(predict_repetitions), seed=seed,
                              max_iter=max_iter, tol=tol, item_alias=alias)
        options["predict_repetitions"] = 1 if predict == "loo" else int(predict_repetitions)
    boot = None
    if bootstrap:
        from .bootstrap import jackknife, run_bootstrap, statistic_names, statistics, summarize
        boot = run_bootstrap(X, fit_spec, items, est, draws=int(bootstrap), seed=seed, scheme=scheme,
                             consistent=consistent, sign_change=sign_change, n_jobs=n_jobs, max_iter=max_iter,
                             tol=tol)
        if boot["draws"].shape[0] < 2:
            raise EstimationError(f"bootstrap: {boot['failed']} of {bootstrap} draws failed; no "
                                          "bootstrap results can be reported")
        if boot["failed"]:
            _w(ConvergenceWarning, f"bootstrap: {boot['failed']} of {bootstrap} draws failed (constant indicator "
                                   "in the resample or singular block) and were left out")
        if boot["nonconverged"]:
            _w(ConvergenceWarning, f"bootstrap: {boot['nonconverged']} of {bootstrap} draws stopped at "
                                   f"max_iter={max_iter} without converging; they are kept, as in seminr/SmartPLS")
        names = statistic_names(est)
        orig = statistics(est)[0]
        # BCa needs the jackknife (n more fits): always for ci="bca", otherwise only for small samples
        jack = jackknife(X, fit_spec, items, est, scheme=scheme, consistent=consistent, max_iter=max_iter,
                         tol=tol) if (ci == "bca" or n <= 2000) else None
        boot["table"] = summarize(names, orig, boot["draws"], jack, alpha=alpha, ci=ci)
    return PLSResult(fit_spec if alias else spec, est, data=X, items=items, options=options, warnings=warn,
                     n_dropped=dropped, bootstrap=boot, predict=pred, model=model, alias=alias)


class _CallableModule(__import__("types").ModuleType):
    """``icaf_sem.pls`` is both this subpackage and the function :func:`pls`: once the subpackage is
    imported, the attribute ``icaf_sem.pls`` is the module, so the module forwards calls to :func:`pls`."""

    def __call__(self, *args, **kwargs):
        return pls(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule
