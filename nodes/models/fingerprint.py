"""Cheap identity (for model caches) and content hashes (for reproducibility records)."""

from __future__ import annotations

import contextlib
import hashlib
import json
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
_inflight: dict[Fingerprint, threading.Event] = {}
_hash_lock = threading.Lock()
_DISK_CACHE = "model-hashes.json"
_disk_read = threading.Event()
"""Set once the digests of earlier sessions have been read from the disk cache."""


class HashCancelled(ModelError):
    """Hashing stopped because its ``cancel`` event was set (nothing is cached)."""


def sha256_file(path: str | Path, cancel: threading.Event | None = None) -> str:
    """The hex SHA-256 of a model file, read in chunks and cached by its fingerprint.

    Hashing a 4–7 GB checkpoint takes seconds, so a digest is computed once per file
    version: kept in memory, and on disk under the Daguerre home keyed by path, size and
    mtime (a changed file gets a new digest). A hash started in the background (see
    :func:`hash_in_background`) is waited for, not repeated.

    A folder hashes to the SHA-256 of its files' relative paths and hashes, in sorted order,
    so two copies of the same diffusers folder agree.

    Setting ``cancel`` stops the hash between two chunks (:class:`HashCancelled`): the
    app's background hashing ends at once when the window closes.
    """
    fp = file_fingerprint(path)
    while True:
        with _hash_lock:
            _load_disk_cache()
            cached = _hashes.get(fp)
            if cached is not None:
                return cached
            pending = _inflight.get(fp)
            if pending is None:
                pending = _inflight[fp] = threading.Event()
                break
        pending.wait()  # another thread is hashing this file: its digest will be cached
    try:
        digest = _digest(Path(fp.path), cancel)
        with _hash_lock:
            _hashes[fp] = digest
        _save_disk_cache()
        return digest
    finally:
        with _hash_lock:
            _inflight.pop(fp, None)
        pending.set()


def known_sha256(path: str | Path) -> str | None:
    """The digest of the file as it is now if one was computed before (this session or,
    through the disk cache, an earlier one); None otherwise. Never reads the file."""
    try:
        fp = file_fingerprint(path)
    except ModelError:
        return None
    with _hash_lock:
        _load_disk_cache()
        return _hashes.get(fp)


def hash_in_background(path: str | Path) -> None:
    """Start hashing a model file on a daemon thread unless its digest is known or being
    computed: called when a model loads, so the first saved image does not wait for it."""
    try:
        fp = file_fingerprint(path)
    except ModelError:
        return  # the loader reports a missing file itself
    with _hash_lock:
        _load_disk_cache()
        if fp in _hashes or fp in _inflight:
            return
    thread = threading.Thread(
        target=_quietly_hash, args=(fp.path,), name="daguerre-hash", daemon=True
    )
    thread.start()


def _quietly_hash(path: str) -> None:
    # A failure is asked for again when an image is saved, and reported there.
    with contextlib.suppress(ModelError):
        sha256_file(path)


def _digest(root: Path, cancel: threading.Event | None = None) -> str:
    try:
        if root.is_dir():
            outer = hashlib.sha256()
            for f in _files_under(root):
                digest = _hash_file(f, cancel)
                outer.update(f"{f.relative_to(root).as_posix()}\0{digest}\n".encode())
            return outer.hexdigest()
        return _hash_file(root, cancel)
    except OSError as exc:
        raise ModelError(f"cannot read {root} to hash it: {exc}") from exc


def _disk_cache_path() -> Path:
    from nodes.paths import home_dir

    return home_dir() / "cache" / _DISK_CACHE


def _load_disk_cache() -> None:
    """Read the digests of earlier sessions once (call with the lock held)."""
    if _disk_read.is_set():
        return
    _disk_read.set()
    try:
        entries = json.loads(_disk_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # none yet, or unreadable: digests are recomputed, never trusted blindly
    if not isinstance(entries, list):
        return
    for entry in entries:
        try:
            fp = Fingerprint(str(entry["path"]), int(entry["size"]), int(entry["mtime_ns"]))
            digest = str(entry["sha256"])
        except (KeyError, TypeError, ValueError):
            continue
        if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
            _hashes.setdefault(fp, digest)


def _save_disk_cache() -> None:
    from nodes.workflow.io import write_atomic

    with _hash_lock:
        entries = [
            {"path": fp.path, "size": fp.size, "mtime_ns": fp.mtime_ns, "sha256": digest}
            for fp, digest in _hashes.items()
        ]
    try:
        data = (json.dumps(entries, indent=1) + "\n").encode("utf-8")
        path = _disk_cache_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    except OSError:
        pass  # a read-only home only costs a re-hash next session


def forget_hashes() -> None:
    """Drop the in-memory digests and re-read the disk cache next time (for tests)."""
    with _hash_lock:
        _hashes.clear()
        _disk_read.clear()


def _hash_file(path: Path, cancel: threading.Event | None) -> str:
    return _hash_one(path) if cancel is None else _hash_chunks(path, cancel)


def _hash_one(path: Path) -> str:
    return _hash_chunks(path, None)


def _hash_chunks(path: Path, cancel: threading.Event | None) -> str:
    h = hashlib.sha256()
    buffer = bytearray(_CHUNK)  # one buffer read into again and again: no 8 MB allocations
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as f:
        while count := f.readinto(buffer):
            if cancel is not None and cancel.is_set():
                raise HashCancelled(f"hashing {path} was cancelled")
            h.update(view[:count])  # hashlib releases the GIL for big chunks: others run
    return h.hexdigest()


def _files_under(root: Path) -> list[Path]:
    return sorted(f for f in root.rglob("*") if f.is_file())
