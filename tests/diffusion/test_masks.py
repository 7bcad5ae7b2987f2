"""Mask and compositing nodes (``nodes/library/masks.py``, ``compositing.py``) through the
real executor, each checked against its ComfyUI definition computed here independently on
small hand-made tensors.

Tensors enter a graph through this module's own ``masktest.*`` nodes, which decode a JSON
param: exact for float32 values, and part of the cache key like any param.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from nodes.api import Node, Output, Param
from nodes.context import NodeContext
from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.graph import Graph, GraphError
from nodes.library import load_builtin_nodes
from nodes.library.masks import mask_to_latent
from nodes.ports import PortType
from nodes.registry import Registry
from nodes.validation import validate


class MaskValue(Node):
    """A MASK decoded from a JSON array (test input)."""

    type_id = "masktest.mask"
    title = "Test Mask"
    category = "test"
    params = (Param("values", PortType.STRING, default="[[[0.0]]]"),)
    outputs = (Output("mask", PortType.MASK),)

    def run(self, ctx: NodeContext, *, values: str) -> tuple[torch.Tensor]:
        return (torch.tensor(json.loads(values), dtype=torch.float32),)


class ImageValue(Node):
    """An IMAGE decoded from a JSON array (test input)."""

    type_id = "masktest.image"
    title = "Test Image"
    category = "test"
    params = (Param("values", PortType.STRING, default="[[[[0.0, 0.0, 0.0]]]]"),)
    outputs = (Output("image", PortType.IMAGE),)

    def run(self, ctx: NodeContext, *, values: str) -> tuple[torch.Tensor]:
        return (torch.tensor(json.loads(values), dtype=torch.float32),)


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def graph() -> Graph:
    return Graph(load_builtin_nodes(Registry().register_declared(__name__)))


def feed(graph: Graph, node_id: str, array: np.ndarray | torch.Tensor) -> str:
    """Add a test node holding ``array`` (B×H×W is a mask, B×H×W×3 an image)."""
    values = np.asarray(array, dtype=np.float32)
    kind = "masktest.image" if values.ndim == 4 else "masktest.mask"
    graph.add_node(kind, id=node_id, params={"values": json.dumps(values.tolist())})
    return node_id


def run_node(
    graph: Graph, node_type: str, inputs: dict[str, np.ndarray | torch.Tensor], **params: Any
) -> tuple[torch.Tensor, ...]:
    """Run one node of ``node_type`` fed by ``inputs``, in a fresh graph over ``graph``'s
    registry, and return its outputs."""
    graph = Graph(graph.registry)
    graph.add_node(node_type, id="node", params=params)
    for name, array in inputs.items():
        source = feed(graph, f"in_{name}", array)
        graph.connect(source, graph.nodes[source].type.removeprefix("masktest."), "node", name)
    outcome = Executor().run(graph, targets=("node",), capture=("node",))
    assert outcome.status is RunStatus.DONE, outcome.error
    return outcome.values["node"]


def failure(graph: Graph, node_type: str, inputs: dict[str, Any], **params: Any) -> Any:
    """Run a node expected to fail on the node (in a fresh graph, as :func:`run_node`);
    returns the one problem. An int in ``inputs`` is linked into the param of its name."""
    graph = Graph(graph.registry)
    graph.add_node(node_type, id="node", params=params)
    for name, value in inputs.items():
        if isinstance(value, int):  # a linked param, out of range
            graph.add_node("primitive.int", id=f"in_{name}", params={"value": value})
            graph.connect(f"in_{name}", "value", "node", name)
        else:
            source = feed(graph, f"in_{name}", value)
            graph.connect(source, graph.nodes[source].type.removeprefix("masktest."), "node", name)
    outcome = Executor().run(graph, targets=("node",))
    assert outcome.status is RunStatus.FAILED
    (problem,) = outcome.problems
    assert problem.node_id == "node"
    return problem


def square(height: int, width: int, top: int, left: int, size: int, value: float = 1.0):
    mask = np.zeros((1, height, width), dtype=np.float32)
    mask[0, top : top + size, left : left + size] = value
    return mask


def rng_array(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


# --------------------------------------------------------------------------- the contract

CONTRACT = {
    "mask.load": ("Load Image Mask", "mask", [], ["path", "channel"], ["mask"]),
    "mask.from_image": ("Image to Mask", "mask", ["image"], ["channel"], ["mask"]),
    "mask.to_image": ("Mask to Image", "mask", ["mask"], [], ["image"]),
    "mask.invert": ("Invert Mask", "mask", ["mask"], [], ["mask"]),
    "mask.threshold": ("Threshold Mask", "mask", ["mask"], ["value"], ["mask"]),
    "mask.grow": ("Grow Mask", "mask", ["mask"], ["expand", "tapered_corners"], ["mask"]),
    "mask.feather": (
        "Feather Mask",
        "mask",
        ["mask"],
        ["left", "top", "right", "bottom"],
        ["mask"],
    ),
    "mask.blur": ("Blur Mask", "mask", ["mask"], ["radius"], ["mask"]),
    "mask.combine": (
        "Combine Masks",
        "mask",
        ["destination", "source"],
        ["x", "y", "operation"],
        ["mask"],
    ),
    "mask.solid": ("Solid Mask", "mask", [], ["value", "width", "height"], ["mask"]),
    "image.pad_for_outpaint": (
        "Pad Image for Outpainting",
        "image",
        ["image"],
        ["left", "top", "right", "bottom", "feathering"],
        ["image", "mask"],
    ),
    "image.composite_masked": (
        "Composite Masked",
        "image",
        ["destination", "source", "mask"],
        ["x", "y", "resize_source"],
        ["image"],
    ),
}


def test_the_node_types_keep_their_ids_titles_and_ports(graph: Graph) -> None:
    for type_id, (title, category, inputs, params, outputs) in CONTRACT.items():
        cls = graph.registry[type_id]
        assert (cls.title, cls.category) == (title, category)
        assert [i.name for i in cls.inputs] == inputs
        assert [p.name for p in cls.params] == params
        assert [o.name for o in cls.outputs] == outputs
        assert cls.description()  # the tooltip
    defaults = {
        "mask.load": {"path": "", "channel": "alpha"},
        "mask.from_image": {"channel": "red"},
        "mask.threshold": {"value": 0.5},
        "mask.grow": {"expand": 0, "tapered_corners": True},
        "mask.blur": {"radius": 4.0},
        "mask.combine": {"x": 0, "y": 0, "operation": "multiply"},
        "mask.solid": {"value": 1.0, "width": 512, "height": 512},
        "image.pad_for_outpaint": {"left": 0, "feathering": 40},
        "image.composite_masked": {"x": 0, "y": 0, "resize_source": False},
    }
    for type_id, expected in defaults.items():
        params = graph.registry[type_id].default_params()
        assert {k: params[k] for k in expected} == expected, type_id
    assert graph.registry["mask.combine"].param("operation").choices == (  # type: ignore[union-attr]
        "multiply",
        "add",
        "subtract",
        "and",
        "or",
        "xor",
    )
    assert graph.registry["image.composite_masked"].inputs[2].optional
    pad = graph.registry["image.pad_for_outpaint"].param("top")
    assert pad is not None and pad.step == 8


# --------------------------------------------------------------------------- loading


def test_load_image_mask_reads_each_channel(graph: Graph, tmp_path: Path) -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (3, 5, 4), dtype=np.uint8)
    Image.fromarray(pixels, "RGBA").save(tmp_path / "rgba.png")
    for channel, index in (("red", 0), ("green", 1), ("blue", 2)):
        (mask,) = run_node(graph, "mask.load", {}, path=str(tmp_path / "rgba.png"), channel=channel)
        assert mask.shape == (1, 3, 5) and mask.dtype == torch.float32
        assert torch.equal(mask[0], torch.from_numpy(pixels[..., index].astype(np.float32) / 255))
    (alpha,) = run_node(graph, "mask.load", {}, path=str(tmp_path / "rgba.png"))
    expected = 1.0 - pixels[..., 3].astype(np.float32) / 255
    assert torch.equal(alpha[0], torch.from_numpy(expected))


def test_load_image_mask_without_alpha_is_empty_at_the_image_size(
    graph: Graph, tmp_path: Path
) -> None:
    Image.new("RGB", (7, 3), (255, 255, 255)).save(tmp_path / "rgb.png")
    (mask,) = run_node(graph, "mask.load", {}, path=str(tmp_path / "rgb.png"), channel="alpha")
    assert torch.equal(mask, torch.zeros(1, 3, 7))


def test_load_image_mask_applies_the_exif_orientation(graph: Graph, tmp_path: Path) -> None:
    pixels = np.arange(6, dtype=np.uint8).reshape(2, 3) * 40
    picture = Image.fromarray(np.stack([pixels] * 3, axis=-1), "RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90° clockwise
    picture.save(tmp_path / "turned.png", exif=exif)
    (mask,) = run_node(graph, "mask.load", {}, path=str(tmp_path / "turned.png"), channel="red")
    expected = np.rot90(pixels, k=-1).astype(np.float32) / 255
    assert torch.equal(mask[0], torch.from_numpy(expected.copy()))


def test_a_missing_or_unreadable_file_names_the_path(graph: Graph, tmp_path: Path) -> None:
    (tmp_path / "noise.png").write_bytes(b"not a picture")
    problem = failure(graph, "mask.load", {}, path=str(tmp_path / "noise.png"))
    assert problem.field == "path"
    graph.add_node("mask.load", id="node", params={"path": str(tmp_path / "gone.png")})
    assert [p.field for p in validate(graph)] == ["path"]


# --------------------------------------------------------------------------- conversions


def test_image_to_mask_takes_the_chosen_channel_of_every_image(graph: Graph) -> None:
    image = rng_array(2, 3, 4, 3)
    for index, channel in enumerate(("red", "green", "blue")):
        (mask,) = run_node(graph, "mask.from_image", {"image": image}, channel=channel)
        assert torch.equal(mask, torch.from_numpy(image[..., index].copy()))


def test_mask_to_image_repeats_the_mask_in_three_channels(graph: Graph) -> None:
    mask = rng_array(2, 3, 4)
    (image,) = run_node(graph, "mask.to_image", {"mask": mask})
    assert image.shape == (2, 3, 4, 3)
    for index in range(3):
        assert torch.equal(image[..., index], torch.from_numpy(mask))


def test_invert_and_threshold(graph: Graph) -> None:
    mask = np.array([[[0.0, 0.25, 0.5, 0.75, 1.0]]], dtype=np.float32)
    (inverted,) = run_node(graph, "mask.invert", {"mask": mask})
    assert torch.equal(inverted, torch.from_numpy(1.0 - mask))
    (hard,) = run_node(graph, "mask.threshold", {"mask": mask}, value=0.5)
    assert hard.tolist() == [[[0.0, 0.0, 0.0, 1.0, 1.0]]]  # strictly above
    (hard,) = run_node(graph, "mask.threshold", {"mask": mask}, value=0.2)
    assert hard.tolist() == [[[0.0, 1.0, 1.0, 1.0, 1.0]]]


def test_solid_mask_and_a_cached_rerun(graph: Graph) -> None:
    graph.add_node("mask.solid", id="solid", params={"value": 0.3, "width": 5, "height": 2})
    graph.add_node("mask.invert", id="invert")
    graph.connect("solid", "mask", "invert", "mask")
    executor = Executor()
    outcome = executor.run(graph, targets=("invert",), capture=("solid",))
    assert outcome.status is RunStatus.DONE, outcome.error
    (mask,) = outcome.values["solid"]
    assert mask.shape == (1, 2, 5) and mask.dtype == torch.float32
    assert torch.equal(mask, torch.full((1, 2, 5), 0.3))
    again = executor.run(graph, targets=("invert",))
    assert again.nodes["solid"].cached and again.nodes["invert"].cached


# --------------------------------------------------------------------------- grow


def reference_grow(mask: np.ndarray, expand: int, tapered: bool) -> np.ndarray:
    """|expand| steps of a 3×3 max (min when shrinking) over the plus-shaped neighbourhood,
    or the full square without tapered corners; outside pixels mirror the edge."""
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    if tapered:
        offsets = [(dy, dx) for dy, dx in offsets if dy == 0 or dx == 0]
    pick = np.minimum if expand < 0 else np.maximum
    out = mask.copy()
    for _ in range(abs(expand)):
        padded = np.pad(out, ((0, 0), (1, 1), (1, 1)), mode="edge")
        height, width = out.shape[1:]
        result = out.copy()
        for dy, dx in offsets:
            result = pick(result, padded[:, 1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width])
        out = result
    return out


def test_grow_a_dot_by_two_makes_a_diamond_or_a_square(graph: Graph) -> None:
    dot = square(9, 9, 4, 4, 1)
    (diamond,) = run_node(graph, "mask.grow", {"mask": dot}, expand=2, tapered_corners=True)
    rows, cols = np.mgrid[0:9, 0:9]
    assert np.array_equal(
        diamond[0].numpy(), (abs(rows - 4) + abs(cols - 4) <= 2).astype(np.float32)
    )
    (box,) = run_node(graph, "mask.grow", {"mask": dot}, expand=2, tapered_corners=False)
    assert np.array_equal(box[0].numpy(), square(9, 9, 2, 2, 5)[0])


def test_grow_negative_shrinks_and_keeps_grey_values(graph: Graph) -> None:
    block = square(9, 9, 2, 2, 5, value=0.5)
    (shrunk,) = run_node(graph, "mask.grow", {"mask": block}, expand=-1, tapered_corners=True)
    assert np.array_equal(shrunk[0].numpy(), square(9, 9, 3, 3, 3, value=0.5)[0])


@pytest.mark.parametrize(("expand", "tapered"), [(3, True), (3, False), (-2, True), (-2, False)])
def test_grow_matches_the_definition_on_a_random_batch(
    graph: Graph, expand: int, tapered: bool
) -> None:
    mask = rng_array(2, 10, 12, seed=3)
    (grown,) = run_node(graph, "mask.grow", {"mask": mask}, expand=expand, tapered_corners=tapered)
    assert np.array_equal(grown.numpy(), reference_grow(mask, expand, tapered))


def test_grow_at_a_corner_mirrors_the_edge(graph: Graph) -> None:
    (grown,) = run_node(graph, "mask.grow", {"mask": square(4, 4, 0, 0, 1)}, expand=1)
    assert grown[0, :2, :2].tolist() == [[1.0, 1.0], [1.0, 0.0]]
    assert float(grown.sum()) == 3.0


# --------------------------------------------------------------------------- feather


def reference_feather(mask: np.ndarray, left: int, top: int, right: int, bottom: int):
    """FeatherMask's definition: the n-th column (row) from a side, counting from 1, is
    multiplied by n / width-of-the-ramp, one side after another (float32 products)."""
    out = torch.from_numpy(mask.copy())
    height, width = mask.shape[1:]
    left, right, top, bottom = (
        min(left, width),
        min(right, width),
        min(top, height),
        min(bottom, height),
    )
    for n in range(1, left + 1):
        out[:, :, n - 1] *= n / left
    for n in range(1, right + 1):
        out[:, :, width - n] *= n / right
    for n in range(1, top + 1):
        out[:, n - 1, :] *= n / top
    for n in range(1, bottom + 1):
        out[:, height - n, :] *= n / bottom
    return out


def test_feather_ramps_each_side(graph: Graph) -> None:
    ones = np.ones((1, 6, 8), dtype=np.float32)
    (soft,) = run_node(graph, "mask.feather", {"mask": ones}, left=2, top=3, right=1, bottom=0)
    middle = soft[0, 4]  # a row below the top ramp
    assert middle.tolist() == [0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert soft[0, :, 4].tolist() == pytest.approx([1 / 3, 2 / 3, 1, 1, 1, 1])
    assert float(soft[0, 0, 0]) == pytest.approx(0.5 / 3)
    assert torch.equal(soft, reference_feather(ones, 2, 3, 1, 0))


def test_feather_matches_the_definition_bit_for_bit(graph: Graph) -> None:
    mask = rng_array(2, 9, 7, seed=5)
    (soft,) = run_node(graph, "mask.feather", {"mask": mask}, left=3, top=2, right=5, bottom=20)
    assert torch.equal(soft, reference_feather(mask, 3, 2, 5, 20))  # ramps wider than the mask


# --------------------------------------------------------------------------- blur


def reference_blur(mask: np.ndarray, sigma: float) -> np.ndarray:
    """A separable Gaussian of standard deviation ``sigma`` cut at 4σ, edges repeated."""
    reach = int(4 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-reach, reach + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = mask.astype(np.float64)
    for axis in (1, 2):
        widths = [(0, 0)] * 3
        widths[axis] = (reach, reach)
        padded = np.pad(out, widths, mode="edge")
        length = out.shape[axis]
        blurred = np.zeros_like(out)
        for k, tap in enumerate(taps):
            blurred += tap * np.take(padded, np.arange(k, k + length), axis=axis)
        out = blurred
    return np.clip(out, 0, 1).astype(np.float32)


def test_blur_is_a_gaussian_of_the_radius(graph: Graph) -> None:
    mask = square(12, 10, 3, 2, 5)
    (soft,) = run_node(graph, "mask.blur", {"mask": mask}, radius=1.5)
    np.testing.assert_allclose(soft.numpy(), reference_blur(mask, 1.5), atol=1e-6)
    assert float(soft.min()) > 0.0 and float(soft.max()) < 1.0
    away = square(20, 20, 7, 7, 5)  # 7 px from every edge: more than 4σ
    (soft,) = run_node(graph, "mask.blur", {"mask": away}, radius=1.5)
    assert float(soft.sum()) == pytest.approx(25.0, rel=1e-5)  # a blur moves, never adds


def test_blur_radius_zero_and_constant_masks_are_unchanged(graph: Graph) -> None:
    mask = rng_array(1, 5, 6)
    (same,) = run_node(graph, "mask.blur", {"mask": mask}, radius=0.0)
    assert torch.equal(same, torch.from_numpy(mask))
    (flat,) = run_node(
        graph,
        "mask.blur",
        {"mask": np.full((1, 6, 6), 0.7, np.float32)},
        radius=3.0,
    )
    np.testing.assert_allclose(flat.numpy(), 0.7, atol=1e-6)


# --------------------------------------------------------------------------- combine


def combine_reference(dst: np.ndarray, src: np.ndarray, x: int, y: int, operation: str):
    out = dst.copy()
    for row in range(dst.shape[1]):
        for col in range(dst.shape[2]):
            sr, sc = row - y, col - x
            if not (0 <= sr < src.shape[1] and 0 <= sc < src.shape[2]):
                continue
            a, b = dst[0, row, col], src[0, sr, sc]
            on_a, on_b = bool(np.round(a)), bool(np.round(b))
            out[0, row, col] = {
                "multiply": a * b,
                "add": a + b,
                "subtract": a - b,
                "and": float(on_a and on_b),
                "or": float(on_a or on_b),
                "xor": float(on_a != on_b),
            }[operation]
    return np.clip(out, 0, 1)


@pytest.mark.parametrize("operation", ["multiply", "add", "subtract", "and", "or", "xor"])
def test_combine_two_overlapping_squares(graph: Graph, operation: str) -> None:
    destination = square(8, 8, 1, 1, 4, value=0.8)  # rows and columns 1..4
    source = np.full((1, 4, 4), 0.6, dtype=np.float32)
    source[0, 0, 0] = 0.4  # rounds to 0 for and / or / xor
    (mask,) = run_node(
        graph,
        "mask.combine",
        {"destination": destination, "source": source},
        x=3,
        y=2,
        operation=operation,
    )
    assert mask.shape == (1, 8, 8)
    expected = combine_reference(destination, source, 3, 2, operation)
    np.testing.assert_allclose(mask.numpy(), expected, rtol=0, atol=1e-7)
    outside = np.ones((8, 8), dtype=bool)
    outside[2:6, 3:7] = False
    assert np.array_equal(mask[0].numpy()[outside], destination[0][outside])
    expected_at = {  # at (2, 3) the destination's 0.8 meets the source's 0.4
        "multiply": 0.8 * 0.4,
        "add": 1.0,
        "subtract": 0.4,
        "and": 0.0,
        "or": 1.0,
        "xor": 1.0,
    }
    assert float(mask[0, 2, 3]) == pytest.approx(expected_at[operation])


def test_combine_clips_a_source_reaching_past_the_edge_and_ignores_one_outside(
    graph: Graph,
) -> None:
    destination = np.zeros((1, 4, 4), dtype=np.float32)
    source = np.ones((1, 3, 3), dtype=np.float32)
    (mask,) = run_node(
        graph,
        "mask.combine",
        {"destination": destination, "source": source},
        x=2,
        y=3,
        operation="add",
    )
    expected = np.zeros((1, 4, 4), dtype=np.float32)
    expected[0, 3, 2:] = 1
    assert np.array_equal(mask.numpy(), expected)
    (mask,) = run_node(
        graph,
        "mask.combine",
        {"destination": destination, "source": source},
        x=9,
        y=0,
        operation="add",
    )
    assert np.array_equal(mask.numpy(), destination)


def test_combine_keeps_the_destination_batch(graph: Graph) -> None:
    destination = rng_array(3, 4, 4)
    source = rng_array(1, 2, 2, seed=9)
    (mask,) = run_node(
        graph, "mask.combine", {"destination": destination, "source": source}, operation="multiply"
    )
    expected = destination.copy()
    expected[:, :2, :2] *= source[0]
    assert torch.equal(mask, torch.from_numpy(expected))


# --------------------------------------------------------------------------- pad for outpaint


def reference_pad_mask(h: int, w: int, left: int, top: int, right: int, bottom: int, f: int):
    """ImagePadForOutpaint's mask, pixel by pixel from its definition."""
    mask = np.ones((h + top + bottom, w + left + right), dtype=np.float32)
    inner = np.zeros((h, w), dtype=np.float32)
    if f > 0 and 2 * f < h and 2 * f < w:
        for i in range(h):
            for j in range(w):
                d = min(
                    i if top else h,
                    h - i if bottom else h,
                    j if left else w,
                    w - j if right else w,
                )
                if d < f:
                    inner[i, j] = ((f - d) / f) ** 2
    mask[top : top + h, left : left + w] = inner
    return mask


