"""The recurrent network: BPTT against finite differences and against an independent
scalar-loop implementation, weight sharing, shapes, clipping, and a task it learns."""
import math

import numpy as np
import pytest

from bpcore import Network, ShapeError
from bpcore.gradcheck import max_relative_error, numerical_gradient
from bpcore.rnn import (RNN, bptt_delta, check_rnn_gradients, clip_by_norm, delayed_echo, global_norm,
                        step_norms, train_rnn)


def _data(rng, rnn, N, T):
    X = rng.normal(size=(N, T, rnn.sizes[0]))
    shape = (N, T, rnn.sizes[2]) if rnn.mode == "many_to_many" else (N, rnn.sizes[2])
    Y = rng.random(shape) if rnn.g_out.name == "sigmoid" else rng.normal(size=shape)
    return X, Y


# ------------------------------------------------------------------ an independent reference
def _act(name, a):
    return {"tanh": math.tanh, "sigmoid": lambda v: 1 / (1 + math.exp(-v)), "identity": lambda v: v}[name](a)


def _dact(name, a):
    o = _act(name, a)
    return {"tanh": 1 - o * o, "sigmoid": o * (1 - o), "identity": 1.0}[name]


def loop_bptt(W_x, W_h, b, W_y, b_y, g, g_out, mode, X, Y):
    """BPTT one sequence, one node, one number at a time (no matrices): returns E, grads, deltas."""
    N, T, r0 = len(X), len(X[0]), len(X[0][0])
    r1, r2 = len(b), len(b_y)
    grads = {"W_x": [[0.0] * r1 for _ in range(r0)], "W_h": [[0.0] * r1 for _ in range(r1)], "b": [0.0] * r1,
             "W_y": [[0.0] * r2 for _ in range(r1)], "b_y": [0.0] * r2}
    E, deltas = 0.0, []
    for n in range(N):
        h = [[0.0] * r1]
        a = [None]
        for t in range(1, T + 1):
            a_t = [b[j] + sum(X[n][t - 1][i] * W_x[i][j] for i in range(r0))
                   + sum(h[t - 1][i] * W_h[i][j] for i in range(r1)) for j in range(r1)]
            a.append(a_t)
            h.append([_act(g, v) for v in a_t])
        steps = range(1, T + 1) if mode == "many_to_many" else [T]
        d_out = {}
        for t in steps:
            y = Y[n][t - 1] if mode == "many_to_many" else Y[n]
            for l in range(r2):
                a_o = b_y[l] + sum(h[t][j] * W_y[j][l] for j in range(r1))
                diff = _act(g_out, a_o) - y[l]
                E += 0.5 * diff * diff / N
                d_out.setdefault(t, [0.0] * r2)[l] = diff * _dact(g_out, a_o)
        delta = [None] * (T + 2)
        delta[T + 1] = [0.0] * r1
        for t in range(T, 0, -1):
            delta[t] = []
            for j in range(r1):
                s = sum(W_h[j][l] * delta[t + 1][l] for l in range(r1))
                if t in d_out:
                    s += sum(W_y[j][l] * d_out[t][l] for l in range(r2))
                delta[t].append(_dact(g, a[t][j]) * s)
        for t in range(1, T + 1):
            for j in range(r1):
                grads["b"][j] += delta[t][j] / N
                for i in range(r0):
                    grads["W_x"][i][j] += X[n][t - 1][i] * delta[t][j] / N
                for i in range(r1):
                    grads["W_h"][i][j] += h[t - 1][i] * delta[t][j] / N
            if t in d_out:
                for l in range(r2):
                    grads["b_y"][l] += d_out[t][l] / N
                    for j in range(r1):
                        grads["W_y"][j][l] += h[t][j] * d_out[t][l] / N
        deltas.append(delta[1:T + 1])
    return E, grads, deltas


