"""Test statistics and standard-error variants of the ML family, as lavaan 0.6-14 defines them.

One place for what lavaan spreads over ``lav_options.R`` (which estimator implies which
``se``/``test``/``information``), ``lav_model_vcov.R`` (standard, first-order, robust.sem,
robust.huber.white and bootstrap covariance matrices) and ``lav_test*.R`` (Satorra-Bentler,
mean-and-variance adjusted, scaled-and-shifted, Yuan-Bentler with and without the Mplus
approximation, Bollen-Stine).

Notation (per group g, with f_g = N_g / N): Delta_g the Jacobian of the model moments
(mu, vech Sigma) w.r.t. the free parameters, A_g lavaan's h1 weight ``WLS.V`` (the expected or
observed unit information of the saturated model at the *model-implied* moments, lavaan's
``h1.information = "structured"``), Gamma_g the asymptotic covariance of the sample moments
(``NACOV``, divisor N_g).  Moments of fixed exogenous covariates are left out (lavaan zeroes
them).  With E = sum_g f_g Delta_g' A_g Delta_g, lavaan's U = V - V Delta E^-1 Delta' V
(V = bdiag(f_g A_g)) and Gamma_all = bdiag(Gamma_g / f_g):

* tr(U Gamma) = sum_g tr(A_g Gamma_g) - tr(E^-1 M),  M = sum_g f_g Delta_g' A_g Gamma_g A_g Delta_g;
* tr((U Gamma)^2) = sum_g tr((A_g Gamma_g)^2) - 2 tr(E^-1 K) + tr((E^-1 M)^2),
  K = sum_g f_g Delta_g' (A_g Gamma_g)^2 A_g Delta_g.

Gamma_g = Z_g' Z_g / N_g with Z_g the centred casewise moments, so the traces are computed
from Z_g A_g without forming Gamma when N_g is smaller than the number of moments.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from .._lazy import lazy

special = lazy("scipy.special")

from ..errors import ModelSpecificationError
from . import inference

ESTIMATORS = ("ML", "MLR", "MLM", "MLMV", "MLMVS", "MLF")
SCALED_TESTS = ("satorra.bentler", "yuan.bentler", "yuan.bentler.mplus", "mean.var.adjusted", "scaled.shifted")
ROBUST_TESTS = ("satorra.bentler", "yuan.bentler", "yuan.bentler.mplus", "scaled.shifted")
TEST_ALIASES = {
    "standard": "standard", "chisq": "standard", "default": "default", "none": "none",
    "satorra.bentler": "satorra.bentler", "satorra": "satorra.bentler", "sb": "satorra.bentler",
    "satorra-bentler": "satorra.bentler", "mean.adjusted": "satorra.bentler", "m.adjusted": "satorra.bentler",
    "yuan.bentler": "yuan.bentler", "yuan": "yuan.bentler", "yb": "yuan.bentler", "yuan-bentler": "yuan.bentler",
    "yuan.bentler.mplus": "yuan.bentler.mplus", "yuan-bentler.mplus": "yuan.bentler.mplus",
    "mean.var.adjusted": "mean.var.adjusted", "satterthwaite": "mean.var.adjusted", "mv": "mean.var.adjusted",
    "scaled.shifted": "scaled.shifted", "scale.shift": "scaled.shifted", "mplus6": "scaled.shifted",
    "bollen.stine": "bollen.stine", "bootstrap": "bollen.stine", "boot": "bollen.stine",
}
SE_ALIASES = {"standard": "standard", "robust.huber.white": "robust.huber.white", "robust.mlr": "robust.huber.white",
              "robust.sem": "robust.sem", "robust.mlm": "robust.sem", "robust": "robust",
              "first.order": "first.order", "bootstrap": "bootstrap", "boot": "bootstrap", "none": "none"}
ESTIMATOR_TEST = {"ML": "standard", "MLF": "standard", "MLM": "satorra.bentler", "MLMV": "scaled.shifted",
                  "MLMVS": "mean.var.adjusted", "MLR": "yuan.bentler.mplus"}


@dataclass(frozen=True)
class Options:
    """The resolved lavaan options of an ML-family fit."""
    estimator: str = "ML"                 # the user's estimator label (ML, MLR, MLM, ...)
    se: str = "standard"                  # standard | robust.sem | robust.huber.white | bootstrap | none
    information: str = "expected"         # for the SEs: expected | observed | first.order
    tests: tuple = ("standard",)          # lavaan's test list ("standard" first; "none" alone)
    info_test: str = "expected"           # information[2]
    obs_info_test: str = "hessian"        # observed.information[2]: hessian | h1

    @property
    def scaled_test(self):
        """The first scaled test (the one fitMeasures reports as '.scaled'), or None."""
        for t in self.tests:
            if t in SCALED_TESTS:
                return t
        return None


def resolve_options(estimator="ML", se=None, test=None, missing="listwise", cluster=False):
    """lavaan's option logic for the ML family: returns (Options, missing, notes).

    ``notes`` are messages lavaan issues as warnings (e.g. FIML switched to listwise for
    Satorra-Bentler style tests and robust.sem standard errors).
    """
    est = str(estimator).upper()
    if est not in ESTIMATORS:
        raise ModelSpecificationError(
            f"estimator={estimator!r} is not supported; use one of {', '.join(ESTIMATORS)}"
            "; or GLS, ULS, WLS (ADF) for continuous items, or WLSMV (and its family) with ordered=")
    notes = []
    # se
    if se is None or str(se).lower() == "default":
        se_r = {"ML": "standard", "MLF": "standard", "MLR": "robust.huber.white"}.get(est, "robust.sem")
    else:
        se_r = SE_ALIASES.get(str(se).lower())
        if se_r is None:
            raise ModelSpecificationError(
                f"se={se!r} is not supported; use 'standard', 'robust.huber.white', 'robust.sem', 'first.order', "
                "'bootstrap' or 'none' (lavaan's se= values)")
    if se_r == "bootstrap" and est != "ML":
        raise ModelSpecificationError(f"se='bootstrap' needs estimator='ML' (got {estimator!r}), as in lavaan; "
                                      "bootstrap standard errors are already robust")
    if cluster:
        return _resolve_clustered(est, se, test, missing)
    if se_r == "robust":
        se_r = "robust.huber.white" if missing == "ml" else "robust.sem"
    # tests
    if test is None:
        user = ["default"]
    elif isinstance(test, str):
        user = [test]
    else:
        user = list(test)
    names = []
    for t in user:
        r = TEST_ALIASES.get(str(t).lower())
        if r is None:
            raise ModelSpecificationError(
                f"test={t!r} is not supported; use 'standard', 'satorra.bentler', 'yuan.bentler', "
                "'yuan.bentler.mplus', 'mean.var.adjusted', 'scaled.shifted', 'bollen.stine' or 'none'")
        names.append(r)
    if ("none" in names or "default" in names) and len(names) > 1:
        raise ModelSpecificationError(f"test={test!r}: 'none' and 'default' cannot be combined with other tests")
    if names == ["none"]:
        tests = ("none",)
    else:
        base = ESTIMATOR_TEST[est]
        tests = [base] if names == ["default"] else list(dict.fromkeys([base] + names))
        # lavaan's order: 'standard' first, the unscaled tests, then the scaled ones
        tests = ["standard"] + [t for t in tests if t == "bollen.stine"] + [t for t in tests if t in SCALED_TESTS]
        tests = tuple(dict.fromkeys(tests))
    # FIML with Satorra-Bentler style tests or robust.sem: lavaan switches to listwise deletion
    if missing == "ml" and (se_r == "robust.sem" or any(t in ("satorra.bentler", "mean.var.adjusted",
                                                              "scaled.shifted") for t in tests)):
        notes.append(f"missing='ml' was set to 'listwise' because estimator={est!r} / se={se_r!r} / "
                     f"test={'+'.join(tests)} needs complete data (as lavaan does); use estimator='MLR' for "
                     "robust inference with FIML")
        missing = "listwise"
    # information (lavaan's defaults)
    if est == "MLF" or se_r == "first.order":
        info1 = "first.order"
        se_r = "standard" if se_r == "first.order" else se_r
    elif missing == "ml" or se_r == "robust.huber.white" or se_r == "bootstrap":
        info1 = "observed"
    else:
        info1 = "expected"
    if se_r in ("robust.huber.white", "robust.sem") and info1 == "first.order":
        raise ModelSpecificationError(f"estimator={est!r} uses first-order information, which lavaan does not "
                                      f"allow with se={se_r!r}; use estimator='ML' with that se")
    info2 = info1
    if info2 == "first.order" and any(t in SCALED_TESTS for t in tests):
        raise ModelSpecificationError(f"estimator={est!r} (first-order information) cannot be combined with a "
                                      "robust test; use estimator='ML' with that test, as lavaan requires")
    # observed.information[2]: "h1" when lavaan's test list has several entries (for ML and MLF it
    # always starts with "standard") or its one robust test is not yuan.bentler.mplus
    lav_tests = tests if est in ("ML", "MLF") else tuple(t for t in tests if t != "standard" or "standard" in names)
    scaled = [t for t in tests if t in SCALED_TESTS]
    obs2 = "hessian"
    if scaled and not (len(lav_tests) == 1 and lav_tests[0] == "yuan.bentler.mplus"):
        obs2 = "h1"
    if missing == "ml":
        bad = [t for t in tests if t in ("yuan.bentler", "bollen.stine")]
        if bad:
            raise ModelSpecificationError(f"test={bad[0]!r} with missing='ml' (FIML) is not supported; use "
                                          "estimator='MLR' (the Yuan-Bentler Mplus test) or missing='listwise'")
    return Options(estimator=est, se=se_r, information=info1, tests=tests, info_test=info2,
                   obs_info_test=obs2), missing, notes


def _resolve_clustered(est, se, test, missing):
    """lavaan's single-level ``cluster=`` override (lav_options.R): a mean structure, cluster-robust
    standard errors (``robust.cluster`` = Huber-White with the casewise scores summed per cluster,
    ``robust.cluster.sem`` for MLM) and the Yuan-Bentler (Mplus) or Satorra-Bentler test."""
    if est not in ("ML", "MLR", "MLM"):
        raise ModelSpecificationError(f"cluster= is supported with estimator='ML', 'MLR' or 'MLM' (as lavaan's "
                                      f"single-level cluster option); got {est!r}")
    if est == "MLR":
        se_r, tests = "robust.cluster", ("standard", "yuan.bentler.mplus")
    elif est == "MLM":
        se_r, tests = "robust.cluster.sem", ("standard", "satorra.bentler")
    else:
        user = [test] if isinstance(test, str) else (list(test) if test is not None else ["default"])
        names = [TEST_ALIASES.get(str(t).lower(), str(t)) for t in user]
        if names == ["default"]:
            tests = ("standard", "yuan.bentler.mplus")
        elif names == ["none"]:
            tests = ("none",)
        elif all(t in ("standard", "satorra.bentler", "yuan.bentler.mplus") for t in names):
            tests = tuple(dict.fromkeys(["standard"] + names))
        else:
            raise ModelSpecificationError(f"test={test!r} with cluster= is not supported; use 'standard', "
                                          "'satorra.bentler' or 'yuan.bentler.mplus' (lavaan's clustered tests)")
        s = "default" if se is None else SE_ALIASES.get(str(se).lower(), str(se))
        if s in ("default", "robust", "robust.cluster", "robust.huber.white"):
            se_r = "robust.cluster"
        elif s in ("robust.cluster.sem", "robust.sem"):
            se_r = "robust.cluster.sem"
        elif s == "none":
            se_r = "none"
        else:
            raise ModelSpecificationError(f"se={se!r} with cluster= is not supported; use 'robust.cluster', "
                                          "'robust.cluster.sem' or 'none', as lavaan requires")
    if missing == "ml" and (se_r == "robust.cluster.sem" or "satorra.bentler" in tests):
        raise ModelSpecificationError("cluster= with missing='ml' needs estimator='MLR' (lavaan switches "
                                      "Satorra-Bentler style tests to listwise deletion)")
    info = "observed" if (se_r == "robust.cluster" and est in ("ML", "MLR")) else "expected"
    # lavaan's test list: ML adds "standard" (two entries: observed.information[2] = "h1")
    obs2 = "hessian" if (est == "MLR" and tests == ("standard", "yuan.bentler.mplus")) else "h1"
    return Options(estimator=est, se=se_r, information=info, tests=tests, info_test=info,
                   obs_info_test=obs2), missing, []


def cluster_weight(data):
    """lavaan's small-sample factor sqrt(C / (C - 1)) for per-cluster score sums (1 without clusters)."""
    cl = getattr(data, "cluster", None)
    if cl is None:
        return 1.0
    C = len(np.unique(cl))
    return float(np.sqrt(C / (C - 1.0)))


