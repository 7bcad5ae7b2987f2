"""A tiny random-weight upscale model, for the upscale template's demo run and benchmarks.

It is a 4× Real-ESRGAN *Compact* network (``SRVGGNetCompact``, the architecture of
``realesr-general-x4v3``): a few 3×3 convolutions with PReLU activations, a last
convolution to 3·4² channels and a pixel shuffle, added to the nearest-neighbour 4×
enlargement of the input. The tensors are written in the published files' layout
(``body.N.weight``/``body.N.bias``), with the torch calls below and no spandrel, so
``daguerre make-demo-model`` works wherever torch does; spandrel detects and loads the
file like any Compact model (the tests check the layout against spandrel's own class).

Its weights are small, so what it makes is the 4× nearest enlargement with a faint
random texture: an upscale that looks like its input, good for trying the node.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEMO_UPSCALE_NAME = "demo-compact-4x.safetensors"
FEATURES = 8
CONVS = 2
SCALE = 4


def demo_upscale_state_dict(
    *, features: int = FEATURES, convs: int = CONVS, scale: int = SCALE, seed: int = 0
) -> dict[str, torch.Tensor]:
    """The tensors of a Compact model (3 channels in and out) in its published layout."""
    import torch

    generator = torch.Generator().manual_seed(seed)

    def conv(out_ch: int, in_ch: int) -> tuple[torch.Tensor, torch.Tensor]:
        weight = torch.randn(out_ch, in_ch, 3, 3, generator=generator) * 0.02
        bias = torch.randn(out_ch, generator=generator) * 0.01
        return weight, bias

    state: dict[str, torch.Tensor] = {}
    index = 0
    for in_ch, out_ch in [(3, features)] + [(features, features)] * convs:
        state[f"body.{index}.weight"], state[f"body.{index}.bias"] = conv(out_ch, in_ch)
        state[f"body.{index + 1}.weight"] = torch.full((out_ch,), 0.25)  # PReLU slopes
        index += 2
    state[f"body.{index}.weight"], state[f"body.{index}.bias"] = conv(3 * scale * scale, features)
    return state


def make_demo_upscale_model(folder: Path) -> Path:
    """Write the demo upscale model into ``folder`` (created) and return its path."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DEMO_UPSCALE_NAME
    save_file(demo_upscale_state_dict(), str(path))
    return path
