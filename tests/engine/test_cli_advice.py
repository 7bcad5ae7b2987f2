"""Advice on the command line: ``validate`` and ``run`` print ``advice:`` lines after the
errors (advice alone exits 0), ``--json`` includes the records, ``--no-advice`` hides them,
and the ``silenced_advice`` setting silences a rule everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.models.demo import DemoPaths
from nodes.paths import resources_dir
from nodes.registry import Registry
from nodes.settings import Settings
from nodes.workflow import load_file
from tests.engine.cli_helpers import run_cli, write

pytestmark = pytest.mark.usefixtures("_home")

REGISTRY = load_builtin_nodes(Registry())


def txt2img(checkpoint: str = "", **sampler: object) -> Graph:
    graph = load_file(resources_dir() / "workflows" / "txt2img.json", REGISTRY)
    graph.nodes["checkpoint"].params["path"] = checkpoint
    graph.nodes["sampler"].params.update(sampler)
    return graph


def test_validate_prints_advice_after_errors_exit_unchanged(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, demo_sd15: DemoPaths
) -> None:
    path = write(txt2img(str(demo_sd15.single_file), cfg=25.0, steps=4), tmp_path)
    code, out, err = run_cli(capsys, REGISTRY, "validate", path)
    assert code == 0  # advice alone
    assert out.splitlines() == [
        "advice: sampler.steps: 4 steps is likely blurry: start with 20–30",
        "advice: sampler.cfg: cfg 25 is high: expect oversaturated colours and artifacts "
        "(keep it about 7–12)",
    ]
    assert err.startswith("ok: ")

    broken = write(txt2img("", cfg=25.0), tmp_path, "broken.json")  # no checkpoint chosen
    code, out, _ = run_cli(capsys, REGISTRY, "validate", broken)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "checkpoint.path: no checkpoints file chosen"
    assert lines[-1].startswith("advice: sampler.cfg: cfg 25 is high")

    code, out, _ = run_cli(capsys, REGISTRY, "validate", "--no-advice", path)
    assert (code, out) == (0, "")


def test_validate_json_includes_advice_records(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(txt2img("", cfg=25.0), tmp_path)
    code, out, _ = run_cli(capsys, REGISTRY, "validate", "--json", path)
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False
    assert data["errors"] == [
        {"node": "checkpoint", "field": "path", "message": "no checkpoints file chosen"}
    ]
    (advice,) = data["advice"]
    assert advice["node"] == "sampler" and advice["field"] == "cfg"
    assert advice["rule"] == "cfg.high" and advice["fix"] == {"cfg": 7.0}
    assert "follows the prompt more literally" in advice["why"]

    code, out, _ = run_cli(capsys, REGISTRY, "validate", "--json", "--no-advice", path)
    assert json.loads(out)["advice"] == []
    code, out, _ = run_cli(capsys, REGISTRY, "validate", "--json", tmp_path / "none.json")
    assert code == 1 and json.loads(out)["ok"] is False


def test_the_setting_silences_a_rule_everywhere(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(txt2img("", cfg=25.0, steps=4), tmp_path)
    Settings(silenced_advice=["cfg"]).save()
    code, out, _ = run_cli(capsys, REGISTRY, "validate", path)
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith("advice:")] == [
        "advice: sampler.steps: 4 steps is likely blurry: start with 20–30"
    ]
    assert Settings.load().silenced_advice == ["cfg"]


def test_run_prints_advice_after_its_errors_and_in_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(txt2img("", cfg=25.0), tmp_path)
    code, _, err = run_cli(capsys, REGISTRY, "run", "--out", tmp_path / "out", path)
    assert code == 1  # the missing checkpoint, as before
    lines = err.splitlines()
    assert any("no checkpoints file chosen" in line for line in lines)
    assert lines[-1].startswith("advice: sampler.cfg: cfg 25 is high")
    # --set values are judged: cfg 7 leaves nothing to advise
    code, _, err = run_cli(
        capsys, REGISTRY, "run", "--out", tmp_path / "out", "--set", "sampler.cfg=7", path
    )
    assert code == 1 and "advice:" not in err
    code, _, err = run_cli(capsys, REGISTRY, "run", "--no-advice", "--out", tmp_path / "out", path)
    assert "advice:" not in err

    code, out, _ = run_cli(
        capsys, REGISTRY, "run", "--json", "--quiet", "--out", tmp_path / "out", path
    )
    summary = json.loads(out)
    assert summary["status"] == "failed"
    assert [a["rule"] for a in summary["advice"]] == ["cfg.high"]


def test_a_run_with_advice_alone_succeeds(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, demo_sd15: DemoPaths
) -> None:
    graph = txt2img(str(demo_sd15.single_file), cfg=25.0, steps=2)
    graph.nodes["latent"].params.update(width=64, height=64)
    path = write(graph, tmp_path)
    code, _, err = run_cli(capsys, REGISTRY, "run", "--out", tmp_path / "out", path)
    assert code == 0
    advice = [line for line in err.splitlines() if line.startswith("advice:")]
    assert [line.split(":")[1].strip() for line in advice] == [
        "sampler.steps",
        "sampler.cfg",
        "latent.width",
    ]
    assert list((tmp_path / "out").glob("*.png"))
