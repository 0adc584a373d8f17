"""A fully connected network whose code follows the derivation.

Layers are numbered k = 0 (input) .. m (output); layer k has r_k = sizes[k] nodes.
Lists are indexed by k, so index 0 of W, b, a and delta is None and
``net.W[k][i, j]`` is w_ij^k, the weight from node i of layer k-1 to node j of layer k.

Shapes (N examples in the rows):
    W[k]      (r_{k-1}, r_k)      b[k]      (r_k,)
    a[k]      (N, r_k)            o[k]      (N, r_k),  o[0] = X
    delta[k]  (N, r_k)            dW[k], db[k]: shapes of W[k], b[k]
"""
from __future__ import annotations

import numpy as np

from .activations import get_activation
from .equations import (activation, bias_gradient, hidden_delta, weight_gradient)
from .errors import ShapeError, fmt_shape
from .losses import get_loss
from .params import Parameters

__all__ = ["Network", "INITS"]

#: Initialisations: name -> description.
INITS = {
    "uniform": "w and b drawn uniformly from [-scale, scale] (scale 1: the classic XOR set-up)",
    "normal": "w ~ N(0, scale^2 / r_{k-1}), b = 0 (variance shrinks with fan-in)",
    "xavier": "w ~ N(0, 2 scale^2 / (r_{k-1} + r_k)), b = 0 (Glorot; for tanh and sigmoid)",
    "he": "w ~ N(0, 2 scale^2 / r_{k-1}), b = 0 (for ReLU)",
}


