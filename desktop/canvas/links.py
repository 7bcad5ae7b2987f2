"""Link items (bezier curves colored by type) and the drag-to-connect interaction.

Dragging starts on a port (see :class:`desktop.canvas.ports.PortItem`):

- from an output, or from a free input, a temporary curve follows the mouse; compatible
  ports light up, the others dim. Releasing on a compatible port (or on a node, which picks
  its first compatible port) connects through :meth:`Document.connect`; an occupied input's
  old link is replaced by the engine. Releasing on empty canvas asks for the node search,
  filtered to types that have a compatible port, and connects the new node.
- from an input that already has a link, the link's end is picked up: releasing it on
  another input moves the link, on empty canvas deletes it.

Nothing here edits the graph directly: every change is a Document call (one undo step).
The drag sees its scene as a :class:`LinkDragHost`, so this module does not import the
scene (which imports it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from desktop.canvas import style
from desktop.canvas.ports import PortHighlight, PortItem, PortOwner
from desktop.document import Document
from nodes.api import Node
from nodes.graph import GraphError, Link
from nodes.ports import PortType, can_connect


def link_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A horizontal S-curve from an output (``start``) to an input (``end``)."""
    dx = max(abs(end.x() - start.x()) * 0.5, 40.0)
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + dx, start.y()), QPointF(end.x() - dx, end.y()), end)
    return path


LINK_HIT_PX = 14.0
"""How wide a link is to the mouse, in screen pixels (an Alt+click that misses by a few
pixels still removes it), whatever the zoom..."""
LINK_HIT_MAX = 40.0
"""...but never wider than this in scene units (its bounding box covers that much)."""


