"""Grading speed: a class of students x every exercise, right, wrong and broken submissions.

    python bench/bench_grade.py [--students 100] [--jobs 2]

Generates the submissions in a temporary folder (a third right, a third wrong in a
recognisable way, the rest blank, broken or missing), runs `python -m bpcore.grade` on them
as an instructor would, and prints notebooks per second. Target ([grader] issue): >= 20
exercise-notebooks per second on a 2-core machine for 100 students x all exercises.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOL, EX = ROOT / "solutions", ROOT / "exercises"

# one wrong version per solution cell: a typical mistake
WRONG = {
    "sigmoid_prime": "def sigmoid_prime(a):\n    return a * (1 - a)",
    "tanh_prime": "def tanh_prime(a):\n    return 1 - np.tanh(a)",
    "relu_prime": "def relu_prime(a):\n    return np.maximum(a, 0)",
    "output_delta": "def output_delta(Y_hat, Y, A, g_out_prime):\n    return Y_hat - Y",
    "hidden_delta": "def hidden_delta(delta_next, W_next, A, O, g_prime):\n    return (delta_next @ W_next.T) * g_prime(O)",
    "weight_gradient": "def weight_gradient(O_prev, delta):\n    return O_prev.T @ delta",
    "bias_gradient": "def bias_gradient(delta):\n    return delta.sum(axis=0)",
    "backward": "def backward(W, b, a, o, Y, g_prime, g_out_prime):\n    return [None] * len(W), [None] * len(W)",
    "softmax": "def softmax(A):\n    return np.exp(A) / np.exp(A).sum(axis=1, keepdims=True)",
    "softmax_ce_delta": "def softmax_ce_delta(A, Y):\n    return A - Y",
    "numerical_gradient": "def numerical_gradient(f, x, h=1e-5):\n    g = np.zeros(x.shape)\n    f0 = f(x)\n"
                          "    for i in np.ndindex(x.shape):\n        k = x[i]; x[i] = k + h; g[i] = (f(x) - f0) / h; x[i] = k\n    return g",
    "relative_error": "def relative_error(a, b):\n    return np.abs(a - b)",
    "buggy_parameter": "buggy = ['W[2]']",
    "xor_step": "def xor_step(W1, b1, W2, b2, x, y, lr):\n    return W1, b1, W2, b2",
    "bptt_step": "def bptt_step(delta_next, W_h, delta_out, W_y, a_t, h_t, g_prime):\n"
                 "    return (delta_next @ W_h.T + delta_out @ W_y.T)",
    "conv1d_backward": "def conv1d_backward(delta, X, K):\n    return np.zeros(X.shape), np.zeros(K.shape), None",
    "conv2d_kernel_gradient": "def conv2d_kernel_gradient(delta, X):\n    return None",
}


def make_class(folder, students):
    kinds = []
    for s in range(students):
        d = folder / f"student{s:03d}"
        d.mkdir(parents=True)
        for i, sol in enumerate(sorted(SOL.glob("*.ipynb"))):
            kind = ("right", "wrong", "blank", "right", "wrong", "broken", "missing")[(s + i) % 7]
            kinds.append(kind)
            if kind == "missing":
                continue
            if kind == "broken":
                (d / sol.name).write_text('{"cells": [oops')
                continue
            if kind == "blank":
                (d / sol.name).write_text((EX / sol.name).read_text())
                continue
            nb = json.loads(sol.read_text())
            if kind == "wrong":
                for cell in nb["cells"]:
                    meta = cell["metadata"].get("nbgrader", {})
                    if meta.get("solution"):
                        cell["source"] = WRONG[meta["grade_id"]]  # KeyError: add the new exercise above
            (d / sol.name).write_text(json.dumps(nb))
    return kinds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        subs, out = Path(tmp) / "submitted", Path(tmp) / "report"
        kinds = make_class(subs, args.students)
        n = len(kinds)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bpcore.grade", str(subs), "--out", str(out),
                               "--jobs", str(args.jobs), "--quiet", "--seed", "1"], capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        data = json.loads((out / "grades.json").read_text())
        full = sum(1 for s in data["students"].values() for e in s["exercises"].values() if e["score"] == e["max"])
        print(proc.stderr.strip().splitlines()[-1])
        print(f"{args.students} students x {n // args.students} exercises = {n} notebooks "
              f"({kinds.count('right')} right, {kinds.count('wrong')} wrong, {kinds.count('blank')} blank, "
              f"{kinds.count('broken')} broken, {kinds.count('missing')} missing)")
        print(f"full marks on {full} notebooks (expected {kinds.count('right')})")
        rate = n / elapsed
        print(f"wall time {elapsed:.1f} s including start-up: {rate:.1f} notebooks/s "
              f"(target >= 20: {'met' if rate >= 20 else 'NOT met'})")
        return 0 if full == kinds.count("right") else 1


if __name__ == "__main__":
    sys.exit(main())
