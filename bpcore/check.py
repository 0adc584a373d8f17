"""Checks for the exercises: ``check.hidden_delta(hidden_delta)`` and friends.

Each check runs your function on several seeded cases (varied shapes, batch sizes,
activations, one float32 case), compares it with the reference, and when it is wrong
tells you which common mistake it recognises. The specs below are also what the
autograder uses, with fresh seeds.
"""
from __future__ import annotations

import numpy as np

from .activations import get_activation
from .checking import Act, Case, Mistake, Spec, check as _check
from .gradcheck import numerical_gradient as _numgrad

__all__ = ["SPECS", "EXERCISES", "sigmoid_prime", "tanh_prime", "relu_prime", "output_delta",
           "hidden_delta", "weight_gradient", "bias_gradient", "backward", "softmax",
           "softmax_ce_delta", "numerical_gradient", "relative_error", "buggy_parameter", "xor_step"]

_sig = get_activation("sigmoid").g


def _deriv(name):
    return get_activation(name).deriv


def _f32(case_inputs):
    return {k: (v.astype(np.float32) if isinstance(v, np.ndarray) else v) for k, v in case_inputs.items()}


# ------------------------------------------------------------------ 01 derivatives
def _act_cases(seed, name):
    rng = np.random.default_rng(seed)
    cases = []
    for i, shape in enumerate([(7,), (3, 4), (2, 3, 5)]):
        a = rng.normal(scale=2.5, size=shape)
        a[np.abs(a) < 1e-3] = 0.5  # ReLU is not differentiable at exactly 0
        cases.append(Case(f"a of shape {shape}", {"a": a}))
    cases.append(Case("a in [-6, 6]", {"a": np.linspace(-6, 6, 24)}))  # even count: 0 is not a point
    shape = tuple(int(s) for s in rng.integers(1, 7, size=int(rng.integers(1, 4))))
    a = rng.normal(scale=3.0, size=shape)
    a[np.abs(a) < 1e-3] = -0.7
    cases.append(Case(f"a of shape {shape}", {"a": a}))
    a = rng.normal(scale=2.5, size=(4, 3)).astype(np.float32)
    cases.append(Case("a float32 (4, 3)", {"a": a}, rtol=1e-5, atol=1e-6))
    return cases


def _act_numeric(name):
    g = get_activation(name).g
    return lambda a: _numgrad(lambda x: float(np.sum(g(x))), np.asarray(a, np.float64).copy(), h=1e-6)


def _sig_mistakes():
    s = _sig
    return [
        Mistake("returned_g", "You returned sigma(a) itself; the derivative is sigma(a) * (1 - sigma(a)).",
                lambda a: s(a)),
        Mistake("a_for_o", "You used a where sigma(a) belongs: sigma'(a) = o (1 - o) with o = sigma(a), "
                "not a (1 - a). (o used instead of a, or the reverse.)", lambda a: a * (1 - a)),
        Mistake("mixed_a_o", "Half of the formula uses a instead of sigma(a): both factors are in terms of "
                "o = sigma(a): o * (1 - o).", lambda a: s(a) * (1 - a)),
        Mistake("wrong_sign", "Wrong sign: sigma is increasing, so its derivative is positive.",
                lambda a: -s(a) * (1 - s(a))),
        Mistake("square", "You squared sigma(a); the second factor is (1 - sigma(a)).", lambda a: s(a) ** 2),
    ]


def _tanh_mistakes():
    t = np.tanh
    return [
        Mistake("returned_g", "You returned tanh(a) itself; the derivative is 1 - tanh(a)^2.", lambda a: t(a)),
        Mistake("a_for_o", "You used a where tanh(a) belongs: tanh'(a) = 1 - o^2 with o = tanh(a), not 1 - a^2. "
                "(o used instead of a, or the reverse.)", lambda a: 1 - a ** 2),
        Mistake("missing_square", "Missing square: tanh'(a) = 1 - tanh(a)^2, not 1 - tanh(a).", lambda a: 1 - t(a)),
        Mistake("wrong_sign", "Wrong sign: tanh is increasing, so its derivative is positive: 1 - tanh(a)^2.",
                lambda a: t(a) ** 2 - 1),
        Mistake("square_of_difference", "(1 - tanh(a))^2 is not the same as 1 - tanh(a)^2.",
                lambda a: (1 - t(a)) ** 2),
    ]


def _relu_mistakes():
    return [
        Mistake("returned_g", "You returned max(0, a) itself; the derivative is 1 where a > 0 and 0 elsewhere.",
                lambda a: np.maximum(a, 0)),
        Mistake("reversed", "The step is the wrong way round: the slope is 1 for positive a, 0 for negative a.",
                lambda a: (a < 0).astype(float)),
        Mistake("all_ones", "ReLU's slope is 0 for negative a, not 1 everywhere.", lambda a: np.ones_like(a)),
        Mistake("wrong_sign", "Wrong sign: the slope for positive a is +1.", lambda a: -(a > 0).astype(float)),
    ]


