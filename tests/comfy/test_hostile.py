"""Hostile ComfyUI files: every value read from one is checked where it is read, so the only
failure of the import and the export is a WorkflowError that names the node and the field.

Each test here is a crash found by hand or by the corpus fuzz
(``tests/engine/test_fuzz_corpus.py``), kept as its smallest reproducer.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from nodes.comfy import export_api, import_api, import_ui, load_document, open_any
from nodes.comfy.samplers import comfy_sampler, scheduler_params
from nodes.graph import Graph
from nodes.validation import validate
from nodes.workflow import WorkflowError, dumps, loads, to_dict
from tests.comfy.comfy_docs import UIDoc, sd15_api, sd15_ui


def _opens_or_refuses(doc: Any, registry) -> Graph | None:
    """Import, validate, export and import again; only WorkflowError may escape."""
    try:
        graph, _ = load_document(doc, registry)
    except WorkflowError:
        return None
    validate(graph)
    try:
        exported = export_api(graph)
    except WorkflowError:
        return graph
    with contextlib.suppress(WorkflowError):
        validate(load_document(json.loads(json.dumps(exported)), registry)[0])
    return graph


def _png(texts: dict[str, str]) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in texts.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def _node(doc: dict[str, Any], node_id: int) -> dict[str, Any]:
    return next(n for n in doc["nodes"] if n["id"] == node_id)


# ----------------------------------------------------------------- 1. Canny thresholds
@pytest.mark.parametrize("value", [1e308, -1e308, 1.7e308, 10**307])
def test_a_huge_canny_threshold_is_a_clean_error(registry, value) -> None:
    doc = sd15_api()
    doc["12"]["inputs"]["low_threshold"] = value
    with pytest.raises(WorkflowError, match=r"node 12 \(Canny\): low_threshold") as info:
        import_api(doc, registry)
    assert info.value.path == '$["12"].inputs'


def test_a_huge_canny_threshold_in_a_ui_file_names_the_node(registry) -> None:
    doc = sd15_ui().doc()
    _node(doc, 12)["widgets_values"] = [0.4, 1e308]
    index = next(i for i, n in enumerate(doc["nodes"]) if n["id"] == 12)
    with pytest.raises(WorkflowError, match=r"node 12 \(Canny\): high_threshold") as info:
        import_ui(doc, registry)
    assert info.value.path == f"$.nodes[{index}].widgets_values"


def test_a_huge_canny_threshold_from_a_primitive_is_a_clean_error(registry) -> None:
    doc = sd15_api()
    doc["50"] = {"class_type": "PrimitiveFloat", "inputs": {"value": 1e308}}
    doc["12"]["inputs"]["high_threshold"] = ["50", 0]
    with pytest.raises(WorkflowError, match=r"node 12 \(Canny\): high_threshold"):
        import_api(doc, registry)


@pytest.mark.parametrize("key", ["prompt", "workflow"])
def test_a_huge_canny_threshold_in_a_comfyui_png_is_a_clean_error(registry, tmp_path, key) -> None:
    if key == "prompt":
        doc: Any = sd15_api()
        doc["12"]["inputs"]["low_threshold"] = 1e308
    else:
        doc = sd15_ui().doc()
        _node(doc, 12)["widgets_values"] = [1e308, 0.8]
    path = tmp_path / "comfy.png"
    path.write_bytes(_png({key: json.dumps(doc)}))
    with pytest.raises(WorkflowError, match=rf"{key}.*Canny"):
        open_any(path, registry)


def test_an_exported_canny_threshold_that_overflows_is_refused(registry) -> None:
    graph = import_api(sd15_api(), registry)
    graph.nodes["12"].params["low"] = 10**400  # beyond any float: low / 255 overflows
    graph.nodes["12"].extra["comfy"]["api"]["inputs"]["low_threshold"] = 1e308
    with pytest.raises(WorkflowError, match=r"12\.low"):
        export_api(graph)


# ----------------------------------------------------------------- 2. switches as links
def test_a_linked_add_noise_is_not_a_crash(registry) -> None:
    doc = sd15_api()
    doc["23"]["inputs"]["add_noise"] = ["4", 0]
    doc["23"]["inputs"]["return_with_leftover_noise"] = ["4", 1]
    graph = import_api(copy.deepcopy(doc), registry)
    notes = " ".join(graph.metadata["import_notes"])
    assert "add_noise is fed by node 4" in notes
    assert graph.nodes["23"].params["add_noise"] is True  # the default, as nothing says
    assert _opens_or_refuses(doc, registry) is not None


def test_a_primitive_add_noise_that_is_no_switch_names_the_node(registry) -> None:
    doc = sd15_api()
    doc["50"] = {"class_type": "PrimitiveString", "inputs": {"value": "maybe"}}
    doc["23"]["inputs"]["add_noise"] = ["50", 0]
    with pytest.raises(WorkflowError, match=r"node 23 \(KSamplerAdvanced\): add_noise 'maybe'"):
        import_api(doc, registry)


# ----------------------------------------------------------------- 3. sampler names
def _primitive_sampler_ui(value: Any) -> dict[str, Any]:
    d = UIDoc()
    d.node(
        3,
        "KSampler",
        [1, "fixed", 2, 1.0, "euler", "normal", 1.0],
        (("model", "MODEL"),),
        (("LATENT", "LATENT"),),
    )
    d.widget_input(3, "sampler_name", "COMBO")
    d.node(50, "PrimitiveNode", [value], (), (("COMBO", "COMBO"),))
    d.nodes[50]["outputs"][0]["widget"] = {"name": "sampler_name"}
    d.link(50, 0, 3, "sampler_name")
    return d.doc()


@pytest.mark.parametrize("value", [["euler"], {"a": 1}, 3, None, True])
def test_a_primitive_sampler_name_that_is_no_name_opens_and_fails_validation(
    registry, value
) -> None:
    graph = import_ui(_primitive_sampler_ui(value), registry)
    problems = validate(graph)
    assert any(p.node_id == "3_scheduler" and p.field == "name" for p in problems)
    _opens_or_refuses(_primitive_sampler_ui(value), registry)


@pytest.mark.parametrize("value", [["euler"], {"a": 1}, ["4", 0], 3])
def test_scheduler_params_take_any_value(value) -> None:
    params, note = scheduler_params(value, value)
    assert params["name"] == value and note is None
    assert scheduler_params("euler", value)[0]["convention"] == "comfyui"
    comfy_sampler({"name": value, "sigmas": value, "convention": value})


def test_an_api_file_with_a_linked_sampler_name_exports(registry) -> None:
    doc = sd15_api()
    doc["3"]["inputs"]["sampler_name"] = ["4", 0]
    graph = import_api(doc, registry)
    graph.nodes["3_scheduler"].params["name"] = "euler"
    exported = export_api(graph)
    assert exported["3"]["inputs"]["sampler_name"] == "euler"


def test_a_daguerre_file_with_a_linked_sampler_name_in_its_comfy_record_exports(
    registry, tmp_path: Path
) -> None:
    doc = to_dict(import_api(sd15_api(), registry))
    doc["nodes"]["3"]["comfy"]["api"]["inputs"]["sampler_name"] = ["4", 0]
    doc["nodes"]["23"]["comfy"]["api"]["inputs"]["scheduler"] = {"x": [1]}
    path = tmp_path / "carried.json"
    path.write_text(json.dumps(doc))
    exported = export_api(open_any(path, registry))
    assert exported["3"]["inputs"]["sampler_name"] == "euler"
    assert exported["23"]["inputs"]["scheduler"] == "normal"


# ----------------------------------------------------------------- 4. node ids
@pytest.mark.parametrize("node_id", ["²", "٣", "１２", "1²"])
def test_a_node_id_of_unicode_digits_exports(registry, node_id) -> None:
    doc = sd15_api()
    doc[node_id] = doc.pop("5")
    doc["3"]["inputs"]["latent_image"] = [node_id, 0]
    graph = import_api(doc, registry)
    exported = export_api(graph)
    assert exported[node_id]["class_type"] == "EmptyLatentImage"
    assert exported["3"]["inputs"]["latent_image"] == [node_id, 0]


@pytest.mark.parametrize("wanted", ["9" * 5000, "", 7, None, ["5"]])
def test_a_carried_id_that_is_no_comfyui_id_is_renumbered(registry, wanted) -> None:
    doc = to_dict(import_api(sd15_api(), registry))
    doc["nodes"]["5"]["comfy"]["id"] = wanted  # int() refuses over 4300 digits
    doc["nodes"]["9"]["comfy"]["id"] = "4"  # taken: renumbered
    exported = export_api(loads(dumps(doc), registry))
    assert len(exported) == len(sd15_api())
    assert all(0 < len(key) <= 64 for key in exported)
    assert exported["26"]["class_type"] in ("EmptyLatentImage", "SaveImage")


# ----------------------------------------------------------------- 5. every value checked
def test_subgraph_definitions_of_the_wrong_type_are_ignored(registry) -> None:
    for subgraphs in (5, True, "x", {"a": 1}):
        doc = sd15_ui().doc()
        doc["definitions"] = {"subgraphs": subgraphs}
        assert len(import_ui(doc, registry)) > 5


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 10**400])
def test_numbers_no_file_can_hold_are_refused_where_they_are_read(registry, value) -> None:
    doc = sd15_api()  # parsed by a caller that allowed them (JSON text never does)
    doc["10"]["inputs"]["strength_model"] = value
    with pytest.raises(WorkflowError, match=r"node 10 \(LoraLoader\): strength_model is"):
        import_api(doc, registry)


@pytest.mark.parametrize("value", [10**400, float("inf")])
def test_an_integer_widget_refuses_what_is_no_integer(registry, value) -> None:
    doc = sd15_api()
    doc["5"]["inputs"]["width"] = value
    with pytest.raises(WorkflowError, match=r"node 5 \(EmptyLatentImage\): width is"):
        import_api(doc, registry)


def test_messages_stay_on_one_short_line(registry) -> None:
    doc = sd15_api()
    doc["a\nb"] = {"class_type": "Empty\nLatentImage", "inputs": {"width": 64}}
    doc["a\nb"]["class_type"] = "EmptyLatentImage"
    doc["a\nb"]["inputs"] = {"width": "x" * 1_000_000, "height": 64, "batch_size": 1}
    with pytest.raises(WorkflowError) as info:
        import_api(doc, registry)
    text = str(info.value)
    assert "\n" not in text and len(text) < 300
    assert "node 'a\\nb' (EmptyLatentImage): width is 'xxx" in text


def test_named_widget_values_are_shown_short(registry) -> None:
    doc = sd15_ui().doc()
    _node(doc, 5)["widgets_values"] = {"width": [0] * 100_000, "height": 64, "batch_size": 1}
    with pytest.raises(WorkflowError, match=r"width is \[0, 0") as info:
        import_ui(doc, registry)
    assert len(str(info.value)) < 300


def test_a_placeholder_describes_itself_on_one_line_whatever_its_params() -> None:
    from nodes.comfy.placeholder import describe

    text = describe("Custom\nNode" * 1000, "two\nlines")
    assert "\n" not in text and len(text) < 300 and text.endswith("two lines")
    assert "Daguerre has no node" in describe(["a list"], 5)


def _carried(registry) -> dict[str, Any]:
    """A Daguerre document of an API import, whose nodes carry ComfyUI's records."""
    doc = sd15_api()
    doc["99"] = _api_node("CustomModelLoader", {"model_name": "4x.pth"})
    doc["98"] = _api_node("CustomImageFilter", {"upscale_model": ["99", 0], "image": ["8", 0]})
    return to_dict(import_api(doc, registry))


