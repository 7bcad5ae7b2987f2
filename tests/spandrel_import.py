"""Importing spandrel in the tests where torchvision cannot be imported — test-only.

spandrel (the library that reads upscale models) imports torchvision when its package
loads, for two of its ~40 architectures only: LaMa (``rotate`` and ``InterpolationMode``
from ``torchvision.transforms.functional``, called in its forward pass) and RestoreFormer
(``normalize``, called in its forward pass). Nothing else in spandrel touches torchvision.

Users' torch installs come with a matching torchvision. The test machines' CPU torch has
none that imports: the only torchvision wheels they can get are CUDA builds, which fail
with "operator torchvision::nms does not exist" — and a torchvision that is installed but
broken also breaks transformers' image processors, which diffusers' pipelines import, so
none is installed. To test spandrel's real loading and real architectures anyway,
:func:`import_spandrel` does this, and only this:

- If ``import spandrel`` works (a real torchvision is there), nothing else happens.
- Otherwise three module objects stand in for ``torchvision``,
  ``torchvision.transforms`` and ``torchvision.transforms.functional`` in
  ``sys.modules`` *while spandrel imports*, holding exactly the three names it imports;
  the two functions raise if ever called (LaMa and RestoreFormer are never run here).
  Then they are removed again, so that nothing else in the process (transformers checks
  whether torchvision is installed) ever sees them.

The product code (:func:`nodes.models.upscale.import_spandrel`) has no such stand-in: where
spandrel cannot be imported, the loader node says so and what to install.
"""

from __future__ import annotations

import enum
import sys
import types
from typing import Any, NoReturn

STAND_IN = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional")


class InterpolationMode(enum.Enum):
    """torchvision's names for the interpolations (LaMa's module reads BILINEAR)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _not_here(name: str) -> Any:
    def call(*args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError(
            f"torchvision.transforms.functional.{name} is a test stand-in "
            "(tests/spandrel_import.py): the LaMa and RestoreFormer architectures cannot run"
        )

    call.__name__ = name
    return call


def _stand_in() -> dict[str, types.ModuleType]:
    root = types.ModuleType("torchvision", "Test stand-in (tests/spandrel_import.py).")
    transforms = types.ModuleType("torchvision.transforms")
    functional = types.ModuleType("torchvision.transforms.functional")
    functional.InterpolationMode = InterpolationMode  # type: ignore[attr-defined]
    functional.rotate = _not_here("rotate")  # type: ignore[attr-defined]
    functional.normalize = _not_here("normalize")  # type: ignore[attr-defined]
    transforms.functional = functional  # type: ignore[attr-defined]
    root.transforms = transforms  # type: ignore[attr-defined]
    return dict(zip(STAND_IN, (root, transforms, functional), strict=True))


def import_spandrel() -> types.ModuleType:
    """spandrel, imported for real, with the stand-in only if torchvision cannot load."""
    try:
        import spandrel
    except Exception as exc:
        if "torchvision" not in f"{getattr(exc, 'name', '')} {exc}":
            raise
    else:
        return spandrel
    _forget("spandrel")
    _forget("torchvision")  # what a broken torchvision left half-imported
    sys.modules.update(_stand_in())
    try:
        import spandrel
    finally:
        for name in STAND_IN:
            sys.modules.pop(name, None)
    return spandrel


def _forget(package: str) -> None:
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
