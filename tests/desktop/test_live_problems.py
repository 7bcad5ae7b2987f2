"""Truthful state: run state never attaches to another node, edits make badges stale, and
the Problems panel and the canvas follow the document through background re-validation."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop import live_validation
from desktop.bridge import EngineBridge
from desktop.canvas.view import CanvasView
from desktop.document import Document
from desktop.live_validation import LiveValidator
from desktop.panels import ProblemsPanel
from desktop.run_state import NodeState, RunState
from desktop.running import queue_runs
from nodes.advice import SCRATCH_MESSAGE, Findings
from nodes.events import (
    NodeFailed,
    NodeFinished,
    NodeStarted,
    Problem,
    RunFinished,
    RunQueued,
    RunStarted,
    RunStatus,
)
from nodes.paths import FileFinder
from tests.desktop.canvas_helpers import node


@pytest.fixture
def followed(document: Document, run_state: RunState) -> RunState:
    run_state.follow(document.graph)
    return run_state


def _pair(document: Document) -> tuple[str, str]:
    n = document.add_node("primitive.int", (0, 0), {"value": 3})
    d = document.add_node("utility.display", (200, 0))
    document.connect_ports(n, "value", d, "value")
    return n, d


def _finish(bridge: EngineBridge, run_id: int, *nodes: str, cached: bool = False) -> None:
    """A run of ``nodes`` that finished them all, as the engine reports it."""
    bridge.runQueued.emit(RunQueued(run_id))
    bridge.runStarted.emit(RunStarted(run_id, nodes))
    for node_id in nodes:
        bridge.nodeStarted.emit(NodeStarted(run_id, node_id))
        bridge.nodeFinished.emit(NodeFinished(run_id, node_id, cached, 5.59))
    bridge.runFinished.emit(RunFinished(run_id, RunStatus.DONE, 6.0))


def _validator(document: Document, run_state: RunState) -> LiveValidator:
    return LiveValidator(document, run_state, lambda: FileFinder([]), delay_ms=10)


# ---------------------------------------------------------------- identity
def test_a_new_node_does_not_inherit_a_deleted_nodes_state(
    canvas: CanvasView, document: Document, bridge: EngineBridge, followed: RunState
) -> None:
    n, d = _pair(document)
    _finish(bridge, 1, n, d, cached=True)
    assert followed.status(d).state is NodeState.CACHED
    document.remove([d])
    again = document.add_node("utility.display", (200, 0))
    assert again == d  # the id is reused...
    assert followed.status(again).state is NodeState.IDLE  # ...but not its "cached" badge
    assert node(canvas, again).status.state is NodeState.IDLE


def test_events_of_an_earlier_run_never_reach_a_recreated_node(
    canvas: CanvasView, document: Document, bridge: EngineBridge, followed: RunState
) -> None:
    n, d = _pair(document)
    bridge.runQueued.emit(RunQueued(7))  # queued while the first display existed
    document.remove([d])
    again = document.add_node("utility.display", (200, 0))
    bridge.runStarted.emit(RunStarted(7, (n, d)))
    bridge.nodeStarted.emit(NodeStarted(7, again))
    bridge.nodeFailed.emit(NodeFailed(7, again, "value", "bad value", "NodeError"))
    bridge.runFinished.emit(RunFinished(7, RunStatus.FAILED, 1.0, "failed"))
    assert followed.status(again).state is NodeState.IDLE
    assert followed.problems == []
    assert followed.runs[7].plan == (n,)  # the old display is not part of this document
    assert node(canvas, again).problems == {}
    bridge.runQueued.emit(RunQueued(8))  # a run queued now is about the new node
    bridge.runStarted.emit(RunStarted(8, (n, again)))
    assert followed.status(again).state is NodeState.QUEUED


def test_a_removed_node_takes_its_problems_along(document: Document, followed: RunState) -> None:
    n, d = _pair(document)
    followed.set_problems([Problem(d, "value", "broken"), Problem(n, None, "also")])
    document.remove([d])
    assert followed.problems == [Problem(n, None, "also")]


# ---------------------------------------------------------------- stale badges
def test_an_edit_clears_the_finished_badges_downstream(
    canvas: CanvasView, document: Document, bridge: EngineBridge, followed: RunState
) -> None:
    n, d = _pair(document)
    other = document.add_node("primitive.int", (0, 200))
    _finish(bridge, 1, n, d, other)
    bridge.nodeFailed.emit(NodeFailed(1, d, "value", "late failure", "NodeError"))
    assert followed.problems_for(d)
    document.set_param(n, "value", 4)
    assert followed.status(n).state is NodeState.IDLE
    assert followed.status(d).state is NodeState.IDLE  # downstream of the edit
    assert followed.status(other).state is NodeState.DONE  # not affected
    assert followed.problems_for(d) == []  # that failure was about the old value
    assert node(canvas, d).status.state is NodeState.IDLE


def test_a_run_refused_by_validation_leaves_no_old_badges(
    document: Document, bridge: EngineBridge, followed: RunState
) -> None:
    n, d = _pair(document)
    _finish(bridge, 1, n, d)
    broken = document.add_node("utility.display", (400, 0))  # an output with no input
    result = queue_runs(document, bridge, followed, FileFinder([]))
    assert result.run_ids == [] and [p.node_id for p in result.problems] == [broken]
    assert followed.status(n).state is NodeState.IDLE
    assert followed.status(d).state is NodeState.IDLE


def test_an_engine_refusal_clears_old_badges_too(
    document: Document, bridge: EngineBridge, followed: RunState
) -> None:
    n, d = _pair(document)
    _finish(bridge, 1, n, d)
    bridge.runQueued.emit(RunQueued(2))
    problem = Problem(n, "value", "file vanished")
    bridge.runFinished.emit(RunFinished(2, RunStatus.FAILED, 0.0, "invalid", (problem,)))
    assert followed.problems == [problem]
    assert followed.status(d).state is NodeState.IDLE


# ---------------------------------------------------------------- live validation
def test_problems_and_outlines_follow_edits_without_a_run(
    qtbot: QtBot, canvas: CanvasView, document: Document, run_state: RunState
) -> None:
    panel = ProblemsPanel(run_state)
    panel.set_node_titles(document.graph.display_title)
    qtbot.addWidget(panel)
    validator = _validator(document, run_state)
    d = document.add_node("utility.display", (200, 0))
    qtbot.waitUntil(lambda: panel.problem_count() == 1, timeout=5000)
    item = panel.problem_item(0)
    assert item is not None and [item.text(c) for c in range(2)] == ["Display", "value"]
    assert set(node(canvas, d).problems) == {"value"}
    n = document.add_node("primitive.int", (0, 0))
    document.connect_ports(n, "value", d, "value")  # the fix
    qtbot.waitUntil(lambda: panel.problem_count() == 0, timeout=5000)
    assert node(canvas, d).problems == {}
    assert not validator.pending


def test_scratch_nodes_are_listed_as_advice(
    qtbot: QtBot, document: Document, run_state: RunState
) -> None:
    panel = ProblemsPanel(run_state)
    panel.set_node_titles(document.graph.display_title)
    qtbot.addWidget(panel)
    _validator(document, run_state)
    _pair(document)
    sampler = document.add_node("sampling.sampler", (0, 300))  # nothing connected
    qtbot.waitUntil(lambda: panel.advice_count() == 1, timeout=5000)
    assert panel.problem_count() == 0  # advice never blocks a run
    row = panel.problem_item(0)
    assert row is not None and row.text(0) == "Sampler" and row.text(2) == SCRATCH_MESSAGE
    assert "problems to fix once it does" in row.toolTip(2)
    assert panel.tabs.tabText(0) == "Problems · 1 advice"
    assert [a.node_id for a in run_state.advice] == [sampler]


def test_validation_runs_off_the_gui_thread_and_drops_outdated_results(
    qtbot: QtBot, document: Document, run_state: RunState, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    release = threading.Event()
    real = live_validation.review

    def slow_review(graph, resolve, **options):  # the first pass still runs when edits follow
        threads.append(threading.current_thread().name)
        if len(threads) == 1:
            release.wait(5)
        return real(graph, resolve, **options)

    monkeypatch.setattr(live_validation, "review", slow_review)
    validator = _validator(document, run_state)
    seen: list[Findings] = []
    validator.validated.connect(seen.append)
    d = document.add_node("utility.display", (0, 0))
    qtbot.waitUntil(lambda: len(threads) == 1, timeout=5000)
    n = document.add_node("primitive.int", (0, 0))
    document.connect_ports(n, "value", d, "value")  # fixes what the first pass judges
    qtbot.wait(50)
    release.set()
    qtbot.waitUntil(lambda: not validator.pending and len(seen) == 1, timeout=5000)
    assert threads == ["daguerre-validate"] * 2
    assert seen[0].errors == [] and run_state.problems == []  # the outdated pass was dropped


def test_moving_nodes_does_not_validate(
    qtbot: QtBot, document: Document, run_state: RunState
) -> None:
    validator = _validator(document, run_state)
    d = document.add_node("utility.display", (0, 0))
    qtbot.waitUntil(lambda: not validator.pending, timeout=5000)
    document.move({d: (50.0, 50.0)})
    assert not validator.pending


def test_validate_now_shows_files_that_appeared(
    tmp_path: Path, document: Document, run_state: RunState
) -> None:
    folder = tmp_path / "models"
    (folder / "checkpoints").mkdir(parents=True)
    validator = LiveValidator(document, run_state, lambda: FileFinder([folder]))
    document.add_node("loaders.checkpoint", (0, 0), {"path": "model.safetensors"})
    findings = validator.validate_now()  # no output node: every problem is an error
    assert [(p.field, p.message) for p in findings.errors] == [
        ("path", "checkpoints file not found: model.safetensors")
    ]
    assert run_state.problems == findings.errors
    (folder / "checkpoints" / "model.safetensors").write_bytes(b"x")
    assert validator.validate_now().errors == []  # no edit: the disk changed
    assert run_state.problems == []
