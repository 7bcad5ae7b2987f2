"""Where Daguerre's bundled data files live (kept for `nodes.models`' own imports).

The shared helper is `nodes.paths.resources_dir`; this module only re-exports it so the
model code has a single place to change if resources ever move.
"""

from __future__ import annotations

from nodes.paths import resources_dir

__all__ = ["resources_dir"]
