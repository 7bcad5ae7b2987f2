"""LoRA files: kohya and diffusers formats read to the same layers, bad files named, and
patches that change weights only inside their block."""

from __future__ import annotations

import json
import pickle
from typing import TYPE_CHECKING

import pytest
import torch
from safetensors.torch import load_file, save_file

from nodes.diffusion.patches import applied
from nodes.diffusion.values import LoraPatch
from nodes.models.demo import kohya_lora, kohya_names
from nodes.models.errors import ModelError
from nodes.models.loading import load_checkpoint
from nodes.models.lora import BoundLora, bind_lora, read_lora

if TYPE_CHECKING:
    from pathlib import Path

    from nodes.models.demo import DemoPaths
    from nodes.models.loading import LoadedCheckpoint


@pytest.fixture(scope="module")
def sd15(demo_sd15: DemoPaths) -> LoadedCheckpoint:
    return load_checkpoint(demo_sd15.single_file)


@pytest.fixture(scope="module")
def sdxl(demo_sdxl: DemoPaths) -> LoadedCheckpoint:
    return load_checkpoint(demo_sdxl.single_file)


def bind(path: Path, model: LoadedCheckpoint) -> BoundLora:
    lora = read_lora(path, layers_per_block=model.unet.config["layers_per_block"])
    return bind_lora(lora, model.unet, model.text_encoders, model.family)


def effects(bound: BoundLora) -> dict[tuple[int, str], torch.Tensor]:
    """(model index, module) → scale · (up @ down): what a layer does, however it is stored."""
    out = {}
    for index, layers in enumerate((bound.unet, *bound.text_encoders)):
        for layer in layers:
            out[(index, layer.module)] = layer.delta(_shape(layer), 1.0)
    return out


def _shape(layer) -> tuple[int, ...]:
    return (layer.up.shape[0], *layer.down.shape[1:])


# --- kohya ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sd15", "sdxl"])
def test_demo_lora_binds_every_layer_to_the_module_it_was_written_for(
    name: str, request: pytest.FixtureRequest
) -> None:
    """The kohya names (SDXL: LDM-style UNet names, te1/te2) reach the right modules."""
    demo: DemoPaths = request.getfixturevalue(f"demo_{name}")
    model: LoadedCheckpoint = request.getfixturevalue(name)
    raw = load_file(demo.lora)
    bound = bind(demo.lora, model)
    assert bound.skipped == ()
    assert len(bound.unet) + sum(len(t) for t in bound.text_encoders) == len(raw) // 3
    assert all(bound.text_encoders)  # every text encoder gets layers
    written = kohya_names(model.unet, model.text_encoders, model.family)
    for index, layers in enumerate((bound.unet, *bound.text_encoders)):
        for layer in layers:
            kohya = written[(index, layer.module)]
            assert torch.equal(layer.down, raw[kohya + ".lora_down.weight"])
            assert torch.equal(layer.up, raw[kohya + ".lora_up.weight"])
            assert (layer.alpha, layer.rank, layer.scale) == (2.0, 4, 0.5)


def test_kohya_conv_layers_and_a_missing_alpha(sd15: LoadedCheckpoint, tmp_path: Path) -> None:
    """LoCon convolutions (3×3 down, 1×1 up); no alpha means alpha = rank (scale 1)."""
    state = kohya_lora(sd15.unet, [], "sd15", seed=5, pattern=r"resnets\.\d+\.conv[12]$")
    state = {k: v for k, v in state.items() if not k.endswith(".alpha")}
    path = tmp_path / "locon.safetensors"
    save_file(state, str(path))
    bound = bind(path, sd15)
    assert len(bound.unet) == len(state) // 2 > 0
    layer = bound.unet[0]
    assert layer.down.ndim == 4 and layer.down.shape[2:] == (3, 3)
    assert layer.scale == 1.0
    weight = sd15.unet.get_submodule(layer.module).weight
    assert isinstance(weight, torch.Tensor)
    assert layer.fits(weight.shape)


