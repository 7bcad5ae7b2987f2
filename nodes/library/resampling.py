"""Resampling shared by the resize nodes (:mod:`.latent_resize`, :mod:`.image_resize`):
ComfyUI's size rules and its ``common_upscale`` (an optional centre crop to the new aspect
ratio, then the resampling), written from its published behaviour.

The torch modes (nearest-exact, bilinear, bicubic, area) are ``torch.nn.functional
.interpolate`` without corner alignment or antialiasing, as ComfyUI calls it. Lanczos is
Pillow's, run on each channel as 32-bit floats (mode ``F``) and clamped to [0, 1] once at
the end. ComfyUI runs Pillow's 8-bit RGB resize instead, which rounds (and clips) after
each of its two passes: on smooth pictures the two agree within one 8-bit step, next to
hard edges the float result keeps what the 8-bit passes clip away. Bislerp (ComfyUI's
spherical interpolation of latents) is not offered: no independent reference to test it
against is at hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nodes.api import NodeError
from nodes.library.masks import SIZE_MAX

if TYPE_CHECKING:
    import torch

TORCH_METHODS = ("nearest-exact", "bilinear", "area", "bicubic")
"""The modes torch resamples with, in ComfyUI's menu order."""
LANCZOS = "lanczos"
CROPS = ("disabled", "center")
"""ComfyUI's crop modes: none, or the middle of the picture cut to the new aspect ratio."""
FACTOR_MIN, FACTOR_MAX = 0.01, 8.0
"""The scale factors a resize node accepts (ComfyUI's)."""

Box = tuple[int, int, int, int]
"""x, y, width, height of the part of a picture that is resampled."""


def crop_box(width: int, height: int, new_width: int, new_height: int, crop: str) -> Box:
    """The part of a ``width``×``height`` picture that becomes ``new_width``×``new_height``:
    all of it, or with ``"center"`` the middle cut to the new aspect ratio, with ComfyUI's
    rounding (the same margin taken from both sides)."""
    if crop != "center":
        return 0, 0, width, height
    old_aspect, new_aspect = width / height, new_width / new_height
    x = y = 0
    if old_aspect > new_aspect:
        x = round((width - width * (new_aspect / old_aspect)) / 2)
    elif old_aspect < new_aspect:
        y = round((height - height * (old_aspect / new_aspect)) / 2)
    return x, y, width - 2 * x, height - 2 * y


def resample(
    planes: torch.Tensor, width: int, height: int, method: str, box: Box | None = None
) -> torch.Tensor:
    """B×C×H×W ``planes`` (their ``box``, default all) resampled to ``width``×``height``."""
    import torch.nn.functional as F

    if box is not None:
        x, y, w, h = box
        planes = planes[..., y : y + h, x : x + w]
    if method == LANCZOS:
        return _lanczos(planes, width, height)
    if method not in TORCH_METHODS:
        raise ValueError(f"unknown resampling method {method!r}")
    if method in ("bilinear", "bicubic"):
        return F.interpolate(planes, size=(height, width), mode=method, align_corners=False)
    return F.interpolate(planes, size=(height, width), mode=method)


def _lanczos(planes: torch.Tensor, width: int, height: int) -> torch.Tensor:
    import numpy as np
    import torch
    from PIL import Image

    source = planes.detach().to(torch.float32).cpu().numpy()
    out = np.empty((*source.shape[:2], height, width), dtype=np.float32)
    for b in range(source.shape[0]):
        for c in range(source.shape[1]):
            channel = Image.fromarray(np.ascontiguousarray(source[b, c]))  # mode F
            out[b, c] = np.asarray(channel.resize((width, height), Image.Resampling.LANCZOS))
    return torch.from_numpy(out).to(planes.dtype)


def keep_aspect(width: int, height: int, old_width: int, old_height: int) -> tuple[int, int]:
    """ComfyUI's rule for a size with one side 0: that side follows the aspect ratio of
    ``old_width``×``old_height`` (rounded); sizes with no 0 are returned as they are."""
    if width == 0:
        width = round(old_width * height / old_height)
    elif height == 0:
        height = round(old_height * width / old_width)
    return width, height


def check_size(width: int, height: int, field: str, what: str, unit: int = 1) -> None:
    """A NodeError on ``field`` unless ``width``×``height`` pixels is at least ``unit``
    (one latent cell) and at most :data:`SIZE_MAX` a side. ``what`` says how the size
    came about, for the message."""
    if width < unit or height < unit:
        least = "1 pixel" if unit == 1 else f"{unit} pixels (one latent cell)"
        raise NodeError(f"{what} gives {width}×{height}: each side must be at least {least}", field)
    if width > SIZE_MAX or height > SIZE_MAX:
        raise NodeError(
            f"{what} gives {width}×{height}: each side must be at most {SIZE_MAX} pixels", field
        )


def both_zero(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The cross-param rule of the resize-to-a-size nodes: width and height may not both
    be 0 (one 0 follows the aspect ratio). A linked size is absent, so not judged here."""
    if params.get("width") == 0 and params.get("height") == 0:
        return [("width", "width and height are both 0: set at least one (0 keeps the aspect)")]
    return []
