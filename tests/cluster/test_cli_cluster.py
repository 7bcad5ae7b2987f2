"""``daguerre run --cluster auto --workers 2 --sweep ...`` on the test's local Ray: the
sweep's images in the output folder, numbered in sweep order, a JSON summary per job, the
per-job lines and the batch's count on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nodes import cli
from nodes.models.demo import DemoPaths
from nodes.paths import resources_dir
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
