"""The network drawn once and recoloured in place, and the delta diagram widget.

:class:`NetworkArtist` draws a network into one Axes with one LineCollection for
all edges and one scatter for all nodes, so an update only changes colours,
widths and texts.  Conventions (as ``bpcore.plotting.draw_network``):

* an edge is w_ij^k, from node i of layer k-1 to node j of layer k; its width is
  proportional to |value| and its colour is the sign (orange > 0, blue < 0,
  grey = 0), never red/green;
* a node's fill is its value on ``SIGN_CMAP`` (blue - white - orange) with the
  symmetric normalisation ``Normalize(-vmax, vmax)``; ``node_norm`` and
  ``node_values`` are kept so tests can map a colour back to its number.

:class:`DeltaDiagram` shows one training example d: the forward view colours the
nodes by a_j^k (or o_j^k) with the weights on the edges; the backward view
colours them by delta_j^k = dE_d/da_j^k with the gradients
dE_d/dw_ij^k = o_i^{k-1} delta_j^k on the edges.
"""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib as mpl
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize, to_rgba

from ..plotting import BLUE, GREY, ORANGE, SIGN_CMAP
from . import presenter
from .figures import FigureHost, close_tree, forget, replace
from .status import Status

__all__ = ["NetworkArtist", "DeltaDiagram", "example_values", "edge_rgba", "node_rgba"]

_ZERO = "#BBBBBB"  # an edge whose value is exactly 0 (e.g. a gradient with o_i = 0)


def edge_rgba(values, alpha=1.0):
    """Colours of edges with these values: orange > 0, blue < 0, light grey = 0. (E,) -> (E, 4)."""
    values = np.asarray(values, dtype=float)
    out = np.empty((values.size, 4))
    out[values > 0] = to_rgba(ORANGE)
    out[values < 0] = to_rgba(BLUE)
    out[~(values != 0)] = to_rgba(_ZERO)  # also NaN
    out[:, 3] = alpha
    return out


def node_rgba(values, norm):
    """Fill colours of nodes: SIGN_CMAP(norm(v)); NaN (no value) -> white. (n,) -> (n, 4)."""
    values = np.asarray(values, dtype=float)
    out = SIGN_CMAP(norm(np.nan_to_num(values)))
    out[np.isnan(values)] = to_rgba("white")
    return out


def example_values(net, X, Y, d):
    """Forward and backward quantities of training example d (row d of X, Y).

    Returns a dict of lists indexed by layer k (entry 0 is the input):
      "a": [x, a^1, ..., a^m] (r_k,)     "o": [x, o^1, ..., o^m] (r_k,)
      "delta": [None, delta^1, ..., delta^m] (r_k,)
      "grad_W": [None, dE_d/dW^1, ...] (r_{k-1}, r_k) = outer(o^{k-1}, delta^k)
      "W": [None, W^1, ...] copies;  "E": E_d;  "y_hat": (r_m,);  "x", "y"
    Computed by bpcore: ``net.forward`` and ``net.backward`` on the one row."""
    x, y = np.asarray(X)[d:d + 1], np.asarray(Y)[d:d + 1]
    y_hat = net.forward(x)
    E = net.loss.E(y_hat, y, net.a[net.m], net.g_out)
    dW, _ = net.backward(y)  # for one row, dW[k] is exactly o^{k-1 T} delta^k
    m = net.m
    return {
        "a": [x[0]] + [net.a[k][0].copy() for k in range(1, m + 1)],
        "o": [net.o[k][0].copy() for k in range(m + 1)],
        "delta": [None] + [net.delta[k][0].copy() for k in range(1, m + 1)],
        "grad_W": [None] + [dW[k].copy() for k in range(1, m + 1)],
        "W": [None] + [net.W[k].copy() for k in range(1, m + 1)],
        "E": float(E), "y_hat": y_hat[0].copy(), "x": x[0].copy(), "y": y[0].copy(),
    }


def _fmt(v):
    """Short text for a number: 2 significant digits, positional from 1e-4 to 1e3."""
    if v == 0 or not np.isfinite(v):
        return f"{v:g}"
    if 1e-4 <= abs(v) < 1e3:
        return np.format_float_positional(v, precision=2, unique=False, fractional=False,
                                          trim="-")
    return f"{v:.1e}".replace("e-0", "e-").replace("e+0", "e")


