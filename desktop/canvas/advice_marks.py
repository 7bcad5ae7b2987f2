"""Amber marks for advice on the canvas: one on the node's title bar, one by each field.

:class:`AdviceMarks` follows the run state's advice (validation's, kept on the document by
the live validator) and gives each node item one small :class:`AdviceMark` child per
field with advice (and one on the title for advice about the whole node or a field not
shown, e.g. on a collapsed node). A mark's tooltip says the message and the why. Marks
take no mouse buttons, so a click on one reaches the node beneath; they are placed again
whenever the scene reports a change of geometry (a relayout, a collapse).

Advice never blocks a run: the marks are amber and small, next to the red outlines that
problems get, never instead of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QObject, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from desktop.canvas import style
from desktop.canvas.node_item import NodeItem
from desktop.run_state import RunState
from nodes.advice import Advice

__all__ = ["AMBER", "AdviceMark", "AdviceMarks"]

AMBER = QColor("#f0a030")
MARK_D = 12.0
"""The mark's diameter, in scene units at zoom 1."""


class AdviceMark(QGraphicsItem):
    """A small amber disc with "!" on a node: the advice of one field (None: the node)."""

    def __init__(self, node: NodeItem, field: str | None, advice: list[Advice]) -> None:
        super().__init__(node)
        self.field = field
        self.advice = advice
        self.setZValue(50)  # above the node's inline editors
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(True)
        lines = []
        for item in advice:
            where = f"{item.field}: " if item.field and field is None else ""
            lines.append(f"Advice: {where}{item.message}" + (f"\n{item.why}" if item.why else ""))
        self.setToolTip("\n\n".join(lines) + "\n\nSee the Problems panel to apply or hide it.")

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, MARK_D, MARK_D)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(0, 0, 0, 110), 1))
        painter.setBrush(QBrush(AMBER))
        painter.drawEllipse(self.boundingRect().adjusted(0.5, 0.5, -0.5, -0.5))
        font = QFont(style.ui_font(7, bold=True))
        painter.setFont(font)
        painter.setPen(QColor("#2a1c05"))
        painter.drawText(self.boundingRect(), Qt.AlignmentFlag.AlignCenter, "!")


class AdviceMarks(QObject):
    """Keeps the advice marks of every node item in ``nodes`` in step with ``run_state``."""

    def __init__(
        self, nodes: Mapping[str, object], run_state: RunState, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.nodes = nodes
        self.run_state = run_state
        self.marks: dict[str, list[AdviceMark]] = {}
        run_state.problemsChanged.connect(self.refresh)
        self.refresh()

    def marks_on(self, node_id: str) -> list[AdviceMark]:
        return list(self.marks.get(node_id, []))

    def refresh(self) -> None:
        """Rebuild the marks from the run state's advice."""
        by_node: dict[str, dict[str | None, list[Advice]]] = {}
        for advice in self.run_state.advice:
            if advice.node_id is not None and isinstance(self.nodes.get(advice.node_id), NodeItem):
                by_node.setdefault(advice.node_id, {}).setdefault(advice.field, []).append(advice)
        for marks in self.marks.values():
            for mark in marks:
                try:
                    scene = mark.scene()
                    if scene is not None:
                        scene.removeItem(mark)  # and from its node
                except RuntimeError:  # its node was deleted, and the mark with it
                    pass
        self.marks = {}
        for node_id, fields in by_node.items():
            node = self.nodes[node_id]
            assert isinstance(node, NodeItem)
            self.marks[node_id] = [AdviceMark(node, f, items) for f, items in fields.items()]
        self.place()

    def place(self) -> None:
        """Put each mark by its field's row, or on the title bar (also after a relayout)."""
        for node_id, marks in self.marks.items():
            node = self.nodes.get(node_id)
            if not isinstance(node, NodeItem):
                continue
            rows = {param.name: rect for param, _top, rect in node.rows}
            for mark in marks:
                rect = rows.get(mark.field) if mark.field is not None else None
                if rect is None or node.collapsed:
                    mark.setPos(node.width - MARK_D - 6, (style.TITLE_H - MARK_D) / 2)
                else:  # on the field's top-right corner, like a badge
                    mark.setPos(rect.right() - MARK_D / 2, rect.top() - MARK_D / 2 + 1)
