"""Cluster sweep: a 16-job seed sweep of txt2img on the tiny SD1.5 demo model (64×64, 4
steps), on the local thread runner and on Ray with 2 workers on this machine.

Prints jobs per second for each (the median of ``--repeats`` timed sweeps, the runners
taking turns, after a warm-up that loads the model once per runner or actor) and the fixed
overhead per job that Ray adds: the per-job time of one Ray worker minus the local
runner's, in ms (scheduling, the round trips, events, PNG bytes back and written by the
client). With ``--scaling 1,2,4``
(on a machine with that many GPUs, ``--device cuda``) it also reports jobs/s per worker
count. Targets: 2 workers on 2 free cores ≥ 1.5× the local runner on jobs this small, and
a fixed overhead under 50 ms per job.

Ends with ``RESULT cluster_sweep ...``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from nodes.library import load_builtin_nodes
from nodes.paths import resources_dir
from nodes.registry import Registry
from nodes.run_protocol import RunnerProtocol, open_runner
from nodes.run_spec import EnvironmentSpec
from nodes.sweeps import expand_sweep


def sweep(runner: RunnerProtocol, fixed: dict[str, Any], seeds: list[int]) -> float:
    """Seconds for the whole sweep, every job done."""
    workflow = json.loads((resources_dir() / "workflows" / "txt2img.json").read_text("utf-8"))
    started = time.perf_counter()
    ids = [runner.submit_spec(s) for s in expand_sweep(workflow, fixed, {"sampler.seed": seeds})]
    for run_id in ids:
        outcome = runner.wait(run_id, timeout=600)
        if outcome.status != "done":
            raise SystemExit(f"run {run_id} {outcome.status}: {outcome.error} {outcome.problems}")
    return time.perf_counter() - started


def interleaved(
    runners: dict[str, RunnerProtocol], fixed: dict[str, Any], jobs: int, repeats: int
) -> dict[str, float]:
    """Median seconds of a ``jobs``-job sweep per runner, the runners taking turns in each
    round (so a busy moment of the machine hits them all alike); new seeds every sweep,
    so nothing comes from a cache but the models, loaded once in a warm-up."""
    for runner in runners.values():
        sweep(runner, fixed, list(range(10_000, 10_000 + 2 * runner.slots)))
    times: dict[str, list[float]] = {name: [] for name in runners}
    seed = 0
    for _ in range(repeats):
        for name, runner in runners.items():
            times[name].append(sweep(runner, fixed, list(range(seed, seed + jobs))))
            seed += jobs
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description="local runner vs Ray on a seed sweep")
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--scaling", default="", help="worker counts, e.g. 1,2,4 (GPUs)")
    args = parser.parse_args()

    import ray
    import torch

    from nodes.cluster.runner import ClusterRunner
    from nodes.models.demo import make_demo_model

    torch.set_num_threads(1)
    root = Path(tempfile.mkdtemp(prefix="daguerre-cluster-bench-"))
    try:
        model = make_demo_model(root / "models", "sd15").single_file
        fixed = {
            "checkpoint.path": str(model),
            "latent.width": args.size,
            "latent.height": args.size,
            "sampler.steps": args.steps,
        }
        registry = load_builtin_nodes(Registry())
        counts = sorted({1, args.workers, *(int(n) for n in args.scaling.split(",") if n)})
        gpus = args.device.startswith("cuda")
        ray.init(
            num_cpus=max(2, sum(counts)) if not gpus else None,
            include_dashboard=False,
            log_to_driver=False,
        )

        def env(name: str) -> EnvironmentSpec:
            return EnvironmentSpec(output_dir=str(root / name), device=args.device)

        runners: dict[str, RunnerProtocol] = {"local": open_runner("local", env("local"), registry)}
        try:
            for count in counts:
                runners[f"ray{count}"] = ClusterRunner(
                    "auto", env(f"ray{count}"), registry=registry, workers=count, threads=1
                )
            medians = interleaved(runners, fixed, args.jobs, args.repeats)
        finally:
            for runner in runners.values():
                runner.shutdown()
        ray.shutdown()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    t_local = medians["local"]
    local_rate = args.jobs / t_local
    rates = {n: args.jobs / medians[f"ray{n}"] for n in counts}
    overhead_ms = (medians["ray1"] - t_local) / args.jobs * 1000.0
    print(f"local runner:   {local_rate:7.2f} jobs/s ({t_local / args.jobs * 1000:.0f} ms/job)")
    for n, rate in rates.items():
        print(
            f"ray, {n} worker{'s' if n > 1 else ' '}: {rate:7.2f} jobs/s ({rate / local_rate:.2f}×)"
        )
    print(f"fixed overhead Ray adds per job: {overhead_ms:.1f} ms")
    scaling = " ".join(f"ray{n}_jobs_per_s={r:.2f}" for n, r in rates.items() if n != args.workers)
    print(
        f"RESULT cluster_sweep jobs={args.jobs} local_jobs_per_s={local_rate:.2f} "
        f"ray{args.workers}_jobs_per_s={rates[args.workers]:.2f} "
        f"speedup={rates[args.workers] / local_rate:.2f} overhead_ms_per_job={overhead_ms:.1f}"
        + (f" {scaling}" if scaling else "")
    )


if __name__ == "__main__":
    main()
