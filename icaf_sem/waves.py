"""Comparing survey waves: clean alike, stack, test invariance, compare latent means and paths.

:func:`compare_waves` cleans every wave with the questionnaire's rules, stacks them with a
``wave`` column, fits the invariance sequence across waves (:func:`icaf_sem.invariance`),
compares the latent means given scalar invariance, and tests each hypothesised path for
equality across waves (the path held equal against the model with every path free, one path
at a time, a 1-df likelihood-ratio test per path with ``G - 1`` df in general).
:meth:`WaveComparison.write` writes the report section (CSV, xlsx, html tables and a figure of
the paths by wave) whole or not at all.

The lavaan equivalent of the path test for ``EB ~ CR`` is::

    free <- sem(model, data = stacked, group = "wave", group.equal = "loadings")
    eq   <- sem(model, data = stacked, group = "wave", group.equal = c("loadings", "regressions"),
                group.partial = <every other path>)
    lavTestLRT(free, eq)
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, DataWarning, ModelSpecificationError
from .invariance import STEP_CONSTRAINTS, chisq_difference, invariance, satorra_bentler_2001
from ._json import json_value as _clean

WAVE_COLUMN = "wave"


# --------------------------------------------------------------------------- input checks
def _read(src, q):
    if isinstance(src, pd.DataFrame):
        return src
    from .survey.io import load_survey
    # with the questionnaire, text meaning "missing" ('n/a') stays text for cleaning to log in cell_fixes;
    # the item sets are checked per wave below, naming the wave
    return load_survey(src, q, require_items=False)


def check_item_sets(waves: dict, items: list, source=None):
    """Every wave must hold the same item columns: those of the questionnaire.

    Raises :class:`DataError` naming the wave, the items it lacks (or has extra) and the fix.
    """
    present = {name: [c for c in map(str, df.columns)] for name, df in waves.items()}
    for name, cols in present.items():
        lacking = [i for i in items if i not in cols]
        if lacking:
            others = [n for n in present if n != name and all(i in present[n] for i in lacking)]
            extra = (f"; wave(s) {', '.join(map(repr, others))} have them" if others else "")
            raise DataError(
                f"wave {name!r} lacks item column(s) {', '.join(lacking)} of the questionnaire{extra}: the waves "
                "have mismatched item sets. Waves can only be compared on the same items: add the columns (empty if "
                "the item was not asked) or use a questionnaire that lists only the items every wave asked")
    # item-like columns (same prefix pattern) present in one wave only
    sets = {n: set(c) for n, c in present.items()}
    common = set.intersection(*sets.values())
    prefixes = {i.rstrip("0123456789") for i in items}
    for name, s in sets.items():
        odd = sorted(c for c in s - common if c.rstrip("0123456789") in prefixes and c not in items)
        if odd:
            warnings.warn(DataWarning(f"wave {name!r} has item-like column(s) {', '.join(odd)} that the other waves "
                                      "lack and the questionnaire does not define; they are ignored"))


def check_levels(cleaned: dict, column: str, strict: bool = False):
    """Report categories of ``column`` (e.g. ``level``) present in some waves but absent from others.

    Returns ``{category: {wave: n}}``.  A category missing from a wave makes the samples differ in
    composition; with ``strict=True`` that is a :class:`DataError`, otherwise a ``DataWarning``.
    """
    counts = {}
    for name, df in cleaned.items():
        if column not in df.columns:
            raise DataError(f"wave {name!r} has no column {column!r}; every wave needs it to compare by {column!r}")
        vc = df[column].dropna().value_counts()
        for k, v in vc.items():
            counts.setdefault(k, {})[name] = int(v)
    for cat, by in counts.items():
        absent = [w for w in cleaned if w not in by]
        if absent:
            msg = (f"{column} {cat!r} is missing in wave(s) {', '.join(map(repr, absent))} but present in "
                   f"{', '.join(f'{w!r} ({n} respondents)' for w, n in by.items())}: the waves differ in composition, "
                   f"so differences between waves may reflect who answered; compare within common {column} "
                   "categories or drop that category from every wave")
            if strict:
                raise DataError(msg)
            warnings.warn(DataWarning(msg))
    return counts


# --------------------------------------------------------------------------- the comparison
class WaveComparison:
    """The result of :func:`compare_waves`.

    Attributes
    ----------
    data : DataFrame
        The stacked clean waves with a ``wave`` column.
    samples : DataFrame
        Per wave: raw rows, kept respondents, exclusions.
    invariance : InvarianceResult
    latent_means : DataFrame
        Latent mean differences of each later wave against the first (the first wave's means are
        fixed to 0): ``construct, wave, est, se, z, pvalue, d`` (``d`` = difference in first-wave
        latent SDs), from the scalar (or partial scalar) model; ``interpretable`` says whether
        scalar invariance (full or partial) was supported.
    paths : DataFrame
        Per hypothesised path: estimates by wave, the LR test of equality across waves.
    paths_by_wave : DataFrame
        Long table ``hypothesis, path, wave, est, se, ci_lower, ci_upper, std_all, pvalue``.
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def tables(self) -> dict:
        inv = self.invariance.table.copy()
        return {"samples": self.samples, "invariance": inv, "latent_means": self.latent_means,
                "path_equality": self.paths, "paths_by_wave": self.paths_by_wave}

    def summary(self) -> str:
        lines = [self.invariance.summary(), "", "Latent means (vs first wave):",
                 self.latent_means.to_string(index=False, float_format=lambda v: f"{v:.3f}"), "",
                 "Path equality across waves:",
                 self.paths.to_string(index=False, float_format=lambda v: f"{v:.3f}")]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        def recs(df):
            out = []
            for r in df.to_dict("records"):
                out.append({k: _clean(v) for k, v in r.items()})
            return out
        return {"waves": list(self.wave_labels), "estimator": self.estimator, "missing": self.missing,
                "invariance": self.invariance.to_dict(), "latent_means": recs(self.latent_means),
                "latent_means_basis": self.latent_means_basis, "partial_released": list(self.partial_released),
                "paths": recs(self.paths), "paths_by_wave": recs(self.paths_by_wave),
                "samples": recs(self.samples), "notes": list(self.notes)}

    # ------------------------------------------------------------------ report
    def figure(self, language: str = "en", title: str | None = None):
        """Forest plot of each hypothesised path by wave (standardized estimates with 95 % CIs).

        No title inside the figure unless ``title`` is given (the report's caption names it);
        labels in ``language`` (``"en"``, ``"zh"``, ``"both"``).
        """
        from .report.figures import _plt
        from .report.i18n import catalogue
        cat = catalogue(language)
        plt = _plt()
        pw = self.paths_by_wave
        paths = list(dict.fromkeys(pw["path"]))
        waves = list(self.wave_labels)
        fig, ax = plt.subplots(figsize=(6.5, 0.32 * len(paths) * max(1, len(waves) / 2) + 1.3))
        height = 0.8 / max(len(waves), 1)
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for k, w in enumerate(waves):
            sub = pw[pw["wave"] == w].set_index("path").reindex(paths)
            y = np.arange(len(paths)) + (k - (len(waves) - 1) / 2) * height
            est = sub["std_all"].to_numpy(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(sub["est"].to_numpy(float) != 0, est / sub["est"].to_numpy(float), np.nan)
            lo = sub["ci_lower"].to_numpy(float) * scale
            hi = sub["ci_upper"].to_numpy(float) * scale
            ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color=colors[k % len(colors)], capsize=2,
                        label=str(w))
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(np.arange(len(paths)))
        eq = self.paths.set_index("path")
        ax.set_yticklabels([f"{p.replace('->', chr(0x2192))}{' *' if bool(eq.loc[p, 'differs']) else ''}"
                            for p in paths])
        ax.invert_yaxis()
        ax.set_xlabel(cat["fig.waves_xlabel"])
        if title:
            ax.set_title(title)
        ax.legend(title=cat["h.wave"], loc="best")
        fig.tight_layout()
        return fig

    def report_tables(self, language: str = "en") -> dict:
        """The APA tables of the comparison (:func:`icaf_sem.report.waves.wave_tables`)."""
        from .report.waves import wave_tables
        return wave_tables(self, language)

    def write(self, out_dir, language: str = "en", page_size: str = "a4", figures: bool = True) -> Path:
        """Write the report folder into ``out_dir`` (whole or not at all).

        ``report.html``, ``report.docx``, ``tables.xlsx`` and ``tables.tex`` hold the formatted tables
        (numbered, APA notes, the report's headers) in ``language``; ``figures/paths_by_wave.png``/``.svg``
        the forest plot; ``compare_waves.json`` and the CSV files (``samples``, ``invariance``,
        ``latent_means``, ``path_equality``, ``paths_by_wave``) every number unrounded.
        See :func:`icaf_sem.report.waves.write_wave_report`.
        """
        from .report.waves import write_wave_report
        write_wave_report(self, out_dir, language=language, page_size=page_size, figures=figures)
        return Path(out_dir)

    def _repr_html_(self):
        from .report.export import _FRAGMENT_CSS, _html_table
        tabs = self.report_tables()
        return ('<div class="icaf-report">' + _FRAGMENT_CSS
                + "".join(_html_table(t, k, None) for k, t in enumerate(tabs.values(), start=1)) + "</div>")


