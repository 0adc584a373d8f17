"""The gradient checker must pass right gradients and, above all, fail wrong ones."""
import numpy as np
import pytest

from bpcore import Network, check_gradients, directional_check, numerical_gradient, relative_error
from bpcore.gradcheck import forward_difference_gradient, max_relative_error


def _case(seed=0, g="tanh", g_out="sigmoid", loss="mse"):
    rng = np.random.default_rng(seed)
    net = Network([3, 4, 3, 2], g=g, g_out=g_out, loss=loss, seed=seed)
    X = rng.normal(size=(5, 3))
    Y = rng.random((5, 2))
    return net, X, Y


def test_numerical_gradient_known_function_and_restores_x():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    f = lambda v: float(np.sum(v ** 3) + v[0, 1] * v[1, 0])  # noqa: E731
    expected = 3 * x ** 2 + np.array([[0, 0.5], [-2.0, 0]])
    np.testing.assert_allclose(numerical_gradient(f, x), expected, rtol=1e-8)
    np.testing.assert_allclose(numerical_gradient(f, x, h=1e-3, order=4), expected, rtol=1e-11)
    np.testing.assert_array_equal(x, before)
    # forward differences are first-order: visibly worse than central ones at the same h
    fwd = forward_difference_gradient(f, x, h=1e-4)
    cen = numerical_gradient(f, x, h=1e-4)
    assert np.abs(fwd - expected).max() > 100 * np.abs(cen - expected).max()
    with pytest.raises(TypeError, match="float"):
        numerical_gradient(f, np.array([1, 2]))


def test_relative_error_definition():
    assert relative_error(1.0, 1.0) == 0
    assert relative_error(2.0, 1.0) == pytest.approx(0.5)
    assert relative_error(-1.0, 1.0) == pytest.approx(2.0)
    assert relative_error(0.0, 0.0) == 0  # the floor avoids 0/0
    assert relative_error(1e-12, 0.0, floor=1e-5) == pytest.approx(1e-7)
    err, where = max_relative_error(np.array([[1.0, 1.0], [1.0, 3.0]]), np.array([[1.0, 1.0], [1.0, 1.0]]))
    assert where == (1, 1) and err == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="equal shapes"):
        relative_error(np.zeros(2), np.zeros(3))


def test_correct_gradient_passes():
    net, X, Y = _case()
    report = check_gradients(net, X, Y)
    assert report.ok and report.max_rel_error < 1e-7 and len(report.checks) == 6
    assert "all gradients agree" in str(report)
    assert directional_check(net, X, Y).ok


MUTANTS = {
    # name: how a plausible bug changes the list [dW1, db1, dW2, db2, dW3, db3]
    "sign flipped in dW2": lambda g: [g[0], g[1], -g[2], g[3], g[4], g[5]],
    "sum instead of mean (x N)": lambda g: [5 * x for x in g],
    "bias gradient forgotten": lambda g: [g[0], np.zeros_like(g[1]), g[2], g[3], g[4], g[5]],
    "one element off by 1e-4": lambda g: [g[0] + np.pad([[1e-4]], ((0, 2), (0, 3))), *g[1:]],
    "rows of dW3 swapped": lambda g: [*g[:4], g[4][::-1], g[5]],
}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_wrong_gradients_fail_and_are_located(name):
    net, X, Y = _case()
    good = net.gradient(X, Y)
    bad = MUTANTS[name]([x.copy() for x in good])
    report = check_gradients(net, X, Y, grads=bad)
    assert not report.ok, f"checker accepted a wrong gradient ({name})"
    changed = {net.param_names[i] for i, (a, b) in enumerate(zip(good, bad)) if not np.array_equal(a, b)}
    assert {c.name for c in report.failures} == changed
    with pytest.raises(AssertionError, match="gradient check failed for"):
        report.assert_ok()
    assert not directional_check(net, X, Y, grads=bad).ok


def test_wrong_backprop_equation_fails():
    """A bug inside backward (g'(a) factor missing in the hidden delta) is caught."""
    import bpcore.network as network_module
    net, X, Y = _case(g="sigmoid")
    original = network_module.hidden_delta
    try:
        network_module.hidden_delta = lambda d, W, A, g, O=None: d @ W.T  # no g'(A)
        report = check_gradients(net, X, Y)
    finally:
        network_module.hidden_delta = original
    assert not report.ok
    assert {c.name for c in report.failures} == {"W[1]", "b[1]", "W[2]", "b[2]"}
    assert check_gradients(net, X, Y).ok


def test_directional_check_is_cheap_and_catches_bugs_on_a_big_net():
    rng = np.random.default_rng(1)
    net = Network([64, 128, 64, 10], g="relu", g_out="softmax", loss="cross_entropy",
                  init="he", seed=1)
    X = rng.normal(size=(16, 64))
    Y = np.eye(10)[rng.integers(0, 10, 16)]
    res = directional_check(net, X, Y)
    assert res.ok and res.forward_passes == 3 and res.rel_error < 1e-6
    bad = net.gradient(X, Y)
    bad[2] = bad[2] * 1.01  # 1% error in W[2]
    assert not directional_check(net, X, Y, grads=bad).ok


def test_kinks_are_reported():
    net = Network([2, 3, 1], g="relu", g_out="identity", init="normal", seed=0)
    X = np.zeros((2, 2))  # biases are 0 with this init: every hidden a is exactly 0
    report = check_gradients(net, X, np.ones((2, 1)))
    assert report.kinks == 6
    assert "kink" in str(report)
