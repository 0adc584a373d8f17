"""Presenter mode: one call makes the live widgets readable on a projector.

``presenter_mode(True)`` scales matplotlib's course style by 1.6 (fonts, lines,
figure sizes), restyles every live widget already on screen, and enlarges the
widget controls through a CSS rule held by one shared ``ipywidgets.HTML``
(every live widget's layout contains it, so the rule is in the page wherever a
widget is shown).  ``presenter_mode(False)`` undoes it.

``make present`` starts Voilà with ``BPCORE_PRESENT=1``; :func:`presenter_toggle`
reads that variable, so the app opens in presenter mode.
"""
from __future__ import annotations

import os

import ipywidgets as widgets

from ..plotting import use_course_style
from .figures import live_objects

__all__ = ["presenter_mode", "presenter_toggle", "scale", "font_size", "style_widget",
           "PRESENTER_SCALE"]

#: How much bigger everything gets in presenter mode.
PRESENTER_SCALE = 1.6

_state = {"scale": 1.0, "style": None}

# Applied to every widget container of bpcore.live (they carry the class bp-live).
_CSS = """
<style>
.bp-live {{ --jp-widgets-font-size: {font}px; --jp-widgets-inline-height: {height}px;
           --jp-widgets-inline-label-width: {label}px; font-size: {font}px; }}
.bp-live .widget-label, .bp-live .widget-readout, .bp-live .widget-button,
.bp-live .widget-toggle-button, .bp-live select, .bp-live .widget-html-content,
.bp-live .widget-htmlmath-content, .bp-live .bp-live-status {{ font-size: {font}px !important; }}
.bp-live .widget-readout {{ min-width: {readout}px; }}
.bp-live .widget-button, .bp-live .widget-toggle-button {{ height: {height}px; width: auto;
  padding: 0 {pad}px; }}
.bp-live .noUi-handle {{ transform: scale({knob}); }}
.bp-live .MathJax, .bp-live mjx-container {{ font-size: {math}% !important; }}
</style>
"""


def scale():
    """1.0 normally, :data:`PRESENTER_SCALE` in presenter mode."""
    return _state["scale"]


def font_size(base=14.0):
    """A font size in points for the current mode (``base`` at scale 1)."""
    return base * _state["scale"]


def style_widget():
    """The shared HTML widget holding the presenter CSS (empty when off)."""
    if _state["style"] is None:
        _state["style"] = widgets.HTML(_css(_state["scale"]),
                                       layout=widgets.Layout(height="0px", margin="0px"))
    return _state["style"]


def _css(s):
    if s == 1.0:
        return ""
    return _CSS.format(font=round(13 * s), height=round(28 * s), label=round(80 * s),
                       readout=round(60 * s), pad=round(10 * s), knob=round(1.0 + 0.5 * (s - 1.0), 2),
                       math=round(100 * s))


def presenter_mode(on=True):
    """Switch presenter mode on or off for every live widget at once; returns the scale."""
    s = PRESENTER_SCALE if on else 1.0
    _state["scale"] = s
    use_course_style(scale=s)
    style_widget().value = _css(s)
    for obj in live_objects().values():
        try:
            obj.restyle()
        except Exception as exc:  # noqa: BLE001 - shown in that widget, the others go on
            status = getattr(obj, "status", None)
            if status is None:
                raise
            status.error(exc, "presenter mode")
    return s


def presenter_toggle(value=None):
    """A ToggleButton that switches presenter mode.

    ``value=None`` starts from the environment: on when ``BPCORE_PRESENT=1``
    (``make present`` sets it)."""
    if value is None:
        value = os.environ.get("BPCORE_PRESENT", "") == "1"
    button = widgets.ToggleButton(value=bool(value), description="presenter mode",
                                  icon="television", tooltip="large fonts and lines for projecting",
                                  layout=widgets.Layout(width="auto"))
    button.observe(lambda change: presenter_mode(change["new"]), names="value")
    presenter_mode(bool(value))
    box = widgets.HBox([button, style_widget()])
    box.add_class("bp-live")
    return box
