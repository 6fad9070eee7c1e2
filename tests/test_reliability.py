"""Reliability and validity against psych, semTools and lavaan numbers.

Reference numbers: tests/fixtures/reliability/*.json (lavaan 0.6-14, semTools 0.5-6,
psych 2.2.9; see make_fixtures.R and convert_reference.py there).
"""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icaf_sem.errors import DataError, ModelSyntaxError, ReliabilityWarning
from icaf_sem.measurement import (
    Thresholds, ave, composite_reliability, constructs_from_model, cronbach_alpha, discriminant_validity,
    fornell_larcker, htmt, item_total, latent_correlations, omega, reliability_report, reliability_verdicts,
)

FIX = Path(__file__).parent / "fixtures" / "reliability"
CASES = ["bfi_cfa_reliability", "icaf_wave1_cfa_reliability"]


def load_case(case):
    ref = json.loads((FIX / f"{case}.json").read_text(encoding="utf-8"))
    data = pd.read_csv(FIX / ref["data"])
    opts = ref["options"]
    for k in opts.get("reverse_keyed") or []:
        data[k] = opts["scale_max_plus_min"] - data[k]
    items = [i for s in ref["reliability"].values() for i in s["items"]]
    return ref, data, data[items].dropna()


@pytest.fixture(scope="module", params=CASES)
def case(request):
    ref, data, complete = load_case(request.param)
    params = pd.DataFrame(ref["parameters"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = reliability_report(data, model=ref["model"], fitted=params)
    return ref, data, complete, params, rep


@pytest.fixture(scope="module")
def psych_ref():
    return json.loads((FIX / "psych_reference.json").read_text(encoding="utf-8"))


def _ml_cov(frame):
    return pd.DataFrame(np.cov(frame.to_numpy(), rowvar=False, ddof=0), index=frame.columns, columns=frame.columns)


# ----------------------------------------------------------------------------- reference cases
def test_report_matches_psych_and_semtools(case):
    ref, _, complete, _, rep = case
    table = rep.constructs.set_index("construct")
    assert rep.n == len(complete)
    for name, want in ref["reliability"].items():
        row = table.loc[name]
        assert row["n_items"] == len(want["items"])
        assert row["n"] == len(complete)
        assert row["alpha"] == pytest.approx(want["alpha"], abs=1e-10)
        assert row["std_alpha"] == pytest.approx(want["std_alpha"], abs=1e-10)
        assert row["omega"] == pytest.approx(want["omega"], abs=1e-10)
        assert row["ave"] == pytest.approx(want["ave"], abs=1e-10)
        items = rep.items[rep.items["construct"] == name].set_index("item")
        for item, r in want["item_total_r_drop"].items():
            assert items.loc[item, "r_drop"] == pytest.approx(r, abs=1e-10)
        for item, a in want["alpha_if_deleted"].items():
            assert items.loc[item, "alpha_if_deleted"] == pytest.approx(a, abs=1e-10)


def test_composite_reliability_formula(case):
    ref, _, _, params, rep = case
    table = rep.constructs.set_index("construct")
    for name in ref["reliability"]:
        lam = [p["std_all"] for p in ref["parameters"] if p["op"] == "=~" and p["lhs"] == name]
        cr = sum(lam) ** 2 / (sum(lam) ** 2 + sum(1 - x * x for x in lam))
        assert table.loc[name, "composite_reliability"] == pytest.approx(cr, abs=1e-12)
    assert composite_reliability(params).set_index("construct")["composite_reliability"].to_dict() == \
        pytest.approx(table["composite_reliability"].to_dict())


def test_htmt_matches_semtools(case):
    ref, _, _, _, rep = case
    for row in ref["htmt"]:
        a = row["_row"]
        for b, want in row.items():
            if b != "_row":
                assert rep.htmt.loc[a, b] == pytest.approx(want, abs=1e-10)


def test_fornell_larcker_table(case):
    ref, _, complete, params, rep = case
    fl = rep.fornell_larcker
    table = rep.constructs.set_index("construct")
    for name in ref["reliability"]:
        assert fl.loc[name, name] == pytest.approx(math.sqrt(table.loc[name, "ave"]), abs=1e-12)
    # off the diagonal: lavaan's standardized latent covariances
    for p in ref["parameters"]:
        if p["op"] == "~~" and p["lhs"] != p["rhs"] and p["lhs"] in ref["reliability"]:
            assert fl.loc[p["lhs"], p["rhs"]] == pytest.approx(p["std_all"], abs=1e-10)
    for row in ref.get("fornell_larcker_latent_cor", []):
        for b, want in row.items():
            if b != "_row":
                assert rep.latent_correlations.loc[row["_row"], b] == pytest.approx(want, abs=1e-10)
    assert fornell_larcker(params, _ml_cov(complete)).equals(fl)


def test_alpha_ci_is_feldt_like_psych_and_pingouin(psych_ref):
    import pingouin as pg
    _, data, complete = load_case("bfi_cfa_reliability")
    for name, want in psych_ref["bfi"]["alpha"].items():
        got = cronbach_alpha(complete, {name: want["items"]}).iloc[0]
        assert got["alpha"] == pytest.approx(want["raw_alpha"], abs=1e-12)
        assert got["alpha_ci_lower"] == pytest.approx(want["feldt_lower"], abs=1e-10)
        assert got["alpha_ci_upper"] == pytest.approx(want["feldt_upper"], abs=1e-10)
        assert got["average_r"] == pytest.approx(want["average_r"], abs=1e-12)
        a, ci = pg.cronbach_alpha(complete[want["items"]])
        assert got["alpha"] == pytest.approx(a, abs=1e-12)
        assert [got["alpha_ci_lower"], got["alpha_ci_upper"]] == pytest.approx(list(ci), abs=5e-4)


def test_item_total_matches_psych_complete_cases(psych_ref):
    _, _, complete = load_case("icaf_wave1_cfa_reliability")
    for name, want in psych_ref["icaf"]["alpha"].items():
        got = item_total(complete, {name: want["items"]})
        for col, key in [("r_drop", "r_drop"), ("raw_r", "raw_r"), ("std_r", "std_r"),
                         ("alpha_if_deleted", "alpha_if_deleted"), ("std_alpha_if_deleted", "std_alpha_if_deleted"),
                         ("mean", "item_mean"), ("sd", "item_sd")]:
            assert got[col].to_numpy() == pytest.approx(np.array(want[key], dtype=float), abs=1e-10), (name, col)


def test_pairwise_alpha_matches_psych_default(psych_ref):
    _, data, _ = load_case("bfi_cfa_reliability")
    assert data[["A1", "A2", "A3", "A4", "A5"]].isna().any().any()  # really pairwise
    for name, want in psych_ref["bfi_pairwise_alpha"].items():
        got = cronbach_alpha(data, {name: want["items"]}, missing="pairwise").iloc[0]
        assert got["alpha"] == pytest.approx(want["raw_alpha"], abs=1e-12)
        assert got["std_alpha"] == pytest.approx(want["std_alpha"], abs=1e-12)
        assert got["alpha_ci_lower"] == pytest.approx(want["feldt_lower"], abs=1e-10)
        assert got["n"] == len(data)
        it = item_total(data, {name: want["items"]}, missing="pairwise")
        assert it["r_drop"].to_numpy() == pytest.approx(np.array(want["r_drop"]), abs=1e-10)
        assert it["alpha_if_deleted"].to_numpy() == pytest.approx(np.array(want["alpha_if_deleted"]), abs=1e-10)


# ----------------------------------------------------------------------------- semTools on a harder model
@pytest.fixture(scope="module")
def hs_ref():
    d = json.loads((FIX / "semtools_hs_crossloading.json").read_text(encoding="utf-8"))
    names = d["sample_cov_names"]
    d["S"] = pd.DataFrame(d["sample_cov"], index=names, columns=names)
    d["P"] = pd.DataFrame(d["parameters"])
    return d


def test_omega_uses_total_factor_variance_and_cross_loadings(hs_ref):
    got = omega(hs_ref["P"], hs_ref["S"]).set_index("construct")["omega"]
    for name, want in hs_ref["omega"].items():
        assert got[name] == pytest.approx(want, abs=1e-10)


def test_ave_undefined_for_cross_loading_constructs(hs_ref):
    with pytest.warns(ReliabilityWarning, match="x9"):
        got = ave(hs_ref["P"], hs_ref["S"]).set_index("construct")["ave"]
    for name, want in hs_ref["ave"].items():
        if want is None:
            assert math.isnan(got[name])
        else:
            assert got[name] == pytest.approx(want, abs=1e-10)


def test_latent_correlations_with_regression(hs_ref):
    got = latent_correlations(hs_ref["P"]).to_numpy()
    assert got == pytest.approx(np.array(hs_ref["cor_lv"]), abs=1e-10)


def test_htmt2_and_arithmetic_htmt(hs_ref):
    hs = pd.read_csv(FIX / "holzinger_swineford_1939.csv")
    assert htmt(hs, hs_ref["htmt_model"]).to_numpy() == pytest.approx(np.array(hs_ref["htmt2"]), abs=1e-12)
    arith = htmt(hs, hs_ref["htmt_model"], htmt2=False)
    assert arith.to_numpy() == pytest.approx(np.array(hs_ref["htmt_arithmetic"]), abs=1e-12)
    # from a covariance matrix instead of data: same numbers
    cols = [f"x{i}" for i in range(1, 10)]
    assert htmt(constructs=hs_ref["htmt_model"], sample_cov=hs[cols].cov()).to_numpy() == \
        pytest.approx(np.array(hs_ref["htmt2"]), abs=1e-12)


# ----------------------------------------------------------------------------- syntax
def test_constructs_from_model_reads_modifiers_and_skips_second_order():
    model = """
    # comment line
    A =~ 1*a1 + NA*a2 + lab*a3   ! trailing comment
    B =~ b1 + start(0.5)*b2 +
         b3
    G =~ A + B
    A ~~ B; a1 ~~ a2
    """
    assert constructs_from_model(model) == {"A": ["a1", "a2", "a3"], "B": ["b1", "b2", "b3"]}
    with pytest.raises(ModelSyntaxError, match="no measurement line"):
        constructs_from_model("y ~ x")


# ----------------------------------------------------------------------------- bad input
def _toy(n=60, seed=3):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, 2))
    cols = {}
    for j, name in enumerate(["a1", "a2", "a3"]):
        cols[name] = np.round(4 + f[:, 0] + 0.7 * rng.standard_normal(n))
    for name in ["b1", "b2", "b3"]:
        cols[name] = np.round(4 + f[:, 1] + 0.7 * rng.standard_normal(n))
    return pd.DataFrame(cols)


