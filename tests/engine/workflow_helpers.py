"""Helpers for the workflow file tests (``test_workflow_*.py``): a graph that uses every
part of the format, and a small valid document to edit."""

from __future__ import annotations

from typing import Any

from nodes.graph import Graph
from nodes.registry import Registry
from nodes.workflow import FORMAT, VERSION


def rich_graph(registry: Registry) -> Graph:
    """A graph using every part of the format."""
    graph = Graph(registry)
    graph.add_node("wf.num", id="a", params={"value": 2}, position=(10, 20.5))
    graph.add_node("wf.num", id="b", params={"value": -3}, position=(10, 140), title="Minus")
    graph.add_node("wf.num", id="off", params={"value": 7})
    graph.add_node("wf.add", id="sum", params={"offset": 5, "label": "total"}, position=(220, 60))
    graph.add_node("wf.add", id="skip", position=(400, 60))
    graph.add_node("wf.show", id="out", position=(600, 60))
    graph.add_node("wf.note", id="note-1", params={"text": 'Ünïcödé ✓ "quoted"\nline 2'})
    graph.connect("a", "value", "sum", "a")
    graph.connect("b", "value", "sum", "b")
    graph.connect("off", "value", "skip", "offset")  # a promoted param
    graph.connect("sum", "sum", "skip", "a")
    graph.connect("skip", "sum", "out", "value")
    graph.set_bypass("skip", True)
    graph.set_title("sum", "Total")
    graph.set_node_attr("sum", "color", "#ff8800")
    graph.set_node_attr("sum", "size", (180, 96.5))
    graph.set_node_attr("note-1", "collapsed", True)
    graph.add_group("Inputs", (0, 0, 200, 200), color="#335577", id="inputs")
    graph.add_group("Maths", (200.5, 0, 300, 150), id="maths")
    graph.view.update({"zoom": 1.25, "center": [320.0, -40.5]})
    graph.metadata.update({"author": "Ada", "tags": ["test", "ü"], "seed_note": None})
    return graph


def base_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "nodes": {
            "a": {"type": "wf.num", "type_version": "1.0.0", "params": {"value": 2}},
            "s": {"type": "wf.show", "type_version": "1.0.0", "params": {}},
        },
        "links": [{"from": ["a", "value"], "to": ["s", "value"]}],
        "groups": [{"id": "g", "title": "G", "rect": [0, 0, 10, 10]}],
        "view": {},
        "metadata": {},
    }
    doc.update(overrides)
    return doc
