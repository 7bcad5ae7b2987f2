"""The mask painter: paint where a Load Image node's picture is to be regenerated.

It opens from a Load Image node (its context menu's "Edit Mask…", or a double-click on
its body) and from the image panel's "Use as Input", which first puts the shown image on
the canvas as a Load Image node. The picture's existing alpha is the starting mask; the
brush paints the mask (shown as a translucent colour), the eraser takes it away, each
with a size and a hardness; invert, clear and fill act on the whole mask. Strokes have
their own undo history (Ctrl+Z / Ctrl+Shift+Z inside the painter).

Save writes a new PNG into the inputs folder — the picture's RGB with the mask as alpha,
painted = transparent, as Load Image reads it (mask = 1 − alpha) — and points the node's
``path`` at it: one step of the document's undo history, so Ctrl+Z in the window brings
the old file back. The user's file is never written.

The canvas is :mod:`desktop.mask_canvas`'s; reading and writing the files
:mod:`desktop.mask_image`'s.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop.document import Document
from desktop.mask_canvas import SIZE_MAX, SIZE_MIN, MaskCanvas, Tool
from desktop.mask_image import MaskedImage, read_masked_image, write_masked_image
from nodes.paths import FileResolver

LOAD_IMAGE = "image.load"
"""The node type the painter edits (its ``path`` param names the picture)."""
PATH_PARAM = "path"
SLIDER_STEPS = 1000
"""Positions of the size slider (quadratic: small sizes get most of its length)."""
HINT = (
    "Painted areas are regenerated, the rest is kept.  Right-drag: the other tool · "
    "Wheel: zoom · Middle or Space+drag: pan · [ ]: size"
)


def can_edit_mask(type_id: str) -> bool:
    """Whether nodes of ``type_id`` offer "Edit Mask…"."""
    return type_id == LOAD_IMAGE


class MaskPainterDialog(QDialog):
    """Paints the mask of one Load Image node's picture (see the module docstring)."""

    def __init__(
        self, document: Document, node_id: str, source: Path, parent: QWidget | None = None
    ) -> None:
        """Raises ``OSError`` when ``source`` cannot be read as an image."""
        super().__init__(parent)
        self.document = document
        self.node_id = node_id
        self.source = source
        self.saved_path: Path | None = None
        """The file Save wrote (None until then)."""
        self.undo_stack = QUndoStack(self)
        self.view = MaskCanvas(read_masked_image(source), self.undo_stack, self)
        height, width = self.view.mask_array.shape
        self.setObjectName("maskPainter")
        self.setWindowTitle(f"Edit Mask — {source.name} ({width}×{height})[*]")
        self.setSizeGripEnabled(True)

        self.toolbar = self._build_toolbar()
        self.zoom_label = QLabel(self)
        self.zoom_label.setMinimumWidth(48)
        self.toolbar.addWidget(self.zoom_label)
        hint = QLabel(HINT, self)
        hint.setProperty("role", "muted")
        hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        self.save_button = QPushButton("Save", self)
        self.save_button.setToolTip(
            "Save the picture with this mask as a new PNG in the inputs folder and use it "
            "in the node (Ctrl+S)"
        )
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(10, 6, 10, 10)
        buttons.addWidget(hint, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)

        self.view.zoomChanged.connect(self._zoom_changed)
        self.view.brushChanged.connect(self._brush_changed)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self._brush_changed()
        self._clean_changed(True)
        self._zoom_changed(self.view.zoom())
        host = parent.window() if parent is not None else None
        if host is not None:
            self.resize(round(host.width() * 0.85), round(host.height() * 0.88))
        else:
            self.resize(1100, 800)
        self.view.setFocus()

    # ================================================================ building
    def _action(
        self, text: str, tip: str, keys: tuple[str, ...], slot: object, add: bool = True
    ) -> QAction:
        act = QAction(text, self)
        shown = f" ({keys[0]})" if keys else ""
        act.setToolTip(tip + shown)
        act.setShortcuts([QKeySequence(k) for k in keys])
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(slot)
        self.addAction(act)
        if add:
            self.toolbar.addAction(act)
        return act

    def _build_toolbar(self) -> QToolBar:
        bar = QToolBar(self)
        bar.setObjectName("maskToolbar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.toolbar = bar
        view = self.view
        tools = QActionGroup(self)
        self.brush_action = self._action(
            "Brush",
            "Paint the mask: these pixels are regenerated",
            ("B",),
            lambda: view.set_tool(Tool.BRUSH),
        )
        self.eraser_action = self._action(
            "Eraser",
            "Erase the mask: these pixels are kept",
            ("E",),
            lambda: view.set_tool(Tool.ERASER),
        )
        for act in (self.brush_action, self.eraser_action):
            act.setCheckable(True)
            tools.addAction(act)
        self._action("Swap", "Switch between brush and eraser", ("X",), self._swap_tool, add=False)
        bar.addSeparator()
        bar.addWidget(QLabel(" Size ", bar))
        self.size_slider = QSlider(Qt.Orientation.Horizontal, bar)
        self.size_slider.setRange(0, SLIDER_STEPS)
        self._largest = float(min(SIZE_MAX, max(*view.mask_array.shape, 16)))
        self.size_slider.setFixedWidth(110)
        self.size_box = QSpinBox(bar)
        self.size_box.setRange(SIZE_MIN, SIZE_MAX)
        self.size_box.setSuffix(" px")
        self.size_box.setFixedWidth(84)
        self.size_box.setToolTip("Brush diameter in image pixels ([ and ] change it)")
        self.size_slider.setToolTip(self.size_box.toolTip())
        self.size_slider.valueChanged.connect(lambda v: view.set_size(self._slider_size(v)))
        self.size_box.valueChanged.connect(view.set_size)
        bar.addWidget(self.size_slider)
        bar.addWidget(self.size_box)
        self._action("Smaller", "Smaller brush", ("[",), lambda: self._scale_size(1 / 1.2), False)
        self._action("Larger", "Larger brush", ("]",), lambda: self._scale_size(1.2), False)
        bar.addWidget(QLabel("  Hardness ", bar))
        self.hardness_slider = QSlider(Qt.Orientation.Horizontal, bar)
        self.hardness_slider.setRange(0, 100)
        self.hardness_slider.setFixedWidth(80)
        self.hardness_box = QSpinBox(bar)
        self.hardness_box.setRange(0, 100)
        self.hardness_box.setSuffix(" %")
        self.hardness_box.setFixedWidth(72)
        self.hardness_box.setToolTip("100% paints a hard edge, 0% fades out from the center")
        self.hardness_slider.setToolTip(self.hardness_box.toolTip())
        self.hardness_slider.valueChanged.connect(lambda v: view.set_hardness(v / 100))
        self.hardness_box.valueChanged.connect(lambda v: view.set_hardness(v / 100))
        bar.addWidget(self.hardness_slider)
        bar.addWidget(self.hardness_box)
        bar.addSeparator()
        self._action(
            "Invert",
            "Regenerate what is kept and keep what is painted",
            ("Ctrl+I",),
            view.invert,
        )
        self._action("Clear", "Nothing masked: keep the whole picture", ("Del",), view.clear)
        self._action(
            "Fill", "Everything masked: regenerate the whole picture", ("Ctrl+F",), view.fill
        )
        bar.addSeparator()
        self.undo_action = self._action("Undo", "Undo the last stroke", ("Ctrl+Z",), self.undo)
        self.redo_action = self._action("Redo", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), self.redo)
        self.undo_stack.canUndoChanged.connect(self.undo_action.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_action.setEnabled)
        self.undo_action.setEnabled(False)
        self.redo_action.setEnabled(False)
        spacer = QWidget(bar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.show_action = self._action(
            "Show Mask",
            "Show or hide the mask over the picture",
            ("H",),
            view.set_overlay_visible,
        )
        self.show_action.setCheckable(True)
        self.show_action.setChecked(True)
        self._action("Fit", "Fit the picture to the window", ("F", "."), view.fit)
        self._action("100%", "One image pixel per screen pixel", ("1",), view.actual_size)
        self._action("Save", "Save", ("Ctrl+S",), self.save, add=False)
        return bar

    # ================================================================ state
    def _brush_changed(self) -> None:
        view = self.view
        (self.brush_action if view.tool is Tool.BRUSH else self.eraser_action).setChecked(True)
        size, hardness = round(view.brush_size), round(view.hardness * 100)
        slider = self.size_slider.value()  # kept while it already means this size
        if self._slider_size(slider) != size:
            slider = self._size_slider(size)
        for widget, value in (
            (self.size_slider, slider),
            (self.size_box, size),
            (self.hardness_slider, hardness),
            (self.hardness_box, hardness),
        ):
            if widget.value() != value:
                widget.blockSignals(True)
                widget.setValue(value)
                widget.blockSignals(False)

    def _zoom_changed(self, zoom: float) -> None:
        self.zoom_label.setText(f" {zoom * 100:.0f}% ")

    def _clean_changed(self, clean: bool) -> None:
        self.save_button.setEnabled(not clean)
        self.setWindowModified(not clean)

    def _slider_size(self, value: int) -> float:
        """The brush size at a slider position: finer steps for small brushes."""
        return round(SIZE_MIN + (self._largest - SIZE_MIN) * (value / SLIDER_STEPS) ** 2)

    def _size_slider(self, size: float) -> int:
        share = max(size - SIZE_MIN, 0) / (self._largest - SIZE_MIN)
        return round(min(share, 1.0) ** 0.5 * SLIDER_STEPS)

    def _swap_tool(self) -> None:
        self.view.set_tool(Tool.ERASER if self.view.tool is Tool.BRUSH else Tool.BRUSH)

    def _scale_size(self, factor: float) -> None:
        size = self.view.brush_size
        self.view.set_size(
            max(size + 1, size * factor) if factor > 1 else min(size - 1, size * factor)
        )

    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def undo(self) -> None:
        if not self.view.stroking:
            self.undo_stack.undo()

    def redo(self) -> None:
        if not self.view.stroking:
            self.undo_stack.redo()

    # ================================================================ save / cancel
    def save(self) -> Path | None:
        """Write the masked picture as a new file and point the node at it (one undo step
        of the document); returns the file, None when nothing was written."""
        if self.view.stroking:
            return None
        if not self.dirty:
            self.accept()
            return None
        if self.node_id not in self.document.graph.nodes:
            QMessageBox.warning(self, "Edit Mask", "The node was removed: nothing to save to.")
            return None
        image = MaskedImage(self.view.rgb, self.view.mask_array)
        try:
            path = write_masked_image(image, self.source.name)
        except OSError as exc:
            QMessageBox.warning(self, "Edit Mask", f"The mask could not be saved.\n\n{exc}")
            return None
        self.document.set_param(self.node_id, PATH_PARAM, str(path), text="Edit Mask")
        self.saved_path = path
        self.undo_stack.setClean()
        self.accept()
        return path

    def reject(self) -> None:
        """Cancel (Esc): unsaved strokes are lost, so ask first."""
        if self.dirty and not self._discard_ok():
            return
        self.undo_stack.setClean()
        super().reject()

    def _discard_ok(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Discard the mask?",
            "The mask has unsaved changes. Close the painter without saving them?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.dirty and not self._discard_ok():
            event.ignore()
            return
        self.undo_stack.setClean()
        super().closeEvent(event)


def picture_of(document: Document, node_id: str, resolver: FileResolver) -> Path | None:
    """The file a Load Image node's ``path`` names (None: empty or not found)."""
    data = document.graph.nodes.get(node_id)
    value = data.params.get(PATH_PARAM) if data is not None else None
    if not isinstance(value, str) or not value:
        return None
    found = resolver("images", value)
    return found if found is not None and found.is_file() else None


def open_mask_painter(
    parent: QWidget, document: Document, node_id: str, resolver: FileResolver
) -> MaskPainterDialog | None:
    """Open the painter (window-modal, not blocking) on a Load Image node's picture; says
    why in a message box and returns None when it cannot."""
    data = document.graph.nodes.get(node_id)
    if data is None or not can_edit_mask(data.type):
        return None
    source = picture_of(document, node_id, resolver)
    if source is None:
        value = data.params.get(PATH_PARAM)
        text = (
            f"The image {value} was not found." if value else "Choose an image for the node first."
        )
        QMessageBox.information(parent, "Edit Mask", text)
        return None
    try:
        dialog = MaskPainterDialog(document, node_id, source, parent)
    except OSError as exc:
        QMessageBox.warning(parent, "Edit Mask", f"{source.name} could not be opened.\n\n{exc}")
        return None
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.finished.connect(dialog.deleteLater)
    dialog.show()
    return dialog


__all__ = ["LOAD_IMAGE", "MaskPainterDialog", "can_edit_mask", "open_mask_painter", "picture_of"]
