"""Post-estimation quantities under missing data (FIML) and for the robust indices.

* :func:`expected_information_data`: the expected information of the structured model,
  using lavaan's FIML (pattern-wise) h1 expected information for incomplete groups
  (``lav_mvnorm_missing_information_expected``);
* :func:`gfi_missing`: lavaan's GFI under missing data (WLS.obs and the h1 expected weight);
* :func:`fiml_corrected`: Zhang & Savalei's FIML-corrected test and c-hat for the robust
  CFI/TLI/RMSEA (lavaan's ``lav_fit_fiml_corrected``).

The h1 expected information under FIML is sum_g (n_g/N) Q_g for the means and
1/2 D' [sum_g (n_g/N) Q_g kron Q_g] D for vech(Sigma), where Q_g is the embedded inverse of
Sigma_OO of missing-data pattern g; it is used through per-pattern products and traces
(:func:`inference.vech_kron`), never as a p^2 x p^2 matrix.
"""
from __future__ import annotations

import numpy as np

from .._linalg import sym_inv
from . import fit_measures as fm
from . import inference
from .core import Core
from .fiml_info import information_theta
from .optimize import _drop_x, expected_information


def expected_information_data(rams, datas, theta):
    """Expected information per case, using the FIML (pattern-wise) version for incomplete groups.

    For an incomplete group: 1/2 vech(dSigma_k)' D'[sum_g w_g Q_g kron Q_g]D vech(dSigma_l)
    + dmu_k' [sum_g w_g Q_g] dmu_l with w_g = n_g / N.
    """
    ntot = sum(d.N for d in datas)
    npar = len(theta)
    info = np.zeros((npar, npar))
    for ram, d in zip(rams, datas):
        w = d.N / ntot
        if not d.has_missing:
            info += expected_information([ram], [w], theta)
            continue
        info += w * information_theta(ram, d, theta, observed=False, drop_x=True) / d.N
    return 0.5 * (info + info.T)


def _complete_h1_info(sigma):
    """Complete-data h1 information per case in (mu, vech Sigma): diag(P, 1/2 D'(P kron P)D), P = Sigma^-1."""
    p = sigma.shape[0]
    P = np.linalg.inv(sigma)
    A = 0.5 * inference.vech_kron(P, P)
    return np.block([[P, np.zeros((p, A.shape[0]))], [np.zeros((A.shape[0], p)), A]])


