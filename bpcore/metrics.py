"""Metrics for classifiers.

    confusion_matrix(y_true, y_pred, num_classes) -> C, shape (K, K), int64
    C[t, p] = how many examples of true class t were predicted as class p

Rows are the true class, columns the predicted class, so the diagonal counts the
right answers, row t sums to the number of examples of class t, and everything off
the diagonal is a confusion "t mistaken for p".
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["confusion_matrix"]


def _labels(y, name, num_classes):
    """``y`` as a 1-D int64 array of labels in 0 .. num_classes-1, or a clear error."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        hint = ""
        if arr.ndim == 2:
            hint = (" (one-hot targets or network outputs? pass the class labels, "
                    "e.g. Y.argmax(axis=1))")
        raise ValueError(f"{name} must be a 1-D array of class labels of shape (N,), "
                         f"got shape {arr.shape}{hint}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold whole-number class labels; got non-integer "
                             f"values such as {arr[arr != np.round(arr)][:3].tolist() or 'nan/inf'}")
    arr = arr.astype(np.int64)
    bad = (arr < 0) | (arr >= num_classes)
    if bad.any():
        raise ValueError(f"{name} must hold labels in 0 .. {num_classes - 1} "
                         f"(num_classes={num_classes}); got {arr[bad][:5].tolist()} "
                         f"at positions {np.flatnonzero(bad)[:5].tolist()}")
    return arr


def confusion_matrix(y_true, y_pred, num_classes):
    """Count how often each true class was predicted as each class.

    Parameters
    ----------
    y_true : array_like of int, shape (N,)
        The true class of every example, labels 0 .. K-1.
    y_pred : array_like of int, shape (N,)
        The predicted class of every example (e.g. ``net.predict(X).argmax(axis=1)``).
    num_classes : int >= 1
        K, the number of classes; sets the size of the matrix even when a class
        never occurs.

    Returns
    -------
    C : ndarray, int64, shape (K, K)
        ``C[t, p]`` = number of examples with ``y_true == t`` and ``y_pred == p``.
        Rows = true class, columns = predicted class; ``C.sum() == N``,
        ``np.trace(C)`` = number right, ``C.sum(axis=1)`` = examples per true class.
        Swapping the arguments gives the transpose.

    Raises
    ------
    ValueError
        If the label arrays are not 1-D, differ in length, hold non-integer values
        or labels outside 0 .. K-1, or ``num_classes`` < 1.
    TypeError
        If ``num_classes`` is not an integer or the labels are not numbers.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"num_classes must be an integer >= 1, got {num_classes!r}")
    K = int(num_classes)
    if K < 1:
        raise ValueError(f"num_classes must be an integer >= 1, got {K}")
    t = _labels(y_true, "y_true", K)
    p = _labels(y_pred, "y_pred", K)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length (one prediction per "
                         f"example); got {t.shape[0]} true labels and {p.shape[0]} predictions")
    C = np.zeros((K, K), dtype=np.int64)
    np.add.at(C, (t, p), 1)
    return C
