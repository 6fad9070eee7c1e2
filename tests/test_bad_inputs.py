"""Hostile and careless input (issue 16): refused clearly, never a traceback, nothing half-written.

The CLI table runs each case in a fresh process (``python -m icaf_sem ...``) and checks: exit
code 2, exactly one line on stderr that names the culprit, no traceback, the raw input unchanged
(SHA-256) and the output folder either absent or byte-for-byte as it was.  Then the Python API
cases (IcafError subclasses), the model-syntax escapes (refused, no file created) and the
atomic-output rules.
"""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icaf_sem
from icaf_sem.errors import (BootstrapWarning, DataError, IcafError, ModelSpecificationError, ModelSyntaxError,
                             OutputError, ResourceError)
from icaf_sem.model.syntax import compile_expression, parse_model

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).resolve().parent / "fixtures"
ICAF = ROOT / "questionnaires" / "icaf.yaml"
RAW = FIX / "survey" / "icaf_wave1_raw.csv"
HS = FIX / "data" / "holzinger_swineford_1939.csv"
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(folder: Path):
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(folder.rglob("*"))}


def _run(args, cwd, timeout=240):
    return subprocess.run([sys.executable, "-m", "icaf_sem", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})


# --------------------------------------------------------------------------- the inputs
def _raw_text() -> str:
    return RAW.read_text(encoding="utf-8")


