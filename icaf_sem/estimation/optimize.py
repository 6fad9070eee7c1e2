"""Start values and the optimiser.

Complete data: Fisher scoring (Gauss-Newton with the expected information)
with step halving, which converges in a handful of iterations from the start
values below.  Missing data (FIML): the model is first fitted to the EM
estimates of the saturated moments by Fisher scoring, which lands next to the
FIML solution, and then BFGS with the analytic FIML gradient, whose inverse
Hessian starts from that fit's expected information, finishes the job.
"""
from __future__ import annotations

import statistics

import numpy as np
from .._lazy import lazy

sopt = lazy("scipy.optimize")

from .._linalg import chol_solve, spd_inverse, sym_inv
from .objectives import Objective


# Convergence: the largest absolute gradient of -logL/N below 1e-7.  lavaan (nlminb, rel.tol 1e-10)
# stops with a largest gradient of about 2e-6 on the reference wave, so this is over 10x tighter;
# iterating further moves the estimates by < 1e-6 and no reported number.
GTOL = 1e-7


def start_values(pt, rams, moments):
    """lavaan-like start values from the sample (or EM) moments of each group.

    Loadings of first-order factors use FABIN-like ratios of sample covariances,
    factor variances the covariance of the marker with the other indicators,
    residual variances half the observed variance, regressions and covariances
    zero, intercepts the sample means.
    """
    a = pt.arrays()
    lhs_a, op_a, rhs_a = a["lhs"], a["op"], a["rhs"]
    grp_a, free_a = a["group"], a["free"]
    ust_a, st_a = a["ustart"], a["start"]
    theta = np.zeros(pt.npar)
    have = np.zeros(pt.npar, bool)
    names = pt.names
    lvset = set(names.lv)
    ov_y = set(names.ov_y)
    for g, ram in enumerate(rams):
        S_arr, mu = moments[g]
        S = S_arr.tolist()                       # Python floats: the loops below index it often
        ovpos = {v: i for i, v in enumerate(ram.ov)}
        rows = np.flatnonzero(grp_a == ram.group).tolist()
        by_lv: dict = {}
        indicator_of = set()
        for i in rows:
            if op_a[i] == "=~":
                by_lv.setdefault(lhs_a[i], []).append(i)
                indicator_of.add(rhs_a[i])
        fixed_var = {lhs_a[i]: ust_a[i] for i in rows
                     if op_a[i] == "~~" and lhs_a[i] == rhs_a[i] and lhs_a[i] in lvset and free_a[i] == 0}
        load, lvvar = {}, {}
        for f, idx in by_lv.items():
            inds = [rhs_a[i] for i in idx]
            if not all(x in ovpos for x in inds):
                continue
            fixed = [rhs_a[i] for i in idx if free_a[i] == 0]
            marker = fixed[0] if fixed else inds[0]
            m = ovpos[marker]
            lam = {marker: 1.0}
            for x in inds:
                if x == marker:
                    continue
                j = ovpos[x]
                ratios = [S[j][ovpos[k]] / S[m][ovpos[k]] for k in inds
                          if k not in (x, marker) and abs(S[m][ovpos[k]]) > 1e-8]
                lam[x] = float(statistics.median(ratios)) if ratios else 1.0
            cov_mj = [S[m][ovpos[x]] / lam[x] for x in inds if x != marker and abs(lam[x]) > 1e-8]
            psi = sum(cov_mj) / len(cov_mj) if cov_mj else 0.5 * S[m][m]
            psi = min(max(psi, 0.05 * S[m][m]), 0.95 * S[m][m])
            if f in fixed_var and fixed_var[f] > 0:
                scale = np.sqrt(psi / fixed_var[f])
                lam = {k: v * scale for k, v in lam.items()}
                psi = fixed_var[f]
            for x, v in lam.items():
                load[(f, x)] = v
            lvvar[f] = psi
        for f in reversed(names.lv):
            if f in lvvar:
                continue
            sub = [lvvar.get(rhs_a[i], 1.0) if rhs_a[i] in lvset else S[ovpos[rhs_a[i]]][ovpos[rhs_a[i]]]
                   for i in by_lv.get(f, [])]
            lvvar[f] = 0.5 * (sum(sub) / len(sub)) if sub else 1.0
        for i in rows:
            k = free_a[i] - 1
            if k < 0 or have[k]:
                continue
            op, lhs, rhs = op_a[i], lhs_a[i], rhs_a[i]
            val = 0.0
            if op == "=~":
                val = load.get((lhs, rhs), 1.0)
            elif op == "~~" and lhs == rhs:
                if lhs in ovpos:
                    val = S[ovpos[lhs]][ovpos[lhs]] * (1.0 if lhs in ov_y else 0.5)
                else:
                    val = lvvar.get(lhs, 1.0) * (0.5 if lhs in indicator_of else 1.0)
            elif op == "~1":
                val = float(mu[ovpos[lhs]]) if lhs in ovpos else 0.0
            sv = st_a[i]
            if sv is not None and not (isinstance(sv, float) and np.isnan(sv)):
                val = float(sv)
            theta[k] = val
            have[k] = True
    return theta


