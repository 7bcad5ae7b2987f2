"""Runs as plain data: what crosses a process or a machine between a client and a worker.

- :class:`RunSpec` — one run: the workflow document, its ``{"node.param": value}``
  overrides, the targets, a label, and the output policy.
- :class:`EnvironmentSpec` — what a worker needs to build its own
  :class:`~nodes.context.Environment`: the models folders *as the worker sees them*, the
  device, precision and acceleration, previews. No callables and no live models cross it;
  the one hook, the extra PNG text chunks, is named as ``"module:function"`` and imported
  by the worker (the ComfyUI adapter is plugged in by the edges, never imported here).
- :class:`Artifact` and :class:`JobResult` — what a run made, as bytes plus metadata (a
  PNG carries its embedded workflow and record), so a result can come back from another
  machine and be written by the client.

Every class round-trips through JSON (``to_json`` / ``from_json``); the tests check it.
"""

from __future__ import annotations

import base64
import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from nodes.graph import Graph, copy_json

if TYPE_CHECKING:
    from nodes.context import Environment


class OutputPolicy(StrEnum):
    """Where a run's images go."""

    CLIENT = "client"
    """Back to the client as bytes, written (numbered) in the client's output folder."""
    SHARED = "shared"
    """Written by the worker straight into the output folder, which every worker sees
    (a shared folder or a mounted object store): only the paths come back."""