# ----------------------------------------------------------------------------- per-group pieces
def h1_weight(ram, data, theta, kind):
    """lavaan's structured h1 information (``WLS.V``) per case at the model-implied moments."""
    sigma, mu = ram.implied(theta)
    ms = ram.meanstructure or data.has_missing
    if kind == "expected" and not data.has_missing:
        P = np.linalg.inv(sigma)
        A = expected_vech_weight(P)
        if not ms:
            return A
        p = P.shape[0]
        return np.block([[P, np.zeros((p, A.shape[0]))], [np.zeros((A.shape[0], p)), A]])
    if kind == "expected":
        Q = inference.pattern_q(np.linalg.inv(sigma), data.patterns)
        w = data.pattern_counts / data.N
        A = 0.5 * inference.vech_kron(Q, Q, w)
        Wmu = np.einsum("g,gij->ij", w, Q)
        p = sigma.shape[0]
        return np.block([[Wmu, np.zeros((p, A.shape[0]))], [np.zeros((A.shape[0], p)), A]])
    H = inference.moment_hessian(data, sigma, mu, ms) / data.N
    return 0.5 * (H + H.T)


def expected_vech_weight(P):
    """1/2 D'(P kron P)D, the normal-theory weight of vech(Sigma), by direct gathers.

    Entry ((i,j),(k,l)) is 1/2 (P_ik P_jl + P_il P_jk) c_ij c_kl with c = 1/sqrt(2) on the
    diagonal and sqrt(2) off it (D' sums the two positions of an off-diagonal element).
    """
    ci, ri = inference._vech_pairs(P.shape[0])
    Pr, Pc = P[ri], P[ci]
    T = Pr[:, ri] * Pc[:, ci]
    T += Pr[:, ci] * Pc[:, ri]
    c = np.where(ri == ci, np.sqrt(0.5), np.sqrt(2.0))
    T *= 0.5 * c[:, None]
    T *= c[None, :]
    return T


