"""What a model file is, read from its header only: family, precision, metadata, scale.

The Models panel and ``daguerre models`` describe every file in the models folders, and
a folder may hold hundreds of multi-gigabyte files, so nothing here loads a weight or
imports torch. A ``.safetensors`` file starts with 8 bytes of length and a JSON header
naming every tensor's dtype and shape (plus a free-form ``__metadata__`` of strings), and
that is enough for:

- **checkpoints** — the family by which text encoders the file holds
  (:func:`nodes.advice.model_facts.checkpoint_facts`, the loader's rule);
- **LoRAs** — SDXL by its second text encoder or kohya's LDM-style UNet names
  (``lora_unet_input_blocks_…``), else by how wide the cross-attention's text features
  are (768 SD1.x, 1024 SD2.x, 2048 SDXL); a LoRA that says neither (the tiny demo's
  32-wide one) fits "SD1.x or SD2.x". kohya's ``ss_base_model_version`` and
  ``modelspec.architecture`` narrow that down when the file carries them;
- **ControlNets** — SDXL by its added conditions (``label_emb`` / ``add_embedding``),
  SD2.x from SD1.x by linear rather than 1×1-convolution projections (as the UNet rule
  in :func:`nodes.models.families.family_for_unet`);
- **embeddings** — by the width of their vectors, SDXL's by their ``clip_l``/``clip_g``
  pair (:mod:`nodes.catalog.embeddings` reads ``.pt`` files without torch too);
- **upscale models** — the architecture and the scale where the tensors show it
  (Real-ESRGAN Compact: the last convolution's 3·s² channels; ESRGAN: its upsampling
  convolutions);
- **VAEs** — every SD family's VAE has the same shapes, so a VAE has no family.

A diffusers folder is read from ``model_index.json`` and its components' configs. The
*name* of a file is never used to decide its family: a file called ``sd15.safetensors``
that holds SDXL is SDXL.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodes.advice.model_facts import HEADER_MAX, checkpoint_facts
from nodes.models import prefixes as ldm
from nodes.models.families import FAMILIES

__all__ = ["HeaderFacts", "family_label", "read_facts"]

_PRECISIONS = {
    "F64": "fp64",
    "F32": "fp32",
    "F16": "fp16",
    "BF16": "bf16",
    "F8_E4M3": "fp8",
    "F8_E5M2": "fp8",
}
_LORA_MARKERS = ("lora_down", "lora_up", "lora_A", "lora_B", "lora.down", "lora.up")
_TEXT_WIDTHS = {768: ("sd1",), 1024: ("sd2",), 2048: ("sdxl",), 1280: ("sdxl",)}
"""Text-feature widths of the published models (1280: SDXL's second encoder alone)."""
SD_VAE_FAMILIES = ()
"""A VAE fits no one family: SD1.x, SD2.x and SDXL VAEs have the same shapes."""


@dataclass(frozen=True, slots=True)
class HeaderFacts:
    """What a file's header says; empty fields mean the header does not tell."""

    families: tuple[str, ...] = ()
    """Family ids it fits (``sd1``, ``sd2``, ``sdxl``, ``sdxl_refiner``): one when the
    header decides, two when it narrows down only that far, none when unknown."""
    precision: str | None = None
    """The dtype of most of its weights: ``fp16``, ``fp32``, ``bf16``, ``fp8``."""
    architecture: str | None = None
    """For upscale models: "Real-ESRGAN Compact", "ESRGAN"…"""
    scale: int | None = None
    """For upscale models: how many times larger it makes a picture."""
    metadata: dict[str, str] = field(default_factory=dict[str, str])
    """The file's own ``__metadata__`` (safetensors) or ``model_index.json`` entries."""
    note: str | None = None
    """Something the user should know: "holds a LoRA, not a checkpoint"."""


def family_label(families: tuple[str, ...]) -> str:
    """ "SDXL", "SD1.x or SD2.x", or "" (unknown) for people."""
    return " or ".join(FAMILIES[f].name for f in families if f in FAMILIES)


def read_header(path: Path) -> tuple[dict[str, Any], dict[str, str]] | None:
    """(tensor entries, ``__metadata__``) of a ``.safetensors`` file, or None when it is
    not one (a pickle, a damaged file, a header over :data:`HEADER_MAX`)."""
    if path.suffix.lower() not in (".safetensors", ".sft"):
        return None
    try:
        with path.open("rb") as handle:
            length = int.from_bytes(handle.read(8), "little")
            if not 0 < length <= HEADER_MAX:
                return None
            header = json.loads(handle.read(length))
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict):
        return None
    raw_meta = header.pop("__metadata__", None)
    meta = {str(k): str(v) for k, v in raw_meta.items()} if isinstance(raw_meta, dict) else {}
    tensors = {str(k): v for k, v in header.items() if isinstance(v, dict)}
    return tensors, meta


