"""The reroute dot: a ``utility.reroute`` node drawn as a small dot on its link.

It is a node like any other in the graph (one ANY input, one ANY output, no params), so
it runs, saves and undoes as one; on the canvas it is only a dot, colored by the type
flowing in. Its two ports sit hidden at its center, so links enter and leave the dot, and a
link dropped on the dot connects to it. It has no title bar to collapse or rename and no
corner to resize; a double-click on a link puts one there
(:meth:`CanvasScene.insert_reroute`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from desktop.canvas import style
from desktop.canvas.node_item import NodeItem
from desktop.canvas.ports import PortHighlight, PortItem
from nodes.ports import PortType

REROUTE_TYPE = "utility.reroute"


class RerouteItem(NodeItem):
    """A reroute node, drawn as a dot (see the module docstring)."""

    is_reroute = True

    # ================================================================ geometry
    def default_width(self) -> float:
        return style.REROUTE_D

    def _width_for(self, size: tuple[float, float] | None) -> float:
        return style.REROUTE_D  # a dot keeps its size whatever the file says

    def set_attr(self, attr: str, value: Any) -> None:
        if attr != "size":
            super().set_attr(attr, value)

    def port_anchor(self, port: PortItem) -> QPointF:
        return port.scenePos()  # the dot's center, collapsed or not

    def relayout(self) -> None:
        self.prepareGeometryChange()
        d = style.REROUTE_D
        self.width = self.height = d
        for port in self.ports():
            port.setPos(d / 2, d / 2)
            port.setVisible(False)  # the dot takes the mouse: drag moves, drop connects
        self.canvas.node_geometry_changed(self)
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, style.REROUTE_D, style.REROUTE_D)

    def flow_type(self) -> PortType | None:
        """The type of the link flowing in (None when nothing is linked)."""
        return self.canvas.link_type_into(self.node_id, "value")

    # ================================================================ paint
    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        kind = self.flow_type()
        color = style.REROUTE_IDLE if kind is None else style.port_color(kind)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(0, 0, self.width, self.height).adjusted(1.5, 1.5, -1.5, -1.5)
        if self.isSelected():
            pen = QPen(style.NODE_SELECTED, 2.0)
        elif self.problems or any(p.highlight is PortHighlight.COMPATIBLE for p in self.ports()):
            pen = QPen(style.ERROR if self.problems else style.ACCENT, 2.0)
        else:
            pen = QPen(color.darker(170), 1.2)
        painter.setPen(pen)
        painter.setBrush(color)
        painter.drawEllipse(rect)

    # ================================================================ mouse
    def _in_grip(self, pos: QPointF) -> bool:
        return False

    def _on_chevron(self, pos: QPointF) -> bool:
        return False

    def _on_title_bar(self, pos: QPointF) -> bool:
        return False
