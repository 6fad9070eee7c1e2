"""APA tables, figures and the report files, on the bundled example wave (listwise, to keep it quick)."""
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icaf_sem import analyze
from icaf_sem.report import figures as F
from icaf_sem.report.tables import display_frame, format_value

EXAMPLE = Path("icaf_sem/data/example_wave.csv")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    res = analyze(EXAMPLE, "questionnaires/icaf.yaml", missing="listwise", out=out, bootstrap=0)
    return res, out


# --------------------------------------------------------------------------- formatting
def test_format_value_apa():
    assert format_value(0.0004, "p") == "< .001"
    assert format_value(0.0213, "p") == ".021"
    assert format_value(0.5, "r3") == ".500"
    assert format_value(-0.25, "r2") == "-.25"
    assert format_value(1.2345, "f2") == "1.23"
    assert format_value(-0.0001, "f3") == "0.000"
    assert format_value(math.nan, "f3") == ""
    assert format_value(None, "p") == ""
    assert format_value(12.0, "int") == "12"
    assert format_value(True, "bool") == "Yes"


def test_display_frame_merges_intervals_and_relabels():
    df = pd.DataFrame({"est": [0.123, -0.5], "lo": [0.01, -0.9], "hi": [0.2, -0.1], "p": [0.2, 0.0001]})
    df.attrs = {"labels": {"est": "b", "p": "p"}, "formats": {"p": "p"}, "ci_pairs": [("lo", "hi", "95% CI")]}
    d = display_frame(df)
    assert list(d.columns) == ["b", "95% CI", "p"]
    assert d.iloc[1].tolist() == ["\u22120.500", "[\u22120.900, \u22120.100]", "< .001"]
    assert display_frame(df, minus="-").iloc[1, 0] == "-0.500"
    assert df["est"].tolist() == [0.123, -0.5]          # the numbers themselves are never rounded


# --------------------------------------------------------------------------- tables
def test_sample_tables(run):
    res, _ = run
    flow = res.tables["sample_flow"]
    assert flow["n_remaining"].tolist() == res.cleaning.flow["n_remaining"].astype(float).tolist()
    prof = res.tables["sample_profile"]
    for var, block in prof.groupby("variable"):
        assert block["percent"].sum() == pytest.approx(100.0)
        assert block["n"].sum() == len(res.data)
    # the questionnaire's value_labels name the categories in the report's language
    assert set(prof["category"]) >= {"Province", "City", "County", "Provider", "User", "Both"}


def test_item_descriptives_table(run):
    res, _ = run
    t = res.tables["item_descriptives"]
    q = res.questionnaire
    assert t["item"].tolist() == q.items
    x = pd.to_numeric(res.data["bc1"], errors="coerce").dropna()
    row = t.set_index("item").loc["bc1"]
    assert row["mean"] == pytest.approx(x.mean())
    assert row["sd"] == pytest.approx(x.std(ddof=1))
    assert row["construct"] == "BC"
    assert (t["normal_ok"] == ((t["skew"].abs() < 2) & (t["kurtosis"].abs() < 7))).all()
    mv = res.tables["multivariate_normality"]
    assert mv["pvalue"].between(0, 1).all()


def test_measurement_model_table(run):
    res, _ = run
    t = res.tables["measurement_model"]
    cfa = res.cfa.parameters
    loads = cfa[cfa["op"] == "=~"]
    first = t[t["construct"].isin(res.questionnaire.constructs)]
    assert len(first) == len(res.questionnaire.items)
    np.testing.assert_allclose(first["loading"].to_numpy(), loads["std_all"].to_numpy())
    rel = res.reliability.constructs.set_index("construct")
    heads = first.groupby("construct", sort=False).head(1).set_index("construct")
    for c in res.questionnaire.constructs:
        assert heads.loc[c, "alpha"] == pytest.approx(rel.loc[c, "alpha"])
        assert heads.loc[c, "composite_reliability"] == pytest.approx(rel.loc[c, "composite_reliability"])
        assert heads.loc[c, "ave"] == pytest.approx(rel.loc[c, "ave"])
    # construct statistics only on the first row of each construct (NaN, never '-')
    assert first.groupby("construct")["alpha"].apply(lambda s: s.iloc[1:].isna().all()).all()
    # second-order loadings from the structural model
    second = t[t["construct"].isin(["CR", "DC"])]
    assert set(second["item"]) == {"BC", "CE", "CS", "DQ", "PM", "AS"}


