"""The ``daguerre`` command line's arguments: one argparse parser for every subcommand.

Kept apart from the commands so that a launcher can ask which subcommands exist without
loading what they run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nodes
from nodes.cluster_address import valid_cluster
from nodes.settings import ACCELERATIONS, DEVICES, PRECISIONS, valid_device

COMMANDS = (
    "run",
    "validate",
    "info",
    "export",
    "templates",
    "nodes",
    "models",
    "make-demo-model",
    "download",
)
"""The subcommands, for launchers that route ``daguerre COMMAND`` here."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="daguerre",
        description="Daguerre: diffusion image generation with node graphs.",
    )
    parser.add_argument("--version", action="version", version=f"daguerre {nodes.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="validate and run a workflow headless")
    run.add_argument(
        "workflow", type=Path, help="workflow file: Daguerre or ComfyUI JSON, or a PNG"
    )
    run.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NODE.PARAM=VALUE",
        help="override a param (repeatable)",
    )
    run.add_argument(
        "--sweep",
        dest="sweeps",
        action="append",
        default=[],
        metavar="NODE.PARAM=V1,V2,...",
        help="run once per value; repeated sweeps run every combination (at most 10,000). "
        "A value with a comma: write it as \\, or give a JSON list, "
        'NODE.PARAM=\'["a, b", "c"]\'',
    )
    _add_models_option(run)
    run.add_argument("--out", type=Path, help="output folder (default: from settings)")
    run.add_argument(
        "--device",
        type=device_name,
        metavar="{" + ",".join((*DEVICES, "cuda:N")) + "}",
        help="cuda:N is the GPU with index N (default: from settings, auto)",
    )
    run.add_argument("--precision", choices=PRECISIONS, help="default: from settings (auto)")
    run.add_argument(
        "--acceleration",
        choices=ACCELERATIONS,
        help="how the denoiser runs on CUDA (default: $DAGUERRE_ACCELERATION, then settings)",
    )
    run.add_argument(
        "--cluster",
        type=cluster_address,
        metavar="{local,auto,ray://HOST:PORT}",
        help="run the jobs on a Ray cluster: auto is the running one (`ray start --head`), "
        "else a new local one (default: from settings, local)",
    )
    run.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="actors on the cluster (default: one per GPU, else one per CPU)",
    )
    run.add_argument(
        "--shared-output",
        action="store_true",
        help="with --cluster: the workers write images straight into --out, a folder every "
        "machine sees at that path (numbered as they finish), instead of sending them back",
    )
    run.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    run.add_argument("--quiet", action="store_true", help="no progress on stderr")
    _add_advice_option(run)

    check = sub.add_parser("validate", help="check a workflow; exit 1 with one line per problem")
    check.add_argument("workflow", type=Path)
    _add_models_option(check)
    check.add_argument(
        "--json", action="store_true", help="print errors and advice as JSON on stdout"
    )
    _add_advice_option(check)

    info = sub.add_parser(
        "info", help="what a workflow file or PNG holds: its record and workflow summary"
    )
    info.add_argument("workflow", type=Path)
    info.add_argument("--json", action="store_true", help="print it as JSON")

    export = sub.add_parser("export", help="convert a workflow to ComfyUI API or Daguerre JSON")
    export.add_argument("workflow", type=Path)
    target = export.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--comfy-api", action="store_true", help="ComfyUI API JSON (what its /prompt runs)"
    )
    target.add_argument("--daguerre", action="store_true", help="a Daguerre workflow file")
    export.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")

    templates = sub.add_parser("templates", help="list the shipped workflow templates")
    templates.add_argument("--json", action="store_true")

    listing = sub.add_parser("nodes", help="list the registered node types")
    listing.add_argument("--json", action="store_true", help="full schemas as JSON")

    models = sub.add_parser(
        "models", help="list the model files in the models folders: family, size, precision"
    )
    models.add_argument("--json", action="store_true", help="every field, metadata too")
    models.add_argument(
        "--hash", action="store_true", help="compute missing SHA-256 digests (cached)"
    )
    _add_models_option(models)

    demo = sub.add_parser(
        "make-demo-model",
        help="write tiny random-weight models to try Daguerre without weights (they make noise)",
    )
    demo.add_argument(
        "dir", type=Path, nargs="?", help="a models folder (default: the first models folder)"
    )
    demo.add_argument("--family", choices=("sd15", "sdxl"), default="sd15")
    demo.add_argument(
        "--inpainting",
        action="store_true",
        help="also write an inpainting model (a 9-channel UNet) of the family",
    )
    demo.add_argument(
        "--refiner",
        action="store_true",
        help="also write an SDXL refiner (with --family sdxl), to try the base → refiner hand-off",
    )
    _add_download(sub)
    return parser


def _add_download(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    get = sub.add_parser(
        "download",
        help="download a starter model, or a file or repo from Hugging Face, into the models "
        "folder (resumable; checked against the hub's hash)",
    )
    get.add_argument(
        "source",
        nargs="?",
        metavar="STARTER|REPO_ID[/FILE]|URL",
        help="a starter (see --list), owner/repo, owner/repo/file or a huggingface.co URL",
    )
    get.add_argument(
        "--kind",
        choices=("checkpoints", "lora", "controlnet", "vae", "upscale_models", "embeddings"),
        help="the models subfolder for a repo or file (default: checkpoints)",
    )
    get.add_argument("--list", action="store_true", help="list the starter models")
    get.add_argument(
        "--login",
        action="store_true",
        help="read a Hugging Face token from stdin and store it (for gated or private repos)",
    )
    get.add_argument("--quiet", action="store_true", help="no progress on stderr")
    _add_models_option(get)


def device_name(value: str) -> str:
    """``--device``: a name from the settings' menu or ``cuda:N``. A type check rather than
    ``choices``, since the GPU index is open-ended; a bad name is still a usage error
    (exit 2) before any workflow is read."""
    if not valid_device(value):
        raise argparse.ArgumentTypeError(
            f"invalid device {value!r}: choose {', '.join(DEVICES)}, or cuda:N for the GPU "
            "with index N (e.g. cuda:1)"
        )
    return value


def cluster_address(value: str) -> str:
    """``--cluster``: local, auto or ``ray://HOST:PORT`` (a usage error otherwise)."""
    if not valid_cluster(value):
        raise argparse.ArgumentTypeError(
            f"invalid cluster {value!r}: choose local, auto or ray://HOST:PORT"
        )
    return value


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return number


def _add_advice_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-advice",
        action="store_true",
        help="hide advice (steps, cfg, prompt, size... hints that never stop a run)",
    )


def _add_models_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="models folder (repeatable; default: $DAGUERRE_MODELS, then settings)",
    )
