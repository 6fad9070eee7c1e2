"""One estimation run: parameter table + data -> estimates, information, test.

:func:`estimate` is what :func:`icaf_sem.fit` (and the baseline model, and
each bootstrap draw) call.  It knows nothing about DataFrames or reporting.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model.matrices import GroupRAM
from ..model.partable import ParTable
from .._linalg import spd_inverse
from .objectives import Objective
from .optimize import expected_information, fisher_scoring, quasi_newton, start_values
from .samplestats import GroupData, logl_complete
from . import inference


def _deferred(name, default):
    """A Core attribute set by :func:`_information`, which runs on first read if it was deferred."""
    key = "_" + name

    def get(self):
        d = self.__dict__
        if d.get("_se_pending"):
            d["_se_pending"] = False
            n_msg = len(self.messages)
            from .._linalg import one_blas_thread
            with one_blas_thread():                 # as in fit(): the same arithmetic, the same digits
                _information(self)
            for kind, msg in self.messages[n_msg:]:
                if kind == "identification":
                    import warnings
                    from ..errors import IdentificationWarning
                    warnings.warn(IdentificationWarning(msg), stacklevel=3)
        return d.get(key, default)

    def set(self, value):
        self.__dict__[key] = value
    return property(get, set)


@dataclass
class Core:
    pt: ParTable
    rams: list
    datas: list
    objective: Objective
    theta: np.ndarray
    converged: bool
    iterations: int
    h1: list                 # per group (sigma, mu) of the saturated model
    estimator: str
    missing: str
    likelihood: str = "normal"
    logl: float = np.nan
    logl_h1: float = np.nan
    chisq: float = np.nan
    df: int = 0
    ntotal: float = 0.0
    scaling: dict = field(default_factory=dict)
    messages: list = field(default_factory=list)
    options: object = None                # estimation.tests.Options (se, test, information)
    chisq_group: list = field(default_factory=list)
    constraints: object = None            # estimation.constraints.ConstraintSet of general constraints
    n_eq: int = 0                         # rank of the equality constraints (lavaan's df and npar)

    # ``info`` (information per case, the one used for SEs), its inverse ``info_inv``, ``vcov`` and
    # ``info_kind`` (information, observed.information): computed with the fit, or on first read when
    # the fit was made under estimation.reuse.defer_standard_errors()
    info = _deferred("info", None)
    info_inv = _deferred("info_inv", None)
    vcov = _deferred("vcov", None)
    info_kind = _deferred("info_kind", ())

    @property
    def npar(self):
        return len(self.theta)

    @property
    def meanstructure(self):
        return self.pt.meanstructure


def n_moments(pt: ParTable, datas) -> int:
    """Number of sample moments (lavaan's 'ndat'), excluding fixed exogenous moments."""
    total = 0
    nx = len(pt.names.ov_x)
    for d in datas:
        p = d.p
        total += p * (p + 1) // 2 + (p if pt.meanstructure else 0)
        total -= nx * (nx + 1) // 2 + (nx if pt.meanstructure else 0)
    return total


def fill_exo(pt: ParTable, datas, h1):
    """Fix the exogenous covariates' (co)variances and means to their sample values (fixed.x)."""
    a = pt.arrays()
    exo_rows = np.flatnonzero(a["exo"] == 1)
    if not len(exo_rows):
        return
    t = pt.table
    ust = t["ustart"].to_numpy(float).copy()
    for g, d in enumerate(datas):
        sig, mu = h1[g]
        pos = {v: i for i, v in enumerate(d.ov)}
        for i in exo_rows[a["group"][exo_rows] == g + 1]:
            if a["op"][i] == "~~":
                ust[i] = sig[pos[a["lhs"][i]], pos[a["rhs"][i]]]
            elif a["op"][i] == "~1":
                ust[i] = mu[pos[a["lhs"][i]]]
    t["ustart"] = ust
    pt.changed()


def estimate(pt: ParTable, datas: list[GroupData], *, estimator="ML", missing="listwise",
             theta0=None, compute_se=True, h1=None, max_iter: int = 500, options=None,
             likelihood: str = "normal", missing_x: bool = False) -> Core:
    """Fit the model in ``pt`` to the groups' data and compute the standard test and SEs.

    ``options`` (:class:`~icaf_sem.estimation.tests.Options`) selects the standard errors;
    by default those lavaan uses for ``estimator``.  ``likelihood="wishart"`` (ML, complete data)
    weighs each group by N_g - 1; ``missing_x`` is lavaan's ``missing = "ml.x"``.
    """
    if options is None:
        from .tests import resolve_options
        options = resolve_options(estimator, None, None, missing if missing != "ml.x" else "ml")[0]
    h1 = h1 if h1 is not None else [d.h1() for d in datas]
    fill_exo(pt, datas, h1)
    rams = [GroupRAM(pt, g + 1, d.ov) for g, d in enumerate(datas)]
    obj = Objective(rams, datas)
    ntotal = obj.ntotal
    weights = [d.N / ntotal for d in datas]
    msgs = []
    from .constraints import ConstraintSet
    cons = ConstraintSet(pt) if pt.constraints else None
    if pt.npar == 0:
        theta = np.zeros(0)
        converged, its = True, 0
    elif cons:
        # general (in)equality constraints: constrained minimum from the start values
        th0 = start_values(pt, rams, h1) if theta0 is None else np.array(theta0, float)
        theta, f, converged, its = cons.minimize(obj, th0, max_iter=max_iter)
    else:
        th0 = start_values(pt, rams, h1) if theta0 is None else np.array(theta0, float)
        any_missing = any(d.has_missing for d in datas)
        if not any_missing:
            theta, f, converged, its = fisher_scoring(obj, rams, weights, th0, max_iter=max_iter)
            if not converged and its < max_iter:
                theta2, f2, conv2, its2 = quasi_newton(obj, theta if np.isfinite(f) else th0, max_iter=max_iter)
                if np.isfinite(f2) and (not np.isfinite(f) or f2 <= f):
                    theta, f, converged, its = theta2, f2, conv2, its + its2
        else:
            # 1) fit to the EM moments (complete-data ML) for start values
            proxy = [_MomentsProxy(d, h1[g]) for g, d in enumerate(datas)]
            pobj = Objective(rams, proxy)
            th1, f1, ok1, its1 = fisher_scoring(pobj, rams, weights, th0, max_iter=max_iter)
            if not np.isfinite(f1):
                th1 = th0
            # 2) FIML: quasi-Newton from the expected information of that fit (BFGS-updated)
            info1 = expected_information(rams, weights, th1)
            theta, f, converged, its = fisher_scoring(obj, rams, weights, th1, info0=info1,
                                                      max_iter=max_iter)
            if not converged and its < max_iter:
                theta2, f2, conv2, its2 = quasi_newton(obj, theta, max_iter=max_iter)
                if np.isfinite(f2) and f2 <= f:
                    theta, f, converged = theta2, f2, conv2
                its += its2
            its += its1
    core = Core(pt=pt, rams=rams, datas=datas, objective=obj, theta=theta, converged=bool(converged),
                iterations=int(its), h1=h1, estimator=estimator, missing=missing, ntotal=ntotal, messages=msgs,
                options=options, likelihood=likelihood)
    # log-likelihoods and the standard test
    core.logl = -obj(theta) * ntotal
    core.logl_h1 = sum(_h1_logl(d, h1[g], pt.meanstructure) for g, d in enumerate(datas))
    # fixed.x: lavaan reports the likelihood conditional on the exogenous covariates
    lx = _exo_logl(pt, datas, h1, complete_formula=missing_x)
    core.logl -= lx
    core.logl_h1 -= lx
    core.chisq = max(2.0 * (core.logl_h1 - core.logl), 0.0) if np.isfinite(core.logl) else np.nan
    if likelihood == "wishart" and np.isfinite(core.chisq):
        # the test on N_g - 1 per group: (N_g - 1) F_g, with 2 N_g F_g the group's likelihood ratio
        x2 = 0.0
        for g, d in enumerate(datas):
            f_g = obj.group_loss(g, theta, grad=False)[0]
            x2 += (d.N - 1.0) / d.N * 2.0 * (_h1_logl(d, h1[g], pt.meanstructure) + f_g)
        core.chisq = max(x2, 0.0)
    core.chisq_group = _chisq_group(core)
    core.df = n_moments(pt, datas) - pt.npar
    core.constraints = cons
    if cons:
        core.n_eq = cons.n_eq(theta)
        core.df += core.n_eq                 # lavaan: + rank of the equality constraints' Jacobian
    if compute_se and len(theta):
        from .reuse import current
        session = current()
        if session is not None and session.defer_se:
            core._se_pending = True          # computed on first read of info / info_inv / vcov
        else:
            _information(core)
    return core


class _MomentsProxy:
    """Looks like complete GroupData but carries the EM moments (for start values)."""
    def __init__(self, d, h1):
        self.N, self.cov, self.mean = d.N, h1[0], h1[1]
        self.has_missing = False
        self.p = d.p


def _exo_logl(pt, datas, h1, complete_formula=False):
    """Log-likelihood of the exogenous covariates at their saturated moments (0 when there are none).

    ``complete_formula`` (lavaan's ``missing = "ml.x"``): every case counts as if its covariates
    were observed, -N/2 (k log 2 pi + log|Sigma_xx| + k), with the FIML (EM) moments.
    """
    ov_x = pt.names.ov_x
    if not ov_x:
        return 0.0
    total = 0.0
    for g, d in enumerate(datas):
        idx = [d.ov.index(v) for v in ov_x]
        sig, mu = h1[g]
        sx, mx = sig[np.ix_(idx, idx)], mu[idx]
        if complete_formula:
            k = len(idx)
            total += -0.5 * d.N * (k * np.log(2 * np.pi) + np.linalg.slogdet(sx)[1] + k)
            continue
        X = d.X[:, idx]
        ok = ~np.isnan(X)
        for pat in np.unique(ok, axis=0):
            if not pat.any():
                continue
            rows = (ok == pat).all(1)
            if d.weights is not None:
                w = d.weights[rows]
            else:
                w = np.ones(rows.sum())
            Xs = X[rows][:, pat]
            s_, m_ = sx[np.ix_(pat, pat)], mx[pat]
            inv = np.linalg.inv(s_)
            _, ld = np.linalg.slogdet(s_)
            r = Xs - m_
            q = np.einsum("ij,jk,ik->i", r, inv, r)
            total += -0.5 * np.sum(w * (pat.sum() * np.log(2 * np.pi) + ld + q))
    return total


def _chisq_group(core):
    """Each group's contribution to the test statistic (lavaan's ``stat.group``)."""
    if len(core.datas) == 1:
        return [core.chisq]
    out = []
    for g, (d, ram) in enumerate(zip(core.datas, core.rams)):
        M, mu = ram.implied(core.theta)
        if not core.pt.meanstructure:
            mu = core.h1[g][1]
        out.append(max(2.0 * (_h1_logl(d, core.h1[g], True) - _h1_logl(d, (M, mu), True)), 0.0))
    return out


def _h1_logl(d: GroupData, h1, meanstructure):
    sig, mu = h1
    if not d.has_missing:
        return logl_complete(d.N, d.cov, d.mean, sig, mu, meanstructure=True)
    from .objectives import fiml_loss_cases
    W = None if d.weights is None else np.asarray(d.weights, float)[None]
    f, _, _ = fiml_loss_cases(sig[None], mu[None], d.patterns, W, grad=False)
    return -float(f[0])


def _information(core: Core):
    """Information matrix, its inverse and the vcov of the free parameters (lavaan's ``se=`` and
    ``information=`` defaults for the estimator, see :func:`estimation.tests.resolve_options`).

    Under ``likelihood="wishart"`` each group weighs N_g - 1 and the total is N - G."""
    from . import tests as T
    opts = core.options
    kind = opts.information
    if opts.se in ("robust.sem", "robust.cluster.sem"):
        kind = "expected"
    wishart = core.likelihood == "wishart"
    n_eff = core.ntotal - len(core.datas) if wishart else core.ntotal
    try:
        if wishart and kind == "expected":
            info = expected_information(core.rams, [(d.N - 1.0) / n_eff for d in core.datas], core.theta)
        else:
            info = T.information(core, kind, "hessian")
    except np.linalg.LinAlgError:
        info = inference.observed_information(core.objective, core.theta)
    core.info = info
    core.info_kind = (kind, "hessian")
    cons = getattr(core, "constraints", None)
    try:
        info_inv = cons.projected_inverse(info, core.theta) if cons else None
        if info_inv is None:
            info_inv = _checked_inverse(info)
    except np.linalg.LinAlgError:
        core.info_inv = None
        core.vcov = np.full((core.npar, core.npar), np.nan)
        names = _null_space_parameters(core, info)
        core.messages.append(("identification", "the information matrix is singular: the model is probably not "
                              f"identified (involved: {names}); standard errors could not be computed. Fix or "
                              "constrain one of these parameters, or add indicators"))
        return
    core.info_inv = 0.5 * (info_inv + info_inv.T)
    N = n_eff
    if opts.se in ("robust.huber.white", "robust.cluster"):
        B = T.first_order_meat(core)        # per-cluster sums under cluster=
        core.vcov = core.info_inv @ B @ core.info_inv / N
    elif opts.se in ("robust.sem", "robust.cluster.sem"):
        M = T.robust_sem_meat(core, T._groups(core, "expected"))
        core.vcov = core.info_inv @ M @ core.info_inv / N
    elif opts.se == "none":
        core.vcov = np.full((core.npar, core.npar), np.nan)
    else:       # standard (expected, observed or first-order information); bootstrap replaces it later
        core.vcov = core.info_inv / N


def _checked_inverse(info):
    """Inverse of the information matrix; ``LinAlgError`` when it is (numerically) singular,
    i.e. its smallest eigenvalue is at most 1e-10 times the largest (or 1).

    The Cholesky inverse settles most cases: with P = info^-1, lambda_min >= 1 / tr(P) and
    lambda_max <= tr(info), so when 1 / tr(P) > 1e-10 max(1, tr(info)) the matrix passes without an
    eigendecomposition; only borderline matrices get the exact eigenvalue test.
    """
    P, _ = spd_inverse(info)
    if P is not None and np.all(np.isfinite(P)):
        tr_p, tr_i = np.trace(P), np.trace(info)
        if tr_p > 0 and 1.0 / tr_p > 1e-10 * max(1.0, tr_i):
            return P
    ev = np.linalg.eigvalsh(info)
    if ev.min() <= 1e-10 * max(1.0, ev.max()):
        raise np.linalg.LinAlgError("singular information matrix")
    return np.linalg.inv(info)


def _null_space_parameters(core: Core, info) -> str:
    """Name the free parameters that load on the (near) null space of the information matrix."""
    try:
        w, V = np.linalg.eigh(info)
    except np.linalg.LinAlgError:
        return "unknown"
    v = np.abs(V[:, 0])
    idx = np.argsort(-v)[: max(1, int((v > 0.2 * v.max()).sum()))][:4]
    t = core.pt.table
    out = []
    for k in idx:
        r = t[t["free"] == k + 1].iloc[0]
        out.append(f"{r['lhs']} {r['op']} {r['rhs']}".strip())
    return ", ".join(out)


def yuan_bentler(core: Core):
    """Yuan-Bentler (Mplus variant) scaling factor for the model test."""
    if core.df <= 0 or core.info_inv is None:
        return np.nan, np.nan, np.nan
    tr, h1, h0 = inference.yuan_bentler_mplus(core.rams, core.datas, core.theta, core.info_inv, core.h1, core.ntotal)
    c = tr / core.df
    return (c if c > 0 else np.nan), h1, h0
