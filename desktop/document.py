"""The open workflow: the engine's graph document plus undo history, file and dirty state.

All edits go through methods here, which push undo commands; the canvas and panels
observe ``graph``'s signals. Loading a file replaces the graph's contents in place (the
same ``Graph`` object for the life of the window), so observers never need re-wiring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QUndoStack

from desktop.commands import (
    AddGroup,
    AddNode,
    Connect,
    Disconnect,
    MoveItems,
    RemoveNodes,
    SetGroupAttr,
    SetNodeAttr,
    SetNodeExtra,
    SetParam,
)
from nodes.graph import Graph, GraphError, Group, Link, NodeData, copy_json
from nodes.registry import Registry
from nodes.seed_control import SEED_CONTROL_KEY, seed_mode
from nodes.workflow import from_dict, load_file, save_file, to_dict


class Document(QObject):
    """One workflow being edited."""

    dirtyChanged = Signal(bool)
    pathChanged = Signal(object)
    reloaded = Signal()
    """Emitted after the whole content was replaced (new, open)."""

    def __init__(self, registry: Registry, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.graph = Graph(registry)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.path: Path | None = None
        self._drag_counter = 0

    # ------------------------------------------------------------------ state
    @Slot(bool)
    def _clean_changed(self, clean: bool) -> None:
        self.dirtyChanged.emit(not clean)

    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def display_name(self) -> str:
        return self.path.name if self.path else "Untitled"

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self.graph)

    # ------------------------------------------------------------------ files
    def load(self, path: Path) -> None:
        """Open a workflow file (raises WorkflowError; the current content stays then)."""
        graph = load_file(path, self.registry)
        self._replace(graph)
        self.set_path(path)

    def load_graph(self, graph: Graph, path: Path | None = None) -> None:
        """Show ``graph`` (e.g. an imported ComfyUI workflow); ``path`` None = Untitled."""
        self._replace(graph)
        self.set_path(path)

    def load_dict(self, document: dict[str, Any], path: Path | None = None) -> None:
        self._replace(from_dict(copy_json(document), self.registry))
        self.set_path(path)

    def new(self) -> None:
        self._replace(Graph(self.registry))
        self.set_path(None)

    def save(self, path: Path | None = None) -> Path:
        target = path or self.path
        if target is None:
            raise ValueError("no file name yet: use Save As")
        save_file(self.graph, target)
        self.set_path(target)
        self.undo_stack.setClean()
        return target

    def _replace(self, graph: Graph) -> None:
        """Swap in ``graph``'s contents, emitting the document's usual signals."""
        self.graph.replace_with(graph)
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.reloaded.emit()

    def set_path(self, path: Path | None) -> None:
        """Where Save writes (None: Untitled, so Save asks)."""
        self.path = path
        self.pathChanged.emit(path)

    # ------------------------------------------------------------------ edits
    def add_node(
        self, type_id: str, position: tuple[float, float], params: dict[str, Any] | None = None
    ) -> str:
        cls = self.registry.get(type_id)
        if cls is None:
            raise GraphError(f"unknown node type {type_id!r}")
        values = cls.default_params()
        values.update(params or {})
        data = NodeData(
            self.graph.new_id(type_id),
            type_id,
            cls.version,
            values,
            (float(position[0]), float(position[1])),
        )
        self.undo_stack.push(AddNode(self.graph, data, f"Add {cls.title}"))
        return data.id

    def remove(self, node_ids: Sequence[str], group_ids: Sequence[str] = ()) -> None:
        if node_ids or group_ids:
            self.undo_stack.push(RemoveNodes(self.graph, list(node_ids), list(group_ids)))

    def connect_ports(self, source: str, output: str, target: str, input: str) -> Link:
        """Connect two ports; raises GraphError (nothing pushed) if the link is refused.

        Not named ``connect``: that would hide ``QObject.connect``."""
        link = self.graph.check_link(source, output, target, input)  # raises if refused
        self.undo_stack.push(Connect(self.graph, link))
        return link

    def disconnect_links(self, links: Sequence[Link]) -> None:
        if links:
            self.undo_stack.push(Disconnect(self.graph, list(links)))

    def set_param(
        self, node_id: str, name: str, value: Any, *, merge: bool = False, text: str = ""
    ) -> None:
        """Set a param (checked: raises GraphError). ``merge`` joins the previous edit;
        ``text`` names the undo step ("Edit Mask"; default "Edit <param>")."""
        probe = self.graph.nodes[node_id].params.get(name)
        self.graph.check_param(node_id, name, value)  # raise before pushing
        if probe == value and type(probe) is type(value):
            return
        self.undo_stack.push(SetParam(self.graph, node_id, name, value, merge, text))

    def set_node_attr(self, node_ids: list[str], attr: str, value: Any, text: str = "") -> None:
        if node_ids:
            self.undo_stack.push(SetNodeAttr(self.graph, list(node_ids), attr, value, text))

    def set_params(self, node_id: str, values: Mapping[str, Any], text: str) -> None:
        """Set several params of one node as one undo step named ``text`` (an advice's
        fix). Every value is checked first: a GraphError leaves the document as it was."""
        for name, value in values.items():
            self.graph.check_param(node_id, name, value)
        self.undo_stack.beginMacro(text)
        try:
            for name, value in values.items():
                self.set_param(node_id, name, value, text=text)
        finally:
            self.undo_stack.endMacro()

    def set_node_extra(self, node_id: str, key: str, value: Any, text: str = "") -> None:
        """Change an app field of a node's ``extra`` (saved with the file) as an undo step;
        None removes it."""
        if node_id in self.graph.nodes:
            self.undo_stack.push(SetNodeExtra(self.graph, node_id, key, value, text))

    def seed_modes(self, node_id: str) -> dict[str, str]:
        """The after-run mode of each seed param of a node (fixed when none is stored)."""
        data = self.graph.nodes[node_id]
        cls = self.registry.get(data.type)
        if cls is None:
            return {}
        stored = data.extra.get(SEED_CONTROL_KEY)
        stored = stored if isinstance(stored, dict) else {}
        return {p.name: seed_mode(stored.get(p.name)) for p in cls.params if p.seed}

    def seed_controls(self) -> dict[tuple[str, str], str]:
        """``{(node id, seed param): mode}`` for every seed param in the document."""
        return {
            (node_id, name): mode
            for node_id in self.graph.nodes
            for name, mode in self.seed_modes(node_id).items()
        }

    def set_seed_mode(self, node_id: str, param: str, mode: str) -> None:
        """Remember a seed's after-run mode in the node's ``extra`` (saved with the file).

        Not an undo step: it is a preference of the node, like a panel's layout, so on its
        own it does not make the document dirty (nor autosaved); the next save keeps it.
        """
        data = self.graph.nodes.get(node_id)
        if data is None:
            return
        stored = data.extra.get(SEED_CONTROL_KEY)
        controls = dict(stored) if isinstance(stored, dict) else {}
        controls[param] = mode
        self.graph.set_node_extra(node_id, SEED_CONTROL_KEY, controls)

    def saved_view(self) -> tuple[float, tuple[float, float]] | None:
        """The zoom and center the workflow was last looked at with, if the file says."""
        view = self.graph.view
        zoom, center = view.get("zoom"), view.get("center")
        if isinstance(zoom, int | float) and isinstance(center, list) and len(center) == 2:
            return float(zoom), (float(center[0]), float(center[1]))
        return None

    def set_view(self, zoom: float, center: tuple[float, float]) -> None:
        """Keep the canvas's zoom and center in the view state (saved with the file); not
        an edit, so no undo step and nothing to save."""
        self.graph.update_view({"zoom": zoom, "center": [center[0], center[1]]})

    def new_drag(self) -> int:
        """An id for one mouse drag, so its moves merge into one undo step."""
        self._drag_counter += 1
        return self._drag_counter

    def move(
        self,
        nodes: dict[str, tuple[float, float]],
        groups: dict[str, tuple[float, float, float, float]] | None = None,
        drag_id: int = 0,
    ) -> None:
        if nodes or groups:
            self.undo_stack.push(MoveItems(self.graph, nodes, groups, drag_id))

    def add_group(self, title: str, rect: tuple[float, float, float, float]) -> str:
        group = Group(self.graph.new_id("group"), title, rect)
        self.undo_stack.push(AddGroup(self.graph, group))
        return group.id

    def set_group_attr(self, group_id: str, attr: str, value: Any) -> None:
        self.undo_stack.push(SetGroupAttr(self.graph, group_id, attr, value))

    # ------------------------------------------------------------------ clipboard
    def copy_nodes(self, node_ids: list[str]) -> dict[str, Any]:
        """A workflow document holding ``node_ids`` and the links among them."""
        chosen = set(node_ids)
        part = Graph(self.registry)
        for node_id in node_ids:
            part.insert_node(self.graph.nodes[node_id].copy())
        for link in self.graph.links:
            if link.source in chosen and link.target in chosen:
                part.insert_link(link)
        return to_dict(part)

    def paste(
        self,
        document: dict[str, Any],
        offset: tuple[float, float] = (30.0, 30.0),
        at: tuple[float, float] | None = None,
    ) -> list[str]:
        """Add the nodes of a workflow document with fresh ids; internal links are kept.
        ``at`` places the pasted nodes' top-left corner there instead of offsetting."""
        source = from_dict(copy_json(document), self.registry)
        if not source.nodes:
            return []
        xs = [n.position[0] for n in source.nodes.values()]
        ys = [n.position[1] for n in source.nodes.values()]
        dx, dy = (at[0] - min(xs), at[1] - min(ys)) if at else offset
        renamed: dict[str, str] = {}
        taken = set(self.graph.nodes)
        self.undo_stack.beginMacro("Paste")
        try:
            for data in source.nodes.values():
                new_id = _fresh_id(data.id, taken)
                taken.add(new_id)
                renamed[data.id] = new_id
                copy = data.copy()
                copy.id = new_id
                copy.position = (data.position[0] + dx, data.position[1] + dy)
                self.undo_stack.push(AddNode(self.graph, copy, "Paste"))
            for link in source.links:
                moved = Link(renamed[link.source], link.output, renamed[link.target], link.input)
                self.undo_stack.push(_InsertLink(self.graph, moved))
        finally:
            self.undo_stack.endMacro()
        return list(renamed.values())


class _InsertLink(Connect):
    """A pasted link, inserted as the file had it (types are checked by validation)."""

    def redo(self) -> None:
        self.graph.insert_link(self.link)


def _fresh_id(wanted: str, taken: set[str]) -> str:
    if wanted not in taken:
        return wanted
    base = wanted.rstrip("0123456789").rstrip("_") or "node"
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"
