"""Running part of a graph ("run up to here" on the canvas): a run with named targets runs
them and their upstream only, judges only that part, and shares the whole graph's cache."""

from __future__ import annotations

from nodes.events import NodeFinished, RunStatus
from nodes.executor import Executor, upstream_graph
from nodes.graph import Graph
from nodes.runner import Runner
from nodes.workflow import to_dict


def _two_branches(graph: Graph) -> None:
    """c1, c2 → add → scale → sink; a second branch whose add has no input yet."""
    graph.add_node("test.const", id="c1", params={"value": 2})
    graph.add_node("test.const", id="c2", params={"value": 3})
    graph.add_node("test.add", id="add")
    graph.add_node("test.scale", id="scale", params={"factor": 2.0})
    graph.add_node("test.sink", id="sink")
    graph.connect("c1", "value", "add", "a")
    graph.connect("c2", "value", "add", "b")
    graph.connect("add", "sum", "scale", "x")
    graph.connect("scale", "y", "sink", "value")
    graph.add_node("test.add", id="unfinished")  # required input "a" not connected
    graph.add_node("test.sink", id="other_sink")
    graph.connect("unfinished", "sum", "other_sink", "value")


def test_upstream_graph_holds_the_target_its_ancestors_and_their_links(graph: Graph) -> None:
    _two_branches(graph)
    part = upstream_graph(graph, ["scale"])
    assert list(part.nodes) == ["c1", "c2", "add", "scale"]
    assert {(k.source, k.target) for k in part.links} == {
        ("c1", "add"),
        ("c2", "add"),
        ("add", "scale"),
    }
    part.nodes["c1"].params["value"] = 99
    assert graph.nodes["c1"].params["value"] == 2, "a copy, not the document's nodes"
    assert list(upstream_graph(graph, ["nope"]).nodes) == []


def test_a_problem_elsewhere_does_not_stop_running_up_to_a_node(graph: Graph) -> None:
    _two_branches(graph)
    whole = Executor().run(graph)
    assert whole.status is RunStatus.FAILED
    assert [(p.node_id, p.field) for p in whole.problems] == [("unfinished", "a")]
    events: list = []
    outcome = Executor().run(graph, targets=["scale"], emit=events.append)
    assert outcome.status is RunStatus.DONE
    ran = {e.node_id for e in events if isinstance(e, NodeFinished)}
    assert ran == {"c1", "c2", "add", "scale"}, "nothing downstream, nothing elsewhere"


def test_a_problem_upstream_of_the_target_still_stops_it(graph: Graph) -> None:
    _two_branches(graph)
    graph.disconnect("add", "a")
    outcome = Executor().run(graph, targets=["scale"])
    assert outcome.status is RunStatus.FAILED
    assert [(p.node_id, p.field) for p in outcome.problems] == [("add", "a")]
    unknown = Executor().run(graph, targets=["ghost"])
    assert unknown.status is RunStatus.FAILED
    assert [(p.node_id, p.message) for p in unknown.problems] == [("ghost", "no such node to run")]


def test_a_partial_run_shares_the_cache_with_the_whole_run(graph: Graph) -> None:
    _two_branches(graph)
    graph.remove_node("unfinished")
    graph.remove_node("other_sink")
    executor = Executor()
    assert executor.run(graph, targets=["add"]).status is RunStatus.DONE
    events: list = []
    executor.run(graph, emit=events.append)
    cached = {e.node_id for e in events if isinstance(e, NodeFinished) and e.cached}
    assert cached == {"c1", "c2", "add"}


def test_the_runner_passes_targets_through(graph: Graph) -> None:
    _two_branches(graph)
    runner = Runner(registry=graph.registry)
    try:
        run_id = runner.submit(to_dict(graph), targets=["add"])
        outcome = runner.wait(run_id, timeout=10)
    finally:
        runner.shutdown()
    assert outcome.status is RunStatus.DONE
    assert outcome.plan == ("c1", "c2", "add")
