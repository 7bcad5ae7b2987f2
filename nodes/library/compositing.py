"""Compositing nodes: pad an image for outpainting, paste one image onto another through a
mask.

They follow ComfyUI's ``ImagePadForOutpaint`` and ``ImageCompositeMasked`` value for value,
so imported ComfyUI workflows give ComfyUI's pixels. Composite Masked keeps the destination
bit for bit wherever the mask is 0: pasting a repainted region back loses nothing of the
rest of the picture to a VAE round trip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodes.api import Input, Node, NodeError, Output, Param
from nodes.context import NodeContext
from nodes.library.masks import SIZE_MAX, as_mask_batch, repeat_to_batch, size_text
from nodes.ports import PortType

if TYPE_CHECKING:
    import torch

GREY = 0.5
"""The value Pad Image for Outpainting fills the new area with (ComfyUI's)."""


class PadImageForOutpainting(Node):
    """Adds room around an image for outpainting (as ComfyUI's Pad Image for Outpainting):
    the new area is filled with grey and the mask is 1 there. Within feathering pixels of
    a padded side the mask also fades into the original picture, so the new content blends
    in. Connect the image to VAE Encode (for Inpainting) or VAE Encode, and the mask to
    the inpainting encode or Set Latent Noise Mask."""

    type_id = "image.pad_for_outpaint"
    title = "Pad Image for Outpainting"
    category = "image"
    inputs = (Input("image", PortType.IMAGE),)
    params = (
        *(
            Param(side, PortType.INT, default=0, min=0, max=SIZE_MAX, step=8)
            for side in ("left", "top", "right", "bottom")
        ),
        Param(
            "feathering",
            PortType.INT,
            default=40,
            min=0,
            max=SIZE_MAX,
            tooltip="How far into the original picture the mask fades (pixels); no fade "
            "when twice this is not below the picture's width and height",
        ),
    )
    outputs = (Output("image", PortType.IMAGE), Output("mask", PortType.MASK))

    def run(
        self,
        ctx: NodeContext,
        *,
        image: torch.Tensor,
        left: int,
        top: int,
        right: int,
        bottom: int,
        feathering: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        import numpy as np
        import torch

        batch, height, width, channels = image.shape
        new_height, new_width = height + top + bottom, width + left + right
        padded = torch.full((batch, new_height, new_width, channels), GREY, dtype=torch.float32)
        padded[:, top : top + height, left : left + width, :] = image
        mask = torch.ones((new_height, new_width), dtype=torch.float32)
        inner = np.zeros((height, width), dtype=np.float32)
        if feathering > 0 and 2 * feathering < height and 2 * feathering < width:
            # ComfyUI's distance to each padded side: the row (or column) index from the top
            # (left), the height (width) minus it from the bottom (right); an unpadded side
            # counts as the whole height (width) away
            rows = np.arange(height)[:, None]
            cols = np.arange(width)[None, :]
            full_rows = np.full_like(rows, height)
            full_cols = np.full_like(cols, width)
            near = np.minimum(
                np.minimum(rows if top else full_rows, height - rows if bottom else full_rows),
                np.minimum(cols if left else full_cols, width - cols if right else full_cols),
            )
            rise = (feathering - near) / feathering  # float64, as ComfyUI's Python floats
            inner = np.where(near < feathering, rise * rise, 0.0).astype(np.float32)
        mask[top : top + height, left : left + width] = torch.from_numpy(inner)
        return padded, mask[None]


class CompositeMasked(Node):
    """Pastes the source image onto the destination with its top-left corner at x, y,
    through the mask (as ComfyUI's Image Composite Masked): where the mask is 1 the source
    shows, where it is 0 the destination stays exactly as it was; without a mask the whole
    source is pasted. The mask has the source's size (the destination's with
    resize_source, which first scales the source to the destination's size). Connect the
    original picture as the destination, the decoded inpainting result as the source and
    the inpainting mask, to paste only the repainted region back."""

    type_id = "image.composite_masked"
    title = "Composite Masked"
    category = "image"
    inputs = (
        Input("destination", PortType.IMAGE),
        Input("source", PortType.IMAGE),
        Input("mask", PortType.MASK, optional=True),
    )
    params = (
        Param("x", PortType.INT, default=0, min=0, max=SIZE_MAX),
        Param("y", PortType.INT, default=0, min=0, max=SIZE_MAX),
        Param("resize_source", PortType.BOOL, default=False),
    )
    outputs = (Output("image", PortType.IMAGE),)

    def run(
        self,
        ctx: NodeContext,
        *,
        destination: torch.Tensor,
        source: torch.Tensor,
        mask: torch.Tensor | None,
        x: int,
        y: int,
        resize_source: bool,
    ) -> tuple[torch.Tensor]:
        import torch.nn.functional as F

        batch, height, width = destination.shape[0], destination.shape[1], destination.shape[2]
        if resize_source:
            planes = source.movedim(-1, 1)
            source = F.interpolate(planes, size=(height, width), mode="bilinear").movedim(1, -1)
        # ComfyUI's batches: the destination's count, the source (then the mask) cut or
        # repeated to it
        source = repeat_to_batch(source, batch)
        weights = None
        if mask is not None:
            weights = as_mask_batch(mask)
            if weights.shape[1:] != source.shape[1:3]:
                pasted = "the resized source" if resize_source else "the source"
                raise NodeError(
                    f"the mask is {size_text(weights)} but {pasted} is {size_text(source)}: "
                    "they must be the same size",
                    "mask",
                )
            weights = repeat_to_batch(weights, batch)[..., None]
        output = destination.clone()
        x, y = min(x, width), min(y, height)
        shown_width = min(source.shape[2], width - x)
        shown_height = min(source.shape[1], height - y)
        if shown_width > 0 and shown_height > 0:
            src = source[:, :shown_height, :shown_width]
            if weights is None:
                region = src
            else:
                weight = weights[:, :shown_height, :shown_width]
                dst = output[:, y : y + shown_height, x : x + shown_width]
                # ComfyUI's order of operations: mask·source + (1 − mask)·destination
                region = weight * src + (1.0 - weight) * dst
            output[:, y : y + shown_height, x : x + shown_width] = region
        return (output,)
