from __future__ import annotations

import pytest

from nodes.graph import Graph
from nodes.registry import Registry
from tests.stubs import make_registry


@pytest.fixture
def registry() -> Registry:
    return make_registry()


@pytest.fixture
def graph(registry: Registry) -> Graph:
    return Graph(registry)
