"""Inpainting nodes: a noise mask for any model, and the inputs of inpainting checkpoints.

Masks are B×H×W in [0, 1] at the image's resolution, 1 = repaint (Load Image gives
1 − alpha, so painting a hole in the alpha marks what to repaint). See
:mod:`nodes.diffusion.inpainting` for how the sampler uses them.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from nodes.api import Input, Node, NodeError, Output, Param
from nodes.context import NodeContext
from nodes.library.errors import model_errors
from nodes.library.vae import encode_image
from nodes.ports import PortType

if TYPE_CHECKING:
    import torch

    from nodes.diffusion.values import Conditioning, Latent, VaeModel


def _check_mask(mask: torch.Tensor, height: int, width: int, field: str = "mask") -> None:
    if mask.ndim != 3:
        raise NodeError(f"expected a mask batch (B×H×W), got shape {tuple(mask.shape)}", field)
    if tuple(mask.shape[-2:]) != (height, width):
        raise NodeError(
            f"the mask is {mask.shape[-1]}×{mask.shape[-2]} but the image is {width}×{height}: "
            "use a mask of the image's size",
            field,
        )


def _advise_if_empty(ctx: NodeContext, mask: torch.Tensor) -> None:
    if not bool((mask > 0).any()):
        ctx.result(text="the mask is empty: nothing will be repainted")
        ctx.logger.warning("node %s: the mask is empty, nothing will be repainted", ctx.node_id)


class SetLatentNoiseMask(Node):
    """Limits a sampler to the masked part of a latent: inside the mask (white, or
    transparent in a Load Image) it repaints, outside it keeps this latent. Works with
    any checkpoint: connect a VAE Encode of the image and its mask, then set the sampler's
    denoise (1 repaints the masked area from scratch)."""

    type_id = "latent.set_noise_mask"
    title = "Set Latent Noise Mask"
    category = "latent"
    inputs = (Input("latent", PortType.LATENT), Input("mask", PortType.MASK))
    outputs = (Output("latent", PortType.LATENT),)

    def run(self, ctx: NodeContext, *, latent: Latent, mask: torch.Tensor) -> tuple[Latent]:
        h, w = latent.samples.shape[-2:]
        _check_mask(mask, h * latent.downscale, w * latent.downscale)
        _advise_if_empty(ctx, mask)
        return (dataclasses.replace(latent, noise_mask=mask.float()),)


class VaeEncodeForInpaint(Node):
    """Encodes an image for inpainting, as ComfyUI's VAE Encode (for Inpainting): the
    mask is grown by grow_mask_by pixels, the masked pixels are greyed out, and the
    latent carries the grown mask as its noise mask. Use a sampler with denoise 1."""

    type_id = "latent.encode_for_inpaint"
    title = "VAE Encode (for Inpainting)"
    category = "latent"
    inputs = (
        Input("vae", PortType.VAE),
        Input("image", PortType.IMAGE),
        Input("mask", PortType.MASK),
    )
    params = (Param("grow_mask_by", PortType.INT, default=6, min=0, max=64),)
    outputs = (Output("latent", PortType.LATENT),)

    def run(
        self,
        ctx: NodeContext,
        *,
        vae: VaeModel,
        image: torch.Tensor,
        mask: torch.Tensor,
        grow_mask_by: int,
    ) -> tuple[Latent]:
        import math

        import torch

        _, height, width, _ = image.shape
        _check_mask(mask, height, width)
        _advise_if_empty(ctx, mask)
        rounded = mask.float().round()
        if grow_mask_by:
            kernel = torch.ones((1, 1, grow_mask_by, grow_mask_by))
            padding = math.ceil((grow_mask_by - 1) / 2)
            grown = torch.nn.functional.conv2d(rounded.unsqueeze(1), kernel, padding=padding)
            grown = grown.clamp(0, 1)[:, 0, :height, :width]
        else:
            grown = rounded
        latent = encode_image(vae, image, "image", keep=1.0 - rounded)
        return (dataclasses.replace(latent, noise_mask=grown.round()),)


class InpaintModelConditioning(Node):
    """Prepares an inpainting checkpoint (a 9-channel UNet): adds the mask and the image
    with the masked pixels greyed out to the positive and negative conditioning, and
    gives the image's latent for the sampler. noise_mask also keeps everything outside
    the mask exactly (off: the model alone decides, as diffusers' inpainting pipeline)."""

    type_id = "conditioning.inpaint_model"
    title = "Inpaint Model Conditioning"
    category = "conditioning"
    inputs = (
        Input("positive", PortType.CONDITIONING),
        Input("negative", PortType.CONDITIONING),
        Input("vae", PortType.VAE),
        Input("pixels", PortType.IMAGE),
        Input("mask", PortType.MASK),
    )
    params = (Param("noise_mask", PortType.BOOL, default=True),)
    outputs = (
        Output("positive", PortType.CONDITIONING),
        Output("negative", PortType.CONDITIONING),
        Output("latent", PortType.LATENT),
    )

    def run(
        self,
        ctx: NodeContext,
        *,
        positive: Conditioning,
        negative: Conditioning,
        vae: VaeModel,
        pixels: torch.Tensor,
        mask: torch.Tensor,
        noise_mask: bool,
    ) -> tuple[Conditioning, Conditioning, Latent]:
        from nodes.diffusion.values import InpaintImage

        _, height, width, _ = pixels.shape
        _check_mask(mask, height, width)
        _advise_if_empty(ctx, mask)
        mask = mask.float()
        with model_errors():
            image = encode_image(vae, pixels, "pixels")
            keep = (mask < 0.5).float()  # diffusers: masked_image = image · (mask < 0.5)
            masked = encode_image(vae, pixels, "pixels", keep=keep)
        assert masked.mean is not None and masked.std is not None
        hint = InpaintImage(mask, masked.mean, masked.std, masked.scaling, masked.shift)
        latent = dataclasses.replace(image, noise_mask=mask) if noise_mask else image
        return (
            dataclasses.replace(positive, inpaint=hint),
            dataclasses.replace(negative, inpaint=hint),
            latent,
        )
