"""ComfyUI's sampling conventions: its sigma schedules, and a sampler run that follows its
KSampler — checked against values derived from the formulas and against an independent
k-diffusion-style reference loop written here from ComfyUI's published algorithms.

(ComfyUI itself is not installable here, so nothing in this file ran ComfyUI; the
diffusers-convention default is checked bit for bit by tests/diffusion/test_parity.py.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from nodes.diffusion.comfy_sigmas import ModelSampling, comfy_sigmas, ksampler_sigmas
from nodes.diffusion.schedulers import COMFY_SAMPLERS, COMFY_SIGMAS
from nodes.events import RunStatus
from nodes.library.sampling import Scheduler
from tests.diffusion.conftest import tiny

SD15 = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
}


def _table() -> tuple[np.ndarray, np.ndarray]:
    """SD1.5's training sigmas and their logs, from the betas (float64, as ComfyUI)."""
    betas = np.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=np.float64) ** 2
    alphas_cumprod = np.cumprod(1.0 - betas)
    sigmas = np.sqrt((1 - alphas_cumprod) / alphas_cumprod)
    return sigmas, np.log(sigmas)


def test_sd15_normal_schedule_at_20_steps() -> None:
    _, logs = _table()
    t = np.linspace(999, 0, 20)
    low, high = np.floor(t).astype(int), np.ceil(t).astype(int)
    w = t - low
    expected = np.exp((1 - w) * logs[low] + w * logs[high])
    ours = comfy_sigmas("normal", ModelSampling.from_config(SD15), 20).numpy()
    assert ours.shape == (21,) and ours[-1] == 0.0
    np.testing.assert_allclose(ours[:-1], expected, rtol=2e-6)
    np.testing.assert_allclose(ours[:4], [14.614642, 10.746801, 8.081519, 6.204935], rtol=1e-6)
    assert ours[19] == pytest.approx(0.029167, rel=1e-4)  # SD1.5's σ_min


def test_sd15_karras_schedule_at_20_steps() -> None:
    sigmas, _ = _table()
    lo, hi = sigmas[0] ** (1 / 7), sigmas[-1] ** (1 / 7)
    expected = [(hi + i / 19 * (lo - hi)) ** 7 for i in range(20)]
    ours = comfy_sigmas("karras", ModelSampling.from_config(SD15), 20).numpy()
    np.testing.assert_allclose(ours[:-1], expected, rtol=5e-6)
    np.testing.assert_allclose(ours[:4], [14.614642, 11.725368, 9.340202, 7.383618], rtol=1e-6)


def test_normal_is_diffusers_linspace_and_timesteps_are_integers() -> None:
    """The stated fact: ComfyUI's euler + normal is diffusers' Euler with linspace spacing
    (diffusers interpolates σ linearly, ComfyUI log-linearly: 2e-5 apart at most)."""
    from diffusers import EulerDiscreteScheduler

    ms = ModelSampling.from_config(SD15)
    ours = comfy_sigmas("normal", ms, 20)
    euler = EulerDiscreteScheduler(**SD15, timestep_spacing="linspace")
    euler.set_timesteps(20)
    np.testing.assert_allclose(euler.sigmas.numpy(), ours.numpy(), rtol=3e-5, atol=1e-7)
    steps = ms.timestep(ours[:-1])
    assert steps.dtype == torch.int64
    assert steps.tolist()[:4] == [999, 946, 894, 841]  # diffusers: 999, 946.42, 893.84...
    np.testing.assert_allclose(euler.timesteps.numpy(), steps.numpy(), atol=0.5)


@pytest.mark.parametrize("name", COMFY_SIGMAS)
def test_every_schedule_descends_to_zero(name: str) -> None:
    ms = ModelSampling.from_config(SD15)
    for steps in (1, 4, 20):
        sigmas = comfy_sigmas(name, ms, steps)
        assert len(sigmas) == steps + 1 and sigmas[-1] == 0
        assert torch.all(sigmas[:-1] > 0) and torch.all(sigmas[:-1] <= ms.sigma_max * 1.0001)
        assert torch.all(sigmas[1:] <= sigmas[:-1])


