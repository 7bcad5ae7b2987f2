"""The resize nodes (``nodes/library/latent_resize.py``, ``image_resize.py``) through the
real executor, each mode against its reference: ``torch.nn.functional.interpolate`` for
latents and the torch image modes, Pillow for Lanczos, slicing for crops; ComfyUI's size
rules computed here; and the errors for sizes that are 0 or too large, on node and field."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from nodes.api import Node, Output, Param
from nodes.context import NodeContext
from nodes.diffusion.values import Latent
from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.graph import Graph, GraphError
from nodes.library import load_builtin_nodes
from nodes.ports import PortType
from nodes.registry import Registry
from nodes.validation import validate
from tests.diffusion.mask_helpers import failure, rng_array, run_node

LATENT_MODES = ("nearest-exact", "bilinear", "area", "bicubic")


def make_latent(
    seed: int, height: int, width: int, *, batch: int = 1, extras: bool = False
) -> Latent:
    """A random 4-channel latent of height×width cells; ``extras`` adds a VAE posterior and
    a soft noise mask at image resolution (8 pixels a cell)."""
    g = torch.Generator().manual_seed(seed)
    samples = torch.randn((batch, 4, height, width), generator=g)
    if not extras:
        return Latent(samples)
    mean = torch.randn((batch, 4, height, width), generator=g)
    std = torch.rand((batch, 4, height, width), generator=g)
    mask = torch.rand((batch, height * 8, width * 8), generator=g)
    return Latent(samples, mean=mean, std=std, scaling=0.18215, noise_mask=mask)


class LatentValue(Node):
    """A seeded random LATENT (test input; see make_latent)."""

    type_id = "resizetest.latent"
    title = "Test Latent"
    category = "test"
    params = (
        Param("seed", PortType.INT, default=0),
        Param("height", PortType.INT, default=8),
        Param("width", PortType.INT, default=8),
        Param("extras", PortType.BOOL, default=False),
        Param("empty", PortType.BOOL, default=False),
    )
    outputs = (Output("latent", PortType.LATENT),)

    def run(
        self, ctx: NodeContext, *, seed: int, height: int, width: int, extras: bool, empty: bool
    ) -> tuple[Latent]:
        if empty:
            return (Latent(torch.zeros((1, 4, height, width)), empty=True),)
        return (make_latent(seed, height, width, extras=extras),)


@pytest.fixture(scope="module")
def registry() -> Registry:
    from tests.diffusion import mask_helpers

    return load_builtin_nodes(
        Registry().register_declared(__name__).register_declared(mask_helpers.__name__)
    )


@pytest.fixture
def graph(registry: Registry) -> Graph:
    return Graph(registry)


def upscale(graph: Graph, node_type: str, source: dict[str, Any], **params: Any) -> Latent:
    """Run ``node_type`` on a test latent made with ``source``'s params."""
    graph.add_node("resizetest.latent", id="source", params=source)
    graph.add_node(node_type, id="node", params=params)
    graph.connect("source", "latent", "node", "latent")
    outcome = Executor().run(graph, targets=("node",), capture=("node",))
    assert outcome.status is RunStatus.DONE, (outcome.problems, outcome.error)
    (latent,) = outcome.values["node"]
    return latent


def latent_failure(graph: Graph, node_type: str, source: dict[str, Any], **params: Any) -> Any:
    graph.add_node("resizetest.latent", id="source", params=source)
    graph.add_node(node_type, id="node", params=params)
    graph.connect("source", "latent", "node", "latent")
    outcome = Executor().run(graph, targets=("node",))
    assert outcome.status is RunStatus.FAILED
    (problem,) = outcome.problems
    assert problem.node_id == "node"
    return problem


# --------------------------------------------------------------------------- latents


@pytest.mark.parametrize("mode", LATENT_MODES)
def test_upscale_latent_by_equals_interpolate(graph: Graph, mode: str) -> None:
    out = upscale(
        graph, "latent.upscale_by", {"seed": 3, "height": 8, "width": 12}, method=mode, factor=1.5
    )
    source = make_latent(3, 8, 12).samples
    assert torch.equal(out.samples, F.interpolate(source, size=(12, 18), mode=mode))
    assert not out.empty and out.noise_mask is None and out.mean is None


