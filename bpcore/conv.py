"""Convolution layers with their backward passes, and a tiny convolutional network.

Stride 1, "valid" padding (the kernel stays inside the input). As in deep learning,
"convolution" here is a **cross-correlation**: the kernel is *not* flipped in the
forward pass,

    1-D:  a[n, c_out, p]    = b[c_out] + sum_{c_in, i}    K[c_out, c_in, i]    x[n, c_in, p + i]
    2-D:  a[n, c_out, p, q] = b[c_out] + sum_{c_in, i, j} K[c_out, c_in, i, j] x[n, c_in, p + i, q + j]

(a true convolution would use x[p - i]; flipping a learned kernel changes nothing, so
frameworks skip the flip). Shapes, with N examples, stride 1 and no padding:

    1-D:  X (N, C_in, L)      K (C_out, C_in, k)       b (C_out,)   A (N, C_out, L - k + 1)
    2-D:  X (N, C_in, H, W)   K (C_out, C_in, kh, kw)  b (C_out,)   A (N, C_out, H - kh + 1, W - kw + 1)

The same kernel is used at every position (**weight sharing**), so the chain rule sums
the contributions of all positions, and the backward pass is, in the course's notation
(delta = dE_d/da for each example d, as ``Network.delta[k]``):

    dE/dK[c_out, c_in, i, j] = 1/N sum_n sum_{p, q} delta[n, c_out, p, q] x[n, c_in, p + i, q + j]
    dE/db[c_out]             = 1/N sum_n sum_{p, q} delta[n, c_out, p, q]
    dE_d/dx[n, c_in, s, t]   = sum_{c_out, i, j} delta[n, c_out, s - i, t - j] K[c_out, c_in, i, j]

**Convention (the course's, as in** :class:`bpcore.Network` **):** the upstream gradient
``delta`` is per example (not divided by N); the parameter gradients dK and db are
**averaged over the batch** (the error E is the mean of the per-example errors) and
**summed over positions**; dX is per example (dE_d/dx, not divided by N), ready to be
multiplied by g'(a) of the layer below to give its delta. The last formula is a "full"
cross-correlation of the zero-padded delta with the flipped kernel
(:func:`full_correlation`), i.e. a true convolution of delta with K.

The functions follow CS231n's layer API: ``A, cache = conv2d_forward(X, K, b)`` and
``dX, dK, db = conv2d_backward(delta, cache)``. They loop over the kernel offsets (i, j)
and do everything else with vectorised slices: kh * kw small matrix products.
"""
from __future__ import annotations

import numpy as np

from .activations import get_activation
from .equations import bias_gradient, hidden_delta, weight_gradient
from .errors import ShapeError, fmt_shape
from .losses import get_loss
from .params import Parameters

__all__ = ["conv1d_forward", "conv1d_backward", "conv2d_forward", "conv2d_backward",
           "full_correlation", "ConvNet"]


# ------------------------------------------------------------------ shape checks
def _check_conv(X, K, b, dims, where):
    """Validate X, K, b for a ``dims``-D convolution; return them as float arrays."""
    X, K = np.asarray(X), np.asarray(K)
    names = {1: ("(N, C_in, L)", "(C_out, C_in, k)", ("L",), ("k",)),
             2: ("(N, C_in, H, W)", "(C_out, C_in, kh, kw)", ("H", "W"), ("kh", "kw"))}[dims]
    x_desc, k_desc, x_ax, k_ax = names
    if X.ndim != dims + 2:
        hint = ""
        if X.ndim == dims + 1:
            hint = " (N examples of one channel? use X[:, None]; one example? use X[None])"
        elif X.ndim == dims:
            hint = " (one example of one channel? use X[None, None])"
        raise ShapeError(f"{where}: expected X of shape {x_desc}, got {fmt_shape(X.shape)}{hint}")
    if K.ndim != dims + 2:
        raise ShapeError(f"{where}: expected K of shape {k_desc}, got {fmt_shape(K.shape)}")
    if X.shape[1] != K.shape[1]:
        raise ShapeError(f"{where}: X has C_in = {X.shape[1]} channels (X {fmt_shape(X.shape)}) but K "
                         f"expects C_in = {K.shape[1]} (K {fmt_shape(K.shape)}); K must be {k_desc}")
    for ax, kax, n_x, n_k in zip(x_ax, k_ax, X.shape[2:], K.shape[2:]):
        if n_k > n_x:
            raise ShapeError(f"{where}: the kernel is larger than the input ({kax} = {n_k} > {ax} = {n_x}; "
                             f"X {fmt_shape(X.shape)}, K {fmt_shape(K.shape)}); valid padding needs "
                             f"{kax} <= {ax}")
        if n_k < 1:
            raise ShapeError(f"{where}: the kernel must have {kax} >= 1, got K {fmt_shape(K.shape)}")
    if b is not None:
        b = np.asarray(b)
        if b.shape != (K.shape[0],):
            raise ShapeError(f"{where}: expected b of shape (C_out,) = ({K.shape[0]},) to match K "
                             f"{fmt_shape(K.shape)}, got {fmt_shape(b.shape)}")
    if X.dtype.kind != "f":
        X = X.astype(np.float64)
    if K.dtype.kind != "f":
        K = K.astype(np.float64)
    return X, K, b


