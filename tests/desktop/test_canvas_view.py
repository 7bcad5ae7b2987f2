"""What the canvas shows at the zoom it opens with: Fit stops at a readable minimum (and
scrolls instead), zoomed-out nodes keep their titles and port names where a row has room,
the view keeps its centre through resizes, and problem highlights mark the right port."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication, QStyleOptionGraphicsItem

from desktop.canvas import style
from desktop.canvas.node_item import NodeItem
from desktop.canvas.node_paint import proxy_port_points
from desktop.canvas.view import CanvasView
from desktop.document import Document
from nodes.events import Problem
from tests.desktop.canvas_helpers import node


@pytest.fixture
def canvas_size() -> tuple[int, int]:
    return (800, 450)  # the canvas of a 1440×900 window with the banner and Runs dock


def _row(document: Document, count: int, gap: float) -> list[str]:
    return [document.add_node("latent.empty", (i * gap, 0)) for i in range(count)]


def _centre(canvas: CanvasView) -> QPointF:
    return canvas.mapToScene(canvas.viewport().rect().center())


def test_fit_never_zooms_below_the_readable_minimum_and_shows_the_start(
    canvas: CanvasView, document: Document
) -> None:
    ids = _row(document, 12, 400)  # 4,660 units wide: far too wide for 800 px at 0.5
    canvas.fit_view()
    assert canvas.zoom() == pytest.approx(style.FIT_ZOOM_MIN)
    visible = canvas.visible_scene_rect()
    first = node(canvas, ids[0]).sceneBoundingRect()
    assert visible.contains(first)  # the workflow's start, whole, at the left
    assert visible.left() < first.left() < visible.left() + 60
    assert not visible.contains(node(canvas, ids[-1]).sceneBoundingRect())  # a scroll away


def test_fit_shows_a_small_graph_whole_and_centred(canvas: CanvasView, document: Document) -> None:
    ids = _row(document, 3, 400)
    canvas.fit_view()
    assert style.FIT_ZOOM_MIN <= canvas.zoom() <= 1.0
    bounds = canvas.canvas_scene.nodes_bounding_rect()
    assert canvas.visible_scene_rect().contains(bounds)
    assert _centre(canvas).x() == pytest.approx(bounds.center().x(), abs=2 / canvas.zoom())
    for node_id in ids:
        assert node(canvas, node_id).detail  # full nodes, with their fields


def test_fit_centres_a_graph_only_a_little_too_big(canvas: CanvasView, document: Document) -> None:
    # 1,560 units fit 800 px at 0.5 without Fit's margins, not with them
    ids = _row(document, 2, 1560 - style.NODE_WIDTH)
    canvas.fit_view()
    assert canvas.zoom() == pytest.approx(style.FIT_ZOOM_MIN)
    bounds = canvas.canvas_scene.nodes_bounding_rect()
    assert _centre(canvas).x() == pytest.approx(bounds.center().x(), abs=2 / canvas.zoom())
    for node_id in ids:
        assert canvas.visible_scene_rect().contains(node(canvas, node_id).sceneBoundingRect())


def test_the_view_keeps_its_centre_when_resized(canvas: CanvasView, document: Document) -> None:
    _row(document, 4, 400)
    canvas.fit_view()
    QApplication.processEvents()
    before = _centre(canvas)
    for width, height in ((640, 360), (1201, 777), (803, 451), (1440, 900), (800, 450)):
        canvas.resize(width, height)
        QApplication.processEvents()
        after = _centre(canvas)
        tolerance = 1.0 / canvas.zoom()  # a pixel
        assert after.x() == pytest.approx(before.x(), abs=tolerance), (width, height)
        assert after.y() == pytest.approx(before.y(), abs=tolerance), (width, height)


# ------------------------------------------------------------------ painting
def _render(item: NodeItem, scale: float) -> QImage:
    """The node's own painting (not its ports or widgets) at ``scale``, on black."""
    rect = item.boundingRect()
    image = QImage(
        int(rect.width() * scale) + 1, int(rect.height() * scale) + 1, QImage.Format.Format_RGB32
    )
    image.fill(QColor("black"))
    painter = QPainter(image)
    painter.scale(scale, scale)
    painter.translate(-rect.left(), -rect.top())
    item.paint(painter, QStyleOptionGraphicsItem(), None)
    painter.end()
    return image


def _count(image: QImage, item: NodeItem, scale: float, area: QRectF, test) -> int:
    """How many pixels inside ``area`` (node coordinates) pass ``test``."""
    origin = item.boundingRect().topLeft()
    left = int((area.left() - origin.x()) * scale)
    top = int((area.top() - origin.y()) * scale)
    right = int((area.right() - origin.x()) * scale)
    bottom = int((area.bottom() - origin.y()) * scale)
    return sum(
        1 for x in range(left, right) for y in range(top, bottom) if test(image.pixelColor(x, y))
    )


def _row_rect(item: NodeItem, index: int, left: bool) -> QRectF:
    top = style.TITLE_H + 6 + index * style.ROW_H
    x = style.PAD if left else item.width / 2
    return QRectF(x, top + 2, item.width / 2 - style.PAD - 1, style.ROW_H - 4)


def _text_on_body(color: QColor) -> bool:
    return abs(color.lightness() - style.NODE_BODY.lightness()) > 40


def test_zoomed_out_nodes_show_port_names_where_a_row_has_room(
    canvas: CanvasView, document: Document
) -> None:
    item = node(canvas, document.add_node("sampling.sampler", (0, 0)))
    assert proxy_port_points(0.45) is not None
    assert proxy_port_points(0.2) is None  # a row is 4 px high there: no name fits
    outputs = _row_rect(item, 0, left=False)  # "latent"
    inputs = _row_rect(item, 2, left=True)  # "positive"
    at_045 = _render(item, 0.45)
    assert _count(at_045, item, 0.45, outputs, _text_on_body) > 0
    assert _count(at_045, item, 0.45, inputs, _text_on_body) > 0
    at_02 = _render(item, 0.2)
    assert _count(at_02, item, 0.2, inputs, _text_on_body) == 0
    # the title is still there, on its band
    band = QRectF(style.PAD, 2, item.width / 2, style.TITLE_H - 4)
    assert _count(at_02, item, 0.2, band, lambda c: c.lightness() > 200) > 0


def _error_red(color: QColor) -> bool:
    return color.red() > 170 and color.green() < 150 and color.red() - color.blue() > 60


@pytest.mark.parametrize("scale", [2.0, 0.45])
def test_a_problem_marks_the_input_not_the_output_of_the_same_name(
    canvas: CanvasView, document: Document, scale: float
) -> None:
    sampler = document.add_node("sampling.sampler", (0, 0))
    item = node(canvas, sampler)
    item.set_problems([Problem(sampler, "latent", "missing link")])
    image = _render(item, scale)
    latent_in = _row_rect(item, 4, left=True)  # the fifth input
    latent_out = _row_rect(item, 0, left=False)  # the only output
    assert _count(image, item, scale, latent_in, _error_red) > 0
    assert _count(image, item, scale, latent_out, _error_red) == 0
    item.set_problems([])
    assert _count(_render(item, scale), item, scale, latent_in, _error_red) == 0
