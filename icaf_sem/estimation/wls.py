"""Weighted least squares for ordinal indicators: DWLS/WLS/ULS on thresholds and polychoric
correlations (the third stage of Muthén's estimator), with lavaan 0.6-14's standard errors,
tests and fit measures.

The sample statistics (``s``: thresholds, then the polychoric correlations below the diagonal,
column by column, as lavaan's ``WLS.obs``) and their asymptotic covariance ``Gamma`` come from
:mod:`icaf_sem.estimation.categorical`.  The model implies

* delta parameterization: thresholds ``tau`` and the off-diagonal of ``Sigma`` (latent responses
  have unit variance; the residual variances of the items are 1 - their explained variance);
* theta parameterization: residual variances of the items fixed to 1, scaling factors
  ``Delta_i = 1 / sqrt(Sigma_ii)``, implied thresholds ``Delta_i tau_i`` and correlations
  ``Delta_i Delta_j Sigma_ij``.

Estimation minimises ``F = (s - sigma)' W (s - sigma)`` by Gauss-Newton with analytic Jacobians
(``W``: diag(Gamma)^-1 for DWLS, Gamma^-1 for WLS, I for ULS).  With ``E = Delta' W Delta``:

* robust SEs (``se = "robust.sem"``): ``E^-1 Delta' W Gamma W Delta E^-1 / N``;
* ``chisq = sum_g (N_g - 1) F_g`` (lavaan's (D)WLS convention); ``U = W - W Delta E^-1 Delta' W``; the scaled-shifted test (WLSMV/ULSMV)
  ``a = sqrt(df / tr((U Gamma)^2))``, ``T = a chisq + df - a tr(U Gamma)``; the mean-adjusted test
  (WLSM/ULSM) ``chisq / (tr(U Gamma) / df)``; the mean-and-variance adjusted test (WLSMVS)
  ``chisq / (tr((U Gamma)^2) / tr(U Gamma))`` on ``tr(U Gamma)^2 / tr((U Gamma)^2)`` df;
* the baseline model: thresholds free, correlations zero;
* robust CFI/TLI/RMSEA as lavaan 0.6-14 computes them for categorical data (``lav_fit_catml_dwls``):
  the ML discrepancy of the fitted correlation structure against the polychoric matrix, with
  c = tr(U' V U Gamma) / df from the normal-theory weight V.
"""
from __future__ import annotations

import math
import warnings
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import (BootstrapWarning, ConvergenceWarning, DataError, HeywoodWarning, IdentificationError, IdentificationWarning,
                      ModelSpecificationError)
from ..model.matrices import GroupRAM
from ..model.partable import ParTable, build_partable, variable_names
from . import fit_measures as fm
from .categorical import ordinal_stats, _numeric_block, SQRT_EPS
from .._json import json_value as _clean

CAT_ESTIMATORS = {
    # estimator: (weight, se, test)
    "WLSMV": ("DWLS", "robust.sem", "scaled.shifted"),
    "WLSM": ("DWLS", "robust.sem", "satorra.bentler"),
    "WLSMVS": ("DWLS", "robust.sem", "mean.var.adjusted"),
    "ULSMV": ("ULS", "robust.sem", "scaled.shifted"),
    "ULSM": ("ULS", "robust.sem", "satorra.bentler"),
    "ULSMVS": ("ULS", "robust.sem", "mean.var.adjusted"),
    "DWLS": ("DWLS", "standard", "standard"),
    "ULS": ("ULS", "standard", "standard"),
    "WLS": ("WLS", "standard", "standard"),
}


# ------------------------------------------------------------------------------------------------
# preparation
def _ordered_list(ordered, ov):
    if ordered is True:
        return list(ov)
    if isinstance(ordered, str):
        ordered = [x.strip() for x in ordered.split(",") if x.strip()]
    lst = list(ordered)
    bad = [v for v in lst if v not in ov]
    if bad:
        raise ModelSpecificationError(f"ordered={bad!r}: not observed variables of the model ({', '.join(ov[:10])}"
                                      f"{' ...' if len(ov) > 10 else ''}); name model indicators")
    return lst


def prepare(stmts, data, *, ordered, estimator, parameterization, std_lv, group, group_equal, group_partial,
            missing):
    names = variable_names([s for s in stmts if s.op in ("=~", "~", "~~", "~1")])
    ov = names.ov
    cols = list(map(str, data.columns))
    absent = [v for v in ov if v not in cols]
    if absent:
        raise ModelSpecificationError(
            f"variable(s) {', '.join(map(repr, absent))} appear in the model but are neither columns of the data "
            "nor latent variables (defined with =~); check the spelling")
    ordl = _ordered_list(ordered, ov)
    cont = [v for v in ov if v not in ordl]
    if cont and group is not None:
        raise ModelSpecificationError(
            f"multi-group models with both ordered and continuous indicators ({cont[:5]} continuous) are not "
            "supported yet; declare every indicator ordered, or fit the groups separately")
    if cont and parameterization == "theta":
        raise ModelSpecificationError("models with both ordered and continuous indicators are supported in the "
                                      "delta parameterization only; use parameterization='delta'")
    if names.ov_x:
        raise ModelSpecificationError(
            f"observed exogenous covariates ({', '.join(names.ov_x)}) with ordinal items are not supported yet "
            "(lavaan's conditional.x); model them as indicators of a latent variable or use estimator='MLR'")
    if any(s.op == "~1" for s in stmts):
        raise ModelSpecificationError("intercepts/means (~1) in an ordinal model are not supported yet; remove the "
                                      "~1 statements (thresholds take the place of intercepts)")
    X = _numeric_block(data, ov)
    if group is not None:
        if group not in cols:
            raise DataError(f"group={group!r} is not a column of the data; choose one of {cols[:12]}")
        gcol = data[group]
        labels = list(pd.unique(gcol.dropna()))
        if len(labels) < 2:
            raise DataError(f"group column {group!r} has {len(labels)} level(s); a multi-group model needs at least 2")
        gmask = [(gcol == lab).to_numpy() for lab in labels]
    else:
        labels = [1]
        gmask = [np.ones(len(data), bool)]
    Xs = []
    n_dropped = 0
    for lab, m in zip(labels, gmask):
        arr = X[m]
        if missing == "listwise":
            keep = ~np.isnan(arr).any(1)
        else:
            keep = ~np.isnan(arr).all(1)
        n_dropped += int((~keep).sum())
        Xs.append(arr[keep])
    # categories from the whole sample (as R's ordered()), checked per group
    allX = np.vstack(Xs)
    from .categorical import recode, mixed_group_stats
    if cont:
        if missing != "listwise":
            raise ModelSpecificationError("pairwise deletion with continuous indicators among ordered ones is not "
                                          "supported yet; use missing='listwise'")
        st = mixed_group_stats(Xs[0], ov, ordl)
        return {"ov": ov, "ordered": ordl, "names": names, "labels": labels, "stats": [st],
                "n_dropped": n_dropped, "n_input": len(data)}
    od_all = recode(allX, ov)
    levels = od_all.levels if group is not None else None
    stats_g = []
    for lab, arr in zip(labels, Xs):
        if len(arr) < 2:
            raise DataError(f"only {len(arr)} usable rows{'' if group is None else f' in group {lab!r}'}; "
                            "collect more responses")
        stats_g.append(ordinal_stats(arr, ov, levels=levels, group=lab if group is not None else None))
    return {"ov": ov, "ordered": ordl, "names": names, "labels": labels, "stats": stats_g,
            "n_dropped": n_dropped, "n_input": len(data)}


