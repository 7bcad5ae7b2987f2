"""A Daguerre graph as ComfyUI API JSON — what ComfyUI's ``/prompt`` endpoint runs.

Each supported node becomes its ComfyUI class (a Scheduler folds into the KSampler it
feeds); primitive nodes are inlined into the inputs they feed, notes are left out, and
bypassed nodes are resolved the way ComfyUI's frontend does (their consumers read the
pass-through input's source). Placeholders export as the ComfyUI node they stand for.

Nodes imported from ComfyUI keep their ids and, where a value still means the same thing,
its original spelling (``"ddim"``, ``8`` rather than ``8.0``, Canny's ``0.4``), so an API
workflow imported and exported unchanged is equal to the original.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from nodes.comfy.direct import Direct
from nodes.comfy.direct_classes import DIRECT
from nodes.comfy.nodetypes import CLASSES, SLOTS, canny_threshold
from nodes.comfy.placeholder import PLACEHOLDER
from nodes.comfy.samplers import comfy_sampler, scheduler_params
from nodes.comfy.widgets import LARGEST, Widget, brief, is_int, short
from nodes.diffusion.schedulers import COMFYUI
from nodes.graph import Graph, Link, NodeData
from nodes.validation import pass_through_input
from nodes.workflow.errors import WorkflowError

SKIPPED = ("utility.note", "sampling.scheduler")
"""Left out: notes are not executed; a scheduler folds into its KSampler."""


LISTED = 10
"""The most problems an ExportError lists (a graph of 20,000 nodes may have as many)."""


class ExportError(WorkflowError):
    """The graph cannot be expressed in ComfyUI's API format; the message lists why."""


