"""Test a questionnaire's hypotheses against a fitted structural model.

:func:`test_hypotheses` turns every hypothesis of a
:class:`~icaf_sem.questionnaire.Questionnaire` into one row of a tidy table:
the estimate, its standardized value, standard error, z, p, confidence
interval and the verdict ``supported`` (p below ``alpha`` *and* the sign as
expected).  Mediation hypotheses (``X -> M -> Y``) are read from the ``:=``
indirect effects of the model; when the model was fitted with a bootstrap
(``icaf_sem.fit(..., bootstrap=2000)``) their percentile and bias-corrected
intervals are reported as lavaan's ``parameterEstimates(fit, boot.ci.type =
"perc")`` and ``"bca.simple"``, and the decision rests on the bootstrap
interval, as Zhao, Lynch & Chen (2010) advise.

Mediation types (Zhao, Lynch & Chen 2010, *Journal of Consumer Research*, 37(2), 197-206):

==============================  =================  =====================
indirect a*b  | direct c        type               classical name
==============================  =================  =====================
significant   | not significant indirect-only      full mediation
significant   | significant,    complementary      partial mediation
              | a*b*c > 0
significant   | significant,    competitive        partial mediation
              | a*b*c < 0
not sig.      | significant     direct-only        no mediation
not sig.      | not significant no-effect          no mediation
==============================  =================  =====================
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pandas as pd
from scipy import stats

from .errors import DataError, ModelSpecificationError

__all__ = ["test_hypotheses", "mediation_type", "HYPOTHESIS_COLUMNS", "BOOT_COLUMNS"]

BOOT_COLUMNS = ["boot_se", "boot_pct_lower", "boot_pct_upper", "boot_bc_lower", "boot_bc_upper"]
STD_BOOT_COLUMNS = ["std_boot_pct_lower", "std_boot_pct_upper", "std_boot_bc_lower", "std_boot_bc_upper"]

HYPOTHESIS_COLUMNS = [
    "id", "kind", "path", "lhs", "op", "rhs", "label", "expected_sign",
    "est", "std_all", "se", "z", "pvalue", "ci_lower", "ci_upper", "ci_level", "ci_method",
    "boot_se", "boot_pct_lower", "boot_pct_upper", "boot_bc_lower", "boot_bc_upper",
    "std_boot_pct_lower", "std_boot_pct_upper", "std_boot_bc_lower", "std_boot_bc_upper",
    "direct_est", "direct_std_all", "direct_pvalue", "mediation_type", "mediation_class",
    "significant", "sign_ok", "supported",
]

def _observed_sign(value: float) -> str:
    if not np.isfinite(value) or value == 0:
        return "0"
    return "+" if value > 0 else "-"


def mediation_type(indirect_significant: bool, direct_significant: Optional[bool],
                   indirect: float, direct: float) -> tuple[str, str]:
    """Classify a mediation after Zhao, Lynch & Chen (2010).

    Parameters
    ----------
    indirect_significant : bool
        Whether the indirect effect a*b differs from zero (bootstrap interval
        excludes zero, or p < alpha without a bootstrap).
    direct_significant : bool or None
        Whether the direct effect c differs from zero; ``None`` when the model
        has no direct path X -> Y.
    indirect, direct : float
        The estimates of a*b and c (their product's sign separates
        complementary from competitive mediation).

    Returns
    -------
    (type, classical) : tuple of str
        ``type`` is one of ``"complementary"``, ``"competitive"``,
        ``"indirect-only"``, ``"direct-only"``, ``"no-effect"``; ``classical``
        is ``"partial"``, ``"full"`` or ``"none"``.

    Examples
    --------
    >>> mediation_type(True, False, 0.12, 0.05)
    ('indirect-only', 'full')
    >>> mediation_type(True, True, 0.12, -0.2)
    ('competitive', 'partial')
    """
    if indirect_significant:
        if direct_significant:
            kind = "complementary" if indirect * direct > 0 else "competitive"
            return kind, "partial"
        return "indirect-only", "full"
    if direct_significant:
        return "direct-only", "none"
    return "no-effect", "none"


def _find_row(params: pd.DataFrame, lhs: str, op: str, rhs: str, label: Optional[str] = None):
    t = params
    if op == ":=":
        hit = t[(t["op"] == ":=") & (t["lhs"] == lhs)]
        if not len(hit) and label:
            hit = t[(t["op"] == ":=") & (t["label"] == label)]
        return hit.iloc[0] if len(hit) else None
    hit = t[(t["op"] == op) & (t["lhs"] == lhs) & (t["rhs"] == rhs)]
    if not len(hit) and op == "~~":
        hit = t[(t["op"] == op) & (t["lhs"] == rhs) & (t["rhs"] == lhs)]
    if not len(hit) and label:
        hit = t[(t["op"] == op) & (t["label"] == label)]
    if "group" in t.columns and len(hit) > 1:
        hit = hit.sort_values("group")
    return hit.iloc[0] if len(hit) else None


def _num(row, col) -> float:
    if row is None or col not in row.index:
        return math.nan
    try:
        v = float(row[col])
    except (TypeError, ValueError):
        return math.nan
    return v


def _excludes_zero(lo: float, hi: float) -> Optional[bool]:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return None
    return bool(lo > 0 or hi < 0)


def structural_cycle(questionnaire) -> list:
    """The first cycle among the questionnaire's hypothesised paths (``['EB', 'PW', 'EB']``), or ``[]``.

    A non-recursive model (EB ~ PW with PW ~ EB) is not supported by the pipeline: its total
    effects are elements of (I - B)^-1, not sums of path products, so the ``total_*`` effects the
    questionnaire defines would be wrong.
    """
    edges: dict = {}
    for h in getattr(questionnaire, "hypotheses", []):
        if h.kind == "path":
            edges.setdefault(h.rhs, []).append(h.lhs)          # rhs -> lhs (cause -> effect)
    state: dict = {}
    stack: list = []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in edges.get(v, []):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state:
                found = visit(w)
                if found:
                    return found
        stack.pop()
        state[v] = 2
        return []
    for v in list(edges):
        if v not in state:
            found = visit(v)
            if found:
                return found
    return []


def check_recursive(questionnaire) -> None:
    """Raise :class:`ModelSpecificationError` when the hypothesised paths form a cycle."""
    cyc = structural_cycle(questionnaire)
    if cyc:
        raise ModelSpecificationError(
            f"the questionnaire's paths form a cycle ({' -> '.join(cyc)}): non-recursive models are not supported "
            "by icaf-sem (their total effects come from (I - B)^-1, not from sums of paths); remove one direction "
            "of the cycle from the hypotheses, or fit the model with icaf_sem.fit() and no total effects")


def _min_draws(level: float) -> int:
    from .estimation.bootstrap import MIN_DRAWS
    return max(MIN_DRAWS, int(math.ceil(2 / (1 - level))) - 1)


def _boot_intervals(boot, name: str, est: float, level: float) -> dict:
    """Percentile and bias-corrected intervals of a ``:=`` parameter at ``level`` from the draws
    (NaN when the draws are too few for that level)."""
    from .estimation.bootstrap import bca_simple_ci, enough_draws, percentile_ci
    nan = {"boot_pct_lower": math.nan, "boot_pct_upper": math.nan, "boot_bc_lower": math.nan,
           "boot_bc_upper": math.nan}
    names = list(getattr(boot, "def_names", []) or [])
    if boot is None or name not in names:
        return nan
    t = np.asarray(boot.defined, float)[:, names.index(name)]
    t = t[np.isfinite(t)]
    if not enough_draws(len(t), level):
        return nan
    lo, hi = percentile_ci(t, level)
    blo, bhi = bca_simple_ci(t, est, level)
    return {"boot_pct_lower": lo, "boot_pct_upper": hi, "boot_bc_lower": blo, "boot_bc_upper": bhi}


def _draw_variances(boot, ram, draws) -> np.ndarray:
    """Model-implied variances of every variable (R, m) at each bootstrap draw, computed once per
    bootstrap result (every standardized effect of a report reads them)."""
    cached = getattr(boot, "_implied_variances", None)
    if cached is not None and cached[0] is draws:
        return cached[1]
    A, S, _ = ram.matrices(draws)
    B = np.linalg.inv(np.eye(A.shape[-1]) - A)
    var = np.einsum("rij,rjk,rik->ri", B, S, B)
    boot._implied_variances = (draws, var)
    return var


def standardized_bootstrap(result, x: str, y: str, name: str, point: float) -> dict:
    """Percentile and bias-corrected bootstrap intervals of a standardized ``:=`` effect from X to Y.

    The standardized value of an effect of X on Y (an indirect effect a*b or a
    total effect) is its unstandardized value times sd(X) / sd(Y), as lavaan's
    ``std.all`` of a ``:=`` parameter built from regression paths.  Each bootstrap
    draw is standardized with its own model-implied standard deviations.

    Returns
    -------
    dict
        ``std_boot_pct_lower, std_boot_pct_upper, std_boot_bc_lower, std_boot_bc_upper``
        (empty when the result holds no bootstrap draws).
    """
    from .estimation.bootstrap import bca_simple_ci, percentile_ci

    boot = getattr(result, "boot", None)
    core = getattr(result, "_core", None)
    names = list(getattr(boot, "def_names", []) or [])
    if boot is None or core is None or len(core.rams) != 1 or name not in names:
        return {}
    draws = np.asarray(boot.draws, float)
    if draws.ndim != 2 or len(draws) < 2:
        return {}
    ram = core.rams[0]
    pos = {v: i for i, v in enumerate(ram.vars)}
    if x not in pos or y not in pos:
        return {}
    var = _draw_variances(boot, ram, draws)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.asarray(boot.defined, float)[:, names.index(name)] * np.sqrt(var[:, pos[x]] / var[:, pos[y]])
    t = t[np.isfinite(t)]
    if len(t) < 2 or not np.isfinite(point):
        return {}
    lo, hi = percentile_ci(t)
    blo, bhi = bca_simple_ci(t, point)
    return {"std_boot_pct_lower": float(lo), "std_boot_pct_upper": float(hi),
            "std_boot_bc_lower": float(blo), "std_boot_bc_upper": float(bhi)}


def test_hypotheses(result, questionnaire, alpha: float = 0.05, *, boot_ci: str = "bc") -> pd.DataFrame:
    """One row per hypothesis of the questionnaire, tested on a fitted model.

    Parameters
    ----------
    result : SEMResult
        The structural model fitted from ``questionnaire.model_syntax()``
        (anything with a lavaan-style ``.parameters`` table works).
    questionnaire : Questionnaire or path
        Its hypotheses are tested.
    alpha : float, default 0.05
        Significance level; the normal-theory intervals are at ``1 - alpha``.
    boot_ci : {"bc", "percentile"}, default "bc"
        Which bootstrap interval decides a mediation hypothesis when the model
        was fitted with a bootstrap (bias-corrected, lavaan's ``bca.simple``,
        by default) at the level ``1 - alpha`` (computed from the draws when
        ``alpha`` is not .05).  With too few draws for that level (fewer than 100,
        or too few for its tails) the interval is reported unavailable (NaN,
        ``ci_method`` "bootstrap (unavailable)"), a ``BootstrapWarning`` is issued
        and the mediation is not judged supported.

    Returns
    -------
    DataFrame
        Columns ``id, kind, path, lhs, op, rhs, label, expected_sign, est,
        std_all, se, z, pvalue, ci_lower, ci_upper, ci_level, ci_method``, the
        bootstrap columns (``boot_se, boot_pct_lower, boot_pct_upper,
        boot_bc_lower, boot_bc_upper`` and their standardized counterparts
        ``std_boot_*``; NaN without a bootstrap), for mediations
        ``direct_est, direct_std_all, direct_pvalue, mediation_type``
        (Zhao, Lynch & Chen 2010) and ``mediation_class`` (full/partial/none),
        then ``significant, sign_ok, supported``.  ``supported`` is
        significant and the sign as expected (``expected_sign`` "0" accepts
        either sign).

    Raises
    ------
    ModelSpecificationError
        A hypothesis names a parameter the fitted model does not have.

    Examples
    --------
    >>> res = icaf_sem.fit(q.model_syntax(), clean.data, missing="ml", bootstrap=2000, seed=1)  # doctest: +SKIP
    >>> test_hypotheses(res, q)[["id", "path", "std_all", "pvalue", "supported"]]            # doctest: +SKIP

    In R: ``parameterEstimates(fit, standardized = TRUE, boot.ci.type = "bca.simple")``,
    then the rows of the labelled paths and of the ``:=`` effects.
    """
    from .questionnaire import load_questionnaire

    q = load_questionnaire(questionnaire)
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise DataError(f"alpha={alpha!r} must be a number between 0 and 1; e.g. alpha=0.05")
    if boot_ci not in ("bc", "percentile"):
        raise DataError(f"boot_ci={boot_ci!r} is not known; use 'bc' (bias-corrected) or 'percentile'")
    check_recursive(q)
    params = result if isinstance(result, pd.DataFrame) else getattr(result, "parameters", None)
    if params is None:
        raise DataError(f"result must be a fitted SEMResult (or its parameter table), got {type(result).__name__}")
    zcrit = float(stats.norm.ppf(1 - alpha / 2))
    boot = None if isinstance(result, pd.DataFrame) else getattr(result, "boot", None)
    has_boot = boot is not None or (
        all(c in params.columns for c in ("boot_pct_lower", "boot_pct_upper"))
        and params[["boot_pct_lower", "boot_pct_upper"]].notna().any().any())
    level = 1 - alpha
    at_95 = abs(alpha - 0.05) < 1e-12
    if has_boot and not at_95 and boot is None and any(h.kind == "mediation" for h in q.hypotheses):
        raise ModelSpecificationError(
            f"alpha={alpha:g}: mediation hypotheses are judged by the bootstrap interval at the {level:.0%} level, "
            "which needs the bootstrap draws; pass the fitted result (not its parameter table)")
    use_boot = has_boot
    rows = []
    for h in q.hypotheses:
        row = _find_row(params, h.lhs, h.op, h.rhs, h.label)
        if row is None:
            raise ModelSpecificationError(
                f"hypothesis {h.id} ({h.path}) has no parameter {h.lhs} {h.op} {h.rhs} in the fitted model; "
                "fix: fit the model from questionnaire.model_syntax() of the same questionnaire")
        est, se = _num(row, "est"), _num(row, "se")
        z = est / se if se and np.isfinite(se) and se > 0 else math.nan
        p = float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else math.nan
        out = {
            "id": h.id, "kind": h.kind, "path": h.path, "lhs": h.lhs, "op": h.op, "rhs": h.rhs,
            "label": h.label if h.label else "", "expected_sign": h.expected_sign,
            "est": est, "std_all": _num(row, "std_all"), "se": se, "z": z, "pvalue": p,
            "ci_lower": est - zcrit * se if np.isfinite(se) else math.nan,
            "ci_upper": est + zcrit * se if np.isfinite(se) else math.nan,
            "ci_level": 1 - alpha, "ci_method": "normal",
        }
        for c in BOOT_COLUMNS + STD_BOOT_COLUMNS:
            out[c] = _num(row, c)
        out.update(direct_est=math.nan, direct_std_all=math.nan, direct_pvalue=math.nan,
                   mediation_type=None, mediation_class=None)
        significant = bool(np.isfinite(p) and p < alpha)
        if h.kind == "mediation" and use_boot:
            if not at_95:      # the draws' intervals at the matching level 1 - alpha
                out.update(_boot_intervals(boot, h.lhs, out["est"], level))
            n_ok = int(getattr(boot, "n_ok", 0)) if boot is not None else None
            lo, hi = (out["boot_bc_lower"], out["boot_bc_upper"]) if boot_ci == "bc" else \
                (out["boot_pct_lower"], out["boot_pct_upper"])
            if not (np.isfinite(lo) and np.isfinite(hi)):   # fall back to the percentile interval
                lo, hi = out["boot_pct_lower"], out["boot_pct_upper"]
                method = "bootstrap percentile"
            else:
                method = "bootstrap bias-corrected" if boot_ci == "bc" else "bootstrap percentile"
            ex = _excludes_zero(lo, hi)
            if ex is not None:
                significant = ex
                out["ci_lower"], out["ci_upper"], out["ci_level"], out["ci_method"] = lo, hi, level, method
            else:
                # too few draws (or none usable): the interval is unavailable, not replaced
                import warnings
                from .errors import BootstrapWarning
                significant = False
                out["ci_lower"], out["ci_upper"], out["ci_level"] = math.nan, math.nan, level
                out["ci_method"] = "bootstrap (unavailable)"
                warnings.warn(f"hypothesis {h.id} ({h.path}): no bootstrap interval at the {level:.0%} level "
                              f"({'no' if n_ok is None else n_ok} usable draws; at least "
                              f"{_min_draws(level)} are needed); it is not judged supported",
                              BootstrapWarning)
        if h.kind == "mediation":
            x, y = h.chain[0], h.chain[-1]
            if has_boot and not isinstance(result, pd.DataFrame):
                out.update(standardized_bootstrap(result, x, y, h.lhs, out["std_all"]))
            direct = _find_row(params, y, "~", x)
            if direct is not None:
                d_est, d_p = _num(direct, "est"), _num(direct, "pvalue")
                if not np.isfinite(d_p):
                    d_se = _num(direct, "se")
                    d_p = float(2 * stats.norm.sf(abs(d_est / d_se))) if d_se > 0 else math.nan
                out["direct_est"], out["direct_std_all"], out["direct_pvalue"] = d_est, _num(direct, "std_all"), d_p
                d_sig = bool(np.isfinite(d_p) and d_p < alpha)
            else:
                d_est, d_sig = math.nan, None
            out["mediation_type"], out["mediation_class"] = mediation_type(significant, d_sig, est, d_est)
        sign_ok = h.expected_sign == "0" or _observed_sign(est) == h.expected_sign
        out["significant"] = significant
        out["sign_ok"] = bool(sign_ok)
        out["supported"] = bool(significant and sign_ok)
        rows.append(out)
    df = pd.DataFrame(rows, columns=HYPOTHESIS_COLUMNS)
    num = ["est", "std_all", "se", "z", "pvalue", "ci_lower", "ci_upper", "ci_level", "direct_est",
           "direct_std_all", "direct_pvalue"] + BOOT_COLUMNS + STD_BOOT_COLUMNS
    for c in num:
        df[c] = df[c].astype(float)
    df.attrs["alpha"] = alpha
    df.attrs["bootstrap"] = bool(has_boot)
    return df


test_hypotheses.__test__ = False   # not a pytest test when imported into a test module


def defined_effects(result, questionnaire) -> pd.DataFrame:
    """Every ``:=`` effect of the fitted model (indirect and total), with bootstrap columns when present.

    Returns
    -------
    DataFrame
        ``name, expression, kind (indirect/total/defined), hypothesis, est, std_all, se, z,
        pvalue, ci_lower, ci_upper`` and the bootstrap columns (NaN without a bootstrap).
    """
    from .questionnaire import load_questionnaire

    q = load_questionnaire(questionnaire)
    params = result if isinstance(result, pd.DataFrame) else result.parameters
    med = {h.lhs: h for h in q.hypotheses if h.kind == "mediation"}
    rows = []
    for _, r in params[params["op"] == ":="].iterrows():
        name = r["lhs"]
        kind = "indirect" if name in med else ("total" if str(name).startswith("total") else "defined")
        row = {"name": name, "expression": r["rhs"], "kind": kind,
               "hypothesis": med[name].id if name in med else "",
               "path": med[name].path if name in med else ""}
        for c in ["est", "std_all", "se", "z", "pvalue", "ci_lower", "ci_upper"] + BOOT_COLUMNS + STD_BOOT_COLUMNS:
            row[c] = _num(r, c)
        if not isinstance(result, pd.DataFrame) and np.isfinite(row["boot_se"]):
            ends = None
            if name in med:
                ends = (med[name].chain[0], med[name].chain[-1])
            else:   # a total effect adds up indirect effects of one X on one Y
                for h in med.values():
                    if h.rhs and h.rhs in str(r["rhs"]):
                        ends = (h.chain[0], h.chain[-1])
                        break
            if ends:
                row.update(standardized_bootstrap(result, ends[0], ends[1], name, row["std_all"]))
        rows.append(row)
    cols = ["name", "expression", "kind", "hypothesis", "path", "est", "std_all", "se", "z", "pvalue",
            "ci_lower", "ci_upper"] + BOOT_COLUMNS + STD_BOOT_COLUMNS
    return pd.DataFrame(rows, columns=cols)