def gamma_factor(ram, data):
    """Centred casewise sample moments Z (n, m) with lavaan's NACOV Gamma = Z'Z / n.

    Rows are (y_i, vech((y_i - ybar)(y_i - ybar)')) (the mean part only with a mean structure).
    With fixed exogenous covariates x, lavaan subtracts the same moments of the data with y
    replaced by its least-squares prediction from (1, x) (``lav_samplestats_Gamma``, fixed.x).
    """
    key = ("_gamma_factor", bool(ram.meanstructure), tuple(ram.x_idx), getattr(data, "weights", None) is None)
    cached = data.__dict__.get(key)
    if cached is not None:
        return cached
    Y = data.X
    p = Y.shape[1]
    ci, ri = inference._vech_pairs(p)
    ms = ram.meanstructure

    def moments(V):
        Vc = V - V.mean(0)
        prods = Vc[:, ci] * Vc[:, ri]
        return np.hstack([V, prods]) if ms else prods
    Z = moments(Y)
    x = ram.x_idx
    if len(x):
        y = np.setdiff1d(np.arange(p), x)
        X1 = np.column_stack([np.ones(len(Y)), Y[:, x]])
        beta, *_ = np.linalg.lstsq(X1, Y[:, y], rcond=None)
        Yhat = Y.copy()
        Yhat[:, y] = X1 @ beta
        Z = Z - moments(Yhat)
    Z = Z - Z.mean(0)
    if getattr(data, "cluster", None) is not None:
        Z = _cluster_sum(Z, data.cluster) * cluster_weight(data)     # lavaan: C / (C - 1) on Gamma
    Z.setflags(write=False)
    if data.weights is None:                     # not under bootstrap reweighting
        data.__dict__[key] = Z
    return Z


