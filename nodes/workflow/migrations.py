"""Numbered migrations of the file format: ``MIGRATIONS[n]`` turns version n into n + 1.

Version 0 was the pre-release draft format: nodes in a list with ``id`` and ``values``
(params) and ``pos``; links as ``[source, output, target, input]`` lists under ``edges``.
Its migration is real, kept so the mechanism stays exercised by the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nodes.workflow.errors import WorkflowError, child

Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    raw_nodes = doc.get("nodes", [])
    if not isinstance(raw_nodes, list):
        raise WorkflowError("expected a list of nodes (version 0)", "$.nodes")
    nodes: dict[str, Any] = {}
    for index, raw in enumerate(raw_nodes):
        path = child("$.nodes", index)
        if not isinstance(raw, dict):
            raise WorkflowError("expected an object", path)
        node_id = raw.get("id")
        if not isinstance(node_id, str | int) or isinstance(node_id, bool):
            raise WorkflowError("expected a string or integer id", child(path, "id"))
        node_id = str(node_id)
        if node_id in nodes:
            raise WorkflowError(f"duplicate node id {node_id!r}", child(path, "id"))
        node = {key: value for key, value in raw.items() if key not in ("id", "values", "pos")}
        node.setdefault("type_version", "1.0.0")
        node["params"] = raw.get("values", {})
        if "pos" in raw:
            node["position"] = raw["pos"]
        nodes[node_id] = node
    links = []
    edges = doc.get("edges", [])
    if not isinstance(edges, list):
        raise WorkflowError("expected a list of edges (version 0)", "$.edges")
    for index, edge in enumerate(edges):
        path = child("$.edges", index)
        if not isinstance(edge, list) or len(edge) != 4:
            raise WorkflowError("expected [source, output, target, input]", path)
        source, output, target, input_name = edge
        links.append({"from": [str(source), output], "to": [str(target), input_name]})
    upgraded = {
        key: value for key, value in doc.items() if key not in ("nodes", "edges", "version")
    }
    upgraded["version"] = 1
    upgraded["nodes"] = nodes
    upgraded["links"] = links
    return upgraded


MIGRATIONS: dict[int, Migration] = {0: _v0_to_v1}


def migrate(doc: dict[str, Any], version: int, target: int) -> dict[str, Any]:
    """Apply migrations from ``version`` up to ``target``."""
    while version < target:
        step = MIGRATIONS.get(version)
        if step is None:
            raise WorkflowError(f"no migration from workflow version {version}", "$.version")
        doc = step(doc)
        version += 1
    return doc
