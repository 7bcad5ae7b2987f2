from __future__ import annotations

from pathlib import Path

import pytest

from nodes.context import Environment
from nodes.executor import Executor
from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.models.demo import InpaintingDemoPaths, make_demo_inpainting_model
from nodes.paths import resources_dir
from nodes.registry import Registry
from nodes.runner import apply_overrides
from nodes.workflow import load_file


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_builtin_nodes(Registry())


@pytest.fixture(scope="session")
def executor(tmp_path_factory: pytest.TempPathFactory) -> Executor:
    """One executor for the session, so models load once (like the app)."""
    return Executor(env=Environment(output_dir=tmp_path_factory.mktemp("out")))


def default_workflow(name: str, registry: Registry, **overrides: object) -> Graph:
    graph = load_file(resources_dir() / "workflows" / f"{name}.json", registry)
    overrides = {k: v for k, v in overrides.items() if k.split(".")[0] in graph.nodes}
    problems = apply_overrides(graph, overrides)
    assert not problems, problems
    return graph


@pytest.fixture
def workflow(registry: Registry):
    def make(name: str, overrides: dict[str, object]) -> Graph:
        return default_workflow(name, registry, **overrides)

    return make


def tiny(path: Path, **extra: object) -> dict[str, object]:
    """Overrides for a fast run on a tiny model: 64×64, 4 steps."""
    base: dict[str, object] = {
        "checkpoint.path": str(path),
        "latent.width": 64,
        "latent.height": 64,
        "sampler.steps": 4,
        "sampler.seed": 1234,
    }
    base.update(extra)
    return base


@pytest.fixture(scope="session")
def demo_sd15_inpainting(demo_root: Path) -> InpaintingDemoPaths:
    """A tiny SD1.5-shaped inpainting model (9-channel UNet)."""
    return make_demo_inpainting_model(demo_root, "sd15")


@pytest.fixture(scope="session")
def demo_sdxl_inpainting(demo_root: Path) -> InpaintingDemoPaths:
    """A tiny SDXL-shaped inpainting model (9-channel UNet)."""
    return make_demo_inpainting_model(demo_root, "sdxl")


@pytest.fixture
def graph() -> Graph:
    """The library with the mask tests' ``masktest.*`` input nodes (see mask_helpers)."""
    from tests.diffusion.mask_helpers import mask_graph

    return mask_graph()
