"""Inpainting, bit-exact with diffusers' inpainting pipelines (CPU, fp32, tiny models, 64²,
4 steps): a noise mask on any UNet vs ``StableDiffusionInpaintPipeline`` with a 4-channel
UNet, inpainting checkpoints vs the same pipeline (and its SDXL sibling) with a 9-channel
UNet; and the errors that name the node and field."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from nodes.diffusion.schedulers import SchedulerRecipe
from nodes.events import RunStatus
from nodes.executor import Executor, RunOutcome
from nodes.graph import Graph
from tests.diffusion.conftest import tiny
from tests.diffusion.test_parity import NEGATIVE, NO_SAFETY, PROMPT, TOLERANCE, _sdxl_graph


@pytest.fixture(scope="module")
def picture(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Image.Image, Image.Image]:
    """A 64² RGBA image whose transparent rectangle is the region to repaint; the same
    image and its mask as diffusers takes them (RGB, and L with 255 = repaint)."""
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    alpha = np.full((64, 64), 255, dtype=np.uint8)
    alpha[16:48, 8:40] = 0
    path = tmp_path_factory.mktemp("inpaint") / "holes.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path)
    return str(path), Image.fromarray(rgb), Image.fromarray(255 - alpha, "L")


def _with_image(graph: Graph, path: str) -> None:
    graph.add_node("image.load", id="image", params={"path": path})


def _noise_mask_graph(workflow, checkpoint, path: str, **params: object) -> Graph:
    graph = workflow("txt2img", tiny(checkpoint, **params))
    _with_image(graph, path)
    graph.add_node("vae.encode", id="encode")
    graph.add_node("latent.set_noise_mask", id="masked")
    graph.connect("checkpoint", "vae", "encode", "vae")
    graph.connect("image", "image", "encode", "image")
    graph.connect("encode", "latent", "masked", "latent")
    graph.connect("image", "mask", "masked", "mask")
    graph.connect("masked", "latent", "sampler", "latent")
    return graph


def _inpaint_model_graph(graph: Graph, path: str, *, noise_mask: bool = False) -> Graph:
    _with_image(graph, path)
    graph.add_node("conditioning.inpaint_model", id="inpaint", params={"noise_mask": noise_mask})
    graph.connect("positive", "conditioning", "inpaint", "positive")
    graph.connect("negative", "conditioning", "inpaint", "negative")
    graph.connect("checkpoint", "vae", "inpaint", "vae")
    graph.connect("image", "image", "inpaint", "pixels")
    graph.connect("image", "mask", "inpaint", "mask")
    graph.connect("inpaint", "positive", "sampler", "positive")
    graph.connect("inpaint", "negative", "sampler", "negative")
    graph.connect("inpaint", "latent", "sampler", "latent")
    return graph


def _run(executor: Executor, graph: Graph) -> tuple[np.ndarray, RunOutcome]:
    outcome = executor.run(graph, capture=("decode", "checkpoint"))
    assert outcome.status is RunStatus.DONE, outcome.problems
    return outcome.values["decode"][0].numpy(), outcome


def _pipeline(cls, outcome: RunOutcome, recipe: SchedulerRecipe, **parts: Any):
    unet, clip, vae = outcome.values["checkpoint"]
    components: dict[str, Any] = {
        "vae": vae.module,
        "text_encoder": clip.encoders[0],
        "tokenizer": clip.tokenizers[0],
        "unet": unet.module,
        "scheduler": recipe.build(unet.scheduler_config),
    }
    if len(clip.encoders) > 1:
        components |= {"text_encoder_2": clip.encoders[1], "tokenizer_2": clip.tokenizers[1]}
    pipe = cls(**components, **parts)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _theirs(pipe, picture, *, strength: float, cfg: float = 7.0) -> np.ndarray:
    _, image, mask = picture
    out = pipe(
        PROMPT,
        image=image,
        mask_image=mask,
        negative_prompt=NEGATIVE,
        height=64,
        width=64,
        strength=strength,
        num_inference_steps=4,
        guidance_scale=cfg,
        generator=torch.Generator("cpu").manual_seed(1234),
        output_type="np",
    )
    return np.asarray(out.images)


@pytest.mark.parametrize(
    ("scheduler", "denoise"), [("euler", 0.75), ("euler", 1.0), ("euler_ancestral", 1.0)]
)
def test_noise_mask_matches_the_inpaint_pipeline_with_a_4_channel_unet(
    demo_sd15, executor, workflow, picture, scheduler: str, denoise: float
) -> None:
    from diffusers import StableDiffusionInpaintPipeline

    graph = _noise_mask_graph(
        workflow,
        demo_sd15.single_file,
        picture[0],
        **{"sampler.denoise": denoise, "scheduler.name": scheduler, "positive.text": PROMPT},
    )
    graph.set_param("negative", "text", NEGATIVE)
    ours, outcome = _run(executor, graph)
    pipe = _pipeline(
        StableDiffusionInpaintPipeline,
        outcome,
        SchedulerRecipe(scheduler),
        safety_checker=NO_SAFETY,
        feature_extractor=NO_SAFETY,
        requires_safety_checker=False,
    )
    theirs = _theirs(pipe, picture, strength=denoise)
    assert ours.shape == theirs.shape == (1, 64, 64, 3)
    assert np.abs(ours - theirs).max() <= TOLERANCE


@pytest.mark.parametrize("denoise", [1.0, 0.75])
def test_inpainting_checkpoint_matches_the_inpaint_pipeline(
    demo_sd15_inpainting, executor, workflow, picture, denoise: float
) -> None:
    from diffusers import StableDiffusionInpaintPipeline

    graph = workflow(
        "txt2img",
        tiny(
            demo_sd15_inpainting.single_file,
            **{"sampler.denoise": denoise, "positive.text": PROMPT, "negative.text": NEGATIVE},
        ),
    )
    ours, outcome = _run(executor, _inpaint_model_graph(graph, picture[0]))
    assert outcome.values["checkpoint"][0].module.config.in_channels == 9
    pipe = _pipeline(
        StableDiffusionInpaintPipeline,
        outcome,
        SchedulerRecipe("euler"),
        safety_checker=NO_SAFETY,
        feature_extractor=NO_SAFETY,
        requires_safety_checker=False,
    )
    theirs = _theirs(pipe, picture, strength=denoise)
    assert np.abs(ours - theirs).max() <= TOLERANCE


def test_sdxl_inpainting_checkpoint_matches_the_sdxl_inpaint_pipeline(
    demo_sdxl_inpainting, executor, workflow, picture
) -> None:
    from diffusers import StableDiffusionXLInpaintPipeline

    graph = _sdxl_graph(workflow, demo_sdxl_inpainting)
    graph.set_param("sampler", "denoise", 0.75)
    ours, outcome = _run(executor, _inpaint_model_graph(graph, picture[0]))
    pipe = _pipeline(
        StableDiffusionXLInpaintPipeline,
        outcome,
        SchedulerRecipe("dpmpp_2m", "karras"),
        add_watermarker=False,
    )
    theirs = _theirs(pipe, picture, strength=0.75, cfg=6.0)
    assert np.abs(ours - theirs).max() <= TOLERANCE


@pytest.mark.parametrize("convention", ["comfyui", "diffusers"])
def test_the_noise_mask_keeps_the_latent_outside_it(
    demo_sd15, executor, workflow, picture, convention: str
) -> None:
    """Outside the mask the sampled latent is the input latent exactly (the comfyui
    convention encodes the mode; diffusers' draws it with the seed); inside, it changes."""
    graph = _noise_mask_graph(workflow, demo_sd15.single_file, picture[0])
    graph.set_param("scheduler", "convention", convention)
    graph.set_param("sampler", "denoise", 1.0)
    outcome = executor.run(graph, capture=("sampler", "encode"))
    assert outcome.status is RunStatus.DONE, outcome.problems
    (result,) = outcome.values["sampler"]
    (encoded,) = outcome.values["encode"]
    out, original = result.samples, encoded.samples
    hole = (slice(None), slice(None), slice(2, 6), slice(1, 5))  # pixels 16:48 × 8:40
    assert (out[hole] - original[hole]).abs().max() > 1e-2
    kept = (slice(None), slice(None), slice(0, 1), slice(6, 8))  # far from the hole
    if convention == "comfyui":
        assert torch.equal(out[kept], original[kept])
    else:  # the image latent is a draw from the posterior around the mode
        assert (out[kept] - original[kept]).abs().max() < 0.5


def _problems(executor: Executor, graph: Graph) -> set[tuple[str | None, str | None]]:
    outcome = executor.run(graph)
    assert outcome.status is RunStatus.FAILED
    return {(p.node_id, p.field) for p in outcome.problems}


def test_an_inpainting_checkpoint_without_its_conditioning_is_refused(
    demo_sd15_inpainting, executor, workflow
) -> None:
    graph = workflow("txt2img", tiny(demo_sd15_inpainting.single_file))
    outcome = executor.run(graph)
    assert outcome.status is RunStatus.FAILED
    (problem,) = outcome.problems
    assert (problem.node_id, problem.field) == ("sampler", "positive")
    assert "inpainting model" in problem.message and "Inpaint Model Conditioning" in problem.message


def test_inpainting_conditioning_on_a_plain_unet_is_refused(
    demo_sd15, executor, workflow, picture
) -> None:
    graph = _inpaint_model_graph(workflow("txt2img", tiny(demo_sd15.single_file)), picture[0])
    outcome = executor.run(graph)
    (problem,) = outcome.problems
    assert (problem.node_id, problem.field) == ("sampler", "positive")
    assert "Set Latent Noise Mask" in problem.message


def test_a_mask_of_another_size_names_the_mask(demo_sd15, executor, workflow, tmp_path) -> None:
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((32, 32, 4), dtype=np.uint8), "RGBA").save(small)
    graph = _noise_mask_graph(workflow, demo_sd15.single_file, str(small))
    graph.add_node("image.load", id="big", params={"path": str(tmp_path / "big.png")})
    Image.fromarray(np.zeros((64, 64, 3), dtype=np.uint8)).save(tmp_path / "big.png")
    graph.connect("big", "image", "encode", "image")
    problems = _problems(executor, graph)
    assert problems == {("masked", "mask")}


