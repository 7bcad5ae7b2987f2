"""Qt widgets for editing values inside nodes, each fixing one problem of the stock ones.

- :class:`NumberSpinBox`: Python numbers of any size (seeds reach 2**64, beyond
  ``QSpinBox``'s int32), click-drag sideways to change.
- :class:`NoWheelComboBox`, :class:`PromptEdit`: the wheel edits only a focused widget, so
  scrolling over a node zooms the canvas instead of changing its values.
- :class:`WideCheckBox`: toggles on a click anywhere in its row.
- :class:`InlineEditor`: the title editor (Enter or focus loss commits, Esc cancels).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QFocusEvent,
    QKeyEvent,
    QMouseEvent,
    QResizeEvent,
    QValidator,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QGraphicsItem,
    QGraphicsProxyWidget,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from desktop.canvas import style


def step_decimals(step: float | None, integer: bool) -> int:
    """Decimals a FLOAT param shows: as many as its step has (0.01 → 2)."""
    if integer:
        return 0
    return max(0, -math.floor(math.log10(step or 0.01) + 1e-9))


def format_number(value: Any, integer: bool, decimals: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if integer:
        return str(int(value))
    text = f"{value:.{max(decimals, 1)}f}"
    if float(text) != value:  # more precision than the step shows: keep it visible
        text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text


def line_edit_of(combo: QComboBox) -> QLineEdit:
    """The line edit of an editable combo box (Qt answers None only while it is not)."""
    line = combo.lineEdit()
    if line is None:
        raise ValueError("the combo box is not editable")
    return line


def wheel_if_focused(
    widget: QWidget, event: QWheelEvent, handle: Callable[[QWheelEvent], None]
) -> None:
    """The wheel edits only a focused widget (``handle`` is its own wheel handler);
    otherwise the event goes on to the canvas, which zooms."""
    if widget.hasFocus():
        handle(event)
    else:
        event.ignore()


class NoWheelComboBox(QComboBox):
    def wheelEvent(self, event: QWheelEvent) -> None:
        wheel_if_focused(self, event, super().wheelEvent)


class WideCheckBox(QCheckBox):
    """A check box without text that toggles on a click anywhere in its row."""

    def hitButton(self, pos: QPoint) -> bool:
        return self.rect().contains(pos)


class NumberSpinBox(QAbstractSpinBox):
    """A spin box over Python numbers (seeds reach 2**64, beyond QSpinBox's int32).

    Click-drag horizontally on it to change the value (one step per few pixels); type a
    value; arrow keys and (when focused) the wheel step it.
    """

    edited = Signal(object)
    """A value the user set (typing, stepping, dragging)."""
    refused = Signal(str)
    """Text the user left in the field that is no value in range (it was put back)."""

    DRAG_PIXELS = 4

    def __init__(
        self,
        integer: bool,
        minimum: float | None,
        maximum: float | None,
        step: float | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.integer = integer
        self.minimum = minimum
        self.maximum = maximum
        self.step = step if step else (1 if integer else 0.01)
        if integer:
            self.step = max(1, int(self.step))
        self.decimals = step_decimals(self.step, integer)
        self._value: Any = 0
        self._drag_x: float | None = None
        self._drag_start: Any = None
        self._dragging = False
        self._refused: str | None = None
        self.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)
        self.setKeyboardTracking(True)
        self.setAccelerated(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.lineEdit().textEdited.connect(self._typed)
        self.editingFinished.connect(self._finished)
        self.lineEdit().installEventFilter(self)
        self.lineEdit().setCursor(Qt.CursorShape.SizeHorCursor)
        self.setToolTip("Drag sideways or type to change")

    def wheelEvent(self, event: QWheelEvent) -> None:
        wheel_if_focused(self, event, super().wheelEvent)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_line_edit()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # a live theme switch (the application's style sheet) restyles the box, and
        # Qt lays the edit field out again: 1 px wide, every number field blank
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self._place_line_edit()

    def _place_line_edit(self) -> None:
        """Qt's stylesheet style gives a button-less spin box's edit field a 1 px width
        (on every resize and restyle): lay it out here instead."""
        self.lineEdit().setGeometry(self.rect().adjusted(5, 1, -3, -1))

    # value ------------------------------------------------------------
    def value(self) -> Any:
        return self._value

    def setValue(self, value: Any) -> None:
        """Show ``value`` (no ``edited`` signal). While the user types, text that already
        says ``value`` stays as typed: the document's echo of "5" must not turn it into
        "5.0" under the cursor (the next keys would land in the wrong place)."""
        self._value = value
        text = self.textFromValue(value)
        line = self.lineEdit()
        current = line.text()
        if current != text and not (line.hasFocus() and self.parse(current) == value):
            line.setText(text)

    def textFromValue(self, value: Any) -> str:
        return format_number(value, self.integer, self.decimals)

    def parse(self, text: str) -> Any:
        text = text.strip().replace(",", ".")
        try:
            return int(text, 10) if self.integer else float(text)
        except ValueError:
            return None

    def in_range(self, value: Any) -> bool:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return False
        if self.minimum is not None and value < self.minimum:
            return False
        return self.maximum is None or value <= self.maximum

    def clamp(self, value: Any) -> Any:
        if self.minimum is not None and value < self.minimum:
            value = self.minimum
        if self.maximum is not None and value > self.maximum:
            value = self.maximum
        return int(value) if self.integer else float(value)

    # QAbstractSpinBox -------------------------------------------------
    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        """Intermediate while typing a sign or a point, Invalid for non-numbers, else
        Acceptable within range (the text and cursor are left as they are)."""
        return self._state(text), text, pos

    def _state(self, text: str) -> QValidator.State:
        stripped = text.strip()
        if stripped in ("", "-", "+", ".", "-.", "+."):
            return QValidator.State.Intermediate
        value = self.parse(stripped)
        if value is None:
            return QValidator.State.Invalid
        return (
            QValidator.State.Acceptable if self.in_range(value) else QValidator.State.Intermediate
        )

    def fixup(self, text: str) -> str:
        """Put the value back: the text is no number in range (say so once editing ends)."""
        if text.strip() != self.textFromValue(self._value):
            self._refused = text.strip()
        return self.textFromValue(self._value)

    def refusal(self, text: str) -> str:
        """Why ``text`` is not a value of this field (without its name)."""
        value = self.parse(text)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            kind = "a whole number" if self.integer else "a number"
            return f"“{text}” is not {kind}" if text else f"needs {kind}"
        if self.minimum is not None and value < self.minimum:
            return f"{text} is below the minimum, {self.textFromValue(self.minimum)}"
        return f"{text} is above the maximum, {self.textFromValue(self.maximum)}"

    def stepBy(self, steps: int) -> None:
        base = self._value if isinstance(self._value, int | float) else 0
        self._set_by_user(self.clamp(base + steps * self.step))

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        value = self._value if isinstance(self._value, int | float) else 0
        if self.maximum is None or value < self.maximum:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        if self.minimum is None or value > self.minimum:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        return flags

    # user edits ---------------------------------------------------------
    def _set_by_user(self, value: Any) -> None:
        if self.integer is False and isinstance(value, float):
            value = round(value, max(self.decimals, 6))
        self.setValue(value)
        self.edited.emit(value)

    def _typed(self, text: str) -> None:
        value = self.parse(text)
        if self.in_range(value):
            self._value = value
            self.edited.emit(value)

    def _finished(self) -> None:
        refused, self._refused = self._refused, None
        if refused is None and not self.in_range(self.parse(self.lineEdit().text())):
            refused = self.lineEdit().text().strip()
        self.setValue(self._value)
        if refused is not None and refused != self.textFromValue(self._value):
            self.refused.emit(refused)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind is QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent):
            if event.button() is Qt.MouseButton.LeftButton:
                self._drag_x = event.globalPosition().x()
                self._drag_start = self._value
                self._dragging = False
        elif kind is QEvent.Type.MouseMove and isinstance(event, QMouseEvent):
            if self._drag_x is not None and event.buttons() & Qt.MouseButton.LeftButton:
                dx = event.globalPosition().x() - self._drag_x
                if not self._dragging and abs(dx) > self.DRAG_PIXELS:
                    self._dragging = True
                if self._dragging:
                    start = self._drag_start if isinstance(self._drag_start, int | float) else 0
                    steps = int(dx / self.DRAG_PIXELS)
                    value = self.clamp(start + steps * self.step)
                    if value != self._value:
                        self._set_by_user(value)
                    return True
        elif kind is QEvent.Type.MouseButtonRelease:
            was_dragging = self._dragging
            self._drag_x, self._dragging = None, False
            if was_dragging:
                self.lineEdit().deselect()
                return True
        return super().eventFilter(watched, event)


class PromptEdit(QPlainTextEdit):
    """A multi-line prompt; Tab moves focus instead of inserting a tab."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def wheelEvent(self, event: QWheelEvent) -> None:
        wheel_if_focused(self, event, super().wheelEvent)


class InlineEditor(QLineEdit):
    """A one-line editor over a title: Enter or focus loss commits, Esc cancels."""

    done = Signal(object)
    """The new text, or None when cancelled."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._closed = False
        self.selectAll()
        self.setFont(style.ui_font(9.5, bold=True))

    @classmethod
    def open_over(
        cls,
        item: QGraphicsItem,
        text: str,
        rect: QRectF,
        done: Callable[[str | None], None],
    ) -> QGraphicsProxyWidget:
        """An editor of ``text`` over ``rect`` of ``item``, focused; ``done`` gets the new
        text (None: cancelled), which then calls :meth:`remove` on the proxy returned."""
        editor = cls(text)
        proxy = QGraphicsProxyWidget(item)
        proxy.setWidget(editor)
        proxy.setZValue(10)
        proxy.setGeometry(rect)
        editor.done.connect(done)
        editor.setFocus()
        proxy.setFocus()
        return proxy

    @staticmethod
    def remove(proxy: QGraphicsProxyWidget) -> None:
        """Remove an editor :meth:`open_over` made."""
        scene = proxy.scene()
        if scene is not None:
            scene.removeItem(proxy)
            proxy.deleteLater()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._close(self.text())
        elif event.key() == Qt.Key.Key_Escape:
            self._close(None)
        else:
            super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self._close(self.text())

    def _close(self, text: str | None) -> None:
        if self._closed:
            return
        self._closed = True
        # the proxy holding this editor is deleted by the receiver: leave our handler first
        QTimer.singleShot(0, lambda: self.done.emit(text))
