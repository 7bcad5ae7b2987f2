"""Detection of family, widths and prediction type, on tiny models and full-size layouts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
import torch

from nodes.models import ldm, to_ldm
from nodes.models.detect import detect, detect_tensor_file
from nodes.models.families import SD1, SD2, SDXL, Family
from nodes.models.tensor_file import TensorFile

if TYPE_CHECKING:
    from nodes.models.demo import DemoPaths

UNET_FIELDS = (
    "block_out_channels",
    "layers_per_block",
    "down_block_types",
    "up_block_types",
    "cross_attention_dim",
    "attention_head_dim",
    "use_linear_projection",
    "in_channels",
    "out_channels",
)
TEXT_FIELDS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")


def _same_fields(a: dict, b: dict, fields: tuple[str, ...]) -> None:
    for f in fields:
        assert a.get(f) == b.get(f) or list(a.get(f) or []) == list(b.get(f) or []), f


@pytest.mark.parametrize("fixture", ["demo_sd15", "demo_sd21", "demo_sdxl"])
def test_single_file_and_folder_agree(fixture: str, request: pytest.FixtureRequest) -> None:
    demo: DemoPaths = request.getfixturevalue(fixture)
    single, folder = detect(demo.single_file), detect(demo.folder)
    assert single.family is folder.family is demo.family
    assert (single.layout, folder.layout) == ("single-file", "diffusers")
    _same_fields(single.unet, folder.unet, UNET_FIELDS)
    assert len(single.text_encoders) == len(folder.text_encoders)
    for a, b in zip(single.text_encoders, folder.text_encoders, strict=True):
        _same_fields(a, b, TEXT_FIELDS)
    for f in ("block_out_channels", "latent_channels", "layers_per_block", "scaling_factor"):
        assert single.vae[f] == folder.vae[f], f
    assert single.prediction == folder.prediction


def test_tiny_sd15_widths(demo_sd15: DemoPaths) -> None:
    det = detect(demo_sd15.single_file)
    assert det.family is SD1
    assert det.unet["block_out_channels"] == [32, 64]
    assert det.unet["down_block_types"] == ["CrossAttnDownBlock2D"] * 2
    assert det.unet["cross_attention_dim"] == 32
    assert det.unet["use_linear_projection"] is False
    assert det.unet["attention_head_dim"] == 8
    assert det.vae["block_out_channels"] == [32, 32, 64, 64]
    assert det.vae["latent_channels"] == 4
    assert det.vae["scaling_factor"] == 0.18215
    (text,) = det.text_encoders
    assert (text["hidden_size"], text["num_hidden_layers"], text["vocab_size"]) == (32, 2, 49408)
    assert text["hidden_act"] == "quick_gelu"
    assert det.text_encoder_classes == ("CLIPTextModel",)
    assert det.prediction == "epsilon"
    assert det.scheduler["_class_name"] == "PNDMScheduler"


def test_tiny_sdxl_widths(demo_sdxl: DemoPaths) -> None:
    det = detect(demo_sdxl.single_file)
    assert det.family is SDXL
    assert det.unet["down_block_types"] == ["DownBlock2D", "CrossAttnDownBlock2D"]
    assert det.unet["transformer_layers_per_block"] == [1, 2]
    assert det.unet["cross_attention_dim"] == 64
    assert det.unet["addition_embed_type"] == "text_time"
    assert det.unet["addition_time_embed_dim"] == 256
    assert det.unet["projection_class_embeddings_input_dim"] == 32 + 6 * 256
    assert det.text_encoder_classes == ("CLIPTextModel", "CLIPTextModelWithProjection")
    assert [t["hidden_act"] for t in det.text_encoders] == ["quick_gelu", "gelu"]
    assert det.text_encoders[1]["projection_dim"] == 32
    assert det.vae["scaling_factor"] == 0.13025


def test_sd2_v_prediction_heuristic(demo_sd21: DemoPaths, tmp_path: Path) -> None:
    det = detect(demo_sd21.single_file)
    assert det.family is SD2
    assert det.prediction == "v_prediction"
    assert "std" in det.prediction_reason
    assert det.scheduler["prediction_type"] == "v_prediction"
    assert det.text_encoders[0]["num_hidden_layers"] == 2  # the file's last layer is unused

    from nodes.models.demo import make_demo_model

    eps = make_demo_model(tmp_path, "sd21", prediction="epsilon")
    det = detect(eps.single_file)
    assert det.prediction == "epsilon"
    assert det.unet["sample_size"] == 64  # the 512 base model's size


def test_prediction_override(demo_sd21: DemoPaths, demo_sd15: DemoPaths) -> None:
    assert detect(demo_sd21.single_file, "epsilon").prediction == "epsilon"
    assert detect(demo_sd21.folder, "epsilon").scheduler["prediction_type"] == "epsilon"
    assert detect(demo_sd15.single_file, "v_prediction").prediction == "v_prediction"
    assert detect(demo_sd21.folder).prediction == "v_prediction"
    with pytest.raises(ValueError, match="prediction must be one of"):
        detect(demo_sd15.single_file, "x0")  # type: ignore[arg-type]


# --- full-size layouts, built on the meta device (no memory, no weights) ------------------


def _full_size_ldm(family: Family) -> dict[str, torch.Tensor]:
    """The tensor names and shapes of a published checkpoint of `family`, as a single file."""
    import transformers
    from diffusers import AutoencoderKL, UNet2DConditionModel

    with torch.device("meta"):
        # from_config returns (model, unused kwargs) only with return_unused_kwargs=True
        unet = cast(
            UNet2DConditionModel, UNet2DConditionModel.from_config(family.base_config("unet"))
        )
        vae = cast(AutoencoderKL, AutoencoderKL.from_config(family.base_config("vae")))
        state = to_ldm.unet_to_ldm(unet.state_dict(), 2) | to_ldm.vae_to_ldm(vae.state_dict())
        if family is SD1:
            te = transformers.CLIPTextModel(
                transformers.CLIPTextConfig(**family.base_config("text_encoder"))
            )
            state |= to_ldm.clip_to_ldm(te.state_dict(), ldm.SD1_CLIP)
        elif family is SD2:
            cfg = family.base_config("text_encoder")
            cfg["num_hidden_layers"] += 1  # the file keeps OpenCLIP's last layer
            te = transformers.CLIPTextModelWithProjection(transformers.CLIPTextConfig(**cfg))
            state |= to_ldm.open_clip_to_ldm(te.state_dict(), ldm.SD2_OPENCLIP)
        else:
            te1 = transformers.CLIPTextModel(
                transformers.CLIPTextConfig(**family.base_config("text_encoder"))
            )
            te2 = transformers.CLIPTextModelWithProjection(
                transformers.CLIPTextConfig(**family.base_config("text_encoder_2"))
            )
            state |= to_ldm.clip_to_ldm(te1.state_dict(), ldm.SDXL_CLIP)
            state |= to_ldm.open_clip_to_ldm(te2.state_dict(), ldm.SDXL_OPENCLIP)
    return state


@pytest.mark.parametrize("family", [SD1, SD2, SDXL], ids=str)
def test_full_size_layout_gives_published_configs(family: Family) -> None:
    state = _full_size_ldm(family)
    if family is SD2:  # the v-prediction statistic reads one real tensor
        key = ldm.UNET + "output_blocks.11.1.transformer_blocks.0.norm1.bias"
        state[key] = torch.linspace(-0.5, 0.5, 320)
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    det = detect_tensor_file(TensorFile(Path(f"{family.id}.safetensors"), shapes, state))
    assert det.family is family
    published = family.base_config("unet")
    _same_fields(det.unet, published, UNET_FIELDS)
    assert det.unet.get("transformer_layers_per_block", 1) == published.get(
        "transformer_layers_per_block", 1
    )
    assert det.unet.get("addition_time_embed_dim") == published.get("addition_time_embed_dim")
    for i, text in enumerate(det.text_encoders):
        base = family.base_config("text_encoder" if i == 0 else f"text_encoder_{i + 1}")
        _same_fields(text, base, TEXT_FIELDS)
    for f in ("block_out_channels", "latent_channels", "layers_per_block"):
        assert det.vae[f] == family.base_config("vae")[f]
    expected = "v_prediction" if family is SD2 else "epsilon"
    assert det.prediction == expected


def test_full_size_sd15_key_count() -> None:
    """686 UNet + 248 VAE + 197 text encoder tensors: the count of SD1.5's pruned file."""
    state = _full_size_ldm(SD1)
    assert sum(k.startswith(ldm.UNET) for k in state) == 686
    assert sum(k.startswith(ldm.VAE) for k in state) == 248
    assert len(state) == 1131
    assert ldm.UNET + "output_blocks.11.0.skip_connection.weight" in state
    assert ldm.UNET + "input_blocks.3.0.op.weight" in state
    assert ldm.VAE + "decoder.up.3.upsample.conv.weight" in state
    assert state[ldm.VAE + "encoder.mid.attn_1.q.weight"].shape == (512, 512, 1, 1)


