"""Figures for the course: readable when projected, safe for colour-blind eyes.

Colours come from the Okabe-Ito palette; signs (weights, deltas) use a
blue-white-orange diverging map, never red-green.
"""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LinearSegmentedColormap, ListedColormap

__all__ = [
    "BLUE", "ORANGE", "GREEN", "SKY", "VERMILION", "PURPLE", "YELLOW", "GREY", "CLASS_COLORS",
    "SIGN_CMAP", "use_course_style", "plot_loss", "plot_decision_boundary", "draw_network",
]

# Okabe-Ito
BLUE, ORANGE, GREEN, SKY = "#0072B2", "#E69F00", "#009E73", "#56B4E9"
VERMILION, PURPLE, YELLOW, GREY = "#D55E00", "#CC79A7", "#F0E442", "#666666"
CLASS_COLORS = [BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILION, YELLOW, "#000000"]

#: negative -> blue, 0 -> white, positive -> orange
SIGN_CMAP = LinearSegmentedColormap.from_list("blue_white_orange", [BLUE, "#FFFFFF", ORANGE])


def use_course_style(scale=1.0):
    """Large fonts and lines for reading on a projector; ``scale`` > 1 for presenting."""
    mpl.rcParams.update({
        "figure.figsize": (7.5 * min(scale, 1.6), 4.5 * min(scale, 1.6)),
        "figure.dpi": 80,
        "savefig.dpi": 100,
        "font.size": 14 * scale,
        "axes.titlesize": 15 * scale,
        "axes.labelsize": 14 * scale,
        "xtick.labelsize": 12 * scale,
        "ytick.labelsize": 12 * scale,
        "legend.fontsize": 12 * scale,
        "lines.linewidth": 2.5 * scale,
        "lines.markersize": 7 * scale,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": mpl.cycler(color=CLASS_COLORS),
        "image.cmap": "viridis",
    })


def plot_loss(history, ax=None, label=None, title="Training loss: it should go down", log=True):
    """Loss per epoch from a :class:`bpcore.train.History` (or a list of numbers)."""
    loss = getattr(history, "loss", history)
    if ax is None:
        _, ax = plt.subplots()
    ax.plot(np.arange(1, len(loss) + 1), loss, label=label)
    if log and len(loss) and min(loss) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("E (training set)")
    ax.set_title(title)
    msg = getattr(history, "message", "")
    if msg and getattr(history, "diverged", False):
        ax.text(0.5, 0.5, msg, transform=ax.transAxes, ha="center", color=VERMILION,
                fontsize=mpl.rcParams["font.size"] * 1.2)
    if label:
        ax.legend()
    return ax


def _grid(X, pad=0.5, steps=150):
    x0, x1 = X[:, 0].min() - pad, X[:, 0].max() + pad
    y0, y1 = X[:, 1].min() - pad, X[:, 1].max() + pad
    gx, gy = np.meshgrid(np.linspace(x0, x1, steps), np.linspace(y0, y1, steps))
    return gx, gy, np.column_stack([gx.ravel(), gy.ravel()])


