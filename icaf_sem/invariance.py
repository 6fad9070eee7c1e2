"""Measurement invariance across groups: configural -> metric -> scalar -> strict.

Each step is a multi-group CFA/SEM with more parameter kinds held equal across
groups (lavaan's ``group.equal``).  The steps are compared with the chi-square
difference test (for MLR the Satorra-Bentler 2001 scaled difference, lavaan's
``lavTestLRT(method = "satorra.bentler.2001")``) and with the change in CFI and
RMSEA against the usual cut-offs:

* Cheung & Rensvold (2002): a drop in CFI of .010 or more (ΔCFI ≤ −.010) signals
  non-invariance.
* Chen (2007): ΔCFI ≤ −.010 together with ΔRMSEA ≥ .015 signals non-invariance (Chen also
  accepts ΔSRMR ≥ .030 for loadings, ≥ .010 for intercepts and residuals, in place of ΔRMSEA;
  reported in ``chen2007_srmr``).

When a step fails, univariate score tests of its equality constraints (lavaan's
``lavTestScore(fit)$uni``) suggest which constraints to release for partial
invariance.

Examples
--------
>>> import icaf_sem
>>> res = icaf_sem.invariance(HS3, hs, group="school")          # doctest: +SKIP
>>> res.table[["step", "chisq", "df", "cfi", "rmsea", "delta_cfi", "invariant"]]   # doctest: +SKIP

The R equivalent::

    configural <- cfa(HS3, data = hs, group = "school")
    metric     <- cfa(HS3, data = hs, group = "school", group.equal = "loadings")
    scalar     <- cfa(HS3, data = hs, group = "school", group.equal = c("loadings", "intercepts"))
    lavTestLRT(configural, metric, scalar)
    lavTestScore(scalar)$uni
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from .errors import DataError, ModelSpecificationError

STEP_CONSTRAINTS = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
    # optional further steps, each adding to strict invariance
    "lv.variances": ("loadings", "intercepts", "residuals", "lv.variances"),
    "means": ("loadings", "intercepts", "residuals", "lv.variances", "means"),
}
STEP_LABELS = {"configural": "configural (same pattern)", "metric": "metric (equal loadings)",
               "scalar": "scalar (+ equal intercepts)", "strict": "strict (+ equal residual variances)",
               "lv.variances": "+ equal latent variances", "means": "+ equal latent means"}
# ordered items: lavaan/semTools' sequence with Wu & Estabrook (2016) identification
ORDINAL_STEPS = {
    "configural": (),
    "thresholds": ("thresholds",),
    "metric": ("thresholds", "loadings"),
    "scalar": ("thresholds", "loadings", "intercepts"),
}
ORDINAL_LABELS = {"configural": "configural (same pattern)", "thresholds": "thresholds (equal thresholds)",
                  "metric": "metric (+ equal loadings)", "scalar": "scalar (+ equal intercepts)"}
CUTOFFS = {"delta_cfi": -0.010, "delta_rmsea": 0.015, "delta_srmr_loadings": 0.030, "delta_srmr": 0.010,
           "alpha": 0.05}
CRITERIA = ("cheung_rensvold2002", "chen2007", "chisq")
KIND_OF_OP = {"=~": "loadings", "~1": "intercepts", "~": "regressions"}
MIN_GROUP_SIZE = 30


# --------------------------------------------------------------------------- difference tests
def chisq_difference(chisq0, df0, chisq1, df1):
    """Plain likelihood-ratio (chi-square difference) test of a restricted model (0) against a freer one (1).

    Returns ``(delta_chisq, delta_df, pvalue)``; lavaan: ``lavTestLRT(fit1, fit0)`` with ML.
    """
    d = chisq0 - chisq1
    ddf = int(round(df0 - df1))
    p = float(stats.chi2.sf(d, ddf)) if ddf > 0 else np.nan
    return float(d), ddf, p


def satorra_bentler_2001(chisq0, df0, c0, chisq1, df1, c1):
    """Satorra-Bentler (2001) scaled chi-square difference (lavaan ``lav_test_diff_SatorraBentler2001``).

    ``chisq*`` are the unscaled (normal-theory) statistics, ``c*`` the scaling factors of the
    restricted (0) and the freer (1) model.  Returns ``(T_delta, delta_df, pvalue, cd)``; ``cd`` is
    the scaling factor of the difference (NaN, with a NaN statistic, when it is negative).

    Examples
    --------
    >>> round(satorra_bentler_2001(130.0, 60, 1.10, 110.0, 54, 1.12)[0], 4)
    21.7391

    R: ``lavTestLRT(fit1, fit0, method = "satorra.bentler.2001")``.
    """
    if df1 == 0:
        c1 = 1.0
    m = int(round(df0 - df1))
    if m == 0:
        return float(chisq0 - chisq1), 0, np.nan, np.nan
    cd = (df0 * c0 - df1 * c1) / m
    if not cd > 0:
        return np.nan, m, np.nan, np.nan
    t = (chisq0 - chisq1) / cd
    return float(t), m, float(stats.chi2.sf(t, m)), float(cd)


def satorra_2000(res1, res0):
    """Scaled-and-shifted chi-square difference test of two nested WLS-family fits (ordered items).

    ``res1`` is the freer model, ``res0`` the restricted one (both :class:`OrdinalResult` on the same
    data).  As lavaan's ``lav_test_diff_Satorra2000(A.method = "delta", scaled.shifted = TRUE)``:
    the constraints ``A`` are the orthogonal complement of ``H = Delta1^+ Delta0`` (the Jacobians of
    the sample statistics, each at its own estimates), ``M = P^-1 A' (A P^-1 A')^+ A P^-1`` with the
    information ``P`` of the freer model, ``K = (W Delta1)' Gamma (W Delta1)``, tr(UΓ) = tr(M K),
    tr((UΓ)²) = tr((M K)²); then ``a = sqrt(m / tr2)``, ``b = m - a tr`` and
    ``T = a (T0 - T1) + b`` on ``m = df0 - df1`` degrees of freedom (T0, T1 unscaled statistics).

    Returns ``(T_delta, delta_df, pvalue, a, b)``.

    R: ``lavTestLRT(fit1, fit0)`` with WLSMV (method "satorra.2000", scaled.shifted = TRUE).
    """
    from scipy.linalg import null_space
    m = int(round(res0.df - res1.df))
    d_raw = float(res0.chisq - res1.chisq)
    if m == 0:
        return d_raw, 0, np.nan, np.nan, np.nan
    if m < 0:
        raise ModelSpecificationError("satorra_2000(res1, res0): res0 must be the restricted model (more df); "
                                      f"got df {res1.df} and {res0.df}; swap the arguments")
    D1, D0 = res1._D, res0._D
    if D1.shape[0] != D0.shape[0]:
        raise ModelSpecificationError("the two fits do not share their sample statistics (different data or "
                                      "items); a difference test needs nested models on the same data")
    if res1._Einv is None:
        return d_raw, m, np.nan, np.nan, np.nan
    H = np.linalg.pinv(D1) @ D0
    A = null_space(H.T).T                              # rows span the complement of H's columns
    Pinv = res1._Einv
    APA = A @ Pinv @ A.T
    tol = np.sqrt(np.finfo(float).eps)
    keep = ~((np.abs(APA.sum(0)) < tol) & (np.abs(APA.sum(1)) < tol))
    A = A[keep]
    if len(A) == 0:
        return d_raw, m, np.nan, np.nan, np.nan
    M = Pinv @ A.T @ np.linalg.pinv(A @ Pinv @ A.T) @ A @ Pinv
    WD = res1._Wd[:, None] * D1 if res1._Wd is not None else res1._Wf @ D1
    FW = res1._F @ WD
    K = FW.T @ FW
    MK = M @ K
    tr = float(np.trace(MK))
    tr2 = float(np.sum(MK * MK.T))
    a = np.sqrt(m / tr2)
    b = m - a * tr
    t = d_raw * a + b
    return float(t), m, float(stats.chi2.sf(t, m)), float(a), float(b)


# --------------------------------------------------------------------------- score tests
def equality_score_tests(result) -> pd.DataFrame:
    """Univariate score tests of the cross-group equality constraints of a fitted multi-group model.

    Each row is one constraint ``parameter in group 1 == parameter in group g``; ``X2`` (1 df)
    estimates how much the chi-square would drop if that constraint alone were released.
    Complete data use the expected information (lavaan's default); with FIML the observed
    information of the unconstrained parameterisation is used.

    Returns a DataFrame with ``lhs, op, rhs, group, group_label, kind, X2, df, pvalue``,
    sorted by ``X2`` (largest first), and ``attrs["total"] = (X2, df, pvalue)``.

    R: ``lavTestScore(fit)$uni`` (constraints ``.pA. == .pB.`` mapped to their parameters).
    """
    from ._linalg import one_blas_thread
    with one_blas_thread():         # moderate matrices: one thread, as in fit(), avoids oversubscription
        return _equality_score_tests(result)


def _equality_score_tests(result) -> pd.DataFrame:
    from .estimation.objectives import Objective
    from .estimation.optimize import expected_information
    from .estimation import inference
    from .model.matrices import GroupRAM
    from .model.partable import ParTable

    core = result._core
    pt = core.pt
    t = pt.table
    cols = ["lhs", "op", "rhs", "group", "group_label", "kind", "X2", "df", "pvalue"]
    free = t["free"].to_numpy()
    rows_free = np.flatnonzero(free > 0)
    full_idx = np.zeros(len(t), dtype=int)
    full_idx[rows_free] = np.arange(1, len(rows_free) + 1)
    cons = []                                  # (row_first, row_other)
    for k in np.unique(free[rows_free]):
        rr = np.flatnonzero(free == k)
        for r in rr[1:]:
            cons.append((rr[0], r))
    if not cons:
        out = pd.DataFrame(columns=cols)
        out.attrs["total"] = (np.nan, 0, np.nan)
        return out
    t2 = t.copy()
    t2["free"] = full_idx
    ext = ParTable(table=t2, names=pt.names, defined=[], ngroups=pt.ngroups, group_labels=pt.group_labels,
                   meanstructure=pt.meanstructure)
    rams = [GroupRAM(ext, g + 1, d.ov) for g, d in enumerate(core.datas)]
    theta = core.theta[free[rows_free] - 1]
    N = core.ntotal
    weights = [d.N / N for d in core.datas]
    obj = Objective(rams, core.datas)
    _, grad = obj.value_and_grad(theta)
    score = -np.asarray(grad)
    if core.missing == "ml":
        info = inference.observed_information(obj, theta)
    else:
        info = expected_information(rams, weights, theta)
    n = len(theta)
    R = np.zeros((len(cons), n))
    for i, (a, b) in enumerate(cons):
        R[i, full_idx[a] - 1] = 1.0
        R[i, full_idx[b] - 1] = -1.0

    def stat(Rm):
        if len(Rm) == 0:
            return float(N * score @ np.linalg.pinv(info) @ score)
        # lavaan: N s' [Z^+]_{11} s with the bordered matrix Z = [[I, R'], [R, 0]].  Z is nonsingular
        # when the model is identified under the remaining constraints, and then Z^+ = Z^-1: solve
        # (far cheaper than an SVD per constraint); otherwise fall back to the pseudo-inverse.
        Z = np.block([[info, Rm.T], [Rm, np.zeros((len(Rm), len(Rm)))]])
        b = np.concatenate([score, np.zeros(len(Rm))])
        try:
            x = np.linalg.solve(Z, b)
            ok = np.all(np.isfinite(x)) and np.linalg.norm(Z @ x - b) <= 1e-8 * max(1.0, np.linalg.norm(b))
        except np.linalg.LinAlgError:
            ok = False
        if not ok:
            x = np.linalg.pinv(Z) @ b
        return float(N * score @ x[:n])
    lvset = set(pt.names.lv)
    x2_all = _released_one_at_a_time(info, R, score, N)
    recs = []
    for i, (a, b) in enumerate(cons):
        x2 = x2_all[i] if x2_all is not None else stat(np.delete(R, i, axis=0))
        r = t.loc[b]
        recs.append({"lhs": r["lhs"], "op": r["op"], "rhs": r["rhs"], "group": int(r["group"]),
                     "group_label": pt.group_labels[int(r["group"]) - 1], "kind": _kind(r, lvset),
                     "X2": x2, "df": 1, "pvalue": float(stats.chi2.sf(x2, 1))})
    out = pd.DataFrame(recs, columns=cols).sort_values("X2", ascending=False, kind="stable").reset_index(drop=True)
    tot = stat(np.zeros((0, n)))
    out.attrs["total"] = (tot, len(cons), float(stats.chi2.sf(tot, len(cons))))
    return out


def _released_one_at_a_time(info, R, score, N):
    """Every univariate statistic ``N s' [Z_{-i}^-1]_{11} s`` from one inverse of the bordered matrix.

    Z = [[I, R'], [R, 0]] holds every constraint; Z_{-i} drops constraint i (row and column n + i).
    With W = Z^-1, the inverse of Z_{-i} is W_{-k,-k} - W_{-k,k} W_{k,-k} / W_kk (k = n + i), and as
    the bordered right-hand side b = [s; 0] is zero at k, ``b' Z_{-i}^-1 b = b'Wb - (W_k b)^2 / W_kk``:
    one inverse instead of one solve per constraint.  Returns None when Z is (nearly) singular, and
    the caller then solves each bordered system as before.
    """
    n, m = info.shape[0], R.shape[0]
    Z = np.block([[info, R.T], [R, np.zeros((m, m))]])
    try:
        W = np.linalg.inv(Z)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(W)) or np.abs(Z @ W - np.eye(n + m)).max() > 1e-8:
        return None
    b = np.concatenate([score, np.zeros(m)])
    wkk = np.diag(W)[n:]
    if np.any(np.abs(wkk) < 1e-12 * max(1.0, np.abs(W).max())):
        return None
    wb = W[n:] @ b
    return N * (b @ W @ b - wb * wb / wkk)


def _kind(r, lvset):
    op, lhs, rhs = r["op"], r["lhs"], r["rhs"]
    if op == "~1":
        return "means" if lhs in lvset else "intercepts"
    if op == "~~":
        if lhs in lvset and rhs in lvset:
            return "lv.variances" if lhs == rhs else "lv.covariances"
        return "residuals" if lhs == rhs else "residual.covariances"
    return KIND_OF_OP.get(op, op)


def param_name(lhs, op, rhs):
    """lavaan's spelling of a parameter for ``group.partial``: ``visual=~x2``, ``x3~1``, ``x1~~x1``."""
    return f"{lhs}{op}{rhs}" if op != "~1" else f"{lhs}~1"


# --------------------------------------------------------------------------- result
class InvarianceResult:
    """The invariance sequence.

    Attributes
    ----------
    table : DataFrame
        One row per step: fit (``chisq, df, pvalue, cfi, tli, rmsea, srmr``, scaled/robust versions
        for MLR), the test against the previous step (``delta_chisq, delta_df, delta_pvalue`` and for
        MLR ``delta_chisq_scaled, delta_pvalue_scaled`` (Satorra-Bentler 2001)), ``delta_cfi,
        delta_rmsea``, the cut-off flags ``cheung_rensvold2002`` and ``chen2007`` (True = signals
        non-invariance; ``chen2007_srmr`` with ΔSRMR in place of ΔRMSEA), ``invariant`` (the first
        step is the baseline and is marked invariant when it converged) (by the chosen ``criterion``) and ``suggest_free``.
    fits : dict of step -> SEMResult
    score_tests : dict of step -> DataFrame
        Univariate score tests of the constraints added by each step that failed.
    cutoffs : dict
    criterion : str
    """

    def __init__(self, table, fits, score_tests, cutoffs, criterion, group, group_labels, group_sizes,
                 estimator, missing, fit_basis, ordered=False, notes=()):
        self.table = table
        self.fits = fits
        self.score_tests = score_tests
        self.cutoffs = cutoffs
        self.criterion = criterion
        self.group = group
        self.group_labels = group_labels
        self.group_sizes = group_sizes
        self.estimator = estimator
        self.missing = missing
        self.fit_basis = fit_basis
        self.ordered = ordered
        self.notes = list(notes)

    @property
    def highest_level(self):
        """The last step of the unbroken run of invariant steps (``None`` if even configural fails)."""
        last = None
        for _, r in self.table.iterrows():
            if r["step"] == "configural" or bool(r["invariant"]):
                last = r["step"]
            else:
                break
        return last

    def cutoff_note(self) -> str:
        c = self.cutoffs
        return (f"Cut-offs: Cheung & Rensvold (2002) ΔCFI ≤ {c['delta_cfi']:.3f} signals non-invariance; "
                f"Chen (2007) ΔCFI ≤ {c['delta_cfi']:.3f} with ΔRMSEA ≥ {c['delta_rmsea']:.3f} "
                f"(or ΔSRMR ≥ {c['delta_srmr_loadings']:.3f} for loadings, ≥ {c['delta_srmr']:.3f} otherwise); "
                f"chi-square difference test at α = {c['alpha']:.2f}"
                + (" (Satorra-Bentler 2001 scaled)" if self.estimator == "MLR" else "")
                + (" (Satorra 2000 scaled-and-shifted difference, lavTestLRT's method for WLSMV)"
                   if self.ordered else "")
                + f". Decision by: {self.criterion}. ΔCFI/ΔRMSEA use the {self.fit_basis} indices.")

    def summary(self) -> str:
        cols = ["step", "chisq", "df", "cfi", "rmsea", "srmr", "delta_chisq", "delta_df", "delta_pvalue",
                "delta_cfi", "delta_rmsea", "invariant"]
        if self.estimator == "MLR":
            cols = cols[:1] + ["chisq_scaled"] + cols[1:9] + ["delta_chisq_scaled", "delta_pvalue_scaled"] + cols[9:]
        if self.ordered:
            cols = ["step", "chisq_scaled", "df", "cfi_scaled", "rmsea_scaled", "srmr", "delta_chisq", "delta_df",
                    "delta_pvalue", "delta_cfi", "delta_rmsea", "invariant"]
        lines = [f"Measurement invariance across {self.group!r} ({', '.join(map(str, self.group_labels))}; "
                 f"N = {', '.join(str(n) for n in self.group_sizes.values())}), {self.estimator}"
                 f"{', FIML' if self.missing == 'ml' else ''}",
                 self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"),
                 self.cutoff_note(), f"Highest level supported: {self.highest_level}"] + self.notes
        for step, st in self.score_tests.items():
            if len(st):
                lines.append(f"Score tests of the {step} constraints (release to reach partial invariance):")
                lines.append(st.head(10).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        return "\n".join(lines)

    def __repr__(self):
        return f"<InvarianceResult group={self.group!r} steps={list(self.table['step'])} highest={self.highest_level!r}>"

    def _repr_html_(self):
        from .report.display import html_table
        base = (("chisq_scaled", "df", "pvalue_scaled", "cfi_scaled", "tli_scaled", "rmsea_scaled") if self.ordered
                else ("chisq", "df", "pvalue", "cfi", "tli", "rmsea"))
        cols = [c for c in ("step",) + base + ("srmr", "delta_chisq", "delta_df", "delta_pvalue", "delta_cfi",
                                              "delta_rmsea", "invariant") if c in self.table.columns]
        sizes = ", ".join(f"{k}: {v}" for k, v in self.group_sizes.items())
        return html_table(self.table[cols], title=f"Measurement invariance across {self.group} ({sizes})",
                          note=" ".join([self.cutoff_note()] + self.notes))

    def to_dict(self) -> dict:
        from ._json import json_value as clean
        return {
            "group": self.group, "group_labels": [clean(g) for g in self.group_labels],
            "group_sizes": {str(k): int(v) for k, v in self.group_sizes.items()},
            "estimator": self.estimator, "missing": self.missing, "criterion": self.criterion,
            "cutoffs": self.cutoffs, "cutoff_note": self.cutoff_note(), "fit_basis": self.fit_basis,
            "highest_level": self.highest_level, "ordered": self.ordered, "notes": self.notes,
            "steps": [{k: clean(v) for k, v in r.items()} for r in self.table.to_dict("records")],
            "score_tests": {s: [{k: clean(v) for k, v in r.items()} for r in st.to_dict("records")]
                            for s, st in self.score_tests.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------- the sequence
def check_groups(data: pd.DataFrame, group: str, min_size: int = MIN_GROUP_SIZE, items=None) -> dict:
    """Validate the grouping column; return ``{label: n}`` in order of first appearance (lavaan's order).

    Raises :class:`DataError` for a missing column, fewer than two groups, or a group with fewer
    than ``min_size`` respondents (naming the group and its size).
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if group not in data.columns:
        raise DataError(f"group={group!r} is not a column of the data; choose one of {list(map(str, data.columns))[:15]}")
    col = data[group]
    labels = list(pd.unique(col.dropna()))
    if len(labels) < 2:
        raise DataError(f"the group column {group!r} has {len(labels)} level(s) ({labels}); invariance needs at "
                        "least two groups")
    sizes = {lab: int((col == lab).sum()) for lab in labels}
    small = {k: v for k, v in sizes.items() if v < min_size}
    if small:
        desc = ", ".join(f"{k!r} has {v}" for k, v in small.items())
        raise DataError(f"group(s) too small for a multi-group model in column {group!r}: {desc} respondents "
                        f"(at least {min_size} needed); merge small groups, collect more responses, or lower "
                        "min_group_size at your own risk")
    return sizes


def _add_step_columns(table, numeric) -> None:
    """The step-comparison columns, empty: the ``numeric`` differences as NaN, the decisions as
    nullable booleans, ``suggest_free`` as text (filled from the second step on)."""
    for c in numeric:
        table[c] = np.nan
    for c in ["chisq_test_rejects", "cheung_rensvold2002", "chen2007", "chen2007_srmr", "invariant"]:
        table[c] = pd.Series([pd.NA] * len(table), dtype="boolean")
    table["suggest_free"] = ""


def _check_levels(levels, order, kind="", extra=""):
    """``levels`` as a list, checked against the known steps ``order``: known, non-empty, nested and in order."""
    levels = list(levels)
    unknown = [s for s in levels if s not in order]
    if unknown or not levels:
        raise ModelSpecificationError(f"levels={levels!r}: unknown step(s) {unknown}{kind}; use steps from "
                                      f"{', '.join(order)} in that order{extra if unknown else ''}")
    if [order.index(s) for s in levels] != sorted(order.index(s) for s in levels) or len(set(levels)) != len(levels):
        raise ModelSpecificationError(f"levels={levels!r} must be nested and in order: {', '.join(order)}")
    return levels


def invariance(model: str, data: pd.DataFrame, *, group: str,
               levels=("configural", "metric", "scalar", "strict"), estimator: str = "ML",
               missing: str = "listwise", group_partial=(), criterion: str = "cheung_rensvold2002", cutoffs=None,
               min_group_size: int = MIN_GROUP_SIZE, std_lv: bool | None = None, max_suggestions: int = 5,
               progress=None, ordered=False, parameterization: str = "delta"):
    """Fit the invariance sequence and compare each step with the previous one.

    Parameters
    ----------
    model : str
        lavaan syntax of the measurement (or structural) model.
    data : DataFrame
    group : str
        Grouping column; groups are ordered by first appearance, as in lavaan.
    levels : sequence of str
        Steps in order, from ``configural, metric, scalar, strict, lv.variances, means``.  With
        ordered items: ``configural, thresholds, metric, scalar`` (the default), see ``ordered``.
    estimator : {"ML", "MLR"} or, with ordered items, "WLSMV"
    missing : {"listwise", "ml"}
    group_partial : sequence of str
        Parameters released in every constrained step (partial invariance), e.g. ``["x3~1"]``.
    criterion : {"cheung_rensvold2002", "chen2007", "chisq"}
        Which rule decides the ``invariant`` column (all are reported).
    cutoffs : dict, optional
        Override ``{"delta_cfi": -0.010, "delta_rmsea": 0.015, "delta_srmr_loadings": 0.030,
        "delta_srmr": 0.010, "alpha": 0.05}``.
    min_group_size : int
        Smallest group accepted.
    progress : callable, optional
        Called with a short message before each model is fitted.
    ordered : bool or list of str
        Declare the items ordinal (lavaan's ``ordered =``; ``True``: every indicator).  The sequence
        is then lavaan/semTools' for ordinal items with the Wu & Estabrook (2016) identification
        (``measEq.syntax(ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016")``, delta parameterization):
        ``configural`` (factor variances 1, means 0, intercepts 0, scales 1), ``thresholds`` (equal
        thresholds; item intercepts free in groups 2, 3, ..., and the scales of items with two or more
        thresholds), ``metric`` (+ equal loadings; factor variances free), ``scalar`` (+ equal
        intercepts, fixed to 0 again; factor means and all scales free).  Each step is a WLSMV fit;
        steps are compared with the scaled-and-shifted difference test lavaan's ``lavTestLRT`` uses
        for WLSMV (``method = "satorra.2000"``, see :func:`satorra_2000`) and with ΔCFI/ΔRMSEA of the
        scaled indices (lavaan 0.6-14 gives no robust CFI/RMSEA for multi-group WLSMV).  Score tests
        for partial invariance are not available with ordered items.
    parameterization : {"delta"}
        Only the delta parameterization is supported for the ordinal sequence.

    Returns
    -------
    InvarianceResult

    Examples
    --------
    >>> res = invariance(HS3, hs, group="school", estimator="MLR")   # doctest: +SKIP
    >>> res.table                                                    # doctest: +SKIP

    R (lavaan/semTools): ``cfa(HS3, hs, group = "school", group.equal = c("loadings", "intercepts"))``
    per step, ``lavTestLRT(configural, metric, scalar, method = "satorra.bentler.2001")``,
    ``semTools::compareFit(...)`` for ΔCFI/ΔRMSEA and ``lavTestScore(scalar)`` for partial invariance.
    """
    from .sem import fit as sem_fit

    is_ordered = ordered is not False and ordered is not None and not (isinstance(ordered, (list, tuple))
                                                                        and not ordered)
    if is_ordered:
        if tuple(levels) == ("configural", "metric", "scalar", "strict"):
            levels = tuple(ORDINAL_STEPS)
        return _invariance_ordered(model, data, group=group, levels=levels, estimator=estimator, missing=missing,
                                   group_partial=group_partial, criterion=criterion, cutoffs=cutoffs,
                                   min_group_size=min_group_size, std_lv=std_lv, ordered=ordered,
                                   parameterization=parameterization, progress=progress)
    if parameterization != "delta":
        raise ModelSpecificationError(f"parameterization={parameterization!r} applies to ordered items only; "
                                      "pass ordered=True or drop parameterization")
    std_lv = bool(std_lv)
    levels = _check_levels(levels, list(STEP_CONSTRAINTS))
    if criterion not in CRITERIA:
        raise ModelSpecificationError(f"criterion={criterion!r} is not known; use one of {', '.join(CRITERIA)}")
    cut = dict(CUTOFFS)
    cut.update(cutoffs or {})
    sizes = check_groups(data, group, min_group_size)
    est = str(estimator).upper()
    if est not in ("ML", "MLR"):
        raise ModelSpecificationError(f"invariance() supports estimator='ML' or 'MLR' (got {estimator!r}); for "
                                      "MLM/MLMV fit the steps with icaf_sem.fit and test them with icaf_sem.compare")

    from .estimation.reuse import defer_standard_errors, fit_session
    fits, rows, score_tests = {}, [], {}
    # one session: the groups' statistics (EM moments) and the baseline model are computed once
    with fit_session():
        for step in levels:
            ge = STEP_CONSTRAINTS[step]
            if progress:
                progress(f"invariance: fitting the {step} model")
            # every step after the first is nested in it, so its standard errors wait until read
            with defer_standard_errors(bool(fits)):
                res = sem_fit(model, data, estimator=est, missing=missing, group=group, group_equal=ge,
                              group_partial=tuple(group_partial) if ge else (), std_lv=std_lv, modindices=False)
            fits[step] = res
            if len(fits) == 1:
                used = res.fit_by_group
                few = used[used["nobs"] < min_group_size]
                if len(few):
                    desc = ", ".join(f"{r.label!r} keeps {r.nobs}" for r in few.itertuples())
                    raise DataError(f"group(s) too small after listwise deletion in column {group!r}: {desc} complete "
                                    f"respondents (at least {min_group_size} needed); use missing='ml' (FIML) to keep "
                                    "respondents with blank items, or merge small groups")
            fm = res.fit_measures
            row = {"step": step, "description": STEP_LABELS[step], "group_equal": ",".join(ge),
                   "npar": int(fm["npar"]), "chisq": fm["chisq"], "df": int(fm["df"]), "pvalue": fm["pvalue"],
                   "cfi": fm["cfi"], "tli": fm["tli"], "rmsea": fm["rmsea"],
                   "rmsea_ci_lower": fm["rmsea.ci.lower"], "rmsea_ci_upper": fm["rmsea.ci.upper"],
                   "srmr": fm["srmr"], "aic": fm["aic"], "bic": fm["bic"], "converged": bool(res.converged)}
            if est == "MLR":
                row.update({"chisq_scaled": fm.get("chisq.scaled", np.nan),
                            "scaling_factor": fm.get("chisq.scaling.factor", np.nan),
                            "cfi_robust": fm.get("cfi.robust", np.nan), "tli_robust": fm.get("tli.robust", np.nan),
                            "rmsea_robust": fm.get("rmsea.robust", np.nan)})
            rows.append(row)
    table = pd.DataFrame(rows)
    cfi_col = "cfi_robust" if est == "MLR" else "cfi"
    rmsea_col = "rmsea_robust" if est == "MLR" else "rmsea"
    fit_basis = "robust (cfi.robust, rmsea.robust)" if est == "MLR" else "standard (cfi, rmsea)"
    _add_step_columns(table, ["delta_chisq", "delta_df", "delta_pvalue", "delta_chisq_scaled", "delta_pvalue_scaled",
                              "delta_scaling_factor", "delta_cfi", "delta_rmsea", "delta_srmr"])
    for i in range(1, len(table)):
        prev, cur = table.iloc[i - 1], table.iloc[i]
        d, ddf, p = chisq_difference(cur["chisq"], cur["df"], prev["chisq"], prev["df"])
        table.loc[i, ["delta_chisq", "delta_df", "delta_pvalue"]] = [d, ddf, p]
        p_used = p
        if est == "MLR":
            ts, _, ps, cd = satorra_bentler_2001(cur["chisq"], cur["df"], cur["scaling_factor"],
                                                 prev["chisq"], prev["df"], prev["scaling_factor"])
            table.loc[i, ["delta_chisq_scaled", "delta_pvalue_scaled", "delta_scaling_factor"]] = [ts, ps, cd]
            p_used = ps
        dcfi = cur[cfi_col] - prev[cfi_col]
        drmsea = cur[rmsea_col] - prev[rmsea_col]
        table.loc[i, ["delta_cfi", "delta_rmsea", "delta_srmr"]] = [dcfi, drmsea, cur["srmr"] - prev["srmr"]]
        # a tiny tolerance so that a change printed as -.010 counts as -.010
        cr = bool(dcfi <= cut["delta_cfi"] + 1e-12)
        chen = bool(cr and drmsea >= cut["delta_rmsea"] - 1e-12)
        rej = bool(p_used < cut["alpha"]) if np.isfinite(p_used) else False
        table.loc[i, "cheung_rensvold2002"] = cr
        table.loc[i, "chen2007"] = chen
        srmr_cut = cut["delta_srmr_loadings"] if cur["step"] == "metric" else cut["delta_srmr"]
        table.loc[i, "chen2007_srmr"] = bool(cr and (cur["srmr"] - prev["srmr"]) >= srmr_cut - 1e-12)
        table.loc[i, "chisq_test_rejects"] = rej
        failed = {"chen2007": chen, "cheung_rensvold2002": cr, "chisq": rej}[criterion]
        table.loc[i, "invariant"] = not failed
        if failed:
            added = set(STEP_CONSTRAINTS[cur["step"]]) - set(STEP_CONSTRAINTS[prev["step"]])
            try:
                st = equality_score_tests(fits[cur["step"]])
            except (np.linalg.LinAlgError, ValueError) as exc:
                warnings.warn(f"score tests for the {cur['step']} step could not be computed: {exc}")
                continue
            st = st[st["kind"].isin(added)].reset_index(drop=True)
            st.insert(0, "parameter", [param_name(a, b, c) for a, b, c in zip(st["lhs"], st["op"], st["rhs"])])
            score_tests[cur["step"]] = st
            sig = st[st["pvalue"] < cut["alpha"]].head(max_suggestions)
            table.loc[i, "suggest_free"] = "; ".join(
                f"{r.parameter} in group {r.group_label} (X2 = {r.X2:.2f}, p = {r.pvalue:.3g})"
                for r in sig.itertuples())
    if len(table):
        table.loc[0, "invariant"] = True if fits[levels[0]].converged else pd.NA
    # the respondents each group contributed to the fits (after listwise deletion where it applies)
    used = fits[levels[0]].fit_by_group
    sizes = {lab: int(n) for lab, n in zip(used["label"], used["nobs"])}
    return InvarianceResult(table=table, fits=fits, score_tests=score_tests, cutoffs=cut, criterion=criterion,
                            group=group, group_labels=list(fits[levels[0]].group_labels), group_sizes=sizes,
                            estimator=est, missing=missing, fit_basis=fit_basis)


def _invariance_ordered(model, data, *, group, levels, estimator, missing, group_partial, criterion, cutoffs,
                        min_group_size, std_lv, ordered, parameterization, progress):
    """The ordinal sequence (see :func:`invariance`, ``ordered``)."""
    from ._linalg import one_blas_thread
    from .estimation.wls import fit_ordinal
    from .model.syntax import parse_model

    levels = _check_levels(levels, list(ORDINAL_STEPS), " for ordered items", (
        " (residual variances of ordered items are not parameters in the delta parameterization, so there is no "
        "strict step)" if "strict" in levels else ""))
    if criterion not in CRITERIA:
        raise ModelSpecificationError(f"criterion={criterion!r} is not known; use one of {', '.join(CRITERIA)}")
    est = "WLSMV" if estimator in (None, "ML") else str(estimator).upper()
    if est != "WLSMV":
        raise ModelSpecificationError(f"estimator={estimator!r} with ordered items: the ordinal invariance sequence "
                                      "uses WLSMV (lavaan's default for ordered items); drop estimator")
    if str(parameterization).lower() != "delta":
        raise ModelSpecificationError(f"parameterization={parameterization!r}: the ordinal invariance sequence "
                                      "supports the delta parameterization only (lavaan's default); use 'delta'")
    if std_lv is False:
        raise ModelSpecificationError("std_lv=False with ordered items: the ordinal sequence identifies the factors "
                                      "by fixing their variances to 1 (Wu & Estabrook 2016, measEq.syntax's "
                                      "ID.fac = 'std.lv'); drop std_lv")
    if group_partial:
        raise ModelSpecificationError(f"group_partial={list(group_partial)!r} with ordered items is not supported "
                                      "yet (partial invariance changes the Wu & Estabrook identification); "
                                      "drop group_partial")
    miss = str(missing).lower()
    if miss not in ("listwise", "pairwise"):
        raise ModelSpecificationError(f"missing={missing!r} is not available with ordered items (no FIML for "
                                      "WLSMV, as in lavaan); use missing='listwise' or 'pairwise'")
    cut = dict(CUTOFFS)
    cut.update(cutoffs or {})
    check_groups(data, group, min_group_size)
    if isinstance(ordered, str):
        ordered = [x.strip() for x in ordered.split(",") if x.strip()]
    stmts = parse_model(model)
    fits, rows = {}, []
    for step in levels:
        ge = ORDINAL_STEPS[step]
        if progress:
            progress(f"invariance: fitting the {step} model (WLSMV)")
        with one_blas_thread(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = fit_ordinal(stmts, data, model_text=model, ordered=ordered, estimator="WLSMV",
                              parameterization="delta", std_lv=True, group=group, group_equal=ge, group_partial=(),
                              missing=miss, identification="wu.estabrook.2016")
        for w in caught:
            msg = f"{step}: {w.message}"
            if msg not in res.warnings:
                res.warnings.append(msg)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        fits[step] = res
        if len(fits) == 1:
            few = {lab: st.N for lab, st in zip(res.group_labels, res._m.stats) if st.N < min_group_size}
            if few:
                desc = ", ".join(f"{k!r} keeps {v}" for k, v in few.items())
                raise DataError(f"group(s) too small after deleting incomplete rows in column {group!r}: {desc} "
                                f"respondents (at least {min_group_size} needed); use missing='pairwise' or merge "
                                "small groups")
        fm = res.fit_measures
        g = fm.get
        rows.append({"step": step, "description": ORDINAL_LABELS[step], "group_equal": ",".join(ge),
                     "npar": int(fm["npar"]), "chisq": fm["chisq"], "df": int(fm["df"]), "pvalue": g("pvalue", np.nan),
                     "chisq_scaled": g("chisq.scaled", np.nan), "pvalue_scaled": g("pvalue.scaled", np.nan),
                     "scaling_factor": g("chisq.scaling.factor", np.nan),
                     "shift": g("chisq.shift.parameters", np.nan),
                     "cfi": g("cfi", np.nan), "tli": g("tli", np.nan), "rmsea": g("rmsea", np.nan),
                     "cfi_scaled": g("cfi.scaled", np.nan), "tli_scaled": g("tli.scaled", np.nan),
                     "rmsea_scaled": g("rmsea.scaled", np.nan), "srmr": g("srmr", np.nan),
                     "converged": bool(res.converged)})
    table = pd.DataFrame(rows)
    _add_step_columns(table, ["delta_chisq", "delta_df", "delta_pvalue", "delta_chisq_raw", "delta_shift_a",
                              "delta_shift_b", "delta_cfi", "delta_rmsea", "delta_srmr"])
    for i in range(1, len(table)):
        prev, cur = table.iloc[i - 1], table.iloc[i]
        with one_blas_thread():
            t, ddf, p, a, b = satorra_2000(fits[prev["step"]], fits[cur["step"]])
        table.loc[i, ["delta_chisq", "delta_df", "delta_pvalue", "delta_chisq_raw", "delta_shift_a",
                      "delta_shift_b"]] = [t, ddf, p, cur["chisq"] - prev["chisq"], a, b]
        dcfi = cur["cfi_scaled"] - prev["cfi_scaled"]
        drmsea = cur["rmsea_scaled"] - prev["rmsea_scaled"]
        table.loc[i, ["delta_cfi", "delta_rmsea", "delta_srmr"]] = [dcfi, drmsea, cur["srmr"] - prev["srmr"]]
        cr = bool(dcfi <= cut["delta_cfi"] + 1e-12)
        chen = bool(cr and drmsea >= cut["delta_rmsea"] - 1e-12)
        rej = bool(p < cut["alpha"]) if np.isfinite(p) else False
        srmr_cut = cut["delta_srmr_loadings"] if cur["step"] == "metric" else cut["delta_srmr"]
        table.loc[i, "cheung_rensvold2002"] = cr
        table.loc[i, "chen2007"] = chen
        table.loc[i, "chen2007_srmr"] = bool(cr and (cur["srmr"] - prev["srmr"]) >= srmr_cut - 1e-12)
        table.loc[i, "chisq_test_rejects"] = rej
        table.loc[i, "invariant"] = not {"chen2007": chen, "cheung_rensvold2002": cr, "chisq": rej}[criterion]
    if len(table):
        table.loc[0, "invariant"] = True if fits[levels[0]].converged else pd.NA
    first = fits[levels[0]]
    sizes = {lab: int(st.N) for lab, st in zip(first.group_labels, first._m.stats)}
    notes = ["Ordered items: WLSMV fits with the Wu & Estabrook (2016) identification as semTools' measEq.syntax "
             "(ID.fac = 'std.lv', delta parameterization). delta_chisq is lavTestLRT's scaled-and-shifted "
             "difference (method 'satorra.2000'); delta_chisq_raw is the plain difference of the DWLS statistics. "
             "ΔCFI/ΔRMSEA use the scaled indices (lavaan 0.6-14 gives no robust CFI/RMSEA for multi-group "
             "WLSMV). Score tests for partial invariance are not available with ordered items."]
    return InvarianceResult(table=table, fits=fits, score_tests={}, cutoffs=cut, criterion=criterion, group=group,
                            group_labels=list(first.group_labels), group_sizes=sizes, estimator="WLSMV",
                            missing=miss, fit_basis="scaled (cfi.scaled, rmsea.scaled)", ordered=True, notes=notes)


# `icaf_sem.invariance` is both this module and the function: once the module has been imported
# (e.g. `from icaf_sem.invariance import equality_score_tests`) the package attribute is the
# module, so the module itself forwards calls to the function.
class _CallableModule(__import__("types").ModuleType):
    def __call__(self, *args, **kwargs):
        return invariance(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule
