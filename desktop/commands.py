"""Undo commands: every edit of the document is one of these, pushed on the QUndoStack.

Commands call the graph document's API (never canvas items); the canvas observes the
document and follows. Consecutive edits of one param (typing in a prompt, dragging a spin
box) and one drag of a selection merge into a single undo step.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtGui import QUndoCommand

from nodes.graph import Graph, Group, Link, NodeData, copy_json

_SET_PARAM_ID = 1001
_MOVE_ID = 1002


class AddNode(QUndoCommand):
    def __init__(self, graph: Graph, data: NodeData, text: str = "") -> None:
        super().__init__(text or f"Add {data.title or data.type}")
        self.graph = graph
        self.data = data

    def redo(self) -> None:
        self.graph.insert_node(self.data.copy())

    def undo(self) -> None:
        self.graph.remove_node(self.data.id)


class RemoveNodes(QUndoCommand):
    """Removes nodes with their links (and groups, by id)."""

    def __init__(
        self,
        graph: Graph,
        node_ids: Sequence[str],
        group_ids: Sequence[str] = (),
        text: str = "Delete",
    ) -> None:
        super().__init__(text)
        self.graph = graph
        self.node_ids = [n for n in node_ids if n in graph.nodes]
        self.group_ids = [g for g in group_ids if g in graph.groups]
        self.removed: list[NodeData] = []
        self.links: list[Link] = []
        self.groups: list[Group] = []

    def redo(self) -> None:
        self.removed, self.links, self.groups = [], [], []
        for node_id in self.node_ids:
            data, links = self.graph.remove_node(node_id)
            self.removed.append(data)
            self.links.extend(link for link in links if link not in self.links)
        for group_id in self.group_ids:
            self.groups.append(self.graph.remove_group(group_id))

    def undo(self) -> None:
        for group in self.groups:
            self.graph.insert_group(group)
        for data in self.removed:
            self.graph.insert_node(data)
        for link in self.links:
            self.graph.insert_link(link)


class Connect(QUndoCommand):
    """Connects two ports (checked by the document), replacing the input's old link."""

    def __init__(self, graph: Graph, link: Link) -> None:
        super().__init__("Connect")
        self.graph = graph
        self.link = link
        self.replaced = graph.link_into(link.target, link.input)

    def redo(self) -> None:
        link = self.link
        self.graph.connect(link.source, link.output, link.target, link.input)

    def undo(self) -> None:
        self.graph.disconnect(self.link.target, self.link.input)
        if self.replaced is not None:
            self.graph.insert_link(self.replaced)


class Disconnect(QUndoCommand):
    def __init__(self, graph: Graph, links: list[Link]) -> None:
        super().__init__("Disconnect")
        self.graph = graph
        self.links = links

    def redo(self) -> None:
        for link in self.links:
            self.graph.disconnect(link.target, link.input)

    def undo(self) -> None:
        for link in self.links:
            self.graph.insert_link(link)


MERGE_PAUSE = 1.0
"""Seconds of quiet after which typing or dragging a value starts a new undo step."""


class SetParam(QUndoCommand):
    """Sets a param; a following edit of the same param with ``merge`` joins this step,
    unless the user paused for :data:`MERGE_PAUSE` seconds (a new typing session)."""

    def __init__(
        self,
        graph: Graph,
        node_id: str,
        name: str,
        value: Any,
        merge: bool = False,
        text: str = "",
    ) -> None:
        super().__init__(text or f"Edit {name}")
        self.graph = graph
        self.node_id = node_id
        self.name = name
        self.old = graph.nodes[node_id].params.get(name)
        self.new = value
        self.merge = merge
        self.last_edit = time.monotonic()

    def id(self) -> int:
        return _SET_PARAM_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not (isinstance(other, SetParam) and other.merge and self.merge):
            return False
        if (other.node_id, other.name) != (self.node_id, self.name):
            return False
        if other.last_edit - self.last_edit > MERGE_PAUSE:
            return False
        self.new = other.new
        self.last_edit = other.last_edit
        return True

    def redo(self) -> None:
        self.graph.set_param(self.node_id, self.name, self.new)

    def undo(self) -> None:
        # the old value may be one a file held and set_param would refuse: restore as is
        self.graph.restore_param(self.node_id, self.name, self.old)


