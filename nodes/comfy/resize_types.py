"""ComfyUI's latent and image resize and crop classes, each one Daguerre node declared as a
:class:`~nodes.comfy.direct.Direct` record (gathered in :mod:`nodes.comfy.direct_classes`).

=========================  ==============================================================
ComfyUI                    Daguerre
=========================  ==============================================================
LatentUpscale              latent.upscale (samples → latent, upscale_method → method)
LatentUpscaleBy            latent.upscale_by (scale_by → factor)
ImageScale                 image.scale
ImageScaleBy               image.scale_by (scale_by → factor)
ImageScaleToTotalPixels    image.scale_to_megapixels (resolution_steps → multiple_of; files
                           from before that widget: 1)
ImageCrop                  image.crop
=========================  ==============================================================

ComfyUI's bislerp latent method has no Daguerre counterpart (see
:mod:`nodes.library.resampling`): a node using it imports as a placeholder that says so.
"""

from __future__ import annotations

from typing import Any

from nodes.comfy.direct import Direct


def _no_bislerp(values: dict[str, Any]) -> str | None:
    if values.get("upscale_method") == "bislerp":
        return (
            "upscale_method 'bislerp' is not available in Daguerre: choose nearest-exact, "
            "bilinear, area or bicubic"
        )
    return None


_LATENT = (("samples", "latent"),)
_IMAGE = (("image", "image"),)
_METHOD = "upscale_method:combo>method"
_FACTOR = "scale_by:float>factor"

DIRECT: tuple[Direct, ...] = (
    Direct(
        "LatentUpscale",
        "latent.upscale",
        (_METHOD, "width:int", "height:int", "crop:combo"),
        _LATENT,
        ("LATENT",),
        ("latent",),
        refuse=_no_bislerp,
    ),
    Direct(
        "LatentUpscaleBy",
        "latent.upscale_by",
        (_METHOD, _FACTOR),
        _LATENT,
        ("LATENT",),
        ("latent",),
        refuse=_no_bislerp,
    ),
    Direct(
        "ImageScale",
        "image.scale",
        (_METHOD, "width:int", "height:int", "crop:combo"),
        _IMAGE,
        ("IMAGE",),
        ("image",),
    ),
    Direct("ImageScaleBy", "image.scale_by", (_METHOD, _FACTOR), _IMAGE, ("IMAGE",), ("image",)),
    Direct(
        "ImageScaleToTotalPixels",
        "image.scale_to_megapixels",
        (_METHOD, "megapixels:float", "resolution_steps:int>multiple_of"),
        _IMAGE,
        ("IMAGE",),
        ("image",),
        older=((_METHOD.partition(">")[0], "megapixels:float"),),
        defaults={"resolution_steps": 1},
    ),
    Direct(
        "ImageCrop",
        "image.crop",
        ("width:int", "height:int", "x:int", "y:int"),
        _IMAGE,
        ("IMAGE",),
        ("image",),
    ),
)
"""The classes, in ComfyUI's menu order (latent, image)."""
