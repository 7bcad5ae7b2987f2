"""Image resize nodes: Scale Image (to a size), Scale Image By (a factor), Scale Image to
Megapixels and Crop Image, as ComfyUI's ``ImageScale``, ``ImageScaleBy``,
``ImageScaleToTotalPixels`` and ``ImageCrop``, value for value but for Lanczos (see
:mod:`.resampling`).

IMAGE values stay float32 B×H×W×3 in [0, 1]: bicubic and Lanczos, which overshoot near
hard edges, are clamped to it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nodes.api import Input, Node, Output, Param
from nodes.context import NodeContext
from nodes.library.masks import SIZE_MAX, size_text
from nodes.library.resampling import (
    CROPS,
    FACTOR_MAX,
    FACTOR_MIN,
    LANCZOS,
    TORCH_METHODS,
    both_zero,
    check_size,
    crop_box,
    keep_aspect,
    resample,
)
from nodes.ports import PortType

if TYPE_CHECKING:
    import torch

IMAGE_METHODS = (*TORCH_METHODS, LANCZOS)
"""How images are resampled, in ComfyUI's menu order."""
MEGAPIXELS_MAX = 16.0
"""The largest Scale Image to Megapixels target (ComfyUI's)."""

_METHOD = Param(
    "method",
    PortType.STRING,
    default="lanczos",
    choices=IMAGE_METHODS,
    tooltip="lanczos is the sharpest; nearest-exact keeps hard pixels; area suits shrinking",
)


def scale_image(
    image: torch.Tensor, width: int, height: int, method: str, crop: str = "disabled"
) -> torch.Tensor:
    """A B×H×W×3 image resampled to ``width``×``height`` (cut to the new aspect ratio
    first with ``crop="center"``), clamped to [0, 1]."""
    planes = image.movedim(-1, 1)
    box = crop_box(planes.shape[-1], planes.shape[-2], width, height, crop)
    out = resample(planes, width, height, method, box).movedim(1, -1)
    return out.clamp(0.0, 1.0).contiguous()


class ScaleImage(Node):
    """Resizes an image to a width and height in pixels (as ComfyUI's Upscale Image).
    Width or height 0 keeps the aspect ratio. crop center cuts the middle to the new
    aspect ratio first; disabled stretches the whole picture."""

    type_id = "image.scale"
    title = "Scale Image"
    category = "image"
    inputs = (Input("image", PortType.IMAGE),)
    params = (
        _METHOD,
        Param(
            "width",
            PortType.INT,
            default=512,
            min=0,
            max=SIZE_MAX,
            tooltip="Pixels; 0 follows the height's scale",
        ),
        Param(
            "height",
            PortType.INT,
            default=512,
            min=0,
            max=SIZE_MAX,
            tooltip="Pixels; 0 follows the width's scale",
        ),
        Param("crop", PortType.STRING, default="disabled", choices=CROPS),
    )
    outputs = (Output("image", PortType.IMAGE),)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        return both_zero(params)

    def run(
        self,
        ctx: NodeContext,
        *,
        image: torch.Tensor,
        method: str,
        width: int,
        height: int,
        crop: str,
    ) -> tuple[torch.Tensor]:
        old_h, old_w = image.shape[1], image.shape[2]
        new_w, new_h = keep_aspect(width, height, old_w, old_h)
        new_w, new_h = max(1, new_w), max(1, new_h)  # ComfyUI's rounding floor
        given = "height" if width == 0 else "width"
        check_size(new_w, new_h, given, f"{width}×{height} for a {size_text(image)} image")
        out = scale_image(image, new_w, new_h, method, crop)
        ctx.result(text=size_text(out))
        return (out,)


