"""Download progress as plain values: bytes, speed and ETA (:class:`DownloadProgress`), and
the :class:`Meter` that makes them from the chunks a download writes."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

PROGRESS_INTERVAL = 0.1
"""Seconds between progress events (the last one is always sent)."""
SPEED_WINDOW = 5.0
"""Seconds of transfer the speed (and so the ETA) is averaged over."""


@dataclass(frozen=True)
class DownloadProgress:
    """Where a download stands (all its files together)."""

    file: str
    """The file being fetched (its name in the destination)."""
    index: int
    """Which file (0-based) of :attr:`count`."""
    count: int
    done: int
    """Bytes on disk so far, resumed ones included."""
    total: int | None
    speed: float
    """Bytes per second over the last few seconds (0 until measured)."""
    eta: float | None
    """Seconds left at that speed, None while unknown."""

    @property
    def fraction(self) -> float | None:
        return None if not self.total else min(self.done / self.total, 1.0)


ProgressCallback = Callable[[DownloadProgress], None]


class Meter:
    """Turns chunks into :class:`DownloadProgress` events, at most every
    :data:`PROGRESS_INTERVAL` seconds, with the speed over :data:`SPEED_WINDOW`."""

    def __init__(self, total: int | None, count: int, callback: ProgressCallback | None) -> None:
        self.total = total
        self.count = count
        self.callback = callback
        self.done = 0
        self.file_start = 0
        self.file = ""
        self.index = 0
        self.samples: deque[tuple[float, int]] = deque()
        self.last = 0.0

    def start_file(self, name: str, index: int, resumed: int) -> None:
        self.file, self.index = name, index
        self.done += resumed
        self.file_start = self.done - resumed
        self.samples.clear()
        self._emit(force=True)

    def add_done(self, size: int) -> None:
        self.done += size

    def add(self, size: int) -> None:
        self.done += size
        self._emit()

    def rewind(self) -> None:
        self.done = self.file_start
        self.samples.clear()

    def finish(self) -> None:
        self._emit(force=True)

    def _emit(self, force: bool = False) -> None:
        now = time.monotonic()
        self.samples.append((now, self.done))
        while len(self.samples) > 2 and now - self.samples[0][0] > SPEED_WINDOW:
            self.samples.popleft()
        if self.callback is None or (not force and now - self.last < PROGRESS_INTERVAL):
            return
        self.last = now
        first_time, first_done = self.samples[0]
        elapsed = now - first_time
        speed = (self.done - first_done) / elapsed if elapsed > 0 else 0.0
        eta = None
        if self.total is not None and speed > 0:
            eta = max(self.total - self.done, 0) / speed
        self.callback(
            DownloadProgress(self.file, self.index, self.count, self.done, self.total, speed, eta)
        )
