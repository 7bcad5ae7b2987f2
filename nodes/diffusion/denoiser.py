"""The denoiser: the one place a sampling run calls the model.

A :class:`UNetDenoiser` is built once per run from the UNet, the conditioning halves, the
added conditions the family wants, the controls and the guidance scale, and is then called
once per step as ``denoise(x, t, step) -> guided prediction``. It owns classifier-free
guidance (the ``[negative, positive]`` batch and its combine) and the only model call; the
sampler loop around it is just denoise → scheduler step → preview → cancel check.

Everything that changes the model call is an :class:`Extension` hooked at a named point
(ControlNet residuals today; the inpainting concat and masked blending attach the same
way), never code in the loop.

Why the split into :attr:`UNetDenoiser.inputs`, :meth:`~UNetDenoiser.step_inputs` and a
pure :meth:`~UNetDenoiser.forward`: acceleration (``nodes.diffusion.acceleration``) captures
``forward`` in a CUDA graph or compiles it, which needs every value that differs between
calls to be a tensor argument — per-run ones (text embeddings, control images, the guidance
scale) are copied into static buffers once per run, per-step ones (the latents, the
timestep, each ControlNet's strength at this step) every step. A Python float that flips at
a ControlNet window edge would be baked into a captured graph; a tensor is not.

On CPU in fp32 the result equals diffusers' pipelines bit for bit: the same batching, the
same model calls in the same order, the same arithmetic (a 0-dim tensor scale multiplies
exactly as the Python float it holds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import torch

if TYPE_CHECKING:
    from nodes.diffusion.values import Conditioning, ControlHint, UNetModel

Tensors = Mapping[str, torch.Tensor]


class Denoiser(Protocol):
    """What the sampler loop calls every step."""

    def __call__(self, x: torch.Tensor, t: torch.Tensor, step: int) -> torch.Tensor:
        """The guided model prediction for the scheduler-scaled latents ``x`` at ``t``."""
        ...


class Graphable(Denoiser, Protocol):
    """A denoiser whose call is a pure function of tensors: what acceleration wraps."""

    inputs: dict[str, torch.Tensor]
    """Tensors fixed for the whole run."""

    def step_inputs(self, step: int) -> dict[str, torch.Tensor]:
        """Tensors that change per step (besides ``x`` and ``t``)."""
        ...

    def forward(self, x: torch.Tensor, t: torch.Tensor, inputs: Tensors) -> torch.Tensor:
        """The prediction from tensors only: no Python decision depends on their values."""
        ...

    def modules(self) -> tuple[torch.nn.Module, ...]:
        """The modules ``forward`` runs: a captured graph is valid only for these."""
        ...


@dataclass
class ModelCall:
    """The arguments of one UNet call, which extensions may change before it is made."""

    sample: torch.Tensor
    timestep: torch.Tensor
    encoder_hidden_states: torch.Tensor
    added_cond_kwargs: dict[str, torch.Tensor] | None
    extra: dict[str, Any] = field(default_factory=dict)
    """More keyword arguments of the UNet (ControlNet residuals...)."""


class Extension(Protocol):
    """A change to the model call, hooked at named points of :meth:`UNetDenoiser.forward`.

    Its tensors are namespaced by ``name`` in the denoiser's inputs so that acceleration can
    keep static copies of them.
    """

    name: str

    def inputs(self) -> dict[str, torch.Tensor]:
        """Per-run tensors."""
        ...

    def step_inputs(self, step: int) -> dict[str, torch.Tensor]:
        """Per-step tensors."""
        ...

    def before_model(self, call: ModelCall, inputs: Tensors) -> None:
        """Change ``call`` just before the model runs (inputs already namespaced away)."""
        ...

    def modules(self) -> tuple[torch.nn.Module, ...]: ...


class UNetDenoiser:
    """A diffusers ``UNet2DConditionModel`` with CFG and extensions (see the module doc)."""

    def __init__(
        self,
        module: torch.nn.Module,
        *,
        embeds: torch.Tensor,
        added: dict[str, torch.Tensor] | None,
        cfg: float | None,
        extensions: Sequence[Extension] = (),
    ) -> None:
        self.module = module
        self.guided = cfg is not None
        """Whether ``embeds`` holds ``[negative, positive]`` halves to combine."""
        self.extensions = tuple(extensions)
        self.inputs: dict[str, torch.Tensor] = {"embeds": embeds}
        if added is not None:
            self.inputs |= {f"added.{k}": v for k, v in added.items()}
        if cfg is not None:
            self.inputs["cfg"] = torch.tensor(cfg, dtype=embeds.dtype, device=embeds.device)
        for ext in self.extensions:
            self.inputs |= {f"{ext.name}.{k}": v for k, v in ext.inputs().items()}
        self._added_keys = tuple(added) if added is not None else None

    def step_inputs(self, step: int) -> dict[str, torch.Tensor]:
        result: dict[str, torch.Tensor] = {}
        for ext in self.extensions:
            result |= {f"{ext.name}.{k}": v for k, v in ext.step_inputs(step).items()}
        return result

    def modules(self) -> tuple[torch.nn.Module, ...]:
        return (self.module, *(m for ext in self.extensions for m in ext.modules()))

    def forward(self, x: torch.Tensor, t: torch.Tensor, inputs: Tensors) -> torch.Tensor:
        sample = torch.cat([x] * 2) if self.guided else x
        added = None
        if self._added_keys is not None:
            added = {k: inputs[f"added.{k}"] for k in self._added_keys}
        call = ModelCall(sample, t, inputs["embeds"], added)
        for ext in self.extensions:
            ext.before_model(call, _namespace(inputs, ext.name))
        prediction = self.module(
            call.sample,
            call.timestep,
            encoder_hidden_states=call.encoder_hidden_states,
            added_cond_kwargs=call.added_cond_kwargs,
            return_dict=False,
            **call.extra,
        )[0]
        if self.guided:
            uncond, cond = prediction.chunk(2)
            prediction = uncond + inputs["cfg"] * (cond - uncond)
        return prediction

    def __call__(self, x: torch.Tensor, t: torch.Tensor, step: int) -> torch.Tensor:
        return self.forward(x, t, {**self.inputs, **self.step_inputs(step)})


def _namespace(inputs: Tensors, name: str) -> dict[str, torch.Tensor]:
    prefix = name + "."
    return {k[len(prefix) :]: v for k, v in inputs.items() if k.startswith(prefix)}


# --- ControlNet ---------------------------------------------------------------------------


@dataclass
class _Control:
    hint: ControlHint
    image: torch.Tensor
    """The hint image batched like the UNet input."""
    mask: torch.Tensor | None
    """Per-sample 0/1 when the hint applies to only one half of a CFG batch."""
    scales: torch.Tensor
    """Per step: strength inside the hint's start/end window, 0 outside."""
    added: bool
    """Whether the net takes the family's added conditions (SDXL ControlNets do)."""


