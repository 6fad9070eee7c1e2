"""The report's PLS-SEM tables, as SmartPLS users expect them (``analyze(method="pls" | "both")``).

One function per table; each returns unrounded numbers with the title, note, headers and formats in
``DataFrame.attrs`` (the layout of :mod:`icaf_sem.report.tables`), so the html, docx, xlsx and tex
writers handle them like every other table.

=================================  ===============================================
:func:`measurement`                loadings (bootstrap *t*, *p*), weights, indicator VIF, alpha, rho_A, rho_C, AVE
:func:`discriminant`               sqrt(AVE), construct correlations (Fornell-Larcker), HTMT
:func:`htmt_intervals`             HTMT with bootstrap percentile CIs
:func:`cross_loadings`             every indicator against every construct
:func:`collinearity`               inner VIF
:func:`structural`                 beta, bootstrap mean, SE, *t*, *p*, CI, f-squared
:func:`r_squared`                  R-squared, adjusted R-squared, bootstrap CI
:func:`model_fit`                  SRMR, d_ULS, d_G (saturated and estimated model)
:func:`predict`                    PLSpredict: Q-squared predict, RMSE and MAE against the LM benchmark
:func:`ipma`                       importance and performance per construct
:func:`hypotheses`                 the questionnaire's hypotheses judged on the PLS estimates
:func:`method_comparison`          CB-SEM and PLS-SEM estimates and verdicts of every hypothesis
=================================  ===============================================
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .i18n import catalogue
from .tables import _abbrev, _arrow, _codes_in, _cut, _meta

__all__ = ["pls_report_tables", "PLS_TABLES", "measurement", "discriminant", "htmt_intervals", "cross_loadings",
           "collinearity", "structural", "r_squared", "model_fit", "predict", "ipma", "hypotheses",
           "method_comparison", "ipma_figure"]

PLS_TABLES = ["pls_measurement", "pls_discriminant", "pls_htmt", "pls_cross_loadings", "pls_collinearity",
              "pls_structural", "pls_r2", "pls_model_fit", "pls_predict", "pls_ipma", "pls_hypotheses",
              "method_comparison"]
HTMT_CUT = 0.85


def _level(stage) -> int:
    return int(round(100 * (1 - stage.options.get("alpha", 0.05))))


def _base_note(stage, language) -> str:
    cat = catalogue(language)
    o = stage.options
    boot = (cat.f("pnote.boot", draws=o["bootstrap"], seed=o.get("seed")) if o.get("bootstrap")
            else cat["pnote.noboot"])
    return cat.f("pnote.estimation", algo=cat["pnote.algo.plsc" if o.get("consistent") else "pnote.algo.pls"],
                 scheme=o.get("scheme", "path"), missing=cat[f"pnote.missing.{o.get('missing', 'listwise')}"],
                 n=stage.result.nobs, hoc=cat[f"pnote.hoc.{o.get('hoc', 'two_stage')}"], boot=boot)


def _boot(stage, kind):
    bt = stage.result.bootstrap
    if bt is None:
        return None
    return bt[bt["kind"] == kind].set_index(["lhs", "rhs"])


def _get(tab, key, col):
    if tab is None or key not in tab.index:
        return math.nan
    return float(tab.loc[key, col])


# --------------------------------------------------------------------------- measurement model
def measurement(stage, questionnaire=None, language: str = "en") -> pd.DataFrame:
    """``construct, item, loading, t, pvalue, weight, vif, alpha, rho_a, rho_c, ave`` (construct statistics
    on the first row of each construct); a higher-order construct's rows are its dimensions."""
    cat = catalogue(language)
    res = stage.result
    rel = res.reliability
    vif = {(r.construct, r.indicator): r.vif for r in res.vif_outer.itertuples(index=False)}
    bl = _boot(stage, "loading")
    rows = []
    seen = set()
    for r in res.outer.itertuples(index=False):
        first = r.lhs not in seen
        seen.add(r.lhs)
        row = {"construct": r.lhs, "item": r.rhs, "loading": r.loading, "t": _get(bl, (r.lhs, r.rhs), "t"),
               "pvalue": _get(bl, (r.lhs, r.rhs), "pvalue"), "weight": r.weight,
               "vif": float(vif.get((r.lhs, r.rhs), math.nan)),
               "alpha": math.nan, "rho_a": math.nan, "rho_c": math.nan, "ave": math.nan}
        if first and r.lhs in rel.index:
            row.update(alpha=rel.at[r.lhs, "alpha"], rho_a=rel.at[r.lhs, "rho_a"], rho_c=rel.at[r.lhs, "rho_c"],
                       ave=rel.at[r.lhs, "ave"])
        rows.append(row)
    df = pd.DataFrame(rows, columns=["construct", "item", "loading", "t", "pvalue", "weight", "vif", "alpha",
                                     "rho_a", "rho_c", "ave"])
    note = _base_note(stage, language) + " " + cat["pnote.measurement"] + _abbrev(questionnaire, language,
                                                                                   df["construct"])
    return _meta(df, cat["title.pls_measurement"], note, key="pls_measurement", group_columns=["construct"],
                 language=language,
                 labels={"construct": cat["ph.construct"], "item": cat["ph.indicator"], "loading": cat["ph.loading"],
                         "t": cat["ph.t"], "pvalue": cat["ph.p"], "weight": cat["ph.weight"], "vif": cat["ph.vif"],
                         "alpha": cat["ph.alpha"], "rho_a": cat["ph.rho_a"], "rho_c": cat["ph.rho_c"],
                         "ave": cat["ph.ave"]},
                 formats={"loading": "f3", "t": "f2", "pvalue": "p", "weight": "f3", "vif": "f2", "alpha": "r3",
                          "rho_a": "r3", "rho_c": "r3", "ave": "r3"})


