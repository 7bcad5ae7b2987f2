"""The problems panel: what blocks a run, validation's advice, and a log of runs.

It shows :class:`RunState`'s problems (node, field, message: the document's validation
errors, kept up to date after each edit by :class:`desktop.live_validation.LiveValidator`,
and the nodes that failed in the last run), then its advice under its own heading (a node
that feeds no output and will not run, cfg too high...), muted, with the reason in the
tooltip and, per row, Apply (the fix) and Hide ("don't show again for this node"), which
the panel only signals (:mod:`desktop.panels.advice_rows`, :mod:`desktop.advice_actions`).
So it always reflects ``review(document)``: whoever changes the document or opens a file
needs no call of its own. Rows name nodes by title (the id is in the tooltip). Clicking one emits
``nodeActivated`` with its node id so the window can select that node; problems that
belong to no node are listed as graph-wide. The log records when runs were queued,
started and how they ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTabWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop import theme
from desktop.panels.advice_rows import (
    HEADING,
    advice_buttons,
    advice_heading,
    advice_menu,
    show_menu,
)
from desktop.panels.common import PlaceholderTree, format_seconds, top_level_items
from desktop.run_state import RunInfo, RunPhase, RunState
from nodes.advice import Advice
from nodes.events import Problem

MAX_LOG_ROWS = 1000
NODE_ROLE = Qt.ItemDataRole.UserRole + 1
KIND_ROLE = Qt.ItemDataRole.UserRole + 2
"""``"error"`` or ``"advice"`` (or ``"heading"``: the row above the advice)."""
ADVICE_ROLE = Qt.ItemDataRole.UserRole + 3
"""An advice row's :class:`Advice` (on the message column)."""