@pytest.mark.parametrize("mode", LATENT_MODES)
def test_upscale_latent_to_a_size_equals_interpolate(graph: Graph, mode: str) -> None:
    out = upscale(
        graph,
        "latent.upscale",
        {"seed": 4, "height": 8, "width": 8},
        method=mode,
        width=96,
        height=128,
        crop="disabled",
    )
    source = make_latent(4, 8, 8).samples
    assert torch.equal(out.samples, F.interpolate(source, size=(16, 12), mode=mode))


def test_center_crop_cuts_the_middle_to_the_new_aspect(graph: Graph) -> None:
    # 16×8 cells (128×64 px) to 96×96 px: ComfyUI cuts x = round((16 − 16·½)/2) = 4 a side
    out = upscale(
        graph,
        "latent.upscale",
        {"seed": 5, "height": 8, "width": 16, "extras": True},
        method="bilinear",
        width=96,
        height=96,
        crop="center",
    )
    source = make_latent(5, 8, 16, extras=True)
    middle = source.samples[..., :, 4:12]
    assert torch.equal(out.samples, F.interpolate(middle, size=(12, 12), mode="bilinear"))
    assert source.noise_mask is not None and out.noise_mask is not None
    mask = source.noise_mask[:, None, :, 32:96]  # the same cut at image resolution
    expected = F.interpolate(mask, size=(96, 96), mode="bilinear")[:, 0].clamp(0, 1)
    assert torch.equal(out.noise_mask, expected)
    # a tall picture loses rows instead: 8×16 cells to 96×96 px cut y = 4 a side
    graph = Graph(graph.registry)
    out = upscale(
        graph,
        "latent.upscale",
        {"seed": 5, "height": 16, "width": 8},
        method="nearest-exact",
        width=96,
        height=96,
        crop="center",
    )
    middle = make_latent(5, 16, 8).samples[..., 4:12, :]
    assert torch.equal(out.samples, F.interpolate(middle, size=(12, 12), mode="nearest-exact"))


def test_everything_the_latent_carries_is_resized(graph: Graph) -> None:
    out = upscale(
        graph,
        "latent.upscale_by",
        {"seed": 6, "height": 8, "width": 8, "extras": True},
        method="bicubic",
        factor=1.5,
    )
    source = make_latent(6, 8, 8, extras=True)
    assert source.mean is not None and source.std is not None and source.noise_mask is not None
    assert out.mean is not None and out.std is not None and out.noise_mask is not None

    def bicubic(x: torch.Tensor, size: int) -> torch.Tensor:
        return F.interpolate(x, size=(size, size), mode="bicubic")

    assert torch.equal(out.mean, bicubic(source.mean, 12))
    assert torch.equal(out.std, bicubic(source.std, 12).clamp(min=0))
    mask = bicubic(source.noise_mask[:, None], 96)[:, 0]
    assert float(mask.min()) < 0 or float(mask.max()) > 1  # bicubic overshoots: clamped
    assert torch.equal(out.noise_mask, mask.clamp(0, 1))
    assert out.noise_mask.shape == (1, 96, 96)  # the image of a 12×12-cell latent
    assert (out.scaling, out.downscale) == (source.scaling, source.downscale)


def test_an_empty_latent_stays_empty_at_the_new_size(graph: Graph) -> None:
    out = upscale(graph, "latent.upscale_by", {"empty": True}, method="bilinear", factor=2.0)
    assert out.empty and out.samples.shape == (1, 4, 16, 16) and not out.samples.any()


def test_a_zero_side_keeps_the_aspect_and_sizes_below_64_count_as_64(graph: Graph) -> None:
    def size(source: dict[str, Any], width: int, height: int) -> tuple[int, int]:
        out = upscale(
            Graph(graph.registry),
            "latent.upscale",
            source,
            method="nearest-exact",
            width=width,
            height=height,
            crop="disabled",
        )
        return out.samples.shape[-1] * 8, out.samples.shape[-2] * 8

    wide = {"height": 8, "width": 12}  # 96×64 px
    assert size(wide, 0, 128) == (192, 128)
    assert size(wide, 144, 0) == (144, 96)
    assert size(wide, 0, 80) == (120, 80)
    # ComfyUI's floor: width round(12·72/8) = 108 px, floored to whole cells: 104
    assert size(wide, 0, 72) == (104, 72)
    assert size(wide, 32, 16) == (64, 64)
    assert size({"height": 8, "width": 64}, 0, 64) == (512, 64)  # 512×64 stays 512×64
    assert size({"height": 64, "width": 8}, 256, 0) == (256, 2048)


