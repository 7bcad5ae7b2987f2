"""ComfyUI's inpainting and mask classes: each is one Daguerre node whose params are its
widgets and whose inputs are its inputs, declared once as a
:class:`~nodes.comfy.direct.Direct` record (:mod:`nodes.comfy.direct_classes` gathers them
for the import and the export).

=========================  ==============================================================
ComfyUI                    Daguerre
=========================  ==============================================================
SetLatentNoiseMask         latent.set_noise_mask (samples → latent)
VAEEncodeForInpaint        latent.encode_for_inpaint (pixels → image)
InpaintModelConditioning   conditioning.inpaint_model (no noise_mask widget: true)
ImagePadForOutpaint        image.pad_for_outpaint
LoadImageMask              mask.load (image → path; the upload button's value skipped)
ImageToMask                mask.from_image (channel "alpha": a placeholder)
MaskToImage                mask.to_image
InvertMask                 mask.invert
GrowMask                   mask.grow
ThresholdMask              mask.threshold
FeatherMask                mask.feather
SolidMask                  mask.solid
MaskComposite              mask.combine
ImageCompositeMasked       image.composite_masked (its mask may stay unconnected)
=========================  ==============================================================

LoadImage's MASK output (slot 1) is ``image.load``'s ``mask``
(:mod:`nodes.comfy.nodetypes`).
"""

from __future__ import annotations

from typing import Any

from nodes.comfy.direct import Direct


def _no_alpha(values: dict[str, Any]) -> str | None:
    if values.get("channel") == "alpha":
        return (
            "channel 'alpha': Daguerre's images have no alpha channel (Load Image gives it "
            "as its mask output; Load Image Mask reads a file's alpha)"
        )
    return None


_MASK = (("mask", "mask"),)
_SIDES = ("left:int", "top:int", "right:int", "bottom:int")

DIRECT: tuple[Direct, ...] = (
    Direct(
        "SetLatentNoiseMask",
        "latent.set_noise_mask",
        links=(("samples", "latent"), ("mask", "mask")),
        outputs=("LATENT",),
        slots=("latent",),
    ),
    Direct(
        "VAEEncodeForInpaint",
        "latent.encode_for_inpaint",
        ("grow_mask_by:int",),
        (("pixels", "image"), ("vae", "vae"), ("mask", "mask")),
        ("LATENT",),
        ("latent",),
    ),
    Direct(
        "InpaintModelConditioning",
        "conditioning.inpaint_model",
        ("noise_mask:bool",),
        (
            ("positive", "positive"),
            ("negative", "negative"),
            ("vae", "vae"),
            ("pixels", "pixels"),
            ("mask", "mask"),
        ),
        ("positive", "negative", "latent"),
        ("positive", "negative", "latent"),
        older=((),),  # before the noise_mask widget, the latent always had the mask
        defaults={"noise_mask": True},
    ),
    Direct(
        "ImagePadForOutpaint",
        "image.pad_for_outpaint",
        (*_SIDES, "feathering:int"),
        (("image", "image"),),
        ("IMAGE", "MASK"),
        ("image", "mask"),
    ),
    Direct(
        "LoadImageMask",
        "mask.load",
        ("image:combo>path", "channel:combo"),
        outputs=("MASK",),
        slots=("mask",),
        upload=True,
    ),
    Direct(
        "ImageToMask",
        "mask.from_image",
        ("channel:combo",),
        (("image", "image"),),
        ("MASK",),
        ("mask",),
        refuse=_no_alpha,
    ),
    Direct("MaskToImage", "mask.to_image", (), _MASK, ("IMAGE",), ("image",)),
    Direct("InvertMask", "mask.invert", (), _MASK, ("MASK",), ("mask",)),
    Direct(
        "GrowMask", "mask.grow", ("expand:int", "tapered_corners:bool"), _MASK, ("MASK",), ("mask",)
    ),
    Direct("ThresholdMask", "mask.threshold", ("value:float",), _MASK, ("MASK",), ("mask",)),
    Direct("FeatherMask", "mask.feather", _SIDES, _MASK, ("MASK",), ("mask",)),
    Direct(
        "SolidMask",
        "mask.solid",
        ("value:float", "width:int", "height:int"),
        outputs=("MASK",),
        slots=("mask",),
    ),
    Direct(
        "MaskComposite",
        "mask.combine",
        ("x:int", "y:int", "operation:combo"),
        (("destination", "destination"), ("source", "source")),
        ("MASK",),
        ("mask",),
    ),
    Direct(
        "ImageCompositeMasked",
        "image.composite_masked",
        ("x:int", "y:int", "resize_source:bool"),
        (("destination", "destination"), ("source", "source"), ("mask", "mask")),
        ("IMAGE",),
        ("image",),
        optional=("mask",),
    ),
)
"""The classes, in ComfyUI's menu order (latent and conditioning, image, mask)."""
