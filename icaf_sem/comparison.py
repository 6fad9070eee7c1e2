"""Competing models on one wave: the hypothesised model against the models a reviewer asks for.

From the questionnaire this stage builds

* ``measurement`` -- the measurement model (first-order CFA, every construct correlated with every
  other: the structural part saturated; Anderson & Gerbing 1988);
* ``hypothesised`` -- the model of the hypotheses (``questionnaire.model_syntax()``);
* ``full_mediation`` -- without the direct paths X -> Y of the mediation hypotheses X -> M -> Y
  (only when the hypothesised model has such paths);
* ``partial_mediation`` -- with a direct path X -> Y for every mediation hypothesis (only when the
  hypothesised model lacks one);
* ``direct_only`` -- the partial-mediation model without the paths from the mediators to the
  outcome (no indirect effect);
* every model of the questionnaire's ``competing_models:`` block (its structural paths on the
  questionnaire's measurement model).

Each model is fitted with the estimator and missing-data treatment of the main analysis (no
bootstrap).  Generated models keep the hypothesised model's residual covariances: a pair of pure
outcomes that lavaan would let covary by default (``auto.cov.y``) but that the hypothesised model
keeps uncorrelated is fixed to 0 (``EB ~~ 0*PW``), so that dropping a path changes nothing else.

Nesting is not assumed but established by the NET procedure of Bentler & Satorra (2010), as
``semTools::net``: model A is nested in model B when B, fitted to the moments implied by A,
reproduces them exactly (chi-square below ``crit``); with equal degrees of freedom the two are
equivalent.  Nested pairs get lavaan's ``lavTestLRT`` (:func:`icaf_sem.compare`: the chi-square
difference, Satorra-Bentler 2001 scaled under MLR), non-nested pairs Vuong's (1989) tests
(:func:`icaf_sem.vuong_test`, as ``nonnest2::vuongtest``).  Under MLR the Vuong tests use the ML fits of
the two models (the same estimates): the variance test's A matrix is the information matrix, which
the robust (sandwich) covariance matrix of an MLR fit is not.

Examples
--------
>>> from icaf_sem.comparison import competing_models, compare_competing   # doctest: +SKIP
>>> cmp = compare_competing(q, data, estimator="MLR", missing="ml")      # doctest: +SKIP
>>> cmp.table[["chisq", "df", "cfi", "chisq_diff", "df_diff", "pvalue_diff"]]   # doctest: +SKIP

In R: ``fit_h <- sem(model_h, data, estimator = "MLR", missing = "ml")`` for each model, then
``lavTestLRT(fit_h, fit_full)``, ``semTools::net(fit_h, fit_full, ...)`` and
``nonnest2::vuongtest(fit_h, fit_alt)``.
"""
from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from .errors import IcafError, IcafWarning, ModelSpecificationError

__all__ = ["CompetingModel", "ModelComparison", "competing_models", "compare_competing", "net"]

NET_CRIT = 1e-4          # semTools::net's default crit on the chi-square of the nesting fit


class ComparisonStageWarning(IcafWarning):
    """A competing model could not be fitted or compared; its row is reported without the test."""


@dataclass(frozen=True)
class CompetingModel:
    """One model of the comparison: its key, its name per language, its lavaan syntax and its kind
    (``"measurement"``, ``"hypothesised"``, ``"generated"`` or ``"declared"``)."""

    name: str
    label: dict
    syntax: str
    kind: str
    description: dict = field(default_factory=dict)

    def title(self, language: str = "en") -> str:
        lang = "zh" if language == "zh" else "en"
        if language == "both" and self.label.get("zh"):
            return f"{self.label.get('en', self.name)} / {self.label['zh']}"
        return self.label.get(lang) or self.label.get("en") or self.name


# --------------------------------------------------------------------------- building the models
def _labels(key: str) -> dict:
    from .report.i18n import catalogue
    return {"en": catalogue("en")[f"cmp.{key}"], "zh": catalogue("zh")[f"cmp.{key}"]}