# ------------------------------------------------------------------ 02 output delta
def _output_delta_cases(seed):
    rng = np.random.default_rng(seed)
    cases = []
    drawn = (int(rng.integers(1, 12)), int(rng.integers(1, 6)), str(rng.choice(["identity", "sigmoid", "tanh"])))
    for N, r, g in [(1, 1, "identity"), (5, 1, "sigmoid"), (4, 3, "sigmoid"), (6, 2, "identity"),
                    (3, 4, "tanh"), (8, 1, "sigmoid"), drawn]:
        A = rng.normal(scale=1.5, size=(N, r))
        Y_hat = get_activation(g).g(A)
        Y = rng.random((N, r)) if g != "identity" else rng.normal(size=(N, r))
        cases.append(Case(f"N={N}, r_m={r}, g_o={g}", {"Y_hat": Y_hat, "Y": Y, "A": A, "g_out_prime": Act(g)}))
    A = rng.normal(size=(4, 2))
    inp = {"Y_hat": _sig(A), "Y": rng.random((4, 2)), "A": A, "g_out_prime": Act("sigmoid")}
    cases.append(Case("N=4, r_m=2, g_o=sigmoid, float32", _f32(inp), rtol=1e-5, atol=1e-6))
    return cases


def _output_delta_ref(Y_hat, Y, A, g_out_prime):
    return (Y_hat - Y) * g_out_prime(A)


def _output_delta_numeric(Y_hat, Y, A, g_out_prime):
    g = get_activation(g_out_prime.name).g
    Y = np.asarray(Y, np.float64)
    # delta = dE_d/dA for each example: differentiate the summed per-example error
    return _numgrad(lambda a: 0.5 * float(np.sum((g(a) - Y) ** 2)), np.asarray(A, np.float64).copy(), h=1e-6)


_OUTPUT_DELTA_MISTAKES = [
    Mistake("missing_g_prime", "Your output delta is missing the g_o'(a) factor: delta^m = (y_hat - y) * g_o'(a^m). "
            "(It only disappears for an identity output, where g_o' = 1.)", lambda Y_hat, Y, A, g_out_prime: Y_hat - Y),
    Mistake("o_for_a", "You applied g_o' to the output y_hat = o^m; it takes the activation a^m: g_o'(A), not "
            "g_o'(Y_hat). (o used instead of a.)", lambda Y_hat, Y, A, g_out_prime: (Y_hat - Y) * g_out_prime(Y_hat)),
    Mistake("wrong_sign", "Wrong sign: dE/dy_hat = y_hat - y for E = 1/2 (y_hat - y)^2, not y - y_hat.",
            lambda Y_hat, Y, A, g_out_prime: (Y - Y_hat) * g_out_prime(A)),
    Mistake("divided_by_N", "You divided by N (or took a mean over the batch): the delta is per example; the "
            "1/N belongs to the weight gradient.", lambda Y_hat, Y, A, g_out_prime: (Y_hat - Y) * g_out_prime(A) / len(A)),
    Mistake("used_E", "You used the error 1/2 (y_hat - y)^2 itself instead of its derivative y_hat - y.",
            lambda Y_hat, Y, A, g_out_prime: 0.5 * (Y_hat - Y) ** 2 * g_out_prime(A)),
    Mistake("missing_half_derivative", "The derivative of 1/2 (y_hat - y)^2 is (y_hat - y), not 2 (y_hat - y) "
            "or 1/2 (y_hat - y).", lambda Y_hat, Y, A, g_out_prime: 2 * (Y_hat - Y) * g_out_prime(A)),
]


# ------------------------------------------------------------------ 03 hidden delta
def _hidden_cases(seed):
    rng = np.random.default_rng(seed)
    cases = []
    # (N, r_k, r_{k+1}, g); square layers let a transposed W be recognised by value
    drawn = (int(rng.integers(1, 10)), int(rng.integers(1, 7)), int(rng.integers(1, 7)),
             str(rng.choice(["sigmoid", "tanh", "relu"])))
    for N, r, r_next, g in [(1, 3, 2, "sigmoid"), (5, 4, 4, "tanh"), (6, 3, 5, "relu"),
                            (4, 2, 1, "sigmoid"), (7, 5, 3, "tanh"), (3, 3, 3, "sigmoid"), drawn]:
        A = rng.normal(scale=1.5, size=(N, r))
        A[np.abs(A) < 1e-3] = 0.3
        O = get_activation(g).g(A)
        cases.append(Case(f"N={N}, r_k={r}, r_(k+1)={r_next}, g={g}", {
            "delta_next": rng.normal(size=(N, r_next)), "W_next": rng.uniform(-1, 1, size=(r, r_next)),
            "A": A, "O": O, "g_prime": Act(g)}))
    A = rng.normal(size=(4, 3))
    inp = {"delta_next": rng.normal(size=(4, 2)), "W_next": rng.uniform(-1, 1, (3, 2)), "A": A,
           "O": np.tanh(A), "g_prime": Act("tanh")}
    cases.append(Case("N=4, r_k=3, r_(k+1)=2, g=tanh, float32", _f32(inp), rtol=1e-5, atol=1e-6))
    return cases


