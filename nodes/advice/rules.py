"""Advice on the common mistakes: rules that read values and the model in use.

Unlike :mod:`nodes.advice`, whose rule reads only the graph's structure, these read param
values and what the graph says about its model and sampler: from each Sampler node they
follow its links upstream (through reroutes, bypassed nodes and nodes that pass a value of
the same name on, such as Load LoRA and Apply ControlNet) to the checkpoint, the LoRAs
on the way, the scheduler, the latent and the prompts. The checkpoint's family and
prediction type come from its header (:mod:`nodes.advice.model_facts`, cached); a checkpoint
that is not chosen or cannot be read is an *unknown family*, and the rules that need the
family (sizes) stay quiet. A *few-step setup* (LCM, Turbo, Lightning... by checkpoint or
LoRA file name, the ``lcm`` sampler or ``trailing`` timestep spacing) gets its own step
and cfg ranges.

The numbers and words are in :mod:`nodes.advice.table`. Each rule judges only valid,
typed values (a linked or invalid value is validation's business) of nodes a run needs.
Advice never blocks a run and never changes a value: its ``fix`` is what a UI may offer.
A user silences a rule per node (its id in ``NodeData.extra["silenced"]``, saved with the
workflow) or everywhere (the ``silenced_advice`` setting); an id silences itself and the
ids under it ("cfg" silences "cfg.high").
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodes.advice import Advice
from nodes.advice.model_facts import (
    UNKNOWN,
    DeviceMemory,
    ModelFacts,
    checkpoint_facts,
    device_memory,
    few_step_name,
)
from nodes.advice.prompts import leading_filler, prompt_tokens
from nodes.advice.table import (
    ACTIVATION_BYTES_PER_PIXEL,
    SIDE_MULTIPLES,
    SIZE_RATIO_HIGH,
    SIZE_RATIO_LOW,
    rule,
)
from nodes.graph import Graph, NodeData
from nodes.paths import FileResolver
from nodes.ports import PortType

log = logging.getLogger("daguerre.advice")

__all__ = ["SILENCED_KEY", "AdviceContext", "is_silenced", "rule_advice", "silenced_on"]

SILENCED_KEY = "silenced"
"""``NodeData.extra`` key: the advice rule ids silenced on that node (saved with the file)."""

SAMPLER = "sampling.sampler"
SCHEDULER = "sampling.scheduler"
CHECKPOINT = "loaders.checkpoint"
LORA = "loaders.lora"
EMPTY_LATENT = "latent.empty"
TEXT_NODES = (
    "conditioning.text_encode",
    "conditioning.text_encode_sdxl",
    "conditioning.text_encode_sdxl_refiner",
)
TEXT_SDXL = "conditioning.text_encode_sdxl"
PLAIN_TEXT = "conditioning.text_encode"
PLAIN_TEXT_SIZE = 1024
"""The SDXL size Text Encode conditions on (see ``nodes.library.conditioning.TextEncode``)."""


@dataclass(frozen=True)
class AdviceContext:
    """What the rules may know beyond the graph."""

    device: str = "auto"
    """The device setting a run would use (for the memory estimate)."""
    precision: str = "auto"
    silenced: frozenset[str] = frozenset()
    """Rule ids silenced everywhere (the ``silenced_advice`` setting)."""
    exact_tokens: bool = False
    """Build the CLIP tokenizer for long prompts (the CLI; the app builds it in its warm-up
    and uses the lower bound until then)."""
    memory: Callable[[str], DeviceMemory | None] = field(default=device_memory)
    """How to read the device's memory (tests pass their own)."""


def silenced_on(data: NodeData) -> list[str]:
    """The rule ids silenced on this node (from its ``extra``; malformed entries dropped)."""
    stored = data.extra.get(SILENCED_KEY)
    if not isinstance(stored, list):
        return []
    return [item for item in stored if isinstance(item, str)]


def is_silenced(rule_id: str, silenced: Iterable[str]) -> bool:
    return any(rule_id == s or rule_id.startswith(s + ".") for s in silenced)


def apply_silencing(graph: Graph, advice: list[Advice], context: AdviceContext) -> list[Advice]:
    """``advice`` without what the user silenced on its node or everywhere."""
    kept = []
    for item in advice:
        if item.rule and is_silenced(item.rule, context.silenced):
            continue
        data = graph.nodes.get(item.node_id) if item.node_id else None
        if data is not None and item.rule and is_silenced(item.rule, silenced_on(data)):
            continue
        kept.append(item)
    return kept


