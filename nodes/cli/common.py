"""What the ``daguerre`` commands share: exit codes, usage errors, reading a workflow file
and finding its model files, and printing what a file holds safely.

Anything the CLI prints that came from a file (titles, ids, types, notes, messages that
quote a value) goes through :func:`printable` (or :func:`json_text` for JSON): a file's
escape sequences must never reach the user's terminal raw, where they could set its
title, clear it or rewrite what the user reads.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, TextIO

from nodes.comfy import open_any
from nodes.graph import Graph
from nodes.paths import FileFinder
from nodes.registry import Registry
from nodes.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130
EXIT_PIPE = 141
"""stdout's reader closed the pipe (128 + SIGPIPE, what a shell shows for a Unix tool)."""

MAX_SWEEP_RUNS = 10_000
"""The most runs one ``daguerre run --sweep`` makes; more is refused before any runs."""

_BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_BIDI_AND_SEPARATORS}]")
"""C0 and C1 controls, DEL, bidirectional overrides, Unicode line separators and lone
surrogates (which JSON allows but no terminal encoding can print)."""
_UNSAFE_BUT_NEWLINE = re.compile(f"[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f{_BIDI_AND_SEPARATORS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object, *, newlines: bool = False) -> str:
    """``str(value)`` safe to print on a terminal: control characters (newlines too,
    unless ``newlines``: text the CLI lays out itself), DEL, bidirectional overrides,
    Unicode line separators and lone surrogates become ``\\n``, ``\\x1b``, ``\\u202e``...;
    the rest (accents, other scripts, symbols) is kept."""
    pattern = _UNSAFE_BUT_NEWLINE if newlines else _UNSAFE
    return pattern.sub(_escape, str(value))


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_text(value: Any, *, indent: int | None = 2) -> str:
    """``value`` as JSON (non-ASCII text kept readable) with every character that
    :func:`printable` escapes written as a ``\\uXXXX`` escape: the same data for a
    parser, nothing raw for a terminal. (Outside strings JSON is plain ASCII, so
    replacing these characters anywhere in the text only touches strings.)"""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return _UNSAFE_BUT_NEWLINE.sub(_json_escape, text)


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
        print(f"note: {printable(note)}", file=stream)
