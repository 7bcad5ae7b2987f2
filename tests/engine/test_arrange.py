"""The layout functions of ``nodes.arrange``: the layered Arrange, the minimal-move
de-overlap, overlap detection; and the node state they read (``pinned``), saved in files."""

from __future__ import annotations

import itertools
import json

from nodes.arrange import arrange, make_room, node_sizes, overlapping, resolve_overlaps
from nodes.graph import Graph, Link
from nodes.workflow import from_dict, to_dict

SIZE = (200.0, 100.0)


def _sizes(graph: Graph, size: tuple[float, float] = SIZE) -> dict[str, tuple[float, float]]:
    return dict.fromkeys(graph.nodes, size)


def _txt2img_like(graph: Graph) -> None:
    """``a`` feeds ``add`` and ``add2``; ``b`` feeds only ``add2``; ``scale`` reads
    ``add2``; two sinks; all stacked on one spot, as a messy graph is."""
    graph.add_node("test.const", id="a")
    graph.add_node("test.const", id="b")
    graph.add_node("test.add", id="add")
    graph.add_node("test.add", id="add2")
    graph.add_node("test.scale", id="scale")
    graph.add_node("test.sink", id="sink")
    graph.add_node("test.sink", id="sink2")
    graph.connect("a", "value", "add", "a")
    graph.connect("add", "sum", "add2", "a")
    graph.connect("b", "value", "add2", "b")
    graph.connect("add2", "sum", "scale", "x")
    graph.connect("scale", "y", "sink", "value")
    graph.connect("add", "sum", "sink2", "value")


def _rects(
    graph: Graph, positions: dict, size=SIZE
) -> dict[str, tuple[float, float, float, float]]:
    where = {n: positions.get(n, d.position) for n, d in graph.nodes.items()}
    return {n: (x, y, size[0], size[1]) for n, (x, y) in where.items()}


def _overlap(r: tuple, s: tuple) -> bool:
    return r[0] < s[0] + s[2] and s[0] < r[0] + r[2] and r[1] < s[1] + s[3] and s[1] < r[1] + r[3]


def _crossings(graph: Graph, rects: dict) -> int:
    """Link crossings between pairs of links spanning the same two columns."""
    ends = [
        (rects[k.source][0], rects[k.source][1], rects[k.target][0], rects[k.target][1])
        for k in graph.links
    ]
    count = 0
    for (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) in itertools.combinations(ends, 2):
        if (ax0, ax1) == (bx0, bx1) and (ay0 - by0) * (ay1 - by1) < 0:
            count += 1
    return count


def test_arrange_puts_every_link_left_to_right_without_overlaps(graph: Graph) -> None:
    _txt2img_like(graph)
    positions = arrange(graph, _sizes(graph))
    rects = _rects(graph, positions)
    for link in graph.links:
        assert rects[link.source][0] + SIZE[0] <= rects[link.target][0], link
    for (n, r), (m, s) in itertools.combinations(rects.items(), 2):
        assert not _overlap(r, s), (n, m)


def test_arrange_layers_by_longest_path_and_pulls_sources_to_their_readers(
    graph: Graph,
) -> None:
    _txt2img_like(graph)
    rects = _rects(graph, arrange(graph, _sizes(graph)))
    column = {n: r[0] for n, r in rects.items()}
    xs = sorted(set(column.values()))
    layer = {n: xs.index(x) for n, x in column.items()}
    assert layer["a"] == 0 and layer["add"] == 1 and layer["add2"] == 2
    assert layer["scale"] == 3 and layer["sink"] == 4
    assert layer["b"] == 1, "a source sits just before the node that reads it"
    assert layer["sink2"] == 2, "a sink stays at its longest-path column"


def test_column_widths_come_from_the_widest_node(graph: Graph) -> None:
    graph.add_node("test.const", id="wide")
    graph.add_node("test.const", id="narrow")
    graph.add_node("test.add", id="add")
    graph.add_node("test.sink", id="sink")
    graph.connect("wide", "value", "add", "a")
    graph.connect("narrow", "value", "add", "b")
    graph.connect("add", "sum", "sink", "value")
    sizes = {"wide": (500.0, 80.0), "narrow": (100.0, 80.0), "add": SIZE, "sink": SIZE}
    positions = arrange(graph, sizes, gap_x=50.0)
    where = {n: positions.get(n, graph.nodes[n].position) for n in graph.nodes}
    assert where["narrow"][0] == where["wide"][0]
    assert where["add"][0] - where["wide"][0] == 550.0, "a column is as wide as its widest"
    assert where["sink"][0] - where["add"][0] == 250.0


