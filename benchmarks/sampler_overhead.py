"""Sampler overhead: a full txt2img run through Daguerre vs a hand-written diffusers loop.

Same process, same components (a tiny SD1.5-shaped demo model built on the fly), one
torch thread, 64×64, 20 Euler steps, CFG 7. Daguerre runs the default txt2img workflow
through the executor with a fresh output cache each time (so text encode, sampler,
decode and save all execute; models stay loaded, as in the app), once with previews off
and once with previews on. The baseline does the same work by hand: tokenize and
encode both prompts, the denoising loop, VAE decode, PNG save. The variants are
interleaved (rotating which goes first, after a garbage collection) and each figure is
the median of several repetitions.
Target (issue 3): ratio ≤ 1.02 and ratio_with_previews ≤ 1.02.
"""

from __future__ import annotations

import gc
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from PIL import Image

from nodes.cache import OutputCache
from nodes.context import Environment
from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.library import load_builtin_nodes
from nodes.models.demo import make_demo_model
from nodes.paths import resources_dir
from nodes.registry import Registry
from nodes.runner import apply_overrides
from nodes.workflow import load_file

STEPS, SIZE, CFG, SEED = 20, 64, 7.0, 7
PROMPT, NEGATIVE = "a lighthouse on a cliff at sunset", "blurry"
REPEATS = 11


def hand_written(unet, clip, vae, out: Path) -> np.ndarray:
    """What a user would write with diffusers' components: the reference loop."""
    from diffusers import EulerDiscreteScheduler

    tokenizer, encoder = clip.tokenizers[0], clip.encoders[0]
    with torch.inference_mode():
        embeds = []
        for text in (NEGATIVE, PROMPT):
            ids = tokenizer(
                text, padding="max_length", max_length=77, truncation=True, return_tensors="pt"
            ).input_ids
            embeds.append(encoder(ids)[0])
        cond = torch.cat(embeds)
        # from_config returns (scheduler, unused kwargs) only with return_unused_kwargs=True
        scheduler = cast(
            EulerDiscreteScheduler, EulerDiscreteScheduler.from_config(unet.scheduler_config)
        )
        scheduler.set_timesteps(STEPS)
        generator = torch.Generator("cpu").manual_seed(SEED)
        latents = torch.randn((1, 4, SIZE // 8, SIZE // 8), generator=generator)
        latents = latents * scheduler.init_noise_sigma
        for t in scheduler.timesteps:
            model_in = scheduler.scale_model_input(torch.cat([latents] * 2), t)
            noise = unet.module(model_in, t, encoder_hidden_states=cond, return_dict=False)[0]
            uncond, text_pred = noise.chunk(2)
            noise = uncond + CFG * (text_pred - uncond)
            latents = scheduler.step(noise, t, latents, return_dict=False)[0]
        image = vae.module.decode(latents / vae.scaling_factor, return_dict=False)[0]
        image = (image / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).float().numpy()
    pixels = (image[0] * 255).round().astype(np.uint8)
    Image.fromarray(pixels).save(out / "baseline.png")
    return image


def main() -> None:
    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="daguerre-bench-"))
    demo = make_demo_model(work / "models", "sd15")
    registry = load_builtin_nodes(Registry())
    graph = load_file(resources_dir() / "workflows" / "txt2img.json", registry)
    problems = apply_overrides(
        graph,
        {
            "checkpoint.path": str(demo.single_file),
            "latent.width": SIZE,
            "latent.height": SIZE,
            "sampler.steps": STEPS,
            "sampler.cfg": CFG,
            "sampler.seed": SEED,
            "positive.text": PROMPT,
            "negative.text": NEGATIVE,
        },
    )
    assert not problems, problems

    services: dict[str, object] = {}  # one model cache shared by every variant
    loaded: dict[str, tuple[Any, ...]] = {}  # the checkpoint's models, for the baseline

    def ours(previews: bool) -> tuple[float, np.ndarray]:
        env = Environment(output_dir=work / "out", previews=previews, services=services)
        executor = Executor(OutputCache(), env)
        start = time.perf_counter()
        outcome = executor.run(graph, capture=("decode", "checkpoint"))
        elapsed = time.perf_counter() - start
        assert outcome.status is RunStatus.DONE, outcome.problems
        loaded["checkpoint"] = outcome.values["checkpoint"]
        return elapsed, outcome.values["decode"][0].numpy()

    ours(False)  # load the models once, warm up
    unet, clip, vae = loaded["checkpoint"]
    hand_written(unet, clip, vae, work)
    # as the app does after its warm-up: long-lived objects out of the collector's sight,
    # so a full collection doesn't land in one variant's timing and not the other's
    gc.collect()
    gc.freeze()

    times: dict[str, list[float]] = {"off": [], "on": [], "baseline": []}

    def baseline() -> tuple[float, np.ndarray]:
        start = time.perf_counter()
        image = hand_written(unet, clip, vae, work)
        return time.perf_counter() - start, image

    variants = {"off": lambda: ours(False), "on": lambda: ours(True), "baseline": baseline}
    images: dict[str, np.ndarray] = {}
    for repeat in range(REPEATS):
        order = list(variants)
        order = order[repeat % 3 :] + order[: repeat % 3]  # no variant always goes first
        for name in order:
            gc.collect()  # every variant starts from the same garbage-free heap
            seconds, images[name] = variants[name]()
            times[name].append(seconds)
    image_off, reference = images["off"], images["baseline"]
    assert np.abs(image_off - reference).max() <= 1e-5, "not the same image as the baseline"

    median = {k: statistics.median(v) for k, v in times.items()}
    ratio = median["off"] / median["baseline"]
    ratio_previews = median["on"] / median["baseline"]
    print(f"tiny SD1.5, {SIZE}×{SIZE}, {STEPS} steps, cfg {CFG}, median of {REPEATS}")
    for key, label in (
        ("baseline", "hand-written diffusers loop"),
        ("off", "Daguerre, previews off"),
        ("on", "Daguerre, previews on"),
    ):
        print(f"  {label:<30} {median[key] * 1000:8.1f} ms")
    print(f"RESULT sampler_overhead ratio={ratio:.3f} ratio_with_previews={ratio_previews:.3f}")


if __name__ == "__main__":
    main()
