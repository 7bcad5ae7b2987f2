"""ComfyUI's UI ("workflow") format, versions 0.4 and 1, read into :class:`ComfyNode` records.

What the frontend saves (File › Save, and the ``workflow`` text chunk of its PNGs)::

    {"last_node_id": 9, "last_link_id": 9, "version": 0.4,
     "nodes": [{"id": 3, "type": "KSampler", "pos": [863, 186], "size": [315, 262],
                "flags": {}, "order": 4, "mode": 0, "title": "...", "color": "#322",
                "inputs": [{"name": "model", "type": "MODEL", "link": 1},
                           {"name": "seed", "type": "INT", "widget": {"name": "seed"},
                            "link": 12}],
                "outputs": [{"name": "LATENT", "type": "LATENT", "links": [7]}],
                "widgets_values": [156680208700286, "randomize", 20, 8, "euler", ...]}],
     "links": [[1, 4, 0, 3, 0, "MODEL"], ...],      # version 1: {"id", "origin_id", ...}
     "groups": [{"title": "...", "bounding": [x, y, w, h], "color": "#3f789e"}],
     "definitions": {"subgraphs": [...]}, "extra": {"ds": {...}}, "config": {}}

``mode`` 2 is "never" (muted) and 4 "bypass". Converted widgets are inputs with a
``widget`` entry; their value stays in ``widgets_values`` (ignored while linked).
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

from nodes.comfy.build import ComfyNode
from nodes.comfy.widgets import brief, short
from nodes.graph import Group
from nodes.workflow.errors import WorkflowError, child

UI_KEYS = ("nodes", "links", "groups")
"""Top-level keys read into the graph; every other one is kept in ``graph.extra``."""


def is_ui(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("nodes"), list)
        and ("links" in doc or "last_node_id" in doc or "version" in doc or "state" in doc)
    )


def read_ui(doc: dict[str, Any]) -> tuple[list[ComfyNode], list[Group], list[str]]:
    """The nodes and groups of a UI-format document, and notes on what was odd."""
    notes: list[str] = []
    version = doc.get("version")
    if isinstance(version, int | float) and not isinstance(version, bool) and version > 1:
        notes.append(f"workflow format version {version} is newer than Daguerre knows (1)")
    table = _links(doc.get("links", []), "$.links")
    subgraphs = _subgraphs(doc)
    nodes: list[ComfyNode] = []
    seen: set[str] = set()
    raw_nodes = doc["nodes"]
    for index, raw in enumerate(raw_nodes):
        path = child("$.nodes", index)
        node = _node(raw, path, table, notes)
        if node.id in seen:
            raise WorkflowError(f"duplicate node id {brief(node.id)}", child(path, "id"))
        seen.add(node.id)
        if node.class_type in subgraphs:
            name, inner = subgraphs[node.class_type]
            types = sorted({brief(t) for t in inner if t})
            shown = ", ".join(types[:6]) + (", ..." if len(types) > 6 else "")
            node.reason = (
                f"a ComfyUI subgraph ({short(name)}, {len(inner)} nodes: {shown}); Daguerre does "
                "not open subgraphs yet — unpack it in ComfyUI (Unpack Subgraph) and re-import"
            )
            if not node.title:
                node.title = name
        nodes.append(node)
    groups = [_group(raw, child("$.groups", i)) for i, raw in enumerate(_list(doc, "groups"))]
    return nodes, groups, notes


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise WorkflowError(f"expected a list, found {type(value).__name__}", child("$", key))
    return value


def _links(raw: Any, path: str) -> dict[int, tuple[str, int]]:
    """Link id → (origin node id, origin slot), from lists (0.4) or objects (1)."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise WorkflowError("expected a list of links", path)
    table: dict[int, tuple[str, int]] = {}
    for index, link in enumerate(raw):
        where = child(path, index)
        if isinstance(link, list):
            if len(link) < 5:
                raise WorkflowError("expected [id, origin, slot, target, slot, type]", where)
            link_id, origin, slot = link[0], link[1], link[2]
        elif isinstance(link, dict):
            link_id, origin, slot = link.get("id"), link.get("origin_id"), link.get("origin_slot")
        elif link is None:
            continue
        else:
            raise WorkflowError("expected a link list or object", where)
        if not _is_int(link_id) or not _is_id(origin) or not _is_int(slot) or slot < 0:
            raise WorkflowError("a link needs an integer id, an origin node and a slot", where)
        table[link_id] = (str(origin), slot)
    return table