# --------------------------------------------------------------------------- images


@pytest.mark.parametrize("mode", LATENT_MODES)
def test_scale_image_by_torch_modes_equal_interpolate(graph: Graph, mode: str) -> None:
    image = rng_array(2, 10, 14, 3, seed=7)
    (out,) = run_node(graph, "image.scale_by", {"image": image}, method=mode, factor=1.5)
    planes = torch.from_numpy(image).movedim(-1, 1)
    expected = F.interpolate(planes, size=(15, 21), mode=mode).movedim(1, -1).clamp(0, 1)
    assert out.shape == (2, 15, 21, 3)
    assert torch.equal(out, expected)


def test_lanczos_equals_pillow(graph: Graph) -> None:
    image = rng_array(2, 12, 20, 3, seed=8)
    (out,) = run_node(graph, "image.scale", {"image": image}, method="lanczos", width=33, height=7)
    assert out.shape == (2, 7, 33, 3)
    for b in range(2):
        for c in range(3):
            channel = Image.fromarray(np.ascontiguousarray(image[b, :, :, c]))  # mode F
            expected = np.asarray(channel.resize((33, 7), Image.Resampling.LANCZOS))
            assert np.array_equal(out[b, :, :, c].numpy(), np.clip(expected, 0, 1))


def test_lanczos_of_an_8_bit_picture_is_within_one_step_of_pillows_8_bit_resize(
    graph: Graph,
) -> None:
    """An independent path: Pillow's own 8-bit RGB Lanczos (fixed-point arithmetic, each
    pass rounded to 8 bits). A smooth picture, so that neither pass clips."""
    y, x = np.mgrid[0:24, 0:40]
    waves = [np.sin(x / (3 + c)) * np.cos(y / (4 + c)) for c in range(3)]
    pixels = np.round(128 + 90 * np.stack(waves, axis=-1)).astype(np.uint8)
    image = pixels[None].astype(np.float32) / 255.0
    for width, height in ((60, 36), (17, 11)):  # up and down
        (out,) = run_node(
            graph, "image.scale", {"image": image}, method="lanczos", width=width, height=height
        )
        ours = np.round(out[0].numpy() * 255).astype(int)
        theirs = np.asarray(
            Image.fromarray(pixels).resize((width, height), Image.Resampling.LANCZOS)
        )
        assert np.abs(ours - theirs.astype(int)).max() <= 1


def test_scale_image_to_a_size_with_crop_and_aspect(graph: Graph) -> None:
    image = rng_array(1, 20, 40, 3, seed=10)
    (out,) = run_node(
        graph,
        "image.scale",
        {"image": image},
        method="nearest-exact",
        width=16,
        height=16,
        crop="center",
    )
    middle = torch.from_numpy(image)[:, :, 10:30].movedim(-1, 1)  # x = round((40 − 20)/2)
    expected = F.interpolate(middle, size=(16, 16), mode="nearest-exact").movedim(1, -1)
    assert torch.equal(out, expected)
    (out,) = run_node(graph, "image.scale", {"image": image}, method="area", width=0, height=30)
    assert out.shape == (1, 30, 60, 3)
    (out,) = run_node(graph, "image.scale", {"image": image}, method="area", width=7, height=0)
    assert out.shape == (1, 4, 7, 3)  # round(20 · 7 / 40) = round(3.5) = 4


