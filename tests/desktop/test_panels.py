"""The dock panels, the settings dialog and the theme, driven the way a person uses them.

Engine events are emitted on a real :class:`EngineBridge` by hand (no model runs), so the
panels see exactly what they see in the app: RunState interprets, the panels react.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import (
    QAction,
    QDesktopServices,
    QGuiApplication,
    QImage,
    QPalette,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QDialogButtonBox,
    QFileDialog,
    QMenu,
    QToolBar,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop.bridge import EngineBridge
from desktop.mime import NODE_TYPE_MIME, node_mime_data
from desktop.node_search import rank_node_types
from desktop.panels import ImagePanel, LibraryPanel, ProblemsPanel, RunPanel
from desktop.panels.common import top_level_items
from desktop.panels.image_view import CompareMode
from desktop.run_state import RunState
from desktop.settings_dialog import SettingsDialog
from desktop.theme import COLORS, apply_theme, load_stylesheet, theme_dir
from nodes.context import Environment
from nodes.events import (
    NodeFailed,
    NodeFinished,
    NodeProgress,
    NodeResult,
    NodeStarted,
    Problem,
    RunFinished,
    RunQueued,
    RunStarted,
    RunStatus,
)
from nodes.library import load_builtin_nodes
from nodes.registry import Registry
from nodes.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_builtin_nodes(Registry())


@pytest.fixture
def bridge(qtbot: QtBot, registry: Registry, tmp_path: Path) -> Iterator[EngineBridge]:
    engine = EngineBridge(registry, Environment(output_dir=tmp_path / "output"))
    yield engine
    engine.shutdown()


@pytest.fixture
def run_state(bridge: EngineBridge) -> RunState:
    return RunState(bridge)


def _image(color: tuple[int, int, int], height: int = 48, width: int = 64) -> np.ndarray:
    array = np.zeros((height, width, 3), np.uint8)
    array[:, :] = color
    return array


def _button(toolbar: QToolBar, action: QAction) -> QWidget:
    widget = toolbar.widgetForAction(action)
    assert widget is not None and widget.isVisible() and widget.isEnabled()
    return widget


def _row(tree: QTreeWidget, index: int) -> QTreeWidgetItem:
    row = tree.topLevelItem(index)
    assert row is not None, f"no row {index}"
    return row


def _pick(menu: QMenu, text: str) -> None:
    """Choose ``text`` in a menu (as if picked from the open menu)."""
    action = next(a for a in menu.actions() if a.text() == text)
    assert action.isEnabled()
    action.trigger()


def _show(qtbot: QtBot, widget: QWidget, width: int = 480, height: int = 420) -> None:
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)


# ---------------------------------------------------------------- library
def test_library_lists_every_type_with_its_description(qtbot: QtBot, registry: Registry):
    panel = LibraryPanel(registry)
    _show(qtbot, panel)
    listed = sorted(cls.type_id for cls in registry if cls.listed)
    assert sorted(panel.visible_type_ids()) == listed
    assert "comfy.placeholder" not in listed  # made by the importer, not offered to people
    assert "utility.note" in panel.visible_type_ids()
    sampler = panel.item_for("sampling.sampler")
    assert sampler is not None
    assert sampler.toolTip(0) == registry["sampling.sampler"].description()
    category = sampler.parent()
    assert category is not None and category.text(0) == "Sampling"


def test_library_search_filters_by_words_in_any_order(qtbot: QtBot, registry: Registry):
    panel = LibraryPanel(registry)
    _show(qtbot, panel)
    qtbot.keyClicks(panel.search, "BLANK latent empty")
    assert panel.visible_type_ids() == ["latent.empty"]
    panel.search.clear()
    qtbot.keyClicks(panel.search, "decode vae")  # Load VAE's description mentions decoding
    assert set(panel.visible_type_ids()) == {"vae.decode", "loaders.vae"}
    assert panel.current_type_id() == "vae.decode"  # the title match is picked for Enter
    panel.search.clear()
    qtbot.keyClicks(panel.search, "primitive.seed")  # the type id
    assert panel.visible_type_ids() == ["primitive.seed"]
    panel.search.clear()
    qtbot.keyClicks(panel.search, "canny")  # title and description
    assert set(panel.visible_type_ids()) >= {"image.canny"}
    panel.search.clear()
    qtbot.keyClicks(panel.search, "no such thing")
    assert panel.visible_type_ids() == []
    panel.search.clear()
    assert len(panel.visible_type_ids()) == len([c for c in registry if c.listed])


def test_library_enter_picks_what_the_node_search_puts_first(qtbot: QtBot, registry: Registry):
    """One ranking: among the library's matches, Enter takes the Tab popup's favourite."""
    panel = LibraryPanel(registry)
    _show(qtbot, panel)
    for query in ("sampler", "vae dec", "ckpt", "text encode", "lora", "image", "seed"):
        panel.search.clear()
        qtbot.keyClicks(panel.search, query)
        shown = set(panel.visible_type_ids())
        if not shown:
            continue
        ranked = [c.type_id for c in rank_node_types(registry, query) if c.type_id in shown]
        assert ranked, query
        assert panel.current_type_id() == ranked[0], query


def test_library_double_click_and_enter_ask_to_add(qtbot: QtBot, registry: Registry):
    panel = LibraryPanel(registry)
    _show(qtbot, panel, height=700)
    item = panel.item_for("sampling.sampler")
    assert item is not None
    panel.tree.scrollToItem(item)
    center = panel.tree.visualItemRect(item).center()
    asked: list[str] = []
    panel.addNodeRequested.connect(asked.append)
    # A person's double-click: a click, then the second press arrives as a double-click.
    qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert asked == []
    qtbot.mouseDClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert asked == ["sampling.sampler"]

    qtbot.keyClicks(panel.search, "checkpoint")
    with qtbot.waitSignal(panel.addNodeRequested, timeout=1000) as blocker:
        qtbot.keyClick(panel.search, Qt.Key.Key_Return)
    assert blocker.args == ["loaders.checkpoint"]


def test_library_arrow_keys_pick_among_matches(qtbot: QtBot, registry: Registry):
    panel = LibraryPanel(registry)
    _show(qtbot, panel)
    qtbot.keyClicks(panel.search, "text encode")
    first = panel.current_type_id()
    qtbot.keyClick(panel.search, Qt.Key.Key_Down)
    assert panel.current_type_id() not in (None, first)
    assert panel.search.hasFocus() or not panel.isActiveWindow()


def test_library_drag_carries_the_type_id(qtbot: QtBot, registry: Registry):
    mime = node_mime_data("sampling.sampler")
    assert bytes(mime.data(NODE_TYPE_MIME).data()) == b"sampling.sampler"
    panel = LibraryPanel(registry)
    qtbot.addWidget(panel)
    item = panel.item_for("latent.empty")
    assert item is not None
    assert item.flags() & Qt.ItemFlag.ItemIsDragEnabled
    category = item.parent()
    assert category is not None and not category.flags() & Qt.ItemFlag.ItemIsDragEnabled
    dragged = panel.tree.mimeData([item])
    assert NODE_TYPE_MIME in panel.tree.mimeTypes()
    assert bytes(dragged.data(NODE_TYPE_MIME).data()).decode("utf-8") == "latent.empty"


# ---------------------------------------------------------------- image panel
def test_image_panel_shows_previews_then_the_result(
    qtbot: QtBot, bridge: EngineBridge, run_state: RunState
):
    panel = ImagePanel(run_state, Settings())
    _show(qtbot, panel)
    assert panel.current_image() is None
    bridge.runStarted.emit(RunStarted(1, ("sampler", "save")))
    bridge.nodeStarted.emit(NodeStarted(1, "sampler"))
    bridge.nodeProgress.emit(NodeProgress(1, "sampler", 3, 20, preview=_image((0, 255, 0), 8, 8)))
    preview = panel.current_image()
    assert preview is not None and preview.width() == 8
    assert panel.current_result() is None
    bridge.nodeResult.emit(NodeResult(1, "save", images=(_image((200, 10, 30)),)))
    shown = panel.current_image()
    assert shown is not None and (shown.width(), shown.height()) == (64, 48)
    assert shown.pixelColor(5, 5).red() == 200
    assert panel.strip.count() == 1 and panel.strip.isVisible()


def test_image_panel_zoom_and_pan(qtbot: QtBot, bridge: EngineBridge, run_state: RunState):
    panel = ImagePanel(run_state, Settings())
    _show(qtbot, panel)
    bridge.nodeResult.emit(NodeResult(1, "save", images=(_image((9, 9, 9), 40, 40),)))
    view = panel.view
    assert view.is_fit() and view.zoom() > 1.0  # a small image fills the view
    _pick(panel.zoom_menu, "Actual Size (100%)")
    assert view.zoom() == pytest.approx(1.0)
    assert panel.zoom_button.text() == "100%"
    _pick(panel.zoom_menu, "Zoom In")
    assert view.zoom() == pytest.approx(1.25)
    center = QPointF(view.width() / 2, view.height() / 2)
    wheel = QWheelEvent(
        center,
        view.mapToGlobal(center),
        QPoint(),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view, wheel)
    assert view.zoom() == pytest.approx(1.25**3)
    before = view.image_rect().topLeft()
    start = QPoint(view.width() // 2, view.height() // 2)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view, start + QPoint(20, 10))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=start + QPoint(20, 10))
    moved = view.image_rect().topLeft() - before
    assert (round(moved.x()), round(moved.y())) == (20, 10)
    qtbot.mouseClick(_button(panel.toolbar, panel.fit_action), Qt.MouseButton.LeftButton)
    assert view.is_fit()


def test_save_as_writes_a_png(
    qtbot: QtBot,
    bridge: EngineBridge,
    run_state: RunState,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    panel = ImagePanel(run_state, Settings())
    _show(qtbot, panel)
    bridge.nodeResult.emit(NodeResult(1, "preview", images=(_image((10, 120, 240)),)))
    target = tmp_path / "saved"  # no suffix: .png is added
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), "PNG images (*.png)")
    )
    qtbot.mouseClick(_button(panel.toolbar, panel.save_action), Qt.MouseButton.LeftButton)
    written = QImage(str(target) + ".png")
    assert (written.width(), written.height()) == (64, 48)
    assert written.pixelColor(3, 3).blue() == 240


def test_save_as_copies_the_saved_file_to_keep_its_workflow(
    qtbot: QtBot,
    bridge: EngineBridge,
    run_state: RunState,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    source = tmp_path / "out_00001.png"
    image = QImage(16, 16, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.red)
    image.setText("workflow", '{"format": "daguerre.workflow"}')
    assert image.save(str(source))
    panel = ImagePanel(run_state, Settings())
    _show(qtbot, panel)
    bridge.nodeResult.emit(
        NodeResult(1, "save", files=(str(source),), images=(_image((255, 0, 0), 16, 16),))
    )
    target = tmp_path / "copy.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert panel.save_as() == target
    assert target.read_bytes() == source.read_bytes()
    assert QImage(str(target)).text("workflow").startswith("{")


def test_copy_puts_the_image_on_the_clipboard(
    qtbot: QtBot, bridge: EngineBridge, run_state: RunState
):
    panel = ImagePanel(run_state, Settings())
    _show(qtbot, panel)
    bridge.nodeResult.emit(NodeResult(1, "save", images=(_image((1, 2, 3), 20, 30),)))
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(_button(panel.toolbar, panel.copy_action), Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().image()
    assert (copied.width(), copied.height()) == (30, 20)


def test_open_output_folder(
    qtbot: QtBot, run_state: RunState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    panel = ImagePanel(run_state, Settings(output_dir=str(tmp_path / "pictures")))
    _show(qtbot, panel)
    qtbot.mouseClick(_button(panel.toolbar, panel.folder_action), Qt.MouseButton.LeftButton)
    assert [Path(url.toLocalFile()) for url in opened] == [tmp_path / "pictures"]
    assert (tmp_path / "pictures").is_dir()


def test_strip_click_shows_an_earlier_result(
    qtbot: QtBot, bridge: EngineBridge, run_state: RunState
):
    panel = ImagePanel(run_state, Settings())
    _show(qtbot, panel)
    for run_id, color in ((1, (255, 0, 0)), (2, (0, 0, 255))):
        bridge.nodeResult.emit(NodeResult(run_id, "save", images=(_image(color),)))
    assert panel.current_result() is run_state.results[1]
    first = panel.strip.visualItemRect(panel.strip.item(0)).center()
    qtbot.mouseClick(panel.strip.viewport(), Qt.MouseButton.LeftButton, pos=first)
    assert panel.current_result() is run_state.results[0]
    shown = panel.current_image()
    assert shown is not None and shown.pixelColor(1, 1).red() == 255


def test_compare_slider_and_side_by_side_render(
    qtbot: QtBot, bridge: EngineBridge, run_state: RunState
):
    panel = ImagePanel(run_state, Settings())
    _show(qtbot, panel, 600, 480)
    bridge.nodeResult.emit(NodeResult(1, "save", images=(_image((255, 0, 0), 64, 64),)))
    bridge.nodeResult.emit(NodeResult(2, "save", images=(_image((0, 0, 255), 64, 64),)))
    qtbot.mouseClick(_button(panel.toolbar, panel.compare_action), Qt.MouseButton.LeftButton)
    assert panel.is_comparing()
    view = panel.compare_view
    assert view.isVisible() and view.mode() is CompareMode.SLIDER
    rect = view.image_rect()
    # Drag the slider to a quarter: A (red) left of it, B (blue) right of it.
    y = int(rect.center().y())
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(int(rect.center().x()), y))
    qtbot.mouseMove(view, QPoint(int(rect.left() + rect.width() / 4), y))
    qtbot.mouseRelease(
        view, Qt.MouseButton.LeftButton, pos=QPoint(int(rect.left() + rect.width() / 4), y)
    )
    assert view.split() == pytest.approx(0.25, abs=0.02)
    shot = view.grab().toImage()
    dpr = shot.devicePixelRatio()

    def at(x: float, yy: float) -> tuple[int, int, int]:
        color = shot.pixelColor(int(x * dpr), int(yy * dpr))
        return color.red(), color.green(), color.blue()

    top = rect.top() + rect.height() * 0.8  # below the captions, away from the grip
    assert at(rect.left() + rect.width() * 0.1, top) == (255, 0, 0)
    assert at(rect.left() + rect.width() * 0.6, top) == (0, 0, 255)

    panel.mode_box.setCurrentIndex(panel.mode_box.findData(CompareMode.SIDE_BY_SIDE.value))
    assert view.mode() is CompareMode.SIDE_BY_SIDE
    shot = view.grab().toImage()
    dpr = shot.devicePixelRatio()
    mid = view.height() * 0.6
    assert at(view.width() * 0.25, mid) == (255, 0, 0)
    assert at(view.width() * 0.75, mid) == (0, 0, 255)

    qtbot.mouseClick(_button(panel.toolbar, panel.compare_action), Qt.MouseButton.LeftButton)
    assert not panel.is_comparing() and panel.view.isVisible()


# ---------------------------------------------------------------- run panel
def test_run_panel_queue_progress_and_timings(
    qtbot: QtBot, bridge: EngineBridge, run_state: RunState
):
    panel = RunPanel(bridge, run_state)
    panel.set_node_titles({"sampler": "Sampler"}.get)
    _show(qtbot, panel)
    assert not panel.cancel_button.isEnabled()
    bridge.runQueued.emit(RunQueued(1, "txt2img"))
    bridge.runQueued.emit(RunQueued(2, "txt2img · seed 2"))
    assert panel.queue.topLevelItemCount() == 2
    assert [row.text(2) for row in top_level_items(panel.queue)] == ["Queued", "Queued"]
    assert panel.clear_button.isEnabled()

    bridge.runStarted.emit(RunStarted(1, ("loader", "sampler", "save")))
    bridge.nodeStarted.emit(NodeStarted(1, "loader"))
    bridge.nodeFinished.emit(NodeFinished(1, "loader", cached=True, seconds=0.0))
    bridge.nodeStarted.emit(NodeStarted(1, "sampler"))
    bridge.nodeProgress.emit(NodeProgress(1, "sampler", 3, 20))
    assert _row(panel.queue, 0).text(2) == "Running"
    assert panel.progress.text() == "3/20"
    assert panel.eta_label.text().startswith("ETA ")
    assert panel.detail.text().startswith("Sampler · ")  # titles, not ids
    assert panel.cancel_button.isEnabled()

    bridge.nodeFinished.emit(NodeFinished(1, "sampler", cached=False, seconds=4.25))
    bridge.nodeStarted.emit(NodeStarted(1, "save"))
    bridge.nodeFinished.emit(NodeFinished(1, "save", cached=False, seconds=0.5))
    bridge.runFinished.emit(RunFinished(1, RunStatus.DONE, 4.8))
    assert _row(panel.queue, 0).text(2) == "Done"
    assert _row(panel.queue, 0).text(3) == "4.80 s"
    rows = [[row.text(c) for c in (0, 2)] for row in top_level_items(panel.timings)]
    assert rows == [
        ["loader", "cached"],
        ["Sampler", "4.25 s"],
        ["save", "0.50 s"],
    ]
    assert "done" in panel.timings_label.text()
    assert panel.progress.text() in ("Waiting", "Idle")
    panel.resize(900, 240)  # docked along the bottom: queue and timings side by side
    assert panel.splitter.orientation() is Qt.Orientation.Horizontal


def test_run_panel_cancel_and_clear_call_the_bridge(
    qtbot: QtBot, bridge: EngineBridge, run_state: RunState, monkeypatch: pytest.MonkeyPatch
):
    calls: list[str] = []
    monkeypatch.setattr(bridge, "cancel", lambda run_id=None: calls.append("cancel") or True)
    monkeypatch.setattr(bridge, "clear_queue", lambda: calls.append("clear") or [])
    panel = RunPanel(bridge, run_state)
    _show(qtbot, panel)
    bridge.runQueued.emit(RunQueued(1))
    bridge.runQueued.emit(RunQueued(2))
    bridge.runStarted.emit(RunStarted(1, ("a",)))
    qtbot.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert calls == ["clear", "cancel"]


# ---------------------------------------------------------------- problems panel
def test_problems_panel_lists_problems_and_selects_nodes(
    qtbot: QtBot, bridge: EngineBridge, run_state: RunState
):
    panel = ProblemsPanel(run_state)
    panel.set_node_titles({"3": "Sampler"}.get)
    _show(qtbot, panel, 600, 300)
    bridge.runQueued.emit(RunQueued(1, "txt2img"))
    problems = (
        Problem("3", "steps", "0 is below the minimum 1"),
        Problem(None, None, "nothing to run"),
    )
    bridge.runFinished.emit(RunFinished(1, RunStatus.FAILED, 0.0, "2 problems", problems))
    assert panel.problem_count() == 2
    first, second = panel.problem_item(0), panel.problem_item(1)
    assert first is not None and second is not None
    assert [first.text(c) for c in range(3)] == ["Sampler", "steps", "0 is below the minimum 1"]
    assert second.text(0) == "Graph"
    assert panel.tabs.tabText(0) == "Problems (2)"

    rect = panel.problems.visualItemRect(first)
    with qtbot.waitSignal(panel.nodeActivated, timeout=1000) as blocker:
        qtbot.mouseClick(panel.problems.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == ["3"]
    with qtbot.assertNotEmitted(panel.nodeActivated):
        qtbot.mouseClick(
            panel.problems.viewport(),
            Qt.MouseButton.LeftButton,
            pos=panel.problems.visualItemRect(second).center(),
        )
    assert any("not started: 2 problems" in line for line in panel.log_lines())


def test_problems_panel_logs_runs_and_node_failures(
    qtbot: QtBot, bridge: EngineBridge, run_state: RunState
):
    panel = ProblemsPanel(run_state)
    _show(qtbot, panel)
    bridge.runQueued.emit(RunQueued(4))
    bridge.runStarted.emit(RunStarted(4, ("a", "b")))
    bridge.nodeFailed.emit(NodeFailed(4, "b", "image", "file not found", "NodeError"))
    bridge.runFinished.emit(RunFinished(4, RunStatus.FAILED, 1.25, "b: file not found"))
    assert panel.problem_count() == 1
    failure = panel.problem_item(0)
    assert failure is not None and failure.text(1) == "image"
    lines = panel.log_lines()
    assert lines[0] == "Run #4 queued"
    assert lines[1] == "Run #4 started (2 nodes)"
    assert lines[-1] == "Run #4 failed after 1.25 s: b: file not found"
    bridge.runQueued.emit(RunQueued(5))
    bridge.runStarted.emit(RunStarted(5, ("a",)))
    assert panel.problem_count() == 0  # a new run starts clean
    bridge.runFinished.emit(RunFinished(5, RunStatus.DONE, 0.5))
    assert panel.log_lines()[-1] == "Run #5 finished in 0.50 s"


# ---------------------------------------------------------------- settings
def test_settings_dialog_round_trips_through_the_settings_file(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    models = tmp_path / "models"
    models.mkdir()
    original = Settings(models_dirs=["/old/models"])
    original.save()
    dialog = SettingsDialog(Settings.load())
    _show(qtbot, dialog, 560, 640)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(models))
    qtbot.mouseClick(dialog.add_models_button, Qt.MouseButton.LeftButton)
    old = dialog.models_list.findItems("/old/models", Qt.MatchFlag.MatchExactly)[0]
    qtbot.mouseClick(
        dialog.models_list.viewport(),
        Qt.MouseButton.LeftButton,
        pos=dialog.models_list.visualItemRect(old).center(),
    )
    qtbot.mouseClick(dialog.remove_models_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.output_edit, str(tmp_path / "pictures"))
    dialog.device_box.setCurrentIndex(dialog.device_box.findData("cpu"))
    dialog.precision_box.setCurrentIndex(dialog.precision_box.findData("bf16"))
    dialog.acceleration_box.setCurrentIndex(dialog.acceleration_box.findData("compile"))
    dialog.rate_spin.selectAll()
    qtbot.keyClicks(dialog.rate_spin, "4")
    dialog.theme_box.setCurrentIndex(dialog.theme_box.findData("light"))
    qtbot.mouseClick(dialog.previews_check, Qt.MouseButton.LeftButton)
    assert not dialog.rate_spin.isEnabled()
    ok = dialog.button_box.button(QDialogButtonBox.StandardButton.Ok)
    try:
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
        assert dialog.result() == SettingsDialog.DialogCode.Accepted
        loaded = Settings.load()
        assert loaded.models_dirs == [str(models)]
        assert loaded.output_dir == str(tmp_path / "pictures")
        assert (loaded.device, loaded.precision) == ("cpu", "bf16")
        assert loaded.acceleration == "compile"
        assert loaded.previews is False and loaded.preview_rate == 4.0
        assert loaded.theme == "light"
        assert dialog.settings().output_dir == loaded.output_dir
        window = qapp.palette().color(QPalette.ColorRole.Window).name()
        assert window == COLORS["light"].panel
    finally:
        apply_theme(qapp, "dark")


def test_settings_dialog_keeps_a_gpu_chosen_by_index(qtbot: QtBot):
    dialog = SettingsDialog(Settings(device="cuda:3"))
    _show(qtbot, dialog, 560, 640)
    assert dialog.device_box.currentData() == "cuda:3"
    assert dialog.device_box.currentText() == "CUDA GPU 3"
    assert dialog.values()["device"] == "cuda:3"


def test_settings_dialog_cancel_changes_nothing(qtbot: QtBot):
    settings = Settings(device="cuda")
    dialog = SettingsDialog(settings)
    _show(qtbot, dialog, 560, 640)
    dialog.device_box.setCurrentIndex(dialog.device_box.findData("cpu"))
    cancel = dialog.button_box.button(QDialogButtonBox.StandardButton.Cancel)
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert settings.device == "cuda"
    assert not Settings.path().exists()


# ---------------------------------------------------------------- theme
def test_themes_apply_and_reference_only_shipped_files(qapp: QApplication):
    for name in ("light", "dark"):
        assert apply_theme(qapp, name) == name
        sheet = qapp.styleSheet()
        assert sheet and "@theme" not in sheet
        for url in sheet.split("url(")[1:]:
            assert Path(url.split(")")[0]).is_file()
        qapp.setStyleSheet("")  # under a style sheet, style() is Qt's style sheet proxy
        assert qapp.style().name().lower() == "fusion"
        assert qapp.palette().color(QPalette.ColorRole.Highlight).name() == COLORS[name].selection
    assert apply_theme(qapp, "no-such-theme") == "dark" and qapp.styleSheet()
    assert load_stylesheet("no-such-theme") == ""
    assert (theme_dir() / "dark.qss").is_file() and (theme_dir() / "light.qss").is_file()


def test_desktop_widgets_do_not_import_torch():
    code = (
        "import sys, desktop.panels, desktop.settings_dialog, desktop.theme; "
        "bad = [m for m in ('torch', 'diffusers', 'transformers', 'nodes.diffusion', "
        "'nodes.models') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
