"""One status line under a live widget: what just happened, or what went wrong.

Callbacks of ipywidgets run in the kernel where nobody sees a traceback unless
it is shown on purpose.  :class:`Status` shows every message (and every error a
guarded callback raises) in an ``ipywidgets.HTML`` line inside the widget.
"""
from __future__ import annotations

import functools
import html
import traceback

import ipywidgets as widgets

__all__ = ["Status"]

# colour-blind-safe: text on pale backgrounds, never red/green
_STYLES = {
    "info": "color:#222;",
    "ok": "color:#222;",
    "warn": "color:#000; background:#FBE3B5; border-left:6px solid #E69F00; padding:2px 8px;",
    "error": "color:#000; background:#F7D4BF; border-left:6px solid #D55E00; padding:2px 8px;",
}


class Status:
    """A one-line HTML status.

    ``widget``   the ipywidgets.HTML to put in a layout
    ``kind``     "info" | "ok" | "warn" | "error" of the last message
    ``text``     the last message as plain text
    ``errors``   every exception a guarded callback raised, oldest first
    """

    def __init__(self, text=""):
        self.widget = widgets.HTML()
        self.widget.add_class("bp-live-status")
        self.errors = []
        self.kind, self.text = "info", ""
        self.show(text)

    def show(self, text, kind="info", details=None):
        """Replace the line by ``text`` (plain text, escaped); ``details`` folds out."""
        self.kind, self.text = kind, str(text)
        body = html.escape(self.text)
        if details:
            body += (f"<details><summary>details</summary><pre style='font-size:80%;"
                     f"white-space:pre-wrap'>{html.escape(details)}</pre></details>")
        self.widget.value = f"<div class='bp-live-status-{kind}' style='{_STYLES[kind]}'>{body}</div>"

    def error(self, exc, where=""):
        """Show an exception as ``where: Type: message`` with the traceback folded."""
        self.errors.append(exc)
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        prefix = f"{where}: " if where else ""
        self.show(f"Error in {prefix}{type(exc).__name__}: {exc}", "error", details=tb)

    def guard(self, fn, where=None):
        """Wrap a callback so that an exception shows here instead of being lost."""
        label = where or getattr(fn, "__name__", "callback").strip("_")

        @functools.wraps(fn)
        def guarded(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - shown to the user, kept in .errors
                self.error(exc, label)
                return None
        return guarded
