from __future__ import annotations

from pathlib import Path

import pytest

from nodes.cache import OutputCache
from nodes.context import CancelToken, Environment
from nodes.events import (
    NodeFailed,
    NodeFinished,
    NodeProgress,
    NodeResult,
    NodeStarted,
    RunFinished,
    RunStarted,
    RunStatus,
)
from nodes.executor import Executor, plan
from nodes.graph import Graph
from nodes.workflow import from_dict, to_dict


def _chain(graph: Graph) -> None:
    """c1 ─┐
    add ── scale ── sink        c2 feeds add.b; a separate latent branch."""
    graph.add_node("test.const", id="c1", params={"value": 2})
    graph.add_node("test.const", id="c2", params={"value": 3})
    graph.add_node("test.add", id="add")
    graph.add_node("test.scale", id="scale", params={"factor": 2.0})
    graph.add_node("test.sink", id="sink")
    graph.connect("c1", "value", "add", "a")
    graph.connect("c2", "value", "add", "b")
    graph.connect("add", "sum", "scale", "x")
    graph.connect("scale", "y", "sink", "value")
    graph.add_node("test.latent", id="lat")
    graph.add_node("test.sink", id="lat_sink")
    graph.connect("lat", "latent", "lat_sink", "value")


class Recorder:
    def __init__(self) -> None:
        self.events: list = []

    def __call__(self, event) -> None:
        self.events.append(event)

    def ran(self) -> set[str]:
        return {e.node_id for e in self.events if isinstance(e, NodeFinished) and not e.cached}

    def cached(self) -> set[str]:
        return {e.node_id for e in self.events if isinstance(e, NodeFinished) and e.cached}

    def last(self) -> RunFinished:
        assert isinstance(self.events[-1], RunFinished)
        return self.events[-1]


def _run(executor: Executor, graph: Graph, **kwargs) -> Recorder:
    rec = Recorder()
    executor.run(graph, emit=rec, **kwargs)
    return rec


def test_runs_in_dependency_order_and_computes(graph: Graph) -> None:
    _chain(graph)
    executor = Executor()
    rec = _run(executor, graph)
    assert rec.last().status is RunStatus.DONE
    started = next(e for e in rec.events if isinstance(e, RunStarted))
    order = started.plan
    assert order.index("c1") < order.index("add") < order.index("scale") < order.index("sink")
    texts = {e.node_id: e.text for e in rec.events if isinstance(e, NodeResult)}
    assert texts["sink"] == "10.0"


def test_unchanged_rerun_executes_nothing(graph: Graph) -> None:
    _chain(graph)
    executor = Executor()
    _run(executor, graph)
    rec = _run(executor, graph)
    assert rec.ran() == set()
    assert rec.cached() == {"c1", "c2", "add", "scale", "sink", "lat", "lat_sink"}
    texts = [e.text for e in rec.events if isinstance(e, NodeResult) and e.node_id == "sink"]
    assert texts == ["10.0"]  # cached nodes show their results again


def test_param_change_reruns_node_and_descendants_only(graph: Graph) -> None:
    _chain(graph)
    executor = Executor()
    _run(executor, graph)
    graph.set_param("c2", "value", 4)
    rec = _run(executor, graph)
    assert rec.ran() == {"c2", "add", "scale", "sink"}
    graph.set_param("scale", "factor", 3.0)
    assert _run(executor, graph).ran() == {"scale", "sink"}


def test_a_new_device_precision_or_acceleration_reruns(graph: Graph) -> None:
    _chain(graph)
    executor = Executor()
    _run(executor, graph)
    everything = {"c1", "c2", "add", "scale", "sink", "lat", "lat_sink"}
    for field, value in (("device", "cuda:1"), ("precision", "fp16"), ("acceleration", "off")):
        setattr(executor.env, field, value)
        assert _run(executor, graph).ran() == everything, field
        assert _run(executor, graph).ran() == set(), field


def test_ids_titles_and_positions_do_not_matter(graph: Graph) -> None:
    _chain(graph)
    executor = Executor()
    _run(executor, graph)
    doc = to_dict(graph)
    renamed = {f"n_{node_id}": node for node_id, node in doc["nodes"].items()}
    for node in renamed.values():
        node["position"] = [999.0, -5.0]
        node["title"] = "moved"
    doc["nodes"] = renamed
    for link in doc["links"]:
        link["from"][0] = "n_" + link["from"][0]
        link["to"][0] = "n_" + link["to"][0]
    other = from_dict(doc, graph.registry)
    rec = _run(executor, other)
    assert rec.ran() == set()
    assert len(rec.cached()) == 7


