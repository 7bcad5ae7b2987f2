"""What the window does with the Models panel: double-click a model to use it, and keep
the panel's wrong-family marks in step with the graph's checkpoint.

Both go through the document (one undo step per use), so the panel itself never edits the
graph; the canvas handles drops on its own (:mod:`desktop.mime`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF

from nodes.catalog.listing import LOADERS, graph_family
from nodes.graph import GraphError
from nodes.paths import FileResolver

if TYPE_CHECKING:
    from desktop.canvas.view import CanvasView
    from desktop.document import Document
    from desktop.panels.models import ModelsPanel


def use_model(view: CanvasView, kind: str, name: str) -> str | None:
    """Set the selected loader of ``kind`` to the model ``name`` (one undo step), or add
    a loader with it in the middle of the view when none is selected. Returns the loader's
    node id, or None when the kind has no loader (embeddings) or the file param is linked."""
    if kind not in LOADERS:
        return None
    type_id, param = LOADERS[kind]
    document = view.document
    graph = document.graph
    loaders = [n for n in view.selected_nodes() if n in graph.nodes]
    loaders = [n for n in loaders if graph.nodes[n].type == type_id]
    if loaders:
        try:
            document.set_param(loaders[0], param, name, text=f"Use {name}")
        except GraphError:
            return None
        return loaders[0]
    cls = document.registry.get(type_id)
    if cls is None:
        return None
    center = view.mapToScene(view.viewport().rect().center())
    wanted = QPointF(center.x() - 120, center.y() - 40)
    node_id = document.add_node(type_id, view.free_spot_for(cls, wanted), {param: name})
    view.select_nodes([node_id])
    return node_id


def follow_graph_family(
    panel: ModelsPanel, document: Document, resolver: Callable[[], FileResolver]
) -> Callable[[], None]:
    """Mark the panel's models that do not fit the graph's checkpoint, again after every
    edit and load (the checkpoint's header is read once per file version). Returns the
    update function."""

    def update() -> None:
        panel.set_graph_family(graph_family(document.graph, resolver()))

    document.undo_stack.indexChanged.connect(lambda _i: update())
    document.reloaded.connect(update)
    panel.scanned.connect(update)
    update()
    return update


__all__ = ["follow_graph_family", "use_model"]
