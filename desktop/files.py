"""The workflow's file life cycle: new, open, save, "save changes?", recent files, drops,
autosave, and what the app opens at start (recovering the work of every crashed instance).

:class:`FileController` is the only part of the window that reads or writes workflow
files; the window gives it the document, the session and the parts that show what
happened (the canvas fits the view, the problems panel's Log tab lists import notes, the
status bar says what was opened or saved). File › New is an empty canvas.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QPointF, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox

from desktop.canvas.arranging import make_room
from desktop.canvas.view import CanvasView
from desktop.document import Document
from desktop.panels.problems import Level, ProblemsPanel
from desktop.session import Orphan, Session, UnreadableAutosave
from nodes.comfy import PLACEHOLDER
from nodes.comfy import open_file as open_workflow
from nodes.paths import resources_dir
from nodes.registry import Registry
from nodes.workflow import WorkflowError
from nodes.workflow.png import COMFY_PROMPT_KEY, COMFY_WORKFLOW_KEY, WORKFLOW_KEY, read_png_texts
from nodes.workflow.templates import list_templates

AUTOSAVE_MS = 5000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def carries_workflow(path: Path) -> bool:
    """Whether a PNG holds a Daguerre or ComfyUI workflow in its text chunks."""
    try:
        texts = read_png_texts(path)
    except (OSError, ValueError):
        return False
    return any(key in texts for key in (WORKFLOW_KEY, COMFY_WORKFLOW_KEY, COMFY_PROMPT_KEY))


def import_summary(notes: int, placeholders: int) -> str:
    """What the status bar adds about an imported file: the nodes Daguerre cannot run
    (placeholders, which validation lists under Problems) and the import notes (in the
    Log tab); "" for neither."""
    parts = []
    if placeholders:
        nodes = "node" if placeholders == 1 else "nodes"
        parts.append(f"{placeholders} {nodes} Daguerre cannot run (see Problems)")
    if notes:
        parts.append(f"{notes} import note{'s' if notes != 1 else ''} (see the Log tab)")
    return f" — {', '.join(parts)}" if parts else ""


class FileController(QObject):
    """Opens, saves and autosaves the window's document (see the module docstring)."""

    def __init__(
        self,
        window: QMainWindow,
        registry: Registry,
        document: Document,
        session: Session,
        canvas: CanvasView,
        problems: ProblemsPanel,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.registry = registry
        self.document = document
        self.session = session
        self.canvas = canvas
        self.problems = problems
        self._autosave_problem = ""
        """The last autosave failure shown (each is shown once, not every few seconds)."""
        canvas.filesDropped.connect(self.files_dropped)
        self._autosave = QTimer(self)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.autosave_now)
        self._autosave.start()

    def _status(self, text: str, ms: int) -> None:
        self.window.statusBar().showMessage(text, ms)

    # ================================================================ start and quit
    def start(self, file: Path | None = None, *, ask: bool = True) -> None:
        """Mark this instance as running, then open what the app starts with: ``file``,
        else a crashed instance's autosave (asked first when ``ask``), else the last
        session's workflow, else txt2img. Every other crashed instance's work is kept as
        a file (see :meth:`recover`)."""
        session = self.session
        try:
            session.start()  # first: from now on other instances leave our files alone
        except OSError as exc:  # an unwritable home: run on, just without crash recovery
            self.problems.log(f"Crash recovery is off: {exc}", Level.WARNING)
        restored = False
        if file is not None:
            restored = self.open_file(file)
        restored = self.recover(ask=ask, into_window=file is None) or restored
        if not restored and file is None:
            last = session.read_session()
            if last is not None:
                document, path = last
                try:
                    self.document.load_dict(document, path)
                    restored = True
                except Exception:  # a broken session file must never stop the app
                    restored = False
        if not restored:
            self.load_default()

    def recover(self, *, ask: bool = True, into_window: bool = True) -> bool:
        """Offer back the work of every instance that crashed (see :class:`Session`),
        newest first; True when one was opened in the window.

        The first one accepted opens in the window (when ``into_window``); one declined
        is deleted; any more are written to ``<home>/recovered/`` as workflow files, added
        to the recent files and listed to the user. An autosave that cannot be read or
        opened (broken, or from a newer Daguerre) is moved there as ``….unreadable`` and
        reported — recovery never stops the app from starting.
        """
        restored = False
        kept: list[Path] = []
        unreadable: list[str] = []
        try:
            orphans = self.session.orphans()
        except Exception as exc:  # never the reason the app does not start
            self.problems.log(f"Crash recovery failed: {exc}", Level.WARNING)
            orphans = []
        for orphan in orphans:
            try:
                if self._recover_one(orphan, ask, into_window and not restored, kept, unreadable):
                    restored = True
            except Exception as exc:  # never the reason the app does not start
                unreadable.append(f"{orphan.autosave}: {exc}")
            finally:
                orphan.release()  # a no-op once discarded or set aside
        if unreadable:
            text = (
                "Daguerre could not read the unsaved work of a window that closed "
                "unexpectedly:\n\n" + "\n\n".join(unreadable) + "\n\nNothing was deleted: "
                "the file was kept where it says. Daguerre started normally."
            )
            for line in unreadable:
                self.problems.log(f"Unreadable autosave: {line}", Level.WARNING)
            QMessageBox.warning(self.window, "Unsaved work could not be read", text)
        if kept:
            for path in kept:
                self.session.add_recent(path)
            listing = "\n".join(str(p) for p in kept)
            QMessageBox.information(
                self.window,
                "Unsaved work recovered",
                "Other Daguerre windows also closed without saving. Their work was saved "
                f"as:\n\n{listing}\n\nOpen it from File › Open Recent.",
            )
        return restored

    def _recover_one(
        self,
        orphan: Orphan,
        ask: bool,
        into_window: bool,
        kept: list[Path],
        unreadable: list[str],
    ) -> bool:
        """Offer one orphan (see :meth:`recover`); True when it opened in the window."""
        try:
            document, path = orphan.read()
        except UnreadableAutosave as exc:
            aside = self.session.set_aside(orphan)
            unreadable.append(f"{orphan.autosave.name} ({exc}), kept as {aside}")
            return False
        if not into_window:
            kept.append(self.session.keep(orphan, document, path))
            return False
        if ask and not self._ask_recover(orphan, path):
            orphan.discard()  # the user chose not to restore it
            return False
        try:
            self.document.load_dict(document, path)
        except Exception as exc:  # e.g. a workflow from a newer Daguerre
            aside = self.session.set_aside(orphan)
            unreadable.append(f"{orphan.autosave.name} ({exc}), kept as {aside}")
            return False
        self.document.undo_stack.resetClean()  # recovered changes are unsaved
        try:
            self.autosave_now()  # ours now, before the crashed instance's copy goes
        except OSError:
            return True  # its copy stays (released: offered again) while ours is missing
        orphan.discard()
        return True

    def _ask_recover(self, orphan: Orphan, path: Path | None) -> bool:
        name = path.name if path is not None else "an untitled workflow"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(orphan.modified))
        answer = QMessageBox.question(
            self.window,
            "Recover unsaved work?",
            "Daguerre did not close properly last time. Restore the workflow you were "
            f"editing ({name}, autosaved {when})?",
        )
        return answer == QMessageBox.StandardButton.Yes

    def finish(self) -> None:
        """A clean quit: stop autosaving and remember the workflow for the next start."""
        self._autosave.stop()
        self.session.finish(self.document.to_dict(), self.document.path, self.document.dirty)

    # ================================================================ open
    def new_document(self) -> None:
        """File › New: an empty canvas, which says how to start (the shipped workflows are
        under File › New From Template)."""
        if self.maybe_save():
            self.document.new()
            self.canvas.fit_view()

    def load_default(self) -> None:
        self.document.load(resources_dir() / "workflows" / "txt2img.json")
        self.document.set_path(None)
        self.canvas.fit_view()

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(
            self.window,
            "Open workflow",
            str(self.last_folder()),
            "Workflows and images (*.json *.png);;Daguerre or ComfyUI workflows (*.json);;"
            "Images with a workflow (*.png);;All files (*)",
        )
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path) -> bool:
        """Open a Daguerre workflow, a ComfyUI workflow (UI or API JSON) or a PNG that
        carries either. Only Daguerre JSON files keep their path: anything imported is
        Untitled, so Save never overwrites the image or the ComfyUI file."""
        try:
            opened = open_workflow(path, self.registry)
        except WorkflowError as exc:
            QMessageBox.warning(
                self.window, "Cannot open", f"{path.name} could not be opened:\n{exc}"
            )
            return False
        native = opened.kind == "daguerre"
        self.document.load_graph(opened.graph, path if native else None)
        if not native:
            self.document.undo_stack.resetClean()  # imported: not saved as Daguerre yet
        if opened.kind.startswith("comfyui"):
            # nodes are taller here than in ComfyUI: push apart those that now overlap
            # (one undo step, "Make room", so the file's own layout is an undo away)
            make_room(self.canvas.canvas_scene)
        self.session.add_recent(path)
        self.canvas.fit_view()
        notes = opened.graph.metadata.get("import_notes") or []
        kind = {"daguerre": "workflow", "daguerre-png": "workflow from image"}.get(
            opened.kind, f"ComfyUI workflow ({opened.kind.replace('comfyui-', '')})"
        )
        placeholders = sum(1 for data in opened.graph.nodes.values() if data.type == PLACEHOLDER)
        suffix = import_summary(len(notes), placeholders)
        self._status(f"Opened {kind} {path.name}{suffix}", 8000)
        for note in notes:
            self.problems.log(str(note), Level.WARNING)
        return True

    def open_template(self, path: Path) -> None:
        if self.maybe_save():
            self.document.load(path)
            self.document.set_path(None)
            self.canvas.fit_view()

    def fill_template_menu(self, menu: QMenu) -> None:
        """One entry per shipped workflow, with its description and thumbnail."""
        for template in list_templates():
            action = menu.addAction(template.title)
            action.setToolTip(template.description)
            action.setStatusTip(template.description)
            if template.thumbnail is not None and Path(template.thumbnail).is_file():
                action.setIcon(QIcon(str(template.thumbnail)))
            action.triggered.connect(
                lambda _checked=False, p=template.path: self.open_template(Path(p))
            )
        menu.setToolTipsVisible(True)

    def fill_recent_menu(self, menu: QMenu) -> None:
        """The recent files, newest first (the menu is refilled each time it opens)."""
        menu.clear()
        files = self.session.recent_files()
        for path in files:
            action = menu.addAction(str(path))
            action.triggered.connect(
                lambda _checked=False, p=path: self.maybe_save() and self.open_file(p)
            )
        if not files:
            menu.addAction("No recent files").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear", self.session.clear_recent)

    def last_folder(self) -> Path:
        recent = self.session.recent_files()
        return recent[0].parent if recent else Path.home()

    def files_dropped(self, paths: list[str], scene_pos: QPointF) -> None:
        """A workflow (or a PNG that carries one) opens; any other image becomes a Load
        Image node where it was dropped."""
        for raw in paths:
            path = Path(raw)
            if path.suffix.lower() == ".json" or (
                path.suffix.lower() == ".png" and carries_workflow(path)
            ):
                if self.maybe_save():
                    self.open_file(path)
                return
            if path.suffix.lower() in IMAGE_SUFFIXES:
                self.document.add_node(
                    "image.load", (scene_pos.x(), scene_pos.y()), {"path": str(path)}
                )
                scene_pos = QPointF(scene_pos.x() + 30, scene_pos.y() + 30)

    # ================================================================ save
    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        suggestion = str(self.document.path or (self.last_folder() / "workflow.json"))
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save workflow", suggestion, "Workflows (*.json)"
        )
        if not path:
            return False
        target = Path(path)
        if target.suffix.lower() != ".json":
            target = target.with_suffix(".json")
        return self._save_to(target)

    def _save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except (OSError, WorkflowError) as exc:
            QMessageBox.critical(self.window, "Cannot save", f"{path} could not be saved:\n{exc}")
            return False
        self.session.add_recent(path)
        self.session.discard_autosave()
        self._status(f"Saved {path}", 4000)
        return True

    def maybe_save(self) -> bool:
        """Ask to save unsaved changes; False means the user cancelled."""
        if not self.document.dirty:
            return True
        answer = QMessageBox.question(
            self.window,
            "Unsaved changes",
            f"Save changes to {self.document.display_name()} before closing it?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def autosave_now(self) -> None:
        """Write the autosave if there are unsaved changes (the timer's job)."""
        if not self.document.dirty:
            return
        try:
            self.session.autosave(self.document.to_dict(), self.document.path)
        except (OSError, WorkflowError) as exc:  # a timer must not raise; say it, once
            message = f"autosave failed: {exc}"
            if message != self._autosave_problem:
                self._autosave_problem = message
                self.problems.log(message, Level.WARNING)
                self._status(message, 8000)
