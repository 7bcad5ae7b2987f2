"""Reading and writing workflow files; saves are atomic (temp file, fsync, rename)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import stat
import sys
from pathlib import Path
from typing import Any

from nodes.graph import Graph
from nodes.registry import Registry
from nodes.workflow.errors import WorkflowError
from nodes.workflow.format import from_dict, to_dict

MAX_BYTES = 64 * 1024 * 1024


_LARGEST = int(sys.float_info.max)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a workflow file")


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as infinity, which cannot be saved
        raise ValueError(f"the number {text[:30]} is too large")
    return value


def _parse_int(text: str) -> int:
    value = int(text)
    if abs(value) > _LARGEST:  # beyond every float: comparisons with ranges would overflow
        raise ValueError(f"the number {text[:30]}... is too large")
    return value


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
        return json.loads(
            data,
            parse_constant=_reject_constant,
            parse_float=_parse_float,
            parse_int=_parse_int,
        )
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
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise WorkflowError(f"cannot read {file!r}: {exc}") from None
    return loads(data, registry)


def dumps(graph: Graph | dict[str, Any]) -> str:
    """The file text: two-space indented JSON with a final newline, stable across saves."""
    doc = graph if isinstance(graph, dict) else to_dict(graph)
    try:
        return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError, RecursionError) as exc:
        raise WorkflowError(f"cannot be saved as JSON: {exc}") from None


def save_file(graph: Graph | dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write atomically: the old file stays intact if anything fails before the rename."""
    target = Path(path)
    text = dumps(graph)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # an unpaired surrogate in some text
        raise WorkflowError(f"cannot be saved as UTF-8: {exc.reason}") from None
    write_atomic(target, data)
    return target


def write_atomic(target: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``target`` through a temp file in the same folder, then rename.

    ``durable`` also fsyncs the file and the folder, so the new content survives a power
    cut — wanted for documents saved over their previous version; a brand-new output
    image only needs the rename's all-or-nothing (no half-written file under its name).
    """
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, temp_name = _create_temp(folder, target.name)
    try:
        with os.fdopen(fd, "wb") as handle:
            with contextlib.suppress(OSError):  # saving over a file keeps its permissions
                os.chmod(temp_name, stat.S_IMODE(os.stat(target).st_mode))
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    if not durable:
        return
    with contextlib.suppress(OSError):  # persist the rename itself (POSIX)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _create_temp(folder: Path, name: str) -> tuple[int, str]:
    """A new temp file next to the target, created with mode 0o666 less the umask.

    (``tempfile.mkstemp`` creates 0o600 files, so every saved workflow would have become
    private to its owner.)
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp_name = str(folder / f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temp_name, flags, 0o666), temp_name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp file name in {folder}")
