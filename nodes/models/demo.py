"""Tiny random-weight models of the real SD1.x / SD2.x / SDXL (base and refiner) architectures.

For tests, benchmarks and a first run without downloads: the same block structure,
attention layout, text encoders and VAE as the published models, only narrow (32/64
channels, 2 text-encoder layers of width 32). They are written in both formats users
have — a diffusers folder and an original-layout single `.safetensors` — plus a ControlNet
(folder and single file) and a LoRA (kohya format), so every test goes through the real
loading code. The images they make are noise.

All weights are drawn from one seed, perturbed so that no two tensors are alike (a
mis-mapped tensor cannot hide behind a default 0 or 1), and stored as float16.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from nodes.models import ldm, to_ldm
from nodes.models.families import Family, get_family, heads_for_width
from nodes.models.quiet import quiet_hf
from nodes.models.tokenizer import clip_tokenizer

if TYPE_CHECKING:
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel

WIDTHS = (32, 64)
"""UNet block widths of the demo models."""
TEXT_WIDTH = 32
TEXT_LAYERS = 2
VAE_WIDTHS = (32, 32, 64, 64)
"""Four VAE blocks, as in the real VAE, so latents are 1/8 of the image size."""


@dataclass(frozen=True)
class DemoPaths:
    family: Family
    folder: Path
    """A diffusers pipeline folder (`model_index.json`, fp16 safetensors)."""
    single_file: Path
    """The same weights as one original-layout (LDM) `.safetensors` checkpoint."""
    controlnet: Path
    """A ControlNet for this model, as a diffusers folder."""
    controlnet_file: Path
    """The same ControlNet as an original-layout single file (`control_model.` keys)."""
    lora: Path
    """A LoRA for this model in kohya's format (`lora_unet_…`, `lora_te_…`; SDXL with
    LDM-style UNet names and `lora_te1_`/`lora_te2_`), on the attention projections of the
    UNet and of the text encoder(s)."""


_NONE: Any = None
"""diffusers' documented way to build a pipeline without its safety checker (its type
hints ask for a model)."""


def make_demo_model(
    out_dir: Path, family: str = "sd15", seed: int = 0, *, prediction: str | None = None
) -> DemoPaths:
    """Write a tiny model of `family` ("sd15", "sd21", "sdxl") under `out_dir`.

    `prediction` is the prediction type the model claims (default: the family's); for
    SD2.x it also shapes the weights statistic that auto-detection reads.
    """
    import torch

    fam = get_family(family)
    pred = prediction or fam.base_config("scheduler").get("prediction_type", "epsilon")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = DemoPaths(
        family=fam,
        folder=out / f"{fam.id}-demo",
        single_file=out / f"{fam.id}-demo.safetensors",
        controlnet=out / f"{fam.id}-demo-controlnet",
        controlnet_file=out / f"{fam.id}-demo-controlnet.safetensors",
        lora=out / f"{fam.id}-demo-lora.safetensors",
    )
    with torch.random.fork_rng(devices=[]), quiet_hf(diffusers_notices=True):
        torch.manual_seed(seed)
        parts = _build(fam, pred)
        _write_folder(paths.folder, fam, parts, pred)
        _write_single_file(paths.single_file, fam, parts)
        _write_controlnet(paths, parts)
        _write_lora(paths.lora, fam, parts, seed)
    return paths


@dataclass
class InpaintingDemoPaths:
    family: Family
    folder: Path
    """A diffusers pipeline folder of a 9-channel inpainting UNet."""
    single_file: Path
    """The same weights as one original-layout `.safetensors` checkpoint."""


def make_demo_inpainting_model(
    out_dir: Path, family: str = "sd15", seed: int = 0
) -> InpaintingDemoPaths:
    """Write a tiny inpainting model of `family`: its UNet takes the latents, the mask and
    the masked image's latents (4 + 1 + 4 channels), like SD1.5/SDXL inpainting."""
    import torch

    fam = get_family(family)
    pred = fam.base_config("scheduler").get("prediction_type", "epsilon")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = InpaintingDemoPaths(
        family=fam,
        folder=out / f"{fam.id}-inpainting-demo",
        single_file=out / f"{fam.id}-inpainting-demo.safetensors",
    )
    with torch.random.fork_rng(devices=[]), quiet_hf(diffusers_notices=True):
        torch.manual_seed(seed)
        parts = _build(fam, pred, in_channels=2 * fam.latent.channels + 1)
        _write_folder(paths.folder, fam, parts, pred)
        _write_single_file(paths.single_file, fam, parts)
    return paths


@dataclass
class RefinerDemoPaths:
    family: Family
    folder: Path
    """A diffusers folder laid out like stabilityai/stable-diffusion-xl-refiner-1.0
    (`StableDiffusionXLImg2ImgPipeline`, `text_encoder_2` only, `requires_aesthetics_score`)."""
    single_file: Path
    """The same weights as one original-layout `.safetensors` (OpenCLIP-G under
    `conditioner.embedders.0.model.`)."""


def make_demo_refiner(out_dir: Path, seed: int = 0) -> RefinerDemoPaths:
    """Write a tiny SDXL refiner: its one text encoder is as wide as the tiny SDXL's second
    (OpenCLIP-G's place), its UNet conditions on size, crop and aesthetic score, and its
    last block has no attention while the middle block has (the refiner's layout)."""
    import torch

    fam = get_family("sdxl_refiner")
    pred = fam.base_config("scheduler").get("prediction_type", "epsilon")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = RefinerDemoPaths(
        family=fam,
        folder=out / f"{fam.id}-demo",
        single_file=out / f"{fam.id}-demo.safetensors",
    )
    with torch.random.fork_rng(devices=[]), quiet_hf(diffusers_notices=True):
        torch.manual_seed(seed)
        parts = _build(fam, pred)
        _write_folder(paths.folder, fam, parts, pred)
        _write_single_file(paths.single_file, fam, parts)
    return paths


@dataclass
class _Parts:
    unet: Any
    vae: Any
    text_encoders: list[Any]
    full_open_clip: Any | None
    """SD2.x only: the text encoder with the extra last layer and projection the file keeps."""


def _configs(fam: Family) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    unet = fam.base_config("unet")
    unet.update(
        block_out_channels=list(WIDTHS),
        layers_per_block=2,
        down_block_types=["CrossAttnDownBlock2D"] * 2,
        up_block_types=["CrossAttnUpBlock2D"] * 2,
        cross_attention_dim=TEXT_WIDTH * len(fam.text_encoder_pads),
        attention_head_dim=fam.unet_fixed_heads or [heads_for_width(w) for w in WIDTHS],
    )
    if "time_ids" in fam.added_conditions:
        unet.update(
            down_block_types=["DownBlock2D", "CrossAttnDownBlock2D"],
            up_block_types=["CrossAttnUpBlock2D", "UpBlock2D"],
            transformer_layers_per_block=[1, 2],
            addition_time_embed_dim=256,
            projection_class_embeddings_input_dim=TEXT_WIDTH + len(fam.time_ids) * 256,
        )
        if fam.base_config("unet")["down_block_types"][-1] == "DownBlock2D":
            # The refiner's layout: attention in the inner blocks and the middle one only.
            unet.update(
                down_block_types=["CrossAttnDownBlock2D", "DownBlock2D"],
                up_block_types=["UpBlock2D", "CrossAttnUpBlock2D"],
                transformer_layers_per_block=2,
            )
    vae = fam.base_config("vae")
    vae.update(block_out_channels=list(VAE_WIDTHS), layers_per_block=1)
    vae["scaling_factor"] = fam.latent.scaling_factor
    texts = []
    for spec in fam.text_encoders:
        text = fam.base_config(spec.component)
        text.update(
            hidden_size=TEXT_WIDTH,
            intermediate_size=4 * TEXT_WIDTH,
            num_hidden_layers=TEXT_LAYERS,
            num_attention_heads=heads_for_width(TEXT_WIDTH),
            projection_dim=TEXT_WIDTH,
        )
        texts.append(text)
    return unet, vae, texts


def _build(fam: Family, prediction: str, in_channels: int | None = None) -> _Parts:
    import torch
    import transformers
    from diffusers import AutoencoderKL, UNet2DConditionModel

    unet_cfg, vae_cfg, text_cfgs = _configs(fam)
    if in_channels is not None:
        unet_cfg["in_channels"] = in_channels
    unet = cast("UNet2DConditionModel", UNet2DConditionModel.from_config(unet_cfg))
    vae = cast("AutoencoderKL", AutoencoderKL.from_config(vae_cfg))
    index = fam.model_index()
    classes = [index[spec.component][1] for spec in fam.text_encoders]
    encoders = []
    full = None
    for cls_name, cfg in zip(classes, text_cfgs, strict=True):
        encoders.append(getattr(transformers, cls_name)(transformers.CLIPTextConfig(**cfg)))
    if fam.text_encoders[0].drop_last_layer:
        # SD2.x conditions on OpenCLIP's penultimate layer: the file holds one layer (and a
        # projection) more than the diffusers text encoder, which keeps the first layers.
        cfg = dict(text_cfgs[0], num_hidden_layers=TEXT_LAYERS + 1)
        full = transformers.CLIPTextModelWithProjection(transformers.CLIPTextConfig(**cfg))
    for model in (unet, vae, *encoders, *([full] if full else [])):
        _perturb(model)
    if full is not None:
        kept = {
            k.removeprefix("text_model."): v
            for k, v in full.state_dict().items()
            if not k.startswith(("text_projection", f"text_model.encoder.layers.{TEXT_LAYERS}."))
        }
        encoders[0].load_state_dict(kept, strict=False)
    if fam.v_prediction_by_norm_std and prediction == "v_prediction":
        # The statistic ComfyUI (and `detect`) read to tell SD2 v-prediction models apart.
        last = _tree(unet).up_blocks[-1].attentions[-1].transformer_blocks[0].norm1.bias
        with torch.no_grad():
            last.copy_(torch.randn_like(last) * 0.2)
    return _Parts(unet, vae, encoders, full)


def _tree(module: torch.nn.Module) -> Any:
    """A diffusers module as its (dynamically typed) tree of named children."""
    return module


def _weight(module: torch.nn.Module, path: str) -> torch.Tensor:
    import torch

    weight = module.get_submodule(path).weight
    assert isinstance(weight, torch.Tensor)
    return weight


def _perturb(model: torch.nn.Module) -> None:
    import torch

    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.02)


