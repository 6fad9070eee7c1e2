"""Bad models and bad data: clear exceptions of our own classes, statistical trouble as warnings."""
import warnings

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.errors import (ConvergenceWarning, DataError, HeywoodWarning, IcafError, IdentificationError,
                             IdentificationWarning, ModelSpecificationError, ModelSyntaxError,
                             NotPositiveDefiniteWarning)
from lavaan_compare import FIX

HS = pd.read_csv(FIX / "data" / "holzinger_swineford_1939.csv")
MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6"


def test_syntax_error_names_line_and_token():
    with pytest.raises(ModelSyntaxError, match=r"line 2.*'x\$5'"):
        icaf_sem.fit("visual =~ x1 + x2 + x3\ntextual =~ x4 + x$5 + x6", HS)


def test_no_operator_is_a_syntax_error():
    with pytest.raises(ModelSyntaxError, match="line 1"):
        icaf_sem.fit("visual x1 x2 x3", HS)


def test_unknown_defined_label_is_named():
    with pytest.raises(ModelSyntaxError, match="'zz'"):
        icaf_sem.fit(MODEL + "\nind := a*zz", HS)


def test_unknown_variable_is_named():
    with pytest.raises(ModelSpecificationError, match="'x99'"):
        icaf_sem.fit("visual =~ x1 + x2 + x99", HS)


def test_more_parameters_than_moments():
    with pytest.raises(IdentificationError, match="df = -1"):
        icaf_sem.fit("f =~ x1 + x2", HS)


def test_singular_information_warns_and_names_parameters():
    with pytest.warns(IdentificationWarning, match="involved: .*=~"):
        res = icaf_sem.fit("f =~ x1 + x2 + x3\ng =~ x1 + x4", HS, modindices=False)
    assert any("not identified" in w for w in res.warnings)
    assert "not identified" in res.summary()


def _exact_sample(cov, n=300, seed=1):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, cov.shape[0]))
    Z -= Z.mean(0)
    L = np.linalg.cholesky(np.cov(Z.T, bias=True))
    Z = Z @ np.linalg.inv(L).T @ np.linalg.cholesky(cov).T
    return pd.DataFrame(Z, columns=[f"y{i + 1}" for i in range(cov.shape[0])])


def test_heywood_case_is_a_warning_in_result_and_summary():
    # lambda1^2 = r12 r13 / r23 = .64/.5 > 1: the residual variance of y1 must go negative
    cov = np.array([[1, .8, .8], [.8, 1, .5], [.8, .5, 1.0]])
    with pytest.warns(HeywoodWarning, match="'y1'"):
        res = icaf_sem.fit("f =~ y1 + y2 + y3", _exact_sample(cov))
    assert any("Heywood" in w for w in res.warnings)
    assert "Heywood" in res.summary()
    row = res.parameters.query("lhs == 'y1' and op == '~~' and rhs == 'y1'")
    assert row["est"].iloc[0] < 0


def test_non_convergence_warns():
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = icaf_sem.fit(MODEL, HS, max_iter=1, modindices=False)
    assert not res.converged
    assert res.to_dict()["converged"] is False


def test_text_in_item_column_names_it():
    bad = HS.copy()
    bad["x2"] = bad["x2"].astype(object)
    bad.loc[5, "x2"] = "agree"
    with pytest.raises(DataError, match="'x2'.*'agree'"):
        icaf_sem.fit(MODEL, bad)


def test_constant_column_names_it():
    bad = HS.copy()
    bad["x3"] = 4.0
    with pytest.raises(DataError, match="'x3' is constant"):
        icaf_sem.fit(MODEL, bad)


def test_all_empty_column_names_it():
    bad = HS.copy()
    bad["x4"] = np.nan
    with pytest.raises(DataError, match="'x4'"):
        icaf_sem.fit(MODEL, bad, missing="ml")


def test_too_few_rows():
    with pytest.raises(DataError, match="usable rows"):
        icaf_sem.fit(MODEL, HS.head(1))


def test_few_rows_non_positive_definite_warns():
    # listwise: no more complete respondents than variables is refused, naming both counts
    with pytest.raises(DataError, match="only 5 complete respondent.* for 6 observed variables"):
        icaf_sem.fit(MODEL, HS.head(5), modindices=False)
    # FIML: warned (the EM moments may still be defined), or refused by our own error
    with pytest.warns((NotPositiveDefiniteWarning, icaf_sem.errors.DataWarning)):
        try:
            icaf_sem.fit(MODEL, HS.head(5), modindices=False, missing="ml")
        except IcafError:
            pass


def test_bad_options():
    with pytest.raises(ModelSpecificationError, match="estimator='PML'"):
        icaf_sem.fit(MODEL, HS, estimator="PML")
    with pytest.raises(ModelSpecificationError, match="missing='two-stage'"):
        icaf_sem.fit(MODEL, HS, missing="two-stage")
    with pytest.raises(DataError, match="DataFrame"):
        icaf_sem.fit(MODEL, HS.to_numpy())
    # continuous scores declared ordinal: too many categories (ordinal estimation is tests/test_ordinal.py)
    with pytest.raises(DataError, match="distinct values"):
        icaf_sem.fit(MODEL, HS, ordered=True)


def test_every_error_is_an_icaf_error():
    for exc in (ModelSyntaxError, ModelSpecificationError, IdentificationError, DataError):
        assert issubclass(exc, IcafError)


def test_raw_data_not_modified():
    before = HS.copy()
    icaf_sem.fit(MODEL, HS, missing="ml", modindices=False)
    pd.testing.assert_frame_equal(before, HS)
