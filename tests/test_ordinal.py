"""Ordinal items (WLSMV and its family) against lavaan 0.6-14 fixtures.

The fixtures in tests/fixtures/ordinal are written by make_ordinal.R (beside them); R is not needed here.
"""
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.errors import DataError, ModelSpecificationError, OrdinalWarning
from icaf_sem.estimation.categorical import bvn_cdf, ordinal_stats, polychoric_matrix

FIX = Path(__file__).parent / "fixtures" / "ordinal"
CASES = ["bfi600_theta", "bfi600_ulsmv", "bfi600_wlsm", "bfi600_wlsmvs", "bfi600_dwls", "bfi600_stdlv_defined",
         "sparse_binary", "icaf_sem_wlsmv", "bfi600_mg_configural", "bfi600_mg_thresholds", "bfi600_mg_loadings",
         "bfi600_mg_intercepts", "mixed5_cfa", "bfi600_pairwise", "bfi600_mg_stdlv",
         "bfi600_mg_theta", "icaf_sem_theta", "icaf_sem_ulsmv"]
FIT_ABS = {"cfi": 1e-3, "tli": 1e-3, "rmsea": 1e-3, "srmr": 1e-3}


def _load(case):
    ref = json.loads((FIX / f"{case}.json").read_text())
    data = pd.read_csv(FIX / "data" / ref["data"])
    latents = {p["lhs"] for p in ref["parameters"] if p["op"] == "=~"}
    items = sorted({p["rhs"] for p in ref["parameters"] if p["op"] == "=~"} - latents)
    if ref["options"].get("missing") == "pairwise":
        return ref, data
    return ref, data.dropna(subset=items).reset_index(drop=True)


def _fit(ref, data):
    o = ref["options"]
    ge = o.get("group_equal") or []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return icaf_sem.fit(ref["model"], data, ordered=True if o["ordered"] is True else o["ordered"],
                            estimator=o["estimator"],
                            parameterization=o.get("parameterization", "delta"), std_lv=bool(o.get("std_lv")),
                            missing=o.get("missing", "listwise"),
                            group=o.get("group"), group_equal=[ge] if isinstance(ge, str) else ge)


@pytest.mark.parametrize("case", CASES)
def test_matches_lavaan(case):
    ref, data = _load(case)
    res = _fit(ref, data)
    P = res.parameters
    got = {}
    for r in P.itertuples():
        key = (r.lhs, ":=", "", 0) if r.op == ":=" else (r.lhs, r.op, r.rhs, r.group)
        got[key] = r
    for p in ref["parameters"]:
        if p["op"] == "~1" and p["est"] == 0 and p["se"] == 0:
            continue
        key = (p["lhs"], ":=", "", 0) if p["op"] == ":=" else (p["lhs"], p["op"], p["rhs"], p["group"])
        g = got[key]
        assert abs(g.est - p["est"]) <= 1e-3 * max(1, abs(p["est"])), key
        if p["se"]:
            assert abs(g.se - p["se"]) <= max(1e-4, 1e-2 * p["se"]), key
        if p["std.all"] is not None:
            assert abs(g.std_all - p["std.all"]) <= 1e-3, key
        if p.get("std.lv") is not None:
            assert abs(g.std_lv - p["std.lv"]) <= 1e-3 * max(1, abs(p["std.lv"])), key
    fm = res.fit_measures
    for k, v in ref["fit"].items():
        if k == "srmr_bentler" and case.startswith("mixed"):
            assert not np.isfinite(fm[k])     # not reproduced for continuous indicators: left out
            continue
        if v is None:
            # lavaan gives none (robust indices of multi-group threshold models): neither do we
            assert k not in fm or not np.isfinite(fm[k]), k
            continue
        if k in ("npar", "df", "baseline.df", "ntotal"):
            assert round(fm[k]) == round(v), k
        elif k in ("chisq", "baseline.chisq", "chisq.scaled", "baseline.chisq.scaled"):
            assert abs(fm[k] - v) <= max(1e-3, 2e-3 * abs(v)), k
        else:
            assert abs(fm[k] - v) <= max(FIT_ABS.get(k, 2e-3), 2e-3 * abs(v) if k not in FIT_ABS else 0), k
    for k, v in (ref.get("r2") or {}).items():
        assert abs(res.r2[k] - v) <= 1e-3, k


