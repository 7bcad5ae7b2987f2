"""SD1.5 and SDXL on one CUDA GPU: Daguerre (acceleration off, graphs, compile) vs a
hand-written diffusers loop vs the diffusers pipeline, all in one process.

Self-contained, nothing downloaded: random weights of the real architectures are built on
the GPU from the configs shipped in ``resources/models/sd1`` and ``resources/models/sdxl``
(SDXL: both text encoders, VAE, UNet) and saved as fp16 diffusers folders. Scenarios:
SD1.5 at 512², SDXL at 1024², 20 Euler steps, CFG 7, same seed everywhere.

Per scenario it measures, each over the same loaded modules:

* ms/step: the Sampler node's time (CUDA events recorded as it starts and finishes) / steps,
  for ours with ``off``, ``graphs`` and ``compile``; the loop's time for the hand-written
  loop; the pipeline call (its text encode included) for the pipeline;
* warm end to end: text encode → decoded image tensor on the host, median of --repeats;
* ``compile``: the background compile's wall time (from the first run until
  ``CompiledCall.wait`` says ready), then warm runs with the compiled call;
* preview overhead: ours with graphs, previews on vs off;
* peak GPU memory, and PSNR of the graphs and compile images against the eager one;
* cold first image: process start → PNG on disk, ``daguerre run`` in a subprocess with
  ``graphs`` (a fresh home, then the same home again) and ``compile`` (an empty compile
  cache in a fresh home, then warm in the same home). The OS file cache is warm: the model
  was just written.

On CUDA the issue's targets are printed as PASS/FAIL next to the values. The last line is
``RESULT gpu_sd15 key=value ...`` (``na`` where a value was not measured).

On a GPU machine (torch with CUDA, diffusers, transformers)::

    python benchmarks/gpu/gpu_sd15.py [--only sd15|sdxl] [--repeats 5] [--no-cold]

Each scenario may take minutes (random weights written to disk, torch.compile, the cold
starts): with a time limit per command, run ``--only sd15`` and ``--only sdxl`` apart.
``--tiny`` on the GPU checks the CUDA paths in a minute or two. Smoke test on a CPU (tiny
demo models, 64², 4 steps; ``graphs`` resolves to eager there and ``compile`` is skipped
unless --compile-on-cpu)::

    python benchmarks/gpu/gpu_sd15.py --tiny --device cpu
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch

from nodes.cache import OutputCache
from nodes.context import Environment
from nodes.events import Event, NodeFinished, NodeResult, NodeStarted, RunStatus
from nodes.executor import Executor
from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.models.quiet import quiet_hf
from nodes.paths import resources_dir
from nodes.registry import Registry
from nodes.runner import apply_overrides
from nodes.workflow import load_file, save_file

PROMPT, NEGATIVE, SEED, CFG = "a lighthouse on a cliff at sunset", "blurry", 7, 7.0
MODES = ("off", "graphs", "compile")
Value = float | str | None


@dataclass(frozen=True)
class Scenario:
    name: str
    """The family, as ``make_demo_model`` names it."""
    title: str
    configs: str
    """Config folder under resources/models."""
    workflow: str
    size: int


SCENARIOS = (
    Scenario("sd15", "SD1.5", "sd1", "txt2img.json", 512),
    Scenario("sdxl", "SDXL", "sdxl", "sdxl_txt2img.json", 1024),
)

NAMES = (("sd15", "SD1.5"), ("sdxl", "SDXL"))
TARGETS = (  # (key, comparison, limit, what): the goals, checked on CUDA only
    ("sd15_e2e_ms", "<=", 180.0, "SD1.5 warm end to end, ms"),
    ("sd15_speedup_vs_pipe", ">=", 3.0, "SD1.5 speedup vs the pipeline, ×"),
    ("sd15_compile_ms_per_step", "<=", 6.5, "SD1.5 ms/step with compile"),
    ("sdxl_e2e_ms", "<=", 800.0, "SDXL warm end to end, ms"),
    ("sd15_cold_graphs_s", "<=", 1.5, "SD1.5 cold first image with graphs, s"),
    ("sd15_preview_overhead_pct", "<=", 1.0, "SD1.5 preview overhead, %"),
    ("sdxl_preview_overhead_pct", "<=", 1.0, "SDXL preview overhead, %"),
    *((f"{s}_psnr_{m}", ">=", 45.0, f"{t} {m} vs eager, dB") for s, t in NAMES for m in MODES[1:]),
)


@dataclass
class Timed:
    """One image: end-to-end and denoising-loop seconds, the host image (B×H×W×3 in [0, 1])."""

    e2e: float
    loop: float
    image: torch.Tensor
    notes: list[str] = field(default_factory=list)


@dataclass
class Bench:
    args: argparse.Namespace
    device: torch.device
    precision: str
    work: Path

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def mark(self) -> Any:
        """A point in time: on CUDA an event on the stream (no host sync), else the clock."""
        if not self.cuda:
            return time.perf_counter()
        event = torch.cuda.Event(enable_timing=True)
        event.record(torch.cuda.current_stream(self.device))
        return event

    def between(self, start: Any, end: Any) -> float:
        """Seconds between two marks (on CUDA, once the stream has passed both)."""
        return start.elapsed_time(end) / 1000 if self.cuda else end - start

    def compile_enabled(self) -> bool:
        return self.cuda or self.args.compile_on_cpu


# --- models and workflows ----------------------------------------------------------------


def build_random_model(scn: Scenario, bench: Bench) -> Path:
    """A diffusers folder with random weights of the family's real architecture (fp16)."""
    if bench.args.tiny:
        from nodes.models.demo import make_demo_model

        return make_demo_model(bench.work / "models", scn.name).folder
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(0)
    out = bench.work / f"{scn.name}-random"
    config_dir = resources_dir() / "models" / scn.configs

    def config(name: str) -> dict[str, Any]:
        return json.loads((config_dir / name / "config.json").read_text())

    modules: dict[str, Any] = {}  # diffusers and transformers modules
    with torch.device(bench.device):
        modules["unet"] = UNet2DConditionModel.from_config(config("unet"))
        modules["vae"] = AutoencoderKL.from_config(config("vae"))
        texts = {"text_encoder": CLIPTextModel, "text_encoder_2": CLIPTextModelWithProjection}
        for name, cls in texts.items():  # SDXL has both
            if (config_dir / name).is_dir():
                modules[name] = cls(CLIPTextConfig(**config(name)))
    with quiet_hf():
        for name, module in modules.items():
            module.half().save_pretrained(out / name)
    del modules
    free_memory()
    (out / "scheduler").mkdir(parents=True, exist_ok=True)
    for name in ("model_index.json", "scheduler/scheduler_config.json"):
        (out / name).write_text((config_dir / name).read_text())
    return out


