"""The SDXL refiner: single-file and diffusers-folder checkpoints load (OpenCLIP-G only,
aesthetic-score conditioning), refine images exactly as diffusers'
``StableDiffusionXLImg2ImgPipeline`` does (CPU, fp32, ≤ 1e-5), and finish an SDXL base run
from the step where the base sampler stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
import torch
from PIL import Image

from nodes.events import RunStatus
from nodes.graph import Graph
from nodes.models import ldm, to_ldm
from nodes.models.demo import RefinerDemoPaths, make_demo_refiner
from nodes.models.detect import detect, detect_tensor_file
from nodes.models.errors import ModelError
from nodes.models.families import SDXL, SDXL_REFINER, get_family
from nodes.models.loading import load_checkpoint
from nodes.models.tensor_file import TensorFile
from nodes.registry import Registry
from tests.diffusion.test_parity import NEGATIVE, PROMPT, TOLERANCE, _ours


@pytest.fixture(scope="session")
def demo_refiner(demo_root: Path) -> RefinerDemoPaths:
    return make_demo_refiner(demo_root)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


# --- loading ------------------------------------------------------------------------------


def test_the_refiner_family_is_loadable_with_its_own_stack() -> None:
    assert get_family("refiner") is SDXL_REFINER
    assert SDXL_REFINER.loadable
    (spec,) = SDXL_REFINER.text_encoders
    assert (spec.component, spec.ldm_prefix, spec.pooled) == (
        "text_encoder_2",
        "conditioner.embedders.0.model.",
        True,
    )
    unet = SDXL_REFINER.base_config("unet")
    assert unet["cross_attention_dim"] == 1280 and unet["transformer_layers_per_block"] == 4
    assert unet["projection_class_embeddings_input_dim"] == 1280 + 5 * 256
    index = SDXL_REFINER.model_index()
    assert index["requires_aesthetics_score"] is True and index["text_encoder"] == [None, None]
    assert SDXL_REFINER.time_ids[-1] == "aesthetic_score"


def test_both_formats_load_the_same_refiner(demo_refiner: RefinerDemoPaths) -> None:
    single, folder = load_checkpoint(demo_refiner.single_file), load_checkpoint(demo_refiner.folder)
    for loaded in (single, folder):
        assert loaded.family is SDXL_REFINER
        (encoder,) = loaded.text_encoders
        assert type(encoder).__name__ == "CLIPTextModelWithProjection"
        assert loaded.unet.config["cross_attention_dim"] == encoder.config.hidden_size
        assert loaded.detection.unet["addition_time_embed_dim"] == 256
        assert loaded.tokenizers[0].pad_token == "!"
    assert (single.detection.layout, folder.detection.layout) == ("single-file", "diffusers")
    _same_weights(single.unet, folder.unet)
    _same_weights(single.vae, folder.vae)
    _same_weights(single.text_encoders[0], folder.text_encoders[0])


def test_full_size_refiner_layout_gives_the_published_config() -> None:
    """The published refiner's tensor names and shapes (meta tensors) detect as its config:
    its last down block has no attention, yet its middle block has four transformer layers."""
    import transformers
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        unet = cast(
            UNet2DConditionModel,
            UNet2DConditionModel.from_config(SDXL_REFINER.base_config("unet")),
        )
        text = transformers.CLIPTextModelWithProjection(
            transformers.CLIPTextConfig(**SDXL_REFINER.base_config("text_encoder_2"))
        )
        vae_sd = _meta_vae()
        state = to_ldm.unet_to_ldm(unet.state_dict(), 2) | vae_sd
        state |= to_ldm.open_clip_to_ldm(text.state_dict(), ldm.SDXL_REFINER_OPENCLIP)
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    det = detect_tensor_file(TensorFile(Path("refiner.safetensors"), shapes, state))
    assert det.family is SDXL_REFINER
    published = SDXL_REFINER.base_config("unet")
    for field in (
        "block_out_channels",
        "down_block_types",
        "up_block_types",
        "transformer_layers_per_block",
        "attention_head_dim",
        "cross_attention_dim",
        "projection_class_embeddings_input_dim",
        "addition_time_embed_dim",
        "mid_block_type",
    ):
        assert det.unet[field] == published[field], field
    assert "reverse_transformer_layers_per_block" not in det.unet
    (text_config,) = det.text_encoders
    assert (text_config["hidden_size"], text_config["num_hidden_layers"]) == (1280, 32)


def _meta_vae() -> dict[str, torch.Tensor]:
    from diffusers import AutoencoderKL

    vae = cast(AutoencoderKL, AutoencoderKL.from_config(SDXL_REFINER.base_config("vae")))
    return to_ldm.vae_to_ldm(vae.state_dict())


def test_a_folder_without_any_text_encoder_is_refused(
    demo_refiner: RefinerDemoPaths, tmp_path: Path
) -> None:
    import json
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(demo_refiner.folder, broken)
    index = json.loads((broken / "model_index.json").read_text())
    index["text_encoder_2"] = [None, None]
    (broken / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ModelError, match="without text encoders"):
        detect(broken)


def test_micro_conditions_follow_the_family_layout() -> None:
    sizes = (1024.0, 768.0, 8.0, 16.0, 1024.0, 1024.0)
    assert SDXL.micro_conditions(sizes, negative=True) == sizes
    assert SDXL_REFINER.micro_conditions(sizes, negative=False) == (1024, 768, 8, 16, 6.0)
    assert SDXL_REFINER.micro_conditions(sizes, negative=True) == (1024, 768, 8, 16, 2.5)
    own = (512.0, 512.0, 0.0, 0.0, 7.5)
    assert SDXL_REFINER.micro_conditions(own, negative=True) == own
    with pytest.raises(ModelError, match="takes 6 micro-conditioning numbers"):
        SDXL.micro_conditions(own, negative=False)


# --- refining an image: parity with StableDiffusionXLImg2ImgPipeline -------------------------


def _source(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    path = tmp_path / "source.png"
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
    return path


def _refine_graph(registry: Registry, model: Path, source: Path, *, refiner_text: bool) -> Graph:
    """Load image → encode → sampler (euler, 5 steps, denoise 0.6) → decode, on the refiner."""
    graph = Graph(registry)
    graph.add_node("loaders.checkpoint", id="checkpoint", params={"path": str(model)})
    graph.add_node("image.load", id="image", params={"path": str(source)})
    graph.add_node("vae.encode", id="encode")
    for name, text, score in (("positive", PROMPT, 7.0), ("negative", NEGATIVE, 2.0)):
        if refiner_text:
            params = {"text": text, "ascore": score, "width": 64, "height": 64}
            graph.add_node("conditioning.text_encode_sdxl_refiner", id=name, params=params)
        else:
            graph.add_node("conditioning.text_encode", id=name, params={"text": text})
        graph.connect("checkpoint", "clip", name, "clip")
    graph.add_node("sampling.scheduler", id="scheduler", params={"name": "euler"})
    sampler = {"seed": 1234, "steps": 5, "cfg": 7.0, "denoise": 0.6}
    graph.add_node("sampling.sampler", id="sampler", params=sampler)
    graph.add_node("vae.decode", id="decode")
    graph.add_node("image.preview", id="preview")
    for source_node, output, target, port in (
        ("checkpoint", "unet", "sampler", "unet"),
        ("checkpoint", "vae", "encode", "vae"),
        ("checkpoint", "vae", "decode", "vae"),
        ("image", "image", "encode", "image"),
        ("encode", "latent", "sampler", "latent"),
        ("scheduler", "scheduler", "sampler", "scheduler"),
        ("positive", "conditioning", "sampler", "positive"),
        ("negative", "conditioning", "sampler", "negative"),
        ("sampler", "latent", "decode", "latent"),
        ("decode", "image", "preview", "image"),
    ):
        graph.connect(source_node, output, target, port)
    return graph


def _img2img_pipeline(outcome: Any) -> Any:
    from diffusers import StableDiffusionXLImg2ImgPipeline

    from nodes.diffusion.schedulers import SchedulerRecipe

    unet, clip, vae = outcome.values["checkpoint"]
    none: Any = None  # the refiner has no first text encoder (diffusers' documented None)
    pipe = StableDiffusionXLImg2ImgPipeline(
        vae=vae.module,
        text_encoder=none,
        text_encoder_2=clip.encoders[0],
        tokenizer=none,
        tokenizer_2=clip.tokenizers[0],
        unet=unet.module,
        scheduler=SchedulerRecipe("euler").build(unet.scheduler_config),
        requires_aesthetics_score=True,
        force_zeros_for_empty_prompt=False,
        add_watermarker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _theirs(pipe: Any, source: Path, **extra: Any) -> np.ndarray:
    with Image.open(source) as init:
        out = pipe(
            PROMPT,
            image=init.convert("RGB"),
            strength=0.6,
            negative_prompt=NEGATIVE,
            num_inference_steps=5,
            guidance_scale=7.0,
            generator=torch.Generator("cpu").manual_seed(1234),
            output_type="np",
            **extra,
        )
    assert isinstance(out.images, np.ndarray)
    return out.images


@pytest.mark.parametrize("model", ["single_file", "folder"])
def test_refiner_with_text_encode_matches_the_img2img_pipeline(
    model: str, demo_refiner: RefinerDemoPaths, executor, registry, tmp_path: Path
) -> None:
    """Text Encode's 1024² size conditioning, and diffusers' default aesthetic scores (6
    and 2.5), which the refiner gives conditioning that sets none."""
    source = _source(tmp_path)
    graph = _refine_graph(registry, getattr(demo_refiner, model), source, refiner_text=False)
    ours, outcome = _ours(executor, graph)
    pipe = _img2img_pipeline(outcome)
    theirs = _theirs(pipe, source, original_size=(1024, 1024), target_size=(1024, 1024))
    assert ours.shape == theirs.shape == (1, 64, 64, 3)
    assert np.abs(ours - theirs).max() <= TOLERANCE


def test_refiner_text_node_sets_the_aesthetic_scores_and_size(
    demo_refiner: RefinerDemoPaths, executor, registry, tmp_path: Path
) -> None:
    source = _source(tmp_path)
    graph = _refine_graph(registry, demo_refiner.single_file, source, refiner_text=True)
    ours, outcome = _ours(executor, graph)
    pipe = _img2img_pipeline(outcome)
    # diffusers' own default original size is the image's: 64², as the nodes say.
    theirs = _theirs(pipe, source, aesthetic_score=7.0, negative_aesthetic_score=2.0)
    assert np.abs(ours - theirs).max() <= TOLERANCE
    default_scores = _theirs(pipe, source)
    assert np.abs(ours - default_scores).max() > 1e-3  # the scores reach the UNet


def test_refiner_text_node_refuses_an_sdxl_base_clip(
    demo_sdxl, executor, registry, tmp_path: Path
) -> None:
    graph = _refine_graph(registry, demo_sdxl.single_file, _source(tmp_path), refiner_text=True)
    outcome = executor.run(graph)
    assert outcome.status is RunStatus.FAILED
    failures = {(p.node_id, p.field) for p in outcome.problems}
    assert ("positive", "clip") in failures or ("negative", "clip") in failures, failures
    messages = " ".join(p.message for p in outcome.problems)
    assert "takes no aesthetic score" in messages


# --- base → refiner: ComfyUI's SDXL refiner workflow ------------------------------------


def _api(class_type: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"inputs": inputs, "class_type": class_type, "_meta": {"title": class_type}}


BASE_FILE, REFINER_FILE = "sd_xl_base_1.0.safetensors", "sd_xl_refiner_1.0.safetensors"


def refiner_api(steps: int = 4, switch: int = 3) -> dict[str, Any]:
    """ComfyUI's SDXL base + refiner example as API JSON: the base KSamplerAdvanced stops at
    ``switch`` with its leftover noise, the refiner's continues from there without adding
    noise; the refiner's prompts carry aesthetic scores 6 and 2.5."""
    advanced = {"noise_seed": 11, "steps": steps, "cfg": 6.0, "sampler_name": "euler"}
    advanced |= {"scheduler": "normal"}
    return {
        "4": _api("CheckpointLoaderSimple", {"ckpt_name": BASE_FILE}),
        "12": _api("CheckpointLoaderSimple", {"ckpt_name": REFINER_FILE}),
        "6": _api("CLIPTextEncode", {"text": PROMPT, "clip": ["4", 1]}),
        "7": _api("CLIPTextEncode", {"text": NEGATIVE, "clip": ["4", 1]}),
        "15": _api(
            "CLIPTextEncodeSDXLRefiner",
            {"ascore": 6.0, "width": 64, "height": 64, "text": PROMPT, "clip": ["12", 1]},
        ),
        "16": _api(
            "CLIPTextEncodeSDXLRefiner",
            {"ascore": 2.5, "width": 64, "height": 64, "text": NEGATIVE, "clip": ["12", 1]},
        ),
        "5": _api("EmptyLatentImage", {"width": 64, "height": 64, "batch_size": 1}),
        "10": _api(
            "KSamplerAdvanced",
            {
                **advanced,
                "add_noise": "enable",
                "start_at_step": 0,
                "end_at_step": switch,
                "return_with_leftover_noise": "enable",
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        ),
        "11": _api(
            "KSamplerAdvanced",
            {
                **advanced,
                "add_noise": "disable",
                "start_at_step": switch,
                "end_at_step": 10000,
                "return_with_leftover_noise": "disable",
                "model": ["12", 0],
                "positive": ["15", 0],
                "negative": ["16", 0],
                "latent_image": ["10", 0],
            },
        ),
        "17": _api("VAEDecode", {"samples": ["11", 0], "vae": ["12", 2]}),
        "19": _api("SaveImage", {"filename_prefix": "refined", "images": ["17", 0]}),
    }


@pytest.fixture
def comfy_registry() -> Registry:
    from nodes.comfy import ensure_registered
    from nodes.library import load_builtin_nodes

    return ensure_registered(load_builtin_nodes(Registry()))


def test_comfyui_refiner_workflow_imports_exports_and_hands_off(
    demo_sdxl, demo_refiner: RefinerDemoPaths, comfy_registry: Registry, tmp_path: Path
) -> None:
    from nodes.comfy import import_api
    from nodes.comfy.export import export_api
    from nodes.context import Environment
    from nodes.executor import Executor

    doc = refiner_api()
    graph = import_api(doc, comfy_registry)
    positive = graph.nodes["15"]
    assert positive.type == "conditioning.text_encode_sdxl_refiner"
    assert positive.params == {"text": PROMPT, "ascore": 6.0, "width": 64, "height": 64}
    assert graph.nodes["16"].params["ascore"] == 2.5
    exported = export_api(graph)
    for node_id in ("15", "16"):
        assert exported[node_id]["class_type"] == "CLIPTextEncodeSDXLRefiner"
        assert exported[node_id]["inputs"] == doc[node_id]["inputs"]

    files = {BASE_FILE: demo_sdxl.single_file, REFINER_FILE: demo_refiner.single_file}

    def resolve(kind: str, value: str) -> Path | None:
        return files.get(value) if kind == "checkpoints" else None

    executor = Executor(env=Environment(output_dir=tmp_path / "out", resolve_file=resolve))
    capture = ("10", "11", "4", "12", "6", "7", "15", "16")
    outcome = executor.run(graph, capture=capture)
    assert outcome.status is RunStatus.DONE, outcome.problems
    assert len(outcome.outputs) == 1
    values = outcome.values
    assert values["12"][0].family is SDXL_REFINER and values["4"][0].family is SDXL
    handed = values["10"][0].samples
    refined = values["11"][0].samples
    with torch.inference_mode():
        expected = _reference_handoff(values, steps=4, switch=3, seed=11, cfg=6.0)
    for ours, theirs in zip((handed, refined), expected, strict=True):
        assert (ours - theirs).abs().max() <= 1e-5 * theirs.abs().max()
    # The refiner's step is not the base's: a base-only run ends elsewhere.
    with torch.inference_mode():
        _, base_only = _reference_handoff(values, steps=4, switch=4, seed=11, cfg=6.0)
    assert (refined - base_only).abs().max() > 1e-2


def _reference_handoff(
    values: dict[str, Any], *, steps: int, switch: int, seed: int, cfg: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """ComfyUI's KSamplerAdvanced pair written anew (Euler in σ space, its normal schedule):
    the base UNet for the steps before ``switch``, the refiner's after, each with its own
    conditioning and micro-conditioning (the refiner's: size, crop, aesthetic score)."""
    from nodes.diffusion.comfy_sigmas import ModelSampling, comfy_sigmas

    base, refiner = values["4"][0], values["12"][0]
    ms = ModelSampling.from_config(base.scheduler_config)
    sigmas = comfy_sigmas("normal", ms, steps)
    x = torch.randn((1, 4, 8, 8), generator=torch.Generator().manual_seed(seed))
    x = x * torch.sqrt(1.0 + sigmas[0] ** 2.0)

    def model(unet: Any, cond: Any, uncond: Any) -> Any:
        embeds = torch.cat([uncond.embeds, cond.embeds])
        ids = torch.tensor([list(uncond.time_ids), list(cond.time_ids)])
        added = {"text_embeds": torch.cat([uncond.pooled, cond.pooled]), "time_ids": ids}

        def denoised(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
            xin = x / (sigma**2 + 1.0) ** 0.5
            t = ms.timestep(sigma.reshape(1)).float()
            eps = unet.module(
                torch.cat([xin, xin]), t, encoder_hidden_states=embeds, added_cond_kwargs=added
            ).sample
            u, c = (x - e * sigma for e in eps.chunk(2))
            return u + (c - u) * cfg

        return denoised

    base_model = model(base, values["6"][0], values["7"][0])
    refiner_model = model(refiner, values["15"][0], values["16"][0])
    handed = x
    for i in range(steps):
        s, s_next = sigmas[i], sigmas[i + 1]
        den = (base_model if i < switch else refiner_model)(x, s)
        x = x + (x - den) / s * (s_next - s)
        if i + 1 == switch:
            handed = x
    return handed, x


# --- base → refiner in diffusers' convention: denoising_end / denoising_start -------------


def _handoff_graph(registry: Registry, base: Path, refiner: Path, name: str) -> Graph:
    """SDXL base for steps 0–2 of 4 (end_step 2, leftover noise), then the refiner from
    step 2 (start_step 2, no new noise), each with its own prompts; the refiner decodes."""
    graph = Graph(registry)
    graph.add_node("loaders.checkpoint", id="base", params={"path": str(base)})
    graph.add_node("loaders.checkpoint", id="refiner", params={"path": str(refiner)})
    sizes = {"width": 64, "height": 64, "target_width": 64, "target_height": 64}
    for node, text in (("base_pos", PROMPT), ("base_neg", NEGATIVE)):
        graph.add_node("conditioning.text_encode_sdxl", id=node, params={"text": text, **sizes})
        graph.connect("base", "clip", node, "clip")
    for node, text, score in (("ref_pos", PROMPT, 6.0), ("ref_neg", NEGATIVE, 2.5)):
        params = {"text": text, "ascore": score, "width": 64, "height": 64}
        graph.add_node("conditioning.text_encode_sdxl_refiner", id=node, params=params)
        graph.connect("refiner", "clip", node, "clip")
    graph.add_node("latent.empty", id="latent", params={"width": 64, "height": 64})
    graph.add_node("sampling.scheduler", id="scheduler", params={"name": name})
    first = {"seed": 1234, "steps": 4, "cfg": 6.0, "end_step": 2, "leftover_noise": True}
    second = {"seed": 99, "steps": 4, "cfg": 6.0, "start_step": 2, "add_noise": False}
    graph.add_node("sampling.sampler", id="sampler", params=first)
    graph.add_node("sampling.sampler", id="refine", params=second)
    graph.add_node("vae.decode", id="decode")
    graph.add_node("image.preview", id="preview")
    for source, output, target, port in (
        ("base", "unet", "sampler", "unet"),
        ("base_pos", "conditioning", "sampler", "positive"),
        ("base_neg", "conditioning", "sampler", "negative"),
        ("latent", "latent", "sampler", "latent"),
        ("refiner", "unet", "refine", "unet"),
        ("ref_pos", "conditioning", "refine", "positive"),
        ("ref_neg", "conditioning", "refine", "negative"),
        ("sampler", "latent", "refine", "latent"),
        ("scheduler", "scheduler", "sampler", "scheduler"),
        ("scheduler", "scheduler", "refine", "scheduler"),
        ("refiner", "vae", "decode", "vae"),
        ("refine", "latent", "decode", "latent"),
        ("decode", "image", "preview", "image"),
    ):
        graph.connect(source, output, target, port)
    return graph


@pytest.mark.parametrize("name", ["euler", "euler_ancestral"])
def test_base_to_refiner_matches_diffusers_denoising_end_and_start(
    name: str, demo_sdxl, demo_refiner: RefinerDemoPaths, executor, registry
) -> None:
    """diffusers' documented ensemble of experts: the SDXL pipeline with
    ``denoising_end=0.5`` and ``output_type="latent"``, then the refiner's img2img pipeline
    with ``denoising_start=0.5`` on those latents; at 4 steps the switch is after step 2."""
    from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline

    from nodes.diffusion.schedulers import SchedulerRecipe

    graph = _handoff_graph(registry, demo_sdxl.single_file, demo_refiner.single_file, name)
    outcome = executor.run(graph, capture=("decode", "base", "refiner", "sampler"))
    assert outcome.status is RunStatus.DONE, (outcome.problems, outcome.error)
    (ours,) = outcome.values["decode"]
    base_unet, base_clip, _ = outcome.values["base"]
    ref_unet, ref_clip, ref_vae = outcome.values["refiner"]
    recipe = SchedulerRecipe(name)
    base_pipe = StableDiffusionXLPipeline(
        vae=outcome.values["base"][2].module,
        text_encoder=base_clip.encoders[0],
        text_encoder_2=base_clip.encoders[1],
        tokenizer=base_clip.tokenizers[0],
        tokenizer_2=base_clip.tokenizers[1],
        unet=base_unet.module,
        scheduler=recipe.build(base_unet.scheduler_config),
        add_watermarker=False,
    )
    none: Any = None
    refiner_pipe = StableDiffusionXLImg2ImgPipeline(
        vae=ref_vae.module,
        text_encoder=none,
        text_encoder_2=ref_clip.encoders[0],
        tokenizer=none,
        tokenizer_2=ref_clip.tokenizers[0],
        unet=ref_unet.module,
        scheduler=recipe.build(ref_unet.scheduler_config),
        requires_aesthetics_score=True,
        force_zeros_for_empty_prompt=False,
        add_watermarker=False,
    )
    for pipe in (base_pipe, refiner_pipe):
        pipe.set_progress_bar_config(disable=True)
    common: dict[str, Any] = {"negative_prompt": NEGATIVE, "num_inference_steps": 4}
    common["guidance_scale"] = 6.0
    latents: Any = base_pipe(
        PROMPT,
        height=64,
        width=64,
        denoising_end=0.5,
        output_type="latent",
        generator=torch.Generator("cpu").manual_seed(1234),
        **common,
    )
    handed = latents.images
    # The base's noisy latent, handed over as diffusers hands it (relative: latents are ~10).
    difference = (outcome.values["sampler"][0].samples - handed).abs().max()
    assert difference <= TOLERANCE * handed.abs().max()
    out: Any = refiner_pipe(
        PROMPT,
        image=handed,
        denoising_start=0.5,
        output_type="np",
        generator=torch.Generator("cpu").manual_seed(99),
        **common,
    )
    theirs = out.images
    assert isinstance(theirs, np.ndarray)
    assert ours.shape == theirs.shape == (1, 64, 64, 3)
    assert np.abs(ours.numpy() - theirs).max() <= TOLERANCE


def test_diffusers_convention_split_settings_name_their_field(
    demo_sdxl, demo_refiner: RefinerDemoPaths, executor, registry
) -> None:
    cases = [
        ("sampler", "leftover_noise", False, "leftover_noise"),  # a stop leaves noise
        ("refine", "add_noise", True, "start_step"),  # a resume adds none
        ("refine", "denoise", 0.5, "denoise"),
    ]
    for node, param, value, field in cases:
        graph = _handoff_graph(registry, demo_sdxl.single_file, demo_refiner.single_file, "euler")
        graph.set_param(node, param, value)
        outcome = executor.run(graph)
        assert outcome.status is RunStatus.FAILED
        assert [(p.node_id, p.field) for p in outcome.problems] == [(node, field)], param
        assert "comfyui convention" in outcome.problems[0].message


def test_make_demo_model_writes_a_refiner_next_to_sdxl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nodes import cli

    models = tmp_path / "models"
    assert cli.main(["make-demo-model", str(models), "--family", "sdxl", "--refiner"]) == 0
    written = capsys.readouterr().out.split()
    checkpoints = models / "checkpoints"
    for name in ("sdxl_refiner-demo.safetensors", "sdxl_refiner-demo", "sdxl-demo.safetensors"):
        assert str(checkpoints / name) in written
    assert detect(checkpoints / "sdxl_refiner-demo.safetensors").family is SDXL_REFINER
    assert detect(checkpoints / "sdxl_refiner-demo").family is SDXL_REFINER
    assert cli.main(["make-demo-model", str(models), "--refiner"]) == 2  # sd15 has none
    assert "--family sdxl" in capsys.readouterr().err
