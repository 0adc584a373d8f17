"""Training by gradient descent, kept apart from backpropagation.

Backpropagation (``net.backward``) computes dE/dtheta; gradient descent
(``step``) uses it: theta <- theta - alpha dE/dtheta.

    batch_size=None  full batch: one step per epoch on all N rows
    batch_size=1     per-sample (online) updates: N steps per epoch
    batch_size=B     mini-batches of B rows: ceil(N / B) steps per epoch
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .equations import gradient_descent_step

__all__ = ["History", "step", "train", "accuracy", "end_epoch"]


@dataclass
class History:
    """What happened during training, one entry per completed epoch.

    loss[e] is E on the whole training set after epoch e + 1; ``accuracy`` likewise
    (None for regression). If the loss became NaN or inf, ``diverged`` is True,
    training stopped, the parameters were rolled back to the last finite epoch and
    ``message`` says "diverged at epoch N (learning rate X)"."""
    lr: float
    batch_size: int | None
    loss: list = field(default_factory=list)
    accuracy: list | None = None
    diverged: bool = False
    stopped: bool = False
    message: str = ""

    @property
    def epochs(self):
        return len(self.loss)

    def __repr__(self):
        last = f"{self.loss[-1]:.4g}" if self.loss else "n/a"
        return f"History(epochs={self.epochs}, final loss={last}, {self.message or 'ok'})"


def accuracy(net, Y_hat, Y):
    """Fraction of rows classified right, or None when the output is not a classifier.

    softmax output: argmax of Y_hat vs argmax of one-hot Y; one sigmoid output: Y_hat > 0.5 vs Y > 0.5."""
    name = net.g_out.name
    if name == "softmax" or (Y.shape[1] > 1 and name == "sigmoid"):
        return float(np.mean(Y_hat.argmax(axis=1) == Y.argmax(axis=1)))
    if name in ("sigmoid", "step") and Y.shape[1] == 1:
        return float(np.mean((Y_hat > 0.5) == (Y > 0.5)))
    return None


def step(net, dW, db, lr):
    """One gradient-descent update of every W[k], b[k] in place (equation 6)."""
    for k in range(1, net.m + 1):
        gradient_descent_step(net.W[k], dW[k], lr)
        gradient_descent_step(net.b[k], db[k], lr)


def train(net, X, Y, lr=0.5, epochs=100, batch_size=None, shuffle=True, seed=0,
          callback=None):
    """Train ``net`` on X (N, r_0), Y (N, r_m) by gradient descent; returns a History.

    ``callback(epoch, history, net)`` runs after every epoch (epoch counts from 1);
    if it returns False, training stops there (``history.stopped``).
    Shuffling (mini-batch and per-sample only) uses ``seed``, so runs repeat exactly."""
    X = net._input(X)
    N = X.shape[0]
    net.forward(X)
    Y = net._target(Y)  # checks Y against N and r_m, with a message that says both
    if batch_size is not None:
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be None (full batch) or >= 1, got {batch_size}")
        if batch_size >= N:
            batch_size = None
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"learning rate must be a positive number, got {lr}")
    rng = np.random.default_rng(seed)
    hist = History(lr=lr, batch_size=batch_size)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        Y_hat = net.forward(X)
        if accuracy(net, Y_hat, Y) is not None:
            hist.accuracy = []
        for epoch in range(1, epochs + 1):
            keep = [p.copy() for p in net.params]
            if batch_size is None:
                net.forward(X)
                dW, db = net.backward(Y)
                step(net, dW, db, lr)
            else:
                order = rng.permutation(N) if shuffle else np.arange(N)
                for start in range(0, N, batch_size):
                    rows = order[start:start + batch_size]
                    net.forward(X[rows])
                    dW, db = net.backward(Y[rows])
                    step(net, dW, db, lr)
            Y_hat = net.forward(X)
            E = net.loss.E(Y_hat, Y, net.a[net.m], net.g_out)
            if end_epoch(hist, net, epoch, E, keep, lambda: accuracy(net, Y_hat, Y), callback):
                break
    return hist


def end_epoch(hist, model, epoch, E, keep, accuracy_now, callback):
    """Close one epoch of any trainer; returns True when training must stop.

    A NaN or inf E (or parameters) rolls the model back to ``keep`` and records
    "diverged at epoch N (learning rate X)"; otherwise E (and ``accuracy_now()``, when the
    history tracks accuracy) is recorded and ``callback(epoch, hist, model)`` may stop it."""
    if not np.isfinite(E) or not all(np.isfinite(p).all() for p in model.params):
        model.set_params(keep)
        hist.diverged = True
        hist.message = f"diverged at epoch {epoch} (learning rate {hist.lr:g})"
        return True
    hist.loss.append(E)
    if hist.accuracy is not None:
        hist.accuracy.append(accuracy_now())
    if callback is not None and callback(epoch, hist, model) is False:
        hist.stopped = True
        hist.message = f"stopped by callback at epoch {epoch}"
        return True
    return False

