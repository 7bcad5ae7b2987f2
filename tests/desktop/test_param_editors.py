"""The inline param editors inside nodes, driven the way a person uses them: values typed
and dragged, combo boxes, check boxes, prompts with their token counts, seed after-run
controls and file params listing the models folder. Each edit is a document edit."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from desktop.canvas import style
from desktop.canvas.params import (
    BoolEditor,
    ChoiceEditor,
    FileEditor,
    NumberEditor,
    PromptEditor,
    SeedEditor,
    count_tokens,
    estimate_tokens,
)
from desktop.canvas.view import CanvasView
from desktop.document import Document
from desktop.run_state import RunState
from nodes.settings import Settings
from tests.desktop.canvas_helpers import LEFT, NO_MOD, editor, mouse_drag, node, port


def test_typing_a_value_edits_the_graph_and_undo_restores(
    canvas: CanvasView, document: Document
) -> None:
    sampler = document.add_node("sampling.sampler", (0, 0))
    canvas.fit_view()
    box = editor(canvas, sampler, "steps", NumberEditor).box
    line = box.lineEdit()
    line.selectAll()
    QTest.keyClicks(line, "35")
    assert document.graph.nodes[sampler].params["steps"] == 35
    steps = document.undo_stack.count()
    document.undo_stack.undo()
    assert document.undo_stack.count() == steps  # typing "3", "35" merged into one step
    assert document.graph.nodes[sampler].params["steps"] == 20
    assert line.text() == "20"


def test_refused_value_reverts_the_widget(canvas: CanvasView, document: Document) -> None:
    sampler = document.add_node("sampling.sampler", (0, 0))
    box = editor(canvas, sampler, "steps", NumberEditor).box
    box.edited.emit(5000)  # what the widget would send; above steps' maximum
    assert document.graph.nodes[sampler].params["steps"] == 20
    assert box.lineEdit().text() == "20"
    assert "maximum" in box.toolTip()


def test_drag_on_a_spin_box_changes_its_value(canvas: CanvasView, document: Document) -> None:
    sampler = document.add_node("sampling.sampler", (0, 0))
    canvas.fit_view()
    line = editor(canvas, sampler, "steps", NumberEditor).box.lineEdit()
    QTest.mousePress(line, LEFT, NO_MOD, QPoint(10, 8))
    for x in (20, 30, 50):
        QTest.mouseMove(line, QPoint(x, 8))
    QTest.mouseRelease(line, LEFT, NO_MOD, QPoint(50, 8))
    assert document.graph.nodes[sampler].params["steps"] == 30  # 40 px, 4 px a step


def test_combo_checkbox_and_prompt_widgets(
    canvas: CanvasView, document: Document, run_state: RunState
) -> None:
    scheduler = document.add_node("sampling.scheduler", (0, 0))
    boolean = document.add_node("primitive.bool", (0, 200))
    encode = document.add_node("conditioning.text_encode", (400, 0))
    combo = editor(canvas, scheduler, "name", ChoiceEditor).combo
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Down)
    assert document.graph.nodes[scheduler].params["name"] == combo.currentText() != "euler"
    check = editor(canvas, boolean, "value", BoolEditor).box
    QTest.mouseClick(check, LEFT, NO_MOD, check.rect().center())
    assert document.graph.nodes[boolean].params["value"] is True

    item = node(canvas, encode)
    edit = editor(canvas, encode, "text", PromptEditor).edit
    QTest.keyClicks(edit, "a photo of a cat")
    assert document.graph.nodes[encode].params["text"] == "a photo of a cat"
    # exact once the engine's tokenizer is loaded (warm-up), an estimate before that
    assert item.tokens["text"] == count_tokens("a photo of a cat")
    before = document.undo_stack.count()
    QTest.keyClicks(edit, ", sitting")
    assert document.undo_stack.count() == before  # typing merges
    # the engine's exact count replaces the estimate
    run_state.textResult.emit(encode, "9 tokens")
    assert item.tokens["text"] == (9, True)


def test_token_estimate_is_close_and_warns(canvas: CanvasView, document: Document) -> None:
    assert estimate_tokens("a lighthouse on a cliff at sunset, oil painting") in range(9, 14)
    assert estimate_tokens("(masterpiece:1.3), best quality") in range(4, 8)
    encode = document.add_node("conditioning.text_encode", (0, 0))
    document.set_param(encode, "text", "word, " * 60)
    assert node(canvas, encode).tokens["text"][0] > style.TOKEN_LIMIT


def test_seed_after_run_control_is_stored_in_the_node(
    canvas: CanvasView, document: Document
) -> None:
    sampler = document.add_node("sampling.sampler", (0, 0))
    assert canvas.seed_controls() == {(sampler, "seed"): "fixed"}
    mode = editor(canvas, sampler, "seed", SeedEditor).mode
    mode.setCurrentText("randomize")
    mode.activated.emit(mode.currentIndex())
    assert document.graph.nodes[sampler].extra["seed_control"] == {"seed": "randomize"}
    assert canvas.seed_controls() == {(sampler, "seed"): "randomize"}


def test_file_param_lists_the_models_folder(
    canvas: CanvasView, document: Document, settings: Settings, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    (models / "checkpoints" / "sd").mkdir(parents=True)
    (models / "checkpoints" / "sd" / "dream.safetensors").write_bytes(b"")
    (models / "checkpoints" / "notes.txt").write_text("x")
    settings.models_dirs = [str(models)]
    checkpoint = document.add_node("loaders.checkpoint", (0, 0))
    files = editor(canvas, checkpoint, "path", FileEditor)
    assert files.choices() == ["sd/dream.safetensors"]
    files.refresh()
    files.combo.setCurrentIndex(0)
    files.combo.activated.emit(0)
    assert document.graph.nodes[checkpoint].params["path"] == "sd/dream.safetensors"
    assert files.portable_name(models / "checkpoints" / "x.safetensors") == "x.safetensors"


def test_link_into_a_param_socket_hides_its_widget(canvas: CanvasView, document: Document) -> None:
    seed = document.add_node("primitive.seed", (0, 0))
    sampler = document.add_node("sampling.sampler", (400, 0))
    canvas.fit_view()
    socket = port(canvas, sampler, "seed", False)
    assert socket.is_param
    mouse_drag(canvas, port(canvas, seed, "seed", True).scenePos(), socket.scenePos())
    assert document.graph.link_into(sampler, "seed") is not None
    editor = node(canvas, sampler).editors["seed"]
    assert not editor.widget.isVisible()
    document.undo_stack.undo()
    panel = node(canvas, sampler).param_panel
    assert panel is not None and editor.widget.isVisibleTo(panel)


def test_an_empty_file_field_names_the_only_model_it_stands_for(
    canvas: CanvasView, document: Document, settings: Settings, tmp_path: Path
) -> None:
    """The engine uses the only model of a kind for an empty path: the field says which."""
    models = tmp_path / "models"
    (models / "checkpoints").mkdir(parents=True)
    (models / "checkpoints" / "dream.safetensors").write_bytes(b"")
    settings.models_dirs = [str(models)]
    checkpoint = document.add_node("loaders.checkpoint", (0, 0))
    files = editor(canvas, checkpoint, "path", FileEditor)
    line = files.combo.lineEdit()
    assert line is not None and line.placeholderText() == "auto: dream.safetensors"
    (models / "checkpoints" / "other.safetensors").write_bytes(b"")
    files.refresh()  # two models: the user chooses
    assert line.placeholderText() == "choose a file…"
