"""User settings shared by the app and the command line (a JSON file in Daguerre's home).

Unknown keys are kept, so a newer Daguerre's settings survive an older one. A missing or
unreadable file means defaults — settings never stop Daguerre from starting.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from nodes.cluster_address import valid_cluster
from nodes.paths import default_output_dir, home_dir, models_dirs_from_env

log = logging.getLogger("daguerre.settings")

DEVICES = ("auto", "cpu", "cuda", "mps")
"""The device menu; ``cuda:N`` (a GPU by index) is accepted too, see :func:`valid_device`."""
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
ACCELERATIONS = ("auto", "off", "graphs", "compile")
"""How the denoiser runs: ``auto`` is ``graphs`` on CUDA and ``off`` elsewhere (see
docs/acceleration.md)."""
ACCELERATION_ENV = "DAGUERRE_ACCELERATION"
"""Overrides the acceleration setting (the CLI's ``--acceleration`` overrides both)."""


def valid_device(name: str) -> bool:
    """Whether ``name`` is a device Daguerre understands: a :data:`DEVICES` entry or
    ``cuda:N`` for the GPU with index N (several GPUs on one machine)."""
    if name in DEVICES:
        return True
    kind, _, index = name.partition(":")
    return kind == "cuda" and index.isascii() and index.isdigit() and len(index) <= 3


def cuda_devices() -> tuple[str, ...]:
    """``cuda:N`` for each NVIDIA GPU the driver lists, found without importing torch (the
    app's settings dialog must not): Linux's driver keeps one folder per GPU under
    ``/proc/driver/nvidia/gpus``. Elsewhere nothing is listed and ``cuda``/``cuda:N`` can
    still be chosen on the command line."""
    try:
        count = len(list(Path("/proc/driver/nvidia/gpus").iterdir()))
    except OSError:
        return ()
    return tuple(f"cuda:{i}" for i in range(count))


def acceleration_from_env(setting: str) -> str:
    """The acceleration in force: the environment's override when valid, else ``setting``."""
    value = os.environ.get(ACCELERATION_ENV, "").strip().lower()
    return value if value in ACCELERATIONS else setting


@dataclass
class Settings:
    models_dirs: list[str] = field(default_factory=list)
    """Models folders, searched in order (after DAGUERRE_MODELS)."""
    output_dir: str = ""
    """Where images are saved; empty means the default (Pictures/Daguerre)."""
    device: str = "auto"
    """auto, cpu, cuda, cuda:N or mps."""
    precision: str = "auto"
    acceleration: str = "auto"
    """auto, off, graphs or compile (:data:`ACCELERATIONS`)."""
    previews: bool = True
    preview_rate: float = 10.0
    """Previews per second at most (the last step always gets one)."""
    theme: str = "dark"
    cluster: str = "local"
    """Where runs go: local (this process), auto (the running Ray cluster, else a new
    local one) or ``ray://HOST:PORT`` (:mod:`nodes.cluster`)."""
    cluster_workers: int = 0
    """Actors on the cluster; 0 is one per GPU, else one per CPU."""
    silenced_advice: list[str] = field(default_factory=list)
    """Advice rule ids not shown anywhere ("cfg.high", or "cfg" for every cfg rule; see
    :mod:`nodes.advice.rules`)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def path() -> Path:
        return home_dir() / "settings.json"

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        file = path or cls.path()
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable settings %s: %s", file, exc)
            return cls()
        if not isinstance(data, dict):
            return cls()
        settings = cls()
        known = {f.name for f in fields(cls)} - {"extra"}
        for key, value in data.items():
            if key in known and _fits(getattr(settings, key), value):
                setattr(settings, key, value)
            elif key not in known:
                settings.extra[key] = value
        if not valid_device(settings.device):
            settings.device = "auto"
        if settings.acceleration not in ACCELERATIONS:
            settings.acceleration = "auto"
        if settings.precision not in PRECISIONS:
            settings.precision = "auto"
        if not valid_cluster(settings.cluster):
            settings.cluster = "local"
        settings.cluster_workers = max(0, settings.cluster_workers)
        return settings

    def save(self, path: Path | None = None) -> Path:
        from nodes.workflow.io import write_atomic

        file = path or self.path()
        data = asdict(self)
        extra = data.pop("extra")
        data.update({k: v for k, v in extra.items() if k not in data})
        write_atomic(file, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
        return file

    def model_dirs(self, given: list[Path] | None = None) -> list[Path]:
        """Where to look for models: ``given`` (--models), DAGUERRE_MODELS, the settings'
        folders, then ``<home>/models`` (where the demo model goes)."""
        if given:
            return list(given)
        dirs = models_dirs_from_env() + [Path(p).expanduser() for p in self.models_dirs]
        dirs.append(home_dir() / "models")
        seen: set[str] = set()
        unique = []
        for d in dirs:
            key = os.path.normcase(str(d))
            if key not in seen:
                seen.add(key)
                unique.append(d)
        return unique

    def outputs(self) -> Path:
        return Path(self.output_dir).expanduser() if self.output_dir else default_output_dir()


def _fits(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, list):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, type(default))
