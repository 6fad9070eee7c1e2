"""PLSpredict (Shmueli et al. 2016/2019) with the direct-antecedents (DA) technique.

For each fold the model is re-estimated on the training rows (every fold of every repetition is one
sample of the batched algorithm), the held-out rows are standardized with the training means and SDs
(n - 1), their construct scores computed with the training weights, the endogenous construct scores
predicted from the scores of their direct antecedents with the training paths, and the endogenous
indicators predicted as score x loading and returned to the raw scale.  The LM benchmark regresses each
endogenous indicator on all indicators of its construct's direct antecedents, with an intercept, on the
same training rows.  With repetitions, each row's predictions are averaged over the repetitions
(seminr's convention) before the metrics are computed.

Metrics per indicator: RMSE = sqrt(mean e^2), MAE = mean |e| over the n rows, and
Q2_predict = 1 - SSE / sum (y_i - mean of y over row i's training rows)^2.

Higher-order constructs (two-stage): both stages are re-estimated on each training fold; the held-out
rows get stage-1 dimension scores, which feed the stage-2 model.  seminr refuses PLSpredict for
higher-order models, so these numbers have no seminr reference.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ModelSpecificationError
from .algorithm import moments_without
from .estimate import estimate


def make_folds(n, folds=None, repetitions=1, seed=None):
    """List (one per repetition) of lists of test-row index arrays.  ``folds=None`` is leave-one-out."""
    if folds is None or folds == n:
        return [[np.array([i]) for i in range(n)]]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(repetitions):
        perm = rng.permutation(n)
        out.append([np.sort(f) for f in np.array_split(perm, folds)])
    return out


def _antecedent_items(spec, c):
    out = []
    for iv in spec.predecessors(c):
        blocks = [spec.blocks[d] for d in spec.blocks[iv]] if iv in spec.hoc else [spec.blocks[iv]]
        for bl in blocks:
            out += [i for i in bl if i not in out]
    return out


FOLD_CHUNK = 500


def _predict_folds(est, fl, X, items, targets, tcols, mean, sd, out, train_mean):
    """Predictions for the held-out rows of each fold of a batch (fold f = sample f of ``est``)."""
    st = est.final
    lay = st.layout
    two = len(est.stages) == 2
    if two:
        dims = lay.columns[len(items):]
        k1 = [est.stages[0].layout.constructs.index(d) for d in dims]
    kt = [lay.constructs.index(c) for c, _ in targets]
    colt = [lay.columns.index(i) for _, i in targets]
    for f, test in enumerate(fl):
        Z = (X[test] - mean[f]) / sd[f]
        Y = Z @ est.stages[0].W[f]
        if two:
            Y = np.concatenate([Z, Y[:, k1]], axis=1) @ st.W[f]
        Yhat = Y @ est.beta[f]                            # DA: each construct from its direct antecedents
        z = Yhat[:, kt] * st.L[f, colt, kt]
        out[test] = z * sd[f, tcols] + mean[f, tcols]
        train_mean[test] = mean[f, tcols]


def pls_predict(X, spec, items, *, scheme="path", consistent=False, folds=None, repetitions=1, seed=None,
                max_iter=300, tol=1e-7, item_alias=None):
    """Run PLSpredict; returns (metrics DataFrame indexed by item, predictions dict)."""
    n = X.shape[0]
    alias = item_alias or {}
    endo = spec.endogenous
    for c in endo:
        if c in spec.hoc:
            raise ModelSpecificationError(
                f"PLSpredict: the endogenous construct {c!r} is a higher-order construct; predicting its "
                "dimension scores is not supported; make it exogenous or drop predict")
    targets = [(c, i) for c in endo for i in spec.blocks[c]]
    tcols = [items.index(i) for _, i in targets]
    plan = make_folds(n, folds, repetitions, seed)
    pred_pls = np.zeros((len(plan), n, len(targets)))
    pred_lm = np.zeros_like(pred_pls)
    train_mean = np.zeros_like(pred_pls)
    raw_items = [alias.get(i, i) for i in items]
    for r, fl_all in enumerate(plan):
        for start in range(0, len(fl_all), FOLD_CHUNK):          # folds in batches: bounded memory
            fl = fl_all[start:start + FOLD_CHUNK]
            mean, sd, S = moments_without(X, fl)
            est = estimate(S, spec, items, scheme=scheme, consistent=consistent, max_iter=max_iter, tol=tol)
            if not est.ok.all():
                raise ModelSpecificationError("PLSpredict: the model cannot be estimated on some training folds "
                                              "(a constant indicator within a fold?); use fewer folds")
            _predict_folds(est, fl, X, items, targets, tcols, mean, sd, pred_pls[r], train_mean[r])
        # LM benchmark
        for c in endo:
            xs = [raw_items.index(alias.get(i, i)) for i in _antecedent_items(spec, c)]
            ts = [t for t, (cc, _) in enumerate(targets) if cc == c]
            ys = [tcols[t] for t in ts]
            A = np.column_stack([np.ones(n), X[:, xs]])
            if folds is None:                            # leave-one-out in closed form: e_i / (1 - h_ii)
                Q, _ = np.linalg.qr(A)
                h = np.einsum("ij,ij->i", Q, Q)
                coef = np.linalg.lstsq(A, X[:, ys], rcond=None)[0]
                e = X[:, ys] - A @ coef
                pred_lm[r][:, ts] = X[:, ys] - e / (1 - h)[:, None]
            else:
                for test in fl_all:
                    train = np.setdiff1d(np.arange(n), test)
                    coef = np.linalg.lstsq(A[train], X[np.ix_(train, ys)], rcond=None)[0]
                    pred_lm[r][np.ix_(test, ts)] = A[test] @ coef
    y = X[:, tcols]
    p_pls, p_lm, naive = pred_pls.mean(axis=0), pred_lm.mean(axis=0), train_mean.mean(axis=0)
    e, el = y - p_pls, y - p_lm
    rows = []
    for t, (c, i) in enumerate(targets):
        sse0 = np.sum((y[:, t] - naive[:, t]) ** 2)
        rows.append({"construct": c, "indicator": alias.get(i, i),
                     "rmse": np.sqrt(np.mean(e[:, t] ** 2)), "mae": np.mean(np.abs(e[:, t])),
                     "q2_predict": 1 - np.sum(e[:, t] ** 2) / sse0,
                     "lm_rmse": np.sqrt(np.mean(el[:, t] ** 2)), "lm_mae": np.mean(np.abs(el[:, t])),
                     "lm_q2_predict": 1 - np.sum(el[:, t] ** 2) / sse0})
    metrics = pd.DataFrame(rows).set_index("indicator")
    return metrics, {"pls": p_pls, "lm": p_lm, "naive": naive, "y": y,
                     "items": [alias.get(i, i) for _, i in targets]}


def cvpat(X, spec, items, *, scheme="path", consistent=False, folds=None, repetitions=1, seed=None, nboot=2000,
          testtype="two.sided", max_iter=300, tol=1e-7, item_alias=None):
    """Cross-validated predictive ability test (Liengaard et al. 2021; Sharma et al. 2023), as seminrExtras.

    Per case i and endogenous construct c, the loss is the mean over c's indicators of the squared
    out-of-sample prediction error; the overall loss is the mean over the endogenous constructs.  PLS
    (direct antecedents) is compared with the LM benchmark (same folds) and with the indicator averages
    (IA: the error against the full-sample indicator mean, as seminrExtras computes it).  With
    d_i = loss_benchmark_i - loss_PLS_i, the test statistic is T = mean(d) / SD* where SD* is the SD
    (n - 1) of the means of ``nboot`` bootstrap resamples of the centred differences d - mean(d), and
    p = 2 P(t_{n-1} < -|T|) (two-sided) or P(t_{n-1} > T) (``testtype="greater"``: PLS predicts better).
    One seeded index matrix (numpy ``default_rng(seed)``, ``integers(0, n, (nboot, n))``) is used for
    every comparison.  Returns a tidy DataFrame: benchmark, construct (or "Overall"), pls_loss,
    benchmark_loss, diff (PLS - benchmark), t, pvalue.

    Examples
    --------
    >>> icaf_sem.pls(model, data).cvpat(nboot=2000, seed=1)      # doctest: +SKIP

    In R: ``seminrExtras::assess_cvpat(pls_model, nboot = 2000, seed = 1)``.
    """
    from scipy import special
    if testtype not in ("two.sided", "greater"):
        raise ModelSpecificationError(f"testtype={testtype!r}: use 'two.sided' or 'greater'")
    if not isinstance(nboot, (int, np.integer)) or nboot < 2:
        raise ModelSpecificationError(f"nboot={nboot!r}: give the number of bootstrap draws (e.g. 2000)")
    _, pr = pls_predict(X, spec, items, scheme=scheme, consistent=consistent, folds=folds, repetitions=repetitions,
                        seed=seed, max_iter=max_iter, tol=tol, item_alias=item_alias)
    y = pr["y"]
    n = y.shape[0]
    errors = {"PLS": y - pr["pls"], "LM": y - pr["lm"], "IA": y - y.mean(axis=0)}
    alias = item_alias or {}
    endo = spec.endogenous
    cols = {c: [pr["items"].index(alias.get(i, i)) for i in spec.blocks[c]] for c in endo}

    def losses(e):
        L = np.column_stack([np.mean(e[:, cols[c]] ** 2, axis=1) for c in endo])
        return np.column_stack([L, L.mean(axis=1)])

    names = endo + ["Overall"]
    lp = losses(errors["PLS"])
    counts = np.zeros((nboot, n))
    idx = np.random.default_rng(seed).integers(0, n, size=(nboot, n))
    np.add.at(counts, (np.repeat(np.arange(nboot), n), idx.ravel()), 1.0)
    rows = []
    for bench in ("LM", "IA"):
        lb = losses(errors[bench])
        d = lb - lp
        dbar = d.mean(axis=0)
        boot = counts @ (d - dbar) / n
        sd = boot.std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(sd > np.finfo(float).eps, dbar / sd, np.nan)
        p = 2 * special.stdtr(n - 1, -np.abs(t)) if testtype == "two.sided" else special.stdtr(n - 1, -t)
        for k, c in enumerate(names):
            rows.append({"benchmark": bench, "construct": c, "pls_loss": lp[:, k].mean(),
                         "benchmark_loss": lb[:, k].mean(), "diff": lp[:, k].mean() - lb[:, k].mean(),
                         "t": t[k], "pvalue": p[k]})
    return pd.DataFrame(rows, columns=["benchmark", "construct", "pls_loss", "benchmark_loss", "diff", "t", "pvalue"])
