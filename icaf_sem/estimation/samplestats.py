"""Sufficient statistics of a group's data: moments for complete data, and
missing-data patterns (with per-pattern counts, means and covariances) for
FIML.  Both can be reweighted by case frequency weights, so a bootstrap
resample is just a new weight vector over the same rows/patterns.
"""
from __future__ import annotations

import hashlib
import weakref

import numpy as np

from ..errors import DataError
from .._linalg import safe_logdet


class Patterns:
    """Missing-data patterns of an (n x p) array with NaN for missing values.

    Parameters
    ----------
    X : ndarray (n, p)
        The data, NaN for missing values.

    Attributes
    ----------
    masks : ndarray (G, p) of bool
        Which variables each pattern observes; the patterns are in the lexicographic order of
        these rows (False before True), the order ``np.unique(masks, axis=0)`` gives.
    case_pattern : ndarray (n,) of int
        The pattern of each row.
    order : ndarray (n,) of int
        The rows sorted by pattern (in their original order within a pattern); the rows of
        pattern ``g`` are ``order[starts[g]:starts[g + 1]]``.
    starts : ndarray (G + 1,) of int
        Where each pattern's rows begin in ``order``, with ``n`` appended.
    Xz : ndarray (n, p)
        ``X`` with the missing values set to zero.
    by_k : dict
        ``{k: (idx, miss)}``: the patterns with ``k`` missing variables and their missing
        variables (``(len(idx), k)``, increasing), for batched Schur complements.
    cases_by_k : dict
        ``{k: (rows, miss)}``: the same grouping at the level of rows (case-wise FIML loss).
    nobs_case : ndarray (n,) of int
        The number of observed variables of each row.
    """

    def __init__(self, X: np.ndarray):
        self.X = X
        n, p = X.shape
        obs = ~np.isnan(X)
        # Sort the rows by their observed mask: pack each row's bits into bytes (the first
        # variable in the highest bit), so that ordering the byte columns (the first one as the
        # primary key) orders the masks lexicographically; lexsort is stable.
        packed = np.packbits(obs, axis=1)
        order = np.lexsort(packed.T[::-1])
        packed = packed[order]
        first = np.ones(n, bool)                  # a row starts a new pattern in sorted order
        first[1:] = (packed[1:] != packed[:-1]).any(1)
        starts = np.flatnonzero(first)
        keys = obs[order[starts]]
        inverse = np.empty(n, dtype=np.intp)
        inverse[order] = np.cumsum(first) - 1
        self.masks = keys                         # (G, p) bool, observed
        self.case_pattern = inverse               # pattern index per row
        self.order = order
        self.starts = np.append(starts, n)
        self.G = len(keys)
        self.p = p
        self.Xz = np.where(obs, X, 0.0)
        self._Xz_sorted = self.Xz[order]
        # group the patterns by the number of missing variables (for batched Schur complements)
        nmiss = p - keys.sum(1)
        self.by_k = {}
        for k in np.unique(nmiss):
            idx = np.flatnonzero(nmiss == k)
            miss = (~keys[idx]).nonzero()[1].reshape(len(idx), int(k))
            self.by_k[int(k)] = (idx, miss)
        # the same grouping at the level of cases (for the case-wise FIML loss)
        case_nmiss = nmiss[inverse]
        self.cases_by_k = {}
        for k in np.unique(case_nmiss):
            rows = np.where(case_nmiss == k)[0]
            miss = (~obs[rows]).nonzero()[1].reshape(len(rows), int(k))
            self.cases_by_k[int(k)] = (rows, miss)
        self.nobs_case = obs.sum(1)

    def padded_batches(self, min_width: int = 4):
        """The patterns with missing values, batched by their number of missing variables padded.

        A batch per distinct number ``k`` of missing variables costs a round of array operations
        per ``k``; padding ``k`` up to a power of two (at least ``min_width``) leaves few batches
        while at most doubling their width.

        Parameters
        ----------
        min_width : int
            The narrowest batch.

        Returns
        -------
        list of (idx, miss, valid)
            ``idx`` (G_b,): the patterns; ``miss`` (G_b, width): their missing variables,
            increasing, padded with 0; ``valid`` (G_b, width) bool: which entries are real.
        """
        batches = {}
        for k, (idx, miss) in self.by_k.items():
            if k:
                batches.setdefault(max(min_width, 1 << (k - 1).bit_length()), []).append((idx, miss))
        out = []
        for width, parts in sorted(batches.items()):
            idx = np.concatenate([i for i, _ in parts])
            miss = np.zeros((len(idx), width), dtype=np.intp)
            valid = np.zeros((len(idx), width), dtype=bool)
            row = 0
            for i, m in parts:
                miss[row:row + len(i), :m.shape[1]] = m
                valid[row:row + len(i), :m.shape[1]] = True
                row += len(i)
            out.append((idx, miss, valid))
        return out

    def case_pattern_pos(self, k):
        """For the cases with ``k`` missing values: the position of each case's pattern among the
        patterns with ``k`` missing values."""
        cache = self.__dict__.setdefault("_pos_cache", {})
        if k not in cache:
            rows = self.cases_by_k[k][0]
            pidx = self.by_k[k][0]
            cache[k] = np.searchsorted(pidx, self.case_pattern[rows])
        return cache[k]

    def pattern_weights(self, k, W):
        """Summed case weights of each pattern with ``k`` missing values, for weights ``W`` (B, n):
        (B, G_k).  A bincount per row, not a (cases x patterns) indicator matrix (which held
        n_k x G_k floats per fit: 60 MB at 100,000 respondents)."""
        rows = self.cases_by_k[k][0]
        pos = self.case_pattern_pos(k)
        G = len(self.by_k[k][0])
        Wr = W[:, rows]
        return np.stack([np.bincount(pos, weights=Wr[b], minlength=G) for b in range(len(Wr))])

    def stats(self, w: np.ndarray | None = None):
        """Per-pattern counts, means and (biased) covariances under case weights.

        Parameters
        ----------
        w : ndarray (n,), optional
            Case frequency weights (a bootstrap resample); None weighs every row 1.

        Returns
        -------
        n_g : ndarray (G,)
            The (weighted) number of rows of each pattern.
        means : ndarray (G, p)
            Pattern means, zero at the pattern's missing variables (and for a pattern of weight 0).
        covs : ndarray (G, p, p)
            Pattern covariances (divisor ``n_g``), zero in the missing rows/columns.
        """
        if w is None and getattr(self, "_stats0", None) is not None:
            return self._stats0                 # read-only arrays, shared by every fit of these data
        starts, bounds = self.starts[:-1], self.starts
        Xs = self._Xz_sorted                                   # rows in pattern order
        if w is None:
            ws = None
            n_g = np.diff(bounds).astype(float)
            sums = np.add.reduceat(Xs, starts, axis=0)
        else:
            ws = np.asarray(w, float)[self.order]
            n_g = np.add.reduceat(ws, starts)
            sums = np.add.reduceat(Xs * ws[:, None], starts, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(n_g[:, None] > 0, sums / np.maximum(n_g, 1e-300)[:, None], 0.0)
        # Xz and the means are zero at the missing variables, so the deviations are too
        dev = Xs - np.repeat(means, np.diff(bounds), axis=0)
        wdev = dev if ws is None else dev * ws[:, None]
        # cross-products: one outer product per single-row pattern (all at once), one matrix
        # product per larger pattern
        cross = np.empty((self.G, self.p, self.p))
        single = np.diff(bounds) == 1
        first = starts[single]
        cross[single] = wdev[first, :, None] * dev[first, None, :]
        for g in np.flatnonzero(~single):
            a, b = bounds[g], bounds[g + 1]
            np.matmul(wdev[a:b].T, dev[a:b], out=cross[g])
        with np.errstate(invalid="ignore", divide="ignore"):
            covs = np.where(n_g[:, None, None] > 0, cross / np.maximum(n_g, 1e-300)[:, None, None], 0.0)
        if w is None:
            for a in (n_g, means, covs):
                a.setflags(write=False)
            self._stats0 = (n_g, means, covs)
        return n_g, means, covs


_SHARED_PATTERNS = weakref.WeakValueDictionary()


def shared_patterns(X: np.ndarray) -> "Patterns":
    """The :class:`Patterns` of ``X``, shared by every fit of the same data.

    The CFA, SEM, second-order, method-factor and invariance fits of one analysis use the
    same rows: their patterns, unweighted pattern statistics and saturated (EM) moments are
    computed once and held once (they live as long as some fit holds them).  The key is the
    shape and a digest of the bytes of ``X``, so only identical data share.
    """
    X = np.ascontiguousarray(X, dtype=float)
    key = (X.shape, hashlib.blake2b(X.view(np.uint8), digest_size=20).digest())
    pats = _SHARED_PATTERNS.get(key)
    if pats is None:
        pats = Patterns(X)
        _SHARED_PATTERNS[key] = pats
    return pats


class GroupData:
    """The data of one group for estimation.

    Parameters
    ----------
    X : ndarray (n, p)
        Observed variables in model order, NaN for missing.
    missing : {"listwise", "ml", "pairwise"}
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
        self.patterns = shared_patterns(self.X) if self.has_missing else None
        if self.patterns is not None:
            self.X = self.patterns.X            # one copy of the data for every fit that shares them
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
        if self.missing == "pairwise" and w is None:
            # lavaan's missing = "pairwise": available-case means and pairwise-present covariances
            # (divisor n_ij - 1) rescaled by (N - 1) / N
            import pandas as pd
            frame = pd.DataFrame(X)
            self.mean = frame.mean().to_numpy()
            self.cov = frame.cov().to_numpy() * ((self.N - 1.0) / self.N)
            if np.isnan(self.cov).any():
                raise DataError(f"group {self.label!r}: some pair of variables is never observed together, so "
                                "missing='pairwise' has no covariance for it; use missing='ml' (FIML)")
            self._pat = None
        elif not self.has_missing:
            if w is None:
                self.mean = X.sum(0) / self.N
                d = X - self.mean
                self.cov = d.T @ d / self.N
            else:
                self.mean = w @ X / self.N
                d = X - self.mean
                self.cov = (d * w[:, None]).T @ d / self.N
            if getattr(self, "wishart", False):
                # likelihood = "wishart": the unbiased covariance matrix (divisor N - 1)
                self.cov = self.cov * (self.N / (self.N - 1.0))
            self._pat = None
        else:
            # the per-pattern means and covariances ((G, p, p): with nearly one pattern per row
            # that is n p^2 numbers) are computed when first used (:attr:`pat`); the FIML loss,
            # its information and the EM work from the rows
            self._pat = None
            self.mean, self.cov = None, None
        return self

    @property
    def pat(self):
        """Per-pattern (counts, means, covariances) under the current case weights, or None for
        complete data (:meth:`Patterns.stats`; computed on first use)."""
        if not self.has_missing:
            return None
        if getattr(self, "_pat", None) is None:
            self._pat = self.patterns.stats(self.weights)
        return self._pat

    @pat.setter
    def pat(self, value):
        self._pat = value

    @property
    def pattern_counts(self):
        """The (weighted) number of rows of each missing-data pattern, (G,)."""
        pats = self.patterns
        if self.weights is None:
            return np.diff(pats.starts).astype(float)
        return np.bincount(pats.case_pattern, weights=np.asarray(self.weights, float), minlength=pats.G)

    # ------------------------------------------------------------ h1 (saturated model)
    def h1(self, tol: float = 1e-9, max_iter: int = 10000):
        """Saturated-model moments: sample moments, or EM estimates under missing data.

        Parameters
        ----------
        tol : float
            EM stops when no mean or covariance changes by ``tol`` or more in an iteration.
        max_iter : int
            At most this many EM iterations (their number is kept in ``em_iterations``).

        Returns
        -------
        sigma : ndarray (p, p)
        mu : ndarray (p,)
            Cached for the current case weights: computed again only after :meth:`compute`
            with other weights.

        Notes
        -----
        The E-step fills in each row's missing variables M from its observed ones O by their
        regression: with P = Sigma^-1, ``E[x_M | x_O] = mu_M - P_MM^-1 P_MO (x_O - mu_O)``, and
        the conditional covariance of x_M is ``P_MM^-1``.  The completed-data sums are then
        those of the filled-in rows (one matrix product) plus each pattern's conditional
        covariance, so an iteration costs O(n p^2) and the inverses of the small blocks P_MM
        (batched over patterns, see :meth:`Patterns.padded_batches`).  Rows without missing
        values add the same sums in every iteration.  The data are centred at the starting
        means, which does not change the iterations but keeps the sums of squares small.
        """
        if not self.has_missing:
            return self.cov, self.mean
        if getattr(self, "_h1", None) is not None and self._h1_w is self.weights:
            return self._h1
        shared = getattr(self.patterns, "_h1_shared", {}) if self.weights is None else {}
        if (tol, max_iter) in shared:         # the same data were already fitted (another model)
            sigma, mu, self.em_iterations = shared[(tol, max_iter)]
            self._h1, self._h1_w = (sigma.copy(), mu.copy()), None
            return self._h1
        pats = self.patterns
        masks = pats.masks
        p = self.p
        w = None if self.weights is None else np.asarray(self.weights, float)
        obs = masks[pats.case_pattern]
        wr = np.ones(self.n) if w is None else w
        N = wr.sum()
        # start: available-case means and variances, no covariances
        cnt = np.maximum(wr @ obs, 1e-300)
        mu = (wr @ pats.Xz) / cnt
        var = (wr @ (np.where(obs, pats.Xz - mu, 0.0) ** 2)) / cnt
        sigma = np.diag(np.maximum(var, 1e-6))
        center, mu = mu, np.zeros(p)
        n_g = self.pattern_counts
        Xc = np.where(obs, pats.Xz - center, 0.0)
        full = pats.nobs_case == p
        Xf, wf = Xc[full], (None if w is None else w[full])
        T1_full = Xf.sum(0) if w is None else wf @ Xf
        T2_full = Xf.T @ Xf if w is None else (Xf.T * wf) @ Xf
        # The rows with missing values, batch by batch of their patterns: per batch the
        # positions of the patterns' P_MM blocks in P.ravel() and, per row, its pattern's
        # position in the batch, its missing variables and their positions in V.ravel() (to
        # read) and Xh.ravel() (to write; padding slots read variable 0 and write to an extra
        # column p).  Padding slots get an identity block in P_MM, so the inverse of a
        # pattern's padded block is its real inverse padded with an identity: they neither
        # change the real slots' values nor, with weight 0, the conditional covariances.
        batches, rows, pos_mm, start = [], [], [], 0
        for idx, miss, valid in pats.padded_batches():
            pattern_pos = np.full(pats.G, -1)
            pattern_pos[idx] = np.arange(len(idx))
            r = np.flatnonzero(pattern_pos[pats.case_pattern] >= 0)
            pos = pattern_pos[pats.case_pattern[r]]
            v = valid.astype(float)
            pair = v[:, :, None] * v[:, None, :]                       # 1 where both slots are real
            pad_eye = np.eye(miss.shape[1]) * (1.0 - v)[:, None, :]    # 1 on padding diagonals
            w_mm = n_g[idx][:, None, None] * pair                      # weights of the P_MM^-1 entries
            flat_mm = miss[:, :, None] * p + miss[:, None, :]          # P_MM entries in P.ravel()
            local = np.arange(start, start + len(r))[:, None]
            read = local * p + miss[pos]
            write = local * (p + 1) + np.where(valid[pos], miss[pos], p)
            batches.append((flat_mm, pair, pad_eye, w_mm, pos, miss[pos], read, write))
            pos_mm.append(flat_mm.ravel())
            rows.append(r)
            start += len(r)
        rows, pos_mm = np.concatenate(rows), np.concatenate(pos_mm)
        Xo, obs_o, wo = Xc[rows], obs[rows], (None if w is None else w[rows])
        Xh = np.zeros((len(rows), p + 1))           # filled-in rows (and the padding column)
        Xh[:, :p] = Xo
        Xm = Xh[:, :p]
        for it in range(max_iter):
            P = np.linalg.inv(sigma)
            P = 0.5 * (P + P.T)
            V = (Xo - mu * obs_o) @ P                # V[i, M_i] = P_MO (x_O - mu_O) of row i
            cond = []
            for flat_mm, pair, pad_eye, w_mm, pos, rmiss, read, write in batches:
                Pmm = P.take(flat_mm) * pair + pad_eye                                  # (G,k,k)
                np.linalg.cholesky(Pmm)             # raises LinAlgError unless positive definite
                Pmm_inv = np.linalg.inv(Pmm)
                np.put(Xh, write, mu.take(rmiss) - (Pmm_inv.take(pos, 0) * V.take(read)[:, None, :]).sum(-1))
                cond.append((w_mm * Pmm_inv).ravel())
            T1 = T1_full + (Xm.sum(0) if w is None else wo @ Xm)
            T2 = T2_full + (Xm.T @ Xm if w is None else (Xm.T * wo) @ Xm)
            T2 += np.bincount(pos_mm, np.concatenate(cond), p * p).reshape(p, p)
            mu_new = T1 / N
            sigma_new = T2 / N - np.outer(mu_new, mu_new)
            sigma_new = 0.5 * (sigma_new + sigma_new.T)
            delta = max(abs(mu_new - mu).max(), abs(sigma_new - sigma).max())
            mu, sigma = mu_new, sigma_new
            if delta < tol:
                break
        mu = mu + center
        self.em_iterations = it + 1
        self._h1, self._h1_w = (sigma, mu), self.weights
        if self.weights is None:
            self.patterns.__dict__.setdefault("_h1_shared", {})[(tol, max_iter)] = (sigma.copy(), mu.copy(), it + 1)
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
