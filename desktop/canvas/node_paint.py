"""Painting of node items, kept apart from their behaviour (:mod:`desktop.canvas.node_item`).

Zoomed out (``lod`` below :data:`style.LOD_DETAIL`) a node is two rectangles — the title
color band and the body — its title (down to :data:`style.LOD_TITLE`, scaled to stay
readable on screen) and an outline when selected or failing: one text, no paths, so a
300-node graph pans smoothly. Zoomed in it gets the full drawing: shadow, rounded
body, title bar with collapse chevron and run state badge (progress ring while running),
port and param labels, token counts, problem highlights and the preview image.

The painter reads a node through :class:`PaintedNode`, the part of
:class:`~desktop.canvas.node_item.NodeItem` it draws, so the item module imports this one
and not the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from typing import Any, Protocol

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPixmap

from desktop.canvas import style
from desktop.canvas.params import is_full_width, number_text, param_label
from desktop.canvas.ports import PortItem
from desktop.run_state import NodeState, NodeStatus
from nodes.api import Node, Param
from nodes.ports import PortType


class PaintedNode(Protocol):
    """What painting reads of a node item (all of it kept up to date by the item)."""

    @property
    def cls(self) -> type[Node] | None: ...
    @property
    def type_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def width(self) -> float: ...
    @property
    def height(self) -> float: ...
    @property
    def collapsed(self) -> bool: ...
    @property
    def bypass(self) -> bool: ...
    @property
    def pinned(self) -> bool: ...
    @property
    def status(self) -> NodeStatus: ...
    @property
    def inputs(self) -> Sequence[PortItem]: ...
    @property
    def outputs(self) -> Sequence[PortItem]: ...
    @property
    def rows(self) -> Sequence[tuple[Param, float, QRectF]]:
        """(param, row top, widget rect) in node coordinates."""
        ...

    @property
    def values(self) -> Mapping[str, Any]: ...
    @property
    def linked_params(self) -> Set[str]: ...
    @property
    def problems(self) -> Mapping[str | None, list[str]]: ...
    @property
    def tokens(self) -> Mapping[str, tuple[int, bool]]: ...
    @property
    def widgets_built(self) -> bool: ...
    @property
    def ports_bottom(self) -> float: ...
    @property
    def preview_rect(self) -> QRectF: ...

    def scaled_preview(self) -> QPixmap | None: ...
    def seed_modes(self) -> dict[str, str]: ...
    def body_rect(self) -> QRectF: ...
    def title_color(self) -> QColor: ...
    def isSelected(self) -> bool: ...


def paint_node(item: PaintedNode, painter: QPainter, lod: float) -> None:
    """Paint ``item``: a cheap proxy below :data:`style.LOD_DETAIL`, else everything."""
    body = item.body_rect()
    title = item.title_color()
    if lod < style.LOD_DETAIL:
        _paint_proxy(item, painter, lod, body, title)
        return
    fonts = fonts_()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    r = style.RADIUS
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(style.NODE_SHADOW)
    painter.drawRoundedRect(body.translated(0, 3), r, r)
    painter.setBrush(style.UNKNOWN_BODY if item.cls is None else style.NODE_BODY)
    painter.drawRoundedRect(body, r, r)
    bar = QPainterPath()
    bar.addRoundedRect(QRectF(0, 0, item.width, style.TITLE_H), r, r)
    if not item.collapsed:
        bar.addRect(QRectF(0, style.TITLE_H - r, item.width, r))
    painter.setBrush(title)
    painter.drawPath(bar.simplified())
    _paint_title(item, painter, fonts)
    if not item.collapsed:
        _paint_rows(item, painter, fonts)
        preview = item.scaled_preview() if not item.preview_rect.isEmpty() else None
        if preview is not None:
            painter.drawPixmap(item.preview_rect.topLeft(), preview)
        _paint_grip(item, painter)
    outline = _outline(item)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if outline is not None:
        painter.setPen(QPen(outline[0], outline[1]))
    else:
        painter.setPen(QPen(style.NODE_BORDER, 1))
    painter.drawRoundedRect(body.adjusted(0.5, 0.5, -0.5, -0.5), r, r)


def _paint_grip(item: PaintedNode, painter: QPainter) -> None:
    """Two short diagonals in the bottom-right corner: drag there to resize the node."""
    grip = QColor(style.TEXT_DIM)
    grip.setAlpha(110)
    painter.setPen(QPen(grip, 1.2))
    right, bottom = item.width - 3, item.height - 3
    for d in (5.0, 9.0):
        painter.drawLine(QPointF(right - d, bottom), QPointF(right, bottom - d))


def _outline(item: PaintedNode) -> tuple[QColor, float] | None:
    if item.isSelected():
        return style.NODE_SELECTED, 2.0
    if item.problems or item.status.state is NodeState.FAILED:
        return style.ERROR, 2.0
    if item.status.state is NodeState.RUNNING:
        return style.ACCENT, 2.0
    return None


def _paint_proxy(
    item: PaintedNode, painter: QPainter, lod: float, body: QRectF, title: QColor
) -> None:
    """The zoomed-out drawing: body, title band, the title at a readable size (down to
    :data:`style.LOD_TITLE`), port names where a row has room for readable text, and an
    outline when selected or failing. Texts only, no paths, so big graphs pan smoothly."""
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(style.UNKNOWN_BODY if item.cls is None else style.NODE_BODY)
    painter.drawRect(body)
    band_h = style.TITLE_H
    title_font: QFont | None = None
    if lod >= style.LOD_TITLE:
        title_font = _proxy_font("title", proxy_title_points(lod))
        # the band grows with the text, so the title stays on its tint in both themes
        band_h = max(band_h, QFontMetricsF(title_font).height() + 2)
    band_h = min(item.height, band_h)
    painter.setBrush(title)
    painter.drawRect(QRectF(0, 0, item.width, band_h))
    if title_font is not None:
        metrics = QFontMetricsF(title_font)
        rect = QRectF(style.PAD, 0, item.width - 2 * style.PAD, band_h)
        text = metrics.elidedText(item.title, Qt.TextElideMode.ElideRight, rect.width())
        painter.setFont(title_font)
        painter.setPen(style.TITLE_TEXT if item.cls is not None else _UNKNOWN_TEXT)
        painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
    points = proxy_port_points(lod)
    if points is not None and not item.collapsed:
        _paint_proxy_ports(item, painter, _proxy_font("label", points), band_h)
    outline = _outline(item)
    if outline is not None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(outline[0], 4 / max(lod, 0.05)))
        painter.drawRect(body)


PROXY_TITLE_SCREEN_PT = 8.4
"""On-screen size (points) of a zoomed-out node's title, down to a zoom of 0.22; below
that the title shrinks with the view (the band has no more room)."""
PROXY_PORT_SCREEN_PX = 7.0
"""Smallest on-screen size (pixels) a port name is drawn at in the zoomed-out drawing."""


def proxy_title_points(lod: float) -> float:
    """The title font's size (points, scene scale) in the zoomed-out drawing."""
    return min(PROXY_TITLE_SCREEN_PT / max(lod, 0.05), 9.5 * 3.85)


