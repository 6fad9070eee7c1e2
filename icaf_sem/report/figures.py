"""Figures of an analysis, drawn with matplotlib and seaborn (no system binaries).

* :func:`path_diagram`: the structural model laid out from the exogenous
  constructs (left) to the outcome (right), standardized coefficients with
  significance stars on the arrows, R² inside the endogenous constructs,
  non-significant paths dashed, covariances as curved two-headed arrows.
* :func:`correlation_heatmap`: item (or latent) correlations.
* :func:`likert_bars`: diverging stacked bars of the answers, one panel per construct.
* :func:`nca_scatter_grid`: NCA scatter plots with ceiling lines, one per necessity hypothesis.

Each returns a :class:`matplotlib.figure.Figure`; :func:`save_figure` writes
PNG and SVG, whole or not at all.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

__all__ = ["path_diagram", "measurement_diagram", "correlation_heatmap", "likert_bars", "save_figure", "stars", "nca_scatter_grid"]


def _plt():
    import matplotlib
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline", "svg", "pdf"):
        try:
            matplotlib.use("Agg", force=False)
        except Exception:  # pragma: no cover
            pass
    import matplotlib.pyplot as plt
    from .fonts import register_matplotlib
    register_matplotlib()      # Chinese labels: Noto Sans SC as the fallback of DejaVu Sans
    return plt


def stars(p: float) -> str:
    """``***`` p < .001, ``**`` p < .01, ``*`` p < .05, else ``""``."""
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def _fmt_coef(v: float) -> str:
    s = f"{v:.2f}"
    s = s.replace("0.", ".", 1) if s.startswith(("0.", "-0.")) else s
    return s.replace("-", "\u2212")


# --------------------------------------------------------------------------- path diagram
def _layers(nodes: list, edges: list) -> dict:
    """Longest-path layer of every node (exogenous = 0)."""
    layer = {n: 0 for n in nodes}
    for _ in range(len(nodes)):
        changed = False
        for a, b in edges:
            if layer[b] < layer[a] + 1:
                layer[b] = layer[a] + 1
                changed = True
        if not changed:
            break
    return layer


class _Labels:
    """Places coefficient labels so that none touches another label, a node or a line other than its own.

    Lines are kept as sampled polylines (data coordinates, equal aspect) and nodes
    as ellipses or boxes; a label's extent is measured with the figure's renderer.
    Each label is tried along its own line (nearest the preferred position first),
    then beside it at growing distances; the first free spot wins.  With no free
    spot the one with the fewest collisions is taken (never expected on a
    questionnaire-sized model; the tests check the bundled one).
    """

    def __init__(self, fig, ax, fontsize: float = 8.5):
        self.fig, self.ax, self.fontsize = fig, ax, fontsize
        self.lines: list = []        # (key, array of points)
        self.ellipses: list = []     # (cx, cy, rx, ry)
        self.boxes: list = []        # (x0, y0, x1, y1) taken by nodes, labels, fixed texts
        self.placed: list = []       # (text artist, key of its own line)
        self.crowded = 0             # labels that found no free spot
        self.margin = 0.04           # clearance from other lines, data units
        self._renderer = None

    def renderer(self):
        if self._renderer is None:
            self.fig.canvas.draw()
            self._renderer = self.fig.canvas.get_renderer()
        return self._renderer

    def add_line(self, key, pts):
        self.lines.append((key, np.asarray(pts, float)))

    def size(self, text: str, **kw) -> tuple:
        """Width and height of ``text`` with its white box, in data units."""
        r = self.renderer()
        t = self.ax.text(0, 0, text, fontsize=kw.get("fontsize", self.fontsize), ha="center", va="center")
        ext = t.get_window_extent(r)
        t.remove()
        pad = 2 * 0.15 * kw.get("fontsize", self.fontsize) * self.fig.dpi / 72
        inv = self.ax.transData.inverted()
        (x0, y0), (x1, y1) = inv.transform([(0, 0), (ext.width + pad, ext.height + pad)])
        return abs(x1 - x0), abs(y1 - y0)

    def _hits(self, box, own) -> int:
        x0, y0, x1, y1 = box
        n = 0
        for key, pts in self.lines:
            if key == own:
                continue
            m = self.margin
            inside = (pts[:, 0] > x0 - m) & (pts[:, 0] < x1 + m) & (pts[:, 1] > y0 - m) & (pts[:, 1] < y1 + m)
            n += int(inside.any())
        gx, gy = np.meshgrid(np.linspace(x0, x1, 7), np.linspace(y0, y1, 5))
        for cx, cy, rx, ry in self.ellipses:
            if (((gx - cx) / (rx * 1.03)) ** 2 + ((gy - cy) / (ry * 1.06)) ** 2 < 1).any():
                n += 1
        for a0, b0, a1, b1 in self.boxes:
            if x0 < a1 and a0 < x1 and y0 < b1 and b0 < y1:
                n += 1
        return n

    def place(self, text, own, along, normal, prefer=0.5, t_range=(0.2, 0.8), offsets=(0.0, 0.06, 0.2, 0.4, 0.7),
              **text_kw):
        """Put ``text`` on line ``own``: ``along(t)`` gives the point at ``t``, ``normal(t)`` a unit normal."""
        w, h = self.size(text, **text_kw)
        ts = sorted(np.linspace(t_range[0], t_range[1], 25), key=lambda v: abs(v - prefer))
        best, best_n = None, None
        for off in offsets:
            for sign in ((1,) if off == 0 else (1, -1)):
                for t_ in ts:
                    x, y = along(t_)
                    nx, ny = normal(t_)
                    # beside the line: the label's half extent across it, plus the gap
                    d = sign * (abs(nx) * w / 2 + abs(ny) * h / 2 + off) if off else 0.0
                    cx, cy = x + d * nx, y + d * ny
                    box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                    n = self._hits(box, own)
                    if best_n is None or n < best_n:
                        best, best_n = (cx, cy, box), n
                    if n == 0:
                        break
                if best_n == 0:
                    break
            if best_n == 0:
                break
        cx, cy, box = best
        self.crowded += int(best_n > 0)
        self.boxes.append(box)
        art = self.ax.text(cx, cy, text, ha="center", va="center", fontsize=text_kw.get("fontsize", self.fontsize),
                           color=text_kw.get("color", "black"),
                           bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.95), zorder=5)
        self.placed.append((art, own))
        return art


def _quad(s, e, rad):
    """``along(t)``, ``normal(t)`` and sample points of matplotlib's arc3 connection from s to e."""
    dx, dy = e[0] - s[0], e[1] - s[1]
    c = ((s[0] + e[0]) / 2 + rad * dy, (s[1] + e[1]) / 2 - rad * dx)

    def along(t):
        return ((1 - t) ** 2 * s[0] + 2 * (1 - t) * t * c[0] + t ** 2 * e[0],
                (1 - t) ** 2 * s[1] + 2 * (1 - t) * t * c[1] + t ** 2 * e[1])

    def normal(t):
        tx = 2 * (1 - t) * (c[0] - s[0]) + 2 * t * (e[0] - c[0])
        ty = 2 * (1 - t) * (c[1] - s[1]) + 2 * t * (e[1] - c[1])
        L = math.hypot(tx, ty) or 1.0
        return -ty / L, tx / L

    pts = [along(t) for t in np.linspace(0, 1, 240)]
    return along, normal, pts


