"""Keeping the view's items current: building the widgets of nodes that come into view, a
few milliseconds at a time, and restyling them when the app's theme changes.

Both are the view's chores rather than its behaviour, so they live here and
:class:`~desktop.canvas.view.CanvasView` only says when (scrolls, zooms, content and
palette changes).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QRectF, QTimer

from desktop.canvas import style
from desktop.canvas.scene import CanvasScene

REALIZE_BUDGET_S = 0.008
"""Most time one event-loop turn spends building widgets of nodes that came into view."""


class WidgetRealizer:
    """Builds the param widgets of the nodes in view (see :meth:`NodeItem.ensure_widgets`).

    ``visible`` says which part of the scene is shown, or None when no widgets are to be
    built (zoomed out below :data:`style.LOD_DETAIL`, or the view hidden).
    """

    def __init__(
        self, parent: QObject, scene: CanvasScene, visible: Callable[[], QRectF | None]
    ) -> None:
        self.scene = scene
        self.visible = visible
        self._timer = QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.realize)

    def schedule(self) -> None:
        """Build what came into view at the next turn of the event loop."""
        if not self._timer.isActive():
            self._timer.start()

    def realize(self) -> None:
        """Build the widgets of nodes in view, for at most :data:`REALIZE_BUDGET_S`, then go
        on after other events, so zooming into a big graph never stalls the event loop."""
        visible = self.visible()
        if visible is None:
            return
        deadline = time.perf_counter() + REALIZE_BUDGET_S
        for item in list(self.scene.nodes.values()):
            if (
                item.needs_widgets
                and not item.collapsed
                and visible.intersects(item.sceneBoundingRect())
            ):
                item.ensure_widgets()
                if time.perf_counter() > deadline:
                    self._timer.start()
                    return


def restyle(scene: CanvasScene) -> None:
    """Give the scene's node widgets the canvas theme now in use (:func:`style.use_theme`)
    and repaint its items."""
    scene.setPalette(style.widget_palette())
    for item in scene.nodes.values():
        if item.param_panel is not None:
            item.param_panel.restyle()
        item.update()
    scene.update()