def read_facts(kind: str, path: Path) -> HeaderFacts:
    """The header facts of the file or diffusers folder at ``path`` in the models-folder
    ``kind`` (``checkpoints``, ``lora``, ``controlnet``, ``vae``, ``upscale_models``,
    ``embeddings``). Never raises for an unreadable file: its facts are empty."""
    if path.is_dir():
        return _folder_facts(kind, path)
    if kind == "embeddings":
        return _embedding_facts(path)
    read = read_header(path)
    if read is None:
        return HeaderFacts()
    tensors, meta = read
    precision = _precision(tensors)
    if kind == "checkpoints":
        families, note = _checkpoint_families(path, tensors)
    elif kind == "lora":
        families, note = _lora_families(tensors, meta), None
    elif kind == "controlnet":
        families, note = _controlnet_families(tensors), None
    elif kind == "upscale_models":
        architecture, scale = _upscale(tensors)
        return HeaderFacts((), precision, architecture, scale, meta)
    else:
        families, note = SD_VAE_FAMILIES, None
    return HeaderFacts(families, precision, None, None, meta, note)


def _precision(tensors: dict[str, Any]) -> str | None:
    weight: Counter[str] = Counter()
    for entry in tensors.values():
        dtype = entry.get("dtype")
        if dtype in _PRECISIONS:
            begin, end = entry.get("data_offsets", (0, 0))
            weight[_PRECISIONS[dtype]] += max(int(end) - int(begin), 1)
    return weight.most_common(1)[0][0] if weight else None


def _checkpoint_families(path: Path, tensors: dict[str, Any]) -> tuple[tuple[str, ...], str | None]:
    facts = checkpoint_facts(path)
    if facts.family is not None:
        return (facts.family.id,), None
    keys = list(tensors)
    if any(marker in key for key in keys for marker in _LORA_MARKERS):
        return (), "holds a LoRA, not a checkpoint: move it to the loras folder"
    if any(key.startswith(ldm.CONTROLNET) for key in keys):
        return (), "holds a ControlNet, not a checkpoint: move it to the controlnet folder"
    return (), None


# ------------------------------------------------------------------------------- LoRAs
_BASE_VERSIONS = (
    (re.compile(r"refiner", re.I), "sdxl_refiner"),
    (re.compile(r"xl", re.I), "sdxl"),
    (re.compile(r"(^|[^\d])2[._-]?[01x]?|v2", re.I), "sd2"),
    (re.compile(r"(^|[^\d])1[._-]?[45x]?|v1", re.I), "sd1"),
)


def family_from_metadata(meta: dict[str, str]) -> str | None:
    """The family kohya's ``ss_base_model_version`` (``sd_v1``, ``sd_2.1``,
    ``sdxl_base_v1-0``) or ``modelspec.architecture`` (``stable-diffusion-xl-v1-base/lora``)
    names, or None."""
    for key in ("modelspec.architecture", "ss_base_model_version"):
        value = meta.get(key, "").split("/")[0]
        if not value:
            continue
        for pattern, family in _BASE_VERSIONS:
            if pattern.search(value):
                return family
    if meta.get("ss_v2") == "True":
        return "sd2"
    return None


def _lora_families(tensors: dict[str, Any], meta: dict[str, str]) -> tuple[str, ...]:
    keys = list(tensors)
    if not any(marker in key for key in keys for marker in _LORA_MARKERS):
        return ()
    by_shape = _lora_shape_families(tensors)
    claimed = family_from_metadata(meta)
    if claimed is not None and (not by_shape or claimed in by_shape):
        return (claimed,)
    return by_shape


def _lora_shape_families(tensors: dict[str, Any]) -> tuple[str, ...]:
    keys = list(tensors)
    sdxl_names = ("lora_te2_", "lora_te1_", "text_encoder_2.", "te2.")
    if any(key.startswith(sdxl_names) for key in keys):
        return ("sdxl",)
    if any(key.startswith("lora_unet_") and "_input_blocks_" in key for key in keys):
        return ("sdxl",)  # kohya names SDXL's UNet layers after the original UNet
    for key, entry in tensors.items():
        down = "lora_down" in key or "lora_A" in key or "lora.down" in key
        if down and re.search(r"attn2[._]to_[kv]", key):
            shape = entry.get("shape", ())
            width = 1
            for side in shape[1:]:
                width *= int(side)
            if width in _TEXT_WIDTHS:
                return _TEXT_WIDTHS[width]
            break
    return ("sd1", "sd2")  # SD1.x and SD2.x LoRAs share their layer names


