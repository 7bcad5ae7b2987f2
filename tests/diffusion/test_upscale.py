"""Upscaling with a model: tiles blended into what the untiled model gives, the nodes
through the executor (progress per tile, cancel between tiles, errors on node and field,
the models folders), and the upscale template headless on the demo models."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nodes import cli
from nodes.api import NodeError
from nodes.context import CancelToken, Environment, NodeContext
from nodes.events import NodeProgress, RunStatus
from nodes.executor import Executor
from nodes.graph import Graph
from nodes.library.errors import OOM_ADVICE
from nodes.models.upscale import UpscaleModel, load_upscale_model
from nodes.models.upscale_tiles import side_weights, tile_starts, upscale_image
from nodes.paths import FileFinder, resources_dir
from nodes.registry import Registry
from nodes.validation import validate
from tests.upscale_fixtures import compact, esrgan, save_pth, write_user_file

CPU = torch.device("cpu")
TOLERANCE = 1e-5
"""Tiled vs untiled, max abs difference, when a quarter of the overlap covers the model's
receptive radius: only float rounding differs."""


def _model(path: Path) -> UpscaleModel:
    return load_upscale_model(path, device=CPU, dtype=torch.float32)


def _image(height: int, width: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, height, width, 3, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------- the tiles
def test_tile_starts_cover_the_side_with_at_least_the_overlap() -> None:
    for length in (1, 63, 64, 65, 200, 513, 1000):
        starts = tile_starts(length, 64, 16)
        assert starts[0] == 0 and starts[-1] + min(64, length) == length
        assert all(b - a <= 64 - 16 for a, b in itertools.pairwise(starts))


def test_side_weights_sum_to_one_in_two_tile_overlaps_and_cover_every_pixel() -> None:
    starts = tile_starts(300, 128, 40)
    weights = side_weights(starts, 128, 4)
    total = torch.zeros(300 * 4)
    for start, weight in zip(starts, weights, strict=True):
        total[start * 4 : start * 4 + weight.numel()] += weight
    assert torch.allclose(total, torch.ones_like(total))
    assert all(w[0] == 0 for w in weights[1:])  # a tile's inner edge never counts
    assert all(w[-1] == 0 for w in weights[:-1])


@pytest.mark.parametrize(
    ("build", "radius"),
    [
        (lambda: compact(convs=4), 6),  # 6 stacked 3×3 convolutions
        # 1 + 15 (one RRDB block) + 1 convolutions in input pixels, + ~1.25 after upsampling
        (lambda: esrgan(blocks=1), 19),
    ],
    ids=["compact", "esrgan"],
)
def test_tiled_equals_untiled_when_the_overlap_covers_the_receptive_field(
    tmp_path: Path, build, radius: int
) -> None:
    path = save_pth(tmp_path / "model.pth", build().state_dict())
    model = _model(path)
    overlap = 4 * radius
    tile = 2 * overlap

    def error(height: int, width: int, overlap: int) -> float:
        image = _image(height, width)
        untiled = upscale_image(model, image, tile=4096, overlap=0)
        tiled = upscale_image(model, image, tile=tile, overlap=overlap)
        assert tiled.shape == untiled.shape == (1, height * 4, width * 4, 3)
        return (tiled - untiled).abs().max().item()

    # 2 rows × 2 columns of tiles, each pair overlapping by exactly `overlap`
    assert len(tile_starts(2 * tile - overlap, tile, overlap)) == 2
    assert error(2 * tile - overlap, 2 * tile - overlap, overlap) <= TOLERANCE
    # what makes the test able to fail: tiles that abut (no overlap) or overlap by less
    # than the receptive field show their seams
    assert error(tile, 2 * tile, 0) > 1e-2
    assert error(tile, 2 * tile - 8, 8) > TOLERANCE


def test_one_tile_is_the_models_own_call(tmp_path: Path) -> None:
    model = _model(save_pth(tmp_path / "model.pth", esrgan().state_dict()))
    image = _image(30, 40)
    with torch.inference_mode():
        direct = model.descriptor(image.permute(0, 3, 1, 2).contiguous()).permute(0, 2, 3, 1)
    assert torch.equal(upscale_image(model, image, tile=64, overlap=16), direct)


def test_models_with_size_multiples_are_tiled_in_whole_multiples(tmp_path: Path) -> None:
    path, _ = write_user_file(tmp_path, "2x_SwinIR.safetensors")
    model = _model(path)
    image = _image(40, 52)
    out = upscale_image(model, image, tile=32, overlap=8)
    assert out.shape == (1, 80, 104, 3)
    assert out.min().item() >= 0.0 and out.max().item() <= 1.0


# ----------------------------------------------------------------- the nodes
@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "picture.png"
    array = (np.random.default_rng(0).random((40, 56, 3)) * 255).astype(np.uint8)
    Image.fromarray(array).save(path)
    return path


def _graph(registry: Registry, model: Path, picture: Path, **params: int) -> Graph:
    graph = Graph(registry)
    graph.add_node("loaders.upscale_model", id="upscale_model", params={"path": str(model)})
    graph.add_node("image.load", id="image", params={"path": str(picture)})
    graph.add_node("image.upscale_with_model", id="upscale", params=params)
    graph.connect("upscale_model", "upscale_model", "upscale", "upscale_model")
    graph.connect("image", "image", "upscale", "image")
    return graph


def test_the_node_reports_each_tile_and_equals_the_function(
    registry: Registry, picture: Path, tmp_path: Path
) -> None:
    model_file = save_pth(tmp_path / "c.pth", compact().state_dict())
    graph = _graph(registry, model_file, picture, tile=64, overlap=16)
    events: list[object] = []
    executor = Executor(env=Environment(output_dir=tmp_path / "out"))
    outcome = executor.run(
        graph, targets=["upscale"], emit=events.append, capture=("upscale", "image")
    )
    assert outcome.status is RunStatus.DONE, outcome.problems
    (out,) = outcome.values["upscale"]
    (image, _) = outcome.values["image"]
    assert out.shape == (1, 160, 224, 3) and out.dtype == torch.float32
    expected = upscale_image(_model(model_file), image, tile=64, overlap=16)
    assert torch.equal(out, expected)
    progress = [e for e in events if isinstance(e, NodeProgress) and e.node_id == "upscale"]
    assert [(e.step, e.total) for e in progress] == [(1, 1)]  # 40×56 fits one 64 px tile

    events.clear()
    big = _graph(registry, model_file, _big_picture(tmp_path), tile=64, overlap=8)
    executor.run(big, targets=["upscale"], emit=events.append)
    progress = [e for e in events if isinstance(e, NodeProgress) and e.node_id == "upscale"]
    # 100×150: 2 rows × 3 columns of 64 px tiles
    assert [(e.step, e.total) for e in progress] == [(i, 6) for i in range(1, 7)]
    last = progress[-1].preview
    assert (
        last is not None and last.dtype == np.uint8 and last.shape == (200, 300, 3)
    )  # at most 512 px


def _big_picture(folder: Path) -> Path:
    path = folder / "big.png"
    array = (np.random.default_rng(1).random((100, 150, 3)) * 255).astype(np.uint8)
    Image.fromarray(array).save(path)
    return path


def test_cancel_stops_between_tiles(registry: Registry, tmp_path: Path) -> None:
    model_file = save_pth(tmp_path / "c.pth", compact().state_dict())
    graph = _graph(registry, model_file, _big_picture(tmp_path), tile=64, overlap=8)
    token = CancelToken()
    steps: list[int] = []

    def emit(event: object) -> None:
        if isinstance(event, NodeProgress) and event.node_id == "upscale":
            steps.append(event.step)
            if event.step == 2:
                token.cancel()

    executor = Executor(env=Environment(output_dir=tmp_path / "out"))
    outcome = executor.run(graph, targets=["upscale"], emit=emit, cancel=token)
    assert outcome.status is RunStatus.CANCELLED
    assert steps == [1, 2]
    assert executor.run(graph, targets=["upscale"]).status is RunStatus.DONE


def test_a_file_that_is_not_an_upscale_model_fails_the_loader_on_its_path(
    registry: Registry, picture: Path, demo_sd15, tmp_path: Path
) -> None:
    graph = _graph(registry, demo_sd15.lora, picture)
    outcome = Executor(env=Environment(output_dir=tmp_path)).run(graph, targets=["upscale"])
    assert outcome.status is RunStatus.FAILED
    (problem,) = outcome.problems
    assert (problem.node_id, problem.field) == ("upscale_model", "path")
    assert "is not an upscale model spandrel knows" in problem.message


def test_an_overlap_over_half_the_tile_is_a_problem_on_the_overlap(
    registry: Registry, picture: Path, tmp_path: Path
) -> None:
    model_file = save_pth(tmp_path / "c.pth", compact().state_dict())
    problems = validate(_graph(registry, model_file, picture, tile=64, overlap=40))
    assert [(p.node_id, p.field) for p in problems] == [("upscale", "overlap")]
    assert "more than half the tile" in problems[0].message


@pytest.mark.parametrize("folder", ["upscale_models", "ESRGAN", "RealESRGAN", "SwinIR"])
def test_models_folders_of_comfyui_and_a1111(tmp_path: Path, folder: str) -> None:
    (tmp_path / folder).mkdir()
    path = save_pth(tmp_path / folder / "4x.pth", compact().state_dict())
    assert FileFinder([tmp_path])("upscale_models", "4x.pth") == path


# ----------------------------------------------------------------- the template
def test_the_upscale_template_runs_headless_on_the_demo_models(
    capsys: pytest.CaptureFixture[str], picture: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    assert cli.main(["make-demo-model", str(models)]) == 0
    capsys.readouterr()
    assert (models / "upscale_models" / "demo-compact-4x.safetensors").is_file()
    code = cli.main(
        [
            "run",
            str(resources_dir() / "workflows" / "upscale.json"),
            "--json",
            "--quiet",
            "--out",
            str(tmp_path / "out"),
            "--models",
            str(models),
            "--set",
            "upscale_model.path=demo-compact-4x.safetensors",
            "--set",
            f"image.path={picture}",
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary["errors"]
    (saved,) = summary["outputs"]
    with Image.open(saved) as image:
        assert image.size == (224, 160)
        enlarged = np.asarray(image.convert("RGB"), dtype=np.float32)
    with Image.open(picture) as source:
        nearest = np.asarray(source.resize((224, 160), Image.Resampling.NEAREST), np.float32)
    assert np.abs(enlarged - nearest).mean() < 8  # the demo model is nearest + faint texture


# ----------------------------------------------------------------- out of memory
class _SmallTilesOnly:
    """A model's call that runs out of memory above ``side`` pixels, as a GPU would."""

    def __init__(self, call, side: int) -> None:
        self.call, self.side, self.sides = call, side, []

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.sides.append(max(x.shape[-2:]))
        if max(x.shape[-2:]) > self.side:
            raise torch.OutOfMemoryError("CUDA out of memory (test)")
        return self.call(x)


