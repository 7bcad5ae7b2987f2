"""Small pieces the panels share: time formatting, a list that says when it is empty, and
walking a tree's rows."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget


def top_level_items(tree: QTreeWidget) -> list[QTreeWidgetItem]:
    """The tree's top-level rows, in order (Qt's index accessors may answer None)."""
    rows = (tree.topLevelItem(i) for i in range(tree.topLevelItemCount()))
    return [row for row in rows if row is not None]


def child_items(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    """The direct children of a row, in order."""
    rows = (item.child(i) for i in range(item.childCount()))
    return [row for row in rows if row is not None]


def format_seconds(seconds: float | None) -> str:
    """``0.42 s``, ``12.3 s``, ``2:05`` — short and steady for timings and ETAs."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}:{rest:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{rest:02d}"


def format_eta(seconds: float) -> str:
    """Whole seconds under a minute (an ETA is a guess: no decimals), else m:ss."""
    if seconds < 59.5:
        return f"{max(round(seconds), 1)} s"
    return format_seconds(seconds)


class PlaceholderTree(QTreeWidget):
    """A tree that draws a short hint in its middle while it has no rows."""

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._placeholder = placeholder

    def placeholder(self) -> str:
        return self._placeholder

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.viewport().update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._placeholder or any(not row.isHidden() for row in top_level_items(self)):
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().placeholderText().color())
        rect = self.viewport().rect().adjusted(12, 12, -12, -12)
        painter.drawText(
            rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder
        )
