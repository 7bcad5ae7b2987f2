"""Helpers for the ComfyUI tests: a registry with the placeholder, resolvers that let the
demo models stand in for any model a workflow names, and the tiny-run overrides."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nodes.comfy import ensure_registered
from nodes.context import Environment
from nodes.executor import Executor
from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.registry import Registry
from tests.diffusion.conftest import (  # noqa: F401 - shared fixtures
    demo_sd15_inpainting,
    executor,
    workflow,
)


@pytest.fixture(scope="session")
def registry() -> Registry:
    return ensure_registered(load_builtin_nodes(Registry()))


def demo_resolver(demo, images: Path | None = None) -> Callable[[str, str], Path | None]:
    """Any model name resolves to the demo model's file of that kind (as if the user had
    pointed Daguerre at a models folder holding those names)."""
    by_kind = {
        "checkpoints": demo.single_file,
        "controlnet": demo.controlnet,
        "lora": demo.lora,
        "vae": demo.folder / "vae",
    }

    def resolve(kind: str, value: str) -> Path | None:
        if kind in by_kind:
            return by_kind[kind] if value else None
        path = Path(value)
        if not path.is_absolute() and images is not None:
            path = images / value
        return path if path.exists() else None

    return resolve


@pytest.fixture(scope="session")
def comfy_executor(tmp_path_factory: pytest.TempPathFactory, demo_sd15) -> Executor:
    """One executor (models load once) whose files resolve to the SD1.5 demo model."""
    out = tmp_path_factory.mktemp("comfy-out")
    return Executor(env=Environment(output_dir=out, resolve_file=demo_resolver(demo_sd15)))


def shrink(graph: Graph, size: int = 64, steps: int = 3) -> Graph:
    """Tiny latents and few steps, keeping KSamplerAdvanced splits in proportion."""
    for data in graph.nodes.values():
        if data.type == "latent.empty":
            data.params.update(width=size, height=size, batch_size=1)
        if data.type == "conditioning.text_encode_sdxl":
            for name in ("width", "height", "target_width", "target_height"):
                data.params[name] = size
    samplers = [d.id for d in graph.nodes.values() if d.type == "sampling.sampler"]
    totals = {node_id: _value(graph, node_id, "steps") for node_id in samplers}
    done: set[tuple[str, str]] = set()
    for node_id in samplers:
        total = totals[node_id]
        for name in ("steps", "start_step", "end_step"):
            link = graph.link_into(node_id, name)
            holder = graph.nodes[link.source] if link else graph.nodes[node_id]
            key = next(iter(holder.params)) if link else name
            if (holder.id, key) in done:
                continue
            done.add((holder.id, key))
            value = holder.params[key]
            if name == "steps":
                holder.params[key] = min(value, steps)
            elif value < 10000 and total:
                holder.params[key] = round(value * min(total, steps) / total)
    return graph


def _value(graph: Graph, node_id: str, name: str) -> int:
    link = graph.link_into(node_id, name)
    if link is None:
        return graph.nodes[node_id].params[name]
    return next(iter(graph.nodes[link.source].params.values()))
