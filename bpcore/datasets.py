"""Small data sets for the backprop course, plus a few helpers to prepare them.

Everything in here is generated from a seed with ``np.random.default_rng(seed)``
except the handwritten digits, which ship with the package as
``bpcore/data/digits.npz`` (see ``bpcore/data/DIGITS-LICENSE.md``). Nothing is
ever downloaded.

Conventions
-----------
* ``X`` is float64 with one row per example: shape ``(N, 2)`` for the 2-D sets,
  ``(N, 64)`` for the digits.
* ``y`` is int64 with shape ``(N,)`` and holds class labels ``0 .. K-1``.
  The one exception is the 4-row logic-gate tables (:func:`xor`,
  :func:`and_gate`, :func:`or_gate`), whose targets are a float64 column
  ``(4, 1)`` because the classic XOR network has a single sigmoid output
  trained with mean squared error.
* The generated 2-D sets are returned with their rows shuffled, so the classes
  are interleaved and any slice is a fair sample.

Helpers: :func:`one_hot`, :func:`train_test_split`, :func:`standardize`, and
:func:`get_dataset` to look the 2-D sets up by name (used by the playground).
"""

from __future__ import annotations

import functools
import importlib.resources
import numbers

import numpy as np

__all__ = [
    "DATASETS",
    "xor",
    "and_gate",
    "or_gate",
    "xor_cloud",
    "moons",
    "circles",
    "spirals",
    "blobs",
    "get_dataset",
    "one_hot",
    "train_test_split",
    "standardize",
    "load_digits",
]

#: Names accepted by :func:`get_dataset`.
DATASETS = ("xor", "moons", "circles", "spirals", "blobs")

# Columns whose training standard deviation is at or below this are treated as
# constant by :func:`standardize`: they are centred but not divided.
_STD_FLOOR = 1e-8

# The four input rows of every 2-input truth table, in the usual order.
_GATE_INPUTS = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))


# --------------------------------------------------------------------------
# Argument checks (shared, so every function fails the same, readable way)
# --------------------------------------------------------------------------

def _check_int(value, name, minimum):
    """Return ``value`` as a Python int, or raise saying what was expected."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer >= {minimum}, got {value!r} "
            f"(type {type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def _check_nonneg(value, name):
    """Return ``value`` as a float, or raise unless it is a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number >= 0, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def _class_sizes(n, k):
    """Split ``n`` examples over ``k`` classes as evenly as possible.

    Returns a list of ``k`` ints that sums to ``n``; the first ``n % k`` classes
    get one extra example.
    """
    base, extra = divmod(n, k)
    return [base + (1 if i < extra else 0) for i in range(k)]


def _shuffled(rng, X, y):
    """Apply one random permutation to the rows of ``X`` (N, D) and ``y`` (N,)."""
    order = rng.permutation(len(y))
    return X[order], y[order]


# --------------------------------------------------------------------------
# Logic gates: the 4-row truth tables
# --------------------------------------------------------------------------

def _gate(outputs):
    X = np.array(_GATE_INPUTS, dtype=np.float64)
    y = np.array(outputs, dtype=np.float64).reshape(4, 1)
    return X, y


def xor():
    """The XOR truth table.

    Returns
    -------
    X : ndarray, float64, shape (4, 2)
        Rows ``[0, 0], [0, 1], [1, 0], [1, 1]``.
    y : ndarray, float64, shape (4, 1)
        Targets ``[[0], [1], [1], [0]]``.

    Unlike every other function in this module, ``y`` is a float column, not an
    int64 label vector: the classic XOR network has one sigmoid output unit
    trained with mean squared error, and ``(4, 1)`` floats are what that loss
    compares against.  (For the noisy 2-D XOR point cloud used by the
    playground, see :func:`xor_cloud`.)
    """
    return _gate((0, 1, 1, 0))


def and_gate():
    """The AND truth table.

    Returns
    -------
    X : ndarray, float64, shape (4, 2)
        Rows ``[0, 0], [0, 1], [1, 0], [1, 1]``.
    y : ndarray, float64, shape (4, 1)
        Targets ``[[0], [0], [0], [1]]`` -- a float column for a single
        sigmoid output trained with MSE, as in :func:`xor`.
    """
    return _gate((0, 0, 0, 1))


