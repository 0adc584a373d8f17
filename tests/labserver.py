"""Helpers for browser tests: a throwaway JupyterLab server and headless Chromium.

Typical use in a test::

    from labserver import require_browser, lab_server, browser_page, open_notebook, run_all_cells

    def test_something(tmp_path):
        require_browser()
        with lab_server(REPO, tmp_path) as server, browser_page(tmp_path) as page:
            open_notebook(page, server, "course/00_welcome.ipynb")
            run_all_cells(page)

Everything the server writes (config, runtime files, user settings, workspaces,
IPython profile) lives under ``tmp_path``, so the user's own Jupyter settings do
not leak in and the tests leave nothing behind.  The news / update toast of
JupyterLab is switched off through a user setting (see ``LAB_USER_SETTINGS``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM_PATH = "/usr/bin/chromium"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

CHROMIUM_MISSING = (
    f"Chromium not found at {CHROMIUM_PATH}: install Debian's chromium package "
    "(`apt-get install chromium`) to run browser tests"
)
PLAYWRIGHT_MISSING = (
    "The playwright Python package is not installed: run `make install` "
    "(it installs the '[browser]' extra) to run browser tests"
)

# User settings written into the server's private settings dir.  Names checked
# against share/jupyter/lab/schemas/@jupyterlab/apputils-extension/notification.json
# of JupyterLab 4.6: fetchNews is a *string* ("true" | "false" | "none"; "none"
# makes JupyterLab ask "Would you like to get notified about official Jupyter
# news?" in a toast), checkForUpdates is a boolean.
LAB_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # Tests run notebooks of the repository itself: never write them back.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {
        "autosave": False,
    },
}

SERVER_START_TIMEOUT = 60.0


# --------------------------------------------------------------------------- #
# Skipping / failing when the browser is not available
# --------------------------------------------------------------------------- #


def find_chromium() -> str | None:
    """Path of a Chromium executable, or None."""
    if os.path.isfile(CHROMIUM_PATH) and os.access(CHROMIUM_PATH, os.X_OK):
        return CHROMIUM_PATH
    return shutil.which("chromium")


def _skip_or_fail(reason: str) -> None:
    # In CI a skipped browser test would hide a broken setup: fail instead.
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def require_browser() -> str:
    """Return the Chromium path; skip the test (fail it in CI) if unusable."""
    chromium = find_chromium()
    if chromium is None:
        _skip_or_fail(CHROMIUM_MISSING)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail(PLAYWRIGHT_MISSING)
    return chromium


# --------------------------------------------------------------------------- #
# The JupyterLab server
# --------------------------------------------------------------------------- #


@dataclass
class LabServer:
    url: str  # base url, no trailing slash, e.g. http://127.0.0.1:8765
    token: str
    port: int
    log_path: Path
    root_dir: Path
    proc: subprocess.Popen

    def api(self, path: str, timeout: float = 10.0):
        """GET ``/api/<path>`` with the token; return (status, parsed JSON or None)."""
        url = f"{self.url}/api/{path.lstrip('/')}"
        url += ("&" if "?" in url else "?") + f"token={self.token}"
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = resp.read()
            try:
                data = json.loads(body) if body else None
            except ValueError:
                data = None
            return resp.status, data

    def lab_url(self, relpath: str = "") -> str:
        relpath = relpath.lstrip("/")
        path = f"/lab/tree/{relpath}" if relpath else "/lab"
        return f"{self.url}{path}?token={self.token}"

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children_map() -> dict[int, list[int]]:
    """ppid -> [pid] for every process, from /proc (empty if unavailable)."""
    children: dict[int, list[int]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return children
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ..." -- comm may contain spaces/parens.
        try:
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _descendants(pid: int) -> list[int]:
    children = _children_map()
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is "alive" for kill(0); treat it as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


def _kill_quietly(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop the server, its kernels and everything else it started.

    Kernels are started by jupyter_client in a *new session* (so they are not
    in the server's process group); the server shuts them down itself on
    SIGTERM, and whatever survives is killed by pid afterwards.
    """
    if proc.poll() is None:
        leftovers = _descendants(proc.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=grace)
    else:
        leftovers = []
    # Whatever was started by the server and is still running (e.g. a kernel
    # that ignored the shutdown request, or its own subprocesses).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    for pid in leftovers:
        _kill_quietly(pid, signal.SIGTERM)
    for pid in leftovers:
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            _kill_quietly(pid, signal.SIGKILL)


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the test process dies, even
    if it is killed with SIGKILL and cannot clean up (Linux only)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except Exception:  # not Linux, no libc: the with-block cleanup still applies
        pass


