"""Loading survey exports: formats, encodings, separators and every bad input."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icaf_sem import load_questionnaire, load_survey
from icaf_sem.errors import DataError
from icaf_sem.survey.io import conform_columns, to_number

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).resolve().parent / "fixtures" / "survey"
RAW = FIX / "icaf_wave1_raw.csv"


@pytest.fixture(scope="module")
def q():
    return load_questionnaire(ROOT / "questionnaires" / "icaf.yaml")


@pytest.fixture(scope="module")
def ref(q):
    return load_survey(RAW, q)


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_reference_wave(ref, q):
    assert ref.shape == (424, 39)
    assert list(ref.columns[:4]) == ["respondent_id", "level", "role", "duration_s"]
    assert ref["respondent_id"].iloc[0] == "wave1-0049"
    for it in q.items + ["attn", "duration_s"]:
        assert ref[it].dtype == float, it
    assert ref["bc1"].isna().sum() > 0 and (ref == 99).any().any()
    assert ref.attrs["encoding"] == "utf-8" and ref.attrs["separator"] == ","
    assert ref.attrs["row_numbers"][:3] == [1, 2, 3]


def test_raw_file_is_never_modified(q, tmp_path):
    p = tmp_path / "raw.csv"
    p.write_bytes(RAW.read_bytes())
    before, mtime = sha(p), p.stat().st_mtime_ns
    from icaf_sem import clean
    load_survey(p, q)
    clean(p, q)
    assert sha(p) == before and p.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("encoding,sep", [("utf-8-sig", ","), ("gbk", ","), ("gb18030", ";"),
                                          ("utf-8", ";"), ("utf-8", "\t"), ("utf-16", ",")])
def test_encodings_and_separators(ref, q, tmp_path, encoding, sep):
    df = pd.read_csv(RAW, dtype=str, keep_default_na=False)
    df = df.rename(columns={"respondent_id": "受访者编号"})       # a Chinese header, mapped by `rename:`
    df.loc[0, "level"] = "city"
    df.loc[1, "pw1"] = "非常同意"
    p = tmp_path / "wave.csv"
    df.to_csv(p, sep=sep, index=False, encoding=encoding)
    got = load_survey(p, q)
    assert got.attrs["separator"] == sep
    assert got.attrs["renamed"] == {"受访者编号": "respondent_id"}
    assert list(got.columns) == list(ref.columns)
    assert got.loc[1, "pw1"] == "非常同意"          # text stays text; cleaning maps it
    pd.testing.assert_series_equal(got["bc1"], ref["bc1"])
    assert list(got["respondent_id"]) == list(ref["respondent_id"])


def test_decimal_comma_and_case_insensitive_names(q, tmp_path):
    df = pd.read_csv(RAW, dtype=str, keep_default_na=False).head(5)
    df.columns = [c.upper() if c.startswith("bc") else c for c in df.columns]
    df["duration_s"] = "612,5"
    p = tmp_path / "w.csv"
    df.to_csv(p, sep=";", index=False)
    got = load_survey(p, q)
    assert "bc1" in got.columns and got.attrs["renamed"]["BC1"] == "bc1"
    assert got["duration_s"].tolist() == [612.5] * 5


def test_excel_spss_stata(ref, q, tmp_path):
    import pyreadstat
    df = pd.read_csv(RAW)
    df.to_excel(tmp_path / "w.xlsx", index=False)
    pyreadstat.write_sav(df, str(tmp_path / "w.sav"))
    pyreadstat.write_dta(df, str(tmp_path / "w.dta"))
    for name in ("w.xlsx", "w.sav", "w.dta"):
        got = load_survey(tmp_path / name, q)
        assert got.shape == ref.shape, name
        pd.testing.assert_frame_equal(got[q.items], ref[q.items], check_dtype=False, obj=name)
        assert list(got["respondent_id"]) == list(ref["respondent_id"])


def test_excel_with_text_answers_and_blank_rows(q, tmp_path):
    df = pd.read_csv(RAW).head(6).astype(object)
    df.loc[2, "bc2"] = "Strongly agree"
    df.loc[3, "bc2"] = "banana"
    df = pd.concat([df, pd.DataFrame([[None] * df.shape[1]], columns=df.columns)], ignore_index=True)
    df.to_excel(tmp_path / "t.xlsx", index=False)
    got = load_survey(tmp_path / "t.xlsx", q)
    assert len(got) == 6
    assert got["bc2"].dtype == object
    assert got.loc[2, "bc2"] == "Strongly agree" and got.loc[3, "bc2"] == "banana"
    assert got.loc[0, "bc2"] == 5.0


def test_numeric_ids_keep_their_text(q, tmp_path):
    df = pd.read_csv(RAW).head(3)
    df["respondent_id"] = ["0012", "0013", "0014"]
    df.to_csv(tmp_path / "w.csv", index=False)
    assert list(load_survey(tmp_path / "w.csv", q)["respondent_id"]) == ["0012", "0013", "0014"]


def test_to_number():
    assert to_number(" 5 ") == 5.0 and to_number("５") == 5.0 and to_number("3,5") == 3.5
    assert np.isnan(to_number("")) and np.isnan(to_number("NA")) and np.isnan(to_number(None))
    assert to_number("agree") is None and to_number("inf") is None


def test_without_questionnaire(tmp_path):
    got = load_survey(RAW)
    assert got.shape == (424, 39) and got["bc1"].dtype == float


# --------------------------------------------------------------------------- bad input
def _raises(path, q, *needles):
    with pytest.raises(DataError) as ei:
        load_survey(path, q)
    msg = str(ei.value)
    for n in needles:
        assert n in msg, msg
    assert "fix:" in msg
    return msg


def test_empty_file(q, tmp_path):
    (tmp_path / "e.csv").write_bytes(b"")
    _raises(tmp_path / "e.csv", q, "empty")
    (tmp_path / "ws.csv").write_text("\n\n  \n")
    _raises(tmp_path / "ws.csv", q, "empty")


def test_header_without_rows(q, tmp_path):
    (tmp_path / "h.csv").write_text(RAW.read_text().splitlines()[0] + "\n")
    _raises(tmp_path / "h.csv", q, "no data rows")
    pd.DataFrame(columns=pd.read_csv(RAW, nrows=1).columns).to_excel(tmp_path / "h.xlsx", index=False)
    _raises(tmp_path / "h.xlsx", q, "no data rows")


def test_duplicated_column_names(q, tmp_path):
    lines = RAW.read_text().splitlines()
    lines[0] = lines[0].replace('"ce1"', '"bc2"')
    (tmp_path / "d.csv").write_text("\n".join(lines[:5]) + "\n")
    _raises(tmp_path / "d.csv", q, "'bc2' appears twice", "columns 6 and 8")


def test_duplicated_after_case_folding(q, tmp_path):
    lines = RAW.read_text().splitlines()
    lines[0] = lines[0].replace('"ce1"', '"BC2"')
    (tmp_path / "d.csv").write_text("\n".join(lines[:5]) + "\n")
    _raises(tmp_path / "d.csv", q, "'BC2'", "'bc2'")


def test_missing_item_column(q, tmp_path):
    df = pd.read_csv(RAW).head(5).drop(columns=["pm2"])
    df.to_csv(tmp_path / "m.csv", index=False)
    _raises(tmp_path / "m.csv", q, "'pm2'", "missing")
    df = pd.read_csv(RAW).head(5).rename(columns={"pm2": "pm_2"})
    df.to_csv(tmp_path / "m2.csv", index=False)
    _raises(tmp_path / "m2.csv", q, "'pm_2' -> 'pm2'")


def test_unnamed_column_with_data(q, tmp_path):
    lines = RAW.read_text().splitlines()[:4]
    lines = [lines[0] + ',""'] + [ln + ",1" for ln in lines[1:]]
    (tmp_path / "u.csv").write_text("\n".join(lines) + "\n")
    _raises(tmp_path / "u.csv", q, "column 40 has data but no name")
    lines = RAW.read_text().splitlines()[:4]
    (tmp_path / "u2.csv").write_text("\n".join(ln + "," for ln in lines) + "\n")   # trailing separators
    assert load_survey(tmp_path / "u2.csv", q).shape == (3, 39)


def test_unsupported_missing_and_folder(q, tmp_path):
    (tmp_path / "w.xls").write_bytes(b"x")
    _raises(tmp_path / "w.xls", q, "unsupported", ".xlsx")
    _raises(tmp_path / "nope.csv", q, "not found")
    _raises(tmp_path, q, "folder")


def test_ragged_rows(q, tmp_path):
    lines = RAW.read_text().splitlines()[:4]
    lines[2] += ",1,2,3"
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    _raises(tmp_path / "r.csv", q, "separator")


def test_corrupt_workbook_and_sav(q, tmp_path):
    (tmp_path / "c.xlsx").write_bytes(b"not a zip")
    _raises(tmp_path / "c.xlsx", q, "not a readable .xlsx")
    (tmp_path / "c.sav").write_bytes(b"not spss")
    _raises(tmp_path / "c.sav", q, "SPSS")


def test_undecodable_bytes(q, tmp_path):
    (tmp_path / "b.csv").write_bytes(b"respondent_id,bc1\n\xff\xfe\xfa\x80\x81,1\n")
    with pytest.raises(DataError, match="encoding|UTF-8|GB"):
        load_survey(tmp_path / "b.csv", q, encoding="ascii")


def test_conform_columns_dataframe(q):
    df = pd.read_csv(RAW).head(3).rename(columns={"bc1": "BC1"})
    out = conform_columns(df, q)
    assert "bc1" in out.columns and "BC1" in df.columns          # the input is untouched
    with pytest.raises(DataError, match="'cs3'"):
        conform_columns(df.drop(columns="cs3"), q)
    with pytest.raises(DataError, match="no rows"):
        conform_columns(df.iloc[:0], q)
