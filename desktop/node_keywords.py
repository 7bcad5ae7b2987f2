"""Other names a node type is searched by: the ComfyUI classes that import as it, and
keywords for what people type when they look for it.

The ComfyUI names come from the adapter's records (:data:`nodes.comfy.nodetypes.CLASSES`:
every mapped class names the Daguerre type it becomes), so a class mapped there is found by
its name here with nothing else to update: "KSampler" finds Sampler, "CLIPTextEncode" Text
Encode. Each name is also searchable split at its capitals ("clip text encode").

The keywords are words that are not in a type's title, type id or description but are what
a user types for it ("prompt" for Text Encode, "ckpt" for Load Checkpoint).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

KEYWORDS: Mapping[str, tuple[str, ...]] = {
    "loaders.checkpoint": ("model", "ckpt", "safetensors", "stable diffusion", "sdxl", "sd15"),
    "loaders.vae": ("autoencoder",),
    "loaders.lora": ("lycoris", "locon", "style", "adapter"),
    "loaders.controlnet": ("control net", "canny", "depth", "openpose"),
    "loaders.upscale_model": ("esrgan", "realesrgan", "super resolution"),
    "conditioning.text_encode": ("prompt", "clip", "positive", "negative"),
    "conditioning.text_encode_sdxl": ("prompt", "clip", "positive", "negative"),
    "conditioning.controlnet_apply": ("control net", "hint"),
    "conditioning.clip_set_last_layer": ("clip skip",),
    "conditioning.inpaint_model": ("inpaint",),
    "latent.empty": ("empty latent image", "size", "resolution", "width", "height", "txt2img"),
    "latent.upscale": ("hires fix", "resize"),
    "latent.upscale_by": ("hires fix", "resize"),
    "latent.set_noise_mask": ("inpaint",),
    "latent.encode_for_inpaint": ("inpaint",),
    "sampling.sampler": ("ksampler", "generate", "denoise", "steps", "cfg"),
    "sampling.scheduler": ("sampler name", "euler", "karras", "dpm", "sigmas"),
    "vae.decode": ("latent to image",),
    "vae.encode": ("image to latent", "img2img"),
    "image.load": ("input", "open", "img2img", "picture", "photo"),
    "image.save": ("output", "export", "png", "write"),
    "image.preview": ("show", "view"),
    "image.canny": ("edge detection", "lines", "outline"),
    "image.scale": ("resize",),
    "image.scale_by": ("resize",),
    "image.scale_to_megapixels": ("resize",),
    "image.crop": ("cut", "trim"),
    "image.upscale_with_model": ("esrgan", "realesrgan", "super resolution", "hires"),
    "image.pad_for_outpaint": ("outpaint", "extend", "expand"),
    "primitive.seed": ("random", "noise seed"),
    "primitive.int": ("integer", "number"),
    "primitive.float": ("number", "decimal"),
    "primitive.string": ("text",),
    "primitive.bool": ("boolean", "toggle", "switch"),
    "utility.note": ("comment", "markdown", "sticky"),
    "utility.display": ("show value", "print", "debug"),
    "utility.save_text": ("write text", "txt"),
}
"""Extra words by type id (lower case)."""

_PRIMITIVES = {
    "INT": ("primitive.int",),
    "FLOAT": ("primitive.float",),
    "STRING": ("primitive.string",),
    "BOOLEAN": ("primitive.bool",),
}
_WIDGET_FEEDER = ("primitive.int", "primitive.float", "primitive.string", "primitive.bool")
"""ComfyUI's PrimitiveNode becomes whichever of these its widget needs (or a Seed)."""
_CAPITAL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def split_camel(name: str) -> str:
    """``CLIPTextEncode`` → ``CLIP Text Encode``; ``KSampler`` → ``K Sampler``."""
    return _CAPITAL.sub(" ", name)


@cache
def comfy_names() -> Mapping[str, tuple[str, ...]]:
    """The ComfyUI class names by the Daguerre type id they import as."""
    from nodes.comfy.nodetypes import CLASSES

    names: dict[str, list[str]] = {}
    for name, known in CLASSES.items():
        if known.becomes:
            targets: tuple[str, ...] = (known.becomes,)
        elif known.value_type:
            targets = _PRIMITIVES.get(known.value_type, ())
        elif name == "PrimitiveNode":
            targets = (*_WIDGET_FEEDER, "primitive.seed")
        else:  # Reroute: resolved away on import
            targets = ()
        for type_id in targets:
            names.setdefault(type_id, []).append(name)
    return {type_id: tuple(found) for type_id, found in names.items()}


def comfy_aliases(type_id: str) -> tuple[str, ...]:
    """The ComfyUI names ``type_id`` is found by, each also split at its capitals."""
    found: list[str] = []
    for name in comfy_names().get(type_id, ()):
        found.append(name)
        split = split_camel(name)
        if split != name:
            found.append(split)
    return tuple(found)


def aliases(type_id: str) -> tuple[str, ...]:
    """Every other name ``type_id`` is found by: its ComfyUI names, then its keywords."""
    return (*comfy_aliases(type_id), *KEYWORDS.get(type_id, ()))