def _cluster_sum(Z, cluster):
    _, inv = np.unique(cluster, return_inverse=True)
    out = np.zeros((inv.max() + 1, Z.shape[1]))
    np.add.at(out, inv, Z)
    return out


@dataclass
class _Group:
    f: float
    n: float
    D: np.ndarray              # (m, q)  Delta, kept moments
    keep: np.ndarray
    A: np.ndarray | None = None    # (m, m) explicit h1 weight (observed), or
    P: np.ndarray | None = None    # Sigma^-1 for the expected weight, applied without forming it
    ms: bool = False

    def apply(self, V):
        """V A for rows V (k, m) of kept moments (A symmetric)."""
        if self.A is not None:
            return V @ self.A
        return _apply_expected(self.P, V, self.keep, self.ms)

    def gamma(self, ram, data):
        """(Z, Z A): the centred casewise moments (Gamma = Z'Z/n) and their product with A (cached).

        With the expected weight, no fixed covariates and no clusters, row i of Z A is
        1/2 dvech(w_i w_i') (w_i = P (y_i - ybar)) and w_i for the means, centred: O(n p*).
        """
        if getattr(self, "_gamma", None) is None:
            Z = gamma_factor(ram, data)[:, self.keep]
            if self.P is not None and not len(ram.x_idx) and getattr(data, "cluster", None) is None:
                ci, ri = inference._vech_pairs(ram.p)
                W = (data.X - data.X.mean(0)) @ self.P
                ZA = W[:, ri] * W[:, ci]
                ZA[:, ri == ci] *= 0.5
                if self.ms:
                    ZA = np.hstack([W, ZA])
                ZA -= ZA.mean(0)
            else:
                ZA = self.apply(Z)
            self._gamma = (Z, ZA)
        return self._gamma


