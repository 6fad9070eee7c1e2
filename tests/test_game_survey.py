"""icaf_sem.game.from_survey: payoff parameters from a wave's construct levels by role."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icaf_sem.errors import DataError, ModelSpecificationError
from icaf_sem.game import from_survey, load_game
from icaf_sem.questionnaire import load_questionnaire

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "icaf_sem" / "data" / "example_wave_clean.csv"
FIX = ROOT / "tests" / "fixtures" / "game" / "latent_means.json"


@pytest.fixture(scope="module")
def wave():
    return pd.read_csv(CLEAN)


@pytest.fixture(scope="module")
def q():
    return load_questionnaire(ROOT / "questionnaires" / "icaf.yaml")


def test_scores_by_role_are_the_declared_mapping(wave, q):
    cal = from_survey(wave, questionnaire=q)
    g0 = load_game("tripartite_game")
    assert set(cal.values) == set(g0.survey["mapping"])
    t = cal.table.set_index("parameter")
    for pname, m in g0.survey["mapping"].items():
        c, _, sd = m["source"].partition(".")
        items = q.spec.constructs[c].subdimensions[sd].items if sd else q.constructs[c]
        rows = wave[wave["role"] == m["role"]][items]
        person = rows.mean(axis=1)[rows.notna().sum(axis=1) >= int(np.ceil(len(items) / 2))]
        assert t.loc[pname, "score_mean"] == pytest.approx(person.mean(), rel=1e-12)
        assert t.loc[pname, "n"] == len(person)
        assert t.loc[pname, "value"] == pytest.approx((person.mean() - 1) / 6 * 10.0, rel=1e-12)
        assert cal.game.values[pname] == pytest.approx(t.loc[pname, "value"])
    # parameters not in the mapping keep the file's values
    for pname in ("S", "F", "Cg", "W", "L"):
        assert cal.game.values[pname] == g0.values[pname]
    assert cal.roles == wave["role"].value_counts().to_dict()
    d = cal.to_dict()
    assert d["mapping"][0]["parameter"] == "B_P" and d["method"] == "scores"
    json.dumps(d, allow_nan=False)


def test_latent_levels_match_lavaan(wave, q):
    """Model-implied item means of lavaan's scalar-invariant multi-group CFA by role (fixture made by R)."""
    ref = json.loads(FIX.read_text(encoding="utf-8"))
    cal = from_survey(wave, questionnaire=q, method="latent")
    g0 = load_game("tripartite_game")
    t = cal.table.set_index("parameter")
    for pname, m in g0.survey["mapping"].items():
        c, _, sd = m["source"].partition(".")
        items = q.spec.constructs[c].subdimensions[sd].items if sd else q.constructs[c]
        expected = np.mean([ref["means"][m["role"]][i] for i in items])
        assert t.loc[pname, "score_mean"] == pytest.approx(expected, abs=2e-4)


def test_custom_mapping_transform_and_scale(wave, q):
    cal = from_survey(wave, questionnaire=q, mapping={"B_P": {"source": "PW", "role": "both"}}, transform="raw",
                      scale=2.0)
    rows = wave[wave.role == "both"][q.constructs["PW"]]
    assert cal.values["B_P"] == pytest.approx(2.0 * rows.mean(axis=1).mean(), rel=1e-12)


def test_analysis_result_is_accepted(wave, q):
    class FakeResult:        # what from_survey reads from an AnalysisResult: .cleaning, .data, .questionnaire
        cleaning = object()
        data = wave
        questionnaire = q
    a = from_survey(FakeResult()).values
    b = from_survey(wave, questionnaire=q).values
    assert a == b


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"mapping": {"Zzz": {"source": "EB", "role": "user"}}}, ModelSpecificationError, ["Zzz", "not a parameter"]),
    ({"mapping": {"B_P": {"source": "XX", "role": "user"}}}, ModelSpecificationError, ["unknown source 'XX'"]),
    ({"mapping": {"B_P": {"source": "PC.nope", "role": "user"}}}, ModelSpecificationError, ["sub-dimension 'nope'"]),
    ({"mapping": {"B_P": {"source": "EB", "role": "regulator"}}}, DataError, ["regulator", "0 respondents"]),
    ({"mapping": {"B_P": {"source": "EB"}}}, ModelSpecificationError, ["source and role"]),
    ({"role": "department_role"}, DataError, ["department_role"]),
    ({"method": "bayes"}, ModelSpecificationError, ["bayes"]),
    ({"scale": -1}, ModelSpecificationError, ["scale"]),
])
def test_bad_calibrations(wave, q, kwargs, exc, words):
    with pytest.raises(exc) as err:
        from_survey(wave, questionnaire=q, **kwargs)
    for w in words:
        assert w in str(err.value)


def test_raw_wave_is_refused(q):
    raw = pd.read_csv(ROOT / "icaf_sem" / "data" / "example_wave.csv")
    with pytest.raises(DataError, match="cleaned wave"):
        from_survey(raw, questionnaire=q)


def test_dataframe_needs_questionnaire(wave):
    with pytest.raises(ModelSpecificationError, match="questionnaire"):
        from_survey(wave)
