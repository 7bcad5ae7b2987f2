"""The executor: validate, plan, and run a graph with an output cache.

Semantics of one run:

1. **Validate** the whole graph (:func:`nodes.validation.review`), or with named targets
   only the part the run needs (:func:`upstream_graph`: "run up to here" is not stopped by
   an unfinished branch elsewhere). Any error ends the run as failed before a node runs;
   ``RunFinished.problems`` lists them all. A node that feeds no output node is not
   planned, so its problems are not errors: it gets advice (``RunOutcome.advice``), as in
   ComfyUI, which runs only what its outputs need.
2. **Plan**: the targets are the nodes the caller names, or else every output node
   (``is_output``) that is not bypassed. The plan is the targets and everything upstream
   of them, in a deterministic topological order (networkx), minus bypassed nodes and
   annotations. A bypassed node forwards, for each of its outputs, its first connected
   input of the same type.
3. **Execute** in plan order. The cancel token is checked before each node (and offered
   to nodes through their context). A node whose signature is in the output cache is not
   run: its outputs (and the results it showed) are reused and it is reported cached.
   A node's exception fails the run with an error on that node and field; outputs cached
   before that stay valid, and nothing of the failed node is stored.

   A value that arrives through a link into a param is judged before the node runs, as
   validation judges a typed one (:func:`nodes.validation.linked_value_problems`: type,
   range, choices, finite numbers, files, the node's cross-param rules): a bad one fails
   the node with validation's message, naming the receiving node and field.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from nodes.advice import Advice
from nodes.api import Node, NodeError
from nodes.cache import OutputCache
from nodes.context import Cancelled, CancelToken, Environment, NodeContext
from nodes.events import (
    Event,
    NodeFailed,
    NodeFinished,
    NodeResult,
    NodeStarted,
    Problem,
    RunFinished,
    RunStarted,
    RunStatus,
)
from nodes.graph import Graph, Link
from nodes.ports import PortType
from nodes.validation import linked_value_problems, pass_through_input, review


@dataclass(slots=True)
class NodeReport:
    cached: bool = False
    seconds: float = 0.0
    error: str | None = None


@dataclass(slots=True)
class RunOutcome:
    """The plain-data summary of a run (what ``daguerre run --json`` prints)."""

    run_id: int
    status: RunStatus
    seconds: float = 0.0
    plan: tuple[str, ...] = ()
    nodes: dict[str, NodeReport] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    error: str | None = None
    values: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    """Outputs of the nodes the caller asked to ``capture`` (in-process callers only)."""
    advice: list[Advice] = field(default_factory=list)
    """What validation advised (nodes that feed no output, so did not run)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "outputs": list(self.outputs),
            "nodes": {
                node_id: {"cached": r.cached, "seconds": round(r.seconds, 6), "error": r.error}
                for node_id, r in self.nodes.items()
            },
            "errors": [
                {"node": p.node_id, "field": p.field, "message": p.message} for p in self.problems
            ],
        }


@dataclass(slots=True)
class _RunState:
    """What the nodes of one run share while it executes."""

    run_id: int
    send: Callable[[Event], None]
    token: CancelToken
    outcome: RunOutcome
    sources: dict[tuple[str, str], tuple[str, str]]
    """Bypassed (node, output) → the (node, output) it forwards."""
    capture: frozenset[str] = frozenset()
    incoming: dict[str, dict[str, Link]] = field(default_factory=dict)
    signatures: dict[tuple[str, str], str] = field(default_factory=dict)
    values: dict[tuple[str, str], Any] = field(default_factory=dict)


