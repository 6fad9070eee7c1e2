"""Missing-data patterns, their statistics and the EM saturated moments against direct
(slow) implementations: per-pattern sums and the textbook E-step with full p x p matrices."""
import numpy as np
import pytest

from icaf_sem.estimation.samplestats import GroupData, Patterns


def _data(seed=3, n=150, p=7):
    rng = np.random.default_rng(seed)
    L = rng.normal(size=(p, p)) * 0.4 + np.eye(p)
    X = rng.normal(size=(n, p)) @ L.T + rng.normal(size=p) * 3
    miss = rng.random((n, p)) < 0.15
    miss[:5, :5] = True                        # a few rows with many missing values (wide batches)
    miss[5:8, 1:4] = True
    X[miss] = np.nan
    return X


def _direct_stats(X, w):
    obs = ~np.isnan(X)
    keys, inv = np.unique(obs, axis=0, return_inverse=True)
    G, p = keys.shape
    n_g, means, covs = np.zeros(G), np.zeros((G, p)), np.zeros((G, p, p))
    for g in range(G):
        rows = np.flatnonzero(inv.ravel() == g)
        o = keys[g]
        wg = w[rows]
        n_g[g] = wg.sum()
        if n_g[g] == 0:
            continue
        x = X[np.ix_(rows, o)]
        m = wg @ x / n_g[g]
        d = x - m
        means[g, o] = m
        covs[g][np.ix_(o, o)] = (d * wg[:, None]).T @ d / n_g[g]
    return n_g, means, covs


def _direct_em(n_g, means, covs, masks, tol=1e-9):
    """The E-step with full matrices: R = Sigma Q fills in, Sigma - R Sigma is the conditional covariance."""
    N = n_g.sum()
    cnt = (n_g[:, None] * masks).sum(0)
    mu = (n_g[:, None] * means * masks).sum(0) / cnt
    var = (n_g[:, None] * (np.diagonal(covs, axis1=1, axis2=2) + (means - mu) ** 2) * masks).sum(0) / cnt
    sigma = np.diag(var)
    for it in range(10000):
        T1, T2 = np.zeros_like(mu), np.zeros_like(sigma)
        for g, o in enumerate(masks):
            Q = np.zeros_like(sigma)
            Q[np.ix_(o, o)] = np.linalg.inv(sigma[np.ix_(o, o)])
            R = sigma @ Q
            m = mu + R @ ((means[g] - mu) * o)
            C = R @ covs[g] @ R.T + sigma - R @ sigma
            T1 += n_g[g] * m
            T2 += n_g[g] * (C + np.outer(m, m))
        mu_new = T1 / N
        sigma_new = T2 / N - np.outer(mu_new, mu_new)
        delta = max(np.abs(mu_new - mu).max(), np.abs(sigma_new - sigma).max())
        mu, sigma = mu_new, sigma_new
        if delta < tol:
            break
    return sigma, mu, it + 1


def test_patterns_order_as_unique():
    X = _data()
    pats = Patterns(X)
    keys, inv = np.unique(~np.isnan(X), axis=0, return_inverse=True)
    np.testing.assert_array_equal(pats.masks, keys)
    np.testing.assert_array_equal(pats.case_pattern, inv.ravel())
    for g in range(pats.G):
        rows = pats.order[pats.starts[g]:pats.starts[g + 1]]
        np.testing.assert_array_equal(rows, np.flatnonzero(inv.ravel() == g))
    for k, (idx, miss) in pats.by_k.items():
        assert all(list(miss[j]) == list(np.flatnonzero(~keys[g])) for j, g in enumerate(idx))


@pytest.mark.parametrize("weighted", [False, True])
def test_stats_and_em_match_direct(weighted):
    X = _data()
    n = len(X)
    w = np.random.default_rng(1).multinomial(n, np.full(n, 1 / n)).astype(float) if weighted else None
    gd = GroupData(X, [f"v{j}" for j in range(X.shape[1])], missing="ml")
    gd.compute(w)
    n_g, means, covs = gd.pat
    ref = _direct_stats(gd.X, np.ones(n) if w is None else w)
    for a, b in zip((n_g, means, covs), ref):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    if weighted:
        assert (n_g == 0).any()                # a pattern left out of the resample
    sigma, mu = gd.h1()
    sigma_ref, mu_ref, iters = _direct_em(*ref, gd.patterns.masks)
    np.testing.assert_allclose(sigma, sigma_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(mu, mu_ref, rtol=0, atol=1e-10)
    assert gd.em_iterations == iters
    assert gd.h1()[0] is sigma                 # cached for these weights
