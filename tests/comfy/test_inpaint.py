"""ComfyUI's inpainting and mask nodes: each class imported from both formats, exported
back unchanged, their widget-order quirks, and imported inpainting workflows that run."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from nodes.comfy import (
    PLACEHOLDER,
    ExportError,
    export_api,
    import_api,
    import_ui,
    placeholder_types,
)
from nodes.context import Environment
from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.graph import Graph
from nodes.validation import validate
from nodes.workflow import WorkflowError, dumps, loads
from tests.comfy.conftest import demo_resolver
from tests.comfy.inpaint_docs import inpaint_model_ui, inpaint_ui, masks_api, masks_ui
from tests.diffusion.conftest import default_workflow

# ComfyUI id → (class, Daguerre type, params, links into it)
CLASSES: dict[str, tuple[str, str, dict[str, Any], set[tuple[str, str, str]]]] = {
    "30": ("LoadImageMask", "mask.load", {"path": "mask.png", "channel": "red"}, set()),
    "31": ("ImageToMask", "mask.from_image", {"channel": "green"}, {("11", "image", "image")}),
    "32": ("MaskToImage", "mask.to_image", {}, {("30", "mask", "mask")}),
    "33": ("InvertMask", "mask.invert", {}, {("11", "mask", "mask")}),
    "34": (
        "GrowMask",
        "mask.grow",
        {"expand": 4, "tapered_corners": False},
        {("33", "mask", "mask")},
    ),
    "35": ("ThresholdMask", "mask.threshold", {"value": 0.25}, {("34", "mask", "mask")}),
    "36": (
        "FeatherMask",
        "mask.feather",
        {"left": 2, "top": 4, "right": 6, "bottom": 8},
        {("35", "mask", "mask")},
    ),
    "37": ("SolidMask", "mask.solid", {"value": 1.0, "width": 64, "height": 64}, set()),
    "38": (
        "MaskComposite",
        "mask.combine",
        {"x": 8, "y": 16, "operation": "or"},
        {("37", "mask", "destination"), ("36", "mask", "source")},
    ),
    "39": (
        "ImageCompositeMasked",
        "image.composite_masked",
        {"x": 4, "y": 8, "resize_source": True},
        {("11", "image", "destination"), ("32", "image", "source"), ("31", "mask", "mask")},
    ),
    "40": (
        "ImagePadForOutpaint",
        "image.pad_for_outpaint",
        {"left": 8, "top": 0, "right": 16, "bottom": 24, "feathering": 40},
        {("39", "image", "image")},
    ),
    "41": (
        "VAEEncodeForInpaint",
        "latent.encode_for_inpaint",
        {"grow_mask_by": 6},
        {("40", "image", "image"), ("4", "vae", "vae"), ("38", "mask", "mask")},
    ),
    "42": (
        "SetLatentNoiseMask",
        "latent.set_noise_mask",
        {},
        {("41", "latent", "latent"), ("40", "mask", "mask")},
    ),
    "43": (
        "InpaintModelConditioning",
        "conditioning.inpaint_model",
        {"noise_mask": False},
        {
            ("6", "conditioning", "positive"),
            ("7", "conditioning", "negative"),
            ("4", "vae", "vae"),
            ("40", "image", "pixels"),
            ("40", "mask", "mask"),
        },
    ),
}


def _import(form: str, registry) -> Graph:
    return (
        import_ui(masks_ui().doc(), registry) if form == "ui" else import_api(masks_api(), registry)
    )


def _shape(graph: Graph) -> tuple[dict[str, Any], set[tuple[str, str, str, str]]]:
    """What a graph means: its nodes' types and params, and its links."""
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
    into = {(x.source, x.output, x.input) for x in graph.links if x.target == node_id}
    assert into == links
    assert graph.metadata.get("import_notes", []) == []


def test_the_samplers_read_inpaint_model_conditioning_by_slot(registry) -> None:
    for form in ("ui", "api"):
        links = _shape(_import(form, registry))[1]
        assert ("43", "positive", "3", "positive") in links
        assert ("43", "negative", "3", "negative") in links
        assert ("42", "latent", "3", "latent") in links
        assert ("43", "latent", "45", "latent") in links  # slot 2


def test_the_mask_workflow_validates(registry, demo_sd15, tmp_path: Path) -> None:
    for name in ("photo.png", "mask.png"):
        Image.new("RGBA", (64, 64), "navy").save(tmp_path / name)
    graph = _import("ui", registry)
    assert placeholder_types(graph) == []
    assert validate(graph, demo_resolver(demo_sd15, tmp_path)) == []


def test_api_round_trip_is_equal(registry) -> None:
    original = masks_api()
    graph = import_api(copy.deepcopy(original), registry)
    assert export_api(graph) == original
    again = loads(dumps(graph), registry)  # also through a saved Daguerre file
    assert export_api(again) == original


