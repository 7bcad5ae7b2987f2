"""``daguerre export``: a workflow file (any kind ``run`` reads) written as ComfyUI API JSON
or as a Daguerre workflow — to stdout, or atomically to ``-o FILE``."""

from __future__ import annotations

import argparse
import json
import sys

from nodes.cli.common import EXIT_FAILED, EXIT_OK, printable
from nodes.comfy import export_api, open_any
from nodes.registry import Registry
from nodes.workflow import WorkflowError, dumps


def cmd_export(args: argparse.Namespace, registry: Registry) -> int:
    from nodes.workflow.io import check_size, write_atomic

    try:
        graph = open_any(args.workflow, registry)
        warnings: list[str] = []
        if args.comfy_api:
            text = json.dumps(export_api(graph, warnings), indent=2, ensure_ascii=False) + "\n"
            check_size(text)  # what Daguerre writes it must be able to read back
        else:
            text = dumps(graph)
    except WorkflowError as exc:
        print(printable(exc), file=sys.stderr)
        return EXIT_FAILED
    for warning in warnings:
        print(f"warning: {printable(warning)}", file=sys.stderr)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        write_atomic(args.output, text.encode("utf-8"))
    except OSError as exc:
        print(f"cannot write {printable(args.output)}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {printable(args.output)}", file=sys.stderr)
    return EXIT_OK
