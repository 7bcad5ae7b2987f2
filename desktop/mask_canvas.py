"""The mask painter's canvas: the picture with its mask as a translucent overlay; brush
and eraser strokes; zoom (wheel, fit) and pan (middle drag, Space + drag).

The mask is a numpy ``uint8`` array (255 = regenerate) the strokes paint into; the
overlay shown over the picture is a premultiplied RGBA ``QImage`` whose pixels are a
numpy view, so a dab recolours only the few pixels it touched and repaints only their
part of the widget.

A stroke paints round dabs, spaced a fraction of the brush along the mouse path, into a
stroke buffer with ``max`` (so a soft brush stays soft however often dabs overlap); the
mask is the mask before the stroke combined with that buffer (brush: the larger of the
two; eraser: scaled down by it). Each stroke, and each invert, clear or fill, is one
:class:`MaskEdit` on the painter's own undo stack, holding just the rectangle it changed.
"""

from __future__ import annotations

import math
from enum import StrEnum

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QEnterEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QShowEvent,
    QUndoCommand,
    QUndoStack,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop import theme
from desktop.imaging import to_qimage
from desktop.mask_image import MaskedImage

OVERLAY_COLOR = QColor(255, 48, 96)
"""The colour the mask is shown in."""
OVERLAY_OPACITY = 0.55
"""How strongly a fully masked pixel is tinted."""
ZOOM_MIN, ZOOM_MAX = 0.02, 40.0
ZOOM_STEP = 1.2
"""Zoom factor per wheel notch."""
SPACING = 0.12
"""Distance between dabs, as a fraction of the brush diameter."""
FIT_MARGIN = 16
SIZE_MIN, SIZE_MAX = 1, 1024


class Tool(StrEnum):
    BRUSH = "brush"
    ERASER = "eraser"


def brush_dab(
    diameter: float, hardness: float, center: tuple[float, float], shape: tuple[int, int]
) -> tuple[int, int, np.ndarray] | None:
    """One dab of a round brush at ``center`` (image x, y; pixel centers at +0.5), clipped
    to an image of ``shape`` (height, width): ``(top, left, coverage)``, coverage being
    ``uint8`` 0–255, or None when the dab misses the image. ``hardness`` 1 is a hard edge
    (one pixel of antialiasing), 0 falls off smoothly from the center."""
    radius = max(diameter, 1.0) / 2.0
    cx, cy = center
    height, width = shape
    left, right = max(0, math.floor(cx - radius)), min(width, math.ceil(cx + radius) + 1)
    top, bottom = max(0, math.floor(cy - radius)), min(height, math.ceil(cy + radius) + 1)
    if left >= right or top >= bottom:
        return None
    xs = np.arange(left, right, dtype=np.float32) + 0.5 - cx
    ys = np.arange(top, bottom, dtype=np.float32) + 0.5 - cy
    distance = np.hypot(xs[None, :], ys[:, None]) / radius
    coverage = np.clip((1.0 - distance) * radius + 0.5, 0.0, 1.0)
    if hardness < 1.0:
        t = np.clip((distance - hardness) / (1.0 - hardness), 0.0, 1.0)
        coverage *= 1.0 - t * t * (3.0 - 2.0 * t)
    return top, left, (coverage * 255.0 + 0.5).astype(np.uint8)


class MaskEdit(QUndoCommand):
    """A rectangle of the mask before and after one edit (a stroke, invert, clear...)."""

    def __init__(
        self,
        canvas: MaskCanvas,
        text: str,
        top: int,
        left: int,
        before: np.ndarray,
        after: np.ndarray,
    ) -> None:
        super().__init__(text)
        self.canvas = canvas
        self.top, self.left = top, left
        self.before, self.after = before, after

    def redo(self) -> None:  # the first call writes what the canvas already shows
        self.canvas.put_region(self.top, self.left, self.after)

    def undo(self) -> None:
        self.canvas.put_region(self.top, self.left, self.before)


