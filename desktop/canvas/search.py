"""The node search popup: type to filter node types, arrows to choose, Enter to add.

Results come from :func:`desktop.node_search.rank_node_types` (how the ranking works is
explained there), best first; ComfyUI's class names find the types they import as. When
nothing matches, one disabled "No matches" row says so (Enter then adds nothing).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop.canvas import style
from desktop.canvas.links import PendingLink, compatible_port
from desktop.node_search import rank_node_types
from nodes.api import Node
from nodes.graph import Graph
from nodes.registry import Registry

_CATEGORY_ROLE = Qt.ItemDataRole.UserRole + 1
NO_MATCHES = "No matches"


def loose_end_preference(pending: PendingLink, graph: Graph) -> Callable[[type[Node]], bool]:
    """The types a search from ``pending`` lists first among equals: those whose port that
    would take the link has the loose end's name (a Seed for a sampler's ``seed``, Load VAE
    for a ``vae`` input) — or a seed param, when the loose end is one."""
    seed_end = False
    data = graph.nodes.get(pending.node_id)
    if data is not None and not pending.is_output:
        cls = graph.registry.get(data.type)
        param = next((p for p in cls.params if p.name == pending.port), None) if cls else None
        seed_end = param is not None and param.seed

    def prefer(cls: type[Node]) -> bool:
        port = compatible_port(cls, pending)
        if port is None:
            return False
        if port == pending.port:
            return True
        return seed_end and any(p.seed for p in cls.params)

    return prefer


class _ResultDelegate(QStyledItemDelegate):
    """A result row: the title, and its category dimmed on the right."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        super().paint(painter, option, index)
        category = index.data(_CATEGORY_ROLE)
        if not category:
            return
        painter.save()
        selected = option.state & QStyle.StateFlag.State_Selected
        painter.setPen(QColor(255, 255, 255, 170) if selected else style.TEXT_DIM)
        rect = option.rect.adjusted(0, 0, -8, 0)
        painter.drawText(
            rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, category
        )
        painter.restore()


def popup_style_sheet() -> str:
    """The search popup's style sheet in the current canvas theme's colors."""
    body, border = style.NODE_BODY.name(), style.NODE_BORDER.name()
    field, field_border = style.FIELD_BG.name(), style.FIELD_BORDER.name()
    text, dim, accent = style.TEXT.name(), style.TEXT_DIM.name(), style.ACCENT.darker(125).name()
    return (
        f"#nodeSearch {{ background: {body}; border: 1px solid {border}; border-radius: 6px; }}"
        f"QLineEdit {{ background: {field}; color: {text}; border: 1px solid {field_border};"
        " border-radius: 4px; padding: 4px 6px; }"
        f"QListWidget {{ background: {body}; color: {text}; border: none; outline: 0; }}"
        "QListWidget::item { padding: 3px 6px; border-radius: 3px; }"
        f"QListWidget::item:selected {{ background: {accent}; color: white; }}"
        f"QLabel {{ color: {dim}; }}"
    )


