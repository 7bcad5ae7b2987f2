"""Port items: the typed, colored sockets on a node's edges.

A port is an input socket (left edge), an output (right edge) or the socket of a linkable
param (left edge, next to the param's widget). Pressing a port starts the drag-to-connect
interaction, which lives in :mod:`desktop.canvas.links`; the port item is the mouse grabber
for the whole drag, so it forwards moves and the release there.

A port sees its node as a :class:`PortOwner` and the drag as a :class:`PortDrag`: both are
declared here, below the modules that implement them (the node item, the links), so that
this module imports neither.
"""

from __future__ import annotations

from enum import Enum
from typing import Protocol

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from desktop.canvas import style
from nodes.api import Node
from nodes.ports import PortType


class PortHighlight(Enum):
    NORMAL = 0
    COMPATIBLE = 1
    """A link being dragged may end here."""
    DIMMED = 2
    """A link being dragged may not end here."""


class PortDrag(Protocol):
    """The drag-to-connect interaction a pressed port hands the mouse to (``LinkDrag``)."""

    def start(self, port: PortItem, pos: QPointF) -> None: ...

    def move(self, pos: QPointF) -> None: ...

    def finish(self, pos: QPointF) -> None: ...


class PortOwner(QGraphicsItem):
    """A node as its ports and links see it; :class:`~desktop.canvas.node_item.NodeItem`
    is the one implementation (see the module docstring for why it is declared here)."""

    node_id: str
    cls: type[Node] | None
    """The node's type; None when it is not installed (links to it are refused)."""
    is_reroute: bool = False
    """A reroute dot draws its hidden ports' highlight itself."""

    def port_anchor(self, port: PortItem) -> QPointF:
        """Where ``port``'s links attach, in scene coordinates."""
        raise NotImplementedError

    def ports(self) -> list[PortItem]:
        """Every port of the node: inputs, param sockets, outputs."""
        raise NotImplementedError

    def port_drag(self) -> PortDrag | None:
        """The drag-to-connect interaction of the node's canvas."""
        raise NotImplementedError


class PortItem(QGraphicsItem):
    """One socket. Its position is the socket's center in the node's coordinates."""

    def __init__(
        self,
        node: PortOwner,
        name: str,
        port_type: PortType,
        *,
        is_output: bool,
        is_param: bool = False,
        label: str = "",
    ) -> None:
        super().__init__(node)
        self.node = node
        self.name = name
        self.port_type = port_type
        self.is_output = is_output
        self.is_param = is_param
        self.label = label or name
        self.linked = False
        self.highlight = PortHighlight.NORMAL
        self._hover = False
        self._color = style.port_color(port_type)
        self.setAcceptHoverEvents(True)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(2)
        kind = "output" if is_output else ("param socket" if is_param else "input")
        self.setToolTip(f"{self.label} — {port_type.value} {kind}")

    # ------------------------------------------------------------ geometry
    def boundingRect(self) -> QRectF:
        r = style.PORT_R + 4
        return QRectF(-r, -r, 2 * r, 2 * r)

    def scene_anchor(self) -> QPointF:
        """Where links attach, in scene coordinates (the node's edge when collapsed)."""
        return self.node.port_anchor(self)

    @property
    def node_id(self) -> str:
        return self.node.node_id

    # ------------------------------------------------------------ state
    def set_linked(self, linked: bool) -> None:
        if linked != self.linked:
            self.linked = linked
            self.update()

    def set_highlight(self, highlight: PortHighlight) -> None:
        if highlight is not self.highlight:
            self.highlight = highlight
            self.update()
            if self.node.is_reroute:
                self.node.update()  # the dot shows its hidden ports' highlight

    # ------------------------------------------------------------ paint
    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        color = QColor(self._color)
        radius = style.PORT_R - (1.5 if self.is_param else 0)
        if self.highlight is PortHighlight.DIMMED:
            color.setAlpha(60)
        elif self.highlight is PortHighlight.COMPATIBLE or self._hover:
            radius += 2
        if lod < style.LOD_DETAIL / 2:
            return  # too small to see or hit: the node's proxy drawing is enough
        if lod < style.LOD_DETAIL:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawEllipse(QPointF(0, 0), radius, radius)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.highlight is PortHighlight.COMPATIBLE:
            glow = QColor(color)
            glow.setAlpha(70)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(glow)
            painter.drawEllipse(QPointF(0, 0), radius + 3, radius + 3)
        painter.setPen(QPen(color.darker(160) if self.linked else color, 1.6))
        painter.setBrush(QBrush(color) if self.linked else QBrush(style.NODE_BODY))
        painter.drawEllipse(QPointF(0, 0), radius, radius)

    # ------------------------------------------------------------ interaction
    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover = False
        self.update()

    def _drag(self) -> PortDrag | None:
        return self.node.port_drag() if self.scene() is not None else None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        drag = self._drag()
        if drag is None or event.button() is not Qt.MouseButton.LeftButton:
            event.ignore()
            return
        event.accept()
        drag.start(self, event.scenePos())

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        drag = self._drag()
        if drag is not None:
            drag.move(event.scenePos())

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        drag = self._drag()
        if drag is not None:
            drag.finish(event.scenePos())
