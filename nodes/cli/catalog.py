"""``daguerre nodes`` and ``daguerre templates``: what this Daguerre offers to build with."""

from __future__ import annotations

import argparse
import json
import sys

from nodes.cli.common import EXIT_OK
from nodes.registry import Registry


def cmd_nodes(args: argparse.Namespace, registry: Registry) -> int:
    """Listed node types by category (unlisted ones, like placeholders, stay out), or every
    type's full schema as JSON."""
    if args.json:
        json.dump(registry.schema(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    category = None
    listed = [cls for cls in registry if cls.listed]
    width = max((len(cls.type_id) for cls in listed), default=0) + 2
    for cls in listed:
        if cls.category != category:
            category = cls.category
            print(f"\n{category}")
        summary = " ".join(cls.description().split()).split(". ")[0].rstrip(".")
        print(f"  {cls.type_id:<{width}}{cls.title:<20}{summary}")
    return EXIT_OK


def cmd_templates(args: argparse.Namespace) -> int:
    from nodes.workflow.templates import list_templates

    found = list_templates()
    if args.json:
        payload = [t.to_json() for t in found]
        json.dump(payload, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    width = max((len(t.name) for t in found), default=0) + 2
    for template in found:
        print(f"{template.name:<{width}}{template.title}")
        print(f"{'':<{width}}{template.description}")
    return EXIT_OK
