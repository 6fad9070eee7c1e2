"""One call from a game file (and optionally a survey wave) to results.json, figures and an html section.

:func:`analyze_game` runs the symbolic analysis, the stochastic simulations
(every noise form × every σ of the file's ``simulation`` block), the
stochastic stability table and the sweeps; :meth:`GameAnalysis.write` writes
``results.json``, ``figures/`` (PNG and SVG) and ``game_en.html`` /
``game_zh.html``, whole or not at all.

The html section's text is a small dictionary of English and Chinese strings
kept here (the report's i18n catalogue is not built yet).
"""
from __future__ import annotations

import html
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
import pandas as pd
import sympy as sp

from ..errors import ModelSpecificationError
from .model import SELTEN_NOTE, load_game
from .stochastic import NOISES, simulate, stochastic_stability
from .sweep import sweep

__all__ = ["analyze_game", "GameAnalysis", "TEXT"]

TEXT = {
    "en": {
        "title": "Evolutionary game", "players": "Players and strategies", "player": "Player",
        "variable": "Variable (share playing the first strategy)", "strategies": "Strategies",
        "parameters": "Payoff parameters", "parameter": "Parameter", "value": "Value", "meaning": "Meaning",
        "calibration": "Parameters set from the survey wave", "source": "Source", "role": "Role", "n": "n",
        "score": "Mean score", "method_scores": "mean construct scores by role",
        "method_latent": "model-implied means of a scalar-invariant multi-group CFA by role",
        "calib_note": "Values are (score − scale minimum) / (scale range) × {scale}; the other parameters keep the "
                      "values of the game file. Only the respondents of the mapped roles are used (e.g. not those answering 'both').",
        "replicator": "Replicator equations", "ess": "Equilibria and evolutionary stability",
        "profile": "Profile", "kind": "Kind", "eigenvalues": "Eigenvalues", "signs": "Signs",
        "stability": "Stability", "is_ess": "ESS", "yes": "yes", "no": "no",
        "selten": SELTEN_NOTE,
        "conditions": "Stability conditions of the pure profiles (every eigenvalue < 0)", "condition": "Condition",
        "stochastic": "Stability under noise (linearised at the pure profiles)",
        "stoch_note": "Each population near a pure profile follows du = λu dt ± σu dW: almost surely stable iff "
                      "λ − σ²/2 < 0 for every population, mean-square stable iff λ + σ²/2 < 0. Noise can stabilise a "
                      "profile almost surely while it stays unstable in mean square. With g(x) = x the noise does not "
                      "vanish at x = 1, so a profile with a population at 1 is not a rest point of the stochastic "
                      "equation.",
        "as": "Almost surely stable", "ms": "Mean-square stable", "none": "none", "noise": "Noise g(x)",
        "simulation": "Simulated paths", "scheme": "Scheme", "paths": "Paths", "left": "Left [0, 1]",
        "near": "Ended near a pure profile (share of paths)", "final_mean": "Mean final state",
        "sweeps": "Parameter sweeps", "regions": "Share of the grid", "figures": "Figures",
        "fig_traj": "Trajectories for several noise intensities", "fig_phase": "Phase portrait (σ = 0)",
        "fig_sweep": "Sweep", "references": "References",
    },
    "zh": {
        "title": "演化博弈", "players": "博弈主体与策略", "player": "主体", "variable": "变量（选择第一种策略的比例）",
        "strategies": "策略", "parameters": "收益参数", "parameter": "参数", "value": "取值", "meaning": "含义",
        "calibration": "由调查数据设定的参数", "source": "来源", "role": "角色", "n": "样本量", "score": "平均得分",
        "method_scores": "按角色计算的构念平均得分", "method_latent": "按角色分组、满足标量不变性的多组验证性因子分析的模型隐含均值",
        "calib_note": "取值 =（得分 − 量表最小值）/ 量表全距 × {scale}；其余参数沿用博弈文件中的取值。仅使用所映射角色的受访者（例如不含角色为\u201c两者兼有\u201d者）。",
        "replicator": "复制动态方程", "ess": "均衡点与演化稳定性", "profile": "策略组合", "kind": "类型",
        "eigenvalues": "特征值", "signs": "符号", "stability": "稳定性", "is_ess": "演化稳定策略", "yes": "是", "no": "否",
        "selten": "在非对称（多群体）博弈中，只有严格纳什均衡才可能是演化稳定的（Selten, 1980）：当且仅当复制动态雅可比矩阵在某纯策略组合处的"
                  "全部特征值为负时，该组合是演化稳定策略；混合均衡点不可能是演化稳定策略。",
        "conditions": "纯策略组合的稳定条件（全部特征值 < 0）", "condition": "条件",
        "stochastic": "噪声下的稳定性（在纯策略组合处线性化）",
        "stoch_note": "在纯策略组合附近，各群体满足 du = λu dt ± σu dW：当且仅当各群体均有 λ − σ²/2 < 0 时几乎必然稳定，"
                      "当且仅当 λ + σ²/2 < 0 时均方稳定。噪声可以使某一组合几乎必然稳定，而其均方意义下仍不稳定。"
                      "若 g(x) = x，噪声在 x = 1 处不为零，因此含有取值为 1 的群体的组合不是随机方程的平衡点。",
        "as": "几乎必然稳定", "ms": "均方稳定", "none": "无", "noise": "噪声项 g(x)",
        "simulation": "随机路径模拟", "scheme": "数值格式", "paths": "路径数", "left": "越出 [0, 1]",
        "near": "终点靠近纯策略组合的路径比例", "final_mean": "终点均值",
        "sweeps": "参数扫描", "regions": "网格占比", "figures": "图",
        "fig_traj": "不同噪声强度下的演化轨迹", "fig_phase": "相图（σ = 0）", "fig_sweep": "参数扫描",
        "references": "参考文献",
        "kind_pure": "纯策略", "kind_mixed": "混合（边界）", "kind_interior": "内部",
        "stab_ESS": "演化稳定", "stab_unstable": "不稳定", "stab_saddle": "鞍点（不稳定）",
        "stab_non-hyperbolic": "非双曲（不能由线性化判定）", "stab_centre/undetermined": "中心（不能由线性化判定）",
        "stab_stable (linearised)": "线性化稳定",
    },
}


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, complex):
        return {"real": _jsonable(v.real), "imag": _jsonable(v.imag)}
    if isinstance(v, sp.Basic):
        return str(v)
    if v is pd.NA or v is None:
        return None
    return v


