"""The ComfyUI core nodes Daguerre maps, with their widget orders, and how each is built.

Every mapped class has its widget layouts (see :mod:`nodes.comfy.widgets`), its output
names in slot order, and a builder that adds the Daguerre node(s) it becomes and registers
which Daguerre input or param each ComfyUI input feeds.

=========================  ==============================================================
ComfyUI                    Daguerre
=========================  ==============================================================
CheckpointLoaderSimple     loaders.checkpoint (ckpt_name → path)
CLIPTextEncode             conditioning.text_encode
CLIPTextEncodeSDXL         conditioning.text_encode_sdxl (text_g = text_l → text)
EmptyLatentImage           latent.empty
KSampler                   sampling.scheduler (sampler_name, scheduler) + sampling.sampler
KSamplerAdvanced           the same, with start/end step, add_noise, leftover_noise
VAEDecode / VAEEncode      vae.decode / vae.encode
VAELoader                  loaders.vae (family guessed from the name)
SaveImage                  image.save (prefix; rounding: truncate, as ComfyUI)
PreviewImage               image.preview
LoadImage                  image.load
ControlNetLoader           loaders.controlnet
ControlNetApply            conditioning.controlnet_apply on one conditioning
ControlNetApplyAdvanced    conditioning.controlnet_apply (start/end percent → start/end)
LoraLoader                 loaders.lora (strength_model → strength_unet)
Canny                      image.canny (thresholds 0–1 → 0–255)
Note, MarkdownNote         utility.note
PrimitiveNode, Primitive*  primitive.int / float / string / bool / seed
Reroute                    resolved: links go straight to the source
=========================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nodes.comfy.build import Builder, ComfyNode
from nodes.comfy.widgets import Layout, WidgetMismatch, check_value, decode, layout
from nodes.diffusion.schedulers import (
    COMFY_SAMPLERS,
    COMFYUI,
    DIFFUSERS,
    SCHEDULER_NAMES,
    supports_sigmas,
)
from nodes.workflow.errors import WorkflowError

SEED_WIDGETS = ("seed", "noise_seed")

LAYOUTS: dict[str, tuple[Layout, ...]] = {
    "CheckpointLoaderSimple": (layout("ckpt_name:combo"),),
    "CLIPTextEncode": (layout("text:text"),),
    "CLIPTextEncodeSDXL": (
        layout(
            "width:int",
            "height:int",
            "crop_w:int",
            "crop_h:int",
            "target_width:int",
            "target_height:int",
            "text_g:text",
            "text_l:text",
        ),
    ),
    "EmptyLatentImage": (layout("width:int", "height:int", "batch_size:int"),),
    "KSampler": (
        layout(
            "seed:int",
            "control_after_generate:control",
            "steps:int",
            "cfg:float",
            "sampler_name:combo",
            "scheduler:combo",
            "denoise:float",
        ),
        layout(
            "seed:int",
            "steps:int",
            "cfg:float",
            "sampler_name:combo",
            "scheduler:combo",
            "denoise:float",
        ),
    ),
    "KSamplerAdvanced": (
        layout(
            "add_noise:toggle",
            "noise_seed:int",
            "control_after_generate:control",
            "steps:int",
            "cfg:float",
            "sampler_name:combo",
            "scheduler:combo",
            "start_at_step:int",
            "end_at_step:int",
            "return_with_leftover_noise:toggle",
        ),
        layout(
            "add_noise:toggle",
            "noise_seed:int",
            "steps:int",
            "cfg:float",
            "sampler_name:combo",
            "scheduler:combo",
            "start_at_step:int",
            "end_at_step:int",
            "return_with_leftover_noise:toggle",
        ),
    ),
    "VAEDecode": (layout(),),
    "VAEEncode": (layout(),),
    "VAELoader": (layout("vae_name:combo"),),
    "SaveImage": (layout("filename_prefix:text"),),
    "PreviewImage": (layout(),),
    "LoadImage": (layout("image:combo", "upload:any"), layout("image:combo")),
    "ControlNetLoader": (layout("control_net_name:combo"),),
    "ControlNetApply": (layout("strength:float"),),
    "ControlNetApplyAdvanced": (
        layout("strength:float", "start_percent:float", "end_percent:float"),
    ),
    "LoraLoader": (layout("lora_name:combo", "strength_model:float", "strength_clip:float"),),
    "Canny": (layout("low_threshold:float", "high_threshold:float"),),
    "Note": (layout("text:text"),),
    "MarkdownNote": (layout("text:text"),),
    "PrimitiveInt": (layout("value:int", "control_after_generate:control"), layout("value:int")),
    "PrimitiveFloat": (layout("value:float"),),
    "PrimitiveString": (layout("value:text"),),
    "PrimitiveStringMultiline": (layout("value:text"),),
    "PrimitiveBoolean": (layout("value:bool"),),
}

OUTPUTS: dict[str, tuple[str, ...]] = {
    "CheckpointLoaderSimple": ("MODEL", "CLIP", "VAE"),
    "CLIPTextEncode": ("CONDITIONING",),
    "CLIPTextEncodeSDXL": ("CONDITIONING",),
    "EmptyLatentImage": ("LATENT",),
    "KSampler": ("LATENT",),
    "KSamplerAdvanced": ("LATENT",),
    "VAEDecode": ("IMAGE",),
    "VAEEncode": ("LATENT",),
    "VAELoader": ("VAE",),
    "SaveImage": (),
    "PreviewImage": (),
    "LoadImage": ("IMAGE", "MASK"),
    "ControlNetLoader": ("CONTROL_NET",),
    "ControlNetApply": ("CONDITIONING",),
    "ControlNetApplyAdvanced": ("positive", "negative"),
    "LoraLoader": ("MODEL", "CLIP"),
    "Canny": ("IMAGE",),
    "PrimitiveInt": ("INT",),
    "PrimitiveFloat": ("FLOAT",),
    "PrimitiveString": ("STRING",),
    "PrimitiveStringMultiline": ("STRING",),
    "PrimitiveBoolean": ("BOOLEAN",),
}


def widget_values(b: Builder, node: ComfyNode) -> dict[str, Any]:
    """The node's widget values by name, checked against its type's layouts."""
    layouts = LAYOUTS.get(node.class_type, ())
    where = f"node {node.id} ({node.class_type})"
    if not node.api:
        try:
            return decode(node.widgets, layouts)
        except WidgetMismatch as exc:
            raise WorkflowError(f"{where}: {exc}", f"{node.path}.widgets_values") from None
    values: dict[str, Any] = {}
    for widget in layouts[0] if layouts else ():
        if widget.kind == "control" or widget.name == "upload":
            continue
        if widget.name in node.values:
            try:
                values[widget.name] = check_value(widget, node.values[widget.name])
            except WidgetMismatch as exc:
                raise WorkflowError(f"{where}: {exc}", f"{node.path}.inputs") from None
        elif widget.name not in node.links:
            raise WorkflowError(f"{where}: input {widget.name!r} is missing", f"{node.path}.inputs")
    return values


# ----------------------------------------------------------------- samplers and schedules
SAMPLER_ALIASES = {
    "ddim": "euler",  # ComfyUI's "ddim" is Euler (with random inpainting noise)
    "dpmpp_sde_gpu": "dpmpp_sde",
    "dpmpp_2m_sde_gpu": "dpmpp_2m_sde",
    "uni_pc_bh2": "uni_pc",
}


def scheduler_params(sampler_name: Any, schedule: Any) -> tuple[dict[str, Any], str | None]:
    """Scheduler node params for a ComfyUI sampler_name + scheduler, and a note if the
    picture cannot be ComfyUI's."""
    name = SAMPLER_ALIASES.get(sampler_name, sampler_name)
    if name in COMFY_SAMPLERS or not isinstance(name, str) or name not in SCHEDULER_NAMES:
        # ComfyUI's own rules; an unknown sampler or schedule stays as is and
        # validation names it on the scheduler node.
        return {"name": name, "sigmas": schedule, "convention": COMFYUI}, None
    sigmas = "default"
    if schedule in ("karras", "exponential") and supports_sigmas(name, schedule):
        sigmas = schedule
    note = (
        f"sampler {sampler_name} with {schedule} runs with diffusers' {name} scheduler and "
        f"{sigmas} sigmas: close to, but not the same picture as ComfyUI's"
    )
    return {"name": name, "sigmas": sigmas, "convention": DIFFUSERS}, note


