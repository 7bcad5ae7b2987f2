"""Sampling nodes: the scheduler recipe, the empty latent and the sampler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes.api import Input, Node, Output, Param
from nodes.context import NodeContext
from nodes.diffusion.schedulers import SCHEDULER_NAMES, SIGMA_CHOICES, supports_sigmas
from nodes.library.errors import model_errors
from nodes.library.primitives import SEED_MAX
from nodes.ports import PortType


class Scheduler(Node):
    """Chooses the sampling algorithm (named like ComfyUI's samplers) and its sigma
    schedule. Built fresh for every run from the model's own scheduler settings."""

    type_id = "sampling.scheduler"
    title = "Scheduler"
    category = "sampling"
    params = (
        Param("name", PortType.STRING, default="euler", choices=SCHEDULER_NAMES),
        Param("sigmas", PortType.STRING, default="default", choices=SIGMA_CHOICES),
    )
    outputs = (Output("scheduler", PortType.SCHEDULER),)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        if not supports_sigmas(params["name"], params["sigmas"]):
            return [("sigmas", f"{params['name']} has no {params['sigmas']} sigmas; use default")]
        return []

    def run(self, ctx: NodeContext, *, name: str, sigmas: str) -> tuple[Any]:
        from nodes.diffusion.schedulers import SchedulerRecipe

        return (SchedulerRecipe(name, sigmas),)


class EmptyLatent(Node):
    """A blank latent image of the given size: the start of text-to-image. Width and
    height are in pixels and must be multiples of 8."""

    type_id = "latent.empty"
    title = "Empty Latent"
    category = "latent"
    params = (
        Param("width", PortType.INT, default=512, min=8, max=16384, step=8),
        Param("height", PortType.INT, default=512, min=8, max=16384, step=8),
        Param("batch_size", PortType.INT, default=1, min=1, max=64),
    )
    outputs = (Output("latent", PortType.LATENT),)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [
            (name, f"{params[name]} is not a multiple of 8")
            for name in ("width", "height")
            if params[name] % 8
        ]

    def run(self, ctx: NodeContext, *, width: int, height: int, batch_size: int) -> tuple[Any]:
        import torch

        from nodes.diffusion.values import Latent

        samples = torch.zeros(batch_size, 4, height // 8, width // 8)
        return (Latent(samples, empty=True),)


class Sampler(Node):
    """Denoises a latent with a UNet, guided by positive and negative conditioning.
    cfg is the guidance scale (1 or less skips the negative pass). denoise below 1
    keeps part of the input latent (image to image). The same seed always gives the
    same image, on any device."""

    type_id = "sampling.sampler"
    title = "Sampler"
    category = "sampling"
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
    )
    outputs = (Output("latent", PortType.LATENT),)

    def run(
        self,
        ctx: NodeContext,
        *,
        unet: Any,
        scheduler: Any,
        positive: Any,
        negative: Any,
        latent: Any,
        seed: int,
        steps: int,
        cfg: float,
        denoise: float,
    ) -> tuple[Any]:
        import torch

        from nodes.diffusion.sampling import SamplerSettings, sample
        from nodes.diffusion.values import Latent

        settings = SamplerSettings(seed=seed, steps=steps, cfg=cfg, denoise=denoise)
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
            )
        return (Latent(samples),)


NODES: tuple[type[Node], ...] = (Scheduler, EmptyLatent, Sampler)
