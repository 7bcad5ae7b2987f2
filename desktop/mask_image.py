"""Masked images on disk, for the mask painter: read a picture with its alpha as the mask,
write a new PNG with the painted mask as its alpha, and give a file to an image that has
none (a preview shown in the image panel).

The mask follows Load Image's convention: its mask output is 1 − alpha, so a painted pixel
(regenerate here) is alpha 0 in the file and an existing alpha is the starting mask. The
picture is read as Load Image reads it (EXIF orientation applied), so the mask lines up
with what the node outputs.

Every file written here is new, in :func:`nodes.paths.inputs_dir`, named after its source
(``photo.jpg`` → ``photo_mask_00001.png``); nothing is ever overwritten and the user's own
files are only read.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from desktop.run_state import ImageResult
from nodes.paths import inputs_dir, next_numbered

if TYPE_CHECKING:
    from PIL.Image import Image as Picture

LOADABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
"""Files a Load Image node reads (and the image panel can hand to one as they are)."""
_NUMBERED_MASK = re.compile(r"_mask_\d+$")


@dataclass(slots=True)
class MaskedImage:
    rgb: np.ndarray
    """H×W×3 uint8: the picture, without its alpha."""
    mask: np.ndarray
    """H×W uint8: 255 where the picture is to be regenerated (alpha 0), 0 where kept."""


def read_masked_image(path: Path) -> MaskedImage:
    """The picture in ``path`` and its alpha as the mask (none: nothing masked).

    Raises ``OSError`` when the file cannot be read as an image."""
    from PIL import Image, ImageOps, UnidentifiedImageError  # imported when first needed

    try:
        with Image.open(path) as opened:
            picture = ImageOps.exif_transpose(opened)
            picture.load()
    except UnidentifiedImageError as exc:
        raise OSError(f"{path.name} is not an image Daguerre can read") from exc
    rgb = np.array(picture.convert("RGB"), dtype=np.uint8)
    if "A" in picture.getbands():
        mask = 255 - np.asarray(picture.getchannel("A"), dtype=np.uint8)
    else:
        mask = np.zeros(rgb.shape[:2], dtype=np.uint8)
    return MaskedImage(rgb, np.ascontiguousarray(mask))


def mask_file_stem(source: str) -> str:
    """``photo`` for ``photo.jpg`` and for ``photo_mask_00003.png`` (a mask painted again
    is numbered after the first, not ``photo_mask_00003_mask_00001``), plus ``_mask``."""
    stem = _NUMBERED_MASK.sub("", Path(source).stem) or "image"
    return f"{stem}_mask"


def write_masked_image(image: MaskedImage, source: str, folder: Path | None = None) -> Path:
    """A new PNG in ``folder`` (the inputs folder by default): the picture's RGB with
    ``255 − mask`` as alpha, named after ``source``. Raises ``OSError``."""
    from PIL import Image

    rgba = np.dstack([image.rgb, 255 - image.mask]).astype(np.uint8)
    return write_new_png(Image.fromarray(rgba, "RGBA"), mask_file_stem(source), folder)


def write_new_png(picture: Picture, stem: str, folder: Path | None = None) -> Path:
    """Write ``picture`` as ``folder/stem_00001.png`` with the next free number; the file
    is created exclusively, so an existing file is never replaced. Raises ``OSError``."""
    target = folder if folder is not None else inputs_dir()
    target.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    data = buffer.getvalue()
    for _attempt in range(1000):
        path = next_numbered(target, stem, ".png")
        try:
            handle = path.open("xb")
        except FileExistsError:  # another writer took the number: take the next one
            continue
        with handle:
            try:
                handle.write(data)
            except OSError:
                handle.close()
                path.unlink(missing_ok=True)
                raise
        return path
    raise OSError(f"no free file name for {stem} in {target}")


def image_file_for(result: ImageResult) -> Path:
    """A file a Load Image node can read for a result: its own file when it has one,
    otherwise its pixels written as a new PNG in the inputs folder."""
    if result.file:
        own = Path(result.file)
        if own.is_file() and own.suffix.lower() in LOADABLE_SUFFIXES:
            return own
    from PIL import Image

    pixels = np.ascontiguousarray(result.image, dtype=np.uint8)
    mode = "RGBA" if pixels.ndim == 3 and pixels.shape[2] == 4 else "RGB"
    return write_new_png(Image.fromarray(pixels, mode), f"run{result.run_id}_{result.node_id}")


__all__ = [
    "LOADABLE_SUFFIXES",
    "MaskedImage",
    "image_file_for",
    "mask_file_stem",
    "read_masked_image",
    "write_masked_image",
    "write_new_png",
]
