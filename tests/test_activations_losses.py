"""Activations and losses against independent formulas and finite differences."""
import warnings

import numpy as np
import pytest

from bpcore.activations import ACTIVATIONS, get_activation, sigmoid, softmax
from bpcore.gradcheck import numerical_gradient
from bpcore.losses import cross_entropy, get_loss, mse

SMOOTH = ["sigmoid", "tanh", "identity"]
rng = np.random.default_rng(42)


@pytest.mark.parametrize("name", SMOOTH + ["relu"])
def test_derivative_matches_finite_differences(name):
    g = get_activation(name)
    a = rng.normal(scale=2.0, size=(5, 4))
    if name == "relu":
        a[np.abs(a) < 1e-2] = 0.5  # keep away from the kink
    # derivative of sum(g(a)) w.r.t. each a_ij is g'(a_ij)
    num = numerical_gradient(lambda x: float(np.sum(g.g(x))), a.copy(), h=1e-6)
    np.testing.assert_allclose(g.deriv(a), num, rtol=1e-7, atol=1e-9)
    # passing o = g(a) must give the same derivative
    np.testing.assert_allclose(g.deriv(a, g.g(a)), g.deriv(a), rtol=1e-12)


def test_formulas_against_textbook_forms():
    a = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(sigmoid.g(a), 1 / (1 + np.exp(-a)), rtol=1e-14)
    np.testing.assert_allclose(get_activation("tanh").deriv(a), 1 / np.cosh(a) ** 2, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(get_activation("relu").g(a), np.where(a > 0, a, 0))
    np.testing.assert_array_equal(get_activation("relu").deriv(a), (a > 0).astype(float))
    np.testing.assert_array_equal(get_activation("step").g(a), (a >= 0).astype(float))
    assert not get_activation("step").deriv(a).any(), "the step function passes no gradient"


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_stable_for_large_inputs(name):
    g = get_activation(name)
    a = np.array([[-1e3, -50.0, 0.0, 50.0, 1e3]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        o = g.g(a)
        d = g.vjp(a, o, np.ones_like(a))
    assert np.all(np.isfinite(o)) and np.all(np.isfinite(d))
    if name == "sigmoid":
        assert o[0, 0] == 0.0 and o[0, -1] == 1.0 and o[0, 2] == 0.5
    if name == "softmax":
        assert o[0, -1] == 1.0 and abs(o.sum() - 1) < 1e-15


def test_softmax_vjp_is_jacobian_product():
    a = rng.normal(size=(3, 4))
    o = softmax.g(a)
    u = rng.normal(size=(3, 4))
    for n in range(3):
        J = np.diag(o[n]) - np.outer(o[n], o[n])  # J[j, l] = d o_j / d a_l
        np.testing.assert_allclose(softmax.vjp(a[n:n+1], o[n:n+1], u[n:n+1])[0], u[n] @ J, rtol=1e-12)
    with pytest.raises(TypeError, match="Jacobian"):
        softmax.deriv(a)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError) as e:
        get_activation("swish")
    for name in ("sigmoid", "tanh", "relu", "identity", "softmax"):
        assert name in str(e.value)
    with pytest.raises(ValueError, match="cross_entropy.*mse|mse"):
        get_loss("hinge")


def test_mse_value_and_delta():
    Y_hat = np.array([[0.2, 0.9], [0.4, 0.1], [1.0, 0.0]])
    Y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    # 1/2 sum of squares per row, then the mean over 3 rows, written out by hand
    per_row = [0.5 * (0.2**2 + 0.1**2), 0.5 * (0.6**2 + 0.1**2), 0.5 * (0.0 + 1.0)]
    assert mse.E(Y_hat, Y) == pytest.approx(sum(per_row) / 3, rel=1e-14)
    A = rng.normal(size=(3, 2))
    np.testing.assert_allclose(mse.output_delta(A, Y_hat, Y, "identity"), Y_hat - Y)
    s = sigmoid.g(A)
    np.testing.assert_allclose(mse.output_delta(A, s, Y, "sigmoid"), (s - Y) * s * (1 - s))


def test_cross_entropy_value_delta_and_stability():
    A = rng.normal(size=(4, 3))
    Y = np.eye(3)[[0, 2, 1, 2]]
    P = softmax.g(A)
    expected = -np.mean([np.log(P[n, c]) for n, c in enumerate([0, 2, 1, 2])])
    assert cross_entropy.E(P, Y) == pytest.approx(expected, rel=1e-12)
    assert cross_entropy.E(P, Y, A, "softmax") == pytest.approx(expected, rel=1e-12)
    # delta^m = Y_hat - Y equals the numerical gradient of N * E w.r.t. A
    num = numerical_gradient(lambda a: 4 * cross_entropy.E(softmax.g(a), Y, a, "softmax"), A.copy(), h=1e-6)
    np.testing.assert_allclose(cross_entropy.output_delta(A, P, Y, "softmax"), num, rtol=1e-6, atol=1e-9)
    # binary with a sigmoid output, from logits: finite even where sigma rounds to 0 or 1
    a = np.array([[-1e3], [0.0], [1e3]])
    y = np.array([[1.0], [1.0], [1.0]])
    E = cross_entropy.E(sigmoid.g(a), y, a, "sigmoid")
    assert E == pytest.approx((1e3 + np.log(2)) / 3, rel=1e-12)
    with pytest.raises(ValueError, match="softmax or sigmoid"):
        cross_entropy.output_delta(A, P, Y, "tanh")
