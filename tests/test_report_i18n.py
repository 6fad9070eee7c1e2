"""The report in every format, in English and in Chinese, on the bundled example wave (issue 12).

One analysis (module-scoped, a small bootstrap) is rendered in both languages; the
tests read the written files back: table names, italic statistical symbols in the
Word header runs, APA numbers without a leading zero, full precision in Excel,
Chinese characters in the HTML and Word files, no missing-glyph warning in the
Chinese figures.
"""
from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
WAVE = ROOT / "icaf_sem" / "data" / "example_wave.csv"
QUEST = ROOT / "questionnaires" / "icaf.yaml"
TABLES = ["sample_flow", "sample_profile", "instrument", "item_descriptives", "multivariate_normality",
          "measurement_model", "discriminant_validity", "second_order", "model_fit", "model_comparison",
          "common_method_bias",
          "measurement_invariance", "r_squared", "hypothesis_tests", "indirect_effects", "modification_indices",
          "necessity_tests", "necessity_bottlenecks"]
SHOWN = ["sample_flow", "sample_profile", "instrument", "item_descriptives", "multivariate_normality",
         "measurement_model", "discriminant_validity", "second_order", "common_method_bias", "measurement_invariance",
         "model_fit", "model_comparison", "modification_indices", "r_squared", "hypothesis_tests", "indirect_effects",
         "necessity_tests", "necessity_bottlenecks"]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def analysis():
    from icaf_sem import analyze
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(WAVE, QUEST, bootstrap=100, seed=11, figures=False, invariance=["role"])


@pytest.fixture(scope="module")
def reports(analysis, tmp_path_factory):
    out = {}
    for lang in ("en", "zh"):
        folder = tmp_path_factory.mktemp(f"report_{lang}")
        analysis.in_language(lang).write(folder)
        out[lang] = folder
    return out


def test_tables_by_name_in_every_format(analysis, reports):
    assert list(analysis.tables) == SHOWN and sorted(TABLES) == sorted(SHOWN)
    for lang, folder in reports.items():
        for f in ("report.html", "report.docx", "tables.xlsx", "tables.tex", "results.json", "reproducibility.json"):
            assert (folder / f).is_file(), (lang, f)
        sheets = pd.ExcelFile(folder / "tables.xlsx").sheet_names
        assert sheets == ["contents"] + SHOWN
        html = (folder / "report.html").read_text(encoding="utf-8")
        for k in TABLES:
            assert f'<section id="{k}">' in html


def _docx(folder):
    from docx import Document
    return Document(str(folder / "report.docx"))


def test_docx_italic_symbols_in_header_runs(reports):
    doc = _docx(reports["en"])
    italic, upright = set(), set()
    for t in doc.tables:
        for cell in t.rows[0].cells:
            for run in cell.paragraphs[0].runs:
                (italic if run.italic else upright).add(run.text.strip())
    for sym in ("n", "M", "SD", "b", "SE", "z", "p", "df"):
        assert sym in italic, sym
    assert not {"M", "SD", "SE", "p", "df"} & upright
    # A4 by default
    sec = doc.sections[0]
    assert abs(sec.page_width.inches - 8.27) < 0.01 and abs(sec.page_height.inches - 11.69) < 0.01
    # header rows repeat on every page
    assert all(t.rows[0]._tr.trPr is not None and "tblHeader" in t.rows[0]._tr.trPr.xml for t in doc.tables)


def test_html_italic_headers_and_caption(reports):
    html = (reports["en"] / "report.html").read_text(encoding="utf-8")
    for sym in ("M", "SD", "b", "SE", "z", "p", "df", "n"):
        assert f"<th><em>{sym}</em></th>" in html, sym
    assert '<span class="num">Table 1</span><span class="ttl">Sample flow</span>' in html


def _column(df, header):
    return [str(v) for v in df[header].tolist() if str(v)]


