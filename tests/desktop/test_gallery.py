"""The gallery over the output folder: newest first across restarts, thumbnails read off
the GUI thread, and the history actions (load workflow, re-run, use as input, copy)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from pytestqt.qtbot import QtBot

from desktop.app import create_window
from desktop.gallery_actions import rerun_image, result_menu, use_image_as_input
from desktop.panels import thumbnails
from desktop.panels.gallery import GalleryPanel, newest_images
from desktop.panels.thumbnails import ThumbnailLoader
from desktop.run_state import ImageResult, RunState
from nodes.settings import Settings
from nodes.workflow import to_dict
from nodes.workflow.png import WORKFLOW_KEY, encode_png


def _png(path: Path, mtime: float, workflow: dict | None = None, size: int = 64) -> Path:
    texts = {WORKFLOW_KEY: json.dumps(workflow)} if workflow is not None else {}
    pixels = np.full((size, size, 3), 200, np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_png(pixels, texts))
    os.utime(path, (mtime, mtime))
    return path


def _workflow(window) -> dict:
    document = window.document
    document.new()
    value = document.add_node("primitive.int", (0, 0), {"value": 7})
    show = document.add_node("utility.display", (300, 0))
    document.connect_ports(value, "value", show, "value")
    return to_dict(document.graph)


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    return tmp_path / "outputs"


@pytest.fixture
def settings(outputs: Path) -> Settings:
    return Settings(output_dir=str(outputs))


def _wait_thumbnails(qtbot: QtBot, panel: GalleryPanel) -> None:
    panel.loader.wait()
    qtbot.waitUntil(lambda: not panel.loader._pending, timeout=5000)


def test_the_gallery_lists_the_output_folder_newest_first_with_thumbnails(
    qtbot: QtBot, settings: Settings, outputs: Path, run_state: RunState
) -> None:
    old = _png(outputs / "a_00001.png", 1_000_000)
    new = _png(outputs / "nested" / "b_00001.png", 2_000_000, size=300)
    (outputs / "notes.txt").write_text("not an image")
    panel = GalleryPanel(settings, run_state)
    qtbot.addWidget(panel)
    assert panel.paths() == [new, old]
    assert panel.count_label.text() == "2 images"
    _wait_thumbnails(qtbot, panel)
    for i in range(panel.list.count()):
        icon = panel.list.item(i).icon()
        assert not icon.pixmap(128, 128).toImage().isNull()
    # a restart: a new panel over the same folder shows the same history
    again = GalleryPanel(settings)
    qtbot.addWidget(again)
    assert again.paths() == [new, old]


def test_a_new_image_appears_first_when_the_folder_changes(
    qtbot: QtBot, settings: Settings, outputs: Path
) -> None:
    _png(outputs / "a.png", 1_000_000)
    panel = GalleryPanel(settings)
    qtbot.addWidget(panel)
    newest = _png(outputs / "z.png", 3_000_000)
    qtbot.waitUntil(lambda: panel.paths()[:1] == [newest], timeout=5000)


def test_thumbnails_are_read_off_the_gui_thread_at_a_small_size(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = _png(tmp_path / "big.png", 1_000_000, size=512)
    threads: list[str] = []

    class Reader(thumbnails.QImageReader):
        def read(self) -> QImage:  # type: ignore[override]
            threads.append(threading.current_thread().name)
            return super().read()

    monkeypatch.setattr(thumbnails, "QImageReader", Reader)
    loader = ThumbnailLoader(64)
    received: list[tuple[str, QImage]] = []
    loader.ready.connect(lambda path, image: received.append((path, image)))
    assert loader.request(big) is None
    assert loader.request(big) is None  # asked twice while reading: read once
    loader.wait()
    qtbot.waitUntil(lambda: bool(received), timeout=5000)
    ((path, image),) = received
    assert path == str(big) and max(image.width(), image.height()) == 64
    assert threads and threading.main_thread().name not in threads
    assert len(threads) == 1
    cached = loader.request(big)  # cached: no second read
    loader.wait()
    assert cached is not None and cached.size() == image.size() and len(threads) == 1
    os.utime(big, (2_000_000, 2_000_000))  # the file changed: read again
    assert loader.request(big) is None


def test_newest_images_caps_the_list(tmp_path: Path) -> None:
    for i in range(5):
        _png(tmp_path / f"{i}.png", 1_000_000 + i)
    assert [p.name for p in newest_images(tmp_path, limit=3)] == ["4.png", "3.png", "2.png"]
    assert newest_images(tmp_path / "missing") == []


@pytest.fixture
def window(qtbot, _isolated_home, monkeypatch, outputs: Path):
    win = create_window(ask=False)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    win.settings.output_dir = str(outputs)
    win.gallery.set_settings(win.settings)
    yield win
    win.document.undo_stack.setClean()
    win.close()


def test_the_menu_loads_reruns_and_uses_an_image(qtbot: QtBot, window, outputs: Path) -> None:
    workflow = _workflow(window)
    made = _png(outputs / "made.png", 2_000_000, workflow)
    plain = _png(outputs / "plain.png", 1_000_000)
    window.gallery.refresh()
    assert window.gallery.paths() == [made, plain]

    menu = window.gallery.menu_for(plain)
    enabled = {a.text(): a.isEnabled() for a in menu.actions() if a.text()}
    assert enabled == {
        "Load workflow": False,
        "Re-run": False,
        "Use as input": True,
        "Copy image": True,
        "Show in folder": True,
    }

    window.document.new()
    menu = window.gallery.menu_for(made)
    next(a for a in menu.actions() if a.text() == "Load workflow").trigger()
    assert {d.type for d in window.document.graph.nodes.values()} == {
        "primitive.int",
        "utility.display",
    }
    assert window.document.path is None  # a picture's workflow opens Untitled

    with qtbot.waitSignal(window.run_state.runFinished, timeout=10000) as finished:
        result = rerun_image(made, window.bridge, window.canvas, window.env.resolve_file)
    assert result.run_id is not None
    assert finished.args is not None and finished.args[0].status == "done"

    broken = dict(workflow)
    broken["links"] = []
    bad = _png(outputs / "bad.png", 500_000, broken)
    refused = rerun_image(bad, window.bridge, window.canvas, window.env.resolve_file)
    assert refused.run_id is None and "problem" in refused.message

    count = len(window.document.graph)
    node_id = use_image_as_input(window.canvas, plain)
    assert len(window.document.graph) == count + 1
    assert window.document.graph.nodes[node_id].params["path"] == str(plain)
    window.canvas.select_nodes([node_id])
    assert use_image_as_input(window.canvas, made) == node_id  # the selected one, reused
    assert window.document.graph.nodes[node_id].params["path"] == str(made)
    window.document.undo_stack.undo()
    assert window.document.graph.nodes[node_id].params["path"] == str(plain)

    assert window.gallery.copy_image(plain)
    clipboard = QGuiApplication.clipboard()
    assert clipboard is not None and clipboard.image().width() == 64
    clipboard.clear()  # the clipboard owns the data: let it go before Qt shuts down


def test_a_saved_result_in_the_image_panel_gets_the_same_menu(window, outputs: Path) -> None:
    made = _png(outputs / "made.png", 2_000_000, _workflow(window))
    pixels = np.zeros((8, 8, 3), np.uint8)
    saved = result_menu(window.gallery, ImageResult(1, "save", pixels, str(made)))
    assert saved is not None
    assert {a.text() for a in saved.actions() if a.isEnabled() and a.text()} == {
        "Load workflow",
        "Re-run",
        "Use as input",
        "Copy image",
        "Show in folder",
    }
    assert result_menu(window.gallery, ImageResult(1, "preview", pixels, None)) is None
    assert result_menu(window.gallery, None) is None
    policy = window.image_panel.strip.contextMenuPolicy()
    assert policy is Qt.ContextMenuPolicy.CustomContextMenu
