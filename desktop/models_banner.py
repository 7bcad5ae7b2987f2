"""The banner over the canvas when no checkpoint is installed, and the demo model it offers.

A first start usually has no model: rather than a run that fails on the loader, the
banner says where checkpoints go, opens that folder, opens the settings (to add a models
folder), or writes the tiny random-weight demo model in a separate process (so the window
stays live) — with it every node runs, though its images are noise.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QProcess, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from nodes.paths import list_model_files
from nodes.settings import Settings

DEMO_CHECKPOINT = "sd1-demo.safetensors"
"""The checkpoint ``daguerre make-demo-model`` writes (relative to the models folder)."""


class ModelsBanner(QWidget):
    """Shown while the models folders hold no checkpoint (see the module docstring)."""

    settingsRequested = Signal()
    """The user wants the settings dialog (to add a models folder)."""
    demoModelCreated = Signal(str)
    """The demo checkpoint was written: its name, as a loader's ``path`` takes it."""
    statusMessage = Signal(str, int)
    """(text, milliseconds) for the window's status bar."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.settings = settings
        self._demo_process: QProcess | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 12, 8)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        row.addWidget(self.text, 1)
        self.buttons: list[QPushButton] = []
        for text, slot in (
            ("Open models folder", self.open_models_folder),
            ("Settings…", self.settingsRequested.emit),
            ("Create demo model", self.create_demo_model),
        ):
            button = QPushButton(text, self)
            button.clicked.connect(slot)
            row.addWidget(button)
            self.buttons.append(button)

    def refresh(self, settings: Settings | None = None) -> None:
        """Show the banner only while no checkpoint is found (settings may have changed)."""
        if settings is not None:
            self.settings = settings
        dirs = self.settings.model_dirs()
        found = list_model_files("checkpoints", dirs)
        self.setVisible(not found)
        if not found:
            first = dirs[0] / "checkpoints"
            self.text.setText(
                f"<b>No checkpoint found.</b> Put Stable Diffusion checkpoints "
                f"(.safetensors or diffusers folders) in <code>{first}</code>, add a models "
                "folder in Settings, or create the tiny demo model (random weights: it makes "
                "noise, but every node runs)."
            )

    def open_models_folder(self) -> None:
        folder = self.settings.model_dirs()[0] / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def create_demo_model(self) -> None:
        """Write the demo model into the first models folder, in a separate process."""
        if self._demo_process is not None:
            return
        target = self.settings.model_dirs()[0]
        process = QProcess(self)
        process.setProgram(sys.executable)
        process.setArguments(["-m", "nodes.cli", "make-demo-model", str(target)])
        process.finished.connect(lambda code, _status: self._demo_done(code, process))
        self._demo_process = process
        for button in self.buttons:
            button.setEnabled(False)
        self.statusMessage.emit("Creating the demo model…", 0)
        process.start()

    def _demo_done(self, code: int, process: QProcess) -> None:
        self._demo_process = None
        for button in self.buttons:
            button.setEnabled(True)
        if code != 0:
            error = bytes(process.readAllStandardError().data()).decode(errors="replace")
            QMessageBox.warning(
                self.window(), "Demo model", f"Creating the demo model failed:\n{error}"
            )
            return
        self.statusMessage.emit(f"Demo model created: {DEMO_CHECKPOINT}", 5000)
        self.demoModelCreated.emit(DEMO_CHECKPOINT)
        self.refresh()