def _latent_mask(mask: torch.Tensor, size: tuple[int, int], *, binary: bool) -> torch.Tensor:
    from nodes.diffusion.inpainting import latent_mask

    cpu = torch.device("cpu")
    return latent_mask(
        mask, size, binary=binary, batch=mask.shape[0], device=cpu, dtype=torch.float32
    )


def test_masks_reach_latent_size_by_each_conventions_rule() -> None:
    """comfyui: bilinear, soft (how ComfyUI's sampler resizes a noise mask); diffusers:
    binarised at 0.5, then nearest (its mask processor)."""
    half = torch.zeros(1, 16, 16)
    half[:, :, 8:] = 1.0
    assert _latent_mask(half, (2, 2), binary=False).tolist() == [[[[0.0, 1.0], [0.0, 1.0]]]]
    # downscaling 8× samples the centre of each block: halfway between pixels 3 and 4
    ramp = torch.arange(16, dtype=torch.float32).expand(16, 16)[None] / 15
    assert float(_latent_mask(ramp, (1, 2), binary=False)[0, 0, 0, 0]) == pytest.approx(3.5 / 15)
    assert _latent_mask(ramp, (1, 2), binary=True).tolist() == [[[[0.0, 1.0]]]]
    soft = torch.full((2, 8, 8), 0.5)
    assert torch.equal(_latent_mask(soft, (1, 1), binary=True), torch.ones(2, 1, 1, 1))
