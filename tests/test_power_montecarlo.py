"""Monte Carlo power (icaf_sem.power.simulate): recovery of a fitted ICAF wave, the type I error rate
under a zero effect, identical results whatever the workers and backend, resuming, the CLI and bad input."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.cli import main
from icaf_sem.errors import DataError, ModelSpecificationError
from icaf_sem.power import montecarlo as mc
from icaf_sem.power import simulate

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def q():
    return icaf_sem.load_questionnaire("icaf")


@pytest.fixture(scope="module")
def wave():
    return pd.read_csv(FIX / "data" / "icaf_wave1_clean.csv")


@pytest.fixture(scope="module")
def fitted(q, wave):
    return icaf_sem.fit(q.model_syntax(), wave, modindices=False)     # complete cases, ML (a previous wave)


def _nodiff(a, b):
    da, db = a.to_dict(), b.to_dict()
    da.pop("timing"), db.pop("timing")
    return json.dumps(da, sort_keys=True) == json.dumps(db, sort_keys=True)


def test_recovers_a_fitted_wave(q, fitted):
    st = simulate(q, fitted, n=[400], reps=100, seed=11, workers=1)
    est = fitted.parameters
    tab = st.table.set_index("id")
    # the true values are the wave's estimates (regressions, covariances and defined effects)
    for h in q.hypotheses:
        row = est[(est["lhs"] == h.lhs) & (est["op"] == h.op) & (est["rhs"] == h.rhs)]
        assert tab.loc[h.id, "true"] == pytest.approx(float(row["est"].iloc[0]), abs=2e-5)
    assert (tab["convergence_rate"] == 1).all()
    # the mean estimate recovers the population value within Monte Carlo error (4 MC SEs)
    mc_se = tab["est_sd"] / np.sqrt(tab["converged"])
    assert (np.abs(tab["est_mean"] - tab["true"]) < 4 * mc_se).all(), tab[["true", "est_mean", "est_sd"]]
    # ML SEs of a correct model are close to the SD of the estimates; the Wald CI covers about 95 %
    assert (tab["relative_se_bias"].abs() < 0.3).all()
    assert tab["coverage"].between(0.85, 1.0).all()


def test_batched_fits_equal_engine_fits(q, fitted):
    pop = mc.population(q, fitted)
    pt, ov = mc._compile(q.model_syntax(), False)
    theta, _ = mc._true_values(pt, ov, pop.sigma, pop.mu)
    targets = mc._targets(pt, q)
    spec = {"syntax": q.model_syntax(), "std_lv": False, "meanstructure": False, "estimator": "ML",
            "missing": "listwise", "sigma": pop.sigma, "mu": pop.mu, "theta_true": theta, "targets": targets,
            "alpha": 0.05, "mc_draws": 200, "key": "t"}
    prep = mc._prepared(spec)
    X = mc._draw(spec, prep, np.random.default_rng(3), 4, 150)
    th, conv, V = mc._fit_batched(spec, prep, X)
    for b in range(4):
        res = icaf_sem.fit(q.model_syntax(), pd.DataFrame(X[b], columns=ov), modindices=False)
        free = res.parameters[res.parameters["free"] > 0].sort_values("free")
        assert conv[b]
        np.testing.assert_allclose(th[b], free["est"].to_numpy(), atol=2e-5)
        np.testing.assert_allclose(np.sqrt(np.diag(V[b])), free["se"].to_numpy(), rtol=1e-4)


def test_zero_effect_rejection_rate_is_alpha(q):
    st = simulate(q, {"H5c": 0.0}, n=[150], reps=400, seed=5, workers=1, alpha=0.05)
    row = st.table.set_index("id").loc["H5c"]
    assert row["true"] == pytest.approx(0.0, abs=1e-6)
    se = np.sqrt(0.05 * 0.95 / row["converged"])
    assert abs(row["rejection_rate"] - 0.05) < 3.5 * se
    # with the expected sign ("-") only one tail counts
    assert abs(row["power"] - 0.025) < 3.5 * np.sqrt(0.025 * 0.975 / row["converged"])
    # the other paths keep their declared effect and have power
    assert st.table.set_index("id").loc["H3a", "power"] > 0.5


def test_same_results_with_1_and_2_workers_and_resume(q, tmp_path):
    kw = dict(n=[120, 200], reps=30, seed=3, chunk_size=10)
    one = simulate(q, None, workers=1, **kw)
    two = simulate(q, None, workers=2, **kw)
    assert two.timing["backend"] == "processes" and two.timing["workers"] == 2
    assert _nodiff(one, two)
    pd.testing.assert_frame_equal(one.replications, two.replications)
    # a study interrupted after a few chunks (the last one torn) resumes where it stopped
    f = tmp_path / "reps.csv"
    simulate(q, None, workers=1, results_file=f, **kw)
    lines = f.read_text().splitlines(True)
    f.write_text("".join(lines[:26]) + lines[26][:15])
    again = simulate(q, None, workers=2, results_file=f, **kw)
    assert again.timing["chunks_resumed"] == 2
    assert _nodiff(one, again)
    # another study cannot append to that file
    with pytest.raises(DataError, match="another study"):
        simulate(q, None, workers=1, results_file=f, **{**kw, "seed": 4})


def test_dask_backend_matches_processes(q):
    distributed = pytest.importorskip("dask.distributed")
    kw = dict(n=[150], reps=20, seed=9, chunk_size=10)
    local = simulate(q, None, workers=1, **kw)
    # scheduler="dask": a local cluster of single-threaded worker processes, each chunk with BLAS
    # pinned to one thread, so the numbers are the same to the bit
    viadask = simulate(q, None, scheduler="dask", workers=2, **kw)
    assert viadask.timing["backend"] == "dask"
    assert _nodiff(local, viadask)
    # a Client whose workers are threads of this process: BLAS thread counts are process-wide
    # (only one thread may set them), so the numbers agree to rounding, not to the bit
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cl, \
            distributed.Client(cl) as client:
        threaded = simulate(q, None, scheduler=client, **kw)
    assert threaded.timing["backend"] == "dask"
    a, b = local.replications, threaded.replications
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-12)
    num = local.table.select_dtypes("number").columns
    pd.testing.assert_frame_equal(local.table[num], threaded.table[num], check_exact=False, rtol=1e-9,
                                  atol=1e-12)


def test_fiml_missing_cells_and_ordinal_data(q, wave):
    st = simulate(q, None, n=[250], reps=6, seed=2, missing_rate=0.05, data="ordinal", cuts_from=wave, workers=1,
                  chunk_size=3)
    assert st.config["missing"] == "ml" and not st.config["batched_fits"]
    assert (st.table["convergence_rate"] == 1).all()
    assert st.table["est_mean"].notna().all()
    # the items are cut into the wave's answer categories; missing cells are about 5 %
    pop = st.population
    pt, ov = mc._compile(q.model_syntax(), True)
    spec = {"sigma": pop.sigma, "mu": pop.mu, "thresholds": mc.cut_points(wave, ov), "missing_rate": 0.05}
    X = mc._draw(spec, {"ov": ov, "chol": np.linalg.cholesky(pop.sigma)}, np.random.default_rng(1), 2, 500)
    vals = set(np.unique(X[~np.isnan(X)]))
    assert vals <= set(range(1, 8))
    assert 0.04 < np.isnan(X).mean() < 0.06


SMALL = "f1 =~ x1 + x2 + x3\nf2 =~ y1 + y2 + y3\nf2 ~ b*f1\nx1 ~~ y1\nhalf := 0.5*b\n"


def _small_population(b=0.3, lam=0.7):
    ov = ["x1", "x2", "x3", "y1", "y2", "y3"]
    L = np.zeros((6, 2))
    L[:3, 0] = L[3:, 1] = lam
    phi = np.array([[1.0, b], [b, 1.0]])
    S = L @ phi @ L.T + np.diag(np.full(6, 1 - lam ** 2))
    S[0, 3] = S[3, 0] = S[0, 3] + 0.05
    return pd.DataFrame(S, index=ov, columns=ov)


def test_lavaan_syntax_model_required_n_and_report(tmp_path):
    st = simulate(SMALL, _small_population(), n=[40, 120, 300], reps=40, seed=1, workers=1)
    tab = st.table.set_index(["id", "n"])
    assert list(st.targets["id"]) == ["f2 ~ f1", "half"]          # regressions and defined effects
    assert st.targets.set_index("id").loc["f2 ~ f1", "true"] == pytest.approx(0.3, abs=1e-5)
    assert st.targets.set_index("id").loc["half", "true"] == pytest.approx(0.15, abs=1e-5)
    pw = st.power_table()
    ok = [n for n in pw.columns if (pw[n] >= 0.8).all()]
    assert st.required_n == (min(ok) if ok else None)
    assert tab.loc[("f2 ~ f1", 300), "power"] > tab.loc[("f2 ~ f1", 40), "power"]
    from icaf_sem.power.report import write_report
    paths = write_report(st, tmp_path)
    zh = Path(paths["html_zh"]).read_text(encoding="utf-8")
    assert "统计功效" in zh and "<table" in zh
    assert "Monte Carlo power" in Path(paths["html_en"]).read_text(encoding="utf-8")
    assert Path(paths["png_en"]).stat().st_size > 1000
    assert pd.read_csv(paths["html_en"].parent / "power_results.csv").shape[0] == 6


def test_required_n_for_chosen_hypotheses(q):
    st = simulate(q, {"H1a": 0.6, "H1b": 0.6}, n=[60, 150], reps=10, seed=1, hypotheses=["H1a", "H1b"],
                  workers=1)
    pw = st.power_table().loc[["H1a", "H1b"]]
    ok = [n for n in pw.columns if (pw[n] >= 0.8).all()]
    assert st.required_n == (min(ok) if ok else None)
    assert st.config["hypotheses"] == ["H1a", "H1b"]


def test_cli_same_json_whatever_the_workers(tmp_path, capsys):
    outs = []
    for w in (1, 2):
        out = tmp_path / f"w{w}.json"
        assert main(["power", "simulate", "--questionnaire", "icaf", "--n", "150,250", "--reps", "12",
                     "--seed", "4", "--workers", str(w), "--json", str(out)]) == 0
        d = json.loads(out.read_text())
        assert d["timing"]["workers"] == w
        d.pop("timing")
        outs.append(d)
    assert outs[0] == outs[1]
    assert {r["id"] for r in outs[0]["results"]} >= {"H1a", "H7a"}


def test_bad_input(q, tmp_path, capsys):
    with pytest.raises(DataError, match="target_power=1.5"):
        simulate(q, None, n=[100], reps=5, seed=1, target_power=1.5)
    with pytest.raises(DataError, match="alpha=0"):
        simulate(q, None, n=[100], reps=5, seed=1, alpha=0)
    with pytest.raises(DataError, match="-50"):
        simulate(q, None, n=[100, -50], reps=5, seed=1)
    with pytest.raises(DataError, match="reps=0"):
        simulate(q, None, n=[100], reps=0, seed=1)
    with pytest.raises(ModelSpecificationError, match="H9z.*not in the model"):
        simulate(q, {"H9z": 0.3}, n=[100], reps=5, seed=1)
    with pytest.raises(ModelSpecificationError, match="H9z.*not in the model"):
        simulate(q, None, n=[100], reps=5, seed=1, hypotheses=["H9z"])
    with pytest.raises(ModelSpecificationError, match="component"):
        simulate(q, {"H7a": 0.1}, n=[100], reps=5, seed=1)
    pt, ov = mc._compile(q.model_syntax(), False)
    bad = pd.DataFrame(np.ones((len(ov), len(ov))), index=ov, columns=ov)       # rank 1: not positive definite
    with pytest.raises(DataError, match="not positive definite"):
        simulate(q, bad, n=[100], reps=5, seed=1)
    with pytest.raises(DataError, match="H6a"):
        simulate(q, {"H6a": 1.2}, n=[100], reps=5, seed=1)
    with pytest.raises(DataError, match="cuts_from"):
        simulate(q, None, n=[100], reps=5, seed=1, data="ordinal")
    with pytest.raises(ModelSpecificationError, match="WLSMV"):
        simulate(q, None, n=[100], reps=5, seed=1, estimator="WLSMV")
    # the CLI: one line, exit 2, no output
    out = tmp_path / "x.json"
    assert main(["power", "simulate", "--questionnaire", "icaf", "--n", "100,-3", "--reps", "5", "--seed", "1",
                 "--json", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "-3" in err[0] and not out.exists()


def test_cli_effect_sizes_from_json_and_report(tmp_path):
    eff = tmp_path / "effects.json"
    eff.write_text(json.dumps({"H5c": 0.0, "H1a": 0.5}))
    out = tmp_path / "p.json"
    assert main(["power", "simulate", "--questionnaire", "icaf", "--population", str(eff), "--n", "150",
                 "--reps", "8", "--seed", "2", "--workers", "1", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    true = {t["id"]: t["true"] for t in d["targets"]}
    assert abs(true["H5c"]) < 1e-6 and d["config"]["population"] == "effect sizes"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"H99": 0.2}))
    assert main(["power", "simulate", "--questionnaire", "icaf", "--population", str(bad), "--n", "150",
                 "--reps", "8", "--seed", "2", "--json", str(tmp_path / "q.json")]) == 2
