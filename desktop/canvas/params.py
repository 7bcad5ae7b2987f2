"""Inline param editors: each binds one param's widget(s) (see :mod:`.widgets`) to a node.

Each :class:`ParamEditor` binds one param's widget(s) to its node: :meth:`set_value` shows
the document's value without echoing an edit, and user edits go to the node's ``commit``
callback, which calls :meth:`Document.set_param` (``merge=True`` while typing or dragging,
so one gesture is one undo step). A refused value makes the node call :meth:`set_value`
with the document's value again and show the reason.

All editors of one node live in a single transparent :class:`ParamPanel` inside one
``QGraphicsProxyWidget``: one proxy per node instead of one per widget keeps opening a
300-node graph fast (and nodes build it only once they are seen, see
:meth:`NodeItem.ensure_widgets`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QComboBox, QFileDialog, QLineEdit, QToolButton, QWidget

from desktop.canvas import style
from desktop.canvas.model_choices import Choice, model_choices, value_of
from desktop.canvas.widgets import (
    InlineEditor,
    NoWheelComboBox,
    NumberSpinBox,
    PromptEdit,
    WideCheckBox,
    format_number,
    line_edit_of,
    step_decimals,
)
from nodes.api import Param
from nodes.graph import Graph
from nodes.paths import MODEL_KIND_FOLDERS, FileFinder, list_model_files, only_model_name
from nodes.ports import PortType
from nodes.seed_control import SEED_MODES, seed_mode
from nodes.tokens import exact_count

Commit = Callable[[str, Any, bool], None]
"""``commit(param name, value, merge)``: the node's route to Document.set_param."""
Refuse = Callable[[str, str], None]
"""``refuse(param name, message)``: the node says at the field why a value was put back."""


# ------------------------------------------------------------------ token estimate
_WEIGHT = re.compile(r":\s*-?\d+(?:\.\d+)?\s*\)")
_PAREN = re.compile(r"(?<!\\)[()]")
_PIECE = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]", re.IGNORECASE)


def count_tokens(text: str, models: list[Path] | None = None) -> tuple[int, bool]:
    """(count, exact): the count the text encoder will use (:func:`nodes.tokens.exact_count`)
    once the tokenizer is loaded, else :func:`estimate_tokens`. An ``embedding:NAME`` found
    in the embeddings folder of ``models`` (the models folders) counts as its vectors."""
    finder = FileFinder(models) if models and "embedding:" in text else None
    exact = exact_count(text, finder)
    if exact is not None:
        return exact, True
    return estimate_tokens(text), False


def estimate_tokens(text: str) -> int:
    """Roughly how many CLIP tokens ``text`` makes (weights like ``(word:1.2)`` removed).

    The exact count needs the CLIP tokenizer, which takes about a second to build and is
    built by the app's warm-up on a background thread (:mod:`nodes.tokens`); until then the
    canvas shows this estimate with a "~" (a run's "N tokens" result is exact too). Common
    words are one token; long or rare words split.
    """
    text = _PAREN.sub(" ", _WEIGHT.sub(")", text)).replace("\\(", "(").replace("\\)", ")")
    count = 0
    for match in _PIECE.finditer(text):
        piece = match.group()
        count += 1 + max(0, len(piece) - 6) // 4 if piece.isalpha() else 1
    return count


def number_text(value: Any, param: Param) -> str:
    """How a number param's widget shows ``value``."""
    integer = param.type is PortType.INT
    return format_number(value, integer, step_decimals(param.step, integer))


def param_label(param: Param) -> str:
    return param.label or param.name.replace("_", " ")


def row_height(param: Param) -> float:
    """Height of a param's row in the node (scene units)."""
    if param.type is PortType.STRING and param.multiline:
        return style.MULTILINE_H + style.TOKEN_ROW_H + 6
    if param.seed:
        return 2 * style.PARAM_ROW_H
    return style.PARAM_ROW_H


def is_full_width(param: Param) -> bool:
    """Multiline text takes the node's whole width (its label is the placeholder)."""
    return param.type is PortType.STRING and param.multiline


# ------------------------------------------------------------------ editors
class ParamEditor:
    """One param's widget(s) bound to a node; see the module docstring."""

    def __init__(self, param: Param, panel: QWidget, commit: Commit) -> None:
        self.param = param
        self.commit = commit
        self._updating = False
        self.widgets: list[QWidget] = []
        self.widget = self._build(panel)
        self.widget.setToolTip(param.tooltip or param_label(param))

    def _build(self, panel: QWidget) -> QWidget:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        self._updating = True
        try:
            self._show(value)
        finally:
            self._updating = False

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def _edited(self, value: Any, merge: bool = True) -> None:
        if not self._updating:
            self.commit(self.param.name, value, merge)

    def place(self, rect: QRectF) -> None:
        """Lay the widget(s) out in ``rect`` (panel coordinates, the row's widget area)."""
        self.widget.setGeometry(rect.toRect())

    def set_visible(self, visible: bool) -> None:
        for widget in self.widgets or [self.widget]:
            widget.setVisible(visible)

    def focus_widget(self) -> QWidget:
        return self.widget

    def fields(self) -> list[QWidget]:
        """The widgets Tab stops at, in order (shown ones that take keyboard focus)."""
        return [
            w
            for w in self.widgets or [self.widget]
            if w.isVisibleTo(w.parentWidget() or w)
            and w.isEnabled()
            and w.focusPolicy() & Qt.FocusPolicy.TabFocus
        ]


