from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nodes.models.errors import ModelError
from nodes.models.families import (
    FAMILIES,
    SD1,
    SD2,
    SDXL,
    SDXL_REFINER,
    Family,
    family_for_unet,
    get_family,
    heads_for_width,
    latent_to_rgb,
)


@pytest.mark.parametrize(
    ("name", "family"),
    [("sd15", SD1), ("SD1.x", SD1), ("sd1", SD1), ("sd21", SD2), ("SD2.x", SD2), ("SDXL", SDXL)],
)
def test_aliases(name: str, family: object) -> None:
    assert get_family(name) is family


def test_unknown_family() -> None:
    with pytest.raises(ModelError, match="unknown model family 'flux'"):
        get_family("flux")


def test_scaling_factors() -> None:
    assert SD1.vae_scaling_factor == SD2.vae_scaling_factor == 0.18215
    assert SDXL.vae_scaling_factor == 0.13025
    assert SDXL.base_config("vae")["scaling_factor"] == 0.13025


LOADABLE = [f for f in FAMILIES.values() if f.loadable]


@pytest.mark.parametrize("family", LOADABLE, ids=str)
def test_base_configs_complete(family: Family) -> None:
    fam = get_family(family)
    index = fam.model_index()
    for component in ("unet", "vae", "scheduler", *(s.component for s in fam.text_encoders)):
        assert component in index
        assert fam.base_config(component)
    assert (index.get("text_encoder_2") is not None) == (fam in (SDXL, SDXL_REFINER))
    assert len(fam.text_encoder_pads) == (2 if fam is SDXL else 1)


def test_published_values() -> None:
    """Spot checks of the published configs shipped in resources/models."""
    sd1, sd2, xl = (f.base_config("unet") for f in (SD1, SD2, SDXL))
    assert sd1["cross_attention_dim"] == 768 and sd1["attention_head_dim"] == 8
    assert sd2["cross_attention_dim"] == 1024 and sd2["attention_head_dim"] == [5, 10, 20, 20]
    assert sd2["use_linear_projection"] is True
    assert xl["cross_attention_dim"] == 2048 and xl["transformer_layers_per_block"] == [1, 2, 10]
    assert xl["projection_class_embeddings_input_dim"] == 2816
    assert SD2.base_config("text_encoder")["num_hidden_layers"] == 23
    assert SD2.base_config("scheduler")["prediction_type"] == "v_prediction"
    assert SDXL.base_config("text_encoder_2")["projection_dim"] == 1280


def test_config_copies_are_independent() -> None:
    SD1.base_config("unet")["in_channels"] = 9
    assert SD1.base_config("unet")["in_channels"] == 4


def test_heads_rule_matches_published_models() -> None:
    assert [heads_for_width(c) for c in (320, 640, 1280, 1280)] == [5, 10, 20, 20]
    assert [heads_for_width(w) for w in (768, 1024, 1280)] == [12, 16, 20]
    assert heads_for_width(32) == 4
    assert SD1.unet_heads(320) == 8 and SDXL.unet_heads(640) == 10


def test_latent_preview() -> None:
    latent = np.zeros((4, 3, 5), dtype=np.float32)
    latent[0] = 1.0
    rgb = latent_to_rgb(latent, SD1)
    assert rgb.shape == (3, 5, 3) and rgb.dtype == np.uint8
    expected = np.round((np.array([0.3512, 0.2297, 0.3227]) + 1) * 127.5)
    assert np.array_equal(rgb[0, 0], expected.astype(np.uint8))
    xl = latent_to_rgb(np.zeros((4, 2, 2), dtype=np.float32), SDXL)
    assert np.array_equal(xl[0, 0], np.round((np.array(SDXL.latent.rgb_bias) + 1) * 127.5))
    with pytest.raises(ValueError, match="4×H×W"):
        latent_to_rgb(np.zeros((3, 2, 2)), SD1)


@pytest.mark.parametrize("family", LOADABLE, ids=str)
def test_family_facts_match_the_diffusers_configs_it_loads(family: Family) -> None:
    """Each record's facts agree with the published configs shipped for it."""
    unet, vae = family.base_config("unet"), family.base_config("vae")
    scheduler, index = family.base_config("scheduler"), family.model_index()
    fmt = family.latent
    assert vae.get("scaling_factor", 0.18215) == fmt.scaling_factor
    assert (vae.get("shift_factor") or 0.0) == fmt.shift_factor
    assert vae["latent_channels"] == unet["in_channels"] == unet["out_channels"] == fmt.channels
    assert len(fmt.rgb_factors) == fmt.channels
    assert unet["sample_size"] * 8 == family.native_side(
        scheduler.get("prediction_type", "epsilon")
    )
    assert scheduler.get("prediction_type", "epsilon") == family.predictions[0]
    assert bool(unet.get("use_linear_projection")) == family.linear_projection
    added = unet.get("addition_embed_type") == "text_time"
    assert added == bool(family.added_conditions)
    widths = 0
    for spec in family.text_encoders:
        assert spec.component in index
        config = family.base_config(spec.component)
        widths += config["hidden_size"]
        with_projection = index[spec.component][1] == "CLIPTextModelWithProjection"
        assert spec.pooled == with_projection
        assert spec.pad_token in {"<|endoftext|>", "!"}
    assert unet["cross_attention_dim"] == widths
    if added:
        pooled = sum(
            family.base_config(s.component)["projection_dim"]
            for s in family.text_encoders
            if s.pooled
        )
        ids = len(
            family.time_ids
        )  # SDXL: h, w, top, left, target h, w; refiner: h, w, top, left, score
        expected = pooled + ids * unet["addition_time_embed_dim"]
        assert unet["projection_class_embeddings_input_dim"] == expected
    if family.unet_fixed_heads is not None:
        assert unet["attention_head_dim"] == family.unet_fixed_heads
    assert (
        family_for_unet(
            added_conditions=added,
            linear_projection=family.linear_projection,
            what="test",
            text_components=tuple(s.component for s in family.text_encoders),
        )
        is family
    )


def test_a_family_not_loadable_yet_is_refused_clearly() -> None:
    assert get_family("refiner") is SDXL_REFINER and SDXL_REFINER.loadable
    later = dataclasses.replace(SDXL_REFINER, loadable=False)
    with pytest.raises(
        ModelError, match=r"refiner\.safetensors is an SDXL refiner, which Daguerre"
    ):
        later.require_loadable("refiner.safetensors")
    with pytest.raises(ModelError, match="does not load yet"):
        later.base_config("unet")