def test_barycentre_ordering_removes_crossings(graph: Graph) -> None:
    # sources listed in the opposite order of the sinks they feed: kept in graph order
    # every pair of links would cross; the sweeps untangle them
    for name in ("s1", "s2", "s3"):
        graph.add_node("test.const", id=name)
    for name in ("t3", "t2", "t1"):
        graph.add_node("test.add", id=name)
    for i in (1, 2, 3):
        graph.connect(f"s{i}", "value", f"t{i}", "a")
    graph.connect("s1", "value", "t2", "b")
    graph.connect("s2", "value", "t3", "b")
    rows = {name: 200.0 * (i % 3) for i, name in enumerate(graph.nodes)}
    kept = {n: (0.0 if n[0] == "s" else 300.0, y) for n, y in rows.items()}
    assert _crossings(graph, _rects(graph, kept)) == 6, "graph order crosses"
    rects = _rects(graph, arrange(graph, _sizes(graph)))
    assert len({rects[f"t{i}"][0] for i in (1, 2, 3)}) == 1
    assert _crossings(graph, rects) == 0
    assert rects["t1"][1] < rects["t2"][1] < rects["t3"][1]


def test_arrange_starts_where_the_graph_was_and_is_deterministic(graph: Graph) -> None:
    _txt2img_like(graph)
    for i, data in enumerate(graph.nodes.values()):
        data.position = (1000.0 + 7 * i, -500.0 + 3 * i)
    first = arrange(graph, _sizes(graph))
    rects = _rects(graph, first)
    assert min(r[0] for r in rects.values()) == 1000.0
    assert min(r[1] for r in rects.values()) == -500.0
    assert arrange(graph.copy(), _sizes(graph)) == first


def test_unlinked_parts_are_stacked_below_each_other(graph: Graph) -> None:
    _txt2img_like(graph)
    graph.add_node("test.latent", id="lat")
    graph.add_node("test.sink", id="lat_sink")
    graph.connect("lat", "latent", "lat_sink", "value")
    graph.add_node("test.const", id="alone")
    rects = _rects(graph, arrange(graph, _sizes(graph)))
    first = ("a", "b", "add", "add2", "scale", "sink", "sink2")
    bottom = max(rects[n][1] + SIZE[1] for n in first)
    assert rects["lat"][1] >= bottom and rects["lat_sink"][1] == rects["lat"][1]
    assert rects["alone"][1] >= rects["lat"][1] + SIZE[1]


def test_pinned_nodes_stay_and_the_others_make_room(graph: Graph) -> None:
    _txt2img_like(graph)
    graph.set_node_attr("add2", "pinned", True)
    graph.set_position("add2", 230.0, 40.0)  # across where the layout puts others
    positions = arrange(graph, _sizes(graph))
    assert "add2" not in positions
    rects = _rects(graph, positions)
    for (n, r), (m, s) in itertools.combinations(rects.items(), 2):
        assert not _overlap(r, s), (n, m)


def test_arrange_copes_with_a_cycle_from_a_file(graph: Graph) -> None:
    graph.add_node("test.add", id="p")
    graph.add_node("test.add", id="q")
    graph.add_node("test.sink", id="out")
    graph.insert_link(Link("p", "sum", "q", "a"))
    graph.insert_link(Link("q", "sum", "p", "a"))  # refused by connect, possible in a file
    graph.connect("q", "sum", "out", "value")
    rects = _rects(graph, arrange(graph, _sizes(graph)))
    assert rects["p"][0] == rects["q"][0] < rects["out"][0]
    assert not _overlap(rects["p"], rects["q"])


def test_resolve_overlaps_pushes_down_only_as_far_as_needed(graph: Graph) -> None:
    # a column of nodes 100 apart that are 160 tall here (as an imported ComfyUI graph)
    for i in range(4):
        graph.add_node("test.const", id=f"c{i}", position=(0.0, 100.0 * i))
    graph.add_node("test.const", id="side", position=(400.0, 0.0))
    sizes = _sizes(graph, (200.0, 160.0))
    assert overlapping(graph, sizes) == [("c0", "c1"), ("c1", "c2"), ("c2", "c3")]
    where = resolve_overlaps(graph, sizes, gap=20.0)
    assert [where[f"c{i}"] for i in range(4)] == [(0.0, 180.0 * i) for i in range(4)]
    assert where["side"] == (400.0, 0.0), "a node overlapping nothing stays"
    for node_id, position in where.items():
        graph.nodes[node_id].position = position
    assert overlapping(graph, sizes, gap=19.0) == []


def test_resolve_overlaps_keeps_fixed_and_pinned_nodes(graph: Graph) -> None:
    graph.add_node("test.const", id="top", position=(0.0, 0.0))
    graph.add_node("test.const", id="pin", position=(50.0, 50.0))
    graph.set_node_attr("pin", "pinned", True)
    where = resolve_overlaps(graph, _sizes(graph), gap=10.0, fixed=["top"])
    assert where == {"top": (0.0, 0.0), "pin": (50.0, 50.0)}
    graph.add_node("test.const", id="free", position=(10.0, 10.0))
    where = resolve_overlaps(graph, _sizes(graph), gap=10.0, fixed=["top"])
    assert where["free"] == (10.0, 50.0 + 100.0 + 10.0)


