"""ComfyUI classes that are one Daguerre node each, widget for param and input for input:
the :class:`Direct` record that declares one, and :func:`record`, the import record made
from it (the export is made from the same record in :mod:`nodes.comfy.export`).

The modules that declare such classes (``inpaint_types``, ``resize_types``...) are gathered
in :mod:`nodes.comfy.direct_classes`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nodes.comfy.build import Builder, ComfyClass, ComfyNode, node_values
from nodes.comfy.widgets import Layout, as_float, layout

Refuse = Callable[[dict[str, Any]], str | None]
"""Given the decoded widget values, why Daguerre cannot run the node (it becomes a
placeholder), or None."""


@dataclass(frozen=True)
class Direct:
    """A ComfyUI class that is one Daguerre node, widget for param and input for input."""

    name: str
    """ComfyUI's class name."""
    becomes: str
    """The Daguerre type."""
    widgets: tuple[str, ...] = ()
    """ComfyUI's widgets in their order, ``"name:kind"`` (as :func:`~.widgets.layout`), or
    ``"name:kind>param"`` where the Daguerre param is named differently."""
    links: tuple[tuple[str, str], ...] = ()
    """(ComfyUI input, Daguerre input) for every input that takes a link."""
    outputs: tuple[str, ...] = ()
    """ComfyUI's output names in slot order."""
    slots: tuple[str, ...] = ()
    """The Daguerre outputs that ComfyUI's output slots 0, 1, ... are."""
    upload: bool = False
    """The frontend's upload button follows the widgets (its value, ``"image"``, is in the
    UI file's list and, from the frontend, in API files too)."""
    older: tuple[tuple[str, ...], ...] = ()
    """Older widget lists (``"name:kind"``), newest first; missing widgets take
    :attr:`defaults`."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """ComfyUI's value of a widget an older file lacks, by ComfyUI name."""
    optional: tuple[str, ...] = ()
    """ComfyUI inputs that may stay unconnected."""
    refuse: Refuse | None = None

    def params(self) -> list[tuple[str, str, str]]:
        """(ComfyUI widget, kind, Daguerre param) in widget order."""
        found = []
        for spec in self.widgets:
            widget, _, ours = spec.partition(">")
            name, _, kind = widget.partition(":")
            found.append((name, kind, ours or name))
        return found

    def layouts(self) -> tuple[Layout, ...]:
        plain = tuple(spec.partition(">")[0] for spec in self.widgets)
        if self.upload:
            return (layout(*plain, "upload:any"), layout(*plain))
        return (layout(*plain), *(layout(*old) for old in self.older))


_float = as_float


def record(spec: Direct) -> ComfyClass:
    """The import record of ``spec``."""
    layouts = spec.layouts()

    def build(b: Builder, n: ComfyNode) -> None:
        v = node_values(n, layouts)
        reason = spec.refuse(v) if spec.refuse is not None else None
        if reason is not None:
            b.placeholder(n, reason)
            return
        params: dict[str, Any] = {}
        for name, kind, ours in spec.params():
            value = v.get(name, spec.defaults.get(name) if name not in n.links else None)
            if value is not None:
                params[ours] = _float(value) if kind == "float" else value
        d = b.add(n, spec.becomes, params)
        for name, ours in spec.links:
            b.input(n, name, d, ours)
        for name, _, ours in spec.params():
            b.input(n, name, d, ours)
        b.outputs(n, d, spec.slots)

    return ComfyClass(
        spec.name,
        build,
        spec.becomes,
        layouts=layouts,
        outputs=spec.outputs,
        slots=spec.slots,
    )
