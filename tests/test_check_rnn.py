"""The checker of the recurrent exercise (one BPTT step) rejects wrong answers with the
right hint and accepts right answers written in other ways; the grader grades it.
The wrong answers are written as a student would write them (loops, other names, missing
brackets), not copied from the checker's own mistake list."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpcore.check_rnn import EXERCISES_RNN, SPECS_RNN
from bpcore.checking import check, diagnose, run_cases

ROOT = Path(__file__).resolve().parents[1]
SPEC = SPECS_RNN["bptt_step"]


def verdict(fn, seed=0):
    cases = SPEC.cases(seed)
    outputs, mutated = run_cases(fn, cases)
    return diagnose(SPEC, cases, outputs, mutated)


# ------------------------------------------------------------------ wrong, as students write them
def no_g_prime(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    dE_dh = delta_next @ W_h.T + delta_out @ W_y.T
    return dE_dh


def g_prime_of_h(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    return (delta_next @ W_h.T + delta_out @ W_y.T) * g_prime(h_t)


def forgot_brackets(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    return delta_next @ W_h.T + delta_out @ W_y.T * g_prime(a_t)


def truncated(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    # "the output is what the error comes from": only the output term
    return g_prime(a_t) * np.dot(delta_out, W_y.T)


def only_recurrent(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    return g_prime(a_t) * np.dot(delta_next, W_h.T)


def loops_wrong_index(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    """The sum over l with W_h[l, j] instead of W_h[j, l]: a transposed W_h."""
    N, H = a_t.shape
    out = np.zeros((N, H))
    gp = g_prime(a_t)
    for n in range(N):
        for j in range(H):
            s = sum(W_h[l, j] * delta_next[n, l] for l in range(H))
            s += sum(W_y[j, l] * delta_out[n, l] for l in range(W_y.shape[1]))
            out[n, j] = gp[n, j] * s
    return out


def transposed_W_y(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    return (delta_next @ W_h.T + delta_out @ W_y) * g_prime(a_t)


def minus(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    return (delta_out @ W_y.T + delta_next @ W_h.T) * -g_prime(a_t)


def averaged(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    N = delta_next.shape[0]
    return (delta_next @ W_h.T + delta_out @ W_y.T) * g_prime(a_t) / N


def times_h(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    return (delta_next @ W_h.T + delta_out @ W_y.T) * h_t


def g_prime_on_recurrent_only(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    recurrent = (delta_next @ W_h.T) * g_prime(a_t)
    return recurrent + delta_out @ W_y.T


def g_prime_of_sum(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    return g_prime(delta_next @ W_h.T + delta_out @ W_y.T)


def in_place(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    gp = g_prime(a_t)
    a_t[:] = delta_next @ W_h.T + delta_out @ W_y.T  # "reuse a_t's memory"
    return a_t * gp


def wrong_shape(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    return ((delta_next @ W_h.T + delta_out @ W_y.T) * g_prime(a_t)).T


def not_written(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    raise NotImplementedError("write this part, then run the check cell below")


def forgot_return(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    delta_t = (delta_next @ W_h.T + delta_out @ W_y.T) * g_prime(a_t)  # noqa: F841


WRONG = [
    (no_g_prime, "missing_g_prime", "missing the g'(a_t) factor"),
    (g_prime_of_h, "h_for_a", "h used instead of a"),
    (forgot_brackets, "g_prime_only_on_output", "brackets"),
    (truncated, "no_recurrent_term", "through time"),
    (only_recurrent, "no_output_term", "forgot the output term"),
    (loops_wrong_index, "transposed_W_h", "Transposed recurrent weights"),
    (transposed_W_y, "transposed_W_y", "Transposed output weights"),
    (minus, "wrong_sign", "sign"),
    (averaged, "divided_by_N", "divided by N"),
    (times_h, "times_h", "derivative g'(a_t)"),
    (g_prime_on_recurrent_only, "g_prime_only_on_recurrent", "only the recurrent term"),
    (g_prime_of_sum, "g_prime_of_sum", "applied g' to the sum"),
    (in_place, "mutated_input", "in place"),
    (wrong_shape, "wrong_shape", "transposed"),
    (not_written, "not_implemented", "not written yet"),
    (forgot_return, "bad_return", "return"),
]


# ------------------------------------------------------------------ right, written differently
def right_matrix(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    return (delta_next @ W_h.T + delta_out @ W_y.T) * g_prime(a_t)


def right_loops(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    N, H = a_t.shape
    out = np.zeros((N, H))
    for n in range(N):
        for j in range(H):
            s = 0.0
            for l in range(H):
                s += W_h[j, l] * delta_next[n, l]
            for l in range(W_y.shape[1]):
                s += W_y[j, l] * delta_out[n, l]
            out[n, j] = g_prime(a_t[n, j]) * s
    return out


def right_einsum(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    back = np.einsum("nl,jl->nj", delta_next, W_h) + np.einsum("nl,jl->nj", delta_out, W_y)
    return np.multiply(g_prime(a_t), back)


def right_per_example(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    rows = [g_prime(a_t[n]) * (W_h @ delta_next[n] + W_y @ delta_out[n]) for n in range(a_t.shape[0])]
    return np.array(rows)


def right_stacked(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):
    """One product with the stacked weights [W_h, W_y] (h_t feeds both)."""
    both = np.concatenate([delta_next, delta_out], axis=1) @ np.concatenate([W_h, W_y], axis=1).T
    return both * g_prime(a_t)


RIGHT = [right_matrix, right_loops, right_einsum, right_per_example, right_stacked]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("fn,mistake,words", WRONG, ids=[w[1] for w in WRONG])
def test_checker_rejects_mistake_with_its_hint(fn, mistake, words):
    for seed in (0, 1, 12345):
        v = verdict(fn, seed)
        assert not v.passed, f"accepted a wrong implementation ({mistake}), seed {seed}"
        assert v.mistake == mistake, f"seed {seed}: expected the {mistake!r} hint, got {v.mistake!r}: {v.message}"
        assert words.lower() in v.message.lower(), v.message
    with pytest.raises(AssertionError) as e:
        check(SPEC, fn)
    assert e.value.args[0] == verdict(fn).message


@pytest.mark.parametrize("fn", RIGHT, ids=[f.__name__ for f in RIGHT])
def test_checker_accepts_right_variants(fn, capsys):
    for seed in (0, 1, 12345):  # the grader uses fresh seeds: right answers must pass on any
        v = verdict(fn, seed)
        assert v.passed, f"{fn.__name__} rejected (seed {seed}): {v.message}"
    check(SPEC, fn)
    assert capsys.readouterr().out.startswith("\u2714")


def test_every_named_mistake_is_exercised_and_distinct():
    seen = {m for _, m, _ in WRONG}
    assert {m.name for m in SPEC.mistakes} <= seen
    # no two mistakes (nor a mistake and the reference) agree on every case: each hint can show
    cases = SPEC.cases(0)

    def outputs(fn):
        res = []
        for c in cases:
            try:
                res.append(fn(**c.inputs))
            except ValueError:  # a transposed W_y only fits where r_1 = r_2
                res.append(None)
        return res

    outs = {m.name: outputs(m.fn) for m in SPEC.mistakes}
    outs["reference"] = outputs(SPEC.reference)
    names = list(outs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            same = all((x is None and y is None) or (x is not None and y is not None and x.shape == y.shape
                                                    and np.allclose(x, y)) for x, y in zip(outs[a], outs[b]))
            assert not same, f"{a} and {b} are indistinguishable"


def test_cases_vary_and_shapes_come_from_the_seed():
    labels = {seed: [c.label for c in SPEC.cases(seed)] for seed in range(20)}
    assert len({tuple(v) for v in labels.values()}) > 5
    one = SPEC.cases(0)
    assert any("float32" in c.label and c.inputs["a_t"].dtype == np.float32 for c in one)
    assert {c.inputs["g_prime"].name for c in one} == {"tanh", "sigmoid"}
    assert any(not c.inputs["delta_next"].any() for c in one)   # the last step
    assert any(not c.inputs["delta_out"].any() for c in one)    # a step without output
    assert any(c.inputs["W_y"].shape[0] == c.inputs["W_y"].shape[1] for c in one)
    for c in one:  # plain data only: the grader sends the inputs to another process
        assert all(isinstance(v, np.ndarray) or type(v).__name__ == "Act" for v in c.inputs.values())


def test_reference_agrees_with_finite_differences():
    for seed in (0, 3):
        for case in SPEC.cases(seed):
            ref = np.asarray(SPEC.reference(**case.inputs), dtype=np.float64)
            num = SPEC.numeric(**case.inputs)
            np.testing.assert_allclose(ref, num, rtol=1e-5, atol=1e-6, err_msg=case.label)


def test_reference_is_what_bpcore_rnn_computes():
    from bpcore.rnn import bptt_delta
    for case in SPEC.cases(4):
        i = case.inputs
        if i["a_t"].dtype != np.float64:
            continue
        mine = bptt_delta(i["delta_next"], i["W_h"], i["delta_out"], i["W_y"], i["a_t"], i["g_prime"].name)
        np.testing.assert_allclose(mine, SPEC.reference(**i), rtol=1e-12)


def test_tables_for_bpcore_check():
    assert EXERCISES_RNN == {"09_bptt_step": ["bptt_step"]}
    assert set(SPECS_RNN) == {"bptt_step"}
    assert SPEC.signature.startswith("bptt_step(")


# ------------------------------------------------------------------ the notebooks and the grader
SOLUTION = ROOT / "solutions" / "09_bptt_step.ipynb"


def test_solution_notebook_metadata():
    nb = json.loads(SOLUTION.read_text())
    graded = [c["metadata"]["nbgrader"] for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    sols = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution")]
    assert [g["grade_id"] for g in graded] == ["check_bptt_step"]
    assert [c["metadata"]["nbgrader"]["grade_id"] for c in sols] == ["bptt_step"]
    check_cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade"))
    assert check_cell["source"].strip() == "check.bptt_step(bptt_step)"
    setup = [c["source"] for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("locked")
             and c["cell_type"] == "code" and not c["metadata"]["nbgrader"].get("grade")]
    assert any("from bpcore import check" in s for s in setup)
    # the grader's sandbox has no bpcore: setup cells may only need `check` from it
    assert not any("Network" in s or "bpcore." in s or "from bpcore import" in s.replace(
        "from bpcore import check", "") for s in setup)


def _submission(tmp_path, student, source):
    nb = json.loads(SOLUTION.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = source
    d = tmp_path / "subs" / student
    d.mkdir(parents=True)
    (d / SOLUTION.name).write_text(json.dumps(nb))


def test_grader_grades_the_exercise(tmp_path):
    inst = tmp_path / "instructor"
    inst.mkdir()
    (inst / SOLUTION.name).write_text(SOLUTION.read_text())
    right = ("def bptt_step(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):\n"
             "    return (delta_next @ W_h.T + delta_out @ W_y.T) * g_prime(a_t)\n")
    _submission(tmp_path, "right", right)
    _submission(tmp_path, "brackets", right.replace("(delta_next @ W_h.T + delta_out @ W_y.T) * g_prime(a_t)",
                                                     "delta_next @ W_h.T + delta_out @ W_y.T * g_prime(a_t)"))
    _submission(tmp_path, "uses_bpcore", "from bpcore.rnn import bptt_delta\n"
                "def bptt_step(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):\n"
                "    return bptt_delta(delta_next, W_h, delta_out, W_y, a_t, 'tanh')\n")
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "bpcore.grade", str(tmp_path / "subs"), "--out", str(out),
                           "--instructor", str(inst), "--seed", "11", "--quiet", "--jobs", "2"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "grades.json").read_text())["students"]
    ex = {s: data[s]["exercises"]["09_bptt_step"] for s in data}
    assert ex["right"]["score"] == ex["right"]["max"] > 0, ex["right"]
    assert ex["brackets"]["score"] < ex["brackets"]["max"]
    assert "brackets" in ex["brackets"]["tests"][0]["message"]
    assert ex["uses_bpcore"]["score"] == 0 and "not available while grading" in ex["uses_bpcore"]["tests"][0]["message"]


# The shared checker tests (tests/test_checkers.py) read this table.
CASES_RNN = {"bptt_step": ([(fn, m, w) for fn, m, w in WRONG], RIGHT)}
