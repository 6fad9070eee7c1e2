"""The parameter table: the single description of a model and of its results.

Built from parsed lavaan syntax with lavaan's ``sem()``/``cfa()`` defaults
(``lavaan::lavaanify(model, auto = TRUE)``): the first loading of each latent
variable is fixed to 1 (or, with ``std_lv``, latent variances are fixed to 1),
residual variances are free, exogenous latent variables covary, the residuals
of pure dependent variables covary, exogenous observed covariates are fixed to
their sample moments (``fixed.x = TRUE``), single-indicator residuals are fixed
to 0, and with a mean structure observed intercepts are free and latent means
fixed to 0.  The table is a :class:`pandas.DataFrame` with one row per
parameter per group; estimation only adds numbers to it.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ModelSpecificationError, ModelSpecificationWarning, ModelSyntaxError
from .syntax import Statement, compile_expression, parse_model

GROUP_EQUAL_OPTIONS = ("loadings", "intercepts", "means", "residuals", "residual.covariances",
                       "lv.variances", "lv.covariances", "regressions")


def _uniq(seq):
    seen, out = set(), []
    for s in seq:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


@dataclass
class ModelNames:
    """Variable roles, as lavaan's ``lav_partable_vnames`` defines them."""
    lv: list
    ov: list
    ov_ind: list
    ov_y: list
    ov_x: list
    lv_x: list
    lv_y: list
    eqs_y: list
    eqs_x: list
    ov_x_random: list = field(default_factory=list)
    # exogenous covariates estimated because fixed_x=False: their covariances are free parameters
    # (also in lavaan's independence model)
    ov_x_free: list = field(default_factory=list)

    @property
    def ov_nox(self):
        return [v for v in self.ov if v not in self.ov_x]


def variable_names(stmts: list[Statement]) -> ModelNames:
    lv = _uniq(s.lhs for s in stmts if s.op == "=~")
    v_ind = _uniq(s.rhs for s in stmts if s.op == "=~")
    eqs_y = _uniq(s.lhs for s in stmts if s.op == "~")
    eqs_x = _uniq(s.rhs for s in stmts if s.op == "~")
    ov_ind = [v for v in v_ind if v not in lv]
    ov_y_all = [v for v in eqs_y if v not in lv and v not in ov_ind]
    ov_x = [v for v in eqs_x if v not in lv and v not in ov_ind and v not in ov_y_all]
    # lavaan (lav_partable_vnames): a covariate whose variance, covariance or intercept the syntax
    # writes is random, not fixed.x: it leaves ov.x and its moments are estimated
    user_moment = {x for s in stmts if s.op == "~~" for x in (s.lhs, s.rhs)} | \
        {s.lhs for s in stmts if s.op == "~1"}
    ov_x_random = [v for v in ov_x if v in user_moment]
    ov_x = [v for v in ov_x if v not in user_moment]
    extra = []
    for s in stmts:
        if s.op == "~~":
            extra += [x for x in (s.lhs, s.rhs) if x not in lv]
        elif s.op == "~1" and s.lhs not in lv:
            extra.append(s.lhs)
    ov = _uniq(ov_ind + ov_y_all + ov_x)
    ov = ov + [v for v in _uniq(extra) if v not in ov]
    lv_x = [v for v in lv if v not in v_ind and v not in eqs_y]
    ov_y = [v for v in ov if v in eqs_y and v not in v_ind and v not in eqs_x and v not in lv]
    lv_y = [v for v in lv if v in eqs_y and v not in v_ind and v not in eqs_x]
    return ModelNames(lv=lv, ov=ov, ov_ind=ov_ind, ov_y=ov_y, ov_x=ov_x, lv_x=lv_x, lv_y=lv_y,
                      eqs_y=eqs_y, eqs_x=eqs_x, ov_x_random=ov_x_random)


