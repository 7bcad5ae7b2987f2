"""A live theme switch restyles the canvas: number fields keep their text, the canvas and
its nodes take the theme's colors, and switching back restores them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from desktop.canvas import style
from desktop.canvas.params import NumberEditor
from desktop.canvas.view import CanvasView
from desktop.canvas.widgets import NumberSpinBox
from desktop.document import Document
from desktop.theme import apply_theme
from tests.desktop.canvas_helpers import node


@pytest.fixture
def themed(qapp: QApplication) -> Iterator[QApplication]:
    """The application as the tests found it afterwards (style, palette, style sheet)."""
    sheet, palette, style_name = qapp.styleSheet(), qapp.palette(), qapp.style().name()
    yield qapp
    style.use_theme("dark")
    qapp.setStyleSheet(sheet)
    qapp.setStyle(style_name)
    qapp.setPalette(palette)


def _settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


def _pixel(canvas: CanvasView, x: int, y: int) -> QColor:
    image: QImage = canvas.viewport().grab().toImage()
    return image.pixelColor(x, y)


def test_number_fields_keep_their_text_through_a_theme_switch(
    themed: QApplication, canvas: CanvasView, document: Document
) -> None:
    apply_theme(themed, "dark")
    sampler = document.add_node("sampling.sampler", (0, 0))
    item = node(canvas, sampler)
    item.ensure_widgets()
    _settle()
    boxes = [e.box for e in item.editors.values() if isinstance(e, NumberEditor)]
    assert boxes
    for name in ("light", "dark", "light"):
        apply_theme(themed, name)
        _settle()
        for box in boxes:
            assert isinstance(box, NumberSpinBox)
            line = box.lineEdit()
            # the edit field fills the box (it was 1 px wide, the number invisible)
            assert line.width() >= box.width() - 10, (name, box.width(), line.geometry())
            assert line.text()


def test_the_light_theme_lights_the_canvas_and_its_nodes(
    themed: QApplication, canvas: CanvasView, document: Document
) -> None:
    apply_theme(themed, "dark")
    _settle()
    assert _pixel(canvas, 5, 5).lightness() < 80
    sampler = document.add_node("sampling.sampler", (0, 0))
    item = node(canvas, sampler)
    item.ensure_widgets()
    apply_theme(themed, "light")
    _settle()
    assert style.canvas_theme() == "light"
    assert _pixel(canvas, 5, 5).lightness() > 200  # the background
    body = canvas.mapFromScene(item.mapToScene(item.width - 4, item.height - 4))
    assert _pixel(canvas, body.x(), body.y()).lightness() > 200  # a node's body
    panel = item.param_panel
    assert panel is not None
    assert style.CANVAS_THEMES["light"].field_bg in panel.styleSheet()
    assert canvas.canvas_scene.palette().base().color() == QColor(
        style.CANVAS_THEMES["light"].field_bg
    )
    apply_theme(themed, "dark")
    _settle()
    assert _pixel(canvas, 5, 5).lightness() < 80
    assert style.CANVAS_THEMES["dark"].field_bg in panel.styleSheet()


def test_nodes_built_after_a_switch_take_the_new_theme(
    themed: QApplication, canvas: CanvasView, document: Document
) -> None:
    apply_theme(themed, "light")
    _settle()
    item = node(canvas, document.add_node("latent.empty", (0, 0)))
    item.ensure_widgets()
    assert item.param_panel is not None
    assert style.CANVAS_THEMES["light"].field_bg in item.param_panel.styleSheet()


def test_the_node_search_and_the_minimap_follow_the_theme(
    themed: QApplication, canvas: CanvasView
) -> None:
    """Both hard-coded dark colors: a light canvas opened a dark search popup and map."""
    from PySide6.QtCore import QPoint

    apply_theme(themed, "light")
    _settle()
    popup = canvas.search_popup
    popup.open_at(QPoint(10, 10))
    _settle()
    light = style.CANVAS_THEMES["light"]
    assert light.node_body in popup.styleSheet() and light.field_bg in popup.styleSheet()
    popup.close_popup()
    canvas.set_minimap_visible(True)
    _settle()
    minimap = canvas.minimap
    assert minimap is not None
    middle = minimap.grab().toImage().pixelColor(4, minimap.height() // 2)
    assert middle.lightness() > 180
    apply_theme(themed, "dark")
    _settle()
    popup.open_at(QPoint(10, 10))
    assert style.CANVAS_THEMES["dark"].node_body in popup.styleSheet()
    popup.close_popup()
    assert minimap.grab().toImage().pixelColor(4, minimap.height() // 2).lightness() < 80