def build_ordinal_partable(stmts, ov, stats_g, *, std_lv, parameterization, labels, group_equal, group_partial,
                           identification="lavaan"):
    """lavaan's parameter table for ordered indicators: residual variances fixed (delta: to
    1 - explained variance, theta: to 1), threshold rows ``x | t1``, scaling rows ``x ~*~ x``.

    ``identification="wu.estabrook.2016"`` (delta, std_lv, used by the ordinal invariance sequence)
    follows semTools' ``measEq.syntax(ID.cat = "Wu.Estabrook.2016")`` in groups 2, 3, ...: with equal
    thresholds the item intercepts are free, and so are the scaling factors of items with two or more
    thresholds; once the intercepts are equal too they are fixed to 0 again and the latent means and
    every scaling factor are free."""
    we = identification == "wu.estabrook.2016"
    ge = [g for g in group_equal if g != "thresholds"]
    pt = build_partable(stmts, std_lv=std_lv, meanstructure=False, ngroups=len(labels), group_labels=labels,
                        group_equal=ge, group_partial=group_partial)
    t = pt.table.copy()
    ordset = set(getattr(stats_g[0], "ordered", None) or ov)
    ovset = set(ov) & ordset
    resid = (t["op"] == "~~") & (t["lhs"] == t["rhs"]) & t["lhs"].isin(ovset)
    if (resid & (t["user"] == 1) & (t["free"] > 0)).any():
        bad = t[resid & (t["user"] == 1) & (t["free"] > 0)].iloc[0]
        raise ModelSpecificationError(f"the residual variance {bad['lhs']} ~~ {bad['lhs']} of an ordered item is not a "
                                      "free parameter (it is fixed by the parameterization); remove that statement")
    t.loc[resid, "free"] = 0
    t.loc[resid, "ustart"] = 1.0 if parameterization == "theta" else np.nan
    if std_lv and len(stats_g) > 1 and "loadings" in group_equal and "lv.variances" not in group_equal:
        # lavaan: with std.lv and equal loadings the latent variances are free in groups 2, 3, ...
        lvv = (t["op"] == "~~") & (t["lhs"] == t["rhs"]) & t["lhs"].isin(set(pt.names.lv)) & (t["group"] > 1) \
            & (t["free"] == 0) & (t["user"] == 0)
        t.loc[lvv, "free"] = int(t["free"].max()) + 1 + np.arange(int(lvv.sum()))
        t.loc[lvv, "ustart"] = np.nan
        t.loc[lvv, "start"] = 1.0
    from ..model.partable import _renumber
    t["free"] = _renumber(t["free"].to_numpy())
    k = int(t["free"].max()) if len(t) else 0
    partial = {p.replace(" ", "") for p in group_partial}
    rows = []
    th_key = {}
    for g, st in enumerate(stats_g):
        for j, v in enumerate(ov):
            if v not in ordset:
                continue
            for m in range(len(st.th[j])):
                name = f"t{m + 1}"
                key = (v, name)
                share = "thresholds" in group_equal and f"{v}|{name}" not in partial and g > 0 and key in th_key
                if share:
                    fidx = th_key[key]
                else:
                    k += 1
                    fidx = k
                    th_key.setdefault(key, fidx)
                rows.append(dict(lhs=v, op="|", rhs=name, group=g + 1, user=0, free=fidx, ustart=np.nan, exo=0,
                                 label="", start=None, line=0))
    # lavaan (delta parameterization): with thresholds equal across groups, the scaling factors and the
    # latent means are free in groups 2, 3, ... (item intercepts stay fixed to 0)
    free_extra = "thresholds" in group_equal and len(stats_g) > 1
    if free_extra and parameterization == "theta":
        # theta: the residual variances of the items are free in groups 2, 3, ... (scaling factors follow)
        rv = resid & (t["group"] > 1)
        t.loc[rv, "free"] = k + 1 + np.arange(int(rv.sum()))
        k += int(rv.sum())
        t.loc[rv, "ustart"] = np.nan
        t.loc[rv, "start"] = 1.0
    for g in range(len(stats_g)):
        for v in ov:
            if v not in ordset:
                continue
            free_scale = free_extra and g > 0 and parameterization == "delta"
            if we and free_scale and "intercepts" not in group_equal:
                free_scale = len(stats_g[g].th[ov.index(v)]) >= 2     # a binary item's scale stays 1
            if free_scale:
                k += 1
                rows.append(dict(lhs=v, op="~*~", rhs=v, group=g + 1, user=0, free=k, ustart=np.nan, exo=0,
                                 label="", start=1.0, line=0))
            else:
                rows.append(dict(lhs=v, op="~*~", rhs=v, group=g + 1, user=0, free=0, ustart=1.0, exo=0,
                                 label="", start=None, line=0))
    for g in range(len(stats_g)):
        for v in ov:
            if v not in ordset:                   # continuous indicator: free intercept (its mean)
                k += 1
                j = ov.index(v)
                rows.append(dict(lhs=v, op="~1", rhs="", group=g + 1, user=0, free=k, ustart=np.nan, exo=0,
                                 label="", start=float(stats_g[g].th[j][0]), line=0))
                continue
            if we and free_extra and g > 0 and "intercepts" not in group_equal:
                k += 1                            # W&E: free item intercepts (latent means stay 0)
                rows.append(dict(lhs=v, op="~1", rhs="", group=g + 1, user=0, free=k, ustart=np.nan, exo=0,
                                 label="", start=0.0, line=0))
                continue
            rows.append(dict(lhs=v, op="~1", rhs="", group=g + 1, user=0, free=0, ustart=0.0, exo=0, label="",
                             start=None, line=0))
        for f in pt.names.lv:
            if free_extra and g > 0 and "means" not in group_equal and (not we or "intercepts" in group_equal):
                k += 1
                rows.append(dict(lhs=f, op="~1", rhs="", group=g + 1, user=0, free=k, ustart=np.nan, exo=0,
                                 label="", start=0.0, line=0))
            else:
                rows.append(dict(lhs=f, op="~1", rhs="", group=g + 1, user=0, free=0, ustart=0.0, exo=0,
                                 label="", start=None, line=0))
    if rows:
        extra = pd.DataFrame(rows)
        extra["id"] = np.arange(len(t) + 1, len(t) + len(extra) + 1)
        extra["plabel"] = [f".p{i}." for i in extra["id"]]
        t = pd.concat([t, extra[t.columns]], ignore_index=True)
    meanstructure = bool(((t["op"] == "~1") & (t["free"] > 0)).any())
    return ParTable(table=t, names=pt.names, defined=pt.defined, ngroups=pt.ngroups, group_labels=pt.group_labels,
                    meanstructure=meanstructure)


# ------------------------------------------------------------------------------------------------
# the model
class OrdinalModel:
    """Implied WLS statistics and their Jacobian for all groups."""

    def __init__(self, pt: ParTable, ov, stats_g, parameterization):
        self.pt = pt
        self.ov = list(ov)
        self.stats = stats_g
        self.param = parameterization
        self.rams = [GroupRAM(pt, g + 1, ov) for g in range(len(stats_g))]
        a = pt.arrays()
        self.npar = a["npar"]
        self.th_free = []
        self.th_item = []
        for g, st in enumerate(stats_g):
            rows = np.flatnonzero((a["op"] == "|") & (a["group"] == g + 1))
            self.th_free.append(a["free"][rows] - 1)
            pos = {v: i for i, v in enumerate(ov)}
            self.th_item.append(np.array([pos[x] for x in a["lhs"][rows]], int))
        self.delta_free = []
        for g in range(len(stats_g)):
            df_ = np.full(len(ov), -1)
            for i in np.flatnonzero((a["op"] == "~*~") & (a["group"] == g + 1) & (a["free"] > 0)):
                df_[ov.index(a["lhs"][i])] = a["free"][i] - 1
            self.delta_free.append(df_)
        self.general = any((d >= 0).any() for d in self.delta_free) or pt.meanstructure
        ordl = getattr(stats_g[0], "ordered", None)
        self.mixed = ordl is not None and len(ordl) < len(ov)
        if self.mixed:
            st = stats_g[0]
            self.is_ord = np.array([v in ordl for v in ov])
            self.num_idx = np.flatnonzero(~self.is_ord)
            # rows of the threshold block: (item, free index of the threshold or -1 for a continuous mean)
            item, fidx = [], []
            thf = iter(self.th_free[0])
            for j, v in enumerate(ov):
                for _ in range(len(st.th[j])):
                    item.append(j)
                    fidx.append(next(thf) if self.is_ord[j] else -1)
            self.mx_item, self.mx_free = np.array(item, int), np.array(fidx, int)

    def implied(self, theta, g, jac=True):
        ram = self.rams[g]
        st = self.stats[g]
        I, J = st.I, st.J
        sig, _ = ram.implied(theta)
        tau = theta[self.th_free[g]]
        if jac:
            dS, _ = ram.delta(theta)                     # (npar, p, p)
        if getattr(self, "mixed", False):
            return self._implied_mixed(theta, g, jac)
        if self.param == "delta" and self.general:
            return self._implied_general(theta, g, jac)
        if self.param == "delta":
            s = np.concatenate([tau, sig[I, J]])
            if not jac:
                return s, sig
            D = np.zeros((len(s), self.npar))
            D[np.arange(len(tau)), self.th_free[g]] = 1.0
            D[len(tau):, :] = dS[:, I, J].T
            return s, D, sig
        # theta: scaling factors 1/sqrt(diag(Sigma)); latent-response means mu* = Lambda alpha when free
        d = np.diag(sig)
        sd = np.sqrt(d)
        it = self.th_item[g]
        ms = self.pt.meanstructure
        if ms:
            tau = tau - ram.implied(theta)[1][it]
        s = np.concatenate([tau / sd[it], sig[I, J] / (sd[I] * sd[J])])
        if not jac:
            return s, sig
        dd = np.einsum("kii->ki", dS)                      # (npar, p) d Sigma_ii
        D = np.zeros((len(s), self.npar))
        nt = len(tau)
        D[np.arange(nt), self.th_free[g]] = 1.0 / sd[it]
        if ms:
            dmu = ram.delta(theta)[1]
            D[:nt] -= (dmu[:, it] / sd[it]).T
        D[:nt] += (-0.5 * (tau / sd[it]) / d[it])[:, None] * dd[:, it].T
        r = sig[I, J] / (sd[I] * sd[J])
        D[nt:] = (dS[:, I, J] / (sd[I] * sd[J])).T - 0.5 * r[:, None] * (dd[:, I] / d[I] + dd[:, J] / d[J]).T
        return s, D, sig


def _implied_general(self, theta, g, jac=True):
    """Delta parameterization with scaling factors Delta and latent-response means mu* = Lambda alpha
    (multi-group threshold models): thresholds (tau - mu*) Delta, correlations Delta_i Delta_j Sigma_ij."""
    ram = self.rams[g]
    st = self.stats[g]
    I, J = st.I, st.J
    sig, mu = ram.implied(theta)
    mu = np.zeros(len(self.ov)) if mu is None else mu
    dfree = self.delta_free[g]
    Dl = np.where(dfree >= 0, theta[np.maximum(dfree, 0)], 1.0)
    it = self.th_item[g]
    tau = theta[self.th_free[g]]
    s = np.concatenate([(tau - mu[it]) * Dl[it], Dl[I] * Dl[J] * sig[I, J]])
    if not jac:
        return s, sig
    dS, dmu = ram.delta(theta)
    nt = len(tau)
    D = np.zeros((len(s), self.npar))
    D[np.arange(nt), self.th_free[g]] += Dl[it]
    if self.pt.meanstructure:
        D[:nt] -= (dmu[:, it] * Dl[it]).T
    fr = dfree[it] >= 0
    D[np.flatnonzero(fr), dfree[it][fr]] += (tau - mu[it])[fr]
    D[nt:] = (dS[:, I, J] * (Dl[I] * Dl[J])).T
    rr = np.arange(nt, len(s))
    fi, fj = dfree[I] >= 0, dfree[J] >= 0
    np.add.at(D, (rr[fi], dfree[I][fi]), (Dl[J] * sig[I, J])[fi])
    np.add.at(D, (rr[fj], dfree[J][fj]), (Dl[I] * sig[I, J])[fj])
    return s, D, sig


OrdinalModel._implied_general = _implied_general


