"""Offline model loading for SD1.x, SD2.x and SDXL: detection, loading, tokenizer, demo models.

Public API (importing this package stays cheap: torch, diffusers and transformers load
only when a function that needs them is first used):

- `load_checkpoint(path, *, device, dtype, prediction) -> LoadedCheckpoint`
- `load_controlnet(path, *, device, dtype) -> LoadedControlNet`
- `load_vae(path, *, device, dtype, family) -> AutoencoderKL`
- `detect(path, prediction) -> Detection` — family and configs without loading weights
- `clip_tokenizer(pad_token)`, `get_family(name)`, `latent_to_rgb(latent, family)`
- `file_fingerprint(path)`, `sha256_file(path)`
- `make_demo_model(out_dir, family, seed) -> DemoPaths` — tiny random-weight models
- `ModelError` — every failure to use a model file, with a message for people
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nodes.models.errors import ModelError
from nodes.models.quiet import drop_known_notices

drop_known_notices()  # before anything imports transformers

if TYPE_CHECKING:
    from nodes.models.demo import DemoPaths, make_demo_model
    from nodes.models.detect import Detection, detect
    from nodes.models.families import FAMILIES, SD1, SD2, SDXL, Family, get_family, latent_to_rgb
    from nodes.models.fingerprint import Fingerprint, file_fingerprint, sha256_file
    from nodes.models.loading import (
        LoadedCheckpoint,
        LoadedControlNet,
        load_checkpoint,
        load_controlnet,
        load_vae,
    )
    from nodes.models.tokenizer import clip_tokenizer

_LAZY = {
    "DemoPaths": "demo",
    "make_demo_model": "demo",
    "Detection": "detect",
    "detect": "detect",
    "FAMILIES": "families",
    "SD1": "families",
    "SD2": "families",
    "SDXL": "families",
    "Family": "families",
    "get_family": "families",
    "latent_to_rgb": "families",
    "Fingerprint": "fingerprint",
    "file_fingerprint": "fingerprint",
    "sha256_file": "fingerprint",
    "LoadedCheckpoint": "loading",
    "LoadedControlNet": "loading",
    "load_checkpoint": "loading",
    "load_controlnet": "loading",
    "load_vae": "loading",
    "clip_tokenizer": "tokenizer",
}

__all__ = [
    "FAMILIES",
    "SD1",
    "SD2",
    "SDXL",
    "DemoPaths",
    "Detection",
    "Family",
    "Fingerprint",
    "LoadedCheckpoint",
    "LoadedControlNet",
    "ModelError",
    "clip_tokenizer",
    "detect",
    "file_fingerprint",
    "get_family",
    "latent_to_rgb",
    "load_checkpoint",
    "load_controlnet",
    "load_vae",
    "make_demo_model",
    "sha256_file",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
