"""The model families Daguerre knows — SD1.x, SD2.x, SDXL and the SDXL refiner — each as
one record of data.

Weights tell a checkpoint's widths and depths (`detect.py` reads those from tensor shapes),
but some facts are a property of the family, not of any tensor: the latent format (channels,
scaling and shift factors, preview colours), the native resolution, which text encoders it
conditions on and which of their layers, the added conditions its UNet takes, which
ControlNets fit it, how many attention heads a block has. Those live here, and code that
needs them looks them up instead of testing ``family is SDXL``: adding a UNet family is
writing one :class:`Family` (plus its published configs under `resources/models/<id>/`).
An unknown family is an error, never a fallthrough to some other family's branch.

The published diffusers configs of SD1.5, SD2.1, SDXL base and the SDXL refiner ship as
JSON in `resources/models/<family>/`; detection starts from them and overrides the fields
that shapes decide.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from nodes.models import prefixes as ldm
from nodes.models.errors import ModelError
from nodes.models.paths import resources_dir
from nodes.models.tokenizer import EOS_TOKEN, OPENCLIP_PAD_TOKEN

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

__all__ = [
    "FAMILIES",
    "LOADABLE_IDS",
    "SD1",
    "SD2",
    "SDXL",
    "SDXL_REFINER",
    "Family",
    "LatentFormat",
    "TextEncoderSpec",
    "family_for_unet",
    "get_family",
    "heads_for_width",
    "latent_to_rgb",
]

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class LatentFormat:
    """How a family's latents relate to its VAE's, and how to preview them without it."""

    channels: int
    """Latent channels the VAE makes and the sampler denoises (a 9-channel inpainting UNet
    still denoises 4: the other five are the mask and the masked image, concatenated)."""
    scaling_factor: float
    """model latent = (VAE latent − shift_factor) · scaling_factor."""
    shift_factor: float
    rgb_factors: tuple[RGB, ...]
    """Per latent channel, its (R, G, B) contribution: a cheap preview without the VAE."""
    rgb_bias: RGB
    downscale: int = 8
    """Image pixels per latent cell along each side (the VAE's spatial factor)."""


@dataclass(frozen=True)
class TextEncoderSpec:
    """One text encoder of a family's stack, in text-encoder order."""

    component: str
    """The diffusers folder component: "text_encoder", "text_encoder_2"."""
    ldm_prefix: str
    """Where a single-file checkpoint keeps it."""
    layout: Literal["clip", "open_clip"]
    """OpenAI CLIP is stored in transformers' layout; OpenCLIP in its own."""
    pad_token: str
    """The padding token its tokenizer was trained with."""
    hidden_state: Literal["last", "penultimate"]
    """The layer the UNet is conditioned on: the final (layer-normed) output, or the
    penultimate layer's hidden states (SDXL)."""
    drop_last_layer: bool = False
    """SD2.x conditions on OpenCLIP's penultimate layer, which diffusers expresses as a text
    encoder one layer shorter than the file's: the loader drops the file's last layer."""
    pooled: bool = False
    """Its pooled, projected embedding is an added condition of the UNet (SDXL's second)."""
    ldm_position_ids: bool = False
    """Single files of this family carry the `position_ids` buffer (SD1.x's do)."""


Prediction = Literal["epsilon", "v_prediction"]


@dataclass(frozen=True)
class Family:
    """One model family and the facts that no tensor shape reveals."""

    id: str
    """Stable id stored in workflows and caches: "sd1", "sd2", "sdxl", "sdxl_refiner"."""
    name: str
    """For people: "SD1.x", "SD2.x", "SDXL", "SDXL refiner"."""
    latent: LatentFormat
    native_size: int
    """The side, in pixels, of the square images it was trained on."""
    text_encoders: tuple[TextEncoderSpec, ...]
    predictions: tuple[Prediction, ...]
    """What its checkpoints predict; the first is the default when nothing tells."""
    added_conditions: tuple[str, ...] = ()
    """The UNet's ``added_cond_kwargs`` (SDXL: pooled text embeds and size/crop ids)."""
    linear_projection: bool = True
    """Its transformer blocks project in and out with linear layers (not 1×1 convs)."""
    unet_fixed_heads: int | None = None
    """SD1.x UNets use 8 heads in every block; later families use 64-channel heads (None)."""
    native_size_v: int | None = None
    """The native side of its v-prediction releases when it differs (SD2.1 768-v)."""
    v_prediction_by_norm_std: bool = False
    """Its epsilon and v-prediction single files look alike, and are told apart by the spread
    of the UNet's last norm bias (ComfyUI's rule, for SD2.x)."""
    controlnet_family: str | None = None
    """The family id whose ControlNets fit it (None: its own)."""
    kohya_ldm_names: bool = False
    """Kohya's LoRAs name its UNet layers after the original (LDM) UNet, not diffusers'."""
    loadable: bool = True
    """False for a family Daguerre recognises but cannot load yet (detection says so)."""
    time_ids: tuple[str, ...] = ()
    """The numbers of the UNet's micro-conditioning (its ``time_ids``), in order: SDXL's
    sizes and crop, or the refiner's original size, crop and aesthetic score."""
    aesthetic_scores: tuple[float, float] | None = None
    """(positive, negative): the aesthetic scores conditioning that sets none gets
    (diffusers' ``aesthetic_score`` and ``negative_aesthetic_score`` defaults, ComfyUI's)."""

    @property
    def vae_scaling_factor(self) -> float:
        """Multiplies VAE latents into the space the UNet was trained on."""
        return self.latent.scaling_factor

    @property
    def text_encoder_pads(self) -> tuple[str, ...]:
        """The padding token of each text encoder's tokenizer, in text-encoder order."""
        return tuple(spec.pad_token for spec in self.text_encoders)

    @property
    def controlnets(self) -> str:
        """The family id of the ControlNets that fit this family."""
        return self.controlnet_family or self.id

    @property
    def config_dir(self) -> Path:
        """This family's diffusers-layout base configs (JSON only) under `resources/`."""
        return resources_dir() / "models" / self.id

    def base_config(self, component: str) -> dict[str, Any]:
        """A fresh copy of the published config of `component` ("unet", "vae", ...)."""
        self.require_loadable()
        name = "scheduler_config.json" if component == "scheduler" else "config.json"
        return copy.deepcopy(_read_json(self.config_dir / component / name))

    def model_index(self) -> dict[str, Any]:
        self.require_loadable()
        return copy.deepcopy(_read_json(self.config_dir / "model_index.json"))

    def require_loadable(self, what: str = "") -> None:
        if not self.loadable:
            subject = f"{what} is an {self.name}" if what else f"{self.name} models are"
            raise ModelError(f"{subject}, which Daguerre does not load yet")

    def unet_heads(self, channels: int) -> int:
        """Attention heads of a UNet block `channels` wide (weights cannot tell)."""
        return self.unet_fixed_heads or heads_for_width(channels)

    def native_side(self, prediction: str) -> int:
        """The native image side for a checkpoint of this family predicting `prediction`."""
        if prediction == "v_prediction" and self.native_size_v is not None:
            return self.native_size_v
        return self.native_size

    def micro_conditions(self, given: tuple[float, ...], *, negative: bool) -> tuple[float, ...]:
        """The UNet's ``time_ids`` from a conditioning's: as given when they already have
        this family's layout. A refiner given SDXL's six size numbers (from Text Encode or
        Text Encode SDXL) takes their original size and crop, and the aesthetic score of
        its half of the guidance: the negative one for the negative prompt."""
        if len(given) == len(self.time_ids):
            return given
        if (
            self.aesthetic_scores is not None
            and self.time_ids[-1] == "aesthetic_score"
            and len(given) == len(_SIZE_IDS)
        ):
            score = self.aesthetic_scores[1 if negative else 0]
            return (*given[: len(self.time_ids) - 1], score)
        raise ModelError(
            f"{self} takes {len(self.time_ids)} micro-conditioning numbers "
            f"({', '.join(self.time_ids)}); the conditioning has {len(given)}"
        )

    def __str__(self) -> str:
        return self.name


# Latent→RGB factors as published in ComfyUI's latent_formats.py (SD15 and SDXL).
_SD_LATENT = LatentFormat(
    channels=4,
    scaling_factor=0.18215,
    shift_factor=0.0,
    rgb_factors=(
        (0.3512, 0.2297, 0.3227),
        (0.3250, 0.4974, 0.2350),
        (-0.2829, 0.1762, 0.2721),
        (-0.2120, -0.2616, -0.7177),
    ),
    rgb_bias=(0.0, 0.0, 0.0),
)
_SDXL_LATENT = LatentFormat(
    channels=4,
    scaling_factor=0.13025,
    shift_factor=0.0,
    rgb_factors=(
        (0.3651, 0.4232, 0.4341),
        (-0.2533, -0.0042, 0.1068),
        (0.1076, 0.1111, -0.0362),
        (-0.3165, -0.2492, -0.2188),
    ),
    rgb_bias=(0.1084, -0.0175, -0.0011),
)
_SIZE_IDS = (
    "original_height",
    "original_width",
    "crop_top",
    "crop_left",
    "target_height",
    "target_width",
)
_OPENCLIP_BIG_G = TextEncoderSpec(
    "text_encoder_2",
    ldm.SDXL_OPENCLIP,
    "open_clip",
    OPENCLIP_PAD_TOKEN,
    "penultimate",
    pooled=True,
)

SD1 = Family(
    "sd1",
    "SD1.x",
    _SD_LATENT,
    native_size=512,
    text_encoders=(
        TextEncoderSpec(
            "text_encoder", ldm.SD1_CLIP, "clip", EOS_TOKEN, "last", ldm_position_ids=True
        ),
    ),
    predictions=("epsilon", "v_prediction"),
    linear_projection=False,
    unet_fixed_heads=8,
)
SD2 = Family(
    "sd2",
    "SD2.x",
    _SD_LATENT,
    native_size=512,
    native_size_v=768,
    text_encoders=(
        TextEncoderSpec(
            "text_encoder",
            ldm.SD2_OPENCLIP,
            "open_clip",
            OPENCLIP_PAD_TOKEN,
            "last",
            drop_last_layer=True,
        ),
    ),
    predictions=("v_prediction", "epsilon"),
    v_prediction_by_norm_std=True,
)
SDXL = Family(
    "sdxl",
    "SDXL",
    _SDXL_LATENT,
    native_size=1024,
    text_encoders=(
        TextEncoderSpec("text_encoder", ldm.SDXL_CLIP, "clip", EOS_TOKEN, "penultimate"),
        _OPENCLIP_BIG_G,
    ),
    predictions=("epsilon", "v_prediction"),
    added_conditions=("text_embeds", "time_ids"),
    kohya_ldm_names=True,
    time_ids=_SIZE_IDS,
)
SDXL_REFINER = Family(
    "sdxl_refiner",
    "SDXL refiner",
    _SDXL_LATENT,
    native_size=1024,
    text_encoders=(
        TextEncoderSpec(
            "text_encoder_2",
            ldm.SDXL_REFINER_OPENCLIP,
            "open_clip",
            OPENCLIP_PAD_TOKEN,
            "penultimate",
            pooled=True,
        ),
    ),
    predictions=("epsilon",),
    added_conditions=("text_embeds", "time_ids"),
    time_ids=(*_SIZE_IDS[:4], "aesthetic_score"),
    aesthetic_scores=(6.0, 2.5),
)
"""SDXL's refiner: OpenCLIP-G alone (diffusers keeps it as ``text_encoder_2``, with no first
text encoder), and a UNet conditioned on the aesthetic score instead of the target size. It
finishes the last steps of an SDXL base run (base sampler up to an end step, the refiner
from that step) or refines an image (image to image)."""

FAMILIES: dict[str, Family] = {f.id: f for f in (SD1, SD2, SDXL, SDXL_REFINER)}
LOADABLE_IDS: tuple[str, ...] = tuple(f.id for f in FAMILIES.values() if f.loadable)
"""The families a model can be loaded as (menus offer these)."""
_ALIASES = {"sd15": "sd1", "sd1.5": "sd1", "sd1.x": "sd1", "sd21": "sd2", "sd2.1": "sd2"}
_ALIASES |= {"sd2.x": "sd2", "sd_xl": "sdxl", "xl": "sdxl", "refiner": "sdxl_refiner"}


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


def family_for_unet(
    *,
    added_conditions: bool,
    linear_projection: bool,
    what: str,
    text_components: tuple[str, ...] | None = None,
) -> Family:
    """The loadable family whose UNets (and ControlNets) have this shape: whether they take
    added conditions and whether their transformers project linearly. `text_components`
    (a diffusers folder's text encoders) tells apart families whose UNets look alike (SDXL
    and its refiner); without it the first family listed wins (SDXL, for ControlNets)."""
    for family in FAMILIES.values():
        if (
            family.loadable
            and bool(family.added_conditions) == added_conditions
            and family.linear_projection == linear_projection
            and (
                text_components is None
                or tuple(s.component for s in family.text_encoders) == text_components
            )
        ):
            return family
    stack = ""
    if text_components is not None:
        stack = f", text encoders {', '.join(text_components) or '(none)'},"
    raise ModelError(
        f"{what}: a UNet {'with' if added_conditions else 'without'} added conditions and "
        f"{'linear' if linear_projection else 'convolutional'} projections{stack} fits no "
        f"family Daguerre knows ({', '.join(FAMILIES)})"
    )


def latent_to_rgb(latent: np.ndarray, family: Family) -> np.ndarray:
    """A preview of a model-space latent (C×H×W, already scaled) as H×W×3 `uint8`.

    Uses the family's linear latent→RGB factors (published for model-space latents, shift
    included), so it costs one small matrix product and never touches the VAE; the image is
    1/8 of the decoded size.
    """
    import numpy as np

    fmt = family.latent
    factors = np.asarray(fmt.rgb_factors, dtype=np.float32)
    if latent.ndim != 3 or latent.shape[0] != factors.shape[0]:
        raise ValueError(f"expected a {factors.shape[0]}×H×W latent, got shape {latent.shape}")
    rgb = np.tensordot(latent.astype(np.float32), factors, axes=([0], [0]))
    rgb += np.asarray(fmt.rgb_bias, dtype=np.float32)
    return (np.clip((rgb + 1.0) * 127.5, 0.0, 255.0) + 0.5).astype(np.uint8)


@cache
def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the bundled model config {path}: {exc}") from exc
