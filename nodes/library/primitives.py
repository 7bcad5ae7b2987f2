"""Primitive value nodes: one constant each, to feed promoted params of other nodes."""

from __future__ import annotations

from nodes.api import Node, Output, Param
from nodes.context import NodeContext
from nodes.ports import PortType

SEED_MAX = 2**64 - 1
INT_LIMIT = 2**63 - 1


class IntNode(Node):
    """An integer constant. Link it into any integer parameter to share one value."""

    type_id = "primitive.int"
    title = "Int"
    category = "primitives"
    params = (Param("value", PortType.INT, default=0, min=-INT_LIMIT, max=INT_LIMIT),)
    outputs = (Output("value", PortType.INT),)

    def run(self, ctx: NodeContext, *, value: int) -> tuple[int]:
        return (value,)


class FloatNode(Node):
    """A number constant. Link it into any number parameter to share one value."""

    type_id = "primitive.float"
    title = "Float"
    category = "primitives"
    params = (Param("value", PortType.FLOAT, default=0.0, step=0.01),)
    outputs = (Output("value", PortType.FLOAT),)

    def run(self, ctx: NodeContext, *, value: float) -> tuple[float]:
        return (value,)


class StringNode(Node):
    """A text constant, e.g. a prompt shared by several text encoders."""

    type_id = "primitive.string"
    title = "String"
    category = "primitives"
    params = (Param("value", PortType.STRING, default="", multiline=True),)
    outputs = (Output("value", PortType.STRING),)

    def run(self, ctx: NodeContext, *, value: str) -> tuple[str]:
        return (value,)


class BoolNode(Node):
    """A true/false constant."""

    type_id = "primitive.bool"
    title = "Bool"
    category = "primitives"
    params = (Param("value", PortType.BOOL, default=False),)
    outputs = (Output("value", PortType.BOOL),)

    def run(self, ctx: NodeContext, *, value: bool) -> tuple[bool]:
        return (value,)


class SeedNode(Node):
    """A seed for samplers. In the app it can be fixed, incremented or randomized after
    each run; link it into several samplers to keep them in step."""

    type_id = "primitive.seed"
    title = "Seed"
    category = "primitives"
    params = (Param("seed", PortType.INT, default=0, min=0, max=SEED_MAX, seed=True),)
    outputs = (Output("seed", PortType.INT),)

    def run(self, ctx: NodeContext, *, seed: int) -> tuple[int]:
        return (seed,)