def test_ui_import_exports_what_comfyui_would_send(registry) -> None:
    graph = import_ui(masks_ui().doc(), registry)
    exported = export_api(graph)
    assert _without_meta(exported) == _without_meta(masks_api())
    back = import_api(exported, registry)  # and reads back as the same graph
    assert _shape(back) == _shape(graph)


def test_edits_show_in_the_export(registry) -> None:
    graph = import_api(masks_api(), registry)
    graph.set_param("38", "operation", "xor")
    graph.set_param("30", "channel", "alpha")
    graph.set_param("43", "noise_mask", True)
    graph.set_param("40", "feathering", 0)
    inputs = {k: v["inputs"] for k, v in export_api(graph).items()}
    assert inputs["38"]["operation"] == "xor"
    assert inputs["30"]["channel"] == "alpha"
    assert inputs["43"]["noise_mask"] is True
    assert inputs["40"]["feathering"] == 0


@pytest.mark.parametrize(
    ("name", "classes"),
    [
        ("inpaint", {"LoadImage", "VAEEncode", "SetLatentNoiseMask", "ImageCompositeMasked"}),
        ("inpaint_model", {"LoadImage", "InpaintModelConditioning", "ImageCompositeMasked"}),
        ("outpaint", {"ImagePadForOutpaint", "VAEEncodeForInpaint", "ImageCompositeMasked"}),
    ],
)
def test_shipped_inpainting_templates_export(registry, name: str, classes: set[str]) -> None:
    exported = export_api(default_workflow(name, registry))
    assert classes <= {v["class_type"] for v in exported.values()}
    assert export_api(import_api(copy.deepcopy(exported), registry)) == exported


# ----------------------------------------------------------------- widget-order quirks
def test_inpaint_model_conditioning_before_its_noise_mask_widget(registry) -> None:
    """Files saved before ComfyUI added the widget: the latent got the noise mask."""
    for widgets in ([], None):
        d = masks_ui()
        if widgets is None:
            del d.nodes[43]["widgets_values"]
        else:
            d.nodes[43]["widgets_values"] = widgets
        assert import_ui(d.doc(), registry).nodes["43"].params == {"noise_mask": True}
    doc = masks_api()
    del doc["43"]["inputs"]["noise_mask"]
    graph = import_api(doc, registry)
    assert graph.nodes["43"].params == {"noise_mask": True}
    assert export_api(graph)["43"]["inputs"]["noise_mask"] is True  # what ComfyUI now needs


def test_load_image_mask_with_and_without_the_upload_value(registry) -> None:
    d = masks_ui()
    d.nodes[30]["widgets_values"] = ["mask.png", "alpha"]
    assert import_ui(d.doc(), registry).nodes["30"].params == {
        "path": "mask.png",
        "channel": "alpha",
    }
    original = masks_api()
    original["30"]["inputs"].pop("upload")
    assert export_api(import_api(copy.deepcopy(original), registry)) == original


def test_a_shifted_widget_list_is_an_error_naming_the_node(registry) -> None:
    d = masks_ui()
    d.nodes[38]["widgets_values"] = ["or", 8, 16]
    with pytest.raises(WorkflowError, match=r"node 38 \(MaskComposite\): widget x is 'or'"):
        import_ui(d.doc(), registry)
    d = masks_ui()
    d.nodes[34]["widgets_values"] = [True, 4]
    with pytest.raises(WorkflowError, match=r"node 34 \(GrowMask\)"):
        import_ui(d.doc(), registry)
    doc = masks_api()
    doc["35"]["inputs"]["value"] = "high"
    with pytest.raises(WorkflowError, match=r"node 35 \(ThresholdMask\): value is 'high'"):
        import_api(doc, registry)


def test_image_to_mask_alpha_is_a_placeholder(registry, demo_sd15, tmp_path: Path) -> None:
    """ComfyUI offers "alpha" for images that carry one; Daguerre's images are RGB."""
    doc = masks_api()
    doc["31"]["inputs"]["channel"] = "alpha"
    graph = import_api(doc, registry)
    assert graph.nodes["31"].type == PLACEHOLDER
    assert placeholder_types(graph) == ["ImageToMask"]
    problems = validate(graph, demo_resolver(demo_sd15, tmp_path))
    assert any("alpha channel" in p.message for p in problems if p.node_id == "31")
    assert export_api(graph) == doc  # an API placeholder exports as it came


