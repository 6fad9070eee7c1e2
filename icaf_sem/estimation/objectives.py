"""Discrepancy functions with analytic gradients.

The objective is minus the normal log-likelihood divided by the total sample
size, summed over groups (complete data: from the sample moments; missing
data: full-information ML from the missing-data patterns).  Gradients are
computed first w.r.t. the implied moments (Sigma, mu) and then chained to the
parameters through the RAM matrices (:meth:`GroupRAM.gradient_chain`).
"""
from __future__ import annotations

import numpy as np

LOG2PI = np.log(2 * np.pi)


def complete_moments_loss(sigma, mu, N, S, ybar, meanstructure, grad=True):
    """-logL and its derivatives w.r.t. (Sigma, mu) for complete data (sufficient statistics)."""
    p = S.shape[-1]
    try:
        L = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return np.inf, None, None
    logdet = 2 * np.log(np.diag(L)).sum()
    P = np.linalg.inv(sigma)
    T = S
    if meanstructure:
        d = ybar - mu
        T = S + np.outer(d, d)
    f = 0.5 * N * (p * LOG2PI + logdet + np.sum(P * T))
    if not grad:
        return f, None, None
    PTP = P @ T @ P
    g_sigma = 0.5 * N * (P - PTP)
    g_mu = -N * (P @ d) if meanstructure else None
    return f, g_sigma, g_mu


def fiml_loss(sigma, mu, pat_stats, patterns, grad=True):
    """-logL and derivatives under FIML, from missing-data pattern statistics.

    For each pattern with missing set M the inverse of Sigma_OO, embedded in a
    p x p matrix with zero rows/columns for M, is P - P[:,M] P_MM^-1 P[M,:]
    (P = Sigma^-1), and log|Sigma_OO| = log|Sigma| + log|P_MM|; patterns with
    the same number of missing variables are handled as one batch.
    """
    n_g, means, covs = pat_stats
    p = sigma.shape[0]
    try:
        L = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return np.inf, None, None
    logdet = 2 * np.log(np.diag(L)).sum()
    P = np.linalg.inv(sigma)
    P = 0.5 * (P + P.T)
    f = 0.0
    g_sigma = np.zeros((p, p)) if grad else None
    g_mu = np.zeros(p) if grad else None
    masks = patterns.masks
    for k, (idx, miss) in patterns.by_k.items():
        w = n_g[idx]
        nobs = p - k
        if k == 0:
            Q = np.broadcast_to(P, (len(idx), p, p))
            ld = np.full(len(idx), logdet)
        else:
            Pmm = P[miss[:, :, None], miss[:, None, :]]           # (G,k,k)
            try:
                Lm = np.linalg.cholesky(Pmm)
            except np.linalg.LinAlgError:
                return np.inf, None, None
            ld = logdet + 2 * np.log(np.diagonal(Lm, axis1=1, axis2=2)).sum(1)
            Pm = P[:, miss].transpose(1, 0, 2)                      # (G,p,k)
            Q = P - Pm @ np.linalg.solve(Pmm, np.swapaxes(Pm, 1, 2))
        d = (means[idx] - mu) * masks[idx]                           # (G,p)
        T = covs[idx] + d[:, :, None] * d[:, None, :]
        f += 0.5 * np.sum(w * (nobs * LOG2PI + ld + np.einsum("gij,gij->g", Q, T)))
        if grad:
            QTQ = Q @ T @ Q
            g_sigma += 0.5 * np.einsum("g,gij->ij", w, Q - QTQ)
            g_mu += -np.einsum("g,gij,gj->i", w, Q, d)
    return f, g_sigma, g_mu


class Objective:
    """Minus the log-likelihood / N (summed over groups), with its analytic gradient."""

    def __init__(self, rams, datas):
        self.rams = rams
        self.datas = datas
        self.ntotal = sum(d.N for d in datas)

    def refresh(self):
        self.ntotal = sum(d.N for d in self.datas)

    def group_loss(self, g, theta, grad=True):
        ram, data = self.rams[g], self.datas[g]
        sigma, mu = ram.implied(theta)
        if data.has_missing:
            return fiml_loss(sigma, mu, data.pat, data.patterns, grad)
        return complete_moments_loss(sigma, mu, data.N, data.cov, data.mean, ram.meanstructure, grad)

    def __call__(self, theta):
        f = 0.0
        for g in range(len(self.rams)):
            fg, _, _ = self.group_loss(g, theta, grad=False)
            f += fg
        return f / self.ntotal

    def value_and_grad(self, theta):
        f = 0.0
        grad = np.zeros_like(theta, dtype=float)
        for g, ram in enumerate(self.rams):
            fg, gs, gm = self.group_loss(g, theta, grad=True)
            if not np.isfinite(fg):
                return np.inf, np.full_like(grad, np.nan)
            f += fg
            grad += ram.gradient_chain(theta, gs, gm)
        return f / self.ntotal, grad / self.ntotal

    def logl(self, theta):
        return -self(theta) * self.ntotal
