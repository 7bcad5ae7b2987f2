from __future__ import annotations

import pytest

from nodes.graph import Graph, GraphError


def _record(graph: Graph) -> list[tuple]:
    events: list[tuple] = []
    for signal in (
        graph.node_added,
        graph.node_removed,
        graph.link_added,
        graph.link_removed,
        graph.param_changed,
        graph.node_changed,
        graph.group_added,
        graph.group_removed,
        graph.group_changed,
    ):
        signal.sub(lambda *args, name=signal.name: events.append((name, *args)))
    return events


def test_add_node_uses_defaults_and_fresh_ids(graph: Graph) -> None:
    a = graph.add_node("test.const")
    b = graph.add_node("test.const", params={"value": 7}, position=(10, 20))
    assert (a.id, b.id) == ("const", "const_2")
    assert a.params == {"value": 1}
    assert b.params == {"value": 7}
    assert b.position == (10.0, 20.0)
    assert b.type_version == "1.0.0"


def test_add_node_rejects_unknown_type_and_bad_values(graph: Graph) -> None:
    with pytest.raises(GraphError, match="unknown node type"):
        graph.add_node("nope.nope")
    with pytest.raises(GraphError, match="above the maximum") as err:
        graph.add_node("test.const", id="c", params={"value": 5000})
    assert (err.value.node_id, err.value.field) == ("c", "value")
    with pytest.raises(GraphError, match="no parameter"):
        graph.add_node("test.const", params={"nope": 1})


def test_mutations_emit_events(graph: Graph) -> None:
    events = _record(graph)
    changes: list[int] = []
    graph.changed.sub(lambda: changes.append(1))
    a = graph.add_node("test.const", id="a")
    s = graph.add_node("test.sink", id="s")
    link = graph.connect("a", "value", "s", "value")
    graph.set_param("a", "value", 3)
    graph.set_param("a", "value", 3)  # unchanged: no event
    graph.set_position("a", 5, 6)
    graph.set_title("a", "Seed source")
    graph.set_bypass("s", True)
    group = graph.add_group("Inputs", (0, 0, 100, 100))
    graph.set_group_attr(group.id, "title", "Sources")
    graph.disconnect("s", "value")
    graph.remove_group(group.id)
    graph.remove_node("a")
    names = [e[0] for e in events]
    assert names == [
        "node_added",
        "node_added",
        "link_added",
        "param_changed",
        "node_changed",
        "node_changed",
        "node_changed",
        "group_added",
        "group_changed",
        "link_removed",
        "group_removed",
        "node_removed",
    ]
    assert events[0][1] is a and events[1][1] is s and events[2][1] == link
    assert events[3][1:] == ("a", "value", 3)
    assert events[4][1:] == ("a", "position", (5.0, 6.0))
    assert len(changes) == len(events)


def test_connect_type_checks(graph: Graph) -> None:
    graph.add_node("test.latent", id="lat")
    graph.add_node("test.add", id="add")
    graph.add_node("test.scale", id="sc")
    with pytest.raises(GraphError, match="cannot connect LATENT to INT") as err:
        graph.connect("lat", "latent", "add", "a")
    assert (err.value.node_id, err.value.field) == ("add", "a")
    with pytest.raises(GraphError, match="no output"):
        graph.connect("lat", "nope", "add", "a")
    with pytest.raises(GraphError, match="no input"):
        graph.connect("add", "sum", "sc", "nope")
    graph.connect("add", "sum", "sc", "x")  # INT widens into FLOAT
    assert graph.links == [graph.link_into("sc", "x")]


def test_connect_replaces_occupied_input(graph: Graph) -> None:
    events = _record(graph)
    for node_id in ("a", "b"):
        graph.add_node("test.const", id=node_id)
    graph.add_node("test.add", id="add")
    first = graph.connect("a", "value", "add", "a")
    second = graph.connect("b", "value", "add", "a")
    assert graph.links == [second]
    assert ("link_removed", first) in events
    assert events[-1] == ("link_added", second)


