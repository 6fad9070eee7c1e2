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

STAGES = ["clean", "descriptives", "cfa", "reliability", "sem", "hypotheses", "pls", "nca", "report"]
METHODS = ("cb", "pls", "both")


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
    pls : PLSAnalysis or None
        The PLS-SEM stage (``method="pls"`` or ``"both"``; in ``extras["pls"]``).  With ``method="pls"``
        ``cfa``, ``reliability``, ``sem``, ``hypotheses`` and ``effects`` are None.
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
        if self.sem is None:
            raise ModelSpecificationError("this analysis ran with method='pls': there is no CB-SEM parameter table; "
                                          "use res.pls.result.paths (or rerun with method='both')")
        return self.sem.parameters

    @property
    def pls(self):
        """The PLS-SEM stage (:class:`icaf_sem.pls.report.PLSAnalysis`) of ``method="pls"``/``"both"``, else None."""
        return self.extras.get("pls")

    @property
    def warning_messages(self) -> list:
        return [f"[{w['stage']}] {w['message']}" for w in self.warnings]

    def summary(self) -> str:
        """A short text account: sample, fit, hypotheses supported, warnings."""
        if self.sem is None:           # method="pls"
            from .pls.report import summary_lines
            lines = summary_lines(self)
        else:
            fm = self.sem.fit_measures
            h = self.hypotheses
            lines = [f"{self.questionnaire.name}: {self.cleaning.n_raw} rows -> {self.cleaning.n_clean} respondents "
                     f"({'FIML' if self.options['missing'] == 'ml' else self.options['missing']}, "
                     f"{self.options['estimator']}" + (", ordered items" if self.options.get("ordered") else "")
                     + (f", {self.options['bootstrap']} bootstrap draws" if self.options["bootstrap"] else "") + ")",
                     f"SEM fit: chi2 = {fm['chisq']:.2f}, df = {fm['df']}, CFI = {fm['cfi']:.3f}, "
                     f"TLI = {fm['tli']:.3f}, RMSEA = {fm['rmsea']:.3f}, SRMR = {fm['srmr']:.3f}",
                     f"Hypotheses supported: {int(h['supported'].sum())} of {len(h)}"]
            for _, r in h.iterrows():
                lines.append(f"  {r['id']:<5} {r['path']:<18} std = {r['std_all']:+.3f}  p = {r['pvalue']:.4f}  "
                             f"{'supported' if r['supported'] else 'not supported'}"
                             + (f"  ({r['mediation_type']})" if isinstance(r["mediation_type"], str) else ""))
            if self.pls is not None:
                from .pls.report import summary_lines
                lines += summary_lines(self)[1:]
        if self.necessity is not None:
            lines.append(self.necessity.summary())
        if self.warnings:
            lines.append(f"Warnings ({len(self.warnings)}):")
            lines += [f"  ! {m}" for m in self.warning_messages]
        if self.out is not None:
            lines.append(f"Report written to {self.out}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        h = self.hypotheses if self.hypotheses is not None else self.pls.hypotheses
        return (f"AnalysisResult({self.cleaning.n_clean} respondents, {len(h)} hypotheses, "
                f"{int((h['supported'] == True).sum())} supported, {len(self.warnings)} warnings)")  # noqa: E712

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
        if o.get("ordered"):
            _ordinal_tables(new.tables, self.questionnaire, self.cfa, self.sem, self.reliability, self.extras,
                            o.get("categories"), o["estimator"], o["missing"], lang)
        if self.necessity is not None:
            from .nca import necessity_report_tables
            new.tables.update(necessity_report_tables(self.necessity, language=lang))
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
             "invariance", "comparison", "pls"]

    def __init__(self, progress: bool = False):
        import time
        self.items: list = []
        self._seen: set = set()
        self._progress = progress
        self._stage = None
        self._t0 = self._t = time.perf_counter()

    def _announce(self, stage: str) -> None:
        if not self._progress or stage == self._stage:
            return
        if getattr(self, "_line", None) is None:       # the line printer compare-waves uses too
            from ._progress import StageProgress
            self._line = StageProgress("analyze", len(self.ORDER), eta=False)
        if stage not in self.ORDER:      # a stage after the listed ones (nca, waves)
            self._line.add(1)
        self._line(stage, index=self.ORDER.index(stage) + 1 if stage in self.ORDER else None)
        self._stage = stage

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


