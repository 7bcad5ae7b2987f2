"""The Models panel: every model in the models folders, by kind, with what it is.

Each row is a :class:`nodes.catalog.listing.ModelEntry`: the name a loader takes, the family
(or an upscaler's architecture and scale) read from the file's header, its size, precision
and SHA-256. The folders are scanned and the digests computed off the GUI thread
(:mod:`desktop.panels.model_workers`); a digest appears in its row when it is ready, and
is cached under the Daguerre home, so each file is hashed once. Selecting a row shows its
preview picture (``NAME.preview.png`` or ``NAME.png`` beside it, read by the thumbnail
loader off the GUI thread), its trigger words, training tags, base model, resolution,
path and digest.

The search field filters by name, family, kind and tag. Dragging a row onto the canvas
makes the right loader with that file (:func:`desktop.mime.model_mime_data`; an embedding
drags as ``embedding:NAME`` text for a prompt); double-click asks the window to set the
selected loader's file (:attr:`ModelsPanel.modelActivated`). A model of another family
than the graph's checkpoint (:meth:`ModelsPanel.set_graph_family`) is marked.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QBrush, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.mime import NODE_PARAMS_MIME, NODE_TYPE_MIME, model_mime_data
from desktop.panels.common import PlaceholderTree, child_items, top_level_items
from desktop.panels.model_rows import SUBTITLE_ROLE, WRONG_COLOR, WRONG_ROLE, ModelRowDelegate
from desktop.panels.model_workers import ModelHasher, ModelScanner
from desktop.panels.thumbnails import ThumbnailLoader
from nodes.catalog.headers import family_label
from nodes.catalog.listing import KIND_TITLES, KINDS, LOADERS, ModelEntry, human_size
from nodes.paths import model_stem

KEY_ROLE = Qt.ItemDataRole.UserRole + 1
"""A model row's (kind, name); a kind's header row has none."""
COLUMNS = ("Model", "Family", "Size", "Precision", "SHA-256")
NAME, FAMILY, SIZE, PRECISION, HASH = range(len(COLUMNS))
PREVIEW_SIZE = 128


def drag_payload(entry: ModelEntry) -> QMimeData:
    """What dragging ``entry`` carries: its loader with the file set, or for an embedding
    the ``embedding:NAME`` a prompt uses."""
    if entry.kind in LOADERS:
        type_id, param = LOADERS[entry.kind]
        return model_mime_data(type_id, {param: entry.name}, entry.name)
    mime = QMimeData()
    mime.setText(f"embedding:{model_stem(entry.kind, entry.name)}")
    return mime


class _ModelTree(PlaceholderTree):
    def __init__(self, panel: ModelsPanel) -> None:
        super().__init__("No models found.\nPut model files in the models folders.", panel)
        self.panel = panel

    def mimeTypes(self) -> list[str]:
        return [NODE_TYPE_MIME, NODE_PARAMS_MIME, "text/plain"]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:
        for item in items:
            entry = self.panel.entry_of(item)
            if entry is not None:
                return drag_payload(entry)
        return QMimeData()

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction


class ModelsPanel(QWidget):
    """The models by kind; scans and hashes in the background."""

    modelActivated = Signal(str, str)
    """(kind, name): a model row was double-clicked (or Enter pressed on it)."""
    scanned = Signal()
    """A scan's rows are shown."""
    hashed = Signal(str, str)
    """(path, digest) shown in its row."""

    def __init__(
        self,
        model_dirs: Callable[[], list[Path]],
        parent: QWidget | None = None,
        *,
        hash_in_background: bool = True,
    ) -> None:
        super().__init__(parent)
        self.hash_in_background = hash_in_background
        self.entries: dict[tuple[str, str], ModelEntry] = {}
        self.graph_family: str | None = None
        self.scanner = ModelScanner(model_dirs, self)
        self.scanner.scanned.connect(self._show_entries)
        self.hasher = ModelHasher(self)
        self.hasher.hashed.connect(self._hashed)
        self.hasher.failed.connect(self._hash_failed)
        self.previews = ThumbnailLoader(PREVIEW_SIZE, self)
        self.previews.ready.connect(self._preview_ready)

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search name, family, tag…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.apply_filter)
        refresh = QToolButton(self)
        refresh.setText("⟳")
        refresh.setToolTip("Look in the models folders again")
        refresh.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.search, 1)
        top.addWidget(refresh)

        self.tree = _ModelTree(self)
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(True)
        self.tree.setItemDelegateForColumn(NAME, ModelRowDelegate(self.tree))
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setStretchLastSection(True)
        for column in (NAME, FAMILY, SIZE, PRECISION):  # whole names: scroll, never elide
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        for column in (FAMILY, SIZE, PRECISION):  # the name's second line says them
            header.hideSection(column)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.itemDoubleClicked.connect(lambda item, _c: self._activate(item))
        self.tree.itemActivated.connect(lambda item, _c: self._activate(item))
        self.tree.currentItemChanged.connect(lambda item, _old: self.show_details(item))

        self.preview = QLabel(self)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setFixedHeight(PREVIEW_SIZE)
        self.preview.hide()
        self.details = QLabel(self)
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # a digest or a path is one long word: it must not widen the dock
        ignored, preferred = QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
        self.details.setSizePolicy(ignored, preferred)
        lower = QWidget(self)
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 4, 0, 0)
        lower_layout.addWidget(self.preview)
        lower_layout.addWidget(self.details)
        lower_layout.addStretch(1)
        scroll = QScrollArea(self)  # a long list of tags scrolls, never squeezes the list
        scroll.setWidget(lower)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.tree)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 400])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self._shown_key: tuple[str, str] | None = None
        self.refresh()

    # ------------------------------------------------------------------ rows
    def refresh(self) -> None:
        """Scan the models folders again (in the background)."""
        self.scanner.start()

    def entry_of(self, item: QTreeWidgetItem | None) -> ModelEntry | None:
        key = item.data(NAME, KEY_ROLE) if item is not None else None
        return self.entries.get(tuple(key)) if key else None

    def row(self, kind: str, name: str) -> QTreeWidgetItem | None:
        for group in top_level_items(self.tree):
            for item in child_items(group):
                if item.data(NAME, KEY_ROLE) == [kind, name]:
                    return item
        return None

    def _show_entries(self, entries: list[ModelEntry]) -> None:
        current = self.entry_of(self.tree.currentItem())
        self.entries = {(e.kind, e.name): e for e in entries}
        self.tree.clear()
        for kind in KINDS:
            mine = [e for e in entries if e.kind == kind]
            if not mine:
                continue
            group = QTreeWidgetItem(self.tree, [f"{KIND_TITLES.get(kind, kind)} ({len(mine)})"])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            group.setFirstColumnSpanned(True)
            for entry in mine:
                item = QTreeWidgetItem(group)
                item.setData(NAME, KEY_ROLE, [entry.kind, entry.name])
                item.setFlags(
                    Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsDragEnabled
                )
                self._fill(item, entry)
            group.setExpanded(True)
        self.apply_filter()
        if current is not None:
            again = self.row(current.kind, current.name)
            if again is not None:
                self.tree.setCurrentItem(again)
        if self.hash_in_background:
            self.hasher.request(entries)
        self.scanned.emit()

    def _fill(self, item: QTreeWidgetItem, entry: ModelEntry) -> None:
        fits = not entry.wrong_for(self.graph_family)
        family = entry.summary or "?"
        item.setText(NAME, entry.name)
        item.setText(FAMILY, family if fits else f"⚠ {family}")
        item.setText(SIZE, human_size(entry.size))
        item.setText(PRECISION, entry.precision or "")
        details = [family if fits else f"⚠ {family}", human_size(entry.size), entry.precision]
        item.setData(NAME, SUBTITLE_ROLE, " · ".join(d for d in details if d))
        item.setData(NAME, WRONG_ROLE, not fits)
        item.setText(HASH, entry.sha256[:10] if entry.sha256 else "…")
        item.setTextAlignment(SIZE, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        tip = f"{entry.path}"
        if not fits:
            graph = family_label((self.graph_family,)) if self.graph_family else ""
            tip += f"\nA {entry.summary} model; this graph's checkpoint is {graph}."
        if entry.note:
            tip += f"\n{entry.note}"
        for column in range(len(COLUMNS)):
            item.setToolTip(column, tip)
            item.setForeground(column, QBrush(WRONG_COLOR) if not fits else QBrush())
        item.setToolTip(HASH, entry.sha256 or "SHA-256 being computed in the background")

    def set_graph_family(self, family: str | None) -> None:
        """Mark the models that do not fit a checkpoint of ``family`` (an id; None: the
        graph's family is unknown, nothing is marked)."""
        if family == self.graph_family:
            return
        self.graph_family = family
        for group in top_level_items(self.tree):
            for item in child_items(group):
                entry = self.entry_of(item)
                if entry is not None:
                    self._fill(item, entry)

    def apply_filter(self) -> None:
        query = self.search.text()
        for group in top_level_items(self.tree):
            visible = 0
            for item in child_items(group):
                entry = self.entry_of(item)
                hidden = entry is None or not entry.matches(query)
                item.setHidden(hidden)
                visible += not hidden
            group.setHidden(visible == 0)

    # ---------------------------------------------------------------- hashing
    def _hashed(self, entry: ModelEntry) -> None:
        key = (entry.kind, entry.name)
        if key not in self.entries or self.entries[key].path != entry.path:
            return
        self.entries[key] = entry
        item = self.row(*key)
        if item is not None:
            self._fill(item, entry)
        if self._shown_key == key:
            self.show_details(item)
        self.hashed.emit(str(entry.path), entry.sha256 or "")

    def _hash_failed(self, entry: ModelEntry, message: str) -> None:
        item = self.row(entry.kind, entry.name)
        if item is not None:
            item.setText(HASH, "unreadable")
            item.setToolTip(HASH, message)

    # ---------------------------------------------------------------- details
    def show_details(self, item: QTreeWidgetItem | None) -> None:
        entry = self.entry_of(item)
        self._shown_key = (entry.kind, entry.name) if entry else None
        if entry is None:
            self.details.setText("")
            self.preview.hide()
            return
        self.details.setText(details_html(entry, self.graph_family))
        self.preview.hide()
        if entry.preview is not None:
            image = self.previews.request(entry.preview)
            if image is not None:
                self._preview_ready(str(entry.preview), image)

    def _preview_ready(self, path: str, image: QImage) -> None:
        entry = self.entries.get(self._shown_key) if self._shown_key else None
        if entry is None or str(entry.preview) != path or image.isNull():
            return
        self.preview.setPixmap(QPixmap.fromImage(image))
        self.preview.show()

    def _activate(self, item: QTreeWidgetItem) -> None:
        entry = self.entry_of(item)
        if entry is not None:
            self.modelActivated.emit(entry.kind, entry.name)

    def shutdown(self) -> None:
        """Stop the background work (the window closes)."""
        self.hasher.shutdown()
        self.scanner.wait()
        self.previews.wait()


def details_html(entry: ModelEntry, graph_family: str | None = None) -> str:
    """What the panel shows under the list for the selected model."""
    rows: list[tuple[str, str]] = [
        ("Kind", KIND_TITLES.get(entry.kind, entry.kind)),
        ("Family", entry.summary or "unknown (the header does not tell)"),
        ("Size", human_size(entry.size)),
    ]
    if entry.precision:
        rows.append(("Precision", entry.precision))
    if entry.base_model:
        rows.append(("Base model", entry.base_model))
    if entry.resolution:
        rows.append(("Resolution", entry.resolution))
    if entry.trigger_words:
        rows.append(("Trigger words", ", ".join(entry.trigger_words)))
    if entry.tags:
        rows.append(("Tags", ", ".join(entry.tags[:15])))
    rows.append(("SHA-256", entry.sha256 or "being computed…"))
    rows.append(("Path", str(entry.path)))
    body = "".join(
        f"<tr><td><b>{html.escape(k)}</b>&nbsp;</td><td>{_breakable(v)}</td></tr>" for k, v in rows
    )
    warning = ""
    if entry.wrong_for(graph_family) and graph_family:
        graph = family_label((graph_family,))
        warning = f"<p>⚠ Not for this graph: its checkpoint is {html.escape(graph)}.</p>"
    if entry.note:
        warning += f"<p>⚠ {html.escape(entry.note)}</p>"
    return f"<p><b>{html.escape(entry.name)}</b></p>{warning}<table>{body}</table>"


def _breakable(text: str) -> str:
    """``text`` escaped, with zero-width spaces where a long path or digest may wrap (after
    each separator, every 16 characters of a word) so it never widens the dock."""
    broken = re.sub(r"([/\\_.-])", "\\1\u200b", text)
    return html.escape(re.sub(r"([^\s\u200b]{16})(?=[^\s\u200b])", "\\1\u200b", broken))


__all__ = ["ModelsPanel", "details_html", "drag_payload"]
