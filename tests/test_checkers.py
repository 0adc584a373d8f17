"""Every exercise checker rejects wrong answers with the right hint and accepts right
answers written in other ways. The wrong answers here are written as a student would
write them (loops, other names), not copied from the checker's own mistake list."""
import numpy as np
import pytest

from bpcore import check
from bpcore.check import EXERCISES, SPECS
from bpcore.checking import diagnose, run_cases


def verdict(name, fn, seed=0):
    cases = SPECS[name].cases(seed)
    outputs, mutated = run_cases(fn, cases)
    return diagnose(SPECS[name], cases, outputs, mutated)


def sig(a):
    return 1 / (1 + np.exp(-np.clip(a, -500, 500)))


def softmax_rows(A):
    e = np.exp(A - A.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------ the table of cases
# exercise function -> (list of (wrong implementation, expected mistake name, words in the hint),
#                       list of right implementations)
def _not_implemented(*args, **kwargs):
    raise NotImplementedError("write this part")


def _returns_none(*args, **kwargs):
    return None


def _loop_hidden_delta(delta_next, W_next, A, O, g_prime):
    N, r = A.shape
    out = np.zeros((N, r))
    for n in range(N):
        for j in range(r):
            out[n, j] = sum(W_next[j, l] * delta_next[n, l] for l in range(W_next.shape[1])) * g_prime(A[n, j])
    return out


def _einsum_backward(W, b, a, o, Y, g_prime, g_out_prime):
    m, N = len(W) - 1, len(Y)
    d = (o[m] - Y) * g_out_prime(a[m])
    dW, db = [None] * (m + 1), [None] * (m + 1)
    for k in range(m, 0, -1):
        dW[k] = np.einsum("ni,nj->ij", o[k - 1], d) / N
        db[k] = np.einsum("nj->j", d) / N
        if k > 1:
            d = np.einsum("nl,jl->nj", d, W[k]) * g_prime(a[k - 1])
    return dW, db


def _per_example_backward(W, b, a, o, Y, g_prime, g_out_prime):
    m, N = len(W) - 1, len(Y)
    dW = [None] + [np.zeros_like(W[k]) for k in range(1, m + 1)]
    db = [None] + [np.zeros_like(b[k]) for k in range(1, m + 1)]
    for n in range(N):
        d = (o[m][n] - Y[n]) * g_out_prime(a[m][n])
        for k in range(m, 0, -1):
            dW[k] += np.outer(o[k - 1][n], d) / N
            db[k] += d / N
            if k > 1:
                d = (W[k] @ d) * g_prime(a[k - 1][n])
    return dW, db


def _backward_variant(**bug):
    def backward(W, b, a, o, Y, g_prime, g_out_prime):
        m, N = len(W) - 1, len(Y)
        delta = [None] * (m + 1)
        out_x = o[m] if bug.get("o_for_a") else a[m]
        delta[m] = (o[m] - Y) * g_out_prime(out_x)
        if bug.get("sign"):
            delta[m] = (Y - o[m]) * g_out_prime(out_x)
        for k in range(m - 1, 0, -1):
            x = o[k] if bug.get("o_for_a") else a[k]
            back = delta[k + 1] @ W[k + 1].T
            delta[k] = back if bug.get("no_g_prime") else back * g_prime(x)
        div = 1 if bug.get("sum") else N
        dW = [None] + [o[k - 1].T @ delta[k] / div for k in range(1, m + 1)]
        if bug.get("no_bias"):
            db = [None] + [np.zeros(W[k].shape[1]) for k in range(1, m + 1)]
        elif bug.get("bias_none"):
            db = [None] * (m + 1)
        else:
            db = [None] + [delta[k].sum(axis=0) / div for k in range(1, m + 1)]
        return dW, db
    return backward


def _ng_student(kind):
    def numerical_gradient(f, x, h=1e-5):
        g = np.zeros_like(x)
        it = np.nditer(x, flags=["multi_index"])
        base = f(x)
        while not it.finished:
            i = it.multi_index
            old = x[i]
            x[i] = old + h
            up = f(x)
            x[i] = old - h
            down = f(x)
            if kind != "no_restore":
                x[i] = old
            if kind == "forward":
                g[i] = (up - base) / h
            elif kind == "by_h":
                g[i] = (up - down) / h
            elif kind == "sign":
                g[i] = (down - up) / (2 * h)
            else:
                g[i] = (up - down) / (2 * h)
            it.iternext()
        return g
    return numerical_gradient


def _xor_student(**bug):
    def xor_step(W1, b1, W2, b2, x, y, lr):
        W1, b1, W2, b2 = W1.copy(), b1.copy(), W2.copy(), b2.copy()
        h = sig(x @ W1 + b1)
        out = sig(h @ W2 + b2)
        d_out = (out - y) * out * (1 - out)
        step = 1.0 if bug.get("no_lr") else lr
        sign = 1.0 if bug.get("plus") else -1.0
        W2 += sign * step * h[:, None] * d_out[None, :]
        if not bug.get("no_bias"):
            b2 += sign * step * d_out
        W_for_back = W2 if bug.get("sequential") else (W2 - sign * step * h[:, None] * d_out[None, :])
        d_h = (W_for_back @ d_out) * (1.0 if bug.get("no_g_prime") else h * (1 - h))
        W1 += sign * step * x[:, None] * d_h[None, :]
        if not bug.get("no_bias"):
            b1 += sign * step * d_h
        return W1, b1, W2, b2
    return xor_step


def _xor_inplace(W1, b1, W2, b2, x, y, lr):
    W1n, b1n, W2n, b2n = _xor_student()(W1, b1, W2, b2, x, y, lr)
    W1 -= 0  # touches nothing
    b2[...] = b2n  # but this overwrites an input in place
    return W1n, b1n, W2n, b2n


CASES = {
    "sigmoid_prime": (
        [(lambda a: sig(a), "returned_g", "itself"),
         (lambda a: a * (1 - a), "a_for_o", "used a where"),
         (lambda a: sig(a) * (1 - a), "mixed_a_o", "instead of sigma"),
         (lambda a: sig(a) * (sig(a) - 1), "wrong_sign", "sign"),
         (lambda a: sig(a) ** 2, "square", "(1 - sigma(a))"),
         (_not_implemented, "not_implemented", "not written yet"),
         (_returns_none, "bad_return", "return")],
        [lambda a: sig(a) * (1 - sig(a)),
         lambda a: np.exp(-a) / (1 + np.exp(-a)) ** 2 if np.all(np.abs(a) < 700) else sig(a) * sig(-a),
         lambda a: 0.25 / np.cosh(a / 2) ** 2],
    ),
    "tanh_prime": (
        [(lambda a: np.tanh(a), "returned_g", "itself"),
         (lambda a: 1 - a * a, "a_for_o", "used a where"),
         (lambda a: 1 - np.tanh(a), "missing_square", "square"),
         (lambda a: np.tanh(a) ** 2 - 1, "wrong_sign", "sign"),
         (lambda a: (1 - np.tanh(a)) ** 2, "square_of_difference", "(1 - tanh(a))^2"),
         (lambda a: (1 - np.tanh(a) ** 2).sum(), "wrong_shape", "expected")],
        [lambda a: 1 - np.tanh(a) ** 2, lambda a: 1 / np.cosh(a) ** 2,
         lambda a: 4.0 / (np.exp(a) + np.exp(-a)) ** 2],
    ),
    "relu_prime": (
        [(lambda a: np.maximum(0, a), "returned_g", "itself"),
         (lambda a: np.where(a < 0, 1.0, 0.0), "reversed", "wrong way"),
         (lambda a: np.ones(a.shape), "all_ones", "0 for negative"),
         (lambda a: -1.0 * (a > 0), "wrong_sign", "sign"),
         (lambda a: (a > 0).astype(float).ravel(), "wrong_shape", "same number of elements"),
         (_not_implemented, "not_implemented", "not written yet")],
        [lambda a: (a > 0).astype(float), lambda a: np.heaviside(a, 0.0), lambda a: np.where(a > 0, 1, 0)],
    ),
    "output_delta": (
        [(lambda Y_hat, Y, A, g_out_prime: Y_hat - Y, "missing_g_prime", "missing the g_o'(a)"),
         (lambda Y_hat, Y, A, g_out_prime: (Y_hat - Y) * g_out_prime(Y_hat), "o_for_a", "o used instead of a"),
         (lambda Y_hat, Y, A, g_out_prime: (Y - Y_hat) * g_out_prime(A), "wrong_sign", "sign"),
         (lambda Y_hat, Y, A, g_out_prime: (Y_hat - Y) * g_out_prime(A) / Y.shape[0], "divided_by_N", "divided by N"),
         (lambda Y_hat, Y, A, g_out_prime: ((Y_hat - Y) * g_out_prime(A)).mean(axis=0), "wrong_shape", "wrong shape"),
         (lambda Y_hat, Y, A, g_out_prime: 0.5 * (Y_hat - Y) ** 2 * g_out_prime(A), "used_E", "derivative"),
         (lambda Y_hat, Y, A, g_out_prime: np.full(Y.shape, np.nan), "not_finite", "NaN")],
        [lambda Y_hat, Y, A, g_out_prime: (Y_hat - Y) * g_out_prime(A),
         lambda Y_hat, Y, A, g_out_prime: np.multiply(np.subtract(Y_hat, Y), g_out_prime(A)),
         lambda Y_hat, Y, A, g_out_prime: np.array([[(Y_hat[n, j] - Y[n, j]) * g_out_prime(A[n, j])
                                                     for j in range(Y.shape[1])] for n in range(Y.shape[0])])],
    ),
    "hidden_delta": (
        [(lambda delta_next, W_next, A, O, g_prime: delta_next @ W_next.T, "missing_g_prime", "missing the g'(a)"),
         (lambda delta_next, W_next, A, O, g_prime: delta_next @ W_next.T * g_prime(O), "o_for_a", "o used instead of a"),
         (lambda delta_next, W_next, A, O, g_prime: delta_next @ W_next * g_prime(A), "transposed_W", "Transposed"),
         (lambda delta_next, W_next, A, O, g_prime: -(delta_next @ W_next.T) * g_prime(A), "wrong_sign", "sign"),
         (lambda delta_next, W_next, A, O, g_prime: (delta_next @ W_next.T) * O, "times_O", "outputs O^k"),
         (lambda delta_next, W_next, A, O, g_prime: (W_next @ delta_next.T) * g_prime(A), "wrong_shape", "transposed"),
         (lambda delta_next, W_next, A, O, g_prime: (delta_next @ W_next.T) * g_prime(A) / len(A), "divided_by_N", "divided by N"),
         (lambda delta_next, W_next, A, O, g_prime: (delta_next @ W_next.T) * g_prime(A) + 1e-3, "unknown", "Largest difference")],
        [lambda delta_next, W_next, A, O, g_prime: (delta_next @ W_next.T) * g_prime(A),
         _loop_hidden_delta,
         lambda delta_next, W_next, A, O, g_prime: np.einsum("nl,jl->nj", delta_next, W_next) * g_prime(A)],
    ),
    "weight_gradient": (
        [(lambda O_prev, delta: O_prev.T @ delta, "sum_not_mean", "summed"),
         (lambda O_prev, delta: delta.T @ O_prev / len(delta), "transposed", "Transposed"),
         (lambda O_prev, delta: -(O_prev.T @ delta) / len(delta), "wrong_sign", "sign"),
         (lambda O_prev, delta: np.outer(O_prev.mean(0), delta.mean(0)), "mean_of_factors", "averaged O and delta"),
         (lambda O_prev, delta: O_prev.T @ delta / O_prev.shape[1], "unknown", "Largest difference"),
         (_returns_none, "bad_return", "return")],
        [lambda O_prev, delta: O_prev.T @ delta / len(delta),
         lambda O_prev, delta: sum(np.outer(O_prev[n], delta[n]) for n in range(len(delta))) / len(delta),
         lambda O_prev, delta: np.einsum("ni,nj->ij", O_prev, delta) / delta.shape[0]],
    ),
    "bias_gradient": (
        [(lambda delta: delta.sum(axis=0), "sum_not_mean", "summed"),
         (lambda delta: delta.mean(axis=1), "wrong_shape", "wrong axis"),
         (lambda delta: delta.mean(axis=0, keepdims=True), "wrong_shape", "keepdims"),
         (lambda delta: np.zeros(delta.shape[1]), "bias_forgotten", "constant 1"),
         (lambda delta: -delta.mean(axis=0), "wrong_sign", "sign"),
         (lambda delta: delta.mean(), "wrong_shape", "expected")],
        [lambda delta: delta.mean(axis=0), lambda delta: delta.sum(axis=0) / len(delta),
         lambda delta: np.ones(len(delta)) @ delta / len(delta)],
    ),
    "backward": (
        [(_backward_variant(no_g_prime=True), "missing_g_prime_hidden", "hidden deltas are missing"),
         (_backward_variant(o_for_a=True), "o_for_a", "o used instead of a"),
         (_backward_variant(sign=True), "wrong_sign", "sign"),
         (_backward_variant(sum=True), "sum_not_mean", "summed"),
         (_backward_variant(no_bias=True), "bias_forgotten", "bias"),
         (_backward_variant(bias_none=True), "bad_return", "bias gradient was forgotten"),
         (lambda W, b, a, o, Y, g_prime, g_out_prime: _backward_variant()(W, b, a, o, Y, g_prime, g_out_prime)[0],
          "bad_return", "pair (dW, db)")],
        [_backward_variant(), _einsum_backward, _per_example_backward],
    ),
    "softmax": (
        [(lambda A: np.exp(A) / np.exp(A).sum(axis=1, keepdims=True), "not_finite", "subtract each row's maximum"),
         (lambda A: np.exp(A - A.max()) / np.exp(A - A.max()).sum(axis=0), "wrong_axis", "axis"),
         (lambda A: np.exp(A - A.max(axis=1, keepdims=True)), "not_normalised", "divide by the sum"),
         (lambda A: sig(A), "sigmoid", "sigmoid"),
         (lambda A: softmax_rows(A).sum(axis=1), "wrong_shape", "wrong shape"),
         (_not_implemented, "not_implemented", "not written yet")],
        [softmax_rows,
         lambda A: np.exp(A - np.log(np.sum(np.exp(A - A.max(1, keepdims=True)), 1, keepdims=True)) - A.max(1, keepdims=True)),
         lambda A: np.array([np.exp(r - r.max()) / np.exp(r - r.max()).sum() for r in A])],
    ),
    "softmax_ce_delta": (
        [(lambda A, Y: A - Y, "forgot_softmax", "probabilities"),
         (lambda A, Y: Y - softmax_rows(A), "wrong_sign", "sign"),
         (lambda A, Y: (softmax_rows(A) - Y) / len(A), "divided_by_N", "divided by N"),
         (lambda A, Y: (softmax_rows(A) - Y) * softmax_rows(A) * (1 - softmax_rows(A)), "extra_g_prime", "cancels"),
         (lambda A, Y: -Y / softmax_rows(A), "dE_dY_hat", "dE/dy_hat"),
         (lambda A, Y: np.exp(A) / np.exp(A).sum(1, keepdims=True) - Y, "not_finite", "maximum")],
        [lambda A, Y: softmax_rows(A) - Y,
         lambda A, Y: softmax_rows(A.astype(np.float64)) - Y.astype(np.float64),
         lambda A, Y: np.where(Y == 1, softmax_rows(A) - 1, softmax_rows(A))],
    ),
    "numerical_gradient": (
        [(_ng_student("forward"), "forward_difference", "forward difference"),
         (_ng_student("by_h"), "divide_by_h", "2h"),
         (_ng_student("sign"), "wrong_sign", "sign"),
         (_ng_student("no_restore"), "mutated_input", "in place"),
         (lambda f, x, h=1e-5: np.zeros(x.size), "wrong_shape", "expected"),
         (_not_implemented, "not_implemented", "not written yet")],
        [_ng_student("right"),
         lambda f, x, h=1e-5: np.array([(f(x + h * e) - f(x - h * e)) / (2 * h)
                                        for e in np.eye(x.size).reshape((x.size,) + x.shape)]).reshape(x.shape)],
    ),
    "relative_error": (
        [(lambda a, b: np.abs(a - b) / np.maximum(np.abs(a), 1e-12), "divide_by_a", "order of its"),
         (lambda a, b: (a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12), "no_abs", "absolute values"),
         (lambda a, b: np.abs(a - b), "absolute_error", "absolute error"),
         (lambda a, b: np.abs(a - b) / np.maximum(np.abs(a), np.abs(b)), "not_finite", "NaN"),
         (lambda a, b: float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12))),
          "wrong_shape", "wrong shape")],
        [lambda a, b: np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12),
         lambda a, b: np.abs(a - b) / np.clip(np.fmax(np.abs(a), np.abs(b)), 1e-12, None)],
    ),
    "xor_step": (
        [(_xor_student(sequential=True), "sequential_update", "already-updated W2"),
         (_xor_student(plus=True), "wrong_sign", "sign"),
         (_xor_student(no_lr=True), "no_lr", "learning rate"),
         (_xor_student(no_bias=True), "bias_forgotten", "biases"),
         (_xor_student(no_g_prime=True), "missing_g_prime_hidden", "hidden delta is missing"),
         (_xor_inplace, "mutated_input", "in place"),
         (lambda W1, b1, W2, b2, x, y, lr: (W1, b1, W2), "bad_return", "(W1, b1, W2, b2)")],
        [_xor_student(),
         lambda W1, b1, W2, b2, x, y, lr: check_ref_xor_loops(W1, b1, W2, b2, x, y, lr)],
    ),
}


