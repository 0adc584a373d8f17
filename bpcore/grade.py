"""Autograde a folder of submitted exercise notebooks.

    python -m bpcore.grade SUBMISSIONS_DIR --out REPORT_DIR [--jobs N] [--timeout SECONDS]
                           [--student NAME] [--instructor SOLUTIONS_DIR] [--seed S]

Layouts: SUBMISSIONS_DIR/<student>/<exercise>.ipynb, or nbgrader's
SUBMISSIONS_DIR/submitted/<student>/<assignment>/<exercise>.ipynb (also without "submitted/").

Only the solution cells of a submission are used (matched by nbgrader grade_id); the setup
and checks come from the instructor's notebooks. Student code runs in sandboxed processes
(see bpcore/sandbox.py) on inputs drawn here with a fresh seed; this process compares what
came back with the reference and writes REPORT_DIR/grades.csv and grades.json.
Exit code 0 when grading completed, whatever the scores; 2 when the grader cannot run.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import io
import json
import os
import pickle
import queue
import secrets
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .assignments import graded_cells, nbgrader_meta
from .check import SPECS, buggy_parameter
from .checking import Act, Raised, _matches, diagnose, reference_outputs

__all__ = ["grade", "main", "discover"]

MAX_NOTEBOOK_BYTES = 20 * 2**20
VALUE_SPECS = {"buggy_parameter": "buggy"}  # graded by a variable's value, not a function
SANDBOX = Path(__file__).with_name("sandbox.py")


class GradeError(Exception):
    """The grader itself cannot run (bad arguments, missing instructor notebooks)."""


# ------------------------------------------------------------------ instructor side
@dataclass
class Exercise:
    name: str                      # file stem, e.g. "03_hidden_delta"
    cells: list                    # [(kind, grade_id, source)] in notebook order; kind "setup" or "solution"
    tests: list                    # [(spec name, points)]
    solution_ids: list
    needs_network: bool = False

    @property
    def max_points(self):
        return float(sum(p for _, p in self.tests))


def load_instructor(folder):
    folder = Path(folder)
    paths = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    if not paths:
        raise GradeError(f"no instructor notebooks found in {folder} (expected the solutions/ folder "
                         "with *.ipynb files; pass --instructor DIR)")
    exercises = {}
    for path in paths:
        try:
            nb = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise GradeError(f"instructor notebook {path} cannot be read: {exc}") from None
        cells, tests, sol_ids = [], [], []
        for cell in nb["cells"]:
            meta = nbgrader_meta(cell)
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if cell["cell_type"] != "code":
                continue
            if meta.get("solution"):
                cells.append(("solution", meta["grade_id"], src))
                sol_ids.append(meta["grade_id"])
            elif meta.get("grade"):
                name = meta["grade_id"].removeprefix("check_")
                if name not in SPECS and name not in VALUE_SPECS:
                    raise GradeError(f"{path.name}: check cell {meta['grade_id']} names no known check")
                tests.append((name, float(meta.get("points") or 0)))
            elif meta.get("locked"):
                cells.append(("setup", meta.get("grade_id"), src))
        exercises[path.stem] = Exercise(path.stem, cells, tests, sol_ids,
                                        any("Network" in s for k, _, s in cells if k == "setup"))
    return exercises


# ------------------------------------------------------------------ submissions
def discover(root, exercises, only=None):
    """{student: {exercise: path or None}} for every student folder under ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise GradeError(f"submissions folder {root} does not exist or is not a folder")
    base = root / "submitted" if (root / "submitted").is_dir() else root
    students = {}
    for sdir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if only and sdir.name not in only:
            continue
        found = {}
        for path in sorted(sdir.glob("*.ipynb")) + sorted(sdir.glob("*/*.ipynb")):
            if path.stem in exercises and path.stem not in found:
                found[path.stem] = path
        students[sdir.name] = {ex: found.get(ex) for ex in exercises}
    if only:
        for name in only:
            if name not in students:
                students[name] = {ex: None for ex in exercises}
    return students


