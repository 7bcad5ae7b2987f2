"""A downloaded file checked against the hash the hub reports for it, computed while the
bytes arrive (no second read of a multi-gigabyte file)."""

from __future__ import annotations

import hashlib
from typing import Any


class HashCheck:
    """The hash the hub reports for a file, computed while it arrives: SHA-256 for LFS files
    (a 64-hex etag), the git blob SHA-1 for files kept in git (40 hex, which hashes
    ``blob SIZE\\0`` before the bytes)."""

    def __init__(self, etag: str | None, size: int | None) -> None:
        self.etag = (etag or "").lower()
        self.size = size
        self._reset()

    def _reset(self) -> None:
        if len(self.etag) == 64:
            self.hasher: Any = hashlib.sha256()
            self.name = "sha256"
        elif len(self.etag) == 40 and self.size is not None:
            self.hasher = hashlib.sha1(f"blob {self.size}\0".encode(), usedforsecurity=False)
            self.name = "git sha1"
        else:
            self.hasher = None
            self.name = ""

    def update(self, chunk: bytes) -> None:
        if self.hasher is not None:
            self.hasher.update(chunk)

    def restart(self) -> None:
        self._reset()

    def problem(self, size: int) -> str | None:
        if self.size is not None and size != self.size:
            return f"{size} bytes instead of {self.size}"
        if self.hasher is None:
            return None
        digest = self.hasher.hexdigest()
        if digest != self.etag:
            return f"{self.name} {digest[:12]}… instead of {self.etag[:12]}…"
        return None
