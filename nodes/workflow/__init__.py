"""Workflow files: the JSON documents that hold a graph (docs/ARCHITECTURE.md, "Workflow files").

``{"format": "daguerre.workflow", "version": 1, "nodes": {...}, "links": [...], ...}``.
Params are stored by name, nodes by stable string id. Fields this version does not know
are kept and written back. Older files are upgraded through numbered migrations
(:mod:`nodes.workflow.migrations`) and per-node upgraders; a file from a newer Daguerre is
refused. Every malformed file raises one :class:`WorkflowError` naming the JSON path.
"""

from __future__ import annotations

from nodes.workflow.errors import WorkflowError
from nodes.workflow.format import FORMAT, VERSION, from_dict, to_dict
from nodes.workflow.io import dumps, load_file, loads, save_file

__all__ = [
    "FORMAT",
    "VERSION",
    "WorkflowError",
    "dumps",
    "from_dict",
    "load_file",
    "loads",
    "save_file",
    "to_dict",
]
