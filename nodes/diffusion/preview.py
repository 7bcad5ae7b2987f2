"""Preview copies from the device to the host that never make the sampler wait.

On the CPU a preview is a plain conversion. On a GPU, ``tensor.cpu()`` would block the
Python thread until every queued kernel has run — a host sync per preview that stalls the
launch queue the sampler keeps full. Instead the x0 estimate is copied ``non_blocking`` into
a pinned host buffer and an event is recorded behind it; the image handed to the app is the
newest copy whose event has completed. Two buffers alternate, so a copy in flight is never
overwritten. Only the last step waits for its own copy, so the final preview is exact.
"""

from __future__ import annotations

import numpy as np
import torch


class PreviewCopy:
    """Latent previews (C×h×w) brought to the host as float32 numpy arrays."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.asynchronous = device.type == "cuda"
        self._resident: dict[int, torch.Tensor] = {}
        self._buffers: list[torch.Tensor] = []
        self._events: list[torch.cuda.Event | None] = [None, None]
        self._next = 0
        self._pending: int | None = None
        """The buffer whose copy was started last and has not been read yet."""

    def resident(self, table: torch.Tensor | None) -> torch.Tensor | None:
        """``table`` (a scheduler's per-timestep constants) on the device, copied there
        once per run rather than at every preview."""
        if table is None or table.device == self.device:
            return table
        key = id(table)
        if key not in self._resident:
            self._resident[key] = table.to(self.device, torch.float32)
        return self._resident[key]

    def fetch(self, latent: torch.Tensor, *, wait: bool = False) -> np.ndarray | None:
        """Start copying ``latent``; the newest arrived copy (this one when ``wait``), or
        None when none has arrived yet."""
        if not self.asynchronous:
            return latent.to("cpu", torch.float32).numpy()
        arrived = self._arrived()
        index = self._start(latent)
        if wait:
            event = self._events[index]
            assert event is not None
            event.synchronize()
            self._pending = None
            return self._buffers[index].numpy().copy()
        return arrived

    def _arrived(self) -> np.ndarray | None:
        if self._pending is None:
            return None
        event = self._events[self._pending]
        if event is None or not event.query():
            return None
        image = self._buffers[self._pending].numpy().copy()
        self._pending = None
        return image

    def _start(self, latent: torch.Tensor) -> int:
        source = latent.to(torch.float32)
        if not self._buffers or self._buffers[0].shape != source.shape:
            self._buffers = [
                torch.empty(source.shape, dtype=torch.float32, pin_memory=True) for _ in range(2)
            ]
            self._events = [None, None]
        index = self._next
        if index == self._pending:  # never overwrite a copy still unread
            index = 1 - index
        self._buffers[index].copy_(source, non_blocking=True)
        event = torch.cuda.Event()
        event.record(torch.cuda.current_stream(source.device))
        self._events[index] = event
        self._pending = index
        self._next = 1 - index
        return index