# --------------------------------------------------------------------------- ControlNets
def _controlnet_families(tensors: dict[str, Any]) -> tuple[str, ...]:
    keys = list(tensors)
    markers = (ldm.CONTROLNET, "controlnet_")
    if not any(k.startswith(markers) or "input_hint_block" in k for k in keys):
        return ()
    if any(".label_emb." in k or k.startswith("label_emb.") or "add_embedding" in k for k in keys):
        return ("sdxl",)
    for key, entry in tensors.items():
        if key.endswith("proj_in.weight"):
            return ("sd2",) if len(entry.get("shape", ())) == 2 else ("sd1",)
    return ("sd1", "sd2")


# ---------------------------------------------------------------------------- upscalers
def _upscale(tensors: dict[str, Any]) -> tuple[str | None, int | None]:
    body = sorted(
        (int(m.group(1)), entry)
        for key, entry in tensors.items()
        if (m := re.fullmatch(r"body\.(\d+)\.weight", key))
    )
    if body and len(body[-1][1].get("shape", ())) == 4:
        channels = int(body[-1][1]["shape"][0])
        side = round((channels / 3) ** 0.5)
        if 3 * side * side == channels:
            return "Real-ESRGAN Compact", side
    keys = set(tensors)
    if "conv_first.weight" in keys or "model.0.weight" in keys:
        ups = sum(1 for k in keys if re.fullmatch(r"conv_up\d\.weight", k))
        if not ups:  # the old layout: model.3, model.6… are upsampling convolutions
            ups = sum(1 for k in keys if re.fullmatch(r"model\.(?:[3-9]|\d\d)\.weight", k)) - 2
        first = tensors.get("conv_first.weight", tensors.get("model.0.weight", {}))
        shape = first.get("shape", ())
        unshuffle = {12: 2, 48: 4}.get(int(shape[1])) if len(shape) == 4 else None
        scale = 2 ** max(ups, 0) // (unshuffle or 1) if ups > 0 else None
        return "ESRGAN", scale
    return None, None


# --------------------------------------------------------------------------- embeddings
def _embedding_facts(path: Path) -> HeaderFacts:
    from nodes.catalog import embeddings as ef

    try:
        if path.suffix.lower() == ".safetensors":
            data: Any = ef._safetensors_shapes(str(path))  # pyright: ignore[reportPrivateUsage]
        else:
            data = ef._torch_zip_shapes(str(path))  # pyright: ignore[reportPrivateUsage]
    except ef._UNREADABLE:  # pyright: ignore[reportPrivateUsage]
        return HeaderFacts()
    if not isinstance(data, dict):
        return HeaderFacts()
    found = ef.select_vectors(data, ef._is_shape)  # pyright: ignore[reportPrivateUsage]
    if set(found) == set(ef.SDXL_KEYS):
        families: tuple[str, ...] = ("sdxl",)
    elif "" in found:
        width = int(found[""].shape[-1])
        families = {768: ("sd1",), 1024: ("sd2",)}.get(width, ())
    else:
        families = ()
    read = read_header(path)
    meta = read[1] if read else {}
    precision = _precision(read[0]) if read else None
    return HeaderFacts(families, precision, metadata=meta)


# ------------------------------------------------------------------------------ folders
def _folder_facts(kind: str, path: Path) -> HeaderFacts:
    try:
        if kind == "checkpoints":
            index = json.loads((path / "model_index.json").read_text(encoding="utf-8"))
            facts = checkpoint_facts(path)
            families = (facts.family.id,) if facts.family is not None else ()
            meta = {k: str(v) for k, v in index.items() if isinstance(v, str)}
            return HeaderFacts(families, _folder_precision(path / "unet"), metadata=meta)
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return HeaderFacts()
    meta = {k: str(v) for k, v in config.items() if isinstance(v, str)}
    families: tuple[str, ...] = ()
    if kind == "controlnet":
        if config.get("addition_embed_type") == "text_time":
            families = ("sdxl",)
        else:
            families = ("sd2",) if config.get("use_linear_projection") else ("sd1",)
    return HeaderFacts(families, _folder_precision(path), metadata=meta)


def _folder_precision(folder: Path) -> str | None:
    """The precision of a diffusers component folder's largest weights file."""
    try:
        files = sorted(folder.glob("*.safetensors"), key=lambda f: f.stat().st_size)
    except OSError:
        return None
    if not files:
        return None
    read = read_header(files[-1])
    return _precision(read[0]) if read else None