def path_diagram(sem, *, alpha: float = 0.05, title: Optional[str] = None, names: Optional[dict] = None,
                 language: str = "en", measurement: bool = False):
    """Draw the structural model of a fitted result.

    Parameters
    ----------
    sem : SEMResult
        The fitted structural model (its ``~`` rows among latent constructs are drawn).
    alpha : float
        Paths with p >= ``alpha`` are dashed and grey.
    names : dict, optional
        Construct -> label shown under the code in the node.
    title : str, optional
        Drawn inside the figure; leave it out when a caption names the figure.
    language : {"en", "zh", "both"}
        Language of the figure's legend.
    measurement : bool, default False
        Draw the measurement model instead: every construct with its items and
        standardized loadings (:func:`measurement_diagram`).

    Every coefficient label is placed where it touches no other label, node or
    line (its own line excepted); ``fig._icaf_labels`` lists ``(text, line key)``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if measurement:
        return measurement_diagram(sem, alpha=alpha, title=title, language=language)
    plt = _plt()
    from matplotlib.patches import Ellipse, FancyArrowPatch

    from .i18n import catalogue
    cat = catalogue(language)

    t = sem.parameters
    t = t[t["group"].isin([0, 1])] if "group" in t.columns else t
    lvs = list(dict.fromkeys(t.loc[t["op"] == "=~", "lhs"]))
    reg = t[(t["op"] == "~") & t["lhs"].isin(lvs) & t["rhs"].isin(lvs)]
    nodes = list(dict.fromkeys(list(reg["rhs"]) + list(reg["lhs"])))
    if not nodes:
        nodes = lvs
    edges = list(zip(reg["rhs"], reg["lhs"]))
    layer = _layers(nodes, edges)
    nlayers = max(layer.values()) + 1 if layer else 1
    cols = {k: [n for n in nodes if layer[n] == k] for k in range(nlayers)}
    height = max(len(v) for v in cols.values()) if cols else 1
    pos = {}
    xgap, ygap = 4.0, 2.2
    for k, members in cols.items():
        m = len(members)
        for i, n in enumerate(members):
            pos[n] = (k * xgap, ((m - 1) / 2 - i) * ygap)
    W = (nlayers - 1) * xgap
    H = (height - 1) * ygap
    fig, ax = plt.subplots(figsize=(2.6 + 2.4 * nlayers, 1.8 + 1.15 * height))
    ax.set_xlim(-2.6, W + 1.6)
    ax.set_ylim(-H / 2 - 1.6, H / 2 + 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    ax.apply_aspect()
    L = _Labels(fig, ax)
    rx, ry = 1.05, 0.62
    r2 = getattr(sem, "r2", {}) or {}
    for n, (x, y) in pos.items():
        endo = n in set(reg["lhs"])
        ax.add_patch(Ellipse((x, y), 2 * rx, 2 * ry, facecolor="#eef3fb" if endo else "#f7f7f7",
                             edgecolor="#1f3b73", lw=1.4, zorder=3))
        L.ellipses.append((x, y, rx, ry))
        label = n if not names or n not in names else f"{n}\n{names[n]}"
        ax.text(x, y + (0.12 if endo else 0), label, ha="center", va="center", fontsize=10 if not names else 7.5,
                fontweight="bold", zorder=4)
        if endo and n in r2:
            ax.text(x, y - 0.33, cat.f("fig.r2", v=_fmt_coef(r2[n])), ha="center", va="center", fontsize=8, zorder=4)
    note = ax.text(W / 2, -H / 2 - 1.35, cat["fig.path_note"], ha="center", va="center", fontsize=7.5,
                   color="#444444")
    ext = note.get_window_extent(L.renderer())
    inv = ax.transData.inverted()
    (a0, b0), (a1, b1) = inv.transform([(ext.x0, ext.y0), (ext.x1, ext.y1)])
    L.boxes.append((a0, b0, a1, b1))

    def border(p, q):
        """Point on the ellipse around p in the direction of q."""
        dx, dy = q[0] - p[0], q[1] - p[1]
        ang = math.atan2(dy, dx)
        s = 1.0 / math.sqrt((math.cos(ang) / rx) ** 2 + (math.sin(ang) / ry) ** 2)
        return p[0] + s * math.cos(ang) * 1.04, p[1] + s * math.sin(ang) * 1.04

    # every line first, so that each label knows all the lines it must keep clear of
    todo = []
    cov = t[(t["op"] == "~~") & (t["lhs"] != t["rhs"]) & t["lhs"].isin(nodes) & t["rhs"].isin(nodes)]
    for _, r in cov.iterrows():
        a, b = r["lhs"], r["rhs"]
        pa, pb = pos[a], pos[b]
        if pa[1] < pb[1]:
            pa, pb = pb, pa
        sig = np.isfinite(r["pvalue"]) and r["pvalue"] < alpha
        same = cols[layer[a]]
        adjacent = layer[a] == layer[b] and abs(same.index(a) - same.index(b)) == 1
        style = dict(arrowstyle="<|-|>", mutation_scale=11, lw=1.0, color="#1f3b73" if sig else "#8a8a8a",
                     linestyle="-" if sig else (0, (4, 3)), zorder=2)
        if adjacent and layer[a] > 0:
            # residual covariance of neighbouring endogenous constructs: a short straight arrow between them
            s, e, rad = (pa[0], pa[1] - ry * 1.04), (pb[0], pb[1] + ry * 1.04), 0.0
        else:
            s, e = (pa[0] - rx * 0.98, pa[1]), (pb[0] - rx * 0.98, pb[1])
            rad = 0.45 if pa[0] == pb[0] else 0.25
        ax.add_patch(FancyArrowPatch(s, e, connectionstyle=f"arc3,rad={rad}", **style))
        along, normal, pts = _quad(s, e, rad)
        key = f"{a}~~{b}"
        L.add_line(key, pts)
        todo.append((_fmt_coef(r["std_all"]) + stars(r["pvalue"]), key, along, normal, 0.5, (0.2, 0.8),
                     "#10244d" if sig else "#666666"))
    for _, r in reg.iterrows():
        a, b = r["rhs"], r["lhs"]
        pa, pb = pos[a], pos[b]
        sig = np.isfinite(r["pvalue"]) and r["pvalue"] < alpha
        span = layer[b] - layer[a]
        rad = 0.0
        if span > 1:
            rad = -0.18 if pa[1] >= 0 else 0.18
        s, e = border(pa, pb), border(pb, pa)
        ax.add_patch(FancyArrowPatch(s, e, arrowstyle="-|>", mutation_scale=13, lw=1.5 if sig else 1.0,
                                     color="#1f3b73" if sig else "#8a8a8a", linestyle="-" if sig else (0, (4, 3)),
                                     connectionstyle=f"arc3,rad={rad}", zorder=2))
        along, normal, pts = _quad(s, e, rad)
        key = f"{b}~{a}"
        L.add_line(key, pts)
        prefer = 0.6 if span > 1 else (0.62 if layer[a] == 0 and nlayers > 2 else 0.5)
        todo.append((_fmt_coef(r["std_all"]) + stars(r["pvalue"]), key, along, normal, prefer, (0.15, 0.8),
                     "#10244d" if sig else "#666666"))
    for text, key, along, normal, prefer, rng, color in todo:
        L.place(text, key, along, normal, prefer=prefer, t_range=rng, color=color)
    fig._icaf_labels = L.placed
    fig._icaf_crowded = L.crowded
    return fig


def measurement_diagram(fitted, *, alpha: float = 0.05, title: Optional[str] = None, language: str = "en",
                        constructs: Optional[list] = None):
    """Draw a measurement model: every construct (ellipse) with its items (boxes) and standardized loadings.

    Items run down the left edge, each construct sits beside its items, and a
    second-order construct sits right of its first-order constructs.  Loadings
    with p >= ``alpha`` are dashed.  Labels are placed as in :func:`path_diagram`.

    Parameters
    ----------
    fitted : SEMResult
        A CFA, a second-order measurement model or a full SEM (its ``=~`` rows are drawn).
    constructs : list of str, optional
        Only these constructs (and their items).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    from matplotlib.patches import Ellipse, FancyArrowPatch, Rectangle

    from .i18n import catalogue
    cat = catalogue(language)
    t = fitted.parameters
    t = t[t["group"].isin([0, 1])] if "group" in t.columns else t
    load = t[t["op"] == "=~"]
    lvs = list(dict.fromkeys(load["lhs"]))
    higher = [c for c in lvs if load.loc[load["lhs"] == c, "rhs"].isin(lvs).any()]
    first = [c for c in lvs if c not in higher]
    if constructs is not None:
        unknown = [c for c in constructs if c not in lvs]
        if unknown:
            from ..errors import ModelSpecificationError
            raise ModelSpecificationError(f"constructs={unknown!r} are not constructs of the model; use some of "
                                          f"{lvs}")
        first = [c for c in first if c in constructs]
        higher = [c for c in higher if c in constructs]
    ystep, gap = 0.66, 0.5
    y, ypos, cpos = 0.0, {}, {}
    for c in first:
        its = list(load.loc[load["lhs"] == c, "rhs"])
        ys = []
        for i in its:
            ypos[(c, i)] = y
            ys.append(y)
            y -= ystep
        cpos[c] = (4.6, float(np.mean(ys)))
        y -= gap
    for h in higher:
        comps = [c for c in load.loc[load["lhs"] == h, "rhs"] if c in cpos]
        if comps:
            cpos[h] = (8.2, float(np.mean([cpos[c][1] for c in comps])))
    top, bottom = ystep, y + gap - ystep
    fig, ax = plt.subplots(figsize=(7.0, max(3.0, 0.36 * (top - bottom) + 0.9)))
    ax.set_xlim(-0.9, 9.4 if higher else 5.8)
    ax.set_ylim(bottom - 0.4, top)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    ax.apply_aspect()
    L = _Labels(fig, ax, fontsize=7.5)
    bw, bh = 0.95, 0.42
    rx, ry = 0.75, 0.42
    for (c, i), yy in ypos.items():
        ax.add_patch(Rectangle((-bw / 2, yy - bh / 2), bw, bh, facecolor="white", edgecolor="#1f3b73", lw=1.0,
                               zorder=3))
        ax.text(0, yy, i, ha="center", va="center", fontsize=8, zorder=4)
        L.boxes.append((-bw / 2, yy - bh / 2, bw / 2, yy + bh / 2))
    for c, (x, yy) in cpos.items():
        ax.add_patch(Ellipse((x, yy), 2 * rx, 2 * ry, facecolor="#eef3fb" if c in higher else "#f7f7f7",
                             edgecolor="#1f3b73", lw=1.3, zorder=3))
        ax.text(x, yy, c, ha="center", va="center", fontsize=9, fontweight="bold", zorder=4)
        L.ellipses.append((x, yy, rx, ry))
    todo = []
    for _, r in load.iterrows():
        c, i = r["lhs"], r["rhs"]
        if c not in cpos:
            continue
        sig = (not r["free"]) or (np.isfinite(r["pvalue"]) and r["pvalue"] < alpha)
        if (c, i) in ypos:
            s = (cpos[c][0] - rx * 1.02, cpos[c][1])
            e = (bw / 2 + 0.03, ypos[(c, i)])
        elif i in cpos:
            s = (cpos[c][0] - rx * 1.02, cpos[c][1])
            e = (cpos[i][0] + rx * 1.04, cpos[i][1])
        else:
            continue
        ax.add_patch(FancyArrowPatch(s, e, arrowstyle="-|>", mutation_scale=9, lw=1.0,
                                     color="#1f3b73" if sig else "#8a8a8a", linestyle="-" if sig else (0, (4, 3)),
                                     zorder=2))
        along, normal, pts = _quad(s, e, 0.0)
        L.add_line(f"{c}=~{i}", pts)
        text = _fmt_coef(r["std_all"]) + (stars(r["pvalue"]) if r["free"] else "")
        todo.append((text, f"{c}=~{i}", along, normal, "#10244d" if sig else "#666666"))
    for text, key, along, normal, color in todo:
        L.place(text, key, along, normal, prefer=0.6, t_range=(0.3, 0.76), color=color)
    ax.text(ax.get_xlim()[0] + 0.05, bottom - 0.2, cat["fig.measurement_note"], ha="left", va="center",
            fontsize=7, color="#444444")
    fig._icaf_labels = L.placed
    fig._icaf_crowded = L.crowded
    return fig