def _api_node(class_type: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"inputs": inputs, "class_type": class_type, "_meta": {"title": class_type}}


@pytest.mark.parametrize(
    "outputs", [["output_0"], "output_0", 3, {"output_0": -1}, {"output_0": True}]
)
def test_a_carried_placeholder_output_record_of_the_wrong_type_is_an_export_error(
    registry, outputs
) -> None:
    doc = _carried(registry)
    doc["nodes"]["99"]["comfy"]["outputs"] = outputs
    graph = loads(dumps(doc), registry)
    with pytest.raises(WorkflowError, match=r"98\.upscale_model: output .* of 99 unknown"):
        export_api(graph)


@pytest.mark.parametrize("class_type", [["a"], 5, ""])
def test_a_placeholder_without_a_class_name_is_an_export_error(registry, class_type) -> None:
    doc = _carried(registry)
    doc["nodes"]["99"]["params"]["comfy_type"] = class_type
    doc["nodes"]["99"]["comfy"]["class_type"] = class_type
    with pytest.raises(WorkflowError, match="99: the ComfyUI node it stands for has no class"):
        export_api(loads(dumps(doc), registry))


@pytest.mark.parametrize(
    ("node", "param", "value", "message"),
    [
        ("5", "width", "wide", r"5: 'wide' for EmptyLatentImage's width, which takes an integer"),
        ("3", "cfg", [1, 2, 3], r"3: \[1, 2, 3\] for KSampler's cfg, which takes a number"),
        ("4", "path", 10**20, r"4: 1000.* for CheckpointLoaderSimple's ckpt_name, which takes a"),
        ("9", "prefix", None, r"9: None for SaveImage's filename_prefix, which takes text"),
    ],
)
def test_a_value_comfyui_cannot_take_is_an_export_error(
    registry, node, param, value, message
) -> None:
    graph = import_api(sd15_api(), registry)
    graph.nodes[node].params[param] = value
    with pytest.raises(WorkflowError, match=message):
        export_api(graph)


