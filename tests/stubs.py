"""Every stub node type the tests use: tiny nodes that exercise the engine without models.

One module, so a change to the node API is made here once. Four families, by the first
part of their type id, each registered on its own so one family's ids and titles never
meet another's. A node that two families share (a constant, an adder, a scaler, a sink)
is implemented once, as the ``test.*`` class, and the other families subclass it with
their own type id (and title or tooltip where theirs differs):

- ``test.*`` (engine tests): constants, adders, a scaler, a fake latent and a pass-through
  for bypass, a node that fails on purpose, a slow node with progress, previews and cancel
  checks, a sink and a node with a file param. :func:`make_registry` adds the built-ins.
- ``wf.*`` (workflow files): versioned nodes with upgraders (one chained, one failing),
  a promotable param and an annotation. :func:`file_registry`, without built-ins.
- ``fz.*`` (fuzzing the loader): every param kind with ranges and choices, an upgrader,
  an IMAGE port. :func:`fuzz_registry` adds the built-ins.
- ``cli.*`` (the command line): a recorder that writes files, a node that fails two ways,
  one that presses Ctrl+C and one that records its environment. :func:`cli_registry`,
  without built-ins (the command line adds them).

They are registered from this module's catalogue of declared node types
(:func:`nodes.api.declared_in`), the way the library's are, and only into the registries
the tests build: never into the application's.
"""

from __future__ import annotations

import _thread
import threading
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from nodes.api import Input, Node, NodeError, Output, Param, Upgrader, declared_in
from nodes.context import Environment, NodeContext
from nodes.library import load_builtin_nodes
from nodes.ports import PortType
from nodes.registry import Registry


def stub_registry(family: str) -> Registry:
    """A fresh registry of the stubs whose type id starts with ``family.``."""
    registry = Registry()
    for cls in declared_in(__name__):
        if cls.type_id.partition(".")[0] == family:
            registry.register(cls)
    return registry


def make_registry() -> Registry:
    """The engine stubs (``test.*``) and the built-in node types."""
    return load_builtin_nodes(stub_registry("test"))


def file_registry() -> Registry:
    """The workflow-file stubs (``wf.*``) alone."""
    return stub_registry("wf")


def fuzz_registry() -> Registry:
    """The fuzzing stubs (``fz.*``) and the built-in node types."""
    return load_builtin_nodes(stub_registry("fz"))


def cli_registry() -> Registry:
    """The command-line stubs (``cli.*``) alone: ``cli.main`` adds the built-ins."""
    return stub_registry("cli")


# --------------------------------------------------------------------------- test.*


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

    def run(
        self, ctx: NodeContext, *, x: float, factor: float, mode: str, enabled: bool
    ) -> tuple[float]:
        if not enabled:
            return (x,)
        return (x * factor if mode == "mul" else x / factor,)


class Latent(Node):
    """Makes a fake LATENT (a bytearray) of a given size."""

    type_id = "test.latent"
    title = "Latent"
    category = "test"
    params = (Param("size", PortType.INT, default=4, min=1, max=1 << 20),)
    outputs = (Output("latent", PortType.LATENT),)

    def run(self, ctx: NodeContext, *, size: int) -> tuple[bytearray]:
        return (bytearray(size),)


class Blur(Node):
    """Passes a fake LATENT through (used to test bypass)."""

    type_id = "test.blur"
    title = "Blur"
    category = "test"
    inputs = (Input("latent", PortType.LATENT), Input("amount", PortType.INT, optional=True))
    outputs = (Output("latent", PortType.LATENT), Output("count", PortType.INT))

    def run(
        self, ctx: NodeContext, *, latent: bytearray, amount: int | None
    ) -> tuple[bytearray, int]:
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
    started: ClassVar[threading.Event] = threading.Event()
    """Set when a Slow node starts running: lets a test cancel mid-run."""

    def run(self, ctx: NodeContext, *, x: int | None, steps: int, delay: float) -> tuple[int]:
        Slow.started.set()
        for step in range(1, steps + 1):
            ctx.check_cancelled()
            if delay:
                time.sleep(delay)
            ctx.progress(step, steps, preview=lambda step=step: _preview(step))
        return ((x or 0) + steps,)


def _preview(step: int) -> np.ndarray:
    return np.full((2, 2, 3), step % 256, dtype=np.uint8)


