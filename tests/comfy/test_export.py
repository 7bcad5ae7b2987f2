"""Export to ComfyUI API JSON, round trips, and imported workflows that run."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from nodes.comfy import ExportError, export_api, import_api, import_ui
from nodes.context import Environment
from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.graph import Graph
from nodes.workflow import dumps, loads
from tests.comfy.comfy_docs import sd15_api, sd15_ui, sdxl_api
from tests.comfy.conftest import demo_resolver
from tests.comfy.test_import import _clip_skip_doc
from tests.diffusion.conftest import default_workflow


def _without_meta(doc: dict) -> dict:
    return {k: {"inputs": v["inputs"], "class_type": v["class_type"]} for k, v in doc.items()}


@pytest.mark.parametrize("make", [sd15_api, sdxl_api])
def test_api_round_trip_is_equal(registry, make) -> None:
    original = make()
    graph = import_api(copy.deepcopy(original), registry)
    assert export_api(graph) == original
    again = loads(dumps(graph), registry)  # also through a saved Daguerre file
    assert export_api(again) == original


def test_round_trip_keeps_comfyui_spellings(registry) -> None:
    original = sd15_api()
    original["3"]["inputs"].update(sampler_name="ddim", cfg=8, denoise=1)
    original["12"]["inputs"].update(low_threshold=0.41, high_threshold=0.79)
    original["11"]["inputs"].pop("upload")
    graph = import_api(copy.deepcopy(original), registry)
    assert graph.nodes["3_scheduler"].params["name"] == "euler"
    assert export_api(graph) == original


def test_edits_show_in_the_export(registry) -> None:
    graph = import_api(sd15_api(), registry)
    graph.set_param("3", "steps", 25)
    graph.set_param("3_scheduler", "name", "heun")
    graph.set_param("12", "low", 51)
    exported = export_api(graph)
    assert exported["3"]["inputs"]["steps"] == 25
    assert exported["3"]["inputs"]["sampler_name"] == "heun"
    assert exported["3"]["inputs"]["scheduler"] == "karras"
    assert exported["12"]["inputs"]["low_threshold"] == 0.2


def test_ui_import_exports_what_comfyui_would_send(registry) -> None:
    graph = import_ui(sd15_ui().doc(), registry)
    assert _without_meta(export_api(graph)) == _without_meta(sd15_api())


def test_bypassed_nodes_are_resolved_like_comfyui(registry) -> None:
    d = sd15_ui()
    d.nodes[10]["mode"] = 4
    exported = export_api(import_ui(d.doc(), registry))
    assert "10" not in exported
    assert exported["3"]["inputs"]["model"] == ["4", 0]
    assert exported["6"]["inputs"]["clip"] == ["4", 1]


def test_daguerre_workflows_export_with_warnings(registry) -> None:
    graph = default_workflow("controlnet_canny", registry)
    warnings: list[str] = []
    exported = export_api(graph, warnings)
    by_class = {v["class_type"]: k for k, v in exported.items()}
    assert set(by_class) == {
        "CheckpointLoaderSimple",
        "CLIPTextEncode",
        "LoadImage",
        "Canny",
        "ControlNetLoader",
        "ControlNetApplyAdvanced",
        "EmptyLatentImage",
        "KSampler",
        "VAEDecode",
        "SaveImage",
    }
    sampler = exported[by_class["KSampler"]]["inputs"]
    assert (sampler["sampler_name"], sampler["scheduler"], sampler["seed"]) == (
        "euler",
        "normal",
        42,
    )
    assert any("conventions" in w for w in warnings)
    assert any("truncates" in w for w in warnings)
    back = import_api(exported, registry)  # and ComfyUI's form reads back the same graph
    assert export_api(back) == exported


def test_unexportable_graphs_say_why(registry) -> None:
    graph = Graph(registry)
    graph.add_node("primitive.int", id="n", params={"value": 3})
    graph.add_node("utility.display", id="show")
    graph.connect("n", "value", "show", "value")
    with pytest.raises(ExportError, match=r"show: utility\.display has no ComfyUI counterpart"):
        export_api(graph)
    placeholder = import_ui(_clip_skip_doc().doc(), registry)
    with pytest.raises(ExportError, match="widget names of ComfyUI node 'CustomCLIPTweak'"):
        export_api(placeholder)


def test_placeholders_from_api_files_export_unchanged(registry) -> None:
    original = sd15_api()
    original["50"] = {
        "inputs": {"colors": 16, "dither": "none", "image": ["8", 0]},
        "class_type": "ImageQuantize",
        "_meta": {"title": "Image Quantize"},
    }
    original["9"]["inputs"]["images"] = ["50", 0]
    graph = import_api(copy.deepcopy(original), registry)
    assert graph.nodes["50"].params["comfy_type"] == "ImageQuantize"
    assert export_api(graph) == original


def test_imported_sd15_workflow_runs(registry, demo_sd15, comfy_executor, tmp_path) -> None:
    from PIL import Image

    Image.new("RGB", (64, 64), "navy").save(tmp_path / "control.png")
    executor = Executor(
        cache=comfy_executor.cache,
        env=Environment(
            output_dir=tmp_path / "out",
            resolve_file=demo_resolver(demo_sd15, tmp_path),
            services=comfy_executor.env.services,
        ),
    )
    outcome = executor.run(import_ui(sd15_ui().doc(), registry))
    assert outcome.status is RunStatus.DONE, outcome.problems
    assert [Path(p).name for p in outcome.outputs] == ["ComfyUI_00001.png"]
    assert set(outcome.nodes) >= {"3", "23", "9", "25"}


def test_imported_sdxl_workflow_runs(registry, demo_sdxl, tmp_path) -> None:
    executor = Executor(env=Environment(output_dir=tmp_path, resolve_file=demo_resolver(demo_sdxl)))
    outcome = executor.run(import_api(sdxl_api(), registry))
    assert outcome.status is RunStatus.DONE, outcome.problems
    assert len(outcome.outputs) == 1