@pytest.mark.parametrize("mode", ["many_to_many", "many_to_one"])
@pytest.mark.parametrize("g,g_out", [("tanh", "sigmoid"), ("sigmoid", "identity"), ("tanh", "tanh")])
def test_bptt_matches_scalar_loop_reference(mode, g, g_out):
    rng = np.random.default_rng(5)
    rnn = RNN([2, 3, 2], g=g, g_out=g_out, mode=mode, rho=1.1, seed=4)
    rnn.b[:] = rng.normal(size=3)
    rnn.b_y[:] = rng.normal(size=2)
    X, Y = _data(rng, rnn, 3, 4)
    E = rnn.E(X, Y)
    grads = rnn.backward(Y)
    E_ref, g_ref, d_ref = loop_bptt(*(p.tolist() for p in rnn.params), g, g_out, mode, X.tolist(), Y.tolist())
    assert E == pytest.approx(E_ref, rel=1e-12)
    for name in rnn.param_names:
        np.testing.assert_allclose(grads[name], np.array(g_ref[name]), rtol=1e-10, atol=1e-14, err_msg=name)
    for t in range(1, 5):
        np.testing.assert_allclose(rnn.delta[t], np.array([d[t - 1] for d in d_ref]), rtol=1e-10, atol=1e-14)


# ------------------------------------------------------------------ finite differences
def test_gradients_agree_with_central_differences_on_random_configs():
    """Random small configurations: T 1..6, N 1..4, tanh/sigmoid hidden, three outputs, both
    modes, recurrent radius 0.3..1.5: every parameter's gradient within 1e-7 (order 4, h = 1e-3)."""
    rng = np.random.default_rng(2025)
    covered = set()
    for trial in range(40):
        T, N = int(rng.integers(1, 7)), int(rng.integers(1, 5))
        sizes = [int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 3))]
        g = str(rng.choice(["tanh", "sigmoid"]))
        g_out = str(rng.choice(["sigmoid", "identity", "tanh"]))
        mode = str(rng.choice(["many_to_many", "many_to_one"]))
        rnn = RNN(sizes, g=g, g_out=g_out, mode=mode, rho=float(rng.uniform(0.3, 1.5)), seed=trial)
        rnn.b[:] = rng.normal(scale=0.5, size=sizes[1])
        X, Y = _data(rng, rnn, N, T)
        report = check_rnn_gradients(rnn, X, Y, h=1e-3, tol=1e-7, order=4)
        assert report.ok, f"trial {trial}: {sizes}, T={T}, N={N}, {g}/{g_out}, {mode}\n{report}"
        covered.add((g, mode, T > 1))
    assert {(g, m, True) for g in ("tanh", "sigmoid") for m in ("many_to_many", "many_to_one")} <= covered


def test_check_detects_a_planted_wrong_gradient():
    """Truncated BPTT (the recurrent term delta_{t+1} W_h^T left out) is a wrong gradient: the
    check must say which parameters are wrong, and only those."""
    rng = np.random.default_rng(1)
    rnn = RNN([2, 4, 1], g="tanh", g_out="identity", mode="many_to_many", rho=1.0, seed=1)
    X, Y = _data(rng, rnn, 3, 5)
    rnn.forward(X)
    rnn.backward(Y)
    N, T = 3, 5
    wrong = {n: np.zeros_like(p) for n, p in zip(rnn.param_names, rnn.params)}
    for t in range(1, T + 1):
        d = bptt_delta(np.zeros((N, 4)), rnn.W_h, rnn.delta_out[t], rnn.W_y, rnn.a[t], "tanh")
        wrong["W_x"] += X[:, t - 1].T @ d / N
        wrong["W_h"] += rnn.h[t - 1].T @ d / N
        wrong["b"] += d.sum(axis=0) / N
        wrong["W_y"] += rnn.h[t].T @ rnn.delta_out[t] / N
        wrong["b_y"] += rnn.delta_out[t].sum(axis=0) / N
    report = check_rnn_gradients(rnn, X, Y, grads=wrong)
    assert not report.ok
    assert {c.name for c in report.failures} == {"W_x", "W_h", "b"}
    assert min(c.max_rel_error for c in report.failures) > 1e-3
    with pytest.raises(AssertionError, match="gradient check failed"):
        report.assert_ok()
    # a wrong sign on W_y alone is caught too
    right = rnn.gradient(X, Y)
    right[3] = -right[3]
    assert {c.name for c in check_rnn_gradients(rnn, X, Y, grads=right).failures} == {"W_y"}


