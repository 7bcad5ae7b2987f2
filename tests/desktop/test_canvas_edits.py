"""Canvas edits a ComfyUI user expects: a primitive made from a param takes its value and
after-run mode, Alt+click removes a link a few pixels off it, and Ctrl+Shift+V pastes
nodes with their input links."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from desktop.canvas.view import CanvasView
from desktop.document import Document
from desktop.mime import workflow_mime_data
from nodes.graph import Link
from tests.desktop.canvas_helpers import LEFT, mouse_drag, node, port, vp


def _choose(canvas: CanvasView, type_id: str) -> None:
    """Pick ``type_id`` in the open node search with the keyboard."""
    popup = canvas.search_popup
    assert popup.isVisible()
    rows = [
        i
        for i in range(popup.results.count())
        if popup.results.item(i).data(Qt.ItemDataRole.UserRole) == type_id
    ]
    assert rows, f"{type_id} is not offered"
    popup.results.setCurrentRow(rows[0])
    QTest.keyClick(popup.field, Qt.Key.Key_Return)


def _drag_out_of(canvas: CanvasView, node_id: str, param: str) -> None:
    start = port(canvas, node_id, param, False).scenePos()
    mouse_drag(canvas, start, start - QPointF(260, 40))


@pytest.mark.parametrize(
    ("param", "primitive", "value"),
    [("seed", "primitive.seed", 123456789), ("steps", "primitive.int", 31)],
)
def test_a_primitive_made_from_a_param_takes_its_value(
    canvas: CanvasView, document: Document, param: str, primitive: str, value: int
) -> None:
    sampler = document.add_node("sampling.sampler", (400, 0))
    document.set_param(sampler, param, value)
    if param == "seed":
        document.set_seed_mode(sampler, "seed", "randomize")
    _drag_out_of(canvas, sampler, param)
    _choose(canvas, primitive)
    made = next(n for n in document.graph if n.type == primitive)
    own = next(iter(made.params))
    assert made.params[own] == value
    assert document.graph.link_into(sampler, param) == Link(made.id, own, sampler, param)
    if param == "seed":
        assert document.seed_modes(made.id) == {"seed": "randomize"}
    document.undo_stack.undo()  # adding, filling and linking is one step
    assert [n.type for n in document.graph] == ["sampling.sampler"]


def _link_midpoint(canvas: CanvasView, document: Document) -> tuple[Link, QPoint]:
    """A link between two nodes, centred in the view, and its middle in the viewport."""
    source = document.add_node("primitive.int", (0, 0))
    target = document.add_node("utility.display", (400, 0))
    link = document.connect_ports(source, "value", target, "value")
    middle = canvas.canvas_scene.links[(target, "value")].path().pointAtPercent(0.5)
    canvas.centerOn(middle)
    return link, vp(canvas, middle)


@pytest.mark.parametrize("zoom", [1.0, 0.6])
def test_alt_click_a_few_pixels_off_a_link_removes_it(
    canvas: CanvasView, document: Document, zoom: float
) -> None:
    canvas.scale(zoom / canvas.zoom(), zoom / canvas.zoom())
    link, mid = _link_midpoint(canvas, document)
    QTest.mouseClick(canvas.viewport(), LEFT, Qt.KeyboardModifier.AltModifier, mid + QPoint(0, 6))
    assert link not in document.graph.links


def test_a_click_well_away_from_a_link_leaves_it(canvas: CanvasView, document: Document) -> None:
    link, mid = _link_midpoint(canvas, document)
    QTest.mouseClick(canvas.viewport(), LEFT, Qt.KeyboardModifier.AltModifier, mid + QPoint(0, 30))
    assert link in document.graph.links


def test_ctrl_shift_v_pastes_nodes_with_their_input_links(
    canvas: CanvasView, document: Document
) -> None:
    checkpoint = document.add_node("loaders.checkpoint", (0, 0))
    encode = document.add_node("conditioning.text_encode", (300, 0))
    document.connect_ports(checkpoint, "clip", encode, "clip")
    canvas.select_nodes([encode])
    copied = canvas.copy_selection()
    assert copied is not None
    clipboard = QGuiApplication.clipboard()
    assert clipboard is not None
    clipboard.setMimeData(workflow_mime_data(copied))
    canvas.setFocus()
    QTest.mouseMove(canvas.viewport(), QPoint(700, 500))
    steps = document.undo_stack.count()
    QTest.keyClick(
        canvas,
        Qt.Key.Key_V,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    pasted = [
        n.id for n in document.graph if n.type == "conditioning.text_encode" and n.id != encode
    ]
    assert len(pasted) == 1
    assert document.graph.link_into(pasted[0], "clip") == Link(
        checkpoint, "clip", pasted[0], "clip"
    )
    assert canvas.selected_nodes() == pasted
    assert document.undo_stack.count() == steps + 1  # one step
    document.undo_stack.undo()
    assert len(document.graph) == 2
    # plain Ctrl+V (the window's Paste) pastes the node alone
    canvas.paste(copied)
    alone = [
        n.id for n in document.graph if n.type == "conditioning.text_encode" and n.id != encode
    ]
    assert len(alone) == 1 and document.graph.link_into(alone[0], "clip") is None
    clipboard.clear()  # the clipboard owns the data: let it go before Qt shuts down


def test_input_links_from_deleted_nodes_are_left_out(
    canvas: CanvasView, document: Document
) -> None:
    checkpoint = document.add_node("loaders.checkpoint", (0, 0))
    encode = document.add_node("conditioning.text_encode", (300, 0))
    document.connect_ports(checkpoint, "clip", encode, "clip")
    canvas.select_nodes([encode])
    copied = canvas.copy_selection()
    assert copied is not None
    document.remove([checkpoint])
    messages: list[str] = []
    canvas.statusMessage.connect(messages.append)
    canvas.paste_with_links(copied)
    pasted = [n.id for n in document.graph if n.id != encode]
    assert len(pasted) == 1 and document.graph.link_into(pasted[0], "clip") is None
    assert messages and "1 input link not pasted" in messages[0]
    assert node(canvas, pasted[0]).isSelected()


def test_double_clicking_a_param_socket_makes_its_primitive(
    canvas: CanvasView, document: Document
) -> None:
    sampler = document.add_node("sampling.sampler", (400, 0))
    document.set_param(sampler, "seed", 42)
    document.set_seed_mode(sampler, "seed", "increment")
    document.set_param(sampler, "cfg", 4.5)
    for param, primitive, value in (
        ("seed", "primitive.seed", 42),
        ("cfg", "primitive.float", 4.5),
    ):
        steps = document.undo_stack.count()
        socket = vp(canvas, port(canvas, sampler, param, False).scenePos())
        QTest.mouseDClick(canvas.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, socket)
        made = next(n for n in document.graph if n.type == primitive)
        own = next(iter(made.params))
        assert made.params[own] == value
        assert document.graph.link_into(sampler, param) == Link(made.id, own, sampler, param)
        assert document.undo_stack.count() == steps + 1
        assert canvas.selected_nodes() == [made.id]
        made_box = node(canvas, made.id).sceneBoundingRect()
        assert made_box.right() < node(canvas, sampler).sceneBoundingRect().left()
    assert document.seed_modes(
        next(n.id for n in document.graph if n.type == "primitive.seed")
    ) == {"seed": "increment"}
    assert not canvas.search_popup.isVisible()
    # a linked socket, or an input that is no param, makes nothing
    count = len(document.graph)
    for name in ("seed", "unet"):
        socket = vp(canvas, port(canvas, sampler, name, False).scenePos())
        QTest.mouseDClick(canvas.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, socket)
    assert len(document.graph) == count