def _structural(q):
    """Measurement + unlabelled structural syntax (labels would make paths equal across groups)."""
    regs, covs = {}, []
    for h in q.hypotheses:
        if h.kind == "path":
            regs.setdefault(h.lhs, []).append(h.rhs)
        elif h.kind == "covariance":
            covs.append(f"{h.lhs} ~~ {h.rhs}")
    lines = [q.measurement_syntax()] + [f"{y} ~ {' + '.join(xs)}" for y, xs in regs.items()] + covs
    return "\n".join(lines)


def compare_waves(questionnaire, waves, *, estimator: str = "ML", missing: str = "ml",
                  min_group_size: int = 30, criterion: str = "cheung_rensvold2002", alpha: float = 0.05,
                  match_on: str | None = None, progress=None, **rule_overrides) -> WaveComparison:
    """Clean, stack and compare survey waves.

    Parameters
    ----------
    questionnaire : Questionnaire or path
    waves : dict of label -> DataFrame or path, or a list (labelled ``wave1``, ``wave2``, ...)
        Raw waves (as exported by the survey platform), in chronological order.
    estimator : {"ML", "MLR"}
    missing : {"ml", "listwise"}
        ``"ml"`` (FIML, default) keeps respondents with a few blank items.
    min_group_size : int
        Smallest clean wave accepted.
    criterion : str
        Decision rule for the invariance steps (see :func:`icaf_sem.invariance`).
    alpha : float
        Level of the path-equality tests.
    match_on : str, optional
        A categorical metadata column (e.g. ``"level"``) whose categories must occur in every wave;
        a category missing from a wave is then an error (otherwise a warning is given for the
        questionnaire's category columns).
    progress : bool or callable, optional
        ``True`` prints one line per wave and step on stderr, with the time elapsed and an estimate
        of the time left (``icaf-sem compare-waves [5/19] invariance: fitting the scalar model ...
        1.9 s elapsed, about 4 s left``); a callable is called with each step's message instead.
    **rule_overrides
        Cleaning rule overrides, applied to every wave alike.

    Returns
    -------
    WaveComparison
        Its ``warnings`` hold every statistical warning of the run (each also shown once, at the
        caller's line); :meth:`WaveComparison.write` writes the report folder.

    Examples
    --------
    >>> cmp = compare_waves("icaf", {"2023": "wave2023.csv", "2024": "wave2024.csv"}, progress=True)  # doctest: +SKIP
    >>> cmp.write("waves_report", language="zh")                                                      # doctest: +SKIP

    R: the cleaned waves stacked with a ``wave`` column, then ``cfa(model, data, group = "wave",
    group.equal = ...)`` per step, ``lavTestLRT()`` between the steps and per path (see the module).
    """
    from .errors import IcafWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = _compare_waves(questionnaire, waves, estimator=estimator, missing=missing,
                             min_group_size=min_group_size, criterion=criterion, alpha=alpha, match_on=match_on,
                             progress=progress, **rule_overrides)
    seen, res.warnings = set(), []
    for w in caught:
        msg = " ".join(str(w.message).split())
        if msg in seen:
            continue            # once, even when several fits raise it
        seen.add(msg)
        if issubclass(w.category, IcafWarning):
            res.warnings.append({"stage": "compare-waves", "category": w.category.__name__, "message": msg})
            warnings.warn(w.message, stacklevel=2)          # at the caller's line
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return res


