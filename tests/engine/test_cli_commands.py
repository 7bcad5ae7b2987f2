"""The other ``daguerre`` commands: validate (exit codes, one line per problem), nodes
(schemas), usage errors, help and version, and the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.registry import Registry
from tests.engine.cli_helpers import run_cli, sum_graph, write
from tests.stubs import cli_registry

pytestmark = pytest.mark.usefixtures("_home")


@pytest.fixture
def registry() -> Registry:
    return cli_registry()


# --------------------------------------------------------------------------- validate


def test_validate_a_valid_workflow(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = write(sum_graph(registry), tmp_path)
    code, out, err = run_cli(capsys, registry, "validate", wf)
    assert code == 0
    assert out == ""
    assert err == "ok: 4 nodes, 3 links\n"


def test_validate_prints_one_line_per_problem(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = sum_graph(registry)
    graph.disconnect("s", "a")
    graph.nodes["b"].params["value"] = "three"
    graph.nodes["a"].params["bogus"] = 1
    graph.add_node("cli.add", id="loop1")
    graph.add_node("cli.add", id="loop2")
    graph.connect("loop1", "sum", "loop2", "a")
    graph.insert_link(type(graph.links[0])("loop2", "sum", "loop1", "a"))
    for source, output in (("a", "value"), ("loop2", "sum"), ("s", "sum")):  # outputs
        graph.add_node("cli.record", id=f"rec_{source}")
        graph.connect(source, output, f"rec_{source}", "value")
    wf = write(graph, tmp_path)
    doc = json.loads(wf.read_text())
    doc["nodes"]["alien"] = {"type": "vendor.alien", "type_version": "1.0.0"}
    link = next(link for link in doc["links"] if link["to"] == ["rec_s", "value"])
    link["from"] = ["alien", "out"]  # the unknown node feeds an output: an error
    wf.write_text(json.dumps(doc))
    code, out, err = run_cli(capsys, registry, "validate", wf)
    assert code == 1
    assert err == ""
    assert out.splitlines() == [
        "a.bogus: Num has no parameter 'bogus'",
        "b.value: expected an integer, got str 'three'",
        "s.a: required input is not connected",
        "alien: unknown node type 'vendor.alien'",
        "loop1: part of a cycle: loop1 → loop2 → loop1",
        "loop2: part of a cycle: loop1 → loop2 → loop1",
    ]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (
            '{"format": "daguerre.workflow", "version": 1, "nodes": {"a": {"type": "cli.num", '
            '"position": "here"}}}',
            "$.nodes.a.position: expected a list of 2 finite numbers",
        ),
        (
            '{"format": "daguerre.workflow", "version": 1, "nodes": {}, '
            '"links": [{"from": ["x", "y"], "to": ["z", "w"]}]}',
            "$.links[0].from[0]: no node 'x'",
        ),
        ('{"format": "daguerre.workflow", "version": 99}', "$.version: saved by a newer"),
        ("not json", "$: invalid JSON at line 1 column 1"),
        ("", "$: invalid JSON at line 1 column 1"),
    ],
)
def test_validate_an_unreadable_workflow(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str], content: str, line: str
) -> None:
    wf = tmp_path / "wf.json"
    wf.write_text(content)
    code, out, _err = run_cli(capsys, registry, "validate", wf)
    assert code == 1
    assert len(out.splitlines()) == 1
    assert out.startswith(line)


def test_validate_missing_files_and_folders(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, registry, "validate", tmp_path / "missing.json")
    assert code == 1
    assert out.startswith("$: no such file")
    code, out, _ = run_cli(capsys, registry, "validate", tmp_path)
    assert code == 1
    assert "is a folder" in out


# --------------------------------------------------------------------------- usage


@pytest.mark.parametrize(
    "argv",
    [
        ["bogus"],
        ["run"],
        ["validate"],
        ["run", "wf.json", "--device", "tpu"],
        ["run", "wf.json", "--no-such-flag"],
        ["nodes", "extra"],
        ["--frobnicate"],
    ],
)
def test_usage_errors_exit_2(
    registry: Registry, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run_cli(capsys, registry, *argv)
    assert code == 2
    assert out == ""
    assert "usage: daguerre" in err
    assert "error:" in err


def test_help_and_version_exit_0(registry: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, registry, "--version")
    assert (code, out) == (0, "daguerre 0.1.0\n")
    code, out, _ = run_cli(capsys, registry, "--help")
    assert code == 0
    assert "usage: daguerre" in out
    code, out, _ = run_cli(capsys, registry, "run", "--help")
    assert code == 0
    assert "--sweep NODE.PARAM=V1,V2,..." in out
    code, out, _ = run_cli(capsys, registry)
    assert code == 0
    assert "usage: daguerre" in out


# --------------------------------------------------------------------------- nodes


def test_nodes_json_lists_every_type_with_its_schema(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, registry, "nodes", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [item["type"] for item in listed] == [cls.type_id for cls in registry]
    assert {item["type"] for item in listed} >= {cls.type_id for cls in cli_registry()} | {
        "primitive.int",
        "primitive.string",
        "utility.save_text",
        "utility.note",
    }
    by_type = {item["type"]: item for item in listed}
    for cls in registry:
        assert by_type[cls.type_id] == json.loads(json.dumps(cls.schema()))
    scale = by_type["cli.scale"]
    assert scale["params"][1]["choices"] == ["mul", "div"]
    assert scale["inputs"] == [
        {"name": "x", "type": "FLOAT", "optional": False, "label": "x", "tooltip": ""}
    ]


def test_nodes_text_lists_types_by_category(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, registry, "nodes")
    assert code == 0
    lines = out.splitlines()
    assert "test" in lines and "primitives" in lines and "utility" in lines
    for cls in registry:
        shown = any(line.split()[:1] == [cls.type_id] for line in lines)
        assert shown == cls.listed, cls.type_id  # unlisted types (placeholders) stay out
    assert any("cli.add" in line and "Adds two integers and an offset" in line for line in lines)


# --------------------------------------------------------------------------- console script


def _console_script() -> str:
    found = Path(sys.executable).parent / "daguerre"
    if found.exists():
        return str(found)
    which = shutil.which("daguerre")
    if which is None:
        pytest.skip("the daguerre console script is not installed")
    return which


def test_the_installed_console_script_exit_codes(tmp_path: Path, _home: Path) -> None:
    script = _console_script()
    graph = Graph(load_builtin_nodes(Registry()))
    graph.add_node("primitive.int", id="n", params={"value": 4})
    graph.add_node("utility.display", id="show")
    graph.connect("n", "value", "show", "value")
    good = write(graph, tmp_path, "good.json")
    graph.disconnect("show", "value")
    bad = write(graph, tmp_path, "bad.json")
    env = {**os.environ, "DAGUERRE_HOME": str(_home), "PYTHONIOENCODING": "utf-8"}

    def daguerre(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *map(str, args)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )

    ok = daguerre("validate", good)
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "", "ok: 2 nodes, 1 links\n")
    problems = daguerre("validate", bad)
    assert (problems.returncode, problems.stdout) == (
        1,
        "show.value: required input is not connected\n"
        "advice: n: feeds no output node: it will not run\n",  # n now feeds nothing
    )
    usage = daguerre("validate")
    assert usage.returncode == 2
    assert "usage: daguerre" in usage.stderr
    ran = daguerre("run", "--json", "--quiet", good)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["status"] == "done"
