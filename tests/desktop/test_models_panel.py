"""The Models panel: the demo models listed by kind with their families, search, dragging
a model onto the canvas (the right loader with that file), double-click to set the
selected loader (one undo step), wrong-family marks, and the digest computed on a worker
thread while the GUI thread keeps handling events."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QTreeWidgetItem
from pytestqt.qtbot import QtBot

from desktop.canvas.params import FileEditor
from desktop.canvas.view import CanvasView
from desktop.document import Document
from desktop.mime import NODE_TYPE_MIME
from desktop.model_actions import follow_graph_family, use_model
from desktop.panels.models import FAMILY, HASH, NAME, ModelsPanel
from nodes.models import fingerprint
from nodes.models.demo import DemoPaths
from nodes.models.demo_upscale import make_demo_upscale_model
from nodes.paths import FileFinder
from nodes.settings import Settings
from tests.desktop.canvas_helpers import editor

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier


@pytest.fixture(scope="module")
def models(
    tmp_path_factory: pytest.TempPathFactory, demo_sd15: DemoPaths, demo_sdxl: DemoPaths
) -> Path:
    root = tmp_path_factory.mktemp("panel") / "models"
    for demo in (demo_sd15, demo_sdxl):
        for source, sub in (
            (demo.single_file, "checkpoints"),
            (demo.controlnet_file, "controlnet"),
            (demo.lora, "loras"),
        ):
            (root / sub).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, root / sub / source.name)
    shutil.copytree(demo_sd15.folder, root / "checkpoints" / demo_sd15.folder.name)
    make_demo_upscale_model(root / "upscale_models")
    return root


def _panel(qtbot: QtBot, models: Path, *, hashing: bool = False) -> ModelsPanel:
    panel = ModelsPanel(lambda: [models], hash_in_background=hashing)
    qtbot.addWidget(panel)
    panel.resize(600, 500)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: bool(panel.entries), timeout=10_000)
    return panel


def _row(panel: ModelsPanel, kind: str, name: str) -> QTreeWidgetItem:
    item = panel.row(kind, name)
    assert item is not None, (kind, name)
    return item


def test_lists_the_demo_models_with_their_families(qtbot: QtBot, models: Path) -> None:
    panel = _panel(qtbot, models)
    families = {
        ("checkpoints", "sd1-demo.safetensors"): "SD1.x",
        ("checkpoints", "sd1-demo"): "SD1.x",
        ("checkpoints", "sdxl-demo.safetensors"): "SDXL",
        ("controlnet", "sd1-demo-controlnet.safetensors"): "SD1.x",
        ("controlnet", "sdxl-demo-controlnet.safetensors"): "SDXL",
        ("lora", "sd1-demo-lora.safetensors"): "SD1.x or SD2.x",
        ("lora", "sdxl-demo-lora.safetensors"): "SDXL",
        ("upscale_models", "demo-compact-4x.safetensors"): "Real-ESRGAN Compact 4×",
    }
    for (kind, name), family in families.items():
        assert _row(panel, kind, name).text(FAMILY) == family
    groups = [panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())]
    assert [g.text(NAME) for g in groups if g is not None] == [
        "Checkpoints (3)",
        "ControlNets (2)",
        "LoRAs (2)",
        "Upscale models (1)",
    ]
    assert _row(panel, "lora", "sdxl-demo-lora.safetensors").text(HASH) == "…"

    panel.search.setText("sdxl lora")
    visible = [
        (kind, name) for (kind, name) in panel.entries if not _row(panel, kind, name).isHidden()
    ]
    assert visible == [("lora", "sdxl-demo-lora.safetensors")]
    panel.search.setText("")
    panel.tree.setCurrentItem(_row(panel, "lora", "sdxl-demo-lora.safetensors"))
    assert "SDXL" in panel.details.text() and "sdxl-demo-lora" in panel.details.text()


def _drop(view: CanvasView, mime: QMimeData, at: QPointF) -> None:
    viewport = view.viewport()
    action = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(at.toPoint(), action, mime, LEFT, NO_MOD)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, QDragMoveEvent(at.toPoint(), action, mime, LEFT, NO_MOD))
    QApplication.sendEvent(viewport, QDropEvent(at, action, mime, LEFT, NO_MOD))


@pytest.mark.filterwarnings("ignore:Function.*is marked as deprecated:DeprecationWarning")
@pytest.mark.parametrize(
    ("kind", "name", "loader"),
    [
        ("checkpoints", "sdxl-demo.safetensors", "loaders.checkpoint"),
        ("lora", "sd1-demo-lora.safetensors", "loaders.lora"),
        ("controlnet", "sd1-demo-controlnet.safetensors", "loaders.controlnet"),
        ("upscale_models", "demo-compact-4x.safetensors", "loaders.upscale_model"),
    ],
)
def test_dragging_a_model_onto_the_canvas_makes_its_loader(
    qtbot: QtBot,
    models: Path,
    canvas: CanvasView,
    document: Document,
    kind: str,
    name: str,
    loader: str,
) -> None:
    panel = _panel(qtbot, models)
    item = _row(panel, kind, name)
    assert item.flags() & Qt.ItemFlag.ItemIsDragEnabled
    mime = panel.tree.mimeData([item])
    assert NODE_TYPE_MIME in panel.tree.mimeTypes()
    _drop(canvas, mime, QPointF(300, 300))
    [node] = document.graph.nodes.values()
    assert (node.type, node.params["path"]) == (loader, name)
    assert (
        FileFinder([models])(kind, node.params["path"])
        == models / ("loras" if kind == "lora" else kind) / name
    )
    document.undo_stack.undo()  # one step
    assert len(document.graph) == 0


def test_double_click_sets_the_selected_loader(
    qtbot: QtBot, models: Path, canvas: CanvasView, document: Document
) -> None:
    panel = _panel(qtbot, models)
    panel.modelActivated.connect(lambda kind, name: use_model(canvas, kind, name))
    lora = document.add_node("loaders.lora", (0, 0))
    canvas.select_nodes([lora])
    item = _row(panel, "lora", "sdxl-demo-lora.safetensors")
    panel.tree.scrollToItem(item)
    rect = panel.tree.visualItemRect(item)
    qtbot.mouseClick(panel.tree.viewport(), LEFT, NO_MOD, rect.center())  # as a person does
    qtbot.mouseDClick(panel.tree.viewport(), LEFT, NO_MOD, rect.center())
    assert document.graph.nodes[lora].params["path"] == "sdxl-demo-lora.safetensors"
    steps = document.undo_stack.count()
    document.undo_stack.undo()
    assert document.graph.nodes[lora].params["path"] == ""
    assert document.undo_stack.count() == steps
    # nothing of the kind selected: a new loader with the model
    canvas.select_nodes([])
    node_id = use_model(canvas, "checkpoints", "sd1-demo.safetensors")
    assert node_id is not None and document.graph.nodes[node_id].params["path"] == (
        "sd1-demo.safetensors"
    )
    assert use_model(canvas, "embeddings", "x.pt") is None


def test_models_of_another_family_than_the_graph_are_marked(
    qtbot: QtBot, models: Path, document: Document
) -> None:
    panel = _panel(qtbot, models)
    checkpoint = document.add_node("loaders.checkpoint", (0, 0))
    follow_graph_family(panel, document, lambda: FileFinder([models]))
    assert panel.graph_family is None  # no file chosen yet
    document.set_param(checkpoint, "path", "sd1-demo.safetensors")
    assert panel.graph_family == "sd1"
    xl = _row(panel, "lora", "sdxl-demo-lora.safetensors")
    assert xl.text(FAMILY) == "⚠ SDXL" and "SD1.x" in xl.toolTip(FAMILY)
    assert _row(panel, "lora", "sd1-demo-lora.safetensors").text(FAMILY) == "SD1.x or SD2.x"
    # another checkpoint is never marked: it would set the graph's family
    assert _row(panel, "checkpoints", "sdxl-demo.safetensors").text(FAMILY) == "SDXL"
    document.set_param(checkpoint, "path", "sdxl-demo.safetensors")
    assert _row(panel, "lora", "sdxl-demo-lora.safetensors").text(FAMILY) == "SDXL"
    assert _row(panel, "controlnet", "sd1-demo-controlnet.safetensors").text(FAMILY) == "⚠ SD1.x"


def test_the_hash_appears_while_the_gui_keeps_running(
    qtbot: QtBot, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digest is computed on a worker thread: while it is held mid-file the GUI thread
    still handles events (a search is typed and filters), then the digest shows up."""
    release, started = threading.Event(), threading.Event()
    threads: list[str] = []
    real = fingerprint._hash_chunks

    def held(path: Path, cancel: threading.Event | None) -> str:
        threads.append(threading.current_thread().name)
        started.set()
        release.wait(10)
        return real(path, cancel)

    monkeypatch.setattr(fingerprint, "_hash_chunks", held)
    fingerprint.forget_hashes()  # digests of earlier tests are not known in this "session"
    panel = _panel(qtbot, models, hashing=True)
    qtbot.waitUntil(started.is_set, timeout=10_000)
    panel.search.setText("upscale")  # the GUI answers while a hash is in progress
    assert not _row(panel, "upscale_models", "demo-compact-4x.safetensors").isHidden()
    assert _row(panel, "lora", "sd1-demo-lora.safetensors").isHidden()
    release.set()
    path = models / "upscale_models" / "demo-compact-4x.safetensors"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    row = _row(panel, "upscale_models", "demo-compact-4x.safetensors")
    qtbot.waitUntil(lambda: row.text(HASH) == digest[:10], timeout=20_000)
    assert threading.main_thread().name not in threads
    qtbot.waitUntil(lambda: panel.hasher.pending() == 0, timeout=20_000)
    assert fingerprint.known_sha256(path) == digest  # cached for the next session
    panel.shutdown()


