"""What a loader's file picker lists: each model's name with its family, as the Models
panel shows it, and a mark on a model of another family than the graph's checkpoint
(an SDXL LoRA in an SD1.5 graph).

The names come from :func:`nodes.catalog.listing.scan`, which reads each file's header
once per file version (the picker lists the folder when its list opens, as before).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nodes.catalog.headers import family_label
from nodes.catalog.listing import graph_family, scan
from nodes.graph import Graph
from nodes.paths import FileFinder

SEPARATOR = "  ·  "
WRONG = "⚠ "


@dataclass(frozen=True, slots=True)
class Choice:
    """One row of a file picker."""

    name: str
    """The value the param takes."""
    label: str
    """What the list shows: the name, its family, a mark when it is the wrong family."""
    tooltip: str
    wrong_family: bool = False


def model_choices(kind: str, models_dirs: list[Path], graph: Graph | None) -> list[Choice]:
    """The models of ``kind`` for a picker, marked against ``graph``'s checkpoint family
    (a checkpoint picker marks nothing: the checkpoint decides the family)."""
    family = None
    if graph is not None and kind != "checkpoints":
        family = graph_family(graph, FileFinder(models_dirs))
    choices: list[Choice] = []
    for entry in scan(models_dirs, (kind,)):
        label = entry.name + (SEPARATOR + entry.summary if entry.summary else "")
        tooltip = str(entry.path)
        wrong = entry.wrong_for(family)
        if wrong and family is not None:
            label = WRONG + label
            graph_name = family_label((family,))
            tooltip += f"\nA {entry.summary} model; this graph's checkpoint is {graph_name}."
        choices.append(Choice(entry.name, label, tooltip, wrong))
    return choices


def value_of(text: str, choices: list[Choice]) -> str:
    """The param value for what the picker's field holds: a row's label stands for its
    name; anything typed is taken as it is."""
    for choice in choices:
        if text == choice.label:
            return choice.name
    return text


__all__ = ["Choice", "model_choices", "value_of"]