def discriminant(stage, questionnaire=None, language: str = "en") -> pd.DataFrame:
    """One matrix: sqrt(AVE) on the diagonal, construct correlations below it, HTMT above it."""
    cat = catalogue(language)
    res = stage.result
    fl = res.fornell_larcker
    R = res.construct_correlations
    h = res.htmt
    names = list(R.index)
    m = pd.DataFrame(np.nan, index=names, columns=names)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i == j:
                m.iat[i, j] = fl.loc[a, a] if a in fl.index else math.nan
            elif i > j:
                m.iat[i, j] = R.loc[a, b]
            else:
                v = h.loc[a, b] if (a in h.index and b in h.columns) else math.nan
                if not np.isfinite(v) and b in h.index and a in h.columns:
                    v = h.loc[b, a]
                m.iat[i, j] = v
    m.index.name = "construct"
    m = m.reset_index()
    note = cat["pnote.discriminant"] + _abbrev(questionnaire, language, names)
    out = _meta(m, cat["title.pls_discriminant"], note, key="pls_discriminant", language=language,
                labels={"construct": cat["ph.construct"]}, formats={c: "r3" for c in names})
    out.attrs["diagonal"] = True
    return out


def htmt_intervals(stage, questionnaire=None, language: str = "en") -> pd.DataFrame:
    """``construct_a, construct_b, htmt, ci_lower, ci_upper, htmt_ok, ci_below_1`` (bootstrap percentile)."""
    cat = catalogue(language)
    h = stage.result.htmt
    bh = _boot(stage, "htmt")
    rows = []
    for a in h.index:
        for b in h.columns:
            v = h.loc[a, b]
            if not np.isfinite(v):
                continue
            key = (a, b) if bh is not None and (a, b) in bh.index else (b, a)
            lo, hi = _get(bh, key, "ci_lower"), _get(bh, key, "ci_upper")
            rows.append({"construct_a": a, "construct_b": b, "htmt": float(v), "ci_lower": lo, "ci_upper": hi,
                         "htmt_ok": bool(v < HTMT_CUT), "ci_below_1": bool(hi < 1) if np.isfinite(hi) else None})
    df = pd.DataFrame(rows, columns=["construct_a", "construct_b", "htmt", "ci_lower", "ci_upper", "htmt_ok",
                                     "ci_below_1"])
    lvl = _level(stage)
    note = cat.f("pnote.htmt", cut=_cut(HTMT_CUT)) + _abbrev(questionnaire, language,
                                                             list(df["construct_a"]) + list(df["construct_b"]))
    return _meta(df, cat["title.pls_htmt"], note, key="pls_htmt", language=language,
                 labels={"construct_a": cat["ph.construct"], "construct_b": cat["ph.construct"] + " ",
                         "htmt": cat["ph.htmt"], "htmt_ok": cat.f("ph.htmt_ok", cut=_cut(HTMT_CUT)),
                         "ci_below_1": cat["ph.ci_below_1"]},
                 formats={"htmt": "r3", "ci_lower": "r3", "ci_upper": "r3", "htmt_ok": "bool",
                          "ci_below_1": "bool"},
                 ci_pairs=[("ci_lower", "ci_upper", cat.f("ph.ci", level=lvl))])