def _apply_expected(P, V, keep, ms):
    """Rows of V times the complete-data expected h1 weight diag(P, 1/2 D'(P kron P)D), restricted to
    ``keep``: for a vech row v (of a symmetric V_m), (A v) = 1/2 dvech(P V_m P) with off-diagonal
    entries doubled (D' sums the two positions); the mean part is v_mu P."""
    p = P.shape[0]
    ci, ri = inference._vech_pairs(p)
    k = V.shape[0]
    if keep.all():
        full = V
    else:
        full = np.zeros((k, len(keep)))
        full[:, keep] = V
    vs = full[:, p:] if ms else full
    lower = ri * p + ci                      # flat positions (row-major) of (ri, ci) and (ci, ri)
    upper = ci * p + ri
    Vm = np.empty((k, p * p))
    Vm[:, lower] = vs
    Vm[:, upper] = vs
    # P V_m P for all rows with two GEMMs: U_k = V_m,k P, then U_k' P = P V_m,k P
    U = (Vm.reshape(k * p, p) @ P).reshape(k, p, p)
    R = (U.transpose(0, 2, 1).reshape(k * p, p) @ P).reshape(k, p * p)
    res = np.take(R, lower, axis=1)
    res[:, ri == ci] *= 0.5
    if ms:
        res = np.hstack([full[:, :p] @ P, res])
    return res if keep.all() else res[:, keep]


def _groups(core, kind):
    """Per group: Delta and the h1 weight at the estimates (cached on ``core`` per kind)."""
    cache = core.__dict__.setdefault("_tests_groups", {})
    key = (kind, core.theta.tobytes())
    if key not in cache:
        cache.clear()
        cache[key] = _groups_compute(core, kind)
    return cache[key]


def _groups_compute(core, kind):
    out = []
    for ram, d in zip(core.rams, core.datas):
        ms = ram.meanstructure or d.has_missing
        keep = inference.not_x(ram.p, ram.x_idx, ms)
        D = inference.delta_vech(ram, core.theta)[keep]
        gr = _Group(f=d.N / core.ntotal, n=d.N, D=D, keep=keep, ms=ms)
        if kind == "expected" and not d.has_missing:
            sigma, _ = ram.implied(core.theta)
            gr.P = np.linalg.inv(sigma)
        else:
            gr.A = h1_weight(ram, d, core.theta, kind)[np.ix_(keep, keep)]
        out.append(gr)
    return out


def _h1_info(groups):
    """E = sum_g f_g Delta_g' A_g Delta_g."""
    q = groups[0].D.shape[1]
    E = np.zeros((q, q))
    for gr in groups:
        AD = gr.apply(gr.D.T).T
        E += gr.f * (gr.D.T @ AD)
    return 0.5 * (E + E.T)


def _inverse(E, core=None):
    """E^-1, or with general constraints the top-left block of lavaan's augmented inverse."""
    if core is not None and getattr(core, "constraints", None):
        P = core.constraints.projected_inverse(E, core.theta)
        if P is not None:
            return P
    Einv = np.linalg.inv(E)
    return 0.5 * (Einv + Einv.T)


