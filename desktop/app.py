"""Starting the desktop app: ``daguerre`` or ``daguerre FILE``."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.main_window import MainWindow
from desktop.session import Session
from desktop.theme import apply_theme
from nodes.library import load_builtin_nodes
from nodes.paths import resources_dir
from nodes.registry import REGISTRY
from nodes.settings import Settings


def create_window(file: Path | None = None, *, ask: bool = True) -> MainWindow:
    """The main window with FILE, the recovered or last session's workflow, or txt2img
    (see :meth:`FileController.start`); ``ask`` False recovers a crash without asking.

    Nothing found on disk at start (an autosave, the last session) may keep the app from
    starting: if opening it fails in a way the file controller did not foresee, the window
    opens the default workflow and says why."""
    registry = load_builtin_nodes(REGISTRY)
    window = MainWindow(registry, Settings.load(), Session())
    try:
        window.files.start(file, ask=ask)
    except Exception as exc:
        with contextlib.suppress(OSError):
            window.session.start()
        window.files.load_default()
        QMessageBox.warning(
            window, "Daguerre", f"The previous work could not be opened ({exc}); starting anew."
        )
    window.canvas.fit_view()
    return window


def application(argv: list[str] | None = None) -> QApplication:
    """The running QApplication, or a new one (``argv`` are the arguments after the
    program's name)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    return QApplication([sys.argv[0], *(argv or [])])


def run_app(argv: list[str]) -> int:
    app = application(argv)
    app.setApplicationName("Daguerre")
    app.setOrganizationName("Daguerre")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "daguerre.svg")))
    apply_theme(app, Settings.load().theme)
    files = [a for a in argv if not a.startswith("-")]
    window = create_window(Path(files[0]) if files else None)
    window.show()
    return app.exec()
