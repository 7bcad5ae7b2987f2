"""Resizing a node by its bottom-right grip: one drag, one undo step.

The grip is the corner square :data:`GRIP` wide. Dragging it sets the node's width (at
least :data:`style.NODE_MIN_WIDTH`) and height (never less than its content needs) live;
the release stores both as the node's ``size`` through the document (one ``Resize``
undo step, saved with the file). The extra height below the content is where the node's
preview or result image is fitted.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QPointF

from desktop.canvas import style
from desktop.document import Document

GRIP = 12.0
"""Side of the corner square that resizes a node (scene units)."""


class Resizable(Protocol):
    """What the resize gesture needs of a node item."""

    node_id: str
    width: float
    height: float
    collapsed: bool

    def content_height(self, width: float) -> float:
        """The height the node's ports, params and a glimpse of its image need at ``width``."""
        ...

    def resize_to(self, width: float, height: float | None) -> None:
        """Lay the node out at that size (height None: what the content needs)."""
        ...


class NodeResizer:
    """The resize gesture of one node item."""

    def __init__(self, node: Resizable, document: Document) -> None:
        self.node = node
        self.document = document
        self.active = False
        self._start: tuple[float, float] = (0.0, 0.0)
        self._offset: tuple[float, float] = (0.0, 0.0)

    def in_grip(self, pos: QPointF) -> bool:
        """Whether ``pos`` (node coordinates) is on the grip."""
        node = self.node
        return not node.collapsed and pos.x() >= node.width - GRIP and pos.y() >= node.height - GRIP

    def press(self, pos: QPointF) -> None:
        """Start at ``pos`` (node coordinates, on the grip): the corner keeps its offset
        from the pointer, so the node does not jump."""
        self.active = True
        self._start = (self.node.width, self.node.height)
        self._offset = (self.node.width - pos.x(), self.node.height - pos.y())

    def move(self, pos: QPointF) -> None:
        width = max(style.NODE_MIN_WIDTH, round(pos.x() + self._offset[0]))
        height = max(self.node.content_height(width), round(pos.y() + self._offset[1]))
        self.node.resize_to(width, height)

    def release(self) -> None:
        """Store the new size (one undo step); nothing when the size did not change."""
        self.active = False
        size = (float(self.node.width), float(self.node.height))
        if size != self._start:
            self.document.set_node_attr([self.node.node_id], "size", size, "Resize")
