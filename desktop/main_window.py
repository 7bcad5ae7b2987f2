"""The main window: canvas in the middle, dock panels around, menus, shortcuts, files.

It wires the parts together and owns the workflow's file life cycle (new/open/save,
"save changes?", recent files, autosave and recovery); the parts themselves know nothing
of each other.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QProcess, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QGuiApplication,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop.bridge import EngineBridge
from desktop.canvas import CanvasView
from desktop.document import CLIPBOARD_MIME, Document
from desktop.panels import ImagePanel, LibraryPanel, ProblemsPanel, RunPanel
from desktop.run_state import RunState
from desktop.running import queue_runs
from desktop.session import Session
from desktop.shortcuts import SHORTCUTS, ShortcutsDialog
from nodes.comfy import open_file as open_workflow
from nodes.context import Environment
from nodes.paths import FileFinder, list_model_files, resources_dir
from nodes.registry import Registry
from nodes.settings import Settings, acceleration_from_env
from nodes.workflow import WorkflowError, dumps
from nodes.workflow.io import parse_json
from nodes.workflow.png import read_png_texts
from nodes.workflow.templates import list_templates

AUTOSAVE_MS = 5000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def carries_workflow(path: Path) -> bool:
    """Whether a PNG holds a Daguerre or ComfyUI workflow in its text chunks."""
    try:
        texts = read_png_texts(path)
    except (OSError, ValueError):
        return False
    return any(key in texts for key in ("daguerre.workflow", "workflow", "prompt"))


def environment_for(settings: Settings, env: Environment | None = None) -> Environment:
    """The engine environment the settings describe (updated in place when given)."""
    env = env or Environment()
    env.output_dir = settings.outputs()
    env.resolve_file = FileFinder(settings.model_dirs())
    env.device = settings.device
    env.precision = settings.precision
    env.acceleration = acceleration_from_env(settings.acceleration)
    env.previews = settings.previews
    env.preview_interval = 1.0 / max(settings.preview_rate, 0.1)
    return env


class MainWindow(QMainWindow):
    def __init__(
        self, registry: Registry, settings: Settings | None = None, session: Session | None = None
    ) -> None:
        super().__init__()
        self.registry = registry
        self.settings = settings or Settings.load()
        self.session = session or Session()
        self.env = environment_for(self.settings)
        self.bridge = EngineBridge(registry, self.env, self)
        self.run_state = RunState(self.bridge, self)
        self.document = Document(registry, self)
        self.canvas = CanvasView(self.document, self.run_state, self.settings, self)
        self._demo_process: QProcess | None = None
        self._shown_once = False

        self.setObjectName("MainWindow")
        self.setWindowTitle("Daguerre")
        self.setCentralWidget(self._central())
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self.statusBar().showMessage("Ready")

        self.document.dirtyChanged.connect(self._update_title)
        self.document.pathChanged.connect(self._update_title)
        self.run_state.runFinished.connect(self._run_finished)
        self.canvas.filesDropped.connect(self._files_dropped)
        self._autosave = QTimer(self)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self._autosave_now)
        self._autosave.start()
        self._restore_layout()
        self._update_title()
        self._update_banner()

    # ================================================================ layout
    def _central(self) -> QWidget:
        holder = QWidget(self)
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.banner = QWidget(holder)
        self.banner.setObjectName("banner")
        row = QHBoxLayout(self.banner)
        row.setContentsMargins(12, 8, 12, 8)
        self.banner_text = QLabel(self.banner)
        self.banner_text.setWordWrap(True)
        row.addWidget(self.banner_text, 1)
        for text, slot in (
            ("Open models folder", self._open_models_folder),
            ("Settings…", self.open_settings),
            ("Create demo model", self.create_demo_model),
        ):
            button = QPushButton(text, self.banner)
            button.clicked.connect(slot)
            row.addWidget(button)
        self.banner_buttons = self.banner.findChildren(QPushButton)
        layout.addWidget(self.banner)
        layout.addWidget(self.canvas, 1)
        return holder

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.library = LibraryPanel(self.registry, self)
        self.library.addNodeRequested.connect(self._add_node_at_center)
        self.image_panel = ImagePanel(self.run_state, self.settings, self)
        self.run_panel = RunPanel(self.bridge, self.run_state, self)
        self.problems = ProblemsPanel(self.run_state, self)
        self.problems.nodeActivated.connect(
            lambda node_id: self.canvas.select_nodes([node_id], center=True)
        )
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        right = Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.library_dock = self._dock("Nodes", "library_dock", self.library, left)
        self.image_dock = self._dock("Image", "image_dock", self.image_panel, right)
        self.run_dock = self._dock("Runs", "run_dock", self.run_panel, bottom)
        self.problems_dock = self._dock("Problems", "problems_dock", self.problems, bottom)
        self.tabifyDockWidget(self.run_dock, self.problems_dock)
        self.run_dock.raise_()
        self.resizeDocks(
            [self.library_dock, self.image_dock], [230, 380], Qt.Orientation.Horizontal
        )
        self.resizeDocks([self.run_dock], [170], Qt.Orientation.Vertical)

    def _node_title(self, node_id: str) -> str:
        if node_id in self.document.graph.nodes:
            return self.document.graph.display_title(node_id)
        return node_id

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._shown_once:
            QTimer.singleShot(300, self.bridge.warm_up)
        if not self._shown_once and self.session.qsettings().value("state") is None:
            # first start: give the canvas the room, once the docks have their sizes
            QTimer.singleShot(0, self._first_layout)
        self._shown_once = True

    def _first_layout(self) -> None:
        self.resizeDocks(
            [self.library_dock, self.image_dock], [230, 400], Qt.Orientation.Horizontal
        )
        self.resizeDocks([self.run_dock], [200], Qt.Orientation.Vertical)

    def _action(self, name: str, text: str, slot: Any, *, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        keys = SHORTCUTS.get(name, ())
        if keys:
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)
        self.actions_by_name[name] = action
        return action

    def _build_actions(self) -> None:
        self.actions_by_name: dict[str, QAction] = {}
        a = self._action
        a("new", "&New", self.new_document)
        a("open", "&Open…", self.open_dialog)
        a("save", "&Save", self.save)
        a("save_as", "Save &As…", self.save_as)
        a("settings", "Se&ttings…", self.open_settings)
        a("quit", "&Quit", self.close)
        undo = self.document.undo_stack.createUndoAction(self, "&Undo")
        redo = self.document.undo_stack.createRedoAction(self, "&Redo")
        for name, action in (("undo", undo), ("redo", redo)):
            action.setObjectName(name)
            action.setShortcuts([QKeySequence(k) for k in SHORTCUTS[name]])
            self.addAction(action)
            self.actions_by_name[name] = action
        a("cut", "Cu&t", self.cut)
        a("copy", "&Copy", self.copy)
        a("paste", "&Paste", self.paste)
        a("duplicate", "&Duplicate", self.canvas.duplicate_selection)
        a("delete", "De&lete", self.canvas.delete_selection)
        a("select_all", "Select &All", self.select_all)
        a("bypass", "&Bypass", self.canvas.toggle_bypass_selection)
        a("group", "&Group", self.canvas.group_selection)
        search = a("search", "Add &Node…", lambda: self.canvas.open_search())  # noqa: PLW0108 - drop triggered's bool
        # Tab belongs to the canvas only: elsewhere it moves focus between fields
        self.removeAction(search)
        search.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.canvas.addAction(search)
        a("fit", "&Fit View", self.canvas.fit_view)
        a("snap", "&Snap to Grid", self.canvas.set_snap_to_grid, checkable=True)
        a("minimap", "&Minimap", self.canvas.set_minimap_visible, checkable=True)
        a("run", "&Run", self.run)
        a("cancel", "&Cancel", self.cancel)
        a("shortcuts", "&Keyboard Shortcuts", self.show_shortcuts)
        a("about", "&About Daguerre", self.show_about)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        get = self.actions_by_name.__getitem__
        file_menu = bar.addMenu("&File")
        file_menu.addAction(get("new"))
        self.template_menu = file_menu.addMenu("New From &Template")
        for template in list_templates():
            action = self.template_menu.addAction(template.title)
            action.setToolTip(template.description)
            action.setStatusTip(template.description)
            if template.thumbnail is not None and Path(template.thumbnail).is_file():
                action.setIcon(QIcon(str(template.thumbnail)))
            action.triggered.connect(
                lambda _checked=False, p=template.path: self.open_template(Path(p))
            )
        self.template_menu.setToolTipsVisible(True)
        file_menu.addAction(get("open"))
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addActions([get("save"), get("save_as")])
        file_menu.addSeparator()
        file_menu.addAction(get("settings"))
        file_menu.addSeparator()
        file_menu.addAction(get("quit"))
        edit = bar.addMenu("&Edit")
        edit.addActions([get("undo"), get("redo")])
        edit.addSeparator()
        edit.addActions([get(n) for n in ("cut", "copy", "paste", "duplicate", "delete")])
        edit.addSeparator()
        edit.addActions([get(n) for n in ("select_all", "bypass", "group", "search")])
        view = bar.addMenu("&View")
        view.addActions([get("fit"), get("snap"), get("minimap")])
        view.addSeparator()
        for dock in (self.library_dock, self.image_dock, self.run_dock, self.problems_dock):
            view.addAction(dock.toggleViewAction())
        run = bar.addMenu("&Run")
        run.addActions([get("run"), get("cancel")])
        help_menu = bar.addMenu("&Help")
        help_menu.addActions([get("shortcuts"), get("about")])

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Run", self)
        toolbar.setObjectName("run_toolbar")
        toolbar.setMovable(False)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        run = self.actions_by_name["run"]
        run.setToolTip("Run the workflow (Ctrl+Enter)")
        toolbar.addAction(run)
        toolbar.addWidget(QLabel(" × ", toolbar))
        self.batch = QSpinBox(toolbar)
        self.batch.setObjectName("batch_count")
        self.batch.setRange(1, 100)
        self.batch.setToolTip("How many runs to queue (seeds follow their after-run control)")
        toolbar.addWidget(self.batch)
        toolbar.addAction(self.actions_by_name["cancel"])

    # ================================================================ title, banner
    def _update_title(self, *_: object) -> None:
        self.setWindowTitle(f"Daguerre — {self.document.display_name()}[*]")
        self.setWindowModified(self.document.dirty)

    def _update_banner(self) -> None:
        dirs = self.settings.model_dirs()
        found = list_model_files("checkpoints", dirs)
        self.banner.setVisible(not found)
        if not found:
            first = dirs[0] / "checkpoints"
            self.banner_text.setText(
                f"<b>No checkpoint found.</b> Put Stable Diffusion checkpoints "
                f"(.safetensors or diffusers folders) in <code>{first}</code>, add a models "
                "folder in Settings, or create the tiny demo model (random weights: it makes "
                "noise, but every node runs)."
            )

    def _open_models_folder(self) -> None:
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
        for button in self.banner_buttons:
            button.setEnabled(False)
        self.statusBar().showMessage("Creating the demo model…")
        process.start()

    def _demo_done(self, code: int, process: QProcess) -> None:
        self._demo_process = None
        for button in self.banner_buttons:
            button.setEnabled(True)
        if code != 0:
            error = bytes(process.readAllStandardError().data()).decode(errors="replace")
            QMessageBox.warning(self, "Demo model", f"Creating the demo model failed:\n{error}")
            return
        self.statusBar().showMessage("Demo model created: sd1-demo.safetensors", 5000)
        graph = self.document.graph
        for data in graph.nodes.values():
            if data.type == "loaders.checkpoint" and not data.params.get("path"):
                self.document.set_param(data.id, "path", "sd1-demo.safetensors")
        self._update_banner()

    # ================================================================ files
    def new_document(self) -> None:
        if self.maybe_save():
            self.load_default()

    def load_default(self) -> None:
        self.document.load(resources_dir() / "workflows" / "txt2img.json")
        self.document.set_path(None)
        self.canvas.fit_view()

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open workflow",
            str(self._last_folder()),
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
            QMessageBox.warning(self, "Cannot open", f"{path.name} could not be opened:\n{exc}")
            return False
        native = opened.kind == "daguerre"
        self.document.load_graph(opened.graph, path if native else None)
        if not native:
            self.document.undo_stack.resetClean()  # imported: not saved as Daguerre yet
        self.session.add_recent(path)
        self.canvas.fit_view()
        notes = opened.graph.metadata.get("import_notes") or []
        kind = {"daguerre": "workflow", "daguerre-png": "workflow from image"}.get(
            opened.kind, f"ComfyUI workflow ({opened.kind.replace('comfyui-', '')})"
        )
        suffix = f" — {len(notes)} note(s), see the Problems panel" if notes else ""
        self.statusBar().showMessage(f"Opened {kind} {path.name}{suffix}", 6000)
        for note in notes:
            self.problems.log(str(note), "warning")
        return True

    def open_template(self, path: Path) -> None:
        if self.maybe_save():
            self.document.load(path)
            self.document.set_path(None)
            self.canvas.fit_view()

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        suggestion = str(self.document.path or (self._last_folder() / "workflow.json"))
        path, _ = QFileDialog.getSaveFileName(
            self, "Save workflow", suggestion, "Workflows (*.json)"
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
            QMessageBox.critical(self, "Cannot save", f"{path} could not be saved:\n{exc}")
            return False
        self.session.add_recent(path)
        self.session.discard_autosave()
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def maybe_save(self) -> bool:
        """Ask to save unsaved changes; False means the user cancelled."""
        if not self.document.dirty:
            return True
        answer = QMessageBox.question(
            self,
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

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.session.recent_files()
        for path in files:
            action = self.recent_menu.addAction(str(path))
            action.triggered.connect(
                lambda _checked=False, p=path: self.maybe_save() and self.open_file(p)
            )
        if not files:
            self.recent_menu.addAction("No recent files").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear", self.session.clear_recent)

    def _last_folder(self) -> Path:
        recent = self.session.recent_files()
        return recent[0].parent if recent else Path.home()

    def _autosave_now(self) -> None:
        if self.document.dirty:
            self.session.autosave(self.document.to_dict(), self.document.path)

    def _files_dropped(self, paths: list[str], scene_pos: QPointF) -> None:
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

    # ================================================================ edit
    def copy(self) -> None:
        document = self.canvas.copy_selection()
        if document is None:
            return
        from PySide6.QtCore import QMimeData

        mime = QMimeData()
        text = dumps(document)
        mime.setData(CLIPBOARD_MIME, text.encode("utf-8"))
        mime.setText(text)
        QGuiApplication.clipboard().setMimeData(mime)

    def cut(self) -> None:
        self.copy()
        self.canvas.delete_selection()

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            return
        if mime.hasFormat(CLIPBOARD_MIME):
            raw = bytes(mime.data(CLIPBOARD_MIME).data())
        elif mime.hasText():
            raw = mime.text().encode("utf-8")
        else:
            return
        try:
            document = parse_json(raw)
        except WorkflowError:
            return
        if isinstance(document, dict) and document.get("format") == "daguerre.workflow":
            try:
                self.canvas.paste(document)
            except WorkflowError as exc:
                self.statusBar().showMessage(f"Cannot paste: {exc}", 5000)

    def select_all(self) -> None:
        self.canvas.select_nodes(list(self.document.graph.nodes))

    def _add_node_at_center(self, type_id: str) -> None:
        center = self.canvas.mapToScene(self.canvas.viewport().rect().center())
        node_id = self.document.add_node(type_id, (center.x(), center.y()))
        self.canvas.select_nodes([node_id])

    # ================================================================ run
    def run(self) -> None:
        result = queue_runs(
            self.document, self.bridge, self.run_state, self.env.resolve_file, self.batch.value()
        )
        if result.problems:
            self.problems_dock.show()
            self.problems_dock.raise_()
            first = next((p.node_id for p in result.problems if p.node_id), None)
            if first:
                self.canvas.select_nodes([first], center=True)
            count = len(result.problems)
            self.statusBar().showMessage(
                f"Not run: {count} problem{'s' if count > 1 else ''} to fix", 6000
            )
        else:
            count = len(result.run_ids)
            self.statusBar().showMessage(f"Queued {count} run{'s' if count > 1 else ''}", 3000)

    def cancel(self) -> None:
        if self.bridge.busy:
            self.bridge.cancel()
            self.statusBar().showMessage("Cancelling…", 2000)

    def _run_finished(self, run: Any) -> None:
        text = f"Run {run.run_id} {run.status} in {run.seconds:.1f} s"
        if run.error:
            text += f": {run.error}"
        self.statusBar().showMessage(text, 8000)

    # ================================================================ dialogs
    def open_settings(self) -> None:
        from desktop.settings_dialog import SettingsDialog
        from desktop.theme import apply_theme

        dialog = SettingsDialog(self.settings, self)
        if dialog.exec():
            self.settings = dialog.settings()
            environment_for(self.settings, self.env)
            app = QGuiApplication.instance()
            if app is not None:
                apply_theme(app, self.settings.theme)  # type: ignore[arg-type]
            self._update_banner()

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self).exec()

    def show_about(self) -> None:
        import nodes

        QMessageBox.about(
            self,
            "About Daguerre",
            f"<h3>Daguerre {nodes.__version__}</h3><p>Diffusion image generation with node "
            "graphs, native and exact.</p><p>Licensed under the Apache License 2.0.</p>",
        )

    # ================================================================ persistence
    def _restore_layout(self) -> None:
        settings = self.session.qsettings()
        geometry = settings.value("geometry")
        state = settings.value("state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        if state is not None:
            self.restoreState(state)

    def save_layout(self) -> None:
        settings = self.session.qsettings()
        settings.setValue("geometry", self.saveGeometry())
        settings.setValue("state", self.saveState())
        settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        self.save_layout()
        self._autosave.stop()
        self.session.finish(self.document.to_dict(), self.document.path, self.document.dirty)
        self.bridge.clear_queue()
        self.bridge.cancel()
        self.bridge.shutdown()
        event.accept()
