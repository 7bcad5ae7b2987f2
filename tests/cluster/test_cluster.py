"""Daguerre on a real local Ray (two CPUs) with the tiny SD1.5 demo model: a seed sweep on
two actors gives the local runner's images (pixels byte for byte, same names, same
workflow and record but for the worker's host and device); a killed actor's job is retried
and every image is written exactly once; a bad-input job fails once and the rest finish;
cancel mid-batch leaves no actor behind."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import ray
from PIL import Image
from ray.exceptions import RayActorError

from nodes.cluster.runner import ClusterRunner
from nodes.events import Event, NodeProgress, NodeResult, NodeStarted, RunStatus
from nodes.library import load_builtin_nodes
from nodes.models.demo import DemoPaths
from nodes.paths import resources_dir
from nodes.registry import Registry
from nodes.run_protocol import RunnerProtocol, open_runner
from nodes.run_spec import EnvironmentSpec, OutputPolicy
from nodes.sweeps import expand_sweep
from nodes.workflow.png import RECORD_KEY, WORKFLOW_KEY, png_texts

SEEDS = [11, 12, 13, 14, 15, 16]
PNG_TEXTS = "nodes.comfy.png_texts:comfy_png_texts"


def _workflow() -> dict[str, Any]:
    return json.loads((resources_dir() / "workflows" / "txt2img.json").read_text("utf-8"))


def _fixed(model: Path, steps: int = 3) -> dict[str, Any]:
    return {
        "checkpoint.path": str(model),
        "latent.width": 64,
        "latent.height": 64,
        "sampler.steps": steps,
    }


def _run_all(runner: RunnerProtocol, fixed: dict[str, Any], seeds: list[int]) -> list[Any]:
    ids = [
        runner.submit_spec(spec)
        for spec in expand_sweep(_workflow(), fixed, {"sampler.seed": seeds})
    ]
    return [runner.wait(run_id, timeout=240) for run_id in ids]


def _pixels(path: Path) -> bytes:
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        return np.asarray(image.convert("RGB")).tobytes()


def _record(path: Path) -> dict[str, Any]:
    return json.loads(png_texts(path.read_bytes())[RECORD_KEY])


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_builtin_nodes(Registry())


@pytest.fixture(scope="module")
def runner(
    ray_cluster: None, registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ClusterRunner]:
    """Two actors for the module (each loads the model once); tests point its output
    folder at their own."""
    env = EnvironmentSpec(
        output_dir=str(tmp_path_factory.mktemp("cluster-out")), png_texts=PNG_TEXTS
    )
    cluster = ClusterRunner("auto", env, registry=registry, workers=2, threads=1)
    yield cluster
    cluster.shutdown()


def test_sweep_equals_the_local_runner(
    runner: ClusterRunner, registry: Registry, demo_sd15: DemoPaths, tmp_path: Path
) -> None:
    fixed = _fixed(demo_sd15.single_file)
    local_out, cluster_out = tmp_path / "local", tmp_path / "cluster"
    local = open_runner(
        "local", EnvironmentSpec(output_dir=str(local_out), png_texts=PNG_TEXTS), registry
    )
    try:
        local_outcomes = _run_all(local, fixed, SEEDS)
    finally:
        local.shutdown()
    runner.output_dir = cluster_out
    outcomes = _run_all(runner, fixed, SEEDS)

    assert [o.status for o in outcomes] == [RunStatus.DONE] * 6
    names = [Path(p).name for o in outcomes for p in o.outputs]
    assert names == [Path(p).name for o in local_outcomes for p in o.outputs]
    assert names == [f"txt2img_{i:05d}.png" for i in range(1, 7)]
    assert sorted(p.name for p in cluster_out.iterdir()) == names
    workers = set()
    for name in names:
        ours, theirs = cluster_out / name, local_out / name
        assert _pixels(ours) == _pixels(theirs)
        our_texts, their_texts = png_texts(ours.read_bytes()), png_texts(theirs.read_bytes())
        assert our_texts[WORKFLOW_KEY] == their_texts[WORKFLOW_KEY]
        assert our_texts.keys() == their_texts.keys()  # ComfyUI's prompt too
        record = _record(ours)
        worker = record.pop("worker")
        assert record == _record(theirs)
        assert worker["host"] and worker["device"] == "cpu"
        workers.add(worker["pid"])
    assert len(workers) == 2  # both actors took jobs
    assert [_record(cluster_out / n)["samplers"][0]["seed"] for n in names] == SEEDS


def test_a_bad_input_job_fails_once_and_the_rest_finish(
    runner: ClusterRunner, demo_sd15: DemoPaths, tmp_path: Path
) -> None:
    runner.output_dir = tmp_path
    specs = list(
        expand_sweep(_workflow(), _fixed(demo_sd15.single_file), {"sampler.seed": [1, 2, 3]})
    )
    bad = expand_sweep(
        _workflow(),
        {**_fixed(demo_sd15.single_file), "checkpoint.path": str(tmp_path / "missing.safetensors")},
        {},
    )
    ids = [runner.submit_spec(specs[0]), runner.submit_spec(next(bad))]
    ids += [runner.submit_spec(s) for s in specs[1:]]
    outcomes = [runner.wait(i, timeout=240) for i in ids]
    assert [o.status for o in outcomes] == ["done", "failed", "done", "done"]
    (problem,) = outcomes[1].problems
    assert (problem.node_id, problem.field) == ("checkpoint", "path")
    assert "missing.safetensors" in problem.message
    assert runner.attempts(ids[1]) == 1 and not [f for f in runner.failures if f.run_id == ids[1]]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"txt2img_{i:05d}.png" for i in (1, 2, 3)]


def test_a_killed_actor_s_job_is_retried_and_every_image_is_written_once(
    runner: ClusterRunner, demo_sd15: DemoPaths, tmp_path: Path
) -> None:
    # The diffusers folder: not in the actors' model caches yet, so the first job is still
    # loading it when its actor is killed.
    runner.output_dir = tmp_path
    victim: dict[str, int] = {}
    loading = threading.Event()

    def listen(event: Event) -> None:
        if isinstance(event, NodeStarted) and event.node_id == "checkpoint" and not victim:
            victim["run"] = event.run_id
            loading.set()

    unsubscribe = runner.subscribe(listen)
    try:
        ids = [
            runner.submit_spec(spec)
            for spec in expand_sweep(_workflow(), _fixed(demo_sd15.folder), {"sampler.seed": SEEDS})
        ]
        assert loading.wait(120)
        actor = runner.actor_of(victim["run"])
        assert actor is not None
        ray.kill(actor, no_restart=True)
        outcomes = [runner.wait(i, timeout=240) for i in ids]
    finally:
        unsubscribe()
    assert [o.status for o in outcomes] == [RunStatus.DONE] * 6
    (failure,) = [f for f in runner.failures if f.run_id == victim["run"]]
    assert failure.retried and "Actor" in failure.reason
    assert runner.attempts(victim["run"]) == 2
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"txt2img_{i:05d}.png" for i in range(1, 7)]
    assert [_record(tmp_path / n)["samplers"][0]["seed"] for n in names] == SEEDS


def test_cancel_mid_batch_leaves_no_actor_behind(
    runner: ClusterRunner, demo_sd15: DemoPaths, tmp_path: Path
) -> None:
    runner.output_dir = tmp_path
    sampling = threading.Event()

    def listen(event: Event) -> None:
        if isinstance(event, NodeProgress) and event.node_id == "sampler":
            sampling.set()

    runner.subscribe(listen)
    fixed = _fixed(demo_sd15.single_file, steps=400)
    ids = [
        runner.submit_spec(spec)
        for spec in expand_sweep(_workflow(), fixed, {"sampler.seed": list(range(8))})
    ]
    assert sampling.wait(120)
    tag = runner.actors[0]  # handles stay valid after the actors are gone
    queued = runner.clear_queue()
    assert queued  # two run, the rest wait
    assert runner.cancel()
    outcomes = [runner.wait(i, timeout=120) for i in ids]
    assert all(o.status == RunStatus.CANCELLED for o in outcomes)
    runner.shutdown()
    names = ray.util.list_named_actors(all_namespaces=True)
    assert not [n for n in names if "daguerre" in str(n)]
    with pytest.raises(RayActorError):
        ray.get(tag.describe.remote(), timeout=30)
    assert not list(tmp_path.iterdir())


def test_shared_output_is_written_by_the_workers(
    ray_cluster: None, registry: Registry, demo_sd15: DemoPaths, tmp_path: Path
) -> None:
    """A folder every worker sees: the workers write the images there themselves (the
    record still names the worker) and only the paths come back."""
    env = EnvironmentSpec(output_dir=str(tmp_path), png_texts=PNG_TEXTS)
    cluster = ClusterRunner("auto", env, registry=registry, workers=1, threads=1)
    results: list[tuple[str, ...]] = []
    cluster.subscribe(lambda e: results.append(e.files) if isinstance(e, NodeResult) else None)
    try:
        specs = expand_sweep(
            _workflow(),
            _fixed(demo_sd15.single_file),
            {"sampler.seed": [5, 6]},
            output=OutputPolicy.SHARED,
        )
        outcomes = [cluster.wait(cluster.submit_spec(s), timeout=240) for s in specs]
    finally:
        cluster.shutdown()
    assert [o.status for o in outcomes] == [RunStatus.DONE] * 2
    paths = [Path(p) for o in outcomes for p in o.outputs]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["txt2img_00001.png", "txt2img_00002.png"]
    assert sorted(paths) == sorted(tmp_path.iterdir())
    assert sorted(f for files in results for f in files) == sorted(map(str, paths))
    assert {_record(p)["samplers"][0]["seed"] for p in paths} == {5, 6}
    assert all(_record(p)["worker"]["device"] == "cpu" for p in paths)


def test_jobs_that_share_a_checkpoint_go_to_the_actor_that_loaded_it(
    ray_cluster: None, registry: Registry, demo_sd15: DemoPaths, tmp_path: Path
) -> None:
    """Two checkpoints in turn, two idle actors: each job goes to the actor that loaded its
    checkpoint before (the second checkpoint to the actor that had loaded nothing)."""
    cluster = ClusterRunner(
        "auto", EnvironmentSpec(output_dir=str(tmp_path)), registry=registry, workers=2, threads=1
    )
    outcomes = []
    try:
        for seed in range(6):  # one at a time: where each goes depends on no timing
            model = demo_sd15.single_file if seed % 2 == 0 else demo_sd15.folder
            (spec,) = expand_sweep(_workflow(), {**_fixed(model), "sampler.seed": seed}, {})
            outcomes.append(cluster.wait(cluster.submit_spec(spec), timeout=240))
    finally:
        cluster.shutdown()
    assert [o.status for o in outcomes] == [RunStatus.DONE] * 6
    workers_of: dict[str, set[str]] = {}
    for outcome in outcomes:
        record = _record(Path(outcome.outputs[0]))
        workers_of.setdefault(record["models"][0]["file"], set()).add(record["worker"]["pid"])
    assert sorted(len(pids) for pids in workers_of.values()) == [1, 1]
    assert len(set().union(*workers_of.values())) == 2
