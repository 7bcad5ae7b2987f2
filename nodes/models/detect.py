"""What a model file or folder is: family, architecture configs, prediction type.

Single files are read from their tensor names and shapes only (like ComfyUI's model
detection): the family from which text encoders are present and how they are laid out,
every width and depth from the shapes, converted to diffusers layout on data-free "meta"
tensors. Diffusers folders are read from `model_index.json` and their configs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from nodes.models import infer, ldm
from nodes.models.errors import ModelError
from nodes.models.families import FAMILIES, Family, family_for_unet
from nodes.models.tensor_file import open_tensor_file

if TYPE_CHECKING:
    from nodes.models.ldm import StateDict
    from nodes.models.tensor_file import TensorFile

Prediction = Literal["auto", "epsilon", "v_prediction"]
PREDICTIONS: tuple[str, ...] = ("auto", "epsilon", "v_prediction")
Config = dict[str, Any]

V_PRED_NORM_STD = 0.09
"""ComfyUI's threshold: SD2 v-prediction UNets have a last-block `norm1.bias` std above it."""


@dataclass(frozen=True)
class Detection:
    """Everything needed to build a checkpoint's models, before any weight is read."""

    family: Family
    source: Path
    layout: Literal["single-file", "diffusers"]
    unet: Config
    """`UNet2DConditionModel` config."""
    vae: Config
    """`AutoencoderKL` config (its `scaling_factor` is the family's for single files)."""
    text_encoders: tuple[Config, ...]
    """`CLIPTextConfig` dicts, in pipeline order."""
    text_encoder_classes: tuple[str, ...]
    """"CLIPTextModel" or "CLIPTextModelWithProjection", per text encoder."""
    scheduler: Config
    """The scheduler config, `prediction_type` resolved."""
    prediction: str
    """"epsilon" or "v_prediction"."""
    prediction_reason: str
    """Why: "chosen", a marker or statistic in the weights, or the config's default."""
    notes: tuple[str, ...] = field(default=())


def detect(path: str | Path, prediction: Prediction = "auto") -> Detection:
    """Detect a checkpoint: a diffusers folder or a single-file LDM-layout checkpoint."""
    _check_prediction(prediction)
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelError(f"model not found: {p}")
    if p.is_dir():
        return detect_folder(p, prediction)
    with open_tensor_file(p) as tf:
        return detect_tensor_file(tf, prediction)


# --- single files ------------------------------------------------------------------------


def single_file_family(tf: TensorFile) -> Family:
    """The family of an LDM-layout checkpoint, from which text encoders it holds.

    Each family names where its text encoders live; the family whose whole stack is present
    wins, larger stacks first (SDXL's two encoders before a one-encoder family).
    """
    keys = tf.shapes
    if not ldm.has_prefix(keys, ldm.UNET):
        raise ModelError(_not_a_checkpoint(tf))
    adm = ldm.UNET + "label_emb.0.0.weight" in keys
    name = tf.path.name
    candidates = sorted(FAMILIES.values(), key=lambda f: -len(f.text_encoders))
    family = next(
        (
            f
            for f in candidates
            if all(ldm.has_prefix(keys, spec.ldm_prefix) for spec in f.text_encoders)
        ),
        None,
    )
    if family is None:
        raise ModelError(
            f"{name} holds a Stable Diffusion UNet but no text encoder Daguerre knows "
            f"(looked under {', '.join(_TEXT_PREFIXES)}); UNet-only files are not supported"
        )
    family.require_loadable(name)
    if family.added_conditions and not adm:
        raise ModelError(f"{name}: {family} text encoders but the UNet has no {family} embedding")
    if adm and not family.added_conditions:
        raise ModelError(f"{name}: class-conditioned {family} models (unCLIP) are not supported")
    if not ldm.has_prefix(keys, ldm.VAE):
        raise ModelError(f"{name} holds no VAE (nothing under {ldm.VAE}); it cannot be used alone")
    return family


def text_encoder_state(sd: StateDict, family: Family, index: int) -> StateDict:
    """Text encoder `index` of an LDM checkpoint of `family`, in transformers layout."""
    spec = family.text_encoders[index]
    if spec.layout == "clip":
        return ldm.convert_clip(sd, spec.ldm_prefix)
    return ldm.convert_open_clip(sd, spec.ldm_prefix, drop_last_layer=spec.drop_last_layer)


def text_encoder_prefix(family: Family, index: int) -> str:
    return family.text_encoders[index].ldm_prefix


