"""Compare an icaf_sem result with a stored lavaan reference (same tolerances as the shared checker).

Reference files are lavaan JSON fixtures (``tests/fixtures/lavaan``) made by the R scripts kept
beside them; this module only reads them, so the tests never need R.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
FIX = HERE / "fixtures"
FIT_ABS = {"cfi": 1e-3, "tli": 1e-3, "rmsea": 1e-3, "rmsea.ci.lower": 2e-3, "rmsea.ci.upper": 2e-3,
           "rmsea.pvalue": 5e-3, "srmr": 1e-3, "cfi.scaled": 2e-3, "tli.scaled": 2e-3, "cfi.robust": 2e-3,
           "tli.robust": 2e-3, "rmsea.scaled": 2e-3, "rmsea.robust": 2e-3, "pvalue": 2e-3, "pvalue.scaled": 2e-3,
           "chisq.scaling.factor": 5e-3, "gfi": 2e-3, "agfi": 2e-3, "nfi": 1e-3}
FIT_REL = {"chisq": 2e-3, "baseline.chisq": 2e-3, "chisq.scaled": 5e-3, "logl": 1e-5, "unrestricted.logl": 1e-5,
           "aic": 1e-5, "bic": 1e-5, "bic2": 1e-5}
FIT_EXACT = ["npar", "df", "baseline.df", "ntotal"]


def load_case(path: Path):
    ref = json.loads(Path(path).read_text(encoding="utf-8"))
    opts = ref.get("options", {})
    data = pd.read_csv(FIX / "data" / ref["data"])
    keyed = opts.get("reverse_keyed") or []
    if isinstance(keyed, str):
        keyed = [keyed]
    for k in keyed:
        data[k] = opts["scale_max_plus_min"] - data[k]
    if "reliability" in ref:
        items = [i for s in ref["reliability"].values() for i in s["items"]]
        data = data.dropna(subset=items).reset_index(drop=True)
    return ref, data


# lavaan options stored in a fixture's `options` that icaf_sem.fit takes under the same name
PASSED_OPTIONS = ("meanstructure", "orthogonal", "auto_fix_first", "fixed_x", "likelihood", "group_partial")


def fit_kwargs(ref):
    o = ref.get("options", {})
    kw = {"estimator": o.get("estimator", "ML"), "missing": o.get("missing", "listwise")}
    if o.get("std_lv"):
        kw["std_lv"] = True
    if o.get("group"):
        kw["group"] = o["group"]
    if o.get("group_equal"):
        ge = o["group_equal"]
        kw["group_equal"] = ge if isinstance(ge, list) else [ge]
    for name in PASSED_OPTIONS:
        if name in o:
            kw[name] = o[name]
    if ref.get("function") == "growth":
        kw["model_type"] = "growth"
    return kw


def _close(a, b, abs_tol=0.0, rel_tol=0.0):
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return False
    return abs(a - b) <= max(abs_tol, rel_tol * abs(b))


def deviations(ref, res, check_mi=True):
    """List every deviation of ``res`` (an SEMResult) from the lavaan reference ``ref``."""
    out = []
    P = res.parameters
    got = {}
    for r in P.to_dict("records"):
        key = (r["lhs"], ":=", "", 1) if r["op"] == ":=" else (r["lhs"], r["op"], r["rhs"], int(r["group"]))
        got[key] = r
    for p in ref["parameters"]:
        g = int(p.get("group") or 1)
        key = (p["lhs"], ":=", "", 1) if p["op"] == ":=" else (p["lhs"], p["op"], p["rhs"], g)
        if p["op"] == "~1" and p["est"] == 0 and p["se"] == 0:
            continue
        r = got.get(key)
        name = " ".join(map(str, key))
        if r is None:
            out.append(f"missing {name}")
            continue
        if not _close(r["est"], p["est"], abs_tol=1e-3 * max(1.0, abs(p["est"]))):
            out.append(f"{name}: est {r['est']} vs {p['est']}")
        if p.get("se") and not _close(r["se"], p["se"], abs_tol=1e-4, rel_tol=1e-2):
            out.append(f"{name}: se {r['se']} vs {p['se']}")
        if p.get("std.all") is not None and not _close(r["std_all"], p["std.all"], abs_tol=1e-3):
            out.append(f"{name}: std_all {r['std_all']} vs {p['std.all']}")
        if p.get("std.lv") is not None and not _close(r["std_lv"], p["std.lv"], abs_tol=1e-3 * max(1, abs(p["std.lv"]))):
            out.append(f"{name}: std_lv {r['std_lv']} vs {p['std.lv']}")
    fm = res.fit_measures
    for k, want in ref["fit"].items():
        if want is None or (isinstance(want, float) and math.isnan(want)):
            continue
        have = fm.get(k)
        if k in FIT_EXACT:
            ok = have is not None and round(have) == round(want)
        elif k in FIT_ABS:
            ok = _close(have, want, abs_tol=FIT_ABS[k])
        elif k in FIT_REL:
            ok = _close(have, want, rel_tol=FIT_REL[k], abs_tol=1e-3)
        else:  # every other name lavaan reported, as conformance.py: 2e-3 absolute or relative
            ok = _close(have, want, abs_tol=2e-3, rel_tol=2e-3)
        if not ok:
            out.append(f"fit {k}: {have} vs {want}")
    for v, want in (ref.get("r2") or {}).items():
        if want is None:              # lavaan's NA (an R² above 1): NaN here
            have = res.r2.get(v)
            if have is not None and math.isfinite(have):
                out.append(f"r2 {v}: {have} vs NA")
            continue
        if not _close(res.r2.get(v), want, abs_tol=1e-3):
            out.append(f"r2 {v}: {res.r2.get(v)} vs {want}")
    if check_mi and ref.get("modindices"):
        mi = res.modindices
        mine = {}
        for m in mi.to_dict("records"):
            mine[(m["lhs"], m["op"], m["rhs"])] = m
            if m["op"] == "~~":
                mine[(m["rhs"], m["op"], m["lhs"])] = m
        for m in sorted(ref["modindices"], key=lambda m: -m["mi"])[:10]:
            h = mine.get((m["lhs"], m["op"], m["rhs"]))
            name = f"{m['lhs']} {m['op']} {m['rhs']}"
            if h is None:
                out.append(f"mi {name} missing")
            elif not _close(h["mi"], m["mi"], abs_tol=1e-2, rel_tol=1e-2):
                out.append(f"mi {name}: {h['mi']} vs {m['mi']}")
            elif not _close(h["epc"], m["epc"], abs_tol=1e-3 * max(1.0, abs(m["epc"]))):
                out.append(f"epc {name}: {h['epc']} vs {m['epc']}")
            elif m.get("sepc.all") is not None and not _close(h["sepc_all"], m["sepc.all"], abs_tol=2e-3):
                out.append(f"sepc.all {name}: {h['sepc_all']} vs {m['sepc.all']}")
    return out
