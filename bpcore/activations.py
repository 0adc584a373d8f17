"""Activation functions g and their derivatives g'(a).

Every activation works element by element on an array ``a`` of any shape and
returns an array of the same shape:

    o = g(a)        the output of a node, o_j^k = g(a_j^k)
    g'(a)           the derivative do/da, used in the delta equations

``deriv(a, o=None)`` takes the output ``o = g(a)`` when the caller already has it:
sigmoid' = o (1 - o) and tanh' = 1 - o^2 then cost one multiplication.

Softmax is the exception: each output depends on every a of its row, so its
derivative is a Jacobian. ``Softmax.vjp`` multiplies by it; in practice it is
paired with cross-entropy, where the output delta simplifies to Y_hat - Y.

All functions are written to stay finite for |a| up to 1e3 and beyond.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "Activation", "Sigmoid", "Tanh", "ReLU", "Identity", "Softmax", "Step",
    "sigmoid", "tanh", "relu", "identity", "softmax", "step",
    "ACTIVATIONS", "get_activation",
]


class Activation:
    """An element-wise activation: ``g(a)`` and its derivative ``deriv(a)``."""

    name = "activation"
    #: True when g acts on each element alone (all but softmax).
    elementwise = True

    def __call__(self, a):
        return self.g(a)

    def g(self, a):
        """o = g(a); same shape as ``a``."""
        raise NotImplementedError

    def deriv(self, a, o=None):
        """g'(a), same shape as ``a``. ``o`` may pass g(a) if already known."""
        raise NotImplementedError

    def vjp(self, a, o, grad_o):
        """dE/da from dE/do: for element-wise g this is grad_o * g'(a)."""
        return grad_o * self.deriv(a, o)

    def __repr__(self):
        return f"<activation {self.name}>"


class Sigmoid(Activation):
    """sigma(a) = 1 / (1 + e^-a);  sigma'(a) = sigma(a) (1 - sigma(a))."""

    name = "sigmoid"

    def g(self, a):
        a = np.asarray(a)
        # e^-|a| never overflows; pick the form that divides by a number >= 1.
        z = np.exp(-np.abs(a))
        return np.where(a >= 0, 1.0 / (1.0 + z), z / (1.0 + z))

    def deriv(self, a, o=None):
        if o is None:
            o = self.g(a)
        return o * (1.0 - o)


class Tanh(Activation):
    """tanh(a);  tanh'(a) = 1 - tanh(a)^2."""

    name = "tanh"

    def g(self, a):
        return np.tanh(a)

    def deriv(self, a, o=None):
        if o is None:
            o = np.tanh(a)
        return 1.0 - o * o


class ReLU(Activation):
    """relu(a) = max(0, a);  relu'(a) = 1 where a > 0, else 0 (we take 0 at a = 0)."""

    name = "relu"

    def g(self, a):
        return np.maximum(a, 0.0)

    def deriv(self, a, o=None):
        a = np.asarray(a)
        return (a > 0).astype(a.dtype if a.dtype.kind == "f" else np.float64)


class Identity(Activation):
    """g(a) = a;  g'(a) = 1. The usual output for regression."""

    name = "identity"

    def g(self, a):
        return np.asarray(a)

    def deriv(self, a, o=None):
        a = np.asarray(a)
        return np.ones_like(a, dtype=a.dtype if a.dtype.kind == "f" else np.float64)


class Step(Activation):
    """Heaviside step: 1 where a >= 0, else 0.

    Its derivative is 0 wherever it exists (and undefined at 0), so no gradient
    ever flows through it: this is why backpropagation cannot train it.
    ``deriv`` returns those zeros so the course can show the dead end.
    """

    name = "step"

    def g(self, a):
        a = np.asarray(a)
        return (a >= 0).astype(a.dtype if a.dtype.kind == "f" else np.float64)

    def deriv(self, a, o=None):
        a = np.asarray(a)
        return np.zeros_like(a, dtype=a.dtype if a.dtype.kind == "f" else np.float64)


class Softmax(Activation):
    """softmax(a)_j = e^{a_j} / sum_l e^{a_l}, along the last axis (one row per example).

    Not element-wise: d o_j / d a_l = o_j (1[j = l] - o_l). ``deriv`` is therefore
    not defined; use ``vjp``, or pair softmax with cross-entropy (delta = Y_hat - Y).
    """

    name = "softmax"
    elementwise = False

    def g(self, a):
        # Subtracting the row maximum changes nothing mathematically and keeps e^a <= 1.
        e = np.exp(a - a.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def deriv(self, a, o=None):
        raise TypeError(
            "softmax has no element-wise derivative: its Jacobian is "
            "o_j (1[j=l] - o_l). Use Softmax.vjp(a, o, grad_o), or pair softmax "
            "with cross-entropy, where the output delta is Y_hat - Y.")

    def vjp(self, a, o, grad_o):
        if o is None:
            o = self.g(a)
        # sum_j grad_o_j * o_j (1[j=l] - o_l) = o_l (grad_o_l - sum_j grad_o_j o_j)
        return o * (grad_o - (grad_o * o).sum(axis=-1, keepdims=True))


sigmoid = Sigmoid()
tanh = Tanh()
relu = ReLU()
identity = Identity()
softmax = Softmax()
step = Step()

#: The activations known by name.
ACTIVATIONS = {f.name: f for f in (sigmoid, tanh, relu, identity, softmax, step)}


def get_activation(g):
    """Return the activation called ``g`` (a name such as "tanh"), or ``g`` itself
    if it is already an :class:`Activation`."""
    if isinstance(g, Activation):
        return g
    if isinstance(g, str) and g.lower() in ACTIVATIONS:
        return ACTIVATIONS[g.lower()]
    raise ValueError(
        f"unknown activation {g!r}; known activations: {', '.join(sorted(ACTIVATIONS))}")