ORDINAL_ESTIMATORS = ("WLSMV", "WLSM", "WLSMVS", "ULSMV", "ULSM", "DWLS")


def _validate(missing, estimator, bootstrap, seed, alpha, ordered=False):
    if ordered:
        miss = "listwise" if missing is None else str(missing).lower()
        if miss in ("fiml", "ml"):
            raise ModelSpecificationError(f"missing={missing!r}: FIML is not available with ordered items (WLSMV), "
                                          "as in lavaan; use missing='listwise' (the default with ordered items) or "
                                          "'pairwise', or ordered=False for FIML on the items as continuous")
        if miss not in ("listwise", "pairwise"):
            raise ModelSpecificationError(f"missing={missing!r} is not supported with ordered items; use "
                                          "'listwise' or 'pairwise'")
        est = "WLSMV" if estimator is None else str(estimator).upper()
        if est not in ORDINAL_ESTIMATORS:
            raise ModelSpecificationError(f"estimator={estimator!r} with ordered items is not supported; use one of "
                                          f"{', '.join(ORDINAL_ESTIMATORS)} (WLSMV, lavaan's default)")
    else:
        miss = "ml" if missing is None else str(missing).lower()
        if miss in ("fiml", "ml"):
            miss = "ml"
        if miss not in ("ml", "listwise"):
            raise ModelSpecificationError(f"missing={missing!r} is not supported; use 'ml' (FIML, the default) or "
                                          "'listwise' ('pairwise' needs ordered items)")
        est = "ML" if estimator is None else str(estimator).upper()
        if est not in ("ML", "MLR"):
            raise ModelSpecificationError(f"estimator={estimator!r} is not supported; use 'ML' or 'MLR'"
                                          + (" (WLSMV and its family need ordered=True)"
                                             if est in ORDINAL_ESTIMATORS else ""))
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


