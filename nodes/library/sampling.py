"""Sampling nodes: the scheduler recipe, the empty latent and the sampler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from nodes.api import Input, Node, Output, Param, Upgrader
from nodes.context import NodeContext
from nodes.diffusion.schedulers import (
    ALL_SIGMAS,
    CONVENTIONS,
    DIFFUSERS,
    SCHEDULER_NAMES,
    SPACINGS,
    recipe_problem,
)
from nodes.library.errors import model_errors
from nodes.library.primitives import SEED_MAX
from nodes.ports import PortType

if TYPE_CHECKING:
    from nodes.diffusion.schedulers import SchedulerRecipe
    from nodes.diffusion.values import Conditioning, Latent, UNetModel


class Scheduler(Node):
    """Chooses the sampling algorithm (named like ComfyUI's samplers) and its sigma
    schedule. Built fresh for every run from the model's own scheduler settings.
    convention: diffusers gives diffusers' pictures; comfyui gives ComfyUI's (its sigma
    schedules normal, simple, sgm_uniform, ddim_uniform, beta... and its noise, timestep
    and denoise rules), for euler, euler_ancestral, heun, lms and dpmpp_2m.
    timestep_spacing (diffusers convention): where the steps sit; trailing for one-step and
    few-step models (SDXL-Turbo, Lightning, Hyper), default keeps the model's own."""

    type_id = "sampling.scheduler"
    title = "Scheduler"
    category = "sampling"
    version = "1.2.0"
    upgraders: ClassVar[Mapping[str, Upgrader]] = {
        # 1.2.0 added timestep_spacing; "default" is what every earlier run used.
        "1.1.0": Upgrader("1.2.0", lambda params: {"timestep_spacing": "default", **params}),
    }
    params = (
        Param("name", PortType.STRING, default="euler", choices=SCHEDULER_NAMES),
        Param("sigmas", PortType.STRING, default="default", choices=ALL_SIGMAS),
        Param(
            "convention",
            PortType.STRING,
            default=DIFFUSERS,
            choices=CONVENTIONS,
            tooltip="diffusers: diffusers' pipelines' pictures; comfyui: ComfyUI's KSampler's",
        ),
        Param(
            "timestep_spacing",
            PortType.STRING,
            default="default",
            choices=SPACINGS,
            tooltip="default: the model's scheduler config; trailing for one-step and "
            "few-step models (SDXL-Turbo, Lightning, Hyper); diffusers convention only",
        ),
    )
    outputs = (Output("scheduler", PortType.SCHEDULER),)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        if "name" not in params or "sigmas" not in params:
            return []  # linked: judged when the run builds the scheduler
        convention = params.get("convention", DIFFUSERS)
        spacing = params.get("timestep_spacing", "default")
        problem = recipe_problem(
            params["name"], params["sigmas"], convention, timestep_spacing=spacing
        )
        return [problem] if problem is not None else []

    def run(
        self,
        ctx: NodeContext,
        *,
        name: str,
        sigmas: str,
        convention: str,
        timestep_spacing: str = "default",
    ) -> tuple[SchedulerRecipe]:
        from nodes.diffusion.schedulers import SchedulerRecipe

        recipe = SchedulerRecipe(
            name, sigmas, convention=convention, timestep_spacing=timestep_spacing
        )
        return (recipe,)


class EmptyLatent(Node):
    """A blank latent image of the given size: the start of text-to-image. Width and
    height are in pixels and must be multiples of 8. It takes its channels from the model
    the sampler uses, so one Empty Latent fits every model family. batch_index makes one
    image of the batch alone: the same picture as in the whole batch (each saved image
    records its index)."""

    type_id = "latent.empty"
    title = "Empty Latent"
    category = "latent"
    version = "1.1.0"
    upgraders: ClassVar[Mapping[str, Upgrader]] = {
        # 1.1.0 added batch_index; -1 (the whole batch) is what every earlier run made.
        "1.0.0": Upgrader("1.1.0", lambda params: {"batch_index": -1, **params}),
    }
    params = (
        Param("width", PortType.INT, default=512, min=8, max=16384, step=8),
        Param("height", PortType.INT, default=512, min=8, max=16384, step=8),
        Param("batch_size", PortType.INT, default=1, min=1, max=64),
        Param(
            "batch_index",
            PortType.INT,
            default=-1,
            min=-1,
            max=63,
            tooltip="-1: the whole batch. 0, 1, ...: only that image of the batch, the same "
            "picture it is in the whole batch (its saved PNG records the index)",
        ),
    )
    outputs = (Output("latent", PortType.LATENT),)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = [
            (name, f"{params[name]} is not a multiple of 8")
            for name in ("width", "height")
            if name in params and params[name] % 8  # a linked size is not in params
        ]
        index, size = params.get("batch_index", -1), params.get("batch_size")
        if size is not None and index >= size:
            problems.append(
                ("batch_index", f"image {index} is not in a batch of {size} (0 to {size - 1})")
            )
        return problems

    def run(
        self, ctx: NodeContext, *, width: int, height: int, batch_size: int, batch_index: int = -1
    ) -> tuple[Latent]:
        import torch

        from nodes.diffusion.values import Latent
        from nodes.models.families import SD1

        # SD's format until a sampler gives it its model's channels (an empty latent is a size)
        count = 1 if batch_index >= 0 else batch_size
        samples = torch.zeros(count, SD1.latent.channels, height // 8, width // 8)
        batch = (batch_index, batch_size) if batch_index >= 0 else None
        return (Latent(samples, empty=True, batch=batch),)


class Sampler(Node):
    """Denoises a latent with a UNet, guided by positive and negative conditioning.
    cfg is the guidance scale (1 or less skips the negative pass). denoise below 1
    keeps part of the input latent (image to image). The same seed always gives the
    same image, on any device. Two samplers share a run: the first stops at end_step
    with leftover_noise, the second (an SDXL refiner's) continues from start_step with
    add_noise off, as diffusers' denoising_end and denoising_start."""

    type_id = "sampling.sampler"
    title = "Sampler"
    category = "sampling"
    version = "1.1.0"
    inputs = (
        Input("unet", PortType.UNET),
        Input("scheduler", PortType.SCHEDULER),
        Input("positive", PortType.CONDITIONING),
        Input("negative", PortType.CONDITIONING, optional=True),
        Input("latent", PortType.LATENT),
    )
    params = (
        Param("seed", PortType.INT, default=0, min=0, max=SEED_MAX, seed=True),
        Param("steps", PortType.INT, default=20, min=1, max=1000),
        Param("cfg", PortType.FLOAT, default=7.0, min=0.0, max=100.0, step=0.1),
        Param("denoise", PortType.FLOAT, default=1.0, min=0.0, max=1.0, step=0.01),
        Param(
            "start_step",
            PortType.INT,
            default=0,
            min=0,
            max=10000,
            tooltip="Skip the steps before this one (ComfyUI's start_at_step; with the "
            "diffusers convention, diffusers' denoising_start, add_noise off)",
        ),
        Param(
            "end_step",
            PortType.INT,
            default=10000,
            min=0,
            max=10000,
            tooltip="Stop after this step; at or above steps runs to the end (ComfyUI's "
            "end_at_step; with the diffusers convention, denoising_end, leftover_noise on)",
        ),
        Param(
            "add_noise",
            PortType.BOOL,
            default=True,
            tooltip="Add the seed's noise to the latent first (off to continue a "
            "latent left noisy by another sampler, from start_step)",
        ),
        Param(
            "leftover_noise",
            PortType.BOOL,
            default=False,
            tooltip="When stopping early, return the latent still noisy, for a second "
            "sampler (a refiner) to continue",
        ),
    )
    outputs = (Output("latent", PortType.LATENT),)

    def run(
        self,
        ctx: NodeContext,
        *,
        unet: UNetModel,
        scheduler: SchedulerRecipe,
        positive: Conditioning,
        negative: Conditioning | None,
        latent: Latent,
        seed: int,
        steps: int,
        cfg: float,
        denoise: float,
        start_step: int = 0,
        end_step: int = 10000,
        add_noise: bool = True,
        leftover_noise: bool = False,
    ) -> tuple[Latent]:
        import torch

        from nodes.diffusion.sampling import SamplerSettings, sample
        from nodes.diffusion.values import Latent

        settings = SamplerSettings(
            seed=seed,
            steps=steps,
            cfg=cfg,
            denoise=denoise,
            start_step=start_step,
            end_step=end_step,
            add_noise=add_noise,
            leftover_noise=leftover_noise,
        )
        with model_errors(), torch.inference_mode():
            samples = sample(
                unet,
                scheduler,
                positive,
                negative,
                latent,
                settings,
                progress=ctx.progress,
                check_cancelled=ctx.check_cancelled,
                acceleration=ctx.env.acceleration,
            )
        return (Latent(samples, batch=latent.batch),)
