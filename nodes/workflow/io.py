"""Reading and writing workflow files; saves are atomic (temp file, fsync, rename).

Reading never trusts the file: only regular files are opened (a FIFO would block, a
device such as ``/dev/zero`` never ends) and nothing larger than its limit is read.
Writing keeps what it writes readable: a workflow over :data:`MAX_BYTES` is refused
before anything is written, since it could not be opened again.

Temp files are ``.<target>.daguerre-<8 hex>.tmp`` next to their target, locked
(``flock``) while written. A save killed half-way leaves its temp file behind; the next
save to the same target (or of the same numbered name) removes those no live writer
holds, so they never pile up. Numbered outputs (:func:`write_numbered`) claim their name
atomically and never replace a file, across threads and processes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import stat
import sys
import time
from pathlib import Path
from typing import Any

from nodes.graph import Graph
from nodes.paths import next_numbered, special_kind
from nodes.registry import Registry
from nodes.workflow.errors import WorkflowError
from nodes.workflow.format import from_dict, to_dict

try:
    import fcntl
except ImportError:  # Windows: stale temp files are told by their age
    fcntl = None

MAX_BYTES = 64 * 1024 * 1024
"""The largest workflow document, in bytes of UTF-8 JSON: the limit for reading a
workflow file and for saving one (what Daguerre saves, it opens again), and the most a
PNG's workflow text chunk may hold (:mod:`nodes.workflow.png`)."""

STALE_SECONDS = 60.0
"""Where temp files cannot be locked (Windows, some network filesystems), one older than
this is taken for a dead save's and removed."""


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