def _check_delta(delta, expected, where):
    delta = np.asarray(delta)
    if delta.shape != tuple(expected):
        raise ShapeError(f"{where}: delta must have the shape of the forward output A, "
                         f"{fmt_shape(expected)}, got {fmt_shape(delta.shape)}")
    return delta


# ------------------------------------------------------------------ 1-D
def conv1d_forward(X, K, b):
    """1-D convolution layer (cross-correlation), stride 1, valid padding.

    X (N, C_in, L), K (C_out, C_in, k), b (C_out,) ->
    A (N, C_out, L - k + 1) with A[n, o, p] = b[o] + sum_{c, i} K[o, c, i] X[n, c, p + i],
    and a cache (X, K) for :func:`conv1d_backward`.
    Raises ShapeError when the channels do not match or the kernel is longer than the input."""
    X, K, b = _check_conv(X, K, b, 1, "conv1d_forward")
    k = K.shape[2]
    L_out = X.shape[2] - k + 1
    A = np.zeros((X.shape[0], K.shape[0], L_out), dtype=np.result_type(X, K))
    for i in range(k):  # offset i: every output position p sees X[..., p + i]
        # (N, C_in, L_out) x (C_out, C_in) -> (N, C_out, L_out)
        A += np.einsum("ncp,oc->nop", X[:, :, i:i + L_out], K[:, :, i])
    A += np.asarray(b)[None, :, None]
    return A, (X, K)


def conv1d_backward(delta, cache):
    """Backward pass of :func:`conv1d_forward`.

    delta (N, C_out, L_out): dE_d/dA for every example d (per example, not divided by N).
    Returns
        dX (N, C_in, L):      dE_d/dX per example (a full correlation of delta with the flipped K),
        dK (C_out, C_in, k):  dE/dK, summed over positions p, averaged over the N examples,
        db (C_out,):          dE/db, summed over positions, averaged over examples."""
    X, K = cache
    N, _, L = X.shape
    k = K.shape[2]
    L_out = L - k + 1
    delta = _check_delta(delta, (N, K.shape[0], L_out), "conv1d_backward")
    dX = np.zeros(X.shape, dtype=np.result_type(X, K, delta))
    dK = np.zeros(K.shape, dtype=dX.dtype)
    for i in range(k):
        # weight sharing: K[:, :, i] is used at every p, so its gradient sums over p (and n)
        dK[:, :, i] = np.einsum("nop,ncp->oc", delta, X[:, :, i:i + L_out]) / N
        # X[..., p + i] fed A[..., p] through K[:, :, i]: send delta back the same way
        dX[:, :, i:i + L_out] += np.einsum("nop,oc->ncp", delta, K[:, :, i])
    db = delta.sum(axis=(0, 2)) / N
    return dX, dK, db


# ------------------------------------------------------------------ 2-D
def conv2d_forward(X, K, b):
    """2-D convolution layer (cross-correlation), stride 1, valid padding.

    X (N, C_in, H, W), K (C_out, C_in, kh, kw), b (C_out,) ->
    A (N, C_out, H - kh + 1, W - kw + 1) with
    A[n, o, p, q] = b[o] + sum_{c, i, j} K[o, c, i, j] X[n, c, p + i, q + j],
    and a cache (X, K) for :func:`conv2d_backward`.
    Raises ShapeError when the channels do not match or the kernel is larger than the input."""
    X, K, b = _check_conv(X, K, b, 2, "conv2d_forward")
    _, _, kh, kw = K.shape
    H_out, W_out = X.shape[2] - kh + 1, X.shape[3] - kw + 1
    A = np.zeros((X.shape[0], K.shape[0], H_out, W_out), dtype=np.result_type(X, K))
    for i in range(kh):
        for j in range(kw):
            patch = X[:, :, i:i + H_out, j:j + W_out]          # (N, C_in, H_out, W_out)
            A += np.einsum("nchw,oc->nohw", patch, K[:, :, i, j])
    A += np.asarray(b)[None, :, None, None]
    return A, (X, K)


