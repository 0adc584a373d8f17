"""Exercises come from solutions (one source), blank exercises fail every check, and the
notebooks carry nbgrader metadata an instructor can use as it is.
(Solutions passing is proved by nbval over solutions/ in `make test`.)"""
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from bpcore.assignments import graded_cells, make_exercise_cell, stale, generate
from bpcore.check import EXERCISES, SPECS

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def test_exercises_are_in_sync_with_solutions():
    assert stale(ROOT / "solutions", ROOT / "exercises") == [], "run `make exercises`"


def test_sync_check_notices_drift(tmp_path):
    sol, ex = tmp_path / "solutions", tmp_path / "exercises"
    sol.mkdir()
    for p in SOLUTIONS[:2]:
        (sol / p.name).write_text(p.read_text())
    generate(sol, ex)
    assert stale(sol, ex) == []
    nb = json.loads((sol / SOLUTIONS[0].name).read_text())
    nb["cells"][0]["source"] += "\nA new sentence."
    (sol / SOLUTIONS[0].name).write_text(json.dumps(nb))
    (ex / SOLUTIONS[1].name).unlink()
    (ex / "99_extra.ipynb").write_text("{}")
    problems = " ".join(stale(sol, ex))
    assert SOLUTIONS[0].name + ": differs" in problems
    assert SOLUTIONS[1].name + ": missing" in problems
    assert "99_extra.ipynb: in" in problems


def test_stub_replaces_only_the_solution_region():
    src = "def f(x):\n    \"\"\"doc\"\"\"\n    ### BEGIN SOLUTION\n    # hint: square it\n    return x * x\n    ### END SOLUTION\n\nprint(1)"
    out = make_exercise_cell(src)
    assert out == ("def f(x):\n    \"\"\"doc\"\"\"\n    # hint: square it\n    # YOUR CODE HERE\n"
                   "    raise NotImplementedError(\"write this part, then run the check cell below\")\n\nprint(1)")
    with pytest.raises(ValueError, match="no matching"):
        make_exercise_cell("### BEGIN SOLUTION\nx = 1")
    with pytest.raises(ValueError, match="no matching"):
        make_exercise_cell("x = 1\n### END SOLUTION")


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_nbgrader_metadata(path):
    nb = json.loads(path.read_text())
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"] if "nbgrader" in c["metadata"]]
    assert len(ids) == len(set(ids)), f"duplicate grade_id in {path.name}"
    sol, chk = graded_cells(nb)
    assert sol and chk
    for gid, cell in sol:
        meta = cell["metadata"]["nbgrader"]
        assert meta["schema_version"] == 3 and meta["locked"] is False and meta["grade"] is False
        assert "### BEGIN SOLUTION" in cell["source"]
    for gid, cell in chk:
        meta = cell["metadata"]["nbgrader"]
        assert meta["locked"] is True and meta["solution"] is False and meta["points"] > 0
        assert "check." in cell["source"]
    # every function the exercise asks for has a solution cell and a check cell
    wanted = EXERCISES[path.stem]
    assert [g for g, _ in sol] == wanted
    assert [g for g, _ in chk] == ["check_" + n for n in wanted]
    for name in wanted:
        assert name in SPECS or name == "buggy_parameter"


def _run(path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


@pytest.mark.parametrize("name", [p.name for p in SOLUTIONS])
def test_blank_exercise_fails_every_check(name):
    nb = _run(ROOT / "exercises" / name)
    checks = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert checks
    for cell in checks:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors, f"{name}: check cell {cell.metadata.nbgrader.grade_id} passed on a blank exercise"
        assert errors[0].ename in ("AssertionError", "NameError", "NotImplementedError")
    sols = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert any(o.output_type == "error" and o.ename == "NotImplementedError" for c in sols for o in c.outputs) or \
        all("def " in c.source for c in sols)
