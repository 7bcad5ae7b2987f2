"""The gallery: every image in the output folder, newest first, so the history of what was
made survives a restart (it is the folder, not the session).

Thumbnails are read off the GUI thread (:mod:`desktop.panels.thumbnails`); the list
follows the folder (a file watcher and each saved result refresh it, debounced). A
right-click on a thumbnail offers what ComfyUI users do with a history item: load its
workflow (the PNG carries it), re-run it as it was, show it in its folder, copy the image,
and use it as the input of a Load Image node. The panel acts on the window only through
signals; the window does the opening, queueing and editing.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QPoint, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.panels.thumbnails import ThumbnailLoader
from desktop.run_state import ImageResult, RunState
from nodes.settings import Settings
from nodes.workflow.png import COMFY_PROMPT_KEY, COMFY_WORKFLOW_KEY, WORKFLOW_KEY, read_png_texts

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MAX_ITEMS = 1000
"""The newest this many images are listed (an output folder may hold tens of thousands)."""
THUMB = 128
REFRESH_MS = 300
PATH_ROLE = Qt.ItemDataRole.UserRole


def carries_workflow(path: Path) -> bool:
    """Whether an image holds a Daguerre or ComfyUI workflow (only PNGs can)."""
    if path.suffix.lower() != ".png":
        return False
    try:
        texts = read_png_texts(path)
    except (OSError, ValueError):
        return False
    return any(key in texts for key in (WORKFLOW_KEY, COMFY_WORKFLOW_KEY, COMFY_PROMPT_KEY))


def newest_images(folder: Path, limit: int = MAX_ITEMS) -> list[Path]:
    """The images under ``folder`` (and its subfolders), newest first, at most ``limit``."""
    found: list[tuple[float, str, Path]] = []
    if not folder.is_dir():
        return []
    for path in folder.rglob("*"):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        with contextlib.suppress(OSError):
            if path.is_file():
                found.append((path.stat().st_mtime, path.name, path))
    found.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    return [path for _, _, path in found[:limit]]


class GalleryPanel(QWidget):
    """Thumbnails of the output folder with the history item actions (see the module)."""

    openWorkflowRequested = Signal(Path)
    """Open the workflow an image carries, as File › Open does."""
    rerunRequested = Signal(Path)
    """Queue the workflow an image carries again, as it was (the document is not touched)."""
    useAsInputRequested = Signal(Path)
    """Point a Load Image node (the selected one, or a new one) at this image."""
    statusMessage = Signal(str)

    def __init__(
        self, settings: Settings, run_state: RunState | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.loader = ThumbnailLoader(THUMB, self)
        self.loader.ready.connect(self._thumbnail_ready)
        self._items: dict[str, QListWidgetItem] = {}
        self._blank = _blank_icon()

        self.count_label = QLabel(self)
        refresh = QToolButton(self)
        refresh.setText("Refresh")
        refresh.clicked.connect(self.refresh)
        folder = QToolButton(self)
        folder.setText("Open folder")
        folder.clicked.connect(self.open_folder)
        top = QHBoxLayout()
        top.setContentsMargins(6, 4, 6, 0)
        top.addWidget(self.count_label, 1)
        top.addWidget(refresh)
        top.addWidget(folder)

        self.list = QListWidget(self)
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setUniformItemSizes(True)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setGridSize(QSize(THUMB + 16, THUMB + 34))
        self.list.setWordWrap(True)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.itemDoubleClicked.connect(self._activated)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(lambda _: self._timer.start())
        if run_state is not None:
            run_state.resultAdded.connect(self._result_added)
        self.refresh()

    # ------------------------------------------------------------ contents
    def folder(self) -> Path:
        return self.settings.outputs()

    def set_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.refresh()

    def paths(self) -> list[Path]:
        """The listed images, in order (newest first)."""
        return [Path(self.list.item(i).data(PATH_ROLE)) for i in range(self.list.count())]

    def refresh(self) -> None:
        """List the folder again; thumbnails already read are reused."""
        folder = self.folder()
        watched = self.watcher.directories()
        if watched and watched != [str(folder)]:
            self.watcher.removePaths(watched)
        if folder.is_dir() and str(folder) not in self.watcher.directories():
            self.watcher.addPath(str(folder))
        images = newest_images(folder)
        if [str(p) for p in images] == [str(p) for p in self.paths()]:
            return
        self.list.clear()
        self._items = {}
        for path in images:
            item = QListWidgetItem(self._blank, path.name)
            item.setData(PATH_ROLE, str(path))
            item.setToolTip(str(path))
            self.list.addItem(item)
            self._items[str(path)] = item
            cached = self.loader.request(path)
            if cached is not None:
                self._set_thumbnail(item, cached)
        count = len(images)
        self.count_label.setText(
            f"{count} image{'s' if count != 1 else ''}" if count else "No images yet"
        )

    def _result_added(self, result: ImageResult) -> None:
        if result.file:
            self._timer.start()

    def _thumbnail_ready(self, path: str, image: QImage) -> None:
        item = self._items.get(path)
        if item is not None:
            self._set_thumbnail(item, image)

    def _set_thumbnail(self, item: QListWidgetItem, image: QImage) -> None:
        if not image.isNull():
            item.setIcon(QIcon(QPixmap.fromImage(image)))

    # ------------------------------------------------------------ actions
    def menu_for(self, path: Path) -> QMenu:
        """The right-click menu of one image (built fresh: it says what the file allows)."""
        menu = QMenu(self)
        workflow = carries_workflow(path)
        load = menu.addAction("Load workflow", lambda: self.openWorkflowRequested.emit(path))
        rerun = menu.addAction("Re-run", lambda: self.rerunRequested.emit(path))
        for action in (load, rerun):
            action.setEnabled(workflow)
            if not workflow:
                action.setToolTip("This image carries no workflow")
        menu.addSeparator()
        menu.addAction("Use as input", lambda: self.useAsInputRequested.emit(path))
        menu.addAction("Copy image", lambda: self.copy_image(path))
        menu.addAction("Show in folder", lambda: self.show_in_folder(path))
        return menu

    def copy_image(self, path: Path) -> bool:
        image = QImage(str(path))
        clipboard = QGuiApplication.clipboard()
        if image.isNull() or clipboard is None:
            self.statusMessage.emit(f"{path.name} could not be read")
            return False
        clipboard.setImage(image)
        self.statusMessage.emit(f"{path.name} copied to the clipboard")
        return True

    def show_in_folder(self, path: Path) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))

    def open_folder(self) -> None:
        folder = self.folder()
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _context_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is not None:
            self.menu_for(Path(item.data(PATH_ROLE))).exec(self.list.mapToGlobal(pos))

    def _activated(self, item: QListWidgetItem) -> None:
        path = Path(item.data(PATH_ROLE))
        if carries_workflow(path):
            self.openWorkflowRequested.emit(path)


def _blank_icon() -> QIcon:
    pixmap = QPixmap(THUMB, THUMB)
    pixmap.fill(Qt.GlobalColor.transparent)
    return QIcon(pixmap)
