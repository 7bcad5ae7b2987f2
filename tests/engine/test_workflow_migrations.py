"""Workflow versions: migrations from version 0, newer and bad format versions and other
formats refused, and per-node upgraders (see docs/ARCHITECTURE.md, "Workflow files")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nodes.graph import Link
from nodes.registry import Registry
from nodes.validation import validate
from nodes.workflow import (
    FORMAT,
    VERSION,
    WorkflowError,
    dumps,
    loads,
)
from tests.engine.workflow_helpers import base_doc
from tests.stubs import file_registry


@pytest.fixture
def registry() -> Registry:
    return file_registry()


# --------------------------------------------------------------------------- migrations


def v0_document() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": 0,
        "nodes": [
            {"id": 1, "type": "wf.num", "values": {"value": 4}, "pos": [10, 20], "title": "Four"},
            {"id": "two", "type": "wf.num", "values": {"value": 6}, "pos": [10, 120]},
            {"id": 3, "type": "wf.add", "values": {"offset": 1}, "bypass": False, "hint": "x"},
            {"id": "show", "type": "wf.show"},
        ],
        "edges": [[1, "value", 3, "a"], ["two", "value", 3, "b"], [3, "sum", "show", "value"]],
        "view": {"zoom": 2},
        "metadata": {"from": "the draft app"},
        "draft_only": 1,
    }


def test_v0_files_are_migrated(registry: Registry) -> None:
    graph = loads(json.dumps(v0_document()), registry)
    assert list(graph.nodes) == ["1", "two", "3", "show"]
    one = graph.nodes["1"]
    assert (one.type, one.type_version, one.params, one.position, one.title) == (
        "wf.num",
        "1.0.0",
        {"value": 4},
        (10.0, 20.0),
        "Four",
    )
    assert graph.nodes["3"].params == {"offset": 1, "label": "sum"}
    assert graph.nodes["3"].extra == {"hint": "x"}
    assert graph.nodes["show"].position == (0.0, 0.0)
    assert graph.links == [
        Link("1", "value", "3", "a"),
        Link("two", "value", "3", "b"),
        Link("3", "sum", "show", "value"),
    ]
    assert graph.view == {"zoom": 2}
    assert graph.metadata == {"from": "the draft app"}
    assert graph.extra == {"draft_only": 1}
    assert validate(graph) == []


def test_a_migrated_file_saves_as_the_current_version(registry: Registry) -> None:
    saved = json.loads(dumps(loads(json.dumps(v0_document()), registry)))
    assert saved == {
        "format": FORMAT,
        "version": VERSION,
        "nodes": {
            "1": {
                "type": "wf.num",
                "type_version": "1.0.0",
                "title": "Four",
                "position": [10.0, 20.0],
                "params": {"value": 4},
            },
            "two": {
                "type": "wf.num",
                "type_version": "1.0.0",
                "position": [10.0, 120.0],
                "params": {"value": 6},
            },
            "3": {
                "type": "wf.add",
                "type_version": "1.0.0",
                "position": [0.0, 0.0],
                "params": {"offset": 1, "label": "sum"},
                "hint": "x",
            },
            "show": {
                "type": "wf.show",
                "type_version": "1.0.0",
                "position": [0.0, 0.0],
                "params": {},
            },
        },
        "links": [
            {"from": ["1", "value"], "to": ["3", "a"]},
            {"from": ["two", "value"], "to": ["3", "b"]},
            {"from": ["3", "sum"], "to": ["show", "value"]},
        ],
        "groups": [],
        "view": {"zoom": 2},
        "metadata": {"from": "the draft app"},
        "draft_only": 1,
    }


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        ({"nodes": {"a": {}}}, "$.nodes", "expected a list of nodes (version 0)"),
        ({"nodes": ["x"]}, "$.nodes[0]", "expected an object"),
        ({"nodes": [{"id": None}]}, "$.nodes[0].id", "expected a string or integer id"),
        ({"nodes": [{"id": True}]}, "$.nodes[0].id", "expected a string or integer id"),
        (
            {"nodes": [{"id": 1, "type": "wf.num"}, {"id": "1", "type": "wf.num"}]},
            "$.nodes[1].id",
            "duplicate node id '1'",
        ),
        ({"edges": {}}, "$.edges", "expected a list of edges (version 0)"),
        ({"edges": [[1, "value", 3]]}, "$.edges[0]", "expected [source, output, target, input]"),
        ({"edges": ["1 -> 3"]}, "$.edges[0]", "expected [source, output, target, input]"),
    ],
)
def test_broken_v0_files_name_the_path(
    registry: Registry, change: dict[str, Any], path: str, fragment: str
) -> None:
    doc = {**v0_document(), **change}
    with pytest.raises(WorkflowError) as info:
        loads(json.dumps(doc), registry)
    assert info.value.path == path
    assert fragment in info.value.message


def test_a_file_from_a_newer_format_version_is_refused(registry: Registry) -> None:
    doc = base_doc(version=VERSION + 1)
    with pytest.raises(WorkflowError) as info:
        loads(json.dumps(doc), registry)
    assert info.value.path == "$.version"
    assert "newer Daguerre" in info.value.message
    assert f"workflow version {VERSION + 1}" in info.value.message
    assert "update Daguerre" in str(info.value)


@pytest.mark.parametrize(
    ("version", "fragment"),
    [
        ("1", "expected an integer version, found text"),
        (1.0, "expected an integer version, found a number"),
        (True, "expected an integer version, found true or false"),
        (None, "expected an integer version, found null"),
        (-1, "invalid version -1"),
    ],
)
def test_bad_format_versions_are_refused(registry: Registry, version: Any, fragment: str) -> None:
    with pytest.raises(WorkflowError) as info:
        loads(json.dumps(base_doc(version=version)), registry)
    assert info.value.path == "$.version"
    assert fragment in info.value.message


def test_a_document_without_version_is_refused(registry: Registry) -> None:
    doc = base_doc()
    del doc["version"]
    with pytest.raises(WorkflowError, match=r"^\$\.version: expected an integer version"):
        loads(json.dumps(doc), registry)


def test_other_formats_are_refused_by_name(registry: Registry) -> None:
    comfy = {"last_node_id": 3, "nodes": [], "links": []}
    with pytest.raises(WorkflowError, match="looks like a ComfyUI workflow"):
        loads(json.dumps(comfy), registry)
    comfy_api = {"3": {"class_type": "KSampler", "inputs": {}}}
    with pytest.raises(WorkflowError, match="looks like a ComfyUI workflow"):
        loads(json.dumps(comfy_api), registry)
    with pytest.raises(
        WorkflowError, match=r"^\$\.format: not a Daguerre workflow \(format is 'x'\)"
    ):
        loads(json.dumps(base_doc(format="x")), registry)
    huge = base_doc(format="y" * 10_000)
    with pytest.raises(WorkflowError) as info:
        loads(json.dumps(huge), registry)
    assert len(str(info.value)) < 200


# --------------------------------------------------------------------------- node upgraders


def test_a_per_node_upgrader_renames_a_param(registry: Registry) -> None:
    doc = base_doc()
    doc["nodes"]["old"] = {"type": "wf.blend", "type_version": "1.0.0", "params": {"amount": 0.25}}
    graph = loads(json.dumps(doc), registry)
    node = graph.nodes["old"]
    assert node.type_version == "2.0.0"
    assert node.params == {"strength": 0.25}
    assert [p for p in validate(graph) if p.node_id == "old" and p.field != "x"] == []
    saved = json.loads(dumps(graph))["nodes"]["old"]
    assert saved["type_version"] == "2.0.0"
    assert saved["params"] == {"strength": 0.25}


def test_an_upgraded_param_missing_from_the_old_file_gets_a_value(registry: Registry) -> None:
    doc = base_doc()
    doc["nodes"]["old"] = {"type": "wf.blend", "type_version": "1.0.0"}
    assert loads(json.dumps(doc), registry).nodes["old"].params == {"strength": 1.0}


def test_upgraders_run_as_a_chain(registry: Registry) -> None:
    doc = base_doc()
    doc["nodes"]["m1"] = {"type": "wf.mix", "type_version": "1.0.0", "params": {"pct": 20}}
    doc["nodes"]["m2"] = {"type": "wf.mix", "type_version": "1.5.0", "params": {"percent": 80}}
    doc["nodes"]["m3"] = {"type": "wf.mix", "type_version": "3.0.0", "params": {"fraction": 0.1}}
    graph = loads(json.dumps(doc), registry)
    assert graph.nodes["m1"].params == {"fraction": 0.2}
    assert graph.nodes["m2"].params == {"fraction": 0.8}
    assert graph.nodes["m3"].params == {"fraction": 0.1}
    assert {graph.nodes[n].type_version for n in ("m1", "m2", "m3")} == {"3.0.0"}


def test_a_current_node_is_not_upgraded(registry: Registry) -> None:
    doc = base_doc()
    doc["nodes"]["new"] = {"type": "wf.blend", "type_version": "2.0.0", "params": {"amount": 3}}
    node = loads(json.dumps(doc), registry).nodes["new"]
    assert node.params == {"amount": 3, "strength": 1.0}  # validation reports "amount"


def test_a_failing_upgrader_is_a_workflow_error(registry: Registry) -> None:
    doc = base_doc()
    doc["nodes"]["f"] = {"type": "wf.fragile", "type_version": "1.0.0", "params": {}}
    with pytest.raises(WorkflowError) as info:
        loads(json.dumps(doc), registry)
    assert info.value.path == "$.nodes.f.params"
    assert "cannot upgrade Fragile from version 1.0.0" in info.value.message


def test_a_node_saved_by_a_newer_version_loads_but_is_reported(registry: Registry) -> None:
    doc = base_doc()
    doc["nodes"]["future"] = {
        "type": "wf.blend",
        "type_version": "7.1.0",
        "params": {"strength": 1.5, "sharpness": 3},
    }
    graph = loads(json.dumps(doc), registry)
    node = graph.nodes["future"]
    assert node.type_version == "7.1.0"  # kept: saving must not claim it was upgraded
    assert node.params["sharpness"] == 3
    messages = [p.message for p in validate(graph) if p.node_id == "future" and p.field is None]
    assert len(messages) == 1
    assert "saved by a newer Blend node (version 7.1.0)" in messages[0]
    assert "2.0.0" in messages[0]
    assert json.loads(dumps(graph))["nodes"]["future"]["type_version"] == "7.1.0"
