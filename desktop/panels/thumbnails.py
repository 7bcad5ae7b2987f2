"""Thumbnails made off the GUI thread.

:class:`ThumbnailLoader` reads each image with :class:`QImageReader` at a scaled size (the
reader decodes straight to the small size for formats that can, so a 2048² PNG never
becomes a full-size image in memory) on a :class:`QThreadPool` of its own, and hands back
a :class:`QImage` through a queued signal, so the slot runs on the GUI thread, where the
image becomes a pixmap. A request names its file with its modification time, so a file
that changed is read again and an answer for an older version is dropped; answers are
kept in a small cache so scrolling back costs nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageReader

CACHE_SIZE = 2000
"""Thumbnails kept in memory (a 128 px one is about 64 KB)."""


class _Relay(QObject):
    """Carries a finished thumbnail from a pool thread to the GUI thread."""

    done = Signal(str, float, QImage)


class _ReadThumbnail(QRunnable):
    def __init__(self, path: str, stamp: float, size: int, relay: _Relay) -> None:
        super().__init__()
        self.path, self.stamp, self.size, self.relay = path, stamp, size, relay

    def run(self) -> None:
        reader = QImageReader(self.path)
        reader.setAutoTransform(True)
        original = reader.size()
        if original.isValid() and original.width() > 0 and original.height() > 0:
            keep = Qt.AspectRatioMode.KeepAspectRatio
            reader.setScaledSize(original.scaled(self.size, self.size, keep))
        image = reader.read()  # a null image when unreadable: shown as a blank tile
        self.relay.done.emit(self.path, self.stamp, image)


class ThumbnailLoader(QObject):
    """Asks for thumbnails and announces each one as it is ready (on the GUI thread)."""

    ready = Signal(str, QImage)
    """(file path, thumbnail) — a null QImage when the file could not be read."""

    def __init__(self, size: int = 128, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.size = size
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._relay = _Relay()
        self._relay.done.connect(self._done)
        self._cache: OrderedDict[tuple[str, float], QImage] = OrderedDict()
        self._pending: dict[str, float] = {}

    def request(self, path: Path) -> QImage | None:
        """The thumbnail at once if it is cached; else None, and :attr:`ready` follows."""
        key = str(path)
        try:
            stamp = path.stat().st_mtime
        except OSError:
            return None
        cached = self._cache.get((key, stamp))
        if cached is not None:
            self._cache.move_to_end((key, stamp))
            return cached
        if self._pending.get(key) != stamp:
            self._pending[key] = stamp
            self.pool.start(_ReadThumbnail(key, stamp, self.size, self._relay))
        return None

    def wait(self, msecs: int = 10_000) -> bool:
        """Wait for the reads in flight (tests, shutdown)."""
        return self.pool.waitForDone(msecs)

    def _done(self, path: str, stamp: float, image: QImage) -> None:
        if self._pending.get(path) != stamp:
            return  # an older version of the file, or a request dropped
        del self._pending[path]
        self._cache[(path, stamp)] = image
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        self.ready.emit(path, image)


__all__ = ["ThumbnailLoader"]