class NetworkArtist:
    """A network drawn into ``ax``, updated in place.

    sizes : [r_0, ..., r_m].  Edge e of ``edges`` is (k, i, j); node n of ``nodes`` is (k, j).
    After :meth:`show_nodes`, ``node_values`` (n,) holds the numbers (NaN = none) and
    ``node_norm`` the normalisation that mapped them to colours.
    ``label_limit``: numbers are written in the nodes only when no layer is larger.
    """

    def __init__(self, ax, sizes, label_limit=10, max_width=9.0, fmt=None):
        self.ax, self.label_limit, self.base_width = ax, label_limit, max_width
        self.fmt = fmt or _fmt  # number -> text written in (or beside) a node
        self.diameter = 30.0
        self.sizes = None
        self.lines = LineCollection([], capstyle="round", zorder=1)
        ax.add_collection(self.lines)
        self.dots = ax.scatter([], [], s=[], edgecolors="k", zorder=3)
        self.node_norm = Normalize(-1.0, 1.0)
        self.node_values = np.zeros(0)
        self.edge_values = np.zeros(0)
        self._texts = {"node": [], "layer": [], "edge": [], "bias": []}
        ax.set_axis_off()
        self.set_sizes(sizes)

    # ----------------------------------------------------------------- geometry
    def set_sizes(self, sizes):
        """Lay out a (possibly new) architecture; keeps the same artists.

        Node j of layer k sits at x = k, y = ((r_k - 1)/2 - j) * gap_k with
        gap_k = min(1.2, 2 / (r_k - 1)): every layer spans at most y in [-1, 1], so
        the axes limits only change with m."""
        sizes = [int(r) for r in sizes]
        if sizes == self.sizes:
            return
        old_m = None if self.sizes is None else len(self.sizes) - 1
        self.sizes, R, m = sizes, max(sizes), len(sizes) - 1
        gaps = [min(1.2, 2.0 / (r - 1)) if r > 1 else 1.2 for r in sizes]
        self.gap = min(gaps)  # the densest layer sets the node size
        self.pos = {(k, j): (float(k), ((r - 1) / 2 - j) * gaps[k])
                    for k, r in enumerate(sizes) for j in range(r)}
        self.nodes = [(k, j) for k, r in enumerate(sizes) for j in range(r)]
        self.edges = [(k, i, j) for k in range(1, m + 1)
                      for i in range(sizes[k - 1]) for j in range(sizes[k])]
        self.lines.set_segments([[self.pos[k - 1, i], self.pos[k, j]] for k, i, j in self.edges])
        self.dots.set_offsets(np.array([self.pos[n] for n in self.nodes]))
        self.node_values = np.full(len(self.nodes), np.nan)
        self.edge_values = np.zeros(len(self.edges))
        for kind in ("node", "edge", "bias"):
            self._clear_texts(kind)
        if m != old_m:  # layer names: static, so only when the number of layers changes
            self._clear_texts("layer")
            self.ax.set_xlim(-0.45, m + 0.45)
            self.ax.set_ylim(-1.5, 1.5)
            short = m >= 4  # long names would run into each other
            for k in range(m + 1):
                name = ("in" if short else "input") if k == 0 else (
                    ("out" if short else "output") if k == m else (f"h{k}" if short else f"hidden {k}"))
                self._texts["layer"].append(self.ax.text(k, 1.32, name, ha="center", va="center"))
                self._texts["layer"].append(self.ax.text(k, -1.32, f"k = {k}", ha="center",
                                                         va="center", color=GREY))
        if self.labelled:
            for (k, j) in self.nodes:
                self._texts["node"].append(self.ax.annotate(
                    "", self.pos[k, j], xytext=(0, 0), textcoords="offset points",
                    ha="center", va="center", zorder=4))
        self.restyle()

    def artists(self):
        """What changes between updates, in drawing order (for blitting)."""
        return [self.lines, self.dots] + self._texts["edge"] + self._texts["node"] + self._texts["bias"]

    @property
    def labelled(self):
        """True when the layers are small enough to write numbers in the nodes."""
        return max(self.sizes) <= self.label_limit

    def _clear_texts(self, kind):
        for t in self._texts[kind]:
            t.remove()
        self._texts[kind] = []

    def restyle(self):
        """Node size, widths and fonts from the axes size and presenter scale."""
        fig = self.ax.figure
        bbox = self.ax.get_position()
        h_pt = bbox.height * fig.get_figheight() * 72
        w_pt = bbox.width * fig.get_figwidth() * 72
        m = len(self.sizes) - 1
        gap_pt = self.gap * h_pt / 3.0  # the y limits span 3 units
        diameter = max(3.0, min(0.8 * gap_pt, 0.35 * w_pt / (m + 1), 46.0 * presenter.scale()))
        self.dots.set_sizes(np.full(len(self.nodes), diameter ** 2))
        self.dots.set_linewidths(1.2 * presenter.scale())
        self.diameter = diameter
        fs = presenter.font_size(12)
        for t in self._texts["layer"]:
            t.set_fontsize(fs)
        # numbers inside the nodes when they fit, else just right of them on a white box
        self.inside = diameter >= 44 * presenter.scale()
        for t in self._texts["node"]:
            t.set_fontsize(presenter.font_size(10))
            t.xyann = (0, 0) if self.inside else (diameter / 2 + 2, 0)
            t.set_horizontalalignment("center" if self.inside else "left")
            t.set_bbox(None if self.inside else dict(boxstyle="round,pad=0.1", fc="white",
                                                     ec="none", alpha=0.85))
        for t in self._texts["edge"] + self._texts["bias"]:
            t.set_fontsize(presenter.font_size(10))
        # thinner lines when there are many of them
        self.max_width = self.base_width * presenter.scale() / np.sqrt(max(1.0, len(self.edges) / 40))

    # ----------------------------------------------------------------- values
    def show_edges(self, values, highlight=None):
        """Edge widths and colours from ``values``: a list indexed by k of (r_{k-1}, r_k).

        highlight: None, or a set of (k, i, j) drawn fully while the rest fades."""
        flat = np.concatenate([np.asarray(values[k], float).ravel() for k in range(1, len(self.sizes))])
        self.edge_values = flat
        vmax = float(np.max(np.abs(flat))) if flat.size else 1.0
        vmax = vmax if vmax > 0 and np.isfinite(vmax) else 1.0
        self.lines.set_linewidths(0.4 + self.max_width * np.abs(flat) / vmax)
        colors = edge_rgba(flat)
        if highlight:
            on = np.array([e in highlight for e in self.edges])
            colors[~on, 3] = 0.12
        self.lines.set_color(colors)

    def show_nodes(self, values, vmax=None, highlight=None):
        """Node fills from ``values``: a list indexed by k of (r_k,) arrays or None (white).

        vmax: the value drawn fully blue/orange (default: the largest |value| shown)."""
        flat = np.full(len(self.nodes), np.nan)
        for n, (k, j) in enumerate(self.nodes):
            if values is not None and values[k] is not None:
                flat[n] = float(values[k][j])
        self.node_values = flat
        if vmax is None:
            shown = np.abs(flat[~np.isnan(flat)])
            vmax = float(shown.max()) if shown.size else 1.0
        vmax = vmax if vmax > 0 and np.isfinite(vmax) else 1.0
        self.node_norm = Normalize(-vmax, vmax)
        colors = node_rgba(flat, self.node_norm)
        widths = np.full(len(self.nodes), 1.2 * presenter.scale())
        if highlight:
            on = np.array([n in highlight for n in self.nodes])
            colors[~on, 3] = 0.35
            widths[on] = 3.5 * presenter.scale()
        self.dots.set_facecolor(colors)
        self.dots.set_linewidths(widths)
        for t, v, c in zip(self._texts["node"], flat, colors):
            t.set_text("" if np.isnan(v) else self.fmt(v))
            # inside a node: white on the dark (blue) end, black elsewhere
            dark = self.inside and not np.isnan(v) and self.node_norm(v) < 0.2
            t.set_color("white" if dark else "black")
            t.set_alpha(max(c[3], 0.5))

    def show_edge_labels(self, values=None, frac=0.3, highlight=None):
        """Write each edge's value on it, ``frac`` of the way from its source (small nets only)."""
        self._clear_texts("edge")
        if values is None or not self.labelled:
            return
        box = dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9)
        for (k, i, j) in self.edges:
            (x0, y0), (x1, y1) = self.pos[k - 1, i], self.pos[k, j]
            faded = bool(highlight) and (k, i, j) not in highlight
            self._texts["edge"].append(self.ax.text(
                x0 + frac * (x1 - x0), y0 + frac * (y1 - y0), self.fmt(float(values[k][i, j])),
                ha="center", va="center", fontsize=presenter.font_size(10), bbox=box, zorder=2,
                alpha=0.3 if faded else 1.0))
        return self._texts["edge"]

    def show_bias_labels(self, values=None, prefix="b", highlight=None):
        """Write ``prefix = value`` under each node of layers 1..m (small nets only)."""
        self._clear_texts("bias")
        if values is None or not self.labelled:
            return
        off = self.diameter / 2 + 3  # points below the node's centre
        for (k, j) in self.nodes:
            if k == 0:
                continue
            x, y = self.pos[k, j]
            faded = bool(highlight) and (k, j) not in highlight
            self._texts["bias"].append(self.ax.annotate(
                f"{prefix} = {self.fmt(float(values[k][j]))}", (x, y), xytext=(0, -off),
                textcoords="offset points", ha="center", va="top",
                fontsize=presenter.font_size(10), color="black", alpha=0.3 if faded else 1.0,
                zorder=4, bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8)))


