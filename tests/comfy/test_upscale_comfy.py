"""ComfyUI's UpscaleModelLoader and ImageUpscaleWithModel: import (UI and API), export
round trips, and an imported ComfyUI upscale workflow that runs on the demo model."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from nodes.comfy import export_api, import_api, import_ui, placeholder_types
from nodes.context import Environment
from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.models.demo_upscale import make_demo_upscale_model
from nodes.paths import FileFinder
from tests.spandrel_import import import_spandrel

import_spandrel()


def _api() -> dict[str, dict[str, Any]]:
    """ComfyUI's upscale example, as the frontend sends it."""

    def node(class_type: str, title: str, **inputs: Any) -> dict[str, Any]:
        return {"inputs": inputs, "class_type": class_type, "_meta": {"title": title}}

    return {
        "1": node("UpscaleModelLoader", "Load Upscale Model", model_name="RealESRGAN_x4plus.pth"),
        "2": node("LoadImage", "Load Image", image="photo.png", upload="image"),
        "3": node(
            "ImageUpscaleWithModel",
            "Upscale Image (using Model)",
            upscale_model=["1", 0],
            image=["2", 0],
        ),
        "4": node("SaveImage", "Save Image", filename_prefix="ComfyUI", images=["3", 0]),
    }


def _ui() -> dict[str, Any]:
    def node(id_: int, type_: str, widgets: list[Any], inputs: list[dict], outputs: list[dict]):
        return {
            "id": id_,
            "type": type_,
            "pos": [100 * id_, 100],
            "size": [300, 100],
            "flags": {},
            "order": id_,
            "mode": 0,
            "inputs": inputs,
            "outputs": outputs,
            "properties": {},
            "widgets_values": widgets,
        }

    return {
        "last_node_id": 4,
        "last_link_id": 3,
        "nodes": [
            node(
                1,
                "UpscaleModelLoader",
                ["RealESRGAN_x4plus.pth"],
                [],
                [{"name": "UPSCALE_MODEL", "type": "UPSCALE_MODEL", "links": [1], "slot_index": 0}],
            ),
            node(
                2,
                "LoadImage",
                ["photo.png", "image"],
                [],
                [
                    {"name": "IMAGE", "type": "IMAGE", "links": [2], "slot_index": 0},
                    {"name": "MASK", "type": "MASK", "links": None, "slot_index": 1},
                ],
            ),
            node(
                3,
                "ImageUpscaleWithModel",
                [],
                [
                    {"name": "upscale_model", "type": "UPSCALE_MODEL", "link": 1},
                    {"name": "image", "type": "IMAGE", "link": 2},
                ],
                [{"name": "IMAGE", "type": "IMAGE", "links": [3], "slot_index": 0}],
            ),
            node(
                4,
                "SaveImage",
                ["ComfyUI"],
                [{"name": "images", "type": "IMAGE", "link": 3}],
                [],
            ),
        ],
        "links": [
            [1, 1, 0, 3, 0, "UPSCALE_MODEL"],
            [2, 2, 0, 3, 1, "IMAGE"],
            [3, 3, 0, 4, 0, "IMAGE"],
        ],
        "groups": [],
        "config": {},
        "extra": {},
        "version": 0.4,
    }


def test_both_forms_import_to_the_upscale_nodes(registry) -> None:
    for graph in (import_api(_api(), registry), import_ui(_ui(), registry)):
        assert placeholder_types(graph) == []
        assert graph.nodes["1"].type == "loaders.upscale_model"
        assert graph.nodes["1"].params == {"path": "RealESRGAN_x4plus.pth"}
        assert graph.nodes["3"].type == "image.upscale_with_model"
        links = {(x.source, x.output, x.target, x.input) for x in graph.links}
        assert ("1", "upscale_model", "3", "upscale_model") in links
        assert ("2", "image", "3", "image") in links
        assert ("3", "image", "4", "image") in links


def test_api_round_trip_is_equal(registry) -> None:
    original = _api()
    assert export_api(import_api(copy.deepcopy(original), registry)) == original


def test_an_imported_upscale_workflow_runs_on_the_demo_model(registry, tmp_path: Path) -> None:
    model = make_demo_upscale_model(tmp_path / "upscale_models")
    Image.fromarray(np.full((24, 32, 3), 120, np.uint8)).save(tmp_path / "photo.png")
    doc = _api()
    doc["1"]["inputs"]["model_name"] = model.name
    graph = import_api(doc, registry)
    env = Environment(output_dir=tmp_path / "out", resolve_file=FileFinder([tmp_path], tmp_path))
    outcome = Executor(env=env).run(graph)
    assert outcome.status is RunStatus.DONE, outcome.problems
    (saved,) = outcome.outputs
    with Image.open(saved) as image:
        assert image.size == (128, 96)
