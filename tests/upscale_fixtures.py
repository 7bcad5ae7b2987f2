"""Tiny upscale models built with spandrel's own architecture classes (random weights),
saved the way users have them: Real-ESRGAN's ``.pth`` with its ``params_ema`` wrapper and
new-arch tensor names, old-arch ESRGAN, Compact, and SwinIR/HAT/DAT as ``.safetensors``.

spandrel is imported through :func:`tests.spandrel_import.import_spandrel` (see there).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from tests.spandrel_import import import_spandrel

import_spandrel()

from spandrel.architectures.Compact import Compact  # noqa: E402
from spandrel.architectures.DAT import DAT  # noqa: E402
from spandrel.architectures.ESRGAN import ESRGAN  # noqa: E402
from spandrel.architectures.HAT import HAT  # noqa: E402
from spandrel.architectures.SwinIR import SwinIR  # noqa: E402


def lively(module: torch.nn.Module) -> torch.nn.Module:
    """Re-draw every convolution with He-normal weights (the default init shrinks the
    signal layer by layer, so a random model's output hardly depends on its input) and
    centre the last one's output on 0.5, so outputs are mostly inside [0, 1]."""
    convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        for conv in convs:
            torch.nn.init.kaiming_normal_(conv.weight, a=0.2)
            if conv.bias is not None:
                conv.bias.zero_()
        last = convs[-1].bias
        if last is not None:
            last.fill_(0.5)
    return module


def esrgan(blocks: int = 1, features: int = 8) -> torch.nn.Module:
    """A 4× ESRGAN (RRDBNet) as spandrel builds it; its state dict is the old-arch layout."""
    torch.manual_seed(1)
    model = ESRGAN(in_nc=3, out_nc=3, num_filters=features, num_blocks=blocks, scale=4)
    return lively(model).eval()


def compact(convs: int = 4, features: int = 8, scale: int = 4) -> torch.nn.Module:
    torch.manual_seed(2)
    model = Compact(num_in_ch=3, num_out_ch=3, num_feat=features, num_conv=convs, upscale=scale)
    return lively(model).eval()


def swinir() -> torch.nn.Module:
    torch.manual_seed(3)
    return SwinIR(
        img_size=16,
        embed_dim=12,
        depths=[2],
        num_heads=[2],
        window_size=4,
        mlp_ratio=2.0,
        upscale=2,
        upsampler="pixelshuffle",
    ).eval()


def hat() -> torch.nn.Module:
    torch.manual_seed(4)
    return HAT(
        img_size=16,
        embed_dim=12,
        depths=[2],
        num_heads=[2],
        window_size=4,
        mlp_ratio=2.0,
        upscale=2,
        upsampler="pixelshuffle",
        compress_ratio=3,
        squeeze_factor=3,
    ).eval()


def dat() -> torch.nn.Module:
    torch.manual_seed(5)
    return DAT(
        img_size=16,
        embed_dim=16,
        depth=[2],
        num_heads=[2],
        split_size=[2, 4],
        expansion_factor=2.0,
        upscale=2,
        upsampler="pixelshuffle",
    ).eval()


_NEW_ARCH = (
    (r"^model\.0\.", "conv_first."),
    (r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.", r"body.\1.rdb\2.conv\3."),
    (r"^model\.3\.", "conv_up1."),
    (r"^model\.6\.", "conv_up2."),
    (r"^model\.8\.", "conv_hr."),
    (r"^model\.10\.", "conv_last."),
)


def real_esrgan_layout(module: torch.nn.Module, blocks: int) -> dict[str, torch.Tensor]:
    """A 4× ESRGAN's tensors under Real-ESRGAN's (BasicSR's) names, as in
    RealESRGAN_x4plus.pth: ``conv_first``, ``body.N.rdbM.convK``, ``conv_body``,
    ``conv_up1/2``, ``conv_hr``, ``conv_last``."""
    out = {}
    for name, tensor in module.state_dict().items():
        renamed = name.replace(f"model.1.sub.{blocks}.", "conv_body.")
        for pattern, replacement in _NEW_ARCH:
            renamed = re.sub(pattern, replacement, renamed)
        assert not renamed.startswith("model."), name
        out[renamed] = tensor.clone()
    return out


def save_pth(path: Path, data: Any) -> Path:
    torch.save(data, path)
    return path


def save_safetensors(path: Path, module: torch.nn.Module) -> Path:
    from safetensors.torch import save_file

    save_file({k: v.contiguous().clone() for k, v in module.state_dict().items()}, str(path))
    return path


UserFile = tuple[str, Callable[[], torch.nn.Module], Callable[[Path, torch.nn.Module], Path]]


def _real_esrgan(path: Path, module: torch.nn.Module) -> Path:
    return save_pth(path, {"params_ema": real_esrgan_layout(module, 1)})


def _old_esrgan(path: Path, module: torch.nn.Module) -> Path:
    return save_pth(path, module.state_dict())


def _compact_pth(path: Path, module: torch.nn.Module) -> Path:
    return save_pth(path, {"params": module.state_dict()})


USER_FILES: dict[str, tuple[str, int, Callable[[], torch.nn.Module], Callable[..., Path]]] = {
    "RealESRGAN_x4plus.pth": ("ESRGAN", 4, esrgan, _real_esrgan),
    "4x_ESRGAN_old_arch.pth": ("ESRGAN", 4, esrgan, _old_esrgan),
    "realesr-general-x4v3.pth": ("Compact", 4, compact, _compact_pth),
    "2x_SwinIR.safetensors": ("SwinIR", 2, swinir, save_safetensors),
    "2x_HAT.safetensors": ("HAT", 2, hat, save_safetensors),
    "2x_DAT.safetensors": ("DAT", 2, dat, save_safetensors),
}
"""File name → (spandrel architecture id, scale, builder, how the file is written)."""


def write_user_file(folder: Path, name: str) -> tuple[Path, torch.nn.Module]:
    """The model ``name`` of :data:`USER_FILES`, written into ``folder``, and the module
    whose weights it holds."""
    _, _, build, save = USER_FILES[name]
    module = build()
    return save(folder / name, module), module
