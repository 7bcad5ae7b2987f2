"""Bit-exactness with diffusers' own pipelines (CPU, fp32, one thread, tiny models)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline
from diffusers.pipelines.stable_diffusion import StableDiffusionPipelineOutput
from diffusers.utils import numpy_to_pil
from PIL import Image

from nodes.diffusion.schedulers import SCHEDULER_NAMES, SchedulerRecipe
from nodes.events import RunStatus
from nodes.executor import RunOutcome
from tests.diffusion.conftest import tiny

PROMPT = "a lighthouse on a cliff at sunset, oil painting, warm light"
NEGATIVE = "blurry, low quality"
TOLERANCE = 1e-5
NO_SAFETY: Any = None
"""For ``safety_checker`` and ``feature_extractor``: diffusers types them as required, but
None (with ``requires_safety_checker=False``) is its documented way to run without them."""


def _ours(executor, graph) -> tuple[np.ndarray, RunOutcome]:
    outcome = executor.run(graph, capture=("decode", "checkpoint"))
    assert outcome.status is RunStatus.DONE, outcome.problems
    (image,) = outcome.values["decode"]
    return image.numpy(), outcome


def _reference(pipe, *, cfg: float = 7.0, seed: int = 1234, **extra) -> np.ndarray:
    """diffusers' image for the tests' prompt at 64², 4 steps, as floats."""
    return pipe(
        PROMPT,
        negative_prompt=NEGATIVE,
        height=64,
        width=64,
        num_inference_steps=4,
        guidance_scale=cfg,
        generator=torch.Generator("cpu").manual_seed(seed),
        output_type="np",
        **extra,
    ).images


def _np_images(out: object) -> np.ndarray:
    """The images of an SD pipeline called with ``output_type="np"`` (and return_dict)."""
    assert isinstance(out, StableDiffusionPipelineOutput)
    assert isinstance(out.images, np.ndarray)
    return out.images


def _sd_pipeline(checkpoint_values, recipe: SchedulerRecipe, seed: int):
    unet, clip, vae = checkpoint_values
    pipe = StableDiffusionPipeline(
        vae=vae.module,
        text_encoder=clip.encoders[0],
        tokenizer=clip.tokenizers[0],
        unet=unet.module,
        scheduler=recipe.build(unet.scheduler_config, seed),
        safety_checker=NO_SAFETY,
        feature_extractor=NO_SAFETY,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.mark.parametrize("name", SCHEDULER_NAMES)
def test_txt2img_matches_stable_diffusion_pipeline(
    name: str, demo_sd15, executor, workflow
) -> None:
    seed = 1234
    graph = workflow("txt2img", tiny(demo_sd15.single_file, **{"scheduler.name": name}))
    ours, outcome = _ours(executor, graph)
    recipe = SchedulerRecipe(name)
    pipe = _sd_pipeline(outcome.values["checkpoint"], recipe, seed)
    theirs = _reference(pipe, seed=seed)
    assert ours.shape == theirs.shape == (1, 64, 64, 3)
    assert np.abs(ours - theirs).max() <= TOLERANCE


def test_saved_png_equals_numpy_to_pil(demo_sd15, executor, workflow) -> None:
    graph = workflow("txt2img", tiny(demo_sd15.single_file))
    _, outcome = _ours(executor, graph)
    (saved,) = outcome.outputs
    pipe = _sd_pipeline(outcome.values["checkpoint"], SchedulerRecipe("euler"), 1234)
    theirs = _reference(pipe)
    reference = np.asarray(numpy_to_pil(theirs)[0])
    with Image.open(saved) as png:
        assert np.array_equal(np.asarray(png.convert("RGB")), reference)


@pytest.mark.parametrize("sigmas", ["karras", "exponential"])
def test_sigma_schedules_match(sigmas: str, demo_sd15, executor, workflow) -> None:
    graph = workflow(
        "txt2img",
        tiny(demo_sd15.single_file, **{"scheduler.name": "dpmpp_2m", "scheduler.sigmas": sigmas}),
    )
    ours, outcome = _ours(executor, graph)
    pipe = _sd_pipeline(outcome.values["checkpoint"], SchedulerRecipe("dpmpp_2m", sigmas), 1234)
    theirs = _reference(pipe)
    assert np.abs(ours - theirs).max() <= TOLERANCE


def test_img2img_matches_img2img_pipeline(demo_sd15, executor, workflow, tmp_path) -> None:
    from diffusers import StableDiffusionImg2ImgPipeline

    rng = np.random.default_rng(0)
    source = tmp_path / "source.png"
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(source)
    graph = workflow(
        "img2img",
        tiny(
            demo_sd15.single_file,
            **{
                "image.path": str(source),
                "sampler.denoise": 0.6,
                "sampler.steps": 5,
            },
        ),
    )
    ours, outcome = _ours(executor, graph)
    unet, clip, vae = outcome.values["checkpoint"]
    pipe = StableDiffusionImg2ImgPipeline(
        vae=vae.module,
        text_encoder=clip.encoders[0],
        tokenizer=clip.tokenizers[0],
        unet=unet.module,
        scheduler=SchedulerRecipe("euler").build(unet.scheduler_config),
        safety_checker=NO_SAFETY,
        feature_extractor=NO_SAFETY,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    with Image.open(source) as init:
        result = pipe(
            PROMPT,
            image=init.convert("RGB"),
            strength=0.6,
            negative_prompt=NEGATIVE,
            num_inference_steps=5,
            guidance_scale=7.0,
            generator=torch.Generator("cpu").manual_seed(1234),
            output_type="np",
        )
        theirs = _np_images(result)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() <= TOLERANCE


def _control_source(tmp_path) -> tuple[str, Image.Image]:
    """A control image with shapes (so Canny finds edges) and the edges as diffusers sees them."""
    import cv2

    canvas = np.zeros((64, 64, 3), dtype=np.uint8)
    cv2.rectangle(canvas, (8, 8), (40, 30), (255, 255, 255), -1)
    cv2.circle(canvas, (44, 44), 12, (200, 120, 40), -1)
    path = tmp_path / "control.png"
    Image.fromarray(canvas).save(path)
    edges = cv2.Canny(cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY), 100, 200)
    assert edges.any()
    return str(path), Image.fromarray(np.repeat(edges[:, :, None], 3, axis=2))


def _controlnet_pipeline(outcome: RunOutcome, controlnet):
    from diffusers import StableDiffusionControlNetPipeline

    unet, clip, vae = outcome.values["checkpoint"]
    pipe = StableDiffusionControlNetPipeline(
        vae=vae.module,
        text_encoder=clip.encoders[0],
        tokenizer=clip.tokenizers[0],
        unet=unet.module,
        controlnet=controlnet,
        scheduler=SchedulerRecipe("euler").build(unet.scheduler_config),
        safety_checker=NO_SAFETY,
        feature_extractor=NO_SAFETY,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_controlnet_matches_controlnet_pipeline(demo_sd15, executor, workflow, tmp_path) -> None:
    control_path, edges = _control_source(tmp_path)
    graph = workflow(
        "controlnet_canny",
        tiny(
            demo_sd15.single_file,
            **{
                "control_image.path": control_path,
                "controlnet.path": str(demo_sd15.controlnet),
                "control.strength": 0.8,
                "control.start": 0.0,
                "control.end": 0.75,
            },
        ),
    )
    outcome = executor.run(graph, capture=("decode", "checkpoint", "controlnet"))
    assert outcome.status is RunStatus.DONE, outcome.problems
    ours = outcome.values["decode"][0].numpy()
    (loaded,) = outcome.values["controlnet"]
    pipe = _controlnet_pipeline(outcome, loaded.controlnet)
    result = pipe(
        PROMPT,
        image=edges,
        negative_prompt=NEGATIVE,
        height=64,
        width=64,
        num_inference_steps=4,
        guidance_scale=7.0,
        controlnet_conditioning_scale=0.8,
        control_guidance_start=0.0,
        control_guidance_end=0.75,
        generator=torch.Generator("cpu").manual_seed(1234),
        output_type="np",
    )
    theirs = _np_images(result)
    assert np.abs(ours - theirs).max() <= TOLERANCE
    # and the ControlNet really steers: without it the image differs
    plain, _ = _ours(executor, workflow("txt2img", tiny(demo_sd15.single_file)))
    assert np.abs(ours - plain).max() > 1e-3


def test_two_controlnets_match_multi_controlnet(demo_sd15, executor, workflow, tmp_path) -> None:
    from diffusers.models.controlnets.multicontrolnet import MultiControlNetModel

    control_path, edges = _control_source(tmp_path)
    second = tmp_path / "second.png"
    rng = np.random.default_rng(3)
    second_pixels = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(second_pixels).save(second)
    graph = workflow(
        "controlnet_canny",
        tiny(
            demo_sd15.single_file,
            **{
                "control_image.path": control_path,
                "controlnet.path": str(demo_sd15.controlnet),
                "control.strength": 0.8,
            },
        ),
    )
    graph.add_node(
        "loaders.controlnet", id="controlnet_2", params={"path": str(demo_sd15.controlnet_file)}
    )
    graph.add_node("image.load", id="control_image_2", params={"path": str(second)})
    graph.add_node(
        "conditioning.controlnet_apply",
        id="control_2",
        params={"strength": 0.5, "start": 0.25, "end": 1.0},
    )
    graph.connect("control", "positive", "control_2", "positive")
    graph.connect("control", "negative", "control_2", "negative")
    graph.connect("controlnet_2", "controlnet", "control_2", "controlnet")
    graph.connect("control_image_2", "image", "control_2", "image")
    graph.connect("control_2", "positive", "sampler", "positive")
    graph.connect("control_2", "negative", "sampler", "negative")
    outcome = executor.run(graph, capture=("decode", "checkpoint", "controlnet", "controlnet_2"))
    assert outcome.status is RunStatus.DONE, outcome.problems
    ours = outcome.values["decode"][0].numpy()
    nets = [outcome.values[n][0].controlnet for n in ("controlnet", "controlnet_2")]
    pipe = _controlnet_pipeline(outcome, MultiControlNetModel(nets))
    result = pipe(
        PROMPT,
        image=[edges, Image.fromarray(second_pixels)],
        negative_prompt=NEGATIVE,
        height=64,
        width=64,
        num_inference_steps=4,
        guidance_scale=7.0,
        controlnet_conditioning_scale=[0.8, 0.5],
        control_guidance_start=[0.0, 0.25],
        control_guidance_end=[1.0, 1.0],
        generator=torch.Generator("cpu").manual_seed(1234),
        output_type="np",
    )
    theirs = _np_images(result)
    assert np.abs(ours - theirs).max() <= TOLERANCE


def _sdxl_graph(workflow, demo_sdxl):
    """The SDXL template at the tests' 64² size, prompt and cfg 6."""
    sizes = {
        f"{node}.{name}": 64
        for node in ("positive", "negative")
        for name in ("width", "height", "target_width", "target_height")
    }
    texts = {"positive.text": PROMPT, "negative.text": NEGATIVE, "sampler.cfg": 6.0}
    return workflow("sdxl_txt2img", tiny(demo_sdxl.single_file, **sizes, **texts))


