"""Version 1 of the workflow format: parsing into a :class:`~nodes.graph.Graph` and back.

Parsing checks structure (types of fields, references between them) and raises
:class:`WorkflowError` with the JSON path on the first fault. It does not check meaning:
unknown node types, out-of-range values or mismatched links load as they are, so the
user sees them reported by validation on the right node and can fix them.
"""

from __future__ import annotations

import math
import re
from typing import Any

from nodes.api import Node, parse_version
from nodes.graph import Graph, GraphError, Group, Link, NodeData, copy_json
from nodes.registry import Registry
from nodes.workflow.errors import WorkflowError, child
from nodes.workflow.migrations import migrate

FORMAT = "daguerre.workflow"
VERSION = 1

NODE_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
"""Node ids, matched in full (``$`` would also accept a trailing newline)."""
MAX_DEPTH = 100
"""Deepest nesting of objects and lists a document may have: deeper data would overflow
the recursion of copies, saves and error messages later, far from the file."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_NODE_KEYS = (
    "type",
    "type_version",
    "title",
    "position",
    "size",
    "bypass",
    "color",
    "collapsed",
    "pinned",
    "params",
)
_GROUP_KEYS = ("id", "title", "rect", "color")


def from_dict(doc: Any, registry: Registry | None = None) -> Graph:
    """Build a graph from a parsed workflow document (any version this Daguerre reads)."""
    if not isinstance(doc, dict):
        raise WorkflowError(f"expected a workflow object, found {_kind(doc)}")
    _check_values(doc)
    fmt = doc.get("format")
    if fmt != FORMAT:
        if "last_node_id" in doc or any(
            isinstance(v, dict) and "class_type" in v for v in doc.values()
        ):
            raise WorkflowError(
                "this looks like a ComfyUI workflow, not a Daguerre one", "$.format"
            )
        raise WorkflowError(f"not a Daguerre workflow (format is {_short(fmt)})", "$.format")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise WorkflowError(f"expected an integer version, found {_kind(version)}", "$.version")
    if version > VERSION:
        raise WorkflowError(
            f"saved by a newer Daguerre (workflow version {version}; this one reads up to "
            f"version {VERSION}) — update Daguerre to open it",
            "$.version",
        )
    if version < 0:
        raise WorkflowError(f"invalid version {version}", "$.version")
    doc = migrate(doc, version, VERSION)

    graph = Graph(registry)
    nodes = _field(doc, "nodes", dict, "$", {})
    for node_id, raw in nodes.items():
        path = child("$.nodes", node_id if isinstance(node_id, str | int) else repr(node_id))
        if not isinstance(node_id, str) or not NODE_ID.fullmatch(node_id):
            raise WorkflowError("node ids are 1–64 letters, digits, '_' or '-'", path)
        graph.insert_node(_parse_node(node_id, raw, path, graph.registry))

    links = _field(doc, "links", list, "$", [])
    for index, raw in enumerate(links):
        path = child("$.links", index)
        link = _parse_link(raw, path)
        for end, where in ((link.source, "from"), (link.target, "to")):
            if end not in graph.nodes:
                raise WorkflowError(f"no node {end!r}", child(child(path, where), 0))
        if graph.link_into(link.target, link.input) is not None:
            raise WorkflowError(
                f"input {link.input!r} of {link.target!r} already has a link", child(path, "to")
            )
        graph.insert_link(link)

    groups = _field(doc, "groups", list, "$", [])
    for index, raw in enumerate(groups):
        path = child("$.groups", index)
        group = _parse_group(raw, path)
        try:
            graph.insert_group(group)
        except GraphError as exc:
            raise WorkflowError(exc.message, child(path, "id")) from None

    graph.view = _field(doc, "view", dict, "$", {})
    graph.metadata = _field(doc, "metadata", dict, "$", {})
    graph.extra = {
        key: value
        for key, value in doc.items()
        if key not in ("format", "version", "nodes", "links", "groups", "view", "metadata")
    }
    return graph


def to_dict(graph: Graph) -> dict[str, Any]:
    """The version-1 document of ``graph``: an independent copy (a snapshot later edits of
    the graph cannot reach), keys in a fixed order so saves are stable."""
    try:
        return _to_dict(graph)
    except RecursionError:
        raise WorkflowError(
            "cannot be saved as JSON: a value is nested too deeply or contains itself"
        ) from None


def _to_dict(graph: Graph) -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    for data in graph.nodes.values():
        node: dict[str, Any] = {"type": data.type, "type_version": data.type_version}
        if data.title is not None:
            node["title"] = data.title
        node["position"] = [data.position[0], data.position[1]]
        if data.size is not None:
            node["size"] = [data.size[0], data.size[1]]
        if data.bypass:
            node["bypass"] = True
        if data.color is not None:
            node["color"] = data.color
        if data.collapsed:
            node["collapsed"] = True
        if data.pinned:
            node["pinned"] = True
        node["params"] = copy_json(data.params)
        node.update((k, copy_json(v)) for k, v in data.extra.items() if k not in node)
        nodes[data.id] = node
    links = []
    for link in graph.links:
        entry: dict[str, Any] = {
            "from": [link.source, link.output],
            "to": [link.target, link.input],
        }
        entry.update((k, v) for k, v in link.extra.items() if k not in entry)
        links.append(entry)
    groups = []
    for group in graph.groups.values():
        item: dict[str, Any] = {"id": group.id, "title": group.title, "rect": list(group.rect)}
        if group.color is not None:
            item["color"] = group.color
        item.update((k, v) for k, v in group.extra.items() if k not in item)
        groups.append(item)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "nodes": nodes,
        "links": links,
        "groups": groups,
        "view": copy_json(graph.view),
        "metadata": copy_json(graph.metadata),
    }
    doc.update((k, copy_json(v)) for k, v in graph.extra.items() if k not in doc)
    return doc


def _parse_node(node_id: str, raw: Any, path: str, registry: Registry) -> NodeData:
    if not isinstance(raw, dict):
        raise WorkflowError(f"expected a node object, found {_kind(raw)}", path)
    type_id = _field(raw, "type", str, path)
    cls = registry.get(type_id)
    version = _field(raw, "type_version", str, path, cls.version if cls else "1.0.0")
    try:
        parse_version(version)
    except ValueError as exc:
        raise WorkflowError(str(exc), child(path, "type_version")) from None
    params = dict(_field(raw, "params", dict, path, {}))
    if cls is not None:
        version, params = _upgrade(cls, version, params, child(path, "params"))
        for name, value in cls.default_params().items():
            params.setdefault(name, value)
    title = _field(raw, "title", (str, type(None)), path, None)
    color = _field(raw, "color", (str, type(None)), path, None)
    return NodeData(
        id=node_id,
        type=type_id,
        type_version=version,
        params=params,
        position=_numbers(raw, "position", 2, path, (0.0, 0.0)),  # type: ignore[arg-type]
        size=_numbers(raw, "size", 2, path, None),  # type: ignore[arg-type]
        title=title,
        bypass=_field(raw, "bypass", bool, path, False),
        color=color,
        collapsed=_field(raw, "collapsed", bool, path, False),
        pinned=_field(raw, "pinned", bool, path, False),
        extra={k: v for k, v in raw.items() if k not in _NODE_KEYS},
    )


def _upgrade(
    cls: type[Node], version: str, params: dict[str, Any], path: str
) -> tuple[str, dict[str, Any]]:
    """Run the node's upgraders from the saved version; a newer saved version is kept."""
    current = parse_version(cls.version)
    if parse_version(version) > current:
        return version, params  # validation says "saved by a newer node"
    seen = set()
    while version in cls.upgraders and version not in seen:
        seen.add(version)
        upgrader = cls.upgraders[version]
        try:
            params = upgrader.upgrade(dict(params))
        except Exception as exc:
            raise WorkflowError(
                f"cannot upgrade {cls.title} from version {version}: {exc}", path
            ) from None
        if not isinstance(params, dict):
            raise WorkflowError(f"upgrader of {cls.title} returned no params", path)
        version = upgrader.to_version
    return cls.version, params


