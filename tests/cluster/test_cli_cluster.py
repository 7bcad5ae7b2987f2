"""``daguerre run --cluster auto --workers 2 --sweep ...`` on the test's local Ray: the
sweep's images in the output folder, numbered in sweep order, a JSON summary per job, the
per-job lines and the batch's count on stderr."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from nodes import cli
from nodes.executor import RunOutcome
from nodes.models.demo import DemoPaths
from nodes.paths import resources_dir
from nodes.run_protocol import RunnerProtocol
from nodes.workflow.png import RECORD_KEY, png_texts


def test_run_a_sweep_on_the_cluster(
    ray_cluster: None,
    demo_sd15: DemoPaths,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    code = cli.main(
        [
            "run",
            str(resources_dir() / "workflows" / "txt2img.json"),
            "--cluster",
            "auto",
            "--workers",
            "2",
            "--set",
            f"checkpoint.path={demo_sd15.single_file}",
            "--set",
            "latent.width=64",
            "--set",
            "latent.height=64",
            "--set",
            "sampler.steps=2",
            "--sweep",
            "sampler.seed=7,8,9",
            "--out",
            str(out),
            "--json",
            "--no-advice",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert [run["status"] for run in summary["runs"]] == ["done"] * 3
    names = [f"txt2img_{i:05d}.png" for i in (1, 2, 3)]
    assert [Path(p).name for run in summary["runs"] for p in run["outputs"]] == names
    seeds = [
        json.loads(png_texts((out / n).read_bytes())[RECORD_KEY])["samplers"][0]["seed"]
        for n in names
    ]
    assert seeds == [7, 8, 9]
    assert "job 1 (sampler.seed=7) done in" in captured.err
    assert "3/3" in captured.err


def test_a_bad_cluster_address_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", "x.json", "--cluster", "ray://nowhere"])
    assert code == 2
    assert "choose local, auto or ray://HOST:PORT" in capsys.readouterr().err


def test_ctrl_c_cancels_the_whole_batch_and_leaves_no_actor(
    ray_cluster: None,
    demo_sd15: DemoPaths,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ray

    from nodes.cli import run as run_command

    real_wait = run_command._wait  # pyright: ignore[reportPrivateUsage]
    calls: list[int] = []

    def interrupted(runner: RunnerProtocol, run_id: int) -> RunOutcome:
        calls.append(run_id)
        if len(calls) == 1:  # the user presses Ctrl+C while the first jobs start
            time.sleep(1.0)
            raise KeyboardInterrupt
        return real_wait(runner, run_id)

    monkeypatch.setattr(run_command, "_wait", interrupted)
    out = tmp_path / "out"
    code = cli.main(
        [
            "run",
            str(resources_dir() / "workflows" / "txt2img.json"),
            "--cluster",
            "auto",
            "--workers",
            "1",
            "--set",
            f"checkpoint.path={demo_sd15.single_file}",
            "--set",
            "latent.width=64",
            "--set",
            "latent.height=64",
            "--set",
            "sampler.steps=1000",
            "--sweep",
            "sampler.seed=1,2,3,4,5,6",
            "--out",
            str(out),
            "--json",
            "--no-advice",
        ]
    )
    captured = capsys.readouterr()
    assert code == 130, captured.err
    assert "cancelling" in captured.err
    summary = json.loads(captured.out)
    assert [run["status"] for run in summary["runs"]] == ["cancelled"] * 6
    assert not out.exists() or not list(out.iterdir())
    assert not [n for n in ray.util.list_named_actors(all_namespaces=True) if "daguerre" in str(n)]
