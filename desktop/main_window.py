"""The main window: canvas in the middle, dock panels around, menus, status bar.

It builds the parts and wires them together; the parts themselves know nothing of each
other. What the window does itself is small: the clipboard, pressing Run, the dialogs and
its own layout. Files are :class:`~desktop.files.FileController`'s, the actions and menus
:mod:`desktop.actions`'s, the "no checkpoint" banner :mod:`desktop.models_banner`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from desktop.actions import build_actions, build_menus, build_run_toolbar
from desktop.advice_actions import advice_context, connect_advice
from desktop.bridge import EngineBridge
from desktop.canvas.arranging import arrange_graph, make_room
from desktop.canvas.view import CanvasView
from desktop.document import Document
from desktop.files import FileController
from desktop.gallery_actions import attach_result_menus, rerun_image, use_image_as_input
from desktop.live_validation import LiveValidator
from desktop.mask_image import image_file_for
from desktop.mask_painter import LOAD_IMAGE, MaskPainterDialog, open_mask_painter
from desktop.mime import put_workflow_on_clipboard, workflow_of
from desktop.model_actions import follow_graph_family, use_model
from desktop.models_banner import ModelsBanner, use_demo_model
from desktop.panels import ImagePanel, LibraryPanel, ProblemsPanel, RunPanel
from desktop.panels.gallery import GalleryPanel
from desktop.panels.models import ModelsPanel
from desktop.partial_run import queue_run_to
from desktop.run_state import ImageResult, RunInfo, RunState
from desktop.running import queue_runs
from desktop.session import Session
from desktop.shortcuts import ShortcutsDialog
from nodes.comfy.png_texts import comfy_png_texts
from nodes.context import Environment
from nodes.paths import FileFinder
from nodes.registry import Registry
from nodes.settings import Settings, acceleration_from_env
from nodes.workflow import WorkflowError


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
    env.extra_png_texts = comfy_png_texts  # saved images open in ComfyUI too
    return env


FIRST_SIZE = (1440, 900)
"""The window's size on a first start (later starts restore the last one)."""


def first_window_size(room: tuple[int, int] | None) -> tuple[tuple[int, int], bool]:
    """The first start's window size for a screen with ``room`` available, and whether to
    maximize: :data:`FIRST_SIZE`, or the whole screen where that does not fit (a 1280×720
    screen got a window hanging off its edges, the Runs dock out of sight)."""
    if room is None or (room[0] >= FIRST_SIZE[0] and room[1] >= FIRST_SIZE[1]):
        return FIRST_SIZE, False
    return (min(FIRST_SIZE[0], room[0]), min(FIRST_SIZE[1], room[1])), True