def cross_loadings(stage, questionnaire=None, language: str = "en") -> pd.DataFrame:
    """Indicator x construct correlations (the items of the model's first-order constructs)."""
    cat = catalogue(language)
    res = stage.result
    cl = res.cross_loadings
    spec = res.spec
    items = [i for c in spec.constructs if c not in spec.hoc for i in spec.blocks[c]]
    items = [i for i in dict.fromkeys(items) if i in cl.index]
    own = {i: c for c in spec.constructs if c not in spec.hoc for i in spec.blocks[c]}
    tab = cl.loc[items].copy()
    tab.insert(0, "construct", [own[i] for i in items])
    tab.index.name = "item"
    tab = tab.reset_index()
    cols = [c for c in cl.columns]
    note = cat["pnote.cross"] + _abbrev(questionnaire, language, cols)
    return _meta(tab, cat["title.pls_cross_loadings"], note, key="pls_cross_loadings", language=language,
                 group_columns=["construct"], labels={"item": cat["ph.indicator"], "construct": cat["ph.construct"]},
                 formats={c: "f3" for c in cols})


# --------------------------------------------------------------------------- structural model
def collinearity(stage, questionnaire=None, language: str = "en") -> pd.DataFrame:
    """``outcome, predictor, vif`` (inner VIF)."""
    cat = catalogue(language)
    v = stage.result.vif_inner
    df = pd.DataFrame({"outcome": v["lhs"], "predictor": v["rhs"], "vif": v["vif"].astype(float)})
    note = cat["pnote.collinearity"] + _abbrev(questionnaire, language, list(df["outcome"]) + list(df["predictor"]))
    return _meta(df, cat["title.pls_collinearity"], note, key="pls_collinearity", language=language,
                 group_columns=["outcome"],
                 labels={"outcome": cat["ph.outcome"], "predictor": cat["ph.predictor"], "vif": cat["ph.vif"]},
                 formats={"vif": "f2"})


def _f2_size(v, cat):
    if not np.isfinite(v):
        return ""
    return cat["f2.large"] if v >= 0.35 else cat["f2.medium"] if v >= 0.15 else cat["f2.small"] if v >= 0.02 \
        else cat["f2.none"]


def structural(stage, questionnaire=None, language: str = "en") -> pd.DataFrame:
    """``path, est, boot_mean, se, t, pvalue, ci_lower, ci_upper, f2, f2_size``."""
    cat = catalogue(language)
    res = stage.result
    p = res.paths
    f2 = res.f2.set_index(["lhs", "rhs"])["f2"]
    df = pd.DataFrame({"path": [_arrow(f"{a} ~ {b}") for a, b in zip(p["lhs"], p["rhs"])],
                       "est": p["est"].astype(float)})
    for c in ("boot_mean", "se", "t", "pvalue", "ci_lower", "ci_upper"):
        df[c] = p[c].astype(float).to_numpy() if c in p.columns else math.nan
    df["f2"] = [float(f2.get((a, b), math.nan)) for a, b in zip(p["lhs"], p["rhs"])]
    df["f2_size"] = [_f2_size(v, cat) for v in df["f2"]]
    note = _base_note(stage, language) + " " + cat["pnote.structural"] + _abbrev(questionnaire, language,
                                                                                  _codes_in(df["path"]))
    return _meta(df, cat["title.pls_structural"], note, key="pls_structural", language=language,
                 labels={"path": cat["ph.path"], "est": cat["ph.beta"], "boot_mean": cat["ph.mean"],
                         "se": cat["ph.se"], "t": cat["ph.t"], "pvalue": cat["ph.p"], "f2": cat["ph.f2"],
                         "f2_size": cat["ph.f2_size"]},
                 formats={"est": "f3", "boot_mean": "f3", "se": "f3", "t": "f2", "pvalue": "p", "ci_lower": "f3",
                          "ci_upper": "f3", "f2": "f3", "f2_size": "str", "path": "str"},
                 ci_pairs=[("ci_lower", "ci_upper", cat.f("ph.ci", level=_level(stage)))])


