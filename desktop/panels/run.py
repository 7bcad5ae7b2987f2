"""The run panel: the current run's progress and ETA, the queue, and the last run's timings.

It reads :class:`~desktop.run_state.RunState` (``runsChanged`` for the queue and progress,
``runFinished`` for the timings) and talks to the bridge only to cancel. The batch count
and the Run button live in the window's toolbar.

The dock is short along the bottom of the window (about 200 px at 1280×720), so the
lists get the height: progress and buttons share one line in a wide dock, the lists'
own headers carry their titles ("Queue", "Last Run · #3 done in 6.6 s") instead of
headings above them, and each list keeps room for a few rows (:data:`MIN_ROWS`), so
neither shrinks to one row nor clips its placeholder. Nodes are named by title.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QPainter, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop import theme
from desktop.bridge import EngineBridge
from desktop.panels.common import PlaceholderTree, format_eta, format_seconds
from desktop.run_state import NodeState, RunInfo, RunPhase, RunState

MAX_QUEUE_ROWS = 200
"""Older runs drop off the list (RunState keeps them)."""
MIN_ROWS = 3
"""Rows each list always has room for: the dock cannot squeeze it below that."""
WIDE_TOP = 720
"""From this panel width the progress bar and buttons share the heading's line."""
FRACTION_ROLE = Qt.ItemDataRole.UserRole + 1

STATUS_TEXT = {
    RunPhase.QUEUED: "Queued",
    RunPhase.RUNNING: "Running",
    RunPhase.DONE: "Done",
    RunPhase.CANCELLED: "Cancelled",
    RunPhase.FAILED: "Failed",
}


def status_color(status: RunPhase) -> QColor:
    c = theme.colors()
    return QColor(
        {
            RunPhase.QUEUED: c.muted,
            RunPhase.RUNNING: c.accent,
            RunPhase.DONE: c.success,
            RunPhase.CANCELLED: c.warning,
            RunPhase.FAILED: c.error,
        }.get(status, c.text)
    )


