"""The node declaration API.

One class per node type. A declaration is plain class attributes, checked once at
registration (see :mod:`nodes.registry`)::

    class Add(Node):
        \"\"\"Adds two integers.\"\"\"            # the docstring is the UI tooltip

        type_id = "math.add"                    # stable forever: files store it
        title = "Add"
        category = "math"
        version = "1.0.0"                       # semantic version of the declaration
        inputs = (Input("a", PortType.INT),)
        params = (Param("b", PortType.INT, default=1, min=0, max=100),)
        outputs = (Output("sum", PortType.INT),)

        def run(self, ctx: NodeContext, *, a: int, b: int) -> tuple[int]:
            return (a + b,)

``run`` receives a :class:`nodes.context.NodeContext` (through which it reaches the world:
device, models, progress, cancel, output folder) and then every input and param by name,
as keyword-only arguments; an optional input that is not connected arrives as None. It
returns a tuple in output order or a mapping by output name (:data:`Outputs`). Any param
can be *promoted* to an input socket: a link into a param's name supplies its value
instead. The values that travel on each port type, for ``run``'s annotations:

==================  =====================================================================
INT, FLOAT          ``int``, ``float`` (an INT linked into a FLOAT arrives widened)
STRING, BOOL        ``str``, ``bool``
UNET, CLIP, VAE     ``nodes.diffusion.values.UNetModel``, ``ClipModel``, ``VaeModel``
CONTROLNET          ``nodes.models.loading.LoadedControlNet``
UPSCALE_MODEL       ``nodes.models.upscale.UpscaleModel``
SCHEDULER           ``nodes.diffusion.schedulers.SchedulerRecipe``
CONDITIONING        ``nodes.diffusion.values.Conditioning``
LATENT              ``nodes.diffusion.values.Latent``
IMAGE, MASK         ``torch.Tensor``: float32 B×H×W×3 / B×H×W in [0, 1], on the CPU
ANY                 ``Any``
==================  =====================================================================

Import the model-side ones under ``if TYPE_CHECKING:`` (and torch inside ``run``), so that
listing and validating nodes never imports torch.

Declaring the class is what makes it a node type: :meth:`Node.__init_subclass__` records
it in the catalogue of the module that declares it (:func:`declared_in`), and
:func:`nodes.library.load_builtin_nodes` registers the catalogues of the library's modules.
So a node type cannot be forgotten in a list, and a test's throwaway node types stay in
the test module's catalogue, out of the application's registry. A base class meant to be
subclassed says so: ``class Loader(Node, abstract=True)``.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from nodes.ports import SCALAR_TYPES, PortType

Outputs = tuple[Any, ...] | Mapping[str, Any]
"""What ``Node.run`` returns: values in output order, or by output name."""


class NodeError(Exception):
    """An error a node raises on purpose; ``field`` names the input or param at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class Input:
    """A typed input socket fed by a link."""

    name: str
    type: PortType
    optional: bool = False
    label: str | None = None
    tooltip: str = ""

    def schema(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.value,
            "optional": self.optional,
            "label": self.label or self.name,
            "tooltip": self.tooltip,
        }


@dataclass(frozen=True, slots=True)
class Output:
    """A typed output socket."""

    name: str
    type: PortType
    label: str | None = None

    def schema(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type.value, "label": self.label or self.name}


