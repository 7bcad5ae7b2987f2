"""The shipped workflow templates (``resources/workflows/``): File › New From Template.

Each template is a workflow file whose ``metadata`` has a ``title`` and a one-line
``description``; its thumbnail is ``thumbnails/<name>.png`` beside it (a small drawing of
the graph). Node ids and param names of the templates are a public contract (the README
lists them), so ``--set checkpoint.path=...`` works on every one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodes.paths import resources_dir

ORDER = (
    "txt2img",
    "img2img",
    "sdxl_txt2img",
    "lcm",
    "lora",
    "controlnet_canny",
    "controlnet_two",
    "hires_fix",
    "upscale",
)
"""Menu order; other files follow alphabetically."""


@dataclass(frozen=True)
class Template:
    name: str
    """The file's stem: ``txt2img``."""
    path: Path
    title: str
    description: str
    thumbnail: Path | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "path": str(self.path),
            "thumbnail": str(self.thumbnail) if self.thumbnail else None,
        }


def templates_dir() -> Path:
    return resources_dir() / "workflows"


def list_templates(folder: Path | None = None) -> list[Template]:
    """The templates in ``folder`` (default: the shipped ones), in menu order.

    A file that cannot be read as JSON is listed with its name as title, so a broken
    template shows up (and fails when opened) instead of vanishing.
    """
    root = folder or templates_dir()
    found = []
    for path in sorted(root.glob("*.json")):
        metadata = _metadata(path)
        title = metadata.get("title")
        description = metadata.get("description")
        thumbnail = root / "thumbnails" / f"{path.stem}.png"
        found.append(
            Template(
                name=path.stem,
                path=path,
                title=title if isinstance(title, str) and title else path.stem,
                description=description if isinstance(description, str) else "",
                thumbnail=thumbnail if thumbnail.is_file() else None,
            )
        )
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(found, key=lambda t: (rank.get(t.name, len(ORDER)), t.name))


def _metadata(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    metadata = doc.get("metadata") if isinstance(doc, dict) else None
    return metadata if isinstance(metadata, dict) else {}
