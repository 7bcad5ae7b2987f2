"""What Daguerre puts on drags and the clipboard: the MIME types and their payloads, once.

A node type dragged from the library onto the canvas carries its type id under
:data:`NODE_TYPE_MIME` (a model dragged from the Models panel: its loader's, with the file
under :data:`NODE_PARAMS_MIME`); copied nodes travel as a workflow document under
:data:`CLIPBOARD_MIME`, and as plain text too, so they paste into a chat or a text editor
and back. The library (drag source), the canvas (drop target) and the window (clipboard)
all read these definitions, so they cannot drift apart.
"""

from __future__ import annotations

import atexit
import functools
import json
from typing import Any

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication

from nodes.workflow import FORMAT, WorkflowError, dumps
from nodes.workflow.io import parse_json

NODE_TYPE_MIME = "application/x-daguerre-node-type"
"""A dragged node type; the data is the type id in UTF-8."""
CLIPBOARD_MIME = "application/x-daguerre-workflow+json"
"""Copied nodes: a workflow document in UTF-8 JSON."""
NODE_PARAMS_MIME = "application/x-daguerre-node-params+json"
"""With :data:`NODE_TYPE_MIME`: the dropped node's param values (a JSON object of
strings), e.g. the file a model dragged from the Models panel sets on its loader."""


def node_mime_data(type_id: str) -> QMimeData:
    """The drag payload for one node type (also offered as plain text)."""
    mime = QMimeData()
    mime.setData(NODE_TYPE_MIME, type_id.encode("utf-8"))
    mime.setText(type_id)
    return mime


def node_type_of(mime: QMimeData) -> str | None:
    """The node type id a drag carries, or None when it carries none."""
    if not mime.hasFormat(NODE_TYPE_MIME):
        return None
    return bytes(mime.data(NODE_TYPE_MIME).data()).decode("utf-8").strip()


def model_mime_data(type_id: str, params: dict[str, str], text: str) -> QMimeData:
    """The drag payload of a model: the loader node type with its file param set, and
    ``text`` (the model's name) for text fields."""
    mime = node_mime_data(type_id)
    mime.setData(NODE_PARAMS_MIME, json.dumps(params).encode("utf-8"))
    mime.setText(text)
    return mime


def node_params_of(mime: QMimeData) -> dict[str, str]:
    """The param values a node drag carries (strings only; {} without any)."""
    if not mime.hasFormat(NODE_PARAMS_MIME):
        return {}
    try:
        data = json.loads(bytes(mime.data(NODE_PARAMS_MIME).data()).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


def workflow_mime_data(document: dict[str, Any]) -> QMimeData:
    """Copied nodes (a workflow document) for the clipboard, also as plain text."""
    mime = QMimeData()
    text = dumps(document)
    mime.setData(CLIPBOARD_MIME, text.encode("utf-8"))
    mime.setText(text)
    return mime


def put_workflow_on_clipboard(document: dict[str, Any]) -> bool:
    """Put copied nodes (a workflow document) on the system clipboard; False without one.

    On Qt's ``offscreen`` platform (tests, ``make screenshot``) the process crashes at exit
    while the clipboard holds a QMimeData made in Python (seen with PySide6 6.11), so there
    the clipboard is emptied before the interpreter shuts down. Elsewhere it is left alone:
    on X11 Qt hands the contents to the clipboard manager as the app quits."""
    clipboard = QGuiApplication.clipboard()
    if clipboard is None:
        return False
    clipboard.setMimeData(workflow_mime_data(document))
    if QGuiApplication.platformName() == "offscreen":
        _release_at_exit()
    return True


@functools.cache
def _release_at_exit() -> None:
    """Register :func:`_release_offscreen_clipboard` once."""
    atexit.register(_release_offscreen_clipboard)


def _release_offscreen_clipboard() -> None:
    if QGuiApplication.instance() is not None and (clipboard := QGuiApplication.clipboard()):
        clipboard.clear()


def workflow_of(mime: QMimeData) -> dict[str, Any] | None:
    """The workflow document the clipboard holds (ours, or plain text that is one), or
    None when it holds anything else."""
    if mime.hasFormat(CLIPBOARD_MIME):
        raw = bytes(mime.data(CLIPBOARD_MIME).data())
    elif mime.hasText():
        raw = mime.text().encode("utf-8")
    else:
        return None
    try:
        document = parse_json(raw)
    except WorkflowError:
        return None
    if isinstance(document, dict) and document.get("format") == FORMAT:
        return document
    return None