def _make(tmp: Path, kind: str) -> dict:
    """Write the files of one case; return {'args': [...], 'raw': path, 'out': path, 'needle': str}."""
    out = tmp / "out"
    raw = tmp / "raw.csv"
    hs = pd.read_csv(HS)
    model = tmp / "model.lav"
    model.write_text(HS_MODEL, encoding="utf-8")
    clean_args = lambda data: ["clean", "-q", ICAF, "-d", data, "-o", out]          # noqa: E731
    fit_args = lambda data, m=model: ["fit", "--model", m, "--data", data, "--json", tmp / "fit.json"]  # noqa: E731
    if kind == "out_is_a_file":
        raw.write_text(_raw_text(), encoding="utf-8")
        out.write_text("not a folder\n")
        return dict(args=clean_args(raw), raw=raw, out=out, needle="is a file")
    if kind == "out_holds_user_files":
        raw.write_text(_raw_text(), encoding="utf-8")
        out.mkdir()
        (out / "thesis.docx").write_text("my thesis")
        return dict(args=clean_args(raw), raw=raw, out=out, needle="thesis.docx")
    if kind == "out_parent_is_a_file":
        raw.write_text(_raw_text(), encoding="utf-8")
        (tmp / "afile").write_text("x")
        return dict(args=clean_args(raw)[:-1] + [tmp / "afile" / "sub"], raw=raw, out=tmp / "afile", needle="afile")
    if kind == "analyze_out_is_a_file":       # checked before the analysis starts
        raw.write_text(_raw_text(), encoding="utf-8")
        out.write_text("x")
        return dict(args=["analyze", "-q", ICAF, "-d", raw, "-o", out], raw=raw, out=out, needle="is a file")
    if kind == "missing_input":
        return dict(args=clean_args(tmp / "nope.csv"), raw=None, out=out, needle="nope.csv")
    if kind == "input_is_a_folder":
        (tmp / "adir.csv").mkdir()
        return dict(args=clean_args(tmp / "adir.csv"), raw=None, out=out, needle="adir.csv")
    if kind == "wrong_type":
        p = tmp / "raw.pdf"
        p.write_bytes(b"%PDF-1.4 not a survey")
        return dict(args=clean_args(p), raw=p, out=out, needle="'.pdf'")
    if kind == "binary_named_csv":
        raw.write_bytes(b"\x00\x01\x02PK\x03\x04" * 200)
        return dict(args=clean_args(raw), raw=raw, out=out, needle="NUL")
    if kind == "duplicated_export_column":
        lines = _raw_text().splitlines()
        lines = [ln + "," + ln.split(",")[4] for ln in lines]
        raw.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return dict(args=clean_args(raw), raw=raw, out=out, needle="'bc1' appears twice")
    if kind == "model_escape":
        m = tmp / "evil.lav"
        m.write_text("visual =~ x1 + __import__('os').system('touch PWNED')*x2 + x3\n", encoding="utf-8")
        hs.to_csv(raw, index=False)
        return dict(args=fit_args(raw, m), raw=raw, out=tmp / "fit.json", needle="__import__")
    if kind == "multilevel":
        m = tmp / "ml.lav"
        m.write_text("level: 1\n visual =~ x1 + x2 + x3\nlevel: 2\n visual =~ x1 + x2 + x3\n", encoding="utf-8")
        hs.to_csv(raw, index=False)
        return dict(args=fit_args(raw, m), raw=raw, out=tmp / "fit.json", needle="multilevel")
    if kind == "only_defined":
        m = tmp / "def.lav"
        m.write_text("ab := a*b\n", encoding="utf-8")
        hs.to_csv(raw, index=False)
        return dict(args=fit_args(raw, m), raw=raw, out=tmp / "fit.json", needle="add the measurement")
    if kind == "identical_columns":
        hs["x2"] = hs["x1"]
        hs.to_csv(raw, index=False)
        return dict(args=fit_args(raw), raw=raw, out=tmp / "fit.json", needle="'x1' and 'x2'")
    if kind == "collinear_items":
        hs["x3"] = hs["x1"] + hs["x2"]
        hs.to_csv(raw, index=False)
        return dict(args=fit_args(raw), raw=raw, out=tmp / "fit.json", needle="'x3'")
    if kind == "item_with_two_answers":
        hs.loc[2:, "x5"] = np.nan
        hs.to_csv(raw, index=False)
        return dict(args=fit_args(raw) + ["--missing", "ml"], raw=raw, out=tmp / "fit.json", needle="'x5'")
    if kind == "tiny_scale":
        for c in ("x1", "x2", "x3"):
            hs[c] = hs[c] * 1e-150
        hs.to_csv(raw, index=False)
        return dict(args=fit_args(raw), raw=raw, out=tmp / "fit.json", needle="degenerate scale")
    if kind == "group_of_two":
        hs.loc[:1, "school"] = "Tiny"
        hs.to_csv(raw, index=False)
        return dict(args=fit_args(raw) + ["--group", "school"], raw=raw, out=tmp / "fit.json", needle="'Tiny'")
    if kind == "bad_start_value":
        m = tmp / "start.lav"
        m.write_text(HS_MODEL.replace("x1 + x2", "x1 + start(1e300)*x2"), encoding="utf-8")
        hs.to_csv(raw, index=False)
        return dict(args=fit_args(raw, m), raw=raw, out=tmp / "fit.json", needle="visual =~ x2")
    if kind == "huge_bootstrap":
        hs.to_csv(raw, index=False)
        return dict(args=fit_args(raw) + ["--bootstrap", "100000000"], raw=raw, out=tmp / "fit.json",
                    needle="GiB")
    if kind == "unknown_close":
        d = pd.read_csv(FIX / "survey" / "icaf_wave1_clean.csv")
        d.to_csv(raw, index=False)
        return dict(args=["reliability", "--questionnaire", ICAF, "--data", raw, "--close", "BC,ZZ",
                          "--json", tmp / "rel.json"], raw=raw, out=tmp / "rel.json", needle="'ZZ'")
    raise AssertionError(kind)


CASES = ["out_is_a_file", "out_holds_user_files", "out_parent_is_a_file", "analyze_out_is_a_file",
         "missing_input", "input_is_a_folder", "wrong_type", "binary_named_csv", "duplicated_export_column",
         "model_escape", "multilevel", "only_defined", "identical_columns", "collinear_items",
         "item_with_two_answers", "tiny_scale", "group_of_two", "bad_start_value", "huge_bootstrap",
         "unknown_close"]


