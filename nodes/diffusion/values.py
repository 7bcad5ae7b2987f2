"""The values that travel along model-typed links (UNET, CLIP, VAE, CONDITIONING, ...).

They are frozen records around torch modules and tensors. Models are shared, never
copied: two nodes that receive the same UNET get the same module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from nodes.models.families import Family
    from nodes.models.lora import LoraLayer


@dataclass(frozen=True, eq=False)
class LoraPatch:
    """A LoRA on one model at one strength, applied only while that model runs.

    Models are shared (the model cache holds one copy), so a LoRA never changes them for
    good: a UNET or CLIP value carries its patches, and :mod:`nodes.diffusion.patches`
    adds them to the weights for the length of a sampling run or a text encoding, then puts
    the exact weights back.
    """

    layers: tuple[LoraLayer, ...]
    """Bound to the target model: each layer's ``module`` is a path in it."""
    strength: float
    part: int = 0
    """Which model of the value: the text encoder's index for CLIP; 0 for the UNet."""
    source: str = ""
    """The LoRA file, for messages and reproducibility records."""


@dataclass(frozen=True, eq=False)
class UNetModel:
    """A denoising UNet with what sampling needs to know about its checkpoint."""

    module: Any
    """diffusers ``UNet2DConditionModel``."""
    family: Family
    scheduler_config: dict[str, Any]
    """The checkpoint's scheduler config; prediction type already resolved."""
    source: str
    """Model file, for reproducibility records."""
    patches: tuple[LoraPatch, ...] = ()
    """LoRAs applied while sampling, in the order they were added."""

    def memory_bytes(self) -> int:
        return 0  # owned by the model cache, not the output cache


@dataclass(frozen=True, eq=False)
class ClipModel:
    """Text encoder(s) with their tokenizers: one for SD1.x/SD2.x, two for SDXL."""

    encoders: tuple[Any, ...]
    tokenizers: tuple[Any, ...]
    family: Family
    patches: tuple[LoraPatch, ...] = ()
    """LoRAs applied while encoding text (``part`` picks the encoder)."""
    stop_at_layer: int | None = None
    """ComfyUI's ``stop_at_clip_layer`` (CLIP Set Last Layer): −1 the last layer, −2 the
    one before...; None for the family's own layer (see :mod:`nodes.diffusion.text`)."""

    def memory_bytes(self) -> int:
        return 0


@dataclass(frozen=True, eq=False)
class VaeModel:
    module: Any
    """diffusers ``AutoencoderKL``."""
    family: Family

    @property
    def scaling_factor(self) -> float:
        return float(self.module.config.scaling_factor)

    @property
    def shift_factor(self) -> float:
        """The family's latent shift (0 for SD1.x/SD2.x/SDXL; later VAEs centre theirs)."""
        return self.family.latent.shift_factor

    def to_model(self, latents: torch.Tensor) -> torch.Tensor:
        """VAE latents into model space: ``(z − shift) · scale``."""
        if self.shift_factor:
            return (latents - self.shift_factor) * self.scaling_factor
        return self.scaling_factor * latents

    def to_vae(self, latents: torch.Tensor) -> torch.Tensor:
        """Model-space latents back into the VAE's: ``z / scale + shift``."""
        unscaled = latents / self.scaling_factor
        return unscaled + self.shift_factor if self.shift_factor else unscaled

    @property
    def downscale(self) -> int:
        return 2 ** (len(self.module.config.block_out_channels) - 1)

    def memory_bytes(self) -> int:
        return 0


@dataclass(frozen=True, eq=False)
class ControlHint:
    """One ControlNet applied to a conditioning between two fractions of the steps."""

    net: Any
    """diffusers ``ControlNetModel``."""
    image: torch.Tensor
    """B×3×H×W in [0, 1], at the output size."""
    strength: float
    start: float
    end: float


@dataclass(frozen=True, eq=False)
class InpaintImage:
    """What an inpainting checkpoint (a 9-channel UNet) sees besides the latents every
    step: the mask and the latents of the image with the masked pixels greyed out."""

    mask: torch.Tensor
    """B×H×W in [0, 1] at image resolution, 1 = repaint."""
    mean: torch.Tensor
    """The masked image's VAE posterior (VAE space): the sampler draws its latents with
    the run's seed, as diffusers' inpainting pipelines do (or takes the mean, with the
    comfyui convention)."""
    std: torch.Tensor
    scaling: float
    shift: float = 0.0


@dataclass(frozen=True, eq=False)
class Conditioning:
    """Encoded text: token embeddings and, for SDXL, pooled embeddings and size ids."""

    embeds: torch.Tensor
    """1×T×D (T a multiple of 77)."""
    family: Family
    pooled: torch.Tensor | None = None
    time_ids: tuple[float, ...] | None = None
    """SDXL: original size, crop top-left, target size (h, w, top, left, h, w)."""
    controls: tuple[ControlHint, ...] = field(default=())
    tokens: int = 0
    inpaint: InpaintImage | None = None
    """For an inpainting checkpoint: the mask and masked image (Inpaint Model
    Conditioning)."""

    @property
    def nbytes(self) -> int:
        total = self.embeds.element_size() * self.embeds.nelement()
        if self.pooled is not None:
            total += self.pooled.element_size() * self.pooled.nelement()
        return total


@dataclass(frozen=True, eq=False)
class Latent:
    """Latents in model space (already multiplied by the VAE scaling factor)."""

    samples: torch.Tensor
    """B×C×h×w: the latent itself (for an encoded image, the posterior's mode)."""
    empty: bool = False
    """An empty latent: the sampler starts from pure noise (text to image)."""
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None
    """From VAE encode: the posterior (VAE space). The sampler draws the initial latent
    ``scaling * (mean + std * noise)`` with the run's seed, the way diffusers' img2img
    pipeline does, so the encode node's output does not depend on the seed."""
    scaling: float = 1.0
    shift: float = 0.0
    """The VAE's latent shift, subtracted before ``scaling`` (see :meth:`VaeModel.to_model`)."""
    downscale: int = 8
    """Image pixels per latent cell along each side (the VAE's factor)."""
    noise_mask: torch.Tensor | None = None
    """B×H×W in [0, 1] at image resolution (Set Latent Noise Mask): the sampler repaints
    where it is 1 and keeps the rest of this latent, re-noised to each step's level."""
    batch: tuple[int, int] | None = None
    """(index, size): these samples are image ``index`` of a batch of ``size``, made alone
    (Empty Latent's ``batch_index``). A sampler draws every random number for the whole
    batch and denoises only this image, so it is the same picture as in the batch's run;
    its output keeps the mark, so a second sampler (a refiner) does the same."""

    @property
    def nbytes(self) -> int:
        return sum(
            t.element_size() * t.nelement()
            for t in (self.samples, self.mean, self.std, self.noise_mask)
            if t is not None
        )
