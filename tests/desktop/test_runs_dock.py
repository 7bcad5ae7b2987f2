"""The Runs dock and what a run leaves behind: lists with room for rows at common window
sizes, node titles, a batch of a fixed seed that makes different images, repeats that are
said, and the image panel after a cancel."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.app import create_window
from desktop.bridge import EngineBridge
from desktop.document import Document
from desktop.main_window import MainWindow
from desktop.panels import ImagePanel
from desktop.panels.common import PlaceholderTree, top_level_items
from desktop.run_state import RunInfo, RunState
from desktop.running import queue_runs
from nodes.events import (
    NodeFinished,
    NodeProgress,
    NodeResult,
    NodeStarted,
    RunFinished,
    RunQueued,
    RunStarted,
    RunStatus,
)
from nodes.paths import FileFinder
from nodes.settings import Settings


@pytest.fixture
def window(qtbot: QtBot, _isolated_home) -> Iterator[MainWindow]:
    win = create_window(ask=False)
    qtbot.addWidget(win)
    yield win
    win.document.undo_stack.setClean()
    win.close()


def _visible_rows(tree: PlaceholderTree) -> int:
    viewport = tree.viewport().rect()
    return sum(viewport.contains(tree.visualItemRect(row)) for row in top_level_items(tree))


def _placeholder_fits(tree: PlaceholderTree) -> bool:
    """The placeholder as PlaceholderTree draws it fits inside the empty list."""
    area = tree.viewport().rect().adjusted(12, 12, -12, -12)
    flags = int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap)
    needed = tree.fontMetrics().boundingRect(area, flags, tree.placeholder())
    return area.height() >= needed.height() and area.width() >= needed.width()


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900), (1920, 1080)])
def test_the_runs_lists_have_room_at_common_window_sizes(
    qtbot: QtBot, window: MainWindow, size: tuple[int, int]
) -> None:
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)  # the first layout gives the docks their sizes after the first show
    panel = window.run_panel
    for tree in (panel.queue, panel.timings):
        assert tree.isVisible()
        assert _placeholder_fits(tree), (size, tree.objectName(), tree.viewport().height())
    bridge = window.bridge
    for run_id in range(1, 7):
        bridge.runQueued.emit(RunQueued(run_id, f"Untitled #{run_id}"))
    plan = ("checkpoint", "prompt", "negative", "latent", "sampler", "decode", "save")
    bridge.runStarted.emit(RunStarted(1, plan))
    for node_id in plan:
        bridge.nodeStarted.emit(NodeStarted(1, node_id))
        bridge.nodeFinished.emit(NodeFinished(1, node_id, False, 0.5))
    bridge.runFinished.emit(RunFinished(1, RunStatus.DONE, 3.5))
    QApplication.processEvents()
    assert _visible_rows(panel.queue) >= 3, size
    assert _visible_rows(panel.timings) >= 3, size
    # the Last Run list names nodes by title, as the canvas does
    names = [row.text(0) for row in top_level_items(panel.timings)]
    assert names[0] == window.document.graph.display_title("checkpoint")
    assert "sampler" not in names and "Sampler" in names
    assert "#1 done" in (panel.timings.headerItem().text(0) or "")


def test_the_problems_panel_names_nodes_by_title(qtbot: QtBot, window: MainWindow) -> None:
    window.show()
    window.run()  # the default workflow has no checkpoint chosen
    row = window.problems.problem_item(0)
    assert row is not None
    assert row.text(0) == window.document.graph.display_title("checkpoint")
    assert "checkpoint" in row.toolTip(0)  # the id is still there, in the tooltip


# ---------------------------------------------------------------- batches and repeats
def _seed_pair(document: Document) -> tuple[str, str]:
    seed = document.add_node("primitive.seed", (0, 0), {"seed": 5})
    show = document.add_node("utility.display", (200, 0))
    document.connect_ports(seed, "seed", show, "value")
    return seed, show


def _run(
    qtbot: QtBot,
    document: Document,
    bridge: EngineBridge,
    run_state: RunState,
    count: int = 1,
):
    finished: list[RunInfo] = []
    run_state.runFinished.connect(finished.append)
    result = queue_runs(document, bridge, run_state, FileFinder([]), count)
    qtbot.waitUntil(lambda: len(finished) == len(result.run_ids), timeout=10_000)
    run_state.runFinished.disconnect(finished.append)
    return result, finished


def test_a_batch_of_a_fixed_seed_makes_different_images(
    qtbot: QtBot, document: Document, bridge: EngineBridge, run_state: RunState
) -> None:
    seed, _ = _seed_pair(document)
    texts: list[str] = []
    run_state.textResult.connect(lambda _node, text: texts.append(text))
    result, finished = _run(qtbot, document, bridge, run_state, count=3)
    assert [r.status for r in finished] == ["done"] * 3
    assert texts == ["5", "6", "7"]  # one seed per queued run, as ComfyUI's randomize gives
    assert document.graph.nodes[seed].params["seed"] == 5  # fixed stays fixed
    assert [run_state.runs[i].label for i in result.run_ids] == [
        "Untitled #1 · seed 5",
        "Untitled #2 · seed 6",
        "Untitled #3 · seed 7",
    ]
    assert "a fixed seed advances per run of a batch: Seed.seed 5–7" in result.message()
    assert result.repeat_of is None


def test_a_batch_with_nothing_to_vary_is_queued_once_and_says_so(
    qtbot: QtBot, document: Document, bridge: EngineBridge, run_state: RunState
) -> None:
    number = document.add_node("primitive.int", (0, 0), {"value": 2})
    show = document.add_node("utility.display", (200, 0))
    document.connect_ports(number, "value", show, "value")
    result, _ = _run(qtbot, document, bridge, run_state, count=4)
    assert len(result.run_ids) == 1 and result.skipped == 3
    assert "3 more would repeat it exactly" in result.message()


def test_a_run_that_repeats_the_last_one_says_it_is_all_cache(
    qtbot: QtBot, document: Document, bridge: EngineBridge, run_state: RunState
) -> None:
    _seed_pair(document)
    first, _ = _run(qtbot, document, bridge, run_state)
    assert first.repeat_of is None
    again, finished = _run(qtbot, document, bridge, run_state)
    assert again.repeat_of == first.run_ids[0]
    assert "every node will come from the cache" in again.message()
    assert all(cached for _, cached in finished[0].timings.values())  # and it was
    document.set_param(next(iter(document.graph.nodes)), "seed", 6)
    changed, _ = _run(qtbot, document, bridge, run_state)
    assert changed.repeat_of is None


# ---------------------------------------------------------------- image panel
def test_after_a_cancel_the_image_panel_shows_the_last_finished_image(
    qtbot: QtBot, bridge: EngineBridge, run_state: RunState
) -> None:
    panel = ImagePanel(run_state, Settings())
    qtbot.addWidget(panel)
    panel.resize(400, 400)
    panel.show()
    finished = np.full((16, 16, 3), 200, np.uint8)
    bridge.runQueued.emit(RunQueued(1))
    bridge.runStarted.emit(RunStarted(1, ("save",)))
    bridge.nodeResult.emit(NodeResult(1, "save", images=(finished,)))
    bridge.runFinished.emit(RunFinished(1, RunStatus.DONE, 1.0))
    bridge.runQueued.emit(RunQueued(2))
    bridge.runStarted.emit(RunStarted(2, ("sampler",)))
    preview = np.full((8, 8, 3), 30, np.uint8)
    bridge.nodeProgress.emit(NodeProgress(2, "sampler", 3, 20, preview))
    shown = panel.current_image()
    assert shown is not None and shown.width() == 8  # the live preview
    bridge.runFinished.emit(RunFinished(2, RunStatus.CANCELLED, 2.0))
    shown = panel.current_image()
    assert shown is not None and shown.width() == 16  # back to the finished image
    assert panel.current_result() is run_state.results[0]
    assert QRect(0, 0, 16, 16) == shown.rect()


def test_a_cancelled_first_run_leaves_an_empty_view(
    qtbot: QtBot, bridge: EngineBridge, run_state: RunState
) -> None:
    panel = ImagePanel(run_state, Settings())
    qtbot.addWidget(panel)
    bridge.runQueued.emit(RunQueued(1))
    bridge.runStarted.emit(RunStarted(1, ("sampler",)))
    bridge.nodeProgress.emit(NodeProgress(1, "sampler", 1, 20, np.zeros((8, 8, 3), np.uint8)))
    assert panel.current_image() is not None
    bridge.runFinished.emit(RunFinished(1, RunStatus.CANCELLED, 0.5))
    assert panel.current_image() is None  # no half-done preview stays up


def test_the_batch_count_says_a_fixed_seed_advances(window: MainWindow) -> None:
    assert "a fixed seed advances by one per run" in window.batch.toolTip()
