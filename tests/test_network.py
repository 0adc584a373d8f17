"""The network: forward/backward against an independent loop implementation and
against finite differences, shapes, parameters, errors."""
import numpy as np
import pytest

from bpcore import Network, ShapeError, check_gradients
from bpcore.gradcheck import count_kinks

from reference import loop_backprop


@pytest.mark.parametrize("sizes,g,g_out", [
    ([2, 2, 1], "sigmoid", "sigmoid"),
    ([3, 4, 2], "tanh", "identity"),
    ([2, 3, 3, 2], "relu", "sigmoid"),
    ([4, 5, 3, 2, 3], "identity", "tanh"),
])
def test_backward_matches_loop_reference(sizes, g, g_out):
    rng = np.random.default_rng(sum(sizes))
    net = Network(sizes, g=g, g_out=g_out, loss="mse", seed=3)
    X = rng.normal(size=(6, sizes[0]))
    Y = rng.normal(size=(6, sizes[-1]))
    E = net.E(X, Y)
    dW, db = net.backward(Y)
    E_ref, dW_ref, db_ref = loop_backprop(net.W, net.b, g, g_out, X.tolist(), Y.tolist())
    assert E == pytest.approx(E_ref, rel=1e-12)
    for k in range(1, net.m + 1):
        np.testing.assert_allclose(dW[k], np.array(dW_ref[k]), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(db[k], np.array(db_ref[k]), rtol=1e-10, atol=1e-14)


def _random_case(rng, trial):
    hidden = int(rng.integers(1, 5))
    sizes = [int(rng.integers(1, 6)) for _ in range(hidden + 2)]
    g = str(rng.choice(["sigmoid", "tanh", "relu", "identity"]))
    loss = str(rng.choice(["mse", "cross_entropy"]))
    if loss == "cross_entropy":
        g_out = str(rng.choice(["softmax", "sigmoid"]))
    else:
        g_out = str(rng.choice(["sigmoid", "tanh", "identity", "softmax", "relu"]))
    N = int(rng.choice([1, 2, 7]))
    net = Network(sizes, g=g, g_out=g_out, loss=loss, init="uniform", seed=trial)
    X = rng.normal(size=(N, sizes[0]))
    if g_out == "softmax":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], N)]
    elif loss == "cross_entropy":
        Y = (rng.random((N, sizes[-1])) > 0.5).astype(float)
    else:
        Y = rng.normal(size=(N, sizes[-1]))
    return net, X, Y


def test_backward_agrees_with_numerical_gradient_random_architectures():
    """Property: for random nets (1-4 hidden layers, every activation, both losses,
    batch sizes 1, 2 and 7), backprop and finite differences agree to 1e-7."""
    rng = np.random.default_rng(2024)
    checked, covered = 0, set()
    trial = 0
    while checked < 120:
        trial += 1
        net, X, Y = _random_case(rng, trial)
        if count_kinks(net, X, 2e-3):
            continue  # a ReLU within 2h of 0: finite differences straddle the kink
        report = check_gradients(net, X, Y)
        assert report.ok, f"{net}\nN={len(X)}\n{report}"
        assert report.max_rel_error < 1e-7
        checked += 1
        covered.add((net.g.name, net.g_out.name, net.loss.name, len(X) > 1, net.m - 1))
    hidden_acts = {c[0] for c in covered}
    assert hidden_acts == {"sigmoid", "tanh", "relu", "identity"}
    assert {c[2] for c in covered} == {"mse", "cross_entropy"}
    assert {c[4] for c in covered} == {1, 2, 3, 4}
    assert {c[3] for c in covered} == {True, False}


def test_forward_keeps_every_layer_with_documented_shapes():
    net = Network([3, 5, 4, 2], g="tanh", g_out="softmax", loss="cross_entropy", seed=1)
    X = np.random.default_rng(0).normal(size=(7, 3))
    Y_hat = net.forward(X)
    assert net.a[0] is None and net.o[0] is not None
    np.testing.assert_array_equal(net.o[0], X)
    for k in range(1, 4):
        assert net.W[k].shape == (net.sizes[k - 1], net.sizes[k])
        assert net.b[k].shape == (net.sizes[k],)
        assert net.a[k].shape == net.o[k].shape == (7, net.sizes[k])
        np.testing.assert_allclose(net.a[k], net.o[k - 1] @ net.W[k] + net.b[k])
    np.testing.assert_allclose(net.o[1], np.tanh(net.a[1]))
    np.testing.assert_allclose(Y_hat.sum(axis=1), 1.0)
    dW, db = net.backward(np.eye(2)[[0, 1, 1, 0, 0, 1, 0]])
    assert net.delta[0] is None and dW[0] is None and db[0] is None
    for k in range(1, 4):
        assert net.delta[k].shape == (7, net.sizes[k])
        assert dW[k].shape == net.W[k].shape and db[k].shape == net.b[k].shape


