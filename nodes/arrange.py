"""Layout of a graph on the canvas, as pure functions that return positions.

Two jobs, both on a :class:`~nodes.graph.Graph` and the nodes' sizes (which only the app
knows: the engine has no fonts), and neither changing the graph:

- :func:`arrange` — a layered layout for an imported or messy graph. Each node gets a
  column by the longest path of links into it, then is pulled right as far as its
  consumers allow (so a loader sits just before what reads it, not at the far left).
  Within a column nodes are ordered by the barycentre of their neighbours, swept left to
  right and back a few times, which removes most link crossings. Column widths come from
  the widest node in each column; each node sits as near the mean height of what feeds it
  as the nodes above it allow. Weakly connected parts are laid out one below the other,
  in the graph's order, so the layout is deterministic.
- :func:`resolve_overlaps` — a minimal-move de-overlap: nodes are taken top to bottom and
  each one that overlaps a node already placed is pushed straight down below it. This is
  what an imported ComfyUI graph needs when its nodes are taller here than there: the
  columns keep their places and only slide down as far as needed. :func:`make_room` does
  the same keeping groups whole (a group grows round its nodes and pushes what is below
  it down as a block).

Pinned nodes (``NodeData.pinned``) never move in either: the others make room for them.
Files may hold cycles (they load unchecked); a cycle's nodes share one column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import networkx as nx

from nodes.graph import Graph

DEFAULT_SIZE = (260.0, 120.0)
"""The size assumed for a node the caller gives none for (and the file has none)."""
GAP_X = 80.0
"""Horizontal space between columns."""
GAP_Y = 40.0
"""Vertical space between nodes in a column, and between laid-out parts."""
SWEEPS = 4
"""Barycentre sweeps (each one left to right, then right to left)."""


Size = tuple[float, float]
Position = tuple[float, float]


@dataclass(frozen=True, slots=True)
class _Rect:
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: _Rect, gap: float) -> bool:
        return (
            self.x < other.x + other.w + gap
            and other.x < self.x + self.w + gap
            and self.y < other.y + other.h + gap
            and other.y < self.y + self.h + gap
        )


def node_sizes(graph: Graph, sizes: Mapping[str, Size] | None = None) -> dict[str, Size]:
    """Each node's size: ``sizes``' if given, else the file's, else :data:`DEFAULT_SIZE`."""
    given = sizes or {}
    result: dict[str, Size] = {}
    for node_id, data in graph.nodes.items():
        size = given.get(node_id) or data.size or DEFAULT_SIZE
        result[node_id] = (max(1.0, float(size[0])), max(1.0, float(size[1])))
    return result


def arrange(
    graph: Graph,
    sizes: Mapping[str, Size] | None = None,
    *,
    gap_x: float = GAP_X,
    gap_y: float = GAP_Y,
) -> dict[str, Position]:
    """New top-left positions for every node that moves (see the module docstring).

    The layout starts at the top-left corner of the nodes as they are, so the graph stays
    where the user was looking. Pinned nodes keep their places and are left out of the
    result; the others are pushed off them.
    """
    if not graph.nodes:
        return {}
    box = node_sizes(graph, sizes)
    order = {node_id: i for i, node_id in enumerate(graph.nodes)}
    dag = _condensed(graph)
    left = min(d.position[0] for d in graph.nodes.values())
    top = min(d.position[1] for d in graph.nodes.values())
    positions: dict[str, Position] = {}
    y = top
    for part in _parts(dag, order):
        placed, height = _layout_part(dag, part, box, order, gap_x, gap_y)
        for node_id, (px, py) in placed.items():
            positions[node_id] = (left + px, y + py)
        y += height + gap_y
    pinned = {n for n, d in graph.nodes.items() if d.pinned}
    if pinned:
        for node_id in pinned:
            positions[node_id] = graph.nodes[node_id].position
        positions = resolve_overlaps(graph, box, positions=positions, gap=gap_y / 2)
    return {
        node_id: position
        for node_id, position in positions.items()
        if node_id not in pinned and position != graph.nodes[node_id].position
    }


