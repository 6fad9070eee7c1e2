"""The lavaan syntax parser and the parameter table defaults (lavaan's lavaanify)."""
import numpy as np
import pytest

from icaf_sem.errors import ModelSyntaxError
from icaf_sem.model.partable import build_partable
from icaf_sem.model.syntax import parse_model


def rows(pt):
    t = pt.table
    return {(r.lhs, r.op, r.rhs): r for r in t.itertuples()}


def test_modifiers_labels_fixed_free_start():
    st = parse_model("f =~ NA*x1 + a*x2 + 0.5*x3 + start(0.7)*x4 + c(b1, b2)*x5")
    mods = {s.rhs: s.modifier for s in st}
    assert mods["x1"].free == [True]
    assert mods["x2"].label == ["a"]
    assert mods["x3"].fixed == [0.5]
    assert mods["x4"].start == [0.7]
    assert mods["x5"].label == ["b1", "b2"]


def test_comments_semicolons_and_continued_lines():
    st = parse_model("# a model\nf =~ x1 + x2 +  # first\n   x3 ! more\ng =~ x4\n  + x5; g ~~ f")
    assert [(s.lhs, s.op, s.rhs) for s in st] == [
        ("f", "=~", "x1"), ("f", "=~", "x2"), ("f", "=~", "x3"), ("g", "=~", "x4"), ("g", "=~", "x5"),
        ("g", "~~", "f")]


def test_intercepts_and_defined():
    st = parse_model("y ~ 1 + x\nd := a*b + 2")
    assert ("y", "~1", "") in [(s.lhs, s.op, s.rhs) for s in st]
    assert [s.expr for s in st if s.op == ":="] == ["a*b + 2"]


@pytest.mark.parametrize("bad", ["f =~ ", "=~ x1", "f =~ x1 ++ x2", "f =~ 3x"])
def test_syntax_errors(bad):
    with pytest.raises(ModelSyntaxError, match="line 1"):
        parse_model(bad)


def test_defaults_first_loading_and_variances():
    pt = build_partable("f =~ x1 + x2 + x3\ng =~ x4 + x5 + x6\ng ~ f")
    r = rows(pt)
    assert r[("f", "=~", "x1")].free == 0 and r[("f", "=~", "x1")].ustart == 1
    assert r[("f", "=~", "x2")].free > 0
    assert r[("x1", "~~", "x1")].free > 0 and r[("g", "~~", "g")].free > 0
    assert ("f", "~~", "g") not in r          # g is endogenous: no covariance with f
    assert pt.npar == 13


def test_std_lv_frees_loadings_fixes_variances():
    pt = build_partable("f =~ x1 + x2 + x3", std_lv=True)
    r = rows(pt)
    assert r[("f", "=~", "x1")].free > 0
    assert r[("f", "~~", "f")].free == 0 and r[("f", "~~", "f")].ustart == 1


def test_exogenous_latents_covary_and_dependent_residuals_covary():
    pt = build_partable("a =~ x1 + x2 + x3\nb =~ x4 + x5 + x6\ny1 ~ a + b\ny2 ~ a")
    r = rows(pt)
    assert r[("a", "~~", "b")].free > 0
    assert r[("y1", "~~", "y2")].free > 0


def test_fixed_x_covariates_and_meanstructure():
    pt = build_partable("y ~ x1 + x2", meanstructure=True)
    r = rows(pt)
    assert r[("x1", "~~", "x2")].exo == 1 and r[("x1", "~~", "x2")].free == 0
    assert r[("y", "~1", "")].free > 0 and r[("x1", "~1", "")].free == 0


def test_shared_labels_share_one_parameter():
    pt = build_partable("f =~ x1 + a*x2 + a*x3")
    r = rows(pt)
    assert r[("f", "=~", "x2")].free == r[("f", "=~", "x3")].free
    assert pt.npar == 5


def test_label_shared_with_fixed_first_loading_fixes_all():
    pt = build_partable("f =~ a*x1 + a*x2 + a*x3")
    r = rows(pt)
    assert all(r[("f", "=~", x)].free == 0 and r[("f", "=~", x)].ustart == 1 for x in ("x1", "x2", "x3"))


def test_single_indicator_residual_fixed_to_zero():
    pt = build_partable("f =~ x1\ng =~ x2 + x3 + x4\ng ~ f")
    r = rows(pt)
    assert r[("x1", "~~", "x1")].free == 0 and r[("x1", "~~", "x1")].ustart == 0


def test_group_equal_loadings():
    pt = build_partable("f =~ x1 + x2 + x3", ngroups=2, group_equal=("loadings",), meanstructure=True)
    t = pt.table
    l2 = t[(t.rhs == "x2") & (t.op == "=~")]["free"].tolist()
    assert len(set(l2)) == 1 and l2[0] > 0
    res = t[(t.lhs == "x2") & (t.op == "~~")]["free"].tolist()
    assert len(set(res)) == 2
