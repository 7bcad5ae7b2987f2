"""SD1.5 on one CUDA GPU: Daguerre vs a hand-written diffusers loop vs StableDiffusionPipeline.

Self-contained: builds random weights of the real SD1.5 shapes from the configs shipped in
``resources/models/sd1`` (nothing is downloaded), saves them as a diffusers folder in fp16,
and runs 512×512, 20 Euler steps, CFG 7.5 three ways with the same components:

* Daguerre's default txt2img workflow through the executor (models loaded once, a fresh
  output cache per run so everything after loading executes), previews off and on;
* a hand-written loop over the same modules (what the sampler does, nothing else);
* ``StableDiffusionPipeline`` built from the same modules.

Prints ms per step for each, the ratios to the hand-written loop, the preview overhead and
peak GPU memory, and ends with ``RESULT gpu_sd15 ...``. ``--tiny --device cpu`` runs a
smoke test on a CPU with a tiny model.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from nodes.cache import OutputCache
from nodes.context import Environment
from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.library import load_builtin_nodes
from nodes.paths import resources_dir
from nodes.registry import Registry
from nodes.runner import apply_overrides
from nodes.workflow import load_file

PROMPT, NEGATIVE, SEED, CFG = "a lighthouse on a cliff at sunset", "blurry", 7, 7.5


def build_random_sd15(folder: Path, tiny: bool) -> Path:
    """A diffusers folder with random weights of SD1.5's real architecture (fp16)."""
    if tiny:
        from nodes.models.demo import make_demo_model

        return make_demo_model(folder, "sd15").folder
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    out = folder / "sd15-random"
    config_dir = resources_dir() / "models" / "sd1"
    text_config = CLIPTextConfig.from_json_file(config_dir / "text_encoder" / "config.json")
    with torch.device("cuda"):
        unet = UNet2DConditionModel.from_config(
            UNet2DConditionModel.load_config(config_dir / "unet")
        )
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(config_dir / "vae"))
        text = CLIPTextModel(text_config)
    for name, module in (("unet", unet), ("vae", vae), ("text_encoder", text)):
        module.half().save_pretrained(out / name)
    (out / "scheduler").mkdir(parents=True, exist_ok=True)
    for name in ("model_index.json", "scheduler/scheduler_config.json"):
        (out / name).write_text((config_dir / name).read_text())
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiny", action="store_true", help="tiny model (CPU smoke test)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cuda = args.device == "cuda"
    if cuda:
        assert torch.cuda.is_available(), "this benchmark needs a CUDA GPU (or --device cpu)"
    else:
        torch.set_num_threads(1)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    work = Path(tempfile.mkdtemp(prefix="daguerre-gpu-"))
    model = build_random_sd15(work, args.tiny)

    registry = load_builtin_nodes(Registry())
    graph = load_file(resources_dir() / "workflows" / "txt2img.json", registry)
    assert not apply_overrides(
        graph,
        {
            "checkpoint.path": str(model),
            "latent.width": args.size,
            "latent.height": args.size,
            "sampler.steps": args.steps,
            "sampler.cfg": CFG,
            "sampler.seed": SEED,
            "positive.text": PROMPT,
            "negative.text": NEGATIVE,
        },
    )
    services: dict[str, object] = {}
    precision = "fp16" if cuda else "fp32"

    def ours(previews: bool) -> float:
        env = Environment(
            output_dir=work / "out",
            previews=previews,
            services=services,
            device=args.device,
            precision=precision,
        )
        executor = Executor(OutputCache(), env)
        sync()
        start = time.perf_counter()
        outcome = executor.run(graph, targets=["decode"], capture=("checkpoint",))
        sync()
        assert outcome.status is RunStatus.DONE, outcome.problems
        ours.models = outcome.values["checkpoint"]  # type: ignore[attr-defined]
        ours.sampler = outcome.nodes["sampler"].seconds  # type: ignore[attr-defined]
        return time.perf_counter() - start

    ours(False)
    unet, clip, vae = ours.models  # type: ignore[attr-defined]
    device, dtype = unet.module.device, unet.module.dtype

    def encode() -> torch.Tensor:
        parts = []
        for text in (NEGATIVE, PROMPT):
            ids = clip.tokenizers[0](
                text, padding="max_length", max_length=77, truncation=True, return_tensors="pt"
            ).input_ids
            parts.append(clip.encoders[0](ids.to(device))[0])
        return torch.cat(parts)

    def hand_written() -> float:
        from diffusers import EulerDiscreteScheduler

        with torch.inference_mode():
            sync()
            start = time.perf_counter()
            cond = encode()
            scheduler = EulerDiscreteScheduler.from_config(unet.scheduler_config)
            scheduler.set_timesteps(args.steps, device=device)
            generator = torch.Generator("cpu").manual_seed(SEED)
            shape = (1, 4, args.size // 8, args.size // 8)
            latents = torch.randn(shape, generator=generator, dtype=dtype).to(device)
            latents = latents * scheduler.init_noise_sigma
            for t in scheduler.timesteps:
                model_in = scheduler.scale_model_input(torch.cat([latents] * 2), t)
                noise = unet.module(model_in, t, encoder_hidden_states=cond, return_dict=False)[0]
                uncond, text_pred = noise.chunk(2)
                noise = uncond + CFG * (text_pred - uncond)
                latents = scheduler.step(noise, t, latents, return_dict=False)[0]
            vae.module.decode(latents / vae.scaling_factor, return_dict=False)
            sync()
            return time.perf_counter() - start

    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline

    pipe = StableDiffusionPipeline(
        vae=vae.module,
        text_encoder=clip.encoders[0],
        tokenizer=clip.tokenizers[0],
        unet=unet.module,
        scheduler=EulerDiscreteScheduler.from_config(unet.scheduler_config),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)

    def pipeline_with_decode() -> float:
        sync()
        start = time.perf_counter()
        latents = pipe(
            PROMPT,
            negative_prompt=NEGATIVE,
            height=args.size,
            width=args.size,
            num_inference_steps=args.steps,
            guidance_scale=CFG,
            output_type="latent",
            generator=torch.Generator("cpu").manual_seed(SEED),
        ).images
        with torch.inference_mode():  # decode to a tensor, as the other two do
            vae.module.decode(latents / vae.scaling_factor, return_dict=False)
        sync()
        return time.perf_counter() - start

    hand_written(), pipeline_with_decode()  # warm up kernels and allocator
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    runs: dict[str, list[float]] = {"hand": [], "ours": [], "ours_previews": [], "pipe": []}
    for _ in range(args.repeats):
        runs["hand"].append(hand_written())
        runs["ours"].append(ours(False))
        runs["ours_previews"].append(ours(True))
        runs["pipe"].append(pipeline_with_decode())
    median = {k: statistics.median(v) for k, v in runs.items()}
    per_step = {k: v * 1000 / args.steps for k, v in median.items()}
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else 0.0
    label = "tiny" if args.tiny else "SD1.5 random weights"
    print(
        f"{label}, {args.size}², {args.steps} steps, {precision}, {args.device}, "
        f"median of {args.repeats} (whole run incl. text encode + decode, per step)"
    )
    for key, name in (
        ("hand", "hand-written loop"),
        ("ours", "Daguerre"),
        ("ours_previews", "Daguerre + previews"),
        ("pipe", "StableDiffusionPipeline"),
    ):
        print(f"  {name:<26} {per_step[key]:8.2f} ms/step")
    ratio = median["ours"] / median["hand"]
    ratio_previews = median["ours_previews"] / median["hand"]
    ratio_pipe = median["ours"] / median["pipe"]
    preview_overhead = median["ours_previews"] / median["ours"] - 1
    print(
        f"RESULT gpu_sd15 ms_per_step={per_step['ours']:.2f} "
        f"hand_ms_per_step={per_step['hand']:.2f} pipe_ms_per_step={per_step['pipe']:.2f} "
        f"ratio={ratio:.3f} ratio_with_previews={ratio_previews:.3f} "
        f"ratio_vs_pipeline={ratio_pipe:.3f} preview_overhead={preview_overhead:.3%} "
        f"peak_gib={peak:.2f}"
    )


if __name__ == "__main__":
    main()