def _fit_with_bootstrap(fit, syntax, data, *, estimator, missing, bootstrap, seed, progress, se, ordered=False):
    """The structural model with its bootstrap.

    ``se="standard"`` keeps the ML/MLR standard errors, z, p and normal-theory CIs of
    every parameter and adds the bootstrap columns (``boot_se``, percentile and
    bias-corrected bounds) beside them -- the indirect effects are judged on those.
    ``se="bootstrap"`` is lavaan's ``se = "bootstrap"``: every SE is the SD of the draws.
    """
    if ordered:
        res = fit(syntax, data, estimator=estimator, missing=missing, ordered=ordered)
    else:
        res = fit(syntax, data, estimator=estimator, missing=missing)
    if not bootstrap:
        return res
    from .estimation.bootstrap import run_bootstrap
    from ._linalg import one_blas_thread
    if ordered:     # all three stages (thresholds, polychorics, WLS fit) per draw
        from .estimation.ordinal_bootstrap import bootstrap_ordinal
        with one_blas_thread():
            boot = bootstrap_ordinal(res, int(bootstrap), seed=seed, progress=progress)
    else:
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
def analyze(raw, questionnaire, *, missing: Optional[str] = None, estimator: Optional[str] = None,
            bootstrap: int = DEFAULT_BOOTSTRAP,
            seed: Optional[int] = None, alpha: float = 0.05, out: Union[str, os.PathLike, None] = None,
            progress: bool = False, figures: bool = True, clean_options: Optional[dict] = None,
            language: str = "en", se: str = "standard", reliability: Optional[str] = None,
            invariance: Union[bool, list] = True, method_bias: bool = True, method: str = "cb",
            pls_options: Optional[dict] = None, nca_scores: str = "mean", ordered=False,
            compare_continuous: Optional[bool] = None, compare_with=None, wave_labels=None,
            competing: bool = True) -> AnalysisResult:
    """Run the whole pipeline on a raw survey wave.

    Parameters
    ----------
    raw : str, path or DataFrame
        The raw wave as exported by the survey platform (CSV in UTF-8/GBK, .xlsx,
        .sav, .dta) or a DataFrame holding it.  It is never modified.
    questionnaire : Questionnaire or path
        The instrument (``questionnaires/icaf.yaml``).
    missing : {"ml", "listwise", "pairwise"}, default "ml" ("listwise" with ordered items)
        Missing answers: full-information maximum likelihood (FIML, lavaan's
        ``missing = "ml"``) or listwise deletion; with ordered items listwise or
        pairwise deletion (FIML does not exist for WLSMV).
    estimator : {"ML", "MLR"}, default "ML"; with ordered items "WLSMV" (default) or its family
    ordered : bool or list of str, default False
        Treat the items as ordinal (lavaan's ``ordered =``): the CFA, the SEM, the
        second-order model and the invariance sequence are fitted by WLSMV on
        thresholds and polychoric correlations; reliability is ordinal alpha (alpha on
        the polychoric matrix, as psych) and categorical omega (semTools
        ``compRelSEM(..., ord.scale = TRUE)``, shown in the CR column); HTMT uses
        polychorics; the bootstrap redoes all three stages per draw; the fit table
        shows the scaled chi-square and the robust CFI/TLI/RMSEA.  The report states
        the choice.  When ``ordered`` is False and the items have 5 or fewer answer
        categories, the report recommends the ordinal fit.  The common-method-bias
        table (ULMC) is not available for ordered items and is left out with a note.
    compare_continuous : bool, optional
        With ordered items, also fit the CFA and SEM with the items as continuous
        (ML, FIML) and show both side by side (table ``ordinal_vs_continuous``).
        Default: when the items have 6 or more categories (e.g. 7-point scales, where
        both treatments are defensible, Rhemtulla, Brosseau-Liard & Savalei 2012).
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
    competing : bool, default True
        Fit the competing models (measurement model, full/partial mediation, direct-only and the
        questionnaire's ``competing_models:``) and compare them with the hypothesised model
        (:mod:`icaf_sem.comparison`; nested chi-square difference, Vuong for non-nested models).
    invariance : bool or list of str, default True
        Measurement invariance (configural, metric, scalar) across every category
        column of the questionnaire (``level``, ``role``), or across the columns
        listed; a column whose smallest group has fewer than 30 respondents is
        named in the table's note instead.  False skips it.
    method_bias : bool, default True
        Common-method bias table (Harman, ULMC, full-collinearity VIFs).
    method : {"cb", "pls", "both"}, default "cb"
        ``"cb"``: covariance-based SEM (CFA, SEM, lavaan's numbers); ``"pls"``: PLS-SEM only, as SmartPLS
        reports it (:mod:`icaf_sem.pls.report`: measurement model, HTMT with bootstrap CIs, Fornell-Larcker,
        cross-loadings, VIF, paths with bootstrap *t*, *p* and CIs, f², R², model fit, PLSpredict, IPMA,
        the hypotheses judged as CB-SEM's); ``"both"``: both, with a table that puts the CB-SEM and PLS
        estimates of every hypothesis side by side.  PLS uses the same ``bootstrap`` draws and ``seed``;
        its missing data follow ``pls_options["missing"]`` (the CB-SEM options ``estimator``, ``se``,
        ``reliability``, ``invariance`` and ``method_bias`` do not apply to it).
    pls_options : dict, optional
        PLS settings (:data:`icaf_sem.pls.report.PLS_DEFAULTS`): ``scheme`` ("path"), ``consistent``
        (False; True = PLSc), ``missing`` ("listwise" or "mean"), ``hoc`` ("two_stage" or
        "repeated_indicators"), ``predict_folds`` (10), ``predict_repetitions`` (10).
    nca_scores : {"mean", "factor", "pls"}, default "mean"
        Scores of the necessity hypotheses (NCA): construct means of the complete cases, CB-SEM
        factor scores (lavPredict regression method, first-order CFA; higher-order constructs from
        the second-order measurement model) or PLS-SEM construct scores; see
        :func:`icaf_sem.nca.necessity_scores`.  The report's note names the source.  With
        ``method="pls"`` or ``"both"`` the cIPMA (Hauff et al. 2024) is added for each outcome of
        the necessity hypotheses (the PLS-SEM part of the report).
    compare_with : path, DataFrame, list or dict, optional
        Earlier raw wave(s) of the same questionnaire, oldest first (a dict names them).  Adds
        the section "Comparison of survey waves" (samples, invariance across waves, latent
        means, each hypothesised path by wave): :func:`icaf_sem.compare_waves` of those waves
        and this one, each cleaned with the same rules.
    wave_labels : sequence of str or str, optional
        One label per wave for that section, the earlier ones first, this wave last
        (``"2023,2024"``); default ``wave1``, ``wave2``, ...
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

    if isinstance(ordered, str):
        ordered = [x.strip() for x in ordered.split(",") if x.strip()]
    if isinstance(ordered, (list, tuple)) and not ordered:
        ordered = False
    if not (ordered is False or ordered is True or isinstance(ordered, (list, tuple))):
        raise ModelSpecificationError(f"ordered={ordered!r} must be True, False or a list of item columns")
    missing, estimator, bootstrap, seed, alpha = _validate(missing, estimator, bootstrap, seed, alpha, ordered)
    if ordered and method == "pls":
        raise ModelSpecificationError("ordered= applies to the covariance-based fit (WLSMV); PLS-SEM treats the items "
                                      "as metric, as SmartPLS does: use method='both' or leave ordered out")
    if compare_with is not None and (ordered or method == "pls"):
        raise ModelSpecificationError("compare_with= compares the waves with the covariance-based ML/MLR fit; it is "
                                      "not available with ordered items or method='pls': drop one of them")
    if ordered and nca_scores == "factor":
        raise ModelSpecificationError("nca_scores='factor' with ordered items: factor scores of a WLSMV fit are not "
                                      "available; use nca_scores='mean' or 'pls'")
    if method not in METHODS:
        raise ModelSpecificationError(f"method={method!r} is not supported; use 'cb' (covariance-based SEM, the "
                                      "default), 'pls' (PLS-SEM) or 'both'")
    if pls_options is not None and method == "cb":
        raise ModelSpecificationError("pls_options were given with method='cb'; fix: pass method='pls' or 'both'")
    if pls_options is not None:
        from .pls.report import _check_options
        _check_options(dict(pls_options))
    cb = method in ("cb", "both")
    from .report.i18n import check_language
    language = check_language(language)
    from .nca import SCORE_SOURCES
    if nca_scores not in SCORE_SOURCES:
        raise ModelSpecificationError(f"nca_scores={nca_scores!r} is not supported; use 'mean' (construct means), "
                                      "'factor' (CB-SEM factor scores) or 'pls' (PLS-SEM construct scores)")
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
    if bootstrap and cb:  # the draws' memory, checked before the CFA and SEM are fitted
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
    if method == "pls":          # PLS-SEM only: no CFA/SEM stages (icaf_sem/pls/report.py)
        from .pls.report import analyze_pls_only
        result = analyze_pls_only(col, q, info, cleaned, descriptives, normality, bootstrap=bootstrap, seed=seed,
                                  alpha=alpha, language=language, pls_options=pls_options, out=None,
                                  options={"missing": missing, "estimator": estimator, "bootstrap": bootstrap,
                                           "seed": seed, "alpha": alpha, "clean_options": dict(clean_options or {}),
                                           "figures": figures, "language": language, "se": se,
                                           "reliability": reliability_basis, "method": method,
                                           "nca_scores": nca_scores})
        # the necessity hypotheses are tested under every method (factor scores from a CFA fitted there)
        result.necessity = _necessity_stage(col, data, q, result.tables, nca_scores=nca_scores, cfa=None,
                                            cfa2=None, alpha=alpha, missing=missing, estimator=estimator,
                                            language=language, cipma=True)
        if out is not None:
            result.write(out)
        return result

    # ---------------------------------------------------------------- CFA, reliability and validity
    okw = {"ordered": list(ordered) if isinstance(ordered, (list, tuple)) else True} if ordered else {}
    ncat = _category_counts(data, q)
    if ordered:
        reliability_basis = "complete"
        if reliability not in (None, "complete"):
            raise ModelSpecificationError(f"reliability={reliability!r} with ordered items: ordinal alpha and omega "
                                          "use the complete cases; drop reliability or pass 'complete'")
    elif ncat and max(ncat.values()) <= 5:
        col.items.append({"stage": "cfa", "category": "OrdinalRecommendation", "message": (
            f"the items have at most {max(ncat.values())} answer categories: treating them as continuous (ML) biases "
            "loadings and fit (Rhemtulla, Brosseau-Liard & Savalei 2012); the ordinal fit (WLSMV on polychoric "
            "correlations) is recommended: analyze(..., ordered=True) or icaf-sem analyze --ordered")})
    cfa = col.run("cfa", fit, q.cfa_syntax(), data, estimator=estimator, missing=missing, **okw)
    if ordered:
        rel = col.run("reliability", _reliability_ordinal, data, q, cfa)
    else:
        rel = col.run("reliability", _reliability, data, q, cfa, reliability_basis)

    # ---------------------------------------------------------------- SEM and hypotheses
    sem = col.run("sem", _fit_with_bootstrap, fit, q.model_syntax(), data, estimator=estimator, missing=missing,
                  bootstrap=bootstrap, seed=seed, progress=progress, se=se, ordered=okw.get("ordered", False))
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
                                 missing=missing, **okw)
    if method_bias and ordered:
        col.items.append({"stage": "method_bias", "category": "OrdinalNote", "message": (
            "the common-method-bias table (Harman, unmeasured latent method construct, VIFs) is not available for "
            "ordered items and is left out; rerun with ordered=False to see it")})
    elif method_bias:
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
            "invariance", _invariance, data, q, invariance, estimator, missing, okw.get("ordered", False))
    if method == "both":
        from .pls.report import pls_stage_in_pipeline
        pls_stage_in_pipeline(col, extras, data, q, bootstrap=bootstrap, seed=seed, alpha=alpha,
                              pls_options=pls_options, required=False)
    if competing and ordered:
        col.items.append({"stage": "comparison", "category": "IcafWarning", "message": (
            "the competing-models comparison (likelihood-ratio and Vuong tests) needs the ML/MLR fit; it is not "
            "run with ordered items")})
    elif competing:     # competing models against the hypothesised one (icaf_sem.comparison), no bootstrap
        extras["comparison"] = _competing_models(col, q, data, estimator, missing, sem if se == "standard" else None,
                                                 cfa)

    if ordered and (compare_continuous or (compare_continuous is None and ncat and max(ncat.values()) >= 6)):
        extras["continuous"] = {
            "cfa": col.run("cfa", fit, q.cfa_syntax(), data, estimator="ML", missing="ml"),
            "sem": col.run("sem", fit, q.model_syntax(), data, estimator="ML", missing="ml")}
    if compare_with is not None:      # the comparison of survey waves (icaf_sem.waves)
        from .waves import compare_with_earlier
        extras["waves"] = col.run("waves", compare_with_earlier, raw_df, compare_with, q, wave_labels=wave_labels,
                                  estimator=estimator, missing=missing, alpha=alpha, **dict(clean_options or {}))
    tables = build_tables(cleaned, q, cfa, rel, sem, hyp, effects, descriptives=descriptives, normality=normality,
                          language=language, bootstrap=bootstrap, seed=seed, se=se, estimator=estimator,
                          extras=extras)
    if ordered:
        _ordinal_tables(tables, q, cfa, sem, rel, extras, max(ncat.values()) if ncat else None, estimator, missing,
                        language)
    necessity = _necessity_stage(col, data, q, tables, nca_scores=nca_scores, cfa=cfa, cfa2=extras.get("cfa2"),
                                 alpha=alpha, missing=missing, estimator=estimator, language=language,
                                 cipma=method == "both")
    for w in _fit_warnings(tables["model_fit"]):
        col.items.append({"stage": "sem", "category": "FitWarning", "message": w})

    result = AnalysisResult(
        questionnaire=q,
        options={"missing": missing, "estimator": estimator, "bootstrap": bootstrap, "seed": seed, "alpha": alpha,
                 "clean_options": dict(clean_options or {}), "figures": figures, "language": language, "se": se,
                 "reliability": reliability_basis, "method": method, "nca_scores": nca_scores,
                 "ordered": okw.get("ordered", False), "categories": max(ncat.values()) if ncat else None,
                 **({"compare_with": [str(x) for x in (compare_with.values() if isinstance(compare_with, dict)
                                      else compare_with if isinstance(compare_with, (list, tuple))
                                      else [compare_with])],
                     "wave_labels": [str(w) for w in extras["waves"].wave_labels]} if "waves" in extras else {})},
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
    if cfa is None:       # method="pls": the PLS-SEM tables only
        return _with_pls_tables(tables, q, L, extras or {}, None)
    extras = extras or {}
    tables["measurement_model"] = T.measurement_model(cfa, rel, sem=sem, questionnaire=q, language=L,
                                                      cfa2=extras.get("cfa2"))
    tables["discriminant_validity"] = T.discriminant_validity(rel, questionnaire=q, language=L, n=cfa.nobs)
    if extras.get("cfa2") is not None:
        tables["second_order"] = T.second_order(extras["cfa2"], questionnaire=q, language=L, cfa=cfa)
    tables["model_fit"] = T.model_fit(cfa, sem, language=L, cfa2=extras.get("cfa2"))
    if "ulmc" in extras:
        tables["common_method_bias"] = T.common_method_bias(cfa.sample_cov, q, int(cfa.nobs), ulmc=extras["ulmc"],
                                                            language=L)
    if "invariance" in extras:
        tables["measurement_invariance"] = T.measurement_invariance(extras["invariance"],
                                                                    extras["invariance_skipped"], language=L,
                                                                    questionnaire=q)
    if extras.get("waves") is not None:
        from .report.waves import wave_tables
        tables.update(wave_tables(extras["waves"], language=L))
    if extras.get("comparison") is not None:
        tables["model_comparison"] = T.model_comparison(extras["comparison"], questionnaire=q, language=L)
    tables["r_squared"] = T.r_squared(sem, questionnaire=q, language=L)
    tables["hypothesis_tests"] = T.hypothesis_tests(hyp, questionnaire=q, language=L, n=sem.nobs, bootstrap=bootstrap,
                                                    se_bootstrap=se == "bootstrap", estimator=estimator)
    tables["indirect_effects"] = T.indirect_effects(hyp, effects, questionnaire=q, language=L, n=sem.nobs,
                                                    bootstrap=bootstrap, seed=seed)
    try:
        tables["modification_indices"] = T.modification_indices(sem, language=L, questionnaire=q)
    except IcafError:    # reported in results.json; the report goes on without the table
        pass
    return _with_pls_tables(tables, q, L, extras, hyp)


def _necessity_stage(col, data, q, tables, *, nca_scores, cfa, cfa2, alpha, missing, estimator, language,
                     cipma):
    """NCA of the questionnaire's necessity hypotheses (scores: ``nca_scores``) and, with ``cipma``, the
    cIPMA; adds the tables to ``tables`` and returns the NecessityResult (None without necessity
    hypotheses, or when the scores cannot be formed: that is reported as a DataWarning, not fatal).

    The cIPMA is a PLS-SEM analysis (Hauff et al. 2024: IPMA of the PLS path model plus NCA of its
    0-100 scores), so it runs under ``method="pls"`` and ``"both"``; a covariance-based analysis
    does not fit a PLS model behind the user's back."""
    if not q.necessity.hypotheses:
        return None
    from .nca import run_necessity_stage, necessity_report_tables
    try:
        necessity = col.run("nca", run_necessity_stage, data, q, scores=nca_scores, cfa=cfa, cfa2=cfa2,
                            alpha=alpha, missing=missing, estimator=estimator, cipma=cipma)
    except DataError as exc:   # e.g. too few complete cases for the scores
        col.items.append({"stage": "nca", "category": "DataWarning",
                          "message": f"necessity hypotheses not tested: {' '.join(str(exc).split())}"})
        return None
    tables.update(necessity_report_tables(necessity, language=language))
    return necessity


