"""The ``daguerre`` command line: run (JSON summary, sweeps, overrides, failures, Ctrl+C,
device and acceleration flags), validate (exit codes, one line per problem), nodes
(schemas) and usage errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nodes import cli
from nodes.cli import run as run_command
from nodes.cli import validate as validate_command
from nodes.context import Environment
from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.registry import Registry
from nodes.settings import Settings
from nodes.workflow import save_file
from tests.stubs import CliCtrlC, CliEnvProbe, cli_registry


@pytest.fixture
def registry() -> Registry:
    return cli_registry()


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing the CLI writes by default may reach the user's home or the repository."""
    home = tmp_path / "home"
    monkeypatch.setenv("DAGUERRE_HOME", str(home))
    monkeypatch.delenv("DAGUERRE_MODELS", raising=False)
    monkeypatch.chdir(tmp_path)
    return home


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


# --------------------------------------------------------------------------- run


def test_run_json_prints_the_documented_summary(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = write(sum_graph(registry), tmp_path)
    code, summary = run_json(capsys, registry, tmp_path, wf)
    assert code == 0
    assert set(summary) == {"status", "outputs", "nodes", "errors"}
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
    assert set(payload) == {"runs"}
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


# --------------------------------------------------------------------------- device, acceleration


def probe_env(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str], *flags: str
) -> Environment:
    """The environment of one run of a workflow of one :class:`CliEnvProbe`, with ``flags``."""
    graph = Graph(registry)
    graph.add_node(CliEnvProbe.type_id, id="probe")
    CliEnvProbe.seen.clear()
    code, out, err = run_cli(capsys, registry, "run", "--quiet", write(graph, tmp_path), *flags)
    assert (code, out, err) == (0, "", "")
    (env,) = CliEnvProbe.seen
    return env


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "mps", "cuda:0", "cuda:1", "cuda:12"])
def test_device_accepts_the_menu_and_gpus_by_index(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str], device: str
) -> None:
    assert cli.build_parser().parse_args(["run", "wf.json", "--device", device]).device == device
    assert probe_env(tmp_path, registry, capsys, "--device", device).device == device


def test_device_defaults_to_the_setting(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert probe_env(tmp_path, registry, capsys).device == "auto"
    Settings(device="cuda:2").save()
    assert probe_env(tmp_path, registry, capsys).device == "cuda:2"
    assert probe_env(tmp_path, registry, capsys, "--device", "cpu").device == "cpu"


@pytest.mark.parametrize("device", ["cuda:x", "cuda:", "cuda:-1", "cuda:1.5", "gpu:0", "tpu", ""])
def test_a_bad_device_is_a_usage_error_that_says_what_is_valid(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str], device: str
) -> None:
    code, out, err = run_cli(capsys, registry, "run", "wf.json", "--device", device)
    assert (code, out) == (2, "")
    assert "usage: daguerre" in err
    assert (
        f"error: argument --device: invalid device {device!r}: choose auto, cpu, cuda, mps, "
        "or cuda:N for the GPU with index N (e.g. cuda:1)"
    ) in err


