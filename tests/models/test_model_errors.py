"""Every way a model path can be wrong ends in a ModelError that says what was found."""

from __future__ import annotations

import json
import pickle
from typing import TYPE_CHECKING

import pytest
import torch
from safetensors.torch import load_file, save_file

from nodes.models.detect import detect
from nodes.models.errors import ModelError
from nodes.models.loading import load_checkpoint

if TYPE_CHECKING:
    from pathlib import Path

    from nodes.models.demo import DemoPaths


class Payload:
    """Stands for arbitrary pickled code: torch.load(weights_only=True) must refuse it."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("this would have run",))


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"model not found: .*nope\.safetensors"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_text_file_named_safetensors(tmp_path: Path) -> None:
    path = tmp_path / "notes.safetensors"
    path.write_text("these are not weights\n" * 20)
    with pytest.raises(ModelError, match=r"notes\.safetensors is not a readable \.safetensors"):
        load_checkpoint(path)


def test_unknown_file_type(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    with pytest.raises(ModelError, match="not a model file type"):
        load_checkpoint(path)


def test_truncated_safetensors(demo_sd15: DemoPaths, tmp_path: Path) -> None:
    data = demo_sd15.single_file.read_bytes()
    path = tmp_path / "half.safetensors"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="truncated") as info:
        load_checkpoint(path)
    assert "half.safetensors" in str(info.value)


def test_random_tensor_file(tmp_path: Path) -> None:
    path = tmp_path / "random.safetensors"
    save_file({f"layer{i}.weight": torch.randn(4, 4) for i in range(12)}, str(path))
    with pytest.raises(ModelError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "not a Stable Diffusion checkpoint: found 12 tensors" in message
    assert "none under model.diffusion_model" in message
    assert "layer0.weight" in message


def test_empty_tensor_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.safetensors"
    save_file({}, str(path))
    with pytest.raises(ModelError, match="holds no tensors"):
        load_checkpoint(path)


def test_other_model_kinds_are_named(demo_sd15: DemoPaths, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="looks like a ControlNet"):
        load_checkpoint(demo_sd15.controlnet_file)
    vae = {k: v for k, v in load_file(demo_sd15.single_file).items() if "first_stage" in k}
    path = tmp_path / "vae.safetensors"
    save_file({k.removeprefix("first_stage_model."): v for k, v in vae.items()}, str(path))
    with pytest.raises(ModelError, match="looks like a standalone VAE"):
        load_checkpoint(path)
    lora = tmp_path / "lora.safetensors"
    save_file({"lora_unet_down_blocks_0.lora_down.weight": torch.zeros(4, 4)}, str(lora))
    with pytest.raises(ModelError, match="looks like a LoRA"):
        load_checkpoint(lora)


def test_unet_without_text_encoder(demo_sd15: DemoPaths, tmp_path: Path) -> None:
    state = load_file(demo_sd15.single_file)
    path = tmp_path / "unet-only.safetensors"
    save_file({k: v for k, v in state.items() if k.startswith("model.")}, str(path))
    with pytest.raises(ModelError, match="no text encoder"):
        load_checkpoint(path)


def test_weights_that_do_not_fit(demo_sd15: DemoPaths, tmp_path: Path) -> None:
    state = load_file(demo_sd15.single_file)
    del state["model.diffusion_model.input_blocks.1.1.proj_out.bias"]
    path = tmp_path / "damaged.safetensors"
    save_file(state, str(path))
    with pytest.raises(ModelError, match=r"UNet: the weights do not fit .* 1 missing"):
        load_checkpoint(path)


def test_text_encoder_from_another_model(demo_sd15: DemoPaths, tmp_path: Path) -> None:
    """A text encoder whose width does not fit the UNet: caught before building anything."""
    from transformers import CLIPTextConfig, CLIPTextModel

    from nodes.models import ldm, to_ldm

    state = {k: v for k, v in load_file(demo_sd15.single_file).items() if "cond_stage" not in k}
    config = CLIPTextConfig(hidden_size=48, intermediate_size=96, num_hidden_layers=1)
    state |= to_ldm.clip_to_ldm(CLIPTextModel(config).state_dict(), ldm.SD1_CLIP)
    path = tmp_path / "mixed.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    with pytest.raises(ModelError, match="attends to 32-wide text features but the text enc"):
        load_checkpoint(path)


def test_pickle_with_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.ckpt"
    with path.open("wb") as f:
        pickle.dump({"state_dict": {"a": torch.zeros(1)}, "x": Payload()}, f, protocol=2)
    with pytest.raises(ModelError, match="does not unpickle"):
        load_checkpoint(path)
    torch.save({"state_dict": {"a": torch.zeros(1)}, "x": Payload()}, tmp_path / "evil2.pt")
    with pytest.raises(ModelError, match="does not unpickle"):
        load_checkpoint(tmp_path / "evil2.pt")


def test_corrupt_pickle(tmp_path: Path) -> None:
    path = tmp_path / "broken.ckpt"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(path)


def test_folder_errors(demo_sd15: DemoPaths, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no model_index\.json"):
        load_checkpoint(tmp_path)
    with pytest.raises(ModelError, match=r"holds one model \(UNet2DConditionModel\)"):
        load_checkpoint(demo_sd15.folder / "unet")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text(json.dumps({"text_encoder": ["t", "CLIPTextModel"]}))
    with pytest.raises(ModelError, match=r"missing config\.json"):
        detect(broken)


def test_folder_with_missing_weights(demo_sd15: DemoPaths, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(demo_sd15.folder, copy)
    (copy / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(ModelError, match="UNet: cannot load"):
        load_checkpoint(copy)
