"""Committed notebooks are what a fresh top-to-bottom run produces.

nbval (run by `make test`) re-executes every notebook and compares the cells marked
NBVAL_CHECK_OUTPUT with the committed outputs. These tests add what nbval does not see:
every course notebook was executed in order from a fresh kernel, without errors."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE = sorted((ROOT / "course").glob("*.ipynb"))


def test_course_has_a_first_notebook():
    assert COURSE and COURSE[0].name.startswith("00_")


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_course_notebook_executed_in_order_without_errors(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"{path.name}: execution counts {counts}: re-run it with `make notebooks`")
    for i, cell in enumerate(code, 1):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{path.name}, code cell {i}: {out.get('ename')}"
            if out["output_type"] == "stream" and out["name"] == "stderr":
                assert "Traceback" not in out["text"], f"{path.name}, code cell {i} printed a traceback"
    assert "widgets" not in nb.get("metadata", {}), f"{path.name}: stale widget state saved"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
