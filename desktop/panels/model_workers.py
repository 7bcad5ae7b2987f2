"""The Models panel's work off the GUI thread: scanning the models folders and hashing.

:class:`ModelScanner` lists and describes the models (:func:`nodes.catalog.listing.scan`
reads a header per new file) on a thread of its own, so a folder on a slow disk never
holds up the window; a newer scan supersedes an older one still running.

:class:`ModelHasher` computes the SHA-256 digests not known yet, one file at a time, on
one background thread (a 7 GB checkpoint takes seconds and hashing two files at once only
makes the disk seek). hashlib releases the GIL while it digests a chunk, so the GUI thread
keeps running (``benchmarks/hash_stall.py`` measures the stall). Digests land in the
engine's cache under the Daguerre home (keyed by path, size and mtime), so each file is
hashed once. :meth:`ModelHasher.shutdown` stops the file being hashed between two chunks.

Results cross to the GUI thread through queued signals of a relay object that lives
there, as :mod:`desktop.panels.thumbnails` does.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from nodes.catalog.listing import HashCancelled, ModelEntry, hash_entry, scan


class _Relay(QObject):
    scanned = Signal(int, object)
    """(scan number, list of entries)"""
    hashed = Signal(object)
    """The entry with its digest."""
    failed = Signal(object, str)
    """(entry, message)"""
    idle = Signal()


class _Scan(QRunnable):
    def __init__(self, number: int, dirs: list[Path], relay: _Relay) -> None:
        super().__init__()
        self.number, self.dirs, self.relay = number, dirs, relay

    def run(self) -> None:
        self.relay.scanned.emit(self.number, scan(self.dirs))


class ModelScanner(QObject):
    """Scans the models folders off the GUI thread; :attr:`scanned` brings the entries."""

    scanned = Signal(list)

    def __init__(self, model_dirs: Callable[[], list[Path]], parent: QObject | None = None):
        super().__init__(parent)
        self.model_dirs = model_dirs
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._relay = _Relay()
        self._relay.scanned.connect(self._done)
        self._number = 0

    def start(self) -> None:
        self._number += 1
        self.pool.start(_Scan(self._number, list(self.model_dirs()), self._relay))

    def _done(self, number: int, entries: list[ModelEntry]) -> None:
        if number == self._number:  # an older scan's answer is stale
            self.scanned.emit(entries)

    def wait(self, msecs: int = 10_000) -> bool:
        return self.pool.waitForDone(msecs)


class _HashQueue(QRunnable):
    """Hashes the queued entries one after another until the queue is empty."""

    def __init__(self, hasher: ModelHasher) -> None:
        super().__init__()
        self.hasher = hasher

    def run(self) -> None:
        hasher, relay = self.hasher, self.hasher.relay
        while True:
            with hasher.lock:  # ends "running" in the same step that finds nothing to do,
                if hasher.cancel.is_set() or not hasher.queue:  # so request() restarts us
                    hasher.running = False
                    break
                entry = hasher.queue.popleft()
            try:
                relay.hashed.emit(hash_entry(entry, hasher.cancel))
            except HashCancelled:
                continue  # the next turn sees the cancel and stops
            except Exception as exc:  # an unreadable file: say so on its row
                relay.failed.emit(entry, str(exc))
        relay.idle.emit()


class ModelHasher(QObject):
    """Hashes models in the background; :attr:`hashed` brings each entry with its digest."""

    hashed = Signal(object)
    failed = Signal(object, str)
    idle = Signal()
    """The queue ran dry (or the hasher was shut down)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.relay = _Relay()
        self.relay.hashed.connect(self.hashed)
        self.relay.failed.connect(self.failed)
        self.relay.idle.connect(self.idle)
        self.cancel = threading.Event()
        self.lock = threading.Lock()
        self.queue: deque[ModelEntry] = deque()
        self.running = False

    def request(self, entries: list[ModelEntry]) -> None:
        """Queue the entries without a digest (each path once) and start if idle."""
        with self.lock:
            queued = {e.path for e in self.queue}
            for entry in entries:
                if entry.sha256 is None and entry.path not in queued:
                    self.queue.append(entry)
                    queued.add(entry.path)
            if not self.queue or self.running or self.cancel.is_set():
                return
            self.running = True
        self.pool.start(_HashQueue(self))

    def pending(self) -> int:
        with self.lock:
            return len(self.queue) + (1 if self.running else 0)

    def shutdown(self, msecs: int = 10_000) -> bool:
        """Stop hashing (the file in progress stops between two chunks) and wait."""
        self.cancel.set()
        with self.lock:
            self.queue.clear()
        return self.pool.waitForDone(msecs)


__all__ = ["ModelHasher", "ModelScanner"]