def check_ref_xor_loops(W1, b1, W2, b2, x, y, lr):
    """XOR step written with scalar loops, a second right answer."""
    H = W1.shape[1]
    o1 = [float(sig(b1[j] + x[0] * W1[0, j] + x[1] * W1[1, j])) for j in range(H)]
    out = float(sig(b2[0] + sum(o1[j] * W2[j, 0] for j in range(H))))
    d2 = (out - y) * out * (1 - out)
    d1 = [W2[j, 0] * d2 * o1[j] * (1 - o1[j]) for j in range(H)]
    W1n = np.array([[W1[i, j] - lr * x[i] * d1[j] for j in range(H)] for i in range(2)])
    b1n = np.array([b1[j] - lr * d1[j] for j in range(H)])
    W2n = np.array([[W2[j, 0] - lr * o1[j] * d2] for j in range(H)])
    b2n = np.array([b2[0] - lr * d2])
    return W1n, b1n, W2n, b2n


# The [beyond] exercises keep their mutants and variants next to their own tests.
for _module, _table in (("test_check_conv", "CASES_CONV"), ("test_check_rnn", "CASES_RNN")):
    try:
        CASES.update(getattr(__import__(_module), _table, {}))
    except ModuleNotFoundError:
        pass

WRONG = [(name, i, fn, mistake, words) for name, (wrong, _) in CASES.items()
         for i, (fn, mistake, words) in enumerate(wrong)]