def _implied_mixed(self, theta, g, jac=True):
    """Ordered and continuous indicators (delta, one group): thresholds tau - mu* and -mu for the
    continuous means (lavaan's sign), the continuous variances, then all covariances."""
    ram = self.rams[g]
    st = self.stats[g]
    I, J = st.I, st.J
    sig, mu = ram.implied(theta)
    it, fr = self.mx_item, self.mx_free
    ordrow = fr >= 0
    th = np.where(ordrow, theta[np.maximum(fr, 0)], 0.0) - mu[it]
    ni = self.num_idx
    s = np.concatenate([th, sig[ni, ni], sig[I, J]])
    if not jac:
        return s, sig
    dS, dmu = ram.delta(theta)
    nt = len(th)
    D = np.zeros((len(s), self.npar))
    D[np.flatnonzero(ordrow), fr[ordrow]] = 1.0
    D[:nt] -= dmu[:, it].T
    D[nt:nt + len(ni)] = dS[:, ni, ni].T
    D[nt + len(ni):] = dS[:, I, J].T
    return s, D, sig


OrdinalModel._implied_mixed = _implied_mixed


def _sqrt_psd(A):
    """F with F' F = A for a symmetric positive semi-definite A (eigenvalues below 0 set to 0)."""
    ev, V = np.linalg.eigh(0.5 * (A + A.T))
    return (V * np.sqrt(np.clip(ev, 0, None))).T


def _dtwd(D, Wd, Wf, nt, e=None):
    """D' W D (and D' W e) for one group, using that the correlation rows never depend on the
    threshold parameters (only the non-zero columns of each row block are multiplied)."""
    k = D.shape[1]
    if Wf is not None:
        WD = Wf @ D
        return D.T @ WD, (None if e is None else WD.T @ e)
    A = np.zeros((k, k))
    b = np.zeros(k) if e is not None else None
    for rows in (slice(0, nt), slice(nt, D.shape[0])):
        Db = D[rows]
        if not Db.size:
            continue
        nz = Db != 0
        if np.all(nz.sum(1) == 1):
            # one non-zero per row (thresholds in the delta parameterization): a diagonal update
            col = nz.argmax(1)
            val = Db[np.arange(len(col)), col]
            w = Wd[rows]
            np.add.at(A, (col, col), w * val * val)
            if e is not None:
                np.add.at(b, col, w * val * e[rows])
            continue
        c = np.flatnonzero(nz.any(axis=0))
        Dc = Db[:, c]
        WDc = Wd[rows][:, None] * Dc
        A[np.ix_(c, c)] += Dc.T @ WDc
        if e is not None:
            b[c] += WDc.T @ e[rows]
    return A, b


def _ug_traces(Wd, Wf, D, Einv, Gam=None, F=None):
    """tr(U Gamma), tr((U Gamma)^2) and (W D)' Gamma (W D) with U = W - W D E^-1 D' W.

    With a factor F (Gamma = F' F, F: cases x statistics) and fewer cases than statistics the
    traces come from the N x N matrix F U F'; otherwise from Gamma itself, never forming U."""
    WD = Wd[:, None] * D if Wf is None else Wf @ D
    if F is not None and F.shape[0] < D.shape[0]:
        FW = F * Wd if Wf is None else F @ Wf
        M2 = FW @ D
        FUF = FW @ F.T - M2 @ Einv @ M2.T
        return float(np.trace(FUF)), float(np.sum(FUF * FUF)), M2.T @ M2
    if Gam is None:
        Gam = F.T @ F
    A = Wd[:, None] * Gam if Wf is None else Wf @ Gam
    BtG = WD.T @ Gam
    C = Einv @ BtG
    tr = float(np.trace(A) - np.sum(WD * C.T))
    AB = A @ WD
    CB = C @ WD
    tr2 = float(np.sum(A * A.T) - 2.0 * np.sum(AB * C.T) + np.sum(CB * CB.T))
    return tr, tr2, BtG @ WD


def _weights(st, kind):
    nel = len(st.wls_obs)
    if kind == "ULS":
        return np.ones(nel), None
    dg = np.diag(st.gamma)
    if kind == "DWLS":
        if np.any(dg <= 0) or not np.all(np.isfinite(dg)):
            raise DataError("the asymptotic variance of a threshold or polychoric correlation is zero or not finite; "
                            "check for items with an almost empty category")
        return 1.0 / dg, None
    try:
        Wf = np.linalg.inv(st.gamma)
    except np.linalg.LinAlgError:
        raise DataError("Gamma (the asymptotic covariance of thresholds and polychorics) is singular, so full WLS "
                        "is not defined; use estimator='WLSMV' (DWLS) or collect more responses") from None
    return None, 0.5 * (Wf + Wf.T)


# ------------------------------------------------------------------------------------------------
# estimation
def _start(pt, model, stats_g):
    from .optimize import start_values
    moments = []
    for st in stats_g:
        if getattr(model, "mixed", False):
            mu = np.array([t[0] if not o else 0.0 for t, o in zip(st.th, model.is_ord)])
            moments.append((st.C, mu))
        else:
            moments.append((st.R, np.zeros(len(model.ov))))
    th = start_values(pt, model.rams, moments)
    # thresholds at their sample values
    for g, st in enumerate(stats_g):
        if getattr(model, "mixed", False):
            th[model.th_free[g]] = np.concatenate([t for t, o in zip(st.th, model.is_ord) if o])
        else:
            th[model.th_free[g]] = st.th_vec
    return th


def _objective(model, theta, Ws, Wfs):
    F = 0.0
    for g, st in enumerate(model.stats):
        s, _ = model.implied(theta, g, jac=False)
        e = st.wls_obs - s
        F += (st.N - 1) * (e @ (Wfs[g] @ e) if Wfs[g] is not None else np.sum(Ws[g] * e * e))
    return F


def _solve_blocks(A, b):
    """Solve A x = b; parameters whose rows of A are diagonal (thresholds in the delta
    parameterization) are solved apart, the rest by Cholesky (LU if that fails)."""
    off = A - np.diag(np.diag(A))
    diag_only = ~np.any(off != 0, axis=1)
    x = np.empty_like(b)
    d = np.diag(A)
    if diag_only.any():
        if np.any(d[diag_only] <= 0):
            return None
        x[diag_only] = b[diag_only] / d[diag_only]
    rest = ~diag_only
    if rest.any():
        Ar = A[np.ix_(rest, rest)]
        try:
            from scipy.linalg import cho_factor, cho_solve
            x[rest] = cho_solve(cho_factor(Ar), b[rest])
        except Exception:
            try:
                x[rest] = np.linalg.solve(Ar, b[rest])
            except np.linalg.LinAlgError:
                x[rest] = np.linalg.lstsq(Ar, b[rest], rcond=None)[0]
    return x


def gauss_newton(model, theta0, Ws, Wfs, max_iter=500, tol=1e-10):
    theta = theta0.copy()
    Nt = sum(st.N for st in model.stats)
    f = _objective(model, theta, Ws, Wfs)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        A = np.zeros((model.npar, model.npar))
        b = np.zeros(model.npar)
        for g, st in enumerate(model.stats):
            s, D, _ = model.implied(theta, g)
            e = st.wls_obs - s
            Ag, bg = _dtwd(D, Ws[g], Wfs[g], st.ncor0, e)
            A += (st.N - 1) / Nt * Ag
            b += (st.N - 1) / Nt * bg
        if not np.all(np.isfinite(A)):
            break
        if np.max(np.abs(b)) < tol:
            converged = True
            break
        step = _solve_blocks(A, b)
        if step is None:
            break
        lam = 1.0
        for _ in range(40):
            cand = theta + lam * step
            fc = _objective(model, cand, Ws, Wfs)
            if np.isfinite(fc) and fc <= f + 1e-14 * abs(f):
                break
            lam *= 0.5
        else:
            break
        theta, f_old, f = cand, f, fc
        # Gauss-Newton converges linearly here: a step below 1e-9 leaves an error of that order
        if np.max(np.abs(lam * step)) < 1e-9:
            converged = True
            break
    return theta, f, converged, it


# ------------------------------------------------------------------------------------------------
def fit_ordinal(stmts, data, *, model_text, ordered, estimator, parameterization, std_lv, group, group_equal,
                group_partial, missing, max_iter=500, identification="lavaan"):
    est = estimator.upper()
    if est not in CAT_ESTIMATORS:
        raise ModelSpecificationError(f"estimator={estimator!r} is not available for ordered items; use one of "
                                      f"{', '.join(CAT_ESTIMATORS)} (WLSMV is lavaan's default)")
    if parameterization not in ("delta", "theta"):
        raise ModelSpecificationError(f"parameterization={parameterization!r}: use 'delta' (lavaan's default) or 'theta'")
    if missing not in ("listwise", "pairwise"):
        raise ModelSpecificationError(
            f"missing={missing!r} is not available with ordered items: full-information ML (FIML) does not exist "
            "for WLSMV (lavaan refuses it too). Use missing='pairwise' (pairwise-present polychorics) or "
            "'listwise', or fit the items as continuous with estimator='MLR', missing='ml'")
    if group_equal and not group:
        raise ModelSpecificationError("group_equal was given without group=; name the grouping column")
    spec = prepare(stmts, data, ordered=ordered, estimator=est, parameterization=parameterization, std_lv=std_lv,
                   group=group, group_equal=group_equal, group_partial=group_partial, missing=missing)
    stats_g = spec["stats"]
    pt = build_ordinal_partable(stmts, spec["ov"], stats_g, std_lv=std_lv, parameterization=parameterization,
                                labels=spec["labels"], group_equal=tuple(group_equal),
                                group_partial=tuple(group_partial), identification=identification)
    model = OrdinalModel(pt, spec["ov"], stats_g, parameterization)
    wkind, se_kind, test_kind = CAT_ESTIMATORS[est]
    WW = [_weights(st, wkind) for st in stats_g]
    Ws, Wfs = [w[0] for w in WW], [w[1] for w in WW]
    nel = sum(len(st.wls_obs) for st in stats_g)
    df = nel - model.npar
    if df < 0:
        raise IdentificationError(f"the model has {model.npar} free parameters but only {nel} sample statistics "
                                  f"(thresholds and polychoric correlations): df = {df}; it is not identified")
    theta0 = _start(pt, model, stats_g)
    theta, F, converged, its = gauss_newton(model, theta0, Ws, Wfs, max_iter=max_iter)
    res = OrdinalResult(model=model, theta=theta, Ws=Ws, Wfs=Wfs, estimator=est, weight=wkind, se_kind=se_kind,
                        test_kind=test_kind, converged=converged, iterations=its, spec=spec, model_text=model_text,
                        missing=missing)
    # lavaan computes the baseline model when fitting; here the fit measures and the parameter table
    # are computed at once too (inside the caller's one-BLAS-thread block)
    res.fit_measures
    res.parameters
    if not converged:
        res._warn(ConvergenceWarning, f"the {wkind} estimation did not converge in {its} iterations; the "
                  "estimates are not trustworthy: check the model's identification")
    return res


