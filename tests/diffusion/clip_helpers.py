"""Helpers of the CLIP skip and embedding tests: deeper demo models, the parity graph and
pipelines, embedding files in each format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from nodes.events import RunStatus
from nodes.executor import Executor, RunOutcome
from nodes.graph import Graph
from nodes.models import demo
from nodes.models.demo import DemoPaths

PROMPT = "a lighthouse on a cliff at sunset, oil painting, warm light"
NEGATIVE = "blurry, low quality"
TOLERANCE = 1e-5
NO_SAFETY: Any = None
"""diffusers' documented way to build a pipeline without its safety checker."""
DEEP_LAYERS = 4
"""Text-encoder layers of the deeper demo models: the session's have 2, too few to skip
any layer from SDXL's penultimate one."""


def make_deep(root: Path, family: str) -> DemoPaths:
    """A demo model of ``family`` whose text encoders have :data:`DEEP_LAYERS` layers."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(demo, "TEXT_LAYERS", DEEP_LAYERS)
        return demo.make_demo_model(root / family, family)


def run(executor: Executor, graph: Graph, *capture: str) -> tuple[np.ndarray, RunOutcome]:
    outcome = executor.run(graph, capture=("decode", "checkpoint", *capture))
    assert outcome.status is RunStatus.DONE, outcome.problems or outcome
    (image,) = outcome.values["decode"]
    return image.numpy(), outcome


def set_last_layer(graph: Graph, stop_at: int, *targets: str) -> None:
    """Route the checkpoint's CLIP through a CLIP Set Last Layer into ``targets``."""
    graph.add_node(
        "conditioning.clip_set_last_layer", id="skip", params={"stop_at_clip_layer": stop_at}
    )
    graph.connect("checkpoint", "clip", "skip", "clip")
    for target in targets:
        graph.connect("skip", "clip", target, "clip")


@pytest.fixture
def diffusers_clip_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let diffusers' ``clip_skip`` run on transformers 5: its SD pipeline layer-norms the
    chosen layer with ``text_encoder.text_model.final_layer_norm``, and transformers 5's
    ``CLIPTextModel`` holds its layers (and that norm) itself, without ``text_model``."""
    from transformers import CLIPTextModel

    monkeypatch.setattr(CLIPTextModel, "text_model", property(lambda self: self), raising=False)


def sd_pipeline(outcome: RunOutcome, **parts: Any) -> Any:
    """diffusers' SD pipeline on the run's own components (Euler, the recipe's default)."""
    from diffusers import StableDiffusionPipeline

    from nodes.diffusion.schedulers import SchedulerRecipe

    unet, clip, vae = outcome.values["checkpoint"]
    components: dict[str, Any] = {
        "vae": vae.module,
        "text_encoder": clip.encoders[0],
        "tokenizer": clip.tokenizers[0],
        "unet": unet.module,
        "scheduler": SchedulerRecipe("euler").build(unet.scheduler_config, 1234),
        "safety_checker": NO_SAFETY,
        "feature_extractor": NO_SAFETY,
        "requires_safety_checker": False,
    }
    components.update(parts)
    pipe = StableDiffusionPipeline(**components)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def sdxl_pipeline(outcome: RunOutcome, **parts: Any) -> Any:
    """diffusers' SDXL pipeline on the run's own components (DPM++ 2M Karras)."""
    from diffusers import StableDiffusionXLPipeline

    from nodes.diffusion.schedulers import SchedulerRecipe

    unet, clip, vae = outcome.values["checkpoint"]
    components: dict[str, Any] = {
        "vae": vae.module,
        "text_encoder": clip.encoders[0],
        "text_encoder_2": clip.encoders[1],
        "tokenizer": clip.tokenizers[0],
        "tokenizer_2": clip.tokenizers[1],
        "unet": unet.module,
        "scheduler": SchedulerRecipe("dpmpp_2m", "karras").build(unet.scheduler_config),
        "add_watermarker": False,
    }
    components.update(parts)
    pipe = StableDiffusionXLPipeline(**components)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def reference(pipe: Any, prompt: str = PROMPT, *, cfg: float = 7.0, **extra: Any) -> np.ndarray:
    """diffusers' image at 64², 4 steps, seed 1234, as floats."""
    return pipe(
        prompt,
        negative_prompt=NEGATIVE,
        height=64,
        width=64,
        num_inference_steps=4,
        guidance_scale=cfg,
        generator=torch.Generator("cpu").manual_seed(1234),
        output_type="np",
        **extra,
    ).images


def sdxl_overrides(path: Path, **extra: object) -> dict[str, object]:
    """The SDXL template at 64², the tests' prompts, cfg 6."""
    from tests.diffusion.conftest import tiny

    sizes = {
        f"{node}.{name}": 64
        for node in ("positive", "negative")
        for name in ("width", "height", "target_width", "target_height")
    }
    texts = {"positive.text": PROMPT, "negative.text": NEGATIVE, "sampler.cfg": 6.0}
    return tiny(path, **{**sizes, **texts, **extra})
