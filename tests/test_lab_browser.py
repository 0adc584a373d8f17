"""End-to-end: the first course notebook opens and runs in a real JupyterLab.

Starts `jupyter lab` on the repository, opens course/00_welcome.ipynb in
headless Debian Chromium, runs all cells and checks that none fails.  A
screenshot of the result is kept in artifacts/browser/ (git-ignored).

Needs /usr/bin/chromium and the playwright Python package (`make install`);
without them the test is skipped, except under CI=true where it fails.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labserver import (  # noqa: E402
    browser_page,
    lab_server,
    notebook_errors,
    open_notebook,
    require_browser,
    run_all_cells,
    screenshot_notebook,
)

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = "course/00_welcome.ipynb"
SCREENSHOT = REPO / "artifacts" / "browser" / "00_welcome.png"


def first_heading(nb_path: Path) -> str:
    """Text of the first `# ` heading of the first markdown cell, as rendered
    (without the simplest inline markdown: emphasis, code, links, html tags)."""
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = cell["source"]
        source = "".join(source) if isinstance(source, list) else source
        for line in source.splitlines():
            if line.startswith("# "):
                text = line[2:].strip().rstrip("#").strip()
                text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links/images
                text = re.sub(r"<[^>]+>", "", text)  # html tags
                text = re.sub(r"(\*\*|__|\*|`)", "", text)
                text = re.sub(r"(?<!\w)_(.+?)_(?!\w)", r"\1", text)
                return " ".join(text.split())
        break  # only the first markdown cell counts
    raise AssertionError(f"{nb_path}: the first markdown cell has no '# ' heading")


def check_notebook_in_lab(root: Path, relpath: str, tmp_path: Path, screenshot: Path) -> None:
    nb_path = root / relpath
    assert nb_path.is_file(), f"{nb_path} does not exist"
    heading = first_heading(nb_path)

    with lab_server(root, tmp_path) as server:
        status, info = server.api("status")
        assert status == 200 and isinstance(info, dict), (status, info)

        with browser_page(tmp_path) as page:
            open_notebook(page, server, relpath)

            title = page.locator(".jp-MarkdownCell .jp-RenderedMarkdown h1", has_text=heading)
            title.first.wait_for(state="visible", timeout=10_000)

            state = run_all_cells(page, relpath)
            try:
                errors = notebook_errors(state)
                assert not errors, f"{relpath} raised in the browser:\n" + "\n\n".join(errors)
                # Also what the learner would see: JupyterLab 4 renders error
                # outputs as application/vnd.jupyter.stderr, like stderr streams
                # (which may legitimately hold warnings), so look for tracebacks.
                shown = page.locator(
                    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]',
                    has_text="Traceback",
                )
                assert shown.count() == 0, shown.first.text_content()
                not_run = [
                    c["index"] for c in state["cells"]
                    if c["source"].strip() and c["count"] is None
                ]
                assert not not_run, f"code cells not executed: {not_run}"
                # The news toast is switched off by the server's user settings.
                toasts = page.locator(".Toastify__toast", has_text="Jupyter news")
                assert toasts.count() == 0, toasts.first.text_content()
            finally:
                screenshot_notebook(page, screenshot)


@pytest.mark.browser
def test_welcome_notebook_runs_in_jupyterlab(tmp_path):
    require_browser()
    start = time.monotonic()
    check_notebook_in_lab(REPO, NOTEBOOK, tmp_path, SCREENSHOT)
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 0
    print(f"{NOTEBOOK} ran in JupyterLab in {time.monotonic() - start:.1f} s; "
          f"screenshot: {SCREENSHOT.relative_to(REPO)}")
