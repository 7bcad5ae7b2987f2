"""Draw the thumbnails of the shipped templates: resources/workflows/thumbnails/NAME.png.

Each is a small diagram of the template's graph — nodes as boxes colored by category,
links as lines — so File › New From Template can show what a template looks like without
shipping generated pictures. Run after changing a template:

    .venv/bin/python docs/make_template_thumbnails.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nodes.library import load_builtin_nodes
from nodes.registry import Registry
from nodes.workflow import load_file
from nodes.workflow.templates import list_templates, templates_dir

SIZE = (240, 150)
MARGIN = 12
BOX = (260.0, 120.0)
"""A node's size on the canvas, in graph units, when the file has none."""
BACKGROUND = (32, 34, 38)
CATEGORY_COLORS = {
    "loaders": (179, 157, 219),
    "conditioning": (255, 167, 38),
    "sampling": (144, 164, 174),
    "latent": (240, 98, 146),
    "image": (100, 181, 246),
    "primitives": (77, 182, 172),
    "utility": (189, 189, 189),
}


def draw(path: Path, registry: Registry) -> Image.Image:
    graph = load_file(path, registry)
    boxes = {}
    for data in graph.nodes.values():
        w, h = data.size or BOX
        boxes[data.id] = (data.position[0], data.position[1], w, h)
    left = min(x for x, _, _, _ in boxes.values())
    top = min(y for _, y, _, _ in boxes.values())
    right = max(x + w for x, _, w, _ in boxes.values())
    bottom = max(y + h for _, y, _, h in boxes.values())
    scale = min((SIZE[0] - 2 * MARGIN) / (right - left), (SIZE[1] - 2 * MARGIN) / (bottom - top))
    off_x = (SIZE[0] - (right - left) * scale) / 2
    off_y = (SIZE[1] - (bottom - top) * scale) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return off_x + (x - left) * scale, off_y + (y - top) * scale

    image = Image.new("RGB", SIZE, BACKGROUND)
    pen = ImageDraw.Draw(image)
    for link in graph.links:
        sx, sy, sw, sh = boxes[link.source]
        tx, ty, _, th = boxes[link.target]
        pen.line([at(sx + sw, sy + sh / 2), at(tx, ty + th / 2)], fill=(120, 124, 130), width=1)
    for data in graph.nodes.values():
        x, y, w, h = boxes[data.id]
        cls = graph.registry.get(data.type)
        color = CATEGORY_COLORS.get(cls.category if cls else "", (200, 200, 200))
        if data.bypass:
            color = tuple(c // 3 for c in color)
        x0, y0 = at(x, y)
        x1, y1 = at(x + w, y + h)
        pen.rounded_rectangle([x0, y0, x1, y1], radius=3, fill=color, outline=(20, 20, 20))
    return image


def main() -> None:
    registry = load_builtin_nodes(Registry())
    out = templates_dir() / "thumbnails"
    out.mkdir(exist_ok=True)
    for template in list_templates():
        image = draw(template.path, registry)
        target = out / f"{template.name}.png"
        image.quantize(colors=32).save(target, optimize=True)
        print(f"{target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
