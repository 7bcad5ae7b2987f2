"""Saved PNGs also carry ComfyUI's ``prompt`` (the API JSON of ``export_api``) when the graph
exports, so an image dropped into ComfyUI opens there: through the environment's
``extra_png_texts``, which the CLI and the app set and the engine leaves empty."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nodes import cli
from nodes.comfy import export_api, open_file
from nodes.comfy.png_texts import comfy_png_texts
from nodes.context import Environment
from nodes.executor import Executor, RunOutcome
from nodes.graph import Graph
from nodes.workflow import save_file
from nodes.workflow.png import COMFY_PROMPT_KEY, RECORD_KEY, WORKFLOW_KEY, read_png_texts


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "in.png"
    Image.new("RGB", (16, 8), "teal").save(path)
    return path


def _load_and_save(registry, picture: Path) -> Graph:
    graph = Graph(registry)
    graph.add_node("image.load", id="load", params={"path": str(picture)})
    graph.add_node("image.save", id="save", params={"prefix": "copy"})
    graph.connect("load", "image", "save", "image")
    return graph


def _saved(outcome: RunOutcome) -> Path:
    assert outcome.status == "done", outcome.problems
    assert len(outcome.outputs) == 1, outcome
    return Path(outcome.outputs[0])


def test_a_saved_png_carries_comfyuis_prompt_when_the_graph_exports(
    registry, picture: Path, tmp_path: Path
) -> None:
    graph = _load_and_save(registry, picture)
    env = Environment(output_dir=tmp_path / "out", extra_png_texts=comfy_png_texts)
    outcome = Executor(env=env).run(graph)
    assert outcome.status == "done", outcome.problems
    texts = read_png_texts(_saved(outcome))
    assert set(texts) == {WORKFLOW_KEY, RECORD_KEY, COMFY_PROMPT_KEY}
    prompt = json.loads(texts[COMFY_PROMPT_KEY])
    assert prompt == export_api(graph)
    assert sorted(node["class_type"] for node in prompt.values()) == ["LoadImage", "SaveImage"]
    # Daguerre still opens its own workflow from it; the prompt alone opens too (as ComfyUI)
    opened = open_file(_saved(outcome), registry)
    assert opened.kind == "daguerre-png" and set(opened.graph.nodes) == {"load", "save"}
    only_prompt = tmp_path / "prompt_only.png"
    from nodes.workflow.png import encode_png

    only_prompt.write_bytes(encode_png(_pixels(), {COMFY_PROMPT_KEY: texts[COMFY_PROMPT_KEY]}))
    again = open_file(only_prompt, registry)
    assert again.kind.startswith("comfyui")
    assert {d.type for d in again.graph.nodes.values()} == {"image.load", "image.save"}


def _pixels():
    import numpy as np

    return np.zeros((4, 4, 3), np.uint8)


def test_a_graph_without_a_comfyui_equivalent_gets_no_prompt(
    registry, picture: Path, tmp_path: Path
) -> None:
    graph = _load_and_save(registry, picture)
    graph.add_node("primitive.int", id="n", params={"value": 3})
    graph.add_node("utility.display", id="show")  # no ComfyUI counterpart
    graph.connect("n", "value", "show", "value")
    assert comfy_png_texts(graph) == {}
    env = Environment(output_dir=tmp_path / "out", extra_png_texts=comfy_png_texts)
    outcome = Executor(env=env).run(graph)
    assert outcome.status == "done", outcome.problems
    assert set(read_png_texts(_saved(outcome))) == {WORKFLOW_KEY, RECORD_KEY}


def test_the_engine_alone_writes_only_daguerres_chunks(
    registry, picture: Path, tmp_path: Path
) -> None:
    assert Environment().extra_png_texts is None
    outcome = Executor(env=Environment(output_dir=tmp_path / "out")).run(
        _load_and_save(registry, picture)
    )
    assert set(read_png_texts(_saved(outcome))) == {WORKFLOW_KEY, RECORD_KEY}


def test_extra_texts_never_replace_daguerres_own(registry, picture: Path, tmp_path: Path) -> None:
    def hostile(graph: Graph) -> dict[str, str]:
        return {WORKFLOW_KEY: "not the workflow", "note": "kept"}

    env = Environment(output_dir=tmp_path / "out", extra_png_texts=hostile)
    outcome = Executor(env=env).run(_load_and_save(registry, picture))
    texts = read_png_texts(_saved(outcome))
    assert texts["note"] == "kept"
    assert json.loads(texts[WORKFLOW_KEY])["format"] == "daguerre.workflow"


def test_daguerre_run_writes_the_prompt_chunk(
    registry, picture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGUERRE_HOME", str(tmp_path / "home"))
    workflow = save_file(_load_and_save(registry, picture), tmp_path / "copy.json")
    out = tmp_path / "cli-out"
    assert cli.main(["run", "--quiet", "--out", str(out), str(workflow)]) == 0
    (saved,) = out.glob("copy_*.png")
    assert COMFY_PROMPT_KEY in read_png_texts(saved)
