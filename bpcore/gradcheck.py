"""Gradient checking: compare backprop's gradient with finite differences.

    central difference   dE/dtheta_i ~ (E(theta + h e_i) - E(theta - h e_i)) / 2h   error O(h^2)
    forward difference   dE/dtheta_i ~ (E(theta + h e_i) - E(theta)) / h             error O(h)
    relative error       |a - b| / max(|a|, |b|, floor)

The floor keeps the relative error meaningful where both gradients are ~0.
Rules of thumb in float64 with a smooth network: below 1e-7 is right; 1e-7 .. 1e-4
deserves a look (kinks such as ReLU at 0 can cause it); above 1e-4 is a bug.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ShapeError, fmt_shape

__all__ = [
    "numerical_gradient", "forward_difference_gradient", "relative_error",
    "max_relative_error", "ParamCheck", "GradCheckReport", "check_gradients",
    "DirectionalCheck", "directional_check",
]

# With the 4th-order stencil and h = 1e-3 the numerical gradient of an E of order 1
# is accurate to ~1e-13 in absolute terms; a floor of 1e-5 keeps noise on zero
# gradients (dead ReLUs) below 1e-7 relative, while real gradients >= 1e-5 are
# compared truly relatively.
DEFAULT_FLOOR = 1e-5


def numerical_gradient(f, x, h=1e-5, order=2):
    """Central-difference gradient of the scalar function ``f(x)`` at array ``x``.

    order=2: (f(x + h e_i) - f(x - h e_i)) / 2h, error O(h^2), 2 calls of f per element.
    order=4: (-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / 12h, error O(h^4), 4 calls;
             use it with h ~ 1e-3 when gradients are tiny and a strict tolerance is needed.

    ``x`` is perturbed in place one element at a time and restored exactly.
    Returns a float64 array of x's shape. Note: f is not called again after the last
    restore, so state that f leaves behind (a network's a[k], o[k]) belongs to the last
    perturbed point: run a forward pass before reading it."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"x must be a float array to perturb, got dtype {x.dtype}")
    if order not in (2, 4):
        raise ValueError(f"order must be 2 or 4, got {order}")
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        keep = x[i]

        def f_at(step):
            x[i] = keep + step
            return f(x)

        if order == 2:
            grad[i] = (f_at(h) - f_at(-h)) / (2 * h)
        else:
            grad[i] = (-f_at(2 * h) + 8 * f_at(h) - 8 * f_at(-h) + f_at(-2 * h)) / (12 * h)
        x[i] = keep
    return grad


def forward_difference_gradient(f, x, h=1e-5):
    """Forward-difference gradient (f(x + h e_i) - f(x)) / h: cheaper, less exact (error O(h))."""
    x = np.asarray(x)
    grad = np.zeros_like(x, dtype=np.float64)
    f0 = f(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        keep = x[i]
        x[i] = keep + h
        grad[i] = (f(x) - f0) / h
        x[i] = keep
    return grad


def relative_error(a, b, floor=DEFAULT_FLOOR):
    """Element-wise |a - b| / max(|a|, |b|, floor); arrays of the same shape."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error needs equal shapes, got {a.shape} and {b.shape}")
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)


def max_relative_error(a, b, floor=DEFAULT_FLOOR):
    """(largest element-wise relative error, its index)."""
    err = relative_error(a, b, floor)
    if err.size == 0:
        return 0.0, ()
    idx = np.unravel_index(int(np.nanargmax(np.where(np.isnan(err), np.inf, err))), err.shape)
    return float(err[idx]), tuple(int(i) for i in idx)


@dataclass
class ParamCheck:
    """The check of one parameter array, e.g. W[2]."""
    name: str
    shape: tuple
    max_rel_error: float
    where: tuple            # index of the worst element
    analytic: float         # backprop's value there
    numeric: float          # finite differences' value there
    ok: bool


@dataclass
class GradCheckReport:
    """Every parameter's check. ``ok`` is True only if every parameter passed."""
    checks: list = field(default_factory=list)
    tol: float = 1e-7
    kinks: int = 0          # pre-activations within 2h of a kink (ReLU/step at 0)

    @property
    def ok(self):
        return all(c.ok for c in self.checks)

    @property
    def max_rel_error(self):
        return max((c.max_rel_error for c in self.checks), default=0.0)

    @property
    def failures(self):
        return [c for c in self.checks if not c.ok]

    def __str__(self):
        lines = [f"{'param':<7} {'shape':<10} {'max rel err':>12}  {'at':<8} "
                 f"{'backprop':>12} {'numerical':>12}  verdict"]
        for c in self.checks:
            lines.append(f"{c.name:<7} {str(c.shape):<10} {c.max_rel_error:12.2e}  {str(c.where):<8} "
                         f"{c.analytic:12.5g} {c.numeric:12.5g}  {'ok' if c.ok else 'FAIL'}")
        lines.append(f"tolerance {self.tol:.0e}: " + ("all gradients agree" if self.ok else
                     f"{len(self.failures)} parameter(s) disagree"))
        if self.kinks:
            lines.append(f"note: {self.kinks} activation(s) lie within 2h of a kink; finite "
                         "differences straddle it there and can disagree with a correct backprop")
        return "\n".join(lines)

    _repr_pretty_ = lambda self, p, cycle: p.text(str(self))  # noqa: E731

    def assert_ok(self):
        """Raise AssertionError naming the worst failing parameter, or return self."""
        if not self.ok:
            c = max(self.failures, key=lambda c: c.max_rel_error)
            raise AssertionError(
                f"gradient check failed for {c.name}{list(c.where)}: backprop {c.analytic:.6g}, "
                f"numerical {c.numeric:.6g}, relative error {c.max_rel_error:.2e} > {self.tol:.0e}\n{self}")
        return self


def check_gradients(net, X, Y, h=1e-3, tol=1e-7, floor=DEFAULT_FLOOR, grads=None, order=4):
    """Check backprop's gradient of every W[k] and b[k] against central differences.

    ``grads`` may pass the gradient to test as a list in the order of ``net.params`` or a
    dict by name (by default: ``net.gradient(X, Y)``). Works for any model with ``params``,
    ``param_names``, ``gradient`` and ``E`` (Network, RNN, ConvNet). Costs 4 P forward passes with the default
    order=4 (2 P with order=2); for big nets use :func:`directional_check`.
    Afterwards the network holds a fresh forward pass of X."""
    if grads is None:
        grads = net.gradient(X, Y)
    if isinstance(grads, dict):
        grads = [grads[n] for n in net.param_names]
    checks = []
    for name, theta, g in zip(net.param_names, net.params, grads):
        g = np.asarray(g)
        if g.shape != theta.shape:
            raise ShapeError(f"{name}: gradient has shape {fmt_shape(g.shape)}, "
                             f"parameter has {fmt_shape(theta.shape)}")
        num = numerical_gradient(lambda _: net.E(X, Y), theta, h, order)
        err, where = max_relative_error(g, num, floor)
        checks.append(ParamCheck(name, theta.shape, err, where, float(g[where]) if g.size else 0.0,
                                 float(num[where]) if g.size else 0.0, bool(err <= tol)))
    return GradCheckReport(checks, tol, count_kinks(net, X, 2 * h))


def count_kinks(net, X, radius):
    """How many a[k] of non-smooth layers (relu, step) lie within ``radius`` of 0.
    (A model without layers k = 1..m, such as the RNN, has none counted.)"""
    net.forward(X)
    if not hasattr(net, "m"):
        return 0
    total = 0
    for k in range(1, net.m + 1):
        g = net.g_out if k == net.m else net.g
        if g.name in ("relu", "step"):
            total += int(np.sum(np.abs(net.a[k]) < radius))
    return total


@dataclass
class DirectionalCheck:
    """grad . v from backprop against (E(theta + h v) - E(theta - h v)) / 2h."""
    analytic: float
    numeric: float
    rel_error: float
    ok: bool
    forward_passes: int


def directional_check(net, X, Y, seed=0, h=1e-4, tol=1e-6, grads=None):
    """Cheap check for large networks: one random unit direction v, three forward passes.

    A wrong gradient passes only if its error happens to be orthogonal to v,
    which for a random v has probability zero."""
    if grads is None:
        grads = net.gradient(X, Y)
    theta = net.get_params()
    g = np.concatenate([np.asarray(d).ravel() for d in grads])
    v = np.random.default_rng(seed).normal(size=theta.shape)
    v /= np.linalg.norm(v)
    try:
        net.set_params(theta + h * v)
        e_plus = net.E(X, Y)
        net.set_params(theta - h * v)
        e_minus = net.E(X, Y)
    finally:
        net.set_params(theta)
    numeric = (e_plus - e_minus) / (2 * h)
    analytic = float(g @ v)
    err = float(relative_error(analytic, numeric))
    return DirectionalCheck(analytic, numeric, err, bool(err <= tol), 3)
