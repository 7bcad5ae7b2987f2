"""Placing new nodes: next to where they were asked for, on screen, on no other node —
from a link dropped on empty canvas, the node library (click and drag) and the search."""

from __future__ import annotations

import itertools

from PySide6.QtCore import QMimeData, QPointF, QRectF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.canvas.placement import free_spot, node_size
from desktop.canvas.view import CanvasView
from desktop.document import Document
from desktop.mime import NODE_TYPE_MIME
from nodes.graph import Link
from tests.desktop.canvas_helpers import LEFT, NO_MOD, mouse_drag, port


def _rects(canvas: CanvasView) -> dict[str, QRectF]:
    QApplication.processEvents()
    return {n: item.sceneBoundingRect() for n, item in canvas.canvas_scene.nodes.items()}


def _no_overlaps(canvas: CanvasView) -> None:
    rects = _rects(canvas)
    for (a, r), (b, s) in itertools.combinations(rects.items(), 2):
        assert not r.intersects(s), f"{a} overlaps {b}"


def test_free_spot_keeps_a_free_wish_and_moves_off_the_nearest_obstacle() -> None:
    size = (100.0, 50.0)
    screen = QRectF(0, 0, 1000, 800)
    assert free_spot(size, QPointF(300, 300), [], screen) == QPointF(300, 300)
    block = QRectF(280, 280, 200, 100)
    spot = free_spot(size, QPointF(300, 300), [block], screen, margin=20)
    placed = QRectF(spot.x(), spot.y(), *size)
    assert not placed.intersects(block.adjusted(-20, -20, 20, 20))
    # the nearest way out of a 200 × 100 block, from 20 px inside its corner, is down
    assert spot == QPointF(300, 400)


def test_free_spot_pulls_the_node_on_screen_and_prefers_free_spots_there() -> None:
    size = (100.0, 50.0)
    screen = QRectF(0, 0, 1000, 800)
    spot = free_spot(size, QPointF(2000, -400), [], screen, margin=20)
    assert screen.contains(QRectF(spot.x(), spot.y(), *size))
    # the screen's bottom-right corner is taken: the node goes above it, still on screen
    corner = QRectF(860, 700, 140, 100)
    spot = free_spot(size, QPointF(950, 780), [corner], screen, margin=20)
    placed = QRectF(spot.x(), spot.y(), *size)
    assert screen.contains(placed) and not placed.intersects(corner)


def test_a_node_from_a_link_drop_lands_by_its_source_and_on_no_node(
    canvas: CanvasView, document: Document
) -> None:
    checkpoint = document.add_node("loaders.checkpoint", (0, 0))
    canvas.fit_view()
    start = port(canvas, checkpoint, "vae", True).scenePos()
    # the link is dropped on empty canvas just above a node the new one would cover
    drop_at = start + QPointF(200, 40)
    document.add_node("latent.empty", (drop_at.x() + 30, drop_at.y() + 20))
    mouse_drag(canvas, start, drop_at)
    popup = canvas.search_popup
    assert popup.isVisible()
    QTest.keyClicks(popup.field, "decode")
    QTest.keyClick(popup.field, Qt.Key.Key_Return)
    decode = next(n.id for n in document.graph if n.type == "vae.decode")
    assert document.graph.link_into(decode, "vae") == Link(checkpoint, "vae", decode, "vae")
    _no_overlaps(canvas)
    rect = _rects(canvas)[decode]
    assert canvas.visible_scene_rect().contains(rect)
    assert rect.left() >= _rects(canvas)[checkpoint].right() - 1, "right of its source"
    assert (rect.center() - drop_at).manhattanLength() < 600, "near the drop"
    document.undo_stack.undo()  # placed, added and connected in one step
    assert [n.type for n in document.graph] == ["loaders.checkpoint", "latent.empty"]


def test_library_adds_go_beside_the_selection_or_mid_view_never_on_a_node(
    canvas: CanvasView, document: Document
) -> None:
    checkpoint = document.add_node("loaders.checkpoint", (0, 0))
    canvas.fit_view()
    canvas.select_nodes([checkpoint])
    encode = canvas.add_node_placed("conditioning.text_encode")
    assert encode is not None and canvas.selected_nodes() == [encode]
    rects = _rects(canvas)
    assert rects[encode].left() > rects[checkpoint].right()
    assert abs(rects[encode].top() - rects[checkpoint].top()) < 200
    # nothing selected: three more in the middle of the view, each on a free spot
    canvas.select_nodes([])
    for _ in range(3):
        canvas.select_nodes([])
        assert canvas.add_node_placed("latent.empty") is not None
    _no_overlaps(canvas)
    visible = canvas.visible_scene_rect()
    assert all(visible.contains(r) for r in _rects(canvas).values())
    assert canvas.add_node_placed("no.such_type") is None


def test_a_node_dragged_from_the_library_onto_a_node_moves_off_it(
    canvas: CanvasView, document: Document
) -> None:
    document.add_node("loaders.checkpoint", (0, 0))
    canvas.fit_view()
    at = canvas.mapFromScene(QPointF(40, 40))
    mime = QMimeData()
    mime.setData(NODE_TYPE_MIME, b"latent.empty")
    viewport = canvas.viewport()
    action = Qt.DropAction.CopyAction
    QApplication.sendEvent(viewport, QDragEnterEvent(at, action, mime, LEFT, NO_MOD))
    QApplication.sendEvent(viewport, QDragMoveEvent(at, action, mime, LEFT, NO_MOD))
    QApplication.sendEvent(viewport, QDropEvent(QPointF(at), action, mime, LEFT, NO_MOD))
    assert len(document.graph) == 2
    _no_overlaps(canvas)


def test_node_size_matches_the_item_the_canvas_draws(
    canvas: CanvasView, document: Document
) -> None:
    for type_id in ("loaders.checkpoint", "sampling.sampler", "utility.reroute"):
        node_id = document.add_node(type_id, (0, 0))
        item = canvas.canvas_scene.nodes[node_id]
        cls = document.registry[type_id]
        assert node_size(cls) == (item.body_rect().width(), item.body_rect().height())
