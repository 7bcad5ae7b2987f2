"""The runner: a queue of runs executed one at a time on a worker thread.

Its interface is plain data in and out — a workflow document (the JSON dict of a file) plus
param overrides in, event records and image files out — so the desktop bridge, the CLI and
the cluster runner (:mod:`nodes.cluster`) all look the same from outside
(:class:`~nodes.run_protocol.RunnerProtocol`). Subscribers are called on
the worker thread; the desktop bridge re-emits them as queued Qt signals.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nodes.context import CancelToken
from nodes.events import Event, Problem, RunFinished, RunQueued, RunStatus, Subscribers
from nodes.executor import Executor, RunOutcome
from nodes.graph import Graph, GraphError
from nodes.import_lock import model_library_imports
from nodes.registry import Registry
from nodes.run_spec import RunSpec
from nodes.workflow import WorkflowError, from_dict

log = logging.getLogger("daguerre.runner")


@dataclass
class _Job:
    run_id: int
    workflow: dict[str, Any]
    overrides: dict[str, Any]
    targets: tuple[str, ...] | None
    label: str
    cancel: CancelToken = field(default_factory=CancelToken)
    done: threading.Event = field(default_factory=threading.Event)


def apply_overrides(graph: Graph, overrides: Mapping[str, Any]) -> list[Problem]:
    """Set ``{"node.param": value}`` overrides (checked); returns what was refused."""
    problems = []
    for key, value in overrides.items():
        node_id, _, name = key.rpartition(".")
        if not node_id or not name:
            problems.append(Problem(None, None, f"override {key!r} is not NODE.PARAM"))
            continue
        if node_id not in graph.nodes:
            problems.append(Problem(node_id, name, "no such node"))
            continue
        try:
            graph.set_param(node_id, name, value)
        except GraphError as exc:
            problems.append(Problem(node_id, name, exc.message))
    return problems


class Runner:
    """Queue, run and report; one worker thread, started on the first submit. The local
    implementation of :class:`~nodes.run_protocol.RunnerProtocol`."""

    slots = 1
    """Runs in progress at once."""

    def __init__(
        self,
        executor: Executor | None = None,
        *,
        registry: Registry | None = None,
        thread_init: Callable[[], None] | None = None,
        keep_outcomes: int = 256,
    ) -> None:
        self.executor = executor if executor is not None else Executor()
        self.registry = registry
        self._thread_init = thread_init
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._pending: dict[int, _Job] = {}
        self._current: _Job | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._subscribers = Subscribers()
        self._outcomes: OrderedDict[int, RunOutcome] = OrderedDict()
        self._keep = keep_outcomes
        self._thread: threading.Thread | None = None
        self._closed = False

    # ---------------------------------------------------------------- public
    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for every event (on the worker thread)."""
        return self._subscribers.subscribe(callback)

    def submit(
        self,
        workflow: dict[str, Any],
        overrides: Mapping[str, Any] | None = None,
        *,
        targets: Iterable[str] | None = None,
        label: str = "",
    ) -> int:
        """Queue a run of ``workflow`` and return its run id.

        ``workflow`` is a workflow document (a file's JSON) or a :class:`Graph`, which is
        serialised now: later edits by the caller do not change the queued run.
        """
        if self._closed:
            raise RuntimeError("the runner is shut down")
        spec = RunSpec.of(workflow, overrides, targets, label)
        job = _Job(next(self._ids), spec.workflow, spec.overrides, spec.targets, label)
        with self._lock:
            self._pending[job.run_id] = job
            self._ensure_thread()
        self._emit(RunQueued(job.run_id, label))
        self._queue.put(job)
        return job.run_id

    def submit_spec(self, spec: RunSpec) -> int:
        """Queue the run a :class:`~nodes.run_spec.RunSpec` describes (its output policy
        is always met here: this runner writes files where its environment says)."""
        return self.submit(spec.workflow, spec.overrides, targets=spec.targets, label=spec.label)

    def cancel(self, run_id: int | None = None) -> bool:
        """Cancel the current run (or the run ``run_id``, current or queued)."""
        with self._lock:
            job = (
                self._current
                if run_id is None
                else (
                    self._current
                    if self._current is not None and self._current.run_id == run_id
                    else self._pending.get(run_id)
                )
            )
        if job is None:
            return False
        job.cancel.cancel()
        return True

    def clear_queue(self) -> list[int]:
        """Drop every queued run that has not started; returns their ids."""
        with self._lock:
            dropped = list(self._pending.values())
        for job in dropped:
            job.cancel.cancel()
        return [job.run_id for job in dropped]

    def wait(self, run_id: int, timeout: float | None = None) -> RunOutcome:
        """Block until run ``run_id`` ends and return its outcome."""
        with self._lock:
            job = self._pending.get(run_id)
            if job is None and self._current is not None and self._current.run_id == run_id:
                job = self._current
            outcome = self._outcomes.get(run_id)
        if outcome is not None:
            return outcome
        if job is None:
            raise KeyError(f"unknown run {run_id}")
        if not job.done.wait(timeout):
            raise TimeoutError(f"run {run_id} still running after {timeout} s")
        with self._lock:
            return self._outcomes[run_id]

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._current is not None or bool(self._pending)

    def shutdown(self, timeout: float | None = 10.0) -> None:
        """Cancel everything and stop the worker thread."""
        self._closed = True
        self.clear_queue()
        self.cancel()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    # ---------------------------------------------------------------- worker
    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="daguerre-runner", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        if self._thread_init is not None:
            self._thread_init()
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                self._pending.pop(job.run_id, None)
                self._current = job
            try:
                with model_library_imports():  # never while a warm-up imports them
                    outcome = self._execute(job)
            except Exception as exc:  # the engine itself failed: report, keep the thread
                log.exception("run %s crashed", job.run_id)
                outcome = RunOutcome(job.run_id, RunStatus.FAILED, error=f"internal error: {exc}")
                self._emit(RunFinished(job.run_id, RunStatus.FAILED, 0.0, outcome.error))
            with self._lock:
                self._current = None
                self._outcomes[job.run_id] = outcome
                while len(self._outcomes) > self._keep:
                    self._outcomes.popitem(last=False)
            job.done.set()

    def _execute(self, job: _Job) -> RunOutcome:
        if job.cancel.cancelled:
            self._emit(RunFinished(job.run_id, RunStatus.CANCELLED, 0.0))
            return RunOutcome(job.run_id, RunStatus.CANCELLED)
        return run_document(
            self.executor,
            self.registry,
            job.run_id,
            job.workflow,
            job.overrides,
            targets=job.targets,
            emit=self._emit,
            cancel=job.cancel,
        )

    def _emit(self, event: Event) -> None:
        self._subscribers.emit(event)