def test_one_item_construct_is_an_error():
    with pytest.raises(DataError, match=r"construct 'S' has 1 item.*at least two items"):
        cronbach_alpha(_toy(), {"S": ["a1"]})


def test_constant_item_is_an_error_naming_it():
    df = _toy()
    df["a2"] = 5.0
    with pytest.raises(DataError, match=r"item 'a2' of construct 'A' is constant"):
        cronbach_alpha(df, {"A": ["a1", "a2", "a3"]})


def test_missing_and_text_columns_are_errors():
    df = _toy()
    with pytest.raises(DataError, match="'zz'.*not found"):
        cronbach_alpha(df, {"A": ["a1", "zz"]})
    df["a3"] = df["a3"].astype(object)
    df.loc[4, "a3"] = "agree"
    with pytest.raises(DataError, match=r"'a3' is not numeric .*'agree'"):
        cronbach_alpha(df, {"A": ["a1", "a2", "a3"]})


def test_unreversed_item_warns_naming_it():
    _, data, _ = load_case("bfi_cfa_reliability")
    raw = data.copy()
    raw["A1"] = 7 - raw["A1"]  # undo the reverse-keying
    with pytest.warns(ReliabilityWarning, match=r"item 'A1' of construct 'A' correlates negatively"):
        item_total(raw, {"A": ["A1", "A2", "A3", "A4", "A5"]})