def or_gate():
    """The OR truth table.

    Returns
    -------
    X : ndarray, float64, shape (4, 2)
        Rows ``[0, 0], [0, 1], [1, 0], [1, 1]``.
    y : ndarray, float64, shape (4, 1)
        Targets ``[[0], [1], [1], [1]]`` -- a float column for a single
        sigmoid output trained with MSE, as in :func:`xor`.
    """
    return _gate((0, 1, 1, 1))


# --------------------------------------------------------------------------
# Generated 2-D classification sets
# --------------------------------------------------------------------------

def xor_cloud(n=200, noise=0.1, seed=0):
    """A noisy 2-D XOR point cloud: the four quadrants, checkerboard-labelled.

    Each clean point ``(x1, x2)`` is uniform in ``[-1, 1]^2`` (never exactly on
    an axis) and its label is

    * 1 if ``x1 * x2 < 0`` (the signs differ: quadrants II and IV),
    * 0 otherwise (the signs agree: quadrants I and III),

    which is XOR of the two bits "x1 > 0" and "x2 > 0".  Labels are fixed from
    the clean point; then Gaussian noise of standard deviation ``noise`` is
    added to each coordinate, so with ``noise > 0`` a few points near the axes
    cross into a neighbouring quadrant.  Classes are balanced: ``n // 2``
    points of class 0 and ``n - n // 2`` of class 1 (each uniform within its
    two quadrants).

    Parameters
    ----------
    n : int >= 2
        Total number of points.
    noise : float >= 0
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int or None
        Seed for ``np.random.default_rng``.

    Returns
    -------
    X : ndarray, float64, shape (n, 2)
    y : ndarray, int64, shape (n,)  -- values in {0, 1}
    """
    n = _check_int(n, "n", 2)
    noise = _check_nonneg(noise, "noise")
    rng = np.random.default_rng(seed)
    n0, n1 = n // 2, n - n // 2
    # Magnitudes in (0, 1] so that no clean point lies on an axis.
    mag = 1.0 - rng.random((n, 2))
    sign1 = rng.choice([-1.0, 1.0], size=n)
    # Class 0: second sign equals the first; class 1: it is flipped.
    sign2 = np.concatenate([sign1[:n0], -sign1[n0:]])
    X = mag * np.column_stack([sign1, sign2])
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    X = X + noise * rng.standard_normal((n, 2))
    return _shuffled(rng, X, y)


def moons(n=200, noise=0.1, seed=0):
    """Two interleaving half circles ("moons").

    Class 0 lies on the upper half of the unit circle,
    ``(cos t, sin t)`` for ``t`` in ``[0, pi]``; class 1 on a lower half circle
    shifted right and up, ``(1 - cos t, 0.5 - sin t)``.  Angles ``t`` are drawn
    uniformly at random, then Gaussian noise of standard deviation ``noise`` is
    added to each coordinate.  Classes are balanced: ``n // 2`` points of
    class 0 and ``n - n // 2`` of class 1.

    Parameters
    ----------
    n : int >= 2
        Total number of points.
    noise : float >= 0
        Standard deviation of the Gaussian noise added to each coordinate.
    seed : int or None
        Seed for ``np.random.default_rng``.

    Returns
    -------
    X : ndarray, float64, shape (n, 2)
    y : ndarray, int64, shape (n,)  -- values in {0, 1}
    """
    n = _check_int(n, "n", 2)
    noise = _check_nonneg(noise, "noise")
    rng = np.random.default_rng(seed)
    n0, n1 = n // 2, n - n // 2
    t0 = rng.uniform(0.0, np.pi, n0)
    t1 = rng.uniform(0.0, np.pi, n1)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    X = np.concatenate([upper, lower])
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    X = X + noise * rng.standard_normal((n, 2))
    return _shuffled(rng, X, y)