# --- diffusers / PEFT ----------------------------------------------------------------------


def _diffusers_layout(bound: BoundLora, style: str, *, fold: float = 1.0) -> dict:
    """The bound kohya LoRA written in one of the diffusers layouts."""
    parts = ("unet", "text_encoder", "text_encoder_2")
    state = {}
    for index, layers in enumerate((bound.unet, *bound.text_encoders)):
        for layer in layers:
            module = layer.module
            if index:
                module = "text_model." + module.removeprefix("text_model.")
            down, up = layer.down, layer.up.float() * fold
            base = f"{parts[index]}.{module}"
            if style == "peft":
                state[base + ".lora_A.weight"], state[base + ".lora_B.weight"] = down, up
            elif style == "processor":  # diffusers' first LoRA files (attention processors)
                if index and module.endswith(("k_proj", "out_proj")):
                    continue  # text encoder layers of q and v only
                head, _, proj = base.rpartition(".")
                if not index:
                    head, proj = base.removesuffix(".0").rsplit(".", 1)
                    head += ".processor"
                proj = {"q_proj": "to_q", "k_proj": "to_k", "v_proj": "to_v"}.get(proj, proj)
                proj = {"out_proj": "to_out"}.get(proj, proj)
                state[f"{head}.{proj}_lora.down.weight"] = down
                state[f"{head}.{proj}_lora.up.weight"] = up
    return state


def _subset(bound: BoundLora, other: BoundLora) -> dict:
    keys = effects(other).keys()
    return {k: v for k, v in effects(bound).items() if k in keys}


