"""Several app instances sharing one home, and crash recovery that never stops the app.

Each instance has its own lock and autosave (see :mod:`desktop.session`): a running
instance's files are never touched by another, every crashed instance's work is offered
back, and an autosave that cannot be read is reported and kept aside, never deleted, while
the app starts normally. "Another instance" is a real second process where it must stay
alive; a crashed one is a Session of this process that never finished (as the app runs
one Session per process, that is how a crash looks from here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from desktop.app import create_window
from desktop.main_window import MainWindow
from desktop.session import Session
from nodes.paths import home_dir, resources_dir
from nodes.workflow import load_file

REPO = Path(__file__).resolve().parents[2]

OTHER_INSTANCE = """
import json, sys
from pathlib import Path
from desktop.session import Session
session = Session(Path(sys.argv[1]))
session.start()
session.autosave(json.loads(sys.argv[2]), None)
print("ready", flush=True)
sys.stdin.read()  # runs until killed
"""


def _workflow(text: str) -> dict[str, Any]:
    """The default workflow with ``text`` as its positive prompt."""
    doc = json.loads((resources_dir() / "workflows" / "txt2img.json").read_text("utf-8"))
    doc["nodes"]["positive"]["params"]["text"] = text
    return doc


def _prompt(window: MainWindow) -> str:
    return window.document.graph.nodes["positive"].params["text"]


def _crashed(text: str, *, age: float = 0.0, path: Path | None = None) -> Session:
    """An instance that autosaved ``text`` ``age`` seconds ago and died (never finished)."""
    session = Session(home_dir())
    session.start()
    session.autosave(_workflow(text), path)
    if age:
        stamp = time.time() - age
        os.utime(session.autosave_file, (stamp, stamp))
    return session


def _snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


class Boxes:
    """What the message boxes said (none of them blocks)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.questions: list[str] = []
        self.warnings: list[str] = []
        self.information: list[str] = []
        self.answers: list[QMessageBox.StandardButton] = []

        def question(_parent: Any, _title: str, text: str, *a: Any, **k: Any) -> Any:
            self.questions.append(text)
            if self.answers:
                return self.answers.pop(0)
            return QMessageBox.StandardButton.Discard

        monkeypatch.setattr(QMessageBox, "question", question)
        monkeypatch.setattr(
            QMessageBox, "warning", lambda _p, _t, text, *a, **k: self.warnings.append(text)
        )
        monkeypatch.setattr(
            QMessageBox, "information", lambda _p, _t, text, *a, **k: self.information.append(text)
        )


@pytest.fixture
def boxes(monkeypatch: pytest.MonkeyPatch) -> Boxes:
    return Boxes(monkeypatch)


@pytest.fixture
def windows(qtbot) -> Iterator[list[MainWindow]]:
    """Windows a test opened, closed cleanly at the end (never asking to save)."""
    opened: list[MainWindow] = []
    yield opened
    for window in opened:
        window.document.undo_stack.setClean()
        window.close()


def _open(windows: list[MainWindow], qtbot, *, ask: bool = False) -> MainWindow:
    window = create_window(ask=ask)
    qtbot.addWidget(window)
    windows.append(window)
    return window


