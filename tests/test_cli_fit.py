"""`icaf-sem fit`: the JSON contract of ../shared/README.md, and one clear line on bad input."""
import json
import subprocess
import sys

import pytest

from lavaan_compare import FIX

DATA = FIX / "data" / "holzinger_swineford_1939.csv"
MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\nd := 2*1\n"


def run(*args):
    return subprocess.run([sys.executable, "-m", "icaf_sem.cli", *args], capture_output=True, text=True)


@pytest.fixture
def model(tmp_path):
    p = tmp_path / "m.lav"
    p.write_text(MODEL.replace("d := 2*1\n", ""))
    return p


def test_fit_json_layout(tmp_path, model):
    out = tmp_path / "fit.json"
    r = run("fit", "--model", str(model), "--data", str(DATA), "--estimator", "MLR", "--json", str(out))
    assert r.returncode == 0, r.stderr
    js = json.loads(out.read_text())
    row = js["parameters"][1]
    assert set(["lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue", "ci_lower", "ci_upper",
                "std_lv", "std_all"]) <= set(row)
    assert js["fit"]["npar"] == 21 and "cfi.robust" in js["fit"] and "rmsea.ci.lower" in js["fit"]
    assert js["converged"] is True and isinstance(js["warnings"], list)
    assert {"lhs", "op", "rhs", "mi", "epc", "sepc_all"} <= set(js["modindices"][0])
    assert abs(js["r2"]["x1"] - 0.5958) < 1e-3


@pytest.mark.parametrize("content,needle", [
    ("visual =~ x1 + x2 + x77", "'x77'"),
    ("visual =~ x1 + + x2", "line 1"),
    ("f =~ x1 + x2", "not identified"),
])
def test_bad_model_exit_2_one_line(tmp_path, content, needle):
    m = tmp_path / "bad.lav"
    m.write_text(content)
    out = tmp_path / "o.json"
    r = run("fit", "--model", str(m), "--data", str(DATA), "--json", str(out))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr
    assert not out.exists()


def test_missing_files_exit_2(tmp_path, model):
    r = run("fit", "--model", str(tmp_path / "nope.lav"), "--data", str(DATA), "--json", str(tmp_path / "o.json"))
    assert r.returncode == 2 and "nope.lav" in r.stderr
    r = run("fit", "--model", str(model), "--data", str(tmp_path / "nope.csv"), "--json", str(tmp_path / "o.json"))
    assert r.returncode == 2 and "nope.csv" in r.stderr


def test_usage_error_exit_2_one_line():
    r = run("fit", "--model")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_existing_output_kept_on_failure(tmp_path):
    out = tmp_path / "o.json"
    out.write_text("previous")
    m = tmp_path / "bad.lav"
    m.write_text("visual =~ x1 + x2 + x77")
    r = run("fit", "--model", str(m), "--data", str(DATA), "--json", str(out))
    assert r.returncode == 2 and out.read_text() == "previous"