def _prepare_dirs(tmp_path: Path) -> dict[str, Path]:
    base = Path(tmp_path) / "jupyter"
    dirs = {
        "config": base / "config",
        "data": base / "data",
        "runtime": base / "runtime",
        "settings": base / "user-settings",
        "workspaces": base / "workspaces",
        "ipython": base / "ipython",
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    for rel, values in LAB_USER_SETTINGS.items():
        target = dirs["settings"] / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values, indent=2) + "\n")
    return dirs


def _server_env(dirs: dict[str, Path]) -> dict[str, str]:
    env = dict(os.environ)
    # Anything that would point Jupyter at the user's own setup.
    for name in (
        "JUPYTER_PATH",
        "JUPYTER_CONFIG_PATH",
        "JUPYTER_TOKEN",
        "JUPYTER_TOKEN_FILE",
        "JUPYTERLAB_DIR",
        "JUPYTER_ALLOW_INSECURE_WRITES",
    ):
        env.pop(name, None)
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        IPYTHONDIR=str(dirs["ipython"]),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
    )
    venv_bin = os.path.dirname(sys.executable)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    return env


def _wait_ready(server: LabServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        code = server.proc.poll()
        if code is not None:
            raise RuntimeError(
                f"jupyter lab exited with code {code} before answering /api/status.\n"
                f"--- server log ({server.log_path}) ---\n{server.log_tail()}"
            )
        try:
            status, _ = server.api("status", timeout=2.0)
            if status == 200:
                return
            last_error = f"HTTP {status}"
        except urllib.error.HTTPError as exc:
            last_error = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last_error = str(exc)
        time.sleep(0.2)
    raise TimeoutError(
        f"jupyter lab did not answer {server.url}/api/status with 200 within "
        f"{timeout:.0f} s (last: {last_error}).\n"
        f"--- server log ({server.log_path}) ---\n{server.log_tail()}"
    )


@contextlib.contextmanager
def lab_server(root_dir, tmp_path, timeout: float = SERVER_START_TIMEOUT, extra_args=()):
    """Run ``jupyter lab`` on ``root_dir`` for the duration of the ``with`` block.

    Yields a :class:`LabServer`; the server, its kernels and their children
    are stopped on exit, whatever happens inside the block.
    """
    root_dir = Path(root_dir).resolve()
    tmp_path = Path(tmp_path)
    dirs = _prepare_dirs(tmp_path)
    env = _server_env(dirs)
    token = secrets.token_hex(24)
    log_path = tmp_path / "jupyter-lab.log"

    attempts = 3  # the free port can be grabbed by someone else before we bind it
    for attempt in range(attempts):
        port = _free_port()
        cmd = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            "--ServerApp.password=",
            f"--ServerApp.root_dir={root_dir}",
            f"--LabApp.user_settings_dir={dirs['settings']}",
            f"--LabApp.workspaces_dir={dirs['workspaces']}",
            # window.jupyterapp, used by open_notebook()/run_all_cells().
            "--LabApp.expose_app_in_browser=True",
            # No pip/PyPI behind the extension manager: nothing to fetch.
            "--LabApp.extension_manager=readonly",
            *extra_args,
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # CI runs the tests as root
        log = open(log_path, "wb")
        try:
            proc = subprocess.Popen(
                cmd,
                cwd=str(root_dir),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: killpg() on exit
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        server = LabServer(
            url=f"http://127.0.0.1:{port}",
            token=token,
            port=port,
            log_path=log_path,
            root_dir=root_dir,
            proc=proc,
        )
        try:
            _wait_ready(server, timeout)
        except RuntimeError:
            _stop(proc)
            if attempt + 1 < attempts and "already in use" in server.log_tail(200):
                continue
            raise
        except BaseException:
            _stop(proc)
            raise
        break

    try:
        yield server
    finally:
        _stop(proc)


# --------------------------------------------------------------------------- #
# The browser
# --------------------------------------------------------------------------- #


@contextlib.contextmanager
def browser_page(tmp_path, viewport=(1280, 900)):
    """Yield a Playwright page in headless Debian Chromium with a fresh profile."""
    from playwright.sync_api import sync_playwright

    chromium = require_browser()
    profile = Path(tmp_path) / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            user_data_dir=str(profile),
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": viewport[0], "height": viewport[1]},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            yield page
        finally:
            context.close()


# --------------------------------------------------------------------------- #
# Driving JupyterLab
# --------------------------------------------------------------------------- #

# JS run in the page: the notebook panel for `path` (or the current widget).
_JS_FIND_PANEL = """
(path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return null;
  let panel = null;
  for (const w of app.shell.widgets('main')) {
    if (w.content && w.content.model && w.context && w.context.path === path) { panel = w; break; }
  }
  return panel;
}
"""

_JS_NOTEBOOK_READY = """
(path) => {
  const find = %s;
  const panel = find(path);
  if (!panel || !panel.isVisible) return false;
  const sc = panel.sessionContext;
  if (!panel.context.isReady || !sc || !sc.isReady) return false;
  const kernel = sc.session && sc.session.kernel;
  return !!kernel && kernel.status === 'idle';
}
""" % _JS_FIND_PANEL

_JS_RUN_ALL = """
async (path) => {
  const find = %s;
  const panel = find(path);
  if (!panel) throw new Error('notebook ' + path + ' is not open');
  window.jupyterapp.shell.activateById(panel.id);
  // Resolves once every cell ran, or execution stopped at an error.
  window.__labserverRunAll = null;
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    (ok) => { window.__labserverRunAll = {ok: !!ok}; },
    (err) => { window.__labserverRunAll = {ok: false, error: String(err)}; });
}
""" % _JS_FIND_PANEL

_JS_CELL_STATE = """
(path) => {
  const find = %s;
  const panel = find(path);
  if (!panel) return null;
  const cells = [];
  const model = panel.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const c = model.cells.get(i);
    if (c.type !== 'code') continue;
    const outputs = [];
    for (let j = 0; j < c.outputs.length; j++) outputs.push(c.outputs.get(j).toJSON());
    cells.push({index: i, count: c.executionCount, source: c.sharedModel.getSource(), outputs});
  }
  const sc = panel.sessionContext;
  const kernel = sc && sc.session && sc.session.kernel;
  return {cells, kernel: kernel ? kernel.status : null};
}
""" % _JS_FIND_PANEL


def _current_path(page) -> str | None:
    return page.evaluate(
        "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return w && w.context ? w.context.path : null; }"
    )


def open_notebook(page, server: LabServer, relpath: str, timeout: float = 45.0) -> None:
    """Open ``relpath`` (relative to the server root) in JupyterLab and wait
    until its panel is visible and its kernel is idle."""
    relpath = Path(relpath).as_posix()
    page.goto(server.lab_url(relpath), wait_until="domcontentloaded", timeout=timeout * 1000)
    page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)", timeout=timeout * 1000)
    page.locator(".jp-NotebookPanel").first.wait_for(state="visible", timeout=timeout * 1000)
    # A notebook without kernelspec metadata asks which kernel to use: accept
    # the default (the venv's python3).
    deadline = time.monotonic() + timeout
    while True:
        if page.evaluate(_JS_NOTEBOOK_READY, relpath):
            break
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count() and dialog.first.is_visible():
            dialog.first.click()
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"notebook {relpath} did not become ready with an idle kernel within "
                f"{timeout:.0f} s\n--- server log ---\n{server.log_tail()}"
            )
        page.wait_for_timeout(200)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(
        state="attached", timeout=5000
    )


