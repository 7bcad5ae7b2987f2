"""diffusers/transformers state dicts renamed to the original single-file (LDM) layout.

The inverse of `ldm.py` (which uses diffusers' own converters): used to write the demo
models' single files, and tested by the round trip LDM file → loader → same weights.
Layout facts (the ones the forward converters encode):

- UNet down block b, layer j sits at `input_blocks.{1 + b·(L+1) + j}` (resnet `.0`,
  attention `.1`), its downsampler at `input_blocks.{(b+1)·(L+1)}.0.op`; up block b, layer j
  at `output_blocks.{b·(L+1) + j}`, its upsampler after the layer's resnet and attention.
  Resnets name their parts `in_layers.0/.2`, `emb_layers.1`, `out_layers.0/.3`,
  `skip_connection`; transformer blocks keep their names.
- VAE up blocks are numbered in reverse (`decoder.up.{n-1-i}`), resnets are `block.j`,
  attention projections are 1×1 convolutions named `q`, `k`, `v`, `proj_out`.
- OpenCLIP packs q, k, v into one `in_proj`, calls the MLP `c_fc`/`c_proj`, and stores the
  text projection transposed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from nodes.models import ldm
from nodes.models.infer import indices

if TYPE_CHECKING:
    import torch

    from nodes.models.ldm import StateDict

_RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "time_emb_proj": "emb_layers.1",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "conv_shortcut": "skip_connection",
}
_UNET_STATIC = {
    "time_embedding.linear_1.": "time_embed.0.",
    "time_embedding.linear_2.": "time_embed.2.",
    "add_embedding.linear_1.": "label_emb.0.0.",
    "add_embedding.linear_2.": "label_emb.0.2.",
    "conv_in.": "input_blocks.0.0.",
    "conv_norm_out.": "out.0.",
    "conv_out.": "out.2.",
    "controlnet_mid_block.": "middle_block_out.0.",
    "controlnet_cond_embedding.conv_in.": "input_hint_block.0.",
}
_BLOCK = re.compile(r"(down|up)_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)")
_SAMPLER = re.compile(r"(down|up)_blocks\.(\d+)\.(downsamplers|upsamplers)\.0\.conv\.(.*)")
_MID = re.compile(r"mid_block\.(resnets|attentions)\.(\d+)\.(.*)")


def _resnet(rest: str) -> str:
    head, _, tail = rest.partition(".")
    return f"{_RESNET.get(head, head)}.{tail}"


def _unet_key(key: str, stride: int, up_has_attention: set[int]) -> str:
    for old, new in _UNET_STATIC.items():
        if key.startswith(old):
            return new + key[len(old) :]
    if m := _BLOCK.fullmatch(key):
        side, block, part, layer, rest = m.groups()
        b, j = int(block), int(layer)
        slot = "0" if part == "resnets" else "1"
        rest = _resnet(rest) if part == "resnets" else rest
        if side == "down":
            return f"input_blocks.{1 + b * stride + j}.{slot}.{rest}"
        return f"output_blocks.{b * stride + j}.{slot}.{rest}"
    if m := _SAMPLER.fullmatch(key):
        side, b, rest = m.group(1), int(m.group(2)), m.group(4)
        if side == "down":
            return f"input_blocks.{(b + 1) * stride}.0.op.{rest}"
        slot = 2 if b in up_has_attention else 1
        return f"output_blocks.{b * stride + stride - 1}.{slot}.conv.{rest}"
    if m := _MID.fullmatch(key):
        part, i, rest = m.group(1), int(m.group(2)), m.group(3)
        if part == "resnets":
            return f"middle_block.{2 * i}.{_resnet(rest)}"
        return f"middle_block.1.{rest}"
    if m := re.fullmatch(r"controlnet_down_blocks\.(\d+)\.(.*)", key):
        return f"zero_convs.{m.group(1)}.0.{m.group(2)}"
    if m := re.fullmatch(r"controlnet_cond_embedding\.blocks\.(\d+)\.(.*)", key):
        return f"input_hint_block.{2 * (int(m.group(1)) + 1)}.{m.group(2)}"
    raise KeyError(f"no LDM name for UNet tensor {key!r}")


def unet_to_ldm(sd: StateDict, layers_per_block: int, prefix: str = ldm.UNET) -> StateDict:
    """A diffusers UNet or ControlNet state dict in the LDM layout, under `prefix`.

    For a ControlNet pass `prefix=ldm.CONTROLNET`.
    """
    stride = layers_per_block + 1
    up_attn = {int(k.split(".")[1]) for k in sd if re.match(r"up_blocks\.\d+\.attentions\.", k)}
    hint_blocks = len(indices(sd, "controlnet_cond_embedding.blocks."))
    out = {}
    for key, value in sd.items():
        if key.startswith("controlnet_cond_embedding.conv_out."):
            name = f"input_hint_block.{2 * (hint_blocks + 1)}." + key.rsplit(".", 1)[1]
        else:
            name = _unet_key(key, stride, up_attn)
        out[prefix + name] = value
    return out


_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out": "proj_out"}


_VAE_BLOCK = re.compile(
    r"(encoder|decoder)\.(down|up)_blocks\.(\d+)\.(resnets|\w+samplers)\.(\d+)\.(.*)"
)
_VAE_MID = re.compile(r"(encoder|decoder)\.mid_block\.(resnets|attentions)\.(\d+)\.(.*)")


def _vae_key(key: str, blocks: int) -> str:
    if m := _VAE_BLOCK.fullmatch(key):
        coder, side, i, part, j, rest = m.groups()
        n = int(i) if side == "down" else blocks - 1 - int(i)
        if part == "resnets":
            return f"{coder}.{side}.{n}.block.{j}.{rest.replace('conv_shortcut', 'nin_shortcut')}"
        return f"{coder}.{side}.{n}.{side}sample.{rest}"
    if m := _VAE_MID.fullmatch(key):
        coder, part, i, rest = m.groups()
        if part == "resnets":
            return f"{coder}.mid.block_{int(i) + 1}.{rest.replace('conv_shortcut', 'nin_shortcut')}"
        head, _, tail = rest.partition(".")
        if head == "to_out":
            tail = tail.partition(".")[2]  # to_out.0.weight → proj_out.weight
        return f"{coder}.mid.attn_1.{_VAE_ATTENTION[head]}.{tail}"
    return key.replace("conv_norm_out", "norm_out")


def vae_to_ldm(sd: StateDict, prefix: str = ldm.VAE) -> StateDict:
    """A diffusers `AutoencoderKL` state dict in the LDM layout, under `prefix`."""
    blocks = len(indices(sd, "encoder.down_blocks."))
    out = {}
    for key, value in sd.items():
        name = _vae_key(key, blocks)
        if ".mid.attn_1." in name and name.endswith("weight") and value.ndim == 2:
            out[prefix + name] = value[:, :, None, None]  # LDM uses 1×1 convs there
        else:
            out[prefix + name] = value
    return out


def _hf_name(key: str) -> str:
    """transformers ≥ 5.6 dropped `CLIPTextModel`'s `text_model.` wrapper; files keep it."""
    return key if key.startswith(("text_model.", "text_projection.")) else "text_model." + key


