"""The wave simulator: reproducibility, the population model, planted flaws and their truth."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icaf_sem import clean, load_questionnaire, simulate_wave
from icaf_sem.errors import DataError, DataWarning, QuestionnaireError
from icaf_sem.survey.simulate import (EXAMPLE_N, EXAMPLE_SEED, Flaws, SimulatedWave, compare_with_truth,
                                      example_wave_path, load_example_wave, population_model, write_example_wave)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "icaf_sem" / "data"


@pytest.fixture(scope="module")
def q():
    return load_questionnaire(ROOT / "questionnaires" / "icaf.yaml")


def quiet_clean(data, q, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return clean(data, q, **kw)


def test_seeded_and_reproducible(q):
    a = simulate_wave(q, n=80, seed=3)
    b = simulate_wave(q, n=80, seed=3)
    c = simulate_wave(q, n=80, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a[q.items].equals(c[q.items])


def test_shape_columns_and_values(q):
    sim = simulate_wave(q, n=420, seed=1, return_truth=True)
    raw = sim.raw
    assert isinstance(sim, SimulatedWave)
    assert list(raw.columns) == q.metadata_columns + q.items + ["attn"]
    assert len(raw) == 420 + 4 and sim.respondent_truth.duplicate_copies.sum() == 4
    assert raw.respondent_id.nunique() == 420
    vals = raw[q.items].stack().dropna()
    assert set(vals.unique()) <= set(range(0, 9)) | {99}
    assert set(raw.level) <= {"province", "city", "county"} and set(raw.role) <= {"provider", "user", "both"}
    t = sim.respondent_truth
    assert (t.straightline.sum(), t.speeder.sum(), t.attention.sum()) == (10, 8, 6)
    assert not (t[["straightline", "speeder", "attention"]].sum(axis=1) > 1).any()   # disjoint groups
    assert set(sim.cell_truth.problem) == {"blank", "code99", "range"}
    assert 100 < len(sim.cell_truth) < 450
    assert len(sim.clean) == 420 - 24


def test_planted_flaws_are_what_truth_says(q):
    sim = simulate_wave(q, n=300, seed=8, return_truth=True)
    raw = sim.raw.drop_duplicates().set_index("respondent_id")
    t = sim.respondent_truth.set_index("respondent_id")
    med = raw.duration_s.median()
    assert (raw.loc[t.speeder, "duration_s"] < 0.3 * med).all()
    assert (raw.loc[~t.speeder, "duration_s"] >= 0.5 * med).all()
    assert (raw.loc[t.straightline, q.items].nunique(axis=1) == 1).all()
    assert (raw.loc[t.attention, "attn"] != 6).all() and (raw.loc[~t.attention, "attn"] == 6).all()
    for _, c in sim.cell_truth.iterrows():
        v = raw.loc[c.respondent_id, c["item"]]
        assert {"blank": np.isnan(v), "code99": v == 99, "range": v in (0, 8)}[c.problem]


def test_reverse_worded_items_are_stored_as_answered(q):
    sim = simulate_wave(q, n=2000, seed=2, flaws=None, return_truth=True)
    r = sim.raw
    assert np.corrcoef(r.as3, r.as1)[0, 1] < -0.2 and np.corrcoef(r.pc4, r.pc1)[0, 1] < -0.2
    assert np.corrcoef(sim.clean.as3, sim.clean.as1)[0, 1] > 0.2


def test_population_model_follows_the_hypotheses(q):
    pop = population_model(q, seed=0)
    cov = pop.latent_cov()
    assert np.allclose(np.diag(cov), 1.0)
    assert np.all(np.linalg.eigvalsh(pop.cov) > 0)
    for h in q.hypotheses:
        if h.kind == "path":
            assert np.sign(pop.paths[(h.lhs, h.rhs)]) == h.sign
    assert cov.loc["CR", "DC"] > 0 and cov.loc["PW", "PR"] < 0
    # large sample: construct scores correlate in the hypothesised directions
    sim = simulate_wave(q, n=4000, seed=5, flaws=None, return_truth=True)
    scores = pd.DataFrame({c: sim.clean[its].mean(axis=1) for c, its in q.constructs.items()})
    r = scores.corr()
    assert r.loc["EB", "BC"] > 0.1 and r.loc["PR", "DQ"] < -0.1 and r.loc["PW", "PC"] < -0.2
    assert r.loc["PW", "EB"] > 0.2 and r.loc["PR", "PC"] > 0.2
    lat = sim.latent.drop(columns="respondent_id")
    np.testing.assert_allclose(lat.cov().to_numpy(), pop.cov, atol=0.08)


def test_custom_paths_and_cycles(q, tmp_path):
    pop = population_model(q, paths={"b_pw_eb": 0.0}, seed=0)
    assert pop.paths[("PW", "EB")] == 0.0
    import yaml
    raw = yaml.safe_load((ROOT / "questionnaires" / "icaf.yaml").read_text(encoding="utf-8"))
    raw["hypotheses"].append({"id": "H9", "path": "CR ~ PW", "expected_sign": "+"})
    from icaf_sem.questionnaire import Questionnaire
    with pytest.raises(QuestionnaireError, match="cycle"):
        population_model(Questionnaire.from_dict(raw))


@pytest.mark.parametrize("n,seed", [(420, 0), (420, 1), (150, 2), (1200, 3)])
def test_cleaning_recovers_the_truth(q, n, seed):
    sim = simulate_wave(q, n=n, seed=seed, return_truth=True, wave=f"sim{seed}")
    res = quiet_clean(sim.raw, q)
    assert compare_with_truth(res, sim) == []


def test_truth_check_can_fail(q):
    sim = simulate_wave(q, n=200, seed=4, return_truth=True)
    res = quiet_clean(sim.raw, q, straightline=False, speeder_fraction=0.1)
    problems = compare_with_truth(res, sim)
    assert any("was kept but is flawed" in p for p in problems)
    assert any("no 'straight' exclusion reason" in p for p in problems)


def test_custom_flaws_and_clean_waves(q):
    sim = simulate_wave(q, n=100, seed=1, flaws=None, return_truth=True)
    assert len(sim.raw) == 100 and sim.cell_truth.empty and not sim.respondent_truth.iloc[:, 1:4].any().any()
    assert sim.raw[q.items].notna().all().all()
    sim = simulate_wave(q, n=100, seed=1, flaws={"straightliners": 5, "blank_rate": 0.05}, return_truth=True)
    assert sim.respondent_truth.straightline.sum() == 5 and (sim.cell_truth.problem == "blank").all()
    assert compare_with_truth(quiet_clean(sim.raw, q), sim) == []
    sim = simulate_wave(q, n=100, seed=1, flaws=Flaws(duplicates=10), return_truth=True)
    assert len(sim.raw) == 110
    with pytest.raises(DataError, match="do not fit"):
        simulate_wave(q, n=10, flaws=Flaws(straightliners=8, speeders=8))
    with pytest.raises(DataError, match="unknown field"):
        simulate_wave(q, n=10, flaws={"speedsters": 1})
    with pytest.raises(DataError, match="positive"):
        simulate_wave(q, n=0)


def test_another_instrument(tmp_path):
    t = load_questionnaire(ROOT / "questionnaires" / "tam_example.yaml")
    flaws = Flaws(straightliners=3, speeders=3, duplicates=2, blank_rate=0.02, missing_code_rate=0.01,
                  out_of_range_rate=0.01)
    sim = simulate_wave(t, n=200, seed=7, flaws=flaws, return_truth=True)
    assert list(sim.raw.columns) == ["case_id", "agency", "seconds"] + t.items
    vals = sim.raw[t.items].stack().dropna()
    assert set(vals.unique()) <= {0, 1, 2, 3, 4, 5, 6, 9}
    assert compare_with_truth(quiet_clean(sim.raw, t), sim) == []
    with pytest.raises(DataError, match="no attention check"):
        simulate_wave(t, n=50, flaws=Flaws(attention=1))


def test_write_in_reference_layout(q, tmp_path):
    sim = simulate_wave(q, n=120, seed=9, return_truth=True, wave="w9")
    paths = sim.write(tmp_path, wave="w9")
    assert paths["raw"].name == "icaf_w9_raw.csv"
    truth = pd.read_csv(paths["respondent_truth"], dtype=str)
    assert set(truth.straightline) <= {"TRUE", "FALSE"}
    res = quiet_clean(paths["raw"], q)
    assert compare_with_truth(res, sim) == []
    assert "3.0" not in paths["raw"].read_text().splitlines()[1]


# --------------------------------------------------------------------------- the bundled example wave
def test_bundled_example_wave_is_reproducible(tmp_path):
    write_example_wave(tmp_path)
    for name in ("example_wave.csv", "example_wave_clean.csv", "example_wave_respondent_truth.csv",
                 "example_wave_cell_truth.csv"):
        assert (tmp_path / name).read_text() == (DATA / name).read_text(), name


def test_bundled_example_wave_passes_its_truth(q):
    raw = load_example_wave()
    assert example_wave_path() == DATA / "example_wave.csv"
    assert len(raw) == EXAMPLE_N + 4 and EXAMPLE_SEED == 20240917
    res = quiet_clean(raw, q)
    exp = pd.read_csv(DATA / "example_wave_clean.csv").set_index("respondent_id")
    got = res.data.set_index("respondent_id")
    assert sorted(got.index) == sorted(exp.index)
    pd.testing.assert_frame_equal(got.loc[exp.index, q.items], exp[q.items].astype(float), check_index_type=False)
    truth = pd.read_csv(DATA / "example_wave_respondent_truth.csv")
    for _, t in truth.iterrows():
        rs = " ".join(res.exclusions.reason[res.exclusions.respondent_id == t.respondent_id]).lower()
        assert ("straight" in rs) == t.straightline and ("speed" in rs) == t.speeder
        assert ("attention" in rs) == t.attention and ("duplicate" in rs) == (t.duplicate_copies > 0)


def test_package_ships_the_data():
    import tomllib
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "data/*" in cfg["tool"]["setuptools"]["package-data"]["icaf_sem"]
    assert (DATA / "icaf.yaml").exists() and example_wave_path().exists()
