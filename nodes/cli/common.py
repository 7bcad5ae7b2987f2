"""What the ``daguerre`` commands share: exit codes, usage errors, reading a workflow file
and finding its model files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from nodes.comfy import open_any
from nodes.graph import Graph
from nodes.paths import FileFinder
from nodes.registry import Registry
from nodes.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad command-line input (exit 2)."""


def load_file(path: Path, registry: Registry) -> Graph:
    """The workflow in any file ``run`` and ``validate`` accept (see :func:`open_any`)."""
    return open_any(path, registry)


def model_finder(args: argparse.Namespace) -> FileFinder:
    """Where a workflow's file params are found: ``--models``, then the usual folders, and
    next to the workflow file itself."""
    dirs = Settings.load().model_dirs(list(args.models))
    return FileFinder(dirs, base_dir=args.workflow.resolve().parent)


def print_notes(graph: Graph, stream: TextIO) -> None:
    """What an import from ComfyUI approximated or left out, one line each."""
    for note in graph.metadata.get("import_notes", []) or []:
        print(f"note: {note}", file=stream)