def detect_tensor_file(tf: TensorFile, prediction: Prediction = "auto") -> Detection:
    _check_prediction(prediction)
    family = single_file_family(tf)
    classes = _text_encoder_classes(family.model_index(), family, tf.path.name)
    text_configs = []
    for i, spec in enumerate(family.text_encoders[: len(classes)]):
        meta = tf.meta(k for k in tf.shapes if k.startswith(spec.ldm_prefix))
        shapes = _shapes(text_encoder_state(meta, family, i))
        text_configs.append(infer.clip_config(shapes, family.base_config(spec.component)))

    unet_shapes = _shapes(ldm.convert_unet(tf.meta(k for k in tf.shapes if k.startswith(ldm.UNET))))
    time_dim = None
    if "time_ids" in family.added_conditions:
        adm_in = unet_shapes["add_embedding.linear_1.weight"][1]
        pooled = text_configs[-1]["projection_dim"]
        time_dim = addition_time_dim(adm_in, pooled, tf.path.name, len(family.time_ids))
    unet = infer.unet_config(unet_shapes, family, family.base_config("unet"), time_dim)
    context = sum(c["hidden_size"] for c in text_configs)
    if unet["cross_attention_dim"] != context:
        raise ModelError(
            f"{tf.path.name}: the UNet attends to {unet['cross_attention_dim']}-wide text "
            f"features but the text encoders give {context}"
        )

    vae_meta = tf.meta(k for k in tf.shapes if k.startswith(ldm.VAE))
    vae = infer.vae_config(_shapes(ldm.convert_vae(vae_meta)), family.base_config("vae"))
    vae["scaling_factor"] = family.vae_scaling_factor

    resolved, reason = _single_file_prediction(tf, family, unet, prediction)
    scheduler = family.base_config("scheduler")
    scheduler["prediction_type"] = resolved
    notes = []
    if "ztsnr" in tf.shapes:
        scheduler["rescale_betas_zero_snr"] = True
        notes.append("trained with zero terminal SNR (ztsnr marker)")
    if family.native_size_v is not None:
        # The two SD2.x releases differ in prediction and native size: 768-v and 512 base.
        unet["sample_size"] = family.native_side(resolved) // 8
    return Detection(
        family=family,
        source=tf.path,
        layout="single-file",
        unet=unet,
        vae=vae,
        text_encoders=tuple(text_configs),
        text_encoder_classes=classes,
        scheduler=scheduler,
        prediction=resolved,
        prediction_reason=reason,
        notes=tuple(notes),
    )