def _sdxl_pipeline(cls, outcome: RunOutcome, **extra):
    """An SDXL pipeline of ``cls`` on the run's own components (DPM++ 2M Karras)."""
    unet, clip, vae = outcome.values["checkpoint"]
    pipe = cls(
        vae=vae.module,
        text_encoder=clip.encoders[0],
        text_encoder_2=clip.encoders[1],
        tokenizer=clip.tokenizers[0],
        tokenizer_2=clip.tokenizers[1],
        unet=unet.module,
        scheduler=SchedulerRecipe("dpmpp_2m", "karras").build(unet.scheduler_config),
        add_watermarker=False,
        **extra,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_sdxl_matches_sdxl_pipeline(demo_sdxl, executor, workflow) -> None:
    from diffusers import StableDiffusionXLPipeline

    ours, outcome = _ours(executor, _sdxl_graph(workflow, demo_sdxl))
    theirs = _reference(_sdxl_pipeline(StableDiffusionXLPipeline, outcome), cfg=6.0)
    assert ours.shape == theirs.shape == (1, 64, 64, 3)
    assert np.abs(ours - theirs).max() <= TOLERANCE


def test_sd2_v_prediction_matches_pipeline(demo_sd21, executor, workflow) -> None:
    graph = workflow("txt2img", tiny(demo_sd21.single_file, **{"scheduler.name": "dpmpp_2m"}))
    ours, outcome = _ours(executor, graph)
    unet = outcome.values["checkpoint"][0]
    assert unet.family.id == "sd2"
    assert unet.scheduler_config["prediction_type"] == "v_prediction"
    pipe = _sd_pipeline(outcome.values["checkpoint"], SchedulerRecipe("dpmpp_2m"), 1234)
    theirs = _reference(pipe)
    assert np.abs(ours - theirs).max() <= TOLERANCE


def test_sdxl_controlnet_matches_sdxl_controlnet_pipeline(
    demo_sdxl, executor, workflow, tmp_path
) -> None:
    """An SDXL ControlNet gets the SDXL added conditions (pooled embeds, size ids) too."""
    from diffusers import StableDiffusionXLControlNetPipeline

    control_path, _ = _control_source(tmp_path)
    graph = _sdxl_graph(workflow, demo_sdxl)
    graph.add_node(
        "loaders.controlnet", id="controlnet", params={"path": str(demo_sdxl.controlnet_file)}
    )
    graph.add_node("image.load", id="control_image", params={"path": control_path})
    graph.add_node(
        "conditioning.controlnet_apply",
        id="control",
        params={"strength": 0.7, "start": 0.0, "end": 0.75},
    )
    graph.connect("positive", "conditioning", "control", "positive")
    graph.connect("negative", "conditioning", "control", "negative")
    graph.connect("controlnet", "controlnet", "control", "controlnet")
    graph.connect("control_image", "image", "control", "image")
    graph.connect("control", "positive", "sampler", "positive")
    graph.connect("control", "negative", "sampler", "negative")
    outcome = executor.run(graph, capture=("decode", "checkpoint", "controlnet"))
    assert outcome.status is RunStatus.DONE, outcome.problems
    ours = outcome.values["decode"][0].numpy()
    (loaded,) = outcome.values["controlnet"]
    assert loaded.family.id == "sdxl"
    pipe = _sdxl_pipeline(
        StableDiffusionXLControlNetPipeline, outcome, controlnet=loaded.controlnet
    )
    theirs = _reference(
        pipe,
        cfg=6.0,
        image=Image.open(control_path).convert("RGB"),
        controlnet_conditioning_scale=0.7,
        control_guidance_start=0.0,
        control_guidance_end=0.75,
    )
    assert ours.shape == theirs.shape == (1, 64, 64, 3)
    assert np.abs(ours - theirs).max() <= TOLERANCE
    # and the ControlNet really steers
    without, _ = _ours(executor, _sdxl_graph(workflow, demo_sdxl))
    assert np.abs(ours - without).max() > 1e-3