@pytest.mark.parametrize("mode", ["many_to_many", "many_to_one"])
def test_deltas_are_dE_da_via_the_probe(mode):
    """delta_t = dE_n/da_t for each sequence: E averages over N, so dE/dprobe = delta / N."""
    rng = np.random.default_rng(3)
    rnn = RNN([1, 3, 2], g="sigmoid", g_out="sigmoid", mode=mode, rho=1.5, seed=3)
    X, Y = _data(rng, rnn, 4, 6)
    rnn.forward(X)
    rnn.backward(Y)
    delta = np.stack(rnn.delta[1:], axis=1)
    num = numerical_gradient(lambda p: rnn.E(X, Y, probe=p), np.zeros((4, 6, 3)), h=1e-3, order=4) * 4
    err, _ = max_relative_error(delta, num)
    assert err < 1e-7, err


def test_weight_sharing_sum_over_untied_copies():
    """Give every step its own copy of W_h: the gradient of each copy is h_{t-1}^T delta_t / N,
    and the shared W_h's gradient is their sum."""
    rng = np.random.default_rng(8)
    rnn = RNN([2, 3, 1], g="tanh", g_out="identity", rho=1.2, seed=8)
    X, Y = _data(rng, rnn, 2, 4)
    grads = rnn.gradient(X, Y)

    def E_untied(copies):
        h = np.zeros((2, 3))
        E = 0.0
        for t in range(4):
            h = np.tanh(X[:, t] @ rnn.W_x + h @ copies[t] + rnn.b)
            E += 0.5 * np.sum((h @ rnn.W_y + rnn.b_y - Y[:, t]) ** 2) / 2
        return E

    copies = np.stack([rnn.W_h.copy() for _ in range(4)])
    num = numerical_gradient(E_untied, copies, h=1e-3, order=4)
    rnn.forward(X)
    rnn.backward(Y)
    for t in range(1, 5):
        np.testing.assert_allclose(num[t - 1], rnn.h[t - 1].T @ rnn.delta[t] / 2, rtol=1e-7, atol=1e-11)
    np.testing.assert_allclose(num.sum(axis=0), grads[1], rtol=1e-7, atol=1e-11)
    assert np.allclose(num[0], 0)  # h_0 = 0: the first copy gets no gradient


def test_one_step_is_the_static_two_layer_network():
    """With T = 1 and h_0 = 0, W_h does nothing and the RNN is the static network [r_0, r_1, r_2]."""
    rng = np.random.default_rng(0)
    rnn = RNN([3, 4, 2], g="sigmoid", g_out="sigmoid", mode="many_to_one", seed=2)
    rnn.b[:] = rng.normal(size=4)
    net = Network([3, 4, 2], g="sigmoid", g_out="sigmoid", loss="mse")
    net.set_params([rnn.W_x, rnn.b, rnn.W_y, rnn.b_y])
    X, Y = rng.normal(size=(5, 3)), rng.random((5, 2))
    assert rnn.E(X[:, None], Y) == pytest.approx(net.E(X, Y), rel=1e-14)
    grads = rnn.backward(Y)
    dW, db = net.backward(Y)
    for mine, theirs in [(grads["W_x"], dW[1]), (grads["b"], db[1]), (grads["W_y"], dW[2]), (grads["b_y"], db[2])]:
        np.testing.assert_allclose(mine, theirs, rtol=1e-12)
    assert np.all(grads["W_h"] == 0)
    np.testing.assert_allclose(rnn.delta[1], net.delta[1], rtol=1e-12)


def test_float32_runs_in_float32():
    rnn = RNN([2, 3, 1], dtype=np.float32, seed=0)
    X, Y = delayed_echo(4, 5, 1)
    X = np.concatenate([X, X], axis=2)
    grads = rnn.gradient(X, Y)
    assert all(g.dtype == np.float32 for g in grads)
    ref = RNN([2, 3, 1], seed=0).gradient(X, Y)
    for a, b in zip(grads, ref):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


