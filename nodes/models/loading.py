"""Loading checkpoints, VAEs and ControlNets into diffusers/transformers models, offline.

Single files: `detect` infers each component's config from the tensor shapes, diffusers'
converters rename the weights, and the models are built empty (on the "meta" device) from
those configs and given the weights with a strict `load_state_dict(assign=True)` — any
tensor left over or missing is a `ModelError`, never a silently random weight. One code
path serves full-size checkpoints and tiny test models alike, reads the file once,
component by component, and needs no config download.

Diffusers folders: each component loads with `from_pretrained(..., local_files_only=True)`.

Tokenizers always come from `tokenizer.clip_tokenizer` (the shipped OpenAI BPE), whatever
a folder holds: every supported family uses that vocabulary, only padding differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from nodes.models import infer, ldm
from nodes.models.detect import (
    Detection,
    Prediction,
    addition_time_dim,
    detect_folder,
    detect_tensor_file,
    text_encoder_prefix,
    text_encoder_state,
)
from nodes.models.errors import ModelError
from nodes.models.families import SD1, Family, family_for_unet
from nodes.models.quiet import quiet_hf
from nodes.models.tensor_file import open_tensor_file
from nodes.models.tokenizer import clip_tokenizer

if TYPE_CHECKING:
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    from nodes.models.ldm import StateDict
    from nodes.models.tensor_file import TensorFile

    TextEncoder = CLIPTextModel | CLIPTextModelWithProjection


@dataclass
class LoadedCheckpoint:
    """A checkpoint's models, ready for a diffusers pipeline or Daguerre's sampler."""

    family: Family
    unet: UNet2DConditionModel
    vae: AutoencoderKL
    text_encoders: list[TextEncoder]
    """`CLIPTextModel` (SD1.x, SD2.x); `CLIPTextModel` + `CLIPTextModelWithProjection` (SDXL);
    `CLIPTextModelWithProjection` (the SDXL refiner's OpenCLIP-G)."""
    tokenizers: list[CLIPTokenizer]
    """One per text encoder, with that encoder's padding. Shared: do not modify."""
    scheduler_config: dict[str, Any]
    """The model's scheduler config with `prediction_type` resolved; for `from_config`."""
    source: Path
    detection: Detection
    """How the checkpoint was read: layout, configs, why this prediction type."""


@dataclass
class LoadedControlNet:
    """A ControlNet and the model family it belongs to."""

    controlnet: ControlNetModel
    family: Family
    """The family of UNet it was trained against; see `check_family`."""
    source: Path

    def check_family(self, family: Family) -> None:
        """Refuse to pair this ControlNet with a checkpoint of another family."""
        if family.controlnets != self.family.id:
            raise ModelError(
                f"{self.source.name} is a {self.family} ControlNet; it cannot steer a {family} "
                "model"
            )


def load_checkpoint(
    path: str | Path,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    prediction: Prediction = "auto",
) -> LoadedCheckpoint:
    """Load a diffusers folder or a single-file (LDM layout) checkpoint.

    `prediction` overrides the model's prediction type ("epsilon" or "v_prediction");
    "auto" reads it from the weights (single files) or the scheduler config (folders).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelError(f"model not found: {p}")
    if p.is_dir():
        return _load_folder(p, torch.device(device), dtype, prediction)
    with open_tensor_file(p) as tf:
        return load_tensor_file(tf, device=device, dtype=dtype, prediction=prediction)


def load_tensor_file(
    tf: TensorFile,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    prediction: Prediction = "auto",
) -> LoadedCheckpoint:
    """`load_checkpoint` for an already open single file, one component at a time."""
    det = detect_tensor_file(tf, prediction)
    with quiet_hf():
        unet_state = ldm.convert_unet(tf.load_prefix(ldm.UNET))
        unet = _build("UNet", det.unet, unet_state, device, dtype)
        del unet_state
        vae = _build("VAE", det.vae, ldm.convert_vae(tf.load_prefix(ldm.VAE)), device, dtype)
        encoders = []
        classes = zip(det.text_encoder_classes, det.text_encoders, strict=True)
        for i, (cls, cfg) in enumerate(classes):
            raw = tf.load_prefix(text_encoder_prefix(det.family, i))
            state = text_encoder_state(raw, det.family, i)
            del raw
            encoders.append(_build_text_encoder(cls, cfg, state, device, dtype))
    return LoadedCheckpoint(
        family=det.family,
        unet=unet,
        vae=vae,
        text_encoders=encoders,
        tokenizers=_tokenizers(det.family),
        scheduler_config=det.scheduler,
        source=tf.path,
        detection=det,
    )


def load_vae(
    path: str | Path,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    family: Family | None = None,
) -> AutoencoderKL:
    """Load a VAE: a diffusers folder, a VAE file (LDM or diffusers layout), or a checkpoint's.

    The latent scaling factor is not in the weights: pass the `family` of the checkpoint it
    will decode for, or get the folder config's value, or else SD1.x/SD2.x's 0.18215.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelError(f"VAE not found: {p}")
    if p.is_dir():
        from diffusers import AutoencoderKL

        sub = p / "vae" if (p / "vae" / "config.json").is_file() else p
        vae = _from_pretrained(AutoencoderKL, sub, dtype, "VAE")
        vae.to(device).eval().requires_grad_(False)
    else:
        with open_tensor_file(p) as tf:
            # A whole checkpoint: read its VAE only.
            keys = [k for k in tf.shapes if k.startswith(ldm.VAE)] or list(tf.shapes)
            if not any(k.startswith(("encoder.", ldm.VAE)) for k in keys):
                raise ModelError(f"{p.name} is not a VAE: {_describe(tf)}")
            state = ldm.convert_vae(tf.load(keys))
        shapes = {k: tuple(v.shape) for k, v in state.items()}
        config = infer.vae_config(shapes, (family or SD1).base_config("vae"))
        vae = _build("VAE", config, state, device, dtype)
    if family is not None:
        vae.register_to_config(scaling_factor=family.vae_scaling_factor)
    elif not p.is_dir():
        vae.register_to_config(scaling_factor=SD1.vae_scaling_factor)
    return vae


def load_controlnet(
    path: str | Path,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> LoadedControlNet:
    """Load a ControlNet: a diffusers folder, or a single file in LDM or diffusers layout."""
    from diffusers import ControlNetModel

    p = Path(path).expanduser()
    if not p.exists():
        raise ModelError(f"ControlNet not found: {p}")
    if p.is_dir():
        net = _from_pretrained(ControlNetModel, p, dtype, "ControlNet")
        net.to(device).eval().requires_grad_(False)
        return LoadedControlNet(net, _controlnet_family(dict(net.config), p.name), p)
    with open_tensor_file(p) as tf:
        hints = ("input_hint_block.", "controlnet_cond_embedding.")
        if not any(h in k for k in tf.shapes for h in hints):
            raise ModelError(f"{p.name} is not a ControlNet: {_describe(tf)}")
        state = ldm.convert_controlnet(tf.load(tf.shapes))
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    if "controlnet_cond_embedding.conv_in.weight" not in shapes:
        raise ModelError(f"{p.name} is not a ControlNet: no hint encoder found")
    linear = any(len(s) == 2 for k, s in shapes.items() if k.endswith(".proj_in.weight"))
    family = family_for_unet(
        added_conditions="add_embedding.linear_1.weight" in shapes,
        linear_projection=linear,
        what=p.name,
    )
    base = family.base_config("unet")
    if "time_ids" in family.added_conditions:
        adm_in = shapes["add_embedding.linear_1.weight"][1]
        base["addition_time_embed_dim"] = addition_time_dim(adm_in, None, p.name)
    config = infer.controlnet_config(shapes, family, base)
    return LoadedControlNet(_build("ControlNet", config, state, device, dtype), family, p)


# --- building models ---------------------------------------------------------------------


def _build(
    what: str, config: dict[str, Any], state: StateDict, device: Any, dtype: torch.dtype
) -> Any:
    """A diffusers model from `config`, built empty and given exactly `state`."""
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel

    cls = {"UNet": UNet2DConditionModel, "VAE": AutoencoderKL, "ControlNet": ControlNetModel}[what]
    state = _cast(state, device, dtype)
    try:
        with torch.device("meta"):
            model = cls.from_config(config)
        missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    except (RuntimeError, ValueError, TypeError) as exc:  # size mismatch, bad config
        raise ModelError(
            f"{what}: the weights do not fit the detected architecture: {exc}"
        ) from exc
    _check_keys(what, missing, unexpected)
    return model.eval().requires_grad_(False)


def _build_text_encoder(
    cls_name: str, config: dict[str, Any], state: StateDict, device: Any, dtype: torch.dtype
) -> TextEncoder:
    import transformers

    cls = getattr(transformers, cls_name)
    text_config = transformers.CLIPTextConfig(**config)
    try:
        model, info = cls.from_pretrained(
            None,
            config=text_config,
            state_dict=_cast(state, device, dtype),
            output_loading_info=True,
        )
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ModelError(
            f"text encoder: the weights do not fit the detected architecture: {exc}"
        ) from exc
    _check_keys(
        "text encoder",
        [k for k in info["missing_keys"] if not k.endswith("position_ids")],
        list(info["unexpected_keys"]) + list(info.get("mismatched_keys") or []),
    )
    return model.to(device=device, dtype=dtype).eval().requires_grad_(False)


def _cast(state: StateDict, device: Any, dtype: torch.dtype) -> StateDict:
    return {
        k: v.to(device=device, dtype=dtype if v.is_floating_point() else v.dtype).contiguous()
        for k, v in state.items()
    }


def _check_keys(what: str, missing: Any, unexpected: Any) -> None:
    missing, unexpected = sorted(missing), sorted(unexpected)
    if not missing and not unexpected:
        return
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(map(str, unexpected[:3]))})")
    raise ModelError(
        f"{what}: the weights do not fit the detected architecture: {'; '.join(parts)}"
    )


