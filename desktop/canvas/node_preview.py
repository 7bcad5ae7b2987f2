"""The picture a node shows under its params: the live preview while it runs, then its
last result.

A picture never grows its node over a neighbour. A node the user sized fits the picture
into the room below its content; a node of no stored size grows for the picture only
into the free space under it, found once when its first picture arrives
(:func:`room_below`) and kept while it shows one, so a neighbour moved there later is
not pushed either. The layout fits the picture into that room, aspect kept
(:func:`desktop.canvas.node_layout.fit_preview`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGraphicsItem

from desktop.canvas import style
from desktop.canvas.ports import PortOwner
from desktop.imaging import to_pixmap

PREVIEW_GAP = 20.0
"""Space a node's picture leaves above the node below it (scene units)."""


def room_below(item: QGraphicsItem) -> float:
    """How tall a picture may grow below ``item`` before it would come within
    :data:`PREVIEW_GAP` of the nearest node under it (no limit when there is none)."""
    scene = item.scene()
    if scene is None:
        return float("inf")
    mine = item.sceneBoundingRect()
    below = QRectF(mine.left(), mine.bottom(), mine.width(), 100_000)
    tops = [
        other.sceneBoundingRect().top()
        for other in scene.items(below)
        if isinstance(other, PortOwner) and other is not item and other.parentItem() is None
    ]
    tops = [top for top in tops if top >= mine.bottom() - 1]
    if not tops:
        return float("inf")
    # the picture has the node's bottom margin under it
    return max(0.0, min(tops) - mine.bottom() - PREVIEW_GAP - style.PAD)


class NodePreview:
    """One node's picture, the room it may take and its scaled copy."""

    def __init__(self) -> None:
        self.pixmap: QPixmap | None = None
        self.room: float | None = None
        """Height the picture may take below a node of no stored size (None: no limit,
        or not showing one)."""
        self._scaled: QPixmap | None = None

    def set(self, image: np.ndarray | None, owner: QGraphicsItem, sized: bool) -> bool:
        """Show ``image`` (uint8 H×W×3; None removes it). True when the node must be laid
        out again (a picture came, went or changed size)."""
        old = self.pixmap
        if old is None and image is None:
            return False
        self.pixmap = to_pixmap(image) if image is not None else None
        self._scaled = None
        if self.pixmap is None:
            self.room = None
        elif old is None and not sized:
            self.room = room_below(owner)
        return old is None or self.pixmap is None or old.size() != self.pixmap.size()

    def invalidate(self) -> None:
        self._scaled = None

    def scaled(self, size: QSize) -> QPixmap | None:
        """The picture scaled to ``size`` (kept until either changes)."""
        if self.pixmap is None:
            return None
        if self._scaled is None or self._scaled.size() != size:
            self._scaled = self.pixmap.scaled(
                size,
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        return self._scaled
