"""The code one Ray actor runs: its own executor (so its own model cache) for its life.

:class:`Worker` is a plain class; :func:`remote_worker` wraps it as a Ray actor class whose
jobs run one at a time while cancels are taken on a thread of their own. A job runs exactly as the
thread runner runs it (:func:`nodes.runner.run_document`); its events go to the client's
:class:`EventSink` actor in small batches without waiting, the last batch before the job
returns, so the client has every event of a job when it has its result. Saved files come
back as bytes (:mod:`nodes.cluster.artifacts`); the ``RunFinished`` and file results are
emitted by the client once it has written them.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from nodes.context import CancelToken
from nodes.events import Event, NodeResult, RunFinished
from nodes.run_spec import EnvironmentSpec, JobResult, OutputPolicy, RunSpec

FLUSH_SECONDS = 0.1
"""Events wait on a worker until this long after the last batch went (or the job ends):
one push a tenth of a second rather than one per event keeps the round trips off the
sampler's cores."""


class EventSink:
    """Collects the workers' events for the client (a Ray actor: workers push batches,
    the client drains them)."""

    def __init__(self) -> None:
        self._events: list[Event] = []

    def push(self, events: list[Event]) -> None:
        self._events.extend(events)

    def drain(self) -> list[Event]:
        events, self._events = self._events, []
        return events


class Worker:
    """One actor's state: an executor with its own caches, and the job it runs."""

    def __init__(self, env: dict[str, Any], sink: Any, threads: int | None = None) -> None:
        if threads:
            import torch

            torch.set_num_threads(threads)
        from nodes.executor import Executor
        from nodes.library import load_builtin_nodes
        from nodes.registry import Registry

        self.spec = EnvironmentSpec.from_json(env)
        self.scratch = Path(tempfile.mkdtemp(prefix="daguerre-worker-"))
        self.registry = load_builtin_nodes(Registry())
        self.executor = Executor(env=self.spec.build(output_dir=self.scratch))
        self.sink = sink
        self.tokens: dict[int, CancelToken] = {}
        self.info = {
            "host": socket.gethostname(),
            "device": self._device(),
            "pid": str(os.getpid()),
        }

    def _device(self) -> str:
        try:
            from nodes.diffusion.device import placement

            return str(placement(self.executor.env)[0])
        except Exception as exc:  # an unusable device fails the jobs, clearly, not the actor
            return f"{self.spec.device} ({exc})"

    def describe(self) -> dict[str, str]:
        """Host, device and process id: also a cheap "are you up" call."""
        return dict(self.info)

    def cancel(self, job_id: int) -> None:
        """Cancel ``job_id``, running or about to start on this actor (a cancel may come
        before its job: the job then starts cancelled)."""
        self.tokens.setdefault(job_id, CancelToken()).cancel()

    def run(self, job_id: int, spec: dict[str, Any]) -> JobResult:
        from nodes.runner import run_document

        run = RunSpec.from_json(spec)
        token = self.tokens.setdefault(job_id, CancelToken())
        shared = run.output is OutputPolicy.SHARED
        folder = Path(self.spec.output_dir) if shared else self.scratch / f"job-{job_id}"
        self.executor.env.output_dir = folder
        batch: list[Event] = []
        files: list[tuple[str, str]] = []
        last_flush = time.monotonic()
        lock = threading.Lock()

        def emit(event: Event) -> None:
            nonlocal last_flush
            if isinstance(event, RunFinished):
                return  # the client says when the job is finished, files written
            if isinstance(event, NodeResult) and event.files:
                files.extend((event.node_id, f) for f in event.files)
                return  # the client reports them once written (under their own names)
            with lock:
                batch.append(event)
                now = time.monotonic()
                if now - last_flush >= FLUSH_SECONDS:  # the rest goes with the result
                    self.sink.push.remote(list(batch))
                    batch.clear()
                    last_flush = now

        try:
            outcome = run_document(
                self.executor,
                self.registry,
                job_id,
                run.workflow,
                run.overrides,
                targets=run.targets,
                emit=emit,
                cancel=token,
            )
        finally:
            self.tokens.pop(job_id, None)
            with lock:
                if batch:
                    import ray

                    ray.get(self.sink.push.remote(list(batch)))  # before the result
        from nodes.cluster.artifacts import collect

        if shared:
            artifacts = tuple(_shared_artifact(n, path, self.info) for n, path in files)
        else:
            artifacts = tuple(collect(files, self.info))
            shutil.rmtree(folder, ignore_errors=True)
        summary = outcome.to_json()
        summary["seconds"] = outcome.seconds
        summary["plan"] = list(outcome.plan)
        return JobResult(outcome.status.value, summary, artifacts, outcome.error, self.info)


def _shared_artifact(node_id: str, path: str, worker: dict[str, str]) -> Any:
    """A file saved straight into the shared folder: its record gains the worker (the file
    replaced atomically), only its path goes back."""
    from nodes.cluster.artifacts import split_numbered, with_worker
    from nodes.run_spec import Artifact
    from nodes.workflow.io import write_atomic

    file = Path(path)
    write_atomic(file, with_worker(file.read_bytes(), worker))
    prefix, suffix = split_numbered(file.name)
    return Artifact(node_id, prefix, suffix, b"", path)


def remote_worker() -> Any:
    """:class:`Worker` as a Ray actor class: jobs run one after the other; ``cancel`` and
    ``describe`` called in the ``control`` concurrency group run beside them."""
    import ray

    decorate: Any = ray.remote  # its stubs miss the keyword-only form used here
    return decorate(concurrency_groups={"control": 1})(Worker)


def remote_sink() -> Any:
    import ray

    return ray.remote(num_cpus=0)(EventSink)