def test_resolve_overlaps_is_near_linear_on_a_large_import(graph: Graph) -> None:
    # 3,000 nodes in 30 columns, each too tall for its slot: one pass, every overlap gone
    for i in range(3000):
        graph.add_node("test.const", id=f"n{i}", position=(300.0 * (i % 30), 90.0 * (i // 30)))
    sizes = _sizes(graph, (250.0, 120.0))
    where = resolve_overlaps(graph, sizes, gap=10.0)
    for node_id, position in where.items():
        graph.nodes[node_id].position = position
    assert overlapping(graph, sizes, gap=9.0) == []
    assert where["n29"] == (300.0 * 29, 0.0) and where["n30"] == (0.0, 130.0)


def test_sizes_fall_back_to_the_file_then_a_default(graph: Graph) -> None:
    graph.add_node("test.const", id="a")
    graph.add_node("test.const", id="b")
    graph.add_node("test.const", id="c")
    graph.set_node_attr("b", "size", (300.0, 50.0))
    sizes = node_sizes(graph, {"a": (10.0, 20.0)})
    assert sizes["a"] == (10.0, 20.0) and sizes["b"] == (300.0, 50.0)
    assert sizes["c"][0] > 0 and sizes["c"][1] > 0


def test_pinned_is_saved_loaded_and_kept_out_of_unpinned_nodes(graph: Graph, registry) -> None:
    graph.add_node("test.const", id="a")
    graph.add_node("test.const", id="b")
    graph.set_node_attr("a", "pinned", True)
    doc = to_dict(graph)
    assert doc["nodes"]["a"]["pinned"] is True and "pinned" not in doc["nodes"]["b"]
    again = from_dict(json.loads(json.dumps(doc)), registry)
    assert again.nodes["a"].pinned and not again.nodes["b"].pinned
    assert again.nodes["a"].extra == {}
    assert to_dict(again) == doc


def test_make_room_keeps_groups_whole_and_pushes_what_is_below_down(graph: Graph) -> None:
    # group "top" holds a column of two nodes that overlap here; group "below" sits under
    # it, and a free node beside; growing "top" must push "below" (with its node) down
    graph.add_group("Top", (0.0, -40.0, 260.0, 240.0), id="top")
    graph.add_node("test.const", id="a", position=(20.0, 20.0))
    graph.add_node("test.const", id="b", position=(20.0, 80.0))
    graph.add_group("Below", (0.0, 220.0, 260.0, 200.0), id="below")
    graph.add_node("test.const", id="c", position=(20.0, 280.0))
    graph.add_node("test.const", id="free", position=(600.0, 0.0))
    sizes = _sizes(graph)
    positions, frames = make_room(graph, sizes, gap=20.0, margin=20.0, title=30.0)
    assert positions["a"] == (20.0, 20.0) and positions["b"] == (20.0, 140.0)
    top = frames["top"]
    assert top[1] + top[3] == 140.0 + 100.0 + 20.0, "the frame grew round its nodes"
    below = frames["below"]
    assert below[1] >= top[1] + top[3] + 20.0, "the group below moved down as a block"
    assert positions["c"][1] - below[1] == 280.0 - 220.0, "its node moved with it"
    assert positions["free"] == (600.0, 0.0)
    for node_id, position in positions.items():
        graph.nodes[node_id].position = position
    for group_id, rect in frames.items():
        graph.groups[group_id].rect = rect
    assert graph.nodes_in_group("top") == ["a", "b"] and graph.nodes_in_group("below") == ["c"]
    assert overlapping(graph, sizes) == []


def test_make_room_with_nested_groups_only_moves_nodes(graph: Graph) -> None:
    graph.add_group("Outer", (0.0, 0.0, 800.0, 800.0), id="outer")
    graph.add_group("Inner", (10.0, 10.0, 300.0, 300.0), id="inner")
    graph.add_node("test.const", id="a", position=(20.0, 40.0))
    graph.add_node("test.const", id="b", position=(20.0, 60.0))
    positions, frames = make_room(graph, _sizes(graph), gap=20.0)
    assert positions["b"] == (20.0, 160.0)
    assert frames == {g: graph.groups[g].rect for g in graph.groups}


def test_huge_sizes_and_frames_from_a_file_cost_no_more_than_small_ones(graph: Graph) -> None:
    graph.add_group("Huge", (-1e12, -1e12, 2e12, 2e12), id="huge")
    for i in range(200):
        graph.add_node("test.const", id=f"n{i}", position=(0.0, 10.0 * i))
    graph.nodes["n0"].size = (1e12, 1e12)
    positions, _ = make_room(graph, None, gap=10.0)
    assert positions["n1"][1] > 1e12
    assert len(resolve_overlaps(graph, None)) == 200
