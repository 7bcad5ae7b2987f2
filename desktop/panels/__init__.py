"""The window's dock panels. Each is a plain QWidget that knows nothing of the others;
the window wraps each in a QDockWidget and connects their signals."""

from __future__ import annotations

from desktop.panels.image import ImagePanel
from desktop.panels.library import LibraryPanel
from desktop.panels.problems import ProblemsPanel
from desktop.panels.run import RunPanel

__all__ = [
    "ImagePanel",
    "LibraryPanel",
    "ProblemsPanel",
    "RunPanel",
]
