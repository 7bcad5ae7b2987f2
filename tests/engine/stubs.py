"""Tiny node types that exercise the engine without models (like ComfyUI's stub nodes)."""

from __future__ import annotations

import threading
import time
from typing import Any

from nodes.api import Input, Node, NodeError, Output, Param
from nodes.context import NodeContext
from nodes.library import load_builtin_nodes
from nodes.ports import PortType
from nodes.registry import Registry


class Const(Node):
    """An integer constant."""

    type_id = "test.const"
    title = "Const"
    category = "test"
    params = (Param("value", PortType.INT, default=1, min=-1000, max=1000),)
    outputs = (Output("value", PortType.INT),)

    def run(self, ctx: NodeContext, *, value: int) -> tuple[int]:
        return (value,)


class Add(Node):
    """Adds two integers and an offset."""

    type_id = "test.add"
    title = "Add"
    category = "test"
    inputs = (Input("a", PortType.INT), Input("b", PortType.INT, optional=True))
    params = (Param("offset", PortType.INT, default=0, min=-100, max=100),)
    outputs = (Output("sum", PortType.INT),)

    def run(self, ctx: NodeContext, *, a: int, b: int | None, offset: int) -> dict[str, int]:
        return {"sum": a + (b or 0) + offset}


class Scale(Node):
    """Multiplies a number by a factor chosen from a list, with a mode."""

    type_id = "test.scale"
    title = "Scale"
    category = "test"
    inputs = (Input("x", PortType.FLOAT),)
    params = (
        Param("factor", PortType.FLOAT, default=1.0, min=0.0, max=10.0),
        Param("mode", PortType.STRING, default="mul", choices=("mul", "div")),
        Param("enabled", PortType.BOOL, default=True),
    )
    outputs = (Output("y", PortType.FLOAT),)

    def run(self, ctx: NodeContext, *, x: float, factor: float, mode: str, enabled: bool):
        if not enabled:
            return (x,)
        return (x * factor if mode == "mul" else x / factor,)


class Latent(Node):
    """Makes a fake LATENT (a dict) of a given size."""

    type_id = "test.latent"
    title = "Latent"
    category = "test"
    params = (Param("size", PortType.INT, default=4, min=1, max=1 << 20),)
    outputs = (Output("latent", PortType.LATENT),)

    def run(self, ctx: NodeContext, *, size: int) -> tuple[Any]:
        return (bytearray(size),)


class Blur(Node):
    """Passes a fake LATENT through (used to test bypass)."""

    type_id = "test.blur"
    title = "Blur"
    category = "test"
    inputs = (Input("latent", PortType.LATENT), Input("amount", PortType.INT, optional=True))
    outputs = (Output("latent", PortType.LATENT), Output("count", PortType.INT))

    def run(self, ctx: NodeContext, *, latent: Any, amount: int | None) -> tuple[Any, int]:
        return (bytearray(len(latent) + 1), len(latent))


class Fail(Node):
    """Fails on purpose, naming a field, when ``fail`` is true."""

    type_id = "test.fail"
    title = "Fail"
    category = "test"
    inputs = (Input("x", PortType.INT, optional=True),)
    params = (
        Param("fail", PortType.BOOL, default=True),
        Param("crash", PortType.BOOL, default=False),
    )
    outputs = (Output("x", PortType.INT),)

    def run(self, ctx: NodeContext, *, x: int | None, fail: bool, crash: bool) -> tuple[int]:
        if crash:
            raise ZeroDivisionError("division by zero")
        if fail:
            raise NodeError("failing as asked", "fail")
        return (x or 0,)


class Slow(Node):
    """Steps slowly, reporting progress with a preview, checking cancel each step."""

    type_id = "test.slow"
    title = "Slow"
    category = "test"
    inputs = (Input("x", PortType.INT, optional=True),)
    params = (
        Param("steps", PortType.INT, default=5, min=1, max=10_000),
        Param("delay", PortType.FLOAT, default=0.0, min=0.0, max=1.0),
    )
    outputs = (Output("x", PortType.INT),)
    started = threading.Event()

    def run(self, ctx: NodeContext, *, x: int | None, steps: int, delay: float) -> tuple[int]:
        Slow.started.set()
        for step in range(1, steps + 1):
            ctx.check_cancelled()
            if delay:
                time.sleep(delay)
            ctx.progress(step, steps, preview=lambda step=step: _preview(step))
        return ((x or 0) + steps,)


def _preview(step: int) -> Any:
    import numpy as np

    return np.full((2, 2, 3), step % 256, dtype=np.uint8)


class Sink(Node):
    """An output node that shows the value it receives."""

    type_id = "test.sink"
    title = "Sink"
    category = "test"
    is_output = True
    inputs = (Input("value", PortType.ANY),)

    def run(self, ctx: NodeContext, *, value: Any) -> tuple[()]:
        ctx.result(text=repr(value))
        return ()


class FilePick(Node):
    """A node with a file param."""

    type_id = "test.file"
    title = "File"
    category = "test"
    params = (Param("path", PortType.STRING, default="", file_kind="checkpoints"),)
    outputs = (Output("size", PortType.INT),)

    def run(self, ctx: NodeContext, *, path: str) -> tuple[int]:
        return (ctx.resolve_file("checkpoints", path, "path").stat().st_size,)


STUBS = (Const, Add, Scale, Latent, Blur, Fail, Slow, Sink, FilePick)


def make_registry() -> Registry:
    registry = Registry()
    for cls in STUBS:
        registry.register(cls)
    return load_builtin_nodes(registry)