# ------------------------------------------------------------------------------------------------
class OrdinalResult:
    """The result of :func:`icaf_sem.fit` with ordered items (WLSMV and its family).

    Examples
    --------
    >>> res = icaf_sem.fit("F =~ a1 + a2 + a3 + a4", df, ordered=True)     # doctest: +SKIP
    >>> res.fit_measures["cfi.robust"], res.parameters.query("op == '|'")   # doctest: +SKIP

    lavaan: ``fit <- cfa("F =~ a1 + a2 + a3 + a4", data = df, ordered = TRUE)``;
    ``fitMeasures(fit)``, ``parameterEstimates(fit, standardized = TRUE)``, ``modindices(fit)``.

    Attributes
    ----------
    parameters : DataFrame
        lavaan's ``parameterEstimates(fit, standardized = TRUE)`` including the threshold rows
        (``op = "|"``) and the scaling rows (``op = "~*~"``).
    fit_measures : dict
        lavaan's ``fitMeasures(fit)`` names (scaled and robust columns included).
    r2 : dict
        R² of the latent responses and of endogenous latent variables.
    """

    def __init__(self, *, model, theta, Ws, Wfs, estimator, weight, se_kind, test_kind, converged, iterations,
                 spec, model_text, missing):
        self._m = model
        self.theta = theta
        self._Ws, self._Wfs = Ws, Wfs
        self.estimator = estimator
        self.weight = weight
        self.se_kind = se_kind
        self.test_kind = test_kind
        self.converged = bool(converged)
        self.iterations = iterations
        self.spec = spec
        self.model = model_text
        self.missing = missing
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self.boot = None
        self.ordered = spec["ordered"]
        self.group_labels = spec["labels"]
        self.nobs = int(sum(st.N for st in model.stats))
        self.ntotal = self.nobs
        self.zero_cell_tables = int(sum(st.zero_cell_tables for st in model.stats))
        self._compute()
        self._checks()

    def _warn(self, cls_, msg):
        self.warnings.append(msg)
        warnings.warn(cls_(msg), stacklevel=3)

    # ------------------------------------------------------------------ core quantities
    def _compute(self):
        m = self._m
        N = self.nobs
        fg = np.array([st.N / N for st in m.stats])
        Ds, es = [], []
        self.implied_sigma = []
        F = 0.0
        E = np.zeros((m.npar, m.npar))
        for g, st in enumerate(m.stats):
            s, D, sig = m.implied(self.theta, g)
            self.implied_sigma.append(sig)
            e = st.wls_obs - s
            W = self._Ws[g]
            F += (st.N - 1) * float(e @ self._Wfs[g] @ e if self._Wfs[g] is not None else np.sum(W * e * e))
            # lavaan: chisq_g = (N_g - 1) F_g for (D)WLS/ULS
            Ds.append(D)
            es.append(e)
            E += fg[g] * _dtwd(D, W, self._Wfs[g], st.ncor0)[0]
        self.residuals = es
        from scipy.linalg import block_diag
        D = np.vstack(Ds)
        self._D, self._fg = D, fg
        if all(w is None for w in self._Wfs):
            self._Wd = np.concatenate([fg[g] * self._Ws[g] for g in range(len(m.stats))])
            self._Wf = None
        else:
            self._Wd = None
            self._Wf = block_diag(*[fg[g] * (self._Wfs[g] if self._Wfs[g] is not None else np.diag(self._Ws[g]))
                                    for g in range(len(m.stats))])
        # Gamma_all = blockdiag(Gamma_g / fg) = F' F: F = sqrt(N) blockdiag(IF_g) when the cases are
        # fewer than the statistics, else a square root of Gamma (bounded memory for large N)
        if all(st.influence is not None for st in m.stats) and N < D.shape[0]:
            self._F = math.sqrt(N) * block_diag(*[st.influence for st in m.stats])
        else:
            self._F = block_diag(*[_sqrt_psd(st.gamma / fg[g]) for g, st in enumerate(m.stats)])
        self.info = E
        try:
            ev = np.linalg.eigvalsh(E)
            if ev.min() <= 1e-10 * max(1.0, ev.max()):
                raise np.linalg.LinAlgError
            Einv = np.linalg.inv(E)
        except np.linalg.LinAlgError:
            Einv = None
        self._Einv = Einv
        self.chisq = max(F, 0.0)
        nel = D.shape[0]
        self.df = nel - m.npar
        self.nel = nel
        if Einv is None:
            self.vcov = np.full((m.npar, m.npar), np.nan)
            self._warn(IdentificationWarning, "the information matrix is singular: the model is probably not "
                       "identified; standard errors could not be computed")
            self.trUG = self.trUG2 = np.nan
            return
        tr, tr2, M = _ug_traces(self._Wd if self._Wd is not None else np.ones(nel), self._Wf, D, Einv, F=self._F)
        self.trUG, self.trUG2 = tr, tr2
        if self.se_kind == "robust.sem":
            self.vcov = Einv @ M @ Einv / N
        else:
            self.vcov = Einv / N

    @cached_property
    def _Gam(self):
        return self._F.T @ self._F

    def _checks(self):
        m = self._m
        a = m.pt.arrays()
        for g in range(len(m.stats)):
            rv = self._resid_var(g)
            for v, val in rv.items():
                if val < 0:
                    self._warn(HeywoodWarning, f"the residual variance of the latent response of {v!r} is negative "
                               f"({val:.3f}): its explained variance exceeds 1, the solution is not admissible")

    # ------------------------------------------------------------------ tests
    @cached_property
    def tests(self) -> dict:
        X2, df = self.chisq, self.df
        # lavaan: the unscaled ULS statistic has no known reference distribution (p-value NA)
        pv = np.nan if self.weight == "ULS" else _pchisq(X2, df)
        out = {"standard": {"stat": X2, "df": df, "pvalue": pv}}
        if self.test_kind == "standard" or self._Einv is None:
            return out
        out[self.test_kind] = _scaled(self.test_kind, X2, df, self.trUG, self.trUG2)
        return out

    @cached_property
    def baseline(self) -> dict:
        """Independence model: thresholds free, correlations zero."""
        m = self._m
        X2 = 0.0
        Ds = []
        for g, st in enumerate(m.stats):
            nt = st.ncor0                                  # thresholds, means and variances are free
            s = st.wls_obs
            D = np.zeros((len(s), nt))
            D[:nt, :nt] = np.eye(nt)
            if self._Wfs[g] is None:
                e = s.copy()
                e[:nt] = 0.0                                   # diagonal weight: thresholds fit exactly
                X2 += (st.N - 1) * float(np.sum(self._Ws[g] * e * e))
            else:
                W = self._Wfs[g]
                tau = np.linalg.solve(D.T @ W @ D, D.T @ W @ s)
                e = s - D @ tau
                X2 += (st.N - 1) * float(e @ W @ e)
            Ds.append(D)
        from scipy.linalg import block_diag
        D = block_diag(*Ds)
        df = self.nel - D.shape[1]
        out = {"standard": {"stat": X2, "df": df, "pvalue": np.nan if self.weight == "ULS" else _pchisq(X2, df)}}
        if self.test_kind != "standard":
            if self._Wf is None:
                # U = diag(0 for thresholds, W for correlations): the traces in closed form
                cor = np.concatenate([np.arange(o + st.ncor0, o + len(st.wls_obs)) for o, st in
                                      zip(np.cumsum([0] + [len(st.wls_obs) for st in m.stats])[:-1], m.stats)])
                Fc = self._F[:, cor] * np.sqrt(self._Wd[cor])
                tr = float(np.sum(Fc * Fc))
                M = Fc @ Fc.T if Fc.shape[0] < Fc.shape[1] else Fc.T @ Fc
                tr2 = float(np.sum(M * M))
            else:
                E = D.T @ self._Wf @ D
                tr, tr2, _ = _ug_traces(np.ones(self.nel), self._Wf, D, np.linalg.inv(E), F=self._F)
            out[self.test_kind] = _scaled(self.test_kind, X2, df, tr, tr2)
        return out

    @cached_property
    def catml(self) -> dict | None:
        """lavaan's ``lav_fit_catml_dwls``: the ingredients of the robust CFI/TLI/RMSEA."""
        m = self._m
        if self.test_kind not in ("scaled.shifted", "satorra.bentler") or self._Einv is None:
            return None
        if m.general:
            self.notes.append("cfi.robust, tli.robust and rmsea.robust are not available (NaN), as in lavaan 0.6-14: "
                              "with thresholds equal across groups the scaling factors and latent means are free, "
                              "and lavaan's robust indices for categorical data (an ML refit of the correlation "
                              "structure, catML) cannot represent them")
            return None
        if getattr(m, "mixed", False):
            self.notes.append("cfi.robust, tli.robust and rmsea.robust are not available (NaN) with continuous "
                              "indicators among the ordered ones, as in lavaan 0.6-14")
            return None
        for st in m.stats:
            if np.linalg.eigvalsh(st.R).min() < SQRT_EPS:
                return None
        XX3, XX3n, df3n = 0.0, 0.0, 0
        Vb, Dc = [], []
        off = 0
        for g, st in enumerate(m.stats):
            p = len(m.ov)
            nt, P = st.nth, len(st.I)
            Sig = self.implied_sigma[g]
            if self._m.param == "theta":
                sd = np.sqrt(np.diag(Sig))
                Sig = Sig / np.outer(sd, sd)
            else:
                Sig = Sig.copy()
                np.fill_diagonal(Sig, 1.0)
            R = st.R
            Si = np.linalg.inv(Sig)
            ld_s = np.linalg.slogdet(Sig)[1]
            ld_r = np.linalg.slogdet(R)[1]
            XX3 += st.N * (ld_s + np.trace(R @ Si) - ld_r - p)
            XX3n += st.N * (-ld_r)
            df3n += P
            I, J = st.I, st.J
            V = Si[np.ix_(I, I)] * Si[np.ix_(J, J)] + Si[np.ix_(I, J)] * Si[np.ix_(J, I)]
            Vb.append(self._fg[g] * V)
            rows = np.arange(off + nt, off + nt + P)
            Dc.append(rows)
            off += nt + P
        from scipy.linalg import block_diag
        rows = np.concatenate(Dc)
        Dcor = self._D[rows]
        cols = np.flatnonzero(np.any(Dcor != 0, axis=0))
        Dm = Dcor[:, cols]
        Em = self._Einv[np.ix_(cols, cols)]
        V = block_diag(*Vb)
        Fc = self._F[:, rows]
        if self._Wf is None:
            Wc = self._Wd[rows]
            if Fc.shape[0] < len(rows):
                # Z = WiU Fc' with WiU = I - Dm Em Dm' Wc;  ks = tr(V Z Z')
                Z = Fc.T - Dm @ (Em @ (Dm.T @ (Wc[:, None] * Fc.T)))
                ks = float(np.sum((V @ Z) * Z))
            else:
                Gc = Fc.T @ Fc
                X = Gc - Dm @ (Em @ (Dm.T @ (Wc[:, None] * Gc)))
                Y = X - ((X * Wc) @ Dm) @ Em @ Dm.T
                ks = float(np.sum(V * Y.T))
            trG = float(np.sum(Fc * Fc))
        else:
            Wcor = self._Wf[np.ix_(rows, rows)]
            Gcor = Fc.T @ Fc
            WiU = np.eye(len(rows)) - Dm @ Em @ Dm.T @ Wcor
            ks = float(np.sum((WiU.T @ V @ WiU) * Gcor.T))
            trG = float(np.trace(Gcor))
        df3 = self.df
        c3 = ks / df3 if df3 > 0 else np.nan
        return {"XX3": XX3, "df3": df3, "c.hat3": c3, "XX3.scaled": XX3 / c3 if df3 > 0 else np.nan,
                "XX3.null": XX3n, "df3.null": df3n, "c.hat3.null": trG / df3n}

    # ------------------------------------------------------------------ fit measures
    @cached_property
    def fit_measures(self) -> dict:
        T = self.tests
        B = self.baseline
        G = len(self._m.stats)
        Nr = self.nobs - G                    # lavaan: N - G for (D)WLS
        X2, df = self.chisq, self.df
        X2n, dfn = B["standard"]["stat"], B["standard"]["df"]
        out = {"npar": self._m.npar, "chisq": X2, "df": df, "pvalue": T["standard"]["pvalue"]}
        sc = T.get(self.test_kind) if self.test_kind != "standard" else None
        if sc is not None:
            out.update({"chisq.scaled": sc["stat"], "df.scaled": sc["df"], "pvalue.scaled": sc["pvalue"],
                        "chisq.scaling.factor": sc["scaling.factor"]})
            if self.test_kind == "scaled.shifted":
                out["chisq.shift.parameters"] = sc["shift"]
        out.update({"baseline.chisq": X2n, "baseline.df": dfn, "baseline.pvalue": B["standard"]["pvalue"]})
        bsc = B.get(self.test_kind) if sc is not None else None
        if bsc is not None:
            out.update({"baseline.chisq.scaled": bsc["stat"], "baseline.df.scaled": bsc["df"],
                        "baseline.pvalue.scaled": bsc["pvalue"],
                        "baseline.chisq.scaling.factor": bsc["scaling.factor"]})
        out["cfi"] = fm.cfi(X2, df, X2n, dfn)
        out["tli"] = fm.tli(X2, df, X2n, dfn)
        out["nnfi"] = out["tli"]
        out.update(_incremental(X2, df, X2n, dfn))
        if sc is not None:
            out["cfi.scaled"] = fm.cfi(sc["stat"], sc["df"], bsc["stat"], bsc["df"])
            out["tli.scaled"] = fm.tli(sc["stat"], sc["df"], bsc["stat"], bsc["df"])
            out["nnfi.scaled"] = out["tli.scaled"]
            out["rfi.scaled"] = fm.rfi(sc["stat"], sc["df"], bsc["stat"], bsc["df"])
            out["nfi.scaled"] = fm.nfi(sc["stat"], bsc["stat"], sc["df"], bsc["df"])
            out["ifi.scaled"] = fm.ifi(sc["stat"], sc["df"], bsc["stat"], bsc["df"])
            out["rni.scaled"] = fm.rni(sc["stat"], sc["df"], bsc["stat"], bsc["df"])
        robust = self.test_kind in ("scaled.shifted", "satorra.bentler")
        cm = self.catml if robust else None
        if robust:
            if cm is None:
                for k in ("cfi.robust", "tli.robust", "nnfi.robust", "rni.robust", "rmsea.robust",
                          "rmsea.ci.lower.robust", "rmsea.ci.upper.robust", "rmsea.pvalue.robust"):
                    out[k] = np.nan
            else:
                c, cn = cm["c.hat3"], cm["c.hat3.null"]
                out["cfi.robust"] = _cfi_r(cm["XX3"], df, cm["XX3.null"], dfn, c, cn)
                out["tli.robust"] = _tli_r(cm["XX3"], df, cm["XX3.null"], dfn, c, cn)
                out["nnfi.robust"] = out["tli.robust"]
                out["rni.robust"] = _rni_r(cm["XX3"], df, cm["XX3.null"], dfn, c, cn)
        # RMSEA
        out["rmsea"] = fm.rmsea(X2, df, Nr, G)
        lo, up = fm.rmsea_ci(X2, df, Nr, G)
        out["rmsea.ci.lower"], out["rmsea.ci.upper"] = lo, up
        out["rmsea.pvalue"] = fm.rmsea_pvalue(X2, df, Nr, G)
        if sc is not None:
            if self.test_kind == "scaled.shifted":
                XX2, df2 = sc["stat"], df
            else:
                XX2, df2 = X2, self.trUG
            out["rmsea.scaled"] = fm.rmsea(XX2, df2, Nr, G)
            lo, up = fm.rmsea_ci(XX2, df2, Nr, G)
            out["rmsea.ci.lower.scaled"], out["rmsea.ci.upper.scaled"] = lo, up
            out["rmsea.pvalue.scaled"] = fm.rmsea_pvalue(XX2, df2, Nr, G)
        if cm is not None:
            c = cm["c.hat3"]
            out["rmsea.robust"] = fm.rmsea(cm["XX3"], cm["df3"], Nr, G, c=c)
            lo, up = fm.rmsea_ci(cm["XX3.scaled"], cm["df3"], Nr, G, c=c)
            out["rmsea.ci.lower.robust"], out["rmsea.ci.upper.robust"] = lo, up
            out["rmsea.pvalue.robust"] = fm.rmsea_pvalue(cm["XX3.scaled"], cm["df3"], Nr, G, c=c)
        # SRMR (correlation residuals), WRMR, GFI
        srmr_nm, srmr_tot = 0.0, 0.0
        gfis = []
        for g, st in enumerate(self._m.stats):
            p = len(self._m.ov)
            nt = st.nth
            e = self.residuals[g]
            npv = p * (p + 1) // 2
            if getattr(self._m, "mixed", False):
                # residuals in the correlation metric (lavaan's "cor.bentler"): the continuous variables
                # standardized by their observed (sample) and implied SDs; means by the observed SD
                sig = self.implied_sigma[g]
                ni = self._m.num_idx
                sd_h = np.ones(p)
                sd_h[ni] = np.sqrt(np.diag(sig)[ni])
                sd_o = np.ones(p)
                sd_o[ni] = np.sqrt(np.diag(st.C)[ni])
                Rh = sig / np.outer(sd_h, sd_h)
                ecor = st.R[st.I, st.J] - Rh[st.I, st.J]
                et = e[:nt] / sd_o[self._m.mx_item]
                ssq_c = float(np.sum(ecor ** 2))
                ssq_t = float(np.sum(et ** 2))
            else:
                ecor = e[nt:]
                ssq_c = float(np.sum(ecor ** 2))
                ssq_t = float(np.sum(e[:nt] ** 2))
            srmr_nm += self._fg[g] * math.sqrt(ssq_c / npv)
            srmr_tot += self._fg[g] * math.sqrt((ssq_c + ssq_t) / (npv + nt))
            W = self._Ws[g]
            s = st.wls_obs
            if self._Wfs[g] is None:
                t1, t2 = float(np.sum(e * e * W)), float(np.sum(s * s * W))
            else:
                t1, t2 = float(e @ self._Wfs[g] @ e), float(s @ self._Wfs[g] @ s)
            gfis.append(1 - t1 / t2)
        out["srmr"] = srmr_nm
        # with continuous indicators lavaan's srmr_bentler (with the mean part) is not reproduced yet:
        # left out rather than approximated
        out["srmr_bentler"] = np.nan if getattr(self._m, "mixed", False) else srmr_tot
        out["srmr_bentler_nomean"] = srmr_nm
        out["crmr"] = _crmr(self)
        out["wrmr"] = math.sqrt(X2 / len(self._m.stats[0].wls_obs)) if self.nel else np.nan
        gfi = float(np.dot(self._fg, gfis))
        out["gfi"] = gfi
        out["agfi"] = 1 - (self.nel / df) * (1 - gfi) if df > 0 else 1.0
        out["pgfi"] = (df / self.nel) * gfi
        out["ntotal"] = self.nobs
        return out

    # ------------------------------------------------------------------ parameter table
    def _resid_var(self, g):
        """Residual variances of the latent responses implied by the parameterization."""
        m = self._m
        sig = self.implied_sigma[g]
        if m.param == "theta":
            return {v: 1.0 for v in m.ov}
        return {v: 1.0 - sig[i, i] for i, v in enumerate(m.ov)}

    def _row_values(self, theta):
        """est of every row of the table for the free-parameter vector theta."""
        m = self._m
        a = m.pt.arrays()
        free = a["free"]
        est = np.where(free > 0, theta[np.maximum(free - 1, 0)], a["ustart"])
        lhs, op, rhs, grp = a["lhs"], a["op"], a["rhs"], a["group"]
        for g in range(len(m.stats)):
            sig = m.rams[g].implied(theta)[0]
            for i in np.flatnonzero((grp == g + 1) & (op == "~~") & (lhs == rhs) & (free == 0)):
                if lhs[i] in m.ov:
                    k = m.ov.index(lhs[i])
                    dk = m.delta_free[g][k]
                    dl = theta[dk] if dk >= 0 else 1.0
                    est[i] = 1.0 / (dl * dl) - sig[k, k] if m.param == "delta" else 1.0
            if m.param == "theta":
                for i in np.flatnonzero((grp == g + 1) & (op == "~*~")):
                    k = m.ov.index(lhs[i])
                    est[i] = 1.0 / math.sqrt(sig[k, k])
        return est

    def _standardize(self, est):
        m = self._m
        a = m.pt.arrays()
        std_lv, std_all = est.copy(), est.copy()
        lvset = set(m.pt.names.lv)
        op, lhs, rhs, grp = a["op"], a["lhs"], a["rhs"], a["group"]
        for g, ram in enumerate(m.rams):
            sel_g = grp == g + 1
            # A, S with the fixed residual variances of the items filled in
            A = np.zeros((ram.m, ram.m))
            S = np.zeros((ram.m, ram.m))
            pos = {v: i for i, v in enumerate(ram.vars)}
            for i in np.flatnonzero(sel_g):
                if op[i] == "=~":
                    A[pos[rhs[i]], pos[lhs[i]]] = est[i]
                elif op[i] == "~":
                    A[pos[lhs[i]], pos[rhs[i]]] = est[i]
                elif op[i] == "~~":
                    S[pos[lhs[i]], pos[rhs[i]]] = S[pos[rhs[i]], pos[lhs[i]]] = est[i]
            B = np.linalg.inv(np.eye(ram.m) - A)
            var = np.diag(B @ S @ B.T).copy()
            with np.errstate(invalid="ignore"):
                sd = np.sqrt(np.where(var > 0, var, np.nan))
            vres = {}
            for i in np.flatnonzero(sel_g & (op == "~~") & (lhs == rhs)):
                vres[lhs[i]] = est[i]
            for i in np.flatnonzero(sel_g):
                o, l, r = op[i], lhs[i], rhs[i]
                with np.errstate(invalid="ignore", divide="ignore"):
                    if o == "=~":
                        std_lv[i] = est[i] * sd[pos[l]]
                        std_all[i] = est[i] * sd[pos[l]] / sd[pos[r]]
                        if r in lvset:
                            std_lv[i] = std_all[i]
                    elif o == "~":
                        sr, sl = sd[pos[r]], sd[pos[l]]
                        std_all[i] = est[i] * sr / sl
                        std_lv[i] = est[i] * (sr if r in lvset else 1.0) / (sl if l in lvset else 1.0)
                    elif o == "~~":
                        if l == r:
                            std_all[i] = est[i] / var[pos[l]]
                            std_lv[i] = est[i] / var[pos[l]] if l in lvset else est[i]
                        else:
                            a_, b_ = math.sqrt(abs(vres.get(l, np.nan))), math.sqrt(abs(vres.get(r, np.nan)))
                            std_all[i] = est[i] / (a_ * b_)
                            if l in lvset and r in lvset:
                                std_lv[i] = std_all[i]
                            elif l in lvset or r in lvset:
                                std_lv[i] = est[i] / (a_ if l in lvset else b_)
                    elif o == "|":
                        std_all[i] = est[i] / sd[pos[l]]
                        std_lv[i] = est[i]
                    elif o == "~1":
                        std_all[i] = est[i] / sd[pos[l]]
                        std_lv[i] = est[i] / sd[pos[l]] if l in lvset else est[i]
                    elif o == "~*~":
                        std_all[i] = est[i] * sd[pos[l]]
                        std_lv[i] = est[i]
        return std_lv, std_all

    @cached_property
    def parameters(self) -> pd.DataFrame:
        m = self._m
        pt = m.pt
        a = pt.arrays()
        theta = self.theta
        free = a["free"]
        V = self.vcov
        se_free = np.sqrt(np.clip(np.diag(V), 0, None))
        est = self._row_values(theta)
        se = np.where(free > 0, se_free[np.maximum(free - 1, 0)], 0.0)
        std_lv, std_all = self._standardize(est)
        lhs, op, rhs = list(a["lhs"]), list(a["op"]), list(a["rhs"])
        group, label, free_col = list(a["group"]), list(a["label"]), list(free)
        if pt.defined:
            def dvals(th):
                return self._defined(self._row_values(th))
            from .inference import jacobian
            d_est = dvals(theta)
            J = jacobian(dvals, np.asarray(theta, float))
            d_cov = J @ V @ J.T
            from ..results import append_defined
            est, se, std_lv, std_all = append_defined(
                (lhs, op, rhs, group, label, free_col), (est, se, std_lv, std_all), pt.defined, d_est, d_cov,
                self._defined(std_lv), self._defined(std_all))
        from ..results import parameter_frame
        return parameter_frame(lhs, op, rhs, group, label, free_col, est, se, std_lv, std_all)

    def _defined(self, rowvals):
        a = self._m.pt.arrays()
        env = {}
        for i, lab in enumerate(a["label"]):
            if lab and lab not in env:
                env[lab] = rowvals[i]
        out = []
        for name, expr, func, used in self._m.pt.defined:
            with np.errstate(all="ignore"):
                val = float(func(env))
            env[name] = val
            out.append(val)
        return np.array(out, float)

    @cached_property
    def r2(self) -> dict:
        """R² of the latent responses (1 - residual variance / variance) and of endogenous latents."""
        p = self.parameters
        out = {}
        m = self._m
        a = m.pt.arrays()
        for g in range(len(m.stats)):
            rows = p[(p["group"] == g + 1) & (p["op"] == "~~") & (p["lhs"] == p["rhs"])]
            endo = set(a["rhs"][(a["op"] == "=~") & (a["group"] == g + 1)]) | \
                set(a["lhs"][(a["op"] == "~") & (a["group"] == g + 1)])
            for _, r in rows.iterrows():
                if r["lhs"] in endo:
                    key = r["lhs"] if len(m.stats) == 1 else f"{r['lhs']}.{self.group_labels[g]}"
                    out[key] = float(1.0 - r["std_all"])
        return out

    @cached_property
    def modindices(self) -> pd.DataFrame:
        """lavaan's ``modindices(fit)`` for the WLS family: cross-loadings, residual covariances,
        latent covariances and regressions fixed to zero, scored with the expected information
        Delta' W Delta of the extended model (Saris, Satorra & Sörbom 1987)."""
        from .modindices import candidate_rows
        m = self._m
        cols = ["lhs", "op", "rhs", "group", "mi", "epc", "sepc_lv", "sepc_all"]
        if self._Einv is None:
            return pd.DataFrame(columns=cols)
        ovset = set(m.ov)
        cands = [c for c in candidate_rows(m.pt) if not (c[2] == "~~" and c[1] == c[3])]
        if not cands:
            return pd.DataFrame(columns=cols)
        t = m.pt.table
        npar = m.npar
        extra = pd.DataFrame([dict(id=0, lhs=l, op=o, rhs=r, group=g, user=10, free=npar + k + 1, ustart=np.nan,
                                   exo=0, label="", plabel="", start=None, line=0)
                              for k, (g, l, o, r) in enumerate(cands)])
        ext = ParTable(table=pd.concat([t, extra[t.columns]], ignore_index=True), names=m.pt.names, defined=[],
                       ngroups=m.pt.ngroups, group_labels=m.pt.group_labels, meanstructure=m.pt.meanstructure)
        mx = OrdinalModel(ext, m.ov, m.stats, m.param) if not isinstance(m, ContinuousModel) else \
            ContinuousModel(ext, m.ov, m.stats)
        th = np.concatenate([self.theta, np.zeros(len(cands))])
        N = self.nobs
        k_all = npar + len(cands)
        info = np.zeros((k_all, k_all))
        grad = np.zeros(k_all)
        for g, st in enumerate(m.stats):
            sg, D, _ = mx.implied(th, g)
            e = st.wls_obs - sg
            W = np.diag(self._Ws[g]) if self._Wfs[g] is None else self._Wfs[g]
            WD = W @ D
            info += self._fg[g] * D.T @ WD
            grad += -(st.N - 1) / N * (WD.T @ e)
        e_idx = np.arange(npar, k_all)
        I11 = info[np.ix_(e_idx, e_idx)]
        I12 = info[np.ix_(e_idx, np.arange(npar))]
        Vd = np.diag(I11) - np.einsum("ij,jk,ik->i", I12, self._Einv, I12)
        Vd = np.where(Vd < np.finfo(float).eps ** (1 / 3), np.nan, Vd)
        gx = grad[e_idx]
        with np.errstate(invalid="ignore", divide="ignore"):
            mi = N * gx * gx / Vd
            epc = -gx / Vd
        # standardized EPC with the fitted solution's SDs (latent responses: residual variances of the table)
        P = self.parameters
        resv = {(r.group, r.lhs): r.est for r in P[(P["op"] == "~~") & (P["lhs"] == P["rhs"])].itertuples()}
        lvset = set(m.pt.names.lv)
        sd = {}
        for g, ram in enumerate(m.rams):
            est = self._row_values(self.theta)
            a = m.pt.arrays()
            A = np.zeros((ram.m, ram.m))
            S = np.zeros((ram.m, ram.m))
            pos = {v: i for i, v in enumerate(ram.vars)}
            for i in np.flatnonzero(a["group"] == g + 1):
                o, l, r = a["op"][i], a["lhs"][i], a["rhs"][i]
                if o == "=~":
                    A[pos[r], pos[l]] = est[i]
                elif o == "~":
                    A[pos[l], pos[r]] = est[i]
                elif o == "~~":
                    S[pos[l], pos[r]] = S[pos[r], pos[l]] = est[i]
            B = np.linalg.inv(np.eye(ram.m) - A)
            var = np.diag(B @ S @ B.T)
            for v, i in pos.items():
                sd[(g + 1, v)] = math.sqrt(var[i]) if var[i] > 0 else np.nan
        sepc_lv = np.full(len(cands), np.nan)
        sepc_all = np.full(len(cands), np.nan)
        for k, (g, l, o, r) in enumerate(cands):
            ek = epc[k]
            if o == "=~":
                sepc_lv[k] = ek * sd[(g, l)]
                sepc_all[k] = ek * sd[(g, l)] / sd[(g, r)] if r in ovset or r in lvset else np.nan
                if r in lvset:
                    sepc_lv[k] = sepc_all[k]
            elif o == "~":
                sepc_all[k] = ek * sd[(g, r)] / sd[(g, l)]
                sepc_lv[k] = ek * (sd[(g, r)] if r in lvset else 1.0) / (sd[(g, l)] if l in lvset else 1.0)
            elif o == "~~":
                a_, b_ = math.sqrt(abs(resv.get((g, l), np.nan))), math.sqrt(abs(resv.get((g, r), np.nan)))
                sepc_all[k] = ek / (a_ * b_)
                sepc_lv[k] = sepc_all[k] if (l in lvset and r in lvset) else ek
        out = pd.DataFrame({"lhs": [c[1] for c in cands], "op": [c[2] for c in cands], "rhs": [c[3] for c in cands],
                            "group": [c[0] for c in cands], "mi": mi, "epc": epc, "sepc_lv": sepc_lv,
                            "sepc_all": sepc_all})
        return out[np.isfinite(out["mi"])].reset_index(drop=True)

    # ------------------------------------------------------------------ presentation
    @property
    def polychoric(self) -> pd.DataFrame:
        st = self._m.stats[0]
        return pd.DataFrame(st.R, index=st.names, columns=st.names)

    def to_frame(self) -> pd.DataFrame:
        return self.parameters.copy()

    def fit_table(self) -> pd.DataFrame:
        return pd.DataFrame({"measure": list(self.fit_measures), "value": list(self.fit_measures.values())})

    def summary(self) -> str:
        fmv = self.fit_measures
        lines = [f"icaf_sem {self.estimator} fit (ordered items, {self._m.param} parameterization): N = {self.nobs}, "
                 f"converged: {self.converged}",
                 f"chisq = {fmv['chisq']:.3f}, df = {fmv['df']}"]
        if "chisq.scaled" in fmv:
            lines.append(f"chisq.scaled ({self.test_kind}) = {fmv['chisq.scaled']:.3f}, p = {fmv['pvalue.scaled']:.4f}")
            lines.append(f"CFI.scaled = {fmv['cfi.scaled']:.3f}, RMSEA.scaled = {fmv['rmsea.scaled']:.3f}, "
                         f"CFI.robust = {fmv.get('cfi.robust', np.nan):.3f}, "
                         f"RMSEA.robust = {fmv.get('rmsea.robust', np.nan):.3f}, SRMR = {fmv['srmr']:.3f}")
        for w in self.warnings:
            lines.append("warning: " + w)
        lines.append(self.parameters.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        return "\n".join(lines)

    def __repr__(self):
        return f"<OrdinalResult {self.estimator} N={self.nobs} chisq={self.chisq:.3f} df={self.df}>"

    def _repr_html_(self):
        return (f"<p><b>icaf_sem {self.estimator}</b> (ordered items), N = {self.nobs}</p>"
                + self.fit_table().to_html(index=False, float_format=lambda v: f"{v:.3f}")
                + self.parameters.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep=""))

    def _attach_bootstrap(self, boot):
        """lavaan's ``se = "bootstrap"``: SEs, z, p and percentile CIs from the draws
        (:mod:`icaf_sem.estimation.ordinal_bootstrap`); tests and standardized values unchanged."""
        self.boot = boot
        self.se_kind = "bootstrap"
        self.parameters = boot.annotate(self.parameters)
        for msg in boot.messages:
            self._warn(BootstrapWarning, msg)

    def to_dict(self) -> dict:
        params = []
        for r in self.parameters.to_dict("records"):
            row = {k: _clean(r[k]) for k in ["lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue",
                                             "ci_lower", "ci_upper", "std_lv", "std_all"]}
            row["group"] = int(r["group"]) if r["op"] != ":=" else 1
            if self.boot is not None and "boot_pct_lower" in r and _clean(r["boot_se"]) is not None:
                row["boot_se"] = _clean(r["boot_se"])
                row["boot_ci"] = {"percentile": {"lower": _clean(r["boot_pct_lower"]),
                                                 "upper": _clean(r["boot_pct_upper"])},
                                  "bias_corrected": {"lower": _clean(r["boot_bc_lower"]),
                                                     "upper": _clean(r["boot_bc_upper"])}}
            params.append(row)
        out = {"parameters": params, "fit": {k: _clean(v) for k, v in self.fit_measures.items()},
               "r2": {k: _clean(v) for k, v in self.r2.items()}, "converged": self.converged,
               "warnings": list(self.warnings), "estimator": self.estimator, "missing": self.missing,
               "nobs": self.nobs, "parameterization": self._m.param, "ordered": list(self.ordered),
               "zero_cell_tables": self.zero_cell_tables, "notes": list(self.notes),
               "test_details": {"test": self.test_kind, **({k: _clean(v) for k, v in
                                                           self.tests.get(self.test_kind, {}).items()}
                                                          if self.test_kind != "standard" else {}),
                                "trace_UGamma": _clean(self.trUG), "trace_UGamma2": _clean(self.trUG2)}}
        if self.spec["n_dropped"]:
            out["n_dropped"] = self.spec["n_dropped"]
        if self.boot is not None:
            out["bootstrap"] = self.boot.summary_dict()
        if getattr(self, "_want_mi", True):
            try:
                out["modindices"] = [{k: _clean(v) for k, v in r.items()}
                                     for r in self.modindices.to_dict("records")]
            except Exception as exc:  # an MI failure must not lose the fit
                out["modindices"] = []
                out["warnings"].append(f"modification indices could not be computed: {exc}")
        return out


