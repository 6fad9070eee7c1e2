"""icaf_sem.fit against lavaan 0.6-14, case by case.

Every JSON under tests/fixtures/lavaan (made by make_fixtures.R there; the shared/ copies are the
project's reference cases) is refitted in-process and compared with the conformance tolerances:
estimates, SEs, std.lv/std.all, fit measures, R² and the top modification indices.
"""
import warnings
from pathlib import Path

import pytest

import icaf_sem
from lavaan_compare import FIX, deviations, fit_kwargs, load_case

ROOT = FIX / "lavaan"
CASES = sorted(p for p in list(ROOT.glob("*.json")) + list((ROOT / "shared").glob("*.json"))
               + list((ROOT / "api_only").glob("*.json")) if "bootstrap" not in p.name)


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_matches_lavaan(path: Path):
    ref, data = load_case(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = icaf_sem.fit(ref["model"], data, **fit_kwargs(ref))
    assert res.converged
    dev = deviations(ref, res)
    assert not dev, "\n".join(dev[:20])
