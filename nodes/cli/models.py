"""``daguerre models`` (the model files found) and ``daguerre make-demo-model``.

The demo model needs torch: it is imported only when that command runs, so listing models
stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nodes.cli.common import EXIT_OK, UsageError, printable
from nodes.paths import MODEL_KIND_FOLDERS, list_model_files
from nodes.settings import Settings


def cmd_models(args: argparse.Namespace) -> int:
    dirs = Settings.load().model_dirs(list(args.models))
    found = {kind: list_model_files(kind, dirs) for kind in MODEL_KIND_FOLDERS if kind != "images"}
    if args.json:
        payload = {"folders": [str(d) for d in dirs], "models": found}
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    print("models folders: " + ", ".join(printable(d) for d in dirs))
    for kind, names in found.items():
        print(f"\n{kind} ({len(names)})")
        for name in names:
            print(f"  {printable(name)}")
    return EXIT_OK


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