# ------------------------------------------------------------------------------------------------
def _pchisq(x, df):
    if not np.isfinite(x) or df <= 0:
        return np.nan
    return float(stats.chi2.sf(x, df))


def _scaled(kind, X2, df, tr, tr2):
    if kind == "scaled.shifted":
        a = math.sqrt(df / tr2) if tr2 > 0 else np.nan
        b = df - a * tr
        stat = a * X2 + b
        return {"stat": stat, "df": df, "pvalue": _pchisq(stat, df), "scaling.factor": 1.0 / a, "shift": b,
                "trace.UGamma": tr, "trace.UGamma2": tr2}
    if kind == "satorra.bentler":
        c = tr / df if df > 0 else np.nan
        stat = X2 / c
        return {"stat": stat, "df": df, "pvalue": _pchisq(stat, df), "scaling.factor": c,
                "trace.UGamma": tr, "trace.UGamma2": tr2}
    # mean.var.adjusted (Satterthwaite)
    c = tr2 / tr
    d = tr * tr / tr2
    stat = X2 / c
    return {"stat": stat, "df": d, "pvalue": _pchisq(stat, d), "scaling.factor": c,
            "trace.UGamma": tr, "trace.UGamma2": tr2}


def _incremental(X2, df, X2n, dfn) -> dict:
    """RFI, NFI, PNFI, IFI and RNI against the baseline, by lavaan's rules (estimation/fit_measures.py)."""
    return {"rfi": fm.rfi(X2, df, X2n, dfn), "nfi": fm.nfi(X2, X2n, df, dfn), "pnfi": fm.pnfi(X2, df, X2n, dfn),
            "ifi": fm.ifi(X2, df, X2n, dfn), "rni": fm.rni(X2, df, X2n, dfn)}


