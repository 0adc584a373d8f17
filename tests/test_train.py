"""Training: the classic XOR set-up, the three update schedules, divergence, callbacks."""
import warnings

import numpy as np
import pytest

from bpcore import Network, train
from bpcore.datasets import load_digits, moons, one_hot, xor
from bpcore.train import accuracy, step


@pytest.mark.parametrize("hidden,seed", [(2, 3), (4, 0)])
def test_xor_classic_setup_learns_truth_table(hidden, seed):
    """2-2-1 and 2-4-1 sigmoid, weights uniform in [-1, 1], learning rate 0.8, MSE."""
    X, Y = xor()
    net = Network([2, hidden, 1], g="sigmoid", g_out="sigmoid", loss="mse", init="uniform", seed=seed)
    hist = train(net, X, Y, lr=0.8, epochs=5000)
    Y_hat = net.predict(X)
    np.testing.assert_array_equal((Y_hat > 0.5).astype(float), Y)
    assert np.abs(Y_hat - Y).max() < 0.1
    assert hist.loss[-1] < hist.loss[0] / 10 and hist.accuracy[-1] == 1.0
    assert not hist.diverged and hist.epochs == 5000


def test_one_step_equals_manual_gradient_descent():
    X, Y = xor()
    net = Network([2, 2, 1], seed=1)
    theta = net.get_params()
    grad = np.concatenate([g.ravel() for g in net.gradient(X, Y)])
    train(net, X, Y, lr=0.8, epochs=1)  # full batch: one update
    np.testing.assert_allclose(net.get_params(), theta - 0.8 * grad, rtol=1e-14)


def test_per_sample_and_minibatch_step_counts():
    X, y = moons(n=40, noise=0.1, seed=0)
    Y = y.reshape(-1, 1).astype(float)
    counts = {}
    for bs in (None, 1, 16):
        net = Network([2, 4, 1], seed=0)
        calls = []
        original = net.backward
        net.backward = lambda Yb, _o=original: (calls.append(len(Yb)), _o(Yb))[1]
        train(net, X, Y, lr=0.5, epochs=2, batch_size=bs, seed=0)
        counts[bs] = calls
    assert counts[None] == [40, 40]
    assert counts[1] == [1] * 80
    assert counts[16] == [16, 16, 8] * 2


def test_shuffle_seed_reproducible():
    X, y = moons(n=60, seed=1)
    Y = y.reshape(-1, 1).astype(float)
    runs = []
    for seed in (5, 5, 6):
        net = Network([2, 5, 1], seed=0)
        train(net, X, Y, lr=0.5, epochs=3, batch_size=8, seed=seed)
        runs.append(net.get_params())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_divergence_is_reported_not_spread():
    X = np.linspace(-1, 1, 20).reshape(-1, 1)
    Y = 3 * X
    net = Network([1, 8, 1], g="identity", g_out="identity", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hist = train(net, X, Y, lr=50.0, epochs=200)
    assert hist.diverged
    assert hist.message == f"diverged at epoch {hist.epochs + 1} (learning rate 50)"
    assert all(np.isfinite(hist.loss))
    assert np.all(np.isfinite(net.get_params())), "parameters rolled back to the last finite epoch"


def test_callback_sees_every_epoch_and_can_stop():
    X, Y = xor()
    net = Network([2, 2, 1], seed=0)
    seen = []
    hist = train(net, X, Y, lr=0.8, epochs=50,
                 callback=lambda e, h, n: seen.append((e, h.loss[-1])) or (e < 10))
    assert [e for e, _ in seen] == list(range(1, 11))
    assert hist.stopped and hist.epochs == 10 and "stopped" in hist.message
    assert seen[-1][1] == hist.loss[-1]


def test_digits_softmax_classifier_learns():
    X, y = load_digits()
    Y = one_hot(y)
    net = Network([64, 32, 10], g="tanh", g_out="softmax", loss="cross_entropy", init="xavier", seed=0)
    hist = train(net, X, Y, lr=0.5, epochs=10, batch_size=32, seed=0)
    assert hist.accuracy[-1] > 0.9
    assert hist.accuracy[-1] == accuracy(net, net.predict(X), Y)


def test_bad_arguments_are_explained():
    X, Y = xor()
    net = Network([2, 2, 1])
    with pytest.raises(ValueError, match="batch_size"):
        train(net, X, Y, batch_size=0)
    with pytest.raises(ValueError, match="learning rate"):
        train(net, X, Y, lr=-1)
    with pytest.raises(Exception, match=r"expected Y of shape \(4, 1\)"):
        train(net, X, Y.ravel())


def test_step_is_gradient_descent_only():
    net = Network([2, 2, 1], seed=0)
    theta = net.get_params()
    dW = [None, np.ones((2, 2)), np.ones((2, 1))]
    db = [None, np.ones(2), np.ones(1)]
    step(net, dW, db, lr=0.1)
    np.testing.assert_allclose(net.get_params(), theta - 0.1)