class Level(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


def _level_color(level: Level) -> QColor | None:
    c = theme.colors()
    return {
        Level.SUCCESS: QColor(c.success),
        Level.WARNING: QColor(c.warning),
        Level.ERROR: QColor(c.error),
    }.get(level)


class _ProblemTree(PlaceholderTree):
    """Enter/Return on a row activates it, like a click (no double signal on double-click)."""

    keyActivated = Signal(QTreeWidgetItem)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        item = self.currentItem()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and item is not None:
            self.keyActivated.emit(item)
            event.accept()
            return
        super().keyPressEvent(event)


class ProblemsPanel(QWidget):
    """Problems (click one to select its node) and a log of run events."""

    nodeActivated = Signal(str)
    """The node id of a problem the user clicked."""
    applyAdvice = Signal(object)
    """An :class:`Advice` whose Apply the user pressed (set its fix)."""
    silenceAdvice = Signal(object)
    """An :class:`Advice` the user asked not to see again on its node."""
    silenceAdviceEverywhere = Signal(object)
    """An :class:`Advice` whose rule the user asked not to see anywhere (a setting)."""

    def __init__(self, run_state: RunState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("problemsPanel")
        self.run_state = run_state
        self._title_of: Callable[[str], str | None] = lambda _node_id: None
        self._statuses: dict[int, RunPhase] = {}
        self._shown: tuple[tuple[str, str | None, str | None, str, str], ...] = ()
        """What the list shows, row by row, so an unchanged validation rebuilds nothing."""

        self.problems = _ProblemTree("No problems.", self)
        self.problems.setObjectName("problemList")
        self.problems.setColumnCount(4)
        self.problems.setHeaderLabels(["Node", "Field", "Message", ""])
        self.problems.setRootIsDecorated(False)
        self.problems.setWordWrap(True)
        self.problems.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.problems.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.problems.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.problems.customContextMenuRequested.connect(self._advice_menu)
        self.problems.itemClicked.connect(self._activate)
        self.problems.keyActivated.connect(self._activate)

        self.log_view = PlaceholderTree("Run events appear here.", self)
        self.log_view.setObjectName("runLog")
        self.log_view.setColumnCount(2)
        self.log_view.setHeaderHidden(True)
        self.log_view.setRootIsDecorated(False)
        self.log_view.setUniformRowHeights(True)
        self.log_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.log_view.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)

        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.problems, "Problems")
        self.tabs.addTab(self.log_view, "Log")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs)

        run_state.problemsChanged.connect(self.refresh)
        run_state.runsChanged.connect(self._runs_changed)
        run_state.runFinished.connect(self._run_finished)
        self.refresh()

    # ------------------------------------------------------------ public
    def set_node_titles(self, title_of: Callable[[str], str | None]) -> None:
        """How to name a node id ("Sampler"); the window passes its graph's titles."""
        self._title_of = title_of
        self.refresh()

    def problem_count(self) -> int:
        """Rows of problems (errors) shown, not counting advice."""
        return sum(1 for row in self._shown if row[0] == "error")

    def advice_count(self) -> int:
        """Rows of advice shown."""
        return sum(1 for row in self._shown if row[0] == "advice")

    def problem_item(self, row: int) -> QTreeWidgetItem | None:
        """Row ``row``: the problems first, then the advice (its heading not counted)."""
        rows = [i for i in top_level_items(self.problems) if i.data(0, KIND_ROLE) != HEADING]
        return rows[row] if 0 <= row < len(rows) else None

    def advice_widget(self, row: int) -> QWidget | None:
        """The Apply/Hide buttons of row ``row`` (as :meth:`problem_item` counts)."""
        item = self.problem_item(row)
        return self.problems.itemWidget(item, 3) if item is not None else None

    def refresh(self) -> None:
        """Relist the run state's problems and advice; switch to them when there are new
        problems."""
        problems, advice = self.run_state.problems, self.run_state.advice
        rows = (
            *(("error", p.node_id, p.field, p.message, self._name(p.node_id)) for p in problems),
            *(("advice", a.node_id, a.field, a.message, self._name(a.node_id)) for a in advice),
        )
        had = self.problem_count()
        if rows != self._shown:
            self._shown = rows
            self.problems.clear()
            items = [self._problem_item(p) for p in problems]
            advice_items = [self._advice_item(a) for a in advice]
            if advice_items:
                heading = advice_heading(len(advice), self.font())
                heading.setData(0, KIND_ROLE, HEADING)
                items.append(heading)
            self.problems.addTopLevelItems(items + advice_items)
            if advice_items:
                items[-1].setFirstColumnSpanned(True)
            for item, piece in zip(advice_items, advice, strict=True):
                buttons = advice_buttons(
                    piece, self.applyAdvice.emit, self.silenceAdvice.emit, self.problems
                )
                self.problems.setItemWidget(item, 3, buttons)
        count = len(problems)
        text = f"Problems ({count})" if count else "Problems"
        if advice:
            text += f" · {len(advice)} advice"
        self.tabs.setTabText(0, text)
        if count and not had:
            self.tabs.setCurrentWidget(self.problems)

    def log(self, message: str, level: Level = Level.INFO) -> None:
        """Add a line to the log (the window may log its own events: saved, opened…)."""
        item = QTreeWidgetItem([time.strftime("%H:%M:%S"), message])
        item.setForeground(0, QBrush(QColor(theme.colors().muted)))
        item.setToolTip(1, message)
        color = _level_color(level)
        if color is not None:
            item.setForeground(1, QBrush(color))
        item.setData(0, Qt.ItemDataRole.UserRole, level.value)
        self.log_view.addTopLevelItem(item)
        while self.log_view.topLevelItemCount() > MAX_LOG_ROWS:
            self.log_view.takeTopLevelItem(0)
        self.log_view.scrollToItem(item)

    def log_lines(self) -> list[str]:
        return [row.text(1) for row in top_level_items(self.log_view)]

    def clear_log(self) -> None:
        self.log_view.clear()

    # ------------------------------------------------------------ internals
    def _name(self, node_id: str | None) -> str:
        """How a row names its node: the title ("KSampler"), else the id; "Graph" for none."""
        if node_id is None:
            return "Graph"
        return self._title_of(node_id) or node_id

    def _row(self, node_id: str | None, field: str | None, message: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem([self._name(node_id), field or "", message])
        item.setData(0, NODE_ROLE, node_id)
        item.setToolTip(2, message)
        if node_id is None:
            font = QFont(self.font())
            font.setItalic(True)
            item.setFont(0, font)
            item.setForeground(0, QBrush(QColor(theme.colors().muted)))
            item.setToolTip(0, "A problem with the graph as a whole")
        else:
            item.setToolTip(0, f"Node id: {node_id} (click to select it)")
        return item

    def _problem_item(self, problem: Problem) -> QTreeWidgetItem:
        item = self._row(problem.node_id, problem.field, problem.message)
        item.setData(0, KIND_ROLE, "error")
        item.setForeground(2, QBrush(QColor(theme.colors().error)))
        return item

    def _advice_item(self, advice: Advice) -> QTreeWidgetItem:
        """Advice: muted, the reason in the tooltip; it never blocks a run."""
        item = self._row(advice.node_id, advice.field, advice.message)
        item.setData(0, KIND_ROLE, "advice")
        muted = QBrush(QColor(theme.colors().muted))
        for column in (1, 2):
            item.setForeground(column, muted)
        tip = f"Advice (does not stop a run): {advice.message}"
        if advice.why:
            tip += f"\n{advice.why}"
        item.setToolTip(2, tip)
        item.setData(2, ADVICE_ROLE, advice)
        return item

    def _advice_menu(self, pos: QPoint) -> None:
        item = self.problems.itemAt(pos)
        advice = item.data(2, ADVICE_ROLE) if item is not None else None
        if isinstance(advice, Advice):
            menu = advice_menu(
                self.problems,
                advice,
                self.applyAdvice.emit,
                self.silenceAdvice.emit,
                self.silenceAdviceEverywhere.emit,
            )
            show_menu(menu, self.problems, pos)

    def _activate(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        node_id = item.data(0, NODE_ROLE)
        if node_id:
            self.nodeActivated.emit(str(node_id))

    def _runs_changed(self) -> None:
        for run in self.run_state.runs.values():
            before = self._statuses.get(run.run_id)
            if before == run.status:
                continue
            self._statuses[run.run_id] = run.status
            name = self._run_name(run)
            if run.status is RunPhase.QUEUED:
                self.log(f"{name} queued")
            elif run.status is RunPhase.RUNNING:
                nodes = len(run.plan)
                self.log(f"{name} started ({nodes} node{'s' if nodes != 1 else ''})")

    def _run_finished(self, run: RunInfo) -> None:
        self._statuses[run.run_id] = run.status
        name = self._run_name(run)
        seconds = format_seconds(run.seconds)
        if run.status is RunPhase.DONE:
            self.log(f"{name} finished in {seconds}", Level.SUCCESS)
        elif run.status is RunPhase.CANCELLED:
            self.log(f"{name} cancelled after {seconds}", Level.WARNING)
        elif not run.plan and self.run_state.problems:
            count = len(self.run_state.problems)
            self.log(f"{name} not started: {count} problem{'s' if count != 1 else ''}", Level.ERROR)
        else:
            error = f": {run.error}" if run.error else ""
            self.log(f"{name} failed after {seconds}{error}", Level.ERROR)

    @staticmethod
    def _run_name(run: RunInfo) -> str:
        return f"Run #{run.run_id}" + (f" ({run.label})" if run.label else "")