def cell_states(page, relpath: str | None = None) -> dict:
    """Execution counts and outputs of the code cells of an open notebook."""
    relpath = relpath or _current_path(page)
    return page.evaluate(_JS_CELL_STATE, relpath)


def run_all_cells(page, relpath: str | None = None, timeout: float = 45.0) -> dict:
    """Run > Run All Cells on the (current) notebook and wait until it is done:
    JupyterLab's run-all finished, the kernel is idle and no prompt shows
    ``[*]``.  Unless execution stopped at an error, every non-empty code cell
    then has an execution count (no ``[ ]`` left).

    Returns the final :func:`cell_states` (code cells with counts and
    outputs); use :func:`notebook_errors` on it to find tracebacks.
    """
    relpath = relpath or _current_path(page)
    if relpath is None:
        raise RuntimeError("no notebook is open")
    page.evaluate(_JS_RUN_ALL, relpath)
    deadline = time.monotonic() + timeout
    state = result = None
    while time.monotonic() < deadline:
        result = page.evaluate("() => window.__labserverRunAll")
        state = page.evaluate(_JS_CELL_STATE, relpath)
        if result is not None and state and state["kernel"] == "idle":
            # JupyterLab does not execute (nor number) empty code cells.
            cells = [c for c in state["cells"] if c["source"].strip()]
            counted = all(c["count"] is not None for c in cells)
            # What the learner sees (textContent, not innerText: off-screen
            # cells are skipped by content-visibility).
            prompts = [
                p.strip()
                for p in page.locator(".jp-CodeCell .jp-InputPrompt").all_text_contents()
            ]
            busy = any("*" in p for p in prompts)
            blank = sum(p in ("[ ]:", "[ ]", "") for p in prompts)
            if not busy and (
                not result["ok"]  # stopped at an error: later cells stay [ ]
                or (counted and blank <= len(state["cells"]) - len(cells))
            ):
                return state
        page.wait_for_timeout(200)
    pending = [
        c["index"]
        for c in (state or {}).get("cells", [])
        if c["count"] is None and c["source"].strip()
    ]
    raise TimeoutError(
        f"run all cells did not finish within {timeout:.0f} s; run-all result={result}, "
        f"kernel={state and state['kernel']}, cells without execution count: {pending}"
    )


