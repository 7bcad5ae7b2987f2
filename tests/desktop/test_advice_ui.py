"""Advice in the app: an amber mark on the node and the field (tooltip with the why), the
Problems panel's advice heading with Apply (one undoable edit) and "Don't show again for
this node" (saved with the workflow), and the setting that silences a rule everywhere."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton, QWidget
from pytestqt.qtbot import QtBot

from desktop.advice_actions import advice_context, connect_advice
from desktop.canvas.advice_marks import AdviceMark
from desktop.canvas.view import CanvasView
from desktop.document import Document
from desktop.live_validation import LiveValidator
from desktop.panels.advice_rows import EVERYWHERE_TEXT, SILENCE_TEXT, advice_menu
from desktop.panels.problems import ADVICE_ROLE, KIND_ROLE, ProblemsPanel
from desktop.run_state import RunState
from nodes.advice.rules import SILENCED_KEY
from nodes.paths import FileFinder, resources_dir
from nodes.settings import Settings
from tests.desktop.canvas_helpers import node

TXT2IMG = resources_dir() / "workflows" / "txt2img.json"


def _setup(
    qtbot: QtBot, document: Document, run_state: RunState, settings: Settings | None = None
) -> tuple[LiveValidator, ProblemsPanel]:
    document.load(TXT2IMG)
    chosen = settings or Settings()
    validator = LiveValidator(
        document,
        run_state,
        lambda: FileFinder([]),
        delay_ms=10,
        context=lambda: advice_context(chosen),
    )
    panel = ProblemsPanel(run_state)
    panel.set_node_titles(document.graph.display_title)
    qtbot.addWidget(panel)
    connect_advice(panel, document)
    return validator, panel


def _marks(canvas: CanvasView, node_id: str) -> dict[str | None, AdviceMark]:
    item = node(canvas, node_id)
    return {m.field: m for m in item.childItems() if isinstance(m, AdviceMark)}


def _rules(run_state: RunState) -> set[str]:
    return {a.rule for a in run_state.advice}


def _button(panel: ProblemsPanel, rule: str, name: str) -> QToolButton:
    for row in range(panel.problem_count() + panel.advice_count()):
        item = panel.problem_item(row)
        if item is not None and item.data(0, KIND_ROLE) == "advice":
            advice = item.data(2, ADVICE_ROLE)
            if advice.rule == rule:
                box = panel.advice_widget(row)
                assert isinstance(box, QWidget)
                button = box.findChild(QToolButton, name)
                assert button is not None
                return button
    raise AssertionError(f"no {rule} row")


def test_cfg_25_shows_the_mark_and_apply_sets_the_suggestion_undo_restores_25(
    qtbot: QtBot, canvas: CanvasView, document: Document, run_state: RunState
) -> None:
    validator, panel = _setup(qtbot, document, run_state)
    validator.schedule()
    qtbot.waitUntil(lambda: not validator.pending, timeout=5000)
    assert "cfg" not in _marks(canvas, "sampler")  # the template gives no advice
    document.set_param("sampler", "cfg", 25.0)
    qtbot.waitUntil(lambda: "cfg" in _marks(canvas, "sampler"), timeout=5000)

    mark = _marks(canvas, "sampler")["cfg"]
    assert mark.isVisible() and "oversaturated" in mark.toolTip()
    assert "follows the prompt more literally" in mark.toolTip()  # the why
    item = node(canvas, "sampler")
    (cfg_rect,) = [rect for param, _top, rect in item.rows if param.name == "cfg"]
    assert mark.mapRectToParent(mark.boundingRect()).intersects(cfg_rect)  # by the field
    headings = [
        panel.problems.topLevelItem(i)
        for i in range(panel.problems.topLevelItemCount())
        if panel.problems.topLevelItem(i).data(0, KIND_ROLE) == "heading"  # type: ignore[union-attr]
    ]
    assert len(headings) == 1 and headings[0].text(0).startswith("Advice (1)")  # type: ignore[union-attr]
    assert panel.problem_count() >= 1  # the missing checkpoint: errors stay errors

    qtbot.mouseClick(_button(panel, "cfg.high", "applyAdvice"), Qt.MouseButton.LeftButton)
    assert document.graph.nodes["sampler"].params["cfg"] == 7.0
    qtbot.waitUntil(lambda: "cfg" not in _marks(canvas, "sampler"), timeout=5000)
    assert document.undo_stack.undoText().startswith("Apply advice")
    document.undo_stack.undo()  # one step
    assert document.graph.nodes["sampler"].params["cfg"] == 25.0
    qtbot.waitUntil(lambda: "cfg" in _marks(canvas, "sampler"), timeout=5000)


def test_silencing_on_a_node_is_undoable_and_persists_through_save_and_reopen(
    qtbot: QtBot,
    canvas: CanvasView,
    document: Document,
    run_state: RunState,
    tmp_path: Path,
) -> None:
    validator, panel = _setup(qtbot, document, run_state)
    document.set_param("sampler", "cfg", 25.0)
    qtbot.waitUntil(lambda: "cfg.high" in _rules(run_state), timeout=5000)
    row = next(
        i
        for i in range(panel.problem_count() + panel.advice_count())
        if panel.problem_item(i).data(0, KIND_ROLE) == "advice"  # type: ignore[union-attr]
    )
    advice = panel.problem_item(row).data(2, ADVICE_ROLE)  # type: ignore[union-attr]
    menu = advice_menu(panel.problems, advice, lambda _a: None, lambda _a: None)
    assert SILENCE_TEXT in [action.text() for action in menu.actions()]

    qtbot.mouseClick(_button(panel, "cfg.high", "silenceAdvice"), Qt.MouseButton.LeftButton)
    assert document.graph.nodes["sampler"].extra[SILENCED_KEY] == ["cfg.high"]
    qtbot.waitUntil(lambda: "cfg.high" not in _rules(run_state), timeout=5000)
    assert "cfg" not in _marks(canvas, "sampler")
    document.undo_stack.undo()
    assert SILENCED_KEY not in document.graph.nodes["sampler"].extra
    qtbot.waitUntil(lambda: "cfg.high" in _rules(run_state), timeout=5000)
    document.undo_stack.redo()
    qtbot.waitUntil(lambda: "cfg.high" not in _rules(run_state), timeout=5000)

    path = document.save(tmp_path / "silenced.json")
    document.new()
    qtbot.waitUntil(lambda: not run_state.advice, timeout=5000)
    document.load(path)
    assert document.graph.nodes["sampler"].extra[SILENCED_KEY] == ["cfg.high"]
    assert document.graph.nodes["sampler"].params["cfg"] == 25.0
    validator.schedule()
    qtbot.waitUntil(lambda: not validator.pending, timeout=5000)
    assert "cfg.high" not in _rules(run_state)
    assert "cfg" not in _marks(canvas, "sampler")
    document.set_param("sampler", "steps", 4)  # other rules still speak on that node
    qtbot.waitUntil(lambda: "steps.low" in _rules(run_state), timeout=5000)


def test_the_setting_silences_a_rule_everywhere(
    qtbot: QtBot, canvas: CanvasView, document: Document, run_state: RunState
) -> None:
    validator, _panel = _setup(qtbot, document, run_state, Settings(silenced_advice=["cfg"]))
    document.set_param("sampler", "cfg", 25.0)
    document.set_param("sampler", "steps", 4)
    qtbot.waitUntil(lambda: "steps.low" in _rules(run_state), timeout=5000)
    assert "cfg.high" not in _rules(run_state)
    assert set(_marks(canvas, "sampler")) == {"steps"}
    assert not validator.pending


def test_dont_show_anywhere_goes_to_the_settings_and_the_dialog_edits_it(
    qtbot: QtBot, canvas: CanvasView, document: Document, run_state: RunState
) -> None:
    from desktop.settings_dialog import SettingsDialog

    settings = Settings()
    document.load(TXT2IMG)
    validator = LiveValidator(
        document,
        run_state,
        lambda: FileFinder([]),
        delay_ms=10,
        context=lambda: advice_context(settings),
    )
    panel = ProblemsPanel(run_state)
    qtbot.addWidget(panel)
    connect_advice(panel, document, lambda: settings, validator.schedule)
    document.set_param("sampler", "cfg", 25.0)
    qtbot.waitUntil(lambda: "cfg.high" in _rules(run_state), timeout=5000)
    (advice,) = [a for a in run_state.advice if a.rule == "cfg.high"]
    menu = advice_menu(panel.problems, advice, lambda _a: None, lambda _a: None, lambda _a: None)
    assert EVERYWHERE_TEXT in [action.text() for action in menu.actions()]

    panel.silenceAdviceEverywhere.emit(advice)
    assert settings.silenced_advice == ["cfg.high"]
    assert Settings.load().silenced_advice == ["cfg.high"]  # saved
    assert SILENCED_KEY not in document.graph.nodes["sampler"].extra  # not the workflow
    qtbot.waitUntil(lambda: "cfg.high" not in _rules(run_state), timeout=5000)

    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.silenced_edit.text() == "cfg.high"
    dialog.silenced_edit.setText("cfg, steps.low ,")
    assert dialog.values()["silenced_advice"] == ["cfg", "steps.low"]
    dialog.silenced_edit.setText("")
    dialog.accept()
    assert settings.silenced_advice == [] and Settings.load().silenced_advice == []
    validator.schedule()
    qtbot.waitUntil(lambda: "cfg.high" in _rules(run_state), timeout=5000)
