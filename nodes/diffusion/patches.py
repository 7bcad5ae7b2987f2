"""LoRA patches applied to shared models for the length of one use, then undone exactly.

Loaded models live once in the model cache and are shared by every node and run that uses
the checkpoint, with or without a LoRA. So a LoRA is not merged into them: a UNET or CLIP
value carries a tuple of :class:`~nodes.diffusion.values.LoraPatch`, and :func:`applied`
does, for each weight a patch touches::

    backup = W.clone()
    W.copy_(W0 + Σ strength · scale · (up @ down))     # in float32, cast to W's dtype
    ... the model runs ...
    W.copy_(backup)                                     # always, in a `finally`

Weights change in place (same storage), so a later CUDA graph or compiled module that
captured them stays valid. The sampler enters this once around its loop, text encoding
once per prompt: a run pays the patching once, never per step. Without patches (or with
strength 0) nothing is touched at all, so the output is bit-identical to the plain model.
The backups cost memory the size of the patched weights while a patch is applied.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from nodes.diffusion.values import ClipModel, LoraPatch, UNetModel
    from nodes.models.lora import LoraLayer


@contextmanager
def applied(models: Sequence[torch.nn.Module], patches: Sequence[LoraPatch]) -> Iterator[None]:
    """Add `patches` to the weights of `models` (indexed by each patch's ``part``) inside
    the block; restore the exact weights when it ends, however it ends."""
    plan = _plan(patches)
    if not plan:
        yield
        return
    backups: list[tuple[torch.Tensor, torch.Tensor]] = []
    try:
        with torch.no_grad():
            for (part, module), changes in plan.items():
                weight = models[part].get_submodule(module).weight
                assert isinstance(weight, torch.Tensor)
                backup = weight.detach().clone()
                backups.append((weight, backup))
                merged = backup.to(torch.float32)
                for layer, strength in changes:
                    merged = merged + layer.delta(weight.shape, strength, weight.device)
                weight.copy_(merged)
                del merged
        yield
    finally:
        with torch.no_grad():
            for weight, backup in reversed(backups):
                weight.copy_(backup)


def unet_patched(unet: UNetModel) -> AbstractContextManager[None]:
    """`applied` for a UNET value's LoRAs."""
    return applied((unet.module,), unet.patches)


def clip_patched(clip: ClipModel) -> AbstractContextManager[None]:
    """`applied` for a CLIP value's LoRAs (each patch names its text encoder)."""
    return applied(clip.encoders, clip.patches)


def _plan(
    patches: Sequence[LoraPatch],
) -> dict[tuple[int, str], list[tuple[LoraLayer, float]]]:
    """(part, module) → its layers and strengths, in patch order; strength 0 is skipped."""
    plan: dict[tuple[int, str], list[tuple[LoraLayer, float]]] = {}
    for patch in patches:
        if patch.strength == 0.0:
            continue
        for layer in patch.layers:
            plan.setdefault((patch.part, layer.module), []).append((layer, patch.strength))
    return plan