# a fresh process for these (the whole path: python -m icaf_sem); the others run cli.main in
# this process with the same checks, to keep the module fast on a shared machine
SUBPROCESS = {"out_holds_user_files", "analyze_out_is_a_file", "binary_named_csv", "model_escape",
              "collinear_items", "tiny_scale", "huge_bootstrap"}


def _in_process(args, cwd, capsys):
    from icaf_sem import cli
    old_show, old_term = warnings.showwarning, signal.getsignal(signal.SIGTERM)
    cwd0 = os.getcwd()
    try:
        os.chdir(cwd)
        capsys.readouterr()
        rc = cli.main([str(a) for a in args])
        cap = capsys.readouterr()
    finally:
        os.chdir(cwd0)
        warnings.showwarning = old_show
        signal.signal(signal.SIGTERM, old_term)
    return subprocess.CompletedProcess(args, rc, cap.out, cap.err)


@pytest.mark.parametrize("kind", CASES)
def test_cli_refuses_bad_input(kind, tmp_path, capsys):
    case = _make(tmp_path, kind)
    raw_hash = _sha(case["raw"]) if case["raw"] is not None and case["raw"].is_file() else None
    before = _snapshot(case["out"]) if case["out"].is_dir() else (
        case["out"].read_bytes() if case["out"].is_file() else None)
    res = _run(case["args"], cwd=tmp_path) if kind in SUBPROCESS else _in_process(case["args"], tmp_path, capsys)
    assert res.returncode == 2, (res.returncode, res.stderr)
    err = res.stderr
    assert "Traceback" not in err and "DLASCL" not in err, err
    assert err.count("\n") == 1 and err.startswith("icaf-sem: error:"), err
    assert case["needle"] in err, err
    if raw_hash is not None:
        assert _sha(case["raw"]) == raw_hash                     # the raw input is never modified
    after = _snapshot(case["out"]) if case["out"].is_dir() else (
        case["out"].read_bytes() if case["out"].is_file() else None)
    assert after == before                                      # absent, or exactly as it was
    assert not (tmp_path / "PWNED").exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith((".part", ".old"))]


# --------------------------------------------------------------------------- model syntax: no code runs
ESCAPES = [
    "().__class__.__base__.__subclasses__()",
    "__import__('os').system('touch PWNED')",
    "open('PWNED', 'w').write('x')",
    "(lambda: __import__('os').system('touch PWNED'))()",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "exec('import os')",
    "getattr(1, 'real')",
    "a if b else c",
    "(1).__class__",
]


