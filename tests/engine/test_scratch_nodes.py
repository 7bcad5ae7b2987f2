"""Scratch nodes: a node that feeds no output node is advice, not an error, and is not run
(ComfyUI's behaviour); what feeds an output is validated as before. The CLI's ``validate``
prints advice after errors and ``run`` names the nodes it leaves out."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodes.advice import SCRATCH_MESSAGE, Advice, Findings, scratch_nodes
from nodes.events import Problem, RunStatus
from nodes.executor import Executor
from nodes.graph import Graph, Link
from nodes.registry import Registry
from nodes.validation import review, validate
from tests.engine.cli_helpers import run_cli, sum_graph, write

pytestmark = pytest.mark.usefixtures("_home")


def _scratchy(graph: Graph) -> Graph:
    """const ── sink, plus an unconnected adder (missing input) and a failing node."""
    graph.add_node("test.const", id="c", params={"value": 4})
    graph.add_node("test.sink", id="out")
    graph.connect("c", "value", "out", "value")
    graph.add_node("test.add", id="loose")  # input "a" is required and unconnected
    graph.add_node("test.fail", id="boom")  # would fail if it ran
    return graph


def test_a_node_that_feeds_no_output_is_advice_not_an_error(graph: Graph) -> None:
    _scratchy(graph)
    assert [(p.node_id, p.field) for p in validate(graph)] == [("loose", "a")]  # unchanged
    findings = review(graph)
    assert findings.errors == [] and findings.ok
    assert [(a.node_id, a.message) for a in findings.advice] == [
        ("loose", SCRATCH_MESSAGE),
        ("boom", SCRATCH_MESSAGE),
    ]
    loose = findings.advice[0]
    assert "a: required input is not connected" in loose.why  # what waits once it feeds one
    assert "problem" not in findings.advice[1].why
    assert str(loose) == f"loose: {SCRATCH_MESSAGE}"


def test_what_feeds_an_output_is_validated_as_before(graph: Graph) -> None:
    _scratchy(graph)
    graph.connect("loose", "sum", "out", "value")  # replaces const → sink
    findings = review(graph)
    assert findings.errors == [Problem("loose", "a", "required input is not connected")]
    assert [a.node_id for a in findings.advice] == ["c", "boom"]


def test_the_executor_runs_only_what_outputs_need(graph: Graph) -> None:
    _scratchy(graph)
    outcome = Executor().run(graph)
    assert outcome.status is RunStatus.DONE
    assert outcome.plan == ("c", "out")  # neither the broken adder nor the failing node
    assert [a.node_id for a in outcome.advice] == ["loose", "boom"]


def test_a_graph_without_outputs_keeps_every_problem(graph: Graph) -> None:
    graph.add_node("test.add", id="loose")
    assert scratch_nodes(graph) is None
    findings = review(graph)
    assert [(p.node_id, p.field) for p in findings.errors] == [("loose", "a")]
    assert findings.advice == []
    outcome = Executor().run(graph)
    assert outcome.status is RunStatus.FAILED
    assert [p.node_id for p in outcome.problems] == ["loose"]


def test_bypassed_outputs_and_nodes_are_not_advised(graph: Graph) -> None:
    _scratchy(graph)
    graph.add_node("test.sink", id="off")
    graph.connect("loose", "sum", "off", "value")
    graph.set_bypass("off", True)  # a bypassed output needs nothing
    graph.set_bypass("boom", True)  # a bypassed node never runs: nothing to advise
    findings = review(graph)
    assert findings.errors == []
    assert [a.node_id for a in findings.advice] == ["loose"]


def test_named_targets_decide_what_is_scratch(graph: Graph) -> None:
    _scratchy(graph)
    findings = review(graph, targets=["loose"])
    assert [(p.node_id, p.field) for p in findings.errors] == [("loose", "a")]
    assert [a.node_id for a in findings.advice] == ["c", "out", "boom"]


def test_a_scratch_cycle_is_advice(graph: Graph) -> None:
    _scratchy(graph)
    graph.add_node("test.add", id="x")
    graph.add_node("test.add", id="y")
    graph.insert_link(graph.check_link("x", "sum", "y", "a"))
    graph.insert_link(Link("y", "sum", "x", "a"))  # unchecked, as a file may hold it
    assert any("cycle" in p.message for p in validate(graph))
    findings = review(graph)
    assert findings.errors == []
    assert {"x", "y"} <= {a.node_id for a in findings.advice}


def test_advice_records_carry_a_fix() -> None:
    advice = Advice("sampler", "seed", "a fixed seed gives the same image", "why", {"seed": 1})
    assert str(advice) == "sampler.seed: a fixed seed gives the same image"
    assert advice.fix == {"seed": 1}
    assert Findings().ok and not Findings([Problem(None, None, "x")]).ok


# ---------------------------------------------------------------- the command line
def _cli_scratchy(cli_registry: Registry) -> Graph:
    graph = sum_graph(cli_registry)
    graph.add_node("cli.add", id="spare")  # feeds nothing, input unconnected
    return graph


@pytest.fixture
def cli_registry() -> Registry:
    from tests.stubs import cli_registry

    return cli_registry()


def test_cli_validate_prints_advice_after_errors_and_exits_0_for_advice_alone(
    capsys: pytest.CaptureFixture[str], cli_registry: Registry, tmp_path: Path
) -> None:
    path = write(_cli_scratchy(cli_registry), tmp_path)
    code, out, _ = run_cli(capsys, cli_registry, "validate", path)
    assert code == 0
    assert out.splitlines() == [f"advice: spare: {SCRATCH_MESSAGE}"]

    graph = _cli_scratchy(cli_registry)
    graph.nodes["s"].params["offset"] = 10_000  # out of range, on a node the output needs
    code, out, _ = run_cli(capsys, cli_registry, "validate", write(graph, tmp_path, "bad.json"))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("s.offset: ")
    assert lines[1:] == [f"advice: spare: {SCRATCH_MESSAGE}"]


def test_cli_run_names_the_nodes_it_leaves_out(
    capsys: pytest.CaptureFixture[str], cli_registry: Registry, tmp_path: Path
) -> None:
    path = write(_cli_scratchy(cli_registry), tmp_path)
    code, _, err = run_cli(capsys, cli_registry, "run", "--out", tmp_path / "out", path)
    assert code == 0
    assert f"advice: spare: {SCRATCH_MESSAGE}" in err.splitlines()