def read_file(path: str | os.PathLike[str], limit: int, noun: str = "a workflow file") -> bytes:
    """The bytes of ``path``: a regular file of at most ``limit`` bytes, or a WorkflowError.

    FIFOs, devices and sockets are refused before they are opened (and checked again on
    the open file, which is opened non-blocking so a FIFO swapped in cannot stall it);
    a larger file is refused without reading it, and one growing while it is read is cut
    at ``limit + 1`` bytes and refused. ``noun`` says what the file should be
    (``"a workflow file"``, ``"an image"``).
    """
    file = Path(path)
    try:
        _refuse_special(file, os.stat(file).st_mode, noun)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(file, flags | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            _refuse_special(file, info.st_mode, noun)
            if info.st_size > limit:
                raise WorkflowError(_too_large(file, noun, info.st_size, limit))
            with contextlib.suppress(OSError, AttributeError):
                os.set_blocking(handle.fileno(), True)
            data = handle.read(info.st_size + 1)
            if len(data) > info.st_size:  # it grew since fstat: read on, up to the limit
                data += handle.read(max(0, limit + 1 - len(data)))
    except FileNotFoundError:
        raise WorkflowError(f"no such file: {file}") from None
    except IsADirectoryError:
        raise WorkflowError(f"{file} is a folder, not {noun}") from None
    except OSError as exc:
        raise WorkflowError(f"cannot read {file}: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise WorkflowError(f"cannot read {file!r}: {exc}") from None
    if len(data) > limit:
        raise WorkflowError(_too_large(file, noun, None, limit))
    return data


def _refuse_special(file: Path, mode: int, noun: str) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(str(file))
    kind = special_kind(mode)
    if kind is not None:
        raise WorkflowError(f"{file} is {kind}, not {noun}: only regular files are read")


def _too_large(file: Path, noun: str, size: int | None, limit: int) -> str:
    found = f"{_size(size)}, " if size is not None else ""
    return f"{file} is too large to be {noun} ({found}the limit is {_size(limit)})"


def _size(count: int) -> str:
    """``2,000 bytes``, ``1.5 MiB``, ``64 MiB``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= 10 * scale or (count >= scale and count % scale == 0):
            return (
                f"{count // scale} {unit}" if count % scale == 0 else f"{count / scale:.1f} {unit}"
            )
    return f"{count:,} bytes"


def load_file(path: str | os.PathLike[str], registry: Registry | None = None) -> Graph:
    """Read a workflow file into a graph (a regular file of at most MAX_BYTES)."""
    return loads(read_file(path, MAX_BYTES), registry)


def dumps(graph: Graph | dict[str, Any]) -> str:
    """The file text: two-space indented JSON with a final newline, stable across saves.

    A document larger than :data:`MAX_BYTES` is refused, since it could not be read back.
    """
    doc = graph if isinstance(graph, dict) else to_dict(graph)
    try:
        text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError, RecursionError) as exc:
        raise WorkflowError(f"cannot be saved as JSON: {exc}") from None
    check_size(text)
    return text


def check_size(text: str) -> None:
    """Refuse workflow text of more than MAX_BYTES (in UTF-8), which no reader would open."""
    if len(text) <= MAX_BYTES // 4:  # at most 4 bytes a character: small enough
        return
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise WorkflowError(
            f"cannot be saved: the workflow is {_size(size)}, more than the "
            f"{_size(MAX_BYTES)} a workflow may hold (it could not be opened again); "
            "remove large notes or texts from it"
        )


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
    Temp files of earlier saves to ``target`` that were killed half-way are removed first.
    """
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    key = _temp_key(target.name)
    remove_stale_temps(folder, key)
    fd, temp_name = _create_temp(folder, key)
    try:
        with os.fdopen(fd, "wb") as handle:
            with contextlib.suppress(OSError):  # saving over a file keeps its permissions
                os.chmod(temp_name, stat.S_IMODE(os.stat(target).st_mode))
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
            if _LOCKING:  # renamed while still locked, so no cleaner can take it
                os.replace(temp_name, target)
        if not _LOCKING:  # Windows cannot rename an open file
            os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    if durable:
        _sync_folder(folder)


def write_numbered(
    folder: Path, prefix: str, suffix: str, data: bytes, *, durable: bool = False
) -> Path:
    """Write ``data`` as ``folder/prefix_00001.suffix`` with the next free number, never
    over an existing file — whoever else saves into the folder, thread or process.

    The data goes to a locked temp file first; the name is then claimed by hard-linking
    the temp file to it, which fails if the name exists, so the file appears complete
    under its name or not at all, and a writer that loses the race takes the next
    number. Where hard links are not supported the name is claimed by creating it
    exclusively and the temp file is renamed over that claim (the file is empty for a
    moment). Raises ``OSError``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    first = next_numbered(folder, prefix, suffix)
    key = _temp_key(_numbered_key(first.name, suffix))
    remove_stale_temps(folder, key)
    fd, temp_name = _create_temp(folder, key)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
            if _LOCKING:
                return _claim(folder, prefix, suffix, first, temp_name, durable)
        return _claim(folder, prefix, suffix, first, temp_name, durable)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)


def _claim(
    folder: Path, prefix: str, suffix: str, path: Path, temp_name: str, durable: bool
) -> Path:
    """Link ``temp_name`` to the first free numbered name from ``path`` on."""
    linking = hasattr(os, "link")
    for _attempt in range(10_000):
        try:
            if linking:
                os.link(temp_name, path)
            else:
                _claim_exclusively(temp_name, path)
        except FileExistsError:  # someone took this number: the next one after theirs
            path = next_numbered(folder, prefix, suffix)
            continue
        except OSError:
            if not linking:
                raise
            linking = False  # no hard links here (FAT, some network shares): claim files
            continue
        if durable:
            _sync_folder(folder)
        return path
    raise FileExistsError(f"no free file name for {path.name} in {folder}")


def _claim_exclusively(temp_name: str, path: Path) -> None:
    """Create ``path`` exclusively, then rename the temp file over it (our own claim)."""
    os.close(
        os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    )
    try:
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):  # give the number back: the claim is empty
            os.unlink(path)
        raise


def _numbered_key(name: str, suffix: str) -> str:
    """``shot_NNNNN.png`` for ``shot_00007.png``: one key for all numbers of a prefix."""
    stem = name[: len(name) - len(suffix)] if suffix else name
    return f"{stem.rstrip('0123456789')}NNNNN{suffix}"


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # persist the rename itself (POSIX)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# ------------------------------------------------------------------------------ temp files

_TEMP_MARK = ".daguerre-"
_TEMP_NAME = re.compile(r"^\.(?P<key>.+)\.daguerre-[0-9a-f]{8}\.tmp$", re.DOTALL)
_OLD_TEMP_NAME = re.compile(r"^\.(?P<key>.+)\.[0-9a-f]{8}\.tmp$", re.DOTALL)
"""Temp files of Daguerre versions before the lock (told by age alone)."""
_OLD_STALE_SECONDS = 3600.0
_LOCKING = fcntl is not None


def _temp_key(name: str) -> str:
    """The part of a temp file's name naming its target, short enough for any filesystem
    (255 bytes a name, with the mark and suffix)."""
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) <= 200:
        return name
    return encoded[:200].decode("utf-8", "ignore")


def _create_temp(folder: Path, key: str) -> tuple[int, str]:
    """A new temp file for ``key`` in ``folder``, locked, with mode 0o666 less the umask.

    (``tempfile.mkstemp`` creates 0o600 files, so every saved workflow would have become
    private to its owner.) A cleaner may take the file between its creation and the lock;
    then it is gone and another name is tried.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp_name = str(folder / f".{key}{_TEMP_MARK}{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(temp_name, flags, 0o666)
        except FileExistsError:
            continue
        if _lock(fd, blocking=True) and not _is_at(fd, temp_name):
            os.close(fd)  # removed by a cleaner before we held the lock
            continue
        return fd, temp_name
    raise FileExistsError(f"no free temp file name in {folder}")


def remove_stale_temps(folder: Path, key: str) -> list[str]:
    """Remove the temp files for ``key`` in ``folder`` that no live save is writing: not
    locked (their writer died: locks go with their process), or, where files cannot be
    locked, older than STALE_SECONDS. Returns the names removed; never raises."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        name = entry.name
        if not name.startswith(f".{key}."):
            continue
        current = _TEMP_NAME.match(name)
        if current is not None and current.group("key") == key:
            if _remove_if_unlocked(entry.path, now):
                removed.append(name)
            continue
        old = _OLD_TEMP_NAME.match(name)
        if old is not None and old.group("key") == key:
            with contextlib.suppress(OSError):
                info = os.lstat(entry.path)
                if stat.S_ISREG(info.st_mode) and now - info.st_mtime > _OLD_STALE_SECONDS:
                    os.unlink(entry.path)
                    removed.append(name)
    return removed


def _remove_if_unlocked(path: str, now: float) -> bool:
    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
        )
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return False
        locked = _lock(fd, blocking=False)
        if locked is None:  # a live writer holds it
            return False
        if not locked and now - info.st_mtime <= STALE_SECONDS:  # no locks here: by age
            return False
        if not _is_at(fd, path):
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _lock(fd: int, *, blocking: bool) -> bool | None:
    """Take the exclusive lock of a temp file: True when held, None when another open
    file holds it (only without ``blocking``), False where files cannot be locked."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return None
    except OSError:  # no locks on this filesystem
        return False
    return True


def _is_at(fd: int, path: str) -> bool:
    """Whether the open file ``fd`` is still the one named ``path``."""
    try:
        here, there = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