def addition_time_dim(adm_in: int, pooled_dim: int | None, name: str, count: int = 6) -> int:
    """SDXL's per-number micro-conditioning embedding size (256 in SDXL).

    The UNet's added embedding takes the pooled text embedding and `count` embedded numbers
    (SDXL: six, original size, crop, target size; its refiner: five, the aesthetic score in
    place of the target size), so `adm_in = pooled + count·dim`. Without a text encoder to
    give `pooled_dim` (a lone ControlNet), SDXL's 256 is assumed: the original SDXL code
    fixes it whatever the model's width.
    """
    if pooled_dim is None:
        if adm_in > count * 256:
            return 256
        raise ModelError(f"{name}: cannot tell the layout of its {adm_in}-wide added embedding")
    rest = adm_in - pooled_dim
    if rest <= 0 or rest % count or (rest // count) % 2:
        raise ModelError(
            f"{name}: the UNet's added embedding takes {adm_in} numbers, which does not fit a "
            f"{pooled_dim}-wide pooled text embedding plus {count} size/crop embeddings"
        )
    return rest // count


def _single_file_prediction(
    tf: TensorFile, family: Family, unet: Config, prediction: Prediction
) -> tuple[str, str]:
    if prediction != "auto":
        return prediction, "chosen"
    if "v_pred" in tf.shapes:
        return "v_prediction", "the file's v_pred marker"
    if family.v_prediction_by_norm_std:
        if unet["in_channels"] != family.latent.channels:
            return "epsilon", f"{family} inpainting/depth models predict noise"
        last = len(infer.indices(tf.shapes, ldm.UNET + "output_blocks.")) - 1
        key = f"{ldm.UNET}output_blocks.{last}.1.transformer_blocks.0.norm1.bias"
        if key in tf.shapes:
            std = float(tf.get(key).float().std(unbiased=False))
            if std > V_PRED_NORM_STD:
                return "v_prediction", f"last UNet norm bias std {std:.3f} > {V_PRED_NORM_STD}"
            return "epsilon", f"last UNet norm bias std {std:.3f} <= {V_PRED_NORM_STD}"
    default = family.base_config("scheduler").get("prediction_type", "epsilon")
    return default, f"the {family} default"


_TEXT_PREFIXES = tuple(
    dict.fromkeys(spec.ldm_prefix for f in FAMILIES.values() for spec in f.text_encoders)
)


def _not_a_checkpoint(tf: TensorFile) -> str:
    keys = list(tf.shapes)
    name = tf.path.name
    if not keys:
        return f"{name} is not a Stable Diffusion checkpoint: it holds no tensors"
    head = f"{name} is not a Stable Diffusion checkpoint: found {len(keys)} tensors"
    head += f", none under {ldm.UNET.rstrip('.')}"
    guess = _guess_kind(keys)
    if guess:
        return f"{head}; it looks like {guess}"
    return f"{head} (e.g. {', '.join(repr(k) for k in keys[:3])})"


def _guess_kind(keys: list[str]) -> str | None:
    def some(*parts: str) -> bool:
        return any(p in k for k in keys for p in parts)

    if some("lora_down", "lora_up", "lora_A", "lora_B", "lora_unet_"):
        return "a LoRA (use a LoRA loader)"
    if some("input_hint_block", "controlnet_cond_embedding"):
        return "a ControlNet (use the ControlNet loader)"
    if some("encoder.down.", "encoder.down_blocks.") and some("decoder.up"):
        return "a standalone VAE (use the VAE loader)"
    if some("down_blocks.") and some("time_embedding."):
        return "a diffusers UNet on its own, not a whole checkpoint"
    if some("text_model.encoder.layers.", "transformer.resblocks."):
        return "a text encoder on its own"
    return None


# --- diffusers folders -------------------------------------------------------------------


def detect_folder(path: Path, prediction: Prediction = "auto") -> Detection:
    """Detect a diffusers pipeline folder from `model_index.json` and its configs."""
    _check_prediction(prediction)
    index_path = path / "model_index.json"
    if not index_path.is_file():
        own = path / "config.json"
        if own.is_file():
            kind = _read(own).get("_class_name", "a single component")
            raise ModelError(f"{path} holds one model ({kind}), not a whole checkpoint")
        raise ModelError(f"{path} is not a diffusers model folder: it has no model_index.json")
    index = _read(index_path)
    unet = _read(path / "unet" / "config.json")
    present = tuple(name for name in _TEXT_COMPONENTS if _component(index, name) is not None)
    if not present:
        raise ModelError(f"{path}: a {index.get('_class_name', 'pipeline')} without text encoders")
    added = unet.get("addition_embed_type") == "text_time"
    if len(present) > 1 and not added:
        raise ModelError(f"{path}: two text encoders but the UNet takes no added conditions")
    # SDXL and its refiner have UNets alike: the text encoders a folder holds tell them apart.
    family = family_for_unet(
        added_conditions=added,
        linear_projection=bool(unet.get("use_linear_projection")),
        what=str(path),
        text_components=present,
    )
    classes = _text_encoder_classes(index, family, str(path))
    text = tuple(_read(path / spec.component / "config.json") for spec in family.text_encoders)
    scheduler = _read(path / "scheduler" / "scheduler_config.json")
    if prediction == "auto":
        resolved = scheduler.get("prediction_type", "epsilon")
        reason = "the folder's scheduler config"
    else:
        resolved, reason = prediction, "chosen"
    scheduler["prediction_type"] = resolved
    vae = _read(path / "vae" / "config.json")
    return Detection(
        family=family,
        source=path,
        layout="diffusers",
        unet=unet,
        vae=vae,
        text_encoders=text,
        text_encoder_classes=classes,
        scheduler=scheduler,
        prediction=resolved,
        prediction_reason=reason,
    )


def _component(index: Config, name: str) -> str | None:
    entry = index.get(name)
    if isinstance(entry, list) and len(entry) == 2 and entry[1]:
        return str(entry[1])
    return None


_TEXT_COMPONENTS = ("text_encoder", "text_encoder_2")


def _text_encoder_classes(index: Config, family: Family, what: str) -> tuple[str, ...]:
    """The transformers class of each of `family`'s text encoders, from a model index."""
    names = []
    for spec in family.text_encoders:
        cls = _component(index, spec.component)
        if cls is None:
            raise ModelError(f"{what}: its {family} model index has no {spec.component}")
        if cls not in ("CLIPTextModel", "CLIPTextModelWithProjection"):
            raise ModelError(f"unsupported text encoder class {cls} ({spec.component})")
        names.append(cls)
    return tuple(names)


def _read(path: Path) -> Config:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"missing {path.name} in {path.parent}") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path} is not a JSON object")
    return data


def _shapes(sd: StateDict) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in sd.items()}


def _check_prediction(prediction: str) -> None:
    if prediction not in PREDICTIONS:
        raise ValueError(f"prediction must be one of {PREDICTIONS}, not {prediction!r}")
