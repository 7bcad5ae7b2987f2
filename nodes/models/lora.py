"""LoRA files — kohya/sd-scripts and diffusers/PEFT formats — read into low-rank factors.

A LoRA changes the weight W of some layers by ΔW = strength · scale · (up @ down), with
`down` rank×in (or rank×in×kh×kw for a convolution), `up` out×rank and scale = alpha / rank.
This module only reads and checks files; `nodes.diffusion.patches` applies them, and only
while a model runs, so the shared models in the model cache are never changed for good.

Names. Kohya files (`lora_unet_…`, `lora_te_…`, SDXL's `lora_te1_…`/`lora_te2_…` and its
LDM-style UNet names `lora_unet_input_blocks_4_1_…`) go through diffusers' own converter
(`StableDiffusionLoraLoaderMixin.lora_state_dict`, which maps the LDM block numbers with the
UNet's `layers_per_block`), then diffusers' PEFT renaming (`diffusers.utils.state_dict_utils`)
that also reads the diffusers formats: `unet.<module>.lora_A.weight`/`lora_B.weight`,
`text_encoder.…`, `text_encoder_2.…`, the older `…to_q_lora.down.weight` attention-processor
names, `lora.down`/`lora.up` and `lora_linear_layer`. None of that needs `peft`. The result
names modules of diffusers' `UNet2DConditionModel` and of transformers' CLIP text models;
text-encoder names are kept without the `text_model.` wrapper, which `CLIPTextModel` lost in
transformers 5 but `CLIPTextModelWithProjection` keeps.

`read_lora` parses a file once (the loader node caches the result); `bind_lora` matches it to
a model's modules and checks every shape first, so a LoRA for another family fails with a
message that says what was found before any weight is touched.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from nodes.models.errors import ModelError
from nodes.models.tensor_file import SAFETENSORS_SUFFIXES, open_tensor_file

if TYPE_CHECKING:
    import torch

    from nodes.models.families import Family

PARTS = ("unet", "text_encoder", "text_encoder_2")
"""The models a LoRA can change, by the prefix diffusers gives their keys."""
KOHYA_PREFIXES = ("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_")
STRAY_FRACTION = 0.05
"""Layers naming no module of the model that are tolerated (skipped, and reported); more
than this fraction of a LoRA's layers means it is for another model and is refused."""

_UNET_ROOTS = ("down_blocks.", "mid_block.", "up_blocks.", "conv_in.", "conv_out.", "time_")
_LORA_MARKERS = ("lora_down", "lora_up", "lora_A", "lora_B", "lora.down", "lora.up")
_LORA_MARKERS += ("_lora.down", "_lora.up", "lora_linear_layer")
_UNSUPPORTED = (
    (re.compile(r"\.hada_w\d"), "a LyCORIS LoHa"),
    (re.compile(r"\.lokr_w\d"), "a LyCORIS LoKr"),
    (re.compile(r"\.lora_mid\."), "a LyCORIS LoCon with a Tucker middle factor (lora_mid)"),
    (re.compile(r"dora_scale|lora_magnitude_vector"), "a DoRA"),
    (re.compile(r"\.oft_(blocks|diag)"), "an OFT"),
    (re.compile(r"\.diff(_b)?$"), "a LyCORIS full-difference"),
    (re.compile(r"\.[wb]_norm$"), "a LyCORIS norm-layer"),
)


