"""A fake Hugging Face Hub on 127.0.0.1 for the download tests: repos served in the hub's
URL layout (``/{repo}/resolve/{revision}/{file}`` with the headers ``huggingface_hub``
reads, Range requests, ``/api/models/{repo}/tree/{revision}``), gated repos that want a
token, and faults on demand (a connection dropped mid-file, a failing server, corrupted
bytes, a slow transfer).

:func:`serve_fake_hub` starts it with ``HF_ENDPOINT`` pointed at it and lets sockets reach
loopback addresses only (the suite refuses every connection otherwise): nothing here can
touch the real hub.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

_REAL_CONNECT = socket.socket.connect
_REAL_CREATE = socket.create_connection
COMMIT = "0123456789abcdef0123456789abcdef01234567"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
CHUNK = 1 << 16
"""The downloader's chunk size in these tests; a connection dropped at a multiple of it
keeps every byte sent (httpx hands over whole chunks only)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data, usedforsecurity=False).hexdigest()


@dataclass
class Request:
    method: str
    path: str
    range: str | None
    authorization: str | None


@dataclass
class FakeHub:
    repos: dict[str, dict[str, bytes]] = field(default_factory=dict)
    gated: dict[str, str] = field(default_factory=dict)
    """repo → the token it wants."""
    requests: list[Request] = field(default_factory=list)
    drop_after: int | None = None
    """A GET of a file sends this many bytes, then the connection breaks (once)."""
    fail_after_drop: int = 0
    """So many GETs after the drop answer 503."""
    fail_next: int = 0
    corrupt: set[str] = field(default_factory=set)
    """Files served with one byte changed (their headers keep the true hash)."""
    chunk_delay: float = 0.0
    """Seconds between 64 KB chunks of a body (a slow link)."""
    port: int = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def gets(self, name: str) -> list[Request]:
        return [r for r in self.requests if r.method == "GET" and r.path.endswith("/" + name)]


class _Handler(BaseHTTPRequestHandler):
    server: Any
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        hub: FakeHub = self.server.hub
        path = unquote(urlsplit(self.path).path)
        hub.requests.append(
            Request(
                self.command, path, self.headers.get("Range"), self.headers.get("Authorization")
            )
        )
        if hub.fail_next > 0 and body:
            hub.fail_next -= 1
            return self._send(503, b"busy")
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "tree":
            return self._tree(hub, f"{parts[2]}/{parts[3]}")
        if len(parts) < 5 or parts[2] != "resolve":
            return self._send(404, b"not found", {"X-Error-Code": "RepoNotFound"})
        repo, name = f"{parts[0]}/{parts[1]}", "/".join(parts[4:])
        if not self._allowed(hub, repo):
            return
        files = hub.repos.get(repo)
        if files is None:
            return self._send(404, b"", {"X-Error-Code": "RepoNotFound"})
        if name not in files:
            return self._send(404, b"", {"X-Error-Code": "EntryNotFound"})
        data = files[name]
        lfs = name.endswith(".safetensors")
        headers = {
            "X-Repo-Commit": COMMIT,
            "ETag": f'"{sha256(data) if lfs else git_sha1(data)}"',
            "Accept-Ranges": "bytes",
        }
        if lfs:
            headers["X-Linked-Etag"] = f'"{sha256(data)}"'
            headers["X-Linked-Size"] = str(len(data))
        if name in hub.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        start, status = 0, 200
        wanted = self.headers.get("Range")
        if wanted and body:
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        payload = data[start:]
        headers["Content-Length"] = str(len(payload))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not body:
            return
        if hub.drop_after is not None:
            cut, hub.drop_after = hub.drop_after, None
            hub.fail_next = hub.fail_after_drop
            self.wfile.write(payload[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        for offset in range(0, len(payload), 1 << 16):
            if hub.chunk_delay:
                time.sleep(hub.chunk_delay)
            try:
                self.wfile.write(payload[offset : offset + (1 << 16)])
            except (BrokenPipeError, ConnectionResetError):
                return

    def _allowed(self, hub: FakeHub, repo: str) -> bool:
        wanted = hub.gated.get(repo)
        if wanted is None or self.headers.get("Authorization") == f"Bearer {wanted}":
            return True
        self._send(
            401,
            b"gated",
            {"X-Error-Code": "GatedRepo", "X-Error-Message": f"Access to {repo} is restricted"},
        )
        return False

    def _tree(self, hub: FakeHub, repo: str) -> None:
        if not self._allowed(hub, repo):
            return
        files = hub.repos.get(repo)
        if files is None:
            return self._send(404, b"", {"X-Error-Code": "RepoNotFound"})
        entries = [
            {"type": "file", "oid": git_sha1(data), "size": len(data), "path": name}
            for name, data in files.items()
        ]
        self._send(200, json.dumps(entries).encode(), {"Content-Type": "application/json"})

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def _host(address: object) -> str:
    if isinstance(address, tuple) and address:
        return str(address[0])
    return str(address)


def allow_loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sockets may reach 127.0.0.1 and nothing else (the suite's guard stays for the rest)."""

    def connect(sock: socket.socket, address: object) -> None:
        if _host(address) not in LOOPBACK:
            raise AssertionError(f"a test tried to reach {address!r}")
        _REAL_CONNECT(sock, address)  # type: ignore[arg-type]

    def create(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if _host(address) not in LOOPBACK:
            raise AssertionError(f"a test tried to reach {address!r}")
        return _REAL_CREATE(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create)


@contextmanager
def serve_fake_hub(
    monkeypatch: pytest.MonkeyPatch, hub: FakeHub, tmp_home: str
) -> Iterator[FakeHub]:
    """Serve ``hub`` on a free loopback port with ``HF_ENDPOINT`` pointed at it,
    huggingface_hub's offline switch off and its home in ``tmp_home``."""
    import huggingface_hub.constants as hf_constants
    from huggingface_hub.utils import close_session

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.hub = hub  # type: ignore[attr-defined]
    hub.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    allow_loopback_only(monkeypatch)
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HOME", tmp_home)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "HF_HUB_DOWNLOAD_TIMEOUT", 5)
    monkeypatch.setattr("nodes.hub.downloads.CHUNK_SIZE", CHUNK)  # many chunks per test file
    close_session()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        close_session()
