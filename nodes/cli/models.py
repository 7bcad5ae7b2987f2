"""``daguerre models`` (the model files found, described from their headers) and
``daguerre make-demo-model``.

The demo model needs torch: it is imported only when that command runs, so listing models
stays fast (the catalogue reads headers without torch).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nodes.catalog.listing import KINDS, ModelEntry, hash_entry, human_size, scan
from nodes.cli.common import EXIT_OK, UsageError, printable
from nodes.models.errors import ModelError
from nodes.settings import Settings


def cmd_models(args: argparse.Namespace) -> int:
    """The models by kind with family, size and precision (read from headers only);
    ``--hash`` computes the missing SHA-256 digests (cached under the Daguerre home),
    ``--json`` prints every field of :class:`~nodes.catalog.listing.ModelEntry`."""
    dirs = Settings.load().model_dirs(list(args.models))
    entries = scan(dirs)
    if args.hash:
        entries = [_hashed(entry) for entry in entries]
    if args.json:
        found = {kind: [e.name for e in entries if e.kind == kind] for kind in KINDS}
        payload = {
            "folders": [str(d) for d in dirs],
            "models": found,
            "entries": [entry.to_json() for entry in entries],
        }
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    print("models folders: " + ", ".join(printable(d) for d in dirs))
    for kind in KINDS:
        mine = [e for e in entries if e.kind == kind]
        print(f"\n{kind} ({len(mine)})")
        rows = [_row(e, args.hash) for e in mine]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
        for entry, row in zip(mine, rows, strict=True):
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
            print("  " + "  ".join(cells).rstrip())
            if entry.note:
                print(f"    note: {printable(entry.note)}")
    return EXIT_OK


def _hashed(entry: ModelEntry) -> ModelEntry:
    try:
        return hash_entry(entry)
    except ModelError as exc:
        print(f"warning: {printable(exc)}", file=sys.stderr)
        return entry


def _row(entry: ModelEntry, with_hash: bool) -> list[str]:
    cells = [printable(entry.name), entry.summary or "-", human_size(entry.size)]
    cells.append(entry.precision or "-")
    if with_hash:
        cells.append(entry.sha256 or "-")
    return cells


def cmd_make_demo_model(args: argparse.Namespace) -> int:
    """Tiny models in a ComfyUI-style layout, so the folder works as a models folder."""
    import shutil
    import tempfile

    from nodes.models.demo import make_demo_inpainting_model, make_demo_model, make_demo_refiner
    from nodes.models.demo_upscale import make_demo_upscale_model

    if args.refiner and args.family != "sdxl":
        raise UsageError("--refiner refines SDXL: use it with --family sdxl")
    root = (args.dir or Settings.load().model_dirs()[0]).expanduser()
    with tempfile.TemporaryDirectory(dir=_existing(root)) as scratch:
        paths = make_demo_model(Path(scratch), args.family)
        moves = {
            paths.single_file: root / "checkpoints",
            paths.folder: root / "checkpoints",
            paths.controlnet: root / "controlnet",
            paths.controlnet_file: root / "controlnet",
            paths.lora: root / "loras",
            make_demo_upscale_model(Path(scratch)): root / "upscale_models",
        }
        if args.inpainting:
            inpainting = make_demo_inpainting_model(Path(scratch), args.family)
            moves[inpainting.single_file] = root / "checkpoints"
            moves[inpainting.folder] = root / "checkpoints"
        if args.refiner:
            refiner = make_demo_refiner(Path(scratch))
            moves[refiner.single_file] = root / "checkpoints"
            moves[refiner.folder] = root / "checkpoints"
        written = []
        for source, folder in moves.items():
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / source.name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            shutil.move(str(source), target)
            written.append(target)
    for target in written:
        print(target)
    checkpoint = root / "checkpoints" / paths.single_file.name
    print(
        f"\nTiny random weights: the images are noise, but every node runs.\n"
        f"Try: daguerre run resources/workflows/txt2img.json --models {root} "
        f"--set checkpoint.path={checkpoint.name} --set latent.width=64 "
        f"--set latent.height=64",
        file=sys.stderr,
    )
    return EXIT_OK


def _existing(path: Path) -> Path:
    """``path``, created if needed (the scratch folder is made inside it, so that moving
    the finished files is a rename on the same disk)."""
    path.mkdir(parents=True, exist_ok=True)
    return path
