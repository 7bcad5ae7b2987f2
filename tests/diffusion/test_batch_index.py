"""One image of a batch, made alone: Empty Latent's ``batch_index`` gives the same picture as
that image of the whole batch (every noise draw is the batch's, only the model runs on one
image), and every saved PNG of a batch records its index and the overrides that remake it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from nodes.events import RunStatus
from nodes.library.sampling import EmptyLatent
from nodes.workflow import from_dict, to_dict
from nodes.workflow.png import embedded_record, embedded_workflow
from tests.diffusion.conftest import tiny

TOLERANCE = 1e-5
"""The model runs on one image instead of three: the same arithmetic up to float rounding
of a smaller batch (as the parity tests' bound)."""


def _run(executor, graph, *capture: str):
    outcome = executor.run(graph, capture=capture)
    assert outcome.status is RunStatus.DONE, (outcome.problems, outcome.error)
    return outcome


@pytest.mark.parametrize(
    ("name", "convention"),
    [
        ("euler_ancestral", "diffusers"),  # fresh noise every step
        ("dpmpp_2m_sde", "diffusers"),  # Brownian noise and multistep state
        ("ddim", "diffusers"),
        ("euler_ancestral", "comfyui"),
    ],
)
def test_an_image_alone_equals_it_in_the_batch(
    name: str, convention: str, demo_sd15, executor, workflow
) -> None:
    overrides = {
        "latent.batch_size": 3,
        "scheduler.name": name,
        "scheduler.convention": convention,
    }
    batch = _run(executor, workflow("txt2img", tiny(demo_sd15.single_file, **overrides)), "decode")
    (images,) = batch.values["decode"]
    assert images.shape[0] == 3
    assert (images[0] - images[2]).abs().max() > 0.05  # the batch's images differ
    for k in (0, 2):
        alone_graph = workflow(
            "txt2img", tiny(demo_sd15.single_file, **overrides, **{"latent.batch_index": k})
        )
        alone = _run(executor, alone_graph, "decode")
        (image,) = alone.values["decode"]
        assert image.shape[0] == 1
        assert (image[0] - images[k]).abs().max() <= TOLERANCE


def test_each_saved_png_records_its_index_and_remakes_alone(
    demo_sd15, executor, workflow, registry
) -> None:
    graph = workflow("txt2img", tiny(demo_sd15.single_file, **{"latent.batch_size": 3}))
    outcome = _run(executor, graph)
    assert len(outcome.outputs) == 3
    for k, path in enumerate(outcome.outputs):
        record = embedded_record(path)
        assert record["batch_index"] == k and record["batch_size"] == 3
        assert record["alone"] == {"latent.batch_index": k}
        assert record["samplers"][0]["seed"] == 1234
    # Regenerate image 1 from its own PNG: its workflow with the recorded overrides.
    png = outcome.outputs[1]
    again = from_dict(embedded_workflow(png), registry)
    for key, value in embedded_record(png)["alone"].items():
        node, param = key.split(".")
        again.set_param(node, param, value)
    remade = _run(executor, again)
    (remade_png,) = remade.outputs
    with Image.open(png) as a, Image.open(remade_png) as b:
        first, second = np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB"))
    assert np.abs(first.astype(int) - second.astype(int)).max() <= 1  # 8-bit rounding
    record = embedded_record(remade_png)
    assert (record["batch_index"], record["batch_size"]) == (1, 3)
    assert record["alone"] == {"latent.batch_index": 1}


def test_a_single_image_records_index_zero(demo_sd15, executor, workflow) -> None:
    outcome = _run(executor, workflow("txt2img", tiny(demo_sd15.single_file)))
    record = embedded_record(outcome.outputs[0])
    assert (record["batch_index"], record["batch_size"]) == (0, 1)
    assert "alone" not in record


def test_a_refiner_after_the_base_keeps_the_batch_image(demo_sd15, executor, workflow) -> None:
    """A second sampler (a refiner's, here the same model: any model works) continues the
    marked image with the batch's noise, so the chain alone equals the chain's batch."""
    overrides = {
        "latent.batch_size": 2,
        "scheduler.name": "euler_ancestral",
        "scheduler.convention": "comfyui",
        "sampler.end_step": 2,
        "sampler.leftover_noise": True,
    }

    def chain(**extra: object):
        graph = workflow("txt2img", tiny(demo_sd15.single_file, **overrides, **extra))
        graph.add_node(
            "sampling.sampler",
            id="refine",
            params={"seed": 5, "steps": 4, "cfg": 6.0, "start_step": 2, "add_noise": False},
        )
        for source, output, port in (
            ("checkpoint", "unet", "unet"),
            ("scheduler", "scheduler", "scheduler"),
            ("positive", "conditioning", "positive"),
            ("negative", "conditioning", "negative"),
            ("sampler", "latent", "latent"),
        ):
            graph.connect(source, output, "refine", port)
        graph.connect("refine", "latent", "decode", "latent")
        return _run(executor, graph, "refine").values["refine"][0]

    whole = chain()
    alone = chain(**{"latent.batch_index": 1})
    assert alone.samples.shape[0] == 1 and alone.batch == (1, 2)
    # Latents, not pixels: up to ~30 here, so the bound is relative to their size.
    scale = whole.samples.abs().max()
    assert (alone.samples[0] - whole.samples[1]).abs().max() <= TOLERANCE * scale
    assert (whole.samples[0] - whole.samples[1]).abs().max() > 0.1


def test_batch_index_must_be_in_the_batch() -> None:
    problems = EmptyLatent.check_params({"width": 64, "height": 64, "batch_size": 2})
    assert problems == []
    problems = EmptyLatent.check_params({"batch_size": 2, "batch_index": 2})
    assert [field for field, _ in problems] == ["batch_index"]
    assert "0 to 1" in problems[0][1]
    assert EmptyLatent.check_params({"batch_index": 5}) == []  # batch_size linked


def test_files_saved_before_batch_index_upgrade_to_the_whole_batch(
    demo_sd15, workflow, registry
) -> None:
    raw = to_dict(workflow("txt2img", tiny(demo_sd15.single_file)))
    raw["nodes"]["latent"]["type_version"] = "1.0.0"
    raw["nodes"]["latent"]["params"].pop("batch_index")
    graph = from_dict(json.loads(json.dumps(raw)), registry)
    assert graph.nodes["latent"].type_version == EmptyLatent.version == "1.1.0"
    assert graph.nodes["latent"].params["batch_index"] == -1
    assert torch.get_num_threads() == 1
