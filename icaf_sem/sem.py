"""``fit(model, data, ...)``: the one entry to estimation.

Examples
--------
>>> import icaf_sem
>>> res = icaf_sem.fit("visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6", hs)   # doctest: +SKIP
>>> res.fit_measures["cfi"]                                                     # doctest: +SKIP

The lavaan equivalent is ``sem(model, data = hs)`` with ``estimator = "ML"``,
``missing = "listwise"`` (or ``"ml"`` for FIML) and ``parameterEstimates(fit,
standardized = TRUE)`` / ``fitMeasures(fit)``.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .errors import (DataError, DataWarning, IdentificationError, ModelSpecificationError,
                     NotPositiveDefiniteWarning)
from .estimation.core import estimate
from .estimation.samplestats import GroupData
from .model.partable import build_partable
from .model.syntax import parse_model

ESTIMATORS = ("ML", "MLR")
MISSING = {"listwise": "listwise", "ml": "ml", "fiml": "ml", "direct": "ml", "ml.x": "ml.x",
           "pairwise": "pairwise", "available.cases": "pairwise"}
LIKELIHOODS = ("normal", "wishart")


def _flag(name, value, allow_none=False):
    if (value is None and allow_none) or isinstance(value, (bool, np.bool_)) or \
            (isinstance(value, (int, np.integer)) and value in (0, 1)):
        return None if value is None else bool(value)
    raise ModelSpecificationError(f"{name}={value!r} must be True or False"
                                  + (" (or None for lavaan's default)" if allow_none else ""))


def fit(model: str, data: pd.DataFrame, *, estimator: str = "ML", missing: str = "listwise",
        std_lv: bool = False, group: str | None = None, group_equal=(), group_partial=(),
        ordered: bool = False, bootstrap: int = 0, seed: int | None = None, progress: bool = False,
        modindices: bool = True, max_iter: int = 500, meanstructure: bool | None = None,
        orthogonal: bool = False, auto_fix_first: bool | None = None, fixed_x: bool = True,
        likelihood: str = "normal", model_type: str = "sem"):
    """Fit a CFA/SEM written in lavaan syntax and return an :class:`~icaf_sem.results.SEMResult`.

    Each keyword is the lavaan option of the same name in snake case; the lavaan call is shown
    beside it (``sem(model, data = df, ...)``).

    Parameters
    ----------
    model : str
        lavaan model syntax (``=~``, ``~``, ``~~``, ``~1``, ``:=``, labels, fixed values).
    data : pandas.DataFrame
        One row per respondent; the observed variables in the model must be numeric columns.
    estimator : {"ML", "MLR"}
        ``estimator = "ML"`` / ``"MLR"``.  ``"MLR"``: ML estimates with Huber-White standard
        errors and the Yuan-Bentler (Mplus) scaled test.
    missing : {"listwise", "ml", "ml.x", "pairwise"}
        ``missing = "listwise"`` / ``"ml"`` (FIML, also ``"fiml"``, ``"direct"``) / ``"ml.x"``
        (FIML that also keeps the cases with a missing exogenous covariate, whose moments are
        their FIML (EM) estimates) / ``"pairwise"`` (ML on the pairwise-present covariances and
        available-case means, expected-information SEs; ML only, as in lavaan).
    std_lv : bool
        ``std.lv = TRUE``: fix the latent variances to 1 instead of the first loading; with
        ``group_equal`` holding ``"loadings"`` they stay free in every group but the first.
    group : str, optional
        ``group = "col"``: the column defining the groups of a multi-group model.
    group_equal : str or sequence of str
        ``group.equal = c("loadings", "intercepts")``: kinds held equal across groups; a plain
        string is one kind, as in lavaan.
    group_partial : str or sequence of str
        ``group.partial = c("visual =~ x2")``: parameters exempt from ``group_equal``.
    ordered : bool
        Not supported: ordinal estimation (WLSMV) is outside icaf_sem's scope.
    bootstrap : int
        ``se = "bootstrap", bootstrap = 1000``: number of nonparametric bootstrap draws (0 = none).
    seed : int, optional
        Seed for the bootstrap (``set.seed()`` before the lavaan call).
    progress : bool
        Show a progress bar for the bootstrap (terminal and Jupyter).
    modindices : bool
        Compute modification indices (``modindices(fit)``) for the JSON export.
    max_iter : int
        ``control = list(iter.max = 500)``: iteration limit of the optimiser.
    meanstructure : bool, optional
        ``meanstructure = TRUE``: add intercepts and means.  None is lavaan's ``"default"``: a
        mean structure with FIML, several groups, ``~ 1`` in the syntax or ``model_type="growth"``.
    orthogonal : bool
        ``orthogonal = TRUE``: latent covariances not in the syntax are fixed to 0.
    auto_fix_first : bool, optional
        ``auto.fix.first = FALSE``: do not fix the first loading of each factor to 1 (set the
        scale in the syntax, e.g. ``f ~~ 1*f``).  None is lavaan's default, ``!std.lv``.
    fixed_x : bool
        ``fixed.x = FALSE``: estimate the variances, covariances and means of the exogenous
        observed covariates instead of fixing them at their sample values.  A covariate whose
        variance, covariance or intercept the syntax writes is estimated either way (lavaan's rule).
    likelihood : {"normal", "wishart"}
        ``likelihood = "wishart"``: the sample covariance matrix with divisor N - 1 and the test,
        standard errors and N-based indices on N - G (ML on complete data only).
    model_type : {"sem", "growth"}
        ``"growth"`` is lavaan's ``growth()``: observed intercepts fixed to 0, latent means free
        (see :func:`icaf_sem.growth`).  ``"sem"`` is ``sem()`` and ``cfa()``, whose defaults are
        the same.

    Returns
    -------
    SEMResult

    Examples
    --------
    >>> res = fit("ind60 =~ x1 + x2 + x3", pd_data)          # doctest: +SKIP
    >>> res.parameters.head()                                 # doctest: +SKIP

    The same model in lavaan: ``sem("ind60 =~ x1 + x2 + x3", data = PoliticalDemocracy)``.
    With options: ``fit(m, hs, std_lv=True, group="school", group_equal="loadings")`` is
    ``cfa(m, data = HolzingerSwineford1939, std.lv = TRUE, group = "school",
    group.equal = "loadings")``.
    """
    from .results import SEMResult

    est = str(estimator).upper()
    if est not in ESTIMATORS:
        raise ModelSpecificationError(f"estimator={estimator!r} is not supported; use 'ML' or 'MLR'")
    miss = MISSING.get(str(missing).lower())
    if miss is None:
        raise ModelSpecificationError(f"missing={missing!r} is not supported; use 'listwise', 'ml' (FIML), "
                                      "'ml.x' or 'pairwise'")
    if miss == "pairwise" and (est != "ML" or bootstrap):
        # lavaan refuses MLR with pairwise moments (no casewise scores); the bootstrap is not offered here
        raise ModelSpecificationError(
            f"missing='pairwise' is supported with estimator='ML' without bootstrap (got estimator={estimator!r}"
            f"{', bootstrap' if bootstrap else ''}); use missing='ml' (FIML) for MLR or the bootstrap")
    if ordered:
        raise ModelSpecificationError("ordered=True (categorical estimation, WLSMV) is not supported by icaf_sem; "
                                      "fit the items as continuous (the default) or use lavaan for ordinal models")
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}; read your file with "
                        "icaf_sem.load_survey() or pandas.read_csv()")
    if bootstrap and (int(bootstrap) != bootstrap or bootstrap < 0):
        raise ModelSpecificationError(f"bootstrap={bootstrap!r} must be a non-negative whole number of draws")
    group_equal = (group_equal,) if isinstance(group_equal, str) else tuple(group_equal or ())
    group_partial = (group_partial,) if isinstance(group_partial, str) else tuple(group_partial or ())
    if group_equal and not group:
        raise ModelSpecificationError("group_equal was given without group=; name the grouping column")
    std_lv = bool(_flag("std_lv", std_lv))
    meanstructure = _flag("meanstructure", meanstructure, allow_none=True)
    orthogonal = bool(_flag("orthogonal", orthogonal))
    auto_fix_first = _flag("auto_fix_first", auto_fix_first, allow_none=True)
    fixed_x = bool(_flag("fixed_x", fixed_x))
    lik = str(likelihood).lower()
    if lik not in LIKELIHOODS:
        raise ModelSpecificationError(f"likelihood={likelihood!r} is not known; use 'normal' or 'wishart'")
    if lik == "wishart" and (est != "ML" or miss != "listwise" or bootstrap):
        raise ModelSpecificationError(
            "likelihood='wishart' is supported with estimator='ML' on complete data (missing='listwise') "
            "without bootstrap; use the default likelihood='normal' for MLR, FIML or the bootstrap")
    if model_type not in ("sem", "growth"):
        raise ModelSpecificationError(f"model_type={model_type!r} is not known; use 'sem' (lavaan's sem() and "
                                      "cfa()) or 'growth' (lavaan's growth())")
    options = {"meanstructure": meanstructure, "orthogonal": orthogonal,
               "auto_fix_first": (not std_lv) if auto_fix_first is None else auto_fix_first,
               "fixed_x": fixed_x, "likelihood": lik, "model_type": model_type}

    stmts = parse_model(model)
    collected: list = []
    # the matrices are small: one BLAS thread is fastest and avoids oversubscription
    from ._linalg import one_blas_thread
    with one_blas_thread(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = _prepare(stmts, data, estimator=est, missing=miss, std_lv=std_lv, group=group,
                        group_equal=group_equal, group_partial=group_partial, **options)
        core = estimate(spec["pt"], spec["datas"], estimator=est, missing="ml" if miss == "ml.x" else miss,
                        max_iter=int(max_iter), likelihood=lik, missing_x=miss == "ml.x")
        result = SEMResult._from_core(core, model=model, spec=spec, modindices=modindices)
        # the options in force, under their lavaan names in snake case (defaults resolved)
        result.options = {"estimator": est, "missing": spec["missing_option"], "std_lv": std_lv,
                          "group": group, "group_equal": list(group_equal), "group_partial": list(group_partial),
                          **options, "meanstructure": bool(spec["pt"].meanstructure)}
        if bootstrap:
            from .estimation.bootstrap import run_bootstrap
            result._attach_bootstrap(run_bootstrap(core, int(bootstrap), seed=seed, progress=progress,
                                                   defined_fn=result._defined_draws,
                                                   def_names=[d[0] for d in core.pt.defined]))
    for w in caught:
        collected.append(w)
    # re-issue the warnings from the caller's frame and record every one on the result
    # (the result's own checks are already there)
    for w in collected:
        msg = str(w.message)
        if msg not in result.warnings:
            result.warnings.append(msg)
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result


def growth(model: str, data: pd.DataFrame, **kwargs):
    """Fit a latent growth model with lavaan's ``growth()`` defaults.

    The observed intercepts are fixed to 0 and the latent means (intercept, slope) are free, with a
    mean structure; everything else is :func:`fit` (every keyword of :func:`fit` is accepted).

    Examples
    --------
    >>> m = "i =~ 1*t1 + 1*t2 + 1*t3 + 1*t4\\ns =~ 0*t1 + 1*t2 + 2*t3 + 3*t4"
    >>> res = growth(m, demo_growth)                          # doctest: +SKIP

    The same model in lavaan: ``growth(m, data = Demo.growth)``; it equals
    ``fit(m, demo_growth, model_type="growth")``.
    """
    if "model_type" in kwargs and kwargs["model_type"] != "growth":
        raise ModelSpecificationError(f"growth() fits model_type='growth'; got model_type={kwargs['model_type']!r} "
                                      "(use icaf_sem.fit for sem()/cfa() defaults)")
    kwargs["model_type"] = "growth"
    return fit(model, data, **kwargs)


# ---------------------------------------------------------------------------- data preparation
def _prepare(stmts, data: pd.DataFrame, *, estimator, missing, std_lv, group, group_equal, group_partial,
             meanstructure=None, orthogonal=False, auto_fix_first=None, fixed_x=True, likelihood="normal",
             model_type="sem"):
    from .model.partable import variable_names
    names = variable_names([s for s in stmts if s.op in ("=~", "~", "~~", "~1")])
    missing_x = missing == "ml.x"          # FIML that keeps the cases with a missing covariate
    if missing_x:
        missing = "ml"
    ov = names.ov
    cols = list(map(str, data.columns))
    dup = sorted({c for c in cols if cols.count(c) > 1}) if len(set(cols)) < len(cols) else []
    if dup:
        raise DataError(f"the data has duplicated column names {dup}; rename them so each variable appears once")
    absent = [v for v in ov if v not in cols]
    if absent:
        raise ModelSpecificationError(
            f"variable(s) {', '.join(map(repr, absent))} appear in the model but are neither columns of the data "
            f"nor latent variables (defined with =~); check the spelling (data columns: "
            f"{', '.join(cols[:12])}{' ...' if len(cols) > 12 else ''})")
    # one float array (n x p) for the observed variables; only non-numeric columns go through pandas
    dtypes = dict(zip(cols, data.dtypes))
    plain = [v for v in ov if dtypes[v].kind in "iuf"]          # integer or float (not bool, not text)
    if len(plain) == len(ov):
        Xa = data.take(data.columns.get_indexer(ov), axis=1).to_numpy(dtype=float)
    else:
        Xa = np.empty((len(data), len(ov)))
        for j, v in enumerate(ov):
            col = data[v]
            if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
                conv = pd.to_numeric(col, errors="coerce")
                bad = col[conv.isna() & col.notna() & (col.astype(str).str.strip() != "")]
                if len(bad):
                    raise DataError(f"column {v!r} holds text ({bad.iloc[0]!r} in row {bad.index[0]!r}); item "
                                    "columns must be numeric: clean the wave first (icaf-sem clean) or recode the text")
                col = conv
            Xa[:, j] = col.astype(float).to_numpy()
    if np.isinf(Xa).any():
        raise DataError("the data hold infinite values; replace them with missing values")
    if group is not None:
        if group not in cols:
            raise DataError(f"group={group!r} is not a column of the data; choose one of {cols[:12]}")
        gcol = data[group]
        if gcol.isna().any():
            warnings.warn(DataWarning(f"{int(gcol.isna().sum())} rows have no value in the group column {group!r} "
                                      "and are left out"))
        # lavaan orders groups by first appearance
        labels = list(pd.unique(gcol.dropna()))
        if len(labels) < 2:
            raise DataError(f"group column {group!r} has {len(labels)} level(s); a multi-group model needs at least 2")
    else:
        labels = [1]
    datas = []
    for lab in labels:
        arr = Xa[(data[group] == lab).to_numpy()] if group is not None else Xa
        if missing == "ml" and names.ov_x and fixed_x and not missing_x:
            # lavaan (fixed.x = TRUE) deletes cases with a missing exogenous covariate, with a warning
            xcols = [ov.index(v) for v in names.ov_x]
            miss_x = np.isnan(arr[:, xcols]).any(1)
            if miss_x.any():
                where = f" in group {lab!r}" if group is not None else ""
                warnings.warn(DataWarning(
                    f"{int(miss_x.sum())} cases{where} were deleted due to missing values in the exogenous "
                    f"covariate(s) {', '.join(names.ov_x)} (fixed.x, as in lavaan); to keep those cases use "
                    "missing='ml.x' or fixed_x=False, or write the covariates' variances in the syntax"))
                arr = arr[~miss_x]
        keep = ~np.isnan(arr).any(1) if missing == "listwise" else ~np.isnan(arr).all(1)
        used = arr[keep]
        _check_columns(used, ov, lab if group is not None else None)
        if len(used) < 2:
            where = f" in group {lab!r}" if group is not None else ""
            raise DataError(f"only {len(used)} usable rows{where} for the model's {len(ov)} observed variables; "
                            "collect more responses (at least several per parameter) or use missing='ml'")
        if len(used) <= len(ov):
            where = f" in group {lab!r}" if group is not None else ""
            warnings.warn(DataWarning(f"only {len(used)} usable rows{where} for {len(ov)} observed variables: the "
                                      "sample covariance matrix cannot be positive definite; results are unreliable"))
        gd = GroupData(arr, ov, missing=missing, label=lab)
        if likelihood == "wishart":
            gd.wishart = True
            gd.compute()
        datas.append(gd)
    # lavaan's meanstructure = "default": FIML, several groups, `~ 1` in the syntax, growth();
    # FIML and `~ 1` force it whatever the option says
    if meanstructure is None:
        meanstructure = (missing == "ml" or any(s.op == "~1" for s in stmts) or (group is not None)
                         or model_type == "growth")
    elif meanstructure is False and missing == "ml":
        from .errors import ModelSpecificationWarning
        warnings.warn(ModelSpecificationWarning("missing='ml' (FIML) needs a mean structure: meanstructure=False "
                                                "is overridden (as lavaan does); leave meanstructure unset"))
    meanstructure = bool(meanstructure or missing == "ml" or any(s.op == "~1" for s in stmts))
    pt = build_partable(stmts, std_lv=std_lv, meanstructure=meanstructure, ngroups=len(labels),
                        group_labels=labels, group_equal=group_equal, group_partial=group_partial,
                        fixed_x=fixed_x, orthogonal=orthogonal,
                        auto_fix_first=(not std_lv) if auto_fix_first is None else auto_fix_first,
                        model_type=model_type)
    # order of the observed variables as the parameter table defines them
    from .estimation.core import n_moments
    df = n_moments(pt, datas) - pt.npar
    if df < 0:
        raise IdentificationError(
            f"the model has {pt.npar} free parameters but the data provide only {n_moments(pt, datas)} sample "
            f"moments (df = {df}): it is not identified; fix or constrain parameters (e.g. equal loadings) or add indicators")
    for d in datas:
        S, mu = d.h1()
        ev = np.linalg.eigvalsh(S)
        if ev.min() <= 1e-10 * max(1.0, ev.max()):
            where = f" in group {d.label!r}" if group is not None else ""
            warnings.warn(NotPositiveDefiniteWarning(
                f"the sample covariance matrix{where} is not positive definite (smallest eigenvalue {ev.min():.3g}): "
                "some variables are linear combinations of others or there are too few rows; drop redundant items"))
    return {"pt": pt, "datas": datas, "group": group, "group_labels": labels, "ov": ov,
            "missing_option": "ml.x" if missing_x else missing,
            "n_dropped": sum(d.n_dropped for d in datas), "n_input": len(data)}


def _check_columns(arr, ov, group_label):
    where = f" in group {group_label!r}" if group_label is not None else ""
    nan = np.isnan(arr)
    if not len(arr):
        nobs, const = np.zeros(len(ov), int), np.zeros(len(ov), bool)
    elif not nan.any():
        nobs, const = np.full(len(ov), len(arr)), arr.max(0) == arr.min(0)
    else:
        nobs = (~nan).sum(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            const = np.nanmax(arr, 0) == np.nanmin(arr, 0)
    for j, v in enumerate(ov):
        if nobs[j] == 0:
            raise DataError(f"column {v!r} has no observed values{where}; drop it from the model or check the data")
        if nobs[j] > 1 and const[j]:
            obs = arr[:, j][~np.isnan(arr[:, j])]
            raise DataError(f"column {v!r} is constant{where} (every value is {obs[0]:g}); a constant item carries "
                            "no covariance information: drop it from the model")