def test_budget_evicts_least_recently_used(graph: Graph) -> None:
    graph.add_node("test.latent", id="a", params={"size": 6000})
    graph.add_node("test.sink", id="sa")
    graph.connect("a", "latent", "sa", "value")
    cache = OutputCache(budget_bytes=10_000)
    executor = Executor(cache)
    _run(executor, graph)
    graph.set_param("a", "size", 7000)
    _run(executor, graph)
    assert cache.evictions >= 1
    assert cache.total_bytes <= 10_000
    graph.set_param("a", "size", 6000)
    assert "a" in _run(executor, graph).ran()  # evicted, so it runs again
    cache.set_budget(0)
    assert len(cache) == 0


def test_failed_node_reports_and_does_not_poison_cache(graph: Graph) -> None:
    graph.add_node("test.const", id="c")
    graph.add_node("test.fail", id="f")
    graph.add_node("test.sink", id="s")
    graph.connect("c", "value", "f", "x")
    graph.connect("f", "x", "s", "value")
    executor = Executor()
    rec = _run(executor, graph)
    failed = [e for e in rec.events if isinstance(e, NodeFailed)]
    assert [(e.node_id, e.field, e.message, e.exception_type) for e in failed] == [
        ("f", "fail", "failing as asked", "NodeError")
    ]
    assert rec.last().status is RunStatus.FAILED
    assert "Fail (f) failed: failing as asked" in (rec.last().error or "")
    assert not any(isinstance(e, NodeStarted) and e.node_id == "s" for e in rec.events)
    graph.set_param("f", "fail", False)
    rec = _run(executor, graph)
    assert rec.last().status is RunStatus.DONE
    assert rec.cached() == {"c"} and rec.ran() == {"f", "s"}


def test_unexpected_exception_becomes_node_error(graph: Graph) -> None:
    graph.add_node("test.fail", id="f", params={"crash": True})
    graph.add_node("test.sink", id="s")
    graph.connect("f", "x", "s", "value")
    outcome = Executor().run(graph)
    assert outcome.status is RunStatus.FAILED
    assert outcome.nodes["f"].error == "division by zero"
    assert outcome.to_json()["errors"] == [
        {"node": "f", "field": None, "message": "division by zero"}
    ]


def test_invalid_graph_never_starts(graph: Graph) -> None:
    graph.add_node("test.add", id="add")
    graph.add_node("test.sink", id="s")
    graph.connect("add", "sum", "s", "value")
    rec = _run(Executor(), graph)
    assert len(rec.events) == 1
    finished = rec.last()
    assert finished.status is RunStatus.FAILED
    assert [(p.node_id, p.field) for p in finished.problems] == [("add", "a")]


def test_graph_without_outputs_is_refused(graph: Graph) -> None:
    graph.add_node("test.const", id="c")
    outcome = Executor().run(graph)
    assert outcome.status is RunStatus.FAILED
    assert "no output node" in outcome.problems[0].message


def test_named_target_plans_only_its_upstream(graph: Graph) -> None:
    _chain(graph)
    assert plan(graph, ["add"]) == ["c1", "c2", "add"]
    rec = _run(Executor(), graph, targets=["scale"])
    assert rec.ran() == {"c1", "c2", "add", "scale"}


def test_bypassed_node_passes_matching_input_through(graph: Graph) -> None:
    graph.add_node("test.latent", id="lat", params={"size": 3})
    graph.add_node("test.blur", id="b1")
    graph.add_node("test.blur", id="b2")
    graph.add_node("test.sink", id="s")
    graph.connect("lat", "latent", "b1", "latent")
    graph.connect("b1", "latent", "b2", "latent")
    graph.connect("b2", "latent", "s", "value")
    executor = Executor()
    rec = _run(executor, graph)
    shown = [e.text for e in rec.events if isinstance(e, NodeResult)]
    assert shown == [repr(bytearray(5))]
    graph.set_bypass("b1", True)
    graph.set_bypass("b2", True)
    rec = _run(executor, graph)
    started = next(e for e in rec.events if isinstance(e, RunStarted))
    assert started.plan == ("lat", "s")
    shown = [e.text for e in rec.events if isinstance(e, NodeResult)]
    assert shown == [repr(bytearray(3))]