def test_pad_for_outpaint_fills_grey_and_masks_the_new_area(graph: Graph) -> None:
    image = rng_array(2, 16, 16, 3)
    padded, mask = run_node(
        graph,
        "image.pad_for_outpaint",
        {"image": image},
        left=8,
        top=0,
        right=0,
        bottom=8,
        feathering=4,
    )
    assert padded.shape == (2, 24, 24, 3) and mask.shape == (1, 24, 24)
    assert torch.equal(padded[:, 0:16, 8:24], torch.from_numpy(image))
    assert torch.all(padded[:, :, :8] == 0.5) and torch.all(padded[:, 16:] == 0.5)
    assert torch.all(mask[0, :, :8] == 1) and torch.all(mask[0, 16:] == 1)
    inner = mask[0, 0:16, 8:24]
    assert inner[5, 0] == 1.0 and inner[5, 3] == 0.0625 and inner[5, 4] == 0.0  # left ramp
    assert inner[15, 8] == 0.5625 and inner[12, 8] == 0.0  # bottom: d = 16 − i
    assert torch.all(inner[:, 4:][:12] == 0)  # top and right were not padded
    assert np.array_equal(mask[0].numpy(), reference_pad_mask(16, 16, 8, 0, 0, 8, 4))


@pytest.mark.parametrize(
    ("sides", "feathering"),
    [
        ((8, 8, 8, 8), 3),
        ((0, 16, 0, 0), 7),
        ((8, 0, 0, 0), 8),
        ((0, 0, 0, 0), 2),
        ((8, 0, 8, 0), 0),
    ],
)
def test_pad_for_outpaint_mask_matches_the_definition(
    graph: Graph, sides: tuple[int, int, int, int], feathering: int
) -> None:
    left, top, right, bottom = sides
    image = rng_array(1, 16, 14, 3)
    padded, mask = run_node(
        graph,
        "image.pad_for_outpaint",
        {"image": image},
        left=left,
        top=top,
        right=right,
        bottom=bottom,
        feathering=feathering,
    )
    expected = reference_pad_mask(16, 14, left, top, right, bottom, feathering)
    assert np.array_equal(mask[0].numpy(), expected)  # 2·8 = 16 is too wide: no feathering
    assert padded.shape == (1, 16 + top + bottom, 14 + left + right, 3)


