"""The autograder against a corpus of right, partly right, hostile and broken submissions.
Each submission has its exact expected outcome."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOL = ROOT / "solutions"

RIGHT_HD = '''def hidden_delta(delta_next, W_next, A, O, g_prime):
    return (delta_next @ W_next.T) * g_prime(A)'''
WRONG_HD = '''def hidden_delta(delta_next, W_next, A, O, g_prime):
    return delta_next @ W_next.T'''

# student -> (exercise, {grade_id: source}) ; exercise 03 has one test worth 3 points
HOSTILE = {
    "right": ("03_hidden_delta", {"hidden_delta": RIGHT_HD}),
    "infinite_loop": ("03_hidden_delta", {"hidden_delta": RIGHT_HD + "\nwhile True:\n    pass"}),
    "long_sleep": ("03_hidden_delta", {"hidden_delta": "import time\n" + RIGHT_HD.replace("return", "time.sleep(1000); return")}),
    "huge_allocation": ("03_hidden_delta", {"hidden_delta": RIGHT_HD.replace("return", "big = np.ones((10**6, 10**5)); return")}),
    "os_exit": ("03_hidden_delta", {"hidden_delta": "import os\n" + WRONG_HD + "\nos._exit(0)"}),
    "sys_exit_in_function": ("03_hidden_delta", {"hidden_delta": "import sys\ndef hidden_delta(*a, **k):\n    sys.exit(0)"}),
    "sys_exit_first": ("03_hidden_delta", {"hidden_delta": "import sys\nsys.exit(0)\n" + RIGHT_HD}),
    "ctypes_segfault": ("03_hidden_delta", {"hidden_delta": "import ctypes\nctypes.string_at(0)\n" + WRONG_HD}),
    "real_segfault": ("03_hidden_delta", {"hidden_delta": "import faulthandler\nfaulthandler._sigsegv()\n" + RIGHT_HD}),
    "megabytes_of_output": ("03_hidden_delta", {"hidden_delta": "for _ in range(50):\n    print('x' * 10**6)\n" + RIGHT_HD}),
    "suppressed_exceptions": ("03_hidden_delta", {"hidden_delta":
        "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)\n%matplotlib inline\n" + WRONG_HD}),
    "patched_checker": ("03_hidden_delta", {"hidden_delta":
        "from bpcore import check\ncheck.hidden_delta = lambda f: print('\u2714 hidden_delta: correct')\n"
        "import numpy\nnumpy.allclose = lambda *a, **k: True\nnumpy.array_equal = lambda *a, **k: True\n" + WRONG_HD}),
    "fake_success_print": ("03_hidden_delta", {"hidden_delta":
        "print('\u2714 hidden_delta: correct on all 7 cases')\nimport sys\nsys.stdout.write('{\"results\": {}}')\n" + WRONG_HD}),
    "calls_reference": ("03_hidden_delta", {"hidden_delta":
        "from bpcore.equations import hidden_delta as ref\n"
        "def hidden_delta(delta_next, W_next, A, O, g_prime):\n    return ref(delta_next, W_next, A, 'sigmoid')"}),
    "imports_bpcore_files": ("03_hidden_delta", {"hidden_delta":
        "import importlib.util, sys\nspec = importlib.util.spec_from_file_location('eq', '" + str(ROOT / "bpcore" / "equations.py") + "')\n"
        "eq = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(eq)\n"
        "def hidden_delta(delta_next, W_next, A, O, g_prime):\n    return eq.hidden_delta(delta_next, W_next, A, 'sigmoid')"}),
    "deletes_its_files": ("03_hidden_delta", {"hidden_delta":
        "import os\nopen('scratch.txt', 'w').write('x')\nfor f in os.listdir('.'):\n    os.remove(f)\n" + RIGHT_HD}),
    "reads_other_student": ("03_hidden_delta", {"hidden_delta":
        "def hidden_delta(delta_next, W_next, A, O, g_prime):\n    return open(OTHER).read()"}),
    "writes_report": ("03_hidden_delta", {"hidden_delta":
        "open(REPORT + '/grades.csv', 'w').write('right,999')\n" + RIGHT_HD}),
    "spawns_process": ("03_hidden_delta", {"hidden_delta":
        "import subprocess\nsubprocess.run(['sleep', '100'])\n" + RIGHT_HD}),
    "forks": ("03_hidden_delta", {"hidden_delta": "import os\nos.fork()\n" + RIGHT_HD}),
    "mutates_inputs": ("03_hidden_delta", {"hidden_delta":
        "def hidden_delta(delta_next, W_next, A, O, g_prime):\n    A *= 0\n    return (delta_next @ W_next.T) * g_prime(A)"}),
    "partly_right_04": ("04_gradients", {"weight_gradient": "def weight_gradient(O_prev, delta):\n    return O_prev.T @ delta / len(delta)",
                                         "bias_gradient": "def bias_gradient(delta):\n    return 0 * delta[0]"}),
    "partly_right_01": ("01_activation_derivatives", {
        "sigmoid_prime": "def sigmoid_prime(a):\n    return sigmoid(a) * (1 - sigmoid(a))",
        "tanh_prime": "def tanh_prime(a):\n    return np.tanh(a) ** 2 - 1",
        "relu_prime": "def relu_prime(a):\n    return 1.0 * (a > 0)"}),
}

# student -> (exercise, total, max, error substring or None, message substring or None)
EXPECTED = {
    "right": ("03_hidden_delta", 3, 3, None, "correct"),
    "infinite_loop": ("03_hidden_delta", 0, 3, "timed out after 3 s", None),
    "long_sleep": ("03_hidden_delta", 0, 3, "timed out after 3 s", None),
    "huge_allocation": ("03_hidden_delta", 0, 3, None, "MemoryError"),
    "os_exit": ("03_hidden_delta", 0, 3, "exited before reporting", None),
    "sys_exit_in_function": ("03_hidden_delta", 0, 3, None, "raised SystemExit"),
    "sys_exit_first": ("03_hidden_delta", 0, 3, None, "no function"),
    "ctypes_segfault": ("03_hidden_delta", 0, 3, None, "not allowed while grading: ctypes"),
    "real_segfault": ("03_hidden_delta", 0, 3, "crashed with signal SIGSEGV", None),
    "megabytes_of_output": ("03_hidden_delta", 3, 3, None, "correct"),
    "suppressed_exceptions": ("03_hidden_delta", 0, 3, None, "missing the g'(a) factor"),
    "patched_checker": ("03_hidden_delta", 0, 3, None, "missing the g'(a) factor"),
    "fake_success_print": ("03_hidden_delta", 0, 3, None, "missing the g'(a) factor"),
    "calls_reference": ("03_hidden_delta", 0, 3, None, "not available while grading"),
    "imports_bpcore_files": ("03_hidden_delta", 0, 3, None, "not allowed while grading: opening"),
    "deletes_its_files": ("03_hidden_delta", 3, 3, None, "correct"),
    "reads_other_student": ("03_hidden_delta", 0, 3, None, "not allowed while grading: opening"),
    "writes_report": ("03_hidden_delta", 0, 3, None, "not allowed while grading: opening"),
    "spawns_process": ("03_hidden_delta", 0, 3, None, "not allowed while grading: subprocess"),
    "forks": ("03_hidden_delta", 0, 3, None, "not allowed while grading: os.fork"),
    "mutates_inputs": ("03_hidden_delta", 0, 3, None, "in place"),
    "partly_right_04": ("04_gradients", 2, 3, None, None),
    "partly_right_01": ("01_activation_derivatives", 3, 5, None, None),
}


def _max_total():
    """Sum of the check cells' points over the instructor notebooks, read independently."""
    total = 0.0
    for path in SOL.glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if meta.get("grade"):
                total += meta["points"]
    return total


