"""The workflow file format: stable saves and round trips, unknown fields preserved,
defaults for missing fields, and errors that name the JSON path of the fault (see
docs/ARCHITECTURE.md, "Workflow files")."""

from __future__ import annotations

import json
from pathlib import Path
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
    from_dict,
    load_file,
    loads,
    save_file,
    to_dict,
)
from nodes.workflow import io as workflow_io
from tests.engine.workflow_helpers import base_doc, rich_graph
from tests.stubs import WfAdd, file_registry


@pytest.fixture
def registry() -> Registry:
    return file_registry()


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
