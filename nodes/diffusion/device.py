"""Device and precision policy, and the cache that keeps loaded models resident.

``auto`` picks CUDA, then Apple's MPS, then the CPU; precision ``auto`` means fp16 on a GPU
and fp32 on the CPU (bf16 on request). Loaded models are kept between runs in a
:class:`ModelCache` keyed by (kind, file fingerprint, options, device, dtype), so a changed
file is reloaded and an unchanged one never is; the least recently used are dropped when a
new model would not fit, and a CUDA out-of-memory error frees the cache before it reaches
the user as a node error with advice.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import torch

from nodes.context import Environment
from nodes.models.fingerprint import file_fingerprint, hash_in_background

T = TypeVar("T")

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(f"{name} was asked for, but torch sees no CUDA GPU")
        index = name.partition(":")[2]
        count = torch.cuda.device_count()
        if index and (not index.isdigit() or int(index) >= count):
            raise ValueError(
                f"{name} was asked for, but torch sees {count} CUDA GPU(s): "
                f"cuda:0 to cuda:{count - 1}"
            )
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("MPS was asked for, but this machine has no Apple GPU available")
    return torch.device(name)


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    if precision == "auto":
        return torch.float32 if device.type == "cpu" else torch.float16
    try:
        return DTYPES[precision]
    except KeyError:
        raise ValueError(f"unknown precision {precision!r} (auto, fp32, fp16, bf16)") from None


def dtype_name(dtype: torch.dtype) -> str:
    return {v: k for k, v in DTYPES.items()}.get(dtype, str(dtype))


class ModelCache:
    """Loaded models by key, least recently used dropped beyond ``max_models``."""

    def __init__(self, max_models: int = 6) -> None:
        self.max_models = max_models
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0

    def get(
        self,
        key: Hashable,
        load: Callable[[], T],
        *,
        device: torch.device | None = None,
        size: int = 0,
    ) -> T:
        """The cached value for ``key``, or ``load()``'s. On CUDA, ``size`` (bytes the new
        model will take) first evicts least recently used models until it fits."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        if device is not None and device.type == "cuda" and size:
            self._make_room(device, size)
        try:
            value = load()
        except torch.OutOfMemoryError:
            self.clear()  # make room and try once more before giving up
            value = load()
        with self._lock:
            self.loads += 1
            self._items[key] = value
            while len(self._items) > self.max_models:
                self._items.popitem(last=False)
        return value

    def _make_room(self, device: torch.device, size: int) -> None:
        free, _ = torch.cuda.mem_get_info(device)
        while free < size * 1.25 and self._items:
            with self._lock:
                self._items.popitem(last=False)
            release_memory()
            free, _ = torch.cuda.mem_get_info(device)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
        release_memory()

    def __len__(self) -> int:
        return len(self._items)


def release_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def model_key(
    kind: str, path: Path, device: torch.device, dtype: torch.dtype, *options: Hashable
) -> tuple[Hashable, ...]:
    """The model cache key of ``path`` loaded this way. Starts hashing the file in the
    background too: the reproducibility record of the first saved image needs its digest,
    and computed alongside the load it costs that image nothing."""
    hash_in_background(path)
    return (kind, file_fingerprint(path), str(device), str(dtype), *options)


def key_size(key: tuple[Hashable, ...], dtype: torch.dtype) -> int:
    """Roughly the memory the model of ``key`` will take: its file size, scaled to ``dtype``
    (published files are mostly fp16; fp32 doubles them)."""
    size = getattr(key[1], "size", 0)
    return size * 2 if dtype == torch.float32 else size


def model_cache(env: Environment) -> ModelCache:
    cache = env.services.get("models")
    if cache is None:
        cache = env.services["models"] = ModelCache()
    return cache


def placement(env: Environment) -> tuple[torch.device, torch.dtype]:
    device = resolve_device(env.device)
    return device, resolve_dtype(env.precision, device)
