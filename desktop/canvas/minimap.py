"""A small overview of the whole graph in the canvas's corner; click or drag to navigate.

It paints node rectangles itself (title color, no widgets) rather than rendering the scene
a second time, so it costs next to nothing even for big graphs. Repaints are coalesced.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QGraphicsView, QWidget

from desktop.canvas import style
from desktop.canvas.navigation import visible_scene_rect
from desktop.canvas.scene import CanvasScene


class Minimap(QWidget):
    """The overview of ``scene``, a child widget in ``view``'s corner."""

    SIZE = (220, 150)

    def __init__(self, view: QGraphicsView, scene: CanvasScene) -> None:
        super().__init__(view)
        self.view = view
        self.canvas_scene = scene
        self.resize(*self.SIZE)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(80)
        self._timer.timeout.connect(self.update)
        self._world = QRectF()

    def schedule_update(self) -> None:
        if self.isVisible() and not self._timer.isActive():
            self._timer.start()

    def place(self) -> None:
        """Keep to the view's bottom-right corner."""
        margin = 12
        self.move(
            self.view.width() - self.width() - margin, self.view.height() - self.height() - margin
        )

    def _mapping(self) -> tuple[QRectF, float, QPointF]:
        scene = self.canvas_scene
        visible = visible_scene_rect(self.view)
        # the graph's extent only (not the visible area), so the mapping holds still while
        # the user drags the view rectangle around
        world = scene.nodes_bounding_rect()
        world = (visible if world.isNull() else world).adjusted(-60, -60, 60, 60)
        inner = QRectF(self.rect()).adjusted(6, 6, -6, -6)
        scale = min(inner.width() / max(world.width(), 1), inner.height() / max(world.height(), 1))
        offset = QPointF(
            inner.left() + (inner.width() - world.width() * scale) / 2 - world.left() * scale,
            inner.top() + (inner.height() - world.height() * scale) / 2 - world.top() * scale,
        )
        return world, scale, offset

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        background = QColor(style.BACKGROUND)  # the canvas theme's, a little see-through
        background.setAlpha(225)
        painter.setPen(QPen(style.NODE_BORDER, 1))
        painter.setBrush(background)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        _world, scale, offset = self._mapping()

        def to_map(rect: QRectF) -> QRectF:
            return QRectF(
                rect.left() * scale + offset.x(),
                rect.top() * scale + offset.y(),
                max(rect.width() * scale, 2),
                max(rect.height() * scale, 2),
            )

        scene = self.canvas_scene
        painter.setPen(Qt.PenStyle.NoPen)
        for group in scene.groups.values():
            color = group.frame_color()
            color.setAlpha(60)
            painter.setBrush(color)
            painter.drawRect(to_map(group.sceneBoundingRect()))
        for item in scene.nodes.values():
            rect = to_map(QRectF(item.pos(), item.body_rect().size()))
            painter.setBrush(style.NODE_SELECTED if item.isSelected() else item.title_color())
            painter.drawRect(rect)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        frame = QColor(style.TEXT)
        frame.setAlpha(170)
        painter.setPen(QPen(frame, 1))
        painter.drawRect(to_map(visible_scene_rect(self.view)))

    def _jump(self, pos: QPointF) -> None:
        _world, scale, offset = self._mapping()
        self.view.centerOn((pos - offset) / scale)
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() is Qt.MouseButton.LeftButton:
            self._jump(event.position())
            event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._jump(event.position())
            event.accept()