def _hidden_ref(delta_next, W_next, A, O, g_prime):
    return (delta_next @ W_next.T) * g_prime(A)


_HIDDEN_MISTAKES = [
    Mistake("missing_g_prime", "Your hidden delta is missing the g'(a) factor: "
            "delta^k = (delta^{k+1} W^{k+1 T}) * g'(A^k).", lambda delta_next, W_next, A, O, g_prime: delta_next @ W_next.T),
    Mistake("o_for_a", "You applied g' to the outputs O^k; g' takes the activations A^k: g'(A), not g'(O). "
            "(o used instead of a.)", lambda delta_next, W_next, A, O, g_prime: (delta_next @ W_next.T) * g_prime(O)),
    Mistake("transposed_W", "Transposed weight matrix: W^{k+1} is (r_k, r_{k+1}), so the sum over l of "
            "w_jl delta_l is delta^{k+1} @ W^{k+1}.T.", lambda delta_next, W_next, A, O, g_prime: (delta_next @ W_next) * g_prime(A)),
    Mistake("wrong_sign", "Wrong sign: nothing in the hidden delta rule flips the sign.",
            lambda delta_next, W_next, A, O, g_prime: -(delta_next @ W_next.T) * g_prime(A)),
    Mistake("times_O", "You multiplied by the outputs O^k instead of the derivative g'(A^k).",
            lambda delta_next, W_next, A, O, g_prime: (delta_next @ W_next.T) * O),
    Mistake("divided_by_N", "You divided by N: deltas are per example; average only in the weight gradient.",
            lambda delta_next, W_next, A, O, g_prime: (delta_next @ W_next.T) * g_prime(A) / len(A)),
    Mistake("g_prime_of_sum", "You applied g' to the weighted sum of deltas; it multiplies it: "
            "g'(A^k) * (delta^{k+1} W^{k+1 T}).", lambda delta_next, W_next, A, O, g_prime: g_prime(delta_next @ W_next.T)),
]


# ------------------------------------------------------------------ 04 gradients
def _grad_cases(seed):
    rng = np.random.default_rng(seed)
    cases = []
    drawn = tuple(int(v) for v in (rng.integers(1, 16), rng.integers(1, 8), rng.integers(1, 8)))
    for N, r_prev, r in [(1, 3, 2), (5, 4, 3), (8, 2, 1), (6, 3, 3), (10, 5, 4), drawn]:
        cases.append(Case(f"N={N}, r_(k-1)={r_prev}, r_k={r}", {
            "O_prev": rng.normal(size=(N, r_prev)), "delta": rng.normal(size=(N, r))}))
    inp = {"O_prev": rng.normal(size=(4, 3)), "delta": rng.normal(size=(4, 2))}
    cases.append(Case("N=4, r_(k-1)=3, r_k=2, float32", _f32(inp), rtol=1e-5, atol=1e-6))
    return cases


def _bias_cases(seed):
    cases = []
    for c in _grad_cases(seed):
        N, r = c.inputs["delta"].shape
        label = f"N={N}, r_k={r}" + (", float32" if "float32" in c.label else "")
        cases.append(Case(label, {"delta": c.inputs["delta"]}, c.rtol, c.atol))
    return cases


_WEIGHT_MISTAKES = [
    Mistake("sum_not_mean", "You summed over the batch: the gradient of the mean error is the mean, "
            "O^{k-1 T} delta^k / N.", lambda O_prev, delta: O_prev.T @ delta),
    Mistake("transposed", "Transposed: dE/dW^k must have the shape of W^k, (r_{k-1}, r_k): O^{k-1 T} @ delta^k / N.",
            lambda O_prev, delta: delta.T @ O_prev / len(delta)),
    Mistake("wrong_sign", "Wrong sign: dE/dw_ij = delta_j o_i (gradient descent adds the minus sign later).",
            lambda O_prev, delta: -O_prev.T @ delta / len(delta)),
    Mistake("mean_of_factors", "You averaged O and delta separately and multiplied the means; average the "
            "products o_i delta_j over examples instead.",
            lambda O_prev, delta: np.outer(O_prev.mean(axis=0), delta.mean(axis=0))),
]

