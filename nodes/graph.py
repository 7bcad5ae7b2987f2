"""The graph document: nodes, links, groups, view state — the thing a workflow file holds.

The document is the single source of truth. Every mutation goes through a method here,
which checks it and then emits a signal (ryvencore style) so observers — the canvas, the
dirty flag, autosave — update themselves. The desktop app's undo commands call these
methods; they never touch canvas items directly.

Loading a file uses :meth:`Graph.insert_node` and :meth:`Graph.insert_link`, which do not
check types or values: a file may name node types that are not installed or hold values
out of range, and it must still open so the user sees and fixes the problems reported by
:func:`nodes.validation.validate`. Interactive edits use the checked methods.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from nodes.api import Node
from nodes.observer import Signal
from nodes.ports import PortType, can_connect
from nodes.registry import REGISTRY, Registry


class GraphError(Exception):
    """A refused edit; names the node and field it concerns."""

    def __init__(self, message: str, node_id: str | None = None, field: str | None = None):
        where = ".".join(p for p in (node_id, field) if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.message = message
        self.node_id = node_id
        self.field = field


@dataclass(slots=True)
class NodeData:
    """One node in the document. ``title`` None means the type's own title."""

    id: str
    type: str
    type_version: str
    params: dict[str, Any] = field(default_factory=dict)
    position: tuple[float, float] = (0.0, 0.0)
    size: tuple[float, float] | None = None
    title: str | None = None
    bypass: bool = False
    color: str | None = None
    collapsed: bool = False
    pinned: bool = False
    """A pinned node stays where it is: the canvas does not drag it, Arrange works round it."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields this version does not know, kept so that saving loses nothing."""

    def copy(self) -> NodeData:
        return replace(self, params=copy_json(self.params), extra=copy_json(self.extra))


@dataclass(frozen=True, slots=True)
class Link:
    """``source.output`` feeds ``target.input`` (an input socket or a promoted param)."""

    source: str
    output: str
    target: str
    input: str
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(slots=True)
class Group:
    """A titled frame on the canvas; nodes inside its rectangle move with it."""

    id: str
    title: str
    rect: tuple[float, float, float, float]
    color: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


NODE_ATTRS = ("position", "size", "title", "bypass", "color", "collapsed", "pinned")
GROUP_ATTRS = ("title", "rect", "color")


