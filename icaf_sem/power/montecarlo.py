"""Monte Carlo power: simulate from a population, refit the analysis model, summarise as simsem does.

For every sample size on the grid, ``reps`` data sets are drawn from a population (normal, or cut
into the answer categories of an observed wave; with missing cells as a rate or resampled from a
wave's patterns), the analysis model is fitted to each, and for every hypothesis and every
defined (``:=``) effect the replications give

* ``power``: the share of converged replications with p < alpha *and* the expected sign (for a
  defined effect such as an indirect effect: the Monte Carlo CI excludes 0, expected sign);
* ``rejection_rate``: p < alpha (CI excludes 0) whatever the sign, simsem's "Power (Not equal 0)";
* ``est_mean``, ``est_sd``, ``se_mean``, ``bias``, ``relative_bias`` = (mean est - true) / true,
  ``std_bias`` = (mean est - true) / SD of the estimates,
  ``relative_se_bias`` = (mean SE - SD of the estimates) / SD of the estimates, ``coverage`` of the
  1 - alpha interval, and the ``convergence_rate``, as simsem's ``summaryParam`` reports them.

The true values are the analysis model's parameters at the population moments (the model is
fitted to data with exactly the population mean and covariance), so a fitted wave, the
questionnaire's declared values and standardized effect sizes are handled alike.

Speed: with complete data (or listwise deletion) and ML, the replications of a chunk are fitted
together: their sufficient statistics go to the engine's vectorised BFGS
(:func:`icaf_sem.estimation.bootstrap.batched_bfgs`), warm-started at the true values, and the
standard errors come from the expected information at each estimate, as lavaan's defaults.
FIML and MLR replications are fitted one by one with the engine's :func:`estimate`.  Chunks are
seeded with ``numpy.random.SeedSequence.spawn`` and run on local processes or Dask
(:mod:`icaf_sem.power.backends`); the results do not depend on the number of workers or the
backend.
"""
from __future__ import annotations

import hashlib
import json
import math
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from ..errors import DataError, ModelSpecificationError, IcafWarning

__all__ = ["simulate", "PowerStudy", "Population", "population", "PopulationWarning"]

Z975 = float(special.ndtri(0.975))


class PopulationWarning(IcafWarning):
    """The analysis model does not reproduce the population exactly (true values are approximations)."""


# =========================================================================== the analysis model
def _analysis_of(model):
    """(syntax, questionnaire or None) from a questionnaire, a path to one, lavaan syntax or a fitted result."""
    from pathlib import Path
    from ..questionnaire import Questionnaire, load_questionnaire
    if isinstance(model, Questionnaire):
        return model.model_syntax(), model
    if isinstance(model, Path) or (isinstance(model, str) and (model.endswith((".yaml", ".yml")) or model == "icaf")):
        q = load_questionnaire(model)
        return q.model_syntax(), q
    if isinstance(model, str):
        if "~" not in model:
            raise DataError(f"model={model[:60]!r} is neither lavaan syntax nor a questionnaire file; give lavaan "
                            "syntax, a Questionnaire or the path of a questionnaire YAML")
        return model, None
    if hasattr(model, "_core") and hasattr(model, "model"):
        return model.model, None
    raise DataError(f"questionnaire_or_model={type(model).__name__} is not supported; give a Questionnaire, the path "
                    "of a questionnaire YAML or lavaan syntax")


def _compile(syntax, meanstructure, std_lv=False):
    from ..model.partable import build_partable, variable_names
    from ..model.syntax import parse_model
    stmts = parse_model(syntax)
    names = variable_names([s for s in stmts if s.op in ("=~", "~", "~~", "~1")])
    if names.ov_x:
        raise ModelSpecificationError(
            f"the model has exogenous observed covariates ({', '.join(names.ov_x)}); Monte Carlo power supports "
            "models whose observed variables are all indicators or endogenous; model the covariates as latent "
            "single-indicator variables")
    meanstructure = meanstructure or any(s.op == "~1" for s in stmts)
    pt = build_partable(stmts, std_lv=std_lv, meanstructure=meanstructure)
    return pt, list(names.ov)


# =========================================================================== population
@dataclass
class Population:
    """Population moments of the observed variables and how data are drawn from them.

    Attributes
    ----------
    ov : list of str
        Observed variables, in the analysis model's order.
    sigma, mu : ndarray
        Population covariance matrix and mean vector.
    source : str
        ``"fitted result"``, ``"questionnaire"``, ``"effect sizes"`` or ``"covariance"``.
    thresholds : dict, optional
        ``{item: (categories, cut points on the z scale)}``: discretise each item as the observed wave.
    missing_rate : float
        Share of item cells missing completely at random.
    missing_patterns : ndarray of bool, optional
        Rows of observed (True) / missing (False) masks of a previous wave, resampled per respondent.
    details : dict
        What the population was built from (effects, loadings ...), for the report.
    """
    ov: list
    sigma: np.ndarray
    mu: np.ndarray
    source: str
    thresholds: dict | None = None
    missing_rate: float = 0.0
    missing_patterns: np.ndarray | None = None
    details: dict = field(default_factory=dict)

    @property
    def has_missing(self):
        return self.missing_rate > 0 or self.missing_patterns is not None

    def covariance(self) -> pd.DataFrame:
        return pd.DataFrame(self.sigma, index=self.ov, columns=self.ov)


def _check_pd(sigma, what):
    sigma = np.asarray(sigma, float)
    if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1] or not np.all(np.isfinite(sigma)):
        raise DataError(f"the population covariance matrix ({what}) must be a finite square matrix")
    if not np.allclose(sigma, sigma.T, atol=1e-10 * max(1.0, np.abs(sigma).max())):
        raise DataError(f"the population covariance matrix ({what}) is not symmetric")
    ev = np.linalg.eigvalsh(0.5 * (sigma + sigma.T))
    if ev.min() <= 1e-10 * max(1.0, ev.max()):
        raise DataError(f"the population covariance matrix ({what}) is not positive definite (smallest eigenvalue "
                        f"{ev.min():.3g}); fix: lower the effect sizes or correlations so that every construct keeps "
                        "a positive residual variance, or give a positive-definite covariance matrix")
    return 0.5 * (sigma + sigma.T)