@pytest.mark.parametrize("name", ["sd15", "sdxl"])
def test_peft_layout_with_alpha_in_metadata(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    demo: DemoPaths = request.getfixturevalue(f"demo_{name}")
    model: LoadedCheckpoint = request.getfixturevalue(name)
    kohya = bind(demo.lora, model)
    path = tmp_path / "pytorch_lora_weights.safetensors"
    metadata = {"unet.lora_alpha": 2.0, "text_encoder.lora_alpha": 2.0}
    metadata |= {"text_encoder_2.lora_alpha": 2.0, "unet.r": 4}
    save_file(
        _diffusers_layout(kohya, "peft"),
        str(path),
        metadata={"format": "pt", "lora_adapter_metadata": json.dumps(metadata)},
    )
    lora = read_lora(path, layers_per_block=2)
    assert lora.format == "diffusers"
    ours = bind_lora(lora, model.unet, model.text_encoders, model.family)
    assert effects(ours).keys() == effects(kohya).keys()
    for key, value in effects(kohya).items():
        assert torch.equal(effects(ours)[key], value), key


def test_peft_layout_without_alphas_is_scale_one(sd15: LoadedCheckpoint, demo_sd15, tmp_path):
    """No alpha anywhere: ΔW = up @ down; with the 1/2 scale folded into up, the same LoRA."""
    kohya = bind(demo_sd15.lora, sd15)
    path = tmp_path / "folded.safetensors"
    save_file(_diffusers_layout(kohya, "peft", fold=0.5), str(path))
    ours = bind(path, sd15)
    assert all(layer.scale == 1.0 for layer in ours.unet)
    for key, value in effects(kohya).items():
        assert torch.equal(effects(ours)[key], value), key


def test_attention_processor_layout_and_pt_file(sd15: LoadedCheckpoint, demo_sd15, tmp_path):
    """Old `…processor.to_q_lora.down.weight` names; a text encoder with q and v only (which
    diffusers' own layout guess cannot place); a pickled `.bin` read with weights_only."""
    kohya = bind(demo_sd15.lora, sd15)
    path = tmp_path / "pytorch_lora_weights.bin"
    torch.save(_diffusers_layout(kohya, "processor", fold=0.5), path)
    ours = bind(path, sd15)
    assert len(ours.unet) == len(kohya.unet)
    assert {layer.module.rsplit(".", 1)[1] for layer in ours.text_encoders[0]} == {
        "q_proj",
        "v_proj",
    }
    for key, value in effects(ours).items():
        assert torch.equal(effects(kohya)[key], value), key


def test_kohya_pt_file_equals_safetensors(sd15: LoadedCheckpoint, demo_sd15, tmp_path) -> None:
    path = tmp_path / "lora.ckpt"
    torch.save({"state_dict": load_file(demo_sd15.lora)}, path)
    ours, kohya = effects(bind(path, sd15)), effects(bind(demo_sd15.lora, sd15))
    assert ours.keys() == kohya.keys()
    assert all(torch.equal(ours[k], kohya[k]) for k in kohya)


# --- errors --------------------------------------------------------------------------------


def test_sdxl_lora_on_sd15(sd15: LoadedCheckpoint, demo_sdxl: DemoPaths) -> None:
    with pytest.raises(ModelError, match=r"sdxl-demo-lora\.safetensors is a LoRA for SDXL") as info:
        bind(demo_sdxl.lora, sd15)
    assert "second text encoder" in str(info.value)
    assert "SD1.x" in str(info.value)


def test_sd15_lora_on_sdxl(sdxl: LoadedCheckpoint, demo_sd15: DemoPaths) -> None:
    with pytest.raises(ModelError, match="does not fit this SDXL model") as info:
        bind(demo_sd15.lora, sdxl)
    assert "other shapes" in str(info.value) or "name no layer" in str(info.value)


def test_not_a_lora(sd15: LoadedCheckpoint, demo_sd15: DemoPaths, tmp_path: Path) -> None:
    path = tmp_path / "random.safetensors"
    save_file({f"layer{i}.weight": torch.randn(4, 4) for i in range(12)}, str(path))
    with pytest.raises(ModelError, match=r"random\.safetensors is not a LoRA: found 12 tensors"):
        bind(path, sd15)
    with pytest.raises(ModelError, match="looks like a whole Stable Diffusion checkpoint"):
        bind(demo_sd15.single_file, sd15)
    empty = tmp_path / "empty.safetensors"
    save_file({}, str(empty))
    with pytest.raises(ModelError, match="holds no tensors"):
        bind(empty, sd15)


def test_truncated_lora(sd15: LoadedCheckpoint, demo_sd15: DemoPaths, tmp_path: Path) -> None:
    data = demo_sd15.lora.read_bytes()
    path = tmp_path / "half.safetensors"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=r"half\.safetensors .*truncated"):
        bind(path, sd15)


def test_lycoris_and_pickled_code_are_refused(sd15: LoadedCheckpoint, tmp_path: Path) -> None:
    loha = tmp_path / "loha.safetensors"
    name = "lora_unet_down_blocks_0_attentions_0_proj_in"
    save_file(
        {f"{name}.hada_w1_a": torch.ones(2, 2), f"{name}.alpha": torch.tensor(1.0)}, str(loha)
    )
    with pytest.raises(ModelError, match="is a LyCORIS LoHa file"):
        bind(loha, sd15)

    class Payload:
        def __reduce__(self):
            return (print, ("this would have run",))

    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"lora_unet_x.lora_down.weight": Payload()}, protocol=2))
    with pytest.raises(ModelError, match="does not unpickle"):
        bind(evil, sd15)


def test_a_few_stray_layers_are_skipped_more_are_refused(
    sd15: LoadedCheckpoint, demo_sd15: DemoPaths, tmp_path: Path
) -> None:
    state = load_file(demo_sd15.lora)
    layers = len(state) // 3

    def with_strays(count: int) -> Path:
        extra = dict(state)
        for i in range(count):
            name = f"lora_unet_down_blocks_0_attentions_0_transformer_blocks_{7 + i}_attn1_to_q"
            extra[name + ".lora_down.weight"] = torch.ones(4, 32, dtype=torch.float16)
            extra[name + ".lora_up.weight"] = torch.ones(32, 4, dtype=torch.float16)
        path = tmp_path / f"strays{count}.safetensors"
        save_file(extra, str(path))
        return path

    few = bind(with_strays(2), sd15)
    assert len(few.skipped) == 2 and "transformer_blocks.7.attn1.to_q" in few.skipped[0]
    assert len(few.unet) + len(few.text_encoders[0]) == layers
    many = int(layers * 0.1)
    with pytest.raises(ModelError, match=f"{many} of its {layers + many} layers name no layer"):
        bind(with_strays(many), sd15)


