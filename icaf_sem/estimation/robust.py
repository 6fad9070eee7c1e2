"""Post-estimation quantities under missing data (FIML) and for the robust indices.

* :func:`missing_h1_expected` and :func:`expected_information_data`: the expected
  information of the saturated (h1) and the structured model under FIML
  (lavaan's ``lav_mvnorm_missing_information_expected``);
* :func:`gfi_missing`: lavaan's GFI under missing data (WLS.obs and the h1 expected weight);
* :func:`fiml_corrected`: Zhang & Savalei's FIML-corrected test and c-hat for the robust
  CFI/TLI/RMSEA (lavaan's ``lav_fit_fiml_corrected``).
"""
from __future__ import annotations

import numpy as np

from . import fit_measures as fm
from . import inference
from .core import Core
from .optimize import _drop_x, expected_information


def missing_h1_expected(data, sigma, mu):
    """Expected information of the saturated model under FIML, per case, at (sigma, mu).

    Returns ``(Wmu, K)``: sum_g (n_g/N) Q_g (p x p) and sum_g (n_g/N) Q_g (x) Q_g
    (p^2 x p^2), where Q_g is the embedded inverse of Sigma_OO of pattern g
    (lavaan's ``lav_mvnorm_missing_information_expected``).
    """
    from .objectives import pattern_inverses
    n_g = data.pat[0]
    p = sigma.shape[0]
    P = np.linalg.inv(sigma)
    inv = pattern_inverses(0.5 * (P + P.T), data.patterns)
    Wmu = np.zeros((p, p))
    K = np.zeros((p * p, p * p))
    for k, (idx, Q, _) in inv.items():
        w = n_g[idx] / data.N
        Wmu += np.einsum("g,gij->ij", w, Q)
        M = np.ascontiguousarray(Q).reshape(len(idx), p * p)          # rows vec(Q_g) indexed (a, c)
        K += (M.T * w) @ M                                              # [(a,c),(b,d)]
    K = K.reshape(p, p, p, p).transpose(0, 2, 1, 3).reshape(p * p, p * p)   # -> [(a,b),(c,d)]
    return Wmu, K


def expected_information_data(rams, datas, theta):
    """Expected information per case, using the FIML (pattern-wise) version for incomplete groups."""
    ntot = sum(d.N for d in datas)
    npar = len(theta)
    info = np.zeros((npar, npar))
    for ram, d in zip(rams, datas):
        w = d.N / ntot
        if not d.has_missing:
            info += expected_information([ram], [w], theta)
            continue
        sigma, mu = ram.implied(theta)
        d_sigma, d_mu = _drop_x(ram, *ram.delta(theta))
        p = sigma.shape[0]
        Wmu, K = missing_h1_expected(d, sigma, mu)
        Ds = d_sigma.reshape(npar, p * p)
        I = 0.5 * Ds @ K @ Ds.T + d_mu @ Wmu @ d_mu.T
        info += w * I
    return 0.5 * (info + info.T)


def _delta_h1(ram, theta):
    d_sigma, d_mu = ram.delta(theta)
    p = ram.p
    ci, ri = inference._vech_pairs(p)
    vs = d_sigma[:, ri, ci]                              # (npar, p*)
    return np.hstack([d_mu, vs]).T if ram.meanstructure else vs.T


def _complete_h1_info(sigma):
    p = sigma.shape[0]
    P = np.linalg.inv(sigma)
    A = 0.5 * inference.vech_kron(P)
    return np.block([[P, np.zeros((p, A.shape[0]))], [np.zeros((A.shape[0], p)), A]])


