"""Multi-group PLS: MICOM (Henseler, Ringle & Sarstedt 2016), the permutation test of path differences
(Chin & Dibbern 2010) and Henseler's bootstrap-based PLS-MGA (Henseler, Ringle & Sinkovics 2009).

Every permutation and every bootstrap resample is one sample of the batched PLS algorithm: group
memberships become 0/1 row weights, each group is standardized on its own rows.

* MICOM step 1 (configural invariance) holds by construction: the same model, indicators, data treatment
  and algorithm settings are used in both groups.
* Step 2 (compositional invariance): c = correlation, on the pooled data standardized on all rows, of
  the composite scores built with group 1's and with group 2's weights.  Permutations of the group labels
  give the distribution of c under invariance; p = share of permuted c below the original c; invariance
  is rejected when c is below the ``alpha`` quantile (5 % by default).
* Step 3 (equal means and variances): composite scores of the pooled estimation; the original
  differences (group 1 - group 2) of the means and of the log variances are compared with their
  permutation distributions: two-sided p = share of permuted |difference| >= |original| and the
  alpha/2, 1 - alpha/2 permutation quantiles.
* Path differences: permutation p = share of permutations with |beta_1 - beta_2| >= the original;
  Henseler's PLS-MGA p = 1 - J^-2 sum_j sum_k step(2 mean(b1) - b1_j - 2 mean(b2) + b2_k) from J bootstrap
  draws per group (the formula of seminr's ``estimate_pls_mga``; small p: group 1's path is larger,
  p near 1: group 2's is larger).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, ModelSpecificationError
from .algorithm import batched_moments, moments
from .estimate import estimate
from .spec import parse_pls_model

CHUNK = 250


class MGAResult:
    """``micom_step2``, ``micom_step3`` and ``paths`` tables; ``groups`` and ``n`` per group."""

    def __init__(self, groups, n, step2, step3, paths, info):
        self.groups, self.n, self.micom_step2, self.micom_step3, self.paths, self.info = \
            groups, n, step2, step3, paths, info

    def to_dict(self):
        rec = lambda df: (df.reset_index() if df.index.name else df).to_dict("records")  # noqa: E731
        return {"groups": list(map(str, self.groups)), "n": self.n, "micom_step2": rec(self.micom_step2),
                "micom_step3": rec(self.micom_step3), "paths": rec(self.paths), "info": self.info}

    def __repr__(self):
        return f"<MGAResult groups={self.groups} n={self.n}>"


def _estimate_groups(X, C, spec, items, scheme, consistent):
    _, _, S = batched_moments(X, C)
    return estimate(S, spec, items, scheme=scheme, consistent=consistent)


def henseler_p(b1, b2):
    """Henseler's PLS-MGA p-value from the bootstrap draws of one path in each group (equal lengths)."""
    left = 2 * b1.mean() - b1 - 2 * b2.mean()
    s = np.sort(b2)
    # number of (j, k) with left_j + b2_k > 0, i.e. b2_k > -left_j
    favorable = (len(s) - np.searchsorted(s, -left, side="right")).sum()
    return 1.0 - favorable / (len(b1) * len(b2))


def group_resamples(seed, sizes, nboot):
    """Bootstrap index matrices (nboot, n_g) within each group's rows: numpy default_rng of the g-th child
    of SeedSequence(seed)."""
    seqs = np.random.SeedSequence(seed).spawn(len(sizes))
    return [np.random.default_rng(sq).integers(0, n, size=(nboot, n)) for sq, n in zip(seqs, sizes)]


