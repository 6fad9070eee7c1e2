"""How results look in a terminal and in Jupyter.

* :func:`lavaan_summary` -- ``SEMResult.summary()`` in lavaan's layout (header,
  optimisation, test, fit, then Latent Variables / Regressions / Covariances /
  Intercepts / Variances / Defined Parameters; fixed parameters with blank SEs),
  returned as :class:`Text`, a ``str`` whose ``repr`` is the text itself, so that
  calling it bare in a notebook shows the layout, not an escaped string.
* :func:`html_table` -- a DataFrame as an APA-like HTML table with its own CSS
  (caption apart from the title, text columns left-aligned, warnings styled), for the
  ``_repr_html_`` of ``ReliabilityReport``, ``InvarianceResult`` and ``SEMResult``.
"""
from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

__all__ = ["Text", "lavaan_summary", "html_table", "CSS"]


class Text(str):
    """A string shown as itself (no quotes, real line breaks) when it is the value of a notebook cell."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p, cycle):     # IPython's plain-text display
        p.text(str(self))


def _num(v, width=9, digits=3) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return " " * width
    if not np.isfinite(x):
        return " " * width
    return f"{x:{width}.{digits}f}"


def _line(label: str, value, width: int = 54) -> str:
    if isinstance(value, float):
        v = f"{value:.3f}" if np.isfinite(value) else ""
    else:
        v = str(value)
    return f"  {label:<{width - len(v)}}{v}"


def lavaan_summary(res) -> Text:
    """The summary of a fitted model in lavaan's ``summary(fit, standardized = TRUE)`` layout."""
    from .. import __version__
    fm = res.fit_measures
    g = lambda k: float(fm.get(k, math.nan)) if fm.get(k) is not None else math.nan  # noqa: E731
    out = [f"icaf_sem {__version__} " + ("ended normally" if res.converged else "did NOT end normally"), ""]
    out += [_line("Estimator", res.estimator), _line("Optimization method", "Fisher scoring / BFGS"),
            _line("Number of model parameters", int(g("npar")) if np.isfinite(g("npar")) else ""), "",
            _line("Number of observations", res.nobs)]
    if res.missing == "ml":
        out.append(_line("Missing data", "FIML"))
    out += ["", "Model Test User Model:", ""]
    robust = res.estimator == "MLR" and "chisq.scaled" in fm
    if robust:
        out += [f"  {'':<38}{'Standard':>8}{'Scaled':>10}",
                f"  {'Test Statistic':<38}{_num(g('chisq'), 8)}{_num(g('chisq.scaled'), 10)}",
                f"  {'Degrees of freedom':<38}{int(g('df')):>8}{int(g('df')):>10}",
                f"  {'P-value (Chi-square)':<38}{_num(g('pvalue'), 8)}{_num(g('pvalue.scaled'), 10)}",
                f"  {'Scaling correction factor':<38}{'':>8}{_num(g('chisq.scaling.factor'), 10)}"]
    else:
        out += [_line("Test statistic", g("chisq")), _line("Degrees of freedom", int(g("df"))),
                _line("P-value (Chi-square)", g("pvalue"))]
    out += ["", "Model Test Baseline Model:", "", _line("Test statistic", g("baseline.chisq")),
            _line("Degrees of freedom", int(g("baseline.df")) if np.isfinite(g("baseline.df")) else ""),
            _line("P-value", g("baseline.pvalue")), "", "User Model versus Baseline Model:", "",
            _line("Comparative Fit Index (CFI)", g("cfi")), _line("Tucker-Lewis Index (TLI)", g("tli")), "",
            "Loglikelihood and Information Criteria:", "",
            _line("Loglikelihood user model (H0)", g("logl")),
            _line("Loglikelihood unrestricted model (H1)", g("unrestricted.logl")), "",
            _line("Akaike (AIC)", g("aic")), _line("Bayesian (BIC)", g("bic")),
            _line("Sample-size adjusted Bayesian (SABIC)", g("bic2")), "",
            "Root Mean Square Error of Approximation:", "", _line("RMSEA", g("rmsea")),
            _line("90 Percent confidence interval - lower", g("rmsea.ci.lower")),
            _line("90 Percent confidence interval - upper", g("rmsea.ci.upper")),
            _line("P-value H_0: RMSEA <= 0.050", g("rmsea.pvalue")), "",
            "Standardized Root Mean Square Residual:", "", _line("SRMR", g("srmr")), "",
            "Parameter Estimates:", "",
            _line("Standard errors", "Bootstrap" if getattr(res, "boot", None) is not None and
                  "boot_se" in res.parameters and np.allclose(res.parameters["se"].fillna(0),
                                                              res.parameters["boot_se"].fillna(res.parameters["se"]).fillna(0))
                  else ("Robust.huber.white" if res.estimator == "MLR" else "Standard")), ""]
    p = res.parameters
    head = f"{'':<20}{'Estimate':>9}{'Std.Err':>9}{'z-value':>9}{'P(>|z|)':>9}{'Std.lv':>9}{'Std.all':>9}"
    lvs = list(dict.fromkeys(p.loc[p["op"] == "=~", "lhs"]))
    endo = set(p.loc[p["op"] == "=~", "rhs"]) | set(p.loc[p["op"] == "~", "lhs"])
    groups = sorted(p["group"].dropna().unique()) if "group" in p else [1]
    multi = len([x for x in groups if x > 0]) > 1

    def row(name, r, indent=4):
        lab = f"({r['label']})" if isinstance(r.get("label"), str) and r.get("label") else ""
        free = bool(r.get("free", 1)) or r.get("op") == ":="
        text = f"{' ' * indent}{name} {lab}".rstrip()
        cells = _num(r["est"]) + (_num(r["se"]) + _num(r["z"]) + _num(r["pvalue"]) if free and np.isfinite(
            float(r["se"]) if r["se"] is not None else np.nan) else " " * 27)
        return f"{text:<20}{cells}{_num(r.get('std_lv'))}{_num(r.get('std_all'))}"

    for gi in (groups if multi else [groups[0] if groups else 1]):
        q = p[(p["group"] == gi) | (p["op"] == ":=")] if multi else p
        if multi:
            out += ["", f"Group {int(gi)}:"]
        for title, op in (("Latent Variables", "=~"), ("Regressions", "~")):
            blk = q[q["op"] == op]
            if len(blk):
                out += ["", f"{title}:", head]
                for lhs in dict.fromkeys(blk["lhs"]):
                    out.append(f"  {lhs} {op}")
                    out += [row(r["rhs"], r) for _, r in blk[blk["lhs"] == lhs].iterrows()]
        cov = q[(q["op"] == "~~") & (q["lhs"] != q["rhs"])]
        if len(cov):
            out += ["", "Covariances:", head]
            for lhs in dict.fromkeys(cov["lhs"]):
                out.append(f"  {'.' if lhs in endo else ''}{lhs} ~~")
                out += [row(("." if r["rhs"] in endo else "") + r["rhs"], r) for _, r in
                        cov[cov["lhs"] == lhs].iterrows()]
        ints = q[q["op"] == "~1"]
        if len(ints):
            out += ["", "Intercepts:", head]
            out += [row(("." if r["lhs"] in endo else "") + r["lhs"], r, 3) for _, r in ints.iterrows()]
        var = q[(q["op"] == "~~") & (q["lhs"] == q["rhs"])]
        if len(var):
            out += ["", "Variances:", head]
            out += [row(("." if r["lhs"] in endo else "") + r["lhs"], r, 3) for _, r in var.iterrows()]
        if multi:
            continue
    dfn = p[p["op"] == ":="]
    if len(dfn):
        out += ["", "Defined Parameters:", head]
        out += [row(f"{r['lhs']}", dict(r, label=""), 3) for _, r in dfn.iterrows()]
    if res.warnings:
        out += ["", "Warnings:"] + [f"  ! {w}" for w in res.warnings]
    return Text("\n".join(out))


