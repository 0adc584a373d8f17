"""The checkers of exercise 10 (convolution backward pass) reject wrong answers with the
right hint and accept right answers written in other ways (loops, einsum, np.convolve,
sliding windows), on the seeds the notebooks and the grader use. The wrong answers are
written as a student would write them, not taken from the checker's own mistake list.

``CASES_CONV`` has the format of ``CASES`` in tests/test_checkers.py."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from bpcore.check_conv import EXERCISES_CONV, SPECS_CONV, _conv1d_numeric
from bpcore.checking import check, diagnose, run_cases
from bpcore.conv import conv1d_backward as bp_conv1d_backward, conv2d_backward as bp_conv2d_backward

ROOT = Path(__file__).resolve().parents[1]


def verdict(name, fn, seed=0):
    cases = SPECS_CONV[name].cases(seed)
    outputs, mutated = run_cases(fn, cases)
    return diagnose(SPECS_CONV[name], cases, outputs, mutated)


def _not_implemented(*args, **kwargs):
    raise NotImplementedError("write this part, then run the check cell below")


# ------------------------------------------------------------------ 1-D students
def loop_student(**bug):
    """Explicit loops over n, o, c, p, i: the most direct translation of the sums.
    ``bug`` plants one of the mistakes people make."""
    def conv1d_backward(delta, X, K):
        N, C_in, L = X.shape
        C_out, _, k = K.shape
        L_out = L - k + 1
        dX = np.zeros((N, C_in, L))
        dK = np.zeros((C_in, C_out, k)) if bug.get("dK_c_o") else np.zeros((C_out, C_in, k))
        db = np.zeros(C_out)
        for n in range(N):
            for o in range(C_out):
                for p in range(L_out):
                    if not bug.get("no_bias"):
                        db[o] += delta[n, o, p]
                    for c in range(C_in):
                        for i in range(k):
                            x = X[n, c, p + k - 1 - i] if bug.get("flip_dK") else X[n, c, p + i]
                            if bug.get("overwrite"):
                                dK[o, c, i] = delta[n, o, p] * x  # `=` where `+=` belongs
                            elif bug.get("dK_c_o"):
                                dK[c, o, i] += delta[n, o, p] * x
                            else:
                                dK[o, c, i] += delta[n, o, p] * x
                            w = K[o, c, k - 1 - i] if bug.get("unflipped") else K[o, c, i]
                            dX[n, c, p + i] += delta[n, o, p] * w
        if not bug.get("sum"):
            dK, db = dK / N, db / N
        if bug.get("dX_over_N"):
            dX = dX / N
        if bug.get("minus"):
            dX, dK, db = -dX, -dK, -db
        if bug.get("bias_none"):
            db = None
        if bug.get("two_outputs"):
            return dK, db
        return dX, dK, db
    return conv1d_backward


def mean_positions_student(delta, X, K):
    """Averages delta * patch over n *and* p with np.mean: a mean over the positions too."""
    N, C_in, L = X.shape
    C_out, _, k = K.shape
    L_out = L - k + 1
    dK = np.zeros(K.shape)
    for i in range(k):
        prod = delta[:, :, None, :] * X[:, None, :, i:i + L_out]        # (N, C_out, C_in, L_out)
        dK[:, :, i] = prod.mean(axis=(0, 3))
    dX = np.zeros(X.shape)
    for i in range(k):
        dX[:, :, i:i + L_out] += np.einsum("nop,oc->ncp", delta, K[:, :, i])
    return dX, dK, delta.mean(axis=(0, 2))


def valid_dX_student(delta, X, K):
    """dX computed like the forward pass (valid correlation of delta with K): too short."""
    N, C_in, L = X.shape
    C_out, _, k = K.shape
    L_out = L - k + 1
    dK = np.stack([np.einsum("nop,ncp->oc", delta, X[:, :, i:i + L_out]) for i in range(k)], axis=2) / N
    short = L_out - k + 1
    dX = np.zeros((N, C_in, max(short, 0)))
    for i in range(k):
        dX += np.einsum("nop,oc->ncp", delta[:, :, i:i + short], K[:, :, i])
    return dX, dK, delta.sum(axis=(0, 2)) / N


def sum_batch_dK_only_student(delta, X, K):
    """Vectorised, but forgot the 1/N in dK (the bias is averaged right)."""
    L_out = delta.shape[2]
    dK = np.stack([np.einsum("nop,ncp->oc", delta, X[:, :, i:i + L_out]) for i in range(K.shape[2])], axis=2)
    dX = np.zeros(X.shape)
    for i in range(K.shape[2]):
        dX[:, :, i:i + L_out] += np.einsum("nop,oc->ncp", delta, K[:, :, i])
    return dX, dK, delta.mean(axis=0).sum(axis=1)


def transposed_dX_student(delta, X, K):
    """dX mixes up K's channel axes (works only when C_in == C_out)."""
    L_out = delta.shape[2]
    dX = np.zeros(X.shape)
    for i in range(K.shape[2]):
        dX[:, :, i:i + L_out] += np.einsum("nop,co->ncp", delta, K[:, :, i])
    dK = np.stack([np.einsum("nop,ncp->oc", delta, X[:, :, i:i + L_out]) for i in range(K.shape[2])], axis=2)
    return dX, dK / len(X), delta.sum(axis=(0, 2)) / len(X)