def test_half_a_layer_is_refused(sd15: LoadedCheckpoint, demo_sd15, tmp_path) -> None:
    state = load_file(demo_sd15.lora)
    key = next(k for k in state if k.endswith("lora_up.weight"))
    del state[key]
    path = tmp_path / "half-layer.safetensors"
    save_file(state, str(path))
    layer = key.removesuffix(".lora_up.weight")
    with pytest.raises(ModelError, match=f"layer {layer} has no lora_up.weight factor"):
        bind(path, sd15)


# --- patches -------------------------------------------------------------------------------


def _reference(weight: torch.Tensor, layers_strengths) -> torch.Tensor:
    """W0 + Σ strength·scale·(up @ down), written out independently of LoraLayer.delta."""
    merged = weight.detach().to(torch.float32)
    for layer, strength in layers_strengths:
        up = layer.up.float().reshape(layer.up.shape[0], -1)
        down = layer.down.float().reshape(layer.down.shape[0], -1)
        merged = merged + ((up @ down) * (strength * layer.scale)).reshape(weight.shape)
    return merged.to(weight.dtype)


def test_patches_apply_inside_the_block_and_restore_exactly(
    sd15: LoadedCheckpoint, demo_sd15: DemoPaths, tmp_path: Path
) -> None:
    state = kohya_lora(sd15.unet, [], "sd15", seed=9, pattern=r"(conv1|attn1\.to_q)$")
    path = tmp_path / "second.safetensors"
    save_file(state, str(path))
    first, second = bind(demo_sd15.lora, sd15), bind(path, sd15)
    models = (sd15.unet,)
    patches = (
        LoraPatch(first.unet, 0.8),
        LoraPatch(second.unet, -1.5),
        LoraPatch(second.unet, 0.0),  # off: no effect at all
    )
    before = {k: v.clone() for k, v in sd15.unet.state_dict().items()}
    with applied(models, patches):
        inside = sd15.unet.state_dict()
        touched = {layer.module for layer in (*first.unet, *second.unet)}
        for key, value in inside.items():
            module = key.removesuffix(".weight")
            if module not in touched or not key.endswith(".weight"):
                assert torch.equal(value, before[key]), key
                continue
            changes = [(layer, 0.8) for layer in first.unet if layer.module == module]
            changes += [(layer, -1.5) for layer in second.unet if layer.module == module]
            expected = _reference(before[key], changes)
            assert torch.equal(value, expected), key
            assert not torch.equal(value, before[key])
    after = sd15.unet.state_dict()
    assert all(torch.equal(after[k], before[k]) for k in before)

    weight = sd15.unet.get_submodule(first.unet[0].module).weight
    assert isinstance(weight, torch.Tensor)
    with pytest.raises(RuntimeError, match="boom"), applied(models, patches):
        assert not torch.equal(weight, before[first.unet[0].module + ".weight"])
        raise RuntimeError("boom")
    assert torch.equal(weight, before[first.unet[0].module + ".weight"])


def test_strength_zero_touches_nothing(sd15: LoadedCheckpoint, demo_sd15: DemoPaths) -> None:
    bound = bind(demo_sd15.lora, sd15)
    weight = sd15.unet.get_submodule(bound.unet[0].module).weight
    version = weight._version
    with applied((sd15.unet,), (LoraPatch(bound.unet, 0.0),)):
        assert weight._version == version
    with applied((sd15.unet,), ()):
        pass
    assert weight._version == version