def _frame_records(df: pd.DataFrame) -> list:
    return [_jsonable(r) for r in df.to_dict(orient="records")]


@dataclass
class GameAnalysis:
    """Everything :func:`analyze_game` computed.

    Attributes
    ----------
    game : Game
        The game analysed (with survey values when calibrated).
    calibration : Calibration or None
    ess : DataFrame
        The ESS table (:meth:`Game.ess_table`).
    conditions : DataFrame
        Stability conditions of the pure profiles as expressions.
    equilibria : list of Equilibrium
    stochastic : DataFrame
        Almost-sure and mean-square stability by σ and noise form.
    simulations : list of SimulationResult
    sweeps : list of SweepResult
    settings : dict
    """

    game: Any
    calibration: Any
    ess: pd.DataFrame
    conditions: pd.DataFrame
    equilibria: list
    stochastic: pd.DataFrame
    simulations: list
    sweeps: list
    settings: dict
    files: list = field(default_factory=list)

    def summary(self) -> str:
        ess = self.ess[self.ess["ess"]]
        lines = [f"{self.game.name}: {self.game.n_players} players",
                 "ESS: " + (", ".join(f"{r.profile} ({r.strategies})" for r in ess.itertuples()) or "none")]
        for s in self.simulations:
            sm = s.summary()
            top = max(sm["share_near_vertex"].items(), key=lambda kv: kv[1])
            where = (f"most paths end near {top[0]} ({top[1]:.1%})" if top[1] > 0
                     else "no path ends near a pure profile")
            lines.append(f"  sigma={s.sigma:g} g={s.noise} {s.scheme}: {sm['share_left']:.1%} left [0,1], {where}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        g = self.game
        eqs = []
        for e in self.equilibria:
            eqs.append({
                "profile": e.profile, "kind": e.kind, "point": list(e.point),
                "coordinates": None if e.expressions is None else [str(c) for c in e.expressions],
                "jacobian": e.jacobian_value.tolist(),
                "jacobian_expressions": None if e.jacobian is None else [[str(c) for c in row] for row in e.jacobian.tolist()],
                "eigenvalue_expressions": None if e.eigen_expressions is None else [str(c) for c in e.eigen_expressions],
                "eigenvalues": [{"real": float(np.real(c)), "imag": float(np.imag(c))} for c in e.eigenvalues]})
        out = {
            "game": {"name": g.name, "source": g.source, "description": g.description,
                     "players": [{"id": p.id, "name": p.name, "variable": p.variable, "strategies": list(p.strategies),
                                  "strategy_names": p.strategy_names} for p in g.players],
                     "parameters": {n: {"value": p.value, "meaning": p.meaning, "group": p.group}
                                    for n, p in g.parameters.items()}},
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
            "replicator": _frame_records(g.replicator_table()),
            "stability_conditions": _frame_records(self.conditions),
            "equilibria": eqs,
            "ess": _frame_records(self.ess),
            "ess_note": SELTEN_NOTE,
            "degenerate_faces": _jsonable(getattr(g, "degenerate", [])),
            "stochastic_stability": _frame_records(self.stochastic),
            "simulations": [_jsonable(s.summary()) for s in self.simulations],
            "sweeps": [_jsonable(s.to_dict()) for s in self.sweeps],
            "settings": _jsonable(self.settings),
        }
        from .. import __version__
        out["icaf_sem_version"] = __version__
        return out

    # ------------------------------------------------------------------ html
    def html(self, lang: str = "en", figures: Optional[dict] = None) -> str:
        """The report section as an html fragment, in English (``"en"``) or Chinese (``"zh"``)."""
        if lang not in TEXT:
            raise ModelSpecificationError(f"html(lang={lang!r}): use 'en' or 'zh'")
        T = TEXT[lang]
        g = self.game
        e = html.escape

        def table(head, rows):
            h = "".join(f"<th>{e(str(x))}</th>" for x in head)
            b = "".join("<tr>" + "".join(f"<td>{x}</td>" for x in r) + "</tr>" for r in rows)
            return f"<table class='game'><thead><tr>{h}</tr></thead><tbody>{b}</tbody></table>"

        def num(v, d=4):
            return "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{d}g}"

        name = g.name
        parts = [f"<section class='icaf-game' lang='{lang}'>", f"<h2>{e(T['title'])}: {e(name)}</h2>"]
        if g.description.get(lang) or g.description.get("en"):
            parts.append(f"<p>{e(g.description.get(lang) or g.description.get('en'))}</p>")
        parts.append(f"<h3>{e(T['players'])}</h3>")
        parts.append(table([T["player"], T["variable"], T["strategies"]],
                           [[e(p.label(lang)), e(p.variable),
                             e(" / ".join(p.strategy_names.get(s, {}).get(lang) or s for s in p.strategies))]
                            for p in g.players]))
        parts.append(f"<h3>{e(T['parameters'])}</h3>")
        parts.append(table([T["parameter"], T["value"], T["meaning"]],
                           [[e(n), num(p.value), e(p.meaning.get(lang) or p.meaning.get("en", ""))]
                            for n, p in g.parameters.items()]))
        if self.calibration is not None:
            c = self.calibration
            parts.append(f"<h3>{e(T['calibration'])}</h3><p>{e(T['method_' + c.method])}; "
                         f"{e(T['calib_note'].format(scale=f'{c.scale:g}') if c.transform == 'unit' else '')}</p>")
            parts.append(table([T["parameter"], T["source"], T["role"], T["n"], T["score"], T["value"]],
                               [[e(r.parameter), e(r.source), e(r.role), str(r.n), num(r.score_mean),
                                 num(r.value)] for r in c.table.itertuples()]))
        parts.append(f"<h3>{e(T['replicator'])}</h3><ul>")
        for p, x in zip(g.players, g.state):
            parts.append(f"<li><code>d{e(str(x))}/dt = {e(str(x))}(1 − {e(str(x))})·[{e(str(g.delta_u[p.id]))}]"
                         f"</code></li>")
        parts.append("</ul>")
        parts.append(f"<h3>{e(T['ess'])}</h3>")
        rows = []
        for r in self.ess.itertuples():
            strat = (g._profile_name(tuple(int(round(float(a))) for a in r.profile.strip("()").split(",")), lang)
                     if r.kind == "pure" else "—")
            rows.append([e(r.profile), e(T.get("kind_" + r.kind, r.kind)), e(strat), e(r.eigenvalues), e(r.signs),
                         e(T.get("stab_" + r.stability, r.stability)),
                         T["yes"] if r.ess else T["no"]])
        parts.append(table([T["profile"], T["kind"], T["strategies"], T["eigenvalues"], T["signs"], T["stability"],
                            T["is_ess"]], rows))
        parts.append(f"<p><em>{e(T['selten'])}</em></p>")
        parts.append(f"<h4>{e(T['conditions'])}</h4>")
        parts.append(table([T["profile"], T["condition"]],
                           [[e(r.profile), f"<code>{e(r.condition)}</code>"] for r in self.conditions.itertuples()]))
        parts.append(f"<h3>{e(T['stochastic'])}</h3><p>{e(T['stoch_note'])}</p>")
        rows = []
        for (noise, s), grp in self.stochastic.groupby(["noise", "sigma"], sort=False):
            a = [r.profile for r in grp.itertuples() if r.as_stable]
            m = [r.profile for r in grp.itertuples() if r.ms_stable]
            rows.append([e(noise), num(s), e(", ".join(a) or T["none"]), e(", ".join(m) or T["none"])])
        parts.append(table([T["noise"], "σ", T["as"], T["ms"]], rows))
        if self.simulations:
            parts.append(f"<h3>{e(T['simulation'])}</h3>")
            rows = []
            for s in self.simulations:
                sm = s.summary()
                near = ", ".join(f"{k}: {v:.1%}" for k, v in sm["share_near_vertex"].items() if v >= 0.005)
                fm = sm["final_mean"]
                rows.append([e(s.noise), num(s.sigma), e(s.scheme), str(sm["paths"]), f"{sm['share_left']:.1%}",
                             e(near or T["none"]),
                             e(", ".join(f"{k} {v:.3f}" for k, v in fm.items()) if fm else "—")])
            parts.append(table([T["noise"], "σ", T["scheme"], T["paths"], T["left"], T["near"], T["final_mean"]], rows))
        if self.sweeps:
            parts.append(f"<h3>{e(T['sweeps'])}</h3>")
            for sw in self.sweeps:
                parts.append(f"<h4>{e(sw.x)} × {e(sw.y)} ({e(sw.criterion)})</h4>")
                parts.append(table([T["profile"], T["regions"]],
                                   [[e(r.stable_profiles), f"{r.share_of_grid:.1%}"] for r in sw.regions().itertuples()]))
        if figures:
            parts.append(f"<h3>{e(T['figures'])}</h3>")
            for key, (fname, caption) in figures.items():
                parts.append(f"<figure><img src='figures/{e(fname)}.png' alt='{e(caption)}' style='max-width:100%'>"
                             f"<figcaption>{e(T.get(caption, caption))}</figcaption></figure>")
        if g.references:
            parts.append(f"<h3>{e(T['references'])}</h3><ul>" + "".join(f"<li>{e(r)}</li>" for r in g.references)
                         + "</ul>")
        parts.append("</section>")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.html("en")

    # ------------------------------------------------------------------ writing
    def write(self, out: Union[str, os.PathLike], *, figures: bool = True) -> list:
        """Write ``results.json``, ``figures/*.png|svg``, ``game_en.html`` and ``game_zh.html`` (all or nothing)."""
        from .._atomic import atomic_dir
        from ..report.figures import save_figure
        from . import figures as F

        out = Path(out)
        written = []
        with atomic_dir(out) as stage:
            figs = {}
            if figures:
                fig_dir = stage / "figures"
                fig_dir.mkdir(parents=True, exist_ok=True)
                if any(s.recorded is not None for s in self.simulations):
                    for noise in dict.fromkeys(s.noise for s in self.simulations):
                        sims = [s for s in self.simulations if s.noise == noise and s.recorded is not None]
                        if sims:
                            nm = "trajectories_" + ("x" if noise == "x" else "x1mx")
                            save_figure(F.trajectories(sims), fig_dir, nm, dpi=150)
                            figs[nm] = (nm, "fig_traj")
                if self.game.n_players in (2, 3):
                    save_figure(F.phase_portrait(self.game), fig_dir, "phase_portrait", dpi=150)
                    figs["phase_portrait"] = ("phase_portrait", "fig_phase")
                for k, sw in enumerate(self.sweeps, 1):
                    nm = f"sweep_{k}_{sw.x}_{sw.y}"
                    save_figure(F.sweep_heatmap(sw), fig_dir, nm, dpi=150)
                    figs[nm] = (nm, "fig_sweep")
            (stage / "results.json").write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False,
                                                           allow_nan=False), encoding="utf-8")
            for lang in ("en", "zh"):
                body = self.html(lang, figs)
                doc = (f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{html.escape(self.game.name)}"
                       "</title><style>body{font-family:sans-serif;max-width:72em;margin:2em auto}"
                       "table.game{border-collapse:collapse;margin:.5em 0}table.game td,table.game th{border-top:1px solid #999;"
                       "padding:2px 8px;font-size:90%}</style></head><body>" + body + "</body></html>")
                (stage / f"game_{lang}.html").write_text(doc, encoding="utf-8")
            written = sorted(p.relative_to(stage) for p in stage.rglob("*") if p.is_file())
        self.files = [out / p for p in written]
        return self.files