class MaskCanvas(QWidget):
    """The painting surface (see the module docstring)."""

    zoomChanged = Signal(float)
    brushChanged = Signal()
    """The tool, size or hardness changed (the dialog's controls follow)."""

    def __init__(
        self, image: MaskedImage, undo_stack: QUndoStack, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.rgb = image.rgb
        self.mask_array = np.array(image.mask, dtype=np.uint8, copy=True)
        self.undo_stack = undo_stack
        height, width = self.mask_array.shape
        self._picture = QPixmap.fromImage(to_qimage(self.rgb))
        self._overlay = QImage(width, height, QImage.Format.Format_RGBA8888_Premultiplied)
        self._overlay.fill(0)
        stride = self._overlay.bytesPerLine()
        buffer = np.frombuffer(self._overlay.bits(), dtype=np.uint8)
        self._overlay_pixels = buffer.reshape(height, stride)[:, : width * 4].reshape(
            height, width, 4
        )
        alpha = round(OVERLAY_OPACITY * 255)
        color = OVERLAY_COLOR
        premultiplied = [c * alpha // 255 for c in (color.red(), color.green(), color.blue())]
        self._tint = np.array([*premultiplied, alpha], dtype=np.uint16)
        self._refresh_overlay(0, height, 0, width)
        self.overlay_visible = True

        self.tool = Tool.BRUSH
        self.brush_size = float(max(4, min(200, round(min(width, height) / 12))))
        self.hardness = 0.7
        self._zoom = 1.0
        self._origin = QPointF(0, 0)
        self._fitted = True
        self._hover: QPointF | None = None
        self._space = False
        self._pan_from: tuple[QPointF, QPointF] | None = None
        self._stroke_tool: Tool | None = None
        self._before: np.ndarray | None = None
        self._stroke: np.ndarray | None = None
        self._bounds: list[int] | None = None  # top, bottom, left, right
        self._last = QPointF()
        self._travel = 0.0

        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.BlankCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    # ================================================================ brush
    def set_tool(self, tool: Tool | str) -> None:
        tool = Tool(tool)
        if tool is not self.tool:
            self.tool = tool
            self.brushChanged.emit()
            self._update_cursor()

    def set_size(self, size: float) -> None:
        size = float(min(max(size, SIZE_MIN), SIZE_MAX))
        if size != self.brush_size:
            self._update_cursor()
            self.brush_size = size
            self.brushChanged.emit()
            self._update_cursor()

    def set_hardness(self, hardness: float) -> None:
        hardness = min(max(hardness, 0.0), 1.0)
        if hardness != self.hardness:
            self.hardness = hardness
            self.brushChanged.emit()
            self._update_cursor()

    def set_overlay_visible(self, on: bool) -> None:
        self.overlay_visible = on
        self.update()

    @property
    def stroking(self) -> bool:
        return self._stroke is not None

    # ================================================================ whole-mask edits
    def invert(self) -> None:
        self._replace_mask(255 - self.mask_array, "Invert mask")

    def clear(self) -> None:
        self._replace_mask(np.zeros_like(self.mask_array), "Clear mask")

    def fill(self) -> None:
        self._replace_mask(np.full_like(self.mask_array, 255), "Fill mask")

    def _replace_mask(self, new: np.ndarray, text: str) -> None:
        if self.stroking or np.array_equal(new, self.mask_array):
            return
        self.undo_stack.push(MaskEdit(self, text, 0, 0, self.mask_array.copy(), new))

    def put_region(self, top: int, left: int, values: np.ndarray) -> None:
        """Write ``values`` into the mask at (top, left) and show it (undo and redo)."""
        bottom, right = top + values.shape[0], left + values.shape[1]
        self.mask_array[top:bottom, left:right] = values
        self._refresh_overlay(top, bottom, left, right)
        self.update(self._widget_rect(top, bottom, left, right))

    # ================================================================ view
    def zoom(self) -> float:
        return self._zoom

    def image_pos(self, widget_pos: QPointF) -> QPointF:
        """Image coordinates (pixels, 0,0 the top-left corner) under a widget position."""
        return (widget_pos - self._origin) / self._zoom

    def widget_pos(self, image_pos: QPointF) -> QPointF:
        return self._origin + image_pos * self._zoom

    def fit(self) -> None:
        """The whole picture, as large as the widget allows."""
        height, width = self.mask_array.shape
        room = self.rect().adjusted(FIT_MARGIN, FIT_MARGIN, -FIT_MARGIN, -FIT_MARGIN)
        zoom = min(room.width() / width, room.height() / height) if room.isValid() else 1.0
        self._zoom = min(max(zoom, ZOOM_MIN), ZOOM_MAX)
        center = QPointF(self.rect().center())
        self._origin = center - QPointF(width, height) * (self._zoom / 2)
        self._fitted = True
        self.update()
        self.zoomChanged.emit(self._zoom)

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` keeping the image point under ``anchor`` (default: the
        widget's center) where it is."""
        zoom = min(max(zoom, ZOOM_MIN), ZOOM_MAX)
        anchor = anchor if anchor is not None else QPointF(self.rect().center())
        fixed = self.image_pos(anchor)
        self._zoom = zoom
        self._origin = anchor - fixed * zoom
        self._fitted = False
        self.update()
        self.zoomChanged.emit(zoom)

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def _widget_rect(self, top: int, bottom: int, left: int, right: int) -> QRect:
        corner = self.widget_pos(QPointF(left, top))
        size = QPointF(right - left, bottom - top) * self._zoom
        return (
            QRectF(corner.x(), corner.y(), size.x(), size.y())
            .toAlignedRect()
            .adjusted(-2, -2, 2, 2)
        )

    def _cursor_rect(self) -> QRect:
        if self._hover is None:
            return QRect()
        radius = self.brush_size / 2 * self._zoom + 3
        center = self._hover
        return QRectF(
            center.x() - radius, center.y() - radius, 2 * radius, 2 * radius
        ).toAlignedRect()

    def _update_cursor(self) -> None:
        if self._hover is not None:
            self.update(self._cursor_rect())

    # ================================================================ painting
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        colors = theme.colors()
        painter.fillRect(event.rect(), QColor(colors.window))
        height, width = self.mask_array.shape
        corner = self._origin
        target = QRectF(corner.x(), corner.y(), width * self._zoom, height * self._zoom)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._zoom < 2)
        painter.drawPixmap(target, self._picture, QRectF(self._picture.rect()))
        if self.overlay_visible:
            painter.drawImage(target, self._overlay, QRectF(self._overlay.rect()))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(colors.border), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(target.adjusted(-0.5, -0.5, 0.5, 0.5))
        if self._hover is not None and self._pan_from is None and not self._space:
            self._paint_brush_cursor(painter, self._hover)

    def _paint_brush_cursor(self, painter: QPainter, center: QPointF) -> None:
        radius = max(self.brush_size / 2 * self._zoom, 1.5)
        for color, width in ((QColor(0, 0, 0, 170), 3.0), (QColor(255, 255, 255, 230), 1.2)):
            painter.setPen(QPen(color, width))
            painter.drawEllipse(center, radius, radius)
        if self.hardness < 1 and radius * self.hardness > 3:
            inner = QPen(QColor(255, 255, 255, 140), 1, Qt.PenStyle.DashLine)
            painter.setPen(inner)
            painter.drawEllipse(center, radius * self.hardness, radius * self.hardness)
        if self.tool is Tool.ERASER:  # a bar across: "takes away"
            painter.setPen(QPen(QColor(255, 255, 255, 230), 1.2))
            painter.drawLine(center - QPointF(radius * 0.5, 0), center + QPointF(radius * 0.5, 0))
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(255, 255, 255, 230))
            painter.drawEllipse(center, 1.5, 1.5)
            painter.setBrush(Qt.BrushStyle.NoBrush)

    def _refresh_overlay(self, top: int, bottom: int, left: int, right: int) -> None:
        coverage = self.mask_array[top:bottom, left:right].astype(np.uint16)
        tinted = coverage[..., None] * self._tint[None, None, :] // 255
        self._overlay_pixels[top:bottom, left:right] = tinted.astype(np.uint8)

    # ================================================================ strokes
    def _begin_stroke(self, tool: Tool, pos: QPointF) -> None:
        self._stroke_tool = tool
        self._before = self.mask_array.copy()
        self._stroke = np.zeros_like(self.mask_array)
        self._bounds = None
        self._last = pos
        self._travel = 0.0
        self._dab(pos)

    def _stroke_to(self, pos: QPointF) -> None:
        step = max(1.0, self.brush_size * SPACING)
        delta = pos - self._last
        distance = math.hypot(delta.x(), delta.y())
        if distance == 0:
            return
        along = step - self._travel  # where on this segment the next dab goes
        while along <= distance:
            self._dab(self._last + delta * (along / distance))
            along += step
        self._travel = distance - (along - step)
        self._last = pos

    def _dab(self, pos: QPointF) -> None:
        if self._stroke is None or self._before is None:
            return
        dab = brush_dab(self.brush_size, self.hardness, (pos.x(), pos.y()), self.mask_array.shape)
        if dab is None:
            return
        top, left, coverage = dab
        bottom, right = top + coverage.shape[0], left + coverage.shape[1]
        stroke = self._stroke[top:bottom, left:right]
        np.maximum(stroke, coverage, out=stroke)
        before = self._before[top:bottom, left:right]
        if self._stroke_tool is Tool.ERASER:
            kept = before.astype(np.uint16) * (255 - stroke.astype(np.uint16))
            self.mask_array[top:bottom, left:right] = ((kept + 127) // 255).astype(np.uint8)
        else:
            self.mask_array[top:bottom, left:right] = np.maximum(before, stroke)
        if self._bounds is None:
            self._bounds = [top, bottom, left, right]
        else:
            b = self._bounds
            self._bounds = [min(b[0], top), max(b[1], bottom), min(b[2], left), max(b[3], right)]
        self._refresh_overlay(top, bottom, left, right)
        self.update(self._widget_rect(top, bottom, left, right))

    def _end_stroke(self) -> None:
        before, bounds, tool = self._before, self._bounds, self._stroke_tool
        self._before = self._stroke = self._bounds = self._stroke_tool = None
        if before is None or bounds is None:
            return
        top, bottom, left, right = bounds
        old = before[top:bottom, left:right].copy()
        new = self.mask_array[top:bottom, left:right].copy()
        if not np.array_equal(old, new):
            text = "Erase" if tool is Tool.ERASER else "Brush stroke"
            self.undo_stack.push(MaskEdit(self, text, top, left, old, new))

    # ================================================================ events
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._fitted:
            self.fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def enterEvent(self, event: QEnterEvent) -> None:
        super().enterEvent(event)
        self.setFocus()  # Space and the tool keys work as soon as the mouse is here

    def leaveEvent(self, event: QEvent) -> None:
        self._update_cursor()
        self._hover = None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        button = event.button()
        if self.stroking or self._pan_from is not None:
            event.accept()
            return
        if button is Qt.MouseButton.MiddleButton or (
            button is Qt.MouseButton.LeftButton and self._space
        ):
            self._pan_from = (pos, QPointF(self._origin))
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            self._update_cursor()
        elif button in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            other = Tool.ERASER if self.tool is Tool.BRUSH else Tool.BRUSH
            tool = self.tool if button is Qt.MouseButton.LeftButton else other
            self._begin_stroke(tool, self.image_pos(pos))
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        self._update_cursor()
        self._hover = pos
        if self._pan_from is not None:
            start, origin = self._pan_from
            self._origin = origin + (pos - start)
            self._fitted = False
            self.update()
        elif self.stroking:
            self._stroke_to(self.image_pos(pos))
        self._update_cursor()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.setCursor(
                Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.BlankCursor
            )
        elif self.stroking:
            self._stroke_to(self.image_pos(event.position()))
            self._end_stroke()
        self._update_cursor()
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120
        if notches:
            self.set_zoom(self._zoom * ZOOM_STEP**notches, event.position())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            if self._pan_from is None:
                self.setCursor(Qt.CursorShape.OpenHandCursor)
            self._update_cursor()
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            if self._pan_from is None:
                self.setCursor(Qt.CursorShape.BlankCursor)
            self._update_cursor()
            event.accept()
            return
        super().keyReleaseEvent(event)


__all__ = ["MaskCanvas", "MaskEdit", "Tool", "brush_dab"]
