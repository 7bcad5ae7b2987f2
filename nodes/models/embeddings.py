"""Textual-inversion embeddings: the files A1111, ComfyUI and diffusers write, read safely.

- A1111 ``.pt``: ``{"string_to_param": {"*": tensor}, "name": ..., "step": ...}``;
- A1111/ComfyUI ``.safetensors``: ``emb_params`` (SD1.x/SD2.x), or SDXL's ``clip_l`` and
  ``clip_g`` (one set of vectors for each of its text encoders);
- diffusers ``learned_embeds.bin`` (or its ``.safetensors``): ``{token: tensor}``.

Pickled files go through ``torch.load(weights_only=True)``, which refuses anything but
tensors and plain containers; nothing here unpickles code. The vectors are N×D (a 1-D
tensor is one vector) and replace N token embeddings of the text encoder whose width is D
(:meth:`Embedding.for_encoder`), which is what diffusers' ``load_textual_inversion`` and
ComfyUI do. Loaded files are remembered per file version (path, size, modification time).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nodes.catalog.embeddings import SDXL_KEYS, rows, select_vectors
from nodes.models.errors import ModelError

if TYPE_CHECKING:
    from collections.abc import Mapping

    import torch

    from nodes.models.families import TextEncoderSpec

_ENCODER_KEYS = {"clip": SDXL_KEYS[0], "open_clip": SDXL_KEYS[1]}
"""Which of an SDXL file's sets a text encoder of each layout takes."""


@dataclass(frozen=True, eq=False)
class Embedding:
    """One embedding file's vectors: ``{"": N×D}``, or SDXL's ``{"clip_l", "clip_g"}``."""

    name: str
    source: Path
    vectors: Mapping[str, torch.Tensor]

    @property
    def count(self) -> int:
        """How many token positions it fills (the same for every encoder)."""
        return rows(tuple(next(iter(self.vectors.values())).shape))

    def for_encoder(self, spec: TextEncoderSpec, width: int, which: str) -> torch.Tensor:
        """The N×D vectors for a text encoder of ``spec``'s layout and ``width``; a
        :class:`ModelError` when the file has none that fit (``which`` names the encoder
        in the message)."""
        key = _ENCODER_KEYS[spec.layout] if SDXL_KEYS[0] in self.vectors else ""
        vectors = self.vectors[key]
        if vectors.shape[-1] != width:
            held = f"{vectors.shape[-1]}-wide vectors" + (f" ({key})" if key else "")
            raise ModelError(
                f"embedding {self.name!r} holds {held}, but {which} takes {width}-wide "
                "ones: it was trained for another model family"
            )
        return vectors.reshape(-1, width)


def load_embedding(path: Path, name: str) -> Embedding:
    """The embedding in ``path`` (named ``name`` in the prompt); a :class:`ModelError`
    says why a file cannot be one."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ModelError(f"cannot read embedding {name!r} ({path}): {exc}") from exc
    vectors = _load(str(path), stat.st_size, stat.st_mtime_ns)
    return Embedding(name, path, vectors)


@lru_cache(maxsize=64)
def _load(path: str, size: int, mtime: int) -> Mapping[str, torch.Tensor]:
    import torch

    data = _read(Path(path))
    shown = Path(path).name
    if not isinstance(data, dict):
        raise ModelError(f"{shown} is not an embedding file (no tensors by name inside)")
    found = select_vectors(data, lambda v: isinstance(v, torch.Tensor))
    if not found:
        keys = ", ".join(sorted(str(k) for k in data)[:8]) or "nothing"
        raise ModelError(
            f"{shown} holds no textual-inversion embedding (found {keys}; expected "
            "string_to_param, emb_params, clip_l/clip_g, or one tensor)"
        )
    counts = set()
    for key, tensor in found.items():
        if tensor.ndim not in (1, 2) or not tensor.is_floating_point() or tensor.numel() == 0:
            raise ModelError(
                f"{shown}: {key or 'the embedding'} is a {tensor.dtype} tensor of shape "
                f"{tuple(tensor.shape)}, not N vectors"
            )
        if not bool(torch.isfinite(tensor).all()):
            raise ModelError(f"{shown}: {key or 'the embedding'} holds NaN or infinite values")
        counts.add(rows(tuple(tensor.shape)))
    if len(counts) != 1:
        raise ModelError(f"{shown}: clip_l and clip_g hold different numbers of vectors")
    return {key: tensor.detach().clone() for key, tensor in found.items()}


def _read(path: Path) -> Any:
    import pickle

    import torch

    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as exc:  # SafetensorError, OSError, header decoding errors
            raise ModelError(f"{path.name} is not a readable .safetensors file: {exc}") from exc
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelError(
            f"{path.name} holds Python objects besides tensors; Daguerre does not unpickle "
            f"them (they can run code). Convert it to .safetensors first. ({exc})"
        ) from exc
    except Exception as exc:  # zip errors, EOFError, RuntimeError from torch
        raise ModelError(f"{path.name} is not a readable PyTorch file: {exc}") from exc
