"""The model families Daguerre loads — SD1.x, SD2.x, SDXL — and what each one fixes.

Weights tell a checkpoint's widths and depths (`detect.py` reads those from tensor shapes),
but some facts are a property of the family, not of any tensor: the latent scaling factor,
the preview colours, the text encoders' activation and padding, and how many attention
heads a block has. Those live here. The published diffusers configs of SD1.5, SD2.1 and
SDXL base ship as JSON in `resources/models/<family>/`; detection starts from them and
overrides the fields that shapes decide.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from nodes.models.errors import ModelError
from nodes.models.paths import resources_dir
from nodes.models.tokenizer import EOS_TOKEN, OPENCLIP_PAD_TOKEN

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Family:
    """One model family and the facts that no tensor shape reveals."""

    id: str
    """Stable id stored in workflows and caches: "sd1", "sd2", "sdxl"."""
    name: str
    """For people: "SD1.x", "SD2.x", "SDXL"."""
    vae_scaling_factor: float
    """Multiplies VAE latents into the space the UNet was trained on."""
    latent_rgb_factors: tuple[RGB, RGB, RGB, RGB]
    """Per latent channel, its (R, G, B) contribution: a cheap preview without the VAE."""
    latent_rgb_bias: RGB
    text_encoder_pads: tuple[str, ...]
    """The padding token of each text encoder's tokenizer, in text-encoder order."""
    unet_fixed_heads: int | None
    """SD1.x UNets use 8 heads in every block; later families use 64-channel heads (None)."""

    @property
    def config_dir(self) -> Path:
        """This family's diffusers-layout base configs (JSON only) under `resources/`."""
        return resources_dir() / "models" / self.id

    def base_config(self, component: str) -> dict[str, Any]:
        """A fresh copy of the published config of `component` ("unet", "vae", ...)."""
        name = "scheduler_config.json" if component == "scheduler" else "config.json"
        return copy.deepcopy(_read_json(self.config_dir / component / name))

    def model_index(self) -> dict[str, Any]:
        return copy.deepcopy(_read_json(self.config_dir / "model_index.json"))

    def unet_heads(self, channels: int) -> int:
        """Attention heads of a UNet block `channels` wide (weights cannot tell)."""
        return self.unet_fixed_heads or heads_for_width(channels)

    def __str__(self) -> str:
        return self.name


def heads_for_width(width: int) -> int:
    """Attention heads of a layer `width` wide, for layers whose heads are 64 channels.

    OpenAI CLIP, OpenCLIP and the SD2.x/SDXL UNets all use 64-channel heads, which the
    weights cannot show (a head split is a reshape, not a tensor). Widths that are not a
    multiple of 64 only occur in tiny test models; those get 8-channel heads so that the
    rule still gives one answer for every width.
    """
    if width % 64 == 0:
        return width // 64
    if width % 8 == 0:
        return width // 8
    return 1


_SD_RGB = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)
# Latent→RGB factors as published in ComfyUI's latent_formats.py (SD15 and SDXL).
_SDXL_RGB = (
    (0.3651, 0.4232, 0.4341),
    (-0.2533, -0.0042, 0.1068),
    (0.1076, 0.1111, -0.0362),
    (-0.3165, -0.2492, -0.2188),
)

SD1 = Family("sd1", "SD1.x", 0.18215, _SD_RGB, (0.0, 0.0, 0.0), (EOS_TOKEN,), 8)
SD2 = Family("sd2", "SD2.x", 0.18215, _SD_RGB, (0.0, 0.0, 0.0), (OPENCLIP_PAD_TOKEN,), None)
SDXL = Family(
    "sdxl",
    "SDXL",
    0.13025,
    _SDXL_RGB,
    (0.1084, -0.0175, -0.0011),
    (EOS_TOKEN, OPENCLIP_PAD_TOKEN),
    None,
)
FAMILIES: dict[str, Family] = {f.id: f for f in (SD1, SD2, SDXL)}
_ALIASES = {"sd15": "sd1", "sd1.5": "sd1", "sd1.x": "sd1", "sd21": "sd2", "sd2.1": "sd2"}
_ALIASES |= {"sd2.x": "sd2", "sd_xl": "sdxl", "xl": "sdxl"}


def get_family(name: str | Family) -> Family:
    """The family with this id, name or common alias ("sd15", "SD1.x", "sd21", "SDXL")."""
    if isinstance(name, Family):
        return name
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in FAMILIES:
        known = ", ".join(FAMILIES)
        raise ModelError(f"unknown model family {name!r} (known: {known})")
    return FAMILIES[key]


def latent_to_rgb(latent: np.ndarray, family: Family) -> np.ndarray:
    """A preview of a model-space latent (C×H×W, already scaled) as H×W×3 `uint8`.

    Uses the family's linear latent→RGB factors, so it costs one small matrix product and
    never touches the VAE; the image is 1/8 of the decoded size.
    """
    import numpy as np

    factors = np.asarray(family.latent_rgb_factors, dtype=np.float32)
    if latent.ndim != 3 or latent.shape[0] != factors.shape[0]:
        raise ValueError(f"expected a {factors.shape[0]}×H×W latent, got shape {latent.shape}")
    rgb = np.tensordot(latent.astype(np.float32), factors, axes=([0], [0]))
    rgb += np.asarray(family.latent_rgb_bias, dtype=np.float32)
    return (np.clip((rgb + 1.0) * 127.5, 0.0, 255.0) + 0.5).astype(np.uint8)


@cache
def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the bundled model config {path}: {exc}") from exc
