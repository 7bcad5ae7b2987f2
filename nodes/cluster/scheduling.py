"""Which actor runs which job: checkpoint affinity, as pure functions (no Ray).

A job's *models* are the checkpoint files it loads (the values of its non-bypassed
``checkpoints`` file params, after its overrides). An actor remembers the models of the
jobs it was given; its model cache holds them, so a job that shares one with it starts
without loading anything.
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
    """What the scheduler knows of one actor: the models of the jobs it ran, and how many
    jobs it holds (one running and, up to ``capacity``, the next ones waiting on it, so it
    starts the next job without a round trip to the client)."""

    index: int
    models: set[str] = field(default_factory=set[str])
    jobs: int = 0
    capacity: int = 1

    @property
    def busy(self) -> bool:
        return self.jobs >= self.capacity


def choose_slot(models: frozenset[str], slots: Sequence[Slot]) -> Slot | None:
    """The actor for a job with ``models``, among those with room: one that has them all
    loaded, then the one that has most of them, then the one holding fewest jobs, then one
    that has loaded nothing yet (so models spread rather than pile up); None when every
    actor is full."""
    free = [s for s in slots if not s.busy]
    if not free:
        return None
    return max(free, key=lambda s: (len(models & s.models), -s.jobs, not s.models, -s.index))


def assign(
    queue: Sequence[tuple[int, frozenset[str]]], slots: Sequence[Slot]
) -> list[tuple[int, Slot]]:
    """Jobs for the actors with room, level by level — first the actors holding no job,
    then those holding one, ... — so every actor is working before any gets a second job.
    At each level an actor first takes the first queued job whose models it has loaded,
    then the rest go in queue order, each to :func:`choose_slot`'s actor; but an actor that
    is already working takes no job whose model another actor has (that one takes it next,
    without loading anything), while an idle actor takes any job rather than wait. ``queue`` is
    ``(job id, models)`` in queue order; the chosen slots count their new jobs and their
    models (loaded by the time the next job there starts), so the next level already sends
    jobs after their checkpoint."""
    chosen: list[tuple[int, Slot]] = []
    taken: set[int] = set()
    for level in range(max((s.capacity for s in slots), default=0)):
        eligible = [s for s in slots if s.jobs == level and not s.busy]
        now: list[tuple[int, Slot]] = []
        for slot in eligible:
            if not slot.models:
                continue
            for job_id, models in queue:
                if job_id not in taken and models and models <= slot.models:
                    now.append((job_id, slot))
                    taken.add(job_id)
                    break
        rest = [s for s in eligible if all(s is not chosen_slot for _, chosen_slot in now)]
        for job_id, models in queue:
            if job_id in taken:
                continue
            others = [s for s in slots if all(s is not r for r in rest)]
            if level and any(models & s.models for s in others):
                continue  # an actor that has its model will take it; a busy one waits for it
            slot = choose_slot(models, rest)
            if slot is None:
                break
            now.append((job_id, slot))
            taken.add(job_id)
            rest.remove(slot)
        models_of = dict(queue)
        for job_id, slot in now:
            slot.jobs += 1
            slot.models |= models_of[job_id]  # it loads them for this job
        chosen.extend(now)
    return chosen
