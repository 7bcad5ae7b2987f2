"""CLIP skip: the CLIP Set Last Layer node against diffusers' ``clip_skip`` (CPU, fp32,
one thread, demo models with 4-layer text encoders), and its ComfyUI numbering per family.

diffusers' ``clip_skip=N`` counts layers from the one the family conditions on (SD1.x the
last, SD2.x and SDXL the penultimate), so it is ``stop_at_clip_layer = -(N+1)`` on SD1.x
and ``-(N+2)`` on SD2.x and SDXL. diffusers applies it to the prompt only, never to the
negative prompt, so the parity graphs route only the positive text node through the node.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nodes.context import Environment
from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.models.demo import DemoPaths
from tests.diffusion.clip_helpers import (
    PROMPT,
    TOLERANCE,
    diffusers_clip_skip,  # noqa: F401  (a fixture)
    make_deep,
    reference,
    run,
    sd_pipeline,
    sdxl_overrides,
    sdxl_pipeline,
    set_last_layer,
)
from tests.diffusion.conftest import tiny


@pytest.fixture(scope="module")
def deep_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deep-clip")


@pytest.fixture(scope="module")
def deep_sd15(deep_root: Path) -> DemoPaths:
    return make_deep(deep_root, "sd15")


@pytest.fixture(scope="module")
def deep_sdxl(deep_root: Path) -> DemoPaths:
    return make_deep(deep_root, "sdxl")


@pytest.fixture(scope="module")
def deep_sd21(deep_root: Path) -> DemoPaths:
    return make_deep(deep_root, "sd21")


def _conditioning(executor: Executor, graph, node: str = "positive") -> torch.Tensor:
    outcome = executor.run(graph, targets=[node], capture=(node,))
    assert outcome.status is RunStatus.DONE, outcome.problems
    return outcome.values[node][0].embeds


@pytest.mark.parametrize("skip", [1, 2])
@pytest.mark.usefixtures("diffusers_clip_skip")
def test_sd15_clip_skip_matches_the_pipeline(skip: int, deep_sd15, executor, workflow) -> None:
    graph = workflow("txt2img", tiny(deep_sd15.single_file))
    set_last_layer(graph, -(skip + 1), "positive")
    ours, outcome = run(executor, graph)
    theirs = reference(sd_pipeline(outcome), clip_skip=skip)
    assert ours.shape == theirs.shape == (1, 64, 64, 3)
    assert np.abs(ours - theirs).max() <= TOLERANCE
    plain, _ = run(executor, workflow("txt2img", tiny(deep_sd15.single_file)))
    assert np.abs(ours - plain).max() > 1e-3  # the layer changed the picture


def test_sdxl_clip_skip_matches_the_pipeline(deep_sdxl, executor, workflow) -> None:
    """Both SDXL encoders skip; the pooled embedding stays the last layer's."""
    graph = workflow("sdxl_txt2img", sdxl_overrides(deep_sdxl.single_file))
    set_last_layer(graph, -3, "positive")
    ours, outcome = run(executor, graph)
    theirs = reference(sdxl_pipeline(outcome), cfg=6.0, clip_skip=1)
    assert np.abs(ours - theirs).max() <= TOLERANCE


@pytest.mark.usefixtures("diffusers_clip_skip")
def test_sd2_clip_skip_counts_the_layer_its_loader_drops(deep_sd21, executor, workflow) -> None:
    """SD2.x is loaded without its file's last layer; -3 is diffusers' clip_skip=1."""
    graph = workflow("txt2img", tiny(deep_sd21.single_file))
    set_last_layer(graph, -3, "positive")
    ours, outcome = run(executor, graph)
    theirs = reference(sd_pipeline(outcome), clip_skip=1)
    assert np.abs(ours - theirs).max() <= TOLERANCE


def test_each_familys_own_layer_is_its_default(
    deep_sd15, deep_sd21, deep_sdxl, workflow, tmp_path
) -> None:
    """-1 on SD1.x and -2 on SD2.x/SDXL give the conditioning of no node at all."""
    executor = Executor(env=Environment(output_dir=tmp_path))
    cases = [("txt2img", deep_sd15, -1), ("txt2img", deep_sd21, -2)]
    cases.append(("sdxl_txt2img", deep_sdxl, -2))
    for name, paths, own in cases:
        overrides = tiny(paths.single_file)
        plain = _conditioning(executor, workflow(name, overrides))
        graph = workflow(name, overrides)
        set_last_layer(graph, own, "positive")
        assert torch.equal(_conditioning(executor, graph), plain), paths.family


def test_beyond_the_layers_is_the_last_layer_as_comfyui(
    deep_sd15, deep_sdxl, workflow, tmp_path
) -> None:
    """ComfyUI reads a layer beyond the encoder's as its last one, layer-normed."""
    executor = Executor(env=Environment(output_dir=tmp_path))
    graph = workflow("txt2img", tiny(deep_sd15.single_file))
    last = _conditioning(executor, graph)
    set_last_layer(graph, -24, "positive")
    assert torch.equal(_conditioning(executor, graph), last)

    graph = workflow("sdxl_txt2img", tiny(deep_sdxl.single_file, **{"positive.text": PROMPT}))
    set_last_layer(graph, -24, "positive")
    beyond = _conditioning(executor, graph)
    outcome = executor.run(graph, targets=["positive"], capture=("checkpoint",))
    clip = outcome.values["checkpoint"][1]
    halves = []
    for tokenizer, encoder in zip(clip.tokenizers, clip.encoders, strict=True):
        ids = tokenizer(PROMPT, padding="max_length", max_length=77, return_tensors="pt")
        with torch.no_grad():
            halves.append(encoder(ids.input_ids, output_hidden_states=True).hidden_states[-1])
            halves[-1] = getattr(encoder, "text_model", encoder).final_layer_norm(halves[-1])
    assert torch.equal(beyond, torch.cat(halves, dim=-1))


def test_sd2_refuses_the_last_layer_on_the_field(deep_sd21, workflow, tmp_path) -> None:
    executor = Executor(env=Environment(output_dir=tmp_path))
    graph = workflow("txt2img", tiny(deep_sd21.single_file))
    set_last_layer(graph, -1, "positive")
    outcome = executor.run(graph, targets=["positive"])
    assert outcome.status is RunStatus.FAILED
    (problem,) = outcome.problems
    assert (problem.node_id, problem.field) == ("skip", "stop_at_clip_layer")
    assert "penultimate" in problem.message and "-2" in problem.message
    graph.nodes["skip"].params["stop_at_clip_layer"] = -6  # beyond its 5: the last, too
    outcome = executor.run(graph, targets=["positive"])
    assert [(p.node_id, p.field) for p in outcome.problems] == [("skip", "stop_at_clip_layer")]