def test_no_leading_zero_for_bounded_values(analysis):
    from icaf_sem.report.tables import display_frame
    tabs = {k: display_frame(t) for k, t in analysis.tables.items()}
    bounded = [("measurement_model", "\u03bb"), ("measurement_model", "\u03b1"), ("measurement_model", "CR"),
               ("measurement_model", "AVE"), ("measurement_model", "*p*"), ("hypothesis_tests", "\u03b2"),
               ("hypothesis_tests", "*p*"), ("indirect_effects", "\u03b2"), ("r_squared", "*R*\u00b2")]
    for key, col in bounded:
        vals = _column(tabs[key], col)
        assert vals, (key, col)
        assert not any(re.match(r"^[\u2212-]?0\.", v) for v in vals), (key, col, vals)
    fit = tabs["model_fit"]
    rmsea = fit[fit["Measure"].str.startswith("RMSEA")]["SEM"].iloc[0]
    assert re.fullmatch(r"\.\d{3} \[\.\d{3}, \.\d{3}\]", rmsea), rmsea
    assert ".000" not in " ".join(_column(tabs["hypothesis_tests"], "*p*"))
    assert "< .001" in _column(tabs["hypothesis_tests"], "*p*")
    upper = " ".join(tabs["discriminant_validity"].iloc[:, 1:].stack().astype(str))
    assert not re.search(r"(^|\s|\[)0\.", upper)


def test_xlsx_full_precision_titles_and_frozen_headers(analysis, reports):
    from openpyxl import load_workbook
    wb = load_workbook(reports["en"] / "tables.xlsx")
    ws = wb["hypothesis_tests"]
    assert ws["A1"].value == f"Table {SHOWN.index('hypothesis_tests') + 1}" and ws["A2"].value == "Hypothesis tests"
    assert ws.freeze_panes == "A5"
    heads = [c.value for c in ws[4]]
    assert "b" in heads and "SE" in heads and "p" in heads and "\u03b2" in heads
    col = heads.index("b") + 1
    got = [ws.cell(row=5 + i, column=col).value for i in range(len(analysis.hypotheses))]
    want = analysis.hypotheses["est"].to_numpy(float)
    np.testing.assert_allclose(np.array(got, float), want, rtol=1e-14)     # Excel keeps 15 significant digits
    assert np.abs(np.array(got, float) - np.round(want, 3)).max() > 1e-6   # not the rounded values
    assert ws.cell(row=5, column=col).number_format == "0.000"
    note = ws.cell(row=5 + len(analysis.hypotheses) + 1, column=1).value
    assert note.startswith("Note.") and "*" not in note


