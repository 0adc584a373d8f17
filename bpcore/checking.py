"""The machinery behind exercise checks: seeded cases, a reference, named mistakes.

A :class:`Spec` describes one function a student writes:

* ``cases(seed)`` draws inputs of varied shapes and activations (a list of :class:`Case`);
* ``reference(**inputs)`` is the right answer;
* ``mistakes`` are wrong answers people commonly give, each with a hint that names it.

:func:`diagnose` compares what a student's function returned on every case with the
reference and, when they differ, with every known mistake, and returns a :class:`Verdict`
whose message names the mistake (or shows the largest discrepancy). It never runs student
code itself: :func:`run_cases` does that in the check cells, and the autograder does it in a
separate process and passes only the returned values in. So the decision is always made by
trusted code.

Inputs that are functions (an activation's derivative g') travel as :class:`Act` markers and
are turned into callables by :func:`materialize` just before the student's function is called.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field

import numpy as np

from .activations import get_activation

__all__ = ["Act", "Case", "Mistake", "Spec", "Verdict", "materialize", "run_cases",
           "diagnose", "check"]


@dataclass(frozen=True)
class Act:
    """Stands for the derivative g' of a named activation, passed to student code as a function."""
    name: str

    def __call__(self, a):
        return get_activation(self.name).deriv(np.asarray(a))


@dataclass
class Case:
    """One set of inputs. ``label`` describes it to a person (shapes, activation, dtype)."""
    label: str
    inputs: dict
    rtol: float = 1e-7
    atol: float = 1e-10


@dataclass
class Mistake:
    """A common wrong answer: ``fn(**inputs)`` computes it; ``hint`` names it."""
    name: str
    hint: str
    fn: object


@dataclass
class Spec:
    """One function a student writes. See the module docstring."""
    name: str                 # the function's name in the notebook, e.g. "hidden_delta"
    signature: str            # e.g. "hidden_delta(delta_next, W_next, A, O, g_prime)"
    cases: object             # seed -> list[Case]
    reference: object         # **inputs -> output
    mistakes: list = field(default_factory=list)
    numeric: object = None    # optional **inputs -> finite-difference estimate of the output
    output_names: object = None  # output -> dict name -> array (for tuples/lists of arrays)
    points: float = 1.0
    what: str = "output"      # how to call the output in messages ("the hidden delta")


@dataclass
class Verdict:
    passed: bool
    message: str
    mistake: str | None = None   # name of the recognised mistake, if any
    case: str | None = None      # the case that failed


def materialize(inputs):
    """Copies of the inputs ready for a student's function: arrays copied, Act -> callable."""
    out = {}
    for key, value in inputs.items():
        if isinstance(value, np.ndarray):
            out[key] = value.copy()
        elif isinstance(value, list):
            out[key] = [v.copy() if isinstance(v, np.ndarray) else v for v in value]
        else:
            out[key] = value
    return out


# ------------------------------------------------------------------ running
class Raised:
    """What a student's function raised instead of returning."""

    def __init__(self, exc_type, message, tb=""):
        self.exc_type, self.message, self.tb = exc_type, message, tb

    def __repr__(self):
        return f"{self.exc_type}: {self.message}"


def run_cases(fn, cases):
    """Call ``fn`` on every case (in this process). Returns (outputs, mutated) where
    outputs[i] is the value or a :class:`Raised`, and mutated[i] names inputs changed in place."""
    outputs, mutated = [], []
    for case in cases:
        args = materialize(case.inputs)
        try:
            outputs.append(fn(**args))
        except Exception as exc:  # noqa: BLE001 - any student error becomes feedback
            outputs.append(Raised(type(exc).__name__, str(exc), traceback.format_exc(limit=-2)))
        changed = [k for k, v in case.inputs.items()
                   if isinstance(v, np.ndarray) and not np.array_equal(v, args[k], equal_nan=True)]
        mutated.append(changed)
    return outputs, mutated


# ------------------------------------------------------------------ comparing
def _named(spec, value):
    """Output as {name: array}. Raises TypeError/ValueError with a message for people."""
    if spec.output_names is not None:
        return spec.output_names(value)
    return {spec.what: _as_array(value, spec.what)}


def _as_array(value, what):
    if value is None:
        raise TypeError(f"{what} is None: did the function forget to `return` it?")
    if isinstance(value, (tuple, list, dict, str)):
        raise TypeError(f"{what} should be one NumPy array, got a {type(value).__name__}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{what} should be a NumPy array of numbers, got {type(value).__name__}") from None
    return arr