@dataclass(frozen=True)
class RunSpec:
    """One run: a workflow document with overrides (a job is one expanded run)."""

    workflow: dict[str, Any]
    overrides: dict[str, Any] = field(default_factory=dict[str, Any])
    targets: tuple[str, ...] | None = None
    label: str = ""
    output: OutputPolicy = OutputPolicy.CLIENT

    def to_json(self) -> dict[str, Any]:
        return {
            "workflow": copy_json(self.workflow),
            "overrides": copy_json(self.overrides),
            "targets": list(self.targets) if self.targets is not None else None,
            "label": self.label,
            "output": self.output.value,
        }

    @classmethod
    def of(
        cls,
        workflow: Any,
        overrides: Mapping[str, Any] | None = None,
        targets: Iterable[str] | None = None,
        label: str = "",
    ) -> RunSpec:
        """The spec of a ``submit()``: ``workflow`` (a document or a :class:`Graph`) is
        copied now, so the caller may keep editing theirs."""
        if isinstance(workflow, Graph):
            from nodes.workflow import to_dict

            workflow = to_dict(workflow)
        if not isinstance(workflow, dict):
            raise TypeError("submit() takes a workflow document (dict)")
        return cls(
            copy_json(workflow),
            dict(overrides or {}),
            tuple(targets) if targets is not None else None,
            label,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSpec:
        targets = data.get("targets")
        return cls(
            workflow=copy_json(data["workflow"]),
            overrides=dict(data.get("overrides") or {}),
            targets=tuple(str(t) for t in targets) if targets is not None else None,
            label=str(data.get("label", "")),
            output=OutputPolicy(data.get("output", OutputPolicy.CLIENT.value)),
        )


@dataclass(frozen=True)
class EnvironmentSpec:
    """What a worker builds its :class:`~nodes.context.Environment` from (plain data)."""

    models_dirs: tuple[str, ...] = ()
    """Models folders as seen by the worker."""
    base_dir: str | None = None
    """The workflow file's folder (file params are also looked up next to it)."""
    output_dir: str = ""
    """Where the worker writes images: a scratch folder of its own for
    :attr:`OutputPolicy.CLIENT`, the shared folder for :attr:`OutputPolicy.SHARED`."""
    device: str = "auto"
    precision: str = "auto"
    acceleration: str = "auto"
    previews: bool = False
    preview_interval: float = 0.1
    png_texts: str | None = None
    """``"module:function"`` making more PNG text chunks from the graph
    (``Environment.extra_png_texts``), imported by the worker; None for none."""

    def to_json(self) -> dict[str, Any]:
        return {
            "models_dirs": list(self.models_dirs),
            "base_dir": self.base_dir,
            "output_dir": self.output_dir,
            "device": self.device,
            "precision": self.precision,
            "acceleration": self.acceleration,
            "previews": self.previews,
            "preview_interval": self.preview_interval,
            "png_texts": self.png_texts,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EnvironmentSpec:
        return cls(
            models_dirs=tuple(str(d) for d in data.get("models_dirs", ())),
            base_dir=data.get("base_dir"),
            output_dir=str(data.get("output_dir", "")),
            device=str(data.get("device", "auto")),
            precision=str(data.get("precision", "auto")),
            acceleration=str(data.get("acceleration", "auto")),
            previews=bool(data.get("previews", False)),
            preview_interval=float(data.get("preview_interval", 0.1)),
            png_texts=data.get("png_texts"),
        )

    @classmethod
    def of(cls, env: Environment) -> EnvironmentSpec:
        """The spec of an Environment an edge built (the app's): its models folders when
        it resolves files with a :class:`~nodes.paths.FileFinder` (absolute, with this
        folder last, for workers elsewhere), its policies, and its PNG text hook by name."""
        from nodes.paths import FileFinder

        finder = env.resolve_file
        dirs: list[str] = []
        base: str | None = None
        if isinstance(finder, FileFinder):
            dirs = [str(Path(d).expanduser().resolve()) for d in finder.models_dirs]
            base = str(finder.base_dir) if finder.base_dir is not None else None
        hook = env.extra_png_texts
        return cls(
            models_dirs=(*dirs, str(Path.cwd())),
            base_dir=base,
            output_dir=str(Path(env.output_dir).expanduser().resolve()),
            device=env.device,
            precision=env.precision,
            acceleration=env.acceleration,
            previews=env.previews,
            preview_interval=env.preview_interval,
            png_texts=f"{hook.__module__}:{hook.__name__}" if hook is not None else None,
        )

    def build(self, output_dir: Path | None = None) -> Environment:
        """The worker's own Environment (``output_dir`` replaces the spec's folder)."""
        from nodes.context import Environment
        from nodes.paths import FileFinder

        finder = FileFinder(
            [Path(d) for d in self.models_dirs],
            base_dir=Path(self.base_dir) if self.base_dir else None,
        )
        return Environment(
            output_dir=output_dir or Path(self.output_dir or "output").expanduser(),
            resolve_file=finder,
            device=self.device,
            precision=self.precision,
            acceleration=self.acceleration,
            previews=self.previews,
            preview_interval=self.preview_interval,
            extra_png_texts=load_hook(self.png_texts),
        )


def load_hook(name: str | None) -> Callable[[Graph], dict[str, str]] | None:
    """The function ``"package.module:function"`` names (None for None); a ValueError
    for a name that is not of that form or does not name a callable."""
    if name is None:
        return None
    module_name, colon, attribute = name.partition(":")
    if not colon or not module_name or not attribute:
        raise ValueError(f"hook {name!r} is not 'module:function'")
    function = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(function):
        raise ValueError(f"hook {name!r} names no function")
    return cast("Callable[[Graph], dict[str, str]]", function)


@dataclass(frozen=True)
class Artifact:
    """One file a run made, as bytes: ``prefix`` and ``suffix`` say how the client names
    it (``prefix_00001.png``, numbered in the client's folder as Save Image numbers)."""

    node_id: str
    prefix: str
    suffix: str
    data: bytes
    path: str | None = None
    """Where it was written (for :attr:`OutputPolicy.SHARED`; the client's once written)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "prefix": self.prefix,
            "suffix": self.suffix,
            "data": base64.b64encode(self.data).decode("ascii"),
            "path": self.path,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Artifact:
        return cls(
            node_id=str(data["node_id"]),
            prefix=str(data["prefix"]),
            suffix=str(data["suffix"]),
            data=base64.b64decode(data["data"]),
            path=data.get("path"),
        )


@dataclass(frozen=True)
class JobResult:
    """What a worker sends back for one run: the outcome summary (``RunOutcome.to_json``)
    with its status and error, the artifacts in the order they were made, and where it
    ran (host and device, also added to each PNG's record)."""

    status: str
    outcome: dict[str, Any]
    artifacts: tuple[Artifact, ...] = ()
    error: str | None = None
    worker: dict[str, str] = field(default_factory=dict[str, str])

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "outcome": copy_json(self.outcome),
            "artifacts": [a.to_json() for a in self.artifacts],
            "error": self.error,
            "worker": dict(self.worker),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobResult:
        return cls(
            status=str(data["status"]),
            outcome=dict(data.get("outcome") or {}),
            artifacts=tuple(Artifact.from_json(a) for a in data.get("artifacts", ())),
            error=data.get("error"),
            worker={str(k): str(v) for k, v in (data.get("worker") or {}).items()},
        )