# ------------------------------------------------------------------ shapes and parameters
def test_shape_errors_say_what_was_expected_and_received():
    rnn = RNN([1, 3, 1], seed=0)
    with pytest.raises(ShapeError, match=r"expected X of shape \(N, T, 1\).*got \(4, 6\).*X\[\.\.\., None\]"):
        rnn.forward(np.zeros((4, 6)))
    with pytest.raises(ShapeError, match=r"expected X of shape \(N, T, 1\).*got \(4, 6, 2\)"):
        rnn.forward(np.zeros((4, 6, 2)))
    two = RNN([2, 3, 1], seed=0)
    with pytest.raises(ShapeError, match=r"one sequence\? use X\[None\]"):
        two.forward(np.zeros((6, 2)))
    rnn.forward(np.zeros((4, 6, 1)))
    with pytest.raises(ShapeError, match=r"expected Y of shape \(4, 6, 1\).*got \(4, 6\).*Y\[\.\.\., None\]"):
        rnn.backward(np.zeros((4, 6)))
    with pytest.raises(ShapeError, match=r"a target at every step"):
        rnn.backward(np.zeros((4, 1)))
    last = RNN([1, 3, 1], mode="many_to_one", seed=0)
    last.forward(np.zeros((4, 6, 1)))
    with pytest.raises(ShapeError, match=r"expected Y of shape \(4, 1\).*got \(4, 6, 1\).*Y\[:, -1\]"):
        last.backward(np.zeros((4, 6, 1)))
    with pytest.raises(ShapeError, match=r"probe: expected shape \(4, 6, 3\)"):
        rnn.forward(np.zeros((4, 6, 1)), probe=np.zeros((4, 6)))
    with pytest.raises(ShapeError, match=r"W_h: expected shape \(3, 3\), got \(3, 2\)"):
        rnn.set_params([rnn.W_x, np.zeros((3, 2)), rnn.b, rnn.W_y, rnn.b_y])
    rnn.W_h = np.zeros((2, 3))
    with pytest.raises(ShapeError, match=r"W_h: expected shape \(3, 3\).*got \(2, 3\)"):
        rnn.forward(np.zeros((4, 6, 1)))
    with pytest.raises(RuntimeError, match="forward"):
        RNN([1, 3, 1]).backward(np.zeros((4, 6, 1)))
    with pytest.raises(ValueError, match="unknown mode"):
        RNN([1, 3, 1], mode="seq2seq")
    with pytest.raises(ValueError, match=r"\[r_0, r_1, r_2\]"):
        RNN([1, 3, 3, 1])


def test_parameters_round_trip_and_rho():
    rnn = RNN([2, 5, 3], rho=0.7, seed=3)
    assert rnn.num_params == 2 * 5 + 5 * 5 + 5 + 5 * 3 + 3
    assert np.max(np.abs(np.linalg.eigvals(rnn.W_h))) == pytest.approx(0.7)
    twin = rnn.copy()
    twin.W_h[0, 0] += 1
    assert rnn.W_h[0, 0] != twin.W_h[0, 0]
    theta = rnn.get_params()
    twin.set_params(theta)
    np.testing.assert_array_equal(twin.get_params(), theta)
    twin.set_params({n: p * 0 for n, p in zip(rnn.param_names, rnn.params)})
    assert not twin.get_params().any()
    assert RNN([2, 5, 3], rho=0.7, seed=3).get_params().tolist() == theta.tolist()


def test_step_norms_show_vanishing_and_exploding():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(32, 30, 1)), rng.random((32, 1))
    norms = {}
    for rho in (0.5, 3.0):
        rnn = RNN([1, 32, 1], g="tanh", g_out="identity", mode="many_to_one", rho=rho, seed=0)
        rnn.forward(X)
        rnn.backward(Y)
        norms[rho] = rnn.step_norms
        np.testing.assert_allclose(norms[rho], step_norms(rnn.delta))
        assert norms[rho].shape == (30,)
    assert norms[0.5][0] / norms[0.5][-1] < 1e-6       # vanishes going back 29 steps
    assert norms[3.0][0] / norms[3.0][-1] > 1e2        # explodes