@dataclass
class ParTable:
    """A parameter table plus what estimation needs to read it.

    Attributes
    ----------
    table : DataFrame
        Columns ``id, lhs, op, rhs, group, user, free, ustart, exo, label, plabel, start``;
        ``free`` is 0 for fixed rows and otherwise the index (1-based) into the
        free-parameter vector; rows sharing a label share that index.
    names : ModelNames
    defined : list of (name, expression, func, labels)
    ngroups : int
    group_labels : list
    """
    table: pd.DataFrame
    names: ModelNames
    defined: list = field(default_factory=list)
    ngroups: int = 1
    group_labels: list = field(default_factory=lambda: [1])
    meanstructure: bool = False
    constraints: list = field(default_factory=list)    # (kind "eq"/"ineq", text, func, labels, line)

    @property
    def npar(self) -> int:
        return self.arrays()["npar"]

    def arrays(self) -> dict:
        """The table's columns as NumPy arrays (``lhs, op, rhs, label``: object; ``group, free, exo``:
        int; ``ustart``: float) plus ``npar``, cached: the hot paths of estimation read them many
        times and a DataFrame column lookup costs far more than the arithmetic.  Code that changes
        ``table`` in place calls :meth:`changed` afterwards.
        """
        cache = self.__dict__.get("_arrays")
        if cache is None or cache["_table"] is not self.table:
            t = self.table
            cache = {c: t[c].to_numpy() for c in ("lhs", "op", "rhs", "label")}
            for c in ("group", "free", "exo"):
                cache[c] = t[c].to_numpy().astype(int)
            cache["ustart"] = t["ustart"].to_numpy(float)
            cache["start"] = t["start"].to_numpy()
            cache["npar"] = int(cache["free"].max()) if len(t) else 0
            cache["_table"] = t
            self.__dict__["_arrays"] = cache
        return cache

    def changed(self):
        """Forget the cached arrays after an in-place change of ``table``."""
        self.__dict__.pop("_arrays", None)


