"""The hires fix template (``resources/workflows/hires_fix.json``): it runs headless on the
demo model, its out-of-range sizes fail on node and field, and it gives diffusers'
pixels — a StableDiffusionPipeline's latents, upscaled by interpolate, then
StableDiffusionImg2ImgPipeline on those latents at strength 0.5."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline
from diffusers.pipelines.stable_diffusion import StableDiffusionPipelineOutput
from PIL import Image

from nodes import cli
from nodes.diffusion.schedulers import SchedulerRecipe
from nodes.events import RunStatus
from nodes.paths import resources_dir
from tests.diffusion.conftest import default_workflow, tiny
from tests.diffusion.test_parity import NEGATIVE, NO_SAFETY, PROMPT, TOLERANCE

TEMPLATE = resources_dir() / "workflows" / "hires_fix.json"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = cli.main(["run", str(TEMPLATE), *argv, "--json", "--quiet"])
    return code, json.loads(capsys.readouterr().out)


def test_the_template_upscales_by_one_and_a_half_then_samples_at_half_denoise(registry) -> None:
    graph = default_workflow("hires_fix", registry)
    assert graph.nodes["upscale"].type == "latent.upscale_by"
    assert graph.nodes["upscale"].params["factor"] == 1.5
    assert graph.nodes["hires"].params["denoise"] == 0.5
    into = {(x.source, x.target, x.input) for x in graph.links}
    assert {("sampler", "upscale", "latent"), ("upscale", "hires", "latent")} <= into
    assert ("hires", "decode", "latent") in into


def test_hires_fix_runs_headless(capsys, demo_sd15, tmp_path: Path) -> None:
    code, summary = _run(
        capsys,
        "--out",
        str(tmp_path),
        "--set",
        f"checkpoint.path={demo_sd15.single_file}",
        "--set",
        "latent.width=64",
        "--set",
        "latent.height=48",
        "--set",
        "sampler.steps=3",
        "--set",
        "hires.steps=4",
    )
    assert code == 0, summary["errors"]
    (saved,) = summary["outputs"]
    assert Path(saved).name == "hires_fix_00001.png"
    with Image.open(saved) as image:
        assert image.size == (96, 72)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("upscale.factor=0", "below the minimum"),
        ("upscale.factor=100000", "above the maximum"),
        ("latent.width=100000", "above the maximum"),
    ],
)
def test_bad_sizes_name_node_and_field(capsys, demo_sd15, tmp_path: Path, setting, message) -> None:
    code, summary = _run(
        capsys,
        "--out",
        str(tmp_path),
        "--set",
        f"checkpoint.path={demo_sd15.single_file}",
        "--set",
        setting,
    )
    assert code == 1
    (error,) = summary["errors"]
    node, field = setting.split("=")[0].split(".")
    assert (error["node"], error["field"]) == (node, field)
    assert message in error["message"]


def test_hires_fix_matches_diffusers_txt2img_then_img2img_on_the_latents(
    demo_sd15, executor, workflow
) -> None:
    steps, hires_steps, seed = 4, 6, 1234
    graph = workflow(
        "hires_fix",
        tiny(
            demo_sd15.single_file,
            **{
                "positive.text": PROMPT,
                "negative.text": NEGATIVE,
                "sampler.steps": steps,
                "hires.steps": hires_steps,
                "hires.seed": seed,
            },
        ),
    )
    outcome = executor.run(graph, capture=("decode", "checkpoint", "upscale"))
    assert outcome.status is RunStatus.DONE, outcome.problems
    (ours,) = outcome.values["decode"]
    (upscaled,) = outcome.values["upscale"]
    assert upscaled.samples.shape[-2:] == (12, 12)
    unet, clip, vae = outcome.values["checkpoint"]
    parts = {
        "vae": vae.module,
        "text_encoder": clip.encoders[0],
        "tokenizer": clip.tokenizers[0],
        "unet": unet.module,
        "safety_checker": NO_SAFETY,
        "feature_extractor": NO_SAFETY,
        "requires_safety_checker": False,
    }
    recipe = SchedulerRecipe("euler")
    first = StableDiffusionPipeline(**parts, scheduler=recipe.build(unet.scheduler_config))
    first.set_progress_bar_config(disable=True)
    out = first(
        PROMPT,
        negative_prompt=NEGATIVE,
        height=64,
        width=64,
        num_inference_steps=steps,
        guidance_scale=7.0,
        generator=torch.Generator("cpu").manual_seed(1234),
        output_type="latent",
    )
    assert isinstance(out, StableDiffusionPipelineOutput)
    latents = out.images
    assert isinstance(latents, torch.Tensor)
    latents = F.interpolate(latents, size=(12, 12), mode="nearest-exact")
    second = StableDiffusionImg2ImgPipeline(**parts, scheduler=recipe.build(unet.scheduler_config))
    second.set_progress_bar_config(disable=True)
    out = second(
        PROMPT,
        image=latents,
        strength=0.5,
        negative_prompt=NEGATIVE,
        num_inference_steps=hires_steps,
        guidance_scale=7.0,
        generator=torch.Generator("cpu").manual_seed(seed),
        output_type="np",
    )
    assert isinstance(out, StableDiffusionPipelineOutput)
    theirs = out.images
    assert isinstance(theirs, np.ndarray)
    assert ours.shape == theirs.shape == (1, 96, 96, 3)
    assert np.abs(ours.numpy() - theirs).max() <= TOLERANCE


def test_a_noise_mask_travels_through_the_upscale_to_the_hires_pass(
    demo_sd15, executor, workflow
) -> None:
    """A mask of 0 (keep everything) set before the upscale: the hires pass gives back the
    upscaled latent exactly, so the mask reached the second sampler at its new size."""
    graph = workflow("hires_fix", tiny(demo_sd15.single_file, **{"hires.steps": 4}))
    graph.add_node("mask.solid", id="keep", params={"value": 0.0, "width": 64, "height": 64})
    graph.add_node("latent.set_noise_mask", id="masked")
    graph.connect("sampler", "latent", "masked", "latent")
    graph.connect("keep", "mask", "masked", "mask")
    graph.connect("masked", "latent", "upscale", "latent")
    outcome = executor.run(graph, capture=("upscale", "hires"))
    assert outcome.status is RunStatus.DONE, outcome.problems
    (upscaled,) = outcome.values["upscale"]
    (hires,) = outcome.values["hires"]
    assert upscaled.noise_mask is not None and upscaled.noise_mask.shape == (1, 96, 96)
    assert torch.equal(hires.samples, upscaled.samples)
