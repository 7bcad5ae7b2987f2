"""The look of the app: Fusion style, a palette and a style sheet per theme.

The palette carries the colors (so custom-painted widgets read them from
``widget.palette()``); the canvas has colors of its own per theme
(:data:`desktop.canvas.style.CANVAS_THEMES`), switched here too; the style sheet
(``resources/theme/<name>.qss``) adds what a palette cannot: padding, borders, radii, tab
and dock chrome. Nothing is a bitmap: arrows in the style sheet are small SVG files
(``@theme`` in a ``url(...)`` stands for the theme folder), so everything stays crisp at
any scale factor. High-DPI scaling is on by default in Qt 6.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from nodes.paths import resources_dir

THEMES = ("dark", "light")
DEFAULT_THEME = "dark"


@dataclass(frozen=True, slots=True)
class ThemeColors:
    """One theme's colors, named by use."""

    window: str
    """Behind the panels: the main window, the image view's backdrop."""
    panel: str
    """Dock panels and dialogs."""
    base: str
    """Lists, trees and text fields."""
    alternate: str
    raised: str
    """Buttons and headers."""
    border: str
    text: str
    muted: str
    """Secondary text: type ids, timestamps, hints."""
    disabled: str
    accent: str
    accent_text: str
    selection: str
    """Selected rows and menu items (the palette's Highlight)."""
    selection_text: str
    inactive_selection: str
    error: str
    warning: str
    success: str


COLORS: dict[str, ThemeColors] = {
    "dark": ThemeColors(
        window="#1e1f22",
        panel="#2b2d31",
        base="#25272b",
        alternate="#292b2f",
        raised="#393b40",
        border="#43454a",
        text="#dfe1e5",
        muted="#8c8f96",
        disabled="#6f737a",
        accent="#3574f0",
        accent_text="#ffffff",
        selection="#2e5cb8",
        selection_text="#ffffff",
        inactive_selection="#2b4270",
        error="#f75464",
        warning="#e0b050",
        success="#5fb865",
    ),
    "light": ThemeColors(
        window="#eceef1",
        panel="#f7f8fa",
        base="#ffffff",
        alternate="#f5f6f8",
        raised="#ffffff",
        border="#c9ccd6",
        text="#1e1f22",
        muted="#6c707e",
        disabled="#a8adbd",
        accent="#3574f0",
        accent_text="#ffffff",
        selection="#d4e2ff",
        selection_text="#1e1f22",
        inactive_selection="#e4e9f2",
        error="#d6313f",
        warning="#b7791f",
        success="#3a8f41",
    ),
}


class _Applied:
    """The theme applied last (one per process, like the application's palette)."""

    name = DEFAULT_THEME


def theme_dir() -> Path:
    return resources_dir() / "theme"


def colors(name: str | None = None) -> ThemeColors:
    """The colors of theme ``name`` (default: the applied one)."""
    return COLORS.get(name or _Applied.name, COLORS[DEFAULT_THEME])


def current_theme() -> str:
    return _Applied.name


def build_palette(name: str) -> QPalette:
    c = colors(name)
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: c.panel,
        QPalette.ColorRole.WindowText: c.text,
        QPalette.ColorRole.Base: c.base,
        QPalette.ColorRole.AlternateBase: c.alternate,
        QPalette.ColorRole.ToolTipBase: c.raised,
        QPalette.ColorRole.ToolTipText: c.text,
        QPalette.ColorRole.PlaceholderText: c.muted,
        QPalette.ColorRole.Text: c.text,
        QPalette.ColorRole.Button: c.raised,
        QPalette.ColorRole.ButtonText: c.text,
        QPalette.ColorRole.BrightText: c.error,
        QPalette.ColorRole.Highlight: c.selection,
        QPalette.ColorRole.HighlightedText: c.selection_text,
        QPalette.ColorRole.Link: c.accent,
        QPalette.ColorRole.LinkVisited: c.accent,
        QPalette.ColorRole.Light: QColor(c.raised).lighter(120).name(),
        QPalette.ColorRole.Midlight: c.raised,
        QPalette.ColorRole.Mid: c.border,
        QPalette.ColorRole.Dark: c.window,
        QPalette.ColorRole.Shadow: QColor(c.window).darker(150).name(),
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    disabled = QPalette.ColorGroup.Disabled
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.HighlightedText,
    ):
        palette.setColor(disabled, role, QColor(c.disabled))
    palette.setColor(disabled, QPalette.ColorRole.Highlight, QColor(c.raised))
    # An unfocused window keeps its selection readable (Fusion would grey it out).
    inactive = QPalette.ColorGroup.Inactive
    palette.setColor(inactive, QPalette.ColorRole.Highlight, QColor(c.inactive_selection))
    palette.setColor(inactive, QPalette.ColorRole.HighlightedText, QColor(c.selection_text))
    return palette


def load_stylesheet(name: str) -> str:
    """The theme's QSS with ``@theme`` replaced by the theme folder; empty if missing."""
    folder = theme_dir()
    try:
        text = (folder / f"{name}.qss").read_text(encoding="utf-8")
    except OSError:
        return ""
    return text.replace("@theme", folder.as_posix())


def apply_theme(app: QApplication, name: str) -> str:
    """Style the whole application with theme ``name`` (unknown names mean the default).

    Returns the name of the theme applied. Safe to call again to switch themes live.
    """
    if name not in THEMES:
        name = DEFAULT_THEME
    _Applied.name = name
    # first, so that the canvas, which restyles when the palette changes, finds its colors
    # (imported here: the canvas's modules are more than a panel needs to import)
    from desktop.canvas import style as canvas_style

    canvas_style.use_theme(name)
    app.setStyle("Fusion")
    app.setPalette(build_palette(name))
    font = QFont(app.font())
    if font.pointSizeF() < 9.5:
        font.setPointSizeF(9.75)  # about 13 px at 96 dpi
        app.setFont(font)
    app.setStyleSheet(load_stylesheet(name))
    return name