def proxy_port_points(lod: float) -> float | None:
    """The port names' font size (points, scene scale) in the zoomed-out drawing, or None
    when a port row is too short on screen for a readable name."""
    label_pt = fonts_()["label"].pointSizeF()
    wanted_px = max(label_pt * 4 / 3, PROXY_PORT_SCREEN_PX / max(lod, 0.05))
    if wanted_px > style.ROW_H * 0.85:
        return None
    return wanted_px * 3 / 4


def _paint_proxy_ports(item: PaintedNode, painter: QPainter, font: QFont, top: float) -> None:
    painter.setFont(font)
    metrics = QFontMetricsF(font)
    y = style.TITLE_H + 6
    half = item.width / 2 - style.PAD - 2
    for ports, left in ((item.inputs, True), (item.outputs, False)):
        for i, port in enumerate(ports):
            row = QRectF(0, y + i * style.ROW_H, item.width, style.ROW_H)
            if row.top() < top:
                continue  # under the title band's text
            x = style.PAD + 2 if left else item.width / 2
            rect = QRectF(x, row.top(), half, style.ROW_H)
            painter.setPen(_label_color(item, port))
            align = Qt.AlignmentFlag.AlignLeft if left else Qt.AlignmentFlag.AlignRight
            text = metrics.elidedText(port.label, Qt.TextElideMode.ElideRight, rect.width())
            painter.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter, text)
    for param, row_top, widget in item.rows:  # param names (their sockets are ports too)
        if row_top < top:
            continue
        right = item.width - style.PAD if is_full_width(param) else widget.left() - 4
        rect = QRectF(style.PAD + 2, row_top, right - style.PAD - 2, style.PARAM_ROW_H)
        painter.setPen(_field_color(item, param.name))
        text = metrics.elidedText(param_label(param), Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)