def _items_from_latent(q, pop, ov):
    """Item covariance (standardized items) from a survey.simulate.PopulationModel."""
    lat = list(pop.latents)
    pos = {c: i for i, c in enumerate(lat)}
    L = np.zeros((len(ov), len(lat)))
    for j, item in enumerate(ov):
        c = q.item_construct.get(item)
        if c is None or c not in pos:
            raise ModelSpecificationError(f"item {item!r} of the model has no construct in the questionnaire")
        L[j, pos[c]] = pop.loadings[item]
    sigma = L @ pop.cov @ L.T
    lam = np.array([pop.loadings[i] for i in ov])
    sigma[np.diag_indices_from(sigma)] += 1.0 - lam ** 2
    return sigma


def population(questionnaire_or_model, source=None, *, effect=None, effects=None, loading_range=(0.65, 0.85),
               seed=0, ov=None):
    """Build a :class:`Population` for :func:`simulate`.

    Parameters
    ----------
    questionnaire_or_model : Questionnaire, path or lavaan syntax
    source : None, "questionnaire", SEMResult, dict or DataFrame
        * ``None`` / ``"questionnaire"``: the questionnaire's declared population
          (:func:`icaf_sem.survey.simulate.population_model`: every hypothesised path of size ``effect``
          in its expected direction, standardized items loading 0.65-0.85);
        * a fitted :class:`~icaf_sem.results.SEMResult` (a previous wave): its model-implied moments;
        * a dict ``{hypothesis id: standardized effect}``: sizes taken in each hypothesis' expected
          direction (a negative size goes against it; 0 is no effect); other paths keep ``effect``;
        * a DataFrame: a population covariance matrix of the observed variables.
    effect : float, optional
        Size of every hypothesised path not given in ``effects`` (default 0.35).
    effects : dict, optional
        Same as passing a dict as ``source``.
    seed : int, default 0
        Seeds the draw of the item loadings of a questionnaire population.
    """
    syntax, q = _analysis_of(questionnaire_or_model)
    if ov is None:
        _, ov = _compile(syntax, False)
    if isinstance(source, dict):
        effects, source = source, None
    if source is None or (isinstance(source, str) and source == "questionnaire"):
        if q is None:
            raise DataError("a population from declared values or effect sizes needs a questionnaire; for lavaan "
                            "syntax give a fitted result or a covariance matrix as population=")
        from ..survey.simulate import population_model
        kw = {"seed": seed, "loading_range": loading_range}
        if effect is not None:
            if not isinstance(effect, (int, float)) or not math.isfinite(effect):
                raise DataError(f"effect={effect!r} must be a number, e.g. effect=0.3")
            kw["effect"] = float(effect)
        paths, details = {}, {"effect": kw.get("effect", 0.35), "effects": {}}
        if effects:
            paths, extra = _effects_to_paths(q, effects)
            kw.update(extra)
            details["effects"] = {str(k): float(v) for k, v in effects.items()}
        pm = population_model(q, paths=paths, **kw)
        _check_pd(pm.cov, "constructs")
        sigma = _check_pd(_items_from_latent(q, pm, ov), "items")
        details.update({"latent_cov": pm.latent_cov(), "paths": {f"{a} ~ {b}": v for (a, b), v in pm.paths.items()},
                        "loadings": dict(pm.loadings)})
        return Population(ov=ov, sigma=sigma, mu=np.zeros(len(ov)),
                          source="effect sizes" if effects else "questionnaire", details=details)
    if hasattr(source, "_core"):
        core = source._core
        if len(core.datas) != 1:
            raise ModelSpecificationError("a multi-group fitted result cannot be a population; fit one group")
        sig, mu = core.rams[0].implied(core.theta)
        d = core.datas[0]
        pos = {v: i for i, v in enumerate(d.ov)}
        missing = [v for v in ov if v not in pos]
        if missing:
            raise ModelSpecificationError(f"the fitted result has no variable(s) {missing}; fit the same model")
        idx = [pos[v] for v in ov]
        mean = mu if core.pt.meanstructure else core.h1[0][1]
        sigma = _check_pd(np.asarray(sig)[np.ix_(idx, idx)], "fitted result")
        return Population(ov=ov, sigma=sigma, mu=np.asarray(mean, float)[idx], source="fitted result",
                          details={"n_wave": int(core.ntotal)})
    if isinstance(source, pd.DataFrame):
        missing = [v for v in ov if v not in source.index or v not in source.columns]
        if missing:
            raise DataError(f"the population covariance matrix lacks {missing}; give rows and columns for every "
                            "observed variable of the model")
        sigma = _check_pd(source.loc[ov, ov].to_numpy(float), "given")
        return Population(ov=ov, sigma=sigma, mu=np.zeros(len(ov)), source="covariance")
    raise DataError(f"population={type(source).__name__} is not supported; give 'questionnaire', a fitted result, a "
                    "dict {hypothesis id: standardized effect} or a covariance DataFrame")


_make_population = population      # simulate() has an argument of that name


def _effects_to_paths(q, effects):
    ids = {h.id: h for h in q.hypotheses}
    paths, extra = {}, {}
    for key, v in effects.items():
        h = ids.get(key)
        if h is None:
            raise ModelSpecificationError(f"hypothesis {key!r} is not in the model; the questionnaire's hypotheses "
                                          f"are {', '.join(ids)}")
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not math.isfinite(v):
            raise DataError(f"the effect of {key} must be a number (a standardized effect), got {v!r}")
        sign = -1.0 if h.expected_sign == "-" else 1.0
        if h.kind == "path":
            paths[h.label] = sign * float(v)
        elif h.kind == "covariance":
            if abs(v) >= 1:
                raise DataError(f"the correlation of {key} ({h.path}) must lie in (-1, 1), got {v!r}")
            endo = {x.lhs for x in q.hypotheses if x.kind == "path"} | \
                {c for comps in q.higher_order.values() for c in comps}
            name = "residual_correlation" if (h.lhs in endo or h.rhs in endo) else "exogenous_correlation"
            if name in extra and extra[name] != float(v):
                raise ModelSpecificationError(f"different sizes for two {name.replace('_', ' ')}s are not supported "
                                              "(the questionnaire population has one value for each kind)")
            extra[name] = float(v)
        else:
            raise ModelSpecificationError(f"{key} ({h.path}) is a {h.kind} effect; give the sizes of its component "
                                          "paths instead")
    return paths, extra


