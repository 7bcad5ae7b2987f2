"""The original (LDM / "single-file") checkpoint layout, converted to diffusers key names.

A single-file Stable Diffusion checkpoint keeps every component under its own prefix:

- UNet: `model.diffusion_model.` (all families)
- VAE: `first_stage_model.` (all families)
- OpenAI CLIP-L, already in transformers' layout: `cond_stage_model.transformer.` (SD1.x),
  `conditioner.embedders.0.transformer.` (SDXL)
- OpenCLIP, in its own layout: `cond_stage_model.model.` (SD2.x),
  `conditioner.embedders.1.model.` (SDXL)

The renaming itself is diffusers' (`diffusers.loaders.single_file_utils`); this module
picks the prefixes, supplies the few config facts those converters need (counted from the
keys, so any width works), and cleans up what they leave: position-id buffers, the last
OpenCLIP layer that SD2.x does not use, and SDXL ControlNets' class embedding.
The converters only rename, slice and transpose, so they also run on "meta" tensors:
detection converts data-free stand-ins to read the diffusers-layout shapes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING

from nodes.models.errors import ModelError
from nodes.models.infer import indices
from nodes.models.prefixes import (
    CONTROLNET,
    SD1_CLIP,
    SD2_OPENCLIP,
    SDXL_CLIP,
    SDXL_OPENCLIP,
    SDXL_REFINER_OPENCLIP,
    UNET,
    VAE,
)

if TYPE_CHECKING:
    import torch

    from nodes.models.tensor_file import Shape

__all__ = [
    "CONTROLNET",
    "SD1_CLIP",
    "SD2_OPENCLIP",
    "SDXL_CLIP",
    "SDXL_OPENCLIP",
    "SDXL_REFINER_OPENCLIP",
    "UNET",
    "VAE",
    "StateDict",
]

StateDict = dict[str, "torch.Tensor"]


def has_prefix(keys: Mapping[str, Shape] | Mapping[str, torch.Tensor], prefix: str) -> bool:
    return any(k.startswith(prefix) for k in keys)


def unet_layers_per_block(keys: Mapping[str, object], prefix: str = UNET) -> int:
    """Resnets per down block, counted as the input blocks before the first downsampler."""
    blocks = indices(keys, prefix + "input_blocks.")
    for i in blocks[1:]:
        if f"{prefix}input_blocks.{i}.0.op.weight" in keys:
            return i - 1
    return len(blocks) - 1  # a single block without downsampling


def convert_unet(sd: StateDict) -> StateDict:
    """An LDM UNet (keys under `model.diffusion_model.`) renamed to diffusers keys."""
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint

    config = {
        "layers_per_block": unet_layers_per_block(sd),
        "addition_embed_type": "text_time" if UNET + "label_emb.0.0.weight" in sd else None,
    }
    return convert_ldm_unet_checkpoint(sd, config)


def convert_controlnet(sd: StateDict) -> StateDict:
    """An LDM ControlNet (`control_model.` prefix or none) renamed to diffusers keys.

    A file already in diffusers layout (`controlnet_cond_embedding.…`) is returned as is.
    """
    from diffusers.loaders.single_file_utils import convert_controlnet_checkpoint

    if "controlnet_cond_embedding.conv_in.weight" in sd:
        return dict(sd)
    prefix = CONTROLNET if has_prefix(sd, CONTROLNET) else ""
    bare = {k[len(prefix) :]: v for k, v in sd.items() if k.startswith(prefix)}
    if "input_hint_block.0.weight" not in bare:
        raise ModelError("not a ControlNet: no hint encoder (input_hint_block) found")
    converted = convert_controlnet_checkpoint(
        bare, {"layers_per_block": unet_layers_per_block(bare, "")}
    )
    # diffusers' converter leaves SDXL's class embedding (label_emb) behind.
    for i, j in ((0, 1), (2, 2)):
        for part in ("weight", "bias"):
            old = f"label_emb.0.{i}.{part}"
            if old in bare:
                converted[f"add_embedding.linear_{j}.{part}"] = bare[old]
    return converted


def convert_vae(sd: StateDict) -> StateDict:
    """An LDM VAE (under `first_stage_model.` or bare) renamed to diffusers keys.

    A VAE already in diffusers layout (`encoder.down_blocks.…`) is returned unprefixed.
    """
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint

    prefix = VAE if has_prefix(sd, VAE) else ""
    bare = {k[len(prefix) :]: v for k, v in sd.items() if k.startswith(prefix)}
    if has_prefix(bare, "encoder.down_blocks."):
        return bare
    blocks = len(indices(bare, "encoder.down."))
    if not blocks:
        raise ModelError("not a VAE: no encoder blocks (encoder.down.N) found")
    config = {"down_block_types": [None] * blocks, "up_block_types": [None] * blocks}
    return convert_ldm_vae_checkpoint(bare, config)


def convert_clip(sd: StateDict, prefix: str) -> StateDict:
    """An OpenAI CLIP-L text encoder (already HF layout) with `prefix` removed."""
    out = {}
    for key, value in sd.items():
        if not key.startswith(prefix) or key.endswith("position_ids"):
            continue
        name = key[len(prefix) :]
        if not name.startswith(("text_model.", "text_projection.")):
            name = "text_model." + name  # transformers < 4.x era files lack the wrapper
        out[name] = value
    return out


def convert_open_clip(sd: StateDict, prefix: str, *, drop_last_layer: bool) -> StateDict:
    """An OpenCLIP text encoder under `prefix` renamed to CLIP (HF) keys.

    SD2.x conditions on the penultimate layer, so its diffusers text encoder has one layer
    fewer than the file: `drop_last_layer` removes it (diffusers' converter only knows to
    drop layer 23 of the full-size model).
    """
    from diffusers.loaders.single_file_utils import convert_open_clip_checkpoint

    token = sd.get(prefix + "token_embedding.weight")
    if token is None:
        raise ModelError(f"no OpenCLIP text encoder under {prefix!r}")
    stub = SimpleNamespace(config=SimpleNamespace(hidden_size=token.shape[1]))
    layers = len(indices(sd, prefix + "transformer.resblocks."))
    converted = convert_open_clip_checkpoint(stub, sd, prefix=prefix)
    linear_projection = sd.get(prefix + "text_projection.weight")
    if linear_projection is not None:  # some re-saved files keep it as a Linear weight
        converted["text_projection.weight"] = linear_projection
    if drop_last_layer:
        keep = layers - 1
        pattern = re.compile(r"text_model\.encoder\.layers\.(\d+)\.")
        converted = {
            k: v
            for k, v in converted.items()
            if not ((m := pattern.match(k)) and int(m.group(1)) >= keep)
            and not k.startswith("text_projection")
        }
    return converted
