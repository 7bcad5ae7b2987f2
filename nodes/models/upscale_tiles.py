"""Running an upscale model over an image in overlapping tiles, so memory stays bounded.

A 4× model's activations grow with the square of its input, so an image is cut into tiles
of at most ``tile``×``tile`` input pixels, each run on its own and blended into one output.
What stays in memory is the output image itself, one tile's activations and two 1-D weight
vectors — never a full-size activation or weight map.

Tiles and blending, along each side (the grid is the product of the two sides):

- The first tile starts at 0 and the last ends at the edge; the others are spread evenly
  between, so every pair of neighbours overlaps by at least ``overlap`` pixels.
- Near an edge that has a neighbour, a tile's output is worst: the network saw zero
  padding there instead of the image. So in an overlap of ``ov`` pixels each tile's weight
  is 0 over the quarter nearest its own edge, rises linearly over the middle half and is
  1 beyond; the two weights sum to 1 at every pixel, and the seam is a gradual blend.
- The weights are normalised by their sum per pixel. Each tile's 2-D weight is the product
  of its row and column weights, so that sum is the product of two 1-D sums.

A consequence worth stating: when a quarter of the overlap is at least the model's
receptive radius (for a convolutional network, the number of 3×3 convolutions it stacks:
15 input pixels per ESRGAN RRDB block), every output pixel comes from a tile that saw all
of the image that pixel depends on, and the tiled result equals the untiled one up to
float rounding. With a smaller overlap (published models' radii are hundreds of pixels),
the seams are blended rather than exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import torch

    from nodes.models.upscale import UpscaleModel

Progress = Callable[[int, int, Callable[[], "np.ndarray | None"] | None], None]
"""``(step, total, preview)``, as :meth:`nodes.context.NodeContext.progress`."""

PREVIEW_SIDE = 512
"""Previews of the output so far are at most this many pixels on their longer side."""


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Where the tiles along a side of ``length`` pixels start: the first at 0, the last
    ending at ``length``, evenly spread so neighbours overlap by at least ``overlap``."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    count = math.ceil((length - overlap) / stride)
    last = length - tile
    return [round(i * last / (count - 1)) for i in range(count)]


def side_weights(starts: list[int], size: int, scale: int) -> list[torch.Tensor]:
    """The blend weight of each tile along one side, in output pixels (``size`` input
    pixels per tile, ``scale`` output pixels per input pixel; see the module docstring)."""
    import torch

    out = size * scale
    weights = []
    for i, start in enumerate(starts):
        weight = torch.ones(out)
        if i > 0:
            ramp = _ramp((starts[i - 1] + size - start) * scale)
            weight[: ramp.numel()] = torch.minimum(weight[: ramp.numel()], ramp)
        if i + 1 < len(starts):
            ramp = _ramp((start + size - starts[i + 1]) * scale).flip(0)
            weight[out - ramp.numel() :] = torch.minimum(weight[out - ramp.numel() :], ramp)
        weights.append(weight)
    return weights


def _ramp(overlap: int) -> torch.Tensor:
    """Weights over an overlap of ``overlap`` pixels, from the tile's own edge inwards:
    0 for a quarter, a linear rise over the middle half, then 1 (up to the overlap's end).
    The neighbour's ramp, read from the other end, is its complement: they sum to 1."""
    import torch

    margin = overlap // 4
    width = overlap - 2 * margin
    steps = torch.arange(1, width + 1, dtype=torch.float32) / (width + 1)
    return torch.cat([torch.zeros(margin), steps, torch.ones(margin)])


def upscale_image(
    model: UpscaleModel,
    image: torch.Tensor,
    *,
    tile: int,
    overlap: int,
    progress: Progress | None = None,
    check_cancelled: Callable[[], None] | None = None,
) -> torch.Tensor:
    """``image`` (B×H×W×3 float32 in [0, 1], CPU) upscaled by ``model``, tile by tile.

    ``tile`` is rounded down to the model's size multiple (and the whole image is one tile
    for models that tile internally). ``progress`` is called after every tile with a
    preview of the output so far; ``check_cancelled`` before every tile.
    """
    import torch

    batch, height, width, _ = image.shape
    scale = model.scale
    if model.tiling == "internal":
        tile = max(height, width)
    multiple = max(1, model.multiple_of)
    tile = max(multiple, tile // multiple * multiple)
    tile_h, tile_w = min(tile, height), min(tile, width)
    overlap = min(overlap, tile // 2)
    ys = tile_starts(height, tile_h, overlap)
    xs = tile_starts(width, tile_w, overlap)
    wy = side_weights(ys, tile_h, scale)
    wx = side_weights(xs, tile_w, scale)
    total_y = _total(ys, wy, height * scale, scale)
    total_x = _total(xs, wx, width * scale, scale)

    out = torch.zeros(batch, height * scale, width * scale, 3)
    total = batch * len(ys) * len(xs)
    done = 0
    for b in range(batch):
        for y, weight_y in zip(ys, wy, strict=True):
            for x, weight_x in zip(xs, wx, strict=True):
                if check_cancelled is not None:
                    check_cancelled()
                piece = image[b, y : y + tile_h, x : x + tile_w, :]
                weight = weight_y[:, None, None] * weight_x[None, :, None]
                target = out[b, y * scale : (y + tile_h) * scale, x * scale : (x + tile_w) * scale]
                target.addcmul_(_run(model, piece), weight)
                done += 1
                if progress is not None:
                    progress(done, total, _preview(out, b, total_y, total_x))
    out.div_(total_y[None, :, None, None]).div_(total_x[None, None, :, None])
    return out.clamp_(0.0, 1.0)


def _total(starts: list[int], weights: list[torch.Tensor], out: int, scale: int) -> torch.Tensor:
    import torch

    total = torch.zeros(out)
    for start, weight in zip(starts, weights, strict=True):
        total[start * scale : start * scale + weight.numel()] += weight
    return total


def _run(model: UpscaleModel, piece: torch.Tensor) -> torch.Tensor:
    """One tile (h×w×3 on the CPU) through the model: (h·s)×(w·s)×3 float32 on the CPU."""
    import torch

    x = piece.permute(2, 0, 1)[None].to(device=model.device, dtype=model.dtype).contiguous()
    with torch.inference_mode():
        y = model.descriptor(x)
    return y[0].permute(1, 2, 0).to(device="cpu", dtype=torch.float32)


def _preview(
    out: torch.Tensor, b: int, total_y: torch.Tensor, total_x: torch.Tensor
) -> Callable[[], np.ndarray | None]:
    """The output so far, small: called only when a preview is due."""

    def make() -> np.ndarray:
        import torch

        step = max(1, math.ceil(max(out.shape[1], out.shape[2]) / PREVIEW_SIDE))
        small = out[b, ::step, ::step] / (total_y[::step, None, None] * total_x[None, ::step, None])
        return (small.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8).numpy()

    return make