def _write_folder(folder: Path, fam: Family, parts: _Parts, prediction: str) -> None:
    import diffusers
    import torch

    scheduler_cfg = fam.base_config("scheduler")
    scheduler_cfg["prediction_type"] = prediction
    scheduler = getattr(diffusers, scheduler_cfg["_class_name"]).from_config(scheduler_cfg)
    index = fam.model_index()
    kwargs: dict[str, Any] = {"vae": parts.vae, "unet": parts.unet, "scheduler": scheduler}
    for name in ("text_encoder", "text_encoder_2"):
        if name in index:  # the refiner's index lists its missing first encoder as null
            kwargs[name] = kwargs[name.replace("text_encoder", "tokenizer")] = _NONE
    for spec, encoder in zip(fam.text_encoders, parts.text_encoders, strict=True):
        kwargs[spec.component] = encoder
        kwargs[spec.component.replace("text_encoder", "tokenizer")] = clip_tokenizer(spec.pad_token)
    if "text_encoder_2" in index:
        kwargs["add_watermarker"] = False
        for flag in ("requires_aesthetics_score", "force_zeros_for_empty_prompt"):
            if flag in index:
                kwargs[flag] = index[flag]
    else:
        kwargs |= {"safety_checker": _NONE, "feature_extractor": _NONE}
        kwargs["requires_safety_checker"] = False
    pipe = getattr(diffusers, index["_class_name"])(**kwargs)
    pipe.to(torch.float16)
    pipe.save_pretrained(folder, safe_serialization=True)
    pipe.to(torch.float32)
    # save_pretrained writes every scheduler default explicitly (timestep_spacing
    # "leading"...), which changes what from_config gives other schedulers. Published
    # folders carry the short config, as the single file's shipped config does.
    config_file = folder / "scheduler" / "scheduler_config.json"
    config_file.write_text(json.dumps(scheduler_cfg, indent=2) + "\n", encoding="utf-8")