def test_chinese_report(reports, analysis):
    folder = reports["zh"]
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "<html lang='zh-Hans'>" in html
    assert "假设检验" in html and "测量模型" in html and "省级" in html and "数据使用方" in html
    assert "@font-face" in html           # the CJK subset travels with the file
    assert "本部门的核心业务依赖于其他部门的工作。" in html     # the questionnaire's Chinese wording
    doc = _docx(folder)
    text = "\n".join(p.text for p in doc.paragraphs) + "\n".join(
        c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert len(CJK.findall(text)) > 500
    assert "表 1" in text and "注：" in text and "是" in text
    ws_note = pd.read_excel(folder / "tables.xlsx", sheet_name="sample_profile", header=None)
    assert "省级" in ws_note.to_string()
    # the English report has none
    assert not CJK.search((reports["en"] / "tables.tex").read_text(encoding="utf-8"))


def test_chinese_category_labels_map_to_declared_values():
    from icaf_sem import load_questionnaire
    from icaf_sem.survey.cleaning import clean
    q = load_questionnaire(QUEST)
    raw = pd.read_csv(WAVE)
    raw["level"] = raw["level"].map({"province": "省级", "city": " 市级", "county": "County"}).fillna(raw["level"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = clean(raw, q)
    assert set(res.data["level"].dropna()) <= {"province", "city", "county"}
    assert (res.cell_fixes["action"] == "category label -> declared value").sum() > 0


def test_chinese_figures_have_every_glyph(analysis):
    import matplotlib.pyplot as plt

    from icaf_sem.report import figures as F
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figs = [F.likert_bars(analysis.data, analysis.questionnaire, language="zh"),
                F.path_diagram(analysis.sem, language="zh")]
        for fig in figs:
            fig.canvas.draw()
            plt.close(fig)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing[:3]


def test_bootstrap_keeps_ml_se_for_direct_paths(analysis):
    h = analysis.hypotheses
    p = analysis.sem.parameters
    direct = h[h["kind"] == "path"].iloc[0]
    row = p[(p["lhs"] == direct["lhs"]) & (p["op"] == "~") & (p["rhs"] == direct["rhs"])].iloc[0]
    assert row["se"] != row["boot_se"] and direct["se"] == row["se"]
    assert set(h.loc[h["kind"] == "mediation", "ci_method"]) == {"bootstrap bias-corrected"}
    assert set(h.loc[h["kind"] == "path", "ci_method"]) == {"normal"}
    note = analysis.tables["indirect_effects"].attrs["note"]
    assert "100 draws (seed 11)" in note
    rep = json.loads((Path(analysis.out) / "reproducibility.json").read_text()) if analysis.out else None
    assert rep is None or "--seed 11" in rep["reproduce"]


def test_seed_drawn_and_recorded_when_none_given():
    from icaf_sem import analyze
    from icaf_sem.report.export import reproducibility_record
    df = pd.read_csv(ROOT / "icaf_sem" / "data" / "example_wave_clean.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze(WAVE, QUEST, bootstrap=5, figures=False)
    assert isinstance(res.options["seed"], int)
    rec = reproducibility_record(res)
    assert f"--seed {res.options['seed']}" in rec["reproduce"] and "--bootstrap 5" in rec["reproduce"]
    assert len(df)


def test_language_is_validated():
    from icaf_sem import analyze
    from icaf_sem.errors import ModelSpecificationError
    with pytest.raises(ModelSpecificationError, match="language='fr'"):
        analyze(WAVE, QUEST, language="fr")


def test_one_sample_per_table_under_fiml(analysis):
    """alpha and HTMT come from the EM covariance of the CFA's N respondents (Enders 2003)."""
    from icaf_sem.measurement.reliability import cronbach_alpha
    from icaf_sem.measurement.saturated import alpha_from_cov
    rel = analysis.reliability
    assert rel.basis == "em" and rel.n == analysis.cfa.nobs == analysis.sem.nobs
    cov = analysis.cfa.sample_cov
    q = analysis.questionnaire
    got = rel.constructs.set_index("construct")["alpha"]
    for c, its in q.constructs.items():
        assert got[c] == pytest.approx(alpha_from_cov(cov, its)["alpha"], abs=1e-12)
    # the same formula on the complete-case ML covariance is psych::alpha's raw alpha
    cc = analysis.data[q.items].dropna()
    cc_cov = pd.DataFrame(np.cov(cc.to_numpy(float), rowvar=False, ddof=0), index=q.items, columns=q.items)
    ref = cronbach_alpha(cc, dict(q.constructs)).set_index("construct")["alpha"]
    for c, its in q.constructs.items():
        assert alpha_from_cov(cc_cov, its)["alpha"] == pytest.approx(ref[c], abs=1e-12)
    n = analysis.cfa.nobs
    for key in ("measurement_model", "discriminant_validity", "hypothesis_tests", "r_squared"):
        assert f"*N* = {n}" in analysis.tables[key].attrs["note"], key
    assert "EM" in analysis.tables["measurement_model"].attrs["note"]
    assert not any("complete cases" in w["message"] for w in analysis.warnings)


def test_method_bias_harman_and_vifs_against_independent_computations(analysis):
    from icaf_sem.measurement.method_bias import harman_single_factor
    from icaf_sem.report.tables import common_method_bias
    q = analysis.questionnaire
    cc = analysis.data[q.items].dropna()
    cov = pd.DataFrame(np.cov(cc.to_numpy(float), rowvar=False, ddof=0), index=q.items, columns=q.items)
    t = common_method_bias(cov, q, len(cc))
    harman = harman_single_factor(cc)     # psych::principal's first component
    assert t["value"].iloc[0] == pytest.approx(100 * float(harman["variance_explained"].iloc[0]), rel=1e-10)
    # VIF of each unit-weighted composite: 1 / (1 - R^2) of its OLS regression on the others
    scores = pd.DataFrame({c: cc[its].sum(axis=1) for c, its in q.constructs.items()})
    vifs = t[t["value"].notna()].iloc[-len(scores.columns):].set_index("statistic")["value"]
    for c in scores:
        X = np.column_stack([np.ones(len(scores)), scores.drop(columns=c).to_numpy()])
        y = scores[c].to_numpy()
        resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
        r2 = 1 - resid.var() / y.var()
        assert vifs[c] == pytest.approx(1 / (1 - r2), rel=1e-9)


def test_second_order_and_invariance_tables(analysis):
    so = analysis.tables["second_order"]
    cr = so[so["construct"] == "CR"]
    lam = cr["loading"].to_numpy()
    assert cr["composite_reliability"].iloc[0] == pytest.approx(lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam ** 2).sum()))
    assert cr["ave"].iloc[0] == pytest.approx((lam ** 2).mean())
    fit = analysis.tables["model_fit"]
    assert "cfa2" in fit.columns and fit["cfa2"].notna().all()
    inv = analysis.tables["measurement_invariance"]
    assert inv["step"].tolist() == ["configural", "metric", "scalar"]
    assert "Provider 99" in inv.attrs["note"]       # group sizes under the questionnaire's category names
    mi = analysis.tables["modification_indices"]
    assert len(mi) == 10 and mi["mi"].is_monotonic_decreasing


def test_summary_in_lavaan_layout_and_html_reprs(analysis):
    s = analysis.sem.summary()
    assert repr(s) == str(s)                       # shown as text when left bare in a notebook
    order = ["Model Test User Model:", "User Model versus Baseline Model:", "Root Mean Square Error of Approximation:",
             "Latent Variables:", "Regressions:", "Covariances:", "Variances:", "Defined Parameters:"]
    pos = [s.index(k) for k in order]
    assert pos == sorted(pos)
    first = next(line for line in s.splitlines() if line.startswith("    bc1"))
    assert first.split()[1] == "1.000" and len(first.split()) == 4     # fixed loading: est, std.lv, std.all only
    for obj in (analysis.reliability, analysis.sem, analysis.extras["invariance"]["role"], analysis):
        h = obj._repr_html_()
        assert "<style>" in h and "caption" in h
    assert 'class="warn"' in analysis.reliability._repr_html_() or not analysis.reliability.warnings


def test_both_languages_put_the_chinese_wording_beside_the_english(analysis):
    both = analysis.in_language("both")
    inst = both.tables["instrument"]
    assert {"wording", "wording_zh"} <= set(inst.columns)
    row = inst[inst["item"] == "bc1"].iloc[0]
    assert row["wording_zh"] == "本部门的核心业务依赖于其他部门的工作。" and not CJK.search(row["wording"])
    assert "省级" in " ".join(both.tables["sample_profile"]["category"]) and "Province" in " ".join(
        both.tables["sample_profile"]["category"])
    assert both.tables["hypothesis_tests"].attrs["title"] == "Hypothesis tests"
    assert analysis.tables["hypothesis_tests"].attrs["title"] == "Hypothesis tests"    # the original is untouched


# --------------------------------------------------------------------------- reviewer's read (issue 12, part 2)
SECOND_ORDER = json.loads((ROOT / "tests" / "fixtures" / "report" / "second_order_example_wave.json")
                          .read_text(encoding="utf-8"))


def test_second_order_omega_cr_ave_match_semtools(analysis):
    """compRelSEM(fit, higher = c("CR", "DC")) and reliabilityL2 on the same FIML fit (make_second_order.R)."""
    from icaf_sem.measurement.higher_order import second_order_reliability
    cfa2 = analysis.extras["cfa2"]
    assert cfa2.nobs == SECOND_ORDER["nobs"]
    for k in ("chisq", "cfi", "rmsea", "srmr"):
        assert cfa2.fit_measures[k] == pytest.approx(SECOND_ORDER["fit"][k], rel=1e-5), k
    got = second_order_reliability(cfa2).set_index("construct")
    for h in ("CR", "DC"):
        ref = SECOND_ORDER["reliabilityL2"][h]
        assert got.at[h, "omega"] == pytest.approx(SECOND_ORDER["compRelSEM"][h], abs=2e-5)
        assert got.at[h, "omega_l1"] == pytest.approx(ref["omegaL1"], abs=2e-5)
        assert got.at[h, "omega_l2"] == pytest.approx(ref["omegaL2"], abs=2e-5)
        assert got.at[h, "partial_omega_l1"] == pytest.approx(ref["partialOmegaL1"], abs=2e-5)
        lam = np.array([r["est.std"] for r in SECOND_ORDER["loadings"] if r["lhs"] == h])
        assert got.at[h, "composite_reliability"] == pytest.approx(
            lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam ** 2).sum()), abs=2e-5)
        assert got.at[h, "ave"] == pytest.approx((lam ** 2).mean(), abs=2e-5)
    # in the tables: the second-order table and the reliability rows of the measurement model
    so = analysis.tables["second_order"].set_index("component")
    assert so.at["BC", "omega"] == pytest.approx(got.at["CR", "omega"])
    assert so.at["DQ", "omega_l2"] == pytest.approx(got.at["DC", "omega_l2"])
    note = analysis.tables["second_order"].attrs["note"]
    assert "\u03c7\u00b2(506) = 575.12" in note and "first-order CFA: \u03c7\u00b2(" in note
    mm = analysis.tables["measurement_model"]
    rows = mm[mm["construct"] == "CR"]
    assert rows["omega"].iloc[0] == pytest.approx(got.at["CR", "omega"]) and rows["omega"].iloc[1:].isna().all()
    assert mm.loc[mm["construct"] == "BC", "omega"].iloc[0] == pytest.approx(
        analysis.reliability.constructs.set_index("construct").at["BC", "omega"])


