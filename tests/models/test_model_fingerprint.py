from __future__ import annotations

import hashlib
import os
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