def fiml_corrected(core: Core, base: Core, version="V6"):
    """Zhang & Savalei (2023) FIML-corrected chi-square and c-hat (lavaan's ``lav_fit_fiml_corrected``).

    Multi-group: block-diagonal h1 information matrices weighted by the group fractions
    ``f_g = N_g / N`` (and their inverses by ``N / N_g``), the groups' Deltas stacked, as in lavaan.

    Notation, per group (moments of fixed exogenous covariates left out, as lavaan zeroes them):
    A_g the observed h1 information under FIML (lavaan's WM), C_g the complete-data h1
    information (Wc), J_g the h1 first-order information (JM), Delta_g the model Jacobian;
    Wm = bdiag(f_g A_g), Wmi = Wm^-1, Wc = bdiag(f_g C_g), and
    E = (D' Wm D)^-1 (lavaan sets observed.information = "h1" here, so the model information is
    Delta' Wm Delta rather than the Hessian used for the standard errors).  lavaan's
    U = Wm - Wm D E D' Wm enters traces whose expansions need only q x q products (q = npar),
    using Wmi Wm = I:

    * V6: tr(U Wmi Wc Wmi) = tr(Wc Wmi) - tr(E M2),  M2 = D' Wc D = sum_g f_g Delta_g' C_g Delta_g;
    * V3: tr(U X U Gamma) with X = Wmi Wc Wmi, Gamma = bdiag(A_g^-1 J_g A_g^-1 / f_g) equals
      sum_g tr(C_g A_g^-1 J_g A_g^-1) - 2 tr(E M1) + tr(E M2 E M3), with
      M1 = sum_g f_g Delta_g' C_g A_g^-1 J_g Delta_g and M3 = sum_g f_g Delta_g' J_g Delta_g.
    """
    from .samplestats import logl_complete
    N_tot = core.ntotal

    def xx(c):
        total = 0.0
        for g, d in enumerate(core.datas):
            sig_t, mu_t = core.h1[g]
            M, mu = c.rams[g].implied(c.theta)
            total += 2 * (logl_complete(d.N, sig_t, mu_t, sig_t, mu_t) - logl_complete(d.N, sig_t, mu_t, M, mu))
        return total
    xx3, xx3n = xx(core), xx(base)
    groups = []
    tr0 = 0.0                                   # the Delta-free trace: tr(Wc Wmi) (V6) or sum_g tr(C A^-1 J A^-1) (V3)
    for g, d in enumerate(core.datas):
        sig_t, mu_t = core.h1[g]
        ram = core.rams[g]
        keep = inference.not_x(ram.p, ram.x_idx, True)
        kk = np.ix_(keep, keep)
        A = inference.h1_information(d, sig_t, mu_t, True)[kk]
        Ainv = inference.h1_information_inverse(d, sig_t, mu_t, True, keep)
        C = _complete_h1_info(sig_t)[kk]
        xf = [ram.ov.index(v) for v in core.pt.names.ov_x_free if v in ram.ov]
        if xf:
            # fixed_x=False: lavaan refits the model to the EM moments with lavaan()'s default
            # fixed.x = TRUE, so the complete-data h1 information (Wc) has zero rows and columns
            # for the covariates' moments while Wm and the first-order information keep them
            cx = ~inference.not_x(ram.p, np.array(xf), True)[keep]
            C = C.copy()
            C[cx, :] = 0.0
            C[:, cx] = 0.0
        if version == "V3":
            J = inference.h1_firstorder(d, sig_t, mu_t, True)[kk]
            # tr(C A^-1 J A^-1) with J = S'S/N (S the casewise h1 scores, never formed whole)
            tr0 += np.sum(C * (Ainv @ J @ Ainv))
        else:
            J = None
            tr0 += np.sum(C * Ainv)
        groups.append((d.N / N_tot, keep, A, Ainv, C, J))

    def k_of(c):
        q = c.npar
        info, M1, M2, M3 = (np.zeros((q, q)) for _ in range(4))
        for ram, (fg, keep, A, Ainv, C, J) in zip(c.rams, groups):
            D = inference.delta_vech(ram, c.theta)[keep]
            # moments the model leaves fixed (zero rows of Delta; most of them for the baseline)
            # drop out of every product
            nz = np.flatnonzero(D.any(axis=1))
            Dn = D[nz]
            CD = C[:, nz] @ Dn
            info += fg * (Dn.T @ (A[np.ix_(nz, nz)] @ Dn))
            M2 += fg * (CD.T @ D)
            if J is not None:
                JD = J[:, nz] @ Dn
                M1 += fg * (CD.T @ (Ainv @ JD))
                M3 += fg * (D.T @ JD)
        E = np.linalg.inv(info)
        if version == "V3":
            return tr0 - 2 * np.sum(E * M1.T) + np.sum((E @ M2) * (E @ M3).T)
        return tr0 - np.sum(E * M2.T)
    # df = 0: lavaan's c-hat is k / 0, infinite (the indices then take their df = 0 values)
    c3 = k_of(core) / core.df if core.df > 0 else np.inf
    return xx3, core.df, c3, xx3n, k_of(base) / base.df


def gfi_missing(data, sigma, mu, x_block=None, x_idx=None):
    """lavaan's GFI of one group under missing data.

    lavaan's WLS.obs under missing data are the available-case means and the pairwise
    covariances (divisor n_ij - 1) rescaled by (N - 1)/N; the weight is the h1 expected
    information at the model-implied moments.
    """
    import pandas as pd
    from .fiml_info import PatternSides, trace_quadratic
    sides = PatternSides(sigma, data.patterns)
    w = data.pattern_counts / data.N
    Xg = pd.DataFrame(data.X)
    S_pw = Xg.cov().to_numpy() * (data.N - 1) / data.N
    ybar = Xg.mean().to_numpy()
    if x_block is not None and x_block.any():
        # moments among fixed exogenous covariates carry no weight (as in the complete-data GFI)
        S_pw, sigma = np.where(x_block, 0.0, S_pw), np.where(x_block, 0.0, sigma)
        ybar, mu = ybar.copy(), np.array(mu, float)
        ybar[x_idx] = mu[x_idx] = 0.0
    # the weight is sum_g w_g Q_g for the means and 1/2 sum_g w_g (Q_g kron Q_g) on vec(Sigma): a
    # residual E contributes 1/2 sum_g w_g tr(Q_g E Q_g E) (fm.gfi_weighted with the Q_g stacked)
    Wmu, _, _ = sides.sum_q(w)
    T = trace_quadratic(sides, w, np.stack([S_pw - sigma, S_pw]))
    d, yb = ybar - mu, ybar
    return 1.0 - (0.5 * T[0, 0] + d @ Wmu @ d) / (0.5 * T[1, 1] + yb @ Wmu @ yb)
