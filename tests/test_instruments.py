"""The digital-ecology and joint-operation instruments: load, simulate, analyze end to end (English report).

The Chinese report switch of ``analyze`` is being built separately; when it lands, these
instruments carry the Chinese wording it needs (checked below).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from icaf_sem import analyze, load_questionnaire, simulate_wave
from icaf_sem.questionnaire import builtin_questionnaire_path
from icaf_sem.survey.io import load_survey

ROOT = Path(__file__).resolve().parents[1]

EXPECTED = {
    "digital_ecology": {"constructs": ["IE", "IT", "OC", "IB", "OS"], "outcome": "OS",
                        "mediations": {"D7": ("IE", "OC", "OS")}},
    "joint_operation": {"constructs": ["PDQ", "OLC", "OSC", "JA", "SSQ", "SE"], "outcome": "SSQ",
                        "mediations": {"J8a": ("PDQ", "SSQ", "SE"), "J8b": ("OLC", "SSQ", "SE"),
                                       "J8c": ("OSC", "SSQ", "SE"), "J8d": ("JA", "SSQ", "SE")}},
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_instrument_schema(name):
    path = ROOT / "questionnaires" / f"{name}.yaml"
    q = load_questionnaire(path)
    exp = EXPECTED[name]
    assert list(q.constructs) == exp["constructs"]
    assert all(3 <= len(items) <= 5 for items in q.constructs.values())
    assert q.languages == ["en", "zh"]
    for c, spec in q.spec.constructs.items():
        assert spec.name["en"] and spec.name["zh"]
        for item, wording in spec.items.items():
            assert wording["en"].strip() and wording["zh"].strip(), item
    assert q.reverse_keyed and q.attention_checks
    assert all(h.expected_sign in "+-" for h in q.hypotheses)
    meds = {h.id: h.chain for h in q.hypotheses if h.kind == "mediation"}
    assert meds == exp["mediations"]
    # shipped with the package, identical to the repository copy
    assert builtin_questionnaire_path(name).read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name, seed", [("digital_ecology", 20240918), ("joint_operation", 20240919)])
def test_shipped_example_wave_is_the_documented_simulation(name, seed):
    q = load_questionnaire(builtin_questionnaire_path(name))
    shipped = load_survey(builtin_questionnaire_path(name).with_name(f"{name}_example_wave.csv"), q)
    again = simulate_wave(q, n=400, seed=seed, wave=name[:1] + name.split("_")[1][:1])
    assert shipped.shape == again.shape
    pd.testing.assert_frame_equal(shipped[q.items].reset_index(drop=True), again[q.items].reset_index(drop=True),
                                  check_dtype=False)


@pytest.mark.parametrize("name, seed", [("digital_ecology", 7), ("joint_operation", 8)])
def test_simulated_wave_runs_through_analyze(name, seed):
    """Raw simulated wave (with planted flaws) -> clean -> CFA -> SEM -> hypotheses, in English."""
    q = load_questionnaire(ROOT / "questionnaires" / f"{name}.yaml")
    sim = simulate_wave(q, n=220, seed=seed, return_truth=True)
    res = analyze(sim.raw, q, figures=False, bootstrap=0)
    assert res.cleaning.n_clean == len(sim.clean)
    h = res.hypotheses
    assert list(h["id"]) == [x.id for x in q.hypotheses]
    # every hypothesis was simulated with its expected sign; the estimates carry it
    directional = h[h["id"].isin([x.id for x in q.hypotheses if x.expected_sign in "+-"])]
    signs = {x.id: x.sign for x in q.hypotheses}
    for _, r in directional.iterrows():
        assert r["std_all"] * signs[r["id"]] > 0, (r["id"], r["std_all"])
    assert res.sem.fit_measures["cfi"] > 0.95
    assert "Hypotheses supported" in res.summary()
