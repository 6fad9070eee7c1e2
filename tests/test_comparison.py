"""Competing models on one wave (icaf_sem.comparison) against lavaan 0.6-14 / semTools, and the
model-comparison table of ``analyze`` for the digital-ecology and joint-operation instruments in
English and Chinese.

Reference numbers: tests/fixtures/comparison/icaf_{ml,mlr}.json, written by make_comparison.R
(lavaan's fitMeasures and lavTestLRT, the NET procedure of semTools' x.within.y, and Vuong's tests
from lavaan's casewise log-likelihoods, scores and vcov) on the cleaned example wave.
"""
from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icaf_sem import analyze, load_questionnaire, simulate_wave
from icaf_sem.comparison import compare_competing, competing_models
from icaf_sem.errors import QuestionnaireError

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "comparison"


@pytest.fixture(scope="module")
def wave():
    return pd.read_csv(FIX / "example_wave_clean.csv")


@pytest.fixture(scope="module", params=["ML", "MLR"])
def case(request, wave):
    ref = json.loads((FIX / f"icaf_{request.param.lower()}.json").read_text(encoding="utf-8"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = compare_competing(ROOT / "questionnaires" / "icaf.yaml", wave, estimator=request.param, missing="ml",
                                all_pairs=True)
    return ref, cmp


def test_models_are_the_reference_models(case):
    ref, cmp = case
    assert list(cmp.table.index) == list(ref["models"])
    for name, r in cmp.table.iterrows():
        assert int(r["df"]) == ref["fit"][name]["df"], name
        assert int(r["npar"]) == ref["fit"][name]["npar"], name


def test_fit_of_every_model_matches_lavaan(case):
    ref, cmp = case
    robust = ref["estimator"] == "MLR"
    keys = {"chisq": "chisq.scaled" if robust else "chisq", "pvalue": "pvalue.scaled" if robust else "pvalue",
            "cfi": "cfi.robust" if robust else "cfi", "tli": "tli.robust" if robust else "tli",
            "rmsea": "rmsea.robust" if robust else "rmsea",
            "rmsea_ci_lower": "rmsea.ci.lower.robust" if robust else "rmsea.ci.lower",
            "rmsea_ci_upper": "rmsea.ci.upper.robust" if robust else "rmsea.ci.upper",
            "srmr": "srmr", "aic": "aic", "bic": "bic", "chisq_ml": "chisq"}
    if robust:
        keys["scaling_factor"] = "chisq.scaling.factor"
    for name, r in cmp.table.iterrows():
        fm = ref["fit"][name]
        for col, key in keys.items():
            tol = 2e-3 if col in ("chisq", "chisq_ml", "aic", "bic") else 2e-4
            assert r[col] == pytest.approx(fm[key], abs=tol, rel=1e-5), (name, col)


def test_nesting_and_lrt_match_lavTestLRT(case):
    ref, cmp = case
    t = cmp.table
    # semTools::net: what is nested in what (and the hypothesised model's place among them)
    expected = {"measurement": "nests", "full_mediation": "nested", "direct_only": "nested",
                "no_mediators": "non-nested", "correlated_outcomes": "nests"}
    assert dict(t["relation"].drop("hypothesised")) == expected
    assert t.loc["hypothesised", "relation"] == "reference"
    for other, lrt in ref["lrt"].items():
        r = t.loc[other]
        assert r["df_diff"] == lrt["df_diff"], other
        assert r["chisq_diff"] == pytest.approx(lrt["chisq_diff"], abs=2e-3, rel=1e-4), other
        assert r["pvalue_diff"] == pytest.approx(lrt["pvalue"], abs=1e-5, rel=1e-3), other
    assert t.attrs["diff_method"] == ("satorra.bentler.2001" if ref["estimator"] == "MLR" else "standard")


def test_net_matches_the_reference(case):
    """NET in lavaan (semTools::net's x.within.y for every pair): the models sorted by df (ascending,
    ties in the given order); entry [r, c] below the diagonal is TRUE when model r is nested in model c."""
    _, cmp = case
    ref = json.loads((FIX / "icaf_ml.json").read_text(encoding="utf-8"))    # nesting: the same under MLR
    names = ref["net_models"]
    assert names == sorted(ref["models"], key=lambda m: ref["fit"][m]["df"])
    test = ref["net_test"]
    rel = {}
    for _, p in cmp.pairs.iterrows():
        rel[(p["model_a"], p["model_b"])] = rel[(p["model_b"], p["model_a"])] = p
    checked = 0
    for r in range(1, len(names)):
        for c in range(r):
            a, b = names[r], names[c]
            p = rel[(a, b)]
            ours = p["relation"] == "equivalent" or (p["relation"] == "nested" and p["restricted"] == a)
            assert ours == bool(test[r][c]), (a, b, p["relation"], p["restricted"], test[r][c])
            checked += 1
    assert checked == len(names) * (len(names) - 1) // 2


def test_vuong_for_non_nested_pairs_matches_reference(case):
    """Vuong's tests use the ML fits under both estimators (the same estimates; the information
    matrix as Vuong's A), so both are checked against the reference of the ML fits."""
    _, cmp = case
    ref = json.loads((FIX / "icaf_ml.json").read_text(encoding="utf-8"))
    v = ref["vuong"]["hypothesised_vs_no_mediators"]     # A = no_mediators, B = hypothesised
    r = cmp.table.loc["no_mediators"]
    assert r["vuong_z"] == pytest.approx(v["z"], abs=1e-4, rel=1e-4)
    assert r["vuong_variance"] == pytest.approx(v["variance_stat"], rel=1e-4)
    assert r["vuong_variance_p"] == pytest.approx(v["variance_pvalue"], abs=1e-6, rel=1e-3)
    assert r["vuong_p_row"] == pytest.approx(v["pvalue_a_better"], abs=1e-8, rel=1e-3)
    assert r["vuong_p_reference"] == pytest.approx(v["pvalue_b_better"], abs=1e-8, rel=1e-3)
    w = ref["vuong"]["full_mediation_vs_direct_only"]    # A = direct_only, B = full_mediation
    p = cmp.pairs[(cmp.pairs["model_a"] == "full_mediation") & (cmp.pairs["model_b"] == "direct_only")].iloc[0]
    assert p["relation"] == "non-nested"
    assert p["vuong_z"] == pytest.approx(-w["z"], abs=1e-4, rel=1e-4)
    assert p["vuong_variance_p"] == pytest.approx(w["variance_pvalue"], abs=1e-6, rel=1e-3)


def test_delta_cfi_and_tidy_layout(case):
    ref, cmp = case
    t = cmp.table
    key = "cfi.robust" if ref["estimator"] == "MLR" else "cfi"
    for name in t.index:
        assert t.loc[name, "delta_cfi"] == pytest.approx(ref["fit"][name][key] - ref["fit"]["hypothesised"][key],
                                                         abs=2e-4) or name == "hypothesised"
    assert np.isnan(t.loc["hypothesised", "delta_cfi"])
    numeric = ["chisq", "df", "cfi", "tli", "rmsea", "srmr", "aic", "bic", "chisq_diff", "df_diff", "pvalue_diff",
               "delta_cfi", "vuong_z"]
    assert all(pd.api.types.is_float_dtype(t[c]) for c in numeric)
    d = cmp.to_dict()
    json.dumps(d)                    # JSON-ready
    assert [m["name"] for m in d["models"]] == list(t.index)


# --------------------------------------------------------------------------- models from the questionnaire
def test_generated_models_follow_the_hypotheses():
    names = {q: [m.name for m in competing_models(q)] for q in ("icaf", "digital_ecology", "joint_operation")}
    # ICAF and digital ecology hypothesise partial mediation: full mediation and direct-only are built
    assert names["icaf"] == ["measurement", "hypothesised", "full_mediation", "direct_only", "no_mediators",
                             "correlated_outcomes"]
    assert names["digital_ecology"][:4] == ["measurement", "hypothesised", "full_mediation", "direct_only"]
    # joint operation has a direct path for JA only: both full and partial mediation differ from it
    assert names["joint_operation"][:5] == ["measurement", "hypothesised", "full_mediation", "partial_mediation",
                                            "direct_only"]
    jo = {m.name: m for m in competing_models("joint_operation")}
    assert "SE ~ SSQ\n" in jo["full_mediation"].syntax + "\n"
    assert "SE ~ SSQ + JA + PDQ + OLC + OSC" in jo["partial_mediation"].syntax
    # direct-only: no mediator -> outcome path, and the pure outcomes SSQ and SE kept uncorrelated
    assert "SE ~ JA + PDQ + OLC + OSC" in jo["direct_only"].syntax
    assert "SSQ ~~ 0*SE" in jo["direct_only"].syntax
    assert jo["reverse_order"].kind == "declared" and jo["reverse_order"].label["zh"]


def _q(tmp_path, competing):
    import yaml
    data = yaml.safe_load((ROOT / "questionnaires" / "joint_operation.yaml").read_text(encoding="utf-8"))
    data["competing_models"] = competing
    p = tmp_path / "q.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


@pytest.mark.parametrize("bad, match", [
    ({"name": "x", "label": {"en": "X", "zh": "X"}, "paths": ["SE ~ NOPE"]}, r"competing_models\[0\].*unknown construct 'NOPE'"),
    ({"name": "x", "label": {"en": "X", "zh": "X"}, "paths": ["SE =~ SSQ"]}, r"not a structural path"),
    ({"name": "x", "label": {"en": "X", "zh": "X"}, "paths": ["SE ~ SSQ"], "syntax": "SE ~ JA"}, r"exactly one"),
    ({"name": "hypothesised", "label": {"en": "X", "zh": "X"}, "paths": ["SE ~ SSQ"]}, r"\.name"),
    ({"name": "x", "label": {"en": "X"}, "paths": ["SE ~ SSQ"]}, r"label\.zh"),
    ({"name": "x", "label": {"en": "X", "zh": "X"}, "syntax": "SE ~ __import__('os')"}, r"competing_models\[0\]"),
])
def test_declared_models_are_validated(tmp_path, bad, match):
    with pytest.raises(QuestionnaireError, match=match):
        load_questionnaire(_q(tmp_path, [bad]))


# --------------------------------------------------------------------------- analyze end to end, en and zh
_CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("name, seed, language", [("digital_ecology", 11, "zh"), ("joint_operation", 12, "en")])
def test_instrument_analyze_writes_the_comparison_in_both_languages(tmp_path, name, seed, language):
    """A simulated wave of each instrument through analyze: the report written whole in one language
    (html, docx, xlsx, tex, json), and the same analysis' report in the other language (html)."""
    from docx import Document
    from openpyxl import load_workbook
    from icaf_sem.report.export import html_report
    q = load_questionnaire(ROOT / "questionnaires" / f"{name}.yaml")
    raw = simulate_wave(q, n=250, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze(raw, q, bootstrap=0, figures=False, language=language, invariance=False, method_bias=False,
                      out=tmp_path)
    other = res.in_language("en" if language == "zh" else "zh")
    t = res.tables["model_comparison"]
    assert t["key"].tolist()[:3] == ["measurement", "hypothesised", "full_mediation"]
    assert set(t["key"]) >= {m.name for m in q.competing_models}
    assert t["relation"].iloc[1] == "reference"
    assert t["chisq_diff"].notna().sum() >= 2            # nested models tested against the hypothesised one
    assert other.tables["model_comparison"]["chisq"].tolist() == t["chisq"].tolist()   # nothing re-estimated
    titles = {"en": "Model comparison: the hypothesised model and competing models", "zh": "模型比较：假设模型与竞争模型"}
    htmls = {language: (tmp_path / "report.html").read_text(encoding="utf-8"),
             other.options["language"]: html_report(other, {})}
    for lang, html in htmls.items():
        assert titles[lang] in html
        assert "Bentler &amp; Satorra, 2010" in html
        assert q.competing_models[-1].label[lang] in html
        if lang == "zh":
            assert len(_CJK.findall(html)) > 500 and "非嵌套" in html
    doc = "\n".join(p.text for p in Document(str(tmp_path / "report.docx")).paragraphs)
    assert titles[language] in doc
    if language == "zh":
        assert len(_CJK.findall(doc)) > 200
    js = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert [r["model"] for r in js["model_comparison"]["table"]] == t["key"].tolist()
    assert "model_comparison" in js["tables"]
    wb = load_workbook(tmp_path / "tables.xlsx")
    assert any(titles[language] in str(wb[s].cell(row=2, column=1).value) for s in wb.sheetnames)
    assert titles[language].split("：")[0].split(":")[0] in (tmp_path / "tables.tex").read_text(encoding="utf-8")