@pytest.mark.parametrize("evil", ESCAPES)
def test_escape_strings_are_refused_and_create_nothing(evil, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for model in (f"f =~ x1 + {evil}*x2 + x3", f"f =~ x1 + start({evil})*x2 + x3",
                  f"f =~ x1 + c(1, {evil})*x2 + x3", f"f =~ x1 + a*x2 + x3\nd := {evil}",
                  f"f =~ x1 + a*x2 + x3\na == {evil}"):
        with pytest.raises(ModelSyntaxError, match="line"):
            parse_model(model)
    with pytest.raises(ModelSyntaxError):
        compile_expression(evil, {"a", "b", "c", "x"}, "line 1")
    assert list(tmp_path.iterdir()) == []


def test_expressions_still_work_without_eval():
    f, names = compile_expression("a*b + sqrt(abs(c.1))^2 - exp(0) + 2^-1", {"a", "b", "c.1"}, "line 3")
    assert names == ["a", "b", "c.1"]
    assert f({"a": 2.0, "b": 3.0, "c.1": -4.0}) == pytest.approx(6 + 4 - 1 + 0.5)
    draws = f({"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0]), "c.1": 1.0})
    np.testing.assert_allclose(draws, [3 + 1 - 1 + 0.5, 8 + 1 - 1 + 0.5])
    st = {s.rhs: s.modifier for s in parse_model("f =~ x1 + -0.5*x2 + 1/2*x3 + start(2^-1)*x4")}
    assert st["x2"].fixed == [-0.5] and st["x3"].fixed == [0.5] and st["x4"].start == [0.5]


def test_repeated_term_modifiers_combine_as_lavaan():
    # lavaanify("f =~ NA*x1 + l1*x1 + x2 + x3"): x1 free AND labelled l1 (one row)
    st = [s for s in parse_model("f =~ NA*x1 + l1*x1 + x2 + x3") if s.rhs == "x1"]
    assert len(st) == 1 and st[0].modifier.free == [True] and st[0].modifier.label == ["l1"]
    from icaf_sem.model.partable import build_partable
    t = build_partable("f =~ NA*x1 + l1*x1 + x2 + x3").table
    r = t[(t.op == "=~") & (t.rhs == "x1")].iloc[0]
    assert r.free > 0 and r.label == "l1"
    # first value wins, as lavaan: 0.5*x2 + NA*x2 stays fixed at 0.5; a*x2 + b*x2 keeps a
    m = {s.rhs: s.modifier for s in parse_model("f =~ x1 + 0.5*x2 + NA*x2 + a*x3 + b*x3")}
    assert m["x2"].fixed == [0.5] and m["x3"].label == ["a"]
    # the same element in two statements is an error in lavaan 0.6-14 ("duplicate model element")
    with pytest.raises(ModelSyntaxError, match="duplicate model element"):
        parse_model("f =~ x1 + x2 + x3\nf =~ x2")
    with pytest.raises(ModelSyntaxError, match="duplicate model element"):
        parse_model("f =~ x1 + x2 + x3\nx1 ~~ x2\nx2 ~~ x1")


# --------------------------------------------------------------------------- Python API
def _hs():
    return pd.read_csv(HS)


@pytest.mark.parametrize("kwargs, exc, needle", [
    (dict(seed=-1, bootstrap=10), ModelSpecificationError, "seed=-1"),
    (dict(seed=1.5, bootstrap=10), ModelSpecificationError, "seed=1.5"),
    (dict(max_iter=0), ModelSpecificationError, "max_iter"),
    (dict(bootstrap=10**9), ResourceError, "draws"),
])
def test_fit_validates_arguments(kwargs, exc, needle):
    with pytest.raises(exc, match=needle):
        icaf_sem.fit(HS_MODEL, _hs(), modindices=False, **kwargs)


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d.assign(x2=d.x1), "'x1' and 'x2'"),
    (lambda d: d.assign(x3=d.x1 - 2 * d.x2), "'x3'"),
    (lambda d: d.assign(x1=d.x1 * 1e-150, x2=d.x2 * 1e-150, x3=d.x3 * 1e-150), "degenerate scale"),
    (lambda d: d.assign(x4=d.x4 * 1e200), "degenerate scale"),
])
def test_fit_names_the_items_of_numerical_trouble(mutate, needle):
    with pytest.raises(DataError, match=needle):
        icaf_sem.fit(HS_MODEL, mutate(_hs()), modindices=False)


def test_bad_start_values_name_the_parameter():
    from icaf_sem.errors import EstimationError
    model = "visual =~ x1 + start(1e300)*x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    with pytest.raises(EstimationError, match=r"visual =~ x2: start\(1e\+300\)"):
        icaf_sem.fit(model, _hs(), modindices=False)
    ok = icaf_sem.fit(model.replace("1e300", "0.5"), _hs(), modindices=False)   # a sane start is fine
    assert ok.fit_measures["chisq"] == pytest.approx(85.3055, abs=1e-3)


def test_reliability_api_refuses_degenerate_data():
    from icaf_sem.measurement.reliability import reliability_report
    d = _hs()
    with pytest.raises(DataError, match="'x1' and 'x2'"):
        reliability_report(d.assign(x2=d.x1), model=HS_MODEL)
    with pytest.raises(DataError, match="degenerate scale"):
        reliability_report(d.assign(x1=d.x1 * 1e-150, x2=d.x2 * 1e-150), model=HS_MODEL)
    with pytest.raises(DataError, match="'ZZ'"):
        reliability_report(d, model=HS_MODEL, close_pairs=[("visual", "ZZ")])
    with pytest.raises(DataError, match="seed"):
        reliability_report(d, model=HS_MODEL, seed=-3)


