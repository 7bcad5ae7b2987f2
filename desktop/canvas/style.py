"""Colors, sizes and fonts of the canvas, in one place.

Port colors come from the engine (:data:`nodes.ports.PORT_COLORS`) so the canvas, the node
library and any future front end agree on them. Category colors tint node title bars.
"""

from __future__ import annotations

import zlib
from functools import cache

from PySide6.QtGui import QColor, QFont, QPalette

from nodes.ports import PORT_COLORS, PortType
from nodes.tokens import CHUNK

# ---------------------------------------------------------------- colors
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
    """A dark palette for the widgets embedded in nodes (set on the scene, inherited)."""
    palette = QPalette()
    role = QPalette.ColorRole
    palette.setColor(role.Window, NODE_BODY)
    palette.setColor(role.WindowText, TEXT)
    palette.setColor(role.Base, FIELD_BG)
    palette.setColor(role.AlternateBase, NODE_BODY)
    palette.setColor(role.Text, TEXT)
    palette.setColor(role.PlaceholderText, TEXT_DIM)
    palette.setColor(role.Button, QColor("#35383e"))
    palette.setColor(role.ButtonText, TEXT)
    palette.setColor(role.Highlight, ACCENT)
    palette.setColor(role.HighlightedText, QColor("#ffffff"))
    palette.setColor(role.ToolTipBase, QColor("#2b2d31"))
    palette.setColor(role.ToolTipText, TEXT)
    palette.setColor(role.Light, QColor("#45484f"))
    palette.setColor(role.Midlight, QColor("#3a3d43"))
    palette.setColor(role.Mid, QColor("#2f3136"))
    palette.setColor(role.Dark, QColor("#18191b"))
    palette.setColor(role.Shadow, QColor("#000000"))
    disabled = QPalette.ColorGroup.Disabled
    palette.setColor(disabled, role.Text, TEXT_DIM)
    palette.setColor(disabled, role.WindowText, TEXT_DIM)
    palette.setColor(disabled, role.ButtonText, TEXT_DIM)
    return palette


WIDGET_QSS = f"""
QLineEdit, QComboBox, QPlainTextEdit, QAbstractSpinBox {{
    background: {FIELD_BG.name()};
    color: {TEXT.name()};
    border: 1px solid #3a3d44;
    border-radius: 4px;
    selection-background-color: {ACCENT.name()};
}}
QLineEdit, QComboBox {{ padding: 0px 4px; }}
QLineEdit:focus, QComboBox:focus, QPlainTextEdit:focus, QAbstractSpinBox:focus {{
    border-color: {ACCENT.name()};
}}
QComboBox QAbstractItemView {{
    background: #2b2d31; color: {TEXT.name()};
    selection-background-color: {ACCENT.name()}; border: 1px solid #3a3d44;
}}
QCheckBox {{ color: {TEXT.name()}; spacing: 6px; }}
QCheckBox::indicator {{
    width: 13px; height: 13px; border-radius: 3px;
    border: 1px solid #3a3d44; background: {FIELD_BG.name()};
}}
QCheckBox::indicator:checked {{ background: {ACCENT.name()}; border-color: {ACCENT.name()}; }}
QToolButton {{
    background: #35383e; color: {TEXT.name()};
    border: 1px solid #3a3d44; border-radius: 4px; padding: 0px;
}}
QToolButton:hover {{ background: #40434a; }}
"""
"""Applied once per node's widget panel so nodes look the same under any app theme."""