def _centerline(arrow):
    """Points along the drawn line and head of an arrow patch, in display coordinates (every Bezier segment)."""
    path = arrow.get_path().transformed(arrow.get_transform())
    pts = [seg.point_at_t(np.linspace(0, 1, 60)) for seg, _ in path.iter_bezier()]
    return np.vstack(pts)


def _no_collisions(fig):
    """Every placed label's box against every other label, node and line (its own line excepted)."""
    from matplotlib.patches import Ellipse, FancyArrowPatch, Rectangle
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    labels = fig._icaf_labels
    assert labels and fig._icaf_crowded == 0
    boxes = [t.get_bbox_patch().get_window_extent(r) for t, _ in labels]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    nodes = [p for p in ax.patches if isinstance(p, (Ellipse, Rectangle))]
    keys = [k for _, k in labels]
    assert len(arrows) == len(labels)        # one label per line, in the order the lines were drawn
    for i, b in enumerate(boxes):
        for j, c in enumerate(boxes):
            if i < j:
                assert not b.overlaps(c), (labels[i][0].get_text(), labels[j][0].get_text())
        for a, key in zip(arrows, keys):
            if key == keys[i]:
                continue
            pts = _centerline(a)
            inside = (pts[:, 0] > b.x0) & (pts[:, 0] < b.x1) & (pts[:, 1] > b.y0) & (pts[:, 1] < b.y1)
            assert not inside.any(), (labels[i][0].get_text(), key)
        for n in nodes:
            assert not n.get_path().transformed(n.get_transform()).intersects_bbox(b), labels[i][0].get_text()