_BIAS_MISTAKES = [
    Mistake("sum_not_mean", "You summed the deltas over the batch: dE/db^k is their mean over the N rows.",
            lambda delta: delta.sum(axis=0)),
    Mistake("bias_forgotten", "Your bias gradient is zero: the bias is a weight on a constant 1, so "
            "dE/db_j = delta_j (averaged over rows).", lambda delta: np.zeros(delta.shape[1])),
    Mistake("wrong_sign", "Wrong sign: dE/db^k = mean of delta^k.", lambda delta: -delta.mean(axis=0)),
]


# ------------------------------------------------------------------ 05 backward pass
def _fresh_net(rng, sizes, g, g_out):
    W, b = [None], [None]
    for k in range(1, len(sizes)):
        W.append(rng.uniform(-1, 1, size=(sizes[k - 1], sizes[k])))
        b.append(rng.uniform(-1, 1, size=sizes[k]))
    return W, b


def _forward(W, b, X, g, g_out):
    m = len(W) - 1
    a, o = [None], [X]
    for k in range(1, m + 1):
        a.append(o[k - 1] @ W[k] + b[k])
        o.append(get_activation(g_out if k == m else g).g(a[k]))
    return a, o


def _backward_cases(seed):
    rng = np.random.default_rng(seed)
    cases = []
    drawn = (int(rng.integers(1, 9)), [int(r) for r in rng.integers(1, 6, size=int(rng.integers(3, 6)))],
             str(rng.choice(["sigmoid", "tanh", "relu"])), str(rng.choice(["sigmoid", "identity", "tanh"])))
    for N, sizes, g, g_out in [(4, [2, 3, 1], "sigmoid", "sigmoid"), (5, [3, 4, 2], "tanh", "identity"),
                               (1, [2, 3, 3, 2], "relu", "sigmoid"), (6, [4, 5, 3, 2, 2], "sigmoid", "identity"),
                               (3, [3, 3, 3], "tanh", "sigmoid"), drawn]:
        W, b = _fresh_net(rng, sizes, g, g_out)
        X = rng.normal(size=(N, sizes[0]))
        a, o = _forward(W, b, X, g, g_out)
        Y = rng.random((N, sizes[-1]))
        cases.append(Case(f"sizes={sizes}, N={N}, g={g}, g_o={g_out}", {
            "W": W, "b": b, "a": a, "o": o, "Y": Y, "g_prime": Act(g), "g_out_prime": Act(g_out)}))
    return cases


def _backward_generic(W, b, a, o, Y, g_prime, g_out_prime, *, out_gp=True, hid_gp=True, o_for_a=False,
                      transpose=False, sign=1.0, mean=True, bias=True):
    m = len(W) - 1
    N = Y.shape[0]
    delta = [None] * (m + 1)
    x = o if o_for_a else a
    delta[m] = (o[m] - Y) * (g_out_prime(x[m]) if out_gp else 1.0)
    for k in range(m - 1, 0, -1):
        back = delta[k + 1] @ (W[k + 1] if transpose else W[k + 1].T)
        delta[k] = back * (g_prime(x[k]) if hid_gp else 1.0)
    scale = sign / (N if mean else 1)
    dW = [None] + [scale * (o[k - 1].T @ delta[k]) for k in range(1, m + 1)]
    db = [None] + [scale * delta[k].sum(axis=0) * (1.0 if bias else 0.0) for k in range(1, m + 1)]
    return dW, db


def _backward_ref(W, b, a, o, Y, g_prime, g_out_prime):
    return _backward_generic(W, b, a, o, Y, g_prime, g_out_prime)


def _backward_named(value):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"backward should return a pair (dW, db), got {type(value).__name__}")
    dW, db = value
    if not isinstance(dW, (list, tuple)) or not isinstance(db, (list, tuple)):
        raise TypeError("backward should return two lists (dW, db) indexed by layer k")
    if len(dW) != len(db):
        raise ValueError(f"dW has {len(dW)} entries and db has {len(db)}; both are indexed by k = 0..m")
    out = {}
    for k in range(1, len(dW)):
        for name, val in ((f"dW[{k}]", dW[k]), (f"db[{k}]", db[k])):
            if val is None:
                if name.startswith("db"):
                    raise TypeError(f"{name} is None: the bias gradient was forgotten (dE/db^k = mean of delta^k)")
                raise TypeError(f"{name} is None: every layer k = 1..m needs a gradient")
            out[name] = np.asarray(val, dtype=np.float64)
    return out


def _bw(**flags):
    return lambda W, b, a, o, Y, g_prime, g_out_prime: _backward_generic(W, b, a, o, Y, g_prime, g_out_prime, **flags)


