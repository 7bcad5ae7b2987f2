"""ControlNet and standalone VAE loading."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import torch
from model_checks import assert_same_weights
from safetensors.torch import save_file

from nodes.models import to_ldm
from nodes.models.errors import ModelError
from nodes.models.families import SD1, SD2, SDXL
from nodes.models.loading import load_checkpoint, load_controlnet, load_vae

if TYPE_CHECKING:
    from pathlib import Path

    from nodes.models.demo import DemoPaths
    from nodes.models.families import Family
    from nodes.models.loading import LoadedCheckpoint


@pytest.mark.parametrize("fixture", ["demo_sd15", "demo_sd21", "demo_sdxl"])
def test_controlnet_folder_and_file_agree(fixture: str, request: pytest.FixtureRequest) -> None:
    demo: DemoPaths = request.getfixturevalue(fixture)
    folder = load_controlnet(demo.controlnet)
    single = load_controlnet(demo.controlnet_file)
    assert folder.family is single.family is demo.family
    assert_same_weights(folder.controlnet, single.controlnet)
    assert not single.controlnet.training


def _unet_inputs(ck: LoadedCheckpoint, family: Family) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    width = ck.unet.config["cross_attention_dim"]
    sample = torch.randn(1, 4, 8, 8, generator=g)
    text = torch.randn(1, 77, width, generator=g)
    hint = torch.rand(1, 3, 64, 64, generator=g)
    return sample, text, hint


@pytest.mark.parametrize("fixture", ["demo_sd15", "demo_sdxl"])
def test_controlnet_changes_the_unet_output(fixture: str, request: pytest.FixtureRequest) -> None:
    demo: DemoPaths = request.getfixturevalue(fixture)
    ck = load_checkpoint(demo.single_file)
    net = load_controlnet(demo.controlnet_file)
    net.check_family(ck.family)
    sample, text, hint = _unet_inputs(ck, ck.family)
    t = torch.tensor([500])
    extra = {}
    if ck.family is SDXL:
        projection_dim = ck.text_encoders[1].config.projection_dim
        assert projection_dim is not None
        pooled = torch.randn(1, projection_dim)
        sizes = torch.tensor([[64.0, 64.0, 0.0, 0.0, 64.0, 64.0]])
        extra["added_cond_kwargs"] = {"text_embeds": pooled, "time_ids": sizes}
    with torch.no_grad():
        down, mid = net.controlnet(
            sample, t, encoder_hidden_states=text, controlnet_cond=hint, return_dict=False, **extra
        )
        plain = ck.unet(sample, t, text, **extra).sample
        steered = ck.unet(
            sample,
            t,
            text,
            down_block_additional_residuals=down,
            mid_block_additional_residual=mid,
            **extra,
        ).sample
    assert all(r.abs().max() > 0 for r in (*down, mid))
    change = (steered - plain).abs().mean() / plain.abs().mean()
    assert change > 0.05


def test_controlnet_family_check(demo_sd15: DemoPaths, demo_sdxl: DemoPaths) -> None:
    net = load_controlnet(demo_sd15.controlnet)
    net.check_family(SD1)
    with pytest.raises(ModelError, match=r"SD1\.x ControlNet; it cannot steer a SDXL model"):
        net.check_family(SDXL)
    assert load_controlnet(demo_sdxl.controlnet).family is SDXL


def test_controlnet_in_diffusers_layout_single_file(demo_sd15: DemoPaths, tmp_path: Path) -> None:
    """Many ControlNets ship as a lone diffusers-layout `diffusion_pytorch_model.safetensors`."""
    reference = load_controlnet(demo_sd15.controlnet).controlnet
    path = tmp_path / "canny.safetensors"
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, str(path))
    loaded = load_controlnet(path)
    assert loaded.family is SD1
    assert_same_weights(loaded.controlnet, reference)


def test_controlnet_errors(demo_sd15: DemoPaths) -> None:
    with pytest.raises(ModelError, match="not a ControlNet"):
        load_controlnet(demo_sd15.single_file)
    with pytest.raises(ModelError, match="not found"):
        load_controlnet(demo_sd15.controlnet.parent / "nope")


def test_vae_sources_agree(demo_sd15: DemoPaths, tmp_path: Path) -> None:
    from_folder = load_vae(demo_sd15.folder)
    from_vae_subfolder = load_vae(demo_sd15.folder / "vae")
    from_checkpoint = load_vae(demo_sd15.single_file)
    # A standalone VAE file in the original layout (like vae-ft-mse-840000) has no prefix.
    standalone = tmp_path / "vae.safetensors"
    state = to_ldm.vae_to_ldm(from_folder.state_dict(), prefix="")
    save_file({k: v.contiguous() for k, v in state.items()}, str(standalone))
    from_standalone = load_vae(standalone)
    # And one in diffusers layout.
    diffusers_file = tmp_path / "diffusion_pytorch_model.safetensors"
    save_file(dict(from_folder.state_dict()), str(diffusers_file))
    from_diffusers_file = load_vae(diffusers_file)
    for vae in (from_vae_subfolder, from_checkpoint, from_standalone, from_diffusers_file):
        assert_same_weights(vae, from_folder)
        assert vae.config["scaling_factor"] == 0.18215


def test_vae_scaling_follows_family(demo_sdxl: DemoPaths) -> None:
    assert load_vae(demo_sdxl.folder).config["scaling_factor"] == 0.13025  # folder config
    assert load_vae(demo_sdxl.single_file, family=SDXL).config["scaling_factor"] == 0.13025
    assert load_vae(demo_sdxl.single_file, family=SD2).config["scaling_factor"] == 0.18215
    with pytest.raises(ModelError, match="not a VAE"):
        load_vae(demo_sdxl.controlnet_file)