def _close(got, ref, case):
    return got.shape == ref.shape and np.allclose(got, ref, rtol=case.rtol, atol=case.atol)


def _matches(spec, value, expected, case):
    try:
        got, exp = _named(spec, value), _named(spec, expected)
    except (TypeError, ValueError):
        return False
    return got.keys() == exp.keys() and all(_close(got[k], exp[k], case) for k in exp)


def _fmt(x):
    return f"{x:.6g}"


def _shape_hint(name, got, ref):
    msg = f"{name} has the wrong shape: expected {tuple(ref.shape)}, got {tuple(got.shape)}"
    if got.ndim == ref.ndim + 1 and got.shape[0] == 1 and got.shape[1:] == ref.shape:
        msg += " (an extra leading axis of length 1: drop keepdims=True)"
    elif got.shape == ref.shape[::-1] and got.ndim == 2:
        msg += " (transposed: check which matrix is transposed, and the order of the product)"
    elif got.size == ref.size:
        msg += " (same number of elements: a reshape or a transpose is off)"
    elif got.ndim == ref.ndim and got.size > ref.size:
        msg += (" (larger than expected: arrays of different shapes were broadcast together; "
                "check the order of the matrix product and which matrix is transposed)")
    elif got.ndim == ref.ndim - 1 or (got.ndim == ref.ndim and got.size < ref.size):
        msg += " (something was summed or averaged over the wrong axis)"
    return msg


def reference_outputs(spec, cases):
    """The right answer for every case (computed once; the grader reuses it for every student)."""
    return [spec.reference(**materialize(c.inputs)) for c in cases]


def diagnose(spec, cases, outputs, mutated=None, refs=None):
    """Decide pass/fail from the outputs a student's function gave on ``cases``.

    Pure: runs no student code. ``refs`` may pass :func:`reference_outputs` of the cases.
    Returns a :class:`Verdict` whose message is the feedback."""
    if refs is None:
        refs = reference_outputs(spec, cases)
    mutated = mutated or [[] for _ in cases]
    # 1. errors, missing returns, shapes, NaN: say exactly what and where
    for case, out, ref, changed in zip(cases, outputs, refs, mutated):
        if isinstance(out, Raised):
            if out.exc_type == "NotImplementedError":
                return Verdict(False, f"{spec.name} is not written yet: replace the "
                               "`raise NotImplementedError(...)` line with your code", "not_implemented", case.label)
            msg = f"{spec.name} raised {out.exc_type}: {out.message} (case: {case.label})"
            if out.exc_type == "ValueError" and ("matmul" in out.message or "align" in out.message
                                                 or "broadcast" in out.message):
                # On the cases where the shapes happened to fit, a known mistake may show itself.
                ran = [(c, o) for c, o in zip(cases, outputs) if not isinstance(o, Raised)]
                found = _explaining_mistake(spec, [c for c, _ in ran], [o for _, o in ran]) if ran else None
                if found is not None:
                    return Verdict(False, f"{spec.name} is not right yet. {found.hint} (Your version also "
                                   f"fails where the shapes differ: {out.message.splitlines()[0]}; case: "
                                   f"{case.label}.)", found.name, case.label)
                msg += ("\nhint: the shapes do not fit together. Write down the shape of every factor: "
                        "in the course's convention W[k] is (r_{k-1}, r_k) and rows are examples, "
                        "so check which matrix needs a transpose")
                return Verdict(False, msg, "shape_mismatch", case.label)
            return Verdict(False, msg, "raised", case.label)
        try:
            got = _named(spec, out)
        except (TypeError, ValueError) as exc:
            return Verdict(False, f"{exc} (case: {case.label})", "bad_return", case.label)
        want = _named(spec, ref)
        if got.keys() != want.keys():
            return Verdict(False, f"{spec.name} returned {sorted(got)}; expected {sorted(want)}",
                           "bad_return", case.label)
        for name in want:
            if got[name].shape != want[name].shape:
                found = _mistake_on_clean_cases(spec, cases, outputs, refs)
                if found is not None:
                    return Verdict(False, f"{spec.name} is not right yet. {found.hint} (And on case "
                                   f"{case.label}: {_shape_hint(name, got[name], want[name])}.)",
                                   found.name, case.label)
                return Verdict(False, _shape_hint(name, got[name], want[name]) + f" (case: {case.label})",
                               "wrong_shape", case.label)
            if not np.all(np.isfinite(got[name])) and np.all(np.isfinite(want[name])):
                bad = "NaN" if np.isnan(got[name]).any() else "inf"
                found = _mistake_on_clean_cases(spec, cases, outputs, refs)
                if found is not None:
                    return Verdict(False, f"{spec.name} is not right yet. {found.hint} (It also gives "
                                   f"{bad} on case {case.label}.)", found.name, case.label)
                msg = f"{name} contains {bad} (case: {case.label})"
                if "large" in case.label:
                    msg += ("\nhint: this case has large activations; e^a overflows there. "
                            "Rewrite the formula so that no exp of a large positive number is taken "
                            "(for softmax: subtract each row's maximum first)")
                return Verdict(False, msg, "not_finite", case.label)
        if changed:
            return Verdict(False, f"{spec.name} changed its input(s) {', '.join(changed)} in place "
                           f"(case: {case.label}); compute new arrays instead (e.g. `x = x - y`, not `x -= y`)",
                           "mutated_input", case.label)
    # 2. right everywhere?
    wrong = [i for i, (c, o, r) in enumerate(zip(cases, outputs, refs)) if not _matches(spec, o, r, c)]
    if not wrong:
        return Verdict(True, f"{spec.name}: correct on all {len(cases)} cases "
                       f"({cases[0].label} | {cases[-1].label} | ...)")
    # 3. a known mistake? It must explain every case, and differ from the reference somewhere.
    found = _explaining_mistake(spec, cases, outputs)
    if found is not None:
        return Verdict(False, f"{spec.name} is not right yet. {found.hint}", found.name, cases[wrong[0]].label)
    # 4. otherwise: where is it furthest off?
    i = wrong[0]
    got, want = _named(spec, outputs[i]), _named(spec, refs[i])
    worst = None
    for name in want:
        diff = np.abs(got[name] - want[name])
        if diff.size and (worst is None or diff.max() > worst[0]):
            idx = np.unravel_index(int(np.argmax(diff)), diff.shape)
            worst = (float(diff.max()), name, idx, float(got[name][idx]), float(want[name][idx]))
    _, name, idx, g, w = worst
    where = f"{name}[{', '.join(map(str, idx))}]" if idx else name
    n_wrong = len(wrong)
    return Verdict(False, f"{spec.name} is wrong on {n_wrong} of {len(cases)} cases. First: {cases[i].label}. "
                   f"Largest difference at {where}: expected {_fmt(w)}, got {_fmt(g)}.", "unknown", cases[i].label)


