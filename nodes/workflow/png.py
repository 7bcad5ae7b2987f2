"""Workflows inside PNG files: Daguerre's images carry the graph that made them.

Text chunks: ``daguerre.workflow`` holds the workflow document (JSON) and
``daguerre.record`` the reproducibility record (versions, model hashes, seeds). ComfyUI's
images carry ``workflow`` (its UI format) and ``prompt`` (its API format);
:func:`nodes.comfy.open_any` reads all of them.

Reading never trusts the file: a damaged PNG, a corrupted or oversized text chunk, or text
that is not JSON ends in one :class:`~nodes.workflow.WorkflowError`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from nodes.workflow.errors import WorkflowError

WORKFLOW_KEY = "daguerre.workflow"
RECORD_KEY = "daguerre.record"
COMFY_WORKFLOW_KEY = "workflow"
COMFY_PROMPT_KEY = "prompt"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encode_png(pixels: Any, texts: dict[str, str]) -> bytes:
    """PNG bytes of an H×W×3 ``uint8`` array with ``texts`` as iTXt chunks."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for key, value in texts.items():
        info.add_itxt(key, value, zip=True)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", pnginfo=info, compress_level=4)
    return buffer.getvalue()


def is_png(data: bytes) -> bool:
    return data[:8] == PNG_SIGNATURE


def png_texts(data: bytes) -> dict[str, str]:
    """The text chunks (tEXt, zTXt, iTXt) of PNG bytes; a damaged file is a WorkflowError."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise WorkflowError(f"not a PNG image ({image.format})")
            image.load()
            texts = getattr(image, "text", {})
            return {str(k): v for k, v in texts.items() if isinstance(v, str)}
    except WorkflowError:
        raise
    except Exception as exc:  # PIL raises many kinds (SyntaxError, zlib.error, OSError...)
        raise WorkflowError(f"cannot read the PNG: {_reason(exc)}") from None


def read_png_texts(path: str | Path) -> dict[str, str]:
    """The text chunks of a PNG file ({} when it has none)."""
    return png_texts(_read(Path(path)))


def embedded_workflow(path: str | Path) -> Any:
    """The workflow document a Daguerre PNG carries, or None; bad JSON is a WorkflowError."""
    from nodes.workflow.io import parse_json

    text = read_png_texts(path).get(WORKFLOW_KEY)
    return parse_json(text) if text else None


def embedded_record(path: str | Path) -> Any:
    """The reproducibility record a Daguerre PNG carries, or None."""
    from nodes.workflow.io import parse_json

    text = read_png_texts(path).get(RECORD_KEY)
    return parse_json(text) if text else None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise WorkflowError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise WorkflowError(f"{path} is a folder, not an image") from None
    except (OSError, ValueError) as exc:
        raise WorkflowError(f"cannot read {path}: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