def _with_pls_tables(tables, q, L, extras, hyp) -> dict:
    """Add the PLS-SEM tables (``method="pls"``/``"both"``) and put every table in report order."""
    if extras.get("pls") is not None:
        from .report.pls_tables import pls_report_tables
        tables.update(pls_report_tables(extras["pls"], q, language=L, cb_hypotheses=hyp))
    from .report.export import SECTIONS      # the dict's order is the report's numbering
    order = [k for _, keys in SECTIONS for k in keys if k in tables]
    return {k: tables[k] for k in order + [k for k in tables if k not in order]}


def _competing_models(col, q, data, estimator, missing, sem, cfa):
    """The comparison stage: a failure is reported in the warnings, never fatal to the report."""
    from .comparison import compare_competing
    try:
        return col.run("comparison", compare_competing, q, data, estimator=estimator, missing=missing,
                       fitted={"hypothesised": sem, "measurement": cfa})
    except IcafError as exc:
        col.items.append({"stage": "comparison", "category": type(exc).__name__,
                          "message": f"the competing models could not be compared: {exc}"})
        return None


def _invariance(data, q, which, estimator, missing, ordered=False):
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
        if ordered:
            if estimator != "WLSMV":
                skipped[c] = f"the ordinal invariance sequence uses WLSMV, not estimator={estimator!r}"
                continue
            try:
                results[c] = run_invariance(q.cfa_syntax(), data, group=c, ordered=ordered, estimator=estimator,
                                            missing=missing, levels=("configural", "thresholds", "metric", "scalar"))
            except IcafError as exc:     # e.g. a category nobody chose in one group (lavaan refuses it too)
                skipped[c] = " ".join(str(exc).split(";")[0].split())
            continue
        try:
            results[c] = run_invariance(q.cfa_syntax(), data, group=c, levels=("configural", "metric", "scalar"),
                                        estimator=estimator, missing=missing)
        except DataError as exc:   # e.g. a group with fewer complete respondents than items (listwise)
            skipped[c] = " ".join(str(exc).split(";")[0].split())
    return results, skipped


