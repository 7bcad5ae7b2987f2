"""The node item: title bar, ports, inline param widgets, run state and preview.

A node item mirrors one ``NodeData`` of the document. It never edits the graph itself:
user edits go through the scene's :class:`~desktop.document.Document` (undo commands), and
the scene calls the item's ``set_*`` methods when the document changes.

Top to bottom: the title bar (collapse chevron, title, run state badge), the port rows,
the param rows, the live preview or last result image (where each goes is
:mod:`desktop.canvas.node_layout`'s). The bottom-right grip resizes the node
(:mod:`desktop.canvas.node_resize`); Tab moves between its fields
(:mod:`desktop.canvas.node_fields`).

Zoomed out below :data:`style.LOD_DETAIL` the item paints a cheap proxy (title band and
body, the title and port names) and the scene hides its widgets. Painting lives in
:mod:`desktop.canvas.node_paint`; a reroute dot is a node item of its own kind
(:mod:`desktop.canvas.reroute`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPixmap
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
from desktop.canvas.host import CanvasHost
from desktop.canvas.node_fields import focus_next_field, tab_order
from desktop.canvas.node_layout import NodeLayout, layout_node
from desktop.canvas.node_paint import fonts_, paint_node
from desktop.canvas.node_preview import NodePreview
from desktop.canvas.node_resize import NodeResizer
from desktop.canvas.params import (
    NumberEditor,
    ParamEditor,
    ParamPanel,
    SeedEditor,
    count_tokens,
    is_full_width,
    make_editor,
    param_label,
    row_height,
)
from desktop.canvas.ports import PortDrag, PortItem, PortOwner
from desktop.canvas.widgets import InlineEditor
from desktop.mask_painter import can_edit_mask
from desktop.run_state import NodeState, NodeStatus
from nodes.api import Node, Param
from nodes.events import Problem
from nodes.graph import GraphError, NodeData
from nodes.ports import PortType
from nodes.seed_control import DEFAULT_SEED_MODE

_TOKENS = re.compile(r"(\d+)\s+tokens?")


class NodeItem(PortOwner):
    """One node on the canvas (see the module docstring)."""

    def __init__(self, canvas: CanvasHost, data: NodeData) -> None:
        super().__init__()
        self.canvas = canvas
        self.node_id = data.id
        self.type_id = data.type
        self.cls: type[Node] | None = canvas.document.registry.get(data.type)
        flag = QGraphicsItem.GraphicsItemFlag
        self.setFlags(flag.ItemIsMovable | flag.ItemIsSelectable | flag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.title = ""
        self.color: str | None = None
        self.bypass = False
        self.collapsed = False
        self.pinned = False
        self.width = style.NODE_WIDTH
        self.height = style.TITLE_H
        self.stored_height: float | None = None
        """The height the user resized the node to (None: what its content needs)."""
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
        self.rows: list[tuple[Param, float, QRectF]] = []
        """(param, row top, widget rect) in node coordinates."""
        self.values: dict[str, Any] = dict(data.params)
        """The param values shown (the document's, mirrored)."""
        self._preview = NodePreview()
        self.preview_rect = QRectF()
        self.ports_bottom = style.TITLE_H
        """Where the port rows end (an unknown type lists its values from there)."""
        self.resizer = NodeResizer(self, canvas.document)
        self._title_editor: QGraphicsProxyWidget | None = None
        self.param_panel: ParamPanel | None = None
        """The widget holding the param editors (not ``panel``: that is QGraphicsItem's)."""
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
    def widgets_built(self) -> bool:
        """Whether the param editors exist (until then the node paints look-alikes)."""
        return self._editors is not None

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
                graph=lambda: self.canvas.document.graph,
            )
        self._editors = editors
        for editor in editors.values():
            if isinstance(editor, NumberEditor):
                editor.refuse = self._refused
        modes = self.seed_modes()
        for name, editor in editors.items():
            editor.set_value(self.values.get(name, editor.param.default))
            if isinstance(editor, SeedEditor):
                editor.set_mode(modes.get(name, DEFAULT_SEED_MODE))
            if name in self.linked_params:
                editor.set_visible(False)
        proxy = QGraphicsProxyWidget(self)
        proxy.setWidget(panel)
        proxy.setZValue(1)
        self.param_panel, self.proxy = panel, proxy
        self._place_widgets()
        self.update()

    def _place_widgets(self) -> None:
        if self.proxy is None or self.param_panel is None or self._editors is None:
            return
        top = self._params_top
        self.proxy.setPos(0, top)
        bottom = self.rows[-1][1] + row_height(self.rows[-1][0]) if self.rows else top
        self.param_panel.resize(int(self.width), max(1, int(bottom - top)))
        for param, _row_top, rect in self.rows:
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
        if self.collapsed:
            x = self.width if port.is_output else 0.0
            return self.mapToScene(QPointF(x, style.TITLE_H / 2))
        return port.scenePos()

    def port_drag(self) -> PortDrag | None:
        return self.canvas.link_drag

    def seed_modes(self) -> dict[str, str]:
        """After-run control of each seed param: fixed, increment, decrement or randomize."""
        return self.canvas.document.seed_modes(self.node_id)

    def default_width(self) -> float:
        """Nodes with params need room for their widgets; port-only nodes stay narrow."""
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
        self.width = self._width_for(data.size)
        self.stored_height = data.size[1] if data.size else None
        self.values = dict(data.params)
        if self.cls is not None:
            for param in self.cls.params:
                if is_full_width(param):
                    self.tokens[param.name] = count_tokens(
                        str(self.values.get(param.name, param.default)),
                        self.canvas.settings.model_dirs(),
                    )
        for name, editor in (self._editors or {}).items():
            editor.set_value(data.params.get(name, editor.param.default))
            if isinstance(editor, SeedEditor):
                editor.set_mode(self.seed_modes().get(name, DEFAULT_SEED_MODE))
        self.setOpacity(0.45 if self.bypass else 1.0)
        self.set_attr("pinned", data.pinned)
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
        elif attr == "size":
            self.width = self._width_for(value)
            self.stored_height = value[1] if value else None
            self.relayout()
        elif attr == "pinned":  # it stays put: the mouse cannot drag it (nor Arrange move it)
            self.pinned = bool(value)
            self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, not self.pinned)
            self._update_tooltip()
            self.update()

    def _width_for(self, size: tuple[float, float] | None) -> float:
        """The width a stored size gives (None: the type's default)."""
        return max(style.NODE_MIN_WIDTH, size[0]) if size else self.default_width()

    def set_param_value(self, name: str, value: Any) -> None:
        self.values[name] = value
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

    @property
    def preview(self) -> QPixmap | None:
        """The live preview or last result image under the params."""
        return self._preview.pixmap

    def set_preview(self, image: np.ndarray | None) -> None:
        """Show ``image`` (uint8 H×W×3) under the params; None removes it (see
        :mod:`desktop.canvas.node_preview`: it never grows the node over a neighbour)."""
        if self._preview.set(image, self, self.stored_height is not None):
            self.relayout()
        elif self.preview is not None:
            self.update(self.preview_rect)

    def scaled_preview(self) -> QPixmap | None:
        """The preview scaled to its place in the node (kept until either changes)."""
        return self._preview.scaled(self.preview_rect.size().toSize())

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
    def _layout(self, width: float, height: float | None) -> NodeLayout:
        return layout_node(
            width,
            len(self.inputs),
            len(self.outputs),
            self.cls.params if self.cls is not None else (),
            None if self.cls is not None else len(self.values),
            self.preview.size() if self.preview is not None else None,
            height,
            self._preview.room,
        )

    def content_height(self, width: float) -> float:
        """The least height the node may be resized to at ``width``."""
        return self._layout(width, None).content_height

    def resize_to(self, width: float, height: float | None) -> None:
        """Show the node at that size (a resize drag, before the document has it)."""
        self.width, self.stored_height = width, height
        self.relayout()

    def relayout(self) -> None:
        """Place ports, param rows, widgets and preview for the node's size and state (the
        geometry is :func:`~desktop.canvas.node_layout.layout_node`'s)."""
        self.prepareGeometryChange()
        layout = self._layout(self.width, self.stored_height)
        for port, y in zip(self.inputs, layout.input_ys, strict=True):
            port.setPos(0, y)
        for port, y in zip(self.outputs, layout.output_ys, strict=True):
            port.setPos(self.width, y)
        for name, y in layout.socket_ys.items():
            self.sockets[name].setPos(0, y)
        self.ports_bottom, self._params_top = layout.ports_bottom, layout.params_top
        self.rows = layout.rows
        self.preview_rect = layout.preview_rect
        self._preview.invalidate()
        self.height = style.TITLE_H if self.collapsed else layout.height
        for port in self.ports():
            port.setVisible(not self.collapsed)
        self._place_widgets()
        self.canvas.node_geometry_changed(self)
        self.update()

    def boundingRect(self) -> QRectF:
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
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        paint_node(self, painter, lod)

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
        if self.pinned:
            parts.append("Pinned: it stays where it is (Unpin in its menu).")
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
        self.tokens[name] = count_tokens(text, self.canvas.settings.model_dirs())
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
        rect = QRectF(style.PAD + 10, 3, self.width - 2 * style.PAD - 10, style.TITLE_H - 6)
        self._title_editor = InlineEditor.open_over(self, self.title, rect, self._rename_done)

    def _rename_done(self, text: str | None) -> None:
        proxy, self._title_editor = self._title_editor, None
        if proxy is not None:
            InlineEditor.remove(proxy)
        if text is None or not self.canvas.document.graph.nodes.get(self.node_id):
            return
        new = text.strip() or None
        if new != self._data().title and new != (self.cls.title if self.cls else None):
            self.canvas.document.set_node_attr([self.node_id], "title", new, "Rename")

    def _refused(self, name: str, message: str) -> None:
        """A value typed into field ``name`` was put back: say why, at the field."""
        row = next((rect for param, _top, rect in self.rows if param.name == name), None)
        where = row.center() if row is not None else self.boundingRect().center()
        editor = (self._editors or {}).get(name)
        if editor is not None:
            editor.widget.setToolTip(message)
        self.canvas.show_message(message, self.mapToScene(where))

    def focus_next_field(self, backward: bool) -> bool:
        """Tab (Shift+Tab: back) from the focused field to the node's next one, around."""
        if self.param_panel is None or self._editors is None or self.cls is None:
            return False
        order = tab_order(self.cls.params, self._editors, self.linked_params)
        return focus_next_field(order, self.param_panel.focusWidget(), backward)

    # ================================================================ mouse
    def _in_grip(self, pos: QPointF) -> bool:
        return self.resizer.in_grip(pos)

    def _on_chevron(self, pos: QPointF) -> bool:
        """Whether ``pos`` is on the collapse chevron (a press toggles it)."""
        return pos.y() < style.TITLE_H and pos.x() < style.PAD + 12

    def _on_title_bar(self, pos: QPointF) -> bool:
        """Whether a double-click at ``pos`` renames or collapses the node."""
        return pos.y() < style.TITLE_H and self.cls is not None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        pos = event.pos()
        if event.button() is Qt.MouseButton.LeftButton:
            if self._in_grip(pos):
                self.resizer.press(pos)
                event.accept()
                return
            if self._on_chevron(pos):
                event.accept()
                self.toggle_collapsed()
                return
            self.canvas.raise_item(self)
            self.canvas.begin_move()
            self.ensure_widgets()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.resizer.active:
            self.resizer.move(event.pos())
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self.resizer.active:
            self.resizer.release()
            return
        super().mouseReleaseEvent(event)
        self.canvas.end_move()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        pos = event.pos()
        if self._on_title_bar(pos):
            event.accept()
            if self.title_text_rect().contains(pos):
                self.start_rename()
            else:
                self.toggle_collapsed()
            return
        if can_edit_mask(self.type_id) and self._data().params.get("path"):
            event.accept()  # on the body or its picture: paint the mask
            self.canvas.edit_mask(self.node_id)
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
        """The node's menu, for every selected node (:mod:`.context_menus`)."""
        return self.canvas.node_menu(self.node_id)
