"""Node sizes: the corner grip resizes a node (one undo step, saved as its ``size``), and a
preview or result image fits the node's room instead of growing it over its neighbours."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from desktop.bridge import EngineBridge
from desktop.canvas import style
from desktop.canvas.node_item import NodeItem
from desktop.canvas.node_preview import PREVIEW_GAP
from desktop.canvas.view import CanvasView
from desktop.document import Document
from nodes.events import NodeProgress, NodeResult, NodeStarted, RunStarted
from tests.desktop.canvas_helpers import mouse_drag, node


def _grip(item: NodeItem) -> QPointF:
    return item.mapToScene(QPointF(item.width - 4, item.height - 4))


def _image(height: int, width: int) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    image[..., 1] = 180
    return image


def _ratio(rect) -> float:
    return rect.height() / rect.width()


def test_the_grip_resizes_a_node_in_one_undo_step(canvas: CanvasView, document: Document) -> None:
    node_id = document.add_node("image.save", (0, 0))
    item = node(canvas, node_id)
    width, height = item.width, item.height
    steps = document.undo_stack.count()
    mouse_drag(canvas, _grip(item), _grip(item) + QPointF(120, 200), steps=8)
    assert item.width == pytest.approx(width + 120, abs=2)
    assert item.height == pytest.approx(height + 200, abs=2)
    assert document.graph.nodes[node_id].size == (item.width, item.height)
    assert document.undo_stack.count() == steps + 1
    assert document.undo_stack.undoText() == "Resize"
    document.undo_stack.undo()
    assert document.graph.nodes[node_id].size is None
    assert (item.width, item.height) == (width, height)
    document.undo_stack.redo()
    assert item.height == pytest.approx(height + 200, abs=2)


def test_a_node_is_never_resized_smaller_than_its_content(
    canvas: CanvasView, document: Document
) -> None:
    node_id = document.add_node("sampling.sampler", (0, 0))
    item = node(canvas, node_id)
    height = item.height
    mouse_drag(canvas, _grip(item), _grip(item) - QPointF(500, 500), steps=6)
    assert item.width == style.NODE_MIN_WIDTH
    assert item.height == pytest.approx(item.content_height(item.width))
    assert item.height <= height
    assert all(rect.bottom() <= item.height for _p, _t, rect in item.rows)


def test_a_stored_size_reopens_and_the_image_fits_its_room(
    canvas: CanvasView, document: Document, bridge: EngineBridge
) -> None:
    node_id = document.add_node("image.save", (0, 0))
    document.set_node_attr([node_id], "size", (300.0, 420.0))
    item = node(canvas, node_id)
    assert (item.width, item.height) == (300.0, 420.0)
    bridge.nodeResult.emit(NodeResult(1, node_id, images=(_image(512, 256),)))
    assert (item.width, item.height) == (300.0, 420.0)  # the picture takes the room it has
    rect = item.preview_rect
    assert not rect.isEmpty()
    assert rect.bottom() <= item.height - style.PAD + 0.5
    assert rect.left() >= style.PAD - 0.5 and rect.right() <= item.width - style.PAD + 0.5
    assert _ratio(rect) == pytest.approx(2.0, rel=0.01)  # aspect kept (a tall picture)
    assert rect.center().x() == pytest.approx(item.width / 2)  # and centred


def test_a_live_preview_never_grows_its_node_over_the_node_below(
    canvas: CanvasView, document: Document, bridge: EngineBridge
) -> None:
    sampler = document.add_node("sampling.sampler", (0, 0))
    item = node(canvas, sampler)
    below = document.add_node("image.save", (40, item.height + 150))
    neighbour = node(canvas, below)
    bridge.runStarted.emit(RunStarted(1, (sampler,)))
    bridge.nodeStarted.emit(NodeStarted(1, sampler))
    for step, size in enumerate((64, 96, 128), 1):  # the preview grows as the run goes
        bridge.nodeProgress.emit(NodeProgress(1, sampler, step, 3, _image(size, size)))
        bottom = item.sceneBoundingRect().bottom()
        assert bottom + PREVIEW_GAP <= neighbour.sceneBoundingRect().top() + 0.5
        assert not item.preview_rect.isEmpty()  # it shows, smaller, in the room there is
        assert _ratio(item.preview_rect) == pytest.approx(1.0, rel=0.01)
        assert item.preview_rect.bottom() <= item.height


def test_a_node_with_room_below_shows_its_preview_at_full_width(
    canvas: CanvasView, document: Document, bridge: EngineBridge
) -> None:
    save = document.add_node("image.save", (0, 0))
    item = node(canvas, save)
    height = item.height
    bridge.nodeResult.emit(NodeResult(1, save, images=(_image(64, 128),)))
    assert item.height > height
    assert item.preview_rect.width() == pytest.approx(item.width - 2 * style.PAD)
    bridge.nodeResult.emit(NodeResult(2, save, images=(_image(64, 128),)))
    assert item.preview_rect.width() == pytest.approx(item.width - 2 * style.PAD)