def run_document(
    executor: Executor,
    registry: Registry | None,
    run_id: int,
    workflow: dict[str, Any],
    overrides: Mapping[str, Any],
    *,
    targets: tuple[str, ...] | None,
    emit: Callable[[Event], None],
    cancel: CancelToken,
) -> RunOutcome:
    """One run of a workflow document: rebuild the graph, apply the overrides, execute. A
    file that does not load or a refused override ends the run as failed (with a
    ``RunFinished`` naming what was wrong) before any node runs. Shared by the thread
    runner and the cluster's workers, so a run means the same everywhere."""
    try:
        graph = from_dict(workflow, registry)
    except WorkflowError as exc:
        problem = Problem(None, None, str(exc))
        emit(RunFinished(run_id, RunStatus.FAILED, 0.0, str(exc), (problem,)))
        return RunOutcome(run_id, RunStatus.FAILED, problems=[problem], error=str(exc))
    problems = apply_overrides(graph, overrides)
    if problems:
        emit(RunFinished(run_id, RunStatus.FAILED, 0.0, "invalid overrides", tuple(problems)))
        return RunOutcome(run_id, RunStatus.FAILED, problems=problems, error="invalid overrides")
    return executor.run(graph, targets=targets, run_id=run_id, emit=emit, cancel=cancel)