class PlanError(Exception):
    """The requested targets cannot be planned (unknown or bypassed node, no outputs)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def plan(graph: Graph, targets: Iterable[str] | None = None) -> list[str]:
    """Node ids to run for ``targets`` (default: every output node), in order."""
    registry = graph.registry
    if targets is None:
        chosen = []
        for data in graph.nodes.values():
            cls = registry.get(data.type)
            if cls is not None and cls.is_output and cls.executable and not data.bypass:
                chosen.append(data.id)
        if not chosen:
            raise PlanError(
                Problem(
                    None,
                    None,
                    "nothing to run: the graph has no output node "
                    "(such as Save Image, Preview or Display)",
                )
            )
    else:
        chosen = list(targets)
        for node_id in chosen:
            if node_id not in graph.nodes:
                raise PlanError(Problem(node_id, None, "no such node to run"))
            if graph.nodes[node_id].bypass:
                raise PlanError(Problem(node_id, None, "this node is bypassed"))
    needed = graph.upstream(chosen)
    order = {node_id: i for i, node_id in enumerate(graph.nodes)}
    dag = nx.DiGraph()
    dag.add_nodes_from(needed)
    dag.add_edges_from(
        (link.source, link.target)
        for link in graph.links
        if link.source in needed and link.target in needed
    )
    result = []
    for node_id in nx.lexicographical_topological_sort(dag, key=order.__getitem__):
        data = graph.nodes[node_id]
        cls = registry.get(data.type)
        if data.bypass or cls is None or not cls.executable:
            continue
        result.append(node_id)
    return result


def upstream_graph(graph: Graph, targets: Iterable[str]) -> Graph:
    """A copy of the part of ``graph`` a run of ``targets`` needs: those nodes, everything
    upstream of them and the links among them (unknown ids are ignored; planning reports
    them). Its signatures equal the whole graph's, so a partial run shares the cache."""
    part = Graph(graph.registry)
    needed = graph.upstream(targets)
    for node_id, data in graph.nodes.items():
        if node_id in needed:
            part.nodes[node_id] = data.copy()
    for link in graph.links:
        if link.target in needed:
            part.insert_link(link)
    part.metadata = dict(graph.metadata)
    return part