def test_ksampler_denoise_and_step_windows() -> None:
    ms = ModelSampling.from_config(SD15)
    full = comfy_sigmas("normal", ms, 10)
    assert torch.equal(ksampler_sigmas("normal", ms, 10), full)
    longer = comfy_sigmas("normal", ms, 20)
    assert torch.equal(ksampler_sigmas("normal", ms, 10, denoise=0.5), longer[-11:])
    assert len(ksampler_sigmas("normal", ms, 10, denoise=0.0)) == 0
    cut = ksampler_sigmas("normal", ms, 10, last_step=4, force_full_denoise=True)
    assert torch.equal(cut[:-1], full[:4]) and cut[-1] == 0
    left = ksampler_sigmas("normal", ms, 10, last_step=4)
    assert torch.equal(left, full[:5])
    assert torch.equal(ksampler_sigmas("normal", ms, 10, start_step=4), full[4:])
    assert len(ksampler_sigmas("normal", ms, 10, start_step=10)) == 0


def test_scheduler_node_checks_the_convention() -> None:
    def check(**params: str) -> list[tuple[str, str]]:
        return Scheduler.check_params({"name": "euler", "sigmas": "default", **params})

    assert check() == []
    assert check(convention="comfyui", sigmas="sgm_uniform") == []
    assert check(sigmas="normal") == [
        ("sigmas", "normal is one of ComfyUI's schedules: set convention to comfyui to use it")
    ]
    ((field, message),) = check(convention="comfyui", name="uni_pc")
    assert field == "name" and "cannot sample on ComfyUI's sigmas" in message
    assert check(name="pndm", sigmas="karras") == [
        ("sigmas", "pndm has no karras sigmas; use default")
    ]


# ----------------------------------------------------------------- the sampler
def _comfy_graph(workflow, demo, name: str, sigmas: str, **extra: object):
    overrides = tiny(
        demo.single_file,
        **{
            "scheduler.name": name,
            "scheduler.sigmas": sigmas,
            "scheduler.convention": "comfyui",
            "sampler.cfg": 6.0,
            **extra,
        },
    )
    return workflow("txt2img", overrides)


def _reference(name, unet, cond, uncond, shape, seed, cfg, sigmas, ms) -> torch.Tensor:
    """ComfyUI's KSampler as published (k-diffusion samplers, σ space), written anew."""
    module = unet.module
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    x = x * torch.sqrt(1.0 + sigmas[0] ** 2.0)
    embeds = torch.cat([cond.embeds, uncond.embeds])

    def denoised(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        xin = x / (sigma**2 + 1.0) ** 0.5
        t = ms.timestep(sigma.reshape(1)).float()
        eps = module(torch.cat([xin, xin]), t, encoder_hidden_states=embeds).sample
        c, u = (x - e * sigma for e in eps.chunk(2))
        return u + (c - u) * cfg

    noise = torch.Generator().manual_seed(seed + 1)  # ancestral noise on the CPU: seed + 1
    old = None
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i], sigmas[i + 1]
        den = denoised(x, s)
        if name == "euler":
            x = x + (x - den) / s * (s_next - s)
        elif name == "euler_ancestral":
            up = min(s_next, (s_next**2 * (s**2 - s_next**2) / s**2) ** 0.5)
            down = (s_next**2 - up**2) ** 0.5
            x = x + (x - den) / s * (down - s)
            if s_next > 0:
                x = x + torch.randn(x.shape, generator=noise) * up
        elif name == "heun":
            d = (x - den) / s
            if s_next == 0:
                x = x + d * (s_next - s)
            else:
                x2 = x + d * (s_next - s)
                d2 = (x2 - denoised(x2, s_next)) / s_next
                x = x + (d + d2) / 2 * (s_next - s)
        elif name == "dpmpp_2m":
            t, t_next = -s.log(), -s_next.log()
            h = t_next - t
            if old is None or s_next == 0:
                x = (s_next / s) * x - (-h).expm1() * den
            else:
                r = (t - (-sigmas[i - 1].log())) / h
                mixed = (1 + 1 / (2 * r)) * den - (1 / (2 * r)) * old
                x = (s_next / s) * x - (-h).expm1() * mixed
            old = den
    return x


