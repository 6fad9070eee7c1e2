"""Cleaning rules, the audit trail and the reference wave."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icaf_sem import clean, load_questionnaire, simulate_wave
from icaf_sem.errors import DataError, DataWarning, QuestionnaireError
from icaf_sem.survey.cleaning import mahalanobis_outliers

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).resolve().parent / "fixtures" / "survey"


@pytest.fixture(scope="module")
def q():
    return load_questionnaire(ROOT / "questionnaires" / "icaf.yaml")


@pytest.fixture(scope="module")
def ref_result(q):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return clean(FIX / "icaf_wave1_raw.csv", q)


@pytest.fixture()
def base(q):
    """A flawless simulated wave of 60 respondents (fresh copy per test)."""
    return simulate_wave(q, n=60, seed=11, flaws=None)


def run(data, q, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return clean(data, q, **kw)


def reasons(res, rid):
    return set(res.exclusions.loc[res.exclusions.respondent_id == rid, "reason"])


# --------------------------------------------------------------------------- the reference wave
def test_reference_clean_data(ref_result):
    exp = pd.read_csv(FIX / "icaf_wave1_clean.csv").set_index("respondent_id")
    got = ref_result.data.set_index("respondent_id")
    assert got.index.is_unique
    assert sorted(got.index) == sorted(exp.index)
    items = [c for c in exp.columns if c not in ("level", "role")]
    pd.testing.assert_frame_equal(got.loc[exp.index, items], exp[items].astype(float), check_index_type=False)
    assert (got.loc[exp.index, ["level", "role"]].astype(str) == exp[["level", "role"]]).all().all()


def test_reference_exclusions_match_truth(ref_result):
    truth = pd.read_csv(FIX / "icaf_wave1_respondent_truth.csv")
    for _, t in truth.iterrows():
        rs = " | ".join(reasons(ref_result, t.respondent_id)).lower()
        assert ("straight" in rs) == t.straightline, t.respondent_id
        assert ("speed" in rs) == t.speeder, t.respondent_id
        assert ("attention" in rs) == t.attention, t.respondent_id
        assert ("duplicate" in rs) == (t.duplicate_copies > 0), t.respondent_id


def test_reference_cell_fixes_match_truth(ref_result):
    truth = pd.read_csv(FIX / "icaf_wave1_cell_truth.csv")
    bad = truth[truth.problem != "blank"]
    fixes = ref_result.cell_fixes
    flawed = set(ref_result.exclusions.respondent_id)
    got = set(zip(fixes.respondent_id, fixes.item))
    assert set(zip(bad.respondent_id, bad["item"])) == got - {k for k in got if k[0] in flawed} | \
        {k for k in set(zip(bad.respondent_id, bad["item"])) if k[0] in flawed}
    kinds = dict(zip(zip(fixes.respondent_id, fixes.item), fixes.action))
    for _, c in bad.iterrows():
        want = "missing code -> empty" if c.problem == "code99" else "out of range -> empty"
        assert kinds[(c.respondent_id, c["item"])] == want
    assert set(fixes.raw_value[fixes.action == "out of range -> empty"]) == {"0", "8"}
    assert fixes["new_value"].isna().all()


def test_reference_flow(ref_result):
    f = ref_result.flow.set_index("step")
    assert f.loc["rows in the raw data", "n_remaining"] == 424
    assert f.loc["exact duplicate submissions removed", "n_removed"] == 4
    assert f.loc["failed attention check removed", "n_removed"] == 6
    assert f.loc["speeders removed", "n_removed"] == 8
    assert f.loc["straight-liners removed", "n_removed"] == 10
    assert f.loc["analysed sample", "n_remaining"] == 396 == ref_result.n_clean
    steps = ref_result.flow
    assert (steps.n_remaining.shift(1).fillna(424) - steps.n_removed == steps.n_remaining).all()
    assert "396 respondents" in ref_result.summary()


# --------------------------------------------------------------------------- cell rules
def test_missing_codes_and_out_of_range(base, q):
    base.loc[0, "bc1"] = 99
    base.loc[1, "bc2"] = -9
    base.loc[2, "bc3"] = 0
    base.loc[3, "ce1"] = 8
    base.loc[4, "ce2"] = 3.5
    res = run(base, q, outliers="off")
    fx = res.cell_fixes.set_index(["row", "item"])
    assert fx.loc[(1, "bc1"), "action"] == "missing code -> empty"
    assert fx.loc[(2, "bc2"), "action"] == "missing code -> empty"
    assert fx.loc[(3, "bc3"), "action"] == "out of range -> empty" and fx.loc[(3, "bc3"), "raw_value"] == "0"
    assert fx.loc[(4, "ce1"), "action"] == "out of range -> empty"
    assert fx.loc[(5, "ce2"), "action"] == "not a scale point -> empty"
    d = res.data.set_index("respondent_id")
    for r, it in [(0, "bc1"), (1, "bc2"), (2, "bc3"), (3, "ce1"), (4, "ce2")]:
        assert np.isnan(d.loc[base.respondent_id[r], it])
    assert len(res.cell_fixes) == 5 and len(res.exclusions) == 0


def test_missing_codes_are_configurable(q, base):
    from icaf_sem.questionnaire import Questionnaire
    import yaml
    raw = yaml.safe_load((ROOT / "questionnaires" / "icaf.yaml").read_text(encoding="utf-8"))
    raw["missing_codes"] = [77]
    q77 = Questionnaire.from_dict(raw)
    base.loc[0, "bc1"] = 77
    base.loc[1, "bc1"] = 99
    fx = run(base, q77, outliers="off").cell_fixes.set_index("row")
    assert fx.loc[1, "action"] == "missing code -> empty" and fx.loc[2, "action"] == "out of range -> empty"


def test_text_answers_mapped_or_logged(base, q):
    b = base.astype({"bc1": object, "attn": object})
    texts = {0: ("Strongly Agree", 7), 1: ("  agree ", 6), 2: ("非常不同意", 1), 3: ("一般", 4), 4: ("5", 5),
             5: ("6 - Agree", 6), 6: ("banana", None), 7: ("", None), 8: ("99", None)}
    for r, (t, _) in texts.items():
        b.loc[r, "bc1"] = t
    b.loc[9, "attn"] = "Agree"      # attention item answered with the label of 6
    res = run(b, q, outliers="off")
    d = res.data.set_index("respondent_id")
    fx = res.cell_fixes.set_index(["row", "item"])
    for r, (t, v) in texts.items():
        got = d.loc[base.respondent_id[r], "bc1"]
        assert (np.isnan(got) if v is None else got == v), (t, got)
    assert fx.loc[(1, "bc1"), "action"] == "scale label -> value" and fx.loc[(1, "bc1"), "new_value"] == 7
    assert fx.loc[(7, "bc1"), "action"] == "invalid text -> empty" and fx.loc[(7, "bc1"), "raw_value"] == "banana"
    assert fx.loc[(9, "bc1"), "action"] == "missing code -> empty"
    assert (5, "bc1") not in fx.index and (8, "bc1") not in fx.index     # numeric string / blank: no change
    assert not reasons(res, base.respondent_id[9])                        # "Agree" = 6 passes the check


def test_reverse_keying(base, q):
    res = run(base, q, outliers="off")
    d = res.data.set_index("respondent_id")
    raw = base.set_index("respondent_id")
    assert (d["as3"] == 8 - raw["as3"]).all() and (d["pc4"] == 8 - raw["pc4"]).all()
    assert (d["as2"] == raw["as2"]).all()
    assert res.reversed_items == ["as3", "pc4"]
    # after reversal the reverse-worded item correlates positively with its construct
    assert np.corrcoef(d["as3"], d["as1"])[0, 1] > 0.2


# --------------------------------------------------------------------------- duplicates
def test_exact_duplicates_keep_first(base, q):
    b = pd.concat([base, base.iloc[[3, 3, 7]]], ignore_index=True)
    res = run(b, q, outliers="off")
    assert res.n_clean == 60 and res.data.respondent_id.is_unique
    ex = res.exclusions
    assert len(ex) == 3 and ex.reason.str.contains("duplicate").all()
    assert list(ex.row) == [61, 62, 63] and "repeats row 4" in ex.detail.iloc[0]
    assert res.flow.set_index("step").loc["exact duplicate submissions removed", "n_removed"] == 3


def test_conflicting_duplicate_ids(base, q):
    b = base.copy()
    b.loc[5, "respondent_id"] = b.loc[4, "respondent_id"]
    rid = b.loc[4, "respondent_id"]
    with pytest.warns(DataWarning, match="different answers"):
        res = clean(b, q, outliers="off")
    assert (res.data.respondent_id == rid).sum() == 2
    assert list(res.flags.loc[res.flags.flag == "conflicting duplicate id", "row"]) == [5, 6]
    res = run(b, q, outliers="off", conflicting_ids="drop")
    assert (res.data.respondent_id == rid).sum() == 0 and len(res.exclusions) == 2
    res = run(b, q, outliers="off", conflicting_ids="keep_first")
    assert (res.data.respondent_id == rid).sum() == 1 and list(res.exclusions.row) == [6]


# --------------------------------------------------------------------------- respondent rules
def test_straightlining(base, q):
    b = base.copy()
    b.loc[0, q.items] = 4
    b.loc[1, q.items] = 7
    b.loc[1, "pm2"] = np.nan                        # a blank does not hide straight-lining
    b.loc[2, q.items] = 1
    b.loc[2, "dq1"] = 99                            # nor does a missing code
    b.loc[3, q.items[:30]] = 5                      # 30 of 34 identical: not by default
    res = run(b, q, outliers="off")
    for r in (0, 1, 2):
        assert any("straight" in x for x in reasons(res, b.respondent_id[r]))
    assert not reasons(res, b.respondent_id[3])
    assert "all 33 answered items = 7" in res.exclusions.set_index("row").loc[2, "detail"]
    res = run(b, q, outliers="off", straightline_run=25)
    assert any("straight" in x for x in reasons(res, b.respondent_id[3]))
    assert "30 identical answers in a row" in res.exclusions.set_index("row").loc[4, "detail"]
    res = run(b, q, outliers="off", straightline=False)
    assert res.n_clean == 60


def test_straightlining_needs_enough_answers(base, q):
    b = base.copy()
    b.loc[0, q.items] = np.nan
    b.loc[0, q.items[:10]] = 3
    assert not reasons(run(b, q, outliers="off"), b.respondent_id[0])
    assert reasons(run(b, q, outliers="off", straightline_min_answered=0.25), b.respondent_id[0])


def test_speeders(base, q):
    b = base.copy()
    med = b.duration_s.median()
    b.loc[0, "duration_s"] = 0.39 * med
    b.loc[1, "duration_s"] = 0.41 * med
    res = run(b, q, outliers="off")
    assert reasons(res, b.respondent_id[0]) == {"speeder"}
    assert not reasons(res, b.respondent_id[1])
    res = run(b, q, outliers="off", speeder_fraction=0.45)
    assert reasons(res, b.respondent_id[1]) == {"speeder"}


def test_attention_check(base, q):
    b = base.copy()
    b.loc[0, "attn"] = 2
    b.loc[1, "attn"] = np.nan
    b.loc[2, "attn"] = 99
    res = run(b, q, outliers="off")
    for r in (0, 1, 2):
        assert reasons(res, b.respondent_id[r]) == {"failed attention check"}
    assert "attn = 2 (expected 6)" in res.exclusions.set_index("row").loc[1, "detail"]
    res = run(b, q, outliers="off", attention_missing="pass")
    assert not reasons(res, b.respondent_id[1]) and reasons(res, b.respondent_id[0])


def test_several_flaws_give_one_row_per_reason(base, q):
    b = base.copy()
    b.loc[0, q.items] = 1
    b.loc[0, "duration_s"] = 10
    b.loc[0, "attn"] = 1
    res = run(b, q, outliers="off")
    assert reasons(res, b.respondent_id[0]) == {"failed attention check", "speeder", "straight-lining"}
    assert res.n_clean == 59
    f = res.flow.set_index("step")
    assert f.loc["failed attention check removed", "n_removed"] == 1
    assert f.loc["speeders removed", "n_removed"] == 0 and f.loc["straight-liners removed", "n_removed"] == 0
    assert res.excluded_ids == [b.respondent_id[0]]


def test_missing_metadata_columns_skip_rules_with_warnings(base, q):
    b = base.drop(columns=["duration_s", "attn", "respondent_id"])
    with pytest.warns(DataWarning) as rec:
        res = clean(b, q, outliers="off")
    text = " ".join(str(w.message) for w in rec)
    assert "speeder rule is skipped" in text and "attention item 'attn'" in text and "no id column" in text
    assert res.data.respondent_id.iloc[0] == "row-1" and res.n_clean == 60
    assert "duration_s" not in res.data.columns


def test_all_empty_attention_or_duration_column_skips_the_rule(base, q):
    b = base.copy()
    b["attn"] = np.nan
    b["duration_s"] = np.nan
    with pytest.warns(DataWarning) as rec:
        res = clean(b, q, outliers="off")
    text = " ".join(str(w.message) for w in rec)
    assert "'attn' has no answers at all" in text and "speeder rule is skipped" in text
    assert res.n_clean == 60 and res.exclusions.empty


def test_unexpected_category_value_warns(base, q):
    b = base.copy()
    b.loc[0, "level"] = "town"
    with pytest.warns(DataWarning, match="'town'"):
        clean(b, q, outliers="off")


# --------------------------------------------------------------------------- outliers
def test_mahalanobis_matches_r():
    ref = pd.read_csv(FIX / "mahalanobis_r.csv")
    x = pd.read_csv(FIX / "icaf_wave1_clean.csv")
    items = ["bc1", "bc2", "bc3", "ce1", "ce2", "ce3", "cs1", "cs2", "cs3"]
    x = x.set_index("respondent_id").loc[ref.respondent_id, items]
    got = mahalanobis_outliers(x)
    np.testing.assert_allclose(got["d2"].to_numpy(), ref["d2"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(got["pvalue"].to_numpy(), ref["p"].to_numpy(), rtol=1e-7)
    assert (got["df"] == 9).all()


def test_outliers_flagged_not_dropped(q):
    b = simulate_wave(q, n=200, seed=5, flaws=None)   # with 34 items, n = 60 cannot reach p < .001
    b.loc[0, q.items] = [1, 7] * 17            # a wildly inconsistent pattern
    res = run(b, q)
    rid = b.respondent_id[0]
    assert rid in set(res.data.respondent_id)
    assert rid in set(res.flags.loc[res.flags.flag == "multivariate outlier", "respondent_id"])
    assert "Mahalanobis D2" in res.flags.detail.iloc[0]
    res = run(b, q, outliers="drop")
    assert rid not in set(res.data.respondent_id) and reasons(res, rid) == {"multivariate outlier"}


def test_mahalanobis_with_missing_answers():
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.standard_normal((200, 4)), columns=list("abcd"))
    x.iloc[0, 1] = np.nan
    res = mahalanobis_outliers(x)
    assert res.loc[0, "df"] == 3 and res.loc[1, "df"] == 4
    sub = x.loc[:, ["a", "c", "d"]]
    cov = x.cov().loc[["a", "c", "d"], ["a", "c", "d"]].to_numpy()
    dev = sub.iloc[0].to_numpy() - x[["a", "c", "d"]].mean().to_numpy()
    assert res.loc[0, "d2"] == pytest.approx(dev @ np.linalg.solve(cov, dev))


# --------------------------------------------------------------------------- empty items, bad input
def test_item_without_answers(base, q):
    b = base.copy()
    b["pm2"] = np.nan
    with pytest.warns(DataWarning, match="'pm2' have no valid answers"):
        res = clean(b, q)
    assert res.data["pm2"].isna().all() and any("pm2" in w for w in res.warnings)
    with pytest.raises(DataError, match="'pm2'"):
        run(b, q, empty_items="error")
    b["pm2"] = 99                               # only missing codes: no answers either
    with pytest.warns(DataWarning, match="'pm2'"):
        clean(b, q)


def test_bad_overrides(base, q):
    with pytest.raises(QuestionnaireError, match="unknown cleaning rule.*'speeder_frac'"):
        clean(base, q, speeder_frac=0.3)
    with pytest.raises(QuestionnaireError, match="speeder_fraction"):
        clean(base, q, speeder_fraction=2)


def test_missing_item_column_in_dataframe(base, q):
    with pytest.raises(DataError, match="'eb4'"):
        clean(base.drop(columns="eb4"), q)


def test_input_dataframe_is_not_modified(base, q):
    b = base.copy()
    b.loc[0, "bc1"] = 99
    before = b.copy()
    run(b, q)
    pd.testing.assert_frame_equal(b, before)


def test_to_dir_writes_everything(ref_result, tmp_path):
    out = ref_result.to_dir(tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == ["cell_fixes.csv", "clean.csv", "exclusions.csv",
                                                     "flags.csv", "flow.csv"]
    c = pd.read_csv(out / "clean.csv")
    assert len(c) == 396 and c["bc1"].dtype == float
    assert "3.0" not in (out / "clean.csv").read_text().splitlines()[1]
