"""bpcore.live without a browser: widgets driven from Python, figures on the Agg backend.

Every widget is built with backend="agg" (a plain Figure on an Agg canvas), so
the artists, colours and pixels can be inspected directly.
"""
from __future__ import annotations

import asyncio

import matplotlib

matplotlib.use("agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from bpcore import Network, train  # noqa: E402
from bpcore import live  # noqa: E402
from bpcore.datasets import get_dataset, one_hot, standardize  # noqa: E402
from bpcore.live import presenter  # noqa: E402
from bpcore.live.diagram import example_values  # noqa: E402
from bpcore.live.explorer import _num  # noqa: E402
from bpcore.live.figures import resolve_backend  # noqa: E402
from bpcore.plotting import BLUE, ORANGE, SIGN_CMAP  # noqa: E402
from bpcore.train import step as train_step  # noqa: E402

LUT = SIGN_CMAP(np.linspace(0.0, 1.0, SIGN_CMAP.N))  # (256, 4)


def colour_to_value(rgba, norm):
    """Invert a SIGN_CMAP colour: nearest colormap entry, then the normalisation."""
    idx = np.argmin(np.sum((LUT[:, :3] - np.asarray(rgba)[:3]) ** 2, axis=1))
    return norm.inverse(idx / (SIGN_CMAP.N - 1))


def assert_node_colours_match(artist, expected_by_layer):
    """The artist's node fills decode to ``expected_by_layer`` (None layers: white)."""
    norm, fills = artist.node_norm, artist.dots.get_facecolor()
    vmax = norm.vmax
    shown = [abs(v) for layer in expected_by_layer if layer is not None for v in layer]
    assert vmax == pytest.approx(max(shown)), "colour scale must be +- the largest value shown"
    for n, (k, j) in enumerate(artist.nodes):
        if expected_by_layer[k] is None:
            assert np.isnan(artist.node_values[n])
            np.testing.assert_allclose(fills[n][:3], (1, 1, 1))
            continue
        value = float(expected_by_layer[k][j])
        assert artist.node_values[n] == value
        # one colormap step is 2 vmax / 255; the nearest entry is within one step
        assert colour_to_value(fills[n], norm) == pytest.approx(value, abs=2.0 * vmax / 255)


@pytest.fixture
def play():
    p = live.Playground(backend="agg", key="test-playground")
    yield p
    p.close()


# ------------------------------------------------------------------ fast full-batch training
@pytest.mark.parametrize("g, hidden, lr, data", [
    ("tanh", [8], 3.0, "moons"), ("sigmoid", [5, 5], 1.0, "xor"), ("relu", [16], 0.5, "circles"),
    ("tanh", [8], 1.0, "spirals"), ("relu", [64] * 4, 10.0, "spirals"),  # the last diverges
])
def test_fit_full_batch_is_bpcore_train_bit_for_bit(g, hidden, lr, data):
    X, y = get_dataset(data, n=120, seed=1)
    X = standardize(X)
    binary = y.max() == 1
    Y = y[:, None].astype(float) if binary else one_hot(y)
    kw = dict(g_out="sigmoid", loss="mse") if binary else dict(g_out="softmax", loss="cross_entropy")
    ref = Network([2, *hidden, Y.shape[1]], g=g, init="uniform", seed=2, **kw)
    fast = ref.copy()
    h_ref = train(ref, X, Y, lr=lr, epochs=150)
    h_fast = live.fit_full_batch(fast, X, Y, lr, 150)
    assert h_fast.loss == h_ref.loss
    assert h_fast.diverged == h_ref.diverged and h_fast.message == h_ref.message
    np.testing.assert_array_equal(fast.get_params(), ref.get_params())
    if lr == 10.0:
        assert h_fast.diverged and "diverged at epoch" in h_fast.message


def test_fit_full_batch_deadline_stops_early():
    X, y = get_dataset("moons", n=100, seed=0)
    net = Network([2, 8, 1], g="tanh")
    ticks = iter(range(1000))
    hist = live.fit_full_batch(net, X, y[:, None].astype(float), 1.0, 100, deadline=5,
                               clock=lambda: next(ticks))
    assert hist.stopped and 0 < hist.epochs < 100


# ------------------------------------------------------------------ playground
def test_playground_defaults_train_and_draw(play):
    assert play.net.sizes == [2, 8, 1] and play.net.g.name == "tanh"
    assert play.X.shape == (200, 2) and play.epoch == 300
    assert play.loss[-1] < play.E0
    assert play.status.kind == "info" and "epoch 300" in play.status.text
    assert not play.status.errors
    assert play.host.draws >= 1 and play.host.widget.value[:4] == b"\x89PNG"
    for knob in (play.lr, play.hidden, play.layers, play.noise, play.epochs):
        assert knob.continuous_update is False
    assert (play.lr.min, play.lr.max, play.hidden.min, play.hidden.max,
            play.layers.min, play.layers.max) == (-4, 1, 1, 64, 1, 4)


def test_a_slider_change_retrains_and_changes_the_artists(play):
    image0 = np.array(play.image.get_array())
    edges0 = len(play.net_artist.lines.get_segments())
    params0, draws0, retrains0 = play.net.get_params(), play.host.draws, play.retrains
    play.hidden.value = 12
    assert play.net.sizes == [2, 12, 1] and play.epoch == 300
    assert play.retrains == retrains0 + 1 and play.host.draws > draws0
    assert len(play.net_artist.lines.get_segments()) == 2 * 12 + 12 * 1 != edges0
    assert not np.allclose(np.array(play.image.get_array()), image0)
    assert play.net.get_params().shape != params0.shape
    ep, E = play.loss_line.get_data()
    assert len(ep) == 301 and E[-1] == play.loss[-1]
    assert "epoch 300" in play.status.text and f"E = {play.loss[-1]:.4g}" in play.status.text
    # the learning rate knob: same architecture, different weights
    params1 = play.net.get_params()
    play.lr.value = 0.1
    assert not np.allclose(play.net.get_params(), params1)
    assert play.timing["total"] > 0


def test_each_knob_reaches_the_model(play):
    play.layers.value = 3
    assert play.net.m == 4
    play.activation.value = "relu"
    assert play.net.g.name == "relu" and play.net.init == "he"
    play.dataset.value = "spirals"
    assert play.K == 3 and play.net.sizes[-1] == 3 and play.net.g_out.name == "softmax"
    assert len(play.points[2].get_xdata()) > 0  # the third class is drawn
    X0 = play.X.copy()
    play.noise.value = 0.4
    assert not np.allclose(play.X, X0)
    play.epochs.value = 50
    assert play.epoch == 50 and len(play.loss) == 50
    play.batch.value = 8  # mini-batches go through bpcore.train
    assert play.epoch == 50 and not play.status.errors


def test_step_reset_and_tick(play):
    play.step()
    assert play.epoch == 301
    play.reset()
    assert play.seed == 1 and play.epoch == 0 and play.loss == []
    assert "new weights" in play.status.text
    assert play.loss_line.get_data()[0].tolist() == [0]
    more = play.tick()
    assert more and play.epoch > 0
    play.tick(until=play.epoch + 1)
    assert play.status.text.endswith("finished")


def test_live_training_runs_on_the_event_loop_and_pauses(play):
    async def scenario():
        assert play.start()
        assert play.running and play.train_button.description == "pause"
        before = play.epoch
        await asyncio.sleep(0.4)
        during = play.epoch
        play.toggle()  # the pause button
        await asyncio.sleep(0.1)
        return before, during, play.epoch
    before, during, after = asyncio.run(scenario())
    assert during > before and after == during
    assert not play.running and play.train_button.description == "train"
    assert play.status.text.endswith("paused") and not play.status.errors


def test_train_button_without_event_loop_explains_itself(play):
    play.toggle()
    assert play.status.kind == "warn" and "running Jupyter kernel" in play.status.text


def test_divergence_shows_the_message_not_nans(play):
    play.dataset.value = "spirals"
    play.activation.value = "relu"
    play.hidden.value = 64
    play.layers.value = 4
    play.lr.value = 10.0
    assert play.message.startswith("diverged at epoch")
    assert "(learning rate 10)" in play.message
    assert play.status.kind == "warn" and "diverged at epoch" in play.status.text
    assert "Traceback" not in play.status.widget.value and not play.status.errors
    assert play.message.split(" (")[0] in play.diverged_text.get_text()
    ep, E = play.loss_line.get_data()
    assert np.isfinite(E).all() and len(E) == play.epoch + 1
    assert np.isfinite(np.array(play.image.get_array())).all()
    assert np.isfinite(play.net.get_params()).all()
    # training on from a diverged state does nothing and says so
    play.toggle()
    assert "diverged" in play.status.text
    # a smaller learning rate recovers
    play.lr.value = 0.01
    assert play.message == "" and play.diverged_text.get_text() == ""


def test_errors_in_callbacks_are_shown_in_the_widget(play, monkeypatch):
    def broken():
        raise ValueError("boom: something went wrong")
    monkeypatch.setattr(play, "_build", broken)
    play.hidden.value = 5  # must not raise here: the error goes to the status line
    assert play.status.kind == "error"
    assert "ValueError: boom" in play.status.text
    assert "Traceback" in play.status.widget.value  # folded details
    assert len(play.status.errors) == 1
    play.step_button.click()  # buttons are guarded too
    monkeypatch.undo()
    play.hidden.value = 6
    assert play.status.kind == "info" and play.net.sizes == [2, 6, 1]


def test_re_creating_a_playground_closes_the_old_one():
    first = live.Playground(backend="agg", key="test-rerun")
    closed = []
    first.host.close = lambda: closed.append(True)
    second = live.Playground(backend="agg", key="test-rerun")
    assert closed == [True]
    assert live.figures.live_objects()["test-rerun"] is second
    second.close()


def test_blitted_redraw_equals_a_full_render(play):
    play.hidden.value = 9  # a fast (blitted) redraw
    assert play.host.fast_draws >= 1
    fast = np.asarray(play.host.fig.canvas.get_renderer().buffer_rgba()).copy()
    play.host.invalidate()
    play.host.redraw()  # a full render of the same state
    full = np.asarray(play.host.fig.canvas.get_renderer().buffer_rgba())
    np.testing.assert_array_equal(fast, full)


def test_static_viewers_get_a_png(play):
    bundle = play._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["image/png"].startswith("iVBOR")


def test_backend_is_injectable():
    assert resolve_backend("auto") == "agg"  # this module runs on Agg
    with pytest.raises(ValueError, match="backend must be"):
        resolve_backend("tk")


# ------------------------------------------------------------------ delta diagram
@pytest.mark.parametrize("d", [0, 17, 199])
def test_delta_diagram_colours_are_bpcore_deltas(play, d):
    diagram = live.DeltaDiagram(play, backend="agg", key="test-delta", example=d)
    assert diagram.view.value == "delta"
    # bpcore's own numbers for example d
    net = play.net.copy()
    net.forward(play.X[d:d + 1])
    dW, _ = net.backward(play.Y[d:d + 1])
    expected = [None] + [net.delta[k][0] for k in range(1, net.m + 1)]
    assert_node_colours_match(diagram.artist, expected)
    assert diagram.mappable.norm.vmin == -diagram.artist.node_norm.vmax  # colour bar agrees
    # edges: dE_d/dw = o_i^{k-1} delta_j^k, width ~ |value|, colour = sign
    grads = np.concatenate([dW[k].ravel() for k in range(1, net.m + 1)])
    np.testing.assert_allclose(diagram.artist.edge_values, grads, rtol=1e-12)
    outer = np.concatenate([np.outer(net.o[k - 1][0], net.delta[k][0]).ravel()
                            for k in range(1, net.m + 1)])
    np.testing.assert_allclose(grads, outer, rtol=1e-12, atol=1e-300)
    widths = diagram.artist.lines.get_linewidths()
    np.testing.assert_allclose(widths, 0.4 + diagram.artist.max_width * np.abs(grads)
                               / np.abs(grads).max())
    colours = diagram.artist.lines.get_color()
    for value, rgba in zip(grads, colours):
        if value != 0:
            assert tuple(rgba[:3]) == to_rgba(ORANGE if value > 0 else BLUE)[:3]
    # the example is ringed on the playground
    assert play.marked == d
    np.testing.assert_array_equal(np.ravel(play.marker.get_data()), play.X[d])
    diagram.close()


def test_delta_diagram_forward_views_and_example_selector(play):
    diagram = live.DeltaDiagram(play, backend="agg", key="test-delta")
    diagram.example.value = 5
    diagram.view.value = "a"
    net = play.net.copy()
    net.forward(play.X[5:6])
    assert_node_colours_match(diagram.artist, [play.X[5]] + [net.a[k][0] for k in (1, 2)])
    np.testing.assert_array_equal(diagram.artist.edge_values,
                                  np.concatenate([net.W[1].ravel(), net.W[2].ravel()]))
    diagram.view.value = "o"
    assert_node_colours_match(diagram.artist, [net.o[k][0] for k in (0, 1, 2)])
    assert "Forward pass of example 5" in diagram.title.get_text()
    # the playground changes: the diagram follows
    play.hidden.value = 3
    assert diagram.artist.sizes == [2, 3, 1]
    assert_node_colours_match(diagram.artist, example_values(play.net, play.X, play.Y, 5)["o"])
    assert not diagram.status.errors
    diagram.close()


def test_delta_diagram_on_a_fixed_network():
    net = Network([2, 3, 2], g="tanh", g_out="softmax", loss="cross_entropy", seed=4)
    X = np.array([[0.5, -1.0], [1.0, 2.0]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    diagram = live.DeltaDiagram(net=net, X=X, Y=Y, example=1, backend="agg", key="test-fixed")
    net2 = net.copy()
    net2.forward(X[1:2])
    net2.backward(Y[1:2])
    np.testing.assert_allclose(net2.delta[2][0], net2.o[2][0] - Y[1])  # softmax + CE
    assert_node_colours_match(diagram.artist, [None, net2.delta[1][0], net2.delta[2][0]])
    diagram.close()


# ------------------------------------------------------------------ explorer
@pytest.fixture
def explorer():
    e = live.Explorer(backend="agg", key="test-explorer")
    yield e
    e.close()


def test_explorer_numbers_are_bpcore_forward_backward_and_step(explorer):
    v = explorer.values
    net = Network([2, 2, 1], g="sigmoid", g_out="sigmoid", loss="mse", init="uniform", seed=3)
    x, y = np.array([[1.0, 0.0]]), np.array([[1.0]])
    y_hat = net.forward(x)
    np.testing.assert_allclose(v["a1"], net.a[1][0], rtol=1e-12)
    np.testing.assert_allclose(v["o1"], net.o[1][0], rtol=1e-12)
    np.testing.assert_allclose(v["a2"], net.a[2][0, 0], rtol=1e-12)
    np.testing.assert_allclose(v["o2"], y_hat[0, 0], rtol=1e-12)
    np.testing.assert_allclose(v["E"], net.E(x, y), rtol=1e-12)
    net.forward(x)
    dW, db = net.backward(y)
    np.testing.assert_allclose(v["delta2"], net.delta[2][0, 0], rtol=1e-12)
    np.testing.assert_allclose(v["delta1"], net.delta[1][0], rtol=1e-12)
    for mine, theirs in [("gW1", dW[1]), ("gb1", db[1]), ("gW2", dW[2]), ("gb2", db[2])]:
        np.testing.assert_allclose(v[mine], theirs, rtol=1e-12, atol=1e-300)
    train_step(net, dW, db, 0.8)  # bpcore's update
    for mine, theirs in [("W1_new", net.W[1]), ("b1_new", net.b[1]),
                         ("W2_new", net.W[2]), ("b2_new", net.b[2])]:
        np.testing.assert_allclose(v[mine], theirs, rtol=1e-12)
    np.testing.assert_allclose(v["E_new"], net.E(x, y), rtol=1e-12)
    assert v["E_new"] < v["E"]
    # the explorer never changed its network
    fresh = Network([2, 2, 1], init="uniform", seed=3)
    np.testing.assert_array_equal(explorer.net.get_params(), fresh.get_params())


def test_explorer_equations_show_those_numbers(explorer):
    v, steps = explorer.values, explorer.steps
    titles = [s["title"] for s in steps]
    assert len(steps) == 10
    where = {  # the step whose equation must show each number (4 decimals, bold result)
        "weighted inputs of the hidden layer": [v["a1"][0], v["a1"][1]],
        "outputs of the hidden layer": [v["o1"][0], v["o1"][1]],
        "weighted input of the output node": [v["a2"]],
        "the network's output": [v["o2"]],
        "the error": [v["E"]],
        "the output delta": [v["delta2"]],
        "the hidden deltas: errors flow backwards": list(v["delta1"]),
        "the gradients": list(v["gW1"].ravel()) + list(v["gW2"].ravel()),
        "the update (gradient descent, not backpropagation)":
            list(v["W1_new"].ravel()) + list(v["b1_new"]) + list(v["W2_new"].ravel())
            + list(v["b2_new"]) + [v["E_new"]],
    }
    for title, numbers in where.items():
        tex = steps[titles.index(title)]["tex"]
        for number in numbers:
            assert _num(number) in tex, (title, number)
    assert r"\delta_j^1 = g'(a_j^1) \sum_l w_{jl}^2" in steps[7]["tex"]
    assert _num(0.000612) == r"6.12 \times 10^{-4}" and _num(-0.1234567) == "-0.1235"


def test_explorer_navigation_and_highlighting(explorer):
    assert explorer.index == 0 and explorer.back_button.disabled
    explorer.back()
    assert explorer.index == 0
    explorer.next_button.click()
    assert explorer.index == 1 and "Step 1 of 9" in explorer.header.value
    assert explorer.equation.value == explorer.steps[1]["tex"]
    v = explorer.values
    # step 1 shows a^1 in the hidden nodes, in the colours of its numbers
    assert_node_colours_match(explorer.artist, [explorer.x, v["a1"], None])
    # highlighted: the inputs, the hidden nodes and the layer-1 weights; the rest faded
    alphas = explorer.artist.dots.get_facecolor()[:, 3]
    assert alphas.tolist() == [1.0, 1.0, 1.0, 1.0, pytest.approx(0.35)]
    edge_alpha = explorer.artist.lines.get_color()[:, 3]
    assert edge_alpha[:4].tolist() == [1.0] * 4 and np.allclose(edge_alpha[4:], 0.12)
    for _ in range(6):
        explorer.next()
    assert explorer.index == 7  # hidden deltas
    assert_node_colours_match(explorer.artist, [None, v["delta1"], [v["delta2"]]])
    explorer.next()  # gradients on the edges
    np.testing.assert_allclose(explorer.artist.edge_values,
                               np.concatenate([v["gW1"].ravel(), v["gW2"].ravel()]))
    explorer.next()
    assert explorer.index == 9 and explorer.next_button.disabled
    explorer.next()
    assert explorer.index == 9
    explorer.restart_button.click()
    assert explorer.index == 0 and not explorer.status.errors
    with pytest.raises(IndexError, match="there are 10"):
        explorer.go(10)


# ------------------------------------------------------------------ presenter mode
def test_presenter_mode_scales_everything(play, monkeypatch):
    with matplotlib.rc_context():  # the course style it sets is undone for later tests
        _presenter_mode_scales_everything(play, monkeypatch)


def _presenter_mode_scales_everything(play, monkeypatch):
    w0, h0 = play.host.fig.get_size_inches()
    try:
        assert live.presenter_mode(True) == presenter.PRESENTER_SCALE
        assert matplotlib.rcParams["font.size"] == pytest.approx(14 * 1.6)
        w1, h1 = play.host.fig.get_size_inches()
        assert (w1, h1) == pytest.approx((w0 * 1.6, h0 * 1.6))
        assert play.loss_title.get_fontsize() == pytest.approx(13 * 1.6)
        css = presenter.style_widget().value
        assert "<style>" in css and ".bp-live" in css and "font-size: 21px" in css
        assert play.hidden.style.description_width == "176px"
        assert not play.status.errors
    finally:
        live.presenter_mode(False)
    assert tuple(play.host.fig.get_size_inches()) == pytest.approx((w0, h0))
    assert presenter.style_widget().value == ""
    assert matplotlib.rcParams["font.size"] == pytest.approx(14)
    monkeypatch.setenv("BPCORE_PRESENT", "1")
    try:
        toggle = live.presenter_toggle()
        assert toggle.children[0].value is True and presenter.scale() == 1.6
        toggle.children[0].value = False
        assert presenter.scale() == 1.0
    finally:
        live.presenter_mode(False)
