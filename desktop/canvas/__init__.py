"""The node canvas: a QGraphicsView editor over the document's graph.

:class:`~desktop.canvas.view.CanvasView` is the widget the main window embeds; everything
else here serves it. ``scene`` mirrors the graph as items: ``node_item`` (laid out by
``node_layout``, painted by ``node_paint``), ``reroute``, ``ports``, ``links`` and
``groups``; ``host`` is what those items need of the scene. ``navigation`` moves the view,
``params`` and ``widgets`` are the inline editors, ``search`` the node search popup,
``minimap`` the overview and ``style`` the colors and sizes.

Import the modules themselves (``from desktop.canvas.view import CanvasView``): this
package file imports nothing, so no module's imports run through it.
"""
