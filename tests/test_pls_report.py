"""analyze(method="pls" | "both"): the PLS-SEM stage, its report tables (en/zh, every format) and the
CB-SEM vs PLS-SEM hypothesis table; pls_hypotheses judged from the PLS result's own numbers."""
import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem import analyze, load_questionnaire
from icaf_sem.errors import ModelSpecificationError
from icaf_sem.pls.report import pls_hypotheses
from icaf_sem.report.i18n import pls as pls_text

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "icaf_sem" / "data" / "example_wave.csv"
FIX = ROOT / "tests" / "fixtures" / "pls"


def _quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


@pytest.fixture(scope="module")
def pls_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pls") / "report"
    res = _quiet(analyze, RAW, "icaf", method="pls", bootstrap=120, seed=7, out=out, language="zh", figures=False)
    return res, out


@pytest.fixture(scope="module")
def both_run():
    return _quiet(analyze, RAW, "icaf", method="both", bootstrap=100, seed=7, invariance=False, method_bias=False,
                  figures=False)


def test_pls_hypotheses_follow_the_result():
    q = load_questionnaire("icaf")
    data = pd.read_csv(FIX / "icaf_wave1_clean.csv")
    res = _quiet(icaf_sem.pls, q.pls_syntax(), data, bootstrap=200, seed=3)
    h = pls_hypotheses(res, q, alpha=0.05).set_index("id")
    bt = res.bootstrap
    for x in q.hypotheses:
        r = h.loc[x.id]
        if x.kind == "path":
            b = bt[(bt.kind == "path") & (bt.lhs == x.lhs) & (bt.rhs == x.rhs)].iloc[0]
            assert r["est"] == pytest.approx(b["est"]) and r["pvalue"] == pytest.approx(b["pvalue"])
            assert r["t"] == pytest.approx(b["est"] / b["se"])
            sign_ok = x.expected_sign == "0" or np.sign(r["est"]) == (1 if x.expected_sign == "+" else -1)
            assert r["supported"] == bool(b["pvalue"] < 0.05 and sign_ok)
            assert r["f2"] == pytest.approx(res.f2.set_index(["lhs", "rhs"]).loc[(x.lhs, x.rhs), "f2"])
        elif x.kind == "mediation":
            route = " -> ".join(x.chain)
            b = bt[(bt.kind == "indirect") & (bt.rhs == route)].iloc[0]
            prod = np.prod([res.paths.set_index(["lhs", "rhs"]).loc[(y, z), "est"]
                            for z, y in zip(x.chain[:-1], x.chain[1:])])
            assert r["est"] == pytest.approx(prod)
            excl = b["ci_lower"] > 0 or b["ci_upper"] < 0
            assert r["significant"] == excl
            assert isinstance(r["mediation_type"], str)
        else:
            assert r["supported"] is None and math.isnan(r["pvalue"])


def test_pls_hypotheses_without_bootstrap_are_not_tested():
    q = load_questionnaire("icaf")
    data = pd.read_csv(FIX / "icaf_wave1_clean.csv")
    res = _quiet(icaf_sem.pls, q.pls_syntax(), data)
    with pytest.warns(icaf_sem.errors.BootstrapWarning):
        h = pls_hypotheses(res, q)
    assert h["supported"].isna().all() and h["pvalue"].isna().all()


