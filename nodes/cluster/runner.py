""":class:`ClusterRunner`: the runner protocol over Ray actors.

One dispatcher thread on the client does everything that touches Ray after start-up: it
hands queued jobs to idle actors (checkpoint affinity, :mod:`~nodes.cluster.scheduling`),
drains the actors' events to the subscribers, collects results, retries a job whose actor
died (a killed process, out of memory) on a fresh actor up to ``max_retries`` times, and
finishes jobs **in submission order**: a job's files are written (numbered as the local
runner numbers them) and its ``RunFinished`` emitted once every job submitted before it has
finished, so a sweep's images get the same names on a cluster as on one GPU. A job that
fails by itself (bad input, a node's error) comes back as a failed outcome and is never
retried.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodes.cluster import artifacts
from nodes.cluster.scheduling import Slot, assign, job_models
from nodes.events import (
    Event,
    NodeResult,
    Problem,
    RunFinished,
    RunQueued,
    RunStatus,
    Subscribers,
)
from nodes.executor import NodeReport, RunOutcome
from nodes.registry import Registry
from nodes.run_spec import EnvironmentSpec, JobResult, OutputPolicy, RunSpec

log = logging.getLogger("daguerre.cluster")

PREFETCH = 2
"""Jobs an actor holds at once: the one it runs and the next, waiting on it, which it
starts without a round trip to the client (they run one after the other)."""
POLL_SECONDS = 0.05
"""How long the dispatcher waits for a result (it returns as soon as one is ready) before
it drains the workers' events again."""


@dataclass
class JobFailure:
    """An attempt of a job lost with its actor (reported, then retried or given up)."""

    run_id: int
    attempt: int
    reason: str
    retried: bool


@dataclass
class _Job:
    run_id: int
    spec: RunSpec
    models: frozenset[str]
    attempts: int = 0
    cancelled: bool = False
    ref: Any = None
    slot: Slot | None = None
    actor: Any = None
    """The actor it was sent to (a slot's actor is replaced when it dies)."""
    result: JobResult | None = None
    final: RunOutcome | None = None
    """Set when the job is over but not yet written (waiting for earlier jobs)."""
    done: threading.Event = field(default_factory=threading.Event)