# ------------------------------------------------------------------ clipping and training
def test_clipping_limits_the_norm_and_keeps_the_direction():
    rng = np.random.default_rng(0)
    grads = {"W_x": rng.normal(size=(2, 3)) * 50, "W_h": rng.normal(size=(3, 3)) * 50, "b": rng.normal(size=3)}
    clipped, norm = clip_by_norm(grads, 1.0)
    assert norm == pytest.approx(global_norm(grads)) and norm > 1
    assert global_norm(clipped) == pytest.approx(1.0)
    flat = np.concatenate([g.ravel() for g in grads.values()])
    flat_c = np.concatenate([g.ravel() for g in clipped.values()])
    assert flat @ flat_c / (np.linalg.norm(flat) * np.linalg.norm(flat_c)) == pytest.approx(1.0)
    assert np.abs(grads["W_x"]).max() > 10  # the input was not changed in place
    small = [g / (10 * norm) for g in grads.values()]
    same, n_small = clip_by_norm(small, 1.0)
    assert n_small < 1 and all(np.array_equal(a, b) for a, b in zip(same, small))
    with pytest.raises(ValueError, match="max_norm"):
        clip_by_norm(grads, 0)


def test_training_with_clipping_takes_bounded_steps_and_survives_exploding_gradients():
    X, Y = delayed_echo(64, 20, 3, seed=0)
    runs = {}
    for clip in (None, 1.0):
        rnn = RNN([1, 16, 1], g="tanh", g_out="sigmoid", rho=3.0, seed=0)
        before = rnn.get_params()
        hist = train_rnn(rnn, X, Y, lr=0.5, epochs=1, clip=clip)
        runs[clip] = (np.linalg.norm(rnn.get_params() - before), hist.grad_norm[0])
    assert runs[None][1] > 100                       # the first gradient explodes ...
    assert runs[None][0] == pytest.approx(0.5 * runs[None][1])
    assert runs[1.0][0] == pytest.approx(0.5 * 1.0)  # ... the clipped step is lr * max_norm long


def test_learns_the_delayed_echo():
    X, Y = delayed_echo(64, 10, 2, seed=0)
    X_test, Y_test = delayed_echo(200, 10, 2, seed=1)
    rnn = RNN([1, 8, 1], g="tanh", g_out="sigmoid", rho=0.9, seed=0)
    hist = train_rnn(rnn, X, Y, lr=1.0, epochs=200)
    assert not hist.diverged and hist.loss[-1] < hist.loss[0] / 20
    assert hist.accuracy[-1] == 1.0
    assert np.mean((rnn.predict(X_test) > 0.5) == (Y_test > 0.5)) == 1.0
    assert len(hist.grad_norm) == 200


def test_minibatches_and_divergence():
    X, Y = delayed_echo(20, 6, 1, seed=0)
    rnn = RNN([1, 4, 1], seed=0)
    hist = train_rnn(rnn, X, Y, lr=0.5, epochs=3, batch_size=8)
    assert len(hist.grad_norm) == 3 * 3 and hist.epochs == 3
    wild = RNN([1, 4, 1], g_out="identity", rho=1.0, seed=0)
    theta = None

    def remember(epoch, h, net):
        nonlocal theta
        theta = net.get_params()

    hist = train_rnn(wild, X * 100, Y * 1e3, lr=1e3, epochs=50, callback=remember)
    assert hist.diverged and "diverged at epoch" in hist.message
    assert np.all(np.isfinite(wild.get_params()))
    with pytest.raises(ValueError, match="learning rate"):
        train_rnn(rnn, X, Y, lr=0)


def test_delayed_echo_targets():
    X, Y = delayed_echo(5, 8, 3, seed=2)
    assert X.shape == Y.shape == (5, 8, 1)
    np.testing.assert_array_equal(Y[:, 3:], X[:, :5])
    assert not Y[:, :3].any()
    with pytest.raises(ValueError, match="delay"):
        delayed_echo(5, 8, 8)
