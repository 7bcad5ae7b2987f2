"""Cheap identity (for model caches) and content hashes (for reproducibility records)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import NamedTuple

from nodes.models.errors import ModelError

_CHUNK = 8 * 1024 * 1024


class Fingerprint(NamedTuple):
    """What identifies a model file on disk without reading it."""

    path: str
    """The resolved absolute path."""
    size: int
    """Bytes (for a folder: all files under it together)."""
    mtime_ns: int
    """Last modification (for a folder: the newest file under it)."""


def file_fingerprint(path: str | Path) -> Fingerprint:
    """(resolved path, size, mtime_ns): a model-cache key part that changes when the file does.

    A diffusers folder is fingerprinted over all the files under it.
    """
    p = Path(path).expanduser()
    try:
        resolved = p.resolve(strict=True)
        if resolved.is_dir():
            stats = [f.stat() for f in _files_under(resolved)]
            size = sum(s.st_size for s in stats)
            mtime = max((s.st_mtime_ns for s in stats), default=resolved.stat().st_mtime_ns)
            return Fingerprint(str(resolved), size, mtime)
        stat = resolved.stat()
    except OSError as exc:
        raise ModelError(f"model file not found: {p} ({exc.strerror or exc})") from exc
    return Fingerprint(str(resolved), stat.st_size, stat.st_mtime_ns)


_hashes: dict[Fingerprint, str] = {}
_hash_lock = threading.Lock()


def sha256_file(path: str | Path) -> str:
    """The hex SHA-256 of a model file, read in chunks and cached by its fingerprint.

    A folder hashes to the SHA-256 of its files' relative paths and hashes, in sorted order,
    so two copies of the same diffusers folder agree.
    """
    fp = file_fingerprint(path)
    with _hash_lock:
        cached = _hashes.get(fp)
    if cached is not None:
        return cached
    root = Path(fp.path)
    try:
        if root.is_dir():
            outer = hashlib.sha256()
            for f in _files_under(root):
                outer.update(f"{f.relative_to(root).as_posix()}\0{_hash_one(f)}\n".encode())
            digest = outer.hexdigest()
        else:
            digest = _hash_one(root)
    except OSError as exc:
        raise ModelError(f"cannot read {root} to hash it: {exc}") from exc
    with _hash_lock:
        _hashes[fp] = digest
    return digest


def _hash_one(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _files_under(root: Path) -> list[Path]:
    return sorted(f for f in root.rglob("*") if f.is_file())
