"""The Problems panel's advice rows: their heading, and the Apply and "Don't show again"
buttons (and menu) of each.

Kept apart from :mod:`desktop.panels.problems` so that the panel only places them. A row's
buttons emit through callbacks; the panel turns those into its ``applyAdvice`` and
``silenceAdvice`` signals, and the window makes them document edits
(:mod:`desktop.advice_actions`).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMenu,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from desktop import theme
from nodes.advice import Advice

__all__ = [
    "EVERYWHERE_TEXT",
    "HEADING",
    "SILENCE_TEXT",
    "advice_buttons",
    "advice_heading",
    "advice_menu",
]

HEADING = "heading"
"""The kind (``KIND_ROLE``) of the row that heads the advice."""
SILENCE_TEXT = "Don't show again for this node"
EVERYWHERE_TEXT = "Don't show this advice anywhere"


def _fix_text(advice: Advice) -> str:
    fix = advice.fix or {}
    return ", ".join(
        f"{name} = {value:g}" if isinstance(value, float) else f"{name} = {value}"
        for name, value in fix.items()
    )


def advice_heading(count: int, font: QFont) -> QTreeWidgetItem:
    """The "Advice" row above the advice: spans the columns, not selectable."""
    item = QTreeWidgetItem([f"Advice ({count}) — never stops a run"])
    bold = QFont(font)
    bold.setBold(True)
    item.setFont(0, bold)
    item.setForeground(0, QBrush(QColor(theme.colors().warning)))
    item.setFlags(Qt.ItemFlag.ItemIsEnabled)
    item.setToolTip(0, "Hints about common mistakes; Apply sets the suggested values.")
    return item


def advice_buttons(
    advice: Advice,
    apply: Callable[[Advice], None],
    silence: Callable[[Advice], None],
    parent: QWidget,
) -> QWidget:
    """Apply (when the advice has a fix) and Hide, side by side."""
    box = QWidget(parent)
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 2, 0)
    layout.setSpacing(2)
    layout.addStretch(1)  # right-aligned: Hide stays in its place on rows without a fix
    if advice.fix:
        button = QToolButton(box)
        button.setObjectName("applyAdvice")
        button.setText("Apply")
        button.setToolTip(f"Set {_fix_text(advice)} (undo with Ctrl+Z)")
        button.clicked.connect(lambda: apply(advice))
        layout.addWidget(button)
    if advice.rule and advice.node_id:
        hide = QToolButton(box)
        hide.setObjectName("silenceAdvice")
        hide.setText("Hide")
        hide.setToolTip(f"{SILENCE_TEXT} (saved with the workflow; undo with Ctrl+Z)")
        hide.clicked.connect(lambda: silence(advice))
        layout.addWidget(hide)
    return box


def advice_menu(
    tree: QTreeWidget,
    advice: Advice,
    apply: Callable[[Advice], None],
    silence: Callable[[Advice], None],
    everywhere: Callable[[Advice], None] | None = None,
) -> QMenu:
    """The right-click menu of an advice row."""
    menu = QMenu(tree)
    if advice.fix:
        menu.addAction(f"Apply ({_fix_text(advice)})", lambda: apply(advice))
    if advice.rule and advice.node_id:
        menu.addAction(SILENCE_TEXT, lambda: silence(advice))
    if advice.rule and everywhere is not None:
        action = menu.addAction(EVERYWHERE_TEXT, lambda: everywhere(advice))
        action.setToolTip(f"Adds {advice.rule!r} to the hidden advice in Settings")
    return menu


def show_menu(menu: QMenu, tree: QTreeWidget, pos: QPoint) -> None:
    if not menu.isEmpty():
        menu.popup(tree.viewport().mapToGlobal(pos))
