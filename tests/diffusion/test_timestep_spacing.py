"""The Scheduler node's ``timestep_spacing``: one-step and few-step models (SDXL-Turbo,
Lightning, Hyper) in diffusers' convention, with ``default`` keeping the model's config."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from nodes.diffusion.schedulers import SchedulerError, SchedulerRecipe
from nodes.library.sampling import Scheduler
from nodes.models.families import SDXL
from nodes.workflow import from_dict, to_dict
from tests.diffusion.test_parity import PROMPT, TOLERANCE, _ours, _sdxl_graph


def _first_timestep(recipe: SchedulerRecipe, steps: int = 1) -> float:
    scheduler = recipe.build(SDXL.base_config("scheduler"))
    scheduler.set_timesteps(steps)
    return float(scheduler.timesteps[0])


def test_one_step_with_sdxl_config_starts_at_the_end_of_training_only_when_trailing() -> None:
    # SDXL's shipped config is "leading" with steps_offset 1: a 1-step run denoises at t=1,
    # almost no noise, which is why a Turbo checkpoint returned its noise.
    assert _first_timestep(SchedulerRecipe("euler_ancestral")) == 1.0
    assert _first_timestep(SchedulerRecipe("euler_ancestral", timestep_spacing="leading")) == 1.0
    assert _first_timestep(SchedulerRecipe("euler_ancestral", timestep_spacing="trailing")) == 999
    assert _first_timestep(SchedulerRecipe("euler", timestep_spacing="linspace"), 4) == 999
    trailing = SchedulerRecipe("euler", timestep_spacing="trailing")
    four = trailing.build(SDXL.base_config("scheduler"))
    four.set_timesteps(4)
    assert four.timesteps.tolist() == [999.0, 749.0, 499.0, 249.0]


def test_default_changes_nothing() -> None:
    assert "timestep_spacing" not in SchedulerRecipe("euler").overrides()
    assert SchedulerRecipe("euler", timestep_spacing="trailing").overrides() == {
        "timestep_spacing": "trailing"
    }


def test_comfyui_convention_and_unknown_spacings_are_refused_on_the_field() -> None:
    comfy = {"name": "euler", "sigmas": "default", "convention": "comfyui"}
    problems = Scheduler.check_params({**comfy, "timestep_spacing": "trailing"})
    assert [field for field, _ in problems] == ["timestep_spacing"]
    assert "comfyui convention" in problems[0][1]
    assert Scheduler.check_params({**comfy, "timestep_spacing": "default"}) == []
    with pytest.raises(SchedulerError, match="unknown timestep spacing") as info:
        SchedulerRecipe("euler", timestep_spacing="sideways").overrides()
    assert info.value.field == "timestep_spacing"


def test_files_saved_before_the_param_upgrade_to_default(workflow, demo_sdxl, registry) -> None:
    graph = _sdxl_graph(workflow, demo_sdxl)
    raw = to_dict(graph)
    raw["nodes"]["scheduler"]["type_version"] = "1.1.0"
    del raw["nodes"]["scheduler"]["params"]["timestep_spacing"]
    loaded = from_dict(raw, registry)
    assert loaded.nodes["scheduler"].type_version == Scheduler.version == "1.2.0"
    assert loaded.nodes["scheduler"].params["timestep_spacing"] == "default"


def test_turbo_style_one_step_trailing_matches_the_sdxl_pipeline(
    demo_sdxl, executor, workflow
) -> None:
    """SDXL-Turbo's recipe: Euler ancestral, 1 step, trailing, no guidance."""
    from diffusers import EulerAncestralDiscreteScheduler, StableDiffusionXLPipeline

    graph = _sdxl_graph(workflow, demo_sdxl)
    for name, value in (
        ("scheduler.name", "euler_ancestral"),
        ("scheduler.sigmas", "default"),
        ("scheduler.timestep_spacing", "trailing"),
        ("sampler.steps", 1),
        ("sampler.cfg", 0.0),
    ):
        node, param = name.split(".")
        graph.set_param(node, param, value)
    ours, outcome = _ours(executor, graph)
    unet, clip, vae = outcome.values["checkpoint"]
    scheduler: Any = EulerAncestralDiscreteScheduler.from_config(
        unet.scheduler_config, timestep_spacing="trailing"
    )
    pipe = StableDiffusionXLPipeline(
        vae=vae.module,
        text_encoder=clip.encoders[0],
        text_encoder_2=clip.encoders[1],
        tokenizer=clip.tokenizers[0],
        tokenizer_2=clip.tokenizers[1],
        unet=unet.module,
        scheduler=scheduler,
        add_watermarker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    out: Any = pipe(
        PROMPT,
        height=64,
        width=64,
        num_inference_steps=1,
        guidance_scale=0.0,
        generator=torch.Generator("cpu").manual_seed(1234),
        output_type="np",
    )
    theirs = out.images
    assert isinstance(theirs, np.ndarray)
    assert ours.shape == theirs.shape == (1, 64, 64, 3)
    assert np.abs(ours - theirs).max() <= TOLERANCE
    # And the spacing matters: the same run with the model's "leading" is another image.
    graph.set_param("scheduler", "timestep_spacing", "default")
    leading, _ = _ours(executor, graph)
    assert np.abs(leading - theirs).max() > 0.01
