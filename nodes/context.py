"""What a running node may touch: :class:`NodeContext`, built on an :class:`Environment`.

A node reaches the world only through its context — the device and precision policy,
the file resolver (models folder), the output folder, progress and preview reporting, the
cancel token — so it runs the same in a test, the CLI and the app.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nodes.api import NodeError
from nodes.events import Event, NodeProgress, NodeResult
from nodes.paths import FileResolver, default_resolver

if TYPE_CHECKING:
    import numpy as np

    from nodes.graph import Graph


class Cancelled(Exception):
    """Raised inside a run when its cancel token is set."""


class CancelToken:
    """Set from any thread; checked by the executor before each node and by nodes' loops."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled


@dataclass
class Environment:
    """Settings shared by every node of a run (and usually by every run of a session)."""

    output_dir: Path = field(default_factory=lambda: Path.cwd() / "output")
    resolve_file: FileResolver = default_resolver
    device: str = "auto"
    """auto | cpu | cuda | cuda:N | mps — interpreted by the model nodes."""
    precision: str = "auto"
    """auto | fp32 | fp16 | bf16 — interpreted by the model nodes."""
    acceleration: str = "auto"
    """auto | off | graphs | compile — how the sampler runs the denoiser on CUDA."""
    previews: bool = True
    preview_interval: float = 0.1
    """Minimum seconds between two previews of one node (the last step always gets one)."""
    services: dict[str, Any] = field(default_factory=dict)
    """Long-lived helpers nodes share across runs (the model cache lives here)."""
    extra_png_texts: Callable[[Graph], dict[str, str]] | None = None
    """More text chunks for the PNGs Save Image writes, made from the graph being run. The
    CLI and the app pass :func:`nodes.comfy.png_texts.comfy_png_texts` (ComfyUI's
    ``prompt``, so a saved image opens in ComfyUI too): the engine cannot import the
    ComfyUI adapter itself, so the edges that use it hand it in."""
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("daguerre"))


class NodeContext:
    """The context handed to ``Node.run``; one per node execution."""

    __slots__ = (
        "_emit",
        "_last_preview",
        "cancel",
        "env",
        "graph",
        "node_id",
        "results",
        "run_id",
    )

    def __init__(
        self,
        env: Environment,
        run_id: int,
        node_id: str,
        emit: Callable[[Event], None],
        cancel: CancelToken,
        graph: Graph | None = None,
    ) -> None:
        self.env = env
        self.graph = graph
        """The graph being run, read-only: what save nodes embed in their files."""
        self.run_id = run_id
        self.node_id = node_id
        self.cancel = cancel
        self.results: list[NodeResult] = []
        self._emit = emit
        self._last_preview = float("-inf")  # the first step always gets a preview

    @property
    def logger(self) -> logging.Logger:
        return self.env.logger

    @property
    def output_dir(self) -> Path:
        return self.env.output_dir

    def check_cancelled(self) -> None:
        """Raise :class:`Cancelled` if the run was cancelled; call it in inner loops."""
        self.cancel.check()

    def progress(
        self,
        step: int,
        total: int,
        preview: Callable[[], np.ndarray | None] | None = None,
    ) -> None:
        """Report ``step`` of ``total``. ``preview`` is called only when one is due.

        Previews are throttled to ``env.preview_interval`` and the final step always gets
        one, so a node may offer a preview every step at no cost.
        """
        image = None
        if preview is not None and self.env.previews:
            now = time.perf_counter()
            if step >= total or now - self._last_preview >= self.env.preview_interval:
                image = preview()
                self._last_preview = now
        self._emit(NodeProgress(self.run_id, self.node_id, step, total, image))

    def result(
        self,
        *,
        files: tuple[str, ...] = (),
        images: tuple[Any, ...] = (),
        text: str | None = None,
    ) -> None:
        """Show or record something (saved files, images, a value). Cached re-runs repeat it."""
        record = NodeResult(self.run_id, self.node_id, tuple(files), tuple(images), text)
        self.results.append(record)
        self._emit(record)

    def resolve_file(self, kind: str, value: str, field: str) -> Path:
        """The file a file param names, or a :class:`NodeError` on ``field``."""
        path = self.env.resolve_file(kind, value)
        if path is None:
            raise NodeError(f"{kind} file not found: {value}", field)
        return path