def _fp16(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    import torch

    return {
        k: (v.to(torch.float16) if v.is_floating_point() else v).contiguous().clone()
        for k, v in sd.items()
    }


def _write_single_file(path: Path, fam: Family, parts: _Parts) -> None:
    from safetensors.torch import save_file

    state = to_ldm.unet_to_ldm(parts.unet.state_dict(), parts.unet.config.layers_per_block)
    state |= to_ldm.vae_to_ldm(parts.vae.state_dict())
    for spec, encoder in zip(fam.text_encoders, parts.text_encoders, strict=True):
        if spec.layout == "clip":
            weights = encoder.state_dict()
            state |= to_ldm.clip_to_ldm(
                weights, spec.ldm_prefix, position_ids=spec.ldm_position_ids
            )
            continue
        full = parts.full_open_clip if spec.drop_last_layer else encoder
        assert full is not None
        state |= to_ldm.open_clip_to_ldm(full.state_dict(), spec.ldm_prefix)
    save_file(_fp16(state), str(path), metadata={"format": "pt"})


def _write_controlnet(paths: DemoPaths, parts: _Parts) -> None:
    import torch
    from diffusers import ControlNetModel
    from safetensors.torch import save_file

    net = ControlNetModel.from_unet(parts.unet)
    # from_unet zero-initialises the output convolutions (so training starts as a no-op);
    # a demo ControlNet with them at zero would have no effect and prove nothing.
    zeroed = [*net.controlnet_down_blocks, net.controlnet_mid_block]
    zeroed.append(net.controlnet_cond_embedding.conv_out)
    with torch.no_grad():
        for conv in zeroed:
            conv.weight.copy_(torch.randn_like(conv.weight) * 0.05)
            conv.bias.copy_(torch.randn_like(conv.bias) * 0.05)
    net.half().save_pretrained(paths.controlnet, safe_serialization=True)
    state = to_ldm.unet_to_ldm(net.state_dict(), net.config["layers_per_block"], ldm.CONTROLNET)
    save_file(_fp16(state), str(paths.controlnet_file), metadata={"format": "pt"})


# --- LoRA --------------------------------------------------------------------------------

LORA_RANK = 4
LORA_ALPHA = 2.0
"""scale = alpha / rank = 1/2: a power of two, so the same LoRA written with the scale folded
into its up factors (the diffusers convention, no alphas) has exactly the same effect."""
ATTENTION_PROJECTIONS = r"(attn[12]\.(to_q|to_k|to_v|to_out\.0)|self_attn\.(q|k|v|out)_proj)$"
"""UNet and CLIP attention projections: what the demo LoRA changes."""


def kohya_names(
    unet: torch.nn.Module, text_encoders: Sequence[torch.nn.Module], family: str | Family
) -> dict[tuple[int, str], str]:
    """(model index, module path) → kohya LoRA name, for every module with a weight.

    Model 0 is the UNet, 1 and 2 the text encoders. Kohya's sd-scripts name SD1.x/SD2.x UNet
    layers after diffusers' modules and SDXL's after the original (LDM) UNet; text encoders
    after transformers' CLIP (`text_model.…`), under `lora_te_` or SDXL's `lora_te1_`/`lora_te2_`.
    """
    fam = get_family(family)
    weights = {
        name: module
        for name, module in unet.named_modules()
        if getattr(module, "weight", None) is not None and module.weight.ndim in (2, 4)
    }
    if fam.kohya_ldm_names:
        state = unet.state_dict()
        ldm_names = to_ldm.unet_to_ldm(state, _tree(unet).config.layers_per_block, prefix="")
        by_key = dict(zip(state, ldm_names, strict=True))
        unet_names = {n: by_key[n + ".weight"].removesuffix(".weight") for n in weights}
    else:
        unet_names = {n: n for n in weights}
    names = {(0, n): "lora_unet_" + ldm.replace(".", "_") for n, ldm in unet_names.items()}
    for index, encoder in enumerate(text_encoders):
        prefix = "lora_te_" if len(text_encoders) == 1 else f"lora_te{index + 1}_"
        for name, module in encoder.named_modules():
            if getattr(module, "weight", None) is not None and module.weight.ndim == 2:
                path = name if name.startswith("text_model.") else "text_model." + name
                names[(index + 1, name)] = prefix + path.replace(".", "_")
    return names


def kohya_lora(
    unet: torch.nn.Module,
    text_encoders: Sequence[torch.nn.Module],
    family: str | Family,
    *,
    seed: int = 0,
    rank: int = LORA_RANK,
    alpha: float = LORA_ALPHA,
    pattern: str = ATTENTION_PROJECTIONS,
    dtype: torch.dtype | None = None,
) -> dict[str, torch.Tensor]:
    """A random LoRA in kohya's layout for the modules whose path matches `pattern`.

    Unlike a freshly trained LoRA (whose up factors start at zero), both factors are random,
    so the LoRA changes the model. Convolutions get kohya's LoCon factors: a down factor with
    the layer's kernel and a 1×1 up factor.
    """
    import torch

    dtype = dtype or torch.float16
    generator = torch.Generator().manual_seed(seed + 7919)
    models = [unet, *text_encoders]
    state: dict[str, torch.Tensor] = {}
    regex = re.compile(pattern)
    for (index, path), name in kohya_names(unet, text_encoders, family).items():
        if not regex.search(path):
            continue
        weight = _weight(models[index], path)
        fan_in = weight.shape[1:]
        down = torch.randn(rank, *fan_in, generator=generator) * 0.2
        up = torch.randn(weight.shape[0], rank, *([1] * (weight.ndim - 2)), generator=generator)
        state[name + ".lora_down.weight"] = down.to(dtype)
        state[name + ".lora_up.weight"] = (up * 0.1).to(dtype)
        state[name + ".alpha"] = torch.tensor(alpha, dtype=dtype)
    return state


def _write_lora(path: Path, fam: Family, parts: _Parts, seed: int) -> None:
    from safetensors.torch import save_file

    state = kohya_lora(parts.unet, parts.text_encoders, fam, seed=seed)
    metadata = {"format": "pt", "ss_network_module": "networks.lora"}
    metadata |= {"ss_network_dim": str(LORA_RANK), "ss_network_alpha": str(LORA_ALPHA)}
    save_file(state, str(path), metadata=metadata)
