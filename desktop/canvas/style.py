"""Colors, sizes and fonts of the canvas, in one place.

Port colors come from the engine (:data:`nodes.ports.PORT_COLORS`) so the canvas, the node
library and any future front end agree on them. Category colors tint node title bars.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache

from PySide6.QtGui import QColor, QFont, QPalette

from nodes.ports import PORT_COLORS, PortType
from nodes.tokens import CHUNK


# ---------------------------------------------------------------- colors
@dataclass(frozen=True, slots=True)
class CanvasColors:
    """One theme's canvas colors (the title bars keep their category tints in both)."""

    background: str
    grid_minor: str
    grid_major: str
    node_body: str
    node_border: str
    node_selected: str
    node_shadow: tuple[int, int, int, int]
    text: str
    text_dim: str
    field_bg: str
    field_border: str
    button: str
    unknown_body: str
    group_text: str


CANVAS_THEMES: dict[str, CanvasColors] = {
    "dark": CanvasColors(
        background="#1e1f22",
        grid_minor="#25272b",
        grid_major="#2d2f34",
        node_body="#2b2d31",
        node_border="#3b3e45",
        node_selected="#e8eaed",
        node_shadow=(0, 0, 0, 90),
        text="#dcdee3",
        text_dim="#8d919a",
        field_bg="#1f2023",
        field_border="#3a3d44",
        button="#35383e",
        unknown_body="#3a2426",
        group_text="#dcdee3",
    ),
    "light": CanvasColors(
        background="#e8eaee",
        grid_minor="#dfe2e7",
        grid_major="#d2d6dd",
        node_body="#fafbfc",
        node_border="#c3c7cf",
        node_selected="#1f2023",
        node_shadow=(40, 45, 60, 45),
        text="#1e1f22",
        text_dim="#5f6370",
        field_bg="#ffffff",
        field_border="#c3c7cf",
        button="#eceef1",
        unknown_body="#f6dedc",
        group_text="#1e1f22",
    ),
}
"""The canvas under each app theme (:func:`use_theme` picks one; dark by default)."""

BACKGROUND = QColor("#1e1f22")
GRID_MINOR = QColor("#25272b")
GRID_MAJOR = QColor("#2d2f34")

NODE_BODY = QColor("#2b2d31")
NODE_BORDER = QColor("#3b3e45")
NODE_SELECTED = QColor("#e8eaed")
NODE_SHADOW = QColor(0, 0, 0, 90)
TEXT = QColor("#dcdee3")
TEXT_DIM = QColor("#8d919a")
FIELD_BG = QColor("#1f2023")
FIELD_BORDER = QColor("#3a3d44")
BUTTON = QColor("#35383e")
GROUP_TEXT = QColor("#dcdee3")
TITLE_TEXT = QColor("#f1f2f4")
"""Text on a node's title bar: light in both themes, over the category tint."""
TITLE_TEXT_DIM = QColor(241, 242, 244, 170)

ACCENT = QColor("#4f9cf5")
"""Running nodes, focus, highlighted ports."""
OK = QColor("#5fb86a")
WARN = QColor("#e3a13b")
ERROR = QColor("#e5534b")
UNKNOWN_TITLE = QColor("#8a2f2b")
UNKNOWN_BODY = QColor("#3a2426")

CATEGORY_COLORS: dict[str, str] = {
    "loaders": "#5a4a86",
    "conditioning": "#80602a",
    "sampling": "#2d5d80",
    "latent": "#7c3a5a",
    "image": "#2c6a5e",
    "primitives": "#4c5e34",
    "utility": "#4a4f58",
}

NODE_COLOR_CHOICES: dict[str, str] = {
    "Red": "#7d3333",
    "Brown": "#6b4a2e",
    "Green": "#3a6b3a",
    "Blue": "#2f4f7a",
    "Purple": "#5a3f7a",
    "Cyan": "#2f6a70",
    "Yellow": "#7a6a2a",
    "Black": "#222326",
}
"""The colors offered by a node's and a group's context menu (title/frame tint)."""

GROUP_DEFAULT = QColor("#5d7088")

# ---------------------------------------------------------------- sizes (scene units)
GRID = 20
GRID_MAJOR_EVERY = 5
NODE_WIDTH = 260.0
NODE_NARROW_WIDTH = 200.0
"""Nodes with ports only (VAE Decode, Preview Image)."""
NODE_MIN_WIDTH = 160.0
TITLE_H = 28.0
ROW_H = 22.0
"""Height of one port row."""
PARAM_ROW_H = 26.0
WIDGET_H = 22.0
MULTILINE_H = 84.0
TOKEN_ROW_H = 16.0
PAD = 10.0
RADIUS = 6.0
PORT_R = 5.0
LABEL_FRACTION = 0.40
"""Share of the node width taken by a param's label; the widget gets the rest."""
REROUTE_D = 14.0
"""Diameter of a reroute dot (a ``utility.reroute`` node drawn on its link)."""
REROUTE_IDLE = QColor("#6f737b")
"""A reroute dot with nothing flowing in."""
LOD_DETAIL = 0.5
"""Below this zoom nodes draw a cheap proxy: no widgets, no ports' labels."""
LOD_TITLE = 0.15
"""Down to this zoom the proxy still shows each node's title, drawn at a readable size on
screen (a fitted graph of a dozen nodes lands between this and LOD_DETAIL)."""
FIT_ZOOM_MIN = LOD_DETAIL
"""Fit never zooms out past this (it scrolls instead): a fitted graph always shows its
nodes whole, with their fields and values, never as a map of labelled boxes."""
ZOOM_MIN = 0.08
ZOOM_MAX = 3.0
GROUP_TITLE_H = 30.0

