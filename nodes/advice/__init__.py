"""Advice: findings that do not stop a run, kept apart from the errors that do.

Validation (:func:`nodes.validation.review`) returns :class:`Findings`: the errors
(:class:`~nodes.events.Problem`, which block a run) and the :class:`Advice` (which never
do). A piece of advice names a node and a field like a problem, says what is worth knowing
and, briefly, why; it may carry a fix, the param values that would follow it, for a UI to
offer as one click.

The first rule is :func:`scratch_advice`: a node that feeds no output node (no Save Image,
Preview or Display needs it) is not run — as in ComfyUI, which runs only what its outputs
need — so its problems are not errors. It gets one piece of advice instead, and a graph
can hold half-built scratch nodes while the rest runs.

The rules here read only the graph's structure (nodes, links, types): no files, no
values, so they are cheap enough for every edit. The rules that read values and the
model in use (steps, cfg, prompts, sizes, memory) are in :mod:`nodes.advice.rules`, their
thresholds and words in :mod:`nodes.advice.table`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nodes.events import Problem
from nodes.graph import Graph

__all__ = ["Advice", "Findings", "output_nodes", "scratch_advice", "scratch_nodes"]


@dataclass(frozen=True, slots=True)
class Advice:
    """Something worth knowing about a node that does not stop the run."""

    node_id: str | None
    field: str | None
    message: str
    why: str = ""
    """One or two plain sentences: the reason behind the advice."""
    fix: Mapping[str, Any] | None = None
    """Param values (name → value, on ``node_id``) that would follow the advice, if any."""
    rule: str = ""
    """The rule that gave it ("cfg.high", "scratch"): what a user silences, per node
    (``NodeData.extra["silenced"]``) or everywhere (the ``silenced_advice`` setting)."""

    def __str__(self) -> str:
        where = ".".join(part for part in (self.node_id, self.field) if part)
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True, slots=True)
class Findings:
    """What validation found: ``errors`` block a run, ``advice`` never does."""

    errors: list[Problem] = field(default_factory=list)
    advice: list[Advice] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing blocks a run."""
        return not self.errors


def output_nodes(graph: Graph, targets: Iterable[str] | None = None) -> list[str]:
    """The nodes a run starts from: ``targets`` (those in the graph), or else every output
    node (``is_output``) that is executable and not bypassed — what the executor plans."""
    if targets is not None:
        return [node_id for node_id in targets if node_id in graph.nodes]
    chosen = []
    for data in graph.nodes.values():
        cls = graph.registry.get(data.type)
        if cls is not None and cls.is_output and cls.executable and not data.bypass:
            chosen.append(data.id)
    return chosen


def scratch_nodes(graph: Graph, targets: Iterable[str] | None = None) -> set[str] | None:
    """The nodes no output needs (the executor does not run them), or None when the graph
    has no output at all: then nothing is scratch and every node is judged as before (the
    run fails with "nothing to run")."""
    outputs = output_nodes(graph, targets)
    if not outputs:
        return None
    needed = graph.upstream(outputs)
    return {node_id for node_id in graph.nodes if node_id not in needed}


SCRATCH_RULE = "scratch"
SCRATCH_MESSAGE = "feeds no output node: it will not run"
SCRATCH_WHY = (
    "Only what a Save Image, Preview or Display node needs is run, as in ComfyUI. "
    "Connect it to one of those to use it."
)


def scratch_advice(
    graph: Graph, scratch: set[str], problems: Iterable[Problem] = ()
) -> list[Advice]:
    """One piece of advice per scratch node that would otherwise run (executable, not
    bypassed), in node order; ``problems`` are the scratch nodes' own problems, which the
    advice counts so the user knows what waits once the node feeds an output."""
    pending: dict[str, list[Problem]] = {}
    for problem in problems:
        if problem.node_id in scratch:
            pending.setdefault(problem.node_id, []).append(problem)
    advice = []
    for node_id in graph.nodes:
        if node_id not in scratch:
            continue
        data = graph.nodes[node_id]
        cls = graph.registry.get(data.type)
        if data.bypass or (cls is not None and not cls.executable):
            continue
        why = SCRATCH_WHY
        own = pending.get(node_id, [])
        if own:
            first = own[0]
            where = f"{first.field}: " if first.field else ""
            count = f"{len(own)} problems" if len(own) > 1 else "a problem"
            why += f" It has {count} to fix once it does ({where}{first.message})."
        advice.append(Advice(node_id, None, SCRATCH_MESSAGE, why, rule=SCRATCH_RULE))
    return advice