def _parse_link(raw: Any, path: str) -> Link:
    if not isinstance(raw, dict):
        raise WorkflowError(f"expected a link object, found {_kind(raw)}", path)
    ends = []
    for key in ("from", "to"):
        end = _field(raw, key, list, path)
        end_path = child(path, key)
        if len(end) != 2 or not all(isinstance(part, str) for part in end):
            raise WorkflowError('expected ["node id", "port name"]', end_path)
        ends.append(end)
    (source, output), (target, input_name) = ends
    extra = {k: v for k, v in raw.items() if k not in ("from", "to")}
    return Link(source, output, target, input_name, extra)


def _parse_group(raw: Any, path: str) -> Group:
    if not isinstance(raw, dict):
        raise WorkflowError(f"expected a group object, found {_kind(raw)}", path)
    group_id = _field(raw, "id", str, path)
    if not group_id:
        raise WorkflowError("group ids must not be empty", child(path, "id"))
    return Group(
        id=group_id,
        title=_field(raw, "title", str, path, ""),
        rect=_numbers(raw, "rect", 4, path),  # type: ignore[arg-type]
        color=_field(raw, "color", (str, type(None)), path, None),
        extra={k: v for k, v in raw.items() if k not in _GROUP_KEYS},
    )


_MISSING = object()


