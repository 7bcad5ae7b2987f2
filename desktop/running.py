"""Pressing Run: validate, highlight problems or queue the runs, then move the seeds.

Seeds follow each seed param's after-run control (:mod:`nodes.seed_control`, read with
:meth:`Document.seed_controls`): after queueing a run the seed changes (one undo step), so
the next queued run — and the next press of Run — uses the next seed, as ComfyUI users
expect.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from desktop.bridge import EngineBridge
from desktop.document import Document
from desktop.run_state import RunState
from nodes.events import Problem
from nodes.library.primitives import SEED_MAX
from nodes.seed_control import DEFAULT_SEED_MODE
from nodes.validation import FileResolver, validate


@dataclass
class QueueResult:
    run_ids: list[int]
    problems: list[Problem]


def queue_runs(
    document: Document,
    bridge: EngineBridge,
    run_state: RunState,
    resolve_file: FileResolver,
    count: int = 1,
) -> QueueResult:
    """Validate the document; if valid queue ``count`` runs, advancing seeds between them."""
    problems = validate(document.graph, resolve_file)
    run_state.set_problems(problems)
    if problems:
        return QueueResult([], problems)
    run_ids = []
    for index in range(count):
        label = f"{document.display_name()} #{index + 1}" if count > 1 else document.display_name()
        run_ids.append(bridge.submit(document.to_dict(), label=label))
        advance_seeds(document)
    return QueueResult(run_ids, [])


def advance_seeds(document: Document, rng: random.Random | None = None) -> None:
    chooser = rng or random.SystemRandom()
    changes = []
    for (node_id, name), mode in document.seed_controls().items():
        if mode == DEFAULT_SEED_MODE or document.graph.link_into(node_id, name) is not None:
            continue
        value = document.graph.nodes[node_id].params.get(name, 0)
        if not isinstance(value, int):
            continue
        if mode == "increment":
            new = value + 1 if value < SEED_MAX else 0
        elif mode == "decrement":
            new = value - 1 if value > 0 else SEED_MAX
        else:
            new = chooser.randint(0, 2**32 - 1)
        changes.append((node_id, name, new))
    if not changes:
        return
    document.undo_stack.beginMacro("Seed after run")
    try:
        for node_id, name, new in changes:
            document.set_param(node_id, name, new)
    finally:
        document.undo_stack.endMacro()
