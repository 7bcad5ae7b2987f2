"""ComfyUI workflows in Daguerre: open them, run what Daguerre supports, export back.

- :func:`open_any` (and :func:`open_file`, which also says what the file was) opens any
  workflow file — Daguerre JSON, ComfyUI UI- or API-format JSON, or a PNG carrying one of
  them — for the CLI, File › Open and drops; :func:`open_bytes` does the same for bytes
  already read. Whatever the file holds, the only failure is one
  :class:`~nodes.workflow.WorkflowError` naming where it is (the JSON path, and the node
  and widget when a value is wrong): every value is type-checked where it is read.
- :func:`import_comfy` (:func:`import_ui`, :func:`import_api`) turns a parsed ComfyUI
  document into a graph: the core classes map to Daguerre's nodes through one record each
  (:data:`nodes.comfy.nodetypes.CLASSES`; that module's docstring has the table); every
  other class becomes a placeholder node that keeps its data and names its type when
  validation fails.
- :func:`export_api` writes a graph of supported nodes as ComfyUI API JSON (what its
  ``/prompt`` endpoint runs).

ComfyUI's own sampling conventions (sigma schedules, noise scaling, integer timesteps)
live in the engine as the ``comfyui`` convention of the Scheduler node;
:mod:`nodes.diffusion.comfy_sigmas` computes its schedules.

This package is a leaf: the engine never imports it. The placeholder type is therefore not
among the built-in nodes; the edges that open files (the CLI, the app) add it to their
registry with :func:`ensure_registered` (so that a saved workflow holding placeholders
reopens), and every import here does so for the registry it is given.
"""

from __future__ import annotations

from nodes.comfy.convert import detect, import_api, import_comfy, import_ui, placeholder_types
from nodes.comfy.export import ExportError, export_api
from nodes.comfy.nodetypes import SUPPORTED
from nodes.comfy.open import Opened, load_document, open_any, open_bytes, open_file
from nodes.comfy.placeholder import PLACEHOLDER, Placeholder, ensure_registered

__all__ = [
    "PLACEHOLDER",
    "SUPPORTED",
    "ExportError",
    "Opened",
    "Placeholder",
    "detect",
    "ensure_registered",
    "export_api",
    "import_api",
    "import_comfy",
    "import_ui",
    "load_document",
    "open_any",
    "open_bytes",
    "open_file",
    "placeholder_types",
]