def _subgraphs(doc: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    definitions = doc.get("definitions")
    if not isinstance(definitions, dict):
        return {}
    found: dict[str, tuple[str, list[str]]] = {}
    subgraphs = definitions.get("subgraphs")
    if not isinstance(subgraphs, list):  # absent, or nothing Daguerre can read as subgraphs
        return found
    for item in subgraphs:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        listed = item.get("nodes")
        inner = listed if isinstance(listed, list) else []
        types = [n.get("type") for n in inner if isinstance(n, dict)]
        name = item.get("name")
        found[item["id"]] = (
            name if isinstance(name, str) else item["id"],
            [t for t in types if isinstance(t, str)],
        )
    return found


def _node(raw: Any, path: str, table: dict[int, tuple[str, int]], notes: list[str]) -> ComfyNode:
    if not isinstance(raw, dict):
        raise WorkflowError("expected a node object", path)
    node_id = raw.get("id")
    if not _is_id(node_id):
        raise WorkflowError("expected a node id (a number or text)", child(path, "id"))
    class_type = raw.get("type")
    if not isinstance(class_type, str) or not class_type:
        raise WorkflowError("expected the node's type name", child(path, "type"))
    mode = raw.get("mode", 0)
    if not _is_int(mode):
        raise WorkflowError("expected an integer mode", child(path, "mode"))
    title = raw.get("title")
    color = raw.get("color")
    flags = raw.get("flags")
    flags = flags if isinstance(flags, dict) else {}
    node = ComfyNode(
        id=str(node_id),
        class_type=class_type,
        path=path,
        widgets=raw.get("widgets_values"),
        title=title if isinstance(title, str) and title else None,
        position=_pair(raw.get("pos"), child(path, "pos")),
        size=_pair(raw.get("size"), child(path, "size")),
        color=color if isinstance(color, str) else None,
        collapsed=flags.get("collapsed") is True,
        pinned=flags.get("pinned") is True,
        mode=mode,
        raw=raw,
    )
    inputs = raw.get("inputs") or []
    if not isinstance(inputs, list):
        raise WorkflowError("expected a list of inputs", child(path, "inputs"))
    for index, slot in enumerate(inputs):
        where = child(child(path, "inputs"), index)
        if not isinstance(slot, dict):
            raise WorkflowError("expected an input object", where)
        widget = slot.get("widget")
        name = widget.get("name") if isinstance(widget, dict) else None
        name = name if isinstance(name, str) else slot.get("name")
        if not isinstance(name, str):
            raise WorkflowError("expected an input name", child(where, "name"))
        if isinstance(slot.get("type"), str):
            node.input_types[name] = slot["type"]
        link = slot.get("link")
        if link is None:
            continue
        if not _is_int(link):
            raise WorkflowError("expected a link id", child(where, "link"))
        if link not in table:
            notes.append(
                f"{brief(class_type)} {brief(node.id)}: input {short(name)} names a missing "
                f"link {link}"
            )
            continue
        node.links[name] = table[link]
    outputs = raw.get("outputs") or []
    if not isinstance(outputs, list):
        raise WorkflowError("expected a list of outputs", child(path, "outputs"))
    for index, slot in enumerate(outputs):
        if not isinstance(slot, dict):
            raise WorkflowError("expected an output object", child(child(path, "outputs"), index))
        name, kind, widget = slot.get("name"), slot.get("type"), slot.get("widget")
        node.output_names.append(name if isinstance(name, str) else "")
        node.output_types.append(kind if isinstance(kind, str) else "")
        if isinstance(widget, dict) and isinstance(widget.get("name"), str):
            node.output_widgets.append(widget["name"])
    return node


def _group(raw: Any, path: str) -> Group:
    if not isinstance(raw, dict):
        raise WorkflowError("expected a group object", path)
    bounding = raw.get("bounding")
    if (
        not isinstance(bounding, list)
        or len(bounding) != 4
        or not all(_is_number(v) for v in bounding)
    ):
        raise WorkflowError("expected [x, y, width, height]", child(path, "bounding"))
    title = raw.get("title")
    color = raw.get("color")
    group_id = raw.get("id")
    x, y, width, height = (float(v) for v in bounding)
    return Group(
        id=f"group_{group_id}" if _is_id(group_id) else "",
        title=title if isinstance(title, str) else "",
        rect=(x, y, width, height),
        color=color if isinstance(color, str) else None,
        extra={"comfy": {k: v for k, v in raw.items() if k not in ("title", "bounding")}},
    )


def _pair(value: Any, path: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if isinstance(value, dict):  # very old files: {"0": x, "1": y}
        value = [value.get("0"), value.get("1")]
    if isinstance(value, list) and len(value) >= 2 and all(_is_number(v) for v in value[:2]):
        return float(value[0]), float(value[1])
    raise WorkflowError("expected [x, y] numbers", path)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and abs(value) < 1e15
        and math.isfinite(value)
    )


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_id(value: Any) -> bool:
    if isinstance(value, str):
        return 0 < len(value) <= 64
    return _is_int(value)
