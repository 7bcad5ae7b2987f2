"""Pressing Run: validation gates the queue; seeds follow their after-run control."""

from __future__ import annotations

import random

import pytest

from desktop.bridge import EngineBridge
from desktop.document import Document
from desktop.run_state import NodeState, RunState
from desktop.running import advance_seeds, queue_runs
from nodes.context import Environment
from nodes.library import load_builtin_nodes
from nodes.paths import FileFinder
from nodes.registry import Registry


@pytest.fixture
def parts(qapp, tmp_path):
    registry = load_builtin_nodes(Registry())
    bridge = EngineBridge(registry, Environment(output_dir=tmp_path))
    state = RunState(bridge)
    doc = Document(registry)
    yield doc, bridge, state
    bridge.shutdown()


def test_problems_block_the_run(parts) -> None:
    doc, bridge, state = parts
    doc.add_node("utility.display", (0, 0))
    result = queue_runs(doc, bridge, state, FileFinder([]))
    assert result.run_ids == []
    assert [(p.node_id, p.field) for p in state.problems] == [("display", "value")]


def test_runs_queue_and_states_arrive_on_the_gui_thread(parts, qtbot) -> None:
    doc, bridge, state = parts
    s = doc.add_node("primitive.seed", (0, 0), {"seed": 10})
    d = doc.add_node("utility.display", (200, 0))
    doc.connect_ports(s, "seed", d, "value")
    doc.graph.nodes[s].extra["seed_control"] = {"seed": "increment"}
    finished: list = []
    state.runFinished.connect(finished.append)
    texts: list = []
    state.textResult.connect(lambda node, text: texts.append(text))
    result = queue_runs(doc, bridge, state, FileFinder([]), count=3)
    assert len(result.run_ids) == 3
    qtbot.waitUntil(lambda: len(finished) == 3, timeout=10_000)
    assert [r.status for r in finished] == ["done"] * 3
    assert texts == ["10", "11", "12"]  # each queued run took the seed as it was then
    assert doc.graph.nodes[s].params["seed"] == 13
    assert state.status(d).state is NodeState.DONE


def test_seed_modes(parts) -> None:
    doc, _, _ = parts
    n = doc.add_node("sampling.sampler", (0, 0), {"seed": 5})
    assert doc.seed_controls() == {(n, "seed"): "fixed"}
    advance_seeds(doc)
    assert doc.graph.nodes[n].params["seed"] == 5
    doc.graph.nodes[n].extra["seed_control"] = {"seed": "decrement"}
    advance_seeds(doc)
    assert doc.graph.nodes[n].params["seed"] == 4
    doc.graph.nodes[n].extra["seed_control"] = {"seed": "randomize"}
    advance_seeds(doc, random.Random(1))
    assert doc.graph.nodes[n].params["seed"] == random.Random(1).randint(0, 2**32 - 1)
