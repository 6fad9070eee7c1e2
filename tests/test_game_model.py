"""icaf_sem.game.model: YAML game -> replicator equations, rest points, eigenvalues, ESS table."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import yaml

from icaf_sem.errors import ModelSpecificationError
from icaf_sem.game import load_game, parse_expression
from icaf_sem.game.model import Game, builtin_game_path

ROOT = Path(__file__).resolve().parents[1]
GAME_FILE = ROOT / "questionnaires" / "tripartite_game.yaml"


@pytest.fixture(scope="module")
def game():
    return load_game(GAME_FILE)


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load(GAME_FILE.read_text(encoding="utf-8"))


def _ess_set(g, values=None):
    return set(g.ess(values))


def test_shipped_copy_is_identical():
    assert builtin_game_path("tripartite_game").read_text(encoding="utf-8") == GAME_FILE.read_text(encoding="utf-8")
    assert load_game("tripartite_game").player_ids == ["P", "U", "G"]


def test_replicator_equations_match_hand_derivation(game):
    """ΔU derived by hand from the payoff table in the file."""
    s = game.symbols
    x, y, z = s["x"], s["y"], s["z"]
    C_P = s["Cn_P"] + s["Ce_P"] + s["Rd_P"] + s["Rc_P"]
    C_U = s["Cn_U"] + s["Ce_U"] + s["Rd_U"] + s["Rc_U"]
    hand = {"P": s["B_P"] * y - C_P + z * (s["S"] + s["F"]),
            "U": s["B_U"] * x - C_U + z * (s["S"] + s["F"]),
            "G": -s["Cg"] - s["S"] * (x + y) + (s["F"] + s["L"]) * (2 - x - y)}
    for p in "PUG":
        assert sp.expand(game.delta_u[p] - hand[p]) == 0
        var = {"P": x, "U": y, "G": z}[p]
        assert sp.expand(game.replicator[p] - var * (1 - var) * hand[p]) == 0
    # W cancels: the data-management department gains it whatever it does
    assert s["W"] not in game.delta_u["G"].free_symbols


def test_vertex_eigenvalues_are_one_minus_two_v_times_delta_u(game):
    for v, lam in game.vertex_eigenvalues.items():
        sub = dict(zip(game.state, v))
        for k, p in enumerate(game.player_ids):
            assert sp.expand(lam[k] - (1 - 2 * v[k]) * game.delta_u[p].subs(sub)) == 0


def _numerical_jacobian(f, x, h=1e-6):
    x = np.asarray(x, float)
    J = np.empty((x.size, x.size))
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        J[:, j] = (f(x + e) - f(x - e)) / (2 * h)
    return J


def _sorted(ev):
    ev = np.asarray(ev, complex)
    return ev[np.lexsort((np.round(ev.imag, 8), np.round(ev.real, 8)))]


@pytest.mark.parametrize("values", [None, {"B_P": 3.0, "S": 2.5, "F": 0.7, "L": 0.4}])
def test_symbolic_eigenvalues_match_numerical_jacobian(game, values):
    f = game.vector_field(values)
    eqs = game.equilibria(values)
    assert {e.kind for e in eqs} >= {"pure"}
    for e in eqs:
        # the point is a rest point
        assert np.max(np.abs(f(np.array(e.point)))) < 1e-10
        Jn = _numerical_jacobian(f, e.point)
        np.testing.assert_allclose(e.jacobian_value, Jn, atol=1e-6)
        np.testing.assert_allclose(_sorted(e.eigenvalues), _sorted(np.linalg.eigvals(Jn)), atol=1e-6)
        if e.eigen_expressions is not None:     # symbolic eigenvalues evaluated at the values
            subs = game._subs(values)
            num = [complex(sp.N(expr.subs(subs))) for expr in e.eigen_expressions]
            np.testing.assert_allclose(_sorted(num), _sorted(np.linalg.eigvals(Jn)), atol=1e-6)


def test_symbolic_jacobian_matches_numerical_at_arbitrary_points(game):
    f = game.vector_field()
    subs = game._subs()
    J = sp.lambdify(game.state, game.jacobian.subs(subs), "numpy")
    rng = np.random.default_rng(3)
    for _ in range(5):
        pt = rng.uniform(0.05, 0.95, 3)
        np.testing.assert_allclose(np.array(J(*pt), float), _numerical_jacobian(f, pt), atol=1e-6)


def test_interior_point_symbolic_matches_numeric(game):
    eqs = game.equilibria()
    interior = [e for e in eqs if e.kind == "interior"]
    assert len(interior) == 1
    e = interior[0]
    num = [float(c.subs(game._subs())) for c in e.expressions]
    np.testing.assert_allclose(num, e.point, rtol=1e-12)
    # ΔU vanishes there for every player
    du = game.delta_u_function()
    np.testing.assert_allclose(du(np.array(e.point)), 0, atol=1e-12)


# --------------------------------------------------------------------------- worked examples
def _hand_conditions(v):
    """The ESS conditions of the tripartite game written out by hand (strict inequalities)."""
    C_P = v["Cn_P"] + v["Ce_P"] + v["Rd_P"] + v["Rc_P"]
    C_U = v["Cn_U"] + v["Ce_U"] + v["Rd_U"] + v["Rc_U"]
    S, F, Cg, L, B_P, B_U = v["S"], v["F"], v["Cg"], v["L"], v["B_P"], v["B_U"]
    return {
        (0, 0, 0): C_P > 0 and C_U > 0 and Cg > 2 * (F + L),
        (0, 0, 1): S + F < C_P and S + F < C_U and Cg < 2 * (F + L),
        (0, 1, 0): B_P < C_P and C_U < 0 and Cg > F + L - S,
        (0, 1, 1): B_P + S + F < C_P and C_U < S + F and Cg < F + L - S,
        (1, 0, 0): C_P < 0 and B_U < C_U and Cg > F + L - S,
        (1, 0, 1): C_P < S + F and B_U + S + F < C_U and Cg < F + L - S,
        (1, 1, 0): B_P > C_P and B_U > C_U,                        # λ_G = −(Cg + 2S) < 0 always
        (1, 1, 1): False,                                           # λ_G = Cg + 2S > 0 always
    }


CASES = {
    # the file's values: bistable, status quo (supervised passivity) vs. voluntary sharing
    "file": ({}, {(0, 0, 1), (1, 1, 0)}),
    # benefits below costs, weak incentives, costly supervision: nobody moves
    "lock_in": ({"B_P": 2, "B_U": 2, "S": 1, "F": 1, "Cg": 3, "L": 0.25}, {(0, 0, 0)}),
    # benefits below costs but strong incentives: supervision-sharing cycle, no ESS at all
    "cycle": ({"B_P": 2, "B_U": 2, "S": 3, "F": 3, "Cg": 3, "L": 0.25}, set()),
    # high benefit of sharing: sharing without supervision is the only ESS
    "benefit": ({"B_P": 8, "B_U": 8, "S": 1, "F": 3, "Cg": 3, "L": 0.25}, {(1, 1, 0)}),
    # the provider bears more risk than the user
    "asymmetric": ({"B_P": 6, "B_U": 6, "Rd_P": 3, "S": 0.5, "F": 1, "Cg": 1, "L": 1}, {(0, 0, 1)}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_worked_examples_ess_follow_from_stated_conditions(game, case):
    values, expected = CASES[case]
    v = {**game.values, **values}
    hand = {p for p, ok in _hand_conditions(v).items() if ok}
    assert hand == expected                         # the example is what the stated conditions say
    assert _ess_set(game, values) == expected       # and the module finds exactly that
    t = game.ess_table(values)
    assert (t.loc[t["kind"] != "pure", "ess"] == False).all()  # noqa: E712


def test_cycle_case_interior_point_is_not_ess(game):
    t = game.ess_table(CASES["cycle"][0])
    inner = t[t["kind"] == "interior"]
    assert len(inner) == 1 and not inner["ess"].any()
    assert "Selten 1980" in inner["note"].iloc[0]
    assert "Selten 1980" in t.attrs["note"]


# --------------------------------------------------------------------------- textbook two-population games
def _two_player(payoffs, params=None):
    return Game.from_dict({
        "name": "textbook",
        "players": {"A": {"variable": "x", "strategies": {"s1": "first", "s2": "second"}},
                    "B": {"variable": "y", "strategies": {"t1": "first", "t2": "second"}}},
        "parameters": params or {"k": 1},
        "payoffs": [{"profile": {"A": a, "B": b}, "payoff": {"A": pa, "B": pb}}
                    for (a, b), (pa, pb) in payoffs.items()]})


def test_matching_pennies_centre_without_ess():
    """Matching pennies: no pure equilibrium, interior point (1/2, 1/2) with eigenvalues ±i (a centre)."""
    g = _two_player({("s1", "t1"): ("k", "-k"), ("s1", "t2"): ("-k", "k"),
                     ("s2", "t1"): ("-k", "k"), ("s2", "t2"): ("k", "-k")})
    t = g.ess_table()
    assert not t["ess"].any()
    inner = [e for e in g.equilibria() if e.kind == "interior"]
    assert len(inner) == 1
    np.testing.assert_allclose(inner[0].point, [0.5, 0.5])
    np.testing.assert_allclose(_sorted(inner[0].eigenvalues), _sorted([-1j, 1j]), atol=1e-12)
    assert t[t.kind == "interior"]["stability"].iloc[0] == "centre/undetermined"


def test_prisoners_dilemma_unique_ess_is_mutual_defection():
    g = _two_player({("s1", "t1"): (3, 3), ("s1", "t2"): (0, 5), ("s2", "t1"): (5, 0), ("s2", "t2"): (1, 1)})
    assert g.ess() == [(0, 0)]        # s1 = cooperate is the first strategy, so defection is 0


def test_coordination_game_two_ess_and_a_saddle():
    g = _two_player({("s1", "t1"): (2, 2), ("s1", "t2"): (0, 0), ("s2", "t1"): (0, 0), ("s2", "t2"): (1, 1)})
    assert set(g.ess()) == {(0, 0), (1, 1)}
    inner = [e for e in g.equilibria() if e.kind == "interior"]
    np.testing.assert_allclose(inner[0].point, [1 / 3, 1 / 3])
    ev = np.sort(np.real(inner[0].eigenvalues))
    assert ev[0] < 0 < ev[1]


def test_non_strict_equilibrium_is_not_ess():
    g = _two_player({("s1", "t1"): (1, 1), ("s1", "t2"): (1, 0), ("s2", "t1"): (1, 0), ("s2", "t2"): (0, 0)})
    t = g.ess_table()
    row = t[t.profile == "(1, 1)"].iloc[0]
    assert not row["ess"] and row["stability"] == "non-hyperbolic"


def test_indifferent_player_gives_a_degenerate_game():
    """B's payoff does not depend on its own strategy: ΔU_B ≡ 0, every vertex is non-hyperbolic, none is an ESS."""
    g = _two_player({("s1", "t1"): (2, 1), ("s1", "t2"): (0, 1), ("s2", "t1"): (1, 0), ("s2", "t2"): (1, 0)})
    t = g.ess_table()
    assert not t["ess"].any()
    assert set(t.loc[t.kind == "pure", "stability"]) <= {"non-hyperbolic", "unstable", "saddle"}
    assert (t.loc[t.kind == "pure", "lambda_B"] == 0).all()
    assert g.degenerate and all("identically zero" in d["reason"] or "continuum" in d["reason"] for d in g.degenerate)


