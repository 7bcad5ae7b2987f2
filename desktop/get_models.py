"""The "Get models" dialog: the starter list (each with its size, licence and page shown
before anything is fetched; the size the hub reports replaces the approximate one once it
has answered, :class:`SizeProbe`), "download by Hugging Face id or URL", a token field for gated
repos, and a progress bar with speed and ETA and a Cancel button.

Downloads run :func:`nodes.hub.downloads.download` on a worker thread
(:class:`DownloadWorker`); its progress and result come back as Qt signals, so the window
never waits. The dialog is modeless and the window keeps one, so a download goes on while
the user works, and closing the dialog does not stop it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nodes.cli.download import format_progress
from nodes.hub.downloads import (
    KINDS,
    CancelToken,
    DownloadCancelled,
    DownloadError,
    DownloadPlan,
    DownloadProgress,
    DownloadResult,
    download,
    hub_endpoint,
    hub_size,
    plan_for_source,
    plan_for_starter,
)
from nodes.hub.sources import SourceError, parse_source
from nodes.hub.starters import STARTERS, Starter, human_size
from nodes.hub.token import mask, resolve_token, save_token, stored_token
from nodes.settings import Settings


class DownloadWorker(QObject):
    """Runs one download on a Python thread; signals arrive on the GUI thread (queued)."""

    progress = Signal(object)
    """A :class:`~nodes.hub.downloads.DownloadProgress`."""
    finished = Signal(object)
    """The :class:`~nodes.hub.downloads.DownloadResult`."""
    failed = Signal(str, bool)
    """(message, cancelled)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cancel_token = CancelToken()
        self._thread: threading.Thread | None = None

    def start(self, what: Starter | str, kind: str, models_dir: Path, token: str | None) -> None:
        self.cancel_token = CancelToken()
        self._thread = threading.Thread(
            target=self._run, args=(what, kind, models_dir, token), daemon=True
        )
        self._thread.start()

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self, what: Starter | str, kind: str, models_dir: Path, token: str | None) -> None:
        try:
            plan: DownloadPlan
            if isinstance(what, Starter):
                plan = plan_for_starter(what)
            else:
                host = hub_endpoint().split("://", 1)[-1].split("/", 1)[0]
                plan = plan_for_source(parse_source(what, host), kind, token=token)
            result = download(
                plan,
                models_dir,
                token=token,
                cancel=self.cancel_token,
                on_progress=self.progress.emit,
            )
        except DownloadCancelled:
            self.failed.emit("Cancelled: nothing was kept.", True)
        except (DownloadError, SourceError) as exc:
            self.failed.emit(str(exc), False)
        except Exception as exc:  # never let a worker die silently
            self.failed.emit(f"The download failed: {type(exc).__name__}: {exc}", False)
        else:
            self.finished.emit(result)