def _wave_items(data, ov, what):
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{what} must be a DataFrame of a previous wave, got {type(data).__name__}")
    missing = [v for v in ov if v not in data.columns]
    if missing:
        raise DataError(f"{what} lacks the item column(s) {missing}")
    X = data[ov].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    return X


def cut_points(data, ov):
    """``{item: (categories, z cut points)}`` of an observed wave's items (cumulative proportions)."""
    X = _wave_items(data, ov, "cuts_from")
    out = {}
    for j, v in enumerate(ov):
        x = X[:, j][~np.isnan(X[:, j])]
        if len(x) < 2:
            raise DataError(f"item {v!r} of cuts_from has fewer than 2 answers; it has no cut points")
        cats, counts = np.unique(x, return_counts=True)
        cum = np.cumsum(counts)[:-1] / counts.sum()
        out[v] = (cats.astype(float), special.ndtri(cum))
    return out


# =========================================================================== targets (hypotheses)
def _targets(pt, q):
    """One row per parameter whose power is reported: hypotheses, then other defined effects."""
    t = pt.table
    rows = []

    def free_of(lhs, op, rhs):
        m = t[(t["lhs"] == lhs) & (t["op"] == op) & (t["rhs"] == rhs) & (t["group"] == 1)]
        if not len(m) and op == "~~":
            m = t[(t["lhs"] == rhs) & (t["op"] == op) & (t["rhs"] == lhs) & (t["group"] == 1)]
        if not len(m) or int(m["free"].iloc[0]) == 0:
            return None
        return int(m["free"].iloc[0]) - 1
    def_names = [d[0] for d in pt.defined]
    seen = set()
    if q is not None:
        for h in q.hypotheses:
            if h.op == ":=":
                if h.lhs not in def_names:
                    raise ModelSpecificationError(f"hypothesis {h.id} ({h.path}) is not in the model (no defined "
                                                  f"parameter {h.lhs!r})")
                rows.append(dict(id=h.id, kind=h.kind, path=h.path, param=h.lhs, free=-1,
                                 defined=def_names.index(h.lhs), expected_sign=h.expected_sign))
                seen.add(("def", h.lhs))
            else:
                k = free_of(h.lhs, h.op, h.rhs)
                if k is None:
                    raise ModelSpecificationError(f"hypothesis {h.id} ({h.path}) is not in the model (no free "
                                                  f"parameter {h.lhs} {h.op} {h.rhs})")
                rows.append(dict(id=h.id, kind=h.kind, path=h.path, param=f"{h.lhs} {h.op} {h.rhs}", free=k,
                                 defined=-1, expected_sign=h.expected_sign))
                seen.add(("free", k))
    else:
        for _, r in t.iterrows():
            if r["op"] == "~" and int(r["free"]) > 0:
                k = int(r["free"]) - 1
                if ("free", k) not in seen:
                    p = f"{r['lhs']} ~ {r['rhs']}"
                    rows.append(dict(id=p, kind="path", path=p, param=p, free=k, defined=-1, expected_sign="0"))
                    seen.add(("free", k))
    for j, name in enumerate(def_names):
        if ("def", name) not in seen:
            rows.append(dict(id=name, kind="defined", path=pt.defined[j][1], param=name, free=-1, defined=j,
                             expected_sign="0"))
    return rows


def _select_targets(targets, hypotheses):
    if hypotheses is None:
        return targets
    ids = [t["id"] for t in targets]
    bad = [h for h in hypotheses if h not in ids]
    if bad:
        raise ModelSpecificationError(f"hypothesis {bad[0]!r} is not in the model; choose from {', '.join(ids)}")
    return [t for t in targets if t["id"] in set(hypotheses)]


def defined_values(pt, theta):
    """Defined (:=) parameters for many free-parameter vectors: theta (m, npar) -> (m, ndef)."""
    a = pt.arrays()
    free, ust = a["free"], a["ustart"]
    env = {}
    m = theta.shape[0]
    for i, lab in enumerate(a["label"]):
        if lab and lab not in env and a["group"][i] == 1:
            env[lab] = theta[:, free[i] - 1] if free[i] > 0 else np.full(m, ust[i])
    cols = []
    for name, expr, func, used in pt.defined:
        with np.errstate(all="ignore"):
            val = np.broadcast_to(np.asarray(func(env), float), (m,))
        env[name] = val
        cols.append(val)
    return np.column_stack(cols) if cols else np.zeros((m, 0))


# =========================================================================== one chunk (runs on a worker)
_LOCAL = threading.local()     # per thread: the model objects cache intermediate matrices


