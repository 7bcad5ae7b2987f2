"""The one bridge between the engine and the GUI.

It owns the engine's runner — the local :class:`~nodes.runner.Runner` (a worker thread), or
with the ``cluster`` setting a Ray cluster's (:mod:`nodes.cluster`, one actor per GPU) —
and re-emits its event records as Qt signals. It depends on the runner protocol
(:class:`~nodes.run_protocol.RunnerProtocol`), never on the class. The signals are emitted
on the runner's thread; Qt queues them to receivers living in the GUI thread, so slots run
there and the GUI never waits for the engine. Previews arrive as ``numpy.uint8`` H×W×3
arrays inside the events.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QObject, Signal

from nodes.context import Environment
from nodes.events import (
    Event,
    NodeFailed,
    NodeFinished,
    NodeProgress,
    NodeResult,
    NodeStarted,
    RunFinished,
    RunQueued,
    RunStarted,
)
from nodes.executor import Executor
from nodes.registry import Registry
from nodes.run_protocol import RunnerProtocol, is_local, open_runner
from nodes.run_spec import EnvironmentSpec
from nodes.runner import Runner

log = logging.getLogger("daguerre.bridge")


class EngineBridge(QObject):
    """Submit runs, cancel them, and hear about them as Qt signals (one per event type)."""

    runQueued = Signal(object)
    runStarted = Signal(object)
    nodeStarted = Signal(object)
    nodeProgress = Signal(object)
    nodeResult = Signal(object)
    nodeFinished = Signal(object)
    nodeFailed = Signal(object)
    runFinished = Signal(object)

    def __init__(
        self,
        registry: Registry,
        env: Environment,
        parent: QObject | None = None,
        *,
        cluster: str = "local",
        workers: int | None = None,
    ) -> None:
        super().__init__(parent)
        self.env = env
        self.cluster_error: str | None = None
        """Why the cluster setting could not be used (the local runner runs instead)."""
        self.runner: RunnerProtocol = self._open(registry, cluster, workers)
        self._unsubscribe = self.runner.subscribe(self._forward)
        self._signals = {
            RunQueued: self.runQueued,
            RunStarted: self.runStarted,
            NodeStarted: self.nodeStarted,
            NodeProgress: self.nodeProgress,
            NodeResult: self.nodeResult,
            NodeFinished: self.nodeFinished,
            NodeFailed: self.nodeFailed,
            RunFinished: self.runFinished,
        }

    def _open(self, registry: Registry, cluster: str, workers: int | None) -> RunnerProtocol:
        """The cluster's runner, or the local one (also when the cluster cannot be used:
        Ray missing or the address unreachable; ``cluster_error`` says why)."""
        if not is_local(cluster):
            try:
                return open_runner(cluster, EnvironmentSpec.of(self.env), registry, workers=workers)
            except Exception as exc:  # Ray's connection errors are of many kinds
                self.cluster_error = f"cluster {cluster} unavailable, running locally: {exc}"
                log.warning("%s", self.cluster_error)
        return Runner(Executor(env=self.env), registry=registry, thread_init=_init_worker_thread)

    def submit(
        self,
        workflow: dict[str, Any],
        overrides: dict[str, Any] | None = None,
        label: str = "",
        targets: Iterable[str] | None = None,
    ) -> int:
        """Queue a run of a workflow document as it is now; returns the run id. With
        ``targets`` only those nodes and their upstream run ("run up to here")."""
        return self.runner.submit(workflow, overrides, label=label, targets=targets)

    def cancel(self, run_id: int | None = None) -> bool:
        return self.runner.cancel(run_id)

    def clear_queue(self) -> list[int]:
        return self.runner.clear_queue()

    @property
    def busy(self) -> bool:
        return self.runner.busy

    def warm_up(self) -> None:
        """Import the engine's model libraries in the background (see nodes.runtime)."""
        import threading

        from nodes.runtime import warm_up

        threading.Thread(target=warm_up, name="daguerre-warm-up", daemon=True).start()

    def shutdown(self) -> None:
        self._unsubscribe()
        self.runner.shutdown(timeout=5.0)

    def _forward(self, event: Event) -> None:
        signal = self._signals.get(type(event))
        if signal is not None:
            signal.emit(event)


def _init_worker_thread() -> None:
    from nodes.runtime import init_worker_thread

    init_worker_thread()