# --------------------------------------------------------------------------- composite


def test_composite_masked_keeps_the_destination_exactly_where_the_mask_is_zero(
    graph: Graph,
) -> None:
    destination = rng_array(2, 12, 12, 3, seed=1)
    source = rng_array(1, 6, 6, 3, seed=2)
    mask = np.zeros((1, 6, 6), dtype=np.float32)
    mask[0, 1:4, 2:5] = 1.0
    mask[0, 5, :] = 0.25
    (image,) = run_node(
        graph,
        "image.composite_masked",
        {"destination": destination, "source": source, "mask": mask},
        x=3,
        y=4,
    )
    assert image.shape == destination.shape
    dst, src = torch.from_numpy(destination), torch.from_numpy(source)
    region = image[:, 4:10, 3:9]
    outside = torch.ones(12, 12, dtype=torch.bool)
    outside[4:10, 3:9] = False
    assert torch.equal(image[:, outside], dst[:, outside])  # bit for bit
    zero = torch.from_numpy(mask[0] == 0)
    assert torch.equal(region[:, zero], dst[:, 4:10, 3:9][:, zero])  # bit for bit
    one = torch.from_numpy(mask[0] == 1)
    assert torch.equal(region[:, one], src.expand(2, -1, -1, -1)[:, one])
    blend = 0.25 * src[0, 5] + 0.75 * dst[:, 9, 3:9]
    torch.testing.assert_close(region[:, 5], blend, rtol=0, atol=1e-7)