# ----------------------------------------------------------------------------- information / vcov
def information(core, kind, observed="hessian"):
    """Unit information matrix of the free parameters: expected, observed (Hessian or h1) or first order."""
    from .optimize import expected_information
    if kind == "first.order":
        return inference.first_order_total(core.rams, core.datas, core.theta) / core.ntotal
    if kind == "observed" and observed == "hessian":
        try:
            return inference.analytic_hessian(core.objective, core.theta)
        except np.linalg.LinAlgError:
            return inference.observed_information(core.objective, core.theta)
    if kind == "expected" and not any(d.has_missing for d in core.datas):
        return expected_information(core.rams, [d.N / core.ntotal for d in core.datas], core.theta)
    return _h1_info(_groups(core, kind))


def robust_sem_meat(core, groups):
    """M = sum_g f_g Delta_g' A_g Gamma_g A_g Delta_g (lavaan's tDVGVD), with the per-group Z A Delta."""
    q = groups[0].D.shape[1]
    M = np.zeros((q, q))
    for gr, ram, d in zip(groups, core.rams, core.datas):
        Z, ZA = gr.gamma(ram, d)
        ZAD = ZA @ gr.D
        M += gr.f * (ZAD.T @ ZAD) / gr.n
    return 0.5 * (M + M.T)


def first_order_meat(core):
    """B0 = sum_i s_i s_i' / N (casewise scores; per cluster sums under ``cluster=``)."""
    q = core.npar
    B = np.zeros((q, q))
    for ram, d in zip(core.rams, core.datas):
        s = inference._clustered(inference.casewise_scores(ram, d, core.theta), d)
        B += s.T @ s
    return B / core.ntotal


# ----------------------------------------------------------------------------- tests
class _ChisqP:
    """The upper chi-square tail probability of (x, df), computed when first read (the p-values
    need scipy's special functions, whose import is most of a fresh process's first fit)."""
    __slots__ = ("x", "df")

    def __init__(self, x, df):
        self.x, self.df = x, df

    def value(self):
        return float(special.chdtrc(self.df, self.x))      # scipy.stats.chi2.sf(x, df)


@dataclass
class TestResult:
    test: str
    stat: float
    df: float
    _pvalue: object                       # a float, or a _ChisqP evaluated on first read
    scaling_factor: float = np.nan
    shift_parameter: float = np.nan
    trace_ugamma: float = np.nan
    trace_ugamma2: float = np.nan
    boot_length: float = np.nan
    stat_group: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @property
    def pvalue(self):
        p = self._pvalue
        if isinstance(p, _ChisqP):
            p = self._pvalue = p.value()
        return p

    @pvalue.setter
    def pvalue(self, value):
        self._pvalue = value

    def to_dict(self):
        return {"test": self.test, "stat": self.stat, "df": self.df, "pvalue": self.pvalue,
                "scaling.factor": self.scaling_factor, "shift.parameter": self.shift_parameter,
                "trace.UGamma": self.trace_ugamma, "trace.UGamma2": self.trace_ugamma2,
                "boot.length": self.boot_length}


def _pchisq_sf(x, df):
    return _ChisqP(x, df) if df > 0 and np.isfinite(x) else np.nan


def ugamma_traces(core, kind, satterthwaite):
    """tr(U Gamma) and (when ``satterthwaite``) tr((U Gamma)^2) of lavaan's 'original' method."""
    groups = _groups(core, kind)
    E = _h1_info(groups)
    Einv = _inverse(E, core)
    q = E.shape[0]
    tr_vg, tr_pp = 0.0, 0.0
    M = np.zeros((q, q))
    K = np.zeros((q, q))
    for gr, ram, d in zip(groups, core.rams, core.datas):
        Z, ZA = gr.gamma(ram, d)
        n = gr.n
        ZAD = ZA @ gr.D
        tr_vg += np.sum(ZA * Z) / n
        M += gr.f * (ZAD.T @ ZAD) / n
        if satterthwaite:
            m = Z.shape[1]
            if Z.shape[0] < m:
                C = ZA @ Z.T / n                       # (n, n): Z A Z' / n
                tr_pp += np.sum(C * C.T)
                K += gr.f * (ZAD.T @ (C @ ZAD)) / n    # D'A Z'(Z A Z')Z A D / n^2
            else:
                G = Z.T @ Z / n
                GA = gr.apply(G)                       # (A G)'
                tr_pp += np.sum(GA * GA.T)
                X = G @ gr.apply(gr.D.T).T             # G A D
                K += gr.f * (X.T @ gr.apply(X.T).T)
    EM = Einv @ M
    tr_ug = tr_vg - np.trace(EM)
    tr_ug2 = tr_pp - 2 * np.sum(Einv * K.T) + np.sum(EM * EM.T) if satterthwaite else np.nan
    return tr_ug, tr_ug2