RIGHT = [(name, i, fn) for name, (_, right) in CASES.items() for i, fn in enumerate(right)]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name,i,fn,mistake,words", WRONG, ids=[f"{w[0]}-{w[3]}-{w[1]}" for w in WRONG])
def test_checker_rejects_mistake_with_its_hint(name, i, fn, mistake, words):
    v = verdict(name, fn)
    assert not v.passed, f"{name} accepted a wrong implementation ({mistake})"
    assert v.mistake == mistake, f"{name}: expected the {mistake!r} hint, got {v.mistake!r}: {v.message}"
    assert words.lower() in v.message.lower(), v.message
    # the check cell raises AssertionError with the same message, so nbval fails the cell
    with pytest.raises(AssertionError) as e:
        getattr(check, name)(fn)
    assert e.value.args[0] == v.message


@pytest.mark.parametrize("name,i,fn", RIGHT, ids=[f"{r[0]}-variant{r[1]}" for r in RIGHT])
def test_checker_accepts_right_variants(name, i, fn, capsys):
    for seed in (0, 1, 12345):  # the grader uses fresh seeds: right answers must pass on any
        v = verdict(name, fn, seed)
        assert v.passed, f"{name} variant {i} rejected (seed {seed}): {v.message}"
    getattr(check, name)(fn)
    assert capsys.readouterr().out.startswith("\u2714")


