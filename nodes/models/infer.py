"""Architecture configs inferred from tensor shapes (diffusers/transformers key names).

Every function takes `shapes` (tensor name → shape) of one component already in diffusers
layout, and a base config to start from (the family's published one), and returns that
config with every field the weights decide overwritten: widths, depths, block types,
attention layout. Fields the weights cannot show (activation, norm groups, head counts)
come from the base config or the family, so a checkpoint of any width loads — the tiny test
models as well as full-size ones — and the result can be checked against the weights by a
strict `load_state_dict`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nodes.models.errors import ModelError
from nodes.models.families import heads_for_width

if TYPE_CHECKING:
    from nodes.models.families import Family
    from nodes.models.tensor_file import Shape

Shapes = Mapping[str, "Shape"]
Config = dict[str, Any]


def indices(keys: Iterable[str], prefix: str) -> list[int]:
    """The sorted integers that directly follow `prefix` in any key ("down_blocks." → 0, 1)."""
    found: set[int] = set()
    for key in keys:
        if key.startswith(prefix):
            head = key[len(prefix) :].split(".", 1)[0]
            if head.isdigit():
                found.add(int(head))
    return sorted(found)


def _shape(shapes: Shapes, key: str, what: str) -> Shape:
    try:
        return shapes[key]
    except KeyError:
        raise ModelError(f"{what}: expected tensor {key!r} is missing") from None


@dataclass(frozen=True)
class _Block:
    channels: int
    resnets: int
    depth: int
    """Transformer blocks in this block's attention layers; 0 when it has no attention."""


def _blocks(shapes: Shapes, kind: str, what: str) -> list[_Block]:
    blocks = []
    for b in indices(shapes, f"{kind}."):
        pre = f"{kind}.{b}."
        resnets = indices(shapes, pre + "resnets.")
        if not resnets:
            raise ModelError(f"{what}: {kind}.{b} has no resnets")
        channels = _shape(shapes, f"{pre}resnets.0.conv1.weight", what)[0]
        attentions = indices(shapes, pre + "attentions.")
        depth = len(indices(shapes, pre + "attentions.0.transformer_blocks.")) if attentions else 0
        if attentions and len(attentions) != len(resnets):
            raise ModelError(f"{what}: {kind}.{b} has attention on only some of its layers")
        blocks.append(_Block(channels, len(resnets), depth))
    return blocks


def _depths(down: list[_Block], mid_depth: int) -> list[int]:
    """Transformer layers per down block, as diffusers' ``transformer_layers_per_block``.

    A block without attention ignores its entry (1 here), except the last: diffusers builds
    the middle block with the last entry, so when the last block has no attention (SD1.x,
    the SDXL refiner) the blocks without attention take the middle block's depth (the
    refiner's 4).
    """
    fill = mid_depth if mid_depth and not down[-1].depth else 1
    return [b.depth or fill for b in down]


def _encoder_half(shapes: Shapes, family: Family, cfg: Config, what: str) -> list[_Block]:
    """The fields shared by UNets and ControlNets: input, down blocks, attention, embeddings."""
    conv_in = _shape(shapes, "conv_in.weight", what)
    cfg["in_channels"] = conv_in[1]
    down = _blocks(shapes, "down_blocks", what)
    if not down:
        raise ModelError(f"{what}: no down blocks found")
    layers = {b.resnets for b in down}
    if len(layers) != 1:
        raise ModelError(f"{what}: blocks have different numbers of layers {sorted(layers)}")
    channels = [b.channels for b in down]
    cfg["block_out_channels"] = channels
    cfg["layers_per_block"] = down[0].resnets
    cfg["down_block_types"] = ["CrossAttnDownBlock2D" if b.depth else "DownBlock2D" for b in down]
    mid_depth = len(indices(shapes, "mid_block.attentions.0.transformer_blocks."))
    depths = _depths(down, mid_depth)
    cfg["transformer_layers_per_block"] = depths if len(set(depths)) > 1 else depths[0]

    attn_key = next((k for k in shapes if k.endswith(".attn2.to_k.weight")), None)
    if attn_key is None:
        raise ModelError(f"{what}: no cross-attention layers found")
    cfg["cross_attention_dim"] = shapes[attn_key][1]
    proj_in = next((s for k, s in shapes.items() if k.endswith(".proj_in.weight")), ())
    cfg["use_linear_projection"] = len(proj_in) == 2
    if family.unet_fixed_heads is not None:
        cfg["attention_head_dim"] = family.unet_fixed_heads
    else:
        cfg["attention_head_dim"] = [heads_for_width(c) for c in channels]
    cfg["num_attention_heads"] = None

    if mid_depth and mid_depth != depths[-1]:
        raise ModelError(
            f"{what}: the middle block has {mid_depth} transformer layers but the last block "
            f"has {depths[-1]}; diffusers cannot build that"
        )
    cfg["mid_block_type"] = "UNetMidBlock2DCrossAttn" if mid_depth else "UNetMidBlock2D"

    time_dim = _shape(shapes, "time_embedding.linear_1.weight", what)[0]
    cfg["time_embedding_dim"] = None if time_dim == 4 * channels[0] else time_dim
    add = shapes.get("add_embedding.linear_1.weight")
    if add is not None:
        cfg["addition_embed_type"] = "text_time"
        cfg["projection_class_embeddings_input_dim"] = add[1]
    else:
        cfg["addition_embed_type"] = None
        cfg["projection_class_embeddings_input_dim"] = None
    cfg["class_embed_type"] = None
    if any(k.startswith("class_embedding.") for k in shapes):
        raise ModelError(f"{what}: class-conditioned UNets (upscalers, unCLIP) are not supported")
    return down


