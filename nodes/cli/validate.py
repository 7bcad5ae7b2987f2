"""``daguerre validate``: every problem of a workflow, one ``node.field: message`` line each
(escaped with :func:`~nodes.cli.common.printable`: a newline in a value never starts a
line of its own, and a file's escape sequences never reach the terminal), then one
``advice: node.field: message`` line per piece of advice (a node that feeds no output is
not run, so its problems are advice). Exit status 1 for errors; advice alone is 0."""

from __future__ import annotations

import argparse
import sys

from nodes.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    load_file,
    model_finder,
    print_notes,
    printable,
)
from nodes.registry import Registry
from nodes.validation import review
from nodes.workflow import WorkflowError


def cmd_validate(args: argparse.Namespace, registry: Registry) -> int:
    try:
        graph = load_file(args.workflow, registry)
    except WorkflowError as exc:
        print(printable(exc))
        return EXIT_FAILED
    print_notes(graph, sys.stderr)
    findings = review(graph, model_finder(args))
    for problem in findings.errors:
        print(printable(problem))
    for advice in findings.advice:
        print(f"advice: {printable(advice)}")
    if findings.errors:
        return EXIT_FAILED
    print(f"ok: {len(graph)} nodes, {len(graph.links)} links", file=sys.stderr)
    return EXIT_OK
