"""Factor scores as lavaan's ``lavPredict`` computes them (regression and Bartlett).

For group g with implied covariance Sigma, loadings Lambda (observed x latent), latent
covariance V_eta and means E(eta), E(y) (the sample means without a mean structure):

* regression (lavaan's default, "EBM"): eta_i = E(eta) + V_eta Lambda' Sigma^-1 (y_i - E(y));
* Bartlett: eta_i = E(eta) + (Lambda' Sigma^-1 Lambda)^+ Lambda' Sigma^-1 (y_i - E(y))
  (missing, NaN, for a factor none of whose indicators a row observes).

Under FIML (``missing="ml"``) each row uses only its observed variables: Sigma and Lambda
are restricted to them per missing-data pattern, as lavaan does.

Examples
--------
>>> res = icaf_sem.fit("visual =~ x1 + x2 + x3", hs)        # doctest: +SKIP
>>> res.predict()                                              # doctest: +SKIP

lavaan: ``lavPredict(fit)`` / ``lavPredict(fit, method = "Bartlett")``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ModelSpecificationError

METHODS = {"regression": "regression", "ebm": "regression", "bartlett": "bartlett", "ml": "bartlett"}


def factor_scores(result, method: str = "regression") -> pd.DataFrame:
    """Factor scores of the latent variables for every row used in the fit (lavaan's ``lavPredict``).

    Parameters
    ----------
    result : SEMResult
        A fit from :func:`icaf_sem.fit`.
    method : {"regression", "Bartlett"}
        lavaan's ``method=`` (``"EBM"`` and ``"ML"`` are accepted as its synonyms).

    Returns
    -------
    pandas.DataFrame
        One column per latent variable, one row per case in the order of the fitted data
        (groups one after another, with a ``group`` column for multi-group models).

    Examples
    --------
    >>> factor_scores(res, method="Bartlett")      # doctest: +SKIP

    lavaan: ``lavPredict(fit, method = "Bartlett")``.
    """
    from .results import SEMResult
    if not isinstance(result, SEMResult):
        raise ModelSpecificationError(f"factor_scores() needs a result of icaf_sem.fit(), got {type(result).__name__}")
    m = METHODS.get(str(method).lower())
    if m is None:
        raise ModelSpecificationError(f"method={method!r} is not supported; use 'regression' or 'Bartlett'")
    from ._linalg import one_blas_thread
    with one_blas_thread():
        return _factor_scores(result, m)


def _factor_scores(result, m):
    core = result._core
    lv = list(core.pt.names.lv)
    if not lv:
        raise ModelSpecificationError("the model has no latent variables (=~): there are no factor scores")
    frames = []
    for g, (ram, d) in enumerate(zip(core.rams, core.datas)):
        p = ram.p
        A, S, v = ram.matrices(core.theta)
        if np.any(A[:, :p] != 0) or np.any(ram.Aj < p):
            raise ModelSpecificationError(
                "factor scores are available for models whose observed variables are indicators only; this "
                "model regresses on observed variables (their lavaan scores involve dummy latent variables, "
                "which icaf_sem does not reproduce)")
        sall, mu_all, *_ = ram.implied_all(core.theta)
        sigma = sall[:p, :p]
        lam = A[:p, p:]
        veta = sall[p:, p:]
        if ram.meanstructure:
            ey, eeta = mu_all[:p], mu_all[p:]
        else:
            ey, eeta = core.h1[g][1], np.zeros(len(lv))
        X = d.X
        out = np.full((len(X), len(lv)), np.nan)
        obs = ~np.isnan(X)
        if obs.all():
            pats, inv = np.ones((1, p), bool), np.zeros(len(X), int)
        else:
            pats, inv = np.unique(obs, axis=0, return_inverse=True)
            inv = inv.ravel()
        for k, pat in enumerate(pats):
            rows = np.flatnonzero(inv == k)
            if not pat.any():
                continue
            s_inv = np.linalg.pinv(sigma[np.ix_(pat, pat)])
            lo = lam[pat]
            if m == "regression":
                fsc = veta @ lo.T @ s_inv
            else:
                fsc = np.linalg.pinv(lo.T @ s_inv @ lo) @ lo.T @ s_inv
                # a factor none of whose indicators is observed has no Bartlett score (NA in lavaan)
                fsc[~np.any(lo != 0, axis=0)] = np.nan
            yc = X[np.ix_(rows, np.flatnonzero(pat))] - ey[pat]
            out[rows] = yc @ fsc.T + eeta
        df = pd.DataFrame(out, columns=lv)
        if len(core.rams) > 1:
            df.insert(0, "group", result.group_labels[g])
        frames.append(df)
    return pd.concat(frames, ignore_index=True)