class NumberEditor(ParamEditor):
    """A number field; text left in it that is no value in range is put back, and the
    node's ``refuse`` callback says why at the field ("steps: 0 is below the minimum, 1
    — kept 20")."""

    refuse: Refuse | None = None

    def _build(self, panel: QWidget) -> QWidget:
        p = self.param
        box = NumberSpinBox(p.type is PortType.INT, p.min, p.max, p.step, panel)
        box.edited.connect(lambda v: self._edited(v, True))
        box.refused.connect(self._refused)
        self.box = box
        self.widgets = [box]
        return box

    def _refused(self, text: str) -> None:
        if self.refuse is not None:
            kept = self.box.textFromValue(self.box.value())
            message = f"{param_label(self.param)}: {self.box.refusal(text)} — kept {kept}"
            self.refuse(self.param.name, message)

    def _show(self, value: Any) -> None:
        self.box.setValue(value)


class SeedEditor(NumberEditor):
    """The seed spin box plus its after-run control (fixed / increment / randomize)."""

    def __init__(
        self, param: Param, panel: QWidget, commit: Commit, mode_changed: Callable[[str, str], None]
    ) -> None:
        self.mode_changed = mode_changed
        super().__init__(param, panel, commit)

    def _build(self, panel: QWidget) -> QWidget:
        box = super()._build(panel)
        mode = NoWheelComboBox(panel)
        mode.addItems(SEED_MODES)
        mode.setToolTip("What happens to the seed after each run")
        mode.activated.connect(lambda _i: self.mode_changed(self.param.name, mode.currentText()))
        self.mode = mode
        self.widgets = [box, mode]
        return box

    def set_mode(self, mode: str) -> None:
        self.mode.setCurrentText(seed_mode(mode))

    def place(self, rect: QRectF) -> None:
        self.box.setGeometry(rect.toRect())
        self.mode.setGeometry(rect.translated(0, style.PARAM_ROW_H).toRect())


class ChoiceEditor(ParamEditor):
    def _build(self, panel: QWidget) -> QWidget:
        combo = NoWheelComboBox(panel)
        combo.addItems(list(self.param.choices or ()))
        combo.activated.connect(lambda _i: self._edited(combo.currentText(), False))
        self.combo = combo
        return combo

    def _show(self, value: Any) -> None:
        text = str(value)
        if self.combo.findText(text) < 0:
            self.combo.addItem(text)  # a value the file had: show it (validation reports it)
        self.combo.setCurrentText(text)


class BoolEditor(ParamEditor):
    def _build(self, panel: QWidget) -> QWidget:
        box = WideCheckBox(panel)
        box.clicked.connect(lambda checked: self._edited(bool(checked), False))
        self.box = box
        return box

    def _show(self, value: Any) -> None:
        self.box.setChecked(bool(value))