def test_pls_report_tables_and_files(pls_run):
    res, out = pls_run
    assert res.sem is None and res.cfa is None and res.pls is not None
    for k in ("pls_measurement", "pls_discriminant", "pls_htmt", "pls_cross_loadings", "pls_collinearity",
              "pls_structural", "pls_r2", "pls_model_fit", "pls_predict", "pls_ipma", "pls_hypotheses"):
        assert k in res.tables, k
    assert "measurement_model" not in res.tables and "method_comparison" not in res.tables
    r = res.pls.result
    st = res.tables["pls_structural"]
    np.testing.assert_allclose(st["est"], r.paths["est"])
    np.testing.assert_allclose(st["pvalue"], r.paths["pvalue"])
    meas = res.tables["pls_measurement"]
    rel = r.reliability
    first = meas.dropna(subset=["rho_a"]).set_index("construct")
    np.testing.assert_allclose(first.loc[rel.index, "rho_a"], rel["rho_a"])
    fit = res.tables["pls_model_fit"].set_index("measure")
    np.testing.assert_allclose(fit["estimated"], r.model_fit.set_index("measure")["estimated"])
    ft = res.pls.fit_test.set_index(["model", "measure"])       # the exact fit test, same draws and seed
    assert (ft["draws"] <= 120).all() and (ft["draws"] > 90).all()
    np.testing.assert_allclose(fit["est_hi95"], [ft.loc[("estimated", m), "hi95"] for m in fit.index])
    np.testing.assert_allclose(fit["sat_hi99"], [ft.loc[("saturated", m), "hi99"] for m in fit.index])
    # Chinese titles, every file, the IPMA figure, the JSON
    assert res.tables["pls_hypotheses"].attrs["title"] == pls_text.ZH["title.pls_hypotheses"]
    for f in ("report.html", "report.docx", "tables.xlsx", "tables.tex", "results.json", "reproducibility.json"):
        assert (out / f).is_file(), f
    from icaf_sem.report.export import FIGURES_IN, figure_caption
    from icaf_sem.report.figures import save_figure
    from icaf_sem.report.pls_tables import ipma_figure
    png = save_figure(ipma_figure(res.pls.ipma, language="zh"), out, "ipma_test")[0]
    assert png.stat().st_size > 1000 and "ipma" in FIGURES_IN["section.pls"]
    assert "PW" in figure_caption(res, "ipma")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert pls_text.ZH["title.pls_model_fit"] in html and pls_text.ZH["section.pls"] in html
    assert pls_text.ZH["title.pls_structural"] in (out / "tables.tex").read_text(encoding="utf-8")
    js = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert js["pls"]["result"]["model_fit"]["SRMR"]["estimated"] == pytest.approx(fit.loc["SRMR", "estimated"])
    rep = json.loads((out / "reproducibility.json").read_text())
    assert "--method pls" in rep["reproduce"] and "--pls-hoc two_stage" in rep["reproduce"]
    en = res.in_language("en")
    assert en.tables["pls_hypotheses"].attrs["title"] == pls_text.EN["title.pls_hypotheses"]
    assert "PLS fit: SRMR" in res.summary()


def test_both_puts_cb_and_pls_side_by_side(both_run):
    res = both_run
    assert "measurement_model" in res.tables and "pls_structural" in res.tables
    cmp_ = res.tables["method_comparison"].set_index("id")
    cb = res.hypotheses.set_index("id")
    pl = res.pls.hypotheses.set_index("id")
    assert list(cmp_.index) == list(cb.index)
    np.testing.assert_allclose(cmp_["cb_beta"], cb["std_all"])
    np.testing.assert_allclose(cmp_["pls_beta"], pl.loc[cmp_.index, "est"].astype(float))
    for i, r in cmp_.iterrows():
        assert r["cb_supported"] == bool(cb.loc[i, "supported"])
        if pl.loc[i, "supported"] is None:
            assert r["pls_supported"] is None and r["agree"] is None
        else:
            assert r["agree"] == (bool(cb.loc[i, "supported"]) == bool(pl.loc[i, "supported"]))
    order = list(res.tables)
    assert order.index("hypothesis_tests") < order.index("pls_measurement") < order.index("method_comparison")
    # the cIPMA (a PLS-SEM analysis) joins the necessity hypotheses under method="both"
    assert "cipma" in res.tables and res.necessity.cipma


def test_catalogues_hold_the_same_keys():
    assert set(pls_text.EN) == set(pls_text.ZH)


def test_bad_method_options_raise_our_errors():
    with pytest.raises(ModelSpecificationError, match="method='x'"):
        analyze(RAW, "icaf", method="x")
    with pytest.raises(ModelSpecificationError, match="method='cb'"):
        analyze(RAW, "icaf", pls_options={"consistent": True})
    with pytest.raises(ModelSpecificationError, match="unknown key"):
        analyze(RAW, "icaf", method="pls", pls_options={"weighting": "path"})


def test_cli_pls_flags_need_a_pls_method(tmp_path):
    r = subprocess.run([sys.executable, "-m", "icaf_sem", "analyze", "-q", "icaf", "-d", str(RAW), "-o",
                        str(tmp_path / "o"), "--pls-consistent"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--method pls" in r.stderr


def test_cli_pls_writes_model_fit_and_fit_test(tmp_path):
    from icaf_sem import cli
    model = tmp_path / "m.lav"
    model.write_text("ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem60 ~ ind60\n")
    out = tmp_path / "o.json"
    rc = _quiet(cli.main, ["pls", "--model", str(model), "--data", str(FIX / "political_democracy.csv"),
                           "--fit-test", "40", "--seed", "2", "--json", str(out)])
    assert rc == 0
    js = json.loads(out.read_text())
    data = pd.read_csv(FIX / "political_democracy.csv")
    res = _quiet(icaf_sem.pls, model.read_text(), data)
    mf = res.model_fit.set_index("measure")
    assert js["model_fit"]["d_G"]["saturated"] == pytest.approx(mf.loc["d_G", "saturated"])
    ft = res.fit_test(draws=40, seed=2)
    assert [r["hi95"] for r in js["fit_test"]] == pytest.approx(ft["hi95"].tolist())
