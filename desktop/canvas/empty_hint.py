"""What an empty canvas says: how to add the first node, or bring a workflow in.

:class:`EmptyHint` is a child widget of the canvas view (as the minimap is), laid over the
viewport and shown only while the graph holds no node and no group. It paints a few
centred lines in the canvas's dim text colour and is transparent to the mouse, so a
double-click, a drag from the Nodes panel or a dropped file reach the canvas beneath it.
Being a child of the view rather than of the viewport, it never scrolls with the scene.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QGraphicsView, QWidget

from desktop.canvas import style
from nodes.graph import Graph

TITLE = "An empty canvas"
LINES = (
    "Double-click or press Tab to add a node",
    "Drag a node from the Nodes panel",
    "Drop an image or a workflow file (Daguerre or ComfyUI) to open it",
)
"""The hint, one way in per line."""


class EmptyHint(QWidget):
    """The hint over ``view``'s viewport, shown while ``graph`` is empty."""

    def __init__(self, view: QGraphicsView, graph: Graph) -> None:
        super().__init__(view)
        self.setObjectName("emptyCanvasHint")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view = view
        self.graph = graph
        signals = (graph.node_added, graph.node_removed, graph.group_added, graph.group_removed)
        callback = self._graph_changed
        for signal in signals:
            signal.sub(callback)

        def detach() -> None:  # the graph may outlive the view
            for signal in signals:
                signal.unsub(callback)

        self.destroyed.connect(detach)
        view.installEventFilter(self)
        self._follow()

    def text(self) -> str:
        """Everything the hint says, one line each."""
        return "\n".join((TITLE, *LINES))

    def empty(self) -> bool:
        return len(self.graph) == 0 and not self.graph.groups

    # ------------------------------------------------------------ internals
    def _graph_changed(self, *_: Any) -> None:
        self._follow()

    def _follow(self) -> None:
        """Cover the viewport; show while the graph is empty."""
        self.setGeometry(self.view.viewport().geometry())
        self.setVisible(self.empty())
        if self.isVisible():
            self.raise_()  # over the viewport (the popup and minimap raise themselves)
            self.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self._follow()
        return super().eventFilter(watched, event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        title_font = QFont(self.font())
        title_font.setPointSizeF(max(title_font.pointSizeF(), 9.0) * 1.35)
        title_font.setBold(True)
        body_font = QFont(self.font())
        body_font.setPointSizeF(max(body_font.pointSizeF(), 9.0) * 1.1)
        title_height = QFontMetrics(title_font).height() * 2
        line_height = int(QFontMetrics(body_font).height() * 1.6)
        total = title_height + line_height * len(LINES)
        top = max(0, (self.height() - total) // 2)
        width = self.width()
        painter.setPen(style.TEXT_DIM)
        painter.setFont(title_font)
        align = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(QRect(0, top, width, title_height), align, TITLE)
        painter.setFont(body_font)
        for index, line in enumerate(LINES):
            row = QRect(0, top + title_height + index * line_height, width, line_height)
            painter.drawText(row, align, line)
        painter.end()
