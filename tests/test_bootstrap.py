"""Bootstrap: reproducible, lavaan-like CIs (pinned against lavaan's 2,000-draw intervals), failures counted."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.estimation.bootstrap import _norm_inter, bca_simple_ci, percentile_ci
from lavaan_compare import FIX

REF = json.loads((FIX / "lavaan" / "shared" / "pd_sem_bootstrap.json").read_text())
PD = pd.read_csv(FIX / "data" / "political_democracy.csv")


@pytest.fixture(scope="module")
def boot():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return icaf_sem.fit(REF["model"], PD, bootstrap=2000, seed=1, modindices=False)


def test_reproducible_with_seed():
    a = icaf_sem.fit(REF["model"], PD, bootstrap=64, seed=7, modindices=False)
    b = icaf_sem.fit(REF["model"], PD, bootstrap=64, seed=7, modindices=False)
    np.testing.assert_array_equal(a.boot.draws, b.boot.draws)
    c = icaf_sem.fit(REF["model"], PD, bootstrap=64, seed=8, modindices=False)
    assert not np.array_equal(a.boot.draws, c.boot.draws)


def test_intervals_match_lavaan(boot):
    P = boot.parameters
    for table, lo, up in (("percentile_ci", "boot_pct_lower", "boot_pct_upper"),
                          ("bias_corrected_ci", "boot_bc_lower", "boot_bc_upper")):
        for p in REF[table]:
            if p["op"] not in ("~", ":="):
                continue
            row = P[(P.lhs == p["lhs"]) & (P.op == p["op"]) & ((P.rhs == p["rhs"]) | (P.op == ":="))].iloc[0]
            width = p["ci.upper"] - p["ci.lower"]
            assert abs(row[lo] - p["ci.lower"]) < 0.08 * width, (table, p["lhs"], p["rhs"])
            assert abs(row[up] - p["ci.upper"]) < 0.08 * width, (table, p["lhs"], p["rhs"])
    assert boot.boot.n_ok + boot.boot.n_failed == 2000


def test_bootstrap_se_replaces_se_and_json_has_boot_ci(boot):
    js = boot.to_dict()
    row = [r for r in js["parameters"] if r["op"] == ":=" and r["lhs"] == "indirect"][0]
    assert set(row["boot_ci"]) == {"percentile", "bias_corrected"}
    assert js["bootstrap"]["requested"] == 2000


def test_fiml_bootstrap_runs():
    data = PD.copy()
    rng = np.random.default_rng(3)
    data = data.mask(rng.random(data.shape) < 0.05)
    from icaf_sem.errors import BootstrapWarning
    with pytest.warns(BootstrapWarning, match="too few"):
        res = icaf_sem.fit(REF["model"], data, missing="ml", bootstrap=40, seed=2, modindices=False)
    assert res.boot.n_ok >= 35
    assert res.parameters["boot_se"].notna().any()
    # 40 draws are too few for 95% intervals: reported unavailable, not replaced by normal theory
    free = res.parameters["free"] > 0
    assert res.parameters.loc[free, ["boot_pct_lower", "ci_lower", "ci_upper"]].isna().all().all()


def test_norm_inter_matches_boot_package():
    # boot:::norm.inter(1:99, c(.025, .975)) = 2.5, 97.5 (exact order statistics at (R+1)*alpha)
    t = np.arange(1, 100, dtype=float)
    np.testing.assert_allclose(_norm_inter(t, np.array([0.025, 0.975])), [2.5, 97.5], atol=0.05)
    lo, up = percentile_ci(t)
    assert lo < up
    lo2, up2 = bca_simple_ci(t, 50.0)
    assert abs(lo2 - lo) < 1 and abs(up2 - up) < 1
