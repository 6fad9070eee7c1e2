"""Modification indices with EPC and standardized EPC (lavaan's ``modindices()``).

The model is extended with every parameter lavaan's ``lav_partable_full``
would add (loadings of each latent on each non-exogenous observed variable,
covariances among observed and among latent variables, regressions among
variables in structural equations), evaluated at the estimates with the new
parameters at zero.  With the expected information I of the extended model
partitioned into extra (1) and model (2) parts,
``V = I11 - I12 I22^-1 I21``, ``mi = N g^2 / diag(V)`` and ``epc = -g / diag(V)``
where g is the gradient of -logL/N w.r.t. the extra parameters.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.matrices import GroupRAM
from ..model.partable import ParTable
from .objectives import Objective
from .robust import expected_information_data


def candidate_rows(pt: ParTable):
    names = pt.names
    t = pt.table
    lv, ov = names.lv, names.ov
    ov_x = set(names.ov_x)
    ov_nox = [v for v in ov if v not in ov_x]
    eqs = list(dict.fromkeys(names.eqs_y + names.eqs_x))
    eqs_y = eqs
    rows = []
    for g in range(1, pt.ngroups + 1):
        tg = t[t["group"] == g]
        existing = set()
        for _, r in tg.iterrows():
            existing.add((r["lhs"], r["op"], r["rhs"]))
            if r["op"] == "~~":
                existing.add((r["rhs"], r["op"], r["lhs"]))
        cand = []
        for f in lv:
            for v in ov_nox:
                if v in eqs_y:
                    continue
                cand.append((f, "=~", v))
        for j in range(len(ov_nox)):
            for i in range(j, len(ov_nox)):
                cand.append((ov_nox[j], "~~", ov_nox[i]))
        for j in range(len(lv)):
            for i in range(j, len(lv)):
                cand.append((lv[j], "~~", lv[i]))
        for y in eqs_y:
            for x in eqs:
                if x == y:
                    continue
                if y in names.ov_ind and x in lv:
                    continue
                cand.append((y, "~", x))
        for c in cand:
            if c not in existing:
                rows.append((g,) + c)
                existing.add(c)
                if c[1] == "~~":
                    existing.add((c[2], c[1], c[0]))
    return rows


def modification_indices(result) -> pd.DataFrame:
    core = result._core
    pt = core.pt
    cands = candidate_rows(pt)
    cols = ["lhs", "op", "rhs", "group", "mi", "epc", "sepc_lv", "sepc_all"]
    if core.info is None and core.vcov is None:
        return pd.DataFrame(columns=cols)
    t = pt.table.copy()
    npar = pt.npar
    # lavaan frees every fixed parameter too (all.free): fixed rows become candidates at their value
    fixed_rows = np.where(t["free"].to_numpy() == 0)[0]
    fixed_vals = t["ustart"].to_numpy(float)[fixed_rows]
    t.loc[fixed_rows, "free"] = npar + 1 + np.arange(len(fixed_rows))
    n_fixed = len(fixed_rows)
    extra = pd.DataFrame([dict(id=0, lhs=l, op=o, rhs=r, group=g, user=10, free=npar + n_fixed + k + 1,
                               ustart=np.nan, exo=0, label="", plabel="", start=None, line=0)
                          for k, (g, l, o, r) in enumerate(cands)])
    ext = ParTable(table=pd.concat([t, extra], ignore_index=True), names=pt.names, defined=[],
                   ngroups=pt.ngroups, group_labels=pt.group_labels, meanstructure=pt.meanstructure)
    rams = [GroupRAM(ext, g + 1, d.ov) for g, d in enumerate(core.datas)]
    theta = np.concatenate([core.theta, np.nan_to_num(fixed_vals), np.zeros(len(cands))])
    ft = pt.table.iloc[fixed_rows]
    cands = [(int(r["group"]), r["lhs"], r["op"], r["rhs"]) for _, r in ft.iterrows()] + list(cands)
    N = core.ntotal
    info = expected_information_data(rams, core.datas, theta)
    obj = Objective(rams, core.datas)
    _, grad = obj.value_and_grad(theta)
    m_idx = np.arange(npar)
    e_idx = np.arange(npar, npar + len(cands))
    I11 = info[np.ix_(e_idx, e_idx)]
    I12 = info[np.ix_(e_idx, m_idx)]
    I22 = expected_information_data(core.rams, core.datas, core.theta)
    I22inv = np.linalg.inv(I22)
    V = I11 - I12 @ I22inv @ I12.T
    vd = np.diag(V).copy()
    vd[vd < np.finfo(float).eps ** (1 / 3)] = np.nan
    g = grad[e_idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        mi = N * g * g / vd
        epc = -g / vd
    # standardized EPC, as lavaan's standardize_lv/all applied to |epc| with the sign kept
    sepc_lv = np.full(len(cands), np.nan)
    sepc_all = np.full(len(cands), np.nan)
    lvset = set(pt.names.lv)
    for gi, ram in enumerate(core.rams):
        A, S, v = ram.matrices(core.theta)
        B = np.linalg.inv(np.eye(ram.m) - A)
        var = np.diag(B @ S @ B.T)
        sd = np.sqrt(np.where(var > 0, var, np.nan))
        pos = {x: i for i, x in enumerate(ram.vars)}
        res = {x: S[pos[x], pos[x]] for x in ram.vars}
        for k, (g_, l, o, r) in enumerate(cands):
            if g_ != ram.group:
                continue
            e = abs(epc[k])
            s = np.sign(epc[k])
            if o == "=~":
                sepc_lv[k] = s * e * sd[pos[l]] / (sd[pos[r]] if r in lvset else 1.0)
                sepc_all[k] = s * e * sd[pos[l]] / sd[pos[r]]
            elif o == "~":
                sepc_lv[k] = s * e * (sd[pos[r]] if r in lvset else 1) / (sd[pos[l]] if l in lvset else 1)
                sepc_all[k] = s * e * sd[pos[r]] / sd[pos[l]]
            elif o == "~~":
                a, b = np.sqrt(abs(res[l])), np.sqrt(abs(res[r]))
                if l == r:
                    sepc_all[k] = s * e / var[pos[l]]
                    sepc_lv[k] = s * e / var[pos[l]] if l in lvset else s * e
                else:
                    sepc_all[k] = s * e / (a * b)
                    sepc_lv[k] = s * e / (a * b) if (l in lvset and r in lvset) else s * e
    out = pd.DataFrame({"lhs": [c[1] for c in cands], "op": [c[2] for c in cands], "rhs": [c[3] for c in cands],
                        "group": [c[0] for c in cands], "mi": mi, "epc": epc, "sepc_lv": sepc_lv,
                        "sepc_all": sepc_all})
    out = out[np.isfinite(out["mi"])].reset_index(drop=True)
    return out
