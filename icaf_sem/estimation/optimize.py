"""Start values and the optimiser.

Complete data: Fisher scoring (Gauss-Newton with the expected information)
with step halving, which converges in a handful of iterations from the start
values below.  Missing data (FIML): the model is first fitted to the EM
estimates of the saturated moments by Fisher scoring, which lands next to the
FIML solution, and then BFGS with the analytic FIML gradient, whose inverse
Hessian starts from that fit's expected information, finishes the job.
"""
from __future__ import annotations

import numpy as np
from scipy import optimize as sopt

from .objectives import Objective, complete_moments_loss


def start_values(pt, rams, moments, std_lv=False):
    """lavaan-like start values from the sample (or EM) moments of each group."""
    t = pt.table
    theta = np.zeros(pt.npar)
    have = np.zeros(pt.npar, bool)
    names = pt.names
    lvset = set(names.lv)
    for g, ram in enumerate(rams):
        S, mu = moments[g]
        ovpos = {v: i for i, v in enumerate(ram.ov)}
        tg = t[t["group"] == ram.group]
        load = {}
        lvvar = {}
        # first-order factors: FABIN-like ratios from the sample covariances
        for f in names.lv:
            rows = tg[(tg["op"] == "=~") & (tg["lhs"] == f)]
            inds = rows["rhs"].tolist()
            obs = [x for x in inds if x in ovpos]
            if not obs or len(obs) != len(inds):
                continue
            marker = obs[0]
            fixed_rows = rows[rows["free"] == 0]
            if len(fixed_rows) and fixed_rows.iloc[0]["rhs"] in ovpos:
                marker = fixed_rows.iloc[0]["rhs"]
            m = ovpos[marker]
            lam = {marker: 1.0}
            for x in obs:
                if x == marker:
                    continue
                j = ovpos[x]
                others = [ovpos[k] for k in obs if k not in (x, marker)]
                ratios = [S[j, k] / S[m, k] for k in others if abs(S[m, k]) > 1e-8]
                lam[x] = float(np.median(ratios)) if ratios else 1.0
            cov_mj = [S[m, ovpos[x]] / lam[x] for x in obs if x != marker and abs(lam[x]) > 1e-8]
            psi = float(np.mean(cov_mj)) if cov_mj else 0.5 * S[m, m]
            psi = float(np.clip(psi, 0.05 * S[m, m], 0.95 * S[m, m]))
            var_fixed = tg[(tg["op"] == "~~") & (tg["lhs"] == f) & (tg["rhs"] == f) & (tg["free"] == 0)]
            if len(var_fixed):
                target = float(var_fixed.iloc[0]["ustart"])
                scale = np.sqrt(psi / target) if target > 0 else 1.0
                lam = {k: v * scale for k, v in lam.items()}
                psi = target
            for x, v in lam.items():
                load[(f, x)] = v
            lvvar[f] = psi
        # higher-order factors and anything else
        for f in reversed(names.lv):
            if f in lvvar:
                continue
            rows = tg[(tg["op"] == "=~") & (tg["lhs"] == f)]
            sub = [lvvar.get(x, 1.0) if x in lvset else S[ovpos[x], ovpos[x]] for x in rows["rhs"]]
            lvvar[f] = 0.5 * float(np.mean(sub)) if sub else 1.0
            for x in rows["rhs"]:
                load[(f, x)] = 1.0
        for i, r in tg.iterrows():
            k = int(r["free"]) - 1
            if k < 0 or have[k]:
                continue
            op, lhs, rhs = r["op"], r["lhs"], r["rhs"]
            val = 0.0
            if op == "=~":
                val = load.get((lhs, rhs), 1.0)
            elif op == "~~" and lhs == rhs:
                if lhs in ovpos:
                    val = 0.5 * S[ovpos[lhs], ovpos[lhs]]
                    if lhs in names.ov_y:
                        val = S[ovpos[lhs], ovpos[lhs]]
                else:
                    val = lvvar.get(lhs, 1.0)
                    # indicators of higher-order factors keep half their variance as residual
                    if any((tg["op"] == "=~") & (tg["rhs"] == lhs)):
                        val = 0.5 * val
            elif op == "~1":
                val = float(mu[ovpos[lhs]]) if lhs in ovpos else 0.0
            if r["start"] is not None and not (isinstance(r["start"], float) and np.isnan(r["start"])):
                val = float(r["start"])
            theta[k] = val
            have[k] = True
    return theta


def expected_information(rams, datas_or_weights, theta, moments_fn=None):
    """Expected (Fisher) information per observation, averaged over groups with weights N_g/N."""
    npar = len(theta)
    info = np.zeros((npar, npar))
    for ram, w in zip(rams, datas_or_weights):
        sigma, mu = ram.implied(theta)
        P = np.linalg.inv(sigma)
        d_sigma, d_mu = ram.delta(theta)
        p = P.shape[0]
        Y = (P @ d_sigma @ P).reshape(npar, p * p)                  # (npar, p^2)
        I = 0.5 * (Y @ d_sigma.reshape(npar, p * p).T)
        if ram.meanstructure:
            I += d_mu @ P @ d_mu.T
        info += w * I
    return 0.5 * (info + info.T)


def fisher_scoring(objective: Objective, rams, weights, theta0, moments=None, max_iter=200, tol=1e-10):
    """Minimise a complete-data objective by Fisher scoring with step halving."""
    theta = np.array(theta0, float)
    f, g = objective.value_and_grad(theta)
    if not np.isfinite(f):
        return theta, f, False, 0
    for it in range(1, max_iter + 1):
        info = expected_information(rams, weights, theta)
        try:
            step = -np.linalg.solve(info, g)
        except np.linalg.LinAlgError:
            step = -np.linalg.lstsq(info, g, rcond=None)[0]
        alpha = 1.0
        while True:
            cand = theta + alpha * step
            fc, gc = objective.value_and_grad(cand)
            if np.isfinite(fc) and fc <= f + 1e-12 * abs(f):
                break
            alpha *= 0.5
            if alpha < 1e-6:
                return theta, f, False, it
        theta, f_old, f, g = cand, f, fc, gc
        if np.max(np.abs(g)) < tol or (abs(f_old - f) < 1e-15 * max(1, abs(f)) and np.max(np.abs(alpha * step)) < 1e-9):
            return theta, f, True, it
    return theta, f, np.max(np.abs(g)) < 1e-6, max_iter


def quasi_newton(objective: Objective, theta0, hess_inv0=None, max_iter=2000, gtol=1e-9):
    """BFGS with the analytic gradient (SciPy), optionally from an approximate inverse Hessian."""
    opts = {"gtol": gtol, "maxiter": max_iter}
    if hess_inv0 is not None:
        opts["hess_inv0"] = hess_inv0

    def fun(th):
        f, g = objective.value_and_grad(th)
        if not np.isfinite(f):
            return 1e10, np.zeros_like(th)
        return f, g
    res = sopt.minimize(fun, theta0, jac=True, method="BFGS", options=opts)
    f, g = objective.value_and_grad(res.x)
    ok = bool(np.isfinite(f) and np.max(np.abs(g)) < 1e-6)
    return res.x, f, ok, res.nit