def _category_counts(data, q) -> dict:
    """Observed answer categories per model item."""
    import re
    items = [i for i in dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", " ".join(
        ln.split("=~", 1)[1] for ln in q.cfa_syntax().splitlines() if "=~" in ln))) if i in data.columns]
    return {i: int(data[i].dropna().nunique()) for i in items}


def _reliability_ordinal(data, q, cfa):
    """Ordinal alpha, categorical omega, AVE and HTMT on polychorics (complete cases, WLSMV CFA)."""
    from .measurement.reliability import reliability_report
    rel = reliability_report(data, questionnaire=q, fitted=cfa, ordered=True)
    rel.basis = "complete_cases"
    return rel


_ORD_TEXT = {
    "en": {"choice": "Items treated as ordinal by the user's choice (ordered = TRUE; {k} answer categories){rec}: "
                     "{est} on thresholds and polychoric correlations, {miss} deletion; χ² is the scaled statistic, "
                     "CFI/TLI/RMSEA the robust versions (lavaan 0.6-14).",
           "rec": ", as recommended for items with 5 or fewer categories",
           "rel": "Ordered items: α is ordinal alpha (alpha on the polychoric correlations, as psych); the CR "
                  "column holds categorical omega (Green & Yang 2009; semTools compRelSEM, ord.scale = TRUE); AVE "
                  "from the WLSMV CFA.",
           "htmt": "HTMT from polychoric correlations (semTools htmt, ordered = TRUE).",
           "inv": "Ordered items: steps configural, thresholds, metric, scalar with the Wu & Estabrook (2016) "
                  "identification (semTools measEq.syntax); χ², CFI and RMSEA are the scaled values, Δ tests use "
                  "lavaan's scaled-and-shifted difference (lavTestLRT).",
           "cmp_title": "Ordinal (WLSMV) and continuous (ML) treatment of the items, side by side",
           "cmp_note": "The report's tables use the ordinal fit ({est}); the continuous column is the ML fit with "
                       "FIML of the same models, shown for comparison (items with {k} categories: both are "
                       "defensible, Rhemtulla, Brosseau-Liard & Savalei 2012). Paths are standardized (std.all).",
           "measure": "Measure", "ordinal": "Ordinal ({est})", "continuous": "Continuous (ML)"},
    "zh": {"choice": "按用户选择将题项视为有序类别（ordered = TRUE；{k} 个选项）{rec}：基于阈值与多分格相关的 {est} 估计，"
                     "{miss}删除；χ² 为校正统计量，CFI/TLI/RMSEA 为稳健版本（lavaan 0.6-14）。",
           "rec": "，与 5 个及以下选项时的建议一致",
           "rel": "有序题项：α 为有序 alpha（基于多分格相关，同 psych）；CR 列为类别 omega（Green & Yang 2009；"
                  "semTools compRelSEM，ord.scale = TRUE）；AVE 来自 WLSMV 验证性因子分析。",
           "htmt": "HTMT 基于多分格相关（semTools htmt，ordered = TRUE）。",
           "inv": "有序题项：依次为形态、阈值、度量、标量等值，采用 Wu & Estabrook (2016) 识别（semTools measEq.syntax）；"
                  "χ²、CFI 与 RMSEA 为校正值，差异检验为 lavaan 的校正平移差异检验（lavTestLRT）。",
           "cmp_title": "有序（WLSMV）与连续（ML）处理的并列比较",
           "cmp_note": "报告各表采用有序拟合（{est}）；连续列为同一模型的 ML（FIML）拟合，仅供比较（{k} 点题项两种处理均可，"
                       "Rhemtulla, Brosseau-Liard & Savalei 2012）。路径为完全标准化系数（std.all）。",
           "measure": "指标", "ordinal": "有序（{est}）", "continuous": "连续（ML）"},
}