def conv2d_backward(delta, cache):
    """Backward pass of :func:`conv2d_forward`.

    delta (N, C_out, H_out, W_out): dE_d/dA for every example d (not divided by N).
    Returns
        dX (N, C_in, H, W):        dE_d/dX per example (full correlation of delta with the flipped K),
        dK (C_out, C_in, kh, kw):  dE/dK, summed over positions (p, q), averaged over examples,
        db (C_out,):               dE/db, summed over positions, averaged over examples."""
    X, K = cache
    N, _, H, W = X.shape
    _, _, kh, kw = K.shape
    H_out, W_out = H - kh + 1, W - kw + 1
    delta = _check_delta(delta, (N, K.shape[0], H_out, W_out), "conv2d_backward")
    dX = np.zeros(X.shape, dtype=np.result_type(X, K, delta))
    dK = np.zeros(K.shape, dtype=dX.dtype)
    for i in range(kh):
        for j in range(kw):
            patch = X[:, :, i:i + H_out, j:j + W_out]
            dK[:, :, i, j] = np.einsum("nohw,nchw->oc", delta, patch) / N
            dX[:, :, i:i + H_out, j:j + W_out] += np.einsum("nohw,oc->nchw", delta, K[:, :, i, j])
    db = delta.sum(axis=(0, 2, 3)) / N
    return dX, dK, db


def full_correlation(delta, K):
    """dE_d/dX written as the derivation ends: the "full" cross-correlation of delta, padded
    with k - 1 zeros on every side, with the kernel flipped in every spatial axis and its
    channel axes swapped.

    1-D: delta (N, C_out, L_out), K (C_out, C_in, k) -> (N, C_in, L_out + k - 1)
    2-D: delta (N, C_out, H_out, W_out), K (C_out, C_in, kh, kw) -> (N, C_in, H_out + kh - 1, W_out + kw - 1)

    Equal to the dX of :func:`conv1d_backward` / :func:`conv2d_backward`; written with the
    forward pass itself, to show that the backward pass is a convolution too."""
    delta, K = np.asarray(delta), np.asarray(K)
    dims = K.ndim - 2
    if dims not in (1, 2) or delta.ndim != K.ndim or delta.shape[1] != K.shape[0]:
        raise ShapeError(f"full_correlation: expected delta (N, C_out, ...) and K (C_out, C_in, ...) with "
                         f"1 or 2 spatial axes, got delta {fmt_shape(delta.shape)}, K {fmt_shape(K.shape)}")
    pad = [(0, 0), (0, 0)] + [(k - 1, k - 1) for k in K.shape[2:]]
    padded = np.pad(delta, pad)
    flipped = np.swapaxes(K, 0, 1)[(slice(None), slice(None)) + (slice(None, None, -1),) * dims]
    forward = conv1d_forward if dims == 1 else conv2d_forward
    out, _ = forward(padded, flipped, np.zeros(K.shape[1]))
    return out


