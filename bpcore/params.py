"""theta, the parameters of a model, read and set as arrays.

Every model (Network, RNN, ConvNet) lists its parameter arrays in ``params`` and their
names in ``param_names``; this base class gives them the same ways to read and set theta."""
from __future__ import annotations

import numpy as np

from .errors import ShapeError, fmt_shape

__all__ = ["Parameters"]


class Parameters:
    """Mixin: needs ``params`` (the arrays themselves, not copies) and ``param_names``."""

    def param_shapes(self):
        return [p.shape for p in self.params]

    @property
    def num_params(self):
        """P, the number of weights and biases."""
        return sum(p.size for p in self.params)

    def get_params(self):
        """A flat copy of theta, shape (P,), in the order of :attr:`param_names`."""
        return np.concatenate([p.ravel() for p in self.params])

    def set_params(self, theta):
        """Set theta from a flat vector (P,), a list like :attr:`params`, or a dict by name.

        Copies the values into the existing arrays, checking every shape."""
        names = self.param_names
        if isinstance(theta, dict):
            missing = [n for n in names if n not in theta]
            if missing:
                raise ShapeError(f"expected arrays named {', '.join(names)}; missing {', '.join(missing)}")
            theta = [theta[n] for n in names]
        if isinstance(theta, (list, tuple)):
            if len(theta) != len(names):
                raise ShapeError(f"expected {len(names)} arrays ({', '.join(names)}), got {len(theta)}")
            for name, dst, src in zip(names, self.params, theta):
                src = np.asarray(src)
                if src.shape != dst.shape:
                    raise ShapeError(f"{name}: expected shape {fmt_shape(dst.shape)}, got {fmt_shape(src.shape)}")
                dst[...] = src
            return self
        theta = np.asarray(theta)
        if theta.shape != (self.num_params,):
            raise ShapeError(f"expected a flat theta of shape ({self.num_params},), "
                             f"got {fmt_shape(theta.shape)}")
        start = 0
        for dst in self.params:
            dst[...] = theta[start:start + dst.size].reshape(dst.shape)
            start += dst.size
        return self
