"""Progress of a ``daguerre run`` whose jobs run at once (on a cluster): one line per job
as it starts and ends, and an overall count of the batch (a live bar on a terminal, redrawn
under the job lines). A runner subscriber, called on the runner's dispatcher thread.

Labels and messages come from the workflow file or the command line (sweep values), so
each is printed through :func:`~nodes.cli.common.printable`."""

from __future__ import annotations

import os
import threading
from typing import TextIO

from nodes.cli.common import printable
from nodes.events import Event, NodeFailed, RunFinished, RunQueued, RunStarted, RunStatus


class BatchProgress:
    """Per-job lines plus ``[done/total]`` for a batch of ``total`` jobs."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.live = stream.isatty() and os.environ.get("TERM") != "dumb"
        self.lock = threading.Lock()
        self.labels: dict[int, str] = {}
        self.finished: dict[RunStatus, int] = dict.fromkeys(RunStatus, 0)

    def __call__(self, event: Event) -> None:
        with self.lock:
            self._handle(event)

    def bar(self) -> str:
        """``[████░░░░] 3/8 done, 1 failed``."""
        done = sum(self.finished.values())
        width = 24
        filled = int(width * done / max(self.total, 1))
        text = f"[{'█' * filled}{'░' * (width - filled)}] {done}/{self.total}"
        extra = [
            f"{n} {status.value}" for status, n in self.finished.items() if n and status != "done"
        ]
        return text + (f" ({', '.join(extra)})" if extra else "")

    def _line(self, text: str) -> None:
        prefix = "\r\x1b[2K" if self.live else ""
        self.stream.write(f"{prefix}{text}\n")
        if self.live:
            self.stream.write(self.bar())
        self.stream.flush()

    def _name(self, run_id: int) -> str:
        label = self.labels.get(run_id)
        return f"job {run_id}" + (f" ({printable(label)})" if label else "")

    def _handle(self, event: Event) -> None:
        if isinstance(event, RunQueued):
            self.labels[event.run_id] = event.label
        elif isinstance(event, RunStarted):
            self._line(f"  … {self._name(event.run_id)} started: {len(event.plan)} nodes")
        elif isinstance(event, NodeFailed):
            where = printable(f".{event.field}") if event.field else ""
            message = printable(event.message)
            self._line(
                f"  ✗ {self._name(event.run_id)}: {printable(event.node_id)}{where}: {message}"
            )
        elif isinstance(event, RunFinished):
            self.finished[event.status] += 1
            for problem in event.problems:
                self._line(f"  {printable(problem)}")
            tail = f": {printable(event.error)}" if event.error and not event.problems else ""
            mark = "✓" if event.status == RunStatus.DONE else "✗"
            self._line(
                f"{mark} {self._name(event.run_id)} {event.status.value} in "
                f"{event.seconds:.2f}s{tail} — {self.bar()}"
            )
