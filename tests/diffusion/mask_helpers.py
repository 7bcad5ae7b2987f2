"""Helpers for the mask and compositing node tests: ``masktest.*`` nodes that decode a JSON
param into an exact float32 MASK or IMAGE, a ``graph`` over the library and them, and
runners for one node."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch

from nodes.api import Node, Output, Param
from nodes.context import NodeContext
from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.ports import PortType
from nodes.registry import Registry


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


def mask_graph() -> Graph:
    """A graph over the library and this module's ``masktest.*`` nodes."""
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
