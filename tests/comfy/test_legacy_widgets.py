"""Older widget forms ComfyUI still loads: its stock ``default.json`` (a boolean in the seed's
control slot, a Save Image without widget values, sizes as ``{"0": w, "1": h}``), the same
boolean on KSamplerAdvanced and on a PrimitiveNode feeding a seed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nodes.comfy import import_ui, open_any
from nodes.seed_control import SEED_CONTROL_KEY
from nodes.validation import validate
from nodes.workflow import WorkflowError, dumps, loads
from tests.comfy.comfy_docs import UIDoc
from tests.comfy.conftest import demo_resolver, shrink

DEFAULT_JSON = Path(__file__).parent / "data" / "comfyui_default.json"
"""ComfyUI's stock default graph (its ``defaultGraph``, as ``default.json`` ships it)."""


def test_comfyui_stock_default_json_opens_validates_and_runs(
    registry, demo_sd15, comfy_executor
) -> None:
    graph = open_any(DEFAULT_JSON, registry)
    types = {node_id: data.type for node_id, data in graph.nodes.items()}
    assert types == {
        "4": "loaders.checkpoint",
        "6": "conditioning.text_encode",
        "7": "conditioning.text_encode",
        "5": "latent.empty",
        "3_scheduler": "sampling.scheduler",
        "3": "sampling.sampler",
        "8": "vae.decode",
        "9": "image.save",
    }
    sampler = graph.nodes["3"]
    assert sampler.params["seed"] == 156680208700286 and sampler.params["steps"] == 20
    assert sampler.extra[SEED_CONTROL_KEY] == {"seed": "randomize"}  # true: randomize
    assert graph.nodes["9"].params["prefix"] == "ComfyUI"  # no widgets_values: the default
    assert graph.nodes["7"].position == (413.0, 389.0)
    assert validate(graph, demo_resolver(demo_sd15)) == []
    again = loads(dumps(graph), registry)
    assert again.nodes["3"].extra[SEED_CONTROL_KEY] == {"seed": "randomize"}
    outcome = comfy_executor.run(shrink(graph, size=64, steps=2))
    assert outcome.status == "done", outcome.problems


def _default_with(control: Any) -> dict[str, Any]:
    doc = json.loads(DEFAULT_JSON.read_text())
    sampler = next(n for n in doc["nodes"] if n["type"] == "KSampler")
    sampler["widgets_values"][1] = control
    return doc


@pytest.mark.parametrize(
    ("control", "mode"),
    [(True, "randomize"), (False, "fixed"), ("increment", "increment"), ("fixed", "fixed")],
)
def test_the_seed_control_slot_takes_a_mode_or_the_old_boolean(
    registry, control: Any, mode: str
) -> None:
    graph = import_ui(_default_with(control), registry)
    assert graph.nodes["3"].extra[SEED_CONTROL_KEY] == {"seed": mode}


@pytest.mark.parametrize("control", [1, "sometimes", None, "Randomize"])
def test_anything_else_in_the_seed_control_slot_is_refused(registry, control: Any) -> None:
    with pytest.raises(WorkflowError, match=r"node 3 \(KSampler\): widget control_after"):
        import_ui(_default_with(control), registry)


def test_ksampler_advanced_reads_the_old_boolean(registry) -> None:
    d = UIDoc()
    d.node(
        23,
        "KSamplerAdvanced",
        ["enable", 42, True, 3, 6, "dpmpp_2m", "normal", 0, 10000, "disable"],
        (("latent_image", "LATENT"),),
        (("LATENT", "LATENT"),),
    )
    graph = import_ui(d.doc(), registry)
    assert graph.nodes["23"].params["seed"] == 42
    assert graph.nodes["23"].extra[SEED_CONTROL_KEY] == {"seed": "randomize"}


@pytest.mark.parametrize(("control", "mode"), [(True, "randomize"), (False, "fixed")])
def test_a_seed_primitive_reads_the_old_boolean(registry, control: bool, mode: str) -> None:
    d = UIDoc()
    d.node(30, "PrimitiveNode", [1234, control], (), (("INT", "INT"),), title="seed")
    d.nodes[30]["outputs"][0]["widget"] = {"name": "seed"}
    d.node(
        3,
        "KSampler",
        [1234, "fixed", 3, 7.5, "euler", "karras", 1],
        (("latent_image", "LATENT"),),
        (("LATENT", "LATENT"),),
    )
    d.widget_input(3, "seed", "INT")
    d.link(30, 0, 3, "seed")
    graph = import_ui(d.doc(), registry)
    assert graph.nodes["30"].type == "primitive.seed"
    assert graph.nodes["30"].extra[SEED_CONTROL_KEY] == {"seed": mode}


@pytest.mark.parametrize(
    ("sampler", "name", "cfg"),
    [
        ("sample_euler", "euler", 8.0),  # the old prefix ComfyUI strips on load
        ("sample_dpmpp_2m", "dpmpp_2m", 8.0),
        ("euler_ancestral_pp", "euler_ancestral", 16.0),  # and "_pp" at twice the cfg
        ("sample_euler_pp", "euler", 16.0),
        ("euler", "euler", 8.0),
    ],
)
def test_old_sampler_names_read_as_comfyui_loads_them(
    registry, sampler: str, name: str, cfg: float
) -> None:
    doc = _default_with(True)
    node = next(n for n in doc["nodes"] if n["type"] == "KSampler")
    node["widgets_values"][4] = sampler
    graph = import_ui(doc, registry)
    assert graph.nodes["3_scheduler"].params["name"] == name
    assert graph.nodes["3"].params["cfg"] == cfg
    notes = [str(note) for note in graph.metadata.get("import_notes") or []]
    assert any("old sampler name" in note for note in notes) == (sampler != name)