def rule_advice(
    graph: Graph,
    resolve: FileResolver,
    context: AdviceContext,
    skip: set[str] | None = None,
) -> list[Advice]:
    """Every rule's advice for the samplers a run needs (not ``skip``, not bypassed), each
    node's advice once, in the order the samplers appear."""
    found: dict[tuple[str | None, str | None, str], Advice] = {}
    for data in graph.nodes.values():
        if data.type != SAMPLER or data.bypass or (skip and data.id in skip):
            continue
        try:
            judged = _SamplerRules(graph, data, resolve, context).advice()
        except Exception:  # a bug in a rule must not stop validation: log it, advise less
            log.warning("advice rules failed on %s", data.id, exc_info=True)
            continue
        for item in judged:
            found.setdefault((item.node_id, item.field, item.rule), item)
    return list(found.values())


# --- reading the graph -------------------------------------------------------------------


def _value(graph: Graph, data: NodeData, name: str) -> Any:
    """A param's typed value if it is valid and not linked, else None."""
    cls = graph.registry.get(data.type)
    param = cls.param(name) if cls is not None else None
    if param is None or graph.link_into(data.id, name) is not None or name not in data.params:
        return None
    value = data.params[name]
    return value if param.check(value) is None else None


def _source(
    graph: Graph,
    node_id: str,
    port: str,
    passed: list[NodeData] | None = None,
    *,
    same_name: bool = True,
) -> NodeData | None:
    """The node that makes the value reaching ``node_id.port``: links are followed up
    through reroutes, bypassed nodes and (with ``same_name``) nodes with an input named
    like the output they send (Load LoRA's unet, Apply ControlNet's positive), which go
    into ``passed``. Latents are followed without ``same_name``: Upscale Latent has a
    latent in and out, but its size is not its input's."""
    seen: set[str] = set()
    link = graph.link_into(node_id, port)
    while link is not None and link.source not in seen:
        seen.add(link.source)
        data = graph.nodes.get(link.source)
        cls = graph.registry.get(data.type) if data is not None else None
        if data is None or cls is None:
            return None
        output = cls.output(link.output)
        through: str | None = None
        if data.bypass:
            kind = output.type if output is not None else PortType.ANY
            through = next(
                (
                    p.name
                    for p in cls.inputs
                    if p.type is kind and graph.link_into(data.id, p.name) is not None
                ),
                None,
            )
        elif same_name and cls.input(link.output) is not None:
            through = link.output
        elif data.type == "utility.reroute":
            through = "value"
        if through is None:
            return data
        if passed is not None and not data.bypass:
            passed.append(data)
        link = graph.link_into(data.id, through)
    return None


def _text_nodes(graph: Graph, node_id: str, port: str) -> list[NodeData]:
    """The text-encode nodes whose conditioning reaches ``node_id.port``."""
    source = _source(graph, node_id, port)
    return [source] if source is not None and source.type in TEXT_NODES else []


@dataclass
class _Latent:
    node: NodeData | None
    """The Empty Latent, for text to image; None for image to image."""
    width: int | None = None
    height: int | None = None
    batch: int | None = None