def test_vertex_eigenvalue_function_vectorised(game):
    f = game.vertex_eigenvalue_function()
    S = np.linspace(0, 5, 7)
    lam = f(S=S)
    assert lam.shape == (7, 8, 3)
    for k, s in enumerate(S):
        pure = game.ess_table({"S": s}, mixed=False)
        assert (pure.kind == "pure").all() and len(pure) == 8
        np.testing.assert_allclose(lam[k], pure[["lambda_P", "lambda_U", "lambda_G"]].to_numpy(), atol=1e-12)


# --------------------------------------------------------------------------- safe parsing and bad configs
SYMS = {"a": sp.Symbol("a"), "b": sp.Symbol("b")}


@pytest.mark.parametrize("text", [
    "__import__('os').system('echo hacked')", "a.real", "(lambda: 1)()", "[a, b]", "a if b else 1",
    "a ** b", "a ** 20", "open('x')", "a; b", "a == b", "1e999", "a @ b", "'text'", "", "-" * 1500 + "a",
    "10 ** (10 ** 10)",
])
def test_unsafe_or_invalid_expressions_are_refused(text):
    with pytest.raises(ModelSpecificationError):
        parse_expression(text, SYMS, where="test")


def test_safe_expressions():
    a, b = SYMS["a"], SYMS["b"]
    assert parse_expression("2*a - b/4 + a^2", SYMS) == 2 * a - b / 4 + a ** 2
    assert parse_expression("-(a + 0.5)", SYMS) == -(a + sp.Rational(1, 2))
    assert parse_expression(3, SYMS) == 3


