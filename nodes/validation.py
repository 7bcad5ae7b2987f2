"""Validation before work: every problem in a graph, found at once.

:func:`validate` never raises on a bad graph and never stops at the first problem: it
returns one :class:`~nodes.events.Problem` per fault, each naming the node and the field
(input or param) so the UI can highlight both. A run never starts while it returns any
(see docs/ARCHITECTURE.md, "Validation before work").

It costs time in proportion to the size of the graph, so a hostile file (tens of thousands
of nodes in a chain, 10 MB of JSON) is judged in about a second: links are grouped by node
once, versions are parsed once per distinct text, and cycles are looked for with networkx
only when a linear pass finds that some node lies on or after one.

The executor judges values that arrive through links with the same words, when they arrive
(:func:`linked_value_problems`): a linked param is known only when the graph runs.

:func:`review` is what a run is gated on: the same problems, split into the errors that
block a run and :class:`~nodes.advice.Advice` that does not. A node that feeds no output
node is not run (the executor plans only what its outputs need), so its problems are not
errors: it gets advice instead (:func:`nodes.advice.scratch_advice`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from nodes.advice import Findings, scratch_advice, scratch_nodes
from nodes.api import Node, Param, parse_version
from nodes.events import Problem
from nodes.graph import Graph, NodeData
from nodes.paths import FileResolver, default_resolver
from nodes.ports import PortType, can_connect

if TYPE_CHECKING:
    from nodes.advice.rules import AdviceContext

__all__ = [
    "FileResolver",
    "default_resolver",
    "linked_value_problems",
    "pass_through_input",
    "review",
    "validate",
    "value_problem",
]


def validate(graph: Graph, resolve_file: FileResolver | None = None) -> list[Problem]:
    """All problems of ``graph``, in node order, then graph-wide ones (cycles)."""
    resolve = resolve_file or default_resolver
    problems: list[Problem] = []
    links_into: dict[str, list] = {}
    read: dict[str, set[str]] = {}
    """Node → its outputs that some link reads."""
    for link in graph.links:
        links_into.setdefault(link.target, []).append(link)
        read.setdefault(link.source, set()).add(link.output)
    versions: dict[str, tuple[int, int, int] | None] = {}

    for data in graph.nodes.values():
        cls = graph.registry.get(data.type)
        if cls is None:
            shown = data.type if len(data.type) <= 100 else data.type[:100] + "…"
            problems.append(Problem(data.id, None, f"unknown node type {shown!r}"))
            continue
        _check_version(data, cls, problems, versions)
        incoming = {link.input: link for link in links_into.get(data.id, ())}
        _check_links(graph, data, cls, incoming, problems)
        if not cls.executable:
            continue
        if data.bypass:
            _check_bypass(data, cls, incoming, read.get(data.id, set()), problems)
            continue
        for port in cls.inputs:
            if not port.optional and port.name not in incoming:
                problems.append(Problem(data.id, port.name, "required input is not connected"))
        _check_params(data, cls, incoming, resolve, problems)

    problems.extend(_cycle_problems(graph))
    return problems


def review(
    graph: Graph,
    resolve_file: FileResolver | None = None,
    targets: Iterable[str] | None = None,
    *,
    context: AdviceContext | None = None,
    rules: bool = True,
) -> Findings:
    """:func:`validate`, split as a run sees it: the problems of the nodes a run of
    ``targets`` (default: every output node) needs are errors; each node it does not need
    gets advice instead (with its own problems counted), and is not run.

    With ``rules`` (the default) the advice also holds what :mod:`nodes.advice.rules`
    finds in the values of the nodes a run needs (steps, cfg, prompts, sizes, memory;
    ``context`` says the device and what is silenced everywhere); advice silenced on a
    node or in ``context`` is left out. The executor gates runs with ``rules=False``:
    advice never decides whether a run starts."""
    from nodes.advice.rules import AdviceContext, apply_silencing, rule_advice

    resolve = resolve_file or default_resolver
    problems = validate(graph, resolve)
    scratch = scratch_nodes(graph, targets)
    context = context or AdviceContext()
    if scratch is None:
        errors, advice = problems, []
    else:
        errors = [p for p in problems if p.node_id is None or p.node_id not in scratch]
        advice = scratch_advice(graph, scratch, problems)
    if rules:
        advice.extend(rule_advice(graph, resolve, context, scratch))
    return Findings(errors, apply_silencing(graph, advice, context))


def _check_version(
    data: NodeData,
    cls: type[Node],
    problems: list[Problem],
    versions: dict[str, tuple[int, int, int] | None],
) -> None:
    saved = _parsed(data.type_version, versions)
    if saved is None:
        problems.append(Problem(data.id, None, f"invalid node version {data.type_version!r}"))
        return
    installed = _parsed(cls.version, versions)
    if installed is not None and saved > installed:
        problems.append(
            Problem(
                data.id,
                None,
                f"saved by a newer {cls.title} node (version {data.type_version}); "
                f"this Daguerre has version {cls.version} — update Daguerre",
            )
        )


def _parsed(
    text: Any, versions: dict[str, tuple[int, int, int] | None]
) -> tuple[int, int, int] | None:
    """``parse_version(text)``, or None if it is not a version; remembered per text."""
    if not isinstance(text, str):
        try:
            return parse_version(text)
        except (ValueError, AttributeError):
            return None
    if text not in versions:
        try:
            versions[text] = parse_version(text)
        except (ValueError, AttributeError):
            versions[text] = None
    return versions[text]


def _check_links(
    graph: Graph, data: NodeData, cls: type[Node], incoming: dict, problems: list[Problem]
) -> None:
    for name, link in incoming.items():
        port = cls.input(name)
        param = cls.param(name) if port is None else None
        if port is None and param is None:
            problems.append(Problem(data.id, name, f"{cls.title} has no input {name!r}"))
            continue
        if param is not None and not param.linkable:
            problems.append(Problem(data.id, name, "this parameter cannot be linked"))
            continue
        wanted = port.type if port is not None else param.type  # type: ignore[union-attr]
        src_cls = graph.registry.get(graph.nodes[link.source].type)
        if src_cls is None:
            continue  # the unknown source type is reported on its own node
        out = src_cls.output(link.output)
        if out is None:
            problems.append(
                Problem(
                    data.id,
                    name,
                    f"linked to {link.source}.{link.output!r}, which is not an output of "
                    f"{src_cls.title}",
                )
            )
        elif not can_connect(out.type, wanted):
            problems.append(
                Problem(
                    data.id,
                    name,
                    f"expects {wanted.value} but is linked to {out.type.value} "
                    f"from {link.source}.{link.output}",
                )
            )


def _check_params(
    data: NodeData,
    cls: type[Node],
    incoming: dict,
    resolve: FileResolver,
    problems: list[Problem],
) -> None:
    for name in data.params:
        if cls.param(name) is None:
            problems.append(Problem(data.id, name, f"{cls.title} has no parameter {name!r}"))
    valid = {}
    for param in cls.params:
        if param.name in incoming:
            continue
        if param.name not in data.params:
            problems.append(Problem(data.id, param.name, "no value"))
            continue
        value = data.params[param.name]
        message = param.check(value)
        if message is not None:
            problems.append(Problem(data.id, param.name, message))
            continue
        valid[param.name] = value
        message = _file_problem(param, value, resolve)
        if message is not None:
            problems.append(Problem(data.id, param.name, message))
    if len(valid) + len([p for p in cls.params if p.name in incoming]) == len(cls.params):
        # every param is either valid or linked: cross-param rules can be judged
        problems.extend(
            Problem(data.id, field, message) for field, message in cls.check_params(valid)
        )
        problems.extend(
            Problem(data.id, field, message) for field, message in cls.check_files(valid, resolve)
        )


def value_problem(param: Param, value: Any, resolve: FileResolver) -> str | None:
    """Why ``value`` cannot be ``param``'s value — its type, range, choices, and for a
    file param that the file exists — or None: the words validation uses for a typed
    value, and the executor for one that arrives through a link."""
    message = param.check(value)
    if message is None:
        message = _file_problem(param, value, resolve)
    return message


def _file_problem(param: Param, value: Any, resolve: FileResolver) -> str | None:
    if param.file_kind is None:
        return None
    if not value:
        if resolve(param.file_kind, "") is not None:
            return None  # the only model of its kind in the models folders (FileFinder)
        return f"no {param.file_kind} file chosen"
    if resolve(param.file_kind, value) is None:
        return _unusable(resolve, param.file_kind, str(value)) or (
            f"{param.file_kind} file not found: {value}"
        )
    return None


def _unusable(resolve: FileResolver, kind: str, value: str) -> str | None:
    """Why a file that exists was passed over (a FIFO, a device): clearer than "not found"."""
    from nodes.paths import unusable_reason

    finder = getattr(resolve, "__self__", resolve)  # a FileFinder, or its bound method
    reason = getattr(finder, "unusable_reason", None)
    if callable(reason):
        found = reason(kind, value)
        return found if isinstance(found, str) else None
    if not value or "\0" in value:
        return None
    return unusable_reason(Path(value))


def linked_value_problems(
    node_id: str,
    cls: type[Node],
    params: Mapping[str, Any],
    linked: Mapping[str, Any],
    resolve: FileResolver,
) -> list[Problem]:
    """The problems of the values ``linked`` brought into params of node ``node_id`` (param
    name → the value its link delivered), judged as :func:`validate` judges typed ones.

    Each value is checked against its param (type, range, choices, file); if all pass, the
    node's cross-param rules (``check_params``) are judged with the linked values filled in
    among its own ``params``: a rule a linked value breaks is reported whichever field it
    names (a linked ``end`` below a typed ``start`` blames ``start``, as validation would).
    """
    problems: list[Problem] = []
    for name, value in linked.items():
        param = cls.param(name)
        if param is None:
            continue  # validation reported the link into an unknown param
        message = value_problem(param, value, resolve)
        if message is not None:
            problems.append(Problem(node_id, name, message))
    if problems or not linked:
        return problems
    values = {p.name: params.get(p.name, p.default) for p in cls.params}
    values.update(linked)
    found = [*cls.check_params(values), *cls.check_files(values, resolve)]
    return [Problem(node_id, field, message) for field, message in found]


def _check_bypass(
    data: NodeData, cls: type[Node], incoming: dict, used: set[str], problems: list[Problem]
) -> None:
    """A bypassed node passes its first linked input of each output's type through;
    ``used`` holds its outputs that links read."""
    for out in cls.outputs:
        if out.name in used and pass_through_input(cls, out.type, incoming) is None:
            problems.append(
                Problem(
                    data.id,
                    out.name,
                    f"bypassed, but no connected input of type {out.type.value} "
                    "can stand in for this output",
                )
            )


def pass_through_input(cls: type[Node], kind: PortType, incoming: dict) -> str | None:
    """The input a bypassed node forwards for an output of type ``kind``."""
    for port in cls.inputs:
        if port.name in incoming and port.type is kind:
            return port.name
    return None


def _cycle_problems(graph: Graph) -> list[Problem]:
    if not _may_have_cycle(graph):
        return []
    dag = nx.DiGraph()
    dag.add_edges_from((link.source, link.target) for link in graph.links)
    problems: list[Problem] = []
    for component in nx.strongly_connected_components(dag):
        if len(component) == 1:
            (only,) = component
            if not dag.has_edge(only, only):
                continue
        members = sorted(component)
        message = _cycle_message(members)  # one text for all: a cycle may have 20,000
        problems.extend(Problem(node_id, None, message) for node_id in members)
    return problems


CYCLE_LISTED = 10
"""The most members a cycle's message names; a longer one names the first few and counts."""


def _cycle_message(members: list[str]) -> str:
    if len(members) <= CYCLE_LISTED:
        return f"part of a cycle: {' → '.join([*members, members[0]])}"
    named = " → ".join(members[: CYCLE_LISTED // 2])
    return f"part of a cycle of {len(members)} nodes: {named} → … → {members[0]}"


def _may_have_cycle(graph: Graph) -> bool:
    """Whether some node lies on or after a cycle: Kahn's peeling, linear in the links,
    which leaves exactly those nodes (the common case, none, skips networkx)."""
    pending: dict[str, int] = {}
    downstream: dict[str, list[str]] = {}
    for link in graph.links:
        pending[link.target] = pending.get(link.target, 0) + 1
        pending.setdefault(link.source, 0)
        downstream.setdefault(link.source, []).append(link.target)
    ready = [node for node, count in pending.items() if count == 0]
    peeled = 0
    while ready:
        node = ready.pop()
        peeled += 1
        for target in downstream.get(node, ()):
            pending[target] -= 1
            if pending[target] == 0:
                ready.append(target)
    return peeled < len(pending)