@pytest.fixture
def other_instance(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A running instance in another process, with unsaved work autosaved."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    doc = json.dumps(_workflow("from the other window"))
    process = subprocess.Popen(
        [sys.executable, "-c", OTHER_INSTANCE, str(home_dir()), doc],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        yield process
    finally:
        process.kill()
        process.wait(10)


# --------------------------------------------------------------------------- instances


def test_a_running_instance_is_left_alone_and_recovered_after_it_crashes(
    qtbot, windows, boxes, other_instance
) -> None:
    before = _snapshot(home_dir())
    second = _open(windows, qtbot)
    assert _prompt(second) != "from the other window"  # it is still running: not offered
    for path, data in before.items():  # its lock and autosave are untouched
        assert path.is_file() and path.read_bytes() == data, path
    second.close()  # a clean quit of the second instance touches nothing of the first
    for path, data in before.items():
        assert path.is_file() and path.read_bytes() == data, path

    other_instance.kill()  # now it crashes
    other_instance.wait(10)
    third = _open(windows, qtbot)
    assert _prompt(third) == "from the other window"
    assert third.document.dirty
    assert boxes.warnings == [] and boxes.information == []


def test_every_crashed_instance_is_offered_back(qtbot, windows, boxes, tmp_path: Path) -> None:
    """The newest opens in the window; the others become workflow files the user is told
    about (and finds in the recent files); nothing is left behind to be offered again."""
    _crashed("oldest", age=300, path=tmp_path / "poster.json")
    _crashed("middle", age=200)
    _crashed("newest", age=100)
    window = _open(windows, qtbot)
    assert _prompt(window) == "newest" and window.document.dirty
    kept = sorted((home_dir() / "recovered").glob("*.json"), key=lambda p: p.name)
    assert len(kept) == 2
    texts = {_prompt_of(p, window) for p in kept}
    assert texts == {"oldest", "middle"}
    assert any(p.name.startswith("poster-recovered-") for p in kept)
    assert len(boxes.information) == 1 and all(str(p) in boxes.information[0] for p in kept)
    recent = {p.resolve() for p in window.session.recent_files()}
    assert {p.resolve() for p in kept} <= recent
    assert boxes.warnings == []

    again = _open(windows, qtbot)  # offered once: the next start finds nothing to offer
    assert _prompt(again) != "middle" and _prompt(again) != "oldest"
    assert len(boxes.information) == 1


def _prompt_of(path: Path, window: MainWindow) -> str:
    return load_file(path, window.registry).nodes["positive"].params["text"]


def test_asking_offers_each_crashed_instance_in_turn(qtbot, windows, boxes) -> None:
    _crashed("declined", age=100)
    _crashed("accepted", age=200)
    boxes.answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    window = _open(windows, qtbot, ask=True)
    assert len(boxes.questions) == 2
    assert all("untitled workflow" in q for q in boxes.questions)
    assert _prompt(window) == "accepted"
    assert not (home_dir() / "recovered").exists()  # the declined one is gone, as asked
    assert boxes.information == []


def test_a_clean_quit_leaves_no_instance_files(qtbot, windows, boxes) -> None:
    window = _open(windows, qtbot)
    window.document.set_param("positive", "text", "saved on quit")
    window.files.autosave_now()
    instances = home_dir() / "instances"
    assert len(list(instances.iterdir())) == 2  # its lock and its autosave
    window.document.undo_stack.setClean()
    window.close()
    assert list(instances.iterdir()) == []
    again = _open(windows, qtbot)
    assert _prompt(again) == "saved on quit"  # the last session, not a "crash"
    assert boxes.questions == [] and boxes.warnings == []


def test_a_crash_with_nothing_unsaved_leaves_nothing_to_offer(qtbot, windows, boxes) -> None:
    gone = Session(home_dir())
    gone.start()  # died before anything needed autosaving
    window = _open(windows, qtbot)
    assert not gone.lock_file.exists()  # its lock was cleaned up
    assert [p.name for p in (home_dir() / "instances").iterdir()] == [window.session.lock_file.name]
    assert boxes.questions == boxes.warnings == boxes.information == []


def test_an_autosave_without_its_lock_is_offered_and_stale_files_are_cleaned(
    qtbot, windows, boxes
) -> None:
    instances = home_dir() / "instances"
    instances.mkdir(parents=True, exist_ok=True)
    lone = instances / "999999-20240101T000000-abc123.json"
    lone.write_text(json.dumps({"path": None, "workflow": _workflow("lone")}))
    half = instances / "999998-20240101T000000-abc123.lock-new"  # died creating its lock
    half.write_text("{}")
    os.utime(half, (time.time() - 3600, time.time() - 3600))
    window = _open(windows, qtbot)
    assert _prompt(window) == "lone"
    own = {window.session.lock_file.name, window.session.autosave_file.name}  # now ours
    assert {p.name for p in instances.iterdir()} == own


# --------------------------------------------------------------------------- unreadable


@pytest.mark.parametrize("ask", [False, True])
def test_an_autosave_from_a_newer_version_is_reported_kept_and_the_app_starts(
    qtbot, windows, boxes, ask: bool
) -> None:
    first = _open(windows, qtbot)
    first.document.set_param("positive", "text", "the last session")
    first.document.undo_stack.setClean()
    first.close()  # a clean quit: the session to start with

    crashed = Session(home_dir())
    crashed.start()
    newer = {**_workflow("from the future"), "version": 99}
    crashed.autosave(newer, None)
    data = crashed.autosave_file.read_bytes()
    boxes.answers = [QMessageBox.StandardButton.Yes]  # recovery accepted
    window = _open(windows, qtbot, ask=ask)
    assert _prompt(window) == "the last session"  # started normally
    assert len(boxes.warnings) == 1
    aside = list((home_dir() / "recovered").glob("*.unreadable"))
    assert len(aside) == 1 and aside[0].read_bytes() == data  # kept, not deleted
    assert str(aside[0]) in boxes.warnings[0] and "newer" in boxes.warnings[0]

    again = _open(windows, qtbot, ask=ask)  # not offered again, still kept
    assert len(boxes.warnings) == 1 and aside[0].read_bytes() == data
    assert _prompt(again) == "the last session"


@pytest.mark.parametrize("content", [b"{broken", b'{"workflow": 3}', b"\xff\xfe\x00", b""])
def test_a_broken_autosave_is_reported_and_kept_aside(
    qtbot, windows, boxes, content: bytes
) -> None:
    crashed = _crashed("lost")
    crashed.autosave_file.write_bytes(content)
    window = _open(windows, qtbot, ask=True)
    assert boxes.questions == []  # nothing to restore: not asked
    assert len(boxes.warnings) == 1
    assert set(window.document.graph.nodes) >= {"checkpoint", "sampler"}  # the default
    aside = list((home_dir() / "recovered").glob("*.unreadable"))
    assert len(aside) == 1 and aside[0].read_bytes() == content
    assert crashed.autosave_file.name in boxes.warnings[0]


def test_a_failure_reading_the_last_session_does_not_stop_the_app(
    qtbot, windows, boxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Session) -> None:
        raise ValueError("a session file nobody foresaw")

    monkeypatch.setattr(Session, "read_session", broken)
    window = _open(windows, qtbot)
    assert set(window.document.graph.nodes) >= {"checkpoint", "sampler"}
    assert len(boxes.warnings) == 1 and "nobody foresaw" in boxes.warnings[0]


def test_an_autosave_of_a_version_before_per_instance_files_is_offered(
    qtbot, windows, boxes
) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    home = home_dir()
    (home / "running.lock").write_text(done.stdout.strip())  # that process has ended
    (home / "autosave.json").write_text(json.dumps({"path": None, "workflow": _workflow("old")}))
    window = _open(windows, qtbot)
    assert _prompt(window) == "old"
    assert not (home / "autosave.json").exists()


def test_an_autosave_too_large_to_reopen_is_refused_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nodes.workflow import WorkflowError
    from nodes.workflow import io as workflow_io

    session = Session(tmp_path / "home")
    monkeypatch.setattr(workflow_io, "MAX_BYTES", 64)
    with pytest.raises(WorkflowError, match="could not be opened again"):
        session.autosave({"format": "daguerre.workflow", "nodes": {"n" * 100: {}}}, None)
    assert not session.autosave_file.exists()