class ControlNetExtension:
    """ControlNets' residuals added to the UNet's, every step.

    Hints shared by both CFG halves run batched, as in diffusers' pipelines; a hint on one
    half only is masked to it. A hint is active for step ``i`` of ``n`` unless
    ``i/n < start`` or ``(i+1)/n > end`` (diffusers' ``controlnet_keep``); its scale per
    step is precomputed as a tensor, so the window is data, not control flow.
    """

    name = "control"

    def __init__(
        self,
        halves: Sequence[Conditioning],
        batch: int,
        total: int,
        device: torch.device,
        dtype: torch.dtype,
    ) -> None:
        self.controls: list[_Control] = []
        seen: list[ControlHint] = []
        for cond in halves:
            for hint in cond.controls:
                if any(hint is s for s in seen):
                    continue
                seen.append(hint)
                self.controls.append(_control(hint, halves, batch, total, device, dtype))

    def __bool__(self) -> bool:
        return bool(self.controls)

    def inputs(self) -> dict[str, torch.Tensor]:
        result = {}
        for i, control in enumerate(self.controls):
            result[f"{i}.image"] = control.image
            if control.mask is not None:
                result[f"{i}.mask"] = control.mask
        return result

    def step_inputs(self, step: int) -> dict[str, torch.Tensor]:
        return {f"{i}.scale": c.scales[step] for i, c in enumerate(self.controls)}

    def modules(self) -> tuple[torch.nn.Module, ...]:
        return tuple(c.hint.net for c in self.controls)

    def before_model(self, call: ModelCall, inputs: Tensors) -> None:
        down: list[torch.Tensor] | None = None
        mid: torch.Tensor | None = None
        for i, control in enumerate(self.controls):
            extra = {"added_cond_kwargs": call.added_cond_kwargs} if control.added else {}
            down_i, mid_i = control.hint.net(
                call.sample,
                call.timestep,
                encoder_hidden_states=call.encoder_hidden_states,
                controlnet_cond=inputs[f"{i}.image"],
                conditioning_scale=inputs[f"{i}.scale"],
                guess_mode=False,
                return_dict=False,
                **extra,
            )
            mask = inputs.get(f"{i}.mask")
            if mask is not None:
                m = mask.view(-1, 1, 1, 1)
                down_i = [d * m for d in down_i]
                mid_i = mid_i * m
            if down is None or mid is None:
                down, mid = list(down_i), mid_i
            else:
                down = [a + b for a, b in zip(down, down_i, strict=True)]
                mid = mid + mid_i
        if down is not None:
            call.extra["down_block_additional_residuals"] = down
            call.extra["mid_block_additional_residual"] = mid


