"""What the GUI knows about runs: per-node state, previews, results, problems.

One :class:`RunState` listens to the bridge and keeps plain records; the canvas, the run
panel, the image panel and the problems panel all read it and listen to its signals, so
none of them needs to interpret engine events on its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from PySide6.QtCore import QObject, Signal

from desktop.bridge import EngineBridge
from nodes.events import (
    NodeFailed,
    NodeFinished,
    NodeProgress,
    NodeResult,
    NodeStarted,
    Problem,
    RunFinished,
    RunQueued,
    RunStarted,
)


class NodeState(StrEnum):
    IDLE = "idle"
    QUEUED = "queued"
    RUNNING = "running"
    CACHED = "cached"
    DONE = "done"
    FAILED = "failed"


class RunPhase(StrEnum):
    """Where a run is: waiting, running, or how it ended (the engine's ``RunStatus``)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """Not ended yet: queued or running."""
        return self in (RunPhase.QUEUED, RunPhase.RUNNING)


@dataclass
class NodeStatus:
    state: NodeState = NodeState.IDLE
    step: int = 0
    total: int = 0
    seconds: float = 0.0
    message: str = ""
    field: str | None = None


@dataclass
class RunInfo:
    run_id: int
    label: str = ""
    status: RunPhase = RunPhase.QUEUED
    plan: tuple[str, ...] = ()
    started: float = 0.0
    seconds: float = 0.0
    done_nodes: int = 0
    timings: dict[str, tuple[float, bool]] = field(default_factory=dict)
    """node id → (seconds, cached), in finishing order."""
    error: str | None = None


@dataclass
class ImageResult:
    run_id: int
    node_id: str
    image: np.ndarray
    file: str | None = None


class RunState(QObject):
    nodeChanged = Signal(str)
    """A node's status changed (state, step)."""
    previewChanged = Signal(str, object)
    """(node id, uint8 H×W×3) — a live preview from a running node."""
    resultAdded = Signal(object)
    """An ImageResult from a save or preview node."""
    textResult = Signal(str, str)
    """(node id, text) a node showed (token counts, values...)."""
    runsChanged = Signal()
    """The queue or the current run's progress changed."""
    problemsChanged = Signal()
    runFinished = Signal(object)
    """The RunInfo of a run that just ended."""

    def __init__(self, bridge: EngineBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.nodes: dict[str, NodeStatus] = {}
        self.runs: dict[int, RunInfo] = {}
        self.current: int | None = None
        self.problems: list[Problem] = []
        self.results: list[ImageResult] = []
        self.texts: dict[str, str] = {}
        self._node_started_at: dict[str, float] = {}
        bridge.runQueued.connect(self._queued)
        bridge.runStarted.connect(self._started)
        bridge.nodeStarted.connect(self._node_started)
        bridge.nodeProgress.connect(self._progress)
        bridge.nodeResult.connect(self._result)
        bridge.nodeFinished.connect(self._node_finished)
        bridge.nodeFailed.connect(self._node_failed)
        bridge.runFinished.connect(self._finished)

    # ------------------------------------------------------------ queries
    def status(self, node_id: str) -> NodeStatus:
        return self.nodes.get(node_id) or NodeStatus()

    def problems_for(self, node_id: str) -> list[Problem]:
        return [p for p in self.problems if p.node_id == node_id]

    def set_problems(self, problems: list[Problem]) -> None:
        """Validation problems found before queueing (shown like run failures)."""
        self.problems = list(problems)
        self.problemsChanged.emit()

    @property
    def active_runs(self) -> list[RunInfo]:
        return [r for r in self.runs.values() if r.status.active]

    def eta_seconds(self) -> float | None:
        """Remaining seconds of the current run, from the sampler's step rate."""
        if self.current is None:
            return None
        run = self.runs[self.current]
        for node_id in run.plan:
            status = self.nodes.get(node_id)
            if status and status.state is NodeState.RUNNING and status.step and status.total:
                elapsed = time.monotonic() - self._node_started_at.get(node_id, time.monotonic())
                return elapsed / status.step * (status.total - status.step)
        return None

    # ------------------------------------------------------------ events
    def _queued(self, event: RunQueued) -> None:
        self.runs[event.run_id] = RunInfo(event.run_id, event.label)
        self.runsChanged.emit()

    def _started(self, event: RunStarted) -> None:
        run = self.runs.setdefault(event.run_id, RunInfo(event.run_id))
        run.status, run.plan, run.started = RunPhase.RUNNING, event.plan, time.monotonic()
        self.current = event.run_id
        self.problems = []
        self.problemsChanged.emit()
        self._node_started_at = {}
        for node_id in list(self.nodes):
            if node_id not in event.plan:
                self.nodes[node_id] = NodeStatus()
                self.nodeChanged.emit(node_id)
        for node_id in event.plan:
            self.nodes[node_id] = NodeStatus(NodeState.QUEUED)
            self.nodeChanged.emit(node_id)
        self.runsChanged.emit()

    def _node_started(self, event: NodeStarted) -> None:
        self.nodes[event.node_id] = NodeStatus(NodeState.RUNNING)
        self._node_started_at[event.node_id] = time.monotonic()
        self.nodeChanged.emit(event.node_id)

    def _progress(self, event: NodeProgress) -> None:
        status = self.nodes.setdefault(event.node_id, NodeStatus(NodeState.RUNNING))
        status.step, status.total = event.step, event.total
        self.nodeChanged.emit(event.node_id)
        if event.preview is not None:
            self.previewChanged.emit(event.node_id, event.preview)
        self.runsChanged.emit()

    def _result(self, event: NodeResult) -> None:
        if event.text is not None:
            self.texts[event.node_id] = event.text
            self.textResult.emit(event.node_id, event.text)
        files = list(event.files)
        for index, image in enumerate(event.images):
            if isinstance(image, np.ndarray):
                file = files[index] if index < len(files) else None
                result = ImageResult(event.run_id, event.node_id, image, file)
                self.results.append(result)
                self.resultAdded.emit(result)

    def _node_finished(self, event: NodeFinished) -> None:
        state = NodeState.CACHED if event.cached else NodeState.DONE
        previous = self.nodes.get(event.node_id)
        status = NodeStatus(state, seconds=event.seconds)
        if previous is not None:
            status.step, status.total = previous.step, previous.total
        self.nodes[event.node_id] = status
        run = self.runs.get(event.run_id)
        if run is not None:
            run.done_nodes += 1
            run.timings[event.node_id] = (event.seconds, event.cached)
        self.nodeChanged.emit(event.node_id)
        self.runsChanged.emit()

    def _node_failed(self, event: NodeFailed) -> None:
        self.nodes[event.node_id] = NodeStatus(
            NodeState.FAILED, message=event.message, field=event.field
        )
        self.problems.append(Problem(event.node_id, event.field, event.message))
        self.problemsChanged.emit()
        self.nodeChanged.emit(event.node_id)

    def _finished(self, event: RunFinished) -> None:
        run = self.runs.setdefault(event.run_id, RunInfo(event.run_id))
        run.status = RunPhase(event.status.value)
        run.seconds, run.error = event.seconds, event.error
        if event.problems:
            self.problems = list(event.problems)
            self.problemsChanged.emit()
        if self.current == event.run_id:
            self.current = None
            for node_id, status in self.nodes.items():  # cancelled mid-way: nothing runs
                if status.state in (NodeState.QUEUED, NodeState.RUNNING):
                    self.nodes[node_id] = NodeStatus()
                    self.nodeChanged.emit(node_id)
        self.runsChanged.emit()
        self.runFinished.emit(run)

    def forget(self, node_id: str) -> None:
        self.nodes.pop(node_id, None)
        self.texts.pop(node_id, None)