def unet_config(shapes: Shapes, family: Family, base: Config, time_embed_dim: int | None) -> Config:
    """A `UNet2DConditionModel` config for these weights.

    `time_embed_dim` is SDXL's `addition_time_embed_dim` (the size of each micro-conditioning
    number's embedding), which no UNet tensor shows alone; see `detect.addition_time_dim`.
    """
    what = f"{family.name} UNet"
    cfg = dict(base)
    down = _encoder_half(shapes, family, cfg, what)
    cfg["out_channels"] = _shape(shapes, "conv_out.weight", what)[0]
    up = _blocks(shapes, "up_blocks", what)
    if len(up) != len(down) or any(b.resnets != down[0].resnets + 1 for b in up):
        raise ModelError(f"{what}: up blocks do not mirror the down blocks")
    cfg["up_block_types"] = ["CrossAttnUpBlock2D" if b.depth else "UpBlock2D" for b in up]
    layers = cfg["transformer_layers_per_block"]
    down_depths = layers if isinstance(layers, list) else [layers] * len(down)
    expected = down_depths[::-1]
    if any(b.depth and b.depth != d for b, d in zip(up, expected, strict=True)):
        cfg["reverse_transformer_layers_per_block"] = [b.depth or 1 for b in up]
    if cfg["addition_embed_type"] is not None:
        if time_embed_dim is None:
            raise ModelError(f"{what}: cannot tell the size of the micro-conditioning embedding")
        cfg["addition_time_embed_dim"] = time_embed_dim
    return cfg


def controlnet_config(shapes: Shapes, family: Family, unet_base: Config) -> Config:
    """A `ControlNetModel` config for these weights (the encoder half of a UNet + hint net)."""
    from diffusers import ControlNetModel

    what = f"{family.name} ControlNet"
    cfg = dict(unet_base)
    _encoder_half(shapes, family, cfg, what)
    hint_in = _shape(shapes, "controlnet_cond_embedding.conv_in.weight", what)
    cfg["conditioning_channels"] = hint_in[1]
    blocks = indices(shapes, "controlnet_cond_embedding.blocks.")
    outs = [hint_in[0]]
    outs += [shapes[f"controlnet_cond_embedding.blocks.{i}.weight"][0] for i in blocks[1::2]]
    cfg["conditioning_embedding_out_channels"] = outs
    if cfg["addition_embed_type"] is not None and "addition_time_embed_dim" not in cfg:
        raise ModelError(f"{what}: cannot tell the size of the micro-conditioning embedding")
    accepted = inspect.signature(ControlNetModel.__init__).parameters
    cfg = {k: v for k, v in cfg.items() if k in accepted}
    return {"_class_name": "ControlNetModel", **cfg}


def vae_config(shapes: Shapes, base: Config) -> Config:
    """An `AutoencoderKL` config for these weights."""
    what = "VAE"
    cfg = dict(base)
    cfg["in_channels"] = _shape(shapes, "encoder.conv_in.weight", what)[1]
    blocks = indices(shapes, "encoder.down_blocks.")
    if not blocks:
        raise ModelError(f"{what}: no encoder blocks found")
    cfg["block_out_channels"] = [
        _shape(shapes, f"encoder.down_blocks.{i}.resnets.0.conv1.weight", what)[0] for i in blocks
    ]
    cfg["layers_per_block"] = len(indices(shapes, "encoder.down_blocks.0.resnets."))
    cfg["down_block_types"] = ["DownEncoderBlock2D"] * len(blocks)
    cfg["up_block_types"] = ["UpDecoderBlock2D"] * len(blocks)
    cfg["latent_channels"] = _shape(shapes, "decoder.conv_in.weight", what)[1]
    cfg["out_channels"] = _shape(shapes, "decoder.conv_out.weight", what)[0]
    cfg["use_quant_conv"] = "quant_conv.weight" in shapes
    cfg["use_post_quant_conv"] = "post_quant_conv.weight" in shapes
    cfg["mid_block_add_attention"] = any(
        k.startswith("encoder.mid_block.attentions.") for k in shapes
    )
    return cfg


def clip_config(shapes: Shapes, base: Config) -> Config:
    """A `CLIPTextConfig` dict for these weights (keys as `text_model.…`, `text_projection.…`)."""
    what = "text encoder"
    cfg = dict(base)
    vocab, hidden = _shape(shapes, "text_model.embeddings.token_embedding.weight", what)
    cfg["vocab_size"] = vocab
    cfg["hidden_size"] = hidden
    pos = _shape(shapes, "text_model.embeddings.position_embedding.weight", what)
    cfg["max_position_embeddings"] = pos[0]
    layers = indices(shapes, "text_model.encoder.layers.")
    if not layers:
        raise ModelError(f"{what}: no transformer layers found")
    cfg["num_hidden_layers"] = len(layers)
    cfg["intermediate_size"] = _shape(shapes, "text_model.encoder.layers.0.mlp.fc1.weight", what)[0]
    cfg["num_attention_heads"] = heads_for_width(hidden)
    projection = shapes.get("text_projection.weight")
    if projection is not None:
        cfg["projection_dim"] = projection[0]
    return cfg
