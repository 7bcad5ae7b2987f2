"""An empty model path stands for the only model of its kind in the models folders: the
demo path needs no file chosen. Several models (or none) still ask the user to choose."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodes import cli
from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.paths import FileFinder, model_stem
from nodes.registry import Registry
from nodes.validation import validate

ROOT = Path(__file__).resolve().parents[2]
TXT2IMG = ROOT / "resources" / "workflows" / "txt2img.json"


def _model(root: Path, relative: str, folder_marker: str | None = None) -> Path:
    path = root / relative
    if folder_marker:
        path.mkdir(parents=True)
        (path / folder_marker).write_text("{}")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"weights")
    return path


def test_an_empty_value_is_the_only_model_of_its_kind(tmp_path: Path) -> None:
    finder = FileFinder([tmp_path])
    assert finder("checkpoints", "") is None  # none yet
    only = _model(tmp_path, "checkpoints/sd15.safetensors")
    assert finder("checkpoints", "") == only
    assert finder("lora", "") is None  # another kind: still none
    lora = _model(tmp_path, "loras/style.safetensors")
    assert finder("lora", "") == lora
    _model(tmp_path, "checkpoints/sdxl.safetensors")
    assert finder("checkpoints", "") is None  # two models: the user chooses
    assert finder("checkpoints", "sdxl.safetensors") == tmp_path / "checkpoints/sdxl.safetensors"


def test_a_file_and_a_folder_of_one_model_count_once_and_the_file_is_used(
    tmp_path: Path,
) -> None:
    _model(tmp_path, "checkpoints/sd1-demo", folder_marker="model_index.json")
    single = _model(tmp_path, "checkpoints/sd1-demo.safetensors")
    assert FileFinder([tmp_path])("checkpoints", "") == single
    _model(tmp_path, "controlnet/canny", folder_marker="config.json")
    assert FileFinder([tmp_path])("controlnet", "") == tmp_path / "controlnet/canny"
    assert model_stem("checkpoints", "a.b.safetensors") == "a.b"
    assert model_stem("checkpoints", "folder") == "folder"


def test_comfyui_and_a1111_folder_names_and_several_models_folders(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    only = _model(first, "Stable-diffusion/v1.ckpt")
    assert FileFinder([first, second])("checkpoints", "") == only
    _model(second, "checkpoints/other.safetensors")
    assert FileFinder([first, second])("checkpoints", "") is None


def test_images_are_never_picked(tmp_path: Path) -> None:
    _model(tmp_path, "input/photo.png")
    finder = FileFinder([tmp_path])
    assert finder("images", "") is None
    assert finder("images", "photo.png") == tmp_path / "input/photo.png"


def _loader_graph() -> Graph:
    graph = Graph(load_builtin_nodes(Registry()))
    graph.add_node("loaders.checkpoint", id="checkpoint", params={"path": ""})
    return graph


def test_validation_accepts_an_empty_path_only_when_one_model_is_there(tmp_path: Path) -> None:
    graph = _loader_graph()
    finder = FileFinder([tmp_path])
    messages = [p.message for p in validate(graph, finder) if p.field == "path"]
    assert messages == ["no checkpoints file chosen"]
    _model(tmp_path, "checkpoints/only.safetensors")
    assert [p for p in validate(graph, finder) if p.field == "path"] == []
    _model(tmp_path, "checkpoints/second.safetensors")
    messages = [p.message for p in validate(graph, finder) if p.field == "path"]
    assert messages == ["no checkpoints file chosen"]


def test_daguerre_validate_takes_the_only_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DAGUERRE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DAGUERRE_MODELS", raising=False)
    models = tmp_path / "models"
    assert cli.main(["validate", str(TXT2IMG), "--models", str(models)]) == 1
    assert "checkpoint.path: no checkpoints file chosen" in capsys.readouterr().out
    _model(models, "checkpoints/sd1-demo.safetensors")
    assert cli.main(["validate", str(TXT2IMG), "--models", str(models)]) == 0
