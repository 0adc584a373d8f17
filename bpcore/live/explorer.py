"""Step-through explorer: one training step of the XOR network, one equation per click.

The worked example of the course (notebook 07): a 2-2-1 sigmoid network, weights
and biases uniform in [-1, 1] with seed 3, one training row x = (1, 0), y = 1,
learning rate alpha = 0.8.  "next" and "back" walk through

    0 the set-up            5 the error E
    1 a^1  (forward)        6 delta^2  (backward)
    2 o^1                   7 delta^1
    3 a^2                   8 the gradients dE/dw, dE/db
    4 o^2 = y_hat           9 the update, and E after it

showing the equation of the step (LaTeX, HTMLMath) with its numbers filled in, and
the network with the step's nodes and weights highlighted.

The numbers are computed here one scalar at a time, exactly as the equations read
(``values``); tests/test_live.py checks them against bpcore's forward/backward
pass and ``bpcore.train.step``.
"""
from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np

from ..network import Network
from . import presenter
from .diagram import NetworkArtist, _bundle, _fmt
from .figures import FigureHost, close_tree, forget, replace
from .status import Status

__all__ = ["Explorer", "xor_step_by_hand"]


def _sigma(a):
    return 1.0 / (1.0 + math.exp(-a))


def xor_step_by_hand(W1, b1, W2, b2, x, y, lr):
    """One training step of a 2-2-1 sigmoid network, scalar by scalar.

    W1 (2, 2), b1 (2,), W2 (2, 1), b2 (1,); x (2,), y a number; lr = alpha.
    Returns a dict of floats and small arrays: a1, o1 (2,), a2, o2 (= y_hat), E,
    delta2, delta1 (2,), gW1 (2, 2), gb1 (2,), gW2 (2, 1), gb2 (1,), the new
    W1, b1, W2, b2 (``W1_new``...) and ``E_new``, the error after the step."""
    r0, r1 = len(x), len(b1)
    a1 = np.array([b1[j] + sum(W1[i, j] * x[i] for i in range(r0)) for j in range(r1)])
    o1 = np.array([_sigma(a) for a in a1])
    a2 = b2[0] + sum(W2[j, 0] * o1[j] for j in range(r1))
    o2 = _sigma(a2)
    E = 0.5 * (o2 - y) ** 2
    delta2 = (o2 - y) * o2 * (1 - o2)                                     # output delta
    delta1 = np.array([o1[j] * (1 - o1[j]) * W2[j, 0] * delta2 for j in range(r1)])  # hidden
    gW2 = np.array([[delta2 * o1[j]] for j in range(r1)])
    gb2 = np.array([delta2])
    gW1 = np.array([[delta1[j] * x[i] for j in range(r1)] for i in range(r0)])
    gb1 = delta1.copy()
    new = {"W1_new": W1 - lr * gW1, "b1_new": b1 - lr * gb1,
           "W2_new": W2 - lr * gW2, "b2_new": b2 - lr * gb2}
    a1n = new["b1_new"] + x @ new["W1_new"]
    o1n = np.array([_sigma(a) for a in a1n])
    o2n = _sigma(new["b2_new"][0] + o1n @ new["W2_new"][:, 0])
    return dict(a1=a1, o1=o1, a2=a2, o2=o2, E=E, delta2=delta2, delta1=delta1,
                gW1=gW1, gb1=gb1, gW2=gW2, gb2=gb2, E_new=0.5 * (o2n - y) ** 2, **new)


def _num(v):
    """A number for the equations: 4 decimals, or 3 significant digits below 0.01."""
    if v == 0 or abs(v) >= 0.01:
        return f"{v:.4f}"
    mantissa, exponent = f"{v:.2e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def _n(v, paren=True):
    """:func:`_num`, with negatives (and powers of ten) in parentheses inside products."""
    s = _num(v)
    return f"({s})" if (paren and (v < 0 or "times" in s)) else s


def _mat(A):
    rows = np.atleast_2d(A)
    body = r" \\ ".join(" & ".join(f"{v:.4f}" for v in row) for row in rows)
    return r"\begin{pmatrix}" + body + r"\end{pmatrix}"


def _diagram_number(v):
    """Numbers on the drawing: 3 decimals; 2 significant digits when smaller."""
    return f"{v:.3f}" if abs(v) >= 0.01 else _fmt(v)


