"""``icaf-sem game``: results.json, figures, html in English and Chinese, written whole or not at all."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from icaf_sem.cli import main

ROOT = Path(__file__).resolve().parents[1]
GAME = ROOT / "questionnaires" / "tripartite_game.yaml"
CLEAN = ROOT / "icaf_sem" / "data" / "example_wave_clean.csv"


def test_game_command_with_wave_writes_everything(tmp_path, capsys):
    out = tmp_path / "game"
    rc = main(["game", "--config", str(GAME), "--out", str(out), "--wave", str(CLEAN), "--questionnaire", "icaf",
               "--sigmas", "0,1.5", "--paths", "200", "--steps", "200", "--T", "10", "--seed", "3"])
    assert rc == 0
    assert "ESS" in capsys.readouterr().out
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert {"ess", "equilibria", "stochastic_stability", "simulations", "sweeps", "calibration", "replicator",
            "stability_conditions", "ess_note"} <= set(res)
    assert "Selten 1980" in res["ess_note"]
    assert len([e for e in res["equilibria"] if e["kind"] == "pure"]) == 8
    pure = [e for e in res["equilibria"] if e["kind"] == "pure"]
    assert all(len(e["eigenvalue_expressions"]) == 3 and len(e["eigenvalues"]) == 3 for e in pure)
    assert res["calibration"]["roles"]["provider"] > 0
    assert {m["parameter"] for m in res["calibration"]["mapping"]} >= {"B_P", "B_U", "Cn_P", "Rc_U"}
    # the calibrated values are the ones analysed
    for m in res["calibration"]["mapping"]:
        assert res["game"]["parameters"][m["parameter"]]["value"] == pytest.approx(m["value"])
    assert len(res["simulations"]) == 4                  # 2 noises x 2 sigmas (the file's noise list)
    assert {s["noise"] for s in res["simulations"]} == {"x(1-x)", "x"}
    figs = {p.name for p in (out / "figures").iterdir()}
    for stem in ("trajectories_x1mx", "trajectories_x", "phase_portrait", "sweep_1_S_F", "sweep_2_F_sigma"):
        assert f"{stem}.png" in figs and f"{stem}.svg" in figs
    en = (out / "game_en.html").read_text(encoding="utf-8")
    zh = (out / "game_zh.html").read_text(encoding="utf-8")
    assert "Selten" in en and "evolutionary" in en.lower()
    assert "演化稳定" in zh and "数据管理部门" in zh and "复制动态方程" in zh
    assert not list(tmp_path.glob(".game.*"))           # no staging folder left


def test_bad_config_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GAME.read_text(encoding="utf-8").replace('"B_P - Cn_P - Ce_P - Rd_P - Rc_P + S"',
                                                            '"B_P - Cn_P - Ce_P - Rd_P - Rc_P + Bonus"', 1),
                   encoding="utf-8")
    out = tmp_path / "out"
    rc = main(["game", "--config", str(bad), "--out", str(out), "--no-figures"])
    assert rc == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Bonus" in lines[0] and "payoffs[0].payoff.P" in lines[0]
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("args, words", [
    (["--wave", str(CLEAN)], ["--questionnaire"]),
    (["--questionnaire", "icaf"], ["--wave"]),
    (["--sigmas", "a,b"], ["--sigmas"]),
    (["--paths", "0"], ["--paths"]),
    (["--noise", "x^3"], ["x^3"]),
])
def test_bad_options(tmp_path, capsys, args, words):
    rc = main(["game", "--config", str(GAME), "--out", str(tmp_path / "o"), "--no-figures", "--steps", "20",
               "--paths", "10"] + args if "--paths" not in args else
              ["game", "--config", str(GAME), "--out", str(tmp_path / "o"), "--no-figures"] + args)
    assert rc == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err
    assert not (tmp_path / "o").exists()
