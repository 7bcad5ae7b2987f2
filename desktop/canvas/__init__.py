"""The node canvas: a QGraphicsView editor over the document's graph.

``CanvasView`` is the widget the main window embeds; everything else here serves it:
``scene`` mirrors the graph as items, ``node_item``/``ports``/``links``/``groups`` are those
items, ``params`` the inline editors, ``search`` the node search popup, ``minimap`` the
overview and ``style`` the colors and sizes.
"""

from __future__ import annotations

from desktop.canvas.view import NODE_TYPE_MIME, CanvasView

__all__ = ["NODE_TYPE_MIME", "CanvasView"]
