"""Parameter sweeps: which pure profile is stable as two quantities change.

The vertex eigenvalues are lambdified once and evaluated on the whole grid as
arrays, so a 100 × 100 sweep costs a few array operations.  On a parameter ×
parameter grid a profile counts as stable when it is an ESS (every eigenvalue
negative).  When one axis is ``sigma`` the criterion is almost-sure stability
of the stochastic dynamics, ``λ_i − σ²/2 < 0`` for every population (see
:mod:`icaf_sem.game.stochastic`); ``criterion="mean_square"`` uses
``λ_i + σ²/2 < 0`` instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import numpy as np
import pandas as pd

from ..errors import ModelSpecificationError

__all__ = ["sweep", "SweepResult"]


@dataclass
class SweepResult:
    """A two-way sweep.

    Attributes
    ----------
    x, y : str
        The swept quantities (parameter names or ``"sigma"``).
    x_values, y_values : ndarray
    stable : ndarray of bool, shape (len(y_values), len(x_values), 2^n)
        Whether each pure profile is stable at each grid point.
    profiles : list of str
    criterion : str
    """

    x: str
    y: str
    x_values: np.ndarray
    y_values: np.ndarray
    stable: np.ndarray
    profiles: list
    criterion: str
    noise: Optional[str] = None

    @property
    def labels(self) -> np.ndarray:
        """The stable profile(s) at each grid point as text ("none" when no profile is stable)."""
        ny, nx, _ = self.stable.shape
        out = np.empty((ny, nx), dtype=object)
        for i in range(ny):
            for j in range(nx):
                s = [p for p, b in zip(self.profiles, self.stable[i, j]) if b]
                out[i, j] = " + ".join(s) if s else "none"
        return out

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per grid point with the stable profile(s)."""
        X, Y = np.meshgrid(self.x_values, self.y_values)
        return pd.DataFrame({self.x: X.ravel(), self.y: Y.ravel(), "stable_profiles": self.labels.ravel(),
                             "n_stable": self.stable.sum(axis=2).ravel()})

    def regions(self) -> pd.DataFrame:
        """Share of the grid where each combination of stable profiles holds."""
        lab = pd.Series(self.labels.ravel())
        return lab.value_counts(normalize=True).rename_axis("stable_profiles").reset_index(name="share_of_grid")

    def to_dict(self) -> dict:
        return {"x": self.x, "y": self.y, "criterion": self.criterion, "noise": self.noise,
                "x_values": self.x_values.tolist(), "y_values": self.y_values.tolist(),
                "labels": self.labels.tolist(), "regions": self.regions().to_dict(orient="records")}


def sweep(game, x: str, x_values, y: str, y_values, *, values: Optional[Mapping[str, float]] = None,
          noise: str = "x(1-x)", criterion: Optional[str] = None) -> SweepResult:
    """Which pure profiles are stable on a grid of two parameters (or a parameter and ``sigma``).

    Parameters
    ----------
    game : Game
    x, y : str
        Parameter names, or ``"sigma"`` for one of them.
    x_values, y_values : array-like
    values : dict, optional
        Other parameter values (default: the game's).
    noise : {"x(1-x)", "x"}
        With ``sigma`` on an axis: the noise form (with ``"x"``, profiles with a
        population at 1 are not rest points of the stochastic equation).
    criterion : {"ess", "almost_sure", "mean_square"}, optional
        Default ``"ess"`` without sigma, ``"almost_sure"`` with it.

    Returns
    -------
    SweepResult
    """
    for name in (x, y):
        if name != "sigma" and name not in game.parameters:
            raise ModelSpecificationError(f"sweep: unknown parameter {name!r}; fix: use one of "
                                          f"{', '.join(game.parameters)} or 'sigma'")
    if x == y:
        raise ModelSpecificationError(f"sweep: x and y are both {x!r}; fix: sweep two different quantities")
    xv = np.asarray(x_values, dtype=float)
    yv = np.asarray(y_values, dtype=float)
    if xv.ndim != 1 or yv.ndim != 1 or xv.size < 2 or yv.size < 2 or not (np.isfinite(xv).all() and np.isfinite(yv).all()):
        raise ModelSpecificationError("sweep: x_values and y_values must be 1-D lists of at least two finite numbers")
    has_sigma = "sigma" in (x, y)
    criterion = criterion or ("almost_sure" if has_sigma else "ess")
    if criterion not in ("ess", "almost_sure", "mean_square"):
        raise ModelSpecificationError(f"sweep(criterion={criterion!r}): use 'ess', 'almost_sure' or 'mean_square'")
    if has_sigma and ((xv < 0).any() if x == "sigma" else (yv < 0).any()):
        raise ModelSpecificationError("sweep: sigma values must be >= 0")
    X, Y = np.meshgrid(xv, yv)
    kw = {k: v for k, v in (values or {}).items()}
    sig = np.zeros_like(X)
    if x == "sigma":
        sig = X
    else:
        kw[x] = X
    if y == "sigma":
        sig = Y
    else:
        kw[y] = Y
    lam = game.vertex_eigenvalue_function()(**kw)          # (ny, nx, 2^n, n)
    s2 = (sig ** 2)[..., None, None] / 2
    if criterion == "ess":
        stable = (lam < 0).all(axis=-1)
    elif criterion == "almost_sure":
        stable = (lam - s2 < 0).all(axis=-1)
    else:
        stable = (lam + s2 < 0).all(axis=-1)
    profiles = ["(" + ", ".join(map(str, v)) + ")" for v in game.vertices]
    if has_sigma and noise == "x":
        ones = np.array([any(v) for v in game.vertices])
        stable = stable & ~((sig > 0)[..., None] & ones)
    return SweepResult(x=x, y=y, x_values=xv, y_values=yv, stable=stable, profiles=profiles, criterion=criterion,
                       noise=noise if has_sigma else None)
