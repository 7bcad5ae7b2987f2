"""Validation after every edit, off the GUI thread: problems follow the document.

:class:`LiveValidator` watches the document's graph. An edit (re)starts a short timer
(:data:`DEBOUNCE_MS`), so typing or dragging a value validates once, after it. When the
timer fires the graph is copied on the GUI thread (:meth:`nodes.graph.Graph.copy`, a plain
snapshot: about a millisecond for 300 nodes) and the copy is judged on a worker thread by
:func:`nodes.validation.review`, which touches the disk for file params; the findings come
back through a queued Qt signal and go to :meth:`RunState.set_findings
<desktop.run_state.RunState.set_findings>`, which the Problems panel and the canvas follow.
One pass runs at a time: a result that an edit made meanwhile has outdated is dropped and
the next pass starts. Moving or resizing nodes changes nothing validation sees, so it does
not validate.

So the Problems panel always shows ``review(document)``: opening a file (an imported
ComfyUI workflow with placeholders), fixing a field or deleting a node updates it without
pressing Run.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.document import Document
from desktop.run_state import RunState
from nodes.advice import Findings
from nodes.advice.rules import AdviceContext
from nodes.events import Problem
from nodes.graph import Graph, Link, NodeData
from nodes.validation import FileResolver, review

DEBOUNCE_MS = 150
"""Quiet time after the last edit before validating (one pass per burst of edits)."""

_UNSEEN_ATTRS = frozenset({"position", "size", "collapsed", "color", "pinned"})
"""Node attributes validation does not read (and no panel shows): no pass for them."""


class LiveValidator(QObject):
    """Re-validates ``document`` in the background after each edit (debounced)."""

    validated = Signal(object)
    """The Findings just given to the run state."""
    _done = Signal(int, object, float)
    """(generation, Findings, seconds) from the worker thread; queued to the GUI thread."""

    def __init__(
        self,
        document: Document,
        run_state: RunState,
        resolver: Callable[[], FileResolver],
        delay_ms: int = DEBOUNCE_MS,
        parent: QObject | None = None,
        context: Callable[[], AdviceContext] | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.run_state = run_state
        self._resolver = resolver
        self._context = context or AdviceContext
        """What the advice rules know from the settings (device, advice silenced
        everywhere: :func:`desktop.advice_actions.advice_context`)."""
        self._generation = 0
        """Bumped by every edit: a pass of an older generation is outdated."""
        self._busy = False
        self._shown = 0
        """The generation whose findings the run state shows."""
        self.snapshot_ms = 0.0
        """GUI-thread time of the last pass (copying the graph)."""
        self.validate_ms = 0.0
        """Worker-thread time of the last pass (judging the copy)."""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._start)
        self._done.connect(self._finished)

        graph = document.graph
        subscriptions: list[tuple[Any, Callable[..., Any]]] = [
            (graph.node_added, self._node_edit),
            (graph.node_removed, self._node_edit),
            (graph.param_changed, self._param_edit),
            (graph.link_added, self._link_edit),
            (graph.link_removed, self._link_edit),
            (graph.node_changed, self._attr_edit),
        ]
        for signal, callback in subscriptions:
            signal.sub(callback)
        self._subscriptions = subscriptions
        # the graph outlives this object: unsubscribe without touching it when it goes
        self.destroyed.connect(lambda *_: _unsubscribe(subscriptions))

    # ------------------------------------------------------------ public
    @property
    def pending(self) -> bool:
        """A pass is due or running: the run state may not show the latest edit yet."""
        return self._timer.isActive() or self._busy

    def schedule(self) -> None:
        """Validate again after the quiet time (an edit, new settings, a new file)."""
        self._generation += 1
        self._timer.start()

    def validate_now(self) -> Findings:
        """Validate on this thread and show the result at once (pressing Run does)."""
        self._generation += 1
        self._timer.stop()
        findings = review(self.document.graph, self._resolver(), context=self._context())
        self._apply(findings)
        return findings

    def stop(self) -> None:
        """Stop following the document (the window is closing)."""
        self._timer.stop()
        _unsubscribe(self._subscriptions)
        self._subscriptions = []

    # ------------------------------------------------------------ edits
    def _node_edit(self, _data: NodeData) -> None:
        self.schedule()

    def _param_edit(self, _node_id: str, _name: str, _value: Any) -> None:
        self.schedule()

    def _link_edit(self, _link: Link) -> None:
        self.schedule()

    def _attr_edit(self, _node_id: str, attr: str, _value: Any) -> None:
        if attr not in _UNSEEN_ATTRS:
            self.schedule()

    # ------------------------------------------------------------ passes
    def _start(self) -> None:
        if self._busy:
            return  # the running pass is outdated: _finished starts the next one
        self._busy = True
        began = time.perf_counter()
        snapshot = self.document.graph.copy()
        self.snapshot_ms = (time.perf_counter() - began) * 1000
        thread = threading.Thread(
            target=self._work,
            args=(self._generation, snapshot, self._resolver(), self._context()),
            name="daguerre-validate",
            daemon=True,
        )
        thread.start()

    def _work(
        self, generation: int, graph: Graph, resolve: FileResolver, context: AdviceContext
    ) -> None:
        began = time.perf_counter()
        try:
            findings = review(graph, resolve, context=context)
        except Exception as exc:  # a bug in a node's rules must not stop live validation
            findings = Findings([Problem(None, None, f"validation failed: {exc}")])
        seconds = time.perf_counter() - began
        with contextlib.suppress(RuntimeError):  # the window closed while validating
            self._done.emit(generation, findings, seconds)

    def _finished(self, generation: int, findings: Findings, seconds: float) -> None:
        self._busy = False
        self.validate_ms = seconds * 1000
        if generation != self._generation:
            if self._shown != self._generation and not self._timer.isActive():
                self._start()  # outdated, and the edits are over: validate them now
            return
        self._apply(findings)

    def _apply(self, findings: Findings) -> None:
        self._shown = self._generation
        self.run_state.set_findings(findings)
        self.validated.emit(findings)


def _unsubscribe(subscriptions: list[tuple[Any, Callable[..., Any]]]) -> None:
    for signal, callback in subscriptions:
        with contextlib.suppress(ValueError):  # already gone
            signal.unsub(callback)
