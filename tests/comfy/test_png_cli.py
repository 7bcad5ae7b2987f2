"""PNGs that carry workflows, and the CLI commands: run/validate/info/export/templates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from nodes import cli
from nodes.comfy import export_api, open_any, open_file
from nodes.paths import resources_dir
from nodes.workflow import WorkflowError
from tests.comfy.comfy_docs import UIDoc

WORKFLOWS = resources_dir() / "workflows"
SMALL = ["--set", "latent.width=64", "--set", "latent.height=64", "--set", "sampler.steps=3"]


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _pixels(path: str | Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_a_daguerre_png_reopens_and_reproduces_its_image(capsys, demo_sd15, tmp_path: Path) -> None:
    code, out, _ = _cli(
        capsys,
        "run",
        WORKFLOWS / "txt2img.json",
        *SMALL,
        "--set",
        f"checkpoint.path={demo_sd15.single_file}",
        "--set",
        "sampler.seed=77",
        "--out",
        tmp_path / "first",
        "--json",
        "--quiet",
    )
    assert code == 0, out
    (first,) = json.loads(out)["outputs"]
    graph = open_any(first)
    assert graph.nodes["sampler"].params["seed"] == 77
    code, out, err = _cli(capsys, "validate", "--no-advice", first)  # a tiny 64×64 run
    assert (code, out, err) == (0, "", f"ok: {len(graph)} nodes, {len(graph.links)} links\n")
    code, out, _ = _cli(capsys, "run", first, "--out", tmp_path / "again", "--json", "--quiet")
    assert code == 0, out
    (again,) = json.loads(out)["outputs"]
    assert np.array_equal(_pixels(first), _pixels(again))  # CPU: identical pixels
    code, out, _ = _cli(capsys, "info", first)
    assert code == 0
    assert f"{first}: daguerre-png" in out
    assert "reproducibility record:" in out and '"seed": 77' in out
    assert "sampler" in out and "outputs: save" in out
    code, out, _ = _cli(capsys, "info", first, "--json")
    info = json.loads(out)
    assert info["kind"] == "daguerre-png"
    assert info["record"]["samplers"][0]["seed"] == 77
    assert info["record"]["models"][0]["sha256"]
    assert info["workflow"]["outputs"] == ["save"]


def _comfy_default(checkpoint: str) -> UIDoc:
    """ComfyUI's default graph, small."""
    d = UIDoc()
    d.node(
        4,
        "CheckpointLoaderSimple",
        [checkpoint],
        (),
        (("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")),
    )
    d.node(
        6,
        "CLIPTextEncode",
        ["beautiful scenery"],
        (("clip", "CLIP"),),
        (("CONDITIONING", "CONDITIONING"),),
    )
    d.node(
        7,
        "CLIPTextEncode",
        ["text, watermark"],
        (("clip", "CLIP"),),
        (("CONDITIONING", "CONDITIONING"),),
    )
    d.node(5, "EmptyLatentImage", [64, 64, 1], (), (("LATENT", "LATENT"),))
    d.node(
        3,
        "KSampler",
        [5, "randomize", 3, 8, "euler", "normal", 1],
        (
            ("model", "MODEL"),
            ("positive", "CONDITIONING"),
            ("negative", "CONDITIONING"),
            ("latent_image", "LATENT"),
        ),
        (("LATENT", "LATENT"),),
    )
    d.node(8, "VAEDecode", [], (("samples", "LATENT"), ("vae", "VAE")), (("IMAGE", "IMAGE"),))
    d.node(9, "SaveImage", ["ComfyUI"], (("images", "IMAGE"),), ())
    for link in (
        (4, 0, 3, "model"),
        (4, 1, 6, "clip"),
        (4, 1, 7, "clip"),
        (6, 0, 3, "positive"),
        (7, 0, 3, "negative"),
        (5, 0, 3, "latent_image"),
        (3, 0, 8, "samples"),
        (4, 2, 8, "vae"),
        (8, 0, 9, "images"),
    ):
        d.link(*link)
    return d


def _comfy_png(path: Path, **texts: str) -> Path:
    info = PngImagePlugin.PngInfo()
    for key, value in texts.items():
        info.add_text(key, value)
    Image.new("RGB", (8, 8), "gray").save(path, pnginfo=info)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, demo_sd15) -> Path:
    """A ComfyUI-style models folder with the demo checkpoint under a ComfyUI-ish name."""
    root = tmp_path_factory.mktemp("models")
    (root / "checkpoints").mkdir()
    (root / "checkpoints" / "v1-5-pruned-emaonly.safetensors").symlink_to(demo_sd15.single_file)
    return root