def scenario_graph(scn: Scenario, model: Path, steps: int, size: int) -> Graph:
    """The shipped workflow, set to this benchmark's model, size, steps, seed and Euler."""
    registry = load_builtin_nodes(Registry())
    graph = load_file(resources_dir() / "workflows" / scn.workflow, registry)
    overrides: dict[str, object] = {
        "checkpoint.path": str(model),
        "latent.width": size,
        "latent.height": size,
        "sampler.steps": steps,
        "sampler.cfg": CFG,
        "sampler.seed": SEED,
        "positive.text": PROMPT,
        "negative.text": NEGATIVE,
        "scheduler.name": "euler",
        "scheduler.sigmas": "default",
    }
    if scn.name == "sdxl":  # size conditioning follows the image size, as the pipeline's
        for node in ("positive", "negative"):
            for param in ("width", "height", "target_width", "target_height"):
                overrides[f"{node}.{param}"] = size
    problems = apply_overrides(graph, overrides)
    assert not problems, problems
    return graph


# --- the three ways to make an image ------------------------------------------------------


class Ours:
    """The workflow through the executor: models stay loaded (one model cache), a fresh
    output cache per run so everything after loading runs again."""

    def __init__(self, bench: Bench, graph: Graph) -> None:
        self.bench, self.graph = bench, graph
        self.services: dict[str, Any] = {}

    def run(self, mode: str, previews: bool = False) -> Timed:
        bench = self.bench
        env = Environment(
            output_dir=bench.work / "out",
            previews=previews,
            services=self.services,
            device=bench.args.device,
            precision=bench.precision,
            acceleration=mode,
        )
        executor = Executor(OutputCache(), env)
        marks: dict[str, Any] = {}
        notes: list[str] = []

        def emit(event: Event) -> None:
            node = getattr(event, "node_id", None)
            if node == "sampler" and isinstance(event, NodeStarted | NodeFinished):
                # An event on the stream: the sampler returns with its kernels still queued.
                marks[type(event).__name__] = bench.mark()
            elif node == "decode" and isinstance(event, NodeResult) and event.text:
                notes.append(event.text)  # the fp32 retry after NaNs in half precision

        bench.sync()
        start = time.perf_counter()
        outcome = executor.run(
            self.graph, targets=["decode"], capture=("checkpoint", "decode"), emit=emit
        )
        bench.sync()
        e2e = time.perf_counter() - start
        assert outcome.status is RunStatus.DONE, outcome.error or outcome.problems
        self.models = outcome.values["checkpoint"]
        loop = bench.between(marks["NodeStarted"], marks["NodeFinished"])
        return Timed(e2e, loop, outcome.values["decode"][0], notes)


