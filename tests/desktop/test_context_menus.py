"""The canvas's right-click menus: on a node, on empty canvas and on a link — each action
an undoable edit (pin and collapse saved in the file), "run up to here" a real partial run."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, QTimer
from PySide6.QtGui import QAction, QContextMenuEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QGraphicsItem, QMenu
from pytestqt.qtbot import QtBot

from desktop.bridge import EngineBridge
from desktop.canvas.clipboard import INPUT_LINKS_KEY, clipboard_workflow
from desktop.canvas.context_menus import canvas_menu, link_menu, node_menu
from desktop.canvas.view import CanvasView
from desktop.document import Document
from desktop.partial_run import queue_run_to
from desktop.run_state import NodeState, RunState
from nodes.graph import Link
from nodes.paths import FileFinder
from nodes.workflow import from_dict
from tests.desktop.canvas_helpers import mouse_drag, node, title_point


def _texts(menu: QMenu) -> list[str]:
    return [a.text().split("\t")[0] for a in menu.actions() if not a.isSeparator()]


def _action(menu: QMenu, text: str) -> QAction:
    found = next((a for a in menu.actions() if a.text().split("\t")[0] == text), None)
    assert found is not None, f"no {text!r} in {_texts(menu)}"
    return found


def _pick(menu: QMenu, text: str) -> None:
    action = _action(menu, text)
    assert action.isEnabled(), f"{text} is disabled"
    action.trigger()
    QApplication.processEvents()


def _pair(document: Document) -> tuple[str, str]:
    value = document.add_node("primitive.int", (0, 0))
    show = document.add_node("utility.display", (400, 0))
    document.connect_ports(value, "value", show, "value")
    return value, show


def test_the_node_menu_offers_what_comfyui_users_reach_for(
    canvas: CanvasView, document: Document
) -> None:
    value, _ = _pair(document)
    assert _texts(node_menu(canvas, value)) == [
        "Rename…",
        "Collapse",
        "Pin",
        "Color",
        "Bypass",
        "Run up to here",
        "Duplicate",
        "Copy",
        "Group selected",
        "Delete",
    ]
    load = document.add_node("image.load", (0, 300))
    assert _texts(node_menu(canvas, load))[0] == "Edit Mask…"
    assert node(canvas, value).context_menu().actions()  # the item's menu is this one


def test_pin_and_collapse_apply_to_the_selection_are_undoable_and_saved(
    canvas: CanvasView, document: Document
) -> None:
    value, show = _pair(document)
    canvas.fit_view()
    canvas.select_nodes([value, show])
    _pick(node_menu(canvas, value), "Pin")
    assert document.graph.nodes[value].pinned and document.graph.nodes[show].pinned
    assert document.undo_stack.undoText() == "Pin"
    assert _texts(node_menu(canvas, value))[2] == "Unpin"
    saved = from_dict(document.to_dict(), document.registry)
    assert saved.nodes[value].pinned
    assert "Pinned" in node(canvas, value).toolTip()
    # a pinned node does not follow the mouse
    canvas.select_nodes([value])
    before = document.graph.nodes[value].position
    start = title_point(canvas, value)
    mouse_drag(canvas, start, start + QPointF(150, 90) / canvas.zoom())
    assert document.graph.nodes[value].position == before
    document.undo_stack.undo()
    assert not document.graph.nodes[value].pinned
    assert node(canvas, value).flags() & QGraphicsItem.GraphicsItemFlag.ItemIsMovable
    assert "Pinned" not in node(canvas, value).toolTip()

    canvas.select_nodes([value, show])
    _pick(node_menu(canvas, show), "Collapse")
    assert document.graph.nodes[value].collapsed and document.graph.nodes[show].collapsed
    assert node(canvas, show).height == pytest.approx(node(canvas, show).body_rect().height())
    _pick(node_menu(canvas, show), "Expand")
    assert not document.graph.nodes[show].collapsed
    document.undo_stack.undo()
    assert document.graph.nodes[show].collapsed
    assert from_dict(document.to_dict(), document.registry).nodes[show].collapsed


def test_duplicate_copy_group_bypass_color_and_delete_from_the_menu(
    canvas: CanvasView, document: Document
) -> None:
    value, show = _pair(document)
    canvas.select_nodes([])
    _pick(node_menu(canvas, value), "Duplicate")
    assert len(document.graph) == 3 and canvas.selected_nodes() != [value]
    document.undo_stack.undo()
    _pick(node_menu(canvas, value), "Copy")
    _pick(canvas_menu(canvas, QPointF(900, 900)), "Paste")
    pasted = [n for n in document.graph.nodes if n not in (value, show)]
    assert len(pasted) == 1
    assert document.graph.nodes[pasted[0]].position == (900.0, 900.0)
    canvas.select_nodes([])
    _pick(node_menu(canvas, show), "Copy")  # as Ctrl+C: it remembers what fed it
    copied = clipboard_workflow()
    assert copied is not None
    assert copied["metadata"][INPUT_LINKS_KEY] == [[value, "value", show, "value"]]
    canvas.select_nodes([value, show])
    _pick(node_menu(canvas, value), "Group selected")
    (group,) = document.graph.groups.values()
    assert set(document.graph.nodes_in_group(group.id)) >= {value, show}
    _pick(node_menu(canvas, value), "Bypass")
    assert document.graph.nodes[show].bypass
    menu = node_menu(canvas, value)  # held: its submenu goes with it
    color = _action(menu, "Color").menu()
    assert isinstance(color, QMenu)
    _pick(color, "Green")
    assert document.graph.nodes[value].color is not None
    canvas.select_nodes([])
    _pick(node_menu(canvas, show), "Delete")
    assert show not in document.graph.nodes and value in document.graph.nodes
    document.undo_stack.undo()
    assert document.graph.link_into(show, "value") == Link(value, "value", show, "value")
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.clear()  # the clipboard owns the data: let it go before Qt shuts down


def test_rename_from_the_menu_opens_the_title_editor(
    canvas: CanvasView, document: Document
) -> None:
    value, _ = _pair(document)
    canvas.fit_view()
    _pick(node_menu(canvas, value), "Rename…")
    assert node(canvas, value)._title_editor is not None


def test_run_up_to_here_runs_the_node_and_its_upstream_only(
    qtbot: QtBot,
    canvas: CanvasView,
    document: Document,
    bridge: EngineBridge,
    run_state: RunState,
) -> None:
    value, show = _pair(document)
    scale = document.add_node("primitive.int", (0, 200))
    other = document.add_node("utility.display", (400, 200))  # nothing linked: a problem
    with qtbot.waitSignal(canvas.runToRequested) as asked:
        _pick(node_menu(canvas, show), "Run up to here")
    assert asked.args == [show]
    finder = FileFinder([])
    with qtbot.waitSignal(run_state.runFinished, timeout=10000) as finished:
        result = queue_run_to(document, bridge, run_state, finder, show)
    assert result.run_id is not None and result.problems == []
    assert finished.args is not None and finished.args[0].status == "done"
    assert run_state.status(show).state in (NodeState.DONE, NodeState.CACHED)
    assert run_state.status(value).state in (NodeState.DONE, NodeState.CACHED)
    for untouched in (scale, other):
        assert run_state.status(untouched).state is NodeState.IDLE
    # the whole graph would not run: the unlinked display is a problem there
    refused = queue_run_to(document, bridge, run_state, finder, other)
    assert refused.run_id is None and [p.node_id for p in refused.problems] == [other]
    document.set_node_attr([show], "bypass", True)
    bypassed = queue_run_to(document, bridge, run_state, finder, show)
    assert bypassed.run_id is None and "bypassed" in bypassed.problems[-1].message


def test_the_canvas_menu_adds_by_category_at_the_click_and_arranges(
    canvas: CanvasView, document: Document
) -> None:
    menu = canvas_menu(canvas, QPointF(120, 80))
    assert _texts(menu) == [
        "Add node",
        "Search nodes…",
        "Paste",
        "Arrange",
        "Make room",
        "Fit view",
    ]
    add = _action(menu, "Add node").menu()
    assert isinstance(add, QMenu)
    categories = {a.text(): a.menu() for a in add.actions()}
    assert {"Loaders", "Sampling", "Utility"} <= set(categories)
    utility = categories["Utility"]
    assert isinstance(utility, QMenu)
    offered = [a.data() for a in utility.actions()]
    assert "utility.display" in offered and "utility.reroute" not in offered  # unlisted
    next(a for a in utility.actions() if a.data() == "utility.display").trigger()
    (new,) = document.graph.nodes.values()
    assert new.type == "utility.display"
    visible = canvas.visible_scene_rect()
    assert visible.contains(QPointF(*new.position))

    # a messy graph: everything on one spot; Arrange lays it out in one undo step
    document.new()
    for _ in range(3):
        _pair(document)
    for data in list(document.graph.nodes.values()):
        document.graph.set_position(data.id, 0.0, 0.0)
    document.undo_stack.clear()
    _pick(canvas_menu(canvas, QPointF(0, 0)), "Arrange")
    assert document.undo_stack.count() == 1 and document.undo_stack.undoText() == "Arrange"
    rects = [item.sceneBoundingRect() for item in canvas.canvas_scene.nodes.values()]
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :])
    for link in document.graph.links:
        assert (
            document.graph.nodes[link.source].position[0]
            < document.graph.nodes[link.target].position[0]
        )
    document.undo_stack.undo()
    assert all(d.position == (0.0, 0.0) for d in document.graph.nodes.values())


def test_the_link_menu_adds_a_reroute_or_deletes(canvas: CanvasView, document: Document) -> None:
    value, show = _pair(document)
    link = Link(value, "value", show, "value")
    _pick(link_menu(canvas, link, QPointF(300, 20)), "Add reroute")
    dot = next(n.id for n in document.graph if n.type == "utility.reroute")
    assert document.graph.link_into(show, "value") == Link(dot, "value", show, "value")
    document.undo_stack.undo()
    assert document.graph.link_into(show, "value") == link
    _pick(link_menu(canvas, link, QPointF(300, 20)), "Delete link")
    assert document.graph.links == []


def test_right_clicks_open_the_menu_of_what_is_under_the_mouse(
    canvas: CanvasView, document: Document
) -> None:
    value, show = _pair(document)
    canvas.fit_view()
    shown: list[list[str]] = []

    def read_and_close() -> None:
        """Inside the menu's own event loop: note what it offers, then close it."""
        popup = QApplication.activePopupWidget()
        if isinstance(popup, QMenu):
            shown.append(_texts(popup))
            popup.close()
        else:
            QTimer.singleShot(10, read_and_close)

    def right_click(scene_pos: QPointF) -> None:
        at = canvas.mapFromScene(scene_pos)
        event = QContextMenuEvent(
            QContextMenuEvent.Reason.Mouse, at, canvas.viewport().mapToGlobal(at)
        )
        QTimer.singleShot(0, read_and_close)
        QApplication.sendEvent(canvas.viewport(), event)

    right_click(title_point(canvas, value))
    right_click(canvas.mapToScene(QPoint(5, 5)))  # the view's corner: empty canvas
    link_item = canvas.canvas_scene.links[(show, "value")]
    right_click(link_item.path().pointAtPercent(0.5))
    assert [menu[0] for menu in shown] == ["Rename…", "Add node", "Add reroute"]
    assert canvas.selected_nodes() == [value], "right-clicking a node selects it"
