"""Reroute dots on links: double-click a link to insert one, drag it, undo it, run it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QPainterPath
from PySide6.QtTest import QTest

from desktop.canvas import style
from desktop.canvas.reroute import RerouteItem
from desktop.canvas.view import CanvasView
from desktop.document import Document
from desktop.node_search import rank_node_types
from nodes.events import NodeResult, RunStatus
from nodes.executor import Executor
from nodes.graph import Link
from nodes.ports import PortType
from nodes.registry import Registry
from nodes.validation import validate

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier


@pytest.fixture
def canvas_size() -> tuple[int, int]:
    """The conftest's ``canvas``, shown smaller."""
    return (1200, 800)


def vp(view: CanvasView, scene_pos: QPointF) -> QPoint:
    return view.mapFromScene(scene_pos)


def int_to_display(document: Document) -> tuple[str, str]:
    source = document.add_node("primitive.int", (0, 0))
    target = document.add_node("utility.display", (500, 160))
    document.connect_ports(source, "value", target, "value")
    document.set_param(source, "value", 42)
    return source, target


def double_click_link(view: CanvasView, target: str) -> QPointF:
    middle = view.canvas_scene.links[(target, "value")].path().pointAtPercent(0.5)
    QTest.mouseDClick(view.viewport(), LEFT, NO_MOD, vp(view, middle))
    return middle


def start_of(path: QPainterPath) -> QPointF:
    first = path.elementAt(0)
    return QPointF(first.x, first.y)


def the_reroute(document: Document) -> str:
    ids = [n.id for n in document.graph if n.type == "utility.reroute"]
    assert len(ids) == 1
    return ids[0]


def test_double_click_on_a_link_inserts_a_reroute_as_one_undo_step(
    canvas: CanvasView, document: Document
) -> None:
    source, target = int_to_display(document)
    canvas.fit_view()
    count = document.undo_stack.count()
    middle = double_click_link(canvas, target)
    dot = the_reroute(document)
    assert sorted(document.graph.links, key=lambda link: link.target) == sorted(
        [Link(source, "value", dot, "value"), Link(dot, "value", target, "value")],
        key=lambda link: link.target,
    )
    assert document.undo_stack.count() == count + 1
    assert document.undo_stack.undoText() == "Add reroute"
    item = canvas.canvas_scene.nodes[dot]
    assert item.sceneBoundingRect().center().x() == pytest.approx(middle.x(), abs=1)
    assert item.sceneBoundingRect().center().y() == pytest.approx(middle.y(), abs=1)
    assert not canvas.search_popup.isVisible()

    document.undo_stack.undo()
    assert len(document.graph) == 2
    assert document.graph.links == [Link(source, "value", target, "value")]
    assert set(canvas.canvas_scene.nodes) == {source, target}
    assert list(canvas.canvas_scene.links) == [(target, "value")]
    document.undo_stack.redo()
    assert len(document.graph.links) == 2


def test_the_reroute_is_a_small_dot_with_links_at_its_center(
    canvas: CanvasView, document: Document
) -> None:
    source, target = int_to_display(document)
    canvas.fit_view()
    double_click_link(canvas, target)
    dot = the_reroute(document)
    item = canvas.canvas_scene.nodes[dot]
    assert isinstance(item, RerouteItem) and item.is_reroute
    rect = item.boundingRect()
    assert rect.width() == rect.height() == style.REROUTE_D
    assert item.proxy is None and not item.needs_widgets
    center = item.mapToScene(rect.center())
    links = canvas.canvas_scene.links
    assert links[(dot, "value")].path().currentPosition() == center  # ends at the dot
    assert start_of(links[(target, "value")].path()) == center  # leaves from the dot
    # colored by what flows in: INT, also on the link leaving it (ANY → ANY)
    assert item.flow_type() is PortType.INT
    assert links[(target, "value")].port_type is PortType.INT
    # a regular node is still a full card
    assert canvas.canvas_scene.nodes[source].boundingRect().width() > 100


def test_an_unconnected_reroute_is_grey(canvas: CanvasView, document: Document) -> None:
    dot = document.add_node("utility.reroute", (0, 0))
    item = canvas.canvas_scene.nodes[dot]
    assert isinstance(item, RerouteItem)
    assert item.flow_type() is None
    assert item.boundingRect().width() == style.REROUTE_D
    canvas.viewport().grab()  # paints without error


def test_reroute_is_not_offered_by_the_search(registry: Registry) -> None:
    assert "utility.reroute" not in [cls.type_id for cls in rank_node_types(registry, "reroute")]


def test_dragging_the_dot_moves_it_as_one_undo_step(canvas: CanvasView, document: Document) -> None:
    _source, target = int_to_display(document)
    canvas.fit_view()
    double_click_link(canvas, target)
    dot = the_reroute(document)
    item = canvas.canvas_scene.nodes[dot]
    before = document.graph.nodes[dot].position
    count = document.undo_stack.count()
    start = item.mapToScene(item.boundingRect().center())
    end = start + QPointF(0, 100) / canvas.zoom()
    viewport = canvas.viewport()
    a, b = vp(canvas, start), vp(canvas, end)
    QTest.mouseMove(viewport, a)
    QTest.mousePress(viewport, LEFT, NO_MOD, a)
    for i in range(1, 7):
        QTest.mouseMove(viewport, a + (b - a) * i / 6)
    QTest.mouseRelease(viewport, LEFT, NO_MOD, b)
    x, y = document.graph.nodes[dot].position
    assert x == pytest.approx(before[0], abs=2)
    assert y == pytest.approx(before[1] + 100, abs=3)
    assert document.undo_stack.count() == count + 1
    assert len(document.graph.links) == 2  # a move, not a link drag
    center = item.mapToScene(item.boundingRect().center())
    assert start_of(canvas.canvas_scene.links[(target, "value")].path()) == center
    document.undo_stack.undo()
    assert document.graph.nodes[dot].position == before


def test_delete_removes_the_reroute_and_its_links(canvas: CanvasView, document: Document) -> None:
    _source, target = int_to_display(document)
    canvas.fit_view()
    double_click_link(canvas, target)
    dot = the_reroute(document)
    canvas.select_nodes([dot])
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key.Key_Delete)
    assert dot not in document.graph.nodes
    assert document.graph.links == []


def test_graph_with_a_reroute_validates_and_runs(canvas: CanvasView, document: Document) -> None:
    source, target = int_to_display(document)
    canvas.fit_view()
    double_click_link(canvas, target)
    dot = the_reroute(document)
    graph = document.graph
    assert validate(graph) == []
    events: list = []
    outcome = Executor().run(graph, emit=events.append)
    assert outcome.status is RunStatus.DONE
    assert outcome.plan.index(source) < outcome.plan.index(dot) < outcome.plan.index(target)
    texts = {e.node_id: e.text for e in events if isinstance(e, NodeResult)}
    assert texts[target] == "42"
