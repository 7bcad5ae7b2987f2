"""ComfyUI's text-encoder classes beyond CLIPTextEncode, each one Daguerre node declared as a
:class:`~nodes.comfy.direct.Direct` record (gathered in :mod:`nodes.comfy.direct_classes`).

=================  ===========================================================
ComfyUI            Daguerre
=================  ===========================================================
CLIPSetLastLayer   conditioning.clip_set_last_layer (the same numbering: -1 the
                   last layer, -2 the one before; see :mod:`nodes.diffusion.text`)
=================  ===========================================================
"""

from __future__ import annotations

from nodes.comfy.direct import Direct

DIRECT: tuple[Direct, ...] = (
    Direct(
        "CLIPSetLastLayer",
        "conditioning.clip_set_last_layer",
        widgets=("stop_at_clip_layer:int",),
        links=(("clip", "clip"),),
        outputs=("CLIP",),
        slots=("clip",),
    ),
)
"""The classes."""