# --- diffusers folders -------------------------------------------------------------------


def _load_folder(
    path: Path, device: torch.device, dtype: torch.dtype, prediction: Prediction
) -> LoadedCheckpoint:
    import transformers
    from diffusers import AutoencoderKL, UNet2DConditionModel

    det = detect_folder(path, prediction)
    unet = _from_pretrained(UNet2DConditionModel, path / "unet", dtype, "UNet")
    vae = _from_pretrained(AutoencoderKL, path / "vae", dtype, "VAE")
    encoders = []
    with quiet_hf():
        specs = zip(det.family.text_encoders, det.text_encoder_classes, strict=True)
        for spec, cls_name in specs:
            sub = path / spec.component  # the refiner's only encoder is "text_encoder_2"
            model = _from_pretrained(getattr(transformers, cls_name), sub, dtype, "text encoder")
            encoders.append(model.to(dtype=dtype))
    for model in (unet, vae, *encoders):
        model.to(device).eval().requires_grad_(False)
    return LoadedCheckpoint(
        family=det.family,
        unet=unet,
        vae=vae,
        text_encoders=encoders,
        tokenizers=_tokenizers(det.family),
        scheduler_config=det.scheduler,
        source=path,
        detection=det,
    )


def _from_pretrained(cls: Any, folder: Path, dtype: torch.dtype, what: str) -> Any:
    """`cls.from_pretrained` on a local folder, never the hub; failures become ModelError."""
    if not (folder / "config.json").is_file():
        raise ModelError(f"{what}: {folder} has no config.json")
    kwargs: dict[str, Any] = {"local_files_only": True}
    variant = _variant(folder)
    if variant:
        kwargs["variant"] = variant
    if cls.__module__.startswith("diffusers"):
        from diffusers.utils import is_accelerate_available

        kwargs["torch_dtype"] = dtype
        kwargs["low_cpu_mem_usage"] = is_accelerate_available()
    try:
        return cls.from_pretrained(str(folder), **kwargs)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{what}: cannot load {folder}: {exc}") from exc


_WEIGHT_NAMES = ("diffusion_pytorch_model", "model", "pytorch_model")


def _variant(folder: Path) -> str | None:
    """The variant "fp16" when a folder has only `*.fp16.*` weights, as many repos do."""
    names = {f.name for f in folder.iterdir() if f.is_file()}
    plain = any(n.startswith(_WEIGHT_NAMES) and n.count(".") == 1 for n in names)
    plain |= any(n.endswith(".index.json") and n.count(".") == 3 for n in names)
    if not plain and any(".fp16." in n for n in names):
        return "fp16"
    return None


def _tokenizers(family: Family) -> list[CLIPTokenizer]:
    return [clip_tokenizer(pad) for pad in family.text_encoder_pads]


def _controlnet_family(config: dict[str, Any], what: str) -> Family:
    return family_for_unet(
        added_conditions=config.get("addition_embed_type") == "text_time",
        linear_projection=bool(config.get("use_linear_projection")),
        what=what,
    )


def _describe(tf: TensorFile) -> str:
    names = ", ".join(repr(k) for k in list(tf.shapes)[:3])
    return f"found {len(tf.shapes)} tensors (e.g. {names})" if tf.shapes else "it holds no tensors"
