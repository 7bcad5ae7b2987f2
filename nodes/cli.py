"""The ``daguerre`` command line: run, validate, list nodes and models, make a demo model.

``run``, ``validate``, ``info`` and ``export`` read any workflow file: a Daguerre workflow,
a ComfyUI workflow (UI or API JSON), or a PNG that carries one of them.

Exit codes: 0 success; 1 invalid workflow or failed run; 2 usage error; 130 cancelled
(Ctrl+C). ``run --json`` prints one JSON summary on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import nodes
from nodes.comfy import ensure_registered, open_any
from nodes.context import Environment
from nodes.events import (
    Event,
    NodeFailed,
    NodeFinished,
    NodeProgress,
    NodeStarted,
    Problem,
    RunFinished,
    RunStarted,
    RunStatus,
)
from nodes.executor import Executor, RunOutcome
from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.paths import MODEL_KIND_FOLDERS, FileFinder, list_model_files
from nodes.ports import PortType
from nodes.registry import REGISTRY, Registry
from nodes.runner import Runner
from nodes.settings import DEVICES, PRECISIONS, Settings
from nodes.validation import validate
from nodes.workflow import WorkflowError, to_dict

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130
COMMANDS = (
    "run",
    "validate",
    "info",
    "export",
    "templates",
    "nodes",
    "models",
    "make-demo-model",
)
"""The subcommands, for launchers that route ``daguerre COMMAND`` here."""


class UsageError(Exception):
    """Bad command-line input (exit 2)."""


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
        help="run once per value; repeated sweeps run every combination",
    )
    _common(run)
    run.add_argument("--out", type=Path, help="output folder (default: from settings)")
    run.add_argument("--device", choices=DEVICES, help="default: from settings (auto)")
    run.add_argument("--precision", choices=PRECISIONS, help="default: from settings (auto)")
    run.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    run.add_argument("--quiet", action="store_true", help="no progress on stderr")

    check = sub.add_parser("validate", help="check a workflow; exit 1 with one line per problem")
    check.add_argument("workflow", type=Path)
    _common(check)

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

    models = sub.add_parser("models", help="list the model files found in the models folders")
    models.add_argument("--json", action="store_true")
    _common(models)

    demo = sub.add_parser(
        "make-demo-model",
        help="write tiny random-weight models to try Daguerre without weights (they make noise)",
    )
    demo.add_argument(
        "dir", type=Path, nargs="?", help="a models folder (default: the first models folder)"
    )
    demo.add_argument("--family", choices=("sd15", "sdxl"), default="sd15")
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="models folder (repeatable; default: $DAGUERRE_MODELS, then settings)",
    )


def main(argv: Sequence[str] | None = None, registry: Registry | None = None) -> int:
    """Run the command line; returns the exit code (argparse's usage errors included)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2)
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or EXIT_OK
        return EXIT_USAGE
    reg = ensure_registered(load_builtin_nodes(registry if registry is not None else REGISTRY))
    try:
        if args.command == "run":
            return cmd_run(args, reg)
        if args.command == "validate":
            return cmd_validate(args, reg)
        if args.command == "info":
            return cmd_info(args, reg)
        if args.command == "export":
            return cmd_export(args, reg)
        if args.command == "templates":
            return cmd_templates(args)
        if args.command == "nodes":
            return cmd_nodes(args, reg)
        if args.command == "models":
            return cmd_models(args)
        if args.command == "make-demo-model":
            return cmd_make_demo_model(args)
    except UsageError as exc:
        print(f"daguerre: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # Ctrl+C outside a run's wait (loading, a second Ctrl+C)
        print("\ncancelled", file=sys.stderr)
        return EXIT_CANCELLED
    build_parser().print_help()
    return EXIT_OK


# --------------------------------------------------------------------------- nodes
def cmd_nodes(args: argparse.Namespace, registry: Registry) -> int:
    if args.json:
        json.dump(registry.schema(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    category = None
    listed = [cls for cls in registry if cls.listed]
    width = max((len(cls.type_id) for cls in listed), default=0) + 2
    for cls in listed:
        if cls.category != category:
            category = cls.category
            print(f"\n{category}")
        summary = " ".join(cls.description().split()).split(". ")[0].rstrip(".")
        print(f"  {cls.type_id:<{width}}{cls.title:<20}{summary}")
    return EXIT_OK


# --------------------------------------------------------------------------- validate
def cmd_validate(args: argparse.Namespace, registry: Registry) -> int:
    try:
        graph = load_file(args.workflow, registry)
    except WorkflowError as exc:
        print(exc)
        return EXIT_FAILED
    _print_notes(graph, sys.stderr)
    problems = validate(graph, _finder(args))
    for problem in problems:
        print(problem)
    if problems:
        return EXIT_FAILED
    print(f"ok: {len(graph)} nodes, {len(graph.links)} links", file=sys.stderr)
    return EXIT_OK


def _finder(args: argparse.Namespace) -> FileFinder:
    dirs = Settings.load().model_dirs(list(args.models))
    return FileFinder(dirs, base_dir=args.workflow.resolve().parent)


def load_file(path: Path, registry: Registry) -> Graph:
    """The workflow in any file ``run`` and ``validate`` accept (see :func:`open_any`)."""
    return open_any(path, registry)


def _print_notes(graph: Graph, stream: TextIO) -> None:
    """What an import from ComfyUI approximated or left out, one line each."""
    for note in graph.metadata.get("import_notes", []) or []:
        print(f"note: {note}", file=stream)


# --------------------------------------------------------------------------- info, export
def cmd_info(args: argparse.Namespace, registry: Registry) -> int:
    from nodes.comfy import open_file

    try:
        opened = open_file(args.workflow, registry)
    except WorkflowError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    graph = opened.graph
    summary = {
        "file": str(args.workflow),
        "kind": opened.kind,
        "record": opened.record,
        "workflow": _workflow_summary(graph),
    }
    if args.json:
        json.dump(summary, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    print(f"{args.workflow}: {opened.kind}")
    if opened.record is not None:
        print("\nreproducibility record:")
        for line in json.dumps(opened.record, indent=2, ensure_ascii=False).splitlines():
            print(f"  {line}")
    work = summary["workflow"]
    print(f"\nworkflow: {work['title'] or '(untitled)'}")
    print(f"  {len(work['nodes'])} nodes, {work['links']} links, outputs: ", end="")
    print(", ".join(work["outputs"]) or "none")
    for node in work["nodes"]:
        flag = " (bypassed)" if node["bypass"] else ""
        print(f"  {node['id']:<16}{node['type']:<32}{node['title']}{flag}")
    if work["unsupported"]:
        print("  not supported: " + ", ".join(work["unsupported"]))
    for note in work["notes"]:
        print(f"  note: {note}")
    return EXIT_OK


def _workflow_summary(graph: Graph) -> dict[str, Any]:
    from nodes.comfy import placeholder_types

    outputs = []
    for data in graph.nodes.values():
        cls = graph.registry.get(data.type)
        if cls is not None and cls.is_output and not data.bypass:
            outputs.append(data.id)
    return {
        "title": graph.metadata.get("title"),
        "description": graph.metadata.get("description"),
        "nodes": [
            {
                "id": data.id,
                "type": data.type,
                "title": graph.display_title(data.id),
                "bypass": data.bypass,
            }
            for data in graph.nodes.values()
        ],
        "links": len(graph.links),
        "outputs": outputs,
        "unsupported": placeholder_types(graph),
        "notes": list(graph.metadata.get("import_notes", []) or []),
    }


def cmd_export(args: argparse.Namespace, registry: Registry) -> int:
    from nodes.comfy import export_api
    from nodes.workflow import dumps
    from nodes.workflow.io import write_atomic

    try:
        graph = open_any(args.workflow, registry)
        warnings: list[str] = []
        if args.comfy_api:
            text = json.dumps(export_api(graph, warnings), indent=2, ensure_ascii=False) + "\n"
        else:
            text = dumps(graph)
    except WorkflowError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        write_atomic(args.output, text.encode("utf-8"))
    except OSError as exc:
        print(f"cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_templates(args: argparse.Namespace) -> int:
    from nodes.workflow.templates import list_templates

    found = list_templates()
    if args.json:
        payload = [t.to_json() for t in found]
        json.dump(payload, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    width = max((len(t.name) for t in found), default=0) + 2
    for template in found:
        print(f"{template.name:<{width}}{template.title}")
        print(f"{'':<{width}}{template.description}")
    return EXIT_OK


# --------------------------------------------------------------------------- models
def cmd_models(args: argparse.Namespace) -> int:
    dirs = Settings.load().model_dirs(list(args.models))
    found = {kind: list_model_files(kind, dirs) for kind in MODEL_KIND_FOLDERS if kind != "images"}
    if args.json:
        payload = {"folders": [str(d) for d in dirs], "models": found}
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    print("models folders: " + ", ".join(str(d) for d in dirs))
    for kind, names in found.items():
        print(f"\n{kind} ({len(names)})")
        for name in names:
            print(f"  {name}")
    return EXIT_OK


def cmd_make_demo_model(args: argparse.Namespace) -> int:
    """Tiny models in a ComfyUI-style layout, so the folder works as a models folder."""
    import shutil
    import tempfile

    from nodes.models.demo import make_demo_model

    root = (args.dir or Settings.load().model_dirs()[0]).expanduser()
    with tempfile.TemporaryDirectory(dir=_existing_parent(root)) as scratch:
        paths = make_demo_model(Path(scratch), args.family)
        moves = {
            paths.single_file: root / "checkpoints",
            paths.folder: root / "checkpoints",
            paths.controlnet: root / "controlnet",
            paths.controlnet_file: root / "controlnet",
        }
        lora = getattr(paths, "lora", None)
        if lora is not None:
            moves[lora] = root / "loras"
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


def _existing_parent(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------- run
def cmd_run(args: argparse.Namespace, registry: Registry) -> int:
    try:
        graph = load_file(args.workflow, registry)
    except WorkflowError as exc:
        print(exc, file=sys.stderr)
        return _finish_early(args, [Problem(None, None, str(exc))])
    if not args.quiet:
        _print_notes(graph, sys.stderr)
    problems: list[Problem] = []
    fixed = _parse_assignments(graph, args.sets, problems, sweep=False)
    sweeps = _parse_assignments(graph, args.sweeps, problems, sweep=True)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return _finish_early(args, problems)

    settings = Settings.load()
    env = Environment(
        output_dir=(args.out or settings.outputs()).expanduser(),
        resolve_file=_finder(args),
        device=args.device or settings.device,
        precision=args.precision or settings.precision,
        previews=False,  # nobody sees them here
    )
    runner = Runner(Executor(env=env), registry=registry)
    if not args.quiet:
        runner.subscribe(Progress(graph, sys.stderr))
    document = to_dict(graph)
    keys = list(sweeps)
    combos = list(itertools.product(*(sweeps[k] for k in keys))) if keys else [()]
    run_ids: list[int] = []
    outcomes: list[RunOutcome] = []
    cancelled = forced = False
    try:
        # Submitting is inside the try: the first run starts at once on the worker, and a
        # Ctrl+C may arrive before the last run is queued.
        for combo in combos:
            overrides = {**fixed, **dict(zip(keys, combo, strict=True))}
            label = ", ".join(f"{k}={v}" for k, v in zip(keys, combo, strict=True))
            run_ids.append(runner.submit(document, overrides, label=label))
        for run_id in run_ids:
            outcomes.append(_wait(runner, run_id))
    except KeyboardInterrupt:
        cancelled = True
        try:
            runner.clear_queue()
            runner.cancel()
            print("\ncancelling… (Ctrl+C again to quit at once)", file=sys.stderr)
            for run_id in run_ids[len(outcomes) :]:
                outcomes.append(_wait(runner, run_id))
        except KeyboardInterrupt:  # a node that ignores the cancel must not trap the user
            forced = True
    finally:
        # After a forced quit the worker may be stuck in a node: it is a daemon thread.
        runner.shutdown(timeout=0 if forced else 10.0)
    if not outcomes:  # cancelled before the first run was queued
        outcomes.append(RunOutcome(0, RunStatus.CANCELLED))
    if args.quiet and not args.json:  # without progress lines, still say what went wrong
        for outcome in outcomes:
            for problem in outcome.problems:
                print(problem, file=sys.stderr)
            if outcome.error and not outcome.problems:
                print(outcome.error, file=sys.stderr)

    if args.json:
        summaries = [o.to_json() for o in outcomes]
        payload = {"runs": summaries} if args.sweeps else summaries[0]
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    if cancelled or any(o.status == "cancelled" for o in outcomes):
        return EXIT_CANCELLED
    if any(o.status != "done" for o in outcomes):
        return EXIT_FAILED
    return EXIT_OK


def _wait(runner: Runner, run_id: int) -> RunOutcome:
    while True:  # short waits keep the main thread responsive to Ctrl+C
        try:
            return runner.wait(run_id, timeout=0.1)
        except TimeoutError:
            continue


def _finish_early(args: argparse.Namespace, problems: list[Problem]) -> int:
    if args.json:
        summary = RunOutcome(0, RunStatus.FAILED, problems=problems).to_json()
        json.dump({"runs": [summary]} if args.sweeps else summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return EXIT_FAILED


def _parse_assignments(
    graph: Graph, items: list[str], problems: list[Problem], *, sweep: bool
) -> dict[str, Any]:
    """``NODE.PARAM=VALUE`` (or ``=V1,V2``) texts → typed values per key."""
    result: dict[str, Any] = {}
    for item in items:
        key, eq, text = item.partition("=")
        node_id, dot, name = key.rpartition(".")
        if not eq or not dot or not node_id or not name:
            flag = "--sweep" if sweep else "--set"
            raise UsageError(f"{flag} {item!r}: expected NODE.PARAM=VALUE")
        if node_id not in graph.nodes:
            problems.append(Problem(node_id, name, "no such node in this workflow"))
            continue
        cls = graph.node_class(node_id)
        param = cls.param(name) if cls is not None else None
        if param is None:
            problems.append(Problem(node_id, name, "no such parameter"))
            continue
        link = graph.link_into(node_id, name)
        if link is not None:  # the link's value wins: the override would do nothing
            problems.append(
                Problem(
                    node_id,
                    name,
                    f"is fed by a link from {link.source}.{link.output}; set that node instead",
                )
            )
            continue
        texts = text.split(",") if sweep else [text]
        values = []
        for part in texts:
            try:
                value = param.parse(part)
            except ValueError:
                problems.append(
                    Problem(node_id, name, f"{part!r} is not a valid {param.type.value}")
                )
                continue
            if param.type is PortType.FLOAT and isinstance(value, int):
                value = float(value)
            problem = param.check(value)  # range and choices, before any run starts
            if problem is not None:
                problems.append(Problem(node_id, name, problem))
                continue
            values.append(value)
        result[key] = values if sweep else (values[0] if values else None)
    return result


class Progress:
    """Prints per-node progress to a terminal (a live bar) or a log (one line per node)."""

    def __init__(self, graph: Graph, stream: TextIO) -> None:
        self.graph = graph
        self.stream = stream
        self.live = stream.isatty() and os.environ.get("TERM") != "dumb"
        self.lock = threading.Lock()
        self.last_draw = 0.0

    def __call__(self, event: Event) -> None:
        with self.lock:
            self._handle(event)

    def _title(self, node_id: str) -> str:
        try:
            return f"{self.graph.display_title(node_id)} ({node_id})"
        except Exception:
            return node_id

    def _handle(self, event: Event) -> None:
        out = self.stream
        if isinstance(event, RunStarted):
            label = f"run {event.run_id}: {len(event.plan)} nodes"
            print(label, file=out)
        elif isinstance(event, NodeStarted) and self.live:
            out.write(f"\r\x1b[2K  … {self._title(event.node_id)}")
            out.flush()
        elif isinstance(event, NodeProgress) and self.live:
            now = time.monotonic()
            if now - self.last_draw < 0.05 and event.step < event.total:
                return
            self.last_draw = now
            width = 24
            filled = int(width * event.step / max(event.total, 1))
            bar = "█" * filled + "░" * (width - filled)
            out.write(f"\r\x1b[2K  … {self._title(event.node_id)} {bar} {event.step}/{event.total}")
            out.flush()
        elif isinstance(event, NodeFinished):
            state = "cached" if event.cached else f"{event.seconds:.2f}s"
            prefix = "\r\x1b[2K" if self.live else ""
            out.write(f"{prefix}  ✓ {self._title(event.node_id)} {state}\n")
        elif isinstance(event, NodeFailed):
            prefix = "\r\x1b[2K" if self.live else ""
            where = f".{event.field}" if event.field else ""
            out.write(f"{prefix}  ✗ {self._title(event.node_id)}{where}: {event.message}\n")
        elif isinstance(event, RunFinished):
            for problem in event.problems:
                print(f"  {problem}", file=out)
            tail = f": {event.error}" if event.error and not event.problems else ""
            print(
                f"run {event.run_id} {event.status.value} in {event.seconds:.2f}s{tail}", file=out
            )
        out.flush()


if __name__ == "__main__":
    sys.exit(main())
