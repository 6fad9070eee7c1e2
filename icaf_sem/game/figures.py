"""Figures of a game: stochastic trajectories, sweep heat-maps, the phase portrait (matplotlib).

Each function returns a :class:`matplotlib.figure.Figure`; write it with
:func:`icaf_sem.report.figures.save_figure` (PNG and SVG, whole or not at all).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

__all__ = ["trajectories", "sweep_heatmap", "phase_portrait"]

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _plt():
    from ..report.figures import _plt as plt_
    return plt_()


def trajectories(results: Sequence, *, n_sample: int = 8, title: Optional[str] = None):
    """One panel per noise intensity: mean share of each population over the paths that stayed
    inside [0, 1] (thick) and a few sample paths (thin).

    Parameters
    ----------
    results : sequence of SimulationResult
        Simulated with ``record_every`` set (one per σ).
    """
    plt = _plt()
    res = [r for r in results if r.recorded is not None]
    if not res:
        raise ValueError("trajectories: the simulations were run without record_every")
    k = len(res)
    fig, axes = plt.subplots(1, k, figsize=(3.3 * k + 0.6, 3.4), sharey=True, squeeze=False)
    for ax, r in zip(axes[0], res):
        inside = ~r.left
        R = r.recorded[:, inside, :]
        for j, p in enumerate(r.players):
            c = _COLORS[j % len(_COLORS)]
            if R.shape[1]:
                for s in range(min(n_sample, R.shape[1])):
                    ax.plot(r.times, R[:, s, j], color=c, lw=0.4, alpha=0.35)
                ax.plot(r.times, R[:, :, j].mean(axis=1), color=c, lw=2, label=p)
        extra = f", {r.left.mean():.0%} left [0,1]" if r.left.any() else ""
        ax.set_title(f"σ = {r.sigma:g}  (g = {r.noise}{extra})", fontsize=9)
        ax.set_xlabel("t")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("share playing the first strategy")
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def sweep_heatmap(sw, *, title: Optional[str] = None):
    """Categorical heat-map of the stable profile(s) over a two-way sweep."""
    plt = _plt()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    labels = sw.labels
    cats = list(dict.fromkeys(sorted(set(labels.ravel()), key=lambda s: (s == "none", s))))
    code = np.vectorize({c: k for k, c in enumerate(cats)}.get)(labels).astype(float)
    palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
               "#9c755f", "#bab0ac"]
    colors = [("#eeeeee" if c == "none" else palette[k % len(palette)]) for k, c in enumerate(cats)]
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    dx = (sw.x_values[1] - sw.x_values[0]) / 2
    dy = (sw.y_values[1] - sw.y_values[0]) / 2
    ax.imshow(code, origin="lower", aspect="auto", interpolation="nearest", cmap=ListedColormap(colors),
              vmin=-0.5, vmax=len(cats) - 0.5,
              extent=(sw.x_values[0] - dx, sw.x_values[-1] + dx, sw.y_values[0] - dy, sw.y_values[-1] + dy))
    ax.set_xlabel(sw.x)
    ax.set_ylabel("σ" if sw.y == "sigma" else sw.y)
    crit = {"ess": "ESS (every eigenvalue < 0)", "almost_sure": "almost surely stable (λ − σ²/2 < 0)",
            "mean_square": "mean-square stable (λ + σ²/2 < 0)"}[sw.criterion]
    ax.set_title(title or f"Stable profile: {crit}", fontsize=9)
    ax.legend(handles=[Patch(color=c, label=l) for c, l in zip(colors, cats)], fontsize=7, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), frameon=False, title="stable profile(s)", title_fontsize=7)
    fig.tight_layout()
    return fig


def phase_portrait(game, *, values=None, starts: Optional[np.ndarray] = None, T: float = 20.0, steps: int = 1000,
                   title: Optional[str] = None):
    """Deterministic (σ = 0) trajectories from a grid of starting points: 3-D for three players, 2-D for two.

    ESS vertices are marked with filled circles, other pure profiles with open ones.
    """
    plt = _plt()
    from .stochastic import _replicator_paths

    n = game.n_players
    if n not in (2, 3):
        raise ValueError("phase_portrait: drawn for games of two or three players only")
    if starts is None:
        g = [0.15, 0.5, 0.85]
        starts = np.array(np.meshgrid(*[g] * n, indexing="ij")).reshape(n, -1).T
    res = _replicator_paths(game.delta_u_rows(values), starts, sigma=0.0, noise="x(1-x)", scheme="euler", T=T,
                            steps=steps, paths=len(starts), record_every=max(1, steps // 250))
    R = res["recorded"]                                     # (times, paths, n)
    ess = set(game.ess(values))
    fig = plt.figure(figsize=(5.4, 4.8))
    ax = fig.add_subplot(111, projection="3d" if n == 3 else None)
    cmap = plt.get_cmap("viridis")
    for k in range(R.shape[1]):
        c = cmap(k / max(1, R.shape[1] - 1))
        ax.plot(*[R[:, k, j] for j in range(n)], color=c, lw=0.9, alpha=0.8)
        ax.scatter(*[[R[0, k, j]] for j in range(n)], color=c, s=6)
    for v in game.vertices:
        filled = tuple(v) in ess
        ax.scatter(*[[a] for a in v], s=50 if filled else 30, facecolors="k" if filled else "none",
                   edgecolors="k", depthshade=False) if n == 3 else \
            ax.scatter(*[[a] for a in v], s=50 if filled else 30, facecolors="k" if filled else "none", edgecolors="k")
    labels = [f"{p.variable} ({p.id})" for p in game.players]
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    if n == 3:
        ax.set_zlabel(labels[2])
        ax.view_init(elev=22, azim=-60)
    ax.set_title(title or "Replicator dynamics (σ = 0); ● ESS, ○ other pure profiles", fontsize=9)
    fig.tight_layout()
    return fig
