"""Hostile files: FIFOs, devices and sockets are refused before they are opened, whatever
reads them (workflow files, PNGs, file params); everything read has a size cap; a PNG
whose workflow is larger than Pillow's 1 MiB text limit still opens, and nothing larger
than what reading accepts is ever written; and saves killed with SIGKILL at random
moments leave the old or the new file, never a broken one, and temp files that the next
save removes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from nodes.graph import Graph
from nodes.paths import FileFinder, default_resolver
from nodes.validation import validate
from nodes.workflow import WorkflowError, load_file, save_file
from nodes.workflow import io as workflow_io
from nodes.workflow import png as workflow_png
from nodes.workflow.png import (
    COMFY_PROMPT_KEY,
    COMFY_WORKFLOW_KEY,
    WORKFLOW_KEY,
    embedded_workflow,
    encode_png,
    png_texts,
    read_png_texts,
)
from tests.engine.workflow_helpers import base_doc
from tests.stubs import file_registry

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
PILLOW_TEXT_CHUNK = 1024 * 1024  # Pillow's own limits, which made large workflows unreadable
PILLOW_TEXT_MEMORY = 64 * PILLOW_TEXT_CHUNK


@pytest.fixture
def pillow_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow's limits as a fresh process has them (another test may have raised them)."""
    monkeypatch.setattr(PngImagePlugin, "MAX_TEXT_CHUNK", PILLOW_TEXT_CHUNK)
    monkeypatch.setattr(PngImagePlugin, "MAX_TEXT_MEMORY", PILLOW_TEXT_MEMORY)


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --------------------------------------------------------------- FIFOs, devices, sockets


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    yield path


def _refused_quickly(call: Callable[[], Any], fifo: Path) -> BaseException:
    """Run ``call`` on a thread; if it blocks (opening the FIFO), unblock it by opening
    the FIFO for writing, and fail. Returns what it raised."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(5.0)
    if worker.is_alive():
        with contextlib.suppress(OSError):  # a reader is blocked in open(): let it go
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5.0)
        pytest.fail(f"{call} blocked on the FIFO")
    (raised,) = outcome
    assert raised is not None, "a FIFO was read as a file"
    return raised


@posix_only
@pytest.mark.parametrize(
    "read",
    [load_file, read_png_texts, embedded_workflow],
    ids=["load_file", "read_png_texts", "embedded_workflow"],
)
def test_a_fifo_is_refused_without_blocking(fifo: Path, read: Callable[[Path], Any]) -> None:
    raised = _refused_quickly(lambda: read(fifo), fifo)
    assert isinstance(raised, WorkflowError)
    assert str(fifo) in raised.message and "named pipe (FIFO)" in raised.message


def _open_any(path: Path) -> Any:
    from nodes.comfy import open_any

    return open_any(path)


@posix_only
def test_open_any_refuses_a_fifo_too(fifo: Path) -> None:
    """What the CLI's run/validate/info/export and File › Open read through."""
    raised = _refused_quickly(lambda: _open_any(fifo), fifo)
    assert isinstance(raised, WorkflowError) and "named pipe (FIFO)" in raised.message


@posix_only
def test_a_socket_is_refused_as_a_socket(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        with pytest.raises(WorkflowError, match="is a socket, not a workflow file"):
            load_file(path)
        with pytest.raises(WorkflowError, match="is a socket, not an image"):
            read_png_texts(path)
    finally:
        server.close()


_DEV_ZERO = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))
from nodes.workflow import WorkflowError, load_file
from nodes.workflow.png import read_png_texts
for read in (load_file, read_png_texts):
    try:
        read("/dev/zero")
    except WorkflowError as exc:
        print(exc.message)