def test_small_tables_entry_by_entry():
    f = json.loads((FIX / "polychoric_small.json").read_text())
    one = lambda v: v[0] if isinstance(v, list) else v        # noqa: E731  (jsonlite writes scalars as [x])
    d = pd.read_csv(FIX / "data" / one(f["data"]))
    cols = list(d.columns)
    st = ordinal_stats(d.dropna().to_numpy(float), cols)
    assert st.N == one(f["n_listwise"])
    np.testing.assert_allclose(st.th_vec, f["thresholds"], atol=1e-10)
    np.testing.assert_allclose(st.R, f["polychoric"], atol=1e-6)
    np.testing.assert_allclose(st.gamma, f["gamma"], atol=1e-6)
    # pairwise-present statistics (lavaan's missing = "pairwise")
    st = ordinal_stats(d.to_numpy(float), cols)
    np.testing.assert_allclose(st.th_vec, f["thresholds_pairwise"], atol=1e-10)
    np.testing.assert_allclose(st.R, f["polychoric_pairwise"], atol=1e-6)
    np.testing.assert_allclose(st.gamma, f["gamma_pairwise"], atol=1e-6)
    np.testing.assert_allclose(polychoric_matrix(d).to_numpy(), f["polychoric_pairwise"], atol=1e-6)


def test_bivariate_normal_cdf():
    from scipy.stats import multivariate_normal
    rng = np.random.default_rng(3)
    for r in (-0.99, -0.93, -0.5, 0.0, 0.2, 0.6, 0.8, 0.95, 0.999):
        hk = rng.normal(0, 1.5, (6, 2))
        want = [multivariate_normal(cov=[[1, r], [r, 1]]).cdf(x) for x in hk]
        np.testing.assert_allclose(bvn_cdf(hk[:, 0], hk[:, 1], r), want, atol=1e-12)


def test_ordinal_reliability():
    f = FIX / "reliability_bfi600.json"
    ref = json.loads(f.read_text())
    data = pd.read_csv(FIX / "data" / ref["data"])
    from icaf_sem.measurement.reliability import reliability_report
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = reliability_report(data.iloc[:, :15].dropna(), model=ref["model"], ordered=True)
    t = rep.constructs.set_index("construct")
    for name, want in ref["ordinal_reliability"].items():
        assert abs(t.loc[name, "alpha_ordinal"] - want["alpha_ordinal"]) < 2e-3
        assert abs(t.loc[name, "omega_ordinal"] - want["omega_ordinal"]) < 1e-4
        assert abs(t.loc[name, "omega"] - want["omega_latent_response"]) < 1e-4
        assert abs(t.loc[name, "ave"] - want["ave"]) < 1e-4
    names = ref["htmt_names"]
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if a != b:
                assert abs(rep.htmt.loc[a, b] - ref["htmt"][str(i + 1)][j]) < 1e-4


# ------------------------------------------------------------------------------------------ bad input
MODEL = "F =~ a + b + c + d"


def _frame(n=200, seed=1):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 1)) + rng.normal(size=(n, 4))
    return pd.DataFrame(np.digitize(z, [-1, 0, 1]) + 1, columns=list("abcd")).astype(float)


def test_one_category_is_an_error():
    d = _frame()
    d["a"] = 3.0
    with pytest.raises(DataError, match="'a' has 1 observed category"):
        icaf_sem.fit(MODEL, d, ordered=True)


def test_more_than_20_categories_is_an_error():
    d = _frame()
    d["b"] = np.arange(len(d)) % 25
    with pytest.raises(DataError, match="'b' has 25 distinct values"):
        icaf_sem.fit(MODEL, d, ordered=True)


def test_empty_middle_category_is_an_error():
    d = _frame()
    d.loc[d["c"] == 2, "c"] = 1
    with pytest.raises(DataError, match="'c': category 2 .* is empty"):
        icaf_sem.fit(MODEL, d, ordered=True)


def test_text_in_ordered_column_is_an_error():
    d = _frame().astype(object)
    d.loc[5, "d"] = "agree"
    with pytest.raises(DataError, match="'d' holds text"):
        icaf_sem.fit(MODEL, d, ordered=True)


def test_too_few_rows_for_gamma_warns():
    d = pd.DataFrame({"a": [1, 2, 3, 1, 2, 3, 1, 2, 3], "b": [1, 1, 2, 2, 3, 3, 1, 2, 3],
                      "c": [2, 1, 3, 1, 2, 3, 3, 2, 1], "d": [1, 2, 2, 3, 3, 1, 2, 1, 3]}, dtype=float)
    with pytest.warns(OrdinalWarning, match="only 9 rows for 14 sample statistics"):
        try:
            icaf_sem.fit(MODEL, d, ordered=True)
        except (DataError, ModelSpecificationError):
            pass


def test_non_positive_definite_polychorics_warns():
    # pairwise-present correlations that no data set could produce together: a = b, b = c, c = 5 - a
    k = np.tile([1.0, 2, 3, 4], 50)
    nan = np.full(200, np.nan)
    d = pd.DataFrame({"a": np.r_[k, nan, k], "b": np.r_[k, k, nan], "c": np.r_[nan, k, 5 - k]})
    with pytest.warns(OrdinalWarning, match="not positive definite"):
        try:
            icaf_sem.fit("F =~ a + b + c", d, ordered=True, missing="pairwise")
        except (DataError, ModelSpecificationError):
            pass


