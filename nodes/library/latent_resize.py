"""Latent resize nodes: Upscale Latent (to a size in pixels) and Upscale Latent By (a
factor), as ComfyUI's ``LatentUpscale`` and ``LatentUpscaleBy`` — the first half of a
hires fix, before a second sampler at a denoise around 0.5.

Everything a LATENT carries is resized alike: its samples, the VAE posterior of an encoded
image (so the sampler's seeded draw still applies) and its noise mask, at image
resolution, with the same method and crop (clamped to [0, 1]), so the masked region follows
the picture. An empty latent stays empty, at the new size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nodes.api import Input, Node, Output, Param
from nodes.context import NodeContext
from nodes.library.masks import SIZE_MAX
from nodes.library.resampling import (
    CROPS,
    FACTOR_MAX,
    FACTOR_MIN,
    TORCH_METHODS,
    Box,
    both_zero,
    check_size,
    crop_box,
    keep_aspect,
    resample,
)
from nodes.ports import PortType

if TYPE_CHECKING:
    import torch

    from nodes.diffusion.values import Latent

LATENT_METHODS = TORCH_METHODS
"""How latents are resampled (ComfyUI's list less bislerp: see :mod:`.resampling`)."""
LEAST = 64
"""ComfyUI's smallest Upscale Latent size in pixels: smaller sizes count as this."""

_METHOD = Param(
    "method",
    PortType.STRING,
    default="nearest-exact",
    choices=LATENT_METHODS,
    tooltip="nearest-exact keeps the latent's values; bilinear, bicubic and area blend them",
)


def resize_latent(latent: Latent, width: int, height: int, method: str, crop: str) -> Latent:
    """``latent`` resized to ``width``×``height`` cells (its noise mask to the matching
    image size), cropped first to the new aspect ratio with ``crop="center"``."""
    h, w = latent.samples.shape[-2:]
    box = crop_box(w, h, width, height, crop)

    def cells(tensor: torch.Tensor) -> torch.Tensor:
        return resample(tensor, width, height, method, box).contiguous()

    mean = cells(latent.mean) if latent.mean is not None else None
    std = cells(latent.std).clamp(min=0) if latent.std is not None else None
    mask = latent.noise_mask
    if mask is not None:
        scale = latent.downscale
        pixels: Box = (box[0] * scale, box[1] * scale, box[2] * scale, box[3] * scale)
        planes = mask.to(latent.samples.dtype)[:, None]
        mask = resample(planes, width * scale, height * scale, method, pixels)[:, 0]
        mask = mask.clamp(0.0, 1.0).contiguous()
    return dataclasses.replace(
        latent, samples=cells(latent.samples), mean=mean, std=std, noise_mask=mask
    )


def _size_text(latent: Latent) -> str:
    h, w = latent.samples.shape[-2:]
    return f"{w * latent.downscale}×{h * latent.downscale}"


class UpscaleLatent(Node):
    """Resizes a latent to a width and height in pixels (as ComfyUI's Upscale Latent): put
    it between a first sampler and a second one at denoise about 0.5 for a hires fix.
    Width or height 0 keeps the aspect ratio; sizes below 64 count as 64. crop center cuts
    the middle to the new aspect ratio first; disabled stretches. A noise mask is resized
    with the latent."""

    type_id = "latent.upscale"
    title = "Upscale Latent"
    category = "latent"
    inputs = (Input("latent", PortType.LATENT),)
    params = (
        _METHOD,
        Param(
            "width",
            PortType.INT,
            default=768,
            min=0,
            max=SIZE_MAX,
            step=8,
            tooltip="Pixels, a multiple of 8; 0 follows the height's scale",
        ),
        Param(
            "height",
            PortType.INT,
            default=768,
            min=0,
            max=SIZE_MAX,
            step=8,
            tooltip="Pixels, a multiple of 8; 0 follows the width's scale",
        ),
        Param("crop", PortType.STRING, default="disabled", choices=CROPS),
    )
    outputs = (Output("latent", PortType.LATENT),)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        odd = [
            (name, f"{params[name]} is not a multiple of 8")
            for name in ("width", "height")
            if name in params and params[name] % 8
        ]
        return odd or both_zero(params)

    def run(
        self, ctx: NodeContext, *, latent: Latent, method: str, width: int, height: int, crop: str
    ) -> tuple[Latent]:
        h, w = latent.samples.shape[-2:]
        scale = latent.downscale
        given = "height" if width == 0 else "width"
        new_w, new_h = keep_aspect(width, height, w, h)
        new_w, new_h = max(LEAST, new_w), max(LEAST, new_h)
        cells_w, cells_h = new_w // scale, new_h // scale
        what = f"{width}×{height} for a {_size_text(latent)} latent"
        check_size(cells_w * scale, cells_h * scale, given, what, unit=scale)
        out = resize_latent(latent, cells_w, cells_h, method, crop)
        ctx.result(text=_size_text(out))
        return (out,)


class UpscaleLatentBy(Node):
    """Resizes a latent by a factor (as ComfyUI's Upscale Latent By): 1.5 turns a 512×512
    latent into 768×768. Put it between a first sampler and a second one at denoise about
    0.5 for a hires fix. A noise mask is resized with the latent."""

    type_id = "latent.upscale_by"
    title = "Upscale Latent By"
    category = "latent"
    inputs = (Input("latent", PortType.LATENT),)
    params = (
        _METHOD,
        Param(
            "factor",
            PortType.FLOAT,
            default=1.5,
            min=FACTOR_MIN,
            max=FACTOR_MAX,
            step=0.05,
            tooltip="Each side is multiplied by it, rounded to whole latent cells (8 pixels)",
        ),
    )
    outputs = (Output("latent", PortType.LATENT),)

    def run(self, ctx: NodeContext, *, latent: Latent, method: str, factor: float) -> tuple[Latent]:
        h, w = latent.samples.shape[-2:]
        scale = latent.downscale
        cells_w, cells_h = round(w * factor), round(h * factor)
        what = f"factor {factor:g} on a {_size_text(latent)} latent"
        check_size(cells_w * scale, cells_h * scale, "factor", what, unit=scale)
        out = resize_latent(latent, cells_w, cells_h, method, "disabled")
        ctx.result(text=_size_text(out))
        return (out,)
