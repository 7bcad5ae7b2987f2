"""Pressing Run: validate, highlight problems or queue the runs, then move the seeds.

Seeds follow each seed param's after-run control (:mod:`nodes.seed_control`, read with
:meth:`Document.seed_controls`): after queueing a run the seed changes (one undo step), so
the next queued run — and the next press of Run — uses the next seed, as ComfyUI users
expect.

A batch (Run × N) is for N different images. ComfyUI gets them because its seeds default
to randomize; here a seed left *fixed* is advanced per queued run instead — run *i* of the
batch uses ``seed + i`` through an override, and the document keeps its seed, so the batch
can be repeated — and the run labels and the status bar say so. A run that would repeat
another exactly (same values, same links: every node would come from the cache) is never
queued silently: within a batch it is not queued at all, and a repeat of an earlier run is
queued with a message that says it repeats it.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

from desktop.bridge import EngineBridge
from desktop.document import Document
from desktop.run_state import RunPhase, RunState
from nodes.advice import Advice, scratch_nodes
from nodes.advice.rules import AdviceContext
from nodes.events import Problem
from nodes.graph import Graph
from nodes.library.primitives import SEED_MAX
from nodes.seed_control import DEFAULT_SEED_MODE
from nodes.sweeps import advanced_seed, seed_batch
from nodes.validation import FileResolver, review


@dataclass
class QueueResult:
    run_ids: list[int]
    problems: list[Problem]
    advice: list[Advice] = field(default_factory=list)
    seeds: list[str] = field(default_factory=list)
    """The fixed seeds a batch advanced per run: ``"sampler.seed 5–8"``."""
    skipped: int = 0
    """Runs of the batch not queued because they would repeat one queued before them."""
    repeat_of: int | None = None
    """An earlier run the (first) queued run repeats exactly: all of it comes from cache."""

    def message(self) -> str:
        """What the status bar says about it."""
        if self.problems:
            count = len(self.problems)
            return f"Not run: {count} problem{'s' if count > 1 else ''} to fix"
        count = len(self.run_ids)
        text = f"Queued {count} run{'s' if count > 1 else ''}"
        if self.seeds:
            text += f" (a fixed seed advances per run of a batch: {', '.join(self.seeds)})"
        if self.skipped:
            text += (
                f"; {self.skipped} more would repeat it exactly (no seed to vary) and "
                "were not queued"
            )
        if self.repeat_of is not None:
            text += (
                f"; nothing changed since run #{self.repeat_of}, so every node will come "
                "from the cache (set a seed to increment or randomize for a new image)"
            )
        return text


def queue_runs(
    document: Document,
    bridge: EngineBridge,
    run_state: RunState,
    resolve_file: FileResolver,
    count: int = 1,
    context: AdviceContext | None = None,
) -> QueueResult:
    """Validate the document; if valid queue ``count`` runs, advancing seeds between them
    (a fixed seed through per-run overrides: see the module docstring). ``context`` is
    what the advice rules know from the settings (advice never stops a run)."""
    findings = review(document.graph, resolve_file, context=context)
    run_state.set_findings(findings)
    if findings.errors:
        run_state.clear_finished()  # no badge may suggest that this graph just ran
        return QueueResult([], findings.errors, findings.advice)
    fixed = _fixed_seeds(document) if count > 1 else []
    earlier = {
        run.key: run.run_id
        for run in run_state.runs.values()
        if run.key and run.status in (RunPhase.QUEUED, RunPhase.RUNNING, RunPhase.DONE)
    }
    result = QueueResult([], [], findings.advice)
    for node_id, name, value in fixed:
        last = advanced_seed(value, count - 1, SEED_MAX)
        result.seeds.append(f"{document.graph.display_title(node_id)}.{name} {value}–{last}")
    batch_keys: set[str] = set()
    # the engine's expansion (the same one daguerre run --sweep uses): one job per run
    for index, overrides in enumerate(seed_batch(fixed, count, SEED_MAX)):
        key = run_key(document.graph, overrides)
        if key in batch_keys:
            result.skipped += 1
            continue
        batch_keys.add(key)
        label = document.display_name()
        if count > 1:
            label += f" #{index + 1}"
        if len(fixed) == 1:
            label += f" · seed {overrides[f'{fixed[0][0]}.{fixed[0][1]}']}"
        run_id = bridge.submit(document.to_dict(), overrides or None, label=label)
        result.run_ids.append(run_id)
        if run_id in run_state.runs:
            run_state.runs[run_id].key = key
        if key in earlier and result.repeat_of is None and len(result.run_ids) == 1:
            result.repeat_of = earlier[key]
        advance_seeds(document)
    return result


def run_key(graph: Graph, overrides: dict[str, Any]) -> str:
    """What decides a run's outputs as the document holds it: every node's type, version,
    params and bypass, the links, and the overrides (not positions, titles or groups).
    Two runs with one key give the same outputs: the second is all cache hits."""
    nodes = {d.id: [d.type, d.type_version, d.params, d.bypass] for d in graph.nodes.values()}
    links = sorted((link.source, link.output, link.target, link.input) for link in graph.links)
    text = json.dumps([nodes, links, overrides], sort_keys=True, default=repr)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _fixed_seeds(document: Document) -> list[tuple[str, str, int]]:
    """(node, param, value) of each fixed, unlinked seed of a node the run needs."""
    scratch = scratch_nodes(document.graph) or set()
    fixed = []
    for (node_id, name), mode in document.seed_controls().items():
        if mode != DEFAULT_SEED_MODE or node_id in scratch:
            continue
        if document.graph.link_into(node_id, name) is not None:
            continue
        value = document.graph.nodes[node_id].params.get(name, 0)
        if isinstance(value, int) and not isinstance(value, bool):
            fixed.append((node_id, name, value))
    return fixed


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
