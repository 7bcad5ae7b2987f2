"""Where the app keeps its own files: window layout, recent files, autosave and recovery.

Everything lives under Daguerre's home (``DAGUERRE_HOME`` relocates it), never in the
user's Qt registry, so tests and demos can't touch a user's real state.

Recovery: while the app runs, ``running.lock`` exists and the workflow is autosaved every
few seconds to ``autosave.json`` when it has unsaved changes. A clean quit writes
``session.json`` (the last workflow and its file) and removes the lock; finding the lock
at start means the last session crashed, and its autosave is offered back.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from nodes.paths import home_dir
from nodes.workflow.io import write_atomic

MAX_RECENT = 10


class Session:
    def __init__(self, home: Path | None = None) -> None:
        self.home = home or home_dir()
        self.home.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------ files
    @property
    def lock_file(self) -> Path:
        return self.home / "running.lock"

    @property
    def autosave_file(self) -> Path:
        return self.home / "autosave.json"

    @property
    def session_file(self) -> Path:
        return self.home / "session.json"

    def qsettings(self) -> QSettings:
        return QSettings(str(self.home / "window.ini"), QSettings.Format.IniFormat)

    # ------------------------------------------------------------ crash recovery
    def crashed_last_time(self) -> bool:
        """True when the previous run left its lock and an autosave behind."""
        return self.lock_file.exists() and self.autosave_file.exists()

    def start(self) -> None:
        self.lock_file.write_text(str(os.getpid()), encoding="utf-8")

    def autosave(self, document: dict[str, Any], path: Path | None) -> None:
        payload = {"path": str(path) if path else None, "workflow": document}
        write_atomic(self.autosave_file, json.dumps(payload).encode("utf-8"), durable=False)

    def read_autosave(self) -> tuple[dict[str, Any], Path | None] | None:
        return _read_payload(self.autosave_file)

    def discard_autosave(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.autosave_file.unlink()

    def finish(self, document: dict[str, Any], path: Path | None, dirty: bool) -> None:
        """A clean quit: remember the workflow for next time and drop the lock."""
        payload = {"path": str(path) if path else None, "workflow": document, "dirty": dirty}
        write_atomic(self.session_file, json.dumps(payload).encode("utf-8"))
        self.discard_autosave()
        with contextlib.suppress(FileNotFoundError):
            self.lock_file.unlink()

    def read_session(self) -> tuple[dict[str, Any], Path | None] | None:
        return _read_payload(self.session_file)

    # ------------------------------------------------------------ recent files
    def recent_files(self) -> list[Path]:
        value = self.qsettings().value("recent", [])
        if isinstance(value, str):  # QSettings reads a one-item list back as its item
            items = [value]
        elif isinstance(value, list | tuple):
            items = list(value)
        else:
            items = []
        return [Path(p) for p in items if p]

    def add_recent(self, path: Path) -> None:
        items = [str(path.resolve())] + [
            str(p) for p in self.recent_files() if str(p) != str(path.resolve())
        ]
        settings = self.qsettings()
        settings.setValue("recent", items[:MAX_RECENT])
        settings.sync()

    def clear_recent(self) -> None:
        settings = self.qsettings()
        settings.setValue("recent", [])
        settings.sync()


def _read_payload(file: Path) -> tuple[dict[str, Any], Path | None] | None:
    try:
        payload = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("workflow"), dict):
        return None
    path = payload.get("path")
    return payload["workflow"], Path(path) if isinstance(path, str) else None
