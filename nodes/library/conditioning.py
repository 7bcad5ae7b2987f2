"""Conditioning nodes: prompts into CONDITIONING, and ControlNets attached to it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nodes.api import Input, Node, NodeError, Output, Param
from nodes.context import NodeContext
from nodes.library.errors import model_errors
from nodes.ports import PortType
from nodes.tokens import CHUNK

if TYPE_CHECKING:
    import torch

    from nodes.diffusion.values import ClipModel, Conditioning
    from nodes.models.loading import LoadedControlNet

SIZE_MAX = 16384


class TextEncode(Node):
    """Encodes a prompt with the checkpoint's text encoder(s). Weights: (word:1.3) or
    (word) for ×1.1; \\( and \\) are literal parentheses. Prompts longer than 75 tokens
    are encoded in chunks. SDXL gets its pooled embedding and size conditioning for a
    1024×1024 image (use Text Encode SDXL to change it)."""

    type_id = "conditioning.text_encode"
    title = "Text Encode"
    category = "conditioning"
    inputs = (Input("clip", PortType.CLIP),)
    params = (Param("text", PortType.STRING, default="", multiline=True),)
    outputs = (Output("conditioning", PortType.CONDITIONING),)

    def run(self, ctx: NodeContext, *, clip: ClipModel, text: str) -> tuple[Conditioning]:
        return (_encode(ctx, clip, text, (1024.0, 1024.0, 0.0, 0.0, 1024.0, 1024.0)),)


class TextEncodeSdxl(Node):
    """Encodes a prompt for SDXL with explicit size conditioning: the original size the
    model should imagine, the crop's top-left corner and the target size. For other
    families the sizes are ignored."""

    type_id = "conditioning.text_encode_sdxl"
    title = "Text Encode SDXL"
    category = "conditioning"
    inputs = (Input("clip", PortType.CLIP),)
    params = (
        Param("text", PortType.STRING, default="", multiline=True),
        Param("width", PortType.INT, default=1024, min=8, max=SIZE_MAX, step=8),
        Param("height", PortType.INT, default=1024, min=8, max=SIZE_MAX, step=8),
        Param("crop_left", PortType.INT, default=0, min=0, max=SIZE_MAX),
        Param("crop_top", PortType.INT, default=0, min=0, max=SIZE_MAX),
        Param("target_width", PortType.INT, default=1024, min=8, max=SIZE_MAX, step=8),
        Param("target_height", PortType.INT, default=1024, min=8, max=SIZE_MAX, step=8),
    )
    outputs = (Output("conditioning", PortType.CONDITIONING),)

    def run(
        self,
        ctx: NodeContext,
        *,
        clip: ClipModel,
        text: str,
        width: int,
        height: int,
        crop_left: int,
        crop_top: int,
        target_width: int,
        target_height: int,
    ) -> tuple[Conditioning]:
        ids = (
            float(height),
            float(width),
            float(crop_top),
            float(crop_left),
            float(target_height),
            float(target_width),
        )
        return (_encode(ctx, clip, text, ids),)


def _encode(
    ctx: NodeContext, clip: ClipModel, text: str, time_ids: tuple[float, ...]
) -> Conditioning:
    from nodes.diffusion.text import encode_text

    with model_errors("text"):
        cond = encode_text(clip, text, time_ids=time_ids)
    note = f"{cond.tokens} tokens"
    if cond.tokens > CHUNK:
        note += f" ({-(-cond.tokens // CHUNK)} chunks of {CHUNK})"
    ctx.result(text=note)
    return cond


class ControlNetApply(Node):
    """Steers sampling with a ControlNet and a hint image (e.g. Canny edges) between two
    fractions of the steps. Chain several to combine ControlNets."""

    type_id = "conditioning.controlnet_apply"
    title = "Apply ControlNet"
    category = "conditioning"
    inputs = (
        Input("positive", PortType.CONDITIONING),
        Input("negative", PortType.CONDITIONING),
        Input("controlnet", PortType.CONTROLNET),
        Input("image", PortType.IMAGE),
    )
    params = (
        Param("strength", PortType.FLOAT, default=1.0, min=0.0, max=10.0, step=0.01),
        Param("start", PortType.FLOAT, default=0.0, min=0.0, max=1.0, step=0.01),
        Param("end", PortType.FLOAT, default=1.0, min=0.0, max=1.0, step=0.01),
    )
    outputs = (
        Output("positive", PortType.CONDITIONING),
        Output("negative", PortType.CONDITIONING),
    )

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        start, end = params.get("start"), params.get("end")
        if start is not None and end is not None and start > end:
            return [("start", f"start {start} is after end {end}")]
        return []

    def run(
        self,
        ctx: NodeContext,
        *,
        positive: Conditioning,
        negative: Conditioning,
        controlnet: LoadedControlNet,
        image: torch.Tensor,
        strength: float,
        start: float,
        end: float,
    ) -> tuple[Conditioning, Conditioning]:
        from nodes.diffusion.values import ControlHint

        with model_errors("controlnet"):
            controlnet.check_family(positive.family)
        if image.ndim != 4 or image.shape[-1] != 3:
            raise NodeError(f"expected an RGB image batch, got shape {tuple(image.shape)}", "image")
        hint = ControlHint(
            controlnet.controlnet, image.permute(0, 3, 1, 2).contiguous(), strength, start, end
        )
        return (
            dataclasses.replace(positive, controls=(*positive.controls, hint)),
            dataclasses.replace(negative, controls=(*negative.controls, hint)),
        )
