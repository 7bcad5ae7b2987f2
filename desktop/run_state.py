"""What the GUI knows about runs: per-node state, previews, results, problems, advice.

One :class:`RunState` listens to the bridge and keeps plain records; the canvas, the run
panel, the image panel and the problems panel all read it and listen to its signals, so
none of them needs to interpret engine events on its own.

It stays truthful while the document changes (:meth:`RunState.follow`):

- **Run state never attaches to another node.** Node ids are reused (delete ``sampler_2``
  and the next new sampler is ``sampler_2`` again), and events of a run arrive after the
  edits made while it ran. So every node gets a *birth* stamp when it is added, every run
  the stamp of when it was queued, and an event about a node is taken only if that node
  existed when its run was queued. A removed node's state, texts and problems go with it.
- **Edits make results stale.** Changing a node's params, links or bypass clears the
  finished badges ("✓ 5.59 s", "cached", failed) of it and everything downstream, and the
  run failures reported on them; a run refused by validation clears every finished badge.
- **Problems follow the document.** :attr:`problems` is the latest validation of the
  document (:meth:`set_findings`, fed by :class:`desktop.live_validation.LiveValidator`
  after each edit), plus what the engine refused a run for and the nodes that failed in
  the last run; :attr:`advice` is validation's advice.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from desktop.bridge import EngineBridge
from nodes.advice import Advice, Findings
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
from nodes.graph import Graph, Link, NodeData


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
    key: str = ""
    """What decides its outputs (``desktop.running.run_key``), when the app queued it."""


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
    """The problems or the advice changed."""
    runFinished = Signal(object)
    """The RunInfo of a run that just ended."""

    def __init__(self, bridge: EngineBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.nodes: dict[str, NodeStatus] = {}
        self.runs: dict[int, RunInfo] = {}
        self.current: int | None = None
        self.validation: list[Problem] = []
        """The latest validation of the document: the errors that block a run."""
        self.advice: list[Advice] = []
        """The latest validation's advice (never blocks a run)."""
        self.refused: list[Problem] = []
        """Why the engine refused the last run before it started (its own validation)."""
        self.failures: list[Problem] = []
        """Nodes that failed in the current or last run."""
        self.results: list[ImageResult] = []
        self.texts: dict[str, str] = {}
        self._node_started_at: dict[str, float] = {}
        self._graph: Graph | None = None
        self._unfollow: list[tuple[Any, Callable[..., Any]]] = []
        self._clock = 0
        self._births: dict[str, int] = {}
        """Node id → the clock when that node was added (see the module docstring)."""
        self._queued_at: dict[int, int] = {}
        """Run id → the clock when it was queued."""
        bridge.runQueued.connect(self._queued)
        bridge.runStarted.connect(self._started)
        bridge.nodeStarted.connect(self._node_started)
        bridge.nodeProgress.connect(self._progress)
        bridge.nodeResult.connect(self._result)
        bridge.nodeFinished.connect(self._node_finished)
        bridge.nodeFailed.connect(self._node_failed)
        bridge.runFinished.connect(self._finished)

    # ------------------------------------------------------------ the document
    def follow(self, graph: Graph) -> None:
        """Keep run state true to ``graph`` as it is edited (see the module docstring)."""
        self._stop_following()
        self._graph = graph
        self._births = dict.fromkeys(graph.nodes, self._clock)
        subscriptions: list[tuple[Any, Callable[..., Any]]] = [
            (graph.node_added, self._node_added),
            (graph.node_removed, self._node_removed),
            (graph.param_changed, self._param_edited),
            (graph.link_added, self._link_edited),
            (graph.link_removed, self._link_edited),
            (graph.node_changed, self._node_edited),
        ]
        for signal, callback in subscriptions:
            signal.sub(callback)
        self._unfollow = subscriptions
        # the graph outlives this object: stop following when it goes
        self.destroyed.connect(lambda *_: _unsubscribe(subscriptions))

    def _stop_following(self) -> None:
        _unsubscribe(self._unfollow)
        self._unfollow = []

    def _accepts(self, run_id: int, node_id: str) -> bool:
        """Whether an event of run ``run_id`` is about the node now called ``node_id``."""
        if self._graph is None:
            return True
        birth = self._births.get(node_id)
        if birth is None:
            return False  # removed since (or never part of this document)
        return birth <= self._queued_at.get(run_id, self._clock)

    def _node_added(self, data: NodeData) -> None:
        self._clock += 1
        self._births[data.id] = self._clock
        self._drop(data.id)

    def _node_removed(self, data: NodeData) -> None:
        self._births.pop(data.id, None)
        self._drop(data.id)

    def _drop(self, node_id: str) -> None:
        """Forget everything shown for ``node_id``: it is another node now, or none."""
        had = self.nodes.pop(node_id, None)
        self.texts.pop(node_id, None)
        self._node_started_at.pop(node_id, None)
        lists = (self.validation, self.refused, self.failures)
        kept = [[p for p in problems if p.node_id != node_id] for problems in lists]
        advice = [a for a in self.advice if a.node_id != node_id]
        changed = any(len(k) != len(p) for k, p in zip(kept, lists, strict=True))
        if changed or len(advice) != len(self.advice):
            self.validation, self.refused, self.failures = kept
            self.advice = advice
            self.problemsChanged.emit()
        if had is not None:
            self.nodeChanged.emit(node_id)

    def _param_edited(self, node_id: str, _name: str, _value: Any) -> None:
        self._stale(node_id)

    def _link_edited(self, link: Link) -> None:
        self._stale(link.target)

    def _node_edited(self, node_id: str, attr: str, _value: Any) -> None:
        if attr == "bypass":
            self._stale(node_id)

    def _stale(self, node_id: str) -> None:
        """``node_id`` changed: its finished state and everything's downstream is stale."""
        graph = self._graph
        if graph is None:
            return
        finished = (NodeState.DONE, NodeState.CACHED, NodeState.FAILED)
        seen: set[str] = set()
        stack = [node_id]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(link.target for link in graph.links_from(current))
        for changed in seen:
            status = self.nodes.get(changed)
            if status is not None and status.state in finished:
                self.nodes[changed] = NodeStatus()
                self.nodeChanged.emit(changed)
        failures = [p for p in self.failures if p.node_id not in seen]
        if len(failures) != len(self.failures):
            self.failures = failures
            self.problemsChanged.emit()

    def clear_finished(self) -> None:
        """Clear every finished badge: nothing shown may look like the graph just ran."""
        for node_id, status in list(self.nodes.items()):
            if status.state in (NodeState.DONE, NodeState.CACHED, NodeState.FAILED):
                self.nodes[node_id] = NodeStatus()
                self.nodeChanged.emit(node_id)

    # ------------------------------------------------------------ queries
    def status(self, node_id: str) -> NodeStatus:
        return self.nodes.get(node_id) or NodeStatus()

    @property
    def problems(self) -> list[Problem]:
        """What blocks or broke a run: the document's validation errors, what the engine
        refused the last run for, and the nodes that failed in it (each problem once)."""
        return list(dict.fromkeys([*self.validation, *self.refused, *self.failures]))

    def problems_for(self, node_id: str) -> list[Problem]:
        return [p for p in self.problems if p.node_id == node_id]

    def set_findings(self, findings: Findings) -> None:
        """The document's validation now: its errors and advice replace the last ones (and
        what the engine refused a run for, which was about an older document)."""
        self.validation = list(findings.errors)
        self.advice = list(findings.advice)
        self.refused = []
        self.problemsChanged.emit()

    def set_problems(self, problems: list[Problem]) -> None:
        """Validation problems found before queueing (shown like run failures)."""
        self.validation = list(problems)
        self.refused = []
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
        self._queued_at[event.run_id] = self._clock
        self.runs[event.run_id] = RunInfo(event.run_id, event.label)
        self.runsChanged.emit()

    def _started(self, event: RunStarted) -> None:
        run = self.runs.setdefault(event.run_id, RunInfo(event.run_id))
        plan = tuple(n for n in event.plan if self._accepts(event.run_id, n))
        run.status, run.plan, run.started = RunPhase.RUNNING, plan, time.monotonic()
        self.current = event.run_id
        if self.refused or self.failures:
            self.refused, self.failures = [], []
            self.problemsChanged.emit()
        self._node_started_at = {}
        for node_id in list(self.nodes):
            if node_id not in plan:
                self.nodes[node_id] = NodeStatus()
                self.nodeChanged.emit(node_id)
        for node_id in plan:
            self.nodes[node_id] = NodeStatus(NodeState.QUEUED)
            self.nodeChanged.emit(node_id)
        self.runsChanged.emit()

    def _node_started(self, event: NodeStarted) -> None:
        if not self._accepts(event.run_id, event.node_id):
            return
        self.nodes[event.node_id] = NodeStatus(NodeState.RUNNING)
        self._node_started_at[event.node_id] = time.monotonic()
        self.nodeChanged.emit(event.node_id)

    def _progress(self, event: NodeProgress) -> None:
        if not self._accepts(event.run_id, event.node_id):
            return
        status = self.nodes.setdefault(event.node_id, NodeStatus(NodeState.RUNNING))
        status.step, status.total = event.step, event.total
        self.nodeChanged.emit(event.node_id)
        if event.preview is not None:
            self.previewChanged.emit(event.node_id, event.preview)
        self.runsChanged.emit()

    def _result(self, event: NodeResult) -> None:
        if event.text is not None and self._accepts(event.run_id, event.node_id):
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
        if not self._accepts(event.run_id, event.node_id):
            return
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
        if not self._accepts(event.run_id, event.node_id):
            return
        self.nodes[event.node_id] = NodeStatus(
            NodeState.FAILED, message=event.message, field=event.field
        )
        self.failures.append(Problem(event.node_id, event.field, event.message))
        self.problemsChanged.emit()
        self.nodeChanged.emit(event.node_id)

    def _finished(self, event: RunFinished) -> None:
        run = self.runs.setdefault(event.run_id, RunInfo(event.run_id))
        run.status = RunPhase(event.status.value)
        run.seconds, run.error = event.seconds, event.error
        if event.problems:  # refused before it started: the engine's own validation
            self.refused = [
                p
                for p in event.problems
                if p.node_id is None or self._accepts(event.run_id, p.node_id)
            ]
            self.problemsChanged.emit()
            if not run.plan:
                self.clear_finished()
        if self.current == event.run_id:
            self.current = None
            for node_id, status in self.nodes.items():  # cancelled mid-way: nothing runs
                if status.state in (NodeState.QUEUED, NodeState.RUNNING):
                    self.nodes[node_id] = NodeStatus()
                    self.nodeChanged.emit(node_id)
        self.runsChanged.emit()
        self.runFinished.emit(run)

    def forget(self, node_id: str) -> None:
        """Forget what was shown for ``node_id`` (its state, texts and problems)."""
        self._drop(node_id)


def _unsubscribe(subscriptions: list[tuple[Any, Callable[..., Any]]]) -> None:
    for signal, callback in subscriptions:
        with contextlib.suppress(ValueError):  # already gone
            signal.unsub(callback)