def expected_information(rams, datas_or_weights, theta):
    """Expected (Fisher) information per observation, averaged over groups with weights N_g/N."""
    npar = len(theta)
    info = np.zeros((npar, npar))
    for ram, w in zip(rams, datas_or_weights):
        if not len(ram.x_idx):
            info += w * _expected_information_rank2(ram, theta)
            continue
        sigma, mu = ram.implied(theta)
        P = np.linalg.inv(sigma)
        d_sigma, d_mu = _drop_x(ram, *ram.delta(theta))
        p = P.shape[0]
        T = (d_sigma.reshape(npar * p, p) @ P).reshape(npar, p, p)
        I = 0.5 * (T.reshape(npar, p * p) @ np.swapaxes(T, 1, 2).reshape(npar, p * p).T)
        if ram.meanstructure:
            I += d_mu @ P @ d_mu.T
        info += w * I
    return 0.5 * (info + info.T)


def _expected_information_rank2(ram, theta):
    """Expected information of one group without forming Delta.

    Each free entry k of A or S moves Sigma by D_k = u_k v_k' + v_k u_k' (see
    :meth:`GroupRAM.delta_factors`), so with Gram matrices a = U P U', b = U P V', c = V P V'
    (P = Sigma^-1) the trace tr(P D_k P D_l) is 2 (b_kl b_lk + a_kl c_kl).
    """
    U, V, d_mu, sigma = ram.delta_factors(theta)
    P, _ = spd_inverse(sigma)
    if P is None:
        P = np.linalg.inv(sigma)
    PU = U @ P
    a = PU @ U.T
    b = PU @ V.T
    c = V @ P @ V.T
    Ie = b * b.T + a * c                      # 0.5 tr(P D_k P D_l)
    if ram._dunique:
        I = np.zeros((ram.npar, ram.npar))
        I[np.ix_(ram._dk, ram._dk)] = Ie
    else:
        I = ram._dinc @ Ie @ ram._dinc.T
    if ram.meanstructure:
        I += d_mu @ P @ d_mu.T
    return I


def fisher_scoring(objective: Objective, rams, weights, theta0, max_iter=300, tol=GTOL,
                   info0=None, switch=1e-2):
    """Minimise the objective by Fisher scoring, turning into BFGS near the optimum.

    Far from the optimum each step uses the expected information (robust);
    once the gradient is below ``switch`` the inverse of the last information is
    updated with BFGS secant steps, which makes the convergence superlinear instead
    of the linear rate of pure scoring, and avoids recomputing (and solving with)
    the information.  Step halving keeps every step downhill.  ``info0`` starts the
    secant phase at once from a given matrix (e.g. for FIML).
    """
    theta = np.array(theta0, float)
    f, g = objective.value_and_grad(theta)
    if not np.isfinite(f):
        return theta, f, False, 0
    Hinv = sym_inv(info0, pinv_if_singular=True) if info0 is not None else None
    secant = info0 is not None
    for it in range(1, max_iter + 1):
        if secant:
            step = -(Hinv @ g)
        else:
            # pure scoring until close to the optimum, then BFGS from the last information
            H = expected_information(rams, weights, theta)
            x = chol_solve(H, g)                        # Cholesky solve (H is positive definite)
            if x is not None:
                step = -x
            else:
                try:
                    step = -np.linalg.solve(H, g)
                except np.linalg.LinAlgError:
                    step = -np.linalg.lstsq(H, g, rcond=None)[0]
            if np.max(np.abs(g)) < switch:
                secant, Hinv = True, sym_inv(H, pinv_if_singular=True)
        if not np.all(np.isfinite(step)) or step @ g >= 0:
            H = expected_information(rams, weights, theta)
            step = -np.linalg.lstsq(H, g, rcond=None)[0]
            if secant:
                Hinv = np.linalg.pinv(H)
        alpha = 1.0
        while True:
            cand = theta + alpha * step
            fc, gc = objective.value_and_grad(cand)
            if np.isfinite(fc) and fc <= f + 1e-12 * abs(f):
                break
            alpha *= 0.5
            if alpha < 1e-8:
                return theta, f, bool(np.max(np.abs(g)) < 1e-6), it
        sv, yv = cand - theta, gc - g
        theta, f_old, f, g = cand, f, fc, gc
        if np.max(np.abs(g)) < tol:
            return theta, f, True, it
        if abs(f_old - f) < 1e-16 * max(1, abs(f)) and np.max(np.abs(sv)) < 1e-12:
            return theta, f, bool(np.max(np.abs(g)) < 1e-6), it
        if secant:
            sy = sv @ yv
            if sy > 1e-12 * np.sqrt(sv @ sv) * np.sqrt(yv @ yv):
                # BFGS update of the inverse: (I - r s y') Hinv (I - r y s') + r s s', r = 1 / s'y
                r = 1.0 / sy
                Hy = Hinv @ yv
                Hinv = (Hinv - r * (np.outer(Hy, sv) + np.outer(sv, Hy))
                        + (r * r * (yv @ Hy) + r) * np.outer(sv, sv))
    return theta, f, bool(np.max(np.abs(g)) < 1e-6), max_iter


def quasi_newton(objective: Objective, theta0, hess_inv0=None, max_iter=2000, gtol=GTOL):
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


def _drop_x(ram, d_sigma, d_mu):
    """Zero the rows of Delta for the exogenous-covariate moments (lavaan zeroes them in the h1 weight)."""
    if len(ram.x_idx):
        d_sigma = np.where(ram.x_block[None], 0.0, d_sigma)
        d_mu = d_mu.copy()
        d_mu[:, ram.x_idx] = 0.0
    return d_sigma, d_mu