def _cfi_r(X2, df, X2n, dfn, c, cn):
    if any(not np.isfinite(v) for v in (X2, X2n, c, cn)):
        return np.nan
    t1 = max(X2 - c * df, 0.0)
    t2 = max(X2 - c * df, X2n - cn * dfn, 0.0)
    if np.isclose(t1, 0) and np.isclose(t2, 0):
        return 1.0
    return 1.0 - t1 / t2


def _tli_r(X2, df, X2n, dfn, c, cn):
    if any(not np.isfinite(v) for v in (X2, X2n, c, cn)):
        return np.nan
    t1 = (X2 - c * df) * dfn
    t2 = (X2n - cn * dfn) * df
    return 1.0 - t1 / t2 if df > 0 and abs(t2) > 0 else 1.0


def _rni_r(X2, df, X2n, dfn, c, cn):
    if any(not np.isfinite(v) for v in (X2, X2n, c, cn)):
        return np.nan
    t2 = X2n - cn * dfn
    return np.nan if np.isclose(t2, 0) else 1.0 - (X2 - c * df) / t2


def _crmr(res):
    """Correlation RMR: like SRMR without the diagonal."""
    tot = 0.0
    for g, st in enumerate(res._m.stats):
        ecor = res.residuals[g][st.ncor0:]
        tot += res._fg[g] * math.sqrt(np.mean(ecor ** 2)) if len(ecor) else 0.0
    return tot