class Executor:
    """Runs graphs one at a time, keeping outputs in ``cache`` between runs."""

    def __init__(self, cache: OutputCache | None = None, env: Environment | None = None) -> None:
        self.cache = cache if cache is not None else OutputCache()
        self.env = env if env is not None else Environment()

    def run(
        self,
        graph: Graph,
        *,
        targets: Iterable[str] | None = None,
        run_id: int = 0,
        emit: Callable[[Event], None] | None = None,
        cancel: CancelToken | None = None,
        capture: Iterable[str] = (),
    ) -> RunOutcome:
        """Run ``graph``; ``capture`` names nodes whose outputs land in ``outcome.values``."""
        send = emit or _ignore
        token = cancel or CancelToken()
        started = time.perf_counter()

        if targets is not None:
            targets = list(targets)  # read twice: for validation, then for the plan
        judged = graph if targets is None else upstream_graph(graph, targets)
        findings = review(judged, self.env.resolve_file, targets, rules=False)  # gates on errors
        problems = findings.errors
        node_plan: list[str] = []
        if not problems:
            try:
                node_plan = plan(graph, targets)
            except PlanError as exc:
                problems = [exc.problem]
        if problems:
            seconds = time.perf_counter() - started
            send(
                RunFinished(
                    run_id, RunStatus.FAILED, seconds, "the graph is invalid", tuple(problems)
                )
            )
            return RunOutcome(
                run_id,
                RunStatus.FAILED,
                seconds,
                problems=problems,
                error="the graph is invalid",
                advice=findings.advice,
            )

        outcome = RunOutcome(run_id, RunStatus.DONE, plan=tuple(node_plan), advice=findings.advice)
        send(RunStarted(run_id, outcome.plan))
        state = _RunState(
            run_id, send, token, outcome, _pass_through_sources(graph), frozenset(capture)
        )
        for link in graph.links:
            state.incoming.setdefault(link.target, {})[link.input] = link
        status = RunStatus.DONE
        error: str | None = None
        for node_id in node_plan:
            if token.cancelled:
                status = RunStatus.CANCELLED
                break
            failure = self._run_node(graph, node_id, state)
            if failure is not None:
                status, error = failure
                break
        outcome.status = status
        outcome.error = error
        outcome.seconds = time.perf_counter() - started
        send(RunFinished(run_id, status, outcome.seconds, error))
        return outcome

    def _run_node(
        self, graph: Graph, node_id: str, state: _RunState
    ) -> tuple[RunStatus, str | None] | None:
        run_id, send, token, outcome = state.run_id, state.send, state.token, state.outcome
        sources, signatures, values = state.sources, state.signatures, state.values
        incoming = state.incoming.get(node_id, {})
        data = graph.nodes[node_id]
        cls = graph.registry[data.type]
        send(NodeStarted(run_id, node_id))
        began = time.perf_counter()

        signature = self._signature(cls, data.params, incoming, sources, signatures)
        for out in cls.outputs:
            signatures[(node_id, out.name)] = f"{signature}/{out.name}"

        entry = self.cache.get(signature)
        if entry is not None:
            for out, value in zip(cls.outputs, entry.outputs, strict=True):
                values[(node_id, out.name)] = value
            if node_id in state.capture:
                outcome.values[node_id] = entry.outputs
            for record in entry.results:
                again = NodeResult(run_id, node_id, record.files, record.images, record.text)
                send(again)
                outcome.outputs.extend(record.files)
            seconds = time.perf_counter() - began
            outcome.nodes[node_id] = NodeReport(cached=True, seconds=seconds)
            send(NodeFinished(run_id, node_id, True, seconds))
            return None

        ctx = NodeContext(self.env, run_id, node_id, send, token, graph)
        try:
            kwargs = self._arguments(node_id, cls, data.params, incoming, sources, values)
            token.check()
            result = cls().run(ctx, **kwargs)
            outputs = _normalise_outputs(cls, result)
        except Cancelled:
            outcome.nodes[node_id] = NodeReport(seconds=time.perf_counter() - began)
            return RunStatus.CANCELLED, None
        except Exception as exc:  # a node's failure must never take the engine down
            message = exc.message if isinstance(exc, NodeError) else str(exc) or repr(exc)
            field_name = exc.field if isinstance(exc, NodeError) else None
            seconds = time.perf_counter() - began
            outcome.nodes[node_id] = NodeReport(seconds=seconds, error=message)
            outcome.problems.append(Problem(node_id, field_name, message))
            send(NodeFailed(run_id, node_id, field_name, message, type(exc).__name__))
            title = graph.display_title(node_id)
            return RunStatus.FAILED, f"{title} ({node_id}) failed: {message}"

        for out, value in zip(cls.outputs, outputs, strict=True):
            values[(node_id, out.name)] = value
        self.cache.put(signature, outputs, tuple(ctx.results))
        if node_id in state.capture:
            outcome.values[node_id] = outputs
        for record in ctx.results:
            outcome.outputs.extend(record.files)
        seconds = time.perf_counter() - began
        outcome.nodes[node_id] = NodeReport(seconds=seconds)
        send(NodeFinished(run_id, node_id, False, seconds))
        return None

    def _signature(
        self,
        cls: type[Node],
        params: Mapping[str, Any],
        incoming: Mapping[str, Link],
        sources: Mapping[tuple[str, str], tuple[str, str]],
        signatures: Mapping[tuple[str, str], str],
    ) -> str:
        own = {}
        for param in cls.params:
            if param.name in incoming:
                continue
            value = params.get(param.name, param.default)
            own[param.name] = value
            if param.file_kind is not None and value:
                own[param.name + "@stamp"] = _file_stamp(self.env, param.file_kind, value)
        named = cls.cache_files(own, self.env.resolve_file)
        if named:
            own["@files"] = [[str(path), _path_stamp(path)] for path in named]
        feeds = {
            name: signatures[_resolve(sources, link.source, link.output)]
            for name, link in incoming.items()
        }
        # Where the work runs is part of what it gives (a CPU fp32 image is not a GPU fp16
        # one): changing the device, precision or acceleration re-runs, it never reuses.
        placement = (self.env.device, self.env.precision, self.env.acceleration)
        text = json.dumps(
            [cls.type_id, cls.version, own, feeds, placement], sort_keys=True, default=repr
        )
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    def _arguments(
        self,
        node_id: str,
        node_cls: type[Node],
        params: Mapping[str, Any],
        incoming: Mapping[str, Link],
        sources: Mapping[tuple[str, str], tuple[str, str]],
        values: Mapping[tuple[str, str], Any],
    ) -> dict[str, Any]:
        """The keyword arguments of ``node_cls.run``; a NodeError on the first param whose
        linked value validation would refuse as a typed one."""
        kwargs: dict[str, Any] = {}
        for port in node_cls.inputs:
            link = incoming.get(port.name)
            value = None if link is None else values[_resolve(sources, link.source, link.output)]
            kwargs[port.name] = _widened(port.type, value)
        linked: dict[str, Any] = {}
        for param in node_cls.params:
            link = incoming.get(param.name)
            if link is None:
                value = params.get(param.name, param.default)
            else:
                value = linked[param.name] = values[_resolve(sources, link.source, link.output)]
            kwargs[param.name] = value
        if linked:
            problems = linked_value_problems(
                node_id, node_cls, params, linked, self.env.resolve_file
            )
            if problems:
                raise NodeError(problems[0].message, problems[0].field)
        for param in node_cls.params:  # checked first: a huge int cannot become a float
            kwargs[param.name] = _widened(param.type, kwargs[param.name])
        return kwargs


