"""The worked example of CONTRIBUTING.md, "Adding a node": one node type declared the way a
newcomer would, registered by its declaration and run by the real executor.

In the library the class would live in ``nodes/library/math.py``, where
:func:`nodes.library.load_builtin_nodes` would find it; here it lives in this test module,
so it reaches only the registries these tests build.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from nodes.api import Node, Output, Param
from nodes.context import NodeContext
from nodes.events import Event, NodeResult, RunStatus
from nodes.executor import Executor
from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.ports import PortType
from nodes.registry import Registry
from nodes.validation import validate

SIZE_MAX = 16384
"""The largest width or height Empty Latent accepts."""


def round_to_8(value: float) -> int:
    """The nearest multiple of 8 (at least 8): latent sizes come in steps of 8 pixels."""
    return max(8, round(value / 8) * 8)


class ScaleSize(Node):
    """Scales a width and a height by one factor, each rounded to a multiple of 8 as
    latent sizes need. Link its outputs into Empty Latent's width and height to try a
    bigger or smaller picture with the same aspect ratio."""

    type_id = "math.scale_size"
    title = "Scale Size"
    category = "math"
    version = "1.0.0"
    params = (
        Param("width", PortType.INT, default=512, min=8, max=SIZE_MAX, step=8),
        Param("height", PortType.INT, default=512, min=8, max=SIZE_MAX, step=8),
        Param(
            "factor",
            PortType.FLOAT,
            default=1.5,
            min=0.05,
            max=8.0,
            step=0.05,
            tooltip="1.5 turns 512×768 into 768×1152",
        ),
    )
    outputs = (Output("width", PortType.INT), Output("height", PortType.INT))

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        if "factor" not in params:
            return []  # the factor is linked: its value is known only when the graph runs
        return [
            (name, f"{params[name]} × {params['factor']} is above {SIZE_MAX}")
            for name in ("width", "height")
            if name in params and round_to_8(params[name] * params["factor"]) > SIZE_MAX
        ]

    def run(self, ctx: NodeContext, *, width: int, height: int, factor: float) -> tuple[int, int]:
        scaled = round_to_8(width * factor), round_to_8(height * factor)
        ctx.result(text=f"{scaled[0]}×{scaled[1]}")
        return scaled


# --------------------------------------------------------------------------- tests


@pytest.fixture
def graph() -> Graph:
    """The built-in node types plus the ones this module declares."""
    return Graph(load_builtin_nodes(Registry().register_declared(__name__)))


def test_the_declaration_is_registered_with_its_schema(graph: Graph) -> None:
    assert graph.registry.get("math.scale_size") is ScaleSize
    schema = ScaleSize.schema()
    assert schema["description"].startswith("Scales a width and a height")  # the tooltip
    assert [p["name"] for p in schema["params"]] == ["width", "height", "factor"]
    assert "math.scale_size" not in load_builtin_nodes(Registry())  # a test's own type


def test_it_runs_through_the_executor_and_is_cached(graph: Graph) -> None:
    graph.add_node("math.scale_size", id="scale", params={"width": 512, "height": 768})
    graph.add_node("utility.display", id="show")
    graph.connect("scale", "height", "show", "value")
    events: list[Event] = []

    executor = Executor()
    outcome = executor.run(graph, capture=("scale",), emit=events.append)

    assert outcome.status is RunStatus.DONE, outcome.error
    assert outcome.values["scale"] == (768, 1152)
    shown = [e.text for e in events if isinstance(e, NodeResult)]
    assert shown == ["768×1152", "1152"]
    again = executor.run(graph)
    assert again.nodes["scale"].cached and again.nodes["show"].cached


def test_a_linked_param_takes_the_value_of_its_link(graph: Graph) -> None:
    graph.add_node("primitive.float", id="factor", params={"value": 0.5})
    graph.add_node("math.scale_size", id="scale", params={"width": 1024, "height": 1024})
    graph.add_node("utility.display", id="show")
    graph.connect("factor", "value", "scale", "factor")  # the param is promoted to a socket
    graph.connect("scale", "width", "show", "value")

    outcome = Executor().run(graph, capture=("scale",))

    assert outcome.status is RunStatus.DONE, outcome.error
    assert outcome.values["scale"] == (512, 512)


def test_validation_reports_a_size_too_large_before_anything_runs(graph: Graph) -> None:
    graph.add_node("math.scale_size", id="scale", params={"width": 8192, "factor": 4.0})
    graph.add_node("utility.display", id="show")
    graph.connect("scale", "width", "show", "value")

    problems = validate(graph)

    assert [(p.node_id, p.field) for p in problems] == [("scale", "width")]
    outcome = Executor().run(graph)
    assert outcome.status is RunStatus.FAILED and not outcome.nodes  # nothing ran


def test_a_linked_value_out_of_range_fails_on_the_node(graph: Graph) -> None:
    graph.add_node("primitive.float", id="factor", params={"value": 8.0})
    graph.add_node("math.scale_size", id="scale", params={"width": 4096})
    graph.add_node("utility.display", id="show")
    graph.connect("factor", "value", "scale", "factor")
    graph.connect("scale", "width", "show", "value")

    outcome = Executor().run(graph)

    assert outcome.status is RunStatus.FAILED
    (problem,) = outcome.problems
    assert (problem.node_id, problem.field) == ("scale", "width")
    assert "4096 × 8.0 is above 16384" in problem.message  # check_params, on the linked value