def test_discriminant_validity_table(run):
    res, _ = run
    t = res.tables["discriminant_validity"].set_index("construct")
    rel = res.reliability
    for c in t.index:
        assert t.loc[c, c] == pytest.approx(math.sqrt(rel.constructs.set_index("construct").loc[c, "ave"]))
    names = list(t.index)
    a, b = names[0], names[1]
    assert t.loc[b, a] == pytest.approx(rel.fornell_larcker.loc[b, a])     # below: latent correlation
    assert t.loc[a, b] == pytest.approx(rel.htmt.loc[a, b])                # above: HTMT


def test_model_fit_table(run):
    res, _ = run
    t = res.tables["model_fit"].set_index("measure")
    fm = res.sem.fit_measures
    assert t.loc["CFI", "sem"] == fm["cfi"]
    assert t.loc["RMSEA [90% CI]", "cfa"] == res.cfa.fit_measures["rmsea"]
    assert t.loc["RMSEA [90% CI]", "cfa_ci_lower"] == res.cfa.fit_measures["rmsea.ci.lower"]
    assert "Kline" not in str(t.loc["\u03c7\u00b2/*df*", "source"])      # Kline (2016) argues against the rule
    assert t.loc["SRMR", "sem_ok"] == (fm["srmr"] <= 0.08)
    assert t.loc["CFI", "sem_ok"] == (fm["cfi"] >= 0.95)
    assert "Hu & Bentler (1999)" in t.loc["TLI", "source"]
    assert "Hu & Bentler" in res.tables["model_fit"].attrs["note"]


def test_hypothesis_and_indirect_tables(run):
    res, _ = run
    h = res.tables["hypothesis_tests"]
    assert h["id"].tolist() == [x.id for x in res.questionnaire.hypotheses]
    assert h["supported"].tolist() == res.hypotheses["supported"].tolist()
    assert "CR \u2192 EB" in h["path"].tolist()
    ind = res.tables["indirect_effects"]
    assert ind["id"].tolist()[:6] == ["H7a", "H7b", "H7c", "H8a", "H8b", "H8c"]
    assert ind["id"].tolist()[6:] == ["total", "total"]
    assert ind["path"].tolist()[6:] == ["CR \u2192 PW", "DC \u2192 PW"]
    assert set(ind["mediation_type"].dropna()) <= {"indirect-only", "complementary", "competitive", "direct-only",
                                                   "no-effect"}
    assert "boot_pct_lower" not in ind.columns         # no bootstrap in this run


# --------------------------------------------------------------------------- files
def test_docx_reopens_with_apa_tables(run):
    from docx import Document
    res, out = run
    doc = Document(str(out / "report.docx"))
    assert len(doc.tables) == len(res.tables)
    texts = [p.text for p in doc.paragraphs]
    assert "Table 1" in texts and "Figure 1" in texts
    hyp = doc.tables[list(res.tables).index("hypothesis_tests")]
    assert hyp.rows[0].cells[0].text == "Hypothesis"
    assert hyp.rows[1].cells[0].text == "H1a"
    assert len(hyp.rows) == len(res.hypotheses) + 1
    # APA rules: a top border on the header cells, no vertical grid
    xml = hyp._tbl.xml
    assert "w:top" in xml and "w:insideV" not in xml
    assert len(doc.inline_shapes) == 6   # + the measurement model and the NCA scatter plots (no cIPMA: method cb)


def test_xlsx_one_sheet_per_table(run):
    res, out = run
    book = pd.read_excel(out / "tables.xlsx", sheet_name=None)
    assert list(book) == ["contents"] + [k[:31] for k in res.tables]
    hyp = pd.read_excel(out / "tables.xlsx", sheet_name="hypothesis_tests", header=3)
    n = len(res.tables["hypothesis_tests"])
    np.testing.assert_allclose(hyp["\u03b2"].to_numpy()[:n], res.tables["hypothesis_tests"]["std_all"], rtol=1e-13)
    assert book["contents"]["Title"].tolist()[0] == "Sample flow"


def test_latex_booktabs(run):
    res, out = run
    tex = (out / "tables.tex").read_text()
    assert tex.count(r"\begin{table}") == len(res.tables)
    assert tex.count(r"\toprule") == tex.count(r"\bottomrule") == len(res.tables)
    assert r"$\beta$" in tex and r"$\lambda$" in tex
    body = re.sub(r"\\label\{[^}]*\}", "", tex)
    assert not re.search(r"(?<!\\)_", body.split("\n", 2)[2]), "unescaped underscore"


def test_html_self_contained(run):
    res, out = run
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 6     # with the measurement-model diagram (no cIPMA: method cb)
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert html.count('<table class="apa">') == len(res.tables)
    assert html.index("warnings") < html.index("Table 1")
    assert res._repr_html_().count("<table") == len(res.tables)


def test_results_json_lists_tables(run):
    res, out = run
    js = json.loads((out / "results.json").read_text())
    assert set(js["tables"]) == set(res.tables)
    assert js["options"]["missing"] == "listwise"


