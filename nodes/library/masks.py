"""Mask nodes: load, convert, invert, threshold, grow, feather, blur, combine, and solid masks.

MASK values are float32 tensors B×H×W in [0, 1] on the CPU, where 1 marks what a sampler
repaints (as in ComfyUI: Load Image gives 1 − alpha). Each node follows the published
semantics of the ComfyUI node it is named after (``LoadImageMask``, ``ImageToMask``,
``MaskToImage``, ``InvertMask``, ``ThresholdMask``, ``GrowMask``, ``FeatherMask``,
``MaskComposite``, ``SolidMask``), so an imported ComfyUI workflow gives ComfyUI's values;
Blur Mask is Daguerre's own. (The sampler resizes masks to latent size:
:func:`nodes.diffusion.inpainting.latent_mask`.)

A linked param is checked against its declaration by the executor when its value arrives,
like a typed one by validation, so the nodes take their params as valid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodes.api import Input, Node, Output, Param
from nodes.context import NodeContext
from nodes.ports import PortType

if TYPE_CHECKING:
    import torch

SIZE_MAX = 16384
"""The largest width, height, offset or margin a mask node accepts (ComfyUI's limit)."""

CHANNELS = ("red", "green", "blue")
"""The colour channels, in the order an IMAGE stores them."""

COMBINE_OPERATIONS = ("multiply", "add", "subtract", "and", "or", "xor")
"""Combine Masks' operations, as ComfyUI's MaskComposite names them."""


def as_mask_batch(mask: torch.Tensor) -> torch.Tensor:
    """``mask`` as B×H×W float32 (an H×W or B×1×H×W mask is reshaped, as ComfyUI does)."""
    import torch

    return mask.reshape((-1, mask.shape[-2], mask.shape[-1])).to(torch.float32)


def repeat_to_batch(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    """``tensor`` cut or cycled along its first axis to ``batch`` items (ComfyUI's
    ``repeat_to_batch_size``: a larger batch keeps its first items, a smaller one repeats
    whole)."""
    size = tensor.shape[0]
    if size >= batch:
        return tensor[:batch]
    times = -(-batch // size)
    return tensor.repeat((times,) + (1,) * (tensor.ndim - 1))[:batch]


def size_text(tensor: torch.Tensor) -> str:
    """The width×height of a B×H×W mask or a B×H×W×C image."""
    height, width = (tensor.shape[1], tensor.shape[2])
    return f"{width}×{height}"


class LoadImageMask(Node):
    """Loads one channel of a PNG, JPEG or WebP image as a mask (as ComfyUI's Load Image
    (as Mask)). Alpha gives 1 − alpha, so transparent pixels are repainted; an image without
    alpha gives an empty mask. Red, green or blue give that channel as it is, for a mask
    painted in black and white. Connect it to Set Latent Noise Mask, an inpainting encode,
    or any mask input."""

    type_id = "mask.load"
    title = "Load Image Mask"
    category = "mask"
    params = (
        Param("path", PortType.STRING, default="", file_kind="images"),
        Param(
            "channel",
            PortType.STRING,
            default="alpha",
            choices=("alpha", *CHANNELS),
            tooltip="Alpha: transparent = 1; a colour: white = 1",
        ),
    )
    outputs = (Output("mask", PortType.MASK),)

    def run(self, ctx: NodeContext, *, path: str, channel: str) -> tuple[torch.Tensor]:
        from nodes.library.images import LoadImage

        # Load Image's reading: EXIF orientation, RGB, and 1 − alpha (zeros without alpha)
        image, mask = LoadImage().run(ctx, path=path)
        if channel == "alpha":
            return (mask,)
        return (image[..., CHANNELS.index(channel)].contiguous(),)


class ImageToMask(Node):
    """Takes one colour channel of an image as a mask (white = 1). Connect an image of a
    painted mask, or a Canny or depth map, to make a mask from it."""

    type_id = "mask.from_image"
    title = "Image to Mask"
    category = "mask"
    inputs = (Input("image", PortType.IMAGE),)
    params = (Param("channel", PortType.STRING, default="red", choices=CHANNELS),)
    outputs = (Output("mask", PortType.MASK),)

    def run(self, ctx: NodeContext, *, image: torch.Tensor, channel: str) -> tuple[torch.Tensor]:
        return (image[..., CHANNELS.index(channel)].contiguous(),)


class MaskToImage(Node):
    """Turns a mask into a grey image (the mask in all three channels), to preview it, save
    it, or feed it to a node that takes images."""

    type_id = "mask.to_image"
    title = "Mask to Image"
    category = "mask"
    inputs = (Input("mask", PortType.MASK),)
    outputs = (Output("image", PortType.IMAGE),)

    def run(self, ctx: NodeContext, *, mask: torch.Tensor) -> tuple[torch.Tensor]:
        batch = as_mask_batch(mask)
        return (batch[..., None].expand(-1, -1, -1, 3).contiguous(),)


class InvertMask(Node):
    """Inverts a mask (1 − mask): what was kept is repainted and the other way round."""

    type_id = "mask.invert"
    title = "Invert Mask"
    category = "mask"
    inputs = (Input("mask", PortType.MASK),)
    outputs = (Output("mask", PortType.MASK),)

    def run(self, ctx: NodeContext, *, mask: torch.Tensor) -> tuple[torch.Tensor]:
        return (1.0 - mask,)


class ThresholdMask(Node):
    """Makes a soft mask hard: 1 where the mask is above the value, 0 elsewhere (equal to
    the value gives 0)."""

    type_id = "mask.threshold"
    title = "Threshold Mask"
    category = "mask"
    inputs = (Input("mask", PortType.MASK),)
    params = (Param("value", PortType.FLOAT, default=0.5, min=0.0, max=1.0, step=0.01),)
    outputs = (Output("mask", PortType.MASK),)

    def run(self, ctx: NodeContext, *, mask: torch.Tensor, value: float) -> tuple[torch.Tensor]:
        import torch

        return ((mask > value).to(torch.float32),)


class GrowMask(Node):
    """Grows a mask by a number of pixels, or shrinks it when the number is negative (as
    ComfyUI's Grow Mask: one 3×3 grey dilation or erosion per pixel). With tapered corners
    a dot grows into a diamond, without into a square. Grow an inpainting mask a little so
    the repainted area blends into its surroundings."""

    type_id = "mask.grow"
    title = "Grow Mask"
    category = "mask"
    inputs = (Input("mask", PortType.MASK),)
    params = (
        Param(
            "expand",
            PortType.INT,
            default=0,
            min=-4096,
            max=4096,
            tooltip="Pixels to grow by; negative shrinks",
        ),
        Param("tapered_corners", PortType.BOOL, default=True),
    )
    outputs = (Output("mask", PortType.MASK),)

    def run(
        self, ctx: NodeContext, *, mask: torch.Tensor, expand: int, tapered_corners: bool
    ) -> tuple[torch.Tensor]:
        import numpy as np
        import scipy.ndimage
        import torch

        corner = 0 if tapered_corners else 1
        footprint = np.array([[corner, 1, corner], [1, 1, 1], [corner, 1, corner]], dtype=bool)
        step = scipy.ndimage.grey_erosion if expand < 0 else scipy.ndimage.grey_dilation
        grown = []
        for item in as_mask_batch(mask):
            array = item.numpy()
            for _ in range(abs(expand)):
                ctx.check_cancelled()
                array = step(array, footprint=footprint)
            grown.append(torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)))
        return (torch.stack(grown),)


class FeatherMask(Node):
    """Fades a mask towards its edges (as ComfyUI's Feather Mask): over the given number
    of pixels from each side the mask is multiplied by a linear ramp, 1/n at the outermost
    pixel up to 1, so a repainted area blends in where it meets the picture's border."""

    type_id = "mask.feather"
    title = "Feather Mask"
    category = "mask"
    inputs = (Input("mask", PortType.MASK),)
    params = tuple(
        Param(side, PortType.INT, default=0, min=0, max=SIZE_MAX)
        for side in ("left", "top", "right", "bottom")
    )
    outputs = (Output("mask", PortType.MASK),)

    def run(
        self, ctx: NodeContext, *, mask: torch.Tensor, left: int, top: int, right: int, bottom: int
    ) -> tuple[torch.Tensor]:
        import torch

        output = as_mask_batch(mask).clone()
        height, width = output.shape[1], output.shape[2]
        # ComfyUI multiplies one column or row at a time by a float32 rate, left, right,
        # top, bottom in turn; a vector of rates (1 elsewhere) per side is the same product
        sides = (
            (min(left, width), width, False, False),
            (min(right, width), width, True, False),
            (min(top, height), height, False, True),
            (min(bottom, height), height, True, True),
        )
        for count, length, from_end, rows in sides:
            if count == 0:
                continue
            rates = torch.ones(length, dtype=torch.float32)
            ramp = torch.tensor([(i + 1.0) / count for i in range(count)], dtype=torch.float32)
            if from_end:
                rates[length - count :] = ramp.flip(0)
            else:
                rates[:count] = ramp
            output = output * (rates[:, None] if rows else rates)
        return (output,)


class BlurMask(Node):
    """Softens a mask's edges with a Gaussian blur; the radius is the blur's standard
    deviation in pixels (as PIL's GaussianBlur), and 0 leaves the mask unchanged. Blur an
    inpainting mask so the repainted area fades into the picture."""

    type_id = "mask.blur"
    title = "Blur Mask"
    category = "mask"
    inputs = (Input("mask", PortType.MASK),)
    params = (
        Param(
            "radius",
            PortType.FLOAT,
            default=4.0,
            min=0.0,
            max=256.0,
            step=0.5,
            tooltip="Standard deviation of the blur, in pixels",
        ),
    )
    outputs = (Output("mask", PortType.MASK),)

    def run(self, ctx: NodeContext, *, mask: torch.Tensor, radius: float) -> tuple[torch.Tensor]:
        import numpy as np
        import scipy.ndimage
        import torch

        if radius == 0:
            return (mask,)
        blurred = []
        for item in as_mask_batch(mask):
            # edges repeat their last pixel, so a mask reaching the border stays whole there
            array = scipy.ndimage.gaussian_filter(
                item.numpy().astype(np.float64), sigma=radius, mode="nearest", truncate=4.0
            )
            blurred.append(torch.from_numpy(np.clip(array, 0.0, 1.0).astype(np.float32)))
        return (torch.stack(blurred),)


class CombineMasks(Node):
    """Combines a source mask into a destination mask, its top-left corner at x, y (as
    ComfyUI's MaskComposite); the destination's size is kept and the result is clamped to
    0…1. multiply, add and subtract work on the values; and is the intersection, or the
    union and xor the difference of the two masks taken as on/off (each value rounded to
    0 or 1). Only the part the source covers changes."""

    type_id = "mask.combine"
    title = "Combine Masks"
    category = "mask"
    inputs = (Input("destination", PortType.MASK), Input("source", PortType.MASK))
    params = (
        Param("x", PortType.INT, default=0, min=0, max=SIZE_MAX),
        Param("y", PortType.INT, default=0, min=0, max=SIZE_MAX),
        Param("operation", PortType.STRING, default="multiply", choices=COMBINE_OPERATIONS),
    )
    outputs = (Output("mask", PortType.MASK),)

    def run(
        self,
        ctx: NodeContext,
        *,
        destination: torch.Tensor,
        source: torch.Tensor,
        x: int,
        y: int,
        operation: str,
    ) -> tuple[torch.Tensor]:
        import torch

        output = as_mask_batch(destination).clone()
        pasted = repeat_to_batch(as_mask_batch(source), output.shape[0])
        right = min(x + pasted.shape[2], output.shape[2])
        bottom = min(y + pasted.shape[1], output.shape[1])
        if right > x and bottom > y:  # a source placed wholly outside changes nothing
            src = pasted[:, : bottom - y, : right - x]
            dst = output[:, y:bottom, x:right]
            if operation == "multiply":
                region = dst * src
            elif operation == "add":
                region = dst + src
            elif operation == "subtract":
                region = dst - src
            else:
                on_dst, on_src = dst.round().bool(), src.round().bool()
                if operation == "and":
                    region = on_dst & on_src
                elif operation == "or":
                    region = on_dst | on_src
                else:
                    region = on_dst ^ on_src
                region = region.to(torch.float32)
            output[:, y:bottom, x:right] = region
        return (torch.clamp(output, 0.0, 1.0),)


class SolidMask(Node):
    """Makes a mask of one value everywhere (1: repaint everything), of the given size.
    Use it as the destination of Combine Masks to build a mask from shapes."""

    type_id = "mask.solid"
    title = "Solid Mask"
    category = "mask"
    params = (
        Param("value", PortType.FLOAT, default=1.0, min=0.0, max=1.0, step=0.01),
        Param("width", PortType.INT, default=512, min=1, max=SIZE_MAX),
        Param("height", PortType.INT, default=512, min=1, max=SIZE_MAX),
    )
    outputs = (Output("mask", PortType.MASK),)

    def run(
        self, ctx: NodeContext, *, value: float, width: int, height: int
    ) -> tuple[torch.Tensor]:
        import torch

        return (torch.full((1, height, width), value, dtype=torch.float32),)