_PROXY_FONTS: dict[tuple[str, float], QFont] = {}


def _proxy_font(kind: str, points: float) -> QFont:
    """A font of ``kind`` ("title", "label") at ``points``, rounded to a quarter point and
    kept (zooming repaints every node; making fonts each time would show)."""
    key = (kind, round(points * 4) / 4)
    font = _PROXY_FONTS.get(key)
    if font is None:
        font = QFont(fonts_()[kind])
        font.setPointSizeF(key[1])
        _PROXY_FONTS[key] = font
    return font


_UNKNOWN_TEXT = QColor("#ffd7d4")


def _paint_title(item: PaintedNode, painter: QPainter, fonts: dict) -> None:
    # collapse chevron
    cx, cy = style.PAD + 4, style.TITLE_H / 2
    chevron = QPainterPath()
    if item.collapsed:
        chevron.moveTo(cx - 2, cy - 4)
        chevron.lineTo(cx + 3, cy)
        chevron.lineTo(cx - 2, cy + 4)
    else:
        chevron.moveTo(cx - 4, cy - 2)
        chevron.lineTo(cx, cy + 3)
        chevron.lineTo(cx + 4, cy - 2)
    painter.setPen(QPen(QColor(255, 255, 255, 150), 1.5))
    painter.drawPath(chevron)
    badge_w = _paint_status(item, painter, fonts)
    if item.pinned:
        badge_w += _paint_pin(painter, item.width - style.PAD - badge_w - 6, cy)
    painter.setFont(fonts["title"])
    painter.setPen(style.TITLE_TEXT if item.cls is not None else _UNKNOWN_TEXT)
    text_rect = QRectF(style.PAD + 14, 0, item.width - 2 * style.PAD - 14 - badge_w, style.TITLE_H)
    text = QFontMetricsF(fonts["title"]).elidedText(
        item.title, Qt.TextElideMode.ElideRight, text_rect.width()
    )
    painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)


def _paint_pin(painter: QPainter, x: float, cy: float) -> float:
    """A pushpin left of ``x`` on the title bar (a pinned node stays put); its width."""
    pen = QPen(style.TITLE_TEXT_DIM, 1.5)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    painter.drawLine(QPointF(x, cy - 1), QPointF(x, cy + 6))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(style.TITLE_TEXT)
    painter.drawEllipse(QPointF(x, cy - 3), 3.5, 3.5)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    return 14.0