MAX_TOTAL = _max_total()


def _submission(exercise, sources):
    nb = json.loads((SOL / f"{exercise}.ipynb").read_text())
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if cell["metadata"].get("nbgrader", {}).get("solution") and gid in sources:
            cell["source"] = sources[gid]
        if cell["cell_type"] == "code":  # forged outputs must be ignored
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "\u2714 all correct\n"}]
    return json.dumps(nb)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading")
    subs, report = base / "submissions", base / "report"
    other = subs / "right" / "03_hidden_delta.ipynb"
    for student, (exercise, sources) in HOSTILE.items():
        d = subs / student
        d.mkdir(parents=True)
        sources = {k: v.replace("OTHER", repr(str(other))).replace("REPORT", repr(str(report)))
                   for k, v in sources.items()}
        (d / f"{exercise}.ipynb").write_text(_submission(exercise, sources))
    broken = subs / "broken"
    broken.mkdir()
    (broken / "01_activation_derivatives.ipynb").write_text("")
    (broken / "02_output_delta.ipynb").write_text("{not json")
    (broken / "03_hidden_delta.ipynb").write_text(json.dumps({"nbformat": 3, "worksheets": []}))
    (broken / "04_gradients.ipynb").write_text(json.dumps([1, 2]))
    plain = json.loads((SOL / "05_backward_pass.ipynb").read_text())
    for cell in plain["cells"]:
        cell["metadata"] = {}
    (broken / "05_backward_pass.ipynb").write_text(json.dumps(plain))
    (broken / "06_softmax_delta.ipynb").write_text((SOL / "08_xor_step.ipynb").read_text())  # wrong notebook
    (subs / "nothing").mkdir()
    proc = subprocess.run([sys.executable, "-m", "bpcore.grade", str(subs), "--out", str(report),
                           "--timeout", "3", "--jobs", "2", "--seed", "7", "--quiet"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((report / "grades.json").read_text())
    rows = list(csv.DictReader((report / "grades.csv").open()))
    return data, rows, proc.stderr


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_hostile_and_right_submissions(corpus, student):
    data, _, _ = corpus
    exercise, total, max_points, error, message = EXPECTED[student]
    ex = data["students"][student]["exercises"][exercise]
    assert ex["score"] == pytest.approx(total), json.dumps(ex, indent=1)
    assert ex["max"] == max_points
    if error is None:
        assert ex["error"] is None, ex["error"]
    else:
        assert error in (ex["error"] or ""), ex["error"]
    if message:
        assert any(message in t["message"] for t in ex["tests"]), json.dumps(ex["tests"], indent=1)
    assert data["students"][student]["total"] == pytest.approx(total)


def test_partial_credit_names_the_failing_test(corpus):
    data, _, _ = corpus
    tests = {t["name"]: t for t in data["students"]["partly_right_01"]["exercises"]["01_activation_derivatives"]["tests"]}
    assert tests["sigmoid_prime"]["passed"] and tests["sigmoid_prime"]["points"] == 2
    assert not tests["tanh_prime"]["passed"] and tests["tanh_prime"]["points"] == 0
    assert "Wrong sign" in tests["tanh_prime"]["message"]
    assert tests["relu_prime"]["passed"] and tests["relu_prime"]["points"] == 1
    tests = {t["name"]: t for t in data["students"]["partly_right_04"]["exercises"]["04_gradients"]["tests"]}
    assert tests["bias_gradient"]["points"] == 0 and "constant 1" in tests["bias_gradient"]["message"]


def test_broken_notebooks_score_zero_with_reasons(corpus):
    data, _, _ = corpus
    ex = data["students"]["broken"]["exercises"]
    assert "is empty" in ex["01_activation_derivatives"]["error"]
    assert "invalid JSON" in ex["02_output_delta"]["error"]
    assert "format 3" in ex["03_hidden_delta"]["error"]
    assert "expected an object" in ex["04_gradients"]["error"]
    assert "no solution cells" in ex["05_backward_pass"]["error"]
    assert "no solution cells" in ex["06_softmax_delta"]["error"]
    assert ex["07_gradient_check"]["error"] == "not submitted"
    assert all(e["score"] == 0 for e in ex.values())


def test_every_student_appears_in_both_reports(corpus):
    data, rows, stderr = corpus
    students = set(HOSTILE) | {"broken", "nothing"}
    assert set(data["students"]) == students
    assert {r["student"] for r in rows} == students
    assert all(e["error"] == "not submitted" for e in data["students"]["nothing"]["exercises"].values())
    for r in rows:
        s = data["students"][r["student"]]
        assert float(r["total"]) == pytest.approx(s["total"])
        assert float(r["max"]) == s["max"] == MAX_TOTAL
    assert "notebooks/s" in stderr
    schema_keys = {"score", "max", "error", "tests"}
    for s in data["students"].values():
        for e in s["exercises"].values():
            assert schema_keys <= set(e)
            for t in e["tests"]:
                assert set(t) >= {"name", "passed", "points", "max_points", "message"}


def test_report_untouched_by_students(corpus):
    _, rows, _ = corpus
    assert not any(r["student"] == "right" and r["total"] == "999" for r in rows)


def test_nbgrader_layout_and_student_filter(tmp_path):
    subs = tmp_path / "course" / "submitted"
    (subs / "dana" / "ps1").mkdir(parents=True)
    (subs / "dana" / "ps1" / "03_hidden_delta.ipynb").write_text(_submission("03_hidden_delta", {"hidden_delta": RIGHT_HD}))
    (subs / "erik" / "ps1").mkdir(parents=True)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "bpcore.grade", str(tmp_path / "course"), "--out", str(out),
                           "--student", "dana", "--quiet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "grades.json").read_text())
    assert list(data["students"]) == ["dana"]
    assert data["students"]["dana"]["exercises"]["03_hidden_delta"]["score"] == 3


def test_grader_cannot_run_exits_nonzero(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "bpcore.grade", *a], capture_output=True, text=True)  # noqa: E731
    r = run(str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "does not exist" in r.stderr
    (tmp_path / "subs").mkdir()
    r = run(str(tmp_path / "subs"), "--out", str(tmp_path / "o"), "--instructor", str(tmp_path / "none"))
    assert r.returncode == 2 and "no instructor notebooks" in r.stderr
    r = run(str(tmp_path / "subs"))
    assert r.returncode == 2 and "--out" in r.stderr
    r = run(str(tmp_path / "subs"), "--out", str(tmp_path / "subs" / "report"))
    assert r.returncode == 2 and "must not be inside" in r.stderr