@dataclass(frozen=True, eq=False)
class LoraLayer:
    """The low-rank change of one weight: ΔW = strength · scale · (up @ down)."""

    module: str
    """The module whose `weight` changes: a path in the diffusers UNet, or in a CLIP text
    model without its `text_model.` wrapper (after `bind_lora`: the model's own path)."""
    down: torch.Tensor
    """rank×in, or rank×in×kh×kw for a convolution (kohya `lora_down`, PEFT `lora_A`)."""
    up: torch.Tensor
    """out×rank, or out×rank×1×1 (kohya `lora_up`, PEFT `lora_B`)."""
    alpha: float
    scale: float
    """alpha / rank (alpha / √rank for rank-stabilised LoRA)."""

    @property
    def rank(self) -> int:
        return int(self.down.shape[0])

    def fits(self, shape: Sequence[int]) -> bool:
        """Whether ΔW has the shape of a weight of `shape` (linear or convolution)."""
        if len(shape) not in (2, 4) or self.up.shape[0] != shape[0]:
            return False
        if math.prod(self.down.shape[1:]) != math.prod(shape[1:]):
            return False
        if self.down.ndim == 4 and len(shape) == 4:
            return tuple(self.down.shape[1:]) == tuple(shape[1:])
        return True

    def delta(
        self, shape: Sequence[int], strength: float, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """strength · scale · (up @ down) in float32, shaped like the weight."""
        import torch

        up = self.up.to(device=device, dtype=torch.float32).reshape(self.up.shape[0], -1)
        down = self.down.to(device=device, dtype=torch.float32).reshape(self.rank, -1)
        return (up @ down).mul_(strength * self.scale).reshape(tuple(shape))

    def describe(self) -> str:
        fan_in = "×".join(str(d) for d in self.down.shape[1:])
        return f"{self.up.shape[0]}×{fan_in}"


@dataclass(frozen=True, eq=False)
class LoraFile:
    """A parsed LoRA file: its layers per model part ("unet", "text_encoder", ...)."""

    path: Path
    format: str
    """"kohya", "diffusers" or "kohya+diffusers"."""
    parts: Mapping[str, Mapping[str, LoraLayer]]
    """Part → module name → layer, for every part in `PARTS` (possibly empty)."""
    unknown: tuple[str, ...] = ()
    """Keys that belong to no part (counted as unmatched layers by `bind_lora`)."""

    def __len__(self) -> int:
        return sum(len(layers) for layers in self.parts.values())

    @property
    def nbytes(self) -> int:
        return sum(
            t.element_size() * t.nelement()
            for layers in self.parts.values()
            for layer in layers.values()
            for t in (layer.down, layer.up)
        )


@dataclass(frozen=True)
class BoundLora:
    """A LoRA matched to one model: its layers per target, with the model's module paths."""

    unet: tuple[LoraLayer, ...]
    text_encoders: tuple[tuple[LoraLayer, ...], ...]
    """One tuple per text encoder of the CLIP it was bound to, in encoder order."""
    skipped: tuple[str, ...] = ()
    """LoRA layers that match no module (at most `STRAY_FRACTION` of them)."""

    def describe(self) -> str:
        text = sum(len(t) for t in self.text_encoders)
        note = f"{len(self.unet)} UNet and {text} text-encoder layers"
        if self.skipped:
            note += f"; {len(self.skipped)} skipped (no such layer)"
        return note


# --- reading -----------------------------------------------------------------------------


def read_lora(
    path: str | Path,
    *,
    layers_per_block: int | None = None,
    device: torch.device | str = "cpu",
) -> LoraFile:
    """Read a LoRA file (.safetensors, or a .ckpt/.pt/.bin through `weights_only` loading).

    `layers_per_block` is the UNet's (2 for SD1.x/SD2.x/SDXL): kohya's SDXL files name UNet
    blocks the LDM way and the number is needed to map them to diffusers' blocks.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelError(f"LoRA not found: {p}")
    with open_tensor_file(p) as tf:
        _check_kind(p.name, list(tf.shapes))
        tensors = tf.load(tf.shapes)
    metadata = _adapter_metadata(p) if p.suffix.lower() in SAFETENSORS_SUFFIXES else {}
    lora = parse_lora(
        tensors, name=p.name, layers_per_block=layers_per_block, metadata=metadata, path=p
    )
    if str(device) != "cpu":
        parts = {
            part: {
                k: replace(v, down=v.down.to(device), up=v.up.to(device)) for k, v in layers.items()
            }
            for part, layers in lora.parts.items()
        }
        lora = replace(lora, parts=parts)
    return lora


def parse_lora(
    state: Mapping[str, torch.Tensor],
    *,
    name: str = "LoRA",
    layers_per_block: int | None = None,
    metadata: Mapping[str, Any] | None = None,
    path: Path | None = None,
) -> LoraFile:
    """A LoRA state dict (kohya or diffusers format) as layers per part; see `read_lora`.

    `metadata` is diffusers' `lora_adapter_metadata` (PEFT `LoraConfig` fields per part,
    e.g. "unet.lora_alpha"): where a file has no alpha tensors, that gives the alphas.
    """
    _check_kind(name, list(state))
    kohya = {k: v for k, v in state.items() if k.startswith(KOHYA_PREFIXES)}
    rest = {k: v for k, v in state.items() if k not in kohya}
    # Kohya keeps alpha next to each layer's factors; diffusers' converter reports it under
    # names that differ by layer type. The down tensor travels through the renaming as the
    # same object, so it carries its alpha across by identity.
    alphas: dict[int, float] = {}
    converted: dict[str, torch.Tensor] = {}
    if kohya:
        for key, value in kohya.items():
            if key.endswith(".alpha"):
                down = kohya.get(key.removesuffix(".alpha") + ".lora_down.weight")
                if down is not None:
                    alphas[id(down)] = float(value)
        converted.update(_from_kohya(kohya, name, layers_per_block))
    converted.update(rest)
    fmt = "+".join(f for f, present in (("kohya", kohya), ("diffusers", rest)) if present)

    by_part: dict[str, dict[str, torch.Tensor]] = {part: {} for part in PARTS}
    unknown: list[str] = []
    for key, value in converted.items():
        head, _, tail = key.partition(".")
        if head in PARTS:
            by_part[head][tail] = value
        elif key.startswith(_UNET_ROOTS):  # old attention-processor files have no prefix
            by_part["unet"][key] = value
        else:
            unknown.append(key)

    meta = dict(metadata or {})
    parts: dict[str, dict[str, LoraLayer]] = {}
    for part, tensors in by_part.items():
        peft = _unet_to_peft(tensors) if part == "unet" else _text_to_peft(tensors, name)
        parts[part] = _layers(peft, part, name, alphas, meta)
    lora = LoraFile(path or Path(name), fmt, parts, tuple(_layer_names(unknown)))
    if not len(lora):
        raise ModelError(f"{name}: no LoRA layers found in {len(state)} tensors")
    return lora


def _check_kind(name: str, keys: list[str]) -> None:
    """Refuse files that are no LoRA, or a kind of LoRA Daguerre does not apply."""
    if not keys:
        raise ModelError(f"{name} is not a LoRA: it holds no tensors")
    for marker, kind in _UNSUPPORTED:
        found = [k for k in keys if marker.search(k)]
        if found:
            raise ModelError(
                f"{name} is {kind} file (e.g. {found[0]!r}); Daguerre applies plain LoRA files "
                "(kohya or diffusers format) only"
            )
    if any(m in k for k in keys for m in _LORA_MARKERS):
        return
    head = f"{name} is not a LoRA: found {len(keys)} tensors"
    guess = _guess_kind(keys)
    if guess:
        raise ModelError(f"{head}; it looks like {guess}")
    raise ModelError(f"{head}, none of them LoRA factors (e.g. {', '.join(map(repr, keys[:3]))})")


def _guess_kind(keys: list[str]) -> str | None:
    def some(*parts: str) -> bool:
        return any(p in k for k in keys for p in parts)

    if some("model.diffusion_model."):
        return "a whole Stable Diffusion checkpoint (use Load Checkpoint)"
    if some("input_hint_block", "controlnet_cond_embedding"):
        return "a ControlNet (use Load ControlNet)"
    if some("encoder.down", "encoder.down_blocks.") and some("decoder.up"):
        return "a VAE (use Load VAE)"
    if some("string_to_param", "emb_params", "clip_l", "clip_g") and len(keys) <= 4:
        return "a textual-inversion embedding"
    if some("down_blocks.") and some("time_embedding."):
        return "a diffusers UNet on its own"
    return None


def _from_kohya(
    state: dict[str, torch.Tensor], name: str, layers_per_block: int | None
) -> dict[str, torch.Tensor]:
    """Kohya names renamed by diffusers' converter (keys get a `unet.`/`text_encoder…` prefix)."""
    from diffusers.loaders.lora_pipeline import StableDiffusionLoraLoaderMixin

    from nodes.models.quiet import quiet_hf

    _check_kohya(state, name)
    config = SimpleNamespace(layers_per_block=layers_per_block) if layers_per_block else None
    try:
        with quiet_hf(diffusers_notices=True):
            converted = StableDiffusionLoraLoaderMixin.lora_state_dict(
                dict(state), unet_config=config
            )[0]
    except (ValueError, KeyError, IndexError) as exc:
        reason = " ".join(str(exc).split())
        raise ModelError(f"{name}: cannot read its kohya LoRA layers: {reason}") from exc
    return dict(converted)