def _paint_status(item: PaintedNode, painter: QPainter, fonts: dict) -> float:
    """The run state badge at the title's right; returns the width it took."""
    state = item.status.state
    right = item.width - style.PAD
    cy = style.TITLE_H / 2
    if item.bypass:
        text, color = "bypassed", QColor("#c9a8ff")
    elif state is NodeState.QUEUED:
        text, color = "queued", style.TITLE_TEXT_DIM
    elif state is NodeState.RUNNING:
        total = item.status.total
        text = f"{item.status.step}/{total}" if total else "running"
        color = style.TITLE_TEXT
        ring = QRectF(right - 14, cy - 7, 14, 14)
        painter.setPen(QPen(QColor(255, 255, 255, 45), 2.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(ring)
        fraction = item.status.step / total if total else 0.25
        painter.setPen(
            QPen(style.ACCENT.lighter(130), 2.5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        )
        painter.drawArc(ring, 90 * 16, int(-360 * 16 * fraction))
        right -= 20
    elif state is NodeState.CACHED:
        text, color = "cached", QColor("#9fc6a4")
    elif state is NodeState.DONE:
        text, color = f"✓ {_seconds(item.status.seconds)}", QColor("#a8e0b0")
    elif state is NodeState.FAILED:
        text, color = "failed", QColor("#ffb3ad")
    else:
        return 0.0
    painter.setFont(fonts["small"])
    painter.setPen(color)
    width = QFontMetricsF(fonts["small"]).horizontalAdvance(text) + 2
    painter.drawText(
        QRectF(right - width, 0, width, style.TITLE_H),
        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
        text,
    )
    return (item.width - style.PAD - right) + width + 6


def _paint_rows(item: PaintedNode, painter: QPainter, fonts: dict) -> None:
    painter.setFont(fonts["label"])
    y = style.TITLE_H + 6
    for i, port in enumerate(item.inputs):
        _label(
            item,
            painter,
            QRectF(style.PAD + 2, y + i * style.ROW_H, item.width / 2, style.ROW_H),
            port.label,
            port.name,
            left=True,
        )
    for i, port in enumerate(item.outputs):
        rect = QRectF(
            item.width / 2, y + i * style.ROW_H, item.width / 2 - style.PAD - 2, style.ROW_H
        )
        # an output is never the field a problem names, even when it shares an input's
        # name (a sampler's latent in and out)
        _label(item, painter, rect, port.label, None, left=False)
    for param, top, rect in item.rows:
        label = param_label(param)
        linked = param.name in item.linked_params
        if not is_full_width(param):
            label_rect = QRectF(style.PAD + 2, top, rect.left() - style.PAD - 6, style.PARAM_ROW_H)
            _label(item, painter, label_rect, label, param.name, left=True)
            if param.seed:
                painter.setPen(style.TEXT_DIM)
                painter.drawText(
                    label_rect.translated(0, style.PARAM_ROW_H),
                    Qt.AlignmentFlag.AlignVCenter,
                    "after run",
                )
        if linked:
            painter.setPen(style.TEXT_DIM)
            text_rect = rect if not is_full_width(param) else rect.adjusted(14, 0, 0, 0)
            painter.drawText(
                text_rect.adjusted(4, 0, 0, 0)
                if not is_full_width(param)
                else QRectF(text_rect.left(), top, text_rect.width(), 22),
                Qt.AlignmentFlag.AlignVCenter,
                f"{label} ← linked" if is_full_width(param) else "← linked",
            )
        else:
            if not item.widgets_built:
                _paint_static_field(item, painter, param, rect)
            if is_full_width(param):
                _paint_tokens(item, painter, fonts, param, rect)
        if param.name in item.problems:
            painter.setPen(QPen(style.ERROR, 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect.adjusted(-2, -2, 2, 2), 5, 5)
            painter.setFont(fonts["label"])
    if item.cls is None:
        _paint_unknown(item, painter, fonts)


def _paint_static_field(item: PaintedNode, painter: QPainter, param: Param, rect: QRectF) -> None:
    """A look-alike of the param's widget, shown until the real one is built."""
    value = item.values.get(param.name, param.default)
    if param.type is PortType.BOOL:
        box = QRectF(rect.left() + 2, rect.center().y() - 7, 14, 14)
        _field(painter, box, style.ACCENT if value is True else style.FIELD_BG, 3)
        return
    if is_full_width(param):
        _field(painter, rect)
        painter.setPen(style.TEXT)
        flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        painter.drawText(rect.adjusted(5, 4, -5, -4), flags, str(value))
        return
    text = number_text(value, param) if param.type in (PortType.INT, PortType.FLOAT) else str(value)
    color = style.TEXT
    if param.file_kind:
        side = rect.height()
        button = QRectF(rect.right() - side, rect.top(), side, side)
        _field(painter, button, style.BUTTON)
        painter.setPen(style.TEXT)
        painter.drawText(button, Qt.AlignmentFlag.AlignCenter, "…")
        rect = rect.adjusted(0, 0, -(side + 3), 0)
        if not text:
            text, color = "choose a file…", style.TEXT_DIM
    _field(painter, rect)
    inner = rect.adjusted(5, 0, -5, 0)
    if param.choices or param.file_kind:
        inner.setRight(inner.right() - 12)
        _arrow(painter, QPointF(rect.right() - 10, rect.center().y()))
    painter.setPen(color)
    elided = painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, int(inner.width()))
    painter.drawText(inner, Qt.AlignmentFlag.AlignVCenter, elided)
    if param.seed:
        below = rect.translated(0, style.PARAM_ROW_H)
        _field(painter, below)
        _arrow(painter, QPointF(below.right() - 10, below.center().y()))
        painter.setPen(style.TEXT)
        mode = item.seed_modes().get(param.name, "")
        painter.drawText(below.adjusted(5, 0, -5, 0), Qt.AlignmentFlag.AlignVCenter, mode)


def _field(painter: QPainter, rect: QRectF, fill: QColor | None = None, radius: float = 4) -> None:
    painter.setPen(QPen(style.FIELD_BORDER, 1))
    painter.setBrush(fill if fill is not None else style.FIELD_BG)
    painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)


def _arrow(painter: QPainter, center: QPointF) -> None:
    arrow = QPainterPath()
    arrow.moveTo(center.x() - 4, center.y() - 2)
    arrow.lineTo(center.x() + 4, center.y() - 2)
    arrow.lineTo(center.x(), center.y() + 3)
    arrow.closeSubpath()
    painter.fillPath(arrow, style.TEXT_DIM)


def _label_color(item: PaintedNode, port: PortItem) -> QColor:
    """A port name's color: the error's on an input or param socket a problem names."""
    return _field_color(item, None if port.is_output else port.name)


def _field_color(item: PaintedNode, field: str | None) -> QColor:
    if field is not None and field in item.problems:
        return style.ERROR.lighter(130)
    return style.TEXT_DIM


def _label(
    item: PaintedNode, painter: QPainter, rect: QRectF, text: str, field: str | None, left: bool
) -> None:
    painter.setPen(_field_color(item, field))
    align = Qt.AlignmentFlag.AlignLeft if left else Qt.AlignmentFlag.AlignRight
    elided = painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, int(rect.width()))
    painter.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter, elided)