def test_an_export_error_lists_ten_problems_and_counts_the_rest(registry) -> None:
    graph = Graph(registry)
    for index in range(40):
        graph.add_node("utility.reroute", id=f"r{index}")
    with pytest.raises(WorkflowError) as info:
        export_api(graph)
    text = str(info.value)
    assert text.count("has no ComfyUI counterpart") == 10 and text.endswith("and 30 more")


def test_a_graph_with_nothing_comfyui_runs_is_an_export_error(registry) -> None:
    graph = Graph(registry)
    graph.add_node("utility.note", id="n")
    with pytest.raises(WorkflowError, match="nothing to export"):
        export_api(graph)


def test_what_exports_imports_again(registry) -> None:
    graph = import_api(sd15_api(), registry)
    graph.nodes["12"].params["low"] = 102  # an edit in Daguerre's units
    again = import_api(export_api(graph), registry)
    assert again.nodes["12"].params["low"] == 102


def test_a_png_chunk_error_says_which_chunk_once(registry, tmp_path) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(_png({"prompt": "{not json"}))
    with pytest.raises(WorkflowError) as info:
        open_any(path, registry)
    assert str(info.value).count("text chunk") == 1


def test_a_damaged_daguerre_chunk_is_named(registry, tmp_path) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(_png({"daguerre.workflow": json.dumps({"format": "daguerre.workflow"})}))
    with pytest.raises(
        WorkflowError, match=r"'daguerre\.workflow' text chunk: expected an integer"
    ):
        open_any(path, registry)


