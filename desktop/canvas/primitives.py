"""What a primitive node made for a param takes from it: the value, and a seed's after-run
mode.

Dragging a link out of a param's socket and choosing a primitive node (Int, Float, Seed,
String, Bool) makes one that feeds the param. It starts with the param's value (the
sampler's seed 42 stays 42, not the primitive's default 0) and, for a seed, its after-run
mode, so linking changes nothing until the user edits the primitive.
"""

from __future__ import annotations

from typing import Any

from desktop.canvas.links import PendingLink
from desktop.document import Document
from nodes.api import Node, Param


def _accepts(param: Param, value: Any) -> bool:
    if param.min is not None and value < param.min:
        return False
    return param.max is None or value <= param.max


def inherited(
    document: Document, cls: type[Node], pending: PendingLink | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """(params, seed modes by param) a new node of ``cls`` takes from the param that
    ``pending`` will link it into; empty when it is no primitive or feeds no param."""
    if pending is None or pending.is_output or cls.category != "primitives":
        return {}, {}
    if len(cls.params) != 1 or len(cls.outputs) != 1:
        return {}, {}
    data = document.graph.nodes.get(pending.node_id)
    target = document.registry.get(data.type) if data is not None else None
    fed = target.param(pending.port) if target is not None else None
    own = cls.params[0]
    if data is None or fed is None or fed.type is not own.type or fed.name not in data.params:
        return {}, {}
    value = data.params[fed.name]
    if isinstance(value, int | float) and not isinstance(value, bool) and not _accepts(own, value):
        return {}, {}
    modes: dict[str, str] = {}
    if own.seed and fed.seed:
        mode = document.seed_modes(data.id).get(fed.name)
        if mode is not None:
            modes[own.name] = mode
    return {own.name: value}, modes
