"""Engine overhead: validate + plan + execute a 300-node graph of no-op nodes.

Prints the cost per node of a cold run (every node executes) and of an all-cached re-run
(every node is a cache hit), each the median of several repetitions, in one process.
Targets (issue 2): ≤ 0.2 ms per executed node, ≤ 0.05 ms per cached node.
"""

from __future__ import annotations

import random
import statistics
import time

from nodes.api import Input, Node, Output, Param
from nodes.context import NodeContext
from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.graph import Graph
from nodes.ports import PortType
from nodes.registry import Registry

NODES = 300
REPEATS = 15


class NoOp(Node):
    """Does nothing with up to two inputs."""

    type_id = "bench.noop"
    title = "No-op"
    category = "bench"
    inputs = (Input("a", PortType.INT, optional=True), Input("b", PortType.INT, optional=True))
    params = (
        Param("value", PortType.INT, default=0, min=0, max=1_000_000),
        Param("label", PortType.STRING, default="node"),
        Param("scale", PortType.FLOAT, default=1.0, min=0.0, max=10.0),
    )
    outputs = (Output("out", PortType.INT),)

    def run(
        self,
        ctx: NodeContext,
        *,
        a: int | None,
        b: int | None,
        value: int,
        label: str,
        scale: float,
    ) -> tuple[int]:
        return (value,)


class Sink(Node):
    """An output node that does nothing."""

    type_id = "bench.sink"
    title = "Sink"
    category = "bench"
    is_output = True
    inputs = (Input("value", PortType.INT),)

    def run(self, ctx: NodeContext, *, value: int) -> tuple[()]:
        return ()


def build_graph(registry: Registry, seed: int = 0) -> Graph:
    """A DAG: each no-op takes the previous one and a random recent one; ten sinks."""
    rng = random.Random(seed)
    graph = Graph(registry)
    ids: list[str] = []
    for i in range(NODES - 10):
        node = graph.add_node(
            "bench.noop", params={"value": i, "label": f"n{i}"}, position=(i * 10.0, 0.0)
        )
        if ids:
            graph.connect(ids[-1], "out", node.id, "a")
            graph.connect(rng.choice(ids[-30:]), "out", node.id, "b")
        ids.append(node.id)
    for source in ids[-10:]:
        sink = graph.add_node("bench.sink")
        graph.connect(source, "out", sink.id, "value")
    return graph


def main() -> None:
    graph = build_graph(Registry().register_declared(__name__))
    assert len(graph) == NODES

    cold, warm = [], []
    for _ in range(REPEATS):
        executor = Executor()
        start = time.perf_counter()
        outcome = executor.run(graph)
        cold.append(time.perf_counter() - start)
        assert outcome.status is RunStatus.DONE and len(outcome.plan) == NODES
        assert not any(r.cached for r in outcome.nodes.values())
        start = time.perf_counter()
        outcome = executor.run(graph)
        warm.append(time.perf_counter() - start)
        assert all(r.cached for r in outcome.nodes.values())

    per_node = statistics.median(cold) * 1000 / NODES
    per_cached = statistics.median(warm) * 1000 / NODES
    print(f"{NODES} nodes, {len(graph.links)} links, median of {REPEATS} runs")
    print(
        f"cold run (validate + plan + execute): {statistics.median(cold) * 1000:.2f} ms "
        f"= {per_node:.4f} ms per node (target ≤ 0.2)"
    )
    print(
        f"all-cached re-run:                    {statistics.median(warm) * 1000:.2f} ms "
        f"= {per_cached:.4f} ms per node (target ≤ 0.05)"
    )
    print(f"RESULT engine_overhead ms_per_node={per_node:.4f} ms_per_cached_node={per_cached:.4f}")


if __name__ == "__main__":
    main()