def satorra_bentler_family(core, which, opts: Options, traces=None):
    """Satorra-Bentler, mean-and-variance adjusted and scaled-and-shifted tests (lav_test_satorra_bentler)."""
    x2, df = core.chisq, core.df
    sg = np.asarray(core.chisq_group, float)
    if df <= 0 or core.npar == 0:
        return TestResult(which, x2, df, np.nan, stat_group=sg)
    if traces is None:
        traces = ugamma_traces(core, opts.info_test, which != "satorra.bentler")
    tr1, tr2 = traces
    if which == "satorra.bentler":
        c = tr1 / df
        c = c if c >= 0 else np.nan
        return TestResult(which, x2 / c, df, _pchisq_sf(x2 / c, df), scaling_factor=c, trace_ugamma=tr1,
                          stat_group=sg / c)
    if which == "mean.var.adjusted":
        dfs = tr1 ** 2 / tr2
        c = tr1 / dfs
        c = c if c >= 0 else np.nan
        return TestResult(which, x2 / c, dfs, _pchisq_sf(x2 / c, dfs), scaling_factor=c, trace_ugamma=tr1,
                          trace_ugamma2=tr2, stat_group=sg / c)
    # scaled.shifted
    fg = np.array([d.N for d in core.datas]) / core.ntotal
    a = np.sqrt(df / tr2)
    c = 1.0 / a
    b = df - a * tr1
    stat = x2 * a + b
    return TestResult(which, stat, df, _pchisq_sf(stat, df), scaling_factor=c, shift_parameter=b,
                      trace_ugamma=tr1, trace_ugamma2=tr2, stat_group=sg * a + fg * b)


def yuan_bentler_test(core, which, opts: Options):
    """Yuan-Bentler tests (lav_test_yuan_bentler): 'yuan.bentler' and 'yuan.bentler.mplus'."""
    x2, df = core.chisq, core.df
    sg = np.asarray(core.chisq_group, float)
    if df <= 0 or core.npar == 0:
        return TestResult(which, x2, df, np.nan, stat_group=sg)
    if which == "yuan.bentler.mplus":
        if opts.info_test == "observed" and opts.obs_info_test == "hessian":
            E = core.info if (core.info is not None and core.info_kind == ("observed", "hessian")) else \
                information(core, "observed", "hessian")
        else:
            E = information(core, opts.info_test, opts.obs_info_test)
        Einv = _inverse(E, core)
        tr, h1, h0 = inference.yuan_bentler_mplus(core.rams, core.datas, core.theta, Einv, core.h1, core.ntotal)
    else:
        groups = _groups(core, opts.info_test)
        Einv = _inverse(_h1_info(groups), core)
        tr = 0.0
        for g, (gr, ram, d) in enumerate(zip(groups, core.rams, core.datas)):
            sig1, mu1 = core.h1[g]
            ms = ram.meanstructure
            A1u_inv = inference.h1_information_inverse(d, sig1, mu1, ms, gr.keep)
            SS = inference.h1_crossproducts(d, sig1, mu1, ms, clustered=False)[np.ix_(gr.keep, gr.keep)]
            Omega = A1u_inv @ SS @ A1u_inv / d.N          # T'T / n with T = S A1u^-1 (S never formed whole)
            OA = gr.apply(Omega)                           # Omega A1s (both symmetric)
            tr_aom = np.trace(OA)                          # tr(A1s Omega)
            AOA = gr.apply(np.ascontiguousarray(OA.T))     # A1s Omega A1s
            tr_h0 = np.sum((gr.D.T @ AOA @ gr.D) * Einv)   # tr(A1s D Einv D' A1s Omega)
            tr += tr_aom - gr.f * tr_h0
    c = tr / df
    c = c if c >= 0 else np.nan
    extra = {"trace_h1": h1, "trace_h0": h0} if which == "yuan.bentler.mplus" else {}
    return TestResult(which, x2 / c, df, _pchisq_sf(x2 / c, df), scaling_factor=c, trace_ugamma=tr,
                      stat_group=sg / c, extra=extra)


