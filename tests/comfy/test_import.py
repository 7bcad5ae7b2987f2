"""ComfyUI UI and API files into Daguerre graphs: every mapped node, layout, modes,
placeholders, primitives, reroutes, subgraphs and the errors for lists that don't fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nodes.comfy import PLACEHOLDER, import_api, import_ui, load_document, placeholder_types
from nodes.graph import Graph
from nodes.paths import FileFinder
from nodes.validation import validate
from nodes.workflow import WorkflowError, dumps, loads
from tests.comfy.comfy_docs import SD15, UIDoc, sd15_api, sd15_ui, sdxl_api
from tests.comfy.conftest import demo_resolver


def _links(graph: Graph) -> set[tuple[str, str, str, str]]:
    return {(link.source, link.output, link.target, link.input) for link in graph.links}


@pytest.fixture
def images(tmp_path: Path) -> Path:
    from PIL import Image

    picture = Image.new("RGB", (64, 64), "navy")
    picture.paste((250, 200, 40), (10, 10, 40, 50))
    picture.save(tmp_path / "control.png")
    return tmp_path


def test_ui_maps_every_core_node(registry, demo_sd15, images: Path) -> None:
    graph = import_ui(sd15_ui().doc(), registry)
    nodes = graph.nodes
    types = {node_id: data.type for node_id, data in nodes.items()}
    assert types == {
        "4": "loaders.checkpoint",
        "10": "loaders.lora",
        "6": "conditioning.text_encode",
        "7": "conditioning.text_encode",
        "11": "image.load",
        "12": "image.canny",
        "13": "loaders.controlnet",
        "14": "conditioning.controlnet_apply",
        "15": "conditioning.controlnet_apply",
        "5": "latent.empty",
        "30": "primitive.seed",
        "3_scheduler": "sampling.scheduler",
        "3": "sampling.sampler",
        "8": "vae.decode",
        "9": "image.save",
        "21": "loaders.vae",
        "22": "vae.encode",
        "23_scheduler": "sampling.scheduler",
        "23": "sampling.sampler",
        "24": "vae.decode",
        "25": "image.preview",
        "40": "utility.note",
        "41": "utility.note",
    }  # the Reroute (20) is resolved away
    assert nodes["4"].params == {"path": SD15, "prediction": "auto"}
    assert nodes["10"].params == {
        "path": "style.safetensors",
        "strength_unet": 0.8,
        "strength_clip": 0.6,
    }
    assert nodes["3_scheduler"].params == {
        "name": "euler",
        "sigmas": "karras",
        "convention": "comfyui",
        "timestep_spacing": "default",
    }
    assert nodes["3"].params == {
        "seed": 1234,
        "steps": 3,
        "cfg": 7.5,
        "denoise": 1.0,
        "start_step": 0,
        "end_step": 10000,
        "add_noise": True,
        "leftover_noise": False,
    }
    assert nodes["23"].params["seed"] == 42 and nodes["23"].params["cfg"] == 6.0
    assert nodes["23_scheduler"].params["name"] == "dpmpp_2m"
    assert nodes["30"].params == {"seed": 1234}
    assert nodes["30"].extra["seed_control"] == {"seed": "increment"}
    assert nodes["3"].extra["seed_control"] == {"seed": "increment"}
    assert nodes["23"].extra["seed_control"] == {"seed": "fixed"}
    assert nodes["12"].params == {"low": 102, "high": 204}
    assert nodes["14"].params == {"strength": 0.9, "start": 0.0, "end": 0.8}
    assert nodes["15"].params == {"strength": 0.5, "start": 0.0, "end": 1.0}
    assert nodes["9"].params == {"prefix": "ComfyUI", "rounding": "truncate"}
    assert nodes["21"].params == {"path": "vae-ft-mse-840000.safetensors", "family": "sd1"}
    assert nodes["11"].params == {"path": "control.png"}
    assert nodes["41"].params == {"text": "# A title"}
    links = _links(graph)
    assert ("10", "clip", "6", "clip") in links  # through the Reroute
    assert ("14", "positive", "15", "positive") in links
    assert ("14", "positive", "15", "negative") in links  # ControlNetApply: one conditioning
    assert ("15", "positive", "3", "positive") in links
    assert ("14", "negative", "3", "negative") in links
    assert ("30", "seed", "3", "seed") in links
    assert ("3_scheduler", "scheduler", "3", "scheduler") in links
    assert validate(graph, demo_resolver(demo_sd15, images)) == []


def test_layout_titles_colors_and_groups_are_kept(registry) -> None:
    doc = sd15_ui().doc()
    graph = import_ui(doc, registry)
    positive = graph.nodes["6"]
    raw = next(n for n in doc["nodes"] if n["id"] == 6)
    assert positive.position == tuple(raw["pos"]) and positive.size == (315.0, 100.0)
    assert positive.title == "Positive" and positive.color == "#232"
    assert positive.extra["comfy"]["ui"]["bgcolor"] == "#353"
    assert graph.nodes["9"].title == "Final image"
    (group,) = graph.groups.values()
    assert (group.title, group.rect, group.color) == ("Prompt", (300, 200, 500, 300), "#3f789e")
    assert group.extra["comfy"]["font_size"] == 24
    assert graph.extra["comfyui"]["document"]["extra"]["ds"]["scale"] == 1.0
    again = loads(dumps(graph), registry)  # saved and reopened as a Daguerre file
    assert again.nodes["6"].extra == positive.extra
    assert again.extra == graph.extra


def test_version_1_with_link_objects_reads_the_same(registry) -> None:
    old = import_ui(sd15_ui().doc(), registry)
    new = import_ui(sd15_ui(version=1, object_links=True).doc(), registry)
    assert _links(old) == _links(new)
    assert {k: d.params for k, d in old.nodes.items()} == {
        k: d.params for k, d in new.nodes.items()
    }


def test_api_format_gives_the_same_nodes(registry) -> None:
    ui_graph = import_ui(sd15_ui().doc(), registry)
    api_graph = import_api(sd15_api(), registry)
    for node_id, data in api_graph.nodes.items():
        assert ui_graph.nodes[node_id].type == data.type, node_id
        assert ui_graph.nodes[node_id].params == data.params, node_id
    primitive = {link for link in _links(ui_graph) if link[0] == "30"}
    assert _links(api_graph) == _links(ui_graph) - primitive
    assert api_graph.nodes["4"].title == "Load Checkpoint"  # from _meta
    assert api_graph.metadata["imported_from"] == "ComfyUI workflow (API format)"


def test_sdxl_text_encode_maps_when_both_prompts_agree(registry) -> None:
    graph = import_api(sdxl_api(), registry)
    assert graph.nodes["2"].type == "conditioning.text_encode_sdxl"
    assert graph.nodes["2"].params == {
        "text": "a fox",
        "width": 64,
        "height": 64,
        "crop_left": 0,
        "crop_top": 0,
        "target_width": 64,
        "target_height": 64,
        "convention": "comfyui",
    }
    doc = sdxl_api()
    doc["2"]["inputs"]["text_l"] = "a red fox"
    graph = import_api(doc, registry)
    assert graph.nodes["2"].type == PLACEHOLDER
    assert "text_g and text_l differ" in graph.nodes["2"].params["reason"]


@pytest.mark.parametrize(
    ("widgets", "message"),
    [
        ([1234, 3, 7.5, "euler", "karras", 1, "randomize"], "control_after_generate is 3"),
        (["euler", 1234, "randomize", 3, 7.5, "karras", 1], "widget seed is 'euler'"),
        ([1234, "randomize", 3], "has 3 widget values"),
        ([1234, "randomize", 3, 7.5, "euler", "karras", 1, "extra"], "has 8 widget values"),
        ([1234, "sometimes", 3, 7.5, "euler", "karras", 1], "control_after_generate"),
        ("1234", "expected a list of widget values"),
    ],
)
def test_widget_lists_that_do_not_fit_name_the_node(registry, widgets, message) -> None:
    d = sd15_ui()
    d.nodes[3]["widgets_values"] = widgets
    doc = d.doc()
    index = next(i for i, n in enumerate(doc["nodes"]) if n["id"] == 3)
    with pytest.raises(WorkflowError) as info:
        import_ui(doc, registry)
    assert info.value.path == f"$.nodes[{index}].widgets_values"
    assert "node 3 (KSampler)" in info.value.message
    assert message in info.value.message


def test_an_older_ksampler_list_without_the_seed_control_still_reads(registry) -> None:
    d = sd15_ui()
    d.nodes[3]["widgets_values"] = [1234, 3, 7.5, "euler", "karras", 1]
    graph = import_ui(d.doc(), registry)
    assert graph.nodes["3"].params["steps"] == 3
    assert "seed_control" not in graph.nodes["3"].extra


def test_api_values_of_the_wrong_kind_name_the_node_and_input(registry) -> None:
    doc = sd15_api()
    doc["3"]["inputs"]["steps"] = "20"
    with pytest.raises(WorkflowError) as info:
        import_api(doc, registry)
    assert info.value.path == '$["3"].inputs'
    assert "node 3 (KSampler): steps is '20', expected an integer" in info.value.message
    doc = sd15_api()
    del doc["3"]["inputs"]["cfg"]
    with pytest.raises(WorkflowError, match="input 'cfg' is missing"):
        import_api(doc, registry)


def test_bypass_and_mute(registry, demo_sd15, images: Path) -> None:
    d = sd15_ui()
    d.nodes[10]["mode"] = 4  # bypassed LoRA: model and clip pass through
    d.nodes[25]["mode"] = 2  # muted preview: not executed
    graph = import_ui(d.doc(), registry)
    assert graph.nodes["10"].bypass and graph.nodes["25"].bypass
    assert graph.nodes["25"].extra["comfy"]["ui"]["mode"] == 2
    assert any("muted" in note for note in graph.metadata["import_notes"])
    assert validate(graph, demo_resolver(demo_sd15, images)) == []


def _clip_skip_doc(mode: int = 0) -> UIDoc:
    d = UIDoc()
    d.node(
        1,
        "CheckpointLoaderSimple",
        [SD15],
        (),
        (("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")),
    )
    # a custom node (unmapped) between the checkpoint's CLIP and the text node
    d.node(2, "CustomCLIPTweak", [-2], (("clip", "CLIP"),), (("CLIP", "CLIP"),), mode=mode)
    d.node(3, "CLIPTextEncode", ["a cat"], (("clip", "CLIP"),), (("CONDITIONING", "CONDITIONING"),))
    d.node(4, "EmptyLatentImage", [64, 64, 1], (), (("LATENT", "LATENT"),))
    d.node(
        5,
        "KSampler",
        [1, "fixed", 2, 1.0, "euler", "normal", 1.0],
        (
            ("model", "MODEL"),
            ("positive", "CONDITIONING"),
            ("negative", "CONDITIONING"),
            ("latent_image", "LATENT"),
        ),
        (("LATENT", "LATENT"),),
    )
    d.node(6, "VAEDecode", [], (("samples", "LATENT"), ("vae", "VAE")), (("IMAGE", "IMAGE"),))
    d.node(7, "CustomModelLoader", ["4x.pth"], (), (("CUSTOM_MODEL", "CUSTOM_MODEL"),))
    d.node(8, "SaveImage", ["cat"], (("images", "IMAGE"),), ())
    d.link(1, 1, 2, "clip")
    d.link(2, 0, 3, "clip")
    d.link(1, 0, 5, "model")
    d.link(3, 0, 5, "positive")
    d.link(3, 0, 5, "negative")
    d.link(4, 0, 5, "latent_image")
    d.link(5, 0, 6, "samples")
    d.link(1, 2, 6, "vae")
    d.link(6, 0, 8, "images")
    return d


def test_unsupported_nodes_become_placeholders_that_fail_validation(registry, demo_sd15) -> None:
    graph = import_ui(_clip_skip_doc().doc(), registry)
    placeholder = graph.nodes["2"]
    assert placeholder.type == PLACEHOLDER
    assert placeholder.params["comfy_type"] == "CustomCLIPTweak"
    assert placeholder.extra["comfy"]["ui"]["widgets_values"] == [-2]
    assert ("1", "clip", "2", "clip") in _links(graph)
    assert ("2", "CLIP", "3", "clip") in _links(graph)
    assert placeholder_types(graph) == ["CustomCLIPTweak", "CustomModelLoader"]
    assert graph.metadata["unsupported_comfy_types"] == placeholder_types(graph)
    problems = [str(p) for p in validate(graph, demo_resolver(demo_sd15))]
    assert (
        "2.comfy_type: ComfyUI node 'CustomCLIPTweak' cannot run in Daguerre: Daguerre has "
        "no node of this type"
    ) in problems
    assert any(p.startswith("7.comfy_type: ComfyUI node 'CustomModelLoader'") for p in problems)
    assert any(p.startswith("3.clip: linked to 2.'CLIP'") for p in problems)
    again = loads(dumps(graph), registry)  # nothing is lost on save
    assert again.nodes["2"].extra == placeholder.extra and _links(again) == _links(graph)


def test_a_bypassed_unsupported_node_passes_its_input_through(
    registry, demo_sd15, comfy_executor
) -> None:
    d = _clip_skip_doc(mode=4)
    del d.nodes[7]  # an unconnected unsupported node would still stop the run
    graph = import_ui(d.doc(), registry)
    assert graph.nodes["2"].bypass
    assert ("1", "clip", "3", "clip") in _links(graph)
    assert validate(graph, demo_resolver(demo_sd15)) == []
    outcome = comfy_executor.run(graph)
    assert outcome.status == "done", outcome.problems


def test_a_subgraph_becomes_a_placeholder_that_keeps_its_definition(registry) -> None:
    d = _clip_skip_doc()
    d.nodes[7]["type"] = "9f1c0c1e-1111-4222-8333-944445555666"
    doc = d.doc()
    doc["definitions"] = {
        "subgraphs": [
            {
                "id": "9f1c0c1e-1111-4222-8333-944445555666",
                "name": "Upscale",
                "nodes": [{"id": 1, "type": "ImageScale"}, {"id": 2, "type": "ImageBlur"}],
            }
        ]
    }
    graph = import_ui(doc, registry)
    node = graph.nodes["7"]
    assert node.type == PLACEHOLDER and node.title == "Upscale"
    assert "subgraph ('Upscale', 2 nodes: ImageBlur, ImageScale)" in node.params["reason"]
    assert graph.extra["comfyui"]["document"]["definitions"] == doc["definitions"]


def test_primitive_values_are_linked_or_inlined(registry) -> None:
    d = sd15_ui()
    d.node(31, "PrimitiveNode", ["ddim", "fixed", ""], (), (("COMBO", "COMBO"),))
    d.nodes[31]["outputs"][0]["widget"] = {"name": "sampler_name"}
    d.widget_input(3, "sampler_name", "COMBO")
    d.link(31, 0, 3, "sampler_name")
    d.node(
        32,
        "PrimitiveStringMultiline",
        ["a lighthouse, from a primitive"],
        (),
        (("STRING", "STRING"),),
    )
    d.widget_input(6, "text", "STRING")
    d.link(32, 0, 6, "text")
    graph = import_ui(d.doc(), registry)
    assert graph.nodes["3_scheduler"].params["name"] == "euler"  # ComfyUI's ddim is Euler
    assert ("31", "value", "3_scheduler", "name") not in _links(graph)
    assert any("sampler_name comes from primitive 31" in n for n in graph.metadata["import_notes"])
    assert graph.nodes["32"].type == "primitive.string"
    assert ("32", "value", "6", "text") in _links(graph)


def test_model_names_resolve_in_a_comfyui_models_folder(registry, demo_sd15, tmp_path) -> None:
    models = tmp_path / "ComfyUI" / "models"
    (models / "checkpoints" / "SD1.5").mkdir(parents=True)
    (models / "checkpoints" / "SD1.5" / "dreamy.safetensors").symlink_to(demo_sd15.single_file)
    (models / "loras").mkdir()
    (models / "loras" / "style.safetensors").symlink_to(demo_sd15.lora)
    doc = _clip_skip_doc().doc()
    doc["nodes"] = [n for n in doc["nodes"] if n["type"] not in ("CustomCLIPTweak",)]
    doc["nodes"][0]["widgets_values"] = ["SD1.5\\dreamy.safetensors"]  # saved on Windows
    graph = import_ui(doc, registry)
    assert graph.nodes["1"].params["path"] == "SD1.5/dreamy.safetensors"
    finder = FileFinder([models])
    problems = {(p.node_id, p.field) for p in validate(graph, finder)}
    assert ("1", "path") not in problems
    api = sd15_api()
    graph = import_api(api, registry)
    assert finder("lora", graph.nodes["10"].params["path"]) is not None


def test_unknown_samplers_and_schedules_are_reported_by_validation(registry, demo_sd15) -> None:
    doc = sd15_api()
    doc["3"]["inputs"].update(sampler_name="dpmpp_3m_sde", scheduler="karras")
    doc["23"]["inputs"].update(sampler_name="euler", scheduler="align_your_steps")
    graph = import_api(doc, registry)
    problems = {str(p) for p in validate(graph, demo_resolver(demo_sd15))}
    assert any(p.startswith("3_scheduler.name: 'dpmpp_3m_sde' is not one of") for p in problems)
    assert any(p.startswith("23_scheduler.sigmas: 'align_your_steps'") for p in problems)


def test_samplers_without_comfyui_sigmas_fall_back_with_a_note(registry) -> None:
    doc = sd15_api()
    doc["3"]["inputs"].update(sampler_name="uni_pc_bh2", scheduler="karras")
    graph = import_api(doc, registry)
    assert graph.nodes["3_scheduler"].params == {
        "name": "uni_pc",
        "sigmas": "karras",
        "convention": "diffusers",
        "timestep_spacing": "default",
    }
    assert any("not the same picture" in n for n in graph.metadata["import_notes"])


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "not a workflow"),
        ({"nodes": "x", "links": []}, "not a workflow"),
        ({"nodes": [{"id": 1}], "links": []}, "$.nodes[0].type: expected the node's type name"),
        ({"nodes": [{"id": 1, "type": "X"}, {"id": 1, "type": "Y"}], "links": []}, "duplicate"),
        ({"nodes": [{"id": True, "type": "X"}], "links": []}, "$.nodes[0].id"),
        ({"nodes": [], "links": [[1, 2]]}, "$.links[0]"),
        ({"nodes": [{"id": 1, "type": "X", "pos": [1e300, 0]}], "links": []}, "$.nodes[0].pos"),
        ({"1": {"class_type": "KSampler", "inputs": []}}, '$["1"].inputs'),
        ({"1": {"class_type": 5, "inputs": {}}}, '$["1"].class_type'),
    ],
)
def test_malformed_files_are_clean_errors(registry, doc, message) -> None:
    with pytest.raises(WorkflowError) as info:
        load_document(doc, registry)
    assert message in str(info.value)


def test_a_link_to_a_missing_output_slot_is_an_error(registry) -> None:
    doc = sd15_api()
    doc["8"]["inputs"]["vae"] = ["4", 7]
    with pytest.raises(WorkflowError, match=r"output 7 of node 4 \(CheckpointLoaderSimple\)"):
        import_api(doc, registry)


def test_newer_save_image_outputs_pass_their_images_through(registry) -> None:
    d = _clip_skip_doc()
    d.nodes[8]["outputs"] = [{"name": "images", "type": "IMAGE", "links": []}]
    d.node(9, "ImageCompare", [], (("image_a", "IMAGE"), ("image_b", "IMAGE")), ())
    d.link(8, 0, 9, "image_b")
    graph = import_ui(d.doc(), registry)
    assert ("6", "image", "9", "image_b") in _links(graph)


def test_json_text_is_checked_like_daguerre_files(registry) -> None:
    doc = json.loads(json.dumps(sd15_api()))
    doc["6"]["inputs"]["text"] = "\ud800"
    with pytest.raises(WorkflowError, match="unpaired surrogate"):
        import_api(doc, registry)