def _mutate(spec, fn):
    s = copy.deepcopy(spec)
    fn(s)
    return s


@pytest.mark.parametrize("mutation, words", [
    (lambda s: s["payoffs"][0]["payoff"].update(P="B_P - Z_unknown"), ["payoffs[0].payoff.P", "Z_unknown"]),
    (lambda s: s["payoffs"].pop(3), ["profile", "no payoff", "8"]),
    (lambda s: s["players"]["G"]["strategies"].pop("not_supervise"), ["players.G.strategies", "exactly two"]),
    (lambda s: s["players"]["G"]["strategies"].update(ignore="Ignore"), ["players.G.strategies", "exactly two"]),
    (lambda s: s["parameters"]["S"].update(value="high"), ["parameters.S.value", "'high'", "not a number"]),
    (lambda s: s["parameters"]["S"].update(value=True), ["parameters.S.value"]),
    (lambda s: s["payoffs"][1]["profile"].update(G="inspect"), ["payoffs[1].profile.G", "inspect"]),
    (lambda s: s["payoffs"][1]["payoff"].pop("U"), ["payoffs[1].payoff", "U"]),
    (lambda s: s["payoffs"].append(copy.deepcopy(s["payoffs"][0])), ["given twice"]),
    (lambda s: s.update(extra=1), ["unknown key 'extra'"]),
    (lambda s: s["parameters"].update(x=1.0), ["parameters.x"]),
    (lambda s: s["sweeps"][0].update(x="Q_unknown"), ["sweeps[0].x", "Q_unknown"]),
    (lambda s: s.pop("payoffs"), ["payoffs", "missing"]),
    (lambda s: s["simulation"].update(paths="many"), ["simulation.paths", "'many'"]),
    (lambda s: s["simulation"].update(sigmas=[0, "big"]), ["simulation.sigmas", "'big'"]),
    (lambda s: s["simulation"].update(noise="x^2"), ["simulation.noise", "x^2"]),
    (lambda s: s["simulation"]["x0"].update(P=1.5), ["simulation.x0.P"]),
])
def test_bad_configs_raise_clear_errors(spec, mutation, words):
    with pytest.raises(ModelSpecificationError) as exc:
        Game.from_dict(_mutate(spec, mutation), source="game.yaml")
    msg = str(exc.value)
    for w in words:
        assert w in msg, msg


def test_bad_files(tmp_path):
    with pytest.raises(ModelSpecificationError, match="not found"):
        load_game(tmp_path / "nope.yaml")
    p = tmp_path / "dup.yaml"
    p.write_text("name: a\nname: b\n", encoding="utf-8")
    with pytest.raises(ModelSpecificationError, match="twice"):
        load_game(p)
    p.write_text("players: [\n", encoding="utf-8")
    with pytest.raises(ModelSpecificationError, match="not valid YAML"):
        load_game(p)
    p.write_text("!!python/object/apply:os.system ['echo hi']\n", encoding="utf-8")
    with pytest.raises(ModelSpecificationError):
        load_game(p)


def test_with_values_checks_names_and_numbers(game):
    with pytest.raises(ModelSpecificationError, match="unknown parameter 'nope'"):
        game.with_values(nope=1)
    with pytest.raises(ModelSpecificationError, match="not a number"):
        game.with_values(S="2")
    assert game.with_values(S=2.0).values["S"] == 2.0 and game.values["S"] == 1.5