class _BarDelegate(QStyledItemDelegate):
    """Paints a bar as long as the row's share of the slowest node's time."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        super().paint(painter, option, index)
        fraction = index.data(FRACTION_ROLE)
        if not isinstance(fraction, float) or fraction < 0.01:
            return
        rect = QRectF(option.rect).adjusted(4, 0, -4, 0)
        height = 6.0
        rect = QRectF(
            rect.left(),
            rect.center().y() - height / 2,
            max(2.0, rect.width() * min(fraction, 1.0)),
            height,
        )
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.colors().accent))
        painter.drawRoundedRect(rect, 3, 3)
        painter.restore()


class RunPanel(QWidget):
    """Progress of the current run, the queue of runs, per-node timings, Cancel."""

    def __init__(
        self, bridge: EngineBridge, run_state: RunState, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("runPanel")
        self.bridge = bridge
        self.run_state = run_state
        self._title_of: Callable[[str], str | None] = lambda _node_id: None
        self._items: dict[int, QTreeWidgetItem] = {}

        self.heading = QLabel("No run in progress", self)
        self.heading.setProperty("role", "heading")
        self.eta_label = QLabel("", self)
        self.eta_label.setProperty("role", "muted")
        self.eta_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("runProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Idle")
        self.detail = QLabel("", self)
        self.detail.setProperty("role", "muted")

        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setProperty("role", "danger")
        self.cancel_button.setToolTip("Stop the current run (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        self.clear_button = QPushButton("Clear Queue", self)
        self.clear_button.setToolTip("Drop the runs that have not started")
        self.clear_button.clicked.connect(self.clear_queue)

        self.queue = PlaceholderTree("No runs yet. Press Run (Ctrl+Enter).", self)
        self.queue.setObjectName("runQueue")
        self.queue.setColumnCount(4)
        self.queue.setHeaderLabels(["#", "Queue", "Status", "Time"])
        self.queue.setRootIsDecorated(False)
        self.queue.setUniformRowHeights(True)
        self.queue.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.queue.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.queue.customContextMenuRequested.connect(self._queue_menu)
        self._fit_columns(self.queue, stretch=1)

        self.timings = PlaceholderTree("Timings of the last run appear here.", self)
        self.timings.setObjectName("runTimings")
        self.timings.setColumnCount(3)
        self.timings.setHeaderLabels(["Last Run", "", "Time"])
        self.timings.setRootIsDecorated(False)
        self.timings.setUniformRowHeights(True)
        self.timings.setItemDelegateForColumn(1, _BarDelegate(self.timings))
        self.timings.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self._fit_columns(self.timings, stretch=0)
        self.timings.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.timings.header().resizeSection(1, 90)
        self.timings_label = QLabel("", self)
        """The last run's summary ("#3 done in 6.60 s"), also shown in the list's header."""
        self.timings_label.hide()
        for tree in (self.queue, self.timings):
            tree.setMinimumHeight(self._rows_height(tree, MIN_ROWS))

        info = QHBoxLayout()
        info.setSpacing(8)
        info.addWidget(self.heading)
        info.addWidget(self.detail, 1)
        info.addWidget(self.eta_label)
        controls = QHBoxLayout()
        controls.setSpacing(6)
        controls.addWidget(self.progress, 1)
        controls.addWidget(self.clear_button)
        controls.addWidget(self.cancel_button)
        self.top = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.top.setSpacing(6)
        self.top.addLayout(info, 1)
        self.top.addLayout(controls, 1)
        self.progress.setMinimumWidth(160)

        self.splitter = splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.queue)
        splitter.addWidget(self.timings)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(self.top)
        layout.addWidget(splitter, 1)

        self._ticker = QTimer(self)
        self._ticker.setInterval(500)
        self._ticker.timeout.connect(self.refresh)

        run_state.runsChanged.connect(self.refresh)
        run_state.runFinished.connect(self.show_timings)
        self.refresh()

    @staticmethod
    def _rows_height(tree: PlaceholderTree, rows: int) -> int:
        """The height that shows the header and ``rows`` rows of ``tree``."""
        row = max(tree.fontMetrics().height() + 8, 20)
        return tree.header().sizeHint().height() + rows * row + 2 * tree.frameWidth()

    @staticmethod
    def _fit_columns(tree: PlaceholderTree, stretch: int) -> None:
        header = tree.header()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(24)
        for column in range(tree.columnCount()):
            mode = (
                QHeaderView.ResizeMode.Stretch
                if column == stretch
                else QHeaderView.ResizeMode.ResizeToContents
            )
            header.setSectionResizeMode(column, mode)

    # ------------------------------------------------------------ public
    def set_node_titles(self, title_of: Callable[[str], str | None]) -> None:
        """How to name a node id ("Sampler"); the window passes its graph's titles."""
        self._title_of = title_of
        self.refresh()

    def node_label(self, node_id: str) -> str:
        """A node's title ("KSampler"); its id only when it has none."""
        title = self._title_of(node_id)
        if title:
            return title
        return f"Node {node_id}" if node_id.isdigit() else node_id

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Queue and timings side by side in a wide, short dock; stacked in a tall one.
        A wide dock puts the progress bar and buttons on the heading's line."""
        super().resizeEvent(event)
        wide = self.width() > 640 and self.width() > 1.5 * self.height()
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
        direction = (
            QBoxLayout.Direction.LeftToRight
            if self.width() >= WIDE_TOP
            else QBoxLayout.Direction.TopToBottom
        )
        if self.top.direction() != direction:
            self.top.setDirection(direction)

    def cancel(self) -> None:
        self.bridge.cancel()

    def clear_queue(self) -> None:
        self.bridge.clear_queue()

    def refresh(self) -> None:
        """Bring the queue list and the progress up to date with the run state."""
        self._refresh_queue()
        self._refresh_progress()

    def show_timings(self, run: RunInfo) -> None:
        """List the per-node timings of ``run`` (a run that ran no node keeps the last)."""
        if not run.timings:
            return
        self.timings.clear()
        longest = max((s for s, cached in run.timings.values() if not cached), default=0.0)
        for node_id, (seconds, cached) in run.timings.items():
            item = QTreeWidgetItem(
                [self.node_label(node_id), "", "cached" if cached else format_seconds(seconds)]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, node_id)
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(2, f"{seconds:.3f} s" + (" (cached: not run again)" if cached else ""))
            if cached:
                muted = QBrush(QColor(theme.colors().muted))
                for column in range(3):
                    item.setForeground(column, muted)
            elif longest > 0:
                item.setData(1, FRACTION_ROLE, seconds / longest)
            self.timings.addTopLevelItem(item)
        status = STATUS_TEXT[run.status].lower()
        summary = f"#{run.run_id} {status} in {format_seconds(run.seconds)}"
        self.timings_label.setText(summary)
        self.timings.setHeaderLabels([f"Last Run · {summary}", "", "Time"])

    # ------------------------------------------------------------ internals
    def _refresh_queue(self) -> None:
        runs = sorted(self.run_state.runs.values(), key=lambda r: r.run_id)[-MAX_QUEUE_ROWS:]
        keep = {run.run_id for run in runs}
        for run_id in [r for r in self._items if r not in keep]:
            item = self._items.pop(run_id)
            self.queue.takeTopLevelItem(self.queue.indexOfTopLevelItem(item))
        now = time.monotonic()
        for run in runs:
            item = self._items.get(run.run_id)
            if item is None:
                item = QTreeWidgetItem(self.queue)
                item.setData(0, Qt.ItemDataRole.UserRole, run.run_id)
                item.setTextAlignment(
                    0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
                item.setTextAlignment(
                    3, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
                self._items[run.run_id] = item
                self.queue.scrollToItem(item)
            if run.status is RunPhase.RUNNING and run.started:
                seconds = format_seconds(now - run.started)
            elif not run.status.active and (run.seconds or run.plan):
                seconds = format_seconds(run.seconds)
            else:
                seconds = ""
            texts = (
                str(run.run_id),
                run.label or "Run",
                STATUS_TEXT[run.status],
                seconds,
            )
            for column, text in enumerate(texts):
                if item.text(column) != text:
                    item.setText(column, text)
            item.setForeground(2, QBrush(status_color(run.status)))
            item.setToolTip(2, run.error or "")
        queued = any(r.status is RunPhase.QUEUED for r in self.run_state.runs.values())
        self.clear_button.setEnabled(queued)
        self.cancel_button.setEnabled(self.run_state.current is not None)

    def _refresh_progress(self) -> None:
        current = self.run_state.current
        run = self.run_state.runs.get(current) if current is not None else None
        if run is None:
            self._ticker.stop()
            waiting = sum(r.status is RunPhase.QUEUED for r in self.run_state.runs.values())
            self.heading.setText("Starting…" if waiting else "No run in progress")
            self.eta_label.setText(f"{waiting} queued" if waiting else "")
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("Waiting" if waiting else "Idle")
            self.detail.setText("")
            return
        if not self._ticker.isActive():
            self._ticker.start()
        running = next(
            (
                node_id
                for node_id in run.plan
                if self.run_state.status(node_id).state is NodeState.RUNNING
            ),
            None,
        )
        name = f"Run #{run.run_id}" + (f" · {run.label}" if run.label else "")
        others = sum(  # a cluster runs several jobs at once: each has its row in the queue
            r.status is RunPhase.RUNNING and r.run_id != run.run_id
            for r in self.run_state.runs.values()
        )
        if others:
            name += f" (+{others} more running)"
        status = self.run_state.status(running) if running is not None else None
        if status is not None and status.total > 0:
            self.progress.setRange(0, status.total)
            self.progress.setValue(min(status.step, status.total))
            self.progress.setFormat(f"{status.step}/{status.total}")
        else:  # a node without steps: show how far through the plan the run is
            total = max(len(run.plan), 1)
            self.progress.setRange(0, total)
            self.progress.setValue(min(run.done_nodes, total))
            self.progress.setFormat(f"node {min(run.done_nodes + 1, total)}/{total}")
        self.heading.setText(name)
        eta = self.run_state.eta_seconds()
        self.eta_label.setText(f"ETA {format_eta(eta)}" if eta is not None else "")
        parts = []
        if running is not None:
            parts.append(self.node_label(running))
        if run.plan:
            parts.append(f"node {min(run.done_nodes + 1, len(run.plan))} of {len(run.plan)}")
        if run.started:
            parts.append(f"{format_seconds(time.monotonic() - run.started)} elapsed")
        self.detail.setText(" · ".join(parts))

    def _queue_menu(self, pos: QPoint) -> None:
        item = self.queue.itemAt(pos)
        if item is None:
            return
        run_id = item.data(0, Qt.ItemDataRole.UserRole)
        run = self.run_state.runs.get(run_id)
        if run is None or not run.status.active:
            return
        menu = QMenu(self)
        menu.addAction(f"Cancel Run #{run_id}", lambda: self.bridge.cancel(run_id))
        menu.exec(self.queue.viewport().mapToGlobal(pos))
