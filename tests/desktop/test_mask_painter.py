"""The mask painter, driven as a person would: open it from a Load Image node, paint with the
mouse, invert, undo, save; the saved file, the node's path and the window's undo; images
dropped on the canvas and "Use as Input" from the image panel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.canvas.view import CanvasView
from desktop.main_window import MainWindow
from desktop.mask_canvas import MaskCanvas, Tool, brush_dab
from desktop.mask_image import mask_file_stem, read_masked_image
from desktop.mask_painter import MaskPainterDialog
from nodes.events import NodeResult
from nodes.paths import inputs_dir
from tests.desktop.canvas_helpers import node

LEFT = Qt.MouseButton.LeftButton
RIGHT = Qt.MouseButton.RightButton
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A 64×64 RGB gradient without alpha."""
    ys, xs = np.mgrid[0:64, 0:64]
    rgb = np.stack([xs * 4, ys * 4, np.full_like(xs, 128)], axis=-1).astype(np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(rgb, "RGB").save(path)
    return path


def _load_node(window: MainWindow, path: Path) -> str:
    return window.document.add_node("image.load", (0.0, 0.0), {"path": str(path)})


def _open(qtbot: QtBot, window: MainWindow, node_id: str) -> MaskPainterDialog:
    painter = window.edit_mask(node_id)
    assert isinstance(painter, MaskPainterDialog)
    qtbot.waitExposed(painter)
    painter.activateWindow()
    QApplication.processEvents()
    return painter


def _stroke(qtbot: QtBot, view: MaskCanvas, points: list[tuple[float, float]], button=LEFT) -> None:
    """Press, move through ``points`` (image pixels) and release, with real mouse events."""
    at = [view.widget_pos(QPointF(x, y)).toPoint() for x, y in points]
    qtbot.mousePress(view, button, pos=at[0])
    for point in at[1:]:
        qtbot.mouseMove(view, point)
    qtbot.mouseRelease(view, button, pos=at[-1])


def _drop_files(view: CanvasView, paths: list[Path], at: QPointF) -> None:
    """Drag enter, move and drop of files, as from a file manager."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    viewport = view.viewport()
    action, none = Qt.DropAction.CopyAction, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(at.toPoint(), action, mime, LEFT, none)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, QDragMoveEvent(at.toPoint(), action, mime, LEFT, none))
    QApplication.sendEvent(viewport, QDropEvent(at, action, mime, LEFT, none))


def _hard_brush(painter: MaskPainterDialog, size: int) -> None:
    painter.size_box.setValue(size)
    painter.hardness_box.setValue(100)
    assert (painter.view.brush_size, painter.view.hardness) == (size, 1.0)


def test_paint_invert_save_points_the_node_at_a_new_file(
    qtbot: QtBot, window: MainWindow, photo: Path
) -> None:
    original = photo.read_bytes()
    node_id = _load_node(window, photo)
    painter = _open(qtbot, window, node_id)
    view = painter.view
    assert view.mask_array.shape == (64, 64) and not view.mask_array.any()  # no alpha: no mask
    assert not painter.save_button.isEnabled()  # nothing to save yet
    _hard_brush(painter, 8)

    _stroke(qtbot, view, [(8, 32), (20, 32), (36, 32), (56, 32)])
    mask = view.mask_array
    assert mask[32, 8:57].min() == 255  # the stroke, end to end
    assert mask[30:35, 30].min() == 255 and mask[26, 30] == 0 and mask[38, 30] == 0
    assert mask[:20].max() == 0 and mask[45:].max() == 0
    assert painter.save_button.isEnabled()

    qtbot.keyClick(view, Qt.Key.Key_I, CTRL)  # invert
    inverted = view.mask_array.copy()
    assert inverted[32, 30] == 0 and inverted[5, 5] == 255

    qtbot.mouseClick(painter.save_button, LEFT)
    saved = Path(window.document.graph.nodes[node_id].params["path"])
    assert painter.saved_path == saved
    assert saved != photo and saved.parent == inputs_dir() and saved.name == "photo_mask_00001.png"
    with Image.open(saved) as file:
        assert file.mode == "RGBA"
        pixels = np.asarray(file)
    assert np.array_equal(pixels[..., 3], 255 - inverted)  # painted = alpha 0 (mask = 1 − alpha)
    assert pixels[32, 30, 3] == 255 and pixels[5, 5, 3] == 0
    assert np.array_equal(pixels[..., :3], np.asarray(Image.open(photo)))
    assert photo.read_bytes() == original  # the user's file is untouched
    assert not painter.isVisible()

    # one step of the window's history: Ctrl+Z brings the old file back
    assert window.document.undo_stack.undoText() == "Edit Mask"
    window.activateWindow()  # offscreen, no window manager gives it back after the dialog
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, CTRL)
    assert window.document.graph.nodes[node_id].params["path"] == str(photo)
    assert saved.is_file()  # undo never deletes what was saved


def test_painter_undo_and_redo_strokes(qtbot: QtBot, window: MainWindow, photo: Path) -> None:
    painter = _open(qtbot, window, _load_node(window, photo))
    view = painter.view
    _hard_brush(painter, 6)
    _stroke(qtbot, view, [(10, 10), (30, 10)])
    _stroke(qtbot, view, [(10, 50), (30, 50)])
    assert view.mask_array[10, 20] == 255 and view.mask_array[50, 20] == 255

    qtbot.keyClick(view, Qt.Key.Key_Z, CTRL)
    assert view.mask_array[10, 20] == 255 and view.mask_array[50].max() == 0
    qtbot.keyClick(view, Qt.Key.Key_Z, CTRL)
    assert not view.mask_array.any()
    assert not painter.save_button.isEnabled()  # back where it started
    qtbot.keyClick(view, Qt.Key.Key_Z, CTRL | SHIFT)
    assert view.mask_array[10, 20] == 255 and view.mask_array[50].max() == 0
    qtbot.keyClick(view, Qt.Key.Key_Y, CTRL)
    assert view.mask_array[50, 20] == 255

    # the eraser (here: the right button) takes the mask away; it is a step of its own
    _stroke(qtbot, view, [(5, 10), (40, 10)], button=RIGHT)
    assert view.mask_array[10].max() == 0 and view.mask_array[50, 20] == 255
    assert painter.undo_stack.undoText() == "Erase"
    painter.undo_action.trigger()
    assert view.mask_array[10, 20] == 255

    # whole-mask tools, each one undoable step
    painter.eraser_action.trigger()
    assert view.tool is Tool.ERASER
    view.fill()
    assert view.mask_array.min() == 255
    view.clear()
    assert not view.mask_array.any()
    painter.undo_action.trigger()
    assert view.mask_array.min() == 255

    window.document.undo_stack.clear()
    painter.reject()  # unsaved strokes: asks (Discard here), then closes without a change
    assert not painter.isVisible()
    assert window.document.graph.nodes[next(iter(window.document.graph.nodes))]
    assert window.document.undo_stack.count() == 0


def test_existing_alpha_is_the_starting_mask_and_saving_again_never_overwrites(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    rgba = np.full((48, 40, 4), 200, np.uint8)
    rgba[..., 3] = 255
    rgba[:, :20, 3] = 0  # the left half is transparent: to be regenerated
    source = tmp_path / "half.png"
    Image.fromarray(rgba, "RGBA").save(source)
    node_id = _load_node(window, source)
    painter = _open(qtbot, window, node_id)
    assert (
        painter.view.mask_array[:, :20].min() == 255 and painter.view.mask_array[:, 20:].max() == 0
    )
    painter.view.invert()
    first = painter.save()
    assert first is not None and first.name == "half_mask_00001.png"

    again = _open(qtbot, window, node_id)  # now on the saved file: its alpha is the mask
    assert again.source == first
    assert again.view.mask_array[:, 20:].min() == 255 and again.view.mask_array[:, :20].max() == 0
    again.view.clear()
    second = again.save()
    assert second is not None and second.name == "half_mask_00002.png"
    assert read_masked_image(first).mask[:, 20:].min() == 255  # the first file is as it was
    assert window.document.graph.nodes[node_id].params["path"] == str(second)
    assert mask_file_stem("photo_mask_00012.png") == "photo_mask"
    assert mask_file_stem("my.photo.jpg") == "my.photo_mask"


def test_zoom_and_pan(qtbot: QtBot, window: MainWindow, photo: Path) -> None:
    painter = _open(qtbot, window, _load_node(window, photo))
    view = painter.view
    fitted = view.zoom()
    assert fitted > 2  # a 64 px picture fills the window
    center = QPointF(view.rect().center())
    under = view.image_pos(center)
    view.set_zoom(fitted * 2, center)
    assert view.image_pos(center).x() == pytest.approx(under.x())
    start = view.widget_pos(QPointF(32, 32)).toPoint()
    qtbot.mousePress(view, Qt.MouseButton.MiddleButton, pos=start)
    qtbot.mouseMove(view, start + QPointF(40, 0).toPoint())
    qtbot.mouseRelease(view, Qt.MouseButton.MiddleButton, pos=start + QPointF(40, 0).toPoint())
    assert view.image_pos(QPointF(start)).x() == pytest.approx(32 - 40 / view.zoom(), abs=0.01)
    assert not view.mask_array.any()  # panning never paints
    qtbot.keyClick(view, Qt.Key.Key_F)
    assert view.zoom() == pytest.approx(fitted)
    painter.reject()


def test_soft_brush_falls_off_and_hard_brush_is_solid() -> None:
    hit = brush_dab(21, 1.0, (10.5, 10.5), (64, 64))
    assert hit is not None
    top, left, hard = hit
    assert (top, left) == (0, 0) and hard[10, 10] == 255 and hard[10, 1] == 255 and hard[0, 0] == 0
    soft = brush_dab(21, 0.0, (10.5, 10.5), (64, 64))
    assert soft is not None
    assert soft[2][10, 10] == 255 and 0 < soft[2][10, 5] < 255 and soft[2][10, 0] < 10
    assert brush_dab(8, 1.0, (-20, -20), (64, 64)) is None


def test_edit_mask_from_the_node_menu_and_double_click(
    qtbot: QtBot, window: MainWindow, photo: Path
) -> None:
    empty = window.document.add_node("image.load", (0.0, 0.0))
    menu = node(window.canvas, empty).context_menu()
    action = next(a for a in menu.actions() if a.text() == "Edit Mask…")
    assert not action.isEnabled()  # no picture yet
    node_id = _load_node(window, photo)
    item = node(window.canvas, node_id)
    menu = item.context_menu()
    action = next(a for a in menu.actions() if a.text() == "Edit Mask…")
    assert action.isEnabled()
    with qtbot.waitSignal(window.canvas.maskEditRequested) as blocker:
        action.trigger()
    assert blocker.args == [node_id]
    painter = window.findChild(MaskPainterDialog)
    assert painter is not None and painter.node_id == node_id
    painter.reject()

    window.canvas.center_on_node(node_id)
    QApplication.processEvents()
    body = item.mapToScene(QPointF(item.width / 2, item.boundingRect().height() - 6))
    with qtbot.waitSignal(window.canvas.maskEditRequested):
        qtbot.mouseDClick(window.canvas.viewport(), LEFT, pos=window.canvas.mapFromScene(body))
    menu = node(window.canvas, "sampler").context_menu()
    assert not any("Edit Mask" in a.text() for a in menu.actions())


def test_dropping_a_plain_png_makes_a_load_image_node(
    qtbot: QtBot, window: MainWindow, photo: Path
) -> None:
    window.document.new()
    at = QPointF(300, 200)
    _drop_files(window.canvas, [photo], at)
    loads = [n for n in window.document.graph.nodes.values() if n.type == "image.load"]
    assert [n.params["path"] for n in loads] == [str(photo)]
    scene_pos = window.canvas.mapToScene(at.toPoint())
    assert loads[0].position == pytest.approx((scene_pos.x(), scene_pos.y()))


def test_use_as_input_from_the_image_panel(qtbot: QtBot, window: MainWindow, photo: Path) -> None:
    panel = window.image_panel
    assert not panel.use_action.isEnabled()  # nothing shown
    pixels = np.zeros((32, 48, 3), np.uint8)
    pixels[..., 1] = 180
    results = (
        NodeResult(1, "preview", images=(pixels,)),
        NodeResult(2, "save", files=(str(photo),), images=(pixels,)),
    )
    for result in results:
        window.bridge.nodeResult.emit(result)
        assert panel.use_action.isEnabled()
        before = set(window.document.graph.nodes)
        with qtbot.waitSignal(panel.useAsInputRequested):
            panel.use_action.trigger()
        (node_id,) = set(window.document.graph.nodes) - before
        path = Path(window.document.graph.nodes[node_id].params["path"])
        if not result.files:  # no file of its own: its pixels become one
            assert path.parent == inputs_dir() and path.name == "run1_preview_00001.png"
            assert np.array_equal(np.asarray(Image.open(path)), pixels)
        else:
            assert path == photo
        painter = window.findChildren(MaskPainterDialog)[-1]
        assert painter.source == path and painter.isVisible()
        painter.reject()
