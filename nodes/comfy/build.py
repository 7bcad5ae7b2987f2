"""From ComfyUI nodes (either file format, normalised) to a Daguerre graph.

Both ComfyUI formats are first read into :class:`ComfyNode` records — a node's class, its
widget values by name, its input links as (source id, output slot), its layout — by
:mod:`nodes.comfy.ui` and :mod:`nodes.comfy.api`. :func:`build_graph` then:

1. reads the constant value of every primitive node (PrimitiveNode, PrimitiveInt...), so
   that a value a Daguerre node needs converted (a sampler name, an enable/disable switch)
   can be inlined instead of linked;
2. builds each node through its :class:`ComfyClass` record, declared in
   :mod:`nodes.comfy.nodetypes` (one ComfyUI node may become several Daguerre nodes: a
   KSampler is a Scheduler and a Sampler), or as a
   :mod:`placeholder <nodes.comfy.placeholder>`; Reroutes are resolved away;
3. connects the links through the endpoints the builders registered.

Everything lossy or approximate is said in ``graph.metadata["import_notes"]``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nodes.comfy.placeholder import PLACEHOLDER, ensure_registered
from nodes.comfy.widgets import Layout, Widget, WidgetMismatch, brief, check_value, decode, short
from nodes.graph import Graph, Link, NodeData, copy_json
from nodes.registry import Registry
from nodes.workflow.errors import WorkflowError

Convert = Callable[[Any], dict[str, Any]]
"""Turns a ComfyUI value into the Daguerre params it sets (for inlined primitives)."""


@dataclass
class ComfyNode:
    """One ComfyUI node, read from either format."""

    id: str
    class_type: str
    path: str
    """Where it is in the file (JSON path), for error messages."""
    widgets: Any = None
    """UI format: the raw ``widgets_values`` (decoded against its class's layouts)."""
    values: dict[str, Any] = field(default_factory=dict)
    """API format: the literal inputs by name."""
    links: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Input name → (source node id, output slot)."""
    input_types: dict[str, str] = field(default_factory=dict)
    output_names: list[str] = field(default_factory=list)
    output_types: list[str] = field(default_factory=list)
    output_widgets: list[str] = field(default_factory=list)
    """PrimitiveNode: the widget names its output feeds."""
    title: str | None = None
    position: tuple[float, float] | None = None
    size: tuple[float, float] | None = None
    color: str | None = None
    collapsed: bool = False
    pinned: bool = False
    mode: int = 0
    raw: dict[str, Any] = field(default_factory=dict)
    api: bool = False
    reason: str | None = None
    """Set when the node must become a placeholder whatever its type (a subgraph)."""

    @property
    def where(self) -> str:
        """The node for a message: ``node 3 (KSampler)``."""
        return f"node {brief(self.id)} ({brief(self.class_type)})"

    @property
    def values_path(self) -> str:
        """The JSON path of its widget values (UI) or inputs (API)."""
        return f"{self.path}.inputs" if self.api else f"{self.path}.widgets_values"

    def refuse(self, name: str, value: Any, why: str) -> WorkflowError:
        """The error for widget ``name`` holding ``value``, which cannot be read."""
        return WorkflowError(f"{self.where}: {name} {short(value)}: {why}", self.values_path)


Build = Callable[["Builder", ComfyNode], None]
"""Adds the Daguerre node(s) a ComfyUI node becomes and registers its endpoints."""
Constant = Callable[["Builder", ComfyNode], Any]
"""Reads the value of a primitive node (so that it can be inlined where it is linked)."""


@dataclass(frozen=True)
class ComfyClass:
    """Everything Daguerre knows about one ComfyUI node class, declared once: the import
    builds from it, the export reads its output slots, the docs list the supported set."""

    name: str
    """ComfyUI's class name (``class_type``)."""
    build: Build | None
    """None only for Reroute, which :func:`build_graph` resolves away."""
    becomes: str = ""
    """The Daguerre type of the main node it becomes ("" when that depends on the node)."""
    layouts: tuple[Layout, ...] = ()
    """The possible orders of its widget values, newest first (see :mod:`.widgets`)."""
    outputs: tuple[str, ...] = ()
    """ComfyUI's output names in slot order (API-format files do not carry them)."""
    slots: tuple[str, ...] = ()
    """The outputs of the ``becomes`` node that ComfyUI's output slots 0, 1, ... are."""
    value_type: str = ""
    """A core Primitive* class: the ComfyUI type of its value (INT, FLOAT, ...)."""
    constant: Constant | None = None
    """Primitive classes: reads the node's value, before anything is built."""


def node_values(node: ComfyNode, layouts: Sequence[Layout]) -> dict[str, Any]:
    """A node's widget values by name, checked against ``layouts`` (its class's, newest
    first); a :class:`~nodes.workflow.errors.WorkflowError` naming the node when they fit
    none.

    UI format: the positional list is decoded. API format: the named inputs are checked
    against the first layout all of whose widgets are given (as values or links), so an
    older file without a newer widget still reads; widgets it lacks are absent.
    """
    where = node.where
    if not node.api:
        try:
            return decode(node.widgets, layouts)
        except WidgetMismatch as exc:
            raise WorkflowError(f"{where}: {exc}", node.values_path) from None

    def given(candidate: Layout) -> list[Widget]:
        return [w for w in candidate if w.kind != "control" and w.name != "upload"]

    chosen = next(
        (
            c
            for c in layouts
            if all(w.name in node.values or w.name in node.links for w in given(c))
        ),
        layouts[0] if layouts else (),
    )
    values: dict[str, Any] = {}
    for widget in given(chosen):
        if widget.name in node.values:
            try:
                values[widget.name] = check_value(widget, node.values[widget.name])
            except WidgetMismatch as exc:
                raise WorkflowError(f"{where}: {exc}", node.values_path) from None
        elif widget.name not in node.links:
            raise WorkflowError(f"{where}: input {widget.name!r} is missing", node.values_path)
    return values


@dataclass
class Target:
    node: str
    field: str
    convert: Convert | None = None


class Builder:
    """Collects the Daguerre nodes and the endpoints of one import."""

    def __init__(self, registry: Registry, nodes: list[ComfyNode]) -> None:
        self.registry = ensure_registered(registry)
        self.graph = Graph(registry)
        self.nodes = {n.id: n for n in nodes}
        self.ids: dict[str, str] = {}
        self.out: dict[tuple[str, int], tuple[str, str]] = {}
        self.inp: dict[tuple[str, str], list[Target]] = {}
        self.inlined: set[tuple[str, str]] = set()
        self.constants: dict[str, Any] = {}
        self.notes: list[str] = []
        self._suffixes: dict[str, int] = {}
        """Id base → the next number to try (a file may hold thousands of ids that sanitise
        to the same base, such as ``²`` and ``³``)."""
        self.passthrough: dict[tuple[str, int], str] = {}
        """(node, slot) → the input whose value that output repeats (newer SaveImage)."""
        self.read_slots: dict[str, set[int]] = {}
        for other in nodes:
            for source, slot in other.links.values():
                self.read_slots.setdefault(source, set()).add(slot)

    # ------------------------------------------------------------ building nodes
    def add(
        self,
        node: ComfyNode,
        type_id: str,
        params: dict[str, Any],
        *,
        suffix: str | None = None,
    ) -> NodeData:
        """A Daguerre node standing for ``node`` (``suffix``: a second one, e.g. scheduler).

        The main node keeps ComfyUI's id (made safe for Daguerre) and the original data in
        ``extra["comfy"]``; a second node gets ``<id>_<suffix>`` and only its role.
        """
        cls = self.registry.get(type_id)
        assert cls is not None, type_id
        values = cls.default_params()
        values.update(params)
        node_id = self._fresh_id(node.id if suffix is None else f"{node.id}_{suffix}")
        x, y = node.position or (0.0, 0.0)
        comfy: dict[str, Any] = {"id": node.id, "class_type": node.class_type}
        if suffix is None:
            self.ids[node.id] = node_id
            comfy["api" if node.api else "ui"] = copy_json(node.raw)
        else:
            comfy["role"] = suffix
        title = node.title
        if suffix is not None:
            title = f"{node.title or node.class_type} ({suffix})"
        data = NodeData(
            id=node_id,
            type=type_id,
            type_version=cls.version,
            params=values,
            position=(x, y - 130.0) if suffix is not None else (x, y),
            size=node.size if suffix is None else None,
            title=title,
            bypass=node.mode in (2, 4) and suffix is None,
            color=node.color,
            collapsed=node.collapsed,
            pinned=node.pinned and suffix is None,
            extra={"comfy": comfy},
        )
        if node.mode == 2 and suffix is None:
            self.note(node, "muted in ComfyUI; Daguerre has no mute, so it is bypassed")
        return self.graph.insert_node(data)

    def _fresh_id(self, hint: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_\-]", "_", hint[:56]) or "node"
        if base not in self.graph.nodes:
            return base
        n = self._suffixes.get(base, 2)
        while f"{base}_{n}" in self.graph.nodes:
            n += 1
        self._suffixes[base] = n + 1
        return f"{base}_{n}"

    def outputs(self, node: ComfyNode, data: NodeData, names: Sequence[str]) -> None:
        for slot, name in enumerate(names):
            self.out[(node.id, slot)] = (data.id, name)

    def input(
        self, node: ComfyNode, name: str, data: NodeData, field: str, convert: Convert | None = None
    ) -> None:
        self.inp.setdefault((node.id, name), []).append(Target(data.id, field, convert))

    def link(self, source: NodeData, output: str, target: NodeData, input_name: str) -> None:
        self.graph.insert_link(Link(source.id, output, target.id, input_name))

    def note(self, node: ComfyNode | None, message: str) -> None:
        where = f"{brief(node.class_type)} {brief(node.id)}: " if node is not None else ""
        self.notes.append(where + message)

    def value(self, node: ComfyNode, name: str, values: dict[str, Any]) -> Any:
        """The value that reaches widget ``name``: from a primitive node if one is linked
        there (the link is then inlined), else the node's own widget value."""
        source = self.source_of(node, name)
        if source is not None:
            constant = self.constants.get(source[0], _NONE)
            if constant is not _NONE:
                self.inlined.add((node.id, name))
                self.note(
                    node, f"{name} comes from primitive {brief(source[0])}: its value is inlined"
                )
                return constant
            self.note(
                node, f"{name} is linked to node {brief(source[0])}; its widget value is used"
            )
        return values.get(name)

    def source_of(self, node: ComfyNode, name: str) -> tuple[str, int] | None:
        link = node.links.get(name)
        return self.resolve(link) if link is not None else None

    def resolve(
        self,
        link: tuple[str, int],
        memo: dict[tuple[str, int], tuple[str, int] | None] | None = None,
    ) -> tuple[str, int] | None:
        """Follow Reroutes and pass-through outputs; None for a chain that ends nowhere.

        ``memo`` (for a phase in which no link changes) remembers the end of every link a
        walk passed, so many readers of one long Reroute chain cost its length once, not
        once each."""
        seen: dict[tuple[str, int], None] = {}
        end: tuple[str, int] | None
        while True:
            if memo is not None and link in memo:
                end = memo[link]
                break
            source = self.nodes.get(link[0])
            through = self.passthrough.get(link)
            if source is None or (source.class_type != "Reroute" and through is None):
                end = link
                break
            if link in seen:
                end = None
                break
            seen[link] = None
            if through is not None:
                if through not in source.links:
                    end = None
                    break
                link = source.links[through]
            elif source.links:
                link = next(iter(source.links.values()))
            else:
                end = None
                break
        if memo is not None:
            for passed in seen:
                memo[passed] = end
        return end

    # ------------------------------------------------------------ placeholders
    def placeholder(self, node: ComfyNode, reason: str) -> NodeData:
        data = self.add(node, PLACEHOLDER, {"comfy_type": node.class_type, "reason": reason})
        if data.title is None:
            data.title = node.class_type
        names = node.output_names or []
        slots = set(range(len(names))) | self.read_slots.get(node.id, set())
        counts = Counter(names)
        slot_of: dict[str, int] = {}
        for slot in sorted(slots):
            name = names[slot] if slot < len(names) and names[slot] else f"output_{slot}"
            if counts[name] > 1:
                name = f"{name}_{slot}"
            self.out[(node.id, slot)] = (data.id, name)
            slot_of[name] = slot
        data.extra["comfy"]["outputs"] = slot_of
        for name in node.links:
            self.input(node, name, data, name)
        return data


_NONE = object()


def build_graph(
    nodes: list[ComfyNode], registry: Registry, classes: Mapping[str, ComfyClass]
) -> tuple[Graph, list[str]]:
    """The Daguerre graph of ``nodes``; returns it with the import notes."""
    b = Builder(registry, nodes)
    for node in nodes:
        known = classes.get(node.class_type)
        if node.reason is None and known is not None and known.constant is not None:
            b.constants[node.id] = known.constant(b, node)
    for node in nodes:
        if node.class_type == "Reroute":
            continue
        known = classes.get(node.class_type)
        if node.reason is not None or known is None or known.build is None:
            reason = node.reason or "Daguerre has no node of this type"
            b.placeholder(node, reason)
            continue
        known.build(b, node)
    _bypass_placeholders(b)
    _connect(b)
    return b.graph, b.notes


def _bypass_placeholders(b: Builder) -> None:
    """Consumers of a bypassed placeholder read its same-typed input's source instead, as
    ComfyUI's bypass does (UI format: the slot types are known).

    Linear in the links: who reads each output is indexed once and kept up to date as
    consumers move to the feeders (a chain of bypassed nodes passes on to its start).
    """
    readers: dict[tuple[str, int], list[tuple[ComfyNode, str]]] = {}
    for other in b.nodes.values():
        for name, link in other.links.items():
            readers.setdefault(link, []).append((other, name))
    for node in b.nodes.values():
        our = b.ids.get(node.id)
        if our is None or node.mode != 4 or b.graph.nodes[our].type != PLACEHOLDER:
            continue
        feeders: dict[str, tuple[str, int]] = {}
        for name, link in node.links.items():
            feeders.setdefault(node.input_types.get(name, ""), link)
        for slot, kind in enumerate(node.output_types):
            feeder = feeders.get(kind) if kind else None
            if feeder is None:
                continue
            moved = readers.pop((node.id, slot), [])
            for other, name in moved:
                other.links[name] = feeder
            if (node.id, slot) == feeder:  # a node that feeds itself stays as it was
                readers[feeder] = moved
            else:
                readers.setdefault(feeder, []).extend(moved)
            b.note(node, f"bypassed: its {kind} output passes its {kind} input through")


def _connect(b: Builder) -> None:
    graph = b.graph
    memo: dict[tuple[str, int], tuple[str, int] | None] = {}  # links no longer change here
    for node in b.nodes.values():
        if node.class_type == "Reroute" or node.id not in b.ids:
            continue
        for name, link in node.links.items():
            if (node.id, name) in b.inlined:
                continue
            targets = b.inp.get((node.id, name))
            if not targets:
                b.note(node, f"input {short(name)} is not used by Daguerre; its link is dropped")
                continue
            source = b.resolve(link, memo)
            if source is None:
                b.note(node, f"input {short(name)} comes from an unconnected Reroute")
                continue
            if source[0] not in b.nodes:
                b.note(node, f"input {short(name)} is linked to a missing node {brief(source[0])}")
                continue
            end = b.out.get(source)
            if end is None:
                src = b.nodes[source[0]]
                raise WorkflowError(
                    f"{node.where}: input {short(name)} is linked to output {source[1]} of "
                    f"{src.where}, which has no such output",
                    node.path,
                )
            for target in targets:
                if target.convert is None:
                    graph.insert_link(Link(end[0], end[1], target.node, target.field))
                    continue
                constant = b.constants.get(source[0], _NONE)
                if constant is _NONE:
                    b.note(
                        node,
                        f"{name} is fed by node {brief(source[0])}, which Daguerre cannot link",
                    )
                    continue
                try:
                    graph.nodes[target.node].params.update(target.convert(constant))
                except (TypeError, ValueError, ArithmeticError) as exc:
                    raise WorkflowError(
                        f"{node.where}: {name} {short(constant)}: {exc}", node.path
                    ) from None
                b.note(
                    node, f"{name} comes from primitive {brief(source[0])}: its value is inlined"
                )
