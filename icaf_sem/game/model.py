"""An asymmetric evolutionary game described in YAML, analysed symbolically.

A game file names the players (populations), each with exactly two strategies,
the payoff parameters (with a value and a meaning in every language), and the
payoff of every player in every pure strategy profile.  From it
:class:`Game` derives, with sympy,

* the expected-payoff advantage ``ΔU_i = E[first strategy] − E[second strategy]``
  of each player, and the replicator equations ``dx_i/dt = x_i (1 − x_i) ΔU_i``,
  where ``x_i`` is the share of population *i* playing its first strategy;
* every rest point: the ``2^n`` pure profiles (vertices), and the mixed rest
  points on faces and in the interior where they exist;
* the Jacobian at each rest point, its eigenvalues as expressions (vertices:
  ``λ_i = (1 − 2 v_i) ΔU_i(v)``) and as numbers;
* the stability conditions and the ESS table.  In asymmetric (multi-population)
  games only strict Nash equilibria, hence only pure profiles, can be
  evolutionarily stable (Selten 1980); a mixed rest point is never an ESS.

Expressions in the file are parsed by a restricted walk over Python's AST
(numbers, declared names, ``+ - * / **`` and parentheses); nothing the user
writes is evaluated.

>>> from icaf_sem.game import load_game
>>> g = load_game("tripartite_game")
>>> g.replicator["P"]                                   # doctest: +SKIP
x*(1 - x)*(B_P*y - Ce_P - Cn_P + F*z - Rc_P - Rd_P + S*z)
>>> g.ess_table()                                       # doctest: +SKIP
"""
from __future__ import annotations

import ast
import itertools
import math
import numbers
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import numpy as np
import pandas as pd
import sympy as sp
import yaml

from ..errors import ModelSpecificationError

__all__ = ["Game", "Player", "Parameter", "load_game", "builtin_game_path", "parse_expression", "Equilibrium"]

_DEFAULT_VARS = ["x", "y", "z", "u", "v", "w"]
_RESERVED = {"sigma", "t", "dt", "dW", "E", "I", "pi", "S_", "N", "O", "Q"}
_TOL = 1e-9
_SYMBOLIC_CACHES = ("expected_payoffs", "delta_u", "replicator", "jacobian", "vertices", "vertex_eigenvalues",
                    "_jacobian_fn", "_vertex_eigenvalue_fn", "_interior_cache")


# --------------------------------------------------------------------------- safe expressions
_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b}


def parse_expression(text: Any, symbols: Mapping[str, sp.Symbol], *, where: str = "expression") -> sp.Expr:
    """Turn a payoff expression into a sympy expression without evaluating user text.

    Only numbers, the names in ``symbols`` and the operators ``+ - * / **``
    (``^`` is read as ``**``) with parentheses are accepted.  The text is parsed
    by :func:`ast.parse` and the tree is walked node by node; the sympy
    expression is built from the nodes, so no user text reaches ``eval``,
    ``sympify`` or ``parse_expr``.

    Parameters
    ----------
    text : str or number
    symbols : mapping of name to sympy Symbol
        The names the expression may use.
    where : str
        Where the expression sits in the file, for error messages.

    Raises
    ------
    ModelSpecificationError
        Unknown name, function call, attribute, or any other construct.
    """
    if isinstance(text, bool):
        raise ModelSpecificationError(f"{where}: {text!r} is not a payoff expression; fix: write a number or a "
                                      "formula of the declared parameters such as 'B_P - C_P'")
    if isinstance(text, numbers.Real):
        if not math.isfinite(float(text)):
            raise ModelSpecificationError(f"{where}: {text!r} is not a finite number; fix: use a finite value")
        return sp.nsimplify(text) if float(text) == int(text) else sp.Float(text)
    if not isinstance(text, str) or not text.strip():
        raise ModelSpecificationError(f"{where}: {text!r} is not a payoff expression; fix: write a number or a "
                                      "formula of the declared parameters such as 'B_P - C_P'")
    src = text.strip().replace("^", "**").replace("\u2212", "-").replace("\u00d7", "*")
    if len(src) > 2000:
        raise ModelSpecificationError(f"{where}: expression longer than 2000 characters; fix: shorten it")
    try:
        tree = ast.parse(src, mode="eval")
    except (RecursionError, MemoryError):
        raise ModelSpecificationError(f"{where}: the formula is nested too deeply; fix: simplify it") from None
    except SyntaxError as exc:
        raise ModelSpecificationError(f"{where}: {text!r} is not a valid formula ({exc.msg}); fix: use numbers, "
                                      "parameter names, + - * / ** and parentheses") from None

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            v = node.value
            if isinstance(v, float) and not math.isfinite(v):
                raise ModelSpecificationError(f"{where}: {text!r} holds a number that is not finite; fix: use a "
                                              "finite value")
            return sp.Integer(v) if isinstance(v, int) else sp.Rational(repr(v))
        if isinstance(node, ast.Name):
            if node.id not in symbols:
                raise ModelSpecificationError(
                    f"{where}: unknown name {node.id!r} in {text!r}; fix: declare it under parameters "
                    f"(known: {', '.join(sorted(symbols)) or 'none'})")
            return symbols[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Pow) and not (right.is_number and right.is_integer and 0 <= right <= 10):
                raise ModelSpecificationError(f"{where}: only whole powers 0..10 are allowed in {text!r}; "
                                              "fix: write the power as a small whole number")
            return _BINOPS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            val = walk(node.operand)
            return -val if isinstance(node.op, ast.USub) else val
        what = type(node).__name__
        raise ModelSpecificationError(f"{where}: {text!r} contains a {what}, which is not allowed; fix: use only "
                                      "numbers, parameter names, + - * / ** and parentheses")

    try:
        return walk(tree)
    except RecursionError:
        raise ModelSpecificationError(f"{where}: the formula is nested too deeply; fix: simplify it") from None