class LinkItem(QGraphicsPathItem):
    """One link of the graph. Selectable (Del removes it); Alt-click removes it at once."""

    def __init__(self, link: Link, port_type: PortType, document: Document) -> None:
        super().__init__()
        self.link = link
        self.document = document
        self.port_type = port_type
        self._hover = False
        self._shape: QPainterPath | None = None
        self._shape_width = 0.0
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(-1)
        self.setToolTip(f"{link.source}.{link.output} → {link.target}.{link.input}")

    @property
    def key(self) -> tuple[str, str]:
        return (self.link.target, self.link.input)

    def update_path(self, start: QPointF, end: QPointF) -> None:
        self._shape = None
        self.setPath(link_path(start, end))

    def hit_width(self) -> float:
        """The width of the link's hit area in scene units: :data:`LINK_HIT_PX` on screen
        at the view's zoom, at least 10 and at most :data:`LINK_HIT_MAX`."""
        scene = self.scene()
        views = scene.views() if scene is not None else []
        zoom = views[0].transform().m11() if views else 1.0
        return max(10.0, min(LINK_HIT_MAX, LINK_HIT_PX / max(zoom, 1e-3)))

    def shape(self) -> QPainterPath:
        width = self.hit_width()
        if self._shape is None or width != self._shape_width:
            stroker = QPainterPathStroker()
            stroker.setWidth(width)
            self._shape, self._shape_width = stroker.createStroke(self.path()), width
        return self._shape

    def boundingRect(self) -> QRectF:
        half = LINK_HIT_MAX / 2  # the widest hit area: the box never changes with the zoom
        return self.path().boundingRect().adjusted(-half, -half, half, half)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        color = QColor(style.port_color(self.port_type))
        width = 2.2
        if self.isSelected():
            color = color.lighter(135)
            width = 4.0
        elif self._hover:
            color = color.lighter(120)
            width = 3.0
        if lod >= style.LOD_DETAIL:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.isSelected():
            halo = QColor(255, 255, 255, 50)
            painter.setPen(QPen(halo, width + 4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            painter.drawPath(self.path())
        painter.setPen(QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover = False
        self.update()

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if (
            event.button() is Qt.MouseButton.LeftButton
            and event.modifiers() & Qt.KeyboardModifier.AltModifier
            and self.scene() is not None
        ):
            event.accept()
            self.document.disconnect_links([self.link])
            return
        super().mousePressEvent(event)


@dataclass(frozen=True, slots=True)
class PendingLink:
    """The loose end of a link dropped on empty canvas, waiting for a new node."""

    node_id: str
    port: str
    is_output: bool
    """True when the loose end starts at an output (the new node gets the input side)."""
    port_type: PortType


def compatible_port(cls: type[Node], pending: PendingLink) -> str | None:
    """The port of a node type ``cls`` that ``pending`` should connect to, or None.

    Prefers input sockets over param sockets and exact type matches over wildcards.
    """
    if pending.is_output:
        candidates: list[tuple[str, PortType]] = [(i.name, i.type) for i in cls.inputs]
        candidates += [(p.name, p.type) for p in cls.params if p.linkable]
        fits = [(n, t) for n, t in candidates if can_connect(pending.port_type, t)]
    else:
        fits = [(o.name, o.type) for o in cls.outputs if can_connect(o.type, pending.port_type)]
    if not fits:
        return None
    exact = [n for n, t in fits if t is pending.port_type]
    return exact[0] if exact else fits[0][0]


class LinkDragHost(Protocol):
    """What the drag needs of its scene (``CanvasScene`` is it)."""

    @property
    def document(self) -> Document: ...

    @property
    def links(self) -> Mapping[tuple[str, str], LinkItem]:
        """The link items by (target node, input)."""
        ...

    def port_item(self, node_id: str, name: str, output: bool) -> PortItem | None: ...

    def port_items(self) -> list[PortItem]: ...

    def node_at(self, pos: QPointF) -> PortOwner | None: ...

    def request_search(self, pos: QPointF, pending: PendingLink) -> None:
        """A link was dropped on empty canvas: offer the node search for its loose end."""
        ...

    def show_message(self, text: str, pos: QPointF) -> None: ...

    def addItem(self, item: QGraphicsItem, /) -> None: ...

    def removeItem(self, item: QGraphicsItem, /) -> None: ...

    def items(self, rect: QRectF, /) -> list[QGraphicsItem]: ...


class LinkDrag:
    """The drag-to-connect interaction of one scene (at most one drag at a time)."""

    SNAP = 14.0
    """How close (scene units) the mouse must come to a port to drop on it."""

    def __init__(self, scene: LinkDragHost) -> None:
        self.scene = scene
        self.origin: PortItem | None = None
        self.detached: Link | None = None
        self._temp: QGraphicsPathItem | None = None
        self._hovered: PortItem | None = None

    @property
    def active(self) -> bool:
        return self.origin is not None

    # ------------------------------------------------------------ rules
    def accepts(self, port: PortItem) -> bool:
        """Whether the dragged end may be dropped on ``port``."""
        origin = self.origin
        if origin is None or port.node is origin.node or port.is_output == origin.is_output:
            return False
        if port.node.cls is None:  # unknown type: the engine refuses links to it
            return False
        if origin.is_output:
            return can_connect(origin.port_type, port.port_type)
        return can_connect(port.port_type, origin.port_type)

    # ------------------------------------------------------------ drag
    def start(self, port: PortItem, pos: QPointF) -> None:
        self.cancel()
        graph = self.scene.document.graph
        origin = port
        if not port.is_output:
            existing = graph.link_into(port.node_id, port.name)
            if existing is not None:
                source = self.scene.port_item(existing.source, existing.output, output=True)
                if source is not None:
                    self.detached = existing
                    origin = source
                    item = self.scene.links.get((existing.target, existing.input))
                    if item is not None:
                        item.hide()
        self.origin = origin
        temp = QGraphicsPathItem()
        color = QColor(style.port_color(origin.port_type))
        temp.setPen(QPen(color, 2.4, Qt.PenStyle.DashLine, Qt.PenCapStyle.RoundCap))
        temp.setZValue(1000)
        self.scene.addItem(temp)
        self._temp = temp
        for item in self.scene.port_items():
            if item is origin:
                continue
            item.set_highlight(
                PortHighlight.COMPATIBLE if self.accepts(item) else PortHighlight.DIMMED
            )
        self.move(pos)

    def move(self, pos: QPointF) -> None:
        if self.origin is None or self._temp is None:
            return
        target = self._port_near(pos)
        end = target.scene_anchor() if target is not None else pos
        start = self.origin.scene_anchor()
        if self.origin.is_output:
            self._temp.setPath(link_path(start, end))
        else:
            self._temp.setPath(link_path(end, start))
        self._hovered = target

    def finish(self, pos: QPointF) -> None:
        origin, detached = self.origin, self.detached
        if origin is None:
            return
        target = self._port_near(pos) or self._port_on_node_at(pos)
        self._clear()
        document = self.scene.document
        if target is None:
            if detached is not None:
                document.disconnect_links([detached])
            elif self.scene.node_at(pos) is None:
                self.scene.request_search(
                    pos,
                    PendingLink(origin.node_id, origin.name, origin.is_output, origin.port_type),
                )
            return
        source, dest = (origin, target) if origin.is_output else (target, origin)
        if detached is not None and (dest.node_id, dest.name) == (detached.target, detached.input):
            self._restore(detached)
            return
        ends = (source.node_id, source.name, dest.node_id, dest.name)
        try:
            if detached is None:
                document.connect_ports(*ends)
                return
            # Moving a link is one undo step: check the new link first so that a refusal
            # leaves no half-done macro behind.
            document.graph.check_link(*ends, without=detached)
            document.undo_stack.beginMacro("Move link")
            try:
                document.connect_ports(*ends)
                document.disconnect_links([detached])
            finally:
                document.undo_stack.endMacro()
        except GraphError as exc:
            if detached is not None:
                self._restore(detached)
            self.scene.show_message(exc.message, pos)

    def cancel(self) -> None:
        detached = self.detached
        self._clear()
        if detached is not None:
            self._restore(detached)

    # ------------------------------------------------------------ helpers
    def _restore(self, link: Link) -> None:
        item = self.scene.links.get((link.target, link.input))
        if item is not None:
            item.show()

    def _clear(self) -> None:
        if self._temp is not None:
            self.scene.removeItem(self._temp)
            self._temp = None
        for item in self.scene.port_items():
            item.set_highlight(PortHighlight.NORMAL)
        self.origin = None
        self.detached = None
        self._hovered = None

    def _port_near(self, pos: QPointF) -> PortItem | None:
        area = QRectF(pos.x() - self.SNAP, pos.y() - self.SNAP, 2 * self.SNAP, 2 * self.SNAP)
        best: PortItem | None = None
        best_d = float("inf")
        for item in self.scene.items(area):
            if isinstance(item, PortItem) and item.isVisible() and self.accepts(item):
                anchor = item.scene_anchor()
                d = (anchor.x() - pos.x()) ** 2 + (anchor.y() - pos.y()) ** 2
                if d < best_d:
                    best, best_d = item, d
        return best

    def _port_on_node_at(self, pos: QPointF) -> PortItem | None:
        """Dropping on a node's body connects to its first compatible (preferably free) port."""
        node = self.scene.node_at(pos)
        if node is None or self.origin is None:
            return None
        ports = [p for p in node.ports() if self.accepts(p)]
        ports.sort(key=lambda p: (p.linked, p.is_param, p.port_type is PortType.ANY))
        return ports[0] if ports else None