def _control(
    hint: ControlHint,
    halves: Sequence[Conditioning],
    batch: int,
    total: int,
    device: torch.device,
    dtype: torch.dtype,
) -> _Control:
    image = hint.image.to(device=device, dtype=dtype)
    if image.shape[0] != batch:
        image = image.repeat_interleave(batch // image.shape[0] or 1, dim=0)[:batch]
    present = [any(hint is h for h in c.controls) for c in halves]
    mask = None
    if not all(present):
        mask = torch.tensor([float(p) for p in present for _ in range(batch)], dtype=dtype)
        mask = mask.to(device)
    keep = [1.0 - float(i / total < hint.start or (i + 1) / total > hint.end) for i in range(total)]
    scales = torch.tensor([hint.strength * k for k in keep], dtype=dtype).to(device)
    added = getattr(hint.net.config, "addition_embed_type", None) is not None
    return _Control(hint, torch.cat([image] * len(halves)), mask, scales, added)


# --- building one for a run ---------------------------------------------------------------


def build_denoiser(
    unet: UNetModel,
    halves: Sequence[Conditioning],
    *,
    batch: int,
    cfg: float | None,
    total: int,
    device: torch.device,
    dtype: torch.dtype,
    extra: Sequence[Extension] = (),
) -> UNetDenoiser:
    """The denoiser of one run: ``halves`` is ``[negative, positive]`` with CFG (``cfg``
    given), else ``[positive]``; ``total`` is the number of loop steps. ``extra``
    extensions run after the ControlNets (an inpainting concat must not reach them)."""
    embeds = _embeddings(halves, batch, device, dtype)
    added = _added_conditions(unet, halves, batch, device, dtype, guided=cfg is not None)
    extensions: list[Extension] = []
    controls = ControlNetExtension(halves, batch, total, device, dtype)
    if controls:
        extensions.append(controls)
    extensions.extend(extra)
    return UNetDenoiser(unet.module, embeds=embeds, added=added, cfg=cfg, extensions=extensions)


def _fit_tokens(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """Repeat shorter token sequences so all halves have the same length (as ComfyUI)."""
    import math

    lengths = {t.shape[1] for t in tensors}
    if len(lengths) == 1:
        return tensors
    target = math.lcm(*lengths)
    return [t.repeat(1, target // t.shape[1], 1) for t in tensors]


def _embeddings(
    halves: Sequence[Conditioning], batch: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    parts = _fit_tokens([c.embeds.to(device=device, dtype=dtype) for c in halves])
    expanded = []
    for part in parts:
        _, seq, width = part.shape
        expanded.append(part.repeat(1, batch, 1).view(batch, seq, width))
    return torch.cat(expanded) if len(expanded) > 1 else expanded[0]


def _added_conditions(
    unet: UNetModel,
    halves: Sequence[Conditioning],
    batch: int,
    device: torch.device,
    dtype: torch.dtype,
    *,
    guided: bool,
) -> dict[str, torch.Tensor] | None:
    """The family's added conditions (SDXL: pooled text embeds and size/crop ids; its
    refiner: size/crop ids and aesthetic score). ``guided``: ``halves[0]`` is the negative
    prompt, which a refiner conditions on the negative aesthetic score by default."""
    wanted = unet.family.added_conditions
    if not wanted:
        return None
    pooled, ids = [], []
    for index, cond in enumerate(halves):
        if cond.pooled is None or cond.time_ids is None:
            raise ValueError(f"{unet.family} needs conditioning with {', '.join(wanted)}")
        pooled.append(cond.pooled.to(device=device, dtype=dtype).repeat(batch, 1))
        negative = guided and index == 0 and len(halves) > 1
        numbers = unet.family.micro_conditions(cond.time_ids, negative=negative)
        time_ids = torch.tensor([list(numbers)], dtype=dtype)
        ids.append(time_ids.to(device).repeat(batch, 1))
    values = {"text_embeds": torch.cat(pooled), "time_ids": torch.cat(ids)}
    return {k: values[k] for k in wanted}
