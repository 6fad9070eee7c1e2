"""Evolutionary games of data sharing: symbolic replicator dynamics, equilibria, ESS, stochastic paths.

>>> from icaf_sem import game
>>> g = game.load_game("tripartite_game")          # questionnaires/tripartite_game.yaml
>>> g.ess_table()                                  # doctest: +SKIP
>>> cal = game.from_survey(result)                 # payoffs from an analyze() result, by role  # doctest: +SKIP
>>> game.analyze_game(cal.game).write("results/game")                                       # doctest: +SKIP
"""
from .model import Game, builtin_game_path, load_game, parse_expression  # noqa: F401
from .report import GameAnalysis, analyze_game  # noqa: F401
from .stochastic import SimulationResult, sde_paths, simulate, stochastic_stability  # noqa: F401
from .survey import Calibration, from_survey  # noqa: F401
from .sweep import SweepResult, sweep  # noqa: F401

__all__ = ["Game", "load_game", "builtin_game_path", "parse_expression", "simulate", "sde_paths",
           "stochastic_stability", "SimulationResult", "from_survey", "Calibration", "sweep", "SweepResult",
           "analyze_game", "GameAnalysis"]