def run_tests(core, opts: Options):
    """All tests of ``opts.tests`` except Bollen-Stine: {name: TestResult} ('standard' first)."""
    out = {}
    if opts.tests == ("none",):
        return out
    x2, df = core.chisq, core.df
    out["standard"] = TestResult("standard", x2, df, _pchisq_sf(x2, df) if df > 0 else np.nan,
                                 stat_group=np.asarray(core.chisq_group, float))
    traces = None
    for t in opts.tests:
        if t in ("satorra.bentler", "mean.var.adjusted", "scaled.shifted"):
            if traces is None or (t != "satorra.bentler" and not np.isfinite(traces[1])):
                if df > 0 and core.npar > 0:
                    traces = ugamma_traces(core, opts.info_test,
                                           any(s in opts.tests for s in ("mean.var.adjusted", "scaled.shifted")))
            out[t] = satorra_bentler_family(core, t, opts, traces)
        elif t in ("yuan.bentler", "yuan.bentler.mplus"):
            out[t] = yuan_bentler_test(core, t, opts)
    return out


def bollen_stine(core, R, seed, run_bootstrap):
    """Bollen-Stine bootstrap p-value: refit to data transformed to fit the model exactly.

    Per group X* = (X - xbar) S^-1/2 Sigma^1/2 (+ mu-hat), S the sample covariance (divisor N);
    resample X* (lavaan's ``lav_bootstrap_internal``, type 'bollen.stine') and count the draws
    whose chi-square exceeds the observed one.
    """
    import copy
    from .samplestats import GroupData
    if any(d.has_missing for d in core.datas):
        raise ModelSpecificationError("test='bollen.stine' needs complete data (missing='listwise'), as in lavaan")
    if len(core.pt.names.ov_x):
        raise ModelSpecificationError("test='bollen.stine' with exogenous observed covariates (fixed.x) is not "
                                      "supported; model the covariates as endogenous or use a robust test")
    datas = []
    for ram, d in zip(core.rams, core.datas):
        sigma, mu = ram.implied(core.theta)
        S = d.cov
        ws, Vs = np.linalg.eigh(S)
        s_isqrt = (Vs / np.sqrt(ws)) @ Vs.T
        wm, Vm = np.linalg.eigh(sigma)
        m_sqrt = (Vm * np.sqrt(np.clip(wm, 0, None))) @ Vm.T
        X = (d.X - d.mean) @ s_isqrt @ m_sqrt
        if ram.meanstructure:
            X = X + mu
        datas.append(GroupData(X, d.ov, missing="listwise", label=d.label))
    bcore = copy.copy(core)
    bcore.datas = datas
    boot = run_bootstrap(bcore, R, seed=seed, keep_weights=True)     # its statistic needs the resamples
    Ws, conv = boot.weights, boot.converged
    Tb = np.zeros(len(boot.draws))
    for g, (ram, d) in enumerate(zip(core.rams, datas)):
        from .bootstrap import complete_stats
        W = Ws[g][conv]
        n_b, mean, cov = complete_stats(d.X, W)
        sig, mu = ram.implied(boot.draws, keep=True)
        sig = np.broadcast_to(sig, (len(W),) + sig.shape[-2:])
        _, ld_sig = np.linalg.slogdet(sig)
        _, ld_s = np.linalg.slogdet(cov)
        Pinv = np.linalg.inv(sig)
        tr = np.einsum("bij,bji->b", cov, Pinv)
        f = ld_sig + tr - ld_s - d.p
        if ram.meanstructure:
            mu = np.broadcast_to(mu, mean.shape)
            r = mean - mu
            f = f + np.einsum("bi,bij,bj->b", r, Pinv, r)
        Tb += n_b * f
    Tb = np.maximum(Tb, 0.0)
    larger = int(np.sum(Tb > core.chisq))
    res = TestResult("bollen.stine", core.chisq, core.df, larger / len(Tb) if len(Tb) else np.nan,
                     boot_length=len(Tb), stat_group=np.asarray(core.chisq_group, float))
    res.extra = {"boot_T": Tb, "boot_larger": larger, "n_failed": boot.n_failed}
    return res


def robust_c_hat(t: TestResult, df):
    """c-hat of the robust CFI/TLI/RMSEA (Brosseau-Liard & Savalei; Savalei 2018 for scaled.shifted)."""
    if t.test == "scaled.shifted":
        return t.scaling_factor * (df - t.shift_parameter) / df if df > 0 else np.nan
    return t.scaling_factor