def clip_to_ldm(sd: StateDict, prefix: str, *, position_ids: bool = True) -> StateDict:
    """A transformers CLIP-L text encoder under `prefix` (the layout stays HF's).

    Real SD1.x files also carry the `position_ids` buffer; `position_ids` adds it.
    """
    import torch

    out = {prefix + _hf_name(k): v for k, v in sd.items() if not k.endswith("position_ids")}
    if position_ids:
        positions = out[prefix + "text_model.embeddings.position_embedding.weight"].shape[0]
        ids = torch.arange(positions, dtype=torch.int64)[None]
        out[prefix + "text_model.embeddings.position_ids"] = ids
    return out


_OPENCLIP_LAYER = {
    "self_attn.out_proj": "attn.out_proj",
    "layer_norm1": "ln_1",
    "layer_norm2": "ln_2",
    "mlp.fc1": "mlp.c_fc",
    "mlp.fc2": "mlp.c_proj",
}


def open_clip_to_ldm(sd: StateDict, prefix: str) -> StateDict:
    """A transformers CLIP text encoder (with projection) in OpenCLIP's layout, under `prefix`."""
    import torch

    sd = {_hf_name(k): v for k, v in sd.items() if not k.endswith("position_ids")}
    out: dict[str, torch.Tensor] = {}
    qkv: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in sd.items():
        if key == "text_projection.weight":
            out[prefix + "text_projection"] = value.T.contiguous()
        elif key == "text_model.embeddings.token_embedding.weight":
            out[prefix + "token_embedding.weight"] = value
        elif key == "text_model.embeddings.position_embedding.weight":
            out[prefix + "positional_embedding"] = value
        elif key.startswith("text_model.final_layer_norm."):
            out[prefix + "ln_final." + key.rsplit(".", 1)[1]] = value
        elif m := re.fullmatch(r"text_model\.encoder\.layers\.(\d+)\.(.*)\.(weight|bias)", key):
            layer, module, part = m.groups()
            base = f"{prefix}transformer.resblocks.{layer}."
            if module in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
                qkv.setdefault(f"{base}attn.in_proj_{part}", {})[module[10]] = value
            else:
                out[f"{base}{_OPENCLIP_LAYER[module]}.{part}"] = value
        else:
            raise KeyError(f"no OpenCLIP name for text encoder tensor {key!r}")
    for name, parts in qkv.items():
        out[name] = torch.cat([parts["q"], parts["k"], parts["v"]], dim=0)
    return out
