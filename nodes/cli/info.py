"""``daguerre info``: what a workflow file or PNG holds — its kind, a PNG's reproducibility
record, and a summary of the workflow (nodes, outputs, unsupported ComfyUI types, notes).

Everything it prints comes from the file, so all of it goes through
:func:`~nodes.cli.common.printable` (or :func:`~nodes.cli.common.json_text`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nodes.cli.common import EXIT_FAILED, EXIT_OK, json_text, printable
from nodes.comfy import open_file, placeholder_types
from nodes.graph import Graph
from nodes.registry import Registry
from nodes.workflow import WorkflowError


def cmd_info(args: argparse.Namespace, registry: Registry) -> int:
    try:
        opened = open_file(args.workflow, registry)
    except WorkflowError as exc:
        print(printable(exc), file=sys.stderr)
        return EXIT_FAILED
    graph = opened.graph
    work = workflow_summary(graph)
    summary = {
        "file": str(args.workflow),
        "kind": opened.kind,
        "record": opened.record,
        "workflow": work,
    }
    if args.json:
        sys.stdout.write(json_text(summary) + "\n")
        return EXIT_OK
    print(f"{printable(args.workflow)}: {opened.kind}")
    if opened.record is not None:
        print("\nreproducibility record:")
        for line in json_text(opened.record).splitlines():
            print(f"  {line}")
    print(f"\nworkflow: {printable(work['title'] or '(untitled)')}")
    print(f"  {len(work['nodes'])} nodes, {work['links']} links, outputs: ", end="")
    print(", ".join(printable(o) for o in work["outputs"]) or "none")
    for node in work["nodes"]:
        flag = " (bypassed)" if node["bypass"] else ""
        node_id, type_id = printable(node["id"]), printable(node["type"])
        print(f"  {node_id:<16}{type_id:<32}{printable(node['title'])}{flag}")
    if work["unsupported"]:
        print("  not supported: " + ", ".join(printable(t) for t in work["unsupported"]))
    for note in work["notes"]:
        print(f"  note: {printable(note)}")
    return EXIT_OK


def workflow_summary(graph: Graph) -> dict[str, Any]:
    """The ``workflow`` part of ``info --json``."""
    outputs = []
    for data in graph.nodes.values():
        cls = graph.registry.get(data.type)
        if cls is not None and cls.is_output and not data.bypass:
            outputs.append(data.id)
    return {
        "title": graph.metadata.get("title"),
        "description": graph.metadata.get("description"),
        "nodes": [
            {
                "id": data.id,
                "type": data.type,
                "title": graph.display_title(data.id),
                "bypass": data.bypass,
            }
            for data in graph.nodes.values()
        ],
        "links": len(graph.links),
        "outputs": outputs,
        "unsupported": placeholder_types(graph),
        "notes": list(graph.metadata.get("import_notes", []) or []),
    }
