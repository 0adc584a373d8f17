"""Checks for exercise 10, the convolution backward pass: ``check.conv1d_backward(conv1d_backward)``
and ``check.conv2d_kernel_gradient(conv2d_kernel_gradient)``.

The convention is the course's (and :mod:`bpcore.conv`'s): ``delta`` is dE_d/dA for every
example d (not divided by N); the kernel and bias gradients are **summed over positions and
averaged over the N examples** (E is the mean of the per-example errors); dX is per example.
Forward pass (cross-correlation, stride 1, valid padding):

    1-D: A[n, o, p]    = b[o] + sum_{c, i}    K[o, c, i]    X[n, c, p + i]
    2-D: A[n, o, p, q] = b[o] + sum_{c, i, j} K[o, c, i, j] X[n, c, p + i, q + j]

``SPECS_CONV`` and ``EXERCISES_CONV`` are merged into :mod:`bpcore.check`'s SPECS and EXERCISES.
"""
from __future__ import annotations

import numpy as np

from .checking import Case, Mistake, Spec
from .conv import conv1d_forward, conv2d_forward
from .gradcheck import numerical_gradient as _numgrad

__all__ = ["SPECS_CONV", "EXERCISES_CONV"]

_F32_TOL = {"rtol": 1e-4, "atol": 1e-4}