def test_scale_image_to_megapixels_follows_comfyuis_rounding(graph: Graph) -> None:
    image = rng_array(1, 32, 48, 3, seed=11)
    for megapixels, multiple in ((0.01, 1), (0.01, 16), (0.25, 8)):
        (out,) = run_node(
            graph,
            "image.scale_to_megapixels",
            {"image": image},
            method="bilinear",
            megapixels=megapixels,
            multiple_of=multiple,
        )
        factor = math.sqrt(megapixels * 1024 * 1024 / (48 * 32))
        width = round(48 * factor / multiple) * multiple
        height = round(32 * factor / multiple) * multiple
        planes = torch.from_numpy(image).movedim(-1, 1)
        expected = F.interpolate(planes, size=(height, width), mode="bilinear").movedim(1, -1)
        assert torch.equal(out, expected.clamp(0, 1))
    assert (width, height) == (624, 416)


def test_crop_image_is_a_slice_cut_at_the_edges(graph: Graph) -> None:
    image = rng_array(2, 10, 12, 3, seed=12)
    whole = torch.from_numpy(image)
    (out,) = run_node(graph, "image.crop", {"image": image}, width=5, height=4, x=3, y=2)
    assert torch.equal(out, whole[:, 2:6, 3:8])
    (out,) = run_node(graph, "image.crop", {"image": image}, width=8, height=8, x=9, y=5)
    assert torch.equal(out, whole[:, 5:10, 9:12])  # cut at the right and bottom edges
    (out,) = run_node(graph, "image.crop", {"image": image}, width=4, height=4, x=50, y=50)
    assert torch.equal(out, whole[:, 9:10, 11:12])  # ComfyUI: the corner moves to the last pixel


# --------------------------------------------------------------------------- bad sizes


@pytest.mark.parametrize(
    ("node_type", "params"),
    [
        ("latent.upscale", {"width": 100_000}),
        ("latent.upscale", {"height": -8}),
        ("latent.upscale_by", {"factor": 0.0}),
        ("latent.upscale_by", {"factor": 1000.0}),
        ("latent.upscale", {"method": "bislerp"}),
        ("image.scale", {"width": 100_000}),
        ("image.scale", {"crop": "centre"}),
        ("image.scale_by", {"factor": 0.0}),
        ("image.scale_to_megapixels", {"megapixels": 0.0}),
        ("image.scale_to_megapixels", {"multiple_of": 0}),
        ("image.crop", {"width": 0}),
        ("image.crop", {"x": 100_000}),
    ],
)
def test_out_of_range_params_are_refused_on_their_field(
    graph: Graph, node_type: str, params: dict[str, Any]
) -> None:
    with pytest.raises(GraphError) as refused:
        graph.add_node(node_type, params=params)
    assert refused.value.field == next(iter(params))


def test_validation_names_node_and_field(graph: Graph) -> None:
    graph.add_node("latent.upscale", id="up", params={"width": 0, "height": 0})
    graph.add_node("image.scale", id="scale", params={"width": 0, "height": 0})
    graph.add_node("latent.upscale", id="odd", params={"width": 100})
    problems = {(p.node_id, p.field): p.message for p in validate(graph)}
    assert "both 0" in problems[("up", "width")]
    assert "both 0" in problems[("scale", "width")]
    assert problems[("odd", "width")] == "100 is not a multiple of 8"


def test_a_factor_that_leaves_nothing_or_too_much_fails_on_its_field(graph: Graph) -> None:
    problem = latent_failure(
        graph, "latent.upscale_by", {"height": 8, "width": 8}, method="bilinear", factor=0.05
    )
    assert problem.field == "factor"
    assert "factor 0.05" in problem.message and "64×64" in problem.message
    assert "at least 8 pixels" in problem.message
    strip = np.zeros((1, 2100, 1, 3), np.float32)
    problem = failure(graph, "image.scale_by", {"image": strip}, factor=8.0)
    assert problem.field == "factor" and "at most 16384" in problem.message
    problem = failure(graph, "image.scale_by", {"image": strip}, factor=0.1)
    assert problem.field == "factor" and "0×210" in problem.message
    problem = failure(graph, "image.scale", {"image": strip}, width=16, height=0)
    assert problem.field == "width" and "16×33600" in problem.message


def test_a_linked_size_out_of_range_fails_on_its_field(graph: Graph) -> None:
    image = np.zeros((1, 4, 4, 3), np.float32)
    problem = failure(graph, "image.scale", {"image": image, "width": 100_000})
    assert problem.field == "width"
    problem = failure(graph, "image.crop", {"image": image, "height": 0})
    assert problem.field == "height"