# --------------------------------------------------------------------------- heatmap
def correlation_heatmap(data: pd.DataFrame, questionnaire=None, *, items: Optional[list] = None,
                        annot: Optional[bool] = None, title: Optional[str] = None):
    """Heatmap of the pairwise correlations of the items (or of any square correlation DataFrame).

    Parameters
    ----------
    data : DataFrame
        Item answers (correlated pairwise, as ``cor(use = "pairwise")``) or, when
        square with equal index and columns, a correlation matrix drawn as is.
    questionnaire : Questionnaire, optional
        Orders the items by construct and draws lines between constructs.
    """
    plt = _plt()
    import seaborn as sns

    square = list(data.index) == list(data.columns)
    if square:
        r = data.astype(float)
        bounds = []
    else:
        items = items or (questionnaire.items if questionnaire is not None else list(data.columns))
        r = data[items].apply(pd.to_numeric, errors="coerce").corr()
        bounds = []
        if questionnaire is not None:
            k = 0
            for c, its in questionnaire.constructs.items():
                k += len([i for i in its if i in items])
                bounds.append(k)
    n = len(r)
    if annot is None:
        annot = n <= 14
    size = max(4.5, min(12, 0.32 * n + 2))
    fig, ax = plt.subplots(figsize=(size + 1, size))
    mask = np.triu(np.ones_like(r, dtype=bool), k=1)
    sns.heatmap(r, mask=mask, cmap="RdBu_r", vmin=-1, vmax=1, center=0, square=True, annot=annot,
                fmt=".2f", annot_kws={"fontsize": 7}, linewidths=0.3 if n <= 40 else 0,
                cbar_kws={"shrink": 0.7, "label": "r"}, ax=ax)
    for b in bounds[:-1]:
        ax.plot([0, b], [b, b], color="black", lw=0.8)       # the lower triangle only
        ax.plot([b, b], [b, n], color="black", lw=0.8)
    if title:
        ax.set_title(title, fontsize=11)
    ax.tick_params(labelsize=7 if n > 20 else 9)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- Likert bars