def _mistake_on_clean_cases(spec, cases, outputs, refs):
    """A known mistake that explains every case where the output had the right shape and
    finite values (if there are such cases): the more basic problem to report first."""
    clean = []
    for case, out, ref in zip(cases, outputs, refs):
        if isinstance(out, Raised):
            continue
        try:
            got, want = _named(spec, out), _named(spec, ref)
        except (TypeError, ValueError):
            continue
        if got.keys() == want.keys() and all(got[k].shape == want[k].shape and np.all(np.isfinite(got[k]))
                                             for k in want):
            clean.append((case, out))
    if not clean:
        return None
    return _explaining_mistake(spec, [c for c, _ in clean], [o for _, o in clean])


def _explaining_mistake(spec, cases, outputs):
    """The first mistake that reproduces the outputs on every case and differs from the
    reference on at least one of them, or None."""
    for mistake in spec.mistakes:
        differs = False
        for case, out in zip(cases, outputs):
            try:
                expected = mistake.fn(**materialize(case.inputs))
            except Exception:  # noqa: BLE001 - the mistake may not apply to this case's shapes
                break
            if not _matches(spec, out, expected, case):
                break
            differs = differs or not _matches(spec, expected, spec.reference(**materialize(case.inputs)), case)
        else:
            if differs:
                return mistake
    return None


def check(spec, fn, seed=0):
    """What a check cell calls: run ``fn`` on the spec's cases, print one line on success,
    raise AssertionError with the specific hint otherwise."""
    if not callable(fn):
        raise AssertionError(f"expected the function {spec.signature}, got {type(fn).__name__}")
    cases = spec.cases(seed)
    if spec.numeric is not None:  # the reference itself is checked against finite differences
        for case in cases[:3]:
            ref = _named(spec, spec.reference(**materialize(case.inputs)))
            num = _named(spec, spec.numeric(**materialize(case.inputs)))
            for k in ref:
                assert np.allclose(ref[k], num[k], rtol=1e-5, atol=1e-7), \
                    f"internal error: reference and finite differences disagree on {k} ({case.label})"
    outputs, mutated = run_cases(fn, cases)
    verdict = diagnose(spec, cases, outputs, mutated)
    if not verdict.passed:
        raise AssertionError(verdict.message)
    print("\u2714 " + verdict.message)
    return verdict