# --------------------------------------------------------------------------- specification objects
@dataclass(frozen=True)
class Player:
    """A player (population) with two strategies; ``variable`` is the share playing ``strategies[0]``."""

    id: str
    name: dict
    variable: str
    strategies: tuple
    strategy_names: dict = field(default_factory=dict, compare=False, hash=False)

    def label(self, lang: str = "en") -> str:
        return self.name.get(lang) or self.name.get("en") or self.id


@dataclass(frozen=True)
class Parameter:
    """A named payoff parameter with its value and meaning."""

    name: str
    value: float
    meaning: dict = field(default_factory=dict, compare=False, hash=False)
    group: Optional[str] = None


@dataclass
class Equilibrium:
    """A rest point of the replicator dynamics at the game's parameter values."""

    kind: str                      # "pure", "mixed" (on a face) or "interior"
    point: tuple                   # numbers
    profile: str                   # e.g. "(1, 1, 0)" or "(0.35, 1, 0.2)"
    expressions: Optional[tuple]   # sympy coordinates where known symbolically
    jacobian: Any                  # sympy Matrix (symbolic) or None
    jacobian_value: np.ndarray
    eigen_expressions: Optional[list]
    eigenvalues: np.ndarray


# --------------------------------------------------------------------------- YAML loading
class _UniqueKeyLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ModelSpecificationError(
                f"key {key!r} appears twice in one mapping (lines {seen[key] + 1} and {key_node.start_mark.line + 1});"
                " fix: keep one of them")
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def builtin_game_path(name: str = "tripartite_game") -> Path:
    """Path of a game shipped with the package (``"tripartite_game"``)."""
    return Path(__file__).resolve().parent.parent / "data" / f"{name}.yaml"


def load_game(path: Union[str, os.PathLike, "Game", dict]) -> "Game":
    """Read and validate a game YAML file (or ``"tripartite_game"`` for the shipped one).

    Raises
    ------
    ModelSpecificationError
        Missing file, invalid YAML, unknown parameter in a payoff, a missing
        strategy profile, a non-numeric value ...; the message names the place
        in the file and the fix.
    """
    if isinstance(path, Game):
        return path
    if isinstance(path, dict):
        return Game.from_dict(path)
    p = Path(path)
    if not p.exists() and builtin_game_path(str(path)).is_file():
        p = builtin_game_path(str(path))
    if not p.is_file():
        raise ModelSpecificationError(f"game file {str(path)!r} not found; fix: check the path (the shipped game is "
                                      "questionnaires/tripartite_game.yaml, or pass 'tripartite_game')")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ModelSpecificationError(f"{p}: not UTF-8 text; fix: save the game file as UTF-8") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except ModelSpecificationError as exc:
        raise ModelSpecificationError(f"{p}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ModelSpecificationError(f"{p}: not valid YAML{where}: {getattr(exc, 'problem', exc)}; "
                                      "fix: correct the YAML syntax there") from None
    return Game.from_dict(data, source=str(p))


def _text(d: Any, where: str) -> dict:
    if d is None:
        return {}
    if isinstance(d, str):
        return {"en": d}
    if not isinstance(d, dict) or not all(isinstance(v, str) for v in d.values()):
        raise ModelSpecificationError(f"{where}: expected text or {{en: ..., zh: ...}}, got {d!r}; "
                                      "fix: give the wording per language")
    return {str(k): v for k, v in d.items()}