def _append_note(table, text):
    note = table.attrs.get("note", "")
    table.attrs["note"] = (note + " " + text).strip()


def _ordinal_tables(tables, q, cfa, sem, rel, extras, k, estimator, missing, language):
    """Ordered items: state the choice, show ordinal alpha / categorical omega, the ordinal invariance
    sequence on its scaled indices and (optionally) the continuous fit side by side."""
    import copy
    from .report import tables as T
    from .report.tables import _meta
    L = "zh" if language == "zh" else "en"
    tx = _ORD_TEXT[L]
    k = float("nan") if k is None else k
    miss = {"en": {"listwise": "listwise", "pairwise": "pairwise"},
            "zh": {"listwise": "列表", "pairwise": "成对"}}[L][missing]
    if "model_fit" in tables:
        _append_note(tables["model_fit"], tx["choice"].format(k=k, est=estimator, miss=miss,
                                                               rec=tx["rec"] if k <= 5 else ""))
    mm = tables.get("measurement_model")
    ct = getattr(rel, "constructs", None)
    if mm is not None and isinstance(ct, pd.DataFrame) and "alpha_ordinal" in ct.columns:
        a_ord = dict(zip(ct["construct"], ct["alpha_ordinal"]))
        w_ord = dict(zip(ct["construct"], ct["omega_ordinal"]))
        if "alpha" in mm.columns:
            has = mm["alpha"].notna()
            mm.loc[has, "alpha"] = mm.loc[has, "construct"].map(a_ord).astype(float)
        if "composite_reliability" in mm.columns:
            has = mm["composite_reliability"].notna()
            mm.loc[has, "composite_reliability"] = mm.loc[has, "construct"].map(w_ord).astype(float)
        labels = mm.attrs.setdefault("labels", {})
        labels["alpha"] = "ordinal α" if L == "en" else "有序 α"
        labels["composite_reliability"] = "ω (categorical)" if L == "en" else "类别 ω"
        _append_note(mm, tx["rel"])
    if "discriminant_validity" in tables:
        _append_note(tables["discriminant_validity"], tx["htmt"])
    if extras.get("invariance"):
        view = {}
        for c, r in extras["invariance"].items():
            v = copy.copy(r)
            t = r.table.copy()
            for a, b in (("chisq", "chisq_scaled"), ("cfi", "cfi_scaled"), ("rmsea", "rmsea_scaled")):
                if b in t.columns:
                    t[a] = t[b]
            v.table = t
            view[c] = v
        tables["measurement_invariance"] = T.measurement_invariance(view, extras.get("invariance_skipped", {}),
                                                                    language=language, questionnaire=q)
        _append_note(tables["measurement_invariance"], tx["inv"])
    cont = extras.get("continuous")
    if cont:
        rows = []
        for model, o, c in (("CFA", cfa, cont["cfa"]), ("SEM", sem, cont["sem"])):
            fo, fc = o.fit_measures, c.fit_measures
            for name, ko, kc in (("χ²", "chisq.scaled", "chisq"), ("df", "df", "df"), ("CFI", "cfi.robust", "cfi"),
                                 ("TLI", "tli.robust", "tli"), ("RMSEA", "rmsea.robust", "rmsea"),
                                 ("SRMR", "srmr", "srmr")):
                rows.append({"section": model, "measure": name, "ordinal": float(fo.get(ko, np.nan)),
                             "continuous": float(fc.get(kc, np.nan))})
        po, pc = sem.parameters, cont["sem"].parameters
        key = ["lhs", "op", "rhs"]
        mrg = po[po["op"].isin(["~", ":="])][key + ["std_all"]].merge(
            pc[pc["op"].isin(["~", ":="])][key + ["std_all"]], on=key, suffixes=("_o", "_c"))
        for r in mrg.itertuples():
            rows.append({"section": "paths", "measure": f"{r.lhs} {r.op} {r.rhs}" if r.op != ":=" else r.lhs,
                         "ordinal": float(r.std_all_o), "continuous": float(r.std_all_c)})
        df = pd.DataFrame(rows, columns=["section", "measure", "ordinal", "continuous"])
        tables["ordinal_vs_continuous"] = _meta(
            df, tx["cmp_title"], tx["cmp_note"].format(est=estimator, k=k), key="ordinal_vs_continuous",
            language=language, group_columns=["section"],
            labels={"section": "", "measure": tx["measure"], "ordinal": tx["ordinal"].format(est=estimator),
                    "continuous": tx["continuous"]},
            formats={"ordinal": "r3", "continuous": "r3"})


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