# right answers, written differently
def einsum_right(delta, X, K):
    return bp_conv1d_backward(delta, (X, K))


def np_convolve_right(delta, X, K):
    """With NumPy's 1-D routines: dK by a valid correlation of x with delta, dX by a full
    (true) convolution of delta with K."""
    N, C_in, L = X.shape
    C_out, _, k = K.shape
    dX, dK, db = np.zeros(X.shape), np.zeros(K.shape), np.zeros(C_out)
    for n in range(N):
        for o in range(C_out):
            db[o] += delta[n, o].sum() / N
            for c in range(C_in):
                dK[o, c] += np.correlate(X[n, c], delta[n, o], mode="valid") / N
                dX[n, c] += np.convolve(delta[n, o], K[o, c], mode="full")
    return dX, dK, db


def padded_flipped_right(delta, X, K):
    """The derivation's last line: pad delta with k - 1 zeros, correlate with the flipped kernel."""
    N, C_in, L = X.shape
    C_out, _, k = K.shape
    padded = np.pad(delta, ((0, 0), (0, 0), (k - 1, k - 1)))
    windows = sliding_window_view(padded, k, axis=2)                     # (N, C_out, L, k)
    dX = np.einsum("nosi,oci->ncs", windows, K[:, :, ::-1])
    x_windows = sliding_window_view(X, delta.shape[2], axis=2)          # (N, C_in, k, L_out)
    dK = np.einsum("ncip,nop->oci", x_windows, delta) / N
    return dX, dK, np.mean(np.sum(delta, axis=2), axis=0)


def float32_right(delta, X, K):
    """Keeps float32 inputs in float32 (the check allows for its rounding)."""
    out = loop_student()(delta, X, K)
    return tuple(a.astype(X.dtype) for a in out)


# ------------------------------------------------------------------ 2-D students
def kernel_loop_student(**bug):
    def conv2d_kernel_gradient(delta, X):
        N, C_in, H, W = X.shape
        _, C_out, H_out, W_out = delta.shape
        kh, kw = H - H_out + 1, W - W_out + 1
        dK = np.zeros((C_in, C_out, kh, kw)) if bug.get("c_o") else np.zeros((C_out, C_in, kh, kw))
        for n in range(N):
            for p in range(H_out):
                for q in range(W_out):
                    patch = X[n, :, p:p + kh, q:q + kw]                     # (C_in, kh, kw)
                    if bug.get("rot180"):
                        patch = patch[:, ::-1, ::-1]
                    contrib = delta[n, :, p, q][:, None, None, None] * patch[None]   # (C_out, C_in, kh, kw)
                    if bug.get("c_o"):
                        contrib = contrib.transpose(1, 0, 2, 3)
                    if bug.get("overwrite"):
                        dK = contrib.copy()
                    elif bug.get("overwrite_batched"):
                        dK = np.einsum("no,ncij->ocij", delta[:, :, p, q], X[:, :, p:p + kh, q:q + kw]) / N
                    else:
                        dK += contrib
        if bug.get("overwrite") or bug.get("overwrite_batched"):
            return dK            # one position only (of the last example, or averaged over the batch)
        if bug.get("positions_mean"):
            dK = dK / (H_out * W_out)
        if bug.get("minus"):
            dK = -dK
        return dK if bug.get("sum") else dK / N
    return conv2d_kernel_gradient


