"""Convolution layers: forward against a naive loop over every output position, backward
against central differences, clear shape errors, and a gradient check that catches a
planted wrong gradient. Also the tiny ConvNet: its gradient, and that it learns digits."""
import numpy as np
import pytest

from bpcore import ShapeError, check_gradients, directional_check, numerical_gradient, relative_error, train
from bpcore.conv import (ConvNet, conv1d_backward, conv1d_forward, conv2d_backward, conv2d_forward,
                         full_correlation)
from bpcore.datasets import load_digits, one_hot, train_test_split


# ------------------------------------------------------------------ independent naive versions
def naive_conv1d(X, K, b):
    """Explicit loops over every example, output channel and output position."""
    N, C_in, L = X.shape
    C_out, _, k = K.shape
    out = np.zeros((N, C_out, L - k + 1))
    for n in range(N):
        for o in range(C_out):
            for p in range(L - k + 1):
                total = b[o]
                for c in range(C_in):
                    for i in range(k):
                        total += K[o, c, i] * X[n, c, p + i]
                out[n, o, p] = total
    return out


def naive_conv2d(X, K, b):
    N, C_in, H, W = X.shape
    C_out, _, kh, kw = K.shape
    out = np.zeros((N, C_out, H - kh + 1, W - kw + 1))
    for n in range(N):
        for o in range(C_out):
            for p in range(H - kh + 1):
                for q in range(W - kw + 1):
                    # the patch under the kernel at (p, q), times the kernel, summed
                    out[n, o, p, q] = b[o] + np.sum(K[o] * X[n, :, p:p + kh, q:q + kw])
    return out


SHAPES_1D = [  # N, C_in, L, C_out, k
    (1, 1, 5, 1, 2), (3, 2, 9, 4, 3), (2, 3, 6, 2, 6), (4, 1, 7, 3, 1), (5, 4, 11, 2, 4)]
SHAPES_2D = [  # N, C_in, H, W, C_out, kh, kw
    (1, 1, 4, 4, 1, 2, 2), (2, 3, 6, 5, 2, 3, 2), (3, 2, 5, 7, 4, 1, 3), (2, 1, 8, 8, 3, 3, 3),
    (1, 2, 3, 4, 2, 3, 4)]


def _draw_1d(shape, seed):
    N, C_in, L, C_out, k = shape
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, C_in, L)), rng.normal(size=(C_out, C_in, k)), rng.normal(size=C_out), rng


def _draw_2d(shape, seed):
    N, C_in, H, W, C_out, kh, kw = shape
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(N, C_in, H, W)), rng.normal(size=(C_out, C_in, kh, kw)),
            rng.normal(size=C_out), rng)


