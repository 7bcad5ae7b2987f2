"""The default workflows run headless through `daguerre run` with the demo models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nodes import cli
from nodes.paths import resources_dir

WORKFLOWS = resources_dir() / "workflows"
SMALL = ["--set", "latent.width=64", "--set", "latent.height=64", "--set", "sampler.steps=3"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = cli.main(["run", *argv, "--json", "--quiet"])
    out = capsys.readouterr().out
    return code, json.loads(out)


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "picture.png"
    image = Image.new("RGB", (64, 64), "navy")
    image.paste((250, 200, 40), (10, 10, 40, 50))
    image.save(path)
    return path


def test_txt2img_sweep_caches_everything_but_sampler_decode_save(
    capsys: pytest.CaptureFixture[str], demo_sd15, tmp_path: Path
) -> None:
    code, summary = _run(
        capsys,
        str(WORKFLOWS / "txt2img.json"),
        *SMALL,
        "--out",
        str(tmp_path),
        "--set",
        f"checkpoint.path={demo_sd15.single_file}",
        "--sweep",
        "sampler.seed=1,2",
    )
    assert code == 0
    first, second = summary["runs"]
    assert all(not node["cached"] for node in first["nodes"].values())
    cached = {node_id for node_id, node in second["nodes"].items() if node["cached"]}
    assert {"checkpoint", "positive", "negative"} <= cached
    assert set(second["nodes"]) - cached == {"sampler", "decode", "save"}
    outputs = [Path(p) for run in summary["runs"] for p in run["outputs"]]
    assert [p.name for p in outputs] == ["txt2img_00001.png", "txt2img_00002.png"]
    assert all(p.is_file() for p in outputs)


def test_img2img_runs(capsys, demo_sd15, picture: Path, tmp_path: Path) -> None:
    code, summary = _run(
        capsys,
        str(WORKFLOWS / "img2img.json"),
        "--out",
        str(tmp_path),
        "--set",
        f"checkpoint.path={demo_sd15.single_file}",
        "--set",
        f"image.path={picture}",
        "--set",
        "sampler.steps=4",
    )
    assert code == 0, summary["errors"]
    with Image.open(summary["outputs"][0]) as image:
        assert image.size == (64, 64)


def test_controlnet_canny_runs_with_a_models_folder(
    capsys, demo_sd15, picture: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    assert cli.main(["make-demo-model", str(models)]) == 0
    capsys.readouterr()
    code, summary = _run(
        capsys,
        str(WORKFLOWS / "controlnet_canny.json"),
        *SMALL,
        "--out",
        str(tmp_path),
        "--models",
        str(models),
        "--set",
        "checkpoint.path=sd1-demo.safetensors",
        "--set",
        "controlnet.path=sd1-demo-controlnet",
        "--set",
        f"control_image.path={picture}",
    )
    assert code == 0, summary["errors"]
    assert len(summary["outputs"]) == 1


def test_sdxl_txt2img_runs(capsys, demo_sdxl, tmp_path: Path) -> None:
    code, summary = _run(
        capsys,
        str(WORKFLOWS / "sdxl_txt2img.json"),
        *SMALL,
        "--out",
        str(tmp_path),
        "--set",
        f"checkpoint.path={demo_sdxl.folder}",
    )
    assert code == 0, summary["errors"]
    assert len(summary["outputs"]) == 1


def test_models_command_lists_the_demo(capsys, tmp_path: Path) -> None:
    models = tmp_path / "models"
    assert cli.main(["make-demo-model", str(models), "--family", "sd15"]) == 0
    capsys.readouterr()
    assert cli.main(["models", "--json", "--models", str(models)]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["models"]["checkpoints"] == ["sd1-demo", "sd1-demo.safetensors"]
    assert listing["models"]["controlnet"] == [
        "sd1-demo-controlnet",
        "sd1-demo-controlnet.safetensors",
    ]


def test_demo_inpainting_model_runs_the_inpaint_model_template(
    capsys, holed: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    assert cli.main(["make-demo-model", str(models), "--inpainting"]) == 0
    capsys.readouterr()
    assert cli.main(["models", "--json", "--models", str(models)]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert {"sd1-inpainting-demo", "sd1-inpainting-demo.safetensors"} <= set(
        listing["models"]["checkpoints"]
    )
    code, summary = _run(
        capsys,
        str(WORKFLOWS / "inpaint_model.json"),
        "--out",
        str(tmp_path),
        "--models",
        str(models),
        "--set",
        "checkpoint.path=sd1-inpainting-demo.safetensors",
        "--set",
        f"image.path={holed}",
        "--set",
        "sampler.steps=2",
    )
    assert code == 0, summary["errors"]


def test_validate_reports_missing_model_by_node_and_field(capsys, tmp_path: Path) -> None:
    code = cli.main(["validate", str(WORKFLOWS / "txt2img.json"), "--models", str(tmp_path)])
    assert code == 1
    assert capsys.readouterr().out.splitlines() == ["checkpoint.path: no checkpoints file chosen"]


@pytest.fixture
def holed(tmp_path: Path) -> Path:
    """A 64² picture with a transparent hole: Load Image's mask is 1 there."""
    path = tmp_path / "holed.png"
    image = Image.new("RGBA", (64, 64), (20, 40, 120, 255))
    image.paste((0, 0, 0, 0), (16, 16, 48, 40))
    image.save(path)
    return path


@pytest.mark.parametrize("template", ["inpaint", "inpaint_model", "outpaint"])
def test_inpaint_templates_run(
    capsys, demo_sd15, demo_sd15_inpainting, holed: Path, tmp_path: Path, template: str
) -> None:
    model = demo_sd15_inpainting if template == "inpaint_model" else demo_sd15
    code, summary = _run(
        capsys,
        str(WORKFLOWS / f"{template}.json"),
        "--out",
        str(tmp_path),
        "--set",
        f"checkpoint.path={model.single_file}",
        "--set",
        f"image.path={holed}",
        "--set",
        "sampler.steps=3",
        *(["--set", "pad.right=32", "--set", "pad.feathering=8"] if template == "outpaint" else []),
    )
    assert code == 0, summary["errors"]
    with Image.open(summary["outputs"][0]) as image:
        result = np.asarray(image.convert("RGB"))
    with Image.open(holed) as original:
        source = np.asarray(original.convert("RGB"))
    if template == "outpaint":
        assert result.shape == (64, 96, 3)
        # the original's pixels, away from the feathered seam, come through untouched
        assert np.array_equal(result[:, :24], source[:, :24])
    else:
        assert result.shape == (64, 64, 3)
        keep = np.asarray(Image.open(holed).getchannel("A")) == 255
        assert np.array_equal(result[keep], source[keep])  # Composite: exact outside the mask