def test_event_order_with_cache_and_progress(graph: Graph) -> None:
    graph.add_node("test.const", id="c")
    graph.add_node("test.slow", id="slow", params={"steps": 3})
    graph.add_node("test.sink", id="s")
    graph.connect("c", "value", "slow", "x")
    graph.connect("slow", "x", "s", "value")
    executor = Executor()
    rec = _run(executor, graph, run_id=7)
    kinds = [(type(e).__name__, getattr(e, "node_id", None)) for e in rec.events]
    assert kinds == [
        ("RunStarted", None),
        ("NodeStarted", "c"),
        ("NodeFinished", "c"),
        ("NodeStarted", "slow"),
        ("NodeProgress", "slow"),
        ("NodeProgress", "slow"),
        ("NodeProgress", "slow"),
        ("NodeFinished", "slow"),
        ("NodeStarted", "s"),
        ("NodeResult", "s"),
        ("NodeFinished", "s"),
        ("RunFinished", None),
    ]
    assert all(e.run_id == 7 for e in rec.events)
    steps = [(e.step, e.total) for e in rec.events if isinstance(e, NodeProgress)]
    assert steps == [(1, 3), (2, 3), (3, 3)]
    last = [e for e in rec.events if isinstance(e, NodeProgress)][-1]
    assert last.preview is not None and last.preview.shape == (2, 2, 3)

    rec = _run(executor, graph, run_id=8)
    kinds = [(type(e).__name__, getattr(e, "node_id", None)) for e in rec.events]
    assert kinds == [
        ("RunStarted", None),
        ("NodeStarted", "c"),
        ("NodeFinished", "c"),
        ("NodeStarted", "slow"),
        ("NodeFinished", "slow"),
        ("NodeStarted", "s"),
        ("NodeResult", "s"),
        ("NodeFinished", "s"),
        ("RunFinished", None),
    ]
    assert all(e.cached for e in rec.events if isinstance(e, NodeFinished))


def test_previews_are_throttled_but_last_step_always_shown(graph: Graph) -> None:
    graph.add_node("test.slow", id="slow", params={"steps": 50})
    graph.add_node("test.sink", id="s")
    graph.connect("slow", "x", "s", "value")
    executor = Executor(env=Environment(preview_interval=60.0))
    rec = _run(executor, graph)
    previews = [e.step for e in rec.events if isinstance(e, NodeProgress) and e.preview is not None]
    assert previews == [1, 50]
    executor = Executor(env=Environment(previews=False))
    rec = _run(executor, graph)
    assert not any(e.preview is not None for e in rec.events if isinstance(e, NodeProgress))


def test_cancel_before_start_and_midway(graph: Graph) -> None:
    graph.add_node("test.slow", id="slow", params={"steps": 100})
    graph.add_node("test.sink", id="s")
    graph.connect("slow", "x", "s", "value")
    token = CancelToken()
    token.cancel()
    executor = Executor()
    assert executor.run(graph, cancel=token).status is RunStatus.CANCELLED

    token = CancelToken()
    rec = Recorder()

    def emit(event) -> None:
        rec(event)
        if isinstance(event, NodeProgress) and event.step == 10:
            token.cancel()

    outcome = executor.run(graph, emit=emit, cancel=token)
    assert outcome.status is RunStatus.CANCELLED
    steps = [e.step for e in rec.events if isinstance(e, NodeProgress)]
    assert steps[-1] == 10  # stopped within one step
    assert executor.run(graph).status is RunStatus.DONE  # and the engine is fine


def test_file_change_invalidates_cache(graph: Graph, tmp_path: Path) -> None:
    model = tmp_path / "m.bin"
    model.write_bytes(b"abc")
    graph.add_node("test.file", id="f", params={"path": str(model)})
    graph.add_node("test.sink", id="s")
    graph.connect("f", "size", "s", "value")
    executor = Executor()
    _run(executor, graph)
    assert _run(executor, graph).ran() == set()
    model.write_bytes(b"abcdef")
    rec = _run(executor, graph)
    assert rec.ran() == {"f", "s"}


def test_node_returning_wrong_shape_fails_cleanly(graph: Graph) -> None:
    from nodes.api import Node, Output
    from nodes.ports import PortType

    class Broken(Node):
        """Returns the wrong number of outputs."""

        type_id = "test.broken"
        title = "Broken"
        category = "test"
        outputs = (Output("a", PortType.INT), Output("b", PortType.INT))

        def run(self, ctx):
            return (1,)

    graph.registry.register(Broken)
    graph.add_node("test.broken", id="b")
    graph.add_node("test.sink", id="s")
    graph.connect("b", "a", "s", "value")
    outcome = Executor().run(graph)
    assert outcome.status is RunStatus.FAILED
    assert "expected a tuple of 2" in (outcome.nodes["b"].error or "")


@pytest.mark.parametrize("value", [1, 2.5])
def test_int_feeds_float(graph: Graph, value: float) -> None:
    graph.add_node("primitive.float", id="f", params={"value": value})
    graph.add_node("test.const", id="c", params={"value": 3})
    graph.add_node("test.scale", id="sc")
    graph.add_node("test.sink", id="s")
    graph.connect("c", "value", "sc", "x")
    graph.connect("f", "value", "sc", "factor")
    graph.connect("sc", "y", "s", "value")
    rec = _run(Executor(), graph)
    assert [e.text for e in rec.events if isinstance(e, NodeResult)] == [repr(3 * float(value))]
