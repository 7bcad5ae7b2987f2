"""Moving around the canvas: zoom, pan, fit, and remembering the view in the document.

The wheel zooms around the cursor (clamped to :data:`style.ZOOM_MIN`..:data:`ZOOM_MAX`);
the middle button, or a left drag while Space is held, pans; arrow keys pan (Shift: four
times as far). Only the user's own navigation is remembered in the document's view state
(saved with the file): fitting or restoring on open leaves the document exactly as the
file had it.

:class:`Navigation` holds this state for one :class:`~desktop.canvas.view.CanvasView`,
whose event handlers hand it the events it may take.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QTransform, QWheelEvent
from PySide6.QtWidgets import QGraphicsView

from desktop.canvas import style
from desktop.document import Document

ARROW_STEP = 60
"""Pixels an arrow key pans (Shift: :data:`ARROW_STEP_FAST`)."""
ARROW_STEP_FAST = 240
FIT_MARGIN = 40.0
"""Scene units Fit leaves around the graph when there is room."""
WHEEL_BASE = 1.0015
"""Zoom factor per unit of wheel angle (120 units a notch: about 20 % a notch)."""


def visible_scene_rect(view: QGraphicsView) -> QRectF:
    """The part of the scene ``view`` shows, in scene coordinates."""
    return view.mapToScene(view.viewport().rect()).boundingRect()


class Navigation:
    """Zoom and pan of one view (see the module docstring)."""

    def __init__(
        self, view: QGraphicsView, document: Document, zoom_changed: Callable[[], None]
    ) -> None:
        self.view = view
        self.document = document
        self.zoom_changed = zoom_changed
        """Called after every zoom change (the view updates detail and the minimap)."""
        self.pan_from: QPoint | None = None
        """Where the mouse was when the pan last moved; None while not panning."""
        self.space = False
        """Space is held: a left drag pans."""

    # ================================================================ zoom
    def zoom(self) -> float:
        return self.view.transform().m11()

    def visible_rect(self) -> QRectF:
        return visible_scene_rect(self.view)

    def fit(self, rect: QRectF) -> None:
        """Show ``rect`` (the graph's bounds) whole, between :data:`style.FIT_ZOOM_MIN` and
        100 %; an empty graph gets 100 % around the origin.

        A graph too big to show whole at the readable minimum is shown from its top-left
        corner (where a workflow starts), along the axis where it does not fit, and the
        rest is a scroll away; a little too big, it is centred with its margins cut.
        """
        view = self.view
        if rect.isNull():
            view.setTransform(QTransform.fromScale(1, 1))
            view.centerOn(0, 0)
            self.zoom_changed()
            return
        padded = rect.adjusted(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN)
        port = view.viewport().rect()
        width, height = max(1, port.width()), max(1, port.height())
        zoom = min(width / padded.width(), height / padded.height())
        zoom = max(style.FIT_ZOOM_MIN, min(1.0, zoom))
        view.setTransform(QTransform.fromScale(zoom, zoom))
        shown_w, shown_h = width / zoom, height / zoom
        center = QPointF(rect.center())
        if rect.width() > shown_w:
            center.setX(rect.left() - FIT_MARGIN / 2 + shown_w / 2)
        if rect.height() > shown_h:
            center.setY(rect.top() - FIT_MARGIN / 2 + shown_h / 2)
        view.centerOn(center)
        self.zoom_changed()

    def restore(self) -> bool:
        """Show the view the document was saved with; False when it has none."""
        saved = self.document.saved_view()
        if saved is None:
            return False
        zoom, (x, y) = saved
        zoom = max(style.ZOOM_MIN, min(style.ZOOM_MAX, zoom))
        self.view.setTransform(QTransform.fromScale(zoom, zoom))
        self.view.centerOn(QPointF(x, y))
        self.zoom_changed()
        return True

    def remember(self) -> None:
        """Keep zoom and center in the document's view state (only after the user's own
        navigation: see the module docstring)."""
        view = self.view
        center = view.mapToScene(view.viewport().rect().center())
        self.document.set_view(round(self.zoom(), 4), (round(center.x(), 1), round(center.y(), 1)))

    def wheel(self, event: QWheelEvent) -> None:
        """Zoom around the cursor (the view's transformation anchor)."""
        delta = event.angleDelta().y() or event.angleDelta().x()
        if not delta:
            return
        zoom = self.zoom()
        target = max(style.ZOOM_MIN, min(style.ZOOM_MAX, zoom * WHEEL_BASE**delta))
        if target != zoom:
            self.view.scale(target / zoom, target / zoom)
            self.zoom_changed()
            self.remember()
        event.accept()

    # ================================================================ pan
    def scroll_by(self, dx: float, dy: float) -> None:
        for bar, step in (
            (self.view.horizontalScrollBar(), dx),
            (self.view.verticalScrollBar(), dy),
        ):
            bar.setValue(bar.value() + int(step))

    def key_press(self, event: QKeyEvent) -> bool:
        """Arrows pan, Space arms left-drag panning; True when the key was one of them."""
        key = event.key()
        pan = (
            ARROW_STEP_FAST if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else ARROW_STEP
        )
        arrows = {
            Qt.Key.Key_Left: (-pan, 0),
            Qt.Key.Key_Right: (pan, 0),
            Qt.Key.Key_Up: (0, -pan),
            Qt.Key.Key_Down: (0, pan),
        }
        if key in arrows:
            dx, dy = arrows[Qt.Key(key)]
            self.scroll_by(dx, dy)
            self.remember()
            return True
        if key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.space = True
                self.view.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return True
        return False

    def key_release(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.space = False
            if self.pan_from is None:
                self.view.viewport().unsetCursor()

    def mouse_press(self, event: QMouseEvent) -> bool:
        """Start a pan (middle button, or left with Space held); True when it did."""
        button = event.button()
        if button is Qt.MouseButton.MiddleButton or (
            button is Qt.MouseButton.LeftButton and self.space
        ):
            self.pan_from = event.position().toPoint()
            self.view.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return True
        return False

    def mouse_move(self, event: QMouseEvent) -> bool:
        if self.pan_from is None:
            return False
        delta = event.position().toPoint() - self.pan_from
        self.pan_from = event.position().toPoint()
        self.scroll_by(-delta.x(), -delta.y())
        event.accept()
        return True

    def mouse_release(self, event: QMouseEvent) -> bool:
        if self.pan_from is None or event.button() not in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            return False
        self.pan_from = None
        if self.space:
            self.view.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.view.viewport().unsetCursor()
        self.remember()
        event.accept()
        return True


def shift_as_ctrl(event: QMouseEvent) -> QMouseEvent:
    """Shift-click adds to the selection: Qt's items and rubber band do that with Ctrl."""
    if not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
        return event
    modifiers = (event.modifiers() & ~Qt.KeyboardModifier.ShiftModifier) | (
        Qt.KeyboardModifier.ControlModifier
    )
    return QMouseEvent(
        event.type(),
        event.position(),
        event.globalPosition(),
        event.button(),
        event.buttons(),
        modifiers,
    )
