"""SEMResult: the parameter table, fit measures, R², modification indices,
warnings, and the ways to show them (``summary()``, ``to_frame()``,
``_repr_html_`` for Jupyter, ``as_latex()``, ``to_dict()`` for the CLI JSON).
"""
from __future__ import annotations

import warnings
from functools import cached_property

import numpy as np
import pandas as pd
from ._lazy import lazy

from .errors import EstimationError, ConvergenceWarning, HeywoodWarning, IdentificationWarning, NotPositiveDefiniteWarning
from .estimation import fit_measures as fm
from .estimation import robust as fiml_post
from ._linalg import is_pd
from .estimation.core import Core, estimate
from ._json import json_value as _clean

PARAM_COLUMNS = ["lhs", "op", "rhs", "group", "label", "free", "est", "se", "z", "pvalue",
                 "ci_lower", "ci_upper", "std_lv", "std_all"]
special = lazy("scipy.special")     # scipy.stats (0.8 s to import) calls these functions
Z975 = 1.959963984540054            # scipy.stats.norm.ppf(0.975)


def append_defined(rows, values, defined, d_est, d_cov, d_std_lv, d_std_all):
    """Append the ``:=`` rows to the row lists ``rows`` = (lhs, op, rhs, group, label, free) in place,
    and return the value arrays ``values`` = (est, se, std_lv, std_all) extended by them (delta-method
    SEs from ``d_cov``)."""
    lhs, op, rhs, group, label, free = rows
    names = [d[0] for d in defined]
    lhs += names
    op += [":="] * len(names)
    rhs += [d[1] for d in defined]
    group += [0] * len(names)
    label += names
    free += [0] * len(names)
    est, se, std_lv, std_all = values
    return (np.concatenate([est, d_est]), np.concatenate([se, np.sqrt(np.clip(np.diag(d_cov), 0, None))]),
            np.concatenate([std_lv, d_std_lv]), np.concatenate([std_all, d_std_all]))


def parameter_frame(lhs, op, rhs, group, label, free, est, se, std_lv, std_all) -> pd.DataFrame:
    """lavaan's ``parameterEstimates(fit, standardized = TRUE)`` columns from the row arrays:
    z, p and the 95 % normal interval added; fixed rows get no test and the value as interval."""
    est, se = np.asarray(est, float), np.asarray(se, float)
    free = np.asarray(free, int)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, est / se, np.nan)
    pvalue = 2 * special.ndtr(-np.abs(z))          # 2 * scipy.stats.norm.sf(|z|)
    ci_lower, ci_upper = est - Z975 * se, est + Z975 * se
    fixed = (free == 0) & (np.asarray(op, dtype=object) != ":=")
    z[fixed] = pvalue[fixed] = np.nan
    ci_lower[fixed] = ci_upper[fixed] = est[fixed]
    return pd.DataFrame({
        "lhs": lhs, "op": op, "rhs": rhs, "group": np.asarray(group, int),
        "label": ["" if (x is None or x != x) else str(x) for x in label], "free": free,
        "est": est, "se": se, "z": z, "pvalue": pvalue, "ci_lower": ci_lower, "ci_upper": ci_upper,
        "std_lv": np.asarray(std_lv, float), "std_all": np.asarray(std_all, float)}, columns=PARAM_COLUMNS)


class FitMeasures(dict):
    """lavaan's fit measures; the robust family (``cfi.robust`` ...) is computed when first read.

    A ``dict``: reading a key it does not hold yet, iterating, ``len`` or ``repr`` completes it.
    """

    def __init__(self, values, lazy=None):
        super().__init__(values)
        self._lazy = lazy

    def _complete(self):
        if self._lazy is not None:
            f, self._lazy = self._lazy, None
            self.update(f())

    def __getitem__(self, key):
        if not dict.__contains__(self, key):
            self._complete()
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        if not dict.__contains__(self, key):
            self._complete()
        return dict.get(self, key, default)

    def __contains__(self, key):
        if not dict.__contains__(self, key):
            self._complete()
        return dict.__contains__(self, key)

    def keys(self):
        self._complete()
        return dict.keys(self)

    def values(self):
        self._complete()
        return dict.values(self)

    def items(self):
        self._complete()
        return dict.items(self)

    def __iter__(self):
        self._complete()
        return dict.__iter__(self)

    def __len__(self):
        self._complete()
        return dict.__len__(self)

    def __repr__(self):
        self._complete()
        return dict.__repr__(self)

    def __eq__(self, other):
        self._complete()
        return dict.__eq__(self, other)

    __hash__ = None

    def copy(self):
        self._complete()
        return dict(self)

    def __reduce__(self):
        self._complete()
        return (dict, (dict(self),))


