"""Sanity checks of the lavaan reference fixtures in tests/fixtures/lavaan (no R needed).

They check that each file is in the layout conformance.py reads, that its data file is
present with every model variable, and that lavaan's own numbers hang together
(AIC = -2 logL + 2 npar, chi-square = 2 (logL_unrestricted - logL)).
"""
import csv
import json
import math
from pathlib import Path

import pytest

FIX = Path(__file__).resolve().parent / "fixtures"
# the shared/ copies keep the project reference layout (no label column everywhere); they are checked
# by test_engine_lavaan.py directly
CASES = sorted(p for p in (FIX / "lavaan").rglob("*.json") if p.parent.name != "shared")
PARAM_KEYS = {"lhs", "op", "rhs", "label", "est", "se", "z", "pvalue", "ci.lower", "ci.upper",
              "std.lv", "std.all", "std.nox"}


def test_there_are_cases():
    assert len(CASES) >= 20


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_fixture_layout_and_consistency(path):
    ref = json.loads(path.read_text(encoding="utf-8"))
    assert ref["case"] == path.stem
    multigroup = bool(ref["options"].get("group"))
    extras = ("modindices_by_group", "r2_by_group") if multigroup else ("modindices", "r2")
    for key in ("lavaan_version", "data", "model", "options", "converged", "parameters", "fit") + extras:
        assert key in ref, key
    assert ref["converged"] is True
    for p in ref["parameters"]:
        assert PARAM_KEYS <= set(p), p
        assert ("group" in p) == multigroup
        assert isinstance(p["est"], (int, float))
    for m in ref[extras[0]]:
        assert {"lhs", "op", "rhs", "mi", "epc", "sepc.all"} <= set(m)

    with open(FIX / "data" / ref["data"], newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    observed = {p["rhs"] for p in ref["parameters"] if p["op"] in ("=~", "~")} | \
               {p["lhs"] for p in ref["parameters"] if p["op"] == "~"}
    latent = {p["lhs"] for p in ref["parameters"] if p["op"] == "=~"}
    assert observed - latent <= set(header), sorted(observed - latent - set(header))

    fit = ref["fit"]
    logl, npar = fit["logl"], fit["npar"]
    assert math.isclose(fit["aic"], -2 * logl + 2 * npar, rel_tol=1e-10)
    assert math.isclose(fit["chisq"], 2 * (fit["unrestricted.logl"] - logl), rel_tol=1e-6, abs_tol=1e-6)
    if ref["options"].get("estimator") == "MLR":
        assert fit["chisq.scaled"] is not None and fit["chisq.scaling.factor"] > 0