def comfy_sampler(params: dict[str, Any]) -> tuple[str, str]:
    """(sampler_name, scheduler) for ComfyUI from Daguerre scheduler params."""
    sigmas = params.get("sigmas", "default")
    if params.get("convention") != COMFYUI and sigmas not in ("karras", "exponential"):
        sigmas = "normal"
    return params.get("name", "euler"), "normal" if sigmas == "default" else sigmas


# ----------------------------------------------------------------- builders
def _checkpoint(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    d = b.add(n, "loaders.checkpoint", {"path": _model_name(b, n, v.get("ckpt_name", ""))})
    b.input(n, "ckpt_name", d, "path")
    b.outputs(n, d, ["unet", "clip", "vae"])


def _model_name(b: Builder, n: ComfyNode, name: Any) -> Any:
    if isinstance(name, str) and "\\" in name:
        b.note(n, f"model name {name!r} read with / separators")
        return name.replace("\\", "/")
    return name


def _text(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    d = b.add(n, "conditioning.text_encode", {"text": v.get("text", "")})
    b.input(n, "clip", d, "clip")
    b.input(n, "text", d, "text")
    b.outputs(n, d, ["conditioning"])


def _text_sdxl(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    same_link = n.links.get("text_g") == n.links.get("text_l")
    if (n.links.get("text_g") or n.links.get("text_l")) and not same_link:
        b.placeholder(
            n,
            "text_g and text_l come from different sources; Daguerre's Text "
            "Encode SDXL encodes one prompt with both text encoders",
        )
        return
    if not n.links.get("text_g") and v.get("text_g") != v.get("text_l"):
        b.placeholder(
            n,
            "text_g and text_l differ; Daguerre's Text Encode SDXL encodes one "
            "prompt with both text encoders",
        )
        return
    params = {
        "text": v.get("text_g", ""),
        "width": v.get("width"),
        "height": v.get("height"),
        "crop_left": v.get("crop_w"),
        "crop_top": v.get("crop_h"),
        "target_width": v.get("target_width"),
        "target_height": v.get("target_height"),
    }
    d = b.add(
        n, "conditioning.text_encode_sdxl", {k: x for k, x in params.items() if x is not None}
    )
    b.input(n, "clip", d, "clip")
    b.input(n, "text_g", d, "text")
    b.inlined.add((n.id, "text_l"))
    for comfy, ours in (
        ("width", "width"),
        ("height", "height"),
        ("crop_w", "crop_left"),
        ("crop_h", "crop_top"),
        ("target_width", "target_width"),
        ("target_height", "target_height"),
    ):
        b.input(n, comfy, d, ours)
    b.outputs(n, d, ["conditioning"])


def _empty_latent(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    d = b.add(n, "latent.empty", v)
    for name in ("width", "height", "batch_size"):
        b.input(n, name, d, name)
    b.outputs(n, d, ["latent"])


def _ksampler(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    advanced = n.class_type == "KSamplerAdvanced"
    seed_name = "noise_seed" if advanced else "seed"
    sampler_name = b.value(n, "sampler_name", v)
    schedule = b.value(n, "scheduler", v)
    params, note = scheduler_params(sampler_name, schedule)
    if note:
        b.note(n, note)
    scheduler = b.add(n, "sampling.scheduler", params, suffix="scheduler")
    settings: dict[str, Any] = {
        "seed": v.get(seed_name),
        "steps": v.get("steps"),
        "cfg": _float(v.get("cfg")),
        "denoise": _float(v.get("denoise", 1.0)),
    }
    if advanced:
        settings.update(
            start_step=v.get("start_at_step"),
            end_step=v.get("end_at_step"),
            add_noise=_toggle(v.get("add_noise")),
            leftover_noise=_toggle(v.get("return_with_leftover_noise")),
        )
        if params["convention"] != COMFYUI:
            b.note(n, "start/end steps and noise switches need the comfyui convention")
    d = b.add(n, "sampling.sampler", {k: x for k, x in settings.items() if x is not None})
    control = v.get("control_after_generate")
    if control:
        d.extra["seed_control"] = {"seed": control}
    b.link(scheduler, "scheduler", d, "scheduler")
    for comfy, ours in (
        ("model", "unet"),
        ("positive", "positive"),
        ("negative", "negative"),
        ("latent_image", "latent"),
        (seed_name, "seed"),
        ("steps", "steps"),
        ("cfg", "cfg"),
        ("denoise", "denoise"),
        ("start_at_step", "start_step"),
        ("end_at_step", "end_step"),
    ):
        b.input(n, comfy, d, ours)
    b.input(n, "add_noise", d, "add_noise", lambda x: {"add_noise": _toggle(x)})
    b.input(
        n,
        "return_with_leftover_noise",
        d,
        "leftover_noise",
        lambda x: {"leftover_noise": _toggle(x)},
    )
    b.outputs(n, d, ["latent"])


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number")
    return value


def _toggle(value: Any) -> Any:
    if value in ("enable", "disable"):
        return value == "enable"
    raise ValueError("expected enable or disable")


def _float(value: Any) -> Any:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _vae_decode(b: Builder, n: ComfyNode) -> None:
    widget_values(b, n)
    d = b.add(n, "vae.decode", {})
    b.input(n, "samples", d, "latent")
    b.input(n, "vae", d, "vae")
    b.outputs(n, d, ["image"])


def _vae_encode(b: Builder, n: ComfyNode) -> None:
    widget_values(b, n)
    d = b.add(n, "vae.encode", {})
    b.input(n, "pixels", d, "image")
    b.input(n, "vae", d, "vae")
    b.outputs(n, d, ["latent"])


def _vae_loader(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    name = _model_name(b, n, v.get("vae_name", ""))
    family = "sdxl" if isinstance(name, str) and "xl" in name.lower() else "sd1"
    b.note(n, f"VAE family guessed as {family} from its name")
    d = b.add(n, "loaders.vae", {"path": name, "family": family})
    b.input(n, "vae_name", d, "path")
    b.outputs(n, d, ["vae"])


def _save(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    d = b.add(n, "image.save", {"prefix": v.get("filename_prefix", ""), "rounding": "truncate"})
    b.input(n, "images", d, "image")
    b.input(n, "filename_prefix", d, "prefix")
    b.passthrough[(n.id, 0)] = "images"  # newer ComfyUI: the images come out again


def _preview(b: Builder, n: ComfyNode) -> None:
    widget_values(b, n)
    d = b.add(n, "image.preview", {})
    b.input(n, "images", d, "image")
    b.passthrough[(n.id, 0)] = "images"


def _load_image(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    d = b.add(n, "image.load", {"path": v.get("image", "")})
    b.input(n, "image", d, "path")
    b.outputs(n, d, ["image", "mask"])


def _controlnet_loader(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    d = b.add(n, "loaders.controlnet", {"path": _model_name(b, n, v.get("control_net_name", ""))})
    b.input(n, "control_net_name", d, "path")
    b.outputs(n, d, ["controlnet"])


def _controlnet_apply(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    advanced = n.class_type == "ControlNetApplyAdvanced"
    params = {"strength": _float(v.get("strength")), "start": 0.0, "end": 1.0}
    if advanced:
        params.update(start=_float(v.get("start_percent")), end=_float(v.get("end_percent")))
        if (params["start"], params["end"]) != (0.0, 1.0):
            b.note(n, "ComfyUI turns the ControlNet on and off by σ, Daguerre by step fraction")
    d = b.add(
        n, "conditioning.controlnet_apply", {k: x for k, x in params.items() if x is not None}
    )
    if advanced:
        b.input(n, "positive", d, "positive")
        b.input(n, "negative", d, "negative")
        b.outputs(n, d, ["positive", "negative"])
    else:  # one conditioning in and out: it feeds both halves, only "positive" is read
        b.input(n, "conditioning", d, "positive")
        b.input(n, "conditioning", d, "negative")
        b.outputs(n, d, ["positive"])
    b.input(n, "control_net", d, "controlnet")
    b.input(n, "image", d, "image")
    b.input(n, "strength", d, "strength")
    # start and end are judged together by validation, which cannot see linked values:
    # a primitive feeding one of them is inlined.
    b.input(n, "start_percent", d, "start", lambda x: {"start": _float(_number(x))})
    b.input(n, "end_percent", d, "end", lambda x: {"end": _float(_number(x))})


def _lora(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    params = {
        "path": _model_name(b, n, v.get("lora_name", "")),
        "strength_unet": _float(v.get("strength_model")),
        "strength_clip": _float(v.get("strength_clip")),
    }
    d = b.add(n, "loaders.lora", {k: x for k, x in params.items() if x is not None})
    b.input(n, "model", d, "unet")
    b.input(n, "clip", d, "clip")
    b.input(n, "lora_name", d, "path")
    b.input(n, "strength_model", d, "strength_unet")
    b.input(n, "strength_clip", d, "strength_clip")
    b.outputs(n, d, ["unet", "clip"])


def _canny(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    low, high = (_threshold(v.get(k)) for k in ("low_threshold", "high_threshold"))
    b.note(n, "ComfyUI's Canny (kornia, thresholds 0–1) is approximated by OpenCV's (0–255)")
    d = b.add(n, "image.canny", {k: x for k, x in (("low", low), ("high", high)) if x is not None})
    b.input(n, "image", d, "image")
    b.input(n, "low_threshold", d, "low", lambda x: {"low": _threshold(x)})
    b.input(n, "high_threshold", d, "high", lambda x: {"high": _threshold(x)})
    b.outputs(n, d, ["image"])


def _threshold(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(value * 255)
    return value


def _note(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    b.add(n, "utility.note", {"text": v.get("text", "")})


_PRIMITIVE_TYPES = {
    "PrimitiveInt": "INT",
    "PrimitiveFloat": "FLOAT",
    "PrimitiveString": "STRING",
    "PrimitiveStringMultiline": "STRING",
    "PrimitiveBoolean": "BOOLEAN",
}


def _primitive(b: Builder, n: ComfyNode, constants_only: bool = False) -> None:
    """PrimitiveNode (the frontend's widget feeder) and the core Primitive* nodes."""
    if n.class_type == "PrimitiveNode":
        values = n.widgets if isinstance(n.widgets, list) else []
        value = values[0] if values else None
        control = values[1] if len(values) > 1 and values[1] in _CONTROLS else None
        kind = n.output_types[0] if n.output_types else ""
        widgets = n.output_widgets
    else:
        v = widget_values(b, n)
        value, control = v.get("value"), v.get("control_after_generate")
        kind, widgets = _PRIMITIVE_TYPES[n.class_type], []
    if constants_only:
        b.constants[n.id] = value
        return
    seed = kind == "INT" and any(w in SEED_WIDGETS for w in widgets)
    type_id, name, value = _primitive_type(kind, value, seed)
    d = b.add(n, type_id, {name: value})
    if seed and control:
        d.extra["seed_control"] = {"seed": control}
    b.outputs(n, d, [name])
    b.input(n, "value", d, name)


_CONTROLS = ("fixed", "increment", "decrement", "randomize")


def _primitive_type(kind: str, value: Any, seed: bool) -> tuple[str, str, Any]:
    if kind == "INT" or (not kind and isinstance(value, int) and not isinstance(value, bool)):
        return ("primitive.seed", "seed", value) if seed else ("primitive.int", "value", value)
    if kind == "FLOAT" or (not kind and isinstance(value, float)):
        return "primitive.float", "value", _float(value)
    if kind == "BOOLEAN" or isinstance(value, bool):
        return "primitive.bool", "value", value
    return "primitive.string", "value", value if value is not None else ""


BUILDERS: dict[str, Callable[..., None]] = {
    "CheckpointLoaderSimple": _checkpoint,
    "CLIPTextEncode": _text,
    "CLIPTextEncodeSDXL": _text_sdxl,
    "EmptyLatentImage": _empty_latent,
    "KSampler": _ksampler,
    "KSamplerAdvanced": _ksampler,
    "VAEDecode": _vae_decode,
    "VAEEncode": _vae_encode,
    "VAELoader": _vae_loader,
    "SaveImage": _save,
    "PreviewImage": _preview,
    "LoadImage": _load_image,
    "ControlNetLoader": _controlnet_loader,
    "ControlNetApply": _controlnet_apply,
    "ControlNetApplyAdvanced": _controlnet_apply,
    "LoraLoader": _lora,
    "Canny": _canny,
    "Note": _note,
    "MarkdownNote": _note,
    "PrimitiveNode": _primitive,
    **{name: _primitive for name in _PRIMITIVE_TYPES},
}
"""Reroute has no builder: :mod:`nodes.comfy.build` resolves it away."""

SUPPORTED: frozenset[str] = frozenset({*BUILDERS, "Reroute"})
"""ComfyUI node classes Daguerre imports as working nodes."""
