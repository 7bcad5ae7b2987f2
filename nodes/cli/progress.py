"""Progress of ``daguerre run`` on stderr: a live bar on a terminal, one line per node in a
log. It is a :class:`~nodes.runner.Runner` subscriber, called on the worker thread.

Titles, ids and messages come from the workflow file (or quote it), so each is printed
through :func:`~nodes.cli.common.printable`."""

from __future__ import annotations

import os
import threading
import time
from typing import TextIO

from nodes.cli.common import printable
from nodes.events import (
    Event,
    NodeFailed,
    NodeFinished,
    NodeProgress,
    NodeStarted,
    RunFinished,
    RunStarted,
)
from nodes.graph import Graph


class Progress:
    """Prints per-node progress to a terminal (a live bar) or a log (one line per node)."""

    def __init__(self, graph: Graph, stream: TextIO) -> None:
        self.graph = graph
        self.stream = stream
        self.live = stream.isatty() and os.environ.get("TERM") != "dumb"
        self.lock = threading.Lock()
        self.last_draw = 0.0

    def __call__(self, event: Event) -> None:
        with self.lock:
            self._handle(event)

    def _title(self, node_id: str) -> str:
        try:
            return printable(f"{self.graph.display_title(node_id)} ({node_id})")
        except Exception:
            return printable(node_id)

    def _handle(self, event: Event) -> None:
        out = self.stream
        if isinstance(event, RunStarted):
            label = f"run {event.run_id}: {len(event.plan)} nodes"
            print(label, file=out)
        elif isinstance(event, NodeStarted) and self.live:
            out.write(f"\r\x1b[2K  … {self._title(event.node_id)}")
            out.flush()
        elif isinstance(event, NodeProgress) and self.live:
            now = time.monotonic()
            if now - self.last_draw < 0.05 and event.step < event.total:
                return
            self.last_draw = now
            width = 24
            filled = int(width * event.step / max(event.total, 1))
            bar = "█" * filled + "░" * (width - filled)
            out.write(f"\r\x1b[2K  … {self._title(event.node_id)} {bar} {event.step}/{event.total}")
            out.flush()
        elif isinstance(event, NodeFinished):
            state = "cached" if event.cached else f"{event.seconds:.2f}s"
            prefix = "\r\x1b[2K" if self.live else ""
            out.write(f"{prefix}  ✓ {self._title(event.node_id)} {state}\n")
        elif isinstance(event, NodeFailed):
            prefix = "\r\x1b[2K" if self.live else ""
            where = printable(f".{event.field}") if event.field else ""
            message = printable(event.message)
            out.write(f"{prefix}  ✗ {self._title(event.node_id)}{where}: {message}\n")
        elif isinstance(event, RunFinished):
            for problem in event.problems:
                print(f"  {printable(problem)}", file=out)
            tail = f": {printable(event.error)}" if event.error and not event.problems else ""
            print(
                f"run {event.run_id} {event.status.value} in {event.seconds:.2f}s{tail}", file=out
            )
        out.flush()
