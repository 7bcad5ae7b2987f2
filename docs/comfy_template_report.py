"""How well Daguerre opens ComfyUI's published workflow templates.

Reads every UI-format template of the ``comfyui-workflow-templates-json`` package (a dev
extra), imports it, and prints how many import without placeholders, how many of those
validate and run on tiny demo models standing in for the checkpoints they name, how many
need placeholders, and which ComfyUI node types are missing most often (counted once per
template; subgraphs are counted as "subgraph" and by the types inside them).

    .venv/bin/python docs/comfy_template_report.py [--no-run]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nodes.comfy import PLACEHOLDER, ensure_registered, import_ui
from nodes.comfy.nodetypes import SUPPORTED
from nodes.context import Environment
from nodes.executor import Executor
from nodes.library import load_builtin_nodes
from nodes.registry import Registry
from nodes.validation import validate

if TYPE_CHECKING:  # the demo models need torch, which --no-run does without
    from nodes.models.demo import DemoPaths


def templates() -> list[Path]:
    import comfyui_workflow_templates_json as package

    folder = Path(package.__file__).parent / "templates"
    found = []
    for path in sorted(folder.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and "nodes" in doc:
            found.append(path)
    return found


def missing_types(doc: dict[str, Any]) -> set[str]:
    """ComfyUI types Daguerre lacks, looking inside subgraphs."""
    subgraphs = {s["id"]: s for s in (doc.get("definitions") or {}).get("subgraphs") or []}
    found: set[str] = set()
    for node in doc["nodes"]:
        kind = node.get("type")
        if kind in subgraphs:
            found.add("subgraph")
            found |= (
                {n.get("type") for n in subgraphs[kind].get("nodes", []) if n.get("type")}
                - SUPPORTED
                - set(subgraphs)
            )
        elif kind not in SUPPORTED:
            found.add(kind)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--no-run", action="store_true", help="import and validate only")
    args = parser.parse_args()
    registry = ensure_registered(load_builtin_nodes(Registry()))
    paths = templates()
    clean, placeholders, ran = [], [], []
    missing: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as scratch:
        demos: dict[str, DemoPaths] = {}
        if not args.no_run:
            import torch

            from nodes.models.demo import make_demo_model

            torch.set_num_threads(1)
            demos = {f: make_demo_model(Path(scratch) / f, f) for f in ("sd15", "sdxl")}
        for path in paths:
            doc = json.loads(path.read_text(encoding="utf-8"))
            graph = import_ui(doc, registry)
            if any(d.type == PLACEHOLDER for d in graph.nodes.values()):
                placeholders.append(path.name)
                missing.update(missing_types(doc))
                continue
            clean.append(path.name)
            if not demos:
                continue
            names = " ".join(
                str(d.params.get("path"))
                for d in graph.nodes.values()
                if d.type.startswith("loaders")
            )
            demo = demos["sdxl" if "xl" in names.lower() else "sd15"]
            resolve = _resolver(demo)
            if validate(graph, resolve):
                continue
            for data in graph.nodes.values():
                if data.type == "latent.empty":
                    data.params.update(width=64, height=64)
            env = Environment(output_dir=Path(scratch) / "out", resolve_file=resolve)
            if Executor(env=env).run(graph).status == "done":
                ran.append(path.name)
    print(f"ComfyUI workflow templates (UI format): {len(paths)}")
    print(f"  import with every node mapped: {len(clean)}  {', '.join(clean)}")
    if not args.no_run:
        print(f"  of those, run headless on the demo models: {len(ran)}")
    print(f"  import with placeholders: {len(placeholders)}")
    print("  ComfyUI node types missing most often (templates that use them):")
    for kind, count in missing.most_common(25):
        print(f"    {count:4d}  {kind}")


def _resolver(demo: DemoPaths) -> Callable[[str, str], Path | None]:
    by_kind = {
        "checkpoints": demo.single_file,
        "controlnet": demo.controlnet,
        "lora": demo.lora,
        "vae": demo.folder / "vae",
    }

    def resolve(kind: str, value: str) -> Path | None:
        return by_kind.get(kind)

    return resolve


if __name__ == "__main__":
    main()