_BACKWARD_MISTAKES = [
    Mistake("missing_g_prime_hidden", "Your hidden deltas are missing the g'(a) factor: "
            "delta^k = (delta^{k+1} W^{k+1 T}) * g'(a^k).", _bw(hid_gp=False)),
    Mistake("missing_g_prime_output", "Your output delta is missing the g_o'(a^m) factor.", _bw(out_gp=False)),
    Mistake("o_for_a", "You applied g' to the outputs o[k]; it takes the activations a[k]. (o used instead of a.)",
            _bw(o_for_a=True)),
    Mistake("transposed_W", "Transposed weight matrix in the hidden delta: use delta[k+1] @ W[k+1].T.",
            _bw(transpose=True)),
    Mistake("wrong_sign", "Wrong sign: backprop returns dE/dtheta; the minus sign belongs to the update.",
            _bw(sign=-1.0)),
    Mistake("sum_not_mean", "You summed over the batch: divide the weight and bias gradients by N (the mean).",
            _bw(mean=False)),
    Mistake("bias_forgotten", "Your bias gradients are zero: dE/db^k is the mean of delta^k over rows.",
            _bw(bias=False)),
]


# ------------------------------------------------------------------ 06 softmax
def _softmax_cases(seed):
    rng = np.random.default_rng(seed)
    cases = []
    for N, K in [(1, 3), (4, 2), (6, 5), (3, 10), (int(rng.integers(1, 12)), int(rng.integers(2, 12)))]:
        A = rng.normal(scale=2, size=(N, K))
        Y = np.eye(K)[rng.integers(0, K, N)]
        cases.append(Case(f"N={N}, K={K}", {"A": A, "Y": Y}))
    A = np.array([[1000.0, 999.0, -1000.0], [-800.0, 800.0, 0.0]])
    cases.append(Case("N=2, K=3, large activations (|a| up to 1000)", {"A": A, "Y": np.eye(3)[[0, 1]]}))
    A = rng.normal(size=(3, 4))
    cases.append(Case("N=3, K=4, float32", _f32({"A": A, "Y": np.eye(4)[[1, 0, 3]]}), rtol=1e-5, atol=1e-6))
    return cases


