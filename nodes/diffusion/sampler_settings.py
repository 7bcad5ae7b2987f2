"""What one sampling run is asked to do, checked: its settings, the steps a
diffusers-convention run makes (the base → refiner hand-off), and one image of a batch
made alone. Kept apart from the loop (:mod:`nodes.diffusion.sampling`, which re-exports
these names) so each stays small.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from nodes.diffusion.values import Latent


class SamplingError(ValueError):
    """Bad sampler inputs; ``field`` names the input or param."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SamplerSettings:
    seed: int
    steps: int
    cfg: float
    denoise: float = 1.0
    start_step: int = 0
    """ComfyUI's KSamplerAdvanced ``start_at_step``; with the diffusers convention,
    diffusers' ``denoising_start`` counted in steps (see :func:`diffusers_window`)."""
    end_step: int = 10000
    """``end_at_step``: stop after this step; at or above ``steps`` runs to the end. With
    the diffusers convention, ``denoising_end`` counted in steps."""
    add_noise: bool = True
    leftover_noise: bool = False
    """Return the latent still noisy at the last step's σ (for a second sampler)."""

    @property
    def advanced(self) -> bool:
        """Whether a KSamplerAdvanced-only setting differs from its default."""
        return (
            self.start_step != 0
            or self.end_step < self.steps
            or not self.add_noise
            or self.leftover_noise
        )


def diffusers_window(settings: SamplerSettings, order: int, masked: bool) -> tuple[int, int | None]:
    """The steps a diffusers-convention run makes: (first step, step to stop before, or None
    for the end). They are diffusers' ``denoising_start`` and ``denoising_end`` counted in
    steps, the hand-off of SDXL's base to its refiner: a base sampler with ``end_step`` k
    and ``leftover_noise`` returns the latent still noisy after k steps, and a refiner's
    sampler with ``start_step`` k and ``add_noise`` off resumes the same schedule there,
    adding no noise. SamplingError (naming the field) for a setting that has no diffusers
    meaning: those need the comfyui convention."""
    if not settings.advanced:
        return 0, None
    start = settings.start_step
    end = settings.end_step if settings.end_step < settings.steps else None
    checks = (
        (order != 1, "start_step", "this sampler makes two model calls a step"),
        (masked, "start_step", "a masked or inpainting run cannot be split"),
        (
            start > 0 and settings.add_noise,
            "start_step",
            "start_step continues a latent another sampler left noisy (diffusers' "
            "denoising_start): turn add_noise off",
        ),
        (
            start == 0 and not settings.add_noise,
            "add_noise",
            "without noise, a run starts from a latent another sampler left noisy: set "
            "start_step to the step it stopped at",
        ),
        (
            end is not None and not settings.leftover_noise,
            "leftover_noise",
            "a run that stops at end_step returns its latent still noisy (diffusers' "
            "denoising_end): turn leftover_noise on",
        ),
        (
            start > 0 and settings.denoise < 1.0,
            "denoise",
            "start_step and denoise both choose where to start: keep denoise at 1",
        ),
        (
            end is not None and end <= start,
            "end_step",
            f"end_step {end} is not after start_step {start}",
        ),
    )
    for failed, field, message in checks:
        if failed:
            raise SamplingError(f"{message} (or use the comfyui convention)", field)
    return start, end


def whole_batch(latent: Latent) -> Latent:
    """A latent marked as image ``index`` of a batch of ``size`` (``Latent.batch``) widened
    to the whole batch, every image a copy of it: the sampler's loop and noise draws then
    have the batch's shapes, and only the marked image is denoised and kept."""
    assert latent.batch is not None
    index, size = latent.batch
    if not 0 <= index < size:
        raise SamplingError(f"batch index {index} is outside a batch of {size}", "latent")

    def widen(tensor: torch.Tensor | None) -> torch.Tensor | None:
        if tensor is None or tensor.shape[0] == size:
            return tensor
        if tensor.shape[0] != 1:
            raise SamplingError(
                f"a latent of {tensor.shape[0]} images cannot be image {index} of a batch",
                "latent",
            )
        return tensor.repeat(size, *([1] * (tensor.ndim - 1)))

    samples = widen(latent.samples)
    assert samples is not None
    return dataclasses.replace(
        latent,
        samples=samples,
        mean=widen(latent.mean),
        std=widen(latent.std),
        noise_mask=widen(latent.noise_mask),
    )
