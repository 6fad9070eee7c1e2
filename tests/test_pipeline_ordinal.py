"""analyze(..., ordered=True): the ordinal fit runs through the pipeline and the report states the choice."""
import numpy as np
import pytest

import icaf_sem
from icaf_sem import analyze
from icaf_sem.errors import ModelSpecificationError

WAVE = "icaf_sem/data/example_wave.csv"


@pytest.fixture(scope="module")
def res():
    with pytest.warns(Warning):
        return analyze(WAVE, "icaf", ordered=True, bootstrap=0, figures=False, invariance=False,
                       method_bias=False, compare_continuous=True)


def test_ordinal_fits_are_the_primary_ones(res):
    assert res.options["ordered"] is True and res.options["estimator"] == "WLSMV"
    assert res.options["missing"] == "listwise"
    direct = icaf_sem.fit(res.questionnaire.model_syntax(), res.data, ordered=True)
    assert res.sem.fit_measures["chisq.scaled"] == pytest.approx(direct.fit_measures["chisq.scaled"], rel=1e-10)
    fit_t = res.tables["model_fit"]
    assert fit_t["measure"].iloc[0].startswith("χ² (scaled)")
    assert fit_t["sem"].iloc[0] == pytest.approx(direct.fit_measures["chisq.scaled"])
    assert "by the user's choice" in fit_t.attrs["note"]


def test_reliability_is_ordinal(res):
    mm = res.tables["measurement_model"]
    ct = res.reliability.constructs.set_index("construct")
    first = mm.dropna(subset=["alpha"])
    for r in first.itertuples():
        assert r.alpha == pytest.approx(ct.loc[r.construct, "alpha_ordinal"])
        assert r.composite_reliability == pytest.approx(ct.loc[r.construct, "omega_ordinal"])
    assert "ordinal alpha" in mm.attrs["note"] and "categorical omega" in mm.attrs["note"]
    assert mm.attrs["labels"]["alpha"] == "ordinal α"


def test_side_by_side(res):
    t = res.tables["ordinal_vs_continuous"]
    cont = icaf_sem.fit(res.questionnaire.model_syntax(), res.data, estimator="ML", missing="ml")
    row = t[(t["section"] == "SEM") & (t["measure"] == "CFI")].iloc[0]
    assert row["continuous"] == pytest.approx(cont.fit_measures["cfi"])
    assert row["ordinal"] == pytest.approx(res.sem.fit_measures["cfi.robust"])
    assert (t["section"] == "paths").sum() > 5


def test_refusals():
    with pytest.raises(ModelSpecificationError, match="FIML"):
        analyze(WAVE, "icaf", ordered=True, missing="ml", bootstrap=0)
    with pytest.raises(ModelSpecificationError, match="ordered=True"):
        analyze(WAVE, "icaf", estimator="WLSMV", bootstrap=0)


def test_category_recommendation():
    from icaf_sem.pipeline import _category_counts
    from icaf_sem.questionnaire import load_questionnaire
    import pandas as pd
    q = load_questionnaire("icaf")
    d = pd.read_csv(WAVE)
    counts = _category_counts(d, q)
    assert set(counts) >= {"bc1", "pw3"} and max(counts.values()) >= 6


def test_in_language_keeps_the_ordinal_tables(res):
    zh = res.in_language("zh")
    assert "ordinal_vs_continuous" in zh.tables
    assert "有序 α" == zh.tables["measurement_model"].attrs["labels"]["alpha"]
    assert "用户选择" in zh.tables["model_fit"].attrs["note"]