@pytest.mark.parametrize("shape", SHAPES_1D)
def test_conv1d_forward_matches_naive_loops(shape):
    X, K, b, _ = _draw_1d(shape, 1)
    A, cache = conv1d_forward(X, K, b)
    assert A.shape == (shape[0], shape[3], shape[2] - shape[4] + 1)
    np.testing.assert_allclose(A, naive_conv1d(X, K, b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES_2D)
def test_conv2d_forward_matches_naive_loops(shape):
    X, K, b, _ = _draw_2d(shape, 2)
    A, _ = conv2d_forward(X, K, b)
    N, C_in, H, W, C_out, kh, kw = shape
    assert A.shape == (N, C_out, H - kh + 1, W - kw + 1)
    np.testing.assert_allclose(A, naive_conv2d(X, K, b), rtol=1e-12, atol=1e-12)


def test_forward_is_cross_correlation_not_flipped():
    x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    K = np.array([[[1.0, 0.0, -1.0]]])
    A, _ = conv1d_forward(x, K, np.zeros(1))
    # cross-correlation: x[p] - x[p + 2]; a true convolution would give x[p + 2] - x[p]
    np.testing.assert_array_equal(A, [[[-2.0, -2.0]]])


def _grad_errors(forward, backward, X, K, b, R):
    """Relative errors of dX, dK, db against central differences of
    E = 1/N sum_n sum R[n] * A[n] (so delta = R per example)."""
    N = len(X)

    def E(X_, K_, b_):
        return float(np.sum(R * forward(X_, K_, b_)[0])) / N

    _, cache = forward(X, K, b)
    dX, dK, db = backward(R, cache)
    num_X = numerical_gradient(lambda x: E(x, K, b), X.copy(), h=1e-3, order=4)
    num_K = numerical_gradient(lambda k: E(X, k, b), K.copy(), h=1e-3, order=4)
    num_b = numerical_gradient(lambda c: E(X, K, c), b.copy(), h=1e-3, order=4)
    # dX is per example (not divided by N): dE/dX = dX / N
    return (relative_error(dX / N, num_X).max(), relative_error(dK, num_K).max(),
            relative_error(db, num_b).max())


@pytest.mark.parametrize("shape", SHAPES_1D)
def test_conv1d_backward_matches_central_differences(shape):
    X, K, b, rng = _draw_1d(shape, 3)
    R = rng.normal(size=(shape[0], shape[3], shape[2] - shape[4] + 1))
    errs = _grad_errors(conv1d_forward, conv1d_backward, X, K, b, R)
    assert max(errs) < 1e-7, errs


@pytest.mark.parametrize("shape", SHAPES_2D)
def test_conv2d_backward_matches_central_differences(shape):
    X, K, b, rng = _draw_2d(shape, 4)
    N, C_in, H, W, C_out, kh, kw = shape
    R = rng.normal(size=(N, C_out, H - kh + 1, W - kw + 1))
    errs = _grad_errors(conv2d_forward, conv2d_backward, X, K, b, R)
    assert max(errs) < 1e-7, errs


def test_conv_layer_inside_a_loss_with_nonlinearity():
    """E = mean over examples of 1/2 (tanh(conv(X)) - Y)^2: delta = (o - y) tanh'(a)."""
    rng = np.random.default_rng(5)
    X, K, b = rng.normal(size=(3, 2, 6, 5)), rng.normal(size=(3, 2, 2, 3)), rng.normal(size=3)
    Y = rng.normal(size=(3, 3, 5, 3))

    def E(K_):
        o = np.tanh(conv2d_forward(X, K_, b)[0])
        return 0.5 * float(np.sum((o - Y) ** 2)) / len(X)

    A, cache = conv2d_forward(X, K, b)
    o = np.tanh(A)
    _, dK, _ = conv2d_backward((o - Y) * (1 - o ** 2), cache)
    assert relative_error(dK, numerical_gradient(E, K.copy(), h=1e-3, order=4)).max() < 1e-7


def test_kernel_gradient_is_sum_over_positions_of_delta_times_patch():
    X, K, b, rng = _draw_2d((2, 2, 5, 6, 3, 2, 3), 6)
    A, cache = conv2d_forward(X, K, b)
    delta = rng.normal(size=A.shape)
    _, dK, db = conv2d_backward(delta, cache)
    by_hand = np.zeros_like(K)
    for n in range(2):
        for p in range(A.shape[2]):
            for q in range(A.shape[3]):
                patch = X[n, :, p:p + 2, q:q + 3]                       # (C_in, kh, kw)
                by_hand += delta[n, :, p, q][:, None, None, None] * patch[None]
    np.testing.assert_allclose(dK, by_hand / 2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, delta.sum(axis=(0, 2, 3)) / 2, rtol=1e-12)


@pytest.mark.parametrize("dims", [1, 2])
def test_dX_is_full_correlation_with_flipped_kernel(dims):
    rng = np.random.default_rng(7)
    if dims == 1:
        X, K = rng.normal(size=(2, 3, 8)), rng.normal(size=(4, 3, 3))
        A, cache = conv1d_forward(X, K, np.zeros(4))
        dX = conv1d_backward(delta := rng.normal(size=A.shape), cache)[0]
    else:
        X, K = rng.normal(size=(2, 3, 6, 7)), rng.normal(size=(2, 3, 3, 2))
        A, cache = conv2d_forward(X, K, np.zeros(2))
        dX = conv2d_backward(delta := rng.normal(size=A.shape), cache)[0]
    full = full_correlation(delta, K)
    assert full.shape == X.shape
    np.testing.assert_allclose(dX, full, rtol=1e-12, atol=1e-12)
    # with the unflipped kernel it is a different (wrong) answer
    unflipped = full_correlation(delta, K[(...,) + (slice(None, None, -1),) * dims])
    assert np.abs(unflipped - dX).max() > 1e-3


def test_float32_in_float32_out():
    rng = np.random.default_rng(8)
    X, K, b = (rng.normal(size=s).astype(np.float32) for s in [(2, 1, 5, 5), (2, 1, 3, 3), (2,)])
    A, cache = conv2d_forward(X, K, b)
    assert A.dtype == np.float32
    dX, dK, db = conv2d_backward(np.ones_like(A), cache)
    assert dX.dtype == dK.dtype == np.float32
    np.testing.assert_allclose(A, naive_conv2d(X.astype(float), K.astype(float), b.astype(float)), rtol=1e-4,
                               atol=1e-5)


# ------------------------------------------------------------------ shape errors
def test_shape_error_for_mismatched_channels():
    with pytest.raises(ShapeError, match=r"X has C_in = 3 channels.*K expects C_in = 2"):
        conv2d_forward(np.zeros((1, 3, 5, 5)), np.zeros((4, 2, 3, 3)), np.zeros(4))
    with pytest.raises(ShapeError, match=r"C_in = 1 .*C_in = 2.*\(C_out, C_in, k\)"):
        conv1d_forward(np.zeros((2, 1, 9)), np.zeros((3, 2, 3)), np.zeros(3))


def test_shape_error_for_kernel_larger_than_input():
    with pytest.raises(ShapeError, match=r"kernel is larger than the input \(kw = 5 > W = 4"):
        conv2d_forward(np.zeros((1, 1, 6, 4)), np.zeros((1, 1, 3, 5)), np.zeros(1))
    with pytest.raises(ShapeError, match=r"k = 6 > L = 5"):
        conv1d_forward(np.zeros((1, 1, 5)), np.zeros((1, 1, 6)), np.zeros(1))


def test_shape_errors_for_dims_bias_and_delta():
    with pytest.raises(ShapeError, match=r"expected X of shape \(N, C_in, H, W\), got \(5, 5\).*X\[None, None\]"):
        conv2d_forward(np.zeros((5, 5)), np.zeros((1, 1, 3, 3)), np.zeros(1))
    with pytest.raises(ShapeError, match=r"expected b of shape \(C_out,\) = \(2,\)"):
        conv1d_forward(np.zeros((1, 1, 5)), np.zeros((2, 1, 2)), np.zeros(3))
    A, cache = conv2d_forward(np.zeros((2, 1, 5, 5)), np.zeros((3, 1, 2, 2)), np.zeros(3))
    with pytest.raises(ShapeError, match=r"delta must have the shape of the forward output A, \(2, 3, 4, 4\)"):
        conv2d_backward(np.zeros((2, 3, 5, 5)), cache)


# ------------------------------------------------------------------ the gradient check catches bugs
def _planted_check(bug):
    """Check a (possibly buggy) dK against central differences; return the max relative error."""
    X, K, b, rng = _draw_2d((3, 2, 6, 6, 2, 3, 3), 9)
    A, cache = conv2d_forward(X, K, b)
    R = rng.normal(size=A.shape)
    _, dK, _ = conv2d_backward(R, cache)
    dK = bug(dK, R, X)
    num = numerical_gradient(lambda k: float(np.sum(R * conv2d_forward(X, k, b)[0])) / len(X), K.copy(),
                             h=1e-3, order=4)
    return relative_error(dK, num).max()


def _last_position_only(dK, R, X):
    """The classic bug: `=` instead of `+=` in the loop over positions."""
    out = np.zeros_like(dK)
    for i in range(3):
        for j in range(3):
            out[:, :, i, j] = np.einsum("no,nc->oc", R[:, :, -1, -1], X[:, :, 3 + i, 3 + j]) / len(X)
    return out


@pytest.mark.parametrize("bug", [
    lambda dK, R, X: dK * len(X),                         # summed over the batch, not averaged
    lambda dK, R, X: dK[:, :, ::-1, ::-1],                # flipped kernel gradient
    lambda dK, R, X: dK + np.pad([[[[1e-5]]]], ((0, 1), (0, 1), (0, 2), (0, 2))),  # one entry slightly off
    _last_position_only,
], ids=["sum_not_mean", "flipped", "one_entry_off", "last_position_only"])
def test_gradient_check_fails_on_planted_wrong_gradient(bug):
    err = _planted_check(bug)
    assert err > 1e-7, f"the gradient check did not notice the bug (max rel. error {err:.1e})"


def test_gradient_check_accepts_the_right_gradient_only():
    assert _planted_check(lambda dK, R, X: dK) < 1e-7
    assert _planted_check(lambda dK, R, X: -dK) > 1


# ------------------------------------------------------------------ the ConvNet
@pytest.mark.parametrize("g,g_out,loss", [("tanh", "softmax", "cross_entropy"), ("sigmoid", "sigmoid", "mse")])
def test_convnet_gradient_passes_check_gradients(g, g_out, loss):
    rng = np.random.default_rng(10)
    net = ConvNet(in_shape=(2, 6, 5), channels=3, kernel=(3, 2), n_out=4, g=g, g_out=g_out, loss=loss, seed=1)
    X = rng.normal(size=(5, 2, 6, 5))
    Y = np.eye(4)[rng.integers(0, 4, 5)]
    report = check_gradients(net, X, Y)
    assert report.ok and report.max_rel_error < 1e-7, str(report)
    assert directional_check(net, X, Y).ok
    # and the planted bug is caught: kernel gradient from the last position only
    grads = net.gradient(X, Y)
    delta1, o0 = net.delta[1], net.o[0]
    grads[0] = np.einsum("no,ncij->ocij", delta1[:, :, -1, -1], o0[:, :, -3:, -2:]) / len(X)
    bad = check_gradients(net, X, Y, grads=grads)
    assert not bad.ok and [c.name for c in bad.failures] == ["W[1]"]


def test_convnet_shapes_params_and_errors():
    net = ConvNet(channels=4, kernel=3, n_out=10, seed=0)
    assert net.param_shapes() == [(4, 1, 3, 3), (4,), (4 * 6 * 6, 10), (10,)]
    assert net.num_params == 4 * 9 + 4 + 144 * 10 + 10
    Y_hat = net.forward(np.zeros((3, 8, 8)))          # one channel may be left out
    assert Y_hat.shape == (3, 10) and net.a[1].shape == (3, 4, 6, 6)
    assert net.forward(np.zeros((3, 64))).shape == (3, 10)   # flattened digits work too
    with pytest.raises(ShapeError, match=r"expected X of shape \(N, 1, 8, 8\)"):
        net.forward(np.zeros((3, 7, 7)))
    with pytest.raises(ShapeError, match="one_hot"):
        net.backward(np.zeros(3))
    with pytest.raises(ShapeError, match="larger than the input"):
        ConvNet(in_shape=(1, 4, 4), kernel=5)
    twin = net.copy()
    assert np.array_equal(twin.get_params(), net.get_params()) and twin.W[1] is not net.W[1]
    assert "conv 4 kernels 3x3" in repr(net)


def test_convnet_learns_digits_with_bpcore_train():
    X, y = load_digits(images=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=0)
    net = ConvNet(channels=4, kernel=3, seed=0)
    hist = train(net, X_train[:600], one_hot(y_train[:600], 10), lr=0.1, epochs=8, batch_size=32, seed=0)
    assert not hist.diverged and hist.loss[-1] < 0.5 * hist.loss[0]
    acc = np.mean(net.predict(X_test).argmax(axis=1) == y_test)
    assert acc > 0.85, acc
