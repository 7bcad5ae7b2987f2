"""Loading checkpoints: single file and folder give the same models, and they generate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import torch
from model_checks import assert_same_weights

from nodes.models.families import SD1, SD2, SDXL
from nodes.models.loading import LoadedCheckpoint, load_checkpoint

if TYPE_CHECKING:
    from nodes.models.demo import DemoPaths

FIXTURES = ["demo_sd15", "demo_sd21", "demo_sdxl"]
NO_SAFETY: Any = None
"""For ``safety_checker`` and ``feature_extractor``: diffusers types them as required, but
None (with ``requires_safety_checker=False``) is its documented way to run without them."""


@pytest.fixture(scope="module")
def loaded(request: pytest.FixtureRequest) -> dict[str, tuple[LoadedCheckpoint, LoadedCheckpoint]]:
    """Each demo model loaded from its single file and from its folder."""
    out = {}
    for name in FIXTURES:
        demo: DemoPaths = request.getfixturevalue(name)
        out[name] = (load_checkpoint(demo.single_file), load_checkpoint(demo.folder))
    return out


@pytest.mark.parametrize("fixture", FIXTURES)
def test_single_file_equals_folder(fixture: str, loaded: dict[str, Any]) -> None:
    """The LDM file went diffusers → LDM (demo) → diffusers (loader): nothing may change."""
    single, folder = loaded[fixture]
    assert single.family is folder.family
    assert_same_weights(single.unet, folder.unet)
    assert_same_weights(single.vae, folder.vae)
    assert len(single.text_encoders) == len(folder.text_encoders)
    for a, b in zip(single.text_encoders, folder.text_encoders, strict=True):
        assert type(a) is type(b)
        assert_same_weights(a, b)
    assert single.scheduler_config["prediction_type"] == folder.scheduler_config["prediction_type"]
    assert single.vae.config.scaling_factor == folder.vae.config.scaling_factor


@pytest.mark.parametrize("fixture", FIXTURES)
def test_loaded_components(fixture: str, loaded: dict[str, Any]) -> None:
    single, folder = loaded[fixture]
    for ck in (single, folder):
        n = 2 if ck.family is SDXL else 1
        assert len(ck.text_encoders) == len(ck.tokenizers) == n
        assert [t.pad_token for t in ck.tokenizers] == list(ck.family.text_encoder_pads)
        assert type(ck.text_encoders[-1]).__name__ == (
            "CLIPTextModelWithProjection" if n == 2 else "CLIPTextModel"
        )
        for model in (ck.unet, ck.vae, *ck.text_encoders):
            assert not model.training
            assert all(not p.requires_grad for p in model.parameters())
            assert all(p.dtype == torch.float32 for p in model.parameters())
    assert single.source.suffix == ".safetensors" and folder.source.is_dir()
    assert single.detection.layout == "single-file"


def test_scheduler_config_builds_a_scheduler(loaded: dict[str, Any]) -> None:
    import diffusers

    for single, _ in loaded.values():
        cfg = single.scheduler_config
        scheduler = getattr(diffusers, cfg["_class_name"]).from_config(cfg)
        assert scheduler.config.prediction_type == single.detection.prediction
    assert loaded["demo_sd21"][0].scheduler_config["prediction_type"] == "v_prediction"
    assert loaded["demo_sd21"][0].family is SD2


def test_dtype_and_prediction_override(demo_sd15: DemoPaths) -> None:
    ck = load_checkpoint(demo_sd15.single_file, dtype=torch.float16, prediction="v_prediction")
    assert ck.family is SD1
    assert ck.unet.dtype == ck.vae.dtype == ck.text_encoders[0].dtype == torch.float16
    assert ck.scheduler_config["prediction_type"] == "v_prediction"
    folder = load_checkpoint(demo_sd15.folder, dtype=torch.bfloat16)
    assert folder.unet.dtype == folder.text_encoders[0].dtype == torch.bfloat16


def test_pickled_checkpoint_loads_safely(demo_sd15: DemoPaths, tmp_path: Any) -> None:
    """A .ckpt holding only tensors loads through torch.load(weights_only=True)."""
    from safetensors.torch import load_file

    ckpt = tmp_path / "model.ckpt"
    torch.save({"state_dict": load_file(demo_sd15.single_file), "global_step": 1}, ckpt)
    a = load_checkpoint(ckpt)
    b = load_checkpoint(demo_sd15.single_file)
    assert_same_weights(a.unet, b.unet)
    assert_same_weights(a.text_encoders[0], b.text_encoders[0])


# --- generation through diffusers' own pipelines -----------------------------------------


def _pipeline(ck: LoadedCheckpoint) -> Any:
    import diffusers
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    cfg = ck.scheduler_config
    scheduler = getattr(diffusers, cfg["_class_name"]).from_config(cfg)
    encoder = ck.text_encoders[0]
    assert isinstance(encoder, CLIPTextModel)
    if ck.family is SDXL:
        encoder_2 = ck.text_encoders[1]
        assert isinstance(encoder_2, CLIPTextModelWithProjection)
        pipe = diffusers.StableDiffusionXLPipeline(
            vae=ck.vae,
            text_encoder=encoder,
            text_encoder_2=encoder_2,
            tokenizer=ck.tokenizers[0],
            tokenizer_2=ck.tokenizers[1],
            unet=ck.unet,
            scheduler=scheduler,
            add_watermarker=False,
        )
    else:
        pipe = diffusers.StableDiffusionPipeline(
            vae=ck.vae,
            text_encoder=encoder,
            tokenizer=ck.tokenizers[0],
            unet=ck.unet,
            scheduler=scheduler,
            safety_checker=NO_SAFETY,
            feature_extractor=NO_SAFETY,
            requires_safety_checker=False,
        )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _generate(ck: LoadedCheckpoint) -> np.ndarray:
    pipe = _pipeline(ck)
    return pipe(
        "a photo of a cat",
        negative_prompt="blurry",
        height=64,
        width=64,
        num_inference_steps=2,
        generator=torch.Generator().manual_seed(0),
        output_type="np",
    ).images[0]


@pytest.mark.parametrize("fixture", ["demo_sd15", "demo_sdxl"])
def test_pipeline_generates_same_image_from_both_formats(fixture: str, loaded: dict) -> None:
    single, folder = loaded[fixture]
    a, b = _generate(single), _generate(folder)
    assert a.shape == (64, 64, 3)
    assert np.isfinite(a).all()
    assert a.std() > 0.01  # noise, but not a flat image
    assert np.abs(a - b).max() <= 1 / 255


def test_folder_with_only_fp16_variant_weights(demo_sd15: DemoPaths, tmp_path: Any) -> None:
    """Published repos often hold `*.fp16.safetensors` only; those load without asking."""
    import shutil

    copy = tmp_path / "fp16-only"
    shutil.copytree(demo_sd15.folder, copy)
    for weights in copy.glob("*/*.safetensors"):
        weights.rename(weights.with_suffix(".fp16.safetensors"))
    a, b = load_checkpoint(copy), load_checkpoint(demo_sd15.folder)
    assert_same_weights(a.unet, b.unet)
    assert_same_weights(a.text_encoders[0], b.text_encoders[0])