def circles(n=200, noise=0.05, factor=0.5, seed=0):
    """Two concentric circles.

    Class 0 lies on the circle of radius 1, class 1 on the circle of radius
    ``factor`` (both centred on the origin).  Angles are drawn uniformly at
    random in ``[0, 2 pi)``, then Gaussian noise of standard deviation
    ``noise`` is added to each coordinate.  Classes are balanced: ``n // 2``
    points of class 0 and ``n - n // 2`` of class 1.

    Parameters
    ----------
    n : int >= 2
        Total number of points.
    noise : float >= 0
        Standard deviation of the Gaussian noise added to each coordinate.
    factor : float, 0 < factor < 1
        Radius of the inner circle relative to the outer one.
    seed : int or None
        Seed for ``np.random.default_rng``.

    Returns
    -------
    X : ndarray, float64, shape (n, 2)
    y : ndarray, int64, shape (n,)  -- 0 = outer circle, 1 = inner circle
    """
    n = _check_int(n, "n", 2)
    noise = _check_nonneg(noise, "noise")
    factor = _check_nonneg(factor, "factor")
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be strictly between 0 and 1, got {factor}")
    rng = np.random.default_rng(seed)
    n0, n1 = n // 2, n - n // 2
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    radius = np.concatenate([np.ones(n0), np.full(n1, factor)])
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    X = X + noise * rng.standard_normal((n, 2))
    return _shuffled(rng, X, y)


