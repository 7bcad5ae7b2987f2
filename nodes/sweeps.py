"""Sweeps and batches expand here, in the engine: the one expansion ``daguerre run --sweep``
and the app's Run × N both call, so a job means the same everywhere (one expanded run).

- :func:`expand_sweep`: fixed overrides (``--set``) and swept values (``--sweep``, the
  cartesian product of every swept param, the first key varying slowest) → one
  :class:`~nodes.run_spec.RunSpec` per combination, lazily (a 10,000-run sweep is never
  held in memory at once), each labelled ``key=value, ...``.
- :func:`sweep_count`: how many runs that makes, counted before anything is expanded.
- :func:`seed_batch`: a batch of N runs in which each fixed seed advances per run
  (run *i* uses ``seed + i``, wrapping past the largest seed to 0): the overrides per run.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from nodes.run_spec import OutputPolicy, RunSpec

SEED_MAX = 2**64 - 1
"""The largest seed (``nodes.library.primitives.SEED_MAX``, kept here without importing the
node library)."""


def sweep_count(sweeps: Mapping[str, Sequence[Any]]) -> int:
    """How many runs ``sweeps`` make: the product of their lengths (1 without sweeps)."""
    return math.prod(len(values) for values in sweeps.values())


def sweep_label(combo: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in combo.items())


def expand_sweep(
    workflow: dict[str, Any],
    fixed: Mapping[str, Any],
    sweeps: Mapping[str, Sequence[Any]],
    *,
    targets: Sequence[str] | None = None,
    output: OutputPolicy = OutputPolicy.CLIENT,
) -> Iterator[RunSpec]:
    """One RunSpec per combination of the swept values (one run without sweeps), in the
    order the command line has always run them; swept values win over fixed ones."""
    keys = list(sweeps)
    for combo in itertools.product(*(sweeps[k] for k in keys)):
        chosen = dict(zip(keys, combo, strict=True))
        yield RunSpec(
            workflow,
            {**fixed, **chosen},
            tuple(targets) if targets is not None else None,
            sweep_label(chosen),
            output,
        )


def advanced_seed(seed: int, steps: int, seed_max: int = SEED_MAX) -> int:
    """``seed + steps``, wrapping past ``seed_max`` to 0 as the increment mode does."""
    return (seed + steps) % (seed_max + 1)


def seed_batch(
    seeds: Sequence[tuple[str, str, int]], count: int, seed_max: int = SEED_MAX
) -> list[dict[str, Any]]:
    """The overrides of each run of a batch of ``count``: every ``(node, param, value)``
    seed advanced by the run's index (an empty dict per run without seeds)."""
    if count < 1:
        raise ValueError(f"a batch has at least one run, not {count}")
    return [
        {f"{node}.{param}": advanced_seed(value, index, seed_max) for node, param, value in seeds}
        for index in range(count)
    ]
