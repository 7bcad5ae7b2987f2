"""The ComfyUI core nodes Daguerre maps: one :class:`~nodes.comfy.build.ComfyClass` record
per ComfyUI class (:data:`CLASSES`), with its widget orders, its outputs and the builder
that adds the Daguerre node(s) it becomes and registers which Daguerre input or param each
ComfyUI input feeds. The export reads the same records for the output slots.

=========================  ==============================================================
ComfyUI                    Daguerre
=========================  ==============================================================
CheckpointLoaderSimple     loaders.checkpoint (ckpt_name → path)
CLIPTextEncode             conditioning.text_encode (convention comfyui: ComfyUI's chunks)
CLIPTextEncodeSDXL         conditioning.text_encode_sdxl (text_g = text_l → text; comfyui)
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

The inpainting and mask classes (SetLatentNoiseMask, VAEEncodeForInpaint,
InpaintModelConditioning, ImagePadForOutpaint, LoadImageMask, ImageToMask, GrowMask...)
are declared in :mod:`nodes.comfy.inpaint_types`; CLIPSetLastLayer in
:mod:`nodes.comfy.text_types`; they and the other
:class:`~nodes.comfy.direct.Direct` modules (resize, upscale) are gathered in
:mod:`nodes.comfy.direct_classes`. LoadImage's MASK output is ``image.load``'s ``mask``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes.comfy.build import Builder, ComfyClass, ComfyNode, node_values
from nodes.comfy.direct_classes import RECORDS as DIRECT_RECORDS
from nodes.comfy.samplers import legacy_sampler_name, scheduler_params
from nodes.comfy.widgets import Layout, as_float, is_number, layout, legacy_seed_mode, short
from nodes.diffusion.schedulers import COMFYUI
from nodes.graph import NodeData
from nodes.seed_control import SEED_CONTROL_KEY

SEED_WIDGETS = ("seed", "noise_seed")
COMFY_SAVE_PREFIX = "ComfyUI"
"""ComfyUI's default filename_prefix of Save Image."""


def widget_values(b: Builder, node: ComfyNode) -> dict[str, Any]:
    """The node's widget values by name, checked against its class's layouts."""
    known = CLASSES.get(node.class_type)
    return node_values(node, known.layouts if known is not None else ())


def _add(b: Builder, n: ComfyNode, params: dict[str, Any]) -> NodeData:
    """The main Daguerre node of ``n``, of the type its record names."""
    return b.add(n, CLASSES[n.class_type].becomes, params)


def _outputs(b: Builder, n: ComfyNode, d: NodeData) -> None:
    """ComfyUI's output slots of ``n`` are the outputs of ``d`` its record names."""
    b.outputs(n, d, CLASSES[n.class_type].slots)


