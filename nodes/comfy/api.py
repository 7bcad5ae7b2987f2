"""ComfyUI's API ("prompt") format read into :class:`ComfyNode` records, laid out.

What ComfyUI's server executes (Export (API), the ``/prompt`` endpoint, the ``prompt``
text chunk of its PNGs)::

    {"3": {"class_type": "KSampler", "_meta": {"title": "KSampler"},
           "inputs": {"seed": 156680208700286, "steps": 20, "cfg": 8.0,
                      "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
                      "model": ["4", 0], "positive": ["6", 0], ...}}, ...}

Inputs are literal values or links ``[source id, output slot]``. There is no layout (the
nodes are placed by their depth in the graph) and no notes, reroutes, primitives, muted or
bypassed nodes — the frontend resolves those before sending.
"""

from __future__ import annotations

from typing import Any

from nodes.comfy.build import ComfyNode
from nodes.comfy.nodetypes import CLASSES
from nodes.workflow.errors import WorkflowError, child

COLUMN, ROW = 360.0, 220.0


def unwrap(doc: Any) -> Any:
    """The node map of an API document, also when wrapped as ``{"prompt": {...}}``."""
    if isinstance(doc, dict) and isinstance(doc.get("prompt"), dict) and is_api(doc["prompt"]):
        return doc["prompt"]
    return doc


def is_api(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and bool(doc)
        and all(isinstance(v, dict) and "class_type" in v for v in doc.values())
    )


def read_api(doc: dict[str, Any]) -> list[ComfyNode]:
    nodes = []
    for key, raw in doc.items():
        if not isinstance(key, str) or not 0 < len(key) <= 64:
            shown = key[:40] + "…" if isinstance(key, str) and len(key) > 64 else key
            raise WorkflowError("node ids are 1–64 characters", child("$", shown))
        path = child("$", key)
        class_type = raw.get("class_type")
        if not isinstance(class_type, str) or not class_type:
            raise WorkflowError("expected the node's class name", child(path, "class_type"))
        inputs = raw.get("inputs", {})
        if not isinstance(inputs, dict):
            raise WorkflowError("expected an object of inputs", child(path, "inputs"))
        meta = raw.get("_meta")
        title = meta.get("title") if isinstance(meta, dict) else None
        node = ComfyNode(
            id=key,
            class_type=class_type,
            path=path,
            title=title if isinstance(title, str) and title and title != class_type else None,
            raw=raw,
            api=True,
            output_names=list(CLASSES[class_type].outputs if class_type in CLASSES else ()),
        )
        for name, value in inputs.items():
            if is_link(value, doc):
                node.links[name] = (str(value[0]), value[1])
            else:
                node.values[name] = value
        nodes.append(node)
    _layout(nodes)
    return nodes


def is_link(value: Any, doc: dict[str, Any]) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str | int)
        and not isinstance(value[0], bool)
        and str(value[0]) in doc
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
        and value[1] >= 0
    )


def _layout(nodes: list[ComfyNode]) -> None:
    """Columns by depth (longest path from a source), rows in file order."""
    by_id = {n.id: n for n in nodes}
    depth: dict[str, int] = {}
    rows: dict[int, int] = {}
    for node in nodes:
        column = _depth(node.id, by_id, depth)
        row = rows.get(column, 0)
        rows[column] = row + 1
        node.position = (column * COLUMN, row * ROW)


def _depth(start: str, by_id: dict[str, ComfyNode], depth: dict[str, int]) -> int:
    """Depth without recursion (graphs from files may be deep or cyclic)."""
    stack: list[tuple[str, bool]] = [(start, False)]
    on_path: set[str] = set()
    while stack:
        node_id, done = stack.pop()
        if done:
            on_path.discard(node_id)
            sources = [s for s, _ in by_id[node_id].links.values() if s in by_id]
            depth[node_id] = 1 + max((depth.get(s, 0) for s in sources), default=-1)
            continue
        if node_id in depth or node_id in on_path:
            continue
        on_path.add(node_id)
        stack.append((node_id, True))
        for source, _ in by_id[node_id].links.values():
            if source in by_id and source not in depth and source not in on_path:
                stack.append((source, False))
    return depth[start]