# ------------------------------------------------------------------ a tiny ConvNet
class ConvNet(Parameters):
    """conv 2-D -> g -> flatten -> dense -> g_out: the smallest useful convolutional network.

    Layers follow :class:`bpcore.Network` (k = 0 input, 1 conv, 2 = m output) and so do the
    names, so :func:`bpcore.train.train`, :func:`bpcore.gradcheck.check_gradients` and
    :func:`bpcore.gradcheck.directional_check` work on it unchanged:

        W[1] = K   (C, C_in, kh, kw)       b[1] (C,)       the shared convolution kernel
        W[2]       (C * H1 * W1, r_2)      b[2] (r_2,)     dense weights from the flattened maps
        a[1], o[1] (N, C, H1, W1)          H1 = H - kh + 1, W1 = W - kw + 1
        a[2], o[2] (N, r_2)                o[2] = Y_hat
        delta[1]   (N, C, H1, W1)          delta[2] (N, r_2)

    Inputs X are (N, C_in, H, W), or (N, H, W) for one channel. The loss is averaged over
    the N examples; gradients are averaged too (the course's convention)."""

    def __init__(self, in_shape=(1, 8, 8), channels=4, kernel=3, n_out=10, g="tanh",
                 g_out="softmax", loss="cross_entropy", seed=0, dtype=np.float64):
        C_in, H, W = (int(s) for s in in_shape)
        kh, kw = (kernel, kernel) if np.isscalar(kernel) else (int(kernel[0]), int(kernel[1]))
        if kh > H or kw > W:
            raise ShapeError(f"ConvNet: the kernel {kh}x{kw} is larger than the input {H}x{W}")
        self.in_shape, self.kernel, self.channels = (C_in, H, W), (kh, kw), int(channels)
        self.map_shape = (self.channels, H - kh + 1, W - kw + 1)
        self.sizes = [C_in * H * W, int(np.prod(self.map_shape)), int(n_out)]
        self.m = 2
        self.g, self.g_out, self.loss = get_activation(g), get_activation(g_out), get_loss(loss)
        self.dtype, self.seed = np.dtype(dtype), seed
        self.init_params(seed)
        self.a, self.o, self.delta = [], [], []

    def init_params(self, seed=0):
        """Kernel w ~ N(0, 2 / fan-in) with fan-in = C_in kh kw, Xavier (Glorot) dense layer, zero biases."""
        rng = np.random.default_rng(seed)
        C_in, (kh, kw), C = self.in_shape[0], self.kernel, self.channels
        fan_in = C_in * kh * kw
        K = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(C, C_in, kh, kw))
        r1, r2 = self.sizes[1], self.sizes[2]
        W2 = rng.normal(0.0, np.sqrt(2.0 / (r1 + r2)), size=(r1, r2))
        self.W = [None, K.astype(self.dtype), W2.astype(self.dtype)]
        self.b = [None, np.zeros(C, self.dtype), np.zeros(r2, self.dtype)]
        return self

    # parameters, named and ordered as in Network
    @property
    def param_names(self):
        return ["W[1]", "b[1]", "W[2]", "b[2]"]

    @property
    def params(self):
        return [self.W[1], self.b[1], self.W[2], self.b[2]]

    def copy(self):
        twin = ConvNet(self.in_shape, self.channels, self.kernel, self.sizes[2], self.g, self.g_out,
                       self.loss, self.seed, self.dtype)
        return twin.set_params(self.params)

    # forward
    def _input(self, X):
        X = np.asarray(X, dtype=self.dtype)
        if X.ndim == 3 and self.in_shape[0] == 1:
            X = X[:, None]
        if X.ndim == 2 and X.shape[1] == self.sizes[0]:
            X = X.reshape((len(X),) + self.in_shape)   # flattened images, as load_digits() gives
        if X.shape[1:] != self.in_shape:
            raise ShapeError(f"ConvNet input: expected X of shape (N, {', '.join(map(str, self.in_shape))}), "
                             f"got {fmt_shape(X.shape)}")
        return X

    def forward(self, X):
        """X (N, C_in, H, W) -> Y_hat (N, r_2); keeps a[k], o[k] and the conv cache."""
        X = self._input(X)
        N = len(X)
        a1, self._cache = conv2d_forward(X, self.W[1], self.b[1])
        o1 = self.g.g(a1)
        a2 = o1.reshape(N, -1) @ self.W[2] + self.b[2]
        o2 = self.g_out.g(a2)
        self.a, self.o = [None, a1, a2], [X, o1, o2]
        return o2

    __call__ = forward

    def predict(self, X):
        keep = self.a, self.o
        try:
            return self.forward(X)
        finally:
            self.a, self.o = keep

    def E(self, X, Y):
        Y_hat = self.forward(X)
        return self.loss.E(Y_hat, self._target(Y), self.a[2], self.g_out)

    # backward
    def _target(self, Y):
        if not self.o:
            raise RuntimeError("call forward(X) before backward(Y)")
        Y = np.asarray(Y, dtype=self.dtype)
        want = (self.o[0].shape[0], self.sizes[2])
        if Y.shape != want:
            hint = " (class labels? use bpcore.datasets.one_hot(y))" if Y.ndim == 1 else ""
            raise ShapeError(f"ConvNet output: expected Y of shape {fmt_shape(want)}, got {fmt_shape(Y.shape)}{hint}")
        return Y

    def backward(self, Y):
        """After forward(X): (dW, db) lists indexed by k = 1, 2 (averaged over N); keeps delta[k]."""
        Y = self._target(Y)
        a, o = self.a, self.o
        N = len(Y)
        delta2 = self.loss.output_delta(a[2], o[2], Y, self.g_out)            # (N, r_2)
        o1_flat = o[1].reshape(N, -1)
        dW2, db2 = weight_gradient(o1_flat, delta2), bias_gradient(delta2)
        # generalized delta rule through the dense layer, then back into map shape
        delta1 = hidden_delta(delta2, self.W[2], a[1].reshape(N, -1), self.g, o1_flat).reshape(a[1].shape)
        _, dK, dbK = conv2d_backward(delta1, self._cache)
        self.delta = [None, delta1, delta2]
        return [None, dK, dW2], [None, dbK, db2]

    def gradient(self, X, Y):
        self.forward(X)
        dW, db = self.backward(Y)
        return [dW[1], db[1], dW[2], db[2]]

    def __repr__(self):
        C_in, H, W = self.in_shape
        return (f"ConvNet(input {C_in}x{H}x{W} -> conv {self.channels} kernels {self.kernel[0]}x{self.kernel[1]} "
                f"-> {self.g.name} -> flatten {self.sizes[1]} -> dense {self.sizes[2]} -> {self.g_out.name}, "
                f"P={self.num_params})")
