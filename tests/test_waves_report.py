"""The comparison of survey waves as a report: APA tables in en/zh, the compare-waves folder, the section of
the main report (analyze(compare_with=...)), progress lines, and the reuse between fits (same numbers).

The numbers themselves are pinned to lavaan in test_compare_waves.py and test_invariance.py; here the
tables must show them as the rest of the report does, and the faster paths must give the same numbers.
"""
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem._progress import StageProgress
from icaf_sem.report.tables import display_frame
from icaf_sem.report.waves import WAVE_TABLES, wave_tables
from icaf_sem.waves import compare_waves

EXAMPLE = Path(icaf_sem.__file__).parent / "data" / "example_wave.csv"
STACKED = Path(__file__).parent / "fixtures" / "multigroup" / "waves_stacked.csv"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def q():
    return icaf_sem.load_questionnaire("icaf")


@pytest.fixture(scope="module")
def run(q):
    """Two waves (scalar invariance fails, so partial scalar invariance and the score tests run too)."""
    messages = []
    w2 = icaf_sem.simulate_wave(q, n=300, seed=7, wave="wave2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = compare_waves(q, {"2023": EXAMPLE, "2024": w2}, missing="listwise", progress=messages.append)
    return cmp, messages


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_wave_tables_are_formatted_like_the_report(run, lang):
    cmp, _ = run
    tabs = wave_tables(cmp, lang)
    assert list(tabs) == WAVE_TABLES
    yes_no = {"en": {"Yes", "No", ""}, "zh": {"是", "否", ""}}[lang]
    for key, t in tabs.items():
        assert t.attrs["key"] == key and t.attrs["title"] and t.attrs["note"]
        if lang == "zh":
            assert CJK.search(t.attrs["title"]) and CJK.search(t.attrs["note"])
        d = display_frame(t)
        cells = " ".join(d.astype(str).to_numpy().ravel())
        assert "True" not in cells and "False" not in cells and "nan" not in cells
    inv = display_frame(tabs["wave_invariance"])
    heads = list(inv.columns)
    assert "*df*" in heads and "\u0394*df*" in heads and any(h.startswith("*p*") for h in heads)
    assert list(inv["*df*"]) == [str(int(v)) for v in cmp.invariance.table["df"]]      # 964, not 964.000
    assert all(re.fullmatch(r"\d+", v) for v in inv["\u0394*df*"][1:]) and inv["\u0394*df*"][0] == ""
    for col in ("CFI", "SRMR", "\u0394CFI"):
        assert not any(v.lstrip("\u2212").startswith("0.") for v in inv[col]), col          # .986, not 0.986
    assert re.fullmatch(r"\.\d{3} \[\.\d{3}, \.\d{3}\]", inv["RMSEA [90% CI]"][1])       # .012 [.000, .019]
    assert set(inv.iloc[:, -1]) <= yes_no and inv.iloc[0, -1] == ""                       # baseline: no verdict
    paths = display_frame(tabs["wave_path_equality"])
    assert set(paths.iloc[:, -1]) <= yes_no
    beta = [c for c in paths.columns if c.startswith("\u03b2")]
    assert len(beta) == 2 and not any(v.lstrip("\u2212").startswith("0.") for c in beta for v in paths[c])
    assert all(v == "< .001" or v.startswith((".", "1.000")) for v in paths["*p*"])
    # numbers unrounded in the frame itself
    t = tabs["wave_path_equality"]
    assert t["delta_chisq"].tolist() == cmp.paths["delta_chisq"].tolist()


def test_compare_waves_folder_en_and_zh(run, tmp_path):
    from docx import Document
    from openpyxl import load_workbook
    cmp, _ = run
    for lang in ("en", "zh"):
        out = tmp_path / lang
        files = {p.relative_to(out).as_posix() for p in cmp.write(out, language=lang) and out.rglob("*")
                 if p.is_file()}
        assert {"report.html", "report.docx", "tables.xlsx", "tables.tex", "compare_waves.json",
                "figures/paths_by_wave.png", "invariance.csv"} <= files
        html = (out / "report.html").read_text(encoding="utf-8")
        word = {"en": "Table", "zh": "表"}[lang]
        for k in range(1, 5):
            assert f'<span class="num">{word} {k}</span>' in html
        assert "<th><em>df</em></th>" in html and "True" not in html and "False" not in html
        doc = Document(str(out / "report.docx"))
        italic = {r.text for tb in doc.tables for c in tb.rows[0].cells for p in c.paragraphs for r in p.runs
                  if r.italic}
        assert {"df", "p"} <= italic
        if lang == "zh":
            assert CJK.search(html) and any(CJK.search(p.text) for p in doc.paragraphs)
        wb = load_workbook(out / "tables.xlsx")
        ws = wb["wave_invariance"]
        heads = [c.value for c in ws[4]]
        assert {"en": "RMSEA 90% CI lower", "zh": "RMSEA 90% CI 下限"}[lang] in heads and "df" in heads
        col = heads.index({"en": "p (\u0394\u03c7\u00b2)", "zh": "p\uff08\u0394\u03c7\u00b2\uff09"}[lang]) + 1
        cell = ws.cell(row=6, column=col)
        # full precision (openpyxl keeps 16 significant digits), shown with a number format
        assert cell.value == pytest.approx(cmp.invariance.table["delta_pvalue"][1], rel=1e-14)
        assert cell.number_format == '[<0.001]"< .001";.000'      # APA: no leading zero, "< .001"
        assert ws.cell(row=5, column=heads.index("df") + 1).value == int(cmp.invariance.table["df"][0])
        tex = (out / "tables.tex").read_text(encoding="utf-8")
        assert tex.count(r"\begin{table}") == 4 and r"\emph{df}" in tex


def test_progress_one_line_per_wave_and_step(run):
    cmp, messages = run
    assert messages[:2] == ["wave 2023: cleaning 404 rows", "wave 2024: cleaning 303 rows"]
    assert [m for m in messages if m.startswith("invariance")] == [
        f"invariance: fitting the {s} model" for s in ("configural", "metric", "scalar", "strict")]
    assert sum(m.startswith("paths: ") and "held equal" in m for m in messages) == len(cmp.paths) == 11
    buf = io.StringIO()
    line = StageProgress("compare-waves", 3, stream=buf)
    line("wave a: cleaning")
    line("invariance")
    lines = buf.getvalue().splitlines()
    assert re.fullmatch(r"icaf-sem compare-waves \[1/3\] wave a: cleaning \.\.\. \d+\.\d s elapsed", lines[0])
    assert re.fullmatch(r"icaf-sem compare-waves \[2/3\] invariance \.\.\. .* elapsed, about .* left", lines[1])


def test_cli_progress_on_request(tmp_path, capsys):
    from icaf_sem.cli import main
    q = icaf_sem.load_questionnaire("icaf")
    w2 = tmp_path / "w2.csv"
    icaf_sem.simulate_wave(q, n=200, seed=11, wave="wave2").to_csv(w2, index=False)
    rc = main(["compare-waves", "--questionnaire", "icaf", "--data", str(EXAMPLE), str(w2), "--missing",
               "listwise", "--out", str(tmp_path / "o"), "--progress", "--no-figures", "--lang", "zh"])
    err = capsys.readouterr().err
    assert rc == 0
    assert re.search(r"icaf-sem compare-waves \[1/\d+\] wave wave1: cleaning", err)
    assert re.search(r"\[\d+/\d+\] paths: .* about .* left", err)


def test_fit_session_gives_the_same_numbers():
    """Reused group statistics and baseline, and a deferred information matrix: identical numbers."""
    from icaf_sem.estimation.reuse import defer_standard_errors, fit_session
    data = pd.read_csv(STACKED)
    model = icaf_sem.load_questionnaire("icaf").cfa_syntax()
    kw = dict(group="wave", missing="ml", modindices=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = [icaf_sem.fit(model, data, group_equal=ge, **kw) for ge in ((), ("loadings",))]
        with fit_session() as s:
            first = icaf_sem.fit(model, data, group_equal=(), **kw)
            with defer_standard_errors():
                second = icaf_sem.fit(model, data, group_equal=("loadings",), **kw)
    assert s.hits == {"groups": 1, "baseline": 1}
    assert second._core.__dict__.get("_se_pending") is True
    for a, b in zip(plain, (first, second)):
        pa, pb = a.parameters, b.parameters          # the deferred SEs are computed here
        np.testing.assert_array_equal(pa["est"].to_numpy(), pb["est"].to_numpy())
        np.testing.assert_array_equal(pa["se"].to_numpy(), pb["se"].to_numpy())
        for k in ("chisq", "df", "cfi", "tli", "rmsea", "srmr", "aic", "bic"):
            assert a.fit_measures[k] == b.fit_measures[k], k
    assert second._core.__dict__.get("_se_pending") is False
    # an ML fit's per-group table does not compute the robust (FIML-corrected) family
    fresh = icaf_sem.fit(model, data, group_equal=(), **kw)
    fresh.fit_by_group
    assert dict.__contains__(fresh.fit_measures, "chisq") and not dict.__contains__(fresh.fit_measures, "cfi.robust")


def test_score_tests_one_inverse_equals_one_solve_per_constraint(run, monkeypatch):
    import icaf_sem.invariance as inv_mod
    cmp, _ = run
    fit_ = cmp.invariance.fits["scalar"]
    fast = inv_mod.equality_score_tests(fit_)
    monkeypatch.setattr(inv_mod, "_released_one_at_a_time", lambda *a: None)
    slow = inv_mod.equality_score_tests(fit_)
    assert list(fast["parameter"] if "parameter" in fast else fast["lhs"]) == \
        list(slow["parameter"] if "parameter" in slow else slow["lhs"])
    np.testing.assert_allclose(fast["X2"].to_numpy(), slow["X2"].to_numpy(), rtol=1e-9, atol=1e-9)


def test_analyze_compare_with_puts_the_section_in_the_main_report(q, tmp_path):
    w2 = icaf_sem.simulate_wave(q, n=300, seed=7, wave="wave2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = icaf_sem.analyze(w2, q, bootstrap=0, figures=False, invariance=False, method_bias=False,
                               missing="listwise", compare_with=EXAMPLE, wave_labels="2023,2024", language="zh")
        res.write(tmp_path / "r")
    assert set(WAVE_TABLES) <= set(res.tables)
    assert res.options["wave_labels"] == ["2023", "2024"]
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "<h2>各轮调查比较</h2>" in html and "各轮调查间的测量不变性" in html
    from icaf_sem.report.export import table_order
    order = table_order(res)
    assert order[-4:] == WAVE_TABLES            # its own section, numbered after the others
    import json
    rep = json.loads((tmp_path / "r" / "reproducibility.json").read_text())
    assert "--compare-with" in rep["reproduce"] and "--wave-labels 2023,2024" in rep["reproduce"]
    assert json.loads((tmp_path / "r" / "results.json").read_text())["waves"]["waves"] == ["2023", "2024"]
    with pytest.raises(icaf_sem.errors.DataError, match="wave_labels="):
        icaf_sem.waves.compare_with_earlier(w2, EXAMPLE, q, wave_labels="only_one")


def test_fit_session_does_not_cache_groups_whose_preparation_warns():
    """A group with no more rows than items warns when prepared (FIML; listwise refuses it): every fit keeps
    preparing (and warning)."""
    from icaf_sem.estimation.reuse import fit_session
    rng = np.random.default_rng(1)
    f = rng.normal(size=(60, 1))
    d = pd.DataFrame(f @ np.full((1, 3), 0.8) + rng.normal(size=(60, 3)) * 0.6, columns=["x1", "x2", "x3"])
    d["g"] = ["a"] * 57 + ["b"] * 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fit_session() as s:
            fits = [icaf_sem.fit("f =~ x1 + x2 + x3", d, group="g", group_equal=ge, modindices=False, missing="ml")
                    for ge in ((), ("loadings",))]
    assert s.hits["groups"] == 0
    for r in fits:
        assert any("only 3 usable rows in group 'b'" in w for w in r.warnings)
