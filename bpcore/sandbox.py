"""Run untrusted student code for the autograder: the worker side.

Started by ``bpcore.grade`` as ``python -I -S? .../sandbox.py`` (a plain script: it never
imports bpcore, so no reference implementation exists in any process that runs student
code). It preloads NumPy once, then for every job it receives on stdin (a pickle from the
trusted grader) it forks a child that

* starts a new session (so its whole process group can be killed), drops root to nobody,
  works in a fresh temporary directory, and runs under rlimits (address space, CPU time,
  file size, no core dumps);
* sends its stdout/stderr to /dev/null (Python-level prints are counted and discarded);
* installs an audit hook that refuses new processes, signals, sockets, ctypes, gc
  object-graph walking, and any file access outside its temporary directory (reading the Python
  installation is allowed, so imports work);
* refuses to import bpcore (a harmless stand-in provides what the notebook's setup needs);
* runs the instructor's setup cells and the student's solution cells, calls the student's
  functions on the grader's inputs, and writes what they returned as JSON (never pickle)
  to a pipe.

The worker waits for the child with a deadline, kills its process group when time is up,
and forwards the child's bytes, or what went wrong, to the grader. Pass or fail is decided
by the grader, never here.
"""
import base64
import json
import os
import pickle
import resource
import select
import shutil
import signal
import struct
import sys
import tempfile
import time

if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)  # never let `import activations` find bpcore's files as top-level modules

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
import numpy as np  # noqa: E402  (after the thread settings)

NOBODY = 65534
# Imported before the cage closes, so student code can use them without reading files.
PRELOAD = ("math", "cmath", "itertools", "functools", "collections", "random", "statistics", "fractions",
           "decimal", "operator", "copy", "numbers", "string", "re", "typing", "dataclasses", "importlib.abc",
           "types", "warnings", "numpy.linalg", "numpy.random", "numpy.fft")


def _readable_by_others(path):
    """True if every directory down to ``path`` lets other users in (so nobody can import)."""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    for i in range(2, len(parts) + 1):
        st = os.stat(os.sep.join(parts[:i]) or os.sep)
        if not st.st_mode & 0o001:
            return False
    return bool(os.stat(path).st_mode & 0o004)


DROP_ROOT = os.getuid() == 0 and all(_readable_by_others(p) for p in {sys.base_prefix, sys.prefix})
MAX_RESULT_BYTES = 32 * 1024 * 1024
MAX_ELEMENTS = 2_000_000

# Sources exec'd only in the jobs that need them, so that e.g. the derivative functions
# never exist in the process of exercise 1 (where they are the answer).
DERIVATIVES_SRC = '''
import numpy as _np
def _sig(a):
    z = _np.exp(-_np.abs(a))
    return _np.where(a >= 0, 1 / (1 + z), z / (1 + z))
DERIVS = {
    "sigmoid": lambda a: _sig(_np.asarray(a)) * (1 - _sig(_np.asarray(a))),
    "tanh": lambda a: 1 - _np.tanh(_np.asarray(a)) ** 2,
    "relu": lambda a: (_np.asarray(a) > 0).astype(_np.asarray(a).dtype if _np.asarray(a).dtype.kind == "f" else float),
    "identity": lambda a: _np.ones_like(_np.asarray(a), dtype=_np.asarray(a).dtype if _np.asarray(a).dtype.kind == "f" else float),
}
'''

TEST_FUNCS_SRC = '''
import numpy as _np
FUNCS = {
    "cube": lambda x: float(_np.sum(_np.asarray(x) ** 3)),
    "sin3": lambda x: float(_np.sum(_np.sin(3 * _np.asarray(x)))),
    "quad_exp": lambda x: float(_np.sum(_np.outer(_np.ravel(x), _np.ravel(x))) + _np.sum(_np.exp(x))),
}
'''

