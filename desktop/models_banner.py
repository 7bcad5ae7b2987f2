"""The banner over the canvas when no checkpoint is installed, and the demo model it offers.

A first start usually has no model: rather than a run that fails on the loader, the
banner says where checkpoints go, opens that folder, points Daguerre at a models folder
ComfyUI or AUTOMATIC1111 already has (:func:`nodes.catalog.layouts.recognise_models_folder`),
opens the "Get models" dialog (starter models from Hugging Face), opens the settings,
or writes the tiny random-weight demo model in a separate process (so the window stays
live) — with it every node runs, though its images are noise.

The demo path, step by step: "Create demo model" turns the banner into a progress line
(a busy bar and the seconds so far); when the model is written, :func:`use_demo_model`
points the graph's empty checkpoint loaders at it and shrinks the picture and the step
count to what a CPU finishes in seconds (:data:`DEMO_SIZE`, :data:`DEMO_STEPS`, one undo
step), and the banner says so: "ready — press Ctrl+Enter", until dismissed.
"""

from __future__ import annotations

import sys
import time
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QProcess, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.document import Document
from nodes.advice.rules import SILENCED_KEY, silenced_on
from nodes.catalog.layouts import recognise_models_folder
from nodes.paths import list_model_files
from nodes.settings import Settings

DEMO_CHECKPOINT = "sd1-demo.safetensors"
"""The checkpoint ``daguerre make-demo-model`` writes (relative to the models folder)."""
DEMO_SIZE = 256
"""The largest picture side the demo graph keeps (the default 512² is ~15× slower)."""
DEMO_STEPS = 10
"""The most sampler steps the demo graph keeps."""
DEMO_SIZE_RULE = "size.pixels"
"""Silenced on the latents the demo shrinks: they are small on purpose, for a CPU."""
DEMO_SECONDS = "a few seconds"
"""How long a demo run takes on a CPU, as the banner says it (measured: about 5 s at 256²
and 10 steps on a loaded 2-core machine, against more than a minute at 512² and 20)."""


class BannerState(Enum):
    MISSING = "missing"
    """No checkpoint in the models folders: where to put one, or make the demo."""
    CREATING = "creating"
    """The demo model is being written (a separate process)."""
    READY = "ready"
    """The demo model is there and the graph uses it: press Ctrl+Enter."""
    HIDDEN = "hidden"
    """A checkpoint is installed (or the ready message was dismissed)."""


