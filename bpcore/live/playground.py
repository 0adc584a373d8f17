"""The backprop playground: knobs that retrain a small network, drawn live.

Knobs (ipywidgets; sliders commit when let go, ``continuous_update=False``):
data set, noise, hidden layers, hidden size, activation g, learning rate alpha
(log scale), batch size, epochs.  Moving any knob rebuilds the network from the
current seed and trains it for ``epochs`` epochs at once.  Buttons:

* ``train`` / ``pause``: keep training from where it is, drawing as it goes,
  until paused (or diverged, or 20 000 epochs);
* ``step``: one more epoch;
* ``reset``: new weights from the next seed, epoch 0 (then train or step).

The figure (built once, updated in place): the decision boundary over the data,
the training error E per epoch, and the network (edge width = |w|, colour = sign).

Data are standardised (zero mean, unit variance per input).  Two classes: one
sigmoid output and E = 1/2 (y_hat - y)^2 (the course's classic).  More classes
(spirals, blobs): softmax outputs with cross-entropy.  Weights start uniform in
[-1, 1] (He-normal for ReLU).  Full-batch training uses :func:`fit_full_batch`
(bpcore's arithmetic, one forward pass per epoch); mini-batches use
``bpcore.train``.

Live training runs as an asyncio task on the kernel's event loop: it trains for
a slice of time, updates the artists, calls ``draw_idle`` and sleeps, so button
clicks and the browser's draw requests are handled in between (no threads, no
races).  Without a running loop (plain Python, tests) call :meth:`tick`.
"""
from __future__ import annotations

import asyncio
import time

import ipywidgets as widgets
import numpy as np
from matplotlib.colors import to_rgb

from ..datasets import get_dataset, one_hot, standardize
from ..network import Network
from ..plotting import BLUE, CLASS_COLORS, VERMILION
from ..train import accuracy, train
from . import presenter
from .diagram import NetworkArtist, _bundle
from .fastfit import fit_full_batch
from .figures import FigureHost, close_tree, forget, replace
from .status import Status

__all__ = ["Playground", "boundary_rgb"]

DATASET_NAMES = [("XOR cloud", "xor"), ("two moons", "moons"), ("circles", "circles"),
                 ("spirals (3 classes)", "spirals"), ("blobs (3 classes)", "blobs")]
# 0 stands for full batch (a Dropdown cannot select the value None)
BATCH_SIZES = [("full batch", 0), ("32", 32), ("8", 8), ("1 (per sample)", 1)]
MAX_EPOCHS = 20_000


def boundary_rgb(P):
    """Colour of each grid point from its class probabilities. P (G, G, K) -> (G, G, 4) uint8.

    The mixture of the class colours, faded to white where the network is unsure
    (all classes equally likely), so the decision boundary is the white band.
    RGBA bytes: what the renderer needs, so drawing converts nothing."""
    K = P.shape[-1]
    colors = np.array([to_rgb(c) for c in CLASS_COLORS[:K]])  # (K, 3)
    mix = P @ colors
    sure = np.clip((P.max(axis=-1, keepdims=True) - 1.0 / K) / (1.0 - 1.0 / K), 0.0, 1.0)
    rgb = 1.0 - 0.55 * sure * (1.0 - mix)
    out = np.full(P.shape[:-1] + (4,), 255, dtype=np.uint8)
    out[..., :3] = np.round(255 * rgb)
    return out


def _data_kwargs(name, n, noise):
    """What the noise knob means for each data set (blobs: spread = 5 x noise)."""
    if name == "blobs":
        return dict(n=n, centers=3, spread=5.0 * noise)
    return dict(n=n, noise=noise)