def _paint_tokens(
    item: PaintedNode, painter: QPainter, fonts: dict, param: Param, rect: QRectF
) -> None:
    if param.type is not PortType.STRING:
        return
    count, exact = item.tokens.get(param.name, (0, False))
    text = f"{count} tokens" if exact else f"~{count} tokens"
    painter.setFont(fonts["small"])
    painter.setPen(style.WARN if count > style.TOKEN_LIMIT else style.TEXT_DIM)
    if count > style.TOKEN_LIMIT:
        text += f" · over {style.TOKEN_LIMIT}: encoded in chunks"
    painter.drawText(
        QRectF(rect.left(), rect.bottom() + 2, rect.width(), style.TOKEN_ROW_H),
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
        text,
    )
    painter.setFont(fonts["label"])


def _paint_unknown(item: PaintedNode, painter: QPainter, fonts: dict) -> None:
    y = item.ports_bottom
    painter.setPen(QColor("#ffb3ad"))
    painter.drawText(
        QRectF(style.PAD, y, item.width - 2 * style.PAD, style.ROW_H),
        Qt.AlignmentFlag.AlignVCenter,
        f"Unknown node type “{item.type_id}”",
    )
    y += style.ROW_H
    painter.setPen(style.TEXT_DIM)
    for name, value in item.values.items():
        text = painter.fontMetrics().elidedText(
            f"{name}: {value!r}", Qt.TextElideMode.ElideRight, int(item.width - 2 * style.PAD)
        )
        painter.drawText(
            QRectF(style.PAD, y, item.width - 2 * style.PAD, style.PARAM_ROW_H),
            Qt.AlignmentFlag.AlignVCenter,
            text,
        )
        y += style.PARAM_ROW_H


def _seconds(seconds: float) -> str:
    if seconds < 0.01:
        return "<0.01 s"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


_FONTS: dict[str, Any] = {}


def fonts_() -> dict[str, Any]:
    """Fonts made once (a QFont needs the application to exist, so not at import)."""
    if not _FONTS:
        _FONTS["title"] = style.ui_font(9.5, bold=True)
        _FONTS["label"] = style.ui_font(8.5)
        _FONTS["small"] = style.ui_font(8)
    return _FONTS
