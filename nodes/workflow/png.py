"""Workflows inside PNG files: Daguerre's images carry the graph that made them.

Text chunks: ``daguerre.workflow`` holds the workflow document (JSON) and
``daguerre.record`` the reproducibility record (versions, model hashes, seeds).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

WORKFLOW_KEY = "daguerre.workflow"
RECORD_KEY = "daguerre.record"


def encode_png(pixels: Any, texts: dict[str, str]) -> bytes:
    """PNG bytes of an H×W×3 ``uint8`` array with ``texts`` as iTXt chunks."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for key, value in texts.items():
        info.add_itxt(key, value, zip=True)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", pnginfo=info, compress_level=4)
    return buffer.getvalue()


def read_png_texts(path: str | Path) -> dict[str, str]:
    """The text chunks of a PNG file ({} when it has none)."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        return {str(k): v for k, v in getattr(image, "text", {}).items() if isinstance(v, str)}


def embedded_workflow(path: str | Path) -> Any:
    """The workflow document a Daguerre PNG carries, or None; bad JSON is a WorkflowError."""
    from nodes.workflow.io import parse_json

    text = read_png_texts(path).get(WORKFLOW_KEY)
    return parse_json(text) if text else None
