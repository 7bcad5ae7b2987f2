"""Workflows inside PNG files: Daguerre's images carry the graph that made them.

Text chunks: ``daguerre.workflow`` holds the workflow document (JSON) and
``daguerre.record`` the reproducibility record (versions, model hashes, seeds). ComfyUI's
images carry ``workflow`` (its UI format) and ``prompt`` (its API format);
:func:`nodes.comfy.open_any` reads all of them.

Reading never trusts the file: a FIFO, device or socket, a file over
:data:`MAX_IMAGE_BYTES`, a damaged PNG, a corrupted or oversized text chunk, or text that
is not JSON ends in one :class:`~nodes.workflow.WorkflowError`.

Text chunk limits are set deliberately. Pillow refuses a compressed text chunk over
1 MiB (``PngImagePlugin.MAX_TEXT_CHUNK``), against decompression bombs, which made a PNG
with a large workflow unreadable — by Daguerre and by Load Image. A chunk may hold one
workflow document, :data:`MAX_TEXT_BYTES` (= ``MAX_BYTES``, 64 MiB), and a PNG two of
them, :data:`MAX_TOTAL_TEXT_BYTES` (128 MiB: ComfyUI's ``workflow`` and ``prompt``, or
Daguerre's workflow and record); :func:`allow_workflow_texts` raises Pillow's limits to
these before a PNG is read, and :func:`encode_png` refuses to write more.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from nodes.workflow.errors import WorkflowError
from nodes.workflow.io import MAX_BYTES, read_file

WORKFLOW_KEY = "daguerre.workflow"
RECORD_KEY = "daguerre.record"
COMFY_WORKFLOW_KEY = "workflow"
COMFY_PROMPT_KEY = "prompt"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

MAX_TEXT_BYTES = MAX_BYTES
"""The largest text chunk read or written (decompressed, in bytes): one workflow."""
MAX_TOTAL_TEXT_BYTES = 2 * MAX_BYTES
"""The most text one PNG may carry in all its chunks: two workflows."""
MAX_IMAGE_BYTES = 4 * MAX_BYTES
"""The largest PNG file read for its workflow (256 MiB)."""


def allow_workflow_texts() -> None:
    """Let Pillow read text chunks up to MAX_TEXT_BYTES, MAX_TOTAL_TEXT_BYTES in all.

    Process-wide, and only ever raising Pillow's limits; called before any PNG is read
    for its workflow and by Load Image, so whatever Daguerre wrote opens again.
    """
    from PIL import PngImagePlugin

    PngImagePlugin.MAX_TEXT_CHUNK = max(PngImagePlugin.MAX_TEXT_CHUNK, MAX_TEXT_BYTES)
    PngImagePlugin.MAX_TEXT_MEMORY = max(PngImagePlugin.MAX_TEXT_MEMORY, MAX_TOTAL_TEXT_BYTES)


def check_texts(texts: dict[str, str]) -> None:
    """Refuse text chunks a reader would refuse (see the module's limits)."""
    total = 0
    for key, value in texts.items():
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_TEXT_BYTES:
            raise WorkflowError(
                f"the {key!r} text is {size:,} bytes, more than the {MAX_TEXT_BYTES:,} a PNG "
                "text chunk may hold (it could not be read back)"
            )
        total += size
    if total > MAX_TOTAL_TEXT_BYTES:
        raise WorkflowError(
            f"the PNG's texts are {total:,} bytes, more than the {MAX_TOTAL_TEXT_BYTES:,} "
            "one PNG may carry (it could not be read back)"
        )


def encode_png(pixels: Any, texts: dict[str, str]) -> bytes:
    """PNG bytes of an H×W×3 ``uint8`` array with ``texts`` as iTXt chunks; texts over
    the limits that reading applies are a WorkflowError."""
    from PIL import Image, PngImagePlugin

    check_texts(texts)
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

    allow_workflow_texts()
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise WorkflowError(f"not a PNG image ({image.format})")
            image.load()
            texts = getattr(image, "text", {})
            return {str(k): v for k, v in texts.items() if isinstance(v, str)}
    except WorkflowError:
        raise
    except ValueError as exc:  # Pillow's text limits
        text = str(exc)
        if "MAX_TEXT" in text:
            raise WorkflowError(
                f"cannot read the PNG: its text chunks hold more than {MAX_TEXT_BYTES:,} "
                f"bytes each or {MAX_TOTAL_TEXT_BYTES:,} in all, the most Daguerre reads"
            ) from None
        raise WorkflowError(f"cannot read the PNG: {_reason(exc)}") from None
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
    """A regular file of at most MAX_IMAGE_BYTES (:func:`nodes.workflow.io.read_file`)."""
    return read_file(path, MAX_IMAGE_BYTES, "an image")


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    # PIL names the in-memory buffer it read from ("<_io.BytesIO object at 0x7f…>"): a
    # memory address means nothing to a person
    text = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-f]+>", "", text)
    return text if len(text) <= 200 else text[:197] + "..."
