"""Our sampling loop, matching diffusers' pipelines: denoise → scheduler step → preview →
cancel check, every step.

The model is called in one place, the run's denoiser (:mod:`nodes.diffusion.denoiser`),
which owns CFG and the extensions (ControlNet); acceleration (CUDA graphs, compile) wraps
that denoiser, never this loop. On CPU in fp32 the result equals ``StableDiffusionPipeline``
(and its img2img, ControlNet and SDXL siblings) bit for bit for the same components, seed
and scheduler: the same noise draws from one CPU ``torch.Generator`` in the same order,
the same batching of ``[negative, positive]`` in one UNet call, the same scheduler calls.
It is our own loop rather than a pipeline call so that previews, cancel, ComfyUI's
conventions and acceleration fit in.

The per-step path makes no host sync (no ``.item()``, no ``.cpu()``; the throttled preview
is copied without waiting, see :mod:`nodes.diffusion.preview`) and keeps shapes static.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from nodes.diffusion.acceleration import accelerate
from nodes.diffusion.denoiser import Denoiser, build_denoiser
from nodes.diffusion.inpainting import (
    InpaintError,
    InpaintExtension,
    MaskBlend,
    check_mask_size,
    inpaint_image,
    latent_mask,
    masked_image_latents,
)
from nodes.diffusion.patches import unet_patched
from nodes.diffusion.preview import PreviewCopy
from nodes.diffusion.sampler_settings import (
    SamplerSettings,
    SamplingError,
    diffusers_window,
    whole_batch,
)
from nodes.diffusion.schedulers import COMFYUI, SchedulerRecipe
from nodes.diffusion.values import Conditioning, InpaintImage, Latent, UNetModel
from nodes.models.families import Family, latent_to_rgb

__all__ = [
    "SamplerSettings",
    "SamplingError",
    "diffusers_window",
    "estimate_x0",
    "in_sigma_space",
    "sample",
    "whole_batch",
]

Progress = Callable[[int, int, Callable[[], np.ndarray | None]], None]


def sample(
    unet: UNetModel,
    recipe: SchedulerRecipe,
    positive: Conditioning,
    negative: Conditioning | None,
    latent: Latent,
    settings: SamplerSettings,
    *,
    progress: Progress | None = None,
    check_cancelled: Callable[[], None] | None = None,
    acceleration: str = "off",
) -> torch.Tensor:
    """Denoise ``latent``; returns model-space latents B×C×h×w.

    ``acceleration`` (off, auto, graphs, compile) wraps the run's denoiser; the loop is
    the same whatever it is. A latent marked as one image of a batch (``Latent.batch``)
    gives that image only (1×C×h×w), equal to it in the whole batch's run.
    """
    module = unet.module
    device, dtype = module.device, module.dtype
    latent = _fit_empty(latent, unet.family)
    slot = None
    if latent.batch is not None:
        # One image of a batch: the loop keeps the whole batch's shape, so every noise draw
        # (initial, ancestral, masks) is the batch's; only the model runs on this image.
        slot = latent.batch[0]
        latent = whole_batch(latent)
    one = slice(slot, slot + 1) if slot is not None else slice(None)
    inpaint = inpaint_image([negative, positive])
    _check_compatible(unet, positive, negative, latent, inpaint)
    batch = latent.samples.shape[0]
    finish: Callable[[torch.Tensor], torch.Tensor] | None = None
    masked = latent.noise_mask is not None
    image_latents: torch.Tensor | None = None
    comfy = recipe.convention == COMFYUI

    if comfy:
        start = _comfy_start(unet, recipe, latent, settings, device, dtype)
        if start is None:  # no step left: ComfyUI returns the latent as it came
            return latent.samples[one].to(device=device, dtype=dtype)
        scheduler, timesteps, latents, generator, finish, noise = start
        if masked:
            image_latents = latent.samples.to(device=device, dtype=dtype)
        do_cfg = negative is not None and not math.isclose(settings.cfg, 1.0)
    else:
        scheduler = recipe.build(unet.scheduler_config, settings.seed)
        start, end = diffusers_window(settings, scheduler.order, masked or inpaint is not None)
        generator = torch.Generator("cpu").manual_seed(settings.seed)
        scheduler.set_timesteps(settings.steps, device=device)
        timesteps = scheduler.timesteps
        begin = 0
        if start:
            # Continue a latent another sampler left noisy (diffusers' denoising_start, the
            # SDXL refiner's hand-off): no noise is drawn, the schedule resumes at `start`.
            if latent.empty:
                raise SamplingError(
                    "start_step continues a latent another sampler left noisy; this one is "
                    "empty: connect that sampler's latent",
                    "latent",
                )
            begin, timesteps = start, scheduler.timesteps[start:]
            scheduler.set_begin_index(start)
            latents = noise = latent.samples.to(device=device, dtype=dtype)
        elif latent.empty and settings.denoise >= 1.0 and not masked:
            noise = torch.randn(latent.samples.shape, generator=generator, dtype=dtype).to(device)
            latents = noise * scheduler.init_noise_sigma
        else:
            init_steps = min(int(settings.steps * settings.denoise), settings.steps)
            t_start = max(settings.steps - init_steps, 0)
            begin = t_start * scheduler.order
            timesteps = scheduler.timesteps[t_start * scheduler.order :]
            if hasattr(scheduler, "set_begin_index"):
                scheduler.set_begin_index(t_start * scheduler.order)
            if len(timesteps) == 0:
                raise SamplingError(
                    f"denoise {settings.denoise} leaves no step of {settings.steps}: raise "
                    "denoise or steps",
                    "denoise",
                )
            # Inpainting at full strength starts from pure noise, as diffusers' inpainting
            # pipelines do; they draw the image's latents first only when they need them
            # (to blend, or to noise them) — the same draws in the same order here.
            pure = settings.denoise >= 1.0 and (masked or inpaint is not None)
            if masked or not pure:
                image_latents = _initial_latent(latent, generator, device, dtype)
            shape = latent.samples.shape
            noise = torch.randn(shape, generator=generator, dtype=dtype).to(device)
            if pure:
                latents = noise * scheduler.init_noise_sigma
            else:
                assert image_latents is not None
                latents = scheduler.add_noise(image_latents, noise, timesteps[:1].repeat(batch))
        if end is not None:  # diffusers' denoising_end: stop there, the latent still noisy
            timesteps = timesteps[: max(end - begin, 0)]
        if len(timesteps) == 0:
            raise SamplingError(
                f"start_step {start} leaves no step of {settings.steps} to run", "start_step"
            )
        do_cfg = settings.cfg > 1.0 and negative is not None

    halves = [negative, positive] if do_cfg and negative is not None else [positive]
    total = len(timesteps)
    size = (latent.samples.shape[-2], latent.samples.shape[-1])
    extra = []
    if inpaint is not None:
        mask = latent_mask(
            inpaint.mask, size, binary=not comfy, batch=batch, device=device, dtype=dtype
        )
        masked_latents = masked_image_latents(
            inpaint,
            sample=not comfy,
            generator=generator,
            batch=batch,
            device=device,
            dtype=dtype,
        )
        extra.append(InpaintExtension(mask[one], masked_latents[one], len(halves)))
    elif masked and not comfy:
        # diffusers' pipeline encodes the masked image with the run's generator even for a
        # 4-channel UNet, which never uses it; the same draw keeps ancestral samplers equal.
        torch.randn(latent.samples.shape, generator=generator, dtype=dtype)
    blend = None
    if masked:
        assert latent.noise_mask is not None and image_latents is not None
        mask = latent_mask(
            latent.noise_mask, size, binary=not comfy, batch=batch, device=device, dtype=dtype
        )
        blend = MaskBlend(mask, image_latents, noise, scheduler, timesteps)
    built = build_denoiser(
        unet,
        halves,
        batch=batch if slot is None else 1,
        cfg=settings.cfg if do_cfg else None,
        total=total,
        device=device,
        dtype=dtype,
        extra=extra,
    )
    denoiser: Denoiser = accelerate(built, acceleration, device)
    step_kwargs = _step_kwargs(scheduler, generator)
    sigma_space = in_sigma_space(scheduler)
    previews = PreviewCopy(device)
    with unet_patched(unet):  # LoRAs: once per run, undone after
        for index, t in enumerate(timesteps):
            if check_cancelled is not None:
                check_cancelled()
            model_input = scheduler.scale_model_input(latents, t)
            noise_pred = denoiser(model_input[one], t, index)
            if slot is not None:  # the scheduler steps the whole batch's shape
                noise_pred = noise_pred.repeat(batch, 1, 1, 1)
            sigma = _current_sigma(scheduler)
            out = scheduler.step(noise_pred, t, latents, **step_kwargs, return_dict=True)
            previous, latents = latents, out.prev_sample
            if blend is not None:
                latents = blend(latents, index)
            if progress is not None:
                preview = _preview(
                    unet,
                    scheduler,
                    out,
                    previous,
                    noise_pred,
                    t,
                    sigma,
                    sigma_space,
                    previews,
                    last=index + 1 == total,
                    slot=slot or 0,
                )
                progress(index + 1, total, preview)
    if device.type == "cuda":
        # One sync per run, not per step: the sampler's time is then its own, instead of
        # surfacing in whichever node first reads a result back (the VAE decode).
        torch.cuda.current_stream(device).synchronize()
    result = finish(latents) if finish is not None else latents
    return result[one] if slot is not None else result


def _fit_empty(latent: Latent, family: Family) -> Latent:
    """An empty latent carries a size, not a format: it takes the model family's channels
    (Empty Latent need not know which model it feeds)."""
    channels = family.latent.channels
    if not latent.empty or latent.samples.shape[1] == channels:
        return latent
    b, _, h, w = latent.samples.shape
    return dataclasses.replace(latent, samples=latent.samples.new_zeros(b, channels, h, w))


def _check_compatible(
    unet: UNetModel,
    positive: Conditioning,
    negative: Conditioning | None,
    latent: Latent,
    inpaint: InpaintImage | None,
) -> None:
    config = unet.module.config
    for name, cond in (("positive", positive), ("negative", negative)):
        if cond is None:
            continue
        if cond.embeds.shape[-1] != config.cross_attention_dim:
            raise SamplingError(
                f"conditioning from a {cond.family.name} text encoder "
                f"({cond.embeds.shape[-1]} wide) does not fit this {unet.family.name} UNet "
                f"({config.cross_attention_dim})",
                name,
            )
        if config.addition_embed_type == "text_time" and cond.pooled is None:
            raise SamplingError("SDXL needs conditioning from an SDXL text encoder", name)
    fmt = unet.family.latent
    channels = latent.samples.shape[1]
    inpainting_unet = config.in_channels == 2 * fmt.channels + 1
    if inpaint is None and inpainting_unet and channels == fmt.channels:
        raise SamplingError(
            f"this is an inpainting model ({config.in_channels} input channels): connect the "
            "positive and negative of an Inpaint Model Conditioning node, which add the mask "
            "and the masked image",
            "positive",
        )
    if inpaint is not None and not inpainting_unet:
        raise SamplingError(
            f"the conditioning carries an inpainting mask, but this UNet is not an inpainting "
            f"model ({config.in_channels} input channels): use Set Latent Noise Mask for "
            "masked image to image with it",
            "positive",
        )
    extra = fmt.channels + 1 if inpaint is not None else 0
    if channels + extra != config.in_channels:
        raise SamplingError(
            f"latent has {channels} channels, the UNet expects {config.in_channels - extra}",
            "latent",
        )
    try:
        if latent.noise_mask is not None:
            check_mask_size(latent.noise_mask, latent.samples, fmt.downscale, "latent")
        if inpaint is not None:
            check_mask_size(inpaint.mask, latent.samples, fmt.downscale, "positive")
            if tuple(inpaint.mean.shape[-2:]) != tuple(latent.samples.shape[-2:]):
                raise InpaintError(
                    "the inpainting image and the latent have different sizes: encode the "
                    "same image for both",
                    "positive",
                )
    except InpaintError as exc:
        raise SamplingError(str(exc), exc.field) from None


_VP_SCHEDULERS = frozenset({"DPMSolverMultistepScheduler"})
"""Schedulers whose latents are x/√(1+σ²) (variance preserving), not x = x0 + σ·ε."""


def _comfy_start(
    unet: UNetModel,
    recipe: SchedulerRecipe,
    latent: Latent,
    settings: SamplerSettings,
    device: torch.device,
    dtype: torch.dtype,
) -> tuple[Any, torch.Tensor, torch.Tensor, torch.Generator, Callable, torch.Tensor] | None:
    """Scheduler, loop timesteps, first latents, step generator and the output conversion
    of a run that follows ComfyUI's KSampler (None when no step is left to run).

    ComfyUI's sigmas are installed into the diffusers scheduler, and its timesteps are
    replaced by the integer ones ComfyUI gives the UNet; stepping from index 0 keeps the
    scheduler from looking timesteps up (integer timesteps may repeat).
    """
    from nodes.diffusion.comfy_sigmas import ModelSampling, ksampler_sigmas

    ms = ModelSampling.from_config(unet.scheduler_config)
    schedule = "normal" if recipe.sigmas == "default" else recipe.sigmas
    sigmas = ksampler_sigmas(
        schedule,
        ms,
        settings.steps,
        settings.denoise,
        start_step=settings.start_step,
        last_step=settings.end_step,
        force_full_denoise=not settings.leftover_noise,
    )
    if len(sigmas) < 2:
        return None
    last_nonzero = bool(sigmas[-1] > 0)
    extra = {}
    if recipe.scheduler_class().__name__ == "DPMSolverMultistepScheduler" and last_nonzero:
        extra = {"lower_order_final": False, "final_sigmas_type": "sigma_min"}
    built = SchedulerRecipe(
        recipe.name, recipe.sigmas, {**recipe.options, **extra}, recipe.convention
    )
    scheduler = built.build(unet.scheduler_config, settings.seed)
    steps = len(sigmas) - 1
    scheduler.set_timesteps(steps, device=device)
    ts = ms.timestep(sigmas[:-1]).to(torch.float32)
    if type(scheduler).__name__ == "HeunDiscreteScheduler":
        scheduler.sigmas = torch.cat([sigmas[:1], sigmas[1:-1].repeat_interleave(2), sigmas[-1:]])
        timesteps = torch.cat([ts[:1], ts[1:].repeat_interleave(2)])
        if last_nonzero:  # ComfyUI's Heun takes its second-order step there too
            timesteps = torch.cat([timesteps, ms.timestep(sigmas[-1:]).to(torch.float32)])
    else:
        scheduler.sigmas = sigmas.clone()
        timesteps = ts
    scheduler.timesteps = timesteps.to(device)
    scheduler.set_begin_index(0)

    shape = latent.samples.shape
    if settings.add_noise:
        cpu = torch.Generator("cpu").manual_seed(settings.seed)
        noise = torch.randn(shape, generator=cpu, dtype=torch.float32)
    else:
        noise = torch.zeros(shape, dtype=torch.float32)
    first, sigma_max = float(sigmas[0]), float(ms.sigma_max)
    max_denoise = math.isclose(sigma_max, first, rel_tol=1e-05) or first > sigma_max
    s0 = sigmas[0]
    latents = noise * (torch.sqrt(1.0 + s0**2.0) if max_denoise else s0)
    latents += latent.samples.to(dtype=torch.float32, device="cpu")
    variance_preserving = type(scheduler).__name__ in _VP_SCHEDULERS
    if variance_preserving:
        latents = latents / (1.0 + s0**2) ** 0.5
    latents = latents.to(device=device, dtype=dtype)
    # ComfyUI's ancestral noise: a generator of its own on the latent's device (seed + 1
    # on the CPU, the seed itself elsewhere).
    offset = 1 if latents.device.type == "cpu" else 0
    generator = torch.Generator(latents.device).manual_seed((settings.seed + offset) % 2**64)
    s_last = sigmas[-1]

    def finish(result: torch.Tensor) -> torch.Tensor:
        return result * (1.0 + s_last**2) ** 0.5 if variance_preserving else result

    noise = noise.to(device=device, dtype=dtype)
    return scheduler, scheduler.timesteps, latents, generator, finish, noise


def _initial_latent(
    latent: Latent, generator: torch.Generator, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    if latent.mean is None or latent.std is None:
        return latent.samples.to(device=device, dtype=dtype)
    mean = latent.mean.to(device=device, dtype=dtype)
    std = latent.std.to(device=device, dtype=dtype)
    eps = torch.randn(mean.shape, generator=generator, dtype=dtype).to(device)
    if latent.shift:
        return (mean + std * eps - latent.shift) * latent.scaling
    return latent.scaling * (mean + std * eps)


def _step_kwargs(scheduler: Any, generator: torch.Generator) -> dict[str, Any]:
    accepted = set(inspect.signature(scheduler.step).parameters)
    kwargs: dict[str, Any] = {}
    if "eta" in accepted:
        kwargs["eta"] = 0.0
    if "generator" in accepted:
        kwargs["generator"] = generator
    return kwargs


def _current_sigma(scheduler: Any) -> torch.Tensor | None:
    """The σ of the step about to run, for schedulers that work in σ space."""
    sigmas = getattr(scheduler, "sigmas", None)
    index = getattr(scheduler, "step_index", None)
    if sigmas is None or not isinstance(sigmas, torch.Tensor):
        return None
    if index is None:
        index = getattr(scheduler, "begin_index", None) or 0
    if index >= len(sigmas):
        return None
    return sigmas[index]


def in_sigma_space(scheduler: Any) -> bool:
    """Whether latents are x0 + σ·ε (Euler, Heun, LMS, DPM2...) rather than √ā·x0 + √(1−ā)·ε
    (DDIM, PNDM, DPM++ multistep, UniPC...): the former scale the noise by σ_max."""
    init = scheduler.init_noise_sigma
    return float(init) != 1.0


def estimate_x0(
    prediction: str,
    scheduler: Any,
    sample: torch.Tensor,
    model_output: torch.Tensor,
    t: torch.Tensor,
    sigma: torch.Tensor | None,
    sigma_space: bool,
    *,
    alphas: torch.Tensor | None = None,
) -> torch.Tensor | None:
    """The clean latent the model predicts, for schedulers whose step does not return it.

    ``alphas`` is the scheduler's ``alphas_cumprod`` already on the latents' device (moved
    once per run); σ stays where the scheduler keeps it (a CPU scalar multiplies a GPU
    tensor without a copy), so a preview makes no host sync."""
    x, out = sample.float(), model_output.float()
    if sigma_space:
        if sigma is None:
            return None
        s = sigma.to(torch.float32)
        if prediction == "epsilon":
            return x - s * out
        if prediction == "v_prediction":
            return out * (-s / (s**2 + 1) ** 0.5) + x / (s**2 + 1)
        return None
    if alphas is None:
        alphas = getattr(scheduler, "alphas_cumprod", None)
    if alphas is None:
        return None
    a = alphas.to(x.device, torch.float32)[t.to(x.device).long()]
    if prediction == "epsilon":
        return (x - (1 - a).sqrt() * out) / a.sqrt()
    if prediction == "v_prediction":
        return a.sqrt() * x - (1 - a).sqrt() * out
    if prediction == "sample":
        return out
    return None


def _preview(
    unet: UNetModel,
    scheduler: Any,
    step_output: Any,
    previous: torch.Tensor,
    noise_pred: torch.Tensor,
    t: torch.Tensor,
    sigma: torch.Tensor | None,
    sigma_space: bool,
    copy: PreviewCopy,
    *,
    last: bool,
    slot: int = 0,
) -> Callable[[], np.ndarray | None]:
    """A closure computing the preview only when the context asks for one (throttled).

    The x0 estimate stays on the device; :class:`PreviewCopy` brings it to the host without
    waiting for the GPU (the image shown is the newest copy that has arrived; the last step
    waits for its own).
    """

    def make() -> np.ndarray | None:
        estimate = getattr(step_output, "pred_original_sample", None)
        if estimate is None:
            prediction = unet.scheduler_config.get("prediction_type", "epsilon")
            estimate = estimate_x0(
                prediction,
                scheduler,
                previous,
                noise_pred,
                t,
                sigma,
                sigma_space,
                alphas=copy.resident(getattr(scheduler, "alphas_cumprod", None)),
            )
        if estimate is None:
            estimate = step_output.prev_sample
        first = copy.fetch(estimate[slot].detach(), wait=last)
        return None if first is None else latent_to_rgb(first, unet.family)

    return make
