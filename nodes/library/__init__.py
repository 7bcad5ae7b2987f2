"""The built-in node types, one module per category. :func:`load_builtin_nodes` registers
them (idempotent).

Every module of this package is loaded and every node class it declares is registered
(:func:`nodes.api.declared_in`): adding a node type is declaring its class, adding a
category is adding a module. There is no list to forget to update.
"""

from __future__ import annotations

import importlib
import pkgutil

from nodes.api import declared_in
from nodes.registry import REGISTRY, Registry


def library_modules() -> list[str]:
    """The names of this package's modules, in alphabetical order."""
    return [f"{__name__}.{info.name}" for info in pkgutil.iter_modules(__path__)]


def load_builtin_nodes(registry: Registry | None = None) -> Registry:
    """Register every built-in node type into ``registry`` (default: the app's)."""
    target = registry if registry is not None else REGISTRY
    for module in library_modules():
        importlib.import_module(module)
        for cls in declared_in(module):
            if cls.type_id not in target:
                target.register(cls)
    # ComfyUI's placeholder type is not built in: the engine never imports the adapter.
    # The edges (CLI, app) register it with nodes.comfy.ensure_registered.
    return target