def resolve_overlaps(
    graph: Graph,
    sizes: Mapping[str, Size] | None = None,
    *,
    positions: Mapping[str, Position] | None = None,
    gap: float = 20.0,
    fixed: Iterable[str] = (),
) -> dict[str, Position]:
    """Positions with no two nodes closer than ``gap``, moving nodes only downwards.

    ``positions`` overrides where nodes are (default: where the graph has them); pinned
    nodes and ``fixed`` ones stay put. Returns every node's position (moved or not), in the
    graph's order. Nodes are visited top to bottom (then left to right) and each is pushed
    below whatever already placed node it overlaps, until it overlaps none: the least
    vertical movement that keeps the order of each column. A spatial hash keeps this near
    linear on large graphs.
    """
    box = node_sizes(graph, sizes)
    where = dict(positions or {})
    for node_id, data in graph.nodes.items():
        where.setdefault(node_id, data.position)
    stay = set(fixed) | {n for n, d in graph.nodes.items() if d.pinned}
    rects = {n: _Rect(*where[n], *box[n]) for n in graph.nodes}
    placed = _push_down(rects, stay, gap)
    return {node_id: (placed[node_id].x, placed[node_id].y) for node_id in graph.nodes}


GroupRect = tuple[float, float, float, float]


def make_room(
    graph: Graph,
    sizes: Mapping[str, Size] | None = None,
    *,
    gap: float = 20.0,
    margin: float = 20.0,
    title: float = 30.0,
) -> tuple[dict[str, Position], dict[str, GroupRect]]:
    """:func:`resolve_overlaps` that keeps groups whole: (every node's position, every
    group's frame).

    Each node belongs to the smallest group frame its position lies in. First the members
    of each group are pushed apart among themselves and the frame grows to hold them
    (``margin`` around, ``title`` above); then the groups, as blocks with their nodes, and
    the nodes in no group are pushed apart the same way, a block moving all its nodes. So
    a group that grows pushes what is below it down instead of swallowing it, and no node
    changes group. Frames that overlap each other (nested groups) give no blocks to move:
    then only the nodes are pushed apart, as :func:`resolve_overlaps` does.
    """
    box = node_sizes(graph, sizes)
    rects = {n: _Rect(*d.position, *box[n]) for n, d in graph.nodes.items()}
    frames = {g: _Rect(*group.rect) for g, group in graph.groups.items()}
    pinned = {n for n, d in graph.nodes.items() if d.pinned}
    if _any_overlap(frames.values()):
        placed = _push_down(rects, pinned, gap)
        return {n: (r.x, r.y) for n, r in placed.items()}, {
            g: graph.groups[g].rect for g in graph.groups
        }
    owner: dict[str, str | None] = {}
    for node_id, data in graph.nodes.items():
        x, y = data.position
        inside = [g for g, f in frames.items() if f.x <= x <= f.x + f.w and f.y <= y <= f.y + f.h]
        owner[node_id] = min(inside, key=lambda g: frames[g].w * frames[g].h, default=None)
    members: dict[str, list[str]] = {g: [] for g in frames}
    for node_id, group_id in owner.items():
        if group_id is not None:
            members[group_id].append(node_id)
    for group_id, nodes in members.items():
        if not nodes:
            continue
        rects.update(_push_down({n: rects[n] for n in nodes}, pinned, gap))
        left = min(rects[n].x for n in nodes) - margin
        top = min(rects[n].y for n in nodes) - margin - title
        right = max(rects[n].x + rects[n].w for n in nodes) + margin
        bottom = max(rects[n].y + rects[n].h for n in nodes) + margin
        f = frames[group_id]
        x0, y0 = min(f.x, left), min(f.y, top)
        frames[group_id] = _Rect(x0, y0, max(f.x + f.w, right) - x0, max(f.y + f.h, bottom) - y0)
    blocks = {f"group:{g}": frames[g] for g in frames}
    blocks.update({f"node:{n}": rects[n] for n, g in owner.items() if g is None})
    stay = {f"node:{n}" for n in pinned if owner[n] is None}
    stay |= {f"group:{owner[n]}" for n in pinned if owner[n] is not None}
    moved = _push_down(blocks, stay, gap)
    for key, rect in moved.items():
        kind, _, name = key.partition(":")
        if kind == "node":
            rects[name] = rect
            continue
        dy = rect.y - frames[name].y
        frames[name] = rect
        for node_id in members[name]:
            r = rects[node_id]
            rects[node_id] = _Rect(r.x, r.y + dy, r.w, r.h)
    positions = {n: (rects[n].x, rects[n].y) for n in graph.nodes}
    return positions, {g: (f.x, f.y, f.w, f.h) for g, f in frames.items()}