def test_full_size_ldm_round_trips_through_diffusers_converters() -> None:
    """Our diffusers→LDM names are exactly what diffusers' LDM→diffusers converters read."""
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        unet = cast(
            UNet2DConditionModel, UNet2DConditionModel.from_config(SDXL.base_config("unet"))
        )
    original = {k: tuple(v.shape) for k, v in unet.state_dict().items()}
    back = ldm.convert_unet(to_ldm.unet_to_ldm(unet.state_dict(), 2))
    assert {k: tuple(v.shape) for k, v in back.items()} == original


def test_markers_in_file(demo_sdxl: DemoPaths, tmp_path: Path) -> None:
    """v-prediction SDXL finetunes mark themselves with `v_pred` (and `ztsnr`) tensors."""
    from safetensors.torch import load_file, save_file

    state = load_file(demo_sdxl.single_file)
    state["v_pred"] = torch.tensor([])
    state["ztsnr"] = torch.tensor([])
    path = tmp_path / "vpred.safetensors"
    save_file(state, str(path))
    det = detect(path)
    assert det.prediction == "v_prediction"
    assert det.prediction_reason == "the file's v_pred marker"
    assert det.scheduler["rescale_betas_zero_snr"] is True
    assert detect(path, "epsilon").prediction == "epsilon"


