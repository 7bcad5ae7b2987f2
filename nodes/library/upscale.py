"""Upscale-model nodes: load an ESRGAN-family super-resolution model, apply it to an image.

The models are read by :mod:`nodes.models.upscale` (through spandrel, without unpickling
code) and run tile by tile by :mod:`nodes.models.upscale_tiles`, so the memory a 4× upscale
takes is the output image plus one tile's work, whatever the image size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nodes.api import Input, Node, NodeError, Output, Param
from nodes.context import NodeContext
from nodes.library.errors import model_errors
from nodes.ports import PortType

if TYPE_CHECKING:
    import torch

    from nodes.models.upscale import UpscaleModel

TILE_MIN = 64
"""The smallest tile the out-of-memory retry halves down to."""


class UpscaleModelLoader(Node):
    """Loads a super-resolution model for Upscale Image (Model): ESRGAN, Real-ESRGAN,
    SwinIR, HAT, DAT and the other architectures spandrel reads, from a .safetensors or
    .pth file (read as tensors only, never as code). Files go in the models folder's
    upscale_models folder (ComfyUI's name; A1111's ESRGAN, RealESRGAN, SwinIR... too)."""

    type_id = "loaders.upscale_model"
    title = "Load Upscale Model"
    category = "loaders"
    params = (
        Param(
            "path",
            PortType.STRING,
            default="",
            file_kind="upscale_models",
            tooltip="A .safetensors or .pth file, e.g. RealESRGAN_x4plus.pth",
        ),
    )
    outputs = (Output("upscale_model", PortType.UPSCALE_MODEL),)

    def run(self, ctx: NodeContext, *, path: str) -> tuple[UpscaleModel]:
        from nodes.diffusion.device import key_size, model_cache, model_key, placement
        from nodes.models.upscale import load_upscale_model

        file = ctx.resolve_file("upscale_models", path, "path")
        with model_errors("path"):
            device, dtype = placement(ctx.env)
            key = model_key("upscale", file, device, dtype)
            model = model_cache(ctx.env).get(
                key,
                lambda: load_upscale_model(file, device=device, dtype=dtype),
                device=device,
                size=key_size(key, dtype),
            )
        if (model.input_channels, model.output_channels) != (3, 3):
            raise NodeError(
                f"{file.name} is a {model.describe()} model for {model.input_channels}-channel "
                f"images in and {model.output_channels} out; Daguerre's images are RGB",
                "path",
            )
        ctx.result(text=model.describe())
        return (model,)


class UpscaleWithModel(Node):
    """Upscales an image with a model from Load Upscale Model (4× for most ESRGAN models).
    The image is processed in overlapping tiles blended together, so large images fit in
    memory; progress is shown per tile and Cancel stops between tiles. A larger overlap
    hides seams better and costs more time."""

    type_id = "image.upscale_with_model"
    title = "Upscale Image (Model)"
    category = "image"
    inputs = (
        Input("upscale_model", PortType.UPSCALE_MODEL),
        Input("image", PortType.IMAGE),
    )
    params = (
        Param(
            "tile",
            PortType.INT,
            default=512,
            min=TILE_MIN,
            max=4096,
            step=32,
            tooltip="Tile side in input pixels; smaller tiles take less memory",
        ),
        Param(
            "overlap",
            PortType.INT,
            default=32,
            min=0,
            max=1024,
            step=8,
            tooltip="Input pixels neighbouring tiles share, blended across the seam",
        ),
    )
    outputs = (Output("image", PortType.IMAGE),)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        if "tile" in params and "overlap" in params and params["overlap"] * 2 > params["tile"]:
            return [
                (
                    "overlap",
                    f"an overlap of {params['overlap']} is more than half the tile "
                    f"({params['tile']})",
                )
            ]
        return []

    def run(
        self,
        ctx: NodeContext,
        *,
        upscale_model: UpscaleModel,
        image: torch.Tensor,
        tile: int,
        overlap: int,
    ) -> tuple[torch.Tensor]:
        import torch

        from nodes.diffusion.device import release_memory
        from nodes.models.upscale_tiles import upscale_image

        if image.ndim != 4 or image.shape[-1] != 3:
            raise NodeError(f"expected an RGB image, got a tensor of shape {tuple(image.shape)}")
        with model_errors("upscale_model"):
            while True:
                try:
                    out = upscale_image(
                        upscale_model,
                        image,
                        tile=tile,
                        overlap=overlap,
                        progress=ctx.progress,
                        check_cancelled=ctx.check_cancelled,
                    )
                    break
                except torch.OutOfMemoryError:
                    if tile // 2 < TILE_MIN:
                        raise
                    release_memory()
                    tile //= 2
                    overlap = min(overlap, tile // 2)
                    ctx.logger.warning("out of memory upscaling: retrying with %d px tiles", tile)
        ctx.result(text=f"{out.shape[2]}×{out.shape[1]} ({upscale_model.describe()})")
        return (out,)
