"""Image nodes: load, save (with the workflow embedded), preview, and Canny edges.

IMAGE values are float32 tensors B×H×W×3 in [0, 1] on the CPU; MASK values B×H×W.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nodes.api import Input, Node, NodeError, Output, Param
from nodes.context import NodeContext
from nodes.ports import PortType

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import torch

    from nodes.graph import Graph

ROUNDINGS = ("nearest", "truncate")
"""How Save Image turns floats into 8-bit values."""


class LoadImage(Node):
    """Loads a PNG, JPEG or WebP image. Its alpha channel, if any, becomes a mask
    (transparent = 1)."""

    type_id = "image.load"
    title = "Load Image"
    category = "image"
    params = (Param("path", PortType.STRING, default="", file_kind="images"),)
    outputs = (Output("image", PortType.IMAGE), Output("mask", PortType.MASK))

    def run(self, ctx: NodeContext, *, path: str) -> tuple[torch.Tensor, torch.Tensor]:
        import numpy as np
        import torch
        from PIL import Image, ImageOps, UnidentifiedImageError

        from nodes.workflow.png import allow_workflow_texts

        allow_workflow_texts()  # a PNG carrying a large workflow is still an image
        file = ctx.resolve_file("images", path, "path")
        try:
            with Image.open(file) as opened:
                picture = ImageOps.exif_transpose(opened)
                picture.load()
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise NodeError(f"cannot read {file.name} as an image: {exc}", "path") from None
        rgb = np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0
        if "A" in picture.getbands():
            alpha = np.asarray(picture.getchannel("A"), dtype=np.float32) / 255.0
            mask = 1.0 - alpha
        else:
            mask = np.zeros(rgb.shape[:2], dtype=np.float32)
        return torch.from_numpy(rgb)[None], torch.from_numpy(mask)[None]


class SaveImage(Node):
    """Saves images as PNG in the output folder as prefix_00001.png, numbering onwards.
    Each file embeds the workflow and a reproducibility record (versions, model hashes,
    seeds, its index in the batch and how to make it alone), so opening it in Daguerre
    restores the graph; when the graph has a ComfyUI
    equivalent, it also carries ComfyUI's prompt, so the image opens in ComfyUI too."""

    type_id = "image.save"
    title = "Save Image"
    category = "image"
    version = "1.1.0"
    is_output = True
    inputs = (Input("image", PortType.IMAGE),)
    params = (
        Param("prefix", PortType.STRING, default="daguerre"),
        Param(
            "rounding",
            PortType.STRING,
            default="nearest",
            choices=ROUNDINGS,
            linkable=False,
            tooltip="How values become 8-bit: nearest (as diffusers) or truncate (as "
            "ComfyUI's Save Image)",
        ),
    )

    def run(
        self, ctx: NodeContext, *, image: torch.Tensor, prefix: str, rounding: str = "nearest"
    ) -> tuple[()]:
        from nodes.workflow import WorkflowError, dumps, to_dict
        from nodes.workflow.png import RECORD_KEY, WORKFLOW_KEY

        texts = {}
        pictures = to_uint8(image, truncate=rounding == "truncate")
        records: list[str] = []
        if ctx.graph is not None:
            try:
                texts[WORKFLOW_KEY] = dumps(to_dict(ctx.graph))
            except WorkflowError as exc:
                raise NodeError(f"cannot embed the workflow: {exc.message}") from None
            record = reproducibility_record(ctx)
            # Each image of a batch records its own index (and how to make it alone).
            records = [
                json.dumps(
                    record | batch_record(ctx.graph, ctx.node_id, i, len(pictures)), indent=1
                )
                for i in range(len(pictures))
            ]
            texts[RECORD_KEY] = records[0] if records else json.dumps(record, indent=1)
            texts.update(_more_texts(ctx, texts))
        files = []
        for i, picture in enumerate(pictures):
            own = {**texts, RECORD_KEY: records[i]} if records else texts
            files.extend(save_pngs(ctx.output_dir, prefix, [picture], own))
        ctx.result(files=tuple(str(path) for path in files), images=tuple(pictures))
        return ()


def _more_texts(ctx: NodeContext, texts: dict[str, str]) -> dict[str, str]:
    """The environment's extra text chunks for this graph (ComfyUI's ``prompt``: see
    ``Environment.extra_png_texts``), never replacing Daguerre's own, and left out whole when
    the PNG could not carry them (they are a convenience; the workflow is the record)."""
    from nodes.workflow import WorkflowError
    from nodes.workflow.png import check_texts

    make = ctx.env.extra_png_texts
    if make is None or ctx.graph is None:
        return {}
    more = {k: v for k, v in make(ctx.graph).items() if k not in texts}
    try:
        check_texts({**texts, **more})
    except WorkflowError:
        ctx.logger.warning("image.save: the PNG cannot carry %s as well", ", ".join(more))
        return {}
    return more


def save_pngs(
    folder: Path, prefix: str, pictures: list[np.ndarray], texts: dict[str, str]
) -> list[Path]:
    """Save Image's write: each H×W×3 ``uint8`` picture as ``folder/prefix_00001.png``,
    numbering on, with ``texts`` as text chunks. Each name is claimed atomically
    (:func:`nodes.workflow.io.write_numbered`), so saves from other runs, threads or
    processes into the same folder never replace one another. A NodeError (on
    ``prefix`` when the folder cannot be written)."""
    from nodes.workflow import WorkflowError
    from nodes.workflow.io import write_numbered
    from nodes.workflow.png import encode_png

    files: list[Path] = []
    try:
        for pixels in pictures:
            files.append(write_numbered(folder, prefix, ".png", encode_png(pixels, texts)))
    except WorkflowError as exc:
        raise NodeError(f"cannot save the image: {exc.message}") from None
    except OSError as exc:
        raise NodeError(f"cannot save to {folder}: {exc.strerror or exc}", "prefix") from None
    return files


