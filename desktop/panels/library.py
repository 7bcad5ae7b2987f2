"""The node library: every registered node type by category, searchable, draggable.

The search field filters with :func:`desktop.node_search.matches`. Double-click or Enter
on a type asks for it to be added (``addNodeRequested``); dragging a type carries its id
as :data:`desktop.mime.NODE_TYPE_MIME`, which the canvas accepts on drop.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import (
    QEvent,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QKeyEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.mime import NODE_TYPE_MIME, node_mime_data
from desktop.node_search import matches, type_score
from desktop.panels.common import PlaceholderTree, child_items
from nodes.api import Node
from nodes.registry import Registry

TYPE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
COLOR_ROLE = Qt.ItemDataRole.UserRole + 2


def _node_color(cls: type[Node]) -> str | None:
    """The color of the type's first output (or input), like its sockets on the canvas."""
    ports = cls.outputs or cls.inputs
    return ports[0].type.color if ports else None


class _NodeTree(PlaceholderTree):
    """The tree itself: only node rows drag, and they drag as :data:`NODE_TYPE_MIME`."""

    def mimeTypes(self) -> list[str]:
        return [NODE_TYPE_MIME, "text/plain"]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:
        type_ids = [i.data(0, TYPE_ID_ROLE) for i in items if i.data(0, TYPE_ID_ROLE)]
        return node_mime_data(type_ids[0]) if type_ids else QMimeData()

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction


class _NodeDelegate(QStyledItemDelegate):
    """Draws a node row as a dot in its first output's socket color, then its title."""

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), max(size.height(), option.fontMetrics.height() + 10))

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        type_id = index.data(TYPE_ID_ROLE)
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        if not type_id:  # a category row: bold, muted
            opt.font.setBold(True)
            opt.palette.setColor(
                opt.palette.ColorRole.Text, opt.palette.color(opt.palette.ColorRole.PlaceholderText)
            )
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
            return
        title = opt.text
        opt.text = ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        rect: QRect = opt.rect.adjusted(4, 0, -6, 0)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = index.data(COLOR_ROLE)
        if color:
            dot = 8
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(color))
            painter.drawEllipse(rect.left(), rect.center().y() - dot // 2 + 1, dot, dot)
        rect.setLeft(rect.left() + 16)
        metrics = opt.fontMetrics
        text_color = opt.palette.color(
            opt.palette.ColorRole.HighlightedText if selected else opt.palette.ColorRole.Text
        )
        painter.setPen(text_color)
        painter.drawText(
            rect,
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            metrics.elidedText(title, Qt.TextElideMode.ElideRight, rect.width()),
        )
        painter.restore()


class LibraryPanel(QWidget):
    """Node types by category with a search field."""

    addNodeRequested = Signal(str)
    """A type id the user asked to add (double-click or Enter)."""

    def __init__(self, registry: Registry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("libraryPanel")
        self.registry = registry

        self.search = QLineEdit(self)
        self.search.setObjectName("librarySearch")
        self.search.setProperty("role", "search")
        self.search.setPlaceholderText("Search nodes…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.set_filter)
        self.search.returnPressed.connect(self._add_current)
        self.search.installEventFilter(self)

        self.tree = _NodeTree("No node matches the search.", self)
        self.tree.setObjectName("libraryTree")
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(1)
        self.tree.setRootIsDecorated(True)
        self.tree.setIndentation(14)
        self.tree.setUniformRowHeights(True)
        self.tree.setAnimated(False)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setItemDelegate(_NodeDelegate(self.tree))
        self.tree.itemActivated.connect(self._activated)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)

        self._categories: dict[str, QTreeWidgetItem] = {}
        self._items: dict[str, QTreeWidgetItem] = {}
        self.reload()

    # ------------------------------------------------------------ public
    def reload(self) -> None:
        """Rebuild from the registry (after plugins register more types)."""
        self.tree.clear()
        self._categories.clear()
        self._items.clear()
        flags_category = Qt.ItemFlag.ItemIsEnabled
        flags_node = (
            Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
        )
        for cls in self.registry:
            if not cls.listed:
                continue
            category = self._categories.get(cls.category)
            if category is None:
                category = QTreeWidgetItem(self.tree, [cls.category.replace("_", " ").title()])
                category.setFlags(flags_category)
                category.setData(0, Qt.ItemDataRole.UserRole, cls.category)
                self._categories[cls.category] = category
            item = QTreeWidgetItem(category, [cls.title])
            item.setFlags(flags_node)
            item.setData(0, TYPE_ID_ROLE, cls.type_id)
            item.setData(0, COLOR_ROLE, _node_color(cls))
            item.setToolTip(0, cls.description())
            self._items[cls.type_id] = item
        self.tree.expandAll()
        self.set_filter(self.search.text())

    def set_filter(self, query: str) -> None:
        """Show the types matching ``query`` (see :func:`matches`); select the best."""
        if self.search.text() != query:
            self.search.setText(query)  # re-enters through textChanged
            return
        best: tuple[float, QTreeWidgetItem] | None = None
        for category in self._categories.values():
            shown = 0
            for item in child_items(category):
                cls = self.registry.get(item.data(0, TYPE_ID_ROLE))
                ok = cls is not None and matches(cls, query)
                item.setHidden(not ok)
                if cls is not None and ok:
                    shown += 1
                    # the Tab popup's ranking: Enter adds what it would put first
                    fit = type_score(cls, query) if query.strip() else 0.0
                    score = -fit if fit is not None else float("inf")
                    if best is None or score < best[0]:
                        best = (score, item)
            category.setHidden(shown == 0)
            if query.strip() and shown:
                category.setExpanded(True)
        if query.strip() and best is not None:
            self.tree.setCurrentItem(best[1])
            self.tree.scrollToItem(best[1])
        elif not query.strip():
            self.tree.clearSelection()
        self.tree.viewport().update()

    def visible_type_ids(self) -> list[str]:
        """The type ids the list shows now, top to bottom."""
        found = []
        for category in self._categories.values():
            if category.isHidden():
                continue
            for item in child_items(category):
                if not item.isHidden():
                    found.append(item.data(0, TYPE_ID_ROLE))
        return found

    def item_for(self, type_id: str) -> QTreeWidgetItem | None:
        return self._items.get(type_id)

    def current_type_id(self) -> str | None:
        item = self.tree.currentItem()
        if item is None or item.isHidden():
            return None
        return item.data(0, TYPE_ID_ROLE) or None

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # ------------------------------------------------------------ internals
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up/Down in the search field move through the matches without leaving it."""
        if (
            watched is self.search
            and isinstance(event, QKeyEvent)
            and event.type() == QKeyEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up)
        ):
            self._step(1 if event.key() == Qt.Key.Key_Down else -1)
            return True
        return super().eventFilter(watched, event)

    def _step(self, delta: int) -> None:
        ids = self.visible_type_ids()
        if not ids:
            return
        current = self.current_type_id()
        index = ids.index(current) + delta if current in ids else 0
        item = self._items[ids[max(0, min(index, len(ids) - 1))]]
        self.tree.setCurrentItem(item)
        self.tree.scrollToItem(item)

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        type_id = item.data(0, TYPE_ID_ROLE)
        if type_id:
            self.addNodeRequested.emit(type_id)

    def _add_current(self) -> None:
        type_id = self.current_type_id()
        if type_id is None:
            ids = self.visible_type_ids()
            type_id = ids[0] if ids else None
        if type_id:
            self.addNodeRequested.emit(type_id)
