"""The PLS-SEM stage of :func:`icaf_sem.analyze` (``method="pls"`` or ``"both"``).

:func:`run_pls_stage` estimates the questionnaire's PLS model (``Questionnaire.pls_syntax()``: every
construct a mode-A composite, the higher-order constructs CR and DC by the disjoint two-stage approach
unless ``hoc="repeated_indicators"``) with a percentile bootstrap, PLSpredict (10 folds, 10
repetitions, SmartPLS's defaults), the exact fit test (HI95/HI99, with the same draws) and an IPMA of
every final outcome, and judges the questionnaire's
hypotheses the way the CB-SEM pipeline does (:func:`pls_hypotheses`).  The report's PLS tables are in
:mod:`icaf_sem.report.pls_tables`.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from ..errors import BootstrapWarning, IcafError, ModelSpecificationError

__all__ = ["PLSAnalysis", "run_pls_stage", "pls_hypotheses", "PLS_DEFAULTS"]

PLS_DEFAULTS = {"scheme": "path", "consistent": False, "missing": "listwise", "hoc": "two_stage",
                "predict_folds": 10, "predict_repetitions": 10}

HYPOTHESIS_COLUMNS = ["id", "kind", "path", "lhs", "op", "rhs", "expected_sign", "est", "se", "t", "pvalue",
                      "ci_lower", "ci_upper", "ci_level", "ci_method", "f2", "direct_est", "direct_pvalue",
                      "mediation_type", "mediation_class", "significant", "sign_ok", "supported"]


@dataclass
class PLSAnalysis:
    """What the PLS stage of :func:`icaf_sem.analyze` computed.

    Attributes
    ----------
    result : PLSResult
    hypotheses : DataFrame
        :func:`pls_hypotheses`.
    ipma : dict of str to IPMAResult
        One importance-performance map per final outcome.
    syntax : str
        The PLS model (``Questionnaire.pls_syntax()``).
    options : dict
        ``scheme, consistent, missing, hoc, bootstrap, seed, alpha, predict_folds, predict_repetitions``.
    notes : list of str
        Parts of the stage that were skipped, and why (e.g. PLSpredict for an endogenous HOC).
    fit_test : DataFrame or None
        The bootstrap-based exact fit test (HI95/HI99) with the same draws and seed, when bootstrapped.
    """

    result: Any
    hypotheses: pd.DataFrame
    ipma: dict
    syntax: str
    options: dict
    notes: list = field(default_factory=list)
    fit_test: Optional[pd.DataFrame] = None

    def to_dict(self) -> dict:
        from .._json import json_ready
        return json_ready({"options": self.options, "model": self.syntax, "notes": list(self.notes),
                           "fit_test": None if self.fit_test is None else self.fit_test.to_dict(orient="records"),
                           "result": self.result.to_dict(),
                           "hypotheses": self.hypotheses.to_dict(orient="records"),
                           "ipma": {k: v.to_dict() for k, v in self.ipma.items()}})


def _check_options(opts: dict) -> dict:
    unknown = set(opts) - set(PLS_DEFAULTS)
    if unknown:
        raise ModelSpecificationError(f"pls_options: unknown key(s) {', '.join(sorted(unknown))}; use "
                                      f"{', '.join(PLS_DEFAULTS)}")
    out = dict(PLS_DEFAULTS, **opts)
    k = out["predict_folds"]
    if k is not None and k != "loo" and not (isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 2):
        raise ModelSpecificationError(f"pls_options['predict_folds']={k!r}: use the number of folds (e.g. 10), "
                                      "'loo' or None (no PLSpredict)")
    return out


def final_outcomes(spec) -> list:
    """Endogenous constructs that predict nothing (the IPMA targets)."""
    preds = {iv for _, iv in spec.paths}
    return [c for c in spec.endogenous if c not in preds]


def run_pls_stage(data: pd.DataFrame, questionnaire, *, bootstrap: int = 5000, seed: Optional[int] = None,
                  alpha: float = 0.05, **options) -> PLSAnalysis:
    """Estimate the questionnaire's PLS-SEM model and judge its hypotheses.

    Parameters
    ----------
    data : DataFrame
        The cleaned wave (``CleanResult.data``).
    questionnaire : Questionnaire
    bootstrap : int
        Bootstrap draws (percentile intervals, as SmartPLS reports them); 0 or 1 = no bootstrap, the
        hypotheses are then not tested.
    seed : int, optional
        Seed of the bootstrap and of the PLSpredict folds.
    alpha : float
        Significance level; the intervals are at ``1 - alpha``.
    **options
        ``scheme`` ("path"), ``consistent`` (False), ``missing`` ("listwise" or "mean"), ``hoc``
        ("two_stage" or "repeated_indicators"), ``predict_folds`` (10; "loo"; None = no PLSpredict),
        ``predict_repetitions`` (10).

    Examples
    --------
    >>> stage = run_pls_stage(clean.data, q, bootstrap=5000, seed=1)                  # doctest: +SKIP

    In R: ``seminr::bootstrap_model(estimate_pls(data, csem2seminr(q_pls_syntax)), nboot = 5000, seed = 1)``.
    """
    from . import pls
    o = _check_options(options)
    syntax = questionnaire.pls_syntax()
    boot = int(bootstrap) if bootstrap and bootstrap >= 2 else 0
    notes = []
    predict = o["predict_folds"]
    from .spec import parse_pls_model
    spec = parse_pls_model(syntax)
    if predict is not None and (o["hoc"] == "repeated_indicators" or any(c in spec.hoc for c in spec.endogenous)):
        notes.append("predict")        # PLSpredict does not apply (stated in the table's note)
        predict = None
    res = pls(syntax, data, scheme=o["scheme"], consistent=o["consistent"], missing=o["missing"], hoc=o["hoc"],
              bootstrap=boot, seed=seed, ci="percentile", alpha=alpha, predict=predict,
              predict_repetitions=o["predict_repetitions"] if predict not in (None, "loo") else 1)
    ipmas = {}
    lo, hi = getattr(questionnaire, "scale_min", None), getattr(questionnaire, "scale_max", None)
    for target in final_outcomes(res.spec):
        try:
            ipmas[target] = res.ipma(target, scale_min=lo, scale_max=hi)
        except IcafError as exc:
            notes.append(f"IPMA of {target} not computed: {exc}")
    hyp = pls_hypotheses(res, questionnaire, alpha=alpha)
    opts = dict(o, bootstrap=boot, seed=seed, alpha=alpha, ci="percentile")
    fit_test = None
    if boot >= 20 and o["hoc"] != "repeated_indicators":     # SmartPLS's "complete bootstrap"
        from ..errors import EstimationError
        try:
            fit_test = res.fit_test(draws=boot, seed=seed)
        except EstimationError as exc:
            notes.append(f"exact fit test not computed: {exc}")
    return PLSAnalysis(res, hyp, ipmas, syntax, opts, notes, fit_test)


def pls_hypotheses(result, questionnaire, alpha: float = 0.05) -> pd.DataFrame:
    """The questionnaire's hypotheses judged on a PLS-SEM result, as the CB-SEM pipeline judges them.

    * a path ``Y ~ X``: the path coefficient, its bootstrap SE, *t* = est / SE, *p* (two-sided, from the
      bootstrap *t*, as SmartPLS) and the percentile CI; supported when *p* < ``alpha`` and the sign is as
      expected; f² beside it;
    * a mediation ``X -> M -> Y``: the specific indirect effect with its bootstrap SE, *t*, *p* and
      percentile CI; significant when the CI excludes 0 (as the CB-SEM pipeline judges indirect effects on
      their bootstrap CI); its type (Zhao, Lynch & Chen 2010) from the direct path's *p*;
    * a covariance ``A ~~ B``: PLS-SEM has no free covariance parameter to test; the row reports the
      construct correlation of two exogenous constructs (NaN otherwise) and ``supported`` is None
      (not tested).

    Without a bootstrap nothing is tested (*p* NaN, ``supported`` None).

    Returns
    -------
    DataFrame
        ``id, kind, path, lhs, op, rhs, expected_sign, est, se, t, pvalue, ci_lower, ci_upper, ci_level,
        ci_method, f2, direct_est, direct_pvalue, mediation_type, mediation_class, significant, sign_ok,
        supported``.
    """
    from ..hypotheses import mediation_type
    q = questionnaire
    bt = result.bootstrap
    paths = result.paths.set_index(["lhs", "rhs"])
    f2 = result.f2.set_index(["lhs", "rhs"])["f2"]
    R = result.construct_correlations
    endo = set(result.spec.endogenous)
    level = 1 - alpha

    def boot_row(kind, lhs, rhs):
        if bt is None:
            return None
        m = bt[(bt["kind"] == kind) & (bt["lhs"] == lhs) & (bt["rhs"] == rhs)]
        return m.iloc[0] if len(m) else None

    rows = []
    for h in q.hypotheses:
        out = {"id": h.id, "kind": h.kind, "path": h.path, "lhs": h.lhs, "op": h.op, "rhs": h.rhs,
               "expected_sign": h.expected_sign, "est": math.nan, "se": math.nan, "t": math.nan,
               "pvalue": math.nan, "ci_lower": math.nan, "ci_upper": math.nan, "ci_level": level,
               "ci_method": "none", "f2": math.nan, "direct_est": math.nan, "direct_pvalue": math.nan,
               "mediation_type": None, "mediation_class": None, "significant": None, "sign_ok": None,
               "supported": None}
        if h.kind == "path":
            key = (h.lhs, h.rhs)
            if key not in paths.index:
                raise ModelSpecificationError(f"hypothesis {h.id} ({h.path}) has no path {h.lhs} ~ {h.rhs} in the PLS "
                                              "model; fix: estimate questionnaire.pls_syntax() of the same questionnaire")
            out["est"] = float(paths.loc[key, "est"])
            out["f2"] = float(f2.get(key, math.nan))
            b = boot_row("path", h.lhs, h.rhs)
        elif h.kind == "mediation":
            route = " -> ".join(h.chain)
            x, y = h.chain[0], h.chain[-1]
            b = boot_row("indirect", y, route)
            si = result.specific_indirect
            m = si[si["route"] == route]
            if not len(m):
                raise ModelSpecificationError(f"hypothesis {h.id} ({h.path}): the PLS model has no indirect route "
                                              f"{route}; fix: estimate questionnaire.pls_syntax()")
            out["est"] = float(m["est"].iloc[0])
            if (y, x) in paths.index:
                out["direct_est"] = float(paths.loc[(y, x), "est"])
                db = boot_row("path", y, x)
                out["direct_pvalue"] = float(db["pvalue"]) if db is not None else math.nan
        else:      # covariance: not a PLS parameter
            a, c = h.chain[0], h.chain[-1]
            if a in R.index and c in R.index and a not in endo and c not in endo:
                out["est"] = float(R.loc[a, c])
            out["ci_method"] = "not tested"
            rows.append(out)
            continue
        if b is not None:
            out.update(se=float(b["se"]), t=float(b["t"]), pvalue=float(b["pvalue"]),
                       ci_lower=float(b["ci_lower"]), ci_upper=float(b["ci_upper"]), ci_method="bootstrap percentile")
            if h.kind == "mediation":
                lo, hi = out["ci_lower"], out["ci_upper"]
                sig = bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))
            else:
                sig = bool(np.isfinite(out["pvalue"]) and out["pvalue"] < alpha)
            sign_ok = h.expected_sign == "0" or (np.sign(out["est"]) == (1 if h.expected_sign == "+" else -1))
            out["significant"], out["sign_ok"] = sig, bool(sign_ok)
            out["supported"] = bool(sig and sign_ok)
            if h.kind == "mediation":
                dp = out["direct_pvalue"]
                d_sig = None if not np.isfinite(out["direct_est"]) else bool(np.isfinite(dp) and dp < alpha)
                out["mediation_type"], out["mediation_class"] = mediation_type(sig, d_sig, out["est"],
                                                                               out["direct_est"])
        rows.append(out)
    if bt is None and any(h.kind != "covariance" for h in q.hypotheses):
        warnings.warn("PLS-SEM hypotheses are not tested without a bootstrap (PLS has no analytic standard "
                      "errors); pass bootstrap=5000", BootstrapWarning, stacklevel=2)
    df = pd.DataFrame(rows, columns=HYPOTHESIS_COLUMNS)
    df.attrs["alpha"] = alpha
    df.attrs["bootstrap"] = bt is not None
    return df


# --------------------------------------------------------------------------- the pipeline's hooks
def pls_stage_in_pipeline(col, extras: dict, data, q, *, bootstrap, seed, alpha, pls_options=None, required=True):
    """Run :func:`run_pls_stage` as the pipeline's ``pls`` stage; ``extras["pls"]`` gets the result.

    With ``required=False`` (``method="both"``) an error of the PLS stage is reported as a warning and the
    CB-SEM report goes on without the PLS tables."""
    try:
        extras["pls"] = col.run("pls", run_pls_stage, data, q, bootstrap=bootstrap, seed=seed, alpha=alpha,
                                **dict(pls_options or {}))
    except IcafError as exc:
        if required:
            raise
        col.items.append({"stage": "pls", "category": type(exc).__name__,
                          "message": f"the PLS-SEM stage could not be run: {' '.join(str(exc).split())}"})
        extras["pls"] = None
    return extras.get("pls")


def analyze_pls_only(col, q, info, cleaned, descriptives, normality, *, bootstrap, seed, alpha, language,
                     pls_options, out, options):
    """The rest of :func:`icaf_sem.analyze` for ``method="pls"``: PLS stage, tables, NCA, result."""
    from ..pipeline import AnalysisResult, build_tables
    from ..report import tables as T
    data = cleaned.data
    extras = {}
    pls_stage_in_pipeline(col, extras, data, q, bootstrap=bootstrap, seed=seed, alpha=alpha,
                          pls_options=pls_options, required=True)
    tables = build_tables(cleaned, q, None, None, None, None, None, descriptives=descriptives,
                          normality=normality, language=language, bootstrap=bootstrap, seed=seed, extras=extras)
    necessity = None
    if q.necessity.hypotheses:
        from ..errors import DataError
        from ..nca import test_necessity
        try:
            necessity = col.run("nca", test_necessity, data, q, alpha=alpha)
        except DataError as exc:
            col.items.append({"stage": "nca", "category": "DataWarning",
                              "message": f"necessity hypotheses not tested: {' '.join(str(exc).split())}"})
        else:
            tables["necessity_tests"] = T.necessity_tests(necessity, language=language)
            tables["necessity_bottlenecks"] = T.necessity_bottlenecks(necessity, language=language)
    result = AnalysisResult(questionnaire=q, options=options, input=info, cleaning=cleaned,
                            descriptives=descriptives, cfa=None, reliability=None, sem=None, hypotheses=None,
                            effects=None, tables=tables, warnings=col.items, necessity=necessity, extras=extras)
    if out is not None:
        result.write(out)
    return result


def summary_lines(res) -> list:
    """Text lines of the PLS stage for :meth:`AnalysisResult.summary`."""
    st = res.pls
    if st is None:
        return [f"{res.questionnaire.name}: PLS-SEM stage not run"]
    r = st.result
    o = st.options
    fit = r.model_fit.set_index("measure") if o.get("hoc") != "repeated_indicators" else None
    h = st.hypotheses
    tested = h[h["supported"].notna()]
    lines = [f"{res.questionnaire.name}: {res.cleaning.n_raw} rows -> {res.cleaning.n_clean} respondents "
             f"(PLS-SEM, N = {r.nobs}, {o['scheme']} weighting{', PLSc' if o['consistent'] else ''}"
             + (f", {o['bootstrap']} bootstrap draws" if o["bootstrap"] else "") + ")"]
    if fit is not None:
        lines.append(f"PLS fit: SRMR = {fit.loc['SRMR', 'estimated']:.3f} (saturated "
                     f"{fit.loc['SRMR', 'saturated']:.3f}), d_ULS = {fit.loc['d_ULS', 'estimated']:.3f}, "
                     f"d_G = {fit.loc['d_G', 'estimated']:.3f}")
    lines.append(f"PLS hypotheses supported: {int((tested['supported'] == True).sum())} of {len(tested)} tested")  # noqa: E712
    for _, x in h.iterrows():
        verdict = "not tested" if x["supported"] is None else ("supported" if x["supported"] else "not supported")
        lines.append(f"  {x['id']:<5} {x['path']:<18} est = {x['est']:+.3f}  p = {x['pvalue']:.4f}  {verdict}")
    return lines


def meta_text(res, cat) -> str:
    """The report's one-line account for ``method="pls"`` (in the catalogue's language)."""
    st = res.pls
    o = res.options
    h = st.hypotheses
    tested = h[h["supported"].notna()]
    fit = st.result.model_fit.set_index("measure") if st.options.get("hoc") != "repeated_indicators" else None
    srmr = f"{fit.loc['SRMR', 'estimated']:.3f}".lstrip("0") if fit is not None else "n/a"
    boot = cat.f("meta.boot", draws=o["bootstrap"], seed=o["seed"]) if o["bootstrap"] else ""
    return cat.f("pmeta", source=res.input.get("source"), n_raw=res.cleaning.n_raw, n=st.result.nobs, boot=boot,
                 srmr=srmr, k=int((tested["supported"] == True).sum()), h=len(tested))  # noqa: E712
