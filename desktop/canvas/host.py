"""What the items on the canvas need of their scene, as a protocol the scene implements.

Node, reroute and group items are built by :class:`~desktop.canvas.scene.CanvasScene` and
call back into it (the document to edit, snapping, "my geometry changed"...). They see the
scene as a :class:`CanvasHost`, declared here below both, so that the item modules never
import the scene module that imports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QGraphicsItem, QMenu

from desktop.canvas.ports import PortDrag
from desktop.document import Document
from nodes.ports import PortType
from nodes.settings import Settings


class CanvasHost(Protocol):
    """The scene, as its node and group items use it."""

    @property
    def document(self) -> Document:
        """The document every edit goes through (undo commands)."""
        ...

    @property
    def settings(self) -> Settings:
        """The app's settings (file params list the models folders)."""
        ...

    @property
    def snap(self) -> bool:
        """Whether dragged items snap to the grid."""
        ...

    @property
    def dragging(self) -> bool:
        """True while the mouse drags nodes (snapping applies then)."""
        ...

    @property
    def nodes(self) -> Mapping[str, QGraphicsItem]:
        """The node items by node id (a group moves the nodes inside it)."""
        ...

    @property
    def link_drag(self) -> PortDrag:
        """The drag-to-connect interaction ports hand the mouse to."""
        ...

    def link_type_into(self, node_id: str, input: str) -> PortType | None:
        """The type of the link into ``node_id.input``, None when nothing is linked."""
        ...

    def node_geometry_changed(self, item: QGraphicsItem) -> None:
        """A node moved or changed shape: its links follow."""
        ...

    def show_message(self, text: str, pos: QPointF) -> None:
        """A short message for the user (a refused value), near a scene position."""
        ...

    def edit_mask(self, node_id: str) -> None:
        """Open the mask painter on a Load Image node (the window does)."""
        ...

    def raise_item(self, item: QGraphicsItem) -> None:
        """Put ``item`` above every other node."""
        ...

    def begin_move(self) -> None:
        """The mouse starts dragging the selected nodes."""
        ...

    def end_move(self) -> None:
        """The drag ended: commit the moved positions (one undo step)."""
        ...

    def node_menu(self, node_id: str) -> QMenu:
        """The right-click menu of a node (:mod:`desktop.canvas.context_menus`)."""
        ...

    def clearSelection(self) -> None: ...

    def selected_node_ids(self) -> list[str]: ...
