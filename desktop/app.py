"""Starting the desktop app: ``daguerre`` or ``daguerre FILE``."""

from __future__ import annotations

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
    """The main window with FILE, the recovered or last session's workflow, or txt2img."""
    registry = load_builtin_nodes(REGISTRY)
    session = Session()
    window = MainWindow(registry, Settings.load(), session)
    crashed = session.crashed_last_time()
    restored = False
    if file is not None:
        restored = window.open_file(file)
    elif crashed and (not ask or _ask_recover(window)):
        recovered = session.read_autosave()
        if recovered is not None:
            document, path = recovered
            window.document.load_dict(document, path)
            window.document.undo_stack.resetClean()  # recovered changes are unsaved
            restored = True
    if not restored and file is None:
        last = session.read_session()
        if last is not None:
            document, path = last
            try:
                window.document.load_dict(document, path)
                restored = True
            except Exception:  # a broken session file must never stop the app
                restored = False
    if not restored:
        window.load_default()
    session.discard_autosave()
    session.start()
    window.canvas.fit_view()
    return window


def _ask_recover(window: MainWindow) -> bool:
    answer = QMessageBox.question(
        window,
        "Recover unsaved work?",
        "Daguerre did not close properly last time. Restore the workflow you were editing?",
    )
    return answer == QMessageBox.StandardButton.Yes


def run_app(argv: list[str]) -> int:
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName("Daguerre")
    app.setOrganizationName("Daguerre")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "daguerre.svg")))
    apply_theme(app, Settings.load().theme)  # type: ignore[arg-type]
    files = [a for a in argv if not a.startswith("-")]
    window = create_window(Path(files[0]) if files else None)
    window.show()
    return app.exec()
