"""The placeholder node: a ComfyUI node Daguerre cannot run, kept whole.

An imported ComfyUI node of a type Daguerre has no counterpart for (a custom node, a video
or Flux node, a subgraph) becomes one ``comfy.placeholder`` node instead of being dropped:

- its params say which ComfyUI type it stands for and why it cannot run, and the node's
  ``extra["comfy"]`` holds the original ComfyUI data untouched, so saving the workflow and
  exporting it back to ComfyUI loses nothing;
- validation fails on it with that reason (through :meth:`Placeholder.check_params`), so a
  graph that needs it never starts — unless it is bypassed and nothing uses its outputs,
  exactly the case where ComfyUI would not run it either;
- it accepts links into any input name (they keep ComfyUI's wiring), but declares no
  outputs: a node fed by a placeholder is reported too, and can never be handed a value
  the executor does not have.

It is a registered node type rather than an unknown one because an unknown type can only
be reported as "unknown node type"; this one names the ComfyUI type and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes.api import Input, Node, NodeError, Param
from nodes.comfy.widgets import short
from nodes.context import NodeContext
from nodes.ports import PortType
from nodes.registry import Registry

PLACEHOLDER = "comfy.placeholder"


class Placeholder(Node):
    """A ComfyUI node that Daguerre cannot run (an unsupported or custom node type). It
    keeps the node's ComfyUI data, so saving or exporting the workflow loses nothing.
    Replace it with Daguerre nodes, or bypass it if nothing needs its outputs."""

    type_id = PLACEHOLDER
    listed = False  # made by the importer, never by hand
    title = "ComfyUI node"
    category = "comfyui"
    params = (
        Param("comfy_type", PortType.STRING, default="", linkable=False, label="ComfyUI type"),
        Param("reason", PortType.STRING, default="", linkable=False, multiline=True),
    )

    @classmethod
    def input(cls, name: str) -> Input | None:
        # Any ComfyUI input name is accepted, so imported links validate quietly here;
        # the node itself reports why it cannot run.
        return Input(name, PortType.ANY, optional=True)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [("comfy_type", describe(params.get("comfy_type", ""), params.get("reason", "")))]

    def run(self, ctx: NodeContext, *, comfy_type: str, reason: str) -> tuple[()]:
        raise NodeError(describe(comfy_type, reason), "comfy_type")


def describe(comfy_type: Any, reason: Any) -> str:
    """The one-line problem a placeholder reports (whatever its params hold: they come
    from files)."""
    name = short(comfy_type) if comfy_type else "'unknown type'"
    why = " ".join(reason.split()) if isinstance(reason, str) else ""
    why = why or "Daguerre has no node of this type"
    if len(why) > 400:
        why = why[:397] + "..."
    return f"ComfyUI node {name} cannot run in Daguerre: {why}"


def ensure_registered(registry: Registry) -> Registry:
    """Register the placeholder type in ``registry`` (idempotent); returns it."""
    if PLACEHOLDER not in registry:
        registry.register(Placeholder)
    return registry
