"""Reading and writing workflow files; saves are atomic (temp file, fsync, rename)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from nodes.graph import Graph
from nodes.registry import Registry
from nodes.workflow.errors import WorkflowError
from nodes.workflow.format import from_dict, to_dict

MAX_BYTES = 64 * 1024 * 1024


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a workflow file")


def parse_json(data: str | bytes) -> Any:
    """Parse JSON text into Python data, or raise :class:`WorkflowError`."""
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise WorkflowError("the file is too large to be a workflow")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise WorkflowError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise WorkflowError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError as exc:
        raise WorkflowError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise WorkflowError("invalid JSON: nested too deeply") from None


def loads(data: str | bytes, registry: Registry | None = None) -> Graph:
    """Parse workflow JSON text (or bytes) into a graph."""
    doc = parse_json(data)
    try:
        return from_dict(doc, registry)
    except RecursionError:
        raise WorkflowError("nested too deeply") from None


def load_file(path: str | os.PathLike[str], registry: Registry | None = None) -> Graph:
    """Read a workflow file into a graph."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise WorkflowError(f"no such file: {file}") from None
    except IsADirectoryError:
        raise WorkflowError(f"{file} is a folder, not a workflow file") from None
    except OSError as exc:
        raise WorkflowError(f"cannot read {file}: {exc.strerror}") from None
    return loads(data, registry)


def dumps(graph: Graph | dict[str, Any]) -> str:
    """The file text: two-space indented JSON with a final newline, stable across saves."""
    doc = graph if isinstance(graph, dict) else to_dict(graph)
    try:
        return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise WorkflowError(f"cannot be saved as JSON: {exc}") from None


def save_file(graph: Graph | dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write atomically: the old file stays intact if anything fails before the rename."""
    target = Path(path)
    text = dumps(graph)
    write_atomic(target, text.encode("utf-8"))
    return target


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temp file in the same folder, then rename."""
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    with contextlib.suppress(OSError):  # persist the rename itself (POSIX)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
