"""Every ``daguerre`` command whose stdout reader goes away (``daguerre info FILE | head``)
stops quietly, as Unix tools do: exit 141 and no traceback (argparse's ``--help`` already
ignores a closed stdout)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nodes.cli import EXIT_PIPE

pytestmark = pytest.mark.usefixtures("_home")

ROOT = Path(__file__).resolve().parents[2]
TXT2IMG = ROOT / "resources" / "workflows" / "txt2img.json"
DAGUERRE = [sys.executable, "-m", "desktop.launcher"]
"""The console script's entry point (``daguerre``), with this interpreter."""


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "DAGUERRE_HOME": str(home), "PYTHONIOENCODING": "utf-8"}


def _into_closed_pipe(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with stdout a pipe whose reader has already gone: the first write to
    it fails (EPIPE), every time, not only when a reader happens to be slow."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [*DAGUERRE, *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(home),
            cwd=ROOT,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ("info", str(TXT2IMG)),
        ("info", "--json", str(TXT2IMG)),
        ("nodes",),
        ("nodes", "--json"),
        ("models",),
        ("templates",),
        ("export", "--comfy-api", str(TXT2IMG)),
        ("validate", str(TXT2IMG)),  # its missing models, one line each on stdout
    ],
    ids=lambda args: " ".join(a for a in args if "/" not in a),
)
def test_a_closed_stdout_ends_the_command_quietly(_home: Path, args: tuple[str, ...]) -> None:
    done = _into_closed_pipe(_home, *args)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == EXIT_PIPE


def test_a_run_whose_summary_reader_went_away_ends_quietly(_home: Path, tmp_path: Path) -> None:
    from nodes.graph import Graph
    from nodes.library import load_builtin_nodes
    from nodes.registry import Registry
    from nodes.workflow import save_file

    graph = Graph(load_builtin_nodes(Registry()))
    graph.add_node("primitive.int", id="n", params={"value": 4})
    graph.add_node("utility.display", id="show")
    graph.connect("n", "value", "show", "value")
    workflow = save_file(graph, tmp_path / "small.json")
    done = _into_closed_pipe(_home, "run", "--json", "--quiet", str(workflow))
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == EXIT_PIPE


def test_piped_to_head_prints_the_first_line_and_no_traceback(_home: Path) -> None:
    script = f"set -o pipefail; {' '.join(DAGUERRE)} nodes --json | head -1"
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        env=_env(_home),
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.stdout == "[\n"
    assert done.stderr == ""
    assert done.returncode in (0, EXIT_PIPE)  # 0 when head read it all before leaving


def test_output_still_reaches_a_reader_that_stays(_home: Path) -> None:
    done = subprocess.run(
        [*DAGUERRE, "info", str(TXT2IMG)],
        capture_output=True,
        text=True,
        env=_env(_home),
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{TXT2IMG}: daguerre")
