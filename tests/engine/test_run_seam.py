"""The runner seam without Ray: run and environment specs as plain JSON data, the one sweep
and batch expansion, the runner protocol and its factory, checkpoint affinity, and a job's
files as bytes (the record gains the worker; pixels and other chunks unchanged)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nodes.cluster.artifacts import split_numbered, with_worker, write
from nodes.cluster.scheduling import Slot, assign, choose_slot, job_models
from nodes.cluster_address import valid_cluster
from nodes.events import RunStatus
from nodes.graph import Graph
from nodes.paths import FileFinder
from nodes.run_protocol import RunnerProtocol, is_local, open_runner
from nodes.run_spec import (
    Artifact,
    EnvironmentSpec,
    JobResult,
    OutputPolicy,
    RunSpec,
    load_hook,
)
from nodes.runner import Runner
from nodes.sweeps import advanced_seed, expand_sweep, seed_batch, sweep_count
from nodes.workflow import to_dict
from nodes.workflow.png import RECORD_KEY, WORKFLOW_KEY, encode_png, png_texts


def _json_round_trip(data: dict[str, object]) -> dict[str, object]:
    return json.loads(json.dumps(data))


def test_run_spec_and_results_round_trip_through_json() -> None:
    spec = RunSpec({"nodes": {}}, {"a.b": 1}, ("save",), "seed=1", OutputPolicy.SHARED)
    assert RunSpec.from_json(_json_round_trip(spec.to_json())) == spec
    env = EnvironmentSpec(("/m",), "/w", "/out", "cuda:1", "fp16", "off", True, 0.5, "x:y")
    assert EnvironmentSpec.from_json(_json_round_trip(env.to_json())) == env
    result = JobResult(
        "done",
        {"status": "done"},
        (Artifact("save", "p", ".png", b"\x89PNG\x00"),),
        None,
        {"host": "h"},
    )
    assert JobResult.from_json(_json_round_trip(result.to_json())) == result


def test_environment_spec_builds_the_worker_s_environment(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "m.safetensors").write_bytes(b"x")
    spec = EnvironmentSpec(
        (str(tmp_path),),
        None,
        str(tmp_path / "out"),
        "cpu",
        "fp32",
        "off",
        png_texts="nodes.comfy.png_texts:comfy_png_texts",
    )
    env = spec.build()
    assert isinstance(env.resolve_file, FileFinder)
    assert (
        env.resolve_file("checkpoints", "m.safetensors")
        == tmp_path / "checkpoints" / "m.safetensors"
    )
    assert (env.device, env.precision, env.acceleration) == ("cpu", "fp32", "off")
    assert env.output_dir == tmp_path / "out"
    from nodes.comfy.png_texts import comfy_png_texts

    assert env.extra_png_texts is comfy_png_texts
    assert spec.build(output_dir=tmp_path / "scratch").output_dir == tmp_path / "scratch"


@pytest.mark.parametrize("name", ["nocolon", ":f", "m:", "json:not_there", "json:__doc__"])
def test_a_bad_hook_name_is_refused(name: str) -> None:
    with pytest.raises((ValueError, ModuleNotFoundError)):
        load_hook(name)


def test_sweeps_expand_as_the_command_line_ran_them() -> None:
    doc = {"nodes": {}}
    specs = list(
        expand_sweep(doc, {"s.steps": 4, "s.seed": 0}, {"s.seed": [1, 2], "t.text": ["a", "b"]})
    )
    assert [s.overrides for s in specs] == [
        {"s.steps": 4, "s.seed": 1, "t.text": "a"},
        {"s.steps": 4, "s.seed": 1, "t.text": "b"},
        {"s.steps": 4, "s.seed": 2, "t.text": "a"},
        {"s.steps": 4, "s.seed": 2, "t.text": "b"},
    ]
    assert [s.label for s in specs] == [
        "s.seed=1, t.text=a",
        "s.seed=1, t.text=b",
        "s.seed=2, t.text=a",
        "s.seed=2, t.text=b",
    ]
    assert sweep_count({"s.seed": [1, 2], "t.text": ["a", "b", "c"]}) == 6
    assert [s.overrides for s in expand_sweep(doc, {"a.b": 1}, {})] == [{"a.b": 1}]


def test_a_seed_batch_advances_each_fixed_seed_and_wraps() -> None:
    assert seed_batch([("s", "seed", 5), ("t", "seed", 9)], 3) == [
        {"s.seed": 5, "t.seed": 9},
        {"s.seed": 6, "t.seed": 10},
        {"s.seed": 7, "t.seed": 11},
    ]
    assert seed_batch([], 2) == [{}, {}]
    assert advanced_seed(2**64 - 1, 1) == 0
    with pytest.raises(ValueError, match="at least one run"):
        seed_batch([], 0)


def test_the_thread_runner_is_a_runner_and_runs_a_spec(graph: Graph) -> None:
    graph.add_node("test.const", id="c", params={"value": 2})
    graph.add_node("test.sink", id="s")
    graph.connect("c", "value", "s", "value")
    runner = open_runner("local", EnvironmentSpec(), graph.registry)
    assert isinstance(runner, Runner) and isinstance(runner, RunnerProtocol)
    (spec,) = expand_sweep(to_dict(graph), {}, {"c.value": [3]})
    outcome = runner.wait(runner.submit_spec(spec), timeout=10)
    runner.shutdown()
    assert outcome.status is RunStatus.DONE


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("local", True),
        ("", True),
        ("auto", True),
        ("ray://10.0.0.2:10001", True),
        ("ray://host", False),
        ("ray://:10001", False),
        ("ray://h:0", False),
        ("ray://h:99999", False),
        ("http://h:1", False),
        ("cluster", False),
    ],
)
def test_cluster_addresses(address: str, ok: bool) -> None:
    assert valid_cluster(address) is ok
    if not ok:
        with pytest.raises(ValueError, match="local, auto or ray://HOST:PORT"):
            open_runner(address, EnvironmentSpec(), None)
    assert is_local(None) and is_local("local") and not is_local("auto")


def test_jobs_go_to_the_actor_that_has_their_checkpoint() -> None:
    x, y, z = frozenset({"x.safetensors"}), frozenset({"y.safetensors"}), frozenset({"z"})
    a, b = Slot(0, {"x.safetensors"}), Slot(1, {"y.safetensors"})
    # b takes job 2 although job 1 is first: b has y loaded; a takes job 1
    assert sorted((job, slot.index) for job, slot in assign([(1, x), (2, y)], [b, a])) == [
        (1, 0),
        (2, 1),
    ]
    assert a.busy and b.busy and (a.jobs, b.jobs) == (1, 1)
    a.jobs = b.jobs = 0
    assert [(j, s.index) for j, s in assign([(3, y)], [a, b])] == [(3, 1)]
    b.jobs = 0
    fresh = Slot(2)
    # an unknown model goes to an actor that has loaded nothing rather than evict one
    assert choose_slot(z, [a, b, fresh]) is fresh
    a.jobs = b.jobs = fresh.jobs = 1
    assert choose_slot(frozenset(), [a, b, fresh]) is None
    assert assign([(4, frozenset())], [a, b, fresh]) == []


def test_every_actor_works_before_any_holds_a_second_job() -> None:
    x = frozenset({"x"})
    a, b = Slot(0, {"x"}, capacity=2), Slot(1, {"x"}, capacity=2)
    assert [(j, s.index) for j, s in assign([(1, x), (2, x)], [a, b])] == [(1, 0), (2, 1)]
    # then each takes its next job, waiting on it; a fifth waits on the client
    chosen = assign([(3, x), (4, x), (5, x)], [a, b])
    assert [(j, s.index) for j, s in chosen] == [(3, 0), (4, 1)]
    assert (a.jobs, b.jobs, a.busy, b.busy) == (2, 2, True, True)
    a.jobs = 1
    assert [(j, s.index) for j, s in assign([(5, x)], [a, b])] == [(5, 0)]


def test_job_models_reads_checkpoints_after_overrides(graph: Graph) -> None:
    from nodes.library import load_builtin_nodes

    registry = load_builtin_nodes(graph.registry)
    work = Graph(registry)
    work.add_node("loaders.checkpoint", id="ck", params={"path": "a.safetensors"})
    doc = to_dict(work)
    assert job_models(doc, {}, registry) == {"a.safetensors"}
    assert job_models(doc, {"ck.path": "b.safetensors"}, registry) == {"b.safetensors"}
    assert job_models({"format": "nonsense"}, {}, registry) == frozenset()


def test_artifacts_carry_the_worker_and_are_numbered_by_the_client(tmp_path: Path) -> None:
    pixels = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    texts = {WORKFLOW_KEY: '{"w": 1}', RECORD_KEY: json.dumps({"seed": 3}, indent=1)}
    data = encode_png(pixels, texts)
    marked = with_worker(data, {"host": "gpu-7", "device": "cuda:0"})
    got = png_texts(marked)
    assert got[WORKFLOW_KEY] == texts[WORKFLOW_KEY]
    assert json.loads(got[RECORD_KEY]) == {
        "seed": 3,
        "worker": {"host": "gpu-7", "device": "cuda:0"},
    }
    import io

    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(io.BytesIO(marked))), pixels)
    assert with_worker(b"not a png", {"host": "h"}) == b"not a png"
    assert split_numbered("my_prefix_00012.png") == ("my_prefix", ".png")
    assert split_numbered("plain.png") == ("plain", ".png")
    (tmp_path / "p_00001.png").write_bytes(b"old")
    paths = write(tmp_path, [Artifact("s", "p", ".png", marked), Artifact("s", "p", ".png", data)])
    assert [p.name for p in paths] == ["p_00002.png", "p_00003.png"]
    assert (tmp_path / "p_00001.png").read_bytes() == b"old"


def test_the_app_s_environment_becomes_a_spec_for_workers_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nodes.comfy.png_texts import comfy_png_texts
    from nodes.context import Environment

    monkeypatch.chdir(tmp_path)
    env = Environment(
        output_dir=Path("out"),
        resolve_file=FileFinder([Path("models")], base_dir=tmp_path / "flows"),
        device="cuda:1",
        previews=True,
        extra_png_texts=comfy_png_texts,
    )
    spec = EnvironmentSpec.of(env)
    assert spec.models_dirs == (str(tmp_path / "models"), str(tmp_path))  # absolute, cwd last
    assert spec.base_dir == str(tmp_path / "flows")
    assert spec.output_dir == str(tmp_path / "out")
    assert (spec.device, spec.previews) == ("cuda:1", True)
    assert spec.build().extra_png_texts is comfy_png_texts
    assert EnvironmentSpec.of(Environment(extra_png_texts=None)).png_texts is None


def test_alternating_checkpoints_stay_with_their_actors() -> None:
    a, b = frozenset({"a"}), frozenset({"b"})
    first, second = Slot(0, capacity=2), Slot(1, capacity=2)
    queue = [(1, a), (2, b), (3, a), (4, b)]
    chosen = assign(queue, [first, second])
    assert [(j, s.index) for j, s in chosen] == [(1, 0), (2, 1), (3, 0), (4, 1)]
    assert (first.models, second.models) == ({"a"}, {"b"})
    first.jobs = second.jobs = 1
    assert [(j, s.index) for j, s in assign([(5, b), (6, a)], [first, second])] == [
        (6, 0),
        (5, 1),
    ]


def test_a_working_actor_leaves_another_s_checkpoint_to_it() -> None:
    a, b = frozenset({"a"}), frozenset({"b"})
    first, second = Slot(0, {"a"}, jobs=2, capacity=2), Slot(1, {"b"}, jobs=1, capacity=2)
    assert assign([(5, a)], [first, second]) == []  # second is working: job 5 waits for first
    second.jobs = 0
    assert [(j, s.index) for j, s in assign([(5, a)], [first, second])] == [(5, 1)]  # idle
    assert assign([(6, b), (7, frozenset({"c"}))], [first, second]) == [(6, second)]
