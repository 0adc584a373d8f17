"""Figures that are built once and then only redrawn in place.

A live widget owns a :class:`FigureHost`: one matplotlib figure and the widget
that shows it.  Updating means changing artists' data and calling
:meth:`FigureHost.redraw`, never building a new figure.

Two backends, chosen by ``backend=``:

* ``"ipympl"`` (after ``%matplotlib widget``): the figure's canvas *is* the
  widget (made without pyplot, so ``plt.show()`` and pyplot's automatic redraws
  never touch it).  A redraw with a valid cached background blits and sends the
  new frame at once; otherwise it calls ``draw_idle`` and the browser asks the
  kernel for a full render.
* ``"agg"``: a plain :class:`~matplotlib.figure.Figure` on an Agg canvas;
  ``redraw`` renders at once and puts the PNG into an ``ipywidgets.Image``.
  Tests use it (no browser needed); notebooks fall back to it when the widget
  backend is not active.

Blitting: the owner names the artists that change (``dynamic=``); axes, ticks and
labels are rendered once into a background that each redraw restores, so a redraw
costs the changing artists only (text is slow to render: keep static text static).

``"auto"`` picks ``"ipympl"`` when it is matplotlib's current backend.

:func:`replace` keeps one live object per key, closing the previous one, so
re-running a notebook cell does not pile up figures or training loops.
"""
from __future__ import annotations

import io
import itertools
import time
import weakref

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["FigureHost", "resolve_backend", "replace", "forget", "live_objects", "png_bytes",
           "close_tree"]


def resolve_backend(backend="auto"):
    """"auto" -> "ipympl" if ``%matplotlib widget`` is active, else "agg"."""
    if backend not in ("auto", "ipympl", "agg"):
        raise ValueError(f"backend must be 'auto', 'ipympl' or 'agg', got {backend!r}")
    if backend != "auto":
        return backend
    name = matplotlib.get_backend().lower()
    return "ipympl" if ("ipympl" in name or name == "widget") else "agg"


#: zlib level for the PNGs sent to the browser: 1 encodes about twice as fast as the
#: default 6, for files ~20% larger (nothing, between a kernel and a local browser)
PNG_LEVEL = 1


def _encode_png(rgba):
    from PIL import Image
    with io.BytesIO() as buf:
        Image.fromarray(rgba).save(buf, format="png", compress_level=PNG_LEVEL)
        return buf.getvalue()


def png_bytes(canvas):
    """PNG of what an Agg canvas last rendered."""
    return _encode_png(np.asarray(canvas.get_renderer().buffer_rgba()))


def _full_fast_frames(canvas):
    """Make an ipympl canvas send every frame whole, PNG-encoded with :data:`PNG_LEVEL`.

    ipympl normally sends only the pixels that changed since the previous frame.
    That is safe when the browser asks for each frame, but blitted frames are pushed
    to it unasked, and a browser that is still decoding one frame when the next
    arrives skips the first: a skipped difference would leave stale pixels for
    good.  A whole frame never depends on the one before.  (This replaces
    matplotlib's ``FigureCanvasWebAggCore.get_diff_image``; should its internals
    differ, the original method is put back and used.)"""
    original = canvas.get_diff_image

    def get_diff_image():
        try:
            if not canvas._png_is_old:
                return None
            pixels = np.asarray(canvas.get_renderer().buffer_rgba())
            canvas.set_image_mode("full")
            canvas._last_buff = pixels.view(np.uint32).squeeze(2).copy()
            canvas._force_full = False
            canvas._png_is_old = False
            return _encode_png(pixels)
        except AttributeError:
            canvas.get_diff_image = original
            return original()

    canvas.get_diff_image = get_diff_image


