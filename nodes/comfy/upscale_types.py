"""ComfyUI's upscale-model classes, each one Daguerre node declared as a
:class:`~nodes.comfy.direct.Direct` record (gathered in :mod:`nodes.comfy.direct_classes`).

=========================  ==============================================================
ComfyUI                    Daguerre
=========================  ==============================================================
UpscaleModelLoader         loaders.upscale_model (model_name → path)
ImageUpscaleWithModel      image.upscale_with_model (tile 512, overlap 32: ComfyUI's own
                           fixed values, so an imported graph tiles as ComfyUI does; other
                           values are not written by the export, ComfyUI has no widget)
=========================  ==============================================================
"""

from __future__ import annotations

from nodes.comfy.direct import Direct

DIRECT: tuple[Direct, ...] = (
    Direct(
        "UpscaleModelLoader",
        "loaders.upscale_model",
        ("model_name:combo>path",),
        outputs=("UPSCALE_MODEL",),
        slots=("upscale_model",),
    ),
    Direct(
        "ImageUpscaleWithModel",
        "image.upscale_with_model",
        links=(("upscale_model", "upscale_model"), ("image", "image")),
        outputs=("IMAGE",),
        slots=("image",),
    ),
)
"""The classes."""