def _prepared(spec):
    key = spec["key"]
    cache = getattr(_LOCAL, "cache", None)
    if cache is None:
        cache = _LOCAL.cache = {}
    hit = cache.get(key)
    if hit is not None:
        return hit
    from ..estimation.optimize import expected_information
    from ..model.matrices import GroupRAM
    pt, ov = _compile(spec["syntax"], spec["meanstructure"], spec["std_lv"])
    # the engine fills exogenous moments in place; nothing else in pt changes during estimation
    ram = GroupRAM(pt, 1, ov)
    theta0 = np.asarray(spec["theta_true"], float)
    info = expected_information([ram], [1.0], theta0)
    try:
        Hinv0 = np.linalg.inv(info)
        Hinv0 = 0.5 * (Hinv0 + Hinv0.T)
    except np.linalg.LinAlgError:
        Hinv0 = np.eye(len(theta0)) * 1e-2
    chol = np.linalg.cholesky(np.asarray(spec["sigma"], float))
    free_idx = np.array([t["free"] for t in spec["targets"]])
    def_idx = np.array([t["defined"] for t in spec["targets"]])
    # free parameters that the defined parameters use (Monte Carlo CI draws only these)
    a = pt.arrays()
    used = set()
    for name, expr, func, u in pt.defined:
        for lab in u:
            for i in np.flatnonzero((a["label"] == lab) & (a["free"] > 0)):
                used.add(int(a["free"][i]) - 1)
    var_rows = (a["op"] == "~~") & (a["lhs"] == a["rhs"]) & (a["free"] > 0)
    hit = dict(pt=pt, ov=ov, ram=ram, Hinv0=Hinv0, chol=chol, free_idx=free_idx, def_idx=def_idx,
               used=np.array(sorted(used), int), var_idx=np.unique(a["free"][var_rows] - 1).astype(int))
    cache.clear()
    cache[key] = hit
    return hit


def _draw(spec, prep, rng, B, n):
    """B data sets of n rows: (B, n, p) with NaN for missing cells."""
    p = len(prep["ov"])
    mu = np.asarray(spec["mu"], float)
    X = rng.standard_normal((B, n, p)) @ prep["chol"].T + mu
    th = spec.get("thresholds")
    if th:
        sd = np.sqrt(np.diag(np.asarray(spec["sigma"], float)))
        for j, v in enumerate(prep["ov"]):
            cats, cuts = th[v]
            z = (X[:, :, j] - mu[j]) / sd[j]
            X[:, :, j] = np.asarray(cats, float)[np.searchsorted(np.asarray(cuts, float), z)]
    rate = spec.get("missing_rate") or 0.0
    pats = spec.get("missing_patterns")
    if pats is not None:
        pats = np.asarray(pats, bool)
        rows = rng.integers(len(pats), size=(B, n))
        X[~pats[rows]] = np.nan
    elif rate > 0:
        X[rng.random((B, n, p)) < rate] = np.nan
    return X


def run_chunk(spec, task):
    """Simulate and fit one chunk of replications; returns a dict of arrays (the rows of the results file)."""
    from .._linalg import one_blas_thread
    with one_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _run_chunk(spec, task)


def _run_chunk(spec, task):
    prep = _prepared(spec)
    n, lo, hi = task["n"], task["rep_lo"], task["rep_hi"]
    B = hi - lo
    rng = np.random.default_rng(np.random.SeedSequence(entropy=spec["seed"], spawn_key=tuple(task["spawn_key"])))
    X = _draw(spec, prep, rng, B, n)
    npar = len(spec["theta_true"])
    if spec["batched"]:
        theta, conv, vcov = _fit_batched(spec, prep, X)
    else:
        theta = np.full((B, npar), np.nan)
        vcov = np.full((B, npar, npar), np.nan)
        conv = np.zeros(B, bool)
        for b in range(B):
            theta[b], conv[b], vcov[b] = _fit_one(spec, prep, X[b])
    est, se, cil, ciu = _targets_stats(spec, prep, theta, vcov, conv, rng)
    vi = prep["var_idx"]
    improper = conv & (np.nan_to_num(theta[:, vi], nan=0.0) < 0).any(1) if len(vi) else np.zeros(B, bool)
    return {"chunk": task["chunk"], "n": np.full(B, n), "rep": np.arange(lo, hi), "converged": conv,
            "improper": improper,
            "est": est, "se": se, "ci_lower": cil, "ci_upper": ciu}


def _fit_batched(spec, prep, X):
    from ..estimation.bootstrap import _BatchObjective, batched_bfgs
    from ..estimation.optimize import expected_information
    from .._linalg import spd_inverse
    B, n, p = X.shape
    ok = ~np.isnan(X).any(2)                                    # listwise deletion
    Nb = ok.sum(1).astype(float)
    Xz = np.where(ok[:, :, None], X, 0.0)
    mean = Xz.sum(1) / Nb[:, None]
    D = np.where(ok[:, :, None], X - mean[:, None, :], 0.0)
    cov = np.einsum("bni,bnj->bij", D, D) / Nb[:, None, None]
    obj = _BatchObjective([prep["ram"]], [(Nb, mean, cov)], [False], [None])
    theta0 = np.asarray(spec["theta_true"], float)
    theta, conv = batched_bfgs(obj, theta0, prep["Hinv0"], B, max_iter=spec.get("max_iter", 200), gtol=1e-7)
    conv = conv & np.all(np.isfinite(theta), 1) & (Nb > p)
    npar = len(theta0)
    vcov = np.full((B, npar, npar), np.nan)
    for b in np.flatnonzero(conv):
        info = expected_information([prep["ram"]], [1.0], theta[b])
        P, _ = spd_inverse(info)
        if P is not None and np.all(np.isfinite(P)):
            vcov[b] = P / Nb[b]
    return theta, conv, vcov


def _fit_one(spec, prep, X):
    from ..errors import IcafError
    from ..estimation.core import estimate
    from ..estimation.samplestats import GroupData
    npar = len(spec["theta_true"])
    bad = (np.full(npar, np.nan), False, np.full((npar, npar), np.nan))
    try:
        gd = GroupData(X, prep["ov"], missing=spec["missing"])
        if gd.n <= 1:
            return bad
        core = estimate(prep["pt"], [gd], estimator=spec["estimator"], missing=spec["missing"],
                        theta0=np.asarray(spec["theta_true"], float))
    except (IcafError, np.linalg.LinAlgError, ValueError, FloatingPointError):
        return bad
    if not core.converged or not np.all(np.isfinite(core.theta)):
        return bad
    V = core.vcov if core.vcov is not None else np.full((npar, npar), np.nan)
    return core.theta, True, V


