"""Fixtures for the desktop tests: the built-in node types, a document, a RunState fed by a
real :class:`EngineBridge` (its worker thread is shut down after each test), a shown
canvas over the document, at ``canvas_size`` (a module may override that fixture), and the
whole main window. No test may meet a modal message box: each is answered at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from desktop.app import create_window
from desktop.bridge import EngineBridge
from desktop.canvas.view import CanvasView
from desktop.document import Document
from desktop.main_window import MainWindow
from desktop.run_state import RunState
from nodes.context import Environment
from nodes.library import load_builtin_nodes
from nodes.registry import Registry
from nodes.settings import Settings


@pytest.fixture(autouse=True)
def _no_blocking_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A modal box would hang the suite: answer "Discard" (and OK) unless a test patches
    its own answers."""
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    for name in ("warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, name, lambda *a, **k: QMessageBox.StandardButton.Ok)


@pytest.fixture
def registry() -> Registry:
    return load_builtin_nodes(Registry())


@pytest.fixture
def document(qapp, registry: Registry) -> Document:
    return Document(registry)


@pytest.fixture
def bridge(qapp, registry: Registry, tmp_path: Path) -> Iterator[EngineBridge]:
    bridge = EngineBridge(registry, Environment(output_dir=tmp_path / "output"))
    yield bridge
    bridge.shutdown()


@pytest.fixture
def run_state(bridge: EngineBridge) -> RunState:
    return RunState(bridge)


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def canvas_size() -> tuple[int, int]:
    """The size the ``canvas`` is shown at; a test module overrides this to change it."""
    return (1400, 900)


@pytest.fixture
def canvas(
    qtbot: QtBot,
    document: Document,
    run_state: RunState,
    settings: Settings,
    canvas_size: tuple[int, int],
) -> Iterator[CanvasView]:
    view = CanvasView(document, run_state, settings)
    qtbot.addWidget(view)
    view.resize(*canvas_size)
    view.show()
    qtbot.waitExposed(view)
    QApplication.processEvents()
    yield view


@pytest.fixture
def window(qtbot: QtBot, _isolated_home: Path) -> Iterator[MainWindow]:
    """The main window, shown at 1400×900; it never asks to save changes in teardown."""
    win = create_window(ask=False)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.document.undo_stack.setClean()
    win.close()