def _compare_waves(questionnaire, waves, *, estimator, missing, min_group_size, criterion, alpha, match_on,
                   progress, **rule_overrides) -> WaveComparison:
    from .questionnaire import load_questionnaire
    from .survey.cleaning import clean

    q = load_questionnaire(questionnaire)
    if isinstance(waves, dict):
        raw = {str(k): _read(v, q) for k, v in waves.items()}
    else:
        waves = list(waves)
        raw = {f"wave{i + 1}": _read(v, q) for i, v in enumerate(waves)}
    if len(raw) < 2:
        raise DataError(f"compare_waves needs at least two waves, got {len(raw)}; pass every wave's file")
    raw = {k: v.rename(columns=q.rename) if q.rename else v for k, v in raw.items()}
    check_item_sets(raw, q.items)
    path_h = [h for h in q.hypotheses if h.kind == "path"]
    if progress is True:        # one line per wave and step: clean each wave, 4 invariance steps, the paths
        from ._progress import StageProgress
        progress = StageProgress("compare-waves", len(raw) + 4 + 1 + len(path_h))
    elif not progress:
        progress = None
    elif not callable(progress):
        raise ModelSpecificationError(f"progress={progress!r} must be True, False or a function of one message")
    cleaned, samples = {}, []
    for name, df in raw.items():
        if progress:
            progress(f"wave {name}: cleaning {len(df)} rows")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            cr = clean(df, q, **rule_overrides)
        d = cr.data.copy()
        samples.append({"wave": name, "n_raw": cr.n_raw, "n_clean": cr.n_clean,
                        "n_excluded": cr.n_raw - cr.n_clean,
                        "blank_item_cells": int(d[q.items].isna().sum().sum())})
        cleaned[name] = d
    samples = pd.DataFrame(samples)
    small = samples[samples["n_clean"] < min_group_size]
    if len(small):
        desc = ", ".join(f"{r.wave!r} has {r.n_clean}" for r in small.itertuples())
        raise DataError(f"too few respondents after cleaning: {desc} (at least {min_group_size} per wave are "
                        "needed for a multi-group model); collect more responses or merge waves")
    cat_cols = [c for c, spec in q.metadata.items() if spec.get("kind") == "category"]
    if match_on is not None and match_on not in cat_cols and not all(match_on in d for d in cleaned.values()):
        raise DataError(f"match_on={match_on!r} is not a column of every wave; use one of {cat_cols}")
    for c in cat_cols:
        if all(c in d.columns for d in cleaned.values()):
            check_levels(cleaned, c, strict=(c == match_on))
    if match_on is not None and match_on not in cat_cols:
        check_levels(cleaned, match_on, strict=True)
    stacked = []
    for name, d in cleaned.items():
        if WAVE_COLUMN in d.columns:
            d = d.drop(columns=[WAVE_COLUMN])
        d.insert(0, WAVE_COLUMN, name)
        stacked.append(d)
    data = pd.concat(stacked, ignore_index=True)
    labels = list(cleaned)
    est = str(estimator).upper()
    notes = []

    from .estimation.reuse import fit_session
    # one session: each wave's statistics (EM moments) and the baseline model are computed once
    with fit_session():
        # 1. invariance of the measurement model across waves
        cfa = q.cfa_syntax()
        inv = invariance(cfa, data, group=WAVE_COLUMN, estimator=est, missing=missing, criterion=criterion,
                         min_group_size=min_group_size, cutoffs={"alpha": alpha}, progress=progress)

        # 2. latent means (scalar, else partial scalar by releasing the flagged intercepts one by one)
        released = []
        inv_tab = inv.table.set_index("step")
        metric_ok = "metric" in inv_tab.index and bool(inv_tab.loc["metric", "invariant"])
        scalar_ok = metric_ok and "scalar" in inv_tab.index and bool(inv_tab.loc["scalar", "invariant"])
        scalar_fit = inv.fits.get("scalar")
        if metric_ok and not scalar_ok and scalar_fit is not None:
            scalar_fit, released, scalar_ok = _partial_scalar(cfa, data, inv, est, missing, criterion, alpha,
                                                              progress=progress)
        basis = ("scalar invariance holds: latent means are comparable" if scalar_ok and not released else
                 f"partial scalar invariance (released: {', '.join(released)}): latent means are comparable"
                 if scalar_ok else
                 "scalar invariance does NOT hold: the latent mean differences below are not interpretable")
        if not scalar_ok:
            notes.append("Latent means were not compared: scalar invariance was not supported across waves.")
        latent = _latent_means(scalar_fit, labels, scalar_ok) if scalar_fit is not None else pd.DataFrame()

        # 3. hypothesised paths: each held equal against the model with all paths free (metric invariance)
        model = _structural(q)
        if not metric_ok:
            notes.append("Metric invariance was not supported: path comparisons across waves assume equal loadings "
                         "and should be read with caution.")
        paths, long_table, free = path_equality(model, data, [(h.id, h.lhs, h.rhs) for h in path_h], group=WAVE_COLUMN,
                                                estimator=est, missing=missing, alpha=alpha, progress=progress)
    return WaveComparison(data=data, samples=samples, invariance=inv, latent_means=latent,
                          latent_means_basis=basis, partial_released=released, paths=paths,
                          paths_by_wave=long_table, free_fit=free, wave_labels=labels,
                          estimator=est, missing=missing, notes=notes, questionnaire=q, alpha=alpha,
                          criterion=criterion, warnings=[])


