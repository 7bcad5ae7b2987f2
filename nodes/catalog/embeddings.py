"""Textual-inversion embeddings named in prompts, found and measured without torch.

A prompt names an embedding as ComfyUI does: ``embedding:NAME`` at the start of a word
(``(embedding:NAME:1.2)`` weighs its vectors like any words). The name runs to the next
space; trailing commas are punctuation, not part of it. ``NAME`` is looked up in the
``embeddings`` folders of the models folders, as given and then with each of the suffixes
``.safetensors``, ``.pt`` and ``.bin`` (:func:`find_embedding`).

The app shows a prompt's token count as you type, and an embedding counts as its vectors,
so :func:`vector_count` reads how many vectors a file holds without importing torch: a
``.safetensors`` file's JSON header, or a torch ``.pt``/``.bin`` zip file's pickle,
unpickled with a loader that builds nothing but tensor shapes and refuses every class
outside a short list (so, like ``torch.load(weights_only=True)``, it runs no code from
the file). :func:`select_vectors` is the one rule, shared with
:mod:`nodes.models.embeddings`, for where a file keeps its vectors.
"""

from __future__ import annotations

import collections
import json
import pickle
import re
import struct
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from nodes.diffusion.prompt import parse_weights
from nodes.paths import MODEL_SUFFIXES, FileResolver

PREFIX = "embedding:"
KIND = "embeddings"
"""The models-folder kind (``<models>/embeddings/``)."""

_REF = re.compile(r"(?<!\S)embedding:([^\s,]+)")
"""``embedding:NAME`` at the start of a word; NAME stops at a space or a comma."""

SDXL_KEYS = ("clip_l", "clip_g")
"""An SDXL embedding file's vectors for its first (CLIP-L) and second (OpenCLIP-G) encoder."""
_SINGLE_KEYS = ("emb_params",)
"""Where A1111's ``.safetensors`` embeddings keep their one set of vectors."""
_HEADER_MAX = 16 * 1024 * 1024
_UNREADABLE = (
    OSError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    EOFError,
    struct.error,
    pickle.UnpicklingError,
    zipfile.BadZipFile,
)
"""What reading a damaged or unexpected file can raise: the count is then unknown."""


def refs(text: str) -> Iterator[re.Match[str]]:
    """The ``embedding:NAME`` references in ``text`` (group 1 is the name)."""
    return _REF.finditer(text)


def split_refs(text: str) -> list[str | tuple[str]]:
    """``text`` as plain runs (str) and embedding names (1-tuples), in order; empty runs
    are left out."""
    out: list[str | tuple[str]] = []
    start = 0
    for match in _REF.finditer(text):
        if match.start() > start:
            out.append(text[start : match.start()])
        out.append((match.group(1),))
        start = match.end()
    if start < len(text):
        out.append(text[start:])
    return out


def embedding_names(text: str) -> list[str]:
    """Every embedding ``text`` names, once each, in order of first use."""
    seen: dict[str, None] = {}
    for segment, _ in parse_weights(text):
        for match in _REF.finditer(segment):
            seen.setdefault(match.group(1), None)
    return list(seen)


def find_embedding(resolve: FileResolver, name: str) -> Path | None:
    """The file ``name`` names: as given, then with each embedding suffix; folders do not
    count (an embedding is one file)."""
    for candidate in (name, *(name + suffix for suffix in MODEL_SUFFIXES[KIND])):
        path = resolve(KIND, candidate)
        if path is not None and path.is_file():
            return path
    return None


def unknown_embedding(name: str) -> str:
    """The message for an embedding that no models folder holds."""
    suffixes = "/".join(MODEL_SUFFIXES[KIND])
    return (
        f"unknown embedding {name!r}: no {name} ({suffixes}) in the embeddings folder of "
        "the models folders"
    )


def unknown_embeddings(text: str, resolve: FileResolver) -> list[str]:
    """A message for each embedding ``text`` names that cannot be found."""
    return [
        unknown_embedding(n) for n in embedding_names(text) if find_embedding(resolve, n) is None
    ]


