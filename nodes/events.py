"""Engine events: small typed records streamed from the executor to whoever listens.

They are plain data (numbers, strings, numpy arrays for previews) so they can cross a
thread — or later a process or a network — unchanged. Order within one run:
``RunStarted``, then per planned node ``NodeStarted``, any ``NodeProgress``/``NodeResult``,
and ``NodeFinished`` or ``NodeFailed``; last ``RunFinished``. Cached nodes get
``NodeStarted`` and ``NodeFinished(cached=True)`` (and their remembered ``NodeResult``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


class RunStatus(StrEnum):
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RunQueued:
    run_id: int
    label: str = ""


@dataclass(frozen=True, slots=True)
class RunStarted:
    run_id: int
    plan: tuple[str, ...]
    """Node ids in execution order."""


@dataclass(frozen=True, slots=True)
class NodeStarted:
    run_id: int
    node_id: str


@dataclass(frozen=True, slots=True)
class NodeProgress:
    run_id: int
    node_id: str
    step: int
    total: int
    preview: np.ndarray | None = None
    """uint8 HxWx3, when the node has something to show."""


@dataclass(frozen=True, slots=True)
class NodeResult:
    """Something a node shows or writes: files it saved, images to display, values."""

    run_id: int
    node_id: str
    files: tuple[str, ...] = ()
    images: tuple[Any, ...] = ()
    text: str | None = None


@dataclass(frozen=True, slots=True)
class NodeFinished:
    run_id: int
    node_id: str
    cached: bool
    seconds: float


@dataclass(frozen=True, slots=True)
class NodeFailed:
    run_id: int
    node_id: str
    field: str | None
    message: str
    exception_type: str


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation problem: which node, which field (input or param), what is wrong."""

    node_id: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = ".".join(part for part in (self.node_id, self.field) if part)
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True, slots=True)
class RunFinished:
    run_id: int
    status: RunStatus
    seconds: float
    error: str | None = None
    problems: tuple[Problem, ...] = field(default=())
    """Validation problems when the run was refused before it started."""


Event = (
    RunQueued
    | RunStarted
    | NodeStarted
    | NodeProgress
    | NodeResult
    | NodeFinished
    | NodeFailed
    | RunFinished
)


class Subscribers:
    """The listeners of a runner's events (both runners share it): :meth:`subscribe`
    returns the unsubscribe; :meth:`emit` calls each listener, and one that raises is
    logged, never allowed to break the run. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[Event], None]] = []

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def emit(self, event: Event) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(event)
            except Exception:
                logging.getLogger("daguerre.runner").exception(
                    "event subscriber failed on %r", event
                )
