"""The cluster choice as it is written in settings and on the command line: ``local`` (or
empty) for the thread runner, ``auto`` or ``ray://HOST:PORT`` for a Ray cluster. A leaf
module: settings validate it without importing the runners (:mod:`nodes.run_protocol`
opens one)."""

from __future__ import annotations

LOCAL = "local"
"""The thread runner in this process (also the empty string)."""


def valid_cluster(address: str) -> bool:
    """Whether ``address`` is a cluster choice: local, auto or ``ray://HOST:PORT``."""
    if address in ("", LOCAL, "auto"):
        return True
    if not address.startswith("ray://"):
        return False
    host, colon, port = address[len("ray://") :].rpartition(":")
    return bool(colon and host and port.isascii() and port.isdigit() and 0 < int(port) < 65536)


def is_local(address: str | None) -> bool:
    return address is None or address in ("", LOCAL)
