"""Hostile prefixes: whatever a workflow file puts in the ``prefix`` of Save Image or Save
Text — absolute paths, ``..``, NUL, newlines, reserved device names, very long or
non-ASCII names — the real nodes write only inside the output folder, under a name every
platform accepts, and report exactly the files they wrote."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nodes.context import Environment
from nodes.executor import Executor
from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.registry import Registry

OUTSIDE = "@OUTSIDE@"
"""Replaced by an absolute path to a folder in the test's sandbox: every absolute prefix
points there, so a regression writes into the sandbox, never into the system's folders."""

HOSTILE = [
    f"{OUTSIDE}/escaped",
    f"{OUTSIDE}\\escaped",
    f"\\\\?\\{OUTSIDE}\\escaped",
    f"{OUTSIDE}/../outside/escaped",
    "..",
    ".",
    "../escaped",
    "../../escaped",
    "a/../../escaped",
    "..\\..\\escaped",
    "sub/dir/name",
    "~/escaped",
    "$HOME/escaped",
    "%APPDATA%\\escaped",
    "\x00",
    "name\x00/../../escaped",
    "line\nbreak",
    "\r\n",
    "tab\tand\x1b[2Jescape",
    "CON",
    "nul",
    "Com1",
    "LPT9",
    "aux.txt",
    "CON .",
    "trailing. ",
    " ",
    "",
    "-rf",
    ".hidden",
    "x" * 5000,
    "é" * 300,
    "日本語",
    "\u202eevil\u200b",
    'a:b*c?d"e<f>g|h',
]

RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)", re.IGNORECASE)


def _name_is_portable(name: str) -> bool:
    """A plain file name on Linux, macOS and Windows alike."""
    return (
        0 < len(name.encode("utf-8")) <= 255
        and not any(ord(c) < 32 or c in '<>:"/\\|?*' for c in name)
        and not name.startswith((".", " "))
        and not name.endswith((".", " "))
        and not RESERVED.match(name)
    )


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_builtin_nodes(Registry())


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``sandbox/deep/er/out`` is the output folder (so two ``..`` stay in the sandbox);
    ``sandbox/cwd`` the working folder; the PNG to save lies in ``sandbox/in``;
    ``sandbox/outside`` is where OUTSIDE points."""
    for name in ("deep/er/out", "cwd", "in", "outside"):
        (tmp_path / name).mkdir(parents=True)
    Image.fromarray(np.full((8, 8, 3), 120, dtype=np.uint8)).save(tmp_path / "in" / "p.png")
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path


def _files_under(root: Path) -> set[Path]:
    found = set()
    for folder, dirs, files in os.walk(root):
        found.update(Path(folder) / name for name in files + dirs)
    return found


def _run_save(registry: Registry, sandbox: Path, node_type: str, prefix: str) -> list[str]:
    graph = Graph(registry)
    if node_type == "image.save":
        graph.add_node("image.load", id="load", params={"path": str(sandbox / "in" / "p.png")})
        graph.add_node("image.save", id="save", params={"prefix": prefix})
        graph.connect("load", "image", "save", "image")
    else:
        graph.add_node("primitive.string", id="text", params={"value": "hello"})
        graph.add_node("utility.save_text", id="save", params={"prefix": prefix})
        graph.connect("text", "value", "save", "text")
    env = Environment(output_dir=sandbox / "deep" / "er" / "out", device="cpu", previews=False)
    outcome = Executor(env=env).run(graph)
    assert outcome.status == "done", (outcome.error, outcome.problems)
    return outcome.outputs


@pytest.mark.parametrize("node_type", ["image.save", "utility.save_text"])
@pytest.mark.parametrize("raw", HOSTILE, ids=[ascii(p)[:40] for p in HOSTILE])
def test_a_hostile_prefix_writes_only_inside_the_output_folder(
    registry: Registry, sandbox: Path, node_type: str, raw: str
) -> None:
    prefix = raw.replace(OUTSIDE, str(sandbox / "outside"))
    before = _files_under(sandbox)
    outputs = [Path(p) for p in _run_save(registry, sandbox, node_type, prefix)]
    # a second save with the same prefix numbers on, never over the first file
    outputs += [Path(p) for p in _run_save(registry, sandbox, node_type, prefix)]

    written = _files_under(sandbox) - before
    out = (sandbox / "deep" / "er" / "out").resolve()
    assert written == set(outputs)  # every file written is reported, nothing else
    assert len(written) == 2
    for path in written:
        assert path.resolve().parent == out, path
        assert path.is_file() and not path.is_symlink()
        assert _name_is_portable(path.name), ascii(path.name)
    assert list((sandbox / "outside").iterdir()) == []
    assert list((sandbox / "cwd").iterdir()) == []