def test_a_primitive_feeds_a_converted_widget(registry) -> None:
    d = masks_ui()
    d.node(50, "PrimitiveNode", [12, "fixed"], (), (("INT", "INT"),), title="grow")
    d.nodes[50]["outputs"][0]["widget"] = {"name": "expand"}
    d.widget_input(34, "expand", "INT")
    d.link(50, 0, 34, "expand")
    graph = import_ui(d.doc(), registry)
    assert graph.nodes["50"].type == "primitive.int"
    assert ("50", "value", "34", "expand") in _shape(graph)[1]
    assert export_api(graph)["34"]["inputs"]["expand"] == 12  # inlined, as ComfyUI's frontend


def test_composite_masked_without_its_optional_mask(registry) -> None:
    doc = masks_api()
    del doc["39"]["inputs"]["mask"]
    graph = import_api(copy.deepcopy(doc), registry)
    assert graph.link_into("39", "mask") is None
    assert export_api(graph) == doc
    graph = import_api(masks_api(), registry)
    assert graph.disconnect("39", "mask") is not None
    assert "mask" not in export_api(graph)["39"]["inputs"]  # not the original's link


def test_daguerre_mask_graphs_export(registry) -> None:
    graph = Graph(registry)
    graph.add_node("mask.load", id="load", params={"path": "m.png", "channel": "blue"})
    graph.add_node("mask.grow", id="grow", params={"expand": -3})
    graph.add_node("mask.to_image", id="image")
    graph.add_node("image.preview", id="preview")
    graph.connect("load", "mask", "grow", "mask")
    graph.connect("grow", "mask", "image", "mask")
    graph.connect("image", "image", "preview", "image")
    exported = export_api(graph)
    assert {v["class_type"]: v["inputs"] for v in exported.values()} == {
        "LoadImageMask": {"image": "m.png", "channel": "blue", "upload": "image"},
        "GrowMask": {"expand": -3, "tapered_corners": True, "mask": ["1", 0]},
        "MaskToImage": {"mask": ["2", 0]},
        "PreviewImage": {"images": ["3", 0]},
    }
    assert export_api(import_api(exported, registry)) == exported
    graph.add_node("mask.blur", id="blur")
    graph.connect("load", "mask", "blur", "mask")
    with pytest.raises(ExportError, match=r"blur: mask\.blur has no ComfyUI counterpart"):
        export_api(graph)


# ----------------------------------------------------------------- workflows that run
def _picture(folder: Path) -> Path:
    """A 64×64 picture whose transparent square is the mask (ComfyUI: 1 − alpha)."""
    pixels = np.zeros((64, 64, 4), np.uint8)
    pixels[..., :3] = (30, 60, 160)
    pixels[..., 3] = 255
    pixels[16:48, 16:48, 3] = 0
    Image.fromarray(pixels, "RGBA").save(folder / "inpaint.png")
    return folder


def _run(graph: Graph, resolve, out: Path, shared: Executor | None = None):
    """Run ``graph``, with the models ``shared`` has loaded when given."""
    env = Environment(output_dir=out, resolve_file=resolve)
    if shared is not None:
        env.services = shared.env.services
    executor = Executor(cache=shared.cache if shared is not None else None, env=env)
    outcome = executor.run(graph)
    assert outcome.status is RunStatus.DONE, (outcome.problems, outcome.error)
    (saved,) = outcome.outputs
    with Image.open(saved) as image:
        assert image.size == (64, 64)
    return outcome


def test_vae_encode_for_inpaint_workflow_runs(
    registry, demo_sd15, comfy_executor, tmp_path: Path
) -> None:
    resolve = demo_resolver(demo_sd15, _picture(tmp_path))
    graph = import_ui(inpaint_ui().doc(), registry)
    assert placeholder_types(graph) == []
    assert ("11", "mask", "12", "mask") in _shape(graph)[1]
    assert validate(graph, resolve) == []
    outcome = _run(graph, resolve, tmp_path / "out", comfy_executor)
    assert set(outcome.nodes) >= {"11", "12", "3", "8", "9"}


def test_inpaint_model_conditioning_workflow_runs(
    registry, demo_sd15_inpainting, tmp_path: Path
) -> None:
    images = _picture(tmp_path)
    checkpoint = demo_sd15_inpainting.single_file

    def resolve(kind: str, value: str) -> Path | None:
        if kind == "checkpoints":
            return checkpoint
        path = images / value
        return path if path.exists() else None

    graph = import_ui(inpaint_model_ui().doc(), registry)
    assert placeholder_types(graph) == []
    assert {("13", "mask", "14", "mask"), ("14", "latent", "3", "latent")} <= _shape(graph)[1]
    assert graph.nodes["13"].params == {"expand": 4, "tapered_corners": True}
    assert validate(graph, resolve) == []
    outcome = _run(graph, resolve, tmp_path / "out")
    assert set(outcome.nodes) >= {"13", "14", "3", "9"}
    assert export_api(graph)["14"]["class_type"] == "InpaintModelConditioning"