def to_host_image(vae: Any, latents: torch.Tensor) -> torch.Tensor:
    """Model-space latents → host image B×H×W×3 in [0, 1], as the VAE Decode node returns."""
    image = vae.module.decode(vae.to_vae(latents), return_dict=False)[0]
    return (image / 2 + 0.5).clamp(0, 1).cpu().permute(0, 2, 3, 1).float()


def hand_encode(clip: Any, text: str, device: torch.device) -> tuple[torch.Tensor, Any]:
    """diffusers' ``encode_prompt``: SD1.5 the last hidden state; SDXL both encoders'
    penultimate states side by side and the second one's pooled projection."""
    hidden, pooled = [], None
    for tokenizer, encoder in zip(clip.tokenizers, clip.encoders, strict=True):
        ids = tokenizer(
            text, padding="max_length", max_length=77, truncation=True, return_tensors="pt"
        ).input_ids.to(device)
        if len(clip.encoders) == 1:
            return encoder(ids)[0], None
        out = encoder(ids, output_hidden_states=True)
        if out[0].ndim == 2:
            pooled = out[0]
        hidden.append(out.hidden_states[-2])
    return torch.cat(hidden, dim=-1), pooled


def hand_written(bench: Bench, models: tuple[Any, ...], size: int, steps: int) -> Timed:
    """What the sampler does and nothing else, over the same modules."""
    from diffusers import EulerDiscreteScheduler

    unet, clip, vae = models
    device, dtype = bench.device, unet.module.dtype
    with torch.inference_mode():
        bench.sync()
        start = time.perf_counter()
        (neg, neg_pool), (pos, pos_pool) = (
            hand_encode(clip, t, device) for t in (NEGATIVE, PROMPT)
        )
        cond = torch.cat([neg, pos])
        added = None
        if pos_pool is not None:  # SDXL: pooled text embeds and size/crop time ids
            ids = torch.tensor([[size, size, 0, 0, size, size]] * 2, dtype=dtype, device=device)
            added = {"text_embeds": torch.cat([neg_pool, pos_pool]), "time_ids": ids}
        scheduler = cast(
            "EulerDiscreteScheduler", EulerDiscreteScheduler.from_config(unet.scheduler_config)
        )
        scheduler.set_timesteps(steps, device=device)
        generator = torch.Generator("cpu").manual_seed(SEED)
        shape = (1, unet.family.latent.channels, size // 8, size // 8)
        latents = torch.randn(shape, generator=generator, dtype=dtype).to(device)
        latents = latents * scheduler.init_noise_sigma
        loop_start = bench.mark()
        for t in scheduler.timesteps:
            model_in = scheduler.scale_model_input(torch.cat([latents] * 2), t)
            noise = unet.module(
                model_in, t, encoder_hidden_states=cond, added_cond_kwargs=added, return_dict=False
            )[0]
            uncond, text_pred = noise.chunk(2)
            noise = uncond + CFG * (text_pred - uncond)
            latents = scheduler.step(noise, t, latents, return_dict=False)[0]
        loop_end = bench.mark()
        image = to_host_image(vae, latents)  # .cpu(): waits for the GPU
        return Timed(time.perf_counter() - start, bench.between(loop_start, loop_end), image)


def make_pipeline(models: tuple[Any, ...]) -> Any:
    """The diffusers pipeline of the family, built from the same modules."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline
    from diffusers import StableDiffusionXLPipeline as XLPipeline

    unet, clip, vae = models
    common: dict[str, Any] = {
        "vae": vae.module,
        "unet": unet.module,
        "scheduler": EulerDiscreteScheduler.from_config(unet.scheduler_config),
        "text_encoder": clip.encoders[0],
        "tokenizer": clip.tokenizers[0],
    }
    if len(clip.encoders) == 2:
        pipe = XLPipeline(
            text_encoder_2=clip.encoders[1],
            tokenizer_2=clip.tokenizers[1],
            add_watermarker=False,
            **common,
        )
    else:
        common |= {"safety_checker": None, "feature_extractor": None}
        pipe = StableDiffusionPipeline(requires_safety_checker=False, **common)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def pipeline(bench: Bench, pipe: Any, vae: Any, size: int, steps: int) -> Timed:
    """The pipeline to latents, then the same decode as the others: its own decode would
    upcast SDXL's VAE to fp32 (``force_upcast``), changing the shared module."""
    with torch.inference_mode():
        bench.sync()
        start, call_start = time.perf_counter(), bench.mark()
        latents = pipe(
            PROMPT,
            negative_prompt=NEGATIVE,
            height=size,
            width=size,
            num_inference_steps=steps,
            guidance_scale=CFG,
            output_type="latent",
            generator=torch.Generator("cpu").manual_seed(SEED),
        ).images
        call_end = bench.mark()
        image = to_host_image(vae, latents)
        return Timed(time.perf_counter() - start, bench.between(call_start, call_end), image)


# --- measurements -------------------------------------------------------------------------


def psnr(image: torch.Tensor, reference: torch.Tensor) -> float:
    """dB for images in [0, 1]; inf when identical, nan when either is not finite."""
    a, b = image.double(), reference.double()
    if a.shape != b.shape or not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        return math.nan
    mse = float(((a - b) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def start_compile(bench: Bench, ours: Ours, unet_module: torch.nn.Module) -> float | None:
    """Run once with ``compile`` (eager while compiling in the background) and wait for the
    compiled call; its wall time from the run's start, or None if it failed."""
    from nodes.diffusion.acceleration import store_for

    start = time.perf_counter()
    ours.run("compile")
    calls = list(store_for(unet_module).compiled.values())
    ready = bool(calls) and all(c.wait(bench.args.compile_timeout) for c in calls)
    seconds = time.perf_counter() - start
    if not ready:
        errors = [repr(c.error) for c in calls if c.error is not None]
        print(f"  compile did not become ready: {', '.join(errors) or 'timed out'}")
        return None
    return seconds


def cold_start(bench: Bench, workflow: Path, mode: str, home: Path, tag: str) -> float | None:
    """``daguerre run`` in a fresh process: seconds from its start to the PNG on disk."""
    exe = Path(sys.executable).with_name("daguerre")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "nodes.cli"]
    slug = "".join(c if c.isalnum() else "-" for c in tag)
    out = bench.work / f"cold-{slug}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    drop = ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR", "DAGUERRE_MODELS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["DAGUERRE_HOME"] = str(home)
    if not bench.cuda:
        env["OMP_NUM_THREADS"] = "1"
    command += ["run", str(workflow), "--device", bench.args.device]
    command += ["--precision", bench.precision, "--acceleration", mode, "--out", str(out)]
    log = bench.work / f"cold-{slug}.log"
    png_at: float | None = None
    with log.open("wb") as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        while process.poll() is None:
            if png_at is None and any(out.glob("*.png")):
                png_at = time.perf_counter() - start
            time.sleep(0.005)
        exited = time.perf_counter() - start
    text = log.read_text(errors="replace")
    if not any(out.glob("*.png")):
        print(f"  cold {tag}: daguerre run failed ({process.returncode}):\n{text[-2000:]}")
        return None
    cache = home / "cache" / "torch-compile"
    files = sum(1 for p in cache.rglob("*") if p.is_file()) if cache.is_dir() else 0
    seconds = png_at if png_at is not None else exited
    print(f"  cold {tag:<22} {seconds:7.2f} s to the PNG ", end="")
    print(f"({exited:.2f} s to exit; compile cache: {files} files)")
    for line in text.splitlines():
        if "failed" in line.lower():  # the engine's fallbacks to eager say so on stderr
            print(f"    from the run: {line[:200]}")
    if process.returncode != 0:  # the image is there, but a script would see a failure
        last = text.strip().splitlines()[-1:] or [""]
        print(f"    WARNING: exit status {process.returncode} after the PNG: {last[0][:200]}")
    return seconds


def median_ms(runs: list[Timed], steps: int = 0) -> float:
    """Median end to end, or with ``steps`` the median loop time per step, in ms."""
    return statistics.median(r.loop / steps if steps else r.e2e for r in runs) * 1000


LABELS = {"off": "ours, off (eager)", "graphs": "ours, graphs", "compile": "ours, compile"}
LABELS |= {"hand": "hand-written loop", "pipe": "diffusers pipeline"}


def run_scenario(scn: Scenario, bench: Bench) -> dict[str, Value]:
    from nodes.diffusion.acceleration import resolve_mode, store_for

    args = bench.args
    size, steps = (64, 4) if args.tiny else (scn.size, args.steps)
    kind = "tiny demo model" if args.tiny else "random weights"
    print(f"\n== {scn.title} ({kind}), {size}², {steps} Euler steps, CFG {CFG:g}, ", end="")
    print(f"{bench.precision} on {bench.device}, median of {args.repeats}")
    model = build_random_model(scn, bench)
    if bench.cuda:
        torch.cuda.reset_peak_memory_stats(bench.device)
    graph = scenario_graph(scn, model, steps, size)
    ours = Ours(bench, graph)
    ours.run("off")  # loads the models
    # Capture the graphs (UNet, VAE decode) before any compile runs: a capture must not race
    # the compile thread's kernels, and the engine guards only the UNet's against that.
    ours.run("graphs")
    models, results = ours.models, cast("dict[str, Value]", {})
    unet_module = models[0].module
    modes = [m for m in MODES if m != "compile" or bench.compile_enabled()]
    if "compile" in modes:
        results["compile_s"] = compile_s = start_compile(bench, ours, unet_module)
        if compile_s is None:
            modes.remove("compile")
        else:
            print(f"  background compile ready {compile_s:.1f} s after the first run started")

    pipe = make_pipeline(models)
    runners: dict[str, Callable[[], Timed]] = {m: (lambda m=m: ours.run(m)) for m in modes}
    runners["graphs_previews"] = lambda: ours.run("graphs", previews=True)
    runners["hand"] = lambda: hand_written(bench, models, size, steps)
    runners["pipe"] = lambda: pipeline(bench, pipe, models[2], size, steps)
    for runner in runners.values():  # warm up: captures, kernels, allocator
        runner()
    runs: dict[str, list[Timed]] = {k: [] for k in runners}
    for _ in range(args.repeats):  # interleaved, so drift hits every column alike
        for key, runner in runners.items():
            runs[key].append(runner())
    for note in sorted({n for timed in runs.values() for t in timed for n in t.notes}):
        print(f"  WARNING from VAE Decode: {note} (timings include the fp32 retry)")
    store = store_for(unet_module)
    if bench.cuda:  # what actually ran: captured graphs of the eager and compiled calls
        kinds = [key[0] for key in store.replays if isinstance(key, tuple)]  # (call, shape)
        print(f"  CUDA graphs: {kinds.count('eager')} of the eager call, ", end="")
        print(f"{kinds.count('compiled')} of the compiled call, ", end="")
        print(f"{len(store_for(models[2].module).replays)} of the VAE decode")
        if store.failed:
            print(f"  WARNING: {len(store.failed)} graph capture(s) failed and ran eager")

    print(f"  {'':<22} {'ms/step':>9} {'e2e ms':>9} {'PSNR vs off':>12}")
    for key, label in LABELS.items():
        if key not in runs:
            print(f"  {label:<22} {'skipped':>9}  (on CPU only with --compile-on-cpu)")
            continue
        results[f"{key}_ms_per_step"] = per_step = median_ms(runs[key], steps)
        results[f"{key}_e2e_ms"] = e2e = median_ms(runs[key])
        results[f"psnr_{key}"] = db = psnr(runs[key][-1].image, runs["off"][-1].image)
        note = ""
        if key in MODES and resolve_mode(key, bench.device) != key:
            note = f"  (resolves to {resolve_mode(key, bench.device)} on {bench.device.type})"
        elif key == "pipe":
            note = "  (ms/step: the whole pipeline call / steps)"
        print(f"  {label:<22} {per_step:9.2f} {e2e:9.1f} {fmt(db):>12}{note}")

    distinct = [m for m in modes if resolve_mode(m, bench.device) == m]  # graphs is off on CPU
    best = min(distinct, key=lambda m: median_ms(runs[m]))
    best_ms = median_ms(runs[best])
    results["e2e_mode"], results["e2e_ms"] = best, best_ms
    results["speedup_vs_pipe"] = median_ms(runs["pipe"]) / best_ms
    results["vs_hand"] = best_ms / median_ms(runs["hand"])
    with_previews = median_ms(runs["graphs_previews"])
    overhead = (with_previews / median_ms(runs["graphs"]) - 1) * 100
    results["preview_overhead_pct"] = overhead
    peak = torch.cuda.max_memory_allocated(bench.device) / 2**30 if bench.cuda else 0.0
    results["peak_gib"] = peak
    print(f"  best: {best}, {best_ms:.1f} ms end to end, ", end="")
    print(f"{results['speedup_vs_pipe']:.2f}× the pipeline, {results['vs_hand']:.3f}× the loop")
    print(f"  previews on (graphs): {with_previews:.1f} ms, {overhead:+.2f} %")
    print(f"  peak GPU memory: {peak:.2f} GiB")
    save_file(graph, bench.work / f"{scn.name}.json")  # for the cold starts
    return results


def measure_cold(scn: Scenario, bench: Bench) -> dict[str, Value]:
    """Graphs in a fresh home, then again; compile with an empty cache, then warm."""
    workflow = bench.work / f"{scn.name}.json"
    home = bench.work / f"home-{scn.name}-graphs"
    results: dict[str, Value] = {
        "cold_graphs_s": cold_start(bench, workflow, "graphs", home, "graphs, fresh home"),
        "cold_graphs_again_s": cold_start(bench, workflow, "graphs", home, "graphs again"),
    }
    if bench.compile_enabled():
        home = bench.work / f"home-{scn.name}-compile"
        results["cold_compile_s"] = cold_start(bench, workflow, "compile", home, "compile, empty")
        warm = cold_start(bench, workflow, "compile", home, "compile, warm cache")
        results["cold_compile_warm_s"] = warm
    return results


# --- output -------------------------------------------------------------------------------


RESULT_KEYS = (
    *(f"{m}_ms_per_step" for m in (*MODES, "hand", "pipe")),
    *(f"{m}_e2e_ms" for m in (*MODES, "hand", "pipe")),
    "e2e_ms", "e2e_mode", "speedup_vs_pipe", "vs_hand", "preview_overhead_pct",
    "psnr_graphs", "psnr_compile", "psnr_hand", "psnr_pipe", "compile_s",
    "cold_graphs_s", "cold_graphs_again_s", "cold_compile_s", "cold_compile_warm_s",
    "peak_gib",
)  # fmt: skip


def fmt(value: Value) -> str:
    if value is None:
        return "na"
    if isinstance(value, str):
        return value
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"


def print_targets(values: dict[str, Value]) -> None:
    print("\n== targets (from the issue)")
    for key, op, limit, what in TARGETS:
        value = values.get(key)
        if not isinstance(value, float) or math.isnan(value):
            verdict = "na"
        else:
            verdict = "PASS" if (value <= limit if op == "<=" else value >= limit) else "FAIL"
        print(f"  {verdict:<4}  {what:<42} {fmt(value):>9}  (target {op} {limit:g})")


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny demo models (CPU smoke test)")
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    parser.add_argument("--only", choices=[s.name for s in SCENARIOS])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cold", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--compile-on-cpu", action="store_true", help="inductor takes minutes")
    parser.add_argument("--compile-timeout", type=float, default=1800.0)
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        assert torch.cuda.is_available(), "this benchmark needs a CUDA GPU (or --device cpu)"
    else:
        torch.set_num_threads(1)
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
        os.environ[name] = "1"  # nothing is downloaded
    work = Path(tempfile.mkdtemp(prefix="daguerre-gpu-"))
    # A fresh home: the in-process compile starts from an empty compile cache.
    os.environ["DAGUERRE_HOME"] = str(work / "home")
    for name in ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR"):
        os.environ.pop(name, None)
    precision = "fp16" if device.type == "cuda" else "fp32"
    bench = Bench(args, device, precision, work)
    values: dict[str, Value] = {}
    try:
        for scn in SCENARIOS:
            if args.only not in (None, scn.name):
                continue
            results = run_scenario(scn, bench)
            if bench.compile_enabled():
                torch._dynamo.reset()  # drop compiled code holding this scenario's modules
            free_memory()  # the cold starts run with this process's models gone
            if args.cold:
                results |= measure_cold(scn, bench)
            values |= {f"{scn.name}_{k}": v for k, v in results.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    peaks = [v for k, v in values.items() if k.endswith("_peak_gib") and isinstance(v, float)]
    values["peak_gib"] = max(peaks, default=None)
    if bench.cuda and not args.tiny:
        print_targets(values)
    pairs = [
        f"{s.name}_{k}={fmt(values.get(f'{s.name}_{k}'))}" for s in SCENARIOS for k in RESULT_KEYS
    ]
    pairs += [f"peak_gib={fmt(values['peak_gib'])}", f"device={device}", f"tiny={int(args.tiny)}"]
    print("RESULT gpu_sd15 " + " ".join(pairs), flush=True)


if __name__ == "__main__":
    main()
