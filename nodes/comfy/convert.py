"""ComfyUI documents (UI or API format) into Daguerre graphs.

:func:`import_comfy` takes a parsed JSON document in either ComfyUI format and returns a
:class:`~nodes.graph.Graph` whose nodes keep ComfyUI's ids (``"3"``; a KSampler's
scheduler is ``"3_scheduler"``), positions, sizes, titles, colors, groups and bypass
flags. Unsupported nodes become placeholders (see :mod:`nodes.comfy.placeholder`).
``graph.metadata["import_notes"]`` lists every approximation; ``graph.extra["comfyui"]``
keeps the document's other top-level fields, so nothing is lost on save.

A malformed document raises :class:`~nodes.workflow.WorkflowError` naming the JSON path
and, for widget values that fit no layout, the node.
"""

from __future__ import annotations

from typing import Any

from nodes.comfy.api import is_api, read_api, unwrap
from nodes.comfy.build import build_graph
from nodes.comfy.nodetypes import CLASSES
from nodes.comfy.placeholder import PLACEHOLDER
from nodes.comfy.ui import UI_KEYS, is_ui, read_ui
from nodes.comfy.widgets import brief, is_number
from nodes.graph import Graph, GraphError
from nodes.registry import Registry
from nodes.workflow.errors import WorkflowError
from nodes.workflow.format import FORMAT, _check_values

NOTES_KEY = "import_notes"


def detect(doc: Any) -> str | None:
    """``"daguerre"``, ``"ui"``, ``"api"`` or None for a parsed JSON document."""
    if isinstance(doc, dict) and doc.get("format") == FORMAT:
        return "daguerre"
    if is_ui(doc):
        return "ui"
    if is_api(unwrap(doc)):
        return "api"
    return None


def import_comfy(doc: Any, registry: Registry) -> Graph:
    """A graph from a ComfyUI document in either format."""
    kind = detect(doc)
    if kind == "ui":
        return import_ui(doc, registry)
    if kind == "api":
        return import_api(doc, registry)
    raise WorkflowError(
        "not a ComfyUI workflow: expected the UI format (nodes and links) or the API "
        "format ({id: {class_type, inputs}})"
    )


def import_ui(doc: dict[str, Any], registry: Registry) -> Graph:
    """A graph from ComfyUI's UI format (versions 0.4 and 1)."""
    if not is_ui(doc):
        raise WorkflowError("not a ComfyUI UI workflow: expected nodes and links")
    _check(doc)
    nodes, groups, notes = read_ui(doc)
    graph, built_notes = _build(nodes, registry)
    for index, group in enumerate(groups):
        if not group.id or group.id in graph.groups:
            group.id = f"group_{index + 1}"
        while group.id in graph.groups:
            group.id += "_"
        try:
            graph.insert_group(group)
        except GraphError as exc:  # pragma: no cover - ids are made unique above
            raise WorkflowError(exc.message, "$.groups") from None
    version = doc.get("version")
    shown = version if is_number(version) or isinstance(version, str) else None
    label = f"ComfyUI workflow (UI format, version {brief(shown)})" if shown else "ComfyUI workflow"
    _finish(graph, "ui", label, notes + built_notes)
    graph.extra["comfyui"]["document"] = {k: v for k, v in doc.items() if k not in UI_KEYS}
    return graph


def import_api(doc: dict[str, Any], registry: Registry) -> Graph:
    """A graph from ComfyUI's API format (also wrapped as ``{"prompt": {...}}``)."""
    doc = unwrap(doc)
    if not is_api(doc):
        raise WorkflowError("not a ComfyUI API workflow: expected {id: {class_type, inputs}}")
    _check(doc)
    nodes = read_api(doc)
    graph, notes = _build(nodes, registry)
    _finish(graph, "api", "ComfyUI workflow (API format)", notes)
    return graph


MAX_DEPTH = 90
"""Deepest nesting a ComfyUI document may have: its nodes are kept inside Daguerre's
(``nodes.<id>.comfy.ui``), which must stay within the workflow format's limit of 100."""


def _check(doc: dict[str, Any]) -> None:
    """No unpaired surrogates (unsavable text) and no nesting deeper than MAX_DEPTH."""
    _check_values(doc)
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise WorkflowError(f"nested more than {MAX_DEPTH} levels deep")
        items = value.values() if isinstance(value, dict) else value
        stack.extend((item, depth + 1) for item in items if isinstance(item, dict | list))


def _build(nodes: list, registry: Registry) -> tuple[Graph, list[str]]:
    try:
        return build_graph(nodes, registry, CLASSES)
    except GraphError as exc:
        raise WorkflowError(str(exc)) from None


def _finish(graph: Graph, kind: str, label: str, notes: list[str]) -> None:
    missing = sorted(
        {d.params.get("comfy_type", "") for d in graph.nodes.values() if d.type == PLACEHOLDER}
    )
    graph.metadata["imported_from"] = label
    graph.metadata[NOTES_KEY] = list(dict.fromkeys(notes))
    if missing:
        graph.metadata["unsupported_comfy_types"] = missing
    graph.extra["comfyui"] = {"format": kind}


def placeholder_types(graph: Graph) -> list[str]:
    """The ComfyUI types of a graph's placeholder nodes, sorted."""
    return sorted(
        {str(d.params.get("comfy_type")) for d in graph.nodes.values() if d.type == PLACEHOLDER}
    )