# A small stand-in for bpcore.Network and the planted bug of exercise 7 (2+ layer sigmoid MLP, MSE).
NETWORK_SRC = '''
import numpy as _np
def _sig(a):
    z = _np.exp(-_np.abs(a))
    return _np.where(a >= 0, 1 / (1 + z), z / (1 + z))
class Network:
    def __init__(self, sizes, g="sigmoid", g_out="sigmoid", seed=0, **kw):
        if g != "sigmoid" or g_out != "sigmoid":
            raise ValueError("the grading stand-in only has sigmoid networks")
        rng = _np.random.default_rng(seed)
        self.sizes, self.m = list(sizes), len(sizes) - 1
        self.W, self.b = [None], [None]
        for k in range(1, self.m + 1):
            self.W.append(rng.uniform(-1, 1, size=(sizes[k - 1], sizes[k])))
            self.b.append(rng.uniform(-1, 1, size=sizes[k]))
    @property
    def param_names(self):
        return [f"{p}[{k}]" for k in range(1, self.m + 1) for p in ("W", "b")]
    @property
    def params(self):
        return [p for k in range(1, self.m + 1) for p in (self.W[k], self.b[k])]
    def forward(self, X):
        self.a, self.o = [None], [_np.asarray(X, float)]
        for k in range(1, self.m + 1):
            self.a.append(self.o[k - 1] @ self.W[k] + self.b[k])
            self.o.append(_sig(self.a[k]))
        return self.o[self.m]
    def E(self, X, Y):
        d = self.forward(X) - Y
        return 0.5 * float(_np.sum(d * d)) / len(X)
def planted_bug_backward(net, X, Y):
    net.forward(X)
    m, N = net.m, len(X)
    sp = lambda o: o * (1 - o)
    delta = [None] * (m + 1)
    delta[m] = (net.o[m] - Y) * sp(net.o[m])
    for k in range(m - 1, 0, -1):
        delta[k] = (delta[k + 1] @ net.W[k + 1].T) * sp(net.o[k])
    delta[1] = (delta[2] @ net.W[2].T) * sp(_sig(net.o[1]))  # the planted bug: g'(o) not g'(a)
    out = []
    for k in range(1, m + 1):
        out += [net.o[k - 1].T @ delta[k] / N, delta[k].mean(axis=0)]
    return out
'''


# ------------------------------------------------------------------ encoding (child side)
def encode(value, depth=0):
    """What the student's function returned, as JSON-safe data (arrays as base64)."""
    if depth > 6:
        return {"t": "other", "type": "nested too deeply"}
    if value is None:
        return {"t": "none"}
    if isinstance(value, (bool, int, float, np.number)) and not isinstance(value, np.ndarray):
        v = float(value)
        return {"t": "num", "v": repr(v)}
    if isinstance(value, str):
        return {"t": "str", "v": value[:2000]}
    if isinstance(value, (list, tuple)):
        return {"t": "list", "tuple": isinstance(value, tuple), "v": [encode(v, depth + 1) for v in list(value)[:200]]}
    try:
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001
        return {"t": "other", "type": f"{type(value).__name__} ({type(exc).__name__})"}
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except Exception:  # noqa: BLE001
            return {"t": "other", "type": f"{type(value).__name__} of dtype {arr.dtype}"}
    if arr.size > MAX_ELEMENTS:
        return {"t": "other", "type": f"array with {arr.size} elements (limit {MAX_ELEMENTS})"}
    arr = np.ascontiguousarray(arr, dtype=np.float64 if arr.dtype.kind == "f" and arr.dtype.itemsize > 4 else arr.dtype)
    return {"t": "arr", "dtype": arr.dtype.str, "shape": list(arr.shape),
            "b64": base64.b64encode(arr.tobytes()).decode("ascii")}


def _materialize(value, env):
    if isinstance(value, dict) and "__act__" in value:
        if "DERIVS" not in env:
            exec(DERIVATIVES_SRC, env)  # noqa: S102 - trusted source, defined above
        return env["DERIVS"][value["__act__"]]
    if isinstance(value, dict) and "__func__" in value:
        if "FUNCS" not in env:
            exec(TEST_FUNCS_SRC, env)  # noqa: S102
        return env["FUNCS"][value["__func__"]]
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_materialize(v, env) for v in value]
    return value


# ------------------------------------------------------------------ the child's cage
class _Discard:
    """sys.stdout / sys.stderr for student code: counts characters, keeps none."""

    def __init__(self):
        self.count = 0

    def write(self, s):
        self.count += len(s)
        return len(s)

    def flush(self):
        pass

    def isatty(self):
        return False


class _Anything:
    """get_ipython() and the bpcore.check stand-in: every attribute is a harmless no-op."""

    def __getattr__(self, name):
        return lambda *a, **k: None

    def __call__(self, *a, **k):
        return None