def first_position_student(delta, X):
    N, C_in, H, W = X.shape
    kh, kw = H - delta.shape[2] + 1, W - delta.shape[3] + 1
    # "the kernel gradient is delta times the input under the kernel" -- at one position only
    return np.einsum("no,ncij->ocij", delta[:, :, 0, 0], X[:, :, :kh, :kw]) / N


def swapped_ij_student(delta, X):
    N, C_in, H, W = X.shape
    _, C_out, H_out, W_out = delta.shape
    kh, kw = H - H_out + 1, W - W_out + 1
    dK = np.zeros((C_out, C_in, kw, kh))
    for i in range(kw):          # i runs along the columns here, j along the rows
        for j in range(kh):
            dK[:, :, i, j] = np.einsum("nopq,ncpq->oc", delta, X[:, :, j:j + H_out, i:i + W_out]) / N
    return dK


def no_channel_student(delta, X):
    """Summed the channels away: dK without its (C_out, C_in) axes."""
    N, C_in, H, W = X.shape
    kh, kw = H - delta.shape[2] + 1, W - delta.shape[3] + 1
    win = sliding_window_view(X, (delta.shape[2], delta.shape[3]), axis=(2, 3))   # (N, C_in, kh, kw, H_out, W_out)
    return np.einsum("ncijpq,nopq->ij", win, delta) / N


def windows_right(delta, X):
    win = sliding_window_view(X, delta.shape[2:], axis=(2, 3))          # (N, C_in, kh, kw, H_out, W_out)
    return np.einsum("ncijpq,nopq->ocij", win, delta) / len(X)


def bpcore_right(delta, X):
    N, C_in, H, W = X.shape
    kh, kw = H - delta.shape[2] + 1, W - delta.shape[3] + 1
    return bp_conv2d_backward(delta, (X, np.zeros((delta.shape[1], C_in, kh, kw))))[1]


def tensordot_right(delta, X):
    N, C_in, H, W = X.shape
    _, C_out, H_out, W_out = delta.shape
    kh, kw = H - H_out + 1, W - W_out + 1
    dK = np.empty((C_out, C_in, kh, kw))
    for i in range(kh):
        for j in range(kw):
            dK[:, :, i, j] = np.tensordot(delta, X[:, :, i:i + H_out, j:j + W_out], axes=([0, 2, 3], [0, 2, 3]))
    return dK / N


# ------------------------------------------------------------------ the table
CASES_CONV = {
    "conv1d_backward": (
        [(loop_student(overwrite=True), "one_position", "last position of the last example"),
         (loop_student(sum=True), "sum_not_mean", "averaged"),
         (sum_batch_dK_only_student, "sum_not_mean", "your db is right"),
         (mean_positions_student, "mean_over_positions", "*sum*"),
         (loop_student(dX_over_N=True), "dX_divided_by_N", "per example"),
         (loop_student(unflipped=True), "unflipped_dX", "flipped"),
         (loop_student(dK_c_o=True), "transposed_channels", "channel axes swapped"),
         (transposed_dX_student, "dX_transposed_channels", "mixes up the channels"),
         (loop_student(flip_dK=True), "flipped_dK", "cross-correlation"),
         (loop_student(minus=True), "wrong_sign", "sign"),
         (loop_student(no_bias=True), "bias_forgotten", "bias gradient is zero"),
         (loop_student(bias_none=True), "bad_return", "bias gradient was forgotten"),
         (loop_student(two_outputs=True), "bad_return", "(dX, dK, db)"),
         (valid_dX_student, "wrong_shape", "dX has the wrong shape"),
         (_not_implemented, "not_implemented", "not written yet")],
        [loop_student(), einsum_right, np_convolve_right, padded_flipped_right, float32_right],
    ),
    "conv2d_kernel_gradient": (
        [(kernel_loop_student(overwrite=True), "one_position", "last position of the last example"),
         (kernel_loop_student(overwrite_batched=True), "one_position", "last one, bottom right"),
         (first_position_student, "one_position", "first one, top left"),
         (kernel_loop_student(sum=True), "sum_not_mean", "averaged"),
         (kernel_loop_student(positions_mean=True), "mean_over_positions", "*sum*"),
         (kernel_loop_student(c_o=True), "transposed_channels", "channel axes swapped"),
         (kernel_loop_student(rot180=True), "flipped_dK", "cross-correlation"),
         (swapped_ij_student, "swapped_kernel_axes", "kernel axes are swapped"),
         (kernel_loop_student(minus=True), "wrong_sign", "sign"),
         (no_channel_student, "wrong_shape", "wrong shape"),
         (_not_implemented, "not_implemented", "not written yet")],
        [kernel_loop_student(), windows_right, bpcore_right, tensordot_right],
    ),
}

