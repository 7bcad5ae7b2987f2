"""Image widgets of the image panel: a zoom/pan viewer and an A/B compare view.

Both paint a ``QPixmap`` themselves (no scene, no bitmaps of chrome), so they stay cheap
and crisp at any scale factor. Zoom is in *device* pixels per image pixel: 100% shows
every image pixel on one screen pixel, also on a high-DPI screen.
"""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop import theme

MIN_ZOOM = 0.02
MAX_ZOOM = 32.0
ZOOM_STEP = 1.25
_FIT_MARGIN = 8.0
_PIXEL_PEEP = 3.0
"""From this zoom on (zoomed by hand), pixels are drawn as sharp squares, not smoothed."""


def _backdrop(widget: QWidget) -> QColor:
    return widget.palette().color(widget.palette().ColorRole.Dark)


def fit_rect(size: QSize, area: QRectF) -> QRectF:
    """The largest rect with ``size``'s aspect ratio centered in ``area``."""
    if size.isEmpty() or area.isEmpty():
        return QRectF()
    scale = min(area.width() / size.width(), area.height() / size.height())
    w, h = size.width() * scale, size.height() * scale
    return QRectF(area.center().x() - w / 2, area.center().y() - h / 2, w, h)


def _draw_caption(
    painter: QPainter, widget: QWidget, text: str, anchor: QPointF, align_right: bool = False
) -> None:
    """A small rounded label over the image (e.g. "Preview · 12/20", "A · run 3")."""
    font = QFont(widget.font())
    font.setPointSizeF(max(font.pointSizeF() * 0.9, 7.0))
    painter.setFont(font)
    metrics = painter.fontMetrics()
    w, h = metrics.horizontalAdvance(text) + 14, metrics.height() + 6
    x = anchor.x() - w if align_right else anchor.x()
    rect = QRectF(x, anchor.y(), w, h)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(20, 21, 24, 200))
    painter.drawRoundedRect(rect, 4, 4)
    painter.setPen(QColor("#e6e7ea"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


class ImageView(QWidget):
    """Shows one image: fits the view until the user zooms (wheel, ±, 100%) or pans."""

    zoomChanged = Signal(float)
    """The zoom in device pixels per image pixel (1.0 = 100%)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageView")
        self.setMinimumSize(120, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(False)
        self._image: QImage | None = None
        self._pixmap: QPixmap | None = None
        self._fit = True
        self._scale = 1.0
        """Logical pixels per image pixel."""
        self._center = QPointF()
        """The image point shown at the view's center (when not fitting)."""
        self._drag_from: QPointF | None = None
        self._caption = ""
        self._placeholder = "No image yet. Run the graph (Ctrl+Enter) to see results here."

    # ------------------------------------------------------------ image
    def image(self) -> QImage | None:
        return self._image

    def set_image(self, image: QImage | None, caption: str = "") -> None:
        """Show ``image``. A same-sized image keeps the zoom and pan; another size fits."""
        same = image is not None and self._image is not None and image.size() == self._image.size()
        self._image = image
        self._pixmap = QPixmap.fromImage(image) if image is not None else None
        self._caption = caption
        if not same:
            self._fit = True
            self._center = QPointF(image.width() / 2, image.height() / 2) if image else QPointF()
        self._update_scale()
        self.update()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    # ------------------------------------------------------------ zoom
    def zoom(self) -> float:
        return self._scale * self.devicePixelRatioF()

    def is_fit(self) -> bool:
        return self._fit

    def fit(self) -> None:
        self._fit = True
        self._update_scale()
        self.update()

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom() * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom() / ZOOM_STEP)

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` keeping the image point under ``anchor`` (a view position)."""
        if self._image is None:
            return
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        before = self.map_to_image(anchor) if anchor is not None else None
        self._fit = False
        self._scale = zoom / self.devicePixelRatioF()
        if anchor is not None and before is not None:
            view_center = QPointF(self.width() / 2, self.height() / 2)
            self._center = before - (anchor - view_center) / self._scale
        self._clamp_center()
        self.update()
        self.zoomChanged.emit(self.zoom())

    def image_rect(self) -> QRectF:
        """Where the image is drawn, in view coordinates."""
        if self._image is None:
            return QRectF()
        w, h = self._image.width() * self._scale, self._image.height() * self._scale
        cx = self.width() / 2 - (self._center.x() - self._image.width() / 2) * self._scale
        cy = self.height() / 2 - (self._center.y() - self._image.height() / 2) * self._scale
        return QRectF(cx - w / 2, cy - h / 2, w, h)

    def map_to_image(self, point: QPointF) -> QPointF:
        view_center = QPointF(self.width() / 2, self.height() / 2)
        return self._center + (point - view_center) / self._scale

    def _update_scale(self) -> None:
        if self._image is None or not self._fit:
            return
        area = QRectF(self.rect()).adjusted(_FIT_MARGIN, _FIT_MARGIN, -_FIT_MARGIN, -_FIT_MARGIN)
        target = fit_rect(self._image.size(), area)
        if target.isEmpty():
            return
        self._scale = target.width() / self._image.width()
        self._center = QPointF(self._image.width() / 2, self._image.height() / 2)
        self.zoomChanged.emit(self.zoom())

    def _clamp_center(self) -> None:
        if self._image is None:
            return
        # Any image point may come to the middle of the view, no further.
        x = min(max(self._center.x(), 0.0), float(self._image.width()))
        y = min(max(self._center.y(), 0.0), float(self._image.height()))
        self._center = QPointF(x, y)

    # ------------------------------------------------------------ events
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_scale()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if not steps or self._image is None:
            event.ignore()
            return
        self.set_zoom(self.zoom() * ZOOM_STEP**steps, event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if (
            event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton)
            and self._image is not None
        ):
            self._drag_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is None:
            super().mouseMoveEvent(event)
            return
        delta = event.position() - self._drag_from
        self._drag_from = event.position()
        if self._fit:  # the first drag leaves fit mode at the fitted zoom
            self._fit = False
        self._center -= delta / self._scale
        self._clamp_center()
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None:
            self._drag_from = None
            self.unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """Double-click toggles between fitting the view and 100% at the cursor."""
        if self._image is None:
            return
        if self._fit:
            self.set_zoom(1.0, event.position())
        else:
            self.fit()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), _backdrop(self))
        if self._pixmap is None:
            painter.setPen(self.palette().color(self.palette().ColorRole.PlaceholderText))
            painter.drawText(
                QRectF(self.rect()).adjusted(16, 16, -16, -16),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._placeholder,
            )
            return
        smooth = self._fit or self.zoom() < _PIXEL_PEEP
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        target = self.image_rect()
        painter.drawPixmap(target, self._pixmap, QRectF(self._pixmap.rect()))
        if self._caption:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            _draw_caption(painter, self, self._caption, QPointF(10, 10))


class CompareMode(StrEnum):
    SLIDER = "slider"
    SIDE_BY_SIDE = "side_by_side"


class CompareView(QWidget):
    """Two images, A and B: split by a draggable slider, or side by side.

    In slider mode both are fitted to the same rect (B is scaled to A's rect if their sizes
    differ) and the view paints A left of the split and B right of it; dragging anywhere
    moves the split.
    """

    splitChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareView")
        self.setMinimumSize(120, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._a: QPixmap | None = None
        self._b: QPixmap | None = None
        self._labels = ("A", "B")
        self._split = 0.5
        self._mode = CompareMode.SLIDER
        self._dragging = False
        self.setCursor(Qt.CursorShape.SplitHCursor)

    def set_images(self, a: QImage, b: QImage, labels: tuple[str, str] = ("A", "B")) -> None:
        self._a, self._b = QPixmap.fromImage(a), QPixmap.fromImage(b)
        self._labels = labels
        self.update()

    def mode(self) -> CompareMode:
        return self._mode

    def set_mode(self, mode: CompareMode | str) -> None:
        self._mode = CompareMode(mode)
        self.setCursor(
            Qt.CursorShape.SplitHCursor
            if self._mode is CompareMode.SLIDER
            else Qt.CursorShape.ArrowCursor
        )
        self.update()

    def split(self) -> float:
        """Where the slider is, from 0 (all B) to 1 (all A)."""
        return self._split

    def set_split(self, split: float) -> None:
        split = min(1.0, max(0.0, split))
        if split != self._split:
            self._split = split
            self.update()
            self.splitChanged.emit(split)

    def image_rect(self) -> QRectF:
        """Where A (and, scaled to it, B) is drawn in slider mode."""
        if self._a is None:
            return QRectF()
        area = QRectF(self.rect()).adjusted(_FIT_MARGIN, _FIT_MARGIN, -_FIT_MARGIN, -_FIT_MARGIN)
        return fit_rect(self._a.size(), area)

    # ------------------------------------------------------------ events
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._mode is CompareMode.SLIDER:
            self._dragging = True
            self._move_split(event.position().x())
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            self._move_split(event.position().x())
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._dragging = False
        super().mouseReleaseEvent(event)

    def _move_split(self, x: float) -> None:
        rect = self.image_rect()
        if rect.width() > 0:
            self.set_split((x - rect.left()) / rect.width())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), _backdrop(self))
        if self._a is None or self._b is None:
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._mode is CompareMode.SIDE_BY_SIDE:
            self._paint_side_by_side(painter)
        else:
            self._paint_slider(painter)

    def _paint_slider(self, painter: QPainter) -> None:
        assert self._a is not None and self._b is not None
        rect = self.image_rect()
        x = rect.left() + rect.width() * self._split
        painter.save()
        painter.setClipRect(QRectF(rect.left(), rect.top(), x - rect.left(), rect.height()))
        painter.drawPixmap(rect, self._a, QRectF(self._a.rect()))
        painter.setClipRect(QRectF(x, rect.top(), rect.right() - x, rect.height()))
        painter.drawPixmap(rect, self._b, QRectF(self._b.rect()))
        painter.restore()
        # The handle: a line and a round grip with two arrows.
        accent = QColor(theme.colors().accent)
        painter.setPen(QPen(QColor(255, 255, 255, 230), 2))
        painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        grip = QPointF(x, rect.center().y())
        painter.setPen(QPen(QColor(255, 255, 255), 2))
        painter.setBrush(accent)
        painter.drawEllipse(grip, 13, 13)
        arrows = QPainterPath()
        for sign in (-1, 1):
            arrows.moveTo(grip + QPointF(sign * 3, -4))
            arrows.lineTo(grip + QPointF(sign * 7, 0))
            arrows.lineTo(grip + QPointF(sign * 3, 4))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(arrows)
        _draw_caption(painter, self, self._labels[0], rect.topLeft() + QPointF(8, 8))
        _draw_caption(
            painter, self, self._labels[1], rect.topRight() + QPointF(-8, 8), align_right=True
        )

    def _paint_side_by_side(self, painter: QPainter) -> None:
        assert self._a is not None and self._b is not None
        area = QRectF(self.rect()).adjusted(_FIT_MARGIN, _FIT_MARGIN, -_FIT_MARGIN, -_FIT_MARGIN)
        gap = 6.0
        half = (area.width() - gap) / 2
        left = QRectF(area.left(), area.top(), half, area.height())
        right = QRectF(area.left() + half + gap, area.top(), half, area.height())
        for pixmap, box, label in (
            (self._a, left, self._labels[0]),
            (self._b, right, self._labels[1]),
        ):
            target = fit_rect(pixmap.size(), box)
            painter.drawPixmap(target, pixmap, QRectF(pixmap.rect()))
            _draw_caption(painter, self, label, target.topLeft() + QPointF(8, 8))
