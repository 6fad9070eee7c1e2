"""General parameter constraints: nonlinear equality (``c == a*b``, ``a1 == 3 - a2 - a3``) and
inequality (``a > 0``, ``a < b``), as lavaan estimates them.

Estimation minimises the ML discrepancy subject to the constraints (SLSQP; lavaan uses
``nlminb.constr``, an augmented Lagrangian: both find the constrained optimum).  The standard
errors follow ``lav_model_information_augment_invert``: the information is augmented by the
Jacobian H of the equality and the *active* inequality constraints; the top-left block of the
inverse of [[I + H'H, H'], [H, 0]] is Z (Z' I Z)^-1 Z' with Z a basis of the null space of H
(adding H'H does not change it).  The degrees of freedom grow by the rank of the equality
constraints' Jacobian; inequality constraints leave them unchanged (lavaan's ``lav_test``).
"""
from __future__ import annotations

import numpy as np
from .._lazy import lazy

from ..errors import ModelSpecificationError

linalg, optimize = lazy("scipy.linalg"), lazy("scipy.optimize")

ACTIVE_TOL = 1e-6


class ConstraintSet:
    """The general constraints of a parameter table as functions of the free parameters."""

    def __init__(self, pt):
        self.pt = pt
        self.items = list(pt.constraints)
        a = pt.arrays()
        self._free, self._ust, self._label = a["free"], a["ustart"], a["label"]
        self.eq = [c for c in self.items if c[0] == "eq"]
        self.ineq = [c for c in self.items if c[0] == "ineq"]

    def __bool__(self):
        return bool(self.items)

    def _env(self, theta):
        env = {}
        for i, lab in enumerate(self._label):
            if lab and lab not in env:
                f = self._free[i]
                env[lab] = theta[f - 1] if f > 0 else self._ust[i]
        return env

    def values(self, theta, which):
        env = self._env(np.asarray(theta, float))
        items = self.eq if which == "eq" else self.ineq
        return np.array([float(c[2](env)) for c in items], dtype=float)

    def jacobian(self, theta, which, h=1e-6):
        from .inference import jacobian
        return jacobian(lambda t: self.values(t, which), np.asarray(theta, float), h=h)

    def n_eq(self, theta):
        """Rank of the equality constraints' Jacobian (lavaan adds it to the degrees of freedom)."""
        if not self.eq:
            return 0
        return int(np.linalg.matrix_rank(self.jacobian(theta, "eq")))

    def active_jacobian(self, theta):
        """Jacobian rows of the equality and the active inequality constraints."""
        rows = []
        if self.eq:
            rows.append(self.jacobian(theta, "eq"))
        if self.ineq:
            v = self.values(theta, "ineq")
            act = v <= ACTIVE_TOL * np.maximum(1.0, np.abs(v))
            if act.any():
                rows.append(self.jacobian(theta, "ineq")[act])
        return np.vstack(rows) if rows else np.zeros((0, len(theta)))

    def projected_inverse(self, info, theta):
        """Top-left block of lavaan's augmented inverse: Z (Z' I Z)^-1 Z', Z spanning null(H)."""
        H = self.active_jacobian(theta)
        if not len(H):
            return None
        Z = linalg.null_space(H)
        M = Z.T @ info @ Z
        inv = Z @ np.linalg.inv(0.5 * (M + M.T)) @ Z.T
        return 0.5 * (inv + inv.T)

    def minimize(self, objective, theta0, max_iter=500):
        """Constrained minimum of the objective (-logL/N) from ``theta0``: (theta, f, converged, iterations)."""
        def fun(x):
            f, g = objective.value_and_grad(x)
            if not np.isfinite(f):
                return 1e10, np.zeros_like(x)
            return float(f), np.asarray(g, float)
        cons = []
        if self.eq:
            cons.append({"type": "eq", "fun": lambda x: self.values(x, "eq"),
                         "jac": lambda x: self.jacobian(x, "eq")})
        if self.ineq:
            cons.append({"type": "ineq", "fun": lambda x: self.values(x, "ineq"),
                         "jac": lambda x: self.jacobian(x, "ineq")})
        res = optimize.minimize(fun, np.asarray(theta0, float), jac=True, method="SLSQP", constraints=cons,
                                options={"maxiter": int(max_iter), "ftol": 1e-14})
        theta = res.x
        ok = bool(res.success)
        viol = 0.0
        if self.eq:
            viol = max(viol, float(np.max(np.abs(self.values(theta, "eq")))))
        if self.ineq:
            viol = max(viol, float(np.max(np.maximum(-self.values(theta, "ineq"), 0.0))))
        if viol > 1e-6:
            ok = False
        return theta, float(objective(theta)), ok, int(res.nit)


def check_supported(pt, *, estimator_opts, bootstrap, missing):
    """Refuse the combinations whose constrained results icaf_sem does not reproduce."""
    if not pt.constraints:
        return
    names = "; ".join(c[1] for c in pt.constraints)
    if bootstrap:
        raise ModelSpecificationError(f"bootstrap with general constraints ({names}) is not supported; use "
                                      "se='standard' or 'robust.huber.white'")
    bad_tests = [t for t in estimator_opts.tests if t not in ("standard", "yuan.bentler.mplus", "none")]
    if bad_tests or estimator_opts.se not in ("standard", "robust.huber.white", "none"):
        raise ModelSpecificationError(
            f"constraints ({names}) are supported with estimator='ML' or 'MLR' (se='standard' or "
            f"'robust.huber.white'); got se={estimator_opts.se!r}, test={'+'.join(estimator_opts.tests)!r}")
