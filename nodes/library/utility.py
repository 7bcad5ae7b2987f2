"""Utility nodes: notes on the canvas, showing a value, reroute dots, saving text."""

from __future__ import annotations

from typing import Any

from nodes.api import Input, Node, NodeError, Output, Param
from nodes.context import NodeContext
from nodes.ports import PortType


class NoteNode(Node):
    """A note on the canvas. It holds text for people and is never executed."""

    type_id = "utility.note"
    title = "Note"
    category = "utility"
    executable = False
    params = (Param("text", PortType.STRING, default="", multiline=True, linkable=False),)


class DisplayNode(Node):
    """Shows the value that reaches it (a number, text, a flag) on the node."""

    type_id = "utility.display"
    title = "Display"
    category = "utility"
    is_output = True
    inputs = (Input("value", PortType.ANY),)

    def run(self, ctx: NodeContext, *, value: Any) -> tuple[()]:
        ctx.result(text=_display_text(value))
        return ()


class RerouteNode(Node):
    """A dot on a link to route it around other nodes; passes its value through."""

    type_id = "utility.reroute"
    title = "Reroute"
    category = "utility"
    listed = False  # made on the canvas by double-clicking a link, never from the library
    inputs = (Input("value", PortType.ANY),)
    outputs = (Output("value", PortType.ANY),)

    def run(self, ctx: NodeContext, *, value: Any) -> tuple[Any]:
        return (value,)


class SaveTextNode(Node):
    """Saves text to ``prefix_00001.txt`` in the output folder (numbering continues)."""

    type_id = "utility.save_text"
    title = "Save Text"
    category = "utility"
    is_output = True
    inputs = (Input("text", PortType.STRING),)
    params = (Param("prefix", PortType.STRING, default="daguerre"),)

    def run(self, ctx: NodeContext, *, text: str, prefix: str) -> tuple[()]:
        from nodes.workflow.io import write_numbered

        folder = ctx.output_dir
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as exc:  # an unpaired surrogate
            raise NodeError(f"cannot be saved as UTF-8: {exc.reason}", "text") from None
        try:  # the name is claimed atomically: another save never replaces this one
            path = write_numbered(folder, prefix, ".txt", data)
        except OSError as exc:
            raise NodeError(f"cannot write to {folder}: {exc.strerror or exc}", "prefix") from None
        ctx.result(files=(str(path),), text=text)
        return ()


def _display_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return text if len(text) <= 2000 else text[:1997] + "..."
