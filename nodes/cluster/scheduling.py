"""Which actor runs which job: checkpoint affinity, as pure functions (no Ray).

A job's *models* are the checkpoint files it loads (the values of its non-bypassed
``checkpoints`` file params, after its overrides). An actor remembers the models of the
jobs it ran; its model cache holds them, so a job that shares one with it starts without
loading anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nodes.registry import Registry


def job_models(
    workflow: dict[str, Any], overrides: Mapping[str, Any], registry: Registry | None
) -> frozenset[str]:
    """The checkpoint files a job loads; empty when the document does not load (the
    worker reports why)."""
    from nodes.runner import apply_overrides
    from nodes.workflow import WorkflowError, from_dict

    try:
        graph = from_dict(workflow, registry)
    except WorkflowError:
        return frozenset()
    apply_overrides(graph, overrides)
    found: set[str] = set()
    for data in graph.nodes.values():
        cls = graph.registry.get(data.type)
        if cls is None or data.bypass:
            continue
        for param in cls.params:
            value = data.params.get(param.name)
            if param.file_kind == "checkpoints" and isinstance(value, str):
                found.add(value)
    return frozenset(found)


@dataclass
class Slot:
    """What the scheduler knows of one actor."""

    index: int
    models: set[str] = field(default_factory=set[str])
    busy: bool = False


def choose_slot(models: frozenset[str], slots: Sequence[Slot]) -> Slot | None:
    """The idle actor for a job with ``models``: one that has them all loaded, then the
    one that has most of them, then one that has loaded nothing yet (so models spread
    rather than pile up), then the first idle; None when every actor is busy."""
    idle = [s for s in slots if not s.busy]
    if not idle:
        return None
    return max(idle, key=lambda s: (len(models & s.models), not s.models, -s.index))


def assign(
    queue: Sequence[tuple[int, frozenset[str]]], slots: Sequence[Slot]
) -> list[tuple[int, Slot]]:
    """Jobs for the idle actors: first each idle actor takes the first queued job whose
    models it has loaded, then the rest go in queue order, each to :func:`choose_slot`'s
    actor. ``queue`` is ``(job id, models)`` in queue order; the slots chosen are marked
    busy."""
    chosen: list[tuple[int, Slot]] = []
    taken: set[int] = set()
    for slot in slots:
        if slot.busy or not slot.models:
            continue
        for job_id, models in queue:
            if job_id not in taken and models and models <= slot.models:
                chosen.append((job_id, slot))
                taken.add(job_id)
                slot.busy = True
                break
    for job_id, models in queue:
        if job_id in taken:
            continue
        slot = choose_slot(models, slots)
        if slot is None:
            break
        chosen.append((job_id, slot))
        taken.add(job_id)
        slot.busy = True
    return chosen
