"""Open anything that holds a workflow: the one entry point for File › Open and drops.

:func:`open_any` accepts a Daguerre workflow file, a ComfyUI UI- or API-format JSON file,
or a PNG carrying any of them (Daguerre's ``daguerre.workflow`` chunk, ComfyUI's
``workflow`` and ``prompt`` chunks), and returns the graph — or raises one
:class:`~nodes.workflow.WorkflowError` whose message says what the file is and why it
cannot be opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodes.comfy.convert import NOTES_KEY, detect, import_api, import_ui
from nodes.comfy.placeholder import ensure_registered
from nodes.graph import Graph
from nodes.registry import REGISTRY, Registry
from nodes.workflow.errors import WorkflowError
from nodes.workflow.format import from_dict
from nodes.workflow.io import MAX_BYTES, parse_json, read_file
from nodes.workflow.png import (
    COMFY_PROMPT_KEY,
    COMFY_WORKFLOW_KEY,
    RECORD_KEY,
    WORKFLOW_KEY,
    is_png,
    png_texts,
)

_IMAGES = ((b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"RIFF", "WebP"), (b"BM", "BMP"))


@dataclass(frozen=True)
class Opened:
    """What :func:`open_file` found: the graph, what it came from, the PNG's record."""

    graph: Graph
    kind: str
    """daguerre | comfyui-ui | comfyui-api, with ``-png`` when read from an image."""
    record: Any = None
    """The reproducibility record of a Daguerre PNG (parsed JSON), else None."""


def open_any(path: str | os.PathLike[str], registry: Registry | None = None) -> Graph:
    """The workflow in ``path`` (Daguerre or ComfyUI JSON, or a PNG carrying either)."""
    return open_file(path, registry).graph


def open_file(path: str | os.PathLike[str], registry: Registry | None = None) -> Opened:
    """Like :func:`open_any`, also saying what the file was and giving a PNG's record."""
    file = Path(path)
    return open_bytes(_read(file), file.name, registry)


def open_bytes(data: bytes, name: str = "workflow", registry: Registry | None = None) -> Opened:
    """What :func:`open_file` gives for a file named ``name`` holding ``data`` (a drop, the
    clipboard, a download): the same checks, the same single WorkflowError."""
    file = Path(name)
    reg = _registry(registry)
    if is_png(data):
        return _open_png(data, file, reg)
    for signature, kind in _IMAGES:
        if data.startswith(signature) and (kind != "WebP" or data[8:12] == b"WEBP"):
            raise WorkflowError(
                f"{file.name} is a {kind} image: workflows are read from PNG images only"
            )
    doc = parse_json(data)
    graph, kind = load_document(doc, reg)
    if kind != "daguerre":
        graph.metadata.setdefault("title", file.stem)
    return Opened(graph, kind)


def load_document(doc: Any, registry: Registry | None = None) -> tuple[Graph, str]:
    """A parsed JSON document of any supported kind → (graph, kind)."""
    reg = _registry(registry)
    kind = detect(doc)
    try:
        if kind == "daguerre":
            return from_dict(doc, reg), "daguerre"
        if kind == "ui":
            return import_ui(doc, reg), "comfyui-ui"
        if kind == "api":
            return import_api(doc, reg), "comfyui-api"
    except RecursionError:
        raise WorkflowError("nested too deeply") from None
    except WorkflowError as exc:
        raise bounded(exc) from None
    raise WorkflowError(
        "not a workflow: expected a Daguerre workflow, or a ComfyUI workflow in its UI "
        "format (nodes and links) or API format ({id: {class_type, inputs}})"
    )


MESSAGE_CHARS = 1000
"""The most of a message (and, apart, of its JSON path) an error from here shows: a file's
100,000-character id or value quoted whole would make a message no one can read."""


def bounded(exc: WorkflowError) -> WorkflowError:
    """``exc``, its message and path cut to :data:`MESSAGE_CHARS` (itself if they fit)."""
    message, path = exc.message, exc.path
    if len(message) <= MESSAGE_CHARS and len(path) <= MESSAGE_CHARS:
        return exc
    if len(message) > MESSAGE_CHARS:
        message = message[: MESSAGE_CHARS - 1] + "…"
    if len(path) > MESSAGE_CHARS:
        path = path[: MESSAGE_CHARS - 1] + "…"
    return WorkflowError(message, path)


def _open_png(data: bytes, file: Path, registry: Registry) -> Opened:
    texts = png_texts(data)
    record = None
    if RECORD_KEY in texts:
        try:
            record = parse_json(texts[RECORD_KEY])
        except WorkflowError:
            record = None
    if WORKFLOW_KEY in texts:
        try:
            doc = _chunk_json(texts, WORKFLOW_KEY)
        except WorkflowError as exc:
            raise _in_chunk(WORKFLOW_KEY, exc) from None
        if detect(doc) != "daguerre":
            raise WorkflowError(f"the PNG's {WORKFLOW_KEY!r} text chunk is not a Daguerre workflow")
        try:
            graph, _ = load_document(doc, registry)
        except WorkflowError as exc:
            raise _in_chunk(WORKFLOW_KEY, exc) from None
        return Opened(graph, "daguerre-png", record)
    first_error: WorkflowError | None = None
    for key in (COMFY_WORKFLOW_KEY, COMFY_PROMPT_KEY):
        if key not in texts:
            continue
        try:
            doc = _chunk_json(texts, key)
            found = detect(doc)
            if found not in ("ui", "api"):
                raise WorkflowError("not a ComfyUI workflow")
            graph, _ = load_document(doc, registry)
            kind = f"comfyui-{found}-png"
        except WorkflowError as exc:
            first_error = first_error or _in_chunk(key, exc)
            continue
        if first_error is not None:
            graph.metadata.setdefault(NOTES_KEY, []).insert(
                0, f"the PNG's workflow chunk could not be read ({first_error}); used its prompt"
            )
        graph.metadata.setdefault("title", file.stem)
        return Opened(graph, kind, record)
    if first_error is not None:
        raise first_error
    raise WorkflowError(
        f"{file.name} carries no workflow (no {WORKFLOW_KEY!r}, {COMFY_WORKFLOW_KEY!r} or "
        f"{COMFY_PROMPT_KEY!r} text chunk)"
    )


def _chunk_json(texts: dict[str, str], key: str) -> Any:
    return parse_json(texts[key])


def _in_chunk(key: str, exc: WorkflowError) -> WorkflowError:
    """``exc``, said of the PNG's text chunk ``key`` (once: the path stays the document's)."""
    return bounded(WorkflowError(f"the PNG's {key!r} text chunk: {exc.message}", exc.path))


def _read(file: Path) -> bytes:
    """A workflow file's bytes (or a PNG's): regular files only, never more than the cap
    (a FIFO or a device is refused before it is opened)."""
    return read_file(file, 4 * MAX_BYTES)


def _registry(registry: Registry | None) -> Registry:
    from nodes.library import load_builtin_nodes

    reg = registry if registry is not None else load_builtin_nodes(REGISTRY)
    return ensure_registered(reg)