# ================================================================================================
# continuous data: GLS, ULS and WLS (ADF) through the same machinery (lavaan's estimator = "GLS" |
# "ULS" | "WLS" without ordered items)
def _vech_idx(p):
    """lavaan's vech order: the lower triangle with the diagonal, column by column."""
    I, J = [], []
    for j in range(p):
        for i in range(j, p):
            I.append(i)
            J.append(j)
    return np.array(I, int), np.array(J, int)


class ContinuousStats:
    """vech(S) (divisor N), the ADF Gamma and the weights of one group."""

    def __init__(self, X, names, estimator):
        self.names = list(names)
        self.N = X.shape[0]
        p = X.shape[1]
        self.mean = X.mean(0)
        Xc = X - self.mean
        # lavaan uses the unbiased sample covariance (divisor N - 1) with GLS, ULS and WLS
        self.S = Xc.T @ Xc / (self.N - 1)
        self.I, self.J = _vech_idx(p)
        self.wls_obs = self.S[self.I, self.J]
        self.nth = 0
        self.nvar = 0
        self.ncor0 = 0
        self.zero_cell_tables = 0
        d = Xc[:, self.I] * Xc[:, self.J] - self.wls_obs          # casewise vech((y - ybar)(y - ybar)') - s
        self.influence = d / self.N                                # Gamma = N IF' IF (ADF, divisor N)
        self.gamma = d.T @ d / self.N
        if estimator == "GLS":
            Si = np.linalg.inv(self.S)
            I, J = self.I, self.J
            # 0.5 D' (S^-1 kron S^-1) D on the vech elements
            W = Si[np.ix_(I, I)] * Si[np.ix_(J, J)] + Si[np.ix_(I, J)] * Si[np.ix_(J, I)]
            W *= np.outer(np.where(I == J, 1.0, 2.0), np.where(I == J, 1.0, 2.0)) / 4.0
            self.W = W
        elif estimator == "WLS":
            try:
                self.W = np.linalg.inv(self.gamma)
            except np.linalg.LinAlgError:
                raise DataError("the ADF Gamma matrix is singular (too few rows for the number of variables); "
                                "WLS needs N well above p(p+1)/2: use ML/MLR instead") from None
        else:
            self.W = None


