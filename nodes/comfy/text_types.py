"""ComfyUI's text-encoder classes beyond CLIPTextEncode, each one Daguerre node declared as a
:class:`~nodes.comfy.direct.Direct` record (gathered in :mod:`nodes.comfy.direct_classes`).
"""

from __future__ import annotations

from nodes.comfy.direct import Direct

DIRECT: tuple[Direct, ...] = ()
"""The classes."""
