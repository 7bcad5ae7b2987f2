"""Widget values of ComfyUI nodes: the positional ``widgets_values`` lists, decoded by name.

A ComfyUI UI workflow stores each node's widget values as a list in the order of the
node's widgets — the weak spot ComfyUI users know: a node that gains a widget shifts every
value after it. We decode a list only against a known layout of that node type, checking
every value's kind (an int where an int belongs, a sampler name where a sampler name
belongs...); a list that fits no layout is an error naming the node, never a shifted read.

Frontend-only widgets appear in the list too: ``control_after_generate`` after a seed (one
of :data:`nodes.seed_control.SEED_MODES` — ComfyUI's names are Daguerre's — or, in files
from ComfyUI before the modes, the boolean of its "random seed after every gen" toggle,
which ComfyUI still loads and ships in its stock ``default.json``: true reads as
``randomize``, false as ``fixed``) and ``upload`` after an image name.
"""

from __future__ import annotations

import math
import reprlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from nodes.seed_control import SEED_MODES

_MODES_TEXT = ", ".join(SEED_MODES[:-1]) + " or " + SEED_MODES[-1]
LARGEST = int(sys.float_info.max)
"""The largest magnitude a number in a workflow file may have (beyond it, ints cannot
become floats and the JSON reader refuses them)."""


def is_number(value: Any) -> TypeGuard[int | float]:
    """A JSON number a file may hold: not a bool, finite, and within float range."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -LARGEST <= value <= LARGEST
    return isinstance(value, float) and math.isfinite(value)


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def as_float(value: Any) -> Any:
    """An int widget value as the float a float param wants; anything else as it is."""
    return float(value) if is_int(value) and -LARGEST <= value <= LARGEST else value


@dataclass(frozen=True, slots=True)
class Widget:
    """One widget: its ComfyUI name and the kind of value it holds."""

    name: str
    kind: str
    """int | float | text | combo | toggle (enable/disable) | control (a seed mode) | bool |
    any"""

    def fits(self, value: Any) -> bool:
        kind = self.kind
        if kind == "int":
            return is_number(value) and (isinstance(value, int) or value.is_integer())
        if kind == "float":
            return is_number(value)
        if kind in ("text", "combo"):
            return isinstance(value, str)
        if kind == "toggle":
            return value in ("enable", "disable")
        if kind == "control":
            return legacy_seed_mode(value) is not None
        if kind == "bool":
            return isinstance(value, bool)
        return True

    def describe(self) -> str:
        return {
            "int": "an integer",
            "float": "a number",
            "text": "text",
            "combo": "a name",
            "toggle": "enable or disable",
            "control": _MODES_TEXT,
            "bool": "true or false",
        }.get(self.kind, "a value")


Layout = tuple[Widget, ...]
"""One possible order of a node type's widgets (newest first in each type's list)."""


def layout(*spec: str) -> Layout:
    """``layout("seed:int", "control_after_generate:control", ...)``."""
    widgets = []
    for item in spec:
        name, _, kind = item.partition(":")
        widgets.append(Widget(name, kind or "any"))
    return tuple(widgets)


class WidgetMismatch(ValueError):
    """The values fit none of the node type's layouts; the message says what was expected."""


def decode(values: Any, layouts: Sequence[Layout]) -> dict[str, Any]:
    """Widget values by name: from a positional list (checked against ``layouts``) or a dict.

    Raises :class:`WidgetMismatch` with a message for the user when nothing fits.
    """
    if not layouts:
        return {}
    if values is None:
        values = []
    if isinstance(values, dict):
        return _decode_named(values, layouts)
    if not isinstance(values, list):
        raise WidgetMismatch(f"expected a list of widget values, found {type(values).__name__}")
    for candidate in layouts:
        if len(candidate) == len(values) and all(
            w.fits(v) for w, v in zip(candidate, values, strict=True)
        ):
            return {w.name: _clean(w, v) for w, v in zip(candidate, values, strict=True)}
    raise WidgetMismatch(_mismatch_message(values, layouts))


def _decode_named(values: dict[str, Any], layouts: Sequence[Layout]) -> dict[str, Any]:
    newest = layouts[0]
    for candidate in layouts:
        names = {w.name for w in candidate if w.kind not in ("control",) and w.name != "upload"}
        if names <= set(values):
            bad = [w for w in candidate if w.name in values and not w.fits(values[w.name])]
            if bad:
                w = bad[0]
                raise WidgetMismatch(
                    f"{w.name} is {short(values[w.name])}, expected {w.describe()}"
                )
            return {w.name: _clean(w, values[w.name]) for w in candidate if w.name in values}
    missing = [w.name for w in newest if w.name not in values and w.kind != "control"]
    raise WidgetMismatch(f"widget value(s) {', '.join(missing)} missing")


def check_value(widget: Widget, value: Any) -> Any:
    """One named value (API format): cleaned, or :class:`WidgetMismatch`."""
    if not widget.fits(value):
        raise WidgetMismatch(f"{widget.name} is {short(value)}, expected {widget.describe()}")
    return _clean(widget, value)


def _clean(widget: Widget, value: Any) -> Any:
    if widget.kind == "int" and isinstance(value, float):
        return int(value)
    if widget.kind == "control":
        return legacy_seed_mode(value)
    return value


def legacy_seed_mode(value: Any) -> str | None:
    """A seed control widget's value as a mode: a mode name as it is, the boolean of
    ComfyUI's older "random seed after every gen" toggle as ``randomize`` (true) or
    ``fixed`` (false); None for anything else."""
    if isinstance(value, bool):
        return "randomize" if value else "fixed"
    return value if isinstance(value, str) and value in SEED_MODES else None


def _mismatch_message(values: list[Any], layouts: Sequence[Layout]) -> str:
    newest = layouts[0]
    names = ", ".join(w.name for w in newest)
    if all(len(c) != len(values) for c in layouts):
        counts = " or ".join(sorted({str(len(c)) for c in layouts}))
        return f"has {len(values)} widget values {short(values)}, expected {counts}: {names}"
    for candidate in layouts:
        if len(candidate) != len(values):
            continue
        for w, v in zip(candidate, values, strict=True):
            if not w.fits(v):
                return (
                    f"widget {w.name} is {short(v)}, expected {w.describe()} "
                    f"(widget values {short(values)} do not fit {names})"
                )
    return f"widget values {short(values)} do not fit {names}"


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict = 3, 8, 8
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 60, 60, 40


def short(value: Any) -> str:
    """A value for a one-line message: at most 80 characters, however large the value
    (never the repr of all of it, which may be megabytes)."""
    text = _REPR.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def brief(value: Any) -> str:
    """Printable text of at most 80 characters as it is (an id, a class name); any other
    text or value as :func:`short` shows it, quoted and escaped on one line."""
    if isinstance(value, str) and len(value) <= 80 and value.isprintable():
        return value
    return short(value)