class FigureHost:
    """One figure and the widget that shows it.

    figsize : (width, height) in inches; dpi : dots per inch (default rcParams).
    dynamic : optional callable returning the artists that change between redraws,
              in drawing order.  Everything else (axes, ticks, labels) is rendered
              once into a cached background; a redraw then only restores that
              background and draws these artists (blitting).  The background is
              re-rendered when the figure size, dpi, an axes' limits or position
              change, or after :meth:`invalidate`.
    ``fig``     the matplotlib Figure (add axes to it once)
    ``widget``  put this in an ipywidgets layout
    ``draws``, ``full_draws``, ``fast_draws``: counters (tests and benchmarks read them)
    """

    def __init__(self, figsize, backend="auto", dpi=None, dynamic=None):
        self.backend = resolve_backend(backend)
        self.dynamic = dynamic
        self.draws = self.full_draws = self.fast_draws = 0
        self.timing = {}  # ms of the last blitted redraw: "draw" (artists), "png" (encode, send)
        self._bg, self._sig, self._stale = None, None, True
        if self.backend == "ipympl":
            # An ipympl canvas without pyplot: pyplot's figure registry would redraw every
            # stale figure in full after each kernel message (its post_execute hook),
            # which fights the blitting below and loops with the browser's draw requests.
            from ipympl.backend_nbagg import Canvas, FigureManager
            self.fig = Figure(figsize=figsize, dpi=dpi)
            canvas = Canvas(self.fig)
            FigureManager(canvas, next(_NUMBERS))  # sets canvas.manager; ipympl needs it
            _full_fast_frames(canvas)
            canvas.header_visible = False
            canvas.footer_visible = False
            canvas.toolbar_visible = False
            canvas.resizable = False
            canvas.capture_scroll = False
            canvas.add_class("bp-live-canvas")
            self.widget = canvas
        else:
            import ipywidgets as widgets
            self.fig = Figure(figsize=figsize, dpi=dpi)
            FigureCanvasAgg(self.fig)
            self.widget = widgets.Image(format="png")
            self.widget.add_class("bp-live-canvas")
        # after every full render (ours, or one the browser asks ipympl for):
        # keep the background and draw the dynamic artists on top
        self.fig.canvas.mpl_connect("draw_event", self._on_full_draw)

    def _artists(self):
        artists = list(self.dynamic()) if self.dynamic is not None else []
        for a in artists:
            if not a.get_animated():
                a.set_animated(True)  # skipped by full renders, drawn by us
        return artists

    def _signature(self):
        fig = self.fig
        return (tuple(fig.get_size_inches()), fig.dpi,
                tuple((ax.get_xlim(), ax.get_ylim(), tuple(ax.get_position().bounds))
                      for ax in fig.axes))

    def invalidate(self):
        """Something static changed (a label, a font): the next redraw renders everything."""
        self._stale = True

    def _on_full_draw(self, event):
        canvas = self.fig.canvas
        if self.dynamic is None or getattr(canvas, "is_saving", lambda: False)():
            self._bg = None  # savefig renders at its own dpi: take no background from it
            return
        self._bg = canvas.copy_from_bbox(self.fig.bbox)
        self._sig = self._signature()
        for a in self._artists():
            self.fig.draw_artist(a)
        self.full_draws += 1

    def redraw(self):
        """Show the artists' current data.

        Fast path (dynamic artists, background still valid): restore the background,
        draw the dynamic artists, send the picture (ipympl: blit; agg: PNG).
        Otherwise a full render (ipympl: draw_idle, the browser asks for it)."""
        self.draws += 1
        canvas = self.fig.canvas
        artists = self._artists()
        fast = (self.dynamic is not None and self._bg is not None and not self._stale
                and self._sig == self._signature())
        if fast:
            t0 = time.perf_counter()
            canvas.restore_region(self._bg)
            for a in artists:
                self.fig.draw_artist(a)
            t1 = time.perf_counter()
            self.fast_draws += 1
            if self.backend == "ipympl":
                canvas.blit(self.fig.bbox)  # ipympl: PNG of the changed pixels, sent
            else:
                self.widget.value = png_bytes(canvas)
            self.timing = {"draw": 1e3 * (t1 - t0), "png": 1e3 * (time.perf_counter() - t1)}
            return
        self._stale, self._bg = False, None
        if self.backend == "ipympl":
            canvas.draw_idle()
        else:
            canvas.draw()  # fires draw_event: background + dynamic artists
            if self.dynamic is None:
                self.full_draws += 1
            self.widget.value = png_bytes(canvas)

    def png(self):
        """A PNG snapshot of the figure as it is now (for static notebook viewers)."""
        with io.BytesIO() as buf:
            self.fig.savefig(buf, format="png", dpi=self.fig.dpi)
            self._bg = None  # saving re-rendered the canvas
            return buf.getvalue()

    def set_size(self, figsize):
        """Resize (presenter mode); the next redraw shows the new size."""
        self.fig.set_size_inches(*figsize, forward=(self.backend == "ipympl"))
        self.invalidate()

    def close(self):
        """Free the figure (and, with ipympl, its widget in the browser)."""
        self.widget.close()  # ipympl: the canvas widget itself, gone from the page


# ---------------------------------------------------------------- one live object per key
_NUMBERS = itertools.count(1001)  # figure numbers for ipympl (never shown)
_LIVE = {}  # key -> weakref to an object with .close()


def replace(key, obj):
    """Register ``obj`` under ``key``; close the object that held the key before."""
    old_ref = _LIVE.pop(key, None)
    old = old_ref() if old_ref is not None else None
    if old is not None and old is not obj:
        try:
            old.close()
        except Exception:  # noqa: BLE001 - closing a stale widget must never break a re-run
            pass
    _LIVE[key] = weakref.ref(obj)


def forget(obj):
    """Drop ``obj`` from the registry (it was closed)."""
    for key, ref in list(_LIVE.items()):
        if ref() is obj or ref() is None:
            del _LIVE[key]


def live_objects():
    """The live objects still alive, by key (presenter mode restyles them)."""
    return {k: r() for k, r in list(_LIVE.items()) if r() is not None}


def close_tree(widget, keep=()):
    """Close an ipywidgets layout and every widget inside it (frees their comms),
    except the widgets in ``keep`` (shared ones, such as the presenter CSS)."""
    if widget in keep or getattr(widget, "comm", None) is None:
        return  # shared, or closed already
    for child in getattr(widget, "children", ()):
        close_tree(child, keep)
    widget.close()
