"""Bootstrap of the whole three-stage ordinal estimator (estimation/ordinal_bootstrap.py).

lavaan's percentile intervals cannot be matched draw for draw (R's random numbers differ), so the
draws are checked by their properties and their standard deviations against lavaan 0.6-14's
bootstrap SEs (``se = "bootstrap"``, 1000 draws; fixture made by make_ordinal_bootstrap.R) within
Monte Carlo tolerance.  Also: the refusals of features not built for ordered items."""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.errors import ModelSpecificationError
from icaf_sem.estimation.ordinal_bootstrap import bootstrap_ordinal

FIX = Path(__file__).parent / "fixtures" / "ordinal"
REF = FIX / "ordinal_bootstrap_bfi600.json"


def _data(ref):
    d = pd.read_csv(FIX / "data" / ref["data"])
    return d.dropna(subset=ref["ordered"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def boot_fit():
    ref = json.loads(REF.read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = icaf_sem.fit(ref["model"], _data(ref), ordered=True, bootstrap=200, seed=11)
    return ref, res


def test_bootstrap_ses_match_lavaan_within_monte_carlo_error(boot_fit):
    ref, res = boot_fit
    pe = res.parameters
    got = {(r.lhs, r.op, r.rhs): r.se for r in pe.itertuples()}
    n = 0
    for p in ref["parameters"]:
        if p["op"] in ("=~", "~", ":=", "|") and p["se_boot"]:
            key = (p["lhs"], p["op"], p["rhs"] if p["op"] != ":=" else p["rhs"])
            mine = got[(p["lhs"], p["op"], p["rhs"])]
            # 200 draws here, 1000 in lavaan: the SD of the draws has a Monte Carlo error of ~5 %
            assert mine == pytest.approx(p["se_boot"], rel=0.2), key
            n += 1
    assert n > 30
    assert res.boot.n_requested == 200 and res.boot.n_ok + res.boot.n_failed == 200


def test_bootstrap_properties(boot_fit):
    ref, res = boot_fit
    pe = res.parameters
    free = pe[(pe["free"] > 0) | (pe["op"] == ":=")]
    # the estimate lies inside its percentile interval, and the bootstrap SE is the SD of the draws
    assert (free["boot_pct_lower"] <= free["est"] + 1e-12).all() and (free["est"] <= free["boot_pct_upper"] + 1e-12).all()
    d = res.boot.draws
    k = int(pe.loc[(pe["lhs"] == "E") & (pe["op"] == "~"), "free"].iloc[0]) - 1
    assert pe.loc[(pe["lhs"] == "E") & (pe["op"] == "~"), "se"].iloc[0] == pytest.approx(np.std(d[:, k], ddof=1))
    # the defined effect's draws are a * b of the same draws
    a = d[:, int(pe.loc[pe["label"] == "a", "free"].iloc[0]) - 1]
    b = d[:, int(pe.loc[pe["label"] == "b", "free"].iloc[0]) - 1]
    np.testing.assert_allclose(res.boot.defined[:, 0], a * b)
    js = res.to_dict()
    row = [r for r in js["parameters"] if r["op"] == ":="][0]
    assert row["boot_ci"]["percentile"]["lower"] < row["est"] < row["boot_ci"]["percentile"]["upper"]
    assert js["bootstrap"]["requested"] == 200


def test_bootstrap_is_seeded():
    ref = json.loads(REF.read_text())
    model = "A =~ A1 + A2 + A3 + A4 + A5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = icaf_sem.fit(model, _data(ref), ordered=True)
        b1 = bootstrap_ordinal(res, 30, seed=5)
        b2 = bootstrap_ordinal(res, 30, seed=5)
        b3 = bootstrap_ordinal(res, 30, seed=6)
    np.testing.assert_array_equal(b1.draws, b2.draws)
    assert not np.allclose(b1.draws[:5], b3.draws[:5])


def test_refused_features_with_ordered_items():
    ref = json.loads(REF.read_text())
    d = _data(ref)
    with pytest.raises(ModelSpecificationError, match="conditional.x"):
        icaf_sem.fit("A =~ A1 + A2 + A3 + A4\nA ~ gender", d, ordered=["A1", "A2", "A3", "A4"])
    with pytest.raises(ModelSpecificationError, match="~1"):
        icaf_sem.fit("A =~ A1 + A2 + A3 + A4\nA ~ 1", d, ordered=True)