def path_equality(model: str, data: pd.DataFrame, paths, *, group: str = WAVE_COLUMN, estimator: str = "ML",
                  missing: str = "ml", alpha: float = 0.05, base_equal=("loadings",), progress=None):
    """Test each regression path for equality across groups: that path held equal against all paths free.

    Parameters
    ----------
    model : str
        lavaan syntax with unlabelled regressions (a label shared by the groups would make a path equal).
    data : DataFrame
    paths : list of (id, lhs, rhs)
        The regressions ``lhs ~ rhs`` to test.
    group : str
    estimator, missing : as in :func:`icaf_sem.fit`
    alpha : float
    base_equal : tuple
        What both models hold equal (metric invariance by default).
    progress : callable, optional
        Called with a short message before each model is fitted.

    Returns
    -------
    (table, long_table, free_fit)
        ``table``: one row per path with the estimates per group, the common estimate under the
        constraint, ``delta_chisq, delta_df, pvalue`` (and for MLR the Satorra-Bentler 2001
        ``delta_chisq_scaled, pvalue_scaled``), ``differs``, and the Holm-adjusted ``pvalue_holm`` /
        ``differs_holm`` across the paths; ``long_table``: estimates by group.

    Examples
    --------
    R: ``free <- sem(model, data, group = "wave", group.equal = "loadings")``;
    ``eq <- sem(model, data, group = "wave", group.equal = c("loadings", "regressions"),
    group.partial = c(<other paths>))``; ``lavTestLRT(free, eq)``.
    """
    est = str(estimator).upper()
    if est not in ("ML", "MLR"):
        raise ModelSpecificationError(f"path_equality() supports estimator='ML' or 'MLR' (got {estimator!r}); for "
                                      "other estimators compare the fits with icaf_sem.compare")
    if progress:
        progress("paths: fitting the model with every path free")
    from .estimation.reuse import fit_session
    with fit_session():
        return _path_equality(model, data, paths, group, est, missing, alpha, base_equal, progress)


