"""Output names are claimed atomically: processes and threads saving into one folder with
one prefix never overwrite each other's files (each image reopens with its own embedded
workflow), numbering stays ``prefix_00001.png`` onwards, an existing file is never
replaced, and no temp file is left behind."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from nodes.context import CancelToken, Environment, NodeContext
from nodes.library.images import save_pngs
from nodes.library.utility import SaveTextNode
from nodes.workflow import io as workflow_io
from nodes.workflow.io import write_numbered
from nodes.workflow.png import WORKFLOW_KEY, embedded_workflow
from tests.engine.workflow_helpers import base_doc

WORKERS, EACH = 4, 25


def _texts(label: str) -> dict[str, str]:
    return {WORKFLOW_KEY: json.dumps(base_doc(metadata={"image": label}))}


def _save_batch(folder: str, worker: int, start: Any) -> None:
    """One worker: EACH images saved one by one, each carrying its own label."""
    start.wait()
    rng = np.random.default_rng(worker)
    for n in range(EACH):
        pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        save_pngs(Path(folder), "shot", [pixels], _texts(f"{worker}-{n}"))


def _check_all_saved(folder: Path) -> None:
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"shot_{n:05d}.png" for n in range(1, WORKERS * EACH + 1)]
    labels = {embedded_workflow(folder / name)["metadata"]["image"] for name in names}
    assert labels == {f"{w}-{n}" for w in range(WORKERS) for n in range(EACH)}


def test_processes_saving_into_one_folder_lose_no_image(tmp_path: Path) -> None:
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context: Any = multiprocessing.get_context(method)
    start = context.Barrier(WORKERS)
    workers = [
        context.Process(target=_save_batch, args=(str(tmp_path), w, start)) for w in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    _check_all_saved(tmp_path)


def test_threads_saving_into_one_folder_lose_no_image(tmp_path: Path) -> None:
    start = threading.Barrier(WORKERS)
    workers = [
        threading.Thread(target=_save_batch, args=(str(tmp_path), w, start)) for w in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    _check_all_saved(tmp_path)


def test_save_text_nodes_in_threads_lose_no_text(tmp_path: Path) -> None:
    start = threading.Barrier(WORKERS)
    env = Environment(output_dir=tmp_path)

    def save(worker: int) -> None:
        start.wait()
        for n in range(EACH):
            ctx = NodeContext(env, 1, "save", lambda event: None, CancelToken())
            SaveTextNode().run(ctx, text=f"{worker}-{n}\n", prefix="notes")

    workers = [threading.Thread(target=save, args=(w,)) for w in range(WORKERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"notes_{n:05d}.txt" for n in range(1, WORKERS * EACH + 1)]
    texts = {(tmp_path / name).read_bytes() for name in names}
    assert texts == {f"{w}-{n}\n".encode() for w in range(WORKERS) for n in range(EACH)}


def test_an_existing_file_is_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "shot_00003.png"
    mine.write_bytes(b"the user's own file")
    assert write_numbered(tmp_path, "shot", ".png", b"a").name == "shot_00004.png"
    # another writer took 00005 between our scan and our claim: we take the next one
    real_next = workflow_io.next_numbered
    calls: list[Path] = []

    def stale_scan(folder: Path, prefix: str, suffix: str) -> Path:
        found = real_next(folder, prefix, suffix)
        if not calls:
            (folder / "shot_00005.png").write_bytes(b"theirs")
        calls.append(found)
        return found

    monkeypatch.setattr(workflow_io, "next_numbered", stale_scan)
    assert write_numbered(tmp_path, "shot", ".png", b"b").name == "shot_00006.png"
    assert mine.read_bytes() == b"the user's own file"
    assert (tmp_path / "shot_00005.png").read_bytes() == b"theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "shot_00003.png",
        "shot_00004.png",
        "shot_00005.png",
        "shot_00006.png",
    ]


def test_without_hard_links_names_are_claimed_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FAT drives and some network shares have no hard links."""

    def no_links(*args: Any, **kwargs: Any) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    (tmp_path / "shot_00001.png").write_bytes(b"old")
    assert write_numbered(tmp_path, "shot", ".png", b"new").name == "shot_00002.png"
    assert (tmp_path / "shot_00001.png").read_bytes() == b"old"
    assert (tmp_path / "shot_00002.png").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot_00001.png", "shot_00002.png"]


def test_a_failed_save_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*args: Any, **kwargs: Any) -> None:
        raise PermissionError(1, "Operation not permitted")

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", no_links)
    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError, match="No space left"):
        write_numbered(tmp_path, "shot", ".png", b"x")
    assert list(tmp_path.iterdir()) == []  # neither the temp file nor the empty claim


@pytest.mark.skipif(fcntl is None, reason="temp files are told by their lock")
def test_a_killed_save_s_temp_file_goes_with_the_next_save(tmp_path: Path) -> None:
    stale = tmp_path / ".shot_NNNNN.png.daguerre-0badf00d.tmp"
    stale.write_bytes(b"half an image")
    other = tmp_path / ".other_NNNNN.png.daguerre-0badf00d.tmp"
    other.write_bytes(b"half an image")
    assert write_numbered(tmp_path, "shot", ".png", b"png").name == "shot_00001.png"
    assert not stale.exists() and other.exists()