@pytest.mark.parametrize(
    ("name", "sigmas", "tolerance"),
    [
        ("euler", "normal", 3e-6),
        ("euler", "karras", 3e-6),
        ("euler_ancestral", "normal", 3e-6),
        ("heun", "simple", 3e-6),
        ("dpmpp_2m", "karras", 5e-6),
    ],
)
def test_comfyui_convention_matches_the_reference_loop(
    name, sigmas, tolerance, demo_sd15, executor, workflow
) -> None:
    graph = _comfy_graph(workflow, demo_sd15, name, sigmas)
    outcome = executor.run(graph, capture=("sampler", "checkpoint", "positive", "negative"))
    assert outcome.status is RunStatus.DONE, outcome.problems
    ours = outcome.values["sampler"][0].samples
    unet = outcome.values["checkpoint"][0]
    ms = ModelSampling.from_config(unet.scheduler_config)
    with torch.inference_mode():
        theirs = _reference(
            name,
            unet,
            outcome.values["positive"][0],
            outcome.values["negative"][0],
            ours.shape,
            1234,
            6.0,
            comfy_sigmas(sigmas, ms, 4),
            ms,
        )
    assert torch.isfinite(ours).all()
    assert (ours - theirs).abs().max() <= tolerance * theirs.abs().max()


@pytest.mark.parametrize("name", ["euler", "heun"])
def test_a_split_run_equals_the_full_run(name, demo_sd15, executor, workflow) -> None:
    """KSamplerAdvanced: steps 0–2 with leftover noise, then 2–4 without new noise."""
    full = _comfy_graph(workflow, demo_sd15, name, "normal")
    split = _comfy_graph(
        workflow,
        demo_sd15,
        name,
        "normal",
        **{"sampler.end_step": 2, "sampler.leftover_noise": True},
    )
    split.add_node(
        "sampling.sampler",
        id="refine",
        params={"seed": 99, "steps": 4, "cfg": 6.0, "start_step": 2, "add_noise": False},
    )
    for source, output, name_in in (
        ("checkpoint", "unet", "unet"),
        ("scheduler", "scheduler", "scheduler"),
        ("positive", "conditioning", "positive"),
        ("negative", "conditioning", "negative"),
        ("sampler", "latent", "latent"),
    ):
        split.connect(source, output, "refine", name_in)
    split.connect("refine", "latent", "decode", "latent")
    a = executor.run(full, capture=("sampler",))
    b = executor.run(split, capture=("refine",))
    assert a.status is b.status is RunStatus.DONE, (a.problems, b.problems)
    assert torch.equal(a.values["sampler"][0].samples, b.values["refine"][0].samples)


@pytest.mark.parametrize("name", COMFY_SAMPLERS)
def test_every_comfyui_sampler_runs_img2img_and_denoise(name, demo_sd15, executor, workflow):
    graph = _comfy_graph(workflow, demo_sd15, name, "sgm_uniform", **{"sampler.denoise": 0.5})
    outcome = executor.run(graph, capture=("sampler",))
    assert outcome.status is RunStatus.DONE, outcome.problems
    assert torch.isfinite(outcome.values["sampler"][0].samples).all()


def test_advanced_settings_need_the_comfyui_convention(demo_sd15, executor, workflow) -> None:
    graph = workflow("txt2img", tiny(demo_sd15.single_file, **{"sampler.start_step": 1}))
    outcome = executor.run(graph)
    assert outcome.status is RunStatus.FAILED
    assert outcome.problems[0].field == "start_step"
    assert "comfyui convention" in outcome.problems[0].message


def test_save_image_can_truncate_like_comfyui(demo_sd15, executor, workflow, tmp_path) -> None:
    graph = workflow("txt2img", tiny(demo_sd15.single_file, **{"save.rounding": "truncate"}))
    outcome = executor.run(graph, capture=("decode",))
    assert outcome.status is RunStatus.DONE
    pixels = outcome.values["decode"][0][0].numpy()
    with Image.open(outcome.outputs[-1]) as png:
        saved = np.asarray(png.convert("RGB"))
    assert np.array_equal(saved, np.clip(255.0 * pixels, 0, 255).astype(np.uint8))
    rounded = (np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)
    assert not np.array_equal(saved, rounded)  # the two really differ on this image
    assert math.isclose(float(np.abs(saved.astype(int) - rounded).max()), 1.0)
