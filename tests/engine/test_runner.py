from __future__ import annotations

import threading

from nodes.events import NodeProgress, RunFinished, RunQueued, RunStarted, RunStatus
from nodes.graph import Graph
from nodes.runner import Runner
from nodes.workflow import to_dict
from tests.stubs import Slow


def _slow_graph(graph: Graph, steps: int = 200, delay: float = 0.005) -> dict:
    graph.add_node("test.slow", id="slow", params={"steps": steps, "delay": delay})
    graph.add_node("test.sink", id="s")
    graph.connect("slow", "x", "s", "value")
    return to_dict(graph)


def test_submit_runs_in_order_on_a_worker_thread(graph: Graph) -> None:
    doc = _slow_graph(graph, steps=2, delay=0.0)
    runner = Runner(registry=graph.registry)
    threads: set[str] = set()
    finished: list[int] = []

    def listen(event) -> None:
        threads.add(threading.current_thread().name)
        if isinstance(event, RunFinished):
            finished.append(event.run_id)

    runner.subscribe(listen)
    ids = [runner.submit(doc, {"slow.steps": n}) for n in (1, 2, 3)]
    outcomes = [runner.wait(i, timeout=10) for i in ids]
    runner.shutdown()
    assert [o.status for o in outcomes] == [RunStatus.DONE] * 3
    assert finished == ids
    assert "daguerre-runner" in threads and threads <= {"daguerre-runner", "MainThread"}


def test_queued_run_uses_document_as_submitted(graph: Graph) -> None:
    doc = _slow_graph(graph, steps=1, delay=0.0)
    runner = Runner(registry=graph.registry)
    run_id = runner.submit(doc)
    doc["nodes"]["slow"]["params"]["steps"] = "garbage"  # the caller keeps editing
    assert runner.wait(run_id, timeout=10).status is RunStatus.DONE
    runner.shutdown()


def test_cancel_from_another_thread_then_run_again(graph: Graph) -> None:
    doc = _slow_graph(graph, steps=2000, delay=0.002)
    runner = Runner(registry=graph.registry)
    events: list = []
    runner.subscribe(events.append)
    Slow.started.clear()
    run_id = runner.submit(doc)
    assert Slow.started.wait(10)
    threading.Thread(target=runner.cancel).start()
    outcome = runner.wait(run_id, timeout=10)
    assert outcome.status is RunStatus.CANCELLED
    steps = [e.step for e in events if isinstance(e, NodeProgress)]
    assert steps and steps[-1] < 2000
    again = runner.submit(doc, {"slow.steps": 3})
    assert runner.wait(again, timeout=10).status is RunStatus.DONE
    runner.shutdown()


def test_clear_queue_drops_waiting_runs(graph: Graph) -> None:
    doc = _slow_graph(graph, steps=500, delay=0.002)
    runner = Runner(registry=graph.registry)
    events: list = []
    runner.subscribe(events.append)
    Slow.started.clear()
    first = runner.submit(doc)
    queued = [runner.submit(doc, {"slow.steps": n}) for n in (1, 2)]
    assert Slow.started.wait(10)
    assert sorted(runner.clear_queue()) == queued
    runner.cancel()
    assert runner.wait(first, timeout=10).status is RunStatus.CANCELLED
    for run_id in queued:
        assert runner.wait(run_id, timeout=10).status is RunStatus.CANCELLED
    started = [e.run_id for e in events if isinstance(e, RunStarted)]
    assert started == [first]
    assert [e.run_id for e in events if isinstance(e, RunQueued)] == [first, *queued]
    assert not runner.busy
    runner.shutdown()


def test_bad_documents_and_overrides_fail_without_killing_the_worker(graph: Graph) -> None:
    doc = _slow_graph(graph, steps=1, delay=0.0)
    runner = Runner(registry=graph.registry)
    broken = runner.submit({"format": "daguerre.workflow", "version": 1, "nodes": []})
    bad_override = runner.submit(doc, {"slow.steps": -5, "ghost.x": 1})
    fine = runner.submit(doc)
    out = runner.wait(broken, timeout=10)
    assert out.status is RunStatus.FAILED and "$.nodes" in (out.error or "")
    out = runner.wait(bad_override, timeout=10)
    assert {(p.node_id, p.field) for p in out.problems} == {("slow", "steps"), ("ghost", "x")}
    assert runner.wait(fine, timeout=10).status is RunStatus.DONE
    runner.shutdown()


def test_a_failing_subscriber_does_not_break_runs(graph: Graph) -> None:
    doc = _slow_graph(graph, steps=1, delay=0.0)
    runner = Runner(registry=graph.registry)

    def explode(event) -> None:
        raise RuntimeError("listener bug")

    runner.subscribe(explode)
    seen: list = []
    unsubscribe = runner.subscribe(seen.append)
    run_id = runner.submit(doc)
    assert runner.wait(run_id, timeout=10).status is RunStatus.DONE
    unsubscribe()
    count = len(seen)
    runner.wait(runner.submit(doc), timeout=10)
    assert len(seen) == count
    runner.shutdown()


def test_thread_init_runs_on_the_worker(graph: Graph) -> None:
    doc = _slow_graph(graph, steps=1, delay=0.0)
    names: list[str] = []
    runner = Runner(
        registry=graph.registry, thread_init=lambda: names.append(threading.current_thread().name)
    )
    runner.wait(runner.submit(doc), timeout=10)
    runner.shutdown()
    assert names == ["daguerre-runner"]
