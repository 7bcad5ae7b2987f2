"""Steering a ``daguerre run``: the ``--device`` and ``--acceleration`` flags (and the
setting and environment variable under them), and Ctrl+C (cancel, exit 130, no
traceback)."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodes import cli
from nodes.cli import run as run_command
from nodes.cli import validate as validate_command
from nodes.context import Environment
from nodes.graph import Graph
from nodes.registry import Registry
from nodes.settings import Settings
from tests.engine.cli_helpers import run_cli, sum_graph, write
from tests.stubs import CliCtrlC, CliEnvProbe, cli_registry

pytestmark = pytest.mark.usefixtures("_home")


@pytest.fixture
def registry() -> Registry:
    return cli_registry()


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
