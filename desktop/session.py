"""Where the app keeps its own files: window layout, recent files, autosave and recovery.

Everything lives under Daguerre's home (``DAGUERRE_HOME`` relocates it), never in the
user's Qt registry, so tests and demos can't touch a user's real state.

Recovery, with any number of instances sharing one home: each running instance has its
own files in ``<home>/instances/``, named by its id (``<pid>-<start time>-<random>``):

- ``<id>.lock``, which it holds locked (an OS lock: ``fcntl.lockf``, or ``msvcrt.locking``
  on Windows) from :meth:`Session.start` to :meth:`Session.finish`. The OS drops the lock
  when the process dies, however it dies, so "locked" means "its instance is running";
- ``<id>.json``, its autosave, written every few seconds while there are unsaved changes.

A clean quit writes ``session.json`` (the last workflow and its file) and removes both.
At start, :meth:`Session.orphans` finds every autosave whose lock nobody holds — the
instances that crashed — and claims each (holding its lock) while the app offers it back;
a running instance's files are never opened for anything but that probe, never changed.
What cannot be read is moved aside to ``<home>/recovered/`` (:meth:`Orphan.set_aside`),
never deleted; what is recovered but not opened in the window is written there as a
workflow file (:meth:`Session.keep`).

Locks belong to processes: the app runs one :class:`Session` per process, so another
Session of this process that never finished is treated as crashed (which is how the tests
simulate a crash).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from PySide6.QtCore import QSettings

from nodes.paths import home_dir
from nodes.workflow.io import check_size, write_atomic

MAX_RECENT = 10
MAX_AUTOSAVE_BYTES = 256 * 1024 * 1024
"""An autosave larger than this is not read (it could not be a workflow)."""

STALE_NEW_LOCK_SECONDS = 60.0
"""A lock still being created (``<id>.lock-new``) this long is from a dead instance."""

_INSTANCE_ID = re.compile(r"^(?P<pid>[0-9]{1,10})-[0-9A-Za-z-]{1,40}$")
_PER_HANDLE_LOCKS = sys.platform == "win32"
"""Windows locks belong to a handle, not a process: another Session of this process
cannot be probed, so it is taken for crashed by its pid (see the module docstring)."""


class UnreadableAutosave(Exception):
    """An autosave this version cannot read (broken, or written by a newer Daguerre)."""


# ---------------------------------------------------------------------------- OS locks


def _try_lock(handle: BinaryIO) -> bool:
    """Take the exclusive lock of an open lock file without waiting; False when another
    process (or, on Windows, another handle) holds it."""
    try:
        if sys.platform == "win32":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.lockf(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _create_locked(path: Path, content: bytes) -> BinaryIO:
    """Create ``path`` already locked, so that no other instance ever sees it unlocked
    (on POSIX: locked under a name scanners leave alone for a minute, then renamed, and
    the lock follows the file; Windows cannot rename an open file, so it is locked in
    place, retried while a scanner's probe holds it for an instant)."""
    target = path if _PER_HANDLE_LOCKS else path.with_name(path.name + "-new")
    handle = open(target, "xb")  # noqa: SIM115 - held open until finish()
    try:
        for _ in range(100):
            if _try_lock(handle):
                break
            time.sleep(0.01)
        if _PER_HANDLE_LOCKS:
            handle.seek(1)  # the locked byte stays empty
        handle.write(content)
        handle.flush()
        if target != path:
            os.replace(target, path)
    except BaseException:
        _release(handle, target, remove=True)
        raise
    return handle


def _age(path: Path) -> float:
    """Seconds since ``path`` was modified; -1 when it does not exist."""
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return -1.0


def _unlink(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def _release(handle: BinaryIO | None, path: Path | None, *, remove: bool) -> None:
    """Drop a lock (and its file, when ``remove``). POSIX removes the file while the lock
    is held, so nobody can take it in between; Windows cannot remove an open file."""
    if remove and not _PER_HANDLE_LOCKS:
        _unlink(path)
    if handle is not None:
        with contextlib.suppress(OSError):
            handle.close()
    if remove and _PER_HANDLE_LOCKS:
        _unlink(path)


def _unique(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/stem-2.suffix``... if that is taken."""
    folder.mkdir(parents=True, exist_ok=True)
    candidate = folder / name
    stem, dot, suffix = name.partition(".")
    n = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{n}{dot}{suffix}"
        n += 1
    return candidate


# ---------------------------------------------------------------------------- orphans


@dataclass
class Orphan:
    """The autosave of an instance that is gone, claimed by this one (its lock held)
    until :meth:`discard`, :meth:`set_aside` or :meth:`release`."""

    instance: str
    autosave: Path
    lock: Path | None
    handle: BinaryIO | None = field(default=None, repr=False)

    @property
    def modified(self) -> float:
        """When it was last autosaved (seconds since the epoch; 0 when unknown)."""
        try:
            return self.autosave.stat().st_mtime
        except OSError:
            return 0.0

    def read(self) -> tuple[dict[str, Any], Path | None]:
        """The workflow and its file (None: Untitled); raises :class:`UnreadableAutosave`."""
        return _read_payload_or_raise(self.autosave)

    def release(self) -> None:
        """Give the claim up and leave its files as they are (offered again next time)."""
        _release(self.handle, None, remove=False)
        self.handle = None

    def discard(self) -> None:
        """Delete the autosave (restored, kept or declined) and its lock."""
        _unlink(self.autosave)
        _release(self.handle, self.lock, remove=True)
        self.handle = None


# ---------------------------------------------------------------------------- session


class Session:
    def __init__(self, home: Path | None = None) -> None:
        self.home = home or home_dir()
        self.home.mkdir(parents=True, exist_ok=True)
        self.instances_dir.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        self.instance = f"{os.getpid()}-{stamp}-{secrets.token_hex(3)}"
        self._lock: BinaryIO | None = None

    # ------------------------------------------------------------ files
    @property
    def instances_dir(self) -> Path:
        return self.home / "instances"

    @property
    def recovered_dir(self) -> Path:
        """Where recovered workflows and unreadable autosaves are kept for the user."""
        return self.home / "recovered"

    @property
    def lock_file(self) -> Path:
        """This instance's lock (held while it runs)."""
        return self.instances_dir / f"{self.instance}.lock"

    @property
    def autosave_file(self) -> Path:
        """This instance's autosave."""
        return self.instances_dir / f"{self.instance}.json"

    @property
    def session_file(self) -> Path:
        return self.home / "session.json"

    def qsettings(self) -> QSettings:
        return QSettings(str(self.home / "window.ini"), QSettings.Format.IniFormat)

    # ------------------------------------------------------------ this instance
    def start(self) -> None:
        """Mark this instance as running: create and hold its lock (again: nothing)."""
        if self._lock is not None:
            return
        info = {"pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        self.instances_dir.mkdir(parents=True, exist_ok=True)
        self._lock = _create_locked(self.lock_file, json.dumps(info).encode("utf-8"))

    @property
    def running(self) -> bool:
        return self._lock is not None

    def crashed_last_time(self) -> bool:
        """True when this instance's lock and autosave are both on disk: what another
        instance would offer back if this one died now."""
        return self.lock_file.exists() and self.autosave_file.exists()

    def autosave(self, document: dict[str, Any], path: Path | None) -> None:
        self.start()  # an autosave is never without its held lock
        payload = {"path": str(path) if path else None, "workflow": document}
        text = json.dumps(payload)
        check_size(text)  # an autosave too large to read back would lose the work silently
        write_atomic(self.autosave_file, text.encode("utf-8"), durable=False)

    def read_autosave(self) -> tuple[dict[str, Any], Path | None] | None:
        """This instance's autosave, or None when there is none or it cannot be read."""
        try:
            return _read_payload_or_raise(self.autosave_file)
        except UnreadableAutosave:
            return None

    def discard_autosave(self) -> None:
        _unlink(self.autosave_file)

    def finish(self, document: dict[str, Any], path: Path | None, dirty: bool) -> None:
        """A clean quit: remember the workflow for next time and drop the lock."""
        payload = {"path": str(path) if path else None, "workflow": document, "dirty": dirty}
        write_atomic(self.session_file, json.dumps(payload).encode("utf-8"))
        self.discard_autosave()
        _release(self._lock, self.lock_file, remove=True)
        self._lock = None

    # ------------------------------------------------------------ other instances
    def orphans(self) -> list[Orphan]:
        """Every autosave whose instance is gone, newest first, each claimed by this
        instance until the caller discards, sets aside or releases it. Never raises:
        a folder that cannot be read has no orphans."""
        try:
            found = list(self._find_orphans())
        except OSError:
            return []
        return sorted(found, key=lambda orphan: orphan.modified, reverse=True)

    def _find_orphans(self) -> Iterator[Orphan]:
        try:
            names = [entry.name for entry in os.scandir(self.instances_dir)]
        except OSError:
            names = []
        instances = set()
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if dot and suffix in ("json", "lock", "lock-new") and _INSTANCE_ID.match(stem):
                instances.add(stem)
        instances.discard(self.instance)
        for instance in sorted(instances):
            lock = self.instances_dir / f"{instance}.lock"
            fresh = self.instances_dir / f"{instance}.lock-new"
            autosave = self.instances_dir / f"{instance}.json"
            if _age(fresh) > STALE_NEW_LOCK_SECONDS:  # died while creating its lock
                with contextlib.suppress(OSError), open(fresh, "r+b") as handle:
                    if _try_lock(handle):
                        _unlink(fresh)
            claimed = self._claim(instance, lock, autosave)
            if claimed is None:
                continue  # running: its files are not ours to touch
            if not autosave.exists():  # nothing unsaved: just its lock was left
                claimed.discard()
                continue
            yield claimed
        legacy = self._legacy_orphan()
        if legacy is not None:
            yield legacy

    def _claim(self, instance: str, lock: Path, autosave: Path) -> Orphan | None:
        """Hold ``lock`` if its instance is gone; None while it runs."""
        match = _INSTANCE_ID.match(instance)
        same_process = match is not None and int(match.group("pid")) == os.getpid()
        try:
            handle = open(lock, "r+b")  # noqa: SIM115 - held while the orphan is claimed
        except FileNotFoundError:
            # No lock: a running instance holds its lock from start to finish, so the
            # owner of a lone autosave is gone (its lock was removed by hand, or by a
            # Daguerre that shared one lock among instances). Claimed by creating the
            # lock: of two instances starting at once, one gets it.
            try:
                return Orphan(instance, autosave, lock, _create_locked(lock, b"{}"))
            except OSError:
                return None
        except OSError:
            return None  # cannot be probed: taken for running
        if not _try_lock(handle) and not (same_process and _PER_HANDLE_LOCKS):
            handle.close()
            return None
        return Orphan(instance, autosave, lock, handle)

    def _legacy_orphan(self) -> Orphan | None:
        """The autosave of a Daguerre before per-instance files (``running.lock`` and
        ``autosave.json`` in the home), if it crashed: its pid is no longer running."""
        lock, autosave = self.home / "running.lock", self.home / "autosave.json"
        if not (lock.exists() and autosave.exists()):
            return None
        try:
            pid = int(lock.read_text(encoding="utf-8").strip() or "0")
        except (OSError, ValueError):
            pid = 0
        if pid > 0 and pid != os.getpid() and _pid_running(pid):
            return None
        return Orphan("legacy", autosave, lock)

    def set_aside(self, orphan: Orphan) -> Path:
        """Move an orphan's unreadable autosave to ``recovered/`` (``….unreadable``, so it
        is never offered again and never deleted), drop its lock; returns the new path."""
        target = _unique(self.recovered_dir, f"autosave-{orphan.instance}.json.unreadable")
        os.replace(orphan.autosave, target)
        orphan.discard()
        return target

    def keep(self, orphan: Orphan, document: dict[str, Any], path: Path | None) -> Path:
        """Write an orphan's workflow to ``recovered/`` as a workflow file the user can
        open, then discard the orphan; returns the file."""
        stem = re.sub(r"[^\w-]+", "_", path.stem if path else "untitled").strip("_")[:60]
        when = time.strftime("%Y%m%d-%H%M%S", time.localtime(orphan.modified or time.time()))
        target = _unique(self.recovered_dir, f"{stem or 'untitled'}-recovered-{when}.json")
        try:
            text = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate in some text: escape everything
            text = json.dumps(document, indent=2).encode("ascii")
        write_atomic(target, text + b"\n")
        orphan.discard()
        return target

    def read_session(self) -> tuple[dict[str, Any], Path | None] | None:
        return _read_payload(self.session_file)

    # ------------------------------------------------------------ recent files
    def recent_files(self) -> list[Path]:
        value = self.qsettings().value("recent", [])
        if isinstance(value, str):  # QSettings reads a one-item list back as its item
            items = [value]
        elif isinstance(value, list | tuple):
            items = list(value)
        else:
            items = []
        return [Path(p) for p in items if p]

    def add_recent(self, path: Path) -> None:
        items = [str(path.resolve())] + [
            str(p) for p in self.recent_files() if str(p) != str(path.resolve())
        ]
        settings = self.qsettings()
        settings.setValue("recent", items[:MAX_RECENT])
        settings.sync()

    def clear_recent(self) -> None:
        settings = self.qsettings()
        settings.setValue("recent", [])
        settings.sync()


def _read_payload(file: Path) -> tuple[dict[str, Any], Path | None] | None:
    try:
        return _read_payload_or_raise(file)
    except UnreadableAutosave:
        return None


def _read_payload_or_raise(file: Path) -> tuple[dict[str, Any], Path | None]:
    """``{"path", "workflow"}`` as written by :meth:`Session.autosave` or ``finish``."""
    try:
        if file.stat().st_size > MAX_AUTOSAVE_BYTES:
            raise UnreadableAutosave(f"it is larger than {MAX_AUTOSAVE_BYTES >> 20} MiB")
        payload = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UnreadableAutosave(exc.strerror or str(exc)) from None
    except ValueError as exc:  # not UTF-8, not JSON
        raise UnreadableAutosave(f"it is not valid JSON ({exc})") from None
    except RecursionError:
        raise UnreadableAutosave("it is nested too deeply") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("workflow"), dict):
        raise UnreadableAutosave("it holds no workflow")
    path = payload.get("path")
    return payload["workflow"], Path(path) if isinstance(path, str) and path else None


def _pid_running(pid: int) -> bool:
    """Whether a process ``pid`` exists (POSIX; on Windows it is taken for gone)."""
    if sys.platform == "win32":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True
