from __future__ import annotations

import json
from pathlib import Path

import pytest

from nodes.paths import FileFinder, list_model_files, next_numbered, safe_prefix
from nodes.settings import ACCELERATION_ENV, Settings, acceleration_from_env, valid_device


def test_defaults_when_missing_or_broken(tmp_path: Path) -> None:
    assert Settings.load(tmp_path / "none.json") == Settings()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert Settings.load(broken) == Settings()
    broken.write_text("[1, 2]")
    assert Settings.load(broken) == Settings()


def test_round_trip_keeps_unknown_keys_and_rejects_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "device": "tpu",
                "previews": "yes",
                "preview_rate": 5,
                "models_dirs": ["/m"],
                "future_option": {"a": 1},
            }
        )
    )
    settings = Settings.load(path)
    assert settings.device == "auto"  # unknown device → default
    assert settings.previews is True  # wrong type → default
    assert settings.preview_rate == 5
    assert settings.models_dirs == ["/m"]
    settings.precision = "bf16"
    settings.save(path)
    saved = json.loads(path.read_text())
    assert saved["future_option"] == {"a": 1} and saved["precision"] == "bf16"
    assert Settings.load(path) == settings


def test_model_dirs_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _isolated_home: Path
) -> None:
    monkeypatch.setenv("DAGUERRE_MODELS", f"{tmp_path / 'env1'}:{tmp_path / 'env2'}")
    settings = Settings(models_dirs=[str(tmp_path / "set")])
    assert settings.model_dirs() == [
        tmp_path / "env1",
        tmp_path / "env2",
        tmp_path / "set",
        _isolated_home / "models",
    ]
    assert settings.model_dirs([tmp_path / "given"]) == [tmp_path / "given"]


def test_listing_and_resolving_models(tmp_path: Path) -> None:
    root = tmp_path / "models"
    (root / "checkpoints" / "sdxl").mkdir(parents=True)
    (root / "checkpoints" / "sd15.safetensors").write_bytes(b"x")
    (root / "checkpoints" / "sdxl" / "base.safetensors").write_bytes(b"x")
    (root / "checkpoints" / "notes.txt").write_text("not a model")
    folder = root / "checkpoints" / "my-diffusers"
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text("{}")
    (folder / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"x")
    (root / "Lora").mkdir()
    (root / "Lora" / "style.safetensors").write_bytes(b"x")
    assert list_model_files("checkpoints", [root]) == [
        "my-diffusers",
        "sd15.safetensors",
        "sdxl/base.safetensors",
    ]
    assert list_model_files("lora", [root]) == ["style.safetensors"]
    finder = FileFinder([root])
    assert finder("checkpoints", "sdxl/base.safetensors") == (
        root / "checkpoints" / "sdxl" / "base.safetensors"
    )
    assert finder("lora", "style.safetensors") == root / "Lora" / "style.safetensors"
    assert finder("checkpoints", "missing.safetensors") is None
    assert finder("checkpoints", "") is None


def test_output_names_cannot_escape(tmp_path: Path) -> None:
    assert safe_prefix("../../etc/passwd") == "etc_passwd"
    assert safe_prefix("/abs/path") == "abs_path"
    assert safe_prefix("..") == "daguerre"
    (tmp_path / "shot_00007.png").write_bytes(b"")
    assert next_numbered(tmp_path, "shot", ".png").name == "shot_00008.png"
    assert next_numbered(tmp_path, "../shot", ".png").parent == tmp_path


def test_gpus_by_index_and_acceleration_modes(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"device": "cuda:1", "acceleration": "compile"}))
    loaded = Settings.load(path)
    assert (loaded.device, loaded.acceleration) == ("cuda:1", "compile")
    for device in ("cuda:x", "cuda:", "cuda:²", "tpu", "cuda:12345"):
        path.write_text(json.dumps({"device": device, "acceleration": "warp"}))
        loaded = Settings.load(path)
        assert (loaded.device, loaded.acceleration) == ("auto", "auto"), device
    assert valid_device("cuda:0") and valid_device("mps") and not valid_device("cuda:-1")
    monkeypatch.setenv(ACCELERATION_ENV, "off")
    assert acceleration_from_env("graphs") == "off"
    monkeypatch.setenv(ACCELERATION_ENV, "nonsense")
    assert acceleration_from_env("graphs") == "graphs"
