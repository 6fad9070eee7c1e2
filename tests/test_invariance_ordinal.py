"""invariance(..., ordered=True): lavaan/semTools' ordinal sequence (Wu & Estabrook 2016 identification)
and lavTestLRT's scaled-and-shifted difference test for WLSMV, against lavaan 0.6-14
(fixtures made by tests/fixtures/ordinal/make_invariance_ordinal.R)."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icaf_sem.errors import ModelSpecificationError
from icaf_sem.invariance import invariance

FIX = Path(__file__).parent / "fixtures" / "ordinal"


def _load(name):
    ref = json.loads((FIX / f"invariance_ordinal_{name}.json").read_text())
    return ref, pd.read_csv(FIX / "data" / ref["data"])


@pytest.fixture(scope="module", params=["bfi600", "mixedcat"])
def case(request):
    ref, d = _load(request.param)
    return ref, invariance(ref["model"], d, group="gender", ordered=True)


def test_steps_match_lavaan(case):
    ref, res = case
    t = res.table
    assert list(t["step"]) == ["configural", "thresholds", "metric", "scalar"]
    for i, st in enumerate(ref["steps"]):
        f = st["fit"]
        assert t.loc[i, "npar"] == f["npar"] and t.loc[i, "df"] == f["df"]
        assert t.loc[i, "chisq"] == pytest.approx(f["chisq"], rel=1e-5)
        assert t.loc[i, "chisq_scaled"] == pytest.approx(f["chisq.scaled"], rel=2e-5)
        assert t.loc[i, "cfi_scaled"] == pytest.approx(f["cfi.scaled"], abs=1e-5)
        assert t.loc[i, "rmsea_scaled"] == pytest.approx(f["rmsea.scaled"], abs=1e-5)


def test_difference_tests_match_lavtestlrt(case):
    ref, res = case
    t = res.table
    lrt = ref["lrt"]
    for i in range(1, 4):
        assert t.loc[i, "delta_df"] == lrt["delta_df"][i]
        assert t.loc[i, "delta_chisq"] == pytest.approx(lrt["delta_chisq"][i], rel=1e-4)
        assert t.loc[i, "delta_pvalue"] == pytest.approx(lrt["pvalue"][i], rel=1e-3, abs=1e-6)
    assert np.isnan(t.loc[0, "delta_chisq"])


def test_wu_estabrook_parameters(case):
    """Estimates of the thresholds and scalar steps: free intercepts/scales in group 2 as measEq.syntax."""
    ref, res = case
    for k, step in ((1, "thresholds"), (3, "scalar")):
        pe = res.fits[step].parameters
        got = {(r.lhs, r.op, r.rhs, int(r.group)): r.est for r in pe.itertuples()}
        n = 0
        for p in ref["steps"][k]["parameters"]:
            if p["op"] in ("~1", "~*~", "=~", "|", "~~") and p["group"] == 2 and p["se"] not in (0, None):
                assert got[(p["lhs"], p["op"], p["rhs"] or "", 2)] == pytest.approx(p["est"], abs=2e-4), p
                n += 1
        assert n > 20


def test_refusals():
    ref, d = _load("bfi600")
    with pytest.raises(ModelSpecificationError, match="strict"):
        invariance(ref["model"], d, group="gender", ordered=True, levels=["configural", "strict"])
    with pytest.raises(ModelSpecificationError, match="delta"):
        invariance(ref["model"], d, group="gender", ordered=True, parameterization="theta")
    with pytest.raises(ModelSpecificationError, match="group_partial"):
        invariance(ref["model"], d, group="gender", ordered=True, group_partial=["A1|t1"])
    with pytest.raises(ModelSpecificationError, match="WLSMV"):
        invariance(ref["model"], d, group="gender", ordered=True, estimator="MLR")


def test_cli_ordered(tmp_path):
    import subprocess
    import sys
    ref, _ = _load("bfi600")
    mod = tmp_path / "m.lav"
    mod.write_text(ref["model"])
    out = tmp_path / "inv.json"
    r = subprocess.run([sys.executable, "-m", "icaf_sem", "invariance", "--model", str(mod), "--data",
                        str(FIX / "data" / ref["data"]), "--group", "gender", "--ordered", "--levels",
                        "configural,thresholds", "--json", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    js = json.loads(out.read_text())
    assert js["ordered"] is True and js["estimator"] == "WLSMV"
    assert js["steps"][1]["delta_chisq"] == pytest.approx(ref["lrt"]["delta_chisq"][1], rel=1e-4)
