"""Item and sample diagnostics and common-method bias against psych and lavaan numbers.

Reference numbers: tests/fixtures/reliability/psych_reference.json and
lavaan_method_factor_icaf.json, made by tests/fixtures/reliability/make_fixtures.R.
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icaf_sem.errors import DataError
from icaf_sem.measurement import (
    bartlett, efa_eigenvalues, harman_single_factor, item_descriptives, kmo, mardia, parallel_analysis,
    response_distribution,
)

FIX = Path(__file__).parent / "fixtures" / "reliability"
BFI_ITEMS = [f"{l}{i}" for l in "ACENO" for i in range(1, 6)]


@pytest.fixture(scope="module")
def ref():
    return json.loads((FIX / "psych_reference.json").read_text(encoding="utf-8"))


def _bfi_all():
    df = pd.read_csv(FIX / "bfi.csv")
    for k in ["A1", "C4", "C5", "E1", "E2", "O2", "O5"]:
        df[k] = 7 - df[k]
    return df[BFI_ITEMS]


def _icaf():
    df = pd.read_csv(FIX / "icaf_wave1_clean.csv")
    items = [c for c in df.columns if c not in ("respondent_id", "level", "role")]
    return df[items].dropna()


@pytest.fixture(scope="module", params=["bfi", "icaf"])
def sample(request, ref):
    x = _bfi_all().dropna() if request.param == "bfi" else _icaf()
    return x, ref[request.param]


def test_describe_type3(sample):
    x, r = sample
    d = item_descriptives(x)
    assert list(d["item"]) == r["describe"]["vars"]
    for col in ("n", "mean", "sd", "median", "min", "max", "skew", "kurtosis", "se"):
        assert d[col].to_numpy(dtype=float) == pytest.approx(np.array(r["describe"][col], dtype=float), abs=1e-10), col
    assert (d["pct_missing"] == 0).all()


def test_describe_with_missing_answers(ref):
    x = _bfi_all()
    d = item_descriptives(x)
    r = ref["bfi_with_missing_describe"]
    for col in ("n", "mean", "sd", "skew", "kurtosis"):
        assert d[col].to_numpy(dtype=float) == pytest.approx(np.array(r[col], dtype=float), abs=1e-10), col
    assert d.loc[d["item"] == "A1", "pct_missing"].iloc[0] == pytest.approx(100 * x["A1"].isna().mean())


def test_kmo(sample):
    x, r = sample
    k = kmo(x)
    assert k["variable"].iloc[-1] == "overall"
    assert k["msa"].iloc[-1] == pytest.approx(r["kmo"]["MSA"], abs=1e-12)
    assert k["msa"].iloc[:-1].to_numpy() == pytest.approx(np.array(r["kmo"]["MSAi"]), abs=1e-12)
    assert set(k["label"]) <= {"marvelous", "meritorious", "middling", "mediocre", "miserable", "unacceptable"}


def test_bartlett(sample):
    x, r = sample
    b = bartlett(x).iloc[0]
    assert b["chisq"] == pytest.approx(r["bartlett"]["chisq"], rel=1e-10)
    assert b["df"] == r["bartlett"]["df"]
    assert b["p_value"] == pytest.approx(r["bartlett"]["p_value"], abs=1e-12)


def test_mardia(sample):
    x, r = sample
    m = mardia(x).iloc[0]
    want = r["mardia"]
    assert m["n"] == want["n_obs"] and m["p"] == want["n_var"]
    for key in ("b1p", "b2p", "skew", "small_skew", "kurtosis"):
        assert m[key] == pytest.approx(want[key], rel=1e-10), key
    for key in ("p_skew", "p_small", "p_kurt"):
        assert m[key] == pytest.approx(want[key], abs=1e-12), key


def test_mardia_normal_data_is_not_rejected():
    rng = np.random.default_rng(11)
    x = pd.DataFrame(rng.standard_normal((400, 4)), columns=list("abcd"))
    m = mardia(x).iloc[0]
    assert m["p_skew"] > 0.01 and m["p_kurt"] > 0.01


def test_eigenvalues_pinned_to_r(sample):
    x, r = sample
    e = efa_eigenvalues(x)
    assert e["eigen_pc"].to_numpy() == pytest.approx(np.array(r["eigen_pc"]), abs=1e-10)
    # minres is iterative in both programs: psych stops at its optimiser's tolerance
    assert e["eigen_fa"].to_numpy() == pytest.approx(np.array(r["eigen_fa_minres1"]), abs=1e-5)


def test_parallel_analysis_structure_and_reproducibility(ref):
    x = _icaf()
    a = parallel_analysis(x, n_iter=8, seed=5)
    b = parallel_analysis(x, n_iter=8, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["n_factors"] == b.attrs["n_factors"]
    assert list(a.columns[:3]) == ["factor", "eigen_pc", "eigen_fa"]
    p = x.shape[1]
    assert len(a) == p and a["eigen_pc"].sum() == pytest.approx(p)
    # eigenvalues of random normal data: the means are close to R's (both random)
    r = ref["icaf"]["parallel_seed20240601"]
    assert a["sim_pc_mean"].to_numpy() == pytest.approx(np.array(r["sim_pc"]), abs=0.06)
    assert a["sim_fa_mean"].to_numpy() == pytest.approx(np.array(r["sim_fa"]), abs=0.06)
    assert (a["sim_pc_quantile"] >= a["sim_pc_mean"]).all()
    # the suggestion is a count of leading eigenvalues above the reference and close to R's
    k = a.attrs["n_factors"]
    assert (a["eigen_fa"].iloc[:k] > a["sim_fa_quantile"].iloc[:k]).all()
    assert abs(k - r["nfact"]) <= 1
    assert abs(a.attrs["n_components"] - r["ncomp"]) <= 1


def test_parallel_analysis_finds_two_clear_factors():
    rng = np.random.default_rng(2)
    f = rng.standard_normal((500, 2))
    x = np.column_stack([f[:, j // 4] * 0.8 + 0.6 * rng.standard_normal(500) for j in range(8)])
    pa = parallel_analysis(pd.DataFrame(x, columns=[f"v{j}" for j in range(8)]), n_iter=10, seed=1)
    assert pa.attrs["n_factors"] == 2 and pa.attrs["n_components"] == 2


def test_response_distribution_counts():
    x = pd.DataFrame({"q1": [1, 2, 2, 5, np.nan], "q2": [3, 3, 3, 3, 1]})
    d = response_distribution(x, values=range(1, 6))
    q1 = d[d["item"] == "q1"]
    assert list(q1["count"]) == [1, 2, 0, 0, 1, 1]  # values 1..5 then missing
    assert q1["percent"].iloc[1] == pytest.approx(50.0)
    assert q1["percent"].iloc[-1] == pytest.approx(20.0) and math.isnan(q1["value"].iloc[-1])
    with pytest.raises(DataError, match="outside the scale points"):
        response_distribution(x, values=[1, 2, 3])


def test_harman_pca_share_and_weakness_note():
    x = _icaf()
    h = harman_single_factor(x).iloc[0]
    want = json.loads((FIX / "lavaan_method_factor_icaf.json").read_text(encoding="utf-8"))["harman_pca_share"]
    assert h["variance_explained"] == pytest.approx(want, abs=1e-12)
    assert not h["flagged"] and "insensitive" in h["note"] and "Podsakoff" in h["note"]
    fa = harman_single_factor(x, method="fa").iloc[0]
    assert 0 < fa["variance_explained"] < h["variance_explained"]


def test_diagnostics_bad_input():
    x = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 2, 2, 2], "c": [1.0, 3, 2, 4]})
    with pytest.raises(DataError, match="'b'.*constant"):
        kmo(x)
    with pytest.raises(DataError, match="'zz'.*not found"):
        item_descriptives(x, ["a", "zz"])
    with pytest.raises(DataError, match="more complete respondents"):
        mardia(pd.DataFrame(np.random.default_rng(0).standard_normal((4, 5))))
    with pytest.raises(DataError, match="method="):
        harman_single_factor(x[["a", "c"]], method="cfa")


def _engine_available() -> bool:
    try:
        import icaf_sem
        icaf_sem.fit  # noqa: B018
    except (ImportError, AttributeError):
        return False
    return True


@pytest.mark.skipif(not _engine_available(), reason="the estimation engine icaf_sem.fit is not installed")
def test_unmeasured_method_factor_matches_lavaan():
    from icaf_sem.measurement import unmeasured_method_factor

    r = json.loads((FIX / "lavaan_method_factor_icaf.json").read_text(encoding="utf-8"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = unmeasured_method_factor(_icaf(), r["trait_model"])
    fit = res.fit.set_index("model")
    for key in ("chisq", "aic", "bic"):
        assert fit.loc["trait", key] == pytest.approx(r["trait_fit"][key], rel=1e-5)
        assert fit.loc["trait+method", key] == pytest.approx(r["method_fit"][key], rel=1e-5)
    for key in ("cfi", "tli", "rmsea", "srmr"):
        assert fit.loc["trait+method", key] == pytest.approx(r["method_fit"][key], abs=1e-4)
    assert fit.loc["trait+method", "df"] == r["method_fit"]["df"]
    assert fit.loc["trait+method", "delta_chisq"] == pytest.approx(r["lrt"]["chisq_diff"], abs=1e-3)
    assert fit.loc["trait+method", "delta_df"] == r["lrt"]["df_diff"]
    want = {(d["lhs"], d["rhs"]): d["est.std"] for d in r["method_loadings"]}
    trait = {(d["lhs"], d["rhs"]): d["est.std"] for d in r["trait_loadings"]}
    for row in res.loadings.itertuples():
        assert row.std_trait == pytest.approx(trait[(row.construct, row.item)], abs=1e-3)
        assert row.std_trait_with_method == pytest.approx(want[(row.construct, row.item)], abs=1e-3)
        assert row.std_method == pytest.approx(want[("CMV", row.item)], abs=1e-3)
    assert res.method_variance == pytest.approx(np.mean([want[("CMV", i)] ** 2 for i in res.loadings["item"]]), abs=1e-3)
    assert json.dumps(res.to_dict(), allow_nan=False)
