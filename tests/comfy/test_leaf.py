"""The ComfyUI adapter is a leaf: the engine never imports it, the edges plug it in."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nodes
from nodes import cli
from nodes.comfy import PLACEHOLDER, ensure_registered
from nodes.library import load_builtin_nodes
from nodes.registry import Registry
from tests.engine.test_registry import imported_after

PACKAGE = Path(nodes.__file__).parent
EDGES = ("comfy", "cli")
"""The packages below nodes/ allowed to import nodes.comfy: itself and the command line."""


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_engine_module_imports_the_adapter() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] in EDGES:
            continue
        bad = sorted(
            m for m in _imports(path) if m == "nodes.comfy" or m.startswith("nodes.comfy.")
        )
        if bad:
            offenders.append(f"{path.relative_to(PACKAGE.parent)}: {', '.join(bad)}")
    assert offenders == []


def test_loading_and_running_the_engine_leaves_the_adapter_unloaded() -> None:
    modules = imported_after(
        "import nodes.runner, nodes.validation, nodes.workflow, nodes.library as l;"
        "l.load_builtin_nodes()"
    )
    assert not [m for m in modules if m.startswith("nodes.comfy")]


def test_the_placeholder_type_is_registered_by_the_edges(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert PLACEHOLDER not in load_builtin_nodes(Registry())
    assert PLACEHOLDER in ensure_registered(load_builtin_nodes(Registry()))
    registry = Registry()
    assert cli.main(["nodes"], registry=registry) == 0
    capsys.readouterr()
    assert PLACEHOLDER in registry