def read_submission(path, exercise):
    """{grade_id: source} of the submission's solution cells, or raise ValueError(reason)."""
    if path is None:
        raise ValueError("not submitted")
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{path.name} is empty")
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"{path.name} is {size // 2**20} MB (limit {MAX_NOTEBOOK_BYTES // 2**20} MB)")
    try:
        nb = json.loads(path.read_bytes().decode("utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path.name} is not a notebook (invalid JSON: {exc.msg} at line {exc.lineno})") from None
    if not isinstance(nb, dict):
        raise ValueError(f"{path.name} is not a notebook (JSON {type(nb).__name__}, expected an object)")
    major = nb.get("nbformat")
    if major != 4:
        raise ValueError(f"{path.name} has notebook format {major!r}; expected version 4 "
                         "(open and save it with Jupyter 4+)")
    if not isinstance(nb.get("cells"), list):
        raise ValueError(f"{path.name} has no list of cells")
    sol, _ = graded_cells({"cells": [c for c in nb["cells"] if isinstance(c, dict)]})
    sources = {}
    for gid, cell in sol:
        if gid in exercise.solution_ids and gid not in sources:
            src = cell.get("source", "")
            sources[gid] = "".join(src) if isinstance(src, list) else str(src)
    if not sources:
        raise ValueError(f"{path.name} has no solution cells (expected nbgrader grade_ids "
                         f"{', '.join(exercise.solution_ids)}); was it made from {exercise.name}.ipynb?")
    return sources


# ------------------------------------------------------------------ inputs and outputs
def _wire(value):
    """Inputs for the sandbox: plain data (no bpcore classes cross over)."""
    if isinstance(value, Act):
        return {"__act__": value.name}
    if type(value).__name__ == "_NamedFunc":
        return {"__func__": value.name}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


_DTYPES = {"<f8", "<f4", "<f2", "<i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2", "|u1", "|b1"}


class Opaque:
    """A value the student returned that is not numbers (shown by its type name)."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return self.type_name


def decode(obj, depth=0):
    """Inverse of sandbox.encode, written defensively: the bytes come from student code."""
    if not isinstance(obj, dict) or depth > 8:
        return Opaque("malformed result")
    t = obj.get("t")
    if t == "none":
        return None
    if t == "num":
        try:
            return float(obj["v"])
        except (TypeError, ValueError, KeyError):
            return Opaque("malformed number")
    if t == "str":
        return str(obj.get("v", ""))[:2000]
    if t == "list":
        items = [decode(v, depth + 1) for v in obj.get("v", [])[:200]]
        return tuple(items) if obj.get("tuple") else items
    if t == "arr":
        dtype, shape = obj.get("dtype"), obj.get("shape")
        if dtype not in _DTYPES or not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
            return Opaque("malformed array")
        try:
            raw = base64.b64decode(obj.get("b64", ""), validate=True)
            arr = np.frombuffer(raw, dtype=np.dtype(dtype))
            return arr.reshape(shape).copy()
        except (ValueError, TypeError):
            return Opaque("malformed array")
    if t == "raised":
        return Raised(str(obj.get("type", "Exception"))[:100], str(obj.get("msg", ""))[:500])
    return Opaque(str(obj.get("type", "unknown object"))[:200])


# ------------------------------------------------------------------ workers
class Worker:
    """One sandbox worker process (bpcore/sandbox.py); jobs go in one at a time."""

    def __init__(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JUPYTER"))}
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.proc = subprocess.Popen([sys.executable, "-I", str(SANDBOX)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                     cwd="/", start_new_session=True)
        line = self.proc.stdout.readline()
        if line != b"READY\n":
            raise GradeError(f"the sandbox worker did not start ({SANDBOX})")

    def run(self, job):
        data = pickle.dumps(job, protocol=4)
        self.proc.stdin.write(struct.pack("<Q", len(data)) + data)
        self.proc.stdin.flush()
        head = self.proc.stdout.read(16)
        if len(head) < 16:
            raise RuntimeError("sandbox worker died")
        hlen, blen = struct.unpack("<QQ", head)
        header = json.loads(self.proc.stdout.read(hlen))
        body = self.proc.stdout.read(blen)
        return header, body

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            self.proc.kill()


# ------------------------------------------------------------------ grading one notebook
def _score_tests(exercise, hidden, result, error):
    """The tests of one notebook. ``hidden[name]`` = (cases, reference outputs), drawn once per run."""
    tests = []
    for name, points in exercise.tests:
        if error is not None:
            tests.append({"name": name, "passed": False, "points": 0.0, "max_points": points, "message": error})
            continue
        r = result.get(name) or {}
        if name in VALUE_SPECS:
            if r.get("missing", True):
                tests.append({"name": name, "passed": False, "points": 0.0, "max_points": points,
                              "message": f"the variable {VALUE_SPECS[name]!r} is not defined"})
                continue
            value = decode(r.get("value"))
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    buggy_parameter(value if isinstance(value, (list, tuple, str)) else str(value))
                tests.append({"name": name, "passed": True, "points": points, "max_points": points,
                              "message": "correct"})
            except AssertionError as exc:
                tests.append({"name": name, "passed": False, "points": 0.0, "max_points": points,
                              "message": str(exc)})
            continue
        spec = SPECS[name]
        if r.get("missing", False) or "outputs" not in r:
            tests.append({"name": name, "passed": False, "points": 0.0, "max_points": points,
                          "message": f"no function {spec.signature} was defined by the solution cells"})
            continue
        cases, refs = hidden[name]
        outputs = [decode(o) for o in r["outputs"]][: len(cases)]
        mutated = [list(map(str, m)) if isinstance(m, list) else [] for m in r.get("mutated", [])][: len(cases)]
        if len(outputs) != len(cases):
            tests.append({"name": name, "passed": False, "points": 0.0, "max_points": points,
                          "message": "the sandbox returned an incomplete result"})
            continue
        verdict = diagnose(spec, cases, outputs, mutated, refs)
        right = sum(1 for c, o, ref in zip(cases, outputs, refs)
                    if not isinstance(o, Raised) and _matches(spec, o, ref, c))
        earned = points if verdict.passed else points * right / len(cases)
        msg = verdict.message if verdict.passed else f"{verdict.message} [{right}/{len(cases)} cases right]"
        tests.append({"name": name, "passed": verdict.passed, "points": round(earned, 4), "max_points": points,
                      "message": msg})
    return tests


@dataclass
class Job:
    student: str
    exercise: str
    path: object
    job: dict = None
    error: str = None


def grade(submissions, out, jobs=None, timeout=20.0, students=None, instructor=None, seed=None,
          mem_mb=1024, progress=True):
    """Grade everything; write the reports; return the report dict."""
    t0 = time.perf_counter()
    instructor = Path(instructor) if instructor else Path(__file__).resolve().parents[1] / "solutions"
    exercises = load_instructor(instructor)
    roster = discover(submissions, exercises, students)
    out = Path(out)
    sub_root = Path(submissions).resolve()
    if out.resolve() == sub_root or sub_root in out.resolve().parents:
        raise GradeError(f"the report folder {out} must not be inside the submissions folder")
    out.mkdir(parents=True, exist_ok=True)
    seed = secrets.randbits(32) if seed is None else int(seed)
    spec_names = sorted({n for ex in exercises.values() for n, _ in ex.tests if n in SPECS})
    cases_by_spec = {n: SPECS[n].cases(seed + i) for i, n in enumerate(spec_names)}
    hidden = {n: (cases, reference_outputs(SPECS[n], cases)) for n, cases in cases_by_spec.items()}
    jobs = max(1, int(jobs or os.cpu_count() or 1))

    work = []
    for student, subs in roster.items():
        for ex_name, path in subs.items():
            ex = exercises[ex_name]
            item = Job(student, ex_name, path)
            try:
                sources = read_submission(path, ex)
                cells = [(k, gid, sources.get(gid, "") if k == "solution" else src) for k, gid, src in ex.cells]
                calls = []
                for name, _ in ex.tests:
                    if name in VALUE_SPECS:
                        calls.append({"spec": name, "kind": "value", "variable": VALUE_SPECS[name]})
                    else:
                        calls.append({"spec": name, "kind": "function", "function": SPECS[name].name,
                                      "cases": [{k: _wire(v) for k, v in c.inputs.items()} for c in cases_by_spec[name]]})
                item.job = {"job_id": f"{student}/{ex_name}", "cells": cells, "calls": calls,
                            "timeout": float(timeout), "mem_bytes": int(mem_mb) * 2**20,
                            "max_file_bytes": 16 * 2**20, "needs_network": ex.needs_network}
            except ValueError as exc:
                item.error = str(exc)
            except OSError as exc:
                item.error = f"cannot read {path}: {exc}"
            work.append(item)

    results = {}
    todo = queue.Queue()
    for item in work:
        todo.put(item)
    lock = threading.Lock()
    done = [0]
    bar = _Progress(len(work), enabled=progress)

    def finish(item, tests, error, seconds=0.0, note=None):
        score = float(sum(t["points"] for t in tests))
        with lock:
            results[(item.student, item.exercise)] = {
                "score": round(score, 4), "max": exercises[item.exercise].max_points,
                "error": error, "tests": tests, "seconds": round(seconds, 3)}
            done[0] += 1
            bar.update(done[0])

    def worker_loop():
        worker = None
        try:
            while True:
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    return
                ex = exercises[item.exercise]
                if item.error is not None:
                    finish(item, _score_tests(ex, hidden, {}, item.error), item.error)
                    continue
                if worker is None or worker.proc.poll() is not None:
                    worker = Worker()
                try:
                    header, body = worker.run(item.job)
                except Exception as exc:  # noqa: BLE001 - a worker crash must not stop grading
                    worker = None
                    err = f"grading failed: {exc}"
                    finish(item, _score_tests(ex, hidden, {}, err), err)
                    continue
                error = header.get("note")
                result = {}
                if body:
                    try:
                        payload = json.loads(body)
                        if "fatal" in payload:
                            error = str(payload["fatal"])[:500]
                        result = payload.get("results", {}) if isinstance(payload, dict) else {}
                        cell_errors = {str(c.get("grade_id")): str(c.get("error"))[:300] for c in payload.get("cells", [])
                                       if isinstance(c, dict) and c.get("error") and c.get("kind") == "solution"}
                    except (json.JSONDecodeError, AttributeError, TypeError):
                        error = error or "the submission's process sent malformed results"
                        cell_errors = {}
                else:
                    cell_errors = {}
                if error is None and not body:
                    error = "no results"
                tests = _score_tests(ex, hidden, result if isinstance(result, dict) else {}, error)
                for t in tests:  # say when the test's own solution cell failed to run
                    cell_error = cell_errors.get(t["name"])
                    if error is None and cell_error and not t["passed"] and "not written yet" not in t["message"]:
                        t["message"] += f" (its solution cell raised {cell_error})"
                finish(item, tests, error, header.get("seconds", 0.0))
        finally:
            if worker is not None:
                worker.close()

    threads = [threading.Thread(target=worker_loop, daemon=True) for _ in range(min(jobs, max(1, len(work))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bar.close()

    report = {"students": {}, "meta": {"seed": seed, "exercises": sorted(exercises),
                                       "instructor": str(instructor), "seconds": None}}
    for student in roster:
        exs = {ex: results[(student, ex)] for ex in sorted(exercises)}
        report["students"][student] = {
            "total": round(sum(e["score"] for e in exs.values()), 4),
            "max": sum(e["max"] for e in exs.values()),
            "exercises": exs}
    elapsed = time.perf_counter() - t0
    report["meta"]["seconds"] = round(elapsed, 3)
    _write_reports(out, report, sorted(exercises))
    n_nb = len(work)
    print(f"graded {len(roster)} students x {len(exercises)} exercises = {n_nb} notebooks in {elapsed:.1f} s "
          f"({n_nb / elapsed if elapsed else 0:.1f} notebooks/s, {jobs} jobs); reports in {out}/", file=sys.stderr)
    return report


def _atomic_write(path, text):
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_reports(out, report, exercise_names):
    _atomic_write(out / "grades.json", json.dumps(report, indent=1, sort_keys=False) + "\n")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["student"] + exercise_names + ["total", "max"])
    for student, s in report["students"].items():
        w.writerow([student] + [f"{s['exercises'][e]['score']:g}" for e in exercise_names]
                   + [f"{s['total']:g}", f"{s['max']:g}"])
    _atomic_write(out / "grades.csv", buf.getvalue())


class _Progress:
    def __init__(self, total, enabled=True):
        self.total, self.enabled, self.t0 = total, enabled and total > 0, time.perf_counter()
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def update(self, n):
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.tty or n == self.total or now - self.last > 2:
            self.last = now
            width = 30
            filled = int(width * n / self.total)
            line = f"grading [{'#' * filled}{'.' * (width - filled)}] {n}/{self.total} {now - self.t0:5.1f} s"
            print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)

    def close(self):
        if self.enabled and self.tty:
            print(file=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bpcore.grade", description=__doc__.split("\n\n")[0])
    ap.add_argument("submissions", help="folder of <student>/<exercise>.ipynb (or nbgrader's submitted/)")
    ap.add_argument("--out", required=True, help="folder for grades.csv and grades.json")
    ap.add_argument("--jobs", type=int, default=None, help="parallel workers (default: CPU count)")
    ap.add_argument("--timeout", type=float, default=20.0, help="wall-time limit per exercise notebook, seconds")
    ap.add_argument("--student", action="append", help="grade only this student (repeatable)")
    ap.add_argument("--instructor", default=None, help="folder of instructor notebooks (default: solutions/)")
    ap.add_argument("--seed", type=int, default=None, help="seed of the hidden test inputs (default: random)")
    ap.add_argument("--memory", type=int, default=1024, help="address-space limit per notebook, MB")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    if args.timeout <= 0 or (args.jobs is not None and args.jobs < 1):
        print("error: --timeout must be > 0 and --jobs >= 1", file=sys.stderr)
        return 2
    try:
        grade(args.submissions, args.out, args.jobs, args.timeout, args.student, args.instructor, args.seed,
              args.memory, progress=not args.quiet)
    except GradeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
