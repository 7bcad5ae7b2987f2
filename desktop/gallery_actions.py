"""What the window does for the gallery's (and image panel's) history actions.

- :func:`rerun_image`: queue the workflow an image carries, as it was saved — its own
  seeds and values, not the open document's — after validating it like Run does. The
  document is not touched.
- :func:`use_image_as_input`: point the selected Load Image node at an image (one undo
  step), or add a Load Image node for it at a free spot in the middle of the view.
- :func:`attach_result_menus`: the Image panel's shown result and its strip of this
  session's results get the gallery's right-click menu for their saved file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QMenu, QWidget

from desktop.bridge import EngineBridge
from desktop.canvas.view import CanvasView
from desktop.mask_painter import LOAD_IMAGE
from desktop.panels.gallery import GalleryPanel
from desktop.panels.image import ImagePanel
from desktop.run_state import ImageResult
from nodes.comfy import open_file
from nodes.events import Problem
from nodes.validation import FileResolver, validate
from nodes.workflow import WorkflowError, to_dict


@dataclass
class Rerun:
    run_id: int | None
    message: str
    problems: list[Problem]


def rerun_image(
    path: Path, bridge: EngineBridge, canvas: CanvasView, resolve_file: FileResolver
) -> Rerun:
    """Validate and queue the workflow ``path`` carries (see the module docstring)."""
    try:
        opened = open_file(path, canvas.document.registry)
    except WorkflowError as exc:
        return Rerun(None, f"Cannot re-run {path.name}: {exc}", [])
    problems = validate(opened.graph, resolve_file)
    if problems:
        first = problems[0]
        where = ".".join(p for p in (first.node_id, first.field) if p)
        count = len(problems)
        text = f"Not re-run: {path.name} has {count} problem{'s' if count > 1 else ''}"
        return Rerun(None, f"{text} ({where}: {first.message})", problems)
    run_id = bridge.submit(to_dict(opened.graph), label=f"Re-run {path.name}")
    return Rerun(run_id, f"Queued a re-run of {path.name}", [])


def use_image_as_input(canvas: CanvasView, path: Path) -> str:
    """The Load Image node now showing ``path``: the selected one, else a new one."""
    document = canvas.document
    selected = canvas.selected_nodes()
    if len(selected) == 1 and document.graph.nodes[selected[0]].type == LOAD_IMAGE:
        document.set_param(selected[0], "path", str(path), text="Use as input")
        return selected[0]
    cls = document.registry[LOAD_IMAGE]
    center = canvas.mapToScene(canvas.viewport().rect().center())
    node_id = document.add_node(
        LOAD_IMAGE, canvas.free_spot_for(cls, QPointF(center)), {"path": str(path)}
    )
    canvas.select_nodes([node_id])
    return node_id


def result_menu(gallery: GalleryPanel, result: ImageResult | None) -> QMenu | None:
    """The gallery's menu for a result's saved file; None for a result never saved (the
    Image panel's own Copy and Use as Input cover those)."""
    if result is None or not result.file or not Path(result.file).is_file():
        return None
    return gallery.menu_for(Path(result.file))


def attach_result_menus(panel: ImagePanel, gallery: GalleryPanel) -> None:
    """Right-click on the Image panel's picture or on a strip thumbnail opens the menu."""

    def show(widget: QWidget, result: ImageResult | None, pos: QPoint) -> None:
        menu = result_menu(gallery, result)
        if menu is not None:
            menu.exec(widget.mapToGlobal(pos))

    def on_strip(pos: QPoint) -> None:
        item = panel.strip.itemAt(pos)
        row = panel.strip.row(item) if item is not None else -1
        results = panel.run_state.results
        show(panel.strip.viewport(), results[row] if 0 <= row < len(results) else None, pos)

    custom = Qt.ContextMenuPolicy.CustomContextMenu
    panel.view.setContextMenuPolicy(custom)
    panel.view.customContextMenuRequested.connect(
        lambda pos: show(panel.view, panel.current_result(), pos)
    )
    panel.strip.setContextMenuPolicy(custom)
    panel.strip.customContextMenuRequested.connect(on_strip)
