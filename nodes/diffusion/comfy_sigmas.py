"""ComfyUI's sigma schedules and its discrete model sampling table, reimplemented.

ComfyUI (like k-diffusion) samples SD1.x/SD2.x/SDXL in σ space: ``x = x0 + σ·ε``. Its
"model sampling" for these models is a table of the 1000 training sigmas built from the
checkpoint's beta schedule in float64 and stored in float32 (sigmas and their logs). From
that table:

- ``timestep(σ)`` is the index of the nearest training sigma in log space — an *integer*,
  and what ComfyUI feeds the UNet (diffusers feeds fractional timesteps);
- ``sigma(t)`` interpolates the log sigmas linearly at a fractional ``t``;
- a *schedule* turns a step count into ``steps + 1`` descending sigmas ending in 0.

The schedules below are ComfyUI's ``SCHEDULER_HANDLERS`` (``normal``, ``karras``,
``exponential``, ``simple``, ``sgm_uniform``, ``ddim_uniform``, ``beta``,
``linear_quadratic``, ``kl_optimal``), written from their published definitions; the
tests check them against values derived independently from the formulas.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch


class ScheduleError(ValueError):
    """A schedule that cannot be computed for this model (unknown name, beta schedule...)."""


@dataclass(frozen=True)
class ModelSampling:
    """ComfyUI's ``ModelSamplingDiscrete`` for ε- and v-prediction models."""

    sigmas: torch.Tensor
    """The training sigmas, ascending (float32)."""
    log_sigmas: torch.Tensor
    """Their natural logs, computed in float64 then stored in float32 (as ComfyUI)."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ModelSampling:
        """The table for a diffusers scheduler config (``beta_start``, ``beta_end``...)."""
        steps = int(config.get("num_train_timesteps", 1000))
        start = float(config.get("beta_start", 0.00085))
        end = float(config.get("beta_end", 0.012))
        kind = config.get("beta_schedule", "scaled_linear")
        trained = config.get("trained_betas")
        if trained:
            betas = torch.tensor(list(trained), dtype=torch.float64)
        elif kind == "scaled_linear":  # ComfyUI calls this one "linear"
            betas = torch.linspace(start**0.5, end**0.5, steps, dtype=torch.float64) ** 2
        elif kind == "linear":
            betas = torch.linspace(start, end, steps, dtype=torch.float64)
        else:
            raise ScheduleError(f"ComfyUI schedules need a linear beta schedule, not {kind!r}")
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        sigmas = ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5
        return cls(sigmas.float(), sigmas.log().float())

    @property
    def sigma_min(self) -> torch.Tensor:
        return self.sigmas[0]

    @property
    def sigma_max(self) -> torch.Tensor:
        return self.sigmas[-1]

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        """The integer timestep(s) nearest to ``sigma`` in log space (int64)."""
        dists = sigma.log() - self.log_sigmas[:, None]
        return dists.abs().argmin(dim=0).view(sigma.shape)

    def sigma(self, timestep: torch.Tensor) -> torch.Tensor:
        """σ at a (fractional) timestep: log sigmas interpolated linearly."""
        t = torch.clamp(timestep.float(), min=0, max=len(self.sigmas) - 1)
        low, high, w = t.floor().long(), t.ceil().long(), t.frac()
        log_sigma = (1 - w) * self.log_sigmas[low] + w * self.log_sigmas[high]
        return log_sigma.exp()


def _simple(ms: ModelSampling, steps: int) -> torch.Tensor:
    stride = len(ms.sigmas) / steps
    values = [float(ms.sigmas[-(1 + int(x * stride))]) for x in range(steps)]
    return torch.FloatTensor([*values, 0.0])


def _ddim_uniform(ms: ModelSampling, steps: int) -> torch.Tensor:
    x = 1
    if math.isclose(float(ms.sigmas[x]), 0, abs_tol=0.00001):
        steps += 1
        values: list[float] = []
    else:
        values = [0.0]
    stride = max(len(ms.sigmas) // steps, 1)
    while x < len(ms.sigmas):
        values.append(float(ms.sigmas[x]))
        x += stride
    return torch.FloatTensor(values[::-1])


def _normal(ms: ModelSampling, steps: int, sgm: bool = False) -> torch.Tensor:
    start = ms.timestep(ms.sigma_max)
    end = ms.timestep(ms.sigma_min)
    append_zero = True
    if sgm:
        timesteps = torch.linspace(start, end, steps + 1)[:-1]
    else:
        if math.isclose(float(ms.sigma(end)), 0, abs_tol=0.00001):
            steps += 1
            append_zero = False
        timesteps = torch.linspace(start, end, steps)
    values = [float(ms.sigma(t)) for t in timesteps]
    if append_zero:
        values.append(0.0)
    return torch.FloatTensor(values)


def _beta(ms: ModelSampling, steps: int, alpha: float = 0.6, beta: float = 0.6) -> torch.Tensor:
    import numpy as np
    from scipy import stats

    total = len(ms.sigmas) - 1
    ts = 1 - np.linspace(0, 1, steps, endpoint=False)
    ts = np.rint(stats.beta.ppf(ts, alpha, beta) * total)
    values: list[float] = []
    last = -1.0
    for t in ts:
        if t != last:
            values.append(float(ms.sigmas[int(t)]))
        last = t
    values.append(0.0)
    return torch.FloatTensor(values)


def _linear_quadratic(
    ms: ModelSampling, steps: int, threshold_noise: float = 0.025
) -> torch.Tensor:
    if steps == 1:
        schedule = [1.0, 0.0]
    else:
        linear_steps = steps // 2
        linear = [i * threshold_noise / linear_steps for i in range(linear_steps)]
        step_diff = linear_steps - threshold_noise * steps
        quadratic_steps = steps - linear_steps
        quadratic_coef = step_diff / (linear_steps * quadratic_steps**2)
        linear_coef = threshold_noise / linear_steps - 2 * step_diff / (quadratic_steps**2)
        const = quadratic_coef * (linear_steps**2)
        quadratic = [
            quadratic_coef * (i**2) + linear_coef * i + const for i in range(linear_steps, steps)
        ]
        schedule = [1.0 - x for x in [*linear, *quadratic, 1.0]]
    return torch.FloatTensor(schedule) * ms.sigma_max


def _karras(steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> torch.Tensor:
    ramp = torch.linspace(0, 1, steps)
    min_inv_rho = sigma_min ** (1 / rho)
    max_inv_rho = sigma_max ** (1 / rho)
    sigmas = (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)) ** rho
    return torch.cat([sigmas, sigmas.new_zeros([1])])


def _exponential(steps: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    sigmas = torch.linspace(math.log(sigma_max), math.log(sigma_min), steps).exp()
    return torch.cat([sigmas, sigmas.new_zeros([1])])


def _kl_optimal(steps: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    adj = torch.arange(steps, dtype=torch.float).div_(max(steps - 1, 1))
    sigmas = adj.new_zeros(steps + 1)
    sigmas[:-1] = (adj * math.atan(sigma_min) + (1 - adj) * math.atan(sigma_max)).tan_()
    return sigmas


_FROM_TABLE: dict[str, Callable[[ModelSampling, int], torch.Tensor]] = {
    "normal": _normal,
    "simple": _simple,
    "sgm_uniform": lambda ms, steps: _normal(ms, steps, sgm=True),
    "ddim_uniform": _ddim_uniform,
    "beta": _beta,
    "linear_quadratic": _linear_quadratic,
}
_FROM_RANGE: dict[str, Callable[[int, float, float], torch.Tensor]] = {
    "karras": _karras,
    "exponential": _exponential,
    "kl_optimal": _kl_optimal,
}


def comfy_sigmas(name: str, ms: ModelSampling, steps: int) -> torch.Tensor:
    """ComfyUI's ``calculate_sigmas``: ``steps + 1`` sigmas (float32) ending in 0."""
    if steps <= 0:
        return torch.FloatTensor([])
    if name in _FROM_TABLE:
        return _FROM_TABLE[name](ms, steps).float()
    if name in _FROM_RANGE:
        return _FROM_RANGE[name](steps, float(ms.sigma_min), float(ms.sigma_max)).float()
    raise ScheduleError(f"unknown ComfyUI schedule {name!r}")


