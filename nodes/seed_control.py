"""What happens to a seed after a run: the app's "control after generate" (as ComfyUI's).

A workflow stores it per node in ``NodeData.extra[SEED_CONTROL_KEY]`` as
``{param name: mode}``; the engine never acts on it (a run uses the seed it is given), the
app and the ComfyUI import read and write it. Defined here, torch- and Qt-free, so that the
desktop, the ComfyUI adapter and the workflow format share one definition.
"""

from __future__ import annotations

SEED_MODES: tuple[str, ...] = ("fixed", "increment", "decrement", "randomize")
"""The modes, in menu order."""
DEFAULT_SEED_MODE = "fixed"
SEED_CONTROL_KEY = "seed_control"
"""Key in ``NodeData.extra`` holding ``{param: mode}`` (saved with the workflow)."""


def seed_mode(value: object) -> str:
    """``value`` if it is a known mode, else the default (files may hold anything)."""
    return value if isinstance(value, str) and value in SEED_MODES else DEFAULT_SEED_MODE
