"""The document's edits and their undo steps (what every canvas gesture ends up calling)."""

from __future__ import annotations

import pytest

from desktop.document import Document
from nodes.graph import GraphError, Link
from nodes.library import load_builtin_nodes
from nodes.registry import Registry
from nodes.workflow import to_dict


@pytest.fixture
def doc(qapp) -> Document:
    return Document(load_builtin_nodes(Registry()))


def test_add_connect_undo_redo(doc: Document) -> None:
    a = doc.add_node("primitive.int", (0, 0))
    d = doc.add_node("utility.display", (200, 0))
    doc.connect_ports(a, "value", d, "value")
    assert len(doc.graph.links) == 1 and doc.dirty
    doc.undo_stack.undo()
    assert doc.graph.links == []
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert not doc.graph.nodes and not doc.dirty
    for _ in range(3):
        doc.undo_stack.redo()
    assert len(doc.graph.links) == 1


def test_refused_connection_pushes_nothing(doc: Document) -> None:
    s = doc.add_node("primitive.string", (0, 0))
    i = doc.add_node("primitive.int", (0, 0))
    e = doc.add_node("latent.empty", (0, 0))
    count = doc.undo_stack.count()
    with pytest.raises(GraphError):
        doc.connect_ports(s, "value", e, "width")  # STRING into INT
    with pytest.raises(GraphError):
        doc.connect_ports(i, "value", i, "value")
    assert doc.undo_stack.count() == count


def test_typing_merges_into_one_step(doc: Document) -> None:
    n = doc.add_node("primitive.string", (0, 0))
    for text in ("a", "a ", "a c", "a ca", "a cat"):
        doc.set_param(n, "value", text, merge=True)
    assert doc.graph.nodes[n].params["value"] == "a cat"
    doc.undo_stack.undo()
    assert doc.graph.nodes[n].params["value"] == ""
    with pytest.raises(GraphError):
        doc.set_param(n, "value", 3)


def test_replacing_a_link_undoes_to_the_old_one(doc: Document) -> None:
    a = doc.add_node("primitive.int", (0, 0))
    b = doc.add_node("primitive.int", (0, 0))
    d = doc.add_node("utility.display", (0, 0))
    doc.connect_ports(a, "value", d, "value")
    doc.connect_ports(b, "value", d, "value")
    assert doc.graph.link_into(d, "value") == Link(b, "value", d, "value")
    doc.undo_stack.undo()
    assert doc.graph.link_into(d, "value") == Link(a, "value", d, "value")


def test_moves_of_one_drag_merge(doc: Document) -> None:
    n = doc.add_node("primitive.int", (0, 0))
    drag = doc.new_drag()
    for x in range(1, 6):
        doc.move({n: (x * 10.0, 0.0)}, drag_id=drag)
    assert doc.graph.nodes[n].position == (50.0, 0.0)
    doc.undo_stack.undo()
    assert doc.graph.nodes[n].position == (0.0, 0.0)


def test_remove_restores_links_and_groups(doc: Document) -> None:
    a = doc.add_node("primitive.int", (0, 0))
    d = doc.add_node("utility.display", (0, 0))
    doc.connect_ports(a, "value", d, "value")
    g = doc.add_group("Inputs", (-10, -10, 100, 100))
    doc.remove([a], [g])
    assert a not in doc.graph.nodes and g not in doc.graph.groups and not doc.graph.links
    doc.undo_stack.undo()
    assert a in doc.graph.nodes and g in doc.graph.groups and len(doc.graph.links) == 1


def test_copy_paste_keeps_internal_links_with_fresh_ids(doc: Document) -> None:
    a = doc.add_node("primitive.int", (0, 0), {"value": 5})
    d = doc.add_node("utility.display", (100, 0))
    other = doc.add_node("utility.display", (100, 100))
    doc.connect_ports(a, "value", d, "value")
    doc.connect_ports(a, "value", other, "value")
    clip = doc.copy_nodes([a, d])
    assert len(clip["links"]) == 1
    new_ids = doc.paste(clip)
    assert len(new_ids) == 2 and not set(new_ids) & {a, d}
    pasted = [link for link in doc.graph.links if link.source in new_ids]
    assert len(pasted) == 1 and pasted[0].target in new_ids
    assert doc.graph.nodes[new_ids[0]].params["value"] == 5
    doc.undo_stack.undo()  # the paste is one step
    assert set(doc.graph.nodes) == {a, d, other}


def test_save_load_round_trip_and_clean_state(doc: Document, tmp_path) -> None:
    a = doc.add_node("primitive.int", (10, 20), {"value": 7})
    path = tmp_path / "w.json"
    doc.save(path)
    assert not doc.dirty and doc.display_name() == "w.json"
    before = to_dict(doc.graph)
    other = Document(doc.registry)
    other.load(path)
    assert to_dict(other.graph) == before
    assert other.graph.nodes[a].params["value"] == 7
    events: list = []
    other.graph.node_removed.sub(events.append)
    other.new()
    assert events and not other.graph.nodes and other.path is None


def test_a_pause_starts_a_new_undo_step(doc: Document, monkeypatch) -> None:
    from desktop import commands

    clock = [100.0]
    monkeypatch.setattr(commands.time, "monotonic", lambda: clock[0])
    n = doc.add_node("primitive.string", (0, 0))
    for text in ("a", "a c", "a cat"):
        doc.set_param(n, "value", text, merge=True)
        clock[0] += 0.2
    clock[0] += 5.0  # the user stops typing, then comes back
    for text in ("a cat!", "a cat!!"):
        doc.set_param(n, "value", text, merge=True)
        clock[0] += 0.2
    doc.undo_stack.undo()
    assert doc.graph.nodes[n].params["value"] == "a cat"
    doc.undo_stack.undo()
    assert doc.graph.nodes[n].params["value"] == ""


def test_undoing_a_param_restores_a_value_the_file_had(doc: Document) -> None:
    doc.load_dict(
        {
            "format": "daguerre.workflow",
            "version": 1,
            "nodes": {
                "s": {
                    "type": "sampling.sampler",
                    "type_version": "1.0.0",
                    "position": [0, 0],
                    "params": {"steps": 0},  # out of range: kept so validation can report it
                }
            },
        }
    )
    doc.set_param("s", "steps", 30)
    doc.undo_stack.undo()
    assert doc.graph.nodes["s"].params["steps"] == 0


def test_seed_modes_and_the_view_are_saved_but_are_not_edits(doc: Document) -> None:
    n = doc.add_node("sampling.sampler", (0, 0))
    doc.undo_stack.setClean()
    assert doc.seed_modes(n) == {"seed": "fixed"}
    doc.set_seed_mode(n, "seed", "increment")
    assert doc.seed_modes(n) == {"seed": "increment"}
    assert doc.seed_controls() == {(n, "seed"): "increment"}
    doc.graph.nodes[n].extra["seed_control"] = {"seed": "sideways"}  # a file may hold anything
    assert doc.seed_modes(n) == {"seed": "fixed"}
    assert doc.saved_view() is None
    doc.set_view(0.5, (10.0, -20.0))
    assert doc.saved_view() == (0.5, (10.0, -20.0))
    assert to_dict(doc.graph)["view"] == {"zoom": 0.5, "center": [10.0, -20.0]}
    assert not doc.dirty and doc.undo_stack.count() == 1
