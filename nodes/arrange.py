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
  columns keep their places and only slide down as far as needed.

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
    grid = _Grid(cell=max(64.0, _median_height(box)))
    result: dict[str, Position] = {}
    for node_id in stay:
        if node_id in graph.nodes:
            rect = _Rect(*where[node_id], *box[node_id])
            grid.add(rect)
            result[node_id] = where[node_id]
    movable = sorted(
        (n for n in graph.nodes if n not in stay), key=lambda n: (where[n][1], where[n][0])
    )
    for node_id in movable:
        x, y = where[node_id]
        w, h = box[node_id]
        rect = _Rect(x, y, w, h)
        while True:
            hits = [other for other in grid.near(rect, gap) if rect.overlaps(other, gap)]
            if not hits:
                break
            rect = _Rect(x, max(o.y + o.h for o in hits) + gap, w, h)
        grid.add(rect)
        result[node_id] = (rect.x, rect.y)
    return {node_id: result[node_id] for node_id in graph.nodes}


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


def _median_height(box: Mapping[str, Size]) -> float:
    heights = sorted(h for _, h in box.values())
    return heights[len(heights) // 2] if heights else DEFAULT_SIZE[1]


class _Grid:
    """Rectangles bucketed by square cells, for finding the ones near a rectangle."""

    def __init__(self, cell: float) -> None:
        self.cell = cell
        self.cells: dict[tuple[int, int], list[_Rect]] = {}

    def _span(self, rect: _Rect, margin: float) -> Iterable[tuple[int, int]]:
        c = self.cell
        x0, x1 = int((rect.x - margin) // c), int((rect.x + rect.w + margin) // c)
        y0, y1 = int((rect.y - margin) // c), int((rect.y + rect.h + margin) // c)
        return ((i, j) for i in range(x0, x1 + 1) for j in range(y0, y1 + 1))

    def add(self, rect: _Rect) -> None:
        for key in self._span(rect, 0.0):
            self.cells.setdefault(key, []).append(rect)

    def near(self, rect: _Rect, margin: float) -> list[_Rect]:
        seen: dict[_Rect, None] = {}
        for key in self._span(rect, margin):
            for other in self.cells.get(key, ()):
                seen[other] = None
        return list(seen)
