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

from .errors import (DataError, DataWarning, IdentificationError, ModelSpecificationError, ModelSyntaxError,
                     NotPositiveDefiniteWarning)
from .estimation.core import estimate
from .estimation.samplestats import GroupData
from .model.partable import build_partable
from .model.syntax import parse_model

from .estimation.tests import ESTIMATORS, resolve_options  # noqa: E402  (ML, MLR, MLM, MLMV, MLMVS, MLF)
MISSING = {"listwise": "listwise", "ml": "ml", "fiml": "ml", "direct": "ml", "ml.x": "ml.x",
           "pairwise": "pairwise", "available.cases": "pairwise"}
LIKELIHOODS = ("normal", "wishart")


def _flag(name, value, allow_none=False):
    if (value is None and allow_none) or isinstance(value, (bool, np.bool_)) or \
            (isinstance(value, (int, np.integer)) and value in (0, 1)):
        return None if value is None else bool(value)
    raise ModelSpecificationError(f"{name}={value!r} must be True or False"
                                  + (" (or None for lavaan's default)" if allow_none else ""))



def fit(model: str, data: pd.DataFrame, *, estimator: str | None = None, missing: str = "listwise",
        se: str | None = None, test=None, cluster: str | None = None, sampling_weights: str | None = None,
        std_lv: bool = False, group: str | None = None, group_equal=(), group_partial=(),
        ordered=False, parameterization: str = "delta", bootstrap: int = 0, seed: int | None = None,
        progress: bool = False, modindices: bool = True, max_iter: int = 500, meanstructure: bool | None = None,
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
    estimator : {"ML", "MLR", "MLM", "MLMV", "MLMVS", "MLF", "GLS", "ULS", "WLS"} or, with ordered items, {"WLSMV", "WLSM", "WLSMVS", "ULSMV", "ULSM", "ULS", "DWLS", "WLS"}
        lavaan's ``estimator=``.  Default: ``"ML"``, or ``"WLSMV"`` when ``ordered`` is given (as lavaan).
        The ML family gives ML estimates and differs in the default standard errors and test:
        ``"MLR"`` Huber-White SEs and the Yuan-Bentler (Mplus) scaled test; ``"MLM"`` robust.sem SEs
        and the Satorra-Bentler test; ``"MLMV"`` the scaled-and-shifted test; ``"MLMVS"`` the
        mean-and-variance adjusted (Satterthwaite) test; ``"MLF"`` first-order (outer product of the
        scores) standard errors.  MLM, MLMV and MLMVS need complete data: with ``missing="ml"`` they
        switch to listwise deletion with a warning, as lavaan does.  ``"GLS"``, ``"ULS"`` and
        ``"WLS"`` (ADF) are the least-squares estimators for continuous items (estimation/wls.py).
    missing : {"listwise", "ml", "ml.x", "pairwise"}
        ``missing = "listwise"`` / ``"ml"`` (FIML, also ``"fiml"``, ``"direct"``) / ``"ml.x"``
        (FIML that also keeps the cases with a missing exogenous covariate, whose moments are
        their FIML (EM) estimates) / ``"pairwise"`` (ML on the pairwise-present covariances and
        available-case means, expected-information SEs; ML only, as in lavaan).
    se : {"standard", "robust.huber.white", "robust.sem", "first.order", "bootstrap", "none"}, optional
        lavaan's ``se=`` (default: the estimator's).  ``"robust.mlr"``/``"robust.mlm"``/``"robust"``
        are accepted as in lavaan.  ``"bootstrap"`` uses ``bootstrap`` draws (1000 when 0) and ``seed``.
    test : str or list of str, optional
        lavaan's ``test=``: ``"standard"``, ``"satorra.bentler"``, ``"yuan.bentler"``,
        ``"yuan.bentler.mplus"``, ``"mean.var.adjusted"``, ``"scaled.shifted"``, ``"bollen.stine"``
        (``bootstrap`` draws, 1000 when 0, seeded by ``seed``) or ``"none"``.  The estimator's own
        test always comes first, as in lavaan; the first scaled test gives the ``.scaled`` and
        ``.robust`` fit measures.  Every test is in ``result.tests``.
    cluster : str, optional
        Column of cluster ids (lavaan's single-level ``cluster=``): a mean structure,
        cluster-robust standard errors (``se="robust.cluster"``: casewise scores summed per cluster,
        times sqrt(C / (C - 1))) and the Yuan-Bentler (Mplus) test with clustered first-order
        information; ``estimator="MLM"`` gives ``robust.cluster.sem`` and the Satorra-Bentler
        test with the clustered Gamma.  ML, MLR and MLM only.
    sampling_weights : str, optional
        Column of sampling weights (lavaan's ``sampling.weights=``): weighted (pseudo-)ML with the
        weights normalised to sum to N; as in lavaan, ``estimator="ML"`` becomes ``"MLR"``
        (Huber-White SEs with weighted scores, Yuan-Bentler test).
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
    ordered : bool or list of str
        ``True`` declares every observed variable of the model ordinal, a list names them
        (lavaan's ``ordered =``): thresholds, polychoric correlations and WLSMV (or another
        estimator of the WLS family); see :mod:`icaf_sem.estimation.wls`.
    parameterization : {"delta", "theta"}
        With ordered items: lavaan's ``parameterization`` (delta: unit latent-response variances;
        theta: unit residual variances).
    bootstrap : int
        Number of nonparametric bootstrap draws (0 = none).  Alone it means lavaan's
        ``se = "bootstrap", bootstrap = R`` (bootstrap SEs and percentile CIs); with
        ``test="bollen.stine"`` or an explicit ``se=`` it only sets the number of draws, as in lavaan.
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

    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}; read your file with "
                        "icaf_sem.load_survey() or pandas.read_csv()")
    if bootstrap and (int(bootstrap) != bootstrap or bootstrap < 0):
        raise ModelSpecificationError(f"bootstrap={bootstrap!r} must be a non-negative whole number of draws")
    group_equal = (group_equal,) if isinstance(group_equal, str) else tuple(group_equal or ())
    group_partial = (group_partial,) if isinstance(group_partial, str) else tuple(group_partial or ())
    if group_equal and not group:
        raise ModelSpecificationError("group_equal was given without group=; name the grouping column")

    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ModelSpecificationError(f"seed={seed!r} must be a whole number >= 0 (e.g. seed=1) or None")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ModelSpecificationError(f"max_iter={max_iter!r} must be a whole number >= 1 (e.g. 500)")
    if not isinstance(model, str):
        raise ModelSyntaxError(f"model must be lavaan syntax as a string, got {type(model).__name__}; "
                               "e.g. 'f =~ x1 + x2 + x3'")

    is_ordered = ordered is not False and ordered is not None and not (isinstance(ordered, (list, tuple))
                                                                        and not ordered)
    est0 = "ML" if estimator is None else str(estimator).upper()
    if is_ordered or est0 in ("GLS", "ULS", "WLS"):
        given = [k for k, v in (("se", se), ("test", test), ("cluster", cluster),
                                ("sampling_weights", sampling_weights)) if v is not None]
        given += [k for k, v, d in (("meanstructure", meanstructure, None), ("orthogonal", orthogonal, False),
                                    ("auto_fix_first", auto_fix_first, None), ("fixed_x", fixed_x, True),
                                    ("likelihood", likelihood, "normal"), ("model_type", model_type, "sem"))
                  if v != d]
        if given:
            what = "ordered items" if is_ordered else f"estimator={est0!r}"
            raise ModelSpecificationError(
                f"{', '.join(given)} with {what} is not supported yet: the WLS family reports its own robust "
                "standard errors and tests; drop the option(s), or use the ML family (ML, MLR, MLM, ...)")
    if is_ordered:
        with _numerical_safety_net("estimating the model with ordered items"):
            res = _fit_ordered(model, data, estimator=estimator, missing=missing, std_lv=std_lv, group=group,
                               group_equal=group_equal, group_partial=group_partial, ordered=ordered,
                               parameterization=parameterization, bootstrap=bootstrap, max_iter=max_iter,
                               seed=seed, progress=progress)
        res._want_mi = modindices
        return res
    est = est0
    if est in ("GLS", "ULS", "WLS"):
        with _numerical_safety_net(f"estimating the model with estimator={est!r}"):
            res = _fit_continuous_wls(model, data, estimator=est, missing=missing, std_lv=std_lv, group=group,
                                      bootstrap=bootstrap, max_iter=max_iter)
        res._want_mi = modindices
        return res
    miss = MISSING.get(str(missing).lower())
    if miss is None:
        raise ModelSpecificationError(f"missing={missing!r} is not supported; use 'listwise', 'ml' (FIML), "
                                      "'ml.x' or 'pairwise'")
    if miss == "pairwise" and (est != "ML" or bootstrap or se is not None or test is not None
                               or cluster is not None or sampling_weights is not None):
        # lavaan refuses MLR with pairwise moments (no casewise scores); the bootstrap is not offered here
        raise ModelSpecificationError(
            f"missing='pairwise' is supported with estimator='ML' and its default standard errors and test, "
            f"without bootstrap, cluster= or sampling weights (got estimator={estimator!r}"
            f"{', bootstrap' if bootstrap else ''}); use missing='ml' (FIML) for the robust options")
    std_lv = bool(_flag("std_lv", std_lv))
    meanstructure = _flag("meanstructure", meanstructure, allow_none=True)
    orthogonal = bool(_flag("orthogonal", orthogonal))
    auto_fix_first = _flag("auto_fix_first", auto_fix_first, allow_none=True)
    fixed_x = bool(_flag("fixed_x", fixed_x))
    lik = str(likelihood).lower()
    if lik not in LIKELIHOODS:
        raise ModelSpecificationError(f"likelihood={likelihood!r} is not known; use 'normal' or 'wishart'")
    if lik == "wishart" and (est != "ML" or miss != "listwise" or bootstrap or se is not None or test is not None
                             or cluster is not None or sampling_weights is not None):
        raise ModelSpecificationError(
            "likelihood='wishart' is supported with estimator='ML' and its default standard errors and test on "
            "complete data (missing='listwise'), without bootstrap, cluster= or sampling weights; use the default "
            "likelihood='normal' for the other options")
    if model_type not in ("sem", "growth"):
        raise ModelSpecificationError(f"model_type={model_type!r} is not known; use 'sem' (lavaan's sem() and "
                                      "cfa()) or 'growth' (lavaan's growth())")
    model_opts = {"meanstructure": meanstructure, "orthogonal": orthogonal,
                  "auto_fix_first": (not std_lv) if auto_fix_first is None else auto_fix_first,
                  "fixed_x": fixed_x, "likelihood": lik, "model_type": model_type}
    opts, miss_core, notes = resolve_options(est, se, test, "ml" if miss == "ml.x" else miss,
                                             cluster=cluster is not None)
    if miss_core != ("ml" if miss == "ml.x" else miss):      # the MLM family drops FIML for listwise
        miss = miss_core
    est = opts.estimator
    if cluster is not None:
        cols = list(map(str, data.columns)) if isinstance(data, pd.DataFrame) else []
        if str(cluster) not in cols:
            raise DataError(f"cluster={cluster!r} is not a column of the data; choose one of {cols[:12]}")
        if data[cluster].isna().any():
            raise DataError(f"the cluster column {cluster!r} has {int(data[cluster].isna().sum())} missing values; "
                            "give every row a cluster (lavaan refuses them too)")
        if bootstrap:
            raise ModelSpecificationError("bootstrap with cluster= is not supported (resampling would have to "
                                          "draw whole clusters); drop bootstrap= or cluster=")
    if sampling_weights is not None:
        cols = list(map(str, data.columns)) if isinstance(data, pd.DataFrame) else []
        if str(sampling_weights) not in cols:
            raise DataError(f"sampling_weights={sampling_weights!r} is not a column of the data; choose one of "
                            f"{cols[:12]}")
        wcol = pd.to_numeric(data[sampling_weights], errors="coerce")
        if wcol.isna().any() or (wcol < 0).any():
            raise DataError(f"the sampling-weight column {sampling_weights!r} has missing, non-numeric or negative "
                            "values; give every row a weight >= 0 (lavaan refuses them too)")
        # lavaan forces MLR for ML with sampling weights; the Satorra-Bentler family would need a
        # weighted Gamma, not reproduced here
        if opts.estimator == "ML" and se is None and test is None:
            opts, miss_core, notes = resolve_options("MLR", None, None, "ml" if miss == "ml.x" else miss,
                                                     cluster=cluster is not None)
            est = "MLR"
        if opts.se not in ("robust.huber.white", "robust.cluster", "none") or any(
                t not in ("standard", "yuan.bentler.mplus") for t in opts.tests if t != "none"):
            raise ModelSpecificationError(
                f"sampling_weights= is supported with estimator='ML' or 'MLR' and their defaults (robust "
                f"Huber-White SEs, Yuan-Bentler test), as lavaan uses them; got se={opts.se!r}, "
                f"test={'+'.join(opts.tests)!r}")
        if bootstrap:
            raise ModelSpecificationError("bootstrap with sampling_weights= is not supported; drop one of them")
    n_boot = int(bootstrap) if bootstrap else 0
    if (opts.se == "bootstrap" or "bollen.stine" in opts.tests) and not n_boot:
        n_boot = 1000                                   # lavaan's default number of draws
    stmts = parse_model(model)
    collected: list = []
    # the matrices are small: one BLAS thread is fastest and avoids oversubscription
    from ._linalg import one_blas_thread
    with one_blas_thread(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for note in notes:
            warnings.warn(DataWarning(note))
        with _numerical_safety_net("preparing the data"):
            spec = _prepare(stmts, data, estimator=est, missing=miss, std_lv=std_lv, group=group,
                            group_equal=group_equal, group_partial=group_partial, cluster=cluster,
                            sampling_weights=sampling_weights, **model_opts)
        from .estimation.constraints import check_supported
        check_supported(spec["pt"], estimator_opts=opts, bootstrap=bool(bootstrap) or opts.se == "bootstrap"
                        or "bollen.stine" in opts.tests, missing="ml" if miss == "ml.x" else miss)
        if n_boot:                  # before the fit: a request that cannot fit in memory fails at once
            from .estimation.bootstrap import check_bootstrap_memory
            check_bootstrap_memory(n_boot, [d.n for d in spec["datas"]], int(spec["pt"].npar),
                                   len(spec["ov"]), [d.patterns.G if d.has_missing else 0 for d in spec["datas"]],
                                   len(spec["pt"].defined))
        with _numerical_safety_net("estimating the model", spec):
            core = estimate(spec["pt"], spec["datas"], estimator=est, missing="ml" if miss == "ml.x" else miss,
                            max_iter=int(max_iter), options=opts, likelihood=lik, missing_x=miss == "ml.x")
            _check_user_starts(core)
            result = SEMResult._from_core(core, model=model, spec=spec, modindices=modindices)
        # the options in force, under their lavaan names in snake case (defaults resolved)
        result.options = {"estimator": est, "missing": spec["missing_option"], "std_lv": std_lv,
                          "group": group, "group_equal": list(group_equal), "group_partial": list(group_partial),
                          **model_opts, "meanstructure": bool(spec["pt"].meanstructure)}
        # lavaan's bootstrap= is a number of draws; here bootstrap=R alone also asks for bootstrap SEs
        # and CIs (se = "bootstrap"), except beside test="bollen.stine" or an explicit se=
        boot_se = opts.se == "bootstrap" or bool(bootstrap and se is None and "bollen.stine" not in opts.tests)
        if boot_se:
            from .estimation.bootstrap import run_bootstrap
            with _numerical_safety_net("bootstrapping", spec):
                boot = run_bootstrap(core, n_boot, seed=seed, progress=progress, defined_fn=result._defined_draws,
                                     def_names=[d[0] for d in core.pt.defined])
                result._bootstrap_vcov(boot)
                result._attach_bootstrap(boot)
        if "bollen.stine" in opts.tests:
            from .estimation.bootstrap import run_bootstrap
            from .estimation.tests import bollen_stine
            with _numerical_safety_net("computing the Bollen-Stine bootstrap test", spec):
                result._attach_test(bollen_stine(core, n_boot, seed, run_bootstrap))
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


# ---------------------------------------------------------------------------- numerical safety net
class _numerical_safety_net:
    """Turn a numpy/scipy failure (LinAlgError, ValueError, FloatingPointError, ...) into an IcafError.

    Our own errors pass through.  The message says what was being done, names the observed
    variables (or the involved ones when the sample covariance matrix is singular) and what to do.
    """

    def __init__(self, stage: str, spec: dict | None = None):
        self.stage, self.spec = stage, spec

    def __enter__(self):
        return self

    def __exit__(self, etype, exc, tb):
        from .errors import EstimationError, IcafError, ResourceError
        if exc is None or isinstance(exc, IcafError):
            return False
        if isinstance(exc, MemoryError):
            raise ResourceError(f"not enough memory while {self.stage}; use fewer rows, variables or bootstrap "
                                "draws, or a machine with more memory") from None
        if not isinstance(exc, (np.linalg.LinAlgError, ValueError, FloatingPointError, ZeroDivisionError,
                                OverflowError, ArithmeticError, TypeError)):
            return False
        involved = ""
        if self.spec is not None:
            for d in self.spec["datas"]:
                try:
                    S, _ = d.h1()
                    items = _singular_items(S, d.ov)
                except Exception:  # noqa: BLE001 - best effort for the message only
                    items = []
                if items:
                    where = f" in group {d.label!r}" if self.spec.get("group") is not None else ""
                    involved = (f"; the sample covariance matrix{where} is (nearly) singular, involving "
                                f"{', '.join(map(repr, items))}")
                    break
            if not involved:
                involved = f" (observed variables: {', '.join(self.spec['ov'][:12])})"
        raise EstimationError(
            f"the computation failed while {self.stage} ({type(exc).__name__}: {' '.join(str(exc).split())})"
            f"{involved}; check for redundant or nearly constant items, too few respondents, or start values "
            "far from the data (start(...) modifiers)") from None


def _check_user_starts(core) -> None:
    """No step was possible from the start values and some were given by the user: say which."""
    if core.converged or core.iterations > 0:
        return
    t = core.pt.table
    given = [f"{r.lhs} {r.op} {r.rhs}: start({r.start:g})" for r in t.itertuples()
             if r.start is not None and not pd.isna(r.start)]
    if given:
        from .errors import EstimationError
        raise EstimationError(f"the optimiser could not move from the start values given by start(...) "
                              f"({'; '.join(given[:5])}): the model cannot be evaluated there; remove those "
                              "start(...) modifiers or give values on the scale of the data")


def _singular_items(S: np.ndarray, names) -> list:
    """Variables involved in the (near) singularity of a covariance matrix (empty when it is fine)."""
    S = np.asarray(S, float)
    d = np.sqrt(np.abs(np.diag(S)))
    if not np.all(np.isfinite(S)) or np.any(d == 0):
        return [names[j] for j in range(len(d)) if not np.isfinite(d[j]) or d[j] == 0]
    R = S / np.outer(d, d)
    ev, vec = np.linalg.eigh(R)
    if ev[0] > 1e-8 * max(ev[-1], 1.0):
        return []
    v = np.abs(vec[:, 0])
    return [names[j] for j in np.argsort(-v) if v[j] > 0.1 * v.max()][:6]


def _check_values(Xa: np.ndarray, ov: list, where: str = "", per_item: bool = True) -> None:
    """Refuse data LAPACK cannot handle before it is called: a degenerate scale (1e-150),
    identical columns (a duplicated export column) and items with fewer than 3 answers."""
    obs = ~np.isnan(Xa)
    nobs = obs.sum(0)
    for j, v in enumerate(ov):
        if per_item and 0 < nobs[j] < 3:
            raise DataError(f"column {v!r} has only {int(nobs[j])} answer(s){where}; a variance and covariances "
                            "cannot be estimated from so few: drop the item from the model or collect more answers")
    with np.errstate(all="ignore"):
        mag = np.nanmax(np.abs(Xa), axis=0) if len(Xa) else np.zeros(len(ov))
        spread = (np.nanmax(Xa, axis=0) - np.nanmin(Xa, axis=0)) if len(Xa) else np.zeros(len(ov))
    for j, v in enumerate(ov):
        if nobs[j] and (mag[j] > 1e50 or 0 < spread[j] < 1e-50):
            raise DataError(f"column {v!r} has values on a degenerate scale{where} (largest |value| {mag[j]:.3g}, "
                            f"range {spread[j]:.3g}); rescale it (e.g. to the answer scale 1-7) before fitting")
    # identical columns (e.g. a question exported twice under two names)
    if len(ov) > 1 and len(Xa):
        filled = np.where(obs, Xa, np.inf)
        keys = {}
        for j, v in enumerate(ov):
            k = filled[:, j].tobytes()
            if k in keys:
                raise DataError(f"columns {keys[k]!r} and {v!r} hold identical values{where} (a duplicated export "
                                "column?); their covariance matrix is singular: keep one of them in the model")
            keys[k] = v


# ---------------------------------------------------------------------------- ordered items (WLSMV family)
def _fit_ordered(model, data, *, estimator, missing, std_lv, group, group_equal, group_partial, ordered,
                 parameterization, bootstrap, max_iter, seed=None, progress=False):
    """``fit(..., ordered=...)``: the three-stage WLS estimator (estimation/categorical.py, wls.py)."""
    from .estimation.wls import fit_ordinal
    est = "WLSMV" if estimator is None else str(estimator).upper()
    if est in ESTIMATORS:
        raise ModelSpecificationError(f"estimator={est!r} with ordered items is not supported (lavaan refuses it "
                                      "too); use 'WLSMV' (the default), or fit the items as continuous with "
                                      "ordered=False and estimator='MLR'")
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    miss = str(missing).lower()
    if miss in ("ml", "fiml", "direct"):
        raise ModelSpecificationError(
            f"missing={missing!r}: full-information ML (FIML) is not available with ordered items and WLSMV "
            "(lavaan refuses it too); use missing='pairwise' (or 'listwise'), or fit the items as continuous with "
            "estimator='MLR', missing='ml'")
    if isinstance(ordered, str):
        ordered = [x.strip() for x in ordered.split(",") if x.strip()]
    stmts = parse_model(model)
    from ._linalg import one_blas_thread
    with one_blas_thread(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit_ordinal(stmts, data, model_text=model, ordered=ordered, estimator=est,
                             parameterization=str(parameterization).lower(), std_lv=std_lv, group=group,
                             group_equal=tuple(group_equal), group_partial=tuple(group_partial), missing=miss,
                             max_iter=int(max_iter))
        if bootstrap:    # lavaan's se = "bootstrap": all three stages redone per draw
            from .estimation.ordinal_bootstrap import bootstrap_ordinal
            result._attach_bootstrap(bootstrap_ordinal(result, int(bootstrap), seed=seed, progress=progress))
    seen = set(result.warnings)
    for w in caught:
        msg = str(w.message)
        if msg not in seen:
            result.warnings.append(msg)
            seen.add(msg)
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result


def _fit_continuous_wls(model, data, *, estimator, missing, std_lv, group, bootstrap, max_iter):
    """``fit(..., estimator="GLS" | "ULS" | "WLS")`` with continuous items (estimation/wls.py)."""
    from .estimation.wls import fit_continuous
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if bootstrap:
        raise ModelSpecificationError(f"bootstrap with estimator={estimator!r} is not supported; use ML")
    stmts = parse_model(model)
    from ._linalg import one_blas_thread
    with one_blas_thread(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit_continuous(stmts, data, model_text=model, estimator=estimator, std_lv=std_lv,
                                missing=MISSING.get(str(missing).lower(), str(missing).lower()), group=group,
                                max_iter=int(max_iter))
    for w in caught:
        if str(w.message) not in result.warnings:
            result.warnings.append(str(w.message))
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result


# ---------------------------------------------------------------------------- data preparation
def _prepare(stmts, data: pd.DataFrame, *, estimator, missing, std_lv, group, group_equal, group_partial,
             cluster=None, sampling_weights=None, meanstructure=None, orthogonal=False, auto_fix_first=None,
             fixed_x=True, likelihood="normal", model_type="sem"):
    from .model.partable import variable_names
    missing_x = missing == "ml.x"          # FIML that keeps the cases with a missing covariate
    if missing_x:
        missing = "ml"
    names = variable_names([s for s in stmts if s.op in ("=~", "~", "~~", "~1")])
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
    from ._columns import numeric_block
    Xa = numeric_block(data, ov)
    if np.isinf(Xa).any():
        bad = [v for j, v in enumerate(ov) if np.isinf(Xa[:, j]).any()]
        raise DataError(f"the data hold infinite values (column(s) {', '.join(map(repr, bad))}); replace them "
                        "with missing values")
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
    # inside estimation.reuse.fit_session(): the groups of the same DataFrame are prepared once
    from .estimation import reuse
    # (not when preparing them may warn: cases dropped for a missing covariate, too few rows)
    session = reuse.current() if (cluster is None and sampling_weights is None and likelihood == "normal"
                                  and not (missing == "ml" and names.ov_x and fixed_x and not missing_x)) else None
    gkey = session.group_key(data, ov, group, labels, missing, missing_x, fixed_x) if session else None
    cached = session.get("groups", gkey, data) if session else None
    clus_all = data[cluster].to_numpy() if cluster is not None else None
    wt_all = pd.to_numeric(data[sampling_weights]).to_numpy(float) if sampling_weights is not None else None
    wts = []
    for lab in (labels if cached is None else ()):
        arr = Xa[(data[group] == lab).to_numpy()] if group is not None else Xa
        clus = None
        if clus_all is not None:
            clus = clus_all[(data[group] == lab).to_numpy()] if group is not None else clus_all
        wt = None
        if wt_all is not None:
            wt = wt_all[(data[group] == lab).to_numpy()] if group is not None else wt_all
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
                clus = clus[~miss_x] if clus is not None else None
                wt = wt[~miss_x] if wt is not None else None
        keep = ~np.isnan(arr).any(1) if missing == "listwise" else ~np.isnan(arr).all(1)
        used = arr[keep]
        _check_columns(used, ov, lab if group is not None else None)
        if len(used) < 3:
            where = f" in group {lab!r}" if group is not None else ""
            fewest = ""
            if missing == "listwise" and len(arr):
                cnt = (~np.isnan(arr)).sum(0)
                j = int(np.argmin(cnt))
                fewest = f" (the item with fewest answers is {ov[j]!r}: {int(cnt[j])})"
            raise DataError(f"only {len(used)} usable rows{where} for the model's {len(ov)} observed variables"
                            f"{fewest}; collect more responses (at least several per parameter)"
                            f"{' or use missing=ml' if missing == 'listwise' else ''}")
        _check_values(used, ov, f" in group {lab!r}" if group is not None else "", per_item=missing == "ml")
        if len(used) <= len(ov):
            where = f" in group {lab!r}" if group is not None else ""
            warnings.warn(DataWarning(f"only {len(used)} usable rows{where} for {len(ov)} observed variables: the "
                                      "sample covariance matrix cannot be positive definite; results are unreliable"))
        gd = GroupData(arr, ov, missing=missing, label=lab)
        if gd.has_missing:           # FIML keeps per-pattern p x p blocks: check before allocating them
            from .errors import ResourceError
            from .estimation.bootstrap import _gib, available_memory
            need = 8 * 6 * gd.patterns.G * len(ov) ** 2
            if need > 0.8 * available_memory():
                raise ResourceError(f"FIML with {gd.patterns.G} missing-data patterns of {len(ov)} variables "
                                    f"needs about {_gib(need)} of memory but about {_gib(available_memory())} "
                                    "is available; use missing='listwise' or fewer variables")
        if likelihood == "wishart":
            gd.wishart = True
            gd.compute()
        if clus is not None:
            gd.cluster = clus[keep]          # rows GroupData keeps (same rule as above)
        wts.append(wt[keep] if wt is not None else None)
        datas.append(gd)
    if cached is not None:
        datas = cached
    elif session is not None and all(d.n > len(ov) for d in datas):
        session.put("groups", gkey, data, datas)
    if wt_all is not None:
        # lavaan's sampling.weights.normalization = "total": the weights sum to the total N
        tot_n = sum(len(w) for w in wts)
        tot_w = sum(float(w.sum()) for w in wts)
        for gd, w in zip(datas, wts):
            w = w * (tot_n / tot_w)
            gd.compute(w)
            gd.weights_sampling = w
    # lavaan's meanstructure = "default": FIML, several groups, `~ 1` in the syntax, growth(), cluster=;
    # FIML, `~ 1` and cluster= force it whatever the option says
    if meanstructure is None:
        meanstructure = (missing == "ml" or any(s.op == "~1" for s in stmts) or (group is not None)
                         or model_type == "growth")
    elif meanstructure is False and (missing == "ml" or cluster is not None):
        from .errors import ModelSpecificationWarning
        warnings.warn(ModelSpecificationWarning("missing='ml' (FIML) and cluster= need a mean structure: "
                                                "meanstructure=False is overridden (as lavaan does); leave "
                                                "meanstructure unset"))
    meanstructure = bool(meanstructure or missing == "ml" or any(s.op == "~1" for s in stmts)
                         or cluster is not None)     # lavaan: cluster= implies a mean structure
    pt = build_partable(stmts, std_lv=std_lv, meanstructure=meanstructure, ngroups=len(labels),
                        group_labels=labels, group_equal=group_equal, group_partial=group_partial,
                        fixed_x=fixed_x, orthogonal=orthogonal,
                        auto_fix_first=(not std_lv) if auto_fix_first is None else auto_fix_first,
                        model_type=model_type)
    # order of the observed variables as the parameter table defines them
    from .estimation.core import n_moments
    df = n_moments(pt, datas) - pt.npar + sum(c[0] == "eq" for c in pt.constraints)
    if df < 0:
        raise IdentificationError(
            f"the model has {pt.npar} free parameters but the data provide only {n_moments(pt, datas)} sample "
            f"moments (df = {df}): it is not identified; fix or constrain parameters (e.g. equal loadings) or add indicators")
    for d in datas:
        where = f" in group {d.label!r}" if group is not None else ""
        if missing == "listwise" and d.n <= len(d.ov):
            raise DataError(f"only {d.n} complete respondent(s){where} for {len(d.ov)} observed variables: the "
                            "sample covariance matrix is singular with fewer respondents than variables + 1; "
                            "collect more responses, use fewer items, or use missing='ml' if rows were "
                            "dropped for missing answers")
        try:
            S, mu = d.h1()
            ev = np.linalg.eigvalsh(S)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
            items = []
            try:
                items = _singular_items(np.asarray(pd.DataFrame(d.X, columns=d.ov).cov()), d.ov)
            except Exception:  # noqa: BLE001 - best effort for the message only
                pass
            inv = f" (involving {', '.join(map(repr, items))})" if items else ""
            raise DataError(f"the sample covariance matrix{where} cannot be estimated: it is singular{inv} "
                            f"({' '.join(str(exc).split())}); drop redundant items or collect more respondents"
                            f"{' in that group' if where else ''}") from None
        if missing == "listwise" and (not np.isfinite(ev).all() or ev.min() <= 1e-12 * max(1.0, ev.max())):
            items = _singular_items(S, d.ov)
            if items and d.n > len(d.ov):
                raise DataError(f"the sample covariance matrix{where} is singular: {', '.join(map(repr, items))} "
                                "are (almost) linear combinations of each other; drop the redundant item(s) "
                                "(lavaan refuses this too)")
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
