"""A tiny observer, after ryvencore: ``doc.node_added.sub(callback)``; no framework."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Signal:
    """A list of callbacks called in subscription order with the emitted arguments."""

    __slots__ = ("_subscribers", "name")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._subscribers: list[Callable[..., Any]] = []

    def sub(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        self._subscribers.append(callback)
        return callback

    def unsub(self, callback: Callable[..., Any]) -> None:
        self._subscribers.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._subscribers):
            callback(*args)

    def __len__(self) -> int:
        return len(self._subscribers)
