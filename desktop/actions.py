"""The window's actions, menus and Run toolbar, built from one table.

Every command the user can give the window is a named ``QAction`` (its shortcuts come
from :data:`desktop.shortcuts.SHORTCUTS` by the same name), so menus, the toolbar, the
shortcuts dialog and tests all find it as ``actions["name"]``. The window supplies what
each action does; this module only decides how they are presented.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu, QSpinBox, QToolBar, QWidget

from desktop.files import FileController
from desktop.shortcuts import SHORTCUTS

ACTION_TEXTS: dict[str, str] = {
    "new": "&New",
    "open": "&Open…",
    "save": "&Save",
    "save_as": "Save &As…",
    "settings": "Se&ttings…",
    "get_models": "&Get Models…",
    "quit": "&Quit",
    "undo": "&Undo",
    "redo": "&Redo",
    "cut": "Cu&t",
    "copy": "&Copy",
    "paste": "&Paste",
    "duplicate": "&Duplicate",
    "delete": "De&lete",
    "select_all": "Select &All",
    "bypass": "&Bypass",
    "group": "&Group",
    "search": "Add &Node…",
    "fit": "&Fit View",
    "arrange": "&Arrange",
    "make_room": "Make &Room",
    "snap": "&Snap to Grid",
    "minimap": "&Minimap",
    "run": "&Run",
    "cancel": "&Cancel",
    "shortcuts": "&Keyboard Shortcuts",
    "about": "&About Daguerre",
}
"""Every action's name and menu text, in the order they are created."""
CHECKABLE = frozenset({"snap", "minimap"})
"""Actions that are on/off settings: their slot gets the new state."""
UNDO_ACTIONS = frozenset({"undo", "redo"})
"""Made by the undo stack, which keeps their text ("Undo Move") and enabled state."""
CANVAS_ONLY = frozenset({"search"})
"""Shortcuts that belong to the canvas: elsewhere Tab moves focus between fields."""


def build_actions(
    window: QMainWindow,
    slots: Mapping[str, Callable[..., object]],
    undo_stack: QUndoStack,
    canvas: QWidget,
) -> dict[str, QAction]:
    """One action per :data:`ACTION_TEXTS` entry, by name; ``slots`` says what each does
    (every name but the undo stack's own)."""
    actions: dict[str, QAction] = {}
    for name, text in ACTION_TEXTS.items():
        if name in UNDO_ACTIONS:
            make = undo_stack.createUndoAction if name == "undo" else undo_stack.createRedoAction
            action = make(window, text)
            action.setObjectName(name)
            action.setShortcuts([QKeySequence(k) for k in SHORTCUTS[name]])
            window.addAction(action)
            actions[name] = action
            continue
        action = QAction(text, window)
        action.setObjectName(name)
        keys = SHORTCUTS.get(name, ())
        if keys:
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(name in CHECKABLE)
        action.triggered.connect(slots[name])
        if name in CANVAS_ONLY:
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            canvas.addAction(action)
        else:
            window.addAction(action)
        actions[name] = action
    return actions


def build_menus(
    window: QMainWindow,
    actions: Mapping[str, QAction],
    docks: Sequence[QDockWidget],
    files: FileController,
) -> tuple[QMenu, QMenu]:
    """The menu bar: File, Edit, View (with a toggle per dock), Run, Help. Returns the
    File menu's template and recent-files submenus."""
    bar = window.menuBar()
    get = actions.__getitem__
    file_menu = bar.addMenu("&File")
    file_menu.addAction(get("new"))
    template_menu = file_menu.addMenu("New From &Template")
    files.fill_template_menu(template_menu)
    file_menu.addAction(get("open"))
    recent_menu = file_menu.addMenu("Open &Recent")
    recent_menu.aboutToShow.connect(lambda: files.fill_recent_menu(recent_menu))
    file_menu.addActions([get("save"), get("save_as")])
    file_menu.addSeparator()
    file_menu.addActions([get("get_models"), get("settings")])
    file_menu.addSeparator()
    file_menu.addAction(get("quit"))
    edit = bar.addMenu("&Edit")
    edit.addActions([get("undo"), get("redo")])
    edit.addSeparator()
    edit.addActions([get(n) for n in ("cut", "copy", "paste", "duplicate", "delete")])
    edit.addSeparator()
    edit.addActions([get(n) for n in ("select_all", "bypass", "group", "search")])
    view = bar.addMenu("&View")
    view.addActions([get("fit"), get("arrange"), get("make_room"), get("snap"), get("minimap")])
    view.addSeparator()
    for dock in docks:
        view.addAction(dock.toggleViewAction())
    run = bar.addMenu("&Run")
    run.addActions([get("run"), get("cancel")])
    help_menu = bar.addMenu("&Help")
    help_menu.addActions([get("shortcuts"), get("about")])
    return template_menu, recent_menu


def build_run_toolbar(window: QMainWindow, actions: Mapping[str, QAction]) -> QSpinBox:
    """Run, the batch count next to it, and Cancel; returns the batch count box."""
    toolbar = QToolBar("Run", window)
    toolbar.setObjectName("run_toolbar")
    toolbar.setMovable(False)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    run = actions["run"]
    run.setToolTip("Run the workflow (Ctrl+Enter)")
    toolbar.addAction(run)
    toolbar.addWidget(QLabel(" × ", toolbar))
    batch = QSpinBox(toolbar)
    batch.setObjectName("batch_count")
    batch.setRange(1, 100)
    batch.setToolTip(
        "How many runs to queue: seeds follow their after-run control, and a fixed seed "
        "advances by one per run of the batch, so each run makes a new image"
    )
    toolbar.addWidget(batch)
    toolbar.addAction(actions["cancel"])
    return batch
