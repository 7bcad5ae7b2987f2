"""The one bridge between the engine and the GUI.

It owns the engine's :class:`~nodes.runner.Runner` (a worker thread) and re-emits its
event records as Qt signals. The signals are emitted on the worker thread; Qt queues them
to receivers living in the GUI thread, so slots run there and the GUI never waits for the
engine. Previews arrive as ``numpy.uint8`` H×W×3 arrays inside the events.
"""

from __future__ import annotations

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
from nodes.runner import Runner


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

    def __init__(self, registry: Registry, env: Environment, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.env = env
        self.runner = Runner(Executor(env=env), registry=registry, thread_init=_init_worker_thread)
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
