"""The app on the test's local Ray: the bridge built with the cluster setting runs a batch
on two actors, the Runs panel lists each job,
and the images land in the output folder; shutting the bridge down kills its actors."""

from __future__ import annotations

import json
from pathlib import Path

import ray
from pytestqt.qtbot import QtBot

from desktop.bridge import EngineBridge
from desktop.panels.run import RunPanel
from desktop.run_state import RunPhase, RunState
from nodes.cluster.runner import ClusterRunner
from nodes.context import Environment
from nodes.library import load_builtin_nodes
from nodes.models.demo import DemoPaths
from nodes.paths import FileFinder, resources_dir
from nodes.registry import Registry


def test_the_app_runs_a_batch_on_the_cluster(
    ray_cluster: None, qtbot: QtBot, demo_sd15: DemoPaths, tmp_path: Path
) -> None:
    registry = load_builtin_nodes(Registry())
    env = Environment(output_dir=tmp_path, resolve_file=FileFinder([]), previews=True)
    bridge = EngineBridge(registry, env, cluster="auto", workers=2)
    assert bridge.cluster_error is None
    assert isinstance(bridge.runner, ClusterRunner)
    state = RunState(bridge)
    panel = RunPanel(bridge, state)
    qtbot.addWidget(panel)
    files: list[str] = []
    bridge.nodeResult.connect(lambda event: files.extend(event.files))
    document = json.loads((resources_dir() / "workflows" / "txt2img.json").read_text("utf-8"))
    fixed = {
        "checkpoint.path": str(demo_sd15.single_file),
        "latent.width": 64,
        "latent.height": 64,
        "sampler.steps": 3,
    }
    ids = [
        bridge.submit(document, {**fixed, "sampler.seed": seed}, label=f"seed {seed}")
        for seed in (1, 2, 3, 4)
    ]
    try:
        qtbot.waitUntil(
            lambda: all(i in state.runs and state.runs[i].status is RunPhase.DONE for i in ids),
            timeout=240_000,
        )
        panel.refresh()
        items = [panel.queue.topLevelItem(i) for i in range(panel.queue.topLevelItemCount())]
        rows = {item.text(1): item.text(2) for item in items if item is not None}
        assert rows == {f"seed {s}": "Done" for s in (1, 2, 3, 4)}
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            f"txt2img_{i:05d}.png" for i in (1, 2, 3, 4)
        ]
        assert sorted(Path(f).name for f in files) == sorted(p.name for p in tmp_path.iterdir())
        actors = list(bridge.runner.actors)
    finally:
        bridge.shutdown()
    names = ray.util.list_named_actors(all_namespaces=True)
    assert not [n for n in names if "daguerre" in str(n)]
    assert len(actors) == 2
