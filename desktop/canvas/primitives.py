"""Primitive nodes made for a param: they take its value, and a seed's after-run mode.

Dragging a link out of a param's socket and choosing a primitive node (Int, Float, Seed,
String, Bool), or double-clicking the socket (:func:`add_primitive`, as in ComfyUI), makes
one that feeds the param. It starts with the param's value (the sampler's seed 42 stays
42, not the primitive's default 0) and, for a seed, its after-run mode, so linking changes
nothing until the user edits the primitive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPointF

from desktop.canvas import style
from desktop.canvas.links import PendingLink
from desktop.canvas.ports import PortItem
from desktop.document import Document
from nodes.api import Node, Param
from nodes.ports import PortType

PRIMITIVE_TYPES = {
    PortType.INT: "primitive.int",
    PortType.FLOAT: "primitive.float",
    PortType.STRING: "primitive.string",
    PortType.BOOL: "primitive.bool",
}
"""The primitive node type that feeds a param of each type (a seed gets Seed)."""
SEED_TYPE = "primitive.seed"


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


def primitive_type(param: Param) -> str | None:
    """The primitive node type made for ``param`` (None: no primitive fits it)."""
    if param.seed and param.type is PortType.INT:
        return SEED_TYPE
    return PRIMITIVE_TYPES.get(param.type)


def primitive_class(document: Document, node_id: str, param_name: str) -> type[Node] | None:
    """The primitive node type that would feed ``node_id.param_name`` (None: none fits)."""
    data = document.graph.nodes.get(node_id)
    cls = document.registry.get(data.type) if data is not None else None
    param = cls.param(param_name) if cls is not None else None
    type_id = primitive_type(param) if param is not None and param.linkable else None
    return document.registry.get(type_id) if type_id is not None else None


def add_primitive(
    document: Document, node_id: str, param_name: str, position: tuple[float, float]
) -> str | None:
    """Make the primitive for ``node_id.param_name`` at ``position`` with the param's value
    (and seed mode) and link it in: one undo step. None when the param takes none."""
    primitive = primitive_class(document, node_id, param_name)
    if primitive is None:
        return None
    pending = PendingLink(node_id, param_name, False, primitive.outputs[0].type)
    values, modes = inherited(document, primitive, pending)
    stack = document.undo_stack
    stack.beginMacro(f"Add {primitive.title}")
    try:
        made = document.add_node(primitive.type_id, position, values)
        for name, mode in modes.items():
            document.set_seed_mode(made, name, mode)
        document.connect_ports(made, primitive.outputs[0].name, node_id, param_name)
    finally:
        stack.endMacro()
    return made


def add_primitive_for_socket(
    document: Document,
    socket: PortItem,
    place: Callable[[type[Node], QPointF], tuple[float, float]],
) -> str | None:
    """A double-click on a free param ``socket``: its primitive, left of the node (where
    ``place`` finds room near the spot wanted). None for other ports."""
    if not socket.is_param or socket.linked:
        return None
    cls = primitive_class(document, socket.node_id, socket.name)
    if cls is None:
        return None
    anchor = socket.scene_anchor()
    wanted = QPointF(anchor.x() - style.NODE_WIDTH - 80, anchor.y() - style.TITLE_H)
    return add_primitive(document, socket.node_id, socket.name, place(cls, wanted))