class ScaleImageBy(Node):
    """Resizes an image by a factor (as ComfyUI's Upscale Image By): 2 doubles each side,
    0.5 halves it."""

    type_id = "image.scale_by"
    title = "Scale Image By"
    category = "image"
    inputs = (Input("image", PortType.IMAGE),)
    params = (
        _METHOD,
        Param(
            "factor",
            PortType.FLOAT,
            default=2.0,
            min=FACTOR_MIN,
            max=FACTOR_MAX,
            step=0.05,
            tooltip="Each side is multiplied by it and rounded to whole pixels",
        ),
    )
    outputs = (Output("image", PortType.IMAGE),)

    def run(
        self, ctx: NodeContext, *, image: torch.Tensor, method: str, factor: float
    ) -> tuple[torch.Tensor]:
        new_w, new_h = round(image.shape[2] * factor), round(image.shape[1] * factor)
        check_size(new_w, new_h, "factor", f"factor {factor:g} on a {size_text(image)} image")
        out = scale_image(image, new_w, new_h, method)
        ctx.result(text=size_text(out))
        return (out,)


class ScaleImageToMegapixels(Node):
    """Resizes an image to about a number of megapixels (of 1024×1024 pixels), keeping its
    aspect ratio (as ComfyUI's Scale Image to Total Pixels): 1 turns 512×768 into 836×1254.
    multiple_of rounds each side to a multiple of it (8 or 64 for latents)."""

    type_id = "image.scale_to_megapixels"
    title = "Scale Image to Megapixels"
    category = "image"
    inputs = (Input("image", PortType.IMAGE),)
    params = (
        _METHOD,
        Param(
            "megapixels",
            PortType.FLOAT,
            default=1.0,
            min=FACTOR_MIN,
            max=MEGAPIXELS_MAX,
            step=0.05,
            tooltip="The picture's new area, in units of 1024×1024 pixels",
        ),
        Param(
            "multiple_of",
            PortType.INT,
            default=1,
            min=1,
            max=256,
            tooltip="Each side is rounded to a multiple of this (ComfyUI's resolution_steps)",
        ),
    )
    outputs = (Output("image", PortType.IMAGE),)

    def run(
        self,
        ctx: NodeContext,
        *,
        image: torch.Tensor,
        method: str,
        megapixels: float,
        multiple_of: int,
    ) -> tuple[torch.Tensor]:
        old_h, old_w = image.shape[1], image.shape[2]
        factor = math.sqrt(megapixels * 1024 * 1024 / (old_w * old_h))
        new_w = round(old_w * factor / multiple_of) * multiple_of
        new_h = round(old_h * factor / multiple_of) * multiple_of
        what = f"{megapixels:g} megapixels (multiples of {multiple_of}) for {size_text(image)}"
        check_size(new_w, new_h, "megapixels", what)
        out = scale_image(image, new_w, new_h, method)
        ctx.result(text=size_text(out))
        return (out,)


class CropImage(Node):
    """Cuts a width×height rectangle out of an image, its top-left corner at x, y (as
    ComfyUI's Image Crop). A rectangle reaching past the picture's right or bottom edge is
    cut there; a corner past the edge moves to the last pixel."""

    type_id = "image.crop"
    title = "Crop Image"
    category = "image"
    inputs = (Input("image", PortType.IMAGE),)
    params = (
        Param("width", PortType.INT, default=512, min=1, max=SIZE_MAX),
        Param("height", PortType.INT, default=512, min=1, max=SIZE_MAX),
        Param("x", PortType.INT, default=0, min=0, max=SIZE_MAX),
        Param("y", PortType.INT, default=0, min=0, max=SIZE_MAX),
    )
    outputs = (Output("image", PortType.IMAGE),)

    def run(
        self, ctx: NodeContext, *, image: torch.Tensor, width: int, height: int, x: int, y: int
    ) -> tuple[torch.Tensor]:
        x = min(x, image.shape[2] - 1)
        y = min(y, image.shape[1] - 1)
        out = image[:, y : y + height, x : x + width, :].clone()
        ctx.result(text=size_text(out))
        return (out,)