def plot_decision_boundary(net, X, y, ax=None, title="What the network predicts where", steps=150):
    """Shade the plane by the predicted class and draw the data on top.

    X (N, 2), y (N,) integer labels. One output column: class 1 where y_hat > 0.5."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    gx, gy, pts = _grid(X, steps=steps)
    out = net.predict(pts)
    K = max(int(np.max(y)) + 1, 2)
    cmap = ListedColormap(CLASS_COLORS[:K])
    if out.shape[1] == 1:
        ax.contourf(gx, gy, out.reshape(gx.shape), levels=np.linspace(0, 1, 11),
                    cmap=LinearSegmentedColormap.from_list("b_o", [BLUE, "#FFFFFF", ORANGE]),
                    alpha=0.55, vmin=0, vmax=1)
        ax.contour(gx, gy, out.reshape(gx.shape), levels=[0.5], colors="k", linewidths=1.5)
    else:
        cls = out.argmax(axis=1).reshape(gx.shape)
        ax.contourf(gx, gy, cls, levels=np.arange(K + 1) - 0.5, cmap=cmap, alpha=0.35)
    ax.scatter(X[:, 0], X[:, 1], c=np.asarray(y).ravel(), cmap=cmap, vmin=-0.5, vmax=K - 0.5,
               edgecolors="k", linewidths=0.8, s=70)
    ax.set_title(title)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal", adjustable="box")
    return ax


def node_positions(sizes):
    """(x, y) of node j in layer k: layers left to right, nodes centred top to bottom."""
    pos = {}
    for k, r in enumerate(sizes):
        for j in range(r):
            pos[k, j] = (k, (r - 1) / 2 - j)
    return pos


def draw_network(net, ax=None, node_values=None, edge_values=None, highlight=None,
                 title=None, value_label=None, max_width=8.0):
    """Draw the network: weights as edges (width ~ |w|, colour = sign: orange +, blue -, grey 0).

    node_values : optional list indexed by k of arrays (r_k,) coloured with SIGN_CMAP
                  (for example a[k] of one example, or delta[k]).
    edge_values : optional list indexed by k of arrays (r_{k-1}, r_k) to draw instead of W[k]
                  (for example the gradients dW[k]).
    highlight   : optional dict {"nodes": [(k, j), ...], "edges": [(k, i, j), ...]} drawn thick,
                  everything else faded: shows what enters one equation.
    Returns the axes. Node labels use the course's indexing: layer k, node j (1-based in text)."""
    sizes = net.sizes
    if ax is None:
        _, ax = plt.subplots(figsize=(2.2 * len(sizes) + 1, 1.2 * max(sizes) + 1.5))
    pos = node_positions(sizes)
    edges = edge_values if edge_values is not None else net.W
    emax = max(float(np.abs(edges[k]).max()) for k in range(1, len(sizes))) or 1.0
    hl_nodes = set(map(tuple, (highlight or {}).get("nodes", [])))
    hl_edges = set(map(tuple, (highlight or {}).get("edges", [])))
    faded = bool(highlight)
    for k in range(1, len(sizes)):
        for i in range(sizes[k - 1]):
            for j in range(sizes[k]):
                w = float(edges[k][i, j])
                (x0, y0), (x1, y1) = pos[k - 1, i], pos[k, j]
                on = (k, i, j) in hl_edges
                ax.plot([x0, x1], [y0, y1], color=ORANGE if w > 0 else (BLUE if w < 0 else GREY),
                        lw=0.5 + max_width * abs(w) / emax, alpha=1.0 if (on or not faded) else 0.12,
                        zorder=2 if on else 1, solid_capstyle="round")
    vmax = 1.0
    if node_values is not None:
        vals = [np.abs(v).max() for v in node_values if v is not None and np.size(v)]
        vmax = max(vals) if vals else 1.0
        vmax = vmax or 1.0
    for (k, j), (x, y) in pos.items():
        v = None if node_values is None or node_values[k] is None else float(node_values[k][j])
        face = SIGN_CMAP(0.5 + 0.5 * v / vmax) if v is not None else "#FFFFFF"
        on = (k, j) in hl_nodes
        ax.scatter([x], [y], s=1500, c=[face], edgecolors="k", linewidths=3.0 if on else 1.2,
                   zorder=3, alpha=1.0 if (on or not faded) else 0.35)
        if v is not None:
            text = f"{v:.2f}" if 0.005 <= abs(v) < 100 or v == 0 else f"{v:.0e}"
            ax.text(x, y, text, ha="center", va="center", fontsize=9, zorder=4,
                    color="white" if abs(v) > 0.6 * vmax else "black")
    for k, r in enumerate(sizes):
        ax.text(k, (max(sizes) - 1) / 2 + 0.8, "input" if k == 0 else
                ("output" if k == len(sizes) - 1 else f"hidden {k}"), ha="center", fontsize=12)
        ax.text(k, -(max(sizes) - 1) / 2 - 0.8, f"k = {k}", ha="center", fontsize=12, color=GREY)
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_ylim(-(max(sizes) - 1) / 2 - 1.2, (max(sizes) - 1) / 2 + 1.2)
    ax.axis("off")
    if node_values is not None:
        sm = mpl.cm.ScalarMappable(cmap=SIGN_CMAP, norm=mpl.colors.Normalize(-vmax, vmax))
        plt.colorbar(sm, ax=ax, shrink=0.6, label=value_label or "node value")
    if title:
        ax.set_title(title)
    return ax