def spirals(n=300, classes=3, noise=0.2, seed=0):
    """``classes`` interleaved spiral arms starting at the origin.

    A point of arm ``k`` (``k = 0 .. classes-1``) with position ``t`` along the
    arm (``t`` uniform in ``[0, 1]``) sits at radius ``r = t`` and angle

        theta = 2 pi k / classes + 4 t + noise * e,   e ~ N(0, 1),

    i.e. ``(r cos theta, r sin theta)``.  So every arm winds through 4 radians
    (about 0.64 of a turn) and the arms start evenly spaced around the circle.
    **The noise here jitters the angle** (in radians), not the coordinates:
    that keeps the spiral shape while blurring the borders between arms,
    increasingly towards the outside.  With ``noise=0`` every point lies exactly
    on its arm.  Classes are balanced: ``n // classes`` points each, the first
    ``n % classes`` arms getting one more.

    Parameters
    ----------
    n : int >= classes
        Total number of points.
    classes : int >= 2
        Number of arms, one class per arm.
    noise : float >= 0
        Standard deviation (radians) of the Gaussian jitter added to the angle.
    seed : int or None
        Seed for ``np.random.default_rng``.

    Returns
    -------
    X : ndarray, float64, shape (n, 2)  -- inside the unit disc
    y : ndarray, int64, shape (n,)  -- values in 0 .. classes-1
    """
    classes = _check_int(classes, "classes", 2)
    n = _check_int(n, "n", classes)
    noise = _check_nonneg(noise, "noise")
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes, dtype=np.int64), _class_sizes(n, classes))
    t = rng.random(n)
    theta = 2.0 * np.pi * y / classes + 4.0 * t + noise * rng.standard_normal(n)
    X = t[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    return _shuffled(rng, X, y)


def blobs(n=200, centers=3, spread=1.0, seed=0):
    """Isotropic Gaussian blobs in 2-D, one class per blob.

    If ``centers`` is an int ``K``, the ``K`` centres are drawn from the seed,
    uniformly in the square ``[-5, 5]^2``.  You may instead pass the centres
    yourself as an array of shape ``(K, 2)``.  Each point is its class centre
    plus Gaussian noise of standard deviation ``spread`` in each coordinate.
    Classes are balanced: ``n // K`` points each, the first ``n % K`` classes
    getting one more.

    Parameters
    ----------
    n : int >= K
        Total number of points.
    centers : int >= 1, or array_like of shape (K, 2)
        Number of blobs, or their centres.
    spread : float >= 0
        Standard deviation of each blob, per coordinate.
    seed : int or None
        Seed for ``np.random.default_rng``.

    Returns
    -------
    X : ndarray, float64, shape (n, 2)
    y : ndarray, int64, shape (n,)  -- values in 0 .. K-1
    """
    spread = _check_nonneg(spread, "spread")
    rng = np.random.default_rng(seed)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        k = _check_int(centers, "centers", 1)
        centre_xy = rng.uniform(-5.0, 5.0, size=(k, 2))
    else:
        centre_xy = np.asarray(centers, dtype=np.float64)
        if centre_xy.ndim != 2 or centre_xy.shape[1] != 2 or len(centre_xy) < 1:
            raise ValueError(
                "centers must be an int >= 1 or an array of shape (K, 2), "
                f"got shape {centre_xy.shape}"
            )
        k = len(centre_xy)
    n = _check_int(n, "n", k)
    y = np.repeat(np.arange(k, dtype=np.int64), _class_sizes(n, k))
    X = centre_xy[y] + spread * rng.standard_normal((n, 2))
    return _shuffled(rng, X, y)


_GENERATORS = {
    "xor": xor_cloud,
    "moons": moons,
    "circles": circles,
    "spirals": spirals,
    "blobs": blobs,
}


def get_dataset(name, **kwargs):
    """Generate one of the 2-D data sets by name.

    ``name`` is one of :data:`DATASETS`: ``"xor"`` (the noisy point cloud
    :func:`xor_cloud`, not the 4-row table), ``"moons"``, ``"circles"``,
    ``"spirals"``, ``"blobs"``.  Keyword arguments go to that function, e.g.
    ``get_dataset("moons", n=500, noise=0.2, seed=1)``.

    Returns
    -------
    X : ndarray, float64, shape (N, 2)
    y : ndarray, int64, shape (N,)

    Raises
    ------
    ValueError
        If ``name`` is not a known name; the message lists the known ones.
    """
    generator = _GENERATORS.get(name) if isinstance(name, str) else None
    if generator is None:
        raise ValueError(
            f"unknown data set {name!r}; known names are: {', '.join(DATASETS)}"
        )
    return generator(**kwargs)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def one_hot(y, num_classes=None):
    """Turn integer class labels into one-hot rows.

    Parameters
    ----------
    y : array_like of int, shape (N,)
        Class labels, each in ``0 .. K-1``.
    num_classes : int >= 1, optional
        ``K``.  Defaults to ``max(y) + 1`` (or 0 if ``y`` is empty).

    Returns
    -------
    ndarray, float64, shape (N, K)
        Row ``i`` is all zeros except a 1 in column ``y[i]``, so
        ``one_hot(y).argmax(axis=1)`` gives ``y`` back.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D, has negative labels, or has a label
        ``>= num_classes``.
    TypeError
        If ``y`` does not hold integers, or ``num_classes`` is not an int.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        hint = " (for a column of labels, pass y.ravel())" if y.ndim == 2 else ""
        raise ValueError(
            f"one_hot expects a 1-D array of class labels, shape (N,); "
            f"got an array of shape {y.shape}{hint}"
        )
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise TypeError(
            f"one_hot expects integer class labels; got dtype {y.dtype} "
            f"(convert with y.astype(int) if the values are whole numbers)"
        )
    if y.size and y.min() < 0:
        raise ValueError(
            f"one_hot expects non-negative class labels 0..K-1; "
            f"got a label of {int(y.min())}"
        )
    largest = int(y.max()) if y.size else -1
    if num_classes is None:
        k = largest + 1
    else:
        k = _check_int(num_classes, "num_classes", 1)
        if largest >= k:
            raise ValueError(
                f"one_hot got num_classes={k}, so labels must be in 0..{k - 1}; "
                f"got a label of {largest}"
            )
    out = np.zeros((len(y), k), dtype=np.float64)
    out[np.arange(len(y)), y.astype(np.intp, copy=False)] = 1.0
    return out


def train_test_split(X, y, test_fraction=0.25, seed=0):
    """Shuffle the rows and split them into a training and a test part.

    Parameters
    ----------
    X : array_like, shape (N, ...)
        Inputs, one example per row.
    y : array_like, shape (N,) or (N, ...)
        Targets, one per row of ``X``.
    test_fraction : float, 0 < test_fraction < 1
        Share of rows that go to the test part: ``round(N * test_fraction)``
        rows, but at least 1 and at most ``N - 1``.
    seed : int or None
        Seed for ``np.random.default_rng`` (which rows go where).

    Returns
    -------
    X_train : ndarray, shape (N - n_test, ...)
    X_test : ndarray, shape (n_test, ...)
    y_train : ndarray, shape (N - n_test, ...)
    y_test : ndarray, shape (n_test, ...)
        New arrays (copies), dtypes unchanged.  Together the two parts hold
        every row exactly once.

    Raises
    ------
    ValueError
        If ``X`` and ``y`` have different numbers of rows, there are fewer than
        2 rows, or ``test_fraction`` is not strictly between 0 and 1.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(
            "train_test_split expects arrays with one example per row; "
            f"got X of shape {X.shape} and y of shape {y.shape}"
        )
    if len(X) != len(y):
        raise ValueError(
            f"X and y must have the same number of rows (one target per "
            f"example); got X with {len(X)} rows, shape {X.shape}, and y with "
            f"{len(y)} rows, shape {y.shape}"
        )
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"test_fraction must be a number, got {test_fraction!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"test_fraction must be strictly between 0 and 1, got {test_fraction}"
        )
    n = len(X)
    if n < 2:
        raise ValueError(f"need at least 2 rows to split, got {n}")
    n_test = min(max(int(round(n * test_fraction)), 1), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def standardize(X_train, X_test=None):
    """Scale each column to zero mean and unit standard deviation.

    The mean and standard deviation are measured on ``X_train`` only and then
    applied to both arrays (so no information leaks from the test set).
    Columns whose training standard deviation is (almost) zero -- for example
    the always-blank corner pixels of the digits -- are only centred, not
    divided, so they come out as exactly 0 in ``X_train`` and no
    division-by-zero warning is raised.

    Parameters
    ----------
    X_train : array_like, shape (N, D)
    X_test : array_like, shape (M, D), optional

    Returns
    -------
    X_train_std : ndarray, float64, shape (N, D)
        If ``X_test`` is None, only this is returned.
    X_test_std : ndarray, float64, shape (M, D)
        Returned (as the second item of a tuple) when ``X_test`` is given.

    Raises
    ------
    ValueError
        If an array is not 2-D, ``X_train`` has no rows, or the column counts
        differ.
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    if X_train.ndim != 2 or len(X_train) == 0:
        raise ValueError(
            "standardize expects X_train of shape (N, D) with N >= 1; "
            f"got shape {X_train.shape}"
        )
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    scale = np.where(std > _STD_FLOOR, std, 1.0)
    X_train_std = (X_train - mean) / scale
    if X_test is None:
        return X_train_std
    X_test = np.asarray(X_test, dtype=np.float64)
    if X_test.ndim != 2 or X_test.shape[1] != X_train.shape[1]:
        raise ValueError(
            f"standardize expects X_test of shape (M, {X_train.shape[1]}) to "
            f"match X_train's {X_train.shape[1]} columns; got shape {X_test.shape}"
        )
    return X_train_std, (X_test - mean) / scale


# --------------------------------------------------------------------------
# Handwritten digits (shipped with the package)
# --------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _digits_raw():
    """Read ``bpcore/data/digits.npz`` once: (images uint8 (1797, 8, 8), labels uint8 (1797,))."""
    resource = importlib.resources.files("bpcore") / "data" / "digits.npz"
    with resource.open("rb") as fh, np.load(fh) as data:
        images = data["images"]
        labels = data["labels"]
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def load_digits(images=False):
    """The 8x8 handwritten digits (UCI "Optical Recognition of Handwritten Digits").

    1797 grey-scale images of the digits 0-9, about 180 of each, with pixel
    values 0..16 in the original; here they are divided by 16 so they lie in
    ``[0, 1]``.  The data ship with the package (``bpcore/data/digits.npz``,
    licence in ``bpcore/data/DIGITS-LICENSE.md``); nothing is downloaded.

    Parameters
    ----------
    images : bool
        If False (default), return each image flattened row by row into 64
        features; if True, return them as 8x8 images.

    Returns
    -------
    X : ndarray, float64
        Shape (1797, 64) if ``images`` is False, (1797, 8, 8) if True.
        Values in ``[0, 1]``.
    y : ndarray, int64, shape (1797,)
        The digit shown, 0..9.

    Each call returns fresh arrays, so you may modify them freely.
    """
    raw_images, raw_labels = _digits_raw()
    X = raw_images.astype(np.float64) / 16.0
    if not images:
        X = X.reshape(len(X), 64)
    return X, raw_labels.astype(np.int64)