def test_path_diagram_labels_do_not_collide(analysis):
    import matplotlib.pyplot as plt

    from icaf_sem.report import figures as F
    for lang in ("en", "zh"):
        fig = F.path_diagram(analysis.sem, language=lang)
        _no_collisions(fig)
        if lang == "en":    # the check sees a label moved onto another line
            from matplotlib.patches import FancyArrowPatch
            arrows = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
            mid = fig.axes[0].transData.inverted().transform(_centerline(arrows[-1])[30])
            fig._icaf_labels[0][0].set_position(mid)
            with pytest.raises(AssertionError):
                _no_collisions(fig)
        plt.close(fig)
    fig = F.path_diagram(analysis.extras["cfa2"], measurement=True)     # the measurement model: items and loadings
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert {"bc1", "pw3", "CR", "DC"} <= set(texts)
    p = analysis.extras["cfa2"].parameters
    lam = p[(p["op"] == "=~") & (p["lhs"] == "BC") & (p["rhs"] == "bc2")].iloc[0]
    assert any(t.startswith(f"{lam['std_all']:.2f}".replace("0.", ".")) for t in texts)
    _no_collisions(fig)
    plt.close(fig)


def _visible_text_html(path):
    import html as _html
    s = Path(path).read_text(encoding="utf-8")
    s = re.sub(r"<style>.*?</style>", "", s, flags=re.S)
    s = re.sub(r'(src|alt)="[^"]*"', "", s)
    return _html.unescape(re.sub(r"<[^>]+>", "\n", s))