class Explorer:
    """The XOR worked example as a slide show: ``next()``, ``back()``, ``go(i)``.

    ``values``  the hand-computed numbers (see :func:`xor_step_by_hand`)
    ``net``     the bpcore Network with the initial weights (never modified)
    ``index``   the step shown; ``steps`` the list of steps (title, equation, drawing)
    """

    def __init__(self, seed=3, x=(1.0, 0.0), y=1.0, lr=0.8, backend="auto", key="explorer"):
        self.net = Network([2, 2, 1], g="sigmoid", g_out="sigmoid", loss="mse",
                           init="uniform", seed=seed)
        self.seed, self.x, self.y, self.lr = seed, np.array(x, float), float(y), float(lr)
        net = self.net
        self.values = xor_step_by_hand(net.W[1], net.b[1], net.W[2], net.b[2],
                                       self.x, self.y, self.lr)
        self.steps = self._make_steps()
        self.index = 0
        self.status = Status()
        s = presenter.scale()
        self.base_figsize = (9.5, 4.6)
        self.host = FigureHost(tuple(v * s for v in self.base_figsize), backend)
        self.ax = self.host.fig.add_axes([0.0, 0.0, 1.0, 0.88])
        self.title = self.host.fig.suptitle("", x=0.01, ha="left")
        self.artist = NetworkArtist(self.ax, net.sizes, fmt=_diagram_number)

        self.header = widgets.HTML()
        self.equation = widgets.HTMLMath()
        auto = dict(layout=widgets.Layout(width="auto"))
        self.back_button = widgets.Button(description="back", icon="arrow-left",
                                          tooltip="previous step", **auto)
        self.next_button = widgets.Button(description="next", icon="arrow-right",
                                          button_style="primary", tooltip="next step", **auto)
        self.restart_button = widgets.Button(description="start again", icon="refresh",
                                             tooltip="back to the set-up", **auto)
        self.next_button.on_click(self.status.guard(lambda _: self.next(), "next"))
        self.back_button.on_click(self.status.guard(lambda _: self.back(), "back"))
        self.restart_button.on_click(self.status.guard(lambda _: self.go(0), "start"))
        self.ui = widgets.VBox([
            presenter.style_widget(),
            widgets.HBox([self.back_button, self.next_button, self.restart_button, self.header]),
            self.equation, self.host.widget, self.status.widget])
        self.ui.add_class("bp-live")
        self.restyle(redraw=False)
        self.go(0)
        replace(key, self)

    # ----------------------------------------------------------------- navigation
    def next(self):
        self.go(min(self.index + 1, len(self.steps) - 1))

    def back(self):
        self.go(max(self.index - 1, 0))

    def go(self, i):
        """Show step i (0 .. len(steps) - 1)."""
        if not 0 <= i < len(self.steps):
            raise IndexError(f"step {i} does not exist: there are {len(self.steps)} (0..{len(self.steps) - 1})")
        self.index = i
        st = self.steps[i]
        self.header.value = (f"<b>Step {i} of {len(self.steps) - 1}: {st['title']}</b>"
                             f" <span style='color:#666'>({st['phase']})</span>")
        self.equation.value = st["tex"]
        self.back_button.disabled = i == 0
        self.next_button.disabled = i == len(self.steps) - 1
        hl_nodes, hl_edges = st.get("nodes_hl"), st.get("edges_hl")
        a = self.artist
        a.show_nodes(st["nodes"], highlight=hl_nodes)
        a.show_edges(st["edges"], highlight=hl_edges)
        a.show_edge_labels(st["edges"], highlight=hl_edges)
        a.show_bias_labels(st["biases"], prefix=st.get("bias_prefix", "b"), highlight=hl_nodes)
        self.title.set_text(st["caption"])
        self.host.redraw()

    # ----------------------------------------------------------------- content
    def _make_steps(self):
        v, net, x, y, lr = self.values, self.net, self.x, self.y, self.lr
        W1, b1, W2, b2 = net.W[1], net.b[1], net.W[2], net.b[2]
        a1, o1, a2, o2, E = v["a1"], v["o1"], v["a2"], v["o2"], v["E"]
        d2, d1 = v["delta2"], v["delta1"]
        inputs = {(0, 0), (0, 1)}
        hidden = {(1, 0), (1, 1)}
        out = {(2, 0)}
        e1 = {(1, i, j) for i in range(2) for j in range(2)}
        e2 = {(2, j, 0) for j in range(2)}
        W = [None, W1, W2]
        b = [None, b1, b2]
        xs = [x, None, None]
        steps = []

        def add(title, phase, tex, caption, nodes, edges=W, biases=b, nodes_hl=None,
                edges_hl=None, bias_prefix="b"):
            steps.append(dict(title=title, phase=phase, tex=tex, caption=caption, nodes=nodes,
                              edges=edges, biases=biases, nodes_hl=nodes_hl, edges_hl=edges_hl,
                              bias_prefix=bias_prefix))

        add("the network and the training row", "set-up",
            rf"$$x = (o_1^0, o_2^0) = ({x[0]:g}, {x[1]:g}),\quad y = {y:g},\quad "
            rf"\alpha = {lr:g},\quad g = g_o = \sigma(a) = \frac{{1}}{{1 + e^{{-a}}}}$$"
            rf"$$W^1 = {_mat(W1)},\ b^1 = {_mat(b1)},\quad W^2 = {_mat(W2)},\ b^2 = {_mat(b2)}$$"
            "<p>Weights and biases drawn uniformly from [−1, 1] with seed "
            f"{self.seed}; $w_{{ij}}^k$ joins node $i$ of layer $k-1$ to node $j$ of layer $k$.</p>",
            "inputs x in the nodes; weights $w_{ij}^k$ on the lines, biases $b_j^k$ under the nodes",
            xs)
        rows = [rf"a_{j + 1}^1 &= b_{j + 1}^1 + w_{{1{j + 1}}}^1 o_1^0 + w_{{2{j + 1}}}^1 o_2^0 "
                rf"= {_n(b1[j], False)} + {_n(W1[0, j])}\cdot{x[0]:g} + {_n(W1[1, j])}\cdot{x[1]:g} "
                rf"= \mathbf{{{_num(a1[j])}}}" for j in range(2)]
        add("weighted inputs of the hidden layer", "forward pass",
            r"$$a_j^1 = b_j^1 + \sum_i w_{ij}^1\, o_i^{0}$$"
            r"$$\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}$$",
            "forward: $a_j^1$ in the hidden nodes", [x, a1, None],
            nodes_hl=inputs | hidden, edges_hl=e1)
        rows = [rf"o_{j + 1}^1 &= \sigma({_n(a1[j], False)}) = \frac{{1}}{{1 + e^{{{-a1[j]:.4f}}}}} "
                rf"= \mathbf{{{_num(o1[j])}}}" for j in range(2)]
        add("outputs of the hidden layer", "forward pass",
            r"$$o_j^1 = g(a_j^1)$$ $$\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}$$",
            "forward: $o_j^1 = g(a_j^1)$ in the hidden nodes", [x, o1, None], nodes_hl=hidden)
        add("weighted input of the output node", "forward pass",
            r"$$a_1^2 = b_1^2 + \sum_j w_{j1}^2\, o_j^1$$"
            rf"$$a_1^2 = {_n(b2[0], False)} + {_n(W2[0, 0])}\cdot{_n(o1[0])} + "
            rf"{_n(W2[1, 0])}\cdot{_n(o1[1])} = \mathbf{{{_num(a2)}}}$$",
            "forward: $a_1^2$ in the output node", [x, o1, [a2]],
            nodes_hl=hidden | out, edges_hl=e2)
        add("the network's output", "forward pass",
            rf"$$\hat y = o_1^2 = g_o(a_1^2) = \sigma({_n(a2, False)}) = \mathbf{{{_num(o2)}}}$$",
            r"forward: $\hat y = o_1^2$ in the output node", [x, o1, [o2]], nodes_hl=out)
        add("the error", "error",
            rf"$$E = \tfrac12(\hat y - y)^2 = \tfrac12({_n(o2, False)} - {y:g})^2 = \mathbf{{{_num(E)}}}$$",
            r"the error compares $\hat y$ with $y$", [x, o1, [o2]], nodes_hl=out)
        add("the output delta", "backward pass",
            r"$$\delta_1^2 = \frac{\partial E}{\partial a_1^2} = (\hat y - y)\, g_o'(a_1^2) "
            r"= (\hat y - y)\,\hat y\,(1 - \hat y)$$"
            rf"$$\delta_1^2 = ({_n(o2, False)} - {y:g})\cdot{_n(o2)}\cdot(1 - {_n(o2)}) "
            rf"= \mathbf{{{_num(d2)}}}$$",
            r"backward: $\delta_j^k$ in the nodes", [None, None, [d2]], nodes_hl=out)
        rows = [rf"\delta_{j + 1}^1 &= {_n(o1[j])}\,(1 - {_n(o1[j])})\cdot{_n(W2[j, 0])}\cdot{_n(d2)} "
                rf"= \mathbf{{{_num(d1[j])}}}" for j in range(2)]
        add("the hidden deltas: errors flow backwards", "backward pass",
            r"$$\delta_j^1 = g'(a_j^1) \sum_l w_{jl}^2\, \delta_l^2 "
            r"= o_j^1 (1 - o_j^1)\, w_{j1}^2\, \delta_1^2$$"
            r"$$\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}$$",
            r"backward: $\delta_j^k$ in the nodes, through the weights $w_{j1}^2$",
            [None, d1, [d2]], nodes_hl=hidden | out, edges_hl=e2)
        gW = [None, v["gW1"], v["gW2"]]
        gb = [None, v["gb1"], v["gb2"]]
        rows2 = [rf"\frac{{\partial E}}{{\partial w_{{{j + 1}1}}^2}} &= \delta_1^2\, o_{j + 1}^1 "
                 rf"= {_n(d2)}\cdot{_n(o1[j])} = \mathbf{{{_num(v['gW2'][j, 0])}}}" for j in range(2)]
        rows2.append(rf"\frac{{\partial E}}{{\partial b_1^2}} &= \delta_1^2 = \mathbf{{{_num(d2)}}}")
        rows1 = [rf"\frac{{\partial E}}{{\partial w_{{{i + 1}{j + 1}}}^1}} &= \delta_{j + 1}^1\, o_{i + 1}^0 "
                 rf"= {_n(d1[j])}\cdot{x[i]:g} = \mathbf{{{_num(v['gW1'][i, j])}}}"
                 for i in range(2) for j in range(2)]
        rows1 += [rf"\frac{{\partial E}}{{\partial b_{j + 1}^1}} &= \delta_{j + 1}^1 = "
                  rf"\mathbf{{{_num(d1[j])}}}" for j in range(2)]
        add("the gradients", "backward pass",
            r"$$\frac{\partial E}{\partial w_{ij}^k} = \delta_j^k\, o_i^{k-1}, \qquad "
            r"\frac{\partial E}{\partial b_j^k} = \delta_j^k$$"
            r"$$\begin{aligned}" + r" \\ ".join(rows2) + r"\end{aligned}\qquad"
            r"\begin{aligned}" + r" \\ ".join(rows1) + r"\end{aligned}$$",
            r"gradients $\partial E/\partial w_{ij}^k$ on the lines (grey: 0, since $o_2^0 = 0$), "
            r"$\partial E/\partial b_j^k$ under the nodes",
            [None, d1, [d2]], edges=gW, biases=gb, nodes_hl=hidden | out,
            edges_hl=e1 | e2, bias_prefix="∂E/∂b")
        names = ([(rf"w_{{{i + 1}{j + 1}}}^1", W1[i, j], v["gW1"][i, j], v["W1_new"][i, j])
                  for i in range(2) for j in range(2)]
                 + [(rf"b_{{{j + 1}}}^1", b1[j], v["gb1"][j], v["b1_new"][j]) for j in range(2)]
                 + [(rf"w_{{{j + 1}1}}^2", W2[j, 0], v["gW2"][j, 0], v["W2_new"][j, 0])
                    for j in range(2)]
                 + [(r"b_1^2", b2[0], v["gb2"][0], v["b2_new"][0])])
        rows = [rf"{name} &\leftarrow {_n(old, False)} - {lr:g}\cdot{_n(g)} = \mathbf{{{_num(new)}}}"
                for name, old, g, new in names]
        half = (len(rows) + 1) // 2
        add("the update (gradient descent, not backpropagation)", "update",
            r"$$\theta \leftarrow \theta - \alpha\, \frac{\partial E}{\partial \theta}$$"
            r"$$\begin{aligned}" + r" \\ ".join(rows[:half]) + r"\end{aligned}\qquad"
            r"\begin{aligned}" + r" \\ ".join(rows[half:]) + r"\end{aligned}$$"
            rf"<p>With the new weights the error on this row is $E = {v['E_new']:.4f}$, "
            rf"down from ${E:.4f}$.</p>",
            "the new weights on the lines and new biases under the nodes",
            [x, None, None], edges=[None, v["W1_new"], v["W2_new"]],
            biases=[None, v["b1_new"], v["b2_new"]], edges_hl=e1 | e2)
        return steps

    # ----------------------------------------------------------------- presenter, closing
    def restyle(self, redraw=True):
        s = presenter.scale()
        self.host.set_size(tuple(v * s for v in self.base_figsize))
        self.title.set_fontsize(presenter.font_size(13))
        self.artist.restyle()
        if redraw:
            self.go(self.index)

    def close(self):
        self.host.close()
        close_tree(self.ui, keep=(presenter.style_widget(),))
        forget(self)

    def _repr_mimebundle_(self, **kwargs):
        return _bundle(self.ui, self.host, **kwargs)