def _widened(kind: PortType, value: Any) -> Any:
    """An INT arrives in a FLOAT port or param as a float."""
    return float(value) if kind is PortType.FLOAT and type(value) is int else value


def _pass_through_sources(graph: Graph) -> dict[tuple[str, str], tuple[str, str]]:
    """For each output of a bypassed node, the (node, output) of a node that runs which it
    forwards, through chains of bypassed nodes (followed once each, so a chain of 20,000
    costs 20,000 steps, not 20,000 per reader)."""
    sources: dict[tuple[str, str], tuple[str, str]] = {}
    for data in graph.nodes.values():
        if not data.bypass:
            continue
        cls = graph.registry.get(data.type)
        if cls is None:
            continue
        incoming = {link.input: link for link in graph.links_into(data.id)}
        for out in cls.outputs:
            name = pass_through_input(cls, out.type, incoming)
            if name is not None:
                link = incoming[name]
                sources[(data.id, out.name)] = (link.source, link.output)
    for start in sources:
        trail = []
        key = start
        seen = set()
        while key in sources and key not in seen:  # a chain of bypassed nodes
            seen.add(key)
            trail.append(key)
            key = sources[key]
        for step in trail:  # every key of the chain now points at its end
            sources[step] = key
    return sources


def _resolve(
    sources: Mapping[tuple[str, str], tuple[str, str]], node_id: str, output: str
) -> tuple[str, str]:
    key = (node_id, output)
    return sources.get(key, key)


def _normalise_outputs(cls: type[Node], result: Any) -> tuple[Any, ...]:
    if isinstance(result, Mapping):
        missing = [o.name for o in cls.outputs if o.name not in result]
        if missing:
            raise NodeError(f"{cls.title} returned no value for output(s) {', '.join(missing)}")
        return tuple(result[o.name] for o in cls.outputs)
    if result is None and not cls.outputs:
        return ()
    if not isinstance(result, tuple) or len(result) != len(cls.outputs):
        raise NodeError(
            f"{cls.title} returned {type(result).__name__}, expected a tuple of "
            f"{len(cls.outputs)} output(s)"
        )
    return result


def _file_stamp(env: Environment, kind: str, value: str) -> list[int] | None:
    """Size and mtime of a file param, so replacing the file invalidates the cache."""
    path = env.resolve_file(kind, value)
    return None if path is None else _path_stamp(path)


def _path_stamp(path: Any) -> list[int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def _ignore(event: Event) -> None:
    return None
