"""The reroute node: a dot on a link that passes its value through unchanged."""

from __future__ import annotations

import pytest

from nodes.events import NodeFinished, NodeResult, RunStatus
from nodes.executor import Executor
from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.library.utility import RerouteNode
from nodes.ports import PortType
from nodes.registry import Registry
from nodes.validation import validate


@pytest.fixture
def builtin() -> Graph:
    return Graph(load_builtin_nodes(Registry()))


def _int_reroute_display(graph: Graph, value: int = 7) -> None:
    graph.add_node("primitive.int", id="int", params={"value": value})
    graph.add_node("utility.reroute", id="dot")
    graph.add_node("utility.display", id="show")
    graph.connect("int", "value", "dot", "value")
    graph.connect("dot", "value", "show", "value")


def test_declaration_is_an_unlisted_any_pass_through() -> None:
    assert RerouteNode.type_id == "utility.reroute"
    assert RerouteNode.title == "Reroute"
    assert RerouteNode.category == "utility"
    assert RerouteNode.listed is False
    assert [(i.name, i.type) for i in RerouteNode.inputs] == [("value", PortType.ANY)]
    assert [(o.name, o.type) for o in RerouteNode.outputs] == [("value", PortType.ANY)]
    assert RerouteNode.description() == (
        "A dot on a link to route it around other nodes; passes its value through."
    )


def test_run_returns_the_value_unchanged() -> None:
    value = object()
    assert RerouteNode().run(None, value=value) == (value,)  # type: ignore[arg-type]


def test_int_through_reroute_to_display_validates_and_runs(builtin: Graph) -> None:
    _int_reroute_display(builtin, 7)
    assert validate(builtin) == []
    events: list = []
    outcome = Executor().run(builtin, emit=events.append, capture=["dot"])
    assert outcome.status is RunStatus.DONE
    assert outcome.plan.index("int") < outcome.plan.index("dot") < outcome.plan.index("show")
    texts = {e.node_id: e.text for e in events if isinstance(e, NodeResult)}
    assert texts["show"] == "7"


def test_reroute_into_a_typed_input_validates(builtin: Graph) -> None:
    # ANY output of the reroute feeds a FLOAT-typed param socket; an int is widened
    builtin.add_node("primitive.int", id="int", params={"value": 3})
    builtin.add_node("utility.reroute", id="dot")
    builtin.add_node("primitive.float", id="f")
    builtin.connect("int", "value", "dot", "value")
    builtin.connect("dot", "value", "f", "value")
    assert validate(builtin) == []


def test_reroute_is_cached_like_any_node(builtin: Graph) -> None:
    _int_reroute_display(builtin, 5)
    executor = Executor()
    executor.run(builtin)
    events: list = []
    executor.run(builtin, emit=events.append)
    cached = {e.node_id for e in events if isinstance(e, NodeFinished) and e.cached}
    assert {"int", "dot", "show"} <= cached
    builtin.set_param("int", "value", 6)
    events.clear()
    executor.run(builtin, emit=events.append)
    ran = {e.node_id for e in events if isinstance(e, NodeFinished) and not e.cached}
    assert ran == {"int", "dot", "show"}
    texts = {e.node_id: e.text for e in events if isinstance(e, NodeResult)}
    assert texts["show"] == "6"
