from __future__ import annotations

import hashlib
import json
import os
import threading
from typing import TYPE_CHECKING

import pytest

from nodes.models import fingerprint
from nodes.models.errors import ModelError
from nodes.models.fingerprint import file_fingerprint, sha256_file

if TYPE_CHECKING:
    from pathlib import Path


def test_fingerprint_tracks_changes(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"abc")
    fp = file_fingerprint(path)
    assert fp.path == str(path.resolve())
    assert fp.size == 3
    assert fp == file_fingerprint(tmp_path / "." / "m.safetensors")
    os.utime(path, ns=(fp.mtime_ns + 10**9, fp.mtime_ns + 10**9))
    assert file_fingerprint(path).mtime_ns == fp.mtime_ns + 10**9


def test_sha256_is_chunked_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(3 * 1024 + 7)
    path = tmp_path / "m.ckpt"
    path.write_bytes(data)
    monkeypatch.setattr(fingerprint, "_CHUNK", 1024)
    calls = []
    real = fingerprint._hash_one
    monkeypatch.setattr(fingerprint, "_hash_one", lambda p: calls.append(p) or real(p))
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert len(calls) == 1
    path.write_bytes(data + b"!")  # new size, so a new fingerprint
    assert sha256_file(path) == hashlib.sha256(data + b"!").hexdigest()
    assert len(calls) == 2


def test_folder_fingerprint_and_hash(tmp_path: Path) -> None:
    (tmp_path / "unet").mkdir()
    (tmp_path / "unet" / "w.safetensors").write_bytes(b"1234")
    (tmp_path / "model_index.json").write_text("{}")
    fp = file_fingerprint(tmp_path)
    assert fp.size == 6
    digest = sha256_file(tmp_path)
    assert len(digest) == 64
    (tmp_path / "unet" / "w.safetensors").write_bytes(b"12345")
    assert sha256_file(tmp_path) != digest


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        file_fingerprint(tmp_path / "gone.safetensors")
    with pytest.raises(ModelError, match="not found"):
        sha256_file(tmp_path / "gone.safetensors")


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    real = fingerprint._hash_one

    def counted(path):
        reads.append(str(path))
        return real(path)

    monkeypatch.setattr(fingerprint, "_hash_one", counted)
    return reads


def test_digests_persist_across_sessions_by_path_size_and_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.safetensors"
    path.write_bytes(os.urandom(4096))
    reads = _count_reads(monkeypatch)
    digest = sha256_file(path)
    fingerprint.forget_hashes()  # a new process: only the disk cache remembers
    assert sha256_file(path) == digest
    assert len(reads) == 1
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the file changed
    fingerprint.forget_hashes()
    assert sha256_file(path) == digest  # same bytes, but it was read again to know that
    assert len(reads) == 2


def test_a_damaged_digest_cache_is_ignored(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"weights")
    cache = fingerprint._disk_cache_path()
    cache.parent.mkdir(parents=True, exist_ok=True)
    fp = file_fingerprint(path)
    forged = {"path": fp.path, "size": fp.size, "mtime_ns": fp.mtime_ns, "sha256": "x" * 64}
    cache.write_text(f'[{{"nonsense": 1}}, {json.dumps(forged)}, 3]', encoding="utf-8")
    fingerprint.forget_hashes()
    assert sha256_file(path) == hashlib.sha256(b"weights").hexdigest()
    cache.write_text("{not json", encoding="utf-8")
    fingerprint.forget_hashes()
    assert sha256_file(path) == hashlib.sha256(b"weights").hexdigest()


def test_background_hashing_is_waited_for_not_repeated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(os.urandom(2 * 1024 * 1024))
    gate = threading.Event()
    reads: list[str] = []
    real = fingerprint._hash_one

    def slow(p):
        reads.append(str(p))
        gate.wait(10)
        return real(p)

    monkeypatch.setattr(fingerprint, "_hash_one", slow)
    fingerprint.forget_hashes()
    fingerprint.hash_in_background(path)
    fingerprint.hash_in_background(path)  # already in flight: nothing new starts
    results: list[str] = []
    waiter = threading.Thread(target=lambda: results.append(sha256_file(path)))
    waiter.start()
    gate.set()
    waiter.join(10)
    assert results == [hashlib.sha256(path.read_bytes()).hexdigest()]
    assert len(reads) == 1
    fingerprint.hash_in_background(tmp_path / "missing.safetensors")  # no error, no thread