def _softmax_ref(A):
    e = np.exp(A - A.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


_SOFTMAX_MISTAKES = [
    Mistake("wrong_axis", "You normalised over the batch (axis 0): each row is one example, and each row of "
            "softmax(A) must sum to 1 (axis=1).", lambda A: np.exp(A - A.max(axis=0)) / np.exp(A - A.max(axis=0)).sum(axis=0)),
    Mistake("not_normalised", "You forgot to divide by the sum: softmax(a)_j = e^{a_j} / sum_l e^{a_l}.",
            lambda A: np.exp(A - A.max(axis=1, keepdims=True))),
    Mistake("sigmoid", "That is the sigmoid of each entry; softmax normalises each row: e^{a_j} / sum_l e^{a_l}.",
            lambda A: _sig(A)),
]


def _ce_delta_ref(A, Y):
    return _softmax_ref(A) - Y


def _ce_delta_numeric(A, Y):
    Y = np.asarray(Y, np.float64)

    def E(a):
        top = a.max(axis=1, keepdims=True)
        return -float(np.sum(Y * (a - top - np.log(np.exp(a - top).sum(axis=1, keepdims=True)))))
    return _numgrad(E, np.asarray(A, np.float64).copy(), h=1e-6)


_CE_MISTAKES = [
    Mistake("forgot_softmax", "You used the activations A where the probabilities softmax(A) belong: "
            "delta^m = softmax(A^m) - Y.", lambda A, Y: A - Y),
    Mistake("wrong_sign", "Wrong sign: delta^m = Y_hat - Y, predictions minus targets.", lambda A, Y: Y - _softmax_ref(A)),
    Mistake("divided_by_N", "You divided by N: the delta is per example; the 1/N goes into the weight gradient.",
            lambda A, Y: (_softmax_ref(A) - Y) / len(A)),
    Mistake("extra_g_prime", "You multiplied by the softmax derivative p (1 - p): with cross-entropy the softmax "
            "Jacobian cancels, leaving delta^m = Y_hat - Y with no extra factor.",
            lambda A, Y: (_softmax_ref(A) - Y) * _softmax_ref(A) * (1 - _softmax_ref(A))),
    Mistake("dE_dY_hat", "That is dE/dy_hat = -y / y_hat; the delta is dE/da, which simplifies to Y_hat - Y.",
            lambda A, Y: -Y / _softmax_ref(A)),
]


# ------------------------------------------------------------------ 07 gradient check
def _ng_cases(seed):
    rng = np.random.default_rng(seed)
    funcs = [
        ("f(x) = sum(x^3)", "cube"),
        ("f(x) = sum(sin(3x))", "sin3"),
        ("f(x) = sum(x_i x_j) + sum(e^x)", "quad_exp"),
    ]
    cases = []
    for shape, (label, fname) in zip([(5,), (3, 4), (2, 3)], funcs):
        cases.append(Case(f"{label}, x of shape {shape}, h=1e-3", {
            "f": _NamedFunc(fname), "x": rng.normal(size=shape), "h": 1e-3}, rtol=1e-6, atol=1e-9))
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    cases.append(Case(f"f(x) = sum(sin(3x)), x of shape {shape}, h=1e-3", {
        "f": _NamedFunc("sin3"), "x": rng.normal(size=shape), "h": 1e-3}, rtol=1e-6, atol=1e-9))
    cases.append(Case("f(x) = sum(x^3), x of shape (4,), h=1e-4", {
        "f": _NamedFunc("cube"), "x": rng.normal(size=4) + 1.0, "h": 1e-4}, rtol=1e-6, atol=1e-9))
    return cases


class _NamedFunc:
    """A test function that can be named, pickled and re-created in another process."""

    FUNCS = {
        "cube": lambda x: float(np.sum(x ** 3)),
        "sin3": lambda x: float(np.sum(np.sin(3 * x))),
        "quad_exp": lambda x: float(np.sum(np.outer(x.ravel(), x.ravel())) + np.sum(np.exp(x))),
    }

    def __init__(self, name):
        self.name = name

    def __call__(self, x):
        return self.FUNCS[self.name](np.asarray(x))

    def __repr__(self):
        return f"<function {self.name}>"


def _ng_ref(f, x, h):
    return _numgrad(f, np.array(x, dtype=np.float64), h=h)


def _ng_forward(f, x, h):
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    f0 = f(x)
    for i in np.ndindex(x.shape):
        keep = x[i]
        x[i] = keep + h
        g[i] = (f(x) - f0) / h
        x[i] = keep
    return g


_NG_MISTAKES = [
    Mistake("forward_difference", "That is the forward difference (f(x+h) - f(x)) / h, accurate only to O(h). "
            "Use the central difference (f(x+h) - f(x-h)) / (2h).", _ng_forward),
    Mistake("divide_by_h", "Divide the central difference by 2h, not h: the two points are 2h apart.",
            lambda f, x, h: 2 * _ng_ref(f, x, h)),
    Mistake("wrong_sign", "Wrong sign: (f(x+h) - f(x-h)) / 2h, not (f(x-h) - f(x+h)) / 2h.",
            lambda f, x, h: -_ng_ref(f, x, h)),
]


def _re_cases(seed):
    rng = np.random.default_rng(seed)
    cases = []
    for shape in [(5,), (3, 4)]:
        a = rng.normal(size=shape)
        b = a * (1 + rng.normal(scale=1e-3, size=shape))
        cases.append(Case(f"close arrays of shape {shape}", {"a": a, "b": b}))
    a = rng.normal(size=6)
    cases.append(Case("different signs, shape (6,)", {"a": a, "b": -a * rng.random(6)}))
    a = rng.normal(size=(2, 2))
    cases.append(Case("swapped arguments must give the same value", {"a": 3 * a, "b": a}))
    cases.append(Case("both zero", {"a": np.zeros(3), "b": np.zeros(3)}, atol=1e-12))
    shape = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    a = rng.normal(size=shape)
    cases.append(Case(f"arrays of shape {shape}", {"a": a, "b": a + rng.normal(scale=0.1, size=shape)}))
    return cases


def _re_ref(a, b):
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)


_RE_MISTAKES = [
    Mistake("divide_by_a", "You divided by |a| only: the relative error should not depend on the order of its "
            "arguments: divide by max(|a|, |b|).", lambda a, b: np.abs(a - b) / np.maximum(np.abs(a), 1e-12)),
    Mistake("no_abs", "Take absolute values: |a - b| / max(|a|, |b|) is never negative.",
            lambda a, b: (a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)),
    Mistake("absolute_error", "That is the absolute error |a - b|; divide it by max(|a|, |b|).",
            lambda a, b: np.abs(a - b)),
]


# ------------------------------------------------------------------ 08 XOR step
def _xor_cases(seed):
    rng = np.random.default_rng(seed)
    cases = []
    drawn = (int(rng.integers(1, 9)), [int(v) for v in rng.integers(0, 2, size=2)], int(rng.integers(0, 2)),
             float(np.round(rng.uniform(0.1, 2.0), 2)))
    for H, x, y, lr in [(2, [1, 0], 1, 0.8), (2, [1, 1], 0, 0.8), (3, [0, 1], 1, 0.5), (4, [0, 0], 0, 0.8),
                        (2, [0, 1], 1, 1.5), drawn]:
        cases.append(Case(f"{H} hidden units, x={x}, y={y}, lr={lr}", {
            "W1": rng.uniform(-1, 1, (2, H)), "b1": rng.uniform(-1, 1, H),
            "W2": rng.uniform(-1, 1, (H, 1)), "b2": rng.uniform(-1, 1, 1),
            "x": np.array(x, dtype=float), "y": float(y), "lr": lr}, rtol=1e-9, atol=1e-12))
    return cases


