"""Inpainting on the denoiser seam: masked img2img for any UNet, and inpainting checkpoints.

Two mechanisms, as in diffusers' ``StableDiffusionInpaintPipeline``:

- **A noise mask** (Set Latent Noise Mask, VAE Encode for Inpainting) works with any UNet.
  After every scheduler step, everything outside the mask is reset to the original latent
  re-noised to the next step's level, so only the masked region is repainted
  (:class:`MaskBlend`, applied by the sampling loop after each step).
- **An inpainting checkpoint** (a UNet with 4 + 1 + 4 input channels) sees the mask and the
  latents of the masked image every step, concatenated to its input
  (:class:`InpaintExtension`, a denoiser extension: the one model call gets them).

Masks come at image resolution (B×H×W, 1 = repaint). With the ``diffusers`` convention
they are binarised at 0.5 and resized to latent size by nearest neighbour, as diffusers'
mask processor does; with ``comfyui`` they stay soft and are resized bilinearly, as
ComfyUI resizes noise masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from nodes.diffusion.denoiser import ModelCall, Tensors

if TYPE_CHECKING:
    from nodes.diffusion.values import Conditioning, InpaintImage


class InpaintError(ValueError):
    """Inputs that do not fit together; ``field`` names the sampler input."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def latent_mask(
    mask: torch.Tensor,
    size: tuple[int, int],
    *,
    binary: bool,
    batch: int,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """A B×H×W image-resolution mask as B×1×h×w at latent ``size``.

    ``binary``: diffusers' rule (values ≥ 0.5 become 1, the rest 0, then nearest-neighbour
    resizing); otherwise ComfyUI's (bilinear resizing of the soft mask).
    """
    m = mask.to(torch.float32).unsqueeze(1)
    if binary:
        m = (m >= 0.5).to(torch.float32)
        m = torch.nn.functional.interpolate(m, size=size)
    else:
        m = torch.nn.functional.interpolate(m, size=size, mode="bilinear", align_corners=False)
    if m.shape[0] != batch:
        if batch % m.shape[0]:
            raise InpaintError(
                f"{m.shape[0]} masks do not divide a batch of {batch} latents", "latent"
            )
        m = m.repeat(batch // m.shape[0], 1, 1, 1)
    return m.to(device=device, dtype=dtype)


def check_mask_size(mask: torch.Tensor, latent: torch.Tensor, scale: int, field: str) -> None:
    """A mask must cover the image its latent decodes to."""
    h, w = latent.shape[-2] * scale, latent.shape[-1] * scale
    if tuple(mask.shape[-2:]) != (h, w):
        raise InpaintError(
            f"the mask is {mask.shape[-1]}×{mask.shape[-2]} but the latent is for a "
            f"{w}×{h} image: use a mask of the image's size",
            field,
        )


def inpaint_image(halves: Sequence[Conditioning | None]) -> InpaintImage | None:
    """The inpainting inputs carried by the conditioning (the positive's first)."""
    for cond in reversed(halves):  # halves are [negative, positive]: positive wins
        if cond is not None and cond.inpaint is not None:
            return cond.inpaint
    return None


class MaskBlend:
    """After each step, the latent outside the mask is the original, re-noised to the level
    of the next step (and clean after the last): diffusers' 4-channel inpainting rule."""

    def __init__(
        self,
        mask: torch.Tensor,
        image_latents: torch.Tensor,
        noise: torch.Tensor,
        scheduler: Any,
        timesteps: torch.Tensor,
    ) -> None:
        self.mask = mask
        self.keep = 1 - mask
        self.image = image_latents
        self.noise = noise
        self.scheduler = scheduler
        self.timesteps = timesteps

    def __call__(self, latents: torch.Tensor, index: int) -> torch.Tensor:
        proper = self.image
        if index < len(self.timesteps) - 1:
            proper = self.scheduler.add_noise(
                self.image, self.noise, self.timesteps[index + 1 : index + 2]
            )
        return self.keep * proper + self.mask * latents


class InpaintExtension:
    """An inpainting UNet's extra input: ``[latents, mask, masked image latents]`` on the
    channel axis, every step (after the ControlNets, which see the plain latents)."""

    name = "inpaint"

    def __init__(self, mask: torch.Tensor, masked_latents: torch.Tensor, halves: int) -> None:
        self._inputs = {
            "mask": torch.cat([mask] * halves) if halves > 1 else mask,
            "masked": torch.cat([masked_latents] * halves) if halves > 1 else masked_latents,
        }

    @property
    def channels(self) -> int:
        return self._inputs["mask"].shape[1] + self._inputs["masked"].shape[1]

    def inputs(self) -> dict[str, torch.Tensor]:
        return dict(self._inputs)

    def step_inputs(self, step: int) -> dict[str, torch.Tensor]:
        return {}

    def modules(self) -> tuple[torch.nn.Module, ...]:
        return ()

    def before_model(self, call: ModelCall, inputs: Tensors) -> None:
        call.sample = torch.cat([call.sample, inputs["mask"], inputs["masked"]], dim=1)


def masked_image_latents(
    image: InpaintImage,
    *,
    sample: bool,
    generator: torch.Generator,
    batch: int,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """The masked image's latents in model space: drawn from its posterior with the run's
    generator (diffusers' pipelines do, right after the initial noise), or its mean."""
    mean = image.mean.to(device=device, dtype=dtype)
    if sample:
        std = image.std.to(device=device, dtype=dtype)
        eps = torch.randn(mean.shape, generator=generator, dtype=dtype).to(device)
        z = mean + std * eps
    else:
        z = mean
    z = (z - image.shift) * image.scaling if image.shift else image.scaling * z
    if z.shape[0] != batch:
        z = z.repeat(batch // z.shape[0] or 1, 1, 1, 1)[:batch]
    return z
