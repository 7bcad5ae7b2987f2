"""The runner seam: what the CLI and the app's bridge depend on, whichever runner it is.

Two implementations: :class:`nodes.runner.Runner` (a worker thread in this process) and
:class:`nodes.cluster.runner.ClusterRunner` (Ray actors, one per GPU or worker slot).
:func:`open_runner` picks one from a cluster address — ``None``, ``""`` or ``"local"`` is
the thread runner; ``"auto"`` or ``"ray://HOST:PORT"`` the Ray cluster — so callers never
name a class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nodes.cluster_address import is_local, valid_cluster

if TYPE_CHECKING:
    from nodes.events import Event
    from nodes.executor import RunOutcome
    from nodes.registry import Registry
    from nodes.run_spec import EnvironmentSpec, RunSpec


@runtime_checkable
class RunnerProtocol(Protocol):
    """Submit run specs, stream their events, cancel them, wait for their outcomes."""

    slots: int
    """How many runs it works on at once (1 for the thread runner)."""

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]: ...

    def submit(
        self,
        workflow: dict[str, Any],
        overrides: Mapping[str, Any] | None = None,
        *,
        targets: Iterable[str] | None = None,
        label: str = "",
    ) -> int: ...

    def submit_spec(self, spec: RunSpec) -> int: ...

    def cancel(self, run_id: int | None = None) -> bool: ...

    def clear_queue(self) -> list[int]: ...

    def wait(self, run_id: int, timeout: float | None = None) -> RunOutcome: ...

    @property
    def busy(self) -> bool: ...

    def shutdown(self, timeout: float | None = 10.0) -> None: ...


def open_runner(
    address: str | None,
    env: EnvironmentSpec,
    registry: Registry | None,
    *,
    workers: int | None = None,
    thread_init: Callable[[], None] | None = None,
    notify: Callable[[Any], None] | None = None,
) -> RunnerProtocol:
    """The runner for ``address`` with an environment built from ``env``: the thread
    runner (locally), or a Ray runner with ``workers`` actors (default: one per GPU of
    the cluster, else one per CPU; ``notify`` hears of each job attempt lost with its
    actor). A ValueError for an address that is neither; an ImportError without Ray."""
    if not valid_cluster(address or ""):
        raise ValueError(f"cluster {address!r} is not local, auto or ray://HOST:PORT")
    if is_local(address):
        from nodes.executor import Executor
        from nodes.runner import Runner

        return Runner(Executor(env=env.build()), registry=registry, thread_init=thread_init)
    from nodes.cluster.runner import ClusterRunner

    assert address is not None
    return ClusterRunner(address, env, registry=registry, workers=workers, notify=notify)