class Network(Parameters):
    """A fully connected feed-forward network.

    Parameters
    ----------
    sizes : list of int, [r_0, r_1, ..., r_m], at least two layers.
    g : hidden activation (name or Activation), default "sigmoid".
    g_out : output activation, default "sigmoid".
    loss : "mse" (E = 1/2 (y_hat - y)^2, averaged over examples) or "cross_entropy".
    init : one of INITS; ``scale`` multiplies it.
    seed : makes the initial weights reproducible.
    dtype : float64 by default (gradient checks need it); float32 allowed.
    """

    def __init__(self, sizes, g="sigmoid", g_out="sigmoid", loss="mse",
                 init="uniform", scale=1.0, seed=0, dtype=np.float64):
        sizes = [int(r) for r in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least 2 layers of >= 1 node, got {sizes}")
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"dtype must be a float type (float64 or float32), got {self.dtype}")
        self.sizes = sizes
        self.m = len(sizes) - 1
        # expected (W[k].shape, b[k].shape) per layer, checked on every forward pass
        self._shapes = [None] + [((sizes[k - 1], sizes[k]), (sizes[k],)) for k in range(1, self.m + 1)]
        self.g = get_activation(g)
        self.g_out = get_activation(g_out)
        self.loss = get_loss(loss)
        if not self.g.elementwise:
            raise ValueError(f"hidden activation must be element-wise, got {self.g.name}")
        self.init_params(init, scale, seed)
        self.a, self.o, self.delta = [], [], []

    # ------------------------------------------------------------------ parameters
    def init_params(self, init="uniform", scale=1.0, seed=0):
        """(Re)draw every W[k] and b[k]. Same seed, same numbers."""
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; known: {', '.join(INITS)}")
        rng = np.random.default_rng(seed)
        self.init, self.scale, self.seed = init, scale, seed
        self.W, self.b = [None], [None]
        for k in range(1, self.m + 1):
            r_prev, r_k = self.sizes[k - 1], self.sizes[k]
            if init == "uniform":
                W = rng.uniform(-scale, scale, size=(r_prev, r_k))
                b = rng.uniform(-scale, scale, size=r_k)
            else:
                var = {"normal": 1.0 / r_prev, "xavier": 2.0 / (r_prev + r_k),
                       "he": 2.0 / r_prev}[init]
                W = rng.normal(0.0, scale * np.sqrt(var), size=(r_prev, r_k))
                b = np.zeros(r_k)
            self.W.append(W.astype(self.dtype))
            self.b.append(b.astype(self.dtype))
        return self

    @property
    def param_names(self):
        """['W[1]', 'b[1]', ..., 'W[m]', 'b[m]'], the order of :attr:`params`."""
        return [f"{p}[{k}]" for k in range(1, self.m + 1) for p in ("W", "b")]

    @property
    def params(self):
        """theta as a list of the arrays themselves (not copies): [W[1], b[1], ..., W[m], b[m]]."""
        return [p for k in range(1, self.m + 1) for p in (self.W[k], self.b[k])]

    def copy(self):
        """An independent network with the same architecture and parameters."""
        twin = Network(self.sizes, self.g, self.g_out, self.loss, self.init, self.scale,
                       self.seed, self.dtype)
        twin.set_params(self.params)
        return twin

    # ------------------------------------------------------------------ forward
    def _input(self, X):
        X = np.asarray(X, dtype=self.dtype)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            hint = " (for one example use X[None, :])" if X.ndim == 1 else ""
            raise ShapeError(f"layer 0 (input): expected X of shape (N, {self.sizes[0]}), "
                             f"got {fmt_shape(X.shape)}{hint}")
        return X

    def forward(self, X):
        """Forward pass. X (N, r_0) -> Y_hat = o[m], shape (N, r_m).

        Keeps a[k] = o[k-1] W[k] + b[k] and o[k] = g(a[k]) for every layer k."""
        X = self._input(X)
        m, N, g, g_out = self.m, X.shape[0], self.g, self.g_out
        a, o = [None] * (m + 1), [None] * (m + 1)
        o[0] = X
        shapes = self._shapes
        for k in range(1, m + 1):
            W, b = self.W[k], self.b[k]
            if getattr(W, "shape", None) != shapes[k][0] or getattr(b, "shape", None) != shapes[k][1]:
                raise ShapeError(
                    f"layer {k}: expected W[{k}] of shape ({self.sizes[k-1]}, {self.sizes[k]}) and "
                    f"b[{k}] of shape ({self.sizes[k]},), got W[{k}] {fmt_shape(np.shape(W))} and "
                    f"b[{k}] {fmt_shape(np.shape(b))}")
            a[k] = activation(o[k - 1], W, b)
            o[k] = (g_out if k == m else g).g(a[k])
        self.a, self.o = a, o
        return o[m]

    __call__ = forward

    def predict(self, X):
        """Y_hat for X without keeping anything for backward (same numbers as forward)."""
        keep = self.a, self.o
        try:
            return self.forward(X)
        finally:
            self.a, self.o = keep

    def E(self, X, Y):
        """The error E(X, theta): the loss averaged over the N rows (a forward pass)."""
        Y_hat = self.forward(X)
        Y = self._target(Y)
        return self.loss.E(Y_hat, Y, self.a[self.m], self.g_out)

    # ------------------------------------------------------------------ backward
    def _target(self, Y):
        if not self.o:
            raise RuntimeError("call forward(X) before backward(Y): backward needs a[k] and o[k]")
        N, r_m = self.o[0].shape[0], self.sizes[-1]
        Y = np.asarray(Y, dtype=self.dtype)
        if Y.shape != (N, r_m):
            hint = ""
            if Y.shape == (N,) and r_m == 1:
                hint = " (use Y.reshape(-1, 1))"
            elif Y.ndim == 1 and Y.shape == (N,) and r_m > 1:
                hint = " (class labels? use bpcore.datasets.one_hot(y))"
            raise ShapeError(f"layer {self.m} (output): expected Y of shape ({N}, {r_m}) to match "
                             f"the last forward pass, got {fmt_shape(Y.shape)}{hint}")
        return Y

    def backward(self, Y):
        """Backward pass after ``forward(X)``. Y (N, r_m) -> (dW, db).

        Keeps delta[k] (N, r_k) for every layer and returns lists indexed by k:
        dW[k] = dE/dW[k] (r_{k-1}, r_k) and db[k] = dE/db[k] (r_k,), averaged over N."""
        Y = self._target(Y)
        m, a, o = self.m, self.a, self.o
        delta = [None] * (m + 1)
        delta[m] = self.loss.output_delta(a[m], o[m], Y, self.g_out)             # eq. 2
        for k in range(m - 1, 0, -1):
            delta[k] = hidden_delta(delta[k + 1], self.W[k + 1], a[k], self.g, o[k])  # eq. 3
        dW = [None] + [weight_gradient(o[k - 1], delta[k]) for k in range(1, m + 1)]  # eq. 1, 5
        db = [None] + [bias_gradient(delta[k]) for k in range(1, m + 1)]              # eq. 4
        self.delta = delta
        return dW, db

    def gradient(self, X, Y):
        """Forward then backward; the gradient as a list in the order of :attr:`params`."""
        self.forward(X)
        dW, db = self.backward(Y)
        return [g for k in range(1, self.m + 1) for g in (dW[k], db[k])]

    def __repr__(self):
        return (f"Network(sizes={self.sizes}, g={self.g.name!r}, g_out={self.g_out.name!r}, "
                f"loss={self.loss.name!r}, init={self.init!r}, seed={self.seed}, P={self.num_params})")