# ----------------------------------------------------------------- linear time
# Sizes at which the quadratic code took 10-15 s (on a busy 2-core machine) and the linear
# code takes under a second: the bound sits far from both.
LINEAR_SECONDS = 4.0


def _timed(run: Any) -> Any:
    start = time.perf_counter()
    result = run()
    assert time.perf_counter() - start < LINEAR_SECONDS
    return result


def test_thousands_of_ids_that_sanitise_alike_import_in_linear_time(registry) -> None:
    doc = {f"{'³' * 56}{i}": _api_node("Custom", {}) for i in range(12_000)}  # all "_..."
    graph = _timed(lambda: import_api(doc, registry))
    assert len(graph) == len(doc)


def test_a_placeholder_with_many_outputs_imports_in_linear_time(registry) -> None:
    d = UIDoc()
    d.node(1, "Custom", [], (), (("IMAGE", "IMAGE"),) * 150_000)
    graph = _timed(lambda: import_ui(d.doc(), registry))
    assert len(graph.nodes["1"].extra["comfy"]["outputs"]) == 150_000


def test_a_long_chain_of_bypassed_placeholders_passes_through_in_linear_time(registry) -> None:
    d = UIDoc()
    d.node(1, "LoadImage", ["a.png", "image"], (), (("IMAGE", "IMAGE"), ("MASK", "MASK")))
    count = 7000
    for i in range(2, count + 2):
        d.node(
            i, "ImageSharpen", [1, 1.0, 1.0], (("image", "IMAGE"),), (("IMAGE", "IMAGE"),), mode=4
        )
        d.link(i - 1, 0, i, "image")
    d.node(count + 2, "PreviewImage", [], (("images", "IMAGE"),), ())
    d.link(count + 1, 0, count + 2, "images")
    doc = d.doc()
    graph = _timed(lambda: import_ui(doc, registry))
    link = graph.link_into(str(count + 2), "image")
    assert link is not None and link.source == "1"