def _structure(q):
    regs = [(h.lhs, h.rhs) for h in q.hypotheses if h.kind == "path"]          # (y, x)
    covs = [(h.lhs, h.rhs) for h in q.hypotheses if h.kind == "covariance"]
    chains = [h.chain for h in q.hypotheses if h.kind == "mediation"]
    return regs, covs, chains


def _pure_outcomes(q, regs) -> list:
    """lavaan's ``lv.y``: constructs regressed on others that predict nothing and indicate nothing."""
    xs = {x for _, x in regs}
    comps = {c for cs in q.higher_order.values() for c in cs}
    return [y for y in dict.fromkeys(y for y, _ in regs) if y not in xs and y not in comps]


def _pairs(names) -> set:
    return {frozenset(p) for p in itertools.combinations(names, 2)}


def _syntax(q, regs, covs, zero=()) -> str:
    by_y: dict = {}
    for y, x in regs:
        by_y.setdefault(y, []).append(x)
    lines = [q.measurement_syntax()] + [f"{y} ~ {' + '.join(xs)}" for y, xs in by_y.items()]
    lines += [f"{a} ~~ {b}" for a, b in covs] + [f"{a} ~~ 0*{b}" for a, b in zero]
    return "\n".join(lines)


def competing_models(questionnaire) -> list:
    """The models of the comparison, built from a questionnaire (see the module docstring).

    Parameters
    ----------
    questionnaire : Questionnaire or path

    Returns
    -------
    list of CompetingModel
        ``measurement``, ``hypothesised``, then the generated and the declared alternatives.
    """
    from .questionnaire import competing_structure, load_questionnaire
    q = load_questionnaire(questionnaire)
    regs, covs, chains = _structure(q)
    if not regs:
        raise ModelSpecificationError(f"{q.source}: the questionnaire has no path hypotheses, so there is no "
                                      "structural model to compare; fix: add hypotheses such as 'PW ~ EB'")
    out = [CompetingModel("measurement", _labels("measurement"), q.cfa_syntax(), "measurement"),
           CompetingModel("hypothesised", _labels("hypothesised"), q.model_syntax(), "hypothesised")]
    declared_cov = {frozenset(c) for c in covs}
    hyp_free = _pairs(_pure_outcomes(q, regs)) | declared_cov

    def variant(key, new_regs):
        zero = [tuple(sorted(p, key=list(q.all_constructs).index)) for p in _pairs(_pure_outcomes(q, new_regs))
                if p not in hyp_free]
        zero.sort(key=lambda ab: (q.all_constructs.index(ab[0]), q.all_constructs.index(ab[1])))
        return CompetingModel(key, _labels(key), _syntax(q, new_regs, covs, zero), "generated")

    ends = list(dict.fromkeys((c[-1], c[0]) for c in chains))            # (Y, X) of every mediation
    seen = [frozenset(regs)]
    if chains:
        full = [r for r in regs if r not in ends]
        partial = regs + [e for e in ends if e not in regs]
        last = {(c[-1], c[-2]) for c in chains}
        direct = [r for r in partial if r not in last]
        for key, rr in (("full_mediation", full), ("partial_mediation", partial), ("direct_only", direct)):
            if frozenset(rr) not in seen:
                seen.append(frozenset(rr))
                out.append(variant(key, rr))
    for cm in q.competing_models:
        text = competing_structure(cm)
        out.append(CompetingModel(cm.name, dict(cm.label), q.measurement_syntax() + "\n" + text, "declared",
                                  dict(cm.description)))
    return out


