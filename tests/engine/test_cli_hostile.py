"""The command line against hostile input: terminal escape sequences in what a file holds
never reach the terminal raw (``info``, ``validate``, ``run``'s progress and summary), and
an absurd ``--sweep`` is refused up front while a large one is expanded lazily."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nodes import runner as runner_module
from nodes.cli import common
from nodes.library import load_builtin_nodes
from nodes.registry import Registry
from nodes.runner import Runner
from nodes.workflow import to_dict
from nodes.workflow.png import RECORD_KEY, WORKFLOW_KEY, encode_png
from tests.engine.cli_helpers import run_cli, sum_graph, write
from tests.stubs import cli_registry

pytestmark = pytest.mark.usefixtures("_home")

EVIL = "\x1b]0;pwned\x07\x1b[2J\x9b31m\r\u202e\x00\x7f"
"""Sets the window title, clears the screen, a C1 CSI, a carriage return, a bidi override,
NUL and DEL."""

RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
"""What must never be printed raw (newlines are the CLI's own)."""


@pytest.fixture
def registry() -> Registry:
    return cli_registry()


def _assert_clean(*texts: str) -> None:
    for text in texts:
        found = RAW.findall(text)
        assert not found, f"raw control characters {found!r} in {text!r}"


def _hostile_document(registry: Registry) -> dict[str, Any]:
    """The summing workflow with escape sequences in a title, a type, a param's name and
    value, the workflow's title and an import note. (Node ids are refused on loading.)"""
    graph = sum_graph(registry)
    graph.nodes["a"].title = f"Title{EVIL}"
    doc = to_dict(graph)
    doc["metadata"] = {"title": f"Work{EVIL}", "import_notes": [f"note{EVIL}\nsecond line"]}
    doc["nodes"]["ghost"] = {
        "type": f"ghost{EVIL}",
        "type_version": "1.0.0",
        "position": [0.0, 0.0],
        "params": {f"p{EVIL}": f"v{EVIL}"},
    }
    doc["nodes"]["b"]["params"]["value"] = f"x{EVIL}"  # not an int: quoted by validation
    return doc


def _write_doc(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the helper


def test_printable_escapes_control_characters_and_keeps_the_rest() -> None:
    printable, json_text = common.printable, common.json_text
    assert printable("plain é 日本 ✓") == "plain é 日本 ✓"
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert printable("a\nb\tc\r") == "a\\nb\\tc\\r"
    assert printable("a\nb", newlines=True) == "a\nb"
    assert printable("\x9b\x7f\u202e\u2028\x00") == "\\x9b\\x7f\\u202e\\u2028\\x00"
    assert printable(3) == "3"
    text = json_text({"k\x9b": "v\u202e\x1b"}, indent=None)
    _assert_clean(text)
    assert json.loads(text) == {"k\x9b": "v\u202e\x1b"}


# --------------------------------------------------------------------------- info


def test_info_escapes_everything_it_read_from_a_workflow(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = _write_doc(tmp_path, _hostile_document(registry))
    code, out, err = run_cli(capsys, registry, "info", wf)
    assert code == 0
    _assert_clean(out, err)
    assert "Title\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\r\\u202e\\x00\\x7f" in out
    assert "Work\\x1b]0;pwned" in out and "ghost\\x1b]0;pwned" in out
    assert "note\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\r\\u202e\\x00\\x7f\\nsecond line" in out
    # a newline inside a value never starts a line of its own
    assert not any(line.startswith("second line") for line in out.splitlines())


def test_info_json_is_the_same_data_with_nothing_raw(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = _write_doc(tmp_path, _hostile_document(registry))
    code, out, _ = run_cli(capsys, registry, "info", "--json", wf)
    assert code == 0
    _assert_clean(out)
    summary = json.loads(out)
    assert summary["workflow"]["title"] == f"Work{EVIL}"
    titles = {node["id"]: node["title"] for node in summary["workflow"]["nodes"]}
    assert titles["a"] == f"Title{EVIL}"


def test_info_escapes_a_png_record(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    record = {"daguerre": f"9.9{EVIL}", "samplers": [{"seed": 1, "node": f"n{EVIL}"}]}
    texts = {
        WORKFLOW_KEY: json.dumps(to_dict(sum_graph(registry))),
        RECORD_KEY: json.dumps(record, ensure_ascii=False),
    }
    png = tmp_path / "evil.png"
    png.write_bytes(encode_png(np.zeros((4, 4, 3), dtype=np.uint8), texts))
    code, out, err = run_cli(capsys, registry, "info", png)
    assert code == 0
    _assert_clean(out, err)
    assert "9.9\\u001b]0;pwned" in out or "9.9\\x1b]0;pwned" in out
    code, out, _ = run_cli(capsys, registry, "info", "--json", png)
    _assert_clean(out)
    assert json.loads(out)["record"] == record


# --------------------------------------------------------------------------- validate


def test_validate_prints_one_escaped_line_per_problem(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _hostile_document(registry)
    # the unknown node feeds an output, so its problem is an error, not advice
    doc["nodes"]["rec_ghost"] = {"type": "cli.record", "position": [0.0, 0.0], "params": {}}
    doc["links"].append({"from": ["ghost", "out"], "to": ["rec_ghost", "value"]})
    wf = _write_doc(tmp_path, doc)
    code, out, err = run_cli(capsys, registry, "validate", wf)
    assert code == 1
    _assert_clean(out, err)
    lines = out.splitlines()
    assert lines and all(re.match(r"^[^ ]+: ", line) for line in lines), lines
    assert any(line.startswith("ghost: ") and "ghost\\x1b]0;" in line for line in lines)
    assert any(line.startswith("b.value: ") and "\\x1b]0;" in line for line in lines)
    assert "note\\x1b]0;pwned" in err and "\\nsecond line" in err


def test_an_unreadable_file_message_is_escaped(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = to_dict(sum_graph(registry))
    doc["nodes"][f"id{EVIL}"] = doc["nodes"].pop("a")
    wf = _write_doc(tmp_path, doc)
    for command in ("validate", "info", "run", "export"):
        extra = ("--comfy-api", "-o", str(tmp_path / "out.json")) if command == "export" else ()
        code, out, err = run_cli(capsys, registry, command, *extra, wf)
        assert code == 1, command
        _assert_clean(out, err)
        assert "node ids are" in out + err  # the message, its quote escaped


# --------------------------------------------------------------------------- run


def test_run_progress_and_summary_escape_titles_ids_and_messages(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = sum_graph(load_builtin_nodes(registry))
    graph.nodes["s"].title = f"Adder{EVIL}"
    graph.add_node("primitive.string", id="evil", params={"value": f"payload{EVIL}"})
    graph.add_node("cli.boom", id="boom")
    graph.connect("evil", "value", "boom", "x")
    wf = write(graph, tmp_path)
    for quiet in ([], ["--quiet"]):
        code, out, err = run_cli(capsys, registry, "run", "--out", tmp_path / "out", *quiet, wf)
        assert code == 1
        _assert_clean(out, err)
        assert "cannot handle payload\\x1b]0;pwned\\x07" in err
    code, out, err = run_cli(capsys, registry, "run", "--out", tmp_path / "out", wf)
    assert "Adder\\x1b]0;pwned" in err


# --------------------------------------------------------------------------- sweeps


class _SpyRunner(Runner):
    """Counts the runs submitted and not yet waited for; refuses to queue absurd counts
    (so that a regression fails fast instead of filling the memory)."""

    submitted = 0
    most_outstanding = 0
    outstanding: set[int]

    def submit(self, *args: Any, **kwargs: Any) -> int:
        if type(self).submitted >= 20_000:
            raise AssertionError("more runs submitted than any sweep may make")
        run_id = super().submit(*args, **kwargs)
        if not hasattr(self, "outstanding"):
            self.outstanding = set()
        self.outstanding.add(run_id)
        type(self).submitted += 1
        type(self).most_outstanding = max(type(self).most_outstanding, len(self.outstanding))
        return run_id

    def wait(self, run_id: int, timeout: float | None = None) -> Any:
        outcome = super().wait(run_id, timeout)
        self.outstanding.discard(run_id)
        return outcome


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> type[_SpyRunner]:
    _SpyRunner.submitted = _SpyRunner.most_outstanding = 0
    monkeypatch.setattr(runner_module, "Runner", _SpyRunner)  # what open_runner makes
    return _SpyRunner


def _values(start: int, count: int) -> str:
    return ",".join(str(v) for v in range(start, start + count))


def test_an_absurd_sweep_is_refused_before_anything_is_expanded(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str], spy
) -> None:
    wf = write(sum_graph(registry), tmp_path)
    sweeps = ["a.value=" + _values(1, 100), "b.value=" + _values(1, 100)]
    sweeps.append("s.offset=" + _values(-50, 100))
    argv = [arg for sweep in sweeps for arg in ("--sweep", sweep)]
    code, out, err = run_cli(capsys, registry, "run", "--json", wf, *argv)
    assert code == 2
    assert spy.submitted == 0
    assert "1,000,000 runs" in err and "10,000" in err
    assert "Traceback" not in err and out == ""


def test_a_large_sweep_is_submitted_lazily_and_reports_every_run(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str], spy
) -> None:
    """More runs than the runner keeps outcomes for, never more than two queued at once."""
    wf = write(sum_graph(registry), tmp_path)
    code, out, _ = run_cli(
        capsys, registry, "run", "--json", "--quiet", "--out", tmp_path / "out", wf,
        "--sweep", "a.value=" + _values(1, 300), "--sweep", "b.value=0,1",
    )  # fmt: skip
    assert code == 0
    runs = json.loads(out)["runs"]
    assert len(runs) == spy.submitted == 600
    assert {r["status"] for r in runs} == {"done"}
    assert [Path(r["outputs"][0]).name for r in runs[:3]] == ["rec_1.txt", "rec_2.txt", "rec_2.txt"]
    assert spy.most_outstanding <= 2