def test_old_clip_key_layout(demo_sd15: DemoPaths, tmp_path: Path) -> None:
    """Early SD1.x files name CLIP's tensors without the `text_model.` level."""
    from model_checks import assert_same_weights
    from safetensors.torch import load_file, save_file

    from nodes.models.loading import load_checkpoint

    old = ldm.SD1_CLIP + "text_model."
    state = {k.replace(old, ldm.SD1_CLIP): v for k, v in load_file(demo_sd15.single_file).items()}
    path = tmp_path / "old.safetensors"
    save_file(state, str(path))
    assert not any(k.startswith(old) for k in state)
    a, b = load_checkpoint(path), load_checkpoint(demo_sd15.folder)
    assert_same_weights(a.text_encoders[0], b.text_encoders[0])


def test_openclip_projection_saved_as_linear_weight(demo_sdxl: DemoPaths, tmp_path: Path) -> None:
    from model_checks import assert_same_weights
    from safetensors.torch import load_file, save_file

    from nodes.models.loading import load_checkpoint

    state = load_file(demo_sdxl.single_file)
    key = ldm.SDXL_OPENCLIP + "text_projection"
    state[key + ".weight"] = state.pop(key).T.contiguous()
    path = tmp_path / "linear-projection.safetensors"
    save_file(state, str(path))
    a, b = load_checkpoint(path), load_checkpoint(demo_sdxl.folder)
    assert_same_weights(a.text_encoders[1], b.text_encoders[1])


@pytest.mark.parametrize("family", [SD1, SD2, SDXL], ids=str)
def test_full_size_layout_loads_strictly(family: Family, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole single-file load path on full-size layouts, on "meta" (no memory, no data).

    Every converted tensor must find its place in the models built from the detected
    configs, and every parameter must be given one.
    """
    import transformers

    from nodes.models import loading

    def meta_text_encoder(cls: str, config: dict, state: dict, device: object, dtype: object):
        # transformers' from_pretrained cannot take meta tensors; check the keys the same way.
        with torch.device("meta"):
            model = getattr(transformers, cls)(transformers.CLIPTextConfig(**config))
        if not hasattr(model, "text_model"):
            state = {k.removeprefix("text_model."): v for k, v in state.items()}
        missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
        assert [k for k in missing if not k.endswith("position_ids")] == []
        assert unexpected == []
        return model

    monkeypatch.setattr(loading, "_build_text_encoder", meta_text_encoder)
    state = _full_size_ldm(family)
    if family is SD2:
        state[ldm.UNET + "output_blocks.11.1.transformer_blocks.0.norm1.bias"] = torch.zeros(320)
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    tf = TensorFile(Path(f"{family.id}.safetensors"), shapes, state)
    ck = loading.load_tensor_file(tf, device="meta", dtype=torch.float16)
    unet_params = sum(p.numel() for p in ck.unet.parameters())
    expected = {SD1: 859_520_964, SD2: 865_910_724, SDXL: 2_567_463_684}[family]
    assert unet_params == expected
    assert ck.unet.dtype == torch.float16
    assert len(ck.text_encoders) == len(ck.tokenizers)