def test_fiml_is_refused_with_a_pointer():
    with pytest.raises(ModelSpecificationError, match="pairwise.*MLR"):
        icaf_sem.fit(MODEL, _frame(), ordered=True, missing="ml")


def test_ml_with_ordered_is_refused():
    with pytest.raises(ModelSpecificationError, match="WLSMV"):
        icaf_sem.fit(MODEL, _frame(), ordered=True, estimator="ML")


def test_mixed_multigroup_is_refused():
    d = _frame()
    d["g"] = np.arange(len(d)) % 2
    with pytest.raises(ModelSpecificationError, match="both ordered and continuous"):
        icaf_sem.fit(MODEL, d, ordered=["a", "b"], group="g")


def test_pairwise_missing_runs_and_listwise_drops():
    d = _frame(n=400)
    d.loc[::7, "a"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pw = icaf_sem.fit(MODEL, d, ordered=True, missing="pairwise")
        lw = icaf_sem.fit(MODEL, d, ordered=True)
    assert pw.nobs == 400 and lw.nobs == 400 - len(d.index[::7])


def test_cli_fit_ordered(tmp_path, capsys):
    from icaf_sem.cli import main
    ref, data = _load("bfi600_ulsmv")
    csv = tmp_path / "d.csv"
    data.to_csv(csv, index=False)
    mod = tmp_path / "m.lav"
    mod.write_text(ref["model"])
    out = tmp_path / "o.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["fit", "--model", str(mod), "--data", str(csv), "--ordered", "--estimator", "ULSMV",
                     "--json", str(out)])
    assert code == 0
    got = json.loads(out.read_text())
    assert abs(got["fit"]["chisq.scaled"] - ref["fit"]["chisq.scaled"]) < 2e-3 * ref["fit"]["chisq.scaled"]
    assert any(p["op"] == "|" for p in got["parameters"]) and got["modindices"]
    capsys.readouterr()
    code = main(["fit", "--model", str(mod), "--data", str(csv), "--ordered", "--missing", "ml",
                 "--json", str(tmp_path / "x.json")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "FIML" in err
    assert not (tmp_path / "x.json").exists()


def test_polyserial_and_mixed_gamma_entry_by_entry():
    from icaf_sem.estimation.categorical import mixed_stats
    f = json.loads((FIX / "polyserial_mixed.json").read_text())
    one = lambda v: v[0] if isinstance(v, list) else v        # noqa: E731
    x = pd.read_csv(FIX / "data" / one(f["data"]))
    out = mixed_stats(x.to_numpy(float), list(x.columns), f["ordered"])
    np.testing.assert_allclose(out["cor"], f["cor"], atol=1e-6)
    np.testing.assert_allclose(out["wls_obs"], f["wls_obs"], atol=1e-6)
    G = np.array(f["gamma"])
    np.testing.assert_allclose(out["gamma"], G, atol=1e-6 * np.abs(G).max())


def test_modification_indices_match_lavaan():
    f = json.loads((FIX / "modindices_bfi600.json").read_text())
    one = lambda v: v[0] if isinstance(v, list) else v        # noqa: E731
    d = pd.read_csv(FIX / "data" / one(f["data"])).dropna()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = icaf_sem.fit(one(f["model"]), d, ordered=True)
    M = res.modindices
    got = {(r.lhs, r.op, r.rhs): r for r in M.itertuples()}
    assert len(M) == len(f["modindices"])
    for row in f["modindices"]:
        g = got.get((row["lhs"], row["op"], row["rhs"])) or got[(row["rhs"], row["op"], row["lhs"])]
        assert abs(g.mi - row["mi"]) <= max(1e-2, 1e-3 * row["mi"])
        assert abs(g.epc - row["epc"]) <= 1e-3 * max(1, abs(row["epc"]))
        assert abs(g.sepc_all - row["sepc.all"]) <= 1e-3


def test_gamma_in_chunks_equals_gamma_at_once(monkeypatch):
    import icaf_sem.estimation.categorical as cat
    f = json.loads((FIX / "polychoric_small.json").read_text())
    one = lambda v: v[0] if isinstance(v, list) else v        # noqa: E731
    d = pd.read_csv(FIX / "data" / one(f["data"]))
    monkeypatch.setattr(cat, "MAX_INFLUENCE_CELLS", 500)
    st = ordinal_stats(d.to_numpy(float), list(d.columns))
    assert st.influence is None                              # accumulated in chunks, not kept
    np.testing.assert_allclose(st.gamma, f["gamma_pairwise"], atol=1e-6)
