"""Daguerre's headless engine.

Everything needed to build, check, run and store node graphs lives below this package:
port types and the node declaration API (:mod:`nodes.api`), the registry, the graph
document (:mod:`nodes.graph`), validation, the cached executor, the threaded runner,
workflow files and the command line. Nothing here imports Qt; the desktop app drives the
engine through :class:`nodes.runner.Runner` like any other client.
"""

from __future__ import annotations

__version__ = "0.1.0"
