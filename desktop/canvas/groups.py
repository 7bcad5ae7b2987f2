"""Group frames: a titled, tinted rectangle behind nodes that moves the nodes inside it.

Membership is spatial (``Graph.nodes_in_group``: nodes whose position lies in the frame),
taken when a drag starts. Dragging the title bar moves the frame and its nodes live; the
release commits one :meth:`Document.move` (nodes and frame together, one undo step). The
bottom-right corner resizes the frame. Clicks on the frame's body fall through to the
canvas, so rubber-band selection works inside groups.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsProxyWidget,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QMenu,
    QStyleOptionGraphicsItem,
    QWidget,
)

from desktop.canvas import style
from desktop.canvas.host import CanvasHost
from desktop.canvas.widgets import InlineEditor
from nodes.graph import Group

_GRIP = 14.0


class GroupItem(QGraphicsItem):
    def __init__(self, canvas: CanvasHost, group: Group) -> None:
        super().__init__()
        self.canvas = canvas
        self.group_id = group.id
        self.title = group.title
        self.color: str | None = group.color
        self.size = (group.rect[2], group.rect[3])
        self.setPos(group.rect[0], group.rect[1])
        self.setZValue(-10)
        self.setAcceptHoverEvents(True)
        self._drag: dict[str, Any] | None = None
        self._resize_from: tuple[float, float] | None = None
        self._editor: QGraphicsProxyWidget | None = None

    # ------------------------------------------------------------ document → item
    def set_attr(self, attr: str, value: Any) -> None:
        if attr == "rect":
            x, y, w, h = value
            self.prepareGeometryChange()
            self.setPos(x, y)
            self.size = (w, h)
        elif attr == "title":
            self.title = value
        elif attr == "color":
            self.color = value
        self.update()

    def rect_tuple(self) -> tuple[float, float, float, float]:
        return (self.pos().x(), self.pos().y(), self.size[0], self.size[1])

    def frame_color(self) -> QColor:
        return QColor(self.color) if self.color else style.GROUP_DEFAULT

    # ------------------------------------------------------------ paint
    def boundingRect(self) -> QRectF:
        return QRectF(-1, -1, self.size[0] + 2, self.size[1] + 2)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        rect = QRectF(0, 0, *self.size)
        color = self.frame_color()
        fill = QColor(color)
        fill.setAlpha(38)
        band = QColor(color)
        band.setAlpha(110)
        border = QColor(color)
        border.setAlpha(170)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, lod >= style.LOD_DETAIL)
        painter.setPen(QPen(border, 1.5))
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, 8, 8)
        title_rect = QRectF(0, 0, rect.width(), min(style.GROUP_TITLE_H, rect.height()))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(band)
        painter.drawRoundedRect(title_rect, 8, 8)
        painter.drawRect(title_rect.adjusted(0, 8, 0, 0))
        if lod < style.LOD_DETAIL * 0.6:
            return
        font = style.ui_font(11, bold=True)
        painter.setFont(font)
        painter.setPen(style.TEXT)
        text = QFontMetricsF(font).elidedText(
            self.title, Qt.TextElideMode.ElideRight, rect.width() - 24
        )
        painter.drawText(title_rect.adjusted(12, 0, -12, 0), Qt.AlignmentFlag.AlignVCenter, text)
        grip = QPen(border, 1.2)
        painter.setPen(grip)
        for d in (4, 8, 12):
            painter.drawLine(
                QPointF(rect.right() - d, rect.bottom() - 2),
                QPointF(rect.right() - 2, rect.bottom() - d),
            )

    # ------------------------------------------------------------ interaction
    def _in_title(self, pos: QPointF) -> bool:
        return pos.y() <= style.GROUP_TITLE_H

    def _in_grip(self, pos: QPointF) -> bool:
        return pos.x() >= self.size[0] - _GRIP and pos.y() >= self.size[1] - _GRIP

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() is not Qt.MouseButton.LeftButton:
            event.ignore()
            return
        pos = event.pos()
        if self._in_grip(pos):
            self._resize_from = self.size
            event.accept()
            return
        if not self._in_title(pos):
            event.ignore()  # fall through to the canvas: rubber band inside the frame
            return
        event.accept()
        graph = self.canvas.document.graph
        members = [n for n in graph.nodes_in_group(self.group_id) if n in self.canvas.nodes]
        self._drag = {
            "origin": event.scenePos(),
            "start": self.pos(),
            "nodes": {n: self.canvas.nodes[n].pos() for n in members},
            "id": self.canvas.document.new_drag(),
        }

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._resize_from is not None:
            pos = event.pos()
            self.prepareGeometryChange()
            self.size = (max(120.0, pos.x()), max(style.GROUP_TITLE_H + 20, pos.y()))
            self.update()
            return
        if self._drag is None:
            return
        delta = event.scenePos() - self._drag["origin"]
        if self.canvas.snap:
            grid = style.GRID
            delta = QPointF(round(delta.x() / grid) * grid, round(delta.y() / grid) * grid)
        self.setPos(self._drag["start"] + delta)
        for node_id, start in self._drag["nodes"].items():
            item = self.canvas.nodes.get(node_id)
            if item is not None:
                item.setPos(start + delta)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        document = self.canvas.document
        if self._resize_from is not None:
            self._resize_from = None
            document.set_group_attr(self.group_id, "rect", self.rect_tuple())
            return
        drag, self._drag = self._drag, None
        if drag is None or self.pos() == drag["start"]:
            return
        nodes = {
            n: (self.canvas.nodes[n].pos().x(), self.canvas.nodes[n].pos().y())
            for n in drag["nodes"]
            if n in self.canvas.nodes
        }
        document.move(nodes, {self.group_id: self.rect_tuple()}, drag_id=drag["id"])

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._in_title(event.pos()):
            event.accept()
            self.start_rename()
        else:
            event.ignore()

    def hoverMoveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        pos = event.pos()
        if self._in_grip(pos):
            self.setCursor(Qt.CursorShape.SizeFDiagCursor)
        elif self._in_title(pos):
            self.setCursor(Qt.CursorShape.SizeAllCursor)
        else:
            self.unsetCursor()

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:
        self.context_menu().exec(event.screenPos())
        event.accept()

    def context_menu(self) -> QMenu:
        document = self.canvas.document
        gid = self.group_id
        menu = QMenu()
        menu.addAction("Rename…", self.start_rename)
        colors = menu.addMenu("Color")
        colors.addAction("Default", lambda: document.set_group_attr(gid, "color", None))
        for name, value in style.NODE_COLOR_CHOICES.items():
            colors.addAction(name, lambda v=value: document.set_group_attr(gid, "color", v))
        menu.addAction("Fit to nodes", self.fit_to_nodes)
        menu.addSeparator()
        menu.addAction("Delete group", lambda: document.remove([], [gid]))
        menu.addAction(
            "Delete group and its nodes",
            lambda: document.remove(document.graph.nodes_in_group(gid), [gid]),
        )
        return menu

    def fit_to_nodes(self) -> None:
        members = [
            self.canvas.nodes[n]
            for n in self.canvas.document.graph.nodes_in_group(self.group_id)
            if n in self.canvas.nodes
        ]
        if not members:
            return
        rect = members[0].sceneBoundingRect()
        for item in members[1:]:
            rect = rect.united(item.sceneBoundingRect())
        rect = frame_around(rect)
        self.canvas.document.set_group_attr(self.group_id, "rect", rect)

    def start_rename(self) -> None:
        if self._editor is not None:
            return
        editor = InlineEditor(self.title)
        proxy = QGraphicsProxyWidget(self)
        proxy.setWidget(editor)
        proxy.setGeometry(QRectF(8, 3, max(120.0, self.size[0] - 16), style.GROUP_TITLE_H - 6))
        self._editor = proxy
        editor.done.connect(self._rename_done)
        editor.setFocus()
        proxy.setFocus()

    def _rename_done(self, text: str | None) -> None:
        proxy, self._editor = self._editor, None
        scene = proxy.scene() if proxy is not None else None
        if proxy is not None and scene is not None:
            scene.removeItem(proxy)
            proxy.deleteLater()
        graph = self.canvas.document.graph
        new = (text or "").strip()
        if new and new != self.title and self.group_id in graph.groups:
            self.canvas.document.set_group_attr(self.group_id, "title", new)


def frame_around(rect: QRectF, margin: float = 20.0) -> tuple[float, float, float, float]:
    """A group frame around ``rect`` (node bounds), leaving room for the frame's title."""
    return (
        rect.left() - margin,
        rect.top() - margin - style.GROUP_TITLE_H,
        rect.width() + 2 * margin,
        rect.height() + 2 * margin + style.GROUP_TITLE_H,
    )