def test_mardia_is_scale_free_and_bounded():
    from icaf_sem.measurement.diagnostics import mardia
    x = pd.DataFrame(np.random.default_rng(5).standard_normal((500, 6)))
    a, b = mardia(x).iloc[0], mardia(x * 1e-150).iloc[0]
    assert a["b1p"] == pytest.approx(b["b1p"], rel=1e-9) and a["b2p"] == pytest.approx(b["b2p"], rel=1e-9)
    # the n x n formula, for the record: b1p = mean over i, j of d_ij^3
    xc = x.to_numpy() - x.to_numpy().mean(0)
    d = xc @ np.linalg.inv(np.cov(xc, rowvar=False)) @ xc.T
    assert a["b1p"] == pytest.approx((d ** 3).sum() / len(x) ** 2, rel=1e-9)
    with pytest.raises(DataError, match="singular"):
        mardia(x.assign(extra=x[0] + x[1]))


def test_analyze_api_validation(tmp_path):
    from icaf_sem.pipeline import analyze
    with pytest.raises(DataError, match="questionnaire=None"):
        analyze(RAW, None)
    with pytest.raises(ModelSpecificationError, match="seed"):
        analyze(RAW, ICAF, seed=-1)


def test_structural_cycle_is_refused(tmp_path):
    from icaf_sem import load_questionnaire
    from icaf_sem.hypotheses import check_recursive, structural_cycle
    text = (ROOT / "questionnaires" / "tam_example.yaml").read_text(encoding="utf-8")
    text = text.replace('  - {id: T4, path: PEOU -> PU -> BI, expected_sign: "+"}',
                        '  - {id: T4, path: PEOU -> PU -> BI, expected_sign: "+"}\n'
                        '  - {id: T5, path: PU ~ BI, expected_sign: "+"}')
    p = tmp_path / "cycle.yaml"
    p.write_text(text, encoding="utf-8")
    q = load_questionnaire(p)
    assert structural_cycle(q) in (["PU", "BI", "PU"], ["BI", "PU", "BI"])
    with pytest.raises(ModelSpecificationError, match="cycle"):
        check_recursive(q)
    assert structural_cycle(load_questionnaire(ROOT / "questionnaires" / "tam_example.yaml")) == []