_KOHYA_ROLES = (".lora_down.weight", ".lora_up.weight", ".alpha")


def _check_kohya(state: Mapping[str, Any], name: str) -> None:
    """Every kohya layer has a down and an up factor, and nothing else but an alpha."""
    layers: dict[str, set[str]] = {}
    for key in state:
        role = next((r for r in _KOHYA_ROLES if key.endswith(r)), None)
        if role is None:
            raise ModelError(
                f"{name} holds a tensor Daguerre cannot apply as a LoRA factor: {key!r}"
            )
        layers.setdefault(key.removesuffix(role), set()).add(role)
    for layer, roles in layers.items():
        for role in _KOHYA_ROLES[:2]:
            if role not in roles:
                raise ModelError(f"{name}: layer {layer} has no {role.strip('.')} factor")


def _unet_to_peft(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    from diffusers.utils.state_dict_utils import convert_unet_state_dict_to_peft

    return _generic_to_peft(convert_unet_state_dict_to_peft(state)) if state else {}


def _text_to_peft(state: dict[str, torch.Tensor], name: str) -> dict[str, torch.Tensor]:
    from diffusers.utils.state_dict_utils import (
        StateDictType,
        convert_state_dict_to_diffusers,
        convert_state_dict_to_peft,
    )

    if not state:
        return {}
    keys = list(state)
    # diffusers infers the layout from `to_out_lora` alone, which a LoRA of only q/k/v
    # layers lacks: name it here.
    if any("_lora.down." in k or "_lora.up." in k for k in keys):
        state = convert_state_dict_to_diffusers(state, StateDictType.DIFFUSERS_OLD)
    if any("lora_linear_layer" in k or "lora.down" in k for k in state):
        state = convert_state_dict_to_peft(state, StateDictType.DIFFUSERS)
    state = _generic_to_peft(state)
    out = {}
    for key, value in state.items():
        out[key.removeprefix("text_model.")] = value
    if len(out) != len(state):
        raise ModelError(f"{name}: a text-encoder layer is named both with and without text_model.")
    return out


_ROLES = ((".lora_A.weight", "down"), (".lora_B.weight", "up"), (".alpha", "alpha"))
_GENERIC = ((".lora.down.", ".lora_A."), (".lora.up.", ".lora_B."))
_GENERIC += ((".lora_down.", ".lora_A."), (".lora_up.", ".lora_B."))


def _generic_to_peft(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remaining `lora.down`/`lora_down` spellings as PEFT's `lora_A`/`lora_B`."""
    out = {}
    for key, value in state.items():
        name = key
        for old, new in _GENERIC:
            name = name.replace(old, new)
        out[name] = value
    return out


def _layers(
    state: dict[str, torch.Tensor],
    part: str,
    name: str,
    alphas: dict[int, float],
    metadata: dict[str, Any],
) -> dict[str, LoraLayer]:
    groups: dict[str, dict[str, torch.Tensor]] = {}
    odd: list[str] = []
    for key, value in state.items():
        for suffix, role in _ROLES:
            if key.endswith(suffix):
                groups.setdefault(key.removesuffix(suffix), {})[role] = value
                break
        else:
            odd.append(key)
    if odd:
        raise ModelError(
            f"{name} holds {len(odd)} tensors Daguerre cannot apply as LoRA factors "
            f"(e.g. {part}.{odd[0]})"
        )
    config = _part_config(metadata, part)
    layers = {}
    for module, tensors in groups.items():
        down, up = tensors.get("down"), tensors.get("up")
        if down is None or up is None:
            have = "up" if down is None else "down"
            raise ModelError(f"{name}: layer {part}.{module} has a {have} factor but not the other")
        _check_factors(name, f"{part}.{module}", down, up)
        rank = int(down.shape[0])
        alpha = alphas.get(id(down))
        if alpha is None and "alpha" in tensors:
            alpha = float(tensors["alpha"])
        if alpha is None:
            alpha = _config_alpha(config, module, rank)
        alpha = alpha or float(rank)  # kohya: alpha 0 means "no alpha", i.e. the rank
        root = math.sqrt(rank) if config.get("use_rslora") else rank
        layers[module] = LoraLayer(module, down, up, alpha, alpha / root)
    return layers


def _check_factors(name: str, layer: str, down: torch.Tensor, up: torch.Tensor) -> None:
    shapes = f"down {tuple(down.shape)}, up {tuple(up.shape)}"
    if down.ndim not in (2, 4) or up.ndim not in (2, 4):
        raise ModelError(f"{name}: layer {layer} has factors of unexpected shapes ({shapes})")
    if up.ndim == 4 and tuple(up.shape[2:]) != (1, 1):
        raise ModelError(f"{name}: layer {layer} has a spatial up factor ({shapes}); not supported")
    if up.shape[1] != down.shape[0]:
        raise ModelError(f"{name}: layer {layer} has factors of different ranks ({shapes})")
    if not (down.is_floating_point() and up.is_floating_point()):
        raise ModelError(f"{name}: layer {layer} has non-float factors")


def _adapter_metadata(path: Path) -> dict[str, Any]:
    """diffusers' `lora_adapter_metadata` (JSON in the safetensors header), if any."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            raw = (handle.metadata() or {}).get("lora_adapter_metadata")
        data = json.loads(raw) if raw else {}
    except Exception:  # the tensors were readable; unreadable metadata is not fatal
        return {}
    return data if isinstance(data, dict) else {}


def _part_config(metadata: dict[str, Any], part: str) -> dict[str, Any]:
    prefix = part + "."
    return {k.removeprefix(prefix): v for k, v in metadata.items() if k.startswith(prefix)}


def _config_alpha(config: dict[str, Any], module: str, rank: int) -> float:
    """PEFT's rule: `alpha_pattern` (a module-name suffix or pattern), `lora_alpha`, else
    alpha = rank (ΔW = up @ down, diffusers' convention for files without alphas)."""
    patterns = config.get("alpha_pattern") or {}
    if isinstance(patterns, dict):
        names = {module, "text_model." + module}
        for pattern, value in patterns.items():
            try:
                regex = re.compile(rf"(.*\.)?({pattern})$")
            except re.error:
                continue
            if any(regex.match(n) for n in names):
                return float(value)
    if config.get("lora_alpha") is not None:
        return float(config["lora_alpha"])
    return float(rank)


def _layer_names(keys: list[str]) -> list[str]:
    """One entry per layer for unmatched keys (drop the factor/alpha suffixes)."""
    seen: dict[str, None] = {}
    for key in keys:
        stem = re.sub(r"\.(lora_(down|up|A|B)|lora\.(down|up)|alpha)(\.weight)?$", "", key)
        stem = re.sub(r"_lora\.(down|up)\.weight$", "", stem)
        seen.setdefault(stem, None)
    return list(seen)


# --- binding to a model ------------------------------------------------------------------


def bind_lora(
    lora: LoraFile, unet: torch.nn.Module, encoders: Sequence[torch.nn.Module], family: Family
) -> BoundLora:
    """Match `lora` to a UNet and its text encoders; every shape checked, nothing changed.

    Raises `ModelError` when the LoRA is for another model: layers whose shapes differ,
    layers for a text encoder the model lacks, or more than `STRAY_FRACTION` of its layers
    naming no module at all.
    """
    name = lora.path.name
    second = lora.parts.get("text_encoder_2") or {}
    if second and len(encoders) < 2:
        raise ModelError(
            f"{name} is a LoRA for SDXL (it has {len(second)} layers for a second text "
            f"encoder); it does not fit this {family} model"
        )
    unet_layers, unet_missing, mismatched = _bind(lora.parts["unet"], _modules(unet, False))
    missing = [f"unet.{m}" for m in unet_missing]
    texts = []
    for index, encoder in enumerate(encoders):
        part = PARTS[1 + index] if index < 2 else f"text_encoder_{index + 1}"
        layers, miss, bad = _bind(lora.parts.get(part) or {}, _modules(encoder, True))
        texts.append(layers)
        missing += [f"{part}.{m}" for m in miss]
        mismatched += bad
    missing += list(lora.unknown)
    total = len(lora) + len(lora.unknown)
    if mismatched:
        layer, shape = mismatched[0]
        raise ModelError(
            f"{name} does not fit this {family} model: {len(mismatched)} of its {total} layers "
            f"have other shapes (e.g. {layer.module}: the LoRA changes a {layer.describe()} "
            f"weight, the model's is {'×'.join(map(str, shape))}).{_guess_family(lora)}"
        )
    matched = len(unet_layers) + sum(len(t) for t in texts)
    if not matched or len(missing) > STRAY_FRACTION * total:
        raise ModelError(
            f"{name} does not fit this {family} model: {len(missing)} of its {total} layers "
            f"name no layer of the model (e.g. {', '.join(missing[:3])}).{_guess_family(lora)}"
        )
    return BoundLora(tuple(unet_layers), tuple(tuple(t) for t in texts), tuple(missing))


def _modules(model: torch.nn.Module, text: bool) -> dict[str, tuple[str, Any]]:
    """LoRA name → (the model's module path, weight) for every module with a weight."""
    import torch

    out = {}
    for path, module in model.named_modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, torch.Tensor) and weight.ndim in (2, 4):
            out[path.removeprefix("text_model.") if text else path] = (path, weight)
    return out


def _bind(
    layers: Mapping[str, LoraLayer], modules: dict[str, tuple[str, Any]]
) -> tuple[list[LoraLayer], list[str], list[tuple[LoraLayer, tuple[int, ...]]]]:
    bound, missing, mismatched = [], [], []
    for key, layer in layers.items():
        found = modules.get(key)
        if found is None:
            missing.append(key)
            continue
        path, weight = found
        if not layer.fits(weight.shape):
            mismatched.append((layer, tuple(weight.shape)))
            continue
        bound.append(replace(layer, module=path))
    return bound, missing, mismatched


def _guess_family(lora: LoraFile) -> str:
    if lora.parts.get("text_encoder_2"):
        return " It looks like a LoRA for SDXL (it has two text encoders)."
    for module, layer in lora.parts["unet"].items():
        if module.endswith(("attn2.to_k", "attn2.to_v")):
            family = _family_by_text_width(int(math.prod(layer.down.shape[1:])))
            if family:
                return f" It looks like a LoRA for {family} (its cross-attention is that wide)."
    return ""


def _family_by_text_width(width: int) -> str | None:
    """The family whose published UNet attends to text features this wide (768 SD1.x,
    1024 SD2.x, 2048 SDXL), for messages."""
    from nodes.models.families import FAMILIES

    for family in FAMILIES.values():
        if family.loadable and family.base_config("unet")["cross_attention_dim"] == width:
            return family.name
    return None