class ClusterRunner:
    """Runs jobs on Ray actors; see the module docstring. ``address`` is ``"auto"`` (the
    running cluster, else a new local Ray) or ``"ray://HOST:PORT"``; when Ray is already
    initialised in this process (a test, a notebook) that connection is used."""

    def __init__(
        self,
        address: str,
        env: EnvironmentSpec,
        *,
        registry: Registry | None = None,
        workers: int | None = None,
        max_retries: int = 2,
        threads: int | None = None,
        notify: Callable[[JobFailure], None] | None = None,
        keep_outcomes: int = 256,
    ) -> None:
        import ray

        self._owns_ray = False
        if not ray.is_initialized():
            _connect(address)
            self._owns_ray = True
        self.env = env
        self.registry = registry
        self.max_retries = max_retries
        self.output_dir = Path(env.output_dir).expanduser() if env.output_dir else Path("output")
        self.failures: list[JobFailure] = []
        self._notify = notify
        self._threads = threads
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._ids = itertools.count(1)
        self._subscribers = Subscribers()
        self._jobs: dict[int, _Job] = {}
        self._queue: list[int] = []
        self._order: list[int] = []
        self._outcomes: OrderedDict[int, RunOutcome] = OrderedDict()
        self._keep = keep_outcomes
        self._closed = False
        self._tag = uuid.uuid4().hex[:8]
        self._generation = itertools.count()
        count = workers or default_workers()
        self._gpus = _cluster_gpus() > 0
        self._sink = _actor_classes()[1].options(name=f"daguerre-{self._tag}-events").remote()
        self.slots = count
        self._slots = [Slot(i, capacity=PREFETCH) for i in range(count)]
        self.actors: list[Any] = [self._start_actor(i) for i in range(count)]
        self._thread = threading.Thread(target=self._dispatch, name="daguerre-cluster", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- protocol
    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        return self._subscribers.subscribe(callback)

    def submit(
        self,
        workflow: dict[str, Any],
        overrides: Mapping[str, Any] | None = None,
        *,
        targets: Iterable[str] | None = None,
        label: str = "",
    ) -> int:
        return self.submit_spec(RunSpec.of(workflow, overrides, targets, label))

    def submit_spec(self, spec: RunSpec) -> int:
        if self._closed:
            raise RuntimeError("the runner is shut down")
        job = _Job(next(self._ids), spec, job_models(spec.workflow, spec.overrides, self.registry))
        with self._lock:
            self._jobs[job.run_id] = job
            self._queue.append(job.run_id)
            self._order.append(job.run_id)
        self._emit(RunQueued(job.run_id, spec.label))
        self._wake.set()
        return job.run_id

    def cancel(self, run_id: int | None = None) -> bool:
        """Cancel run ``run_id`` (queued or running), or with None every running job."""
        with self._lock:
            if run_id is None:
                jobs = [j for j in self._jobs.values() if j.ref is not None and j.final is None]
            else:
                job = self._jobs.get(run_id)
                jobs = [job] if job is not None and job.final is None else []
            for job in jobs:
                job.cancelled = True
                if job.ref is not None and job.actor is not None:
                    job.actor.cancel.options(concurrency_group="control").remote(job.run_id)
        self._wake.set()
        return bool(jobs)

    def clear_queue(self) -> list[int]:
        with self._lock:
            dropped = [self._jobs[i] for i in self._queue]
            for job in dropped:
                job.cancelled = True
        self._wake.set()
        return [job.run_id for job in dropped]

    def wait(self, run_id: int, timeout: float | None = None) -> RunOutcome:
        with self._lock:
            outcome = self._outcomes.get(run_id)
            job = self._jobs.get(run_id)
        if outcome is not None:
            return outcome
        if job is None:
            raise KeyError(f"unknown run {run_id}")
        if not job.done.wait(timeout):
            raise TimeoutError(f"run {run_id} still running after {timeout} s")
        with self._lock:
            return self._outcomes[run_id]

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._jobs)

    def shutdown(self, timeout: float | None = 10.0) -> None:
        """Cancel every job, stop the dispatcher, and kill the actors (none outlives the
        runner); disconnect from Ray if this runner connected."""
        import ray

        self.clear_queue()
        self.cancel()
        self._closed = True
        self._wake.set()
        self._thread.join(timeout)
        for actor in [*self.actors, self._sink]:
            try:
                ray.kill(actor)
            except Exception:  # already dead
                log.debug("actor already gone", exc_info=True)
        with self._lock:
            leftover = [j for j in self._jobs.values() if not j.done.is_set()]
        for job in leftover:  # nobody waits forever on a runner that is gone
            self._store(job, RunOutcome(job.run_id, RunStatus.CANCELLED))
        if self._owns_ray:
            ray.shutdown()

    def actor_of(self, run_id: int) -> Any:
        """The actor running ``run_id`` now, or None (tests kill it)."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is None or job.ref is None:
                return None
            return job.actor

    def attempts(self, run_id: int) -> int:
        """How many times ``run_id`` was started on an actor (1 without failures)."""
        return 1 + sum(1 for f in self.failures if f.run_id == run_id and f.retried)

    # ---------------------------------------------------------------- dispatcher
    def _start_actor(self, index: int) -> Any:
        worker, _sink = _actor_classes()
        resources: dict[str, Any] = (
            {"num_gpus": 1, "num_cpus": 0} if self._gpus else {"num_cpus": 1}
        )
        name = f"daguerre-{self._tag}-worker-{index}-{next(self._generation)}"
        env = self.env.to_json()
        if self._gpus and str(env["device"]).startswith("cuda:"):
            env["device"] = "cuda"  # Ray shows each actor its own GPU only, as cuda:0
        return worker.options(name=name, **resources).remote(env, self._sink, self._threads)

    def _dispatch(self) -> None:
        import ray

        while not self._closed:
            try:
                self._schedule()
                with self._lock:
                    running = {j.ref: j for j in self._jobs.values() if j.ref is not None}
                if running:
                    # back as soon as one job ends, so its actor gets the next at once
                    ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_SECONDS)
                else:
                    self._wake.wait(POLL_SECONDS)
                    self._wake.clear()
                    ready = []
                self._drain()
                for ref in ready:
                    self._collect(running[ref])
                self._finish_in_order()
            except Exception:  # keep dispatching: a broken job must not stop the rest
                log.exception("cluster dispatcher")
        self._drain()

    def _schedule(self) -> None:
        with self._lock:
            for run_id in [i for i in self._queue if self._jobs[i].cancelled]:
                self._queue.remove(run_id)
                self._jobs[run_id].final = RunOutcome(run_id, RunStatus.CANCELLED)
            queue = [(i, self._jobs[i].models) for i in self._queue]
            for run_id, slot in assign(queue, self._slots):
                job = self._jobs[run_id]
                self._queue.remove(run_id)
                job.slot, job.actor = slot, self.actors[slot.index]
                job.ref = job.actor.run.remote(run_id, job.spec.to_json())

    def _drain(self) -> None:
        import ray

        for event in ray.get(self._sink.drain.remote()):
            with self._lock:
                job = self._jobs.get(event.run_id)
            if job is not None and job.final is None:
                self._emit(event)

    def _collect(self, job: _Job) -> None:
        import ray
        from ray.exceptions import (
            ActorUnavailableError,
            OutOfMemoryError,
            RayActorError,
            WorkerCrashedError,
        )

        slot = job.slot
        assert slot is not None
        try:
            result: JobResult = ray.get(job.ref)
        except (RayActorError, ActorUnavailableError, OutOfMemoryError, WorkerCrashedError) as exc:
            self._lost(job, slot, exc)
            return
        except Exception as exc:  # raised inside the job: deterministic, not retried
            with self._lock:
                job.ref, job.slot = None, None
                slot.jobs -= 1
                job.final = RunOutcome(job.run_id, RunStatus.FAILED, error=f"worker error: {exc}")
            return
        with self._lock:
            job.ref, job.slot = None, None
            slot.jobs -= 1
            slot.models |= job.models
            job.result = result
            job.final = _outcome(job.run_id, result)

    def _lost(self, job: _Job, slot: Slot, exc: BaseException) -> None:
        """The job's actor died: replace it, then retry the job or give up on it."""
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        with self._lock:
            job.attempts += 1
            retry = not job.cancelled and job.attempts <= self.max_retries and not self._closed
            job.ref, job.slot = None, None
            slot.jobs -= 1
            if self.actors[slot.index] is job.actor:  # the first of its jobs to hear of it
                self.actors[slot.index] = self._start_actor(slot.index)
                slot.models.clear()
            if retry:
                self._queue.insert(0, job.run_id)
            elif job.cancelled:
                job.final = RunOutcome(job.run_id, RunStatus.CANCELLED)
            else:
                job.final = RunOutcome(
                    job.run_id,
                    RunStatus.FAILED,
                    error=f"its worker died {job.attempts} times (last: {reason})",
                )
        failure = JobFailure(job.run_id, job.attempts, reason, retry)
        self.failures.append(failure)
        log.warning(
            "run %s: worker died (%s); %s", job.run_id, reason, "retrying" if retry else "given up"
        )
        if self._notify is not None:
            self._notify(failure)

    def _finish_in_order(self) -> None:
        while True:
            with self._lock:
                if not self._order:
                    return
                job = self._jobs[self._order[0]]
                if job.final is None:
                    return
                self._order.pop(0)
            self._finish(job)

    def _finish(self, job: _Job) -> None:
        """Write the job's files (numbered now, in submission order) and report it."""
        outcome = job.final
        assert outcome is not None
        if job.result is not None:
            written: list[tuple[str, str]] = []
            try:
                for artifact in job.result.artifacts:
                    if job.spec.output is OutputPolicy.SHARED or artifact.path:
                        path = artifact.path or ""
                    else:
                        (file,) = artifacts.write(self.output_dir, [artifact])
                        path = str(file)
                    written.append((artifact.node_id, path))
            except OSError as exc:
                outcome.status = RunStatus.FAILED
                outcome.error = f"cannot save to {self.output_dir}: {exc.strerror or exc}"
            outcome.outputs = [path for _, path in written]
            for node_id in dict.fromkeys(n for n, _ in written):
                files = tuple(p for n, p in written if n == node_id)
                self._emit(NodeResult(job.run_id, node_id, files, _pictures(files)))
        self._emit(
            RunFinished(
                job.run_id, outcome.status, outcome.seconds, outcome.error, tuple(outcome.problems)
            )
        )
        self._store(job, outcome)

    def _store(self, job: _Job, outcome: RunOutcome) -> None:
        with self._lock:
            self._jobs.pop(job.run_id, None)
            self._outcomes[job.run_id] = outcome
            while len(self._outcomes) > self._keep:
                self._outcomes.popitem(last=False)
        job.done.set()

    def _emit(self, event: Event) -> None:
        self._subscribers.emit(event)