def _targets_stats(spec, prep, theta, vcov, conv, rng):
    """est, se, CI lower and upper (B, T) of every target; Wald for free parameters, Monte Carlo for defined."""
    B = theta.shape[0]
    T = len(spec["targets"])
    est = np.full((B, T), np.nan)
    se = np.full((B, T), np.nan)
    zc = float(special.ndtri(1 - spec["alpha"] / 2))
    fi, di = prep["free_idx"], prep["def_idx"]
    col_f = np.flatnonzero(fi >= 0)
    sd = np.sqrt(np.clip(np.diagonal(vcov, axis1=1, axis2=2), 0, None))
    est[:, col_f] = theta[:, fi[col_f]]
    se[:, col_f] = sd[:, fi[col_f]]
    cil, ciu = est - zc * se, est + zc * se
    col_d = np.flatnonzero(di >= 0)
    pt = prep["pt"]
    if len(col_d):
        th = np.where(np.isfinite(theta), theta, 0.0)
        dv = defined_values(pt, th)
        est[:, col_d] = dv[:, di[col_d]]
        # delta-method SE (central differences over the parameters the definitions use)
        used = prep["used"]
        V = np.nan_to_num(vcov)
        if len(used):
            h = 1e-6 * np.maximum(1.0, np.abs(th[:, used]))            # (B, k)
            J = np.zeros((B, len(used), dv.shape[1]))
            for m, k in enumerate(used):
                tp, tm = th.copy(), th.copy()
                tp[:, k] += h[:, m]
                tm[:, k] -= h[:, m]
                J[:, m] = (defined_values(pt, tp) - defined_values(pt, tm)) / (2 * h[:, m, None])
            Vu = V[:, used][:, :, used]
            dcov = np.einsum("bki,bkl,bli->bi", J, Vu, J)
            se[:, col_d] = np.sqrt(np.clip(dcov, 0, None))[:, di[col_d]]
            # Monte Carlo CI: draws of the used parameters from N(est, vcov)
            R = int(spec["mc_draws"])
            Z = rng.standard_normal((B, R, len(used)))
            lo_q, hi_q = spec["alpha"] / 2, 1 - spec["alpha"] / 2
            for b in range(B):
                if not conv[b]:
                    continue
                try:
                    Lb = np.linalg.cholesky(Vu[b] + 1e-14 * np.eye(len(used)))
                except np.linalg.LinAlgError:
                    w, U = np.linalg.eigh(Vu[b])
                    Lb = U * np.sqrt(np.clip(w, 0, None))
                draws = np.broadcast_to(th[b], (R, th.shape[1])).copy()
                draws[:, used] += Z[b] @ Lb.T
                dd = defined_values(pt, draws)[:, di[col_d]]
                q = np.quantile(dd, [lo_q, hi_q], axis=0)
                cil[b, col_d], ciu[b, col_d] = q[0], q[1]
        else:
            se[:, col_d] = 0.0
            cil[:, col_d] = ciu[:, col_d] = est[:, col_d]
    bad = ~conv
    for a in (est, se, cil, ciu):
        a[bad] = np.nan
    return est, se, cil, ciu


# =========================================================================== the study
@dataclass
class PowerStudy:
    """Result of :func:`simulate`.

    Attributes
    ----------
    table : DataFrame
        One row per (n, target): ``n, id, kind, path, expected_sign, true, reps, converged,
        convergence_rate, improper_rate`` (share of converged replications with a negative variance
        estimate; they are kept, as simsem's ``summaryParam(improper = TRUE)``), ``est_mean, est_sd,
        se_mean, bias, relative_bias, std_bias, relative_se_bias, coverage, power, power_mc_se,
        rejection_rate``.
    replications : DataFrame
        One row per replication: ``n, rep, converged, improper`` and ``est/se/ci_lower/ci_upper``
        per target.
    required_n : int or None
        Smallest n of the grid at which every selected hypothesis reaches ``target_power``.
    """
    table: pd.DataFrame
    replications: pd.DataFrame
    targets: pd.DataFrame
    config: dict
    required_n: int | None
    required_n_each: dict
    population: Population
    timing: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def power_table(self) -> pd.DataFrame:
        """Power by hypothesis (rows) and sample size (columns)."""
        return self.table.pivot(index="id", columns="n", values="power").loc[list(self.targets["id"])]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict:
        def num(x):
            return None if (x is None or (isinstance(x, float) and not math.isfinite(x))) else x
        rows = []
        for r in self.table.to_dict("records"):
            rows.append({k: (num(float(v)) if isinstance(v, (float, np.floating)) else
                             int(v) if isinstance(v, (np.integer,)) else v) for k, v in r.items()})
        tg = self.targets.to_dict("records")
        for r in tg:
            r["true"] = num(float(r["true"]))
        return {"analysis": "monte-carlo power", "config": self.config, "targets": tg, "results": rows,
                "required_n": self.required_n,
                "required_n_each": {k: (None if v is None else int(v)) for k, v in self.required_n_each.items()},
                "notes": list(self.notes), "timing": self.timing}

    def summary(self) -> str:
        pt = self.power_table()
        lines = [f"Monte Carlo power: {self.config['reps']} replications per n, {self.config['estimator']}, "
                 f"population: {self.population.source}, alpha = {self.config['alpha']}",
                 pt.to_string(float_format=lambda v: f"{v:.3f}"),
                 f"smallest n with power >= {self.config['target_power']} for "
                 f"{'every selected hypothesis' if self.config.get('hypotheses') else 'every hypothesis'}: "
                 f"{self.required_n if self.required_n is not None else 'not reached on this grid'}"]
        return "\n".join(lines)

    def _repr_html_(self):
        return self.power_table().to_html(float_format=lambda v: f"{v:.3f}")

    def plot(self, hypotheses=None, lang="en"):
        """Power curves: one panel per hypothesis (power against n, target power as a dashed line)."""
        from .report import power_curves
        return power_curves(self, hypotheses=hypotheses, lang=lang)


