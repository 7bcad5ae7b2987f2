"""Helpers the canvas tests share: finding items, and driving the viewport with the mouse
and the wheel the way a person does. Accessors that Qt or the items type as optional
assert what the test expects, so a missing item fails there, by name."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QGraphicsProxyWidget

from desktop.canvas import style
from desktop.canvas.node_item import NodeItem
from desktop.canvas.params import ParamEditor
from desktop.canvas.ports import PortItem
from desktop.canvas.view import CanvasView
from desktop.document import Document

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier

E = TypeVar("E", bound=ParamEditor)


def node(view: CanvasView, node_id: str) -> NodeItem:
    return view.canvas_scene.nodes[node_id]


def port(view: CanvasView, node_id: str, name: str, output: bool) -> PortItem:
    found = node(view, node_id).port(name, output)
    assert found is not None
    return found


def editor(view: CanvasView, node_id: str, name: str, kind: type[E]) -> E:
    """The editor of param ``name`` on a node, which must be a ``kind``."""
    found = node(view, node_id).editors[name]
    assert isinstance(found, kind), f"{name} is edited by a {type(found).__name__}"
    return found


def proxy(item: NodeItem) -> QGraphicsProxyWidget:
    """The proxy holding a node's param widgets (built by now)."""
    assert item.proxy is not None, f"{item.node_id} has no widgets yet"
    return item.proxy


def linked_source(document: Document, target: str, input: str) -> str:
    """The node feeding ``target.input`` (which must be linked)."""
    link = document.graph.link_into(target, input)
    assert link is not None, f"{target}.{input} is not linked"
    return link.source


def vp(view: CanvasView, scene_pos: QPointF) -> QPoint:
    return view.mapFromScene(scene_pos)


def mouse_drag(
    view: CanvasView,
    start: QPointF,
    end: QPointF,
    steps: int = 5,
    modifier: Qt.KeyboardModifier = NO_MOD,
) -> None:
    viewport = view.viewport()
    a, b = vp(view, start), vp(view, end)
    QTest.mouseMove(viewport, a)
    QTest.mousePress(viewport, LEFT, modifier, a)
    for i in range(1, steps + 1):
        QTest.mouseMove(viewport, a + (b - a) * i / steps)
    QTest.mouseRelease(viewport, LEFT, modifier, b)


def title_point(view: CanvasView, node_id: str) -> QPointF:
    item = node(view, node_id)
    return item.mapToScene(QPointF(item.width - 30, style.TITLE_H / 2))


def wheel(view: CanvasView, delta: int, at: QPoint | None = None) -> None:
    pos = QPointF(at if at is not None else view.viewport().rect().center())
    event = QWheelEvent(
        pos,
        QPointF(view.viewport().mapToGlobal(pos.toPoint())),
        QPoint(0, 0),
        QPoint(0, delta),
        Qt.MouseButton.NoButton,
        NO_MOD,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)


def txt2img_pair(document: Document) -> tuple[str, str]:
    checkpoint = document.add_node("loaders.checkpoint", (0, 0))
    encode = document.add_node("conditioning.text_encode", (420, 0))
    return checkpoint, encode