# ----------------------------------------------------------------- builders
def _checkpoint(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    d = _add(b, n, {"path": _model_name(b, n, v.get("ckpt_name", ""))})
    b.input(n, "ckpt_name", d, "path")
    _outputs(b, n, d)


def _model_name(b: Builder, n: ComfyNode, name: Any) -> Any:
    if isinstance(name, str) and "\\" in name:
        b.note(n, f"model name {short(name)} read with / separators")
        return name.replace("\\", "/")
    return name


def _text(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    d = _add(b, n, {"text": v.get("text", ""), "convention": COMFYUI})  # ComfyUI's chunks
    b.input(n, "clip", d, "clip")
    b.input(n, "text", d, "text")
    _outputs(b, n, d)


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
        "convention": COMFYUI,
    }
    d = _add(b, n, {k: x for k, x in params.items() if x is not None})
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
    _outputs(b, n, d)


def _empty_latent(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    d = _add(b, n, v)
    for name in ("width", "height", "batch_size"):
        b.input(n, name, d, name)
    _outputs(b, n, d)


def _ksampler(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    advanced = n.class_type == "KSamplerAdvanced"
    seed_name = "noise_seed" if advanced else "seed"
    sampler_name, cfg_factor, legacy = legacy_sampler_name(b.value(n, "sampler_name", v))
    if legacy:
        b.note(n, legacy)
    schedule = b.value(n, "scheduler", v)
    params, note = scheduler_params(sampler_name, schedule)
    if note:
        b.note(n, note)
    scheduler = b.add(n, "sampling.scheduler", params, suffix="scheduler")
    settings: dict[str, Any] = {
        "seed": v.get(seed_name),
        "steps": v.get("steps"),
        "cfg": _float(v["cfg"] * cfg_factor if is_number(v.get("cfg")) else v.get("cfg")),
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
    d = _add(b, n, {k: x for k, x in settings.items() if x is not None})
    control = v.get("control_after_generate")
    if control:
        d.extra[SEED_CONTROL_KEY] = {"seed": control}
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
    _outputs(b, n, d)


def _number(value: Any) -> Any:
    if not is_number(value):
        raise ValueError("expected a number")
    return value


def _toggle(value: Any) -> Any:
    """ComfyUI's enable/disable switch as a bool; None when absent (an API file whose
    switch is linked: the link is inlined from a primitive, or reported)."""
    if value is None:
        return None
    if isinstance(value, str) and value in ("enable", "disable"):
        return value == "enable"
    raise ValueError("expected enable or disable")


_float = as_float


def _vae_decode(b: Builder, n: ComfyNode) -> None:
    widget_values(b, n)
    d = _add(b, n, {})
    b.input(n, "samples", d, "latent")
    b.input(n, "vae", d, "vae")
    _outputs(b, n, d)


def _vae_encode(b: Builder, n: ComfyNode) -> None:
    widget_values(b, n)
    d = _add(b, n, {})
    b.input(n, "pixels", d, "image")
    b.input(n, "vae", d, "vae")
    _outputs(b, n, d)


def _vae_loader(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    name = _model_name(b, n, v.get("vae_name", ""))
    family = "sdxl" if isinstance(name, str) and "xl" in name.lower() else "sd1"
    b.note(n, f"VAE family guessed as {family} from its name")
    d = _add(b, n, {"path": name, "family": family})
    b.input(n, "vae_name", d, "path")
    _outputs(b, n, d)


def _save(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    prefix = v.get("filename_prefix", COMFY_SAVE_PREFIX)
    d = _add(b, n, {"prefix": prefix, "rounding": "truncate"})
    b.input(n, "images", d, "image")
    b.input(n, "filename_prefix", d, "prefix")
    b.passthrough[(n.id, 0)] = "images"  # newer ComfyUI: the images come out again


def _preview(b: Builder, n: ComfyNode) -> None:
    widget_values(b, n)
    d = _add(b, n, {})
    b.input(n, "images", d, "image")
    b.passthrough[(n.id, 0)] = "images"


def _load_image(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    d = _add(b, n, {"path": v.get("image", "")})
    b.input(n, "image", d, "path")
    _outputs(b, n, d)


def _controlnet_loader(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    d = _add(b, n, {"path": _model_name(b, n, v.get("control_net_name", ""))})
    b.input(n, "control_net_name", d, "path")
    _outputs(b, n, d)


def _controlnet_apply(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    advanced = n.class_type == "ControlNetApplyAdvanced"
    params = {"strength": _float(v.get("strength")), "start": 0.0, "end": 1.0}
    if advanced:
        params.update(start=_float(v.get("start_percent")), end=_float(v.get("end_percent")))
        if (params["start"], params["end"]) != (0.0, 1.0):
            b.note(n, "ComfyUI turns the ControlNet on and off by σ, Daguerre by step fraction")
    d = _add(b, n, {k: x for k, x in params.items() if x is not None})
    if advanced:
        b.input(n, "positive", d, "positive")
        b.input(n, "negative", d, "negative")
    else:  # one conditioning in and out: it feeds both halves, only "positive" is read
        b.input(n, "conditioning", d, "positive")
        b.input(n, "conditioning", d, "negative")
    _outputs(b, n, d)
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
    d = _add(b, n, {k: x for k, x in params.items() if x is not None})
    b.input(n, "model", d, "unet")
    b.input(n, "clip", d, "clip")
    b.input(n, "lora_name", d, "path")
    b.input(n, "strength_model", d, "strength_unet")
    b.input(n, "strength_clip", d, "strength_clip")
    _outputs(b, n, d)


def _canny(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    thresholds = []
    for name in ("low_threshold", "high_threshold"):
        try:
            thresholds.append(canny_threshold(v.get(name)))
        except ValueError as exc:
            raise n.refuse(name, v.get(name), str(exc)) from None
    low, high = thresholds
    b.note(n, "ComfyUI's Canny (kornia, thresholds 0–1) is approximated by OpenCV's (0–255)")
    d = _add(b, n, {k: x for k, x in (("low", low), ("high", high)) if x is not None})
    b.input(n, "image", d, "image")
    b.input(n, "low_threshold", d, "low", lambda x: {"low": canny_threshold(x)})
    b.input(n, "high_threshold", d, "high", lambda x: {"high": canny_threshold(x)})
    _outputs(b, n, d)


def canny_threshold(value: Any) -> Any:
    """ComfyUI's Canny threshold (0–1) as OpenCV's (0–255); the export compares with it.

    Anything that is no number is passed on for validation to name; a number whose
    0–255 value no file can hold (1e308 × 255 is infinite) is a ValueError.
    """
    if not is_number(value):
        return value
    scaled = value * 255
    if not is_number(scaled):
        raise ValueError("out of range (ComfyUI's thresholds are 0–1)")
    return round(scaled)


def _note(b: Builder, n: ComfyNode) -> None:
    v = widget_values(b, n)
    _add(b, n, {"text": v.get("text", "")})


def _primitive_value(b: Builder, n: ComfyNode) -> tuple[Any, Any, str, list[str]]:
    """A primitive's value, its seed control, its ComfyUI type and the widgets it feeds."""
    if n.class_type == "PrimitiveNode":  # the frontend's widget feeder
        values = n.widgets if isinstance(n.widgets, list) else []
        value = values[0] if values else None
        control = legacy_seed_mode(values[1]) if len(values) > 1 else None
        kind = n.output_types[0] if n.output_types else ""
        return value, control, kind, n.output_widgets
    v = widget_values(b, n)
    return v.get("value"), v.get("control_after_generate"), CLASSES[n.class_type].value_type, []


def _primitive_constant(b: Builder, n: ComfyNode) -> Any:
    return _primitive_value(b, n)[0]


def _primitive(b: Builder, n: ComfyNode) -> None:
    """PrimitiveNode (the frontend's widget feeder) and the core Primitive* nodes."""
    value, control, kind, widgets = _primitive_value(b, n)
    seed = kind == "INT" and any(w in SEED_WIDGETS for w in widgets)
    type_id, name, value = _primitive_type(kind, value, seed)
    d = b.add(n, type_id, {name: value})
    if seed and control:
        d.extra[SEED_CONTROL_KEY] = {"seed": control}
    b.outputs(n, d, [name])
    b.input(n, "value", d, name)


def _primitive_type(kind: str, value: Any, seed: bool) -> tuple[str, str, Any]:
    if kind == "INT" or (not kind and isinstance(value, int) and not isinstance(value, bool)):
        return ("primitive.seed", "seed", value) if seed else ("primitive.int", "value", value)
    if kind == "FLOAT" or (not kind and isinstance(value, float)):
        return "primitive.float", "value", _float(value)
    if kind == "BOOLEAN" or isinstance(value, bool):
        return "primitive.bool", "value", value
    return "primitive.string", "value", value if value is not None else ""


# ----------------------------------------------------------------- the records
def _primitive_class(name: str, value_type: str, *layouts: Layout) -> ComfyClass:
    """A core Primitive* class: one output of its value's type, read before building."""
    return ComfyClass(
        name,
        _primitive,
        layouts=layouts,
        outputs=(value_type,),
        value_type=value_type,
        constant=_primitive_constant,
    )


_KSAMPLER = ("steps:int", "cfg:float", "sampler_name:combo", "scheduler:combo")
_CONTROL = "control_after_generate:control"
_RECORDS = (
    ComfyClass(
        "CheckpointLoaderSimple",
        _checkpoint,
        "loaders.checkpoint",
        layouts=(layout("ckpt_name:combo"),),
        outputs=("MODEL", "CLIP", "VAE"),
        slots=("unet", "clip", "vae"),
    ),
    ComfyClass(
        "CLIPTextEncode",
        _text,
        "conditioning.text_encode",
        layouts=(layout("text:text"),),
        outputs=("CONDITIONING",),
        slots=("conditioning",),
    ),
    ComfyClass(
        "CLIPTextEncodeSDXL",
        _text_sdxl,
        "conditioning.text_encode_sdxl",
        layouts=(
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
        outputs=("CONDITIONING",),
        slots=("conditioning",),
    ),
    ComfyClass(
        "EmptyLatentImage",
        _empty_latent,
        "latent.empty",
        layouts=(layout("width:int", "height:int", "batch_size:int"),),
        outputs=("LATENT",),
        slots=("latent",),
    ),
    ComfyClass(
        "KSampler",
        _ksampler,
        "sampling.sampler",
        layouts=(
            layout("seed:int", _CONTROL, *_KSAMPLER, "denoise:float"),
            layout("seed:int", *_KSAMPLER, "denoise:float"),
        ),
        outputs=("LATENT",),
        slots=("latent",),
    ),
    ComfyClass(
        "KSamplerAdvanced",
        _ksampler,
        "sampling.sampler",
        layouts=(
            layout(
                "add_noise:toggle",
                "noise_seed:int",
                _CONTROL,
                *_KSAMPLER,
                "start_at_step:int",
                "end_at_step:int",
                "return_with_leftover_noise:toggle",
            ),
            layout(
                "add_noise:toggle",
                "noise_seed:int",
                *_KSAMPLER,
                "start_at_step:int",
                "end_at_step:int",
                "return_with_leftover_noise:toggle",
            ),
        ),
        outputs=("LATENT",),
        slots=("latent",),
    ),
    ComfyClass(
        "VAEDecode",
        _vae_decode,
        "vae.decode",
        layouts=(layout(),),
        outputs=("IMAGE",),
        slots=("image",),
    ),
    ComfyClass(
        "VAEEncode",
        _vae_encode,
        "vae.encode",
        layouts=(layout(),),
        outputs=("LATENT",),
        slots=("latent",),
    ),
    ComfyClass(
        "VAELoader",
        _vae_loader,
        "loaders.vae",
        layouts=(layout("vae_name:combo"),),
        outputs=("VAE",),
        slots=("vae",),
    ),
    # Save and Preview declare no outputs: newer ComfyUI passes their images through.
    # ComfyUI's stock default.json stores no widget values for Save Image: the default prefix.
    ComfyClass(
        "SaveImage", _save, "image.save", layouts=(layout("filename_prefix:text"), layout())
    ),
    ComfyClass("PreviewImage", _preview, "image.preview", layouts=(layout(),)),
    ComfyClass(
        "LoadImage",
        _load_image,
        "image.load",
        layouts=(layout("image:combo", "upload:any"), layout("image:combo")),
        outputs=("IMAGE", "MASK"),
        slots=("image", "mask"),
    ),
    ComfyClass(
        "ControlNetLoader",
        _controlnet_loader,
        "loaders.controlnet",
        layouts=(layout("control_net_name:combo"),),
        outputs=("CONTROL_NET",),
        slots=("controlnet",),
    ),
    ComfyClass(
        "ControlNetApply",
        _controlnet_apply,
        "conditioning.controlnet_apply",
        layouts=(layout("strength:float"),),
        outputs=("CONDITIONING",),
        slots=("positive",),
    ),
    ComfyClass(
        "ControlNetApplyAdvanced",
        _controlnet_apply,
        "conditioning.controlnet_apply",
        layouts=(layout("strength:float", "start_percent:float", "end_percent:float"),),
        outputs=("positive", "negative"),
        slots=("positive", "negative"),
    ),
    ComfyClass(
        "LoraLoader",
        _lora,
        "loaders.lora",
        layouts=(layout("lora_name:combo", "strength_model:float", "strength_clip:float"),),
        outputs=("MODEL", "CLIP"),
        slots=("unet", "clip"),
    ),
    ComfyClass(
        "Canny",
        _canny,
        "image.canny",
        layouts=(layout("low_threshold:float", "high_threshold:float"),),
        outputs=("IMAGE",),
        slots=("image",),
    ),
    ComfyClass("Note", _note, "utility.note", layouts=(layout("text:text"),)),
    ComfyClass("MarkdownNote", _note, "utility.note", layouts=(layout("text:text"),)),
    # The frontend's PrimitiveNode: its widget list is read raw, its type from its output.
    ComfyClass("PrimitiveNode", _primitive, constant=_primitive_constant),
    _primitive_class("PrimitiveInt", "INT", layout("value:int", _CONTROL), layout("value:int")),
    _primitive_class("PrimitiveFloat", "FLOAT", layout("value:float")),
    _primitive_class("PrimitiveString", "STRING", layout("value:text")),
    _primitive_class("PrimitiveStringMultiline", "STRING", layout("value:text")),
    _primitive_class("PrimitiveBoolean", "BOOLEAN", layout("value:bool")),
    ComfyClass("Reroute", None),  # resolved away by nodes.comfy.build
)

CLASSES: Mapping[str, ComfyClass] = {record.name: record for record in (*_RECORDS, *DIRECT_RECORDS)}
"""The mapped ComfyUI classes by name."""

SUPPORTED: frozenset[str] = frozenset(CLASSES)
"""ComfyUI node classes Daguerre imports as working nodes."""


def _output_slots(classes: Mapping[str, ComfyClass]) -> dict[str, dict[str, int]]:
    slots: dict[str, dict[str, int]] = {}
    for known in classes.values():
        if not known.slots:
            continue
        merged = slots.setdefault(known.becomes, {})
        for index, name in enumerate(known.slots):
            if merged.setdefault(name, index) != index:
                raise ValueError(f"{known.name}: {known.becomes}.{name} is slot {merged[name]}")
    return slots


SLOTS: Mapping[str, Mapping[str, int]] = _output_slots(CLASSES)
"""Daguerre type → {output: ComfyUI output slot}, for the export (ComfyUI classes that become
the same Daguerre type agree on the slots they share, e.g. both ControlNet applies)."""