TOKEN_LIMIT = CHUNK
"""Tokens CLIP reads in one window (75, 77 with the start and end tokens); longer prompts
are encoded in chunks, which weakens their end — the editor warns past this."""


@cache
def port_color(port_type: PortType | str) -> QColor:
    try:
        return QColor(PORT_COLORS[PortType(port_type)])
    except (KeyError, ValueError):
        return QColor(PORT_COLORS[PortType.ANY])


@cache
def category_color(category: str) -> QColor:
    """The title bar tint of a category; unknown categories get a stable muted hue."""
    known = CATEGORY_COLORS.get(category)
    if known:
        return QColor(known)
    hue = zlib.crc32(category.encode("utf-8")) % 360
    return QColor.fromHsl(hue, 70, 85)


def ui_font(point_size: float = 9.0, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(point_size)
    font.setBold(bold)
    return font


def widget_palette() -> QPalette:
    """The palette of the widgets embedded in nodes, in the canvas's theme (set on the
    scene, inherited)."""
    palette = QPalette()
    role = QPalette.ColorRole
    palette.setColor(role.Window, NODE_BODY)
    palette.setColor(role.WindowText, TEXT)
    palette.setColor(role.Base, FIELD_BG)
    palette.setColor(role.AlternateBase, NODE_BODY)
    palette.setColor(role.Text, TEXT)
    palette.setColor(role.PlaceholderText, TEXT_DIM)
    palette.setColor(role.Button, BUTTON)
    palette.setColor(role.ButtonText, TEXT)
    palette.setColor(role.Highlight, ACCENT)
    palette.setColor(role.HighlightedText, QColor("#ffffff"))
    palette.setColor(role.ToolTipBase, NODE_BODY)
    palette.setColor(role.ToolTipText, TEXT)
    palette.setColor(role.Light, BUTTON.lighter(125))
    palette.setColor(role.Midlight, BUTTON.lighter(110))
    palette.setColor(role.Mid, FIELD_BORDER)
    palette.setColor(role.Dark, BACKGROUND.darker(130))
    palette.setColor(role.Shadow, QColor("#000000"))
    disabled = QPalette.ColorGroup.Disabled
    palette.setColor(disabled, role.Text, TEXT_DIM)
    palette.setColor(disabled, role.WindowText, TEXT_DIM)
    palette.setColor(disabled, role.ButtonText, TEXT_DIM)
    return palette


def widget_qss() -> str:
    """The style sheet of one node's widget panel, in the canvas's theme, so that nodes
    look the same under any app style sheet (and like the look-alikes they paint before
    their widgets exist)."""
    field, text, border = FIELD_BG.name(), TEXT.name(), FIELD_BORDER.name()
    accent, body, button = ACCENT.name(), NODE_BODY.name(), BUTTON.name()
    return f"""
QLineEdit, QComboBox, QPlainTextEdit, QAbstractSpinBox {{
    background: {field};
    color: {text};
    border: 1px solid {border};
    border-radius: 4px;
    selection-background-color: {accent};
}}
QLineEdit, QComboBox {{ padding: 0px 4px; }}
QLineEdit:focus, QComboBox:focus, QPlainTextEdit:focus, QAbstractSpinBox:focus {{
    border-color: {accent};
}}
QComboBox QAbstractItemView {{
    background: {body}; color: {text};
    selection-background-color: {accent}; border: 1px solid {border};
}}
QCheckBox {{ color: {text}; spacing: 6px; }}
QCheckBox::indicator {{
    width: 13px; height: 13px; border-radius: 3px;
    border: 1px solid {border}; background: {field};
}}
QCheckBox::indicator:checked {{ background: {accent}; border-color: {accent}; }}
QToolButton {{
    background: {button}; color: {text};
    border: 1px solid {border}; border-radius: 4px; padding: 0px;
}}
QToolButton:hover {{ background: {BUTTON.darker(112).name()}; }}
"""


class _Theme:
    """The canvas theme in use (one per process, like the application's palette)."""

    name = "dark"


def canvas_theme() -> str:
    """The name of the canvas theme in use."""
    return _Theme.name


def use_theme(name: str) -> None:
    """Switch the canvas colors to theme ``name`` (unknown names mean dark).

    The colors are this module's globals, which painting reads at paint time, so items
    follow at their next repaint; the view restyles the node widgets and repaints when
    the application's palette changes (:func:`desktop.theme.apply_theme` calls this
    first).
    """
    theme = CANVAS_THEMES.get(name, CANVAS_THEMES["dark"])
    _Theme.name = name if name in CANVAS_THEMES else "dark"
    values = {
        "BACKGROUND": theme.background,
        "GRID_MINOR": theme.grid_minor,
        "GRID_MAJOR": theme.grid_major,
        "NODE_BODY": theme.node_body,
        "NODE_BORDER": theme.node_border,
        "NODE_SELECTED": theme.node_selected,
        "TEXT": theme.text,
        "TEXT_DIM": theme.text_dim,
        "FIELD_BG": theme.field_bg,
        "FIELD_BORDER": theme.field_border,
        "BUTTON": theme.button,
        "UNKNOWN_BODY": theme.unknown_body,
        "GROUP_TEXT": theme.group_text,
    }
    module = globals()
    for key, value in values.items():
        module[key] = QColor(value)
    module["NODE_SHADOW"] = QColor(*theme.node_shadow)
