"""Every ComfyUI class declared as a :class:`~nodes.comfy.direct.Direct` record, gathered
from the modules that declare them by subject, for the import (:data:`RECORDS`, part of
:data:`nodes.comfy.nodetypes.CLASSES`) and the export (:mod:`nodes.comfy.export`).
"""

from __future__ import annotations

from nodes.comfy.build import ComfyClass
from nodes.comfy.direct import Direct, record
from nodes.comfy.inpaint_types import DIRECT as INPAINT
from nodes.comfy.refiner_types import DIRECT as REFINER
from nodes.comfy.resize_types import DIRECT as RESIZE
from nodes.comfy.text_types import DIRECT as TEXT
from nodes.comfy.upscale_types import DIRECT as UPSCALE

DIRECT: tuple[Direct, ...] = (
    *INPAINT,
    *RESIZE,
    *UPSCALE,
    *TEXT,
    *REFINER,
)
"""All of them."""

RECORDS: tuple[ComfyClass, ...] = tuple(record(spec) for spec in DIRECT)
"""Their import records."""