class SEMResult:
    """The result of :func:`icaf_sem.fit`.

    Attributes
    ----------
    parameters : DataFrame
        lavaan's ``parameterEstimates(fit, standardized = TRUE)``: columns
        ``lhs, op, rhs, group, label, free, est, se, z, pvalue, ci_lower, ci_upper, std_lv, std_all``.
    fit_measures : dict
        lavaan's ``fitMeasures(fit)`` under lavaan's names.
    r2 : dict
        ``lavInspect(fit, "r2")``.
    warnings : list of str
        Statistical trouble found while fitting (also issued with ``warnings.warn``).
    converged : bool

    Notes
    -----
    The fit computes what lavaan's ``sem()`` computes: estimates, standard errors, the model and
    baseline tests (with the Yuan-Bentler scaling for MLR) and the admissibility checks, whose
    warnings are issued at once.  ``parameters`` (with the standardized solution),
    ``fit_measures`` and ``r2`` are computed on first access and cached, as lavaan computes
    ``parameterEstimates()``, ``fitMeasures()`` and ``lavInspect(fit, "r2")`` on request.
    """

    def __init__(self):
        self.warnings: list[str] = []
        self.boot = None
        self.options: dict = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def _from_core(cls, core: Core, model: str, spec: dict, modindices: bool = True):
        self = cls()
        self._core = core
        self.model = model
        self.spec = spec
        self.estimator = core.estimator
        self.missing = core.missing
        self.converged = core.converged
        self.nobs = int(round(core.ntotal))
        self.group = spec.get("group")
        self.group_labels = spec.get("group_labels", [1])
        self._want_mi = modindices
        if not core.converged:
            self._warn(ConvergenceWarning, f"the optimiser did not converge after {core.iterations} iterations; "
                       "estimates are unreliable: check the model (identification, start values) and the data")
        for kind, msg in core.messages:
            if kind == "identification":
                self._warn(IdentificationWarning, msg)
        self._implied_checks()
        self._heywood_checks()
        self._tests()
        return self

    def _tests(self):
        """The model and baseline tests, computed with the fit as lavaan's ``sem()`` does
        (the baseline model, and the scaled tests of ``test=`` / the estimator for both)."""
        from .estimation import tests as T
        core = self._core
        opts = core.options
        self.test_results = T.run_tests(core, opts)
        self._base = self._baseline()
        sc = opts.scaled_test
        self._base_tests = T.run_tests(self._base, opts) if (sc and isinstance(self._base, Core)) else {}
        self._yb = self._yb_base = np.nan
        if sc:
            self._yb = self.test_results[sc].scaling_factor
            self._yb_base = self._base_tests[sc].scaling_factor if sc in self._base_tests else np.nan

    @cached_property
    def tests(self) -> pd.DataFrame:
        """lavaan's ``lavInspect(fit, "test")`` as a table: one row per test (``standard`` first) with
        ``stat, df, pvalue, scaling_factor, shift_parameter, trace_ugamma, trace_ugamma2, boot_length``."""
        rows = [{k.replace(".", "_").lower(): v for k, v in t.to_dict().items()} for t in self.test_results.values()]
        cols = ["test", "stat", "df", "pvalue", "scaling_factor", "shift_parameter", "trace_ugamma",
                "trace_ugamma2", "boot_length"]
        return pd.DataFrame(rows, columns=cols)

    # The tables are computed on first access (and cached), as lavaan computes
    # parameterEstimates(), standardizedSolution() and fitMeasures() on request.
    @cached_property
    def parameters(self) -> pd.DataFrame:
        """lavaan's ``parameterEstimates(fit, standardized = TRUE)`` (see the class docstring)."""
        return self._parameter_table()

    @cached_property
    def fit_measures(self) -> dict:
        """lavaan's ``fitMeasures(fit, "all")`` under lavaan's names."""
        from ._linalg import one_blas_thread
        # the matrices are moderate (p* x p*): one BLAS thread, as in fit(), avoids oversubscription
        with one_blas_thread():
            return self._fit_measures()

    @cached_property
    def r2(self) -> dict:
        """``lavInspect(fit, "r2")``: R² of the endogenous variables."""
        return self._r2()

    @cached_property
    def _row_est(self) -> np.ndarray:
        """Estimate of every parameter-table row: the free parameter's value, or the fixed value."""
        core = self._core
        a = core.pt.arrays()
        free, theta = a["free"], core.theta
        est = np.where(free > 0, theta[np.maximum(free - 1, 0)] if len(theta) else 0.0, a["ustart"])
        return est.astype(float)

    @cached_property
    def _row_std(self):
        """(std_lv, std_all) of every parameter-table row."""
        return self._standardize(self._row_est)

    def _warn(self, cls_, msg):
        self.warnings.append(msg)
        warnings.warn(cls_(msg), stacklevel=3)

    # ------------------------------------------------------------------ implied moments
    def _group_implied(self, g):
        ram = self._core.rams[g]
        sig, mu, *_ = ram.implied_all(self._core.theta)
        return sig, mu

    def _implied_checks(self):
        core = self._core
        for g, ram in enumerate(core.rams):
            sig, _ = ram.implied(core.theta)
            if not is_pd(sig):
                where = f" in group {self.group_labels[g]!r}" if self.group else ""
                self._warn(NotPositiveDefiniteWarning, f"the model-implied covariance matrix{where} is not positive "
                           "definite; the solution is not admissible")
            if ram.lv:
                sall, _ = self._group_implied(g)
                psi = sall[ram.p:, ram.p:]
                if not is_pd(psi, tol=-1e-10):
                    self._warn(NotPositiveDefiniteWarning, "the covariance matrix of the latent variables is not "
                               "positive definite (a latent correlation beyond ±1?); inspect the latent covariances")

    def _heywood_checks(self):
        a = self._core.pt.arrays()
        est = self._row_est
        op, lhs, rhs, grp = a["op"], a["lhs"], a["rhs"], a["group"]
        var = op == "~~"
        for i in np.flatnonzero(var & (lhs == rhs) & (est < 0)):
            where = f" (group {grp[i]})" if self.group else ""
            self._warn(HeywoodWarning, f"Heywood case: the variance of {lhs[i]!r}{where} is negative "
                       f"({est[i]:.4g}); consider whether the item belongs to its construct, fix the variance "
                       "to a small positive value, or collect more data")
        cov = np.flatnonzero(var & (lhs != rhs))
        if len(cov):
            sd_l, sd_r = self._residual_sds(est)
            for i in cov:
                with np.errstate(divide="ignore", invalid="ignore"):
                    std = est[i] / (sd_l[i] * sd_r[i])          # the std.all of the table
                if abs(std) > 1:
                    self._warn(HeywoodWarning, f"the standardized covariance {lhs[i]} ~~ {rhs[i]} is {std:.3f}, "
                               "beyond ±1: the solution is not admissible")

    # ------------------------------------------------------------------ parameter table
    def _parameter_table(self) -> pd.DataFrame:
        """Rows of the parameter table, then the defined (:=) parameters; built on arrays, one
        DataFrame at the end."""
        core = self._core
        pt = core.pt
        a = pt.arrays()
        theta = core.theta
        free = a["free"]
        V = core.vcov if core.vcov is not None else np.full((len(theta), len(theta)), np.nan)
        se_free = np.sqrt(np.clip(np.diag(V), 0, None)) if len(theta) else np.zeros(0)
        est = self._row_est
        se = np.where(free > 0, se_free[np.maximum(free - 1, 0)] if len(theta) else 0.0, 0.0)
        std_lv, std_all = self._row_std
        lhs, op, rhs = list(a["lhs"]), list(a["op"]), list(a["rhs"])
        group, label, free_col = list(a["group"]), list(a["label"]), list(free)
        if pt.defined:
            d_est = self._defined_draws(theta[None, :])[0] if len(theta) else self._defined_values(est)
            if len(theta):
                # central-difference Jacobian of the defined parameters, all perturbations at once
                h = 1e-6 * np.maximum(1.0, np.abs(theta))
                E = np.diag(h)
                vals = self._defined_draws(np.vstack([theta + E, theta - E]))
                J = ((vals[:len(theta)] - vals[len(theta):]) / (2 * h[:, None])).T
            else:
                J = np.zeros((len(d_est), 0))
            d_cov = J @ V @ J.T
            self._defined_cov = d_cov
            est, se, std_lv, std_all = append_defined(
                (lhs, op, rhs, group, label, free_col), (est, se, std_lv, std_all), pt.defined, d_est, d_cov,
                self._defined_values(std_lv), self._defined_values(std_all))
        return parameter_frame(lhs, op, rhs, group, label, free_col, est, se, std_lv, std_all)

    def _label_values(self, est):
        out = {}
        for i, lab in enumerate(self._core.pt.arrays()["label"]):
            if lab and lab not in out:
                out[lab] = est[i]
        return out

    def _defined_values(self, est):
        """Defined (:=) parameters evaluated on a vector of row values (est, std_lv or std_all).

        As lavaan does, each label takes the value of the first row that carries it (a label's own
        row even when ``a == b`` ties it to another parameter).
        """
        pt = self._core.pt
        env = self._label_values(est)
        out = []
        for name, expr, func, used in pt.defined:
            with np.errstate(all="ignore"):
                val = float(func(env))
            env[name] = val
            out.append(val)
        return np.array(out, dtype=float)

    def _defined_draws(self, draws: np.ndarray) -> np.ndarray:
        """Defined (:=) parameters for many free-parameter vectors (rows of ``draws``)."""
        a = self._core.pt.arrays()
        free, ust = a["free"], a["ustart"]
        env = {}
        for i, lab in enumerate(a["label"]):
            if lab and lab not in env:
                env[lab] = draws[:, free[i] - 1] if free[i] > 0 else np.full(len(draws), ust[i])
        cols = []
        for name, expr, func, used in self._core.pt.defined:
            with np.errstate(all="ignore"):
                val = np.broadcast_to(np.asarray(func(env), float), (len(draws),))
            env[name] = val
            cols.append(val)
        return np.column_stack(cols) if cols else np.zeros((len(draws), 0))

    def _residual_sds(self, est):
        """Per row: the square roots of |est| of the lhs's and the rhs's (residual) variance rows in
        the same group (NaN where there is none); std.all of a covariance is est / (sd_l sd_r)."""
        a = self._core.pt.arrays()
        op, lhs, rhs, grp = a["op"], a["lhs"], a["rhs"], a["group"]
        vrows = np.flatnonzero((op == "~~") & (lhs == rhs))
        sd = {(grp[i], lhs[i]): np.sqrt(abs(est[i])) for i in vrows}
        sd_l = np.array([sd.get(k, np.nan) for k in zip(grp, lhs)], dtype=float)
        sd_r = np.array([sd.get(k, np.nan) for k in zip(grp, rhs)], dtype=float)
        return sd_l, sd_r

    def _standardize(self, est):
        """lavaan's std.lv and std.all (``lav_standardize_lv``/``lav_standardize_all``), vectorised."""
        core = self._core
        a = core.pt.arrays()
        std_lv = est.copy()
        std_all = est.copy()
        lvset = set(core.pt.names.lv)
        op, lhs, rhs, grp = a["op"], a["lhs"], a["rhs"], a["group"]
        lhs_lv = np.array([x in lvset for x in lhs])
        rhs_lv = np.array([x in lvset for x in rhs])
        sd_l, sd_r = self._residual_sds(est)      # for the (residual) covariances
        for g, ram in enumerate(core.rams):
            A, S, v = ram.matrices(core.theta)
            B = np.linalg.inv(np.eye(ram.m) - A)
            var = np.diag(B @ S @ B.T).copy()
            with np.errstate(invalid="ignore"):
                sd = np.sqrt(np.where(var > 0, var, np.nan))
            pos = {v_: i for i, v_ in enumerate(ram.vars)}
            sel = grp == ram.group
            li = np.array([pos.get(x, 0) for x in lhs])
            ri = np.array([pos.get(x, 0) for x in rhs])
            with np.errstate(invalid="ignore", divide="ignore"):
                m = sel & (op == "=~")
                std_lv[m] = est[m] * sd[li[m]] / np.where(rhs_lv[m], sd[ri[m]], 1.0)
                std_all[m] = est[m] * sd[li[m]] / sd[ri[m]]
                m = sel & (op == "~")
                std_lv[m] = est[m] * np.where(rhs_lv[m], sd[ri[m]], 1.0) / np.where(lhs_lv[m], sd[li[m]], 1.0)
                std_all[m] = est[m] * sd[ri[m]] / sd[li[m]]
                m = sel & (op == "~~") & (lhs == rhs)
                std_all[m] = est[m] / var[li[m]]
                std_lv[m] = np.where(lhs_lv[m], est[m] / var[li[m]], est[m])
                m = sel & (op == "~~") & (lhs != rhs)
                a, b = sd_l[m], sd_r[m]
                val = est[m] / (a * b)
                std_all[m] = val
                both, one_lv = lhs_lv[m] & rhs_lv[m], lhs_lv[m] ^ rhs_lv[m]
                std_lv[m] = np.where(both, val, np.where(one_lv, est[m] / np.where(lhs_lv[m], a, b), est[m]))
                m = sel & (op == "~1")
                std_all[m] = est[m] / sd[li[m]]
                std_lv[m] = np.where(lhs_lv[m], est[m] / sd[li[m]], est[m])
        return std_lv, std_all

    # ------------------------------------------------------------------ R²
    def _r2(self):
        core = self._core
        out = {}
        for g, ram in enumerate(core.rams):
            A, S, v = ram.matrices(core.theta)
            B = np.linalg.inv(np.eye(ram.m) - A)
            sall = B @ S @ B.T
            a = core.pt.arrays()
            ing = a["group"] == ram.group
            endo = set(a["rhs"][ing & (a["op"] == "=~")]) | set(a["lhs"][ing & (a["op"] == "~")])
            for i, name in enumerate(ram.vars):
                if name in endo:
                    key = name if len(core.rams) == 1 else (name, self.group_labels[g])
                    r2 = float(1.0 - S[i, i] / sall[i, i])
                    # lavaan reports NA for an R² above 1 (a negative residual variance)
                    out[key] = r2 if r2 <= 1.0 else np.nan
        return out

    # ------------------------------------------------------------------ fit measures
    def _fit_measures(self):
        """lavaan's ``fitMeasures(fit, "all")`` for the ML family (lavaan 0.6-14's names, formulas and NA).

        The scaled measures use the estimator's first scaled test (``test=``); the robust ones
        Brosseau-Liard & Savalei (2014) for complete data and Zhang & Savalei's FIML-corrected test
        under missing data, as ``lav_fit_cfi_lavobject`` and ``lav_fit_rmsea_lavobject`` do.
        """
        from .estimation import tests as T
        core = self._core
        pt = core.pt
        ntot = core.ntotal
        G = len(core.datas)
        # lavaan's N for the RMSEA family (lav_utils_get_ntotal): N - G under Wishart likelihood
        N = ntot - G if getattr(core, "likelihood", "normal") == "wishart" else ntot
        x2, df = core.chisq, core.df
        k = pt.npar - core.n_eq          # lavaan counts the free parameters less the equality constraints
        nan = np.nan
        base = self._base
        x2n, dfn = base.chisq, base.df
        sc = core.options.scaled_test
        tst = self.test_results.get(sc) if sc else None
        tsb = self._base_tests.get(sc) if sc else None
        scaled = tst is not None
        robust_test = scaled and sc in T.ROBUST_TESTS
        fiml = core.missing in ("ml", "ml.x")
        robust = robust_test or fiml

        def pval(stat, d):
            return float(special.chdtrc(d, stat)) if (d > 0 and np.isfinite(stat)) else nan

        out = {"npar": k, "fmin": x2 / (2 * N), "chisq": x2, "df": df, "pvalue": pval(x2, df)}
        c = cn = nan
        x2s, dfs, x2ns, dfns = x2, df, x2n, dfn
        if scaled:
            c = tst.scaling_factor
            cn = tsb.scaling_factor if tsb is not None else nan
            # lavaan: no scaling at df = 0 (the scaled statistic is the standard one)
            if df > 0:
                x2s, dfs = tst.stat, tst.df
            if dfn > 0 and tsb is not None:
                x2ns, dfns = tsb.stat, tsb.df
            out.update({"chisq.scaled": x2s, "df.scaled": dfs, "pvalue.scaled": pval(x2s, dfs),
                        "chisq.scaling.factor": c if df > 0 else nan})
        out.update({"baseline.chisq": x2n, "baseline.df": dfn, "baseline.pvalue": pval(x2n, dfn)})
        if scaled:
            out.update({"baseline.chisq.scaled": x2ns, "baseline.df.scaled": dfns,
                        "baseline.pvalue.scaled": pval(x2ns, dfns), "baseline.chisq.scaling.factor": cn})
        level, close_h0, notclose_h0 = 0.90, 0.05, 0.08

        def robust_family():
            """The robust statistic, its df and c-hat (model and baseline) and the indices built on them;
            computed when one is first read (the FIML-corrected ones cost more than the fit itself)."""
            # lav_fit_rmsea_lavobject: c3 (c.hat3) enters the robust RMSEA, while its interval and
            # p-values take the scaled statistic with the test's own scaling factor (c.hat); the two
            # differ for scaled.shifted, where c.hat3 = a (df - b) / df
            xx3 = df3 = c3 = c_hat = xx3s = xx3n = c3n = nan
            if fiml:
                try:
                    xx3, df3, c3, xx3n, c3n = fiml_post.fiml_corrected(core, base, version="V3" if scaled else "V6")
                    xx3s, c_hat = xx3 / c3, c3
                except (np.linalg.LinAlgError, ValueError):
                    pass
            elif robust_test:
                xx3, df3, xx3n = x2, df, x2n
                c3 = T.robust_c_hat(tst, df)
                c3n = T.robust_c_hat(tsb, dfn) if tsb is not None else nan
                c_hat = tst.scaling_factor
                xx3s = tst.stat if df > 0 else x2
            # complete data: the scaled statistic and the scaling factor
            return {"cfi.robust": fm.cfi(xx3, df, xx3n, dfn, c3, c3n),
                    "tli.robust": fm.tli(xx3, df, xx3n, dfn, c3, c3n),
                    "nnfi.robust": fm.nnfi(xx3, df, xx3n, dfn, c3, c3n),
                    "rni.robust": fm.rni(xx3, df, xx3n, dfn, c3, c3n),
                    "rmsea.robust": fm.rmsea(xx3, df3, N, G, c3),
                    **dict(zip(("rmsea.ci.lower.robust", "rmsea.ci.upper.robust"),
                               fm.rmsea_ci(xx3s, df3, N, G, c_hat, level=level))),
                    "rmsea.pvalue.robust": fm.rmsea_pvalue(xx3s, df3, N, G, c_hat, h0=close_h0),
                    "rmsea.notclose.pvalue.robust": fm.rmsea_pvalue(xx3s, df3, N, G, c_hat, h0=notclose_h0,
                                                                    close=False)}
        out["cfi"] = fm.cfi(x2, df, x2n, dfn)
        out["tli"] = fm.tli(x2, df, x2n, dfn)
        if scaled:
            out["cfi.scaled"] = fm.cfi(x2s, dfs, x2ns, dfns)
            out["tli.scaled"] = fm.tli(x2s, dfs, x2ns, dfns)
        for suffix, (a, da, b, db) in [("", (x2, df, x2n, dfn))] + (
                [(".scaled", (x2s, dfs, x2ns, dfns))] if scaled else []):
            out["nnfi" + suffix] = fm.nnfi(a, da, b, db)
            out["rfi" + suffix] = fm.rfi(a, da, b, db)
            out["nfi" + suffix] = fm.nfi(a, b, da, db)
            out["pnfi" + suffix] = fm.pnfi(a, da, b, db)
            out["ifi" + suffix] = fm.ifi(a, da, b, db)
            out["rni" + suffix] = fm.rni(a, da, b, db)
        out["logl"] = core.logl
        out["unrestricted.logl"] = core.logl_h1
        out["aic"] = -2 * core.logl + 2 * k
        out["bic"] = -2 * core.logl + k * np.log(ntot)
        out["ntotal"] = int(round(ntot))
        out["bic2"] = -2 * core.logl + k * np.log((ntot + 2) / 24)
        if scaled and "trace_h1" in tst.extra:
            from .estimation.core import n_moments
            h1, h0 = tst.extra["trace_h1"], tst.extra["trace_h0"]
            out["scaling.factor.h1"] = h1 / n_moments(pt, core.datas) if df > 0 else nan
            # lavaan divides by the free parameters before equality constraints (nx.free)
            nx_free = int((pt.arrays()["free"] > 0).sum())
            out["scaling.factor.h0"] = h0 / nx_free if (df > 0 and nx_free) else nan
        # RMSEA family (lav_fit_rmsea_lavobject)
        out["rmsea"] = fm.rmsea(x2, df, N, G)
        out["rmsea.ci.lower"], out["rmsea.ci.upper"] = fm.rmsea_ci(x2, df, N, G, level=level)
        out["rmsea.ci.level"] = level
        out["rmsea.pvalue"] = fm.rmsea_pvalue(x2, df, N, G, h0=close_h0)
        out["rmsea.close.h0"] = close_h0
        out["rmsea.notclose.pvalue"] = fm.rmsea_pvalue(x2, df, N, G, h0=notclose_h0, close=False)
        out["rmsea.notclose.h0"] = notclose_h0
        if scaled:
            # lav_fit_rmsea_lavobject: scaled.shifted takes its statistic on df; every other scaled
            # test the unscaled statistic against the trace of U Gamma (df x c for Satorra-Bentler
            # and Yuan-Bentler; tr(U Gamma) itself for mean.var.adjusted, whose c is tr / df-hat)
            if sc == "scaled.shifted":
                xx2, df2 = x2s, dfs
            elif sc == "mean.var.adjusted":
                tr = getattr(tst, "trace_ugamma", nan)
                xx2, df2 = x2, (tr if (df > 0 and np.isfinite(tr) and tr != 0) else nan)
            else:
                xx2, df2 = x2, (c * df if (df > 0 and np.isfinite(c) and c * df != 0) else nan)
            out["rmsea.scaled"] = fm.rmsea(xx2, df2, N, G)
            out["rmsea.ci.lower.scaled"], out["rmsea.ci.upper.scaled"] = fm.rmsea_ci(xx2, df2, N, G, level=level)
            out["rmsea.pvalue.scaled"] = fm.rmsea_pvalue(xx2, df2, N, G, h0=close_h0)
            out["rmsea.notclose.pvalue.scaled"] = fm.rmsea_pvalue(xx2, df2, N, G, h0=notclose_h0, close=False)
        # residual-based measures, against the saturated (h1) moments
        res_g, gfi_g = [], []
        nel = 0
        ms = pt.meanstructure
        for g, ram in enumerate(core.rams):
            S, ybar = core.h1[g]
            M, mu = ram.implied(core.theta)
            res_g.append(fm.residual_summaries(S, M, ybar if ms else None, mu if ms else None))
            if core.datas[g].has_missing:
                gfi_g.append(fiml_post.gfi_missing(core.datas[g], M, mu, ram.x_block, ram.x_idx))
            else:
                gfi_g.append(fm.gfi_lisrel(S, M, ybar if ms else None, mu if ms else None,
                                           x_block=ram.x_block, x_idx=ram.x_idx))
            p = S.shape[0]
            nel += p * (p + 1) // 2 + (p if ms else 0)
        w = np.array([d.N for d in core.datas]) / ntot
        for name in ("rmr", "rmr_nomean"):
            out[name] = float(np.dot(w, [r[name] for r in res_g]))
        out["srmr"] = float(np.dot(w, [r["srmr_bentler"] for r in res_g]))
        for name in ("srmr_bentler", "srmr_bentler_nomean", "crmr", "crmr_nomean", "srmr_mplus",
                     "srmr_mplus_nomean"):
            out[name] = float(np.dot(w, [r[name] for r in res_g]))
        # Hoelter's N is NA for df = 0 and chi-square 0; lavaan's complete-data statistic of a
        # saturated model is 2N F_ML, a rounding residue above machine epsilon (its CN is then 1),
        # while under FIML the statistic is exactly 0
        x2_cn = x2 if (df > 0 or fiml) else max(x2, 1.0)
        out["cn_05"] = fm.cn(x2_cn, df, N, 0.05)
        out["cn_01"] = fm.cn(x2_cn, df, N, 0.01)
        out["gfi"] = float(np.dot(w, gfi_g))
        out["agfi"] = fm.agfi(out["gfi"], nel, df)
        out["pgfi"] = fm.pgfi(out["gfi"], nel, df)
        out["mfi"] = fm.mfi(x2, df, N)
        out["ecvi"] = fm.ecvi(x2, k, N)
        return FitMeasures(out, robust_family if robust else None)

    def _baseline(self):
        """The independence model of lavaan (variances, and means under a mean structure).

        Complete data with ML: its estimates are the sample variances (and means), so only its
        test is computed, in closed form (:class:`BaselineTest`).  Otherwise (FIML, or MLR, whose
        robust indices need the fitted baseline) the model is fitted.
        """
        core = self._core
        if core.options.scaled_test is None and core.missing in ("listwise", "pairwise"):
            return BaselineTest.closed_form(core)
        return self._baseline_fit()

    def _baseline_fit(self) -> Core:
        """Fit lavaan's independence model (see :meth:`_baseline`); once per estimation.reuse.fit_session()."""
        from .estimation import reuse
        core = self._core
        pt, names, session = core.pt, core.pt.names, reuse.current()
        key = (tuple(names.ov), tuple(names.ov_x), tuple(names.ov_x_free), pt.ngroups, bool(pt.meanstructure),
               core.estimator, core.missing, repr(core.options))
        base = session.get("baseline", key, core.datas) if session else None
        if base is None:
            base = self._baseline_fit_new()
            if session:
                session.put("baseline", key, core.datas, base)
        return base

    def _baseline_fit_new(self) -> Core:
        from .model.partable import ModelNames, ParTable as PT
        core = self._core
        pt = core.pt
        names = pt.names
        ov_x = names.ov_x
        rows = []
        for g in range(1, pt.ngroups + 1):
            for v in [v for v in names.ov if v not in ov_x]:
                rows.append(dict(lhs=v, op="~~", rhs=v, group=g, user=0, exo=0, ustart=np.nan))
            for j in range(len(ov_x)):
                for i in range(j, len(ov_x)):
                    rows.append(dict(lhs=ov_x[j], op="~~", rhs=ov_x[i], group=g, user=0, exo=1, ustart=np.nan))
            xf = names.ov_x_free           # fixed_x=False: the covariates covary freely, as in lavaan
            for j in range(len(xf)):
                for i in range(j + 1, len(xf)):
                    rows.append(dict(lhs=xf[j], op="~~", rhs=xf[i], group=g, user=0, exo=0, ustart=np.nan))
            if pt.meanstructure:
                for v in names.ov:
                    rows.append(dict(lhs=v, op="~1", rhs="", group=g, user=0, exo=int(v in ov_x), ustart=np.nan))
        t = pd.DataFrame(rows)
        free = np.zeros(len(t), int)
        k = 0
        for i in range(len(t)):
            if t.at[i, "exo"] == 0:
                k += 1
                free[i] = k
        t["free"] = free
        t["id"] = np.arange(1, len(t) + 1)
        t["label"] = ""
        t["plabel"] = ""
        t["start"] = None
        t["line"] = 0
        bnames = ModelNames(lv=[], ov=names.ov, ov_ind=[], ov_y=[], ov_x=ov_x, lv_x=[], lv_y=[], eqs_y=[], eqs_x=[],
                            ov_x_free=list(names.ov_x_free))
        bpt = PT(table=t, names=bnames, ngroups=pt.ngroups, group_labels=pt.group_labels,
                 meanstructure=pt.meanstructure)
        # the scaled baseline tests compute the information matrices they need
        return estimate(bpt, core.datas, estimator=core.estimator, missing=core.missing, h1=core.h1,
                        compute_se=False, options=core.options)

    # ------------------------------------------------------------------ per-group fit
    @cached_property
    def fit_by_group(self) -> pd.DataFrame:
        """Per-group contributions to the test: ``group, label, nobs, chisq, srmr`` (+ ``chisq_scaled`` for MLR).

        ``chisq`` is lavaan's ``lavInspect(fit, "test")$standard$stat.group`` (the groups sum to the
        model chi-square); ``srmr`` is each group's SRMR, whose N-weighted mean is the reported SRMR.
        """
        from .estimation.core import _h1_logl
        core = self._core
        ms = core.pt.meanstructure
        rows = []
        for g, (d, ram) in enumerate(zip(core.datas, core.rams)):
            S, ybar = core.h1[g]
            M, mu = ram.implied(core.theta)
            if not ms:
                mu = ybar
            x2 = 2.0 * (_h1_logl(d, core.h1[g], True) - _h1_logl(d, (M, mu), True))
            rows.append({"group": g + 1, "label": self.group_labels[g], "nobs": int(d.N), "chisq": max(x2, 0.0),
                         "srmr": fm.srmr_bentler(S, M, ybar if ms else None, mu if ms else None)})
        out = pd.DataFrame(rows)
        # read without completing the lazily computed (robust) measures: the factor is eager when it exists
        c = dict.get(self.fit_measures, "chisq.scaling.factor")
        if c is not None and np.isfinite(c):
            out["chisq_scaled"] = out["chisq"] / c
        return out

    # ------------------------------------------------------------------ factor scores
    def predict(self, method: str = "regression") -> pd.DataFrame:
        """Factor scores (lavaan's ``lavPredict(fit, method = ...)``); see :func:`icaf_sem.factor_scores`."""
        from .scores import factor_scores
        return factor_scores(self, method=method)

    # ------------------------------------------------------------------ modification indices
    @cached_property
    def modindices(self) -> pd.DataFrame:
        """lavaan's ``modindices(fit)``: lhs, op, rhs, group, mi, epc, sepc_lv, sepc_all."""
        from .estimation.modindices import modification_indices
        if self._core.constraints:
            from .errors import ModelSpecificationError
            raise ModelSpecificationError("modification indices of a model with general (in)equality constraints "
                                          "are not supported (lavaan's need the constrained score test); refit "
                                          "without the constraints to inspect them")
        from ._linalg import one_blas_thread
        with one_blas_thread():
            return modification_indices(self)

    # ------------------------------------------------------------------ bootstrap
    def _bootstrap_vcov(self, boot):
        """se = "bootstrap": the covariance of the draws with divisor R (lavaan's lav_model_nvcov_bootstrap)."""
        core = self._core
        if boot.n_ok < 2:
            raise EstimationError(f"only {boot.n_ok} bootstrap draws converged; standard errors cannot be computed")
        core.vcov = np.cov(boot.draws, rowvar=False, ddof=0).reshape(core.npar, core.npar)
        self.__dict__.pop("parameters", None)

    def _attach_test(self, res):
        """Add a resampling test (Bollen-Stine) to ``test_results``."""
        self.test_results[res.test] = res
        self.__dict__.pop("tests", None)
        if res.extra.get("n_failed"):
            self.warnings.append(f"{res.extra['n_failed']} Bollen-Stine bootstrap draws did not converge and were "
                                 "left out")

    def _attach_bootstrap(self, boot):
        self.boot = boot
        self.parameters = boot.annotate(self.parameters)
        for msg in boot.messages:
            self.warnings.append(msg)

    # ------------------------------------------------------------------ presentation
    @property
    def sample_cov(self) -> pd.DataFrame:
        core = self._core
        S, _ = core.h1[0]
        return pd.DataFrame(S, index=core.datas[0].ov, columns=core.datas[0].ov)

    @property
    def implied_cov(self) -> pd.DataFrame:
        core = self._core
        M, _ = core.rams[0].implied(core.theta)
        return pd.DataFrame(M, index=core.datas[0].ov, columns=core.datas[0].ov)

    def latent_cov(self, standardized: bool = False, group: int = 1) -> pd.DataFrame:
        """Model-implied covariance (or correlation) matrix of the latent variables."""
        core = self._core
        ram = core.rams[group - 1]
        sall, _ = self._group_implied(group - 1)
        psi = sall[ram.p:, ram.p:]
        if standardized:
            d = np.sqrt(np.diag(psi))
            psi = psi / np.outer(d, d)
        return pd.DataFrame(psi, index=ram.lv, columns=ram.lv)

    def to_frame(self) -> pd.DataFrame:
        """The parameter table (a copy)."""
        return self.parameters.copy()

    def fit_table(self) -> pd.DataFrame:
        keys = ["npar", "ntotal", "chisq", "df", "pvalue", "chisq.scaled", "chisq.scaling.factor", "pvalue.scaled",
                "cfi", "tli", "cfi.robust", "tli.robust", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
                "rmsea.robust", "srmr", "aic", "bic"]
        return pd.DataFrame([(k, self.fit_measures[k]) for k in keys if k in self.fit_measures],
                            columns=["measure", "value"])

    def _missing_label(self) -> str:
        opt = self.options.get("missing", self.missing)
        return {"ml": "FIML", "ml.x": "FIML, ml.x", "pairwise": "pairwise"}.get(opt, "listwise")

    def summary(self) -> str:
        """lavaan's ``summary(fit, standardized = TRUE)`` layout; shown as text when left bare in a notebook."""
        from .report.display import lavaan_summary
        return lavaan_summary(self)

    def __repr__(self):
        fmv = self.fit_measures
        return (f"<SEMResult {self.estimator}/{self.missing} N={self.nobs} npar={fmv['npar']} "
                f"chisq={fmv['chisq']:.2f} df={fmv['df']} cfi={fmv['cfi']:.3f} rmsea={fmv['rmsea']:.3f}>")

    def _repr_html_(self):
        from .report.display import html_table
        head = (f"{self.estimator} ({'FIML' if self.missing == 'ml' else 'listwise'}), N = {self.nobs}, "
                f"converged: {self.converged}")
        return (html_table(self.fit_table(), title="Fit measures", note=head, warnings=self.warnings)
                + html_table(self.parameters, title="Parameter estimates"))

    def as_latex(self) -> str:
        return self.parameters.to_latex(index=False, float_format="%.3f", na_rep="")

    def to_dict(self) -> dict:
        """The CLI JSON layout (``../shared/README.md``)."""
        params = []
        for r in self.parameters.to_dict("records"):
            row = {k: _clean(r[k]) for k in ["lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue",
                                             "ci_lower", "ci_upper", "std_lv", "std_all"]}
            row["group"] = int(r["group"]) if r["op"] != ":=" else 1
            if self.boot is not None and _clean(r.get("boot_pct_lower")) is not None:
                row["boot_se"] = _clean(r["boot_se"])
                row["boot_ci"] = {"percentile": {"lower": _clean(r["boot_pct_lower"]),
                                                 "upper": _clean(r["boot_pct_upper"])},
                                  "bias_corrected": {"lower": _clean(r["boot_bc_lower"]),
                                                     "upper": _clean(r["boot_bc_upper"])}}
            params.append(row)
        r2 = {}
        for k, v in self.r2.items():
            r2[k if isinstance(k, str) else f"{k[0]}.{k[1]}"] = _clean(v)
        out = {"parameters": params, "fit": {k: _clean(v) for k, v in self.fit_measures.items()},
               "r2": r2, "converged": bool(self.converged), "warnings": list(self.warnings),
               "estimator": self.estimator, "missing": self.options.get("missing", self.missing),
               "nobs": self.nobs, "options": dict(self.options),
               "se": self._core.options.se, "information": self._core.options.information,
               "tests": [{k: _clean(v) for k, v in t.to_dict().items()} for t in self.test_results.values()]}
        if self._want_mi:
            try:
                mi = self.modindices
                out["modindices"] = [{k: _clean(v) for k, v in m.items()} for m in mi.to_dict("records")]
            except Exception as exc:  # an MI failure must not lose the fit
                out["modindices"] = []
                out["warnings"].append(f"modification indices could not be computed: {exc}")
        if self.boot is not None:
            out["bootstrap"] = self.boot.summary_dict()
        return out


