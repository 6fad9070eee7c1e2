"""icaf_sem.fit against lavaan 0.6-14 for issue 10, part A (tests/fixtures/lavaan_parity).

Each fixture (made by make_parity.R beside it) is refitted in process and compared with the
conformance tolerances: estimates, SEs, standardized values, R² and EVERY name of lavaan's
``fitMeasures(fit, "all")``; where lavaan reports NA the result must hold NaN under that name.
"""
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import icaf_sem
from lavaan_compare import FIX, deviations, fit_kwargs, load_case

ROOT = FIX / "lavaan_parity"
CASES = sorted(list(ROOT.glob("*.json")) + list((ROOT / "options").glob("*.json")))


def _r2_checks(ref, res):
    out = []
    for glab, vals in (ref.get("r2_by_group") or {}).items():
        for v, want in vals.items():
            have = res.r2.get((v, glab))
            if have is None:
                lab = next((lb for lb in res.group_labels if str(lb) == glab), None)
                have = res.r2.get((v, lab))
            if have is None or abs(have - want) > 1e-3:
                out.append(f"r2 {v} ({glab}): {have} vs {want}")
    return out


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_matches_lavaan_all_fit_measures(path: Path):
    ref, data = load_case(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = icaf_sem.fit(ref["model"], data, modindices=False, **fit_kwargs(ref))
    assert res.converged
    dev = deviations(ref, res, check_mi=False) + _r2_checks(ref, res)
    fm = res.fit_measures
    for k, want in ref["fit"].items():
        if k not in fm:
            dev.append(f"fit {k}: missing (lavaan {want})")
        elif want is None and fm[k] is not None and math.isfinite(fm[k]):
            dev.append(f"fit {k}: {fm[k]} where lavaan has NA")
    assert not dev, "\n".join(dev[:30])