def _number(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
        raise ModelSpecificationError(f"{where}: {v!r} is not a number; fix: give a finite number such as 2.5 "
                                      "(without quotes or units)")
    return float(v)


_ALLOWED_TOP = {"name", "version", "languages", "description", "players", "parameters", "payoffs", "survey",
                "simulation", "sweeps", "references"}


# --------------------------------------------------------------------------- the game
class Game:
    """An n-population game with two strategies per population.

    Build it with :func:`load_game` or :meth:`Game.from_dict`.  The parameter
    values in the file are the defaults; :meth:`with_values` returns a copy
    with some of them changed (e.g. the values :func:`from_survey` measured).

    Attributes
    ----------
    players : list of Player
    parameters : dict of str to Parameter
    symbols : dict of str to sympy Symbol
        Parameters and state variables.
    state : list of sympy Symbol
        The state variables, one per player (the share playing the first strategy).
    payoff : dict of (profile tuple) to dict of player id to sympy expression
    """

    def __init__(self, *, name, players, parameters, payoff, description=None, source="<dict>", languages=("en",),
                 survey=None, simulation=None, sweeps=None, references=None):
        self.name = name
        self.players = list(players)
        self.parameters = dict(parameters)
        self.payoff = payoff
        self.description = dict(description or {})
        self.source = source
        self.languages = list(languages)
        self.survey = survey or {}
        self.simulation = dict(simulation or {})
        self.sweeps = list(sweeps or [])
        self.references = list(references or [])
        self.state = [sp.Symbol(p.variable, real=True) for p in self.players]
        self.param_symbols = {n: sp.Symbol(n, real=True) for n in self.parameters}
        self.symbols = {**self.param_symbols, **{p.variable: s for p, s in zip(self.players, self.state)}}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> "Game":
        """Validate a game given as a dict (the parsed YAML)."""
        if not isinstance(data, dict):
            raise ModelSpecificationError(f"{source}: a game must be a mapping with players, parameters and payoffs; "
                                          "fix: start from questionnaires/tripartite_game.yaml")
        unknown = [k for k in data if k not in _ALLOWED_TOP]
        if unknown:
            raise ModelSpecificationError(f"{source}: unknown key {unknown[0]!r}; fix: use only "
                                          f"{', '.join(sorted(_ALLOWED_TOP))}")
        for key in ("players", "parameters", "payoffs"):
            if key not in data:
                raise ModelSpecificationError(f"{source}: required key {key!r} is missing; fix: add it "
                                              "(see questionnaires/tripartite_game.yaml)")
        name = str(data.get("name", Path(source).stem))
        # players
        raw_players = data["players"]
        if not isinstance(raw_players, dict) or len(raw_players) < 2:
            raise ModelSpecificationError(f"{source}: players: give at least two players as a mapping "
                                          "(id: {name, variable, strategies}); fix: see tripartite_game.yaml")
        players, used_vars = [], set()
        for k, (pid, spec) in enumerate(raw_players.items()):
            where = f"{source}: players.{pid}"
            if not isinstance(spec, dict):
                raise ModelSpecificationError(f"{where}: expected a mapping with name, variable and strategies")
            bad = [x for x in spec if x not in ("name", "variable", "strategies")]
            if bad:
                raise ModelSpecificationError(f"{where}: unknown key {bad[0]!r}; fix: use name, variable, strategies")
            strat = spec.get("strategies")
            if not isinstance(strat, dict) or len(strat) != 2:
                n = len(strat) if isinstance(strat, (dict, list)) else 0
                raise ModelSpecificationError(
                    f"{where}.strategies: each player needs exactly two strategies as a mapping "
                    f"(id: wording), got {n}; fix: list two, the first being the one whose share is the variable")
            var = str(spec.get("variable", _DEFAULT_VARS[k] if k < len(_DEFAULT_VARS) else f"s{k}"))
            if not var.isidentifier() or var in used_vars:
                raise ModelSpecificationError(f"{where}.variable: {var!r} is not a new valid name; fix: use x, y, z")
            used_vars.add(var)
            names = {str(s): _text(t, f"{where}.strategies.{s}") for s, t in strat.items()}
            players.append(Player(str(pid), _text(spec.get("name"), f"{where}.name") or {"en": str(pid)}, var,
                                  tuple(str(s) for s in strat), names))
        # parameters
        raw_params = data["parameters"]
        if not isinstance(raw_params, dict):
            raise ModelSpecificationError(f"{source}: parameters must be a mapping name: {{value, meaning}}")
        params = {}
        for pname, spec in raw_params.items():
            where = f"{source}: parameters.{pname}"
            pname = str(pname)
            if not pname.isidentifier() or pname in used_vars or pname in _RESERVED or pname.startswith("_"):
                raise ModelSpecificationError(f"{where}: {pname!r} cannot be a parameter name (it is a state "
                                              "variable, reserved, or not an identifier); fix: rename it")
            if isinstance(spec, dict):
                bad = [x for x in spec if x not in ("value", "meaning", "group")]
                if bad:
                    raise ModelSpecificationError(f"{where}: unknown key {bad[0]!r}; fix: use value, meaning, group")
                if "value" not in spec:
                    raise ModelSpecificationError(f"{where}: no value; fix: add value: <number>")
                params[pname] = Parameter(pname, _number(spec["value"], f"{where}.value"),
                                          _text(spec.get("meaning"), f"{where}.meaning"), spec.get("group"))
            else:
                params[pname] = Parameter(pname, _number(spec, where))
        game = cls(name=name, players=players, parameters=params, payoff={}, source=source,
                   description=_text(data.get("description"), f"{source}: description"),
                   languages=data.get("languages", ["en"]), survey=data.get("survey"),
                   simulation=data.get("simulation"), sweeps=data.get("sweeps"), references=data.get("references"))
        game.payoff = game._parse_payoffs(data["payoffs"])
        game._check_extras()
        return game

    def _parse_payoffs(self, raw) -> dict:
        src = self.source
        if not isinstance(raw, list):
            raise ModelSpecificationError(f"{src}: payoffs must be a list of {{profile, payoff}} entries, one per "
                                          "pure strategy profile")
        ids = [p.id for p in self.players]
        expected = set(itertools.product(*[p.strategies for p in self.players]))
        out = {}
        psyms = dict(self.param_symbols)
        for k, entry in enumerate(raw):
            where = f"{src}: payoffs[{k}]"
            if not isinstance(entry, dict) or set(entry) != {"profile", "payoff"}:
                raise ModelSpecificationError(f"{where}: each entry needs exactly the keys profile and payoff")
            prof, pay = entry["profile"], entry["payoff"]
            if not isinstance(prof, dict) or set(map(str, prof)) != set(ids):
                raise ModelSpecificationError(f"{where}.profile: name one strategy for each player "
                                              f"({', '.join(ids)}), got {prof!r}")
            key = []
            for p in self.players:
                s = str(prof[p.id])
                if s not in p.strategies:
                    raise ModelSpecificationError(f"{where}.profile.{p.id}: unknown strategy {s!r}; fix: use one of "
                                                  f"{', '.join(p.strategies)}")
                key.append(s)
            key = tuple(key)
            if key in out:
                raise ModelSpecificationError(f"{where}: profile {dict(zip(ids, key))} is given twice; fix: give "
                                              "each profile once")
            if not isinstance(pay, dict) or set(map(str, pay)) != set(ids):
                missing = [i for i in ids if not isinstance(pay, dict) or i not in pay]
                raise ModelSpecificationError(f"{where}.payoff: give the payoff of every player ({', '.join(ids)}); "
                                              f"missing or unknown: {missing or list(pay)}")
            out[key] = {pid: parse_expression(pay[pid], psyms, where=f"{where}.payoff.{pid}") for pid in ids}
        missing = sorted(expected - set(out))
        if missing:
            first = dict(zip(ids, missing[0]))
            raise ModelSpecificationError(f"{src}: payoffs: {len(missing)} strategy profile(s) have no payoff, e.g. "
                                          f"{first}; fix: give all {len(expected)} profiles")
        return out

    def _check_extras(self):
        src = self.source
        sim = self.simulation
        ok = {"x0", "T", "steps", "paths", "sigmas", "noise", "scheme", "seed", "record_every"}
        bad = [k for k in sim if k not in ok]
        if bad:
            raise ModelSpecificationError(f"{src}: simulation.{bad[0]}: unknown key; fix: use {', '.join(sorted(ok))}")
        where = f"{src}: simulation"
        if "T" in sim and _number(sim["T"], f"{where}.T") <= 0:
            raise ModelSpecificationError(f"{where}.T: the horizon must be positive")
        for key in ("steps", "paths", "record_every"):
            v = sim.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ModelSpecificationError(f"{where}.{key}: {v!r} must be a whole number >= 1")
        if "seed" in sim and sim["seed"] is not None and (isinstance(sim["seed"], bool) or not isinstance(sim["seed"], int)):
            raise ModelSpecificationError(f"{where}.seed: {sim['seed']!r} must be a whole number")
        sig = sim.get("sigmas", [])
        if not isinstance(sig, list) or any(_number(v, f"{where}.sigmas") < 0 for v in sig):
            raise ModelSpecificationError(f"{where}.sigmas: give a list of numbers >= 0, e.g. [0, 0.5, 1]")
        noise = sim.get("noise", [])
        for nz in ([noise] if isinstance(noise, str) else noise if isinstance(noise, list) else [noise]):
            if nz not in ("x", "x(1-x)"):
                raise ModelSpecificationError(f"{where}.noise: {nz!r} is not supported; use 'x(1-x)' or 'x'")
        if sim.get("scheme", "milstein") not in ("milstein", "euler", "logit"):
            raise ModelSpecificationError(f"{where}.scheme: {sim['scheme']!r}; use milstein, euler or logit")
        x0 = sim.get("x0")
        if x0 is not None:
            if not isinstance(x0, dict) or set(x0) - {p.id for p in self.players}:
                raise ModelSpecificationError(f"{where}.x0: give {{player: initial share}} for players "
                                              f"{', '.join(p.id for p in self.players)}")
            for pid, v in x0.items():
                if not 0 < _number(v, f"{where}.x0.{pid}") < 1:
                    raise ModelSpecificationError(f"{where}.x0.{pid}: {v!r} must lie strictly between 0 and 1")
        for k, sw in enumerate(self.sweeps):
            where = f"{src}: sweeps[{k}]"
            if not isinstance(sw, dict) or "x" not in sw or "y" not in sw:
                raise ModelSpecificationError(f"{where}: a sweep needs x and y (parameter names or 'sigma') "
                                              "with ranges x_range/y_range: [from, to, points]")
            for ax in ("x", "y"):
                if sw[ax] != "sigma" and sw[ax] not in self.parameters:
                    raise ModelSpecificationError(f"{where}.{ax}: unknown parameter {sw[ax]!r}; fix: use one of "
                                                  f"{', '.join(self.parameters)} or 'sigma'")
                rng = sw.get(f"{ax}_range")
                if not (isinstance(rng, list) and len(rng) == 3):
                    raise ModelSpecificationError(f"{where}.{ax}_range: give [from, to, points]")
                _number(rng[0], f"{where}.{ax}_range[0]"), _number(rng[1], f"{where}.{ax}_range[1]")
                if not isinstance(rng[2], int) or rng[2] < 2:
                    raise ModelSpecificationError(f"{where}.{ax}_range[2]: the number of points must be a whole "
                                                  "number >= 2")

    def with_values(self, values: Optional[Mapping[str, float]] = None, **kw) -> "Game":
        """A copy with some parameter values replaced (names checked, values numeric)."""
        vals = dict(values or {})
        vals.update(kw)
        params = dict(self.parameters)
        for k, v in vals.items():
            if k not in params:
                raise ModelSpecificationError(f"with_values: unknown parameter {k!r}; fix: use one of "
                                              f"{', '.join(params)}")
            p = params[k]
            params[k] = Parameter(k, _number(v, f"with_values({k}=...)"), p.meaning, p.group)
        g = Game(name=self.name, players=self.players, parameters=params, payoff=self.payoff,
                 description=self.description, source=self.source, languages=self.languages, survey=self.survey,
                 simulation=self.simulation, sweeps=self.sweeps, references=self.references)
        for key in _SYMBOLIC_CACHES:       # value-free derivations are shared, not redone
            if key in self.__dict__:
                g.__dict__[key] = self.__dict__[key]
        return g

    # ------------------------------------------------------------------ basics
    @property
    def player_ids(self) -> list:
        return [p.id for p in self.players]

    @property
    def n_players(self) -> int:
        return len(self.players)

    @property
    def values(self) -> dict:
        """Parameter values by name."""
        return {n: p.value for n, p in self.parameters.items()}

    def _subs(self, values: Optional[Mapping[str, float]] = None) -> dict:
        vals = self.values if values is None else {**self.values, **values}
        return {self.param_symbols[n]: sp.nsimplify(v, rational=True) for n, v in vals.items()}

    # ------------------------------------------------------------------ symbolic derivation
    @cached_property
    def expected_payoffs(self) -> dict:
        """``{player: (E[first strategy], E[second strategy])}`` as functions of the other players' shares."""
        out = {}
        for i, p in enumerate(self.players):
            es = []
            for s in p.strategies:
                total = sp.Integer(0)
                others = [j for j in range(self.n_players) if j != i]
                for combo in itertools.product(*[(0, 1) for _ in others]):
                    key = [None] * self.n_players
                    key[i] = s
                    w = sp.Integer(1)
                    for j, c in zip(others, combo):
                        key[j] = self.players[j].strategies[c]
                        w = w * (self.state[j] if c == 0 else 1 - self.state[j])
                    total += w * self.payoff[tuple(key)][p.id]
                es.append(sp.expand(total))
            out[p.id] = tuple(es)
        return out

    @cached_property
    def delta_u(self) -> dict:
        """``ΔU_i``: the first strategy's expected payoff minus the second's, simplified."""
        return {pid: sp.factor_terms(sp.collect(sp.expand(a - b), self.state))
                for pid, (a, b) in self.expected_payoffs.items()}

    @cached_property
    def replicator(self) -> dict:
        """The replicator equations ``dx_i/dt = x_i (1 − x_i) ΔU_i``."""
        return {p.id: x * (1 - x) * self.delta_u[p.id] for p, x in zip(self.players, self.state)}

    @cached_property
    def jacobian(self) -> sp.Matrix:
        """The symbolic Jacobian of the replicator field."""
        F = sp.Matrix([self.replicator[p] for p in self.player_ids])
        return F.jacobian(sp.Matrix(self.state))

    def replicator_table(self, lang: str = "en") -> pd.DataFrame:
        """One row per player: variable, ΔU_i and the replicator equation (as text and LaTeX)."""
        rows = []
        for p, x in zip(self.players, self.state):
            rows.append({"player": p.id, "name": p.label(lang), "variable": p.variable,
                         "first_strategy": p.strategies[0], "delta_u": str(self.delta_u[p.id]),
                         "equation": f"d{x}/dt = {x}*(1 - {x})*({self.delta_u[p.id]})",
                         "latex": rf"\frac{{d{x}}}{{dt}} = {x}(1-{x})\left[{sp.latex(self.delta_u[p.id])}\right]"})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ numeric functions
    @cached_property
    def _delta_u_numeric(self):
        """A function ``(state array (..., n), parameter dict) -> ΔU array (..., n)``."""
        params = list(self.param_symbols.values())
        fns = [sp.lambdify([*self.state, *params], self.delta_u[p], modules="numpy") for p in self.player_ids]
        return fns

    def delta_u_function(self, values: Optional[Mapping[str, float]] = None):
        """``f(X) -> ΔU`` for an array ``X`` of shape (..., n_players), at the given parameter values."""
        subs = self._subs(values)
        exprs = [sp.expand(self.delta_u[p].subs(subs)) for p in self.player_ids]
        fns = [sp.lambdify(self.state, e, modules="numpy") for e in exprs]
        n = self.n_players

        def f(X):
            X = np.asarray(X, dtype=float)
            cols = [X[..., k] for k in range(n)]
            out = np.empty_like(X)
            for k, fn in enumerate(fns):
                out[..., k] = fn(*cols)
            return out
        f.expressions = exprs
        return f

    def delta_u_rows(self, values: Optional[Mapping[str, float]] = None):
        """``f(X) -> ΔU`` for ``X`` of shape (n_players, m) (one contiguous row per player): the fast form.

        When every ΔU is affine in the state at these values (as in games whose
        payoffs are linear in the other players' shares), ``ΔU = A X + b`` is one
        matrix product; otherwise the lambdified expressions are evaluated row by row.
        """
        subs = self._subs(values)
        exprs = [sp.expand(self.delta_u[p].subs(subs)) for p in self.player_ids]
        n = self.n_players
        affine = True
        A = np.zeros((n, n))
        b = np.zeros(n)
        for i, e in enumerate(exprs):
            try:
                poly = sp.Poly(e, *self.state)
            except sp.PolynomialError:
                affine = False
                break
            if poly.total_degree() > 1:
                affine = False
                break
            for monom, coef in poly.terms():
                if sum(monom) == 0:
                    b[i] = float(coef)
                else:
                    A[i, monom.index(1)] = float(coef)
        if affine:
            bcol = b[:, None]

            def f(X):
                out = A @ X
                out += bcol
                return out
            f.matrix = (A, b)
        else:
            fn = sp.lambdify([self.state], exprs, modules="numpy", cse=True)

            def f(X):
                res = np.empty_like(X)
                for k, val in enumerate(fn(X)):
                    res[k] = val
                return res
        f.expressions = exprs
        return f

    def vector_field(self, values: Optional[Mapping[str, float]] = None):
        """``f(X) -> dX/dt`` of the replicator dynamics, for arrays of shape (..., n_players)."""
        du = self.delta_u_function(values)

        def f(X):
            X = np.asarray(X, dtype=float)
            return X * (1 - X) * du(X)
        return f

    # ------------------------------------------------------------------ equilibria
    @cached_property
    def _jacobian_fn(self):
        return sp.lambdify([*self.state, *self.param_symbols.values()], self.jacobian, modules="numpy")

    @cached_property
    def vertices(self) -> list:
        return list(itertools.product((0, 1), repeat=self.n_players))

    @cached_property
    def vertex_eigenvalues(self) -> dict:
        """``{vertex: [λ_1, ..., λ_n]}`` symbolic: ``λ_i = (1 − 2 v_i) ΔU_i(v)`` (the Jacobian is diagonal there)."""
        out = {}
        for v in self.vertices:
            sub = dict(zip(self.state, v))
            J = self.jacobian.subs(sub)
            off = [J[i, j] for i in range(self.n_players) for j in range(self.n_players) if i != j]
            if any(sp.simplify(e) != 0 for e in off):   # cannot happen for replicator fields; kept as a guard
                raise ModelSpecificationError("internal: the Jacobian at a vertex is not diagonal")
            out[v] = [sp.factor_terms(sp.expand(J[i, i])) for i in range(self.n_players)]
        return out

    def _profile_name(self, v, lang="en") -> str:
        return ", ".join(p.strategy_names.get(p.strategies[1 - int(b)], {}).get(lang) or p.strategies[1 - int(b)]
                         for p, b in zip(self.players, v))

    def equilibria(self, values: Optional[Mapping[str, float]] = None, *, mixed: bool = True) -> list:
        """Every rest point at the parameter values: vertices, then mixed ones on faces, then interior ones.

        Mixed rest points are solutions of ``ΔU_i = 0`` for the players strictly
        inside ``(0, 1)`` with the other players at 0 or 1.  They are solved
        exactly (rational arithmetic) with sympy; when the payoffs make the
        system linear the interior point is also given as an expression of the
        parameters.  A continuum of rest points (a degenerate game) is skipped
        and reported in ``self.degenerate``.
        """
        vals = {**self.values, **(values or {})}
        key = (tuple(sorted((k, float(v)) for k, v in vals.items())), mixed)
        cache = self.__dict__.setdefault("_eq_cache", {})
        if key not in cache:
            cache[key] = (self._equilibria(vals, mixed), list(getattr(self, "degenerate", [])))
        eqs, self.degenerate = cache[key]
        return list(eqs)

    def _equilibria(self, vals, mixed):
        subs = self._subs(vals)
        pvals = [float(vals[n]) for n in self.param_symbols]
        jac = self._jacobian_fn
        lam_all = self._vertex_eigenvalue_fn({k: float(v) for k, v in vals.items()})
        out = []
        for a, v in enumerate(self.vertices):
            lam = self.vertex_eigenvalues[v]
            ev = np.asarray(lam_all[a], dtype=float)
            out.append(Equilibrium("pure", tuple(float(c) for c in v), "(" + ", ".join(map(str, v)) + ")", tuple(v),
                                   sp.diag(*lam), np.diag(ev), lam, ev))
        self.degenerate = []
        if not mixed:
            return out
        n = self.n_players
        du_num = {p: sp.expand(self.delta_u[p].subs(subs)) for p in self.player_ids}
        for status in itertools.product((0, 1, None), repeat=n):
            free = [k for k in range(n) if status[k] is None]
            if not free:
                continue
            fixed = {self.state[k]: status[k] for k in range(n) if status[k] is not None}
            eqs = [du_num[self.player_ids[k]].subs(fixed) for k in free]
            unknowns = [self.state[k] for k in free]
            if any(e == 0 for e in eqs):
                self.degenerate.append({"face": status, "reason": "a payoff difference is identically zero"})
                continue
            try:
                sols = _solve(eqs, unknowns)
            except (NotImplementedError, ValueError):
                self.degenerate.append({"face": status, "reason": "sympy could not solve the system"})
                continue
            for sol in sols:
                if any(u not in sol for u in unknowns) or any(sol[u].free_symbols for u in unknowns):
                    self.degenerate.append({"face": status, "reason": "a continuum of rest points"})
                    continue
                vals = []
                ok = True
                for u in unknowns:
                    c = complex(sp.N(sol[u], 30))
                    if abs(c.imag) > 1e-12 or not (_TOL < c.real < 1 - _TOL):
                        ok = False
                        break
                    vals.append(c.real)
                if not ok:
                    continue
                point = [float(status[k]) if status[k] is not None else None for k in range(n)]
                for k, val in zip(free, vals):
                    point[k] = val
                Jv = np.array(jac(*point, *pvals), dtype=float)
                ev = np.linalg.eigvals(Jv)
                kind = "interior" if len(free) == n else "mixed"
                expr = None
                if kind == "interior":
                    expr = self._interior_symbolic()
                prof = "(" + ", ".join(f"{a:.4g}" for a in point) + ")"
                out.append(Equilibrium(kind, tuple(point), prof, expr, None, Jv, None, ev))
        return out

    def _interior_symbolic(self):
        """The interior rest point as expressions of the parameters when ``ΔU = 0`` is linear in the state."""
        if hasattr(self, "_interior_cache"):
            return self._interior_cache
        eqs = [self.delta_u[p] for p in self.player_ids]
        res = None
        try:
            linear = all(sp.Poly(e, *self.state).total_degree() <= 1 for e in eqs)
        except sp.PolynomialError:
            linear = False
        if linear:
            sol = sp.solve(eqs, self.state, dict=True)
            if len(sol) == 1 and all(s in sol[0] for s in self.state):
                res = tuple(sp.cancel(sp.together(sol[0][s])) for s in self.state)
        self._interior_cache = res
        return res

    # ------------------------------------------------------------------ stability and the ESS table
    def stability_conditions(self) -> pd.DataFrame:
        """For every pure profile: each eigenvalue and the condition ``λ_i < 0`` as expressions.

        A pure profile is asymptotically stable (and an ESS) when every
        ``λ_i < 0``; at a vertex ``λ_i < 0`` says that player *i*'s strategy is
        its strict best reply, so the conditions are those of a strict Nash
        equilibrium.
        """
        rows = []
        for v in self.vertices:
            lam = self.vertex_eigenvalues[v]
            rows.append({"profile": "(" + ", ".join(map(str, v)) + ")", "strategies": self._profile_name(v),
                         **{f"lambda_{p}": str(e) for p, e in zip(self.player_ids, lam)},
                         "condition": " and ".join(f"{e} < 0" for e in lam if not (e.is_number and e < 0)) or "always"})
        return pd.DataFrame(rows)

    def ess_table(self, values: Optional[Mapping[str, float]] = None, *, mixed: bool = True) -> pd.DataFrame:
        """The ESS table at the parameter values: one row per rest point.

        Columns: ``profile``, ``kind``, ``strategies``, one eigenvalue column per
        player (``lambda_<id>``, numbers; real parts for mixed points),
        ``signs``, ``stability`` (``ESS``, ``unstable``, ``saddle``,
        ``non-hyperbolic``, ``centre/undetermined``), ``ess`` (bool) and
        ``note``.  Only strict Nash equilibria (pure profiles with every
        eigenvalue negative) can be asymptotically stable in an asymmetric
        multi-population game (Selten 1980); mixed rest points are never ESS.
        ``mixed=False`` lists the pure profiles only (faster: no polynomial solving).
        """
        rows = []
        for eq in self.equilibria(values, mixed=mixed):
            ev = np.asarray(eq.eigenvalues)
            re = np.real(ev)
            scale = max(1.0, float(np.max(np.abs(ev))) if ev.size else 1.0)
            neg, pos = re < -1e-10 * scale, re > 1e-10 * scale
            zero = ~(neg | pos)
            if eq.kind == "pure":
                if neg.all():
                    stab, ess, note = "ESS", True, "strict Nash equilibrium: every eigenvalue negative (asymptotically stable)"
                elif pos.all():
                    stab, ess, note = "unstable", False, "source: every eigenvalue positive"
                elif zero.any() and not pos.any():
                    stab, ess, note = "non-hyperbolic", False, ("a zero eigenvalue: not a strict Nash equilibrium, "
                                                               "so not an ESS; linearisation does not decide stability")
                else:
                    stab, ess, note = "saddle", False, "eigenvalues of both signs: unstable"
            else:
                if pos.any():
                    stab = "unstable"
                elif zero.all():
                    stab = "centre/undetermined"
                else:
                    stab = "non-hyperbolic" if zero.any() else "stable (linearised)"
                ess = False
                note = ("mixed rest point: not an ESS, since in asymmetric games only strict Nash equilibria can be "
                        "evolutionarily stable (Selten 1980)")
            row = {"profile": eq.profile, "kind": eq.kind,
                   "strategies": self._profile_name(tuple(int(a) for a in eq.point)) if eq.kind == "pure" else "mixed"}
            for k, p in enumerate(self.player_ids):
                row[f"lambda_{p}"] = float(re[k]) if k < len(re) else np.nan
            if eq.kind != "pure":
                row["eigenvalues"] = ", ".join(_fmt_complex(e) for e in ev)
            else:
                row["eigenvalues"] = ", ".join(f"{float(e):.6g}" for e in re)
            row["signs"] = "(" + ", ".join("-" if a else ("+" if b else "0") for a, b in zip(neg, pos)) + ")"
            row["stability"], row["ess"], row["note"] = stab, ess, note
            rows.append(row)
        df = pd.DataFrame(rows)
        df.attrs["note"] = SELTEN_NOTE
        return df

    def ess(self, values: Optional[Mapping[str, float]] = None) -> list:
        """The ESS profiles (tuples of 0/1) at the parameter values."""
        t = self.ess_table(values, mixed=False)
        return [tuple(int(round(a)) for a in eq_point(r)) for _, r in t[t["ess"]].iterrows()]

    def vertex_eigenvalue_function(self):
        """``f(params dict of arrays) -> array (..., 2^n, n)``: vertex eigenvalues, vectorised over parameter grids."""
        raw = self._vertex_eigenvalue_fn
        base = self.values

        def f(**kw):
            unknown = [k for k in kw if k not in base]
            if unknown:
                raise ModelSpecificationError(f"unknown parameter {unknown[0]!r}; fix: use one of {', '.join(base)}")
            return raw({**base, **kw})
        return f

    @cached_property
    def _vertex_eigenvalue_fn(self):
        params = list(self.param_symbols.values())
        names = list(self.param_symbols)
        fns = [[sp.lambdify(params, e, modules="numpy") for e in self.vertex_eigenvalues[v]] for v in self.vertices]

        def f(vals):
            args = [vals[n] for n in names]
            shape = np.broadcast(*[np.asarray(a, dtype=float) for a in args]).shape
            out = np.empty(shape + (len(self.vertices), self.n_players))
            for a, row in enumerate(fns):
                for b, fn in enumerate(row):
                    out[..., a, b] = np.broadcast_to(np.asarray(fn(*args), dtype=float), shape)
            return out
        return f

    def summary(self, lang: str = "en") -> str:
        lines = [f"{self.name}: {self.n_players} players, {len(self.parameters)} parameters"]
        for p, x in zip(self.players, self.state):
            lines.append(f"  d{x}/dt = {self.replicator[p.id]}")
        t = self.ess_table()
        ess = t[t["ess"]]
        lines.append("ESS: " + (", ".join(f"{r.profile} {r.strategies}" for r in ess.itertuples()) or "none"))
        lines.append(SELTEN_NOTE)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Game({self.name!r}: players {self.player_ids}, {len(self.parameters)} parameters; source={self.source!r})"


SELTEN_NOTE = ("In an asymmetric (multi-population) game only strict Nash equilibria can be evolutionarily stable "
               "(Selten 1980): a pure profile is an ESS exactly when every eigenvalue of the replicator Jacobian there "
               "is negative, and mixed rest points are never ESS.")


def _solve(eqs, unknowns) -> list:
    """Solutions of a polynomial system with rational coefficients; linear systems by elimination (fast)."""
    try:
        linear = all(sp.Poly(e, *unknowns).total_degree() <= 1 for e in eqs)
    except sp.PolynomialError:
        linear = False
    if linear:
        A, b = sp.linear_eq_to_matrix(eqs, unknowns)
        sol = sp.linsolve((A, b), unknowns)
        out = []
        for tup in sol:
            out.append(dict(zip(unknowns, tup)))
        return out
    return sp.solve(eqs, unknowns, dict=True)


def eq_point(row) -> tuple:
    return tuple(float(a) for a in row["profile"].strip("()").split(","))


def _fmt_complex(c) -> str:
    c = complex(c)
    if abs(c.imag) < 1e-12:
        return f"{c.real:.6g}"
    return f"{c.real:.6g}{'+' if c.imag >= 0 else '-'}{abs(c.imag):.6g}i"