def _field(obj: dict[str, Any], key: str, kind: Any, path: str, default: Any = _MISSING) -> Any:
    value = obj.get(key, _MISSING)
    if value is _MISSING:
        if default is _MISSING:
            raise WorkflowError("is missing", child(path, key))
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        wanted = " or ".join(_KIND_NAMES.get(k) or k.__name__ for k in kinds)
        raise WorkflowError(f"expected {wanted}, found {_kind(value)}", child(path, key))
    return value


def _numbers(
    obj: dict[str, Any], key: str, count: int, path: str, default: Any = _MISSING
) -> tuple[float, ...] | None:
    value = obj.get(key, _MISSING)
    if value is _MISSING or (value is None and default is None):
        if default is _MISSING:
            raise WorkflowError("is missing", child(path, key))
        return default
    if not isinstance(value, list) or len(value) != count or not all(_is_number(v) for v in value):
        raise WorkflowError(f"expected a list of {count} finite numbers", child(path, key))
    return tuple(float(v) for v in value)


def _is_number(value: Any) -> bool:
    # The magnitude test comes first: math.isfinite() overflows on a huge int.
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and abs(value) < 1e15
        and math.isfinite(value)
    )


def _check_values(doc: dict[str, Any]) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` and text with unpaired surrogates.

    Both load from valid JSON but break later: deep data overflows the recursion of
    copies and saves, and a lone surrogate (``"\\udc00"``) cannot be written as UTF-8, so
    the file could never be saved again. Iterative, so it cannot overflow itself.
    """
    stack: list[tuple[Any, int, tuple[Any, ...] | None]] = [(doc, 0, None)]
    while stack:
        value, depth, trail = stack.pop()
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            here = (trail, key)
            if isinstance(key, str) and not key.isascii() and _SURROGATE.search(key):
                raise WorkflowError(
                    "a key has an unpaired surrogate (invalid text)", _trail_path(here)
                )
            if isinstance(item, str):
                if not item.isascii() and _SURROGATE.search(item):
                    raise WorkflowError(
                        "text with an unpaired surrogate (invalid text)", _trail_path(here)
                    )
            elif isinstance(item, dict | list):
                if depth + 1 > MAX_DEPTH:
                    raise WorkflowError(
                        f"nested more than {MAX_DEPTH} levels deep", _trail_path(here)
                    )
                stack.append((item, depth + 1, here))


def _trail_path(trail: tuple[Any, ...] | None) -> str:
    keys = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    path = "$"
    for key in reversed(keys):
        path = child(path, key if isinstance(key, str | int) else repr(key))
    return path


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_KIND_NAMES: dict[type, str] = {
    dict: "an object",
    list: "a list",
    str: "text",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    type(None): "null",
}


def _kind(value: Any) -> str:
    if value is _MISSING:
        return "nothing"
    return _KIND_NAMES.get(type(value), type(value).__name__)