def ksampler_sigmas(
    name: str,
    ms: ModelSampling,
    steps: int,
    denoise: float = 1.0,
    start_step: int | None = None,
    last_step: int | None = None,
    force_full_denoise: bool = False,
) -> torch.Tensor:
    """The sigmas one ComfyUI ``KSampler``/``KSamplerAdvanced`` call integrates over.

    ``denoise`` below 1 takes the last ``steps + 1`` sigmas of a longer schedule
    (``int(steps / denoise)`` steps); ``last_step`` cuts the schedule after that step (its
    final sigma set to 0 with ``force_full_denoise``) and ``start_step`` drops the steps
    before it. An empty result means "return the latent unchanged".
    """
    if denoise is None or denoise > 0.9999:
        sigmas = comfy_sigmas(name, ms, steps)
    elif denoise <= 0.0:
        return torch.FloatTensor([])
    else:
        sigmas = comfy_sigmas(name, ms, int(steps / denoise))[-(steps + 1) :]
    if last_step is not None and last_step < len(sigmas) - 1:
        sigmas = sigmas[: last_step + 1].clone()
        if force_full_denoise:
            sigmas[-1] = 0
    if start_step is not None:
        if start_step < len(sigmas) - 1:
            sigmas = sigmas[start_step:]
        else:
            return torch.FloatTensor([])
    return sigmas