def r_squared(stage, questionnaire=None, language: str = "en") -> pd.DataFrame:
    """``construct, r2, adj_r2, ci_lower, ci_upper`` (bootstrap percentile CI of R-squared)."""
    cat = catalogue(language)
    res = stage.result
    r2 = res.r2.dropna(subset=["r2"])
    br = _boot(stage, "r2")
    df = pd.DataFrame({"construct": list(r2.index), "r2": r2["r2"].astype(float).to_numpy(),
                       "adj_r2": r2["r2_adj"].astype(float).to_numpy()})
    df["ci_lower"] = [_get(br, (c, ""), "ci_lower") for c in df["construct"]]
    df["ci_upper"] = [_get(br, (c, ""), "ci_upper") for c in df["construct"]]
    note = _base_note(stage, language) + _abbrev(questionnaire, language, df["construct"])
    return _meta(df, cat["title.pls_r2"], note, key="pls_r2", language=language,
                 labels={"construct": cat["ph.construct"], "r2": cat["ph.r2"], "adj_r2": cat["ph.adj_r2"]},
                 formats={"r2": "r3", "adj_r2": "r3", "ci_lower": "r3", "ci_upper": "r3"},
                 ci_pairs=[("ci_lower", "ci_upper", cat.f("ph.r2_ci", level=_level(stage)))])


def model_fit(stage, questionnaire=None, language: str = "en") -> pd.DataFrame:
    """``measure, saturated, estimated`` (SRMR, d_ULS, d_G; :mod:`icaf_sem.pls.fit`)."""
    cat = catalogue(language)
    f = stage.result.model_fit
    df = pd.DataFrame({"measure": f["measure"].tolist(), "saturated": f["saturated"].astype(float).to_numpy()})
    ft = getattr(stage, "fit_test", None)
    note = cat["pnote.fit"]
    labels = {"measure": cat["ph.measure"], "saturated": cat["ph.saturated"], "estimated": cat["ph.estimated"]}
    if ft is not None:
        t = ft.set_index(["model", "measure"])
        for model, short in (("saturated", "sat"), ("estimated", "est")):
            if model == "estimated":
                df["estimated"] = f["estimated"].astype(float).to_numpy()
            for q in ("hi95", "hi99"):
                df[f"{short}_{q}"] = [float(t.loc[(model, m), q]) for m in df["measure"]]
                labels[f"{short}_{q}"] = cat[f"ph.{short}_{q}"]
        note += " " + cat.f("pnote.fit_test", draws=int(ft["draws"].min()), seed=stage.options.get("seed"))
    else:
        df["estimated"] = f["estimated"].astype(float).to_numpy()
    return _meta(df, cat["title.pls_model_fit"], note, key="pls_model_fit", language=language, labels=labels,
                 formats={c: "f3" for c in df.columns if c != "measure"} | {"measure": "str"})


def predict(stage, questionnaire=None, language: str = "en") -> pd.DataFrame:
    """``item, construct, q2_predict, rmse, mae, lm_rmse, lm_mae, pls_better`` (PLSpredict)."""
    cat = catalogue(language)
    pr = stage.result.predict
    o = stage.result.options
    df = pd.DataFrame({"construct": pr["construct"].to_numpy(), "item": list(pr.index),
                       "q2_predict": pr["q2_predict"].astype(float).to_numpy(),
                       "rmse": pr["rmse"].astype(float).to_numpy(), "mae": pr["mae"].astype(float).to_numpy(),
                       "lm_rmse": pr["lm_rmse"].astype(float).to_numpy(),
                       "lm_mae": pr["lm_mae"].astype(float).to_numpy()})
    df["pls_better"] = df["rmse"] < df["lm_rmse"]
    if o.get("predict") == "loo":
        head = cat["pnote.predict_loo"]
    else:
        head = cat.f("pnote.predict", folds=o.get("predict"), reps=o.get("predict_repetitions"), seed=o.get("seed"))
    note = head + _abbrev(questionnaire, language, df["construct"])
    return _meta(df, cat["title.pls_predict"], note, key="pls_predict", language=language,
                 group_columns=["construct"],
                 labels={"construct": cat["ph.construct"], "item": cat["ph.indicator"], "q2_predict": cat["ph.q2"],
                         "rmse": cat["ph.rmse"], "mae": cat["ph.mae"], "lm_rmse": cat["ph.lm_rmse"],
                         "lm_mae": cat["ph.lm_mae"], "pls_better": cat["ph.pls_better"]},
                 formats={"q2_predict": "f3", "rmse": "f3", "mae": "f3", "lm_rmse": "f3", "lm_mae": "f3",
                          "pls_better": "bool"})


