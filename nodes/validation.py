"""Validation before work: every problem in a graph, found at once.

:func:`validate` never raises on a bad graph and never stops at the first problem: it
returns one :class:`~nodes.events.Problem` per fault, each naming the node and the field
(input or param) so the UI can highlight both. A run never starts while it returns any
(see docs/ARCHITECTURE.md, "Validation before work").
"""

from __future__ import annotations

import networkx as nx

from nodes.api import Node, parse_version
from nodes.events import Problem
from nodes.graph import Graph, NodeData
from nodes.paths import FileResolver, default_resolver
from nodes.ports import PortType, can_connect

__all__ = ["FileResolver", "default_resolver", "pass_through_input", "validate"]


def validate(graph: Graph, resolve_file: FileResolver | None = None) -> list[Problem]:
    """All problems of ``graph``, in node order, then graph-wide ones (cycles)."""
    resolve = resolve_file or default_resolver
    problems: list[Problem] = []
    links_into: dict[str, list] = {}
    for link in graph.links:
        links_into.setdefault(link.target, []).append(link)

    for data in graph.nodes.values():
        cls = graph.registry.get(data.type)
        if cls is None:
            problems.append(Problem(data.id, None, f"unknown node type {data.type!r}"))
            continue
        _check_version(data, cls, problems)
        incoming = {link.input: link for link in links_into.get(data.id, ())}
        _check_links(graph, data, cls, incoming, problems)
        if not cls.executable:
            continue
        if data.bypass:
            _check_bypass(graph, data, cls, incoming, problems)
            continue
        for port in cls.inputs:
            if not port.optional and port.name not in incoming:
                problems.append(Problem(data.id, port.name, "required input is not connected"))
        _check_params(data, cls, incoming, resolve, problems)

    problems.extend(_cycle_problems(graph))
    return problems


def _check_version(data: NodeData, cls: type[Node], problems: list[Problem]) -> None:
    try:
        saved = parse_version(data.type_version)
    except (ValueError, AttributeError):
        problems.append(Problem(data.id, None, f"invalid node version {data.type_version!r}"))
        return
    if saved > parse_version(cls.version):
        problems.append(
            Problem(
                data.id,
                None,
                f"saved by a newer {cls.title} node (version {data.type_version}); "
                f"this Daguerre has version {cls.version} — update Daguerre",
            )
        )


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
        if param.file_kind is not None:
            if not value:
                problems.append(Problem(data.id, param.name, f"no {param.file_kind} file chosen"))
            elif resolve(param.file_kind, value) is None:
                problems.append(
                    Problem(data.id, param.name, f"{param.file_kind} file not found: {value}")
                )
    if len(valid) + len([p for p in cls.params if p.name in incoming]) == len(cls.params):
        # every param is either valid or linked: cross-param rules can be judged
        problems.extend(
            Problem(data.id, field, message) for field, message in cls.check_params(valid)
        )


def _check_bypass(
    graph: Graph, data: NodeData, cls: type[Node], incoming: dict, problems: list[Problem]
) -> None:
    """A bypassed node passes its first linked input of each output's type through."""
    used = {link.output for link in graph.links_from(data.id)}
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
    dag = nx.DiGraph()
    dag.add_edges_from((link.source, link.target) for link in graph.links)
    problems: list[Problem] = []
    for component in nx.strongly_connected_components(dag):
        if len(component) == 1:
            (only,) = component
            if not dag.has_edge(only, only):
                continue
        members = sorted(component)
        loop = " → ".join([*members, members[0]])
        problems.extend(Problem(node_id, None, f"part of a cycle: {loop}") for node_id in members)
    return problems
