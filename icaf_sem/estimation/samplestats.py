"""Sufficient statistics of a group's data: moments for complete data, and
missing-data patterns (with per-pattern counts, means and covariances) for
FIML.  Both can be reweighted by case frequency weights, so a bootstrap
resample is just a new weight vector over the same rows/patterns.
"""
from __future__ import annotations

import numpy as np

from ..errors import DataError
from .._linalg import safe_logdet


class Patterns:
    """Missing-data patterns of an (n x p) array with NaN for missing values."""

    def __init__(self, X: np.ndarray):
        self.X = X
        n, p = X.shape
        obs = ~np.isnan(X)
        keys, inverse = np.unique(obs, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        self.masks = keys                         # (G, p) bool, observed
        self.case_pattern = inverse               # pattern index per row
        self.G = len(keys)
        self.p = p
        self.Xz = np.where(obs, X, 0.0)
        # group the patterns by the number of missing variables (for batched Schur complements)
        nmiss = p - keys.sum(1)
        self.by_k = {}
        for k in np.unique(nmiss):
            idx = np.where(nmiss == k)[0]
            miss = np.array([np.where(~keys[g])[0] for g in idx], dtype=int).reshape(len(idx), k)
            self.by_k[int(k)] = (idx, miss)
        # the same grouping at the level of cases (for the case-wise FIML loss)
        case_nmiss = nmiss[inverse]
        self.cases_by_k = {}
        for k in np.unique(case_nmiss):
            rows = np.where(case_nmiss == k)[0]
            miss = (~obs[rows]).nonzero()[1].reshape(len(rows), int(k))
            self.cases_by_k[int(k)] = (rows, miss)
        self.nobs_case = obs.sum(1)

    def case_pattern_pos(self, k):
        """For the cases with ``k`` missing values: the position of each case's pattern among the
        patterns with ``k`` missing values, and the (cases x patterns) indicator matrix."""
        cache = self.__dict__.setdefault("_pos_cache", {})
        if k not in cache:
            rows = self.cases_by_k[k][0]
            pidx = self.by_k[k][0]
            pos = np.searchsorted(pidx, self.case_pattern[rows])
            onehot = np.zeros((len(rows), len(pidx)))
            onehot[np.arange(len(rows)), pos] = 1.0
            cache[k] = (pos, onehot)
        return cache[k]

    def stats(self, w: np.ndarray | None = None):
        """Per-pattern (n_g, mean_g embedded, S_g embedded (biased)) under case weights ``w``."""
        G, p = self.G, self.p
        w = np.ones(len(self.X)) if w is None else np.asarray(w, float)
        n_g = np.bincount(self.case_pattern, weights=w, minlength=G)
        sums = np.zeros((G, p))
        np.add.at(sums, self.case_pattern, self.Xz * w[:, None])
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(n_g[:, None] > 0, sums / np.maximum(n_g, 1e-300)[:, None], 0.0)
        dev = self.Xz - means[self.case_pattern]
        dev *= self.masks[self.case_pattern]
        cross = np.zeros((G, p, p))
        np.add.at(cross, self.case_pattern, (w[:, None, None] * dev[:, :, None] * dev[:, None, :]))
        with np.errstate(invalid="ignore", divide="ignore"):
            covs = np.where(n_g[:, None, None] > 0, cross / np.maximum(n_g, 1e-300)[:, None, None], 0.0)
        return n_g, means, covs


class GroupData:
    """The data of one group for estimation.

    Parameters
    ----------
    X : ndarray (n, p)
        Observed variables in model order, NaN for missing.
    missing : {"listwise", "ml"}
    """

    def __init__(self, X: np.ndarray, ov: list[str], missing: str = "listwise", label=1):
        self.ov = list(ov)
        self.label = label
        X = np.asarray(X, float)
        nan = np.isnan(X)
        if missing == "listwise":
            keep = ~nan.any(1)
        else:
            keep = ~nan.all(1)
        self.n_dropped = int((~keep).sum())
        if self.n_dropped:
            self.X, nan = X[keep], nan[keep]
        else:
            self.X = X
        self.n = len(self.X)
        self.p = X.shape[1]
        self.missing = missing
        self.has_missing = missing == "ml" and bool(nan.any())
        if self.n < 2:
            raise DataError(f"group {label!r} has {self.n} usable rows; at least 2 are needed (more than the number "
                            "of observed variables is recommended)")
        self.patterns = Patterns(self.X) if self.has_missing else None
        self.weights = None
        self.compute()

    def compute(self, w: np.ndarray | None = None):
        """(Re)compute the sufficient statistics, optionally under case weights (bootstrap)."""
        self.weights = w
        X = self.X
        if w is None:
            self.N = float(self.n)
        else:
            self.N = float(np.sum(w))
        if not self.has_missing:
            if w is None:
                self.mean = X.sum(0) / self.N
                d = X - self.mean
                self.cov = d.T @ d / self.N
            else:
                self.mean = w @ X / self.N
                d = X - self.mean
                self.cov = (d * w[:, None]).T @ d / self.N
            self.pat = None
        else:
            self.pat = self.patterns.stats(w)
            self.mean, self.cov = None, None
        return self

    # ------------------------------------------------------------ h1 (saturated model)
    def h1(self, tol: float = 1e-9, max_iter: int = 10000):
        """Saturated-model moments: sample moments, or EM estimates under missing data."""
        if not self.has_missing:
            return self.cov, self.mean
        if getattr(self, "_h1", None) is not None and self._h1_w is self.weights:
            return self._h1
        from .objectives import pattern_inverses
        n_g, means, covs = self.pat
        pats = self.patterns
        masks = pats.masks
        N = n_g.sum()
        # start: available-case means and variances, no covariances
        cnt = np.maximum((n_g[:, None] * masks).sum(0), 1e-300)
        mu = (n_g[:, None] * means * masks).sum(0) / cnt
        var = (n_g[:, None] * (np.diagonal(covs, axis1=1, axis2=2) + (means - mu) ** 2) * masks).sum(0) / cnt
        sigma = np.diag(np.maximum(var, 1e-6))
        for it in range(max_iter):
            # E-step for all patterns at once: R = Sigma Q maps a centred, zero-filled
            # observation to its conditional expectation; Sigma - Sigma Q Sigma is the
            # conditional covariance of the missing part.
            P = np.linalg.inv(sigma)
            inv = pattern_inverses(0.5 * (P + P.T), pats)
            T1 = np.zeros(self.p)
            T2 = np.zeros((self.p, self.p))
            for k, (idx, Q, _) in inv.items():
                w = n_g[idx]
                R = sigma @ Q                                        # (G,p,p)
                d = (means[idx] - mu) * masks[idx]
                m = mu + np.einsum("gij,gj->gi", R, d)
                C = R @ covs[idx] @ np.swapaxes(R, 1, 2) + sigma - R @ sigma
                T1 += w @ m
                T2 += np.einsum("g,gij->ij", w, C + m[:, :, None] * m[:, None, :])
            mu_new = T1 / N
            sigma_new = T2 / N - np.outer(mu_new, mu_new)
            sigma_new = 0.5 * (sigma_new + sigma_new.T)
            delta = max(np.max(np.abs(mu_new - mu)), np.max(np.abs(sigma_new - sigma)))
            mu, sigma = mu_new, sigma_new
            if delta < tol:
                break
        self.em_iterations = it + 1
        self._h1, self._h1_w = (sigma, mu), self.weights
        return sigma, mu


def logl_complete(N, S, ybar, sigma, mu, meanstructure=True):
    p = len(ybar)
    sign, logdet = safe_logdet(sigma)
    inv = np.linalg.inv(sigma)
    q = np.trace(inv @ S)
    if meanstructure:
        d = ybar - mu
        q += d @ inv @ d
    return -0.5 * N * (p * np.log(2 * np.pi) + logdet + q)