def _spec_key(spec):
    h = hashlib.sha256()
    def enc(o):
        if isinstance(o, np.ndarray):
            return {"__a": o.tolist()}
        if isinstance(o, dict):
            return {str(k): enc(v) for k, v in sorted(o.items(), key=lambda kv: str(kv[0]))}
        if isinstance(o, (list, tuple)):
            return [enc(v) for v in o]
        if isinstance(o, (np.floating, np.integer, np.bool_)):
            return o.item()
        return o
    h.update(json.dumps(enc({k: v for k, v in spec.items() if k != "key"}), sort_keys=True).encode())
    return h.hexdigest()[:16]


def _check_int_list(n):
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
        n = [n]
    try:
        ns = list(n)
    except TypeError:
        raise DataError(f"n={n!r} must be a list of sample sizes, e.g. n=[150, 300, 450]") from None
    if not ns:
        raise DataError("n=[] is empty; give at least one sample size, e.g. n=[150, 300]")
    out = []
    for v in ns:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer, float)) or v != int(v) or v < 2:
            raise DataError(f"n contains {v!r}; every sample size must be a whole number of at least 2 "
                            "(a negative or zero N is impossible)")
        out.append(int(v))
    if len(set(out)) != len(out):
        raise DataError(f"n={out} lists a sample size twice; give each once")
    return sorted(out)