class Sink(Node):
    """An output node that shows the value it receives."""

    type_id = "test.sink"
    title = "Sink"
    category = "test"
    is_output = True
    inputs = (Input("value", PortType.ANY),)

    def run(self, ctx: NodeContext, *, value: Any) -> tuple[()]:
        ctx.result(text=self.text(value))
        return ()

    def text(self, value: Any) -> str:
        """The text shown for ``value``."""
        return repr(value)


class FilePick(Node):
    """A node with a file param."""

    type_id = "test.file"
    title = "File"
    category = "test"
    params = (Param("path", PortType.STRING, default="", file_kind="checkpoints"),)
    outputs = (Output("size", PortType.INT),)

    def run(self, ctx: NodeContext, *, path: str) -> tuple[int]:
        return (ctx.resolve_file("checkpoints", path, "path").stat().st_size,)


# --------------------------------------------------------------------------- wf.*


class WfNum(Const):
    """An integer constant."""

    type_id = "wf.num"
    title = "Num"


class WfAdd(Add):
    """Adds two integers and an offset (the offset can be promoted to a socket)."""

    type_id = "wf.add"
    params = (
        *Add.params,
        Param("label", PortType.STRING, default="sum", choices=("sum", "total")),
    )

    def run(
        self, ctx: NodeContext, *, a: int, b: int | None, offset: int, label: str = "sum"
    ) -> dict[str, int]:
        return super().run(ctx, a=a, b=b, offset=offset)


class WfShow(Sink):
    """Shows a value."""

    type_id = "wf.show"
    title = "Show"

    def text(self, value: Any) -> str:
        return str(value)


def _rename_amount(params: dict[str, Any]) -> dict[str, Any]:
    params["strength"] = params.pop("amount", 1.0)
    return params


def _percent_to_fraction(params: dict[str, Any]) -> dict[str, Any]:
    if "percent" in params:
        params["fraction"] = params.pop("percent") / 100
    return params


class WfBlend(Node):
    """A node at version 2.0.0 whose 1.0.0 param ``amount`` is now ``strength``."""

    type_id = "wf.blend"
    title = "Blend"
    category = "test"
    version = "2.0.0"
    inputs = (Input("x", PortType.FLOAT),)
    params = (Param("strength", PortType.FLOAT, default=1.0, min=0.0, max=2.0),)
    outputs = (Output("y", PortType.FLOAT),)
    upgraders: ClassVar[Mapping[str, Upgrader]] = {"1.0.0": Upgrader("2.0.0", _rename_amount)}

    def run(self, ctx: NodeContext, *, x: float, strength: float) -> tuple[float]:
        return (x * strength,)


class WfMix(Node):
    """A node upgraded through a chain: 1.0.0 → 1.5.0 → 3.0.0."""

    type_id = "wf.mix"
    title = "Mix"
    category = "test"
    version = "3.0.0"
    params = (Param("fraction", PortType.FLOAT, default=0.5, min=0.0, max=1.0),)
    outputs = (Output("y", PortType.FLOAT),)
    upgraders: ClassVar[Mapping[str, Upgrader]] = {
        "1.0.0": Upgrader("1.5.0", lambda p: {"percent": p.pop("pct", 50), **p}),
        "1.5.0": Upgrader("3.0.0", _percent_to_fraction),
    }

    def run(self, ctx: NodeContext, *, fraction: float) -> tuple[float]:
        return (fraction,)


def _broken_upgrade(params: dict[str, Any]) -> dict[str, Any]:
    raise NodeError("cannot read the old params")


class WfFragile(Const):
    """A node whose only upgrader fails."""

    type_id = "wf.fragile"
    title = "Fragile"
    version = "2.0.0"
    params = (Param("value", PortType.INT, default=0),)
    upgraders: ClassVar[Mapping[str, Upgrader]] = {"1.0.0": Upgrader("2.0.0", _broken_upgrade)}


class WfNote(Node):
    """An annotation: never runs."""

    type_id = "wf.note"
    title = "Note"
    category = "test"
    executable = False
    params = (Param("text", PortType.STRING, default="", multiline=True, linkable=False),)


# --------------------------------------------------------------------------- fz.*


class FzNum(Const):
    """An integer constant."""

    type_id = "fz.num"
    title = "Num"