def test_negative_alpha_warns():
    df = _toy()
    pair = pd.DataFrame({"x": df["a1"], "y": 8 - df["a2"]})  # y is a2 scored the wrong way round
    with pytest.warns(ReliabilityWarning, match="negative"):
        out = cronbach_alpha(pair, {"P": ["x", "y"]})
    assert out.loc[0, "alpha"] < 0


def test_thresholds_validate_and_verdicts():
    with pytest.raises(DataError, match="ave=1.5"):
        Thresholds(ave=1.5)
    table = pd.DataFrame({"construct": ["A", "B"], "alpha": [0.69, 0.80], "ave": [0.55, float("nan")]})
    v = reliability_verdicts(table, Thresholds())
    got = {(r.construct, r.criterion): r.ok for r in v.itertuples()}
    assert got[("A", "alpha")] == False and got[("B", "alpha")] == True  # noqa: E712
    assert got[("A", "ave")] == True and got[("B", "ave")] is None  # noqa: E712
    assert set(v["source"]) >= {"Fornell & Larcker (1981)"}


def test_discriminant_validity_close_pairs():
    h = pd.DataFrame([[1, 0.87], [0.87, 1]], index=["A", "B"], columns=["A", "B"])
    fl = pd.DataFrame([[0.8, 0.6], [0.6, 0.7]], index=["A", "B"], columns=["A", "B"])
    d = discriminant_validity(h, fl).iloc[0]
    assert d["htmt_threshold"] == 0.85 and not d["htmt_ok"] and d["fornell_larcker_ok"]
    d = discriminant_validity(h, fl, close_pairs=[("B", "A")]).iloc[0]
    assert d["htmt_threshold"] == 0.90 and d["htmt_ok"]
    fl.loc["A", "B"] = fl.loc["B", "A"] = -0.75
    assert not discriminant_validity(h, fl).iloc[0]["fornell_larcker_ok"]


