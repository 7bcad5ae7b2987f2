"""``daguerre run``: validate, then run a workflow headless — with ``--set`` overrides and
``--sweep`` runs in one process (sharing caches), a JSON summary, and Ctrl+C handling.

Every run is submitted to one runner (:class:`~nodes.run_protocol.RunnerProtocol`: the
local :class:`~nodes.runner.Runner`, whose worker thread runs them in order, or a
cluster's); the main thread only waits, in short slices, so that Ctrl+C reaches it. A first
Ctrl+C cancels (the queued runs too) and waits for the worker; a second one quits at once,
even if a node never checks for cancellation.

A sweep is counted before it is expanded (more than
:data:`~nodes.cli.common.MAX_SWEEP_RUNS` runs is a usage error) and then expanded lazily by
the engine (:func:`nodes.sweeps.expand_sweep`, which the app's batches use too): one
combination at a time, with only :data:`RUNS_AHEAD` runs (or three per worker of a cluster)
queued ahead.

``--cluster auto|ray://HOST:PORT`` (default: the ``cluster`` setting, ``local``) runs the
jobs on Ray actors instead (:mod:`nodes.cluster`): the runner is chosen by
:func:`nodes.run_protocol.open_runner`, and this module only sees the runner protocol.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from nodes.advice import Advice
from nodes.cli.advice import advice_context, advice_record, print_advice_lines
from nodes.cli.batch_progress import BatchProgress
from nodes.cli.common import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_OK,
    MAX_SWEEP_RUNS,
    UsageError,
    load_file,
    model_finder,
    print_notes,
    printable,
)
from nodes.cli.progress import Progress
from nodes.comfy.png_texts import comfy_png_texts
from nodes.context import Environment
from nodes.events import Problem, RunStatus
from nodes.executor import RunOutcome
from nodes.graph import Graph
from nodes.ports import PortType
from nodes.registry import Registry
from nodes.run_protocol import RunnerProtocol, is_local, open_runner
from nodes.run_spec import EnvironmentSpec, OutputPolicy
from nodes.runner import apply_overrides
from nodes.settings import Settings, acceleration_from_env
from nodes.sweeps import expand_sweep
from nodes.sweeps import sweep_count as sweeps_made
from nodes.validation import review
from nodes.workflow import WorkflowError, to_dict


def cmd_run(args: argparse.Namespace, registry: Registry) -> int:
    try:
        graph = load_file(args.workflow, registry)
    except WorkflowError as exc:
        print(printable(exc), file=sys.stderr)
        return _finish_early(args, [Problem(None, None, str(exc))])
    if not args.quiet:
        print_notes(graph, sys.stderr)
    problems: list[Problem] = []
    fixed = parse_assignments(graph, args.sets, problems, sweep=False)
    sweeps = parse_assignments(graph, args.sweeps, problems, sweep=True)
    advice = [] if getattr(args, "no_advice", False) else run_advice(graph, args, fixed)
    if problems:
        for problem in problems:
            print(printable(problem), file=sys.stderr)
        if not args.quiet:
            print_advice_lines(advice, sys.stderr)
        return _finish_early(args, problems, advice)

    count = sweep_count(sweeps)
    settings = Settings.load()
    cluster = getattr(args, "cluster", None) or settings.cluster
    runner = _open_runner(args, settings, cluster, registry)
    if not args.quiet:
        local = is_local(cluster)
        runner.subscribe(Progress(graph, sys.stderr) if local else BatchProgress(count, sys.stderr))
    document = to_dict(graph)
    # Lazy (see the module docstring): memory per run in flight, not per run of the sweep.
    shared = getattr(args, "shared_output", False) and not is_local(cluster)
    output = OutputPolicy.SHARED if shared else OutputPolicy.CLIENT
    specs = expand_sweep(document, fixed, sweeps, output=output)
    # the thread runner: RUNS_AHEAD; a cluster's actors each run one, hold one, and get one
    ahead = RUNS_AHEAD if runner.slots <= 1 else 3 * runner.slots
    run_ids: list[int] = []
    outcomes: list[RunOutcome] = []
    cancelled = forced = False
    try:
        # Submitting is inside the try: the first run starts at once on the worker, and a
        # Ctrl+C may arrive before the last run is queued.
        for spec in specs:
            run_ids.append(runner.submit_spec(spec))
            if len(run_ids) - len(outcomes) >= ahead:
                outcomes.append(_wait(runner, run_ids[len(outcomes)]))
        for run_id in run_ids[len(outcomes) :]:
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
    # A cancelled sweep still reports each of its runs: those never queued were cancelled.
    outcomes.extend(RunOutcome(0, RunStatus.CANCELLED) for _ in range(count - len(outcomes)))
    if args.quiet and not args.json:  # without progress lines, still say what went wrong
        for outcome in outcomes:
            for problem in outcome.problems:
                print(printable(problem), file=sys.stderr)
            if outcome.error and not outcome.problems:
                print(printable(outcome.error), file=sys.stderr)
    if not args.quiet:  # after the errors, as validate prints it
        print_advice_lines(advice, sys.stderr)

    if args.json:
        summaries = [o.to_json() for o in outcomes]
        payload = {"runs": summaries} if args.sweeps else summaries[0]
        payload["advice"] = [advice_record(a) for a in advice]
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    if cancelled or any(o.status == "cancelled" for o in outcomes):
        return EXIT_CANCELLED
    if any(o.status != "done" for o in outcomes):
        return EXIT_FAILED
    return EXIT_OK


RUNS_AHEAD = 2
"""Runs of a sweep submitted ahead of the one being waited for: the worker always has the
next one, and the queue never holds the whole sweep."""


def run_advice(graph: Graph, args: argparse.Namespace, fixed: dict[str, Any]) -> list[Advice]:
    """The advice on this run, as ``daguerre validate`` gives it (the nodes it leaves out,
    the value rules), judged with the ``--set`` values in place; ``--sweep`` values are
    not judged one by one."""
    judged = graph.copy()
    apply_overrides(judged, {k: v for k, v in fixed.items() if v is not None})
    return review(judged, model_finder(args), context=advice_context(args)).advice


def sweep_count(sweeps: dict[str, list[Any]]) -> int:
    """How many runs the sweeps make (their cartesian product; 1 without sweeps), counted
    before anything is expanded: more than :data:`MAX_SWEEP_RUNS` is a usage error."""
    count = sweeps_made(sweeps)
    if count > MAX_SWEEP_RUNS:
        sizes = " × ".join(str(len(values)) for values in sweeps.values())
        raise UsageError(
            f"--sweep makes {count:,} runs ({sizes}); at most {MAX_SWEEP_RUNS:,} runs are "
            "allowed in one command: split the sweep"
        )
    return count


def environment_spec(
    args: argparse.Namespace, settings: Settings, *, remote: bool = False
) -> EnvironmentSpec:
    """The runs' environment as plain data: each flag given wins over the settings. For
    acceleration the order is ``--acceleration``, then ``$DAGUERRE_ACCELERATION``, then the
    setting. With ``remote`` (a cluster's workers, whose working folder is not ours) every
    folder is absolute and this folder is searched for model files last."""
    finder = model_finder(args)
    dirs = [Path(d) for d in finder.models_dirs]
    if remote:
        dirs = [d.expanduser().resolve() for d in dirs] + [Path.cwd()]
    out = (args.out or settings.outputs()).expanduser()
    return EnvironmentSpec(
        models_dirs=tuple(str(d) for d in dirs),
        base_dir=str(finder.base_dir) if finder.base_dir is not None else None,
        output_dir=str(out.resolve() if remote else out),
        device=args.device or settings.device,
        precision=args.precision or settings.precision,
        acceleration=args.acceleration or acceleration_from_env(settings.acceleration),
        previews=False,  # nobody sees them here
        # saved images open in ComfyUI too
        png_texts=f"{comfy_png_texts.__module__}:{comfy_png_texts.__name__}",
    )


def environment(args: argparse.Namespace, settings: Settings) -> Environment:
    """The runs' environment in this process (see :func:`environment_spec`)."""
    return environment_spec(args, settings).build()


def _open_runner(
    args: argparse.Namespace, settings: Settings, cluster: str, registry: Registry
) -> RunnerProtocol:
    """The thread runner, or the cluster's (a usage error when Ray is missing or the
    cluster cannot be reached)."""
    local = is_local(cluster)
    spec = environment_spec(args, settings, remote=not local)
    workers = getattr(args, "workers", None) or settings.cluster_workers or None
    try:
        return open_runner(
            cluster, spec, registry, workers=workers, notify=None if args.quiet else _say_failure
        )
    except ImportError as exc:
        raise UsageError(f"--cluster needs Ray: pip install 'daguerre[cluster]' ({exc})") from None
    except (ConnectionError, ValueError) as exc:
        raise UsageError(f"cannot use the cluster {cluster!r}: {exc}") from None


def _say_failure(failure: Any) -> None:
    then = "retrying on another worker" if failure.retried else "not retried again"
    print(
        f"run {failure.run_id}: its worker died ({printable(failure.reason)}); {then}",
        file=sys.stderr,
    )


def _wait(runner: RunnerProtocol, run_id: int) -> RunOutcome:
    while True:  # short waits keep the main thread responsive to Ctrl+C
        try:
            return runner.wait(run_id, timeout=0.1)
        except TimeoutError:
            continue


def _finish_early(
    args: argparse.Namespace, problems: list[Problem], advice: list[Advice] | None = None
) -> int:
    """Nothing ran: the summary still has the documented shape (a failed run)."""
    if args.json:
        summary = RunOutcome(0, RunStatus.FAILED, problems=problems).to_json()
        payload = {"runs": [summary]} if args.sweeps else summary
        payload["advice"] = [advice_record(a) for a in advice or []]
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return EXIT_FAILED


def sweep_values(text: str) -> list[str]:
    """The value texts of ``--sweep NODE.PARAM=TEXT``, for ``Param.parse``.

    ``TEXT`` is a JSON list (``["a, b", "c"]``: any value, commas included) or values
    separated by commas, where ``\\,`` is a comma inside a value. A text that starts with
    ``[`` but is not a JSON list is read the comma way, as before JSON lists were accepted.
    ValueError for a JSON list that is empty or holds something other than strings,
    numbers and booleans.
    """
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            items = None
        if isinstance(items, list):
            return _json_values(items)
    values: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            current.append("," if following == "," else char + following)
        elif char == ",":
            values.append("".join(current))
            current = []
        else:
            current.append(char)
    values.append("".join(current))
    return values


def _json_values(items: list[Any]) -> list[str]:
    if not items:
        raise ValueError("the JSON list of values is empty: nothing to sweep")
    texts = []
    for item in items:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, bool | int | float):
            texts.append(json.dumps(item))
        else:
            raise ValueError(
                f"{json.dumps(item)} in the JSON list is not a string, number or boolean"
            )
    return texts


def parse_assignments(
    graph: Graph, items: list[str], problems: list[Problem], *, sweep: bool
) -> dict[str, Any]:
    """``NODE.PARAM=VALUE`` (or ``=V1,V2``, or a JSON list; see :func:`sweep_values`)
    texts → typed values per key.

    Values are parsed and range-checked here, before any run starts, and every bad one is
    added to ``problems`` (so all are reported at once); only a malformed text is a usage
    error.
    """
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
        if sweep:
            try:
                texts = sweep_values(text)
            except ValueError as exc:
                problems.append(Problem(node_id, name, str(exc)))
                continue
        else:
            texts = [text]
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
