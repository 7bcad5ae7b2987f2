"""The canvas scene: mirrors the document's graph as items and the run state on them.

The scene subscribes to the graph's signals (``node_added``, ``link_removed``, ...) and
creates, updates and removes items to match; it never changes the graph except through
:class:`~desktop.document.Document` methods (undo commands). It also listens to the
:class:`~desktop.run_state.RunState` and shows node states, previews, results and problems
on the items.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QMenu, QStyleFactory

from desktop.canvas import style
from desktop.canvas.advice_marks import AdviceMarks
from desktop.canvas.groups import GroupItem
from desktop.canvas.links import LinkDrag, LinkItem, PendingLink
from desktop.canvas.node_item import NodeItem
from desktop.canvas.ports import PortItem
from desktop.canvas.reroute import REROUTE_TYPE, RerouteItem
from desktop.document import Document
from desktop.run_state import ImageResult, NodeState, NodeStatus, RunState
from nodes.graph import Graph, GraphError, Group, Link, NodeData
from nodes.ports import PortType
from nodes.settings import Settings


class CanvasScene(QGraphicsScene):
    searchRequested = Signal(QPointF, object)
    """(scene position, PendingLink): a link was dropped on empty canvas."""
    message = Signal(str, QPointF)
    """A short message for the user (a refused link or value), near a scene position."""
    contentChanged = Signal()
    """Nodes or groups were added, removed, moved or resized (the minimap follows)."""
    maskEditRequested = Signal(str)
    """A Load Image node's id: open the mask painter on its picture."""

    def __init__(
        self,
        document: Document,
        run_state: RunState,
        settings: Settings,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.run_state = run_state
        self.settings = settings
        self.setSceneRect(-100_000, -100_000, 200_000, 200_000)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setPalette(style.widget_palette())
        fusion = QStyleFactory.create("Fusion")
        if fusion is not None:
            self.setStyle(fusion)
        self.setFont(style.ui_font(8.5))
        self.nodes: dict[str, NodeItem] = {}
        self.links: dict[tuple[str, str], LinkItem] = {}
        self.groups: dict[str, GroupItem] = {}
        self._node_links: dict[str, set[tuple[str, str]]] = {}
        self._problem_nodes: set[str] = set()
        self.snap = False
        self.dragging = False
        """True while nodes are being dragged by the mouse (snapping applies then)."""
        self.detail = True
        self._z = 0.0
        self.link_drag = LinkDrag(self)
        self.menus: Callable[[str], QMenu] | None = None
        """Builds a node's right-click menu (the view installs
        :func:`desktop.canvas.context_menus.node_menu`)."""

        graph = document.graph
        subscriptions: list[tuple[Any, Callable[..., Any]]] = [
            (graph.node_added, self._node_added),
            (graph.node_removed, self._node_removed),
            (graph.node_changed, self._node_changed),
            (graph.param_changed, self._param_changed),
            (graph.link_added, self._link_added),
            (graph.link_removed, self._link_removed),
            (graph.group_added, self._group_added),
            (graph.group_removed, self._group_removed),
            (graph.group_changed, self._group_changed),
        ]
        for signal, callback in subscriptions:
            signal.sub(callback)
        # the graph outlives the scene: unsubscribe without touching the (deleted) scene
        self.destroyed.connect(lambda *_: _unsubscribe(subscriptions))
        self._subscriptions = subscriptions
        document.reloaded.connect(self._reloaded)
        run_state.nodeChanged.connect(self._status_changed)
        run_state.previewChanged.connect(self._preview)
        run_state.resultAdded.connect(self._result)
        run_state.textResult.connect(self._text)
        run_state.problemsChanged.connect(self._problems_changed)
        self.populate(graph)
        self.advice_marks = AdviceMarks(self.nodes, run_state, self)
        """Amber marks for the advice on nodes and fields (placed again after a relayout)."""
        self.contentChanged.connect(self.advice_marks.place)

    def detach(self) -> None:
        """Stop following the graph (the scene is about to go)."""
        _unsubscribe(self._subscriptions)
        self._subscriptions = []

    # ================================================================ build
    def populate(self, graph: Graph) -> None:
        for group in graph.groups.values():
            self._group_added(group)
        for data in graph.nodes.values():
            self._node_added(data)
        for link in graph.links:
            self._link_added(link)
        self._problems_changed()

    # ================================================================ graph → items
    def _node_added(self, data: NodeData) -> None:
        reroute = data.type == REROUTE_TYPE and self.document.registry.get(data.type) is not None
        item = RerouteItem(self, data) if reroute else NodeItem(self, data)
        self._z += 0.0001
        item.setZValue(self._z)
        self.nodes[data.id] = item
        self.addItem(item)
        item.set_detail(self.detail)
        status = self.run_state.status(data.id)
        if status.state is not NodeState.IDLE:
            item.set_status(status)
        self.contentChanged.emit()

    def _node_removed(self, data: NodeData) -> None:
        if self.link_drag.active:
            self.link_drag.cancel()
        item = self.nodes.pop(data.id, None)
        self._problem_nodes.discard(data.id)
        if item is not None:
            self.removeItem(item)
        self.contentChanged.emit()

    def _node_changed(self, node_id: str, attr: str, value: Any) -> None:
        item = self.nodes.get(node_id)
        if item is not None:
            item.set_attr(attr, value)

    def _param_changed(self, node_id: str, name: str, value: Any) -> None:
        item = self.nodes.get(node_id)
        if item is not None:
            item.set_param_value(name, value)

    def _link_added(self, link: Link) -> None:
        source, target = self.nodes.get(link.source), self.nodes.get(link.target)
        if source is None or target is None:
            return
        out_port = source.ensure_port(link.output, True)
        in_port = target.ensure_port(link.input, False)
        item = LinkItem(link, self._link_type(source, out_port, in_port), self.document)
        key = (link.target, link.input)
        old = self.links.pop(key, None)
        if old is not None:
            self.removeItem(old)
        self.links[key] = item
        self.addItem(item)
        self._node_links.setdefault(link.source, set()).add(key)
        self._node_links.setdefault(link.target, set()).add(key)
        item.update_path(out_port.scene_anchor(), in_port.scene_anchor())
        out_port.set_linked(True)
        in_port.set_linked(True)
        target.set_param_linked(link.input, True)
        if isinstance(target, RerouteItem):
            self._reroute_changed(target)

    def _link_removed(self, link: Link) -> None:
        key = (link.target, link.input)
        item = self.links.get(key)
        if item is None or item.link != link:
            return
        del self.links[key]
        self.removeItem(item)
        for node_id in (link.source, link.target):
            keys = self._node_links.get(node_id)
            if keys is not None:
                keys.discard(key)
        target = self.nodes.get(link.target)
        if target is not None:
            port = target.port(link.input, False)
            if port is not None:
                port.set_linked(False)
            target.set_param_linked(link.input, False)
            if isinstance(target, RerouteItem):
                self._reroute_changed(target)
        source = self.nodes.get(link.source)
        if source is not None:
            port = source.port(link.output, True)
            if port is not None:
                still = any(
                    self.links[k].link.source == link.source
                    and self.links[k].link.output == link.output
                    for k in self._node_links.get(link.source, ())
                    if k in self.links
                )
                port.set_linked(still)

    def _link_type(self, source: NodeItem, out_port: PortItem, in_port: PortItem) -> PortType:
        """A link's color type: its output's, what flows into a reroute, else its input's."""
        port_type = out_port.port_type
        if port_type is PortType.ANY and isinstance(source, RerouteItem):
            port_type = source.flow_type() or PortType.ANY
        if port_type is PortType.ANY:
            port_type = in_port.port_type
        return port_type

    def _reroute_changed(self, item: RerouteItem, seen: frozenset[str] = frozenset()) -> None:
        """What flows into a reroute changed: repaint the dot and recolor links leaving it."""
        item.update()
        for key in list(self._node_links.get(item.node_id, ())):
            link_item = self.links.get(key)
            if link_item is None or link_item.link.source != item.node_id:
                continue
            target = self.nodes.get(link_item.link.target)
            out_port = item.port(link_item.link.output, True)
            in_port = target.port(link_item.link.input, False) if target is not None else None
            if target is None or out_port is None or in_port is None:
                continue
            link_item.port_type = self._link_type(item, out_port, in_port)
            link_item.update()
            if isinstance(target, RerouteItem) and target.node_id not in seen:
                self._reroute_changed(target, seen | {item.node_id})

    def insert_reroute(self, link: Link, pos: QPointF) -> str:
        """Put a reroute dot centered at ``pos`` on ``link``: one undo step.

        The dot's ports are ANY and it only splits an existing link, so the new links can
        neither mismatch nor close a cycle.
        """
        if self.document.graph.link_into(link.target, link.input) != link:
            raise GraphError("this link is gone", link.target, link.input)
        half = style.REROUTE_D / 2
        stack = self.document.undo_stack
        stack.beginMacro("Add reroute")
        try:
            dot = self.document.add_node(REROUTE_TYPE, (pos.x() - half, pos.y() - half))
            self.document.disconnect_links([link])
            self.document.connect_ports(link.source, link.output, dot, "value")
            self.document.connect_ports(dot, "value", link.target, link.input)
        finally:
            stack.endMacro()
        return dot

    def _group_added(self, group: Group) -> None:
        item = GroupItem(self, group)
        self.groups[group.id] = item
        self.addItem(item)
        self.contentChanged.emit()

    def _group_removed(self, group: Group) -> None:
        item = self.groups.pop(group.id, None)
        if item is not None:
            self.removeItem(item)
        self.contentChanged.emit()

    def _group_changed(self, group_id: str, attr: str, value: Any) -> None:
        item = self.groups.get(group_id)
        if item is not None:
            item.set_attr(attr, value)
        self.contentChanged.emit()

    def _reloaded(self) -> None:
        """A new document: forget run states shown for nodes of the previous one."""
        for item in self.nodes.values():
            item.set_status(NodeStatus())
            item.set_preview(None)
        self._problems_changed()

    # ================================================================ run state → items
    def _status_changed(self, node_id: str) -> None:
        item = self.nodes.get(node_id)
        if item is not None:
            item.set_status(self.run_state.status(node_id))

    def _preview(self, node_id: str, image: Any) -> None:
        item = self.nodes.get(node_id)
        if item is not None:
            item.set_preview(image)

    def _result(self, result: ImageResult) -> None:
        item = self.nodes.get(result.node_id)
        if item is not None:
            item.set_preview(result.image)

    def _text(self, node_id: str, text: str) -> None:
        item = self.nodes.get(node_id)
        if item is not None:
            item.set_engine_text(text)

    def _problems_changed(self) -> None:
        by_node: dict[str, list] = {}
        for problem in self.run_state.problems:
            if problem.node_id in self.nodes:
                by_node.setdefault(problem.node_id, []).append(problem)
        for node_id in self._problem_nodes - set(by_node):
            if node_id in self.nodes:
                self.nodes[node_id].set_problems([])
        for node_id, problems in by_node.items():
            self.nodes[node_id].set_problems(problems)
        self._problem_nodes = set(by_node)

    # ================================================================ item services
    def node_geometry_changed(self, item: QGraphicsItem) -> None:
        """A node moved or changed shape: re-route its links."""
        if not isinstance(item, NodeItem) or self.nodes.get(item.node_id) is not item:
            return
        self.contentChanged.emit()
        for key in self._node_links.get(item.node_id, ()):
            link_item = self.links.get(key)
            if link_item is None:
                continue
            link = link_item.link
            source, target = self.nodes.get(link.source), self.nodes.get(link.target)
            if source is None or target is None:
                continue
            out_port = source.port(link.output, True)
            in_port = target.port(link.input, False)
            if out_port is not None and in_port is not None:
                link_item.update_path(out_port.scene_anchor(), in_port.scene_anchor())

    def raise_item(self, item: QGraphicsItem) -> None:
        self._z += 0.0001
        item.setZValue(self._z)

    def begin_move(self) -> None:
        self.dragging = True

    def end_move(self) -> None:
        """A mouse drag of nodes ended: commit the moved positions as one undo step."""
        self.dragging = False
        graph = self.document.graph
        moved: dict[str, tuple[float, float]] = {}
        for node_id, item in self.nodes.items():
            if item.isSelected():
                pos = (item.pos().x(), item.pos().y())
                if node_id in graph.nodes and graph.nodes[node_id].position != pos:
                    moved[node_id] = pos
        if moved:
            self.document.move(moved, drag_id=self.document.new_drag())

    def set_detail(self, detail: bool) -> None:
        if detail == self.detail:
            return
        self.detail = detail
        for item in self.nodes.values():
            item.set_detail(detail)

    def edit_mask(self, node_id: str) -> None:
        self.maskEditRequested.emit(node_id)

    def node_menu(self, node_id: str) -> QMenu:
        return self.menus(node_id) if self.menus is not None else QMenu()

    def show_message(self, text: str, pos: QPointF) -> None:
        self.message.emit(text, pos)

    def request_search(self, pos: QPointF, pending: PendingLink) -> None:
        """A link was dropped on empty canvas: the view offers the node search."""
        self.searchRequested.emit(pos, pending)

    # ================================================================ queries
    def selected_node_ids(self) -> list[str]:
        return [node_id for node_id, item in self.nodes.items() if item.isSelected()]

    def selected_links(self) -> list[Link]:
        return [item.link for item in self.links.values() if item.isSelected()]

    def node_at(self, pos: QPointF) -> NodeItem | None:
        for item in self.items(pos):
            node = _owning_node(item)
            if node is not None:
                return node
        return None

    def port_item(self, node_id: str, name: str, output: bool) -> PortItem | None:
        node = self.nodes.get(node_id)
        return node.port(name, output) if node is not None else None

    def link_type_into(self, node_id: str, input: str) -> PortType | None:
        link = self.links.get((node_id, input))
        return link.port_type if link is not None else None

    def port_items(self) -> list[PortItem]:
        return [port for node in self.nodes.values() for port in node.ports()]

    def nodes_bounding_rect(self, ids: list[str] | None = None) -> QRectF:
        items = (
            [self.nodes[i] for i in ids if i in self.nodes]
            if ids is not None
            else list(self.nodes.values())
        )
        rect = QRectF()
        for item in items:
            rect = rect.united(item.sceneBoundingRect())
        if ids is None:
            for group in self.groups.values():
                rect = rect.united(group.sceneBoundingRect())
        return rect

    # ================================================================ background
    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        rect = QRectF(rect)
        painter.fillRect(rect, style.BACKGROUND)
        zoom = painter.worldTransform().m11()
        left, top = rect.left(), rect.top()
        for step, color in (
            (style.GRID, style.GRID_MINOR),
            (style.GRID * style.GRID_MAJOR_EVERY, style.GRID_MAJOR),
        ):
            if step * zoom < 7:
                continue
            pen = QPen(color, 1)
            pen.setCosmetic(True)
            painter.setPen(pen)
            x = left - (left % step)
            lines = []
            while x < rect.right():
                lines.append(QLineF(x, top, x, rect.bottom()))
                x += step
            y = top - (top % step)
            while y < rect.bottom():
                lines.append(QLineF(left, y, rect.right(), y))
                y += step
            painter.drawLines(lines)


def _owning_node(item: QGraphicsItem | None) -> NodeItem | None:
    while item is not None:
        if isinstance(item, NodeItem):
            return item
        item = item.parentItem()
    return None


def _unsubscribe(subscriptions: list[tuple[Any, Callable[..., Any]]]) -> None:
    for signal, callback in subscriptions:
        with contextlib.suppress(ValueError):
            signal.unsub(callback)
