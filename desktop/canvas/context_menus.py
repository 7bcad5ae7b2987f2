"""The canvas's right-click menus, as ComfyUI users reach for them.

- On a node (acting on every selected node when the node is part of the selection):
  Edit Mask (Load Image), Rename, Collapse, Pin, Color, Bypass, Run up to here,
  Duplicate, Copy, Group selected, Delete.
- On empty canvas: Add node (by category, at the click), Search nodes, Paste (at the
  click), Arrange, Make room, Fit view.
- On a link: Add reroute (where it was clicked), Delete.

Every action is an edit through the :class:`~desktop.document.Document` (one undo step
each) or a request the view passes on (run up to here goes to the window, which queues
it). The menus are built fresh each time they open, so their labels say what a choice will
do now ("Pin" or "Unpin", "Collapse" or "Expand").
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QMenu

from desktop.canvas import style
from desktop.canvas.arranging import arrange_graph, make_room
from desktop.canvas.clipboard import clipboard_workflow
from desktop.canvas.clipboard import copy_nodes as copied_nodes
from desktop.canvas.scene import CanvasScene
from desktop.document import Document
from desktop.mask_painter import can_edit_mask
from desktop.mime import put_workflow_on_clipboard
from nodes.api import Node
from nodes.graph import GraphError, Link
from nodes.workflow import WorkflowError


class CanvasView(Protocol):
    """What the menus need of the canvas view (:class:`desktop.canvas.view.CanvasView`,
    which imports this module)."""

    @property
    def document(self) -> Document: ...
    @property
    def canvas_scene(self) -> CanvasScene: ...
    def run_up_to(self, node_id: str) -> None: ...
    def show_status(self, text: str) -> None: ...
    def selected_nodes(self) -> list[str]: ...
    def select_nodes(self, ids: list[str], center: bool = False) -> None: ...
    def duplicate_selection(self) -> None: ...
    def group_selection(self) -> None: ...
    def fit_view(self) -> None: ...
    def open_search(self, scene_pos: QPointF | None = None) -> None: ...
    def free_spot_for(self, cls: type[Node], wanted: QPointF) -> tuple[float, float]: ...


def node_menu(view: CanvasView, node_id: str) -> QMenu:
    """The menu of a node; its actions apply to the selection when the node is in it."""
    document = view.document
    graph = document.graph
    selected = view.selected_nodes()
    ids = selected if node_id in selected else [node_id]
    data = graph.nodes[node_id]
    menu = QMenu()
    if can_edit_mask(data.type):
        edit = menu.addAction("Edit Mask…", lambda: view.canvas_scene.edit_mask(node_id))
        edit.setEnabled(bool(data.params.get("path")))
        edit.setToolTip("Paint where the picture is to be regenerated (double-click)")
        menu.addSeparator()
    item = view.canvas_scene.nodes.get(node_id)
    if item is not None:
        menu.addAction("Rename…\tF2", item.start_rename)
    collapse = not all(graph.nodes[i].collapsed for i in ids)
    menu.addAction(
        "Collapse" if collapse else "Expand",
        lambda: document.set_node_attr(ids, "collapsed", collapse, _step("Collapse", collapse)),
    )
    pin = not all(graph.nodes[i].pinned for i in ids)
    menu.addAction(
        "Pin" if pin else "Unpin",
        lambda: document.set_node_attr(ids, "pinned", pin, "Pin" if pin else "Unpin"),
    )
    colors = menu.addMenu("Color")
    colors.addAction("Default", lambda: document.set_node_attr(ids, "color", None, "Color"))
    for name, value in style.NODE_COLOR_CHOICES.items():
        colors.addAction(name, lambda v=value: document.set_node_attr(ids, "color", v, "Color"))
    bypass = not all(graph.nodes[i].bypass for i in ids)
    menu.addAction(
        "Bypass\tCtrl+B" if bypass else "Stop bypassing\tCtrl+B",
        lambda: document.set_node_attr(ids, "bypass", bypass, "Bypass"),
    )
    menu.addSeparator()
    run = menu.addAction("Run up to here", lambda: view.run_up_to(node_id))
    run.setToolTip("Run this node and what feeds it, nothing else")
    run.setEnabled(not data.bypass and graph.registry.get(data.type) is not None)
    menu.addSeparator()
    menu.addAction("Duplicate\tCtrl+D", lambda: _duplicate(view, ids))
    menu.addAction("Copy\tCtrl+C", lambda: copy_nodes(view, ids))
    group = menu.addAction("Group selected\tCtrl+G", lambda: _group(view, ids))
    group.setEnabled(bool(ids))
    menu.addSeparator()
    menu.addAction("Delete\tDel", lambda: document.remove(ids))
    return menu


def canvas_menu(view: CanvasView, scene_pos: QPointF) -> QMenu:
    """The menu of the empty canvas; what it adds or pastes goes where it was opened."""
    menu = QMenu()
    add = menu.addMenu("Add node")
    by_category: dict[str, list[tuple[str, str]]] = {}
    for cls in view.document.registry:
        if cls.listed:
            by_category.setdefault(cls.category, []).append((cls.title, cls.type_id))
    for category in sorted(by_category):
        sub = add.addMenu(category.replace("_", " ").title())
        for title, type_id in sorted(by_category[category]):
            action = sub.addAction(title, lambda t=type_id: add_node_at(view, t, scene_pos))
            action.setData(type_id)
    menu.addAction("Search nodes…\tTab", lambda: view.open_search(scene_pos))
    paste = menu.addAction("Paste\tCtrl+V", lambda: paste_at(view, scene_pos))
    paste.setEnabled(clipboard_workflow() is not None)
    menu.addSeparator()
    arrange = menu.addAction("Arrange", lambda: arrange_graph(view.canvas_scene))
    arrange.setToolTip("Lay the graph out in columns, left to right, links crossing little")
    arrange.setEnabled(bool(view.document.graph.nodes))
    menu.addAction("Make room", lambda: make_room(view.canvas_scene)).setToolTip(
        "Move overlapping nodes apart, as little as possible"
    )
    menu.addAction("Fit view\t.", view.fit_view)
    return menu


def link_menu(view: CanvasView, link: Link, scene_pos: QPointF) -> QMenu:
    """The menu of a link: a reroute where it was clicked, or delete it."""
    menu = QMenu()
    menu.addAction("Add reroute", lambda: _reroute(view, link, scene_pos))
    menu.addAction("Delete link", lambda: view.document.disconnect_links([link]))
    return menu


def add_node_at(view: CanvasView, type_id: str, scene_pos: QPointF) -> str | None:
    """Add a node of ``type_id`` at the nearest free spot to ``scene_pos``, selected."""
    cls = view.document.registry.get(type_id)
    if cls is None:
        return None
    node_id = view.document.add_node(type_id, view.free_spot_for(cls, scene_pos))
    view.select_nodes([node_id])
    return node_id


def copy_nodes(view: CanvasView, ids: list[str]) -> None:
    """Put ``ids`` (and the links among them) on the clipboard, as Ctrl+C does (with the
    links feeding them, for Ctrl+Shift+V: :mod:`desktop.canvas.clipboard`)."""
    if ids:
        put_workflow_on_clipboard(copied_nodes(view.document, ids))


def paste_at(view: CanvasView, scene_pos: QPointF) -> list[str]:
    """Paste the clipboard's nodes with their top-left corner at ``scene_pos``."""
    document = clipboard_workflow()
    if document is None:
        return []
    try:
        ids = view.document.paste(document, at=(scene_pos.x(), scene_pos.y()))
    except WorkflowError as exc:
        view.show_status(f"Cannot paste: {exc}")
        return []
    view.select_nodes(ids)
    return ids


def _duplicate(view: CanvasView, ids: list[str]) -> None:
    view.select_nodes(ids)
    view.duplicate_selection()


def _group(view: CanvasView, ids: list[str]) -> None:
    view.select_nodes(ids)
    view.group_selection()


def _reroute(view: CanvasView, link: Link, scene_pos: QPointF) -> None:
    view.canvas_scene.clearSelection()
    try:
        view.canvas_scene.insert_reroute(link, scene_pos)
    except GraphError as exc:
        view.show_status(exc.message)


def _step(verb: str, on: bool) -> str:
    """An undo step's name: "Collapse" / "Expand"."""
    return verb if on else {"Collapse": "Expand"}.get(verb, verb)
