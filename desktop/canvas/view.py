"""The canvas view: selection, keyboard, drops, and the canvas's public API.

Moving around (zoom, pan, fit, the view saved with the file) is :mod:`.navigation`'s. Left
drag on empty canvas draws a rubber band; Ctrl toggles items into the selection and Shift
adds them. Tab or a double-click on empty
canvas opens the node search; a double-click on a link puts a reroute dot there. Below
:data:`style.LOD_DETAIL` zoom, nodes draw a cheap proxy and their widgets are hidden.

Shortcuts the main window owns (Ctrl+C/V/D/G/B, "." ...) call the methods here; the view
also handles Del, F2, Tab, arrows, Space and Ctrl+Shift+V (paste with the copied nodes'
input links, :mod:`.clipboard`) itself, but only while no widget inside a node is being
edited. Inside a node's field, Tab and Shift+Tab go to the node's next and previous field
(:mod:`.node_fields`). A theme switch restyles the node widgets (:func:`style.use_theme`).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QCursor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QResizeEvent,
    QShowEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsProxyWidget,
    QGraphicsView,
    QToolTip,
    QWidget,
)

from desktop.canvas import style
from desktop.canvas.clipboard import (
    clipboard_workflow,
    copy_nodes,
    missed_links_message,
    paste_with_input_links,
)
from desktop.canvas.context_menus import canvas_menu, link_menu, node_menu
from desktop.canvas.empty_hint import EmptyHint
from desktop.canvas.groups import GroupItem, frame_around
from desktop.canvas.links import LinkItem, PendingLink, compatible_port
from desktop.canvas.minimap import Minimap
from desktop.canvas.navigation import Navigation, shift_as_ctrl
from desktop.canvas.node_fields import tab_between_fields
from desktop.canvas.placement import beside, free_spot, node_size
from desktop.canvas.ports import PortItem
from desktop.canvas.primitives import add_primitive_for_socket, inherited
from desktop.canvas.scene import CanvasScene
from desktop.canvas.search import NodeSearchPopup, loose_end_preference
from desktop.canvas.view_upkeep import WidgetRealizer, restyle
from desktop.document import Document
from desktop.mime import NODE_TYPE_MIME, node_params_of, node_type_of
from desktop.run_state import RunState
from nodes.api import Node
from nodes.graph import GraphError
from nodes.settings import Settings


class CanvasView(QGraphicsView):
    """The node editor widget (see the module docstring)."""

    selectionChanged = Signal(list)
    """The selected node ids."""
    filesDropped = Signal(list, QPointF)
    """(local file paths, scene position): the window decides what to open."""
    statusMessage = Signal(str)
    """A short message for the status bar (a refused link or value)."""
    maskEditRequested = Signal(str)
    """A Load Image node's id: the window opens the mask painter on its picture."""
    runToRequested = Signal(str)
    """A node's id: run it and what feeds it ("Run up to here" in its menu)."""

    def __init__(
        self,
        document: Document,
        run_state: RunState,
        settings: Settings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.run_state = run_state
        self.settings = settings
        self.canvas_scene = CanvasScene(document, run_state, settings, self)
        self.setScene(self.canvas_scene)
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing
            | QPainter.RenderHint.TextAntialiasing
            | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._search = NodeSearchPopup(document.registry, self)
        self._search.chosen.connect(self._search_chosen)
        self._search_pos = QPointF()
        self._pending: PendingLink | None = None
        self.navigation = Navigation(self, document, self._zoom_changed)
        self.minimap = Minimap(self, self.canvas_scene)
        self.minimap.hide()  # the window's View › Minimap action (unchecked) shows it
        self.empty_hint = EmptyHint(self, document.graph)  # shown while the graph is empty
        self._last_mouse: QPoint | None = None
        self._placed = False
        self._theme = style.canvas_theme()
        self.realizer = WidgetRealizer(self, self.canvas_scene, self._realize_area)
        self.canvas_scene.selectionChanged.connect(self._selection_changed)
        self.canvas_scene.searchRequested.connect(self._link_dropped)
        self.canvas_scene.message.connect(self._show_message)
        self.canvas_scene.maskEditRequested.connect(self.maskEditRequested)
        self.canvas_scene.menus = lambda node_id: node_menu(self, node_id)
        self.canvas_scene.contentChanged.connect(self._content_changed)
        document.reloaded.connect(self._reloaded)

    # ================================================================ public API
    def selected_nodes(self) -> list[str]:
        return self.canvas_scene.selected_node_ids()

    def select_nodes(self, ids: list[str], center: bool = False) -> None:
        scene = self.canvas_scene
        scene.blockSignals(True)
        try:
            scene.clearSelection()
            for node_id in ids:
                item = scene.nodes.get(node_id)
                if item is not None:
                    item.setSelected(True)
        finally:
            scene.blockSignals(False)
        self._selection_changed()
        if center and ids:
            rect = scene.nodes_bounding_rect(ids)
            if not rect.isNull():
                self.centerOn(rect.center())

    def fit_view(self) -> None:
        """Show the whole graph (see :meth:`Navigation.fit`)."""
        self.navigation.fit(self.canvas_scene.nodes_bounding_rect())

    def open_search(
        self, scene_pos: QPointF | None = None, pending: PendingLink | None = None
    ) -> None:
        """Show the node search; the chosen type is added at ``scene_pos`` (the mouse)."""
        pos = scene_pos if scene_pos is not None else self.scene_mouse_pos()
        self._search_pos = QPointF(pos)
        self._pending = pending
        accept: Callable[[type[Node]], bool] | None = None
        prefer: Callable[[type[Node]], bool] | None = None
        hint = ""
        if pending is not None:
            prefer = loose_end_preference(pending, self.document.graph)

            def fits(cls: type[Node], p: PendingLink = pending) -> bool:
                return compatible_port(cls, p) is not None

            accept = fits
            side = "an input" if pending.is_output else "an output"
            hint = f"Nodes with {side} for {pending.port_type.value}"
        self._search.open_at(self.mapFromScene(pos), accept, hint, prefer)

    @property
    def search_popup(self) -> NodeSearchPopup:
        return self._search

    def delete_selection(self) -> None:
        scene = self.canvas_scene
        node_ids = scene.selected_node_ids()
        gone = set(node_ids)
        links = [
            link
            for link in scene.selected_links()
            if link.source not in gone and link.target not in gone
        ]
        if node_ids and links:
            stack = self.document.undo_stack
            stack.beginMacro("Delete")
            try:
                self.document.disconnect_links(links)
                self.document.remove(node_ids)
            finally:
                stack.endMacro()
        elif node_ids:
            self.document.remove(node_ids)
        elif links:
            self.document.disconnect_links(links)

    def copy_selection(self) -> dict | None:
        """The selected nodes as a workflow document, with the links feeding them noted
        for :meth:`paste_with_links` (:mod:`desktop.canvas.clipboard`)."""
        ids = self.selected_nodes()
        return copy_nodes(self.document, ids) if ids else None

    def paste(self, document: dict) -> None:
        pos = self.scene_mouse_pos()
        ids = self.document.paste(document, at=(pos.x(), pos.y()))
        self.select_nodes(ids)

    def paste_with_links(self, document: dict) -> None:
        """Paste at the mouse with the copied nodes' inputs linked again (Ctrl+Shift+V)."""
        pos = self.scene_mouse_pos()
        ids, missed = paste_with_input_links(self.document, document, (pos.x(), pos.y()))
        self.select_nodes(ids)
        if missed:
            self.statusMessage.emit(missed_links_message(missed))

    def duplicate_selection(self) -> None:
        ids = self.selected_nodes()
        if ids:
            pasted = self.document.paste(self.document.copy_nodes(ids), offset=(40.0, 40.0))
            self.select_nodes(pasted)

    def toggle_bypass_selection(self) -> None:
        ids = self.selected_nodes()
        if ids:
            graph = self.document.graph
            value = not all(graph.nodes[i].bypass for i in ids)
            self.document.set_node_attr(ids, "bypass", value, "Bypass")

    def group_selection(self) -> None:
        ids = self.selected_nodes()
        if ids:
            rect = self.canvas_scene.nodes_bounding_rect(ids)
            self.document.add_group("Group", frame_around(rect))

    def rename_selection(self) -> None:
        ids = self.selected_nodes()
        if ids:
            self.canvas_scene.nodes[ids[0]].start_rename()

    def set_snap_to_grid(self, on: bool) -> None:
        self.canvas_scene.snap = on

    def set_minimap_visible(self, on: bool) -> None:
        self.minimap.setVisible(on)
        if on:
            self.minimap.place()
            self.minimap.raise_()
            self.minimap.update()

    def center_on_node(self, node_id: str) -> None:
        item = self.canvas_scene.nodes.get(node_id)
        if item is not None:
            self.centerOn(item.sceneBoundingRect().center())
            self.minimap.schedule_update()

    def scene_mouse_pos(self) -> QPointF:
        """The mouse in scene coordinates; the view's center when it is outside."""
        pos = self.viewport().mapFromGlobal(QCursor.pos())
        if not self.viewport().rect().contains(pos):
            pos = self._last_mouse if self._last_mouse is not None else None
        if pos is None or not self.viewport().rect().contains(pos):
            pos = self.viewport().rect().center()
        return self.mapToScene(pos)

    def free_spot_for(self, cls: type[Node], wanted: QPointF) -> tuple[float, float]:
        """Where a new node of ``cls`` asked for at ``wanted`` goes: the nearest spot on
        screen that overlaps no node (:mod:`desktop.canvas.placement`)."""
        rects = [item.sceneBoundingRect() for item in self.canvas_scene.nodes.values()]
        spot = free_spot(node_size(cls), wanted, rects, self.visible_scene_rect())
        return spot.x(), spot.y()

    def add_node_placed(self, type_id: str) -> str | None:
        """Add a node from the library: right of the one selected node, else in the middle
        of the view, moved to a free spot on screen; it becomes the selection."""
        cls = self.document.registry.get(type_id)
        if cls is None:
            return None
        selected = self.selected_nodes()
        size = node_size(cls)
        if len(selected) == 1 and selected[0] in self.canvas_scene.nodes:
            wanted = beside(self.canvas_scene.nodes[selected[0]].sceneBoundingRect())
        else:
            center = self.mapToScene(self.viewport().rect().center())
            wanted = QPointF(center.x() - size[0] / 2, center.y() - size[1] / 2)
        node_id = self.document.add_node(type_id, self.free_spot_for(cls, wanted))
        self.select_nodes([node_id])
        return node_id

    def run_up_to(self, node_id: str) -> None:
        """Ask the window to run ``node_id`` and what feeds it (:attr:`runToRequested`)."""
        self.runToRequested.emit(node_id)

    def show_status(self, text: str) -> None:
        """A short message for the status bar."""
        self.statusMessage.emit(text)

    def seed_controls(self) -> dict[tuple[str, str], str]:
        """``{(node id, seed param): mode}`` for every seed param (fixed by default)."""
        return self.document.seed_controls()

    def zoom(self) -> float:
        return self.navigation.zoom()

    def visible_scene_rect(self) -> QRectF:
        return self.navigation.visible_rect()

    # ================================================================ internals
    def _selection_changed(self) -> None:
        self.selectionChanged.emit(self.selected_nodes())
        self.minimap.schedule_update()

    def _content_changed(self) -> None:
        self.minimap.schedule_update()
        self._schedule_realize()

    def _schedule_realize(self) -> None:
        self.realizer.schedule()

    def _realize_area(self) -> QRectF | None:
        """Where node widgets are to be built: the visible scene, at a zoom that shows them."""
        if self.zoom() < style.LOD_DETAIL or not self.isVisible():
            return None
        return self.visible_scene_rect()

    def _zoom_changed(self) -> None:
        self.canvas_scene.set_detail(self.zoom() >= style.LOD_DETAIL)
        self._schedule_realize()
        self.minimap.schedule_update()

    def restore_view(self) -> None:
        """The view the document was saved with, else the whole graph fitted."""
        if not self.navigation.restore():
            self.fit_view()

    def _reloaded(self) -> None:
        self._search.close_popup()
        if self.isVisible():
            self.restore_view()
        else:
            self._placed = False

    def _editing(self) -> bool:
        """Whether keys belong to a widget: a node's editor or the search field."""
        focused = QApplication.focusWidget()
        if self._search.isVisible() and focused is not None and self._search.isAncestorOf(focused):
            return True
        return isinstance(self.canvas_scene.focusItem(), QGraphicsProxyWidget)

    def _add_primitive_at(self, item: object) -> bool:
        """A double-click on a free param socket: a primitive left of the node feeds it."""
        made = (
            add_primitive_for_socket(self.document, item, self.free_spot_for)
            if isinstance(item, PortItem)
            else None
        )
        if made is not None:
            self.select_nodes([made])
        return made is not None

    def _show_message(self, text: str, scene_pos: QPointF) -> None:
        self.statusMessage.emit(text)
        QToolTip.showText(self.mapToGlobal(self.mapFromScene(scene_pos)), text, self)

    def _link_dropped(self, scene_pos: QPointF, pending: PendingLink) -> None:
        self.open_search(scene_pos, pending)

    def _search_chosen(self, type_id: str) -> None:
        pos, pending = self._search_pos, self._pending
        self._pending = None
        cls = self.document.registry.get(type_id)
        if cls is None:
            return
        x, y = pos.x(), pos.y() - style.TITLE_H
        if pending is not None and not pending.is_output:
            x -= style.NODE_WIDTH  # it feeds an input: put it to the left of the drop
        x, y = self.free_spot_for(cls, QPointF(x, y))
        if self.canvas_scene.snap:
            x, y = round(x / style.GRID) * style.GRID, round(y / style.GRID) * style.GRID
        stack = self.document.undo_stack
        stack.beginMacro(f"Add {cls.title}")
        try:
            values, modes = inherited(self.document, cls, pending)
            node_id = self.document.add_node(type_id, (x, y), values)
            for name, mode in modes.items():
                self.document.set_seed_mode(node_id, name, mode)
            port = compatible_port(cls, pending) if pending is not None else None
            if pending is not None and port is not None:
                try:
                    if pending.is_output:
                        self.document.connect_ports(pending.node_id, pending.port, node_id, port)
                    else:
                        self.document.connect_ports(node_id, port, pending.node_id, pending.port)
                except GraphError as exc:
                    self._show_message(exc.message, pos)
        finally:
            stack.endMacro()
        self.select_nodes([node_id])
        self.setFocus()

    # ================================================================ events
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._placed:
            self._placed = True
            QTimer.singleShot(0, self.restore_view)
        self.minimap.place()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.minimap.place()
        self._schedule_realize()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._theme_changed()

    def _theme_changed(self) -> None:
        """The app's theme changed (:func:`desktop.theme.apply_theme` switched the canvas
        colors first): restyle the node widgets and repaint everything."""
        if style.canvas_theme() == self._theme:
            return
        self._theme = style.canvas_theme()
        restyle(self.canvas_scene)
        self.viewport().update()
        self.minimap.schedule_update()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self.minimap.schedule_update()
        self._schedule_realize()

    def event(self, event: QEvent) -> bool:
        # While a widget in a node is edited, plain keys (Tab, Del, Esc...) are its own:
        # claim them before the window's shortcuts do.
        if (
            event.type() is QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and self._editing()
            and not event.modifiers()
            & (
                Qt.KeyboardModifier.ControlModifier
                | Qt.KeyboardModifier.AltModifier
                | Qt.KeyboardModifier.MetaModifier
            )
        ):
            event.accept()
            return True
        # Tab in a node's field goes to the node's next field (Shift+Tab: back), around
        if event.type() is QEvent.Type.KeyPress and tab_between_fields(self.canvas_scene, event):
            return True
        # Tab would move keyboard focus; on the canvas it opens the node search
        if (
            event.type() is QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Tab
            and not self._editing()
        ):
            self.open_search()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._editing():
            super().keyPressEvent(event)
            return
        key = event.key()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selection()
        elif key == Qt.Key.Key_F2:
            self.rename_selection()
        elif self.navigation.key_press(event):
            pass  # arrows pan, Space arms panning
        elif key == Qt.Key.Key_Period:
            self.fit_view()
        elif key == Qt.Key.Key_V and event.modifiers() == (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        ):
            copied = clipboard_workflow()
            if copied is not None:
                self.paste_with_links(copied)
        elif key == Qt.Key.Key_Escape and self.canvas_scene.link_drag.active:
            self.canvas_scene.link_drag.cancel()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        self.navigation.key_release(event)
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._search.isVisible():
            self._search.close_popup()
        if not self.navigation.mouse_press(event):
            super().mousePressEvent(shift_as_ctrl(event))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._last_mouse = event.position().toPoint()
        if not self.navigation.mouse_move(event):
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if not self.navigation.mouse_release(event):
            super().mouseReleaseEvent(shift_as_ctrl(event))

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        item = self.itemAt(event.position().toPoint())
        scene_pos = self.mapToScene(event.position().toPoint())
        on_group_body = isinstance(item, GroupItem) and (
            item.mapFromScene(scene_pos).y() > style.GROUP_TITLE_H
        )
        if event.button() is Qt.MouseButton.LeftButton and (item is None or on_group_body):
            self.open_search(scene_pos)
            event.accept()
            return
        if event.button() is Qt.MouseButton.LeftButton and self._add_primitive_at(item):
            event.accept()  # a param socket: a primitive feeding it (ComfyUI's gesture)
            return
        if event.button() is Qt.MouseButton.LeftButton and isinstance(item, LinkItem):
            self.canvas_scene.clearSelection()
            try:
                self.canvas_scene.insert_reroute(item.link, scene_pos)
            except GraphError as exc:
                self._show_message(exc.message, scene_pos)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        item = self.itemAt(event.position().toPoint())
        if isinstance(item, QGraphicsProxyWidget) and item.hasFocus():
            super().wheelEvent(event)  # a focused widget (prompt, spin box) scrolls/steps
            if event.isAccepted():
                return
        self.navigation.wheel(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Nodes and groups open their own menus; links and the canvas get theirs here
        (:mod:`desktop.canvas.context_menus`)."""
        item = self.itemAt(event.pos())
        scene_pos = self.mapToScene(event.pos())
        if isinstance(item, LinkItem):
            link_menu(self, item.link, scene_pos).exec(event.globalPos())
        elif item is None:
            canvas_menu(self, scene_pos).exec(event.globalPos())
        else:
            super().contextMenuEvent(event)

    # ---------------------------------------------------------------- drops
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self._accept_drag(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._accept_drag(event)

    def _accept_drag(self, event: QDragMoveEvent) -> None:
        """A node type from the library, or files (the window decides what they are)."""
        mime = event.mimeData()
        if mime is not None and (mime.hasFormat(NODE_TYPE_MIME) or mime.hasUrls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        pos = self.mapToScene(event.position().toPoint())
        type_id = node_type_of(mime) if mime is not None else None
        if type_id is not None:
            cls = self.document.registry.get(type_id)
            if cls is not None:
                params = {k: v for k, v in node_params_of(mime).items() if cls.param(k)}
                node_id = self.document.add_node(type_id, self.free_spot_for(cls, pos), params)
                self.select_nodes([node_id])
            event.acceptProposedAction()
        elif mime is not None and mime.hasUrls():
            paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
            if paths:
                self.filesDropped.emit(paths, pos)
            event.acceptProposedAction()
        else:
            event.ignore()


__all__ = ["CanvasView"]
