"""Copied nodes remember the links that fed them, so Ctrl+Shift+V pastes them still fed.

A copy (:func:`copy_nodes`) is a workflow document of the selected nodes and the links
among them; it also lists, in its metadata under :data:`INPUT_LINKS_KEY`, the links that
came into them from nodes left out. Ctrl+V pastes the nodes alone; Ctrl+Shift+V
(:func:`paste_with_input_links`) pastes them and links those inputs again from the same
source nodes, where they still exist and the link is still allowed — one undo step, as in
ComfyUI.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QGuiApplication

from desktop.document import Document
from desktop.mime import workflow_of
from nodes.graph import GraphError

INPUT_LINKS_KEY = "daguerre.input_links"
"""``[[source, output, target, input], ...]``: links into the copied nodes from outside."""


def copy_nodes(document: Document, node_ids: list[str]) -> dict[str, Any]:
    """A workflow document of ``node_ids`` that also lists the links feeding them."""
    copied = document.copy_nodes(node_ids)
    chosen = set(node_ids)
    feeding = [
        [link.source, link.output, link.target, link.input]
        for link in document.graph.links
        if link.target in chosen and link.source not in chosen
    ]
    if feeding:
        metadata = copied.get("metadata")
        metadata = dict(metadata) if isinstance(metadata, dict) else {}
        metadata[INPUT_LINKS_KEY] = feeding
        copied["metadata"] = metadata
    return copied


def _input_links(copied: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    metadata = copied.get("metadata")
    raw = metadata.get(INPUT_LINKS_KEY) if isinstance(metadata, dict) else None
    if not isinstance(raw, list):
        return []
    return [
        (item[0], item[1], item[2], item[3])
        for item in raw
        if isinstance(item, list) and len(item) == 4 and all(isinstance(v, str) for v in item)
    ]


def paste_with_input_links(
    document: Document, copied: dict[str, Any], at: tuple[float, float] | None = None
) -> tuple[list[str], int]:
    """Paste ``copied`` and link the pasted nodes' inputs from the nodes that fed the
    originals: (pasted ids, links that could not be made again). One undo step."""
    stack = document.undo_stack
    stack.beginMacro("Paste with links")
    try:
        pasted = document.paste(copied, at=at) if at is not None else document.paste(copied)
        nodes = copied.get("nodes")
        docs: dict[str, Any] = nodes if isinstance(nodes, dict) else {}
        renamed = dict(zip(docs, pasted, strict=False))
        graph = document.graph
        if len(docs) != len(pasted) or any(
            not isinstance(docs[old], dict) or graph.nodes[new].type != docs[old].get("type")
            for old, new in renamed.items()
        ):
            renamed = {}  # the paste did not keep the document's order: link nothing
        missed = 0
        for source, output, target, input in _input_links(copied):
            if target not in renamed or source not in graph.nodes:
                missed += 1
                continue
            try:
                document.connect_ports(source, output, renamed[target], input)
            except GraphError:
                missed += 1
    finally:
        stack.endMacro()
    return pasted, missed


def clipboard_workflow() -> dict[str, Any] | None:
    """The copied nodes the clipboard holds, if it holds any."""
    clipboard = QGuiApplication.clipboard()
    mime = clipboard.mimeData() if clipboard is not None else None
    return workflow_of(mime) if mime is not None else None


def missed_links_message(missed: int) -> str:
    return (
        f"{missed} input link{'s' if missed > 1 else ''} not pasted: "
        "the node it came from is gone or the link no longer fits"
    )
