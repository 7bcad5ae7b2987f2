from __future__ import annotations

from pathlib import Path

from nodes.graph import Graph, Link, NodeData
from nodes.validation import validate


def _where(problems) -> set[tuple]:
    return {(p.node_id, p.field) for p in problems}


def test_valid_graph_has_no_problems(graph: Graph) -> None:
    graph.add_node("test.const", id="c")
    graph.add_node("test.sink", id="s")
    graph.connect("c", "value", "s", "value")
    assert validate(graph) == []


def test_every_problem_kind_at_once(graph: Graph, tmp_path: Path) -> None:
    # unknown type
    graph.insert_node(NodeData("ghost", "nope.missing", "1.0.0"))
    # missing required input
    graph.add_node("test.add", id="add")
    # type mismatch (inserted as a file would hold it)
    graph.add_node("test.latent", id="lat")
    graph.add_node("test.scale", id="sc")
    graph.insert_link(Link("lat", "latent", "sc", "x"))
    # bad param type, out of range, choice not allowed, unknown param
    graph.nodes["sc"].params.update(factor="big", mode="pow", extra=1)
    graph.add_node("test.const", id="c")
    graph.nodes["c"].params["value"] = 5000
    graph.add_node("test.add", id="add2")
    graph.connect("c", "value", "add2", "a")
    # missing file
    graph.add_node("test.file", id="f", params={"path": str(tmp_path / "missing.safetensors")})
    graph.add_node("test.file", id="f2")
    # link to an output that does not exist, and to an input that does not exist
    graph.add_node("test.add", id="add3")
    graph.insert_link(Link("c", "nothing", "add3", "a"))
    graph.insert_link(Link("c", "value", "add3", "nowhere"))
    # cycle
    graph.add_node("test.add", id="x")
    graph.add_node("test.add", id="y")
    graph.insert_link(Link("x", "sum", "y", "a"))
    graph.insert_link(Link("y", "sum", "x", "a"))

    problems = validate(graph)
    by_place = {(p.node_id, p.field): p.message for p in problems}
    assert "unknown node type 'nope.missing'" in by_place[("ghost", None)]
    assert by_place[("add", "a")] == "required input is not connected"
    assert "expects FLOAT but is linked to LATENT from lat.latent" in by_place[("sc", "x")]
    assert "expected a number" in by_place[("sc", "factor")]
    assert "not one of 'mul', 'div'" in by_place[("sc", "mode")]
    assert "no parameter 'extra'" in by_place[("sc", "extra")]
    assert "above the maximum 1000" in by_place[("c", "value")]
    assert "file not found" in by_place[("f", "path")]
    assert "no checkpoints file chosen" in by_place[("f2", "path")]
    assert "not an output" in by_place[("add3", "a")]
    assert "has no input 'nowhere'" in by_place[("add3", "nowhere")]
    assert "cycle" in by_place[("x", None)] and "cycle" in by_place[("y", None)]
    assert ("add2", "a") not in by_place


def test_existing_file_passes(graph: Graph, tmp_path: Path) -> None:
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"x")
    graph.add_node("test.file", id="f", params={"path": str(model)})
    assert validate(graph) == []


def test_custom_resolver_is_used(graph: Graph) -> None:
    graph.add_node("test.file", id="f", params={"path": "sd15.safetensors"})
    asked = []

    def resolver(kind: str, value: str):
        asked.append((kind, value))
        return Path("/")

    assert validate(graph, resolver) == []
    assert asked == [("checkpoints", "sd15.safetensors")]


def test_linked_param_is_not_checked(graph: Graph) -> None:
    graph.add_node("test.const", id="c")
    graph.add_node("test.add", id="add")
    graph.connect("c", "value", "add", "a")
    graph.connect("c", "value", "add", "offset")
    graph.nodes["add"].params["offset"] = "not even a number"
    assert validate(graph) == []


def test_bypassed_node_needs_a_pass_through_input(graph: Graph) -> None:
    graph.add_node("test.latent", id="lat")
    graph.add_node("test.blur", id="blur")
    graph.add_node("test.sink", id="s1")
    graph.add_node("test.sink", id="s2")
    graph.connect("lat", "latent", "blur", "latent")
    graph.connect("blur", "latent", "s1", "value")
    graph.connect("blur", "count", "s2", "value")
    graph.set_bypass("blur", True)
    assert _where(validate(graph)) == {("blur", "count")}


def test_newer_node_version_is_reported(graph: Graph) -> None:
    graph.add_node("test.const", id="c")
    graph.nodes["c"].type_version = "3.0.0"
    (problem,) = validate(graph)
    assert problem.node_id == "c" and "newer" in problem.message


def test_notes_are_not_executed_or_required(graph: Graph) -> None:
    graph.add_node("utility.note", id="n", params={"text": "hello"})
    assert validate(graph) == []
    assert str(validate(graph) or "ok") == "ok"