CSS = """<style>
.icaf{font-family:"Segoe UI",Helvetica,Arial,"Noto Sans SC","PingFang SC","Microsoft YaHei",sans-serif;text-align:left}
.icaf table{border-collapse:collapse;margin:.3em 0;font-size:.88em}
.icaf caption{caption-side:top;text-align:left;padding-bottom:.35em}
.icaf caption .num{font-weight:bold;display:block;margin-bottom:.3em} .icaf caption .ttl{font-style:italic;display:block}
.icaf thead th{border-top:2px solid currentColor;border-bottom:1px solid currentColor;padding:.25em .6em;text-align:center;background:none}
.icaf td{padding:.18em .6em;text-align:right;white-space:nowrap;background:none} .icaf td.txt{text-align:left}
.icaf tbody tr:last-child td{border-bottom:2px solid currentColor} .icaf tbody tr:nth-child(odd){background:none}
.icaf p.note{font-size:.84em;max-width:60em;margin:.2em 0 .8em 0;text-align:left}
.icaf .warn{background:#fff6e5;color:#222;border:1px solid #f0b44c;border-left:5px solid #e69500;padding:.4em .8em;margin:.5em 0}
.icaf .warn li{margin:.15em 0}
</style>"""


def _fmt_cell(v, digits=3) -> tuple:
    if isinstance(v, (bool, np.bool_)):
        return ("Yes" if v else "No"), True
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "", False
    if isinstance(v, (int, np.integer)):
        return str(int(v)), False
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if x != 0 and abs(x) < 0.001:
            return ("< .001" if 0 < x else f"{x:.2e}"), False
        return f"{x:.{digits}f}".replace("-", "\u2212"), False
    return str(v), True


def html_table(df: pd.DataFrame, title: str = "", note: str = "", warnings=(), caption: str = "") -> str:
    """``df`` as an HTML table with its own CSS: caption, italic title, note, warnings box."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for _, r in df.iterrows():
        cells = []
        for v in r.tolist():
            text, is_txt = _fmt_cell(v)
            cells.append(f'<td{" class=txt" if is_txt else ""}>{html.escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = ""
    if caption or title:
        cap = (f'<caption>{f"<span class=num>{html.escape(caption)}</span>" if caption else ""}'
               f'<span class=ttl>{html.escape(title)}</span></caption>')
    warn = ""
    if warnings:
        warn = '<div class="warn"><b>Warnings</b><ul>' + "".join(f"<li>{html.escape(str(w))}</li>"
                                                                for w in warnings) + "</ul></div>"
    return (f'{CSS}<div class="icaf">{warn}<table>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
            f'</tbody></table>' + (f'<p class="note"><em>Note.</em> {html.escape(note)}</p>' if note else "")
            + "</div>")