def _apply(model: UpscaleModel, image: torch.Tensor, tile: int, overlap: int):
    from nodes.library.upscale import UpscaleWithModel

    ctx = NodeContext(Environment(), 0, "upscale", lambda event: None, CancelToken())
    return UpscaleWithModel().run(ctx, upscale_model=model, image=image, tile=tile, overlap=overlap)


def test_out_of_memory_retries_with_smaller_tiles(tmp_path: Path) -> None:
    model = _model(save_pth(tmp_path / "c.pth", compact().state_dict()))
    limited = _SmallTilesOnly(model.descriptor, 64)
    image = _image(100, 150)
    (out,) = _apply(dataclasses.replace(model, descriptor=limited), image, 256, 48)
    assert limited.sides[:2] == [150, 128]  # 256 px tiles (the whole image), then 128
    assert torch.equal(out, upscale_image(model, image, tile=64, overlap=32))


def test_out_of_memory_at_the_smallest_tile_is_the_node_error_with_advice(tmp_path: Path) -> None:
    model = _model(save_pth(tmp_path / "c.pth", compact().state_dict()))
    limited = _SmallTilesOnly(model.descriptor, 16)
    with pytest.raises(NodeError) as caught:
        _apply(dataclasses.replace(model, descriptor=limited), _image(100, 150), 128, 16)
    assert caught.value.message == OOM_ADVICE
    assert limited.sides == [128, 64]
