"""``daguerre validate``: every problem of a workflow, one ``node.field: message`` line each
(escaped with :func:`~nodes.cli.common.printable`: a newline in a value never starts a
line of its own, and a file's escape sequences never reach the terminal), then one
``advice: node.field: message`` line per piece of advice (a node that feeds no output is
not run, so its problems are advice; and the rules of :mod:`nodes.advice.rules`: steps,
cfg, prompts, sizes, memory). Exit status 1 for errors; advice alone is 0. ``--json``
prints ``{"ok", "errors", "advice"}`` instead; ``--no-advice`` leaves advice out."""

from __future__ import annotations

import argparse
import sys

from nodes.cli.advice import advice_context, advice_record, print_advice_lines
from nodes.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    json_text,
    load_file,
    model_finder,
    print_notes,
    printable,
)
from nodes.registry import Registry
from nodes.validation import review
from nodes.workflow import WorkflowError


def cmd_validate(args: argparse.Namespace, registry: Registry) -> int:
    as_json = getattr(args, "json", False)
    show_advice = not getattr(args, "no_advice", False)
    try:
        graph = load_file(args.workflow, registry)
    except WorkflowError as exc:
        if as_json:
            error = {"node": None, "field": None, "message": str(exc)}
            print(json_text({"ok": False, "errors": [error], "advice": []}))
        else:
            print(printable(exc))
        return EXIT_FAILED
    print_notes(graph, sys.stderr)
    findings = review(graph, model_finder(args), context=advice_context(args), rules=show_advice)
    advice = findings.advice if show_advice else []
    if as_json:
        errors = [
            {"node": p.node_id, "field": p.field, "message": p.message} for p in findings.errors
        ]
        records = [advice_record(a) for a in advice]
        print(json_text({"ok": findings.ok, "errors": errors, "advice": records}))
    else:
        for problem in findings.errors:
            print(printable(problem))
        print_advice_lines(advice, sys.stdout)
    if findings.errors:
        return EXIT_FAILED
    print(f"ok: {len(graph)} nodes, {len(graph.links)} links", file=sys.stderr)
    return EXIT_OK
