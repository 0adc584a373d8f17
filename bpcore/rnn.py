"""A small recurrent (Elman) network and backpropagation through time (BPTT).

Three layers as in the course, k = 0 (input), 1 (hidden, recurrent), 2 (output), with
r_0 = d_in, r_1 = H, r_2 = d_out nodes; ``sizes = [r_0, r_1, r_2]``. The input is a
*sequence* x_1 .. x_T and the hidden layer also receives its own output of the step before:

    a_t     = x_t W_x + h_{t-1} W_h + b          (N, r_1)   activation of the hidden layer
    h_t     = g(a_t)                             (N, r_1)   its output; h_0 = 0
    a_out_t = h_t W_y + b_y                      (N, r_2)   activation of the output layer
    y_hat_t = g_out(a_out_t)                     (N, r_2)

The same W_x (r_0, r_1), W_h (r_1, r_1), b (r_1,), W_y (r_1, r_2), b_y (r_2,) are used at
every step t = 1 .. T: that is what "recurrent" means, and why the weight gradients are sums
over time steps (weight sharing).

Two ways to score a sequence, both with E = 1/2 (y_hat - y)^2 (MSE) averaged over the N
sequences:

    mode="many_to_many"   a target y_t at every step:  E = (1/N) sum_n sum_t 1/2 |y_hat_t - y_t|^2
    mode="many_to_one"    one target after the last:   E = (1/N) sum_n 1/2 |y_hat_T - y|^2

Backpropagation through time (the deltas are per sequence, like Network.delta[k]):

    delta_out_t = dE/da_out_t = (y_hat_t - y_t) * g_out'(a_out_t)                 (N, r_2)
    delta_t     = dE/da_t     = g'(a_t) * (delta_{t+1} W_h^T + delta_out_t W_y^T)  (N, r_1)
                  with delta_{T+1} = 0 (and no output term where a step has no output)
    dE/dW_x = (1/N) sum_t x_t^T delta_t        dE/dW_h = (1/N) sum_t h_{t-1}^T delta_t
    dE/db   = (1/N) sum_t sum_n delta_t[n]     dE/dW_y = (1/N) sum_t h_t^T delta_out_t
    dE/db_y = (1/N) sum_t sum_n delta_out_t[n]

Arrays hold time on axis 1: X is (N, T, r_0), so x_t is ``X[:, t - 1]`` (t counts from 1 as in
the equations). The lists the network keeps are indexed by t itself: ``rnn.a[t]``, ``rnn.h[t]``,
``rnn.delta[t]`` for t = 1 .. T, with ``rnn.h[0]`` = h_0 = 0 and ``rnn.a[0]`` = ``rnn.delta[0]`` = None.

Gradient clipping (:func:`clip_by_norm`) and gradient descent (:func:`step`, :func:`train_rnn`)
use the gradient; they are not part of backpropagation and are kept apart from it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .activations import get_activation
from .equations import gradient_descent_step
from .errors import ShapeError, fmt_shape
from .params import Parameters
from .gradcheck import DEFAULT_FLOOR, check_gradients
from .train import History, end_epoch

__all__ = ["RNN", "MODES", "bptt_delta", "step_norms", "clip_by_norm", "global_norm", "step",
           "train_rnn", "RNNHistory", "check_rnn_gradients", "delayed_echo"]

#: How a sequence is scored: mode -> description.
MODES = {
    "many_to_many": "a target at every step t = 1..T; E sums the steps' errors",
    "many_to_one": "one target after the last step T; only y_hat_T is scored",
}

PARAM_NAMES = ("W_x", "W_h", "b", "W_y", "b_y")


def bptt_delta(delta_next, W_h, delta_out, W_y, a_t, g, h_t=None):
    """One step of backpropagation through time: the hidden delta at step t.

        delta_t = g'(a_t) * (delta_{t+1} W_h^T + delta_out_t W_y^T)

    h_t feeds two places, the next step's hidden layer (through W_h) and this step's
    output (through W_y), so its error is the sum of what flows back from both
    (the generalized delta rule, with two layers above instead of one).

    delta_next (N, r_1)      delta_{t+1}; zeros at the last step t = T
    W_h        (r_1, r_1)    recurrent weights
    delta_out  (N, r_2)      delta_out_t, or None when step t has no output (many-to-one, t < T)
    W_y        (r_1, r_2)    output weights
    a_t        (N, r_1)      the hidden activations of step t
    g          hidden activation (name or Activation); ``h_t = g(a_t)`` may be passed to save work
    returns    (N, r_1)
    """
    back = delta_next @ W_h.T
    if delta_out is not None:
        back = back + delta_out @ W_y.T
    return get_activation(g).deriv(a_t, h_t) * back


def step_norms(delta):
    """The size of the error signal at every step: for t = 1..T, the mean over the N sequences
    of the Euclidean norm |delta_t[n]|. ``delta`` is the list ``rnn.delta`` (index 0 unused).
    Returns shape (T,); entry t - 1 belongs to step t."""
    return np.array([float(np.mean(np.linalg.norm(d, axis=1))) for d in delta[1:]])


class RNN(Parameters):
    """An Elman recurrent network trained by backpropagation through time.

    Parameters
    ----------
    sizes : [r_0, r_1, r_2] = [inputs per step, hidden nodes, outputs per step].
    g : hidden activation (name or Activation), default "tanh".
    g_out : output activation, default "sigmoid".
    mode : "many_to_many" (targets Y of shape (N, T, r_2)) or "many_to_one" (Y (N, r_2)).
    scale : W_x ~ N(0, scale^2 / r_0) and W_y ~ N(0, scale^2 / r_1); biases start at 0.
    rho : W_h is a random normal matrix rescaled so that its spectral radius (largest
          |eigenvalue|) is exactly ``rho``: below 1 the memory fades, above 1 it can blow up.
    seed : makes the initial weights reproducible.
    dtype : float64 by default (gradient checks need it); float32 allowed.

    After ``forward(X)``: ``a[t]``, ``h[t]`` (N, r_1), ``a_out[t]``, ``y_hat[t]`` (N, r_2) for
    t = 1..T (output lists hold None at steps without output). After ``backward(Y)``:
    ``delta[t]`` (N, r_1), ``delta_out[t]`` (N, r_2) or None, ``grads`` (dict by parameter name)
    and ``step_norms`` (T,).
    """

    def __init__(self, sizes, g="tanh", g_out="sigmoid", mode="many_to_many", scale=1.0, rho=0.9,
                 seed=0, dtype=np.float64):
        sizes = [int(r) for r in sizes]
        if len(sizes) != 3 or min(sizes) < 1:
            raise ValueError(f"sizes must be [r_0, r_1, r_2] (inputs, hidden, outputs), each >= 1, got {sizes}")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"dtype must be a float type (float64 or float32), got {self.dtype}")
        self.sizes, self.mode = sizes, mode
        self.g, self.g_out = get_activation(g), get_activation(g_out)
        if not (self.g.elementwise and self.g_out.elementwise):
            raise ValueError("this RNN needs element-wise activations (no softmax)")
        self.init_params(scale, rho, seed)
        self.a, self.h, self.a_out, self.y_hat, self.delta, self.delta_out = [], [], [], [], [], []

    # ------------------------------------------------------------------ parameters
    def init_params(self, scale=1.0, rho=0.9, seed=0):
        """(Re)draw the parameters. Same arguments, same numbers."""
        r0, r1, r2 = self.sizes
        rng = np.random.default_rng(seed)
        self.scale, self.rho, self.seed = scale, rho, seed
        W_x = rng.normal(0.0, scale / np.sqrt(r0), size=(r0, r1))
        W_h = rng.normal(size=(r1, r1))
        radius = float(np.max(np.abs(np.linalg.eigvals(W_h))))
        W_h = W_h * (rho / radius) if radius > 0 else W_h * 0.0
        W_y = rng.normal(0.0, scale / np.sqrt(r1), size=(r1, r2))
        self.W_x, self.W_h, self.W_y = (W.astype(self.dtype) for W in (W_x, W_h, W_y))
        self.b, self.b_y = np.zeros(r1, self.dtype), np.zeros(r2, self.dtype)
        return self

    @property
    def param_names(self):
        """['W_x', 'W_h', 'b', 'W_y', 'b_y'], the order of :attr:`params`."""
        return list(PARAM_NAMES)

    @property
    def params(self):
        """theta as a list of the arrays themselves (not copies), in the order of :attr:`param_names`."""
        return [getattr(self, n) for n in PARAM_NAMES]

    def copy(self):
        """An independent network with the same sizes, settings and parameters."""
        twin = RNN(self.sizes, self.g, self.g_out, self.mode, self.scale, self.rho, self.seed, self.dtype)
        return twin.set_params(self.params)

    # ------------------------------------------------------------------ forward
    def _input(self, X):
        X = np.asarray(X, dtype=self.dtype)
        r0 = self.sizes[0]
        if X.ndim != 3 or X.shape[2] != r0 or X.shape[1] < 1:
            hint = ""
            if X.ndim == 2 and r0 == 1:
                hint = " (one input per step? use X[..., None])"
            elif X.ndim == 2 and X.shape[1] == r0:
                hint = " (one sequence? use X[None])"
            raise ShapeError(f"input: expected X of shape (N, T, {r0}) (N sequences of T >= 1 steps, "
                             f"{r0} input(s) per step), got {fmt_shape(X.shape)}{hint}")
        return X

    def _outputs_at(self, T):
        """The steps t that have an output."""
        return range(1, T + 1) if self.mode == "many_to_many" else range(T, T + 1)

    def forward(self, X, probe=None):
        """Forward pass over the sequences X (N, T, r_0).

        Returns Y_hat: (N, T, r_2) for many-to-many, (N, r_2) (the last step) for many-to-one.
        Keeps a[t], h[t], a_out[t], y_hat[t] for t = 1..T (h[0] = 0).

        ``probe`` (N, T, r_1), optional, is added to every a_t (``probe[:, t-1]`` to a_t):
        at probe = 0 nothing changes, and dE/dprobe[:, t-1] = delta_t / N, so a finite-difference
        gradient with respect to the probe checks every delta numerically."""
        X = self._input(X)
        N, T, _ = X.shape
        r1 = self.sizes[1]
        if probe is not None and np.shape(probe) != (N, T, r1):
            raise ShapeError(f"probe: expected shape ({N}, {T}, {r1}) like the hidden activations, "
                             f"got {fmt_shape(np.shape(probe))}")
        self._check_param_shapes()
        a, h = [None] * (T + 1), [None] * (T + 1)
        a_out, y_hat = [None] * (T + 1), [None] * (T + 1)
        h[0] = np.zeros((N, r1), dtype=self.dtype)
        XW = X @ self.W_x + self.b                        # x_t W_x + b for every t at once: (N, T, r_1)
        if probe is not None:
            XW = XW + probe
        for t in range(1, T + 1):
            a[t] = XW[:, t - 1] + h[t - 1] @ self.W_h     # a_t = x_t W_x + h_{t-1} W_h + b
            h[t] = self.g.g(a[t])                          # h_t = g(a_t)
        for t in self._outputs_at(T):
            a_out[t] = h[t] @ self.W_y + self.b_y         # a_out_t = h_t W_y + b_y
            y_hat[t] = self.g_out.g(a_out[t])              # y_hat_t = g_out(a_out_t)
        self.X, self.a, self.h, self.a_out, self.y_hat = X, a, h, a_out, y_hat
        return self._stack_outputs()

    __call__ = forward

    def _stack_outputs(self):
        if self.mode == "many_to_one":
            return self.y_hat[-1]
        return np.stack(self.y_hat[1:], axis=1)

    def _check_param_shapes(self):
        r0, r1, r2 = self.sizes
        want = {"W_x": (r0, r1), "W_h": (r1, r1), "b": (r1,), "W_y": (r1, r2), "b_y": (r2,)}
        for name, shape in want.items():
            got = np.shape(getattr(self, name))
            if got != shape:
                raise ShapeError(f"{name}: expected shape {fmt_shape(shape)} for sizes {self.sizes}, got {fmt_shape(got)}")

    def predict(self, X):
        """Y_hat for X without changing what forward/backward keep."""
        keep = (getattr(self, "X", None), self.a, self.h, self.a_out, self.y_hat)
        try:
            return self.forward(X)
        finally:
            self.X, self.a, self.h, self.a_out, self.y_hat = keep

    def E(self, X, Y, probe=None):
        """The error: 1/2 (y_hat - y)^2 summed over outputs (and steps, for many-to-many),
        averaged over the N sequences (a forward pass)."""
        Y_hat = self.forward(X, probe)
        Y = self._target(Y)
        diff = Y_hat - Y
        return 0.5 * float(np.sum(diff * diff)) / Y.shape[0]

    # ------------------------------------------------------------------ backward
    def _target(self, Y):
        if not self.a:
            raise RuntimeError("call forward(X) before backward(Y): backward needs a[t] and h[t]")
        N, T, _ = self.X.shape
        r2 = self.sizes[2]
        Y = np.asarray(Y, dtype=self.dtype)
        want = (N, T, r2) if self.mode == "many_to_many" else (N, r2)
        if Y.shape != want:
            hint = ""
            if self.mode == "many_to_one" and Y.shape == (N, T, r2):
                hint = " (this network is many-to-one: pass only the last step's targets, Y[:, -1])"
            elif self.mode == "many_to_many" and Y.shape == (N, r2):
                hint = " (this network is many-to-many: it needs a target at every step)"
            elif Y.shape == want[:-1] and r2 == 1:
                hint = " (use Y[..., None])"
            raise ShapeError(f"targets: expected Y of shape {fmt_shape(want)} for {self.mode} with the last "
                             f"forward pass (N={N}, T={T}, r_2={r2}), got {fmt_shape(Y.shape)}{hint}")
        return Y

    def backward(self, Y):
        """Backpropagation through time after ``forward(X)``.

        Y: (N, T, r_2) for many-to-many, (N, r_2) for many-to-one.
        Returns the gradient as a dict {"W_x", "W_h", "b", "W_y", "b_y"}, each of its
        parameter's shape and averaged over the N sequences. Keeps delta[t] (N, r_1),
        delta_out[t] (N, r_2) or None, grads and step_norms (T,)."""
        Y = self._target(Y)
        X, a, h, a_out, y_hat = self.X, self.a, self.h, self.a_out, self.y_hat
        N, T, _ = X.shape
        r1 = self.sizes[1]
        targets = {T: Y} if self.mode == "many_to_one" else {t: Y[:, t - 1] for t in range(1, T + 1)}
        delta_out = [None] * (T + 1)
        for t, y_t in targets.items():                                     # equation 2, at each step
            delta_out[t] = self.g_out.vjp(a_out[t], y_hat[t], y_hat[t] - y_t)
        delta = [None] * (T + 1)
        delta_next = np.zeros((N, r1), dtype=self.dtype)                   # delta_{T+1} = 0
        for t in range(T, 0, -1):                                          # backwards through time
            delta[t] = bptt_delta(delta_next, self.W_h, delta_out[t], self.W_y, a[t], self.g, h[t])
            delta_next = delta[t]
        # weight sharing: every parameter's gradient is a sum over the steps t, then a mean over N.
        # With the steps stacked as extra rows, each sum over t and n is one matrix product.
        rows = lambda arrays: np.concatenate(arrays, axis=0)  # noqa: E731  [(N, r), ...] -> (N * steps, r)
        D = rows(delta[1:])                                # delta_t,   t = 1..T
        out = [t for t in range(1, T + 1) if delta_out[t] is not None]
        D_out = rows([delta_out[t] for t in out])          # delta_out_t where step t has an output
        grads = {
            "W_x": rows([X[:, t - 1] for t in range(1, T + 1)]).T @ D / N,   # (1/N) sum_t x_t^T delta_t
            "W_h": rows(h[:T]).T @ D / N,                                    # (1/N) sum_t h_{t-1}^T delta_t
            "b": D.sum(axis=0) / N,                                          # (1/N) sum_t sum_n delta_t
            "W_y": rows([h[t] for t in out]).T @ D_out / N,                  # (1/N) sum_t h_t^T delta_out_t
            "b_y": D_out.sum(axis=0) / N,                                    # (1/N) sum_t sum_n delta_out_t
        }
        self.delta, self.delta_out, self.grads = delta, delta_out, grads
        self.step_norms = step_norms(delta)
        return grads

    def gradient(self, X, Y):
        """Forward then backward; the gradient as a list in the order of :attr:`params`."""
        self.forward(X)
        grads = self.backward(Y)
        return [grads[n] for n in PARAM_NAMES]

    def __repr__(self):
        return (f"RNN(sizes={self.sizes}, g={self.g.name!r}, g_out={self.g_out.name!r}, mode={self.mode!r}, "
                f"rho={self.rho}, seed={self.seed}, P={self.num_params})")


# ------------------------------------------------------------------ gradient checking
def check_rnn_gradients(rnn, X, Y, h=1e-3, tol=1e-7, floor=DEFAULT_FLOOR, grads=None, order=4):
    """Check BPTT's gradient of every parameter against central differences of ``rnn.E``:
    :func:`bpcore.gradcheck.check_gradients`, which takes ``grads`` as a list in the order of
    ``rnn.params`` or a dict by name. Returns a GradCheckReport (print it; ``.assert_ok()``)."""
    return check_gradients(rnn, X, Y, h=h, tol=tol, floor=floor, grads=grads, order=order)


# ------------------------------------------------------------------ using the gradient
def global_norm(grads):
    """sqrt of the sum of squares of every entry of every gradient array (a list or dict)."""
    arrays = grads.values() if isinstance(grads, dict) else grads
    return float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in arrays)))


def clip_by_norm(grads, max_norm):
    """Gradient clipping by global norm: if |grad| > max_norm, scale *all* gradient arrays by
    max_norm / |grad|, so the direction is kept and the length becomes max_norm.

    Not part of backpropagation: it changes the step gradient descent takes, not the gradient.
    ``grads`` is a dict by name or a list; returns (clipped copy of the same kind, norm before)."""
    if not (np.isfinite(max_norm) and max_norm > 0):
        raise ValueError(f"max_norm must be a positive number, got {max_norm}")
    norm = global_norm(grads)
    factor = max_norm / norm if norm > max_norm else 1.0
    if isinstance(grads, dict):
        return {k: g * factor for k, g in grads.items()}, norm
    return [g * factor for g in grads], norm


def step(rnn, grads, lr):
    """One gradient-descent update of every parameter in place: theta <- theta - lr dE/dtheta."""
    for name in PARAM_NAMES:
        gradient_descent_step(getattr(rnn, name), grads[name], lr)


@dataclass
class RNNHistory(History):
    """A :class:`bpcore.train.History` that also records ``grad_norm``: the global gradient
    norm before clipping, one entry per update."""
    grad_norm: list = field(default_factory=list)
    clip: float | None = None


def _accuracy(rnn, Y_hat, Y):
    """Fraction of scored outputs on the right side of 0.5 (sigmoid outputs only, else None)."""
    if rnn.g_out.name != "sigmoid":
        return None
    return float(np.mean((Y_hat > 0.5) == (Y > 0.5)))


def train_rnn(rnn, X, Y, lr=0.5, epochs=100, batch_size=None, clip=None, shuffle=True, seed=0,
              callback=None):
    """Train ``rnn`` on sequences X (N, T, r_0) and targets Y by gradient descent with BPTT.

    ``clip`` (optional) is the max_norm of :func:`clip_by_norm`, applied to every gradient
    before its step. ``batch_size`` None = full batch, else mini-batches of sequences
    (shuffled with ``seed``). ``callback(epoch, history, rnn)`` runs after every epoch;
    returning False stops. Like :func:`bpcore.train.train`, a NaN/inf loss rolls back the
    last epoch and stops with ``history.diverged``. Returns an :class:`RNNHistory`."""
    X = rnn._input(X)
    N = X.shape[0]
    Y_hat = rnn.forward(X)
    Y = rnn._target(Y)
    if batch_size is not None:
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be None (full batch) or >= 1, got {batch_size}")
        if batch_size >= N:
            batch_size = None
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"learning rate must be a positive number, got {lr}")
    rng = np.random.default_rng(seed)
    hist = RNNHistory(lr=lr, batch_size=batch_size, clip=clip)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        if _accuracy(rnn, Y_hat, Y) is not None:
            hist.accuracy = []
        for epoch in range(1, epochs + 1):
            keep = [p.copy() for p in rnn.params]
            order = rng.permutation(N) if (shuffle and batch_size) else np.arange(N)
            for start in range(0, N, batch_size or N):
                if batch_size is not None:  # full batch: the forward pass of X is already there
                    rows = order[start:start + batch_size]
                    rnn.forward(X[rows])
                grads = rnn.backward(Y if batch_size is None else Y[rows])
                if clip is not None:
                    grads, norm = clip_by_norm(grads, clip)
                else:
                    norm = global_norm(grads)
                hist.grad_norm.append(norm)
                step(rnn, grads, lr)
            Y_hat = rnn.forward(X)
            E = 0.5 * float(np.sum((Y_hat - Y) ** 2)) / N
            if end_epoch(hist, rnn, epoch, E, keep, lambda: _accuracy(rnn, Y_hat, Y), callback):
                break
    return hist


# ------------------------------------------------------------------ a task
def delayed_echo(n, T, delay, seed=0):
    """The echo task: random bits x_1..x_T; the target at step t is the bit from ``delay``
    steps earlier, y_t = x_{t - delay} (and 0 for t <= delay, before the sequence began).

    Returns X, Y, both float arrays of shape (n, T, 1). The network can only solve it by
    remembering: the answer at step t is no longer in the input at step t."""
    if not (0 <= delay < T):
        raise ValueError(f"delay must be in 0 .. T-1 = {T - 1}, got {delay}")
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, size=(n, T, 1)).astype(float)
    Y = np.zeros_like(X)
    Y[:, delay:] = X[:, :T - delay]
    return X, Y