def fiml_corrected(core: Core, base: Core, version="V6"):
    """Zhang & Savalei (2023) FIML-corrected chi-square and c-hat (lavaan's ``lav_fit_fiml_corrected``).

    Multi-group: block-diagonal h1 information matrices weighted by the group fractions
    ``N_g / N`` (and their inverses by ``N / N_g``), the groups' Deltas stacked, as in lavaan.
    """
    from scipy.linalg import block_diag
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
    Wm_g, Wc_g, Wmi_g, Gam_g, keep_g = [], [], [], [], []
    for g, d in enumerate(core.datas):
        sig_t, mu_t = core.h1[g]
        fg = d.N / N_tot
        ram = core.rams[g]
        # moments of fixed exogenous covariates carry no information (lavaan zeroes them); work on the rest
        keep = inference._not_x(ram.p, ram.x_idx, True)
        WM, JM = inference.h1_information_and_firstorder(d, sig_t, mu_t, True)
        WM, JM = WM[np.ix_(keep, keep)], JM[np.ix_(keep, keep)]
        WMi = np.linalg.inv(WM)
        Wm_g.append(fg * WM)
        Wmi_g.append(WMi / fg)
        Wc_g.append(fg * _complete_h1_info(sig_t)[np.ix_(keep, keep)])
        Gam_g.append((WMi, JM, fg))           # Gamma = WMi JM WMi / fg, formed only where needed (V3)
        keep_g.append(keep)
    Wm, Wmi, Wc = block_diag(*Wm_g), block_diag(*Wmi_g), block_diag(*Wc_g)
    Dm = np.vstack([_delta_h1(r, core.theta)[k] for r, k in zip(core.rams, keep_g)])
    Db = np.vstack([_delta_h1(r, base.theta)[k] for r, k in zip(base.rams, keep_g)])
    # lavaan sets observed.information = "h1" (unstructured) here, so the model information
    # is Delta' Wm Delta rather than the Hessian used for the standard errors
    E = np.linalg.inv(Dm.T @ Wm @ Dm)
    Eb = np.linalg.inv(Db.T @ Wm @ Db)
    # lavaan 0.6: U = Wm - Wm Delta E^-1 Delta' Wm;  the traces are expanded so that only a few
    # products with the (p + p*) square matrices are formed
    if version == "V3":
        # tr(U X U Gamma) with X = Wmi Wc Wmi, Gamma = Wmi JM Wmi (per group, / f_g) and
        # U = Wm - Wm D E D' Wm.  Since Wm Wmi = I:  U X = K Wc Wmi  and  U Gamma = K JM Wmi  with
        # K = I - Wm D E D', applied as a rank-npar correction (no further (p+p*)^3 products)
        WcWmi = Wc @ Wmi
        JW = block_diag(*[JM @ WMi for WMi, JM, fg in Gam_g])

        def k_of(D, Einv):
            WD = Wm @ D
            UX = WcWmi - WD @ (Einv @ (D.T @ WcWmi))
            UG = JW - WD @ (Einv @ (D.T @ JW))
            return np.sum(UX * UG.T)
    else:
        # with X = Wmi Wc Wmi and Wmi Wm = I:  tr(X Wm) = tr(Wc Wmi)  and  X Wm D = Wmi Wc D
        trXW = np.sum(Wc * Wmi.T)

        def k_of(D, Einv):
            WD = Wm @ D
            return trXW - np.sum((Wmi @ (Wc @ D)) * (WD @ Einv))
    df3 = core.df
    c3 = k_of(Dm, E) / df3
    c3n = k_of(Db, Eb) / base.df
    return xx3, df3, c3, xx3n, c3n


def gfi_missing(data, sigma, mu):
    """lavaan's GFI of one group under missing data.

    lavaan's WLS.obs under missing data are the available-case means and the pairwise
    covariances (divisor n_ij - 1) rescaled by (N - 1)/N; the weight is the h1 expected
    information at the model-implied moments.
    """
    import pandas as pd
    Wmu, K = missing_h1_expected(data, sigma, mu)
    Xg = pd.DataFrame(data.X)
    S_pw = Xg.cov().to_numpy() * (data.N - 1) / data.N
    return fm.gfi_weighted(S_pw, sigma, Xg.mean().to_numpy(), mu, Wmu, K)