def test_a_comfyui_png_opens_validates_and_runs(capsys, models: Path, tmp_path: Path) -> None:
    doc = _comfy_default("v1-5-pruned-emaonly.safetensors").doc()
    graph = open_any(_comfy_png(tmp_path / "a.png", workflow=json.dumps(doc)))
    prompt = json.dumps(export_api(graph))
    png = _comfy_png(tmp_path / "comfy.png", prompt=prompt, workflow=json.dumps(doc))
    opened = open_file(png)
    assert opened.kind == "comfyui-ui-png"
    assert opened.graph.nodes["3"].extra["seed_control"] == {"seed": "randomize"}
    assert opened.graph.metadata["title"] == "comfy"
    code, out, _ = _cli(capsys, "validate", "--no-advice", png, "--models", models)
    assert (code, out) == (0, ""), out
    code, out, _ = _cli(
        capsys, "run", png, "--models", models, "--out", tmp_path / "out", "--json", "--quiet"
    )
    assert code == 0, out
    assert [Path(p).name for p in json.loads(out)["outputs"]] == ["ComfyUI_00001.png"]
    only_prompt = _comfy_png(tmp_path / "api.png", prompt=prompt)
    assert open_file(only_prompt).kind == "comfyui-api-png"


def test_a_broken_workflow_chunk_falls_back_to_the_prompt(tmp_path: Path) -> None:
    doc = _comfy_default("x.safetensors").doc()
    graph = open_any(_comfy_png(tmp_path / "a.png", workflow=json.dumps(doc)))
    png = _comfy_png(
        tmp_path / "b.png", workflow='{"nodes": [}', prompt=json.dumps(export_api(graph))
    )
    opened = open_file(png)
    assert opened.kind == "comfyui-api-png"
    assert "workflow chunk could not be read" in opened.graph.metadata["import_notes"][0]


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ({}, "carries no workflow"),
        ({"parameters": "a1111 text"}, "carries no workflow"),
        ({"workflow": "not json"}, "the PNG's 'workflow' text chunk: invalid JSON"),
        ({"daguerre.workflow": '{"format": "x"}'}, "is not a Daguerre workflow"),
    ],
)
def test_pngs_without_a_usable_workflow_are_clean_errors(
    capsys, tmp_path: Path, texts, message
) -> None:
    png = _comfy_png(tmp_path / "x.png", **texts)
    with pytest.raises(WorkflowError, match=message):
        open_any(png)
    code, out, _ = _cli(capsys, "validate", png)
    assert code == 1 and message.split(":")[0] in out


def test_non_workflow_files_are_clean_errors(capsys, tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "pic.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    for name, message in (("list.json", "not a workflow"), ("pic.jpg", "a JPEG image")):
        code, _, err = _cli(capsys, "run", tmp_path / name)
        assert code == 1 and message in err


def test_export_commands(capsys, tmp_path: Path, models: Path) -> None:
    code, _, err = _cli(
        capsys, "export", "--comfy-api", WORKFLOWS / "txt2img.json", "-o", tmp_path / "api.json"
    )
    assert code == 0 and "warning:" in err
    exported = json.loads((tmp_path / "api.json").read_text())
    assert {v["class_type"] for v in exported.values()} >= {"KSampler", "SaveImage"}
    comfy = tmp_path / "comfy.json"
    comfy.write_text(json.dumps(_comfy_default("v1-5-pruned-emaonly.safetensors").doc()))
    code, _, _ = _cli(capsys, "export", "--daguerre", comfy, "-o", tmp_path / "wf.json")
    assert code == 0
    saved = json.loads((tmp_path / "wf.json").read_text())
    assert saved["format"] == "daguerre.workflow" and "3_scheduler" in saved["nodes"]
    code, out, _ = _cli(capsys, "export", "--comfy-api", comfy)
    assert code == 0 and json.loads(out)["3"]["class_type"] == "KSampler"
    code, _, err = _cli(capsys, "export", comfy)
    assert code == 2 and "one of the arguments --comfy-api --daguerre is required" in err


def test_templates_command(capsys) -> None:
    code, out, _ = _cli(capsys, "templates", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [t["name"] for t in listed] == [
        "txt2img",
        "img2img",
        "sdxl_txt2img",
        "lcm",
        "lora",
        "controlnet_canny",
        "controlnet_two",
        "hires_fix",
        "upscale",
        "inpaint",
        "inpaint_model",
        "outpaint",
    ]
    for template in listed:
        assert template["title"] and template["description"]
        thumbnail = Path(template["thumbnail"])
        assert thumbnail.is_file() and thumbnail.stat().st_size < 20_000
        with Image.open(thumbnail) as image:
            assert image.size == (240, 150)
    code, out, _ = _cli(capsys, "templates")
    assert code == 0 and "Two ControlNets" in out and "Few-step LCM" in out