# --------------------------------------------------------------------------- figures
def test_path_diagram_shows_coefficients_and_r2(run, tmp_path):
    res, _ = run
    fig = F.path_diagram(res.sem)
    texts = [t.get_text() for t in fig.axes[0].texts]
    r2 = res.sem.r2["PW"]
    assert any(t == f"R\u00b2 = {r2:.2f}".replace("0.", ".") for t in texts)
    p = res.parameters
    b = p[(p["op"] == "~") & (p["lhs"] == "EB") & (p["rhs"] == "CR")].iloc[0]
    assert any(t.startswith(f"{b['std_all']:.2f}".replace("0.", ".")) and t.endswith(F.stars(b["pvalue"]))
               for t in texts)
    # exogenous constructs left of the outcome
    xs = {t.get_text().split("\n")[0]: t.get_position()[0] for t in fig.axes[0].texts}
    assert xs["CR"] < xs["EB"] < xs["PW"]
    paths = F.save_figure(fig, tmp_path, "pd")
    assert [p.suffix for p in paths] == [".png", ".svg"]


def test_stars():
    assert F.stars(0.0001) == "***" and F.stars(0.004) == "**" and F.stars(0.03) == "*" and F.stars(0.2) == ""
    assert F.stars(float("nan")) == ""


def test_bootstrap_intervals_reach_the_tables(run):
    """A small bootstrap (100 draws, listwise; fewer are reported unavailable): percentile and BC intervals
    in the hypotheses and the tables."""
    import warnings
    from icaf_sem import fit
    from icaf_sem.hypotheses import defined_effects, test_hypotheses
    from icaf_sem.report import tables as T

    res, _ = run
    q = res.questionnaire
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sem = fit(q.model_syntax(), res.data, missing="listwise", bootstrap=100, seed=5)
    h = test_hypotheses(sem, q)
    med = h[h["kind"] == "mediation"]
    assert med[["boot_pct_lower", "boot_pct_upper", "boot_bc_lower", "boot_bc_upper"]].notna().all().all()
    assert (med["ci_method"] == "bootstrap bias-corrected").all()
    assert (med["boot_pct_lower"] < med["est"]).all() and (med["est"] < med["boot_pct_upper"]).all()
    ind = T.indirect_effects(h, defined_effects(sem, q))
    d = display_frame(ind)
    assert {"95% CI (percentile)", "95% CI (BC)", "\u03b2 95% CI (BC)"} <= set(d.columns)
    assert "Delta 95% CI" not in d.columns and "Mediation" not in d.columns      # kept in the DataFrame only
    assert {"ci_lower", "mediation_class"} <= set(ind.columns)
    std = med[["std_boot_pct_lower", "std_boot_pct_upper", "std_boot_bc_lower", "std_boot_bc_upper"]]
    assert std.notna().all().all()
    assert (med["std_boot_pct_lower"] < med["std_boot_pct_upper"]).all()
    assert d["95% CI (BC)"].iloc[0].startswith("[")
    again = fit(q.model_syntax(), res.data, missing="listwise", bootstrap=100, seed=5)
    np.testing.assert_array_equal(test_hypotheses(again, q)["boot_bc_lower"], h["boot_bc_lower"])


def test_standardized_bootstrap_uses_each_draws_implied_sds(run):
    """Standardizing a draw equal to the estimates gives lavaan's std.all of the := effect."""
    from types import SimpleNamespace
    from icaf_sem.hypotheses import standardized_bootstrap

    res, _ = run
    sem = res.sem
    theta = sem._core.theta
    p = sem.parameters
    names = p.loc[p["op"] == ":=", "lhs"].tolist()
    est = p.loc[p["op"] == ":=", "est"].to_numpy()
    fake = SimpleNamespace(draws=np.vstack([theta, theta, theta]), defined=np.vstack([est, est, est]),
                           def_names=names)
    obj = SimpleNamespace(boot=fake, _core=sem._core)
    for name, (x, y) in {"ind_cr_eb": ("CR", "PW"), "ind_dc_pc": ("DC", "PW"), "total_cr": ("CR", "PW")}.items():
        std_all = p.loc[(p["op"] == ":=") & (p["lhs"] == name), "std_all"].iloc[0]
        out = standardized_bootstrap(obj, x, y, name, std_all)
        assert out["std_boot_pct_lower"] == pytest.approx(std_all, abs=1e-12)
        assert out["std_boot_pct_upper"] == pytest.approx(std_all, abs=1e-12)
    assert standardized_bootstrap(SimpleNamespace(boot=None, _core=None), "CR", "PW", "ind_cr_eb", 0.1) == {}