"""


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_is_refused_before_reading() -> None:
    """In a child with 2 GiB of address space: reading /dev/zero used to end in MemoryError."""
    done = subprocess.run(
        [sys.executable, "-c", _DEV_ZERO],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [
        "/dev/zero is a character device, not a workflow file: only regular files are read",
        "/dev/zero is a character device, not an image: only regular files are read",
    ]


@posix_only
def test_file_params_refuse_fifos_and_devices(tmp_path: Path, fifo: Path) -> None:
    models = tmp_path / "models"
    (models / "checkpoints").mkdir(parents=True)
    os.mkfifo(models / "checkpoints" / "pipe.safetensors")
    (models / "checkpoints" / "real.safetensors").write_bytes(b"x")
    (models / "checkpoints" / "folder").mkdir()  # a diffusers folder is a model
    finder = FileFinder([models])
    assert finder("checkpoints", str(fifo)) is None
    assert finder("checkpoints", "pipe.safetensors") is None
    assert finder("checkpoints", "/dev/zero") is None
    assert default_resolver("checkpoints", str(fifo)) is None
    assert default_resolver("checkpoints", "/dev/null") is None
    assert finder("checkpoints", "real.safetensors") == models / "checkpoints" / "real.safetensors"
    assert finder("checkpoints", "folder") == models / "checkpoints" / "folder"
    reason = finder.unusable_reason("checkpoints", "pipe.safetensors")
    assert reason is not None and "pipe.safetensors is a named pipe (FIFO), not a file" in reason
    assert finder.unusable_reason("checkpoints", "real.safetensors") is None


@posix_only
def test_validation_refuses_a_fifo_checkpoint(graph: Graph, fifo: Path) -> None:
    """The run used to pass validation and block forever opening the FIFO."""
    graph.add_node("test.file", id="pick", params={"path": str(fifo)})
    for resolve in (FileFinder([]), None):
        problems = validate(graph, resolve)
        assert [(p.node_id, p.field) for p in problems] == [("pick", "path")]
        assert "named pipe (FIFO), not a file" in problems[0].message  # not "not found"


# ------------------------------------------------------------------------------ size caps


def test_a_workflow_over_the_limit_is_refused_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.json"
    big.write_text(json.dumps(base_doc()))
    monkeypatch.setattr(workflow_io, "MAX_BYTES", 100)
    with pytest.raises(WorkflowError, match=r"big.json is too large to be a workflow file \(") as e:
        load_file(big)
    assert "the limit is 100 bytes" in e.value.message


def test_a_png_over_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(encode_png(np.zeros((64, 64, 3), np.uint8), {WORKFLOW_KEY: "{}"}))
    assert read_png_texts(path) == {WORKFLOW_KEY: "{}"}
    monkeypatch.setattr(workflow_png, "MAX_IMAGE_BYTES", 100)
    with pytest.raises(WorkflowError, match="too large to be an image"):
        read_png_texts(path)


# ------------------------------------------------------------------- large text in PNGs


def _large_workflow(size: int) -> str:
    """A valid workflow document of about ``size`` bytes that zlib cannot shrink much."""
    rng = random.Random(size)
    note = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(size))
    return json.dumps(base_doc(metadata={"note": note}))


@pytest.mark.usefixtures("pillow_defaults")
def test_a_daguerre_png_with_a_workflow_over_1_mib_reopens(tmp_path: Path) -> None:
    text = _large_workflow(3 * PILLOW_TEXT_CHUNK)
    path = tmp_path / "big.png"
    path.write_bytes(encode_png(np.zeros((8, 8, 3), np.uint8), {WORKFLOW_KEY: text}))
    assert embedded_workflow(path)["metadata"] == json.loads(text)["metadata"]


@pytest.mark.usefixtures("pillow_defaults")
def test_a_comfyui_png_with_chunks_over_1_mib_reopens() -> None:
    """ComfyUI writes zTXt or tEXt chunks, here 2 × 3 MiB (zTXt)."""
    info = PngImagePlugin.PngInfo()
    texts = {
        key: _large_workflow(3 * PILLOW_TEXT_CHUNK + n)
        for n, key in enumerate((COMFY_WORKFLOW_KEY, COMFY_PROMPT_KEY))
    }
    for key, value in texts.items():
        info.add_text(key, value, zip=True)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG", pnginfo=info)
    assert png_texts(buffer.getvalue()) == texts


@pytest.mark.usefixtures("pillow_defaults")
def test_load_image_reads_a_png_carrying_a_large_workflow(tmp_path: Path) -> None:
    from nodes.context import CancelToken, Environment, NodeContext
    from nodes.library.images import LoadImage

    path = tmp_path / "big.png"
    pixels = np.full((8, 8, 3), 200, np.uint8)
    path.write_bytes(encode_png(pixels, {WORKFLOW_KEY: _large_workflow(2 * PILLOW_TEXT_CHUNK)}))
    ctx = NodeContext(Environment(), 1, "load", lambda event: None, CancelToken())
    image, _mask = LoadImage().run(ctx, path=str(path))
    assert image.shape == (1, 8, 8, 3) and float(image.min()) == pytest.approx(200 / 255)


def test_texts_larger_than_reading_accepts_are_never_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pixels = np.zeros((8, 8, 3), np.uint8)
    monkeypatch.setattr(workflow_png, "MAX_TEXT_BYTES", 1000)
    monkeypatch.setattr(workflow_png, "MAX_TOTAL_TEXT_BYTES", 1500)
    encode_png(pixels, {WORKFLOW_KEY: "x" * 1000})
    with pytest.raises(WorkflowError, match="more than the 1,000 a PNG text chunk may hold"):
        encode_png(pixels, {WORKFLOW_KEY: "é" * 501})  # 1002 bytes in UTF-8
    with pytest.raises(WorkflowError, match="more than the 1,500 one PNG may carry"):
        encode_png(pixels, {WORKFLOW_KEY: "x" * 1000, "daguerre.record": "y" * 501})


def test_pillow_reads_what_daguerre_may_write() -> None:
    workflow_png.allow_workflow_texts()
    assert PngImagePlugin.MAX_TEXT_CHUNK >= workflow_png.MAX_TEXT_BYTES == workflow_io.MAX_BYTES
    assert PngImagePlugin.MAX_TEXT_MEMORY >= workflow_png.MAX_TOTAL_TEXT_BYTES
    assert workflow_png.MAX_IMAGE_BYTES > workflow_png.MAX_TOTAL_TEXT_BYTES


# ------------------------------------------------------------- what is saved is read back


def test_a_workflow_too_large_to_reopen_is_not_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = file_registry()
    path = tmp_path / "w.json"
    save_file(base_doc(), path)
    before = path.read_bytes()
    monkeypatch.setattr(workflow_io, "MAX_BYTES", 2000)
    small = base_doc(metadata={"note": "x" * 1000})
    save_file(small, path)
    assert load_file(path, registry).metadata == small["metadata"]
    path.write_bytes(before)
    big = base_doc(metadata={"note": "é" * 1000})  # under 2000 characters, over 2000 bytes
    with pytest.raises(
        WorkflowError, match=r"is 2,\d{3} bytes, more than the 2,000 bytes a workflow may hold"
    ):
        save_file(big, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.json"]


# ---------------------------------------------------------------------- stale temp files


def _stale_temp(folder: Path, target: str, token: str) -> Path:
    """A temp file as a save killed half-way leaves it."""
    path = folder / f".{target}.daguerre-{token}.tmp"
    path.write_bytes(b'{"half": ')
    return path


@pytest.mark.skipif(fcntl is None, reason="temp files are told by their lock")
def test_the_next_save_removes_stale_temp_files_of_its_target(tmp_path: Path) -> None:
    target = tmp_path / "w.json"
    stale = [_stale_temp(tmp_path, "w.json", token) for token in ("0badf00d", "deadbeef")]
    live = _stale_temp(tmp_path, "w.json", "1ce1ce00")
    other = _stale_temp(tmp_path, "other.json", "0badf00d")
    old_style = tmp_path / ".w.json.0badf00d.tmp"  # before temp files were locked
    old_style.write_bytes(b"{")
    young_old_style = tmp_path / ".w.json.12345678.tmp"
    young_old_style.write_bytes(b"{")
    hour_ago = time.time() - 2 * 3600
    os.utime(old_style, (hour_ago, hour_ago))
    mine = tmp_path / ".w.json.tmp"  # not ours: no token
    mine.write_bytes(b"user file")
    assert fcntl is not None
    with open(live, "rb") as holder:  # a live save in another process holds its lock
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        save_file(base_doc(), target)
        assert all(not p.exists() for p in stale) and not old_style.exists()
        assert live.exists() and other.exists() and young_old_style.exists() and mine.exists()
    save_file(base_doc(), target)  # its writer is gone: now it goes too
    assert not live.exists() and other.exists()
    assert load_file(target, file_registry()).nodes.keys() == {"a", "s"}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_saves_killed_at_random_moments_leave_a_whole_file_and_no_temp_files(
    tmp_path: Path,
) -> None:
    """≥ 200 children each loop saving versions of one file and are SIGKILLed after a
    random short delay: the file is always one whole version, and one more save leaves
    no temp file behind."""
    registry = file_registry()
    target = tmp_path / "w.json"
    pad = "p" * 100_000  # long enough that kills land mid-write too
    versions = [base_doc(metadata={"version": n, "pad": pad}) for n in range(4)]
    save_file(versions[0], target)
    rng = random.Random(1234)
    # Forking a process that holds torch is slow on a loaded machine (≈ 0.1 s a child with
    # other work on both cores): the bound is a count of kills, the deadline only a guard.
    kills, deadline = 0, time.monotonic() + 90.0
    while kills < 200 and time.monotonic() < deadline:
        pid = os.fork()
        if pid == 0:  # the child: save forever, never return into pytest
            try:
                while True:
                    for doc in versions:
                        save_file(doc, target)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.012))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        kills += 1
        assert load_file(target, registry).metadata["version"] in range(4)
    assert kills >= 200
    save_file(versions[1], target)
    assert _temp_files(tmp_path) == []
    assert load_file(target, registry).metadata["version"] == 1


def test_a_damaged_png_message_shows_no_memory_address() -> None:
    with pytest.raises(WorkflowError) as info:
        workflow_png.png_texts(b"\x89PNG\r\n\x1a\n" + b"garbage")
    assert "0x" not in info.value.message and "BytesIO" not in info.value.message
    assert "cannot read the PNG" in info.value.message


def test_an_unknown_type_of_100000_characters_is_quoted_cut() -> None:
    doc = {"format": "daguerre.workflow", "version": 1, "nodes": {"a": {"type": "x\n" * 100_000}}}
    loaded = workflow_io.loads(json.dumps(doc), file_registry())
    (problem,) = validate(loaded)
    assert len(problem.message) < 300 and "unknown node type" in problem.message