def _block_bpcore(stub_modules):
    import importlib.abc
    import types

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "bpcore" or name.startswith("bpcore."):
                raise ImportError(f"{name} is not available while grading: write the code yourself")
            return None

    for name in [n for n in sys.modules if n == "bpcore" or n.startswith("bpcore.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, Blocker())
    for name, attrs in stub_modules.items():
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        mod.__path__ = []
        sys.modules[name] = mod


def _install_audit_hook(workdir, read_roots):
    workdir = os.path.realpath(workdir)
    read_roots = tuple(os.path.realpath(r) for r in read_roots)
    denied_prefixes = ("subprocess.", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                       "os.system", "os.kill", "os.killpg", "signal.pthread_kill", "socket.", "ctypes.",
                       "gc.get_objects", "gc.get_referrers", "gc.get_referents",
                       "os.setuid", "os.setgid", "pty.", "resource.setrlimit",
                       "sys.remote_exec", "_posixsubprocess.")

    def inside(path, roots):
        try:
            p = os.path.realpath(os.fsdecode(path) if not isinstance(path, int) else "")
        except Exception:  # noqa: BLE001
            return False
        return any(p == r or p.startswith(r + os.sep) for r in roots)

    def hook(event, args):
        if event.startswith(denied_prefixes):
            raise PermissionError(f"not allowed while grading: {event}")
        if event == "open":
            path, mode = args[0], args[1] if len(args) > 1 else "r"
            if isinstance(path, int):
                return
            writing = isinstance(mode, str) and any(c in mode for c in "wax+")
            if isinstance(mode, int):  # os.open flags
                writing = bool(mode & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND))
            if inside(path, (workdir,)) or (not writing and inside(path, read_roots)):
                return
            if os.fsdecode(path) in ("/dev/null", "/dev/urandom"):
                return
            raise PermissionError(f"not allowed while grading: opening {os.fsdecode(path)!r}")
        if event in ("os.listdir", "os.scandir", "os.remove", "os.rename", "os.rmdir", "os.mkdir",
                     "shutil.rmtree", "os.chmod", "os.chown", "os.link", "os.symlink", "os.truncate",
                     "os.utime", "shutil.copyfile", "shutil.move", "glob.glob", "os.chdir"):
            paths = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
            if event in ("os.listdir", "os.scandir", "glob.glob") and not paths:
                return  # '.', the working directory
            if all(inside(p, (workdir,)) or (event in ("os.listdir", "os.scandir", "glob.glob")
                                             and inside(p, read_roots)) for p in paths):
                return
            raise PermissionError(f"not allowed while grading: {event} outside the working directory")

    sys.addaudithook(hook)


def _strip_magics(source):
    out = []
    for line in source.split("\n"):
        s = line.lstrip()
        if s.startswith(("%", "!")):
            out.append(line[: len(line) - len(s)] + "pass  # IPython magic removed for grading")
        else:
            out.append(line)
    return "\n".join(out)


def _child(job, workdir, wfd):
    """Runs in the forked child. Never returns."""
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big file raises an error instead
        mem = job["mem_bytes"]
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        cpu = int(job["timeout"]) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_FSIZE, (job["max_file_bytes"],) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.chdir(workdir)
        import importlib
        for name in PRELOAD:
            importlib.import_module(name)
        if DROP_ROOT:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
        env = {}
        stubs = {"bpcore": {"check": _Anything()}, "bpcore.check": {}}
        if job.get("needs_network"):
            exec(NETWORK_SRC, env)  # noqa: S102 - trusted source
            stubs["bpcore"]["Network"] = env["Network"]
            stubs["bpcore.check"]["planted_bug_backward"] = env["planted_bug_backward"]
        _block_bpcore(stubs)
        sys.modules["bpcore"].check = sys.modules["bpcore.check"]
        sys.modules["bpcore.check"].__getattr__ = lambda name: _Anything()
        out = _Discard()
        sys.stdout = sys.stderr = out
        read_roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(np.__file__)}
        read_roots |= {p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p}
        _install_audit_hook(workdir, read_roots)
    except BaseException as exc:  # noqa: BLE001
        _send(wfd, {"fatal": f"sandbox set-up failed: {type(exc).__name__}: {exc}"})
        os._exit(3)

    ns = {"__name__": "__main__", "get_ipython": lambda: _Anything()}
    cells = []
    for kind, grade_id, source in job["cells"]:
        entry = {"grade_id": grade_id, "kind": kind, "error": None}
        try:
            code = compile(_strip_magics(source), f"<{kind} cell {grade_id}>", "exec")
            exec(code, ns)  # noqa: S102 - this is the untrusted code we are here to run
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too
            entry["error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
        cells.append(entry)

    results = {}
    env = {}
    for call in job["calls"]:
        name, kind = call["spec"], call["kind"]
        if kind == "value":
            results[name] = {"value": encode(ns.get(call["variable"])) if call["variable"] in ns else None,
                             "missing": call["variable"] not in ns}
            continue
        fn = ns.get(call["function"])
        if not callable(fn):
            results[name] = {"missing": True}
            continue
        outs, mutated = [], []
        for inputs in call["cases"]:
            args = {k: _materialize(v, env) for k, v in inputs.items()}
            before = {k: v.copy() for k, v in args.items() if isinstance(v, np.ndarray)}
            try:
                outs.append(encode(fn(**args)))
            except BaseException as exc:  # noqa: BLE001
                outs.append({"t": "raised", "type": type(exc).__name__, "msg": str(exc)[:500]})
            mutated.append([k for k, v in before.items()
                            if not (isinstance(args[k], np.ndarray) and args[k].shape == v.shape
                                    and np.array_equal(args[k], v, equal_nan=True))])
        results[name] = {"outputs": outs, "mutated": mutated}
    _send(wfd, {"cells": cells, "results": results, "printed": out.count})
    os._exit(0)


def _send(wfd, obj):
    data = json.dumps(obj).encode()
    view = memoryview(data)
    while view:
        n = os.write(wfd, view[: 1 << 16])
        view = view[n:]


# ------------------------------------------------------------------ the worker loop
def run_job(job):
    """Fork a child for one job, wait for it, return the bytes to send to the grader."""
    started = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="bpgrade-")
    if DROP_ROOT:
        os.chown(workdir, NOBODY, NOBODY)
    os.chmod(workdir, 0o700)
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(rfd)
        _child(job, workdir, wfd)
    os.close(wfd)
    chunks, size, status, note = [], 0, None, None
    deadline = started + job["timeout"]
    try:
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                note = f"timed out after {job['timeout']:g} s"
                break
            ready, _, _ = select.select([rfd], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(rfd, 1 << 16)
                if not chunk:
                    break  # the child closed the pipe (it exited)
                size += len(chunk)
                if size > MAX_RESULT_BYTES:
                    note = f"returned more than {MAX_RESULT_BYTES // 2**20} MB of results"
                    break
                chunks.append(chunk)
        if note:
            _kill(pid)
        deadline2 = time.perf_counter() + 5
        while status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
            elif time.perf_counter() > deadline2:
                _kill(pid)
                deadline2 = time.perf_counter() + 5
            else:
                time.sleep(0.002)
    finally:
        os.close(rfd)
        _kill(pid, group_only=True)
        shutil.rmtree(workdir, ignore_errors=True)
    header = {"job_id": job["job_id"], "seconds": time.perf_counter() - started, "note": note}
    if os.WIFSIGNALED(status) and not note:
        sig = os.WTERMSIG(status)
        header["note"] = f"crashed with signal {signal.Signals(sig).name}" if sig in signal.Signals._value2member_map_ \
            else f"crashed with signal {sig}"
    elif os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0 and not note:
        header["note"] = f"exited with code {os.WEXITSTATUS(status)} before reporting"
    elif not chunks and not note:
        header["note"] = "exited before reporting (os._exit or a crash)"
    return json.dumps(header).encode(), b"".join(chunks)


def _kill(pid, group_only=False):
    for target in (lambda: os.killpg(pid, signal.SIGKILL),) + (() if group_only else (lambda: os.kill(pid, signal.SIGKILL),)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass


def main():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(b"READY\n")
    stdout.flush()
    while True:
        head = stdin.read(8)
        if len(head) < 8:
            return
        (n,) = struct.unpack("<Q", head)
        job = pickle.loads(stdin.read(n))  # from the trusted grader only
        header, body = run_job(job)
        stdout.write(struct.pack("<QQ", len(header), len(body)) + header + body)
        stdout.flush()


if __name__ == "__main__":
    main()