@dataclass(frozen=True, slots=True)
class Param:
    """A typed value edited on the node itself (spin box, combo box, text field...).

    ``file_kind`` marks a path to a model or image, one of the kinds of
    :data:`nodes.paths.MODEL_KIND_FOLDERS` ("checkpoints", "lora", "upscale_models"...):
    validation checks that it exists. ``seed`` asks the UI for an after-run control
    (fixed / increment / randomize). A linkable param can be promoted
    to an input socket of its own type.
    """

    name: str
    type: PortType
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[str, ...] | None = None
    multiline: bool = False
    file_kind: str | None = None
    seed: bool = False
    linkable: bool = True
    label: str | None = None
    tooltip: str = ""

    def check(self, value: Any) -> str | None:
        """Return why ``value`` is not acceptable for this param, or None if it is."""
        return self._type_problem(value) or self._range_problem(value)

    def _type_problem(self, value: Any) -> str | None:
        kind = self.type
        if kind is PortType.INT:
            if isinstance(value, bool) or not isinstance(value, int):
                return f"expected an integer, got {_describe(value)}"
        elif kind is PortType.FLOAT:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"expected a number, got {_describe(value)}"
            if isinstance(value, int) and abs(value) > 1e300:
                return "the number is too large"
            if not math.isfinite(value):
                return f"expected a finite number, got {value}"
        elif kind is PortType.STRING:
            if not isinstance(value, str):
                return f"expected text, got {_describe(value)}"
        elif kind is PortType.BOOL and not isinstance(value, bool):
            return f"expected true or false, got {_describe(value)}"
        return None

    def _range_problem(self, value: Any) -> str | None:
        """Range and choices; ``value`` already has the param's type."""
        if self.min is not None and value < self.min:
            return f"{value} is below the minimum {_fmt(self.min)}"
        if self.max is not None and value > self.max:
            return f"{value} is above the maximum {_fmt(self.max)}"
        if self.choices is not None and value not in self.choices:
            return f"{value!r} is not one of {', '.join(map(repr, self.choices))}"
        return None

    def parse(self, text: str) -> Any:
        """Turn command-line text into a value of this param's type (raises ValueError)."""
        kind = self.type
        if kind is PortType.INT:
            return int(text, 0)
        if kind is PortType.FLOAT:
            return float(text)
        if kind is PortType.BOOL:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"{text!r} is not a boolean (use true or false)")
        return text

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type.value,
            "default": self.default,
            "label": self.label or self.name,
            "tooltip": self.tooltip,
        }
        for key in ("min", "max", "step", "file_kind"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.choices is not None:
            out["choices"] = list(self.choices)
        out["multiline"] = self.multiline
        out["seed"] = self.seed
        out["linkable"] = self.linkable
        return out


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


@dataclass(frozen=True, slots=True)
class Upgrader:
    """Moves a node's saved params from one declaration version to the next."""

    to_version: str
    upgrade: Callable[[dict[str, Any]], dict[str, Any]]


class Node:
    """Base class of every node type. Subclasses declare; the registry checks."""

    type_id: ClassVar[str]
    title: ClassVar[str]
    category: ClassVar[str]
    version: ClassVar[str] = "1.0.0"
    inputs: ClassVar[tuple[Input, ...]] = ()
    params: ClassVar[tuple[Param, ...]] = ()
    outputs: ClassVar[tuple[Output, ...]] = ()
    is_output: ClassVar[bool] = False
    """A sink (save, preview, display): a run without named targets runs these."""
    executable: ClassVar[bool] = True
    """False for annotations (notes): never planned, never run."""
    listed: ClassVar[bool] = True
    """False keeps the type out of the node library and search (files may still hold it)."""
    upgraders: ClassVar[Mapping[str, Upgrader]] = {}
    """Keyed by the saved version they upgrade *from*; applied in a chain on load."""

    # Filled in by the registry: name -> declaration, for fast lookups.
    _input_map: ClassVar[dict[str, Input]]
    _param_map: ClassVar[dict[str, Param]]
    _output_map: ClassVar[dict[str, Output]]

    def __init_subclass__(cls, *, abstract: bool = False, **kwargs: Any) -> None:
        """Record the new class in its module's catalogue, unless it is an abstract base.

        Nothing is checked here: a module's classes are checked when a registry registers
        them, so a faulty declaration fails loudly there, naming the class.
        """
        super().__init_subclass__(**kwargs)
        if not abstract:
            _DECLARED.setdefault(cls.__module__, []).append(cls)

    def run(self, ctx: Any, /, *args: Any, **kwargs: Any) -> Outputs:
        """Compute the outputs from ``ctx`` (a :class:`nodes.context.NodeContext`) and the
        inputs and params, passed by name.

        Overrides declare the names they take as typed keyword-only parameters,
        ``run(self, ctx: NodeContext, *, a: int, b: int) -> tuple[int]``; the registry
        checks them against the declared ports. This base signature is the one a type
        checker accepts every such override of (``*args: Any, **kwargs: Any`` reads as
        "any parameters") while still checking the return type. ``ctx`` is typed ``Any``
        here only because this module sits below :mod:`nodes.context` (which reaches the
        graph, which reaches the node types): the executor always passes a NodeContext.
        """
        raise NotImplementedError

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Cross-param rules beyond each param's own range: (field, message) per problem.

        Called by validation with the node's (individually valid) param values, so that
        e.g. "width must be a multiple of 8" is reported before anything runs. Params fed
        by links are absent from ``params`` (their values are known only at run time).
        """
        return []

    @classmethod
    def check_files(
        cls, params: Mapping[str, Any], resolve: Callable[[str, str], Any]
    ) -> list[tuple[str, str]]:
        """Files a param's value names beyond its own file param (a prompt's
        ``embedding:NAME``): (field, message) for each one ``resolve`` (a
        :data:`nodes.paths.FileResolver`) cannot find. Called by validation with the same
        values as :meth:`check_params`."""
        return []

    @classmethod
    def cache_files(
        cls, params: Mapping[str, Any], resolve: Callable[[str, str], Any]
    ) -> list[Any]:
        """The files (paths) a param's value names beyond file params, such as a prompt's
        embeddings: the executor adds their size and modification time to the node's cache
        signature, so replacing one re-runs the node. ``params`` are its typed values."""
        return []

    @classmethod
    def description(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def input(cls, name: str) -> Input | None:
        return cls._input_map.get(name)

    @classmethod
    def param(cls, name: str) -> Param | None:
        return cls._param_map.get(name)

    @classmethod
    def output(cls, name: str) -> Output | None:
        return cls._output_map.get(name)

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {p.name: p.default for p in cls.params}

    @classmethod
    def schema(cls) -> dict[str, Any]:
        return {
            "type": cls.type_id,
            "title": cls.title,
            "category": cls.category,
            "version": cls.version,
            "description": cls.description(),
            "is_output": cls.is_output,
            "executable": cls.executable,
            "listed": cls.listed,
            "inputs": [i.schema() for i in cls.inputs],
            "params": [p.schema() for p in cls.params],
            "outputs": [o.schema() for o in cls.outputs],
        }


_DECLARED: dict[str, list[type[Node]]] = {}
"""Node classes by the name of the module that declares them, in declaration order."""


def declared_in(module: str) -> tuple[type[Node], ...]:
    """The node classes declared in the module named ``module`` (its ``__name__``), in
    declaration order: what a registry registers for that module."""
    return tuple(_DECLARED.get(module, ()))


@functools.lru_cache(maxsize=1024)
def parse_version(text: str) -> tuple[int, int, int]:
    """Parse ``MAJOR.MINOR.PATCH``; raises ValueError otherwise. Cached: a large workflow
    repeats a handful of versions on every node."""
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        raise ValueError(f"{text!r} is not a semantic version like 1.0.0")
    major, minor, patch = (int(p) for p in parts)
    return major, minor, patch


__all__ = [
    "SCALAR_TYPES",
    "Input",
    "Node",
    "NodeError",
    "Output",
    "Outputs",
    "Param",
    "PortType",
    "Upgrader",
    "declared_in",
    "parse_version",
]
