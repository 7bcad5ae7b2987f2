"""The SDXL refiner's text node: a prompt with the refiner's own micro-conditioning.

The refiner's UNet is conditioned on the original size, the crop and an *aesthetic score*
(where SDXL base takes the target size). Text Encode and Text Encode SDXL work with a
refiner CLIP too: their original size and crop are kept and the score is the default, 6
for the positive prompt and 2.5 for the negative (diffusers' ``aesthetic_score`` and
``negative_aesthetic_score``, ComfyUI's defaults). This node sets the score explicitly,
like ComfyUI's ``CLIPTextEncodeSDXLRefiner`` (ascore, width, height, text).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodes.api import Input, Node, NodeError, Output, Param
from nodes.context import NodeContext
from nodes.library.conditioning import SIZE_MAX
from nodes.library.errors import model_errors
from nodes.ports import PortType
from nodes.tokens import CHUNK

if TYPE_CHECKING:
    from nodes.diffusion.values import ClipModel, Conditioning


class TextEncodeSdxlRefiner(Node):
    """Encodes a prompt for the SDXL refiner with its aesthetic score and the original
    size of the image it should imagine. Use 6 (or more) on the positive prompt and a low
    score such as 2.5 on the negative one, as diffusers and ComfyUI do. Connect the
    refiner checkpoint's CLIP; a plain Text Encode on it gets those scores by itself."""

    type_id = "conditioning.text_encode_sdxl_refiner"
    title = "Text Encode SDXL Refiner"
    category = "conditioning"
    inputs = (Input("clip", PortType.CLIP),)
    params = (
        Param("text", PortType.STRING, default="", multiline=True),
        Param(
            "ascore",
            PortType.FLOAT,
            default=6.0,
            min=0.0,
            max=1000.0,
            step=0.01,
            tooltip="Aesthetic score: 6 for a positive prompt, 2.5 for a negative one",
        ),
        Param("width", PortType.INT, default=1024, min=0, max=SIZE_MAX),
        Param("height", PortType.INT, default=1024, min=0, max=SIZE_MAX),
    )
    outputs = (Output("conditioning", PortType.CONDITIONING),)

    def run(
        self,
        ctx: NodeContext,
        *,
        clip: ClipModel,
        text: str,
        ascore: float,
        width: int,
        height: int,
    ) -> tuple[Conditioning]:
        from nodes.diffusion.text import encode_text

        if "aesthetic_score" not in clip.family.time_ids:
            raise NodeError(
                f"this CLIP is from an {clip.family} checkpoint, which takes no aesthetic "
                "score: connect an SDXL refiner's CLIP (or use Text Encode SDXL)",
                "clip",
            )
        # The refiner's time ids: original height, width, crop top, left, aesthetic score.
        ids = (float(height), float(width), 0.0, 0.0, float(ascore))
        with model_errors("text"):
            cond = encode_text(clip, text, time_ids=ids)
        note = f"{cond.tokens} tokens"
        if cond.tokens > CHUNK:
            note += f" ({-(-cond.tokens // CHUNK)} chunks of {CHUNK})"
        ctx.result(text=note)
        return (cond,)