class ContinuousModel:
    def __init__(self, pt, ov, stats_g):
        self.pt, self.ov, self.stats = pt, list(ov), stats_g
        self.rams = [GroupRAM(pt, g + 1, ov) for g in range(len(stats_g))]
        self.npar = pt.arrays()["npar"]
        self.param = "continuous"
        self.general = False
        self.mixed = False
        self.delta_free = [np.full(len(ov), -1) for _ in stats_g]
        self.th_free = [np.zeros(0, int) for _ in stats_g]

    def implied(self, theta, g, jac=True):
        st = self.stats[g]
        sig, _ = self.rams[g].implied(theta)
        s = sig[st.I, st.J]
        if not jac:
            return s, sig
        dS, _ = self.rams[g].delta(theta)
        return s, dS[:, st.I, st.J].T, sig


def fit_continuous(stmts, data, *, model_text, estimator, std_lv, missing, group=None, max_iter=500):
    """GLS / ULS / WLS (ADF) for continuous indicators (lavaan's estimators of those names)."""
    est = estimator.upper()
    if missing != "listwise":
        raise ModelSpecificationError(f"estimator={est!r} works on complete cases only (as lavaan); use "
                                      "missing='listwise', or ML/MLR with missing='ml'")
    if group is not None:
        raise ModelSpecificationError(f"multi-group models with estimator={est!r} are not supported yet; use ML/MLR")
    if any(s.op == "~1" for s in stmts):
        raise ModelSpecificationError(f"mean structures (~1) with estimator={est!r} are not supported yet; use ML")
    names = variable_names([s for s in stmts if s.op in ("=~", "~", "~~", "~1")])
    if names.ov_x:
        raise ModelSpecificationError(f"observed exogenous covariates with estimator={est!r} are not supported yet "
                                      "(lavaan's fixed.x); use ML/MLR")
    ov = names.ov
    absent = [v for v in ov if v not in map(str, data.columns)]
    if absent:
        raise ModelSpecificationError(f"variable(s) {', '.join(map(repr, absent))} appear in the model but are "
                                      "neither columns of the data nor latent variables")
    from .._columns import numeric_block
    X = numeric_block(data, ov)           # continuous items: the ML path's message
    keep = ~np.isnan(X).any(1)
    X = X[keep]
    if len(X) <= len(ov):
        raise DataError(f"only {len(X)} complete rows for {len(ov)} variables; {est} needs more")
    st = ContinuousStats(X, ov, est)
    pt = build_partable(stmts, std_lv=std_lv, meanstructure=False)
    model = ContinuousModel(pt, ov, [st])
    nel = len(st.wls_obs)
    if nel - model.npar < 0:
        raise IdentificationError(f"the model has {model.npar} free parameters but only {nel} sample moments; it "
                                  "is not identified")
    from .optimize import start_values
    theta0 = start_values(pt, model.rams, [(st.S, st.mean)])
    Ws = [np.ones(nel) if st.W is None else None]
    Wfs = [st.W]
    theta, F, converged, its = gauss_newton(model, theta0, Ws, Wfs, max_iter=max_iter)
    spec = {"ov": ov, "ordered": [], "labels": [1], "n_dropped": int((~keep).sum()), "n_input": len(data)}
    res = ContinuousWLSResult(model=model, theta=theta, Ws=Ws, Wfs=Wfs, estimator=est,
                              weight=("ULS" if est == "ULS" else est), se_kind="standard", test_kind="standard",
                              converged=converged, iterations=its, spec=spec, model_text=model_text,
                              missing="listwise")
    res.fit_measures
    res.parameters
    if not converged:
        res._warn(ConvergenceWarning, f"the {est} estimation did not converge in {its} iterations")
    return res


class ContinuousWLSResult(OrdinalResult):
    """The result of :func:`icaf_sem.fit` with ``estimator="GLS" | "ULS" | "WLS"`` (continuous items)."""

    def _checks(self):
        pass

    def _resid_var(self, g):
        return {}

    def _row_values(self, theta):
        a = self._m.pt.arrays()
        free = a["free"]
        return np.where(free > 0, theta[np.maximum(free - 1, 0)], a["ustart"]).astype(float)

    @cached_property
    def baseline(self) -> dict:
        """Independence model (free variances) fitted with the same weight."""
        X2, dfb = 0.0, 0
        for g, st in enumerate(self._m.stats):
            diag = np.flatnonzero(st.I == st.J)
            D = np.zeros((len(st.wls_obs), len(diag)))
            D[diag, np.arange(len(diag))] = 1.0
            W = np.diag(self._Ws[g]) if self._Wfs[g] is None else self._Wfs[g]
            v = np.linalg.solve(D.T @ W @ D, D.T @ W @ st.wls_obs)
            e = st.wls_obs - D @ v
            X2 += (st.N - 1) * float(e @ W @ e)
            dfb += len(st.wls_obs) - len(diag)
        pv = np.nan if self.weight == "ULS" else _pchisq(X2, dfb)
        return {"standard": {"stat": X2, "df": dfb, "pvalue": pv}}

    @cached_property
    def catml(self):
        return None

    @cached_property
    def fit_measures(self) -> dict:
        T, B = self.tests, self.baseline
        G = len(self._m.stats)
        Nr = self.nobs - G
        X2, df = self.chisq, self.df
        X2n, dfn = B["standard"]["stat"], B["standard"]["df"]
        out = {"npar": self._m.npar, "chisq": X2, "df": df, "pvalue": T["standard"]["pvalue"],
               "baseline.chisq": X2n, "baseline.df": dfn, "baseline.pvalue": B["standard"]["pvalue"],
               "cfi": fm.cfi(X2, df, X2n, dfn), "tli": fm.tli(X2, df, X2n, dfn)}
        out["nnfi"] = out["tli"]
        out.update(_incremental(X2, df, X2n, dfn))
        out["rmsea"] = fm.rmsea(X2, df, Nr, G)
        out["rmsea.ci.lower"], out["rmsea.ci.upper"] = fm.rmsea_ci(X2, df, Nr, G)
        out["rmsea.pvalue"] = fm.rmsea_pvalue(X2, df, Nr, G)
        # lavaan's names around the RMSEA family; like the RMSEA, Hoelter's N, McDonald's index
        # and the ECVI use N - 1 here (the statistic is (N - 1) F), while fmin is X2 / (2 N)
        out["rmsea.ci.level"], out["rmsea.close.h0"], out["rmsea.notclose.h0"] = 0.90, 0.05, 0.08
        out["rmsea.notclose.pvalue"] = fm.rmsea_pvalue(X2, df, Nr, G, h0=0.08, close=False)
        out["fmin"] = X2 / (2.0 * self.nobs)
        st = self._m.stats[0]
        S, Sig = st.S, self.implied_sigma[0]
        res = fm.residual_summaries(S, Sig)
        out["srmr"] = res["srmr_bentler"]
        for name in ("rmr", "rmr_nomean", "srmr_bentler", "srmr_bentler_nomean", "crmr", "crmr_nomean",
                     "srmr_mplus", "srmr_mplus_nomean"):
            out[name] = float(res[name])
        out["cn_05"] = fm.cn(X2, df, Nr, 0.05)
        out["cn_01"] = fm.cn(X2, df, Nr, 0.01)
        out["mfi"] = fm.mfi(X2, df, Nr)
        out["ecvi"] = fm.ecvi(X2, self._m.npar, Nr)
        e = st.wls_obs - Sig[st.I, st.J]
        W = np.diag(self._Ws[0]) if self._Wfs[0] is None else self._Wfs[0]
        gfi = 1 - float(e @ W @ e) / float(st.wls_obs @ W @ st.wls_obs)
        out["gfi"] = gfi
        out["agfi"] = 1 - (self.nel / df) * (1 - gfi) if df > 0 else 1.0
        out["pgfi"] = (df / self.nel) * gfi
        out["ntotal"] = self.nobs
        return out

    @cached_property
    def r2(self) -> dict:
        p = self.parameters
        out = {}
        a = self._m.pt.arrays()
        endo = set(a["rhs"][a["op"] == "=~"]) | set(a["lhs"][a["op"] == "~"])
        for _, r in p[(p["op"] == "~~") & (p["lhs"] == p["rhs"])].iterrows():
            if r["lhs"] in endo:
                out[r["lhs"]] = float(1.0 - r["std_all"])
        return out

    def to_dict(self) -> dict:
        out = super().to_dict()
        for k in ("parameterization", "ordered", "zero_cell_tables", "test_details"):
            out.pop(k, None)
        return out

    def summary(self) -> str:
        fmv = self.fit_measures
        lines = [f"icaf_sem {self.estimator} fit: N = {self.nobs}, converged: {self.converged}",
                 f"chisq = {fmv['chisq']:.3f}, df = {fmv['df']}, CFI = {fmv['cfi']:.3f}, RMSEA = {fmv['rmsea']:.3f}, "
                 f"SRMR = {fmv['srmr']:.3f}"]
        lines += ["warning: " + w for w in self.warnings]
        lines.append(self.parameters.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        return "\n".join(lines)