# ------------------------------------------------------------------------ the widget
VIEWS = {
    "a": ("forward: a", "a_j^k", "Forward pass of example {d}: nodes show $a_j^k$, lines show the weights $w_{{ij}}^k$"),
    "o": ("forward: o", "o_j^k", "Forward pass of example {d}: nodes show $o_j^k = g(a_j^k)$, lines show $w_{{ij}}^k$"),
    "delta": ("backward: δ", "\\delta_j^k",
              "Backward pass of example {d}: nodes show $\\delta_j^k$, lines show "
              "$\\partial E_d/\\partial w_{{ij}}^k = o_i^{{k-1}}\\delta_j^k$"),
}


class DeltaDiagram:
    """Forward values and backward deltas of one training example, drawn on the network.

    DeltaDiagram(playground)            follows a Playground (its net, data, example marker)
    DeltaDiagram(net=net, X=X, Y=Y)     a fixed network; X (N, r_0), Y (N, r_m)

    Controls: ``view`` ("a", "o" forward; "delta" backward), ``example`` (row d).
    After each update ``values`` holds :func:`example_values` of the example shown.
    """

    def __init__(self, playground=None, net=None, X=None, Y=None, example=0, view="delta",
                 backend="auto", key="delta_diagram", figsize=None):
        if playground is None and net is None:
            raise ValueError("DeltaDiagram needs a Playground or net=, X=, Y=")
        self.playground = playground
        self._net, self._X, self._Y = net, X, Y
        self.status = Status()
        s = presenter.scale()
        self.base_figsize = figsize or (9.0, 4.6)
        self.host = FigureHost(tuple(v * s for v in self.base_figsize), backend)
        fig = self.host.fig
        self.ax = fig.add_axes([0.02, 0.04, 0.82, 0.82])
        self.cax = fig.add_axes([0.87, 0.15, 0.025, 0.6])
        self.mappable = mpl.cm.ScalarMappable(norm=Normalize(-1, 1), cmap=SIGN_CMAP)
        self.cbar = fig.colorbar(self.mappable, cax=self.cax)
        self.title = fig.suptitle("", x=0.02, ha="left")
        self.legend = fig.text(0.02, 0.015, "line width ∝ |value|; orange > 0, blue < 0, grey = 0",
                               color=GREY)
        self.artist = NetworkArtist(self.ax, self.net.sizes)

        N = len(self.X)
        self.view = widgets.ToggleButtons(
            options=[(label, k) for k, (label, _, _) in VIEWS.items()], value=view,
            description="show", tooltips=["weighted inputs a", "outputs o = g(a)",
                                          "deltas and per-example gradients"])
        self.example = widgets.IntSlider(value=min(example, N - 1), min=0, max=N - 1,
                                         description="example d", continuous_update=False)
        self.info = widgets.HTMLMath()
        self.view.observe(self.status.guard(lambda _: self.update(), "view"), names="value")
        self.example.observe(self.status.guard(lambda _: self.update(), "example"), names="value")
        self.ui = widgets.VBox([presenter.style_widget(),
                                widgets.HBox([self.view, self.example]), self.info,
                                self.host.widget, self.status.widget])
        self.ui.add_class("bp-live")
        self._listener = self.status.guard(self._on_playground, "following the playground")
        if playground is not None:
            playground.listeners.append(self._listener)
        self.restyle(redraw=False)
        self.update()
        replace(key, self)

    # the network and data shown: the playground's (live) or the fixed ones
    @property
    def net(self):
        return self.playground.net if self.playground is not None else self._net

    @property
    def X(self):
        return self.playground.X if self.playground is not None else np.asarray(self._X)

    @property
    def Y(self):
        return self.playground.Y if self.playground is not None else np.asarray(self._Y)

    def _on_playground(self, settled):
        if settled:  # not during live training: one drawing there is enough
            N = len(self.X)
            if self.example.max != N - 1 or self.example.value > N - 1:
                with self.example.hold_trait_notifications():
                    self.example.value = min(self.example.value, N - 1)
                    self.example.max = N - 1
            self.update(mark=False)

    def update(self, mark=True):
        """Recompute the example's numbers with bpcore and recolour the drawing."""
        net, d, view = self.net, int(self.example.value), self.view.value
        vals = example_values(net, self.X, self.Y, d)
        self.values = vals
        self.artist.set_sizes(net.sizes)
        label, symbol, title = VIEWS[view]
        if view == "delta":
            self.artist.show_nodes(vals["delta"])
            self.artist.show_edges(vals["grad_W"])
        else:
            self.artist.show_nodes(vals[view])
            self.artist.show_edges(vals["W"])
        self.mappable.set_norm(self.artist.node_norm)
        self.cbar.ax.set_title(f"${symbol}$", fontsize=presenter.font_size(15))
        self.title.set_text(title.format(d=d))
        x = ", ".join(f"{v:.2f}" for v in vals["x"])
        y = ", ".join(f"{v:g}" for v in vals["y"])
        y_hat = ", ".join(f"{v:.3f}" for v in vals["y_hat"])
        self.info.value = (f"example $d = {d}$: $x = ({x})$, $y = ({y})$, "
                           f"$\\hat y = ({y_hat})$, $E_d = {vals['E']:.4f}$")
        if self.playground is not None and mark:
            self.playground.mark_example(d)
        elif self.playground is not None:
            self.playground.marked = d  # drawn with the playground's next redraw
        self.host.redraw()

    def restyle(self, redraw=True):
        """Apply the presenter scale to sizes and fonts."""
        s = presenter.scale()
        self.host.set_size(tuple(v * s for v in self.base_figsize))
        self.title.set_fontsize(presenter.font_size(14))
        self.legend.set_fontsize(presenter.font_size(11))
        self.cbar.ax.tick_params(labelsize=presenter.font_size(11))
        self.artist.restyle()
        self.example.layout.width = f"{round(420 * s)}px"
        self.example.style.description_width = f"{round(90 * s)}px"
        if redraw:
            self.update()

    def close(self):
        if self.playground is not None and self._listener in self.playground.listeners:
            self.playground.listeners.remove(self._listener)
        self.host.close()
        close_tree(self.ui, keep=(presenter.style_widget(),))
        forget(self)

    def _repr_mimebundle_(self, **kwargs):
        return _bundle(self.ui, self.host, **kwargs)


def _bundle(ui, host, **kwargs):
    """The widget for live frontends plus a PNG for static viewers (GitHub, nbviewer)."""
    import base64
    data = ui._repr_mimebundle_(**kwargs)
    if isinstance(data, tuple):
        data = data[0]
    data = dict(data or {})
    data["image/png"] = base64.b64encode(host.png()).decode("ascii")
    return data
