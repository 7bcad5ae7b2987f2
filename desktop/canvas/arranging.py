"""Arrange and Make Room on the canvas: the engine's layout applied as one undo step.

The layout itself is :mod:`nodes.arrange`'s (pure functions on the graph); what the canvas
adds is the nodes' real sizes, which only exist once the items have laid themselves out
(fonts, params, previews, collapsed nodes), and the undo step. Groups follow their nodes:
after Arrange a group's frame is refitted around the nodes that were inside it (when all
of them moved); Make Room keeps groups whole (:func:`nodes.arrange.make_room`: a frame
grows round its nodes and pushes what is below it down as a block).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF

from desktop.canvas import style
from desktop.canvas.groups import frame_around
from nodes.arrange import arrange, overlapping
from nodes.arrange import make_room as make_room_layout

if TYPE_CHECKING:
    from desktop.canvas.scene import CanvasScene

MAKE_ROOM_GAP = 20.0
"""Space Make Room leaves between nodes it separates."""


def item_sizes(scene: CanvasScene) -> dict[str, tuple[float, float]]:
    """Each node's size as drawn now (the body, without the port knobs)."""
    return {
        node_id: (item.body_rect().width(), item.body_rect().height())
        for node_id, item in scene.nodes.items()
    }


def arrange_graph(scene: CanvasScene) -> int:
    """Lay the whole graph out in layers (one undo step, "Arrange"); returns how many
    nodes moved."""
    graph = scene.document.graph
    moved = arrange(graph, item_sizes(scene))
    placed = {n: moved.get(n, d.position) for n, d in graph.nodes.items() if not d.pinned}
    return _apply(scene, placed, "Arrange")


def make_room(scene: CanvasScene) -> int:
    """Push overlapping nodes apart, moving as few as possible and only downwards (one
    undo step, "Make room"); returns how many nodes moved. Nothing happens, and no undo
    step is made, when no two nodes overlap."""
    graph = scene.document.graph
    sizes = item_sizes(scene)
    if not overlapping(graph, sizes):
        return 0
    positions, frames = make_room_layout(
        graph, sizes, gap=MAKE_ROOM_GAP, margin=20.0, title=style.GROUP_TITLE_H
    )
    moved = {n: p for n, p in positions.items() if graph.nodes[n].position != p}
    groups = {g: r for g, r in frames.items() if graph.groups[g].rect != r}
    if not moved and not groups:
        return 0
    stack = scene.document.undo_stack
    stack.beginMacro("Make room")
    try:
        scene.document.move(moved, groups)
    finally:
        stack.endMacro()
    return len(moved)


def _apply(scene: CanvasScene, positions: dict[str, tuple[float, float]], text: str) -> int:
    """Move the nodes to ``positions`` and refit each group whose nodes all have one."""
    graph = scene.document.graph
    moved = {n: p for n, p in positions.items() if graph.nodes[n].position != p}
    if not moved:
        return 0
    groups: dict[str, tuple[float, float, float, float]] = {}
    sizes = item_sizes(scene)
    for group_id, group in graph.groups.items():
        members = graph.nodes_in_group(group_id)
        if not members or not all(m in positions for m in members):
            continue  # a frame holding a pinned node stays
        rect = QRectF()
        for member in members:
            rect = rect.united(QRectF(*positions[member], *sizes[member]))
        frame = frame_around(rect)
        if frame != group.rect:
            groups[group_id] = frame
    stack = scene.document.undo_stack
    stack.beginMacro(text)
    try:
        scene.document.move(moved, groups)
    finally:
        stack.endMacro()
    return len(moved)
