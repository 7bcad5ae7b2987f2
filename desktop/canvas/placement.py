"""Where a new node goes: next to where it was asked for, on screen, on no other node.

A node made from a link dropped on empty canvas, from the node library (a click or a
drag) or from the node search is first given the spot the gesture implies (the drop
point; to the right of the selected node; the middle of the view). :func:`free_spot` then
moves it as little as it can so that it overlaps no node already there and lies inside
the visible part of the canvas: candidate spots are tried nearest first, on a grid, so the
answer is deterministic and close to what the user pointed at.

The size of the node is known before it exists: :func:`node_size` lays the type out as the
node item will (:func:`desktop.canvas.node_layout.layout_node`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from PySide6.QtCore import QPointF, QRectF

from desktop.canvas import style
from desktop.canvas.node_layout import layout_node
from nodes.api import Node

MARGIN = 20.0
"""The least space kept between the new node and the others."""
STEP = 20.0
"""The grid candidate spots lie on (the canvas grid)."""
REACH = 40
"""How many steps away from the wanted spot candidates go, in each direction."""
GAP = 60.0
"""Space between a node and one placed beside it."""


def node_size(cls: type[Node]) -> tuple[float, float]:
    """A new node's width and height as the canvas will draw it."""
    if cls.type_id == "utility.reroute":
        return (style.REROUTE_D, style.REROUTE_D)
    layout = layout_node(style.NODE_WIDTH, len(cls.inputs), len(cls.outputs), cls.params)
    return (style.NODE_WIDTH, layout.height)


def free_spot(
    size: tuple[float, float],
    wanted: QPointF,
    obstacles: Iterable[QRectF],
    visible: QRectF | None = None,
    margin: float = MARGIN,
) -> QPointF:
    """The top-left corner nearest ``wanted`` where a node of ``size`` overlaps none of
    ``obstacles`` (kept ``margin`` apart) and, when it fits, lies inside ``visible``.

    Spots inside ``visible`` are preferred to any outside; when nothing near is free the
    wanted spot (pulled on screen) is returned, so the node is never lost off-screen.
    """
    width, height = size
    start = QPointF(wanted)
    if visible is not None and not visible.isEmpty():
        start = _inside(start, size, visible)
    reach = REACH * STEP
    region = QRectF(start.x() - reach, start.y() - reach, 2 * reach + width, 2 * reach + height)
    blocked = [
        (r.left() - margin, r.top() - margin, r.right() + margin, r.bottom() + margin)
        for r in obstacles
        if r.intersects(region)
    ]
    fallback: QPointF | None = None
    for dx, dy in _offsets():
        x, y = start.x() + dx * STEP, start.y() + dy * STEP
        right, bottom = x + width, y + height
        if any(x < r and left < right and y < b and top < bottom for left, top, r, b in blocked):
            continue
        rect = QRectF(x, y, width, height)
        if visible is None or visible.isEmpty() or _fits(rect, visible):
            return QPointF(x, y)
        if fallback is None:
            fallback = QPointF(x, y)
    return fallback if fallback is not None else start


def beside(rect: QRectF) -> QPointF:
    """The spot just right of ``rect`` (a node's bounds), tops aligned."""
    return QPointF(rect.right() + GAP, rect.top())


def _inside(point: QPointF, size: tuple[float, float], visible: QRectF) -> QPointF:
    """``point`` moved so a node of ``size`` there lies inside ``visible`` (its top-left
    kept visible when the node is bigger than the view)."""
    x = min(max(point.x(), visible.left() + MARGIN), visible.right() - MARGIN - size[0])
    y = min(max(point.y(), visible.top() + MARGIN), visible.bottom() - MARGIN - size[1])
    return QPointF(max(x, visible.left()), max(y, visible.top()))


def _fits(rect: QRectF, visible: QRectF) -> bool:
    return visible.contains(rect) or (
        (rect.width() > visible.width() or rect.height() > visible.height())
        and visible.contains(rect.topLeft())
    )


_OFFSETS: list[tuple[int, int]] | None = None


def _offsets() -> list[tuple[int, int]]:
    """Grid offsets within :data:`REACH`, nearest first; straight down and right before
    up and left at equal distances (a new node usually goes below or after)."""
    global _OFFSETS  # noqa: PLW0603 - computed once, on first use
    if _OFFSETS is None:
        steps = range(-REACH, REACH + 1)
        _OFFSETS = sorted(
            ((dx, dy) for dx in steps for dy in steps),
            key=lambda d: (math.hypot(d[0], d[1]), d[0] < 0, d[1] < 0, abs(d[0]), d[1]),
        )
    return _OFFSETS
