"""Atomic workflow saves: a failed or interrupted save leaves the old file and no temp
files, unsaveable values are refused before writing, folders are created and
permissions kept (see docs/ARCHITECTURE.md, "Workflow files")."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from nodes.graph import Graph
from nodes.registry import Registry
from nodes.workflow import (
    WorkflowError,
    load_file,
    save_file,
    to_dict,
)
from tests.engine.workflow_helpers import rich_graph
from tests.stubs import file_registry


@pytest.fixture
def registry() -> Registry:
    return file_registry()


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- atomic saves


def _saved_original(tmp_path: Path, registry: Registry) -> tuple[Path, bytes, Graph]:
    graph = rich_graph(registry)
    path = save_file(graph, tmp_path / "work.json")
    return path, path.read_bytes(), graph


@pytest.mark.parametrize("failing", ["fsync", "replace", "write"])
def test_a_failed_save_leaves_the_old_file_and_no_temp_files(
    tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path, before, graph = _saved_original(tmp_path, registry)
    graph.set_param("a", "value", 99)

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    if failing == "write":
        original_fdopen = os.fdopen

        class FailingFile:
            def __init__(self, handle: Any) -> None:
                self.handle = handle

            def __enter__(self) -> FailingFile:
                return self

            def __exit__(self, *exc: object) -> None:
                self.handle.close()

            def write(self, data: bytes) -> int:
                self.handle.write(data[: len(data) // 2])  # half written, then the disk fills
                raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "fdopen", lambda *a, **k: FailingFile(original_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="No space left"):
        save_file(graph, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["work.json"]
    assert load_file(path, registry).nodes["a"].params["value"] == 2


def test_an_interrupted_save_leaves_no_temp_file(
    tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, before, graph = _saved_original(tmp_path, registry)

    def interrupt(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_file(graph, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["work.json"]


@pytest.mark.parametrize(
    "bad",
    [object(), float("nan"), float("inf"), {1j: 2}, "\ud800 lone surrogate"],
    ids=["object", "nan", "inf", "complex-key", "surrogate"],
)
def test_an_unserialisable_value_is_refused_before_writing(
    tmp_path: Path, registry: Registry, bad: Any
) -> None:
    path, before, graph = _saved_original(tmp_path, registry)
    graph.nodes["a"].params["value"] = bad  # bypasses checks, as a buggy node could
    with pytest.raises(WorkflowError, match=r"^\$: cannot be saved"):
        save_file(graph, path)
    assert path.read_bytes() == before
    assert files_in(tmp_path) == ["work.json"]


def test_a_circular_document_is_refused(tmp_path: Path, registry: Registry) -> None:
    graph = rich_graph(registry)
    loop: list[Any] = []
    loop.append(loop)
    graph.metadata["loop"] = loop
    with pytest.raises(WorkflowError, match="cannot be saved as JSON"):
        save_file(graph, tmp_path / "w.json")
    assert files_in(tmp_path) == []


def test_save_creates_folders_and_replaces_old_files(tmp_path: Path, registry: Registry) -> None:
    graph = rich_graph(registry)
    target = tmp_path / "deep" / "er" / "w.json"
    assert save_file(graph, target) == target
    graph.set_param("a", "value", 11)
    save_file(graph, target)
    assert load_file(target, registry).nodes["a"].params["value"] == 11
    assert files_in(target.parent) == ["w.json"]
    save_file(to_dict(graph), tmp_path / "from-dict.json")  # a document saves too
    assert (tmp_path / "from-dict.json").read_bytes() == target.read_bytes()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_saves_respect_the_umask_and_keep_permissions(tmp_path: Path, registry: Registry) -> None:
    graph = rich_graph(registry)
    old_umask = os.umask(0o022)
    try:
        fresh = save_file(graph, tmp_path / "fresh.json")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644  # not mkstemp's private 0o600
    shared = tmp_path / "shared.json"
    shared.write_text("{}")
    shared.chmod(0o664)
    save_file(graph, shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o664
