"""Where everything inside a node goes, top to bottom, as plain geometry.

Below the title bar: one row per input/output pair (inputs left, outputs right); one row
per param (label left, widget right, a socket on the left edge when the param is
linkable; multi-line text takes the whole width, with its token count under it); for a
type that is not installed, one line per stored value; then the preview image. Everything
is in node coordinates, computed from the node's size and type alone, so the item, its
widgets and its painting all place things from one answer.

The preview never sets the node's size: it is fitted, aspect kept and centred, into the
room below the content — the height the user resized the node to, or, for a node of no
stored height, the ``room`` its item found free below it when the first image came (a
live preview that grew the node covered the node underneath).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QRectF, QSize

from desktop.canvas import style
from desktop.canvas.params import is_full_width, row_height
from nodes.api import Param


@dataclass(slots=True)
class NodeLayout:
    """The result of :func:`layout_node`, in node coordinates."""

    input_ys: list[float] = field(default_factory=list)
    """The center of each input port, in order (at x 0)."""
    output_ys: list[float] = field(default_factory=list)
    """The center of each output port, in order (at x = the width)."""
    ports_bottom: float = style.TITLE_H
    """Where the port rows end (an unknown type lists its values from there)."""
    params_top: float = style.TITLE_H
    """Where the param rows (and the widget panel) start."""
    rows: list[tuple[Param, float, QRectF]] = field(default_factory=list)
    """(param, row top, widget rect) for each param."""
    socket_ys: dict[str, float] = field(default_factory=dict)
    """The center of each param's socket, by param name (at x 0)."""
    preview_rect: QRectF = field(default_factory=QRectF)
    """Where the preview image goes; empty when there is none."""
    height: float = style.TITLE_H
    """The expanded node's height."""
    content_height: float = style.TITLE_H
    """The height of everything but the preview (the least a resize may leave)."""


def layout_node(
    width: float,
    inputs: int,
    outputs: int,
    params: Sequence[Param],
    unknown_values: int | None = None,
    preview: QSize | None = None,
    height: float | None = None,
    room: float | None = None,
) -> NodeLayout:
    """Lay out a node ``width`` wide with that many ports and those params.

    ``unknown_values`` is the number of stored values of a type that is not installed
    (None for installed types); ``preview`` the size of the image shown, if any;
    ``height`` the node's stored height (None: what the content needs); ``room`` the most
    height a preview may take below the content when no height is stored (None: the
    image's own height at the node's width).
    """
    out = NodeLayout()
    y = style.TITLE_H + 6
    out.input_ys = [y + (i + 0.5) * style.ROW_H for i in range(inputs)]
    out.output_ys = [y + (i + 0.5) * style.ROW_H for i in range(outputs)]
    y += max(inputs, outputs) * style.ROW_H
    out.ports_bottom = y
    if params:
        y += 2
    out.params_top = y
    label_w = (width - 2 * style.PAD) * style.LABEL_FRACTION
    for param in params:
        if is_full_width(param):
            rect = QRectF(style.PAD, y + 2, width - 2 * style.PAD, style.MULTILINE_H)
            socket_y = y + 12
        else:
            x0 = style.PAD + label_w
            top = y + (style.PARAM_ROW_H - style.WIDGET_H) / 2
            rect = QRectF(x0, top, width - style.PAD - x0, style.WIDGET_H)
            socket_y = y + style.PARAM_ROW_H / 2
        out.rows.append((param, y, rect))
        if param.linkable:
            out.socket_ys[param.name] = socket_y
        y += row_height(param)
    if unknown_values is not None:
        y += unknown_values * style.PARAM_ROW_H + style.ROW_H
    y += 6
    out.content_height = y
    if height is not None:
        available = max(0.0, height - y - style.PAD)
    elif preview is not None:
        inner = width - 2 * style.PAD
        natural = inner * preview.height() / max(1, preview.width())
        available = natural if room is None else max(0.0, min(room, natural))
    else:
        available = 0.0
    if preview is not None and available >= 1:
        out.preview_rect = fit_preview(
            preview, QRectF(style.PAD, y, width - 2 * style.PAD, available)
        )
    if height is not None:
        out.height = max(y, height)
    elif available >= 1:
        out.height = y + available + style.PAD
    else:
        out.height = y
    return out


def fit_preview(image: QSize, area: QRectF) -> QRectF:
    """The largest rect of ``image``'s aspect ratio inside ``area``, centred on it."""
    ratio = image.height() / max(1, image.width())
    width = min(area.width(), area.height() / ratio) if ratio > 0 else area.width()
    height = width * ratio
    return QRectF(
        area.left() + (area.width() - width) / 2,
        area.top() + (area.height() - height) / 2,
        width,
        height,
    )
