"""``analyze()``: from a raw survey wave to paper tables in one call.

The stages run in a fixed order, each taking explicit inputs and returning one
result::

    clean -> descriptives -> CFA -> reliability and validity -> SEM -> hypotheses -> tables -> report

Warnings raised by any stage (Heywood cases, non-convergence, low reliability,
failed discriminant validity, data problems) are collected with the stage that
raised them; they are listed at the top of the report.

>>> from icaf_sem import analyze, load_questionnaire
>>> res = analyze("icaf_sem/data/example_wave.csv", "questionnaires/icaf.yaml", out="results")  # doctest: +SKIP
>>> res.hypotheses[["id", "path", "std_all", "pvalue", "supported"]]                          # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import pandas as pd

from ._linalg import single_blas_thread
from .errors import DataError, IcafError, IcafWarning, ModelSpecificationError

__all__ = ["analyze", "AnalysisResult"]

STAGES = ["clean", "descriptives", "cfa", "reliability", "sem", "hypotheses", "nca", "report"]


@dataclass
class AnalysisResult:
    """Everything :func:`analyze` computed, stage by stage.

    Attributes
    ----------
    questionnaire : Questionnaire
    options : dict
        ``missing, estimator, bootstrap, seed, alpha`` as used.
    input : dict
        ``source`` (file path or ``"<DataFrame>"``), ``sha256`` of the input file
        (of its CSV text for a DataFrame), ``bytes``.
    cleaning : CleanResult
        The cleaned wave (``.data``) and its audit trail.
    data : DataFrame
        The analysed respondents (``cleaning.data``).
    descriptives : DataFrame
        Item descriptives (``psych::describe`` layout).
    cfa : SEMResult
        First-order CFA (``questionnaire.cfa_syntax()``).
    reliability : ReliabilityReport
        Alpha (complete cases), omega, CR, AVE (from the CFA), HTMT, Fornell-Larcker.
    sem : SEMResult
        The structural model (``questionnaire.model_syntax()``).
    hypotheses : DataFrame
        :func:`icaf_sem.hypotheses.test_hypotheses`.
    effects : DataFrame
        Every ``:=`` effect (indirect and total).
    tables : dict of str to DataFrame
        The APA tables, in report order (:mod:`icaf_sem.report.tables`).
    warnings : list of dict
        ``{"stage", "category", "message"}`` from every stage, in order.
    out : Path or None
        The report folder when one was written.
    files : list of Path
    """

    questionnaire: Any
    options: dict
    input: dict
    cleaning: Any
    descriptives: pd.DataFrame
    cfa: Any
    reliability: Any
    sem: Any
    hypotheses: pd.DataFrame
    effects: pd.DataFrame
    tables: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    out: Optional[Path] = None
    files: list = field(default_factory=list)
    necessity: Any = None      # NecessityResult (NCA of the questionnaire's necessity hypotheses) or None
    extras: dict = field(default_factory=dict)

    @property
    def data(self) -> pd.DataFrame:
        return self.cleaning.data

    @property
    def parameters(self) -> pd.DataFrame:
        """The structural model's parameter table."""
        return self.sem.parameters

    @property
    def warning_messages(self) -> list:
        return [f"[{w['stage']}] {w['message']}" for w in self.warnings]

    def summary(self) -> str:
        """A short text account: sample, fit, hypotheses supported, warnings."""
        fm = self.sem.fit_measures
        h = self.hypotheses
        lines = [f"{self.questionnaire.name}: {self.cleaning.n_raw} rows -> {self.cleaning.n_clean} respondents "
                 f"({'FIML' if self.options['missing'] == 'ml' else 'listwise'}, {self.options['estimator']}"
                 + (f", {self.options['bootstrap']} bootstrap draws" if self.options["bootstrap"] else "") + ")",
                 f"SEM fit: chi2 = {fm['chisq']:.2f}, df = {fm['df']}, CFI = {fm['cfi']:.3f}, TLI = {fm['tli']:.3f}, "
                 f"RMSEA = {fm['rmsea']:.3f}, SRMR = {fm['srmr']:.3f}",
                 f"Hypotheses supported: {int(h['supported'].sum())} of {len(h)}"]
        for _, r in h.iterrows():
            lines.append(f"  {r['id']:<5} {r['path']:<18} std = {r['std_all']:+.3f}  p = {r['pvalue']:.4f}  "
                         f"{'supported' if r['supported'] else 'not supported'}"
                         + (f"  ({r['mediation_type']})" if isinstance(r["mediation_type"], str) else ""))
        if self.necessity is not None:
            lines.append(self.necessity.summary())
        if self.warnings:
            lines.append(f"Warnings ({len(self.warnings)}):")
            lines += [f"  ! {m}" for m in self.warning_messages]
        if self.out is not None:
            lines.append(f"Report written to {self.out}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"AnalysisResult({self.cleaning.n_clean} respondents, {len(self.hypotheses)} hypotheses, "
                f"{int(self.hypotheses['supported'].sum())} supported, {len(self.warnings)} warnings)")

    def _repr_html_(self) -> str:
        from .report.export import html_fragment
        return html_fragment(self)

    def in_language(self, language: str) -> "AnalysisResult":
        """The same analysis with its tables (and the report it writes) in ``language`` ("en", "zh", "both").

        Nothing is re-estimated: only the tables' titles, headers, notes and verdicts change.
        """
        import copy
        from .report import tables as T
        from .report.i18n import check_language
        lang = check_language(language)
        o = self.options
        norm = None
        if "multivariate_normality" in self.tables:
            norm = T.multivariate_normality(self.data, self.questionnaire, language=lang)
        new = copy.copy(self)
        new.options = dict(o, language=lang)
        new.tables = build_tables(self.cleaning, self.questionnaire, self.cfa, self.reliability, self.sem,
                                  self.hypotheses, self.effects, normality=norm, language=lang,
                                  bootstrap=o["bootstrap"], seed=o["seed"], se=o.get("se", "standard"),
                                  estimator=o["estimator"], extras=self.extras)
        if self.necessity is not None:
            new.tables["necessity_tests"] = T.necessity_tests(self.necessity, language=lang)
            new.tables["necessity_bottlenecks"] = T.necessity_bottlenecks(self.necessity, language=lang)
        new.out, new.files = None, []
        return new

    def to_dict(self) -> dict:
        """Every number, JSON-ready (NaN -> None): the layout of ``results.json``."""
        from .report.export import results_dict
        return results_dict(self)

    def write(self, out: Union[str, os.PathLike]) -> list:
        """Write the report folder (whole or not at all); returns the files written."""
        from .report.export import write_report
        self.files = write_report(self, out)
        self.out = Path(out)
        return self.files


# --------------------------------------------------------------------------- helpers
class _Collector:
    """Runs each stage, keeps its IcafWarnings for the report and shows each one once, at the user's call.

    With ``progress``, a line per stage goes to stderr (``[3/9] cfa ... 1.2 s``).
    """

    ORDER = ["clean", "descriptives", "cfa", "reliability", "sem", "hypotheses", "second_order", "method_bias",
             "invariance"]

    def __init__(self, progress: bool = False):
        import time
        self.items: list = []
        self._seen: set = set()
        self._progress = progress
        self._stage = None
        self._t0 = self._t = time.perf_counter()

    def _announce(self, stage: str) -> None:
        import sys
        import time
        if not self._progress or stage == self._stage:
            return
        now = time.perf_counter()
        k = self.ORDER.index(stage) + 1 if stage in self.ORDER else 0
        sys.stderr.write(f"icaf-sem analyze [{k}/{len(self.ORDER)}] {stage} ... "
                         f"({now - self._t0:.1f} s elapsed)\n")
        sys.stderr.flush()
        self._stage, self._t = stage, now

    def run(self, stage: str, func, *args, **kwargs):
        self._announce(stage)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = func(*args, **kwargs)
        for w in caught:
            if not issubclass(w.category, IcafWarning):
                continue   # other libraries' noise stays out of the report
            msg = " ".join(str(w.message).split())
            if msg in self._seen:
                continue     # once, even when two stages raise the same message
            self._seen.add(msg)
            self.items.append({"stage": stage, "category": w.category.__name__, "message": msg})
            # shown at the line that called analyze(), not inside the library
            warnings.warn(w.message if isinstance(w.message, Warning) else w.category(msg), stacklevel=3)
        return value


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _validate(missing, estimator, bootstrap, seed, alpha):
    miss = str(missing).lower()
    if miss in ("fiml", "ml"):
        miss = "ml"
    if miss not in ("ml", "listwise"):
        raise ModelSpecificationError(f"missing={missing!r} is not supported; use 'ml' (FIML, the default) or "
                                      "'listwise'")
    est = str(estimator).upper()
    if est not in ("ML", "MLR"):
        raise ModelSpecificationError(f"estimator={estimator!r} is not supported; use 'ML' or 'MLR'")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise ModelSpecificationError(f"bootstrap={bootstrap!r} must be a whole number of draws >= 0 "
                                      "(e.g. 2000; 0 for none)")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ModelSpecificationError(f"seed={seed!r} must be a whole number >= 0 (e.g. seed=1) or None")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ModelSpecificationError(f"alpha={alpha!r} must be a number between 0 and 1, e.g. 0.05")
    return miss, est, int(bootstrap), (None if seed is None else int(seed)), float(alpha)


# --------------------------------------------------------------------------- the pipeline
DEFAULT_BOOTSTRAP = 5000


def _fit_with_bootstrap(fit, syntax, data, *, estimator, missing, bootstrap, seed, progress, se):
    """The structural model with its bootstrap.

    ``se="standard"`` keeps the ML/MLR standard errors, z, p and normal-theory CIs of
    every parameter and adds the bootstrap columns (``boot_se``, percentile and
    bias-corrected bounds) beside them -- the indirect effects are judged on those.
    ``se="bootstrap"`` is lavaan's ``se = "bootstrap"``: every SE is the SD of the draws.
    """
    res = fit(syntax, data, estimator=estimator, missing=missing)
    if not bootstrap:
        return res
    from .estimation.bootstrap import run_bootstrap
    from ._linalg import one_blas_thread
    core = res._core
    with one_blas_thread():
        boot = run_bootstrap(core, int(bootstrap), seed=seed, progress=progress, defined_fn=res._defined_draws,
                             def_names=[d[0] for d in core.pt.defined])
    if se == "bootstrap":
        res._attach_bootstrap(boot)
    else:
        res.boot = boot
        ann = boot.annotate(res.parameters)
        params = res.parameters.copy()
        for c in ("boot_se", "boot_pct_lower", "boot_pct_upper", "boot_bc_lower", "boot_bc_upper"):
            params[c] = ann[c].to_numpy()
        res.parameters = params
        for msg in boot.messages:
            res.warnings.append(msg)
    return res


@single_blas_thread       # stage modules' matrices are small: a second BLAS thread only spins (see _linalg)
def analyze(raw, questionnaire, *, missing: str = "ml", estimator: str = "ML", bootstrap: int = DEFAULT_BOOTSTRAP,
            seed: Optional[int] = None, alpha: float = 0.05, out: Union[str, os.PathLike, None] = None,
            progress: bool = False, figures: bool = True, clean_options: Optional[dict] = None,
            language: str = "en", se: str = "standard", reliability: Optional[str] = None,
            invariance: Union[bool, list] = True, method_bias: bool = True) -> AnalysisResult:
    """Run the whole pipeline on a raw survey wave.

    Parameters
    ----------
    raw : str, path or DataFrame
        The raw wave as exported by the survey platform (CSV in UTF-8/GBK, .xlsx,
        .sav, .dta) or a DataFrame holding it.  It is never modified.
    questionnaire : Questionnaire or path
        The instrument (``questionnaires/icaf.yaml``).
    missing : {"ml", "listwise"}, default "ml"
        Missing answers: full-information maximum likelihood (FIML, lavaan's
        ``missing = "ml"``) or listwise deletion.
    estimator : {"ML", "MLR"}, default "ML"
    bootstrap : int, default 5000
        Bootstrap draws of the structural model, for the percentile and bias-corrected
        intervals of the indirect effects (on which their hypotheses are judged);
        0 turns the bootstrap off (delta-method intervals).  The direct paths keep
        their ML/MLR standard errors unless ``se="bootstrap"``.
    seed : int, optional
        Seed of the bootstrap; the same seed gives the same intervals.  When none is
        given one is drawn and recorded (``options["seed"]``, reproducibility.json).
    reliability : {"em", "complete"}, optional
        Sample of alpha, item-total statistics and HTMT.  ``"em"`` (the default under
        FIML) computes them from the saturated EM covariance matrix of the same N
        respondents as the CFA and SEM (Enders 2003), so every table rests on one N;
        ``"complete"`` (the default under listwise deletion) uses the complete cases.
    invariance : bool or list of str, default True
        Measurement invariance (configural, metric, scalar) across every category
        column of the questionnaire (``level``, ``role``), or across the columns
        listed; a column whose smallest group has fewer than 30 respondents is
        named in the table's note instead.  False skips it.
    method_bias : bool, default True
        Common-method bias table (Harman, ULMC, full-collinearity VIFs).
    se : {"standard", "bootstrap"}, default "standard"
        ``"bootstrap"`` is lavaan's ``se = "bootstrap"``: every standard error, z, p
        and CI comes from the draws.
    alpha : float, default 0.05
        Significance level of the hypothesis tests.
    out : path, optional
        Folder for the report (report.html, report.docx, tables.xlsx, tables.tex,
        results.json, reproducibility.json, figures/); written whole or not at all.
    progress : bool
        A line per stage on stderr and the bootstrap progress bar (the CLI turns it on
        on a terminal).
    figures : bool, default True
        Draw the figures when writing the report.
    clean_options : dict, optional
        Overrides of the questionnaire's cleaning rules (``{"speeder_fraction": 0.3}``).
    language : {"en", "zh", "both"}, default "en"
        Language of the report: every title, header, note, verdict and figure label,
        and the questionnaire's wording and construct names; ``"both"`` is the English
        report with the Chinese wording beside the English.

    Returns
    -------
    AnalysisResult

    Raises
    ------
    DataError, QuestionnaireError, ModelSpecificationError
        Bad input; the message names the file, column or option and the fix.

    Examples
    --------
    >>> res = analyze("wave1.csv", "questionnaires/icaf.yaml", bootstrap=2000, seed=1, out="results")  # doctest: +SKIP

    The structural model is lavaan's
    ``sem(q_model_syntax, data = cleaned, estimator = "ML", missing = "ml", se = "bootstrap", bootstrap = 2000)``.
    """
    from .hypotheses import defined_effects, test_hypotheses
    from .measurement.reliability import reliability_report
    from .questionnaire import load_questionnaire
    from .report import tables as T
    from .sem import fit
    from .survey.cleaning import clean
    from .survey.io import load_survey

    missing, estimator, bootstrap, seed, alpha = _validate(missing, estimator, bootstrap, seed, alpha)
    from .report.i18n import check_language
    language = check_language(language)
    if se not in ("standard", "bootstrap"):
        raise ModelSpecificationError(f"se={se!r} is not supported; use 'standard' (ML/MLR standard errors, the "
                                      "default) or 'bootstrap' (lavaan's se = \"bootstrap\", needs bootstrap > 0)")
    if se == "bootstrap" and not bootstrap:
        raise ModelSpecificationError("se='bootstrap' needs bootstrap draws; fix: pass bootstrap=5000 (or more)")
    reliability_basis = reliability or ("em" if missing == "ml" else "complete")
    if reliability_basis not in ("em", "complete"):
        raise ModelSpecificationError(f"reliability={reliability!r} is not supported; use 'em' (saturated EM "
                                      "covariance of every respondent, Enders 2003) or 'complete' (complete cases)")
    if reliability_basis == "em" and missing != "ml":
        raise ModelSpecificationError("reliability='em' needs missing='ml' (FIML); with listwise deletion every "
                                      "statistic already uses the complete cases")
    if bootstrap and seed is None:     # drawn and recorded, so that the rerun reproduces the intervals
        seed = int(np.random.SeedSequence().entropy % (2 ** 31 - 1))
    if questionnaire is None:
        raise DataError("questionnaire=None: analyze() needs the instrument; pass its YAML path (e.g. "
                        "'questionnaires/icaf.yaml'), 'icaf' for the bundled one, or a Questionnaire")
    q = load_questionnaire(questionnaire)
    from .hypotheses import check_recursive
    check_recursive(q)           # a structural cycle is refused before any work
    col = _Collector(progress=progress)

    # ---------------------------------------------------------------- input and cleaning
    if isinstance(raw, pd.DataFrame):
        text = raw.to_csv(index=False).encode("utf-8")
        info = {"source": "<DataFrame>", "sha256": hashlib.sha256(text).hexdigest(), "bytes": len(text),
                "sha256_of": "the DataFrame written as UTF-8 CSV without index"}
        raw_df = raw
    elif isinstance(raw, (str, os.PathLike)):
        p = Path(raw)
        if not p.is_file():
            raise DataError(f"data file {str(raw)!r} not found; fix: check the path of the raw survey export")
        info = {"source": str(p), "sha256": _sha256_file(p), "bytes": p.stat().st_size, "sha256_of": "the input file"}
        raw_df = col.run("clean", load_survey, p, q)
    else:
        raise DataError(f"raw must be a file path or a pandas DataFrame, got {type(raw).__name__}; "
                        "fix: pass the survey export's path")
    qpath = Path(q.source)
    if qpath.is_file():
        info["questionnaire"] = str(qpath)
        info["questionnaire_sha256"] = _sha256_file(qpath)
    cleaned = col.run("clean", clean, raw_df, q, **dict(clean_options or {}))
    data = cleaned.data
    if bootstrap:         # the draws' memory, checked before the CFA and SEM are fitted
        from .estimation.bootstrap import check_bootstrap_memory
        check_bootstrap_memory(bootstrap, [len(data)], 0, 0, [0])     # the weights alone (fit() checks the rest)
    if len(data) < 10:
        raise DataError(f"only {len(data)} respondents remain after cleaning; an SEM needs far more "
                        "(fix: check the exclusions in the cleaning flow, or relax the cleaning rules)")

    # ---------------------------------------------------------------- descriptives
    descriptives = col.run("descriptives", T.item_descriptives, data, q, language=language)
    try:
        normality = col.run("descriptives", T.multivariate_normality, data, q, language=language)
    except DataError as exc:   # too few complete cases for Mardia: reported, not fatal
        col.items.append({"stage": "descriptives", "category": "DataWarning",
                          "message": f"Mardia's test skipped: {exc}"})
        normality = None

    # ---------------------------------------------------------------- CFA, reliability and validity
    cfa = col.run("cfa", fit, q.cfa_syntax(), data, estimator=estimator, missing=missing)
    rel = col.run("reliability", _reliability, data, q, cfa, reliability_basis)

    # ---------------------------------------------------------------- SEM and hypotheses
    sem = col.run("sem", _fit_with_bootstrap, fit, q.model_syntax(), data, estimator=estimator, missing=missing,
                  bootstrap=bootstrap, seed=seed, progress=progress, se=se)
    boot = getattr(sem, "boot", None)
    if boot is not None:
        n_failed = getattr(boot, "n_failed", 0) or 0
        if n_failed:
            from .errors import ConvergenceWarning
            col.run("sem", warnings.warn, f"{n_failed} of {bootstrap} bootstrap draws did not converge and were "
                    "left out of the intervals", ConvergenceWarning)
    hyp = col.run("hypotheses", test_hypotheses, sem, q, alpha=alpha)
    effects = defined_effects(sem, q)

    # ---------------------------------------------------------------- second order, method bias, invariance
    extras = {}
    if q.spec.higher_order:
        extras["cfa2"] = col.run("second_order", fit, q.measurement_syntax(), data, estimator=estimator,
                                 missing=missing)
    if method_bias:
        from .measurement.method_bias import unmeasured_method_factor
        try:
            extras["ulmc"] = col.run("method_bias", unmeasured_method_factor, data, q.cfa_syntax(),
                                     estimator=estimator, missing=missing)
        except IcafError as exc:
            col.items.append({"stage": "method_bias", "category": type(exc).__name__,
                              "message": f"the unmeasured latent method construct could not be fitted: {exc}"})
            extras["ulmc"] = None
    if invariance:
        extras["invariance"], extras["invariance_skipped"] = col.run(
            "invariance", _invariance, data, q, invariance, estimator, missing)

    tables = build_tables(cleaned, q, cfa, rel, sem, hyp, effects, descriptives=descriptives, normality=normality,
                          language=language, bootstrap=bootstrap, seed=seed, se=se, estimator=estimator,
                          extras=extras)
    # Model comparison (full vs partial mediation, direct-only, measurement model): HOOK for
    # icaf_sem.compare() (lavTestLRT) -- add T.model_comparison(...) here; no likelihood-ratio test is
    # computed in the report itself.
    necessity = None
    if q.necessity.hypotheses:   # NCA of the necessity hypotheses on construct mean scores
        from .nca import test_necessity
        try:
            necessity = col.run("nca", test_necessity, data, q, alpha=alpha)
        except DataError as exc:   # e.g. too few complete cases for the scores: reported, not fatal
            col.items.append({"stage": "nca", "category": "DataWarning",
                              "message": f"necessity hypotheses not tested: {' '.join(str(exc).split())}"})
        else:
            tables["necessity_tests"] = T.necessity_tests(necessity, language=language)
            tables["necessity_bottlenecks"] = T.necessity_bottlenecks(necessity, language=language)
    for w in _fit_warnings(tables["model_fit"]):
        col.items.append({"stage": "sem", "category": "FitWarning", "message": w})

    result = AnalysisResult(
        questionnaire=q,
        options={"missing": missing, "estimator": estimator, "bootstrap": bootstrap, "seed": seed, "alpha": alpha,
                 "clean_options": dict(clean_options or {}), "figures": figures, "language": language, "se": se,
                 "reliability": reliability_basis},
        input=info, cleaning=cleaned, descriptives=descriptives, cfa=cfa, reliability=rel, sem=sem,
        hypotheses=hyp, effects=effects, tables=tables, warnings=col.items, necessity=necessity, extras=extras)
    if out is not None:
        result.write(out)
    return result


def _reliability(data, q, cfa, basis):
    """Reliability and validity on one sample: the EM covariance of every respondent, or the complete cases."""
    from .errors import ReliabilityWarning
    from .measurement.reliability import reliability_report
    from .measurement.saturated import reliability_on_cov
    if basis == "complete":
        rel = reliability_report(data, questionnaire=q, fitted=cfa)
        rel.basis = "complete_cases"
        return rel
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rel = reliability_report(data, questionnaire=q, fitted=cfa)
    em = reliability_on_cov(rel, cfa.sample_cov, int(cfa.nobs))
    for w in caught:    # complete-case messages no longer apply; verdicts are judged again below
        m = str(w.message)
        if "complete cases" in m or m.startswith(("construct '", "constructs '")):
            continue
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for _, v in em.verdicts.iterrows():
        if v["ok"] is False or v["ok"] == False:  # noqa: E712
            warnings.warn(f"construct {v['construct']!r}: {v['criterion']} = {v['value']:.3f} is below "
                          f"{v['threshold']:.2f} ({v['source']})", ReliabilityWarning, stacklevel=2)
    for _, d in em.discriminant.iterrows():
        if d["htmt_ok"] is False or d["htmt_ok"] == False:  # noqa: E712
            warnings.warn(f"constructs {d['construct_a']!r} and {d['construct_b']!r}: HTMT = {d['htmt']:.3f} is not "
                          f"below {d['htmt_threshold']:.2f} (Henseler, Ringle & Sarstedt 2015)", ReliabilityWarning,
                          stacklevel=2)
        if d["fornell_larcker_ok"] is False or d["fornell_larcker_ok"] == False:  # noqa: E712
            warnings.warn(f"constructs {d['construct_a']!r} and {d['construct_b']!r}: latent correlation "
                          f"{d['latent_cor']:.3f} is not below both sqrt(AVE) ({d['sqrt_ave_a']:.3f}, "
                          f"{d['sqrt_ave_b']:.3f}) (Fornell & Larcker 1981)", ReliabilityWarning, stacklevel=2)
    return em


def build_tables(cleaned, q, cfa, rel, sem, hyp, effects, *, descriptives=None, normality=None, language="en",
                 bootstrap=0, seed=None, se="standard", estimator="ML", extras=None) -> dict:
    """The report's tables (:mod:`icaf_sem.report.tables`) in ``language``, in report order."""
    from .report import tables as T
    L = language
    data = cleaned.data
    if descriptives is None:
        descriptives = T.item_descriptives(data, q, language=L)
    tables = {}
    tables["sample_flow"] = T.sample_flow(cleaned, language=L)
    tables["sample_profile"] = T.sample_profile(data, q, language=L)
    tables["instrument"] = T.instrument(q, language=L)
    tables["item_descriptives"] = descriptives
    if normality is not None:
        tables["multivariate_normality"] = normality
    tables["measurement_model"] = T.measurement_model(cfa, rel, sem=sem, questionnaire=q, language=L)
    tables["discriminant_validity"] = T.discriminant_validity(rel, questionnaire=q, language=L, n=cfa.nobs)
    extras = extras or {}
    if extras.get("cfa2") is not None:
        tables["second_order"] = T.second_order(extras["cfa2"], questionnaire=q, language=L)
    tables["model_fit"] = T.model_fit(cfa, sem, language=L, cfa2=extras.get("cfa2"))
    if "ulmc" in extras:
        tables["common_method_bias"] = T.common_method_bias(cfa.sample_cov, q, int(cfa.nobs), ulmc=extras["ulmc"],
                                                            language=L)
    if "invariance" in extras:
        tables["measurement_invariance"] = T.measurement_invariance(extras["invariance"],
                                                                    extras["invariance_skipped"], language=L,
                                                                    questionnaire=q)
    tables["r_squared"] = T.r_squared(sem, questionnaire=q, language=L)
    tables["hypothesis_tests"] = T.hypothesis_tests(hyp, questionnaire=q, language=L, n=sem.nobs, bootstrap=bootstrap,
                                                    se_bootstrap=se == "bootstrap", estimator=estimator)
    tables["indirect_effects"] = T.indirect_effects(hyp, effects, questionnaire=q, language=L, n=sem.nobs,
                                                    bootstrap=bootstrap, seed=seed)
    try:
        tables["modification_indices"] = T.modification_indices(sem, language=L, questionnaire=q)
    except IcafError:    # reported in results.json; the report goes on without the table
        pass
    from .report.export import SECTIONS      # the dict's order is the report's numbering
    order = [k for _, keys in SECTIONS for k in keys if k in tables]
    return {k: tables[k] for k in order + [k for k in tables if k not in order]}


def _invariance(data, q, which, estimator, missing):
    """Invariance across the questionnaire's category columns; returns (results, skipped reasons)."""
    from .invariance import MIN_GROUP_SIZE, check_groups
    from .invariance import invariance as run_invariance
    cols = [c for c, spec in q.metadata.items() if spec.get("kind") == "category"] if which is True else list(which)
    results, skipped = {}, {}
    for c in cols:
        if c not in data.columns:
            raise DataError(f"invariance column {c!r} is not in the data; fix: use one of "
                            f"{[k for k in q.metadata if k in data.columns]}")
        try:
            check_groups(data, c, min_size=MIN_GROUP_SIZE)
        except DataError as exc:
            skipped[c] = str(exc).split(";")[0]
            continue
        results[c] = run_invariance(q.cfa_syntax(), data, group=c, levels=("configural", "metric", "scalar"),
                                    estimator=estimator, missing=missing)
    return results, skipped


def _fit_warnings(fit_table: pd.DataFrame) -> list:
    out = []
    for model in ("cfa", "sem"):
        okc = f"{model}_ok"
        if okc not in fit_table.columns:
            continue
        bad = fit_table[fit_table[okc].apply(lambda v: v is False)]
        bad = bad[bad["measure"].str.match(r"^(CFI|TLI|RMSEA|SRMR)")]
        if len(bad):
            parts = [f"{str(r['measure']).split(' [')[0]} = {r[model]:.3f} (cut-off {r['cutoff']})" for _, r in bad.iterrows()]
            out.append(f"{model.upper()} fit misses the Hu & Bentler (1999) cut-offs: {', '.join(parts)}")
    return out
