"""Helpers for the ``daguerre`` command-line tests (``test_cli_*.py``): a small summing
workflow, saving it, and running the CLI in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nodes import cli
from nodes.graph import Graph
from nodes.registry import Registry
from nodes.workflow import save_file


def sum_graph(registry: Registry) -> Graph:
    """a ─┐
    b ──add(offset 0)── rec        plus: c (unused by the output)"""
    graph = Graph(registry)
    graph.add_node("cli.num", id="a", params={"value": 2})
    graph.add_node("cli.num", id="b", params={"value": 3})
    graph.add_node("cli.add", id="s")
    graph.add_node("cli.record", id="rec")
    graph.connect("a", "value", "s", "a")
    graph.connect("b", "value", "s", "b")
    graph.connect("s", "sum", "rec", "value")
    return graph


def write(graph: Graph, tmp_path: Path, name: str = "wf.json") -> Path:
    return save_file(graph, tmp_path / name)


def run_cli(
    capsys: pytest.CaptureFixture[str], registry: Registry, *argv: str | Path
) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv], registry=registry)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(
    capsys: pytest.CaptureFixture[str], registry: Registry, tmp_path: Path, *argv: str | Path
) -> tuple[int, Any]:
    code, out, _ = run_cli(
        capsys, registry, "run", "--json", "--quiet", "--out", tmp_path / "out", *argv
    )
    return code, json.loads(out)


def recorded(summary: dict[str, Any]) -> list[str]:
    return [Path(p).name for p in summary["outputs"]]
