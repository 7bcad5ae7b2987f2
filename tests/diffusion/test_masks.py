"""Mask and compositing nodes (``nodes/library/masks.py``, ``compositing.py``) through the
real executor, each checked against its ComfyUI definition computed here independently on
small hand-made tensors.

Tensors enter a graph through this module's own ``masktest.*`` nodes, which decode a JSON
param: exact for float32 values, and part of the cache key like any param.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.graph import Graph
from nodes.validation import validate
from tests.diffusion.mask_helpers import failure, rng_array, run_node, square

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