def test_shutdown_stops_a_hash_in_progress(
    qtbot: QtBot, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing the window stops the file being hashed (between two chunks): nothing is
    cached for it and nothing after it is started."""
    fingerprint.forget_hashes()
    started = threading.Event()
    hashed: list[Path] = []
    real = fingerprint._hash_chunks

    def until_cancelled(path: Path, cancel: threading.Event | None) -> str:
        hashed.append(path)
        started.set()
        assert cancel is not None
        cancel.wait(10)  # hashing the first file when the window closes
        return real(path, cancel)

    monkeypatch.setattr(fingerprint, "_hash_chunks", until_cancelled)
    panel = _panel(qtbot, models, hashing=True)
    qtbot.waitUntil(started.is_set, timeout=10_000)
    assert panel.hasher.shutdown(10_000)
    assert panel.hasher.pending() == 0
    assert len(hashed) == 1
    assert fingerprint.known_sha256(hashed[0]) is None


def test_loader_pickers_show_families_and_mark_the_wrong_one(
    models: Path, canvas: CanvasView, document: Document, settings: Settings
) -> None:
    settings.models_dirs = [str(models)]
    checkpoint = document.add_node("loaders.checkpoint", (0, 0))
    document.set_param(checkpoint, "path", "sd1-demo.safetensors")
    lora = document.add_node("loaders.lora", (0, 300))
    files = editor(canvas, lora, "path", FileEditor)
    files.refresh()
    labels = [files.combo.itemText(i) for i in range(files.combo.count())]
    assert labels == [
        "sd1-demo-lora.safetensors  ·  SD1.x or SD2.x",
        "⚠ sdxl-demo-lora.safetensors  ·  SDXL",
    ]
    tip = files.combo.itemData(1, Qt.ItemDataRole.ToolTipRole)
    assert "this graph's checkpoint is SD1.x" in tip
    files.combo.setCurrentIndex(1)
    files.combo.activated.emit(1)
    assert document.graph.nodes[lora].params["path"] == "sdxl-demo-lora.safetensors"
    assert files.combo.currentText() == "sdxl-demo-lora.safetensors"  # the bare name
    document.set_param(checkpoint, "path", "sdxl-demo.safetensors")
    files.refresh()
    assert files.combo.itemText(1) == "sdxl-demo-lora.safetensors  ·  SDXL"
    assert files.combo.currentText() == "sdxl-demo-lora.safetensors"
    pickers = editor(canvas, checkpoint, "path", FileEditor)
    pickers.refresh()
    assert [pickers.combo.itemText(i) for i in range(pickers.combo.count())] == [
        "sd1-demo  ·  SD1.x",
        "sd1-demo.safetensors  ·  SD1.x",
        "sdxl-demo.safetensors  ·  SDXL",
    ]


def test_the_panel_imports_no_model_library() -> None:
    code = (
        "import sys, desktop.panels.models, desktop.model_actions, desktop.canvas.model_choices; "
        "print(sorted(m for m in ('torch', 'diffusers', 'safetensors', 'transformers') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_window_has_the_models_panel(
    qtbot: QtBot, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beside the Nodes panel; double-click sets the default graph's selected checkpoint
    loader, and the marks follow that checkpoint."""

    from desktop.app import create_window

    monkeypatch.setenv("DAGUERRE_MODELS", str(models))
    window = create_window(ask=False)
    qtbot.addWidget(window)
    window.show()
    panel = window.models_panel
    assert window.tabifiedDockWidgets(window.library_dock) == [window.models_dock]
    qtbot.waitUntil(lambda: bool(panel.entries), timeout=10_000)
    graph = window.document.graph
    [checkpoint] = [n for n in graph.nodes.values() if n.type == "loaders.checkpoint"]
    window.canvas.select_nodes([checkpoint.id])
    panel.modelActivated.emit("checkpoints", "sd1-demo.safetensors")
    assert graph.nodes[checkpoint.id].params["path"] == "sd1-demo.safetensors"
    assert panel.graph_family == "sd1"
    assert _row(panel, "lora", "sdxl-demo-lora.safetensors").text(FAMILY) == "⚠ SDXL"
    window.document.undo_stack.setClean()
    window.close()
    assert panel.hasher.cancel.is_set()  # closing stops the background hashing


def test_an_embedding_drags_as_prompt_text(qapp, tmp_path: Path) -> None:
    from desktop.panels.models import drag_payload
    from nodes.catalog.listing import ModelEntry

    entry = ModelEntry("embeddings", "xl/glow.safetensors", tmp_path / "glow.safetensors", 10)
    mime = drag_payload(entry)
    assert not mime.hasFormat(NODE_TYPE_MIME)  # no loader: a prompt names it
    assert mime.text() == "embedding:xl/glow"