class _SamplerRules:
    """The rules, judged for one Sampler node and what feeds it."""

    def __init__(
        self, graph: Graph, sampler: NodeData, resolve: FileResolver, context: AdviceContext
    ) -> None:
        self.graph = graph
        self.sampler = sampler
        self.resolve = resolve
        self.context = context
        passed: list[NodeData] = []
        checkpoint = _source(graph, sampler.id, "unet", passed)
        self.checkpoint = (
            checkpoint if checkpoint is not None and (checkpoint.type == CHECKPOINT) else None
        )
        self.facts = self._facts()
        self.setup = self._few_step(passed)
        source = _source(graph, sampler.id, "latent", same_name=False)
        if source is not None and source.type == EMPTY_LATENT:
            self.latent = _Latent(
                source,
                _value(graph, source, "width"),
                _value(graph, source, "height"),
                _value(graph, source, "batch_size"),
            )
        else:
            self.latent = _Latent(None)

    def _facts(self) -> ModelFacts:
        if self.checkpoint is None:
            return UNKNOWN
        path = _value(self.graph, self.checkpoint, "path")
        if not path:
            return UNKNOWN
        found = self.resolve("checkpoints", path)
        if found is None:
            return UNKNOWN
        prediction = _value(self.graph, self.checkpoint, "prediction") or "auto"
        return checkpoint_facts(Path(found), prediction)

    def _few_step(self, passed: list[NodeData]) -> str | None:
        """What makes this a few-step setup ("LCM LoRA", "lcm sampler"), or None."""
        if self.checkpoint is not None:
            name = few_step_name(str(_value(self.graph, self.checkpoint, "path") or ""))
            if name:
                return f"{name} checkpoint"
        for data in passed:
            if data.type == LORA and (_value(self.graph, data, "strength_unet") or 0.0) != 0.0:
                name = few_step_name(str(_value(self.graph, data, "path") or ""))
                if name:
                    return f"{name} LoRA"
        scheduler = _source(self.graph, self.sampler.id, "scheduler")
        if scheduler is not None and scheduler.type == SCHEDULER:
            if _value(self.graph, scheduler, "name") == "lcm":
                return "lcm sampler"
            if _value(self.graph, scheduler, "timestep_spacing") == "trailing":
                return "trailing timesteps"
        return None

    def advice(self) -> list[Advice]:
        found: list[Advice] = []
        for check in (
            self._steps,
            self._cfg,
            self._prompts,
            self._size,
            self._conditioning_size,
            self._denoise,
            self._memory,
        ):
            found.extend(check())
        return found

    def _advice(
        self,
        rule_id: str,
        node: NodeData,
        field_name: str | None,
        fix: dict[str, Any] | None = None,
        **values: Any,
    ) -> Advice:
        entry = rule(rule_id)
        return Advice(
            node.id,
            field_name,
            entry.message.format(**values),
            entry.why.format(**values),
            fix,
            rule_id,
        )

    # --- the rules ---------------------------------------------------------------------

    def _steps(self) -> list[Advice]:
        steps = _value(self.graph, self.sampler, "steps")
        if steps is None:
            return []
        if self.setup is not None:
            few = rule("steps.few_high")
            if steps > few.limit:
                fix = {"steps": int(few.suggest)}
                return [
                    self._advice(few.id, self.sampler, "steps", fix, steps=steps, setup=self.setup)
                ]
            return []
        low, high = rule("steps.low"), rule("steps.high")
        if steps < low.limit:
            return [
                self._advice(
                    low.id, self.sampler, "steps", {"steps": int(low.suggest)}, steps=steps
                )
            ]
        if steps > high.limit:
            return [
                self._advice(
                    high.id, self.sampler, "steps", {"steps": int(high.suggest)}, steps=steps
                )
            ]
        return []

    def _cfg(self) -> list[Advice]:
        cfg = _value(self.graph, self.sampler, "cfg")
        if cfg is None:
            return []
        if self.setup is not None:
            few = rule("cfg.few_high")
            if cfg > few.limit:
                return [
                    self._advice(
                        few.id, self.sampler, "cfg", {"cfg": few.suggest}, cfg=cfg, setup=self.setup
                    )
                ]
            return []
        high, low = rule("cfg.high"), rule("cfg.low")
        if cfg > high.limit:
            return [self._advice(high.id, self.sampler, "cfg", {"cfg": high.suggest}, cfg=cfg)]
        if cfg < low.limit:
            return [self._advice(low.id, self.sampler, "cfg", {"cfg": low.suggest}, cfg=cfg)]
        return []

    def _prompts(self) -> list[Advice]:
        found = []
        for text_node in _text_nodes(self.graph, self.sampler.id, "positive"):
            text = _value(self.graph, text_node, "text")
            if not isinstance(text, str) or not text.strip():
                continue
            long = rule("prompt.long")
            convention = _value(self.graph, text_node, "convention") or ""
            count = prompt_tokens(
                text, self.resolve, convention, load_tokenizer=self.context.exact_tokens
            )
            if count.count > long.limit:
                found.append(self._advice(long.id, text_node, "text", tokens=count))
            order = rule("prompt.order")
            filler, words, more = leading_filler(text)
            if filler >= order.limit and more:
                shown = " ".join(words[: int(order.limit)])
                found.append(self._advice(order.id, text_node, "text", count=filler, words=shown))
        return found

    def _size_problem(self) -> tuple[str, str] | None:
        """(ratio words, effect) when a text-to-image latent is far from native, or None."""
        latent, native = self.latent, self.facts.native_side()
        if latent.node is None or native is None or not latent.width or not latent.height:
            return None
        if _value(self.graph, self.sampler, "denoise") != 1.0:
            return None
        ratio = latent.width * latent.height / (native * native)
        if ratio < SIZE_RATIO_LOW:
            return (f"{ratio:.2f}× the pixels of", "blurry, broken anatomy and poor detail")
        if ratio > SIZE_RATIO_HIGH:
            return (f"{ratio:.1f}× the pixels of", "duplicated subjects and broken anatomy")
        return None

    def _size(self) -> list[Advice]:
        latent, family = self.latent, self.facts.family
        native = self.facts.native_side()
        if latent.node is None or family is None or native is None:
            return []
        if not latent.width or not latent.height:
            return []
        found = []
        problem = self._size_problem()
        multiple = SIDE_MULTIPLES.get(family.id, 8)
        if problem is not None:
            ratio, effect = problem
            scale = math.sqrt(native * native / (latent.width * latent.height))
            step = max(multiple, 64)
            fix = {
                "width": max(step, round(latent.width * scale / step) * step),
                "height": max(step, round(latent.height * scale / step) * step),
            }
            found.append(
                self._advice(
                    "size.pixels",
                    latent.node,
                    "width",
                    fix,
                    width=latent.width,
                    height=latent.height,
                    ratio=ratio,
                    family=family.name,
                    native=native,
                    effect=effect,
                )
            )
        elif latent.width % multiple or latent.height % multiple:
            fix = {
                "width": max(multiple, round(latent.width / multiple) * multiple),
                "height": max(multiple, round(latent.height / multiple) * multiple),
            }
            found.append(
                self._advice(
                    "size.multiple",
                    latent.node,
                    "width" if latent.width % multiple else "height",
                    fix,
                    width=latent.width,
                    height=latent.height,
                    family=family.name,
                    multiple=multiple,
                )
            )
        return found

    def _conditioning_size(self) -> list[Advice]:
        family, latent = self.facts.family, self.latent
        if family is None or "target_width" not in family.time_ids or latent.node is None:
            return []
        width, height = latent.width, latent.height
        if not width or not height:
            return []
        found = []
        for port in ("positive", "negative"):
            for node in _text_nodes(self.graph, self.sampler.id, port):
                if node.type == TEXT_SDXL:
                    cond_w = _value(self.graph, node, "target_width")
                    cond_h = _value(self.graph, node, "target_height")
                    if cond_w is None or cond_h is None or (cond_w, cond_h) == (width, height):
                        continue
                    fix = {"target_width": width, "target_height": height}
                    field_name = "target_width" if cond_w != width else "target_height"
                elif node.type == PLAIN_TEXT:
                    cond_w = cond_h = PLAIN_TEXT_SIZE
                    if (width, height) == (cond_w, cond_h) or self._size_problem() is not None:
                        continue  # the size advice on the latent comes first
                    fix, field_name = None, None
                else:
                    continue
                found.append(
                    self._advice(
                        "size.sdxl_conditioning",
                        node,
                        field_name,
                        fix,
                        cond_w=cond_w,
                        cond_h=cond_h,
                        width=width,
                        height=height,
                    )
                )
        return found

    def _denoise(self) -> list[Advice]:
        if self.latent.node is not None:
            return []  # text to image: denoise below 1 is ComfyUI's partial noise, not img2img
        denoise = _value(self.graph, self.sampler, "denoise")
        steps = _value(self.graph, self.sampler, "steps")
        if denoise is None or steps is None:
            return []
        entry = rule("denoise.none")
        if denoise < entry.limit or int(steps * denoise) < 1:
            fix = {"denoise": entry.suggest}
            return [
                self._advice(entry.id, self.sampler, "denoise", fix, denoise=denoise, steps=steps)
            ]
        return []

    def _memory(self) -> list[Advice]:
        latent, parameters = self.latent, self.facts.parameters
        if latent.node is None or not latent.width or not latent.height or not latent.batch:
            return []
        if parameters is None or latent.batch <= 1:
            return []
        memory = self.context.memory(self.context.device)
        if memory is None:
            return []
        precision = self.context.precision
        full = precision == "fp32" or (precision == "auto" and not memory.gpu)
        element = 4 if full else 2  # bytes per weight and activation: fp32, else fp16/bf16
        per_pixel = ACTIVATION_BYTES_PER_PIXEL * element // 2
        per_image = per_pixel * latent.width * latent.height
        weights = parameters * element
        need = weights + per_image * latent.batch
        if need <= memory.total:
            return []
        fits = max(1, (memory.total - weights) // per_image) if memory.total > weights else 1
        return [
            self._advice(
                "batch.memory",
                latent.node,
                "batch_size",
                {"batch_size": int(min(fits, latent.batch - 1))},
                batch=latent.batch,
                width=latent.width,
                height=latent.height,
                need=_gib(need),
                device=memory.name,
                have=_gib(memory.total),
                per_pixel=f"{per_pixel / 1024:.0f} KB",
            )
        ]


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GB"