def _path_equality(model, data, paths, group, est, missing, alpha, base_equal, progress):
    from .sem import fit as sem_fit
    from .estimation.reuse import defer_standard_errors
    free = sem_fit(model, data, estimator=est, missing=missing, group=group, group_equal=tuple(base_equal),
                   modindices=False)
    labels = list(free.group_labels)
    pt = free.parameters
    rows, long_rows = [], []
    all_paths = [f"{lhs}~{rhs}" for _, lhs, rhs in paths]
    for k, (hid, lhs, rhs) in enumerate(paths, start=1):
        if progress:
            progress(f"paths: {lhs} ~ {rhs} held equal ({k}/{len(paths)})")
        sel = pt[(pt["lhs"] == lhs) & (pt["op"] == "~") & (pt["rhs"] == rhs)]
        if not len(sel):
            raise ModelSpecificationError(f"path {lhs} ~ {rhs} is not a regression of the model; check the "
                                          "hypotheses against the model syntax")
        others = [p for p in all_paths if p != f"{lhs}~{rhs}"]
        # every other regression of the model stays free too
        others += [f"{a}~{b}" for a, b in pt.loc[pt["op"] == "~", ["lhs", "rhs"]].drop_duplicates().itertuples(index=False)
                   if f"{a}~{b}" not in all_paths]
        # nested in the free model (whose standard errors are computed): only its test and estimates are read
        with defer_standard_errors():
            eq = sem_fit(model, data, estimator=est, missing=missing, group=group,
                         group_equal=tuple(base_equal) + ("regressions",), group_partial=others, modindices=False)
        f0, f1 = eq.fit_measures, free.fit_measures
        d, ddf, p = chisq_difference(f0["chisq"], f0["df"], f1["chisq"], f1["df"])
        row = {"hypothesis": hid, "path": f"{rhs} -> {lhs}", "lhs": lhs, "op": "~", "rhs": rhs}
        for g, w in enumerate(labels, start=1):
            r = sel[sel["group"] == g].iloc[0]
            row[f"est_{w}"] = r["est"]
            row[f"std_all_{w}"] = r["std_all"]
            row[f"pvalue_{w}"] = r["pvalue"]
            long_rows.append({"hypothesis": hid, "path": f"{rhs} -> {lhs}", "wave": w, "est": r["est"],
                              "se": r["se"], "ci_lower": r["ci_lower"], "ci_upper": r["ci_upper"],
                              "std_all": r["std_all"], "pvalue": r["pvalue"]})
        row.update({"equal_est": _estimate(eq, lhs, "~", rhs),
                    "delta_chisq": d, "delta_df": ddf, "pvalue": p})
        p_used = p
        if est == "MLR":
            ts, _, ps, _ = satorra_bentler_2001(f0["chisq"], f0["df"], f0["chisq.scaling.factor"],
                                                f1["chisq"], f1["df"], f1["chisq.scaling.factor"])
            row.update({"delta_chisq_scaled": ts, "pvalue_scaled": ps})
            p_used = ps
        row["differs"] = bool(np.isfinite(p_used) and p_used < alpha)
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        # one test per hypothesised path: also report Holm-adjusted p-values (statsmodels), so a
        # reader can control the family-wise error across the paths
        from statsmodels.stats.multitest import multipletests
        pcol = "pvalue_scaled" if est == "MLR" else "pvalue"
        pv = table[pcol].to_numpy(float)
        ok = np.isfinite(pv)
        adj = np.full(len(pv), np.nan)
        if ok.any():
            adj[ok] = multipletests(pv[ok], alpha=alpha, method="holm")[1]
        table["pvalue_holm"] = adj
        table["differs_holm"] = np.isfinite(adj) & (adj < alpha)
    return table, pd.DataFrame(long_rows), free