def mga(model, data, group, *, groups=None, scheme="path", consistent=False, missing="listwise",
        permutations=1000, bootstrap=1000, seed=None, alpha=0.05):
    """Compare two groups: MICOM and the PLS-MGA tests (see the module docstring).

    Parameters
    ----------
    model, data : as :func:`icaf_sem.pls`.
    group : str
        Column of ``data`` holding the group of each respondent.
    groups : (a, b), optional
        The two groups to compare (required when the column has more than two values).
    permutations, bootstrap : int
        Permutations (MICOM and the permutation test) and bootstrap draws per group (Henseler's test).

    Examples
    --------
    >>> icaf_sem.pls_mga(model, data, "level", groups=("city", "county"), seed=1)   # doctest: +SKIP

    In R: ``seminr::estimate_pls_mga(pls_model, condition = data$level == "city", nboot = 1000)``.
    """
    from . import _prepare, _check_constant
    spec = parse_pls_model(model)
    if spec.hoc:
        raise ModelSpecificationError("mga: higher-order constructs are not supported in the multi-group "
                                      "analysis; compare the first-order model")
    if not isinstance(group, str) or group not in getattr(data, "columns", []):
        raise DataError(f"mga(group={group!r}): no such column in the data; name the column holding the groups")
    for name, v in (("permutations", permutations), ("bootstrap", bootstrap)):
        if not isinstance(v, (int, np.integer)) or v < 0 or v == 1:
            raise ModelSpecificationError(f"mga({name}={v!r}): give a number of draws (0 to skip, else >= 2)")
    labels = data[group]
    levels = list(pd.unique(labels.dropna())) if groups is None else list(groups)
    if len(levels) != 2:
        raise DataError(f"mga: column {group!r} has {len(levels)} groups ({', '.join(map(str, levels))}); "
                        "choose two with groups=(a, b)")
    for lv in levels:
        if not (labels == lv).any():
            raise DataError(f"mga(groups=...): {lv!r} does not occur in column {group!r}")
    items = spec.items
    sub = data[labels.isin(levels)]
    X, _ = _prepare(sub, items, missing)
    if missing == "listwise":
        lab = sub.loc[sub[items].notna().all(axis=1), group].to_numpy()
    else:
        lab = sub[group].to_numpy()
    g1 = lab == levels[0]
    n1, n2 = int(g1.sum()), int((~g1).sum())
    if min(n1, n2) < 3:
        raise DataError(f"mga: group sizes {n1} and {n2}; each group needs more complete rows")
    n = len(lab)
    _, sd, Sp = moments(X)
    _check_constant(items, X, sd[0])
    lay_constructs = spec.constructs
    K = len(lay_constructs)
    # original groups
    C0 = np.vstack([g1, ~g1]).astype(float)
    est0 = _estimate_groups(X, C0, spec, items, scheme, consistent)
    if not est0.ok.all():
        raise DataError("mga: the model cannot be estimated in one of the groups (a constant indicator within "
                        "a group?)")
    pooled = estimate(Sp, spec, items, scheme=scheme, consistent=consistent)
    paths_idx = [(lay_constructs.index(iv), lay_constructs.index(dv)) for dv, iv in spec.paths]

    def comp_corr(W1, W2):     # correlation of the pooled-standardized scores with two weight sets
        SW2 = Sp[0] @ W2
        a = (W1 * SW2).sum(axis=1)
        v1 = (W1 * (Sp[0] @ W1)).sum(axis=1)
        v2 = (W2 * SW2).sum(axis=1)
        return a / np.sqrt(v1 * v2)

    W0 = est0.final.W
    c0 = comp_corr(W0[:1], W0[1:])[0]
    Z = (X - X.mean(axis=0)) / sd[0]
    Y = Z @ pooled.final.W[0]                  # pooled composite scores (n, K)

    def mean_var_diff(L):                      # L: (B, n) 0/1 group-1 membership
        m1, m2 = L.sum(axis=1), (1 - L).sum(axis=1)
        mu1, mu2 = L @ Y / m1[:, None], (1 - L) @ Y / m2[:, None]
        v1 = (L @ Y ** 2 - m1[:, None] * mu1 ** 2) / (m1 - 1)[:, None]
        v2 = ((1 - L) @ Y ** 2 - m2[:, None] * mu2 ** 2) / (m2 - 1)[:, None]
        return mu1 - mu2, np.log(v1) - np.log(v2)

    md0, lv0 = mean_var_diff(g1[None].astype(float))
    beta0 = np.array([[est0.beta[g, i, j] for i, j in paths_idx] for g in (0, 1)])
    rng_perm = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    cs, mds, lvs, dps, failed_perm = [], [], [], [], 0
    done = 0
    while done < permutations:
        size = min(CHUNK, permutations - done)
        order = np.argsort(rng_perm.random((size, n)), axis=1)
        L = np.zeros((size, n))
        np.put_along_axis(L, order[:, :n1], 1.0, axis=1)
        C = np.concatenate([L, 1 - L])
        est = _estimate_groups(X, C, spec, items, scheme, consistent)
        ok = est.ok[:size] & est.ok[size:]            # non-converged samples are kept, as in seminr
        failed_perm += int((~ok).sum())
        c = comp_corr(est.final.W[:size], est.final.W[size:])
        md, lv = mean_var_diff(L)
        d = np.array([est.beta[:size, i, j] - est.beta[size:, i, j] for i, j in paths_idx]).T
        cs.append(c[ok]), mds.append(md), lvs.append(lv), dps.append(d[ok])
        done += size
    step2_rows, step3_rows, path_rows = [], [], []
    if permutations:
        cs, mds, lvs, dps = (np.concatenate(x) for x in (cs, mds, lvs, dps))
        for k, c in enumerate(lay_constructs):
            q = np.quantile(cs[:, k], alpha)
            step2_rows.append({"construct": c, "c": c0[k], "quantile": q, "pvalue": np.mean(cs[:, k] < c0[k]),
                               "compositional_invariance": bool(c0[k] >= q)})
            r = {"construct": c}
            for key, orig, perm in (("mean", md0[0, k], mds[:, k]), ("logvar", lv0[0, k], lvs[:, k])):
                lo, hi = np.quantile(perm, [alpha / 2, 1 - alpha / 2])
                r.update({f"{key}_diff": orig, f"{key}_lower": lo, f"{key}_upper": hi,
                          f"{key}_pvalue": np.mean(np.abs(perm) >= abs(orig)), f"equal_{key}": bool(lo <= orig <= hi)})
            step3_rows.append(r)
    # Henseler's bootstrap-based test
    boots = []
    failed_boot = 0
    if bootstrap:
        idx = group_resamples(seed, (n1, n2), bootstrap)
        rows = [np.nonzero(g1)[0], np.nonzero(~g1)[0]]
        for g in (0, 1):
            draws = []
            for start in range(0, bootstrap, CHUNK):
                part = rows[g][idx[g][start:start + CHUNK]]
                C = np.zeros((len(part), n))
                np.add.at(C, (np.repeat(np.arange(len(part)), part.shape[1]), part.ravel()), 1.0)
                est = _estimate_groups(X, C, spec, items, scheme, consistent)
                ok = est.ok
                failed_boot += int((~ok).sum())
                draws.append(np.array([est.beta[:, i, j] for i, j in paths_idx]).T[ok])
            boots.append(np.concatenate(draws))
        J = min(len(boots[0]), len(boots[1]))
        boots = [b[:J] for b in boots]
    for p, (dv, iv) in enumerate(spec.paths):
        i, j = paths_idx[p]
        r = {"lhs": dv, "rhs": iv, "est": pooled.beta[0, i, j], "est_group1": beta0[0, p], "est_group2": beta0[1, p],
             "diff": beta0[0, p] - beta0[1, p]}
        if permutations:
            r["permutation_pvalue"] = np.mean(np.abs(dps[:, p]) >= abs(r["diff"]))
        if bootstrap:
            r.update({"boot_mean_group1": boots[0][:, p].mean(), "boot_mean_group2": boots[1][:, p].mean(),
                      "henseler_pvalue": henseler_p(boots[0][:, p], boots[1][:, p])})
        path_rows.append(r)
    info = {"permutations": int(permutations), "failed_permutations": failed_perm, "bootstrap": int(bootstrap),
            "failed_bootstrap": failed_boot, "seed": seed, "alpha": alpha}
    s2 = pd.DataFrame(step2_rows).set_index("construct") if step2_rows else pd.DataFrame()
    s3 = pd.DataFrame(step3_rows).set_index("construct") if step3_rows else pd.DataFrame()
    return MGAResult(tuple(levels), {str(levels[0]): n1, str(levels[1]): n2}, s2, s3, pd.DataFrame(path_rows), info)


pls_mga = mga