class SizeProbe(QObject):
    """Asks the hub for a starter's size on a Python thread (one HEAD per file), once per
    starter; offline or refused, the list keeps the approximate size."""

    measured = Signal(str, object)
    """(starter key, bytes or None)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.asked: set[str] = set()

    def ask(self, starter: Starter, token: str | None) -> None:
        if starter.key in self.asked:
            return
        self.asked.add(starter.key)
        threading.Thread(target=self._run, args=(starter, token), daemon=True).start()

    def _run(self, starter: Starter, token: str | None) -> None:
        try:
            size = hub_size(plan_for_starter(starter), token=token)
        except Exception:  # offline, gated, moved: the approximate size stays
            size = None
        self.measured.emit(starter.key, size)


class GetModelsDialog(QDialog):
    """Starter models and downloads by id or URL (see the module docstring)."""

    downloaded = Signal(str)
    """A download completed: the file or folder now in the models folder."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Get models")
        self.setObjectName("getModels")
        self.settings = settings
        self.worker = DownloadWorker(self)
        self.worker.progress.connect(self._progress)
        self.worker.finished.connect(self._finished)
        self.worker.failed.connect(self._failed)
        self.sizes: dict[str, int] = {}
        """Sizes the hub reported, by starter key (shown instead of the approximate ones)."""
        self.probe = SizeProbe(self)
        self.probe.measured.connect(self._measured)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Starter models</b> — from Hugging Face", self))
        self.starters = QListWidget(self)
        for starter in STARTERS:
            item = QListWidgetItem(self._starter_line(starter))
            item.setData(Qt.ItemDataRole.UserRole, starter.key)
            self.starters.addItem(item)
        self.starters.currentRowChanged.connect(self._show_starter)
        self.starters.itemDoubleClicked.connect(lambda _item: self.start_download())
        layout.addWidget(self.starters, 1)
        self.details = QLabel(self)
        self.details.setWordWrap(True)
        self.details.setOpenExternalLinks(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.details)
        form = QFormLayout()
        source_row = QHBoxLayout()
        self.source = QLineEdit(self)
        self.source.setPlaceholderText("owner/repo, owner/repo/file.safetensors or a URL")
        self.source.textChanged.connect(self._source_typed)
        source_row.addWidget(self.source, 1)
        self.kind = QComboBox(self)
        self.kind.addItems(list(KINDS))
        self.kind.setEnabled(False)
        self.kind.setToolTip("The models folder a typed file or repo goes to")
        source_row.addWidget(self.kind)
        form.addRow("Or from Hugging Face:", source_row)
        token_row = QHBoxLayout()
        self.token = QLineEdit(self)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        saved = stored_token()
        self.token.setPlaceholderText(
            f"stored token {mask(saved)}" if saved else "for gated or private repos (hf_…)"
        )
        token_row.addWidget(self.token, 1)
        self.remember = QCheckBox("Remember", self)
        self.remember.setChecked(True)
        token_row.addWidget(self.remember)
        form.addRow("Token:", token_row)
        layout.addLayout(form)
        self.target = QLabel(self)
        layout.addWidget(self.target)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setTextVisible(False)
        layout.addWidget(self.bar)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(self)
        self.download_button = QPushButton("Download", self)
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button = QPushButton("Cancel download", self)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_download)
        buttons.addButton(self.download_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        self.resize(640, 460)
        self.starters.setCurrentRow(0)
        self.set_settings(settings)

    def set_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.target.setText(f"Into: <code>{self.models_dir()}</code>")

    def models_dir(self) -> Path:
        return self.settings.model_dirs()[0]

    def selected_starter(self) -> Starter | None:
        item = self.starters.currentItem()
        if item is None or self.source.text().strip():
            return None
        key = item.data(Qt.ItemDataRole.UserRole)
        return next((s for s in STARTERS if s.key == key), None)

    def start_download(self) -> None:
        """Download the typed id or URL, else the selected starter."""
        if self.worker.running():
            return
        typed = self.token.text().strip()
        if typed and self.remember.isChecked():
            save_token(typed)
            self.token.clear()
            self.token.setPlaceholderText(f"stored token {mask(typed)}")
        token = resolve_token(typed or None)
        text = self.source.text().strip()
        what: Starter | str | None = text or self.selected_starter()
        if what is None:
            self.status.setText("Choose a starter model, or type a Hugging Face id or URL.")
            return
        self._busy(True)
        self.bar.setValue(0)
        self.status.setText("Connecting to Hugging Face…")
        self.worker.start(what, self.kind.currentText(), self.models_dir(), token)

    def cancel_download(self) -> None:
        if self.worker.running():
            self.worker.cancel()
            self.status.setText("Cancelling…")

    # ------------------------------------------------------------ internals
    def _busy(self, busy: bool) -> None:
        self.download_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def _show_starter(self, row: int) -> None:
        if not 0 <= row < len(STARTERS):
            self.details.clear()
            return
        s = STARTERS[row]
        self.probe.ask(s, resolve_token())
        self.details.setText(
            f"<b>{s.title}</b> — {s.family}, {self._size_text(s)}, "
            f"licence: {s.licence}<br>{s.description}<br>"
            f'Goes to <code>{s.kind}/{s.destination}</code> · <a href="{s.link}">{s.link}</a>'
        )

    def _size_text(self, starter: Starter) -> str:
        known = self.sizes.get(starter.key)
        return human_size(known) if known else human_size(starter.size, approximate=True)

    def _starter_line(self, starter: Starter) -> str:
        return f"{starter.title}  ·  {starter.family}  ·  {self._size_text(starter)}"

    def _measured(self, key: str, size: int | None) -> None:
        if not size:
            return
        self.sizes[key] = size
        row = next(i for i, s in enumerate(STARTERS) if s.key == key)
        item = self.starters.item(row)
        if item is not None:
            item.setText(self._starter_line(STARTERS[row]))
        if self.starters.currentRow() == row:
            self._show_starter(row)

    def _source_typed(self, text: str) -> None:
        self.starters.setEnabled(not text.strip())
        self.kind.setEnabled(bool(text.strip()))  # a starter knows its kind

    def _progress(self, event: DownloadProgress) -> None:
        if event.fraction is not None:
            self.bar.setValue(int(event.fraction * 1000))
        total = f" of {human_size(event.total)}" if event.total else ""
        self.status.setText(f"{format_progress(event)} — {human_size(event.done)}{total}")

    def _finished(self, result: DownloadResult) -> None:
        self._busy(False)
        self.bar.setValue(1000)
        verb = "Already there" if result.already_there else "Downloaded and checked"
        self.status.setText(f"{verb}: {result.destination}")
        self.downloaded.emit(str(result.destination))

    def _failed(self, message: str, cancelled: bool) -> None:
        self._busy(False)
        self.bar.setValue(0)
        self.status.setText(message)


def show_get_models(
    window: QWidget, settings: Settings, on_downloaded: Callable[[str], None]
) -> GetModelsDialog:
    """Show the window's one "Get models" dialog (made on first use; a download in progress
    goes on while it is closed), with the window's current settings."""
    dialog = window.findChild(GetModelsDialog, "getModels")
    if dialog is None:
        dialog = GetModelsDialog(settings, window)
        dialog.downloaded.connect(on_downloaded)
    dialog.set_settings(settings)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