class FzMix(Node):
    """Every param type, with ranges and choices, and an upgrader from 1.0.0."""

    type_id = "fz.mix"
    title = "Mix"
    category = "test"
    version = "2.0.0"
    inputs = (Input("a", PortType.INT), Input("img", PortType.IMAGE, optional=True))
    params = (
        Param("factor", PortType.FLOAT, default=0.5, min=0.0, max=1.0),
        Param("mode", PortType.STRING, default="add", choices=("add", "mul")),
        Param("flag", PortType.BOOL, default=False),
        Param("steps", PortType.INT, default=4, min=1, max=50),
        Param("fixed", PortType.INT, default=0, linkable=False),
    )
    outputs = (Output("y", PortType.FLOAT), Output("img", PortType.IMAGE))
    upgraders: ClassVar[Mapping[str, Upgrader]] = {"1.0.0": Upgrader("2.0.0", lambda p: p)}

    def run(self, ctx: NodeContext, *, a: int, img: Any, factor: float, mode: str, flag: bool,
            steps: int, fixed: int) -> tuple[float, Any]:  # fmt: skip
        return (a * factor, img)


class FzSink(Sink):
    """An output node."""

    type_id = "fz.sink"

    def run(self, ctx: NodeContext, *, value: Any) -> tuple[()]:
        return ()


# --------------------------------------------------------------------------- cli.*


class CliNum(Const):
    """An integer constant."""

    type_id = "cli.num"
    title = "Num"


class CliAdd(Add):
    """Adds two integers and an offset."""

    type_id = "cli.add"


class CliScale(Scale):
    """Scales a number, with a mode chosen from a list."""

    type_id = "cli.scale"


class CliRecord(Node):
    """Writes the value it gets to ``<prefix>_<value>.txt`` in the output folder."""

    type_id = "cli.record"
    title = "Record"
    category = "test"
    is_output = True
    inputs = (Input("value", PortType.ANY),)
    params = (Param("prefix", PortType.STRING, default="rec"),)

    def run(self, ctx: NodeContext, *, value: Any, prefix: str) -> tuple[()]:
        ctx.output_dir.mkdir(parents=True, exist_ok=True)
        path = ctx.output_dir / f"{prefix}_{value}.txt"
        path.write_text(str(value))
        ctx.result(files=(str(path),), text=str(value))
        return ()


class CliBoom(Node):
    """Fails on purpose: with a NodeError on ``x``, or a plain RuntimeError."""

    type_id = "cli.boom"
    title = "Boom"
    category = "test"
    is_output = True
    inputs = (Input("x", PortType.ANY),)
    params = (Param("plain", PortType.BOOL, default=False),)

    def run(self, ctx: NodeContext, *, x: Any, plain: bool) -> tuple[()]:
        if plain:
            raise RuntimeError(f"exploded on {x}")
        raise NodeError(f"cannot handle {x}", "x")


class CliCtrlC(Node):
    """Presses Ctrl+C in the main thread, then waits to be cancelled (5 s at most).

    It waits ``delay`` seconds first, so that the command has queued all its runs (a
    person's Ctrl+C does not come within microseconds of the start either).
    """

    type_id = "cli.ctrlc"
    title = "Ctrl C"
    category = "test"
    is_output = True
    params = (
        Param("obey", PortType.BOOL, default=True),
        Param("delay", PortType.FLOAT, default=0.1, min=0.0),
    )
    release: ClassVar[threading.Event] = threading.Event()
    """Lets a CliCtrlC that ignores cancellation finish."""

    def run(self, ctx: NodeContext, *, obey: bool, delay: float) -> tuple[()]:
        time.sleep(delay)
        _thread.interrupt_main()
        deadline = time.monotonic() + 5.0
        if obey:
            while time.monotonic() < deadline:
                ctx.check_cancelled()
                time.sleep(0.01)
            return ()
        # A node that never checks the token: only a second Ctrl+C gets the user out.
        while not ctx.cancel.cancelled and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        _thread.interrupt_main()
        CliCtrlC.release.wait(5.0)
        return ()


class CliEnvProbe(Node):
    """Records the environment it runs in (what the command line built from its flags)."""

    type_id = "cli.env_probe"
    title = "Env probe"
    category = "test"
    is_output = True
    seen: ClassVar[list[Environment]] = []
    """The environments CliEnvProbe ran in."""

    def run(self, ctx: NodeContext) -> tuple[()]:
        CliEnvProbe.seen.append(ctx.env)
        return ()