def test_many_readers_of_one_long_reroute_chain_import_in_linear_time(registry) -> None:
    """Each Preview Image reads a different point of one chain of Reroutes."""
    d = UIDoc()
    d.node(1, "LoadImage", ["a.png", "image"], (), (("IMAGE", "IMAGE"), ("MASK", "MASK")))
    count = 8000
    for i in range(2, count + 2):
        d.node(i, "Reroute", None, (("", "*"),), (("", "IMAGE"),))
        d.link(i - 1, 0, i, "")
        reader = count + i
        d.node(reader, "PreviewImage", [], (("images", "IMAGE"),), ())
        d.link(i, 0, reader, "images")
    doc = d.doc()
    graph = _timed(lambda: import_ui(doc, registry))
    for reader in (count + 2, 2 * count + 1):
        link = graph.link_into(str(reader), "image")
        assert link is not None and link.source == "1"


def test_a_param_that_merely_looks_like_a_link_is_no_link(registry) -> None:
    graph = import_api(sd15_api(), registry)
    graph.nodes["3"].params["cfg"] = ["23", 29]  # a value (from a file), not a link
    with pytest.raises(WorkflowError, match=r"3: \['23', 29\] for KSampler's cfg, which takes"):
        export_api(graph)


def test_export_problems_name_what_a_file_named_on_one_line(registry) -> None:
    graph = Graph(registry)
    graph.add_node("utility.note", id="n")
    graph.nodes["n"].type = "a\r\nb" * 1000  # a Daguerre file may say any type
    with pytest.raises(WorkflowError) as info:
        export_api(graph)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


@pytest.mark.parametrize("value", [-1.7976931348623157e308, 1e306])
def test_a_canny_threshold_the_import_cannot_read_back_is_an_export_error(registry, value) -> None:
    graph = import_api(sd15_api(), registry)
    graph.nodes["12"].params["low"] = value  # a float: written as ComfyUI's 0-1 value
    with pytest.raises(WorkflowError, match=r"12\.low: .* is out of range"):
        export_api(graph)


@pytest.mark.parametrize(
    "doc",
    [
        {"format": "daguerre.workflow", "version": 1, "nodes": {"x" * 100_000: {"type": "t"}}},
        {
            "format": "daguerre.workflow",
            "version": 1,
            "nodes": {"a": {"type": "utility.note", "type_version": "v" * 10**5}},
        },
    ],
)
def test_any_file_opens_or_fails_with_a_message_a_terminal_can_show(
    registry, tmp_path, doc
) -> None:
    # The Daguerre loader quotes ids and versions whole (nodes/workflow/format.py, reported);
    # whatever it says, opening any file through nodes.comfy cuts it to a readable line.
    for name, data in (
        ("long.json", json.dumps(doc).encode()),
        ("long.png", _png({"daguerre.workflow": json.dumps(doc)})),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(WorkflowError) as info:
            open_any(path, registry)
        assert len(str(info.value)) <= 2001
