"""The registry of node types: declarations are checked here, once, loudly.

Like chaiNNer's backend, registration compares a node's declared ports with its ``run``
signature, so a typo in a port name fails at import time instead of mid-run.

Declaring a ``Node`` subclass records it in its module's catalogue
(:func:`nodes.api.declared_in`); a registry takes a module's node types with
:meth:`Registry.register_declared`, or one class with :meth:`Registry.register`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from nodes.api import Node, Param, declared_in, parse_version
from nodes.ports import PortType

_TYPE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_PORT_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class RegistrationError(Exception):
    """A node declaration is inconsistent; the message names the class and the fault."""


class Registry:
    """Node types by stable type id."""

    def __init__(self) -> None:
        self._types: dict[str, type[Node]] = {}

    def register(self, cls: type[Node]) -> type[Node]:
        """Check ``cls`` and add it. Usable as a class decorator."""
        check_declaration(cls)
        if cls.type_id in self._types:
            raise RegistrationError(
                f"{cls.__qualname__}: type id {cls.type_id!r} is already registered "
                f"by {self._types[cls.type_id].__qualname__}"
            )
        cls._input_map = {i.name: i for i in cls.inputs}
        cls._param_map = {p.name: p for p in cls.params}
        cls._output_map = {o.name: o for o in cls.outputs}
        self._types[cls.type_id] = cls
        return cls

    def register_declared(self, module: str) -> Registry:
        """Check and add every node type declared in the module named ``module`` (pass
        its ``__name__``), in declaration order; returns the registry."""
        for cls in declared_in(module):
            self.register(cls)
        return self

    def unregister(self, type_id: str) -> None:
        self._types.pop(type_id, None)

    def get(self, type_id: str) -> type[Node] | None:
        return self._types.get(type_id)

    def __getitem__(self, type_id: str) -> type[Node]:
        return self._types[type_id]

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._types

    def __iter__(self) -> Iterator[type[Node]]:
        return iter(sorted(self._types.values(), key=lambda c: (c.category, c.title)))

    def __len__(self) -> int:
        return len(self._types)

    def schema(self) -> list[dict[str, Any]]:
        return [cls.schema() for cls in self]


def check_declaration(cls: type[Node]) -> None:
    """Raise :class:`RegistrationError` unless ``cls`` is a complete, consistent node."""
    name = cls.__qualname__

    def fail(message: str) -> NoReturn:
        raise RegistrationError(f"{name}: {message}")

    if not (isinstance(cls, type) and issubclass(cls, Node)):
        raise RegistrationError(f"{cls!r} is not a Node subclass")
    for attr in ("type_id", "title", "category"):
        if not isinstance(getattr(cls, attr, None), str) or not getattr(cls, attr):
            fail(f"missing {attr}")
    if not _TYPE_ID.match(cls.type_id):
        fail(f"type id {cls.type_id!r} must be dotted lowercase like 'sampler.ksampler'")
    try:
        parse_version(cls.version)
    except ValueError as exc:
        fail(f"version: {exc}")
    if not cls.description():
        fail("a docstring is required (it is the node's tooltip)")
    for attr in ("inputs", "params", "outputs"):
        if not isinstance(getattr(cls, attr), tuple):
            fail(f"{attr} must be a tuple")

    seen: set[str] = set()
    for port in (*cls.inputs, *cls.params):
        if not _PORT_NAME.match(port.name):
            fail(f"port name {port.name!r} must be snake_case")
        if port.name in seen:
            fail(f"duplicate input/param name {port.name!r}")
        seen.add(port.name)
        if not isinstance(port.type, PortType):
            fail(f"{port.name}: type must be a PortType")
    out_names = [o.name for o in cls.outputs]
    if len(set(out_names)) != len(out_names):
        fail("duplicate output names")
    for out in cls.outputs:
        if not _PORT_NAME.match(out.name):
            fail(f"output name {out.name!r} must be snake_case")
    for param in cls.params:
        _check_param(param, fail)

    for from_version, upgrader in cls.upgraders.items():
        try:
            parse_version(from_version)
            parse_version(upgrader.to_version)
        except ValueError as exc:
            fail(f"upgrader: {exc}")
        if parse_version(upgrader.to_version) <= parse_version(from_version):
            fail(f"upgrader from {from_version} must move to a later version")
        if parse_version(upgrader.to_version) > parse_version(cls.version):
            fail(f"upgrader from {from_version} goes past the current version {cls.version}")

    if not cls.executable:
        return
    if cls.run is Node.run:
        fail("run() is not implemented")
    _check_signature(cls, seen, fail)


Fail = Callable[[str], NoReturn]
"""Raises the RegistrationError naming the class being checked."""


def _check_param(param: Param, fail: Fail) -> None:
    if not param.type.is_scalar:
        fail(f"param {param.name!r}: params must be INT, FLOAT, STRING or BOOL")
    if param.choices is not None and param.type is not PortType.STRING:
        fail(f"param {param.name!r}: choices need a STRING param")
    problem = param.check(param.default)
    if problem is not None:
        fail(f"param {param.name!r}: default {problem}")
    if param.min is not None and param.max is not None and param.min > param.max:
        fail(f"param {param.name!r}: min is above max")


def _check_signature(cls: type[Node], declared: set[str], fail: Fail) -> None:
    signature = inspect.signature(cls.run)
    params = list(signature.parameters.values())[1:]  # drop self
    if not params or params[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        fail("run(self, ctx, ...) must take the context as its first argument")
    rest = params[1:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in rest):
        return
    accepted = {
        p.name
        for p in rest
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    }
    missing = declared - accepted
    extra = {
        p.name for p in rest if p.default is inspect.Parameter.empty and p.name not in declared
    }
    if missing:
        fail(f"run() does not accept declared port(s) {', '.join(sorted(missing))}")
    if extra:
        fail(f"run() requires undeclared argument(s) {', '.join(sorted(extra))}")


REGISTRY = Registry()
"""The application's registry; :func:`nodes.library.load_builtin_nodes` fills it."""