def _xor_generic(W1, b1, W2, b2, x, y, lr, *, sign=-1.0, use_lr=True, bias=True, sequential=False,
                 hid_gp=True, out_gp=True):
    a1 = x @ W1 + b1
    o1 = _sig(a1)
    a2 = o1 @ W2 + b2
    o2 = _sig(a2)
    d2 = (o2 - y) * (o2 * (1 - o2) if out_gp else 1.0)
    step = lr if use_lr else 1.0
    W2n = W2 + sign * step * np.outer(o1, d2)
    b2n = b2 + sign * step * d2 * (1.0 if bias else 0.0)
    W_back = W2n if sequential else W2
    d1 = (W_back @ d2) * (o1 * (1 - o1) if hid_gp else 1.0)
    W1n = W1 + sign * step * np.outer(x, d1)
    b1n = b1 + sign * step * d1 * (1.0 if bias else 0.0)
    return W1n, b1n, W2n, b2n


def _xor_ref(W1, b1, W2, b2, x, y, lr):
    return _xor_generic(W1, b1, W2, b2, x, y, lr)


def _xor_named(value):
    if not isinstance(value, (tuple, list)) or len(value) != 4:
        raise TypeError(f"xor_step should return (W1, b1, W2, b2), got {type(value).__name__}"
                        + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else ""))
    names = ["W1", "b1", "W2", "b2"]
    out = {}
    for n, v in zip(names, value):
        if v is None:
            raise TypeError(f"{n} is None: return all four updated arrays")
        out[n] = np.asarray(v, dtype=np.float64)
    return out


def _xs(**flags):
    return lambda W1, b1, W2, b2, x, y, lr: _xor_generic(W1, b1, W2, b2, x, y, lr, **flags)


_XOR_MISTAKES = [
    Mistake("sequential_update", "You computed the hidden delta with the already-updated W2: compute every "
            "delta with the weights of the forward pass first, then update all weights.", _xs(sequential=True)),
    Mistake("wrong_sign", "Wrong sign in the update: gradient descent steps against the gradient, "
            "w <- w - lr * dE/dw.", _xs(sign=1.0)),
    Mistake("no_lr", "The learning rate is missing from the update: w <- w - lr * dE/dw.", _xs(use_lr=False)),
    Mistake("bias_forgotten", "The biases did not change: they are weights on a constant 1 and are updated too, "
            "b <- b - lr * delta.", _xs(bias=False)),
    Mistake("missing_g_prime_hidden", "The hidden delta is missing the sigmoid derivative o1 (1 - o1).",
            _xs(hid_gp=False)),
    Mistake("missing_g_prime_output", "The output delta is missing the sigmoid derivative o2 (1 - o2).",
            _xs(out_gp=False)),
]


# ------------------------------------------------------------------ the specs
def _spec(name, signature, cases, reference, mistakes, what, **kw):
    return Spec(name=name, signature=signature, cases=cases, reference=reference, mistakes=mistakes,
                what=what, **kw)


