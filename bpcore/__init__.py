"""bpcore: the NumPy core of backprop-course.

The names follow the course brief: W[k] (r_{k-1}, r_k), b[k] (r_k,), a[k], o[k],
delta[k]; g and g_out; E; lr for the learning rate alpha.
"""
from .activations import ACTIVATIONS, Activation, get_activation
from .errors import ShapeError
from .gradcheck import (check_gradients, directional_check, numerical_gradient,
                        relative_error)
from .losses import LOSSES, get_loss
from .network import INITS, Network
from .train import History, accuracy, step, train

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS", "Activation", "get_activation", "LOSSES", "get_loss",
    "Network", "INITS", "ShapeError", "train", "step", "History", "accuracy",
    "numerical_gradient", "relative_error", "check_gradients", "directional_check",
]