def analyze_game(game, *, data=None, questionnaire=None, mapping=None, method: str = "scores",
                 sigmas: Optional[Sequence[float]] = None, noise: Union[str, Sequence[str], None] = None,
                 scheme: Optional[str] = None, paths: Optional[int] = None, steps: Optional[int] = None,
                 T: Optional[float] = None, seed=None, x0=None, sweeps: Optional[list] = None,
                 record: bool = True) -> GameAnalysis:
    """Analyse a game: symbolic equilibria and ESS, stochastic stability, simulated paths and sweeps.

    Parameters
    ----------
    game : Game or path
        Settings not given here come from the file's ``simulation`` and ``sweeps`` blocks.
    data : AnalysisResult or DataFrame, optional
        A survey wave setting payoff parameters (:func:`icaf_sem.game.from_survey`).
    questionnaire, mapping, method
        Passed to :func:`~icaf_sem.game.from_survey`.
    sigmas : list of float
    noise : "x(1-x)", "x" or a list of both
    scheme : "milstein", "euler" or "logit"
    paths, steps, T, seed, x0
        Simulation settings.
    sweeps : list of dict, optional
        ``{"x": name, "y": name or "sigma", "x_range": [from, to, points], "y_range": [...]}``.
    record : bool
        Keep about 100 states per path for the trajectory figure.

    Returns
    -------
    GameAnalysis
    """
    from .survey import from_survey

    game = load_game(game)
    cal = None
    if data is not None:
        cal = from_survey(data, game, questionnaire=questionnaire, mapping=mapping, method=method)
        game = cal.game
    sim = dict(game.simulation)
    sigmas = list(sigmas if sigmas is not None else sim.get("sigmas", [0.0, 0.5, 1.0]))
    noises = noise if noise is not None else sim.get("noise", ["x(1-x)"])
    noises = [noises] if isinstance(noises, str) else list(noises)
    for nz in noises:
        if nz not in NOISES:
            raise ModelSpecificationError(f"noise {nz!r} is not supported; use 'x(1-x)' or 'x'")
    scheme = scheme or sim.get("scheme", "milstein")
    paths = int(paths if paths is not None else sim.get("paths", 1000))
    steps = int(steps if steps is not None else sim.get("steps", 1000))
    T = float(T if T is not None else sim.get("T", 10.0))
    seed = seed if seed is not None else sim.get("seed")
    x0 = x0 if x0 is not None else sim.get("x0")
    ess = game.ess_table()
    eqs = game.equilibria()
    stoch = pd.concat([stochastic_stability(game, sigmas, noise=nz) for nz in noises], ignore_index=True)
    sims = []
    ss = np.random.SeedSequence(seed)
    children = ss.spawn(len(noises) * len(sigmas))
    k = 0
    for nz in noises:
        for s in sigmas:
            sch = scheme if not (scheme == "logit" and nz == "x") else "milstein"
            sims.append(simulate(game, sigma=s, T=T, steps=steps, paths=paths, noise=nz, scheme=sch,
                                 seed=np.random.default_rng(children[k]), x0=x0,
                                 record_every=max(1, steps // 100) if record else None))
            sims[-1].seed = {"seed": seed, "stream": k}
            k += 1
    sws = []
    for spec in (sweeps if sweeps is not None else game.sweeps):
        xr, yr = spec["x_range"], spec["y_range"]
        sws.append(sweep(game, spec["x"], np.linspace(xr[0], xr[1], int(xr[2])), spec["y"],
                         np.linspace(yr[0], yr[1], int(yr[2])), noise=spec.get("noise", "x(1-x)"),
                         criterion=spec.get("criterion")))
    settings = {"sigmas": sigmas, "noise": noises, "scheme": scheme, "paths": paths, "steps": steps, "T": T,
                "seed": seed, "x0": x0, "values": game.values,
                "seeding": "numpy SeedSequence(seed).spawn(): one child stream per (noise, sigma), in that order"}
    return GameAnalysis(game=game, calibration=cal, ess=ess, conditions=game.stability_conditions(), equilibria=eqs,
                        stochastic=stoch, simulations=sims, sweeps=sws, settings=settings)
