"""Parameter vector <-> RAM matrices, implied moments and their derivatives.

For each group the model is written in RAM form over ``m = p + q`` variables
(observed first, then latent)::

    A   directed paths (loadings and regressions): A[i, j] is the effect j -> i
    S   (residual) variances and covariances
    v   intercepts / means
    B   = (I - A)^-1
    Sigma = F B S B' F'      mu = F B v

Everything accepts a leading batch dimension on ``theta`` so that many
parameter vectors (bootstrap resamples, numerical derivatives) are evaluated
in one vectorised call.
"""
from __future__ import annotations

import numpy as np

from .partable import ParTable


class GroupRAM:
    """The RAM matrices of one group, derived from the parameter table."""

    def __init__(self, pt: ParTable, group: int, ov_names: list[str]):
        a = pt.arrays()
        rows = np.flatnonzero(a["group"] == group)
        self.group = group
        self.ov = list(ov_names)
        self.lv = list(pt.names.lv)
        self.vars = self.ov + self.lv
        self.p, self.m = len(self.ov), len(self.vars)
        self.npar = pt.npar
        pos = {v: i for i, v in enumerate(self.vars)}
        self.A0 = np.zeros((self.m, self.m))
        self.S0 = np.zeros((self.m, self.m))
        self.v0 = np.zeros(self.m)
        Ai, Aj, Ak, Si, Sj, Sk, vi, vk = ([] for _ in range(8))
        for lhs_, op, rhs_, free_, ust_ in zip(a["lhs"][rows].tolist(), a["op"][rows].tolist(),
                                               a["rhs"][rows].tolist(), a["free"][rows].tolist(),
                                               a["ustart"][rows].tolist()):
            k = free_ - 1
            val = ust_ if ust_ == ust_ else 0.0            # NaN (no fixed value) -> 0
            if op == "=~":
                i, j, mat = pos[rhs_], pos[lhs_], "A"
            elif op == "~":
                i, j, mat = pos[lhs_], pos[rhs_], "A"
            elif op == "~~":
                i, j, mat = pos[lhs_], pos[rhs_], "S"
            elif op == "~1":
                i, j, mat = pos[lhs_], 0, "v"
            else:
                continue
            if mat == "A":
                if k >= 0:
                    Ai.append(i); Aj.append(j); Ak.append(k)
                else:
                    self.A0[i, j] = val
            elif mat == "S":
                if k >= 0:
                    Si.append(i); Sj.append(j); Sk.append(k)
                else:
                    self.S0[i, j] = self.S0[j, i] = val
            else:
                if k >= 0:
                    vi.append(i); vk.append(k)
                else:
                    self.v0[i] = val
        self.Ai, self.Aj, self.Ak = np.array(Ai, int), np.array(Aj, int), np.array(Ak, int)
        self.Si, self.Sj, self.Sk = np.array(Si, int), np.array(Sj, int), np.array(Sk, int)
        self.vi, self.vk = np.array(vi, int), np.array(vk, int)
        self.meanstructure = pt.meanstructure
        # exogenous covariates (fixed.x): their moments carry no information in lavaan's h1 weight
        self.x_idx = np.array([self.ov.index(v) for v in pt.names.ov_x if v in self.ov], int)
        self.x_block = np.zeros((self.p, self.p), bool)
        self.x_block[np.ix_(self.x_idx, self.x_idx)] = True
        # incidence matrices entry -> free parameter (equality constraints sum their entries)
        self.IA = _incidence(self.Ak, self.npar)
        self.IS = _incidence(self.Sk, self.npar)
        self.Iv = _incidence(self.vk, self.npar)
        # block-triangular I - A (observed variables are never predictors): see _inv_i_minus_a
        self._split = self.m > self.p and not np.any(self.Aj < self.p) and not np.any(self.A0[:, :self.p])
        # for delta(): the free A and S entries stacked; diagonal S entries are halved because the
        # symmetrisation X + X' doubles them
        self._dk = np.concatenate([self.Ak, self.Sk])
        self._dscale = np.concatenate([np.ones(len(self.Ak)), np.where(self.Si == self.Sj, 0.5, 1.0)])
        self._dunique = len(np.unique(self._dk)) == len(self._dk)
        self._dinc = np.hstack([self.IA, self.IS])
        self._setup_blocks()

    def _setup_blocks(self):
        """Index arrays for the block (LISREL) form, used when it applies.

        When no path starts at an observed variable and no residual covariance links an
        observed variable with a latent one, the RAM matrices fall into blocks::

            A = [[0, L], [0, Al]]    S = [[Theta, 0], [0, Psi]]    v = [nu, alpha]

        (L: p x q loadings, Al: q x q paths among latents) and, with Bl = (I - Al)^-1 and
        Lam = L Bl, Sigma = Theta + Lam Psi Lam' and mu = nu + Lam alpha.  The products
        are then with q x q and p x q matrices instead of m x m ones (q latents, m = p + q),
        which is what makes many refits (bootstrap draws) cheap.
        """
        p, m = self.p, self.m
        cross_S = (np.any((self.Si < p) != (self.Sj < p)) or np.any(self.S0[:p, p:]))
        self._lisrel = bool(self._split and not cross_S)
        if not self._lisrel:
            return
        q = m - p
        self._q = q
        self._L0, self._Al0 = self.A0[:p, p:].copy(), self.A0[p:, p:].copy()
        self._Th0, self._Ps0 = self.S0[:p, :p].copy(), self.S0[p:, p:].copy()
        self._nu0, self._al0 = self.v0[:p].copy(), self.v0[p:].copy()
        ao = self.Ai < p                                # free loadings (row observed) vs latent paths
        self._aL = (self.Ai[ao], self.Aj[ao] - p, self.Ak[ao])
        self._aA = (self.Ai[~ao] - p, self.Aj[~ao] - p, self.Ak[~ao])
        so = self.Si < p
        self._sT = (self.Si[so], self.Sj[so], self.Sk[so])
        self._sP = (self.Si[~so] - p, self.Sj[~so] - p, self.Sk[~so])
        vo = self.vi < p
        self._vN = (self.vi[vo], self.vk[vo])
        self._vA = (self.vi[~vo] - p, self.vk[~vo])
        self._has_al = bool(len(self._aA[0]) or np.any(self._Al0))
        # paths among latents without cycles (recursive model): Al is nilpotent and
        # (I - Al)^-1 = I + Al + ... + Al^(d-1), d = the longest chain of paths + 1
        pattern = self._Al0 != 0
        pattern[self._aA[0], self._aA[1]] = True
        self._al_depth = None
        power = pattern.astype(float)
        for d in range(1, q + 1):
            if not power.any():
                self._al_depth = d
                break
            power = power @ pattern
        # gather positions of the free A entries in the stacked (m x q) latent-column gradient
        self._gA = (self.Ai, self.Aj - p)
        self._sTmask = so

    def _blocks(self, theta):
        """The block matrices (L, Al, Theta, Psi, nu, alpha) at ``theta`` (leading batch dims allowed)."""
        batch = theta.shape[:-1]

        def fill(base, entries, sym=False):
            M = np.broadcast_to(base, batch + base.shape).copy() if batch else base.copy()
            i, j, k = entries
            if len(k):
                M[..., i, j] = theta[..., k]
                if sym:
                    M[..., j, i] = theta[..., k]
            return M
        L = fill(self._L0, self._aL)
        Al = fill(self._Al0, self._aA)
        Th = fill(self._Th0, self._sT, sym=True)
        Ps = fill(self._Ps0, self._sP, sym=True)
        if batch:
            nu = np.broadcast_to(self._nu0, batch + self._nu0.shape).copy()
            al = np.broadcast_to(self._al0, batch + self._al0.shape).copy()
        else:
            nu, al = self._nu0.copy(), self._al0.copy()
        if len(self._vN[1]):
            nu[..., self._vN[0]] = theta[..., self._vN[1]]
        if len(self._vA[1]):
            al[..., self._vA[0]] = theta[..., self._vA[1]]
        return L, Al, Th, Ps, nu, al

    def _implied_blocks(self, theta):
        """Sigma, mu of the observed variables in block form, with the parts the gradient needs.

        For a single parameter vector the last result is kept: the optimiser asks for the
        loss, the gradient and the information at the same point.
        """
        single = theta.ndim == 1
        if single:
            memo = self.__dict__.get("_memo")
            if memo is not None and np.array_equal(memo[0], theta):
                return memo[1]
        out = self._implied_blocks_new(theta)
        if single:
            # shared with later callers: read-only, so nobody can change the kept result
            for arr in (out[0], out[1], *out[2]):
                if arr is not None:
                    arr.flags.writeable = False
            self._memo = (theta.copy(), out)
        return out

    def _implied_blocks_new(self, theta):
        L, Al, Th, Ps, nu, al = self._blocks(theta)
        if self._has_al:
            if self._al_depth is not None:
                Bl = np.eye(self._q) + Al
                for _ in range(self._al_depth - 2):
                    Bl = np.eye(self._q) + Al @ Bl
            else:
                Bl = np.linalg.inv(np.eye(self._q) - Al)
            Lam = L @ Bl
            mu_l = np.einsum("...ij,...j->...i", Bl, al)
        else:
            Bl, Lam, mu_l = None, L, al
        LP = Lam @ Ps
        sigma = Th + LP @ np.swapaxes(Lam, -1, -2)
        mu = nu + np.einsum("...ij,...j->...i", Lam, al)
        return sigma, mu, (Lam, Bl, Ps, mu_l)

    # ------------------------------------------------------------------ matrices
    def matrices(self, theta):
        theta = np.asarray(theta, float)
        batch = theta.shape[:-1]
        A = np.broadcast_to(self.A0, batch + self.A0.shape).copy()
        S = np.broadcast_to(self.S0, batch + self.S0.shape).copy()
        v = np.broadcast_to(self.v0, batch + self.v0.shape).copy()
        A[..., self.Ai, self.Aj] = theta[..., self.Ak]
        S[..., self.Si, self.Sj] = theta[..., self.Sk]
        S[..., self.Sj, self.Si] = theta[..., self.Sk]
        v[..., self.vi] = theta[..., self.vk]
        return A, S, v

    def _inv_i_minus_a(self, A):
        """(I - A)^-1.  When no path starts at an observed variable, I - A is block triangular
        [[I, -A_ol], [0, I - A_ll]], so only the latent block (q x q) is inverted."""
        if not self._split:
            return np.linalg.inv(np.eye(self.m) - A)
        p, q = self.p, self.m - self.p
        Bl = np.linalg.inv(np.eye(q) - A[..., p:, p:])
        B = np.zeros(A.shape)
        B[..., :p, :p] = np.eye(p)
        B[..., p:, p:] = Bl
        B[..., :p, p:] = A[..., :p, p:] @ Bl
        return B

    def implied_all(self, theta):
        """Implied moments of all m variables: (Sigma_all, mu_all, B, S)."""
        A, S, v = self.matrices(theta)
        B = self._inv_i_minus_a(A)
        sig = B @ S @ np.swapaxes(B, -1, -2)
        mu = np.einsum("...ij,...j->...i", B, v)
        return sig, mu, B, S, v

    def implied(self, theta, keep=False):
        """Model-implied covariance matrix and mean vector of the observed variables.

        With ``keep=True`` the intermediate matrices are cached for the next
        :meth:`gradient_chain` call at the same ``theta``.
        """
        if self._lisrel:
            sigma, mu, parts = self._implied_blocks(np.asarray(theta, float))
            self._cache = (theta, parts) if keep else None
            return sigma, mu
        parts = self.implied_all(theta)
        self._cache = (theta, parts) if keep else None
        p = self.p
        return parts[0][..., :p, :p], parts[1][..., :p]

    # ------------------------------------------------------------------ derivatives
    def gradient_chain(self, theta, g_sigma, g_mu=None):
        """Chain a gradient w.r.t. (Sigma, mu) of the observed variables to theta.

        ``g_sigma`` is the derivative of a scalar w.r.t. each element of the
        symmetric Sigma treated as a full matrix (symmetric itself).
        """
        cache = getattr(self, "_cache", None)
        if self._lisrel:
            if cache is not None and cache[0] is theta:
                parts = cache[1]
            else:
                parts = self._implied_blocks(np.asarray(theta, float))[2]
            self._cache = None
            return self._gradient_blocks(theta, parts, g_sigma, g_mu)
        if cache is not None and cache[0] is theta:
            sig, mu_all, B, S, v = cache[1]
        else:
            sig, mu_all, B, S, v = self.implied_all(theta)
        self._cache = None
        p = self.p
        Bo = B[..., :p, :]                                  # F B  (p x m)
        E = np.swapaxes(Bo, -1, -2) @ g_sigma @ Bo          # B'F' G F B (m x m)
        gA = 2.0 * E @ S @ np.swapaxes(B, -1, -2)           # dF/dA
        gS = E
        batch = np.shape(theta)[:-1]
        grad = np.zeros(batch + (self.npar,))
        if g_mu is not None and self.meanstructure:
            h = np.einsum("...ji,...j->...i", Bo, g_mu)     # B'F' g_mu (m)
            gA = gA + h[..., :, None] * mu_all[..., None, :]
            if len(self.vk):
                grad += h[..., self.vi] @ self.Iv.T
        if len(self.Ak):
            grad += gA[..., self.Ai, self.Aj] @ self.IA.T
        if len(self.Sk):
            off = self.Si != self.Sj
            vals = gS[..., self.Si, self.Sj] + np.where(off, gS[..., self.Sj, self.Si], 0.0)
            grad += vals @ self.IS.T
        return grad

    def _gradient_blocks(self, theta, parts, g_sigma, g_mu):
        """:meth:`gradient_chain` in block form (see :meth:`_setup_blocks`).

        With G = dF/dSigma, E = [I, Lam]' G [I, Lam] and dF/dA = 2 E S B', the latent columns
        of dF/dA (the only ones with free entries) are 2 [G Lam; Lam' G Lam] Psi Bl', and
        dF/dS = E has blocks G (Theta) and Lam' G Lam (Psi).
        """
        Lam, Bl, Ps, mu_l = parts
        batch = np.shape(theta)[:-1]
        GL = g_sigma @ Lam                                          # (..., p, q)
        K = np.swapaxes(Lam, -1, -2) @ GL                           # (..., q, q)
        PB = Ps if Bl is None else Ps @ np.swapaxes(Bl, -1, -2)     # Psi Bl'
        grad = np.zeros(batch + (self.npar,))
        ms = g_mu is not None and self.meanstructure
        if ms:
            h_l = np.einsum("...ji,...j->...i", Lam, g_mu)          # Lam' g_mu
        if len(self.Ak):
            gA = 2.0 * np.concatenate([GL, K], axis=-2) @ PB        # (..., m, q)
            vals = gA[..., self._gA[0], self._gA[1]]
            if ms:
                h = np.concatenate([g_mu, h_l], axis=-1)
                vals = vals + h[..., self.Ai] * mu_l[..., self._gA[1]]
            grad += vals @ self.IA.T
        if len(self.Sk):
            so = self._sTmask
            vals = np.empty(batch + (len(self.Sk),))
            vals[..., so] = g_sigma[..., self._sT[0], self._sT[1]]
            vals[..., ~so] = K[..., self._sP[0], self._sP[1]]
            vals = vals * np.where(self.Si != self.Sj, 2.0, 1.0)
            grad += vals @ self.IS.T
        if ms and len(self.vk):
            h = np.concatenate([g_mu, h_l], axis=-1)
            grad += h[..., self.vi] @ self.Iv.T
        return grad

    def delta_factors(self, theta):
        """Delta in factored form: the free A/S entry k moves Sigma by U_k V_k' + V_k U_k'.

        Returns ``(U, V, d_mu, sigma)`` with U, V of shape (nA + nS, p) (rows ordered as
        ``self._dk``), ``d_mu`` (npar, p) and the implied covariance of the observed variables.
        """
        p, npar = self.p, self.npar
        batch = np.shape(theta)[:-1]
        if self._lisrel:
            # F B = [I, Lam] and the rows of Sigma_all for the latents are Bl Psi Lam'
            sig_o, _, (Lam, Bl, Ps, mu_l) = self._implied_blocks(np.asarray(theta, float))
            LamT = np.swapaxes(Lam, -1, -2)
            PsL = Ps @ LamT
            Cl = PsL if Bl is None else Bl @ PsL
            eye = np.broadcast_to(np.eye(p), batch + (p, p))
            Mt = np.concatenate([eye, LamT], axis=-2)                 # (..., m, p)
            C = np.concatenate([sig_o, Cl], axis=-2)                  # (..., m, p)
            mu_all = np.concatenate([np.zeros(batch + (p,)), mu_l], axis=-1)   # only latent entries are read
            sig = C
        else:
            sig, mu_all, B, S, v = self.implied_all(theta)
            M = B[..., :p, :]
            C = sig[..., :, :p]
            Mt = np.swapaxes(M, -1, -2)                               # (..., m, p)
        U = np.concatenate([Mt[..., self.Ai, :], Mt[..., self.Si, :]], axis=-2)
        V = np.concatenate([C[..., self.Aj, :], Mt[..., self.Sj, :]], axis=-2) * self._dscale[:, None]
        d_mu = np.zeros(batch + (npar, p))
        if self.meanstructure:
            if len(self.Ak):
                d_mu += self.IA @ (Mt[..., self.Ai, :] * mu_all[..., self.Aj, None])
            if len(self.vk):
                d_mu += self.Iv @ Mt[..., self.vi, :]
        return U, V, d_mu, sig[..., :p, :p]

    def delta(self, theta):
        """Jacobian of the implied moments w.r.t. theta (no batch dimension).

        Returns ``(d_sigma, d_mu)`` with shapes (npar, p, p) and (npar, p).
        """
        sig, mu_all, B, S, v = self.implied_all(theta)
        p, npar = self.p, self.npar
        M = B[:p, :]                          # p x m
        C = sig[:, :p]                        # m x p  (Sigma_all)
        nA, nS = len(self.Ak), len(self.Sk)
        # every free entry contributes an outer product u v' (+ its transpose): stack them all
        U = np.concatenate([M[:, self.Ai].T, M[:, self.Si].T])               # (nA + nS, p)
        V = np.concatenate([C[self.Aj, :], M[:, self.Sj].T])
        X = U[:, :, None] * (V * self._dscale[:, None])[:, None, :]
        X += np.swapaxes(X, 1, 2)
        X = X.reshape(nA + nS, p * p)
        if self._dunique:
            d_sigma = np.zeros((npar, p * p))
            d_sigma[self._dk] = X
        else:
            d_sigma = self._dinc @ X
        d_mu = np.zeros((npar, p))
        if self.meanstructure:
            if nA:
                d_mu += self.IA @ (M[:, self.Ai].T * mu_all[self.Aj][:, None])
            if len(self.vk):
                d_mu += self.Iv @ M[:, self.vi].T
        d_sigma = d_sigma.reshape(npar, p, p)
        return d_sigma, d_mu


def _incidence(k, npar):
    I = np.zeros((npar, len(k)))
    if len(k):
        I[k, np.arange(len(k))] = 1.0
    return I
