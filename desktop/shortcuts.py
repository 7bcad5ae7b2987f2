"""Keyboard shortcuts (the conventions ComfyUI and desktop users know) and their help."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

SHORTCUTS: dict[str, tuple[str, ...]] = {
    "new": ("Ctrl+N",),
    "open": ("Ctrl+O",),
    "save": ("Ctrl+S",),
    "save_as": ("Ctrl+Shift+S",),
    "quit": ("Ctrl+Q",),
    "undo": ("Ctrl+Z",),
    "redo": ("Ctrl+Shift+Z", "Ctrl+Y"),
    "cut": ("Ctrl+X",),
    "copy": ("Ctrl+C",),
    "paste": ("Ctrl+V",),
    "duplicate": ("Ctrl+D",),
    "delete": ("Del", "Backspace"),
    "select_all": ("Ctrl+A",),
    "bypass": ("Ctrl+B",),
    "group": ("Ctrl+G",),
    "search": ("Tab",),
    "fit": (".",),
    "run": ("Ctrl+Return", "Ctrl+Enter"),
    "cancel": ("Ctrl+Alt+Return", "Esc"),
    "shortcuts": ("F1",),
}

DESCRIPTIONS = {
    "new": "New workflow",
    "open": "Open a workflow",
    "save": "Save",
    "save_as": "Save as",
    "quit": "Quit",
    "undo": "Undo",
    "redo": "Redo",
    "cut": "Cut nodes",
    "copy": "Copy nodes",
    "paste": "Paste nodes",
    "duplicate": "Duplicate nodes",
    "delete": "Delete selection",
    "select_all": "Select all",
    "bypass": "Bypass selected nodes",
    "group": "Group selected nodes",
    "search": "Add a node (or double-click empty canvas)",
    "fit": "Fit the graph in view",
    "run": "Run the workflow",
    "cancel": "Cancel the current run",
    "shortcuts": "This list",
}

CANVAS_HELP = (
    ("Middle drag, Space+drag, arrows", "Pan"),
    ("Wheel", "Zoom around the cursor"),
    ("Drag from a port", "Connect; drop on empty canvas to add a matching node"),
    ("Alt+click a link", "Delete the link"),
    ("F2", "Rename the selected node"),
)


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        rows = [(" / ".join(SHORTCUTS[name]), DESCRIPTIONS[name]) for name in SHORTCUTS]
        rows.extend(CANVAS_HELP)
        table = QTableWidget(len(rows), 2, self)
        table.setHorizontalHeaderLabels(["Keys", "Action"])
        for row, (keys, text) in enumerate(rows):
            table.setItem(row, 0, QTableWidgetItem(keys))
            table.setItem(row, 1, QTableWidgetItem(text))
        table.verticalHeader().hide()
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(520, 560)
