"""Upscale models (ESRGAN, Real-ESRGAN, SwinIR, HAT, DAT...) read through spandrel.

`spandrel <https://github.com/chaiNNer-org/spandrel>`_ is the library ComfyUI uses: it
detects the architecture and its hyperparameters from the tensor names and shapes, and
builds the network with its own implementation of each architecture. Daguerre gives it
only tensors: the file is read here, never unpickled with code —

- ``.safetensors`` through safetensors;
- ``.pth``/``.pt``/``.ckpt``/``.bin`` through ``torch.load(weights_only=True)``, which refuses
  anything but tensors and plain containers (spandrel's own file loader is not used: it
  unpickles with a list of allowed classes, and tries TorchScript for ``.pt``).

spandrel imports torchvision when its package loads (for its LaMa and RestoreFormer
architectures). A torchvision that does not match the installed torch fails that import
(``operator torchvision::nms does not exist``); :func:`import_spandrel` turns any such
failure into a :class:`~nodes.models.errors.ModelError` that says what to install, so the
loader node reports it on its path field instead of a traceback.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nodes.models.errors import ModelError

if TYPE_CHECKING:
    from types import ModuleType

    import torch

SPANDREL_REQUIREMENT = "spandrel==0.4.2"
"""The release Daguerre is tested with (pinned in pyproject.toml)."""

SAFETENSORS_SUFFIXES = (".safetensors", ".sft")
PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin")

_UNWRAP = ("model_state_dict", "state_dict", "params_ema", "params-ema", "params", "model", "net")
"""Keys under which training code stores the weights (Real-ESRGAN's ``params_ema``,
BasicSR's ``params``, Lightning's ``state_dict``...), tried in spandrel's order: the EMA
weights, which are the published ones, before the raw ``params``."""


@dataclass(frozen=True)
class UpscaleModel:
    """The value on an UPSCALE_MODEL link: a loaded image-to-image model and its facts."""

    descriptor: Any
    """spandrel's ``ImageModelDescriptor``: call it with a 1×C×H×W tensor in [0, 1]."""
    architecture: str
    """spandrel's architecture id: ``ESRGAN``, ``Compact``, ``SwinIR``, ``HAT``, ``DAT``..."""
    scale: int
    """Output size ÷ input size (1 for restoration models)."""
    tags: tuple[str, ...]
    input_channels: int
    output_channels: int
    multiple_of: int
    """Input sides must be a multiple of this (spandrel pads otherwise)."""
    tiling: str
    """spandrel's advice: ``supported``, ``discouraged`` or ``internal`` (do not tile)."""
    path: str
    device: torch.device
    dtype: torch.dtype

    def describe(self) -> str:
        tags = f" ({', '.join(self.tags)})" if self.tags else ""
        return f"{self.architecture} {self.scale}×{tags}"


def import_spandrel() -> ModuleType:
    """The spandrel module, or a ModelError saying why it cannot be used."""
    try:
        import spandrel
    except Exception as exc:  # ImportError, or RuntimeError/OSError from a broken torchvision
        raise ModelError(_import_advice(exc)) from exc
    return spandrel


def _import_advice(exc: Exception) -> str:
    reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    missing = getattr(exc, "name", None)
    if missing == "spandrel":
        return (
            f"upscale models need the spandrel package, which is not installed ({reason}). "
            f"Install it with: pip install {SPANDREL_REQUIREMENT}"
        )
    if missing == "torchvision" or "torchvision" in str(exc):
        return (
            f"upscale models need spandrel, which needs a torchvision built for the installed "
            f"torch, and importing it failed ({reason}). Install the torchvision that matches "
            "your torch from the same place (for a CUDA or CPU build of torch from "
            "download.pytorch.org, the same index URL)"
        )
    return f"upscale models need spandrel, and importing it failed ({reason})"


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of an upscale model file, unwrapped from training containers."""
    if not path.exists():
        raise ModelError(f"upscale model file not found: {path}")
    if path.is_dir():
        raise ModelError(f"expected an upscale model file but {path} is a folder")
    suffix = path.suffix.lower()
    if suffix in SAFETENSORS_SUFFIXES:
        data: object = _read_safetensors(path)
    elif suffix in PICKLE_SUFFIXES:
        data = _read_pickle(path)
    else:
        known = ", ".join(SAFETENSORS_SUFFIXES + PICKLE_SUFFIXES)
        raise ModelError(f"{path.name}: not an upscale model file type Daguerre reads ({known})")
    tensors = _tensors(data)
    if not tensors:
        raise ModelError(f"{path.name} holds no tensors: it is not an upscale model")
    return tensors


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # SafetensorError, OSError, header decoding errors
        size = path.stat().st_size
        raise ModelError(
            f"{path.name} is not a readable .safetensors file ({size:,} bytes): {exc}. "
            "It may be truncated (an interrupted download) or not a model at all."
        ) from exc


def _read_pickle(path: Path) -> object:
    import pickle

    import torch

    try:
        return torch.load(
            path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path)
        )
    except pickle.UnpicklingError as exc:
        reason = _unpickler_reason(exc)
        if "Unsupported global" in reason:
            raise ModelError(
                f"{path.name} holds Python objects besides tensors; Daguerre does not unpickle "
                f"them (they can run code). Convert it to .safetensors first. ({reason})"
            ) from exc
        raise ModelError(f"{path.name} is not a readable PyTorch file ({reason})") from exc
    except Exception as exc:  # zip errors, EOFError, RuntimeError from torch
        raise ModelError(f"{path.name} is not a readable PyTorch file: {exc}") from exc


def _unpickler_reason(exc: Exception) -> str:
    """The one line of torch's long weights-only message that says what was refused."""
    text = str(exc)
    _, found, rest = text.partition("WeightsUnpickler error:")
    lines = [line.strip() for line in rest.splitlines() if line.strip()] if found else []
    return (lines[0] if lines else text.splitlines()[0] if text else "unreadable")[:200]


