"""The questionnaire as code: the ICAF YAML, schema errors and lavaan syntax generation."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from icaf_sem import load_questionnaire
from icaf_sem.errors import QuestionnaireError
from icaf_sem.questionnaire import Questionnaire, builtin_questionnaire_path

ROOT = Path(__file__).resolve().parent.parent
ICAF = ROOT / "questionnaires" / "icaf.yaml"
TAM = ROOT / "questionnaires" / "tam_example.yaml"
FIX = Path(__file__).resolve().parent / "fixtures" / "survey"


@pytest.fixture(scope="module")
def q():
    return load_questionnaire(ICAF)


@pytest.fixture()
def raw_icaf():
    return yaml.safe_load(ICAF.read_text(encoding="utf-8"))


def terms(syntax: str) -> set:
    """lavaan syntax -> set of (lhs, op, rhs, label) terms, ignoring order and spacing."""
    out = set()
    for line in syntax.splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        if ":=" in line:
            lhs, rhs = line.split(":=")
            out.add((lhs.strip(), ":=", rhs.replace(" ", ""), ""))
            continue
        op = next(o for o in ("=~", "~~", "~") if o in line)
        lhs, rhs = line.split(op)
        for t in rhs.split("+"):
            t = t.strip()
            label, _, var = t.rpartition("*")
            out.add((lhs.strip(), op, var, label))
    return out


# --------------------------------------------------------------------------- the ICAF instrument
def test_icaf_constructs_and_item_codes(q):
    expected = {"BC": 3, "CE": 3, "CS": 3, "DQ": 4, "PM": 3, "AS": 3, "EB": 4, "PR": 4, "PC": 4, "PW": 3}
    assert list(q.constructs) == list(expected)
    for c, k in expected.items():
        assert q.constructs[c] == [f"{c.lower()}{i}" for i in range(1, k + 1)]
    assert len(q.items) == 34
    assert q.higher_order == {"CR": ["BC", "CE", "CS"], "DC": ["DQ", "PM", "AS"]}


def test_icaf_subdimensions(q):
    assert [q.subdimension(i) for i in q.constructs["EB"]] == ["collective"] * 2 + ["selective"] * 2
    assert [q.subdimension(i) for i in q.constructs["PR"]] == ["distribution"] * 2 + ["coordination"] * 2
    assert [q.subdimension(i) for i in q.constructs["PC"]] == ["negotiation"] * 2 + ["execution"] * 2
    assert q.subdimension("bc1") is None


def test_icaf_wording_in_english_and_chinese(q):
    cjk = re.compile(r"[\u4e00-\u9fff]")
    assert q.languages == ["en", "zh"]
    seen = set()
    for it in q.items:
        en, zh = q.wording(it, "en"), q.wording(it, "zh")
        assert len(en.split()) >= 5 and not cjk.search(en)
        assert cjk.search(zh)
        assert en not in seen
        seen.add(en)
    book = q.codebook()
    assert list(book["item"]) == q.items
    assert book["wording_zh"].notna().all()
    assert book.loc[book.item == "as3", "reverse_keyed"].item()


def test_icaf_scale_codes_metadata(q):
    assert (q.scale_min, q.scale_max) == (1, 7)
    assert set(q.scale_labels) == set(range(1, 8))
    assert all(set(v) == {"en", "zh"} for v in q.scale_labels.values())
    assert q.reverse_keyed == ["as3", "pc4"]
    assert q.attention_checks == [("attn", (6.0,))]
    assert q.missing_codes == [99.0, -9.0]
    assert q.metadata_columns == ["respondent_id", "level", "role", "duration_s"]
    assert q.metadata["level"]["values"] == ["province", "city", "county"]
    assert q.metadata["role"]["values"] == ["provider", "user", "both"]
    assert q.id_column == "respondent_id" and q.duration_column == "duration_s"
    lv = q.label_values()
    assert lv["strongly agree"] == 7 and lv["非常同意"] == 7 and lv["一般"] == 4


def test_icaf_hypotheses(q):
    tab = q.hypotheses_table()
    paths = {(h.lhs, h.rhs): h.expected_sign for h in q.hypotheses if h.kind == "path"}
    assert paths == {("EB", "CR"): "+", ("EB", "DC"): "+", ("PR", "CR"): "-", ("PR", "DC"): "-",
                     ("PC", "CR"): "-", ("PC", "DC"): "-", ("PW", "CR"): "+", ("PW", "DC"): "+",
                     ("PW", "EB"): "+", ("PW", "PR"): "-", ("PW", "PC"): "-"}
    covs = {(h.lhs, h.rhs) for h in q.hypotheses if h.kind == "covariance"}
    assert covs == {("CR", "DC"), ("PR", "PC")}
    med = {h.label: h.rhs for h in q.hypotheses if h.kind == "mediation"}
    assert med["ind_cr_eb"] == "b_eb_cr*b_pw_eb"
    assert med["ind_dc_pc"] == "b_pc_dc*b_pw_pc"
    assert len(med) == 6
    assert all(h.sign == 1 for h in q.hypotheses if h.kind == "mediation")
    assert q.hypothesis("H5b").sign == -1 and q.hypothesis("H5b").label == "b_pw_pr"
    assert tab["id"].is_unique and set(tab["kind"]) == {"path", "covariance", "mediation"}
    with pytest.raises(QuestionnaireError, match="no hypothesis 'H99'"):
        q.hypothesis("H99")


def test_bundled_copy_is_identical():
    assert builtin_questionnaire_path("icaf").read_text(encoding="utf-8") == ICAF.read_text(encoding="utf-8")
    assert load_questionnaire("icaf").model_syntax() == load_questionnaire(ICAF).model_syntax()


# --------------------------------------------------------------------------- lavaan syntax
def test_cfa_syntax_equals_reference(q):
    ref = (FIX / "icaf_wave1_cfa_reliability.lav").read_text().strip()
    assert q.cfa_syntax() == ref
    assert q.cfa_syntax(["BC", "PW"]) == "BC =~ bc1 + bc2 + bc3\nPW =~ pw1 + pw2 + pw3"
    with pytest.raises(QuestionnaireError, match="CR"):
        q.cfa_syntax(["CR"])


def test_sem_syntax_matches_the_lavaan_reference_model(q):
    ref = terms((FIX / "icaf_wave1_ml_fiml.lav").read_text())
    ours = terms(q.model_syntax())
    assert ref <= ours, ref - ours
    # the extras: CR ~~ DC stated explicitly (lavaan frees it by default) and the
    # DC indirect effects through PR and PC and the total effect of DC
    assert {t[:3] for t in ours - ref} == {("CR", "~~", "DC"), ("ind_dc_pr", ":=", "b_pr_dc*b_pw_pr"),
                                         ("ind_dc_pc", ":=", "b_pc_dc*b_pw_pc"),
                                         ("total_dc", ":=", "c_dc+b_eb_dc*b_pw_eb+b_pr_dc*b_pw_pr+b_pc_dc*b_pw_pc")}


def test_syntax_pieces(q):
    s = q.structural_syntax().splitlines()
    assert s[0] == "EB ~ b_eb_cr*CR + b_eb_dc*DC"
    assert s[3] == "PW ~ c_cr*CR + c_dc*DC + b_pw_eb*EB + b_pw_pr*PR + b_pw_pc*PC"
    assert "PR ~~ PC" in s
    d = q.defined_syntax().splitlines()
    assert d[0] == "ind_cr_eb := b_eb_cr*b_pw_eb"
    assert d[-2] == "total_cr := c_cr + b_eb_cr*b_pw_eb + b_pr_cr*b_pw_pr + b_pc_cr*b_pw_pc"
    m = q.measurement_syntax().splitlines()
    assert m[-2:] == ["CR =~ BC + CE + CS", "DC =~ DQ + PM + AS"]
    assert q.model_syntax() == "\n".join([q.measurement_syntax(), q.structural_syntax(), q.defined_syntax()])


def test_another_instrument_is_just_another_file():
    t = load_questionnaire(TAM)
    assert t.items == ["pu1", "pu2", "pu3", "eou1", "eou2", "eou3", "bi1", "bi2", "bi3"]
    assert t.id_column == "case_id" and t.duration_column == "seconds" and t.attention_checks == []
    assert t.model_syntax() == (
        "PU =~ pu1 + pu2 + pu3\nPEOU =~ eou1 + eou2 + eou3\nBI =~ bi1 + bi2 + bi3\n"
        "PU ~ b_pu_peou*PEOU\nBI ~ b_bi_pu*PU + c_peou*PEOU\n"
        "ind_peou_pu := b_pu_peou*b_bi_pu\ntotal_peou := c_peou + b_pu_peou*b_bi_pu")
    assert t.cleaning.speeder_fraction == 0.3 and t.cleaning.outliers == "off"


def test_totals_can_be_switched_off(raw_icaf):
    raw_icaf["effects"] = {"totals": False}
    q2 = Questionnaire.from_dict(raw_icaf)
    assert "total_" not in q2.defined_syntax()


# --------------------------------------------------------------------------- schema errors
def _error(data, tmp_path, name="bad.yaml") -> str:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(QuestionnaireError) as ei:
        load_questionnaire(p)
    msg = str(ei.value)
    assert str(p) in msg, msg
    assert "fix:" in msg, msg
    return msg


def test_unknown_construct_in_hypothesis(raw_icaf, tmp_path):
    raw_icaf["hypotheses"][3]["path"] = "PR ~ XX"
    msg = _error(raw_icaf, tmp_path)
    assert "hypotheses[3].path" in msg and "'XX'" in msg


def test_item_in_two_constructs(raw_icaf, tmp_path):
    raw_icaf["constructs"]["CE"]["items"]["bc1"] = {"en": "x", "zh": "x"}
    msg = _error(raw_icaf, tmp_path)
    assert "constructs.CE.items.bc1" in msg and "already an item of construct BC" in msg


def test_reverse_keyed_item_that_does_not_exist(raw_icaf, tmp_path):
    raw_icaf["reverse_keyed"] = ["as3", "pc9"]
    msg = _error(raw_icaf, tmp_path)
    assert "reverse_keyed[1]" in msg and "'pc9'" in msg


@pytest.mark.parametrize("lo,hi", [(7, 1), (5, 5)])
def test_scale_min_not_below_max(raw_icaf, tmp_path, lo, hi):
    raw_icaf["scale"]["min"], raw_icaf["scale"]["max"] = lo, hi
    msg = _error(raw_icaf, tmp_path)
    assert "scale.min" in msg and "must be below max" in msg


def test_missing_wording_language(raw_icaf, tmp_path):
    del raw_icaf["constructs"]["PW"]["items"]["pw2"]["zh"]
    assert "constructs.PW.items.pw2.zh" in _error(raw_icaf, tmp_path)


def test_unknown_key_is_a_typo(raw_icaf, tmp_path):
    raw_icaf["reverse_keyd"] = ["as3"]
    msg = _error(raw_icaf, tmp_path)
    assert "reverse_keyd" in msg and "unknown key" in msg


def test_missing_required_key(raw_icaf, tmp_path):
    del raw_icaf["scale"]["max"]
    msg = _error(raw_icaf, tmp_path)
    assert "scale.max" in msg and "add the key 'max'" in msg


def test_mediation_needs_its_paths(raw_icaf, tmp_path):
    raw_icaf["hypotheses"] = [h for h in raw_icaf["hypotheses"] if h["path"] != "PW ~ EB"]
    msg = _error(raw_icaf, tmp_path)
    assert "needs the path PW ~ EB" in msg


@pytest.mark.parametrize("field,value,needle", [
    ("expected_sign", "up", "expected_sign"),
    ("path", "EB ->", "is not a path"),
    ("path", "EB ~ EB", "to itself"),
])
def test_bad_hypothesis_fields(raw_icaf, tmp_path, field, value, needle):
    raw_icaf["hypotheses"][0][field] = value
    msg = _error(raw_icaf, tmp_path)
    assert "hypotheses[0]" in msg and needle in msg


def test_duplicate_hypothesis_id_and_path(raw_icaf, tmp_path):
    raw_icaf["hypotheses"].append(copy.deepcopy(raw_icaf["hypotheses"][0]))
    msg = _error(raw_icaf, tmp_path)
    assert "used twice" in msg and "already hypothesis H1a" in msg


def test_higher_order_component_unknown(raw_icaf, tmp_path):
    raw_icaf["higher_order"]["CR"]["components"] = ["BC", "CE", "XY"]
    assert "higher_order.CR.components[2]" in _error(raw_icaf, tmp_path)


def test_missing_code_on_the_scale(raw_icaf, tmp_path):
    raw_icaf["missing_codes"] = [99, 5]
    assert "missing_codes[1]" in _error(raw_icaf, tmp_path)


def test_rename_to_unknown_column(raw_icaf, tmp_path):
    raw_icaf["rename"] = {"Q1": "nonexistent"}
    assert "rename.Q1" in _error(raw_icaf, tmp_path)


def test_metadata_item_clash_and_two_ids(raw_icaf, tmp_path):
    raw_icaf["metadata"]["bc1"] = {"kind": "id"}
    msg = _error(raw_icaf, tmp_path)
    assert "metadata.bc1" in msg and "second 'id' column" in msg


def test_bad_cleaning_setting(raw_icaf, tmp_path):
    raw_icaf["cleaning"]["outliers"] = "delete"
    msg = _error(raw_icaf, tmp_path)
    assert "cleaning.outliers" in msg


def test_duplicate_yaml_key(tmp_path):
    p = tmp_path / "dup.yaml"
    text = ICAF.read_text(encoding="utf-8").replace("  CE:\n", "  BC:\n", 1)
    p.write_text(text, encoding="utf-8")
    with pytest.raises(QuestionnaireError, match=r"key 'BC' appears twice"):
        load_questionnaire(p)


def test_file_level_errors(tmp_path):
    with pytest.raises(QuestionnaireError, match="not found"):
        load_questionnaire(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(QuestionnaireError, match="empty"):
        load_questionnaire(tmp_path / "empty.yaml")
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(QuestionnaireError, match="not valid YAML at line"):
        load_questionnaire(tmp_path / "broken.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(QuestionnaireError, match="must be a mapping"):
        load_questionnaire(tmp_path / "list.yaml")
    with pytest.raises(QuestionnaireError, match="is a folder"):
        load_questionnaire(tmp_path)