def test_weight_index_convention():
    """W[k][i, j] is the weight from node i of layer k-1 to node j of layer k."""
    net = Network([2, 3, 1], g="identity", g_out="identity", seed=0)
    for k in (1, 2):
        net.W[k][...] = 0.0
        net.b[k][...] = 0.0
    net.W[1][1, 2] = 5.0  # from input node 1 to hidden node 2
    net.forward(np.array([[0.0, 1.0]]))
    np.testing.assert_array_equal(net.a[1], [[0.0, 0.0, 5.0]])


def test_seed_reproducible_and_inits():
    a, b = Network([4, 8, 3], seed=7), Network([4, 8, 3], seed=7)
    np.testing.assert_array_equal(a.get_params(), b.get_params())
    assert not np.array_equal(a.get_params(), Network([4, 8, 3], seed=8).get_params())
    u = Network([50, 60, 1], init="uniform", seed=0)
    assert u.W[1].min() >= -1 and u.W[1].max() <= 1 and u.W[1].min() < -0.9 and u.W[1].max() > 0.9
    n = Network([400, 300, 1], init="normal", seed=0)
    assert n.W[1].std() == pytest.approx(np.sqrt(1 / 400), rel=0.02)
    assert not n.b[1].any()
    he = Network([400, 300, 1], init="he", seed=0)
    assert he.W[1].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    with pytest.raises(ValueError, match="uniform"):
        Network([2, 1], init="zeros")


def test_params_get_set_roundtrip_and_shape_errors():
    net = Network([2, 3, 1], seed=0)
    assert net.param_names == ["W[1]", "b[1]", "W[2]", "b[2]"]
    assert net.num_params == 2 * 3 + 3 + 3 * 1 + 1
    theta = net.get_params()
    net.set_params(np.arange(net.num_params, dtype=float))
    np.testing.assert_array_equal(net.W[1].ravel(), np.arange(6))
    np.testing.assert_array_equal(net.b[2], [12])
    net.set_params(theta)
    np.testing.assert_array_equal(net.get_params(), theta)
    # the list returned by params holds the live arrays
    net.params[0][0, 0] = 42.0
    assert net.W[1][0, 0] == 42.0
    with pytest.raises(ShapeError, match=r"W\[2\]: expected shape \(3, 1\), got \(1, 3\)"):
        net.set_params([net.W[1], net.b[1], np.zeros((1, 3)), net.b[2]])
    with pytest.raises(ShapeError, match=r"\(13,\).*\(12,\)"):
        net.set_params(np.zeros(12))
    twin = net.copy()
    twin.W[1][...] = 0
    assert net.W[1][0, 0] == 42.0


def test_shape_errors_name_layer_expected_and_received():
    net = Network([2, 3, 1], seed=0)
    with pytest.raises(ShapeError, match=r"layer 0 \(input\): expected X of shape \(N, 2\), got \(4, 3\)"):
        net.forward(np.zeros((4, 3)))
    with pytest.raises(ShapeError, match=r"X\[None, :\]"):
        net.forward(np.zeros(2))
    net.forward(np.zeros((4, 2)))
    with pytest.raises(ShapeError, match=r"layer 2 \(output\): expected Y of shape \(4, 1\).*got \(4,\).*reshape"):
        net.backward(np.zeros(4))
    net.W[2] = np.zeros((1, 3))  # a transposed weight matrix set by hand
    with pytest.raises(ShapeError, match=r"layer 2: expected W\[2\] of shape \(3, 1\).*got W\[2\] \(1, 3\)"):
        net.forward(np.zeros((4, 2)))
    net = Network([2, 3, 1], seed=0)
    net.b[1] = np.zeros((3, 1))  # would broadcast silently to the wrong shape
    with pytest.raises(ShapeError, match=r"b\[1\] of shape \(3,\)"):
        net.forward(np.zeros((3, 2)))
    with pytest.raises(RuntimeError, match="forward"):
        Network([2, 1]).backward(np.zeros((1, 1)))
    with pytest.raises(ValueError, match="at least 2 layers"):
        Network([3])


def test_float32_allowed_float64_default():
    X = np.random.default_rng(0).normal(size=(5, 3))
    n64 = Network([3, 4, 2], seed=0)
    n32 = Network([3, 4, 2], seed=0, dtype=np.float32)
    assert n64.W[1].dtype == np.float64 and n32.W[1].dtype == np.float32
    y32 = n32.forward(X)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, n64.forward(X), rtol=1e-5)
    Y = np.ones((5, 2))
    n32.forward(X)
    dW32, _ = n32.backward(Y)
    n64.forward(X)
    dW64, _ = n64.backward(Y)
    assert dW32[1].dtype == np.float32
    np.testing.assert_allclose(dW32[1], dW64[1], rtol=1e-4, atol=1e-6)
    with pytest.raises(TypeError, match="float"):
        Network([2, 1], dtype=np.int32)


def test_predict_does_not_disturb_backward_state():
    net = Network([2, 3, 1], seed=0)
    X = np.array([[0.0, 1.0], [1.0, 1.0]])
    net.forward(X)
    a1 = net.a[1].copy()
    net.predict(np.zeros((5, 2)))
    np.testing.assert_array_equal(net.a[1], a1)
