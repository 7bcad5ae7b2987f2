from __future__ import annotations

from pathlib import Path

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


@pytest.fixture
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing the CLI writes by default may reach the user's home or the repository.

    Every ``test_cli_*.py`` module applies it to all its tests (``pytestmark``)."""
    home = tmp_path / "home"
    monkeypatch.setenv("DAGUERRE_HOME", str(home))
    monkeypatch.delenv("DAGUERRE_MODELS", raising=False)
    monkeypatch.chdir(tmp_path)
    return home
