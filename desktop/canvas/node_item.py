"""The node item: title bar, ports, inline param widgets, run state and preview.

A node item mirrors one ``NodeData`` of the document. It never edits the graph itself:
user edits go through the scene's :class:`~desktop.document.Document` (undo commands), and
the scene calls the item's ``set_*`` methods when the document changes.

Layout, top to bottom: the title bar (collapse chevron, title, run state badge); one row
per input/output pair (inputs left, outputs right); one row per param (label left, widget
right, a small socket on the left edge when the param is linkable; multi-line text takes
the whole width with its token count under it); the live preview or last result image.

Zoomed out below :data:`style.LOD_DETAIL` the item paints a cheap proxy (title color band
and body, no text) and the scene hides its widgets.

A reroute (``utility.reroute``) is drawn as a small dot instead, colored by the type
flowing in; its two ports sit hidden at its center, so links enter and leave the dot, and
a link dropped on the dot connects to it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsProxyWidget,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QMenu,
    QStyleOptionGraphicsItem,
    QWidget,
)

from desktop.canvas import style
from desktop.canvas.node_paint import fonts_, paint_node
from desktop.canvas.params import (
    InlineEditor,
    ParamEditor,
    ParamPanel,
    SeedEditor,
    count_tokens,
    is_full_width,
    make_editor,
    param_label,
    row_height,
)
from desktop.canvas.ports import PortHighlight, PortItem
from desktop.imaging import to_pixmap
from desktop.run_state import NodeState, NodeStatus
from nodes.api import Node, Param
from nodes.events import Problem
from nodes.graph import GraphError, NodeData
from nodes.ports import PortType
from nodes.seed_control import DEFAULT_SEED_MODE

if TYPE_CHECKING:
    from desktop.canvas.scene import CanvasScene

_TOKENS = re.compile(r"(\d+)\s+tokens?")
REROUTE_TYPE = "utility.reroute"
_GRIP = 12.0


class NodeItem(QGraphicsItem):
    """One node on the canvas (see the module docstring)."""

    def __init__(self, canvas: CanvasScene, data: NodeData) -> None:
        super().__init__()
        self.canvas = canvas
        self.node_id = data.id
        self.type_id = data.type
        self.cls: type[Node] | None = canvas.document.registry.get(data.type)
        self.is_reroute = data.type == REROUTE_TYPE and self.cls is not None
        flag = QGraphicsItem.GraphicsItemFlag
        self.setFlags(flag.ItemIsMovable | flag.ItemIsSelectable | flag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.title = ""
        self.color: str | None = None
        self.bypass = False
        self.collapsed = False
        self.width = style.NODE_WIDTH
        self.height = style.TITLE_H
        self.status = NodeStatus()
        self.detail = True
        self.inputs: list[PortItem] = []
        self.outputs: list[PortItem] = []
        self.sockets: dict[str, PortItem] = {}
        """Param sockets, by param name."""
        self._editors: dict[str, ParamEditor] | None = None
        """Built on first need (see :meth:`ensure_widgets`)."""
        self.linked_params: set[str] = set()
        self.problems: dict[str | None, list[str]] = {}
        self.tokens: dict[str, tuple[int, bool]] = {}
        """Per multi-line param: (count, exact)."""
        self._rows: list[tuple[Param, float, QRectF]] = []
        """(param, row top, widget rect) in node coordinates."""
        self._values: dict[str, Any] = dict(data.params)
        self._preview: QPixmap | None = None
        self._preview_scaled: QPixmap | None = None
        self._preview_rect = QRectF()
        self._ports_bottom = style.TITLE_H
        self._resizing = False
        self._title_editor: QGraphicsProxyWidget | None = None
        self.panel: ParamPanel | None = None
        self.proxy: QGraphicsProxyWidget | None = None
        self._params_top = style.TITLE_H
        self._build_ports()
        self.sync(data)

    # ================================================================ build
    def _build_ports(self) -> None:
        if self.cls is None:
            return
        for spec in self.cls.inputs:
            self.inputs.append(
                PortItem(self, spec.name, spec.type, is_output=False, label=spec.label or spec.name)
            )
        for spec in self.cls.outputs:
            self.outputs.append(
                PortItem(self, spec.name, spec.type, is_output=True, label=spec.label or spec.name)
            )
        for param in self.cls.params:
            if param.linkable:
                self.sockets[param.name] = PortItem(
                    self,
                    param.name,
                    param.type,
                    is_output=False,
                    is_param=True,
                    label=param_label(param),
                )

    @property
    def editors(self) -> dict[str, ParamEditor]:
        """The param editors by name (built now if they were not yet)."""
        self.ensure_widgets()
        return self._editors or {}

    @property
    def needs_widgets(self) -> bool:
        """Whether the node has params and their widgets are not built yet."""
        return self._editors is None and self.cls is not None and bool(self.cls.params)

    def ensure_widgets(self) -> None:
        """Build the param widgets (one proxy holding a panel of editors).

        Widgets are what a node costs most to create, so a node draws look-alike static
        fields until the view finds it visible at a zoom that shows widgets; opening a
        300-node workflow then builds none of them.
        """
        if not self.needs_widgets:
            return
        assert self.cls is not None
        panel = ParamPanel()
        editors: dict[str, ParamEditor] = {}
        for param in self.cls.params:
            editors[param.name] = make_editor(
                param,
                panel,
                self._commit,
                on_text=lambda text, name=param.name: self._text_changed(name, text),
                mode_changed=self._seed_mode_changed,
                model_dirs=self.canvas.settings.model_dirs,
            )
        self._editors = editors
        modes = self.seed_modes()
        for name, editor in editors.items():
            editor.set_value(self._values.get(name, editor.param.default))
            if isinstance(editor, SeedEditor):
                editor.set_mode(modes.get(name, DEFAULT_SEED_MODE))
            if name in self.linked_params:
                editor.set_visible(False)
        proxy = QGraphicsProxyWidget(self)
        proxy.setWidget(panel)
        proxy.setZValue(1)
        self.panel, self.proxy = panel, proxy
        self._place_widgets()
        self.update()

    def _place_widgets(self) -> None:
        if self.proxy is None or self.panel is None or self._editors is None:
            return
        top = self._params_top
        self.proxy.setPos(0, top)
        bottom = self._rows[-1][1] + row_height(self._rows[-1][0]) if self._rows else top
        self.panel.resize(int(self.width), max(1, int(bottom - top)))
        for param, _row_top, rect in self._rows:
            self._editors[param.name].place(rect.translated(0, -top))
        self.proxy.setVisible(self.detail and not self.collapsed)

    def ensure_port(self, name: str, is_output: bool) -> PortItem:
        """The port ``name``; made up (type ANY) when the node's type does not have it, so a
        link a file holds to an unknown type or port still has an end to draw."""
        found = self.port(name, is_output)
        if found is not None:
            return found
        port = PortItem(self, name, PortType.ANY, is_output=is_output)
        (self.outputs if is_output else self.inputs).append(port)
        self.relayout()
        return port

    # ================================================================ queries
    def port(self, name: str, is_output: bool) -> PortItem | None:
        if is_output:
            return next((p for p in self.outputs if p.name == name), None)
        found = next((p for p in self.inputs if p.name == name), None)
        return found or self.sockets.get(name)

    def ports(self) -> list[PortItem]:
        return [*self.inputs, *self.sockets.values(), *self.outputs]

    def port_anchor(self, port: PortItem) -> QPointF:
        if self.collapsed and not self.is_reroute:
            x = self.width if port.is_output else 0.0
            return self.mapToScene(QPointF(x, style.TITLE_H / 2))
        return port.scenePos()

    def seed_modes(self) -> dict[str, str]:
        """After-run control of each seed param: fixed, increment, decrement or randomize."""
        return self.canvas.document.seed_modes(self.node_id)

    def default_width(self) -> float:
        """Nodes with params need room for their widgets; port-only nodes stay narrow."""
        if self.is_reroute:
            return style.REROUTE_D
        if self.cls is None or self.cls.params:
            return style.NODE_WIDTH
        return style.NODE_NARROW_WIDTH

    def title_color(self) -> QColor:
        if self.cls is None:
            return style.UNKNOWN_TITLE
        if self.color:
            return QColor(self.color)
        return style.category_color(self.cls.category)

    def _data(self) -> NodeData:
        return self.canvas.document.graph.nodes[self.node_id]

    # ================================================================ document → item
    def sync(self, data: NodeData) -> None:
        """Take every attribute and value from ``data`` (on creation and reload)."""
        self.setPos(QPointF(*data.position))
        self.title = self.canvas.document.graph.display_title(data.id)
        self.color = data.color
        self.bypass = data.bypass
        self.collapsed = data.collapsed
        self.width = max(style.NODE_MIN_WIDTH, data.size[0]) if data.size else self.default_width()
        if self.is_reroute:
            self.width = style.REROUTE_D
        self._values = dict(data.params)
        if self.cls is not None:
            for param in self.cls.params:
                if is_full_width(param):
                    self.tokens[param.name] = count_tokens(
                        str(self._values.get(param.name, param.default))
                    )
        for name, editor in (self._editors or {}).items():
            editor.set_value(data.params.get(name, editor.param.default))
            if isinstance(editor, SeedEditor):
                editor.set_mode(self.seed_modes().get(name, DEFAULT_SEED_MODE))
        self.setOpacity(0.45 if self.bypass else 1.0)
        self._update_tooltip()
        self.relayout()

    def set_attr(self, attr: str, value: Any) -> None:
        if attr == "position":
            if self.pos() != QPointF(*value):
                self.setPos(QPointF(*value))
        elif attr == "title":
            self.title = self.canvas.document.graph.display_title(self.node_id)
            self.update()
        elif attr == "bypass":
            self.bypass = bool(value)
            self.setOpacity(0.45 if self.bypass else 1.0)
            self.update()
        elif attr == "color":
            self.color = value
            self.update()
        elif attr == "collapsed":
            self.collapsed = bool(value)
            self.relayout()
        elif attr == "size" and not self.is_reroute:
            self.width = max(style.NODE_MIN_WIDTH, value[0]) if value else self.default_width()
            self.relayout()

    def set_param_value(self, name: str, value: Any) -> None:
        self._values[name] = value
        editor = (self._editors or {}).get(name)
        if editor is not None:
            editor.set_value(value)
        else:
            param = self.cls.param(name) if self.cls is not None else None
            if param is not None and is_full_width(param):
                self._text_changed(name, str(value))
            self.update()

    def set_param_linked(self, name: str, linked: bool) -> None:
        if name not in self.sockets:
            return
        self.sockets[name].set_linked(linked)
        (self.linked_params.add if linked else self.linked_params.discard)(name)
        editor = (self._editors or {}).get(name)
        if editor is not None:
            editor.set_visible(not linked)
        self.update()

    def set_status(self, status: NodeStatus) -> None:
        self.status = status
        self._update_tooltip()
        self.update()

    def set_preview(self, image: np.ndarray | None) -> None:
        """Show ``image`` (uint8 H×W×3) under the params; None removes it."""
        old = self._preview
        if old is None and image is None:
            return
        self._preview = to_pixmap(image) if image is not None else None
        self._preview_scaled = None
        if old is None or self._preview is None or old.size() != self._preview.size():
            self.relayout()
        else:
            self.update(self._preview_rect)

    def set_problems(self, problems: list[Problem]) -> None:
        self.problems = {}
        for problem in problems:
            self.problems.setdefault(problem.field, []).append(problem.message)
        self._update_tooltip()
        self.update()

    def set_engine_text(self, text: str) -> None:
        """A text result from the engine; "N tokens" gives prompt editors the exact count."""
        match = _TOKENS.search(text)
        if match is None:
            return
        for name in self.tokens:
            self.tokens[name] = (int(match.group(1)), True)
        self.update()

    def set_detail(self, detail: bool) -> None:
        self.detail = detail
        if self.proxy is not None:
            self.proxy.setVisible(detail and not self.collapsed)

    # ================================================================ layout
    def relayout(self) -> None:
        self.prepareGeometryChange()
        if self.is_reroute:
            self._relayout_dot()
            return
        w = self.width
        y = style.TITLE_H + 6
        rows = max(len(self.inputs), len(self.outputs))
        for i, port in enumerate(self.inputs):
            port.setPos(0, y + (i + 0.5) * style.ROW_H)
        for i, port in enumerate(self.outputs):
            port.setPos(w, y + (i + 0.5) * style.ROW_H)
        y += rows * style.ROW_H
        self._ports_bottom = y
        self._rows = []
        params = self.cls.params if self.cls is not None else ()
        if params:
            y += 2
        self._params_top = y
        label_w = (w - 2 * style.PAD) * style.LABEL_FRACTION
        for param in params:
            h = row_height(param)
            if is_full_width(param):
                rect = QRectF(style.PAD, y + 2, w - 2 * style.PAD, style.MULTILINE_H)
                socket_y = y + 12
            else:
                x0 = style.PAD + label_w
                top = y + (style.PARAM_ROW_H - style.WIDGET_H) / 2
                rect = QRectF(x0, top, w - style.PAD - x0, style.WIDGET_H)
                socket_y = y + style.PARAM_ROW_H / 2
            self._rows.append((param, y, rect))
            if param.name in self.sockets:
                self.sockets[param.name].setPos(0, socket_y)
            y += h
        if self.cls is None:
            y += len(self._values) * style.PARAM_ROW_H + style.ROW_H
        y += 6
        if self._preview is not None:
            inner = w - 2 * style.PAD
            ratio = self._preview.height() / max(1, self._preview.width())
            self._preview_rect = QRectF(style.PAD, y, inner, inner * ratio)
            self._preview_scaled = None
            y += inner * ratio + style.PAD
        else:
            self._preview_rect = QRectF()
        self.height = style.TITLE_H if self.collapsed else y
        for port in self.ports():
            port.setVisible(not self.collapsed)
        self._place_widgets()
        self.canvas.node_geometry_changed(self)
        self.update()

    def _relayout_dot(self) -> None:
        d = style.REROUTE_D
        self.width = self.height = d
        for port in self.ports():
            port.setPos(d / 2, d / 2)
            port.setVisible(False)  # the dot takes the mouse: drag moves, drop connects
        self.canvas.node_geometry_changed(self)
        self.update()

    def flow_type(self) -> PortType | None:
        """For a reroute: the type of the link flowing in (None when nothing is linked)."""
        link = self.canvas.links.get((self.node_id, "value"))
        return link.port_type if link is not None else None

    def boundingRect(self) -> QRectF:
        if self.is_reroute:
            return QRectF(0, 0, style.REROUTE_D, style.REROUTE_D)
        return QRectF(-style.PORT_R - 4, -3, self.width + 2 * style.PORT_R + 8, self.height + 8)

    def body_rect(self) -> QRectF:
        return QRectF(0, 0, self.width, self.height)

    def title_text_rect(self) -> QRectF:
        return QRectF(style.PAD + 14, 0, self._title_width(), style.TITLE_H)

    def _title_width(self) -> float:
        metrics = QFontMetricsF(fonts_()["title"])
        available = self.width - 2 * style.PAD - 14 - 70
        return min(available, metrics.horizontalAdvance(self.title) + 4)

    # ================================================================ paint
    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self.is_reroute:
            self._paint_dot(painter)
            return
        lod = option.levelOfDetailFromTransform(painter.worldTransform())  # type: ignore[attr-defined]
        paint_node(self, painter, lod)

    def _paint_dot(self, painter: QPainter) -> None:
        kind = self.flow_type()
        color = style.REROUTE_IDLE if kind is None else style.port_color(kind)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(0, 0, self.width, self.height).adjusted(1.5, 1.5, -1.5, -1.5)
        if self.isSelected():
            pen = QPen(style.NODE_SELECTED, 2.0)
        elif self.problems or any(p.highlight is PortHighlight.COMPATIBLE for p in self.ports()):
            pen = QPen(style.ERROR if self.problems else style.ACCENT, 2.0)
        else:
            pen = QPen(color.darker(170), 1.2)
        painter.setPen(pen)
        painter.setBrush(color)
        painter.drawEllipse(rect)

    def _update_tooltip(self) -> None:
        parts = []
        if self.status.state is NodeState.FAILED and self.status.message:
            parts.append(f"Failed: {self.status.message}")
        for field, messages in self.problems.items():
            parts.extend(f"{field}: {m}" if field else m for m in messages)
        if self.cls is None:
            parts.append(f"Unknown node type {self.type_id!r}: it is not installed.")
        else:
            parts.append(self.cls.description())
        self.setToolTip("\n\n".join(parts))

    # ================================================================ edits → document
    def _commit(self, name: str, value: Any, merge: bool) -> None:
        try:
            self.canvas.document.set_param(self.node_id, name, value, merge=merge)
        except GraphError as exc:
            editor = self.editors[name]
            editor.set_value(self._data().params.get(name, editor.param.default))
            editor.widget.setToolTip(exc.message)
            self.canvas.show_message(exc.message, self.mapToScene(self.boundingRect().center()))

    def _text_changed(self, name: str, text: str) -> None:
        self.tokens[name] = count_tokens(text)
        self.update()

    def _seed_mode_changed(self, name: str, mode: str) -> None:
        self.canvas.document.set_seed_mode(self.node_id, name, mode)

    def toggle_collapsed(self) -> None:
        self.canvas.document.set_node_attr(
            [self.node_id],
            "collapsed",
            not self.collapsed,
            "Collapse" if not self.collapsed else "Expand",
        )

    def start_rename(self) -> None:
        """Open the inline title editor (F2, or double-click on the title)."""
        if self._title_editor is not None:
            return
        editor = InlineEditor(self.title)
        proxy = QGraphicsProxyWidget(self)
        proxy.setWidget(editor)
        proxy.setZValue(10)
        proxy.setGeometry(
            QRectF(style.PAD + 10, 3, self.width - 2 * style.PAD - 10, style.TITLE_H - 6)
        )
        self._title_editor = proxy
        editor.done.connect(self._rename_done)
        editor.setFocus()
        proxy.setFocus()

    def _rename_done(self, text: str | None) -> None:
        proxy, self._title_editor = self._title_editor, None
        if proxy is not None and proxy.scene() is not None:
            proxy.scene().removeItem(proxy)
            proxy.deleteLater()
        if text is None or not self.canvas.document.graph.nodes.get(self.node_id):
            return
        new = text.strip() or None
        if new != self._data().title and new != (self.cls.title if self.cls else None):
            self.canvas.document.set_node_attr([self.node_id], "title", new, "Rename")

    # ================================================================ mouse
    def _in_grip(self, pos: QPointF) -> bool:
        return (
            not self.is_reroute
            and not self.collapsed
            and pos.x() >= self.width - _GRIP
            and pos.y() >= self.height - _GRIP
        )

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        pos = event.pos()
        if event.button() is Qt.MouseButton.LeftButton:
            if self._in_grip(pos):
                self._resizing = True
                event.accept()
                return
            if not self.is_reroute and pos.y() < style.TITLE_H and pos.x() < style.PAD + 12:
                event.accept()
                self.toggle_collapsed()
                return
            self.canvas.raise_node(self)
            self.canvas.begin_move()
            self.ensure_widgets()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._resizing:
            self.width = max(style.NODE_MIN_WIDTH, round(event.pos().x()))
            self.relayout()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._resizing:
            self._resizing = False
            self.canvas.document.set_node_attr(
                [self.node_id], "size", (self.width, self.height), "Resize"
            )
            return
        super().mouseReleaseEvent(event)
        self.canvas.end_move()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        pos = event.pos()
        if pos.y() < style.TITLE_H and self.cls is not None and not self.is_reroute:
            event.accept()
            if self.title_text_rect().contains(pos):
                self.start_rename()
            else:
                self.toggle_collapsed()
            return
        super().mouseDoubleClickEvent(event)

    def hoverMoveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        shape = (
            Qt.CursorShape.SizeFDiagCursor
            if self._in_grip(event.pos())
            else Qt.CursorShape.ArrowCursor
        )
        if self.cursor().shape() != shape:
            self.setCursor(shape)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        kind = QGraphicsItem.GraphicsItemChange
        if change == kind.ItemPositionChange and self.canvas.snap and self.canvas.dragging:
            grid = style.GRID
            return QPointF(round(value.x() / grid) * grid, round(value.y() / grid) * grid)
        if change == kind.ItemPositionHasChanged:
            self.canvas.node_geometry_changed(self)
        return super().itemChange(change, value)

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:
        if not self.isSelected():
            self.canvas.clearSelection()
            self.setSelected(True)
        self.context_menu().exec(event.screenPos())
        event.accept()

    def context_menu(self) -> QMenu:
        """The node's menu; actions apply to every selected node."""
        canvas = self.canvas
        ids = canvas.selected_node_ids() or [self.node_id]
        document = canvas.document
        menu = QMenu()
        menu.addAction("Rename…\tF2", self.start_rename)
        menu.addAction("Expand" if self.collapsed else "Collapse", self.toggle_collapsed)
        bypass = not all(document.graph.nodes[i].bypass for i in ids)
        menu.addAction(
            "Bypass\tCtrl+B" if bypass else "Stop bypassing\tCtrl+B",
            lambda: document.set_node_attr(ids, "bypass", bypass, "Bypass"),
        )
        colors = menu.addMenu("Color")
        colors.addAction("Default", lambda: document.set_node_attr(ids, "color", None, "Color"))
        for name, value in style.NODE_COLOR_CHOICES.items():
            colors.addAction(name, lambda v=value: document.set_node_attr(ids, "color", v, "Color"))
        menu.addSeparator()
        menu.addAction("Delete\tDel", lambda: document.remove(ids))
        return menu
