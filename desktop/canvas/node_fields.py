"""Keyboard moves between one node's fields: Tab goes to the next, Shift+Tab back, around.

Tab inside a node's field stays in the node (it never opens the node search, nor jumps
to another node's widgets): the view hands the key here while a field has focus. A field
that is linked (its widget hidden) or that takes no keyboard focus (a Browse… button) is
skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from typing import Protocol, runtime_checkable

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QGraphicsProxyWidget,
    QGraphicsScene,
    QLineEdit,
    QWidget,
)

from desktop.canvas.params import ParamEditor
from nodes.api import Param


@runtime_checkable
class FieldOwner(Protocol):
    """A node item whose fields Tab moves between."""

    def focus_next_field(self, backward: bool) -> bool: ...


def tab_between_fields(scene: QGraphicsScene, event: QEvent) -> bool:
    """Handle ``event`` if it is Tab or Shift+Tab while a node's field has focus (the
    view's :meth:`event` asks first): True when focus moved to another of its fields."""
    if (
        event.type() is not QEvent.Type.KeyPress
        or not isinstance(event, QKeyEvent)
        or event.key() not in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab)
        or event.modifiers()
        & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    ):
        return False
    focused = scene.focusItem()
    owner = focused.parentItem() if isinstance(focused, QGraphicsProxyWidget) else None
    backward = event.key() == Qt.Key.Key_Backtab or bool(
        event.modifiers() & Qt.KeyboardModifier.ShiftModifier
    )
    return isinstance(owner, FieldOwner) and owner.focus_next_field(backward)


def tab_order(
    params: Sequence[Param], editors: Mapping[str, ParamEditor], linked: Set[str]
) -> list[QWidget]:
    """The widgets Tab stops at, top to bottom."""
    return [
        widget
        for param in params
        if param.name in editors and param.name not in linked
        for widget in editors[param.name].fields()
    ]


def focus_next_field(order: Sequence[QWidget], current: QWidget | None, backward: bool) -> bool:
    """Move keyboard focus from ``current`` to the next field of ``order`` (the previous
    one when ``backward``), wrapping around; select its text so typing replaces it.
    False when there is no field to go to."""
    if not order:
        return False
    index = next(
        (
            i
            for i, widget in enumerate(order)
            if current is not None and (widget is current or widget.isAncestorOf(current))
        ),
        -1 if not backward else 0,
    )
    target = order[(index + (-1 if backward else 1)) % len(order)]
    reason = Qt.FocusReason.BacktabFocusReason if backward else Qt.FocusReason.TabFocusReason
    target.setFocus(reason)
    if isinstance(target, QAbstractSpinBox | QLineEdit):
        target.selectAll()
    elif isinstance(target, QComboBox):
        line = target.lineEdit()
        if line is not None:
            line.selectAll()
    return True
