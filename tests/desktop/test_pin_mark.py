"""A pinned node shows a pushpin on its title bar (the tooltip alone said it)."""

from __future__ import annotations

from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem

from desktop.canvas import style
from desktop.canvas.view import CanvasView
from desktop.document import Document
from tests.desktop.canvas_helpers import node


def _title_bar(item) -> QImage:
    image = QImage(int(item.width), int(style.TITLE_H), QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    item.paint(painter, QStyleOptionGraphicsItem(), None)
    painter.end()
    return image


def test_a_pinned_node_draws_a_pin_and_unpinning_removes_it(
    canvas: CanvasView, document: Document
) -> None:
    node_id = document.add_node("latent.empty", (0, 0))
    item = node(canvas, node_id)
    plain = _title_bar(item)
    document.set_node_attr([node_id], "pinned", True, "Pin")
    assert item.pinned
    pinned = _title_bar(item)
    assert pinned != plain
    changed = [
        x
        for x in range(pinned.width())
        for y in range(pinned.height())
        if pinned.pixel(x, y) != plain.pixel(x, y)
    ]
    assert min(changed) > item.width / 2  # at the right, beside the badge, not on the title
    document.undo_stack.undo()
    assert not item.pinned and _title_bar(item) == plain