def ipma(stage, questionnaire=None, language: str = "en") -> pd.DataFrame:
    """``target, construct, importance, performance`` for every final outcome's IPMA."""
    cat = catalogue(language)
    rows = []
    for target, im in stage.ipma.items():
        for c, r in im.constructs.iterrows():
            rows.append({"target": target, "construct": c, "importance": float(r["importance"]),
                         "performance": float(r["performance"])})
    df = pd.DataFrame(rows, columns=["target", "construct", "importance", "performance"])
    q = questionnaire
    note = cat.f("pnote.ipma", lo=getattr(q, "scale_min", ""), hi=getattr(q, "scale_max", "")) + \
        _abbrev(q, language, list(df["target"]) + list(df["construct"]))
    return _meta(df, cat["title.pls_ipma"], note, key="pls_ipma", language=language, group_columns=["target"],
                 labels={"target": cat["ph.target"], "construct": cat["ph.construct"],
                         "importance": cat["ph.importance"], "performance": cat["ph.performance"]},
                 formats={"importance": "f3", "performance": "f2"})


def hypotheses(stage, questionnaire=None, language: str = "en") -> pd.DataFrame:
    """``id, path, kind, expected_sign, est, se, t, pvalue, ci_lower, ci_upper, f2, mediation_type, supported``."""
    cat = catalogue(language)
    h = stage.hypotheses
    df = pd.DataFrame({
        "id": h["id"], "path": [_arrow(p) for p in h["path"]],
        "kind": [cat[f"kind.{k}"] for k in h["kind"]],
        "expected_sign": [cat.get(f"sign.{s}", s) for s in h["expected_sign"]],
        "est": h["est"].astype(float), "se": h["se"].astype(float), "t": h["t"].astype(float),
        "pvalue": h["pvalue"].astype(float), "ci_lower": h["ci_lower"].astype(float),
        "ci_upper": h["ci_upper"].astype(float), "f2": h["f2"].astype(float),
        "mediation_type": [cat[f"med.{m}"] if isinstance(m, str) else "" for m in h["mediation_type"]],
        "supported": h["supported"]})
    alpha = stage.options.get("alpha", 0.05)
    note = (_base_note(stage, language) + " " + cat.f("pnote.hypotheses", alpha=_cut(alpha), level=_level(stage))
            + _abbrev(questionnaire, language, _codes_in(h["path"])))
    return _meta(df, cat["title.pls_hypotheses"], note, key="pls_hypotheses", language=language,
                 labels={"id": cat["ph.hypothesis"], "path": cat["ph.path"], "kind": cat["ph.type"],
                         "expected_sign": cat["ph.expected"], "est": cat["ph.est"], "se": cat["ph.se"],
                         "t": cat["ph.t"], "pvalue": cat["ph.p"], "f2": cat["ph.f2"],
                         "mediation_type": cat["h.mediation"], "supported": cat["ph.supported"]},
                 formats={"est": "f3", "se": "f3", "t": "f2", "pvalue": "p", "ci_lower": "f3", "ci_upper": "f3",
                          "f2": "f3", "supported": "bool", "path": "str", "kind": "str", "mediation_type": "str"},
                 ci_pairs=[("ci_lower", "ci_upper", cat.f("ph.ci", level=_level(stage)))])


