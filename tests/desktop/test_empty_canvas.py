"""File › New is an empty canvas that says how to start; the hint follows the graph and
lets clicks and drops through; an imported ComfyUI file says where its notes and the nodes
Daguerre cannot run are listed."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from desktop.canvas.empty_hint import LINES
from desktop.canvas.view import CanvasView
from desktop.document import Document
from desktop.files import import_summary
from tests.comfy.comfy_docs import UIDoc
from tests.desktop.canvas_helpers import LEFT, NO_MOD


def test_file_new_is_an_empty_canvas_with_the_hint(window) -> None:
    assert len(window.document.graph) > 0  # the app still starts with txt2img
    assert not window.canvas.empty_hint.isVisible()
    window.actions_by_name["new"].trigger()
    assert len(window.document.graph) == 0 and not window.document.graph.groups
    assert window.document.path is None
    hint = window.canvas.empty_hint
    assert hint.isVisible()
    text = hint.text()
    for words in ("Double-click", "Tab", "Nodes panel", "Drop an image or a workflow"):
        assert words in text
    assert hint.geometry() == window.canvas.viewport().geometry()
    # the templates are still one menu away
    titles = [a.text() for a in window.template_menu.actions()]
    assert "Text to image" in titles
    next(a for a in window.template_menu.actions() if a.text() == "Text to image").trigger()
    assert "sampler" in window.document.graph.nodes and not hint.isVisible()


def test_the_hint_follows_the_graph(canvas: CanvasView, document: Document) -> None:
    hint = canvas.empty_hint
    assert hint.isVisible()  # the fixture's document starts empty
    node = document.add_node("primitive.int", (0, 0))
    assert not hint.isVisible()
    document.remove([node])
    assert hint.isVisible()
    document.undo_stack.undo()
    assert not hint.isVisible()
    document.new()
    assert hint.isVisible()
    document.add_group("Group", (0, 0, 200, 100))
    assert not hint.isVisible()  # a group is content too


def test_the_hint_lets_double_clicks_and_keys_reach_the_canvas(canvas: CanvasView) -> None:
    hint = canvas.empty_hint
    assert hint.isVisible()
    assert hint.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    center = canvas.viewport().rect().center()
    assert canvas.childAt(canvas.viewport().mapTo(canvas, center)) is not hint
    QTest.mouseDClick(canvas.viewport(), LEFT, NO_MOD, center)
    assert canvas.search_popup.isVisible()
    canvas.search_popup.close_popup()
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key.Key_Tab)
    assert canvas.search_popup.isVisible()


def test_the_hint_paints_its_lines(canvas: CanvasView) -> None:
    image = canvas.empty_hint.grab().toImage()
    assert not image.isNull() and image.width() > 0
    assert len(LINES) == 3


def test_import_summary_says_where_to_look() -> None:
    assert import_summary(0, 0) == ""
    assert import_summary(2, 0) == " — 2 import notes (see the Log tab)"
    assert import_summary(1, 1) == (
        " — 1 node Daguerre cannot run (see Problems), 1 import note (see the Log tab)"
    )
    assert "Problems panel" not in import_summary(3, 2)


def _comfy_with_a_custom_node() -> dict:
    d = UIDoc()
    d.node(
        1,
        "CheckpointLoaderSimple",
        ["sd\\v1-5.safetensors"],  # read with / separators: an import note
        (),
        (("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")),
    )
    d.node(2, "WAS_Image_Blend", [0.5], (("image_a", "IMAGE"),), (("IMAGE", "IMAGE"),))
    return d.doc()


def test_an_imported_file_says_where_its_notes_and_placeholders_are(window, tmp_path: Path) -> None:
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(_comfy_with_a_custom_node()))
    assert window.files.open_file(path)
    message = window.statusBar().currentMessage()
    assert "1 node Daguerre cannot run (see Problems)" in message
    assert "1 import note (see the Log tab)" in message
    assert any("read with / separators" in line for line in window.problems.log_lines())


def test_file_new_then_drop_a_workflow(window, tmp_path: Path) -> None:
    window.actions_by_name["new"].trigger()
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(_comfy_with_a_custom_node()))
    window.canvas.filesDropped.emit([str(path)], QPointF(0, 0))
    assert {"1", "2"} <= set(window.document.graph.nodes)
    assert not window.canvas.empty_hint.isVisible()


def test_an_imported_files_placeholders_are_listed_under_problems_on_open(
    qtbot, window, tmp_path: Path
) -> None:
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(_comfy_with_a_custom_node()))
    assert window.files.open_file(path)
    qtbot.waitUntil(
        lambda: any(p.node_id == "2" for p in window.run_state.problems), timeout=10_000
    )
    problem = next(p for p in window.run_state.problems if p.node_id == "2")
    assert "WAS_Image_Blend" in problem.message
    assert window.problems.problem_count() >= 1
    assert window.problems.tabs.currentWidget() is window.problems.problems
    assert window.run_state.runs == {}  # listed without pressing Run
