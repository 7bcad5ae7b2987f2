"""The ``daguerre`` command: subcommands go to the headless CLI, anything else opens the app.

``daguerre run …`` (and every other subcommand of :mod:`nodes.cli`) never loads Qt;
``daguerre`` alone or ``daguerre FILE`` starts the desktop app.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def cli_commands() -> set[str]:
    """The subcommand names the headless CLI knows (read from its own parser)."""
    from nodes.cli import build_parser

    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    first = args[0] if args else None
    if first is not None and (
        first in cli_commands() or first.startswith("-") or not Path(first).exists()
    ):
        from nodes.cli import main as cli_main

        return cli_main(args)
    from desktop.app import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
