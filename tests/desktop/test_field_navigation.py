"""The keyboard in a node's fields: Tab and Shift+Tab move between the node's fields (never
to the node search), and a value the field cannot take is put back with the reason shown
at the field."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolTip, QWidget

from desktop.canvas.node_item import NodeItem
from desktop.canvas.params import NumberEditor, SeedEditor
from desktop.canvas.view import CanvasView
from desktop.document import Document
from desktop.main_window import MainWindow
from tests.desktop.canvas_helpers import LEFT, NO_MOD, editor, node, vp


def _click(canvas: CanvasView, item: NodeItem, widget: QWidget) -> None:
    """Click ``widget`` (a field of ``item``) the way a person does."""
    panel, proxy = item.param_panel, item.proxy
    assert panel is not None and proxy is not None
    canvas.centerOn(item)
    QApplication.processEvents()
    point = widget.mapTo(panel, widget.rect().center())
    QTest.mouseClick(
        canvas.viewport(), LEFT, NO_MOD, vp(canvas, proxy.mapToScene(point.toPointF()))
    )
    QApplication.processEvents()


def _focused_field(item: NodeItem) -> QWidget | None:
    assert item.param_panel is not None
    return item.param_panel.focusWidget()


def _type(canvas: CanvasView, text: str) -> None:
    """Type into the canvas, as the window system does: the view hands the keys to the
    focused field (through its proxy)."""
    QTest.keyClicks(canvas, text)


def _key(canvas: CanvasView, key: Qt.Key, modifier: Qt.KeyboardModifier = NO_MOD) -> None:
    QTest.keyClick(canvas, key, modifier)
    QApplication.processEvents()


def _sampler(canvas: CanvasView, node_id: str) -> NodeItem:
    item = node(canvas, node_id)
    item.ensure_widgets()
    QApplication.processEvents()
    return item


def test_tab_in_a_number_field_goes_to_the_next_field_not_the_node_search(
    window: MainWindow,
) -> None:
    canvas, graph = window.canvas, window.document.graph
    item = _sampler(canvas, "sampler")
    steps = editor(canvas, "sampler", "steps", NumberEditor)
    cfg = editor(canvas, "sampler", "cfg", NumberEditor)
    _click(canvas, item, steps.box)
    steps.box.selectAll()
    _type(canvas, "31")
    _key(canvas, Qt.Key.Key_Tab)
    assert not canvas.search_popup.isVisible()
    assert _focused_field(item) is cfg.box
    _type(canvas, "5.5")  # the whole value was selected: typing replaces it
    assert graph.nodes["sampler"].params["steps"] == 31
    assert graph.nodes["sampler"].params["cfg"] == 5.5
    _key(canvas, Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    assert _focused_field(item) is steps.box
    _key(canvas, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    seed = editor(canvas, "sampler", "seed", SeedEditor)
    assert _focused_field(item) is seed.mode  # the seed's after-run control
    assert not canvas.search_popup.isVisible()


def test_tab_wraps_around_the_node_and_skips_linked_fields(
    canvas: CanvasView, document: Document
) -> None:
    node_id = document.add_node("latent.empty", (0, 0))
    source = document.add_node("primitive.int", (-300, 0))
    document.connect_ports(source, "value", node_id, "height")
    item = _sampler(canvas, node_id)
    assert item.cls is not None
    fields = [  # height is linked: its field is hidden
        editor(canvas, node_id, p.name, NumberEditor).box
        for p in item.cls.params
        if p.name != "height"
    ]
    assert len(fields) >= 2
    _click(canvas, item, fields[0])
    assert _focused_field(item) is fields[0]
    for field in [*fields[1:], fields[0]]:  # down the node, then around
        _key(canvas, Qt.Key.Key_Tab)
        assert _focused_field(item) is field
    _key(canvas, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert _focused_field(item) is fields[-1]
    assert not canvas.search_popup.isVisible()


def test_tab_on_the_canvas_still_opens_the_node_search(canvas: CanvasView) -> None:
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key.Key_Tab)
    assert canvas.search_popup.isVisible()


def test_an_out_of_range_value_is_put_back_and_the_field_says_why(
    canvas: CanvasView, document: Document
) -> None:
    node_id = document.add_node("sampling.sampler", (0, 0))
    item = _sampler(canvas, node_id)
    steps = editor(canvas, node_id, "steps", NumberEditor)
    messages: list[str] = []
    canvas.statusMessage.connect(messages.append)
    _click(canvas, item, steps.box)
    steps.box.selectAll()
    _type(canvas, "0")
    _key(canvas, Qt.Key.Key_Return)
    assert document.graph.nodes[node_id].params["steps"] == 20
    assert steps.box.lineEdit().text() == "20"
    assert messages == ["steps: 0 is below the minimum, 1 — kept 20"]
    assert QToolTip.text() == messages[0]
    assert steps.box.toolTip() == messages[0]  # still there when the pointer comes back
    # not a number, then leaving the field with Tab: the same, at the field
    steps.box.selectAll()
    _type(canvas, "-")
    _key(canvas, Qt.Key.Key_Tab)
    assert messages[-1] == "steps: “-” is not a whole number — kept 20"
    # a value in range is taken, and says nothing
    _key(canvas, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    steps.box.selectAll()
    _type(canvas, "30")
    _key(canvas, Qt.Key.Key_Return)
    assert document.graph.nodes[node_id].params["steps"] == 30
    assert len(messages) == 2


def test_a_float_above_its_maximum_names_the_maximum(
    canvas: CanvasView, document: Document
) -> None:
    node_id = document.add_node("sampling.sampler", (0, 0))
    item = _sampler(canvas, node_id)
    denoise = editor(canvas, node_id, "denoise", NumberEditor)
    messages: list[str] = []
    canvas.statusMessage.connect(messages.append)
    _click(canvas, item, denoise.box)
    denoise.box.selectAll()
    _type(canvas, "1.5")
    _key(canvas, Qt.Key.Key_Return)
    assert document.graph.nodes[node_id].params["denoise"] == 1.0
    assert messages == ["denoise: 1.5 is above the maximum, 1.00 — kept 1.00"]