def test_connect_refuses_cycles_and_self_links(graph: Graph) -> None:
    graph.add_node("test.const", id="c")
    for node_id in ("x", "y"):
        graph.add_node("test.add", id=node_id)
    graph.connect("c", "value", "x", "a")
    graph.connect("x", "sum", "y", "a")
    with pytest.raises(GraphError, match="cycle"):
        graph.connect("y", "sum", "x", "b")
    with pytest.raises(GraphError, match="cycle"):
        graph.connect("x", "sum", "x", "b")


def test_param_promoted_to_socket(graph: Graph) -> None:
    graph.add_node("test.const", id="c")
    graph.add_node("test.add", id="add")
    graph.connect("c", "value", "add", "offset")
    assert graph.link_into("add", "offset") is not None
    graph.add_node("utility.note", id="note")
    graph.add_node("primitive.string", id="s")
    with pytest.raises(GraphError, match="cannot be linked"):
        graph.connect("s", "value", "note", "text")


def test_remove_node_returns_links_for_undo(graph: Graph) -> None:
    graph.add_node("test.const", id="c")
    graph.add_node("test.add", id="add")
    graph.connect("c", "value", "add", "a")
    data, links = graph.remove_node("c")
    assert data.id == "c" and len(links) == 1 and graph.links == []
    graph.insert_node(data)
    for link in links:
        graph.insert_link(link)
    assert graph.link_into("add", "a") == links[0]


def test_set_param_is_checked(graph: Graph) -> None:
    graph.add_node("test.scale", id="s")
    graph.set_param("s", "factor", 2)  # int accepted for a FLOAT param, stored as float
    assert graph.nodes["s"].params["factor"] == 2.0
    assert isinstance(graph.nodes["s"].params["factor"], float)
    with pytest.raises(GraphError, match="not one of"):
        graph.set_param("s", "mode", "pow")
    with pytest.raises(GraphError, match="expected true or false"):
        graph.set_param("s", "enabled", 1)
    with pytest.raises(GraphError, match="expected a number"):
        graph.set_param("s", "factor", "2")
    with pytest.raises(GraphError, match="no node"):
        graph.set_param("zz", "factor", 1.0)


def test_node_attrs_are_checked(graph: Graph) -> None:
    graph.add_node("test.const", id="c")
    with pytest.raises(GraphError):
        graph.set_node_attr("c", "position", ("a", "b"))
    with pytest.raises(GraphError):
        graph.set_node_attr("c", "bypass", "yes")
    with pytest.raises(GraphError):
        graph.set_node_attr("c", "type", "x")
    graph.set_node_attr("c", "color", "#ff0000")
    graph.set_node_attr("c", "collapsed", True)
    assert graph.nodes["c"].color == "#ff0000" and graph.nodes["c"].collapsed


def test_groups_hold_nodes_spatially(graph: Graph) -> None:
    graph.add_node("test.const", id="inside", position=(10, 10))
    graph.add_node("test.const", id="outside", position=(500, 10))
    group = graph.add_group("Inputs", (0, 0, 100, 100), color="#335")
    assert graph.nodes_in_group(group.id) == ["inside"]


def test_copy_is_independent(graph: Graph) -> None:
    graph.add_node("test.const", id="c")
    graph.metadata["author"] = {"name": "A"}
    other = graph.copy()
    graph.set_param("c", "value", 9)
    graph.metadata["author"]["name"] = "B"
    assert other.nodes["c"].params["value"] == 1
    assert other.metadata["author"]["name"] == "A"
    assert len(other.node_added) == 0


def test_check_link_changes_nothing_and_judges_moves(graph: Graph) -> None:
    graph.add_node("test.const", id="c")
    for node_id in ("x", "y"):
        graph.add_node("test.add", id=node_id)
    graph.connect("c", "value", "x", "a")
    moving = graph.connect("x", "sum", "y", "a")
    events: list = []
    graph.changed.sub(lambda: events.append(1))
    with pytest.raises(GraphError, match="cycle"):
        graph.check_link("y", "sum", "x", "b")
    # with the x→y link gone (its end being moved), y→x closes no cycle
    link = graph.check_link("y", "sum", "x", "b", without=moving)
    assert link.source == "y" and events == [] and len(graph.links) == 2