class MainWindow(QMainWindow):
    def __init__(
        self, registry: Registry, settings: Settings | None = None, session: Session | None = None
    ) -> None:
        super().__init__()
        self.registry = registry
        self.settings = settings or Settings.load()
        self.session = session or Session()
        self.env = environment_for(self.settings)
        self.bridge = EngineBridge(
            registry,
            self.env,
            self,
            cluster=self.settings.cluster,
            workers=self.settings.cluster_workers or None,
        )
        self.run_state = RunState(self.bridge, self)
        self.document = Document(registry, self)
        self.run_state.follow(self.document.graph)  # run state never outlives its node
        self.canvas = CanvasView(self.document, self.run_state, self.settings, self)
        self._shown_once = False

        self.setObjectName("MainWindow")
        self.setWindowTitle("Daguerre")
        self.setCentralWidget(self._central())
        self._build_docks()
        # the Problems panel follows the document: re-validated after each edit
        self.live_validation = LiveValidator(
            self.document,
            self.run_state,
            lambda: self.env.resolve_file,
            parent=self,
            context=lambda: advice_context(self.settings),
        )
        # Apply and Hide: undoable edits; "anywhere": the silenced_advice setting
        connect_advice(
            self.problems, self.document, lambda: self.settings, self.live_validation.schedule
        )
        self.live_validation.schedule()
        self.files = FileController(
            self, registry, self.document, self.session, self.canvas, self.problems
        )
        self.actions_by_name: dict[str, QAction] = build_actions(
            self, self._action_slots(), self.document.undo_stack, self.canvas
        )
        docks = (
            self.library_dock,
            self.image_dock,
            self.run_dock,
            self.problems_dock,
            self.gallery_dock,
            self.models_dock,
        )
        self.template_menu, self.recent_menu = build_menus(
            self, self.actions_by_name, docks, self.files
        )
        self.batch = build_run_toolbar(self, self.actions_by_name)
        self.statusBar().showMessage("Ready")

        self.canvas.maskEditRequested.connect(self.edit_mask)
        self.canvas.runToRequested.connect(self.run_to)
        self.gallery.openWorkflowRequested.connect(self._open_from_gallery)
        self.gallery.rerunRequested.connect(self.rerun_from_image)
        self.gallery.useAsInputRequested.connect(lambda path: use_image_as_input(self.canvas, path))
        self.gallery.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.models_panel.modelActivated.connect(lambda k, n: use_model(self.canvas, k, n))
        follow_graph_family(self.models_panel, self.document, lambda: self.env.resolve_file)
        attach_result_menus(self.image_panel, self.gallery)
        self.image_panel.useAsInputRequested.connect(self.use_as_input)
        self.document.dirtyChanged.connect(self._update_title)
        self.document.pathChanged.connect(self._update_title)
        self.run_state.runFinished.connect(self._run_finished)
        self._restore_layout()
        self._update_title()
        self.banner.refresh()

    def _action_slots(self) -> dict[str, Any]:
        """What each action of :mod:`desktop.actions` does (undo/redo are the stack's)."""
        files, canvas = self.files, self.canvas
        return {
            "new": files.new_document,
            "open": files.open_dialog,
            "save": files.save,
            "save_as": files.save_as,
            "settings": self.open_settings,
            "get_models": self.open_get_models,
            "quit": self.close,
            "cut": self.cut,
            "copy": self.copy,
            "paste": self.paste,
            "duplicate": canvas.duplicate_selection,
            "delete": canvas.delete_selection,
            "select_all": self.select_all,
            "bypass": canvas.toggle_bypass_selection,
            "group": canvas.group_selection,
            "search": lambda: canvas.open_search(),  # noqa: PLW0108 - drop triggered's bool
            "fit": canvas.fit_view,
            "arrange": lambda: arrange_graph(canvas.canvas_scene),
            "make_room": lambda: make_room(canvas.canvas_scene),
            "snap": canvas.set_snap_to_grid,
            "minimap": canvas.set_minimap_visible,
            "run": self.run,
            "cancel": self.cancel,
            "shortcuts": self.show_shortcuts,
            "about": self.show_about,
        }

    # ================================================================ layout
    def _central(self) -> QWidget:
        holder = QWidget(self)
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.banner = ModelsBanner(self.settings, holder)
        self.banner.settingsRequested.connect(self.open_settings)
        self.banner.getModelsRequested.connect(self.open_get_models)
        self.banner.modelsFoldersChosen.connect(self.add_models_folders)
        self.banner.demoModelCreated.connect(self._demo_model_created)
        self.banner.statusMessage.connect(self.statusBar().showMessage)
        self.document.reloaded.connect(self.banner.leave_ready)  # "ready" meant that graph
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
        self.problems.set_node_titles(self._node_title)
        self.run_panel.set_node_titles(self._node_title)
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        right = Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.library_dock = self._dock("Nodes", "library_dock", self.library, left)
        # a lambda, not the bound method: the settings dialog replaces self.settings
        self.models_panel = ModelsPanel(lambda: self.settings.model_dirs(), self)  # noqa: PLW0108
        self.models_dock = self._dock("Models", "models_dock", self.models_panel, left)
        self.tabifyDockWidget(self.library_dock, self.models_dock)
        self.library_dock.raise_()
        self.image_dock = self._dock("Image", "image_dock", self.image_panel, right)
        self.run_dock = self._dock("Runs", "run_dock", self.run_panel, bottom)
        self.problems_dock = self._dock("Problems", "problems_dock", self.problems, bottom)
        self.gallery = GalleryPanel(self.settings, self.run_state, self)
        self.gallery_dock = self._dock("Gallery", "gallery_dock", self.gallery, bottom)
        self.tabifyDockWidget(self.run_dock, self.problems_dock)
        self.tabifyDockWidget(self.problems_dock, self.gallery_dock)
        self.run_dock.raise_()
        self.resizeDocks(
            [self.library_dock, self.image_dock], [230, 380], Qt.Orientation.Horizontal
        )
        self.resizeDocks([self.run_dock], [170], Qt.Orientation.Vertical)

    def showEvent(self, event: QShowEvent) -> None:
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
        # room for a few rows in the Runs dock's lists, more on a taller screen
        runs_height = max(200, min(300, self.height() // 4))
        self.resizeDocks([self.run_dock], [runs_height], Qt.Orientation.Vertical)
        # the canvas was fitted before the docks took their room: fit it to what it has
        # (on a 1280×720 screen the first node's title was cut off)
        QTimer.singleShot(0, self.canvas.restore_view)

    def _node_title(self, node_id: str) -> str | None:
        """What the panels call a node: its title, or None once it is gone."""
        graph = self.document.graph
        return graph.display_title(node_id) if node_id in graph.nodes else None

    def _update_title(self, *_: object) -> None:
        self.setWindowTitle(f"Daguerre — {self.document.display_name()}[*]")
        self.setWindowModified(self.document.dirty)

    def _demo_model_created(self, checkpoint: str) -> None:
        """Point the empty checkpoint loaders at the new demo model, at a size and step
        count a CPU runs in seconds (see :func:`desktop.models_banner.use_demo_model`)."""
        use_demo_model(self.document, checkpoint)

    # ================================================================ edit
    def copy(self) -> None:
        document = self.canvas.copy_selection()
        if document is None:
            return
        put_workflow_on_clipboard(document)

    def cut(self) -> None:
        self.copy()
        self.canvas.delete_selection()

    def paste(self) -> None:
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData() if clipboard is not None else None
        document = workflow_of(mime) if mime is not None else None
        if document is None:
            return
        try:
            self.canvas.paste(document)
        except WorkflowError as exc:
            self.statusBar().showMessage(f"Cannot paste: {exc}", 5000)

    def select_all(self) -> None:
        self.canvas.select_nodes(list(self.document.graph.nodes))

    def _add_node_at_center(self, type_id: str) -> None:
        self.canvas.add_node_placed(type_id)

    # ================================================================ masks
    def edit_mask(self, node_id: str) -> MaskPainterDialog | None:
        """Open the mask painter on a Load Image node's picture (found as a run finds it,
        also next to the workflow file)."""
        base = self.document.path.parent if self.document.path is not None else None
        finder = FileFinder(self.settings.model_dirs(), base)
        return open_mask_painter(self, self.document, node_id, finder)

    def use_as_input(self, result: ImageResult) -> MaskPainterDialog | None:
        """Put a result on the canvas as a Load Image node and open the painter on it."""
        try:
            file = image_file_for(result)
        except OSError as exc:
            QMessageBox.warning(self, "Use as Input", f"The image could not be saved.\n\n{exc}")
            return None
        center = self.canvas.mapToScene(self.canvas.viewport().rect().center())
        node_id = self.document.add_node(LOAD_IMAGE, (center.x(), center.y()), {"path": str(file)})
        self.canvas.select_nodes([node_id])
        self.statusBar().showMessage(f"Added a Load Image node for {file.name}", 4000)
        return self.edit_mask(node_id)

    # ================================================================ run
    def run(self) -> None:
        result = queue_runs(
            self.document,
            self.bridge,
            self.run_state,
            self.env.resolve_file,
            self.batch.value(),
            context=advice_context(self.settings),
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
            self.statusBar().showMessage(result.message(), 6000)

    def run_to(self, node_id: str) -> None:
        """Run one node and what feeds it (the node menu's "Run up to here")."""
        result = queue_run_to(
            self.document, self.bridge, self.run_state, self.env.resolve_file, node_id
        )
        if result.problems:
            self.problems_dock.show()
            self.problems_dock.raise_()
        title = self.document.graph.display_title(node_id)
        self.statusBar().showMessage(result.message(title), 4000)

    def rerun_from_image(self, path: Path) -> None:
        """Queue again the workflow an image carries, as it was (the gallery's Re-run)."""
        # its problems name nodes of the image's graph, not the document's: only say so
        result = rerun_image(path, self.bridge, self.canvas, self.env.resolve_file)
        self.statusBar().showMessage(result.message, 6000)

    def _open_from_gallery(self, path: Path) -> None:
        if self.files.maybe_save():
            self.files.open_file(path)

    def cancel(self) -> None:
        if self.bridge.busy:
            self.bridge.cancel()
            self.statusBar().showMessage("Cancelling…", 2000)

    def _run_finished(self, run: RunInfo) -> None:
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
            self.live_validation.schedule()  # other models folders: other missing files
            app = QApplication.instance()
            if isinstance(app, QApplication):
                apply_theme(app, self.settings.theme)
            self.banner.refresh(self.settings)
            self.gallery.set_settings(self.settings)
            self.models_panel.refresh()  # other models folders

    def open_get_models(self) -> None:
        """The "Get models" dialog (modeless: a download never blocks the window)."""
        from desktop.get_models import show_get_models

        show_get_models(self, self.settings, self._model_downloaded)

    def _model_downloaded(self, path: str) -> None:
        self.banner.refresh(self.settings)
        self.live_validation.schedule()  # a missing model may be there now
        self.models_panel.refresh()
        self.statusBar().showMessage(f"Downloaded {path}", 8000)

    def add_models_folders(self, folders: list[str]) -> None:
        """Add models folders (another app's, from the banner) to the settings and save."""
        known = set(self.settings.models_dirs)
        self.settings.models_dirs.extend(f for f in folders if f not in known)
        self.settings.save()
        environment_for(self.settings, self.env)
        self.live_validation.schedule()
        self.banner.refresh(self.settings)
        self.models_panel.refresh()

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
            self._first_start_size()
        if state is not None:
            self.restoreState(state)

    def _first_start_size(self) -> None:
        screen = self.screen() or QGuiApplication.primaryScreen()
        room = screen.availableGeometry().size() if screen is not None else None
        size, maximize = first_window_size(None if room is None else (room.width(), room.height()))
        self.resize(*size)
        if maximize:
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)

    def save_layout(self) -> None:
        settings = self.session.qsettings()
        settings.setValue("geometry", self.saveGeometry())
        settings.setValue("state", self.saveState())
        settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.maybe_save():
            event.ignore()
            return
        self.save_layout()
        self.files.finish()
        self.live_validation.stop()
        self.bridge.clear_queue()
        self.bridge.cancel()
        self.bridge.shutdown()
        self.models_panel.shutdown()
        event.accept()
