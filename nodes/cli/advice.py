"""Advice on the command line: what ``validate`` and ``run`` print after the errors.

Each piece of advice is one ``advice: node.field: message`` line (escaped like every line
from a file), and in ``--json`` a record with its rule, why and fix. ``--no-advice`` hides
it; advice never changes an exit status. The rules know the device and what is silenced
everywhere from the settings (``--device`` wins for ``run``), and the CLI lets them build
the CLIP tokenizer for a long prompt, so its token count is exact.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from nodes.advice import Advice
from nodes.advice.rules import AdviceContext
from nodes.cli.common import printable
from nodes.settings import Settings

__all__ = ["advice_context", "advice_record", "print_advice_lines"]


def advice_context(args: argparse.Namespace, settings: Settings | None = None) -> AdviceContext:
    settings = settings or Settings.load()
    return AdviceContext(
        device=getattr(args, "device", None) or settings.device,
        precision=getattr(args, "precision", None) or settings.precision,
        silenced=frozenset(settings.silenced_advice),
        exact_tokens=True,
    )


def advice_record(advice: Advice) -> dict[str, Any]:
    """One piece of advice as JSON data."""
    return {
        "node": advice.node_id,
        "field": advice.field,
        "rule": advice.rule,
        "message": advice.message,
        "why": advice.why,
        "fix": dict(advice.fix) if advice.fix is not None else None,
    }


def print_advice_lines(advice: list[Advice], stream: TextIO) -> None:
    for item in advice:
        print(f"advice: {printable(item)}", file=stream)