def test_every_exercise_has_five_wrong_and_two_right():
    for exercise, names in EXERCISES.items():
        names = [n for n in names if n in SPECS]
        wrong = sum(len(CASES[n][0]) for n in names)
        right = min(len(CASES[n][1]) for n in names)
        assert wrong >= 5 and right >= 2, exercise


def test_every_named_mistake_is_exercised():
    """Each mistake a checker knows is produced by at least one student-style mutant here,
    except those that only the grader's fresh seeds tell apart."""
    for name, spec in SPECS.items():
        seen = {m for _, _, _, m, _ in [w for w in WRONG if w[0] == name]}
        missing = {m.name for m in spec.mistakes} - seen
        allowed = {"output_delta": {"missing_half_derivative"}, "hidden_delta": {"g_prime_of_sum"},
                   "backward": {"missing_g_prime_output", "transposed_W"},
                   "xor_step": {"missing_g_prime_output"}}.get(name, set())
        assert missing <= allowed, f"{name}: no mutant triggers {missing - allowed}"


def test_reference_agrees_with_finite_differences():
    for name, spec in SPECS.items():
        if spec.numeric is None:
            continue
        for case in spec.cases(3):
            ref = spec.reference(**case.inputs)
            if isinstance(ref, (tuple, list)):
                continue  # tuple outputs are checked against finite differences in their own tests
            ref = np.asarray(ref, dtype=np.float64)
            num = spec.numeric(**case.inputs)
            np.testing.assert_allclose(ref, num, rtol=1e-5, atol=1e-6, err_msg=f"{name}: {case.label}")


def test_buggy_parameter_answers():
    assert check.buggy_parameter(["W[1]", "b[1]"])
    for wrong in (["W[2]"], "W[1]", ["W[1]", "b[1]", "W[2]"], []):
        with pytest.raises(AssertionError):
            check.buggy_parameter(wrong)
    with pytest.raises(AssertionError, match="Partly right"):
        check.buggy_parameter("b[1]")


def test_planted_bug_really_is_in_w1_b1():
    from bpcore import Network, check_gradients
    from bpcore.check import planted_bug_backward
    net = Network([3, 4, 2], g="sigmoid", g_out="sigmoid", seed=7)
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(6, 3)), rng.random((6, 2))
    report = check_gradients(net, X, Y, grads=planted_bug_backward(net, X, Y))
    assert {c.name for c in report.failures} == {"W[1]", "b[1]"}