class LineEditor(ParamEditor):
    def _build(self, panel: QWidget) -> QWidget:
        line = QLineEdit(panel)
        line.textEdited.connect(lambda text: self._edited(text, True))
        self.line = line
        return line

    def _show(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if self.line.text() != text:
            self.line.setText(text)
            self.line.setCursorPosition(0)


class PromptEditor(ParamEditor):
    """A multi-line text; reports its token estimate to the node through ``on_text``."""

    def __init__(
        self, param: Param, panel: QWidget, commit: Commit, on_text: Callable[[str], None]
    ) -> None:
        self.on_text = on_text
        super().__init__(param, panel, commit)

    def _build(self, panel: QWidget) -> QWidget:
        edit = PromptEdit(panel)
        edit.setPlaceholderText(param_label(self.param))
        edit.textChanged.connect(self._changed)
        self.edit = edit
        return edit

    def _changed(self) -> None:
        text = self.edit.toPlainText()
        self.on_text(text)
        self._edited(text, True)

    def _show(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if self.edit.toPlainText() != text:
            self.edit.setPlainText(text)
        self.on_text(text)


def empty_text(names: list[str], kind: str) -> str:
    """What an empty file field says, given the models folders' ``names`` of its kind: the
    model it stands for when they are one (the engine uses it:
    :func:`~nodes.paths.only_model_name`), else that a file is to be chosen."""
    name = only_model_name(kind, names)
    return f"auto: {Path(name).name}" if name is not None else "choose a file…"


class FileEditor(ParamEditor):
    """An editable list of the models folder's files of the param's kind, plus Browse….

    The folder is listed when the list opens (not when the node is created), so opening
    a big workflow never waits for a file system walk. Each model shows its family, and
    one of another family than the graph's checkpoint is marked
    (:mod:`desktop.canvas.model_choices`); the value stays the bare name.
    """

    def __init__(
        self,
        param: Param,
        panel: QWidget,
        commit: Commit,
        model_dirs: Callable[[], list[Path]],
        graph: Callable[[], Graph | None] = lambda: None,
    ) -> None:
        self.model_dirs = model_dirs
        self.graph = graph
        self.listed: list[Choice] = []
        super().__init__(param, panel, commit)

    def _build(self, panel: QWidget) -> QWidget:
        editor = self

        class _Combo(NoWheelComboBox):
            def showPopup(self) -> None:
                editor.refresh()
                super().showPopup()

        combo = _Combo(panel)
        combo.setEditable(True)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        line = line_edit_of(combo)
        line.setPlaceholderText(empty_text(self.choices(), self.param.file_kind or ""))
        combo.activated.connect(lambda _i: self._picked(combo.currentText()))
        line.editingFinished.connect(lambda: self._picked(combo.currentText()))
        browse = QToolButton(panel)
        browse.setText("…")
        browse.setToolTip("Browse…")
        browse.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        browse.clicked.connect(self.browse)
        self.combo, self.browse_button = combo, browse
        self.widgets = [combo, browse]
        return combo

    def choices(self) -> list[str]:
        return list_model_files(self.param.file_kind or "", self.model_dirs())

    def refresh(self) -> None:
        current = value_of(self.combo.currentText(), self.listed)
        kind = self.param.file_kind or ""
        self.listed = model_choices(kind, self.model_dirs(), self.graph())
        self._updating = True
        try:
            self.combo.clear()
            for index, choice in enumerate(self.listed):
                self.combo.addItem(choice.label, choice.name)
                self.combo.setItemData(index, choice.tooltip, Qt.ItemDataRole.ToolTipRole)
            self.combo.setEditText(current)
            names = [choice.name for choice in self.listed]
            line_edit_of(self.combo).setPlaceholderText(empty_text(names, kind))
        finally:
            self._updating = False

    def _picked(self, text: str) -> None:
        """A row chosen or a name typed: the bare name is the value (and shown)."""
        value = value_of(text, self.listed)
        if value != text:
            self.combo.setEditText(value)
        self._edited(value, False)

    def browse(self) -> None:
        kind = self.param.file_kind or ""
        start = ""
        for root in self.model_dirs():
            for sub in MODEL_KIND_FOLDERS.get(kind, ()):
                if (root / sub).is_dir():
                    start = str(root / sub)
                    break
            if start:
                break
        path, _ = QFileDialog.getOpenFileName(
            self.widget, f"Choose a {kind} file", start, "All files (*)"
        )
        if path:
            value = self.portable_name(Path(path))
            self.set_value(value)
            self._edited(value, False)

    def portable_name(self, path: Path) -> str:
        """A name relative to the kind's folder when the file is inside one (portable)."""
        for root in self.model_dirs():
            for sub in MODEL_KIND_FOLDERS.get(self.param.file_kind or "", ()):
                try:
                    return path.relative_to(root / sub).as_posix()
                except ValueError:
                    continue
        return str(path)

    def _show(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if self.combo.currentText() != text:
            self.combo.setEditText(text)
            line_edit_of(self.combo).setCursorPosition(0)  # show the name's start

    def place(self, rect: QRectF) -> None:
        button = rect.height()
        self.combo.setGeometry(rect.adjusted(0, 0, -(button + 3), 0).toRect())
        self.browse_button.setGeometry(
            QRectF(rect.right() - button, rect.top(), button, rect.height()).toRect()
        )


def make_editor(
    param: Param,
    panel: QWidget,
    commit: Commit,
    *,
    on_text: Callable[[str], None],
    mode_changed: Callable[[str, str], None],
    model_dirs: Callable[[], list[Path]],
    graph: Callable[[], Graph | None] = lambda: None,
) -> ParamEditor:
    """The editor that fits ``param``'s declaration."""
    if param.type in (PortType.INT, PortType.FLOAT):
        if param.seed and param.type is PortType.INT:
            return SeedEditor(param, panel, commit, mode_changed)
        return NumberEditor(param, panel, commit)
    if param.type is PortType.BOOL:
        return BoolEditor(param, panel, commit)
    if param.choices:
        return ChoiceEditor(param, panel, commit)
    if param.file_kind:
        return FileEditor(param, panel, commit, model_dirs, graph)
    if param.multiline:
        return PromptEditor(param, panel, commit, on_text)
    return LineEditor(param, panel, commit)


class ParamPanel(QWidget):
    """The transparent container of one node's editors (one proxy per node)."""

    def __init__(self) -> None:
        super().__init__()
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setAutoFillBackground(False)
        self.setFont(style.ui_font(8.5))
        self.restyle()

    def restyle(self) -> None:
        """Flat fields in the canvas's theme that look the same under any app style sheet
        (and like the look-alikes nodes paint before their widgets exist); again after a
        theme switch."""
        self.setStyleSheet(style.widget_qss())


__all__ = [
    "InlineEditor",
    "ParamEditor",
    "ParamPanel",
    "count_tokens",
    "estimate_tokens",
    "make_editor",
    "number_text",
]
