"""The built-in node types. :func:`load_builtin_nodes` registers them (idempotent)."""

from __future__ import annotations

from nodes.registry import REGISTRY, Registry


def load_builtin_nodes(registry: Registry | None = None) -> Registry:
    """Register every built-in node type into ``registry`` (default: the app's)."""
    target = registry if registry is not None else REGISTRY
    from nodes.library import (
        conditioning,
        images,
        loaders,
        primitives,
        sampling,
        utility,
        vae,
    )

    for module in (primitives, utility, loaders, conditioning, sampling, vae, images):
        for cls in module.NODES:
            if cls.type_id not in target:
                target.register(cls)
    from nodes.comfy.placeholder import ensure_registered

    return ensure_registered(target)  # so saved graphs with placeholders reopen as such
