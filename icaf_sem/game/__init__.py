"""Evolutionary games of data sharing: symbolic replicator dynamics, equilibria, ESS, stochastic paths."""
from .model import Game, load_game, builtin_game_path, parse_expression  # noqa: F401

__all__ = ["Game", "load_game", "builtin_game_path", "parse_expression"]