def simulate(questionnaire_or_model, population=None, n=(150, 300, 450), reps=1000, *, seed=None, alpha=0.05,
             target_power=0.8, hypotheses=None, estimator="ML", missing=None, data="normal", cuts_from=None,
             missing_rate=0.0, missing_patterns=None, effect=None, std_lv=False, mc_draws=1000, ci="montecarlo",
             workers=None, scheduler=None, chunk_size=None, results_file=None, progress=False, pop_seed=0):
    """Monte Carlo power, bias, SE bias and coverage per hypothesis over a grid of sample sizes.

    Parameters
    ----------
    questionnaire_or_model : Questionnaire, path or lavaan syntax
        The analysis model (a questionnaire's ``model_syntax()`` with its hypotheses, or lavaan
        syntax, whose regressions and defined parameters are then the targets).
    population : None, "questionnaire", SEMResult, dict, DataFrame or Population
        See :func:`population`: declared values (default), a fitted previous wave, standardized effects
        per hypothesis ``{"H1a": 0.2, ...}``, a covariance matrix or a ready :class:`Population`.
    n : sequence of int
        Sample sizes (respondents) of the grid.
    reps : int, default 1000
        Replications per sample size.
    seed : int
        The same seed gives identical results on any number of workers and any backend.
    alpha : float, default 0.05
    target_power : float, default 0.8
    hypotheses : list of str, optional
        Ids of the hypotheses that must reach ``target_power`` for ``required_n`` (default: every
        hypothesis of the questionnaire, or every regression of a lavaan-syntax model; other
        defined effects such as total effects are reported but not required unless listed).
    estimator : {"ML", "MLR"}
    missing : {"listwise", "ml"}, optional
        The analysis' missing-data method; default ``"ml"`` (FIML) when cells are missing, else listwise.
    data : {"normal", "ordinal"}
        ``"ordinal"`` cuts each item into the categories of ``cuts_from`` (a previous wave's DataFrame)
        with that wave's proportions (normal thresholds).
    missing_rate : float
        Share of item cells missing completely at random.
    missing_patterns : DataFrame, optional
        A previous wave: its rows' missingness patterns are resampled for each simulated respondent.
    mc_draws : int, default 1000
        Draws of the Monte Carlo CI of defined (indirect) effects.
    ci : {"montecarlo"}
        The interval that decides an indirect effect (``"bootstrap"`` is not supported: use Monte Carlo).
    workers : int, optional
        Local processes (default: all cores); with Dask, the workers of a LocalCluster.
    scheduler : None, "processes", "dask", a scheduler address or a ``dask.distributed.Client``
    chunk_size : int, optional
        Replications per chunk (default 50 for batched ML fits, 10 for engine fits: >= 100 ms each).
        Part of the seeding: keep it fixed to reproduce a study.
    results_file : path, optional
        CSV that each completed chunk is appended to; a rerun with the same settings resumes.
    progress : bool
        Show a tqdm progress bar (replications done, time left).

    Returns
    -------
    PowerStudy

    Examples
    --------
    >>> study = icaf_sem.power.simulate("icaf", n=[150, 300], reps=200, seed=1)   # doctest: +SKIP
    >>> study.power_table()                                                        # doctest: +SKIP

    In R (simsem): ``sim(1000, n = c(150, 300), model = analysis, generate = population,
    lavaanfun = "sem")`` then ``summaryParam(out)`` and ``getPower(out)``.
    """
    from .backends import run_chunks
    t_start = time.perf_counter()
    ns = _check_int_list(n)
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise DataError(f"reps={reps!r} must be a positive whole number of replications, e.g. reps=1000")
    if seed is None:
        raise DataError("seed= is required so that the study can be reproduced; e.g. seed=2024")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed={seed!r} must be a non-negative whole number")
    for name, v in (("alpha", alpha), ("target_power", target_power)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not 0 < v < 1:
            raise DataError(f"{name}={v!r} must be a probability strictly between 0 and 1")
    est_ = str(estimator).upper()
    if est_ not in ("ML", "MLR"):
        raise ModelSpecificationError(f"estimator={estimator!r} is not supported for Monte Carlo power; use 'ML' "
                                      "or 'MLR' (ordinal WLSMV is not available yet)")
    if ci != "montecarlo":
        raise ModelSpecificationError(f"ci={ci!r} is not supported; indirect effects are decided by the Monte Carlo "
                                      "CI (ci='montecarlo')")
    if data not in ("normal", "ordinal"):
        raise DataError(f"data={data!r} is not known; use 'normal' or 'ordinal' (with cuts_from=)")
    if isinstance(missing_rate, bool) or not isinstance(missing_rate, (int, float)) or not 0 <= missing_rate < 1:
        raise DataError(f"missing_rate={missing_rate!r} must be a share in [0, 1), e.g. missing_rate=0.05")
    if not isinstance(mc_draws, (int, np.integer)) or mc_draws < 100:
        raise DataError(f"mc_draws={mc_draws!r} must be a whole number of at least 100 draws")

    syntax, q = _analysis_of(questionnaire_or_model)
    has_missing = missing_rate > 0 or missing_patterns is not None
    if missing is None:
        miss = "ml" if has_missing else "listwise"
    else:
        miss = {"listwise": "listwise", "ml": "ml", "fiml": "ml"}.get(str(missing).lower())
        if miss is None:
            raise ModelSpecificationError(f"missing={missing!r} is not supported; use 'listwise' or 'ml' (FIML)")
    pt, ov = _compile(syntax, miss == "ml", std_lv)

    # population
    if isinstance(population, Population):
        pop = population
        if list(pop.ov) != ov:
            raise DataError("the Population's variables differ from the model's; build it for this model")
    else:
        pop = _make_population(questionnaire_or_model if q is None else q, population, effect=effect,
                               seed=pop_seed, ov=ov)
    _check_pd(pop.sigma, pop.source)
    thresholds = None
    if data == "ordinal":
        if cuts_from is None and pop.thresholds is None:
            raise DataError("data='ordinal' needs cuts_from= (a previous wave's DataFrame) for the items' cut points")
        thresholds = pop.thresholds if cuts_from is None else cut_points(cuts_from, ov)
    elif cuts_from is not None:
        raise DataError("cuts_from= is only used with data='ordinal'; pass data='ordinal' or drop cuts_from")
    pats = None
    if missing_patterns is not None:
        if missing_rate:
            raise DataError("give either missing_rate= or missing_patterns=, not both")
        pats = ~np.isnan(_wave_items(missing_patterns, ov, "missing_patterns"))
        pats = pats[pats.any(1)]
        if not len(pats):
            raise DataError("missing_patterns has no row with an answered item")

    # true values: the analysis model at the population moments
    theta_true, fmin = _true_values(pt, ov, pop.sigma, pop.mu)
    notes = []
    if fmin > 1e-8:
        rm = math.sqrt(max(2 * fmin, 0) / max(pt_df(pt, ov), 1))
        msg = (f"the analysis model does not reproduce the population exactly (population RMSEA = {rm:.4f}); "
               "the true values are the model's best approximation to it")
        notes.append(msg)
        warnings.warn(PopulationWarning(msg))
    targets = _targets(pt, q)
    chosen = _select_targets(targets, hypotheses)
    th_tgt = theta_true[None, :]
    dv = defined_values(pt, th_tgt)[0] if pt.defined else np.zeros(0)
    for t in targets:
        t["true"] = float(theta_true[t["free"]]) if t["free"] >= 0 else float(dv[t["defined"]])

    batched = est_ == "ML" and miss == "listwise"
    if chunk_size is None:
        chunk_size = 50 if batched else 10
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise DataError(f"chunk_size={chunk_size!r} must be a positive whole number of replications")
    spec = {"syntax": syntax, "std_lv": bool(std_lv), "meanstructure": miss == "ml", "estimator": est_,
            "missing": miss, "sigma": pop.sigma, "mu": pop.mu, "theta_true": theta_true,
            "thresholds": thresholds, "missing_rate": float(missing_rate), "missing_patterns": pats,
            "targets": [{k: t[k] for k in ("id", "free", "defined")} for t in targets], "alpha": float(alpha),
            "mc_draws": int(mc_draws), "batched": batched, "seed": int(seed), "chunk_size": int(chunk_size)}
    spec["key"] = _spec_key(spec)
    tasks = []
    for i, nn in enumerate(ns):
        for c, lo in enumerate(range(0, reps, chunk_size)):
            # spawn_key (n, chunk): SeedSequence(seed).spawn per sample size, then per chunk
            tasks.append({"chunk": f"{nn}:{c}", "n": nn, "rep_lo": lo, "rep_hi": min(lo + chunk_size, reps),
                          "spawn_key": (nn, c)})
    results, run_info = run_chunks(spec, tasks, workers=workers, scheduler=scheduler, results_file=results_file,
                                   progress=progress, target_names=[t["id"] for t in targets])
    reps_df = _replications_frame(results, tasks, targets)
    table = _summarise(reps_df, targets, ns, alpha)
    each = {}
    for t in targets:
        sub = table[table["id"] == t["id"]]
        hit = sub[sub["power"] >= target_power]["n"]
        each[t["id"]] = int(hit.min()) if len(hit) else None
    req = None
    chosen_ids = [t["id"] for t in chosen if (hypotheses is not None or t["kind"] != "defined")]
    if chosen_ids:
        pw = table[table["id"].isin(chosen_ids)].groupby("n")["power"].min()
        ok = pw[pw >= target_power]
        req = int(ok.index.min()) if len(ok) else None
    config = {"model": syntax, "population": pop.source, "n": ns, "reps": int(reps), "seed": int(seed),
              "alpha": float(alpha), "target_power": float(target_power), "hypotheses": hypotheses,
              "estimator": est_, "missing": miss, "data": data, "missing_rate": float(missing_rate),
              "missing_patterns": pats is not None, "mc_draws": int(mc_draws), "ci": ci,
              "chunk_size": int(chunk_size), "batched_fits": batched, "study_id": spec["key"]}
    tdf = pd.DataFrame([{k: t[k] for k in ("id", "kind", "path", "param", "expected_sign", "true")}
                        for t in targets])
    timing = dict(run_info)
    timing["seconds"] = time.perf_counter() - t_start
    return PowerStudy(table=table, replications=reps_df, targets=tdf, config=config, required_n=req,
                      required_n_each=each, population=pop, timing=timing, notes=notes)


def pt_df(pt, ov):
    p = len(ov)
    return p * (p + 1) // 2 + (p if pt.meanstructure else 0) - pt.npar


def _true_values(pt, ov, sigma, mu):
    """Fit the analysis model to data with exactly the population moments: (theta, F_ML minimum)."""
    from ..errors import IcafError
    from ..estimation.core import estimate
    from ..estimation.samplestats import GroupData
    p = len(ov)
    m = max(20 * p, 1000)
    rng = np.random.default_rng(12345)
    Z = rng.standard_normal((m, p))
    Z -= Z.mean(0)
    C = Z.T @ Z / m
    Z = Z @ np.linalg.inv(np.linalg.cholesky(C)).T          # exact identity (biased) covariance
    X = Z @ np.linalg.cholesky(sigma).T + mu
    try:
        from .._linalg import one_blas_thread
        with one_blas_thread(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            core = estimate(pt, [GroupData(X, ov, missing="listwise")], estimator="ML", missing="listwise",
                            compute_se=False, max_iter=2000)
    except IcafError as exc:
        raise ModelSpecificationError(f"the analysis model cannot be fitted to the population: {exc}") from None
    if not core.converged:
        raise ModelSpecificationError("the analysis model did not converge on the population moments; check that "
                                      "the model is identified and matches the population")
    return np.asarray(core.theta, float), float(core.chisq / (2 * m))


def _replications_frame(results, tasks, targets):
    order = {t["chunk"]: i for i, t in enumerate(tasks)}
    res = sorted(results, key=lambda r: order[r["chunk"]])
    names = [t["id"] for t in targets]
    frames = []
    for r in res:
        d = {"n": np.asarray(r["n"], int), "rep": np.asarray(r["rep"], int),
             "converged": np.asarray(r["converged"], bool), "improper": np.asarray(r["improper"], bool)}
        for k in ("est", "se", "ci_lower", "ci_upper"):
            a = np.asarray(r[k], float)
            for j, nm in enumerate(names):
                d[f"{k}:{nm}"] = a[:, j]
        frames.append(pd.DataFrame(d))
    return pd.concat(frames, ignore_index=True)


def _summarise(df, targets, ns, alpha):
    rows = []
    zc = float(special.ndtri(1 - alpha / 2))
    for nn in ns:
        sub = df[df["n"] == nn]
        conv = sub["converged"].to_numpy(bool)
        R = len(sub)
        k = int(conv.sum())
        improper = float(sub["improper"].to_numpy(bool)[conv].mean()) if k else math.nan
        for t in targets:
            nm = t["id"]
            est = sub[f"est:{nm}"].to_numpy(float)[conv]
            se = sub[f"se:{nm}"].to_numpy(float)[conv]
            lo = sub[f"ci_lower:{nm}"].to_numpy(float)[conv]
            hi = sub[f"ci_upper:{nm}"].to_numpy(float)[conv]
            true = t["true"]
            if t["free"] >= 0:
                with np.errstate(divide="ignore", invalid="ignore"):
                    sig = np.abs(est / se) > zc
            else:
                sig = (lo > 0) | (hi < 0)
            sign = t["expected_sign"]
            if sign == "+":
                hit = sig & (est > 0)
            elif sign == "-":
                hit = sig & (est < 0)
            else:
                hit = sig
            m = float(np.mean(est)) if k else math.nan
            sd = float(np.std(est, ddof=1)) if k > 1 else math.nan
            sem = float(np.nanmean(se)) if k and np.isfinite(se).any() else math.nan
            power = float(np.mean(hit)) if k else math.nan
            rows.append({
                "n": nn, "id": nm, "kind": t["kind"], "path": t["path"], "expected_sign": sign, "true": true,
                "reps": R, "converged": k, "convergence_rate": k / R if R else math.nan,
                "improper_rate": improper,
                "est_mean": m, "est_sd": sd, "se_mean": sem, "bias": m - true,
                "relative_bias": (m - true) / true if true != 0 else math.nan,
                "std_bias": (m - true) / sd if (k > 1 and sd > 0) else math.nan,
                "relative_se_bias": (sem - sd) / sd if (k > 1 and sd > 0) else math.nan,
                "coverage": float(np.mean((lo <= true) & (true <= hi))) if k else math.nan,
                "power": power, "power_mc_se": math.sqrt(power * (1 - power) / k) if k else math.nan,
                "rejection_rate": float(np.mean(sig)) if k else math.nan})
    return pd.DataFrame(rows)


def simulate_from_cli(args, ns):
    """``icaf-sem power simulate``: read the CLI arguments and run :func:`simulate`."""
    import sys
    from ..questionnaire import load_questionnaire
    from ..survey.io import load_survey
    q = load_questionnaire(args.questionnaire)
    pop = args.population
    if pop in (None, "questionnaire"):
        pop = None
    elif str(pop).endswith(".json"):
        try:
            with open(pop, encoding="utf-8") as fh:
                pop = json.load(fh)
        except (OSError, ValueError) as exc:
            raise DataError(f"--population {args.population!r} could not be read as JSON ({exc}); give "
                            "{\"H1a\": 0.3, ...}") from None
        if not isinstance(pop, dict):
            raise DataError(f"--population {args.population!r} must hold a JSON object {{hypothesis id: effect}}")
    else:
        import icaf_sem
        wave = load_survey(pop)
        miss = "ml" if wave[[c for c in q.items if c in wave.columns]].isna().any().any() else "listwise"
        pop = icaf_sem.fit(q.model_syntax(), wave, missing=miss, modindices=False)
    cuts = load_survey(args.cuts_from) if args.cuts_from else None
    return simulate(q, pop, n=ns, reps=args.reps, seed=args.seed, alpha=args.alpha, target_power=args.target_power,
                    estimator=args.estimator.upper(), missing=args.missing, data=args.data_kind, cuts_from=cuts,
                    missing_rate=args.missing_rate, effect=args.effect, workers=args.workers,
                    scheduler=args.scheduler, results_file=args.results_file, progress=sys.stderr.isatty())