class BaselineTest:
    """Test of lavaan's independence (baseline) model fitted to complete data by ML.

    Its ML estimates are the sample variances of the endogenous variables and the sample means;
    the exogenous covariates (fixed.x) keep their sample covariance block.  The implied matrix is
    then blockdiag(diag(S_yy), S_xx), tr(S Sigma^-1) = p, and per group
    chi-square = N_g (sum_y log s_ii + log|S_xx| - log|S|).
    """

    def __init__(self, chisq: float, df: int):
        self.chisq, self.df = chisq, df

    @classmethod
    def closed_form(cls, core: Core) -> "BaselineTest":
        from .estimation.core import n_moments
        ov_x = core.pt.names.ov_x
        # fixed_x=False: the covariates' block is free (variances, covariances and means counted)
        ov_xf = core.pt.names.ov_x_free
        chisq, npar = 0.0, 0
        for g, d in enumerate(core.datas):
            S = core.h1[g][0]
            p = S.shape[0]
            xi = [d.ov.index(v) for v in list(ov_x) + list(ov_xf) if v in d.ov]
            yi = [i for i in range(p) if i not in xi]
            ld_x = np.linalg.slogdet(S[np.ix_(xi, xi)])[1] if xi else 0.0
            n_g = d.N - 1.0 if core.likelihood == "wishart" else d.N
            chisq += n_g * (np.log(np.diag(S)[yi]).sum() + ld_x - np.linalg.slogdet(S)[1])
            npar += len(yi) * (2 if core.pt.meanstructure else 1)     # variances (and means) of the y's
            kf = len(ov_xf)
            npar += kf * (kf + 1) // 2 + (kf if core.pt.meanstructure else 0)
        return cls(max(float(chisq), 0.0), n_moments(core.pt, core.datas) - npar)
