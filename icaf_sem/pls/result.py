"""PLSResult: the outcome of :func:`icaf_sem.pls`, with tidy tables computed on first access."""
from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from . import assess


def _num(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


class PLSResult:
    """Result of a PLS-SEM estimation.

    Tables (pandas DataFrames, numbers unrounded, NaN where a value does not exist):
    ``paths`` (with bootstrap columns when bootstrapped), ``outer`` (loadings and weights),
    ``cross_loadings``, ``r2``, ``reliability`` (alpha, rho_A, rho_C, AVE), ``htmt``, ``htmt2``,
    ``fornell_larcker``, ``f2``, ``vif_inner``, ``vif_outer``, ``construct_correlations``, ``model_fit`` (SRMR, d_ULS, d_G),
    ``effects`` (direct, indirect, total), ``specific_indirect``, ``predict`` (PLSpredict, when asked),
    ``bootstrap`` (every bootstrapped statistic, when asked), ``scores`` (construct scores).
    """

    def __init__(self, spec, est, *, data, items, options, warnings, n_dropped=0, bootstrap=None,
                 predict=None, model="", alias=None):
        self.spec, self._est, self.options, self.warnings = spec, est, dict(options), list(warnings)
        self.model, self.items, self.nobs, self.n_dropped = model, list(items), est.n, n_dropped
        self._data = data
        self._boot = bootstrap
        self._predict = predict
        self._alias = dict(alias or {})

    # ------------------------------------------------------------------ estimation facts
    @property
    def converged(self) -> bool:
        return bool(self._est.converged[0])

    @property
    def iterations(self) -> list:
        return [int(s.iterations[0]) for s in self._est.stages]

    # ------------------------------------------------------------------ tables
    @cached_property
    def paths(self) -> pd.DataFrame:
        df = assess.path_table(self._est)
        if self._boot is not None:
            bt = self._boot["table"]
            bt = bt[bt["kind"] == "path"][["lhs", "rhs", "boot_mean", "se", "t", "pvalue", "ci_lower", "ci_upper"]]
            df = df.merge(bt, on=["lhs", "rhs"], how="left")
        return df

    @cached_property
    def outer(self) -> pd.DataFrame:
        return assess.outer_table(self._est)

    @property
    def loadings(self) -> pd.DataFrame:
        return self.outer[["lhs", "op", "rhs", "loading"]].rename(columns={"loading": "est"})

    @property
    def weights(self) -> pd.DataFrame:
        return self.outer[["lhs", "rhs", "weight"]].rename(columns={"weight": "est"})

    @cached_property
    def cross_loadings(self) -> pd.DataFrame:
        return assess.cross_loadings(self._est)

    @cached_property
    def r2(self) -> pd.DataFrame:
        return assess.r2_table(self._est)

    @cached_property
    def reliability(self) -> pd.DataFrame:
        return assess.reliability(self._est)

    @cached_property
    def htmt(self) -> pd.DataFrame:
        return assess.htmt(self._est)

    @cached_property
    def htmt2(self) -> pd.DataFrame:
        return assess.htmt(self._est, kind="htmt2")

    @cached_property
    def fornell_larcker(self) -> pd.DataFrame:
        return assess.fornell_larcker(self._est)

    @cached_property
    def f2(self) -> pd.DataFrame:
        return assess.f2(self._est)

    @cached_property
    def vif_inner(self) -> pd.DataFrame:
        return assess.inner_vif(self._est)

    @cached_property
    def vif_outer(self) -> pd.DataFrame:
        return assess.outer_vif(self._est)

    @cached_property
    def construct_correlations(self) -> pd.DataFrame:
        return assess.construct_correlations(self._est)

    @cached_property
    def model_fit(self) -> pd.DataFrame:
        """SRMR, d_ULS and d_G of the saturated and the estimated model (:mod:`icaf_sem.pls.fit`)."""
        from .fit import model_fit
        return model_fit(self._est, repeated_indicators=bool(self._alias))

    def fit_test(self, *, draws=1000, seed=None):
        """Bootstrap-based exact fit test: HI95 and HI99 of SRMR, d_ULS and d_G for the saturated and the
        estimated model (Bollen-Stine rotated resamples; :func:`icaf_sem.pls.fit.fit_test`)."""
        from .fit import fit_test
        o = self.options
        return fit_test(self._data, self.spec, self.items, self._est, draws=draws, seed=seed, scheme=o["scheme"],
                        consistent=o["consistent"], max_iter=o["max_iter"], tol=o["tol"],
                        repeated_indicators=bool(self._alias))

    @cached_property
    def effects(self) -> pd.DataFrame:
        return assess.effects_table(self._est)

    @cached_property
    def specific_indirect(self) -> pd.DataFrame:
        return assess.specific_indirect(self._est)

    @property
    def predict(self):
        return self._predict

    @property
    def bootstrap(self):
        return None if self._boot is None else self._boot["table"]

    @property
    def bootstrap_info(self) -> dict:
        if self._boot is None:
            return {}
        b = self._boot
        return {"requested": b["requested"], "used": int(b["draws"].shape[0]), "failed": b["failed"],
                "nonconverged": b["nonconverged"], "seed": self.options.get("seed"),
                "sign_change": self.options.get("sign_change"), "ci": self.options.get("ci")}

    @cached_property
    def scores(self) -> pd.DataFrame:
        """Construct scores (unit variance) of every construct, dimensions of a HOC included."""
        X = self._data
        Z = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
        st1 = self._est.stages[0]
        out = pd.DataFrame(Z @ st1.W[0], columns=st1.layout.constructs)
        if len(self._est.stages) == 2:
            st2 = self._est.stages[1]
            Z2 = np.concatenate([Z, out[st2.layout.columns[Z.shape[1]:]].to_numpy()], axis=1)
            s2 = pd.DataFrame(Z2 @ st2.W[0], columns=st2.layout.constructs)
            out = pd.concat([out, s2[[c for c in s2.columns if c not in out.columns]]], axis=1)
        return out

    def ipma(self, target, *, scale_min=None, scale_max=None):
        """Importance-performance map analysis of ``target`` (see :func:`icaf_sem.pls.ipma.ipma`)."""
        from .ipma import ipma
        return ipma(self, target, scale_min=scale_min, scale_max=scale_max)

    def cvpat(self, *, folds=None, repetitions=1, seed=None, nboot=2000, testtype="two.sided"):
        """CVPAT of this model against the LM and indicator-average benchmarks
        (see :func:`icaf_sem.pls.predict.cvpat`); ``folds=None`` is leave-one-out."""
        from .predict import cvpat
        o = self.options
        return cvpat(self._data, self.spec, self.items, scheme=o["scheme"], consistent=o["consistent"],
                     folds=folds, repetitions=repetitions, seed=seed, nboot=nboot, testtype=testtype,
                     max_iter=o["max_iter"], tol=o["tol"], item_alias=self._alias)

    # ------------------------------------------------------------------ output
    def to_frame(self) -> pd.DataFrame:
        return self.paths

    def to_dict(self) -> dict:
        """JSON-ready dict in the layout of ``icaf-sem pls --json`` (NaN written as null)."""
        paths = []
        for r in self.paths.itertuples(index=False):
            d = {"lhs": r.lhs, "op": "~", "rhs": r.rhs, "est": _num(r.est)}
            for k in ("se", "t", "pvalue", "ci_lower", "ci_upper"):
                d[k] = _num(getattr(r, k)) if hasattr(r, k) else None
            paths.append(d)
        rel = {c: {k: _num(v) for k, v in row.items()} for c, row in self.reliability.iterrows()}
        htmt = {}
        tab = self.htmt
        for a in tab.index:
            for b in tab.columns:
                if np.isfinite(tab.loc[a, b]):
                    htmt.setdefault(a, {})[b] = float(tab.loc[a, b])
        f2 = {}
        for r in self.f2.itertuples(index=False):
            f2.setdefault(r.lhs, {})[r.rhs] = _num(r.f2)
        inner = {}
        for r in self.vif_inner.itertuples(index=False):
            inner.setdefault(r.lhs, {})[r.rhs] = _num(r.vif)
        out = {
            "n": self.nobs, "n_dropped": self.n_dropped, "converged": self.converged,
            "iterations": self.iterations, "options": self.options, "warnings": self.warnings,
            "paths": paths,
            "loadings": [{"lhs": r.lhs, "op": r.op, "rhs": r.rhs, "est": _num(r.loading)}
                         for r in self.outer.itertuples(index=False)],
            "weights": [{"lhs": r.lhs, "rhs": r.rhs, "est": _num(r.weight)} for r in self.outer.itertuples(index=False)],
            "r2": {c: _num(v) for c, v in self.r2["r2"].items()},
            "r2_adj": {c: _num(v) for c, v in self.r2["r2_adj"].items()},
            "reliability": rel, "htmt": htmt, "f2": f2,
            "vif": {"inner": inner, "outer": {r.indicator: _num(r.vif) for r in self.vif_outer.itertuples(index=False)}},
            "effects": [{k: (_num(v) if k in ("direct", "indirect", "total") else v) for k, v in r.items()}
                        for r in self.effects.to_dict("records")],
            "specific_indirect": [{k: (_num(v) if k == "est" else v) for k, v in r.items()}
                                  for r in self.specific_indirect.to_dict("records")],
        }
        if self._alias:
            out["model_fit"] = None
        else:
            out["model_fit"] = {r.measure: {"saturated": _num(r.saturated), "estimated": _num(r.estimated)}
                                for r in self.model_fit.itertuples(index=False)}
        if self._predict is not None:
            out["predict"] = {i: {k: _num(row[k]) for k in ("rmse", "mae", "q2_predict", "lm_rmse", "lm_mae",
                                                           "lm_q2_predict")}
                              for i, row in self._predict.iterrows()}
        if self._boot is not None:
            out["bootstrap"] = self.bootstrap_info
            out["bootstrap_table"] = [{k: (_num(v) if k not in ("kind", "lhs", "op", "rhs") else v)
                                       for k, v in r.items()} for r in self.bootstrap.to_dict("records")]
        return out

    def summary(self) -> str:
        fmt = lambda df: df.to_string(float_format=lambda v: f"{v:.3f}")  # noqa: E731
        o = self.options
        head = (f"PLS-SEM ({'PLSc' if o.get('consistent') else 'PLS'}, {o.get('scheme')} weighting), N = {self.nobs}"
                f", iterations {self.iterations}, {'converged' if self.converged else 'NOT converged'}")
        parts = [head, "", "Structural paths", fmt(self.paths), "", "R2", fmt(self.r2), "",
                 "Reliability and convergent validity", fmt(self.reliability), "", "HTMT", fmt(self.htmt), "",
                 "f2", fmt(self.f2)]
        if not self._alias:
            parts += ["", "Model fit", fmt(self.model_fit.set_index("measure"))]
        if self._predict is not None:
            parts += ["", "PLSpredict", fmt(self._predict)]
        if self._boot is not None:
            parts += ["", "Bootstrap: " + ", ".join(f"{k} {v}" for k, v in self.bootstrap_info.items())]
        if self.warnings:
            parts += ["", "Warnings:"] + [f"  - {w}" for w in self.warnings]
        return "\n".join(parts)

    def __repr__(self):
        return (f"<PLSResult N={self.nobs} constructs={len(self.spec.constructs)} paths={len(self.spec.paths)} "
                f"converged={self.converged}>")

    def _repr_html_(self):
        fmt = lambda df: df.to_html(float_format=lambda v: f"{v:.3f}", na_rep="")  # noqa: E731
        html = [f"<p><b>PLS-SEM</b> N = {self.nobs}, {self.options.get('scheme')} weighting"
                f"{', PLSc' if self.options.get('consistent') else ''}</p>",
                "<h4>Structural paths</h4>", fmt(self.paths), "<h4>R²</h4>", fmt(self.r2),
                "<h4>Reliability</h4>", fmt(self.reliability), "<h4>HTMT</h4>", fmt(self.htmt)]
        if self.warnings:
            from html import escape
            html.append("<ul>" + "".join(f"<li>{escape(w)}</li>" for w in self.warnings) + "</ul>")
        return "\n".join(html)
