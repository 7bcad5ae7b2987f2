"""The output cache: node outputs by signature, least recently used evicted first.

A node's signature hashes what determines its outputs — type id, declaration version,
param values, file stamps and the signatures of what feeds it — and nothing else (not
node ids, titles or positions). Two runs that agree on a signature share the outputs.
Loaded models are not counted here; they live in the model cache (see the model nodes).
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, SupportsInt

from nodes.events import NodeResult

DEFAULT_BUDGET = 4 * 1024**3


@dataclass(frozen=True, slots=True)
class CacheEntry:
    outputs: tuple[Any, ...]
    results: tuple[NodeResult, ...]
    nbytes: int


class OutputCache:
    """Least-recently-used store bounded by an estimate of the bytes it holds."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self.total_bytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def get(self, signature: str) -> CacheEntry | None:
        entry = self._entries.get(signature)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(signature)
        self.hits += 1
        return entry

    def put(
        self, signature: str, outputs: tuple[Any, ...], results: tuple[NodeResult, ...] = ()
    ) -> None:
        old = self._entries.pop(signature, None)
        if old is not None:
            self.total_bytes -= old.nbytes
        entry = CacheEntry(outputs, results, estimate_nbytes(outputs))
        self._entries[signature] = entry
        self.total_bytes += entry.nbytes
        self._evict()

    def _evict(self) -> None:
        while self.total_bytes > self.budget_bytes and self._entries:
            _, entry = self._entries.popitem(last=False)
            self.total_bytes -= entry.nbytes
            self.evictions += 1

    def set_budget(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._evict()

    def clear(self) -> None:
        self._entries.clear()
        self.total_bytes = 0

    def __contains__(self, signature: object) -> bool:
        return signature in self._entries

    def __len__(self) -> int:
        return len(self._entries)


def estimate_nbytes(value: Any, _depth: int = 0) -> int:
    """A cheap estimate of the memory ``value`` pins: arrays and tensors by their buffers.

    Duck-typed so the engine needs neither numpy nor torch: anything with ``nbytes``
    (numpy arrays, torch tensors) or a ``memory_bytes()`` method is measured; containers
    are summed; other objects count as their shallow size.
    """
    if _depth > 8:
        return 0
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    memory: Callable[[], SupportsInt] | None = getattr(value, "memory_bytes", None)
    if callable(memory):
        return int(memory())
    if isinstance(value, list | tuple | set | frozenset):
        return 64 + sum(estimate_nbytes(v, _depth + 1) for v in value)
    if isinstance(value, Mapping):
        return 64 + sum(estimate_nbytes(v, _depth + 1) for v in value.values())
    return sys.getsizeof(value, 64)
