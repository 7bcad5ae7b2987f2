"""Templates: Daguerre's own (resources/workflows/) and ComfyUI's published ones
(the comfyui-workflow-templates-json package): every one imports; those made only of
core SD1.x/SDXL nodes validate and run on the demo models; the others name what is
missing."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from nodes.comfy import import_ui, placeholder_types
from nodes.context import Environment
from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.validation import validate
from nodes.workflow.templates import list_templates
from tests.comfy.conftest import demo_resolver, shrink
from tests.diffusion.conftest import default_workflow, tiny

CONTRACT = {
    "txt2img": {"checkpoint", "positive", "negative", "latent", "scheduler", "sampler", "save"},
    "inpaint": {"checkpoint", "image", "encode", "mask", "sampler", "composite", "save"},
    "inpaint_model": {"checkpoint", "image", "inpaint", "sampler", "composite", "save"},
    "outpaint": {"checkpoint", "image", "pad", "encode", "sampler", "composite", "save"},
    "lcm": {"checkpoint", "lora", "positive", "negative", "latent", "scheduler", "sampler"},
    "hires_fix": {"checkpoint", "positive", "latent", "sampler", "upscale", "hires", "save"},
    "upscale": {"image", "upscale_model", "upscale", "save"},
    "controlnet_two": {
        "control_image",
        "canny",
        "controlnet",
        "control",
        "control_image_2",
        "controlnet_2",
        "control_2",
        "sampler",
    },
}


def test_shipped_templates_keep_their_node_ids(registry) -> None:
    names = {t.name for t in list_templates()}
    assert names == {
        "txt2img",
        "img2img",
        "sdxl_txt2img",
        "lcm",
        "lora",
        "controlnet_canny",
        "controlnet_two",
        "hires_fix",
        "inpaint",
        "inpaint_model",
        "outpaint",
        "upscale",
    }
    for name, ids in CONTRACT.items():
        assert ids <= set(default_workflow(name, registry).nodes), name


def test_lcm_template_runs_with_and_without_its_lora(demo_sd15, executor, workflow) -> None:
    graph = workflow("lcm", tiny(demo_sd15.single_file, **{"sampler.steps": 4}))
    assert graph.nodes["scheduler"].params["name"] == "lcm"
    assert 4 <= default_workflow("lcm", graph.registry).nodes["sampler"].params["steps"] <= 8
    assert 1.0 <= graph.nodes["sampler"].params["cfg"] <= 2.0
    plain = executor.run(graph, capture=("decode",))
    assert plain.status is RunStatus.DONE, plain.problems
    graph.set_bypass("lora", False)
    graph.set_param("lora", "path", str(demo_sd15.lora))
    with_lora = executor.run(graph, capture=("decode",))
    assert with_lora.status is RunStatus.DONE, with_lora.problems
    assert (plain.values["decode"][0] - with_lora.values["decode"][0]).abs().max() > 0


def test_two_controlnets_template_runs(demo_sd15, executor, workflow, tmp_path) -> None:
    from PIL import Image

    Image.new("RGB", (64, 64), "navy").save(tmp_path / "a.png")
    Image.new("RGB", (64, 64), "olive").save(tmp_path / "b.png")
    overrides = tiny(
        demo_sd15.single_file,
        **{
            "control_image.path": str(tmp_path / "a.png"),
            "control_image_2.path": str(tmp_path / "b.png"),
            "controlnet.path": str(demo_sd15.controlnet),
            "controlnet_2.path": str(demo_sd15.controlnet_file),
        },
    )
    outcome = executor.run(workflow("controlnet_two", overrides))
    assert outcome.status is RunStatus.DONE, outcome.problems


# ----------------------------------------------------------------- ComfyUI's templates
def _published() -> list[Path]:
    try:
        import comfyui_workflow_templates_json as package
    except ImportError:  # pragma: no cover - a dev extra
        pytest.skip("comfyui-workflow-templates-json is not installed (pip install -e .[dev])")
    folder = Path(package.__file__).parent / "templates"
    return sorted(p for p in folder.glob("*.json") if not p.name.startswith("index") and _is_ui(p))


def _is_ui(path: Path) -> bool:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return isinstance(doc, dict) and "nodes" in doc


def _family(graph) -> str | None:
    """sd1 or sdxl from the checkpoint names a core-only template loads."""
    names = [
        d.params.get("path", "") for d in graph.nodes.values() if d.type.startswith("loaders.")
    ]
    if names and all("xl" in str(n).lower() for n in names):
        return "sdxl"
    if names and all(("1.5" in str(n) or "v1-" in str(n) or "sd15" in str(n)) for n in names):
        return "sd1"
    return None


def test_every_published_comfyui_template(registry, demo_sd15, demo_sdxl, tmp_path) -> None:
    paths = _published()
    clean, placeholders, ran = [], [], []
    missing: Counter[str] = Counter()
    executors = {
        family: Executor(
            env=Environment(output_dir=tmp_path / family, resolve_file=demo_resolver(demo))
        )
        for family, demo in (("sd1", demo_sd15), ("sdxl", demo_sdxl))
    }
    for path in paths:
        graph = import_ui(json.loads(path.read_text(encoding="utf-8")), registry)
        absent = placeholder_types(graph)
        if absent:
            placeholders.append(path.name)
            missing.update(absent)
            problems = validate(graph, demo_resolver(demo_sdxl))
            active = {  # a bypassed placeholder whose outputs nothing reads is no problem
                d.params["comfy_type"]
                for d in graph.nodes.values()
                if d.type == "comfy.placeholder" and not d.bypass
            }
            named = {t for t in active if any(f"ComfyUI node {t!r}" in p.message for p in problems)}
            assert named == active, path.name
            continue
        clean.append(path.name)
        family = _family(graph)
        assert family is not None, f"{path.name}: a core-only template that is not SD1.x/SDXL"
        demo = demo_sdxl if family == "sdxl" else demo_sd15
        assert validate(graph, demo_resolver(demo)) == [], path.name
        outcome = executors[family].run(shrink(graph))
        assert outcome.status is RunStatus.DONE, (path.name, outcome.problems)
        assert outcome.outputs, path.name
        ran.append(path.name)
    print(
        f"\nComfyUI templates: {len(paths)} imported, {len(clean)} without placeholders "
        f"({len(ran)} ran: {', '.join(ran)}), {len(placeholders)} with placeholders"
    )
    print("most often missing: " + ", ".join(f"{t} ({n})" for t, n in missing.most_common(12)))
    assert len(paths) > 600 and ran == clean and len(ran) >= 3


CHECKED = (
    "KSampler",
    "KSamplerAdvanced",
    "EmptyLatentImage",
    "CLIPTextEncode",
    "CheckpointLoaderSimple",
    "VAELoader",
    "LoraLoader",
    "SaveImage",
    "PrimitiveFloat",
    "PrimitiveBoolean",
    "PrimitiveStringMultiline",
    "ImageToMask",
    "SolidMask",
)


def test_our_widget_orders_agree_with_the_templates_named_values() -> None:
    """The package also stores each node's widget values by name: our positional decoding of
    the core nodes must give exactly those names and values."""
    from nodes.comfy.nodetypes import CLASSES
    from nodes.comfy.widgets import decode

    seen: Counter[str] = Counter()
    for path in _published():
        doc = json.loads(path.read_text(encoding="utf-8"))
        nodes = list(doc["nodes"])
        for subgraph in (doc.get("definitions") or {}).get("subgraphs") or []:
            nodes += subgraph.get("nodes", [])
        for node in nodes:
            if node.get("type") in CHECKED and "widgets_values_named" in node:
                named = node["widgets_values_named"]
                assert decode(node.get("widgets_values"), CLASSES[node["type"]].layouts) == named
                seen[node["type"]] += 1
    assert sum(seen.values()) > 200 and seen["KSampler"] > 20 and seen["KSamplerAdvanced"]


def test_files_saved_before_the_new_params_still_load(registry) -> None:
    """Scheduler, Sampler and Save Image gained params (version 1.1.0): a 1.0.0 file loads
    with the defaults, which keep its old behaviour."""
    raw = json.loads((Path(list_templates()[0].path)).read_text(encoding="utf-8"))
    assert raw["nodes"]["sampler"]["type_version"] == "1.0.0"
    graph = default_workflow("txt2img", registry)
    assert graph.nodes["scheduler"].type_version == "1.2.0"
    assert graph.nodes["scheduler"].params["convention"] == "diffusers"
    assert graph.nodes["scheduler"].params["timestep_spacing"] == "default"
    assert graph.nodes["save"].params["rounding"] == "nearest"
    sampler = graph.nodes["sampler"].params
    assert (sampler["start_step"], sampler["end_step"], sampler["add_noise"]) == (0, 10000, True)
    graph.set_param("checkpoint", "path", "model.safetensors")
    assert validate(graph, lambda kind, value: Path(".")) == []