WRONG = [(name, i, fn, mistake, words) for name, (wrong, _) in CASES_CONV.items()
         for i, (fn, mistake, words) in enumerate(wrong)]
RIGHT = [(name, i, fn) for name, (_, right) in CASES_CONV.items() for i, fn in enumerate(right)]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name,i,fn,mistake,words", WRONG, ids=[f"{w[0]}-{w[3]}-{w[1]}" for w in WRONG])
def test_checker_rejects_mistake_with_its_hint(name, i, fn, mistake, words):
    for seed in (0, 1, 12345):
        v = verdict(name, fn, seed)
        assert not v.passed, f"{name} accepted a wrong implementation ({mistake}), seed {seed}"
        assert v.mistake == mistake, f"{name}, seed {seed}: expected the {mistake!r} hint, got {v.mistake!r}: {v.message}"
        assert words.lower() in v.message.lower(), v.message
    with pytest.raises(AssertionError) as e:   # what the check cell does
        check(SPECS_CONV[name], fn)
    assert e.value.args[0] == verdict(name, fn).message


@pytest.mark.parametrize("name,i,fn", RIGHT, ids=[f"{r[0]}-variant{r[1]}" for r in RIGHT])
def test_checker_accepts_right_variants(name, i, fn, capsys):
    for seed in (0, 1, 12345):
        v = verdict(name, fn, seed)
        assert v.passed, f"{name} variant {i} rejected (seed {seed}): {v.message}"
    check(SPECS_CONV[name], fn)
    assert capsys.readouterr().out.startswith("\u2714")


def test_every_named_mistake_is_exercised():
    for name, spec in SPECS_CONV.items():
        seen = {w[3] for w in WRONG if w[0] == name}
        assert {m.name for m in spec.mistakes} <= seen, {m.name for m in spec.mistakes} - seen
    for name in EXERCISES_CONV["10_conv_backward"]:
        wrong, right = CASES_CONV[name]
        assert len(wrong) >= 5 and len(right) >= 2


@pytest.mark.parametrize("seed", [0, 1, 3, 12345, 2**32 - 1])
def test_cases_are_valid_and_varied_for_any_seed(seed):
    for name, spec in SPECS_CONV.items():
        cases = spec.cases(seed)
        assert len(cases) >= 7 and sum("float32" in c.label for c in cases) == 1
        assert len({c.label for c in cases}) >= 6
        for c in cases:
            for v in c.inputs.values():
                assert isinstance(v, np.ndarray) and np.all(np.isfinite(v))
            ref = spec.reference(**c.inputs)
            assert ref is not None
    # the drawn case differs between seeds
    labels = {SPECS_CONV["conv1d_backward"].cases(s)[-2].label for s in range(10)}
    assert len(labels) > 3


def test_every_mistake_differs_from_the_reference_on_fixed_cases():
    """A mistake that agreed with the right answer on every case could never be reported."""
    from bpcore.checking import _matches, materialize
    for name, spec in SPECS_CONV.items():
        cases = spec.cases(0)
        for m in spec.mistakes:
            differs = False
            for c in cases:
                try:
                    wrong = m.fn(**materialize(c.inputs))
                except ValueError:   # e.g. swapped channel axes only fit when C_in == C_out
                    continue
                differs = differs or not _matches(spec, wrong, spec.reference(**materialize(c.inputs)), c)
            assert differs, f"{name}: mistake {m.name} never differs from the reference"