def _estimate(res, lhs, op, rhs, group=1) -> float:
    """The estimate of one parameter-table row, without building the parameter table (no SEs)."""
    t = res._core.pt.table
    hit = np.flatnonzero(((t["lhs"] == lhs) & (t["op"] == op) & (t["rhs"] == rhs) & (t["group"] == group)).to_numpy())
    return float(res._row_est[hit[0]])


def _partial_scalar(cfa, data, inv, est, missing, criterion, alpha, max_release=5, progress=None):
    """Release the intercept constraints with the largest score tests, one at a time, until scalar holds."""
    from .invariance import param_name
    st = inv.score_tests.get("scalar")
    if st is None or not len(st):
        return inv.fits["scalar"], [], False
    metric = inv.table.set_index("step").loc["metric"]
    released = []
    fit_ = inv.fits["scalar"]
    cfi_col = "cfi.robust" if est == "MLR" else "cfi"
    cut = inv.cutoffs
    candidates = [param_name(r.lhs, r.op, r.rhs) for r in st.itertuples() if r.pvalue < alpha]
    for cand in candidates[:max_release]:
        if cand in released:
            continue
        released.append(cand)
        if progress:
            if hasattr(progress, "add"):
                progress.add(1)
            progress(f"latent means: partial scalar invariance, {cand} free across waves")
        from .sem import fit as sem_fit
        from .estimation.reuse import defer_standard_errors
        with defer_standard_errors():        # nested in the configural model; SEs only for the one read
            fit_ = sem_fit(cfa, data, estimator=est, missing=missing, group=WAVE_COLUMN,
                           group_equal=STEP_CONSTRAINTS["scalar"], group_partial=released, modindices=False)
        fm = fit_.fit_measures
        dcfi = fm[cfi_col] - metric["cfi_robust" if est == "MLR" else "cfi"]
        if dcfi > cut["delta_cfi"]:
            return fit_, released, True
    return fit_, released, False


