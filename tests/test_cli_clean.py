"""`icaf-sem clean`: outputs, atomic writing and one-line errors with exit code 2."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from icaf_sem.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).resolve().parent / "fixtures" / "survey"
ICAF = str(ROOT / "questionnaires" / "icaf.yaml")
RAW = FIX / "icaf_wave1_raw.csv"


def cli(capsys, *args):
    rc = main(["clean", *map(str, args)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_clean_writes_the_four_tables(capsys, tmp_path):
    rc, out, err = cli(capsys, "--questionnaire", ICAF, "--data", RAW, "--out", tmp_path / "o")
    assert rc == 0, err
    o = tmp_path / "o"
    assert {"clean.csv", "exclusions.csv", "cell_fixes.csv", "flow.csv"} <= {p.name for p in o.iterdir()}
    assert not list(tmp_path.glob(".*part*"))                    # no staging folder left behind
    clean = pd.read_csv(o / "clean.csv")
    exp = pd.read_csv(FIX / "icaf_wave1_clean.csv")
    assert list(clean.columns[:4]) == ["respondent_id", "level", "role", "duration_s"]
    assert sorted(clean.respondent_id) == sorted(exp.respondent_id)
    m = clean.set_index("respondent_id").loc[exp.respondent_id, exp.columns[3:]]
    pd.testing.assert_frame_equal(m.reset_index(drop=True).astype(float),
                                  exp[exp.columns[3:]].astype(float))
    ex = pd.read_csv(o / "exclusions.csv")
    assert list(ex.columns[:3]) == ["respondent_id", "reason", "detail"]
    assert list(pd.read_csv(o / "cell_fixes.csv").columns[:4]) == ["respondent_id", "item", "raw_value", "action"]
    assert list(pd.read_csv(o / "flow.csv").columns[:3]) == ["step", "n_remaining", "n_removed"]
    assert "424 rows -> 396 respondents" in out


@pytest.mark.parametrize("kind", ["missing_column", "empty", "header_only", "duplicate", "bad_yaml",
                                  "no_questionnaire", "no_data"])
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, kind):
    data, quest = tmp_path / "w.csv", ICAF
    lines = RAW.read_text().splitlines()
    if kind == "missing_column":
        pd.read_csv(RAW).drop(columns="pw3").to_csv(data, index=False)
    elif kind == "empty":
        data.write_text("")
    elif kind == "header_only":
        data.write_text(lines[0] + "\n")
    elif kind == "duplicate":
        data.write_text("\n".join([lines[0].replace('"pw2"', '"pw1"')] + lines[1:5]) + "\n")
    elif kind == "bad_yaml":
        shutil.copy(RAW, data)
        quest = tmp_path / "q.yaml"
        quest.write_text("name: x\nscale: {min: 7, max: 1}\nconstructs: {A: {items: {a1: {en: x}}}}\n")
    elif kind == "no_questionnaire":
        shutil.copy(RAW, data)
        quest = tmp_path / "missing.yaml"
    elif kind == "no_data":
        data = tmp_path / "nothing.csv"
    out = tmp_path / "o"
    rc, _, err = cli(capsys, "--questionnaire", quest, "--data", data, "--out", out)
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("icaf-sem: error:"), err
    assert "Traceback" not in err
    assert not out.exists()                                      # nothing written
    needle = {"missing_column": "'pw3'", "empty": "empty", "header_only": "no data rows",
              "duplicate": "'pw1' appears twice", "bad_yaml": "scale.min", "no_questionnaire": "not found",
              "no_data": "not found"}[kind]
    assert needle in err


def test_failure_leaves_an_existing_output_folder_untouched(capsys, tmp_path):
    out = tmp_path / "o"
    rc, _, _ = cli(capsys, "-q", ICAF, "-d", RAW, "-o", out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad.csv"
    pd.read_csv(RAW).drop(columns="bc1").to_csv(bad, index=False)
    rc, _, err = cli(capsys, "-q", ICAF, "-d", bad, "-o", out)
    assert rc == 2 and "'bc1'" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_warnings_are_one_line_each(capsys, tmp_path):
    df = pd.read_csv(RAW)
    df["pm2"] = None
    df.to_csv(tmp_path / "w.csv", index=False)
    rc, _, err = cli(capsys, "-q", ICAF, "-d", tmp_path / "w.csv", "-o", tmp_path / "o", "--quiet")
    assert rc == 0
    assert "icaf-sem: warning:" in err and "'pm2'" in err


def test_gbk_semicolon_excel_inputs(capsys, tmp_path):
    df = pd.read_csv(RAW)
    df.to_csv(tmp_path / "g.csv", sep=";", index=False, encoding="gbk")
    df.to_excel(tmp_path / "x.xlsx", index=False)
    for name in ("g.csv", "x.xlsx"):
        rc, _, err = cli(capsys, "-q", ICAF, "-d", tmp_path / name, "-o", tmp_path / name.replace(".", "_"), "--quiet")
        assert rc == 0, err
        assert len(pd.read_csv(tmp_path / name.replace(".", "_") / "clean.csv")) == 396


def test_console_script_and_bundled_questionnaire(tmp_path):
    exe = shutil.which("icaf-sem")
    cmd = [exe] if exe else [sys.executable, "-m", "icaf_sem.cli"]
    res = subprocess.run(cmd + ["clean", "--questionnaire", "icaf", "--data", str(ROOT / "icaf_sem" / "data" /
                                "example_wave.csv"), "--out", str(tmp_path / "o"), "--quiet"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    got = pd.read_csv(tmp_path / "o" / "clean.csv")
    exp = pd.read_csv(ROOT / "icaf_sem" / "data" / "example_wave_clean.csv")
    assert len(got) == len(exp) == 400 - 24 and sorted(got.respondent_id) == sorted(exp.respondent_id)
