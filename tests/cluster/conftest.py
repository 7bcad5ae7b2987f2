"""One local Ray for the whole pytest run (started on first use, shut down at the end), and
the network guard relaxed to this machine: Ray's processes talk over 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import ray

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Like the suite's guard, but connections to this machine (Ray's) are allowed."""
    connect = socket.socket.connect

    def local_only(self: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in LOOPBACK:
            raise AssertionError(f"a test tried to open a network connection: {address!r}")
        connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """A local Ray with two CPUs, on 127.0.0.1, without its dashboard."""
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
        configure_logging=False,
    )
    try:
        yield
    finally:
        ray.shutdown()
