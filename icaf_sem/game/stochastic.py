"""Stochastic replicator dynamics: Euler-Maruyama and Milstein paths, vectorised and seeded.

Each population's share follows the Itô equation

    dx_i = x_i (1 − x_i) ΔU_i(x) dt + σ g(x_i) dW_i,

with one independent Wiener process per population and either

* ``noise="x"``: ``g(x) = x``, the form used in the stochastic evolutionary game
  literature.  The noise does not vanish at ``x = 1``, so paths can and do leave
  ``[0, 1]``; they are **flagged** (never clipped) and frozen where they left;
* ``noise="x(1-x)"``: ``g(x) = x (1 − x)``, which vanishes at both ends so the
  exact solution stays in ``(0, 1)``.  With ``scheme="logit"`` the equation is
  integrated for ``l = log(x / (1 − x))``, where by Itô's formula
  ``dl = [ΔU + σ²(2x − 1)/2] dt + σ dW`` has additive noise (Euler-Maruyama and
  Milstein coincide): the numerical paths stay inside ``(0, 1)`` by construction.

Schemes (Higham 2001; Kloeden & Platen 1992): ``euler`` (strong order 0.5) and
``milstein`` (strong order 1; adds ``½ σ² g g′ (ΔW² − Δt)``).  All paths are
advanced together as arrays of shape ``(paths, players)``; noise is drawn in
chunks of steps from ``numpy.random.default_rng(seed)`` so memory stays bounded.

Stability of a pure profile under noise (:func:`stochastic_stability`): near a
vertex where the noise vanishes linearly each coordinate of the linearised
equation is a geometric Brownian motion ``du = λ u dt ± σ u dW``.  It is
**almost surely** exponentially stable iff ``λ − σ²/2 < 0`` and **mean-square**
stable iff ``λ + σ²/2 < 0`` (Mao 2007, ch. 4; Khasminskii 2012 for the
nonlinear equation).  Noise can therefore stabilise a profile almost surely
(``0 < λ < σ²/2``) that is unstable in mean square.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from ..errors import ModelSpecificationError

__all__ = ["sde_paths", "simulate", "SimulationResult", "stochastic_stability", "NOISES", "SCHEMES"]

NOISES = ("x", "x(1-x)")
SCHEMES = ("euler", "milstein", "logit")


def _check_positive_int(name, v, minimum=1):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ModelSpecificationError(f"{name}={v!r} must be a whole number >= {minimum}")
    return int(v)


def _check_number(name, v, lo=None, strict=False):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(float(v)):
        raise ModelSpecificationError(f"{name}={v!r} must be a finite number")
    v = float(v)
    if lo is not None and (v < lo or (strict and v == lo)):
        raise ModelSpecificationError(f"{name}={v!r} must be {'>' if strict else '>='} {lo}")
    return v


# --------------------------------------------------------------------------- the generic integrator
class _Tracker:
    """Active-path bookkeeping: paths that leave the domain are frozen (stored) and dropped from the arrays."""

    def __init__(self, X, steps, record_every, dt):
        d, paths = X.shape
        self.paths = paths
        self.idx = np.arange(paths)
        self.final = X.copy()
        self.exit_step = np.full(paths, -1, dtype=np.int64)
        self.rec = None
        self.times = None
        if record_every:
            record_every = _check_positive_int("record_every", record_every)
            marks = list(range(0, steps + 1, record_every))
            if marks[-1] != steps:
                marks.append(steps)
            self.rec = np.empty((len(marks), d, paths), dtype=X.dtype)
            self.rec[0] = X
            self.times = np.asarray(marks, dtype=float) * dt
            self.pos = {s: k for k, s in enumerate(marks)}

    def record(self, step, X):
        if self.rec is not None and step in self.pos:
            k = self.pos[step]
            if k > 0:
                self.rec[k] = self.rec[k - 1]     # frozen paths keep their last value
            self.rec[k][:, self.idx] = X

    def drop(self, step, X, out):
        """Freeze the paths flagged in ``out`` (a mask over the active paths) at their current value."""
        gone = self.idx[out]
        self.final[:, gone] = X[:, out]
        self.exit_step[gone] = step
        keep = ~out
        self.idx = self.idx[keep]
        return keep

    def result(self, X, dt):
        self.final[:, self.idx] = X
        rec = None if self.rec is None else np.transpose(self.rec, (0, 2, 1))
        return {"final": self.final.T.copy(), "left": self.exit_step >= 0, "exit_step": self.exit_step,
                "times": self.times, "recorded": rec, "dt": dt}


def _prepare(x0, T, steps, paths, dW, dtype):
    steps = _check_positive_int("steps", steps)
    paths = _check_positive_int("paths", paths)
    T = _check_number("T", T, 0, strict=True)
    x0 = np.asarray(x0, dtype=dtype)
    if x0.ndim == 1:
        X = np.repeat(x0[:, None], paths, axis=1)
    elif x0.shape[0] == paths:
        X = np.ascontiguousarray(x0.T)
    else:
        raise ModelSpecificationError(f"x0 has shape {x0.shape}; expected (d,) or (paths, d)")
    d = X.shape[0]
    if dW is not None:
        dW = np.asarray(dW, dtype=dtype)
        if dW.shape != (steps, paths, d):
            raise ModelSpecificationError(f"dW has shape {dW.shape}; expected (steps, paths, d) = {(steps, paths, d)}")
    return X, T, steps, paths, d, dW


def _noise(rng, dW, step, idx, d, sq, dtype, buf):
    """Brownian increments, shape (d, m), for the m active paths at this step."""
    if dW is not None:
        return np.ascontiguousarray(dW[step][idx].T)
    m = len(idx)
    if m == buf.shape[1]:
        z = buf
        rng.standard_normal(out=z, dtype=dtype)
    else:
        z = rng.standard_normal((d, m), dtype=dtype)
    z *= sq
    return z


def sde_paths(drift: Callable, diffusion: Callable, x0, *, T: float, steps: int, paths: int,
              scheme: str = "euler", diffusion_dx: Optional[Callable] = None, seed=None,
              dW: Optional[np.ndarray] = None, domain: Optional[tuple] = None,
              record_every: Optional[int] = None, dtype=np.float64):
    """Integrate a diagonal-noise Itô SDE ``dX = a(X) dt + b(X) dW`` for many paths at once.

    Parameters
    ----------
    drift, diffusion : callable
        ``a(X)`` and ``b(X)`` for ``X`` of shape ``(d, m)`` (one row per coordinate,
        one column per active path), returning the same shape.
    diffusion_dx : callable, optional
        ``∂b_k/∂x_k`` (needed by Milstein; the noise is diagonal).
    x0 : array of shape (d,) or (paths, d)
    T, steps, paths
        Horizon, number of steps (``dt = T / steps``) and number of paths.
    scheme : {"euler", "milstein"}
    seed : int or numpy Generator, optional
    dW : array of shape (steps, paths, d), optional
        The Brownian increments to use (the tests reuse one path at several step sizes).
    domain : (low, high), optional
        A path whose state leaves ``[low, high]`` is flagged and frozen at the
        first value outside (not clipped).
    record_every : int, optional
        Keep the state every this many steps (and at 0 and T).

    Returns
    -------
    dict with ``final`` (paths, d), ``left`` (paths,) bool, ``exit_step`` (paths,) int (−1 if inside),
    ``times`` and ``recorded`` (n_times, paths, d) or None.
    """
    if scheme not in ("euler", "milstein"):
        raise ModelSpecificationError(f"scheme={scheme!r} is not supported here; use 'euler' or 'milstein'")
    if scheme == "milstein" and diffusion_dx is None:
        raise ModelSpecificationError("scheme='milstein' needs diffusion_dx, the derivative of the diffusion")
    X, T, steps, paths, d, dW = _prepare(x0, T, steps, paths, dW, dtype)
    dt = T / steps
    sq = math.sqrt(dt)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    tr = _Tracker(X, steps, record_every, dt)
    buf = np.empty((d, paths), dtype=dtype)
    for k in range(steps):
        if not len(tr.idx):
            break
        w = _noise(rng, dW, k, tr.idx, d, sq, dtype, buf)
        b = diffusion(X)
        Xn = X + drift(X) * dt + b * w
        if scheme == "milstein":
            Xn += 0.5 * b * diffusion_dx(X) * (w * w - dt)
        if domain is not None and (Xn.min() < domain[0] or Xn.max() > domain[1]):
            out = ((Xn < domain[0]) | (Xn > domain[1])).any(axis=0)
            keep = tr.drop(k + 1, Xn, out)
            Xn = Xn[:, keep]
        X = Xn
        tr.record(k + 1, X)
    return tr.result(X, dt)


def _replicator_paths(du, x0, *, sigma, noise, scheme, T, steps, paths, seed=None, dW=None, record_every=None,
                      dtype=np.float64):
    """The game's paths with the scheme written out (fewer array passes than the generic :func:`sde_paths`).

    ``du(X)`` returns ΔU for X of shape (d, m).  For ``g(x) = x(1 − x)`` the
    Milstein step is ``X + q [ΔU dt + σ ΔW + σ² (1 − 2X)(ΔW² − dt)/2]`` with
    ``q = X(1 − X)``; for ``g(x) = x`` it is ``X + q ΔU dt + σ X ΔW + σ² X (ΔW² − dt)/2``.
    """
    X, T, steps, paths, d, dW = _prepare(x0, T, steps, paths, dW, dtype)
    dt = T / steps
    sq = math.sqrt(dt)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    s2h = 0.5 * sigma * sigma
    buf = np.empty((d, paths), dtype=dtype)
    if scheme == "logit":
        L = np.log(X / (1 - X))
        tr = _Tracker(X, steps, record_every, dt)
        for k in range(steps):
            w = _noise(rng, dW, k, tr.idx, d, sq, dtype, buf)
            L += (du(X) + s2h * (2.0 * X - 1.0)) * dt + sigma * w
            X = 1.0 / (1.0 + np.exp(-L))
            tr.record(k + 1, X)
        return tr.result(X, dt)
    tr = _Tracker(X, steps, record_every, dt)
    mil = scheme == "milstein"
    q = np.empty_like(X)
    t1 = np.empty_like(X)
    t2 = np.empty_like(X)
    for k in range(steps):
        m = len(tr.idx)
        if not m:
            break
        if q.shape[1] != m:
            q, t1, t2 = q[:, :m], t1[:, :m], t2[:, :m]
        w = _noise(rng, dW, k, tr.idx, d, sq, dtype, buf)
        np.subtract(1.0, X, out=q)
        q *= X                                     # q = x(1 - x)
        D = du(X)
        D *= dt
        if noise == "x(1-x)":                      # X + q [ΔU dt + σ ΔW (+ σ²/2 (1 − 2X)(ΔW² − dt))]
            np.multiply(w, sigma, out=t1)
            D += t1
            if mil:
                np.multiply(w, w, out=t1)
                t1 -= dt
                t1 *= s2h
                np.multiply(X, -2.0, out=t2)
                t2 += 1.0
                t1 *= t2
                D += t1
            D *= q
        else:                                      # X + q ΔU dt + X [σ ΔW (+ σ²/2 (ΔW² − dt))]
            D *= q
            np.multiply(w, sigma, out=t1)
            if mil:
                np.multiply(w, w, out=t2)
                t2 -= dt
                t2 *= s2h
                t1 += t2
            t1 *= X
            D += t1
        X = X + D
        if X.min() < 0.0 or X.max() > 1.0:
            out = ((X < 0.0) | (X > 1.0)).any(axis=0)
            keep = tr.drop(k + 1, X, out)
            X = np.ascontiguousarray(X[:, keep])
            q, t1, t2 = (np.empty_like(X) for _ in range(3))
        tr.record(k + 1, X)
    return tr.result(X, dt)


# --------------------------------------------------------------------------- the game's paths
@dataclass
class SimulationResult:
    """Paths of the stochastic replicator dynamics.

    Attributes
    ----------
    final : ndarray (paths, players)
    left : ndarray (paths,) bool
        Paths that left ``[0, 1]`` (frozen at the first value outside, never clipped).
    exit_time : ndarray (paths,)
        Time the path left ``[0, 1]`` (NaN if it stayed inside).
    times, recorded : ndarray or None
        Recorded states, shape (n_times, paths, players).
    """

    players: list
    sigma: float
    noise: str
    scheme: str
    T: float
    steps: int
    seed: object
    x0: np.ndarray
    final: np.ndarray
    left: np.ndarray
    exit_time: np.ndarray
    times: Optional[np.ndarray] = None
    recorded: Optional[np.ndarray] = None
    vertex_tol: float = 0.05

    @property
    def paths(self) -> int:
        return self.final.shape[0]

    def vertex_shares(self) -> dict:
        """Share of all paths ending within ``vertex_tol`` (max-norm) of each pure profile."""
        n = self.final.shape[1]
        inside = ~self.left
        out = {}
        V = np.rint(self.final)
        near = inside & (np.abs(self.final - V) <= self.vertex_tol).all(axis=1)
        for code in range(2 ** n):
            v = np.array([(code >> (n - 1 - k)) & 1 for k in range(n)], dtype=float)
            out["(" + ", ".join(str(int(a)) for a in v) + ")"] = float(np.mean(near & (V == v).all(axis=1)))
        return out

    def summary(self) -> dict:
        """JSON-ready summary: paths, share that left [0, 1], final means/SDs, shares near each vertex."""
        inside = ~self.left
        fin = self.final[inside]
        shares = self.vertex_shares()
        out = {"sigma": self.sigma, "noise": self.noise, "scheme": self.scheme, "T": self.T, "steps": self.steps,
               "dt": self.T / self.steps, "paths": int(self.paths), "seed": self.seed,
               "x0": dict(zip(self.players, map(float, self.x0))),
               "left_unit_interval": int(self.left.sum()), "share_left": float(self.left.mean()),
               "mean_exit_time": float(np.nanmean(self.exit_time)) if self.left.any() else None,
               "final_mean": dict(zip(self.players, map(float, fin.mean(axis=0)))) if len(fin) else None,
               "final_sd": dict(zip(self.players, map(float, fin.std(axis=0, ddof=1)))) if len(fin) > 1 else None,
               "share_near_vertex": shares, "vertex_tol": self.vertex_tol,
               "share_not_near_a_vertex": float(1.0 - self.left.mean() - sum(shares.values()))}
        return out

    def mean_path(self) -> Optional[pd.DataFrame]:
        """Mean (over paths still inside [0, 1]) of the recorded states, one column per player."""
        if self.recorded is None:
            return None
        inside = ~self.left
        m = self.recorded[:, inside, :].mean(axis=1) if inside.any() else np.full(self.recorded.shape[::2], np.nan)
        df = pd.DataFrame(m, columns=self.players)
        df.insert(0, "t", self.times)
        return df


def simulate(game, *, values: Optional[Mapping[str, float]] = None, x0=None, sigma: float = 0.5, T: float = 10.0,
             steps: int = 1000, paths: int = 1000, noise: str = "x(1-x)", scheme: str = "milstein", seed=None,
             record_every: Optional[int] = None, dtype=np.float64) -> SimulationResult:
    """Simulate the stochastic replicator dynamics of a game.

    Parameters
    ----------
    game : Game
    values : dict, optional
        Parameter values replacing the game's.
    x0 : dict of player to share, or sequence, optional
        Initial shares (default 0.5 each); each strictly inside (0, 1).
    sigma : float, default 0.5
        Noise intensity (the same for every population).
    T, steps, paths : horizon, steps (dt = T/steps), number of paths.
    noise : {"x(1-x)", "x"}
        ``g(x)``: boundary-preserving ``x(1 − x)`` or the literature's ``x``.
    scheme : {"milstein", "euler", "logit"}
        ``logit`` (only with ``noise="x(1-x)"``) integrates ``log(x/(1−x))``,
        which keeps every path inside (0, 1).
    seed : int, optional
        ``numpy.random.default_rng(seed)``: the same seed gives the same paths.
    record_every : int, optional
        Record the state every this many steps (memory: n_times × paths × players floats).

    Returns
    -------
    SimulationResult
    """
    if noise not in NOISES:
        raise ModelSpecificationError(f"noise={noise!r} is not supported; use 'x(1-x)' (boundary-preserving) or 'x' "
                                      "(the papers' form)")
    if scheme not in SCHEMES:
        raise ModelSpecificationError(f"scheme={scheme!r} is not supported; use 'milstein', 'euler' or 'logit'")
    if scheme == "logit" and noise != "x(1-x)":
        raise ModelSpecificationError("scheme='logit' keeps paths inside (0, 1) only for noise='x(1-x)'; with noise='x' "
                                      "use 'euler' or 'milstein' (paths that leave [0, 1] are flagged)")
    sigma = _check_number("sigma", sigma, 0)
    n = game.n_players
    if x0 is None:
        x0 = np.full(n, 0.5)
    elif isinstance(x0, Mapping):
        bad = [k for k in x0 if k not in game.player_ids]
        if bad:
            raise ModelSpecificationError(f"x0: unknown player {bad[0]!r}; fix: use {', '.join(game.player_ids)}")
        x0 = np.array([_check_number(f"x0[{p}]", x0.get(p, 0.5)) for p in game.player_ids])
    else:
        x0 = np.asarray(x0, dtype=float)
        if x0.shape != (n,):
            raise ModelSpecificationError(f"x0 has {x0.size} values; expected one per player ({n})")
    if not ((x0 > 0) & (x0 < 1)).all():
        raise ModelSpecificationError(f"x0={x0.tolist()}: every initial share must lie strictly between 0 and 1")
    du = game.delta_u_rows(values)
    res = _replicator_paths(du, x0, sigma=sigma, noise=noise, scheme=scheme, T=T, steps=steps, paths=paths,
                            seed=seed, record_every=record_every, dtype=dtype)
    fin, rec, left = res["final"], res["recorded"], res["left"]
    exit_t = np.where(res["exit_step"] >= 0, res["exit_step"] * res["dt"], np.nan)
    return SimulationResult(players=game.player_ids, sigma=sigma, noise=noise, scheme=scheme, T=float(T),
                            steps=int(steps), seed=seed if not isinstance(seed, np.random.Generator) else None,
                            x0=x0, final=fin, left=left, exit_time=exit_t, times=res["times"], recorded=rec)


# --------------------------------------------------------------------------- stability under noise
def stochastic_stability(game, sigmas: Sequence[float], *, noise: str = "x(1-x)",
                         values: Optional[Mapping[str, float]] = None) -> pd.DataFrame:
    """Almost-sure and mean-square stability of every pure profile, for each noise intensity.

    Near a vertex the linearised equation of each population is
    ``du = λ_i u dt ± σ u dW`` (the noise ``g`` vanishes linearly there), whose
    solution ``u_t = u_0 exp((λ_i − σ²/2) t ± σ W_t)`` gives

    * almost-sure exponential stability iff ``λ_i − σ²/2 < 0`` for every i;
    * mean-square (second-moment) stability iff ``λ_i + σ²/2 < 0`` for every i.

    With ``noise="x"`` the noise ``σ x`` does not vanish at ``x = 1``, so a
    profile with any population at 1 is not a rest point of the stochastic
    equation at all (``stationary`` is False there for σ > 0).

    Returns
    -------
    DataFrame with ``sigma, profile, lambda_<player>..., deterministic_stable,
    stationary, as_stable, ms_stable, as_condition, ms_condition``.
    """
    if noise not in NOISES:
        raise ModelSpecificationError(f"noise={noise!r} is not supported; use 'x(1-x)' or 'x'")
    t = game.ess_table(values, mixed=False)
    pure = t[t["kind"] == "pure"]
    rows = []
    for s in sigmas:
        s = _check_number("sigma", s, 0)
        for _, r in pure.iterrows():
            lam = np.array([r[f"lambda_{p}"] for p in game.player_ids], dtype=float)
            v = tuple(int(a) for a in r["profile"].strip("()").split(","))
            stationary = not (noise == "x" and s > 0 and any(v))
            a_s = bool(stationary and (lam - s * s / 2 < 0).all())
            m_s = bool(stationary and (lam + s * s / 2 < 0).all())
            rows.append({"sigma": s, "noise": noise, "profile": r["profile"], "strategies": r["strategies"],
                         **{f"lambda_{p}": float(x) for p, x in zip(game.player_ids, lam)},
                         "deterministic_stable": bool(r["ess"]), "stationary": stationary,
                         "as_stable": a_s, "ms_stable": m_s,
                         "as_condition": "max λ_i − σ²/2 < 0", "ms_condition": "max λ_i + σ²/2 < 0",
                         "max_lambda_minus_half_sigma2": float(lam.max() - s * s / 2),
                         "max_lambda_plus_half_sigma2": float(lam.max() + s * s / 2)})
    return pd.DataFrame(rows)