class ModelsBanner(QWidget):
    """Shown while the models folders hold no checkpoint (see the module docstring)."""

    settingsRequested = Signal()
    """The user wants the settings dialog (to add a models folder)."""
    demoModelCreated = Signal(str)
    """The demo checkpoint was written: its name, as a loader's ``path`` takes it."""
    statusMessage = Signal(str, int)
    """(text, milliseconds) for the window's status bar."""
    getModelsRequested = Signal()
    """The user wants the "Get models" dialog (a starter model from Hugging Face)."""
    modelsFoldersChosen = Signal(list)
    """Models folders (``str`` paths) of another app's layout, to add to the settings."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.settings = settings
        self.state = BannerState.HIDDEN
        self._demo_process: QProcess | None = None
        self._started = 0.0
        # the message on top, the choices in a row under it: five buttons beside the text
        # squeezed it into a column a word wide at the default window size
        column = QVBoxLayout(self)
        column.setContentsMargins(12, 8, 12, 8)
        row = QHBoxLayout()
        column.addLayout(row)
        choices = QHBoxLayout()
        choices.addStretch(1)
        column.addLayout(choices)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        row.addWidget(self.text, 1)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)  # busy: the process reports no fraction
        self.progress.setTextVisible(False)
        self.progress.setFixedWidth(120)
        self.progress.hide()
        row.addWidget(self.progress)
        self.buttons: list[QPushButton] = []
        for text, slot in (
            ("Open models folder", self.open_models_folder),
            ("Use existing models folder…", self.choose_models_folder),
            ("Get models…", self.getModelsRequested.emit),
            ("Settings…", self.settingsRequested.emit),
            ("Create demo model", self.create_demo_model),
        ):
            button = QPushButton(text, self)
            button.clicked.connect(slot)
            choices.addWidget(button)
            self.buttons.append(button)
        self.dismiss_button = QPushButton("Dismiss", self)
        self.dismiss_button.clicked.connect(self.dismiss)
        self.dismiss_button.hide()
        row.addWidget(self.dismiss_button)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._show_creating)

    def refresh(self, settings: Settings | None = None) -> None:
        """Show the banner only while no checkpoint is found (settings may have changed);
        the demo's progress and its ready message stay until they are done with."""
        if settings is not None:
            self.settings = settings
        if self.state in (BannerState.CREATING, BannerState.READY):
            return
        dirs = self.settings.model_dirs()
        found = list_model_files("checkpoints", dirs)
        if found:
            self._set_state(BannerState.HIDDEN)
            return
        self._set_state(BannerState.MISSING)
        first = dirs[0] / "checkpoints"
        self.text.setText(
            f"<b>No checkpoint found.</b> Put Stable Diffusion checkpoints "
            f"(.safetensors or diffusers folders) in <code>{first}</code>, use the models "
            "folder ComfyUI or AUTOMATIC1111 already has, download a starter model, or "
            "create the tiny demo model (random weights: it makes noise, but every node runs)."
        )

    def dismiss(self) -> None:
        """Put the ready message away (the banner comes back only without a checkpoint)."""
        self._set_state(BannerState.HIDDEN)
        self.refresh()

    def leave_ready(self) -> None:
        """The graph the ready message talks about was replaced (New, Open): put it away."""
        if self.state is BannerState.READY:
            self.dismiss()

    def open_models_folder(self) -> None:
        folder = self.settings.model_dirs()[0] / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def choose_models_folder(self, folder: str | None = None) -> None:
        """Ask for a folder (``folder`` skips the question) and, when it has ComfyUI's,
        AUTOMATIC1111's or Daguerre's models layout, ask the window to add its models
        folders; otherwise say what was expected."""
        if folder is None:
            folder = QFileDialog.getExistingDirectory(
                self.window(), "A ComfyUI or AUTOMATIC1111 install, or its models folder"
            )
            if not folder:
                return
        layout = recognise_models_folder(Path(folder))
        if layout is None:
            QMessageBox.information(
                self.window(),
                "Models folder",
                f"No models found in {folder}: choose a ComfyUI or AUTOMATIC1111 install, its "
                "models folder (with checkpoints/ or Stable-diffusion/ in it), or a folder of "
                "that layout.",
            )
            return
        self.modelsFoldersChosen.emit([str(d) for d in layout.dirs])
        self.statusMessage.emit(f"Using {layout.app}'s models in {layout.dirs[0]}", 8000)

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
        self._started = time.monotonic()
        self._set_state(BannerState.CREATING)
        self._show_creating()
        self._tick.start()
        self.statusMessage.emit("Creating the demo model…", 0)
        process.start()

    # ------------------------------------------------------------ internals
    def _set_state(self, state: BannerState) -> None:
        self.state = state
        self.setVisible(state is not BannerState.HIDDEN)
        self.progress.setVisible(state is BannerState.CREATING)
        for button in self.buttons:
            button.setVisible(state in (BannerState.MISSING, BannerState.CREATING))
            button.setEnabled(state is BannerState.MISSING)
        self.dismiss_button.setVisible(state is BannerState.READY)

    def _show_creating(self) -> None:
        seconds = int(time.monotonic() - self._started)
        self.text.setText(
            f"<b>Creating the demo model…</b> {seconds} s — tiny random weights, written to "
            f"<code>{self.settings.model_dirs()[0]}</code>. The window stays usable."
        )

    def _demo_done(self, code: int, process: QProcess) -> None:
        self._demo_process = None
        self._tick.stop()
        if code != 0:
            self._set_state(BannerState.MISSING)
            self.refresh()
            error = bytes(process.readAllStandardError().data()).decode(errors="replace")
            QMessageBox.warning(
                self.window(), "Demo model", f"Creating the demo model failed:\n{error}"
            )
            return
        self._set_state(BannerState.READY)
        self.text.setText(
            "<b>Demo model ready — press Ctrl+Enter to run.</b> The graph now uses "
            f"{DEMO_CHECKPOINT} at {DEMO_SIZE}×{DEMO_SIZE} and {DEMO_STEPS} steps, so it "
            f"finishes in {DEMO_SECONDS} on a CPU (Undo puts the graph back). Its images are "
            "noise: the weights are random."
        )
        self.statusMessage.emit("Demo model ready — press Ctrl+Enter to run", 8000)
        self.demoModelCreated.emit(DEMO_CHECKPOINT)


def use_demo_model(document: Document, checkpoint: str) -> int:
    """Point the graph's checkpoint loaders that have no file at ``checkpoint`` and keep
    its pictures at most :data:`DEMO_SIZE` a side and its samplers at most
    :data:`DEMO_STEPS` steps, as one undo step; returns how many values changed.

    A sampler that runs only part of its steps (start and end steps of a split) keeps
    them, as shortening it would move the split."""
    edits: list[tuple[str, str, object]] = []
    for data in document.graph.nodes.values():
        params = data.params
        if data.type == "loaders.checkpoint" and not params.get("path"):
            edits.append((data.id, "path", checkpoint))
        elif data.type == "latent.empty":
            edits.extend(
                (data.id, side, DEMO_SIZE)
                for side in ("width", "height")
                if isinstance(params.get(side), int) and params[side] > DEMO_SIZE
            )
        elif data.type == "sampling.sampler":
            steps = params.get("steps")
            whole = params.get("start_step", 0) == 0 and params.get("end_step", 10000) >= (
                steps if isinstance(steps, int) else 0
            )
            if isinstance(steps, int) and steps > DEMO_STEPS and whole:
                edits.append((data.id, "steps", DEMO_STEPS))
    edits = [e for e in edits if document.graph.link_into(e[0], e[1]) is None]
    if not edits:
        return 0
    shrunk = {node_id for node_id, name, _ in edits if name in ("width", "height")}
    stack = document.undo_stack
    stack.beginMacro("Use the demo model")
    try:
        for node_id, name, value in edits:
            document.set_param(node_id, name, value)
        for node_id in sorted(shrunk):  # small on purpose: no advice about it
            silenced = silenced_on(document.graph.nodes[node_id])
            if DEMO_SIZE_RULE not in silenced:
                document.set_node_extra(node_id, SILENCED_KEY, [*silenced, DEMO_SIZE_RULE])
    finally:
        stack.endMacro()
    return len(edits)