# English left in a Chinese report only as references, codes and lavaan/semTools names
# references (author lists) and construct codes are not sentences
_ALLOWED = re.compile(r"et al|van der|^[A-Z]{1,4}(, [A-Z]{1,4})+$|^[A-Z][a-z]+, [A-Z][a-z]+ & [A-Z]"
                      r"|^[A-Z][a-z]+(, [A-Z][a-z]+)+$")


def _english_sentences(text):
    out = []
    for line in text.split("\n"):
        for m in re.finditer(r"[A-Za-z][A-Za-z'\u2019\-]+(?:[ ,]+[A-Za-z][A-Za-z'\u2019\-]+){2,}", line):
            if not _ALLOWED.search(m.group(0)):
                out.append(m.group(0))
    return out


def test_chinese_report_has_no_english_sentences(analysis, reports):
    from icaf_sem.report.i18n.messages import UNTRANSLATED
    text = _visible_text_html(reports["zh"] / "report.html")
    assert not _english_sentences(text), _english_sentences(text)[:5]
    assert UNTRANSLATED not in text
    assert "剔除作答过快者" in text and "最终分析样本" in text and "直线作答：10" in text      # cleaning steps, reasons
    assert "ICAF 政府部门跨部门数据共享调查" in text                                      # the title
    assert "信度与效度" in text and "Heywood 情形" in text                                 # warnings
    doc = _docx(reports["zh"])
    dtext = "\n".join(p.text for p in doc.paragraphs) + "\n" + "\n".join(
        c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert not _english_sentences(dtext), _english_sentences(dtext)[:5]
    # the sample profile names the categories in Chinese, none in English
    prof = analysis.in_language("zh").tables["sample_profile"]
    assert set(prof["category"]) == {"省级", "市级", "县级", "数据提供方", "数据使用方", "既提供又使用"}


def test_messages_translate_by_pattern():
    from icaf_sem.report.i18n.messages import UNTRANSLATED, translate
    assert translate("cells recoded (missing code -> empty: 65, out of range -> empty: 30)", "zh") == \
        "单元格重新编码（缺失代码 \u2192 空值：65，超出量表范围 \u2192 空值：30）"
    assert translate("constructs 'PR' and 'PC': HTMT = 0.912 is not below 0.85 (Henseler, Ringle & Sarstedt 2015)",
                     "zh").startswith("构念 PR 与 PC：HTMT = 0.912，未低于 0.85")
    assert translate("12 of 5000 bootstrap draws did not converge and were left out of the intervals", "zh") == \
        "5000 次 Bootstrap 抽样中有 12 次未收敛，未计入置信区间。"
    assert translate("speeders removed", "en") == "speeders removed"
    assert translate("a message nobody wrote a pattern for", "zh") == UNTRANSLATED + "a message nobody wrote a pattern for"


def test_docx_decimal_tabs_captions_page_size_and_repeated_headers(analysis, reports, tmp_path):
    from docx.enum.text import WD_TAB_ALIGNMENT

    from icaf_sem.errors import ModelSpecificationError
    from icaf_sem.report.export import write_docx
    doc = _docx(reports["en"])
    hyp = doc.tables[SHOWN.index("hypothesis_tests")]
    heads = [c.text for c in hyp.rows[0].cells]
    for col in ("b", "SE", "\u03b2", "p"):
        cell = hyp.rows[1].cells[heads.index(col)]
        stops = list(cell.paragraphs[0].paragraph_format.tab_stops)
        assert len(stops) == 1 and stops[0].alignment == WD_TAB_ALIGNMENT.DECIMAL, col
        assert "\t" not in cell.text          # Word aligns a cell on its decimal stop without a tab character
    assert not list(hyp.rows[1].cells[heads.index("Path")].paragraphs[0].paragraph_format.tab_stops)
    # APA 7 captions: "Table k" in bold, then the title in italics on its own line
    paras = doc.paragraphs
    for i, p in enumerate(paras):
        if p.text == f"Table {SHOWN.index('r_squared') + 1}":
            assert all(r.bold for r in p.runs)
            nxt = paras[i + 1]
            assert nxt.text == analysis.tables["r_squared"].attrs["title"] and all(r.italic for r in nxt.runs)
            break
    else:
        raise AssertionError("no caption of the R\u00b2 table")
    # a long table breaks across pages: its rows may split between pages, the header repeats
    desc = doc.tables[SHOWN.index("item_descriptives")]
    assert "tblHeader" in desc.rows[0]._tr.xml and "cantSplit" not in desc._tbl.xml
    # body cells carry italic symbols too (CMB table: Δdf, p)
    cmb = doc.tables[SHOWN.index("common_method_bias")]
    italic = {r.text for row in cmb.rows[1:] for c in row.cells for r in c.paragraphs[0].runs if r.italic}
    assert {"df", "p"} <= italic
    # Letter on request
    write_docx(analysis, tmp_path / "letter.docx", {}, page_size="letter")
    from docx import Document
    sec = Document(str(tmp_path / "letter.docx")).sections[0]
    assert abs(sec.page_width.inches - 8.5) < 0.01 and abs(sec.page_height.inches - 11.0) < 0.01
    with pytest.raises(ModelSpecificationError, match="page_size='legal'"):
        write_docx(analysis, tmp_path / "x.docx", {}, page_size="legal")


def test_xlsx_number_formats_keep_apa_and_full_precision(analysis, reports):
    from openpyxl import load_workbook
    for lang in ("en", "zh"):
        wb = load_workbook(reports[lang] / "tables.xlsx")
        assert wb.sheetnames == ["contents"] + SHOWN
        ws = wb["hypothesis_tests"]
        heads = [c.value for c in ws[4]]
        pcol, bcol = heads.index("p") + 1, heads.index("\u03b2") + 1
        p = [ws.cell(row=5 + i, column=pcol) for i in range(len(analysis.hypotheses))]
        assert all(c.number_format == '[<0.001]"< .001";.000' for c in p)
        np.testing.assert_allclose([c.value for c in p], analysis.hypotheses["pvalue"].to_numpy(float), rtol=1e-14)
        assert ws.cell(row=5, column=bcol).number_format == ".000"
        for name in wb.sheetnames[1:]:
            sh = wb[name]
            assert sh.freeze_panes == "A5" and sh["A1"].value and sh["A2"].value and sh["A2"].font.i
        contents = [c.value for c in wb["contents"][1]]
        assert contents[0] == ("工作表" if lang == "zh" else "Sheet")
        cmb = wb["common_method_bias"]
        assert "\u0394df" in [c.value for c in cmb["B"]]        # no markup stars in Excel
    rich = load_workbook(reports["en"] / "tables.xlsx", rich_text=True)["item_descriptives"]
    head = {str(c.value): c.value for c in rich[4]}
    sd = head["SD"]                                               # *SD*: an italic run in the bold header
    assert all(block.font.i and block.font.b for block in sd)
    assert isinstance(head["Item"], str)


def test_reviewer_tables_in_every_format_and_language(reports):
    """MI with EPC, R², full-collinearity VIFs, the instrument and the second-order table, everywhere."""
    from docx import Document
    for lang, folder in reports.items():
        html = (folder / "report.html").read_text(encoding="utf-8")
        tex = (folder / "tables.tex").read_text(encoding="utf-8")
        doc = Document(str(folder / "report.docx"))
        heads = [" ".join(c.text for c in t.rows[0].cells) for t in doc.tables]
        for key, head in (("modification_indices", "EPC"), ("r_squared", "R\u00b2"), ("instrument", "R"),
                          ("second_order", "\u03c9_L2"), ("common_method_bias", "VIF")):
            assert f'<section id="{key}">' in html and f"\\label{{tab:{key}}}" in tex, (lang, key)
            t = doc.tables[SHOWN.index(key)]
            body = " ".join(c.text for r in t.rows for c in r.cells)
            assert head in heads[SHOWN.index(key)] or head in body, (lang, key)
        assert "Kock" in html and "<em>R</em>\u00b2" in html and "<em>df</em>" in html
        # no leading zero in the bounded columns of the docx either
        mm = doc.tables[SHOWN.index("measurement_model")]
        lam = [r.cells[6].text for r in mm.rows[1:] if r.cells[6].text]
        assert lam and not any(v.startswith(("0.", "\u22120.")) for v in lam)