def build_partable(model: str | list[Statement], *, std_lv: bool = False, meanstructure: bool = False,
                   fixed_x: bool = True, ngroups: int = 1, group_labels=None, group_equal=(),
                   group_partial=(), auto_fix_first: bool | None = None, orthogonal: bool = False,
                   model_type: str = "sem") -> ParTable:
    """Build the parameter table for ``model`` with lavaan's ``sem()`` defaults.

    Parameters
    ----------
    model : str
        lavaan model syntax.
    std_lv : bool
        Fix latent (residual) variances to 1 and free all loadings (lavaan ``std.lv = TRUE``).
    meanstructure : bool
        Add intercepts (observed: free, latent: fixed to 0).
    fixed_x : bool
        Treat exogenous observed covariates as fixed (lavaan ``fixed.x = TRUE``); with False their
        variances, covariances (and means) are free parameters.
    ngroups, group_labels, group_equal, group_partial
        Multi-group settings with lavaan's meaning (a plain string is one kind).
    auto_fix_first : bool
        Fix the first loading of each latent variable to 1 (lavaan ``auto.fix.first``); None is
        lavaan's default, ``not std_lv``.
    orthogonal : bool
        Fix the covariances among latent variables to 0 (lavaan ``orthogonal = TRUE``).
    model_type : {"sem", "growth"}
        ``"growth"``: lavaan's ``growth()`` defaults, observed intercepts fixed to 0 and latent
        means free (with a mean structure); ``"sem"`` is ``sem()``/``cfa()``.

    Examples
    --------
    >>> pt = build_partable("f =~ x1 + x2 + x3")
    >>> pt.table[["lhs", "op", "rhs", "free"]].values.tolist()[:2]
    [['f', '=~', 'x1', 0], ['f', '=~', 'x2', 1]]

    The R equivalent is ``lavaanify("f =~ x1 + x2 + x3", auto = TRUE)``.
    """
    stmts = parse_model(model) if isinstance(model, str) else model
    group_labels = list(group_labels) if group_labels is not None else list(range(1, ngroups + 1))
    group_equal = (group_equal,) if isinstance(group_equal, str) else tuple(group_equal)
    group_partial = (group_partial,) if isinstance(group_partial, str) else tuple(group_partial)
    if model_type not in ("sem", "growth"):
        raise ModelSpecificationError(f"model_type={model_type!r} is not known; use 'sem' (sem()/cfa()) or "
                                      "'growth' (growth())")
    growth = model_type == "growth"
    if auto_fix_first is None:
        auto_fix_first = not std_lv
    if growth:
        meanstructure = True
    for ge in group_equal:
        if ge not in GROUP_EQUAL_OPTIONS:
            raise ModelSpecificationError(f"group_equal={ge!r} is not known; use any of {', '.join(GROUP_EQUAL_OPTIONS)}")
    par_stmts = [s for s in stmts if s.op in ("=~", "~", "~~", "~1")]
    if not par_stmts:
        raise ModelSyntaxError("the model has no =~, ~ or ~~ statement; nothing to estimate")
    names = variable_names(par_stmts)
    if any(s.op == "~1" for s in par_stmts):
        meanstructure = True
    lv, ov_x = names.lv, names.ov_x if fixed_x else []
    # with fixed_x=False the covariates' variances and covariances are free parameters (lavaan
    # adds the covariances among ov.x whatever fixed.x is, and fixes them only with fixed.x = TRUE)
    x_random_cov = [] if fixed_x else list(names.ov_x)
    if not fixed_x:
        names.ov_x_free = x_random_cov
        names.ov_x = []
    elif names.ov_x_random:
        warnings.warn(ModelSpecificationWarning(
            f"the model syntax gives variances, covariances or intercepts of the exogenous covariate(s) "
            f"{', '.join(names.ov_x_random)}: they are now random (estimated, as lavaan does), which adds "
            "free parameters; remove those formulas to keep them fixed (fixed_x), or pass fixed_x=False"))

    rows = []

    def mod_value(lst, g, default=None):
        if not lst:
            return default
        if len(lst) == 1:
            return lst[0]
        if len(lst) != ngroups:
            raise ModelSyntaxError(f"a modifier c(...) has {len(lst)} values but there are {ngroups} groups")
        return lst[g]

    # 1. user rows (duplicates: last one wins, as lavaan warns and merges)
    for g in range(ngroups):
        seen = {}
        for s in par_stmts:
            key = (s.lhs, s.op, s.rhs)
            if s.op == "~~" and (s.rhs, s.op, s.lhs) in seen:
                key = (s.rhs, s.op, s.lhs)
            m = s.modifier
            fixed = mod_value(m.fixed, g)
            free_flag = mod_value(m.free, g, False)
            label = mod_value(m.label, g)
            start = mod_value(m.start, g)
            row = dict(lhs=key[0], op=key[1], rhs=key[2], group=g + 1, user=1, fixed=fixed,
                       force_free=bool(free_flag), label=label or "", start=start, exo=0, line=s.line)
            if key in seen:
                rows[seen[key]] = row
            else:
                seen[key] = len(rows)
                rows.append(row)

    present = set()
    for r in rows:
        present.add((r["group"], r["lhs"], r["op"], r["rhs"]))
        if r["op"] == "~~":
            present.add((r["group"], r["rhs"], r["op"], r["lhs"]))

    def add(g, lhs, op, rhs, fixed=None, exo=0):
        if (g, lhs, op, rhs) not in present:
            present.add((g, lhs, op, rhs))
            if op == "~~":
                present.add((g, rhs, op, lhs))
            rows.append(dict(lhs=lhs, op=op, rhs=rhs, group=g, user=0, fixed=fixed, force_free=False,
                             label="", start=None, exo=exo, line=0))

    for g in range(1, ngroups + 1):
        ov_nox = [v for v in names.ov if v not in ov_x]
        for v in ov_nox + lv:
            add(g, v, "~~", v)
        for i in range(len(names.lv_x)):
            for j in range(i + 1, len(names.lv_x)):
                add(g, names.lv_x[i], "~~", names.lv_x[j])
        lvov_y = names.lv_y + names.ov_y
        for i in range(len(lvov_y)):
            for j in range(i + 1, len(lvov_y)):
                add(g, lvov_y[i], "~~", lvov_y[j])
        for j in range(len(ov_x)):
            for i in range(j, len(ov_x)):
                add(g, ov_x[j], "~~", ov_x[i], exo=1)
        for j in range(len(x_random_cov)):
            for i in range(j + 1, len(x_random_cov)):
                add(g, x_random_cov[j], "~~", x_random_cov[i])
        if meanstructure:
            if growth and g == 1 and x_random_cov:
                zeroed = [v for v in x_random_cov if (1, v, "~1", "") not in present]
                if zeroed:
                    warnings.warn(ModelSpecificationWarning(
                        f"growth(): the intercepts of the covariates {', '.join(zeroed)} are fixed to 0 (lavaan's "
                        "growth() default with fixed_x=False); free them in the syntax (e.g. `x1 ~ 1`) or keep "
                        "fixed_x=True"))
            for v in ov_nox:
                add(g, v, "~1", "", fixed=0.0 if growth else None)
            for v in ov_x:
                add(g, v, "~1", "", exo=1)
            for v in lv:
                add(g, v, "~1", "", fixed=None if growth else 0.0)

    # 2. fixing rules (plain lists, arrays and index maps: this runs on every fit; the DataFrame
    #    is made once at the end)
    n = len(rows)
    free = np.ones(n, dtype=bool)
    ustart = np.full(n, np.nan)
    labels_list = [r["label"] or "" for r in rows]
    by_key = {}
    loadings = {}
    for i, r in enumerate(rows):
        if r["fixed"] is not None and not pd.isna(r["fixed"]):
            free[i], ustart[i] = False, r["fixed"]
        if r["exo"] == 1:
            free[i] = False
        by_key.setdefault((r["group"], r["op"], r["lhs"], r["rhs"]), []).append(i)
        if r["op"] == "=~":
            loadings.setdefault((r["group"], r["lhs"]), []).append(i)
    for g in range(1, ngroups + 1):
        for f in lv:
            idx = loadings.get((g, f), [])
            if auto_fix_first and idx:
                first = idx[0]
                # a user-fixed loading anywhere already sets the scale
                if not (~free[idx]).any() and not rows[first]["force_free"]:
                    free[first], ustart[first] = False, 1.0
            if std_lv:
                # lavaan (>= 0.6-4): with equal loadings the latent variances stay free in every
                # group but the first, unless they are held equal too
                free_in_g = g > 1 and "loadings" in group_equal and "lv.variances" not in group_equal
                for i in by_key.get((g, "~~", f, f), []):
                    r = rows[i]
                    if free_in_g and r["user"] == 0:
                        continue
                    if r["user"] == 0 or (free[i] and not r["force_free"] and not r["label"]):
                        free[i], ustart[i] = False, 1.0
            # auto.fix.single: a latent variable with one observed indicator -> residual variance 0
            if len(idx) == 1 and rows[idx[0]]["rhs"] not in lv:
                x = rows[idx[0]]["rhs"]
                for i in by_key.get((g, "~~", x, x), []):
                    if rows[i]["user"] == 0:
                        free[i], ustart[i] = False, 0.0

    if orthogonal:
        lvset0 = set(lv)
        for i, r in enumerate(rows):
            if r["op"] == "~~" and r["user"] == 0 and r["lhs"] != r["rhs"] and r["lhs"] in lvset0 \
                    and r["rhs"] in lvset0:
                free[i], ustart[i] = False, 0.0

    # 3. group equality constraints: shared labels across groups
    if ngroups > 1 and group_equal:
        partial = set()
        for p in group_partial:
            txt = p.replace(" ", "")
            for op in ("=~", "~~", "~1", "~"):
                if op in txt:
                    a, b = txt.split(op, 1)
                    partial.add((a, op, b))
                    if op == "~~":
                        partial.add((b, op, a))
                    break
        lvset = set(lv)

        def kind(r):
            op, lhs, rhs = r["op"], r["lhs"], r["rhs"]
            if op == "=~":
                return "loadings"
            if op == "~":
                return "regressions"
            if op == "~1":
                return "means" if lhs in lvset else "intercepts"
            if op == "~~":
                if lhs in lvset and rhs in lvset:
                    return "lv.variances" if lhs == rhs else "lv.covariances"
                if lhs not in lvset and rhs not in lvset:
                    return "residuals" if lhs == rhs else "residual.covariances"
            return None
        for i, r in enumerate(rows):
            if not free[i] or labels_list[i] or kind(r) not in group_equal:
                continue
            if (r["lhs"], r["op"], r["rhs"]) in partial:
                continue
            labels_list[i] = f".eq.{r['lhs']}{r['op']}{r['rhs']}"
        # lavaan frees latent means in groups > 1 when intercepts are equal
        if "intercepts" in group_equal and meanstructure and not growth:
            for i, r in enumerate(rows):
                if r["op"] == "~1" and r["lhs"] in lvset and r["group"] > 1 and r["user"] == 0 \
                        and "means" not in group_equal:
                    free[i], ustart[i] = True, np.nan
    # 4. free-parameter indices; shared labels share one index.  A label carried by a fixed row
    #    (e.g. the auto-fixed first loading in `f =~ a*x1 + a*x2`) fixes every row with that label,
    #    as lavaan's equality constraint to the fixed value does.
    fixed_labels = {}
    for i in range(n):
        lab = labels_list[i]
        if lab and not free[i] and lab not in fixed_labels:
            fixed_labels[lab] = ustart[i]
    for i in range(n):
        lab = labels_list[i]
        if lab in fixed_labels and free[i]:
            free[i], ustart[i] = False, fixed_labels[lab]
    free_idx = np.zeros(n, dtype=int)
    by_label: dict = {}
    k = 0
    for i in range(n):
        if not free[i]:
            continue
        lab = labels_list[i]
        if lab and lab in by_label:
            free_idx[i] = by_label[lab]
            continue
        k += 1
        free_idx[i] = k
        if lab:
            by_label[lab] = k
    # fixed rows that carry a label used by a free row stay fixed; a label used only by fixed rows is fine
    # group-equality labels only tie the parameters: they are not user labels
    labels_list = ["" if lab.startswith(".eq.") else lab for lab in labels_list]
    # 5. defined parameters and equality constraints between labels
    labels = {lab for lab in labels_list if lab}
    defined = []
    for s in stmts:
        if s.op == ":=":
            if s.lhs in labels:
                raise ModelSyntaxError(f"line {s.line}: the defined parameter {s.lhs!r} has the name of a model label; "
                                       "choose another name")
            func, used = compile_expression(s.expr, labels | {d[0] for d in defined}, f"line {s.line}")
            defined.append((s.lhs, s.expr, func, used))
    lab_arr = np.array(labels_list, dtype=object)
    constraints = []
    for s in stmts:
        if s.op in ("==", "<", ">") and not (s.op == "==" and s.lhs.strip() in labels and s.rhs.strip() in labels):
            # general constraint g(theta) == 0 or g(theta) >= 0 (estimation/constraints.py)
            lhs, rhs = s.lhs.strip(), s.rhs.strip()
            expr = f"({rhs}) - ({lhs})" if s.op == "<" else f"({lhs}) - ({rhs})"
            func, used = compile_expression(expr, labels, f"line {s.line}")
            constraints.append(("eq" if s.op == "==" else "ineq", f"{lhs} {s.op} {rhs}", func, used, s.line))
            continue
        if s.op == "==":
            a, b = s.lhs.strip(), s.rhs.strip()
            if a in labels and b in labels:
                ka = int(free_idx[lab_arr == a].max())
                kb = int(free_idx[lab_arr == b].max())
                if ka and kb and ka != kb:
                    free_idx[free_idx == kb] = ka
                    free_idx = _renumber(free_idx)
    ids = np.arange(1, n + 1)
    t = pd.DataFrame({
        "id": ids, "lhs": [r["lhs"] for r in rows], "op": [r["op"] for r in rows], "rhs": [r["rhs"] for r in rows],
        "group": np.array([r["group"] for r in rows], dtype=int), "user": np.array([r["user"] for r in rows], dtype=int),
        "free": free_idx, "ustart": ustart, "exo": np.array([r["exo"] for r in rows], dtype=int),
        "label": labels_list, "plabel": [f".p{i}." for i in ids],
        "start": pd.Series([r["start"] for r in rows], dtype=object), "line": [r["line"] for r in rows]})
    return ParTable(table=t, names=names, defined=defined, ngroups=ngroups,
                    group_labels=group_labels, meanstructure=meanstructure, constraints=constraints)


def _renumber(free: np.ndarray) -> np.ndarray:
    out = np.zeros_like(free)
    mapping: dict = {}
    for i, f in enumerate(free):
        if f > 0:
            if f not in mapping:
                mapping[f] = len(mapping) + 1
            out[i] = mapping[f]
    return out
