"""Losses E and the output-layer delta they give.

Shapes: Y_hat and Y are (N, r_m): N examples (rows), r_m outputs.
E is the mean over the N examples of the per-example error E_d, so the gradient
over a data set is the mean of the per-example gradients (brief, equation 5).

``output_delta`` returns delta^m = dE_d/dA^m for every example, shape (N, r_m),
*not* divided by N: the 1/N is applied once, in the weight gradient.
"""
from __future__ import annotations

import numpy as np

from .activations import get_activation

__all__ = ["Loss", "MSE", "CrossEntropy", "mse", "cross_entropy", "LOSSES", "get_loss"]


class Loss:
    name = "loss"

    def E(self, Y_hat, Y, A=None, g_out=None):
        """The error averaged over examples, a float. ``A`` (the output layer's
        activations) and ``g_out`` let a loss use a more exact formula."""
        raise NotImplementedError

    def output_delta(self, A, Y_hat, Y, g_out):
        """delta^m, shape (N, r_m)."""
        raise NotImplementedError

    def __call__(self, Y_hat, Y, A=None, g_out=None):
        return self.E(Y_hat, Y, A, g_out)

    def __repr__(self):
        return f"<loss {self.name}>"


class MSE(Loss):
    """E_d = 1/2 sum_j (y_hat_j - y_j)^2, averaged over examples.

    Output delta (equation 2): delta^m = (Y_hat - Y) * g_o'(A^m).
    """

    name = "mse"

    def E(self, Y_hat, Y, A=None, g_out=None):
        diff = Y_hat - Y
        return 0.5 * float(np.sum(diff * diff)) / Y_hat.shape[0]

    def output_delta(self, A, Y_hat, Y, g_out):
        return get_activation(g_out).vjp(A, Y_hat, Y_hat - Y)


class CrossEntropy(Loss):
    """Cross-entropy, for a softmax output (one-hot Y) or a sigmoid output (0/1 Y).

    softmax: E_d = -sum_j y_j log y_hat_j
    sigmoid: E_d = -sum_j [y_j log y_hat_j + (1 - y_j) log(1 - y_hat_j)]

    With either output the g_o' factor cancels and delta^m = Y_hat - Y.
    """

    name = "cross_entropy"

    def E(self, Y_hat, Y, A=None, g_out=None):
        """Mean cross-entropy. Pass the logits ``A`` for an exact value even when
        Y_hat rounds to 0 or 1; ``g_out`` says softmax or sigmoid (default:
        sigmoid for one output column, softmax otherwise)."""
        N = Y_hat.shape[0]
        binary = (get_activation(g_out).name == "sigmoid" if g_out is not None
                  else Y_hat.shape[-1] == 1)
        if A is not None:
            if binary:
                # log sigma(a) = -log(1 + e^-a), log(1 - sigma(a)) = -log(1 + e^a)
                return float(np.sum(Y * np.logaddexp(0, -A)
                                    + (1 - Y) * np.logaddexp(0, A))) / N
            top = A.max(axis=-1, keepdims=True)
            log_Y_hat = A - top - np.log(np.exp(A - top).sum(axis=-1, keepdims=True))
            return -float(np.sum(Y * log_Y_hat)) / N
        tiny = np.finfo(np.float64).tiny
        if binary:
            return -float(np.sum(Y * np.log(np.maximum(Y_hat, tiny))
                                 + (1 - Y) * np.log(np.maximum(1 - Y_hat, tiny)))) / N
        return -float(np.sum(Y * np.log(np.maximum(Y_hat, tiny)))) / N

    def output_delta(self, A, Y_hat, Y, g_out):
        name = get_activation(g_out).name
        if name not in ("softmax", "sigmoid"):
            raise ValueError(
                f"cross-entropy expects a softmax or sigmoid output layer, got g_out={name!r}; "
                "use loss='mse' for other outputs")
        return Y_hat - Y


mse = MSE()
cross_entropy = CrossEntropy()

LOSSES = {"mse": mse, "cross_entropy": cross_entropy}


def get_loss(loss):
    """The loss called ``loss`` ("mse" or "cross_entropy"), or ``loss`` itself."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        key = loss.lower().replace("-", "_")
        if key in ("ce", "crossentropy", "softmax_cross_entropy"):
            key = "cross_entropy"
        if key in LOSSES:
            return LOSSES[key]
    raise ValueError(f"unknown loss {loss!r}; known losses: {', '.join(sorted(LOSSES))}")