def notebook_errors(state: dict) -> list[str]:
    """Error outputs (tracebacks) in a :func:`cell_states` result, as text."""
    errors = []
    for cell in state["cells"]:
        for out in cell["outputs"]:
            if out.get("output_type") == "error":
                tb = _ANSI.sub("", "\n".join(out.get("traceback") or []))
                errors.append(
                    f"cell {cell['index']}: {out.get('ename')}: {out.get('evalue')}\n{tb}"
                )
    return errors


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def screenshot_notebook(page, path, max_height: int = 12000, collapse_left: bool = True) -> Path:
    """Screenshot the whole notebook, from its top, not just one screenful.

    JupyterLab's layout is exactly one window high and the notebook scrolls
    inside it, so ``full_page=True`` alone would only show the viewport: the
    viewport is made as high as the notebook's content first (capped at
    ``max_height`` pixels) and the notebook scrolled to its top; the viewport
    is restored afterwards.  ``collapse_left`` hides the file browser.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    if collapse_left:
        page.evaluate("() => window.jupyterapp && window.jupyterapp.shell.collapseLeft()")
    extra = page.evaluate(_JS_SCROLL_TOP)
    try:
        if original and extra > 0:
            height = min(max_height, original["height"] + int(extra) + 40)
            page.set_viewport_size({"width": original["width"], "height": height})
            page.wait_for_timeout(300)
            page.evaluate(_JS_SCROLL_TOP)
            page.wait_for_timeout(300)  # let lazily rendered cells settle
        page.screenshot(path=str(path), full_page=True)
    finally:
        if original:
            page.set_viewport_size(original)
    return path


# Scroll the visible notebook to its top; return how much taller than its
# viewport the content is.
_JS_SCROLL_TOP = """
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return 0;
  const candidates = [panel.querySelector('.jp-WindowedPanel-outer'),
                      panel.querySelector('.jp-Notebook'), ...panel.querySelectorAll('*')];
  const scroller = candidates.find(el => el && el.scrollHeight > el.clientHeight + 1
                                         && getComputedStyle(el).overflowY !== 'visible');
  if (!scroller) return 0;
  scroller.scrollTop = 0;
  return scroller.scrollHeight - scroller.clientHeight;
}
"""