def _tensors(data: object) -> dict[str, torch.Tensor]:
    """The flat tensor dict inside ``data``: unwrapped from a known key or a single entry,
    with a prefix every name shares (``module.`` from DataParallel, ``netG.``) removed."""
    import torch

    if not isinstance(data, Mapping):
        return {}
    for key in _UNWRAP:
        inner = data.get(key)
        if isinstance(inner, Mapping) and inner:
            data = inner
            break
    else:
        if len(data) == 1 and isinstance(next(iter(data.values())), Mapping):
            data = next(iter(data.values()))
    assert isinstance(data, Mapping)
    tensors = {str(k): v for k, v in data.items() if isinstance(v, torch.Tensor)}
    for prefix in ("module.", "netG."):
        if tensors and all(name.startswith(prefix) for name in tensors):
            tensors = {name[len(prefix) :]: v for name, v in tensors.items()}
    return tensors


def load_upscale_model(
    path: str | Path, *, device: torch.device, dtype: torch.dtype
) -> UpscaleModel:
    """Read ``path``, let spandrel find its architecture, and place it on ``device``.

    ``dtype`` is a wish: a model whose architecture does not support fp16 or bf16 stays in
    fp32. Every failure is a ModelError naming the file.
    """
    import torch

    file = Path(path).expanduser()
    spandrel = import_spandrel()
    state = read_state_dict(file)
    try:
        descriptor = spandrel.MAIN_REGISTRY.load(state)
    except spandrel.UnsupportedModelError as exc:
        sample = ", ".join(list(state)[:3])
        raise ModelError(
            f"{file.name} is not an upscale model spandrel knows: no architecture matches its "
            f"{len(state)} tensors (e.g. {sample}). ESRGAN, Real-ESRGAN, SwinIR, HAT, DAT "
            "and the other architectures spandrel supports are read."
        ) from exc
    except Exception as exc:  # an architecture matched but the tensors do not fit it
        raise ModelError(
            f"{file.name} looks like a {_guess(spandrel, state)} model but its tensors do not "
            f"fit that architecture ({type(exc).__name__}: {str(exc)[:200]}); the file may be "
            "damaged or of a variant spandrel does not read"
        ) from exc
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise ModelError(
            f"{file.name} is a {descriptor.architecture.name} model "
            f"({descriptor.purpose.lower()}), not an image-to-image upscale model"
        )
    if dtype == torch.float16 and not descriptor.supports_half:
        dtype = torch.float32
    if dtype == torch.bfloat16 and not descriptor.supports_bfloat16:
        dtype = torch.float32
    descriptor.to(device=device, dtype=dtype)
    descriptor.eval()
    return UpscaleModel(
        descriptor=descriptor,
        architecture=str(descriptor.architecture.id),
        scale=int(descriptor.scale),
        tags=tuple(descriptor.tags),
        input_channels=int(descriptor.input_channels),
        output_channels=int(descriptor.output_channels),
        multiple_of=int(descriptor.size_requirements.multiple_of),
        tiling=descriptor.tiling.name.lower(),
        path=str(file),
        device=device,
        dtype=dtype,
    )


def _guess(spandrel: ModuleType, state: Mapping[str, Any]) -> str:
    """The first architecture whose detection accepts ``state``, for the error message."""
    for support in spandrel.MAIN_REGISTRY.architectures("detection"):
        try:
            if support.detect(state):
                return str(support.architecture.name)
        except Exception:  # a detection rule that chokes on these tensors matches nothing
            continue
    return "known"