# --------------------------------------------------------------------------- nesting (NET)
def _exact_moment_data(result) -> pd.DataFrame:
    """N rows whose ML covariance matrix (divisor N) is exactly the model-implied one of ``result``."""
    S = result.implied_cov
    n = int(result.nobs)
    p = S.shape[0]
    if n <= p:
        n = p + 1
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((n, p))
    Z -= Z.mean(0)
    try:
        U = np.linalg.cholesky(Z.T @ Z / n).T                    # Z'Z/n = U'U
        W = np.linalg.solve(U.T, Z.T).T                          # W'W/n = I
        X = W @ np.linalg.cholesky(S.to_numpy()).T               # X'X/n = S
    except np.linalg.LinAlgError:
        from .errors import EstimationError
        raise EstimationError("the model-implied covariance matrix is not positive definite, so nesting cannot be "
                              "checked (NET); fix: look at the model's Heywood cases or convergence") from None
    return pd.DataFrame(X, columns=S.columns)


def net(restricted, general, crit: float = NET_CRIT) -> tuple:
    """Is ``restricted`` nested in (or equivalent to) ``general``?  Bentler & Satorra's (2010) NET.

    ``general`` is fitted by ML to the covariance matrix implied by ``restricted`` (with the same N);
    a chi-square below ``crit`` means that ``general`` reproduces it exactly, so ``restricted`` is a
    special case of it (``semTools::net``).  Intercepts are saturated in both models, so the means
    need no check.

    Returns
    -------
    (bool, float)
        The verdict and the chi-square of the nesting fit.
    """
    from .sem import fit
    data = _exact_moment_data(restricted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fit(general.model, data, estimator="ML", missing="listwise", se="none", modindices=False)
    chisq = float(r._core.chisq)
    return bool(r.converged and chisq < crit), chisq


# --------------------------------------------------------------------------- the comparison
_FIT_KEYS = {False: {"chisq": "chisq", "pvalue": "pvalue", "cfi": "cfi", "tli": "tli", "rmsea": "rmsea",
                     "rmsea_ci_lower": "rmsea.ci.lower", "rmsea_ci_upper": "rmsea.ci.upper"},
             True: {"chisq": "chisq.scaled", "pvalue": "pvalue.scaled", "cfi": "cfi.robust", "tli": "tli.robust",
                    "rmsea": "rmsea.robust", "rmsea_ci_lower": "rmsea.ci.lower.robust",
                    "rmsea_ci_upper": "rmsea.ci.upper.robust"}}


def _fm(result, key):
    try:
        v = result.fit_measures[key]
    except KeyError:
        return np.nan
    return float(v) if v is not None else np.nan


class ModelComparison:
    """The result of :func:`compare_competing`.

    Attributes
    ----------
    models : list of CompetingModel
    results : dict of str to SEMResult
        The fit of every model that could be fitted.
    table : DataFrame
        One row per model (index ``model``): ``label, kind, converged, npar, chisq, df, pvalue``
        (the scaled chi-square and robust CFI/TLI/RMSEA under MLR, as the model-fit table),
        ``chisq_ml, scaling_factor, cfi, tli, rmsea, rmsea_ci_lower, rmsea_ci_upper, srmr, aic, bic``,
        and the comparison with the hypothesised model: ``relation`` (``"nested"``: the row's model
        is a special case of the hypothesised one; ``"nests"``; ``"equivalent"``; ``"non-nested"``;
        ``"reference"``), ``chisq_diff, df_diff, pvalue_diff, diff_method`` (lavTestLRT),
        ``delta_cfi`` (row minus hypothesised), ``vuong_variance, vuong_variance_p`` (the
        distinguishability test) and ``vuong_z, vuong_p_row, vuong_p_reference`` (the non-nested LRT;
        z > 0 favours the row's model, the two p-values are one-sided toward each model).
    pairs : DataFrame
        Every pair of fitted models with the hypothesised one (every pair with ``all_pairs=True``):
        ``model_a, model_b, relation, restricted, net_chisq, chisq_diff,
        df_diff, pvalue_diff, vuong_variance, vuong_variance_p, vuong_z, vuong_p_a, vuong_p_b``.
    robust : bool
        Whether the scaled statistics (MLR) are reported.
    """

    def __init__(self, models, results, table, pairs, estimator, missing, robust, n):
        self.models, self.results, self.table, self.pairs = models, results, table, pairs
        self.estimator, self.missing, self.robust, self.n = estimator, missing, robust, n

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        t = self.table
        lines = [f"Competing models ({self.estimator}, {'FIML' if self.missing == 'ml' else 'listwise'}, "
                 f"N = {self.n}); comparisons with the hypothesised model"]
        for name, r in t.iterrows():
            s = f"  {name:<22} chi2 = {r['chisq']:9.2f}  df = {int(r['df']) if np.isfinite(r['df']) else '':>4}  " \
                f"CFI = {r['cfi']:.3f}  AIC = {r['aic']:.1f}  {r['relation']}"
            if np.isfinite(r["chisq_diff"]):
                s += f"  dchi2 = {r['chisq_diff']:.2f}, ddf = {int(r['df_diff'])}, p = {r['pvalue_diff']:.4g}"
            if np.isfinite(r["vuong_z"]):
                s += f"  Vuong z = {r['vuong_z']:.3f}"
            lines.append(s)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"ModelComparison({len(self.table)} models, {self.estimator})"

    def _repr_html_(self) -> str:
        from .report.tables import model_comparison
        from .report.display import html_table
        t = model_comparison(self)
        return html_table(t, title=t.attrs.get("title", ""), note=t.attrs.get("note", ""))

    def to_dict(self) -> dict:
        from ._json import json_value as clean
        return {"estimator": self.estimator, "missing": self.missing, "robust": self.robust, "n": self.n,
                "net_crit": NET_CRIT,
                "models": [{"name": m.name, "label": m.label, "kind": m.kind, "syntax": m.syntax} for m in self.models],
                "table": [{"model": k, **{c: clean(v) for c, v in r.items()}} for k, r in self.table.iterrows()],
                "pairs": [{c: clean(v) for c, v in r.items()} for r in self.pairs.to_dict("records")]}


def _ml_view(result, missing):
    """The ML fit of an MLR result without refitting: the same estimates, with the covariance matrix
    ``info_inv / N`` when the MLR fit's bread is the information matrix ML would use (observed under
    FIML, as lavaan); ``None`` otherwise."""
    import copy
    from .estimation.tests import resolve_options
    core = result._core
    ml_opts = resolve_options("ML", missing=missing)[0]
    if core.info_inv is None or core.options.information != ml_opts.information or \
            getattr(core, "info_kind", (None, None))[1] != "hessian" or getattr(core, "constraints", None):
        return None
    view = copy.copy(result)
    c = copy.copy(core)
    c.vcov = core.info_inv / core.ntotal
    view._core = c
    return view


def _lrt(general, restricted, names):
    """lavTestLRT of two nested fits: (chisq_diff, df_diff, pvalue, method)."""
    from .compare import compare
    t = compare(general, restricted, names=names)
    row = t.iloc[1]
    return float(row["chisq_diff"]), float(row["df_diff"]), float(row["pvalue"]), t.attrs["method"]


def _vuong(a, b):
    from .compare import vuong_test
    v = vuong_test(a, b)
    return (float(v.loc["variance", "statistic"]), float(v.loc["variance", "pvalue"]),
            float(v.loc["lrt", "statistic"]), float(v.loc["lrt", "pvalue_a"]), float(v.loc["lrt", "pvalue_b"]))


def compare_competing(questionnaire, data: pd.DataFrame, *, estimator: str = "ML", missing: str = "ml",
                      fitted: Optional[dict] = None, crit: float = NET_CRIT,
                      all_pairs: bool = False) -> ModelComparison:
    """Fit the competing models of a questionnaire and compare them with the hypothesised model.

    Parameters
    ----------
    questionnaire : Questionnaire or path
    data : DataFrame
        The cleaned wave (the rows of the main analysis).
    estimator : {"ML", "MLR"}
    missing : {"ml", "listwise"}
    fitted : dict of str to SEMResult, optional
        Fits already made with the same options (``{"hypothesised": sem, "measurement": cfa}`` in
        :func:`icaf_sem.analyze`); they are reused, not refitted.
    crit : float
        Chi-square below which a NET fit counts as exact (``semTools::net``'s ``crit``).
    all_pairs : bool, default False
        Establish the relation (NET) and run the LRT or Vuong test for every pair of models, not
        only for the pairs with the hypothesised model (what the table reports).

    Returns
    -------
    ModelComparison

    Examples
    --------
    >>> cmp = compare_competing("icaf", data, estimator="MLR")     # doctest: +SKIP

    In R, per pair: ``lavTestLRT(fit_h, fit_alt)`` (nested) or ``nonnest2::vuongtest(fit_h, fit_alt)``.
    """
    from .questionnaire import load_questionnaire
    from .sem import fit
    q = load_questionnaire(questionnaire)
    models = competing_models(q)
    fitted = dict(fitted or {})
    results = {}
    for m in models:
        if m.name in fitted and fitted[m.name] is not None:
            results[m.name] = fitted[m.name]
            continue
        try:
            results[m.name] = fit(m.syntax, data, estimator=estimator, missing=missing, modindices=False)
        except IcafError as exc:
            if m.name == "hypothesised":
                raise
            warnings.warn(ComparisonStageWarning(f"competing model {m.name!r} could not be fitted and is left out "
                                                 f"of the comparison: {exc}"))
    ok = {k: r for k, r in results.items() if r.converged}
    for k in results:
        if k not in ok:
            warnings.warn(ComparisonStageWarning(f"competing model {k!r} did not converge; it is shown without "
                                                 "tests"))
    hyp = results["hypothesised"]
    robust = hyp._core.options.scaled_test is not None
    keys = _FIT_KEYS[robust]

    ml_cache = {}

    def ml_fit(name):
        """The ML fit of a model for Vuong's tests: under MLR the same estimates, but the information-based
        (not the sandwich) covariance matrix, which Vuong's A matrix needs."""
        if not robust:
            return ok[name]
        if name not in ml_cache:
            ml_cache[name] = _ml_view(ok[name], missing)
            if ml_cache[name] is None:       # another information matrix than ML's: refit as ML
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", category=IcafWarning)
                    ml_cache[name] = fit(ok[name].model, data, estimator="ML", missing=missing, modindices=False)
        return ml_cache[name]

    # ------------------------------------------------------------------ every pair: NET, then LRT or Vuong
    names = [m.name for m in models if m.name in ok]
    prow = []
    rel = {}
    for a, b in itertools.combinations(names, 2):
        if not all_pairs and "hypothesised" not in (a, b):
            continue
        ra, rb = ok[a], ok[b]
        da, db = ra._core.df, rb._core.df
        row = {"model_a": a, "model_b": b, "relation": "non-nested", "restricted": None, "net_chisq": np.nan,
               "chisq_diff": np.nan, "df_diff": np.nan, "pvalue_diff": np.nan, "vuong_variance": np.nan,
               "vuong_variance_p": np.nan, "vuong_z": np.nan, "vuong_p_a": np.nan, "vuong_p_b": np.nan}
        # the model with more df can only be the restricted one; equal df: check equivalence
        cand = [(a, b), (b, a)] if da == db else ([(a, b)] if da > db else [(b, a)])
        for small, big in cand[:1]:
            try:
                nested, chi = net(ok[small], ok[big], crit)
            except IcafError as exc:
                warnings.warn(ComparisonStageWarning(f"nesting of {small!r} in {big!r} could not be checked: {exc}"))
                nested, chi = False, np.nan
            row["net_chisq"] = chi
            if nested:
                row["relation"] = "equivalent" if da == db else "nested"
                row["restricted"] = None if da == db else small
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=IcafWarning)
                if row["relation"] == "nested":
                    small = row["restricted"]
                    big = b if small == a else a
                    row["chisq_diff"], row["df_diff"], row["pvalue_diff"], _ = _lrt(ok[big], ok[small], [big, small])
                elif row["relation"] == "non-nested":
                    (row["vuong_variance"], row["vuong_variance_p"], row["vuong_z"], row["vuong_p_a"],
                     row["vuong_p_b"]) = _vuong(ml_fit(a), ml_fit(b))
        except (IcafError, np.linalg.LinAlgError) as exc:
            warnings.warn(ComparisonStageWarning(f"models {a!r} and {b!r} could not be compared: {exc}"))
        rel[(a, b)] = row
        prow.append(row)
    pairs = pd.DataFrame(prow, columns=["model_a", "model_b", "relation", "restricted", "net_chisq", "chisq_diff",
                                        "df_diff", "pvalue_diff", "vuong_variance", "vuong_variance_p", "vuong_z",
                                        "vuong_p_a", "vuong_p_b"])

    # ------------------------------------------------------------------ one row per model, against the hypothesised
    method = None
    rows = []
    for m in models:
        r = results.get(m.name)
        row = {"model": m.name, "label": m.title("en"), "kind": m.kind,
               "converged": bool(r.converged) if r is not None else False}
        row["npar"] = _fm(r, "npar") if r is not None else np.nan
        for col, key in keys.items():
            row[col] = _fm(r, key) if r is not None else np.nan
        row["df"] = _fm(r, "df") if r is not None else np.nan
        row["chisq_ml"] = _fm(r, "chisq") if r is not None else np.nan
        row["scaling_factor"] = _fm(r, "chisq.scaling.factor") if (r is not None and robust) else np.nan
        for col in ("srmr", "aic", "bic"):
            row[col] = _fm(r, col) if r is not None else np.nan
        row.update({"relation": "reference" if m.name == "hypothesised" else "", "chisq_diff": np.nan,
                    "df_diff": np.nan, "pvalue_diff": np.nan, "diff_method": "", "delta_cfi": np.nan,
                    "vuong_variance": np.nan, "vuong_variance_p": np.nan, "vuong_z": np.nan, "vuong_p_row": np.nan,
                    "vuong_p_reference": np.nan})
        if m.name != "hypothesised" and m.name in ok:
            pr = rel.get((m.name, "hypothesised")) or rel.get(("hypothesised", m.name))
            if pr is not None:
                row["delta_cfi"] = row["cfi"] - _fm(hyp, keys["cfi"])
                relation = pr["relation"]
                if relation == "nested":
                    relation = "nested" if pr["restricted"] == m.name else "nests"
                row["relation"] = relation
                if relation in ("nested", "nests"):
                    row["chisq_diff"], row["df_diff"], row["pvalue_diff"] = (pr["chisq_diff"], pr["df_diff"],
                                                                            pr["pvalue_diff"])
                    if method is None:
                        try:
                            with warnings.catch_warnings():
                                warnings.simplefilter("ignore", category=IcafWarning)
                                big, small = ("hypothesised", m.name) if relation == "nested" else (m.name,
                                                                                                  "hypothesised")
                                method = _lrt(ok[big], ok[small], [big, small])[3]
                        except IcafError:
                            pass
                    row["diff_method"] = method or ""
                elif relation == "non-nested":
                    first = pr["model_a"] == m.name
                    row["vuong_variance"], row["vuong_variance_p"], row["vuong_z"] = (
                        pr["vuong_variance"], pr["vuong_variance_p"], pr["vuong_z"] if first else -pr["vuong_z"])
                    row["vuong_p_row"] = pr["vuong_p_a"] if first else pr["vuong_p_b"]
                    row["vuong_p_reference"] = pr["vuong_p_b"] if first else pr["vuong_p_a"]
        elif m.name != "hypothesised":
            row["relation"] = "not fitted" if r is None else "not converged"
        rows.append(row)
    table = pd.DataFrame(rows).set_index("model")
    table.attrs.update({"estimator": estimator, "missing": missing, "robust": robust, "n": int(hyp.nobs),
                        "diff_method": method or ("satorra.bentler.2001" if robust else "standard")})
    return ModelComparison(models, results, table, pairs, estimator, missing, robust, int(hyp.nobs))
