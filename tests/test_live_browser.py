"""The playground in a real browser: JupyterLab, and Voila as `make present` serves it.

1. JupyterLab on 127.0.0.1 with a token, course/playground.ipynb opened in headless
   Debian Chromium, all cells run.  The "hidden size" slider is moved with the
   keyboard (focus its handle, ArrowRight / ArrowLeft: with continuous_update=False
   a key press commits the value), several times.  Each time the test measures the
   time from the key press (a keydown listener) to the moment the playground's
   canvas is painted with a picture that differs from the one before (a hook on
   the canvas's drawImage), and checks the readout and the status line.  It prints
   the median, writes it to artifacts/browser/playground_latency.json, and then
   switches presenter mode on and checks that fonts and the figure grew.
2. Voila, started like `make present` (BPCORE_PRESENT=1, 127.0.0.1): the playground
   appears, no code is on the page, presenter mode is on.

Screenshots go to artifacts/browser/ (git-ignored).  Needs /usr/bin/chromium and
the playwright Python package: skipped without them, failed when CI=true.
"""
from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labserver import (  # noqa: E402
    _die_with_parent,
    _free_port,
    _prepare_dirs,
    _server_env,
    _skip_or_fail,
    _stop,
    browser_page,
    lab_server,
    notebook_errors,
    open_notebook,
    require_browser,
    run_all_cells,
    screenshot_notebook,
)

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = "course/playground.ipynb"
ARTIFACTS = REPO / "artifacts" / "browser"
KEY_PRESSES = 9          # alternating ArrowRight / ArrowLeft: hidden size 8 -> 9 -> 8 ...
TARGET_MS = 150          # the target for the median (reported, see below)
SANITY_MS = 1000         # asserted: "well under a second" even on a loaded machine

# The playground's canvas (the first live figure on the page): count paints, and note
# the first paint after an armed key press whose picture differs from the one before.
JS_HOOK = """
() => {
  const canvas = document.querySelector('.bp-live-canvas canvas');
  const bp = window.__bp = {canvas, armed: false, before: null, key: null, changed: null, paints: 0};
  const draw = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (...args) {
    const t = performance.now();
    const out = draw.apply(this, args);
    if (this.canvas === canvas) {
      bp.paints += 1;
      if (bp.armed && bp.key !== null && canvas.toDataURL() !== bp.before) {
        bp.changed = t;
        bp.armed = false;
      }
    }
    return out;
  };
  document.addEventListener('keydown', () => {
    if (bp.armed && bp.key === null) bp.key = performance.now();
  }, true);
  return [canvas.width, canvas.height];
}
"""
JS_ARM = """
() => { const bp = window.__bp; bp.before = bp.canvas.toDataURL();
        bp.key = null; bp.changed = null; bp.armed = true; }
"""
JS_PAINTED = """
() => {
  const c = document.querySelector('.bp-live-canvas canvas');
  if (!c || !c.width) return false;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4 * 97) if (d[i] !== 0) return true;
  return false;
}
"""
JS_DELTA_PICTURE = (  # the delta diagram's canvas (the second live figure), as a data URL
    "() => document.querySelectorAll('.bp-live-canvas')[1].querySelector('canvas').toDataURL()")
JS_KERNEL_IDLE = """
() => { const w = window.jupyterapp.shell.currentWidget;
        const k = w && w.sessionContext.session && w.sessionContext.session.kernel;
        return !!k && k.status === 'idle'; }
"""


def _wait_kernel_settled(page):
    """Idle kernel, twice 300 ms apart: the delta diagram's redraw is done too."""
    for _ in range(2):
        page.wait_for_function(JS_KERNEL_IDLE, timeout=20_000)
        page.wait_for_timeout(300)