def test_composite_without_a_mask_pastes_the_whole_source_clipped_at_the_edge(
    graph: Graph,
) -> None:
    destination = rng_array(1, 5, 5, 3, seed=3)
    source = rng_array(1, 3, 4, 3, seed=4)
    (image,) = run_node(
        graph, "image.composite_masked", {"destination": destination, "source": source}, x=3, y=1
    )
    expected = destination.copy()
    expected[:, 1:4, 3:5] = source[:, :, :2]
    assert torch.equal(image, torch.from_numpy(expected))


def test_composite_resize_source_scales_it_bilinearly_to_the_destination(graph: Graph) -> None:
    destination = np.zeros((1, 4, 4, 3), dtype=np.float32)
    source = np.zeros((1, 2, 2, 3), dtype=np.float32)
    source[:, :, 1] = 1.0  # the right column white
    (image,) = run_node(
        graph,
        "image.composite_masked",
        {"destination": destination, "source": source},
        resize_source=True,
    )
    # pixel centres at −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1) of the source
    assert image[0, :, :, 0].tolist() == [[0.0, 0.25, 0.75, 1.0]] * 4
    mask = np.ones((1, 2, 2), dtype=np.float32)  # the source's size, not the destination's
    problem = failure(
        graph,
        "image.composite_masked",
        {"destination": destination, "source": source, "mask": mask},
        resize_source=True,
    )
    assert problem.field == "mask" and "2×2" in problem.message and "4×4" in problem.message


