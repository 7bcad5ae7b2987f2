"""ComfyUI's resize and crop classes (``nodes/comfy/resize_types.py``): each imported from
both formats, exported back unchanged, older widget lists, bislerp refused, every use in
the published templates read, ComfyUI's hires fix example imported with no placeholder and
run on the demo model, and Daguerre's hires fix template exported."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from nodes.comfy import PLACEHOLDER, export_api, import_api, import_ui, placeholder_types
from nodes.context import Environment
from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.graph import Graph
from nodes.validation import validate
from nodes.workflow import WorkflowError, dumps, loads
from tests.comfy.conftest import demo_resolver, shrink
from tests.comfy.resize_docs import hires_fix_ui, resize_api, resize_ui
from tests.diffusion.conftest import default_workflow

# ComfyUI id → (class, Daguerre type, params, links into it)
CLASSES: dict[str, tuple[str, str, dict[str, Any], set[tuple[str, str, str]]]] = {
    "10": (
        "LatentUpscale",
        "latent.upscale",
        {"method": "nearest-exact", "width": 96, "height": 96, "crop": "disabled"},
        {("3", "latent", "latent")},
    ),
    "50": (
        "LatentUpscaleBy",
        "latent.upscale_by",
        {"method": "bicubic", "factor": 1.5},
        {("10", "latent", "latent")},
    ),
    "51": (
        "ImageScale",
        "image.scale",
        {"method": "lanczos", "width": 128, "height": 0, "crop": "center"},
        {("8", "image", "image")},
    ),
    "52": (
        "ImageScaleBy",
        "image.scale_by",
        {"method": "area", "factor": 0.5},
        {("51", "image", "image")},
    ),
    "53": (
        "ImageScaleToTotalPixels",
        "image.scale_to_megapixels",
        {"method": "bilinear", "megapixels": 0.01, "multiple_of": 8},
        {("52", "image", "image")},
    ),
    "54": (
        "ImageCrop",
        "image.crop",
        {"width": 32, "height": 24, "x": 4, "y": 8},
        {("53", "image", "image")},
    ),
}
DAGUERRE = {class_type: type_id for class_type, type_id, _, _ in CLASSES.values()}


def _import(form: str, registry) -> Graph:
    return (
        import_ui(resize_ui().doc(), registry)
        if form == "ui"
        else import_api(resize_api(), registry)
    )


def _shape(graph: Graph) -> tuple[dict[str, Any], set[tuple[str, str, str, str]]]:
    nodes = {k: (d.type, d.params, d.bypass) for k, d in graph.nodes.items()}
    links = {(x.source, x.output, x.target, x.input) for x in graph.links}
    return nodes, links


def _without_meta(doc: dict) -> dict:
    return {k: {"inputs": v["inputs"], "class_type": v["class_type"]} for k, v in doc.items()}


@pytest.mark.parametrize("form", ["ui", "api"])
@pytest.mark.parametrize("node_id", sorted(CLASSES))
def test_each_class_imports(registry, form: str, node_id: str) -> None:
    class_type, type_id, params, links = CLASSES[node_id]
    graph = _import(form, registry)
    data = graph.nodes[node_id]
    assert (data.type, data.params) == (type_id, params)
    assert data.extra["comfy"]["class_type"] == class_type
    assert {(x.source, x.output, x.input) for x in graph.links if x.target == node_id} == links
    assert graph.metadata.get("import_notes", []) == []


def test_api_round_trip_is_equal(registry) -> None:
    original = resize_api()
    graph = import_api(copy.deepcopy(original), registry)
    assert export_api(graph) == original
    assert export_api(loads(dumps(graph), registry)) == original  # through a saved file too


def test_ui_import_exports_what_comfyui_would_send(registry) -> None:
    graph = import_ui(resize_ui().doc(), registry)
    exported = export_api(graph)
    assert _without_meta(exported) == _without_meta(resize_api())
    assert _shape(import_api(exported, registry)) == _shape(graph)


def test_edits_show_in_the_export(registry) -> None:
    graph = import_api(resize_api(), registry)
    graph.set_param("10", "crop", "center")
    graph.set_param("50", "factor", 2.0)
    graph.set_param("53", "multiple_of", 64)
    graph.set_param("54", "x", 0)
    inputs = {k: v["inputs"] for k, v in export_api(graph).items()}
    assert inputs["10"]["crop"] == "center"
    assert inputs["50"]["scale_by"] == 2.0
    assert inputs["53"]["resolution_steps"] == 64
    assert inputs["54"]["x"] == 0


def test_the_resize_workflow_runs(registry, demo_sd15, comfy_executor, tmp_path: Path) -> None:
    graph = import_ui(resize_ui().doc(), registry)
    assert placeholder_types(graph) == []
    assert validate(graph, demo_resolver(demo_sd15)) == []
    env = Environment(output_dir=tmp_path, resolve_file=demo_resolver(demo_sd15))
    env.services = comfy_executor.env.services
    outcome = Executor(cache=comfy_executor.cache, env=env).run(graph)
    assert outcome.status is RunStatus.DONE, (outcome.problems, outcome.error)
    (saved,) = outcome.outputs
    with Image.open(saved) as image:
        assert image.size == (32, 24)


# ----------------------------------------------------------------- older files and refusals
def test_scale_to_total_pixels_before_its_resolution_steps_widget(registry) -> None:
    d = resize_ui()
    d.nodes[53]["widgets_values"] = ["bilinear", 0.01]
    params = import_ui(d.doc(), registry).nodes["53"].params
    assert params == {"method": "bilinear", "megapixels": 0.01, "multiple_of": 1}
    doc = resize_api()
    del doc["53"]["inputs"]["resolution_steps"]
    graph = import_api(doc, registry)
    assert graph.nodes["53"].params["multiple_of"] == 1
    assert export_api(graph)["53"]["inputs"]["resolution_steps"] == 1  # what ComfyUI now needs


@pytest.mark.parametrize("node_id", ["10", "50"])
def test_bislerp_is_a_placeholder_that_says_why(registry, demo_sd15, node_id: str) -> None:
    doc = resize_api()
    doc[node_id]["inputs"]["upscale_method"] = "bislerp"
    graph = import_api(copy.deepcopy(doc), registry)
    assert graph.nodes[node_id].type == PLACEHOLDER
    assert placeholder_types(graph) == [doc[node_id]["class_type"]]
    problems = validate(graph, demo_resolver(demo_sd15))
    assert any("bislerp" in p.message for p in problems if p.node_id == node_id)
    assert export_api(graph) == doc  # an API placeholder exports as it came


def test_a_method_daguerre_lacks_and_a_shifted_list_are_named(registry, demo_sd15) -> None:
    doc = resize_api()
    doc["50"]["inputs"]["upscale_method"] = "lanczos"  # ComfyUI offers it for images only
    graph = import_api(doc, registry)
    problems = [p for p in validate(graph, demo_resolver(demo_sd15)) if p.node_id == "50"]
    assert [p.field for p in problems] == ["method"]
    d = resize_ui()
    d.nodes[54]["widgets_values"] = [32, 24, 4, "8"]
    with pytest.raises(WorkflowError, match=r"node 54 \(ImageCrop\): widget y is '8'"):
        import_ui(d.doc(), registry)


def test_a_primitive_feeds_a_converted_size_widget(registry) -> None:
    d = resize_ui()
    d.node(60, "PrimitiveNode", [200, "fixed"], (), (("INT", "INT"),), title="width")
    d.nodes[60]["outputs"][0]["widget"] = {"name": "width"}
    d.widget_input(51, "width", "INT")
    d.link(60, 0, 51, "width")
    graph = import_ui(d.doc(), registry)
    assert ("60", "value", "51", "width") in _shape(graph)[1]
    assert export_api(graph)["51"]["inputs"]["width"] == 200


# ----------------------------------------------------------------- ComfyUI's hires fix
def test_comfyuis_hires_fix_example_imports_with_no_placeholder_and_runs(
    registry, demo_sd15, comfy_executor, tmp_path: Path
) -> None:
    graph = import_ui(hires_fix_ui().doc(), registry)
    assert placeholder_types(graph) == []
    assert graph.nodes["10"].type == "latent.upscale"
    assert graph.nodes["10"].params == {
        "method": "nearest-exact",
        "width": 1152,
        "height": 1152,
        "crop": "disabled",
    }
    assert ("10", "latent", "11", "latent") in _shape(graph)[1]
    assert graph.nodes["11"].params["denoise"] == 0.5
    assert validate(graph, demo_resolver(demo_sd15)) == []
    shrink(graph)
    graph.set_param("10", "width", 96)
    graph.set_param("10", "height", 96)
    env = Environment(output_dir=tmp_path, resolve_file=demo_resolver(demo_sd15))
    env.services = comfy_executor.env.services
    outcome = Executor(cache=comfy_executor.cache, env=env).run(graph)
    assert outcome.status is RunStatus.DONE, (outcome.problems, outcome.error)
    sizes = []
    for saved in outcome.outputs:
        with Image.open(saved) as image:
            sizes.append(image.size)
    assert sorted(sizes) == [(64, 64), (96, 96)]  # the first pass and the hires pass


def test_daguerres_hires_fix_template_exports_and_reads_back(registry) -> None:
    exported = export_api(default_workflow("hires_fix", registry))
    classes = Counter(v["class_type"] for v in exported.values())
    assert classes["LatentUpscaleBy"] == 1 and classes["KSampler"] == 2
    (upscale,) = (v["inputs"] for v in exported.values() if v["class_type"] == "LatentUpscaleBy")
    assert (upscale["upscale_method"], upscale["scale_by"]) == ("nearest-exact", 1.5)
    assert export_api(import_api(copy.deepcopy(exported), registry)) == exported


# ----------------------------------------------------------------- the published templates
def _published_nodes() -> list[tuple[str, dict[str, Any]]]:
    try:
        import comfyui_workflow_templates_json as package
    except ImportError:  # pragma: no cover - a dev extra
        pytest.skip("comfyui-workflow-templates-json is not installed (pip install -e .[dev])")
    found = []
    for path in sorted((Path(package.__file__).parent / "templates").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if path.name.startswith("index") or not isinstance(doc, dict) or "nodes" not in doc:
            continue
        nodes = list(doc["nodes"])
        for subgraph in (doc.get("definitions") or {}).get("subgraphs") or []:
            nodes += subgraph.get("nodes", [])
        found += [(path.name, n) for n in nodes if n.get("type") in DAGUERRE]
    return found


def test_every_use_in_the_published_templates_reads(registry) -> None:
    """Each resize node of ComfyUI's published templates decodes against our widget
    orders (to the names the package stores beside them, where it does) and becomes its
    Daguerre node."""
    from nodes.comfy.nodetypes import CLASSES as RECORDS
    from nodes.comfy.widgets import decode
    from tests.comfy.comfy_docs import UIDoc

    seen: Counter[str] = Counter()
    for name, node in _published_nodes():
        class_type = node["type"]
        values = decode(node.get("widgets_values"), RECORDS[class_type].layouts)
        if "widgets_values_named" in node:
            assert values == node["widgets_values_named"], name
        d = UIDoc()
        inputs = tuple((i["name"], i["type"]) for i in node.get("inputs", []))
        outputs = tuple((o["name"], o["type"]) for o in node.get("outputs", []))
        d.node(1, class_type, node.get("widgets_values"), inputs, outputs)
        data = import_ui(d.doc(), registry).nodes["1"]
        assert data.type == DAGUERRE[class_type], (name, data.params)
        seen[class_type] += 1
    assert seen["ImageScaleToTotalPixels"] > 30 and seen["ImageScaleBy"] > 10
    assert seen["ImageScale"] >= 4
