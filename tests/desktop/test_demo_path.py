"""The demo path from a first start with no model: "Create demo model" shows progress, then
"ready — press Ctrl+Enter" with the graph at a size and step count a CPU runs in seconds;
Ctrl+Enter runs it. And the app's environment adds ComfyUI's prompt to saved PNGs."""

from __future__ import annotations

from PySide6.QtCore import Qt

from desktop.document import Document
from desktop.main_window import environment_for
from desktop.models_banner import (
    DEMO_CHECKPOINT,
    DEMO_SIZE,
    DEMO_STEPS,
    BannerState,
    use_demo_model,
)
from nodes.comfy.png_texts import comfy_png_texts
from nodes.settings import Settings


def test_create_demo_model_then_ctrl_enter_runs_in_seconds(qtbot, window) -> None:
    banner = window.banner
    assert banner.state is BannerState.MISSING and banner.isVisible()
    create = next(b for b in banner.buttons if b.text() == "Create demo model")
    qtbot.mouseClick(create, Qt.MouseButton.LeftButton)
    assert banner.state is BannerState.CREATING
    assert banner.progress.isVisible() and not create.isEnabled()
    assert "Creating the demo model" in banner.text.text()
    qtbot.waitUntil(lambda: banner.state is not BannerState.CREATING, timeout=300_000)
    assert banner.state is BannerState.READY, banner.text.text()
    text = banner.text.text()
    assert "ready — press Ctrl+Enter" in text
    assert f"{DEMO_SIZE}×{DEMO_SIZE}" in text and f"{DEMO_STEPS} steps" in text
    assert "seconds on a CPU" in text
    assert not banner.progress.isVisible() and banner.dismiss_button.isVisible()
    graph = window.document.graph
    assert graph.nodes["checkpoint"].params["path"] == DEMO_CHECKPOINT
    assert graph.nodes["latent"].params["width"] == graph.nodes["latent"].params["height"]
    assert graph.nodes["latent"].params["width"] == DEMO_SIZE
    assert graph.nodes["sampler"].params["steps"] == DEMO_STEPS
    banner.refresh()  # a checkpoint exists now, but the ready message stays until dismissed
    assert banner.state is BannerState.READY

    finished: list = []
    window.run_state.runFinished.connect(finished.append)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(finished), timeout=300_000)
    assert finished[0].status == "done", finished[0].error
    assert window.image_panel.current_image() is not None

    window.document.undo_stack.undo()  # one step puts the file, size and steps back
    assert graph.nodes["sampler"].params["steps"] == 20
    assert graph.nodes["checkpoint"].params["path"] == ""
    # the only checkpoint in the models folder stands for the empty path
    assert window.document.graph.nodes["checkpoint"].params["path"] == ""
    window.document.set_param("sampler", "steps", 2)
    window.document.set_param("latent", "width", 64)
    window.document.set_param("latent", "height", 64)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=300_000)
    assert finished[1].status == "done", finished[1].error
    # File › New replaces the graph the message was about: it goes
    window.actions_by_name["new"].trigger()
    assert banner.state is BannerState.HIDDEN and not banner.isVisible()


def test_dismiss_puts_the_ready_message_away(window) -> None:
    banner = window.banner
    banner._set_state(BannerState.READY)
    banner.dismiss()
    assert banner.state is BannerState.MISSING  # still no checkpoint: the banner says so


def test_use_demo_model_shrinks_only_what_is_too_big(document: Document) -> None:
    loader = document.add_node("loaders.checkpoint", (0, 0))
    chosen = document.add_node("loaders.checkpoint", (0, 200))
    document.set_param(chosen, "path", "mine.safetensors")
    small = document.add_node("latent.empty", (300, 0))
    document.set_param(small, "width", 128)
    sampler = document.add_node("sampling.sampler", (600, 0))
    split = document.add_node("sampling.sampler", (600, 300))
    document.set_param(split, "steps", 30)
    document.set_param(split, "end_step", 15)  # the first half of a split: kept
    before = document.undo_stack.count()
    changed = use_demo_model(document, DEMO_CHECKPOINT)
    params = {node_id: document.graph.nodes[node_id].params for node_id in document.graph.nodes}
    assert params[loader]["path"] == DEMO_CHECKPOINT
    assert params[chosen]["path"] == "mine.safetensors"
    assert (params[small]["width"], params[small]["height"]) == (128, DEMO_SIZE)
    assert params[sampler]["steps"] == min(params[sampler]["steps"], DEMO_STEPS)
    assert params[split]["steps"] == 30
    assert document.undo_stack.count() == before + 1 and changed >= 2
    assert use_demo_model(document, DEMO_CHECKPOINT) == 0  # nothing left to change


def test_the_apps_environment_adds_comfyuis_prompt_to_saved_pngs() -> None:
    assert environment_for(Settings()).extra_png_texts is comfy_png_texts


def test_the_demo_graph_gets_no_size_advice_it_asked_for(document: Document) -> None:
    """256² is small on purpose: the demo silences the size rule on the latents it shrinks
    (in the same undo step), and nothing else."""
    from nodes.advice.rules import silenced_on

    latent = document.add_node("latent.empty", (300, 0))
    kept = document.add_node("latent.empty", (300, 300))
    document.set_param(kept, "width", 128)
    document.set_param(kept, "height", 128)
    before = document.undo_stack.count()
    use_demo_model(document, DEMO_CHECKPOINT)
    assert document.undo_stack.count() == before + 1
    assert silenced_on(document.graph.nodes[latent]) == ["size.pixels"]
    assert silenced_on(document.graph.nodes[kept]) == []
    document.undo_stack.undo()
    assert silenced_on(document.graph.nodes[latent]) == []
