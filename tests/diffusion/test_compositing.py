"""Outpainting padding, masked compositing, refused params and the latent-size helper
(``nodes/library/compositing.py``, ``masks.py``) through the real executor, against their
ComfyUI definitions computed here."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from nodes.graph import Graph, GraphError
from tests.diffusion.mask_helpers import failure, rng_array, run_node

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