SPECS = {
    "sigmoid_prime": _spec("sigmoid_prime", "sigmoid_prime(a)", lambda s: _act_cases(s, "sigmoid"),
                           _deriv("sigmoid"), _sig_mistakes(), "sigma'(a)", numeric=_act_numeric("sigmoid")),
    "tanh_prime": _spec("tanh_prime", "tanh_prime(a)", lambda s: _act_cases(s, "tanh"), _deriv("tanh"),
                        _tanh_mistakes(), "tanh'(a)", numeric=_act_numeric("tanh")),
    "relu_prime": _spec("relu_prime", "relu_prime(a)", lambda s: _act_cases(s, "relu"), _deriv("relu"),
                        _relu_mistakes(), "relu'(a)", numeric=_act_numeric("relu")),
    "output_delta": _spec("output_delta", "output_delta(Y_hat, Y, A, g_out_prime)", _output_delta_cases,
                          _output_delta_ref, _OUTPUT_DELTA_MISTAKES, "the output delta",
                          numeric=_output_delta_numeric),
    "hidden_delta": _spec("hidden_delta", "hidden_delta(delta_next, W_next, A, O, g_prime)", _hidden_cases,
                          _hidden_ref, _HIDDEN_MISTAKES, "the hidden delta"),
    "weight_gradient": _spec("weight_gradient", "weight_gradient(O_prev, delta)", _grad_cases,
                             lambda O_prev, delta: O_prev.T @ delta / len(delta), _WEIGHT_MISTAKES, "dE/dW"),
    "bias_gradient": _spec("bias_gradient", "bias_gradient(delta)", _bias_cases,
                           lambda delta: delta.mean(axis=0), _BIAS_MISTAKES, "dE/db"),
    "backward": _spec("backward", "backward(W, b, a, o, Y, g_prime, g_out_prime)", _backward_cases,
                      _backward_ref, _BACKWARD_MISTAKES, "(dW, db)", output_names=_backward_named),
    "softmax": _spec("softmax", "softmax(A)", lambda s: [Case(c.label, {"A": c.inputs["A"]}, c.rtol, c.atol)
                                                         for c in _softmax_cases(s)],
                     _softmax_ref, _SOFTMAX_MISTAKES, "softmax(A)"),
    "softmax_ce_delta": _spec("softmax_ce_delta", "softmax_ce_delta(A, Y)", _softmax_cases, _ce_delta_ref,
                              _CE_MISTAKES, "the output delta", numeric=_ce_delta_numeric),
    "numerical_gradient": _spec("numerical_gradient", "numerical_gradient(f, x, h)", _ng_cases, _ng_ref,
                                _NG_MISTAKES, "the numerical gradient"),
    "relative_error": _spec("relative_error", "relative_error(a, b)", _re_cases, _re_ref, _RE_MISTAKES,
                            "the relative error"),
    "xor_step": _spec("xor_step", "xor_step(W1, b1, W2, b2, x, y, lr)", _xor_cases, _xor_ref, _XOR_MISTAKES,
                      "(W1, b1, W2, b2)", output_names=_xor_named),
}

#: Which functions each exercise notebook asks for (file stem -> spec names).
EXERCISES = {
    "01_activation_derivatives": ["sigmoid_prime", "tanh_prime", "relu_prime"],
    "02_output_delta": ["output_delta"],
    "03_hidden_delta": ["hidden_delta"],
    "04_gradients": ["weight_gradient", "bias_gradient"],
    "05_backward_pass": ["backward"],
    "06_softmax_delta": ["softmax", "softmax_ce_delta"],
    "07_gradient_check": ["numerical_gradient", "relative_error", "buggy_parameter"],
    "08_xor_step": ["xor_step"],
}


# Exercises of the [beyond] topics live in their own modules and join the tables here.
def _merge_extensions():
    import importlib
    for module, suffix in (("check_rnn", "RNN"), ("check_conv", "CONV")):
        try:
            mod = importlib.import_module(f"{__package__}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{module}":
                raise
            continue
        SPECS.update(getattr(mod, f"SPECS_{suffix}"))
        EXERCISES.update(getattr(mod, f"EXERCISES_{suffix}"))


_merge_extensions()


def _make_checker(name):
    def checker(fn, seed=0):
        return _check(SPECS[name], fn, seed)
    checker.__name__ = name
    checker.__doc__ = f"Check your {SPECS[name].signature}; prints one line or raises AssertionError with a hint."
    return checker


for _name in SPECS:
    globals()[_name] = _make_checker(_name)


# ------------------------------------------------------------------ 07, part 3: the planted bug
def planted_bug_backward(net, X, Y):
    """The backward pass of exercise 07 with one planted bug, for students to find with
    their gradient checker. Returns the gradient list in the order of ``net.params``."""
    net.forward(X)
    dW, db = net.backward(Y)
    # the bug: the hidden delta of layer 1 used o[1] instead of a[1] inside g'
    m = net.m
    if m >= 2:
        wrong = (net.delta[2] @ net.W[2].T) * net.g.deriv(net.o[1])
        dW[1] = net.o[0].T @ wrong / len(X)
        db[1] = wrong.mean(axis=0)
    return [g for k in range(1, m + 1) for g in (dW[k], db[k])]


BUGGY_PARAMETERS = ("W[1]", "b[1]")


def buggy_parameter(answer):
    """Check the answer to 'which parameter's gradient does planted_bug_backward get wrong?'."""
    valid = {"W[1]", "b[1]", "W[2]", "b[2]"}
    if not isinstance(answer, (list, tuple, set)):
        answer = [answer]
    answer = {str(a).replace(" ", "") for a in answer}
    if not answer <= valid:
        raise AssertionError(f"name parameters as {sorted(valid)}; got {sorted(answer)}")
    if answer == set(BUGGY_PARAMETERS):
        print("\u2714 buggy_parameter: right, both W[1] and b[1] come out wrong (they share the bad delta[1])")
        return True
    if answer and answer < set(BUGGY_PARAMETERS):
        raise AssertionError("Partly right: one more parameter's gradient is wrong; run your checker on every "
                             "parameter, not only the first failure.")
    raise AssertionError("Not that one: compare the planted backward's gradient with your numerical gradient "
                         "for every parameter and list those whose relative error is large.")