def likert_bars(data: pd.DataFrame, questionnaire, *, language: str = "en", title: Optional[str] = None):
    """Diverging stacked bars of the answers, one panel per construct.

    The neutral answer (the scale's midpoint, when the scale has an odd number of
    points) is split half left, half right of zero; disagreement extends left,
    agreement right.  Percentages are of each item's answers (missing left out).
    """
    plt = _plt()
    q = questionnaire
    values = list(range(int(q.scale_min), int(q.scale_max) + 1))
    k = len(values)
    cmap = plt.get_cmap("RdBu")
    colors = [cmap(0.1 + 0.8 * i / (k - 1)) for i in range(k)]
    if k % 2 == 1:
        colors[k // 2] = (0.82, 0.82, 0.82, 1.0)
    lab_lang = "zh" if language == "zh" else "en"
    labels = [q.scale_labels.get(v, {}).get(lab_lang, str(v)) for v in values]
    if language == "both":
        labels = [f"{q.scale_labels.get(v, {}).get('en', v)} / {q.scale_labels.get(v, {}).get('zh', '')}".rstrip(" /")
                  for v in values]
    cons = list(q.constructs.items())
    heights = [len(its) + 1.2 for _, its in cons]
    fig, axes = plt.subplots(len(cons), 1, figsize=(9, 0.34 * sum(heights) + 1.6),
                             gridspec_kw={"height_ratios": heights}, sharex=True)
    axes = np.atleast_1d(axes)
    for ax, (c, its) in zip(axes, cons):
        pct = []
        for i in its:
            col = pd.to_numeric(data[i], errors="coerce").dropna() if i in data.columns else pd.Series(dtype=float)
            counts = col.value_counts()
            tot = counts.sum()
            pct.append([100.0 * counts.get(v, 0) / tot if tot else 0.0 for v in values])
        pct = np.array(pct)
        if k % 2 == 1:
            left = pct[:, : k // 2].sum(1) + pct[:, k // 2] / 2
        else:
            left = pct[:, : k // 2].sum(1)
        y = np.arange(len(its))[::-1]
        start = -left
        for j in range(k):
            ax.barh(y, pct[:, j], left=start, color=colors[j], edgecolor="white", lw=0.4, height=0.72,
                    label=labels[j] if ax is axes[0] else None)
            for yy, s, w in zip(y, start, pct[:, j]):
                if w >= 8:
                    ax.text(s + w / 2, yy, f"{w:.0f}", ha="center", va="center", fontsize=6.5,
                            color="white" if j in (0, k - 1) else "black")
            start = start + pct[:, j]
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels(its, fontsize=8)
        nm = q.spec.constructs[c].name if hasattr(q, "spec") else {}
        name = (nm.get(lab_lang, "") if language != "both" else " / ".join(x for x in (nm.get("en"), nm.get("zh")) if x))
        ax.set_title(f"{c}" + (f" \u2013 {name}" if name else ""), fontsize=9, loc="left")
        ax.set_xlim(-100, 100)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[-1].set_xticks(range(-100, 101, 25))
    axes[-1].set_xticklabels([f"{abs(x)}%" for x in range(-100, 101, 25)], fontsize=8)
    handles, labs = axes[0].get_legend_handles_labels()
    fig.legend(handles, labs, loc="lower center", ncol=min(k, 4), fontsize=7.5, frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.055 if k > 4 else 0.035, 1, 0.98 if title else 1.0))
    return fig


# --------------------------------------------------------------------------- writing
def save_figure(fig, folder, name: str, formats=("png", "svg"), dpi: int = 200) -> list:
    """Write ``folder/name.png`` and ``.svg`` (each whole or not at all) and close the figure."""
    from .._atomic import atomic_write

    plt = _plt()
    out = []
    try:
        for ext in formats:
            path = Path(folder) / f"{name}.{ext}"
            atomic_write(path, lambda tmp, ext=ext: fig.savefig(tmp, format=ext, dpi=dpi, bbox_inches="tight",
                                                                metadata={"Date": None} if ext == "svg" else None))
            out.append(path)
    finally:
        plt.close(fig)
    return out


# --------------------------------------------------------------------------- necessary conditions (NCA)
def nca_scatter_grid(necessity, *, ncols: int = 3):
    """One NCA scatter plot with ceiling lines per necessity hypothesis (a Figure).

    Parameters
    ----------
    necessity : NecessityResult
        From :func:`icaf_sem.nca.test_necessity`.
    """
    from ..nca import nca_plot
    plt = _plt()
    t = necessity.table
    k = len(t)
    ncols = max(1, min(ncols, k))
    nrows = math.ceil(k / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.8 * nrows), squeeze=False)
    for ax, (_, r) in zip(axes.ravel(), t.iterrows()):
        nca_plot(necessity.results[r["outcome"]], r["condition"], ax=ax,
                 title=f"{r['id']}: {r['condition']} \u2192 {r['outcome']}")
    for ax in axes.ravel()[k:]:
        ax.axis("off")
    fig.tight_layout()
    return fig