def export_api(graph: Graph, warnings: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """The ComfyUI API document of ``graph``; ``warnings`` collects what ComfyUI will do
    differently (e.g. a diffusers-convention scheduler)."""
    return _Exporter(graph, warnings if warnings is not None else []).run()


class _Exporter:
    def __init__(self, graph: Graph, warnings: list[str]) -> None:
        self.graph = graph
        self.warnings = warnings
        self.incoming: dict[str, dict[str, Link]] = {}
        for link in graph.links:
            self.incoming.setdefault(link.target, {})[link.input] = link
        self.ids: dict[str, str] = {}
        self.exported_ids: set[str] = set()
        """The ComfyUI ids given out (``ids``' values)."""
        self.made_links: dict[int, list[Any]] = {}
        """Every link made, by ``id()`` (held here, so no other list can take its id): a
        param whose value merely looks like a link is no link."""
        self.problems: list[str] = []

    # ------------------------------------------------------------ plan
    def run(self) -> dict[str, dict[str, Any]]:
        exported = [d for d in self.graph.nodes.values() if self._exported(d)]
        self._assign_ids(exported)
        out: dict[str, dict[str, Any]] = {}
        for data in exported:
            handler = _HANDLERS.get(data.type)
            if data.type == PLACEHOLDER:
                node = self._placeholder(data)
            elif handler is None:
                self.problems.append(f"{data.id}: {brief(data.type)} has no ComfyUI counterpart")
                continue
            else:
                node = handler(self, data)
            if node is not None:
                self._check_widgets(data, node)
                out[self.ids[data.id]] = node
        if not out and not self.problems:
            self.problems.append("none of its nodes is one ComfyUI runs (nothing to export)")
        if self.problems:
            listed = "; ".join(self.problems[:LISTED])
            more = len(self.problems) - LISTED
            if more > 0:
                listed += f"; and {more} more"
            raise ExportError("cannot export to ComfyUI: " + listed)
        return out

    def _check_widgets(self, data: NodeData, node: dict[str, Any]) -> None:
        """Every widget value written is one the class's widget takes (what the import
        reads back, and ComfyUI runs): a graph with a bad value is reported, not written."""
        known = CLASSES.get(node["class_type"])
        if known is None:
            return
        widgets: dict[str, Widget] = {}
        for candidate in known.layouts:
            for widget in candidate:
                widgets.setdefault(widget.name, widget)
        for name, value in node["inputs"].items():
            widget = widgets.get(name)
            if widget is None or widget.kind == "any":
                continue
            if id(value) in self.made_links:
                continue
            if not widget.fits(value):
                self.problems.append(
                    f"{data.id}: {short(value)} for {node['class_type']}'s {name}, which takes "
                    f"{widget.describe()}"
                )

    def _exported(self, data: NodeData) -> bool:
        if data.bypass or data.type in SKIPPED or data.type.startswith("primitive."):
            return False
        cls = self.graph.registry.get(data.type)
        return cls is None or cls.executable

    def _assign_ids(self, exported: list[NodeData]) -> None:
        """ComfyUI ids: the one a node was imported with (if it is still a ComfyUI id and
        free), its own if that is a number, else the next number after the largest."""
        used: set[str] = set()
        pending = []
        for data in exported:
            wanted = _comfy(data).get("id")
            if not _is_comfy_id(wanted):
                wanted = data.id if _NUMBER.fullmatch(data.id) else None
            if wanted is not None and wanted not in used:
                self.ids[data.id] = wanted
                used.add(wanted)
            else:
                pending.append(data)
        # ASCII digits only ("²".isdigit() is true, int("²") fails), and short enough for
        # int() (which refuses more than 4,300 digits) and for a counter.
        numbers = [int(i) for i in used if _NUMBER.fullmatch(i) and len(i) <= 18]
        counter = max(numbers, default=0)
        for data in pending:
            counter += 1
            while str(counter) in used:
                counter += 1
            self.ids[data.id] = str(counter)
            used.add(str(counter))
        self.exported_ids = used

    # ------------------------------------------------------------ values and links
    def source(self, data: NodeData, name: str) -> tuple[NodeData, str] | None:
        """The node and output feeding ``data.name``, through bypassed nodes."""
        link = self.incoming.get(data.id, {}).get(name)
        seen = set()
        while link is not None:
            source = self.graph.nodes[link.source]
            if not source.bypass:
                return source, link.output
            if source.id in seen:
                return None
            seen.add(source.id)
            cls = self.graph.registry.get(source.type)
            out = cls.output(link.output) if cls is not None else None
            feeds = self.incoming.get(source.id, {})
            name_in = pass_through_input(cls, out.type, feeds) if cls and out else None
            link = feeds.get(name_in) if name_in else None
        return None

    def link(self, data: NodeData, name: str, required: bool = True) -> list[Any] | None:
        found = self.source(data, name)
        if found is None:
            if required:
                self.problems.append(f"{data.id}.{brief(name)}: not connected")
            return None
        source, output = found
        if source.id not in self.ids:
            self.problems.append(
                f"{data.id}.{brief(name)}: fed by {source.id}, which is not exported"
            )
            return None
        slots = SLOTS.get(source.type) or _comfy(source).get("outputs")
        slot = slots.get(output) if isinstance(slots, Mapping) else None
        if not is_int(slot) or slot < 0:  # a placeholder's record says; from a file
            self.problems.append(
                f"{data.id}.{brief(name)}: output {short(output)} of {source.id} unknown"
            )
            return None
        return self._made([self.ids[source.id], slot])

    def _made(self, ref: list[Any]) -> list[Any]:
        self.made_links[id(ref)] = ref
        return ref

    def value(self, data: NodeData, name: str) -> Any:
        """A param's value: its own, a primitive's it is linked to, or a link."""
        if name not in self.incoming.get(data.id, {}):
            return data.params.get(name)
        found = self.source(data, name)
        if found is not None and found[0].type.startswith("primitive."):
            return next(iter(found[0].params.values()), None)
        return self.link(data, name)

    def node(
        self, data: NodeData, class_type: str, inputs: dict[str, Any], same: Callable | None = None
    ) -> dict[str, Any]:
        """The API node, with the original's spelling where a value is unchanged."""
        original = _original_inputs(data, class_type)
        for key, value in list(inputs.items()):
            if key in original and not isinstance(value, list) and not _is_ref(original[key]):
                before = original[key]
                if (same or _same)(key, before, value):
                    inputs[key] = before
        for key, before in original.items():
            if key in inputs:
                continue
            if _is_ref(before):
                if _valid_ref(before) and str(before[0]) in self.exported_ids:
                    inputs[key] = self._made([str(before[0]), before[1]])
            else:
                inputs[key] = before
        meta = _meta(_comfy(data).get("api"))
        meta["title"] = data.title or meta.get("title") or class_type
        return {"inputs": inputs, "class_type": class_type, "_meta": meta}

    # ------------------------------------------------------------ placeholders
    def _placeholder(self, data: NodeData) -> dict[str, Any] | None:
        comfy = _comfy(data)
        class_type = data.params.get("comfy_type") or comfy.get("class_type")
        if not isinstance(class_type, str) or not class_type:
            self.problems.append(f"{data.id}: the ComfyUI node it stands for has no class name")
            return None
        inputs: dict[str, Any] = {}
        raw_api, raw_ui = comfy.get("api"), comfy.get("ui")
        if isinstance(raw_api, dict) and isinstance(raw_api.get("inputs"), dict):
            inputs = {k: v for k, v in raw_api["inputs"].items() if not _is_ref(v)}
        elif isinstance(raw_ui, dict):
            named = raw_ui.get("widgets_values_named") or raw_ui.get("widgets_values")
            if not isinstance(named, dict):
                self.problems.append(
                    f"{data.id}: the widget names of ComfyUI node {short(class_type)} are unknown "
                    "(imported from a UI workflow), so it cannot be written as API JSON"
                )
                return None
            inputs = {
                k: v
                for k, v in named.items()
                if isinstance(k, str) and k not in ("control_after_generate",)
            }
        for name in self.incoming.get(data.id, {}):
            ref = self.link(data, name)
            if ref is not None:
                inputs[name] = ref
        meta = _meta(raw_api)
        meta["title"] = data.title or meta.get("title") or class_type
        return {"inputs": inputs, "class_type": class_type, "_meta": meta}


def _meta(raw: Any) -> dict[str, Any]:
    meta = raw.get("_meta") if isinstance(raw, dict) else None
    return dict(meta) if isinstance(meta, dict) else {}


def _comfy(data: NodeData) -> dict[str, Any]:
    comfy = data.extra.get("comfy")
    return comfy if isinstance(comfy, dict) else {}


def _original_inputs(data: NodeData, class_type: str) -> dict[str, Any]:
    comfy = _comfy(data)
    raw = comfy.get("api")
    if comfy.get("class_type") != class_type or not isinstance(raw, dict):
        return {}
    inputs = raw.get("inputs")
    return dict(inputs) if isinstance(inputs, dict) else {}


def _is_ref(value: Any) -> bool:
    """Shaped as a link in API JSON, ``[source id, output slot]`` (never a value)."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)


def _valid_ref(value: list[Any]) -> bool:
    """A link that can be written back: a text or number source and a slot."""
    source, slot = value
    return (isinstance(source, str) or is_int(source)) and is_int(slot) and slot >= 0


_NUMBER = re.compile(r"[0-9]+")
"""A number id, in ASCII digits (matched in full)."""


def _is_comfy_id(value: Any) -> TypeGuard[str]:
    """An id the import reads back (``nodes.comfy.api``: 1–64 characters)."""
    return isinstance(value, str) and 0 < len(value) <= 64


def _same(key: str, before: Any, value: Any) -> bool:
    if isinstance(before, bool) or isinstance(value, bool):
        return before is value
    if isinstance(before, int | float) and isinstance(value, int | float):
        return before == value
    return bool(before == value)


# ----------------------------------------------------------------- per node type
def _checkpoint(e: _Exporter, d: NodeData) -> dict[str, Any]:
    if d.params.get("prediction", "auto") != "auto":
        e.warnings.append(f"{d.id}: ComfyUI detects the prediction type itself")
    return e.node(d, "CheckpointLoaderSimple", {"ckpt_name": e.value(d, "path")})


def _text(e: _Exporter, d: NodeData) -> dict[str, Any]:
    _chunks_warning(e, d)
    return e.node(d, "CLIPTextEncode", {"text": e.value(d, "text"), "clip": e.link(d, "clip")})


def _chunks_warning(e: _Exporter, d: NodeData) -> None:
    """A prompt of the diffusers convention that may be over 75 tokens (each token is at
    least one character that is not a space) is cut into other chunks by ComfyUI."""
    text = d.params.get("text")
    long = not isinstance(text, str) or len("".join(text.split())) > 75
    if d.params.get("convention", "diffusers") != COMFYUI and long:
        e.warnings.append(
            f"{d.id}: ComfyUI cuts prompts over 75 tokens into other chunks (picture "
            "differs; set convention to comfyui)"
        )


def _text_sdxl(e: _Exporter, d: NodeData) -> dict[str, Any]:
    _chunks_warning(e, d)
    text = e.value(d, "text")
    inputs = {
        "width": e.value(d, "width"),
        "height": e.value(d, "height"),
        "crop_w": e.value(d, "crop_left"),
        "crop_h": e.value(d, "crop_top"),
        "target_width": e.value(d, "target_width"),
        "target_height": e.value(d, "target_height"),
        "text_g": text,
        "text_l": text,
        "clip": e.link(d, "clip"),
    }
    return e.node(d, "CLIPTextEncodeSDXL", inputs)


def _empty_latent(e: _Exporter, d: NodeData) -> dict[str, Any]:
    names = ("width", "height", "batch_size")
    return e.node(d, "EmptyLatentImage", {n: e.value(d, n) for n in names})


def _sampler(e: _Exporter, d: NodeData) -> dict[str, Any] | None:
    found = e.source(d, "scheduler")
    if found is None or found[0].type != "sampling.scheduler":
        e.problems.append(f"{d.id}.scheduler: needs a Scheduler node")
        return None
    sched = found[0]
    params = {n: e.value(sched, n) for n in ("name", "sigmas", "convention")}
    if any(isinstance(v, list) for v in params.values()):
        e.problems.append(f"{sched.id}: its params must be values, not links, for ComfyUI")
        return None
    if params.get("convention") != COMFYUI:
        e.warnings.append(f"{d.id}: ComfyUI samples with its own conventions (picture differs)")
    sampler_name, schedule = comfy_sampler(params)
    original = _original_inputs(d, _comfy(d).get("class_type", ""))
    before = (original.get("sampler_name"), original.get("scheduler"))
    # The file's own spelling ("ddim") if it means the same; never a link or a non-name.
    if all(isinstance(b, str) for b in before) and scheduler_params(*before)[0] == params:
        sampler_name, schedule = before
    settings = {n: e.value(d, n) for n in ("seed", "steps", "cfg", "denoise")}
    advanced = _comfy(d).get("class_type") == "KSamplerAdvanced" or any(
        e.value(d, n) != default
        for n, default in (("start_step", 0), ("add_noise", True), ("leftover_noise", False))
    )
    end = e.value(d, "end_step")
    advanced = advanced or (isinstance(end, int) and end < 10000)
    links = {
        "model": e.link(d, "unet"),
        "positive": e.link(d, "positive"),
        "negative": e.link(d, "negative"),
        "latent_image": e.link(d, "latent"),
    }
    if not advanced:
        inputs = {**settings, "sampler_name": sampler_name, "scheduler": schedule, **links}
        return e.node(d, "KSampler", inputs)
    if settings["denoise"] not in (1, 1.0):
        e.warnings.append(f"{d.id}: KSamplerAdvanced has no denoise; use start_step instead")
    inputs = {
        "add_noise": "enable" if e.value(d, "add_noise") else "disable",
        "noise_seed": settings["seed"],
        "steps": settings["steps"],
        "cfg": settings["cfg"],
        "sampler_name": sampler_name,
        "scheduler": schedule,
        "start_at_step": e.value(d, "start_step"),
        "end_at_step": end,
        "return_with_leftover_noise": "enable" if e.value(d, "leftover_noise") else "disable",
        **links,
    }
    return e.node(d, "KSamplerAdvanced", inputs)


def _save(e: _Exporter, d: NodeData) -> dict[str, Any]:
    if d.params.get("rounding") != "truncate":
        e.warnings.append(f"{d.id}: ComfyUI's Save Image truncates to 8 bits (no rounding)")
    inputs = {"filename_prefix": e.value(d, "prefix"), "images": e.link(d, "image")}
    return e.node(d, "SaveImage", inputs)


def _simple(class_type: str, values: dict[str, str], links: dict[str, str]) -> Callable:
    def handler(e: _Exporter, d: NodeData) -> dict[str, Any]:
        inputs = {comfy: e.value(d, ours) for comfy, ours in values.items()}
        inputs.update({comfy: e.link(d, ours) for comfy, ours in links.items()})
        return e.node(d, class_type, inputs)

    return handler


def _load_image(e: _Exporter, d: NodeData) -> dict[str, Any]:
    inputs = {"image": e.value(d, "path")}
    _upload(d, "LoadImage", inputs)
    return e.node(d, "LoadImage", inputs)


def _upload(d: NodeData, class_type: str, inputs: dict[str, Any]) -> None:
    """The frontend's upload button, sent as is (unless the original API file had none)."""
    original = _original_inputs(d, class_type)
    if not original or "upload" in original:
        inputs["upload"] = "image"


def _direct(spec: Direct) -> Callable[[_Exporter, NodeData], dict[str, Any]]:
    """The export of a class that is one Daguerre node (:mod:`.direct`)."""

    def handler(e: _Exporter, d: NodeData) -> dict[str, Any]:
        inputs = {name: e.value(d, ours) for name, _, ours in spec.params()}
        if spec.upload:
            _upload(d, spec.name, inputs)
        unconnected = []
        for name, ours in spec.links:
            ref = e.link(d, ours, required=name not in spec.optional)
            if ref is not None:
                inputs[name] = ref
            elif name in spec.optional:
                unconnected.append(name)
        node = e.node(d, spec.name, inputs)
        for name in unconnected:  # not the original's link: it was disconnected since
            node["inputs"].pop(name, None)
        return node

    return handler


def _controlnet_apply(e: _Exporter, d: NodeData) -> dict[str, Any]:
    positive, negative = e.source(d, "positive"), e.source(d, "negative")
    same_source = (
        positive is not None
        and negative is not None
        and ((positive[0].id, positive[1]) == (negative[0].id, negative[1]))
    )
    negative_read = any(link.output == "negative" for link in e.graph.links_from(d.id))
    window = (e.value(d, "start"), e.value(d, "end")) == (0.0, 1.0)
    one = same_source and window and not negative_read
    if one and _comfy(d).get("class_type") == "ControlNetApply":
        inputs = {
            "strength": e.value(d, "strength"),
            "conditioning": e.link(d, "positive"),
            "control_net": e.link(d, "controlnet"),
            "image": e.link(d, "image"),
        }
        return e.node(d, "ControlNetApply", inputs)
    inputs = {
        "strength": e.value(d, "strength"),
        "start_percent": e.value(d, "start"),
        "end_percent": e.value(d, "end"),
        "positive": e.link(d, "positive"),
        "negative": e.link(d, "negative"),
        "control_net": e.link(d, "controlnet"),
        "image": e.link(d, "image"),
    }
    return e.node(d, "ControlNetApplyAdvanced", inputs)


def _canny(e: _Exporter, d: NodeData) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    for name, ours in (("low_threshold", "low"), ("high_threshold", "high")):
        value = e.value(d, ours)
        inputs[name] = value
        if is_int(value):
            if not -LARGEST <= value <= LARGEST:  # int / 255 would overflow
                e.problems.append(f"{d.id}.{ours}: {short(value)} is out of range")
                continue
            inputs[name] = value = round(value / 255, 2)
        try:
            canny_threshold(value)  # what the import will make of it
        except ValueError:
            e.problems.append(f"{d.id}.{ours}: {short(value)} is out of range")
    inputs["image"] = e.link(d, "image")

    def same(key: str, before: Any, value: Any) -> bool:
        ours = d.params.get("low" if key == "low_threshold" else "high")
        try:
            return canny_threshold(before) == ours
        except ValueError:  # the original is out of range: ours differs, whatever it is
            return False

    return e.node(d, "Canny", inputs, same)


_HANDLERS: dict[str, Callable[[_Exporter, NodeData], dict[str, Any] | None]] = {
    "loaders.checkpoint": _checkpoint,
    "conditioning.text_encode": _text,
    "conditioning.text_encode_sdxl": _text_sdxl,
    "latent.empty": _empty_latent,
    "sampling.sampler": _sampler,
    "vae.decode": _simple("VAEDecode", {}, {"samples": "latent", "vae": "vae"}),
    "vae.encode": _simple("VAEEncode", {}, {"pixels": "image", "vae": "vae"}),
    "loaders.vae": _simple("VAELoader", {"vae_name": "path"}, {}),
    "image.save": _save,
    "image.preview": _simple("PreviewImage", {}, {"images": "image"}),
    "image.load": _load_image,
    "loaders.controlnet": _simple("ControlNetLoader", {"control_net_name": "path"}, {}),
    "conditioning.controlnet_apply": _controlnet_apply,
    "loaders.lora": _simple(
        "LoraLoader",
        {"lora_name": "path", "strength_model": "strength_unet", "strength_clip": "strength_clip"},
        {"model": "unet", "clip": "clip"},
    ),
    "image.canny": _canny,
    **{spec.becomes: _direct(spec) for spec in DIRECT},
}
