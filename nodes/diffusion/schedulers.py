"""Scheduler recipes: ComfyUI-style sampler names mapped onto diffusers' schedulers.

A :class:`SchedulerRecipe` is what travels on a ``SCHEDULER`` link. It is only a name and
options; the sampler builds a fresh scheduler from it for every run (multistep schedulers
keep state) with ``from_config(<the model's scheduler config>, **overrides)``, so the
prediction type and the beta schedule always follow the model.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

# name → (diffusers class, fixed overrides). Names follow ComfyUI's samplers.
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_ancestral": ("EulerAncestralDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "dpm_2": ("KDPM2DiscreteScheduler", {}),
    "dpm_2_ancestral": ("KDPM2AncestralDiscreteScheduler", {}),
    "lms": ("LMSDiscreteScheduler", {}),
    "dpmpp_2m": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "solver_order": 2},
    ),
    "dpmpp_2m_sde": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "sde-dpmsolver++", "solver_order": 2},
    ),
    "dpmpp_sde": ("DPMSolverSDEScheduler", {}),
    "ddim": ("DDIMScheduler", {}),
    "pndm": ("PNDMScheduler", {}),
    "uni_pc": ("UniPCMultistepScheduler", {}),
    "lcm": ("LCMScheduler", {}),
    "ddpm": ("DDPMScheduler", {}),
}
SCHEDULER_NAMES: tuple[str, ...] = tuple(SCHEDULERS)
SIGMA_CHOICES: tuple[str, ...] = ("default", "karras", "exponential")
SPACINGS: tuple[str, ...] = ("default", "leading", "linspace", "trailing")
"""How diffusers places the timesteps of a run in the training range (its
``timestep_spacing``); ``default`` keeps the model's scheduler config. Few-step models
(SDXL-Turbo, Lightning, Hyper) are sampled with ``trailing``, which starts at the last
training timestep: ``leading`` (SDXL's config) puts the one step of a 1-step run at
t = 1, σ ≈ 0.03, where the model just returns its noise."""
_SIGMA_FLAGS = {"karras": "use_karras_sigmas", "exponential": "use_exponential_sigmas"}

DIFFUSERS, COMFYUI = "diffusers", "comfyui"
CONVENTIONS: tuple[str, ...] = (DIFFUSERS, COMFYUI)
"""How a run samples. ``diffusers`` (the default) matches diffusers' pipelines bit for bit.
``comfyui`` matches ComfyUI's KSampler: its sigma schedules (computed by
:mod:`nodes.diffusion.comfy_sigmas`), initial noise scaled by √(1+σ_max²), integer
timesteps fed to the UNet, its denoise and start/end step rules, the encoded latent's mode
rather than a sample, and ancestral noise from its own seeded generator."""
COMFY_SIGMAS: tuple[str, ...] = (
    "normal",
    "karras",
    "exponential",
    "simple",
    "sgm_uniform",
    "ddim_uniform",
    "beta",
    "linear_quadratic",
    "kl_optimal",
)
"""ComfyUI's sigma schedules (its ``scheduler`` menu), usable with the ``comfyui``
convention; there ``default`` means ``normal``, ComfyUI's default."""
ALL_SIGMAS: tuple[str, ...] = SIGMA_CHOICES + tuple(
    s for s in COMFY_SIGMAS if s not in SIGMA_CHOICES
)
COMFY_SAMPLERS: tuple[str, ...] = ("euler", "euler_ancestral", "heun", "lms", "dpmpp_2m")
"""Samplers whose diffusers scheduler can run on ComfyUI's sigmas (σ-space k-diffusion
ports, and DPM++ 2M whose data-prediction update is the same in VP space)."""


class SchedulerError(ValueError):
    """A recipe the chosen scheduler cannot honour; ``field`` names the param."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SchedulerRecipe:
    """How to build a scheduler for one run."""

    name: str
    sigmas: str = "default"
    options: dict[str, Any] = field(default_factory=dict)
    convention: str = DIFFUSERS
    """``diffusers`` or ``comfyui`` (see :data:`CONVENTIONS`)."""
    timestep_spacing: str = "default"
    """One of :data:`SPACINGS` (diffusers convention only)."""

    def scheduler_class(self) -> type:
        import diffusers

        try:
            class_name, _ = SCHEDULERS[self.name]
        except KeyError:
            raise SchedulerError(f"unknown scheduler {self.name!r}", "name") from None
        return getattr(diffusers, class_name)

    def overrides(self, seed: int | None = None) -> dict[str, Any]:
        cls = self.scheduler_class()
        accepted = inspect.signature(cls.__init__).parameters
        result = dict(SCHEDULERS[self.name][1])
        if self.convention == COMFYUI or self.timestep_spacing != "default":
            problem = recipe_problem(
                self.name, self.sigmas, self.convention, timestep_spacing=self.timestep_spacing
            )
            if problem is not None:
                raise SchedulerError(problem[1], problem[0])
        if self.timestep_spacing != "default":
            result["timestep_spacing"] = self.timestep_spacing
        if self.convention != COMFYUI and self.sigmas != "default":
            flag = _SIGMA_FLAGS.get(self.sigmas)
            if flag is None:
                raise SchedulerError(f"unknown sigma schedule {self.sigmas!r}", "sigmas")
            if flag not in accepted:
                raise SchedulerError(
                    f"{self.name} does not support {self.sigmas} sigmas (use default)", "sigmas"
                )
            result[flag] = True
        if "noise_sampler_seed" in accepted and seed is not None:
            # DPM++ SDE draws its Brownian noise from its own seed: tie it to the run's.
            result["noise_sampler_seed"] = seed
        result.update(self.options)
        return result

    def build(self, config: dict[str, Any], seed: int | None = None) -> Any:
        """A fresh scheduler for ``config`` (the model's scheduler config)."""
        return self.scheduler_class().from_config(config, **self.overrides(seed))


def recipe_problem(
    name: str, sigmas: str, convention: str, *, timestep_spacing: str = "default"
) -> tuple[str, str] | None:
    """(field, message) if ``name`` with ``sigmas`` and ``timestep_spacing`` cannot run
    under ``convention``."""
    if timestep_spacing not in SPACINGS:
        return "timestep_spacing", f"unknown timestep spacing {timestep_spacing!r}"
    if convention == COMFYUI and timestep_spacing != "default":
        return (
            "timestep_spacing",
            "the comfyui convention places its steps by its sigma schedule: leave "
            "timestep_spacing at default (sgm_uniform or simple suit few-step models)",
        )
    if convention == COMFYUI:
        if sigmas not in COMFY_SIGMAS and sigmas != "default":
            return "sigmas", f"{sigmas!r} is not a ComfyUI schedule"
        if name not in COMFY_SAMPLERS:
            return (
                "name",
                f"{name} cannot sample on ComfyUI's sigmas; with the comfyui convention "
                f"use one of {', '.join(COMFY_SAMPLERS)}",
            )
        return None
    if convention != DIFFUSERS:
        return "convention", f"unknown convention {convention!r}"
    if sigmas not in SIGMA_CHOICES:
        return (
            "sigmas",
            f"{sigmas} is one of ComfyUI's schedules: set convention to comfyui to use it",
        )
    if not supports_sigmas(name, sigmas):
        return "sigmas", f"{name} has no {sigmas} sigmas; use default"
    return None


def supports_sigmas(name: str, sigmas: str) -> bool:
    if sigmas == "default":
        return True
    try:
        SchedulerRecipe(name, sigmas).overrides()
    except SchedulerError:
        return False
    return True