def _push_down(rects: Mapping[str, _Rect], stay: Iterable[str], gap: float) -> dict[str, _Rect]:
    """The rectangles with none closer than ``gap`` to another, the ``stay`` ones where
    they are and the rest visited top to bottom (then left to right), each pushed straight
    down below what it overlaps among those already placed until it overlaps none."""
    fixed = [key for key in stay if key in rects]
    grid = _Grid(cell=max(64.0, _median_height({k: (r.w, r.h) for k, r in rects.items()})))
    result: dict[str, _Rect] = {}
    for key in fixed:
        grid.add(rects[key])
        result[key] = rects[key]
    movable = sorted((k for k in rects if k not in result), key=lambda k: (rects[k].y, rects[k].x))
    for key in movable:
        rect = rects[key]
        while True:
            hits = [other for other in grid.near(rect, gap) if rect.overlaps(other, gap)]
            if not hits:
                break
            rect = _Rect(rect.x, max(o.y + o.h for o in hits) + gap, rect.w, rect.h)
        grid.add(rect)
        result[key] = rect
    return result


def overlapping(
    graph: Graph, sizes: Mapping[str, Size] | None = None, gap: float = 0.0
) -> list[tuple[str, str]]:
    """Pairs of nodes whose rectangles overlap (closer than ``gap``), in graph order."""
    box = node_sizes(graph, sizes)
    grid = _Grid(cell=max(64.0, _median_height(box)))
    named: dict[_Rect, list[str]] = {}
    pairs: list[tuple[str, str]] = []
    for node_id, data in graph.nodes.items():
        rect = _Rect(*data.position, *box[node_id])
        for other in grid.near(rect, gap):
            if rect.overlaps(other, gap):
                pairs.extend((first, node_id) for first in named[other])
        if rect not in named:
            grid.add(rect)
        named.setdefault(rect, []).append(node_id)
    return pairs


# ---------------------------------------------------------------------------- layering


def _condensed(graph: Graph) -> nx.DiGraph:
    """The links as a DAG of node ids; each cycle (a file may hold one) becomes one
    vertex whose ``members`` are its nodes in graph order."""
    links = nx.DiGraph()
    links.add_nodes_from(graph.nodes)
    links.add_edges_from(
        (link.source, link.target)
        for link in graph.links
        if link.source in graph.nodes and link.target in graph.nodes
    )
    order = {node_id: i for i, node_id in enumerate(graph.nodes)}
    dag = nx.DiGraph()
    if nx.is_directed_acyclic_graph(links):
        for node_id in graph.nodes:
            dag.add_node(node_id, members=[node_id])
        dag.add_edges_from(links.edges)
        return dag
    condensed = nx.condensation(links)
    name = {}
    for vertex, data in condensed.nodes(data=True):
        members = sorted(data["members"], key=order.__getitem__)
        name[vertex] = members[0]
        dag.add_node(members[0], members=members)
    dag.add_edges_from((name[a], name[b]) for a, b in condensed.edges)
    return dag


def _parts(dag: nx.DiGraph, order: Mapping[str, int]) -> list[list[str]]:
    """Weakly connected parts, each in graph order, ordered by their first node."""
    parts = [sorted(part, key=order.__getitem__) for part in nx.weakly_connected_components(dag)]
    return sorted(parts, key=lambda part: order[part[0]])


def _layers(dag: nx.DiGraph, part: list[str], order: Mapping[str, int]) -> dict[str, int]:
    sub = dag.subgraph(part)
    topo = list(nx.lexicographical_topological_sort(sub, key=order.__getitem__))
    layer: dict[str, int] = {}
    for vertex in topo:  # longest path from the sources
        layer[vertex] = max((layer[p] + 1 for p in sub.predecessors(vertex)), default=0)
    for vertex in reversed(topo):  # pulled right, next to what reads it
        successors = list(sub.successors(vertex))
        if successors:
            layer[vertex] = min(layer[s] for s in successors) - 1
    low = min(layer.values())
    return {vertex: value - low for vertex, value in layer.items()}


def _ordered_columns(
    dag: nx.DiGraph, layer: Mapping[str, int], order: Mapping[str, int]
) -> list[list[str]]:
    columns: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
    for vertex in sorted(layer, key=order.__getitem__):
        columns[layer[vertex]].append(vertex)
    for _ in range(SWEEPS):
        for index in range(1, len(columns)):
            _by_barycentre(columns[index], columns[index - 1], dag.predecessors)
        for index in range(len(columns) - 2, -1, -1):
            _by_barycentre(columns[index], columns[index + 1], dag.successors)
    return columns