@pytest.mark.browser
def test_playground_slider_moved_with_the_keyboard_redraws_fast(tmp_path):
    require_browser()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with lab_server(REPO, tmp_path) as server, browser_page(tmp_path, viewport=(1400, 1000)) as page:
        open_notebook(page, server, NOTEBOOK)
        state = run_all_cells(page, NOTEBOOK)
        errors = notebook_errors(state)
        assert not errors, "\n\n".join(errors)
        page.wait_for_function(JS_PAINTED, timeout=30_000)
        _wait_kernel_settled(page)
        screenshot_notebook(page, ARTIFACTS / "playground.png")

        status = page.locator(".bp-live-status").first
        assert "epoch 300" in status.inner_text()
        width, height = page.evaluate(JS_HOOK)
        slider = page.locator(".bp-live .widget-slider", has_text="hidden size").first
        readout = slider.locator(".widget-readout")
        assert readout.inner_text().strip() == "8"
        slider.locator(".noUi-handle").first.focus()

        delta_before = page.evaluate(JS_DELTA_PICTURE)
        latencies = []
        for i in range(KEY_PRESSES):
            right = i % 2 == 0
            _wait_kernel_settled(page)
            page.evaluate(JS_ARM)
            page.keyboard.press("ArrowRight" if right else "ArrowLeft")
            page.wait_for_function("() => window.__bp.changed !== null", timeout=20_000)
            key, changed = page.evaluate("() => [window.__bp.key, window.__bp.changed]")
            latencies.append(changed - key)
            assert readout.inner_text().strip() == ("9" if right else "8")
        _wait_kernel_settled(page)
        text = status.inner_text()
        assert "epoch 300" in text and "retrained in" in text, text
        assert "Error" not in text
        # the delta diagram followed (9 hidden nodes now), a moment after the playground
        page.wait_for_function(f"() => ({JS_DELTA_PICTURE})() !== {json.dumps(delta_before)}",
                               timeout=20_000)

        # live training: an asyncio task on the kernel's loop, paused by the same button
        train = page.locator(".bp-live button", has_text="train").first
        train.click()
        page.wait_for_function(
            "() => { const m = document.querySelector('.bp-live-status').innerText"
            ".match(/^epoch (\\d+)/); return m && +m[1] > 400; }", timeout=30_000)
        assert "training" in status.inner_text()
        page.locator(".bp-live button", has_text="pause").first.click()
        page.wait_for_function(
            "() => document.querySelector('.bp-live-status').innerText.includes('paused')",
            timeout=20_000)
        _wait_kernel_settled(page)
        page.locator(".bp-live").nth(1).screenshot(path=str(ARTIFACTS / "playground_widget.png"))
        page.locator(".bp-live").nth(2).screenshot(path=str(ARTIFACTS / "delta_diagram.png"))

        # presenter mode: the toggle enlarges controls (CSS) and the figure (x 1.6)
        page.locator(".widget-toggle-button", has_text="presenter mode").click()
        page.wait_for_function(
            f"() => document.querySelector('.bp-live-canvas canvas').width > {width * 1.5}",
            timeout=20_000)
        _wait_kernel_settled(page)
        label_px = page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector("
            "'.bp-live .widget-slider .widget-label')).fontSize)")
        assert label_px >= 20, label_px
        page.set_viewport_size({"width": 1920, "height": 1200})
        page.wait_for_timeout(500)
        page.locator(".bp-live").nth(1).screenshot(path=str(ARTIFACTS / "playground_presenter.png"))

    median = statistics.median(latencies)
    result = {"median_ms": round(median, 1), "latencies_ms": [round(x, 1) for x in latencies],
              "target_ms": TARGET_MS, "canvas_px": [width, height],
              "what": "keyboard ArrowRight/ArrowLeft on 'hidden size' until the playground canvas "
                      "shows a changed picture (retrain 300 epochs + redraw), headless Chromium"}
    (ARTIFACTS / "playground_latency.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nplayground: key press -> changed plot, median {median:.0f} ms over {len(latencies)} "
          f"moves (target {TARGET_MS} ms): {', '.join(f'{x:.0f}' for x in latencies)} ms; "
          f"test took {time.monotonic() - start:.0f} s")
    assert median < SANITY_MS, result


def _wait_for_port(port, proc, log, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"voila exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"voila did not listen on {port} within {timeout:.0f} s:\n"
                       f"{log.read_text()[-3000:]}")


@pytest.mark.browser
def test_make_present_serves_the_playground_in_voila(tmp_path):
    require_browser()
    try:
        import voila  # noqa: F401
    except ImportError:
        _skip_or_fail("voila is not installed: run `make install` (it is a dependency)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = _server_env(_prepare_dirs(tmp_path))
    env["BPCORE_PRESENT"] = "1"  # as `make present`
    log = tmp_path / "voila.log"
    # the command of `make present`, on a free port and without opening a browser
    cmd = [sys.executable, "-m", "voila", NOTEBOOK, "--Voila.ip=127.0.0.1", f"--port={port}",
           "--strip_sources=True", "--no-browser", "--Voila.port_retries=0"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_die_with_parent if os.name == "posix" else None)
    try:
        _wait_for_port(port, proc, log)
        with browser_page(tmp_path, viewport=(1600, 1000)) as page:
            page.goto(f"http://127.0.0.1:{port}/", timeout=90_000)
            page.wait_for_function(JS_PAINTED, timeout=90_000)
            page.wait_for_timeout(1500)
            html = page.content()
            assert "live.Playground()" not in html and "%matplotlib" not in html  # no code
            assert page.locator(".bp-live-status").first.inner_text().startswith("epoch 300")
            toggle = page.locator(".widget-toggle-button", has_text="presenter mode")
            assert "mod-active" in (toggle.get_attribute("class") or "")
            width = page.evaluate("() => document.querySelector('.bp-live-canvas canvas').width")
            assert width >= 1.5 * 900, width  # the presenter-size figure
            assert "Traceback" not in page.inner_text("body")
            page.locator(".bp-live").nth(1).screenshot(path=str(ARTIFACTS / "voila_present.png"))
    finally:
        _stop(proc)
