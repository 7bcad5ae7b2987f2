"""Run up to here: queue a run of one node and what feeds it, nothing else.

The canvas's node menu asks for it; the window calls :func:`queue_run_to`. Only the part
of the graph the node needs is validated (:func:`nodes.executor.upstream_graph`), so an
unfinished branch elsewhere does not stop it, and the run is submitted with the node as
its only target: the executor plans the node and its upstream, and shares the output cache
with whole runs (a later Run reuses what this one computed). Seeds then move on as after
any run.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.bridge import EngineBridge
from desktop.document import Document
from desktop.run_state import RunState
from desktop.running import advance_seeds
from nodes.events import Problem
from nodes.executor import upstream_graph
from nodes.validation import FileResolver, validate


@dataclass
class PartialRun:
    run_id: int | None
    problems: list[Problem]

    def message(self, title: str) -> str:
        """What the status bar says about it."""
        if self.problems:
            count = len(self.problems)
            return f"Not run: {count} problem{'s' if count > 1 else ''} up to {title} to fix"
        return f"Queued a run up to {title}"


def queue_run_to(
    document: Document,
    bridge: EngineBridge,
    run_state: RunState,
    resolve_file: FileResolver,
    node_id: str,
) -> PartialRun:
    """Validate what ``node_id`` needs; if valid, queue a run of it and its upstream."""
    if node_id not in document.graph.nodes:
        return PartialRun(None, [Problem(node_id, None, "no such node to run")])
    part = upstream_graph(document.graph, [node_id])
    problems = validate(part, resolve_file)
    if document.graph.nodes[node_id].bypass:
        problems.append(Problem(node_id, None, "this node is bypassed"))
    run_state.set_problems(problems)
    if problems:
        return PartialRun(None, problems)
    title = document.graph.display_title(node_id)
    label = f"{document.display_name()} → {title}"
    run_id = bridge.submit(document.to_dict(), label=label, targets=[node_id])
    advance_seeds(document)
    return PartialRun(run_id, [])