def _by_barycentre(
    column: list[str], fixed: list[str], neighbours: Callable[[str], Iterable[str]]
) -> None:
    """Sort ``column`` in place by the mean index of its neighbours in ``fixed``; a node
    with none there keeps its index (a stable sort keeps ties in order)."""
    rank = {vertex: i for i, vertex in enumerate(fixed)}
    keys: dict[str, float] = {}
    for i, vertex in enumerate(column):
        near = [rank[n] for n in neighbours(vertex) if n in rank]
        keys[vertex] = sum(near) / len(near) if near else float(i)
    column.sort(key=keys.__getitem__)


def _layout_part(
    dag: nx.DiGraph,
    part: list[str],
    box: Mapping[str, Size],
    order: Mapping[str, int],
    gap_x: float,
    gap_y: float,
) -> tuple[dict[str, Position], float]:
    """Positions of one connected part relative to its top-left corner, and its height."""
    layer = _layers(dag, part, order)
    columns = _ordered_columns(dag, layer, order)

    def members(vertex: str) -> list[str]:
        return dag.nodes[vertex]["members"]

    def vertex_size(vertex: str) -> Size:
        sizes = [box[m] for m in members(vertex)]
        return max(w for w, _ in sizes), sum(h for _, h in sizes) + gap_y * (len(sizes) - 1)

    center: dict[str, float] = {}
    tops: dict[str, float] = {}
    x = 0.0
    xs: list[float] = []
    for column in columns:
        xs.append(x)
        x += max(vertex_size(v)[0] for v in column) + gap_x
        bottom = -gap_y
        for vertex in column:
            height = vertex_size(vertex)[1]
            feeds = [center[p] for p in dag.predecessors(vertex) if p in center]
            wanted = sum(feeds) / len(feeds) - height / 2 if feeds else bottom + gap_y
            top = max(wanted, bottom + gap_y)
            tops[vertex] = top
            center[vertex] = top + height / 2
            bottom = top + height
    lowest = min(tops.values())
    positions: dict[str, Position] = {}
    height = 0.0
    for index, column in enumerate(columns):
        for vertex in column:
            y = tops[vertex] - lowest
            for member in members(vertex):
                positions[member] = (xs[index], y)
                y += box[member][1] + gap_y
            height = max(height, y - gap_y)
    return positions, height


# ---------------------------------------------------------------------------- geometry


def _any_overlap(rects: Iterable[_Rect]) -> bool:
    grid = _Grid(cell=256.0)
    for rect in rects:
        if any(rect.overlaps(other, 0.0) for other in grid.near(rect, 0.0)):
            return True
        grid.add(rect)
    return False


def _median_height(box: Mapping[str, Size]) -> float:
    heights = sorted(h for _, h in box.values())
    return heights[len(heights) // 2] if heights else DEFAULT_SIZE[1]


class _Grid:
    """Rectangles bucketed by square cells, for finding the ones near a rectangle. A
    rectangle spanning more than :data:`_MAX_CELLS` cells (a huge frame from a file) is
    kept in a list every query sees, so no rectangle costs more than that many cells."""

    def __init__(self, cell: float) -> None:
        self.cell = cell
        self.cells: dict[tuple[int, int], list[_Rect]] = {}
        self.big: list[_Rect] = []

    def _span(self, rect: _Rect, margin: float) -> tuple[range, range] | None:
        c = self.cell
        xs = range(int((rect.x - margin) // c), int((rect.x + rect.w + margin) // c) + 1)
        ys = range(int((rect.y - margin) // c), int((rect.y + rect.h + margin) // c) + 1)
        return (xs, ys) if len(xs) * len(ys) <= _MAX_CELLS else None

    def add(self, rect: _Rect) -> None:
        span = self._span(rect, 0.0)
        if span is None:
            self.big.append(rect)
            return
        for i in span[0]:
            for j in span[1]:
                self.cells.setdefault((i, j), []).append(rect)

    def near(self, rect: _Rect, margin: float) -> list[_Rect]:
        seen: dict[_Rect, None] = dict.fromkeys(self.big)
        span = self._span(rect, margin)
        if span is None:  # a huge query: every rectangle is near
            for bucket in self.cells.values():
                seen.update(dict.fromkeys(bucket))
            return list(seen)
        for i in span[0]:
            for j in span[1]:
                for other in self.cells.get((i, j), ()):
                    seen[other] = None
        return list(seen)


_MAX_CELLS = 4096