def test_mediation_uses_the_bootstrap_interval_at_one_minus_alpha():
    from icaf_sem import load_questionnaire
    from icaf_sem.hypotheses import test_hypotheses
    q = load_questionnaire(ICAF)
    d = pd.read_csv(FIX / "survey" / "icaf_wave1_clean.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = icaf_sem.fit(q.model_syntax(), d, bootstrap=120, seed=3, modindices=False)
        h = test_hypotheses(res, q, alpha=0.10)
    med = h[h.kind == "mediation"]
    assert set(med.ci_method) <= {"bootstrap bias-corrected", "bootstrap percentile"}
    assert np.allclose(med.ci_level, 0.90)
    # 90% intervals are inside the 95% ones computed from the same draws
    h95 = test_hypotheses(res, q, alpha=0.05)
    m95 = h95[h95.kind == "mediation"]
    assert (med.boot_pct_upper.to_numpy() - med.boot_pct_lower.to_numpy()
            <= m95.boot_pct_upper.to_numpy() - m95.boot_pct_lower.to_numpy() + 1e-12).all()
    # 120 draws are too few for a 99% interval ((R + 1) * .005 < 1): unavailable, not replaced
    with pytest.warns(BootstrapWarning):
        h99 = test_hypotheses(res, q, alpha=0.01)
    m99 = h99[h99.kind == "mediation"]
    assert m99.ci_lower.isna().all() and (m99.ci_method == "bootstrap (unavailable)").all()
    assert not m99.supported.any()


# --------------------------------------------------------------------------- survey files
def test_encodings_and_line_endings(tmp_path):
    from icaf_sem.survey.io import load_survey
    base = pd.DataFrame({"id": ["a", "b", "c"], "name": ["Müller", "Zoë", "café"], "x": [1, 2, 3]})
    for enc, expect in (("latin-1", ("cp1252", "latin-1")), ("utf-16-le", ("utf-16-le",)),
                        ("utf-16-be", ("utf-16-be",)), ("gb18030", ("gb18030",))):
        df = base if enc != "gb18030" else base.assign(name=["张三", "李四", "王五"])
        p = tmp_path / f"{enc}.csv"
        p.write_bytes(df.to_csv(index=False).encode(enc))
        got = load_survey(p)
        assert got.attrs["encoding"] in expect, (enc, got.attrs["encoding"])
        assert list(got["name"]) == list(df["name"])
    p = tmp_path / "cr.csv"
    p.write_bytes(base.to_csv(index=False).replace("\n", "\r").encode("utf-8"))
    got = load_survey(p)
    assert got.attrs["line_endings"] == "CR" and list(got["x"]) == [1.0, 2.0, 3.0]


def test_na_text_in_items_is_logged_in_cell_fixes(tmp_path):
    from icaf_sem import clean
    raw = pd.read_csv(RAW, dtype=str, keep_default_na=False)
    raw.loc[0:4, "bc3"] = ["n/a", "NA", "null", ".", "N/A "]
    p = tmp_path / "raw.csv"
    raw.to_csv(p, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = clean(p, ICAF)
    fx = res.cell_fixes[(res.cell_fixes["item"] == "bc3") & (res.cell_fixes["action"] == "missing-value text -> empty")]
    assert sorted(fx["raw_value"].str.strip()) == sorted(["n/a", "NA", "null", ".", "N/A"])


# --------------------------------------------------------------------------- atomic outputs
def test_atomic_dir_replaces_whole_folder_and_keeps_user_files(tmp_path):
    from icaf_sem._atomic import atomic_dir
    out = tmp_path / "report"
    with atomic_dir(out) as st:
        (st / "report.html").write_text("1")
        (st / "figures").mkdir()
        (st / "figures" / "a.png").write_text("png")
    with atomic_dir(out) as st:                              # e.g. --no-figures the second time
        (st / "report.html").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]   # no stale figures
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as st:
            (st / "report.html").write_text("3")
            raise RuntimeError("boom")
    assert (out / "report.html").read_text() == "2"
    (out / "my_notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="my_notes.txt"):
        with atomic_dir(out) as st:
            (st / "report.html").write_text("4")
    assert (out / "my_notes.txt").read_text() == "mine" and (out / "report.html").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_full_disk_is_one_clear_error_and_leaves_the_target(tmp_path):
    import errno
    from icaf_sem._atomic import atomic_dir, atomic_write
    out = tmp_path / "o"
    out.mkdir()
    (out / "clean.csv").write_text("old")

    def _full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(OutputError, match="disk is full"):
        with atomic_dir(out) as st:
            (st / "clean.csv").write_text("new")
            _full()
    with pytest.raises(OutputError, match="disk is full"):
        atomic_write(tmp_path / "x.json", _full)
    assert (out / "clean.csv").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_sigterm_leaves_no_part_folder(tmp_path):
    out = tmp_path / "o"
    code = ("import time, sys\nsys.argv = ['icaf-sem']\n"
            "from icaf_sem import cli\n"
            "from icaf_sem._atomic import atomic_dir\n"
            "def run(args):\n"
            "    with atomic_dir(%r) as st:\n"
            "        (st / 'clean.csv').write_text('x')\n"
            "        print('staged', flush=True)\n"
            "        time.sleep(60)\n"
            "    return 0\n"
            "cli.build_parser = lambda: type('P', (), {'parse_args': lambda self, a: type('A', (), {'func': staticmethod(run)})()})()\n"
            "sys.exit(cli.main([]))\n") % str(out)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "staged"
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "Traceback" not in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
