"""ComfyUI's SDXL refiner text encoder, declared as a :class:`~nodes.comfy.direct.Direct`
record (gathered in :mod:`nodes.comfy.direct_classes`).

==========================  ===================================================
ComfyUI                     Daguerre
==========================  ===================================================
CLIPTextEncodeSDXLRefiner   conditioning.text_encode_sdxl_refiner (ascore, width,
                            height, text: the refiner's aesthetic score and
                            original size)
==========================  ===================================================
"""

from __future__ import annotations

from nodes.comfy.direct import Direct

DIRECT: tuple[Direct, ...] = (
    Direct(
        "CLIPTextEncodeSDXLRefiner",
        "conditioning.text_encode_sdxl_refiner",
        widgets=("ascore:float", "width:int", "height:int", "text:text"),
        links=(("clip", "clip"),),
        outputs=("CONDITIONING",),
        slots=("conditioning",),
    ),
)
"""The classes."""