def test_acceleration_flag_wins_over_the_environment_variable_which_wins_over_the_setting(
    tmp_path: Path,
    registry: Registry,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DAGUERRE_ACCELERATION", raising=False)
    assert probe_env(tmp_path, registry, capsys).acceleration == "auto"
    Settings(acceleration="off").save()
    assert probe_env(tmp_path, registry, capsys).acceleration == "off"
    for flag in ("auto", "off", "graphs", "compile"):
        env = probe_env(tmp_path, registry, capsys, "--acceleration", flag)
        assert env.acceleration == flag
    monkeypatch.setenv("DAGUERRE_ACCELERATION", "graphs")
    assert probe_env(tmp_path, registry, capsys).acceleration == "graphs"
    env = probe_env(tmp_path, registry, capsys, "--acceleration", "compile")
    assert env.acceleration == "compile"
    env = probe_env(tmp_path, registry, capsys, "--acceleration", "off")
    assert env.acceleration == "off"
    monkeypatch.setenv("DAGUERRE_ACCELERATION", "warp-speed")  # not valid: the setting counts
    assert probe_env(tmp_path, registry, capsys).acceleration == "off"


def test_a_bad_acceleration_is_a_usage_error(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, registry, "run", "wf.json", "--acceleration", "turbo")
    assert (code, out) == (2, "")
    assert "argument --acceleration: invalid choice: 'turbo'" in err
    code, out, _ = run_cli(capsys, registry, "run", "--help")
    assert code == 0
    assert "--acceleration {auto,off,graphs,compile}" in out
    assert "--device {auto,cpu,cuda,mps,cuda:N}" in out


# --------------------------------------------------------------------------- Ctrl+C


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    """Make sure SIGINT raises KeyboardInterrupt (a background shell may ignore it)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    CliCtrlC.release.clear()
    try:
        yield
    finally:
        CliCtrlC.release.set()
        signal.signal(signal.SIGINT, previous)


def _main_catching_interrupts(argv: list[str], registry: Registry) -> int:
    try:
        return cli.main(argv, registry=registry)
    except KeyboardInterrupt:
        pytest.fail("Ctrl+C escaped from cli.main")


@pytest.mark.usefixtures("sigint_raises")
def test_ctrl_c_cancels_the_run_and_exits_130(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = Graph(registry)
    graph.add_node("cli.ctrlc", id="wait")
    wf = write(graph, tmp_path)
    began = time.monotonic()
    code = _main_catching_interrupts(["run", "--json", str(wf)], registry)
    took = time.monotonic() - began
    out, err = capsys.readouterr()
    assert code == 130
    assert took < 4.0  # cancelled, not waited out
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "cancelling" in err
    summary = json.loads(out)
    assert summary["status"] == "cancelled"
    assert summary["nodes"]["wait"]["error"] is None


@pytest.mark.usefixtures("sigint_raises")
def test_ctrl_c_during_a_sweep_cancels_the_queued_runs(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = Graph(registry)
    graph.add_node("cli.ctrlc", id="wait")
    wf = write(graph, tmp_path)
    argv = ["run", "--json", "--quiet", str(wf), "--sweep", "wait.obey=true,true,true"]
    code = _main_catching_interrupts(argv, registry)
    out, err = capsys.readouterr()
    assert code == 130
    assert "Traceback" not in err
    assert [r["status"] for r in json.loads(out)["runs"]] == ["cancelled"] * 3


@pytest.mark.usefixtures("sigint_raises")
def test_an_immediate_ctrl_c_is_handled_wherever_it_lands(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no delay the interrupt may hit while runs are still being queued."""
    graph = Graph(registry)
    graph.add_node("cli.ctrlc", id="wait", params={"delay": 0.0})
    wf = write(graph, tmp_path)
    for _ in range(3):
        argv = ["run", "--json", "--quiet", str(wf), "--sweep", "wait.obey=true,true"]
        code = _main_catching_interrupts(argv, registry)
        out, err = capsys.readouterr()
        assert code == 130
        assert "Traceback" not in err
        runs = json.loads(out)["runs"]
        assert 1 <= len(runs) <= 2
        assert {r["status"] for r in runs} == {"cancelled"}


@pytest.mark.usefixtures("sigint_raises")
def test_a_second_ctrl_c_quits_even_if_a_node_ignores_the_cancel(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = Graph(registry)
    graph.add_node("cli.ctrlc", id="stuck", params={"obey": False})
    wf = write(graph, tmp_path)
    began = time.monotonic()
    code = _main_catching_interrupts(["run", "--json", "--quiet", str(wf)], registry)
    took = time.monotonic() - began
    CliCtrlC.release.set()
    out, err = capsys.readouterr()
    assert code == 130
    assert took < 4.0
    assert "Traceback" not in err
    assert json.loads(out)["status"] == "cancelled"


def test_ctrl_c_while_loading_exits_130(
    tmp_path: Path,
    registry: Registry,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wf = write(sum_graph(registry), tmp_path)

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(run_command, "load_file", interrupted)
    monkeypatch.setattr(validate_command, "load_file", interrupted)
    for command in ("run", "validate"):
        code, _out, err = run_cli(capsys, registry, command, wf)
        assert code == 130
        assert "Traceback" not in err


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
    wf = write(graph, tmp_path)
    doc = json.loads(wf.read_text())
    doc["nodes"]["alien"] = {"type": "vendor.alien", "type_version": "1.0.0"}
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
        "show.value: required input is not connected\n",
    )
    usage = daguerre("validate")
    assert usage.returncode == 2
    assert "usage: daguerre" in usage.stderr
    ran = daguerre("run", "--json", "--quiet", good)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["status"] == "done"
