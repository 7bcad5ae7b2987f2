"""Values that arrive through links are judged like typed ones, before the node runs.

A typed param is checked by validation (type, range, choices, finite numbers, files, the
node's cross-param rules); a linked one is known only at run time, so the executor checks
it when it arrives, with validation's words, and fails the receiving node on that field.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from nodes.api import Node, Output, Param
from nodes.context import Environment, NodeContext
from nodes.events import NodeFailed, NodeFinished, NodeStarted, Problem, RunStatus
from nodes.executor import Executor, RunOutcome
from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.paths import resources_dir
from nodes.ports import PortType
from nodes.registry import Registry
from nodes.validation import validate
from nodes.workflow import load_file
from tests.stubs import make_registry

VALUES: dict[str, Any] = {
    "nan": math.nan,
    "inf": math.inf,
    "huge_int": 10**400,
    "text": "x",
    "true": True,
    "triple": "triple",
    "eleven": 11.0,
    "three": 3,
    "none": None,
}


class Emit(Node):
    """Emits one of :data:`VALUES` on an ANY output: what a hostile node could deliver."""

    type_id = "linked.emit"
    title = "Emit"
    category = "test"
    params = (Param("which", PortType.STRING, default="nan", choices=tuple(VALUES)),)
    outputs = (Output("value", PortType.ANY),)

    def run(self, ctx: NodeContext, *, which: str) -> tuple[Any]:
        return (VALUES[which],)


@pytest.fixture
def graph() -> Graph:
    return Graph(make_registry().register_declared(__name__))


class Run:
    def __init__(self, graph: Graph, executor: Executor | None = None) -> None:
        self.events: list = []
        self.outcome: RunOutcome = (executor or Executor()).run(graph, emit=self.events.append)

    def failed(self) -> list[tuple[str, str | None, str]]:
        return [(e.node_id, e.field, e.message) for e in self.events if isinstance(e, NodeFailed)]

    def ran(self, node_id: str) -> bool:
        return any(
            isinstance(e, NodeFinished) and e.node_id == node_id and not e.cached
            for e in self.events
        )


def typed_message(graph: Graph, node_id: str, name: str, value: Any) -> str:
    """What validation says of ``value`` typed into ``node_id.name`` (link removed)."""
    typed = graph.copy()
    typed.disconnect(node_id, name)
    typed.nodes[node_id].params[name] = value  # as a file may hold it, even null
    messages = [p.message for p in validate(typed) if (p.node_id, p.field) == (node_id, name)]
    assert len(messages) == 1, validate(typed)
    return messages[0]


def test_an_int_out_of_range_through_a_link_fails_the_receiving_node(graph: Graph) -> None:
    graph.add_node("test.const", id="big", params={"value": 500})
    graph.add_node("test.const", id="a")
    graph.add_node("test.add", id="add")
    graph.add_node("test.sink", id="sink")
    graph.connect("a", "value", "add", "a")
    graph.connect("big", "value", "add", "offset")  # offset: -100 … 100
    graph.connect("add", "sum", "sink", "value")
    assert validate(graph) == []  # the value is known only when the graph runs
    executor = Executor()

    run = Run(graph, executor)

    message = typed_message(graph, "add", "offset", 500)
    assert message == "500 is above the maximum 100"
    assert run.outcome.status is RunStatus.FAILED
    assert run.failed() == [("add", "offset", message)]
    assert run.outcome.problems == [Problem("add", "offset", message)]
    assert run.outcome.error == f"Add (add) failed: {message}"
    assert not run.ran("add") and not any(
        isinstance(e, NodeStarted) and e.node_id == "sink" for e in run.events
    )
    graph.set_param("big", "value", 50)
    again = Run(graph, executor)
    assert again.outcome.status is RunStatus.DONE
    assert again.outcome.nodes["a"].cached  # what ran before the failure stays cached


@pytest.mark.parametrize(
    ("which", "target", "field", "message"),
    [
        ("nan", "scale", "factor", "expected a finite number, got nan"),
        ("inf", "scale", "factor", "expected a finite number, got inf"),
        ("huge_int", "scale", "factor", "the number is too large"),
        ("eleven", "scale", "factor", "11.0 is above the maximum 10"),
        ("triple", "scale", "mode", "'triple' is not one of 'mul', 'div'"),
        ("text", "scale", "enabled", "expected true or false, got str 'x'"),
        ("text", "add", "offset", "expected an integer, got str 'x'"),
        ("true", "add", "offset", "expected an integer, got bool True"),
        ("none", "add", "offset", "expected an integer, got null"),
    ],
)
def test_each_kind_of_bad_linked_value_gets_validations_message(
    graph: Graph, which: str, target: str, field: str, message: str
) -> None:
    graph.add_node("linked.emit", id="emit", params={"which": which})
    graph.add_node("test.const", id="c", params={"value": 2})
    graph.add_node("test.scale", id="scale")
    graph.add_node("test.add", id="add")
    graph.add_node("test.sink", id="sink")
    graph.connect("c", "value", "scale", "x")
    graph.connect("c", "value", "add", "a")
    graph.connect(target, "y" if target == "scale" else "sum", "sink", "value")
    graph.connect("emit", "value", target, field)
    assert validate(graph) == []

    run = Run(graph)

    assert run.outcome.status is RunStatus.FAILED
    assert run.failed() == [(target, field, message)]
    assert typed_message(graph, target, field, VALUES[which]) == message


def test_an_int_linked_into_a_number_arrives_as_a_float(graph: Graph) -> None:
    graph.add_node("linked.emit", id="emit", params={"which": "three"})
    graph.add_node("test.const", id="c", params={"value": 2})
    graph.add_node("test.scale", id="scale")
    graph.add_node("test.sink", id="sink")
    graph.connect("c", "value", "scale", "x")
    graph.connect("emit", "value", "scale", "factor")
    graph.connect("scale", "y", "sink", "value")

    outcome = Executor().run(graph, capture=["scale"])

    assert outcome.status is RunStatus.DONE, outcome.error
    (y,) = outcome.values["scale"]
    assert y == 6.0 and type(y) is float


def test_a_value_passed_through_a_bypassed_node_is_checked(graph: Graph) -> None:
    graph.add_node("test.const", id="big", params={"value": 500})
    graph.add_node("test.const", id="a")
    graph.add_node("test.blur", id="blur")  # bypassed: its INT output is its INT input
    graph.add_node("test.add", id="add")
    graph.add_node("test.sink", id="sink")
    graph.connect("big", "value", "blur", "amount")
    graph.connect("blur", "count", "add", "offset")
    graph.connect("a", "value", "add", "a")
    graph.connect("add", "sum", "sink", "value")
    graph.set_bypass("blur", True)
    assert validate(graph) == []

    run = Run(graph)

    assert run.failed() == [("add", "offset", "500 is above the maximum 100")]


def test_a_linked_file_param_is_found_like_a_typed_one(graph: Graph, tmp_path: Path) -> None:
    graph.add_node("primitive.string", id="name", params={"value": ""})
    graph.add_node("test.file", id="file")
    graph.add_node("test.sink", id="sink")
    graph.connect("name", "value", "file", "path")
    graph.connect("file", "size", "sink", "value")

    assert Run(graph).failed() == [("file", "path", "no checkpoints file chosen")]
    assert typed_message(graph, "file", "path", "") == "no checkpoints file chosen"
    graph.set_param("name", "value", "model.safetensors")
    assert Run(graph).failed() == [
        ("file", "path", "checkpoints file not found: model.safetensors")
    ]
    (tmp_path / "model.safetensors").write_bytes(b"12345")

    def resolver(kind: str, value: str) -> Path | None:
        path = tmp_path / value
        return path if path.is_file() else None

    found = Run(graph, Executor(env=Environment(resolve_file=resolver)))
    assert found.outcome.status is RunStatus.DONE, found.outcome.error


# --------------------------------------------------------------------------- the library


@pytest.fixture
def library() -> Graph:
    return Graph(load_builtin_nodes(Registry()))


def test_a_linked_width_not_a_multiple_of_8_fails_on_the_latent(library: Graph) -> None:
    library.add_node("primitive.int", id="width", params={"value": 65})
    library.add_node("latent.empty", id="latent")
    library.add_node("utility.display", id="show")
    library.connect("width", "value", "latent", "width")
    library.connect("latent", "latent", "show", "value")
    assert validate(library) == []

    run = Run(library)

    assert run.outcome.status is RunStatus.FAILED
    assert run.failed() == [("latent", "width", "65 is not a multiple of 8")]
    assert typed_message(library, "latent", "width", 65) == "65 is not a multiple of 8"


def test_a_linked_width_below_the_minimum_fails_on_the_latent(library: Graph) -> None:
    library.add_node("primitive.int", id="width", params={"value": 0})
    library.add_node("latent.empty", id="latent")
    library.add_node("utility.display", id="show")
    library.connect("width", "value", "latent", "width")
    library.connect("latent", "latent", "show", "value")

    assert Run(library).failed() == [("latent", "width", "0 is below the minimum 8")]


@pytest.fixture(scope="module")
def model_executor(tmp_path_factory: pytest.TempPathFactory) -> Executor:
    """One executor for these runs, so the demo model loads once."""
    return Executor(env=Environment(output_dir=tmp_path_factory.mktemp("out")))


@pytest.mark.parametrize(
    ("primitive", "field", "value", "message"),
    [
        ("primitive.float", "cfg", 1e308, "1e+308 is above the maximum 100"),
        ("primitive.int", "steps", 0, "0 is below the minimum 1"),
        ("primitive.int", "seed", -1, "-1 is below the minimum 0"),
        ("primitive.float", "denoise", 2.0, "2.0 is above the maximum 1"),
    ],
)
def test_a_linked_sampler_value_out_of_range_fails_before_sampling(
    demo_sd15, model_executor: Executor, primitive: str, field: str, value: Any, message: str
) -> None:
    graph = load_file(
        resources_dir() / "workflows" / "txt2img.json", load_builtin_nodes(Registry())
    )
    graph.set_param("checkpoint", "path", str(demo_sd15.single_file))
    graph.set_param("latent", "width", 64)
    graph.set_param("latent", "height", 64)
    graph.set_param("sampler", "steps", 2)
    graph.add_node(primitive, id="value", params={"value": value})
    graph.connect("value", "value", "sampler", field)
    assert validate(graph) == []

    run = Run(graph, model_executor)

    assert run.outcome.status is RunStatus.FAILED
    assert run.failed() == [("sampler", field, message)]
    assert run.outcome.outputs == []  # no image, black or otherwise
    assert typed_message(graph, "sampler", field, value) == message


def test_a_linked_value_breaking_a_cross_param_rule_fails_the_node(
    demo_sd15, model_executor: Executor, tmp_path: Path
) -> None:
    """A linked ControlNet end below the typed start: the rule blames start, as
    validation does when both are typed."""
    from PIL import Image

    picture = tmp_path / "control.png"
    Image.new("RGB", (64, 64), "white").save(picture)
    graph = load_file(
        resources_dir() / "workflows" / "controlnet_canny.json", load_builtin_nodes(Registry())
    )
    for node, param, value in (
        ("checkpoint", "path", str(demo_sd15.single_file)),
        ("controlnet", "path", str(demo_sd15.controlnet)),
        ("control_image", "path", str(picture)),
        ("latent", "width", 64),
        ("latent", "height", 64),
        ("sampler", "steps", 2),
        ("control", "start", 0.5),
    ):
        graph.set_param(node, param, value)
    graph.add_node("primitive.float", id="end", params={"value": 0.2})
    graph.connect("end", "value", "control", "end")
    assert validate(graph) == []

    outcome = model_executor.run(graph)

    assert outcome.status is RunStatus.FAILED
    (problem,) = outcome.problems
    assert (problem.node_id, problem.field) == ("control", "start")
    assert problem.message == "start 0.5 is after end 0.2"