# ----------------------------------------------------------------- where the vectors are
def select_vectors(data: Mapping[str, Any], is_tensor: Callable[[Any], bool]) -> dict[str, Any]:
    """The vectors of a loaded embedding file: ``{"clip_l": ..., "clip_g": ...}`` for
    SDXL's, else ``{"": tensor}``; empty if the file holds no embedding.

    A1111's ``.pt`` keeps them in ``string_to_param`` (its first entry), its
    ``.safetensors`` in ``emb_params``, SDXL files in ``clip_l``/``clip_g``, and diffusers'
    ``learned_embeds.bin`` as ``{token: tensor}`` (one entry).
    """
    if all(is_tensor(data.get(key)) for key in SDXL_KEYS):
        return {key: data[key] for key in SDXL_KEYS}
    params = data.get("string_to_param")
    if isinstance(params, Mapping) and params:
        first = next(iter(params.values()))
        return {"": first} if is_tensor(first) else {}
    for key in _SINGLE_KEYS:
        if is_tensor(data.get(key)):
            return {"": data[key]}
    tensors = [value for value in data.values() if is_tensor(value)]
    return {"": tensors[0]} if len(tensors) == 1 else {}


def rows(shape: tuple[int, ...]) -> int:
    """How many vectors a tensor of ``shape`` holds (a 1-D tensor is one)."""
    return 1 if len(shape) == 1 else shape[0]


# ----------------------------------------------------------------- counting without torch
@dataclass(frozen=True)
class _Shape:
    """What the shape reader builds where a tensor would be."""

    shape: tuple[int, ...]


def _is_shape(value: Any) -> bool:
    return isinstance(value, _Shape)


def vector_count(path: Path) -> int | None:
    """How many vectors the embedding file holds (for SDXL's, per encoder), or None when it
    cannot be read this way (damaged, a legacy pickle, no embedding inside)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _vector_count(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=256)
def _vector_count(path: str, size: int, mtime: int) -> int | None:
    try:
        data = _safetensors_shapes(path) if path.lower().endswith(".safetensors") else None
        if data is None:
            data = _torch_zip_shapes(path)
    except _UNREADABLE:
        return None
    if not isinstance(data, Mapping):
        return None
    found = select_vectors(data, _is_shape)
    counts = {rows(value.shape) for value in found.values()}
    return counts.pop() if len(counts) == 1 else None


def _safetensors_shapes(path: str) -> dict[str, _Shape]:
    with open(path, "rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        if length > _HEADER_MAX:
            raise ValueError("safetensors header too large")
        header = json.loads(file.read(length))
    return {
        key: _Shape(tuple(int(n) for n in entry["shape"]))
        for key, entry in header.items()
        if key != "__metadata__" and isinstance(entry, dict)
    }


def _rebuild_tensor(storage: Any, offset: Any, size: Any, *_: Any) -> _Shape:
    return _Shape(tuple(int(n) for n in size))


def _rebuild_parameter(data: Any, *_: Any) -> Any:
    return data


class _Storage:
    """Stands for every torch storage class named in the pickle."""


_CLASSES: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
}


class _ShapeUnpickler(pickle.Unpickler):
    """Unpickles a torch checkpoint's structure with tensor shapes in place of tensors."""

    def find_class(self, module: str, name: str, /) -> Any:
        found = _CLASSES.get((module, name))
        if found is not None:
            return found
        if module in ("torch", "torch.storage") and name.endswith("Storage"):
            return _Storage
        raise pickle.UnpicklingError(f"{module}.{name} is not read")

    def persistent_load(self, pid: Any, /) -> Any:
        return None  # the tensor data: only the shapes matter here


def _torch_zip_shapes(path: str) -> Any:
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith("data.pkl")]
        if len(names) != 1:
            raise ValueError("not a torch zip checkpoint")
        with archive.open(names[0]) as file:
            return _ShapeUnpickler(file).load()