class Graph:
    """A mutable, observable node graph."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry if registry is not None else REGISTRY
        self.nodes: dict[str, NodeData] = {}
        self._links: dict[tuple[str, str], Link] = {}
        self._touching: dict[str, dict[tuple[str, str], None]] = {}
        """Node id → the keys of the links into or out of it, in the order of ``_links``:
        what makes a node's links, removing a node and walking the graph cost its degree,
        not the number of links (a 10 MB file has tens of thousands)."""
        self._free_from: dict[str, int] = {}
        """:meth:`new_id`'s memory: base → n such that ``base_2`` … ``base_{n-1}`` are all
        taken, so a thousand nodes of one type do not rescan a thousand ids each."""
        self.groups: dict[str, Group] = {}
        self.view: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}
        """Unknown top-level file fields, preserved on save."""

        self.node_added = Signal("node_added")  # (NodeData)
        self.node_removed = Signal("node_removed")  # (NodeData)
        self.node_changed = Signal("node_changed")  # (node_id, attribute, value)
        self.param_changed = Signal("param_changed")  # (node_id, param, value)
        self.link_added = Signal("link_added")  # (Link)
        self.link_removed = Signal("link_removed")  # (Link)
        self.group_added = Signal("group_added")  # (Group)
        self.group_removed = Signal("group_removed")  # (Group)
        self.group_changed = Signal("group_changed")  # (group_id, attribute, value)
        self.changed = Signal("changed")  # () after any mutation: dirty flags, autosave

    # ----------------------------------------------------------------- queries
    @property
    def links(self) -> list[Link]:
        return list(self._links.values())

    def link_into(self, target: str, input: str) -> Link | None:
        return self._links.get((target, input))

    def links_into(self, node_id: str) -> list[Link]:
        links = self._links
        return [
            link
            for key in self._touching.get(node_id, ())
            if (link := links[key]).target == node_id
        ]

    def links_from(self, node_id: str) -> list[Link]:
        links = self._links
        return [
            link
            for key in self._touching.get(node_id, ())
            if (link := links[key]).source == node_id
        ]

    def node(self, node_id: str) -> NodeData:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphError(f"no node {node_id!r}", node_id) from None

    def node_class(self, node_id: str) -> type[Node] | None:
        return self.registry.get(self.node(node_id).type)

    def display_title(self, node_id: str) -> str:
        data = self.node(node_id)
        if data.title:
            return data.title
        cls = self.registry.get(data.type)
        return cls.title if cls else data.type

    def new_id(self, hint: str) -> str:
        """A fresh id derived from ``hint`` (a type id or a wanted id): ``ksampler_2``."""
        base = re.sub(r"[^a-z0-9_]+", "_", hint.rsplit(".", 1)[-1].lower()).strip("_") or "node"
        if base not in self.nodes and base not in self.groups:
            return base
        # The lowest free n, as a scan from 2 would find it: every n below the remembered
        # one is taken (removals lower it again, see _freed), so the scan starts there.
        n = self._free_from.get(base, 2)
        while f"{base}_{n}" in self.nodes or f"{base}_{n}" in self.groups:
            n += 1
        self._free_from[base] = n  # not n + 1: the caller may not use this id
        return f"{base}_{n}"

    def _freed(self, item_id: str) -> None:
        """``item_id`` (a node or group id) is free again: :meth:`new_id` may return it."""
        base, sep, number = item_id.rpartition("_")
        if not (sep and number.isascii() and number.isdigit() and len(number) < 19):
            return
        if self._free_from.get(base, 0) > int(number):
            self._free_from[base] = int(number)

    def __iter__(self) -> Iterator[NodeData]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    # ----------------------------------------------------------------- nodes
    def add_node(
        self,
        type_id: str,
        *,
        id: str | None = None,
        params: dict[str, Any] | None = None,
        position: tuple[float, float] = (0.0, 0.0),
        title: str | None = None,
    ) -> NodeData:
        """Add a node of a registered type with default params, overridden by ``params``."""
        cls = self.registry.get(type_id)
        if cls is None:
            raise GraphError(f"unknown node type {type_id!r}", id)
        node_id = id if id is not None else self.new_id(type_id)
        if node_id in self.nodes:
            raise GraphError("a node with this id already exists", node_id)
        values = cls.default_params()
        for name, value in (params or {}).items():
            values[name] = self._checked_value(cls, node_id, name, value)
        data = NodeData(
            id=node_id,
            type=type_id,
            type_version=cls.version,
            params=values,
            position=(float(position[0]), float(position[1])),
            title=title,
        )
        return self.insert_node(data)

    def insert_node(self, data: NodeData) -> NodeData:
        """Add ``data`` as is (files, undo, paste). Only the id must be free."""
        if not data.id or not isinstance(data.id, str):
            raise GraphError("node ids must be non-empty strings")
        if data.id in self.nodes:
            raise GraphError("a node with this id already exists", data.id)
        self.nodes[data.id] = data
        self.node_added.emit(data)
        self.changed.emit()
        return data

    def remove_node(self, node_id: str) -> tuple[NodeData, list[Link]]:
        """Remove a node and its links; returns both so an undo can put them back."""
        data = self.node(node_id)
        removed = []
        for key in list(self._touching.get(node_id, ())):
            removed.append(self._unlink(key))
            self.link_removed.emit(removed[-1])
        del self.nodes[node_id]
        self._freed(node_id)
        self.node_removed.emit(data)
        self.changed.emit()
        return data, removed

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Set a param after checking its type, range and choices."""
        data = self.node(node_id)
        cls = self.registry.get(data.type)
        if cls is None:
            raise GraphError(f"unknown node type {data.type!r}", node_id)
        value = self._checked_value(cls, node_id, name, value)
        if (
            name in data.params
            and data.params[name] == value
            and type(data.params[name]) is type(value)
        ):
            return
        data.params[name] = value
        self.param_changed.emit(node_id, name, value)
        self.changed.emit()

    def set_node_attr(self, node_id: str, attr: str, value: Any) -> None:
        """Set one of position, size, title, bypass, color, collapsed, pinned."""
        if attr not in NODE_ATTRS:
            raise GraphError(f"cannot set {attr!r}", node_id, attr)
        data = self.node(node_id)
        value = _normalise_attr(attr, value, node_id)
        if getattr(data, attr) == value:
            return
        setattr(data, attr, value)
        self.node_changed.emit(node_id, attr, value)
        self.changed.emit()

    def set_position(self, node_id: str, x: float, y: float) -> None:
        self.set_node_attr(node_id, "position", (x, y))

    def set_title(self, node_id: str, title: str | None) -> None:
        self.set_node_attr(node_id, "title", title or None)

    def set_bypass(self, node_id: str, bypass: bool) -> None:
        self.set_node_attr(node_id, "bypass", bypass)

    def restore_param(self, node_id: str, name: str, value: Any) -> None:
        """Put a param back as it was (undo): unchecked, since the old value may be one a
        file held that :meth:`set_param` would refuse; None removes it (it was unset)."""
        params = self.node(node_id).params
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
        self.param_changed.emit(node_id, name, value)
        self.changed.emit()

    def set_node_extra(self, node_id: str, key: str, value: Any) -> None:
        """Store an app's field in the node's ``extra`` (saved with the file, e.g. the seed
        after-run modes, the advice silenced on it); None removes it. Unchecked, announced
        as ``node_changed(node_id, "extra", key)`` and ``changed``: only advice reads one
        (``silenced``, :mod:`nodes.advice.rules`), never a run."""
        extra = self.node(node_id).extra
        if value is None:
            extra.pop(key, None)
        else:
            extra[key] = value
        self.node_changed.emit(node_id, "extra", key)
        self.changed.emit()

    def check_param(self, node_id: str, name: str, value: Any) -> Any:
        """``value`` as ``set_param`` would store it, or a GraphError saying why not."""
        data = self.node(node_id)
        cls = self.registry.get(data.type)
        if cls is None:
            raise GraphError(f"unknown node type {data.type!r}", node_id)
        return self._checked_value(cls, node_id, name, value)

    @staticmethod
    def _checked_value(node_cls: type[Node], node_id: str, name: str, value: Any) -> Any:
        param = node_cls.param(name)
        if param is None:
            raise GraphError(f"{node_cls.title} has no parameter {name!r}", node_id, name)
        if param.type is PortType.FLOAT and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        problem = param.check(value)
        if problem is not None:
            raise GraphError(problem, node_id, name)
        return value

    # ----------------------------------------------------------------- links
    def connect(self, source: str, output: str, target: str, input: str) -> Link:
        """Link ``source.output`` to ``target.input``, replacing a link already there.

        Refuses unknown nodes or ports, incompatible types and links that would close a
        cycle. ``input`` may name a linkable param, which promotes it to a socket.
        """
        return self.insert_link(self.check_link(source, output, target, input))

    def check_link(
        self, source: str, output: str, target: str, input: str, *, without: Link | None = None
    ) -> Link:
        """The link :meth:`connect` would add, or the GraphError it would raise; changes
        nothing. ``without`` judges cycles as if that link were already gone (moving a
        link's end)."""
        src_cls = self._known_class(source)
        dst_cls = self._known_class(target)
        out = src_cls.output(output)
        if out is None:
            raise GraphError(f"{src_cls.title} has no output {output!r}", source, output)
        port = dst_cls.input(input)
        if port is not None:
            wanted = port.type
        else:
            param = dst_cls.param(input)
            if param is None:
                raise GraphError(f"{dst_cls.title} has no input {input!r}", target, input)
            if not param.linkable:
                raise GraphError("this parameter cannot be linked", target, input)
            wanted = param.type
        if not can_connect(out.type, wanted):
            raise GraphError(f"cannot connect {out.type.value} to {wanted.value}", target, input)
        if source == target or self._reaches(target, source, without):
            raise GraphError("this link would create a cycle", target, input)
        return Link(source, output, target, input)

    def insert_link(self, link: Link) -> Link:
        """Add ``link`` without type checks (files, undo); replaces the input's old link."""
        for end in (link.source, link.target):
            if end not in self.nodes:
                raise GraphError(f"no node {end!r}", end)
        key = (link.target, link.input)
        old = self._unlink(key) if key in self._links else None
        if old is not None:
            self.link_removed.emit(old)
        self._link(link)
        self.link_added.emit(link)
        self.changed.emit()
        return link

    def disconnect(self, target: str, input: str) -> Link | None:
        key = (target, input)
        link = self._unlink(key) if key in self._links else None
        if link is not None:
            self.link_removed.emit(link)
            self.changed.emit()
        return link

    def _link(self, link: Link) -> None:
        key = (link.target, link.input)
        self._links[key] = link
        self._touching.setdefault(link.source, {})[key] = None
        self._touching.setdefault(link.target, {})[key] = None

    def _unlink(self, key: tuple[str, str]) -> Link:
        """Remove the link at ``key`` from ``_links`` and the index; no signal."""
        link = self._links.pop(key)
        for end in (link.source, link.target):
            keys = self._touching.get(end)
            if keys is not None:
                keys.pop(key, None)
                if not keys:
                    del self._touching[end]
        return link

    def _reindex(self) -> None:
        self._touching = {}
        for key, link in self._links.items():
            self._touching.setdefault(link.source, {})[key] = None
            self._touching.setdefault(link.target, {})[key] = None

    def _known_class(self, node_id: str) -> type[Node]:
        data = self.node(node_id)
        cls = self.registry.get(data.type)
        if cls is None:
            raise GraphError(f"unknown node type {data.type!r}", node_id)
        return cls

    def _reaches(self, start: str, goal: str, without: Link | None = None) -> bool:
        """Whether links (other than ``without``) lead from ``start`` downstream to ``goal``."""
        stack, seen = [start], {start}
        while stack:
            current = stack.pop()
            if current == goal:
                return True
            for link in self.links_from(current):
                if link.target not in seen and link != without:
                    seen.add(link.target)
                    stack.append(link.target)
        return False

    # ----------------------------------------------------------------- groups
    def add_group(
        self,
        title: str,
        rect: tuple[float, float, float, float],
        *,
        color: str | None = None,
        id: str | None = None,
    ) -> Group:
        group_id = id if id is not None else self.new_id("group")
        return self.insert_group(
            Group(group_id, title, _normalise_attr("rect", rect, group_id), color)
        )

    def insert_group(self, group: Group) -> Group:
        if group.id in self.groups:
            raise GraphError(f"a group with id {group.id!r} already exists")
        self.groups[group.id] = group
        self.group_added.emit(group)
        self.changed.emit()
        return group

    def remove_group(self, group_id: str) -> Group:
        try:
            group = self.groups.pop(group_id)
        except KeyError:
            raise GraphError(f"no group {group_id!r}") from None
        self._freed(group_id)
        self.group_removed.emit(group)
        self.changed.emit()
        return group

    def set_group_attr(self, group_id: str, attr: str, value: Any) -> None:
        if attr not in GROUP_ATTRS:
            raise GraphError(f"cannot set group {attr!r}")
        group = self.groups.get(group_id)
        if group is None:
            raise GraphError(f"no group {group_id!r}")
        value = _normalise_attr(attr, value, group_id)
        if getattr(group, attr) == value:
            return
        setattr(group, attr, value)
        self.group_changed.emit(group_id, attr, value)
        self.changed.emit()

    def nodes_in_group(self, group_id: str) -> list[str]:
        """Nodes whose position lies inside the group's frame (membership is spatial)."""
        x, y, w, h = self.groups[group_id].rect
        return [
            n.id
            for n in self.nodes.values()
            if x <= n.position[0] <= x + w and y <= n.position[1] <= y + h
        ]

    # ----------------------------------------------------------------- bulk
    def clear(self) -> None:
        for node_id in list(self.nodes):
            self.remove_node(node_id)
        for group_id in list(self.groups):
            self.remove_group(group_id)
        self.view.clear()
        self.metadata.clear()
        self.extra.clear()
        self.changed.emit()

    def replace_with(self, other: Graph) -> None:
        """Take ``other``'s contents in place (opening a file into the graph that observers
        already follow): everything here is removed, then ``other``'s groups, nodes and
        links are inserted, with the usual signals."""
        self.clear()
        for group in other.groups.values():
            self.insert_group(group)
        for data in other.nodes.values():
            self.insert_node(data)
        for link in other.links:
            self.insert_link(link)
        self.view = other.view
        self.metadata = other.metadata
        self.extra = other.extra

    def update_view(self, values: dict[str, Any]) -> None:
        """Merge ``values`` into the view state (zoom, center: how the file was last looked
        at). No signal: looking around is not an edit, so it marks nothing changed."""
        self.view.update(values)

    def copy(self) -> Graph:
        """An independent copy (no subscribers), e.g. the snapshot a queued run uses."""
        other = Graph(self.registry)
        for data in self.nodes.values():
            other.nodes[data.id] = data.copy()
        other._links = {
            key: replace(link, extra=copy_json(link.extra)) for key, link in self._links.items()
        }
        other._reindex()
        for group in self.groups.values():
            other.groups[group.id] = replace(group, extra=copy_json(group.extra))
        other.view = copy_json(self.view)
        other.metadata = copy_json(self.metadata)
        other.extra = copy_json(self.extra)
        return other

    def upstream(self, node_ids: Iterable[str]) -> set[str]:
        """``node_ids`` and every node they depend on through links."""
        seen: set[str] = set()
        stack = [n for n in node_ids if n in self.nodes]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(link.source for link in self.links_into(current))
        return seen


def _normalise_attr(attr: str, value: Any, owner: str) -> Any:
    try:
        if attr == "position":
            x, y = value
            return (float(x), float(y))
        if attr == "size":
            if value is None:
                return None
            w, h = value
            return (float(w), float(h))
        if attr == "rect":
            x, y, w, h = value
            return (float(x), float(y), float(w), float(h))
    except (TypeError, ValueError):
        raise GraphError(f"invalid {attr} {value!r}", owner, attr) from None
    if attr in ("bypass", "collapsed", "pinned"):
        if not isinstance(value, bool):
            raise GraphError(f"{attr} must be true or false", owner, attr)
        return value
    if attr in ("title", "color") and value is not None and not isinstance(value, str):
        raise GraphError(f"{attr} must be text", owner, attr)
    return value


def copy_json(value: Any) -> Any:
    """Copy JSON-like data (dicts, lists, scalars) — cheaper than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value
