"""The backpropagation equations of the course, one function each, in the order
they are derived (see the course brief). Batched: rows are the N examples.

Shapes, for layer k with r_k nodes:
    O^{k-1}  (N, r_{k-1})    outputs of the layer below (O^0 = X)
    W^k      (r_{k-1}, r_k)  W^k[i, j] = w_ij^k
    b^k      (r_k,)
    A^k      (N, r_k)        activations, A^k = O^{k-1} W^k + b^k
    delta^k  (N, r_k)        delta^k = dE_d/dA^k for each example d
"""
from __future__ import annotations

from .activations import get_activation

__all__ = [
    "activation", "output_delta_mse", "hidden_delta",
    "weight_gradient", "bias_gradient", "gradient_descent_step",
]


def activation(O_prev, W, b):
    """Forward: A^k = O^{k-1} W^k + b^k.  (N, r_{k-1}) @ (r_{k-1}, r_k) + (r_k,) -> (N, r_k)."""
    return O_prev @ W + b


def output_delta_mse(Y_hat, Y, A, g_out, O=None):
    """Equation 2: delta^m = (Y_hat - Y) * g_o'(A^m).  All arrays (N, r_m).

    ``O`` (= Y_hat) is accepted for symmetry; g_o' can be computed from it."""
    return get_activation(g_out).vjp(A, Y_hat, Y_hat - Y)


def hidden_delta(delta_next, W_next, A, g, O=None):
    """Equation 3, the generalized delta rule:
    delta^k = (delta^{k+1} W^{k+1 T}) * g'(A^k).

    delta_next (N, r_{k+1}), W_next (r_k, r_{k+1}), A (N, r_k) -> (N, r_k).
    ``O = g(A)`` may be passed to save recomputing it inside g'."""
    return (delta_next @ W_next.T) * get_activation(g).deriv(A, O)


def weight_gradient(O_prev, delta):
    """Equations 1 and 5: dE/dW^k = O^{k-1 T} delta^k / N.
    (N, r_{k-1}), (N, r_k) -> (r_{k-1}, r_k): the mean over examples of o_i^{k-1} delta_j^k."""
    return O_prev.T @ delta / delta.shape[0]


def bias_gradient(delta):
    """Equation 4 (averaged, equation 5): dE/db^k = mean of delta^k over rows. (N, r_k) -> (r_k,)."""
    return delta.mean(axis=0)


def gradient_descent_step(theta, grad, lr):
    """Equation 6: theta <- theta - alpha * dE/dtheta, in place; returns theta.

    This is not backpropagation: backprop computed ``grad``; this step uses it."""
    theta -= lr * grad
    return theta
