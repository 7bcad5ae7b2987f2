"""Conditioning nodes: prompts into CONDITIONING (with embeddings, on a chosen CLIP layer),
and ControlNets attached to it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nodes.api import Input, Node, NodeError, Output, Param
from nodes.catalog.embeddings import embedding_names, find_embedding, unknown_embeddings
from nodes.context import NodeContext
from nodes.diffusion.schedulers import CONVENTIONS, DIFFUSERS
from nodes.library.errors import model_errors
from nodes.paths import FileResolver
from nodes.ports import PortType
from nodes.tokens import CHUNK

if TYPE_CHECKING:
    import torch

    from nodes.diffusion.values import ClipModel, Conditioning
    from nodes.models.embeddings import Embedding
    from nodes.models.loading import LoadedControlNet

SIZE_MAX = 16384

_CONVENTION = Param(
    "convention",
    PortType.STRING,
    default=DIFFUSERS,
    choices=CONVENTIONS,
    tooltip="How prompts over 75 tokens are cut into chunks. diffusers: whole words move "
    "to the next chunk (Daguerre's rule); comfyui: as ComfyUI does, a run of text of one "
    "weight is cut where the chunk fills",
)


class _TextNode(Node, abstract=True):
    """What the text-encode nodes share: the prompt's embeddings, found before a run."""

    @classmethod
    def check_files(cls, params: Mapping[str, Any], resolve: FileResolver) -> list[tuple[str, str]]:
        text = params.get("text")
        if not isinstance(text, str) or "embedding:" not in text:
            return []
        return [("text", message) for message in unknown_embeddings(text, resolve)]

    @classmethod
    def cache_files(cls, params: Mapping[str, Any], resolve: FileResolver) -> list[Any]:
        text = params.get("text")
        if not isinstance(text, str) or "embedding:" not in text:
            return []
        found = (find_embedding(resolve, name) for name in embedding_names(text))
        return [path for path in found if path is not None]


class TextEncode(_TextNode):
    """Encodes a prompt with the checkpoint's text encoder(s). Weights: (word:1.3) or
    (word) for ×1.1; \\( and \\) are literal parentheses. embedding:NAME uses the
    textual-inversion embedding NAME from the models folders' embeddings folder
    ((embedding:NAME:1.2) weighs it). Prompts longer than 75 tokens are encoded in chunks.
    SDXL gets its pooled embedding and size conditioning for a 1024×1024 image (use Text
    Encode SDXL to change it)."""

    type_id = "conditioning.text_encode"
    title = "Text Encode"
    category = "conditioning"
    version = "1.1.0"
    inputs = (Input("clip", PortType.CLIP),)
    params = (Param("text", PortType.STRING, default="", multiline=True), _CONVENTION)
    outputs = (Output("conditioning", PortType.CONDITIONING),)

    def run(
        self, ctx: NodeContext, *, clip: ClipModel, text: str, convention: str = DIFFUSERS
    ) -> tuple[Conditioning]:
        ids = (1024.0, 1024.0, 0.0, 0.0, 1024.0, 1024.0)
        return (_encode(ctx, clip, text, ids, convention),)


class TextEncodeSdxl(_TextNode):
    """Encodes a prompt for SDXL with explicit size conditioning: the original size the
    model should imagine, the crop's top-left corner and the target size. For other
    families the sizes are ignored. Prompts are read as by Text Encode (weights,
    embedding:NAME)."""

    type_id = "conditioning.text_encode_sdxl"
    title = "Text Encode SDXL"
    category = "conditioning"
    version = "1.1.0"
    inputs = (Input("clip", PortType.CLIP),)
    params = (
        Param("text", PortType.STRING, default="", multiline=True),
        Param("width", PortType.INT, default=1024, min=8, max=SIZE_MAX, step=8),
        Param("height", PortType.INT, default=1024, min=8, max=SIZE_MAX, step=8),
        Param("crop_left", PortType.INT, default=0, min=0, max=SIZE_MAX),
        Param("crop_top", PortType.INT, default=0, min=0, max=SIZE_MAX),
        Param("target_width", PortType.INT, default=1024, min=8, max=SIZE_MAX, step=8),
        Param("target_height", PortType.INT, default=1024, min=8, max=SIZE_MAX, step=8),
        _CONVENTION,
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
        convention: str = DIFFUSERS,
    ) -> tuple[Conditioning]:
        ids = (
            float(height),
            float(width),
            float(crop_top),
            float(crop_left),
            float(target_height),
            float(target_width),
        )
        return (_encode(ctx, clip, text, ids, convention),)


def _encode(
    ctx: NodeContext,
    clip: ClipModel,
    text: str,
    time_ids: tuple[float, ...],
    convention: str,
) -> Conditioning:
    from nodes.diffusion.text import encode_text

    with model_errors("text"):
        embeddings = _embeddings(ctx, text)
        cond = encode_text(
            clip, text, time_ids=time_ids, embeddings=embeddings, convention=convention
        )
    note = f"{cond.tokens} tokens"
    chunks = int(cond.embeds.shape[1]) // (CHUNK + 2)
    if chunks > 1:
        note += f" ({chunks} chunks of {CHUNK})"
    ctx.result(text=note)
    return cond


def _embeddings(ctx: NodeContext, text: str) -> dict[str, Embedding]:
    """Every embedding ``text`` names, loaded; an unknown one is an error on ``text``."""
    from nodes.catalog.embeddings import unknown_embedding
    from nodes.models.embeddings import load_embedding

    found: dict[str, Embedding] = {}
    for name in embedding_names(text) if "embedding:" in text else ():
        path = find_embedding(ctx.env.resolve_file, name)
        if path is None:
            raise NodeError(unknown_embedding(name), "text")
        found[name] = load_embedding(path, name)
    return found


class ClipSetLastLayer(Node):
    """Conditions on an earlier layer of the text encoder(s), like ComfyUI's CLIP Set Last
    Layer (and A1111's "clip skip"): -1 is the last layer, -2 the one before it (A1111's
    clip skip 2). SD1.x conditions on -1 by itself, SD2.x and SDXL on -2; diffusers'
    clip_skip=N is -(N+1) on SD1.x and -(N+2) on SD2.x and SDXL. Connect the checkpoint's
    CLIP through it into the text-encode nodes."""

    type_id = "conditioning.clip_set_last_layer"
    title = "CLIP Set Last Layer"
    category = "conditioning"
    inputs = (Input("clip", PortType.CLIP),)
    params = (
        Param(
            "stop_at_clip_layer",
            PortType.INT,
            default=-1,
            min=-24,
            max=-1,
            tooltip="-1: the last layer; -2: the one before (clip skip 2); beyond the "
            "encoder's layers: the last",
        ),
    )
    outputs = (Output("clip", PortType.CLIP),)

    def run(
        self, ctx: NodeContext, *, clip: ClipModel, stop_at_clip_layer: int
    ) -> tuple[ClipModel]:
        from nodes.diffusion.text import layer_problem

        problem = layer_problem(clip, stop_at_clip_layer)
        if problem is not None:
            raise NodeError(problem, "stop_at_clip_layer")
        return (dataclasses.replace(clip, stop_at_layer=stop_at_clip_layer),)


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
