"""Errors that say what was expected and what came."""
from __future__ import annotations

__all__ = ["ShapeError", "fmt_shape"]


class ShapeError(ValueError):
    """An array had the wrong shape. The message names where, what was expected, what came."""


def fmt_shape(shape):
    """(4, 2) -> '(4, 2)'; placeholders such as 'N' are kept as written."""
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