@pytest.mark.parametrize("seed", [0, 7])
def test_references_agree_with_finite_differences_and_bpcore(seed):
    spec = SPECS_CONV["conv1d_backward"]
    for case in spec.cases(seed):
        inp = {k: np.asarray(v, dtype=np.float64) for k, v in case.inputs.items()}
        ref = spec.output_names(spec.reference(**inp))
        num = spec.output_names(_conv1d_numeric(**inp))
        bp = spec.output_names(bp_conv1d_backward(inp["delta"], (inp["X"], inp["K"])))
        for k in ref:
            np.testing.assert_allclose(ref[k], num[k], rtol=1e-7, atol=1e-9, err_msg=f"{k}: {case.label}")
            np.testing.assert_allclose(ref[k], bp[k], rtol=1e-12, atol=1e-12, err_msg=f"{k}: {case.label}")
    spec = SPECS_CONV["conv2d_kernel_gradient"]
    for case in spec.cases(seed):
        inp = {k: np.asarray(v, dtype=np.float64) for k, v in case.inputs.items()}
        ref = spec.reference(**inp)
        np.testing.assert_allclose(ref, spec.numeric(**inp), rtol=1e-7, atol=1e-9, err_msg=case.label)
        np.testing.assert_allclose(ref, bpcore_right(**inp), rtol=1e-12, atol=1e-12, err_msg=case.label)


def test_spec_wiring():
    """bpcore.check exposes the conv checkers once the extension is merged."""
    from bpcore import check as check_module
    assert EXERCISES_CONV == {"10_conv_backward": ["conv1d_backward", "conv2d_kernel_gradient"]}
    for name in EXERCISES_CONV["10_conv_backward"]:
        assert check_module.SPECS[name] is SPECS_CONV[name]
        assert callable(getattr(check_module, name))
    assert check_module.EXERCISES["10_conv_backward"] == EXERCISES_CONV["10_conv_backward"]


# ------------------------------------------------------------------ the autograder grades exercise 10
def _submission(tmp_path, student, sources):
    nb = json.loads((ROOT / "solutions" / "10_conv_backward.ipynb").read_text())
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid in sources:
            cell["source"] = sources[gid]
    folder = tmp_path / "subs" / student
    folder.mkdir(parents=True)
    (folder / "10_conv_backward.ipynb").write_text(json.dumps(nb))


def test_grader_grades_exercise_10(tmp_path):
    instructor = tmp_path / "instructor"
    instructor.mkdir()
    shutil.copy(ROOT / "solutions" / "10_conv_backward.ipynb", instructor)
    _submission(tmp_path, "right", {})
    wrong_1d = ("def conv1d_backward(delta, X, K):\n"
                "    N, C_in, L = X.shape\n    C_out, _, k = K.shape\n    L_out = L - k + 1\n"
                "    dX, dK = np.zeros(X.shape), np.zeros(K.shape)\n"
                "    for i in range(k):\n"
                "        for p in range(L_out):\n"
                "            dK[:, :, i] = np.einsum('no,nc->oc', delta[:, :, p], X[:, :, p + i]) / N\n"
                "        dX[:, :, i:i + L_out] += np.einsum('nop,oc->ncp', delta, K[:, :, i])\n"
                "    return dX, dK, delta.sum(axis=(0, 2)) / N\n")
    _submission(tmp_path, "one_position", {"conv1d_backward": wrong_1d})
    exercise = json.loads((ROOT / "exercises" / "10_conv_backward.ipynb").read_text())
    folder = tmp_path / "subs" / "blank"
    folder.mkdir()
    (folder / "10_conv_backward.ipynb").write_text(json.dumps(exercise))
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "bpcore.grade", str(tmp_path / "subs"), "--out", str(out),
                           "--instructor", str(instructor), "--seed", "4242", "--jobs", "2"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "grades.json").read_text())["students"]
    assert report["right"]["total"] == report["right"]["max"] == 8      # 5 + 3 points
    assert report["blank"]["total"] == 0
    tests = {t["name"]: t for t in report["one_position"]["exercises"]["10_conv_backward"]["tests"]}
    assert tests["conv2d_kernel_gradient"]["passed"] and not tests["conv1d_backward"]["passed"]
    assert "only one position" in tests["conv1d_backward"]["message"]
    assert report["one_position"]["total"] < 8
