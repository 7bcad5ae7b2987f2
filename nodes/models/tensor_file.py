"""Reading single-file checkpoints safely: names and shapes first, tensors on demand.

`.safetensors` is read through `safetensors.safe_open`, whose header gives every tensor's
name and shape without reading the data, so detection is cheap even for a 7 GB SDXL file.
`.ckpt`/`.pt`/`.pth`/`.bin` are pickles: they go through `torch.load(weights_only=True)`,
which refuses anything but tensors and plain containers. Nothing here unpickles code.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nodes.models.errors import ModelError

if TYPE_CHECKING:
    import torch

Shape = tuple[int, ...]
SAFETENSORS_SUFFIXES = (".safetensors", ".sft")
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")


class TensorFile:
    """An open checkpoint file: `shapes` of every tensor, and `get`/`load` to read them."""

    def __init__(self, path: Path, shapes: dict[str, Shape], reader: Any) -> None:
        self.path = path
        self.shapes = shapes
        """Tensor name → shape, for every tensor in the file (read from the header)."""
        self._reader = reader

    def __len__(self) -> int:
        return len(self.shapes)

    def get(self, key: str) -> torch.Tensor:
        try:
            if isinstance(self._reader, dict):
                return self._reader[key]
            return self._reader.get_tensor(key)
        except Exception as exc:  # the reader's own error types vary by format
            raise ModelError(f"cannot read tensor {key!r} from {self.path}: {exc}") from exc

    def load(self, keys: Iterable[str]) -> dict[str, torch.Tensor]:
        return {key: self.get(key) for key in keys}

    def load_prefix(self, prefix: str) -> dict[str, torch.Tensor]:
        """Every tensor whose name starts with `prefix`, names kept whole."""
        return self.load(k for k in self.shapes if k.startswith(prefix))

    def meta(self, keys: Iterable[str] | None = None) -> dict[str, torch.Tensor]:
        """Data-free stand-ins (device "meta") with the real shapes: converters run on these."""
        import torch

        names = self.shapes if keys is None else keys
        return {k: torch.empty(self.shapes[k], device="meta") for k in names}


@contextmanager
def open_tensor_file(path: str | Path) -> Iterator[TensorFile]:
    """Open a single-file checkpoint; every failure to read it becomes a `ModelError`."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelError(f"model file not found: {p}")
    if p.is_dir():
        raise ModelError(f"expected a model file but {p} is a folder")
    suffix = p.suffix.lower()
    if suffix in SAFETENSORS_SUFFIXES:
        with _open_safetensors(p) as tf:
            yield tf
    elif suffix in PICKLE_SUFFIXES:
        yield _open_pickle(p)
    else:
        known = ", ".join(SAFETENSORS_SUFFIXES + PICKLE_SUFFIXES)
        raise ModelError(f"{p.name}: not a model file type Daguerre reads ({known})")


@contextmanager
def _open_safetensors(path: Path) -> Iterator[TensorFile]:
    from safetensors import safe_open

    try:
        handle = safe_open(str(path), framework="pt", device="cpu")
        shapes = {k: tuple(handle.get_slice(k).get_shape()) for k in handle.keys()}  # noqa: SIM118
    except Exception as exc:  # SafetensorError, OSError, and header decoding errors
        size = path.stat().st_size
        raise ModelError(
            f"{path.name} is not a readable .safetensors file ({size:,} bytes): {exc}. "
            "It may be truncated (an interrupted download) or not a model at all."
        ) from exc
    try:
        yield TensorFile(path, shapes, handle)
    finally:
        del handle


def _open_pickle(path: Path) -> TensorFile:
    import pickle

    import torch

    try:
        data = torch.load(
            path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path)
        )
    except pickle.UnpicklingError as exc:
        raise ModelError(
            f"{path.name} holds Python objects besides tensors; Daguerre does not unpickle "
            f"them (they can run code). Convert it to .safetensors first. ({exc})"
        ) from exc
    except Exception as exc:  # zip errors, EOFError, RuntimeError from torch
        raise ModelError(f"{path.name} is not a readable PyTorch checkpoint: {exc}") from exc
    tensors = _tensor_dict(data)
    if tensors is None:
        raise ModelError(f"{path.name} is a PyTorch file but holds no state dict of tensors")
    return TensorFile(path, {k: tuple(v.shape) for k, v in tensors.items()}, tensors)


def _tensor_dict(data: object) -> dict[str, torch.Tensor] | None:
    """The state dict in a loaded pickle: the top level, or under "state_dict"/"model"."""
    import torch

    if isinstance(data, Mapping):
        for wrapper in ("state_dict", "model"):
            inner = data.get(wrapper)
            if isinstance(inner, Mapping) and any(
                isinstance(v, torch.Tensor) for v in inner.values()
            ):
                data = inner
                break
        tensors = {str(k): v for k, v in data.items() if isinstance(v, torch.Tensor)}
        return tensors or None
    return None
