"""ComfyUI's ``sampler_name`` + ``scheduler`` pair and Daguerre's Scheduler node params, both
ways: the import reads a KSampler's pair into params, the export writes params back as a
pair (and keeps the file's own spelling when it means the same, e.g. ``"ddim"``)."""

from __future__ import annotations

from typing import Any

from nodes.comfy.widgets import brief
from nodes.diffusion.schedulers import (
    COMFY_SAMPLERS,
    COMFYUI,
    DIFFUSERS,
    SCHEDULER_NAMES,
    supports_sigmas,
)

SAMPLER_ALIASES = {
    "ddim": "euler",  # ComfyUI's "ddim" is Euler (with random inpainting noise)
    "dpmpp_sde_gpu": "dpmpp_sde",
    "dpmpp_2m_sde_gpu": "dpmpp_2m_sde",
    "uni_pc_bh2": "uni_pc",
}


def scheduler_params(sampler_name: Any, schedule: Any) -> tuple[dict[str, Any], str | None]:
    """Scheduler node params for a ComfyUI sampler_name + scheduler, and a note if the
    picture cannot be ComfyUI's.

    Total: a value that is no name (a list from a primitive, a link, a number) is kept as
    it is, for validation to name on the scheduler node.
    """
    name = (
        SAMPLER_ALIASES.get(sampler_name, sampler_name)
        if isinstance(sampler_name, str)
        else sampler_name
    )
    if not isinstance(name, str) or name in COMFY_SAMPLERS or name not in SCHEDULER_NAMES:
        # ComfyUI's own rules; an unknown sampler or schedule stays as is and
        # validation names it on the scheduler node.
        return {"name": name, "sigmas": schedule, "convention": COMFYUI}, None
    sigmas = "default"
    if (
        isinstance(schedule, str)
        and schedule in ("karras", "exponential")
        and supports_sigmas(name, schedule)
    ):
        sigmas = schedule
    note = (
        f"sampler {sampler_name} with {brief(schedule)} runs with diffusers' {name} scheduler and "
        f"{sigmas} sigmas: close to, but not the same picture as ComfyUI's"
    )
    return {"name": name, "sigmas": sigmas, "convention": DIFFUSERS}, note


def legacy_sampler_name(name: Any) -> tuple[Any, float, str | None]:
    """ComfyUI's own load-time fixes of old KSampler sampler names: ``sample_euler`` was
    renamed ``euler``, and ``euler_pp``/``euler_ancestral_pp`` became ``euler``/
    ``euler_ancestral`` at twice the cfg. Returns (the name, the cfg factor, a note for
    the import or None); anything else is returned as it is."""
    if not isinstance(name, str):
        return name, 1.0, None
    fixed, factor = name.removeprefix("sample_"), 1.0
    if fixed in ("euler_pp", "euler_ancestral_pp"):
        fixed, factor = fixed.removesuffix("_pp"), 2.0
    if fixed == name:
        return name, 1.0, None
    doubled = ", at twice the cfg (as ComfyUI loads it)" if factor != 1.0 else ""
    return fixed, factor, f"old sampler name {brief(name)} read as {fixed}{doubled}"


def comfy_sampler(params: dict[str, Any]) -> tuple[Any, Any]:
    """(sampler_name, scheduler) for ComfyUI from Daguerre scheduler params (which are
    passed on as they are when they are no names: the export never judges values)."""
    sigmas = params.get("sigmas", "default")
    if params.get("convention") != COMFYUI and sigmas not in ("karras", "exponential"):
        sigmas = "normal"
    return params.get("name", "euler"), "normal" if sigmas == "default" else sigmas
