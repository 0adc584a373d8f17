"""Exercises from solutions: one source, as nbgrader does it.

A solution notebook marks the code a student writes between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` in cells whose ``metadata.nbgrader.solution`` is true. The exercise is
the same notebook with each region replaced by a stub (the region's first ``# hint:`` line,
then ``raise NotImplementedError``), and with outputs cleared.

    python -m bpcore.assignments generate [--solutions solutions] [--exercises exercises]
    python -m bpcore.assignments diff                # non-zero exit if exercises/ is stale
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
__all__ = ["make_exercise_cell", "make_exercise", "generate", "stale", "nbgrader_meta", "graded_cells"]


def nbgrader_meta(cell):
    """The cell's nbgrader metadata dict ({} when absent)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def graded_cells(nb):
    """(solution cells, check cells) of a notebook, each a list of (grade_id, cell)."""
    sol, chk = [], []
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            sol.append((meta.get("grade_id"), cell))
        elif meta.get("grade"):
            chk.append((meta.get("grade_id"), cell))
    return sol, chk


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def make_exercise_cell(source, name="this cell"):
    """Replace every BEGIN/END SOLUTION region of ``source`` with a stub, keeping indentation."""
    lines = source.split("\n")
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == BEGIN:
            indent = line[: len(line) - len(line.lstrip())]
            j = i + 1
            while j < len(lines) and lines[j].strip() != END:
                j += 1
            if j == len(lines):
                raise ValueError(f"{name}: '{BEGIN}' on line {i + 1} has no matching '{END}'")
            region = lines[i + 1:j]
            hint = next((r.strip() for r in region if r.strip().lower().startswith("# hint:")), None)
            if hint:
                out.append(indent + hint)
            out.append(indent + "# YOUR CODE HERE")
            out.append(indent + "raise NotImplementedError(\"write this part, then run the check cell below\")")
            i = j + 1
        elif line.strip() == END:
            raise ValueError(f"{name}: '{END}' on line {i + 1} has no matching '{BEGIN}'")
        else:
            out.append(line)
            i += 1
    return "\n".join(out)


def make_exercise(nb, name="notebook"):
    """The exercise version of a solution notebook (a new dict; outputs cleared)."""
    ex = copy.deepcopy(nb)
    for idx, cell in enumerate(ex["cells"]):
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        src = _source(cell)
        if nbgrader_meta(cell).get("solution"):
            if BEGIN not in src:
                raise ValueError(f"{name}, cell {idx}: a solution cell without a '{BEGIN}' region")
            cell["source"] = make_exercise_cell(src, f"{name}, cell {idx}")
        elif BEGIN in src:
            raise ValueError(f"{name}, cell {idx}: '{BEGIN}' in a cell not marked as a solution cell")
    ex.get("metadata", {}).pop("widgets", None)
    return ex


def _dump(nb):
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def _load(path):
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a JSON notebook ({exc})") from None


def generate(solutions="solutions", exercises="exercises"):
    """Write exercises/NAME.ipynb for every solutions/NAME.ipynb. Returns the paths written."""
    written = []
    Path(exercises).mkdir(parents=True, exist_ok=True)
    for src in sorted(Path(solutions).glob("*.ipynb")):
        dst = Path(exercises) / src.name
        dst.write_text(_dump(make_exercise(_load(src), src.name)))
        written.append(dst)
    return written


def stale(solutions="solutions", exercises="exercises"):
    """Names of exercises that are missing, extra, or differ from what the solutions generate."""
    problems = []
    sol = {p.name: p for p in Path(solutions).glob("*.ipynb")}
    ex = {p.name: p for p in Path(exercises).glob("*.ipynb")}
    for name in sorted(set(sol) - set(ex)):
        problems.append(f"{name}: missing from {exercises}/")
    for name in sorted(set(ex) - set(sol)):
        problems.append(f"{name}: in {exercises}/ but has no solution in {solutions}/")
    for name in sorted(set(sol) & set(ex)):
        if _dump(make_exercise(_load(sol[name]), name)) != ex[name].read_text():
            problems.append(f"{name}: differs from what {solutions}/{name} generates")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bpcore.assignments", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["generate", "diff"])
    ap.add_argument("--solutions", default="solutions")
    ap.add_argument("--exercises", default="exercises")
    args = ap.parse_args(argv)
    if args.command == "generate":
        for path in generate(args.solutions, args.exercises):
            print(f"wrote {path}")
        return 0
    problems = stale(args.solutions, args.exercises)
    for p in problems:
        print(p)
    if problems:
        print("run `make exercises` to regenerate exercises/ from solutions/")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
