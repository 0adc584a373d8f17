"""Live widgets for teaching backpropagation in Jupyter (ipywidgets + ipympl).

    from bpcore import live
    play = live.Playground()            # knobs that retrain; boundary, error curve, network
    live.DeltaDiagram(play)             # one example's a, o, delta and dE/dw on the network
    live.Explorer()                     # the XOR worked example, one equation per click
    live.presenter_mode(True)           # big fonts and lines for projecting

Use ``%matplotlib widget`` first for in-place redraws; without it the widgets fall
back to PNG images (``backend="agg"``), which tests and benchmarks use too.

Modules, one idea each: ``figures`` (figures built once, redrawn in place),
``status`` (messages and callback errors shown in the widget), ``fastfit``
(full-batch training with bpcore's arithmetic), ``diagram`` (the network drawing
and the delta diagram), ``playground``, ``explorer``, ``presenter``.
"""
from .diagram import DeltaDiagram, NetworkArtist, example_values
from .explorer import Explorer
from .fastfit import fit_full_batch
from .figures import FigureHost
from .playground import Playground
from .presenter import presenter_mode, presenter_toggle
from .status import Status

__all__ = ["Playground", "DeltaDiagram", "Explorer", "NetworkArtist", "FigureHost", "Status",
           "example_values", "fit_full_batch", "presenter_mode", "presenter_toggle"]
