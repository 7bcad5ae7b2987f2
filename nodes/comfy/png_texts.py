"""ComfyUI's ``prompt`` text chunk for the PNGs Daguerre saves, so that dropping one into
ComfyUI loads the graph there (ComfyUI reads its ``workflow`` chunk, else ``prompt``).

The engine's Save Image cannot import this adapter (it is a leaf), so the edges that run
graphs — the CLI and the app — put :func:`comfy_png_texts` in the run's
:class:`~nodes.context.Environment` (``extra_png_texts``). A graph that does not export (a
Daguerre-only node, a value ComfyUI cannot take) simply gets no ``prompt`` chunk: the
image still carries the Daguerre workflow.
"""

from __future__ import annotations

import json

from nodes.comfy.export import ExportError, export_api
from nodes.graph import Graph
from nodes.workflow.png import COMFY_PROMPT_KEY


def comfy_png_texts(graph: Graph) -> dict[str, str]:
    """``{"prompt": <the graph as ComfyUI API JSON>}``, or ``{}`` when it does not export."""
    try:
        api = export_api(graph)
    except ExportError:
        return {}
    return {COMFY_PROMPT_KEY: json.dumps(api, ensure_ascii=False)}
