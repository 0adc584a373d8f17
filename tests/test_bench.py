"""The benchmark compares like with like: bpcore and the plain loop end identical."""
import importlib.util
from pathlib import Path

import numpy as np

from bpcore.datasets import load_digits, one_hot


def _load_bench():
    path = Path(__file__).resolve().parents[1] / "bench" / "bench_train.py"
    spec = importlib.util.spec_from_file_location("bench_train", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_plain_loop_and_bpcore_do_the_same_arithmetic(monkeypatch):
    bench = _load_bench()
    monkeypatch.setattr(bench, "EPOCHS", 2)
    X, y = load_digits()
    Y = one_hot(y)
    theta_b, loss_b = bench.run_bpcore(X, Y)
    theta_p, loss_p = bench.run_plain(X, Y)
    np.testing.assert_allclose(theta_b, theta_p, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loss_b, loss_p, rtol=1e-12)
    # and a different learning rate in one of them is visible: the comparison can fail
    monkeypatch.setattr(bench, "LR", 0.11)
    theta_q, _ = bench.run_plain(X, Y)
    assert not np.allclose(theta_b, theta_q, rtol=1e-6)


def test_grading_benchmark_has_a_wrong_answer_for_every_solution_cell():
    path = Path(__file__).resolve().parents[1] / "bench" / "bench_grade.py"
    spec = importlib.util.spec_from_file_location("bench_grade", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import json
    ids = set()
    for nb in (path.parents[1] / "solutions").glob("*.ipynb"):
        for cell in json.loads(nb.read_text())["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if meta.get("solution"):
                ids.add(meta["grade_id"])
    assert ids and ids <= set(mod.WRONG), f"add wrong answers for {sorted(ids - set(mod.WRONG))}"
