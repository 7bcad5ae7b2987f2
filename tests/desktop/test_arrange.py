"""Arrange and Make Room on the canvas: an imported ComfyUI graph whose nodes are taller
here than there comes apart without overlaps (one undo step); Arrange lays a messy graph
out in columns, moving groups with their nodes and working round pinned nodes."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from PySide6.QtWidgets import QApplication

from desktop.canvas.arranging import arrange_graph, make_room
from desktop.canvas.view import CanvasView
from desktop.document import Document
from nodes.workflow import save_file
from tests.comfy.comfy_docs import sd15_ui


def _overlaps(view: CanvasView) -> list[tuple[str, str]]:
    QApplication.processEvents()
    items = view.canvas_scene.nodes
    return [
        (a, b)
        for (a, r), (b, s) in itertools.combinations(items.items(), 2)
        if r.sceneBoundingRect().adjusted(4, 3, -4, -3).intersects(s.sceneBoundingRect())
    ]


def _squeezed_comfy_file(tmp_path: Path) -> Path:
    """sd15_ui with its nodes in one column, 60 px apart, as short as ComfyUI draws them."""
    doc = sd15_ui().doc()
    for i, raw in enumerate(sorted(doc["nodes"], key=lambda n: n["id"])):
        raw["pos"] = [100, 60 * i]
        raw["size"] = [300, 50]
    doc["groups"] = []
    path = tmp_path / "comfy.json"
    path.write_text(json.dumps(doc))
    return path


def test_an_imported_comfyui_graph_comes_apart_in_one_undo_step(window, tmp_path: Path) -> None:
    path = _squeezed_comfy_file(tmp_path)
    assert window.files.open_file(path)
    assert _overlaps(window.canvas) == []
    stack = window.document.undo_stack
    assert stack.count() == 1 and stack.undoText() == "Make room"
    graph = window.document.graph
    xs = {round(d.position[0]) for d in graph.nodes.values() if d.extra.get("comfy", {}).get("ui")}
    assert xs == {100}, "only moved down: the column stays a column"
    stack.undo()  # the file's own layout
    assert _overlaps(window.canvas) != []
    assert all(d.position[1] % 60 == 0 for d in graph.nodes.values() if d.extra["comfy"].get("ui"))


def test_a_daguerre_file_opens_as_it_was_saved(window, tmp_path: Path) -> None:
    document: Document = window.document
    a = document.add_node("primitive.int", (0, 0))
    document.add_node("primitive.int", (10, 10))
    path = tmp_path / "mine.json"
    save_file(document.graph, path)
    assert window.files.open_file(path)
    assert document.undo_stack.count() == 0 and document.graph.nodes[a].position == (0.0, 0.0)


def test_make_room_does_nothing_when_nothing_overlaps(
    canvas: CanvasView, document: Document
) -> None:
    document.add_node("primitive.int", (0, 0))
    document.add_node("primitive.int", (0, 400))
    count = document.undo_stack.count()
    assert make_room(canvas.canvas_scene) == 0
    assert document.undo_stack.count() == count


def test_make_room_grows_a_group_around_the_nodes_it_pushed(
    canvas: CanvasView, document: Document
) -> None:
    a = document.add_node("primitive.int", (0, 0))
    b = document.add_node("primitive.int", (0, 30))
    group = document.add_group("Inputs", (-20, -50, 300, 120))
    assert make_room(canvas.canvas_scene) == 1
    assert set(document.graph.nodes_in_group(group)) == {a, b}
    document.undo_stack.undo()
    assert document.graph.groups[group].rect == (-20, -50, 300, 120)


def test_arrange_refits_groups_and_leaves_pinned_nodes(
    canvas: CanvasView, document: Document
) -> None:
    value = document.add_node("primitive.int", (0, 0))
    show = document.add_node("utility.display", (5, 5))
    document.connect_ports(value, "value", show, "value")
    lone = document.add_node("primitive.float", (700, 700))
    document.set_node_attr([lone], "pinned", True)
    group = document.add_group("Pair", (-20, -50, 320, 200))
    assert arrange_graph(canvas.canvas_scene) == 1
    assert document.undo_stack.undoText() == "Arrange"
    assert document.graph.nodes[lone].position == (700.0, 700.0)
    assert document.graph.nodes[show].position[0] > document.graph.nodes[value].position[0]
    assert set(document.graph.nodes_in_group(group)) == {value, show}
    assert _overlaps(canvas) == []


def test_arrange_and_make_room_are_in_the_view_menu(window) -> None:
    document: Document = window.document
    for data in list(document.graph.nodes.values()):
        document.graph.set_position(data.id, 0.0, 0.0)
    view_menu = next(
        a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "View"
    )
    texts = [a.text().replace("&", "") for a in view_menu.actions()]
    assert "Arrange" in texts and "Make Room" in texts
    window.actions_by_name["make_room"].trigger()
    assert document.undo_stack.undoText() == "Make room"
    assert _overlaps(window.canvas) == []
    window.actions_by_name["arrange"].trigger()
    assert document.undo_stack.undoText() == "Arrange"
    assert _overlaps(window.canvas) == []