class Playground:
    """The playground widget. Display it (it is its own widget); ``ui`` is the layout.

    Parameters are the knobs' starting values; ``backend`` "auto" | "ipympl" | "agg"
    (see :mod:`bpcore.live.figures`); ``key``: a re-created playground with the same
    key closes the previous one.

    State: ``net`` (bpcore Network), ``X`` (N, 2) standardised inputs, ``y`` (N,)
    labels, ``Y`` (N, r_m) targets, ``loss`` (E after each epoch), ``E0`` (before),
    ``message`` ("diverged at epoch N (learning rate X)" or ""), ``seed``,
    ``timing`` (ms of the last retrain: train, update, total), ``retrains`` (count).
    """

    def __init__(self, dataset="moons", n=200, noise=0.2, hidden=8, layers=1,
                 activation="tanh", lr=3.0, batch_size=None, epochs=300, seed=0,
                 backend="auto", key="playground", grid=48, tick_seconds=0.05):
        self.n, self.seed, self.grid, self.tick_seconds = n, seed, grid, tick_seconds
        self.listener_delay = 0.05  # s, see _notify
        self.listeners = []       # callables(settled: bool), e.g. a DeltaDiagram
        self.marked = None        # the example ringed on the data plot
        self.running = False      # live training on?
        self._task = None
        self._data_key = None
        self.retrains = 0
        self.timing = {}
        self.clock = time.perf_counter
        self.status = Status()
        self._build_controls(dataset, noise, hidden, layers, activation, lr, batch_size, epochs)
        self._build_figure(backend)
        self.ui = widgets.VBox([presenter.style_widget(), self.controls, self.buttons,
                                self.status.widget, self.host.widget])
        self.ui.add_class("bp-live")
        self.restyle(redraw=False)
        self.status.guard(self.retrain, "start")()
        replace(key, self)

    # ----------------------------------------------------------------- controls
    def _build_controls(self, dataset, noise, hidden, layers, activation, lr, batch_size, epochs):
        W = widgets
        self.dataset = W.Dropdown(options=DATASET_NAMES, value=dataset, description="data set")
        self.noise = W.FloatSlider(value=noise, min=0.0, max=0.5, step=0.05, description="noise",
                                   continuous_update=False, readout_format=".2f")
        self.layers = W.IntSlider(value=layers, min=1, max=4, description="hidden layers",
                                  continuous_update=False)
        self.hidden = W.IntSlider(value=hidden, min=1, max=64, description="hidden size",
                                  continuous_update=False)
        self.activation = W.Dropdown(options=["sigmoid", "tanh", "relu"], value=activation,
                                     description="activation g")
        self.lr = W.FloatLogSlider(value=lr, base=10, min=-4, max=1, step=0.1,
                                   description="learning rate α", continuous_update=False,
                                   readout_format=".2g")
        self.batch = W.Dropdown(options=BATCH_SIZES, value=batch_size or 0, description="batch size")
        self.epochs = W.IntSlider(value=epochs, min=10, max=2000, step=10, description="epochs",
                                  continuous_update=False)
        self.knobs = [self.dataset, self.noise, self.layers, self.hidden, self.activation,
                      self.lr, self.batch, self.epochs]
        for knob in self.knobs:
            knob.observe(self.status.guard(self._on_knob, knob.description), names="value")
        col = lambda title, *ws: W.VBox([W.HTML(f"<b>{title}</b>"), *ws])  # noqa: E731
        self.controls = W.HBox([col("Data", self.dataset, self.noise),
                                col("Network", self.layers, self.hidden, self.activation),
                                col("Training", self.lr, self.batch, self.epochs)],
                               layout=W.Layout(flex_flow="row wrap"))  # wraps when large
        auto = dict(layout=W.Layout(width="auto"))
        self.train_button = W.Button(description="train", icon="play", button_style="primary",
                                     tooltip="train live until paused", **auto)
        self.step_button = W.Button(description="step 1 epoch", icon="step-forward",
                                    tooltip="one more epoch", **auto)
        self.reset_button = W.Button(description="reset (new seed)", icon="refresh",
                                     tooltip="new random weights, epoch 0", **auto)
        self.train_button.on_click(self.status.guard(lambda _: self.toggle(), "train"))
        self.step_button.on_click(self.status.guard(lambda _: self.step(), "step"))
        self.reset_button.on_click(self.status.guard(lambda _: self.reset(), "reset"))
        self.buttons = W.HBox([self.train_button, self.step_button, self.reset_button])

    # ----------------------------------------------------------------- figure
    def _build_figure(self, backend):
        s = presenter.scale()
        self.base_figsize = (12.0, 4.1)
        self.host = FigureHost(tuple(v * s for v in self.base_figsize), backend,
                               dynamic=self._dynamic_artists)
        fig = self.host.fig
        # fixed positions (no layout engine: it would run on every draw)
        self.ax_data = fig.add_axes([0.045, 0.14, 0.25, 0.74])
        self.ax_loss = fig.add_axes([0.375, 0.14, 0.27, 0.74])
        self.ax_net = fig.add_axes([0.67, 0.02, 0.32, 0.86])
        ax = self.ax_data
        self.image = ax.imshow(np.full((2, 2, 4), 255, np.uint8), origin="lower",
                               interpolation="bilinear",
                               extent=(-1, 1, -1, 1), aspect="auto", zorder=0)
        # one Line2D of markers per class: much faster to draw than a scatter
        self.points = [ax.plot([], [], "o", mfc=c, mec="k", mew=0.6, ls="none", zorder=2)[0]
                       for c in CLASS_COLORS[:3]]
        self.marker, = ax.plot([], [], "o", mfc="none", mec="k", mew=2.5, ms=16, zorder=3)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$", labelpad=0)
        ax.grid(False)
        self.data_title = ax.set_title("", loc="left")
        ax = self.ax_loss
        self.loss_line, = ax.plot([], [], color=BLUE)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("E (training set)")
        self.loss_title = ax.set_title("training error E, after each epoch", loc="left")
        self.diverged_text = ax.text(0.5, 0.55, "", transform=ax.transAxes, ha="center",
                                     va="center", color=VERMILION, wrap=True)
        self.net_artist = NetworkArtist(self.ax_net, [2, 1], label_limit=0)  # no numbers here
        self.net_title = self.ax_net.set_title("weights: width |w|, orange +, blue −", loc="left")

    def _dynamic_artists(self):
        """What a redraw repaints over the cached background (axes, ticks, labels)."""
        # (static texts stay out: each text costs ~4 ms to render)
        return ([self.image, *self.points, self.marker, self.ax_data.spines["left"],
                 self.ax_data.spines["bottom"], self.loss_line, self.diverged_text]
                + self.net_artist.artists())

    # ----------------------------------------------------------------- model
    def _build(self):
        """Data (when its knobs changed) and a fresh network from ``seed``."""
        key = (self.dataset.value, self.n, round(self.noise.value, 6))
        if key != self._data_key:
            X, y = get_dataset(self.dataset.value, seed=0,
                               **_data_kwargs(self.dataset.value, self.n, self.noise.value))
            self.X, self.y = standardize(X), y
            self.K = max(int(y.max()) + 1, 2)
            self.Y = y[:, None].astype(float) if self.K == 2 else one_hot(y, self.K)
            self._data_key = key
            self._set_data_artists()
        g = self.activation.value
        sizes = [2] + [self.hidden.value] * self.layers.value + [1 if self.K == 2 else self.K]
        out = dict(g_out="sigmoid", loss="mse") if self.K == 2 else dict(g_out="softmax",
                                                                         loss="cross_entropy")
        init = "he" if g == "relu" else "uniform"
        self.net = Network(sizes, g=g, init=init, seed=self.seed, **out)
        self.loss, self.message = [], ""
        self.E0 = self.net.E(self.X, self.Y)

    def _set_data_artists(self):
        X, pad, G = self.X, 0.4, self.grid
        lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], G), np.linspace(lo[1], hi[1], G))
        self._grid_points = np.column_stack([gx.ravel(), gy.ravel()])  # (G*G, 2)
        self.image.set_extent((lo[0], hi[0], lo[1], hi[1]))
        self.ax_data.set_xlim(lo[0], hi[0])
        self.ax_data.set_ylim(lo[1], hi[1])
        for c, line in enumerate(self.points):
            line.set_data(X[self.y == c, 0], X[self.y == c, 1])
        if self.marked is not None and self.marked >= len(X):
            self.marked = None

    @property
    def epoch(self):
        """Epochs trained since the network was built."""
        return len(self.loss)

    def _train(self, epochs, deadline=None):
        """Train up to ``epochs`` more epochs (stop after ``deadline``); extend ``loss``."""
        lr, B = float(self.lr.value), self.batch.value
        if not B:  # full batch
            hist = fit_full_batch(self.net, self.X, self.Y, lr, epochs, deadline, self.clock)
        else:
            stop = None if deadline is None else (lambda e, h, n: self.clock() < deadline)
            hist = train(self.net, self.X, self.Y, lr=lr, epochs=epochs, batch_size=B,
                         seed=self.seed * 100_003 + self.epoch, callback=stop)
        self.loss.extend(hist.loss)
        if hist.diverged:  # bpcore's message, with the epoch counted from the start
            self.message = f"diverged at epoch {self.epoch + 1} (learning rate {lr:g})"
        return hist

    # ----------------------------------------------------------------- actions
    def _on_knob(self, change):
        self.retrain()

    def retrain(self):
        """Rebuild from the current seed and train ``epochs`` epochs; draw the result."""
        t0 = self.clock()
        self.pause()
        self._build()
        target = int(self.epochs.value)
        # at most ~0.5 s here; the rest (slow mini-batch settings) continues live
        self._train(target, deadline=t0 + 0.5)
        t1 = self.clock()
        done = self.message or self.epoch >= target
        self._show(settled=done)
        t2 = self.clock()
        self.retrains += 1
        self.timing = {"train": 1e3 * (t1 - t0), "update": 1e3 * (t2 - t1), "total": 1e3 * (t2 - t0)}
        if not done:
            if not self.start(until=target):
                self._train(target - self.epoch)  # no event loop: finish here
                self._show(settled=True)
        self._report(f"retrained in {self.timing['total']:.0f} ms" if done else "training…")

    def step(self):
        """Train exactly one more epoch (unless diverged)."""
        self.pause()
        if not self.message:
            self._train(1)
        self._show(settled=True)
        self._report("one epoch")

    def reset(self):
        """New weights from the next seed; back to epoch 0."""
        self.pause()
        self.seed += 1
        self._build()
        self._show(settled=True)
        self._report("new weights: press train or step")

    def tick(self, until=None):
        """One slice of live training (``tick_seconds`` of work), then a redraw.

        Returns True while there is more to do (not paused, diverged or finished)."""
        limit = MAX_EPOCHS if until is None else until
        todo = limit - self.epoch
        if todo > 0 and not self.message:
            self._train(todo, deadline=self.clock() + self.tick_seconds)
        more = not self.message and self.epoch < limit
        self._show(settled=not more)
        self._report("training…" if more else ("finished" if not self.message else ""))
        return more

    def start(self, until=None):
        """Start live training on the kernel's event loop; False if there is none."""
        if self.running:
            return True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self.running = True
        self.train_button.description, self.train_button.icon = "pause", "pause"
        self._task = loop.create_task(self._run(until))
        return True

    def pause(self):
        """Stop live training (the network keeps what it learned)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self.running:
            self.running = False
            self.train_button.description, self.train_button.icon = "train", "play"
            self._show(settled=True)

    def toggle(self):
        """The train / pause button."""
        if self.running:
            self.pause()
            self._report("paused")
        elif self.message:
            self._report("")  # diverged: nothing to continue; the message stays
        elif not self.start():
            self.status.show("live training needs a running Jupyter kernel "
                             "(here: use step, or call tick())", "warn")

    async def _run(self, until):
        me = asyncio.current_task()
        try:
            while self._task is me:
                try:
                    more = self.tick(until)
                except Exception as exc:  # noqa: BLE001 - shown in the widget
                    self.status.error(exc, "training")
                    more = False
                if not more:
                    break
                await asyncio.sleep(0.03)  # let clicks and the browser's draw requests in
        finally:
            if self._task is me:  # not replaced by a newer run meanwhile
                self._task = None
                self.running = False
                self.train_button.description, self.train_button.icon = "train", "play"

    # ----------------------------------------------------------------- drawing
    def _show(self, settled=True):
        """Put the current state into the artists and ask for one redraw."""
        net, G = self.net, self.grid
        with np.errstate(all="ignore"):
            out = net.predict(self._grid_points)
        P = np.column_stack([1.0 - out[:, 0], out[:, 0]]) if out.shape[1] == 1 else out
        self.image.set_data(boundary_rgb(np.nan_to_num(P, nan=0.5).reshape(G, G, -1)))
        name = dict((v, k) for k, v in DATASET_NAMES)[self.dataset.value]
        title = f"{name}: the network's prediction"
        if self.data_title.get_text() != title:  # static: render the background again
            self.data_title.set_text(title)
            self.host.invalidate()
        # error curve, epoch 0 = before training
        E = np.array([self.E0] + self.loss)
        ep = np.arange(len(E))
        self.loss_line.set_data(ep, E)
        # "nice" limits that rarely change, so most redraws reuse the cached axes
        right = int(self.epochs.value)
        while right < self.epoch:
            right = int(right * 1.5)
        if self.ax_loss.get_xlim() != (0, right):
            self.ax_loss.set_xlim(0, right)
        finite = E[np.isfinite(E) & (E > 0)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (1e-3, 1.0)
        ylim = (10.0 ** np.floor(np.log10(lo) - 0.1), 10.0 ** np.ceil(np.log10(hi) + 0.05))
        if self.ax_loss.get_ylim() != ylim:
            self.ax_loss.set_ylim(*ylim)
        ylabel = "E = mean of ½(ŷ − y)²" if self.K == 2 else "E = mean cross-entropy"
        if self.ax_loss.get_ylabel() != ylabel:
            self.ax_loss.set_ylabel(ylabel)
            self.host.invalidate()  # a static label changed: render everything once
        self.diverged_text.set_text(self.message.replace(" (", "\n(") if self.message else "")
        # network: weights as edges
        self.net_artist.set_sizes(net.sizes)
        self.net_artist.show_edges(net.W)
        self.net_artist.show_nodes(None)
        d = self.marked
        self.marker.set_data(*(([self.X[d, 0]], [self.X[d, 1]]) if d is not None else ([], [])))
        self.host.redraw()  # first: the picture leaves for the browser now
        self._notify(settled)

    def _notify(self, settled):
        """Tell the listeners (a delta diagram) about the new state.

        In a kernel they run a moment later, from the event loop, so that their work
        does not compete with the browser showing this figure; without a loop, now."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        for listener in list(self.listeners):
            if loop is None:
                listener(settled)
            else:
                loop.call_later(self.listener_delay,
                                self.status.guard(listener, "delta diagram"), settled)

    def _report(self, what):
        """The status line: epoch, error, accuracy, and what just happened."""
        if self.message:
            self.status.show(f"{self.message}: the weights were rolled back to the last finite "
                             f"epoch. Try a smaller learning rate.", "warn")
            return
        acc = accuracy(self.net, self.net.predict(self.X), self.Y)
        E = self.loss[-1] if self.loss else self.E0
        parts = [f"epoch {self.epoch}", f"E = {E:.4g}", f"accuracy {100 * acc:.1f}%",
                 f"seed {self.seed}"]
        self.status.show(" · ".join(parts + ([what] if what else [])))

    def mark_example(self, d):
        """Ring training example d on the data plot (the delta diagram's choice)."""
        self.marked = d
        self.marker.set_data([self.X[d, 0]], [self.X[d, 1]])
        self.host.redraw()

    # ----------------------------------------------------------------- presenter, closing
    def restyle(self, redraw=True):
        """Sizes and fonts for the current presenter scale."""
        s = presenter.scale()
        self.host.set_size(tuple(v * s for v in self.base_figsize))
        for ax in (self.ax_data, self.ax_loss):
            for t in (ax.title, ax._left_title):
                t.set_fontsize(presenter.font_size(13))
            ax.xaxis.label.set_fontsize(presenter.font_size(13))
            ax.yaxis.label.set_fontsize(presenter.font_size(13))
            ax.tick_params(labelsize=presenter.font_size(11))
        self.net_title.set_fontsize(presenter.font_size(12))
        self.diverged_text.set_fontsize(presenter.font_size(15))
        self.loss_line.set_linewidth(2.5 * s)
        for line in self.points:
            line.set_markersize(6 * s)
        self.marker.set_markersize(16 * s)
        self.net_artist.restyle()
        self.host.invalidate()
        for knob in self.knobs:
            knob.style.description_width = f"{round(110 * s)}px"
            knob.layout.width = f"{round(330 * s)}px"
        if redraw:
            self._show(settled=True)

    def close(self):
        """Stop training and free the figure and widgets (a re-run cell calls this)."""
        self.pause()
        self.listeners.clear()
        self.host.close()
        close_tree(self.ui, keep=(presenter.style_widget(),))
        forget(self)

    def _repr_mimebundle_(self, **kwargs):
        return _bundle(self.ui, self.host, **kwargs)