def _latent_means(fit_, labels, interpretable) -> pd.DataFrame:
    t = fit_.parameters
    lv = fit_._core.pt.names.lv
    rows = []
    for c in lv:
        var1 = t[(t["lhs"] == c) & (t["op"] == "~~") & (t["rhs"] == c) & (t["group"] == 1)]["est"]
        sd1 = float(np.sqrt(var1.iloc[0])) if len(var1) and var1.iloc[0] > 0 else np.nan
        for g, w in enumerate(labels[1:], start=2):
            r = t[(t["lhs"] == c) & (t["op"] == "~1") & (t["group"] == g)]
            if not len(r):
                continue
            r = r.iloc[0]
            rows.append({"construct": c, "wave": w, "reference_wave": labels[0], "est": r["est"], "se": r["se"],
                         "z": r["z"], "pvalue": r["pvalue"], "ci_lower": r["ci_lower"], "ci_upper": r["ci_upper"],
                         "d": r["est"] / sd1 if sd1 == sd1 else np.nan, "interpretable": bool(interpretable)})
    return pd.DataFrame(rows, columns=["construct", "wave", "reference_wave", "est", "se", "z", "pvalue",
                                       "ci_lower", "ci_upper", "d", "interpretable"])


def compare_with_earlier(current, compare_with, questionnaire, *, wave_labels=None, **kwargs) -> WaveComparison:
    """:func:`compare_waves` of earlier wave(s) and the wave being analysed (for ``analyze(compare_with=...)``).

    Parameters
    ----------
    current : path or DataFrame
        The raw wave being analysed (the latest).
    compare_with : path, DataFrame, list of them, or dict label -> path/DataFrame
        The earlier raw wave(s), oldest first.
    wave_labels : sequence of str, optional
        One label per wave, the earlier ones first and the analysed wave last (default: the dict's
        keys, else ``wave1``, ``wave2``, ...; the analysed wave gets the next number).
    **kwargs
        Passed to :func:`compare_waves` (estimator, missing, alpha, cleaning rule overrides ...).
    """
    if isinstance(compare_with, dict):
        earlier = list(compare_with.values())
        names = [str(k) for k in compare_with]
    else:
        earlier = list(compare_with) if isinstance(compare_with, (list, tuple)) else [compare_with]
        names = [f"wave{i + 1}" for i in range(len(earlier))]
    if not earlier:
        raise DataError("compare_with is empty; pass the earlier wave's file (or a list of files)")
    names.append(f"wave{len(earlier) + 1}")
    if wave_labels is not None:
        labels = [str(x).strip() for x in (wave_labels.split(",") if isinstance(wave_labels, str) else wave_labels)]
        if len(labels) != len(names) or len(set(labels)) != len(labels) or not all(labels):
            raise DataError(f"wave_labels={wave_labels!r}: give {len(names)} distinct labels, the earlier wave(s) "
                            "first and the analysed wave last (e.g. '2023,2024')")
        names = labels
    if len(set(names)) != len(names):
        raise DataError(f"the wave labels {names} are not distinct; name the waves with wave_labels=")
    for src in earlier:
        if not isinstance(src, pd.DataFrame) and not Path(str(src)).is_file():
            raise DataError(f"compare_with: the earlier wave {str(src)!r} is not a file; fix: give the path of "
                            "its raw survey export")
    return compare_waves(questionnaire, dict(zip(names, earlier + [current])), **kwargs)
