"""Full-batch gradient descent for the playground: bpcore's arithmetic, less overhead.

``bpcore.train.train`` is written to be read: each epoch it runs a forward pass
for the gradient, copies every parameter (to roll back on divergence), runs a
second forward pass for the error after the step and computes the accuracy.
Sliders must retrain in well under a second, so :func:`fit_full_batch` does the
same arithmetic with one forward pass per epoch: the forward pass that starts
epoch e + 1 also gives E after epoch e.  All parameters live in one flat vector
(W[k], b[k] are views), so the update and the finiteness check are one NumPy
call each; two such vectors take turns, so the previous parameters are still
there for the roll-back, without copies.

Same numbers as ``bpcore.train.train(net, X, Y, lr, epochs)`` (full batch):
the same loss list, the same final parameters, the same "diverged at epoch N
(learning rate X)" message and roll-back (tests/test_live.py checks it to the bit).
"""
from __future__ import annotations

import numpy as np

from ..train import History

__all__ = ["fit_full_batch"]


def fit_full_batch(net, X, Y, lr, epochs, deadline=None, clock=None):
    """Train ``net`` in place for up to ``epochs`` full-batch epochs; returns a History.

    X (N, r_0), Y (N, r_m).  ``history.loss[e]`` is E on (X, Y) after epoch e + 1.
    ``deadline`` (a ``clock()`` time) stops early after the epoch that passes it
    (``history.stopped``), so a live widget can train in small time slices.
    """
    X = net._input(X)
    net.forward(X)
    Y = net._target(Y)
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"learning rate must be a positive number, got {lr}")
    m, N = net.m, X.shape[0]
    g_of = [None] + [net.g] * (m - 1) + [net.g_out]
    loss_fn, g_out, lr = net.loss, net.g_out, float(lr)
    hist = History(lr=lr, batch_size=None)
    if epochs < 1:
        return hist
    # theta lives in flat vectors (P,) with W[k], b[k] as views into them: the update
    # and the finiteness check are then one NumPy call each, not one per array.
    # Two buffers take turns, so the previous theta is kept for the roll-back.
    shapes = [p.shape for p in net.params]
    bufs = [net.get_params(), np.empty(net.num_params, dtype=net.dtype)]
    grad, step = np.empty_like(bufs[0]), np.empty_like(bufs[0])
    views = [_views(buf, shapes) for buf in (bufs[0], bufs[1], grad)]
    cur = 0
    a, o = [None] * (m + 1), [X] + [None] * m
    # bound once: the loop runs hundreds of times on small arrays, where Python's own
    # overhead is a good part of the cost
    E_of, output_delta, g_deriv = loss_fn.E, loss_fn.output_delta, net.g.deriv
    act = [None] + [g.g for g in g_of[1:]]
    isfinite, divide, add_reduce = np.isfinite, np.divide, np.add.reduce
    layers, back = range(1, m + 1), range(m, 0, -1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for epoch in range(0, epochs + 1):
            W, b = views[cur]
            # forward pass with the current parameters (A^k = O^{k-1} W^k + b^k, O^k = g(A^k))
            for k in layers:
                a[k] = o[k - 1] @ W[k] + b[k]
                o[k] = act[k](a[k])
            if epoch > 0:  # E after epoch `epoch`; bpcore.train checks it the same way
                E = E_of(o[m], Y, a[m], g_out)
                if not (isfinite(E) and isfinite(bufs[cur]).all()):
                    cur = 1 - cur  # roll back to the parameters before this epoch
                    hist.diverged = True
                    hist.message = f"diverged at epoch {epoch} (learning rate {lr:g})"
                    break
                hist.loss.append(E)
                if epoch == epochs:
                    break
                if deadline is not None and clock() >= deadline:
                    hist.stopped = True
                    break
            # backward pass (equations 2, 3, then 1, 4, 5), into the flat gradient
            dW, db = views[2]
            delta = output_delta(a[m], o[m], Y, g_out)
            for k in back:
                divide(o[k - 1].T @ delta, N, out=dW[k])     # = O^{k-1 T} delta^k / N
                divide(add_reduce(delta, 0), N, out=db[k])   # = delta^k.mean(axis=0)
                if k > 1:
                    delta = (delta @ W[k].T) * g_deriv(a[k - 1], o[k - 1])
            # gradient descent (equation 6): theta_new = theta - alpha * grad
            np.multiply(grad, lr, out=step)
            np.subtract(bufs[cur], step, out=bufs[1 - cur])
            cur = 1 - cur
        net.set_params(bufs[cur])
    return hist


def _views(flat, shapes):
    """W[k], b[k] (lists indexed by k) as views into a flat (P,) vector in params order."""
    W, b, start = [None], [None], 0
    for n, shape in enumerate(shapes):
        size = int(np.prod(shape))
        (W if n % 2 == 0 else b).append(flat[start:start + size].reshape(shape))
        start += size
    return W, b
