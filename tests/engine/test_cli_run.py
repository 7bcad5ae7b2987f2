"""``daguerre run``: the JSON summary and progress lines, planning only what the outputs
need, sweeps that reuse unaffected nodes, ``--set`` overrides and their errors, failing
nodes, invalid and unreadable workflows, and where outputs are written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.registry import Registry
from tests.engine.cli_helpers import recorded, run_cli, run_json, sum_graph, write
from tests.stubs import cli_registry

pytestmark = pytest.mark.usefixtures("_home")


@pytest.fixture
def registry() -> Registry:
    return cli_registry()


# --------------------------------------------------------------------------- run


def test_run_json_prints_the_documented_summary(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = write(sum_graph(registry), tmp_path)
    code, summary = run_json(capsys, registry, tmp_path, wf)
    assert code == 0
    assert set(summary) == {"status", "outputs", "nodes", "errors", "advice"}
    assert summary["advice"] == []
    assert summary["status"] == "done"
    assert summary["errors"] == []
    assert recorded(summary) == ["rec_5.txt"]
    assert (tmp_path / "out" / "rec_5.txt").read_text() == "5"
    assert list(summary["nodes"]) == ["a", "b", "s", "rec"]
    for report in summary["nodes"].values():
        assert set(report) == {"cached", "seconds", "error"}
        assert report["cached"] is False
        assert report["error"] is None
        assert isinstance(report["seconds"], float) and report["seconds"] >= 0


def test_run_without_json_prints_progress_to_stderr_only(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = write(sum_graph(registry), tmp_path)
    code, out, err = run_cli(capsys, registry, "run", "--out", tmp_path / "out", wf)
    assert code == 0
    assert out == ""
    assert "run 1: 4 nodes" in err
    assert "✓ Add (s)" in err
    assert re.search(r"run 1 done in \d+\.\d\ds", err)
    code, out, err = run_cli(capsys, registry, "run", "--quiet", "--out", tmp_path / "out", wf)
    assert (code, out, err) == (0, "", "")


def test_run_only_plans_what_the_outputs_need(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = sum_graph(registry)
    graph.add_node("cli.num", id="unused", params={"value": 9})
    code, summary = run_json(capsys, registry, tmp_path, write(graph, tmp_path))
    assert code == 0
    assert "unused" not in summary["nodes"]


def test_sweep_runs_once_per_value_and_reuses_unaffected_nodes(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = write(sum_graph(registry), tmp_path)
    code, payload = run_json(capsys, registry, tmp_path, wf, "--sweep", "a.value=10,20,30")
    assert code == 0
    assert set(payload) == {"runs", "advice"}
    runs = payload["runs"]
    assert [r["status"] for r in runs] == ["done"] * 3
    assert [recorded(r) for r in runs] == [["rec_13.txt"], ["rec_23.txt"], ["rec_33.txt"]]
    assert {n: r["cached"] for n, r in runs[0]["nodes"].items()} == {
        "a": False,
        "b": False,
        "s": False,
        "rec": False,
    }
    for later in runs[1:]:  # b does not depend on a.value: cached; the rest re-runs
        assert {n: r["cached"] for n, r in later["nodes"].items()} == {
            "a": False,
            "b": True,
            "s": False,
            "rec": False,
        }
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "rec_13.txt",
        "rec_23.txt",
        "rec_33.txt",
    ]


def test_a_sweep_over_a_downstream_param_reuses_everything_upstream(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = write(sum_graph(registry), tmp_path)
    code, payload = run_json(capsys, registry, tmp_path, wf, "--sweep", "s.offset=0,1")
    assert code == 0
    second = payload["runs"][1]["nodes"]
    assert {n: r["cached"] for n, r in second.items()} == {
        "a": True,
        "b": True,
        "s": False,
        "rec": False,
    }


def test_repeated_sweeps_run_the_cartesian_product(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = write(sum_graph(registry), tmp_path)
    code, payload = run_json(
        capsys, registry, tmp_path, wf, "--sweep", "a.value=1,2", "--sweep", "b.value=10,20,30"
    )
    assert code == 0
    runs = payload["runs"]
    assert [recorded(r) for r in runs] == [
        ["rec_11.txt"],
        ["rec_21.txt"],
        ["rec_31.txt"],
        ["rec_12.txt"],
        ["rec_22.txt"],
        ["rec_32.txt"],
    ]
    cached = [{n: r["cached"] for n, r in run["nodes"].items()} for run in runs]
    assert cached[1] == {"a": True, "b": False, "s": False, "rec": False}  # a=1 again
    assert cached[3] == {"a": False, "b": True, "s": False, "rec": False}  # b=10 seen in run 1


def test_set_overrides_params(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = write(sum_graph(registry), tmp_path)
    code, summary = run_json(
        capsys, registry, tmp_path, wf, "--set", "a.value=0x10", "--set", "s.offset=-1"
    )
    assert code == 0
    assert recorded(summary) == ["rec_18.txt"]  # 16 + 3 - 1
    code, payload = run_json(
        capsys, registry, tmp_path, wf, "--set", "b.value=100", "--sweep", "a.value=1,2"
    )
    assert code == 0
    assert [recorded(r) for r in payload["runs"]] == [["rec_101.txt"], ["rec_102.txt"]]


def test_set_parses_floats_bools_and_choices(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = Graph(registry)
    graph.add_node("cli.num", id="n", params={"value": 6})
    graph.add_node("cli.scale", id="x")
    graph.add_node("cli.record", id="rec")
    graph.connect("n", "value", "x", "x")
    graph.connect("x", "y", "rec", "value")
    wf = write(graph, tmp_path)
    code, summary = run_json(capsys, registry, tmp_path, wf, "--set", "x.factor=2")
    assert (code, recorded(summary)) == (0, ["rec_12.0.txt"])
    code, summary = run_json(
        capsys, registry, tmp_path, wf, "--set", "x.mode=div", "--set", "x.factor=0.5"
    )
    assert (code, recorded(summary)) == (0, ["rec_12.0.txt"])
    code, summary = run_json(capsys, registry, tmp_path, wf, "--set", "x.enabled=no")
    assert (code, recorded(summary)) == (0, ["rec_6.0.txt"])


@pytest.mark.parametrize(
    ("flag", "assignment", "line"),
    [
        ("--set", "a.value=abc", "a.value: 'abc' is not a valid INT"),
        ("--set", "a.value=1.5", "a.value: '1.5' is not a valid INT"),
        ("--set", "a.value=5000", "a.value: 5000 is above the maximum 1000"),
        ("--set", "s.offset=-101", "s.offset: -101 is below the minimum -100"),
        ("--set", "nope.value=1", "nope.value: no such node in this workflow"),
        ("--set", "a.nope=1", "a.nope: no such parameter"),
        ("--sweep", "a.value=1,x,3", "a.value: 'x' is not a valid INT"),
        ("--sweep", "a.value=1,2000", "a.value: 2000 is above the maximum 1000"),
        ("--sweep", "ghost.value=1,2", "ghost.value: no such node in this workflow"),
    ],
)
def test_bad_overrides_are_reported_per_field_and_nothing_runs(
    tmp_path: Path,
    registry: Registry,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    assignment: str,
    line: str,
) -> None:
    wf = write(sum_graph(registry), tmp_path)
    code, out, err = run_cli(
        capsys, registry, "run", "--out", tmp_path / "out", wf, flag, assignment
    )
    assert code == 1
    assert out == ""
    assert line in err.splitlines()
    assert not (tmp_path / "out").exists()
    code, out, _ = run_cli(
        capsys, registry, "run", "--json", "--out", tmp_path / "out", wf, flag, assignment
    )
    assert code == 1
    payload = json.loads(out)
    summary = payload["runs"][0] if flag == "--sweep" else payload
    assert summary["status"] == "failed"
    node, field = assignment.split("=", maxsplit=1)[0].split(".")
    assert [(e["node"], e["field"]) for e in summary["errors"]] == [(node, field)]
    assert summary["nodes"] == {}


def test_all_bad_overrides_are_reported_at_once(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = write(sum_graph(registry), tmp_path)
    code, _out, err = run_cli(
        capsys, registry, "run", wf, "--set", "a.value=x", "--set", "zz.value=1",
        "--sweep", "b.value=1,y",
    )  # fmt: skip
    assert code == 1
    assert err.splitlines() == [
        "a.value: 'x' is not a valid INT",
        "zz.value: no such node in this workflow",
        "b.value: 'y' is not a valid INT",
    ]


def test_overriding_a_linked_param_is_refused(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = sum_graph(registry)
    graph.add_node("cli.num", id="off", params={"value": 4})
    graph.connect("off", "value", "s", "offset")
    wf = write(graph, tmp_path)
    code, _, err = run_cli(capsys, registry, "run", wf, "--set", "s.offset=1")
    assert code == 1
    assert "s.offset: is fed by a link from off.value; set that node instead" in err
    code, summary = run_json(capsys, registry, tmp_path, wf, "--set", "off.value=10")
    assert (code, recorded(summary)) == (0, ["rec_15.txt"])


@pytest.mark.parametrize(
    "argv",
    [
        ["--set", "a.value"],
        ["--set", "value=1"],
        ["--set", ".value=1"],
        ["--set", "a.=1"],
        ["--sweep", "a.value"],
    ],
)
def test_malformed_assignments_are_usage_errors(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    wf = write(sum_graph(registry), tmp_path)
    code, out, err = run_cli(capsys, registry, "run", wf, *argv)
    assert code == 2
    assert out == ""
    assert f"daguerre: error: {argv[0]} {argv[1]!r}: expected NODE.PARAM=VALUE" in err


def test_a_failing_node_fails_the_run_with_its_error(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = Graph(registry)
    graph.add_node("cli.num", id="n", params={"value": 7})
    graph.add_node("cli.boom", id="boom")
    graph.connect("n", "value", "boom", "x")
    wf = write(graph, tmp_path)
    code, summary = run_json(capsys, registry, tmp_path, wf)
    assert code == 1
    assert summary["status"] == "failed"
    assert summary["nodes"]["n"] == {
        "cached": False,
        "seconds": summary["nodes"]["n"]["seconds"],
        "error": None,
    }
    assert summary["nodes"]["boom"]["error"] == "cannot handle 7"
    assert summary["nodes"]["boom"]["cached"] is False
    assert summary["errors"] == [{"node": "boom", "field": "x", "message": "cannot handle 7"}]

    code, summary = run_json(capsys, registry, tmp_path, wf, "--set", "boom.plain=true")
    assert code == 1
    assert summary["nodes"]["boom"]["error"] == "exploded on 7"
    assert summary["errors"] == [{"node": "boom", "field": None, "message": "exploded on 7"}]

    code, _out, err = run_cli(capsys, registry, "run", "--out", tmp_path / "out", wf)
    assert code == 1
    assert "✗ Boom (boom).x: cannot handle 7" in err
    assert "Traceback" not in err


def test_one_failing_sweep_run_fails_the_command_but_not_the_others(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = Graph(registry)
    graph.add_node("cli.num", id="n")
    graph.add_node("cli.boom", id="boom")
    graph.connect("n", "value", "boom", "x")
    wf = write(graph, tmp_path)
    code, payload = run_json(capsys, registry, tmp_path, wf, "--sweep", "boom.plain=false,true")
    assert code == 1
    assert [r["status"] for r in payload["runs"]] == ["failed", "failed"]
    assert payload["runs"][1]["nodes"]["n"]["cached"] is True


def test_an_invalid_graph_is_reported_and_not_run(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = sum_graph(registry)
    graph.disconnect("s", "a")
    graph.nodes["b"].params["value"] = 5000
    wf = write(graph, tmp_path)
    code, summary = run_json(capsys, registry, tmp_path, wf)
    assert code == 1
    assert summary["status"] == "failed"
    assert summary["nodes"] == {}
    assert summary["errors"] == [
        {"node": "b", "field": "value", "message": "5000 is above the maximum 1000"},
        {"node": "s", "field": "a", "message": "required input is not connected"},
    ]
    code, out, err = run_cli(capsys, registry, "run", wf)
    assert code == 1
    assert "  s.a: required input is not connected" in err.splitlines()
    code, out, err = run_cli(capsys, registry, "run", "--quiet", wf)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "b.value: 5000 is above the maximum 1000",
        "s.a: required input is not connected",
    ]


def test_a_graph_without_outputs_has_nothing_to_run(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = Graph(registry)
    graph.add_node("cli.num", id="n")
    code, summary = run_json(capsys, registry, tmp_path, write(graph, tmp_path))
    assert code == 1
    assert "nothing to run" in summary["errors"][0]["message"]


@pytest.mark.parametrize("sweep", [False, True])
def test_an_unreadable_workflow_fails_with_a_json_summary(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str], sweep: bool
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "daguerre.workflow", "version": 1, "nodes": {"a": 1}}')
    extra = ["--sweep", "a.value=1,2"] if sweep else []
    code, out, err = run_cli(capsys, registry, "run", "--json", bad, *extra)
    assert code == 1
    payload = json.loads(out)
    assert payload.pop("advice") == []
    summary = payload["runs"][0] if sweep else payload
    message = "$.nodes.a: expected a node object, found an integer"
    assert summary == {
        "status": "failed",
        "outputs": [],
        "nodes": {},
        "errors": [{"node": None, "field": None, "message": message}],
    }
    assert message in err
    code, out, err = run_cli(capsys, registry, "run", tmp_path / "missing.json")
    assert code == 1
    assert "no such file" in err


def test_save_text_writes_numbered_files_into_out(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = Graph(load_builtin_nodes(registry))
    graph.add_node("primitive.string", id="text", params={"value": "hello"})
    graph.add_node("utility.save_text", id="save", params={"prefix": "note"})
    graph.connect("text", "value", "save", "text")
    wf = write(graph, tmp_path)
    out_dir = tmp_path / "texts"
    code, out, _ = run_cli(capsys, registry, "run", "--json", "--quiet", "--out", out_dir, wf)
    assert code == 0
    assert json.loads(out)["outputs"] == [str(out_dir / "note_00001.txt")]
    code, out, _ = run_cli(
        capsys, registry, "run", "--json", "--quiet", "--out", out_dir, wf,
        "--sweep", "text.value=a,b",
    )  # fmt: skip
    assert code == 0
    assert [r["outputs"] for r in json.loads(out)["runs"]] == [
        [str(out_dir / "note_00002.txt")],
        [str(out_dir / "note_00003.txt")],
    ]
    assert [(p.name, p.read_text()) for p in sorted(out_dir.iterdir())] == [
        ("note_00001.txt", "hello"),
        ("note_00002.txt", "a"),
        ("note_00003.txt", "b"),
    ]


def test_outputs_default_to_daguerre_home(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str], _home: Path
) -> None:
    wf = write(sum_graph(registry), tmp_path)
    code, out, _ = run_cli(capsys, registry, "run", "--json", "--quiet", wf)
    assert code == 0
    assert json.loads(out)["outputs"] == [str(_home / "output" / "rec_5.txt")]