# ----------------------------------------------------------------------------- report object
def test_report_to_dict_layout_is_json(case):
    ref, _, complete, _, rep = case
    out = rep.to_dict()
    text = json.dumps(out, allow_nan=False)
    back = json.loads(text)
    for name in ref["reliability"]:
        c = back["constructs"][name]
        for key in ("alpha", "alpha_ci_lower", "alpha_ci_upper", "std_alpha", "omega", "composite_reliability",
                    "ave", "n_items", "n"):
            assert c[key] is not None, key
        assert c["n"] == len(complete)
    a, b = list(ref["reliability"])[:2]
    assert back["htmt"][a][b] == pytest.approx(rep.htmt.loc[a, b])
    assert back["fornell_larcker"][a][a] == pytest.approx(math.sqrt(rep.constructs.set_index("construct").loc[a, "ave"]))
    assert back["thresholds"]["htmt"]["source"].startswith("Henseler")


def test_report_without_model_and_with_single_item_construct():
    df = _toy()
    with pytest.warns(ReliabilityWarning, match="single item"):
        rep = reliability_report(df, constructs={"A": ["a1", "a2", "a3"], "B": ["b1", "b2", "b3"], "S": ["b1"]})
    t = rep.constructs.set_index("construct")
    assert math.isnan(t.loc["S", "alpha"]) and t.loc["S", "n_items"] == 1
    assert t.loc["A", "alpha"] > 0.5 and math.isnan(t.loc["A", "omega"])
    assert rep.fornell_larcker is None
    assert math.isnan(rep.htmt.loc["A", "S"])
    assert json.dumps(rep.to_dict(), allow_nan=False)


def test_report_drops_incomplete_rows_with_a_warning():
    df = _toy()
    df.loc[[1, 2], "a1"] = np.nan
    with pytest.warns(Warning, match="2 of 60 respondents"):
        rep = reliability_report(df, constructs={"A": ["a1", "a2", "a3"], "B": ["b1", "b2", "b3"]})
    assert rep.n == 58


def test_multigroup_table_needs_a_group(case):
    _, _, complete, params, _ = case
    two = pd.concat([params.assign(group=1), params.assign(group=2)])
    with pytest.raises(DataError, match="group="):
        omega(two, _ml_cov(complete))
    assert omega(two, _ml_cov(complete), group=2)["omega"].to_numpy() == \
        pytest.approx(omega(params, _ml_cov(complete))["omega"].to_numpy())


def test_report_with_diagnostics(psych_ref):
    ref, data, complete = load_case("icaf_wave1_cfa_reliability")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = reliability_report(data, model=ref["model"], fitted=pd.DataFrame(ref["parameters"]), diagnostics=True)
    d = rep.diagnostics
    assert d["kmo"]["msa"].iloc[-1] == pytest.approx(psych_ref["icaf"]["kmo"]["MSA"], abs=1e-12)
    assert d["bartlett"]["chisq"].iloc[0] == pytest.approx(psych_ref["icaf"]["bartlett"]["chisq"], rel=1e-10)
    assert d["mardia"]["b2p"].iloc[0] == pytest.approx(psych_ref["icaf"]["mardia"]["b2p"], rel=1e-10)
    # descriptives use every row, so the share of missing answers shows
    assert (d["descriptives"]["n"] >= len(complete)).all() and d["descriptives"]["pct_missing"].max() > 0
    out = json.loads(json.dumps(rep.to_dict(), allow_nan=False))
    assert "insensitive" in out["diagnostics"]["harman"][0]["note"]