def method_comparison(cb_hypotheses: pd.DataFrame, stage, questionnaire=None, language: str = "en") -> pd.DataFrame:
    """``id, path, cb_beta, cb_p, cb_supported, pls_beta, pls_p, pls_supported, agree``: each hypothesis
    under both methods (CB-SEM std.all and its verdict; PLS estimate and its verdict)."""
    cat = catalogue(language)
    pl = stage.hypotheses.set_index("id")
    rows = []
    for _, r in cb_hypotheses.iterrows():
        p = pl.loc[r["id"]] if r["id"] in pl.index else None
        cb_sup = bool(r["supported"]) if r["supported"] is not None and not pd.isna(r["supported"]) else None
        pls_sup = None if p is None or p["supported"] is None or pd.isna(p["supported"]) else bool(p["supported"])
        rows.append({"id": r["id"], "path": _arrow(r["path"]), "cb_beta": float(r["std_all"]),
                     "cb_p": float(r["pvalue"]), "cb_supported": cb_sup,
                     "pls_beta": float(p["est"]) if p is not None else math.nan,
                     "pls_p": float(p["pvalue"]) if p is not None else math.nan, "pls_supported": pls_sup,
                     "agree": (cb_sup == pls_sup) if (cb_sup is not None and pls_sup is not None) else None})
    df = pd.DataFrame(rows, columns=["id", "path", "cb_beta", "cb_p", "cb_supported", "pls_beta", "pls_p",
                                     "pls_supported", "agree"])
    note = cat["pnote.comparison"] + _abbrev(questionnaire, language, _codes_in(cb_hypotheses["path"]))
    return _meta(df, cat["title.method_comparison"], note, key="method_comparison", language=language,
                 labels={"id": cat["ph.hypothesis"], "path": cat["ph.path"], "cb_beta": cat["ph.cb_beta"],
                         "cb_p": cat["ph.cb_p"], "cb_supported": cat["ph.cb_supported"],
                         "pls_beta": cat["ph.pls_beta"], "pls_p": cat["ph.pls_p"],
                         "pls_supported": cat["ph.pls_supported"], "agree": cat["ph.agree"]},
                 formats={"cb_beta": "r3", "cb_p": "p", "cb_supported": "bool", "pls_beta": "f3", "pls_p": "p",
                          "pls_supported": "bool", "agree": "bool", "path": "str"})


def pls_report_tables(stage, questionnaire=None, language: str = "en", cb_hypotheses=None) -> dict:
    """Every PLS-SEM table of the report, keyed as in :data:`PLS_TABLES` (report order)."""
    L, q = language, questionnaire
    out = {"pls_measurement": measurement(stage, q, L), "pls_discriminant": discriminant(stage, q, L)}
    if stage.result.bootstrap is not None:
        out["pls_htmt"] = htmt_intervals(stage, q, L)
    out["pls_cross_loadings"] = cross_loadings(stage, q, L)
    out["pls_collinearity"] = collinearity(stage, q, L)
    out["pls_structural"] = structural(stage, q, L)
    out["pls_r2"] = r_squared(stage, q, L)
    if stage.options.get("hoc") != "repeated_indicators":
        out["pls_model_fit"] = model_fit(stage, q, L)
    if stage.result.predict is not None:
        out["pls_predict"] = predict(stage, q, L)
    if stage.ipma:
        out["pls_ipma"] = ipma(stage, q, L)
    out["pls_hypotheses"] = hypotheses(stage, q, L)
    if cb_hypotheses is not None:
        out["method_comparison"] = method_comparison(cb_hypotheses, stage, q, L)
    return out


def ipma_figure(ipmas: dict, language: str = "en"):
    """The importance-performance maps (one panel per target, matplotlib figure), labels in ``language``."""
    from .figures import _plt
    plt = _plt()
    cat = catalogue(language)
    n = len(ipmas)
    fig, axes = plt.subplots(1, n, figsize=(6.4 * n, 4.6), squeeze=False)
    for ax, (target, im) in zip(axes[0], ipmas.items()):
        tab = im.constructs
        ax.scatter(tab["importance"], tab["performance"], color="#1f4e79", zorder=3)
        for name, r in tab.iterrows():
            ax.annotate(str(name), (r["importance"], r["performance"]), xytext=(5, 3), textcoords="offset points")
        ax.axvline(tab["importance"].mean(), ls=":", c="grey")
        ax.axhline(tab["performance"].mean(), ls=":", c="grey")
        ax.set_xlabel(cat.f("pls.importance", target=target))
        ax.set_ylabel(cat["pls.performance"])
        ax.spines[["top", "right"]].set_visible(False)
    return fig