def _f32(inputs):
    return {k: (v.astype(np.float32) if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}


def _f64(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


# ------------------------------------------------------------------ 1-D: (dX, dK, db)
def _conv1d_case(rng, N, C_in, L, C_out, k):
    X = rng.normal(size=(N, C_in, L))
    K = rng.normal(size=(C_out, C_in, k))
    delta = rng.normal(size=(N, C_out, L - k + 1))
    return {"delta": delta, "X": X, "K": K}


def _conv1d_label(N, C_in, L, C_out, k):
    return f"N={N}, C_in={C_in}, L={L}, C_out={C_out}, k={k}"


def _conv1d_cases(seed):
    rng = np.random.default_rng(seed)
    k_drawn = int(rng.integers(1, 6))
    drawn = (int(rng.integers(1, 6)), int(rng.integers(1, 4)), k_drawn + int(rng.integers(0, 7)),
             int(rng.integers(1, 4)), k_drawn)
    cases = []
    # square channel counts (C_in = C_out) let swapped channel axes show up by value
    for shape in [(1, 1, 5, 1, 2), (3, 1, 8, 2, 3), (2, 2, 7, 2, 3), (4, 3, 10, 2, 4), (2, 2, 6, 3, 1),
                  (3, 3, 9, 3, 5), drawn]:
        cases.append(Case(_conv1d_label(*shape), _conv1d_case(rng, *shape)))
    shape = (3, 2, 8, 2, 3)
    cases.append(Case(_conv1d_label(*shape) + ", float32", _f32(_conv1d_case(rng, *shape)), **_F32_TOL))
    return cases


def _conv1d_generic(delta, X, K, *, positions="all", examples="all", batch_mean=True, db_batch_mean=True, pos_mean=False,
                    flip_dX=False, dX_over_N=False, dX_swap_channels=False, swap_dK=False, flip_dK=False,
                    sign_dX=1.0, sign_dK=1.0, sign_db=1.0, bias=True, bias_positions="all"):
    """The right answer, or (with a flag) one of the common wrong ones."""
    delta, X, K = _f64(delta, X, K)
    N, C_in, L = X.shape
    C_out, _, k = K.shape
    L_out = delta.shape[2]
    sel = {"all": slice(None), "last": slice(L_out - 1, L_out), "first": slice(0, 1)}
    ps = np.arange(L_out)[sel[positions]]
    ns = slice(None) if examples == "all" else slice(N - 1, N)
    dK = np.zeros((C_out, C_in, k))
    for i in range(k):
        dK[:, :, i] = np.einsum("nop,ncp->oc", delta[ns][:, :, ps], X[ns][:, :, ps + i])
    db = delta[:, :, sel[bias_positions]].sum(axis=(0, 2))
    if batch_mean:
        dK = dK / N
    if db_batch_mean:
        db = db / N
    if pos_mean:
        dK, db = dK / L_out, db / L_out
    K_back = K[:, :, ::-1] if flip_dX else K
    if dX_swap_channels:
        K_back = np.swapaxes(K_back, 0, 1)
    dX = np.zeros((N, C_in, L))
    for i in range(k):
        dX[:, :, i:i + L_out] += np.einsum("nop,oc->ncp", delta, K_back[:, :, i])
    if dX_over_N:
        dX = dX / N
    if swap_dK:
        dK = np.swapaxes(dK, 0, 1)
    if flip_dK:
        dK = dK[:, :, ::-1]
    return sign_dX * dX, sign_dK * dK, sign_db * db * (1.0 if bias else 0.0)


def _conv1d_ref(delta, X, K):
    return _conv1d_generic(delta, X, K)


def _conv1d_numeric(delta, X, K):
    """Central differences of E = 1/N sum_n sum_{o,p} delta[n, o, p] A[n, o, p] (so that
    dE_d/dA = delta). Returns (N dE/dX, dE/dK, dE/db): dX is per example."""
    delta, X, K = _f64(delta, X, K)
    N = len(X)
    b = np.zeros(K.shape[0])

    def E(X_, K_, b_):
        return float(np.sum(delta * conv1d_forward(X_, K_, b_)[0])) / N
    dX = _numgrad(lambda x: E(x, K, b), X.copy(), h=1e-3, order=4)
    dK = _numgrad(lambda k: E(X, k, b), K.copy(), h=1e-3, order=4)
    db = _numgrad(lambda c: E(X, K, c), b.copy(), h=1e-3, order=4)
    return N * dX, dK, db


def _conv1d_named(value):
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        got = type(value).__name__ + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else "")
        raise TypeError(f"conv1d_backward should return a tuple (dX, dK, db), got {got}")
    out = {}
    for name, v in zip(("dX", "dK", "db"), value):
        if v is None:
            if name == "db":
                raise TypeError("db is None: the bias gradient was forgotten (b[o] is added at every "
                                "position: dE/db[o] = 1/N sum_n sum_p delta[n, o, p])")
            raise TypeError(f"{name} is None: return all three gradients (dX, dK, db)")
        if isinstance(v, (tuple, list, dict, str)):
            raise TypeError(f"{name} should be one NumPy array, got a {type(v).__name__}")
        out[name] = np.asarray(v, dtype=np.float64)
    return out


def _c1(**flags):
    return lambda delta, X, K: _conv1d_generic(delta, X, K, **flags)


_ONE_POSITION = ("Your kernel gradient dK uses only one position ({which}: did the loop over positions p "
                 "assign `dK[...] = ...` instead of adding `+=`?). The same kernel is used at every position "
                 "(weight sharing), so its gradient sums delta times the input patch over all positions: "
                 "dE/dK[o, c, i] = 1/N sum_n sum_p delta[n, o, p] X[n, c, p + i].")
_SUM_NOT_MEAN = ("You summed {what} over the batch: E is the mean of the N per-example errors, so the "
                 "gradients of the shared parameters are summed over positions and *averaged* over the N "
                 "examples (divide by N).")
_MEAN_POS = ("You averaged over the positions p: a shared weight gets the *sum* of its contributions from "
             "every position (only the batch is averaged, because E is a mean over examples): "
             "dE/dK[o, c, i] = 1/N sum_n sum_p delta[n, o, p] X[n, c, p + i].")
_WRONG_SIGN = ("Wrong sign: the backward pass returns the gradients dE/dX, dE/dK, dE/db; the minus sign "
               "belongs to the gradient-descent update.")

_CONV1D_MISTAKES = [
    Mistake("one_position", _ONE_POSITION.format(which="the last one"), _c1(positions="last")),
    Mistake("one_position", _ONE_POSITION.format(which="the last one") + " The same goes for db.",
            _c1(positions="last", bias_positions="last")),
    Mistake("one_position", _ONE_POSITION.format(which="the first one"), _c1(positions="first")),
    Mistake("one_position", _ONE_POSITION.format(which="the last position of the last example"),
            _c1(positions="last", examples="last")),
    Mistake("one_position", _ONE_POSITION.format(which="the last position of the last example"),
            _c1(positions="last", examples="last", batch_mean=False)),
    Mistake("sum_not_mean", _SUM_NOT_MEAN.format(what="dK and db"), _c1(batch_mean=False, db_batch_mean=False)),
    Mistake("sum_not_mean", _SUM_NOT_MEAN.format(what="dK") + " (Your db is right.)", _c1(batch_mean=False)),
    Mistake("sum_not_mean", _SUM_NOT_MEAN.format(what="db") + " (Your dK is right.)", _c1(db_batch_mean=False)),
    Mistake("mean_over_positions", _MEAN_POS, _c1(pos_mean=True)),
    Mistake("dX_divided_by_N", "Your dX is divided by N: dX is per example (dE_d/dX for each example, like a "
            "delta; the layer below multiplies it by g'(a) to get its own delta). The 1/N belongs only to the "
            "parameter gradients dK and db.", _c1(dX_over_N=True)),
    Mistake("unflipped_dX", "Your dX used the kernel the wrong way round. X[n, c, s] reached A[n, o, p] through "
            "K[o, c, s - p], so dX[n, c, s] = sum_o sum_i delta[n, o, s - i] K[o, c, i]: a 'full' correlation "
            "of delta (padded with k - 1 zeros) with the *flipped* kernel K[:, :, ::-1]. Or, without padding: "
            "for each offset i add delta @ K[:, :, i] into the slice dX[:, :, i:i + L_out].", _c1(flip_dX=True)),
    Mistake("transposed_channels", "dK has its channel axes swapped: K is (C_out, C_in, k), so dK[o, c, i] pairs "
            "output channel o of delta with input channel c of X: "
            "sum_n sum_p delta[n, o, p] X[n, c, p + i] / N.", _c1(swap_dK=True)),
    Mistake("dX_transposed_channels", "dX mixes up the channels: input channel c fed every output channel o "
            "through K[o, c], so dX[n, c] sums delta[n, o] (full-)correlated with K[o, c] over the output "
            "channels o, not K[c, o].", _c1(dX_swap_channels=True)),
    Mistake("flipped_dK", "dK is flipped along the kernel axis: the forward pass is a cross-correlation "
            "(A[p] uses K[i] X[p + i]), so dK[i] pairs delta[p] with X[p + i], not X[p - i] or "
            "X[p + k - 1 - i].", _c1(flip_dK=True)),
    Mistake("wrong_sign", _WRONG_SIGN, _c1(sign_dX=-1.0, sign_dK=-1.0, sign_db=-1.0)),
    Mistake("wrong_sign", _WRONG_SIGN + " (Your dK has the wrong sign.)", _c1(sign_dK=-1.0)),
    Mistake("bias_forgotten", "Your bias gradient is zero: b[o] is added at every position of output channel "
            "o, so dE/db[o] = 1/N sum_n sum_p delta[n, o, p].", _c1(bias=False)),
]


# ------------------------------------------------------------------ 2-D: dK only
def _conv2d_case(rng, N, C_in, H, W, C_out, kh, kw):
    X = rng.normal(size=(N, C_in, H, W))
    delta = rng.normal(size=(N, C_out, H - kh + 1, W - kw + 1))
    return {"delta": delta, "X": X}


def _conv2d_label(N, C_in, H, W, C_out, kh, kw):
    return f"N={N}, C_in={C_in}, H x W={H}x{W}, C_out={C_out}, kernel {kh}x{kw}"


def _conv2d_cases(seed):
    rng = np.random.default_rng(seed)
    kh, kw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    drawn = (int(rng.integers(1, 6)), int(rng.integers(1, 4)), kh + int(rng.integers(0, 5)),
             kw + int(rng.integers(0, 5)), int(rng.integers(1, 4)), kh, kw)
    cases = []
    for shape in [(1, 1, 4, 4, 1, 2, 2), (3, 2, 5, 6, 2, 3, 2), (2, 3, 6, 5, 3, 3, 3), (4, 1, 8, 8, 4, 3, 3),
                  (2, 2, 4, 7, 3, 1, 4), drawn]:
        cases.append(Case(_conv2d_label(*shape), _conv2d_case(rng, *shape)))
    shape = (3, 2, 5, 5, 2, 2, 2)
    cases.append(Case(_conv2d_label(*shape) + ", float32", _f32(_conv2d_case(rng, *shape)), **_F32_TOL))
    return cases


def _conv2d_generic(delta, X, *, positions="all", examples="all", batch_mean=True, pos_mean=False, swap_channels=False,
                    flip=False, swap_ij=False, sign=1.0):
    delta, X = _f64(delta, X)
    N, C_in, H, W = X.shape
    C_out, H_out, W_out = delta.shape[1:]
    kh, kw = H - H_out + 1, W - W_out + 1
    sel = {"all": (slice(None), slice(None)), "last": (slice(H_out - 1, H_out), slice(W_out - 1, W_out)),
           "first": (slice(0, 1), slice(0, 1))}[positions]
    ps, qs = np.arange(H_out)[sel[0]], np.arange(W_out)[sel[1]]
    ns = slice(None) if examples == "all" else slice(N - 1, N)
    d = delta[ns][:, :, ps][:, :, :, qs]
    dK = np.zeros((C_out, C_in, kh, kw))
    for i in range(kh):
        for j in range(kw):
            patch = X[ns][:, :, ps + i][:, :, :, qs + j]
            dK[:, :, i, j] = np.einsum("nopq,ncpq->oc", d, patch)
    if batch_mean:
        dK = dK / N
    if pos_mean:
        dK = dK / (H_out * W_out)
    if swap_channels:
        dK = np.swapaxes(dK, 0, 1)
    if flip:
        dK = dK[:, :, ::-1, ::-1]
    if swap_ij:
        dK = np.swapaxes(dK, 2, 3)
    return sign * dK


def _conv2d_ref(delta, X):
    return _conv2d_generic(delta, X)


def _conv2d_numeric(delta, X):
    delta, X = _f64(delta, X)
    N, C_in, H, W = X.shape
    C_out, H_out, W_out = delta.shape[1:]
    K0 = np.zeros((C_out, C_in, H - H_out + 1, W - W_out + 1))
    E = lambda K_: float(np.sum(delta * conv2d_forward(X, K_, np.zeros(C_out))[0])) / N  # noqa: E731
    return _numgrad(E, K0, h=1e-3, order=4)


def _c2(**flags):
    return lambda delta, X: _conv2d_generic(delta, X, **flags)


_ONE_POSITION_2D = ("Your kernel gradient uses only one position ({which}: did the loop over positions (p, q) "
                    "assign `dK[...] = ...` instead of adding `+=`?). The same kernel is used at every "
                    "position (weight sharing), so its gradient sums delta times the input patch over all "
                    "positions: dE/dK[o, c, i, j] = 1/N sum_n sum_(p,q) delta[n, o, p, q] X[n, c, p + i, q + j].")

_CONV2D_MISTAKES = [
    Mistake("one_position", _ONE_POSITION_2D.format(which="the last one, bottom right"), _c2(positions="last")),
    Mistake("one_position", _ONE_POSITION_2D.format(which="the first one, top left"), _c2(positions="first")),
    Mistake("one_position", _ONE_POSITION_2D.format(which="the last position of the last example"),
            _c2(positions="last", examples="last")),
    Mistake("one_position", _ONE_POSITION_2D.format(which="the last position of the last example"),
            _c2(positions="last", examples="last", batch_mean=False)),
    Mistake("sum_not_mean", _SUM_NOT_MEAN.format(what="dK"), _c2(batch_mean=False)),
    Mistake("mean_over_positions", "You averaged over the positions (p, q): a shared weight gets the *sum* of "
            "its contributions from every position (only the batch is averaged, because E is a mean over "
            "examples): dE/dK[o, c, i, j] = 1/N sum_n sum_(p,q) delta[n, o, p, q] X[n, c, p + i, q + j].",
            _c2(pos_mean=True)),
    Mistake("transposed_channels", "dK has its channel axes swapped: K is (C_out, C_in, kh, kw), so "
            "dK[o, c, i, j] pairs output channel o of delta with input channel c of X.", _c2(swap_channels=True)),
    Mistake("flipped_dK", "dK is flipped (rotated by 180 degrees): the forward pass is a cross-correlation "
            "(A[p, q] uses K[i, j] X[p + i, q + j]), so dK[i, j] pairs delta[p, q] with X[p + i, q + j].",
            _c2(flip=True)),
    Mistake("swapped_kernel_axes", "dK's two kernel axes are swapped: offset i moves down the rows "
            "(X[.., p + i, ..]) and offset j along the columns (X[.., .., q + j]); dK[o, c, i, j] has "
            "shape (C_out, C_in, kh, kw).", _c2(swap_ij=True)),
    Mistake("wrong_sign", "Wrong sign: return dE/dK; the minus sign belongs to the gradient-descent update.",
            _c2(sign=-1.0)),
]


# ------------------------------------------------------------------ the specs
# conv1d_backward has no ``numeric``: its tuple output is compared with _conv1d_numeric in
# tests/test_check_conv.py instead (tests/test_checkers.py expects one array from ``numeric``).
SPECS_CONV = {
    "conv1d_backward": Spec(
        name="conv1d_backward", signature="conv1d_backward(delta, X, K)", cases=_conv1d_cases,
        reference=_conv1d_ref, mistakes=_CONV1D_MISTAKES, output_names=_conv1d_named, what="(dX, dK, db)"),
    "conv2d_kernel_gradient": Spec(
        name="conv2d_kernel_gradient", signature="conv2d_kernel_gradient(delta, X)", cases=_conv2d_cases,
        reference=_conv2d_ref, mistakes=_CONV2D_MISTAKES, numeric=_conv2d_numeric, what="dE/dK"),
}

#: Which functions exercise 10 asks for.
EXERCISES_CONV = {"10_conv_backward": ["conv1d_backward", "conv2d_kernel_gradient"]}
