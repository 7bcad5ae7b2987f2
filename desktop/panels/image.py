"""The image panel: the latest result (or live preview), this session's results, A/B compare.

It listens to :class:`~desktop.run_state.RunState` only: ``previewChanged`` shows the
running node's preview, ``resultAdded`` shows the new image and adds it to the strip. A
run that ends without its image (cancelled, failed) leaves no half-done preview behind:
the view goes back to the last finished image.
Saving copies the result's own file when there is one, so the workflow embedded in the
PNG travels with it.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import numpy as np
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QDesktopServices,
    QGuiApplication,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop import theme
from desktop.imaging import to_qimage
from desktop.panels.image_view import CompareMode, CompareView, ImageView
from desktop.run_state import ImageResult, RunState
from nodes.settings import Settings

THUMB = 64
"""Thumbnail edge in logical pixels."""
THUMB_ROLE = Qt.ItemDataRole.UserRole + 1


def _thumbnail(image: QImage, dpr: float) -> QPixmap:
    """A square thumbnail (the image's middle), at the screen's pixel density."""
    edge = round(THUMB * dpr)
    scaled = image.scaled(
        edge,
        edge,
        Qt.AspectRatioMode.KeepAspectRatioByExpanding,
        Qt.TransformationMode.SmoothTransformation,
    )
    x, y = (scaled.width() - edge) // 2, (scaled.height() - edge) // 2
    pixmap = QPixmap.fromImage(scaled.copy(x, y, edge, edge))
    pixmap.setDevicePixelRatio(dpr)
    return pixmap


class _ThumbDelegate(QStyledItemDelegate):
    """A rounded thumbnail; the selected ones get an accent ring."""

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return QSize(THUMB + 10, THUMB + 10)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        pixmap = index.data(THUMB_ROLE)
        rect = QRectF(option.rect).adjusted(5, 5, -5, -5)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        path = QPainterPath()
        path.addRoundedRect(rect, 4, 4)
        if isinstance(pixmap, QPixmap):
            painter.setClipPath(path)
            painter.drawPixmap(rect, pixmap, QRectF(pixmap.rect()))
            painter.setClipping(False)
        palette = option.palette
        if option.state & QStyle.StateFlag.State_Selected:
            painter.setPen(QPen(QColor(theme.colors().accent), 2))
            painter.drawRoundedRect(rect.adjusted(-2, -2, 2, 2), 5, 5)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.setPen(QPen(palette.color(palette.ColorRole.Mid), 2))
            painter.drawRoundedRect(rect.adjusted(-2, -2, 2, 2), 5, 5)
        painter.restore()


def _describe(result: ImageResult, index: int) -> str:
    height, width = result.image.shape[:2]
    text = f"#{index + 1} · run {result.run_id} · node {result.node_id} · {width}×{height}"
    if result.file:
        text += f"\n{result.file}"
    return text


class ImagePanel(QWidget):
    """The latest image, zoom/pan, a strip of results, save/copy/open folder, compare."""

    statusMessage = Signal(str)
    """A short message for the window's status bar ("Saved to …")."""
    useAsInputRequested = Signal(object)
    """The ImageResult shown: the window puts it on the canvas as a Load Image node and
    opens the mask painter on it."""

    def __init__(
        self, run_state: RunState, settings: Settings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("imagePanel")
        self.run_state = run_state
        self.settings = settings
        self._shown: int | None = None
        """Index into ``run_state.results`` of the image shown (None: preview or empty)."""
        self._compare_pair: tuple[int, int] | None = None
        self._last_save_dir: Path | None = None

        self.view = ImageView(self)
        self.compare_view = CompareView(self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.compare_view)

        self.strip = QListWidget(self)
        self.strip.setObjectName("resultStrip")
        self.strip.setProperty("role", "strip")
        self.strip.setViewMode(QListView.ViewMode.IconMode)
        self.strip.setFlow(QListView.Flow.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setMovement(QListView.Movement.Static)
        self.strip.setSpacing(0)
        self.strip.setUniformItemSizes(True)
        self.strip.setItemDelegate(_ThumbDelegate(self.strip))
        self.strip.setMouseTracking(True)
        self.strip.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.strip.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.strip.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.strip.setFixedHeight(THUMB + 30)
        self.strip.setToolTip("This session's results. Ctrl+click two to compare them.")
        self.strip.itemSelectionChanged.connect(self._selection_changed)
        self.strip.hide()

        self.toolbar = self._build_toolbar()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.strip)

        # Right-click on the image offers the same actions, for narrow docks.
        for widget in (self.view, self.compare_view):
            widget.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
            separator = QAction(widget)
            separator.setSeparator(True)
            widget.addActions(
                [
                    self.use_action,
                    self.save_action,
                    self.copy_action,
                    self.folder_action,
                    separator,
                    self.fit_action,
                    self.actual_action,
                    self.compare_action,
                ]
            )
        self.view.zoomChanged.connect(self._zoom_changed)
        run_state.resultAdded.connect(self._result_added)
        run_state.previewChanged.connect(self._preview)
        run_state.runFinished.connect(self._run_finished)
        for result in run_state.results:
            self._add_thumbnail(result)
        if run_state.results:
            self.show_result(len(run_state.results) - 1)
        self._update_actions()

    def _build_toolbar(self) -> QToolBar:
        bar = QToolBar(self)
        bar.setObjectName("imageToolbar")
        bar.setIconSize(QSize(16, 16))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)

        def action(text: str, tip: str, slot: object, add: bool = True) -> QAction:
            act = QAction(text, self)
            act.setToolTip(tip)
            act.triggered.connect(slot)
            if add:
                bar.addAction(act)
            return act

        self.fit_action = action(
            "Fit",
            "Fit the image to the view (double-click the image to switch between fit and 100%)",
            self.view.fit,
        )
        # The zoom button shows the zoom and opens the zoom menu: one button, not five.
        self.actual_action = action(
            "Actual Size (100%)", "One image pixel per screen pixel", self.view.actual_size, False
        )
        self.zoom_in_action = action("Zoom In", "Zoom in", self.view.zoom_in, False)
        self.zoom_out_action = action("Zoom Out", "Zoom out", self.view.zoom_out, False)
        self.zoom_menu = QMenu(self)
        self.zoom_menu.addActions([self.fit_action, self.actual_action])
        self.zoom_menu.addSeparator()
        self.zoom_menu.addActions([self.zoom_in_action, self.zoom_out_action])
        self.zoom_menu.addSeparator()
        for percent in (25, 50, 200, 400):
            preset = self.zoom_menu.addAction(f"{percent}%")
            preset.triggered.connect(lambda _=False, z=percent / 100: self.view.set_zoom(z))
        self.zoom_button = QToolButton(bar)
        self.zoom_button.setObjectName("zoomButton")
        self.zoom_button.setToolTip("Zoom (or use the mouse wheel over the image)")
        self.zoom_button.setMenu(self.zoom_menu)
        self.zoom_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.zoom_button.setMinimumWidth(64)
        self.zoom_button_action = bar.addWidget(self.zoom_button)
        bar.addSeparator()
        self.compare_action = action(
            "Compare",
            "Compare two results: Ctrl+click two "
            "thumbnails, or compare the shown one with the one before",
            self._toggle_compare,
        )
        self.compare_action.setCheckable(True)
        self.mode_box = QComboBox(bar)
        self.mode_box.addItem("Slider", CompareMode.SLIDER.value)
        self.mode_box.addItem("Side by side", CompareMode.SIDE_BY_SIDE.value)
        self.mode_box.setToolTip("How to compare")
        self.mode_box.currentIndexChanged.connect(
            lambda _i: self.compare_view.set_mode(self.mode_box.currentData())
        )
        self.mode_box_action = bar.addWidget(self.mode_box)
        self.mode_box_action.setVisible(False)
        spacer = QWidget(bar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.save_action = action("Save As…", "Save the image as a PNG", self.save_as)
        self.copy_action = action("Copy", "Copy the image to the clipboard", self.copy)
        self.folder_action = action("Folder", "Open the output folder", self.open_output_folder)
        # last: in a narrow dock it is the one that moves into the toolbar's » menu
        self.use_action = action(
            "Use as Input",
            "Put this image on the canvas as a Load Image node and paint a mask on it",
            self.use_as_input,
        )
        return bar

    # ------------------------------------------------------------ queries
    def current_result(self) -> ImageResult | None:
        """The result shown (in compare mode: B), or None while a preview or nothing shows."""
        if self._compare_pair is not None:
            return self.run_state.results[self._compare_pair[1]]
        if self._shown is None:
            return None
        return self.run_state.results[self._shown]

    def current_image(self) -> QImage | None:
        """What the view shows now: a result or the live preview."""
        return self.view.image()

    def is_comparing(self) -> bool:
        return self._compare_pair is not None

    # ------------------------------------------------------------ showing
    def show_result(self, index: int) -> None:
        """Show result ``index`` of this session (an index into ``run_state.results``)."""
        results = self.run_state.results
        if not 0 <= index < len(results):
            return
        if self._compare_pair is not None:
            self.compare(self._compare_pair[0], index)
            return
        result = results[index]
        self._shown = index
        self.view.set_image(to_qimage(result.image))
        self.stack.setCurrentWidget(self.view)
        item = self.strip.item(index)
        if item is not None and not item.isSelected():
            self.strip.blockSignals(True)
            self.strip.setCurrentItem(item)
            self.strip.blockSignals(False)
            self.strip.scrollToItem(item)
        self._update_actions()

    def compare(self, a: int, b: int, mode: CompareMode | str | None = None) -> None:
        """Compare results ``a`` and ``b`` (indices into ``run_state.results``)."""
        results = self.run_state.results
        if not (0 <= a < len(results) and 0 <= b < len(results)):
            return
        self._compare_pair = (a, b)
        if mode is not None:
            self.mode_box.setCurrentIndex(self.mode_box.findData(CompareMode(mode).value))
        self.compare_view.set_mode(self.mode_box.currentData())
        self.compare_view.set_images(
            to_qimage(results[a].image),
            to_qimage(results[b].image),
            (f"A · #{a + 1}", f"B · #{b + 1}"),
        )
        self.stack.setCurrentWidget(self.compare_view)
        self.compare_action.setChecked(True)
        self.mode_box_action.setVisible(True)
        self._update_actions()

    def stop_comparing(self) -> None:
        if self._compare_pair is None:
            return
        shown = self._compare_pair[1]
        self._compare_pair = None
        self.compare_action.setChecked(False)
        self.mode_box_action.setVisible(False)
        self.show_result(shown)

    def _toggle_compare(self, checked: bool) -> None:
        if not checked:
            self.stop_comparing()
            return
        picked = sorted(self.strip.row(i) for i in self.strip.selectedItems())
        count = len(self.run_state.results)
        if len(picked) >= 2:
            self.compare(picked[-2], picked[-1])
        elif count >= 2:
            b = self._shown if self._shown is not None else count - 1
            self.compare(b - 1 if b > 0 else 1, b)
        else:
            self.compare_action.setChecked(False)
            self.statusMessage.emit("Compare needs two results")

    def _selection_changed(self) -> None:
        rows = sorted(self.strip.row(i) for i in self.strip.selectedItems())
        if not rows:
            return
        if self._compare_pair is not None:
            if len(rows) >= 2:
                self.compare(rows[-2], rows[-1])
            else:
                self.compare(self._compare_pair[0], rows[0])
            return
        current = self.strip.currentRow()
        self.show_result(current if current in rows else rows[-1])

    # ------------------------------------------------------------ run state
    def _result_added(self, result: ImageResult) -> None:
        self._add_thumbnail(result)
        if self._compare_pair is None:
            self.show_result(len(self.run_state.results) - 1)

    def _add_thumbnail(self, result: ImageResult) -> None:
        index = self.strip.count()
        item = QListWidgetItem()
        item.setData(THUMB_ROLE, _thumbnail(to_qimage(result.image), self.devicePixelRatioF()))
        item.setToolTip(_describe(result, index))
        self.strip.addItem(item)
        self.strip.show()

    def _preview(self, node_id: str, array: object) -> None:
        """A live preview replaces the view (unless comparing) until the result lands."""
        if self._compare_pair is not None or not isinstance(array, np.ndarray):
            return
        status = self.run_state.status(node_id)
        caption = "Preview"
        if status.total:
            caption += f" · {status.step}/{status.total}"
        self._shown = None
        self.strip.clearSelection()
        self.view.set_image(to_qimage(array), caption)
        self.stack.setCurrentWidget(self.view)
        self._update_actions()

    def _run_finished(self, _run: object) -> None:
        """A preview still showing when its run ends is of an image that never came (the
        run was cancelled or failed): show the last finished image again, or nothing."""
        if self._shown is not None or self._compare_pair is not None:
            return
        if self.view.image() is None:
            return
        if self.run_state.results:
            self.show_result(len(self.run_state.results) - 1)
        else:
            self.view.set_image(None)
            self._update_actions()

    # ------------------------------------------------------------ actions
    def set_settings(self, settings: Settings) -> None:
        self.settings = settings

    def save_as(self) -> Path | None:
        """Ask where, then write the shown result as a PNG; returns the file written."""
        result = self.current_result()
        if result is None:
            return None
        source = Path(result.file) if result.file else None
        name = source.name if source else f"daguerre_run{result.run_id}_{result.node_id}.png"
        folder = self._last_save_dir or self.settings.outputs()
        chosen, _ = QFileDialog.getSaveFileName(
            self, "Save Image As", str(folder / name), "PNG images (*.png)"
        )
        if not chosen:
            return None
        target = Path(chosen)
        if target.suffix.lower() != ".png":
            target = target.with_name(target.name + ".png")
        try:
            if source is not None and source.is_file() and source.suffix.lower() == ".png":
                if source.resolve() != target.resolve():
                    shutil.copyfile(source, target)  # keeps the embedded workflow
            # PySide6's stub types the format as bytes, but at run time only str works
            elif not to_qimage(result.image).save(str(target), "PNG"):  # pyright: ignore[reportArgumentType, reportCallIssue]
                raise OSError(f"could not write {target}")
        except OSError as exc:
            QMessageBox.warning(self, "Save Image As", f"The image could not be saved.\n\n{exc}")
            return None
        self._last_save_dir = target.parent
        self.statusMessage.emit(f"Saved {target}")
        return target

    def use_as_input(self) -> None:
        result = self.current_result()
        if result is not None:
            self.useAsInputRequested.emit(result)

    def copy(self) -> None:
        image = self.current_image() if self._compare_pair is None else None
        if image is None and (result := self.current_result()) is not None:
            image = to_qimage(result.image)
        if image is not None:
            QGuiApplication.clipboard().setImage(image)
            self.statusMessage.emit("Image copied to the clipboard")

    def open_output_folder(self) -> Path:
        folder = self.settings.outputs()
        with contextlib.suppress(OSError):  # the file manager shows why, if it can't
            folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
        return folder

    # ------------------------------------------------------------ state
    def _zoom_changed(self, zoom: float) -> None:
        viewing = self.view.image() is not None and self._compare_pair is None
        self.zoom_button.setText(f"{zoom * 100:.0f}%" if viewing else "–")

    def _update_actions(self) -> None:
        viewing = self.view.image() is not None and self._compare_pair is None
        for act in (self.fit_action, self.actual_action, self.zoom_in_action, self.zoom_out_action):
            act.setEnabled(viewing)
        self.zoom_button.setEnabled(viewing)
        self._zoom_changed(self.view.zoom())
        self.save_action.setEnabled(self.current_result() is not None)
        self.use_action.setEnabled(self.current_result() is not None)
        self.copy_action.setEnabled(self.view.image() is not None or self.is_comparing())
        self.compare_action.setEnabled(len(self.run_state.results) >= 2)