class PreviewImage(Node):
    """Shows images on the canvas and in the image panel without saving them."""

    type_id = "image.preview"
    title = "Preview Image"
    category = "image"
    is_output = True
    inputs = (Input("image", PortType.IMAGE),)

    def run(self, ctx: NodeContext, *, image: torch.Tensor) -> tuple[()]:
        ctx.result(images=tuple(to_uint8(image)))
        return ()


class Canny(Node):
    """Finds edges with the Canny detector (OpenCV), for a Canny ControlNet. Lower
    thresholds find more edges."""

    type_id = "image.canny"
    title = "Canny Edges"
    category = "image"
    inputs = (Input("image", PortType.IMAGE),)
    params = (
        Param("low", PortType.INT, default=100, min=0, max=255),
        Param("high", PortType.INT, default=200, min=0, max=255),
    )
    outputs = (Output("image", PortType.IMAGE),)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        if "low" in params and "high" in params and params["low"] > params["high"]:
            return [("low", f"low threshold {params['low']} is above high {params['high']}")]
        return []

    def run(
        self, ctx: NodeContext, *, image: torch.Tensor, low: int, high: int
    ) -> tuple[torch.Tensor]:
        import cv2
        import numpy as np
        import torch

        edges = []
        for pixels in to_uint8(image):
            gray = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
            found = cv2.Canny(gray, low, high)
            edges.append(np.repeat(found[:, :, None], 3, axis=2).astype(np.float32) / 255.0)
        return (torch.from_numpy(np.stack(edges)),)


def to_uint8(image: torch.Tensor, *, truncate: bool = False) -> list[np.ndarray]:
    """B×H×W×3 floats in [0, 1] → H×W×3 uint8 arrays, rounded like diffusers' numpy_to_pil
    (or, with ``truncate``, cut like ComfyUI's Save Image: ``uint8(clip(255·x))``)."""
    import numpy as np

    array = image.detach().cpu().float().numpy()
    if truncate:
        return [np.clip(255.0 * a, 0, 255).astype(np.uint8) for a in array]
    return [(np.clip(a, 0.0, 1.0) * 255).round().astype(np.uint8) for a in array]


def reproducibility_record(ctx: NodeContext) -> dict[str, Any]:
    """What made this image: versions, device, the model files (SHA-256) and the samplers
    upstream of this node with their seeds."""
    import diffusers
    import torch
    import transformers

    import nodes
    from nodes.diffusion.device import dtype_name, placement
    from nodes.models.fingerprint import sha256_file

    graph = ctx.graph
    assert graph is not None
    device, dtype = placement(ctx.env)
    record: dict[str, Any] = {
        "daguerre": nodes.__version__,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "dtype": dtype_name(dtype),
        "models": [],
        "samplers": [],
    }
    upstream = graph.upstream([ctx.node_id])
    for node_id in graph.nodes:
        if node_id not in upstream:
            continue
        data = graph.nodes[node_id]
        cls = graph.registry.get(data.type)
        if cls is None or data.bypass:
            continue
        for param in cls.params:
            value = data.params.get(param.name)
            if param.file_kind and param.file_kind != "images" and value:
                path = ctx.env.resolve_file(param.file_kind, value)
                record["models"].append(
                    {
                        "node": node_id,
                        "file": value,
                        "sha256": sha256_file(path) if path is not None else None,
                    }
                )
        if data.type == "sampling.sampler":
            entry: dict[str, Any] = {"node": node_id}
            for name in ("seed", "steps", "cfg", "denoise"):
                entry[name] = _param_value(graph, node_id, name)
            scheduler = graph.link_into(node_id, "scheduler")
            if scheduler is not None:
                params = graph.nodes[scheduler.source].params
                entry["scheduler"] = params.get("name")
                entry["sigmas"] = params.get("sigmas")
                if params.get("convention", "diffusers") != "diffusers":
                    entry["convention"] = params["convention"]
            record["samplers"].append(entry)
    return record


def batch_record(graph: Graph, node_id: str, index: int, count: int) -> dict[str, Any]:
    """Which image of its batch picture ``index`` of ``count`` (saved by ``node_id``) is:
    ``batch_index``, ``batch_size`` and, when it came from a batch of several, ``alone``:
    the ``--set`` overrides that make it alone, the same picture (Empty Latent's
    ``batch_index``)."""
    empties = [
        n
        for n in graph.upstream([node_id])
        if n in graph.nodes and graph.nodes[n].type == "latent.empty"
    ]
    entry: dict[str, Any] = {"batch_index": index, "batch_size": count}
    if len(empties) != 1:
        return entry  # no Empty Latent (image to image), or several: the save's own batch
    (latent,) = empties
    size, chosen = (
        _param_value(graph, latent, "batch_size"),
        _param_value(graph, latent, "batch_index"),
    )
    if isinstance(chosen, int) and chosen >= 0:
        return {
            "batch_index": chosen,
            "batch_size": size,
            "alone": {f"{latent}.batch_index": chosen},
        }
    if isinstance(size, int) and size == count and count > 1:
        entry["alone"] = {f"{latent}.batch_index": index}
    return entry


def _param_value(graph: Graph, node_id: str, name: str) -> Any:
    """A param's value, following a link to a primitive node if the param is promoted."""
    link = graph.link_into(node_id, name)
    if link is None:
        return graph.nodes[node_id].params.get(name)
    source = graph.nodes[link.source]
    if source.type.startswith("primitive."):
        return next(iter(source.params.values()), None)
    return None
