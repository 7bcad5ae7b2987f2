"""Another app's models folder recognised from any of its levels (nodes.catalog.layouts)."""

from __future__ import annotations

from pathlib import Path

from nodes.catalog.layouts import FolderLayout, recognise_models_folder
from nodes.paths import list_model_files


def test_comfyui_from_its_install_models_folder_or_a_kind_folder(tmp_path: Path) -> None:
    models = tmp_path / "ComfyUI" / "models"
    for sub in ("checkpoints", "loras", "clip"):
        (models / sub).mkdir(parents=True)
    expected = FolderLayout("ComfyUI", (models,))
    for picked in (tmp_path / "ComfyUI", models, models / "checkpoints", models / "loras"):
        assert recognise_models_folder(picked) == expected


def test_automatic1111_with_its_embeddings_beside_models(tmp_path: Path) -> None:
    install = tmp_path / "stable-diffusion-webui"
    (install / "models" / "Stable-diffusion").mkdir(parents=True)
    (install / "models" / "Lora").mkdir()
    (install / "embeddings").mkdir()
    (install / "embeddings" / "bad-hands.pt").write_bytes(b"x")
    (install / "models" / "Lora" / "style.safetensors").write_bytes(b"x")
    layout = recognise_models_folder(install)
    assert layout == FolderLayout("AUTOMATIC1111", (install / "models", install))
    assert recognise_models_folder(install / "models" / "Stable-diffusion") == layout
    assert layout is not None
    assert list_model_files("lora", list(layout.dirs)) == ["style.safetensors"]
    assert list_model_files("embeddings", list(layout.dirs)) == ["bad-hands.pt"]


def test_a_daguerre_folder_and_folders_without_models(tmp_path: Path) -> None:
    (tmp_path / "mine" / "checkpoints").mkdir(parents=True)
    assert recognise_models_folder(tmp_path / "mine") == FolderLayout(
        "Daguerre", (tmp_path / "mine",)
    )
    (tmp_path / "empty").mkdir()
    assert recognise_models_folder(tmp_path / "empty") is None
    assert recognise_models_folder(tmp_path / "missing") is None
