"""Recent files, autosave and crash recovery live in DAGUERRE_HOME."""

from __future__ import annotations

from pathlib import Path

from desktop.session import Session


def test_clean_quit_remembers_and_unlocks(qapp, tmp_path: Path) -> None:
    session = Session(tmp_path)
    session.start()
    assert not session.crashed_last_time()  # no autosave yet
    session.autosave({"format": "daguerre.workflow", "version": 1}, None)
    assert session.crashed_last_time()  # lock + autosave = the app died mid-edit
    recovered = session.read_autosave()
    assert recovered is not None and recovered[0]["version"] == 1
    session.finish(
        {"format": "daguerre.workflow", "version": 1, "nodes": {}}, tmp_path / "a.json", dirty=False
    )
    assert not session.crashed_last_time()
    last = session.read_session()
    assert last is not None
    document, path = last
    assert document["nodes"] == {} and path == tmp_path / "a.json"


def test_recent_files_most_recent_first(qapp, tmp_path: Path) -> None:
    session = Session(tmp_path)
    for name in ("a.json", "b.json", "a.json"):
        session.add_recent(tmp_path / name)
    assert [p.name for p in session.recent_files()] == ["a.json", "b.json"]
    session.clear_recent()
    assert session.recent_files() == []


def test_broken_files_are_ignored(qapp, tmp_path: Path) -> None:
    session = Session(tmp_path)
    session.session_file.write_text("{broken")
    session.autosave_file.write_text('{"workflow": 3}')
    assert session.read_session() is None
    assert session.read_autosave() is None