def _outcome(run_id: int, result: JobResult) -> RunOutcome:
    data = result.outcome
    return RunOutcome(
        run_id,
        RunStatus(result.status),
        float(data.get("seconds", 0.0)),
        tuple(data.get("plan", ())),
        nodes={
            node_id: NodeReport(bool(r["cached"]), float(r["seconds"]), r["error"])
            for node_id, r in data.get("nodes", {}).items()
        },
        problems=[Problem(e["node"], e["field"], e["message"]) for e in data.get("errors", [])],
        error=result.error,
    )


def _pictures(files: tuple[str, ...]) -> tuple[Any, ...]:
    """The saved images as uint8 arrays, for the image panel (as Save Image reports)."""
    import numpy as np
    from PIL import Image

    pictures = []
    for name in files:
        try:
            with Image.open(name) as image:
                pictures.append(np.asarray(image.convert("RGB")))
        except OSError:
            continue
    return tuple(pictures)


def _connect(address: str) -> None:
    """Join the cluster ``address`` names; ``auto`` with no cluster running starts a local
    Ray (every GPU and CPU of this machine)."""
    import ray

    if address == "auto":
        try:
            ray.init(address="auto", include_dashboard=False, log_to_driver=False)
        except ConnectionError:
            ray.init(include_dashboard=False, log_to_driver=False)
        return
    ray.init(address=address)  # Ray Client takes few of ray.init's options


def _cluster_gpus() -> int:
    import ray

    return int(ray.cluster_resources().get("GPU", 0))


def default_workers() -> int:
    """One actor per GPU of the cluster, else one per CPU."""
    import ray

    resources = ray.cluster_resources()
    return max(1, int(resources.get("GPU", 0)) or int(resources.get("CPU", 1)))


_CLASSES: tuple[Any, Any] | None = None


def _actor_classes() -> tuple[Any, Any]:
    global _CLASSES  # noqa: PLW0603 - made once per process, after Ray is imported
    if _CLASSES is None:
        from nodes.cluster.worker import remote_sink, remote_worker

        _CLASSES = (remote_worker(), remote_sink())
    return _CLASSES
