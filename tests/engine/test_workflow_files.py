"""Workflow files: stable saves, preserved unknown fields, migrations, per-node upgraders,
refusal of newer formats, atomic writes and errors that name the JSON path of the fault
(see docs/ARCHITECTURE.md, "Workflow files")."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from nodes.graph import Graph, Link
from nodes.registry import Registry
from nodes.validation import validate
from nodes.workflow import (
    FORMAT,
    VERSION,
    WorkflowError,
    dumps,
    from_dict,
    load_file,
    loads,
    save_file,
    to_dict,
)
from nodes.workflow import io as workflow_io
from tests.stubs import WfAdd, file_registry


@pytest.fixture
def registry() -> Registry:
    return file_registry()


def rich_graph(registry: Registry) -> Graph:
    """A graph using every part of the format."""
    graph = Graph(registry)
    graph.add_node("wf.num", id="a", params={"value": 2}, position=(10, 20.5))
    graph.add_node("wf.num", id="b", params={"value": -3}, position=(10, 140), title="Minus")
    graph.add_node("wf.num", id="off", params={"value": 7})
    graph.add_node("wf.add", id="sum", params={"offset": 5, "label": "total"}, position=(220, 60))
    graph.add_node("wf.add", id="skip", position=(400, 60))
    graph.add_node("wf.show", id="out", position=(600, 60))
    graph.add_node("wf.note", id="note-1", params={"text": 'Ünïcödé ✓ "quoted"\nline 2'})
    graph.connect("a", "value", "sum", "a")
    graph.connect("b", "value", "sum", "b")
    graph.connect("off", "value", "skip", "offset")  # a promoted param
    graph.connect("sum", "sum", "skip", "a")
    graph.connect("skip", "sum", "out", "value")
    graph.set_bypass("skip", True)
    graph.set_title("sum", "Total")
    graph.set_node_attr("sum", "color", "#ff8800")
    graph.set_node_attr("sum", "size", (180, 96.5))
    graph.set_node_attr("note-1", "collapsed", True)
    graph.add_group("Inputs", (0, 0, 200, 200), color="#335577", id="inputs")
    graph.add_group("Maths", (200.5, 0, 300, 150), id="maths")
    graph.view.update({"zoom": 1.25, "center": [320.0, -40.5]})
    graph.metadata.update({"author": "Ada", "tags": ["test", "ü"], "seed_note": None})
    return graph


def base_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "nodes": {
            "a": {"type": "wf.num", "type_version": "1.0.0", "params": {"value": 2}},
            "s": {"type": "wf.show", "type_version": "1.0.0", "params": {}},
        },
        "links": [{"from": ["a", "value"], "to": ["s", "value"]}],
        "groups": [{"id": "g", "title": "G", "rect": [0, 0, 10, 10]}],
        "view": {},
        "metadata": {},
    }
    doc.update(overrides)
    return doc


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- round trips


def test_save_load_save_is_byte_identical(tmp_path: Path, registry: Registry) -> None:
    graph = rich_graph(registry)
    first = save_file(graph, tmp_path / "one.json")
    loaded = load_file(first, registry)
    second = save_file(loaded, tmp_path / "two.json")
    assert first.read_bytes() == second.read_bytes()
    third = save_file(load_file(second, registry), tmp_path / "three.json")
    assert third.read_bytes() == first.read_bytes()
    assert dumps(loaded) == dumps(graph)


def test_loaded_graph_equals_the_saved_one(tmp_path: Path, registry: Registry) -> None:
    graph = rich_graph(registry)
    loaded = load_file(save_file(graph, tmp_path / "w.json"), registry)
    assert list(loaded.nodes) == list(graph.nodes)
    for node_id, data in graph.nodes.items():
        other = loaded.nodes[node_id]
        assert (other.type, other.type_version, other.params) == (
            data.type,
            data.type_version,
            data.params,
        )
        assert (other.position, other.size, other.title) == (data.position, data.size, data.title)
        assert (other.bypass, other.color, other.collapsed) == (
            data.bypass,
            data.color,
            data.collapsed,
        )
    assert loaded.links == graph.links
    assert loaded.groups == graph.groups
    assert loaded.view == graph.view
    assert loaded.metadata == graph.metadata
    assert loaded.nodes["skip"].bypass is True
    assert loaded.link_into("skip", "offset") == Link("off", "value", "skip", "offset")
    assert validate(loaded) == []


def test_file_text_is_stable_indented_utf8(tmp_path: Path, registry: Registry) -> None:
    path = save_file(rich_graph(registry), tmp_path / "w.json")
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    assert text.endswith("}\n")
    assert '\n  "format": "daguerre.workflow",\n' in text
    assert "Ünïcödé ✓" in text  # not \u-escaped
    doc = json.loads(text)
    assert list(doc)[:7] == ["format", "version", "nodes", "links", "groups", "view", "metadata"]
    assert doc["version"] == VERSION
    assert list(doc["nodes"]["sum"]) == [
        "type",
        "type_version",
        "title",
        "position",
        "size",
        "color",
        "params",
    ]
    assert doc["nodes"]["skip"]["bypass"] is True
    assert doc["nodes"]["note-1"]["collapsed"] is True
    assert doc["links"][0] == {"from": ["a", "value"], "to": ["sum", "a"]}
    assert doc["groups"][0] == {
        "id": "inputs",
        "title": "Inputs",
        "rect": [0.0, 0.0, 200.0, 200.0],
        "color": "#335577",
    }


def test_loads_accepts_text_bytes_and_a_byte_order_mark(registry: Registry) -> None:
    text = json.dumps(base_doc())
    for data in (text, text.encode(), b"\xef\xbb\xbf" + text.encode()):
        graph = loads(data, registry)
        assert list(graph.nodes) == ["a", "s"]
        assert graph.links == [Link("a", "value", "s", "value")]


def test_unknown_fields_survive_load_and_save(registry: Registry) -> None:
    doc = base_doc()
    doc["generator"] = {"name": "Daguerre 9", "plugins": ["x", {"y": 1}]}
    doc["zz_last"] = [1, 2.5, None, True]
    doc["nodes"]["a"]["plugin_state"] = {"expanded": True, "nested": [[1], {"k": "v"}]}
    doc["nodes"]["a"]["widget_order"] = ["value"]
    doc["links"][0]["style"] = {"curve": "spline", "color": "#fff"}
    doc["links"][0]["label"] = "the one link"
    doc["groups"][0]["locked"] = True
    doc["groups"][0]["font_size"] = 24
    saved = json.loads(dumps(loads(json.dumps(doc), registry)))
    assert saved["generator"] == doc["generator"]
    assert saved["zz_last"] == doc["zz_last"]
    assert saved["nodes"]["a"]["plugin_state"] == doc["nodes"]["a"]["plugin_state"]
    assert saved["nodes"]["a"]["widget_order"] == ["value"]
    assert saved["links"][0]["style"] == doc["links"][0]["style"]
    assert saved["links"][0]["label"] == "the one link"
    assert saved["groups"][0]["locked"] is True
    assert saved["groups"][0]["font_size"] == 24
    # and they stay through any number of further saves
    again = dumps(loads(json.dumps(saved), registry))
    assert again == dumps(loads(again, registry))
    assert json.loads(again) == saved


def test_unknown_node_types_and_bad_values_load_for_validation_to_report(
    registry: Registry,
) -> None:
    doc = base_doc()
    doc["nodes"]["x"] = {
        "type": "vendor.magic",
        "type_version": "4.2.0",
        "params": {"power": 9000, "mode": ["a", "b"]},
        "position": [1, 2],
    }
    doc["nodes"]["a"]["params"] = {"value": 5000, "stale": True}
    graph = loads(json.dumps(doc), registry)
    problems = {(p.node_id, p.field): p.message for p in validate(graph)}
    assert problems[("x", None)] == "unknown node type 'vendor.magic'"
    assert problems[("a", "value")] == "5000 is above the maximum 1000"
    assert problems[("a", "stale")] == "Num has no parameter 'stale'"
    saved = json.loads(dumps(graph))
    assert saved["nodes"]["x"] == {
        "type": "vendor.magic",
        "type_version": "4.2.0",
        "position": [1.0, 2.0],
        "params": {"power": 9000, "mode": ["a", "b"]},
    }
    assert saved["nodes"]["a"]["params"] == {"value": 5000, "stale": True}


def test_missing_optional_fields_get_defaults(registry: Registry) -> None:
    doc = {
        "format": FORMAT,
        "version": 1,
        "nodes": {"n": {"type": "wf.add"}, "u": {"type": "other.type"}},
    }
    graph = loads(json.dumps(doc), registry)
    node = graph.nodes["n"]
    assert node.type_version == WfAdd.version
    assert node.params == {"offset": 0, "label": "sum"}
    assert node.position == (0.0, 0.0)
    assert (node.size, node.title, node.color, node.bypass, node.collapsed) == (
        None,
        None,
        None,
        False,
        False,
    )
    assert graph.nodes["u"].type_version == "1.0.0"
    assert graph.nodes["u"].params == {}
    assert graph.links == [] and graph.groups == {} and graph.view == {} and graph.metadata == {}


def test_null_size_title_and_color_mean_unset(registry: Registry) -> None:
    doc = base_doc()
    doc["nodes"]["a"].update({"size": None, "title": None, "color": None})
    doc["groups"][0]["color"] = None
    graph = loads(json.dumps(doc), registry)
    assert (graph.nodes["a"].size, graph.nodes["a"].title, graph.nodes["a"].color) == (
        None,
        None,
        None,
    )
    saved = json.loads(dumps(graph))
    assert {"size", "title", "color"}.isdisjoint(saved["nodes"]["a"])
    assert "color" not in saved["groups"][0]


def test_from_dict_and_to_dict_round_trip(registry: Registry) -> None:
    graph = rich_graph(registry)
    doc = to_dict(graph)
    assert to_dict(from_dict(doc, registry)) == doc
    assert to_dict(from_dict(json.loads(json.dumps(doc)), registry)) == json.loads(json.dumps(doc))


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


# --------------------------------------------------------------------------- atomic saves


def _saved_original(tmp_path: Path, registry: Registry) -> tuple[Path, bytes, Graph]:
    graph = rich_graph(registry)
    path = save_file(graph, tmp_path / "work.json")
    return path, path.read_bytes(), graph


@pytest.mark.parametrize("failing", ["fsync", "replace", "write"])
def test_a_failed_save_leaves_the_old_file_and_no_temp_files(
    tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path, before, graph = _saved_original(tmp_path, registry)
    graph.set_param("a", "value", 99)

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    if failing == "write":
        original_fdopen = os.fdopen

        class FailingFile:
            def __init__(self, handle: Any) -> None:
                self.handle = handle

            def __enter__(self) -> FailingFile:
                return self

            def __exit__(self, *exc: object) -> None:
                self.handle.close()

            def write(self, data: bytes) -> int:
                self.handle.write(data[: len(data) // 2])  # half written, then the disk fills
                raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "fdopen", lambda *a, **k: FailingFile(original_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="No space left"):
        save_file(graph, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["work.json"]
    assert load_file(path, registry).nodes["a"].params["value"] == 2


def test_an_interrupted_save_leaves_no_temp_file(
    tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, before, graph = _saved_original(tmp_path, registry)

    def interrupt(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_file(graph, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["work.json"]


@pytest.mark.parametrize(
    "bad",
    [object(), float("nan"), float("inf"), {1j: 2}, "\ud800 lone surrogate"],
    ids=["object", "nan", "inf", "complex-key", "surrogate"],
)
def test_an_unserialisable_value_is_refused_before_writing(
    tmp_path: Path, registry: Registry, bad: Any
) -> None:
    path, before, graph = _saved_original(tmp_path, registry)
    graph.nodes["a"].params["value"] = bad  # bypasses checks, as a buggy node could
    with pytest.raises(WorkflowError, match=r"^\$: cannot be saved"):
        save_file(graph, path)
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["work.json"]


def test_a_circular_document_is_refused(tmp_path: Path, registry: Registry) -> None:
    graph = rich_graph(registry)
    loop: list[Any] = []
    loop.append(loop)
    graph.metadata["loop"] = loop
    with pytest.raises(WorkflowError, match="cannot be saved as JSON"):
        save_file(graph, tmp_path / "w.json")
    assert files_in(tmp_path) == []


def test_save_creates_folders_and_replaces_old_files(tmp_path: Path, registry: Registry) -> None:
    graph = rich_graph(registry)
    target = tmp_path / "deep" / "er" / "w.json"
    assert save_file(graph, target) == target
    graph.set_param("a", "value", 11)
    save_file(graph, target)
    assert load_file(target, registry).nodes["a"].params["value"] == 11
    assert files_in(target.parent) == ["w.json"]
    save_file(to_dict(graph), tmp_path / "from-dict.json")  # a document saves too
    assert (tmp_path / "from-dict.json").read_bytes() == target.read_bytes()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_saves_respect_the_umask_and_keep_permissions(tmp_path: Path, registry: Registry) -> None:
    graph = rich_graph(registry)
    old_umask = os.umask(0o022)
    try:
        fresh = save_file(graph, tmp_path / "fresh.json")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644  # not mkstemp's private 0o600
    shared = tmp_path / "shared.json"
    shared.write_text("{}")
    shared.chmod(0o664)
    save_file(graph, shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o664


# --------------------------------------------------------------------------- error paths


def _set(doc: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, last = dotted.split("/")
    target: Any = doc
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("where", "value", "path", "message"),
    [
        ("nodes/a/position", "here", "$.nodes.a.position", "expected a list of 2 finite numbers"),
        ("nodes/a/position", [1, True], "$.nodes.a.position", "expected a list of 2"),
        ("nodes/a/position", [1, 1e16], "$.nodes.a.position", "expected a list of 2"),
        ("nodes/a/position", None, "$.nodes.a.position", "expected a list of 2"),
        ("nodes/a/size", [1, 2, 3], "$.nodes.a.size", "expected a list of 2 finite numbers"),
        ("nodes/a/type", _DELETE, "$.nodes.a.type", "is missing"),
        ("nodes/a/type", 3, "$.nodes.a.type", "expected text, found an integer"),
        ("nodes/a/type_version", "1.0", "$.nodes.a.type_version", "not a semantic version"),
        ("nodes/a/type_version", 1, "$.nodes.a.type_version", "expected text"),
        ("nodes/a/params", [], "$.nodes.a.params", "expected an object, found a list"),
        ("nodes/a/bypass", "yes", "$.nodes.a.bypass", "expected true or false, found text"),
        ("nodes/a/collapsed", 0, "$.nodes.a.collapsed", "expected true or false"),
        ("nodes/a/title", 5, "$.nodes.a.title", "expected text or null, found an integer"),
        ("nodes/a/color", [], "$.nodes.a.color", "expected text or null, found a list"),
        ("nodes/a", "a node", "$.nodes.a", "expected a node object, found text"),
        ("nodes", [], "$.nodes", "expected an object, found a list"),
        ("links", {}, "$.links", "expected a list, found an object"),
        ("links/0", "a->s", "$.links[0]", "expected a link object, found text"),
        ("links/0/to", ["s"], "$.links[0].to", 'expected ["node id", "port name"]'),
        ("links/0/to", ["s", 1], "$.links[0].to", 'expected ["node id", "port name"]'),
        ("links/0/from", _DELETE, "$.links[0].from", "is missing"),
        ("links/0/to", ["nope", "value"], "$.links[0].to[0]", "no node 'nope'"),
        ("links/0/from", ["ghost", "value"], "$.links[0].from[0]", "no node 'ghost'"),
        ("groups", {}, "$.groups", "expected a list"),
        ("groups/0", 7, "$.groups[0]", "expected a group object, found an integer"),
        ("groups/0/id", _DELETE, "$.groups[0].id", "is missing"),
        ("groups/0/id", "", "$.groups[0].id", "group ids must not be empty"),
        ("groups/0/rect", _DELETE, "$.groups[0].rect", "is missing"),
        ("groups/0/rect", [0, 0, 1], "$.groups[0].rect", "expected a list of 4 finite numbers"),
        ("groups/0/title", None, "$.groups[0].title", "expected text, found null"),
        ("view", [], "$.view", "expected an object, found a list"),
        ("metadata", "none", "$.metadata", "expected an object, found text"),
    ],
)
def test_errors_name_the_json_path(
    registry: Registry, where: str, value: Any, path: str, message: str
) -> None:
    doc = base_doc()
    if value is _DELETE:
        *parents, last = where.split("/")
        target: Any = doc
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        del target[last]
    else:
        _set(doc, where, value)
    with pytest.raises(WorkflowError) as info:
        loads(json.dumps(doc), registry)
    assert info.value.path == path
    assert message in info.value.message
    assert str(info.value) == f"{path}: {info.value.message}"


def test_a_second_link_into_one_input_is_refused(registry: Registry) -> None:
    doc = base_doc()
    doc["nodes"]["b"] = {"type": "wf.num"}
    doc["links"].append({"from": ["b", "value"], "to": ["s", "value"]})
    with pytest.raises(WorkflowError) as info:
        loads(json.dumps(doc), registry)
    assert info.value.path == "$.links[1].to"
    assert info.value.message == "input 'value' of 's' already has a link"


def test_duplicate_group_ids_are_refused(registry: Registry) -> None:
    doc = base_doc()
    doc["groups"].append({"id": "g", "title": "again", "rect": [1, 1, 1, 1]})
    with pytest.raises(WorkflowError) as info:
        loads(json.dumps(doc), registry)
    assert info.value.path == "$.groups[1].id"
    assert "already exists" in info.value.message


@pytest.mark.parametrize(
    ("node_id", "path"),
    [
        ("with space", '$.nodes["with space"]'),
        ("a.b", '$.nodes["a.b"]'),
        ("", '$.nodes[""]'),
        ("x" * 65, "$.nodes." + "x" * 65),
        ("trailing\n", '$.nodes["trailing\\n"]'),
        ('quote"back\\slash', '$.nodes["quote\\"back\\\\slash"]'),
    ],
)
def test_bad_node_ids_are_refused(registry: Registry, node_id: str, path: str) -> None:
    doc = base_doc(nodes={node_id: {"type": "wf.num"}}, links=[])
    with pytest.raises(WorkflowError) as info:
        loads(json.dumps(doc), registry)
    assert info.value.path == path
    assert "node ids are 1–64 letters" in info.value.message
    assert "\n" not in str(info.value)


def test_node_ids_may_use_letters_digits_dash_and_underscore(registry: Registry) -> None:
    ids = ["a", "A-1", "_x_", "9", "x" * 64]
    doc = base_doc(nodes={i: {"type": "wf.num"} for i in ids}, links=[])
    assert list(loads(json.dumps(doc), registry).nodes) == ids


def test_from_dict_refuses_non_text_node_ids(registry: Registry) -> None:
    with pytest.raises(WorkflowError) as info:
        from_dict(base_doc(nodes={1: {"type": "wf.num"}}, links=[]), registry)
    assert info.value.path == "$.nodes[1]"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "invalid JSON at line 1 column 1"),
        (b'{"format": ', "invalid JSON at line 1 column 12"),
        (b"{'format': 1}", "invalid JSON at line 1 column 2"),
        (b"\xff\xfe{}", "not UTF-8 text (byte 0)"),
        (b'{"a": NaN}', "NaN is not allowed"),
        (b'{"a": -Infinity}', "-Infinity is not allowed"),
        (b'{"a": 1e400}', "the number 1e400 is too large"),
        (b'{"a": ' + b"9" * 400 + b"}", "is too large"),
        (b'{"a": ' + b"9" * 5000 + b"}", "invalid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid JSON: nested too deeply"),
    ],
    ids=[
        "empty",
        "truncated",
        "single-quotes",
        "utf16",
        "nan",
        "infinity",
        "huge-float",
        "huge-int",
        "giant-int",
        "deep",
    ],
)
def test_malformed_json_is_a_workflow_error(registry: Registry, data: bytes, fragment: str) -> None:
    with pytest.raises(WorkflowError) as info:
        loads(data, registry)
    assert info.value.path == "$"
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("value", "found"),
    [([], "a list"), ("x", "text"), (1, "an integer"), (None, "null"), (True, "true or false")],
)
def test_a_document_must_be_an_object(registry: Registry, value: Any, found: str) -> None:
    with pytest.raises(WorkflowError) as info:
        loads(json.dumps(value), registry)
    assert str(info.value) == f"$: expected a workflow object, found {found}"


def test_deep_nesting_is_refused_with_its_path(registry: Registry) -> None:
    deep: Any = "bottom"
    for _ in range(150):
        deep = [deep]
    doc = base_doc(metadata={"notes": {"deep": deep}})
    with pytest.raises(WorkflowError) as info:
        loads(json.dumps(doc), registry)
    assert info.value.path.startswith("$.metadata.notes.deep[0][0]")
    assert "nested more than 100 levels deep" in info.value.message
    shallow: Any = "bottom"
    for _ in range(90):
        shallow = {"k": shallow}
    graph = loads(json.dumps(base_doc(metadata={"ok": shallow})), registry)
    assert json.loads(dumps(graph))["metadata"]["ok"] == shallow


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('{"x": "\\udc80"}', "$.metadata.x"),
        ('{"x": ["ok", "\\ud83d oops"]}', "$.metadata.x[1]"),
        ('{"\\udfff": 1}', '$.metadata["\\udfff"]'),
    ],
)
def test_text_with_lone_surrogates_is_refused(registry: Registry, text: str, path: str) -> None:
    data = json.dumps(base_doc()).replace('"metadata": {}', f'"metadata": {text}')
    with pytest.raises(WorkflowError) as info:
        loads(data, registry)
    assert info.value.path == path
    assert "unpaired surrogate" in info.value.message
    str(info.value).encode("utf-8")  # printable
    # a proper pair (an emoji written as two escapes) is fine
    ok = json.dumps(base_doc()).replace('"metadata": {}', '"metadata": {"e": "\\ud83d\\ude00"}')
    assert loads(ok, registry).metadata == {"e": "😀"}


def test_load_file_errors(
    tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(WorkflowError, match="no such file"):
        load_file(tmp_path / "missing.json", registry)
    with pytest.raises(WorkflowError, match="is a folder, not a workflow file"):
        load_file(tmp_path, registry)
    with pytest.raises(WorkflowError, match="cannot read"):
        load_file(str(tmp_path / "nul\0byte.json"), registry)
    big = tmp_path / "big.json"
    big.write_text(json.dumps(base_doc()))
    monkeypatch.setattr(workflow_io, "MAX_BYTES", 100)
    with pytest.raises(WorkflowError, match="too large to be a workflow"):
        load_file(big, registry)


def test_loading_uses_the_given_registry(registry: Registry) -> None:
    graph = loads(json.dumps(base_doc()), registry)
    assert graph.registry is registry
    other = loads(json.dumps(base_doc()), Registry())
    assert [p.message for p in validate(other)][:1] == ["unknown node type 'wf.num'"]
