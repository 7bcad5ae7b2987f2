"""ComfyUI's node flags on import: a pinned node stays pinned (and collapsed collapsed)."""

from __future__ import annotations

from nodes.comfy import import_ui
from nodes.workflow import dumps, loads
from tests.comfy.comfy_docs import sd15_ui


def test_pinned_and_collapsed_flags_are_kept(registry) -> None:
    doc = sd15_ui().doc()
    raw = next(n for n in doc["nodes"] if n["id"] == 6)
    raw["flags"] = {"pinned": True, "collapsed": True}
    graph = import_ui(doc, registry)
    assert graph.nodes["6"].pinned and graph.nodes["6"].collapsed
    assert not any(d.pinned for n, d in graph.nodes.items() if n != "6")
    again = loads(dumps(graph), registry)
    assert again.nodes["6"].pinned
