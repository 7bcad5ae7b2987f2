"""The ``daguerre`` command line: run, validate, inspect and convert workflows, list node
types, templates and models, make a demo model.

``run``, ``validate``, ``info`` and ``export`` read any workflow file: a Daguerre workflow,
a ComfyUI workflow (UI or API JSON), or a PNG that carries one of them.

Exit codes: 0 success; 1 invalid workflow or failed run; 2 usage error; 130 cancelled
(Ctrl+C); 141 the reader of stdout went away (``daguerre info FILE | head``: the command
stops quietly, as Unix tools do on SIGPIPE, with no traceback). ``run --json`` prints one
JSON summary on stdout; progress goes to stderr.

One module per job: :mod:`~nodes.cli.parser` (the arguments), :mod:`~nodes.cli.run` (with
:mod:`~nodes.cli.progress`), :mod:`~nodes.cli.validate`, :mod:`~nodes.cli.info`,
:mod:`~nodes.cli.export`, :mod:`~nodes.cli.catalog` (``nodes``, ``templates``) and
:mod:`~nodes.cli.models` (``models``, ``make-demo-model``), :mod:`~nodes.cli.download`
(``download``); :mod:`~nodes.cli.common` holds
what they share. None of them imports torch until a command needs it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from nodes.cli.catalog import cmd_nodes, cmd_templates
from nodes.cli.common import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PIPE,
    EXIT_USAGE,
    UsageError,
)
from nodes.cli.download import cmd_download
from nodes.cli.export import cmd_export
from nodes.cli.info import cmd_info
from nodes.cli.models import cmd_make_demo_model, cmd_models
from nodes.cli.parser import COMMANDS, build_parser
from nodes.cli.run import cmd_run
from nodes.cli.validate import cmd_validate
from nodes.comfy import ensure_registered
from nodes.library import load_builtin_nodes
from nodes.registry import REGISTRY, Registry

__all__ = [
    "COMMANDS",
    "EXIT_CANCELLED",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_PIPE",
    "EXIT_USAGE",
    "UsageError",
    "build_parser",
    "main",
]


def main(argv: Sequence[str] | None = None, registry: Registry | None = None) -> int:
    """Run the command line; returns the exit code (argparse's usage errors included).

    ``registry`` (default: the app's) gets the built-in node types and ComfyUI's
    placeholder type — the command line is an edge of the engine, so it is where the
    ComfyUI adapter is plugged in.
    """
    try:
        code = _main(argv, registry)
        sys.stdout.flush()  # what is still buffered fails here, not at interpreter exit
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE
    return code


def _silence_stdout() -> None:
    """Point stdout at the null device: the reader is gone, and Python's flush of the
    rest of the buffer at exit must not print a second traceback (the recipe in Python's
    documentation of SIGPIPE). Writes are ignored rather than the process killed by the
    signal, so a run that is saving a file still finishes its atomic save."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a test or an embedding
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _main(argv: Sequence[str] | None, registry: Registry | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2)
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or EXIT_OK
        return EXIT_USAGE
    reg = ensure_registered(load_builtin_nodes(registry if registry is not None else REGISTRY))
    try:
        if args.command == "run":
            return cmd_run(args, reg)
        if args.command == "validate":
            return cmd_validate(args, reg)
        if args.command == "info":
            return cmd_info(args, reg)
        if args.command == "export":
            return cmd_export(args, reg)
        if args.command == "templates":
            return cmd_templates(args)
        if args.command == "nodes":
            return cmd_nodes(args, reg)
        if args.command == "models":
            return cmd_models(args)
        if args.command == "make-demo-model":
            return cmd_make_demo_model(args)
        if args.command == "download":
            return cmd_download(args)
    except UsageError as exc:
        print(f"daguerre: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl+C outside a run's wait (loading, a second Ctrl+C)
        print("\ncancelled", file=sys.stderr)
        return EXIT_CANCELLED
    build_parser().print_help()
    return EXIT_OK