class NodeSearchPopup(QFrame):
    """A search field and a result list floating over the canvas (a child of the view)."""

    chosen = Signal(str)
    """The type id the user picked."""
    closed = Signal()

    MAX_RESULTS = 60

    def __init__(self, registry: Registry, parent: QWidget) -> None:
        super().__init__(parent)
        self.registry = registry
        self.accept_filter: Callable[[type[Node]], bool] | None = None
        self.prefer: Callable[[type[Node]], bool] | None = None
        self.setObjectName("nodeSearch")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self._restyle()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        self.hint = QLabel()
        self.hint.hide()
        self.field = QLineEdit()
        self.field.setPlaceholderText("Search nodes…")
        self.results = QListWidget()
        self.results.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.results.setUniformItemSizes(True)
        self.results.setItemDelegate(_ResultDelegate(self.results))
        layout.addWidget(self.hint)
        layout.addWidget(self.field)
        layout.addWidget(self.results)
        self.resize(320, 340)
        self.field.textChanged.connect(self._refresh)
        self.field.installEventFilter(self)
        self.results.itemClicked.connect(self._choose_item)
        self.hide()

    def _restyle(self) -> None:
        """Colors from the canvas theme (:mod:`.style`), so the light theme's popup is light."""
        self.setPalette(style.widget_palette())
        self.setStyleSheet(popup_style_sheet())

    # ------------------------------------------------------------ open / close
    def open_at(
        self,
        pos: QPoint,
        accept: Callable[[type[Node]], bool] | None = None,
        hint: str = "",
        prefer: Callable[[type[Node]], bool] | None = None,
    ) -> None:
        """Show at ``pos`` (parent coordinates), kept inside the parent, with focus;
        ``accept`` filters the types, ``prefer`` lists some first among equals."""
        self.accept_filter = accept
        self.prefer = prefer
        self._restyle()  # the theme may have changed since it was last open
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))
        self.field.blockSignals(True)
        self.field.clear()
        self.field.blockSignals(False)
        self._refresh("")  # all results: the tallest the popup gets, so clamp with it
        parent = self.parentWidget()
        x, y = pos.x(), pos.y()
        if parent is not None:
            x = max(4, min(x, parent.width() - self.width() - 4))
            y = max(4, min(y, parent.height() - self.height() - 4))
        self.move(x, y)
        self.show()
        self.raise_()
        self.field.setFocus(Qt.FocusReason.PopupFocusReason)

    def close_popup(self) -> None:
        if self.isVisible():
            self.hide()
            self.closed.emit()

    # ------------------------------------------------------------ results
    def _refresh(self, text: str) -> None:
        self.results.clear()
        ranked = rank_node_types(self.registry, text, self.accept_filter, self.prefer)
        for cls in ranked[: self.MAX_RESULTS]:
            item = QListWidgetItem(cls.title)
            item.setData(Qt.ItemDataRole.UserRole, cls.type_id)
            item.setData(_CATEGORY_ROLE, cls.category)
            item.setToolTip(f"{cls.type_id}\n\n{cls.description()}")
            self.results.addItem(item)
        if ranked:
            self.results.setCurrentRow(0)
        else:
            empty = QListWidgetItem(NO_MATCHES)
            empty.setFlags(Qt.ItemFlag.NoItemFlags)  # not selectable: Enter adds nothing
            empty.setForeground(style.TEXT_DIM)
            font = empty.font()
            font.setItalic(True)
            empty.setFont(font)
            self.results.addItem(empty)
        self._fit_height()

    def result_type_ids(self) -> list[str]:
        """The type ids listed now, top to bottom (none when "No matches" shows)."""
        found = (
            self.results.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.results.count())
        )
        return [type_id for type_id in found if type_id]

    def _fit_height(self) -> None:
        """As tall as the results need (at most 12 rows), so short lists stay compact."""
        rows = max(1, min(self.results.count(), 12))
        row_height = self.results.sizeHintForRow(0) if self.results.count() else 22
        list_height = rows * row_height + 6
        self.results.setFixedHeight(list_height)
        chrome = self.field.sizeHint().height() + 16
        if not self.hint.isHidden():
            chrome += self.hint.sizeHint().height() + 4
        self.resize(self.width(), chrome + list_height)

    def current_type(self) -> str | None:
        item = self.results.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _choose_item(self, item: QListWidgetItem) -> None:
        self._choose(item.data(Qt.ItemDataRole.UserRole))

    def _choose(self, type_id: str | None) -> None:
        if type_id is None:
            return
        self.hide()
        self.chosen.emit(type_id)

    # ------------------------------------------------------------ keys
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.field and event.type() is QEvent.Type.ShortcutOverride:
            # Tab and Esc are window shortcuts elsewhere (search, cancel run): here they
            # belong to the popup
            assert isinstance(event, QKeyEvent)
            if event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Escape):
                event.accept()
                return True
        if watched is self.field and event.type() is QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            count = self.results.count()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and count:
                step = 1 if key == Qt.Key.Key_Down else -1
                self.results.setCurrentRow((self.results.currentRow() + step) % count)
                return True
            if key in (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp) and count:
                step = 8 if key == Qt.Key.Key_PageDown else -8
                self.results.setCurrentRow(max(0, min(count - 1, self.results.currentRow() + step)))
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._choose(self.current_type())
                return True
            if key == Qt.Key.Key_Escape:
                self.close_popup()
                return True
            if key == Qt.Key.Key_Tab:
                return True
        if watched is self.field and event.type() is QEvent.Type.FocusOut:
            # close when focus moved elsewhere in the app (not when the window lost it)
            focused = QApplication.focusWidget()
            if focused is not None and focused is not self and not self.isAncestorOf(focused):
                self.close_popup()
        return super().eventFilter(watched, event)
