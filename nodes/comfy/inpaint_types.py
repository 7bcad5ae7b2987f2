"""ComfyUI's inpainting and mask classes: each is one Daguerre node whose params are its
widgets and whose inputs are its inputs, declared once as a :class:`Direct` record from
which both the import (:data:`RECORDS`, part of :data:`nodes.comfy.nodetypes.CLASSES`)
and the export (:mod:`nodes.comfy.export`) are made.

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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nodes.comfy.build import Builder, ComfyClass, ComfyNode, node_values
from nodes.comfy.widgets import Layout, as_float, layout

Refuse = Callable[[dict[str, Any]], str | None]
"""Given the decoded widget values, why Daguerre cannot run the node (it becomes a
placeholder), or None."""


@dataclass(frozen=True)
class Direct:
    """A ComfyUI class that is one Daguerre node, widget for param and input for input."""

    name: str
    """ComfyUI's class name."""
    becomes: str
    """The Daguerre type."""
    widgets: tuple[str, ...] = ()
    """ComfyUI's widgets in their order, ``"name:kind"`` (as :func:`~.widgets.layout`), or
    ``"name:kind>param"`` where the Daguerre param is named differently."""
    links: tuple[tuple[str, str], ...] = ()
    """(ComfyUI input, Daguerre input) for every input that takes a link."""
    outputs: tuple[str, ...] = ()
    """ComfyUI's output names in slot order."""
    slots: tuple[str, ...] = ()
    """The Daguerre outputs that ComfyUI's output slots 0, 1, ... are."""
    upload: bool = False
    """The frontend's upload button follows the widgets (its value, ``"image"``, is in the
    UI file's list and, from the frontend, in API files too)."""
    older: tuple[tuple[str, ...], ...] = ()
    """Older widget lists (``"name:kind"``), newest first; missing widgets take
    :attr:`defaults`."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """ComfyUI's value of a widget an older file lacks, by ComfyUI name."""
    optional: tuple[str, ...] = ()
    """ComfyUI inputs that may stay unconnected."""
    refuse: Refuse | None = None

    def params(self) -> list[tuple[str, str, str]]:
        """(ComfyUI widget, kind, Daguerre param) in widget order."""
        found = []
        for spec in self.widgets:
            widget, _, ours = spec.partition(">")
            name, _, kind = widget.partition(":")
            found.append((name, kind, ours or name))
        return found

    def layouts(self) -> tuple[Layout, ...]:
        plain = tuple(spec.partition(">")[0] for spec in self.widgets)
        if self.upload:
            return (layout(*plain, "upload:any"), layout(*plain))
        return (layout(*plain), *(layout(*old) for old in self.older))


_float = as_float


def record(spec: Direct) -> ComfyClass:
    """The import record of ``spec``."""
    layouts = spec.layouts()

    def build(b: Builder, n: ComfyNode) -> None:
        v = node_values(n, layouts)
        reason = spec.refuse(v) if spec.refuse is not None else None
        if reason is not None:
            b.placeholder(n, reason)
            return
        params: dict[str, Any] = {}
        for name, kind, ours in spec.params():
            value = v.get(name, spec.defaults.get(name) if name not in n.links else None)
            if value is not None:
                params[ours] = _float(value) if kind == "float" else value
        d = b.add(n, spec.becomes, params)
        for name, ours in spec.links:
            b.input(n, name, d, ours)
        for name, _, ours in spec.params():
            b.input(n, name, d, ours)
        b.outputs(n, d, spec.slots)

    return ComfyClass(
        spec.name,
        build,
        spec.becomes,
        layouts=layouts,
        outputs=spec.outputs,
        slots=spec.slots,
    )


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

RECORDS: tuple[ComfyClass, ...] = tuple(record(spec) for spec in DIRECT)
"""Their import records."""