def test_composite_batches_follow_the_destination(graph: Graph) -> None:
    destination = rng_array(1, 3, 3, 3, seed=5)
    source = rng_array(2, 3, 3, 3, seed=6)
    (image,) = run_node(
        graph, "image.composite_masked", {"destination": destination, "source": source}
    )
    assert torch.equal(image, torch.from_numpy(source[:1]))  # ComfyUI keeps the first
    destination = rng_array(3, 3, 3, 3, seed=5)
    masks = np.stack([np.ones((3, 3)), np.zeros((3, 3))]).astype(np.float32)
    (image,) = run_node(
        graph,
        "image.composite_masked",
        {"destination": destination, "source": source[:1], "mask": masks},
    )
    assert torch.equal(image[0], torch.from_numpy(source[0]))
    assert torch.equal(image[1], torch.from_numpy(destination[1]))
    assert torch.equal(image[2], torch.from_numpy(source[0]))  # masks cycle: 1, 0, 1


def test_a_mask_of_another_size_names_the_mask_and_both_sizes(graph: Graph) -> None:
    problem = failure(
        graph,
        "image.composite_masked",
        {
            "destination": np.zeros((1, 8, 8, 3), np.float32),
            "source": np.zeros((1, 4, 6, 3), np.float32),
            "mask": np.ones((1, 4, 4), np.float32),
        },
    )
    assert problem.field == "mask"
    assert "4×4" in problem.message and "6×4" in problem.message


