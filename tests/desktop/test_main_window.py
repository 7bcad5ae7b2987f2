"""The whole window, driven as a person would: shortcuts, menus, runs, files."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from desktop.app import create_window
from desktop.run_state import NodeState
from nodes.workflow import load_file, to_dict


def _press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, key, modifier)


def test_opens_the_default_workflow_with_a_banner_without_models(window) -> None:
    assert set(window.document.graph.nodes) >= {"checkpoint", "sampler", "decode", "save"}
    assert window.windowTitle().startswith("Daguerre — Untitled")
    assert window.banner.isVisibleTo(window)  # no checkpoint in the models folders


def test_validation_problem_shown_on_node_and_field(qtbot, window) -> None:
    _press(qtbot, window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    problems = window.run_state.problems
    assert [(p.node_id, p.field) for p in problems] == [("checkpoint", "path")]
    assert window.problems.problem_count() == 1
    assert window.canvas.selected_nodes() == ["checkpoint"]
    assert window.run_state.runs == {}  # nothing was queued


def test_run_shows_previews_and_the_image_then_cancel_and_rerun(qtbot, window, demo_sd15) -> None:
    doc = window.document
    doc.set_param("checkpoint", "path", str(demo_sd15.single_file))
    doc.set_param("latent", "width", 64)
    doc.set_param("latent", "height", 64)
    doc.set_param("sampler", "steps", 3)
    previews: list = []
    window.run_state.previewChanged.connect(lambda node, image: previews.append(node))
    finished: list = []
    window.run_state.runFinished.connect(finished.append)
    _press(qtbot, window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(finished) == 1, timeout=60_000)
    assert finished[0].status == "done"
    assert "sampler" in previews
    assert window.image_panel.current_image() is not None
    assert window.run_state.status("save").state is NodeState.DONE

    # cancel a long run mid-way with Esc, then run again
    doc.set_param("sampler", "steps", 400)
    doc.set_param("sampler", "seed", 5)
    steps: list = []
    window.run_state.nodeChanged.connect(
        lambda node: steps.append(window.run_state.status(node).step) if node == "sampler" else None
    )
    _press(qtbot, window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: any(s >= 1 for s in steps), timeout=60_000)
    _press(qtbot, window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=30_000)
    assert finished[1].status == "cancelled"
    assert max(steps) < 400
    doc.set_param("sampler", "steps", 2)
    _press(qtbot, window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(finished) == 3, timeout=60_000)
    assert finished[2].status == "done"


def test_save_close_reopen_is_equal(qtbot, window, tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "mine.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.document.set_param("positive", "text", "a red fox in snow")
    assert window.isWindowModified()
    _press(qtbot, window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert target.is_file() and not window.isWindowModified()
    assert window.windowTitle().startswith("Daguerre — mine.json")
    saved = to_dict(window.document.graph)
    window.close()

    again = create_window(target, ask=False)
    qtbot.addWidget(again)
    assert to_dict(again.document.graph) == saved == to_dict(load_file(target, again.registry))
    assert [p.name for p in again.session.recent_files()] == ["mine.json"]
    again.close()


def test_undo_redo_shortcuts_and_unsaved_changes_prompt(qtbot, window, monkeypatch) -> None:
    before = window.document.graph.nodes["sampler"].params["steps"]
    window.document.set_param("sampler", "steps", before + 5)
    _press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.document.graph.nodes["sampler"].params["steps"] == before
    _press(qtbot, window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert window.document.graph.nodes["sampler"].params["steps"] == before + 5
    asked: list = []
    monkeypatch.setattr(
        QMessageBox,
        "question",
        lambda *a, **k: asked.append(1) or QMessageBox.StandardButton.Cancel,
    )
    window.files.new_document()  # cancelled: nothing lost
    assert asked and window.document.graph.nodes["sampler"].params["steps"] == before + 5


def test_next_start_restores_the_session_or_recovers_a_crash(qtbot, window) -> None:
    window.document.set_param("positive", "text", "remember me")
    window.document.undo_stack.setClean()
    window.close()  # a clean quit writes the session
    again = create_window(ask=False)
    qtbot.addWidget(again)
    assert again.document.graph.nodes["positive"].params["text"] == "remember me"
    again.document.set_param("positive", "text", "unsaved edit")
    again.files.autosave_now()  # the timer's job; then the app "crashes" (no close)
    recovered = create_window(ask=False)
    qtbot.addWidget(recovered)
    assert recovered.document.graph.nodes["positive"].params["text"] == "unsaved edit"
    assert recovered.document.dirty
    for win in (again, recovered):
        win.document.undo_stack.setClean()
        win.close()


def test_dropping_an_image_adds_a_load_image_node(window, tmp_path: Path) -> None:
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QImage

    picture = tmp_path / "photo.png"
    QImage(8, 8, QImage.Format.Format_RGB32).save(str(picture))
    window.canvas.filesDropped.emit([str(picture)], QPointF(10, 10))
    loads = [n for n in window.document.graph.nodes.values() if n.type == "image.load"]
    assert [n.params["path"] for n in loads] == [str(picture)]


def test_open_comfyui_json_and_png_by_menu_and_drop(
    qtbot, window, tmp_path: Path, monkeypatch
) -> None:
    import json

    from PySide6.QtCore import QPointF

    from nodes.workflow.png import encode_png
    from tests.comfy.comfy_docs import sd15_api, sd15_ui

    ui_file = tmp_path / "comfy.json"
    ui_file.write_text(json.dumps(sd15_ui().doc()))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(ui_file), ""))
    _press(qtbot, window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    types = {n.type for n in window.document.graph.nodes.values()}
    assert {"sampling.sampler", "sampling.scheduler", "loaders.checkpoint"} <= types
    assert window.document.path is None  # imported: Save never overwrites the ComfyUI file
    assert window.document.dirty

    import numpy as np

    png = tmp_path / "comfy.png"
    png.write_bytes(encode_png(np.zeros((8, 8, 3), np.uint8), {"prompt": json.dumps(sd15_api())}))
    window.document.new()
    window.canvas.filesDropped.emit([str(png)], QPointF(0, 0))
    assert any(n.type == "sampling.sampler" for n in window.document.graph.nodes.values())


def test_new_from_template(window) -> None:
    titles = [a.text() for a in window.template_menu.actions()]
    assert "Text to image" in titles and len(titles) >= 7
    action = next(a for a in window.template_menu.actions() if a.text() == "Image to image")
    action.trigger()
    assert "encode" in window.document.graph.nodes
    assert window.document.path is None  # a template is a starting point, never overwritten


def test_the_first_window_fits_a_small_screen() -> None:
    from desktop.main_window import FIRST_SIZE, first_window_size

    assert first_window_size((1920, 1040)) == (FIRST_SIZE, False)
    assert first_window_size(None) == (FIRST_SIZE, False)
    assert first_window_size((1280, 690)) == ((1280, 690), True)
    assert first_window_size((1440, 860)) == ((1440, 860), True)


def test_the_first_view_shows_the_graphs_start_once_the_docks_have_their_room(
    qtbot, _isolated_home
) -> None:
    """On a first start the docks take their sizes after the canvas was fitted; a small
    window then cut off the first node's title (a graph too wide shows its left end)."""
    from desktop.app import create_window
    from desktop.canvas.navigation import visible_scene_rect

    win = create_window(ask=False)
    qtbot.addWidget(win)
    win.resize(1280, 690)
    win.show()
    qtbot.waitExposed(win)
    for _ in range(5):
        qtbot.wait(20)
    shown = visible_scene_rect(win.canvas)
    graph = win.canvas.canvas_scene.itemsBoundingRect()
    assert shown.left() <= graph.left() + 1 and shown.top() <= graph.top() + 1
    win.canvas.fit_view()  # what Fit shows for the canvas as it now is: the same view
    assert visible_scene_rect(win.canvas) == shown
    win.document.undo_stack.setClean()
    win.close()