class SetNodeAttr(QUndoCommand):
    """Title, bypass, color, collapsed or size of one or more nodes."""

    def __init__(
        self, graph: Graph, node_ids: list[str], attr: str, value: Any, text: str = ""
    ) -> None:
        super().__init__(text or f"Change {attr}")
        self.graph = graph
        self.attr = attr
        self.value = value
        self.old = {n: getattr(graph.nodes[n], attr) for n in node_ids}

    def redo(self) -> None:
        for node_id in self.old:
            self.graph.set_node_attr(node_id, self.attr, self.value)

    def undo(self) -> None:
        for node_id, value in self.old.items():
            self.graph.set_node_attr(node_id, self.attr, value)


class SetNodeExtra(QUndoCommand):
    """An app field in one node's ``extra`` (saved with the file): the advice silenced
    on it. None removes the field; undo puts back what was there, or removes it."""

    def __init__(self, graph: Graph, node_id: str, key: str, value: Any, text: str = "") -> None:
        super().__init__(text or f"Change {key}")
        self.graph = graph
        self.node_id = node_id
        self.key = key
        self.new = copy_json(value)
        self.old = copy_json(graph.nodes[node_id].extra.get(key))

    def redo(self) -> None:
        self.graph.set_node_extra(self.node_id, self.key, copy_json(self.new))

    def undo(self) -> None:
        self.graph.set_node_extra(self.node_id, self.key, copy_json(self.old))


class MoveItems(QUndoCommand):
    """Moves nodes and groups; steps of one drag (same ``drag_id``) merge."""

    def __init__(
        self,
        graph: Graph,
        nodes: dict[str, tuple[float, float]],
        groups: dict[str, tuple[float, float, float, float]] | None = None,
        drag_id: int = 0,
    ) -> None:
        super().__init__("Move")
        self.graph = graph
        self.new_nodes = dict(nodes)
        self.old_nodes = {n: graph.nodes[n].position for n in nodes}
        self.new_groups = dict(groups or {})
        self.old_groups = {g: graph.groups[g].rect for g in self.new_groups}
        self.drag_id = drag_id

    def id(self) -> int:
        return _MOVE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, MoveItems) or not self.drag_id or other.drag_id != self.drag_id:
            return False
        for node_id, position in other.new_nodes.items():
            self.old_nodes.setdefault(node_id, other.old_nodes[node_id])
            self.new_nodes[node_id] = position
        for group_id, rect in other.new_groups.items():
            self.old_groups.setdefault(group_id, other.old_groups[group_id])
            self.new_groups[group_id] = rect
        return True

    def redo(self) -> None:
        self._apply(self.new_nodes, self.new_groups)

    def undo(self) -> None:
        self._apply(self.old_nodes, self.old_groups)

    def _apply(self, nodes: dict, groups: dict) -> None:
        for node_id, position in nodes.items():
            if node_id in self.graph.nodes:
                self.graph.set_node_attr(node_id, "position", position)
        for group_id, rect in groups.items():
            if group_id in self.graph.groups:
                self.graph.set_group_attr(group_id, "rect", rect)


class AddGroup(QUndoCommand):
    def __init__(self, graph: Graph, group: Group) -> None:
        super().__init__("Group")
        self.graph = graph
        self.group = group

    def redo(self) -> None:
        self.graph.insert_group(replace(self.group))

    def undo(self) -> None:
        self.graph.remove_group(self.group.id)


class SetGroupAttr(QUndoCommand):
    def __init__(self, graph: Graph, group_id: str, attr: str, value: Any) -> None:
        super().__init__(f"Change group {attr}")
        self.graph = graph
        self.group_id = group_id
        self.attr = attr
        self.value = value
        self.old = getattr(graph.groups[group_id], attr)

    def redo(self) -> None:
        self.graph.set_group_attr(self.group_id, self.attr, self.value)

    def undo(self) -> None:
        self.graph.set_group_attr(self.group_id, self.attr, self.old)