# --------------------------------------------------------------------------- bad params


def test_out_of_range_params_are_refused_on_their_field(graph: Graph) -> None:
    for node_type, params in (
        ("mask.solid", {"width": 0}),
        ("mask.blur", {"radius": -1.0}),
        ("image.pad_for_outpaint", {"top": -8}),
        ("mask.combine", {"operation": "nand"}),
    ):
        with pytest.raises(GraphError) as refused:
            graph.add_node(node_type, params=params)
        assert refused.value.field == next(iter(params))


@pytest.mark.parametrize(
    ("node_type", "inputs", "field"),
    [
        ("mask.solid", {"width": -4}, "width"),
        ("mask.solid", {"height": 0}, "height"),
        (
            "image.pad_for_outpaint",
            {"image": np.zeros((1, 4, 4, 3), np.float32), "left": -8},
            "left",
        ),
        (
            "image.pad_for_outpaint",
            {"image": np.zeros((1, 4, 4, 3), np.float32), "feathering": -1},
            "feathering",
        ),
        ("mask.feather", {"mask": np.ones((1, 4, 4), np.float32), "bottom": -2}, "bottom"),
        ("mask.grow", {"mask": np.ones((1, 4, 4), np.float32), "expand": 5000}, "expand"),
        (
            "mask.combine",
            {
                "destination": np.ones((1, 4, 4), np.float32),
                "source": np.ones((1, 2, 2), np.float32),
                "x": -1,
            },
            "x",
        ),
        (
            "image.composite_masked",
            {
                "destination": np.ones((1, 4, 4, 3), np.float32),
                "source": np.ones((1, 2, 2, 3), np.float32),
                "y": -3,
            },
            "y",
        ),
    ],
)
def test_a_linked_value_out_of_range_fails_on_its_field(
    graph: Graph, node_type: str, inputs: dict[str, Any], field: str
) -> None:
    problem = failure(graph, node_type, inputs)
    assert problem.field == field


# --------------------------------------------------------------------------- the latent helper


def test_mask_to_latent_resizes_bilinearly() -> None:
    mask = torch.zeros(1, 16, 16)
    mask[:, :, 8:] = 1.0
    small = mask_to_latent(mask, 2, 2)
    assert small.shape == (1, 1, 2, 2) and small.dtype == torch.float32
    assert small.tolist() == [[[[0.0, 1.0], [0.0, 1.0]]]]
    # downscaling 8× samples the centre of each block: halfway between pixels 3 and 4
    ramp = torch.arange(16, dtype=torch.float32).expand(16, 16)[None] / 15
    assert float(mask_to_latent(ramp, 1, 2)[0, 0, 0, 0]) == pytest.approx(3.5 / 15)
    up = mask_to_latent(torch.tensor([[0.0, 1.0], [0.0, 1.0]]), 2, 4)  # an H×W mask
    assert up[0, 0, 0].tolist() == [0.0, 0.25, 0.75, 1.0]
    batch = torch.rand(3, 1, 5, 7)
    assert torch.equal(mask_to_latent(batch, 5, 7), batch)  # already the size
